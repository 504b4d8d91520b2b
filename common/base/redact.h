/* redact — keeps secrets out of every message and log line.
 *
 * Credential providers register the secret access key and session token they
 * load; err_set() and the logger pass all text through redact_inplace(),
 * which replaces registered secrets and the values of presigned-URL query
 * parameters (X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token) and
 * Authorization "Signature=" values with "[redacted]". */
#ifndef ONESHEET_REDACT_H
#define ONESHEET_REDACT_H

#include <stddef.h>

/* Registers a secret (copied) so it is scrubbed from all later messages.
 * Secrets shorter than 8 bytes are ignored (they would redact ordinary
 * words).  Thread-safe.  At most 64 secrets are kept (oldest dropped). */
void redact_add_secret(const char *secret);

/* Forgets every registered secret (tests). */
void redact_reset(void);

/* Scrubs s (NUL-terminated, in a buffer of cap bytes) in place. */
void redact_inplace(char *s, size_t cap);

#endif
