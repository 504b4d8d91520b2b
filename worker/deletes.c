/* deletes — the messages of finished jobs, deleted ten to a call.
 *
 * Deleting a message is the last step of a job (after its result is safe
 * in the ledger), and on SQS a call per message is a signed HTTP request
 * per job.  Where the queue deletes in batches (queue_ops_t.delete_batch),
 * a finished job's receipt waits here instead: the tenth one sends the
 * batch from the thread that added it, and the heartbeat thread sends what
 * waited WORKER_DELETE_WAIT_MS or more, and everything at exit.  A --drain
 * check sends them all first (a message waiting here is still in flight
 * for the queue).
 *
 * Nothing is lost if the process dies with receipts waiting: the messages
 * become visible again, and a delivery of a finished job is only deleted
 * (the ledger's claim answers "done").  Queues without batches (SQLite,
 * local and cheap) delete at once. */
#include "worker.h"

#include "base/log.h"

#include <stdlib.h>
#include <string.h>

typedef worker_pending_delete_t pending_t;

void worker_deletes_init(worker_t *w)
{
    pthread_mutex_init(&w->deletes.mu, NULL);
    w->deletes.n = 0;
}

/* Deletes the n receipts (taken from the list; freed here). */
static void send_batch(queue_t *q, pending_t *v, int n)
{
    const char *receipts[WORKER_DELETE_BATCH];
    int stale[WORKER_DELETE_BATCH];
    err_t e;

    if (n == 0)
        return;
    for (int i = 0; i < n; i++)
        receipts[i] = v[i].receipt;
    err_clear(&e);
    if (queue_delete_batch(q, receipts, (size_t)n, stale, &e) != ERR_OK) {
        /* The messages come back after their visibility; their jobs are
         * finished, so a new delivery is only deleted. */
        log_warn("delete_failed", "messages=%d error=\"%s\"", n, e.msg);
        memset(stale, 0, sizeof stale);
    }
    int nstale = 0;
    for (int i = 0; i < n; i++) {
        if (stale[i])
            log_debug("delete_stale", "job=%s", v[i].job);
        nstale += stale[i];
        free(v[i].receipt);
        free(v[i].job);
    }
    log_debug("messages_deleted", "count=%d stale=%d", n, nstale);
}

/* Moves every waiting receipt to out; returns how many.  Call with
 * w->deletes.mu held. */
static int take_all(worker_t *w, pending_t *out)
{
    int n = w->deletes.n;
    memcpy(out, w->deletes.pending, (size_t)n * sizeof *out);
    w->deletes.n = 0;
    return n;
}

void worker_delete(worker_thread_t *t, const char *receipt, const char *job)
{
    worker_t *w = t->w;
    pending_t batch[WORKER_DELETE_BATCH];
    char *r = NULL, *j = NULL;
    int n = 0;

    if (queue_deletes_in_batches(t->queue) && (r = strdup(receipt)) && (j = strdup(job))) {
        pthread_mutex_lock(&w->deletes.mu);
        if (w->deletes.n == 0)
            w->deletes.first_ms = worker_mono_ms();
        w->deletes.pending[w->deletes.n++] = (pending_t){r, j};
        if (w->deletes.n == WORKER_DELETE_BATCH)
            n = take_all(w, batch);
        pthread_mutex_unlock(&w->deletes.mu);
        send_batch(t->queue, batch, n);
        return;
    }
    free(r);
    err_t e;
    err_clear(&e);
    if (queue_delete(t->queue, receipt, &e) != ERR_OK && e.code != ERR_NOTFOUND)
        log_warn("delete_failed", "job=%s error=\"%s\"", job, e.msg);
}

void worker_delete_flush(worker_t *w, queue_t *q, int64_t min_age_ms)
{
    pending_t batch[WORKER_DELETE_BATCH];
    int n = 0;

    pthread_mutex_lock(&w->deletes.mu);
    if (w->deletes.n > 0 && worker_mono_ms() - w->deletes.first_ms >= min_age_ms)
        n = take_all(w, batch);
    pthread_mutex_unlock(&w->deletes.mu);
    send_batch(q, batch, n);
}
