/* fuzz_bedrock_catalog — bedrock_catalog_parse on a ListFoundationModels
 * reply, then every lookup and judgement a caller makes on what it gave:
 * each listed model is found by its own id and with a profile prefix, and a
 * legacy one always gets a warning naming "legacy". */
#include "engine/bedrock_catalog.h"
#include "base/buf.h"
#include "base/err.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bedrock_catalog_t c;
    err_t err;
    char prefixed[300], nearest[300];

    bedrock_catalog_init(&c);
    if (bedrock_catalog_parse((const char *)data, size, &c, &err) != ERR_OK) {
        if (c.n != 0 || c.models || !err.msg[0])
            abort();                 /* a refusal leaves nothing and says why */
        return 0;
    }
    for (size_t i = 0; i < c.n; i++) {
        const bedrock_listed_t *m = &c.models[i];
        buf_t w = BUF_INIT;
        if (bedrock_catalog_find(&c, m->id) == NULL)
            abort();
        snprintf(prefixed, sizeof prefixed, "us.%s", m->id);
        if (strncmp(m->id, "us.", 3) != 0 && bedrock_catalog_find(&c, prefixed) == NULL)
            abort();
        if (bedrock_catalog_check(&c, m->id, m->extended_time, &w, nearest, sizeof nearest,
                                  &err) != ERR_OK && err.code != ERR_NOMEM)
            abort();                 /* a listed model is never refused */
        if (m->status == BEDROCK_LIFE_LEGACY && (!w.data || !strstr((char *)w.data, "legacy")))
            abort();
        buf_free(&w);
    }
    bedrock_catalog_check(&c, "nobody.unlisted-v9", 0, NULL, nearest, sizeof nearest, &err);
    bedrock_catalog_free(&c);
    return 0;
}
