/* ledger_sqlite_review — review marks and lineage in the embedded ledger.
 * A mark is one INSERT ... SELECT from the job's row on the condition that
 * it is succeeded, so the check and the write cannot be split by a retry
 * re-opening the job in between; when it writes nothing, the read that
 * says why runs in the same BEGIN IMMEDIATE transaction. */
#include "ledger/ledger_sqlite_review.h"
#include "base/sqlite_util.h"

#include <stdlib.h>
#include <string.h>

static err_code_t nomem(err_t *err) { return err_set(err, ERR_NOMEM, "out of memory"); }

/* The job's state into *state (-1 when there is no such job). */
static err_code_t job_state_of(sqlite3 *db, const char *batch_id, const char *job_id,
                               int *state, err_t *err)
{
    sqlite3_stmt *st;
    err_code_t rc = sqlite_util_prepare(db, "SELECT state FROM ledger_jobs"
                                            " WHERE job_id = ?2 AND batch_id = ?1", &st, err);
    if (rc != ERR_OK)
        return rc;
    sqlite3_bind_text(st, 1, batch_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, job_id, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    *state = -1;
    if (s == SQLITE_ROW)
        *state = job_state_parse((const char *)sqlite3_column_text(st, 0));
    else if (s != SQLITE_DONE)
        rc = sqlite_util_error(db, s, "ledger: review", err);
    sqlite3_finalize(st);
    return rc;
}

err_code_t ledger_sqlite_review(sqlite3 *db, const char *batch_id, const char *job_id,
                                const char *mark, const char *by, int64_t at_ms,
                                err_t *err)
{
    sqlite3_stmt *st = NULL;
    int state;
    err_code_t rc;

    if (!mark || (strcmp(mark, LEDGER_APPROVED) && strcmp(mark, LEDGER_REJECTED)))
        return err_set(err, ERR_INVALID, "ledger: review: the mark must be approved or "
                       "rejected");
    if (!by || !*by || !batch_id || !*batch_id || !job_id || !*job_id)
        return err_set(err, ERR_INVALID, "ledger: review: batch, job and by are required");
    if ((rc = sqlite_util_begin(db, err)) != ERR_OK)
        return rc;
    rc = sqlite_util_prepare(db, "INSERT INTO ledger_reviews (batch_id, job_id, state,"
                                 " by_whom, at_ms) SELECT batch_id, job_id, ?3, ?4, ?5"
                                 " FROM ledger_jobs WHERE job_id = ?2 AND batch_id = ?1"
                                 " AND state = 'succeeded'"
                                 " ON CONFLICT (batch_id, job_id) DO UPDATE SET"
                                 " state = excluded.state, by_whom = excluded.by_whom,"
                                 " at_ms = excluded.at_ms", &st, err);
    if (rc != ERR_OK)
        goto fail;
    sqlite3_bind_text(st, 1, batch_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, job_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, mark, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, by, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, at_ms);
    rc = sqlite_util_step(db, st, "ledger: review", err);
    sqlite3_finalize(st);
    if (rc != ERR_OK)
        goto fail;
    if (sqlite3_changes(db) == 0) {
        if ((rc = job_state_of(db, batch_id, job_id, &state, err)) != ERR_OK)
            goto fail;
        rc = state < 0 ? err_set(err, ERR_NOTFOUND, "no job %s in batch %s", job_id, batch_id)
                       : err_set(err, ERR_CONFLICT, "job %s is %s, not succeeded: only a "
                                 "finished poster can be %s", job_id,
                                 job_state_name((job_state_t)state), mark);
        goto fail;
    }
    return sqlite_util_commit(db, err);
fail:
    sqlite_util_rollback(db);
    return rc;
}

/* Splits a newline-separated list into r->promoted_to. */
static bool split_refs(const char *s, ledger_review_t *r)
{
    size_t n = 1;
    for (const char *p = s; *p; p++)
        n += *p == '\n';
    if (!(r->promoted_to = calloc(n, sizeof *r->promoted_to)))
        return false;
    while (*s) {
        size_t len = strcspn(s, "\n");
        if (!(r->promoted_to[r->npromoted_to] = strndup(s, len)))
            return false;
        r->npromoted_to++;
        s += len + (s[len] == '\n');
    }
    return true;
}

err_code_t ledger_sqlite_reviews(sqlite3 *db, const char *batch_id, const char *job_id,
                                 ledger_review_t **out, size_t *n, err_t *err)
{
    sqlite3_stmt *st;
    size_t cap = 0;
    int s, oom = 0;
    err_code_t rc;

    *out = NULL;
    *n = 0;
    rc = sqlite_util_prepare(db,
        "WITH ids (job_id) AS ("
        " SELECT job_id FROM ledger_reviews WHERE batch_id = ?1 AND (?2 IS NULL OR job_id = ?2)"
        " UNION SELECT to_job FROM ledger_lineage WHERE to_batch = ?1"
        "  AND (?2 IS NULL OR to_job = ?2)"
        " UNION SELECT from_job FROM ledger_lineage WHERE from_batch = ?1"
        "  AND (?2 IS NULL OR from_job = ?2))"
        " SELECT ids.job_id, r.state, r.by_whom, r.at_ms,"
        " (SELECT from_batch || '/' || from_job FROM ledger_lineage"
        "  WHERE to_batch = ?1 AND to_job = ids.job_id ORDER BY 1 LIMIT 1),"
        " (SELECT group_concat(ref, char(10)) FROM (SELECT to_batch || '/' || to_job AS ref"
        "  FROM ledger_lineage WHERE from_batch = ?1 AND from_job = ids.job_id ORDER BY 1))"
        " FROM ids LEFT JOIN ledger_reviews r ON r.batch_id = ?1 AND r.job_id = ids.job_id"
        " ORDER BY ids.job_id", &st, err);
    if (rc != ERR_OK)
        return rc;
    sqlite3_bind_text(st, 1, batch_id, -1, SQLITE_STATIC);
    if (job_id)
        sqlite3_bind_text(st, 2, job_id, -1, SQLITE_STATIC);
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        ledger_review_t *grown = sqlite_util_grow(*out, &cap, *n, sizeof **out);
        if (!grown) {
            oom = 1;
            break;
        }
        *out = grown;
        ledger_review_t *r = &(*out)[(*n)++];
        memset(r, 0, sizeof *r);
        r->batch_id = strdup(batch_id);
        oom |= !r->batch_id;
        r->job_id = sqlite_util_column_strdup(st, 0, &oom);
        r->state = sqlite_util_column_strdup(st, 1, &oom);
        r->by = sqlite_util_column_strdup(st, 2, &oom);
        r->at_ms = sqlite3_column_int64(st, 3);
        r->promoted_from = sqlite_util_column_strdup(st, 4, &oom);
        if (sqlite3_column_type(st, 5) != SQLITE_NULL &&
            !split_refs((const char *)sqlite3_column_text(st, 5), r))
            oom = 1;
        if (oom || !r->job_id)
            break;
    }
    if (oom)
        rc = nomem(err);
    else if (s != SQLITE_ROW && s != SQLITE_DONE)
        rc = sqlite_util_error(db, s, "ledger: reviews", err);
    sqlite3_finalize(st);
    if (rc != ERR_OK) {
        ledger_reviews_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

err_code_t ledger_sqlite_link(sqlite3 *db, const char *from_batch, const char *from_job,
                              const char *to_batch, const char *to_job, err_t *err)
{
    sqlite3_stmt *st = NULL;
    int a, b;
    err_code_t rc;

    if ((rc = sqlite_util_begin(db, err)) != ERR_OK)
        return rc;
    if ((rc = job_state_of(db, from_batch, from_job, &a, err)) != ERR_OK ||
        (rc = job_state_of(db, to_batch, to_job, &b, err)) != ERR_OK)
        goto fail;
    if (a < 0 || b < 0) {
        rc = err_set(err, ERR_NOTFOUND, "lineage: no job %s in batch %s", a < 0 ? from_job
                     : to_job, a < 0 ? from_batch : to_batch);
        goto fail;
    }
    rc = sqlite_util_prepare(db, "INSERT OR IGNORE INTO ledger_lineage (from_batch, from_job,"
                                 " to_batch, to_job) VALUES (?1, ?2, ?3, ?4)", &st, err);
    if (rc != ERR_OK)
        goto fail;
    sqlite3_bind_text(st, 1, from_batch, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, from_job, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, to_batch, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, to_job, -1, SQLITE_STATIC);
    rc = sqlite_util_step(db, st, "ledger: lineage", err);
    sqlite3_finalize(st);
    if (rc != ERR_OK)
        goto fail;
    return sqlite_util_commit(db, err);
fail:
    sqlite_util_rollback(db);
    return rc;
}
