/* cli_models — what the subcommands share about Bedrock's live model list
 * (issue 23; common/engine/bedrock_catalog.h): loading it (cache, refresh,
 * fallback said once), and the submit-time judgement of a model. */
#ifndef ONESHEET_CLI_MODELS_H
#define ONESHEET_CLI_MODELS_H

#include "cli.h"
#include "engine/bedrock_catalog.h"

/* Loads the list into out (initialised by the caller; freed by it with
 * bedrock_catalog_free) for cli's configuration: the cache in the state
 * directory, renewed when refresh; with access, GetFoundationModelAvailability
 * for each model onesheet can drive.  When the list cannot be had, says so
 * on stderr (once per process) and leaves out->fallback set.  Never fails
 * but for memory (returns cli_fail()'s status; else 0). */
int cli_model_catalog(const cli_t *cli, bool refresh, bool access, bedrock_catalog_t *out);

/* Judges model (NULL: the configured one) before anything is enqueued:
 * nothing to do for draft, the empty default, an id the compiled table does
 * not know (engine_model_check has said so), or model_lifecycle = off.  A
 * Legacy model prints a warning containing "legacy" and its end-of-life
 * date (and that prices are higher once extended access has begun) and is
 * accepted; a model the region does not list prints why and the nearest
 * active model and returns EX_DATAERR, unless force (then a warning).
 * what names the option for messages ("--model", "the configured model").
 * Returns 0 or the exit status. */
int cli_model_lifecycle(const cli_t *cli, const char *model, const char *what, bool force);

/* When model (NULL: the configured one) is listed Legacy with an
 * end-of-life time, that time (unix seconds); else 0.  Uses the list as
 * cli_model_lifecycle() does (cached; no call when it is off or the model
 * is draft). */
int64_t cli_model_end_of_life(const cli_t *cli, const char *model);

#endif
