/* ledger_sqlite_spend — the SQLite ledger's campaign spend
 * (schema/sqlite/002_campaigns.sql); the ops of ledger.h's spend_add and
 * spend_get on a connection.  Not for use outside common/. */
#ifndef ONESHEET_LEDGER_SQLITE_SPEND_H
#define ONESHEET_LEDGER_SQLITE_SPEND_H

#include "ledger/ledger.h"

#include <sqlite3.h>

/* See ledger_ops_t.spend_add. */
err_code_t ledger_sqlite_spend_add(sqlite3 *db, const ledger_spend_t *s, bool *added,
                                   double *month_total, err_t *err);
/* See ledger_ops_t.spend_get. */
err_code_t ledger_sqlite_spend_get(sqlite3 *db, const char *campaign, const char *month,
                                   double *usd, err_t *err);

#endif
