/* ledger_sqlite_retry — see ledger_sqlite_retry.h.
 *
 * A retry is two statements in one BEGIN IMMEDIATE transaction: copy the
 * selected jobs' finished runs into ledger_attempts, then re-open the same
 * rows as run + 1.  Both use one WHERE clause, and the transaction holds the
 * write lock from the start, so they see the same rows, and a second retry
 * (or one racing this one) finds them queued and selects nothing. */
#include "ledger/ledger_sqlite_retry.h"
#include "base/sqlite_util.h"

#include <stdlib.h>
#include <string.h>

static err_code_t nomem(err_t *err) { return err_set(err, ERR_NOMEM, "out of memory"); }

/* The jobs a retry selects: ?1 batch, ?2 job (NULL: all of the batch), ?3..?6
 * the LEDGER_RETRY_* bits failed, cancelled, filtered, dead. */
#define SELECTED \
    " j.batch_id = ?1 AND (?2 IS NULL OR j.job_id = ?2) AND (" \
    "(j.state = 'failed' AND (?3 OR (?6 AND j.error_code = '" LEDGER_DEAD_LETTER "')))" \
    " OR (j.state = 'cancelled' AND ?4) OR (j.state = 'filtered' AND ?5))"

static void bind_selection(sqlite3_stmt *st, const char *batch_id, const char *job_id,
                           unsigned states)
{
    sqlite3_bind_text(st, 1, batch_id, -1, SQLITE_STATIC);
    if (job_id)
        sqlite3_bind_text(st, 2, job_id, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 2);
    sqlite3_bind_int(st, 3, !!(states & LEDGER_RETRY_FAILED));
    sqlite3_bind_int(st, 4, !!(states & LEDGER_RETRY_CANCELLED));
    sqlite3_bind_int(st, 5, !!(states & LEDGER_RETRY_FILTERED));
    sqlite3_bind_int(st, 6, !!(states & LEDGER_RETRY_DEAD));
}

/* ERR_NOTFOUND unless the batch (job_id NULL) or the job exists. */
static err_code_t exists(sqlite3 *db, const char *batch_id, const char *job_id,
                         err_t *err)
{
    sqlite3_stmt *st;
    err_code_t rc = sqlite_util_prepare(db, job_id
        ? "SELECT 1 FROM ledger_jobs WHERE batch_id = ?1 AND job_id = ?2"
        : "SELECT 1 FROM ledger_batches WHERE batch_id = ?1", &st, err);
    if (rc != ERR_OK)
        return rc;
    sqlite3_bind_text(st, 1, batch_id, -1, SQLITE_STATIC);
    if (job_id)
        sqlite3_bind_text(st, 2, job_id, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    if (s == SQLITE_DONE && job_id)
        rc = err_set(err, ERR_NOTFOUND, "ledger retry: no job %s in batch %s", job_id,
                     batch_id);
    else if (s == SQLITE_DONE)
        rc = err_set(err, ERR_NOTFOUND, "ledger retry: no batch %s", batch_id);
    else if (s != SQLITE_ROW)
        rc = sqlite_util_error(db, s, "ledger retry", err);
    sqlite3_finalize(st);
    return rc;
}

err_code_t ledger_sqlite_retry(sqlite3 *db, const char *batch_id, const char *job_id,
                               unsigned states, size_t *n, err_t *err)
{
    sqlite3_stmt *st = NULL;
    err_code_t rc;

    *n = 0;
    if (!batch_id || !*batch_id)
        return err_set(err, ERR_INVALID, "ledger: batch id is empty");
    if (!states || (states & ~LEDGER_RETRY_ALL))
        return err_set(err, ERR_INVALID, "ledger retry: no states selected");
    if ((rc = sqlite_util_begin(db, err)) != ERR_OK)
        return rc;
    rc = exists(db, batch_id, job_id, err);
    /* claims: the run's share of the job's claims, which count on across
     * runs (the runs archived before took theirs). */
    if (rc == ERR_OK)
        rc = sqlite_util_prepare(db,
            "INSERT OR IGNORE INTO ledger_attempts (batch_id, job_id, run, state,"
            " error_code, error_message, claims, started_ms, finished_ms, url)"
            " SELECT j.batch_id, j.job_id, j.run, j.state, j.error_code, j.error_message,"
            " j.attempts - COALESCE((SELECT SUM(a.claims) FROM ledger_attempts a WHERE"
            " a.batch_id = j.batch_id AND a.job_id = j.job_id), 0), j.started_ms,"
            " j.finished_ms, j.url FROM ledger_jobs j WHERE" SELECTED, &st, err);
    if (rc == ERR_OK) {
        bind_selection(st, batch_id, job_id, states);
        rc = sqlite_util_step(db, st, "ledger retry", err);
        sqlite3_finalize(st);
        st = NULL;
    }
    if (rc == ERR_OK)
        rc = sqlite_util_prepare(db,
            "UPDATE ledger_jobs AS j SET state = 'queued', run = run + 1, enqueued_ms = 0,"
            " lease_owner = NULL, finished_by = NULL, lease_expires_ms = 0, error_code = NULL,"
            " error_message = NULL, url = NULL, store_key = NULL, sha256 = NULL,"
            " bytes = 0, seed = 0, model = NULL, cost_usd = 0, started_ms = 0,"
            " finished_ms = 0, updated_ms = ?7, checksum_alg = NULL, checksum = NULL,"
            " art_key = NULL, model_lifecycle = NULL WHERE" SELECTED, &st, err);
    if (rc == ERR_OK) {
        bind_selection(st, batch_id, job_id, states);
        sqlite3_bind_int64(st, 7, sqlite_util_now_ms());
        if ((rc = sqlite_util_step(db, st, "ledger retry", err)) == ERR_OK)
            *n = (size_t)sqlite3_changes(db);
        sqlite3_finalize(st);
    }
    if (rc == ERR_OK)
        rc = sqlite_util_commit(db, err);
    else
        sqlite_util_rollback(db);
    if (rc != ERR_OK)
        *n = 0;
    return rc;
}

err_code_t ledger_sqlite_pending(sqlite3 *db, const char *batch_id, char ***ids,
                                 int **runs, size_t *n, err_t *err)
{
    sqlite3_stmt *st;
    char **v = NULL;
    int *r = NULL;
    size_t len = 0, cap = 0, rcap = 0;
    err_code_t rc = sqlite_util_prepare(db, "SELECT job_id, run FROM ledger_jobs WHERE"
                                        " batch_id = ?1 AND state = 'queued' AND"
                                        " enqueued_ms = 0 ORDER BY line, job_id", &st, err);
    int s;

    *ids = NULL;
    if (runs)
        *runs = NULL;
    *n = 0;
    if (rc != ERR_OK)
        return rc;
    sqlite3_bind_text(st, 1, batch_id, -1, SQLITE_STATIC);
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        int oom = 0;
        char **nv = sqlite_util_grow(v, &cap, len, sizeof *v);
        if (nv)
            v = nv;
        int *nr = nv ? sqlite_util_grow(r, &rcap, len, sizeof *r) : NULL;
        if (nr)
            r = nr;
        char *id = nr ? sqlite_util_column_strdup(st, 0, &oom) : NULL;
        if (!id) {
            rc = nomem(err);
            break;
        }
        v[len] = id;
        r[len++] = sqlite3_column_int(st, 1);
    }
    if (rc == ERR_OK && s != SQLITE_DONE)
        rc = sqlite_util_error(db, s, "ledger read", err);
    sqlite3_finalize(st);
    if (rc != ERR_OK) {
        for (size_t i = 0; i < len; i++)
            free(v[i]);
        free(v);
        free(r);
        return rc;
    }
    *ids = v;
    *n = len;
    if (runs)
        *runs = r;
    else
        free(r);
    return ERR_OK;
}

err_code_t ledger_sqlite_run(sqlite3 *db, const char *batch_id, const char *job_id,
                             int *run, err_t *err)
{
    sqlite3_stmt *st;
    err_code_t rc = sqlite_util_prepare(db, "SELECT run FROM ledger_jobs WHERE"
                                        " batch_id = ?1 AND job_id = ?2", &st, err);
    *run = 0;
    if (rc != ERR_OK)
        return rc;
    sqlite3_bind_text(st, 1, batch_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, job_id, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW)
        *run = sqlite3_column_int(st, 0);
    else if (s == SQLITE_DONE)
        rc = err_set(err, ERR_NOTFOUND, "ledger: no job %s in batch %s", job_id, batch_id);
    else
        rc = sqlite_util_error(db, s, "ledger read", err);
    sqlite3_finalize(st);
    return rc;
}

/* Reads one job's archived runs into j->history. */
static err_code_t job_history(sqlite3 *db, sqlite3_stmt *st, ledger_job_t *j, err_t *err)
{
    size_t cap = 0;
    err_code_t rc = ERR_OK;
    int s;

    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, j->batch_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, j->job_id, -1, SQLITE_STATIC);
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        int oom = 0;
        ledger_attempt_t *nv = sqlite_util_grow(j->history, &cap, j->nhistory,
                                                sizeof *nv);
        if (!nv)
            return nomem(err);
        j->history = nv;
        ledger_attempt_t *a = &j->history[j->nhistory++];
        memset(a, 0, sizeof *a);
        a->run = sqlite3_column_int(st, 0);
        int state = job_state_parse((const char *)sqlite3_column_text(st, 1));
        a->state = state < 0 ? JOB_FAILED : (job_state_t)state;
        a->error_code = sqlite_util_column_strdup(st, 2, &oom);
        a->error_message = sqlite_util_column_strdup(st, 3, &oom);
        a->claims = sqlite3_column_int(st, 4);
        a->started_ms = sqlite3_column_int64(st, 5);
        a->finished_ms = sqlite3_column_int64(st, 6);
        a->url = sqlite_util_column_strdup(st, 7, &oom);
        if (oom)
            return nomem(err);
    }
    if (s != SQLITE_DONE)
        rc = sqlite_util_error(db, s, "ledger read history", err);
    return rc;
}

err_code_t ledger_sqlite_history(sqlite3 *db, ledger_job_t *jobs, size_t n, err_t *err)
{
    sqlite3_stmt *st;
    err_code_t rc;

    if (n == 0)
        return ERR_OK;
    rc = sqlite_util_prepare(db, "SELECT run, state, error_code, error_message, claims,"
                             " started_ms, finished_ms, url FROM ledger_attempts WHERE"
                             " batch_id = ?1 AND job_id = ?2 ORDER BY run", &st, err);
    for (size_t i = 0; rc == ERR_OK && i < n; i++)
        rc = job_history(db, st, &jobs[i], err);
    sqlite3_finalize(st);
    return rc;
}
