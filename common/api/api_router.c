/* api_router — see api.h.  The order of checks is deliberate: route lookup,
 * then authentication (so unauthenticated callers learn nothing about which
 * paths exist), rate limiting, method, body size, content type, and only
 * then the handler. */
#include "api/api_internal.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "jobs/job.h"

static int64_t real_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

/* Parses "hex,hex,..." (validated by config_set) into digests. */
static err_code_t parse_keys(api_t *a, const char *list, err_t *err)
{
    size_t cap = 0;
    for (const char *p = list ? list : ""; *p;) {
        while (*p && !isxdigit((unsigned char)*p))
            p++;
        size_t n = 0;
        while (isxdigit((unsigned char)p[n]))
            n++;
        if (!n)
            break;
        if (n != 2 * SHA256_LEN)
            return err_set(err, ERR_CONFIG, "api_keys: every entry must be 64 hex digits");
        if (a->nkeys == cap) {
            size_t nc = cap ? cap * 2 : 4;
            void *nk = realloc(a->keys, nc * sizeof *a->keys);
            if (!nk)
                return err_set(err, ERR_NOMEM, "out of memory");
            a->keys = nk;
            cap = nc;
        }
        for (size_t i = 0; i < SHA256_LEN; i++)
            a->keys[a->nkeys][i] = (uint8_t)(hexval(p[2 * i]) << 4 | hexval(p[2 * i + 1]));
        a->nkeys++;
        p += n;
    }
    return ERR_OK;
}

api_t *api_new(const api_options_t *o, api_pool_t *pool, err_t *err)
{
    api_t *a = calloc(1, sizeof *a);
    if (!a) {
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    a->o = *o;
    a->pool = pool;
    a->now_ms = real_now_ms;
    a->key_equal = crypto_equal;
    atomic_init(&a->stopping, false);
    pthread_mutex_init(&a->files_mu, NULL);
    if (!(a->ui = api_ui_cache_new()) || !(a->models = api_models_new())) {
        err_set(err, ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (a->o.sync_timeout_s < 0)
        a->o.sync_timeout_s = 0;
    if (a->o.poll_interval_s <= 0)
        a->o.poll_interval_s = 0.25;
    if (parse_keys(a, o->cfg ? o->cfg->api_keys : NULL, err) != ERR_OK)
        goto fail;
    if (a->nkeys == 0 && !o->loopback) {
        err_set(err, ERR_CONFIG,
                "api_keys: no API keys configured; authentication may be off only on a "
                "loopback address (set api_keys or ONESHEET_API_KEYS)");
        goto fail;
    }
    /* Key guessing: an address gets API_AUTH_FAIL_BURST wrong keys, then
     * one a second; beyond that every request from it is refused unread. */
    if (!(a->auth_fails = api_ratelimit_new(API_AUTH_FAIL_PER_S, API_AUTH_FAIL_BURST, 1024))) {
        err_set(err, ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (o->rate_per_s > 0) {
        double burst = o->rate_burst > 0 ? o->rate_burst : 2 * o->rate_per_s;
        if (!(a->limiter = api_ratelimit_new(o->rate_per_s, burst, 1024))) {
            err_set(err, ERR_NOMEM, "out of memory");
            goto fail;
        }
    }
    return a;
fail:
    api_free(a);
    return NULL;
}

void api_free(api_t *a)
{
    if (!a)
        return;
    api_ratelimit_free(a->limiter);
    api_ratelimit_free(a->auth_fails);
    free(a->keys);
    api_ui_cache_free(a->ui);
    api_models_free(a->models);
    pthread_mutex_destroy(&a->files_mu);
    free(a);
}

bool api_auth_enabled(const api_t *a)
{
    return a->nkeys > 0;
}

void api_stop(api_t *a)
{
    atomic_store(&a->stopping, true);
}

void api_set_clock(api_t *a, int64_t (*now_ms)(void))
{
    a->now_ms = now_ms ? now_ms : real_now_ms;
}

void api_set_key_compare(api_t *a, int (*eq)(const void *, const void *, size_t))
{
    a->key_equal = eq ? eq : crypto_equal;
}

/* Returns the index of the key whose digest matches, or -1.  Every
 * configured digest is compared, in constant time, whatever matches: the
 * time taken says nothing about which key, or how much of one, was right. */
static int match_key(const api_t *a, const char *key)
{
    uint8_t d[SHA256_LEN];
    int found = -1;
    if (crypto_sha256(key, strlen(key), d) != ERR_OK)
        return -1;
    for (size_t i = 0; i < a->nkeys; i++) {
        int eq = a->key_equal(d, a->keys[i], SHA256_LEN);
        found = eq && found < 0 ? (int)i : found;
    }
    return found;
}

enum route { R_NONE, R_GENERATE, R_JOBS, R_JOB, R_BATCH, R_HEALTH, R_OPENAPI,
             R_JOB_RETRY, R_BATCH_RETRY, R_WORKERS, R_JOB_APPROVE, R_JOB_REJECT,
             R_BATCH_PROMOTE };

static const struct {
    enum route r;
    const char *prefix;   /* exact path, or prefix before {id} */
    bool has_id;
    bool public;          /* no API key needed */
    const char *allow;
    const char *suffix;   /* has_id routes: the path after {id} ("/retry"), or NULL */
} routes[] = {
    /* Before "/jobs/" and "/batches/", which would take "ID/retry" as an id. */
    {R_JOB_RETRY, "/jobs/", true, false, "POST", "/retry"},
    {R_BATCH_RETRY, "/batches/", true, false, "POST", "/retry"},
    {R_JOB_APPROVE, "/jobs/", true, false, "POST", "/approve"},
    {R_JOB_REJECT, "/jobs/", true, false, "POST", "/reject"},
    {R_BATCH_PROMOTE, "/batches/", true, false, "POST", "/promote"},
    {R_GENERATE, "/generate-poster", false, false, "POST", NULL},
    {R_JOBS, "/jobs", false, false, "POST", NULL},
    {R_JOB, "/jobs/", true, false, "GET, DELETE", NULL},
    {R_BATCH, "/batches/", true, false, "GET", NULL},
    {R_HEALTH, "/healthz", false, true, "GET", NULL},
    {R_OPENAPI, "/openapi.json", false, true, "GET", NULL},
    {R_WORKERS, "/workers", false, false, "GET", NULL},
};

static bool method_allowed(const char *allow, const char *method)
{
    /* HEAD wherever GET is; the server sends the headers only. */
    if (strcmp(method, "HEAD") == 0)
        method = "GET";
    size_t n = strlen(method);
    for (const char *p = allow; (p = strstr(p, method)); p += n)
        if ((p == allow || p[-1] == ' ') && (p[n] == '\0' || p[n] == ','))
            return true;
    return false;
}

/* "application/json", optionally with parameters ("; charset=utf-8"). */
static bool is_json_type(const char *ct)
{
    static const char want[] = "application/json";
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    if (strncasecmp(ct, want, sizeof want - 1) != 0)
        return false;
    ct += sizeof want - 1;
    while (*ct == ' ')
        ct++;
    return *ct == '\0' || *ct == ';';
}

void api_handle(api_t *a, const api_request_t *req, api_response_t *resp)
{
    size_t i, nroutes = sizeof routes / sizeof *routes;
    const char *path = req->path ? req->path : "", *id = NULL;
    char key_name[32], id_buf[JOB_ID_MAX + 2];

    memset(resp, 0, sizeof *resp);
    /* issue 19: signed file links carry their own authorization. */
    if (strncmp(path, "/files/", 7) == 0) {
        if (!req->method || !method_allowed("GET", req->method)) {
            api_error(resp, 405, "method_not_allowed", "/files/ allows GET");
            resp->allow = "GET";
            return;
        }
        api_files_get(a, req, path + 7, resp);
        return;
    }
    bool ui = strcmp(path, "/ui") == 0 || strncmp(path, "/ui/", 4) == 0;
    for (i = ui ? nroutes : 0; i < nroutes; i++) {
        size_t n = strlen(routes[i].prefix), len = strlen(path);
        size_t sn = routes[i].suffix ? strlen(routes[i].suffix) : 0;
        if (sn && strncmp(path, routes[i].prefix, n) == 0 && len > n + sn &&
            strcmp(path + len - sn, routes[i].suffix) == 0) {
            /* {id} between prefix and suffix; too long an id is no id. */
            snprintf(id_buf, sizeof id_buf, "%.*s", (int)(len - n - sn), path + n);
            id = id_buf;
            break;
        }
        if (!sn && (routes[i].has_id ? strncmp(path, routes[i].prefix, n) == 0 && path[n]
                                     : strcmp(path, routes[i].prefix) == 0)) {
            id = routes[i].has_id ? path + n : NULL;
            break;
        }
    }
    bool public = (i < nroutes && routes[i].public) || (ui && api_ui_public(path));

    snprintf(key_name, sizeof key_name, "anonymous");
    if (!public && a->nkeys) {
        const char *key = api_header(req, "x-api-key");
        const char *addr = req->client ? req->client : "-";
        int wait = api_ratelimit_peek(a->auth_fails, addr, a->now_ms());
        if (wait > 0) {
            api_error(resp, 429, "auth_throttled",
                      "too many failed authentications from this address; retry in %d s",
                      wait);
            resp->retry_after = wait;
            snprintf(resp->detail, sizeof resp->detail, "auth_throttled");
            return;
        }
        int k = key && *key ? match_key(a, key) : -1;
        if (k < 0) {
            api_ratelimit_take(a->auth_fails, addr, a->now_ms());
            snprintf(resp->detail, sizeof resp->detail, "%s",
                     key && *key ? "bad_key" : "no_key");
            api_error(resp, 401, "unauthorized",
                      key && *key ? "the API key is not valid"
                                  : "an API key is required in the x-api-key header");
            return;
        }
        snprintf(key_name, sizeof key_name, "key%d", k);
    }
    if (!public && a->limiter) {
        /* Anonymous callers (loopback only) share a bucket per address. */
        const char *bucket = a->nkeys ? key_name : (req->client ? req->client : key_name);
        int wait = api_ratelimit_take(a->limiter, bucket, a->now_ms());
        if (wait > 0) {
            api_error(resp, 429, "rate_limited", "too many requests; retry in %d s", wait);
            resp->retry_after = wait;
            return;
        }
    }
    if (ui) {
        api_ui_handle(a, req, resp);
        return;
    }
    if (i == nroutes) {
        api_error(resp, 404, "not_found", "no such endpoint");
        return;
    }
    if (!req->method || !method_allowed(routes[i].allow, req->method)) {
        api_error(resp, 405, "method_not_allowed", "%s allows %s", routes[i].prefix,
                  routes[i].allow);
        resp->allow = routes[i].allow;
        return;
    }
    /* A retry's body is optional: an empty one needs no Content-Type. */
    if (strcmp(req->method, "POST") == 0 && !(routes[i].suffix && req->body_len == 0)) {
        if (req->body_too_big || req->body_len > API_MAX_BODY) {
            api_error(resp, 413, "payload_too_large", "the body is over %d bytes",
                      API_MAX_BODY);
            return;
        }
        if (!is_json_type(api_header(req, "content-type"))) {
            api_error(resp, 415, "unsupported_media_type",
                      "send the body as Content-Type: application/json");
            return;
        }
    }
    if (id && !job_id_valid(id)) {
        api_error(resp, 404, "not_found", "no such %s",
                  routes[i].r == R_BATCH || routes[i].r == R_BATCH_RETRY ||
                  routes[i].r == R_BATCH_PROMOTE ? "batch" : "job");
        return;
    }
    switch (routes[i].r) {
    case R_GENERATE: api_generate_poster(a, req, resp); break;
    case R_JOBS: api_post_jobs(a, req, resp); break;
    case R_JOB:
        if (strcmp(req->method, "DELETE") == 0)
            api_delete_job(a, req, id, resp);
        else
            api_get_job(a, req, id, resp);
        break;
    case R_BATCH: api_get_batch(a, req, id, resp); break;
    case R_HEALTH: api_healthz(a, req, resp); break;
    case R_JOB_RETRY: api_post_job_retry(a, req, id, resp); break;
    case R_BATCH_RETRY: api_post_batch_retry(a, req, id, resp); break;
    case R_WORKERS: api_get_workers(a, req, resp); break;
    case R_JOB_APPROVE: api_post_job_approve(a, req, id, resp); break;
    case R_JOB_REJECT: api_post_job_reject(a, req, id, resp); break;
    case R_BATCH_PROMOTE: api_post_batch_promote(a, req, id, resp); break;
    case R_OPENAPI:
        resp->status = 200;
        resp->content_type = "application/json";
        if (!(resp->body = strdup(api_openapi_json))) {
            api_error(resp, 500, "internal", "out of memory");
            return;
        }
        resp->body_len = strlen(resp->body);
        break;
    case R_NONE: break;
    }
}
