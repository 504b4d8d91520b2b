/* engine_backends — the engine table; see engine_backends.h.  Models are
 * not URL schemes: "draft" is one exact row, and every other value is a
 * Bedrock model or inference-profile id, looked up in bedrock_models.c when
 * the engine opens. */
#include "engine/engine_backends.h"
#include "engine/bedrock_models.h"
#include "engine/engine_bedrock.h"
#include "engine/engine_draft.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Known ids are short ("apac." + the longest base id is under 50 bytes); a
 * longer one is cut, which only makes it a worse suggestion. */
enum { MODEL_ID_CAP = 128 };

/* Levenshtein distance between a and b (b shorter than MODEL_ID_CAP):
 * inserting, deleting or replacing one byte costs 1.  One row, O(|a||b|). */
static size_t edit_distance(const char *a, const char *b)
{
    size_t nb = strlen(b), row[MODEL_ID_CAP];

    for (size_t j = 0; j <= nb; j++)
        row[j] = j;
    for (size_t i = 1; *a; a++, i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j], best = diag + (*a != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

/* Copies into out (MODEL_ID_CAP bytes) the known id nearest model: "draft",
 * then the base ids, then each under each profile prefix; the first of
 * equals wins. */
static void nearest_known(const char *model, char out[MODEL_ID_CAP])
{
    char cand[MODEL_ID_CAP];
    size_t best = edit_distance(model, "draft");

    snprintf(out, MODEL_ID_CAP, "draft");
    for (size_t p = 0; p == 0 || bedrock_profile_prefix_at(p - 1); p++) {
        const char *prefix = p ? bedrock_profile_prefix_at(p - 1) : "";
        for (size_t i = 0; i < bedrock_model_count(); i++) {
            snprintf(cand, sizeof cand, "%s%s", prefix, bedrock_model_at(i)->id);
            size_t d = edit_distance(model, cand);
            if (d < best) {
                best = d;
                memcpy(out, cand, sizeof cand);
            }
        }
    }
}

/* Whether engine_open() knows model: the default (NULL or empty), "draft",
 * or an id of the Bedrock table. */
static bool model_known(const char *model)
{
    const bedrock_model_t *m;
    return !model || !*model || strcmp(model, "draft") == 0 ||
           ((m = bedrock_model_lookup(model)) && !m->retired);
}

/* The model to use instead of retired m: the first current one of the same
 * vendor ("stability.", "amazon."), else the first current one. */
static const char *replacement_of(const bedrock_model_t *m)
{
    size_t vlen = strcspn(m->id, ".");
    const char *first = NULL;
    for (size_t i = 0; i < bedrock_model_count(); i++) {
        const bedrock_model_t *c = bedrock_model_at(i);
        if (c->retired)
            continue;
        if (strncmp(c->id, m->id, vlen + 1) == 0)
            return c->id;
        if (!first)
            first = c->id;
    }
    return first ? first : "draft";
}

err_code_t engine_model_check(const char *model, char *nearest, size_t cap, err_t *err)
{
    char best[MODEL_ID_CAP], shown[MODEL_ID_CAP + 4];
    const bedrock_model_t *m;

    if (model_known(model))
        return ERR_OK;
    if ((m = bedrock_model_lookup(model)) != NULL) {
        /* Retired: Bedrock no longer serves it, so a job would only fail
         * later at the worker. */
        const char *instead = replacement_of(m);
        if (nearest && cap)
            snprintf(nearest, cap, "%s", instead);
        return err_set(err, ERR_INVALID, "model \"%s\" (%s) is retired on Bedrock; "
                       "use \"%s\" instead", m->id, m->name, instead);
    }
    nearest_known(model, best);
    if (nearest && cap)
        snprintf(nearest, cap, "%s", best);
    /* The id may come straight from argv: keep the message one line. */
    snprintf(shown, sizeof shown, "%.*s%s", MODEL_ID_CAP - 1, model,
             strlen(model) >= MODEL_ID_CAP ? "..." : "");
    for (char *p = shown; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7F)
            *p = '?';
    return err_set(err, ERR_INVALID, "unknown model \"%s\" (did you mean \"%s\"?)", shown,
                   best);
}

err_code_t engine_bulk_check_models(bulk_t *b, const char *name, err_t *err)
{
    size_t bad = 0, kept = 0, ne = 0, oi = 0, first = 0;
    bulk_error_t *old = b->errors, *errs, *added;
    err_t e;

    for (size_t i = 0; i < b->nitems; i++)
        bad += !model_known(b->items[i].spec.model);
    if (bad == 0)
        return ERR_OK;
    errs = malloc((b->nerrors + bad) * sizeof *errs);
    added = malloc(bad * sizeof *added);
    if (!errs || !added) {
        free(errs);
        free(added);
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < b->nitems; i++) {
        bulk_item_t *it = &b->items[i];
        if (model_known(it->spec.model)) {
            b->items[kept++] = *it;
            continue;
        }
        err_clear(&e);
        engine_model_check(it->spec.model, NULL, 0, &e);
        bulk_error_t *be = &added[ne++];
        be->line = it->line;
        if (it->line)
            snprintf(be->msg, sizeof be->msg, "%s:%zu: model: %s", name, it->line, e.msg);
        else
            snprintf(be->msg, sizeof be->msg, "%s: model: %s", name, e.msg);
        job_spec_free(&it->spec);
    }
    /* Both lists are in line order; merge them so messages stay so. */
    for (size_t ai = 0, k = 0; oi < b->nerrors || ai < ne; k++) {
        bool take_old = ai == ne || (oi < b->nerrors && old[oi].line <= added[ai].line);
        if (!take_old && ai == 0)
            first = k;
        errs[k] = take_old ? old[oi++] : added[ai++];
    }
    b->nitems = kept;
    b->nerrors += ne;
    b->errors = errs;
    free(old);
    free(added);
    if (bad > 1)
        return err_set(err, ERR_INVALID, "%s (and %zu more unknown models)", errs[first].msg,
                       bad - 1);
    return err_set(err, ERR_INVALID, "%s", errs[first].msg);
}
