/* ledger_sqlite_outbox — the SQLite ledger's webhooks and their outbox
 * (schema/sqlite/005_outbox.sql); the ops of ledger.h's webhook block on a
 * connection.  The events themselves are written by the schema's trigger,
 * inside the transaction of the state change.  Not for use outside
 * common/. */
#ifndef ONESHEET_LEDGER_SQLITE_OUTBOX_H
#define ONESHEET_LEDGER_SQLITE_OUTBOX_H

#include "ledger/ledger.h"

#include <sqlite3.h>

/* See ledger_ops_t.set_batch_webhook. */
err_code_t ledger_sqlite_set_batch_webhook(sqlite3 *db, const char *batch_id,
                                           const char *url, err_t *err);
/* See ledger_ops_t.outbox_take. */
err_code_t ledger_sqlite_outbox_take(sqlite3 *db, int64_t now_ms, int64_t lease_ms,
                                     size_t max, ledger_event_t **out, size_t *n,
                                     err_t *err);
/* See ledger_ops_t.outbox_record. */
err_code_t ledger_sqlite_outbox_record(sqlite3 *db, const char *id, int64_t due_ms,
                                       long status, const char *error, err_t *err);
/* See ledger_ops_t.outbox_summary. */
err_code_t ledger_sqlite_outbox_summary(sqlite3 *db, const char *batch_id,
                                        ledger_outbox_summary_t *out, err_t *err);

#endif
