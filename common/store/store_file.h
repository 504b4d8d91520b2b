/* store_file — the "file:DIR" store: posters as plain files under DIR. */
#ifndef ONESHEET_STORE_FILE_H
#define ONESHEET_STORE_FILE_H

#include "store/store.h"

/* Opens the store under dir, creating it (0700) when missing.  Returns a
 * new store (store_close() frees it), or NULL with err set: ERR_CONFIG for
 * an empty dir, ERR_IO when it cannot be created or is not a directory. */
store_t *store_file_open(const char *dir, err_t *err);

#endif
