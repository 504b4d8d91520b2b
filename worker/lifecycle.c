/* lifecycle — the worker's view of Bedrock's model list (issue 23): loaded
 * once at start for a network engine, it says with each finished job in
 * which lifecycle state the job's model was (ACTIVE, LEGACY with its end
 * of life, or unlisted), so a log shows which jobs ran on a model about to
 * go.  A job whose model is gone fails on its own (model_retired, see
 * bedrock_refine_error); the list only reports. */
#include "worker.h"

#include "aws/aws.h"
#include "base/log.h"
#include "engine/bedrock_catalog.h"
#include "engine/bedrock_catalog_fetch.h"
#include "engine/bedrock_models.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void worker_lifecycle_start(worker_t *w)
{
    bedrock_catalog_t *c;
    err_t e;
    char d1[16], d2[16];

    if (!w->async || w->cfg.model_lifecycle_off || !(c = calloc(1, sizeof *c)))
        return;
    bedrock_catalog_opts_t o = {.state_dir = w->cfg.state_dir,
                                .max_age_s = w->cfg.model_list_ttl};
    aws_env_t *env = aws_env_default(&e);
    bedrock_catalog_init(c);
    if (bedrock_catalog_load(env, &o, c, &e) != ERR_OK || c->fallback) {
        log_warn("model_list_unavailable", "reason=\"%s\"",
                 c->fallback ? c->why : e.msg);
        bedrock_catalog_free(c);
        free(c);
        return;
    }
    w->catalog = c;
    const char *p = w->models ? w->models : "";
    while (*p) {
        size_t n = strcspn(p, ",");
        char id[200];
        snprintf(id, sizeof id, "%.*s", (int)(n < sizeof id ? n : sizeof id - 1), p);
        const bedrock_listed_t *m = bedrock_catalog_find(c, id);
        if (!m)
            log_warn("model_lifecycle", "model=%s status=unlisted", id);
        else if (m->status == BEDROCK_LIFE_LEGACY)
            log_warn("model_lifecycle", "model=%s status=LEGACY end_of_life=%s "
                     "extended_access=%s", id, bedrock_catalog_date(m->eol_time, d1, sizeof d1),
                     bedrock_catalog_date(m->extended_time, d2, sizeof d2));
        else
            log_info("model_lifecycle", "model=%s status=ACTIVE", id);
        p += n + (p[n] == ',');
    }
}

const char *worker_lifecycle_value(const worker_t *w, const char *model, char *out,
                                   size_t cap)
{
    char d[16];
    const bedrock_listed_t *m;
    if (!w->catalog || !model || !bedrock_model_lookup(model))
        return NULL;
    if (!(m = bedrock_catalog_find(w->catalog, model)))
        snprintf(out, cap, "unlisted");
    else if (m->status == BEDROCK_LIFE_LEGACY)
        snprintf(out, cap, "LEGACY:%s", bedrock_catalog_date(m->eol_time, d, sizeof d));
    else
        snprintf(out, cap, "ACTIVE");
    return out;
}

const char *worker_lifecycle_of(const worker_t *w, const char *model, char *out, size_t cap)
{
    char v[48];
    const char *life = worker_lifecycle_value(w, model, v, sizeof v);
    out[0] = '\0';
    if (!life)
        return out;
    if (strncmp(life, "LEGACY:", 7) == 0)
        snprintf(out, cap, " lifecycle=LEGACY end_of_life=%s", life + 7);
    else
        snprintf(out, cap, " lifecycle=%s", life);
    return out;
}

void worker_lifecycle_free(worker_t *w)
{
    if (!w->catalog)
        return;
    bedrock_catalog_free(w->catalog);
    free(w->catalog);
    w->catalog = NULL;
}
