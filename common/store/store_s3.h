/* store_s3 — the "s3://BUCKET/PREFIX" store: posters as S3 objects, put
 * create-only with their SHA-256 checksum and handed out as presigned GET
 * URLs.  Works with any S3-compatible endpoint (AWS_ENDPOINT_URL_S3);
 * virtual-hosted or path-style addressing as endpoint.h decides.
 *
 * A store owns one S3 client (aws.h) and, like every store, is used by one
 * thread at a time; the aws_env_t behind it is shared and thread-safe. */
#ifndef ONESHEET_STORE_S3_H
#define ONESHEET_STORE_S3_H

#include "aws/aws.h"
#include "store/store.h"

#include <stddef.h>

/* Longest object key S3 accepts, in bytes (prefix included). */
#define STORE_S3_KEY_MAX 1024
/* Largest object get() reads. */
#define STORE_S3_GET_MAX ((size_t)256 * 1024 * 1024)

/* Splits "s3://BUCKET[/PREFIX]" into bucket (bcap bytes) and prefix (pcap
 * bytes, "" when none; surrounding '/' dropped).  ERR_CONFIG naming what is
 * wrong: not s3://, an empty or malformed bucket, a prefix with control
 * characters, empty, "." or ".." segments, or one that does not fit. */
err_code_t store_s3_parse_url(const char *url, char *bucket, size_t bcap,
                              char *prefix, size_t pcap, err_t *err);

/* Opens the store url names with the process-wide AWS environment
 * (aws_env_default).  Returns a new store (store_close() frees it) or NULL
 * with err set: ERR_CONFIG for a bad URL, region or endpoint, ERR_NOMEM.
 * Nothing is sent until the first put, url or get. */
store_t *store_s3_open(const char *url, err_t *err);

/* The same with env borrowed (it must outlive the store): tests and
 * callers that build their own environment. */
store_t *store_s3_open_env(aws_env_t *env, const char *url, err_t *err);

/* Makes sure bucket exists for `onesheet init`: HeadBucket, and when it is
 * missing CreateBucket (with a LocationConstraint outside us-east-1).
 * Writes one line saying what it found or did into report (cap bytes; may
 * be NULL).  ERR_OK when the bucket exists or was created (also when
 * another run created it meanwhile); ERR_CONFIG when it lives in another
 * region, ERR_EXISTS when another account owns the name, ERR_AUTH when the
 * credentials may not use it, otherwise the service's error. */
err_code_t store_s3_ensure(aws_env_t *env, const char *bucket, char *report,
                           size_t cap, err_t *err);

#endif
