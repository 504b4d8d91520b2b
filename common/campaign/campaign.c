/* campaign — reading a campaign file.  Strict like the job parser: unknown
 * fields, wrong types and bad values are errors that name the file and the
 * field, because a campaign runs unattended and a typo found at 09:00 on a
 * Monday is found too late.  `campaign plan` runs the same checks. */
#include "campaign/campaign.h"
#include "aws/http.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


typedef struct {
    const char *path;   /* for messages */
    const char *dir;
    err_t *err;
    const char *root;   /* NULL, or files must resolve under it (events) */
} pctx_t;

__attribute__((format(printf, 3, 4)))
static err_code_t bad(pctx_t *p, const char *field, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(p->err, ERR_INVALID, "%s: %s: %s", p->path, field, msg);
}

static err_code_t nomem(pctx_t *p) { return err_set(p->err, ERR_NOMEM, "out of memory"); }

static err_code_t only_keys(pctx_t *p, json_t *obj, const char *where,
                            const char *const *keys)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        size_t i = 0;
        while (keys[i] && strcmp(keys[i], k) != 0)
            i++;
        if (!keys[i])
            return where ? bad(p, where, "%s: unknown field", k) : bad(p, k, "unknown field");
    }
    return ERR_OK;
}

/* An optional string field into *out (a new copy). */
static err_code_t opt_string(pctx_t *p, json_t *obj, const char *key, const char *field,
                             char **out)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return ERR_OK;
    if (!json_is_string(v))
        return bad(p, field, "must be a string");
    if (!(*out = strdup(json_string_value(v))))
        return nomem(p);
    return ERR_OK;
}

static err_code_t opt_usd(pctx_t *p, json_t *obj, const char *key, const char *field,
                          double *out)
{
    json_t *v = json_object_get(obj, key);
    *out = -1;
    if (!v || json_is_null(v))
        return ERR_OK;
    if (!json_is_number(v) || !isfinite(json_number_value(v)) || json_number_value(v) < 0 ||
        json_number_value(v) > 1e6)
        return bad(p, field, "must be a number of USD between 0 and 1000000");
    *out = json_number_value(v);
    return ERR_OK;
}

static err_code_t opt_int(pctx_t *p, json_t *obj, const char *key, const char *field,
                          long long lo, long long hi, long long *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return ERR_OK;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return bad(p, field, "must be an integer between %lld and %lld", lo, hi);
    *out = json_integer_value(v);
    return ERR_OK;
}

/* Appends the lines of a text file (blank lines and # comments skipped,
 * whitespace trimmed) to *v. */
static err_code_t read_lines(pctx_t *p, const char *field, const char *rel, char ***v,
                             size_t *n, size_t max)
{
    char path[4096];
    if (rel[0] == '/' || !p->dir)
        snprintf(path, sizeof path, "%s", rel);
    else if (snprintf(path, sizeof path, "%s/%s", p->dir, rel) >= (int)sizeof path)
        return bad(p, field, "path too long");
    if (p->root) {
        char real[4096];
        if (campaign_confine(p->root, field, path, real, sizeof real, p->err) != ERR_OK)
            return err_prefix(p->err, "%s", p->path);
        snprintf(path, sizeof path, "%s", real);
    }
    FILE *fp = fopen(path, "r");
    if (!fp)
        return bad(p, field, "%s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t len;
    err_code_t rc = ERR_OK;
    while (rc == ERR_OK && (len = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        char *s = line, *e = line + len;
        while (s < e && isspace((unsigned char)*s))
            s++;
        while (e > s && isspace((unsigned char)e[-1]))
            e--;
        if (s == e || *s == '#')
            continue;
        if (memchr(s, '\0', (size_t)(e - s)))
            rc = bad(p, field, "%s:%zu: contains a NUL byte", path, lineno);
        else if (*n >= max)
            rc = bad(p, field, "%s: more than %zu lines", path, max);
        else {
            char **nv = realloc(*v, (*n + 1) * sizeof **v);
            if (!nv || !(nv[*n] = strndup(s, (size_t)(e - s)))) {
                if (nv)
                    *v = nv;
                rc = nomem(p);
            } else {
                *v = nv;
                (*n)++;
            }
        }
    }
    free(line);
    fclose(fp);
    return rc;
}

/* A JSON array of strings appended to *v. */
static err_code_t string_list(pctx_t *p, json_t *arr, const char *field, char ***v,
                              size_t *n, size_t max)
{
    size_t i;
    json_t *x;
    if (!json_is_array(arr))
        return bad(p, field, "must be an array of strings");
    json_array_foreach(arr, i, x) {
        if (!json_is_string(x) || json_string_length(x) == 0)
            return bad(p, field, "[%zu]: must be a non-empty string", i);
        if (*n >= max)
            return bad(p, field, "more than %zu entries", max);
        char **nv = realloc(*v, (*n + 1) * sizeof **v);
        if (!nv)
            return nomem(p);
        *v = nv;
        if (!(nv[*n] = strdup(json_string_value(x))))
            return nomem(p);
        (*n)++;
    }
    return ERR_OK;
}

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > CAMPAIGN_NAME_MAX || !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-' &&
            s[i] != '_')
            return false;
    return true;
}

static err_code_t parse_vars(pctx_t *p, json_t *obj, campaign_t *c)
{
    const char *k;
    json_t *v;
    char field[128];
    if (!json_is_object(obj))
        return bad(p, "variables", "must be an object of name → list");
    c->vars = calloc(json_object_size(obj) ? json_object_size(obj) : 1, sizeof *c->vars);
    if (!c->vars)
        return nomem(p);
    json_object_foreach(obj, k, v) {
        campaign_var_t *var = &c->vars[c->nvars++];
        snprintf(field, sizeof field, "variables.%s", k);
        if (!*k || strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
                       strlen(k))
            return bad(p, field, "a variable name is letters, digits and '_'");
        if (!(var->name = strdup(k)))
            return nomem(p);
        err_code_t rc;
        if (json_is_object(v)) {
            static const char *const keys[] = {"file", NULL};
            json_t *f = json_object_get(v, "file");
            if ((rc = only_keys(p, v, field, keys)) != ERR_OK)
                return rc;
            if (!json_is_string(f))
                return bad(p, field, "must be a list of strings or {\"file\": PATH}");
            rc = read_lines(p, field, json_string_value(f), &var->values, &var->nvalues,
                            CAMPAIGN_VALUES_MAX);
        } else {
            rc = string_list(p, v, field, &var->values, &var->nvalues, CAMPAIGN_VALUES_MAX);
        }
        if (rc != ERR_OK)
            return rc;
        if (var->nvalues == 0)
            return bad(p, field, "has no values");
    }
    return ERR_OK;
}

static err_code_t parse_defaults(pctx_t *p, json_t *d, campaign_t *c)
{
    static const char *const keys[] = {"aspect_ratio", "output_format", "title",
                                       "negative_prompt", "tagline", "credits", "layout",
                                       "seed", NULL};
    err_code_t rc;
    long long seed = JOB_SEED_UNSET;
    if (!d)
        return ERR_OK;
    if (!json_is_object(d))
        return bad(p, "defaults", "must be an object");
    if ((rc = only_keys(p, d, "defaults", keys)) != ERR_OK ||
        (rc = opt_string(p, d, "aspect_ratio", "defaults.aspect_ratio", &c->aspect_ratio)) ||
        (rc = opt_string(p, d, "output_format", "defaults.output_format", &c->output_format)) ||
        (rc = opt_string(p, d, "title", "defaults.title", &c->title)) ||
        (rc = opt_string(p, d, "negative_prompt", "defaults.negative_prompt",
                         &c->negative_prompt)) ||
        (rc = opt_string(p, d, "tagline", "defaults.tagline", &c->tagline)) ||
        (rc = opt_string(p, d, "credits", "defaults.credits", &c->credits)) ||
        (rc = opt_string(p, d, "layout", "defaults.layout", &c->layout)) ||
        (rc = opt_int(p, d, "seed", "defaults.seed", 0, JOB_SEED_MAX, &seed)))
        return rc;
    c->seed = seed;
    return ERR_OK;
}

static err_code_t parse_expansion(pctx_t *p, json_t *x, campaign_t *c)
{
    static const char *const keys[] = {"mode", "seed", NULL};
    long long seed = 0;
    err_code_t rc;
    if (!x)
        return ERR_OK;
    if (!json_is_object(x))
        return bad(p, "expansion", "must be an object");
    if ((rc = only_keys(p, x, "expansion", keys)) != ERR_OK ||
        (rc = opt_int(p, x, "seed", "expansion.seed", 0, INT64_MAX, &seed)) != ERR_OK)
        return rc;
    json_t *m = json_object_get(x, "mode");
    if (m && !(json_is_string(m) && (strcmp(json_string_value(m), "cartesian") == 0 ||
                                     strcmp(json_string_value(m), "sample") == 0)))
        return bad(p, "expansion.mode", "must be \"cartesian\" or \"sample\"");
    c->mode = m && strcmp(json_string_value(m), "sample") == 0 ? CAMPAIGN_SAMPLE
                                                              : CAMPAIGN_CARTESIAN;
    c->sample_seed = (uint64_t)seed;
    return ERR_OK;
}

static err_code_t parse_root(pctx_t *p, json_t *root, campaign_t *c)
{
    static const char *const keys[] = {"$schema", "name", "description", "schedule", "model",
                                       "defaults", "prompts", "prompts_file", "templates",
                                       "variables", "expansion", "count", "budget",
                                       "url_ttl", "webhook", "timer", NULL};
    err_code_t rc;
    json_t *v;
    long long count = 0, ttl = 0, delay = 300;

    if (!json_is_object(root))
        return err_set(p->err, ERR_INVALID, "%s: must be a JSON object", p->path);
    if ((rc = only_keys(p, root, NULL, keys)) != ERR_OK)
        return rc;
    v = json_object_get(root, "name");
    if (!json_is_string(v) || !name_ok(json_string_value(v)))
        return bad(p, "name", "required: 1-%d of a-z, 0-9, '-', '_', starting with a letter "
                   "or digit", CAMPAIGN_NAME_MAX);
    if (!(c->name = strdup(json_string_value(v))))
        return nomem(p);
    v = json_object_get(root, "schedule");
    if (!json_is_string(v))
        return bad(p, "schedule", "required: a systemd OnCalendar expression");
    if (!(c->schedule = strdup(json_string_value(v))))
        return nomem(p);
    if (oncalendar_parse(c->schedule, &c->cal, p->err) != ERR_OK)
        return err_prefix(p->err, "%s: schedule", p->path);
    if ((rc = opt_string(p, root, "model", "model", &c->model)) != ERR_OK ||
        (rc = parse_defaults(p, json_object_get(root, "defaults"), c)) != ERR_OK ||
        (rc = parse_expansion(p, json_object_get(root, "expansion"), c)) != ERR_OK ||
        (rc = opt_int(p, root, "count", "count", 1, CAMPAIGN_COUNT_MAX, &count)) != ERR_OK ||
        (rc = opt_int(p, root, "url_ttl", "url_ttl", 1, JOB_URL_TTL_MAX, &ttl)) != ERR_OK)
        return rc;
    c->count = (size_t)count;
    c->url_ttl = (long)ttl;
    if ((v = json_object_get(root, "prompts")) &&
        (rc = string_list(p, v, "prompts", &c->prompts, &c->nprompts, CAMPAIGN_VALUES_MAX)))
        return rc;
    if ((v = json_object_get(root, "prompts_file"))) {
        if (!json_is_string(v))
            return bad(p, "prompts_file", "must be a path");
        if ((rc = read_lines(p, "prompts_file", json_string_value(v), &c->prompts,
                             &c->nprompts, CAMPAIGN_VALUES_MAX)) != ERR_OK)
            return rc;
    }
    if ((v = json_object_get(root, "templates")) &&
        (rc = string_list(p, v, "templates", &c->templates, &c->ntemplates, 1000)))
        return rc;
    if ((v = json_object_get(root, "variables")) && (rc = parse_vars(p, v, c)) != ERR_OK)
        return rc;
    if (c->nprompts == 0 && c->ntemplates == 0)
        return bad(p, "prompts", "the campaign has no prompts (give prompts, prompts_file or "
                   "templates)");
    if (c->mode == CAMPAIGN_SAMPLE && c->count == 0)
        return bad(p, "count", "required with expansion.mode \"sample\"");
    if ((v = json_object_get(root, "budget"))) {
        static const char *const bkeys[] = {"per_firing_usd", "per_month_usd", NULL};
        if (!json_is_object(v))
            return bad(p, "budget", "must be an object");
        if ((rc = only_keys(p, v, "budget", bkeys)) != ERR_OK ||
            (rc = opt_usd(p, v, "per_firing_usd", "budget.per_firing_usd",
                          &c->budget_firing_usd)) != ERR_OK ||
            (rc = opt_usd(p, v, "per_month_usd", "budget.per_month_usd",
                          &c->budget_month_usd)) != ERR_OK)
            return rc;
    }
    if ((v = json_object_get(root, "webhook"))) {
        static const char *const wkeys[] = {"url", "secret_env", NULL};
        if (!json_is_object(v))
            return bad(p, "webhook", "must be an object");
        if ((rc = only_keys(p, v, "webhook", wkeys)) != ERR_OK ||
            (rc = opt_string(p, v, "url", "webhook.url", &c->webhook_url)) != ERR_OK ||
            (rc = opt_string(p, v, "secret_env", "webhook.secret_env",
                             &c->webhook_secret_env)) != ERR_OK)
            return rc;
        /* Plain http would send the signed body in the clear; the HTTP
         * client allows it to loopback receivers only, so refuse it here. */
        if (!c->webhook_url || (strncmp(c->webhook_url, "https://", 8) != 0 &&
                                !(strncmp(c->webhook_url, "http://", 7) == 0 &&
                                  http_url_is_loopback(c->webhook_url))))
            return bad(p, "webhook.url", "required: an https:// URL (http:// only to a "
                       "loopback host)");
    }
    if ((v = json_object_get(root, "timer"))) {
        static const char *const tkeys[] = {"randomized_delay_sec", NULL};
        if (!json_is_object(v))
            return bad(p, "timer", "must be an object");
        if ((rc = only_keys(p, v, "timer", tkeys)) != ERR_OK ||
            (rc = opt_int(p, v, "randomized_delay_sec", "timer.randomized_delay_sec", 0, 86400,
                          &delay)) != ERR_OK)
            return rc;
    }
    c->randomized_delay_s = (long)delay;
    return ERR_OK;
}

/* See campaign.h: everything campaign_parse checks but the expansion. */
err_code_t campaign_parse_fields(const char *path, const char *dir, const char *text,
                                 size_t len, campaign_t *c, err_t *err)
{
    return campaign_parse_fields_in(path, dir, NULL, text, len, c, err);
}

err_code_t campaign_parse_fields_in(const char *path, const char *dir, const char *task_root,
                                    const char *text, size_t len, campaign_t *c, err_t *err)
{
    pctx_t p = {path, dir, err, task_root};
    json_error_t je;
    memset(c, 0, sizeof *c);
    c->seed = JOB_SEED_UNSET;
    c->budget_firing_usd = c->budget_month_usd = -1;
    if (!(c->path = strdup(path)))
        return nomem(&p);
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root && p.root)   /* je.text quotes the text: say only where */
        return err_set(err, ERR_INVALID, "%s:%d:%d: invalid JSON", path, je.line, je.column);
    if (!root)
        return err_set(err, ERR_INVALID, "%s:%d: %s", path, je.line, je.text);
    err_code_t rc = parse_root(&p, root, c);
    json_decref(root);
    return rc;
}

void campaign_strings_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

void campaign_free(campaign_t *c)
{
    if (!c)
        return;
    free(c->path);
    free(c->name);
    free(c->schedule);
    free(c->model);
    free(c->aspect_ratio);
    free(c->output_format);
    free(c->title);
    free(c->negative_prompt);
    free(c->tagline);
    free(c->credits);
    free(c->layout);
    campaign_strings_free(c->prompts, c->nprompts);
    campaign_strings_free(c->templates, c->ntemplates);
    for (size_t i = 0; c->vars && i < c->nvars; i++) {
        free(c->vars[i].name);
        campaign_strings_free(c->vars[i].values, c->vars[i].nvalues);
    }
    free(c->vars);
    free(c->webhook_url);
    free(c->webhook_secret_env);
    memset(c, 0, sizeof *c);
}
