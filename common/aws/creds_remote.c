/* creds_remote — the container credentials endpoint and EC2 IMDSv2.  See
 * creds.h.
 *
 * Both answer the same JSON shape (AccessKeyId, SecretAccessKey, Token,
 * Expiration).  IMDS is only ever spoken to with a session token (IMDSv2):
 * a plain GET without one would let anything that can make the instance
 * fetch a URL (SSRF) read its credentials, which is why the SDKs moved off
 * IMDSv1 and why there is no fallback here. */
#include "aws/creds.h"
#include "aws/http.h"
#include "base/redact.h"
#include "aws/sigv4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_REPLY (64 * 1024)
#define MAX_AUTH_FILE (16 * 1024)
#define IMDS_TOKEN_TTL "21600"

static err_code_t get_json(http_client_t *hc, const char *url,
                           const http_header_t *hdrs, size_t nh, const char *what,
                           const char *source, creds_t *out, err_t *err)
{
    http_response_t resp;
    http_request_t req = {.method = "GET", .url = url, .headers = hdrs, .nheaders = nh};
    err_code_t rc;

    http_response_init(&resp);
    rc = http_do(hc, &req, &resp, err);
    if (rc != ERR_OK) {
        err_prefix(err, "%s", what);
    } else if (resp.status != 200) {
        rc = resp.status == 401 || resp.status == 403 ? ERR_AUTH
           : resp.status >= 500 ? ERR_UNAVAILABLE : ERR_PERMANENT;
        err_set(err, rc, "%s: HTTP %ld", what, resp.status);
        if (err)
            err->http_status = (int)resp.status;
    } else {
        rc = creds_parse_json(resp.body.data ? (const char *)resp.body.data : "",
                              resp.body.len, what, source, out, err);
    }
    http_response_free(&resp);
    return rc;
}

static http_client_t *client(long connect_ms, long total_ms, err_t *err)
{
    http_options_t ho = {0};
    ho.connect_timeout_ms = connect_ms;
    ho.timeout_ms = total_ms;
    ho.max_response = MAX_REPLY;
    /* Link-local metadata addresses are plain http by design; the URLs were
     * checked before this client is made. */
    ho.allow_insecure_http = true;
    return http_client_new(&ho, err);
}

/* The ECS task and EKS Pod Identity addresses a full URI may use over http. */
static bool container_host_allowed(const char *host)
{
    return strcmp(host, "169.254.170.2") == 0 || strcmp(host, "169.254.170.23") == 0 ||
           strcasecmp(host, "[fd00:ec2::23]") == 0;
}

static err_code_t container_url(const creds_options_t *opts, char *url, size_t cap,
                                err_t *err)
{
    const char *rel = creds_env(opts, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = creds_env(opts, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
    sigv4_url_t u;
    err_code_t rc;
    bool ok;

    if (rel) {
        const char *base = opts && opts->container_endpoint ? opts->container_endpoint
                                                            : "http://169.254.170.2";
        if (rel[0] != '/')
            return err_set(err, ERR_CONFIG,
                           "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must start with '/'");
        if ((size_t)snprintf(url, cap, "%s%s", base, rel) >= cap)
            return err_set(err, ERR_CONFIG, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is too long");
        return ERR_OK;
    }
    if (!full)
        return err_set(err, ERR_NOTFOUND, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI "
                       "and _FULL_URI not set");
    memset(&u, 0, sizeof u);
    rc = sigv4_url_parse(full, &u, err);
    if (rc != ERR_OK) {
        sigv4_url_free(&u);
        err_prefix(err, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
        return err->code = ERR_CONFIG;
    }
    ok = strcmp(u.scheme, "https") == 0 || http_url_is_loopback(full) ||
         container_host_allowed(u.host);
    sigv4_url_free(&u);
    if (!ok)
        return err_set(err, ERR_CONFIG, "AWS_CONTAINER_CREDENTIALS_FULL_URI must be "
                       "https, a loopback address, or the ECS/EKS address "
                       "169.254.170.2 / 169.254.170.23");
    if ((size_t)snprintf(url, cap, "%s", full) >= cap)
        return err_set(err, ERR_CONFIG, "AWS_CONTAINER_CREDENTIALS_FULL_URI is too long");
    return ERR_OK;
}

/* The Authorization value: the token file (re-read each time, EKS rotates
 * it) wins over the variable.  *token is a new string or NULL. */
static err_code_t container_auth(const creds_options_t *opts, char **token, err_t *err)
{
    const char *file = creds_env(opts, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *value = creds_env(opts, "AWS_CONTAINER_AUTHORIZATION_TOKEN");

    *token = NULL;
    if (file) {
        err_code_t rc = creds_read_small_file(file, MAX_AUTH_FILE, token, err);
        if (rc != ERR_OK)
            return err_prefix(err, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    } else if (value) {
        if (!(*token = strdup(value)))
            return err_set(err, ERR_NOMEM, "out of memory");
    } else {
        return ERR_OK;
    }
    redact_add_secret(*token);
    if (strpbrk(*token, "\r\n")) {
        free(*token);
        *token = NULL;
        return err_set(err, ERR_CONFIG, "the container authorization token holds a "
                       "line break");
    }
    return ERR_OK;
}

err_code_t creds_from_container(const creds_options_t *opts, creds_t *out, err_t *err)
{
    long timeout = opts && opts->http_timeout_ms > 0 ? opts->http_timeout_ms : 5000;
    char url[2048], *token = NULL;
    http_header_t hdrs[2];
    size_t nh = 0;
    http_client_t *hc;
    err_t local;
    err_code_t rc;

    if (!err)
        err = &local;
    *out = (creds_t)CREDS_INIT;
    rc = container_url(opts, url, sizeof url, err);
    if (rc == ERR_OK)
        rc = container_auth(opts, &token, err);
    if (rc != ERR_OK)
        return rc;
    hdrs[nh++] = (http_header_t){"Accept", "application/json"};
    if (token)
        hdrs[nh++] = (http_header_t){"Authorization", token};
    hc = client(timeout < 2000 ? timeout : 2000, timeout, err);
    if (!hc)
        rc = err->code;
    else
        rc = get_json(hc, url, hdrs, nh, "container credentials endpoint",
                      CREDS_SRC_CONTAINER, out, err);
    http_client_free(hc);
    if (token) {
        explicit_bzero(token, strlen(token));
        free(token);
    }
    return rc;
}

/* One IMDS text request; *body is a new string (caller frees). */
static err_code_t imds_text(http_client_t *hc, const char *method, const char *url,
                            const http_header_t *h, const char *what, char **body,
                            err_t *err)
{
    http_response_t resp;
    http_request_t req = {.method = method, .url = url, .headers = h, .nheaders = 1};
    err_code_t rc;

    *body = NULL;
    http_response_init(&resp);
    rc = http_do(hc, &req, &resp, err);
    if (rc != ERR_OK) {
        err_prefix(err, "imds %s", what);
    } else if (resp.status != 200) {
        rc = resp.status == 401 || resp.status == 403 ? ERR_AUTH
           : resp.status >= 500 ? ERR_UNAVAILABLE : ERR_NOTFOUND;
        err_set(err, rc, "imds %s: HTTP %ld", what, resp.status);
        if (err)
            err->http_status = (int)resp.status;
    } else {
        const char *s = resp.body.data ? (const char *)resp.body.data : "";
        size_t n = strcspn(s, "\r\n");
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        if (n == 0 || memchr(s, '\0', resp.body.len))
            rc = err_set(err, ERR_INVALID, "imds %s: empty or binary reply", what);
        else if (!(*body = strndup(s, n)))
            rc = err_set(err, ERR_NOMEM, "out of memory");
    }
    http_response_free(&resp);
    return rc;
}

static bool role_name_ok(const char *r)
{
    if (!*r || strcmp(r, ".") == 0 || strcmp(r, "..") == 0)
        return false;
    for (; *r; r++)
        if ((unsigned char)*r <= 0x20 || *r == 0x7f || strchr("/?#%\\", *r))
            return false;
    return true;
}

err_code_t creds_from_imds(const creds_options_t *opts, creds_t *out, err_t *err)
{
    const char *off = creds_env(opts, "AWS_EC2_METADATA_DISABLED");
    const char *base = creds_env(opts, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
    const char *mode = creds_env(opts, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
    long timeout = opts && opts->imds_timeout_ms > 0 ? opts->imds_timeout_ms : 1000;
    char root[512], url[1024], *token = NULL, *role = NULL;
    http_client_t *hc;
    size_t blen;
    err_code_t rc;

    *out = (creds_t)CREDS_INIT;
    if (off && strcasecmp(off, "true") == 0)
        return err_set(err, ERR_NOTFOUND, "disabled by AWS_EC2_METADATA_DISABLED");
    if (!base)
        base = mode && strcasecmp(mode, "IPv6") == 0 ? "http://[fd00:ec2::254]"
                                                     : "http://169.254.169.254";
    blen = strlen(base);
    while (blen && base[blen - 1] == '/')
        blen--;
    if (blen >= sizeof root - 64)
        return err_set(err, ERR_CONFIG, "AWS_EC2_METADATA_SERVICE_ENDPOINT is too long");
    memcpy(root, base, blen);
    root[blen] = '\0';
    hc = client(timeout < 1000 ? timeout : 1000, timeout, err);
    if (!hc)
        return err ? err->code : ERR_NOMEM;

    http_header_t ttl = {"X-aws-ec2-metadata-token-ttl-seconds", IMDS_TOKEN_TTL};
    snprintf(url, sizeof url, "%s/latest/api/token", root);
    rc = imds_text(hc, "PUT", url, &ttl, "token", &token, err);
    if (rc == ERR_OK) {
        http_header_t auth = {"X-aws-ec2-metadata-token", token};
        redact_add_secret(token);
        snprintf(url, sizeof url, "%s/latest/meta-data/iam/security-credentials/", root);
        rc = imds_text(hc, "GET", url, &auth, "role", &role, err);
        if (rc == ERR_NOTFOUND)
            err_set(err, rc, "imds: no IAM role attached to this instance");
        else if (rc == ERR_OK && !role_name_ok(role))
            rc = err_set(err, ERR_INVALID, "imds: the role name is not a plain name");
        if (rc == ERR_OK) {
            if ((size_t)snprintf(url, sizeof url,
                                 "%s/latest/meta-data/iam/security-credentials/%s", root,
                                 role) >= sizeof url)
                rc = err_set(err, ERR_INVALID, "imds: the role name is too long");
            else
                rc = get_json(hc, url, &auth, 1, "imds credentials", CREDS_SRC_IMDS, out,
                              err);
        }
    } else if (rc == ERR_NOTFOUND || rc == ERR_AUTH) {
        err_prefix(err, "IMDSv2 unavailable (IMDSv1 is never used)");
    }
    http_client_free(hc);
    if (token) {
        explicit_bzero(token, strlen(token));
        free(token);
    }
    free(role);
    return rc;
}
