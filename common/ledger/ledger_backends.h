/* ledger_backends — the table of ledger back-ends: the chooser above the
 * ledger interface and its back-ends.  ledger_open() (declared in
 * ledger.h) is defined here; config checking and `onesheet init` read the
 * same rows. */
#ifndef ONESHEET_LEDGER_BACKENDS_H
#define ONESHEET_LEDGER_BACKENDS_H

#include "base/backend.h"
#include "ledger/ledger.h"

#include <stdbool.h>

typedef struct {
    backend_row_t row;
    /* Opens the ledger value names (a value the row claims and validated). */
    ledger_t *(*open)(const char *value, err_t *err);
    /* Whether value's ledger may already hold records, asked without
     * creating anything; NULL: it may (a service's table). */
    bool (*exists)(const char *value);
} ledger_backend_t;

/* The row for value, validated (see backend_check), or NULL with err set
 * (ERR_CONFIG naming the setting "ledger" and the accepted shapes). */
const ledger_backend_t *ledger_backend_check(const char *value, err_t *err);

/* Whether the ledger url names may already hold records (its row's
 * exists): false for a "sqlite:PATH" whose file does not exist, which
 * ledger_open() would create.  A value no row takes is "may", so that
 * opening it reports the error.  A reader that must not create state (a dry
 * run) asks this first. */
bool ledger_exists(const char *url);

#endif
