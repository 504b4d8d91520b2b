/* engine — see engine.h.  The back-end table and the pieces every back-end
 * shares: result init/free and the aspect-ratio → pixel-size table. */
#include "engine/engine.h"
#include "engine/bedrock_models.h"
#include "engine/engine_bedrock.h"

#include <string.h>

void engine_result_init(engine_result_t *r)
{
    memset(r, 0, sizeof *r);
    buf_init(&r->image);
}

void engine_result_free(engine_result_t *r)
{
    if (!r)
        return;
    buf_free(&r->image);
    crypto_sha256_free(r->sha_head);
    engine_result_init(r);
}

/* Opens the back-end for model: "draft" (or NULL/empty, the default) is the
 * local proof renderer; a Bedrock model or inference-profile id from the
 * table in bedrock_models.c opens the Bedrock engine.  Anything else is
 * ERR_CONFIG naming the model and listing the known ones.  Returns a new
 * engine the caller closes with engine_close(), or NULL with err set. */
engine_t *engine_open(const char *model, err_t *err)
{
    if (!model || !*model || strcmp(model, "draft") == 0)
        return engine_draft_open(err);
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

/* About one megapixel, the sizes the Stability models generate at, so a
 * draft has the proportions of the final poster.  Every side is a multiple
 * of 32 (1248 = 39 x 32 is not one of 64, whatever engine.h says); 21:9 and
 * 9:21 are the models' 2.4:1 approximation. */
static const struct {
    const char *aspect;
    int w, h;
} sizes[] = {
    {"1:1", 1024, 1024}, {"2:3", 832, 1248},  {"3:2", 1248, 832},
    {"4:5", 896, 1120},  {"5:4", 1120, 896},  {"16:9", 1344, 768},
    {"9:16", 768, 1344}, {"21:9", 1536, 640}, {"9:21", 640, 1536},
};

/* Fills *w and *h for aspect; ERR_INVALID (w, h untouched) when the ratio is
 * not one of the nine the job spec allows. */
err_code_t engine_size_for_aspect(const char *aspect, int *w, int *h)
{
    if (!aspect)
        return ERR_INVALID;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        if (strcmp(aspect, sizes[i].aspect) == 0) {
            *w = sizes[i].w;
            *h = sizes[i].h;
            return ERR_OK;
        }
    }
    return ERR_INVALID;
}
