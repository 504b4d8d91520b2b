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

/* A checksum a put is sent with and an existing object is compared by:
 * CRC-64/NVME (S3's default, `checksum = crc64nvme`) or SHA-256
 * (`checksum = sha256`).  Only the named algorithm's field is read. */
typedef enum { STORE_SUM_CRC64NVME, STORE_SUM_SHA256 } store_sum_alg_t;

typedef struct {
    store_sum_alg_t alg;
    uint64_t crc64;
    uint8_t sha256[SHA256_LEN];
} store_sum_t;

/* "crc64nvme" or "sha256". */
const char *store_sum_alg_name(store_sum_alg_t alg);
/* Parses that name; ERR_INVALID for anything else. */
err_code_t store_sum_alg_parse(const char *name, store_sum_alg_t *alg);
/* The checksum as S3 writes it (base64; 12 characters for the CRC, 44 for
 * SHA-256) into out (cap bytes, 45 is always enough); ERR_TOOBIG when it
 * does not fit. */
err_code_t store_sum_b64(const store_sum_t *sum, char *out, size_t cap);

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
    /* put with the checksum in sum (borrowed), of either algorithm: sent
     * with the object (S3: x-amz-checksum-crc64nvme or -sha256) and used to
     * compare with an object already at key, as put does.  sum must match
     * data: the back-end refuses (ERR_INVALID, or S3's BadDigest as
     * ERR_PERMANENT) bytes that changed on the way. */
    err_code_t (*put_sum)(store_t *s, const char *key, const void *data, size_t len,
                          const store_sum_t *sum, const char *content_type, err_t *err);
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
/* See store_ops_t.put_sum. */
static inline err_code_t store_put_sum(store_t *s, const char *key, const void *data,
                                       size_t len, const store_sum_t *sum,
                                       const char *content_type, err_t *err)
{ return s->ops->put_sum(s, key, data, len, sum, content_type, err); }
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
