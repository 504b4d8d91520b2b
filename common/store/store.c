/* store — see store.h.  Picks the back-end from the configured URL and builds
 * the deterministic object keys every back-end uses. */
#include "store/store.h"
#include "jobs/job.h"
#include "store/store_s3.h"

#include <stdio.h>
#include <string.h>

/* Opens the back-end url names:
 *   file:DIR, file:///ABS/DIR   a local directory (store_file.c)
 *   s3://BUCKET/PREFIX          Amazon S3 or any S3-compatible endpoint (store_s3.c)
 * Returns a new store the caller closes with store_close(), or NULL with err
 * set: ERR_CONFIG for a value that names no usable back-end, or whatever the
 * back-end's open reports (ERR_IO when the directory cannot be created). */
store_t *store_open(const char *url, err_t *err)
{
    if (!url || !*url) {
        err_set(err, ERR_CONFIG, "store: empty value (want file:DIR or s3://BUCKET/PREFIX)");
        return NULL;
    }
    if (strncmp(url, "file://", 7) == 0) {
        /* Only the empty host is local; file://host/x names another machine. */
        if (url[7] != '/') {
            err_set(err, ERR_CONFIG, "store %s: a file URL needs an absolute path "
                    "(file:///DIR) or use file:DIR", url);
            return NULL;
        }
        return store_file_open(url + 7, err);
    }
    if (strncmp(url, "file:", 5) == 0) {
        if (!url[5]) {
            err_set(err, ERR_CONFIG, "store %s: needs a directory (file:DIR)", url);
            return NULL;
        }
        return store_file_open(url + 5, err);
    }
    if (strncmp(url, "s3://", 5) == 0)
        return store_s3_open(url, err);
    err_set(err, ERR_CONFIG, "store %s: unknown store (want file:DIR or s3://BUCKET/PREFIX)",
            url);
    return NULL;
}

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
