/* sigv4_verify — the server side of SigV4, for the Bedrock stand-in and the
 * fault proxy: recompute a received request's signature and say why it is
 * refused (see sigv4.h). */
#include "aws/sigv4_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    sigv4_mode_t mode;
    char akid[129];
    char date[9];
    char region[64];
    char service[64];
    char amz_date[17];
    char signature[65];
    char *signed_headers;           /* owned */
    char *token;                    /* owned; NULL when none */
    long expires;
} parsed_t;

void sigv4_verify_info_init(sigv4_verify_info_t *info)
{
    memset(info, 0, sizeof *info);
    sigv4_result_init(&info->expected);
}

void sigv4_verify_info_free(sigv4_verify_info_t *info)
{
    if (!info)
        return;
    sigv4_result_free(&info->expected);
    sigv4_verify_info_init(info);
}

const char *sigv4_verify_reason_code(sigv4_verify_reason_t reason)
{
    switch (reason) {
    case SIGV4_VERIFY_OK: return "";
    case SIGV4_VERIFY_MISSING: return "MissingAuthenticationToken";
    case SIGV4_VERIFY_MALFORMED: return "IncompleteSignature";
    case SIGV4_VERIFY_UNKNOWN_KEY: return "InvalidClientTokenId";
    case SIGV4_VERIFY_BAD_TOKEN: return "InvalidClientTokenId";
    case SIGV4_VERIFY_BAD_SCOPE: return "SignatureDoesNotMatch";
    case SIGV4_VERIFY_SKEWED: return "RequestTimeTooSkewed";
    case SIGV4_VERIFY_EXPIRED: return "AccessDenied";
    case SIGV4_VERIFY_PAYLOAD_MISMATCH: return "XAmzContentSHA256Mismatch";
    case SIGV4_VERIFY_MISMATCH: return "SignatureDoesNotMatch";
    }
    return "SignatureDoesNotMatch";
}

static err_code_t refuse(sigv4_verify_info_t *info, sigv4_verify_reason_t why,
                         err_t *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static err_code_t refuse(sigv4_verify_info_t *info, sigv4_verify_reason_t why,
                         err_t *err, const char *fmt, ...)
{
    va_list ap;
    err_code_t code = why == SIGV4_VERIFY_SKEWED ? ERR_SKEW : ERR_AUTH;
    info->reason = why;
    va_start(ap, fmt);
    err_setv(err, code, fmt, ap);
    va_end(ap);
    if (err)
        snprintf(err->service_code, sizeof err->service_code, "%s",
                 sigv4_verify_reason_code(why));
    return code;
}

static bool in_signed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ";");
        if (len == n && strncmp(p, name, n) == 0)
            return true;
        p += len;
        if (*p == ';')
            p++;
    }
    return false;
}

/* The decoded value of query parameter name (new string), or NULL. */
static char *query_get(const char *q, const char *name)
{
    size_t nlen = strlen(name);
    for (const char *p = q; *p;) {
        size_t len = strcspn(p, "&");
        const char *eq = memchr(p, '=', len);
        if (eq && (size_t)(eq - p) == nlen && strncmp(p, name, nlen) == 0) {
            buf_t b = BUF_INIT;
            if (sigv4_uri_decode(eq + 1, len - nlen - 1, &b, NULL) != ERR_OK) {
                buf_free(&b);
                return NULL;
            }
            return buf_steal(&b);
        }
        p += len;
        if (*p == '&')
            p++;
    }
    return NULL;
}

/* Splits AKID/DATE/REGION/SERVICE/aws4_request into pp. */
static bool parse_credential(const char *s, size_t len, parsed_t *pp)
{
    char *parts[5] = {pp->akid, pp->date, pp->region, pp->service, NULL};
    size_t caps[5] = {sizeof pp->akid, sizeof pp->date, sizeof pp->region,
                      sizeof pp->service, 0};
    const char *end = s + len;
    for (int i = 0; i < 5; i++) {
        const char *e = memchr(s, '/', (size_t)(end - s));
        if (!e)
            e = end;
        size_t n = (size_t)(e - s);
        if (i == 4)
            return e == end && n == 12 && strncmp(s, "aws4_request", 12) == 0;
        if (n == 0 || n >= caps[i] || e == end)
            return false;
        memcpy(parts[i], s, n);
        parts[i][n] = '\0';
        s = e + 1;
    }
    return false;
}

static bool copy_sig(parsed_t *pp, const char *s, size_t len)
{
    if (len != 64)
        return false;
    memcpy(pp->signature, s, 64);
    pp->signature[64] = '\0';
    return sigv4_is_hex64(pp->signature);
}

/* "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..." */
static const char *parse_authorization(const char *a, parsed_t *pp)
{
    size_t alg = strlen(SIGV4_ALGORITHM);
    bool have_c = false, have_s = false;
    if (strncmp(a, SIGV4_ALGORITHM, alg) != 0 || a[alg] != ' ')
        return "Authorization is not " SIGV4_ALGORITHM;
    for (const char *p = a + alg; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ", ");
        if (!len)
            break;
        if (len > 11 && strncmp(p, "Credential=", 11) == 0) {
            if (!parse_credential(p + 11, len - 11, pp))
                return "Authorization has a malformed Credential";
            have_c = true;
        } else if (len > 14 && strncmp(p, "SignedHeaders=", 14) == 0) {
            free(pp->signed_headers);
            if (!(pp->signed_headers = strndup(p + 14, len - 14)))
                return "out of memory";
        } else if (len > 10 && strncmp(p, "Signature=", 10) == 0) {
            if (!copy_sig(pp, p + 10, len - 10))
                return "Authorization has a malformed Signature";
            have_s = true;
        } else {
            return "Authorization has an unknown component";
        }
        p += len;
    }
    if (!have_c || !have_s || !pp->signed_headers)
        return "Authorization lacks Credential, SignedHeaders or Signature";
    return NULL;
}

static const char *parse_presigned(const char *q, parsed_t *pp)
{
    char *alg = query_get(q, "X-Amz-Algorithm");
    char *cred = query_get(q, "X-Amz-Credential");
    char *date = query_get(q, "X-Amz-Date");
    char *exp = query_get(q, "X-Amz-Expires");
    char *sig = query_get(q, "X-Amz-Signature");
    const char *why = NULL;
    char *end = NULL;

    pp->signed_headers = query_get(q, "X-Amz-SignedHeaders");
    pp->token = query_get(q, "X-Amz-Security-Token");
    if (!alg || !cred || !date || !exp || !sig || !pp->signed_headers)
        why = "presigned URL lacks one of X-Amz-Algorithm, X-Amz-Credential, "
              "X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders, "
              "X-Amz-Signature";
    else if (strcmp(alg, SIGV4_ALGORITHM) != 0)
        why = "X-Amz-Algorithm is not " SIGV4_ALGORITHM;
    else if (!parse_credential(cred, strlen(cred), pp))
        why = "X-Amz-Credential is malformed";
    else if (!copy_sig(pp, sig, strlen(sig)))
        why = "X-Amz-Signature is malformed";
    else if (strlen(date) != 16)
        why = "X-Amz-Date is malformed";
    if (!why) {
        memcpy(pp->amz_date, date, 17);
        pp->expires = strtol(exp, &end, 10);
        if (!*exp || *end || pp->expires <= 0 ||
            pp->expires > SIGV4_MAX_EXPIRES)
            why = "X-Amz-Expires must be 1..604800 seconds";
    }
    free(alg);
    free(cred);
    free(date);
    free(exp);
    free(sig);
    return why;
}

static err_code_t recompute(const sigv4_request_t *req, const char *path,
                            const char *query, const char *authority,
                            const sigv4_credentials_t *c,
                            const sigv4_verify_opts_t *o, const parsed_t *pp,
                            const char *payload_hash, sigv4_verify_info_t *info,
                            err_t *err)
{
    sigv4_params_t p;
    sigv4_result_t *r = &info->expected;
    err_code_t rc;

    if (o->rules)
        p = *o->rules;
    else
        sigv4_params_init(&p, pp->service, pp->region, o->now);
    p.service = pp->service;
    p.region = pp->region;

    sigv4_canon_spec_t s = {
        .method = req->method,
        .authority = authority,
        .path = path,
        .query = query,
        .headers = req->headers,
        .nheaders = req->nheaders,
        .only = pp->signed_headers,
        .skip_query = {pp->mode == SIGV4_MODE_QUERY ? "X-Amz-Signature" : NULL,
                       pp->mode == SIGV4_MODE_QUERY && p.omit_session_token
                           ? "X-Amz-Security-Token" : NULL},
        .payload_hash = payload_hash,
        .normalize = p.normalize_path,
        .double_encode = p.double_encode,
    };
    sigv4_result_free(r);
    r->mode = pp->mode;
    memcpy(r->amz_date, pp->amz_date, sizeof r->amz_date);
    memcpy(r->date, pp->date, sizeof r->date);
    snprintf(r->payload_hash, sizeof r->payload_hash, "%s", payload_hash);
    if (!(r->scope = malloc(160)))
        return err_set(err, ERR_NOMEM, "out of memory");
    snprintf(r->scope, 160, "%s/%s/%s/aws4_request", pp->date, pp->region,
             pp->service);
    rc = sigv4_canon_build(&s, &r->canonical_request, &r->signed_headers, err);
    if (rc == ERR_INVALID) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err ? err->msg : "malformed request");
        return refuse(info, SIGV4_VERIFY_MALFORMED, err, "%s", msg);
    }
    if (rc == ERR_OK)
        rc = sigv4_string_to_sign(r, err);
    if (rc == ERR_OK)
        rc = sigv4_signature(r, &p, c, err);
    return rc;
}

static err_code_t check(const sigv4_request_t *req, const sigv4_credentials_t *c,
                        const sigv4_verify_opts_t *o, const char *path,
                        const char *query, const char *authority, parsed_t *pp,
                        sigv4_verify_info_t *info, err_t *err)
{
    const char *why = NULL, *auth =
        sigv4_find_header(req->headers, req->nheaders, "authorization");
    char *qsig = query_get(query, "X-Amz-Signature");
    long skew = o->max_skew > 0 ? o->max_skew : SIGV4_DEFAULT_SKEW;
    time_t t;

    if (auth) {
        const char *d = sigv4_find_header(req->headers, req->nheaders,
                                          "x-amz-date");
        const char *tok = sigv4_find_header(req->headers, req->nheaders,
                                            "x-amz-security-token");
        pp->mode = SIGV4_MODE_HEADERS;
        why = parse_authorization(auth, pp);
        if (!why && (!d || strlen(d) != 16))
            why = "X-Amz-Date header missing or malformed";
        if (!why)
            memcpy(pp->amz_date, d, 17);
        if (tok && !(pp->token = strdup(tok)))
            why = "out of memory";
    } else if (qsig) {
        pp->mode = SIGV4_MODE_QUERY;
        why = parse_presigned(query, pp);
    } else {
        return refuse(info, SIGV4_VERIFY_MISSING, err,
                      "request is not signed: no Authorization header or "
                      "X-Amz-Signature parameter");
    }
    free(qsig);
    info->mode = pp->mode;
    if (why)
        return refuse(info, SIGV4_VERIFY_MALFORMED, err, "%s", why);
    snprintf(info->access_key_id, sizeof info->access_key_id, "%s", pp->akid);
    snprintf(info->region, sizeof info->region, "%s", pp->region);
    snprintf(info->service, sizeof info->service, "%s", pp->service);
    memcpy(info->amz_date, pp->amz_date, sizeof info->amz_date);
    if (!sigv4_parse_amz_date(pp->amz_date, &t))
        return refuse(info, SIGV4_VERIFY_MALFORMED, err,
                      "X-Amz-Date '%s' is not YYYYMMDDTHHMMSSZ", pp->amz_date);
    if (!in_signed(pp->signed_headers, "host"))
        return refuse(info, SIGV4_VERIFY_MALFORMED, err,
                      "SignedHeaders must include host");
    if (strcmp(pp->akid, c->access_key_id) != 0)
        return refuse(info, SIGV4_VERIFY_UNKNOWN_KEY, err,
                      "unknown access key id '%s'", pp->akid);
    bool want_tok = c->session_token && *c->session_token;
    if (want_tok != (pp->token != NULL) ||
        (want_tok && (strlen(pp->token) != strlen(c->session_token) ||
                      !crypto_equal(pp->token, c->session_token,
                                    strlen(c->session_token)))))
        return refuse(info, SIGV4_VERIFY_BAD_TOKEN, err,
                      "the security token is %s", pp->token ? "invalid"
                                                            : "missing");
    if (strncmp(pp->date, pp->amz_date, 8) != 0)
        return refuse(info, SIGV4_VERIFY_BAD_SCOPE, err,
                      "credential date %s does not match X-Amz-Date %s",
                      pp->date, pp->amz_date);
    if ((o->region && strcmp(o->region, pp->region) != 0) ||
        (o->service && strcmp(o->service, pp->service) != 0))
        return refuse(info, SIGV4_VERIFY_BAD_SCOPE, err,
                      "credential should be scoped to %s/%s, not %s/%s",
                      o->region ? o->region : pp->region,
                      o->service ? o->service : pp->service, pp->region,
                      pp->service);
    if (pp->mode == SIGV4_MODE_HEADERS ? (t > o->now + skew ||
                                          t < o->now - skew)
                                       : t > o->now + skew)
        return refuse(info, SIGV4_VERIFY_SKEWED, err,
                      "request time %s is more than %ld s from the server "
                      "clock", pp->amz_date, skew);
    if (pp->mode == SIGV4_MODE_QUERY && o->now > t + pp->expires)
        return refuse(info, SIGV4_VERIFY_EXPIRED, err,
                      "request has expired (signed %s, valid %ld s)",
                      pp->amz_date, pp->expires);
    return ERR_OK;
}

/* The hash the canonical request carries: the client's
 * x-amz-content-sha256 when sent (checked against what was received),
 * UNSIGNED-PAYLOAD for an S3-style presign, else the received body's. */
static err_code_t payload_for(const sigv4_request_t *req,
                              const sigv4_verify_opts_t *o, const parsed_t *pp,
                              char out[65], sigv4_verify_info_t *info,
                              err_t *err)
{
    char got[SHA256_HEX_LEN];
    const char *hdr = sigv4_find_header(req->headers, req->nheaders,
                                        "x-amz-content-sha256");
    sigv4_params_t p;

    if (o->rules)
        p = *o->rules;
    else
        sigv4_params_init(&p, pp->service, pp->region, o->now);
    if (req->payload_hash) {
        if (!sigv4_is_hex64(req->payload_hash))
            return err_set(err, ERR_INVALID, "payload hash must be 64 "
                                             "lower-case hex digits");
        memcpy(got, req->payload_hash, SHA256_HEX_LEN);
    } else if (sigv4_sha256_hex(req->body ? req->body : "",
                                req->body ? req->body_len : 0, got) != ERR_OK) {
        return err_set(err, ERR_INTERNAL, "SHA-256 failed");
    }
    if (hdr && strcmp(hdr, SIGV4_UNSIGNED_PAYLOAD) == 0) {
        memcpy(out, SIGV4_UNSIGNED_PAYLOAD, sizeof SIGV4_UNSIGNED_PAYLOAD);
    } else if (hdr) {
        if (!sigv4_is_hex64(hdr))
            return refuse(info, SIGV4_VERIFY_MALFORMED, err,
                          "x-amz-content-sha256 is neither a SHA-256 nor "
                          SIGV4_UNSIGNED_PAYLOAD);
        if (strcmp(hdr, got) != 0)
            return refuse(info, SIGV4_VERIFY_PAYLOAD_MISMATCH, err,
                          "x-amz-content-sha256 does not match the body "
                          "received");
        memcpy(out, hdr, SHA256_HEX_LEN);
    } else if (pp->mode == SIGV4_MODE_QUERY && p.unsigned_payload_presign) {
        memcpy(out, SIGV4_UNSIGNED_PAYLOAD, sizeof SIGV4_UNSIGNED_PAYLOAD);
    } else {
        memcpy(out, got, SHA256_HEX_LEN);
    }
    return ERR_OK;
}

err_code_t sigv4_verify(const sigv4_request_t *req,
                        const sigv4_credentials_t *c,
                        const sigv4_verify_opts_t *opts,
                        sigv4_verify_info_t *info, err_t *err)
{
    sigv4_verify_info_t local;
    sigv4_verify_opts_t o = {0};
    sigv4_url_t u = {0};
    parsed_t pp;
    char payload[65];
    const char *path, *query, *authority = NULL;
    err_code_t rc;

    if (!info) {
        info = &local;
        sigv4_verify_info_init(info);
    } else {
        sigv4_verify_info_free(info);
    }
    memset(&pp, 0, sizeof pp);
    if (opts)
        o = *opts;
    if (!req || !opts || !c || !c->access_key_id || !*c->access_key_id ||
        !c->secret_access_key || !*c->secret_access_key) {
        rc = err_set(err, ERR_INVALID, "verify needs a request, options with "
                                       "the server time, and credentials");
        goto out;
    }
    if (req->url) {
        if ((rc = sigv4_url_parse(req->url, &u, err)) != ERR_OK)
            goto out;
        path = u.path;
        query = u.query;
        authority = u.authority;
    } else {
        path = req->path && *req->path ? req->path : "/";
        query = req->query ? req->query : "";
    }
    rc = check(req, c, &o, path, query, authority, &pp, info, err);
    if (rc == ERR_OK)
        rc = payload_for(req, &o, &pp, payload, info, err);
    if (rc == ERR_OK)
        rc = recompute(req, path, query, authority, c, &o, &pp, payload, info,
                       err);
    if (rc == ERR_OK && !crypto_equal(info->expected.signature, pp.signature,
                                      64))
        rc = refuse(info, SIGV4_VERIFY_MISMATCH, err,
                    "the request signature does not match the one computed "
                    "(check the secret key and the canonical request)");
    if (rc == ERR_OK)
        info->reason = SIGV4_VERIFY_OK;
out:
    free(pp.signed_headers);
    free(pp.token);
    sigv4_url_free(&u);
    if (info == &local)
        sigv4_verify_info_free(info);
    return rc;
}
