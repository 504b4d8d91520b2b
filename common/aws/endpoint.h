/* endpoint — where each AWS service lives, following the SDK conventions:
 * the region from AWS_REGION then AWS_DEFAULT_REGION; endpoints
 * https://SERVICE.REGION.amazonaws.com (amazonaws.com.cn in cn-* regions,
 * and s3.amazonaws.com for S3 in us-east-1); overridden by
 * AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL, then the shared
 * config file's [services] and profile endpoint_url, unless
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true (see endpoint_options_t).
 *
 * S3 objects are addressed virtual-hosted (https://BUCKET.s3...) unless
 * path-style is configured, an endpoint URL is configured and virtual
 * addressing is not, the endpoint host is an IP address or localhost, the bucket name is not DNS-compatible, or it has dots and the
 * scheme is https (the wildcard certificate would not match).
 *
 * The environment is read through a getenv-like function so tests need not
 * touch the process environment. */
#ifndef ONESHEET_ENDPOINT_H
#define ONESHEET_ENDPOINT_H

#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>

/* Looks a variable up; returns a borrowed string or NULL when unset (the
 * same shape as creds_getenv_fn). */
typedef const char *(*endpoint_getenv_fn)(void *ctx, const char *name);

typedef enum {
    ENDPOINT_SQS,
    ENDPOINT_S3,
    ENDPOINT_DYNAMODB,
    ENDPOINT_BEDROCK_RUNTIME,
    ENDPOINT_STS,
    ENDPOINT__COUNT
} endpoint_service_t;

/* S3 addressing_style as botocore reads it: auto picks virtual-hosted for
 * AWS endpoints and path-style for any endpoint URL configured (a custom
 * endpoint, "we could potentially default provided endpoint urls to virtual
 * hosted style, but for now it is avoided" - botocore S3EndpointSetter);
 * path and virtual force one (virtual still falls back to path for a bucket
 * name that is no DNS label). */
typedef enum {
    ENDPOINT_S3_AUTO,
    ENDPOINT_S3_PATH,
    ENDPOINT_S3_VIRTUAL
} endpoint_s3_addressing_t;

/* Parses "auto", "path" or "virtual" (botocore's addressing_style values);
 * false for anything else. */
bool endpoint_s3_addressing_parse(const char *v, endpoint_s3_addressing_t *out);

typedef struct {
    endpoint_getenv_fn getenv;      /* NULL: the process environment */
    void *getenv_ctx;
    const char *region;             /* NULL or "": from the environment */
    bool s3_path_style;             /* s3_addressing_style = path */
    /* From the shared config file (NULL: not set), below the variables in
     * precedence as the SDKs do: AWS_ENDPOINT_URL_<SERVICE>, then
     * AWS_ENDPOINT_URL, then the service's endpoint_url in the profile's
     * [services NAME] section, then the profile's own endpoint_url.
     * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS (when set) or else
     * config_ignore_endpoints ("true") turns all four off. */
    const char *config_service_url[ENDPOINT__COUNT];
    const char *config_url;
    const char *config_ignore_endpoints;
    endpoint_s3_addressing_t s3_addressing; /* s3.addressing_style */
} endpoint_options_t;

typedef struct {
    endpoint_service_t service;
    char region[64];
    char signing_name[16];          /* SigV4 service: s3, sqs, dynamodb,
                                       bedrock, sts */
    char scheme[8];                 /* "https" or "http" */
    char host[256];                 /* "s3.us-west-2.amazonaws.com" */
    unsigned port;                  /* explicit, else the scheme default */
    bool port_explicit;
    char authority[264];            /* host[:port], port only if not default */
    char base_path[256];            /* "" or "/prefix" (no trailing '/') */
    char url[600];                  /* scheme://authority + base_path */
    bool custom;                    /* set by an AWS_ENDPOINT_URL* */
    bool s3_path_style;             /* copied from the options */
    char source[48];                /* the variable it came from, or
                                       "default" (safe to log) */
    endpoint_s3_addressing_t s3_addressing; /* copied from the options */
} endpoint_t;

/* The region: o->region, else AWS_REGION, else AWS_DEFAULT_REGION, copied
 * into out (cap bytes).  ERR_CONFIG when none is set ("set AWS_REGION") or
 * the value is not a region name (the message names the variable). */
err_code_t endpoint_region(const endpoint_options_t *o, char *out, size_t cap,
                           err_t *err);

/* Resolves svc's endpoint into *ep (no allocation).  ERR_CONFIG naming the
 * variable for a bad AWS_ENDPOINT_URL* value (no http:// or https://
 * scheme, no host, a query) or a bad/missing region. */
err_code_t endpoint_resolve(endpoint_service_t svc, const endpoint_options_t *o,
                            endpoint_t *ep, err_t *err);

/* "SQS", "S3", "DYNAMODB", "BEDROCK_RUNTIME", "STS": the suffix of
 * AWS_ENDPOINT_URL_<...>.  Static string. */
const char *endpoint_env_suffix(endpoint_service_t svc);

/* "sqs", "s3", "dynamodb", "bedrock_runtime", "sts": the service's key in
 * a [services NAME] section of the shared config file.  Static string. */
const char *endpoint_config_id(endpoint_service_t svc);

/* True for a name usable as a DNS label set: 3..63 of a-z 0-9 . -, starting
 * and ending with a letter or digit, no "..", ".-", "-.", not an IPv4
 * address. */
bool endpoint_bucket_dns_compatible(const char *bucket);

/* True when host is an IPv4 or bracketed IPv6 literal, "localhost" or a
 * name under ".localhost". */
bool endpoint_host_is_ip_or_localhost(const char *host);

/* Whether S3 requests for bucket on ep go path-style (see the top). */
bool endpoint_s3_path_style(const endpoint_t *ep, const char *bucket);

/* The URL of object key in bucket: virtual-hosted or path-style as above,
 * the key URI-encoded per byte with '/' kept (an empty key gives the
 * bucket's URL ending in '/').  *url is a new string the caller frees.
 * ERR_INVALID for an empty or malformed bucket name (not [A-Za-z0-9._-]
 * of 1..255). */
err_code_t endpoint_s3_object_url(const endpoint_t *ep, const char *bucket,
                                  const char *key, char **url, err_t *err);

#endif
