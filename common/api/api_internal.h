/* api_internal — what the router (api_router.c), the handlers
 * (api_handlers.c) and the response helpers below both (api_response.c)
 * share; not for other modules. */
#ifndef ONESHEET_API_INTERNAL_H
#define ONESHEET_API_INTERNAL_H

#include "api/api.h"
#include "jobs/job.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>

struct api {
    api_options_t o;
    api_pool_t *pool;
    uint8_t (*keys)[SHA256_LEN];
    size_t nkeys;
    api_ratelimit_t *limiter;
    int64_t (*now_ms)(void);
    int (*key_equal)(const void *, const void *, size_t);
    atomic_bool stopping;
    api_ratelimit_t *auth_fails; /* failed authentications per client address */
    /* issue 19: the /files URL secret (loaded once) and the dashboard's
     * per-batch snapshots */
    pthread_mutex_t files_mu;
    bool files_keyed;
    uint8_t files_key[32];
    struct api_ui_cache *ui;
    struct api_models *models;   /* issue 23: Bedrock's model list (api_models.c) */
};

/* api_models.c (issue 23): the model lifecycle check of the submit routes.
 * One per api, made by api_new (NULL when out of memory), freed by
 * api_free. */
typedef struct api_models api_models_t;
api_models_t *api_models_new(void);
void api_models_free(api_models_t *m);
/* Judges model (NULL or "": the configured default) as `onesheet submit`
 * does, against Bedrock's list (loaded on the first Bedrock model, again
 * once model_list_ttl has passed).  true: go ahead, a Legacy model's
 * warning (and, once per load, that the list could not be had) appended to
 * *warnings (a JSON array, made when NULL; the caller owns it).  false
 * with resp set: 400 {"error": {"code": "model_unavailable", "message",
 * "model", "nearest"}} for a model the region does not list (where, e.g.
 * "model" or "jobs[2].model", starts the message), 500 out of memory.
 * "draft", model_lifecycle = off and models not in the compiled Bedrock
 * table are always fine and never load the list. */
bool api_models_check(api_t *a, const char *model, const char *where, json_t **warnings,
                      api_response_t *resp);
/* api_models_check for every job of b ("jobs[I].model" in a refusal);
 * stops at the first refused. */
bool api_models_check_bulk(api_t *a, const bulk_t *b, json_t **warnings,
                           api_response_t *resp);
/* Sets o's "warnings" to warnings (a new reference) when it has any;
 * returns o (NULL stays NULL). */
json_t *api_warned(json_t *o, json_t *warnings);
/* How many times the list has been loaded (tests: once per TTL). */
long api_models_loads(api_t *a);

/* api_response.c: sets resp to the JSON error {"error": {"code", "message"}} with status. */
void api_error(api_response_t *resp, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Sets resp to an error for a back-end failure: 404, 409, 400, 503 (with
 * Retry-After) or 500, keeping the back-end's message in resp->detail. */
void api_backend_error(api_response_t *resp, const err_t *e);
/* Sets resp to status with the JSON body of v (steals the reference). */
void api_json(api_response_t *resp, int status, void *json_value);

/* Handlers: req has passed authentication, rate limiting and the body
 * checks; id is the validated {id} path segment or NULL. */
void api_generate_poster(api_t *a, const api_request_t *req, api_response_t *resp);
void api_post_jobs(api_t *a, const api_request_t *req, api_response_t *resp);
void api_get_job(api_t *a, const api_request_t *req, const char *id, api_response_t *resp);
void api_delete_job(api_t *a, const api_request_t *req, const char *id,
                    api_response_t *resp);
void api_get_batch(api_t *a, const api_request_t *req, const char *id,
                   api_response_t *resp);
void api_healthz(api_t *a, const api_request_t *req, api_response_t *resp);
/* api_retry.c (issue 17, item 1): POST /jobs/{id}/retry and
 * /batches/{id}/retry. */
void api_post_job_retry(api_t *a, const api_request_t *req, const char *id,
                        api_response_t *resp);
void api_post_batch_retry(api_t *a, const api_request_t *req, const char *id,
                          api_response_t *resp);

/* api_workers.c (worker liveness): GET /workers; the "workers" member of
 * /healthz ({"alive", "stale", "models": {ID: live workers}}, or alive
 * null and an error when the registry cannot be read; new reference); and
 * whether a live worker serves model (true when the ledger keeps no
 * registry), *last_seen getting the last time one serving it was seen
 * (0: never). */
void api_get_workers(api_t *a, const api_request_t *req, api_response_t *resp);
json_t *api_workers_health(api_backends_t *be, int64_t now);
bool api_model_has_worker(api_backends_t *be, const char *model, int64_t now,
                          int64_t *last_seen);

/* api_handlers.c: a job as GET /jobs/{id} shows it (new reference). */
json_t *api_job_json(api_t *a, api_backends_t *be, const api_request_t *req,
                     const ledger_job_t *j);
/* api_review.c (issue 20): POST /jobs/{id}/approve and /reject, POST
 * /batches/{id}/promote; and the review, lineage and variant members of
 * a job's JSON o (read from be's ledger; none when it cannot say). */
void api_post_job_approve(api_t *a, const api_request_t *req, const char *id,
                          api_response_t *resp);
void api_post_job_reject(api_t *a, const api_request_t *req, const char *id,
                         api_response_t *resp);
void api_post_batch_promote(api_t *a, const api_request_t *req, const char *id,
                            api_response_t *resp);
void api_review_json_add(api_backends_t *be, json_t *o, const ledger_job_t *j);
/* ---- issue 19: /files and /ui ---- */

#define API_THUMB_W 256   /* dashboard thumbnails' width in pixels */

/* Borrows back-end handles from the pool, or sets resp to 503 / the
 * back-end's error and returns false. */
bool api_borrow(api_t *a, api_response_t *resp, api_backends_t **be);
/* The query parameter name's raw value copied into out (cap bytes); false
 * when absent or too long. */
bool api_query_param(const api_request_t *req, const char *name, char *out, size_t cap);

/* api_files.c.  Loads the 32-byte /files URL secret from
 * STATE_DIR/files.key, creating it (0600, race-safe: a private temporary
 * file linked into place) when absent.  ERR_CONFIG naming the file when it
 * is unreadable, the wrong size or readable by others. */
err_code_t api_files_secret(const char *state_dir, uint8_t key[32], err_t *err);
/* sig = hex HMAC-SHA256(key, "GET\nSTORE_KEY\nEXPIRES").  ERR_TOOBIG for
 * an over-long key. */
err_code_t api_files_sign(const uint8_t key[32], const char *store_key, int64_t expires,
                          char sig[SHA256_HEX_LEN]);
/* True when store_key is "ID/NAME" with both segments made of id
 * characters and not starting with '.': what /files serves. */
bool api_files_key_ok(const char *store_key);
/* The URL base for /files links: cfg->public_url, else on loopback
 * "http://" + the request's Host (checked) + base path.  False when there
 * is none (the caller keeps the store's own URL). */
bool api_files_base(const api_t *a, const api_request_t *req, char *out, size_t cap);
/* A signed /files URL for store_key valid ttl_s seconds; new string
 * (caller frees), or NULL when no base, no secret or a bad key. */
char *api_files_url(api_t *a, const api_request_t *req, const char *store_key, long ttl_s,
                    int64_t *expires_unix);
/* GET|HEAD /files/KEY (key: the path after "/files/"). */
void api_files_get(api_t *a, const api_request_t *req, const char *key, api_response_t *resp);

/* api_ui.c: the dashboard's pages and JSON (path starts with "/ui"), and
 * its per-batch cache. */
struct api_ui_cache *api_ui_cache_new(void);
void api_ui_cache_free(struct api_ui_cache *c);
/* True when path is one of the dashboard's public files (HTML, CSS, JS:
 * no data in them), which need no API key. */
bool api_ui_public(const char *path);
void api_ui_handle(api_t *a, const api_request_t *req, api_response_t *resp);

#endif
