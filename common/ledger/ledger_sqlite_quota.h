/* ledger_sqlite_quota — the SQLite ledger's shared quota buckets
 * (schema/sqlite/008_quota.sql); the ops of ledger.h's quota_get,
 * quota_put and quota_list on a connection.  Not for use outside common/. */
#ifndef ONESHEET_LEDGER_SQLITE_QUOTA_H
#define ONESHEET_LEDGER_SQLITE_QUOTA_H

#include "ledger/ledger.h"

#include <sqlite3.h>

/* See ledger_ops_t.quota_get. */
err_code_t ledger_sqlite_quota_get(sqlite3 *db, const char *key, ledger_quota_t *out,
                                   err_t *err);
/* See ledger_ops_t.quota_put. */
err_code_t ledger_sqlite_quota_put(sqlite3 *db, const char *key, int64_t version,
                                   const char *state, int64_t now_ms, err_t *err);
/* See ledger_ops_t.quota_list. */
err_code_t ledger_sqlite_quota_list(sqlite3 *db, ledger_quota_t **out, size_t *n,
                                    err_t *err);

#endif
