/* bedrock_catalog — see bedrock_catalog.h: the ListFoundationModels parser
 * and the judgement of a model against the list. */
#include "engine/bedrock_catalog.h"
#include "engine/bedrock_models.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Lifecycle times before 2000 or after 2200 are a bad reply, not a date. */
#define TIME_MIN 946684800LL
#define TIME_MAX 7258118400LL

void bedrock_catalog_init(bedrock_catalog_t *c)
{
    memset(c, 0, sizeof *c);
}

void bedrock_catalog_free(bedrock_catalog_t *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->models[i].id);
        free(c->models[i].name);
        free(c->models[i].provider);
    }
    free(c->models);
    memset(c, 0, sizeof *c);
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard Hinnant's
 * days_from_civil), so no timegm() and no TZ are involved. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

bool bedrock_catalog_parse_time(const char *s, int64_t *out)
{
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, se;
    if (!s || strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
        s[7] != '-' || !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
        !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
        !digits(s + 17, 2, &se))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || (unsigned)d > mdays[mo - 1] || h > 23 || mi > 59 ||
        se > 60)
        return false;
    if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return false;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (!(strcmp(p, "Z") == 0 || strcmp(p, "z") == 0 || strcmp(p, "+00:00") == 0))
        return false;
    int64_t t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 +
                (se > 59 ? 59 : se);
    if (t < TIME_MIN || t > TIME_MAX)
        return false;
    *out = t;
    return true;
}

/* A lifecycle time: absent/null is 0; a number of epoch seconds or an ISO
 * 8601 string; anything else is ERR_INVALID naming the field. */
static err_code_t get_time(json_t *life, const char *key, size_t i, const char *id,
                           int64_t *out, err_t *err)
{
    json_t *v = json_object_get(life, key);
    *out = 0;
    if (!v || json_is_null(v))
        return ERR_OK;
    if (json_is_number(v)) {
        double t = json_number_value(v);
        if (isfinite(t) && t >= (double)TIME_MIN && t <= (double)TIME_MAX) {
            *out = (int64_t)t;
            return ERR_OK;
        }
    } else if (json_is_string(v) && bedrock_catalog_parse_time(json_string_value(v), out)) {
        return ERR_OK;
    }
    return err_set(err, ERR_INVALID,
                   "modelSummaries[%zu].modelLifecycle.%s: not a date between 2000 and "
                   "2200 for %s", i, key, id);
}

static bool lists_image(json_t *mods)
{
    size_t k;
    json_t *v;
    if (!mods)
        return true;     /* the request already asked for IMAGE output */
    json_array_foreach(mods, k, v)
        if (json_is_string(v) && strcmp(json_string_value(v), "IMAGE") == 0)
            return true;
    return false;
}

static char *dup_str(json_t *v)
{
    return strdup(json_is_string(v) ? json_string_value(v) : "");
}

/* One summary into *m (all or nothing). */
static err_code_t parse_one(json_t *s, size_t i, bedrock_listed_t *m, bool *skip, err_t *err)
{
    json_t *id = json_object_get(s, "modelId"), *life, *st;
    *skip = false;
    if (!json_is_object(s))
        return err_set(err, ERR_INVALID, "modelSummaries[%zu]: not an object", i);
    if (!json_is_string(id) || !*json_string_value(id) || json_string_length(id) > 200)
        return err_set(err, ERR_INVALID, "modelSummaries[%zu].modelId: missing or not a "
                       "string of 1 to 200 characters", i);
    const char *ids = json_string_value(id);
    json_t *mods = json_object_get(s, "outputModalities");
    if (mods && !json_is_array(mods))
        return err_set(err, ERR_INVALID, "modelSummaries[%zu].outputModalities: not an "
                       "array for %s", i, ids);
    if (!lists_image(mods)) {
        *skip = true;
        return ERR_OK;
    }
    life = json_object_get(s, "modelLifecycle");
    st = json_object_get(life, "status");
    if (!json_is_object(life) || !json_is_string(st))
        return err_set(err, ERR_INVALID, "modelSummaries[%zu].modelLifecycle.status: "
                       "missing for %s", i, ids);
    memset(m, 0, sizeof *m);
    if (strcmp(json_string_value(st), "ACTIVE") == 0)
        m->status = BEDROCK_LIFE_ACTIVE;
    else if (strcmp(json_string_value(st), "LEGACY") == 0)
        m->status = BEDROCK_LIFE_LEGACY;
    else
        return err_set(err, ERR_INVALID, "modelSummaries[%zu].modelLifecycle.status: "
                       "unknown \"%.40s\" for %s (expected ACTIVE or LEGACY)", i,
                       json_string_value(st), ids);
    if (get_time(life, "startOfLifeTime", i, ids, &m->start_time, err) ||
        get_time(life, "legacyTime", i, ids, &m->legacy_time, err) ||
        get_time(life, "publicExtendedAccessTime", i, ids, &m->extended_time, err) ||
        get_time(life, "endOfLifeTime", i, ids, &m->eol_time, err))
        return err->code;
    m->id = strdup(ids);
    m->name = dup_str(json_object_get(s, "modelName"));
    m->provider = dup_str(json_object_get(s, "providerName"));
    if (!m->id || !m->name || !m->provider) {
        free(m->id);
        free(m->name);
        free(m->provider);
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    return ERR_OK;
}

err_code_t bedrock_catalog_parse(const char *text, size_t len, bedrock_catalog_t *out,
                                 err_t *err)
{
    json_error_t je;
    json_t *root, *list;
    bedrock_catalog_t c;
    err_code_t rc = ERR_OK;

    bedrock_catalog_free(out);
    if (len > BEDROCK_CATALOG_MAX_REPLY)
        return err_set(err, ERR_TOOBIG, "ListFoundationModels reply: %zu bytes is over "
                       "the limit of %zu", len, BEDROCK_CATALOG_MAX_REPLY);
    if (!(root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)))
        return err_set(err, ERR_INVALID, "ListFoundationModels reply: not JSON (%s at "
                       "byte %d)", je.text, je.position);
    list = json_object_get(root, "modelSummaries");
    if (!json_is_array(list)) {
        json_decref(root);
        return err_set(err, ERR_INVALID, "ListFoundationModels reply: modelSummaries: "
                       "missing or not an array");
    }
    if (json_array_size(list) > BEDROCK_CATALOG_MAX_MODELS) {
        json_decref(root);
        return err_set(err, ERR_INVALID, "ListFoundationModels reply: modelSummaries: %zu "
                       "models, more than %d", json_array_size(list),
                       BEDROCK_CATALOG_MAX_MODELS);
    }
    bedrock_catalog_init(&c);
    if (json_array_size(list) &&
        !(c.models = calloc(json_array_size(list), sizeof *c.models))) {
        json_decref(root);
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < json_array_size(list) && rc == ERR_OK; i++) {
        bool skip;
        rc = parse_one(json_array_get(list, i), i, &c.models[c.n], &skip, err);
        if (rc == ERR_OK && !skip && bedrock_catalog_find(&c, c.models[c.n].id)) {
            /* Two lifecycles for one model: which one holds is unknowable. */
            rc = err_set(err, ERR_INVALID, "modelSummaries[%zu].modelId: %.200s is listed "
                         "twice", i, c.models[c.n].id);
            c.n++;            /* freed with the rest */
        } else if (rc == ERR_OK && !skip) {
            c.n++;
        }
    }
    json_decref(root);
    if (rc != ERR_OK) {
        bedrock_catalog_free(&c);
        return rc;
    }
    *out = c;
    return ERR_OK;
}

const char *bedrock_catalog_base_id(const char *id)
{
    const char *p;
    for (size_t i = 0; id && (p = bedrock_profile_prefix_at(i)) != NULL; i++)
        if (strncmp(id, p, strlen(p)) == 0)
            return id + strlen(p);
    return id;
}

const bedrock_listed_t *bedrock_catalog_find(const bedrock_catalog_t *c, const char *id)
{
    const char *base = bedrock_catalog_base_id(id);
    for (size_t i = 0; id && i < c->n; i++)    /* as listed first */
        if (strcmp(c->models[i].id, id) == 0)
            return &c->models[i];
    for (size_t i = 0; base && base != id && i < c->n; i++)
        if (strcmp(c->models[i].id, base) == 0)
            return &c->models[i];
    return NULL;
}

const char *bedrock_catalog_date(int64_t t, char *out, size_t cap)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (!t || !gmtime_r(&tt, &tm) || !strftime(out, cap, "%Y-%m-%d", &tm))
        snprintf(out, cap, "?");
    return out;
}

/* The active listed model onesheet can drive nearest to base: the same
 * vendor first, else any; NULL when none. */
static const char *nearest_active(const bedrock_catalog_t *c, const char *base)
{
    size_t vlen = strcspn(base, ".");
    const char *any = NULL;
    for (size_t i = 0; i < c->n; i++) {
        const bedrock_listed_t *m = &c->models[i];
        const bedrock_model_t *k = bedrock_model_lookup(m->id);
        if (m->status != BEDROCK_LIFE_ACTIVE || !k || k->retired)
            continue;
        if (strncmp(m->id, base, vlen + 1) == 0)
            return m->id;
        if (!any)
            any = m->id;
    }
    return any;
}

err_code_t bedrock_catalog_check(const bedrock_catalog_t *c, const char *model, int64_t now,
                                 buf_t *warning, char *nearest, size_t cap, err_t *err)
{
    char d1[16], d2[16];
    if (!model || !*model || strcmp(model, "draft") == 0 || c->fallback)
        return ERR_OK;
    const bedrock_listed_t *m = bedrock_catalog_find(c, model);
    if (!m) {
        const char *base = bedrock_catalog_base_id(model);
        const char *alt = nearest_active(c, base);
        size_t plen = (size_t)(base - model);
        if (nearest && cap)
            snprintf(nearest, cap, "%.*s%s", (int)plen, model, alt ? alt : "draft");
        return err_set(err, ERR_INVALID,
                       "model \"%.200s\": Bedrock does not offer it in this region (past its "
                       "end of life, or never offered here); nearest active model: "
                       "\"%.*s%s\"", model, (int)plen, model, alt ? alt : "draft");
    }
    if (m->status != BEDROCK_LIFE_LEGACY || !warning)
        return ERR_OK;
    bedrock_catalog_date(m->eol_time, d1, sizeof d1);
    if (buf_appendf(warning, "model %s is legacy on Bedrock: end of life %s", model, d1) !=
        ERR_OK)
        return err_set(err, ERR_NOMEM, "out of memory");
    if (m->extended_time && m->extended_time <= now)
        buf_appendf(warning, "; in public extended access since %s: prices are higher",
                    bedrock_catalog_date(m->extended_time, d2, sizeof d2));
    else if (m->extended_time)
        buf_appendf(warning, "; prices rise from %s (public extended access)",
                    bedrock_catalog_date(m->extended_time, d2, sizeof d2));
    const char *alt = nearest_active(c, m->id);
    if (alt)
        buf_appendf(warning, "; consider \"%.*s%s\"",
                    (int)(bedrock_catalog_base_id(model) - model), model, alt);
    return ERR_OK;
}
