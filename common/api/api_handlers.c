/* api_handlers — what each onesheet-api route does (see api.h).  Jobs go
 * through the same path as `onesheet submit` (job.h parsing and
 * normalisation, submit_batch()), so a job posted here is identical to one
 * submitted from a file: same ids, same messages, same idempotence. */
#include "api/api_internal.h"

#include "engine/engine_backends.h"
#include "jobs/job.h"
#include "jobs/submit.h"
#include "jobs/variants.h"
#include "jobs/webhook.h"
#include "store/store_renditions.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* RFC 3339 UTC text of unix ms, or JSON null for 0. */
static json_t *time_json(int64_t ms)
{
    char s[32];
    struct tm tm;
    time_t t = (time_t)(ms / 1000);
    if (ms <= 0 || !gmtime_r(&t, &tm))
        return json_null();
    strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(s);
}

static json_t *status_url(const api_request_t *req, const char *kind, const char *id)
{
    char s[300];
    snprintf(s, sizeof s, "%s/%s/%s", req->base_path ? req->base_path : "", kind, id);
    return json_string(s);
}

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v)
        json_object_set_new(o, k, json_string(v));
}

/* A fresh URL for a finished job's object (presigned for S3), falling back
 * to the one the ledger recorded.  Sets *url (new string) and *expires. */
static void fresh_url(api_t *a, api_backends_t *be, const api_request_t *req,
                      const ledger_job_t *j, char **url, int64_t *expires)
{
    err_t e;
    *url = NULL;
    *expires = 0;
    if (j->store_key &&
        store_url(be->store, j->store_key, a->o.cfg->url_ttl, url, expires, &e) ==
            ERR_OK) {
        /* The file store's file:// URL is for local use; HTTP clients get
         * a signed /files link when there is a host to put in it. */
        char *http = strncmp(*url, "file://", 7) == 0
                         ? api_files_url(a, req, j->store_key, a->o.cfg->url_ttl, expires)
                         : NULL;
        if (http) {
            free(*url);
            *url = http;
        }
        return;
    }
    *url = j->url ? strdup(j->url) : NULL;
}

static json_t *job_json(api_t *a, api_backends_t *be, const api_request_t *req,
                        const ledger_job_t *j)
{
    json_t *o = json_object();
    set_str(o, "job_id", j->job_id);
    set_str(o, "batch_id", j->batch_id);
    set_str(o, "state", job_state_name(j->state));
    json_object_set_new(o, "status_url", status_url(req, "jobs", j->job_id));
    json_object_set_new(o, "attempts", json_integer(j->attempts));
    if (j->spec_json) {
        json_t *spec = json_loads(j->spec_json, 0, NULL);
        if (spec)
            json_object_set_new(o, "spec", spec);
    }
    if (j->state == JOB_SUCCEEDED) {
        char *url;
        int64_t expires;
        fresh_url(a, be, req, j, &url, &expires);
        set_str(o, "url", url);
        free(url);
        json_object_set_new(o, "expires_at", time_json(expires * 1000));
        set_str(o, "sha256", j->sha256);
        set_str(o, "checksum_alg", j->checksum_alg);
        set_str(o, "checksum", j->checksum);
        if (j->art_key && j->store_key)
            json_object_set_new(o, "art_is_poster",
                                json_boolean(strcmp(j->art_key, j->store_key) == 0));
        json_object_set_new(o, "bytes", json_integer(j->bytes));
        json_object_set_new(o, "seed", json_integer(j->seed));
        set_str(o, "model", j->model);
        json_t *rd = store_renditions_json(be->store, j->batch_id, j->job_id, j->spec_json,
                                           j->url, a->o.cfg->url_ttl);
        if (rd)
            json_object_set_new(o, "renditions", rd);
    }
    set_str(o, "model_lifecycle", j->model_lifecycle);   /* issue 23 */
    json_t *err = ledger_job_error_json(j);
    if (err)
        json_object_set_new(o, "error", err);
    json_object_set_new(o, "created_at", time_json(j->created_ms));
    json_object_set_new(o, "started_at", time_json(j->started_ms));
    json_object_set_new(o, "finished_at", time_json(j->finished_ms));
    /* Retry (issue 17): the current run, and every run after a retry. */
    json_object_set_new(o, "run", json_integer(j->run > 0 ? j->run : 1));
    if (j->nhistory) {
        json_t *runs = ledger_job_runs_json(j);
        if (runs)
            json_object_set_new(o, "runs", runs);
    }
    /* Issue 20: its review mark, lineage and place among its variants. */
    api_review_json_add(be, o, j);
    return o;
}

/* Finds a job by id in any batch (a client id can recur across batches: the
 * newest wins).  ERR_NOTFOUND with a message when there is none. */
static err_code_t find_job(api_backends_t *be, const char *id, ledger_job_t *out, err_t *err)
{
    ledger_job_t *jobs = NULL;
    size_t n = 0, best = 0;
    err_code_t rc = ledger_get_jobs(be->ledger, NULL, id, &jobs, &n, err);
    if (rc != ERR_OK)
        return rc;
    if (n == 0) {
        ledger_jobs_free(jobs, n);
        return err_set(err, ERR_NOTFOUND, "no such job: %s", id);
    }
    for (size_t i = 1; i < n; i++)
        if (jobs[i].created_ms > jobs[best].created_ms)
            best = i;
    *out = jobs[best];
    memset(&jobs[best], 0, sizeof jobs[best]);
    ledger_jobs_free(jobs, n);
    return ERR_OK;
}

/* Gives the handles back, closing them after an I/O-level failure. */
static void give_back(api_t *a, api_backends_t *be, const api_response_t *resp)
{
    api_pool_release(a->pool, be, resp->status >= 500);
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* Takes the "webhook" member out of object o (so the spec parser does not
 * see it) into *url (a new string; NULL when absent) after checking the
 * URL.  Returns false after answering 400 when it is not a string or not
 * an acceptable URL. */
static bool take_webhook(json_t *o, char **url, api_response_t *resp)
{
    json_t *w = json_is_object(o) ? json_object_get(o, "webhook") : NULL;
    err_t e;
    *url = NULL;
    if (!w)
        return true;
    if (!json_is_string(w)) {
        api_error(resp, 400, "bad_request", "webhook: expected a URL string");
        return false;
    }
    if (webhook_url_check(json_string_value(w), "webhook", &e) != ERR_OK) {
        api_error(resp, 400, "bad_request", "%s", e.msg);
        return false;
    }
    if (!(*url = strdup(json_string_value(w)))) {
        api_error(resp, 500, "internal", "out of memory");
        return false;
    }
    json_object_del(o, "webhook");
    return true;
}

/* Submits b (with its webhook, when webhook is set, recorded first) and
 * answers 202 with the batch and its jobs. */
static bool submit(api_t *a, api_backends_t *be, bulk_t *b, const char *webhook,
                   api_response_t *resp, submit_result_t *res)
{
    err_t e;
    err_clear(&e);
    if (bulk_assign_ids(b) != ERR_OK) {
        api_error(resp, 500, "internal", "out of memory");
        return false;
    }
    if (bulk_expand_variants(b, &e) != ERR_OK) {
        if (e.code == ERR_NOMEM)
            api_error(resp, 500, "internal", "out of memory");
        else
            api_error(resp, 400, "bad_request", "%s", e.msg);
        return false;
    }
    if (webhook && webhook_register(be->ledger, b->batch_id, webhook, a->o.cfg->webhook_secret,
                                    "webhook", &e) != ERR_OK) {
        if (e.code == ERR_CONFIG)
            api_error(resp, 501, "webhooks_unavailable", "%s", e.msg);
        else
            api_backend_error(resp, &e);
        return false;
    }
    if (submit_batch(be->queue, be->ledger, b, "api", res, &e) != ERR_OK) {
        api_backend_error(resp, &e);
        return false;
    }
    return true;
}

/* A spec naming a model no engine knows would only fail in the worker:
 * ERR_INVALID "model: unknown model "X" (did you mean "Y"?)". */
static err_code_t check_model(const job_spec_t *s, err_t *e)
{
    if (engine_model_check(s->model, NULL, 0, e) != ERR_OK)
        return err_prefix(e, "model");
    return ERR_OK;
}

void api_generate_poster(api_t *a, const api_request_t *req, api_response_t *resp)
{
    job_defaults_t d = {.model = a->o.cfg->model, .seed = JOB_SEED_UNSET};
    api_backends_t *be = NULL;
    submit_result_t res;
    ledger_job_t job;
    bulk_t b;
    char *webhook = NULL, *stripped = NULL;
    json_t *warnings = NULL;
    err_t e;

    bulk_init(&b);
    err_clear(&e);
    memset(&job, 0, sizeof job);
    if (!(b.items = calloc(1, sizeof *b.items))) {
        api_error(resp, 500, "internal", "out of memory");
        return;
    }
    b.nitems = 1;
    job_spec_init(&b.items[0].spec);
    /* A "webhook" member is the batch's, not the spec's. */
    const char *body = req->body ? req->body : "";
    size_t body_len = req->body_len;
    if (body_len && memmem(body, body_len, "\"webhook\"", 9)) {
        json_t *o = json_loadb(body, body_len, JSON_REJECT_DUPLICATES, NULL);
        if (o && !take_webhook(o, &webhook, resp)) {
            json_decref(o);
            goto out;
        }
        if (o && webhook && !(stripped = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER))) {
            json_decref(o);
            api_error(resp, 500, "internal", "out of memory");
            goto out;
        }
        json_decref(o);
        if (stripped) {
            body = stripped;
            body_len = strlen(stripped);
        }
    }
    if (job_spec_parse_json(body, body_len, &b.items[0].spec, &e) != ERR_OK ||
        job_spec_normalise(&b.items[0].spec, &d, &e) != ERR_OK ||
        check_model(&b.items[0].spec, &e) != ERR_OK) {
        api_error(resp, e.code == ERR_NOMEM ? 500 : 400, "bad_request", "%s", e.msg);
        goto out;
    }
    if (!api_models_check(a, b.items[0].spec.model, "model", &warnings, resp))
        goto out;
    if (!api_borrow(a, resp, &be))
        goto out;
    if (!submit(a, be, &b, webhook, resp, &res))
        goto out;

    const char *prefer = api_header(req, "prefer");
    bool async = prefer && strcasestr(prefer, "respond-async");
    int64_t now = a->now_ms(), seen = 0;
    /* Nobody to make it: say so at once instead of waiting out the timeout. */
    bool no_worker = !async && !api_model_has_worker(be, b.items[0].spec.model, now, &seen);
    async = async || no_worker;
    int64_t deadline = now + (int64_t)(a->o.sync_timeout_s * 1000);
    /* Behind Lambda, answer a second before the invocation's own deadline. */
    if (req->deadline_ms && req->deadline_ms - 1000 < deadline)
        deadline = req->deadline_ms - 1000;
    for (;;) {
        if (be) {
            ledger_job_free(&job);
            if (find_job(be, b.items[0].job_id, &job, &e) != ERR_OK) {
                api_backend_error(resp, &e);
                goto out;
            }
        }
        if (async || job_state_terminal(job.state) || atomic_load(&a->stopping) ||
            a->now_ms() >= deadline)
            break;
        /* A waiting request holds no handles between polls (descriptors
         * scale with polls in progress, not waiters); all lent out, it
         * keeps the state it last read and tries at the next poll. */
        if (be)
            api_pool_release(a->pool, be, false);
        be = NULL;
        sleep_s(a->o.poll_interval_s);
        err_clear(&e);
        if (api_pool_acquire(a->pool, &be, &e) != ERR_OK)
            be = NULL;
    }
    if (job.state == JOB_SUCCEEDED && !be) {
        err_clear(&e);
        if (api_pool_acquire(a->pool, &be, &e) != ERR_OK)
            be = NULL;
    }
    if (job.state == JOB_SUCCEEDED && be) {
        char *url;
        int64_t expires;
        fresh_url(a, be, req, &job, &url, &expires);
        api_json(resp, 200,
                 api_warned(json_pack("{s:s?,s:s,s:o,s:s,s:o}", "url", url, "job_id", job.job_id,
                                  "expires_at", time_json(expires * 1000), "batch_id",
                                  job.batch_id, "status_url",
                                  status_url(req, "jobs", job.job_id)), warnings));
        free(url);
    } else if (job_state_terminal(job.state) && job.state != JOB_SUCCEEDED) {
        int status = job.state == JOB_FILTERED ? 422 : job.state == JOB_CANCELLED ? 409 : 502;
        api_json(resp, status,
                 api_warned(json_pack("{s:{s:s,s:s},s:s,s:o}", "error", "code",
                           job.error_code ? job.error_code : job_state_name(job.state),
                           "message", job.error_message ? job.error_message : "the job did not succeed",
                           "job_id", job.job_id, "status_url",
                           status_url(req, "jobs", job.job_id)), warnings));
    } else {
        json_t *pending = json_pack("{s:s,s:s,s:s,s:o}", "job_id", job.job_id, "batch_id",
                                 job.batch_id, "state", job_state_name(job.state),
                                 "status_url", status_url(req, "jobs", job.job_id));
        if (no_worker && pending) {
            const char *m = b.items[0].spec.model ? b.items[0].spec.model : "draft";
            json_object_set_new(pending, "warning",
                                json_sprintf("no worker serves model %s (%s); the job waits "
                                             "in the queue until one starts: onesheet-worker "
                                             "--models %s", m, seen ? "one was seen before"
                                             : "none seen", m));
            json_object_set_new(pending, "worker_last_seen", time_json(seen));
        }
        api_json(resp, 202, api_warned(pending, warnings));
    }
out:
    if (be)
        give_back(a, be, resp);
    ledger_job_free(&job);
    bulk_free(&b);
    free(webhook);
    free(stripped);
    json_decref(warnings);
}

/* Rewrites bulk_parse()'s "jobs:LINE: ..." as "jobs[INDEX]: ...". */
static json_t *spec_errors(const bulk_t *b)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < b->nerrors && i < 100; i++) {
        const char *m = b->errors[i].msg, *rest = strchr(m, ':');
        char s[700];
        rest = rest ? strchr(rest + 1, ':') : NULL;
        if (b->errors[i].line && rest)
            snprintf(s, sizeof s, "jobs[%zu]%s", b->errors[i].line - 1, rest);
        else
            snprintf(s, sizeof s, "%s", m);
        json_array_append_new(arr, json_string(s));
    }
    return arr;
}

void api_post_jobs(api_t *a, const api_request_t *req, api_response_t *resp)
{
    job_defaults_t d = {.model = a->o.cfg->model, .seed = JOB_SEED_UNSET};
    json_error_t je;
    json_t *root = json_loadb(req->body ? req->body : "", req->body_len,
                              JSON_REJECT_DUPLICATES, &je);
    api_backends_t *be = NULL;
    buf_t lines = BUF_INIT;
    submit_result_t res;
    bulk_t b;
    char *webhook = NULL;
    json_t *warnings = NULL;
    err_t e;

    bulk_init(&b);
    err_clear(&e);
    if (!root) {
        api_error(resp, 400, "bad_request", "body: invalid JSON: %s", je.text);
        return;
    }
    /* {"jobs": [...], "webhook": URL} is a list with a webhook; a single
     * spec may carry "webhook" itself. */
    if (!take_webhook(root, &webhook, resp))
        goto out;
    if (json_is_object(root) && json_is_array(json_object_get(root, "jobs"))) {
        json_t *list = json_incref(json_object_get(root, "jobs"));
        if (json_object_size(root) != 1) {
            json_decref(list);
            api_error(resp, 400, "bad_request", "body: with \"jobs\", only \"webhook\" "
                      "may be beside it");
            goto out;
        }
        json_decref(root);
        root = list;
    }
    if (!json_is_object(root) && !(json_is_array(root) && json_array_size(root) > 0)) {
        api_error(resp, 400, "bad_request", "body: expected a job spec or a non-empty list of them");
        goto out;
    }
    /* One JSONL line per spec, so a list gets exactly the checks a file
     * gets: duplicate client ids, identical specs folded, every error. */
    size_t n = json_is_array(root) ? json_array_size(root) : 1;
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_is_array(root) ? json_array_get(root, i) : root;
        char *text = json_is_object(s) ? json_dumps(s, JSON_COMPACT | JSON_PRESERVE_ORDER)
                                       : strdup("[]");
        if (!text || buf_append_str(&lines, text) || buf_append_str(&lines, "\n")) {
            free(text);
            api_error(resp, 500, "internal", "out of memory");
            goto out;
        }
        free(text);
    }
    err_code_t parsed = bulk_parse("jobs", (const char *)lines.data, lines.len, BULK_JSONL,
                                   &d, &b, &e);
    if (parsed != ERR_NOMEM) {
        err_t me;
        err_clear(&me);
        err_code_t known = engine_bulk_check_models(&b, "jobs", &me);
        if (known != ERR_OK && (parsed == ERR_OK || known == ERR_NOMEM)) {
            parsed = known;
            e = me;
        }
    }
    if (parsed != ERR_OK) {
        if (e.code == ERR_NOMEM) {
            api_error(resp, 500, "internal", "out of memory");
            goto out;
        }
        api_json(resp, 400,
                 json_pack("{s:{s:s,s:s,s:o}}", "error", "code", "bad_request", "message",
                           b.nerrors ? "invalid job specs; nothing was enqueued" : e.msg,
                           "details", spec_errors(&b)));
        goto out;
    }
    if (!api_models_check_bulk(a, &b, &warnings, resp) ||   /* issue 23 */
        !api_borrow(a, resp, &be) || !submit(a, be, &b, webhook, resp, &res))
        goto out;
    json_t *jobs = json_array();
    for (size_t i = 0; i < b.nitems; i++)
        json_array_append_new(jobs, json_pack("{s:s,s:o}", "job_id", b.items[i].job_id,
                                              "status_url",
                                              status_url(req, "jobs", b.items[i].job_id)));
    api_json(resp, 202,
             api_warned(json_pack("{s:s,s:o,s:I,s:I,s:I,s:o}", "batch_id", b.batch_id,
                              "status_url", status_url(req, "batches", b.batch_id),
                              "jobs_total", (json_int_t)b.nitems, "new",
                              (json_int_t)res.added, "enqueued", (json_int_t)res.sent,
                              "jobs", jobs), warnings));
out:
    if (be)
        give_back(a, be, resp);
    json_decref(root);
    buf_free(&lines);
    bulk_free(&b);
    free(webhook);
    json_decref(warnings);
}

void api_get_job(api_t *a, const api_request_t *req, const char *id, api_response_t *resp)
{
    api_backends_t *be;
    ledger_job_t job;
    err_t e;
    err_clear(&e);
    memset(&job, 0, sizeof job);
    if (!api_borrow(a, resp, &be))
        return;
    if (find_job(be, id, &job, &e) != ERR_OK)
        api_backend_error(resp, &e);
    else
        api_json(resp, 200, job_json(a, be, req, &job));
    give_back(a, be, resp);
    ledger_job_free(&job);
}

void api_delete_job(api_t *a, const api_request_t *req, const char *id, api_response_t *resp)
{
    api_backends_t *be;
    ledger_job_t job;
    size_t n = 0;
    err_t e;
    err_clear(&e);
    memset(&job, 0, sizeof job);
    if (!api_borrow(a, resp, &be))
        return;
    if (find_job(be, id, &job, &e) != ERR_OK)
        api_backend_error(resp, &e);
    else if (job_state_terminal(job.state))
        api_error(resp, 409, "conflict", "job %s is already %s", id, job_state_name(job.state));
    else if (ledger_cancel(be->ledger, job.batch_id, job.job_id, &n, &e) != ERR_OK)
        api_backend_error(resp, &e);
    else if (n == 0)
        api_error(resp, 409, "conflict", "job %s finished before it could be cancelled", id);
    else
        api_json(resp, 200,
                 json_pack("{s:s,s:s,s:s,s:o}", "job_id", job.job_id, "batch_id", job.batch_id,
                           "state", "cancelled", "status_url", status_url(req, "jobs", job.job_id)));
    give_back(a, be, resp);
    ledger_job_free(&job);
}

#define BATCH_JOBS_MAX 1000

void api_get_batch(api_t *a, const api_request_t *req, const char *id, api_response_t *resp)
{
    api_backends_t *be;
    ledger_batch_t b;
    ledger_job_t *jobs = NULL;
    size_t n = 0;
    err_t e;
    err_clear(&e);
    memset(&b, 0, sizeof b);
    if (!api_borrow(a, resp, &be))
        return;
    ledger_filter_t f = {.batch_id = id, .state = -1, .limit = BATCH_JOBS_MAX + 1};
    if (ledger_get_batch(be->ledger, id, &b, &e) != ERR_OK) {
        if (e.code == ERR_NOTFOUND)
            err_set(&e, ERR_NOTFOUND, "no such batch: %s", id);
        api_backend_error(resp, &e);
    } else if (ledger_list(be->ledger, &f, &jobs, &n, &e) != ERR_OK) {
        api_backend_error(resp, &e);
    } else {
        json_t *states = json_object(), *arr = json_array();
        for (int s = 0; s < JOB__NSTATES; s++)
            json_object_set_new(states, job_state_name((job_state_t)s),
                                json_integer(b.by_state[s]));
        for (size_t i = 0; i < n && i < BATCH_JOBS_MAX; i++)
            json_array_append_new(arr, json_pack("{s:s,s:s,s:o}", "job_id", jobs[i].job_id,
                                                 "state", job_state_name(jobs[i].state),
                                                 "status_url",
                                                 status_url(req, "jobs", jobs[i].job_id)));
        int64_t done = 0;
        for (int s = 0; s < JOB__NSTATES; s++)
            if (job_state_terminal((job_state_t)s))
                done += b.by_state[s];
        json_t *o = json_pack("{s:s,s:s?,s:o,s:I,s:b,s:o,s:o,s:b}", "batch_id", b.batch_id,
                              "source", b.source, "created_at", time_json(b.created_ms),
                              "total", (json_int_t)b.total, "done", done == b.total,
                              "states", states, "jobs", arr, "truncated",
                              n > BATCH_JOBS_MAX);
        json_t *hook = o ? webhook_summary_json(be->ledger, id) : NULL;
        if (hook)
            json_object_set_new(o, "webhook", hook);
        api_json(resp, 200, o);
    }
    give_back(a, be, resp);
    ledger_jobs_free(jobs, n);
    ledger_batch_free(&b);
}

void api_healthz(api_t *a, const api_request_t *req, api_response_t *resp)
{
    api_backends_t *be;
    queue_stats_t st;
    err_t e;
    err_clear(&e);
    if (!api_borrow(a, resp, &be))
        return;
    if (queue_stats(be->queue, &st, &e) != ERR_OK) {
        /* Whatever went wrong, the service is not healthy. */
        if (e.code != ERR_NOMEM && e.code != ERR_INTERNAL)
            e.code = ERR_UNAVAILABLE;
        api_backend_error(resp, &e);
    }
    else
        /* No live worker is not ill health of the API (it still takes
         * jobs, which wait in the queue): reported, never a failure. */
        api_json(resp, 200,
                 json_pack("{s:s,s:{s:I,s:I,s:I,s:I},s:o*}", "status", "ok", "queue", "visible",
                           (json_int_t)st.visible, "inflight", (json_int_t)st.inflight,
                           "delayed", (json_int_t)st.delayed, "dead", (json_int_t)st.dead,
                           "workers", api_workers_health(be, a->now_ms())));
    give_back(a, be, resp);
}

json_t *api_job_json(api_t *a, api_backends_t *be, const api_request_t *req,
                     const ledger_job_t *j)
{
    return job_json(a, be, req, j);
}
