/* crypto — SHA-256 and HMAC-SHA256 over OpenSSL 3 EVP (no deprecated APIs). */
#ifndef ONESHEET_CRYPTO_H
#define ONESHEET_CRYPTO_H

#include "base/err.h"

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_HEX_LEN 65

/* One-shot SHA-256 of data[0..len) into out. */
err_code_t crypto_sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);
/* One-shot SHA-256 as 64 lower-case hex digits + NUL. */
err_code_t crypto_sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN]);

/* Incremental SHA-256.  crypto_sha256_new() returns NULL on failure;
 * crypto_sha256_final() writes the digest and frees the context. */
typedef struct crypto_sha256_ctx crypto_sha256_ctx;
crypto_sha256_ctx *crypto_sha256_new(void);
err_code_t crypto_sha256_update(crypto_sha256_ctx *c, const void *data, size_t len);
err_code_t crypto_sha256_final(crypto_sha256_ctx *c, uint8_t out[SHA256_LEN]);
void crypto_sha256_free(crypto_sha256_ctx *c);
/* A copy of c's state (to finish two digests that share a prefix); NULL on
 * failure.  Finish or free both. */
crypto_sha256_ctx *crypto_sha256_dup(const crypto_sha256_ctx *c);

/* HMAC-SHA256(key, data) into out. */
err_code_t crypto_hmac_sha256(const void *key, size_t klen, const void *data,
                              size_t dlen, uint8_t out[SHA256_LEN]);

/* Constant-time comparison; returns 1 when equal. */
int crypto_equal(const void *a, const void *b, size_t len);

/* Fills out with len cryptographically random bytes. */
err_code_t crypto_random(void *out, size_t len);

#endif
