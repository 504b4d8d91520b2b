/* fuzz_bedrock_stream — bedrock_stream fed a body in pieces must give what
 * bedrock_parse_reply() gives for the whole body: the same code, message,
 * image bytes, format, size and seed, with digests that are the image's.
 * The first byte picks the model, the second the wanted output format, the
 * third seeds the split into pieces (and whether the Content-Length is
 * known); the rest is the body. */
#include "engine/bedrock_models.h"
#include "engine/bedrock_stream.h"
#include "base/buf.h"
#include "base/crypto.h"
#include "engine/engine.h"
#include "base/err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bedrock_stream_t *stream;

static void check_digests(const engine_result_t *r)
{
    uint8_t want[SHA256_LEN], got[SHA256_LEN];
    if (!r->sha_known || crypto_sha256(r->image.data, r->image.len, want) != ERR_OK ||
        memcmp(want, r->sha256, SHA256_LEN) != 0)
        abort();
    if (r->image.len < 12) {
        if (r->sha_head)
            abort();
        return;
    }
    crypto_sha256_ctx *c = crypto_sha256_dup(r->sha_head);
    if (!c || crypto_sha256_final(c, got) != ERR_OK ||
        crypto_sha256(r->image.data, r->image.len - 12, want) != ERR_OK ||
        memcmp(want, got, SHA256_LEN) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const want[] = {NULL, "png", "jpeg", "webp"};
    size_t nmodels = bedrock_model_count();
    buf_t body = BUF_INIT;
    engine_result_t a, b;
    err_t ea, eb;

    if (size < 3 || nmodels == 0)
        return 0;
    if (!stream && !(stream = bedrock_stream_new(1u << 20)))
        return 0;
    const bedrock_model_t *m = bedrock_model_at(data[0] % nmodels);
    const char *w = want[data[1] % 4];
    uint32_t rng = data[2] * 2654435761u + 1;
    const uint8_t *p = data + 3;
    size_t n = size - 3;

    if (buf_append(&body, p, n) != ERR_OK)
        return 0;
    engine_result_init(&a);
    engine_result_init(&b);
    err_clear(&ea);
    err_clear(&eb);
    err_code_t ra = bedrock_parse_reply(m, &body, w, &a, &ea);

    bedrock_stream_reset(stream, data[2] & 1 ? n : 0);
    for (size_t at = 0; at < n;) {
        rng = rng * 1103515245u + 12345u;
        size_t k = data[2] & 2 ? 1 + (rng >> 16) % 8 : 1 + (rng >> 8) % 5000;
        if (k > n - at)
            k = n - at;
        if (bedrock_stream_feed(stream, p + at, k) != ERR_OK)
            abort();                 /* under the cap, feeding never fails */
        at += k;
    }
    err_code_t rb = bedrock_stream_finish(stream, m, w, &b, &eb);
    if (ra != rb || strcmp(ea.msg, eb.msg) != 0 || a.image.len != b.image.len ||
        (a.image.len && memcmp(a.image.data, b.image.data, a.image.len) != 0) ||
        a.seed != b.seed || a.width != b.width || a.height != b.height ||
        strcmp(a.ext, b.ext) != 0)
        abort();                     /* the stream differs from the whole body */
    if (rb == ERR_OK)
        check_digests(&b);
    engine_result_free(&a);
    engine_result_free(&b);
    buf_free(&body);
    return 0;
}
