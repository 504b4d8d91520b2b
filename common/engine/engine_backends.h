/* engine_backends — the table of engines: the chooser above the engine
 * interface and its back-ends.  engine_open() (declared in engine.h) is
 * defined here; config checking reads the same rows. */
#ifndef ONESHEET_ENGINE_BACKENDS_H
#define ONESHEET_ENGINE_BACKENDS_H

#include "base/backend.h"
#include "engine/engine.h"
#include "jobs/job.h"

#include <stddef.h>

typedef struct {
    backend_row_t row;
    /* Opens the engine for model (a value the row claims and validated). */
    engine_t *(*open)(const char *model, err_t *err);
} engine_backend_t;

/* The row for model, validated (see backend_check), or NULL with err set
 * (ERR_CONFIG naming the setting "model" and the accepted shapes). */
const engine_backend_t *engine_backend_check(const char *model, err_t *err);

/* Whether engine_open() would know model: "draft" (or NULL/empty, the
 * default) or an id bedrock_model_lookup() finds, inference-profile prefix
 * included.  Otherwise ERR_INVALID with err "unknown model "X" (did you
 * mean "Y"?)" -- no field name, so callers prefix their own ("FILE:LINE:
 * model", "--model") -- and, when nearest is not NULL and cap > 0, the
 * nearest known id copied into nearest (cut to cap - 1 bytes).  The nearest
 * id is the one at the least Levenshtein distance over the whole id, among
 * "draft", every base id and every base id under each profile prefix; ties
 * go to the first in table order (current models before retired ones).
 * A model the table marks retired (Bedrock no longer serves it, e.g.
 * stability.stable-diffusion-xl-v1) is ERR_INVALID "model \"X\" (NAME) is
 * retired on Bedrock; use \"Y\" instead", Y (the first current model of
 * the same vendor) copied into nearest. */
err_code_t engine_model_check(const char *model, char *nearest, size_t cap, err_t *err);

/* Moves every item of b (from bulk_parse(), before bulk_assign_ids()) whose
 * spec names a model engine_model_check() refuses into b->errors as
 * "name:LINE: model: unknown model ..." ("name: model: ..." for line 0),
 * keeping the errors in line order and the items' order.  Returns ERR_OK
 * when every model is known, ERR_INVALID with err set to the first such
 * message otherwise, or ERR_NOMEM (b unchanged). */
err_code_t engine_bulk_check_models(bulk_t *b, const char *name, err_t *err);

#endif
