/* utf8 — strict UTF-8 checks and the text rules every spec field shares.
 *
 * Prompts travel through JSON, SQS, DynamoDB and the Bedrock API; each of
 * those rejects or mangles bad text in its own way, so we refuse it once, at
 * the edge, with a message that names the field. */
#ifndef ONESHEET_UTF8_H
#define ONESHEET_UTF8_H

#include "base/buf.h"
#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>

/* Returns true when s[0..len) is strict UTF-8: shortest-form sequences only,
 * no surrogates (U+D800..U+DFFF), nothing above U+10FFFF.  NUL bytes are
 * valid UTF-8 here (callers that care check them first).  On success *ncp
 * (when non-NULL) gets the length in code points; on failure *bad (when
 * non-NULL) gets the byte offset of the first bad sequence. */
bool utf8_valid(const char *s, size_t len, size_t *ncp, size_t *bad);

/* Checks the text of a spec field: no NUL bytes, valid UTF-8, no control
 * characters other than "\n" and "\t" (C0, DEL and C1 are refused), and at
 * most max_cp code points.  On failure returns ERR_INVALID with a message
 * starting with `field` ("prompt: invalid UTF-8 at byte 7"). */
err_code_t utf8_check_text(const char *field, const char *s, size_t len,
                           size_t max_cp, err_t *err);

/* True for the ASCII whitespace that trimming removes (space, \t \n \v \f \r). */
bool utf8_is_space(char c);

/* Trims ASCII whitespace from both ends of s[0..len) in place (moving the
 * text to the front and NUL-terminating it when s has room for len + 1
 * bytes); returns the new length. */
size_t utf8_trim(char *s, size_t len);

/* Appends s[0..len) to out as a JSON string literal with quotes.  Escapes
 * '"', '\\' and every byte below 0x20 (as \n, \t, or \u00XX) and copies
 * everything else verbatim, so the output is deterministic for hashing.
 * Returns ERR_NOMEM on allocation failure. */
err_code_t utf8_append_json_string(buf_t *out, const char *s, size_t len);

#endif
