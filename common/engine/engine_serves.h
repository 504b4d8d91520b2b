/* engine_serves — which models a worker generates, and which live workers
 * serve a model.
 *
 * A worker serves a list of model ids ("draft", or Bedrock ids, never
 * both: a draft engine cannot call Bedrock and a Bedrock engine does not
 * draw drafts).  An id may carry an inference-profile prefix (us., eu.,
 * apac., global.); it serves the base model under any prefix, as the
 * Bedrock engine routes them.  A job's model is authoritative: a worker
 * generates a job only when its list serves the job's model, so a job is
 * never drawn by an engine it did not name. */
#ifndef ONESHEET_ENGINE_SERVES_H
#define ONESHEET_ENGINE_SERVES_H

#include "base/err.h"
#include "ledger/ledger.h"

#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether model is the draft engine's: "draft", or NULL/empty (the
 * default). */
bool engine_model_is_draft(const char *model);

/* Checks a comma-separated list of model ids: at least one, each known
 * (engine_model_check), draft not mixed with Bedrock ids.  ERR_CONFIG
 * with err "models: unknown model "X" (did you mean "Y"?)" or "models:
 * draft cannot be served with Bedrock models (...)"; spaces around ids
 * are allowed. */
err_code_t engine_models_check(const char *list, err_t *err);

/* The list a worker whose engine is engine_model serves by default:
 * "draft" for the draft engine, else every Bedrock base id of the model
 * table, comma-separated.  Returns a new string (caller frees), NULL when
 * out of memory. */
char *engine_models_default(const char *engine_model);

/* Whether list (checked) serves model, a job's model.  A job naming no
 * model (NULL/empty) is served by any worker, which uses its engine's
 * model, as before models were authoritative. */
bool engine_models_serve(const char *list, const char *model);

/* Over the registry's workers w[0..n): *alive counts the workers alive at
 * now_ms whose list serves model; *last_seen (may be NULL) gets the
 * latest last_seen_ms of any registered worker serving it, 0 when none
 * is registered. */
void engine_workers_for(const ledger_worker_t *w, size_t n, const char *model,
                        int64_t now_ms, int *alive, int64_t *last_seen);

/* The worker as the JSON object `onesheet workers --json` prints and GET
 * /workers returns: id, host, pid, version, models (array), started_ms,
 * last_seen_ms, seen_ago_s, beat_s, in_flight, done, failed, rate_per_min,
 * alive and state ("alive" or "stale").  New reference; NULL when out of
 * memory. */
json_t *engine_worker_json(const ledger_worker_t *w, int64_t now_ms);

#endif
