/* backend — the one shape of a back-end table.  Each interface (queue,
 * ledger, store, engine) lists its back-ends as rows in one table, in its
 * own X_backends.c, and config checking, X_open and `onesheet init` all
 * read that table: adding a back-end is one row and one file.
 *
 * An interface's row type starts with a backend_row_t (so the helpers here
 * can walk any table) and adds its typed open function. */
#ifndef ONESHEET_BACKEND_H
#define ONESHEET_BACKEND_H

#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>

/* What provisioning may need from the configuration. */
typedef struct {
    int max_receives;        /* dead-letter after this many receives */
    int visibility_timeout;  /* seconds */
} backend_setup_t;

typedef struct {
    /* The row claims a value that starts with prefix (equals it when exact);
     * NULL claims any value no earlier row did (the table's last row). */
    const char *prefix;
    bool exact;
    /* How the value looks, for messages: "sqlite:PATH".  Rows may share one
     * (two URL schemes of one back-end); messages list each once. */
    const char *shape;
    /* Checks a value the row claims without opening anything (config
     * loading calls it): ERR_CONFIG with a message naming what is wrong,
     * e.g. "missing database path".  NULL: any non-empty rest after the
     * prefix is fine. */
    err_code_t (*validate)(const char *value, err_t *err);
    /* `onesheet init`: makes sure the resource exists (creating it when
     * missing) and writes one line saying what it found or did into line
     * (cap bytes).  NULL: nothing to create. */
    err_code_t (*provision)(const char *value, const backend_setup_t *setup, char *line,
                            size_t cap, err_t *err);
} backend_row_t;

/* The row of table (n rows of stride bytes, each starting with a
 * backend_row_t) that claims value, or NULL when none does (or value is
 * NULL or empty). */
const backend_row_t *backend_find(const void *table, size_t n, size_t stride,
                                  const char *value);

/* Writes the table's shapes as English into out (cap bytes), each once:
 * "sqlite:PATH, sqs:NAME or a queue URL".  Truncates silently. */
void backend_shapes(const void *table, size_t n, size_t stride, char *out, size_t cap);

/* Finds and validates value for the setting what ("queue"): the row, or
 * NULL with err set to ERR_CONFIG naming what, the table's shapes and
 * value ("queue: expected sqlite:PATH, sqs:NAME or an SQS queue URL, got
 * \"redis://x\""), or with the row's own complaint in its place. */
const backend_row_t *backend_check(const void *table, size_t n, size_t stride,
                                   const char *what, const char *value, err_t *err);

#endif
