/* ledger_sqlite_quota — shared quota buckets in the embedded ledger: one
 * row per key in ledger_quota.  A write is one statement, conditional on
 * the version read (an INSERT that a present row refuses, or an UPDATE
 * WHERE version = ?), so it is atomic across every process that has the
 * file open, and sqlite3_changes() tells a lost race (ERR_CONFLICT) from a
 * won one.  Each statement is its own implicit transaction: the write lock
 * is held for one row. */
#include "ledger/ledger_sqlite_quota.h"
#include "base/sqlite_util.h"

#include <stdlib.h>
#include <string.h>

static err_code_t check_key(const char *key, err_t *err)
{
    if (!key || !*key || strlen(key) > LEDGER_QUOTA_KEY_MAX)
        return err_set(err, ERR_INVALID, "ledger: a quota key must be 1 to %d bytes",
                       LEDGER_QUOTA_KEY_MAX);
    return ERR_OK;
}

static err_code_t read_row(sqlite3_stmt *st, ledger_quota_t *q, err_t *err)
{
    int oom = 0;
    memset(q, 0, sizeof *q);
    q->key = sqlite_util_column_strdup(st, 0, &oom);
    q->version = sqlite3_column_int64(st, 1);
    q->state = sqlite_util_column_strdup(st, 2, &oom);
    q->updated_ms = sqlite3_column_int64(st, 3);
    if (oom || !q->key || !q->state) {
        ledger_quota_free(q);
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    return ERR_OK;
}

err_code_t ledger_sqlite_quota_get(sqlite3 *db, const char *key, ledger_quota_t *out,
                                   err_t *err)
{
    sqlite3_stmt *st;
    err_code_t rc;

    memset(out, 0, sizeof *out);
    if ((rc = check_key(key, err)) != ERR_OK)
        return rc;
    rc = sqlite_util_prepare(db, "SELECT key, version, state, updated_ms FROM ledger_quota"
                                 " WHERE key = ?1", &st, err);
    if (rc != ERR_OK)
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW)
        rc = read_row(st, out, err);
    else if (s == SQLITE_DONE)
        rc = err_set(err, ERR_NOTFOUND, "ledger: no quota bucket \"%s\"", key);
    else
        rc = sqlite_util_error(db, s, "ledger: reading a quota bucket", err);
    sqlite3_finalize(st);
    return rc;
}

err_code_t ledger_sqlite_quota_put(sqlite3 *db, const char *key, int64_t version,
                                   const char *state, int64_t now_ms, err_t *err)
{
    sqlite3_stmt *st;
    err_code_t rc;

    if ((rc = check_key(key, err)) != ERR_OK)
        return rc;
    if (!state || !*state || strlen(state) > LEDGER_QUOTA_STATE_MAX || version < 0)
        return err_set(err, ERR_INVALID, "ledger: a quota state must be 1 to %d bytes",
                       LEDGER_QUOTA_STATE_MAX);
    rc = sqlite_util_prepare(db, version == 0
                                     ? "INSERT INTO ledger_quota (key, version, state,"
                                       " updated_ms) VALUES (?1, 1, ?3, ?4)"
                                       " ON CONFLICT (key) DO NOTHING"
                                     : "UPDATE ledger_quota SET version = version + 1,"
                                       " state = ?3, updated_ms = ?4"
                                       " WHERE key = ?1 AND version = ?2",
                             &st, err);
    if (rc != ERR_OK)
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (version)
        sqlite3_bind_int64(st, 2, version);
    sqlite3_bind_text(st, 3, state, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now_ms);
    rc = sqlite_util_step(db, st, "ledger: writing a quota bucket", err);
    sqlite3_finalize(st);
    if (rc == ERR_OK && sqlite3_changes(db) != 1)
        rc = err_set(err, ERR_CONFLICT, "ledger: quota bucket \"%s\" changed meanwhile", key);
    return rc;
}

err_code_t ledger_sqlite_quota_list(sqlite3 *db, ledger_quota_t **out, size_t *n,
                                    err_t *err)
{
    sqlite3_stmt *st;
    ledger_quota_t *v = NULL;
    size_t len = 0, cap = 0;
    err_code_t rc;
    int s;

    *out = NULL;
    *n = 0;
    rc = sqlite_util_prepare(db, "SELECT key, version, state, updated_ms FROM ledger_quota"
                                 " ORDER BY key", &st, err);
    if (rc != ERR_OK)
        return rc;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        ledger_quota_t *g = sqlite_util_grow(v, &cap, len, sizeof *v);
        if (!g) {
            rc = err_set(err, ERR_NOMEM, "out of memory");
            break;
        }
        v = g;
        if ((rc = read_row(st, &v[len], err)) != ERR_OK)
            break;
        len++;
    }
    if (rc == ERR_OK && s != SQLITE_DONE)
        rc = sqlite_util_error(db, s, "ledger: listing quota buckets", err);
    sqlite3_finalize(st);
    if (rc != ERR_OK) {
        ledger_quotas_free(v, len);
        return rc;
    }
    if (len == 0) {
        free(v);
        v = NULL;
    }
    *out = v;
    *n = len;
    return ERR_OK;
}
