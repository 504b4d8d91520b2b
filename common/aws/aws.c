/* aws — environments, per-thread service clients, signed requests with
 * retries, the JSON protocol and presigning.  See aws.h.
 *
 * The retry state (token bucket, adaptive limiter, clock offset) lives in
 * the env, one retry_t per service, so every thread's client for a service
 * shares one bucket and one learnt clock offset, as retry.h intends.
 * Credentials are read from the cache on every attempt, so a refresh made
 * by another thread (or between retries) is picked up at once. */
#include "aws/aws.h"
#include "base/buf.h"
#include "aws/aws_config.h"
#include "aws/retry_http.h"
#include "aws/sigv4.h"

#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Presigned URLs end this long before the credentials do, so a URL handed
 * out does not die while in flight. */
#define PRESIGN_CREDS_MARGIN 60
#define EXCERPT_LEN 80
#define MAX_HEADERS 32

struct aws_env {
    aws_env_options_t o;         /* copied; strings below are ours */
    char region[64];
    creds_cache_t *creds;
    bool own_creds;
    retry_options_t retry_opts;
    pthread_mutex_t mu;          /* guards retry[] */
    retry_t *retry[ENDPOINT__COUNT];
    aws_config_t cfg;            /* the shared config file's settings */
};

struct aws_client {
    aws_env_t *env;
    endpoint_t ep;
    http_client_t *http;
    retry_t *retry;              /* borrowed from env */
    buf_t url;                   /* aws_start(): the URL of the transfer */
};

/* ---- environment ---- */

const char *aws_env_getenv(const aws_env_t *env, const char *name)
{
    if (env && env->o.getenv)
        return env->o.getenv(env->o.getenv_ctx, name);
    return getenv(name);
}

/* Adapters: endpoint and creds take (ctx, name), retry takes (name, ud). */
static const char *env_get(void *ctx, const char *name)
{
    return aws_env_getenv((const aws_env_t *)ctx, name);
}

static const char *env_get_retry(const char *name, void *ud)
{
    return aws_env_getenv((const aws_env_t *)ud, name);
}

static void endpoint_opts(const aws_env_t *env, endpoint_options_t *eo)
{
    memset(eo, 0, sizeof *eo);
    eo->getenv = env_get;
    eo->getenv_ctx = (void *)env;
    eo->region = env->region;
    eo->s3_path_style = env->o.s3_path_style;
    eo->s3_addressing = env->o.s3_addressing;
    aws_config_endpoint_options(&env->cfg, eo);
}

static bool nonempty(const char *s)
{
    return s && *s;
}

/* The region: the option, AWS_REGION, AWS_DEFAULT_REGION, then the active
 * profile's "region" in the shared config files (env->cfg), as the SDKs do. */
static err_code_t find_region(aws_env_t *env, const aws_env_options_t *opts,
                              err_t *err)
{
    endpoint_options_t eo = {.getenv = env_get, .getenv_ctx = env,
                             .region = opts->region};
    if (!nonempty(opts->region) && !nonempty(aws_env_getenv(env, "AWS_REGION")) &&
        !nonempty(aws_env_getenv(env, "AWS_DEFAULT_REGION"))) {
        if (!nonempty(env->cfg.region))
            return err_set(err, ERR_CONFIG, "AWS region not set: set AWS_REGION");
        eo.region = env->cfg.region;
    }
    return endpoint_region(&eo, env->region, sizeof env->region, err);
}

aws_env_t *aws_env_new(const aws_env_options_t *opts, err_t *err)
{
    aws_env_options_t defaults = {0};
    if (!opts)
        opts = &defaults;
    aws_env_t *env = calloc(1, sizeof *env);
    if (!env) {
        err_set(err, ERR_NOMEM, "out of memory creating the AWS environment");
        return NULL;
    }
    env->o = *opts;
    env->o.region = NULL;
    env->o.retry = NULL;
    if (pthread_mutex_init(&env->mu, NULL) != 0) {
        free(env);
        err_set(err, ERR_NOMEM, "cannot create a mutex");
        return NULL;
    }
    creds_options_t cfo = {0};
    cfo.getenv = env_get;
    cfo.getenv_ctx = env;
    if (aws_config_load(&cfo, &env->cfg, err) != ERR_OK || find_region(env, opts, err) != ERR_OK)
        goto fail;
    if (opts->retry)
        env->retry_opts = *opts->retry;
    else if (retry_options_from_config(&env->retry_opts, env_get_retry, env,
                                       env->cfg.retry_mode, env->cfg.max_attempts,
                                       err) != ERR_OK)
        goto fail;
    if (opts->creds) {
        env->creds = opts->creds;
    } else {
        creds_options_t co = {0};
        co.getenv = env_get;
        co.getenv_ctx = env;
        co.region = env->region;
        if (!(env->creds = creds_cache_new(&co, err)))
            goto fail;
        env->own_creds = true;
    }
    return env;
fail:
    aws_env_free(env);
    return NULL;
}

void aws_env_free(aws_env_t *env)
{
    if (!env)
        return;
    for (int i = 0; i < ENDPOINT__COUNT; i++)
        retry_free(env->retry[i]);
    if (env->own_creds)
        creds_cache_free(env->creds);
    pthread_mutex_destroy(&env->mu);
    aws_config_free(&env->cfg);
    free(env);
}

static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static aws_env_t *default_env;
static err_t default_err;

static void default_init(void)
{
    err_clear(&default_err);
    default_env = aws_env_new(NULL, &default_err);
}

aws_env_t *aws_env_default(err_t *err)
{
    pthread_once(&default_once, default_init);
    if (!default_env && err)
        *err = default_err;
    return default_env;
}

const char *aws_env_region(const aws_env_t *env)
{
    return env->region;
}

err_code_t aws_env_creds(aws_env_t *env, creds_t *out, err_t *err)
{
    return creds_cache_get(env->creds, out, err);
}

int64_t aws_env_creds_expiry(aws_env_t *env)
{
    return creds_cache_expiry(env->creds);
}

/* The shared retry state of svc, made on first use. */
static retry_t *env_retry(aws_env_t *env, endpoint_service_t svc, err_t *err)
{
    pthread_mutex_lock(&env->mu);
    if (!env->retry[svc])
        env->retry[svc] = retry_new(&env->retry_opts, err);
    retry_t *r = env->retry[svc];
    pthread_mutex_unlock(&env->mu);
    return r;
}

/* ---- clients ---- */

static aws_client_t *client_make(aws_env_t *env, const endpoint_t *ep, err_t *err)
{
    aws_client_t *c = calloc(1, sizeof *c);
    if (!c) {
        err_set(err, ERR_NOMEM, "out of memory creating an AWS client");
        return NULL;
    }
    c->env = env;
    c->ep = *ep;
    http_options_t ho = {0};
    ho.connect_timeout_ms = env->o.connect_timeout_ms;
    ho.timeout_ms = env->o.timeout_ms;
    if (!(c->http = http_client_new(&ho, err)) ||
        !(c->retry = env_retry(env, ep->service, err))) {
        aws_client_free(c);
        return NULL;
    }
    return c;
}

aws_client_t *aws_client_new(aws_env_t *env, endpoint_service_t svc, err_t *err)
{
    endpoint_options_t eo;
    endpoint_t ep;
    if (!env || svc >= ENDPOINT__COUNT) {
        err_set(err, ERR_INTERNAL, "aws_client_new: no environment or bad service");
        return NULL;
    }
    endpoint_opts(env, &eo);
    if (endpoint_resolve(svc, &eo, &ep, err) != ERR_OK)
        return NULL;
    return client_make(env, &ep, err);
}

static bool region_name_ok(const char *r)
{
    size_t n = strlen(r);
    if (n == 0 || n >= 64 || !islower((unsigned char)r[0]))
        return false;
    return strspn(r, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

aws_client_t *aws_client_new_url(aws_env_t *env, endpoint_service_t svc,
                                 const char *base_url, const char *region,
                                 err_t *err)
{
    endpoint_options_t eo;
    endpoint_t ep;
    sigv4_url_t u = {0};
    aws_client_t *c = NULL;
    if (!env || svc >= ENDPOINT__COUNT || !base_url) {
        err_set(err, ERR_INTERNAL, "aws_client_new_url: missing argument");
        return NULL;
    }
    if (region && !region_name_ok(region)) {
        err_set(err, ERR_CONFIG, "'%.64s' is not a region name", region);
        return NULL;
    }
    endpoint_opts(env, &eo);
    if (region)
        eo.region = region;
    if (endpoint_resolve(svc, &eo, &ep, err) != ERR_OK)
        return NULL;
    if (sigv4_url_parse(base_url, &u, err) != ERR_OK) {
        err_prefix(err, "endpoint URL");
        goto out;
    }
    size_t plen = strlen(u.path);
    while (plen > 0 && u.path[plen - 1] == '/')
        plen--;
    if (u.query[0]) {
        err_set(err, ERR_CONFIG, "endpoint URL must not have a query");
        goto out;
    }
    if ((size_t)snprintf(ep.scheme, sizeof ep.scheme, "%s", u.scheme) >= sizeof ep.scheme ||
        (size_t)snprintf(ep.host, sizeof ep.host, "%s", u.host) >= sizeof ep.host ||
        (size_t)snprintf(ep.authority, sizeof ep.authority, "%s", u.authority) >=
            sizeof ep.authority ||
        (size_t)snprintf(ep.base_path, sizeof ep.base_path, "%.*s", (int)plen, u.path) >=
            sizeof ep.base_path ||
        (size_t)snprintf(ep.url, sizeof ep.url, "%s://%s%s", ep.scheme, ep.authority,
                         ep.base_path) >= sizeof ep.url) {
        err_set(err, ERR_CONFIG, "endpoint URL too long");
        goto out;
    }
    ep.port = u.port;
    ep.port_explicit = u.port_explicit;
    ep.custom = true;
    snprintf(ep.source, sizeof ep.source, "a resource URL");
    c = client_make(env, &ep, err);
out:
    sigv4_url_free(&u);
    return c;
}

void aws_client_free(aws_client_t *c)
{
    if (!c)
        return;
    http_client_free(c->http);
    buf_free(&c->url);
    free(c);
}

const endpoint_t *aws_client_endpoint(const aws_client_t *c)
{
    return &c->ep;
}

aws_env_t *aws_client_env(const aws_client_t *c)
{
    return c->env;
}

int64_t aws_client_now(aws_client_t *c)
{
    return retry_clock_now(c->retry);
}

/* ---- signed requests ---- */

/* Signs req for url with fresh credentials at the corrected clock and sets
 * up the client's transfer (http_start).  The headers are copied; req's
 * body and url must outlive the transfer. */
static err_code_t start_signed(aws_client_t *c, const aws_request_t *req, const char *url,
                               http_response_t *resp, err_t *err)
{
    creds_t cr = CREDS_INIT;
    sigv4_result_t sr;
    http_header_t hdrs[MAX_HEADERS + 4];
    err_code_t rc;

    sigv4_result_init(&sr);
    if ((rc = creds_cache_get(c->env->creds, &cr, err)) != ERR_OK)
        return rc;
    sigv4_credentials_t sc = {cr.access_key_id, cr.secret_access_key, cr.session_token};
    sigv4_params_t p;
    sigv4_params_init(&p, c->ep.signing_name, c->ep.region, (time_t)retry_clock_now(c->retry));
    sigv4_request_t sq = {
        .method = req->method, .url = url, .headers = req->headers,
        .nheaders = req->nheaders, .body = req->body, .body_len = req->body_len,
        .payload_hash = req->payload_hash,
    };
    rc = sigv4_sign_headers(&sq, &p, &sc, &sr, err);
    creds_free(&cr);
    if (rc != ERR_OK) {
        err_prefix(err, "signing %s request", c->ep.signing_name);
        goto out;
    }
    size_t nh = 0;
    for (size_t i = 0; i < req->nheaders; i++)
        hdrs[nh++] = req->headers[i];
    for (size_t i = 0; i < sr.nheaders; i++)
        hdrs[nh++] = sr.headers[i];
    http_request_t hr = {
        .method = req->method, .url = url, .headers = hdrs, .nheaders = nh,
        .body = req->body, .body_len = req->body_len,
        .timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : c->env->o.timeout_ms,
        .max_response = req->max_response, .sink = req->sink, .sink_ud = req->sink_ud,
    };
    rc = http_start(c->http, &hr, resp, err);
out:
    sigv4_result_free(&sr);
    return rc;
}

/* The end of an attempt: the transfer's outcome, the server's clock from
 * Date, a non-2xx reply mapped to an error. */
static err_code_t finish_signed(aws_client_t *c, int curl_code, http_response_t *resp,
                                err_t *err)
{
    err_code_t rc = http_finish(c->http, curl_code, err);
    if (rc == ERR_OK) {
        const char *date = http_response_header(resp, "date");
        if (date)
            retry_clock_observe(c->retry, date);
        rc = http_error_from_aws(resp, err);
    }
    return rc;
}

typedef struct {
    aws_client_t *c;
    const aws_request_t *req;
    const char *url;
} attempt_t;

/* One attempt, blocking. */
static err_code_t attempt(retry_t *r, int n, void *ud, http_response_t *resp,
                          err_t *err)
{
    attempt_t *a = ud;
    err_code_t rc;
    (void)r;
    (void)n;
    if ((rc = start_signed(a->c, a->req, a->url, resp, err)) != ERR_OK)
        return rc;
    return finish_signed(a->c, curl_easy_perform(http_client_handle(a->c->http)), resp, err);
}

/* The full URL of req into url. */
static err_code_t request_url(const aws_client_t *c, const aws_request_t *req, buf_t *url,
                              err_t *err)
{
    err_code_t rc;
    if (!req->method || (!req->url && !req->path))
        return err_set(err, ERR_INTERNAL, "aws_request: missing method or url");
    if (req->nheaders > MAX_HEADERS)
        return err_set(err, ERR_INTERNAL, "aws_request: more than %d headers", MAX_HEADERS);
    buf_reset(url);
    if (req->url) {
        rc = buf_append_str(url, req->url);
    } else {
        rc = buf_appendf(url, "%s%s%s%s%s", c->ep.url, req->path[0] == '/' ? "" : "/",
                         req->path, req->query && *req->query ? "?" : "",
                         req->query ? req->query : "");
    }
    if (rc != ERR_OK)
        return err_set(err, ERR_NOMEM, "out of memory");
    return ERR_OK;
}

err_code_t aws_start(aws_client_t *c, const aws_request_t *req, http_response_t *resp,
                     err_t *err)
{
    err_code_t rc;
    if (!c || !req || !resp)
        return err_set(err, ERR_INTERNAL, "aws_start: missing client, request or response");
    if ((rc = request_url(c, req, &c->url, err)) != ERR_OK)
        return rc;
    return start_signed(c, req, (const char *)c->url.data, resp, err);
}

void *aws_client_handle(aws_client_t *c)
{
    return http_client_handle(c->http);
}

err_code_t aws_finish(aws_client_t *c, int curl_code, http_response_t *resp, err_t *err)
{
    return finish_signed(c, curl_code, resp, err);
}

err_code_t aws_request(aws_client_t *c, const aws_request_t *req,
                       http_response_t *resp, err_t *err)
{
    buf_t url = BUF_INIT;
    err_code_t rc;
    if (!c || !req || !resp)
        return err_set(err, ERR_INTERNAL, "aws_request: missing client, method or url");
    if ((rc = request_url(c, req, &url, err)) != ERR_OK) {
        buf_free(&url);
        return rc;
    }
    attempt_t a = {c, req, (const char *)url.data};
    if (req->no_retry) {
        http_response_free(resp);
        err_clear(err);
        rc = attempt(c->retry, 1, &a, resp, err);
    } else {
        rc = retry_run(c->retry, attempt, &a, resp, err);
    }
    buf_free(&url);
    return rc;
}

/* ---- JSON protocol ---- */

/* A printable, shortened copy of a reply body for error messages. */
static void excerpt(const http_response_t *resp, char *out, size_t cap)
{
    size_t n = resp->body.len, k = 0;
    const unsigned char *s = resp->body.data;
    for (size_t i = 0; i < n && i < EXCERPT_LEN && k + 1 < cap; i++)
        out[k++] = (s[i] >= 0x20 && s[i] < 0x7f) ? (char)s[i] : ' ';
    out[k] = '\0';
    if (n > EXCERPT_LEN && k + 4 < cap)
        snprintf(out + k, cap - k, "...");
}

static bool blank(const buf_t *b)
{
    for (size_t i = 0; i < b->len; i++)
        if (!isspace(b->data[i]))
            return false;
    return true;
}

err_code_t aws_json_call(aws_client_t *c, const char *target, json_t *body,
                         json_t **reply, err_t *err)
{
    return aws_json_call_opts(c, target, body, NULL, reply, err);
}

err_code_t aws_json_call_opts(aws_client_t *c, const char *target, json_t *body,
                              const aws_json_opts_t *o, json_t **reply,
                              err_t *err)
{
    static const aws_json_opts_t defaults = {0};
    http_response_t resp;
    char *text = NULL;
    err_code_t rc;
    if (reply)
        *reply = NULL;
    if (!o)
        o = &defaults;
    if (!c || !target || !body || !reply)
        return err_set(err, ERR_INTERNAL, "aws_json_call: missing argument");
    if (!(text = json_dumps(body, JSON_COMPACT)))
        return err_set(err, ERR_NOMEM, "%s: cannot encode the request", target);
    const http_header_t hdrs[] = {
        {"Content-Type", "application/x-amz-json-1.0"},
        {"X-Amz-Target", target},
    };
    aws_request_t req = {
        .method = "POST", .path = "/", .headers = hdrs, .nheaders = 2,
        .body = text, .body_len = strlen(text), .timeout_ms = o->timeout_ms,
        .max_response = o->max_response ? o->max_response : AWS_JSON_MAX_REPLY,
        .no_retry = o->no_retry,
    };
    http_response_init(&resp);
    rc = aws_request(c, &req, &resp, err);
    free(text);
    if (rc != ERR_OK) {
        err_prefix(err, "%s", target);
        goto out;
    }
    /* Operations without output may answer 200 with an empty body. */
    if (blank(&resp.body)) {
        if (!(*reply = json_object()))
            rc = err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    json_error_t je;
    json_t *j = json_loadb((const char *)resp.body.data, resp.body.len, 0, &je);
    if (!j || !json_is_object(j)) {
        char ex[EXCERPT_LEN + 8];
        excerpt(&resp, ex, sizeof ex);
        /* A 2xx that is not the service's JSON is something in between
         * (a proxy, a load balancer) answering: worth trying again later. */
        rc = err_set(err, ERR_UNAVAILABLE, "%s: reply is not a JSON object (%s; %zu bytes: %s)",
                     target, j ? "another JSON type" : je.text, resp.body.len, ex);
        json_decref(j);
        goto out;
    }
    *reply = j;
out:
    http_response_free(&resp);
    return rc;
}

/* ---- presigning ---- */

err_code_t aws_presign(aws_client_t *c, const char *method, const char *url,
                       long ttl_s, char **out, int64_t *expires_unix, err_t *err)
{
    creds_t cr = CREDS_INIT;
    sigv4_result_t sr;
    err_code_t rc;
    *out = NULL;
    if (ttl_s <= 0)
        return err_set(err, ERR_INVALID, "presign: expiry must be positive (got %ld s)",
                       ttl_s);
    if ((rc = creds_cache_get(c->env->creds, &cr, err)) != ERR_OK)
        return rc;
    int64_t now = aws_client_now(c);
    long ttl = ttl_s > SIGV4_MAX_EXPIRES ? SIGV4_MAX_EXPIRES : ttl_s;
    int64_t exp = creds_cache_expiry(c->env->creds);
    if (exp > 0) {
        int64_t left = exp - now - PRESIGN_CREDS_MARGIN;
        if (left < 1) {
            err_set(err, ERR_AUTH, "presign: the credentials (from %s) expire too soon",
                    cr.source[0] ? cr.source : "the provider");
            creds_free(&cr);
            return ERR_AUTH;
        }
        if (left < ttl)
            ttl = (long)left;
    }
    sigv4_params_t p;
    sigv4_params_init(&p, c->ep.signing_name, c->ep.region, (time_t)now);
    p.expires = ttl;
    sigv4_credentials_t sc = {cr.access_key_id, cr.secret_access_key, cr.session_token};
    sigv4_request_t sq = {.method = method, .url = url};
    sigv4_result_init(&sr);
    rc = sigv4_presign(&sq, &p, &sc, &sr, err);
    creds_free(&cr);
    if (rc == ERR_OK && !(*out = strdup(sr.url)))
        rc = err_set(err, ERR_NOMEM, "out of memory");
    if (rc == ERR_OK && expires_unix)
        *expires_unix = now + ttl;
    sigv4_result_free(&sr);
    return rc;
}
