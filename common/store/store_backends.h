/* store_backends — the table of store back-ends: the chooser above the
 * store interface and its back-ends.  store_open() (declared in store.h)
 * is defined here; config checking and `onesheet init` read the same rows. */
#ifndef ONESHEET_STORE_BACKENDS_H
#define ONESHEET_STORE_BACKENDS_H

#include "base/backend.h"
#include "store/store.h"

typedef struct {
    backend_row_t row;
    /* Opens the store value names (a value the row claims and validated). */
    store_t *(*open)(const char *value, err_t *err);
} store_backend_t;

/* The row for value, validated (see backend_check), or NULL with err set
 * (ERR_CONFIG naming the setting "store" and the accepted shapes). */
const store_backend_t *store_backend_check(const char *value, err_t *err);

#endif
