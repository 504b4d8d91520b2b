/* ledger — job state names and the frees shared by every back-end; see
 * ledger.h.  The back-ends live in ledger_sqlite.c and ledger_dynamodb*.c,
 * the table that picks one in ledger_backends.c. */
#include "ledger/ledger.h"

#include <stdlib.h>
#include <string.h>

static const char *const state_names[JOB__NSTATES] = {
    [JOB_QUEUED] = "queued",       [JOB_RUNNING] = "running",
    [JOB_SUCCEEDED] = "succeeded", [JOB_FAILED] = "failed",
    [JOB_FILTERED] = "filtered",   [JOB_CANCELLED] = "cancelled",
};

/* Returns a static name; "unknown" for a value outside the enum. */
const char *job_state_name(job_state_t s)
{
    return (unsigned)s < JOB__NSTATES ? state_names[s] : "unknown";
}

/* Returns the state named s (exact, lower case), or -1. */
int job_state_parse(const char *s)
{
    for (int i = 0; s && i < JOB__NSTATES; i++)
        if (strcmp(s, state_names[i]) == 0)
            return i;
    return -1;
}

bool job_state_terminal(job_state_t s)
{
    return s == JOB_SUCCEEDED || s == JOB_FAILED || s == JOB_FILTERED ||
           s == JOB_CANCELLED;
}

json_t *ledger_job_error_json(const ledger_job_t *j)
{
    if (!j->error_code && !j->error_message)
        return NULL;
    json_t *e = json_object();
    if (e && j->error_code)
        json_object_set_new(e, "code", json_string(j->error_code));
    if (e && j->error_message)
        json_object_set_new(e, "message", json_string(j->error_message));
    return e;
}

/* One run as {"run", "state", "claims", "started_ms", "finished_ms",
 * "error": {...}, "url"} (members only when recorded). */
static json_t *run_json(int run, job_state_t state, int claims, int64_t started,
                        int64_t finished, const char *code, const char *msg,
                        const char *url)
{
    json_t *o = json_pack("{s:i, s:s, s:i}", "run", run, "state", job_state_name(state),
                          "claims", claims);
    if (!o)
        return NULL;
    if (started)
        json_object_set_new(o, "started_ms", json_integer(started));
    if (finished)
        json_object_set_new(o, "finished_ms", json_integer(finished));
    if (code || msg) {
        json_t *e = json_object();
        if (code)
            json_object_set_new(e, "code", json_string(code));
        if (msg)
            json_object_set_new(e, "message", json_string(msg));
        json_object_set_new(o, "error", e);
    }
    if (url)
        json_object_set_new(o, "url", json_string(url));
    return o;
}

json_t *ledger_job_runs_json(const ledger_job_t *j)
{
    json_t *a = json_array();
    int claims = j->attempts;

    if (!a)
        return NULL;
    for (size_t i = 0; i < j->nhistory; i++) {
        const ledger_attempt_t *h = &j->history[i];
        claims -= h->claims;
        json_array_append_new(a, run_json(h->run, h->state, h->claims, h->started_ms,
                                          h->finished_ms, h->error_code, h->error_message,
                                          h->url));
    }
    json_array_append_new(a, run_json(j->run > 0 ? j->run : 1, j->state,
                                      claims < 0 ? 0 : claims, j->started_ms,
                                      j->finished_ms, j->error_code, j->error_message,
                                      j->url));
    return a;
}

/* Frees the strings j owns and zeroes it; the struct itself is the
 * caller's.  NULL is fine. */
void ledger_job_free(ledger_job_t *j)
{
    if (!j)
        return;
    free(j->batch_id);
    free(j->job_id);
    free(j->spec_json);
    free(j->lease_owner);
    free(j->finished_by);
    free(j->error_code);
    free(j->error_message);
    free(j->url);
    free(j->store_key);
    free(j->sha256);
    free(j->model);
    free(j->checksum_alg);
    free(j->checksum);
    free(j->art_key);
    free(j->model_lifecycle);
    for (size_t i = 0; i < j->nhistory; i++) {
        free(j->history[i].error_code);
        free(j->history[i].error_message);
        free(j->history[i].url);
    }
    free(j->history);
    memset(j, 0, sizeof *j);
}

bool ledger_retry_selects(const ledger_job_t *j, unsigned states)
{
    switch (j->state) {
    case JOB_FAILED:
        return (states & LEDGER_RETRY_FAILED) ||
               ((states & LEDGER_RETRY_DEAD) && j->error_code &&
                strcmp(j->error_code, LEDGER_DEAD_LETTER) == 0);
    case JOB_CANCELLED:
        return (states & LEDGER_RETRY_CANCELLED) != 0;
    case JOB_FILTERED:
        return (states & LEDGER_RETRY_FILTERED) != 0;
    default:
        return false;
    }
}

/* Frees the strings b owns and zeroes it.  NULL is fine. */
void ledger_batch_free(ledger_batch_t *b)
{
    if (!b)
        return;
    free(b->batch_id);
    free(b->source);
    memset(b, 0, sizeof *b);
}

void ledger_jobs_free(ledger_job_t *jobs, size_t n)
{
    if (!jobs)
        return;
    for (size_t i = 0; i < n; i++)
        ledger_job_free(&jobs[i]);
    free(jobs);
}

void ledger_batches_free(ledger_batch_t *b, size_t n)
{
    if (!b)
        return;
    for (size_t i = 0; i < n; i++)
        ledger_batch_free(&b[i]);
    free(b);
}

/* Frees the strings w owns and zeroes it.  NULL is fine. */
void ledger_worker_free(ledger_worker_t *w)
{
    if (!w)
        return;
    free(w->id);
    free(w->host);
    free(w->version);
    free(w->models);
    memset(w, 0, sizeof *w);
}

void ledger_workers_free(ledger_worker_t *w, size_t n)
{
    if (!w)
        return;
    for (size_t i = 0; i < n; i++)
        ledger_worker_free(&w[i]);
    free(w);
}

bool ledger_worker_alive(const ledger_worker_t *w, int64_t now_ms)
{
    int64_t beat = w->beat_ms > 0 ? w->beat_ms : 10000;
    return now_ms - w->last_seen_ms <= LEDGER_WORKER_STALE_BEATS * beat;
}

void ledger_quota_free(ledger_quota_t *q)
{
    if (!q)
        return;
    free(q->key);
    free(q->state);
    memset(q, 0, sizeof *q);
}

void ledger_quotas_free(ledger_quota_t *q, size_t n)
{
    for (size_t i = 0; q && i < n; i++)
        ledger_quota_free(&q[i]);
    free(q);
}
