/* aws — what every AWS back-end shares: an environment (region, credential
 * cache, endpoints, getenv) and per-thread service clients that sign with
 * SigV4, send over http, map error replies and retry (retry.h).
 *
 *   aws_env_t     one per process (or per test), thread-safe;
 *   aws_client_t  one per thread per service (owns an http client, so
 *                 connections are reused), not thread-safe.
 *
 * Nothing here logs; secrets never appear in errors (redact.h). */
#ifndef ONESHEET_AWS_H
#define ONESHEET_AWS_H

#include "aws/creds.h"
#include "aws/endpoint.h"
#include "base/err.h"
#include "aws/http.h"
#include "aws/retry.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct aws_env aws_env_t;
typedef struct aws_client aws_client_t;

typedef struct {
    /* Environment lookups (NULL: the process environment).  The same
     * function feeds endpoint, creds and retry options. */
    const char *(*getenv)(void *ctx, const char *name);
    void *getenv_ctx;
    const char *region;          /* NULL: AWS_REGION / AWS_DEFAULT_REGION */
    bool s3_path_style;          /* s3_addressing_style = path */
    /* Credentials: NULL uses the default chain (creds_cache_new). Tests can
     * pass a cache of their own; the env does not take ownership. */
    creds_cache_t *creds;
    long connect_timeout_ms;     /* 0: http default */
    long timeout_ms;             /* 0: http default */
    /* Retry strategy: NULL reads AWS_RETRY_MODE / AWS_MAX_ATTEMPTS through
     * getenv, then retry_mode / max_attempts from the shared config file.  When given it is used as is (copied), hooks included, so
     * tests can pass a no-op sleep. */
    const retry_options_t *retry;
    /* S3 addressing (endpoint.h); auto: the config file's s3
     * addressing_style, else botocore's choice.  s3_path_style forces path. */
    endpoint_s3_addressing_t s3_addressing;
} aws_env_options_t;

/* Creates an environment.  opts may be NULL (process defaults).  Fails with
 * ERR_CONFIG when no region is set or a setting is malformed. */
aws_env_t *aws_env_new(const aws_env_options_t *opts, err_t *err);
void aws_env_free(aws_env_t *env);

/* The process-wide environment from the real environment variables, made
 * on first use (thread-safe).  NULL with err set when it cannot be made.
 * Lives until exit. */
aws_env_t *aws_env_default(err_t *err);

const char *aws_env_region(const aws_env_t *env);
/* Looks up an environment variable through the env's getenv. */
const char *aws_env_getenv(const aws_env_t *env, const char *name);
/* Current credentials (a copy; caller frees with creds_free). */
err_code_t aws_env_creds(aws_env_t *env, creds_t *out, err_t *err);
/* Unix seconds when the current credentials expire; 0: never. */
int64_t aws_env_creds_expiry(aws_env_t *env);

/* A client for one service.  NULL with err set on failure. */
aws_client_t *aws_client_new(aws_env_t *env, endpoint_service_t svc, err_t *err);
/* A client for svc that sends to base_url (http(s)://host[:port][/path],
 * no query) instead of the resolved endpoint, signing for region (NULL: the
 * env's).  For resources named by URL, e.g. an SQS queue URL given in the
 * configuration.  Plain http only to loopback hosts (http.h).  NULL with
 * err set (ERR_CONFIG for a bad URL or region). */
aws_client_t *aws_client_new_url(aws_env_t *env, endpoint_service_t svc,
                                 const char *base_url, const char *region,
                                 err_t *err);
void aws_client_free(aws_client_t *c);
const endpoint_t *aws_client_endpoint(const aws_client_t *c);
aws_env_t *aws_client_env(const aws_client_t *c);
/* Time to sign with: the wall clock corrected by the skew seen in replies. */
int64_t aws_client_now(aws_client_t *c);

typedef struct {
    const char *method;
    /* Either a full url, or a wire-encoded path (and query, without '?')
     * relative to the client's endpoint url. */
    const char *url;
    const char *path;
    const char *query;
    const http_header_t *headers;   /* extra headers (Content-Type, ...) */
    size_t nheaders;
    const void *body;
    size_t body_len;
    const char *payload_hash;       /* NULL: SHA-256 of body is computed */
    long timeout_ms;                /* 0: the env's default */
    size_t max_response;            /* 0: http default */
    bool no_retry;                  /* one attempt only */
    http_sink_fn sink;              /* optional: where a 2xx body goes (http.h) */
    void *sink_ud;
} aws_request_t;

/* Signs (at aws_client_now), sends and retries (retry_run) one request.
 * A 2xx reply is ERR_OK.  A non-2xx reply becomes an error through
 * http_error_from_aws (status, service code, message) and resp still holds
 * it, so callers can treat e.g. a 412 or 404 specially.  resp must be
 * initialised (http_response_init) and freed by the caller. */
err_code_t aws_request(aws_client_t *c, const aws_request_t *req,
                       http_response_t *resp, err_t *err);

/* One attempt of req without blocking, for callers with their own libcurl
 * multi handle: aws_start() signs (fresh credentials, corrected clock) and
 * sets up the transfer on the client's easy handle, aws_client_handle()
 * (a CURL *); when the multi handle reports it done with curl_code the
 * caller removes it and calls aws_finish(), which learns the server's clock
 * from Date and maps a non-2xx reply as aws_request() does.  Retrying is the
 * caller's (err_is_retryable(); ERR_SKEW can be retried at once, the clock
 * being corrected).  One transfer per client at a time; req->body and resp
 * must outlive it. */
err_code_t aws_start(aws_client_t *c, const aws_request_t *req, http_response_t *resp,
                     err_t *err);
void *aws_client_handle(aws_client_t *c);
err_code_t aws_finish(aws_client_t *c, int curl_code, http_response_t *resp, err_t *err);

/* Replies to aws_json_call() larger than this are ERR_TOOBIG. */
#define AWS_JSON_MAX_REPLY ((size_t)32 * 1024 * 1024)

/* The JSON protocols (SQS, DynamoDB): POST / with X-Amz-Target: target and
 * Content-Type: application/x-amz-json-1.0.  body is borrowed.  On success
 * *reply is the parsed reply object (new reference; caller decrefs).  A
 * 2xx reply that is not a JSON object is ERR_UNAVAILABLE (retryable: it
 * is something in between answering, not the service) naming the target. */
err_code_t aws_json_call(aws_client_t *c, const char *target, json_t *body,
                         json_t **reply, err_t *err);

/* Per-call settings for aws_json_call_opts(); zero fields take defaults. */
typedef struct {
    long timeout_ms;             /* 0: the env's default (long polls need
                                    more than their wait) */
    size_t max_response;         /* 0: AWS_JSON_MAX_REPLY */
    bool no_retry;               /* one attempt only */
} aws_json_opts_t;

/* aws_json_call() with settings; o may be NULL. */
err_code_t aws_json_call_opts(aws_client_t *c, const char *target, json_t *body,
                              const aws_json_opts_t *o, json_t **reply,
                              err_t *err);

/* A presigned URL (query signing) for method + url, valid ttl_s seconds but
 * never beyond the credentials' expiry (*expires_unix says until when).
 * S3 rules when the client is for S3.  *out: new string, caller frees. */
err_code_t aws_presign(aws_client_t *c, const char *method, const char *url,
                       long ttl_s, char **out, int64_t *expires_unix, err_t *err);

#endif
