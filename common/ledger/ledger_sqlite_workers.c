/* ledger_sqlite_workers — the worker registry in the embedded ledger: one
 * row per running worker in ledger_workers, upserted at every heartbeat.
 * A beat is a single INSERT ... ON CONFLICT statement (its own implicit
 * transaction), so beats of many workers never hold the write lock for
 * more than one row. */
#include "ledger/ledger_sqlite_workers.h"
#include "base/sqlite_util.h"

#include <stdlib.h>
#include <string.h>

#define WORKER_COLS "id, host, pid, version, models, started_ms, last_seen_ms, beat_ms," \
                    " in_flight, done, failed, rate_per_min"

static bool empty(const char *s) { return !s || !*s; }

err_code_t ledger_sqlite_worker_beat(sqlite3 *db, const ledger_worker_t *w, err_t *err)
{
    sqlite3_stmt *st;
    err_code_t rc;

    if (empty(w->id) || empty(w->host) || empty(w->models))
        return err_set(err, ERR_INVALID, "ledger: a worker needs an id, a host and models");
    rc = sqlite_util_prepare(db, "INSERT INTO ledger_workers (" WORKER_COLS ")"
                                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
                                 " ON CONFLICT (id) DO UPDATE SET host = excluded.host,"
                                 " pid = excluded.pid, version = excluded.version,"
                                 " models = excluded.models, started_ms = excluded.started_ms,"
                                 " last_seen_ms = excluded.last_seen_ms,"
                                 " beat_ms = excluded.beat_ms, in_flight = excluded.in_flight,"
                                 " done = excluded.done, failed = excluded.failed,"
                                 " rate_per_min = excluded.rate_per_min", &st, err);
    if (rc != ERR_OK)
        return rc;
    sqlite3_bind_text(st, 1, w->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, w->host, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, w->pid);
    sqlite3_bind_text(st, 4, w->version ? w->version : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, w->models, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, w->started_ms);
    sqlite3_bind_int64(st, 7, w->last_seen_ms);
    sqlite3_bind_int64(st, 8, w->beat_ms);
    sqlite3_bind_int64(st, 9, w->in_flight);
    sqlite3_bind_int64(st, 10, w->done);
    sqlite3_bind_int64(st, 11, w->failed);
    sqlite3_bind_double(st, 12, w->rate_per_min);
    rc = sqlite_util_step(db, st, "ledger: worker heartbeat", err);
    sqlite3_finalize(st);
    return rc;
}

err_code_t ledger_sqlite_worker_leave(sqlite3 *db, const char *id, err_t *err)
{
    sqlite3_stmt *st;
    if (empty(id))
        return err_set(err, ERR_INVALID, "ledger: a worker id is empty");
    err_code_t rc = sqlite_util_prepare(db, "DELETE FROM ledger_workers WHERE id = ?1", &st,
                                        err);
    if (rc != ERR_OK)
        return rc;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    rc = sqlite_util_step(db, st, "ledger: worker leave", err);
    sqlite3_finalize(st);
    return rc;
}

static err_code_t prune(sqlite3 *db, int64_t now_ms, err_t *err)
{
    sqlite3_stmt *st;
    err_code_t rc = sqlite_util_prepare(db, "DELETE FROM ledger_workers"
                                            " WHERE last_seen_ms < ?1", &st, err);
    if (rc != ERR_OK)
        return rc;
    sqlite3_bind_int64(st, 1, now_ms - LEDGER_WORKER_PRUNE_MS);
    rc = sqlite_util_step(db, st, "ledger: pruning workers", err);
    sqlite3_finalize(st);
    return rc;
}

static void read_worker(sqlite3_stmt *st, ledger_worker_t *w, int *oom)
{
    memset(w, 0, sizeof *w);
    w->id = sqlite_util_column_strdup(st, 0, oom);
    w->host = sqlite_util_column_strdup(st, 1, oom);
    w->pid = sqlite3_column_int64(st, 2);
    w->version = sqlite_util_column_strdup(st, 3, oom);
    w->models = sqlite_util_column_strdup(st, 4, oom);
    w->started_ms = sqlite3_column_int64(st, 5);
    w->last_seen_ms = sqlite3_column_int64(st, 6);
    w->beat_ms = sqlite3_column_int64(st, 7);
    w->in_flight = sqlite3_column_int64(st, 8);
    w->done = sqlite3_column_int64(st, 9);
    w->failed = sqlite3_column_int64(st, 10);
    w->rate_per_min = sqlite3_column_double(st, 11);
}

err_code_t ledger_sqlite_workers_list(sqlite3 *db, int64_t now_ms, ledger_worker_t **out,
                                      size_t *n, err_t *err)
{
    ledger_worker_t *v = NULL;
    size_t len = 0, cap = 0;
    sqlite3_stmt *st;
    int r, oom = 0;
    err_code_t rc;

    *out = NULL;
    *n = 0;
    /* A reader that cannot prune (a read-only file) still lists. */
    err_t ignored;
    err_clear(&ignored);
    prune(db, now_ms, &ignored);
    if ((rc = sqlite_util_prepare(db, "SELECT " WORKER_COLS " FROM ledger_workers"
                                      " ORDER BY id", &st, err)) != ERR_OK)
        return rc;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        ledger_worker_t *g = sqlite_util_grow(v, &cap, len, sizeof *v);
        if (!g) {
            oom = 1;
            break;
        }
        v = g;
        read_worker(st, &v[len++], &oom);
        if (oom)
            break;
    }
    if (oom)
        rc = err_set(err, ERR_NOMEM, "out of memory");
    else if (r != SQLITE_DONE)
        rc = sqlite_util_error(db, r, "ledger: listing workers", err);
    sqlite3_finalize(st);
    if (rc != ERR_OK) {
        ledger_workers_free(v, len);
        return rc;
    }
    *out = v;
    *n = len;
    return ERR_OK;
}
