/* sigv4_key — HMAC-SHA256 and SHA-256 over explicitly fetched OpenSSL 3
 * algorithms, and the derived-signing-key cache (see sigv4.h). */
#include "aws/sigv4_internal.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- HMAC through one fetched EVP_MAC and a context per thread ---- */

static EVP_MAC *g_mac;
static EVP_MD *g_sha256;
static pthread_key_t g_mac_key;
static pthread_once_t g_mac_once = PTHREAD_ONCE_INIT;

static void mac_ctx_free(void *p)
{
    EVP_MAC_CTX_free(p);
}

static void mac_setup(void)
{
    /* Explicit fetches once: the implicit ones in EVP_sha256()/HMAC() cost
     * a lookup on every call in OpenSSL 3. */
    g_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    g_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (pthread_key_create(&g_mac_key, mac_ctx_free) != 0) {
        EVP_MAC_free(g_mac);
        g_mac = NULL;
    }
}

err_code_t sigv4_hmac(const void *key, size_t klen, const void *data,
                      size_t dlen, uint8_t out[SHA256_LEN])
{
    size_t olen = 0;
    EVP_MAC_CTX *ctx;

    pthread_once(&g_mac_once, mac_setup);
    if (!g_mac)
        return crypto_hmac_sha256(key, klen, data, dlen, out);
    ctx = pthread_getspecific(g_mac_key);
    if (!ctx) {
        char digest[] = "SHA256";
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
            OSSL_PARAM_construct_end(),
        };
        ctx = EVP_MAC_CTX_new(g_mac);
        if (!ctx)
            return ERR_NOMEM;
        if (EVP_MAC_CTX_set_params(ctx, params) != 1 ||
            pthread_setspecific(g_mac_key, ctx) != 0) {
            EVP_MAC_CTX_free(ctx);
            return ERR_INTERNAL;
        }
    }
    /* Re-initialising with a new key keeps the digest set above. */
    if (EVP_MAC_init(ctx, key, klen, NULL) != 1 ||
        EVP_MAC_update(ctx, data, dlen) != 1 ||
        EVP_MAC_final(ctx, out, &olen, SHA256_LEN) != 1 || olen != SHA256_LEN)
        return ERR_INTERNAL;
    return ERR_OK;
}

/* SHA-256 as hex through the fetched digest. */
err_code_t sigv4_sha256_hex(const void *data, size_t len,
                             char out[SHA256_HEX_LEN])
{
    uint8_t d[SHA256_LEN];
    unsigned int olen = 0;
    pthread_once(&g_mac_once, mac_setup);
    if (!g_sha256)
        return crypto_sha256_hex(data, len, out);
    if (EVP_Digest(data, len, d, &olen, g_sha256, NULL) != 1 ||
        olen != SHA256_LEN)
        return ERR_INTERNAL;
    hex_encode(d, SHA256_LEN, out);
    return ERR_OK;
}

/* ---- Derived-key cache ---- */

#define KEY_CACHE_SIZE 16

typedef struct {
    bool used;
    uint8_t secret_hash[SHA256_LEN];  /* never the secret itself */
    char date[9];
    char region[64];
    char service[64];
    uint8_t key[SHA256_LEN];
    unsigned long tick;
} key_entry_t;

static pthread_mutex_t g_cache_mu = PTHREAD_MUTEX_INITIALIZER;
static key_entry_t g_cache[KEY_CACHE_SIZE];
static unsigned long g_tick, g_hits, g_misses;

static err_code_t derive(const char *secret, const char *date,
                         const char *region, const char *service,
                         uint8_t key[SHA256_LEN])
{
    size_t slen = strlen(secret);
    char *k0 = malloc(slen + 5);
    uint8_t a[SHA256_LEN], b[SHA256_LEN];
    err_code_t rc;

    if (!k0)
        return ERR_NOMEM;
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, secret, slen + 1);
    rc = sigv4_hmac(k0, slen + 4, date, strlen(date), a);
    OPENSSL_cleanse(k0, slen + 4);
    free(k0);
    if (rc == ERR_OK)
        rc = sigv4_hmac(a, SHA256_LEN, region, strlen(region), b);
    if (rc == ERR_OK)
        rc = sigv4_hmac(b, SHA256_LEN, service, strlen(service), a);
    if (rc == ERR_OK)
        rc = sigv4_hmac(a, SHA256_LEN, "aws4_request", 12, key);
    OPENSSL_cleanse(a, sizeof a);
    OPENSSL_cleanse(b, sizeof b);
    return rc;
}

err_code_t sigv4_derive_key(const char *secret, const char *date,
                            const char *region, const char *service,
                            uint8_t key[SHA256_LEN], err_t *err)
{
    uint8_t h[SHA256_LEN];
    key_entry_t *slot = NULL;
    err_code_t rc;

    if (!secret || !*secret)
        return err_set(err, ERR_INVALID, "secret access key is empty");
    if (!date || strlen(date) != 8)
        return err_set(err, ERR_INVALID, "signing date must be YYYYMMDD");
    if ((rc = sigv4_check_name("region", region, err)) != ERR_OK ||
        (rc = sigv4_check_name("service", service, err)) != ERR_OK)
        return rc;
    pthread_once(&g_mac_once, mac_setup);
    if (g_sha256 ? EVP_Digest(secret, strlen(secret), h, NULL, g_sha256,
                              NULL) != 1
                 : crypto_sha256(secret, strlen(secret), h) != ERR_OK)
        return err_set(err, ERR_INTERNAL, "SHA-256 failed");

    pthread_mutex_lock(&g_cache_mu);
    for (size_t i = 0; i < KEY_CACHE_SIZE; i++) {
        key_entry_t *e = &g_cache[i];
        if (!e->used || strcmp(e->region, region) != 0 ||
            strcmp(e->service, service) != 0 ||
            !crypto_equal(e->secret_hash, h, SHA256_LEN))
            continue;
        if (strcmp(e->date, date) == 0) {
            memcpy(key, e->key, SHA256_LEN);
            e->tick = ++g_tick;
            g_hits++;
            pthread_mutex_unlock(&g_cache_mu);
            return ERR_OK;
        }
        slot = e;   /* same identity, another day: replace it */
    }
    g_misses++;
    pthread_mutex_unlock(&g_cache_mu);

    /* Derive outside the lock; a racing thread may derive the same key. */
    if (derive(secret, date, region, service, key) != ERR_OK)
        return err_set(err, ERR_INTERNAL, "HMAC-SHA256 failed");

    pthread_mutex_lock(&g_cache_mu);
    if (slot && !(slot->used && strcmp(slot->region, region) == 0 &&
                  strcmp(slot->service, service) == 0 &&
                  crypto_equal(slot->secret_hash, h, SHA256_LEN)))
        slot = NULL;
    for (size_t i = 0; !slot && i < KEY_CACHE_SIZE; i++)
        if (!g_cache[i].used)
            slot = &g_cache[i];
    if (!slot) {
        slot = &g_cache[0];
        for (size_t i = 1; i < KEY_CACHE_SIZE; i++)
            if (g_cache[i].tick < slot->tick)
                slot = &g_cache[i];
    }
    slot->used = true;
    memcpy(slot->secret_hash, h, SHA256_LEN);
    memcpy(slot->date, date, 9);
    snprintf(slot->region, sizeof slot->region, "%s", region);
    snprintf(slot->service, sizeof slot->service, "%s", service);
    memcpy(slot->key, key, SHA256_LEN);
    slot->tick = ++g_tick;
    pthread_mutex_unlock(&g_cache_mu);
    return ERR_OK;
}

void sigv4_key_cache_clear(void)
{
    pthread_mutex_lock(&g_cache_mu);
    OPENSSL_cleanse(g_cache, sizeof g_cache);
    g_tick = g_hits = g_misses = 0;
    pthread_mutex_unlock(&g_cache_mu);
}

void sigv4_key_cache_stats(unsigned long *hits, unsigned long *misses)
{
    pthread_mutex_lock(&g_cache_mu);
    if (hits)
        *hits = g_hits;
    if (misses)
        *misses = g_misses;
    pthread_mutex_unlock(&g_cache_mu);
}
