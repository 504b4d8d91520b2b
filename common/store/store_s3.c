/* store_s3 — see store_s3.h.
 *
 * put is PutObject with the caller's SHA-256 twice: hex in
 * x-amz-content-sha256 (what the signature covers; S3 rejects a body that
 * does not match it) and base64 in x-amz-checksum-sha256 (stored with the
 * object, so a later HEAD can tell whether an existing object holds the same
 * bytes without downloading it).  The write is create-only (If-None-Match:
 * *); a 412 means an object is already there, and we compare checksums to
 * decide between "an earlier attempt already wrote this" and "overwrite".
 *
 * put_sum with CRC-64/NVME (the default checksum) sends the CRC in
 * x-amz-checksum-crc64nvme and, over https or to a loopback endpoint,
 * x-amz-content-sha256: UNSIGNED-PAYLOAD (signed): TLS already protects
 * the bytes on the way and S3 checks the CRC, so the 2 MB SHA-256 is not
 * worked out at all.  Over plain http to anything else the payload is
 * still hashed and signed.
 *
 * Reply bodies we do not keep (errors, HEAD, CreateBucket) are capped at
 * SMALL_REPLY; object reads at STORE_S3_GET_MAX. */
#include "store/store_s3.h"
#include "base/buf.h"
#include "aws/sigv4.h"
#include "base/crc64nvme.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SMALL_REPLY ((size_t)64 * 1024)
#define BUCKET_MAX 256
#define PREFIX_MAX 512

typedef struct {
    store_t base;
    aws_client_t *client;
    char bucket[BUCKET_MAX];
    char prefix[PREFIX_MAX]; /* "" or without surrounding '/' */
} s3_store_t;

/* Checks a key or prefix: no control bytes, no leading '/', no empty, "."
 * or ".." segments (curl would rewrite those and break the signature). */
static bool path_ok(const char *s)
{
    size_t seg = 0, len = strlen(s);
    for (size_t i = 0; i <= len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '/' || c == '\0') {
            if (seg == 0 || (seg == 1 && s[i - 1] == '.') ||
                (seg == 2 && s[i - 1] == '.' && s[i - 2] == '.'))
                return false;
            seg = 0;
        } else if (c < 0x20 || c == 0x7f) {
            return false;
        } else {
            seg++;
        }
    }
    return true;
}

/* See store_s3.h.  The bucket's characters are checked loosely here
 * ([A-Za-z0-9._-], legacy names included); endpoint_s3_object_url() applies
 * the addressing rules when the store opens. */
err_code_t store_s3_parse_url(const char *url, char *bucket, size_t bcap,
                              char *prefix, size_t pcap, err_t *err)
{
    if (bcap)
        bucket[0] = '\0';
    if (pcap)
        prefix[0] = '\0';
    if (!url || strncmp(url, "s3://", 5) != 0)
        return err_set(err, ERR_CONFIG, "store: want s3://BUCKET/PREFIX");
    const char *b = url + 5, *slash = strchr(b, '/');
    size_t blen = slash ? (size_t)(slash - b) : strlen(b);
    if (blen == 0 || blen >= bcap || blen >= BUCKET_MAX)
        return err_set(err, ERR_CONFIG, "store %s: %s bucket name", url,
                       blen ? "over-long" : "empty");
    for (size_t i = 0; i < blen; i++) {
        char c = b[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_'))
            return err_set(err, ERR_CONFIG, "store %s: bad character in the bucket name",
                           url);
    }
    memcpy(bucket, b, blen);
    bucket[blen] = '\0';
    const char *p = slash ? slash : "";
    while (*p == '/')
        p++;
    size_t plen = strlen(p);
    while (plen > 0 && p[plen - 1] == '/')
        plen--;
    if (plen >= pcap || plen >= PREFIX_MAX)
        return err_set(err, ERR_CONFIG, "store %s: prefix longer than %d bytes", url,
                       PREFIX_MAX - 1);
    memcpy(prefix, p, plen);
    prefix[plen] = '\0';
    if (plen && !path_ok(prefix)) {
        prefix[0] = '\0';
        return err_set(err, ERR_CONFIG, "store %s: the prefix has an empty, \".\" or "
                       "\"..\" segment or a control character", url);
    }
    return ERR_OK;
}

/* The object URL of key under the prefix (caller frees *url). */
static err_code_t object_url(s3_store_t *s, const char *op, const char *key, char **url,
                             err_t *err)
{
    *url = NULL;
    if (!key || !*key || key[0] == '/' || !path_ok(key))
        return err_set(err, ERR_INVALID, "s3 %s: bad key (empty, absolute, a \".\"/\"..\" "
                       "segment or a control character)", op);
    buf_t full = BUF_INIT;
    err_code_t rc = s->prefix[0] ? buf_appendf(&full, "%s/%s", s->prefix, key)
                                 : buf_append_str(&full, key);
    if (rc != ERR_OK) {
        buf_free(&full);
        return err_set(err, ERR_NOMEM, "s3 %s: out of memory", op);
    }
    if (full.len > STORE_S3_KEY_MAX)
        rc = err_set(err, ERR_INVALID, "s3 %s %s: key longer than %d bytes", op, key,
                     STORE_S3_KEY_MAX);
    else
        rc = endpoint_s3_object_url(aws_client_endpoint(s->client), s->bucket,
                                    (const char *)full.data, url, err);
    buf_free(&full);
    return rc;
}

/* One signed request through the client (retries included).  A non-2xx
 * reply is an error with the reply left in resp. */
static err_code_t call(aws_client_t *c, const char *method, const char *url,
                       const http_header_t *h, size_t nh, const void *body, size_t len,
                       const char *payload_hash, size_t max_response,
                       http_response_t *resp, err_t *err)
{
    aws_request_t rq = {
        .method = method, .url = url, .headers = h, .nheaders = nh,
        .body = body, .body_len = len, .payload_hash = payload_hash,
        .max_response = max_response,
    };
    return aws_request(c, &rq, resp, err);
}

/* Decodes a single-part x-amz-checksum-sha256 value; false for anything
 * else (absent, a multipart "...-N" composite, not base64 of 32 bytes). */
static bool checksum_value(const char *b64, uint8_t out[SHA256_LEN])
{
    if (!b64 || strlen(b64) != 44)
        return false;
    buf_t d = BUF_INIT;
    bool ok = base64_decode(b64, 44, &d, NULL) == ERR_OK && d.len == SHA256_LEN;
    if (ok)
        memcpy(out, d.data, SHA256_LEN);
    buf_free(&d);
    return ok;
}

/* The checksum a reply header reports for sum's algorithm, into got (same
 * algorithm); false when absent or not a single-part value. */
static bool reported_sum(const http_response_t *r, const store_sum_t *sum, store_sum_t *got)
{
    got->alg = sum->alg;
    if (sum->alg == STORE_SUM_CRC64NVME)
        return crc64nvme_parse_b64(http_response_header(r, "x-amz-checksum-crc64nvme"),
                                   &got->crc64) == 0;
    return checksum_value(http_response_header(r, "x-amz-checksum-sha256"), got->sha256);
}

static bool sum_equal(const store_sum_t *a, const store_sum_t *b)
{
    if (a->alg != b->alg)
        return false;
    return a->alg == STORE_SUM_CRC64NVME ? a->crc64 == b->crc64
                                         : crypto_equal(a->sha256, b->sha256, SHA256_LEN);
}

/* sum's algorithm over data[0..len) into out. */
static err_code_t sum_of(const void *data, size_t len, store_sum_alg_t alg, store_sum_t *out)
{
    out->alg = alg;
    if (alg == STORE_SUM_CRC64NVME) {
        out->crc64 = crc64nvme(data, len);
        return ERR_OK;
    }
    return crypto_sha256(data ? data : "", len, out->sha256);
}

/* Sets *same when the object at url holds len bytes with checksum sum.
 * HEAD with checksum mode answers from the stored checksum; an object
 * without one of sum's algorithm (written by another tool, or a server
 * that keeps none) is read back, at most len + 1 bytes, and checksummed.
 * A vanished object is simply not the same. */
static err_code_t existing_matches(s3_store_t *s, const char *url, size_t len,
                                   const store_sum_t *sum, bool *same, err_t *err)
{
    static const http_header_t mode[] = {{"x-amz-checksum-mode", "ENABLED"}};
    http_response_t r;
    store_sum_t got;
    *same = false;
    http_response_init(&r);
    /* http.c applies no size cap to a HEAD: its Content-Length is the
     * object's size, not a body coming. */
    err_code_t rc = call(s->client, "HEAD", url, mode, 1, NULL, 0, NULL, SMALL_REPLY, &r,
                         err);
    if (rc != ERR_OK) {
        if (r.status == 404)
            rc = ERR_OK, err_clear(err);
        goto out;
    }
    const char *cl = http_response_header(&r, "content-length");
    if (cl && strtoull(cl, NULL, 10) != (unsigned long long)len)
        goto out;
    if (reported_sum(&r, sum, &got)) {
        *same = sum_equal(&got, sum);
        goto out;
    }
    rc = call(s->client, "GET", url, NULL, 0, NULL, 0, NULL, len + 1, &r, err);
    if (rc == ERR_TOOBIG || r.status == 404) {
        rc = ERR_OK;
        err_clear(err);
    } else if (rc == ERR_OK && r.body.len == len) {
        if (sum_of(r.body.data, len, sum->alg, &got) != ERR_OK)
            rc = err_set(err, ERR_INTERNAL, "checksum failed");
        else
            *same = sum_equal(&got, sum);
    }
out:
    http_response_free(&r);
    return rc;
}

/* PutObject with the payload hash (hex, or UNSIGNED-PAYLOAD) and the
 * checksum header; create_only adds If-None-Match: *. */
static err_code_t put_object(s3_store_t *s, const char *url, const void *data, size_t len,
                             const char *payload, const char *sum_header, const char *b64,
                             const char *ctype, bool create_only, http_response_t *r,
                             err_t *err)
{
    const http_header_t h[] = {
        {"Content-Type", ctype},
        {sum_header, b64},
        {"If-None-Match", "*"},
    };
    err_code_t rc = call(s->client, "PUT", url, h, create_only ? 3 : 2, data, len, payload,
                         SMALL_REPLY, r, err);
    /* S3 answers every stored object with its ETag.  A 2xx without one is
     * something else answering (a proxy's HTML page): the object is not
     * known to be stored, so the job must not be recorded as done. */
    if (rc == ERR_OK && !http_response_header(r, "etag"))
        rc = err_set(err, ERR_UNAVAILABLE, "PUT answered %ld without an ETag: not stored",
                     r->status);
    return rc;
}

/* See store_ops_t.put_sum.  The checksum is sent as is, not recomputed,
 * and S3 refuses the put (BadDigest, or XAmzContentSHA256Mismatch for a
 * signed payload; ERR_PERMANENT) when it does not match data.  ERR_INVALID
 * for a bad key; a 409 ConditionalRequestConflict (another conditional
 * write to the key in flight) is returned as ERR_UNAVAILABLE so the caller
 * retries later. */
static err_code_t s3_put_sum(store_t *st, const char *key, const void *data, size_t len,
                             const store_sum_t *sum, const char *content_type, err_t *err)
{
    s3_store_t *s = (s3_store_t *)st;
    char payload[SHA256_HEX_LEN], b64[48], *url = NULL;
    http_response_t r;
    bool same = false;

    if (!data && len)
        return err_set(err, ERR_INVALID, "s3 put %s: no data", key ? key : "");
    err_code_t rc = object_url(s, "put", key, &url, err);
    if (rc != ERR_OK)
        return rc;
    if (store_sum_b64(sum, b64, sizeof b64) != ERR_OK) {
        free(url);
        return err_set(err, ERR_INTERNAL, "s3 put %s: checksum does not fit", key);
    }
    const char *sum_header = "x-amz-checksum-sha256";
    if (sum->alg == STORE_SUM_SHA256) {
        hex_encode(sum->sha256, SHA256_LEN, payload);
    } else {
        sum_header = "x-amz-checksum-crc64nvme";
        if (strncmp(url, "https://", 8) == 0 || http_url_is_loopback(url))
            snprintf(payload, sizeof payload, "%s", SIGV4_UNSIGNED_PAYLOAD);
        else if (crypto_sha256_hex(data ? data : "", len, payload) != ERR_OK)
            rc = err_set(err, ERR_INTERNAL, "s3 put %s: sha256 failed", key);
    }
    const char *ctype = content_type && *content_type ? content_type
                                                      : "application/octet-stream";
    http_response_init(&r);
    if (rc == ERR_OK)
        rc = put_object(s, url, data ? data : "", len, payload, sum_header, b64, ctype, true,
                        &r, err);
    if (rc != ERR_OK && r.status == 412) {
        err_clear(err);
        rc = existing_matches(s, url, len, sum, &same, err);
        /* The key is deterministic (BATCH/JOB.EXT) and only the worker
         * holding the job's ledger claim writes it.  Different bytes there
         * mean this job was generated again after an attempt that stored its
         * image but never recorded success, so nobody was given that URL's
         * content as the result: replacing it is right (create-only would
         * fail the job forever), and the ledger records the checksum of what
         * we write now.  Two workers racing after a lease expired can still
         * leave the loser's bytes; an If-Match on the ETag seen would close
         * that, but both images answer the same spec. */
        if (rc == ERR_OK && !same)
            rc = put_object(s, url, data ? data : "", len, payload, sum_header, b64, ctype,
                            false, &r, err);
    }
    if (rc != ERR_OK) {
        if (r.status == 409 && err && strcmp(err->service_code, "ConditionalRequestConflict") == 0)
            err->code = rc = ERR_UNAVAILABLE;
        err_prefix(err, "s3 put %s", key);
    }
    http_response_free(&r);
    free(url);
    return rc;
}

/* See store_ops_t.put: put_sum with SHA-256.  sha256 may be NULL (then it
 * is computed). */
static err_code_t s3_put(store_t *st, const char *key, const void *data, size_t len,
                         const uint8_t sha256[SHA256_LEN], const char *content_type,
                         err_t *err)
{
    store_sum_t sum = {.alg = STORE_SUM_SHA256};
    if (!data && len)
        return err_set(err, ERR_INVALID, "s3 put %s: no data", key ? key : "");
    if (sha256)
        memcpy(sum.sha256, sha256, SHA256_LEN);
    else if (crypto_sha256(data ? data : "", len, sum.sha256) != ERR_OK)
        return err_set(err, ERR_INTERNAL, "s3 put %s: sha256 failed", key ? key : "");
    return s3_put_sum(st, key, data, len, &sum, content_type, err);
}

/* See store_ops_t.url: a presigned GET valid ttl_s seconds, at most 7 days
 * (longer is cut to 7 days) and never beyond the credentials' expiry
 * (*expires_unix is the real end).  The object need not exist yet.
 * ERR_INVALID for a bad key or ttl_s <= 0; ERR_AUTH without credentials. */
static err_code_t s3_url(store_t *st, const char *key, long ttl_s, char **url,
                         int64_t *expires_unix, err_t *err)
{
    s3_store_t *s = (s3_store_t *)st;
    char *plain = NULL;
    int64_t exp = 0;
    *url = NULL;
    if (ttl_s <= 0)
        return err_set(err, ERR_INVALID, "s3 url %s: ttl must be positive", key ? key : "");
    if (ttl_s > SIGV4_MAX_EXPIRES)
        ttl_s = SIGV4_MAX_EXPIRES;
    err_code_t rc = object_url(s, "url", key, &plain, err);
    if (rc == ERR_OK && (rc = aws_presign(s->client, "GET", plain, ttl_s, url, &exp, err)) !=
                            ERR_OK)
        err_prefix(err, "s3 url %s", key);
    free(plain);
    if (rc == ERR_OK && expires_unix)
        *expires_unix = exp;
    return rc;
}

/* See store_ops_t.get.  *data: new buffer (caller frees), NUL-terminated.
 * ERR_NOTFOUND for 404 (NoSuchKey), ERR_TOOBIG over STORE_S3_GET_MAX,
 * ERR_INVALID when the bytes do not match the checksum S3 reports. */
static err_code_t s3_get(store_t *st, const char *key, uint8_t **data, size_t *len,
                         err_t *err)
{
    static const http_header_t mode[] = {{"x-amz-checksum-mode", "ENABLED"}};
    s3_store_t *s = (s3_store_t *)st;
    char *url = NULL;
    store_sum_t want, got;
    http_response_t r;
    *data = NULL;
    *len = 0;
    err_code_t rc = object_url(s, "get", key, &url, err);
    if (rc != ERR_OK)
        return rc;
    http_response_init(&r);
    rc = call(s->client, "GET", url, mode, 1, NULL, 0, NULL, STORE_S3_GET_MAX, &r, err);
    free(url);
    if (rc != ERR_OK && r.status == 404) {
        rc = ERR_NOTFOUND;
        if (err)
            err->code = ERR_NOTFOUND;
    }
    /* S3 reports the checksum stored at put time: check what arrived. */
    want.alg = STORE_SUM_CRC64NVME;
    if (rc == ERR_OK && (reported_sum(&r, &want, &want) ||
                         (want.alg = STORE_SUM_SHA256, reported_sum(&r, &want, &want)))) {
        if (sum_of(r.body.data, r.body.len, want.alg, &got) != ERR_OK ||
            !sum_equal(&want, &got))
            rc = err_set(err, ERR_INVALID, "the %zu bytes received do not match the "
                         "object's %s checksum", r.body.len,
                         want.alg == STORE_SUM_SHA256 ? "SHA-256" : "CRC-64/NVME");
    }
    if (rc != ERR_OK) {
        err_prefix(err, "s3 get %s", key);
        http_response_free(&r);
        return rc;
    }
    *len = r.body.len;
    *data = (uint8_t *)buf_steal(&r.body);
    http_response_free(&r);
    if (!*data) {
        *len = 0;
        return err_set(err, ERR_NOMEM, "s3 get %s: out of memory", key);
    }
    return ERR_OK;
}

static void s3_close(store_t *st)
{
    s3_store_t *s = (s3_store_t *)st;
    aws_client_free(s->client);
    free(s);
}

static const store_ops_t s3_ops = {s3_put, s3_url, s3_get, s3_close, NULL, s3_put_sum};

/* See store_s3.h: one S3 client for the store's thread, env borrowed. */
store_t *store_s3_open_env(aws_env_t *env, const char *url, err_t *err)
{
    char *probe = NULL;
    s3_store_t *s = calloc(1, sizeof *s);
    if (!s) {
        err_set(err, ERR_NOMEM, "store %s: out of memory", url ? url : "");
        return NULL;
    }
    if (store_s3_parse_url(url, s->bucket, sizeof s->bucket, s->prefix, sizeof s->prefix,
                           err) != ERR_OK)
        goto fail;
    if (!env) {
        err_set(err, ERR_CONFIG, "store %s: no AWS environment", url);
        goto fail;
    }
    if (!(s->client = aws_client_new(env, ENDPOINT_S3, err))) {
        err_prefix(err, "store %s", url);
        goto fail;
    }
    /* Check the bucket name against the addressing rules now, not on the
     * first put. */
    if (endpoint_s3_object_url(aws_client_endpoint(s->client), s->bucket, "", &probe, err) !=
        ERR_OK) {
        if (err)
            err->code = ERR_CONFIG;
        err_prefix(err, "store %s", url);
        goto fail;
    }
    free(probe);
    s->base.ops = &s3_ops;
    return &s->base;
fail:
    aws_client_free(s->client);
    free(s);
    return NULL;
}

/* See store_s3.h: store_s3_open_env() with the process-wide env. */
store_t *store_s3_open(const char *url, err_t *err)
{
    char bucket[BUCKET_MAX], prefix[PREFIX_MAX];
    /* A malformed URL is reported as such, whatever the AWS setup. */
    if (store_s3_parse_url(url, bucket, sizeof bucket, prefix, sizeof prefix, err) != ERR_OK)
        return NULL;
    aws_env_t *env = aws_env_default(err);
    if (!env) {
        err_prefix(err, "store %s", url ? url : "");
        return NULL;
    }
    return store_s3_open_env(env, url, err);
}

/* The region S3 says a bucket lives in, when it says and it is not ours. */
static const char *other_region(const http_response_t *r, const char *ours)
{
    const char *reg = http_response_header(r, "x-amz-bucket-region");
    return reg && *reg && strcmp(reg, ours) != 0 ? reg : NULL;
}

/* CreateBucket; a 409 BucketAlreadyOwnedByYou (another run of init won the
 * race) is success. */
static err_code_t create_bucket(aws_client_t *c, const char *url, const char *bucket,
                                const char *region, char *report, size_t cap, err_t *err)
{
    static const http_header_t xml[] = {{"Content-Type", "application/xml"}};
    buf_t body = BUF_INIT;
    http_response_t r;
    err_code_t rc = ERR_OK;
    /* us-east-1 is the default location and refuses to be named. */
    if (strcmp(region, "us-east-1") != 0 &&
        buf_appendf(&body, "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/"
                    "2006-03-01/\"><LocationConstraint>%s</LocationConstraint>"
                    "</CreateBucketConfiguration>", region) != ERR_OK)
        rc = err_set(err, ERR_NOMEM, "out of memory");
    http_response_init(&r);
    if (rc == ERR_OK)
        rc = call(c, "PUT", url, xml, body.len ? 1 : 0, body.data, body.len, NULL,
                  SMALL_REPLY, &r, err);
    if (rc == ERR_OK) {
        snprintf(report, cap, "s3 bucket %s: created in %s", bucket, region);
    } else if (r.status == 409 && strcmp(err->service_code, "BucketAlreadyOwnedByYou") == 0) {
        err_clear(err);
        rc = ERR_OK;
        snprintf(report, cap, "s3 bucket %s: exists (created meanwhile)", bucket);
    } else if (r.status == 409 && strcmp(err->service_code, "BucketAlreadyExists") == 0) {
        rc = err_set(err, ERR_EXISTS, "the bucket name %s is taken by another account; "
                     "choose another", bucket);
    }
    http_response_free(&r);
    buf_free(&body);
    return rc;
}

/* See store_s3.h.  HeadBucket has no body, so its status and the
 * x-amz-bucket-region header are all there is to go on: 404 is missing, a
 * region other than ours (with 200, 301 or 400) is a configuration error,
 * 403 is someone else's bucket or missing permission. */
err_code_t store_s3_ensure(aws_env_t *env, const char *bucket, char *report, size_t cap,
                           err_t *err)
{
    char scratch[8], *url = NULL;
    err_t local;
    http_response_t r;
    if (!report || cap == 0) {
        report = scratch;
        cap = sizeof scratch;
    }
    report[0] = '\0';
    if (!err)
        err = &local;
    aws_client_t *c = env ? aws_client_new(env, ENDPOINT_S3, err) : NULL;
    if (!c)
        return env ? err_prefix(err, "s3 bucket %s", bucket ? bucket : "")
                   : err_set(err, ERR_CONFIG, "s3 bucket: no AWS environment");
    const char *region = aws_client_endpoint(c)->region;
    http_response_init(&r);
    err_code_t rc = endpoint_s3_object_url(aws_client_endpoint(c), bucket, "", &url, err);
    if (rc == ERR_OK)
        rc = call(c, "HEAD", url, NULL, 0, NULL, 0, NULL, SMALL_REPLY, &r, err);
    const char *elsewhere = r.status ? other_region(&r, region) : NULL;
    if (elsewhere && (r.status < 300 || r.status == 301 || r.status == 400)) {
        rc = err_set(err, ERR_CONFIG, "s3 bucket %s is in region %s, not %s: set "
                     "AWS_REGION=%s or use another bucket", bucket, elsewhere, region,
                     elsewhere);
    } else if (rc == ERR_OK) {
        snprintf(report, cap, "s3 bucket %s: exists", bucket);
    } else if (r.status == 404) {
        err_clear(err);
        rc = create_bucket(c, url, bucket, region, report, cap, err);
        if (rc != ERR_OK)
            err_prefix(err, "s3 create bucket %s", bucket);
    } else if (r.status == 403) {
        rc = err_set(err, ERR_AUTH, "s3 bucket %s: access denied (HTTP 403): it belongs to "
                     "another account or these credentials lack s3:ListBucket", bucket);
    } else if (rc != ERR_OK) {
        err_prefix(err, "s3 bucket %s", bucket);
    }
    http_response_free(&r);
    free(url);
    aws_client_free(c);
    return rc;
}
