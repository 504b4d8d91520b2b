/* promote — generate chosen proofs on a paid model (issue 20, item 3).
 *
 * A promotion copies each selected source job's recorded spec whole (so
 * fields this code does not know about, such as renditions, travel too),
 * replaces its model, pins its seed to the one the proof was drawn with
 * (folded into the target model's range when that is smaller), and makes
 * one new batch of them.  Its id is derived from the source batch, the
 * model and the selection; jobs already promoted to that model are left
 * out; so promoting the same selection again enqueues nothing.  Lineage is
 * recorded both ways before any job is sent.
 *
 * Two steps so a caller can show the estimate before anything is written:
 * promote_plan() reads and checks (model, selection, budget) and changes
 * nothing; promote_commit() records and sends through the submit path. */
#ifndef ONESHEET_PROMOTE_H
#define ONESHEET_PROMOTE_H

#include "base/err.h"
#include "jobs/cost.h"
#include "jobs/job.h"
#include "jobs/submit.h"
#include "ledger/ledger.h"
#include "queue/queue.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *batch_id;      /* the source batch (the proofs) */
    const char *model;         /* the model to generate on */
    bool only_approved;        /* true: approved jobs only; false: every succeeded job */
    double budget_usd;         /* < 0: no budget */
} promote_opts_t;

typedef struct {
    bulk_t b;                  /* the promoted batch: items in source order */
    char (*from)[JOB_ID_MAX + 1]; /* from[i]: the source job of b.items[i] */
    char from_batch[JOB_ID_MAX + 1];
    size_t selected;           /* source jobs the selection holds */
    size_t already;            /* of them, already promoted to this model */
    char already_batch[JOB_ID_MAX + 1]; /* a batch they were promoted to ("" none) */
    size_t seeds_mapped;       /* seeds folded into the model's smaller range */
    int64_t seed_max;          /* the model's largest seed */
    double usd;                /* the estimate for b's jobs */
} promote_plan_t;

/* Plans o's promotion into *p (zeroed here; free with promote_plan_free,
 * also on error).  prices: the price table (borrowed).  Writes nothing.
 * Errors (err names the field): ERR_INVALID for an unknown or retired
 * model ("model: ..."), a selection with nothing in it ("only: batch B
 * has no approved job ...") or a source spec that no longer parses;
 * ERR_NOTFOUND for an unknown batch; ERR_TOOBIG when the estimate is over
 * o->budget_usd ("budget_usd: ..."); ERR_CONFIG when the ledger keeps no
 * review marks; the ledger's errors.  When every selected job is already
 * promoted, p->b has no items (not an error). */
err_code_t promote_plan(ledger_t *l, const promote_opts_t *o, const cost_table_t *prices,
                        promote_plan_t *p, err_t *err);

/* Records p's batch (source "promote:BATCH"), its lineage, and sends its
 * pending jobs (submit_enqueue_pending).  Borrows everything; fills *res.
 * A crash part-way is repaired by promoting again. */
err_code_t promote_commit(queue_t *q, ledger_t *l, const promote_plan_t *p,
                          submit_result_t *res, err_t *err);

void promote_plan_free(promote_plan_t *p);

/* The seed a proof drawn with seed gets on a model whose seeds are
 * 0..seed_max: the same seed when it fits, else seed mod (seed_max + 1),
 * with *mapped set (so the caller can say so).  Negative seeds are 0. */
int64_t promote_map_seed(int64_t seed, int64_t seed_max, bool *mapped);

#endif
