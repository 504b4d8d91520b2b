/* cost — a small price table: an array of (model, USD per image), parsed
 * strictly from JSON so that a typo in an edited file is an error rather
 * than a silently free model. */
#include "jobs/cost.h"

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PRICE_MAX 100.0
#define TABLE_MAX 256

typedef struct {
    char *model;
    double usd;
} price_t;

struct cost_table {
    price_t *v;
    size_t n;
    char *source;
};

/* The list prices from the project's Bedrock notes (late 2026); SDXL was
 * $0.04-0.08 and is priced high so an estimate never understates. */
static const struct {
    const char *model;
    double usd;
} builtin[] = {
    {"draft", 0.0},
    {"stability.sd3-5-large-v1:0", 0.08},
    {"stability.stable-image-core-v1:1", 0.04},
    {"stability.stable-image-ultra-v1:1", 0.14},
    {"stability.stable-diffusion-xl-v1", 0.08},
    {"stability.sd3-large-v1:0", 0.08},
    {"stability.stable-image-core-v1:0", 0.04},
    {"stability.stable-image-ultra-v1:0", 0.14},
};

void cost_table_free(cost_table_t *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].model);
    free(t->v);
    free(t->source);
    free(t);
}

static cost_table_t *table_new(const char *source, size_t cap)
{
    cost_table_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->v = calloc(cap ? cap : 1, sizeof *t->v);
    t->source = strdup(source);
    if (!t->v || !t->source) {
        cost_table_free(t);
        return NULL;
    }
    return t;
}

static err_code_t table_add(cost_table_t *t, const char *model, double usd)
{
    if (!(t->v[t->n].model = strdup(model)))
        return ERR_NOMEM;
    t->v[t->n++].usd = usd;
    return ERR_OK;
}

err_code_t cost_table_builtin(cost_table_t **out, err_t *err)
{
    size_t n = sizeof builtin / sizeof *builtin;
    cost_table_t *t = table_new("built-in", n);
    *out = NULL;
    if (!t)
        return err_set(err, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        if (table_add(t, builtin[i].model, builtin[i].usd) != ERR_OK) {
            cost_table_free(t);
            return err_set(err, ERR_NOMEM, "out of memory");
        }
    *out = t;
    return ERR_OK;
}

err_code_t cost_table_parse(const char *name, const char *text, size_t len,
                            cost_table_t **out, err_t *err)
{
    json_error_t je;
    json_t *root, *per, *v;
    const char *key;
    cost_table_t *t = NULL;
    err_code_t rc = ERR_INVALID;

    *out = NULL;
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return err_set(err, ERR_INVALID, "%s:%d: %s", name, je.line, je.text);
    if (!json_is_object(root)) {
        err_set(err, ERR_INVALID, "%s: must be a JSON object", name);
        goto out;
    }
    json_object_foreach(root, key, v) {
        if (strcmp(key, "currency") && strcmp(key, "per_image") && strcmp(key, "note") &&
            strcmp(key, "$schema")) {
            err_set(err, ERR_INVALID, "%s: %s: unknown field (expected currency, per_image, "
                    "note)", name, key);
            goto out;
        }
    }
    v = json_object_get(root, "currency");
    if (v && (!json_is_string(v) || strcmp(json_string_value(v), "USD") != 0)) {
        err_set(err, ERR_INVALID, "%s: currency: only \"USD\" is supported", name);
        goto out;
    }
    per = json_object_get(root, "per_image");
    if (!json_is_object(per)) {
        err_set(err, ERR_INVALID, "%s: per_image: must be an object of model id → USD "
                "per image", name);
        goto out;
    }
    if (json_object_size(per) > TABLE_MAX) {
        err_set(err, ERR_INVALID, "%s: per_image: more than %d models", name, TABLE_MAX);
        goto out;
    }
    if (!(t = table_new(name, json_object_size(per)))) {
        rc = err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    json_object_foreach(per, key, v) {
        double usd = json_is_number(v) ? json_number_value(v) : -1;
        if (!*key || !json_is_number(v) || !isfinite(usd) || usd < 0 || usd > PRICE_MAX) {
            err_set(err, ERR_INVALID, "%s: per_image.%s: must be a number of USD between 0 "
                    "and %g", name, *key ? key : "\"\"", PRICE_MAX);
            goto out;
        }
        if (table_add(t, key, usd) != ERR_OK) {
            rc = err_set(err, ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    *out = t;
    t = NULL;
    rc = ERR_OK;
out:
    cost_table_free(t);
    json_decref(root);
    return rc;
}

err_code_t cost_table_load(const char *path, cost_table_t **out, err_t *err)
{
    FILE *fp = fopen(path, "rb");
    char *data = NULL;
    size_t len = 0;
    err_code_t rc;

    *out = NULL;
    if (!fp)
        return err_set(err, ERR_NOINPUT, "%s: cannot open the price table", path);
    data = malloc(1 << 20);
    if (!data) {
        fclose(fp);
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    len = fread(data, 1, (1 << 20), fp);
    if (ferror(fp) || len == (1 << 20)) {
        rc = err_set(err, ferror(fp) ? ERR_NOINPUT : ERR_TOOBIG,
                     "%s: cannot read the price table (or it is over 1 MiB)", path);
    } else {
        rc = cost_table_parse(path, data, len, out, err);
    }
    fclose(fp);
    free(data);
    return rc;
}

/* dir of the running binary, for the installed table. */
static bool exe_dir(char *out, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", out, cap - 1);
    if (n <= 0 || (size_t)n >= cap - 1)
        return false;
    out[n] = '\0';
    char *slash = strrchr(out, '/');
    if (!slash)
        return false;
    *slash = '\0';
    return true;
}

err_code_t cost_table_default(cost_getenv_fn getenv_fn, cost_table_t **out, err_t *err)
{
    const char *env = (getenv_fn ? getenv_fn : (cost_getenv_fn)getenv)("ONESHEET_PRICES");
    char dir[PATH_MAX], path[PATH_MAX + 64];

    if (env && *env) {
        err_code_t rc = cost_table_load(env, out, err);
        if (rc == ERR_NOINPUT)
            return err_set(err, ERR_CONFIG, "ONESHEET_PRICES: %s: cannot open the price table",
                           env);
        return rc;
    }
    if (exe_dir(dir, sizeof dir)) {
        static const char *const rel[] = {"/../share/onesheet/schema/prices.json",
                                          "/../schema/prices.json"};
        for (size_t i = 0; i < 2; i++) {
            snprintf(path, sizeof path, "%s%s", dir, rel[i]);
            char real[PATH_MAX];
            if (access(path, R_OK) == 0)
                return cost_table_load(realpath(path, real) ? real : path, out, err);
        }
    }
    return cost_table_builtin(out, err);
}

const char *cost_table_source(const cost_table_t *t)
{
    return t->source;
}

static const price_t *find(const cost_table_t *t, const char *model)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->v[i].model, model) == 0)
            return &t->v[i];
    return NULL;
}

err_code_t cost_price(const cost_table_t *t, const char *model, double *usd, err_t *err)
{
    static const char *const profiles[] = {"us.", "eu.", "apac.", "global.", "us-gov."};
    const price_t *p = model ? find(t, model) : NULL;

    for (size_t i = 0; !p && model && i < sizeof profiles / sizeof *profiles; i++)
        if (strncmp(model, profiles[i], strlen(profiles[i])) == 0)
            p = find(t, model + strlen(profiles[i]));
    if (!p)
        return err_set(err, ERR_NOTFOUND,
                       "no price for model \"%s\" in the price table (%s); add it to "
                       "schema/prices.json or set ONESHEET_PRICES", model ? model : "",
                       t->source);
    *usd = p->usd;
    return ERR_OK;
}

char *cost_format(double usd, char *out, size_t cap)
{
    double cents = ceil(usd * 100.0 - 1e-6);
    snprintf(out, cap, "$%.2f", cents <= 0 ? 0.0 : cents / 100.0);
    return out;
}

err_code_t cost_estimate(const bulk_t *b, const bool *counted, const cost_table_t *prices,
                         double *usd, size_t *n, err_t *err)
{
    double sum = 0;
    size_t priced = 0;
    for (size_t i = 0; i < b->nitems; i++) {
        double p;
        const char *m = b->items[i].spec.model ? b->items[i].spec.model : "draft";
        if (counted && !counted[i])
            continue;
        if (cost_price(prices, m, &p, err) != ERR_OK)
            return ERR_NOTFOUND;
        sum += p;
        priced++;
    }
    *usd = sum;
    if (n)
        *n = priced;
    return ERR_OK;
}
