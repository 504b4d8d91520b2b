/* campaign_expand — from templates to the jobs of one firing.
 *
 * A template is text with slots: "{name}" takes each value of a variable,
 * "{noir|neon|pastel}" each alternative; "{{" and "}}" are literal braces.
 * The candidates are the inline prompts, then each template's combinations
 * in order (the last slot varies fastest), numbered 0..N-1.  A candidate is
 * rendered from its number alone, so a million-combination template costs
 * nothing until its prompts are drawn. */
#include "campaign/campaign.h"
#include "base/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *lit;            /* literal text (owned), or NULL for a slot */
    char **values;        /* slot values (borrowed from a variable, or owned) */
    size_t nvalues;
    bool owned;
} piece_t;

typedef struct {
    piece_t *p;
    size_t n;
    uint64_t combos;
} tmpl_t;

static void tmpl_free(tmpl_t *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->p[i].lit);
        if (t->p[i].owned)
            campaign_strings_free(t->p[i].values, t->p[i].nvalues);
    }
    free(t->p);
    memset(t, 0, sizeof *t);
}

static piece_t *add_piece(tmpl_t *t)
{
    piece_t *np = realloc(t->p, (t->n + 1) * sizeof *np);
    if (!np)
        return NULL;
    t->p = np;
    memset(&np[t->n], 0, sizeof *np);
    return &np[t->n++];
}

/* Parses template i of c into t. */
static err_code_t tmpl_parse(const campaign_t *c, size_t i, tmpl_t *t, err_t *err)
{
    const char *s = c->templates[i];
    buf_t lit = BUF_INIT;
    err_code_t rc = ERR_OK;
    piece_t *pc;

    memset(t, 0, sizeof *t);
    t->combos = 1;
#define BAD(...) do { rc = err_set(err, ERR_INVALID, __VA_ARGS__); goto out; } while (0)
#define OOM() do { rc = err_set(err, ERR_NOMEM, "out of memory"); goto out; } while (0)
    while (*s) {
        if ((s[0] == '{' && s[1] == '{') || (s[0] == '}' && s[1] == '}')) {
            if (buf_append(&lit, s, 1) != ERR_OK)
                OOM();
            s += 2;
            continue;
        }
        if (*s == '}')
            BAD("%s: templates[%zu]: unmatched '}' (write \"}}\" for a literal brace)",
                c->path, i);
        if (*s != '{') {
            if (buf_append(&lit, s++, 1) != ERR_OK)
                OOM();
            continue;
        }
        const char *end = strchr(s + 1, '}');
        const char *open = strchr(s + 1, '{');
        if (!end)
            BAD("%s: templates[%zu]: unclosed '{'", c->path, i);
        if (open && open < end)
            BAD("%s: templates[%zu]: '{' inside a slot", c->path, i);
        if (end == s + 1)
            BAD("%s: templates[%zu]: empty slot \"{}\"", c->path, i);
        if (lit.len) {
            if (!(pc = add_piece(t)) || !(pc->lit = buf_steal(&lit)))
                OOM();
        }
        if (!(pc = add_piece(t)))
            OOM();
        size_t len = (size_t)(end - s - 1);
        if (memchr(s + 1, '|', len)) {
            const char *a = s + 1;
            pc->owned = true;
            for (;;) {
                const char *bar = memchr(a, '|', (size_t)(end - a));
                const char *stop = bar ? bar : end;
                char **nv = realloc(pc->values, (pc->nvalues + 1) * sizeof *nv);
                if (!nv)
                    OOM();
                pc->values = nv;
                if (!(nv[pc->nvalues] = strndup(a, (size_t)(stop - a))))
                    OOM();
                pc->nvalues++;
                if (!bar)
                    break;
                a = bar + 1;
            }
        } else {
            size_t v = 0;
            while (v < c->nvars && (strlen(c->vars[v].name) != len ||
                                    strncmp(c->vars[v].name, s + 1, len) != 0))
                v++;
            if (v == c->nvars)
                BAD("%s: templates[%zu]: unknown variable {%.*s} (define it under "
                    "\"variables\", or write {a|b} for alternatives)", c->path, i, (int)len,
                    s + 1);
            pc->values = c->vars[v].values;
            pc->nvalues = c->vars[v].nvalues;
        }
        if (t->combos > CAMPAIGN_CANDIDATES_MAX / pc->nvalues)
            BAD("%s: templates[%zu]: more than %llu combinations", c->path, i,
                (unsigned long long)CAMPAIGN_CANDIDATES_MAX);
        t->combos *= pc->nvalues;
        s = end + 1;
    }
    if (lit.len && (!(pc = add_piece(t)) || !(pc->lit = buf_steal(&lit))))
        OOM();
out:
#undef BAD
#undef OOM
    buf_free(&lit);
    if (rc != ERR_OK)
        tmpl_free(t);
    return rc;
}

/* Renders combination k of t (a new string). */
static char *tmpl_render(const tmpl_t *t, uint64_t k)
{
    size_t *choice = calloc(t->n ? t->n : 1, sizeof *choice);
    buf_t out = BUF_INIT;
    if (!choice)
        return NULL;
    for (size_t i = t->n; i-- > 0;)
        if (!t->p[i].lit) {
            choice[i] = (size_t)(k % t->p[i].nvalues);
            k /= t->p[i].nvalues;
        }
    err_code_t rc = buf_append_str(&out, "");
    for (size_t i = 0; rc == ERR_OK && i < t->n; i++)
        rc = buf_append_str(&out, t->p[i].lit ? t->p[i].lit : t->p[i].values[choice[i]]);
    free(choice);
    if (rc != ERR_OK) {
        buf_free(&out);
        return NULL;
    }
    return buf_steal(&out);
}

static void tmpls_free(tmpl_t *t, size_t n)
{
    for (size_t i = 0; t && i < n; i++)
        tmpl_free(&t[i]);
    free(t);
}

static err_code_t tmpls_parse(const campaign_t *c, tmpl_t **out, uint64_t *total, err_t *err)
{
    tmpl_t *t = calloc(c->ntemplates ? c->ntemplates : 1, sizeof *t);
    uint64_t n = c->nprompts;
    if (!t)
        return err_set(err, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < c->ntemplates; i++) {
        err_code_t rc = tmpl_parse(c, i, &t[i], err);
        if (rc == ERR_OK && n + t[i].combos > CAMPAIGN_CANDIDATES_MAX)
            rc = err_set(err, ERR_TOOBIG, "%s: templates: more than %llu prompts in all",
                         c->path, (unsigned long long)CAMPAIGN_CANDIDATES_MAX);
        if (rc != ERR_OK) {
            tmpls_free(t, i);
            return rc;
        }
        n += t[i].combos;
    }
    *out = t;
    *total = n;
    return ERR_OK;
}

err_code_t campaign_candidates(const campaign_t *c, uint64_t *n, err_t *err)
{
    tmpl_t *t;
    err_code_t rc = tmpls_parse(c, &t, n, err);
    if (rc == ERR_OK)
        tmpls_free(t, c->ntemplates);
    return rc;
}

/* splitmix64: small, fast, and the same on every platform, which is what a
 * reproducible sample needs. */
static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in 0..bound-1 (rejection, so no modulo bias). */
static uint64_t rand_below(uint64_t *s, uint64_t bound)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % bound, r;
    do
        r = next_rand(s);
    while (r >= limit);
    return r % bound;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* k distinct numbers in 0..n-1 (Floyd's algorithm, with an open-addressed
 * set), sorted. */
static err_code_t sample(uint64_t seed, uint64_t n, size_t k, uint64_t *out, err_t *err)
{
    size_t cap = 16;
    while (cap < 2 * k)
        cap *= 2;
    uint64_t *set = malloc(cap * sizeof *set);
    if (!set)
        return err_set(err, ERR_NOMEM, "out of memory");
    memset(set, 0xff, cap * sizeof *set);
    size_t got = 0;
    for (uint64_t j = n - k; j < n; j++) {
        uint64_t t = rand_below(&seed, j + 1), pick = t;
        size_t h = (size_t)(t * 0x9e3779b97f4a7c15ULL) & (cap - 1);
        while (set[h] != UINT64_MAX && set[h] != t)
            h = (h + 1) & (cap - 1);
        if (set[h] == t) {
            pick = j;
            h = (size_t)(j * 0x9e3779b97f4a7c15ULL) & (cap - 1);
            while (set[h] != UINT64_MAX)
                h = (h + 1) & (cap - 1);
        }
        set[h] = pick;
        out[got++] = pick;
    }
    free(set);
    qsort(out, k, sizeof *out, cmp_u64);
    return ERR_OK;
}

static uint64_t sample_key(const campaign_t *c, int64_t slot)
{
    char text[256], iso[32];
    uint8_t d[SHA256_LEN];
    snprintf(text, sizeof text, "onesheet-campaign-sample\n%s\n%llu\n%s", c->name,
             (unsigned long long)c->sample_seed, oncalendar_iso(slot, iso, sizeof iso));
    crypto_sha256(text, strlen(text), d);
    uint64_t k = 0;
    for (int i = 0; i < 8; i++)
        k = k << 8 | d[i];
    return k;
}

err_code_t campaign_expand(const campaign_t *c, int64_t slot, char ***out, size_t *n,
                           err_t *err)
{
    tmpl_t *t = NULL;
    uint64_t total = 0, *idx = NULL;
    char **v = NULL;
    size_t k = 0;
    err_code_t rc = tmpls_parse(c, &t, &total, err);

    *out = NULL;
    *n = 0;
    if (rc != ERR_OK)
        return rc;
    k = c->count && c->count < total ? c->count : (size_t)(total < CAMPAIGN_COUNT_MAX + 1 ?
                                                           total : CAMPAIGN_COUNT_MAX + 1);
    if (!c->count && total > CAMPAIGN_COUNT_MAX) {
        rc = err_set(err, ERR_TOOBIG, "%s: count: the templates make %llu prompts, more than "
                     "%d a firing; set count", c->path, (unsigned long long)total,
                     CAMPAIGN_COUNT_MAX);
        goto out;
    }
    idx = calloc(k ? k : 1, sizeof *idx);
    v = calloc(k ? k : 1, sizeof *v);
    if (!idx || !v) {
        rc = err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    if (c->mode == CAMPAIGN_SAMPLE && k < total)
        rc = sample(sample_key(c, slot), total, k, idx, err);
    else
        for (size_t i = 0; i < k; i++)
            idx[i] = i;
    for (size_t i = 0; rc == ERR_OK && i < k; i++) {
        uint64_t x = idx[i];
        if (x < c->nprompts) {
            v[i] = strdup(c->prompts[x]);
        } else {
            x -= c->nprompts;
            size_t j = 0;
            while (x >= t[j].combos)
                x -= t[j++].combos;
            v[i] = tmpl_render(&t[j], x);
        }
        if (!v[i])
            rc = err_set(err, ERR_NOMEM, "out of memory");
    }
out:
    tmpls_free(t, c->ntemplates);
    free(idx);
    if (rc != ERR_OK) {
        campaign_strings_free(v, k);
        return rc;
    }
    *out = v;
    *n = k;
    return ERR_OK;
}

void campaign_batch_id(const campaign_t *c, int64_t slot, char out[JOB_ID_MAX + 1])
{
    char iso[32], compact[32];
    size_t j = 0;
    oncalendar_iso(slot, iso, sizeof iso);
    for (size_t i = 0; iso[i] && j + 1 < sizeof compact; i++)
        if (iso[i] != '-' && iso[i] != ':')
            compact[j++] = iso[i];
    compact[j] = '\0';
    snprintf(out, JOB_ID_MAX + 1, "%s-%s", c->name, compact);
}

err_code_t campaign_spec(const campaign_t *c, const char *prompt, const char *default_model,
                         job_spec_t *s, err_t *err)
{
    job_defaults_t d = {.model = c->model ? c->model : default_model,
                        .aspect_ratio = c->aspect_ratio, .seed = c->seed,
                        .output_format = c->output_format, .title = c->title};
    job_spec_init(s);
    if (!(s->prompt = strdup(prompt)) ||
        (c->negative_prompt && !(s->negative_prompt = strdup(c->negative_prompt))) ||
        (c->tagline && !(s->tagline = strdup(c->tagline))) ||
        (c->credits && !(s->credits = strdup(c->credits))) ||
        (c->layout && !(s->layout = strdup(c->layout))))
        return err_set(err, ERR_NOMEM, "out of memory");
    /* Rides in the queue message, so the worker presigns this firing's
     * URLs for the campaign's TTL; the job ids do not depend on it. */
    s->url_ttl = c->url_ttl;
    return job_spec_normalise(s, &d, err);
}

static int cmp_item(const void *a, const void *b)
{
    const bulk_item_t *const *x = a, *const *y = b;
    int r = strcmp((*x)->job_id, (*y)->job_id);
    return r ? r : ((*x)->line > (*y)->line) - ((*x)->line < (*y)->line);
}

/* Drops later items whose job id (a hash of the spec) repeats an earlier
 * one: the ledger holds one job per id. */
static err_code_t fold_duplicates(bulk_t *b, err_t *err)
{
    bulk_item_t **ix = malloc((b->nitems ? b->nitems : 1) * sizeof *ix);
    bool *drop = calloc(b->nitems ? b->nitems : 1, sizeof *drop);
    if (!ix || !drop) {
        free(ix);
        free(drop);
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < b->nitems; i++)
        ix[i] = &b->items[i];
    qsort(ix, b->nitems, sizeof *ix, cmp_item);
    for (size_t i = 1; i < b->nitems; i++)
        if (strcmp(ix[i]->job_id, ix[i - 1]->job_id) == 0)
            drop[ix[i] - b->items] = true;
    size_t w = 0;
    for (size_t i = 0; i < b->nitems; i++) {
        if (drop[i]) {
            job_spec_free(&b->items[i].spec);
            b->nduplicates++;
        } else {
            b->items[w++] = b->items[i];
        }
    }
    b->nitems = w;
    free(ix);
    free(drop);
    return ERR_OK;
}

err_code_t campaign_build(const campaign_t *c, int64_t slot, const char *default_model,
                          bulk_t *b, err_t *err)
{
    char **prompts;
    size_t n;
    err_code_t rc = campaign_expand(c, slot, &prompts, &n, err);
    if (rc != ERR_OK)
        return rc;
    if (!(b->items = calloc(n ? n : 1, sizeof *b->items))) {
        campaign_strings_free(prompts, n);
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    campaign_batch_id(c, slot, b->batch_id);
    for (size_t i = 0; rc == ERR_OK && i < n; i++) {
        bulk_item_t *it = &b->items[b->nitems++];
        it->line = i + 1;
        rc = campaign_spec(c, prompts[i], default_model, &it->spec, err);
        if (rc != ERR_OK)
            err_prefix(err, "%s: prompt %zu (\"%.40s\")", c->path, i + 1, prompts[i]);
        else
            rc = job_id_for(b->batch_id, &it->spec, it->job_id);
    }
    campaign_strings_free(prompts, n);
    return rc == ERR_OK ? fold_duplicates(b, err) : rc;
}

err_code_t campaign_default_slot(const campaign_t *c, int64_t now, int64_t *slot, err_t *err)
{
    if (oncalendar_prev(&c->cal, now, slot, err) != ERR_OK)
        return err_set(err, ERR_NOTFOUND, "%s: schedule \"%s\" has not fired yet; give --slot",
                       c->path, c->schedule);
    return ERR_OK;
}

/* The schedule as an expression that names its time zone, for messages:
 * everything here is evaluated in UTC. */
static const char *utc_suffix(const char *schedule)
{
    size_t n = strlen(schedule);
    return n >= 3 && !strcmp(schedule + n - 3, "UTC") ? "" : " UTC";
}

err_code_t campaign_check_slot(const campaign_t *c, const char *what, int64_t slot,
                               int64_t now, bool *future, err_t *err)
{
    int64_t prev, next;
    char s[32], a[32], b[32], near[120];
    bool has_prev, has_next;

    *future = slot > now;
    if (oncalendar_next(&c->cal, slot - 1, &next, NULL) == ERR_OK && next == slot)
        return ERR_OK;
    has_prev = oncalendar_prev(&c->cal, slot, &prev, NULL) == ERR_OK;
    has_next = oncalendar_next(&c->cal, slot, &next, NULL) == ERR_OK;
    if (has_prev && has_next)
        snprintf(near, sizeof near, "the nearest are %s and %s",
                 oncalendar_iso(prev, a, sizeof a), oncalendar_iso(next, b, sizeof b));
    else if (has_prev)
        snprintf(near, sizeof near, "the last is %s; it never fires after",
                 oncalendar_iso(prev, a, sizeof a));
    else if (has_next)
        snprintf(near, sizeof near, "the first is %s", oncalendar_iso(next, b, sizeof b));
    else
        snprintf(near, sizeof near, "it never fires");
    return err_set(err, ERR_INVALID, "%s: %s %s is not a firing of \"%s%s\" (%s)", c->path,
                   what, oncalendar_iso(slot, s, sizeof s), c->schedule,
                   utc_suffix(c->schedule), near);
}
