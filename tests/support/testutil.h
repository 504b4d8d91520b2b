/* testutil — small helpers shared by the unit tests and test tools. */
#ifndef ONESHEET_TESTUTIL_H
#define ONESHEET_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>

/* Creates a fresh private directory under $TMPDIR; returns a new string the
 * caller frees (abort on failure). */
char *tu_mkdtemp(void);
/* Removes a directory tree (best effort). */
void tu_rmtree(const char *path);
/* Reads a whole file; returns a new NUL-terminated buffer (caller frees) and
 * its length in *len, or NULL when unreadable. */
char *tu_read_file(const char *path, size_t *len);
/* Writes text to path (abort on failure). */
void tu_write_file(const char *path, const char *text);
/* Returns "$FIXTURES/rel" (static buffer); FIXTURES defaults to
 * tests/fixtures relative to the working directory. */
const char *tu_fixture(const char *rel);
/* Seconds on the monotonic clock, for timing a step. */
double tu_mono_s(void);
/* Parses v as a whole decimal number in lo..hi into *out; false (and *out
 * untouched) for an empty string, trailing text or a value out of range.
 * For the test tools' command-line options. */
bool tu_parse_long(const char *v, long lo, long hi, long *out);

#endif
