/* creds_sts — STS AssumeRole (SigV4-signed) and AssumeRoleWithWebIdentity
 * (unsigned), and the web identity source from the environment.  See
 * creds.h.
 *
 * Both are query-protocol calls: a form-encoded POST of Action=...&
 * Version=2011-06-15&... answered with XML:
 *   <AssumeRoleResponse><AssumeRoleResult><Credentials>
 *     <AccessKeyId/><SecretAccessKey/><SessionToken/><Expiration/>
 *   </Credentials>...
 * or <ErrorResponse><Error><Code/><Message/></Error>. */
#include "aws/creds.h"
#include "base/buf.h"
#include "aws/http.h"
#include "base/redact.h"
#include "aws/sigv4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STS_VERSION "2011-06-15"
#define MAX_REPLY (256 * 1024)
#define MAX_TOKEN_FILE (64 * 1024)

/* Finds <tag>…</tag> in xml[0..len) (no attributes on these elements);
 * returns the content span or NULL. */
static const char *xml_find(const char *xml, size_t len, const char *tag,
                            size_t *out_len)
{
    char open[64], close[64];
    const char *end = xml + len, *p, *q;
    size_t ol, cl;

    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    ol = strlen(open);
    cl = strlen(close);
    p = memmem(xml, len, open, ol);
    if (!p)
        return NULL;
    p += ol;
    q = memmem(p, (size_t)(end - p), close, cl);
    if (!q)
        return NULL;
    *out_len = (size_t)(q - p);
    return p;
}

/* A new string with the five XML entities and numeric ASCII references
 * decoded; NULL on allocation failure. */
static char *xml_text(const char *s, size_t len)
{
    static const struct { const char *ent; char c; } ents[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''},
    };
    char *out = malloc(len + 1), *o = out;

    if (!out)
        return NULL;
    for (size_t i = 0; i < len;) {
        bool done = false;
        if (s[i] == '&') {
            for (size_t k = 0; k < sizeof ents / sizeof *ents && !done; k++) {
                size_t el = strlen(ents[k].ent);
                if (i + el <= len && memcmp(s + i, ents[k].ent, el) == 0) {
                    *o++ = ents[k].c;
                    i += el;
                    done = true;
                }
            }
            if (!done && i + 3 < len && s[i + 1] == '#') {
                char *semi = memchr(s + i, ';', len - i);
                long v = strtol(s + i + 2, NULL, s[i + 2] == 'x' ? 0 : 10);
                if (s[i + 2] == 'x')
                    v = strtol(s + i + 3, NULL, 16);
                if (semi && v > 0 && v < 128) {
                    *o++ = (char)v;
                    i = (size_t)(semi - s) + 1;
                    done = true;
                }
            }
        }
        if (!done)
            *o++ = s[i++];
    }
    *o = '\0';
    return out;
}

static char *xml_get(const char *xml, size_t len, const char *tag)
{
    size_t n;
    const char *v = xml_find(xml, len, tag, &n);
    return v ? xml_text(v, n) : NULL;
}

/* http_error_from_aws() reads <Code> and <Message>; STS also answers a few
 * 400s that are about credentials or a flaky identity provider. */
static err_code_t sts_error(const char *action, const http_response_t *resp,
                            err_t *err)
{
    err_t e;
    err_code_t ec;

    err_clear(&e);
    ec = http_error_from_aws(resp, &e);
    if (strcmp(e.service_code, "InvalidIdentityToken") == 0 ||
        strcmp(e.service_code, "ExpiredTokenException") == 0 ||
        strcmp(e.service_code, "InvalidClientTokenId") == 0)
        ec = e.code = ERR_AUTH;
    else if (strcmp(e.service_code, "IDPCommunicationError") == 0)
        ec = e.code = ERR_UNAVAILABLE;
    if (err) {
        *err = e;
        err_prefix(err, "sts %s", action);
    }
    return ec;
}

static err_code_t parse_creds(const char *action, const http_response_t *resp,
                              const char *source, creds_t *out, err_t *err)
{
    const char *xml = resp->body.data ? (const char *)resp->body.data : "";
    size_t clen;
    const char *c = xml_find(xml, resp->body.len, "Credentials", &clen);
    char *akid = NULL, *secret = NULL, *token = NULL, *exp = NULL;
    int64_t expiration = 0;
    err_code_t rc;

    if (!c)
        return err_set(err, ERR_INVALID, "sts %s: reply has no <Credentials>", action);
    akid = xml_get(c, clen, "AccessKeyId");
    secret = xml_get(c, clen, "SecretAccessKey");
    token = xml_get(c, clen, "SessionToken");
    exp = xml_get(c, clen, "Expiration");
    redact_add_secret(secret);
    redact_add_secret(token);
    if (!akid || !secret || !token || !exp)
        rc = err_set(err, ERR_INVALID, "sts %s: reply lacks AccessKeyId, "
                     "SecretAccessKey, SessionToken or Expiration", action);
    else if (!creds_parse_time(exp, &expiration))
        rc = err_set(err, ERR_INVALID, "sts %s: Expiration is not an ISO 8601 time",
                     action);
    else
        rc = creds_set(out, akid, secret, token, expiration, source, err);
    free(akid);
    if (secret)
        explicit_bzero(secret, strlen(secret));
    free(secret);
    if (token)
        explicit_bzero(token, strlen(token));
    free(token);
    free(exp);
    return rc;
}

static err_code_t form_add(buf_t *b, const char *key, const char *value)
{
    if (b->len && buf_append_str(b, "&") != ERR_OK)
        return ERR_NOMEM;
    if (buf_append_str(b, key) != ERR_OK || buf_append_str(b, "=") != ERR_OK)
        return ERR_NOMEM;
    return sigv4_uri_encode(value, strlen(value), false, b);
}

static err_code_t form_build(buf_t *b, const char *action, const creds_role_t *role,
                             const char *session, const char *token)
{
    char dur[24];
    err_code_t rc = form_add(b, "Action", action);

    if (rc == ERR_OK)
        rc = form_add(b, "Version", STS_VERSION);
    if (rc == ERR_OK && role->duration_seconds > 0) {
        snprintf(dur, sizeof dur, "%ld", role->duration_seconds);
        rc = form_add(b, "DurationSeconds", dur);
    }
    if (rc == ERR_OK && role->external_id)
        rc = form_add(b, "ExternalId", role->external_id);
    if (rc == ERR_OK)
        rc = form_add(b, "RoleArn", role->role_arn);
    if (rc == ERR_OK)
        rc = form_add(b, "RoleSessionName", session);
    if (rc == ERR_OK && token)
        rc = form_add(b, "WebIdentityToken", token);
    return rc;
}

/* One STS call; signs with src when it is not NULL. */
static err_code_t sts_call(const creds_options_t *opts, const char *action,
                           const creds_role_t *role, const creds_t *src,
                           const char *token, const char *source, creds_t *out,
                           err_t *err)
{
    const char *region = creds_sts_region(opts, role->region);
    const char *endpoint = creds_env(opts, "AWS_ENDPOINT_URL_STS");
    long timeout = opts && opts->http_timeout_ms > 0 ? opts->http_timeout_ms : 5000;
    char url[512], session[64];
    buf_t body = BUF_INIT;
    http_header_t hdrs[8];
    size_t nh = 0;
    sigv4_result_t sig;
    http_options_t ho = {0};
    http_client_t *hc = NULL;
    http_response_t resp;
    http_request_t hr;
    err_code_t rc;

    *out = (creds_t)CREDS_INIT;
    if (!role->role_arn || !*role->role_arn)
        return err_set(err, ERR_CONFIG, "sts %s: no role ARN", action);
    if (!endpoint)
        endpoint = creds_env(opts, "AWS_ENDPOINT_URL");
    if (endpoint)
        snprintf(url, sizeof url, "%s", endpoint);
    else if (region)
        snprintf(url, sizeof url, "https://sts.%s.amazonaws.com%s", region,
                 strncmp(region, "cn-", 3) == 0 ? ".cn" : "");
    else
        snprintf(url, sizeof url, "https://sts.amazonaws.com");
    if (!region)
        region = "us-east-1";
    if (role->session_name && *role->session_name)
        snprintf(session, sizeof session, "%s", role->session_name);
    else
        snprintf(session, sizeof session, "onesheet-%lld", (long long)creds_now(opts));
    if (form_build(&body, action, role, session, token) != ERR_OK) {
        buf_free(&body);
        return err_set(err, ERR_NOMEM, "sts %s: out of memory", action);
    }
    hdrs[nh++] = (http_header_t){"Content-Type",
                                 "application/x-www-form-urlencoded; charset=utf-8"};
    hdrs[nh++] = (http_header_t){"Accept", "text/xml"};
    sigv4_result_init(&sig);
    http_response_init(&resp);
    if (src) {
        sigv4_params_t p;
        sigv4_credentials_t c = {src->access_key_id, src->secret_access_key,
                                 src->session_token};
        sigv4_request_t req = {.method = "POST", .url = url, .headers = hdrs,
                               .nheaders = nh, .body = body.data, .body_len = body.len};
        sigv4_params_init(&p, "sts", region, (time_t)creds_now(opts));
        rc = sigv4_sign_headers(&req, &p, &c, &sig, err);
        if (rc != ERR_OK) {
            err_prefix(err, "sts %s", action);
            goto out;
        }
        for (size_t i = 0; i < sig.nheaders && nh < sizeof hdrs / sizeof *hdrs; i++)
            hdrs[nh++] = sig.headers[i];
    }
    ho.connect_timeout_ms = timeout < 3000 ? timeout : 3000;
    ho.timeout_ms = timeout;
    ho.max_response = MAX_REPLY;
    hc = http_client_new(&ho, err);
    if (!hc) {
        rc = err ? err->code : ERR_NOMEM;
        goto out;
    }
    hr = (http_request_t){.method = "POST", .url = url, .headers = hdrs, .nheaders = nh,
                          .body = body.data, .body_len = body.len};
    rc = http_do(hc, &hr, &resp, err);
    if (rc != ERR_OK)
        err_prefix(err, "sts %s", action);
    else if (resp.status != 200)
        rc = sts_error(action, &resp, err);
    else
        rc = parse_creds(action, &resp, source, out, err);
out:
    http_client_free(hc);
    http_response_free(&resp);
    sigv4_result_free(&sig);
    if (body.data)
        explicit_bzero(body.data, body.len);
    buf_free(&body);
    return rc;
}

err_code_t creds_sts_assume_role(const creds_options_t *opts, const creds_t *src,
                                 const creds_role_t *role, creds_t *out, err_t *err)
{
    return sts_call(opts, "AssumeRole", role, src, NULL, CREDS_SRC_ASSUME_ROLE, out, err);
}

err_code_t creds_sts_assume_role_web_identity(const creds_options_t *opts,
                                              const creds_role_t *role,
                                              const char *token_file, creds_t *out,
                                              err_t *err)
{
    char *token = NULL;
    err_code_t rc;

    *out = (creds_t)CREDS_INIT;
    rc = creds_read_small_file(token_file, MAX_TOKEN_FILE, &token, err);
    if (rc != ERR_OK)
        return err_prefix(err, "web identity token file");
    if (!*token) {
        free(token);
        return err_set(err, ERR_CONFIG, "web identity token file %s is empty", token_file);
    }
    redact_add_secret(token);
    rc = sts_call(opts, "AssumeRoleWithWebIdentity", role, NULL, token,
                  CREDS_SRC_WEB_IDENTITY, out, err);
    explicit_bzero(token, strlen(token));
    free(token);
    return rc;
}

err_code_t creds_from_web_identity(const creds_options_t *opts, creds_t *out,
                                   err_t *err)
{
    const char *file = creds_env(opts, "AWS_WEB_IDENTITY_TOKEN_FILE");
    creds_role_t role = {0};

    *out = (creds_t)CREDS_INIT;
    role.role_arn = creds_env(opts, "AWS_ROLE_ARN");
    role.session_name = creds_env(opts, "AWS_ROLE_SESSION_NAME");
    if (!file || !role.role_arn)
        return err_set(err, ERR_NOTFOUND, "%s not set",
                       file ? "AWS_ROLE_ARN" : "AWS_WEB_IDENTITY_TOKEN_FILE");
    return creds_sts_assume_role_web_identity(opts, &role, file, out, err);
}
