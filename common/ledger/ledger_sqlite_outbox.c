/* ledger_sqlite_outbox — webhooks on the SQLite ledger: the batch's URL,
 * taking due events, recording attempts, and the per-batch summary
 * (ledger_sqlite_outbox.h).  Events are written by the trigger of
 * schema/sqlite/005_outbox.sql, never here. */
#include "ledger/ledger_sqlite_outbox.h"
#include "base/sqlite_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static err_code_t nomem(err_t *err) { return err_set(err, ERR_NOMEM, "out of memory"); }

/* One statement in its own transaction: the read of the URL already set
 * and the insert see the same row. */
err_code_t ledger_sqlite_set_batch_webhook(sqlite3 *db, const char *batch_id,
                                           const char *url, err_t *err)
{
    sqlite3_stmt *st = NULL;
    err_code_t rc;

    if (!batch_id || !*batch_id || !url || !*url)
        return err_set(err, ERR_INVALID, "ledger: webhook needs a batch id and a URL");
    if ((rc = sqlite_util_begin(db, err)) != ERR_OK)
        return rc;
    rc = sqlite_util_prepare(db, "INSERT OR IGNORE INTO ledger_webhooks (batch_id, url,"
                             " created_ms) VALUES (?1, ?2, ?3)", &st, err);
    if (rc == ERR_OK) {
        sqlite3_bind_text(st, 1, batch_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, url, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, sqlite_util_now_ms());
        rc = sqlite_util_step(db, st, "ledger set webhook", err);
        sqlite3_finalize(st);
        st = NULL;
    }
    if (rc == ERR_OK && sqlite3_changes(db) == 0)
        rc = sqlite_util_prepare(db, "SELECT 1 FROM ledger_webhooks WHERE batch_id = ?1"
                                 " AND url = ?2", &st, err);
    if (st) {
        sqlite3_bind_text(st, 1, batch_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, url, -1, SQLITE_STATIC);
        int s = sqlite3_step(st);
        if (s == SQLITE_DONE)
            rc = err_set(err, ERR_CONFLICT, "batch %s already has another webhook URL; "
                         "a batch's webhook cannot change", batch_id);
        else if (s != SQLITE_ROW)
            rc = sqlite_util_error(db, s, "ledger set webhook", err);
        sqlite3_finalize(st);
    }
    if (rc == ERR_OK)
        return sqlite_util_commit(db, err);
    sqlite_util_rollback(db);
    return rc;
}

/* Reads the taken rows, then moves their due time, in one transaction. */
err_code_t ledger_sqlite_outbox_take(sqlite3 *db, int64_t now_ms, int64_t lease_ms,
                                     size_t max, ledger_event_t **out, size_t *n,
                                     err_t *err)
{
    sqlite3_stmt *st = NULL, *up = NULL;
    ledger_event_t *v = NULL;
    size_t len = 0, cap = 0;
    err_code_t rc;
    int s = SQLITE_DONE;

    *out = NULL;
    *n = 0;
    if (max == 0)
        return ERR_OK;
    if ((rc = sqlite_util_begin(db, err)) != ERR_OK)
        return rc;
    rc = sqlite_util_prepare(db, "SELECT id, batch_id, job_id, type, payload, url,"
                             " created_ms, attempts FROM ledger_outbox WHERE"
                             " delivered_ms IS NULL AND gave_up_ms IS NULL AND"
                             " due_ms <= ?1 ORDER BY due_ms LIMIT ?2", &st, err);
    if (rc == ERR_OK)
        rc = sqlite_util_prepare(db, "UPDATE ledger_outbox SET due_ms = ?2 WHERE id = ?1",
                                 &up, err);
    if (rc == ERR_OK) {
        sqlite3_bind_int64(st, 1, now_ms);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
    }
    while (rc == ERR_OK && (s = sqlite3_step(st)) == SQLITE_ROW) {
        int oom = 0;
        ledger_event_t *nv = sqlite_util_grow(v, &cap, len, sizeof *v);
        if (!nv) {
            rc = nomem(err);
            break;
        }
        v = nv;
        ledger_event_t *e = &v[len++];
        memset(e, 0, sizeof *e);
        e->id = sqlite_util_column_strdup(st, 0, &oom);
        e->batch_id = sqlite_util_column_strdup(st, 1, &oom);
        e->job_id = sqlite_util_column_strdup(st, 2, &oom);
        e->type = sqlite_util_column_strdup(st, 3, &oom);
        e->payload = sqlite_util_column_strdup(st, 4, &oom);
        e->url = sqlite_util_column_strdup(st, 5, &oom);
        e->created_ms = sqlite3_column_int64(st, 6);
        e->attempts = sqlite3_column_int(st, 7);
        if (oom)
            rc = nomem(err);
    }
    if (rc == ERR_OK && s != SQLITE_DONE)
        rc = sqlite_util_error(db, s, "ledger outbox take", err);
    for (size_t i = 0; rc == ERR_OK && i < len; i++) {
        sqlite3_bind_text(up, 1, v[i].id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(up, 2, now_ms + (int64_t)(i + 1) * lease_ms);
        rc = sqlite_util_step(db, up, "ledger outbox take", err);
    }
    sqlite3_finalize(st);
    sqlite3_finalize(up);
    if (rc == ERR_OK)
        rc = sqlite_util_commit(db, err);
    else
        sqlite_util_rollback(db);
    if (rc != ERR_OK) {
        ledger_events_free(v, len);
        return rc;
    }
    *out = v;
    *n = len;
    return ERR_OK;
}

/* A delivered or given-up row stays: it is the delivery history status
 * shows. */
err_code_t ledger_sqlite_outbox_record(sqlite3 *db, const char *id, int64_t due_ms,
                                       long status, const char *error, err_t *err)
{
    sqlite3_stmt *st;
    int64_t now = sqlite_util_now_ms();
    err_code_t rc = sqlite_util_prepare(db,
        "UPDATE ledger_outbox SET attempts = attempts + 1, last_status = ?2,"
        " last_error = ?3,"
        " delivered_ms = CASE WHEN ?4 < 0 THEN ?5 END,"
        " gave_up_ms = CASE WHEN ?4 = 0 THEN ?5 END,"
        " due_ms = CASE WHEN ?4 > 0 THEN ?4 ELSE due_ms END"
        " WHERE id = ?1 AND delivered_ms IS NULL AND gave_up_ms IS NULL", &st, err);
    if (rc != ERR_OK)
        return rc;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, status);
    sqlite3_bind_text(st, 3, due_ms < 0 ? NULL : error, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, due_ms);
    sqlite3_bind_int64(st, 5, now);
    rc = sqlite_util_step(db, st, "ledger outbox record", err);
    sqlite3_finalize(st);
    if (rc == ERR_OK && sqlite3_changes(db) == 0)
        rc = err_set(err, ERR_NOTFOUND, "ledger outbox: no pending event %s", id);
    return rc;
}

err_code_t ledger_sqlite_outbox_summary(sqlite3 *db, const char *batch_id,
                                        ledger_outbox_summary_t *out, err_t *err)
{
    sqlite3_stmt *st;
    int oom = 0;
    err_code_t rc = sqlite_util_prepare(db,
        "SELECT w.url,"
        " (SELECT count(*) FROM ledger_outbox o WHERE o.batch_id = w.batch_id AND"
        "  o.delivered_ms IS NOT NULL),"
        " (SELECT count(*) FROM ledger_outbox o WHERE o.batch_id = w.batch_id AND"
        "  o.delivered_ms IS NULL AND o.gave_up_ms IS NULL),"
        " (SELECT count(*) FROM ledger_outbox o WHERE o.batch_id = w.batch_id AND"
        "  o.gave_up_ms IS NOT NULL),"
        " (SELECT min(due_ms) FROM ledger_outbox o WHERE o.batch_id = w.batch_id AND"
        "  o.delivered_ms IS NULL AND o.gave_up_ms IS NULL),"
        " e.last_status, e.last_error"
        " FROM ledger_webhooks w LEFT JOIN (SELECT last_status, last_error FROM"
        "  ledger_outbox WHERE batch_id = ?1 AND last_error IS NOT NULL AND"
        "  delivered_ms IS NULL ORDER BY due_ms DESC LIMIT 1) e"
        " WHERE w.batch_id = ?1", &st, err);

    memset(out, 0, sizeof *out);
    if (rc != ERR_OK)
        return rc;
    sqlite3_bind_text(st, 1, batch_id, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        out->url = sqlite_util_column_strdup(st, 0, &oom);
        out->delivered = sqlite3_column_int64(st, 1);
        out->pending = sqlite3_column_int64(st, 2);
        out->gave_up = sqlite3_column_int64(st, 3);
        out->next_due_ms = sqlite3_column_int64(st, 4);
        out->last_status = (long)sqlite3_column_int64(st, 5);
        out->last_error = sqlite_util_column_strdup(st, 6, &oom);
    } else if (s != SQLITE_DONE) {
        rc = sqlite_util_error(db, s, "ledger outbox summary", err);
    }
    sqlite3_finalize(st);
    if (rc == ERR_OK && oom)
        rc = nomem(err);
    if (rc != ERR_OK)
        ledger_outbox_summary_free(out);
    return rc;
}
