/* store — where finished posters live.  Keys are deterministic,
 * BATCH/JOB.EXT (under the store's prefix), so a retried job overwrites
 * nothing new and a duplicate put is detected.
 *
 * Back-ends: store_file.c ("file:DIR"), store_s3.c ("s3://BUCKET/PREFIX"). */
#ifndef ONESHEET_STORE_H
#define ONESHEET_STORE_H

#include "base/crypto.h"
#include "base/err.h"

#include <stddef.h>
#include <stdint.h>

typedef struct store store_t;

typedef struct {
    /* Writes data under key atomically (never a half-written object is
     * visible).  If an object already exists at key with the same SHA-256,
     * that is success (an earlier attempt wrote it); with a different
     * checksum the new bytes replace it (same job, regenerated).  sha256 is
     * the caller-computed digest of data. */
    err_code_t (*put)(store_t *s, const char *key, const void *data, size_t len,
                      const uint8_t sha256[SHA256_LEN], const char *content_type,
                      err_t *err);
    /* A URL the user can fetch the object with, valid for ttl_s seconds
     * (file: a file:// URL, no expiry).  *url: new string, caller frees. */
    err_code_t (*url)(store_t *s, const char *key, long ttl_s, char **url,
                      int64_t *expires_unix, err_t *err);
    /* Reads an object (tests, gallery).  ERR_NOTFOUND when absent. */
    err_code_t (*get)(store_t *s, const char *key, uint8_t **data, size_t *len,
                      err_t *err);
    void (*close)(store_t *s);
    /* Optional (NULL: not known here).  The object's size and last
     * modification (unix ms) without reading it; ERR_NOTFOUND when absent. */
    err_code_t (*stat)(store_t *s, const char *key, int64_t *bytes, int64_t *mtime_ms,
                       err_t *err);
} store_ops_t;

struct store {
    const store_ops_t *ops;
};

/* Opens the store named by url through the back-end table
 * (store_backends.c).  NULL with err set on failure. */
store_t *store_open(const char *url, err_t *err);

/* Key for a job's output: "BATCH/JOB.EXT".  Appends to out (cap bytes);
 * ERR_TOOBIG when it does not fit. */
err_code_t store_key(const char *batch_id, const char *job_id, const char *ext,
                     char *out, size_t cap);

/* One wrapper per operation; callers never touch ops.  Each does what the
 * store_ops_t member of the same name says above. */
static inline err_code_t store_put(store_t *s, const char *key, const void *data,
                                   size_t len, const uint8_t sha256[SHA256_LEN],
                                   const char *content_type, err_t *err)
{ return s->ops->put(s, key, data, len, sha256, content_type, err); }
/* *url: new string, caller frees; *expires_unix 0 when it never expires. */
static inline err_code_t store_url(store_t *s, const char *key, long ttl_s,
                                   char **url, int64_t *expires_unix, err_t *err)
{ return s->ops->url(s, key, ttl_s, url, expires_unix, err); }
/* *data: new buffer, caller frees; ERR_NOTFOUND when absent. */
static inline err_code_t store_get(store_t *s, const char *key, uint8_t **data,
                                   size_t *len, err_t *err)
{ return s->ops->get(s, key, data, len, err); }
/* ERR_INTERNAL when the back-end cannot stat (S3 here: use url). */
static inline err_code_t store_stat(store_t *s, const char *key, int64_t *bytes,
                                    int64_t *mtime_ms, err_t *err)
{
    if (!s->ops->stat)
        return err_set(err, ERR_INTERNAL, "store: stat is not supported here");
    return s->ops->stat(s, key, bytes, mtime_ms, err);
}
/* Closes the store; NULL is fine. */
static inline void store_close(store_t *s) { if (s) s->ops->close(s); }

#endif
