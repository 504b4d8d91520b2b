/* engine_backends — the engine table; see engine_backends.h.  Models are
 * not URL schemes: "draft" is one exact row, and every other value is a
 * Bedrock model or inference-profile id, looked up in bedrock_models.c when
 * the engine opens. */
#include "engine/engine_backends.h"
#include "engine/bedrock_models.h"
#include "engine/engine_bedrock.h"
#include "engine/engine_draft.h"

#include <ctype.h>
#include <string.h>

static engine_t *open_draft(const char *model, err_t *err)
{
    return engine_draft_open(err);
}

/* The characters of Bedrock model ids and ARNs, at most 256 of them.  Not
 * whether the model exists: that is engine_open's question. */
static err_code_t validate_model_id(const char *model, err_t *err)
{
    size_t n = strlen(model);
    if (n > 256)
        return err_set(err, ERR_CONFIG, "expected a Bedrock model id of at most 256 characters");
    for (const char *p = model; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("._:-/", *p))
            return err_set(err, ERR_CONFIG, "expected \"draft\" or a Bedrock model id");
    return ERR_OK;
}

/* A model from the table in bedrock_models.c; anything else is ERR_CONFIG
 * naming the model and listing the known ones. */
static engine_t *open_bedrock(const char *model, err_t *err)
{
    if (bedrock_model_lookup(model))
        return engine_bedrock_open(model, err);
    buf_t known = BUF_INIT;
    if (bedrock_model_list(&known) != ERR_OK)
        buf_reset(&known);
    err_set(err, ERR_CONFIG, "unknown model \"%.128s\" (known: draft, %s)", model,
            known.data ? (const char *)known.data : "");
    buf_free(&known);
    return NULL;
}

static const engine_backend_t backends[] = {
    {{"draft", true, "\"draft\"", NULL, NULL}, open_draft},
    {{NULL, false, "a Bedrock model id", validate_model_id, NULL}, open_bedrock},
};
#define NBACKENDS (sizeof backends / sizeof *backends)

const engine_backend_t *engine_backend_check(const char *model, err_t *err)
{
    return (const engine_backend_t *)backend_check(backends, NBACKENDS, sizeof *backends,
                                                   "model", model, err);
}

/* "draft" (or NULL/empty, the default) is the local proof renderer; a
 * Bedrock model or inference-profile id opens the Bedrock engine.  Returns
 * a new engine the caller closes with engine_close(), or NULL with err set. */
engine_t *engine_open(const char *model, err_t *err)
{
    if (!model || !*model)
        model = "draft";
    const engine_backend_t *b = engine_backend_check(model, err);
    return b ? b->open(model, err) : NULL;
}
