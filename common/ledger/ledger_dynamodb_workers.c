/* ledger_dynamodb_workers — the worker registry in the DynamoDB ledger's
 * table.
 *
 * One item per running worker: pk "workers", sk "worker#ID", written whole
 * by every heartbeat (PutItem: register and beat are the same write) and
 * deleted on a clean stop.  Listing is one consistent Query of the
 * "workers" partition.  Items not seen for LEDGER_WORKER_PRUNE_MS are
 * deleted by the reader that finds them, each on condition that it is still
 * that old, so a worker that came back meanwhile is not removed.
 *
 * "#" never appears in a batch id, so "worker#..." keys never meet a job's,
 * and "workers" is not a batch id a submit makes (those are "b-..." or
 * client ids, and a batch's own item has sk "batch"): the partition holds
 * only these items.  They carry none of the index attributes, so no index
 * lists them.  A beat is ~300 bytes; at one every 5 s a worker costs about
 * 17,000 writes a day. */
#include "ledger/ledger_dynamodb_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORKERS_PK "workers"
#define WORKER_SK "worker#"

static bool empty(const char *s) { return !s || !*s; }

static json_t *worker_key(const char *id)
{
    char sk[400];
    if ((size_t)snprintf(sk, sizeof sk, WORKER_SK "%s", id) >= sizeof sk)
        return NULL;
    return ddb_key(WORKERS_PK, sk);
}

err_code_t ddb_worker_beat(ledger_t *l, const ledger_worker_t *w, err_t *err)
{
    DDB_ERR_LOCAL(err);
    ddb_ledger_t *d = DDB(l);
    json_t *key, *item, *reply = NULL;

    if (empty(w->id) || empty(w->host) || empty(w->models))
        return err_set(err, ERR_INVALID, "ledger: a worker needs an id, a host and models");
    if (strlen(w->id) > DDB_MAX_ID)
        return err_set(err, ERR_INVALID, "ledger: worker id too long");
    if (!(key = worker_key(w->id)))
        return err_set(err, ERR_NOMEM, "out of memory");
    item = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
                     "worker_id", ddb_s(w->id), "host", ddb_s(w->host),
                     "pid", ddb_n(w->pid), "version", ddb_s(w->version ? w->version : "-"),
                     "models", ddb_s(w->models), "started_ms", ddb_n(w->started_ms),
                     "last_seen_ms", ddb_n(w->last_seen_ms), "beat_ms", ddb_n(w->beat_ms),
                     "in_flight", ddb_n(w->in_flight), "done", ddb_n(w->done),
                     "failed", ddb_n(w->failed), "rate_per_min", ddb_d(w->rate_per_min),
                     "updated_ms", ddb_n(ddb_now_ms(d)));
    if (!item || json_object_update(item, key) != 0) {
        json_decref(key);
        json_decref(item);
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    json_decref(key);
    err_code_t rc = ddb_call(d->c, d->table, "PutItem",
                             json_pack("{s:s, s:o}", "TableName", d->table, "Item", item),
                             &reply, err);
    json_decref(reply);
    if (rc != ERR_OK)
        err_prefix(err, "ledger: worker heartbeat");
    return rc;
}

/* Deletes id's item; with older_than > 0 only while its last_seen_ms is
 * below that (a lazy prune that must not remove a worker seen since). */
static err_code_t delete_worker(ddb_ledger_t *d, const char *id, int64_t older_than,
                                err_t *err)
{
    json_t *key = worker_key(id), *req, *reply = NULL;
    if (!key)
        return err_set(err, ERR_INVALID, "ledger: worker id too long");
    req = json_pack("{s:s, s:o}", "TableName", d->table, "Key", key);
    if (req && older_than > 0) {
        json_t *cond = json_pack("{s:s, s:{s:s}, s:{s:o}}", "ConditionExpression",
                                 "#last_seen_ms < :old", "ExpressionAttributeNames",
                                 "#last_seen_ms", "last_seen_ms", "ExpressionAttributeValues",
                                 ":old", ddb_n(older_than));
        int bad = !cond || json_object_update(req, cond) != 0;
        json_decref(cond);
        if (bad) {
            json_decref(req);
            return err_set(err, ERR_NOMEM, "out of memory");
        }
    }
    err_code_t rc = ddb_call(d->c, d->table, "DeleteItem", req, &reply, err);
    json_decref(reply);
    if (rc != ERR_OK && older_than > 0 && ddb_is_condition_failed(err)) {
        err_clear(err);
        rc = ERR_OK;
    }
    return rc;
}

err_code_t ddb_worker_leave(ledger_t *l, const char *id, err_t *err)
{
    DDB_ERR_LOCAL(err);
    if (empty(id))
        return err_set(err, ERR_INVALID, "ledger: a worker id is empty");
    err_code_t rc = delete_worker(DDB(l), id, 0, err);
    if (rc != ERR_OK)
        err_prefix(err, "ledger: worker leave");
    return rc;
}

typedef struct {
    ledger_worker_t *v;
    size_t n, cap;
} workers_t;

static err_code_t read_worker(const json_t *item, ledger_worker_t *w, err_t *err)
{
    err_code_t rc;
    memset(w, 0, sizeof *w);
    if ((rc = ddb_dup_s(item, "worker_id", true, &w->id, err)) != ERR_OK ||
        (rc = ddb_dup_s(item, "host", true, &w->host, err)) != ERR_OK ||
        (rc = ddb_dup_s(item, "version", false, &w->version, err)) != ERR_OK ||
        (rc = ddb_dup_s(item, "models", true, &w->models, err)) != ERR_OK ||
        (rc = ddb_get_n(item, "pid", false, &w->pid, err)) != ERR_OK ||
        (rc = ddb_get_n(item, "started_ms", false, &w->started_ms, err)) != ERR_OK ||
        (rc = ddb_get_n(item, "last_seen_ms", true, &w->last_seen_ms, err)) != ERR_OK ||
        (rc = ddb_get_n(item, "beat_ms", false, &w->beat_ms, err)) != ERR_OK ||
        (rc = ddb_get_n(item, "in_flight", false, &w->in_flight, err)) != ERR_OK ||
        (rc = ddb_get_n(item, "done", false, &w->done, err)) != ERR_OK ||
        (rc = ddb_get_n(item, "failed", false, &w->failed, err)) != ERR_OK ||
        (rc = ddb_get_d(item, "rate_per_min", false, &w->rate_per_min, err)) != ERR_OK) {
        ledger_worker_free(w);
        return rc;
    }
    return ERR_OK;
}

static err_code_t push_worker(const json_t *item, void *ud, bool *stop, err_t *err)
{
    workers_t *ws = ud;
    (void)stop;
    if (ws->n == ws->cap) {
        size_t cap = ws->cap ? ws->cap * 2 : 8;
        ledger_worker_t *v = realloc(ws->v, cap * sizeof *v);
        if (!v)
            return err_set(err, ERR_NOMEM, "out of memory");
        ws->v = v;
        ws->cap = cap;
    }
    err_code_t rc = read_worker(item, &ws->v[ws->n], err);
    if (rc == ERR_OK)
        ws->n++;
    return rc;
}

err_code_t ddb_workers_list(ledger_t *l, int64_t now_ms, ledger_worker_t **out, size_t *n,
                            err_t *err)
{
    DDB_ERR_LOCAL(err);
    ddb_ledger_t *d = DDB(l);
    workers_t ws = {0};

    *out = NULL;
    *n = 0;
    err_code_t rc = ddb_query_prefix(d, WORKERS_PK, WORKER_SK, push_worker, &ws, err);
    if (rc != ERR_OK) {
        ledger_workers_free(ws.v, ws.n);
        return err_prefix(err, "ledger: listing workers");
    }
    /* Lazy prune; a failure leaves the item for the next reader. */
    int64_t old = now_ms - LEDGER_WORKER_PRUNE_MS;
    size_t kept = 0;
    for (size_t i = 0; i < ws.n; i++) {
        if (ws.v[i].last_seen_ms < old) {
            err_t ignored;
            err_clear(&ignored);
            delete_worker(d, ws.v[i].id, old, &ignored);
            ledger_worker_free(&ws.v[i]);
        } else {
            ws.v[kept++] = ws.v[i];
        }
    }
    if (kept == 0) {
        free(ws.v);
        return ERR_OK;
    }
    *out = ws.v;
    *n = kept;
    return ERR_OK;
}
