/* api_models — the model lifecycle check behind POST /generate-poster and
 * POST /jobs (issue 23): the same judgement `onesheet submit` makes
 * (bedrock_catalog_check), against Bedrock's model list loaded once per
 * server and loaded again when its TTL (model_list_ttl) has passed, never
 * on every request.  The list comes from the cache in the state directory
 * when it is young enough, else from one ListFoundationModels call; with
 * no network or no permission the compiled table decides and the first
 * answer after that load says so in its warnings.
 *
 * Only Bedrock models are judged: "draft" (and model_lifecycle = off)
 * never touch the list, so the draft engine never calls the network. */
#include "api/api_internal.h"

#include "aws/aws.h"
#include "base/buf.h"
#include "engine/bedrock_catalog.h"
#include "engine/bedrock_catalog_fetch.h"
#include "engine/bedrock_models.h"
#include "jobs/job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A list that could not be had is asked for again after this long at most
 * (each try costs one short call). */
#define API_MODELS_FALLBACK_RETRY_S 300

struct api_models {
    pthread_mutex_t mu;
    bedrock_catalog_t cat;
    bool loaded;
    bool said;              /* the fallback has been told once since the load */
    int64_t loaded_at;      /* unix seconds */
    long loads;             /* how many times the list was loaded */
};

api_models_t *api_models_new(void)
{
    api_models_t *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    pthread_mutex_init(&m->mu, NULL);
    bedrock_catalog_init(&m->cat);
    return m;
}

void api_models_free(api_models_t *m)
{
    if (!m)
        return;
    bedrock_catalog_free(&m->cat);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

long api_models_loads(api_t *a)
{
    long n;
    pthread_mutex_lock(&a->models->mu);
    n = a->models->loads;
    pthread_mutex_unlock(&a->models->mu);
    return n;
}

/* Loads the list again when there is none or it is older than ttl (the
 * fallback sooner).  Called with m->mu held; a failed load (only out of
 * memory) keeps the list there was. */
static void refresh(api_models_t *m, const config_t *cfg, int64_t now)
{
    long ttl = cfg->model_list_ttl > 0 ? cfg->model_list_ttl : BEDROCK_CATALOG_MAX_AGE_S;
    if (m->loaded && m->cat.fallback && ttl > API_MODELS_FALLBACK_RETRY_S)
        ttl = API_MODELS_FALLBACK_RETRY_S;
    if (m->loaded && now - m->loaded_at < ttl)
        return;
    bedrock_catalog_t fresh;
    err_t e;
    err_clear(&e);
    bedrock_catalog_init(&fresh);
    aws_env_t *env = aws_env_default(&e);
    bedrock_catalog_opts_t o = {.state_dir = cfg->state_dir, .max_age_s = ttl, .now = now};
    if (bedrock_catalog_load(env, &o, &fresh, &e) != ERR_OK) {
        bedrock_catalog_free(&fresh);
        return;
    }
    if (!env)
        snprintf(fresh.why, sizeof fresh.why, "%.200s; using the compiled model table",
                 e.msg);
    bedrock_catalog_free(&m->cat);
    m->cat = fresh;
    m->loaded = true;
    m->said = false;
    m->loaded_at = now;
    m->loads++;
}

static bool add_warning(json_t **warnings, const char *text)
{
    if (!*warnings && !(*warnings = json_array()))
        return false;
    /* A model used by many jobs is warned about once. */
    size_t i;
    json_t *v;
    json_array_foreach(*warnings, i, v)
        if (strcmp(json_string_value(v), text) == 0)
            return true;
    return json_array_append_new(*warnings, json_string(text)) == 0;
}

bool api_models_check(api_t *a, const char *model, const char *where, json_t **warnings,
                      api_response_t *resp)
{
    const config_t *cfg = a->o.cfg;
    api_models_t *m = a->models;
    buf_t w = BUF_INIT;
    char nearest[200] = "", note[400] = "";
    err_t e;

    if (!model || !*model)
        model = cfg ? cfg->model : NULL;
    if (!cfg || !m || cfg->model_lifecycle_off || !model || !*model ||
        strcmp(model, "draft") == 0 || !bedrock_model_lookup(model))
        return true;
    err_clear(&e);
    int64_t now = a->now_ms() / 1000;
    pthread_mutex_lock(&m->mu);
    refresh(m, cfg, now);
    if ((m->cat.fallback || m->cat.stale) && !m->said) {
        m->said = true;
        snprintf(note, sizeof note, "cannot list Bedrock's models: %s", m->cat.why);
    }
    err_code_t rc = bedrock_catalog_check(&m->cat, model, now, &w, nearest, sizeof nearest,
                                          &e);
    pthread_mutex_unlock(&m->mu);
    if (rc == ERR_NOMEM || (note[0] && !add_warning(warnings, note))) {
        buf_free(&w);
        api_error(resp, 500, "internal", "out of memory");
        return false;
    }
    if (rc != ERR_OK) {
        buf_free(&w);
        /* The status the API gives any model it will not take (400), with
         * a code of its own: the model exists but this region has let it go. */
        api_json(resp, 400,
                 json_pack("{s:{s:s,s:s+++,s:s,s:s?}}", "error", "code", "model_unavailable",
                           "message", where, ": ", e.msg, "; nothing was enqueued", "model",
                           model, "nearest", nearest[0] ? nearest : NULL));
        return false;
    }
    bool ok = !w.len || add_warning(warnings, (const char *)w.data);
    buf_free(&w);
    if (!ok)
        api_error(resp, 500, "internal", "out of memory");
    return ok;
}

bool api_models_check_bulk(api_t *a, const bulk_t *b, json_t **warnings,
                           api_response_t *resp)
{
    for (size_t i = 0; i < b->nitems; i++) {
        char where[48];
        snprintf(where, sizeof where, "jobs[%zu].model", i);
        if (!api_models_check(a, b->items[i].spec.model, where, warnings, resp))
            return false;
    }
    return true;
}

json_t *api_warned(json_t *o, json_t *warnings)
{
    if (o && json_array_size(warnings))
        json_object_set(o, "warnings", warnings);
    return o;
}
