/* ledger_sqlite — the embedded ledger ("sqlite:PATH"), by default in the
 * same database file as the embedded queue. */
#ifndef ONESHEET_LEDGER_SQLITE_H
#define ONESHEET_LEDGER_SQLITE_H

#include "ledger/ledger.h"

/* Opens (creating and migrating when needed, mode 0600) the ledger in the
 * database at path.  Returns a new ledger or NULL with err set. */
ledger_t *ledger_sqlite_open(const char *path, err_t *err);

#endif
