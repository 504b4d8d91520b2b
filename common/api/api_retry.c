/* api_retry — POST /jobs/{id}/retry and POST /batches/{id}/retry (issue 17,
 * item 1): the same re-run as `onesheet retry` (jobs/job_retry.c), under
 * the jobs' same ids as a new run.
 *
 * Body (optional; empty or {}): {"states": ["failed", "cancelled",
 * "filtered", "dead"]} (default ["failed"]).  Answers 202 with
 * {"batch_id", "job_id" (the job route only), "states", "selected",
 * "retried", "enqueued", "estimated_usd", "status_url"} when something was
 * enqueued, 200 with the same when there was nothing to do (a second retry
 * while the first is pending), 404 for an unknown id, 400 for a bad body or
 * state name (nothing changed). */
#include "api/api_internal.h"

#include "jobs/job_retry.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses the optional body into *states; false after answering 400. */
static bool parse_states(const api_request_t *req, unsigned *states, json_t **names,
                         api_response_t *resp)
{
    json_error_t je;
    json_t *body, *list, *v;
    const char *key;
    size_t i;

    *states = LEDGER_RETRY_FAILED;
    *names = json_pack("[s]", "failed");
    if (!req->body || req->body_len == 0)
        return true;
    if (!(body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &je))) {
        api_error(resp, 400, "bad_request", "body: invalid JSON: %s", je.text);
        return false;
    }
    bool ok = json_is_object(body);
    if (!ok)
        api_error(resp, 400, "bad_request", "body: expected an object {\"states\": [...]}");
    json_object_foreach(body, key, v) {
        if (ok && strcmp(key, "states") != 0) {
            api_error(resp, 400, "bad_request", "%.64s: unknown field (only \"states\")",
                      key);
            ok = false;
        }
    }
    list = ok ? json_object_get(body, "states") : NULL;
    if (ok && list) {
        if (!json_is_array(list) || json_array_size(list) == 0) {
            api_error(resp, 400, "bad_request", "states: expected a non-empty list of "
                      "state names (" JOB_RETRY_STATE_NAMES ")");
            ok = false;
        }
        *states = 0;
        json_array_foreach(list, i, v) {
            unsigned bit = ok ? job_retry_state_bit(json_string_value(v)) : 0;
            if (ok && !bit) {
                api_error(resp, 400, "bad_request", "states[%zu]: \"%.40s\" is not a state "
                          "retry takes (" JOB_RETRY_STATE_NAMES ")", i,
                          json_is_string(v) ? json_string_value(v) : "(not a string)");
                ok = false;
            }
            *states |= bit;
        }
        if (ok) {
            json_decref(*names);
            *names = json_incref(list);
        }
    }
    json_decref(body);
    return ok;
}

/* Runs the retry of targets[0..n) and answers. */
static void run(api_t *a, const api_request_t *req, api_backends_t *be,
                const job_retry_target_t *targets, size_t n, unsigned states,
                json_t *names, api_response_t *resp)
{
    job_retry_result_t sum = {0};
    cost_table_t *prices = NULL;
    err_t e;
    char url[300];

    err_clear(&e);
    if (cost_table_default(NULL, &prices, &e) != ERR_OK)
        prices = NULL;   /* no estimate, but the retry still runs */
    sum.priced = prices != NULL;
    for (size_t i = 0; i < n; i++) {
        job_retry_result_t r = {0};
        if (job_retry_plan(be->ledger, &targets[i], states, prices, &r, &e) != ERR_OK ||
            job_retry_run(be->queue, be->ledger, &targets[i], states, &r, &e) != ERR_OK) {
            cost_table_free(prices);
            api_backend_error(resp, &e);
            return;
        }
        sum.selected += r.selected;
        sum.retried += r.retried;
        sum.enqueued += r.enqueued;
        sum.estimated_usd += r.estimated_usd;
        sum.priced = sum.priced && r.priced;
    }
    cost_table_free(prices);
    const job_retry_target_t *t = &targets[0];
    snprintf(url, sizeof url, "%s/%s/%s", req->base_path ? req->base_path : "",
             t->job_id ? "jobs" : "batches", t->job_id ? t->job_id : t->batch_id);
    json_t *o = json_pack("{s:s, s:O, s:I, s:I, s:I, s:s}", "batch_id", t->batch_id,
                          "states", names, "selected", (json_int_t)sum.selected,
                          "retried", (json_int_t)sum.retried,
                          "enqueued", (json_int_t)sum.enqueued, "status_url", url);
    if (!o) {
        api_error(resp, 500, "internal", "out of memory");
        return;
    }
    if (t->job_id)
        json_object_set_new(o, "job_id", json_string(t->job_id));
    json_object_set_new(o, "estimated_usd", sum.priced ? json_real(sum.estimated_usd)
                                                       : json_null());
    api_json(resp, sum.enqueued ? 202 : 200, o);
    (void)a;
}

/* A retry of id as a job (is_job) or a batch. */
static void retry(api_t *a, const api_request_t *req, const char *id, bool is_job,
                  api_response_t *resp)
{
    api_backends_t *be = NULL;
    job_retry_target_t *targets = NULL, one;
    json_t *names = NULL;
    size_t n = 0;
    unsigned states;
    err_t e;

    err_clear(&e);
    if (!parse_states(req, &states, &names, resp)) {
        json_decref(names);
        return;
    }
    if (!api_borrow(a, resp, &be)) {
        json_decref(names);
        return;
    }
    if (is_job) {
        /* A job id in several batches: the newest, as GET /jobs/{id}. */
        ledger_job_t *jobs = NULL;
        size_t nj = 0, best = 0;
        if (ledger_get_jobs(be->ledger, NULL, id, &jobs, &nj, &e) != ERR_OK) {
            api_backend_error(resp, &e);
        } else if (nj == 0) {
            api_error(resp, 404, "not_found", "no such job: %s", id);
        } else {
            for (size_t i = 1; i < nj; i++)
                if (jobs[i].created_ms > jobs[best].created_ms)
                    best = i;
            one.batch_id = jobs[best].batch_id;
            one.job_id = jobs[best].job_id;
            run(a, req, be, &one, 1, states, names, resp);
        }
        ledger_jobs_free(jobs, nj);
    } else if (job_retry_resolve(be->ledger, id, &targets, &n, &e) != ERR_OK ||
               targets[0].job_id) {
        /* A job id is not a batch. */
        if (e.code == ERR_OK || e.code == ERR_NOTFOUND)
            api_error(resp, 404, "not_found", "no such batch: %s", id);
        else
            api_backend_error(resp, &e);
    } else {
        run(a, req, be, targets, n, states, names, resp);
    }
    job_retry_targets_free(targets, n);
    json_decref(names);
    api_pool_release(a->pool, be, resp->status >= 500);
}

void api_post_job_retry(api_t *a, const api_request_t *req, const char *id,
                        api_response_t *resp)
{
    retry(a, req, id, true, resp);
}

void api_post_batch_retry(api_t *a, const api_request_t *req, const char *id,
                          api_response_t *resp)
{
    retry(a, req, id, false, resp);
}
