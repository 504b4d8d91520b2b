/* api_ui_batch — the dashboard's JSON (issue 19): the overview of batches
 * and a page of one batch, both built from the per-batch snapshots of
 * api_ui_cache.c, so however many browsers watch, a batch costs at most
 * one ledger query a second.  Pages are windows of the snapshot (offset,
 * limit ≤ API_UI_PAGE_MAX): a 10,000-job batch never goes out whole. */
#include "api/api_ui_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Batches on the overview whose snapshots are taken (for exact spend,
 * ETA and the throughput chart): the newest active or recent ones. */
#define OVERVIEW_SNAPS 5
#define RECENT_MS (60 * 60 * 1000)

json_t *api_ui_time(int64_t ms)
{
    char s[32];
    struct tm tm;
    time_t t = (time_t)(ms / 1000);
    if (ms <= 0 || !gmtime_r(&t, &tm))
        return json_null();
    strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(s);
}

static bool file_store(const api_t *a)
{
    return a->o.cfg && a->o.cfg->store && strncmp(a->o.cfg->store, "file:", 5) == 0;
}

char *api_ui_url(api_t *a, api_backends_t *be, const api_request_t *req, const char *key)
{
    char *url = NULL;
    int64_t exp;
    err_t e;
    long ttl = a->o.cfg ? a->o.cfg->url_ttl : 3600;
    if (file_store(a))
        return api_files_url(a, req, key, ttl, &exp);
    if (store_url(be->store, key, ttl, &url, &exp, &e) != ERR_OK)
        return NULL;
    return url;
}

static json_t *by_state_json(const int64_t *by_state)
{
    json_t *o = json_object();
    for (int s = 0; s < JOB__NSTATES; s++)
        json_object_set_new(o, job_state_name((job_state_t)s), json_integer(by_state[s]));
    return o;
}

/* The model of the batch's first job (its spec's, else the default). */
static const char *snap_model(const api_t *a, const api_ui_snap_t *s, char *out, size_t cap)
{
    const char *def = a->o.cfg && a->o.cfg->model ? a->o.cfg->model : "draft";
    snprintf(out, cap, "%s", def);
    if (s->n && s->jobs[0].spec_json) {
        json_t *spec = json_loads(s->jobs[0].spec_json, 0, NULL);
        const char *m = json_string_value(json_object_get(spec, "model"));
        if (m)
            snprintf(out, cap, "%s", m);
        json_decref(spec);
    }
    return out;
}

/* Figures of a batch: progress, spend, estimated total, ETA. */
static json_t *snap_summary(const api_t *a, const api_ui_snap_t *s, int64_t now)
{
    char model[160];
    int64_t ok = s->by_state[JOB_SUCCEEDED];
    int64_t left = s->by_state[JOB_QUEUED] + s->by_state[JOB_RUNNING];
    int64_t live = (int64_t)s->n - s->by_state[JOB_CANCELLED] - s->by_state[JOB_FAILED] -
                   s->by_state[JOB_FILTERED];
    json_t *o = json_pack("{s:s,s:s?,s:o,s:I,s:o,s:s,s:f}", "batch_id", s->batch_id, "source",
                          s->source, "created_at", api_ui_time(s->created_ms), "total",
                          (json_int_t)s->n, "by_state", by_state_json(s->by_state), "model",
                          snap_model(a, s, model, sizeof model), "spend_usd", s->spend_usd);
    json_object_set_new(o, "est_total_usd",
                        ok ? json_real(s->spend_usd / (double)ok * (double)live) : json_null());
    /* Rate over the last five minutes; no estimate before a first poster. */
    double per_s = (double)s->done_5min / 300.0;
    json_object_set_new(o, "eta_s", left == 0 ? json_integer(0)
                                    : per_s > 0 ? json_integer((json_int_t)((double)left / per_s))
                                                : json_null());
    json_object_set_new(o, "age_s", json_integer((now - s->created_ms) / 1000));
    json_object_set_new(o, "read_at", api_ui_time(s->at_ms));
    return o;
}

static json_t *job_item(api_t *a, api_backends_t *be, const api_request_t *req,
                        const ledger_job_t *j)
{
    json_t *o = json_pack("{s:s,s:s,s:i}", "job_id", j->job_id, "state",
                          job_state_name(j->state), "line", j->line);
    json_t *spec = j->spec_json ? json_loads(j->spec_json, 0, NULL) : NULL;
    const char *prompt = json_string_value(json_object_get(spec, "prompt"));
    const char *title = json_string_value(json_object_get(spec, "title"));
    if (title)
        json_object_set_new(o, "title", json_string(title));
    if (prompt) /* the grid shows a line of it; the job page has it whole */
        json_object_set_new(o, "prompt", json_stringn(prompt, strlen(prompt) > 300 ? 300
                                                                       : strlen(prompt)));
    json_decref(spec);
    if (j->state == JOB_SUCCEEDED && j->store_key) {
        char thumb[600];
        size_t kl = strlen(j->store_key);
        char *url = NULL;
        if (file_store(a) && kl > 4 && strcmp(j->store_key + kl - 4, ".png") == 0) {
            snprintf(thumb, sizeof thumb, "%.*s.thumb.webp", (int)(kl - 4), j->store_key);
            url = api_ui_url(a, be, req, thumb);
        }
        if (!url) /* S3: the poster itself (thumbnails are made for the file store) */
            url = api_ui_url(a, be, req, j->store_key);
        if (url)
            json_object_set_new(o, "thumb_url", json_string(url));
        free(url);
    }
    json_t *err = ledger_job_error_json(j);
    if (err)
        json_object_set_new(o, "error", err);
    return o;
}

/* Failures grouped by code and message, most frequent first (up to 10). */
static json_t *failures_json(const api_ui_snap_t *s)
{
    typedef struct { const char *code, *msg; int64_t n; } group_t;
    group_t g[64];
    size_t ng = 0;
    for (size_t i = 0; i < s->n; i++) {
        const ledger_job_t *j = &s->jobs[i];
        if (j->state != JOB_FAILED && j->state != JOB_FILTERED)
            continue;
        const char *c = j->error_code ? j->error_code : job_state_name(j->state);
        const char *m = j->error_message ? j->error_message : "";
        size_t k = 0;
        while (k < ng && !(strcmp(g[k].code, c) == 0 && strcmp(g[k].msg, m) == 0))
            k++;
        if (k == ng && ng < sizeof g / sizeof *g)
            g[ng++] = (group_t){c, m, 0};
        if (k < ng)
            g[k].n++;
    }
    for (size_t i = 1; i < ng; i++) /* few groups: insertion sort by count */
        for (size_t k = i; k > 0 && g[k].n > g[k - 1].n; k--) {
            group_t t = g[k];
            g[k] = g[k - 1];
            g[k - 1] = t;
        }
    json_t *arr = json_array();
    for (size_t i = 0; i < ng && i < 10; i++)
        json_array_append_new(arr, json_pack("{s:s,s:s,s:I}", "code", g[i].code, "message",
                                             g[i].msg, "count", (json_int_t)g[i].n));
    return arr;
}

static long param_long(const api_request_t *req, const char *name, long def, long lo, long hi)
{
    char v[24], *end;
    if (!api_query_param(req, name, v, sizeof v))
        return def;
    long n = strtol(v, &end, 10);
    return *end || end == v ? def : n < lo ? lo : n > hi ? hi : n;
}

void api_ui_batch_json(api_t *a, const api_request_t *req, const char *id,
                       api_response_t *resp)
{
    api_backends_t *be;
    api_ui_snap_t *s = NULL;
    err_t e;
    char state_s[16];
    int state = -1;
    if (api_query_param(req, "state", state_s, sizeof state_s) && strcmp(state_s, "all") &&
        (state = job_state_parse(state_s)) < 0) {
        api_error(resp, 400, "bad_request",
                  "state: expected queued, running, succeeded, failed, filtered, cancelled "
                  "or all");
        return;
    }
    long offset = param_long(req, "offset", 0, 0, 1L << 30);
    long limit = param_long(req, "limit", 200, 1, API_UI_PAGE_MAX);
    if (!api_borrow(a, resp, &be))
        return;
    int64_t now = a->now_ms();
    err_clear(&e);
    if (api_ui_snap_get(a->ui, be->ledger, id, now, &s, &e) != ERR_OK) {
        api_backend_error(resp, &e);
        api_pool_release(a->pool, be, resp->status >= 500);
        return;
    }
    json_t *jobs = json_array();
    long matched = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (state >= 0 && (int)s->jobs[i].state != state)
            continue;
        if (matched >= offset && matched < offset + limit)
            json_array_append_new(jobs, job_item(a, be, req, &s->jobs[i]));
        matched++;
    }
    json_t *o = json_pack("{s:o,s:o,s:I,s:I,s:I,s:o}", "batch", snap_summary(a, s, now),
                          "jobs", jobs, "offset", (json_int_t)offset, "limit",
                          (json_int_t)limit, "matched", (json_int_t)matched, "failures",
                          failures_json(s));
    api_ui_snap_release(a->ui, s);
    api_pool_release(a->pool, be, false);
    api_json(resp, 200, o);
}

void api_ui_overview_json(api_t *a, const api_request_t *req, api_response_t *resp)
{
    api_backends_t *be;
    ledger_batch_t *b = NULL;
    size_t n = 0;
    err_t e;
    long offset = param_long(req, "offset", 0, 0, 100000);
    long limit = param_long(req, "limit", 20, 1, 100);
    if (!api_borrow(a, resp, &be))
        return;
    int64_t now = a->now_ms();
    err_clear(&e);
    api_ui_cache_count(a->ui, 1);
    if (ledger_list_batches(be->ledger, (size_t)(offset + limit + 1), &b, &n, &e) != ERR_OK) {
        api_backend_error(resp, &e);
        api_pool_release(a->pool, be, resp->status >= 500);
        return;
    }
    json_t *arr = json_array();
    int64_t per_min[60] = {0};
    int snaps = 0;
    for (size_t i = (size_t)offset; i < n && i < (size_t)(offset + limit); i++) {
        int64_t left = b[i].by_state[JOB_QUEUED] + b[i].by_state[JOB_RUNNING];
        api_ui_snap_t *s = NULL;
        if (snaps < OVERVIEW_SNAPS && (left > 0 || now - b[i].created_ms < RECENT_MS) &&
            api_ui_snap_get(a->ui, be->ledger, b[i].batch_id, now, &s, &e) == ERR_OK) {
            snaps++;
            json_array_append_new(arr, snap_summary(a, s, now));
            for (size_t k = 0; k < s->n; k++) {
                int64_t ago = now - s->jobs[k].finished_ms;
                if (s->jobs[k].state == JOB_SUCCEEDED && ago >= 0 && ago < RECENT_MS)
                    per_min[59 - ago / 60000]++;
            }
            api_ui_snap_release(a->ui, s);
            continue;
        }
        json_array_append_new(
            arr, json_pack("{s:s,s:s?,s:o,s:I,s:o,s:I}", "batch_id", b[i].batch_id, "source",
                           b[i].source, "created_at", api_ui_time(b[i].created_ms), "total",
                           (json_int_t)b[i].total, "by_state", by_state_json(b[i].by_state),
                           "age_s", (json_int_t)((now - b[i].created_ms) / 1000)));
    }
    json_t *tp = json_array();
    for (int m = 0; m < 60; m++)
        json_array_append_new(tp, json_integer(per_min[m]));
    json_t *workers = NULL;
    if (ledger_has_workers(be->ledger)) {
        api_ui_cache_count(a->ui, 1);
        workers = api_workers_health(be, now);
    }
    json_t *o = json_pack("{s:o,s:I,s:I,s:b,s:o,s:o,s:I}", "batches", arr, "offset",
                          (json_int_t)offset, "limit", (json_int_t)limit, "more",
                          n > (size_t)(offset + limit), "throughput_per_min", tp, "workers",
                          workers ? workers : json_null(), "ledger_queries",
                          (json_int_t)api_ui_cache_queries(a->ui));
    ledger_batches_free(b, n);
    api_pool_release(a->pool, be, false);
    api_json(resp, 200, o);
}
