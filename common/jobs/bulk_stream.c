/* bulk_stream — see bulk_stream.h.  Also bulk_format_parse() and
 * bulk_assign_ids() of job.h: the batch hash here must stay the one
 * bulk_assign_ids() computes, so both live in one file. */
#include "jobs/bulk_stream.h"
#include "base/crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Pages behind the reader are given back once this many bytes are done. */
#define RELEASE_STEP (8u << 20)
/* Bytes of the job-id digests kept: 96 bits, so two different keys among a
 * billion collide with a chance below 10^-10. */
#define DIGEST_LEN 12

/* A kept job's key: its client id, or its canonical spec when it has none
 * (a kind byte keeps the two apart).  line 0 marks an empty slot. */
typedef struct {
    uint8_t digest[DIGEST_LEN];
    uint32_t line; /* the first line with this key (saturates) */
} slot_t;

struct bulk_stream {
    const char *name;
    bulk_format_t fmt;
    const job_defaults_t *d;
    int fd;
    char *map;
    size_t len, released;
    size_t lines;              /* line feeds in the input, to size the table */
    /* the scan */
    slot_t *slots;
    size_t cap, n;
    uint64_t *kept;            /* bit per line: kept by the scan */
    size_t kept_words;
    crypto_sha256_ctx *hash;
    bulk_check_fn check;
    void *check_ud;
    buf_t key, json;
    bool scanned, nomem;
    bulk_summary_t sum;
    /* the second pass */
    bulk_item_fn fn;
    void *fn_ud;
    err_code_t fn_rc;
    err_t *fn_err;
};

/* ---- the spool ---- */

static int spool_file(const char *dir)
{
    char path[4096];
    int fd;
#ifdef O_TMPFILE
    if ((fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600)) >= 0)
        return fd;
#endif
    if (snprintf(path, sizeof path, "%s/onesheet-submit.XXXXXX", dir) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if ((fd = mkstemp(path)) >= 0)
        unlink(path);
    return fd;
}

static err_code_t spool(bulk_stream_t *s, FILE *in, long long max, const char *dir,
                        err_t *err)
{
    char buf[1 << 16];
    struct stat st;
    size_t total = 0;

    if (fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > max)
        return err_set(err, ERR_TOOBIG, "input is larger than %lld bytes", max);
    if ((s->fd = spool_file(dir)) < 0)
        return err_set(err, ERR_IO, "cannot spool the input to %s: %s", dir, strerror(errno));
    for (;;) {
        size_t got = fread(buf, 1, sizeof buf, in);
        if (got == 0)
            break;
        if ((long long)(total + got) > max)
            return err_set(err, ERR_TOOBIG, "input is larger than %lld bytes", max);
        for (const char *p = buf; (p = memchr(p, '\n', (size_t)(buf + got - p))); p++)
            s->lines++;
        for (size_t at = 0; at < got;) {
            ssize_t w = write(s->fd, buf + at, got - at);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return err_set(err, ERR_IO, "cannot spool the input to %s: %s", dir,
                               strerror(errno));
            at += (size_t)w;
        }
        total += got;
    }
    if (ferror(in))
        return err_set(err, errno == ENOMEM ? ERR_NOMEM : ERR_IO, "cannot read: %s",
                       strerror(errno));
    s->len = total;
    if (total && (s->map = mmap(NULL, total, PROT_READ, MAP_PRIVATE, s->fd, 0)) == MAP_FAILED) {
        s->map = NULL;
        return err_set(err, errno == ENOMEM ? ERR_NOMEM : ERR_IO, "cannot map the spooled "
                       "input: %s", strerror(errno));
    }
    return ERR_OK;
}

err_code_t bulk_stream_open(FILE *in, const char *name, bulk_format_t fmt,
                            const job_defaults_t *d, long long max_bytes,
                            const char *dir, bulk_stream_t **out, err_t *err)
{
    bulk_stream_t *s = calloc(1, sizeof *s);
    err_code_t rc;

    *out = NULL;
    if (!s)
        return err_set(err, ERR_NOMEM, "out of memory");
    s->name = name ? name : "-";
    s->fmt = fmt;
    s->d = d;
    s->fd = -1;
    if (!dir || !*dir)
        dir = getenv("TMPDIR");
    if ((rc = spool(s, in, max_bytes, dir && *dir ? dir : "/tmp", err)) != ERR_OK) {
        bulk_stream_close(s);
        return rc;
    }
    *out = s;
    return ERR_OK;
}

FILE *bulk_stream_reopen(bulk_stream_t *s)
{
    int fd = dup(s->fd);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return NULL;
    }
    if (fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    return f;
}

void bulk_stream_close(bulk_stream_t *s)
{
    if (!s)
        return;
    if (s->map)
        munmap(s->map, s->len);
    if (s->fd >= 0)
        close(s->fd);
    free(s->slots);
    free(s->kept);
    free(s->sum.errors);
    buf_free(&s->key);
    buf_free(&s->json);
    if (s->hash) {
        uint8_t d[SHA256_LEN];
        crypto_sha256_final(s->hash, d); /* frees it */
    }
    free(s);
}

/* Gives the mapping's pages before pos back, a step at a time. */
static void progress(void *ud, size_t pos)
{
    bulk_stream_t *s = ud;
    size_t page = (size_t)sysconf(_SC_PAGESIZE), upto;

    if (pos < s->released + RELEASE_STEP)
        return;
    upto = pos / page * page;
    madvise(s->map + s->released, upto - s->released, MADV_DONTNEED);
    s->released = upto;
}

static err_code_t run_pass(bulk_stream_t *s, const bulk_sink_t *sink, err_t *err)
{
    s->released = 0;
    return bulk_parse_sink(s->name, s->map, s->len, s->fmt, s->d, sink, err);
}

/* ---- the scan ---- */

static bool keep_error(bulk_stream_t *s, const bulk_error_t *e)
{
    s->sum.nerrors++;
    if (s->sum.nshown == BULK_STREAM_ERRORS_KEPT)
        return true;
    if (!s->sum.errors &&
        !(s->sum.errors = malloc(BULK_STREAM_ERRORS_KEPT * sizeof *s->sum.errors)))
        return false;
    s->sum.errors[s->sum.nshown++] = *e;
    return true;
}

static bool scan_error(void *ud, const bulk_error_t *e)
{
    return keep_error(ud, e);
}

/* Records an error of the entry at line, as bulk.c words them. */
static bool line_error(bulk_stream_t *s, size_t line, const char *msg)
{
    bulk_error_t e;
    e.line = line;
    if (line)
        snprintf(e.msg, sizeof e.msg, "%s:%zu: %s", s->name, line, msg);
    else
        snprintf(e.msg, sizeof e.msg, "%s: %s", s->name, msg);
    for (char *p = e.msg; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7F)
            *p = '?';
    return keep_error(s, &e);
}

/* Makes room for one more key; false when out of memory.  Sized from the
 * input's line count up front, so a big file allocates the table once. */
static bool table_reserve(bulk_stream_t *s)
{
    size_t cap = s->cap ? s->cap : 1024;
    slot_t *slots;

    while ((s->n + 1) * 4 > cap * 3 || (!s->cap && cap * 3 < s->lines * 4 &&
                                         cap < ((size_t)1 << 30)))
        cap *= 2;
    if (cap == s->cap)
        return true;
    if (!(slots = calloc(cap, sizeof *slots)))
        return false;
    for (size_t i = 0; i < s->cap; i++) {
        uint64_t h;
        if (!s->slots[i].line)
            continue;
        memcpy(&h, s->slots[i].digest, sizeof h);
        size_t j = (size_t)h & (cap - 1);
        while (slots[j].line)
            j = (j + 1) & (cap - 1);
        slots[j] = s->slots[i];
    }
    free(s->slots);
    s->slots = slots;
    s->cap = cap;
    return true;
}

/* Looks the key up, adding it (first seen at line) when new.  *first gets
 * the line that had it first, or 0 when it is new.  False: out of memory. */
static bool table_add(bulk_stream_t *s, const void *key, size_t len, size_t line,
                      size_t *first)
{
    uint8_t d[SHA256_LEN];
    uint64_t h;

    *first = 0;
    if (!table_reserve(s) || crypto_sha256(key, len, d) != ERR_OK)
        return false;
    memcpy(&h, d, sizeof h);
    for (size_t i = (size_t)h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        slot_t *e = &s->slots[i];
        if (!e->line) {
            memcpy(e->digest, d, DIGEST_LEN);
            e->line = line > UINT32_MAX ? UINT32_MAX : (uint32_t)line;
            s->n++;
            return true;
        }
        if (memcmp(e->digest, d, DIGEST_LEN) == 0) {
            *first = e->line;
            return true;
        }
    }
}

static bool mark_kept(bulk_stream_t *s, size_t line)
{
    size_t w = line / 64;
    if (w >= s->kept_words) {
        size_t nw = s->kept_words ? s->kept_words : 1024;
        while (nw <= w)
            nw *= 2;
        uint64_t *k = realloc(s->kept, nw * sizeof *k);
        if (!k)
            return false;
        memset(k + s->kept_words, 0, (nw - s->kept_words) * sizeof *k);
        s->kept = k;
        s->kept_words = nw;
    }
    s->kept[w] |= (uint64_t)1 << (line % 64);
    return true;
}

static bool was_kept(const bulk_stream_t *s, size_t line)
{
    return line / 64 < s->kept_words && (s->kept[line / 64] >> (line % 64) & 1);
}

/* The scan's sink: folds duplicates as bulk.c does (a repeated client id is
 * an error naming the first line; a repeated spec without one is folded),
 * asks check, and hashes what it keeps into the batch id. */
static bool scan_spec(void *ud, size_t line, job_spec_t *spec)
{
    bulk_stream_t *s = ud;
    size_t first;
    err_t e;
    bool ok = false;

    buf_reset(&s->key);
    if (buf_append(&s->key, spec->id ? "i" : "s", 1) != ERR_OK ||
        (spec->id ? buf_append_str(&s->key, spec->id) : job_spec_to_json(spec, &s->key))
            != ERR_OK ||
        !table_add(s, s->key.data, s->key.len, line, &first))
        goto out;
    if (first) {
        char msg[64];
        snprintf(msg, sizeof msg, "id: duplicate of line %zu", first);
        ok = spec->id ? line_error(s, line, msg) : (s->sum.nduplicates++, true);
        goto out;
    }
    err_clear(&e);
    switch (s->check ? s->check(s->check_ud, spec, &e) : ERR_OK) {
    case ERR_OK: break;
    case ERR_INVALID: ok = line_error(s, line, e.msg); goto out;
    default: goto out;
    }
    buf_reset(&s->json);
    ok = job_spec_to_json_with_id(spec, &s->json) == ERR_OK &&
         buf_append(&s->json, "\n", 1) == ERR_OK &&
         crypto_sha256_update(s->hash, s->json.data, s->json.len) == ERR_OK &&
         mark_kept(s, line);
    s->sum.nitems += ok;
out:
    job_spec_free(spec);
    return ok;
}

err_code_t bulk_stream_scan(bulk_stream_t *s, bulk_check_fn check, void *ud,
                            const bulk_summary_t **sum, err_t *err)
{
    bulk_sink_t sink = {.ud = s, .spec = scan_spec, .error = scan_error,
                        .progress = progress};
    uint8_t d[SHA256_LEN];
    err_code_t rc;

    if (s->scanned)
        return err_set(err, ERR_INTERNAL, "%s: scanned twice", s->name);
    s->scanned = true;
    s->check = check;
    s->check_ud = ud;
    if (!(s->hash = crypto_sha256_new()))
        return err_set(err, ERR_NOMEM, "%s: out of memory", s->name);
    if ((rc = run_pass(s, &sink, err)) != ERR_OK)
        return rc;
    rc = crypto_sha256_final(s->hash, d);
    s->hash = NULL;
    /* The digests are not needed any more: the kept bits say it all. */
    free(s->slots);
    s->slots = NULL;
    s->cap = s->n = 0;
    if (rc != ERR_OK)
        return err_set(err, ERR_NOMEM, "%s: out of memory", s->name);
    s->sum.batch_id[0] = 'b';
    hex_encode(d, 8, s->sum.batch_id + 1);
    if (s->sum.nitems == 0 && s->sum.nerrors == 0 && !line_error(s, 0, "no prompts found"))
        return err_set(err, ERR_NOMEM, "%s: out of memory", s->name);
    *sum = &s->sum;
    return ERR_OK;
}

/* ---- the second pass ---- */

static bool each_error(void *ud, const bulk_error_t *e)
{
    (void)ud;
    (void)e;
    return true;
}

static bool each_spec(void *ud, size_t line, job_spec_t *spec)
{
    bulk_stream_t *s = ud;
    bulk_item_t it;

    if (s->fn_rc != ERR_OK || !was_kept(s, line)) {
        job_spec_free(spec);
        return true;
    }
    it.line = line;
    it.spec = *spec;
    if (job_id_for(s->sum.batch_id, &it.spec, it.job_id) != ERR_OK)
        s->fn_rc = err_set(s->fn_err, ERR_NOMEM, "%s: out of memory", s->name);
    else
        s->fn_rc = s->fn(s->fn_ud, &it, s->fn_err);
    job_spec_free(&it.spec);
    return true;
}

err_code_t bulk_stream_each(bulk_stream_t *s, bulk_item_fn fn, void *ud, err_t *err)
{
    bulk_sink_t sink = {.ud = s, .spec = each_spec, .error = each_error,
                        .progress = progress};
    err_code_t rc;

    if (!s->scanned)
        return err_set(err, ERR_INTERNAL, "%s: not scanned yet", s->name);
    s->fn = fn;
    s->fn_ud = ud;
    s->fn_rc = ERR_OK;
    s->fn_err = err;
    rc = run_pass(s, &sink, err);
    return rc != ERR_OK ? rc : s->fn_rc;
}

/* ---- job.h ---- */

int bulk_format_parse(const char *s)
{
    if (!s)
        return -1;
    if (!strcmp(s, "auto"))
        return BULK_AUTO;
    if (!strcmp(s, "txt"))
        return BULK_TXT;
    if (!strcmp(s, "jsonl"))
        return BULK_JSONL;
    if (!strcmp(s, "csv"))
        return BULK_CSV;
    return -1;
}

err_code_t bulk_assign_ids(bulk_t *b)
{
    crypto_sha256_ctx *h = crypto_sha256_new();
    uint8_t d[SHA256_LEN];
    buf_t j = BUF_INIT;
    err_code_t rc = h ? ERR_OK : ERR_NOMEM;

    for (size_t i = 0; i < b->nitems && rc == ERR_OK; i++) {
        buf_reset(&j);
        if ((rc = job_spec_to_json_with_id(&b->items[i].spec, &j)) == ERR_OK &&
            (rc = buf_append(&j, "\n", 1)) == ERR_OK)
            rc = crypto_sha256_update(h, j.data, j.len);
    }
    buf_free(&j);
    if (rc != ERR_OK) {
        crypto_sha256_free(h);
        return rc;
    }
    if ((rc = crypto_sha256_final(h, d)) != ERR_OK)
        return rc;
    b->batch_id[0] = 'b';
    hex_encode(d, 8, b->batch_id + 1);
    for (size_t i = 0; i < b->nitems && rc == ERR_OK; i++)
        rc = job_id_for(b->batch_id, &b->items[i].spec, b->items[i].job_id);
    return rc;
}
