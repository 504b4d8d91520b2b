/* store — see store.h: the deterministic object keys every back-end uses.
 * The table that picks a back-end is in store_backends.c. */
#include "store/store.h"
#include "jobs/job.h"

#include <stdio.h>
#include <string.h>

/* An extension is a short run of lower-case letters and digits ("png"). */
static int ext_valid(const char *ext)
{
    size_t n = strlen(ext);
    if (n == 0 || n > 7)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((ext[i] >= 'a' && ext[i] <= 'z') || (ext[i] >= '0' && ext[i] <= '9')))
            return 0;
    return 1;
}

/* Writes "BATCH/JOB.EXT" into out[0..cap) (it does not append to what out
 * holds).  The ids must satisfy job_id_valid(), so a key can never climb out
 * of the store's prefix: ERR_INVALID otherwise (out left as ""), ERR_TOOBIG
 * when the key does not fit in cap bytes with its NUL. */
err_code_t store_key(const char *batch_id, const char *job_id, const char *ext,
                     char *out, size_t cap)
{
    if (cap > 0)
        out[0] = '\0';
    if (!job_id_valid(batch_id) || !job_id_valid(job_id) || !ext || !ext_valid(ext))
        return ERR_INVALID;
    int n = snprintf(out, cap, "%s/%s.%s", batch_id, job_id, ext);
    if (n < 0 || (size_t)n >= cap) {
        if (cap > 0)
            out[0] = '\0';
        return ERR_TOOBIG;
    }
    return ERR_OK;
}
