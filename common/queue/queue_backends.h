/* queue_backends — the table of queue back-ends: the chooser above the
 * queue interface and its back-ends.  queue_open() and
 * queue_apply_max_receives() (declared in queue.h) are defined here; config
 * checking and `onesheet init` read the same rows. */
#ifndef ONESHEET_QUEUE_BACKENDS_H
#define ONESHEET_QUEUE_BACKENDS_H

#include "base/backend.h"
#include "queue/queue.h"

typedef struct {
    backend_row_t row;
    /* Opens the queue value names (a value the row claims and validated). */
    queue_t *(*open)(const char *value, err_t *err);
    /* The worker moves messages to the dead-letter store after the
     * configured max_receives (SQLite); false where the service does it by
     * the queue's own redrive policy (SQS). */
    bool worker_dead_letters;
} queue_backend_t;

/* The row for value, validated (see backend_check), or NULL with err set
 * (ERR_CONFIG naming the setting "queue" and the accepted shapes). */
const queue_backend_t *queue_backend_check(const char *value, err_t *err);

#endif
