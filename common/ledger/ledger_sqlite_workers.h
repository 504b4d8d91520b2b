/* ledger_sqlite_workers — the SQLite ledger's worker registry
 * (schema/sqlite/004_workers.sql); the ops of ledger.h's worker_beat,
 * worker_leave and workers_list on a connection.  Not for use outside
 * common/. */
#ifndef ONESHEET_LEDGER_SQLITE_WORKERS_H
#define ONESHEET_LEDGER_SQLITE_WORKERS_H

#include "ledger/ledger.h"

#include <sqlite3.h>

/* See ledger_ops_t.worker_beat. */
err_code_t ledger_sqlite_worker_beat(sqlite3 *db, const ledger_worker_t *w, err_t *err);
/* See ledger_ops_t.worker_leave. */
err_code_t ledger_sqlite_worker_leave(sqlite3 *db, const char *id, err_t *err);
/* See ledger_ops_t.workers_list. */
err_code_t ledger_sqlite_workers_list(sqlite3 *db, int64_t now_ms, ledger_worker_t **out,
                                      size_t *n, err_t *err);

#endif
