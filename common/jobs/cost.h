/* cost — the price table behind every estimate: `submit --dry-run`,
 * `submit --budget`, `campaign plan` and campaign budgets.
 *
 * The table is JSON (schema/prices.json): {"currency": "USD", "per_image":
 * {"MODEL": USD, ...}}.  It is editable: ONESHEET_PRICES names a file, else
 * PREFIX/share/onesheet/schema/prices.json next to the installed binary
 * (schema/prices.json in a checkout), else the built-in defaults (the list
 * prices in the project's Bedrock notes; draft costs nothing).  A
 * cross-region inference-profile id ("us.stability.sd3-5-large-v1:0") is
 * priced as the model it routes to. */
#ifndef ONESHEET_COST_H
#define ONESHEET_COST_H

#include "base/err.h"
#include "jobs/job.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct cost_table cost_table_t;

typedef const char *(*cost_getenv_fn)(const char *name);

/* Parses a price table from text[0..len) named `name` in messages.  Unknown
 * keys, a currency other than USD, and prices that are not numbers in
 * 0..100 are ERR_INVALID ("prices.json: per_image.MODEL: ...").
 * *out: a new table (free with cost_table_free). */
err_code_t cost_table_parse(const char *name, const char *text, size_t len,
                            cost_table_t **out, err_t *err);

/* Reads and parses the file at path (ERR_NOINPUT when unreadable). */
err_code_t cost_table_load(const char *path, cost_table_t **out, err_t *err);

/* The built-in defaults as a new table. */
err_code_t cost_table_builtin(cost_table_t **out, err_t *err);

/* Finds the table in the order above (getenv_fn NULL: getenv).  A file
 * named by ONESHEET_PRICES must exist; the installed one is optional.
 * *out: a new table whose source (cost_table_source) names where it came
 * from ("built-in" for the defaults). */
err_code_t cost_table_default(cost_getenv_fn getenv_fn, cost_table_t **out,
                              err_t *err);

/* Where the table came from: a path, or "built-in" (borrowed). */
const char *cost_table_source(const cost_table_t *t);

/* The price of one image from model into *usd.  ERR_NOTFOUND naming the
 * model and the table's source when it has no entry. */
err_code_t cost_price(const cost_table_t *t, const char *model, double *usd,
                      err_t *err);

/* The estimated cost of b's jobs from prices into *usd: every job, or with
 * counted (b->nitems flags) only those flagged; *n (may be NULL) gets how
 * many were priced.  A job naming no model is priced as "draft".
 * ERR_NOTFOUND (err naming the model) when a model has no price. */
err_code_t cost_estimate(const bulk_t *b, const bool *counted, const cost_table_t *prices,
                         double *usd, size_t *n, err_t *err);

/* Formats usd as "$1.23" (cents rounded up, so an estimate never
 * understates) into out.  Returns out. */
char *cost_format(double usd, char *out, size_t cap);

void cost_table_free(cost_table_t *t);

#endif
