/* ledger_sqlite_retry — the SQLite ledger's runs and attempt history
 * (schema/sqlite/003_retry.sql): retry, the runs pending_enqueue reports,
 * and the history get_jobs returns.  Not for use outside common/ledger/. */
#ifndef ONESHEET_LEDGER_SQLITE_RETRY_H
#define ONESHEET_LEDGER_SQLITE_RETRY_H

#include "ledger/ledger.h"

#include <sqlite3.h>

/* See ledger_ops_t.retry. */
err_code_t ledger_sqlite_retry(sqlite3 *db, const char *batch_id, const char *job_id,
                               unsigned states, size_t *n, err_t *err);
/* See ledger_ops_t.pending_enqueue (runs may be NULL). */
err_code_t ledger_sqlite_pending(sqlite3 *db, const char *batch_id, char ***ids,
                                 int **runs, size_t *n, err_t *err);
/* The job's current run into *run; ERR_NOTFOUND when there is no such job. */
err_code_t ledger_sqlite_run(sqlite3 *db, const char *batch_id, const char *job_id,
                             int *run, err_t *err);
/* Fills the history of each of the n jobs (which own it afterwards). */
err_code_t ledger_sqlite_history(sqlite3 *db, ledger_job_t *jobs, size_t n, err_t *err);

#endif
