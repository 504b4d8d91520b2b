/* job — see job.h.  A spec is parsed strictly (unknown fields and wrong types
 * are errors), normalised (defaults, trimming, every rule checked), and then
 * written in one canonical form that the ids are hashed from. */
#include "jobs/job.h"
#include "base/crypto.h"
#include "base/utf8.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_MAX 300       /* title, tagline, credits: code points */
#define MODEL_MAX 256      /* bytes */
#define TAGS_MAX 50
#define TAG_KEY_MAX 128    /* code points */
#define TAG_VALUE_MAX 256  /* code points */

#define SEED_MSG "seed: must be an integer between 0 and 4294967294"
#define TTL_MSG "url_ttl: must be an integer from 1 to 604800 (seconds)"

static const char *const aspect_ratios[] = {"16:9", "1:1", "21:9", "2:3", "3:2",
                                            "4:5",  "5:4", "9:16", "9:21"};
static const char *const output_formats[] = {"png", "jpeg", "webp"};
static const char *const layouts[] = {"classic", "minimal", "bold"};
#define NELEM(a) (sizeof(a) / sizeof *(a))

enum kind { K_STR, K_ARRAY, K_SEED, K_TAGS, K_RENDITIONS, K_VARIANTS };

/* Every field a spec may carry, in canonical order ("id" first). */
static const struct {
    const char *name;
    enum kind kind;
    size_t off;
    const char *const *set; /* K_ARRAY: allowed values */
    size_t nset;
} fields[] = {
    {"id", K_STR, offsetof(job_spec_t, id), NULL, 0},
    {"prompt", K_STR, offsetof(job_spec_t, prompt), NULL, 0},
    {"negative_prompt", K_STR, offsetof(job_spec_t, negative_prompt), NULL, 0},
    {"model", K_STR, offsetof(job_spec_t, model), NULL, 0},
    {"aspect_ratio", K_ARRAY, offsetof(job_spec_t, aspect_ratio), aspect_ratios,
     NELEM(aspect_ratios)},
    {"seed", K_SEED, offsetof(job_spec_t, seed), NULL, 0},
    {"output_format", K_ARRAY, offsetof(job_spec_t, output_format),
     output_formats, NELEM(output_formats)},
    {"title", K_STR, offsetof(job_spec_t, title), NULL, 0},
    {"tagline", K_STR, offsetof(job_spec_t, tagline), NULL, 0},
    {"credits", K_STR, offsetof(job_spec_t, credits), NULL, 0},
    {"layout", K_STR, offsetof(job_spec_t, layout), NULL, 0},
    {"tags", K_TAGS, offsetof(job_spec_t, tags_json), NULL, 0},
    {"renditions", K_RENDITIONS, offsetof(job_spec_t, renditions), NULL, 0},
    /* Last, so that the canonical form (and the id) of a spec without
     * variants is what it was before they existed. */
    {"variants", K_VARIANTS, offsetof(job_spec_t, variants), NULL, 0},
    {"variant", K_VARIANTS, offsetof(job_spec_t, variant), NULL, 0},
    {"variant_of", K_STR, offsetof(job_spec_t, variant_of), NULL, 0},
};

#define VARIANTS_MSG "%s: must be an integer from 1 to 16"

void job_spec_init(job_spec_t *s)
{
    memset(s, 0, sizeof *s);
    s->seed = JOB_SEED_UNSET;
}

void job_spec_free(job_spec_t *s)
{
    for (size_t f = 0; f < NELEM(fields); f++)
        if (fields[f].kind == K_STR || fields[f].kind == K_TAGS)
            free(*(char **)((char *)s + fields[f].off));
    job_spec_init(s);
}

static bool in_set(const char *v, const char *const *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v, set[i]) == 0)
            return true;
    return false;
}

/* ERR_OK when v is one of set, else "FIELD: must be one of A, B (got ...)". */
static err_code_t check_enum(const char *field, const char *v,
                             const char *const *set, size_t n, err_t *err)
{
    char list[128] = "";
    size_t used = 0;
    if (in_set(v, set, n))
        return ERR_OK;
    for (size_t i = 0; i < n && used < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s",
                                 i ? ", " : "", set[i]);
    return err_set(err, ERR_INVALID, "%s: must be one of %s (got \"%.32s\")",
                   field, list, v);
}

/* Letters, digits and "._:-": safe in object keys, URLs, logs and shells.
 * s is NUL-terminated after len bytes. */
static bool id_chars_ok(const char *s, size_t len)
{
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789._:-") == len;
}

bool job_id_valid(const char *s)
{
    size_t len = s ? strlen(s) : 0;
    return len >= 1 && len <= JOB_ID_MAX && s[0] != '.' && id_chars_ok(s, len);
}

/* ---- JSON input ---- */

/* Finds the top-level member whose value contains byte pos of a JSON object
 * text, so that errors jansson reports by position (bad bytes, integers too
 * big) can still start with the field name.  Returns false when pos is not
 * inside a member's value. */
static bool field_at(const char *t, size_t len, size_t pos, char *key, size_t cap)
{
    int depth = 0;
    bool have = false;
    size_t i = 0;

    if (pos > len)
        pos = len;
    while (i < pos) {
        char c = t[i];
        if (c == '"') {
            size_t start = ++i, j;
            while (i < len && t[i] != '"')
                i += t[i] == '\\' ? 2 : 1;
            if (i >= pos)
                return have;
            for (j = i + 1; j < len && utf8_is_space(t[j]); j++)
                ;
            if (depth == 1 && j < len && t[j] == ':') {
                size_t n = i - start < cap - 1 ? i - start : cap - 1;
                memcpy(key, t + start, n);
                key[n] = '\0';
                have = true;
            }
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (--depth < 1)
                have = false;
        } else if (c == ',' && depth == 1) {
            have = false;
        }
        i++;
    }
    return have;
}

/* Loads JSON text strictly.  Raw NUL bytes and invalid UTF-8 are caught
 * before jansson sees them so the message can name the field. */
static json_t *load_json(const char *text, size_t len, err_t *err)
{
    json_error_t je;
    json_t *root;
    char key[64];
    size_t bad = 0;
    const char *nul = memchr(text, '\0', len), *what = NULL;

    if (nul) {
        bad = (size_t)(nul - text);
        what = "contains a NUL byte";
    } else if (!utf8_valid(text, len, NULL, &bad)) {
        what = "invalid UTF-8";
    }
    if (what) {
        if (field_at(text, len, bad, key, sizeof key))
            err_set(err, ERR_INVALID, "%s: %s", key, what);
        else
            err_set(err, ERR_INVALID, "%s at column %zu", what, bad + 1);
        return NULL;
    }
    root = json_loadb(text, len,
                      JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
                      &je);
    if (root)
        return root;
    if (strstr(je.text, "too big integer") && je.position > 0 &&
        field_at(text, len, (size_t)je.position - 1, key, sizeof key)) {
        if (strcmp(key, "seed") == 0)
            err_set(err, ERR_INVALID, SEED_MSG);
        else
            err_set(err, ERR_INVALID, "%s: number too large", key);
    } else if (strstr(je.text, "duplicate object key near '\"") &&
               sscanf(je.text, "duplicate object key near '\"%63[^\"]", key) == 1) {
        err_set(err, ERR_INVALID, "%s: duplicate field", key);
    } else if (je.line > 1) {
        err_set(err, ERR_INVALID, "invalid JSON: %s (line %d, column %d)",
                je.text, je.line, je.column);
    } else {
        err_set(err, ERR_INVALID, "invalid JSON: %s (column %d)", je.text,
                je.column);
    }
    return NULL;
}

static err_code_t get_string(const char *field, json_t *v, const char **out,
                             size_t *len, err_t *err)
{
    if (!json_is_string(v))
        return err_set(err, ERR_INVALID, "%s: must be a string", field);
    *out = json_string_value(v);
    *len = json_string_length(v);
    if (strlen(*out) != *len)
        return err_set(err, ERR_INVALID, "%s: contains a NUL byte", field);
    return ERR_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Checks a tags object and writes it canonically (keys sorted bytewise) as a
 * new string in *out; NULL when the object is empty. */
static err_code_t tags_canonical(json_t *obj, char **out, err_t *err)
{
    const char *keys[TAGS_MAX], *key;
    size_t n = 0;
    json_t *v;
    buf_t b = BUF_INIT;
    err_code_t rc;

    *out = NULL;
    if (!json_is_object(obj))
        return err_set(err, ERR_INVALID, "tags: must be an object of strings");
    if (json_object_size(obj) > TAGS_MAX)
        return err_set(err, ERR_INVALID, "tags: at most %d keys (got %zu)",
                       TAGS_MAX, json_object_size(obj));
    json_object_foreach(obj, key, v) {
        char field[160];
        const char *s;
        size_t len;
        snprintf(field, sizeof field, "tags.%.64s", key);
        if (key[0] == '\0')
            return err_set(err, ERR_INVALID, "tags: keys must not be empty");
        if ((rc = utf8_check_text(field, key, strlen(key), TAG_KEY_MAX, err)) ||
            (rc = get_string(field, v, &s, &len, err)) ||
            (rc = utf8_check_text(field, s, len, TAG_VALUE_MAX, err)))
            return rc;
        keys[n++] = key;
    }
    if (n == 0)
        return ERR_OK;
    qsort(keys, n, sizeof *keys, cmp_str);
    rc = buf_append(&b, "{", 1);
    for (size_t i = 0; i < n && rc == ERR_OK; i++) {
        json_t *val = json_object_get(obj, keys[i]);
        if ((i && (rc = buf_append(&b, ",", 1))) ||
            (rc = utf8_append_json_string(&b, keys[i], strlen(keys[i]))) ||
            (rc = buf_append(&b, ":", 1)))
            break;
        rc = utf8_append_json_string(&b, json_string_value(val),
                                     json_string_length(val));
    }
    if (rc || (rc = buf_append(&b, "}", 1)) || !(*out = buf_steal(&b))) {
        buf_free(&b);
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    return ERR_OK;
}

static err_code_t replace_str(char **dst, const char *v, size_t len, err_t *err)
{
    char *copy = strndup(v, len);
    if (!copy)
        return err_set(err, ERR_NOMEM, "out of memory");
    free(*dst);
    *dst = copy;
    return ERR_OK;
}

/* Fills s from the members of a JSON object (see job_spec_parse_json). */
static err_code_t parse_object(json_t *obj, job_spec_t *s, err_t *err)
{
    const char *key;
    json_t *v;

    if (!json_is_object(obj))
        return err_set(err, ERR_INVALID, "spec: must be a JSON object");
    json_object_foreach(obj, key, v) {
        size_t f, len;
        const char *str;
        char *tags;
        err_code_t rc = ERR_OK;
        char *base = (char *)s;

        for (f = 0; f < NELEM(fields) && strcmp(fields[f].name, key); f++)
            ;
        if (f == NELEM(fields))
            return err_set(err, ERR_INVALID, "%.64s: unknown field", key);
        if (json_is_null(v))
            continue; /* null is the same as absent */
        switch (fields[f].kind) {
        case K_STR:
            if ((rc = get_string(key, v, &str, &len, err)) == ERR_OK)
                rc = replace_str((char **)(base + fields[f].off), str, len, err);
            break;
        case K_ARRAY:
            if ((rc = get_string(key, v, &str, &len, err)) != ERR_OK)
                break;
            if ((rc = check_enum(key, str, fields[f].set, fields[f].nset, err)))
                return rc;
            /* Every allowed value fits the 8-byte arrays. */
            memcpy(base + fields[f].off, str, len + 1);
            break;
        case K_SEED:
            if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                json_integer_value(v) > JOB_SEED_MAX)
                return err_set(err, ERR_INVALID, SEED_MSG);
            s->seed = json_integer_value(v);
            break;
        case K_VARIANTS:
            if (!json_is_integer(v) || json_integer_value(v) < 1 ||
                json_integer_value(v) > JOB_VARIANTS_MAX)
                return err_set(err, ERR_INVALID, VARIANTS_MSG, key);
            *(int *)(base + fields[f].off) = (int)json_integer_value(v);
            break;
        case K_TAGS:
            if ((rc = tags_canonical(v, &tags, err)) == ERR_OK) {
                free(s->tags_json);
                s->tags_json = tags;
            }
            break;
        case K_RENDITIONS:
            rc = rendition_list_from_json(v, s->renditions, &s->nrenditions, err);
            break;
        }
        if (rc != ERR_OK)
            return rc;
    }
    return ERR_OK;
}

err_code_t job_spec_parse_json(const char *text, size_t len, job_spec_t *s,
                               err_t *err)
{
    json_t *root = load_json(text ? text : "", text ? len : 0, err);
    err_code_t rc = !root ? ERR_INVALID : parse_object(root, s, err);
    json_decref(root);
    return rc;
}

/* ---- normalise ---- */

/* Trims an optional text field; empty text counts as absent. */
static err_code_t norm_text(const char *field, char **p, size_t max, err_t *err)
{
    size_t len;
    if (!*p)
        return ERR_OK;
    len = utf8_trim(*p, strlen(*p));
    if (len == 0) {
        free(*p);
        *p = NULL;
        return ERR_OK;
    }
    return utf8_check_text(field, *p, len, max, err);
}

static err_code_t set_default(char **dst, const char *v, err_t *err)
{
    if (*dst || !v)
        return ERR_OK;
    return replace_str(dst, v, strlen(v), err);
}

err_code_t job_spec_normalise(job_spec_t *s, const job_defaults_t *d, err_t *err)
{
    static const job_defaults_t none = {NULL, NULL, JOB_SEED_UNSET, NULL, NULL, NULL};
    err_code_t rc;
    size_t len;

    if (!d)
        d = &none;
    if ((rc = set_default(&s->model, d->model, err)) ||
        (rc = set_default(&s->title, d->title, err)))
        return rc;
    if (!s->nrenditions && d->renditions &&
        (rc = rendition_list_parse(d->renditions, s->renditions, &s->nrenditions, err)))
        return rc;
    /* Renditions and no aspect asked for: generate at the one that loses
     * least across them. */
    if (!s->aspect_ratio[0] && !d->aspect_ratio && s->nrenditions)
        snprintf(s->aspect_ratio, sizeof s->aspect_ratio, "%s",
                 rendition_best_aspect(s->renditions, s->nrenditions));
    /* A default too long for the array is cut, and so still refused below:
     * no allowed value is longer than four bytes. */
    if (!s->aspect_ratio[0])
        snprintf(s->aspect_ratio, sizeof s->aspect_ratio, "%s",
                 d->aspect_ratio ? d->aspect_ratio : "2:3");
    if (!s->output_format[0])
        snprintf(s->output_format, sizeof s->output_format, "%s",
                 d->output_format ? d->output_format : "png");
    if (s->seed == JOB_SEED_UNSET)
        s->seed = d->seed;

    if (s->id && !job_id_valid(s->id))
        return err_set(err, ERR_INVALID,
                       "id: must be 1 to %d characters of letters, digits and "
                       "\"._:-\", not starting with \".\"", JOB_ID_MAX);
    if (!s->prompt)
        return err_set(err, ERR_INVALID, "prompt: is required");
    len = utf8_trim(s->prompt, strlen(s->prompt));
    if (len == 0)
        return err_set(err, ERR_INVALID, "prompt: must not be empty");
    if ((rc = utf8_check_text("prompt", s->prompt, len, JOB_PROMPT_MAX, err)) ||
        (rc = norm_text("negative_prompt", &s->negative_prompt, JOB_PROMPT_MAX,
                        err)) ||
        (rc = norm_text("title", &s->title, TEXT_MAX, err)) ||
        (rc = norm_text("tagline", &s->tagline, TEXT_MAX, err)) ||
        (rc = norm_text("credits", &s->credits, TEXT_MAX, err)))
        return rc;
    if (s->model && (!s->model[0] || strlen(s->model) > MODEL_MAX ||
                     !id_chars_ok(s->model, strlen(s->model))))
        return err_set(err, ERR_INVALID,
                       "model: must be 1 to %d characters of letters, digits "
                       "and \"._:-\"", MODEL_MAX);
    if (s->seed != JOB_SEED_UNSET && (s->seed < 0 || s->seed > JOB_SEED_MAX))
        return err_set(err, ERR_INVALID, SEED_MSG);
    if (s->url_ttl < 0 || s->url_ttl > JOB_URL_TTL_MAX)
        return err_set(err, ERR_INVALID, TTL_MSG);
    if (s->variants < 0 || s->variants > JOB_VARIANTS_MAX)
        return err_set(err, ERR_INVALID, VARIANTS_MSG, "variants");
    if (s->variants == 1)
        s->variants = 0; /* one job: the same spec (and id) as none */
    if (s->variant < 0 || s->variant > JOB_VARIANTS_MAX ||
        (s->variant && s->variant > (s->variants ? s->variants : 1)))
        return err_set(err, ERR_INVALID, "variant: must be an integer from 1 to variants");
    if ((s->variant != 0) != (s->variant_of != NULL) ||
        (s->variant_of && !job_id_valid(s->variant_of)))
        return err_set(err, ERR_INVALID, "variant_of: must be the prompt's job id, given "
                       "with variant");
    if ((rc = check_enum("aspect_ratio", s->aspect_ratio, aspect_ratios,
                         NELEM(aspect_ratios), err)) ||
        (rc = check_enum("output_format", s->output_format, output_formats,
                         NELEM(output_formats), err)) ||
        (s->layout &&
         (rc = check_enum("layout", s->layout, layouts, NELEM(layouts), err))))
        return rc;
    if (s->tags_json) {
        json_t *obj = load_json(s->tags_json, strlen(s->tags_json), err);
        char *tags;
        if (!obj)
            return err_prefix(err, "tags");
        rc = tags_canonical(obj, &tags, err);
        json_decref(obj);
        if (rc != ERR_OK)
            return rc;
        free(s->tags_json);
        s->tags_json = tags;
    }
    return ERR_OK;
}

/* ---- canonical JSON, ids, seeds ---- */

static err_code_t put_key(buf_t *out, const char *key, bool *first)
{
    err_code_t rc = buf_append(out, *first ? "\"" : ",\"", *first ? 1 : 2);
    *first = false;
    if (rc == ERR_OK)
        rc = buf_append_str(out, key);
    return rc ? rc : buf_append(out, "\":", 2);
}

static err_code_t to_json(const job_spec_t *s, buf_t *out, bool with_id)
{
    bool first = true;
    err_code_t rc = buf_append(out, "{", 1);

    for (size_t f = with_id ? 0 : 1; f < NELEM(fields) && rc == ERR_OK; f++) {
        const char *base = (const char *)s + fields[f].off;
        const char *v = NULL;
        switch (fields[f].kind) {
        case K_STR:
        case K_ARRAY:
            v = fields[f].kind == K_STR ? *(char *const *)base
                                        : base[0] ? base : NULL;
            if (v && !(rc = put_key(out, fields[f].name, &first)))
                rc = utf8_append_json_string(out, v, strlen(v));
            break;
        case K_SEED:
            if (s->seed != JOB_SEED_UNSET &&
                !(rc = put_key(out, fields[f].name, &first)))
                rc = buf_appendf(out, "%lld", (long long)s->seed);
            break;
        case K_VARIANTS:
            if (*(const int *)base > 0 && !(rc = put_key(out, fields[f].name, &first)))
                rc = buf_appendf(out, "%d", *(const int *)base);
            break;
        case K_TAGS:
            /* Already canonical: normalise rewrote it. */
            if (s->tags_json && !(rc = put_key(out, fields[f].name, &first)))
                rc = buf_append_str(out, s->tags_json);
            break;
        case K_RENDITIONS:
            if (s->nrenditions && !(rc = put_key(out, fields[f].name, &first)))
                rc = rendition_list_to_json(s->renditions, s->nrenditions, out);
            break;
        }
    }
    return rc ? rc : buf_append(out, "}", 1);
}

err_code_t job_spec_to_json(const job_spec_t *s, buf_t *out)
{
    return to_json(s, out, false);
}

err_code_t job_spec_to_json_with_id(const job_spec_t *s, buf_t *out)
{
    return to_json(s, out, true);
}

err_code_t job_id_for(const char *batch_id, const job_spec_t *s,
                      char out[JOB_ID_MAX + 1])
{
    buf_t b = BUF_INIT;
    uint8_t d[SHA256_LEN];
    err_code_t rc;

    out[0] = '\0';
    if (s->id) {
        if (!job_id_valid(s->id))
            return ERR_INVALID;
        memcpy(out, s->id, strlen(s->id) + 1);
        return ERR_OK;
    }
    if (!batch_id)
        batch_id = "";
    if ((rc = buf_append_str(&b, batch_id)) || (rc = buf_append(&b, "\n", 1)) ||
        (rc = job_spec_to_json(s, &b)) ||
        (rc = crypto_sha256(b.data, b.len, d))) {
        buf_free(&b);
        return rc;
    }
    buf_free(&b);
    out[0] = 'j';
    hex_encode(d, 10, out + 1);
    return ERR_OK;
}

int64_t job_effective_seed(const job_spec_t *s, const char *job_id)
{
    uint8_t d[SHA256_LEN];
    uint64_t v;

    if (s->seed >= 0 && s->seed <= JOB_SEED_MAX)
        return s->seed;
    if (!job_id)
        job_id = "";
    if (crypto_sha256(job_id, strlen(job_id), d) != ERR_OK)
        return 0;
    v = ((uint64_t)d[0] << 24) | ((uint64_t)d[1] << 16) | ((uint64_t)d[2] << 8) |
        d[3];
    return (int64_t)(v % ((uint64_t)JOB_SEED_MAX + 1));
}

/* ---- queue messages ---- */

err_code_t job_message_encode(const char *batch_id, const char *job_id,
                              const job_spec_t *s, buf_t *out)
{
    return job_message_encode_run(batch_id, job_id, 1, s, out);
}

err_code_t job_message_encode_run(const char *batch_id, const char *job_id, int run,
                                  const job_spec_t *s, buf_t *out)
{
    err_code_t rc;
    if (!job_id_valid(batch_id) || !job_id_valid(job_id) || s->url_ttl < 0 ||
        s->url_ttl > JOB_URL_TTL_MAX || run < 1 || run > JOB_RUN_MAX)
        return ERR_INVALID;
    if ((rc = buf_append_str(out, "{\"v\":1,\"batch\":")) ||
        (rc = utf8_append_json_string(out, batch_id, strlen(batch_id))) ||
        (rc = buf_append_str(out, ",\"job\":")) ||
        (rc = utf8_append_json_string(out, job_id, strlen(job_id))))
        return rc;
    /* Run 1 is left out, so a first submission's message stays
     * byte-identical to what workers without retry read. */
    if (run > 1 && (rc = buf_appendf(out, ",\"run\":%d", run)))
        return rc;
    if ((rc = buf_append_str(out, ",\"spec\":")) ||
        (rc = job_spec_to_json_with_id(s, out)))
        return rc;
    /* Only when set, so messages without it stay byte-identical to those
     * older workers read. */
    if (s->url_ttl && (rc = buf_appendf(out, ",\"url_ttl\":%ld", s->url_ttl)))
        return rc;
    return buf_append(out, "}", 1);
}

static err_code_t message_id(json_t *root, const char *field,
                             char out[JOB_ID_MAX + 1], err_t *err)
{
    json_t *v = json_object_get(root, field);
    const char *s = json_string_value(v);
    if (!v)
        return err_set(err, ERR_INVALID, "message: %s: missing", field);
    if (!s || !job_id_valid(s) || strlen(s) != json_string_length(v))
        return err_set(err, ERR_INVALID, "message: %s: not a valid id", field);
    memcpy(out, s, strlen(s) + 1);
    return ERR_OK;
}

static const char *const msg_keys[] = {"v", "batch", "job", "spec", "url_ttl", "run"};

static err_code_t decode_root(json_t *root, char *batch_id, char *job_id,
                              job_spec_t *s, int *run, err_t *err)
{
    const char *key;
    json_t *v, *spec;
    err_code_t rc;

    if (!json_is_object(root))
        return err_set(err, ERR_INVALID, "message: must be a JSON object");
    json_object_foreach(root, key, v) {
        if (!in_set(key, msg_keys, NELEM(msg_keys)))
            return err_set(err, ERR_INVALID, "message: %.64s: unknown field", key);
    }
    v = json_object_get(root, "v");
    if (!v)
        return err_set(err, ERR_INVALID, "message: v: missing");
    if (!json_is_integer(v) || json_integer_value(v) != 1)
        return err_set(err, ERR_INVALID, "message: v: unsupported version");
    if ((rc = message_id(root, "batch", batch_id, err)) ||
        (rc = message_id(root, "job", job_id, err)))
        return rc;
    if (!(spec = json_object_get(root, "spec")))
        return err_set(err, ERR_INVALID, "message: spec: missing");
    if ((rc = parse_object(spec, s, err)) || (rc = job_spec_normalise(s, NULL, err)))
        return err_prefix(err, "message: spec");
    if ((v = json_object_get(root, "url_ttl"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > JOB_URL_TTL_MAX)
            return err_set(err, ERR_INVALID, "message: " TTL_MSG);
        s->url_ttl = (long)json_integer_value(v);
    }
    *run = 1;
    if ((v = json_object_get(root, "run"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > JOB_RUN_MAX)
            return err_set(err, ERR_INVALID, "message: run: must be an integer from 1 "
                           "to %d", JOB_RUN_MAX);
        *run = (int)json_integer_value(v);
    }
    return ERR_OK;
}

err_code_t job_message_decode(const char *body, size_t len,
                              char batch_id[JOB_ID_MAX + 1],
                              char job_id[JOB_ID_MAX + 1], job_spec_t *s,
                              err_t *err)
{
    int run;
    return job_message_decode_run(body, len, batch_id, job_id, s, &run, err);
}

err_code_t job_message_decode_run(const char *body, size_t len,
                                  char batch_id[JOB_ID_MAX + 1],
                                  char job_id[JOB_ID_MAX + 1], job_spec_t *s, int *run,
                                  err_t *err)
{
    json_t *root;
    err_code_t rc;

    *run = 1;
    batch_id[0] = job_id[0] = '\0';
    job_spec_init(s);
    if (!(root = load_json(body ? body : "", body ? len : 0, err)))
        return err_prefix(err, "message");
    rc = decode_root(root, batch_id, job_id, s, run, err);
    json_decref(root);
    if (rc != ERR_OK) {
        batch_id[0] = job_id[0] = '\0';
        job_spec_free(s);
    }
    return rc;
}
