/* engine_draft — the "draft" engine: local, deterministic proof art drawn
 * with cairo + pango, clearly labelled DRAFT. */
#ifndef ONESHEET_ENGINE_DRAFT_H
#define ONESHEET_ENGINE_DRAFT_H

#include "engine/engine.h"

/* Opens a draft engine with its own font map and pango context (so one per
 * thread renders without sharing pango state).  Returns a new engine the
 * caller closes with engine_close(), or NULL with err set (ERR_NOMEM). */
engine_t *engine_draft_open(err_t *err);

#endif
