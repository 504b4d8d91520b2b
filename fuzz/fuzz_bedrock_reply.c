/* fuzz_bedrock_reply — bedrock_parse_reply on a 2xx InvokeModel body.  The
 * first byte picks the model (its reply shape), the second the wanted
 * output format; the rest is the body. */
#include "engine/bedrock_models.h"
#include "base/buf.h"
#include "engine/engine.h"
#include "base/err.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const want[] = {NULL, "png", "jpeg", "webp"};
    size_t nmodels = bedrock_model_count();
    buf_t body = BUF_INIT;
    engine_result_t r;
    err_t err;

    if (size < 2 || nmodels == 0)
        return 0;
    const bedrock_model_t *m = bedrock_model_at(data[0] % nmodels);
    if (buf_append(&body, data + 2, size - 2) != ERR_OK)
        return 0;
    engine_result_init(&r);
    err_code_t rc = bedrock_parse_reply(m, &body, want[data[1] % 4], &r, &err);
    if (body.len != 0)
        abort();                     /* the body is always taken over */
    if (rc == ERR_OK && r.image.len == 0)
        abort();                     /* success always carries an image */
    engine_result_free(&r);
    buf_free(&body);
    return 0;
}
