/* art — see art.h. */
#include "poster/art.h"

#include <string.h>

/* Zeroes r and gives it an empty image buffer. */
void engine_result_init(engine_result_t *r)
{
    memset(r, 0, sizeof *r);
    buf_init(&r->image);
}

/* Frees what r owns and leaves it as engine_result_init() does.  NULL is
 * fine. */
void engine_result_free(engine_result_t *r)
{
    if (!r)
        return;
    buf_free(&r->image);
    crypto_sha256_free(r->sha_head);
    engine_result_init(r);
}
