/* renditions — see renditions.h. */
#include "renditions.h"
#include "fault.h"

#include "base/crypto.h"
#include "base/log.h"
#include "jobs/rendition.h"
#include "poster/reframe.h"

#include <stdio.h>

err_code_t worker_renditions_first(worker_thread_t *t, slot_t *s, buf_t *out,
                                   const char **type, const char **ext,
                                   poster_layout_t *lay, err_t *e)
{
    if (s->spec.nrenditions == 0)
        return ERR_NOTFOUND;
    err_code_t rc = reframe_for_job(t->poster, &s->spec, s->job_id, &s->res,
                                    s->spec.renditions[0], out, lay, e);
    if (rc == ERR_OK) {
        *type = "image/png";
        *ext = "png";
    }
    return rc;
}

err_code_t worker_renditions_store(worker_thread_t *t, slot_t *s, err_t *e)
{
    int64_t t0 = worker_now_ms();
    size_t bytes = 0;

    for (size_t i = 1; i < s->spec.nrenditions; i++) {
        const char *ratio = s->spec.renditions[i];
        uint8_t sha[SHA256_LEN];
        char key[512];
        buf_t png = BUF_INIT;
        err_code_t rc = rendition_key(s->batch_id, s->job_id, ratio, false, key, sizeof key);
        if (rc != ERR_OK)
            return err_set(e, ERR_INTERNAL, "rendition %s: key does not fit", ratio);
        rc = reframe_for_job(t->poster, &s->spec, s->job_id, &s->res, ratio, &png, NULL, e);
        if (rc == ERR_OK) {
            crypto_sha256(png.data, png.len, sha);
            rc = store_put(t->store, key, png.data, png.len, sha, "image/png", e);
        }
        bytes += png.len;
        buf_free(&png);
        if (rc != ERR_OK)
            return err_prefix(e, "rendition %s", ratio);
        WORKER_FAULT("after_rendition");
    }
    if (s->spec.nrenditions > 1)
        log_info("renditions_stored", "batch=%s job=%s renditions=%zu bytes=%zu ms=%lld",
                 s->batch_id, s->job_id, s->spec.nrenditions, bytes,
                 (long long)(worker_now_ms() - t0));
    return ERR_OK;
}
