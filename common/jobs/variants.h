/* variants — several jobs from one prompt (issue 20, item 1).
 *
 * An entry asking for N variants (spec field "variants", or the submit
 * flag --variants for entries naming none) becomes N jobs.  Each carries
 * the prompt's own job id (variant_of), its index (variant, 1..N) and its
 * own seed, and so has its own job id; everything is derived from the
 * prompt's job id, so submitting the same input again yields the same
 * jobs and enqueues nothing. */
#ifndef ONESHEET_VARIANTS_H
#define ONESHEET_VARIANTS_H

#include "base/err.h"
#include "jobs/job.h"

/* Sets variants = n on every item of b that names none (n 0 or 1: leaves
 * b alone).  Call before bulk_assign_ids(), so the count is part of the
 * batch id. */
void bulk_default_variants(bulk_t *b, int n);

/* The seed of variant `index` (1-based) of the prompt whose job id is
 * prompt_id: base + index - 1 (wrapped into 0..JOB_SEED_MAX) when the
 * prompt names a seed (base >= 0), else one derived from SHA-256 of
 * "prompt_id#vINDEX". */
int64_t job_variant_seed(const char *prompt_id, int64_t base, int index);

/* Replaces every item of b (ids from bulk_assign_ids()) that asks for more
 * than one variant and is not a variant yet by its variants, in order,
 * each with variant_of, variant and seed set and its own job id (a client
 * id "X" becomes "X-vI").  b->batch_id is unchanged.  ERR_INVALID (err
 * naming the line and field "id") when a client id is too long to take
 * the suffix; ERR_NOMEM.  On error b is unchanged. */
err_code_t bulk_expand_variants(bulk_t *b, err_t *err);

#endif
