/* queue_sqlite — the embedded queue ("sqlite:PATH"): SQS semantics in one
 * SQLite table beside the ledger. */
#ifndef ONESHEET_QUEUE_SQLITE_H
#define ONESHEET_QUEUE_SQLITE_H

#include "queue/queue.h"

/* Opens (creating and migrating when needed, mode 0600) the queue in the
 * database at path.  Returns a new queue or NULL with err set. */
queue_t *queue_sqlite_open(const char *path, err_t *err);

#endif
