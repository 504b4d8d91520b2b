/* sigv4 — the signing stages and the one-call signers (see sigv4.h).  The
 * canonical request lives in sigv4_canon.c, HMAC and the key cache in
 * sigv4_key.c, URL helpers in sigv4_url.c, server-side checks in
 * sigv4_verify.c. */
#include "aws/sigv4_internal.h"

#include <openssl/crypto.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Time ---- */

void sigv4_format_time(time_t t, char amz_date[17], char date[9])
{
    struct tm tm;
    char buf[17];
    gmtime_r(&t, &tm);
    strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    if (amz_date)
        memcpy(amz_date, buf, 17);
    if (date) {
        memcpy(date, buf, 8);
        date[8] = '\0';
    }
}

bool sigv4_parse_amz_date(const char *s, time_t *out)
{
    struct tm tm = {0};
    int v[6];
    static const int at[6] = {0, 4, 6, 9, 11, 13}, len[6] = {4, 2, 2, 2, 2, 2};

    if (!s || strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z')
        return false;
    for (int i = 0; i < 6; i++) {
        v[i] = 0;
        for (int j = 0; j < len[i]; j++) {
            char c = s[at[i] + j];
            if (c < '0' || c > '9')
                return false;
            v[i] = v[i] * 10 + (c - '0');
        }
    }
    if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 ||
        v[4] > 59 || v[5] > 60)
        return false;
    tm.tm_year = v[0] - 1900;
    tm.tm_mon = v[1] - 1;
    tm.tm_mday = v[2];
    tm.tm_hour = v[3];
    tm.tm_min = v[4];
    tm.tm_sec = v[5];
    *out = timegm(&tm);
    return true;
}

/* ---- Parameters and results ---- */

void sigv4_params_init(sigv4_params_t *p, const char *service,
                       const char *region, time_t now)
{
    bool s3 = service && strcmp(service, "s3") == 0;
    memset(p, 0, sizeof *p);
    p->service = service;
    p->region = region;
    p->now = now;
    p->normalize_path = !s3;
    p->double_encode = !s3;
    p->content_sha256_header = s3;
    p->unsigned_payload_presign = s3;
    p->expires = 3600;
}

void sigv4_result_init(sigv4_result_t *r)
{
    memset(r, 0, sizeof *r);
}

void sigv4_result_free(sigv4_result_t *r)
{
    if (!r)
        return;
    free(r->scope);
    free(r->signed_headers);
    buf_free(&r->canonical_request);
    buf_free(&r->string_to_sign);
    free(r->authorization);
    free(r->query);
    free(r->url);
    free(r->p_base);
    free(r->p_path);
    free(r->p_query);
    free(r->p_token);
    free(r->p_sha_header);
    sigv4_result_init(r);
}

/* ---- The stages ---- */

static err_code_t nomem(err_t *err)
{
    return err_set(err, ERR_NOMEM, "out of memory");
}

static char *join3(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *s = malloc(la + lb + lc + 1);
    if (s) {
        memcpy(s, a, la);
        memcpy(s + la, b, lb);
        memcpy(s + la + lb, c, lc + 1);
    }
    return s;
}

static err_code_t check_credentials(const sigv4_credentials_t *c, err_t *err)
{
    if (!c || !c->access_key_id || !*c->access_key_id)
        return err_set(err, ERR_INVALID, "access key id is empty");
    for (const char *k = c->access_key_id; *k; k++)
        if (!((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') ||
              (*k >= '0' && *k <= '9') || *k == '_' || *k == '-'))
            return err_set(err, ERR_INVALID,
                           "access key id has characters other than letters, "
                           "digits, '_' and '-'");
    if (!c->secret_access_key || !*c->secret_access_key)
        return err_set(err, ERR_INVALID, "secret access key is empty");
    return ERR_OK;
}

/* The payload hash: given, else the caller's x-amz-content-sha256 header,
 * else UNSIGNED-PAYLOAD for an S3 presign, else SHA-256 of the body. */
static err_code_t pick_payload_hash(const sigv4_request_t *req,
                                    const sigv4_params_t *p, sigv4_mode_t mode,
                                    sigv4_result_t *r, err_t *err)
{
    const char *hdr = sigv4_find_header(req->headers, req->nheaders,
                                        "x-amz-content-sha256");
    const char *h = req->payload_hash ? req->payload_hash : hdr;

    if (req->payload_hash && hdr && strcmp(req->payload_hash, hdr) != 0)
        return err_set(err, ERR_INVALID, "x-amz-content-sha256 header "
                                         "disagrees with the payload hash");
    if (h) {
        if (strcmp(h, SIGV4_UNSIGNED_PAYLOAD) != 0 && !sigv4_is_hex64(h))
            return err_set(err, ERR_INVALID,
                           "payload hash must be 64 lower-case hex digits or "
                           SIGV4_UNSIGNED_PAYLOAD);
        snprintf(r->payload_hash, sizeof r->payload_hash, "%s", h);
    } else if (mode == SIGV4_MODE_QUERY && p->unsigned_payload_presign) {
        snprintf(r->payload_hash, sizeof r->payload_hash, "%s",
                 SIGV4_UNSIGNED_PAYLOAD);
    } else if (sigv4_sha256_hex(req->body ? req->body : "",
                                req->body ? req->body_len : 0,
                                r->payload_hash) != ERR_OK) {
        return err_set(err, ERR_INTERNAL, "SHA-256 failed");
    }
    if (mode == SIGV4_MODE_HEADERS && p->content_sha256_header && !hdr &&
        !(r->p_sha_header = strdup(r->payload_hash)))
        return nomem(err);
    return ERR_OK;
}

err_code_t sigv4_canonical_request(const sigv4_request_t *req,
                                   const sigv4_params_t *p,
                                   const sigv4_credentials_t *c,
                                   sigv4_mode_t mode, sigv4_result_t *r,
                                   err_t *err)
{
    sigv4_url_t u;
    const char *authority = NULL;
    err_code_t rc;

    sigv4_result_free(r);
    r->mode = mode;
    if (!req || !p)
        return err_set(err, ERR_INVALID, "no request to sign");
    if ((rc = sigv4_check_name("service", p->service, err)) != ERR_OK ||
        (rc = sigv4_check_name("region", p->region, err)) != ERR_OK ||
        (rc = check_credentials(c, err)) != ERR_OK)
        return rc;
    if (mode == SIGV4_MODE_QUERY &&
        (p->expires <= 0 || p->expires > SIGV4_MAX_EXPIRES))
        return err_set(err, ERR_INVALID,
                       "presign expiry %ld s is outside 1..%ld", p->expires,
                       SIGV4_MAX_EXPIRES);
    if (req->url) {
        rc = sigv4_url_parse(req->url, &u, err);
        if (rc == ERR_OK) {
            r->p_base = join3(u.scheme, "://", u.authority);
            r->p_path = strdup(u.path);
            r->p_query = strdup(u.query);
            authority = r->p_base ? r->p_base + strlen(u.scheme) + 3 : NULL;
        }
        sigv4_url_free(&u);
        if (rc != ERR_OK)
            return rc;
    } else if (req->path && *req->path) {
        r->p_path = strdup(req->path);
        r->p_query = strdup(req->query ? req->query : "");
    } else {
        return err_set(err, ERR_INVALID, "request has neither a URL nor a "
                                         "path");
    }
    if (!r->p_path || !r->p_query || (req->url && !r->p_base))
        return nomem(err);
    if (c->session_token && *c->session_token &&
        !(r->p_token = strdup(c->session_token)))
        return nomem(err);

    sigv4_format_time(p->now, r->amz_date, r->date);
    r->scope = malloc(strlen(p->region) + strlen(p->service) + 32);
    if (!r->scope)
        return nomem(err);
    snprintf(r->scope, strlen(p->region) + strlen(p->service) + 32,
             "%s/%s/%s/aws4_request", r->date, p->region, p->service);
    if ((rc = pick_payload_hash(req, p, mode, r, err)) != ERR_OK)
        return rc;

    sigv4_canon_spec_t s = {
        .method = req->method,
        .authority = authority,
        .path = r->p_path,
        .query = r->p_query,
        .headers = req->headers,
        .nheaders = req->nheaders,
        .payload_hash = r->payload_hash,
        .normalize = p->normalize_path,
        .double_encode = p->double_encode,
    };
    bool sign_token = r->p_token && !p->omit_session_token;
    http_header_t extra[3];
    const char *xq[10];
    char expires[24], *credential = join3(c->access_key_id, "/", r->scope);
    if (!credential)
        return nomem(err);
    if (mode == SIGV4_MODE_HEADERS) {
        size_t n = 0;
        extra[n++] = (http_header_t){"x-amz-date", r->amz_date};
        if (sign_token)
            extra[n++] = (http_header_t){"x-amz-security-token", r->p_token};
        if (r->p_sha_header)
            extra[n++] = (http_header_t){"x-amz-content-sha256",
                                         r->p_sha_header};
        s.extra = extra;
        s.nextra = n;
    } else {
        size_t n = 0;
        snprintf(expires, sizeof expires, "%ld", p->expires);
        xq[n++] = "X-Amz-Algorithm";
        xq[n++] = SIGV4_ALGORITHM;
        xq[n++] = "X-Amz-Credential";
        xq[n++] = credential;
        xq[n++] = "X-Amz-Date";
        xq[n++] = r->amz_date;
        xq[n++] = "X-Amz-Expires";
        xq[n++] = expires;
        if (sign_token) {
            xq[n++] = "X-Amz-Security-Token";
            xq[n++] = r->p_token;
        }
        s.xq = xq;
        s.nxq = n;
        s.add_signed_headers_param = true;
    }
    rc = sigv4_canon_build(&s, &r->canonical_request, &r->signed_headers, err);
    free(credential);
    return rc;
}

err_code_t sigv4_string_to_sign(sigv4_result_t *r, err_t *err)
{
    char hex[SHA256_HEX_LEN];
    if (!r->scope)
        return err_set(err, ERR_INVALID, "no canonical request to sign");
    if (sigv4_sha256_hex(r->canonical_request.data
                             ? r->canonical_request.data : (uint8_t *)"",
                         r->canonical_request.len, hex) != ERR_OK)
        return err_set(err, ERR_INTERNAL, "SHA-256 failed");
    buf_reset(&r->string_to_sign);
    /* Plain appends: printf-style formatting showed up in profiles. */
    if (buf_append_str(&r->string_to_sign, SIGV4_ALGORITHM "\n") ||
        buf_append_str(&r->string_to_sign, r->amz_date) ||
        buf_append(&r->string_to_sign, "\n", 1) ||
        buf_append_str(&r->string_to_sign, r->scope) ||
        buf_append(&r->string_to_sign, "\n", 1) ||
        buf_append(&r->string_to_sign, hex, SHA256_HEX_LEN - 1))
        return nomem(err);
    return ERR_OK;
}

err_code_t sigv4_signature(sigv4_result_t *r, const sigv4_params_t *p,
                           const sigv4_credentials_t *c, err_t *err)
{
    uint8_t key[SHA256_LEN], sig[SHA256_LEN];
    err_code_t rc;

    if (!r->string_to_sign.len)
        return err_set(err, ERR_INVALID, "no string to sign");
    if ((rc = check_credentials(c, err)) != ERR_OK)
        return rc;
    rc = sigv4_derive_key(c->secret_access_key, r->date, p->region,
                          p->service, key, err);
    if (rc == ERR_OK &&
        sigv4_hmac(key, SHA256_LEN, r->string_to_sign.data,
                   r->string_to_sign.len, sig) != ERR_OK)
        rc = err_set(err, ERR_INTERNAL, "HMAC-SHA256 failed");
    if (rc == ERR_OK)
        hex_encode(sig, SHA256_LEN, r->signature);
    OPENSSL_cleanse(key, sizeof key);
    return rc;
}

static err_code_t finish_query(sigv4_result_t *r, const sigv4_credentials_t *c,
                               const sigv4_params_t *p, err_t *err)
{
    buf_t q = BUF_INIT, url = BUF_INIT;
    char *credential = join3(c->access_key_id, "/", r->scope);
    char expires[24];
    err_code_t rc = ERR_OK;

    snprintf(expires, sizeof expires, "%ld", p->expires);
    if (!credential ||
        (*r->p_query && (buf_append_str(&q, r->p_query) ||
                         buf_append(&q, "&", 1))) ||
        buf_append_str(&q, "X-Amz-Algorithm=" SIGV4_ALGORITHM
                           "&X-Amz-Credential=") ||
        sigv4_uri_encode(credential, strlen(credential), false, &q) ||
        buf_append_str(&q, "&X-Amz-Date=") ||
        buf_append_str(&q, r->amz_date) ||
        buf_append_str(&q, "&X-Amz-SignedHeaders=") ||
        sigv4_uri_encode(r->signed_headers, strlen(r->signed_headers), false,
                         &q) ||
        buf_append_str(&q, "&X-Amz-Expires=") || buf_append_str(&q, expires) ||
        (r->p_token &&
         (buf_append_str(&q, "&X-Amz-Security-Token=") ||
          sigv4_uri_encode(r->p_token, strlen(r->p_token), false, &q))) ||
        buf_append_str(&q, "&X-Amz-Signature=") ||
        buf_append(&q, r->signature, 64) ||
        buf_append_str(&url, r->p_base ? r->p_base : "") ||
        buf_append_str(&url, r->p_path) || buf_append(&url, "?", 1) ||
        buf_append(&url, q.data, q.len))
        rc = nomem(err);
    free(credential);
    if (rc == ERR_OK) {
        r->query = buf_steal(&q);
        r->url = buf_steal(&url);
        if (!r->query || !r->url)
            rc = nomem(err);
    }
    buf_free(&q);
    buf_free(&url);
    return rc;
}

err_code_t sigv4_finish(sigv4_result_t *r, const sigv4_params_t *p,
                        const sigv4_credentials_t *c, err_t *err)
{
    if (!r->signature[0])
        return err_set(err, ERR_INVALID, "request not signed yet");
    if (r->mode == SIGV4_MODE_QUERY)
        return finish_query(r, c, p, err);

    buf_t a = BUF_INIT;
    if (buf_append_str(&a, SIGV4_ALGORITHM " Credential=") ||
        buf_append_str(&a, c->access_key_id) || buf_append(&a, "/", 1) ||
        buf_append_str(&a, r->scope) ||
        buf_append_str(&a, ", SignedHeaders=") ||
        buf_append_str(&a, r->signed_headers) ||
        buf_append_str(&a, ", Signature=") ||
        buf_append(&a, r->signature, 64) ||
        !(r->authorization = buf_steal(&a))) {
        buf_free(&a);
        return nomem(err);
    }
    size_t n = 0;
    r->headers[n++] = (http_header_t){"X-Amz-Date", r->amz_date};
    if (r->p_token)
        r->headers[n++] = (http_header_t){"X-Amz-Security-Token", r->p_token};
    if (r->p_sha_header)
        r->headers[n++] = (http_header_t){"X-Amz-Content-SHA256",
                                          r->p_sha_header};
    r->headers[n++] = (http_header_t){"Authorization", r->authorization};
    r->nheaders = n;
    return ERR_OK;
}

static err_code_t sign_all(const sigv4_request_t *req, const sigv4_params_t *p,
                           const sigv4_credentials_t *c, sigv4_mode_t mode,
                           sigv4_result_t *r, err_t *err)
{
    err_code_t rc = sigv4_canonical_request(req, p, c, mode, r, err);
    if (rc == ERR_OK)
        rc = sigv4_string_to_sign(r, err);
    if (rc == ERR_OK)
        rc = sigv4_signature(r, p, c, err);
    if (rc == ERR_OK)
        rc = sigv4_finish(r, p, c, err);
    return rc;
}

err_code_t sigv4_sign_headers(const sigv4_request_t *req,
                              const sigv4_params_t *p,
                              const sigv4_credentials_t *c,
                              sigv4_result_t *r, err_t *err)
{
    return sign_all(req, p, c, SIGV4_MODE_HEADERS, r, err);
}

err_code_t sigv4_presign(const sigv4_request_t *req, const sigv4_params_t *p,
                         const sigv4_credentials_t *c, sigv4_result_t *r,
                         err_t *err)
{
    return sign_all(req, p, c, SIGV4_MODE_QUERY, r, err);
}
