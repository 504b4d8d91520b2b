/* ledger_dynamodb_batch — the DynamoDB ledger's writes over many jobs:
 * add_batch, pending_enqueue, mark_enqueued and cancel, and the small
 * thread pool that keeps several conditional writes in flight.
 *
 * DynamoDB has no multi-item conditional write that dynalite (the test
 * emulator) serves, and BatchWriteItem cannot be conditional, so every job
 * is its own conditional PutItem / UpdateItem.  Correctness comes from the
 * conditions (a job is never overwritten, a finished job never cancelled);
 * speed comes from running them on DDB_WRITERS connections at once. */
#include "ledger/ledger_dynamodb_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static err_code_t nomem(err_t *err) { return err_set(err, ERR_NOMEM, "out of memory"); }

/* ---- The pool ---- */

typedef struct {
    ddb_ledger_t *d;
    size_t n;
    ddb_task_fn task;
    void *ud;
    pthread_mutex_t mu;
    size_t next;
    err_code_t rc;
    err_t err;
} pool_t;

/* Records the first failure; the others stop at their next item. */
static void pool_fail(pool_t *p, err_code_t rc, const err_t *e)
{
    pthread_mutex_lock(&p->mu);
    if (p->rc == ERR_OK) {
        p->rc = rc;
        p->err = *e;
    }
    pthread_mutex_unlock(&p->mu);
}

static void pool_run(pool_t *p, aws_client_t *c)
{
    err_t e;
    err_clear(&e);
    for (;;) {
        pthread_mutex_lock(&p->mu);
        size_t i = p->next++;
        bool go = p->rc == ERR_OK && i < p->n;
        pthread_mutex_unlock(&p->mu);
        if (!go)
            return;
        err_code_t rc = p->task(c, i, p->ud, &e);
        if (rc != ERR_OK) {
            pool_fail(p, rc, &e);
            return;
        }
    }
}

/* A client per thread: an aws_client_t belongs to one thread. */
static void *pool_thread(void *arg)
{
    pool_t *p = arg;
    err_t e;
    aws_client_t *c = aws_client_new(p->d->env, ENDPOINT_DYNAMODB, &e);
    if (!c) {
        pool_fail(p, e.code, &e);
        return NULL;
    }
    pool_run(p, c);
    aws_client_free(c);
    return NULL;
}

err_code_t ddb_parallel(ddb_ledger_t *d, size_t n, ddb_task_fn task, void *ud,
                        err_t *err)
{
    pool_t p = {.d = d, .n = n, .task = task, .ud = ud};
    pthread_t th[64];
    size_t want = (n + 7) / 8, started = 0;

    if (want > (size_t)d->writers)
        want = (size_t)d->writers;
    if (want > sizeof th / sizeof *th)
        want = sizeof th / sizeof *th;
    err_clear(&p.err);
    pthread_mutex_init(&p.mu, NULL);
    /* Small jobs run here on the ledger's own connection. */
    if (want <= 1) {
        pool_run(&p, d->c);
    } else {
        for (; started < want; started++)
            if (pthread_create(&th[started], NULL, pool_thread, &p) != 0)
                break;
        if (started == 0)
            pool_run(&p, d->c);
        for (size_t i = 0; i < started; i++)
            pthread_join(th[i], NULL);
    }
    pthread_mutex_destroy(&p.mu);
    if (p.rc != ERR_OK && err)
        *err = p.err;
    return p.rc;
}

/* ---- add_batch ---- */

typedef struct {
    ddb_ledger_t *d;
    const char *batch;
    const ledger_new_job_t *jobs;
    size_t *todo;              /* indexes into jobs still to put */
    const char *batch_key;
    int64_t now;
    atomic_size_t added;
} add_t;

/* Puts one job unless an item with its key exists: a resubmitted job keeps
 * whatever state it reached. */
static err_code_t put_job(aws_client_t *c, size_t i, void *ud, err_t *err)
{
    add_t *a = ud;
    const ledger_new_job_t *j = &a->jobs[a->todo[i]];
    char sk[300], line_key[300], state_key[300];
    json_t *reply = NULL;
    err_code_t rc = ddb_line_key(j->line, j->job_id, line_key, sizeof line_key, err);

    if (rc == ERR_OK)
        rc = ddb_job_sk(j->job_id, sk, sizeof sk, err);
    if (rc == ERR_OK)
        rc = ddb_state_key(JOB_QUEUED, j->job_id, state_key, sizeof state_key, err);
    if (rc != ERR_OK)
        return rc;
    json_t *item = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o,"
                             " s:o, s:o, s:o}",
                             "pk", ddb_s(a->batch),
                             "sk", ddb_s(sk),
                             "batch_id", ddb_s(a->batch), "job_id", ddb_s(j->job_id),
                             "batch_key", ddb_s(a->batch_key), "line_key", ddb_s(line_key),
                             "state_key", ddb_s(state_key), "state", ddb_s("queued"),
                             "attempts", ddb_n(0), "spec", ddb_s(j->spec_json),
                             "line", ddb_n(j->line), "lease_expires_ms", ddb_n(0),
                             "enqueued_ms", ddb_n(0), "created_ms", ddb_n(a->now));
    if (item && json_object_set_new(item, "updated_ms", ddb_n(a->now)) != 0) {
        json_decref(item);
        item = NULL;
    }
    rc = ddb_call(c, a->d->table, "PutItem",
                  item ? json_pack("{s:s, s:o, s:s, s:{s:s}}", "TableName", a->d->table,
                                   "Item", item, "ConditionExpression",
                                   "attribute_not_exists(#pk)",
                                   "ExpressionAttributeNames", "#pk", "pk") : NULL,
                  &reply, err);
    json_decref(reply);
    if (rc == ERR_OK)
        atomic_fetch_add(&a->added, 1);
    else if (ddb_is_condition_failed(err))
        rc = ERR_OK;
    if (rc == ERR_OK)
        err_clear(err);
    return rc;
}

/* Collects the job ids a batch already holds, from the state index (keys
 * only, so a page carries thousands).  Sorted for bsearch. */
typedef struct {
    char **v;
    size_t n, cap;
} ids_t;

static void ids_free(ids_t *ids)
{
    for (size_t i = 0; i < ids->n; i++)
        free(ids->v[i]);
    free(ids->v);
    memset(ids, 0, sizeof *ids);
}

static err_code_t ids_push(ids_t *ids, const char *s, err_t *err)
{
    if (ids->n == ids->cap) {
        size_t cap = ids->cap ? ids->cap * 2 : 64;
        char **v = realloc(ids->v, cap * sizeof *v);
        if (!v)
            return nomem(err);
        ids->v = v;
        ids->cap = cap;
    }
    if (!(ids->v[ids->n] = strdup(s)))
        return nomem(err);
    ids->n++;
    return ERR_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Takes the job id from a job item's sort key ("job#ID"). */
static err_code_t collect_id(const json_t *item, void *ud, bool *stop, err_t *err)
{
    const char *sk;
    err_code_t rc = ddb_get_s(item, "sk", true, &sk, err);
    (void)stop;
    if (rc != ERR_OK)
        return rc;
    if (strncmp(sk, DDB_JOB_SK_PREFIX, strlen(DDB_JOB_SK_PREFIX)) != 0)
        return err_set(err, ERR_INVALID, "dynamodb ledger: index entry is not a job");
    return ids_push(ud, sk + strlen(DDB_JOB_SK_PREFIX), err);
}

/* Job ids of batch whose state_key starts with prefix ("" for every job),
 * read consistently from the by_state index. */
static err_code_t ids_by_state(ddb_ledger_t *d, aws_client_t *c, const char *batch,
                               const char *prefix, ids_t *out, err_t *err)
{
    ddb_expr_t x;
    json_t *req = json_pack("{s:s, s:s, s:b, s:s}", "TableName", d->table, "IndexName",
                            DDB_INDEX_STATE, "ConsistentRead", 1, "ProjectionExpression",
                            "#sk");
    err_code_t rc;

    ddb_expr_init(&x);
    ddb_expr_name(&x, "pk");
    ddb_expr_name(&x, "sk");
    ddb_expr_name(&x, "state_key");
    ddb_expr_value(&x, ":b", ddb_s(batch));
    ddb_expr_value(&x, ":p", ddb_s(prefix));
    rc = ddb_expr_finish(&x, req, "KeyConditionExpression",
                         "#pk = :b AND begins_with(#state_key, :p)", err);
    ddb_expr_free(&x);
    if (rc == ERR_OK)
        rc = ddb_query(c, d->table, req, collect_id, out, NULL, err);
    json_decref(req);
    return rc;
}

/* Creates the batch item unless it exists; reads its creation time either
 * way (the jobs carry it, for the by_job index's order). */
static err_code_t put_batch(ddb_ledger_t *d, const char *batch, const char *source,
                            int64_t now, bool *created, int64_t *created_ms, err_t *err)
{
    char bk[300];
    json_t *reply = NULL, *item = NULL;
    err_code_t rc = ddb_batch_key(now, batch, bk, sizeof bk, err);

    if (rc != ERR_OK)
        return rc;
    rc = ddb_call(d->c, d->table, "PutItem",
                  json_pack("{s:s, s:{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}, s:s,"
                            " s:{s:s}}", "TableName", d->table, "Item",
                            "pk", ddb_s(batch), "sk", ddb_s(DDB_BATCH_SK),
                            "batch_list", ddb_s(DDB_BATCH_LIST), "batch_key", ddb_s(bk),
                            "batch_id", ddb_s(batch), "source", ddb_s(source),
                            "created_ms", ddb_n(now), "last_add_ms", ddb_n(now),
                            "ConditionExpression", "attribute_not_exists(#pk)",
                            "ExpressionAttributeNames", "#pk", "pk"), &reply, err);
    json_decref(reply);
    if (rc == ERR_OK) {
        *created = true;
        *created_ms = now;
        return ERR_OK;
    }
    if (!ddb_is_condition_failed(err))
        return rc;
    rc = ddb_get_item(d->c, d->table, ddb_key(batch, DDB_BATCH_SK), &item, err);
    if (rc == ERR_OK && !item)
        rc = err_set(err, ERR_CONFLICT, "ledger add batch: batch %s vanished", batch);
    if (rc == ERR_OK)
        rc = ddb_get_n(item, "created_ms", true, created_ms, err);
    json_decref(item);
    return rc;
}

/* Records that jobs are being added to an existing batch, before they are:
 * list() skips batches whose last_add_ms is older than its since filter,
 * so this must never be behind any job's created_ms. */
static err_code_t touch_batch(ddb_ledger_t *d, const char *batch, int64_t now, err_t *err)
{
    json_t *req = json_pack("{s:s, s:o}", "TableName", d->table, "Key",
                            ddb_key(batch, DDB_BATCH_SK));
    ddb_expr_t x;
    ddb_expr_init(&x);
    ddb_expr_set(&x, "last_add_ms", ddb_n(now));
    return ddb_update(d->c, d->table, req, &x, NULL, err);
}

static err_code_t check_new_jobs(const ledger_new_job_t *jobs, size_t n, err_t *err)
{
    for (size_t i = 0; i < n; i++) {
        const char *id = jobs[i].job_id;
        if (!id || !*id)
            return err_set(err, ERR_INVALID, "ledger: job id is empty");
        if (strlen(id) > DDB_MAX_ID)
            return err_set(err, ERR_INVALID, "ledger: job id longer than %d bytes",
                           DDB_MAX_ID);
        if (!jobs[i].spec_json)
            return err_set(err, ERR_INVALID, "ledger: job %s has no spec", id);
        if (strlen(jobs[i].spec_json) > DDB_MAX_SPEC)
            return err_set(err, ERR_TOOBIG, "ledger: job %s: spec over %zu bytes (DynamoDB"
                           " items are at most 400 KB)", id, DDB_MAX_SPEC);
    }
    return ERR_OK;
}

/* Not one transaction as in SQLite: a failure part-way leaves the batch
 * with some jobs, and the same call again adds the rest (and counts only
 * those). */
err_code_t ddb_add_batch(ledger_t *l, const char *batch_id, const char *source,
                         const ledger_new_job_t *jobs, size_t n, bool *created,
                         size_t *added, err_t *err)
{
    DDB_ERR_LOCAL(err);
    ddb_ledger_t *d = DDB(l);
    add_t a = {.d = d, .batch = batch_id, .jobs = jobs, .now = ddb_now_ms(d)};
    ids_t have = {0};
    char bk[300];
    int64_t created_ms = 0;
    size_t ntodo = 0;
    err_code_t rc = ERR_OK;

    *created = false;
    *added = 0;
    if (!batch_id || !*batch_id || strlen(batch_id) > DDB_MAX_ID)
        rc = err_set(err, ERR_INVALID, "ledger: batch id is empty or longer than %d bytes",
                     DDB_MAX_ID);
    if (rc == ERR_OK)
        rc = check_new_jobs(jobs, n, err);
    if (rc == ERR_OK)
        rc = put_batch(d, batch_id, source ? source : "", a.now, created, &created_ms, err);
    if (rc == ERR_OK)
        rc = ddb_batch_key(created_ms, batch_id, bk, sizeof bk, err);
    /* A new batch has no jobs to skip; an old one is read once, so that a
     * resubmission costs one query instead of a refused write per job. */
    if (rc == ERR_OK && !*created)
        rc = ids_by_state(d, d->c, batch_id, "", &have, err);
    if (rc == ERR_OK && have.n)
        qsort(have.v, have.n, sizeof *have.v, cmp_str);
    if (rc == ERR_OK && !(a.todo = malloc((n ? n : 1) * sizeof *a.todo)))
        rc = nomem(err);
    for (size_t i = 0; rc == ERR_OK && i < n; i++) {
        const char *id = jobs[i].job_id;
        if (!have.n || !bsearch(&id, have.v, have.n, sizeof *have.v, cmp_str))
            a.todo[ntodo++] = i;
    }
    if (rc == ERR_OK && ntodo && !*created)
        rc = touch_batch(d, batch_id, a.now, err);
    a.batch_key = bk;
    atomic_init(&a.added, 0);
    if (rc == ERR_OK)
        rc = ddb_parallel(d, ntodo, put_job, &a, err);
    *added = atomic_load(&a.added);
    free(a.todo);
    ids_free(&have);
    if (rc != ERR_OK)
        err_prefix(err, "ledger add batch %s (%zu of %zu jobs added)",
                   batch_id ? batch_id : "", *added, n);
    return rc;
}

/* ---- pending_enqueue, mark_enqueued ---- */

/* Pending job ids and, beside them, their runs (absent: 1). */
typedef struct {
    ids_t ids;
    int *runs;
    size_t rcap;
} pending_t;

static err_code_t collect_job_id(const json_t *item, void *ud, bool *stop, err_t *err)
{
    pending_t *p = ud;
    const char *id;
    int64_t run = 1;
    err_code_t rc = ddb_get_s(item, "job_id", true, &id, err);
    (void)stop;
    if (rc == ERR_OK)
        rc = ddb_get_n(item, "run", false, &run, err);
    if (rc == ERR_OK && p->ids.n == p->rcap) {
        size_t cap = p->rcap ? p->rcap * 2 : 64;
        int *v = realloc(p->runs, cap * sizeof *v);
        if (!v)
            return nomem(err);
        p->runs = v;
        p->rcap = cap;
    }
    if (rc == ERR_OK)
        p->runs[p->ids.n] = run < 1 || run > 1000000 ? 1 : (int)run;
    return rc == ERR_OK ? ids_push(&p->ids, id, err) : rc;
}

/* The line index gives file order; the read is consistent, so a submit
 * sees every job its add_batch just wrote. */
err_code_t ddb_pending_enqueue(ledger_t *l, const char *batch_id, char ***ids, int **runs,
                               size_t *n, err_t *err)
{
    ddb_ledger_t *d = DDB(l);
    pending_t got = {0};
    ddb_expr_t x;
    json_t *req = json_pack("{s:s, s:s, s:b, s:s, s:s}", "TableName", d->table,
                            "IndexName", DDB_INDEX_LINE, "ConsistentRead", 1,
                            "ProjectionExpression", "#job_id, #run", "FilterExpression",
                            "#state = :queued AND #enqueued_ms = :zero");
    err_code_t rc;

    *ids = NULL;
    if (runs)
        *runs = NULL;
    *n = 0;
    if (!batch_id || !*batch_id) {
        json_decref(req);
        return err_set(err, ERR_INVALID, "ledger: batch id is empty");
    }
    ddb_expr_init(&x);
    ddb_expr_name(&x, "pk");
    ddb_expr_name(&x, "job_id");
    ddb_expr_name(&x, "run");
    ddb_expr_name(&x, "state");
    ddb_expr_name(&x, "enqueued_ms");
    ddb_expr_value(&x, ":b", ddb_s(batch_id));
    ddb_expr_value(&x, ":queued", ddb_s("queued"));
    ddb_expr_value(&x, ":zero", ddb_n(0));
    rc = ddb_expr_finish(&x, req, "KeyConditionExpression", "#pk = :b", err);
    ddb_expr_free(&x);
    if (rc == ERR_OK)
        rc = ddb_query(d->c, d->table, req, collect_job_id, &got, NULL, err);
    json_decref(req);
    if (rc != ERR_OK) {
        ids_free(&got.ids);
        free(got.runs);
        return rc;
    }
    *ids = got.ids.v;
    *n = got.ids.n;
    if (runs)
        *runs = got.runs;
    else
        free(got.runs);
    return ERR_OK;
}

typedef struct {
    ddb_ledger_t *d;
    const char *batch;
    const char *const *ids;
    int64_t now;
    atomic_size_t done;
    const char *hook;         /* cancel: the batch's webhook URL, or NULL */
} each_t;

/* Unknown job ids are skipped (the condition fails): nothing to record. */
static err_code_t mark_one(aws_client_t *c, size_t i, void *ud, err_t *err)
{
    each_t *m = ud;
    json_t *req = json_pack("{s:s, s:o}", "TableName", m->d->table, "Key",
                            ddb_job_key(m->batch, m->ids[i]));
    ddb_expr_t x;
    ddb_expr_init(&x);
    ddb_expr_name(&x, "pk");
    ddb_expr_set(&x, "enqueued_ms", ddb_n(m->now));
    ddb_expr_set(&x, "updated_ms", ddb_n(m->now));
    err_code_t rc = ddb_update(c, m->d->table, req, &x, "attribute_exists(#pk)", err);
    if (rc != ERR_OK && ddb_is_condition_failed(err)) {
        err_clear(err);
        rc = ERR_OK;
    }
    return rc;
}

static err_code_t check_ids(const char *batch, const char *const *ids, size_t n,
                            err_t *err)
{
    if (!batch || !*batch)
        return err_set(err, ERR_INVALID, "ledger: batch id is empty");
    for (size_t i = 0; i < n; i++)
        if (!ids[i] || !*ids[i] || strlen(ids[i]) > DDB_MAX_ID)
            return err_set(err, ERR_INVALID, "ledger: job id is empty or longer than %d"
                           " bytes", DDB_MAX_ID);
    return ERR_OK;
}

err_code_t ddb_mark_enqueued(ledger_t *l, const char *batch_id, const char *const *job_ids,
                             size_t n, err_t *err)
{
    each_t m = {.d = DDB(l), .batch = batch_id, .ids = job_ids, .now = ddb_now_ms(DDB(l))};
    err_code_t rc = check_ids(batch_id, job_ids, n, err);
    atomic_init(&m.done, 0);
    return rc == ERR_OK ? ddb_parallel(m.d, n, mark_one, &m, err) : rc;
}

/* ---- cancel ---- */

static err_code_t cancel_task(aws_client_t *c, size_t i, void *ud, err_t *err)
{
    each_t *m = ud;
    err_code_t rc = ddb_cancel_one(c, m->d, m->batch, m->ids[i], m->hook, err);
    if (rc == ERR_OK)
        atomic_fetch_add(&m->done, 1);
    else if (ddb_is_condition_failed(err))
        rc = ERR_OK;   /* it finished meanwhile */
    if (rc == ERR_OK)
        err_clear(err);
    return rc;
}

/* A job already finished is not an error (*n stays 0); an unknown job or
 * batch is ERR_NOTFOUND.  A batch is cancelled job by job: the live ones
 * are read from the state index, then each is cancelled on condition that
 * it is still live, so a job finishing meanwhile keeps its result. */
err_code_t ddb_cancel(ledger_t *l, const char *batch_id, const char *job_id, size_t *n,
                      err_t *err)
{
    DDB_ERR_LOCAL(err);
    ddb_ledger_t *d = DDB(l);
    json_t *item = NULL;
    ids_t live = {0};
    err_code_t rc;

    *n = 0;
    if (!batch_id || !*batch_id)
        return err_set(err, ERR_INVALID, "ledger: batch id is empty");
    if (job_id) {
        if ((rc = check_ids(batch_id, &job_id, 1, err)) != ERR_OK)
            return rc;
        const char *hook = NULL;
        if ((rc = ddb_batch_webhook(d, d->c, batch_id, &hook, err)) != ERR_OK)
            return rc;
        rc = ddb_cancel_one(d->c, d, batch_id, job_id, hook, err);
        if (rc == ERR_OK)
            *n = 1;
        if (rc == ERR_OK || !ddb_is_condition_failed(err))
            return rc;
        if ((rc = ddb_get_item(d->c, d->table, ddb_job_key(batch_id, job_id), &item,
                               err)) != ERR_OK)
            return rc;
        rc = item ? ERR_OK : err_set(err, ERR_NOTFOUND, "ledger cancel: no job %s in batch"
                                     " %s", job_id, batch_id);
        if (rc == ERR_OK)
            err_clear(err);
        json_decref(item);
        return rc;
    }
    rc = ddb_get_item(d->c, d->table, ddb_key(batch_id, DDB_BATCH_SK), &item, err);
    if (rc == ERR_OK && !item)
        rc = err_set(err, ERR_NOTFOUND, "ledger cancel: no batch %s", batch_id);
    json_decref(item);
    if (rc == ERR_OK)
        rc = ids_by_state(d, d->c, batch_id, "queued#", &live, err);
    if (rc == ERR_OK)
        rc = ids_by_state(d, d->c, batch_id, "running#", &live, err);
    const char *hook = NULL;
    if (rc == ERR_OK)
        rc = ddb_batch_webhook(d, d->c, batch_id, &hook, err);
    each_t m = {.d = d, .batch = batch_id, .ids = (const char *const *)live.v,
                .now = ddb_now_ms(d), .hook = hook};
    atomic_init(&m.done, 0);
    if (rc == ERR_OK)
        rc = ddb_parallel(d, live.n, cancel_task, &m, err);
    *n = atomic_load(&m.done);
    ids_free(&live);
    return rc;
}
