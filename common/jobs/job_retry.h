/* job_retry — re-run finished jobs under their same ids (issue 17, item 1).
 * Shared by `onesheet retry` and the API's POST /jobs/{id}/retry and
 * /batches/{id}/retry.
 *
 * A retry is ledger first, queue second, like a submit: the ledger re-opens
 * the selected jobs as a new run (ledger_retry: queued, never sent, the
 * finished run kept in the history), then every job of the batch left
 * pending is sent with its run (submit_enqueue_pending).  A retry killed in
 * between is finished by running it again (or by re-submitting the input):
 * the re-opened jobs are still pending and are sent then; the ledger step
 * finds nothing more to re-open, so nothing is re-opened twice. */
#ifndef ONESHEET_JOB_RETRY_H
#define ONESHEET_JOB_RETRY_H

#include "base/err.h"
#include "jobs/cost.h"
#include "ledger/ledger.h"
#include "queue/queue.h"

#include <stdbool.h>
#include <stddef.h>

/* The state names retry accepts, for messages: "failed, cancelled,
 * filtered, dead". */
#define JOB_RETRY_STATE_NAMES "failed, cancelled, filtered, dead"

/* Parses one state name ("failed", "cancelled", "filtered", "dead") into its
 * LEDGER_RETRY_* bit; 0 when unknown. */
unsigned job_retry_state_bit(const char *name);
/* Parses a comma-separated list of state names into *states (LEDGER_RETRY_*
 * bits).  ERR_USAGE naming the bad name and JOB_RETRY_STATE_NAMES for an
 * unknown or empty name. */
err_code_t job_retry_states_parse(const char *list, unsigned *states, err_t *err);

/* What a retry is asked to act on: a batch (job_id NULL) or one job. */
typedef struct {
    char *batch_id;
    char *job_id;
} job_retry_target_t;

/* Resolves id, a batch id or a job id (a job id names the job in every batch
 * that holds it), into *targets (new array; free with
 * job_retry_targets_free).  ERR_NOTFOUND naming id when it is neither. */
err_code_t job_retry_resolve(ledger_t *l, const char *id, job_retry_target_t **targets,
                         size_t *n, err_t *err);
void job_retry_targets_free(job_retry_target_t *t, size_t n);

/* What a retry did (or, planned, would do) to one target. */
typedef struct {
    size_t selected;      /* jobs in a selected state when read */
    size_t retried;       /* re-opened by this call (0 when planning) */
    size_t enqueued;      /* messages sent: the re-opened jobs, and any
                           * an interrupted retry left pending */
    double estimated_usd; /* the selected jobs' price, as cost.h prices them */
    bool priced;          /* false when a model has no price */
} job_retry_result_t;

/* Reads the target's jobs in a selected state: fills r->selected and the
 * estimate (prices may be NULL: no estimate).  Changes nothing. */
err_code_t job_retry_plan(ledger_t *l, const job_retry_target_t *t, unsigned states,
                      const cost_table_t *prices, job_retry_result_t *r, err_t *err);
/* Re-opens the target's selected jobs (ledger_retry); adds to r->retried.
 * Sends nothing: job_retry_enqueue does, after. */
err_code_t job_retry_reopen(ledger_t *l, const job_retry_target_t *t, unsigned states,
                            job_retry_result_t *r, err_t *err);
/* Sends every job of batch_id left pending (re-opened, or never sent),
 * each with its run; adds to r->enqueued. */
err_code_t job_retry_enqueue(queue_t *q, ledger_t *l, const char *batch_id,
                             job_retry_result_t *r, err_t *err);
/* job_retry_reopen, then job_retry_enqueue of the target's batch.
 * Borrows everything. */
err_code_t job_retry_run(queue_t *q, ledger_t *l, const job_retry_target_t *t,
                         unsigned states, job_retry_result_t *r, err_t *err);

#endif
