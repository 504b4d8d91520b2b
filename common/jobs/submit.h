/* submit — record a validated batch in the ledger, then send its pending
 * jobs to the queue.  Shared by `onesheet submit` and `onesheet-api`.
 *
 * Ledger first, queue second: jobs are recorded with enqueued_ms = 0, sent,
 * then marked enqueued; a crash in between is repaired by submitting the
 * same input again (pending jobs are re-sent; a duplicate message is
 * harmless because processing is idempotent). */
#ifndef ONESHEET_SUBMIT_H
#define ONESHEET_SUBMIT_H

#include "base/err.h"
#include "jobs/job.h"
#include "ledger/ledger.h"
#include "queue/queue.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    bool created;   /* the batch was new */
    size_t added;   /* jobs the ledger did not hold yet */
    size_t sent;    /* messages sent to the queue */
} submit_result_t;

/* Records b (items normalised, ids from bulk_assign_ids()) as batch
 * b->batch_id with source named `source` ("FILE", "--prompt", "api"), then
 * sends every job of the batch still pending, in chunks, marking each chunk
 * enqueued after its send.  Borrows everything; fills *res (may be NULL).
 * Returns the ledger's or queue's error with err set. */
err_code_t submit_batch(queue_t *q, ledger_t *l, const bulk_t *b, const char *source,
                        submit_result_t *res, err_t *err);

/* Sends every job of batch_id the ledger lists as pending (queued, never
 * sent: new, or re-opened by a retry), each message carrying the job's
 * run, in chunks, marking each chunk enqueued after its send.  A body is
 * made from b's item of the same id when b (may be NULL) holds it, else
 * from the spec the ledger recorded (a retry has no input file; url_ttl,
 * which is not part of the spec, then falls back to the worker's).
 * Borrows everything; *sent counts messages sent.  A crash part-way leaves
 * the rest pending, for the next call to send. */
err_code_t submit_enqueue_pending(queue_t *q, ledger_t *l, const char *batch_id,
                                  const bulk_t *b, size_t *sent, err_t *err);

#endif
