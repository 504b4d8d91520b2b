/* engine_serves — see engine_serves.h.  Lists are short (a worker serves a
 * handful of models), so every question walks the list; ids are compared
 * by their base model (bedrock_model_lookup), which is what makes
 * "us.amazon.nova-canvas-v1:0" serve "amazon.nova-canvas-v1:0". */
#include "engine/engine_serves.h"
#include "engine/bedrock_models.h"
#include "engine/engine_backends.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID_CAP 160

bool engine_model_is_draft(const char *model)
{
    return !model || !*model || strcmp(model, "draft") == 0;
}

/* Copies the next id of the list at *p (trimmed) into out and moves *p past
 * it and its comma.  Returns false at the end of the list. */
static bool next_id(const char **p, char *out, size_t cap)
{
    const char *s = *p;
    if (!s || !*s)
        return false;
    const char *comma = strchr(s, ',');
    size_t len = comma ? (size_t)(comma - s) : strlen(s);
    *p = comma ? comma + 1 : s + len;
    while (len && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len >= cap)
        len = cap - 1;   /* too long to be known: the check says so */
    memcpy(out, s, len);
    out[len] = '\0';
    return true;
}

err_code_t engine_models_check(const char *list, err_t *err)
{
    char id[ID_CAP];
    const char *p = list;
    int drafts = 0, bedrock = 0;

    while (next_id(&p, id, sizeof id)) {
        if (!*id)
            return err_set(err, ERR_CONFIG, "models: an empty model id in \"%.200s\" "
                           "(expected comma-separated ids)", list);
        /* A retired model may still be listed: a worker serving it takes
         * the jobs queued before it was refused at submit, and fails them
         * with Bedrock's answer rather than leave them unserved. */
        const bedrock_model_t *known = bedrock_model_lookup(id);
        if (!(known && known->retired) && engine_model_check(id, NULL, 0, err) != ERR_OK) {
            err->code = ERR_CONFIG;
            return err_prefix(err, "models");
        }
        if (engine_model_is_draft(id))
            drafts++;
        else
            bedrock++;
    }
    if (drafts + bedrock == 0)
        return err_set(err, ERR_CONFIG, "models: expected at least one model id");
    if (drafts && bedrock)
        return err_set(err, ERR_CONFIG, "models: draft cannot be served with Bedrock models "
                       "(one engine per worker: start a draft worker and a Bedrock worker)");
    return ERR_OK;
}

char *engine_models_default(const char *engine_model)
{
    if (engine_model_is_draft(engine_model))
        return strdup("draft");
    size_t len = 1;
    for (size_t i = 0; i < bedrock_model_count(); i++)
        len += strlen(bedrock_model_at(i)->id) + 1;
    char *out = malloc(len);
    size_t at = 0;
    if (!out)
        return NULL;
    out[0] = '\0';
    for (size_t i = 0; i < bedrock_model_count(); i++)
        at += (size_t)snprintf(out + at, len - at, "%s%s", i ? "," : "",
                               bedrock_model_at(i)->id);
    return out;
}

/* Whether the served id serves the job's model. */
static bool same_model(const char *served, const char *model)
{
    if (!model || !*model)
        return true;
    if (engine_model_is_draft(served) || engine_model_is_draft(model))
        return engine_model_is_draft(served) && engine_model_is_draft(model);
    const bedrock_model_t *a = bedrock_model_lookup(served), *b = bedrock_model_lookup(model);
    return a ? a == b : strcmp(served, model) == 0;
}

bool engine_models_serve(const char *list, const char *model)
{
    char id[ID_CAP];
    const char *p = list;
    while (next_id(&p, id, sizeof id))
        if (*id && same_model(id, model))
            return true;
    return false;
}

void engine_workers_for(const ledger_worker_t *w, size_t n, const char *model,
                        int64_t now_ms, int *alive, int64_t *last_seen)
{
    *alive = 0;
    if (last_seen)
        *last_seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (!w[i].models || !engine_models_serve(w[i].models, model))
            continue;
        if (ledger_worker_alive(&w[i], now_ms))
            (*alive)++;
        if (last_seen && w[i].last_seen_ms > *last_seen)
            *last_seen = w[i].last_seen_ms;
    }
}

json_t *engine_worker_json(const ledger_worker_t *w, int64_t now_ms)
{
    char id[ID_CAP];
    const char *p = w->models;
    json_t *models = json_array();
    while (models && next_id(&p, id, sizeof id))
        if (*id)
            json_array_append_new(models, json_string(id));
    bool alive = ledger_worker_alive(w, now_ms);
    return json_pack("{s:s, s:s, s:I, s:s, s:o*, s:I, s:I, s:f, s:f, s:I, s:I, s:I, s:f,"
                     " s:b, s:s}", "id", w->id ? w->id : "", "host", w->host ? w->host : "",
                     "pid", (json_int_t)w->pid, "version", w->version ? w->version : "",
                     "models", models, "started_ms", (json_int_t)w->started_ms,
                     "last_seen_ms", (json_int_t)w->last_seen_ms,
                     "seen_ago_s", (double)(now_ms - w->last_seen_ms) / 1000.0,
                     "beat_s", (double)w->beat_ms / 1000.0,
                     "in_flight", (json_int_t)w->in_flight, "done", (json_int_t)w->done,
                     "failed", (json_int_t)w->failed, "rate_per_min", w->rate_per_min,
                     "alive", alive, "state", alive ? "alive" : "stale");
}
