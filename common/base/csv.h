/* csv — an RFC 4180 record reader over an in-memory text, and the writer
 * of fields and records that reader (and spreadsheets) read back.
 *
 * Quoted fields may hold commas, doubled quotes and line breaks (a CRLF
 * inside quotes becomes "\n").  Spaces around a quoted field are ignored, as
 * spreadsheets written by hand often have them.  Records end at LF or CRLF. */
#ifndef ONESHEET_CSV_H
#define ONESHEET_CSV_H

#include "base/buf.h"
#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *data;
    size_t len;
    size_t pos;   /* next byte to read */
    size_t line;  /* 1-based line of data[pos] */
} csv_reader_t;

typedef struct {
    buf_t text;   /* the fields back to back, each followed by a NUL */
    size_t *off;  /* field i starts at text.data + off[i] ... */
    size_t *len;  /* ... and is len[i] bytes long (it may contain NULs) */
    size_t n, cap;
    size_t line;  /* line where the record starts */
} csv_record_t;

/* Reads data[0..len) (borrowed for the reader's life). */
void csv_reader_init(csv_reader_t *r, const char *data, size_t len);

void csv_record_init(csv_record_t *rec);
void csv_record_free(csv_record_t *rec);

/* Field i of rec (borrowed from rec until the next csv_next); *len gets its
 * length in bytes. */
const char *csv_field(const csv_record_t *rec, size_t i, size_t *len);

/* True for a record that is one empty or whitespace-only field (a blank
 * line), which readers skip. */
bool csv_record_blank(const csv_record_t *rec);

/* Reads the next record into rec.  Returns ERR_OK, ERR_NOTFOUND at the end
 * of the data, ERR_NOMEM, or ERR_INVALID for a malformed record (a stray
 * quote, text after a closing quote, or a quote left open at the end), with
 * err's message saying why.  After ERR_INVALID rec->line is still the
 * record's first line and the reader has moved past the record, so the
 * caller can report it and go on. */
err_code_t csv_next(csv_reader_t *r, csv_record_t *rec, err_t *err);

/* ---- writing ---- */

/* Appends s[0..len) to out as one RFC 4180 field: as it is, or between
 * quotes with each quote doubled when it holds a comma, a quote, a CR or an
 * LF, or starts or ends with a space or tab (which some readers trim).  A
 * field starting with = + - @ is written as it is: the text is data, not
 * escaped for spreadsheets.  s may be NULL when len is 0.  Returns ERR_OK,
 * ERR_NOMEM (out keeps what it had), or ERR_INVALID for a NUL byte (no CSV
 * reader keeps one) or s NULL with len > 0; out is unchanged on error. */
err_code_t csv_write_field(buf_t *out, const char *s, size_t len);

/* Appends one record: the n NUL-terminated fields (NULL: an empty field)
 * separated by commas and ended by CRLF, as RFC 4180 has it.  A record of
 * one empty field is written as "" so that it is not a blank line.  Errors
 * as csv_write_field, and ERR_INVALID for n == 0 (no such record); out is
 * unchanged on error. */
err_code_t csv_write_record(buf_t *out, const char *const *fields, size_t n);

#endif
