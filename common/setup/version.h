/* version — what `--version` says on all three binaries: onesheet's
 * version, the git commit it was built from, and (verbose) the versions of
 * the libraries it runs with, as linked at run time. */
#ifndef ONESHEET_VERSION_H
#define ONESHEET_VERSION_H

#include <stdbool.h>
#include <stddef.h>

/* Writes "PROG VERSION (commit C)" into out (cap bytes, cut when short)
 * and, with libs, one "  NAME VERSION" line after it per library (libcurl,
 * OpenSSL, jansson, SQLite, cairo, pango; extra, when not NULL, is appended
 * as one more line, e.g. libmicrohttpd's for onesheet-api).  No trailing
 * newline.  Returns out; cannot fail. */
const char *version_text(char *out, size_t cap, const char *prog, bool libs,
                         const char *extra);

/* The commit the build recorded ("unknown" outside a git checkout).  A
 * program that calls this or version_text links the build's generated
 * commit object (the Makefile's prog rule does). */
const char *version_commit(void);

#endif
