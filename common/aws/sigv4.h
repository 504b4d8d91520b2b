/* sigv4 — AWS Signature Version 4 on OpenSSL, in stages tests can check one
 * by one (after aws-c-auth): canonical request → string to sign → signature
 * → Authorization header or presigned query.
 *
 * Paths are taken as they go on the wire (already percent-encoded).  Every
 * service but S3 normalises the path (dot segments removed, slashes
 * collapsed) and URI-encodes it once more for the canonical request; S3 uses
 * the wire path as it is.  sigv4_params_init() picks those rules from the
 * service name.  Query parameters are decoded and re-encoded (RFC 3986) and
 * sorted; header names are lower-cased, values trimmed with inner runs of
 * whitespace collapsed, duplicates joined with ',' in order.
 *
 * The clock is never read here: callers pass the time, so tests pin it.
 * Derived signing keys are cached per (secret, date, region, service) in a
 * small thread-safe table; no secret appears in any error message. */
#ifndef ONESHEET_SIGV4_H
#define ONESHEET_SIGV4_H

#include "base/buf.h"
#include "base/crypto.h"
#include "base/err.h"
#include "aws/http.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define SIGV4_MAX_EXPIRES 604800L   /* presigned URLs live at most 7 days */
#define SIGV4_DEFAULT_SKEW 900L     /* servers allow 15 minutes of skew */

typedef struct {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token;      /* NULL or "" for long-term keys */
} sigv4_credentials_t;

/* How to sign.  Fill with sigv4_params_init(), then adjust. */
typedef struct {
    const char *service;            /* signing name: s3, sqs, dynamodb,
                                       bedrock, sts, ... */
    const char *region;
    time_t now;                     /* the signing time */
    bool normalize_path;            /* remove dot segments, collapse '/' */
    bool double_encode;             /* URI-encode the wire path again */
    bool content_sha256_header;     /* add x-amz-content-sha256 (S3) */
    bool unsigned_payload_presign;  /* presign with UNSIGNED-PAYLOAD (S3) */
    bool omit_session_token;        /* add the token after signing, unsigned
                                       (a few services want this) */
    long expires;                   /* presign: seconds, 1..604800 */
} sigv4_params_t;

/* Fills p with the rules for service ("s3": no normalisation, single
 * encoding, x-amz-content-sha256, UNSIGNED-PAYLOAD presigns; any other
 * service: normalised, double-encoded) and expires = 3600.  The strings are
 * borrowed and must outlive p. */
void sigv4_params_init(sigv4_params_t *p, const char *service,
                       const char *region, time_t now);

/* A request to sign or verify.  Give either url ("http(s)://host[:port]
 * /path?query") or path (+ query, may be NULL) with a Host header, the way a
 * server sees it.  Everything is borrowed for the call. */
typedef struct {
    const char *method;
    const char *url;
    const char *path;               /* wire form, used when url is NULL */
    const char *query;              /* wire form without '?', or NULL */
    const http_header_t *headers;
    size_t nheaders;
    const void *body;               /* hashed when payload_hash is NULL */
    size_t body_len;
    const char *payload_hash;       /* 64 hex digits or UNSIGNED-PAYLOAD;
                                       verify: what the server hashed */
} sigv4_request_t;

typedef enum { SIGV4_MODE_HEADERS, SIGV4_MODE_QUERY } sigv4_mode_t;

/* Everything each stage produced.  Owned by the struct: init it, pass it
 * through the stages, free it with sigv4_result_free(). */
typedef struct {
    sigv4_mode_t mode;
    char amz_date[17];              /* 20150830T123600Z */
    char date[9];                   /* 20150830 */
    char payload_hash[65];          /* hex, or UNSIGNED-PAYLOAD */
    char *scope;                    /* DATE/REGION/SERVICE/aws4_request */
    char *signed_headers;           /* "host;x-amz-date" */
    buf_t canonical_request;
    buf_t string_to_sign;
    char signature[65];
    /* Header mode: the headers to add to the request, in this order:
     * X-Amz-Date, X-Amz-Security-Token, x-amz-content-sha256 (each only when
     * it applies), Authorization.  The strings live in this struct. */
    http_header_t headers[4];
    size_t nheaders;
    char *authorization;
    /* Query mode: the request's own query followed by the X-Amz-*
     * parameters (wire form), and the whole URL when a url was given. */
    char *query;
    char *url;
    /* Private to the stages. */
    char *p_base;                   /* scheme://authority, or NULL */
    char *p_path;                   /* wire path */
    char *p_query;                  /* wire query as given */
    char *p_token;                  /* copy of the session token */
    char *p_sha_header;             /* payload hash for x-amz-content-sha256 */
} sigv4_result_t;

/* Makes r empty; every stage needs an initialised r (stage 1 resets it, so
 * one r can be reused for many requests). */
void sigv4_result_init(sigv4_result_t *r);
/* Frees everything r owns and re-initialises it.  NULL is allowed. */
void sigv4_result_free(sigv4_result_t *r);

/* Stage 1: the canonical request (into r->canonical_request, r reset
 * first), with
 * r->amz_date, r->scope, r->signed_headers and r->payload_hash.  In query
 * mode the X-Amz-* parameters are part of the canonical query.  ERR_INVALID
 * with a clear message for a malformed URL, a missing Host, a bad header,
 * bad percent-encoding, an empty region/service/key id, or expires outside
 * 1..604800 (query mode). */
err_code_t sigv4_canonical_request(const sigv4_request_t *req,
                                   const sigv4_params_t *p,
                                   const sigv4_credentials_t *c,
                                   sigv4_mode_t mode, sigv4_result_t *r,
                                   err_t *err);

/* Stage 2: r->string_to_sign from the canonical request. */
err_code_t sigv4_string_to_sign(sigv4_result_t *r, err_t *err);

/* Stage 3: r->signature (hex) over the string to sign, with the derived key
 * for (secret, r->date, region, service) from the cache. */
err_code_t sigv4_signature(sigv4_result_t *r, const sigv4_params_t *p,
                           const sigv4_credentials_t *c, err_t *err);

/* Stage 4: header mode fills r->authorization and r->headers; query mode
 * fills r->query (and r->url when the request had a url). */
err_code_t sigv4_finish(sigv4_result_t *r, const sigv4_params_t *p,
                        const sigv4_credentials_t *c, err_t *err);

/* All four stages for header signing.  Add r->headers[0..r->nheaders) to
 * the request's own headers.  r must be freed even on error. */
err_code_t sigv4_sign_headers(const sigv4_request_t *req,
                              const sigv4_params_t *p,
                              const sigv4_credentials_t *c,
                              sigv4_result_t *r, err_t *err);

/* All four stages for a presigned URL (query signing); p->expires must be
 * in 1..604800 (ERR_INVALID otherwise).  The URL is r->url (or path?r->query
 * for a request given as path + Host).  r must be freed even on error. */
err_code_t sigv4_presign(const sigv4_request_t *req, const sigv4_params_t *p,
                         const sigv4_credentials_t *c, sigv4_result_t *r,
                         err_t *err);

/* ---- Derived signing keys ---- */

/* kSigning = HMAC chain over "AWS4"+secret, date (YYYYMMDD), region,
 * service, "aws4_request", served from a 16-entry cache keyed by a hash of
 * the secret.  A new date for the same (secret, region, service) replaces
 * the old entry.  Thread-safe.  ERR_INVALID for empty or over-long parts. */
err_code_t sigv4_derive_key(const char *secret, const char *date,
                            const char *region, const char *service,
                            uint8_t key[SHA256_LEN], err_t *err);
/* Empties the cache and its counters (tests). */
void sigv4_key_cache_clear(void);
/* Cache hits and misses since the last clear. */
void sigv4_key_cache_stats(unsigned long *hits, unsigned long *misses);

/* HMAC-SHA256 through a once-fetched EVP_MAC (faster than HMAC() in
 * OpenSSL 3, which fetches on every call). */
err_code_t sigv4_hmac(const void *key, size_t klen, const void *data,
                      size_t dlen, uint8_t out[SHA256_LEN]);

/* Formats t as 20150830T123600Z and 20150830 (either may be NULL). */
void sigv4_format_time(time_t t, char amz_date[17], char date[9]);
/* Parses 20150830T123600Z; false when malformed. */
bool sigv4_parse_amz_date(const char *s, time_t *out);

/* ---- URLs and URI encoding, shared with the AWS back-ends ---- */

typedef struct {
    char scheme[8];                 /* "http" or "https" */
    char *host;                     /* "example.com", "127.0.0.1", "[::1]" */
    unsigned port;                  /* explicit, else the scheme's default */
    bool port_explicit;
    char *authority;                /* host[:port], the port only when not
                                       the scheme default: the Host value */
    char *path;                     /* wire form, "/" when empty */
    char *query;                    /* without '?', "" when none */
} sigv4_url_t;

/* Splits an http(s) URL (a fragment is dropped).  ERR_INVALID naming what
 * is wrong: no scheme, another scheme, user info, missing host, bad port,
 * spaces or control characters.  u owns its strings: sigv4_url_free() it,
 * even on error. */
err_code_t sigv4_url_parse(const char *url, sigv4_url_t *u, err_t *err);
/* Frees u's strings and zeroes it.  NULL is allowed. */
void sigv4_url_free(sigv4_url_t *u);

/* RFC 3986 encoding of s[0..len) appended to out: A-Za-z0-9-._~ kept, every
 * other byte %XX (upper-case hex); '/' kept when keep_slash (S3 keys,
 * paths).  ERR_NOMEM only. */
err_code_t sigv4_uri_encode(const void *s, size_t len, bool keep_slash,
                            buf_t *out);
/* Percent-decoding of s[0..len) appended to out ('+' stays '+').
 * ERR_INVALID for a '%' not followed by two hex digits. */
err_code_t sigv4_uri_decode(const char *s, size_t len, buf_t *out,
                            err_t *err);
/* Removes "." and ".." segments and empty segments from path, keeping a
 * trailing '/'; the result always starts with '/'.  Appended to out. */
err_code_t sigv4_normalize_path(const char *path, buf_t *out);

/* ---- Server side: the Bedrock stand-in and the fault proxy ---- */

typedef enum {
    SIGV4_VERIFY_OK = 0,
    SIGV4_VERIFY_MISSING,           /* no Authorization / X-Amz-Signature */
    SIGV4_VERIFY_MALFORMED,         /* unparsable auth, scope, date, expiry */
    SIGV4_VERIFY_UNKNOWN_KEY,       /* access key id is not ours */
    SIGV4_VERIFY_BAD_TOKEN,         /* session token missing or wrong */
    SIGV4_VERIFY_BAD_SCOPE,         /* wrong region/service/date in scope */
    SIGV4_VERIFY_SKEWED,            /* X-Amz-Date too far from now */
    SIGV4_VERIFY_EXPIRED,           /* presigned URL past its expiry */
    SIGV4_VERIFY_PAYLOAD_MISMATCH,  /* x-amz-content-sha256 != body hash */
    SIGV4_VERIFY_MISMATCH,          /* the signature does not match */
} sigv4_verify_reason_t;

typedef struct {
    time_t now;
    long max_skew;                  /* seconds; 0: SIGV4_DEFAULT_SKEW */
    const char *region;             /* required scope region; NULL: any */
    const char *service;            /* required scope service; NULL: any */
    const sigv4_params_t *rules;    /* path/token rules; NULL: from the
                                       scope's service via params_init */
} sigv4_verify_opts_t;

typedef struct {
    sigv4_verify_reason_t reason;
    sigv4_mode_t mode;
    char access_key_id[129];
    char region[64];
    char service[64];
    char amz_date[17];
    sigv4_result_t expected;        /* what the server computed: canonical
                                       request, string to sign (for the
                                       SignatureDoesNotMatch body) */
} sigv4_verify_info_t;

/* Makes info empty; sigv4_verify() resets an initialised info itself. */
void sigv4_verify_info_init(sigv4_verify_info_t *info);
/* Frees what info owns (info->expected) and re-initialises it. */
void sigv4_verify_info_free(sigv4_verify_info_t *info);

/* Checks a received request (header- or query-signed) against c, at
 * opts->now (required: the library never reads the clock): parses
 * Authorization or the X-Amz-* query parameters, checks key id, token,
 * scope, time (skew; expiry for presigned), the body hash against
 * x-amz-content-sha256 when both are known (req->payload_hash or body is
 * what the server received), recomputes the signature over exactly the
 * signed headers and compares in constant time.  ERR_OK when valid;
 * otherwise ERR_AUTH (ERR_SKEW for skew) with info->reason and a message
 * saying why.  info may be NULL; free it with sigv4_verify_info_free(). */
err_code_t sigv4_verify(const sigv4_request_t *req,
                        const sigv4_credentials_t *c,
                        const sigv4_verify_opts_t *opts,
                        sigv4_verify_info_t *info, err_t *err);

/* The AWS error code a service would answer for reason, e.g.
 * "SignatureDoesNotMatch", "RequestTimeTooSkewed", "InvalidClientTokenId". */
const char *sigv4_verify_reason_code(sigv4_verify_reason_t reason);

#endif
