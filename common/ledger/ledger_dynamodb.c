/* ledger_dynamodb — the ledger in one DynamoDB table ("dynamodb:TABLE"):
 * opening, the clock, and the conditional writes a worker makes on one job
 * (claim, extend, release, succeed, fail).  Batch-wide writes live in
 * ledger_dynamodb_batch.c, reads in ledger_dynamodb_read.c, the table in
 * ledger_dynamodb_table.c, campaign spend in ledger_dynamodb_spend.c;
 * schema/dynamodb/README.md explains the layout.
 *
 * Every state change is one UpdateItem with a ConditionExpression, the same
 * WHERE clause ledger_sqlite.c uses.  ConditionalCheckFailedException is the
 * answer "it is not in the state you expected"; a consistent GetItem then
 * says which state it is in, to report CLAIM_HELD / CLAIM_DONE / ... or a
 * conflict naming the current owner.  Item and read are not atomic, so the
 * explanation can be a moment newer than the refusal, never wrong about
 * the refusal itself. */
#include "ledger/ledger_dynamodb_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LIVE_COND "attribute_exists(#pk)"
#define OWNED_COND LIVE_COND " AND #state = :running AND #lease_owner = :owner"

static err_code_t need(const char *s, const char *what, err_t *err)
{
    return s && *s ? ERR_OK : err_set(err, ERR_INVALID, "ledger: %s is empty", what);
}

int64_t ddb_now_ms(const ddb_ledger_t *d)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + d->clock_offset_ms;
}

/* Starts an update of a job: names the key attribute and, when given, binds
 * the state the job moves to (with its index key), the owner the condition
 * checks and the time. */
static err_code_t begin(ddb_expr_t *x, const char *job, int to_state, const char *owner,
                        int64_t now, err_t *err)
{
    char sk[300];
    err_code_t rc = ERR_OK;

    ddb_expr_init(x);
    ddb_expr_name(x, "pk");
    ddb_expr_name(x, "state");
    ddb_expr_value(x, ":running", ddb_s("running"));
    if (to_state >= 0) {
        rc = ddb_state_key((job_state_t)to_state, job, sk, sizeof sk, err);
        ddb_expr_set(x, "state", ddb_s(job_state_name((job_state_t)to_state)));
        ddb_expr_set(x, "state_key", ddb_s(sk));
    }
    if (owner) {
        ddb_expr_name(x, "lease_owner");
        ddb_expr_value(x, ":owner", ddb_s(owner));
    }
    ddb_expr_set(x, "updated_ms", ddb_n(now));
    return rc;
}

/* Runs the UpdateItem built in x (freed here) under cond.  When the
 * condition fails: ERR_NOTFOUND for a missing job, else ERR_CONFLICT naming
 * the job's state and owner, with the job's item in *seen (optional; caller
 * decrefs) so callers can tell why. */
static err_code_t cond_update(ddb_ledger_t *d, const char *batch, const char *job,
                              ddb_expr_t *x, const char *cond, const char *what,
                              json_t **seen, err_t *err)
{
    json_t *req = json_pack("{s:s, s:o}", "TableName", d->table, "Key",
                            ddb_job_key(batch, job));
    json_t *item = NULL;

    if (seen)
        *seen = NULL;
    err_code_t rc = ddb_update(d->c, d->table, req, x, cond, err);
    if (rc == ERR_OK || !ddb_is_condition_failed(err))
        return rc;
    if ((rc = ddb_get_item(d->c, d->table, ddb_job_key(batch, job), &item, err)) != ERR_OK)
        return rc;
    if (!item)
        return err_set(err, ERR_NOTFOUND, "%s: no job %s in batch %s", what, job, batch);
    const char *state = NULL, *owner = NULL;
    if ((rc = ddb_get_s(item, "state", true, &state, err)) == ERR_OK &&
        (rc = ddb_get_s(item, "lease_owner", false, &owner, err)) == ERR_OK)
        rc = err_set(err, ERR_CONFLICT, "%s: job %s/%s is %s%s%s", what, batch, job, state,
                     owner ? ", lease owner " : "", owner ? owner : "");
    if (rc == ERR_CONFLICT && seen)
        *seen = json_incref(item);
    json_decref(item);
    return rc;
}

/* The state recorded in item, or -1 (the item was read and checked by
 * cond_update, so a bad one only fails to match). */
static int item_state(const json_t *item)
{
    const char *s = NULL;
    return ddb_get_s(item, "state", false, &s, NULL) == ERR_OK ? job_state_parse(s) : -1;
}

static bool item_is(const json_t *item, const char *name, const char *want)
{
    const char *s = NULL;
    if (ddb_get_s(item, name, false, &s, NULL) != ERR_OK)
        return false;
    return s && want ? strcmp(s, want) == 0 : s == want;
}

static err_code_t check_job(const char *batch, const char *job, const char *owner,
                            err_t *err)
{
    err_code_t rc = need(batch, "batch id", err);
    if (rc == ERR_OK)
        rc = need(job, "job id", err);
    if (rc == ERR_OK)
        rc = need(owner, "lease owner", err);
    return rc;
}

static err_code_t dl_claim(ledger_t *l, const char *batch_id, const char *job_id,
                           int run, const char *owner, int lease_s, ledger_claim_t *out,
                           err_t *err)
{
    DDB_ERR_LOCAL(err);
    ddb_ledger_t *d = DDB(l);
    int64_t now = ddb_now_ms(d);
    json_t *seen = NULL;
    ddb_expr_t x;
    err_code_t rc = check_job(batch_id, job_id, owner, err);

    if (rc == ERR_OK && lease_s <= 0)
        rc = err_set(err, ERR_INVALID, "ledger claim: lease of %d s", lease_s);
    if (rc != ERR_OK)
        return rc;
    rc = begin(&x, job_id, JOB_RUNNING, owner, now, err);
    ddb_expr_set(&x, "lease_owner", ddb_s(owner));
    ddb_expr_set(&x, "lease_expires_ms", ddb_n(now + (int64_t)lease_s * 1000));
    ddb_expr_set(&x, "started_ms", ddb_n(now));
    ddb_expr_add(&x, "attempts", 1);
    ddb_expr_value(&x, ":queued", ddb_s("queued"));
    ddb_expr_value(&x, ":now", ddb_n(now));
    if (run < 1)
        run = 1;
    char cond[400];
    snprintf(cond, sizeof cond, LIVE_COND " AND %s AND (#state = :queued OR"
             " (#state = :running AND (#lease_expires_ms <= :now OR"
             " #lease_owner = :owner)))", ddb_run_cond(&x, run));
    if (rc != ERR_OK) {
        ddb_expr_free(&x);
        return rc;
    }
    rc = cond_update(d, batch_id, job_id, &x, cond, "ledger claim", &seen, err);
    int state = seen ? item_state(seen) : -1;
    int cur = seen ? ddb_item_run(seen) : run;
    json_decref(seen);
    if (rc == ERR_OK)
        *out = CLAIM_OK;
    else if (rc == ERR_NOTFOUND)
        *out = CLAIM_NOTFOUND;
    else if (rc != ERR_CONFLICT)
        return rc;
    else if (cur > run)
        *out = CLAIM_STALE;
    else if (cur < run)
        *out = CLAIM_HELD; /* a message ahead of its ledger item: look again later */
    else if (state == JOB_CANCELLED)
        *out = CLAIM_CANCELLED;
    else if (state >= 0 && job_state_terminal((job_state_t)state))
        *out = CLAIM_DONE;
    else
        *out = CLAIM_HELD;
    /* Losing the claim is an outcome, not an error. */
    err_clear(err);
    return ERR_OK;
}

static err_code_t dl_extend(ledger_t *l, const char *batch_id, const char *job_id,
                            const char *owner, int lease_s, err_t *err)
{
    DDB_ERR_LOCAL(err);
    ddb_ledger_t *d = DDB(l);
    int64_t now = ddb_now_ms(d);
    ddb_expr_t x;
    err_code_t rc = check_job(batch_id, job_id, owner, err);

    if (rc == ERR_OK && lease_s <= 0)
        rc = err_set(err, ERR_INVALID, "ledger extend: lease of %d s", lease_s);
    if (rc != ERR_OK)
        return rc;
    rc = begin(&x, job_id, -1, owner, now, err);
    ddb_expr_set(&x, "lease_expires_ms", ddb_n(now + (int64_t)lease_s * 1000));
    return cond_update(d, batch_id, job_id, &x, OWNED_COND, "ledger extend", NULL, err);
}

static err_code_t dl_release(ledger_t *l, const char *batch_id, const char *job_id,
                             const char *owner, const char *code, const char *msg,
                             err_t *err)
{
    DDB_ERR_LOCAL(err);
    ddb_ledger_t *d = DDB(l);
    ddb_expr_t x;
    err_code_t rc = check_job(batch_id, job_id, owner, err);

    if (rc != ERR_OK)
        return rc;
    rc = begin(&x, job_id, JOB_QUEUED, owner, ddb_now_ms(d), err);
    ddb_expr_set(&x, "lease_owner", NULL);
    ddb_expr_set(&x, "lease_expires_ms", ddb_n(0));
    ddb_expr_set(&x, "error_code", ddb_s(code));
    ddb_expr_set(&x, "error_message", ddb_s(msg));
    if (rc != ERR_OK) {
        ddb_expr_free(&x);
        return rc;
    }
    return cond_update(d, batch_id, job_id, &x, OWNED_COND, "ledger release", NULL, err);
}

/* A retried request whose first attempt did land finds the job already in
 * the state it asked for, by the same owner: that is success, not a
 * conflict.  Only a job finished by this owner (finished_by; lease_owner on
 * items finished before finished_by existed) with this outcome counts. */
static bool already_done(const json_t *seen, job_state_t state, const char *owner,
                         const char *attr, const char *value)
{
    if (!seen || item_state(seen) != (int)state || !item_is(seen, attr, value))
        return false;
    return item_is(seen, "finished_by", owner) ||
           (item_is(seen, "finished_by", NULL) && item_is(seen, "lease_owner", owner));
}

/* The lease ends with the run: the owner moves to finished_by, which says
 * which worker did it. */
static err_code_t dl_succeed(ledger_t *l, const char *batch_id, const char *job_id,
                             const char *owner, const ledger_result_t *r, err_t *err)
{
    DDB_ERR_LOCAL(err);
    ddb_ledger_t *d = DDB(l);
    int64_t now = ddb_now_ms(d);
    json_t *seen = NULL;
    ddb_expr_t x;
    err_code_t rc = check_job(batch_id, job_id, owner, err);

    if (rc == ERR_OK && !r)
        rc = err_set(err, ERR_INVALID, "ledger succeed: no result");
    if (rc != ERR_OK)
        return rc;
    const char *hook = NULL;
    if ((rc = ddb_batch_webhook(d, d->c, batch_id, &hook, err)) != ERR_OK)
        return rc;
    rc = begin(&x, job_id, JOB_SUCCEEDED, owner, now, err);
    if (rc == ERR_OK && hook)
        rc = ddb_event_set(&x, hook, JOB_SUCCEEDED, now, err);
    ddb_expr_set(&x, "lease_expires_ms", ddb_n(0));
    ddb_expr_set(&x, "error_code", NULL);
    ddb_expr_set(&x, "error_message", NULL);
    ddb_expr_set(&x, "url", ddb_s(r->url));
    ddb_expr_set(&x, "store_key", ddb_s(r->store_key));
    ddb_expr_set(&x, "sha256", ddb_s(r->sha256));
    ddb_expr_set(&x, "model", ddb_s(r->model));
    ddb_expr_set(&x, "bytes", ddb_n(r->bytes));
    ddb_expr_set(&x, "seed", ddb_n(r->seed));
    ddb_expr_set(&x, "cost_usd", ddb_d(r->cost_usd));
    ddb_expr_set(&x, "finished_ms", ddb_n(now));
    ddb_expr_set(&x, "checksum_alg", ddb_s(r->checksum_alg));
    ddb_expr_set(&x, "checksum", ddb_s(r->checksum));
    ddb_expr_set(&x, "art_key", ddb_s(r->art_key));
    ddb_expr_set(&x, "model_lifecycle", ddb_s(r->model_lifecycle));
    ddb_expr_set(&x, "finished_by", ddb_s(owner));
    ddb_expr_set(&x, "lease_owner", NULL);
    if (rc != ERR_OK) {
        ddb_expr_free(&x);
        return rc;
    }
    rc = cond_update(d, batch_id, job_id, &x, OWNED_COND, "ledger succeed", &seen, err);
    if (rc == ERR_CONFLICT && already_done(seen, JOB_SUCCEEDED, owner, "url", r->url)) {
        err_clear(err);
        rc = ERR_OK;
    }
    json_decref(seen);
    return rc;
}

/* With owner NULL (a dead-lettered message) any live job is marked; one
 * already finished is left alone and ERR_CONFLICT says so. */
static err_code_t dl_fail_lifecycle(ledger_t *l, const char *batch_id, const char *job_id,
                                    int run, const char *owner, job_state_t state,
                                    const char *code, const char *msg, const char *lifecycle,
                                    err_t *err)
{
    DDB_ERR_LOCAL(err);
    ddb_ledger_t *d = DDB(l);
    int64_t now = ddb_now_ms(d);
    json_t *seen = NULL;
    ddb_expr_t x;
    err_code_t rc = check_job(batch_id, job_id, owner ? owner : "-", err);

    if (rc == ERR_OK && state != JOB_FAILED && state != JOB_FILTERED)
        rc = err_set(err, ERR_INVALID, "ledger fail: state %s is not failed or filtered",
                     job_state_name(state));
    if (rc != ERR_OK)
        return rc;
    const char *hook = NULL;
    if ((rc = ddb_batch_webhook(d, d->c, batch_id, &hook, err)) != ERR_OK)
        return rc;
    rc = begin(&x, job_id, state, owner, now, err);
    if (rc == ERR_OK && hook)
        rc = ddb_event_set(&x, hook, state, now, err);
    ddb_expr_set(&x, "lease_expires_ms", ddb_n(0));
    ddb_expr_set(&x, "error_code", ddb_s(code));
    ddb_expr_set(&x, "error_message", ddb_s(msg));
    ddb_expr_set(&x, "finished_ms", ddb_n(now));
    ddb_expr_set(&x, "model_lifecycle", ddb_s(lifecycle));
    if (owner)
        ddb_expr_set(&x, "finished_by", ddb_s(owner));
    ddb_expr_set(&x, "lease_owner", NULL);
    char dead_cond[300] = "";
    if (!owner) {
        ddb_expr_value(&x, ":queued", ddb_s("queued"));
        snprintf(dead_cond, sizeof dead_cond, LIVE_COND " AND #state IN (:queued, :running)"
                 " AND %s", ddb_run_cond(&x, run < 1 ? 1 : run));
    }
    if (rc != ERR_OK) {
        ddb_expr_free(&x);
        return rc;
    }
    rc = cond_update(d, batch_id, job_id, &x, owner ? OWNED_COND : dead_cond,
                     "ledger fail", &seen, err);
    if (rc == ERR_CONFLICT && owner &&
        already_done(seen, state, owner, "error_code", code)) {
        err_clear(err);
        rc = ERR_OK;
    }
    json_decref(seen);
    return rc;
}

static err_code_t dl_fail(ledger_t *l, const char *batch_id, const char *job_id,
                          int run, const char *owner, job_state_t state, const char *code,
                          const char *msg, err_t *err)
{
    return dl_fail_lifecycle(l, batch_id, job_id, run, owner, state, code, msg, NULL, err);
}

/* No explanation is read here: cancel decides itself what a refusal means
 * (a finished job is not an error; a batch-wide cancel just skips it). */
err_code_t ddb_cancel_one(aws_client_t *c, ddb_ledger_t *d, const char *batch,
                          const char *job, const char *hook, err_t *err)
{
    int64_t now = ddb_now_ms(d);
    json_t *req = json_pack("{s:s, s:o}", "TableName", d->table, "Key",
                            ddb_job_key(batch, job));
    ddb_expr_t x;
    err_code_t rc = begin(&x, job, JOB_CANCELLED, NULL, now, err);

    if (rc == ERR_OK && hook)
        rc = ddb_event_set(&x, hook, JOB_CANCELLED, now, err);
    ddb_expr_set(&x, "lease_expires_ms", ddb_n(0));
    ddb_expr_set(&x, "finished_ms", ddb_n(now));
    ddb_expr_value(&x, ":queued", ddb_s("queued"));
    if (rc != ERR_OK) {
        ddb_expr_free(&x);
        json_decref(req);
        return rc;
    }
    return ddb_update(c, d->table, req, &x, LIVE_COND " AND #state IN (:queued, :running)",
                      err);
}

static void dl_close(ledger_t *l)
{
    ddb_ledger_t *d = DDB(l);
    ddb_outbox_free(d);
    aws_client_free(d->c);
    free(d);
}

static const ledger_ops_t dl_ops = {
    .add_batch = ddb_add_batch,
    .pending_enqueue = ddb_pending_enqueue,
    .mark_enqueued = ddb_mark_enqueued,
    .claim = dl_claim,
    .extend = dl_extend,
    .release = dl_release,
    .succeed = dl_succeed,
    .fail = dl_fail,
    .cancel = ddb_cancel,
    .get_jobs = ddb_get_jobs,
    .get_batch = ddb_get_batch,
    .list = ddb_list,
    .list_batches = ddb_list_batches,
    .close = dl_close,
    .spend_add = ddb_spend_add,
    .spend_get = ddb_spend_get,
    .retry = ddb_retry,
    /* worker registry */
    .worker_beat = ddb_worker_beat,
    .worker_leave = ddb_worker_leave,
    .workers_list = ddb_workers_list,
    /* webhooks */
    .set_batch_webhook = ddb_set_batch_webhook,
    .outbox_take = ddb_outbox_take,
    .outbox_record = ddb_outbox_record,
    .outbox_summary = ddb_outbox_summary,
    /* review and lineage */
    .review = ddb_review,
    .reviews = ddb_reviews,
    .link = ddb_link,
    /* shared quota */
    .quota_get = ddb_quota_get,
    .quota_put = ddb_quota_put,
    .quota_list = ddb_quota_list,
    .fail_lifecycle = dl_fail_lifecycle,
};

/* DynamoDB's own rule, checked here so a typo in the configuration is a
 * configuration error rather than a ValidationException on first use. */
bool ddb_table_name_ok(const char *t)
{
    size_t n = t ? strlen(t) : 0;
    if (n < 3 || n > 255)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-",
                    t[i]))
            return false;
    return true;
}

ledger_t *ledger_dynamodb_open(aws_env_t *env, const char *table, err_t *err)
{
    ddb_ledger_t *d;

    if (!env) {
        err_set(err, ERR_INTERNAL, "ledger dynamodb: no AWS environment");
        return NULL;
    }
    if (!ddb_table_name_ok(table)) {
        err_set(err, ERR_CONFIG, "ledger \"dynamodb:%s\": a table name is 3 to 255 of "
                "A-Z a-z 0-9 _ . -", table ? table : "");
        return NULL;
    }
    if (!(d = calloc(1, sizeof *d))) {
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (!(d->c = aws_client_new(env, ENDPOINT_DYNAMODB, err))) {
        free(d);
        return NULL;
    }
    d->base.ops = &dl_ops;
    d->env = env;
    d->writers = DDB_WRITERS;
    snprintf(d->table, sizeof d->table, "%s", table);
    return &d->base;
}

err_code_t ledger_dynamodb_set_clock_offset_ms(ledger_t *l, int64_t offset_ms)
{
    if (!l || l->ops != &dl_ops)
        return ERR_INVALID;
    DDB(l)->clock_offset_ms = offset_ms;
    return ERR_OK;
}

err_code_t ledger_dynamodb_set_writers(ledger_t *l, int writers)
{
    if (!l || l->ops != &dl_ops || writers < 1 || writers > 64)
        return ERR_INVALID;
    DDB(l)->writers = writers;
    return ERR_OK;
}

/* ---- Item keys ---- */

json_t *ddb_job_key(const char *batch, const char *job)
{
    buf_t sk = BUF_INIT;
    json_t *k = NULL;
    if (job && buf_appendf(&sk, DDB_JOB_SK_PREFIX "%s", job) == ERR_OK)
        k = ddb_key(batch, (const char *)sk.data);
    buf_free(&sk);
    return k;
}

static err_code_t fits(int len, size_t cap, const char *what, err_t *err)
{
    if (len < 0 || (size_t)len >= cap)
        return err_set(err, ERR_INVALID, "dynamodb ledger: %s key too long", what);
    return ERR_OK;
}

err_code_t ddb_job_sk(const char *job, char *out, size_t cap, err_t *err)
{
    return fits(snprintf(out, cap, DDB_JOB_SK_PREFIX "%s", job), cap, "job", err);
}

/* Fixed-width numbers make string order numeric order. */
err_code_t ddb_line_key(int line, const char *job, char *out, size_t cap, err_t *err)
{
    return fits(snprintf(out, cap, "%010d#%s", line < 0 ? 0 : line, job), cap, "line",
                err);
}

err_code_t ddb_state_key(job_state_t s, const char *job, char *out, size_t cap,
                         err_t *err)
{
    return fits(snprintf(out, cap, "%s#%s", job_state_name(s), job), cap, "state", err);
}

err_code_t ddb_batch_key(int64_t created_ms, const char *batch, char *out, size_t cap,
                         err_t *err)
{
    return fits(snprintf(out, cap, "%013" PRId64 "#%s", created_ms < 0 ? 0 : created_ms,
                         batch), cap, "batch", err);
}
