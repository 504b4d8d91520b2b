/* bulk — the txt, JSONL and CSV readers of job.h.
 *
 * Each reader turns lines into specs and hands them to accept(), which
 * normalises them and removes duplicates; errors are collected per line so a
 * user sees every problem of a 100,000-line file in one run.  Duplicates are
 * found with open-addressing hash sets so big files stay linear. */
#include "jobs/job.h"
#include "jobs/bulk_sink.h"
#include "base/csv.h"
#include "base/utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* An open-addressing set of items keyed by client id or by canonical JSON.
 * Slots hold item numbers, not copies of keys: an earlier item's key is
 * rebuilt only when the hashes match, which keeps memory to 16 bytes a slot. */
typedef struct {
    uint64_t hash;
    size_t item; /* index + 1; 0 marks an empty slot */
} slot_t;

typedef struct {
    slot_t *slots;
    size_t cap, n;
    size_t hint; /* expected entries, to size the table once */
    bool by_id;
} hset_t;

typedef struct {
    const char *name;
    const job_defaults_t *d;
    bulk_t *b;
    size_t items_cap, errors_cap;
    hset_t ids, specs;
    buf_t canon, scratch;
    bool nomem;
    const bulk_sink_t *sink; /* bulk_parse_sink(): specs and errors go here */
} ctx_t;

static uint64_t fnv1a(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* Makes room for one more entry; false when out of memory. */
static bool hset_reserve(hset_t *h)
{
    size_t cap;
    slot_t *slots;

    if (h->n * 2 < h->cap)
        return true;
    cap = h->cap ? h->cap * 2 : 1024;
    while (cap < h->hint * 2)
        cap *= 2;
    if (!(slots = calloc(cap, sizeof *slots)))
        return false;
    for (size_t i = 0; i < h->cap; i++) {
        size_t j = h->slots[i].hash & (cap - 1);
        if (!h->slots[i].item)
            continue;
        while (slots[j].item)
            j = (j + 1) & (cap - 1);
        slots[j] = h->slots[i];
    }
    free(h->slots);
    h->slots = slots;
    h->cap = cap;
    return true;
}

static bool same_key(ctx_t *c, const hset_t *h, size_t item, const char *key,
                     size_t len)
{
    const job_spec_t *s = &c->b->items[item].spec;
    if (h->by_id)
        return strlen(s->id) == len && memcmp(s->id, key, len) == 0;
    buf_reset(&c->scratch);
    if (job_spec_to_json(s, &c->scratch) != ERR_OK) {
        c->nomem = true;
        return false;
    }
    return c->scratch.len == len && memcmp(c->scratch.data, key, len) == 0;
}

/* Looks key up.  Returns the matching item's index + 1, or 0 with *at set to
 * the free slot where the key belongs. */
static size_t hset_lookup(ctx_t *c, hset_t *h, const char *key, size_t len,
                          uint64_t hash, slot_t **at)
{
    for (size_t i = hash & (h->cap - 1);; i = (i + 1) & (h->cap - 1)) {
        slot_t *e = &h->slots[i];
        if (!e->item) {
            *at = e;
            return 0;
        }
        if (e->hash == hash && same_key(c, h, e->item - 1, key, len))
            return e->item;
    }
}

static void add_error(ctx_t *c, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_error(ctx_t *c, size_t line, const char *fmt, ...)
{
    bulk_t *b = c->b;
    bulk_error_t *e, one;
    char msg[sizeof e->msg];
    va_list ap;

    if (!c->sink && b->nerrors == c->errors_cap) {
        size_t cap = c->errors_cap ? c->errors_cap * 2 : 16;
        bulk_error_t *p = realloc(b->errors, cap * sizeof *p);
        if (!p) {
            c->nomem = true;
            return;
        }
        b->errors = p;
        c->errors_cap = cap;
    }
    e = c->sink ? &one : &b->errors[b->nerrors++];
    e->line = line;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (line)
        snprintf(e->msg, sizeof e->msg, "%s:%zu: %s", c->name, line, msg);
    else
        snprintf(e->msg, sizeof e->msg, "%s: %s", c->name, msg);
    /* Messages echo names from the input; keep each one a single line. */
    for (char *p = e->msg; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7F)
            *p = '?';
    if (c->sink && !c->sink->error(c->sink->ud, e))
        c->nomem = true;
}

/* Normalises spec (taking ownership), drops duplicates and appends it. */
static void accept(ctx_t *c, size_t line, job_spec_t *spec)
{
    bulk_t *b = c->b;
    hset_t *h;
    const char *key;
    size_t klen, prev;
    uint64_t hash;
    slot_t *at = NULL;
    err_t e;

    err_clear(&e);
    if (job_spec_normalise(spec, c->d, &e) != ERR_OK) {
        if (e.code == ERR_NOMEM)
            c->nomem = true;
        add_error(c, line, "%s", e.msg);
        goto drop;
    }
    if (c->sink) { /* the sink owns the spec from here, and folds duplicates */
        if (!c->sink->spec(c->sink->ud, line, spec))
            c->nomem = true;
        return;
    }
    /* Client ids must be unique; specs without one fold when identical. */
    h = spec->id ? &c->ids : &c->specs;
    if (spec->id) {
        key = spec->id;
        klen = strlen(key);
    } else {
        buf_reset(&c->canon);
        if (job_spec_to_json(spec, &c->canon) != ERR_OK)
            goto nomem;
        key = (const char *)c->canon.data;
        klen = c->canon.len;
    }
    if (!hset_reserve(h))
        goto nomem;
    hash = fnv1a(key, klen);
    if ((prev = hset_lookup(c, h, key, klen, hash, &at))) {
        if (spec->id)
            add_error(c, line, "id: duplicate of line %zu", b->items[prev - 1].line);
        else
            b->nduplicates++;
        goto drop;
    }
    if (b->nitems == c->items_cap) {
        size_t cap = c->items_cap ? c->items_cap * 2 : 64;
        bulk_item_t *p = realloc(b->items, cap * sizeof *p);
        if (!p)
            goto nomem;
        b->items = p;
        c->items_cap = cap;
    }
    b->items[b->nitems].line = line;
    b->items[b->nitems].spec = *spec;
    b->items[b->nitems].job_id[0] = '\0';
    b->nitems++;
    at->hash = hash;
    at->item = b->nitems;
    h->n++;
    job_spec_init(spec);
    return;
nomem:
    c->nomem = true;
drop:
    job_spec_free(spec);
}

static bool blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!utf8_is_space(s[i]))
            return false;
    return true;
}

/* Calls fn for each line of data (without its LF or CRLF). */
static void each_line(ctx_t *c, const char *data, size_t len,
                      void (*fn)(ctx_t *, size_t, const char *, size_t))
{
    size_t pos = 0, line = 0;
    while (pos < len && !c->nomem) {
        const char *start = data + pos;
        const char *nl = memchr(start, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - start) : len - pos;
        if (c->sink && c->sink->progress)
            c->sink->progress(c->sink->ud, pos);
        pos += n + (nl ? 1 : 0);
        line++;
        if (n > 0 && start[n - 1] == '\r')
            n--;
        fn(c, line, start, n);
    }
}

static void txt_line(ctx_t *c, size_t line, const char *s, size_t n)
{
    job_spec_t spec;
    size_t i = 0;

    while (i < n && utf8_is_space(s[i]))
        i++;
    if (i == n || s[i] == '#')
        return;
    if (memchr(s, '\0', n)) {
        add_error(c, line, "prompt: contains a NUL byte");
        return;
    }
    job_spec_init(&spec);
    if (!(spec.prompt = strndup(s, n))) {
        c->nomem = true;
        return;
    }
    accept(c, line, &spec);
}

static void jsonl_line(ctx_t *c, size_t line, const char *s, size_t n)
{
    job_spec_t spec;
    err_t e;

    if (blank(s, n))
        return;
    job_spec_init(&spec);
    err_clear(&e);
    if (job_spec_parse_json(s, n, &spec, &e) != ERR_OK) {
        if (e.code == ERR_NOMEM)
            c->nomem = true;
        add_error(c, line, "%s", e.msg);
        job_spec_free(&spec);
        return;
    }
    accept(c, line, &spec);
}

/* ---- CSV ---- */

static const char *const csv_fields[] = {
    "id",    "prompt",  "negative_prompt", "model",  "aspect_ratio", "seed",
    "output_format", "title", "tagline", "credits", "layout", "renditions",
};

typedef struct {
    const char *field; /* a csv_fields entry, or NULL for a tag column */
    char *tag;         /* tag key of a "tags.KEY" column */
} column_t;

static size_t trim_span(const char **s, size_t len)
{
    while (len > 0 && utf8_is_space((*s)[len - 1]))
        len--;
    while (len > 0 && utf8_is_space(**s)) {
        (*s)++;
        len--;
    }
    return len;
}

/* Maps the header row to columns; false (errors recorded) when unusable. */
static bool csv_header(ctx_t *c, const csv_record_t *rec, column_t *cols)
{
    bool ok = true, have_prompt = false;

    for (size_t i = 0; i < rec->n; i++) {
        size_t len;
        const char *h = csv_field(rec, i, &len);
        len = trim_span(&h, len);
        cols[i].field = NULL;
        cols[i].tag = NULL;
        for (size_t f = 0; f < sizeof csv_fields / sizeof *csv_fields; f++)
            if (strlen(csv_fields[f]) == len && !strncasecmp(h, csv_fields[f], len))
                cols[i].field = csv_fields[f];
        if (!cols[i].field && len > 5 && !strncasecmp(h, "tags.", 5)) {
            if (!(cols[i].tag = strndup(h + 5, len - 5))) {
                c->nomem = true;
                return false;
            }
        } else if (!cols[i].field) {
            add_error(c, rec->line, "unknown column \"%.*s\" (expected prompt, "
                      "id, negative_prompt, model, aspect_ratio, seed, "
                      "output_format, title, tagline, credits, layout, "
                      "renditions or tags.NAME)", (int)(len > 64 ? 64 : len), h);
            ok = false;
            continue;
        }
        for (size_t j = 0; j < i; j++) {
            if ((cols[i].field && cols[i].field == cols[j].field) ||
                (cols[i].tag && cols[j].tag && !strcmp(cols[i].tag, cols[j].tag))) {
                add_error(c, rec->line, "duplicate column \"%.*s\"",
                          (int)(len > 64 ? 64 : len), h);
                ok = false;
            }
        }
        if (cols[i].field && !strcmp(cols[i].field, "prompt"))
            have_prompt = true;
    }
    if (ok && !have_prompt) {
        add_error(c, rec->line, "prompt: missing required column");
        ok = false;
    }
    return ok;
}

/* A seed cell must be a plain decimal integer in range. */
static bool parse_seed(const char *s, size_t len, long long *out)
{
    long long v = 0;
    if (len == 0 || len > 10)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return v <= JOB_SEED_MAX;
}

/* Writes a row as a JSON spec so it goes through the same strict parser as
 * JSONL; empty cells are absent fields.  Returns false when the row has
 * only empty cells, and records an error for a bad seed. */
static bool csv_row_json(ctx_t *c, const csv_record_t *rec,
                         const column_t *cols, buf_t *out, bool *bad)
{
    bool any = false, tags = false;
    err_code_t rc = buf_append(out, "{", 1);

    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < rec->n && rc == ERR_OK; i++) {
            size_t len;
            const char *v = csv_field(rec, i, &len);
            long long seed;
            len = trim_span(&v, len);
            if (len == 0 || (pass == 0) != (cols[i].field != NULL))
                continue;
            if (pass == 1 && !tags) {
                rc = buf_append_str(out, any ? ",\"tags\":{" : "\"tags\":{");
                if (rc != ERR_OK)
                    break;
            } else if (any) {
                rc = buf_append(out, ",", 1);
            }
            if (rc == ERR_OK)
                rc = utf8_append_json_string(out, cols[i].field ? cols[i].field
                                                                : cols[i].tag,
                                             strlen(cols[i].field ? cols[i].field
                                                                  : cols[i].tag));
            if (rc == ERR_OK)
                rc = buf_append(out, ":", 1);
            if (rc == ERR_OK && cols[i].field && !strcmp(cols[i].field, "seed")) {
                if (!parse_seed(v, len, &seed)) {
                    add_error(c, rec->line, "seed: must be an integer between 0 "
                              "and 4294967294");
                    *bad = true;
                    return true;
                }
                rc = buf_appendf(out, "%lld", seed);
            } else if (rc == ERR_OK && cols[i].field && !strcmp(cols[i].field, "renditions")) {
                err_t e;
                if ((rc = rendition_cell_to_json(v, len, out, &e)) == ERR_INVALID) {
                    add_error(c, rec->line, "%s", e.msg);
                    *bad = true;
                    return true;
                }
            } else if (rc == ERR_OK) {
                rc = utf8_append_json_string(out, v, len);
            }
            any = true;
            tags = tags || pass == 1;
        }
    }
    if (rc == ERR_OK && tags)
        rc = buf_append(out, "}", 1);
    if (rc == ERR_OK)
        rc = buf_append(out, "}", 1);
    if (rc != ERR_OK)
        c->nomem = *bad = true;
    return any;
}

static void parse_csv(ctx_t *c, const char *data, size_t len)
{
    csv_reader_t r;
    csv_record_t rec;
    column_t *cols = NULL;
    size_t ncols = 0;
    buf_t json = BUF_INIT;
    err_t e;
    err_code_t rc;

    csv_reader_init(&r, data, len);
    csv_record_init(&rec);
    err_clear(&e);
    for (;;) {
        bool bad = false;
        if (c->sink && c->sink->progress)
            c->sink->progress(c->sink->ud, r.pos);
        if (c->nomem || (rc = csv_next(&r, &rec, &e)) == ERR_NOTFOUND)
            break;
        if (rc == ERR_NOMEM) {
            c->nomem = true;
            break;
        }
        if (rc != ERR_OK) {
            add_error(c, rec.line, "%s", e.msg);
            if (!cols)
                break; /* without a header nothing after it means anything */
            continue;
        }
        if (csv_record_blank(&rec))
            continue;
        if (!cols) {
            if (!(cols = calloc(rec.n, sizeof *cols))) {
                c->nomem = true;
                break;
            }
            ncols = rec.n;
            if (!csv_header(c, &rec, cols))
                break;
            continue;
        }
        if (rec.n != ncols) {
            add_error(c, rec.line, "expected %zu fields as in the header, found %zu",
                      ncols, rec.n);
            continue;
        }
        buf_reset(&json);
        if (csv_row_json(c, &rec, cols, &json, &bad) && !bad)
            jsonl_line(c, rec.line, (const char *)json.data, json.len);
    }
    for (size_t i = 0; cols && i < ncols; i++)
        free(cols[i].tag);
    free(cols);
    buf_free(&json);
    csv_record_free(&rec);
}

/* ---- entry points ---- */

static bulk_format_t format_from_name(const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *dot = strrchr(slash ? slash : name, '.');
    if (dot && (!strcasecmp(dot, ".jsonl") || !strcasecmp(dot, ".json") ||
                !strcasecmp(dot, ".ndjson")))
        return BULK_JSONL;
    if (dot && !strcasecmp(dot, ".csv"))
        return BULK_CSV;
    return BULK_TXT;
}

void bulk_init(bulk_t *b)
{
    memset(b, 0, sizeof *b);
}

void bulk_free(bulk_t *b)
{
    for (size_t i = 0; i < b->nitems; i++)
        job_spec_free(&b->items[i].spec);
    free(b->items);
    free(b->errors);
    bulk_init(b);
}

/* Sizes the item array and hash sets for one job a line up front: growing
 * them by doubling copied and faulted in tens of megabytes on big files.
 * Past a million lines (mostly blank, perhaps) they grow as usual. */
static err_code_t presize(ctx_t *c, const char *data, size_t len)
{
    size_t lines = 1;
    bulk_item_t *items;

    for (const char *p = data, *end = data + len;
         lines < (1u << 20) && (p = memchr(p, '\n', (size_t)(end - p))); p++)
        lines++;
    c->ids.hint = c->specs.hint = lines;
    if (c->items_cap >= lines)
        return ERR_OK;
    if (!(items = realloc(c->b->items, lines * sizeof *items)))
        return ERR_NOMEM;
    c->b->items = items;
    c->items_cap = lines;
    return ERR_OK;
}

/* What bulk_parse() and bulk_parse_sink() share: the BOM, the format, the
 * reader.  Returns ERR_NOMEM or ERR_OK (errors went to add_error). */
static err_code_t parse_any(ctx_t *c, const char *data, size_t len, bulk_format_t fmt)
{
    if (!data) {
        data = "";
        len = 0;
    }
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
        data += 3;
        len -= 3;
    }
    if (fmt == BULK_AUTO)
        fmt = format_from_name(c->name);
    if (!c->sink && presize(c, data, len) != ERR_OK)
        return ERR_NOMEM;
    if (fmt == BULK_CSV)
        parse_csv(c, data, len);
    else
        each_line(c, data, len, fmt == BULK_JSONL ? jsonl_line : txt_line);
    return c->nomem ? ERR_NOMEM : ERR_OK;
}

err_code_t bulk_parse(const char *name, const char *data, size_t len,
                      bulk_format_t fmt, const job_defaults_t *d, bulk_t *b,
                      err_t *err)
{
    ctx_t c;

    memset(&c, 0, sizeof c);
    c.name = name ? name : "-";
    c.d = d;
    c.b = b;
    c.items_cap = b->nitems;
    c.errors_cap = b->nerrors;
    c.ids.by_id = true;
    parse_any(&c, data, len, fmt);
    if (!c.nomem && b->nitems == 0 && b->nerrors == 0)
        add_error(&c, 0, "no prompts found");
    free(c.ids.slots);
    free(c.specs.slots);
    buf_free(&c.canon);
    buf_free(&c.scratch);
    if (c.nomem)
        return err_set(err, ERR_NOMEM, "%s: out of memory", c.name);
    if (b->nerrors == 1)
        return err_set(err, ERR_INVALID, "%s", b->errors[0].msg);
    if (b->nerrors > 1)
        return err_set(err, ERR_INVALID, "%s (and %zu more errors)",
                       b->errors[0].msg, b->nerrors - 1);
    return ERR_OK;
}

err_code_t bulk_parse_sink(const char *name, const char *data, size_t len,
                           bulk_format_t fmt, const job_defaults_t *d,
                           const bulk_sink_t *sink, err_t *err)
{
    bulk_t none;
    ctx_t c;
    err_code_t rc;

    bulk_init(&none);
    memset(&c, 0, sizeof c);
    c.name = name ? name : "-";
    c.d = d;
    c.b = &none;
    c.sink = sink;
    rc = parse_any(&c, data, len, fmt);
    buf_free(&c.canon);
    buf_free(&c.scratch);
    return rc == ERR_OK ? ERR_OK : err_set(err, ERR_NOMEM, "%s: out of memory", c.name);
}
