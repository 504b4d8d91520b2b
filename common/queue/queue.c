/* queue — the helpers shared by every back-end; see queue.h.  The
 * back-ends live in queue_sqlite.c and queue_sqs.c, the table that picks
 * one in queue_backends.c. */
#include "queue/queue.h"

#include <stdlib.h>
#include <string.h>

/* Frees every string of the n messages, then the array.  NULL is fine. */
void queue_msgs_free(queue_msg_t *msgs, size_t n)
{
    if (!msgs)
        return;
    for (size_t i = 0; i < n; i++) {
        free(msgs[i].id);
        free(msgs[i].receipt);
        free(msgs[i].body);
    }
    free(msgs);
}

err_code_t queue_delete_batch(queue_t *q, const char *const *receipts, size_t n,
                              int *stale, err_t *err)
{
    if (q->ops->delete_batch)
        return q->ops->delete_batch(q, receipts, n, stale, err);
    for (size_t i = 0; i < n; i++) {
        err_t e;
        err_clear(&e);
        stale[i] = 0;
        err_code_t rc = q->ops->delete_msg(q, receipts[i], &e);
        if (rc == ERR_NOTFOUND) {
            stale[i] = 1;
        } else if (rc != ERR_OK) {
            if (err)
                *err = e;
            return rc;
        }
    }
    return ERR_OK;
}
