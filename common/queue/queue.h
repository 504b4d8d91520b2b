/* queue — the job queue interface, with SQS semantics on every back-end:
 * at-least-once delivery, a visibility timeout per receive, a receive count,
 * and a dead-letter store after max_receives.
 *
 * Back-ends: queue_sqlite.c ("sqlite:PATH"), queue_sqs.c ("sqs:NAME" or an
 * SQS queue URL).  A queue_t is used by one thread at a time; open one per
 * thread. */
#ifndef ONESHEET_QUEUE_H
#define ONESHEET_QUEUE_H

#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *id;            /* message id */
    char *receipt;       /* receipt handle for this delivery */
    char *body;          /* NUL-terminated body */
    size_t body_len;
    int receive_count;   /* 1 on first delivery */
} queue_msg_t;

typedef struct {
    int64_t visible;     /* ready to receive now */
    int64_t inflight;    /* received, visibility not yet lapsed */
    int64_t delayed;     /* not yet visible (e.g. backed off) */
    int64_t dead;        /* in the dead-letter store */
} queue_stats_t;

typedef struct queue queue_t;

typedef struct {
    /* Sends n bodies; all or nothing where the back-end allows it (SQLite:
     * one transaction). */
    err_code_t (*send_batch)(queue_t *q, const char *const *bodies, size_t n,
                             err_t *err);
    /* Receives up to max messages, hiding each for visibility_s seconds.
     * Waits up to wait_s seconds for one to become visible (0: no wait).
     * Messages whose receive count would exceed max_receives are moved to
     * the dead-letter store instead of being delivered.  *out is a new
     * array (free with queue_msgs_free). */
    err_code_t (*receive)(queue_t *q, size_t max, int visibility_s, int wait_s,
                          queue_msg_t **out, size_t *n, err_t *err);
    /* Sets the message's visibility to secs from now (0: visible at once).
     * ERR_NOTFOUND when the receipt is stale (re-delivered or deleted). */
    err_code_t (*change_visibility)(queue_t *q, const char *receipt, int secs,
                                    err_t *err);
    /* Deletes the message.  ERR_NOTFOUND when the receipt is stale on
     * SQLite; SQS answers a stale receipt's delete with success and deletes
     * nothing (AWS documents this), so a caller may rely only on the
     * message not being deleted twice. */
    err_code_t (*delete_msg)(queue_t *q, const char *receipt, err_t *err);
    err_code_t (*stats)(queue_t *q, queue_stats_t *st, err_t *err);
    /* Returns dead-lettered messages not yet taken (each is returned once),
     * so the worker can mark their jobs failed. */
    err_code_t (*take_dead)(queue_t *q, size_t max, queue_msg_t **out,
                            size_t *n, err_t *err);
    void (*close)(queue_t *q);
    /* Optional: deletes n messages in as few calls as the back-end allows.
     * stale (n entries) gets 1 for each receipt that was stale and 0 for
     * each deleted; stale receipts alone do not fail the call.  NULL: see
     * queue_delete_batch. */
    err_code_t (*delete_batch)(queue_t *q, const char *const *receipts, size_t n,
                               int *stale, err_t *err);
    /* Optional (worker liveness: handing a job back to other workers).
     * Sends one body that stays hidden for delay_s seconds (0 ..
     * QUEUE_MAX_DELAY_S) before its first receive.  NULL: the back-end
     * cannot delay a send (see queue_can_send_delayed). */
    err_code_t (*send_delayed)(queue_t *q, const char *body, int delay_s, err_t *err);
} queue_ops_t;

/* The longest send delay (SQS's DelaySeconds limit). */
#define QUEUE_MAX_DELAY_S 900

struct queue {
    const queue_ops_t *ops;
    int max_receives;    /* dead-letter after this many receives (default 5) */
};

/* Opens the queue named by url ("sqlite:PATH", ...) through the back-end
 * table (queue_backends.c).  Returns a new queue (close with queue_close)
 * or NULL with err set (ERR_CONFIG for a value no back-end takes). */
queue_t *queue_open(const char *url, err_t *err);

static inline err_code_t queue_send_batch(queue_t *q, const char *const *b,
                                          size_t n, err_t *err)
{ return q->ops->send_batch(q, b, n, err); }
static inline err_code_t queue_receive(queue_t *q, size_t max, int vis, int wait,
                                       queue_msg_t **out, size_t *n, err_t *err)
{ return q->ops->receive(q, max, vis, wait, out, n, err); }
static inline err_code_t queue_change_visibility(queue_t *q, const char *r,
                                                 int secs, err_t *err)
{ return q->ops->change_visibility(q, r, secs, err); }
static inline err_code_t queue_delete(queue_t *q, const char *r, err_t *err)
{ return q->ops->delete_msg(q, r, err); }
/* Whether the back-end deletes several messages in one call (SQS), so a
 * caller gains by gathering receipts before queue_delete_batch. */
static inline bool queue_deletes_in_batches(const queue_t *q)
{ return q->ops->delete_batch != NULL; }
/* Deletes n messages: one call per 10 on SQS, else one delete each.  stale
 * (n entries, required) as in queue_ops_t.delete_batch. */
err_code_t queue_delete_batch(queue_t *q, const char *const *receipts, size_t n,
                              int *stale, err_t *err);
static inline err_code_t queue_stats(queue_t *q, queue_stats_t *st, err_t *err)
{ return q->ops->stats(q, st, err); }
static inline err_code_t queue_take_dead(queue_t *q, size_t max,
                                         queue_msg_t **out, size_t *n, err_t *err)
{ return q->ops->take_dead(q, max, out, n, err); }
static inline void queue_close(queue_t *q) { if (q) q->ops->close(q); }
/* Whether queue_send_delayed works here. */
static inline bool queue_can_send_delayed(const queue_t *q)
{ return q->ops->send_delayed != NULL; }
/* ERR_INTERNAL when !queue_can_send_delayed(q); ERR_INVALID for a delay
 * outside 0 .. QUEUE_MAX_DELAY_S. */
static inline err_code_t queue_send_delayed(queue_t *q, const char *body, int delay_s,
                                            err_t *err)
{
    if (!q->ops->send_delayed)
        return err_set(err, ERR_INTERNAL, "queue: no delayed send here");
    if (delay_s < 0 || delay_s > QUEUE_MAX_DELAY_S)
        return err_set(err, ERR_INVALID, "queue: a send delay of %d s is outside 0..%d",
                       delay_s, QUEUE_MAX_DELAY_S);
    return q->ops->send_delayed(q, body, delay_s, err);
}

void queue_msgs_free(queue_msg_t *msgs, size_t n);

/* Applies the configured max_receives to a queue opened from url.  An SQS
 * queue keeps the maxReceiveCount of its own redrive policy (read at open;
 * `onesheet init` sets it from the configuration), because SQS, not the
 * worker, moves its messages to the dead-letter queue. */
void queue_apply_max_receives(queue_t *q, const char *url, int max_receives);

#endif
