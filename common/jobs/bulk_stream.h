/* bulk_stream — a bulk file read in bounded memory, for inputs of millions
 * of lines.
 *
 * The input is copied once to a private temporary file (0600, unlinked as
 * soon as it is made, so nothing is left behind however the process ends)
 * and read twice through a mapping whose pages are given back behind the
 * reader.  The first pass (bulk_stream_scan) validates every entry as
 * bulk_parse() does and keeps only what is small a line: counts, the first
 * BULK_STREAM_ERRORS_KEPT messages, a 16-byte digest per kept job for
 * duplicate detection, a bit per line saying whether it was kept, and the
 * running batch hash.  The second (bulk_stream_each) hands out the kept
 * jobs, normalised and with their ids, in input order.  Both passes see the
 * same bytes, so they decide the same.
 *
 * Memory: about 32 bytes a job at most (the digest table, sized for three
 * quarters full) plus a few megabytes of mapping, whatever the input. */
#ifndef ONESHEET_BULK_STREAM_H
#define ONESHEET_BULK_STREAM_H

#include "base/err.h"
#include "jobs/bulk_sink.h"
#include "jobs/job.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Messages kept by the scan (the CLI shows as many). */
#define BULK_STREAM_ERRORS_KEPT 200

/* What the scan found.  Owned by the stream. */
typedef struct {
    size_t nitems;        /* jobs kept: valid, duplicates folded */
    size_t nerrors;       /* invalid entries (all of them) */
    size_t nduplicates;   /* identical specs without ids folded */
    bulk_error_t *errors; /* the first nshown of them, in line order */
    size_t nshown;
    char batch_id[JOB_ID_MAX + 1]; /* as bulk_assign_ids() computes it */
} bulk_summary_t;

/* Judges one valid, normalised entry the jobs layer cannot (the CLI checks
 * its model).  ERR_INVALID makes the entry invalid, err's message (starting
 * with the field, "model: ...") becoming its error; ERR_NOMEM stops the
 * scan; ERR_OK keeps it. */
typedef err_code_t (*bulk_check_fn)(void *ud, const job_spec_t *spec, err_t *err);

/* Gets each kept job (borrowed for the call).  Anything but ERR_OK stops
 * bulk_stream_each, which returns it. */
typedef err_code_t (*bulk_item_fn)(void *ud, const bulk_item_t *it, err_t *err);

typedef struct bulk_stream bulk_stream_t;

/* Copies in (read to its end; not closed) to a temporary file in dir (NULL:
 * $TMPDIR, else /tmp) and maps it.  name (a path, "-" for stdin) is used in
 * messages and for BULK_AUTO; fmt and d (borrowed, with its strings, until
 * bulk_stream_close) are as bulk_parse()'s.  Returns ERR_OK with *out
 * (bulk_stream_close it), or with err set: ERR_TOOBIG when the input is
 * longer than max_bytes, ERR_IO when it cannot be read ("cannot read:
 * REASON") or copied ("cannot spool the input to DIR: REASON"), ERR_NOMEM. */
err_code_t bulk_stream_open(FILE *in, const char *name, bulk_format_t fmt,
                            const job_defaults_t *d, long long max_bytes,
                            const char *dir, bulk_stream_t **out, err_t *err);

/* The first pass: validates every entry (check, may be NULL, judging the
 * valid ones that are not duplicates), folds duplicates as bulk_parse()
 * does, and computes the batch id.  An input with neither a job nor an
 * error gets the error "NAME: no prompts found".  *sum (borrowed from s)
 * says what was found; invalid entries are not a failure here.  Returns
 * ERR_OK, or ERR_NOMEM with err set. */
err_code_t bulk_stream_scan(bulk_stream_t *s, bulk_check_fn check, void *ud,
                            const bulk_summary_t **sum, err_t *err);

/* The second pass, after a scan: calls fn with each kept job in input
 * order, its spec normalised and its job_id set from the batch id.
 * Returns ERR_OK, fn's error, or ERR_NOMEM, with err set. */
err_code_t bulk_stream_each(bulk_stream_t *s, bulk_item_fn fn, void *ud, err_t *err);

/* The spooled input from its start, as a new stream of its own (fclose
 * it; s stays usable), for a caller that must read it whole after all.
 * NULL with errno set when the descriptor cannot be duplicated. */
FILE *bulk_stream_reopen(bulk_stream_t *s);

/* Unmaps and closes the temporary file (which is gone already).  NULL is
 * allowed. */
void bulk_stream_close(bulk_stream_t *s);

#endif
