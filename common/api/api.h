/* api — onesheet-api's HTTP contract as plain data: a request struct in, a
 * response struct out.  The libmicrohttpd server and the Lambda runtime loop
 * (api/) are thin adapters around api_handle(), so both, and the tests, go
 * through the same routing, authentication, rate limiting and limits.
 *
 * Routes: POST /generate-poster, POST /jobs, GET|DELETE /jobs/{id},
 * GET /batches/{id}, GET /healthz, GET /openapi.json; issue 19: GET|HEAD
 * /files/BATCH/NAME (signed links to the file store, api_files.c) and the
 * dashboard under /ui/ (api_ui.c).  Every error is {"error": {"code",
 * "message"}} with its HTTP status. */
#ifndef ONESHEET_API_H
#define ONESHEET_API_H

#include "base/buf.h"
#include "setup/config.h"
#include "base/crypto.h"
#include "base/err.h"
#include "ledger/ledger.h"
#include "queue/queue.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define API_MAX_BODY (64 * 1024)  /* request bodies above this are 413 */
#define API_AUTH_FAIL_PER_S 1.0   /* wrong keys an address may send a second */
#define API_AUTH_FAIL_BURST 10.0  /* ... and at once before it is refused (429) */
#define API_MAX_HEADERS 100

typedef struct {
    const char *name;   /* any case */
    const char *value;
} api_header_t;

/* A request; everything is borrowed from the adapter for the call. */
typedef struct {
    const char *method;          /* "GET", "POST", ... */
    const char *path;            /* without the query string */
    const api_header_t *headers;
    size_t nheaders;
    const char *body;            /* body[0..body_len), need not end in NUL */
    size_t body_len;
    bool body_too_big;           /* the adapter stopped reading at the limit */
    const char *client;          /* peer address (rate limit when anonymous) */
    const char *base_path;       /* prefix of status URLs ("" or "/prod") */
    int64_t deadline_ms;         /* unix ms the answer is due by (0: none) */
    const char *query;           /* the raw query string without '?' (NULL: none) */
} api_request_t;

/* A response.  body is owned (free with api_response_free); the string
 * fields point at static text. */
typedef struct {
    int status;
    const char *content_type;
    char *body;
    size_t body_len;
    int retry_after;             /* seconds for Retry-After; 0: no header */
    const char *allow;           /* Allow header for 405; NULL: none */
    char detail[300];            /* for the adapter's log only, never sent */
    /* /files and /ui (issue 19); empty or NULL: no such header */
    char cache_control[48];      /* "": "no-store" */
    char etag[80];
    char last_modified[40];      /* IMF-fixdate */
    char content_range[80];
    bool accept_ranges;          /* "Accept-Ranges: bytes" */
    bool binary;                 /* the body is bytes, not text (Lambda: base64) */
    const char *csp;             /* Content-Security-Policy (static); NULL: none */
} api_response_t;

void api_response_free(api_response_t *r);

/* Case-insensitive request header lookup; NULL when absent (borrowed). */
const char *api_header(const api_request_t *r, const char *name);

/* ---- back-end handles ---- */

/* Queue, ledger and store handles are used by one thread at a time, so
 * requests borrow a set from a pool and give it back. */
typedef struct {
    queue_t *queue;
    ledger_t *ledger;
    store_t *store;
} api_backends_t;

typedef struct api_pool api_pool_t;

/* A pool opening handles from cfg (borrowed; must outlive the pool) on
 * demand and keeping up to max_idle of them.  NULL on ERR_NOMEM. */
api_pool_t *api_pool_new(const config_t *cfg, size_t max_idle, err_t *err);
/* Borrows a set of handles (opening a new one when none is idle).  The
 * back-end's error (e.g. ERR_IO, ERR_CONFIG) when one cannot be opened. */
err_code_t api_pool_acquire(api_pool_t *p, api_backends_t **out, err_t *err);
/* Returns a set; discard closes it instead (after a failure that may have
 * left it unusable). */
void api_pool_release(api_pool_t *p, api_backends_t *b, bool discard);
void api_pool_free(api_pool_t *p);
/* Caps the sets lent out at once (0: no cap, the default).  Beyond it
 * api_pool_acquire() waits up to API_POOL_WAIT_S for one to be given back,
 * then fails with ERR_THROTTLED, so requests cannot open file descriptors
 * without bound. */
#define API_POOL_WAIT_S 2
void api_pool_set_max_out(api_pool_t *p, size_t max_out);

/* ---- rate limiting ---- */

typedef struct api_ratelimit api_ratelimit_t;

/* Token buckets of `burst` requests refilled at rate_per_s, one per key,
 * at most max_keys remembered (the least recently used is forgotten).
 * Thread-safe.  NULL on out of memory. */
api_ratelimit_t *api_ratelimit_new(double rate_per_s, double burst, size_t max_keys);
/* Takes one token from key's bucket at time now_ms.  Returns 0 when the
 * request may go ahead, else the whole seconds (>= 1) until it may. */
int api_ratelimit_take(api_ratelimit_t *r, const char *key, int64_t now_ms);
void api_ratelimit_free(api_ratelimit_t *r);
/* Like api_ratelimit_take() but takes no token and makes no bucket: 0 when
 * key's bucket (if any) holds a token now, else the seconds until it will. */
int api_ratelimit_peek(api_ratelimit_t *r, const char *key, int64_t now_ms);

/* ---- the router ---- */

typedef struct {
    const config_t *cfg;     /* borrowed: model, url_ttl, api_keys */
    bool loopback;           /* served only on a loopback address */
    double sync_timeout_s;   /* POST /generate-poster waits this long (25) */
    double poll_interval_s;  /* ledger polling while waiting (0.25) */
    double rate_per_s;       /* per key; 0: no limit */
    double rate_burst;       /* bucket size; 0: 2 × rate */
} api_options_t;

typedef struct api api_t;

/* Creates the router.  Parses cfg->api_keys (SHA-256 hex digests).  With no
 * keys, authentication is off, which is allowed only when o->loopback:
 * otherwise ERR_CONFIG.  Borrows pool. */
api_t *api_new(const api_options_t *o, api_pool_t *pool, err_t *err);
void api_free(api_t *a);

/* Handles one request; always fills resp (free with api_response_free).
 * Thread-safe: requests may be handled concurrently. */
void api_handle(api_t *a, const api_request_t *req, api_response_t *resp);

/* True when requests must carry a valid x-api-key. */
bool api_auth_enabled(const api_t *a);

/* Makes requests that are waiting (POST /generate-poster) answer now, for
 * shutdown. */
void api_stop(api_t *a);

/* Tests: a clock in unix ms (NULL: the real one), and the comparison used
 * for key digests (NULL: crypto_equal). */
void api_set_clock(api_t *a, int64_t (*now_ms)(void));
void api_set_key_compare(api_t *a, int (*eq)(const void *, const void *, size_t));

/* A signed link to the file-store object store_key, as onesheet-api
 * serves it: BASE/files/KEY?expires=EXPIRES&sig=HEX, signed with the
 * secret kept in state_dir (STATE/files.key, made on first use).  For
 * `onesheet urls --http`.  New string (caller frees); NULL with err set:
 * ERR_INVALID for a key /files does not serve, ERR_CONFIG for the secret. */
char *api_files_link(const char *state_dir, const char *base, const char *store_key,
                     int64_t expires, err_t *err);

/* The dashboard's files (api/ui/, embedded by tools/embed-ui.sh at build
 * time): path under /ui/ ("index.html", "app.js", ...), MIME type and
 * bytes.  The table ends with a NULL path. */
typedef struct {
    const char *path, *content_type, *data;
    size_t len;
} api_ui_asset_t;
extern const api_ui_asset_t api_ui_assets[];

/* The OpenAPI 3.1 document served at /openapi.json (generated from
 * api/openapi.json by tools/embed-openapi.sh). */
extern const char api_openapi_json[];

/* ---- API Gateway proxy events (Lambda) ---- */

typedef struct {
    api_request_t req;       /* points into the fields below */
    void *root;              /* the parsed event (json_t) the strings borrow */
    api_header_t *headers;
    buf_t body;
    char *path, *base_path;
    char *query;             /* rawQueryString (v2) or queryStringParameters
                              * encoded again (v1); NULL: none */
} api_event_t;

/* Parses an API Gateway REST (v1, "httpMethod") or HTTP API (v2,
 * "version": "2.0") proxy event into ev->req: method, path (the stage
 * prefix removed and kept as base_path), headers, the body (base64-decoded
 * when isBase64Encoded; body_too_big past API_MAX_BODY) and source IP.
 * ERR_INVALID for anything else.  Free ev with api_event_free, also on
 * error. */
err_code_t api_event_parse(const char *json, size_t len, api_event_t *ev, err_t *err);
void api_event_free(api_event_t *ev);

/* The proxy integration's answer for r ({"statusCode", "headers", "body",
 * "isBase64Encoded": false}; the same for v1 and v2), appended to out. */
err_code_t api_event_response(const api_response_t *r, buf_t *out);

/* ---- scheduler events (Lambda) ---- */

/* Performs the campaign firing a scheduler's event asks for
 * (campaign_event_parse: {"onesheet": "campaign-run", ...}; relative paths
 * under dir) on a set of a's back-ends, exactly as `onesheet campaign run
 * --slot` does: campaign_fire() with the configured default model and
 * price table.  Appends the result (campaign_fire_json) to out.  The
 * firing's error otherwise: ERR_INVALID for a bad event or campaign,
 * ERR_TOOBIG over a budget, a back-end's error. */
err_code_t api_campaign_event(api_t *a, const char *json, size_t len, const char *dir,
                              buf_t *out, err_t *err);

#endif
