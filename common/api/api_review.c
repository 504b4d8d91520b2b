/* api_review — the proof-to-paid-poster loop over HTTP (issue 20):
 *
 *   POST /jobs/{id}/approve, POST /jobs/{id}/reject   body optional:
 *       {"by": "WHO"} (default "api").  200 with the job JSON (its "review"
 *       member set); 409 not_succeeded when the job is not succeeded; 404.
 *   POST /batches/{id}/promote   body {"model": "...", "only": "approved" |
 *       "all" (default approved), "budget_usd": N, "dry_run": bool}.  202
 *       with {"batch", "jobs", "new", "enqueued", "invalid", "estimated_usd",
 *       "source_batch", "status_url"} (submit --json's shape, plus the
 *       estimate); 200 with the same when nothing was enqueued (a repeat,
 *       or a dry run with "dry_run": true); 400 naming the field for bad
 *       input (unknown or retired model, nothing approved); 422
 *       over_budget; 404 for an unknown batch.  Nothing is written on any
 *       refusal.
 *
 * And the job JSON's review members (api_review_json_add), which GET
 * /jobs/{id} shows. */
#include "api/api_internal.h"

#include "review/promote.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BY_MAX 128

void api_review_json_add(api_backends_t *be, json_t *o, const ledger_job_t *j)
{
    ledger_review_t *r = NULL;
    size_t n = 0;
    err_t e;

    err_clear(&e);
    if (!ledger_has_review(be->ledger) ||
        ledger_reviews(be->ledger, j->batch_id, j->job_id, &r, &n, &e) != ERR_OK)
        n = 0; /* a job shows without its marks rather than not at all */
    ledger_review_json_add(o, n ? &r[0] : NULL, j->spec_json);
    ledger_reviews_free(r, n);
}

/* Loads the optional JSON object body into *body (NULL when empty).
 * false after answering 400. */
static bool load_body(const api_request_t *req, json_t **body, bool required,
                      api_response_t *resp)
{
    json_error_t je;

    *body = NULL;
    if (!req->body || req->body_len == 0) {
        if (required)
            api_error(resp, 400, "bad_request", "body: expected a JSON object");
        return !required;
    }
    if (!(*body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &je))) {
        api_error(resp, 400, "bad_request", "body: invalid JSON: %s", je.text);
        return false;
    }
    if (!json_is_object(*body)) {
        api_error(resp, 400, "bad_request", "body: expected a JSON object");
        return false;
    }
    return true;
}

/* false after answering 400 when body has a member not in allowed. */
static bool only_fields(json_t *body, const char *const *allowed, size_t n,
                        api_response_t *resp)
{
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v) {
        size_t i;
        for (i = 0; i < n && strcmp(key, allowed[i]); i++)
            ;
        if (i == n) {
            api_error(resp, 400, "bad_request", "%.64s: unknown field", key);
            return false;
        }
    }
    return true;
}

static void mark(api_t *a, const api_request_t *req, const char *id, const char *what,
                 api_response_t *resp)
{
    static const char *const allowed[] = {"by"};
    api_backends_t *be = NULL;
    ledger_job_t *jobs = NULL;
    size_t nj = 0, best = 0;
    const char *by = "api";
    json_t *body = NULL;
    err_t e;

    err_clear(&e);
    if (!load_body(req, &body, false, resp) ||
        (body && !only_fields(body, allowed, 1, resp)))
        goto out;
    if (body && json_object_get(body, "by")) {
        by = json_string_value(json_object_get(body, "by"));
        if (!by || !*by || strlen(by) > BY_MAX) {
            api_error(resp, 400, "bad_request", "by: expected a string of 1 to %d "
                      "characters", BY_MAX);
            goto out;
        }
    }
    if (!api_borrow(a, resp, &be))
        goto out;
    if (ledger_get_jobs(be->ledger, NULL, id, &jobs, &nj, &e) != ERR_OK) {
        api_backend_error(resp, &e);
        goto out;
    }
    if (nj == 0) {
        api_error(resp, 404, "not_found", "no such job: %s", id);
        goto out;
    }
    /* A job id in several batches: the newest, as GET /jobs/{id}. */
    for (size_t i = 1; i < nj; i++)
        if (jobs[i].created_ms > jobs[best].created_ms)
            best = i;
    if (ledger_review(be->ledger, jobs[best].batch_id, jobs[best].job_id, what, by,
                      (int64_t)time(NULL) * 1000, &e) != ERR_OK) {
        if (e.code == ERR_CONFLICT)
            api_error(resp, 409, "not_succeeded", "%s", e.msg);
        else
            api_backend_error(resp, &e);
        goto out;
    }
    api_json(resp, 200, api_job_json(a, be, req, &jobs[best]));
out:
    if (be)
        api_pool_release(a->pool, be, resp->status >= 500);
    ledger_jobs_free(jobs, nj);
    json_decref(body);
}

void api_post_job_approve(api_t *a, const api_request_t *req, const char *id,
                          api_response_t *resp)
{
    mark(a, req, id, LEDGER_APPROVED, resp);
}

void api_post_job_reject(api_t *a, const api_request_t *req, const char *id,
                         api_response_t *resp)
{
    mark(a, req, id, LEDGER_REJECTED, resp);
}

/* Reads the promote body into o and *dry; false after answering 400. */
static bool promote_body(json_t *body, promote_opts_t *o, bool *dry, api_response_t *resp)
{
    static const char *const allowed[] = {"model", "only", "budget_usd", "dry_run"};
    json_t *v;

    if (!only_fields(body, allowed, 4, resp))
        return false;
    if (!(o->model = json_string_value(json_object_get(body, "model"))) || !*o->model) {
        api_error(resp, 400, "bad_request", "model: required, the model to promote to");
        return false;
    }
    if ((v = json_object_get(body, "only"))) {
        const char *s = json_string_value(v);
        if (!s || (strcmp(s, "approved") && strcmp(s, "all"))) {
            api_error(resp, 400, "bad_request", "only: expected \"approved\" or \"all\"");
            return false;
        }
        o->only_approved = strcmp(s, "approved") == 0;
    }
    if ((v = json_object_get(body, "budget_usd"))) {
        if (!json_is_number(v) || !(json_number_value(v) >= 0 &&
                                    json_number_value(v) <= 1e9)) {
            api_error(resp, 400, "bad_request", "budget_usd: expected a number of USD from "
                      "0 to 1e9");
            return false;
        }
        o->budget_usd = json_number_value(v);
    }
    if ((v = json_object_get(body, "dry_run"))) {
        if (!json_is_boolean(v)) {
            api_error(resp, 400, "bad_request", "dry_run: expected true or false");
            return false;
        }
        *dry = json_is_true(v);
    }
    return true;
}

void api_post_batch_promote(api_t *a, const api_request_t *req, const char *id,
                            api_response_t *resp)
{
    promote_opts_t o = {.batch_id = id, .only_approved = true, .budget_usd = -1};
    promote_plan_t p;
    submit_result_t res = {0};
    cost_table_t *prices = NULL;
    api_backends_t *be = NULL;
    json_t *body = NULL;
    bool dry = false;
    char url[300];
    err_t e;

    err_clear(&e);
    memset(&p, 0, sizeof p);
    if (!load_body(req, &body, true, resp) || !promote_body(body, &o, &dry, resp))
        goto out;
    if (cost_table_default(NULL, &prices, &e) != ERR_OK ||
        api_pool_acquire(a->pool, &be, &e) != ERR_OK) {
        api_backend_error(resp, &e);
        goto out;
    }
    switch (promote_plan(be->ledger, &o, prices, &p, &e)) {
    case ERR_OK: break;
    case ERR_NOTFOUND: api_error(resp, 404, "not_found", "no such batch: %s", id); goto out;
    case ERR_INVALID: api_error(resp, 400, "bad_request", "%s", e.msg); goto out;
    case ERR_TOOBIG: api_error(resp, 422, "over_budget", "%s", e.msg); goto out;
    default: api_backend_error(resp, &e); goto out;
    }
    if (!dry && p.b.nitems && promote_commit(be->queue, be->ledger, &p, &res, &e) != ERR_OK) {
        api_backend_error(resp, &e);
        goto out;
    }
    const char *batch = p.b.nitems ? p.b.batch_id : p.already_batch;
    snprintf(url, sizeof url, "%s/batches/%s", req->base_path ? req->base_path : "", batch);
    json_t *out = json_pack("{s:s, s:I, s:I, s:I, s:i, s:f, s:s, s:s}", "batch", batch,
                            "jobs", (json_int_t)p.b.nitems,
                            "new", (json_int_t)(dry ? p.b.nitems : res.added),
                            "enqueued", (json_int_t)res.sent, "invalid", 0,
                            "estimated_usd", p.usd, "source_batch", id, "status_url", url);
    if (out && dry)
        json_object_set_new(out, "dry_run", json_true());
    if (out && p.seeds_mapped)
        json_object_set_new(out, "seeds_mapped", json_integer((json_int_t)p.seeds_mapped));
    api_json(resp, res.sent ? 202 : 200, out);
out:
    if (be)
        api_pool_release(a->pool, be, resp->status >= 500);
    promote_plan_free(&p);
    cost_table_free(prices);
    json_decref(body);
}
