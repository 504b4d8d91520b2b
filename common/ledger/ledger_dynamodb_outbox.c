/* ledger_dynamodb_outbox — webhooks on the DynamoDB ledger (dynalite has no
 * transactions, so the outbox lives on the items themselves; the layout is
 * in schema/dynamodb/README.md, "Webhooks"):
 *
 * - a batch's URL is its item (pk = BATCH, sk = "webhook"), written once
 *   with a condition; each handle caches it per batch;
 * - the conditional UpdateItem that moves a job to a terminal state also
 *   writes the event onto the job item (ev_id, ev_type, ev_url,
 *   ev_created_ms) and the sparse keys of the global index by_outbox
 *   (outbox_pk = "outbox", outbox_due = when to try), so a crash can lose
 *   neither the state change nor its event;
 * - batch.completed goes onto the webhook item, written when a job event
 *   is recorded as delivered or given up and the batch has no queued or
 *   running job (a consistent count on by_state), on condition that none
 *   was written since that job's state change, and before the job event
 *   leaves the outbox: once per completion, and never lost to a crash in
 *   between;
 * - a job event's body is rendered from the job item when first taken and
 *   kept (ev_payload), so every redelivery sends the same bytes. */
#include "ledger/ledger_dynamodb_internal.h"
#include "base/buf.h"
#include "base/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WEBHOOK_SK "webhook"
#define OUTBOX_PK "outbox"
#define HOOK_CACHE 64
#define NONE_TTL_MS 30000     /* "no webhook" is believed this long */

static err_code_t nomem(err_t *err) { return err_set(err, ERR_NOMEM, "out of memory"); }

/* ---- the per-handle cache of batch URLs ---- */

typedef struct {
    char batch[DDB_MAX_ID + 1];
    char *url;                /* NULL: none (as of at_ms) */
    int64_t at_ms;
} hook_t;

struct ddb_hooks {
    hook_t v[HOOK_CACHE];
    size_t next;
};

void ddb_outbox_free(ddb_ledger_t *d)
{
    if (!d->hooks)
        return;
    for (size_t i = 0; i < HOOK_CACHE; i++)
        free(d->hooks->v[i].url);
    free(d->hooks);
    d->hooks = NULL;
}

err_code_t ddb_batch_webhook(ddb_ledger_t *d, aws_client_t *c, const char *batch,
                             const char **url, err_t *err)
{
    int64_t now = ddb_now_ms(d);
    json_t *item = NULL;
    hook_t *h = NULL;

    *url = NULL;
    if (!d->hooks && !(d->hooks = calloc(1, sizeof *d->hooks)))
        return nomem(err);
    for (size_t i = 0; i < HOOK_CACHE; i++) {
        hook_t *e = &d->hooks->v[i];
        if (strcmp(e->batch, batch) == 0 && (e->url || now - e->at_ms < NONE_TTL_MS)) {
            *url = e->url;
            return ERR_OK;
        }
    }
    err_code_t rc = ddb_get_item(c, d->table, ddb_key(batch, WEBHOOK_SK), &item, err);
    const char *u = NULL;
    if (rc == ERR_OK && item)
        rc = ddb_get_s(item, "url", true, &u, err);
    if (rc == ERR_OK) {
        h = &d->hooks->v[d->hooks->next++ % HOOK_CACHE];
        free(h->url);
        h->url = NULL;
        snprintf(h->batch, sizeof h->batch, "%s", batch);
        h->at_ms = now;
        if (u && !(h->url = strdup(u)))
            rc = nomem(err);
        *url = h->url;
    }
    json_decref(item);
    return rc;
}

/* A new webhook id "msg_" + 26 hex digits of randomness. */
static err_code_t new_id(char *out, size_t cap, err_t *err)
{
    uint8_t r[13];
    char hex[27];
    if (crypto_random(r, sizeof r) != ERR_OK)
        return err_set(err, ERR_IO, "ledger outbox: no randomness");
    hex_encode(r, sizeof r, hex);
    snprintf(out, cap, "msg_%s", hex);
    return ERR_OK;
}

err_code_t ddb_event_set(ddb_expr_t *x, const char *url, job_state_t st, int64_t now,
                         err_t *err)
{
    char id[40], type[32];
    err_code_t rc = new_id(id, sizeof id, err);
    if (rc != ERR_OK)
        return rc;
    snprintf(type, sizeof type, "job.%s", job_state_name(st));
    ddb_expr_set(x, "ev_id", ddb_s(id));
    ddb_expr_set(x, "ev_type", ddb_s(type));
    ddb_expr_set(x, "ev_url", ddb_s(url));
    ddb_expr_set(x, "ev_created_ms", ddb_n(now));
    ddb_expr_set(x, "ev_attempts", ddb_n(0));
    ddb_expr_set(x, "ev_payload", NULL);
    ddb_expr_set(x, "ev_delivered_ms", NULL);
    ddb_expr_set(x, "ev_gave_up_ms", NULL);
    ddb_expr_set(x, "ev_last_error", NULL);
    ddb_expr_set(x, "outbox_pk", ddb_s(OUTBOX_PK));
    ddb_expr_set(x, "outbox_due", ddb_n(now));
    return ERR_OK;
}

err_code_t ddb_set_batch_webhook(ledger_t *l, const char *batch_id, const char *url,
                                 err_t *err)
{
    DDB_ERR_LOCAL(err);
    ddb_ledger_t *d = DDB(l);
    json_t *item = NULL;
    ddb_expr_t x;
    err_code_t rc;

    if (!batch_id || !*batch_id || !url || !*url)
        return err_set(err, ERR_INVALID, "ledger: webhook needs a batch id and a URL");
    if (strlen(batch_id) > DDB_MAX_ID)
        return err_set(err, ERR_INVALID, "ledger: batch id longer than %d", DDB_MAX_ID);
    json_t *req = json_pack("{s:s, s:o}", "TableName", d->table, "Key",
                            ddb_key(batch_id, WEBHOOK_SK));
    ddb_expr_init(&x);
    ddb_expr_name(&x, "pk");
    ddb_expr_set(&x, "url", ddb_s(url));
    ddb_expr_set(&x, "batch_id", ddb_s(batch_id));
    ddb_expr_set(&x, "created_ms", ddb_n(ddb_now_ms(d)));
    rc = ddb_update(d->c, d->table, req, &x, "attribute_not_exists(#pk)", err);
    if (rc == ERR_OK || !ddb_is_condition_failed(err))
        return rc;
    /* Set before: the same URL is fine, another is refused. */
    const char *have = NULL;
    if ((rc = ddb_get_item(d->c, d->table, ddb_key(batch_id, WEBHOOK_SK), &item, err)) ==
            ERR_OK &&
        item && (rc = ddb_get_s(item, "url", true, &have, err)) == ERR_OK)
        rc = strcmp(have, url) == 0 ? ERR_OK
             : err_set(err, ERR_CONFLICT, "batch %s already has another webhook URL; a "
                       "batch's webhook cannot change", batch_id);
    if (rc == ERR_OK)
        err_clear(err);
    json_decref(item);
    return rc;
}

/* ---- taking events ---- */

typedef struct {
    json_t *keys;             /* array of {pk, sk} */
    size_t max;
} keys_t;

static err_code_t collect_key(const json_t *item, void *ud, bool *stop, err_t *err)
{
    keys_t *k = ud;
    json_t *key = json_pack("{s:O, s:O}", "pk", json_object_get(item, "pk"), "sk",
                            json_object_get(item, "sk"));
    if (!key || json_array_append_new(k->keys, key) != 0)
        return nomem(err);
    *stop = json_array_size(k->keys) >= k->max;
    return ERR_OK;
}

static void iso_ms(int64_t ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char s[32];
    gmtime_r(&t, &tm);
    strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, cap, "%s.%03dZ", s, (int)(ms % 1000));
}

/* The body of a job event, from the (terminal) job item: the same shape
 * the SQLite trigger writes.  A new string (caller frees), NULL on
 * ERR_NOMEM / a malformed item (err set). */
static char *job_payload(const json_t *item, const char *type, int64_t created_ms,
                         err_t *err)
{
    ledger_job_t j;
    char ts[40];
    int64_t attempts = 0;
    if (ddb_job_from_item(item, &j, err) != ERR_OK)
        return NULL;
    ddb_get_n(item, "attempts", false, &attempts, NULL);
    json_t *spec = json_loads(j.spec_json, 0, NULL);
    const char *model = j.model ? j.model
                                : json_string_value(json_object_get(spec, "model"));
    json_t *data = json_pack("{s:s, s:s, s:s}", "batch", j.batch_id, "job", j.job_id, "state",
                             job_state_name(j.state));
    if (data) {
        json_object_set_new(data, "url", j.state == JOB_SUCCEEDED && j.url
                                             ? json_string(j.url) : json_null());
        json_t *e = j.state != JOB_SUCCEEDED ? ledger_job_error_json(&j) : NULL;
        json_object_set_new(data, "error", e ? e : json_null());
        json_object_set_new(data, "attempts", json_integer(attempts));
        json_object_set_new(data, "run", json_integer(j.run));
        json_object_set_new(data, "model", model ? json_string(model) : json_null());
        json_object_set_new(data, "line", json_integer(j.line));
        json_t *tags = json_object_get(spec, "tags");
        json_object_set(data, "tags", tags ? tags : json_null());
    }
    iso_ms(created_ms, ts, sizeof ts);
    json_t *root = data ? json_pack("{s:s, s:s, s:o}", "type", type, "timestamp", ts, "data",
                                    data) : NULL;
    char *text = root ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    json_decref(spec);
    ledger_job_free(&j);
    if (!text)
        nomem(err);
    return text;
}

/* Takes the event on item (read consistently) if it is still due: moves
 * its due time by the lease, on condition nobody else did, keeping the
 * rendered body.  *took false when it was not (any more) due. */
static err_code_t take_one(ddb_ledger_t *d, const json_t *item, int64_t now, int64_t lease,
                           ledger_event_t *ev, bool *took, err_t *err)
{
    const char *id = NULL, *type = NULL, *url = NULL, *payload = NULL, *batch = NULL;
    const char *sk = NULL;
    int64_t due = 0, created = 0, attempts = 0;
    char *rendered = NULL;
    ddb_expr_t x;
    err_code_t rc;

    *took = false;
    memset(ev, 0, sizeof *ev);
    if (ddb_get_s(item, "ev_id", false, &id, err) != ERR_OK || !id ||
        ddb_get_n(item, "outbox_due", false, &due, err) != ERR_OK || !due || due > now)
        return ERR_OK;
    if ((rc = ddb_get_s(item, "ev_type", true, &type, err)) != ERR_OK ||
        (rc = ddb_get_s(item, "ev_url", true, &url, err)) != ERR_OK ||
        (rc = ddb_get_s(item, "pk", true, &batch, err)) != ERR_OK ||
        (rc = ddb_get_s(item, "sk", true, &sk, err)) != ERR_OK ||
        (rc = ddb_get_s(item, "ev_payload", false, &payload, err)) != ERR_OK ||
        (rc = ddb_get_n(item, "ev_created_ms", false, &created, err)) != ERR_OK ||
        (rc = ddb_get_n(item, "ev_attempts", false, &attempts, err)) != ERR_OK)
        return rc;
    if (!payload && !(payload = rendered = job_payload(item, type, created, err)))
        return err->code;
    json_t *req = json_pack("{s:s, s:o}", "TableName", d->table, "Key",
                            json_pack("{s:O, s:O}", "pk", json_object_get(item, "pk"), "sk",
                                      json_object_get(item, "sk")));
    ddb_expr_init(&x);
    ddb_expr_name(&x, "ev_id");
    ddb_expr_value(&x, ":id", ddb_s(id));
    ddb_expr_value(&x, ":old", ddb_n(due));
    ddb_expr_set(&x, "outbox_due", ddb_n(now + lease));
    if (rendered)
        ddb_expr_set(&x, "ev_payload", ddb_s(rendered));
    rc = ddb_update(d->c, d->table, req, &x, "#ev_id = :id AND #outbox_due = :old", err);
    if (rc != ERR_OK && ddb_is_condition_failed(err)) {
        err_clear(err);      /* another deliverer took it */
        free(rendered);
        return ERR_OK;
    }
    bool is_job = strncmp(sk, DDB_JOB_SK_PREFIX, strlen(DDB_JOB_SK_PREFIX)) == 0;
    if (rc == ERR_OK &&
        (!(ev->id = strdup(id)) || !(ev->batch_id = strdup(batch)) ||
         !(ev->type = strdup(type)) || !(ev->url = strdup(url)) ||
         !(ev->payload = strdup(payload)) ||
         (is_job && !(ev->job_id = strdup(sk + strlen(DDB_JOB_SK_PREFIX))))))
        rc = nomem(err);
    ev->created_ms = created;
    ev->attempts = (int)attempts;
    free(rendered);
    if (rc != ERR_OK) {
        free(ev->id); free(ev->batch_id); free(ev->job_id);
        free(ev->type); free(ev->url); free(ev->payload);
        memset(ev, 0, sizeof *ev);
        return rc;
    }
    *took = true;
    return ERR_OK;
}

/* The index is eventually consistent: each key it names is read again,
 * consistently, and taken only if still due. */
err_code_t ddb_outbox_take(ledger_t *l, int64_t now_ms, int64_t lease_ms, size_t max,
                           ledger_event_t **out, size_t *n, err_t *err)
{
    DDB_ERR_LOCAL(err);
    ddb_ledger_t *d = DDB(l);
    keys_t k = {json_array(), max};
    ledger_event_t *v = NULL;
    size_t len = 0;
    ddb_expr_t x;
    err_code_t rc = ERR_OK;

    *out = NULL;
    *n = 0;
    if (max == 0) {
        json_decref(k.keys);
        return ERR_OK;
    }
    json_t *req = json_pack("{s:s, s:s, s:I}", "TableName", d->table, "IndexName",
                            DDB_INDEX_OUTBOX, "Limit", (json_int_t)max);
    ddb_expr_init(&x);
    ddb_expr_name(&x, "outbox_pk");
    ddb_expr_name(&x, "outbox_due");
    ddb_expr_value(&x, ":o", ddb_s(OUTBOX_PK));
    ddb_expr_value(&x, ":now", ddb_n(now_ms));
    rc = k.keys ? ddb_expr_finish(&x, req, "KeyConditionExpression",
                                  "#outbox_pk = :o AND #outbox_due <= :now", err)
                : nomem(err);
    ddb_expr_free(&x);
    if (rc == ERR_OK)
        rc = ddb_query(d->c, d->table, req, collect_key, &k, NULL, err);
    json_decref(req);
    if (rc == ERR_OK && json_array_size(k.keys) &&
        !(v = calloc(json_array_size(k.keys), sizeof *v)))
        rc = nomem(err);
    for (size_t i = 0; rc == ERR_OK && i < json_array_size(k.keys); i++) {
        json_t *item = NULL, *key = json_array_get(k.keys, i);
        bool took = false;
        rc = ddb_get_item(d->c, d->table, json_incref(key), &item, err);
        if (rc == ERR_OK && item)
            rc = take_one(d, item, now_ms, (int64_t)(len + 1) * lease_ms, &v[len], &took,
                          err);
        len += took;
        json_decref(item);
    }
    json_decref(k.keys);
    if (rc != ERR_OK) {
        ledger_events_free(v, len);
        return rc;
    }
    *out = v;
    *n = len;
    return ERR_OK;
}

/* ---- batch.completed ---- */

static err_code_t count_live(ddb_ledger_t *d, const char *batch, int64_t *live, err_t *err)
{
    static const char *const prefixes[] = {"queued#", "running#"};
    *live = 0;
    for (size_t i = 0; i < 2; i++) {
        int64_t c = 0;
        ddb_expr_t x;
        json_t *req = json_pack("{s:s, s:s, s:s, s:b}", "TableName", d->table, "IndexName",
                                DDB_INDEX_STATE, "Select", "COUNT", "ConsistentRead", 1);
        ddb_expr_init(&x);
        ddb_expr_name(&x, "pk");
        ddb_expr_name(&x, "state_key");
        ddb_expr_value(&x, ":b", ddb_s(batch));
        ddb_expr_value(&x, ":p", ddb_s(prefixes[i]));
        err_code_t rc = ddb_expr_finish(&x, req, "KeyConditionExpression",
                                        "#pk = :b AND begins_with(#state_key, :p)", err);
        ddb_expr_free(&x);
        if (rc == ERR_OK)
            rc = ddb_query(d->c, d->table, req, NULL, NULL, &c, err);
        json_decref(req);
        if (rc != ERR_OK)
            return rc;
        *live += c;
    }
    return ERR_OK;
}

/* Writes batch.completed onto the webhook item unless one was written
 * after since_ms, the state change of the job event being recorded: a
 * stale job event (older than the last completion) brings none, the first
 * job event of a batch completing again (jobs added or retried after the
 * last completion) brings a new one.  A previous completion still pending
 * is superseded by the newer one. */
static err_code_t write_completed(ddb_ledger_t *d, const char *batch, const char *url,
                                  int64_t since_ms, err_t *err)
{
    ledger_batch_t b;
    char id[40], ts[40];
    int64_t now = ddb_now_ms(d);
    ddb_expr_t x;
    err_code_t rc = ddb_get_batch(&d->base, batch, &b, err);
    if (rc != ERR_OK)
        return rc;
    json_t *counts = json_object();
    for (int s = 0; counts && s < JOB__NSTATES; s++)
        if (b.by_state[s])
            json_object_set_new(counts, job_state_name((job_state_t)s),
                                json_integer(b.by_state[s]));
    buf_t status = BUF_INIT, manifest = BUF_INIT;
    buf_appendf(&status, "/batches/%s", batch);
    buf_appendf(&manifest, "onesheet wait %s --output results.jsonl", batch);
    iso_ms(now, ts, sizeof ts);
    json_t *root = json_pack("{s:s, s:s, s:{s:s, s:I, s:o, s:s, s:s}}", "type",
                             "batch.completed", "timestamp", ts, "data", "batch", batch,
                             "total", (json_int_t)b.total, "counts", counts, "status",
                             status.data ? (const char *)status.data : "", "manifest",
                             manifest.data ? (const char *)manifest.data : "");
    char *text = root ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    buf_free(&status);
    buf_free(&manifest);
    ledger_batch_free(&b);
    if (!text)
        return nomem(err);
    if ((rc = new_id(id, sizeof id, err)) != ERR_OK) {
        free(text);
        return rc;
    }
    json_t *req = json_pack("{s:s, s:o}", "TableName", d->table, "Key",
                            ddb_key(batch, WEBHOOK_SK));
    ddb_expr_init(&x);
    ddb_expr_name(&x, "pk");
    ddb_expr_set(&x, "ev_id", ddb_s(id));
    ddb_expr_set(&x, "ev_type", ddb_s("batch.completed"));
    ddb_expr_set(&x, "ev_url", ddb_s(url));
    ddb_expr_set(&x, "ev_payload", ddb_s(text));
    ddb_expr_set(&x, "ev_created_ms", ddb_n(now));
    ddb_expr_set(&x, "ev_attempts", ddb_n(0));
    ddb_expr_set(&x, "outbox_pk", ddb_s(OUTBOX_PK));
    ddb_expr_set(&x, "outbox_due", ddb_n(now));
    ddb_expr_set(&x, "ev_delivered_ms", NULL);
    ddb_expr_set(&x, "ev_gave_up_ms", NULL);
    ddb_expr_set(&x, "ev_last_error", NULL);
    ddb_expr_value(&x, ":since", ddb_n(since_ms));
    free(text);
    rc = ddb_update(d->c, d->table, req, &x,
                    "attribute_exists(#pk) AND (attribute_not_exists(#ev_id) OR"
                    " #ev_created_ms < :since)", err);
    if (rc != ERR_OK && ddb_is_condition_failed(err)) {
        err_clear(err);      /* written for this completion already */
        rc = ERR_OK;
    }
    return rc;
}

err_code_t ddb_outbox_record(ledger_t *l, const ledger_event_t *ev, int64_t due_ms,
                             long status, const char *error, err_t *err)
{
    DDB_ERR_LOCAL(err);
    ddb_ledger_t *d = DDB(l);
    ddb_expr_t x;
    err_code_t rc = ERR_OK;
    int64_t now = ddb_now_ms(d);

    /* The last job event to leave the outbox brings batch.completed in,
     * before it leaves. */
    if (ev->job_id && due_ms <= 0) {
        int64_t live = 0;
        if ((rc = count_live(d, ev->batch_id, &live, err)) == ERR_OK && live == 0)
            rc = write_completed(d, ev->batch_id, ev->url, ev->created_ms, err);
        if (rc != ERR_OK)
            return rc;
    }
    json_t *req = json_pack("{s:s, s:o}", "TableName", d->table, "Key",
                            ev->job_id ? ddb_job_key(ev->batch_id, ev->job_id)
                                       : ddb_key(ev->batch_id, WEBHOOK_SK));
    ddb_expr_init(&x);
    ddb_expr_name(&x, "ev_id");
    ddb_expr_name(&x, "outbox_pk");
    ddb_expr_value(&x, ":id", ddb_s(ev->id));
    ddb_expr_add(&x, "ev_attempts", 1);
    ddb_expr_set(&x, "ev_status", ddb_n(status));
    ddb_expr_set(&x, "ev_last_error", due_ms < 0 || !error ? NULL : ddb_s(error));
    if (due_ms > 0) {
        ddb_expr_set(&x, "outbox_due", ddb_n(due_ms));
    } else {
        ddb_expr_set(&x, "outbox_pk", NULL);
        ddb_expr_set(&x, "outbox_due", NULL);
        ddb_expr_set(&x, due_ms < 0 ? "ev_delivered_ms" : "ev_gave_up_ms", ddb_n(now));
    }
    rc = ddb_update(d->c, d->table, req, &x, "#ev_id = :id AND attribute_exists(#outbox_pk)",
                    err);
    if (rc != ERR_OK && ddb_is_condition_failed(err))
        rc = err_set(err, ERR_NOTFOUND, "ledger outbox: no pending event %s", ev->id);
    return rc;
}

/* ---- the per-batch summary ---- */

static err_code_t sum_event(const json_t *item, void *ud, bool *stop, err_t *err)
{
    ledger_outbox_summary_t *s = ud;
    int64_t v = 0, due = 0;
    const char *e = NULL;
    (void)stop;
    (void)err;
    if (ddb_get_n(item, "ev_delivered_ms", false, &v, NULL) == ERR_OK && v) {
        s->delivered++;
        return ERR_OK;
    }
    if (ddb_get_n(item, "ev_gave_up_ms", false, &v, NULL) == ERR_OK && v) {
        s->gave_up++;
        return ERR_OK;
    }
    if (ddb_get_n(item, "outbox_due", false, &due, NULL) != ERR_OK || !due)
        return ERR_OK;
    s->pending++;
    if (!s->next_due_ms || due < s->next_due_ms)
        s->next_due_ms = due;
    if (ddb_get_s(item, "ev_last_error", false, &e, NULL) == ERR_OK && e) {
        free(s->last_error);
        s->last_error = strdup(e);
        ddb_get_n(item, "ev_status", false, &v, NULL);
        s->last_status = (long)v;
    }
    return ERR_OK;
}

/* Reads the batch's partition for items carrying an event: fine for
 * `status`, which looks at one batch. */
err_code_t ddb_outbox_summary(ledger_t *l, const char *batch_id,
                              ledger_outbox_summary_t *out, err_t *err)
{
    DDB_ERR_LOCAL(err);
    ddb_ledger_t *d = DDB(l);
    json_t *item = NULL;
    ddb_expr_t x;
    err_code_t rc;

    memset(out, 0, sizeof *out);
    rc = ddb_get_item(d->c, d->table, ddb_key(batch_id, WEBHOOK_SK), &item, err);
    if (rc != ERR_OK || !item) {
        json_decref(item);
        return rc;
    }
    rc = ddb_dup_s(item, "url", true, &out->url, err);
    json_decref(item);
    json_t *req = json_pack("{s:s, s:b, s:s}", "TableName", d->table, "ConsistentRead", 1,
                            "FilterExpression", "attribute_exists(#ev_id)");
    ddb_expr_init(&x);
    ddb_expr_name(&x, "pk");
    ddb_expr_name(&x, "ev_id");
    ddb_expr_value(&x, ":b", ddb_s(batch_id));
    if (rc == ERR_OK)
        rc = ddb_expr_finish(&x, req, "KeyConditionExpression", "#pk = :b", err);
    ddb_expr_free(&x);
    if (rc == ERR_OK)
        rc = ddb_query(d->c, d->table, req, sum_event, out, NULL, err);
    json_decref(req);
    if (rc != ERR_OK)
        ledger_outbox_summary_free(out);
    return rc;
}
