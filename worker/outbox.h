/* outbox — the worker's webhook deliverer: one thread that takes due
 * events from the ledger's outbox and POSTs them, signed (Standard
 * Webhooks, jobs/webhook.h), recording each attempt in the ledger.
 *
 * At least once: an event leaves the outbox only after a 2xx, so a crash
 * between the POST and the record sends it again, under the same
 * webhook-id.  5xx, 408, 429, timeouts and refused connections are tried
 * again with exponential backoff and jitter (1 s doubling up to 10 min)
 * until `webhook_retry_for` seconds after the event; any other status gives
 * up at once.  One attempt waits at most 5 s; events are taken 4 at a
 * time, the k-th held for (k + 1) * 6 s, after which another worker may
 * take what a dead one held: at most 24 s. */
#ifndef ONESHEET_WORKER_OUTBOX_H
#define ONESHEET_WORKER_OUTBOX_H

#include <stdint.h>

typedef struct worker worker_t;

/* Decides whether this worker delivers (a webhook_secret is configured and
 * the ledger keeps an outbox) and starts the thread.  Returns 0, or -1 when
 * the thread could not start (logged). */
int worker_outbox_start(worker_t *w);

/* Wakes the deliverer now (a job just finished: its event is due) instead
 * of at its next poll.  Cheap; a no-op when webhooks are off. */
void worker_outbox_kick(worker_t *w);

/* Stops the deliverer and joins it.  With drain_s > 0 it first delivers
 * what is due (and the retries that fall due) for up to drain_s seconds;
 * what is left stays in the outbox for the next worker. */
void worker_outbox_stop(worker_t *w, int drain_s);

#endif
