/* crypto — see crypto.h. */
#include "base/crypto.h"
#include "base/buf.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

struct crypto_sha256_ctx {
    EVP_MD_CTX *md;
};

err_code_t crypto_sha256(const void *data, size_t len, uint8_t out[SHA256_LEN])
{
    unsigned int olen = 0;
    if (EVP_Digest(data, len, out, &olen, EVP_sha256(), NULL) != 1 ||
        olen != SHA256_LEN)
        return ERR_INTERNAL;
    return ERR_OK;
}

err_code_t crypto_sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN])
{
    uint8_t d[SHA256_LEN];
    err_code_t rc = crypto_sha256(data, len, d);
    if (rc == ERR_OK)
        hex_encode(d, SHA256_LEN, out);
    return rc;
}

crypto_sha256_ctx *crypto_sha256_new(void)
{
    crypto_sha256_ctx *c = OPENSSL_zalloc(sizeof *c);
    if (!c)
        return NULL;
    c->md = EVP_MD_CTX_new();
    if (!c->md || EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1) {
        crypto_sha256_free(c);
        return NULL;
    }
    return c;
}

err_code_t crypto_sha256_update(crypto_sha256_ctx *c, const void *data, size_t len)
{
    return EVP_DigestUpdate(c->md, data, len) == 1 ? ERR_OK : ERR_INTERNAL;
}

err_code_t crypto_sha256_final(crypto_sha256_ctx *c, uint8_t out[SHA256_LEN])
{
    unsigned int olen = 0;
    int ok = EVP_DigestFinal_ex(c->md, out, &olen) == 1 && olen == SHA256_LEN;
    crypto_sha256_free(c);
    return ok ? ERR_OK : ERR_INTERNAL;
}

crypto_sha256_ctx *crypto_sha256_dup(const crypto_sha256_ctx *c)
{
    crypto_sha256_ctx *d;
    if (!c || !(d = OPENSSL_zalloc(sizeof *d)))
        return NULL;
    if (!(d->md = EVP_MD_CTX_new()) || EVP_MD_CTX_copy_ex(d->md, c->md) != 1) {
        crypto_sha256_free(d);
        return NULL;
    }
    return d;
}

void crypto_sha256_free(crypto_sha256_ctx *c)
{
    if (!c)
        return;
    EVP_MD_CTX_free(c->md);
    OPENSSL_free(c);
}

err_code_t crypto_hmac_sha256(const void *key, size_t klen, const void *data,
                              size_t dlen, uint8_t out[SHA256_LEN])
{
    unsigned int olen = 0;
    /* HMAC() is the one-shot EVP-based helper; not deprecated in OpenSSL 3. */
    if (!HMAC(EVP_sha256(), key, (int)klen, data, dlen, out, &olen) ||
        olen != SHA256_LEN)
        return ERR_INTERNAL;
    return ERR_OK;
}

int crypto_equal(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

err_code_t crypto_random(void *out, size_t len)
{
    return RAND_bytes(out, (int)len) == 1 ? ERR_OK : ERR_INTERNAL;
}
