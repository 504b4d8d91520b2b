/* sigv4_internal — shared by sigv4.c, sigv4_canon.c and sigv4_verify.c;
 * not part of the public interface. */
#ifndef ONESHEET_SIGV4_INTERNAL_H
#define ONESHEET_SIGV4_INTERNAL_H

#include "aws/sigv4.h"

/* What goes into one canonical request. */
typedef struct {
    const char *method;
    const char *authority;          /* Host when no Host header; may be NULL */
    const char *path;               /* wire form */
    const char *query;              /* wire form, "" when none */
    const http_header_t *headers;
    size_t nheaders;
    const char *only;               /* verify: the ';'-list of signed header
                                       names; NULL: every header but the
                                       transport ones */
    const http_header_t *extra;     /* headers the signer adds (names
                                       lower-case); they replace same-named
                                       request headers */
    size_t nextra;
    const char *const *xq;          /* query mode: raw key/value pairs added
                                       to the canonical query */
    size_t nxq;
    bool add_signed_headers_param;  /* query mode: X-Amz-SignedHeaders */
    const char *skip_query[2];      /* keys left out (verify) */
    const char *payload_hash;
    bool normalize;
    bool double_encode;
} sigv4_canon_spec_t;

/* Builds the canonical request into out and the signed-header list into
 * *signed_headers (new string, caller frees).  ERR_INVALID with a message
 * for a bad method, header, percent-encoding or a missing Host. */
err_code_t sigv4_canon_build(const sigv4_canon_spec_t *s, buf_t *out,
                             char **signed_headers, err_t *err);

/* Case-insensitive header lookup in h[0..n); NULL when absent. */
const char *sigv4_find_header(const http_header_t *h, size_t n,
                              const char *name);

/* SHA-256 of data[0..len) as 64 hex digits + NUL, through a digest fetched
 * once (sigv4_key.c). */
err_code_t sigv4_sha256_hex(const void *data, size_t len,
                            char out[SHA256_HEX_LEN]);

/* True for 64 lower-case hex digits. */
bool sigv4_is_hex64(const char *s);

/* Checks region/service look like AWS names (non-empty, [a-z0-9-], < 64). */
err_code_t sigv4_check_name(const char *what, const char *v, err_t *err);

#endif
