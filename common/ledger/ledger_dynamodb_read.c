/* ledger_dynamodb_read — the DynamoDB ledger's reads: jobs by id, batch
 * summaries and listings.
 *
 * Counts by state come from the by_state local index (KEYS_ONLY, sort key
 * "STATE#JOB"): one Select=COUNT query per state reads only index keys and
 * returns no items, and being a local index it can be read consistently,
 * so a status right after a claim already shows it.  Listings follow the
 * by_created global index (batches, oldest first) and each batch's by_line
 * local index (file order), which together give SQLite's order: batch
 * created, batch id, line, job id. */
#include "ledger/ledger_dynamodb_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static err_code_t nomem(err_t *err) { return err_set(err, ERR_NOMEM, "out of memory"); }

/* Reads an integer attribute that must fit an int. */
static err_code_t get_int(const json_t *item, const char *name, bool required, int *out,
                          err_t *err)
{
    int64_t v;
    err_code_t rc = ddb_get_n(item, name, required, &v, err);
    if (rc == ERR_OK && (v < -2147483647 || v > 2147483647))
        rc = err_set(err, ERR_INVALID, "dynamodb item: attribute %s is out of range", name);
    *out = rc == ERR_OK ? (int)v : 0;
    return rc;
}

err_code_t ddb_job_from_item(const json_t *item, ledger_job_t *j, err_t *err)
{
    const char *state = NULL;
    err_code_t rc;

    memset(j, 0, sizeof *j);
#define S(name, field, req) if (rc == ERR_OK) rc = ddb_dup_s(item, name, req, &j->field, err)
#define N(name, field) if (rc == ERR_OK) rc = ddb_get_n(item, name, false, &j->field, err)
    rc = ddb_get_s(item, "state", true, &state, err);
    S("batch_id", batch_id, true);
    S("job_id", job_id, true);
    S("spec", spec_json, true);
    S("lease_owner", lease_owner, false);
    S("error_code", error_code, false);
    S("error_message", error_message, false);
    S("url", url, false);
    S("store_key", store_key, false);
    S("sha256", sha256, false);
    S("model", model, false);
    S("checksum_alg", checksum_alg, false);
    S("checksum", checksum, false);
    S("art_key", art_key, false);
    S("finished_by", finished_by, false);
    S("model_lifecycle", model_lifecycle, false);
    N("lease_expires_ms", lease_expires);
    N("bytes", bytes);
    N("seed", seed);
    N("created_ms", created_ms);
    N("enqueued_ms", enqueued_ms);
    N("started_ms", started_ms);
    N("finished_ms", finished_ms);
    N("updated_ms", updated_ms);
#undef S
#undef N
    if (rc == ERR_OK)
        rc = get_int(item, "attempts", false, &j->attempts, err);
    if (rc == ERR_OK)
        rc = get_int(item, "line", false, &j->line, err);
    if (rc == ERR_OK)
        rc = ddb_get_d(item, "cost_usd", false, &j->cost_usd, err);
    if (rc == ERR_OK)
        j->run = ddb_item_run(item);
    if (rc == ERR_OK)
        rc = ddb_history_from_item(item, j, err);
    int s = job_state_parse(state);
    if (rc == ERR_OK && s < 0)
        rc = err_set(err, ERR_INVALID, "dynamodb item: job %s has an unknown state",
                     j->job_id);
    if (rc != ERR_OK) {
        ledger_job_free(j);
        return rc;
    }
    j->state = (job_state_t)s;
    return ERR_OK;
}

/* A growing array of jobs. */
typedef struct {
    ledger_job_t *v;
    size_t n, cap;
    size_t limit;      /* 0: none */
} jobs_t;

static err_code_t jobs_push(jobs_t *js, const json_t *item, err_t *err)
{
    if (js->n == js->cap) {
        size_t cap = js->cap ? js->cap * 2 : 16;
        ledger_job_t *v = realloc(js->v, cap * sizeof *v);
        if (!v)
            return nomem(err);
        js->v = v;
        js->cap = cap;
    }
    err_code_t rc = ddb_job_from_item(item, &js->v[js->n], err);
    if (rc == ERR_OK)
        js->n++;
    return rc;
}

static err_code_t jobs_done(jobs_t *js, err_code_t rc, ledger_job_t **out, size_t *n)
{
    if (rc != ERR_OK) {
        ledger_jobs_free(js->v, js->n);
        return rc;
    }
    *out = js->v;
    *n = js->n;
    return ERR_OK;
}

static err_code_t push_job(const json_t *item, void *ud, bool *stop, err_t *err)
{
    jobs_t *js = ud;
    err_code_t rc = jobs_push(js, item, err);
    if (js->limit && js->n >= js->limit)
        *stop = true;
    return rc;
}

/* The by_job index holds keys only; each hit is then read consistently. */
static err_code_t push_by_key(const json_t *key, void *ud, bool *stop, err_t *err)
{
    void **ctx = ud;
    ddb_ledger_t *d = ctx[0];
    const char *pk, *sk;
    json_t *item = NULL;
    err_code_t rc = ddb_get_s(key, "pk", true, &pk, err);
    (void)stop;

    if (rc == ERR_OK)
        rc = ddb_get_s(key, "sk", true, &sk, err);
    if (rc == ERR_OK)
        rc = ddb_get_item(d->c, d->table, ddb_key(pk, sk), &item, err);
    if (rc == ERR_OK && item)
        rc = jobs_push(ctx[1], item, err);
    json_decref(item);
    return rc;
}

err_code_t ddb_query_prefix(ddb_ledger_t *d, const char *pk, const char *sk_prefix,
                            ddb_item_fn fn, void *ud, err_t *err)
{
    json_t *req = json_pack("{s:s, s:b}", "TableName", d->table, "ConsistentRead", 1);
    ddb_expr_t x;
    err_code_t rc;

    if (!req)
        return err_set(err, ERR_NOMEM, "out of memory");
    ddb_expr_init(&x);
    ddb_expr_name(&x, "pk");
    ddb_expr_name(&x, "sk");
    ddb_expr_value(&x, ":p", ddb_s(pk));
    ddb_expr_value(&x, ":s", ddb_s(sk_prefix));
    rc = ddb_expr_finish(&x, req, "KeyConditionExpression",
                         "#pk = :p AND begins_with(#sk, :s)", err);
    ddb_expr_free(&x);
    if (rc == ERR_OK)
        rc = ddb_query(d->c, d->table, req, fn, ud, NULL, err);
    json_decref(req);
    return rc;
}

err_code_t ddb_get_jobs(ledger_t *l, const char *batch_id, const char *job_id,
                        ledger_job_t **out, size_t *n, err_t *err)
{
    ddb_ledger_t *d = DDB(l);
    jobs_t js = {0};
    json_t *item = NULL;
    err_code_t rc = ERR_OK;

    *out = NULL;
    *n = 0;
    if (!job_id || !*job_id)
        return err_set(err, ERR_INVALID, "ledger: job id is empty");
    if (batch_id) {
        rc = ddb_get_item(d->c, d->table, ddb_job_key(batch_id, job_id), &item, err);
        if (rc == ERR_OK && item)
            rc = jobs_push(&js, item, err);
        json_decref(item);
        return jobs_done(&js, rc, out, n);
    }
    ddb_expr_t x;
    void *ctx[2] = {d, &js};
    json_t *req = json_pack("{s:s, s:s}", "TableName", d->table, "IndexName",
                            DDB_INDEX_JOB);
    ddb_expr_init(&x);
    ddb_expr_name(&x, "job_id");
    ddb_expr_value(&x, ":j", ddb_s(job_id));
    rc = ddb_expr_finish(&x, req, "KeyConditionExpression", "#job_id = :j", err);
    ddb_expr_free(&x);
    if (rc == ERR_OK)
        rc = ddb_query(d->c, d->table, req, push_by_key, ctx, NULL, err);
    json_decref(req);
    return jobs_done(&js, rc, out, n);
}

/* ---- Batches ---- */

/* Counts batch's jobs in state s from the state index. */
static err_code_t count_state(ddb_ledger_t *d, const char *batch, job_state_t s,
                              int64_t *count, err_t *err)
{
    char prefix[32];
    ddb_expr_t x;
    json_t *req = json_pack("{s:s, s:s, s:s, s:b}", "TableName", d->table, "IndexName",
                            DDB_INDEX_STATE, "Select", "COUNT", "ConsistentRead", 1);
    err_code_t rc;

    snprintf(prefix, sizeof prefix, "%s#", job_state_name(s));
    ddb_expr_init(&x);
    ddb_expr_name(&x, "pk");
    ddb_expr_name(&x, "state_key");
    ddb_expr_value(&x, ":b", ddb_s(batch));
    ddb_expr_value(&x, ":p", ddb_s(prefix));
    rc = ddb_expr_finish(&x, req, "KeyConditionExpression",
                         "#pk = :b AND begins_with(#state_key, :p)", err);
    ddb_expr_free(&x);
    if (rc == ERR_OK)
        rc = ddb_query(d->c, d->table, req, NULL, NULL, count, err);
    json_decref(req);
    return rc;
}

/* Fills b from a batch item, then counts its jobs. */
static err_code_t batch_summary(ddb_ledger_t *d, const json_t *item, ledger_batch_t *b,
                                err_t *err)
{
    err_code_t rc;

    memset(b, 0, sizeof *b);
    rc = ddb_dup_s(item, "batch_id", true, &b->batch_id, err);
    if (rc == ERR_OK)
        rc = ddb_dup_s(item, "source", false, &b->source, err);
    if (rc == ERR_OK)
        rc = ddb_get_n(item, "created_ms", true, &b->created_ms, err);
    for (int s = 0; rc == ERR_OK && s < JOB__NSTATES; s++) {
        rc = count_state(d, b->batch_id, (job_state_t)s, &b->by_state[s], err);
        b->total += b->by_state[s];
    }
    if (rc != ERR_OK)
        ledger_batch_free(b);
    return rc;
}

err_code_t ddb_get_batch(ledger_t *l, const char *batch_id, ledger_batch_t *out,
                         err_t *err)
{
    ddb_ledger_t *d = DDB(l);
    json_t *item = NULL;
    err_code_t rc;

    memset(out, 0, sizeof *out);
    if (!batch_id || !*batch_id)
        return err_set(err, ERR_INVALID, "ledger: batch id is empty");
    rc = ddb_get_item(d->c, d->table, ddb_key(batch_id, DDB_BATCH_SK), &item, err);
    if (rc == ERR_OK && !item)
        rc = err_set(err, ERR_NOTFOUND, "no batch %s", batch_id);
    if (rc == ERR_OK)
        rc = batch_summary(d, item, out, err);
    json_decref(item);
    return rc;
}

typedef struct {
    ledger_batch_t *v;
    size_t n, cap, limit;
    ddb_ledger_t *d;
} batches_t;

static err_code_t push_batch(const json_t *item, void *ud, bool *stop, err_t *err)
{
    batches_t *bs = ud;
    if (bs->n == bs->cap) {
        size_t cap = bs->cap ? bs->cap * 2 : 16;
        ledger_batch_t *v = realloc(bs->v, cap * sizeof *v);
        if (!v)
            return nomem(err);
        bs->v = v;
        bs->cap = cap;
    }
    err_code_t rc = batch_summary(bs->d, item, &bs->v[bs->n], err);
    if (rc == ERR_OK && ++bs->n == bs->limit)
        *stop = true;
    return rc;
}

/* The by_created index has one partition for every batch item (sort key
 * "CREATED#BATCH"), read backwards: newest first, as SQLite orders them. */
err_code_t ddb_list_batches(ledger_t *l, size_t limit, ledger_batch_t **out, size_t *n,
                            err_t *err)
{
    ddb_ledger_t *d = DDB(l);
    batches_t bs = {.limit = limit, .d = d};
    ddb_expr_t x;
    json_t *req = json_pack("{s:s, s:s, s:b}", "TableName", d->table, "IndexName",
                            DDB_INDEX_CREATED, "ScanIndexForward", 0);
    err_code_t rc;

    *out = NULL;
    *n = 0;
    if (req && limit && limit <= 1000 &&
        json_object_set_new(req, "Limit", json_integer((json_int_t)limit)) != 0) {
        json_decref(req);
        req = NULL;
    }
    ddb_expr_init(&x);
    ddb_expr_name(&x, "batch_list");
    ddb_expr_value(&x, ":all", ddb_s(DDB_BATCH_LIST));
    rc = ddb_expr_finish(&x, req, "KeyConditionExpression", "#batch_list = :all", err);
    ddb_expr_free(&x);
    if (rc == ERR_OK)
        rc = ddb_query(d->c, d->table, req, push_batch, &bs, NULL, err);
    json_decref(req);
    if (rc != ERR_OK) {
        ledger_batches_free(bs.v, bs.n);
        return rc;
    }
    *out = bs.v;
    *n = bs.n;
    return ERR_OK;
}

/* ---- list ---- */

typedef struct {
    ddb_ledger_t *d;
    const ledger_filter_t *f;
    jobs_t js;
    json_t *cursor;           /* by_line key of the cursor job, or NULL */
    const char *cursor_bk;    /* batch_key of the cursor's batch, or NULL */
} lister_t;

/* Lists one batch's matching jobs in file order, after the cursor when the
 * cursor is in this batch; batches before the cursor's are skipped, and so
 * are batches that cannot match (nothing added since f->since_ms, or no
 * job in f->state: a cheap count saves reading the batch). */
static err_code_t list_batch(const json_t *batch, void *ud, bool *stop, err_t *err)
{
    lister_t *ls = ud;
    const ledger_filter_t *f = ls->f;
    const char *id, *bk;
    int64_t last_add, count = 1;
    int cmp = 1;
    err_code_t rc = ddb_get_s(batch, "batch_id", true, &id, err);

    if (rc == ERR_OK)
        rc = ddb_get_s(batch, "batch_key", true, &bk, err);
    if (rc == ERR_OK)
        rc = ddb_get_n(batch, "last_add_ms", true, &last_add, err);
    if (rc != ERR_OK)
        return rc;
    if (ls->cursor_bk && (cmp = strcmp(bk, ls->cursor_bk)) < 0)
        return ERR_OK;
    if (f->since_ms && last_add < f->since_ms)
        return ERR_OK;
    if (f->state >= 0 &&
        (rc = count_state(ls->d, id, (job_state_t)f->state, &count, err)) != ERR_OK)
        return rc;
    if (count == 0)
        return ERR_OK;

    ddb_expr_t x;
    char filter[96] = "";
    json_t *req = json_pack("{s:s, s:s, s:b}", "TableName", ls->d->table, "IndexName",
                            DDB_INDEX_LINE, "ConsistentRead", 1);
    ddb_expr_init(&x);
    ddb_expr_name(&x, "pk");
    ddb_expr_value(&x, ":b", ddb_s(id));
    if (f->state >= 0) {
        ddb_expr_name(&x, "state");
        ddb_expr_value(&x, ":state", ddb_s(job_state_name((job_state_t)f->state)));
        snprintf(filter, sizeof filter, "#state = :state");
    }
    if (f->since_ms) {
        size_t len = strlen(filter);
        ddb_expr_name(&x, "created_ms");
        ddb_expr_value(&x, ":since", ddb_n(f->since_ms));
        snprintf(filter + len, sizeof filter - len, "%s#created_ms >= :since",
                 len ? " AND " : "");
    }
    if (req && *filter && json_object_set_new(req, "FilterExpression",
                                              json_string(filter)) != 0)
        x.oom = true;
    /* Without a filter every item read is kept, so the page can stop at the
     * limit; with one, DynamoDB's Limit would count rejected items too. */
    size_t left = f->limit ? f->limit - ls->js.n : 0;
    if (req && !*filter && left && left <= 1000 &&
        json_object_set_new(req, "Limit", json_integer((json_int_t)left)) != 0)
        x.oom = true;
    if (req && cmp == 0 && ls->cursor &&
        json_object_set(req, "ExclusiveStartKey", ls->cursor) != 0)
        x.oom = true;
    rc = ddb_expr_finish(&x, req, "KeyConditionExpression", "#pk = :b", err);
    ddb_expr_free(&x);
    if (rc == ERR_OK)
        rc = ddb_query(ls->d->c, ls->d->table, req, push_job, &ls->js, NULL, err);
    json_decref(req);
    if (f->limit && ls->js.n >= f->limit)
        *stop = true;
    return rc;
}

/* Reads the cursor (f->after_job_id in after_batch) into ls.  *none is set
 * when the cursor names a job that does not exist: nothing comes after it,
 * as in SQLite. */
static err_code_t find_cursor(lister_t *ls, const char *after_batch, json_t **batch_item,
                              bool *none, err_t *err)
{
    ddb_ledger_t *d = ls->d;
    json_t *job = NULL;
    const char *lk;
    err_code_t rc = ddb_get_item(d->c, d->table, ddb_key(after_batch, DDB_BATCH_SK),
                                 batch_item, err);

    if (rc == ERR_OK && *batch_item)
        rc = ddb_get_s(*batch_item, "batch_key", true, &ls->cursor_bk, err);
    if (rc == ERR_OK && *batch_item)
        rc = ddb_get_item(d->c, d->table, ddb_job_key(after_batch, ls->f->after_job_id),
                          &job, err);
    *none = rc == ERR_OK && !job;
    if (rc == ERR_OK && job && (rc = ddb_get_s(job, "line_key", true, &lk, err)) == ERR_OK) {
        ls->cursor = json_pack("{s:O, s:O, s:o}", "pk", json_object_get(job, "pk"),
                               "sk", json_object_get(job, "sk"), "line_key", ddb_s(lk));
        if (!ls->cursor)
            rc = nomem(err);
    }
    json_decref(job);
    return rc;
}

/* Batches are visited oldest first from the by_created index (from the
 * cursor's batch on), or just f->batch_id; each batch's jobs in file order. */
err_code_t ddb_list(ledger_t *l, const ledger_filter_t *f, ledger_job_t **out, size_t *n,
                    err_t *err)
{
    lister_t ls = {.d = DDB(l), .f = f, .js = {.limit = f->limit}};
    const char *after_batch = f->after_batch_id ? f->after_batch_id : f->batch_id;
    json_t *cursor_batch = NULL, *item = NULL, *req = NULL;
    bool none = false, stop = false;
    err_code_t rc = ERR_OK;

    *out = NULL;
    *n = 0;
    if (f->state < -1 || f->state >= JOB__NSTATES)
        return err_set(err, ERR_INVALID, "ledger list: bad state %d", f->state);
    if (f->after_job_id && !after_batch)
        return err_set(err, ERR_INVALID, "ledger list: a page cursor needs its batch");
    if (f->after_job_id)
        rc = find_cursor(&ls, after_batch, &cursor_batch, &none, err);
    if (rc != ERR_OK || none)
        goto out;
    if (f->batch_id) {
        rc = ddb_get_item(ls.d->c, ls.d->table, ddb_key(f->batch_id, DDB_BATCH_SK), &item,
                          err);
        if (rc == ERR_OK && item)
            rc = list_batch(item, &ls, &stop, err);
        goto out;
    }
    ddb_expr_t x;
    req = json_pack("{s:s, s:s}", "TableName", ls.d->table, "IndexName",
                    DDB_INDEX_CREATED);
    ddb_expr_init(&x);
    ddb_expr_name(&x, "batch_list");
    ddb_expr_value(&x, ":all", ddb_s(DDB_BATCH_LIST));
    if (ls.cursor_bk) {
        ddb_expr_name(&x, "batch_key");
        ddb_expr_value(&x, ":c", ddb_s(ls.cursor_bk));
    }
    rc = ddb_expr_finish(&x, req, "KeyConditionExpression", ls.cursor_bk
                         ? "#batch_list = :all AND #batch_key >= :c"
                         : "#batch_list = :all", err);
    ddb_expr_free(&x);
    if (rc == ERR_OK)
        rc = ddb_query(ls.d->c, ls.d->table, req, list_batch, &ls, NULL, err);
out:
    json_decref(req);
    json_decref(item);
    json_decref(ls.cursor);
    json_decref(cursor_batch);
    return jobs_done(&ls.js, rc, out, n);
}
