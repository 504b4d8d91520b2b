/* creds — AWS credentials: the SDK default provider chain and a cache.
 *
 * The chain is a list of small sources tried in the SDK's order:
 *
 *   environment  AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN
 *   profile      shared `credentials` and `config` files (AWS_PROFILE): static
 *                keys, credential_process, role_arn + source_profile (STS
 *                AssumeRole), role_arn + web_identity_token_file,
 *                role_arn + credential_source
 *   web identity AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (STS
 *                AssumeRoleWithWebIdentity, unsigned)
 *   container    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI
 *   imds         EC2 instance metadata, IMDSv2 only
 *
 * A source that is not configured returns ERR_NOTFOUND with the reason in
 * err->msg and the chain moves on; a source that is configured but fails
 * (a malformed file, a failing credential_process, STS refusing) stops the
 * chain with its error, as the SDKs do.  When nothing supplies credentials
 * the chain returns ERR_AUTH naming every source it tried.
 *
 * Every secret access key, session token and web identity token loaded is
 * registered with redact_add_secret(), and no error message quotes one.
 *
 * Nothing here reads the real process environment or clock directly when the
 * options supply a getenv function or a clock, so tests need not mutate the
 * process. */
#ifndef ONESHEET_CREDS_H
#define ONESHEET_CREDS_H

#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *access_key_id;
    char *secret_access_key;
    char *session_token;     /* NULL for long-term keys */
    int64_t expiration;      /* unix seconds; 0: does not expire */
    char source[24];         /* which source supplied them, e.g. "imds" */
} creds_t;

#define CREDS_INIT {NULL, NULL, NULL, 0, ""}

/* Source names recorded in creds_t.source (safe to log). */
#define CREDS_SRC_ENV          "environment"
#define CREDS_SRC_PROFILE      "shared-credentials"
#define CREDS_SRC_PROCESS      "credential-process"
#define CREDS_SRC_ASSUME_ROLE  "assume-role"
#define CREDS_SRC_WEB_IDENTITY "web-identity"
#define CREDS_SRC_CONTAINER    "container"
#define CREDS_SRC_IMDS         "imds"

/* Looks a variable up; returns a borrowed string or NULL when unset. */
typedef const char *(*creds_getenv_fn)(void *ctx, const char *name);
/* Returns the current time in unix seconds. */
typedef int64_t (*creds_clock_fn)(void *ctx);

typedef struct {
    creds_getenv_fn getenv;   /* NULL: the process environment */
    void *getenv_ctx;
    const char *home;         /* NULL: $HOME from getenv */
    const char *profile;      /* NULL: AWS_PROFILE, else "default".  Like
                                 AWS_PROFILE, environment keys still win */
    const char *region;       /* NULL: AWS_REGION, AWS_DEFAULT_REGION, then
                                 the profile's region; STS uses it */
    creds_clock_fn now;       /* NULL: time(NULL) */
    void *now_ctx;
    const char *container_endpoint; /* base for _RELATIVE_URI;
                                       NULL: http://169.254.170.2 */
    long imds_timeout_ms;     /* per IMDS request, also connect; 0: 1000 */
    long http_timeout_ms;     /* STS and container requests; 0: 5000 */
    long process_timeout_ms;  /* credential_process; 0: 60000 */
    size_t process_max_output; /* credential_process stdout cap; 0: 64 KiB */
} creds_options_t;

/* Frees the strings in c (wiping the secrets first) and resets it to
 * CREDS_INIT.  NULL is allowed. */
void creds_free(creds_t *c);

/* Deep-copies src into dst (dst is overwritten, not freed first).  Returns
 * ERR_NOMEM on allocation failure, leaving dst empty. */
err_code_t creds_copy(creds_t *dst, const creds_t *src);

/* Runs the default chain.  opts may be NULL for the process defaults.  On
 * ERR_OK *out holds new strings the caller frees with creds_free().  Returns
 * ERR_AUTH listing the sources tried when none supplied credentials, or the
 * error of the configured source that failed (ERR_CONFIG for a bad config
 * file or profile, naming the file and line or the profile). */
err_code_t creds_resolve(const creds_options_t *opts, creds_t *out, err_t *err);

/* --- The sources, in chain order.  Each fills *out (caller frees) and
 * returns ERR_OK, ERR_NOTFOUND when it is not configured (err->msg says
 * why), or the error that stopped it. */

/* AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN).  Only one
 * of the pair set is ERR_CONFIG. */
err_code_t creds_from_env(const creds_options_t *opts, creds_t *out, err_t *err);

/* The active profile of the shared files (AWS_SHARED_CREDENTIALS_FILE,
 * AWS_CONFIG_FILE, defaults under ~/.aws).  A profile named explicitly
 * (opts->profile or AWS_PROFILE) that exists in neither file is ERR_CONFIG
 * naming it; a malformed file is ERR_CONFIG "FILE:LINE: what". */
err_code_t creds_from_profile(const creds_options_t *opts, creds_t *out,
                              err_t *err);

/* AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (+ AWS_ROLE_SESSION_NAME). */
err_code_t creds_from_web_identity(const creds_options_t *opts, creds_t *out,
                                   err_t *err);

/* AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (against opts->container_endpoint)
 * or _FULL_URI, which must be https, loopback, or the ECS/EKS link-local
 * address (else ERR_CONFIG).  Sends AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE's
 * content, or AWS_CONTAINER_AUTHORIZATION_TOKEN, as Authorization. */
err_code_t creds_from_container(const creds_options_t *opts, creds_t *out,
                                err_t *err);

/* EC2 IMDSv2: a session token first (PUT /latest/api/token), then the role
 * and its credentials with the token; never IMDSv1.  Skipped (ERR_NOTFOUND)
 * when AWS_EC2_METADATA_DISABLED=true.  AWS_EC2_METADATA_SERVICE_ENDPOINT
 * overrides http://169.254.169.254.  Returns the real failure (ERR_TIMEOUT,
 * ERR_NETWORK, ERR_INVALID, ...); being last, the chain turns any of them
 * into its ERR_AUTH "tried ..." message. */
err_code_t creds_from_imds(const creds_options_t *opts, creds_t *out,
                           err_t *err);

/* Runs command with /bin/sh -c, reads its stdout (capped at
 * opts->process_max_output: ERR_TOOBIG), kills it after
 * opts->process_timeout_ms (ERR_TIMEOUT) and parses the Version 1 JSON
 * reply.  A non-zero exit is ERR_AUTH with the start of its stderr; a bad
 * reply is ERR_INVALID (never quoting the output, which may hold secrets). */
err_code_t creds_process_run(const creds_options_t *opts, const char *command,
                             creds_t *out, err_t *err);

typedef struct {
    const char *role_arn;
    const char *session_name;   /* NULL: "onesheet-<unix time>" */
    const char *external_id;    /* NULL: none */
    long duration_seconds;      /* 0: the STS default (3600) */
    const char *region;         /* the active profile's region, used after
                                   opts and the variables (creds_sts_region) */
} creds_role_t;

/* STS AssumeRole, a SigV4-signed query-protocol POST made with src.  The
 * endpoint is AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL, else
 * https://sts.REGION.amazonaws.com.  STS errors keep their code in
 * err->service_code and HTTP status in err->http_status. */
err_code_t creds_sts_assume_role(const creds_options_t *opts,
                                 const creds_t *src, const creds_role_t *role,
                                 creds_t *out, err_t *err);

/* STS AssumeRoleWithWebIdentity (unsigned) with the token read from
 * token_file (ERR_NOINPUT when unreadable). */
err_code_t creds_sts_assume_role_web_identity(const creds_options_t *opts,
                                              const creds_role_t *role,
                                              const char *token_file,
                                              creds_t *out, err_t *err);

/* Reads key from the active profile (the config file, then the credentials
 * file overriding it), e.g. "region".  *value is a new string (caller
 * frees) or NULL when absent.  Errors as creds_from_profile(). */
err_code_t creds_profile_value(const creds_options_t *opts, const char *key,
                               char **value, err_t *err);

/* Reads KEY of service (the botocore service id in lower case, e.g.
 * "dynamodb", "bedrock_runtime") from the [services NAME] section that the
 * active profile's `services = NAME` names, written as a sub-property
 * (`dynamodb =` / `  endpoint_url = http://...`).  *value is a new string
 * (caller frees) or NULL when the profile names no services section or the
 * section has no such key.  ERR_CONFIG when the named section is missing,
 * else errors as creds_from_profile().  Sub-properties of a profile itself
 * are read with creds_profile_value() as "s3.addressing_style". */
err_code_t creds_service_value(const creds_options_t *opts, const char *service,
                               const char *key, char **value, err_t *err);

/* --- The cache.  One per process, shared by every thread. */

typedef struct creds_cache creds_cache_t;

/* Fetches credentials into *out (caller frees); the same contract as
 * creds_resolve(). */
typedef err_code_t (*creds_provider_fn)(void *ctx, creds_t *out, err_t *err);

/* Creates a cache over the default chain.  opts is copied (its strings too);
 * getenv_ctx and now_ctx are borrowed and must outlive the cache.  Nothing
 * is fetched until the first creds_cache_get().  NULL on ERR_NOMEM. */
creds_cache_t *creds_cache_new(const creds_options_t *opts, err_t *err);

/* Creates a cache over any provider (tests, or fixed keys from flags).  ctx
 * is borrowed; now may be NULL for time(NULL). */
creds_cache_t *creds_cache_new_provider(creds_provider_fn fn, void *ctx,
                                        creds_clock_fn now, void *now_ctx,
                                        err_t *err);

void creds_cache_free(creds_cache_t *c);

/* Copies the current credentials into *out (caller frees).  Fetches them on
 * first use and again once less than CREDS_REFRESH_AHEAD seconds remain
 * before their expiration.  One thread refreshes at a time: the others keep
 * getting the still-valid credentials, or wait for the refresh when the old
 * ones have expired.  A failed refresh while the old credentials are still
 * valid returns those (and is retried no sooner than 10 s later). */
err_code_t creds_cache_get(creds_cache_t *c, creds_t *out, err_t *err);

#define CREDS_REFRESH_AHEAD 300

/* The expiration of the cached credentials (unix seconds; 0: none cached or
 * they never expire).  Presigned URLs must not outlive it. */
int64_t creds_cache_expiry(creds_cache_t *c);

/* The source that supplied the cached credentials ("" before the first
 * fetch), copied into buf of cap bytes; returns buf. */
const char *creds_cache_source(creds_cache_t *c, char *buf, size_t cap);

/* How many fetches the cache has made (tests, metrics). */
unsigned long creds_cache_fetches(creds_cache_t *c);

/* --- Shared by the creds_*.c sources. */

/* opts->getenv or getenv(); NULL when unset or empty. */
const char *creds_env(const creds_options_t *opts, const char *name);
/* opts->now or time(NULL). */
int64_t creds_now(const creds_options_t *opts);
/* Fills *out from borrowed strings (copied), registers the secrets with
 * redact, and records source.  token may be NULL or "". */
err_code_t creds_set(creds_t *out, const char *akid, const char *secret,
                     const char *token, int64_t expiration, const char *source,
                     err_t *err);
/* Parses an ISO 8601 UTC time ("2024-05-01T12:00:00Z", fractional seconds
 * and +HH:MM offsets allowed) into unix seconds.  false when malformed. */
bool creds_parse_time(const char *s, int64_t *out);
/* Parses the JSON credential shape shared by credential_process, the
 * container endpoint and IMDS (AccessKeyId, SecretAccessKey, Token or
 * SessionToken, Expiration) from text[0..len).  what names the reply in
 * errors.  ERR_INVALID never quotes the text. */
err_code_t creds_parse_json(const char *text, size_t len, const char *what,
                            const char *source, creds_t *out, err_t *err);
/* The region STS calls use, the session's as botocore picks it:
 * opts->region, AWS_REGION, AWS_DEFAULT_REGION, then role_region (the
 * active profile's region), else NULL (the global endpoint, us-east-1). */
const char *creds_sts_region(const creds_options_t *opts,
                             const char *role_region);
/* Reads a small file (at most max bytes: ERR_TOOBIG) into a new string with
 * surrounding whitespace trimmed; ERR_NOINPUT when unreadable. */
err_code_t creds_read_small_file(const char *path, size_t max, char **out,
                                 err_t *err);

#endif
