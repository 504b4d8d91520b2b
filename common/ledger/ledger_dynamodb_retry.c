/* ledger_dynamodb_retry — the DynamoDB ledger's runs and attempt history
 * (issue 17, item 1): retry, and the run and history attributes of a job
 * item (schema/dynamodb/README.md).
 *
 * A job item carries "run" (absent on items written before runs existed:
 * that is run 1) and "history", a list of maps, one per finished run that
 * a retry re-opened.  A retry of one job is one UpdateItem: it re-opens the
 * job as run + 1 and appends the finished run to history with list_append,
 * under the condition that the job is still in the state and at the run
 * that were read.  Two retries racing both read run N; one writes N + 1,
 * the other's condition fails, so a run is re-opened (and archived) once. */
#include "ledger/ledger_dynamodb_internal.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static err_code_t nomem(err_t *err) { return err_set(err, ERR_NOMEM, "out of memory"); }

int ddb_item_run(const json_t *item)
{
    int64_t run = 1;
    if (ddb_get_n(item, "run", false, &run, NULL) != ERR_OK || run < 1 || run > 1000000)
        return 1;
    return (int)run;
}

const char *ddb_run_cond(ddb_expr_t *x, int run)
{
    ddb_expr_name(x, "run");
    ddb_expr_value(x, ":at_run", ddb_n(run));
    return run == 1 ? "(attribute_not_exists(#run) OR #run = :at_run)"
                    : "#run = :at_run";
}

err_code_t ddb_history_from_item(const json_t *item, ledger_job_t *j, err_t *err)
{
    json_t *h = json_object_get(item, "history"), *list, *e;
    size_t i;

    if (!h || json_is_true(json_object_get(h, "NULL")))
        return ERR_OK;
    if (!(list = json_object_get(h, "L")) || !json_is_array(list))
        return err_set(err, ERR_INVALID, "dynamodb item: attribute history is not a list");
    if (json_array_size(list) == 0)
        return ERR_OK;
    if (!(j->history = calloc(json_array_size(list), sizeof *j->history)))
        return nomem(err);
    json_array_foreach(list, i, e) {
        const json_t *m = json_object_get(e, "M");
        ledger_attempt_t *a = &j->history[j->nhistory];
        const char *state = NULL;
        int64_t run = 0, claims = 0;
        err_code_t rc = m && json_is_object(m) ? ERR_OK
            : err_set(err, ERR_INVALID, "dynamodb item: history[%zu] is not a map", i);
        if (rc == ERR_OK)
            rc = ddb_get_n(m, "run", true, &run, err);
        if (rc == ERR_OK)
            rc = ddb_get_s(m, "state", true, &state, err);
        if (rc == ERR_OK)
            rc = ddb_get_n(m, "claims", false, &claims, err);
        if (rc == ERR_OK)
            rc = ddb_dup_s(m, "error_code", false, &a->error_code, err);
        if (rc == ERR_OK)
            rc = ddb_dup_s(m, "error_message", false, &a->error_message, err);
        if (rc == ERR_OK)
            rc = ddb_dup_s(m, "url", false, &a->url, err);
        if (rc == ERR_OK)
            rc = ddb_get_n(m, "started_ms", false, &a->started_ms, err);
        if (rc == ERR_OK)
            rc = ddb_get_n(m, "finished_ms", false, &a->finished_ms, err);
        j->nhistory++;
        if (rc == ERR_OK && (job_state_parse(state) < 0 || run < 1 || run > 1000000 ||
                             claims < 0 || claims > 1000000))
            rc = err_set(err, ERR_INVALID, "dynamodb item: history[%zu] is out of range", i);
        if (rc != ERR_OK)
            return rc;
        a->run = (int)run;
        a->state = (job_state_t)job_state_parse(state);
        a->claims = (int)claims;
    }
    return ERR_OK;
}

/* The history entry archiving j's finished run: {"L": [{"M": {...}}]}. */
static json_t *history_entry(const ledger_job_t *j)
{
    int claims = j->attempts;
    for (size_t i = 0; i < j->nhistory; i++)
        claims -= j->history[i].claims;
    json_t *m = json_pack("{s:o, s:o, s:o, s:o, s:o}", "run", ddb_n(j->run),
                          "state", ddb_s(job_state_name(j->state)),
                          "claims", ddb_n(claims < 0 ? 0 : claims),
                          "started_ms", ddb_n(j->started_ms),
                          "finished_ms", ddb_n(j->finished_ms));
    if (m && j->error_code)
        json_object_set_new(m, "error_code", ddb_s(j->error_code));
    if (m && j->error_message)
        json_object_set_new(m, "error_message", ddb_s(j->error_message));
    if (m && j->url)
        json_object_set_new(m, "url", ddb_s(j->url));
    return m ? json_pack("{s:[{s:o}]}", "L", "M", m) : NULL;
}

/* Re-opens j (as read) when it is still in its state at its run, through
 * client c; *done says whether this call did. */
static err_code_t retry_one(aws_client_t *c, ddb_ledger_t *d, const ledger_job_t *j,
                            bool *done, err_t *err)
{
    int64_t now = ddb_now_ms(d);
    char sk[300], cond[300];
    json_t *req = json_pack("{s:s, s:o}", "TableName", d->table, "Key",
                            ddb_job_key(j->batch_id, j->job_id));
    ddb_expr_t x;
    err_code_t rc = ddb_state_key(JOB_QUEUED, j->job_id, sk, sizeof sk, err);

    *done = false;
    ddb_expr_init(&x);
    ddb_expr_name(&x, "pk");
    ddb_expr_name(&x, "state");
    ddb_expr_value(&x, ":was", ddb_s(job_state_name(j->state)));
    snprintf(cond, sizeof cond, "attribute_exists(#pk) AND #state = :was AND %s",
             ddb_run_cond(&x, j->run < 1 ? 1 : j->run));
    ddb_expr_set(&x, "state", ddb_s("queued"));
    ddb_expr_set(&x, "state_key", ddb_s(sk));
    ddb_expr_set(&x, "run", ddb_n((j->run < 1 ? 1 : j->run) + 1));
    ddb_expr_set(&x, "enqueued_ms", ddb_n(0));
    ddb_expr_set(&x, "lease_expires_ms", ddb_n(0));
    ddb_expr_set(&x, "started_ms", ddb_n(0));
    ddb_expr_set(&x, "finished_ms", ddb_n(0));
    ddb_expr_set(&x, "bytes", ddb_n(0));
    ddb_expr_set(&x, "seed", ddb_n(0));
    ddb_expr_set(&x, "cost_usd", ddb_d(0));
    ddb_expr_set(&x, "updated_ms", ddb_n(now));
    static const char *const cleared[] = {"lease_owner", "error_code", "error_message",
                                          "url", "store_key", "sha256", "model",
                                          "checksum_alg", "checksum", "art_key",
                                          "finished_by", "model_lifecycle"};
    for (size_t i = 0; i < sizeof cleared / sizeof *cleared; i++)
        ddb_expr_set(&x, cleared[i], NULL);
    ddb_expr_append(&x, "history", history_entry(j));
    if (rc != ERR_OK) {
        ddb_expr_free(&x);
        json_decref(req);
        return rc;
    }
    rc = ddb_update(c, d->table, req, &x, cond, err);
    if (rc == ERR_OK) {
        *done = true;
    } else if (ddb_is_condition_failed(err)) {
        /* Another retry, or the job moved on: not this call's to re-open. */
        err_clear(err);
        rc = ERR_OK;
    }
    return rc;
}

/* The jobs one state's retry re-opens, for ddb_parallel. */
typedef struct {
    ddb_ledger_t *d;
    const ledger_job_t *jobs;
    const size_t *todo;      /* indexes into jobs of the selected ones */
    atomic_size_t done;
} reopen_t;

static err_code_t reopen_task(aws_client_t *c, size_t i, void *ud, err_t *err)
{
    reopen_t *r = ud;
    bool done = false;
    err_code_t rc = retry_one(c, r->d, &r->jobs[r->todo[i]], &done, err);
    if (rc == ERR_OK && done)
        atomic_fetch_add(&r->done, 1);
    return rc;
}

/* Re-opens every job of the batch in state s that states selects, one
 * conditional write per job with up to the ledger's writers in flight, as
 * cancel does: a 1,000-job retry is not 1,000 round trips in a row. */
static err_code_t retry_state(ledger_t *l, const char *batch_id, job_state_t s,
                              unsigned states, size_t *n, err_t *err)
{
    ledger_filter_t f = {.batch_id = batch_id, .state = (int)s};
    ledger_job_t *jobs = NULL;
    size_t got = 0, ntodo = 0, *todo = NULL;
    reopen_t r = {.d = DDB(l)};
    err_code_t rc = ddb_list(l, &f, &jobs, &got, err);

    if (rc == ERR_OK && !(todo = malloc((got ? got : 1) * sizeof *todo)))
        rc = nomem(err);
    for (size_t i = 0; rc == ERR_OK && i < got; i++)
        if (ledger_retry_selects(&jobs[i], states))
            todo[ntodo++] = i;
    r.jobs = jobs;
    r.todo = todo;
    atomic_init(&r.done, 0);
    if (rc == ERR_OK && ntodo)
        rc = ddb_parallel(DDB(l), ntodo, reopen_task, &r, err);
    *n += atomic_load(&r.done);
    free(todo);
    ledger_jobs_free(jobs, got);
    return rc;
}

err_code_t ddb_retry(ledger_t *l, const char *batch_id, const char *job_id,
                     unsigned states, size_t *n, err_t *err)
{
    DDB_ERR_LOCAL(err);
    ddb_ledger_t *d = DDB(l);
    err_code_t rc = ERR_OK;

    *n = 0;
    if (!batch_id || !*batch_id)
        return err_set(err, ERR_INVALID, "ledger: batch id is empty");
    if (!states || (states & ~LEDGER_RETRY_ALL))
        return err_set(err, ERR_INVALID, "ledger retry: no states selected");
    if (job_id) {
        json_t *item = NULL;
        ledger_job_t j;
        bool done = false;
        if ((rc = ddb_get_item(d->c, d->table, ddb_job_key(batch_id, job_id), &item,
                               err)) != ERR_OK)
            return rc;
        if (!item)
            return err_set(err, ERR_NOTFOUND, "ledger retry: no job %s in batch %s",
                           job_id, batch_id);
        rc = ddb_job_from_item(item, &j, err);
        json_decref(item);
        if (rc != ERR_OK)
            return rc;
        if (ledger_retry_selects(&j, states) &&
            (rc = retry_one(d->c, d, &j, &done, err)) == ERR_OK)
            *n = done;
        ledger_job_free(&j);
        return rc;
    }
    json_t *batch = NULL;
    if ((rc = ddb_get_item(d->c, d->table, ddb_key(batch_id, DDB_BATCH_SK), &batch,
                           err)) != ERR_OK)
        return rc;
    json_decref(batch);
    if (!batch)
        return err_set(err, ERR_NOTFOUND, "ledger retry: no batch %s", batch_id);
    if (states & (LEDGER_RETRY_FAILED | LEDGER_RETRY_DEAD))
        rc = retry_state(l, batch_id, JOB_FAILED, states, n, err);
    if (rc == ERR_OK && (states & LEDGER_RETRY_CANCELLED))
        rc = retry_state(l, batch_id, JOB_CANCELLED, states, n, err);
    if (rc == ERR_OK && (states & LEDGER_RETRY_FILTERED))
        rc = retry_state(l, batch_id, JOB_FILTERED, states, n, err);
    return rc;
}
