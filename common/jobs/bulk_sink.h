/* bulk_sink — bulk.c's readers without bulk_t: entries and errors handed
 * to callbacks as they are read, for readers that keep less (bulk_stream.h).
 * Implemented in bulk.c. */
#ifndef ONESHEET_BULK_SINK_H
#define ONESHEET_BULK_SINK_H

#include "base/err.h"
#include "jobs/job.h"

#include <stdbool.h>
#include <stddef.h>

/* Where bulk_parse_sink() hands what it reads.  Each callback gets ud. */
typedef struct {
    void *ud;
    /* Each entry that parsed and normalised, with its line; the callback
     * owns spec (and frees it).  False: out of memory, stop. */
    bool (*spec)(void *ud, size_t line, job_spec_t *spec);
    /* Each bad entry, its message as in bulk_t's errors (borrowed).  False:
     * out of memory, stop. */
    bool (*error)(void *ud, const bulk_error_t *e);
    /* May be NULL.  Before each line (CSV: record), the offset in data of
     * the first byte not read yet: everything before it is done with. */
    void (*progress)(void *ud, size_t pos);
} bulk_sink_t;

/* Reads data[0..len) as bulk_parse() does (BOM, CRLF, BULK_AUTO, the three
 * formats, the same messages), but keeps nothing: entries and errors go to
 * sink as they are read, and duplicates are the sink's to find.  No "no
 * prompts found" either.  Returns ERR_OK or ERR_NOMEM with err set. */
err_code_t bulk_parse_sink(const char *name, const char *data, size_t len,
                           bulk_format_t fmt, const job_defaults_t *d,
                           const bulk_sink_t *sink, err_t *err);

#endif
