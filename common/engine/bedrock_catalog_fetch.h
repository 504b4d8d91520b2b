/* bedrock_catalog_fetch — the control-plane calls behind bedrock_catalog.h
 * and the cache file that spares submit a call each time.
 *
 * Endpoint: AWS_ENDPOINT_URL_BEDROCK, else AWS_ENDPOINT_URL, else
 * https://bedrock.REGION.amazonaws.com (.amazonaws.com.cn in cn-*); SigV4
 * signing name "bedrock".  The cache is STATE_DIR/bedrock-models.json
 * (0600, written to a temporary file and renamed over): {"version":1,
 * "region":R,"endpoint":URL,"fetched_at":unix,"reply":<the reply as
 * Bedrock sent it>}.  A cache for another region or endpoint is ignored. */
#ifndef ONESHEET_BEDROCK_CATALOG_FETCH_H
#define ONESHEET_BEDROCK_CATALOG_FETCH_H

#include "aws/aws.h"
#include "engine/bedrock_catalog.h"

#define BEDROCK_CATALOG_MAX_AGE_S 86400L
#define BEDROCK_CATALOG_CACHE_NAME "bedrock-models.json"

typedef struct {
    const char *state_dir;       /* NULL: no cache */
    long max_age_s;              /* 0: BEDROCK_CATALOG_MAX_AGE_S */
    bool refresh;                /* ignore a fresh cache (--refresh) */
    bool access;                 /* also ask GetFoundationModelAvailability for
                                    each listed model onesheet can drive (live,
                                    never cached) */
    long timeout_ms;             /* per call; 0: 5000 */
    int64_t now;                 /* 0: time(NULL) */
} bedrock_catalog_opts_t;

/* Fills out (initialised by the caller) with the list of image models:
 * from a cache younger than max_age_s unless refresh, else from
 * ListFoundationModels (one attempt, short timeout: a submit is not held
 * up), saving the reply to the cache.  When the call fails (no network,
 * 403 AccessDenied, a 5xx, a reply that does not parse) a cache of any age
 * is used (out->stale), else out->fallback is set; out->why says what
 * happened, for the caller to say once.  env NULL: fallback ("no AWS
 * environment").
 *
 * Returns ERR_OK in all those cases; only ERR_NOMEM is an error.  Writing
 * the cache is best effort (a read-only state directory costs a call next
 * time, no failure). */
err_code_t bedrock_catalog_load(aws_env_t *env, const bedrock_catalog_opts_t *o,
                                bedrock_catalog_t *out, err_t *err);

/* GetFoundationModelAvailability for one base model id: YES when the reply
 * says AUTHORIZED and AVAILABLE, NO when it says NOT_AUTHORIZED or
 * NOT_AVAILABLE, UNKNOWN when the call fails or the reply is not one we
 * understand (the call is optional: its shape is checked loosely). */
bedrock_access_t bedrock_catalog_access(aws_client_t *c, const char *model_id,
                                        long timeout_ms);

/* The control-plane base URL for env into out (cap bytes).  ERR_CONFIG
 * for a bad AWS_ENDPOINT_URL_BEDROCK (no http:// or https://). */
err_code_t bedrock_catalog_endpoint(aws_env_t *env, char *out, size_t cap, err_t *err);

#endif
