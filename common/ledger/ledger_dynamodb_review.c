/* ledger_dynamodb_review — review marks and lineage in the DynamoDB
 * ledger (issue 20), kept on the job items themselves:
 *
 *   review_state (S "approved" | "rejected"), review_by (S),
 *   review_at_ms (N), promoted_from (S "BATCH/JOB"), promoted_to (SS of
 *   "BATCH/JOB").
 *
 * On the job item, a mark is one UpdateItem conditional on `state =
 * succeeded`: the check and the write are one step, with no transaction
 * (which dynalite lacks).  Lineage is a SET on the promoted job and an ADD
 * to a string set on the source, so writing it twice changes nothing.  A
 * batch's marks are one consistent Query of its partition, projected to
 * these attributes and filtered to the items that carry one. */
#include "ledger/ledger_dynamodb_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool empty(const char *s) { return !s || !*s; }

/* Why a write conditional on the job existing (and, for a mark, being
 * succeeded) was refused: ERR_NOTFOUND or ERR_CONFLICT naming its state. */
static err_code_t explain(ddb_ledger_t *d, const char *batch, const char *job,
                          const char *mark, err_t *err)
{
    json_t *item = NULL;
    const char *state = NULL;
    err_code_t rc;

    err_clear(err);
    if ((rc = ddb_get_item(d->c, d->table, ddb_job_key(batch, job), &item, err)) != ERR_OK)
        return rc;
    if (!item)
        return err_set(err, ERR_NOTFOUND, "no job %s in batch %s", job, batch);
    rc = ddb_get_s(item, "state", true, &state, err);
    if (rc == ERR_OK)
        rc = err_set(err, ERR_CONFLICT, "job %s is %s, not succeeded: only a finished poster "
                     "can be %s", job, state, mark ? mark : "marked");
    json_decref(item);
    return rc;
}

err_code_t ddb_review(ledger_t *l, const char *batch_id, const char *job_id, const char *mark,
                      const char *by, int64_t at_ms, err_t *err)
{
    DDB_ERR_LOCAL(err);
    ddb_ledger_t *d = DDB(l);
    ddb_expr_t x;
    err_code_t rc;

    if (!mark || (strcmp(mark, LEDGER_APPROVED) && strcmp(mark, LEDGER_REJECTED)))
        return err_set(err, ERR_INVALID, "ledger: review: the mark must be approved or "
                       "rejected");
    if (empty(by) || empty(batch_id) || empty(job_id))
        return err_set(err, ERR_INVALID, "ledger: review: batch, job and by are required");
    json_t *req = json_pack("{s:s, s:o}", "TableName", d->table, "Key",
                            ddb_job_key(batch_id, job_id));
    ddb_expr_init(&x);
    ddb_expr_name(&x, "pk");
    ddb_expr_name(&x, "state");
    ddb_expr_value(&x, ":succeeded", ddb_s("succeeded"));
    ddb_expr_set(&x, "review_state", ddb_s(mark));
    ddb_expr_set(&x, "review_by", ddb_s(by));
    ddb_expr_set(&x, "review_at_ms", ddb_n(at_ms));
    rc = ddb_update(d->c, d->table, req, &x,
                    "attribute_exists(#pk) AND #state = :succeeded", err);
    if (rc != ERR_OK && ddb_is_condition_failed(err))
        return explain(d, batch_id, job_id, mark, err);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_review(const void *a, const void *b)
{
    return strcmp(((const ledger_review_t *)a)->job_id, ((const ledger_review_t *)b)->job_id);
}

/* Reads the string set promoted_to of item into r (sorted). */
static err_code_t read_refs(const json_t *item, ledger_review_t *r, err_t *err)
{
    json_t *set = json_object_get(json_object_get(item, "promoted_to"), "SS");
    size_t i;
    json_t *v;

    if (!json_object_get(item, "promoted_to"))
        return ERR_OK;
    if (!json_is_array(set))
        return err_set(err, ERR_INVALID, "ledger: promoted_to: not a string set");
    if (!(r->promoted_to = calloc(json_array_size(set) + 1, sizeof *r->promoted_to)))
        return err_set(err, ERR_NOMEM, "out of memory");
    json_array_foreach(set, i, v) {
        if (!json_is_string(v))
            return err_set(err, ERR_INVALID, "ledger: promoted_to: not a string set");
        if (!(r->promoted_to[r->npromoted_to] = strdup(json_string_value(v))))
            return err_set(err, ERR_NOMEM, "out of memory");
        r->npromoted_to++;
    }
    qsort(r->promoted_to, r->npromoted_to, sizeof *r->promoted_to, cmp_str);
    return ERR_OK;
}

typedef struct {
    const char *batch;
    ledger_review_t *r;
    size_t n, cap;
} collect_t;

/* Adds item (a job item, or its projection) to the collection when it
 * carries a mark or lineage. */
static err_code_t push_review(const json_t *item, void *ud, bool *stop, err_t *err)
{
    collect_t *c = ud;
    ledger_review_t *r;
    err_code_t rc;

    (void)stop;
    if (!json_object_get(item, "review_state") && !json_object_get(item, "promoted_from") &&
        !json_object_get(item, "promoted_to"))
        return ERR_OK;
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 16;
        ledger_review_t *g = realloc(c->r, nc * sizeof *g);
        if (!g)
            return err_set(err, ERR_NOMEM, "out of memory");
        c->r = g;
        c->cap = nc;
    }
    r = &c->r[c->n++];
    memset(r, 0, sizeof *r);
    if (!(r->batch_id = strdup(c->batch)))
        return err_set(err, ERR_NOMEM, "out of memory");
    if ((rc = ddb_dup_s(item, "job_id", true, &r->job_id, err)) != ERR_OK ||
        (rc = ddb_dup_s(item, "review_state", false, &r->state, err)) != ERR_OK ||
        (rc = ddb_dup_s(item, "review_by", false, &r->by, err)) != ERR_OK ||
        (rc = ddb_get_n(item, "review_at_ms", false, &r->at_ms, err)) != ERR_OK ||
        (rc = ddb_dup_s(item, "promoted_from", false, &r->promoted_from, err)) != ERR_OK)
        return rc;
    return read_refs(item, r, err);
}

err_code_t ddb_reviews(ledger_t *l, const char *batch_id, const char *job_id,
                       ledger_review_t **out, size_t *n, err_t *err)
{
    DDB_ERR_LOCAL(err);
    ddb_ledger_t *d = DDB(l);
    collect_t c = {.batch = batch_id};
    err_code_t rc;

    *out = NULL;
    *n = 0;
    if (empty(batch_id))
        return err_set(err, ERR_INVALID, "ledger: reviews: the batch is required");
    if (job_id) {
        json_t *item = NULL;
        bool stop = false;
        rc = ddb_get_item(d->c, d->table, ddb_job_key(batch_id, job_id), &item, err);
        if (rc == ERR_OK && item)
            rc = push_review(item, &c, &stop, err);
        json_decref(item);
    } else {
        ddb_expr_t x;
        json_t *req = json_pack("{s:s, s:b, s:s, s:s}", "TableName", d->table,
                                "ConsistentRead", 1, "ProjectionExpression",
                                "#job_id, #review_state, #review_by, #review_at_ms, "
                                "#promoted_from, #promoted_to", "FilterExpression",
                                "attribute_exists(#review_state) OR "
                                "attribute_exists(#promoted_from) OR "
                                "attribute_exists(#promoted_to)");
        static const char *const names[] = {"pk", "sk", "job_id", "review_state",
                                            "review_by", "review_at_ms", "promoted_from",
                                            "promoted_to"};
        ddb_expr_init(&x);
        for (size_t i = 0; i < sizeof names / sizeof *names; i++)
            ddb_expr_name(&x, names[i]);
        ddb_expr_value(&x, ":b", ddb_s(batch_id));
        ddb_expr_value(&x, ":j", ddb_s(DDB_JOB_SK_PREFIX));
        rc = req ? ddb_expr_finish(&x, req, "KeyConditionExpression",
                                   "#pk = :b AND begins_with(#sk, :j)", err)
                 : err_set(err, ERR_NOMEM, "out of memory");
        ddb_expr_free(&x);
        if (rc == ERR_OK)
            rc = ddb_query(d->c, d->table, req, push_review, &c, NULL, err);
        json_decref(req);
    }
    if (rc != ERR_OK) {
        ledger_reviews_free(c.r, c.n);
        return rc;
    }
    if (c.n > 1)
        qsort(c.r, c.n, sizeof *c.r, cmp_review);
    *out = c.r;
    *n = c.n;
    return ERR_OK;
}

err_code_t ddb_link(ledger_t *l, const char *from_batch, const char *from_job,
                    const char *to_batch, const char *to_job, err_t *err)
{
    DDB_ERR_LOCAL(err);
    ddb_ledger_t *d = DDB(l);
    char from[2 * DDB_MAX_ID + 2], to[2 * DDB_MAX_ID + 2];
    ddb_expr_t x;
    json_t *reply = NULL;
    err_code_t rc;

    if (empty(from_batch) || empty(from_job) || empty(to_batch) || empty(to_job) ||
        (size_t)snprintf(from, sizeof from, "%s/%s", from_batch, from_job) >= sizeof from ||
        (size_t)snprintf(to, sizeof to, "%s/%s", to_batch, to_job) >= sizeof to)
        return err_set(err, ERR_INVALID, "ledger: lineage: bad job reference");
    /* Both must exist before either is written (no transactions here);
     * jobs are never deleted, so what this read finds stays true. */
    json_t *item = NULL;
    if ((rc = ddb_get_item(d->c, d->table, ddb_job_key(from_batch, from_job), &item, err)) !=
        ERR_OK)
        return rc;
    json_decref(item);
    if (!item)
        return err_set(err, ERR_NOTFOUND, "lineage: no job %s in batch %s", from_job,
                       from_batch);
    /* The promoted job first: it is new, and names its one source. */
    json_t *req = json_pack("{s:s, s:o}", "TableName", d->table, "Key",
                            ddb_job_key(to_batch, to_job));
    ddb_expr_init(&x);
    ddb_expr_name(&x, "pk");
    ddb_expr_set(&x, "promoted_from", ddb_s(from));
    rc = ddb_update(d->c, d->table, req, &x, "attribute_exists(#pk)", err);
    if (rc != ERR_OK)
        return ddb_is_condition_failed(err)
                   ? err_set(err, ERR_NOTFOUND, "lineage: no job %s in batch %s", to_job,
                             to_batch) : rc;
    /* ADD to a string set: a second write of the same reference is a no-op. */
    req = json_pack("{s:s, s:o, s:s, s:s, s:{s:s, s:s}, s:{s:{s:[s]}}}", "TableName",
                    d->table, "Key", ddb_job_key(from_batch, from_job), "UpdateExpression",
                    "ADD #pt :ref", "ConditionExpression", "attribute_exists(#pk)",
                    "ExpressionAttributeNames", "#pt", "promoted_to", "#pk", "pk",
                    "ExpressionAttributeValues", ":ref", "SS", to);
    rc = ddb_call(d->c, d->table, "UpdateItem", req, &reply, err);
    json_decref(reply);
    if (rc != ERR_OK && ddb_is_condition_failed(err))
        return err_set(err, ERR_NOTFOUND, "lineage: no job %s in batch %s", from_job,
                       from_batch);
    return rc;
}
