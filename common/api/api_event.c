/* api_event — API Gateway proxy events in, proxy responses out (see api.h).
 *
 * REST APIs (payload v1) send {"httpMethod", "path", "headers",
 * "multiValueHeaders", "body", "isBase64Encoded", "requestContext":
 * {"stage", "path", "identity": {"sourceIp"}}}; HTTP APIs (v2) send
 * {"version": "2.0", "rawPath", "headers", "body", "isBase64Encoded",
 * "requestContext": {"stage", "http": {"method", "path", "sourceIp"}}}.
 * Both take the same response shape.
 *
 * EventBridge Scheduler invokes the same function with its target's Input
 * instead: api_campaign_event() runs the campaign firing it names. */
#include "api/api_internal.h"
#include "campaign/campaign.h"
#include "jobs/cost.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char *str_at(json_t *o, const char *a, const char *b, const char *c)
{
    json_t *v = json_object_get(o, a);
    if (b)
        v = json_object_get(v, b);
    if (c)
        v = json_object_get(v, c);
    return json_string_value(v);
}

/* Copies the string headers of obj (and, for v1, the last value of each
 * multiValueHeaders entry not already present). */
static err_code_t take_headers(api_event_t *ev, json_t *obj, json_t *multi, err_t *err)
{
    size_t cap = json_object_size(obj) + json_object_size(multi);
    const char *k;
    json_t *v;

    if (cap > API_MAX_HEADERS)
        return err_set(err, ERR_INVALID, "event: more than %d headers", API_MAX_HEADERS);
    if (!(ev->headers = calloc(cap ? cap : 1, sizeof *ev->headers)))
        return err_set(err, ERR_NOMEM, "out of memory");
    json_object_foreach(obj, k, v) {
        if (json_is_string(v))
            ev->headers[ev->req.nheaders++] = (api_header_t){k, json_string_value(v)};
        else if (!json_is_null(v))
            return err_set(err, ERR_INVALID, "event: header %s: expected a string", k);
    }
    json_object_foreach(multi, k, v) {
        size_t n = json_array_size(v);
        json_t *last = n ? json_array_get(v, n - 1) : NULL;
        ev->req.headers = ev->headers;
        if (json_is_string(last) && !api_header(&ev->req, k))
            ev->headers[ev->req.nheaders++] = (api_header_t){k, json_string_value(last)};
    }
    ev->req.headers = ev->headers;
    return ERR_OK;
}

/* Removes a "/STAGE" prefix from path (when stage is a named stage the
 * path carries), keeping it as the base for status URLs. */
static err_code_t split_stage(api_event_t *ev, const char *path, const char *stage,
                              bool path_has_stage, err_t *err)
{
    size_t sl = stage ? strlen(stage) : 0;
    const char *rest = path;
    ev->base_path = strdup("");
    if (path_has_stage && sl && strcmp(stage, "$default") != 0 && path[0] == '/' &&
        strncmp(path + 1, stage, sl) == 0 && (path[sl + 1] == '/' || !path[sl + 1])) {
        free(ev->base_path);
        if ((ev->base_path = malloc(sl + 2))) {
            ev->base_path[0] = '/';
            memcpy(ev->base_path + 1, stage, sl + 1);
        }
        rest = path + sl + 1;
    }
    ev->path = strdup(*rest ? rest : "/");
    if (!ev->path || !ev->base_path)
        return err_set(err, ERR_NOMEM, "out of memory");
    ev->req.path = ev->path;
    ev->req.base_path = ev->base_path;
    return ERR_OK;
}

/* The query string: v2's rawQueryString as it is; v1's decoded
 * queryStringParameters percent-encoded again ("k=v&..."), so the router
 * reads one form either way. */
static err_code_t take_query(api_event_t *ev, json_t *root, bool v2, err_t *err)
{
    static const char hex[] = "0123456789ABCDEF";
    const char *raw = v2 ? json_string_value(json_object_get(root, "rawQueryString")) : NULL;
    json_t *qs = v2 ? NULL : json_object_get(root, "queryStringParameters");
    buf_t b = BUF_INIT;
    err_code_t rc = ERR_OK;
    if (raw && *raw) {
        rc = buf_append_str(&b, raw);
    } else if (json_is_object(qs)) {
        const char *k;
        json_t *v;
        json_object_foreach(qs, k, v) {
            if (!json_is_string(v))
                continue;
            if (b.len)
                rc = rc ? rc : buf_append(&b, "&", 1);
            for (int part = 0; part < 2 && rc == ERR_OK; part++) {
                const char *s = part ? json_string_value(v) : k;
                if (part)
                    rc = buf_append(&b, "=", 1);
                for (const unsigned char *p = (const unsigned char *)s; *p && !rc; p++) {
                    char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
                    bool plain = isalnum(*p) || strchr("-._~", *p);
                    rc = buf_append(&b, plain ? (const char *)p : esc, plain ? 1 : 3);
                }
            }
        }
    }
    if (rc != ERR_OK) {
        buf_free(&b);
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    if (b.len) {
        ev->query = buf_steal(&b);
        ev->req.query = ev->query;
    }
    buf_free(&b);
    return ERR_OK;
}

err_code_t api_event_parse(const char *json, size_t len, api_event_t *ev, err_t *err)
{
    json_error_t je;
    json_t *root;
    const char *method, *path, *stage, *body;
    bool v2;
    err_code_t rc;

    memset(ev, 0, sizeof *ev);
    if (!(root = json_loadb(json, len, 0, &je)))
        return err_set(err, ERR_INVALID, "event: invalid JSON: %s", je.text);
    ev->root = root;
    if (!json_is_object(root))
        return err_set(err, ERR_INVALID, "event: expected a JSON object");
    v2 = json_is_string(json_object_get(root, "version")) &&
         strcmp(str_at(root, "version", NULL, NULL), "2.0") == 0;
    stage = str_at(root, "requestContext", "stage", NULL);
    if (v2) {
        method = str_at(root, "requestContext", "http", "method");
        path = str_at(root, "rawPath", NULL, NULL);
        ev->req.client = str_at(root, "requestContext", "http", "sourceIp");
    } else {
        method = str_at(root, "httpMethod", NULL, NULL);
        path = str_at(root, "path", NULL, NULL);
        ev->req.client = str_at(root, "requestContext", "identity", "sourceIp");
    }
    if (!method || !path || !*method || path[0] != '/')
        return err_set(err, ERR_INVALID,
                       "event: not an API Gateway proxy event (no %s method and path)",
                       v2 ? "requestContext.http" : "httpMethod/path");
    ev->req.method = method;
    /* v2's rawPath keeps a named stage; v1's path does not (its
     * requestContext.path does), but status URLs need it either way. */
    if (v2) {
        if ((rc = split_stage(ev, path, stage, true, err)) != ERR_OK)
            return rc;
    } else {
        const char *ctx_path = str_at(root, "requestContext", "path", NULL);
        bool staged = ctx_path && stage && strcmp(ctx_path, path) != 0;
        if ((rc = split_stage(ev, path, NULL, false, err)) != ERR_OK)
            return rc;
        if (staged) {
            free(ev->base_path);
            size_t sl = strlen(stage);
            if (!(ev->base_path = malloc(sl + 2)))
                return err_set(err, ERR_NOMEM, "out of memory");
            ev->base_path[0] = '/';
            memcpy(ev->base_path + 1, stage, sl + 1);
            ev->req.base_path = ev->base_path;
        }
    }
    if ((rc = take_headers(ev, json_object_get(root, "headers"),
                           v2 ? NULL : json_object_get(root, "multiValueHeaders"), err)) !=
        ERR_OK)
        return rc;

    if ((rc = take_query(ev, root, v2, err)) != ERR_OK)
        return rc;

    json_t *jb = json_object_get(root, "body");
    if (jb && !json_is_null(jb) && !json_is_string(jb))
        return err_set(err, ERR_INVALID, "event: body: expected a string");
    body = json_string_value(jb);
    size_t blen = json_string_length(jb);
    json_t *b64 = json_object_get(root, "isBase64Encoded");
    if (b64 && !json_is_boolean(b64))
        return err_set(err, ERR_INVALID, "event: isBase64Encoded: expected true or false");
    if (body && json_is_true(b64)) {
        /* Base64 is 4/3 of the bytes: a longer text cannot fit the limit. */
        if (blen > (API_MAX_BODY / 3 + 1) * 4)
            ev->req.body_too_big = true;
        else if ((rc = base64_decode(body, blen, &ev->body, err)) != ERR_OK)
            return err_prefix(err, "event: body");
    } else if (body && buf_append(&ev->body, body, blen) != ERR_OK) {
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    if (ev->body.len > API_MAX_BODY)
        ev->req.body_too_big = true;
    ev->req.body = (const char *)ev->body.data;
    ev->req.body_len = ev->body.len;
    return ERR_OK;
}

void api_event_free(api_event_t *ev)
{
    json_decref(ev->root);
    free(ev->headers);
    free(ev->path);
    free(ev->base_path);
    free(ev->query);
    buf_free(&ev->body);
    memset(ev, 0, sizeof *ev);
}

err_code_t api_event_response(const api_response_t *r, buf_t *out)
{
    json_t *h = json_object();
    json_object_set_new(h, "content-type",
                        json_string(r->content_type ? r->content_type : "application/json"));
    json_object_set_new(h, "cache-control",
                        json_string(r->cache_control[0] ? r->cache_control : "no-store"));
    if (r->retry_after > 0)
        json_object_set_new(h, "retry-after", json_sprintf("%d", r->retry_after));
    if (r->allow)
        json_object_set_new(h, "allow", json_string(r->allow));
    if (r->etag[0])
        json_object_set_new(h, "etag", json_string(r->etag));
    if (r->last_modified[0])
        json_object_set_new(h, "last-modified", json_string(r->last_modified));
    if (r->content_range[0])
        json_object_set_new(h, "content-range", json_string(r->content_range));
    if (r->accept_ranges)
        json_object_set_new(h, "accept-ranges", json_string("bytes"));
    if (r->csp) {
        json_object_set_new(h, "content-security-policy", json_string(r->csp));
        json_object_set_new(h, "x-content-type-options", json_string("nosniff"));
    }
    /* API Gateway carries bytes only as base64 (isBase64Encoded). */
    buf_t b64 = BUF_INIT;
    if (r->binary && r->body && base64_encode(r->body, r->body_len, &b64) != ERR_OK) {
        json_decref(h);
        buf_free(&b64);
        return ERR_NOMEM;
    }
    json_t *o = r->binary && r->body
        ? json_pack("{s:i,s:o,s:s%,s:b}", "statusCode", r->status, "headers", h, "body",
                    (const char *)b64.data, b64.len, "isBase64Encoded", 1)
        : json_pack("{s:i,s:o,s:s%,s:b}", "statusCode", r->status, "headers", h, "body",
                    r->body ? r->body : "", r->body ? r->body_len : (size_t)0,
                    "isBase64Encoded", 0);
    buf_free(&b64);
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (!s)
        return ERR_NOMEM;
    err_code_t rc = buf_append_str(out, s);
    free(s);
    return rc;
}

err_code_t api_campaign_event(api_t *a, const char *json, size_t len, const char *dir,
                              buf_t *out, err_t *err)
{
    campaign_t c;
    int64_t slot = 0;
    cost_table_t *prices = NULL;
    api_backends_t *be = NULL;
    campaign_fire_t r;
    err_code_t rc;

    int64_t now_ms = a->now_ms();
    if ((rc = campaign_event_parse(json, len, dir, now_ms / 1000, &c, &slot, err)) != ERR_OK ||
        (rc = cost_table_default(NULL, &prices, err)) != ERR_OK)
        goto out;
    if ((rc = api_pool_acquire(a->pool, &be, err)) != ERR_OK)
        goto out;
    rc = campaign_fire(&c, slot, a->o.cfg->model, a->o.cfg->webhook_secret, prices,
                       be->ledger, be->queue, &r, err);
    /* A refusal leaves the handles as good as they were; a back-end
     * failure may not have. */
    api_pool_release(a->pool, be, rc != ERR_OK && rc != ERR_TOOBIG && rc != ERR_INVALID &&
                                      rc != ERR_NOTFOUND && rc != ERR_CONFLICT &&
                                      rc != ERR_CONFIG);
    if (rc == ERR_OK && campaign_fire_json(&c, &r, out) != ERR_OK)
        rc = err_set(err, ERR_NOMEM, "out of memory");
out:
    cost_table_free(prices);
    campaign_free(&c);
    return rc;
}
