/* ledger_sqlite — the embedded ledger: batches and jobs in two SQLite
 * tables (schema/sqlite/001_init.sql), usually in the queue's file.
 *
 * Every state change is a conditional UPDATE (WHERE state = ... AND
 * lease_owner = ...) whose sqlite3_changes() says whether it won, the same
 * shape as the DynamoDB back-end's condition expressions.  Each runs in a
 * short BEGIN IMMEDIATE transaction so that, when it loses, the follow-up
 * read that explains why sees the row as the UPDATE saw it.
 *
 * A lease only matters when someone else wants the job: its owner may still
 * extend or complete it after expiry, as long as nobody has claimed it. */
#include "ledger/ledger_sqlite.h"
#include "ledger/ledger_sqlite_retry.h"
#include "ledger/ledger_sqlite_spend.h"
#include "ledger/ledger_sqlite_workers.h"
#include "ledger/ledger_sqlite_outbox.h"
#include "ledger/ledger_sqlite_review.h"
#include "ledger/ledger_sqlite_quota.h"
#include "base/sqlite_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    ledger_t base;
    sqlite3 *db;
} sl_ledger_t;

#define DB(l) (((sl_ledger_t *)(l))->db)

#define JOB_COLS \
    "j.batch_id, j.job_id, j.state, j.attempts, j.spec_json, j.line, " \
    "j.lease_owner, j.lease_expires_ms, j.error_code, j.error_message, j.url, " \
    "j.store_key, j.sha256, j.bytes, j.seed, j.model, j.cost_usd, j.created_ms, " \
    "j.enqueued_ms, j.started_ms, j.finished_ms, j.updated_ms, j.run, " \
    "j.checksum_alg, j.checksum, j.art_key, j.finished_by, j.model_lifecycle"
#define LIVE "('queued', 'running')"

static err_code_t nomem(err_t *err) { return err_set(err, ERR_NOMEM, "out of memory"); }

static err_code_t need(const char *s, const char *what, err_t *err)
{
    return s && *s ? ERR_OK : err_set(err, ERR_INVALID, "ledger: %s is empty", what);
}

/* Reads the row at st (columns JOB_COLS) into j, which owns the copies. */
static err_code_t read_job(sqlite3_stmt *st, ledger_job_t *j, err_t *err)
{
    int oom = 0;
    memset(j, 0, sizeof *j);
    j->batch_id = sqlite_util_column_strdup(st, 0, &oom);
    j->job_id = sqlite_util_column_strdup(st, 1, &oom);
    int state = job_state_parse((const char *)sqlite3_column_text(st, 2));
    j->state = state < 0 ? JOB_FAILED : (job_state_t)state;
    j->attempts = sqlite3_column_int(st, 3);
    j->spec_json = sqlite_util_column_strdup(st, 4, &oom);
    j->line = sqlite3_column_int(st, 5);
    j->lease_owner = sqlite_util_column_strdup(st, 6, &oom);
    j->lease_expires = sqlite3_column_int64(st, 7);
    j->error_code = sqlite_util_column_strdup(st, 8, &oom);
    j->error_message = sqlite_util_column_strdup(st, 9, &oom);
    j->url = sqlite_util_column_strdup(st, 10, &oom);
    j->store_key = sqlite_util_column_strdup(st, 11, &oom);
    j->sha256 = sqlite_util_column_strdup(st, 12, &oom);
    j->bytes = sqlite3_column_int64(st, 13);
    j->seed = sqlite3_column_int64(st, 14);
    j->model = sqlite_util_column_strdup(st, 15, &oom);
    j->cost_usd = sqlite3_column_double(st, 16);
    j->created_ms = sqlite3_column_int64(st, 17);
    j->enqueued_ms = sqlite3_column_int64(st, 18);
    j->started_ms = sqlite3_column_int64(st, 19);
    j->finished_ms = sqlite3_column_int64(st, 20);
    j->updated_ms = sqlite3_column_int64(st, 21);
    j->run = sqlite3_column_int(st, 22);
    j->checksum_alg = sqlite_util_column_strdup(st, 23, &oom);
    j->checksum = sqlite_util_column_strdup(st, 24, &oom);
    j->art_key = sqlite_util_column_strdup(st, 25, &oom);
    j->finished_by = sqlite_util_column_strdup(st, 26, &oom);
    j->model_lifecycle = sqlite_util_column_strdup(st, 27, &oom);
    if (oom)
        return nomem(err);
    if (state < 0)
        return err_set(err, ERR_IO, "ledger: job %s has an unknown state", j->job_id);
    return ERR_OK;
}

/* Steps st to the end, collecting jobs into a new array; finalizes st. */
static err_code_t collect_jobs(sqlite3 *db, sqlite3_stmt *st, ledger_job_t **out,
                               size_t *n, err_t *err)
{
    ledger_job_t *v = NULL;
    size_t len = 0, cap = 0;
    err_code_t rc = ERR_OK;
    int s;

    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        ledger_job_t *nv = sqlite_util_grow(v, &cap, len, sizeof *v);
        if (!nv) {
            rc = nomem(err);
            break;
        }
        v = nv;
        rc = read_job(st, &v[len++], err);
        if (rc != ERR_OK)
            break;
    }
    if (rc == ERR_OK && s != SQLITE_DONE)
        rc = sqlite_util_error(db, s, "ledger read", err);
    sqlite3_finalize(st);
    if (rc != ERR_OK) {
        ledger_jobs_free(v, len);
        return rc;
    }
    *out = v;
    *n = len;
    return ERR_OK;
}

/* Looks up a job's state and lease holder; *state is -1 when missing. */
static err_code_t peek(sqlite3 *db, const char *batch, const char *job, int *state,
                       char *owner, size_t owner_len, err_t *err)
{
    sqlite3_stmt *st;
    err_code_t rc;

    *state = -1;
    rc = sqlite_util_prepare(db, "SELECT state, lease_owner FROM ledger_jobs"
                                        " WHERE batch_id = ?1 AND job_id = ?2", &st, err);
    if (rc != ERR_OK)
        return rc;
    sqlite3_bind_text(st, 1, batch, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, job, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        const unsigned char *o = sqlite3_column_text(st, 1);
        *state = job_state_parse((const char *)sqlite3_column_text(st, 0));
        snprintf(owner, owner_len, "%s", o ? (const char *)o : "");
    } else if (s != SQLITE_DONE) {
        rc = sqlite_util_error(db, s, "ledger read", err);
    }
    sqlite3_finalize(st);
    return rc;
}

/* Runs a conditional UPDATE prepared and bound by the caller (?1 batch, ?2
 * job) in its own transaction, and finalizes it.  When no row changed, says
 * why: ERR_NOTFOUND, or ERR_CONFLICT naming the job's state and owner, with
 * that state in *seen (optional), read in the same transaction. */
static err_code_t cond_update(sqlite3 *db, sqlite3_stmt *st, const char *batch,
                              const char *job, const char *what, int *seen,
                              err_t *err)
{
    err_code_t rc = sqlite_util_begin(db, err);
    int s = rc == ERR_OK ? sqlite3_step(st) : SQLITE_DONE;

    if (rc == ERR_OK && s != SQLITE_DONE)
        rc = sqlite_util_error(db, s, what, err);
    if (rc == ERR_OK && sqlite3_changes(db) == 0) {
        int state = -1;
        char owner[128] = "";
        rc = peek(db, batch, job, &state, owner, sizeof owner, err);
        if (seen)
            *seen = state;
        if (rc == ERR_OK && state < 0)
            rc = err_set(err, ERR_NOTFOUND, "%s: no job %s in batch %s", what, job, batch);
        else if (rc == ERR_OK)
            rc = err_set(err, ERR_CONFLICT, "%s: job %s/%s is %s%s%s", what, batch, job,
                         job_state_name((job_state_t)state), *owner ? ", lease owner " : "",
                         owner);
    }
    sqlite3_finalize(st);
    /* A lost condition is an answer, not a failure: end the transaction,
     * which wrote nothing, either way. */
    if (rc == ERR_OK)
        return sqlite_util_commit(db, err);
    sqlite_util_rollback(db);
    return rc;
}

static err_code_t sl_add_batch(ledger_t *l, const char *batch_id, const char *source,
                               const ledger_new_job_t *jobs, size_t n, bool *created,
                               size_t *added, err_t *err)
{
    sqlite3 *db = DB(l);
    sqlite3_stmt *b = NULL, *j = NULL;
    err_code_t rc = need(batch_id, "batch id", err);
    int64_t now = sqlite_util_now_ms();
    size_t count = 0;

    *created = false;
    *added = 0;
    for (size_t i = 0; rc == ERR_OK && i < n; i++)
        if ((rc = need(jobs[i].job_id, "job id", err)) == ERR_OK && !jobs[i].spec_json)
            rc = err_set(err, ERR_INVALID, "ledger: job %s has no spec", jobs[i].job_id);
    if (rc != ERR_OK || (rc = sqlite_util_begin(db, err)) != ERR_OK)
        return rc;
    rc = sqlite_util_prepare(db, "INSERT OR IGNORE INTO ledger_batches (batch_id, source,"
                             " created_ms) VALUES (?1, ?2, ?3)", &b, err);
    if (rc == ERR_OK) {
        sqlite3_bind_text(b, 1, batch_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(b, 2, source ? source : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(b, 3, now);
        rc = sqlite_util_step(db, b, "ledger add batch", err);
        *created = rc == ERR_OK && sqlite3_changes(db) == 1;
        rc = rc != ERR_OK ? rc : sqlite_util_prepare(db,
            "INSERT OR IGNORE INTO ledger_jobs (batch_id, job_id, spec_json, line,"
            " created_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?5)", &j, err);
    }
    /* One reused statement in one transaction: 100,000 jobs cost one fsync. */
    for (size_t i = 0; rc == ERR_OK && i < n; i++) {
        sqlite3_bind_text(j, 1, batch_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(j, 2, jobs[i].job_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(j, 3, jobs[i].spec_json, -1, SQLITE_STATIC);
        sqlite3_bind_int(j, 4, jobs[i].line);
        sqlite3_bind_int64(j, 5, now);
        if ((rc = sqlite_util_step(db, j, "ledger add job", err)) == ERR_OK)
            count += (size_t)sqlite3_changes(db);
    }
    sqlite3_finalize(b);
    sqlite3_finalize(j);
    if (rc == ERR_OK)
        rc = sqlite_util_commit(db, err);
    else
        sqlite_util_rollback(db);
    if (rc != ERR_OK) {
        *created = false;
        return rc;
    }
    *added = count;
    return ERR_OK;
}

static err_code_t sl_pending_enqueue(ledger_t *l, const char *batch_id, char ***ids,
                                     int **runs, size_t *n, err_t *err)
{
    return ledger_sqlite_pending(DB(l), batch_id, ids, runs, n, err);
}

/* Unknown job ids are skipped: there is nothing to record for them. */
static err_code_t sl_mark_enqueued(ledger_t *l, const char *batch_id,
                                   const char *const *job_ids, size_t n, err_t *err)
{
    sqlite3 *db = DB(l);
    sqlite3_stmt *st = NULL;
    int64_t now = sqlite_util_now_ms();
    err_code_t rc = sqlite_util_begin(db, err);

    if (rc == ERR_OK)
        rc = sqlite_util_prepare(db, "UPDATE ledger_jobs SET enqueued_ms = ?3,"
                                 " updated_ms = ?3 WHERE batch_id = ?1 AND job_id = ?2",
                                 &st, err);
    for (size_t i = 0; rc == ERR_OK && i < n; i++) {
        sqlite3_bind_text(st, 1, batch_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, job_ids[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, now);
        rc = sqlite_util_step(db, st, "ledger mark enqueued", err);
    }
    sqlite3_finalize(st);
    if (rc == ERR_OK)
        return sqlite_util_commit(db, err);
    sqlite_util_rollback(db);
    return rc;
}

/* Prepares sql and binds ?1 batch, ?2 job, ?3 owner (when given) and ?4
 * now, the parameters every conditional write shares. */
static err_code_t prep_job(sqlite3 *db, const char *sql, const char *batch,
                           const char *job, const char *owner, int64_t now,
                           sqlite3_stmt **st, err_t *err)
{
    err_code_t rc = sqlite_util_prepare(db, sql, st, err);
    if (rc != ERR_OK)
        return rc;
    sqlite3_bind_text(*st, 1, batch, -1, SQLITE_STATIC);
    sqlite3_bind_text(*st, 2, job, -1, SQLITE_STATIC);
    if (owner)
        sqlite3_bind_text(*st, 3, owner, -1, SQLITE_STATIC);
    sqlite3_bind_int64(*st, 4, now);
    return ERR_OK;
}

static err_code_t sl_claim(ledger_t *l, const char *batch_id, const char *job_id,
                           int run, const char *owner, int lease_s, ledger_claim_t *out,
                           err_t *err)
{
    sqlite3 *db = DB(l);
    sqlite3_stmt *st;
    int seen = -1;
    err_code_t rc;

    if (run < 1)
        run = 1;
    if ((rc = need(owner, "lease owner", err)) != ERR_OK)
        return rc;
    if (lease_s <= 0)
        return err_set(err, ERR_INVALID, "ledger claim: lease of %d s", lease_s);
    rc = prep_job(db, "UPDATE ledger_jobs SET state = 'running', lease_owner = ?3,"
                  " lease_expires_ms = ?4 + ?5, attempts = attempts + 1,"
                  " started_ms = ?4, updated_ms = ?4"
                  " WHERE batch_id = ?1 AND job_id = ?2 AND run = ?6 AND (state = 'queued' OR"
                  " (state = 'running' AND (lease_expires_ms <= ?4 OR lease_owner = ?3)))",
                  batch_id, job_id, owner, sqlite_util_now_ms(), &st, err);
    if (rc != ERR_OK)
        return rc;
    sqlite3_bind_int64(st, 5, (int64_t)lease_s * 1000);
    sqlite3_bind_int(st, 6, run);
    rc = cond_update(db, st, batch_id, job_id, "ledger claim", &seen, err);
    int cur = 0;
    if (rc == ERR_CONFLICT)
        rc = ledger_sqlite_run(db, batch_id, job_id, &cur, err);
    if (rc == ERR_OK && cur == 0)
        *out = CLAIM_OK;
    else if (rc == ERR_NOTFOUND)
        *out = CLAIM_NOTFOUND;
    else if (rc != ERR_OK)
        return rc;
    else if (cur > run)
        *out = CLAIM_STALE;
    else if (cur < run)
        *out = CLAIM_HELD; /* a message ahead of its ledger row: look again later */
    else if (seen == JOB_CANCELLED)
        *out = CLAIM_CANCELLED;
    else if (job_state_terminal((job_state_t)seen))
        *out = CLAIM_DONE;
    else
        *out = CLAIM_HELD;
    /* Losing the claim is an outcome, not an error. */
    err_clear(err);
    return ERR_OK;
}

static err_code_t sl_extend(ledger_t *l, const char *batch_id, const char *job_id,
                            const char *owner, int lease_s, err_t *err)
{
    sqlite3_stmt *st;
    err_code_t rc = need(owner, "lease owner", err);
    if (rc == ERR_OK && lease_s <= 0)
        rc = err_set(err, ERR_INVALID, "ledger extend: lease of %d s", lease_s);
    if (rc == ERR_OK)
        rc = prep_job(DB(l), "UPDATE ledger_jobs SET lease_expires_ms = ?4 + ?5,"
                      " updated_ms = ?4 WHERE batch_id = ?1 AND job_id = ?2 AND"
                      " state = 'running' AND lease_owner = ?3",
                      batch_id, job_id, owner, sqlite_util_now_ms(), &st, err);
    if (rc != ERR_OK)
        return rc;
    sqlite3_bind_int64(st, 5, (int64_t)lease_s * 1000);
    return cond_update(DB(l), st, batch_id, job_id, "ledger extend", NULL, err);
}

static err_code_t sl_release(ledger_t *l, const char *batch_id, const char *job_id,
                             const char *owner, const char *code, const char *msg,
                             err_t *err)
{
    sqlite3_stmt *st;
    err_code_t rc = need(owner, "lease owner", err);
    if (rc == ERR_OK)
        rc = prep_job(DB(l), "UPDATE ledger_jobs SET state = 'queued', lease_owner = NULL,"
                      " lease_expires_ms = 0, error_code = ?5, error_message = ?6,"
                      " updated_ms = ?4 WHERE batch_id = ?1 AND job_id = ?2 AND"
                      " state = 'running' AND lease_owner = ?3",
                      batch_id, job_id, owner, sqlite_util_now_ms(), &st, err);
    if (rc != ERR_OK)
        return rc;
    sqlite3_bind_text(st, 5, code, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, msg, -1, SQLITE_STATIC);
    return cond_update(DB(l), st, batch_id, job_id, "ledger release", NULL, err);
}

/* After a refused succeed or fail by owner: whether the job is already
 * finished the way it asked (state, and value in column col, NULL
 * matching NULL), by owner, the answer to a retried request whose first
 * attempt landed.  Then the refusal is no error. */
static err_code_t done_by(sqlite3 *db, const char *batch, const char *job,
                          const char *owner, job_state_t state, const char *col,
                          const char *value, err_code_t rc, err_t *err)
{
    sqlite3_stmt *st = NULL;
    char sql[200];

    if (rc != ERR_CONFLICT)
        return rc;
    snprintf(sql, sizeof sql, "SELECT 1 FROM ledger_jobs WHERE batch_id = ?1 AND job_id ="
             " ?2 AND finished_by = ?3 AND state = ?4 AND %s IS ?5", col);
    if (sqlite_util_prepare(db, sql, &st, NULL) != ERR_OK)
        return rc;
    sqlite3_bind_text(st, 1, batch, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, job, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, owner, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, job_state_name(state), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, value, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        err_clear(err);
        rc = ERR_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

/* The lease ends with the run: the owner moves to finished_by, which says
 * which worker did it. */
static err_code_t sl_succeed(ledger_t *l, const char *batch_id, const char *job_id,
                             const char *owner, const ledger_result_t *r, err_t *err)
{
    sqlite3_stmt *st;
    err_code_t rc = need(owner, "lease owner", err);
    if (rc == ERR_OK)
        rc = prep_job(DB(l), "UPDATE ledger_jobs SET state = 'succeeded',"
                      " lease_owner = NULL, finished_by = ?3,"
                      " lease_expires_ms = 0, error_code = NULL, error_message = NULL,"
                      " url = ?5, store_key = ?6, sha256 = ?7, model = ?8, bytes = ?9,"
                      " seed = ?10, cost_usd = ?11, finished_ms = ?4, updated_ms = ?4,"
                      " checksum_alg = ?12, checksum = ?13, art_key = ?14,"
                      " model_lifecycle = ?15"
                      " WHERE batch_id = ?1 AND job_id = ?2 AND state = 'running'"
                      " AND lease_owner = ?3",
                      batch_id, job_id, owner, sqlite_util_now_ms(), &st, err);
    if (rc != ERR_OK)
        return rc;
    sqlite3_bind_text(st, 5, r->url, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, r->store_key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, r->sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, r->model, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, r->bytes);
    sqlite3_bind_int64(st, 10, r->seed);
    sqlite3_bind_double(st, 11, r->cost_usd);
    sqlite3_bind_text(st, 12, r->checksum_alg, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 13, r->checksum, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 14, r->art_key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 15, r->model_lifecycle, -1, SQLITE_STATIC);
    rc = cond_update(DB(l), st, batch_id, job_id, "ledger succeed", NULL, err);
    return done_by(DB(l), batch_id, job_id, owner, JOB_SUCCEEDED, "url", r->url, rc, err);
}

/* With owner NULL (a dead-lettered message) any live job is marked; one
 * already finished is left alone and ERR_CONFLICT says so. */
static err_code_t sl_fail_lifecycle(ledger_t *l, const char *batch_id, const char *job_id,
                                    int run, const char *owner, job_state_t state,
                                    const char *code, const char *msg, const char *lifecycle,
                                    err_t *err)
{
    sqlite3_stmt *st;
    err_code_t rc;

    if (state != JOB_FAILED && state != JOB_FILTERED)
        return err_set(err, ERR_INVALID, "ledger fail: state %s is not failed or "
                       "filtered", job_state_name(state));
    rc = prep_job(DB(l), owner
                  ? "UPDATE ledger_jobs SET state = ?5, lease_expires_ms = 0,"
                    " lease_owner = NULL, finished_by = ?3,"
                    " error_code = ?6, error_message = ?7, finished_ms = ?4,"
                    " updated_ms = ?4, model_lifecycle = ?9 WHERE batch_id = ?1 AND"
                    " job_id = ?2 AND state = 'running' AND lease_owner = ?3"
                  : "UPDATE ledger_jobs SET state = ?5, lease_expires_ms = 0,"
                    " lease_owner = NULL, error_code = ?6, error_message = ?7, finished_ms = ?4,"
                    " updated_ms = ?4, model_lifecycle = ?9 WHERE batch_id = ?1 AND job_id = ?2 AND"
                    " state IN " LIVE " AND run = ?8",
                  batch_id, job_id, owner, sqlite_util_now_ms(), &st, err);
    if (rc != ERR_OK)
        return rc;
    if (!owner)
        sqlite3_bind_int(st, 8, run < 1 ? 1 : run);
    sqlite3_bind_text(st, 5, job_state_name(state), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, code, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, msg, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, lifecycle, -1, SQLITE_STATIC);
    rc = cond_update(DB(l), st, batch_id, job_id, "ledger fail", NULL, err);
    return owner ? done_by(DB(l), batch_id, job_id, owner, state, "error_code", code, rc, err)
                 : rc;
}

static err_code_t sl_fail(ledger_t *l, const char *batch_id, const char *job_id,
                          int run, const char *owner, job_state_t state, const char *code,
                          const char *msg, err_t *err)
{
    return sl_fail_lifecycle(l, batch_id, job_id, run, owner, state, code, msg, NULL, err);
}

/* A job already finished is not an error (*n stays 0); an unknown job or
 * batch is ERR_NOTFOUND. */
static err_code_t sl_cancel(ledger_t *l, const char *batch_id, const char *job_id,
                            size_t *n, err_t *err)
{
    sqlite3 *db = DB(l);
    sqlite3_stmt *st = NULL;
    err_code_t rc = need(batch_id, "batch id", err);
    int64_t now = sqlite_util_now_ms();

    *n = 0;
    if (rc != ERR_OK)
        return rc;
    if (job_id) {
        rc = prep_job(db, "UPDATE ledger_jobs SET state = 'cancelled', lease_expires_ms = 0,"
                      " finished_ms = ?4, updated_ms = ?4 WHERE batch_id = ?1 AND"
                      " job_id = ?2 AND state IN " LIVE, batch_id, job_id, NULL, now,
                      &st, err);
        if (rc == ERR_OK)
            rc = cond_update(db, st, batch_id, job_id, "ledger cancel", NULL, err);
        *n = rc == ERR_OK;
        if (rc != ERR_CONFLICT)
            return rc;
        err_clear(err);
        return ERR_OK;
    }
    /* Whether the batch exists is read in the same transaction. */
    if ((rc = sqlite_util_begin(db, err)) != ERR_OK)
        return rc;
    rc = sqlite_util_prepare(db, "SELECT 1 FROM ledger_batches WHERE batch_id = ?1",
                             &st, err);
    if (rc == ERR_OK) {
        sqlite3_bind_text(st, 1, batch_id, -1, SQLITE_STATIC);
        int s = sqlite3_step(st);
        if (s == SQLITE_DONE)
            rc = err_set(err, ERR_NOTFOUND, "ledger cancel: no batch %s", batch_id);
        else if (s != SQLITE_ROW)
            rc = sqlite_util_error(db, s, "ledger cancel", err);
        sqlite3_finalize(st);
    }
    if (rc == ERR_OK)
        rc = sqlite_util_prepare(db, "UPDATE ledger_jobs SET state = 'cancelled',"
                                 " lease_expires_ms = 0, finished_ms = ?2, updated_ms = ?2"
                                 " WHERE batch_id = ?1 AND state IN " LIVE, &st, err);
    if (rc == ERR_OK) {
        sqlite3_bind_text(st, 1, batch_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now);
        if ((rc = sqlite_util_step(db, st, "ledger cancel", err)) == ERR_OK)
            *n = (size_t)sqlite3_changes(db);
        sqlite3_finalize(st);
    }
    if (rc == ERR_OK)
        return sqlite_util_commit(db, err);
    sqlite_util_rollback(db);
    return rc;
}

static void sl_close(ledger_t *l)
{
    sqlite3_close(DB(l));
    free(l);
}

static err_code_t sl_get_jobs(ledger_t *l, const char *batch_id, const char *job_id,
                              ledger_job_t **out, size_t *n, err_t *err)
{
    sqlite3_stmt *st;
    err_code_t rc = need(job_id, "job id", err);

    *out = NULL;
    *n = 0;
    if (rc == ERR_OK)
        rc = sqlite_util_prepare(DB(l), "SELECT " JOB_COLS " FROM ledger_jobs j JOIN"
                                 " ledger_batches b ON b.batch_id = j.batch_id"
                                 " WHERE j.job_id = ?1 AND (?2 IS NULL OR"
                                 " j.batch_id = ?2) ORDER BY b.created_ms, j.batch_id",
                                 &st, err);
    if (rc != ERR_OK)
        return rc;
    sqlite3_bind_text(st, 1, job_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, batch_id, -1, SQLITE_STATIC);
    if ((rc = collect_jobs(DB(l), st, out, n, err)) != ERR_OK)
        return rc;
    if ((rc = ledger_sqlite_history(DB(l), *out, *n, err)) != ERR_OK) {
        ledger_jobs_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

/* Steps st, whose rows are (batch_id, source, created_ms, state, count)
 * grouped by batch then state, folding each batch's rows into one summary.
 * Finalizes st. */
static err_code_t collect_batches(sqlite3 *db, sqlite3_stmt *st, ledger_batch_t **out,
                                  size_t *n, err_t *err)
{
    ledger_batch_t *v = NULL;
    size_t len = 0, cap = 0;
    err_code_t rc = ERR_OK;
    int s;

    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        if (len == 0 || strcmp(v[len - 1].batch_id, id) != 0) {
            int oom = 0;
            ledger_batch_t *nv = sqlite_util_grow(v, &cap, len, sizeof *v);
            if (!nv) {
                rc = nomem(err);
                break;
            }
            v = nv;
            ledger_batch_t *b = &v[len++];
            memset(b, 0, sizeof *b);
            b->batch_id = sqlite_util_column_strdup(st, 0, &oom);
            b->source = sqlite_util_column_strdup(st, 1, &oom);
            b->created_ms = sqlite3_column_int64(st, 2);
            if (oom) {
                rc = nomem(err);
                break;
            }
        }
        /* A batch without jobs has one row with a NULL state. */
        int state = job_state_parse((const char *)sqlite3_column_text(st, 3));
        if (state >= 0) {
            v[len - 1].by_state[state] = sqlite3_column_int64(st, 4);
            v[len - 1].total += sqlite3_column_int64(st, 4);
        }
    }
    if (rc == ERR_OK && s != SQLITE_DONE)
        rc = sqlite_util_error(db, s, "ledger read batches", err);
    sqlite3_finalize(st);
    if (rc != ERR_OK) {
        ledger_batches_free(v, len);
        return rc;
    }
    *out = v;
    *n = len;
    return ERR_OK;
}

/* One statement reads the batches and their counts from one snapshot.  The
 * IN list (every state) lets SQLite count from the (state, batch_id) index
 * alone instead of visiting each job row. */
#define BATCH_SUMMARY(from) \
    "SELECT b.batch_id, b.source, b.created_ms, j.state, count(j.state) FROM " from \
    " b LEFT JOIN ledger_jobs j ON j.batch_id = b.batch_id AND j.state IN" \
    " ('queued', 'running', 'succeeded', 'failed', 'filtered', 'cancelled')" \
    " GROUP BY b.batch_id, j.state ORDER BY b.created_ms DESC, b.batch_id DESC"

static err_code_t sl_get_batch(ledger_t *l, const char *batch_id, ledger_batch_t *out,
                               err_t *err)
{
    sqlite3_stmt *st;
    ledger_batch_t *v = NULL;
    size_t n = 0;
    err_code_t rc = need(batch_id, "batch id", err);

    memset(out, 0, sizeof *out);
    if (rc == ERR_OK)
        rc = sqlite_util_prepare(DB(l), BATCH_SUMMARY("(SELECT * FROM ledger_batches"
                                 " WHERE batch_id = ?1)"), &st, err);
    if (rc != ERR_OK)
        return rc;
    sqlite3_bind_text(st, 1, batch_id, -1, SQLITE_STATIC);
    if ((rc = collect_batches(DB(l), st, &v, &n, err)) != ERR_OK)
        return rc;
    if (n == 0) {
        free(v);
        return err_set(err, ERR_NOTFOUND, "no batch %s", batch_id);
    }
    *out = v[0];
    free(v);
    return ERR_OK;
}

static err_code_t sl_list_batches(ledger_t *l, size_t limit, ledger_batch_t **out,
                                  size_t *n, err_t *err)
{
    sqlite3_stmt *st;
    err_code_t rc = sqlite_util_prepare(DB(l), BATCH_SUMMARY("(SELECT * FROM"
                                        " ledger_batches ORDER BY created_ms DESC,"
                                        " batch_id DESC LIMIT ?1)"), &st, err);
    *out = NULL;
    *n = 0;
    if (rc != ERR_OK)
        return rc;
    sqlite3_bind_int64(st, 1, limit ? (sqlite3_int64)limit : -1);
    return collect_batches(DB(l), st, out, n, err);
}

/* The query is assembled from fixed fragments for the filters present, so
 * each shape can use its index; values are always bound, never pasted.  The
 * page cursor is the last (batch, job) of the previous page; its sort key is
 * looked up in the same statement. */
static err_code_t sl_list(ledger_t *l, const ledger_filter_t *f, ledger_job_t **out,
                          size_t *n, err_t *err)
{
    sqlite3_stmt *st = NULL;
    char sql[2048];
    const char *after_batch = f->after_batch_id ? f->after_batch_id : f->batch_id;
    err_code_t rc = ERR_OK;

    *out = NULL;
    *n = 0;
    if (f->state < -1 || f->state >= JOB__NSTATES)
        return err_set(err, ERR_INVALID, "ledger list: bad state %d", f->state);
    if (f->after_job_id && !after_batch)
        return err_set(err, ERR_INVALID, "ledger list: a page cursor needs its batch");
    /* Within one batch the cursor is also a range of the (batch_id, line,
     * job_id) index, which the planner uses only when told: without it each
     * page of a big batch scanned every row before the cursor again. */
    bool in_batch = f->after_job_id && f->batch_id && !strcmp(after_batch, f->batch_id);
    int len = snprintf(sql, sizeof sql,
        "SELECT " JOB_COLS " FROM ledger_jobs j JOIN ledger_batches b ON"
        " b.batch_id = j.batch_id WHERE 1%s%s%s%s%s ORDER BY b.created_ms, j.batch_id,"
        " j.line, j.job_id LIMIT :limit",
        f->batch_id ? " AND j.batch_id = :batch" : "",
        f->state >= 0 ? " AND j.state = :state" : "",
        f->since_ms ? " AND j.created_ms >= :since" : "",
        f->after_job_id ? " AND (b.created_ms, j.batch_id, j.line, j.job_id) >"
                          " (SELECT cb.created_ms, cj.batch_id, cj.line, cj.job_id FROM"
                          " ledger_jobs cj JOIN ledger_batches cb ON cb.batch_id ="
                          " cj.batch_id WHERE cj.job_id = :c_job AND"
                          " cj.batch_id = :c_batch)" : "",
        in_batch ? " AND (j.line, j.job_id) > (SELECT cj.line, cj.job_id FROM ledger_jobs"
                   " cj WHERE cj.job_id = :c_job AND cj.batch_id = :c_batch)" : "");
    if (len < 0 || (size_t)len >= sizeof sql)
        rc = err_set(err, ERR_INTERNAL, "ledger list: query too long");
    if (rc == ERR_OK)
        rc = sqlite_util_prepare(DB(l), sql, &st, err);
    if (rc != ERR_OK)
        return rc;
    /* A parameter this shape lacks has index 0; binding it is a harmless
     * SQLITE_RANGE. */
#define IDX(name) sqlite3_bind_parameter_index(st, name)
    sqlite3_bind_int64(st, IDX(":limit"), f->limit ? (sqlite3_int64)f->limit : -1);
    sqlite3_bind_text(st, IDX(":batch"), f->batch_id, -1, SQLITE_STATIC);
    if (f->state >= 0)
        sqlite3_bind_text(st, IDX(":state"), job_state_name((job_state_t)f->state), -1,
                          SQLITE_STATIC);
    sqlite3_bind_int64(st, IDX(":since"), f->since_ms);
    sqlite3_bind_text(st, IDX(":c_batch"), after_batch, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, IDX(":c_job"), f->after_job_id, -1, SQLITE_STATIC);
#undef IDX
    return collect_jobs(DB(l), st, out, n, err);
}

static err_code_t sl_spend_add(ledger_t *l, const ledger_spend_t *s, bool *added,
                               double *month_total, err_t *err)
{
    return ledger_sqlite_spend_add(DB(l), s, added, month_total, err);
}

static err_code_t sl_spend_get(ledger_t *l, const char *campaign, const char *month,
                               double *usd, err_t *err)
{
    return ledger_sqlite_spend_get(DB(l), campaign, month, usd, err);
}

static err_code_t sl_retry(ledger_t *l, const char *batch_id, const char *job_id,
                           unsigned states, size_t *n, err_t *err)
{
    return ledger_sqlite_retry(DB(l), batch_id, job_id, states, n, err);
}

/* ---- worker registry (ledger_sqlite_workers.c) ---- */

static err_code_t sl_worker_beat(ledger_t *l, const ledger_worker_t *w, err_t *err)
{
    return ledger_sqlite_worker_beat(DB(l), w, err);
}

static err_code_t sl_worker_leave(ledger_t *l, const char *id, err_t *err)
{
    return ledger_sqlite_worker_leave(DB(l), id, err);
}

static err_code_t sl_workers_list(ledger_t *l, int64_t now_ms, ledger_worker_t **out,
                                  size_t *n, err_t *err)
{
    return ledger_sqlite_workers_list(DB(l), now_ms, out, n, err);
}

/* Webhooks (ledger_sqlite_outbox.c). */
static err_code_t sl_set_batch_webhook(ledger_t *l, const char *batch_id, const char *url,
                                       err_t *err)
{
    return ledger_sqlite_set_batch_webhook(DB(l), batch_id, url, err);
}

static err_code_t sl_outbox_take(ledger_t *l, int64_t now_ms, int64_t lease_ms, size_t max,
                                 ledger_event_t **out, size_t *n, err_t *err)
{
    return ledger_sqlite_outbox_take(DB(l), now_ms, lease_ms, max, out, n, err);
}

static err_code_t sl_outbox_record(ledger_t *l, const ledger_event_t *ev, int64_t due_ms,
                                   long status, const char *error, err_t *err)
{
    return ledger_sqlite_outbox_record(DB(l), ev->id, due_ms, status, error, err);
}

static err_code_t sl_outbox_summary(ledger_t *l, const char *batch_id,
                                    ledger_outbox_summary_t *out, err_t *err)
{
    return ledger_sqlite_outbox_summary(DB(l), batch_id, out, err);
}

static err_code_t sl_review(ledger_t *l, const char *batch_id, const char *job_id,
                            const char *mark, const char *by, int64_t at_ms, err_t *err)
{
    return ledger_sqlite_review(DB(l), batch_id, job_id, mark, by, at_ms, err);
}

static err_code_t sl_reviews(ledger_t *l, const char *batch_id, const char *job_id,
                             ledger_review_t **out, size_t *n, err_t *err)
{
    return ledger_sqlite_reviews(DB(l), batch_id, job_id, out, n, err);
}

static err_code_t sl_link(ledger_t *l, const char *from_batch, const char *from_job,
                          const char *to_batch, const char *to_job, err_t *err)
{
    return ledger_sqlite_link(DB(l), from_batch, from_job, to_batch, to_job, err);
}

/* Shared quota (ledger_sqlite_quota.c). */
static err_code_t sl_quota_get(ledger_t *l, const char *key, ledger_quota_t *out, err_t *err)
{
    return ledger_sqlite_quota_get(DB(l), key, out, err);
}

static err_code_t sl_quota_put(ledger_t *l, const char *key, int64_t version,
                               const char *state, int64_t now_ms, err_t *err)
{
    return ledger_sqlite_quota_put(DB(l), key, version, state, now_ms, err);
}

static err_code_t sl_quota_list(ledger_t *l, ledger_quota_t **out, size_t *n, err_t *err)
{
    return ledger_sqlite_quota_list(DB(l), out, n, err);
}

static const ledger_ops_t sl_ops = {
    .add_batch = sl_add_batch,
    .pending_enqueue = sl_pending_enqueue,
    .mark_enqueued = sl_mark_enqueued,
    .claim = sl_claim,
    .extend = sl_extend,
    .release = sl_release,
    .succeed = sl_succeed,
    .fail = sl_fail,
    .cancel = sl_cancel,
    .get_jobs = sl_get_jobs,
    .get_batch = sl_get_batch,
    .list = sl_list,
    .list_batches = sl_list_batches,
    .close = sl_close,
    .spend_add = sl_spend_add,
    .spend_get = sl_spend_get,
    .retry = sl_retry,
    /* worker registry */
    .worker_beat = sl_worker_beat,
    .worker_leave = sl_worker_leave,
    .workers_list = sl_workers_list,
    /* webhooks */
    .set_batch_webhook = sl_set_batch_webhook,
    .outbox_take = sl_outbox_take,
    .outbox_record = sl_outbox_record,
    .outbox_summary = sl_outbox_summary,
    /* review and lineage */
    .review = sl_review,
    .reviews = sl_reviews,
    .link = sl_link,
    /* shared quota */
    .quota_get = sl_quota_get,
    .quota_put = sl_quota_put,
    .quota_list = sl_quota_list,
    .fail_lifecycle = sl_fail_lifecycle,
};

/* Opens (creating and migrating when needed) the ledger in the SQLite file at
 * path.  Returns a new ledger (ledger_close frees it) or NULL with err set. */
ledger_t *ledger_sqlite_open(const char *path, err_t *err)
{
    sl_ledger_t *l = calloc(1, sizeof *l);
    if (!l) {
        nomem(err);
        return NULL;
    }
    if (sqlite_util_open(path, &l->db, err) != ERR_OK) {
        free(l);
        return NULL;
    }
    l->base.ops = &sl_ops;
    return &l->base;
}
