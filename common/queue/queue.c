/* queue — back-end selection and helpers shared by every back-end; see
 * queue.h.  The back-ends live in queue_sqlite.c and queue_sqs.c. */
#include "queue/queue.h"
#include "queue/queue_sqs.h"

#include <stdlib.h>
#include <string.h>

/* Opens the back-end named by the URL's scheme.  The message names the
 * whole value, since it usually comes straight from a config file. */
queue_t *queue_open(const char *url, err_t *err)
{
    static const char sqlite_scheme[] = "sqlite:";
    size_t n = sizeof sqlite_scheme - 1;

    if (!url || !*url) {
        err_set(err, ERR_CONFIG, "queue: empty value (want sqlite:PATH, sqs:NAME or a queue URL)");
        return NULL;
    }
    if (strncmp(url, sqlite_scheme, n) == 0) {
        if (!url[n]) {
            err_set(err, ERR_CONFIG, "queue \"%s\": missing database path", url);
            return NULL;
        }
        return queue_sqlite_open(url + n, err);
    }
    if (strncmp(url, "sqs:", 4) == 0 || strncmp(url, "https://", 8) == 0 ||
        strncmp(url, "http://", 7) == 0)
        return queue_sqs_open(url, err);
    err_set(err, ERR_CONFIG, "queue \"%s\": unknown kind of queue (want sqlite:PATH, "
            "sqs:NAME or an SQS queue URL)", url);
    return NULL;
}

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

void queue_apply_max_receives(queue_t *q, const char *url, int max_receives)
{
    if (q && url && strncmp(url, "sqlite:", 7) == 0)
        q->max_receives = max_receives;
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
