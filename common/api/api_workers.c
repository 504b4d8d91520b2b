/* api_workers — worker liveness in the API: GET /workers lists the worker
 * registry (the same objects as `onesheet workers --json`), /healthz counts
 * the live workers per model, and POST /generate-poster asks whether any
 * live worker serves a job's model before it waits for the job. */
#include "api/api_internal.h"

#include "engine/engine_serves.h"

#include <jansson.h>
#include <string.h>

/* The registry through be, or false (nothing listed) when the ledger keeps
 * none or cannot be read. */
static bool list(api_backends_t *be, int64_t now, ledger_worker_t **w, size_t *n, err_t *e)
{
    *w = NULL;
    *n = 0;
    if (!ledger_has_workers(be->ledger)) {
        err_set(e, ERR_UNAVAILABLE, "this ledger keeps no worker registry");
        return false;
    }
    return ledger_workers_list(be->ledger, now, w, n, e) == ERR_OK;
}

void api_get_workers(api_t *a, const api_request_t *req, api_response_t *resp)
{
    api_backends_t *be;
    ledger_worker_t *w;
    size_t n;
    int64_t now = a->now_ms();
    err_t e;
    (void)req;

    err_clear(&e);
    if (!api_borrow(a, resp, &be))
        return;
    if (!list(be, now, &w, &n, &e)) {
        api_backend_error(resp, &e);
        api_pool_release(a->pool, be, resp->status >= 500);
        return;
    }
    json_t *arr = json_array();
    size_t alive = 0;
    for (size_t i = 0; i < n; i++) {
        alive += ledger_worker_alive(&w[i], now);
        json_array_append_new(arr, engine_worker_json(&w[i], now));
    }
    api_json(resp, 200, json_pack("{s:o, s:I}", "workers", arr, "alive", (json_int_t)alive));
    ledger_workers_free(w, n);
    api_pool_release(a->pool, be, false);
}

json_t *api_workers_health(api_backends_t *be, int64_t now)
{
    ledger_worker_t *w;
    size_t n, alive = 0;
    err_t e;

    err_clear(&e);
    if (!list(be, now, &w, &n, &e))
        return json_pack("{s:n, s:s}", "alive", "error", e.msg);
    json_t *models = json_object();
    for (size_t i = 0; i < n; i++) {
        if (!ledger_worker_alive(&w[i], now))
            continue;
        alive++;
        /* Each id the worker lists, as it lists it. */
        const char *p = w[i].models;
        while (p && *p) {
            size_t len = strcspn(p, ",");
            char id[160];
            if (len && len < sizeof id) {
                memcpy(id, p, len);
                id[len] = '\0';
                json_int_t c = json_integer_value(json_object_get(models, id));
                json_object_set_new(models, id, json_integer(c + 1));
            }
            p += len + (p[len] == ',');
        }
    }
    ledger_workers_free(w, n);
    return json_pack("{s:I, s:I, s:o}", "alive", (json_int_t)alive, "stale",
                     (json_int_t)(n - alive), "models", models);
}

bool api_model_has_worker(api_backends_t *be, const char *model, int64_t now,
                          int64_t *last_seen)
{
    ledger_worker_t *w;
    size_t n;
    int alive = 0;
    err_t e;

    *last_seen = 0;
    err_clear(&e);
    /* No registry to ask: behave as before (wait for the job). */
    if (!list(be, now, &w, &n, &e))
        return true;
    engine_workers_for(w, n, model, now, &alive, last_seen);
    ledger_workers_free(w, n);
    return alive > 0;
}
