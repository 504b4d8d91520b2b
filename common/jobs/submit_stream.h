/* submit_stream — submit_batch() for a bulk_stream_t: the same ledger-first,
 * queue-second order and the same answers, in memory bounded by a chunk of
 * jobs rather than by the batch.
 *
 * The jobs are recorded in chunks of SUBMIT_STREAM_CHUNK (one ledger_add_batch
 * each: one SQLite transaction, or the DynamoDB back-end's own batches), all
 * of them before the first message is sent, so no job of the batch can
 * finish while others are still unrecorded.  Then the pending jobs are read
 * back from the ledger a page at a time and sent.  A submit killed part-way
 * leaves recorded jobs pending and the rest unrecorded; submitting the same
 * input again records the rest and sends everything still pending. */
#ifndef ONESHEET_SUBMIT_STREAM_H
#define ONESHEET_SUBMIT_STREAM_H

#include "base/err.h"
#include "jobs/bulk_stream.h"
#include "jobs/submit.h"
#include "ledger/ledger.h"
#include "queue/queue.h"

/* Jobs a ledger write, and a page of pending jobs read back and sent. */
#define SUBMIT_STREAM_CHUNK 10000

/* Records the kept jobs of s (after bulk_stream_scan(), with sum its
 * answer) as batch sum->batch_id with source named `source`, then sends its
 * pending jobs (submit_enqueue_paged).  Borrows everything; fills *res (may
 * be NULL) as submit_batch() does.  Returns the ledger's or queue's error,
 * or ERR_NOMEM, with err set. */
err_code_t submit_stream(queue_t *q, ledger_t *l, bulk_stream_t *s,
                         const bulk_summary_t *sum, const char *source,
                         submit_result_t *res, err_t *err);

/* Sends every job of batch_id the ledger lists as pending (queued, never
 * sent), reading them SUBMIT_STREAM_CHUNK at a time in file order, each
 * message made from the spec the ledger recorded and carrying the job's
 * run, and marks each page enqueued after its send.  Borrows everything;
 * *sent counts messages sent.  A crash part-way leaves the rest pending,
 * for the next call to send. */
err_code_t submit_enqueue_paged(queue_t *q, ledger_t *l, const char *batch_id,
                                size_t *sent, err_t *err);

#endif
