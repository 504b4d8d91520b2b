/* csv — see csv.h. */
#include "base/csv.h"

#include <stdlib.h>
#include <string.h>

void csv_reader_init(csv_reader_t *r, const char *data, size_t len)
{
    r->data = data;
    r->len = len;
    r->pos = 0;
    r->line = 1;
}

void csv_record_init(csv_record_t *rec)
{
    memset(rec, 0, sizeof *rec);
    buf_init(&rec->text);
}

void csv_record_free(csv_record_t *rec)
{
    buf_free(&rec->text);
    free(rec->off);
    free(rec->len);
    csv_record_init(rec);
}

const char *csv_field(const csv_record_t *rec, size_t i, size_t *len)
{
    *len = rec->len[i];
    return (const char *)rec->text.data + rec->off[i];
}

bool csv_record_blank(const csv_record_t *rec)
{
    size_t len;
    const char *f;
    if (rec->n != 1)
        return false;
    f = csv_field(rec, 0, &len);
    for (size_t i = 0; i < len; i++)
        if (f[i] != ' ' && f[i] != '\t')
            return false;
    return true;
}

static bool is_eol(const char *p, size_t n, size_t i)
{
    return p[i] == '\n' || (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n');
}

static err_code_t push_field(csv_record_t *rec, size_t off)
{
    if (rec->n == rec->cap) {
        size_t cap = rec->cap ? rec->cap * 2 : 16;
        size_t *o = realloc(rec->off, cap * sizeof *o);
        if (!o)
            return ERR_NOMEM;
        rec->off = o;
        size_t *l = realloc(rec->len, cap * sizeof *l);
        if (!l)
            return ERR_NOMEM;
        rec->len = l;
        rec->cap = cap;
    }
    rec->off[rec->n] = off;
    rec->len[rec->n] = rec->text.len - off;
    rec->n++;
    /* The terminator keeps each field usable as a C string. */
    return buf_append(&rec->text, "", 1);
}

/* Reads the quoted part of a field starting after the opening quote at *pi.
 * Returns false when the data ends before the closing quote. */
static bool read_quoted(csv_reader_t *r, size_t *pi, buf_t *out, err_code_t *rc)
{
    const char *p = r->data;
    size_t n = r->len, i = *pi, run = i;

    while (i < n) {
        if (p[i] == '"' || (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')) {
            if ((*rc = buf_append(out, p + run, i - run)) != ERR_OK)
                return true;
            if (p[i] == '\r') {
                *rc = buf_append(out, "\n", 1);
                r->line++;
                i += 2;
            } else if (i + 1 < n && p[i + 1] == '"') {
                *rc = buf_append(out, "\"", 1);
                i += 2;
            } else {
                *pi = i + 1;
                return true;
            }
            if (*rc != ERR_OK)
                return true;
            run = i;
            continue;
        }
        if (p[i] == '\n')
            r->line++;
        i++;
    }
    *rc = buf_append(out, p + run, i - run);
    *pi = i;
    return false;
}

err_code_t csv_next(csv_reader_t *r, csv_record_t *rec, err_t *err)
{
    const char *p = r->data, *why = NULL;
    size_t n = r->len, i = r->pos;
    err_code_t rc = ERR_OK;

    buf_reset(&rec->text);
    rec->n = 0;
    rec->line = r->line;
    if (i >= n)
        return ERR_NOTFOUND;
    for (;;) {
        size_t off = rec->text.len, j = i, start;

        while (j < n && (p[j] == ' ' || p[j] == '\t'))
            j++;
        if (j < n && p[j] == '"') {
            i = j + 1;
            if (!read_quoted(r, &i, &rec->text, &rc)) {
                r->pos = n;
                if (rc == ERR_OK)
                    rc = push_field(rec, off);
                if (rc != ERR_OK)
                    return err_set(err, rc, "out of memory");
                return err_set(err, ERR_INVALID,
                               "unterminated quoted field (a \" is never closed)");
            }
            if (rc != ERR_OK)
                return err_set(err, rc, "out of memory");
            while (i < n && (p[i] == ' ' || p[i] == '\t'))
                i++;
            if (i < n && p[i] != ',' && !is_eol(p, n, i) && !why)
                why = "unexpected text after a closing quote";
        }
        /* Unquoted text, or what follows a malformed quoted field. */
        start = i;
        while (i < n && p[i] != ',' && !is_eol(p, n, i)) {
            if (p[i] == '"' && !why)
                why = "a quote inside an unquoted field (quote the whole "
                      "field and double the quote)";
            i++;
        }
        if ((rc = buf_append(&rec->text, p + start, i - start)) != ERR_OK ||
            (rc = push_field(rec, off)) != ERR_OK)
            return err_set(err, rc, "out of memory");
        if (i < n && p[i] == ',') {
            i++;
            continue;
        }
        if (i < n) {
            i += p[i] == '\r' ? 2 : 1;
            r->line++;
        }
        break;
    }
    r->pos = i;
    if (why)
        return err_set(err, ERR_INVALID, "%s", why);
    return ERR_OK;
}

/* ---- writing ---- */

static bool needs_quotes(const char *s, size_t len)
{
    if (len && (s[0] == ' ' || s[0] == '\t' || s[len - 1] == ' ' || s[len - 1] == '\t'))
        return true;
    for (size_t i = 0; i < len; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
            return true;
    return false;
}

/* csv_write_field without the undo on error. */
static err_code_t write_field(buf_t *out, const char *s, size_t len)
{
    if (!s && len)
        return ERR_INVALID;
    if (len && memchr(s, '\0', len))
        return ERR_INVALID;
    if (!needs_quotes(s, len))
        return len ? buf_append(out, s, len) : ERR_OK;
    err_code_t rc = buf_append(out, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < len && rc == ERR_OK; i++) {
        if (s[i] != '"')
            continue;
        /* Up to and including the quote, then the quote again. */
        rc = buf_append(out, s + run, i + 1 - run);
        if (rc == ERR_OK)
            rc = buf_append(out, "\"", 1);
        run = i + 1;
    }
    if (rc == ERR_OK)
        rc = buf_append(out, s + run, len - run);
    return rc == ERR_OK ? buf_append(out, "\"", 1) : rc;
}

/* Drops what a failed write appended, keeping the buffer's terminator. */
static err_code_t undo(buf_t *out, size_t had, err_code_t rc)
{
    if (rc != ERR_OK && out->len != had) {
        out->len = had;
        out->data[had] = '\0';
    }
    return rc;
}

err_code_t csv_write_field(buf_t *out, const char *s, size_t len)
{
    size_t had = out->len;
    return undo(out, had, write_field(out, s, len));
}

err_code_t csv_write_record(buf_t *out, const char *const *fields, size_t n)
{
    size_t had = out->len;
    err_code_t rc = n ? ERR_OK : ERR_INVALID;

    for (size_t i = 0; i < n && rc == ERR_OK; i++) {
        if (i)
            rc = buf_append(out, ",", 1);
        if (rc == ERR_OK && fields[i])
            rc = write_field(out, fields[i], strlen(fields[i]));
    }
    /* A lone empty field would be a blank line, which readers skip. */
    if (rc == ERR_OK && n == 1 && (!fields[0] || !fields[0][0]))
        rc = buf_append(out, "\"\"", 2);
    if (rc == ERR_OK)
        rc = buf_append(out, "\r\n", 2);
    return undo(out, had, rc);
}
