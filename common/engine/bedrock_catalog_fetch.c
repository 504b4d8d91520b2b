/* bedrock_catalog_fetch — see bedrock_catalog_fetch.h: ListFoundationModels
 * and GetFoundationModelAvailability on the Bedrock control plane, and the
 * cache file in the state directory. */
#include "engine/bedrock_catalog_fetch.h"
#include "engine/bedrock_models.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CACHE_MAX ((size_t)8 * 1024 * 1024)

err_code_t bedrock_catalog_endpoint(aws_env_t *env, char *out, size_t cap, err_t *err)
{
    const char *v = aws_env_getenv(env, "AWS_ENDPOINT_URL_BEDROCK");
    const char *name = "AWS_ENDPOINT_URL_BEDROCK";
    if (!v || !*v) {
        v = aws_env_getenv(env, "AWS_ENDPOINT_URL");
        name = "AWS_ENDPOINT_URL";
    }
    if (v && *v) {
        size_t n = strlen(v);
        if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0)
            return err_set(err, ERR_CONFIG, "%s: expected an http:// or https:// URL", name);
        while (n > 8 && v[n - 1] == '/')
            n--;
        if ((size_t)snprintf(out, cap, "%.*s", (int)n, v) >= cap)
            return err_set(err, ERR_CONFIG, "%s: too long", name);
        return ERR_OK;
    }
    const char *r = aws_env_region(env);
    snprintf(out, cap, "https://bedrock.%s.amazonaws.com%s", r,
             strncmp(r, "cn-", 3) == 0 ? ".cn" : "");
    return ERR_OK;
}

static char *cache_path(const char *dir)
{
    size_t n = strlen(dir) + sizeof BEDROCK_CATALOG_CACHE_NAME + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, BEDROCK_CATALOG_CACHE_NAME);
    return p;
}

/* The cache's reply when it is for region/endpoint: *reply a new reference,
 * *fetched_at its time.  false when there is no usable cache. */
static bool cache_read(const char *path, const char *region, const char *endpoint,
                       json_t **reply, int64_t *fetched_at)
{
    json_error_t je;
    json_t *c = path ? json_load_file(path, JSON_REJECT_DUPLICATES, &je) : NULL;
    json_t *r = json_object_get(c, "reply"), *t = json_object_get(c, "fetched_at");
    bool ok = json_is_object(r) && json_is_integer(t) &&
              json_integer_value(json_object_get(c, "version")) == 1 &&
              json_is_string(json_object_get(c, "region")) &&
              strcmp(json_string_value(json_object_get(c, "region")), region) == 0 &&
              json_is_string(json_object_get(c, "endpoint")) &&
              strcmp(json_string_value(json_object_get(c, "endpoint")), endpoint) == 0;
    if (ok) {
        *reply = json_incref(r);
        *fetched_at = json_integer_value(t);
    }
    json_decref(c);
    return ok;
}

/* Saves reply to path: a temporary file (0600) renamed over.  Best effort. */
static void cache_write(const char *path, const char *region, const char *endpoint,
                        json_t *reply, int64_t now)
{
    json_t *c = json_pack("{s:i, s:s, s:s, s:I, s:O}", "version", 1, "region", region,
                          "endpoint", endpoint, "fetched_at", (json_int_t)now, "reply",
                          reply);
    char *text = c ? json_dumps(c, JSON_COMPACT) : NULL;
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    json_decref(c);
    if (text && tmp) {
        snprintf(tmp, n, "%s.XXXXXX", path);
        int fd = mkstemp(tmp);   /* mode 0600 */
        if (fd >= 0) {
            size_t len = strlen(text), off = 0;
            ssize_t w = 0;
            while (off < len && (w = write(fd, text + off, len - off)) > 0)
                off += (size_t)w;
            bool ok = off == len && fsync(fd) == 0;
            ok = close(fd) == 0 && ok;
            if (!ok || rename(tmp, path) != 0)
                unlink(tmp);
        }
    }
    free(tmp);
    free(text);
}

/* One ListFoundationModels call: *reply the parsed object (new reference)
 * or an error in err (the one line the caller shows). */
static err_code_t list_call(aws_client_t *cl, long timeout_ms, json_t **reply, err_t *err)
{
    http_response_t resp;
    json_error_t je;
    aws_request_t rq = {.method = "GET", .path = "/foundation-models",
                        .query = "byOutputModality=IMAGE", .timeout_ms = timeout_ms,
                        .max_response = BEDROCK_CATALOG_MAX_REPLY, .no_retry = true};
    http_response_init(&resp);
    err_code_t rc = aws_request(cl, &rq, &resp, err);
    if (rc == ERR_OK) {
        bedrock_catalog_t probe;
        bedrock_catalog_init(&probe);
        /* Parse first so a bad reply is never cached. */
        rc = bedrock_catalog_parse((const char *)resp.body.data, resp.body.len, &probe, err);
        bedrock_catalog_free(&probe);
        if (rc == ERR_OK &&
            !(*reply = json_loadb((const char *)resp.body.data, resp.body.len, 0, &je)))
            rc = err_set(err, ERR_NOMEM, "out of memory");
    }
    http_response_free(&resp);
    return rc;
}

static err_code_t from_reply(json_t *reply, int64_t fetched_at, bedrock_catalog_t *out,
                             err_t *err)
{
    char *text = json_dumps(reply, JSON_COMPACT);
    if (!text)
        return err_set(err, ERR_NOMEM, "out of memory");
    err_code_t rc = bedrock_catalog_parse(text, strlen(text), out, err);
    free(text);
    out->fetched_at = fetched_at;
    return rc;
}

static void fill_access(aws_client_t *cl, long timeout_ms, bedrock_catalog_t *out)
{
    for (size_t i = 0; i < out->n; i++)
        if (bedrock_model_lookup(out->models[i].id))
            out->models[i].access = bedrock_catalog_access(cl, out->models[i].id,
                                                           timeout_ms);
}

err_code_t bedrock_catalog_load(aws_env_t *env, const bedrock_catalog_opts_t *o,
                                bedrock_catalog_t *out, err_t *err)
{
    char url[600];
    err_t e;
    json_t *reply = NULL;
    int64_t now = o->now ? o->now : (int64_t)time(NULL), at = 0;
    long max_age = o->max_age_s > 0 ? o->max_age_s : BEDROCK_CATALOG_MAX_AGE_S;
    long tmo = o->timeout_ms > 0 ? o->timeout_ms : 5000;
    char *path = NULL;
    aws_client_t *cl = NULL;
    err_code_t rc = ERR_OK;

    bedrock_catalog_free(out);
    if (!env) {
        out->fallback = true;
        snprintf(out->why, sizeof out->why, "no AWS environment");
        return ERR_OK;
    }
    if (bedrock_catalog_endpoint(env, url, sizeof url, &e) != ERR_OK) {
        out->fallback = true;
        snprintf(out->why, sizeof out->why, "%s", e.msg);
        return ERR_OK;
    }
    if (o->state_dir && !(path = cache_path(o->state_dir)))
        return err_set(err, ERR_NOMEM, "out of memory");
    const char *region = aws_env_region(env);
    bool cached = cache_read(path, region, url, &reply, &at);
    err_clear(&e);
    if (cached && !o->refresh && at <= now && now - at < max_age) {
        rc = from_reply(reply, at, out, &e);
        if (rc == ERR_OK) {
            if (o->access && (cl = aws_client_new_url(env, ENDPOINT_BEDROCK_RUNTIME, url,
                                                      NULL, &e)) != NULL)
                fill_access(cl, tmo, out);
            goto done;
        }
        bedrock_catalog_free(out);
    }
    cl = aws_client_new_url(env, ENDPOINT_BEDROCK_RUNTIME, url, NULL, &e);
    json_t *fresh = NULL;
    if (cl && list_call(cl, tmo, &fresh, &e) == ERR_OK) {
        json_decref(reply);
        reply = fresh;
        at = now;
        if (path)
            cache_write(path, region, url, reply, now);
        rc = from_reply(reply, at, out, &e);
        if (rc == ERR_OK && o->access)
            fill_access(cl, tmo, out);
        goto done;
    }
    /* The call failed: an older list beats the compiled table. */
    char d[16];
    if (cached && from_reply(reply, at, out, &(err_t){0}) == ERR_OK) {
        out->stale = true;
        snprintf(out->why, sizeof out->why, "%.220s; using the model list cached on %s",
                 e.msg, bedrock_catalog_date(at, d, sizeof d));
    } else {
        bedrock_catalog_free(out);
        out->fallback = true;
        snprintf(out->why, sizeof out->why, "%.220s; using the compiled model table",
                 e.msg);
    }
    rc = ERR_OK;
done:
    if (rc == ERR_NOMEM)
        err_set(err, ERR_NOMEM, "out of memory");
    else if (rc != ERR_OK) {
        bedrock_catalog_free(out);
        out->fallback = true;
        snprintf(out->why, sizeof out->why, "%.220s; using the compiled model table", e.msg);
        rc = ERR_OK;
    }
    aws_client_free(cl);
    json_decref(reply);
    free(path);
    return rc;
}

static int avail_word(json_t *v, const char *yes, const char *no)
{
    if (json_is_object(v))
        v = json_object_get(v, "status");
    if (!json_is_string(v))
        return 0;
    if (strcmp(json_string_value(v), yes) == 0)
        return 1;
    return strcmp(json_string_value(v), no) == 0 ? -1 : 0;
}

bedrock_access_t bedrock_catalog_access(aws_client_t *c, const char *model_id,
                                        long timeout_ms)
{
    char path[400];
    size_t o = (size_t)snprintf(path, sizeof path, "/foundation-model-availability/");
    for (const char *p = model_id; *p && o + 4 < sizeof path; p++) {
        if (*p == ':')
            o += (size_t)snprintf(path + o, sizeof path - o, "%%3A");
        else
            path[o++] = *p;
    }
    path[o] = '\0';
    http_response_t resp;
    json_error_t je;
    err_t e;
    aws_request_t rq = {.method = "GET", .path = path, .timeout_ms = timeout_ms,
                        .max_response = 65536, .no_retry = true};
    bedrock_access_t out = BEDROCK_ACCESS_UNKNOWN;
    http_response_init(&resp);
    if (aws_request(c, &rq, &resp, &e) == ERR_OK) {
        json_t *r = json_loadb((const char *)resp.body.data, resp.body.len, 0, &je);
        int a = avail_word(json_object_get(r, "authorizationStatus"), "AUTHORIZED",
                           "NOT_AUTHORIZED");
        int en = avail_word(json_object_get(r, "entitlementAvailability"), "AVAILABLE",
                            "NOT_AVAILABLE");
        int rg = avail_word(json_object_get(r, "regionAvailability"), "AVAILABLE",
                            "NOT_AVAILABLE");
        if (a < 0 || en < 0 || rg < 0)
            out = BEDROCK_ACCESS_NO;
        else if (a > 0)
            out = BEDROCK_ACCESS_YES;
        json_decref(r);
    }
    http_response_free(&resp);
    return out;
}
