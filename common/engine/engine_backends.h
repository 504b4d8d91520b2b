/* engine_backends — the table of engines: the chooser above the engine
 * interface and its back-ends.  engine_open() (declared in engine.h) is
 * defined here; config checking reads the same rows. */
#ifndef ONESHEET_ENGINE_BACKENDS_H
#define ONESHEET_ENGINE_BACKENDS_H

#include "base/backend.h"
#include "engine/engine.h"

typedef struct {
    backend_row_t row;
    /* Opens the engine for model (a value the row claims and validated). */
    engine_t *(*open)(const char *model, err_t *err);
} engine_backend_t;

/* The row for model, validated (see backend_check), or NULL with err set
 * (ERR_CONFIG naming the setting "model" and the accepted shapes). */
const engine_backend_t *engine_backend_check(const char *model, err_t *err);

#endif
