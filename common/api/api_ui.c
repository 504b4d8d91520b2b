/* api_ui — the dashboard (issue 19), served by the same router as the API
 * so it works under --listen and behind API Gateway in --lambda.
 *
 *   /ui/, /ui/batches/{id}, /ui/jobs/{id}   one HTML page (the script reads
 *                                           the path), public: no data in it
 *   /ui/app.js, /ui/app.css, ...            the embedded files, public
 *   GET  /ui/api/overview                   batches, workers, throughput
 *   GET  /ui/api/batches/{id}               a page of the batch (live view)
 *   GET  /ui/api/jobs/{id}                  the job's image links
 *   POST /ui/api/batches/{id}/cancel        cancels the batch's open jobs
 *
 * /ui/api/ needs the API key when keys are configured (the page asks for
 * it once), and its POSTs need Content-Type: application/json, which a
 * cross-site form cannot send, so another site cannot cancel a batch
 * through a visitor's browser. */
#include "api/api_ui_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CSP                                                                                 \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https: " \
    "http:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

bool api_ui_public(const char *path)
{
    return strncmp(path, "/ui/api/", 8) != 0 && strcmp(path, "/ui/api") != 0;
}

static const api_ui_asset_t *asset(const char *name)
{
    for (const api_ui_asset_t *p = api_ui_assets; p->path; p++)
        if (strcmp(p->path, name) == 0)
            return p;
    return NULL;
}

/* Copies f into resp; "%BASE%" in the HTML becomes the request's base
 * path (API Gateway's stage, "" otherwise), so links work under a stage. */
static void serve_asset(const api_ui_asset_t *f, const api_request_t *req,
                        api_response_t *resp)
{
    const char *base = req->base_path ? req->base_path : "";
    for (const char *p = base; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("/-_.", *p))
            base = "";
    buf_t b = BUF_INIT;
    err_code_t rc = ERR_OK;
    const char *p = f->data, *end = f->data + f->len;
    while (rc == ERR_OK && p < end) {
        const char *t = strcmp(f->content_type, "text/html; charset=utf-8") == 0
                            ? memmem(p, (size_t)(end - p), "%BASE%", 6)
                            : NULL;
        rc = buf_append(&b, p, t ? (size_t)(t - p) : (size_t)(end - p));
        if (rc == ERR_OK && t)
            rc = buf_append_str(&b, base);
        p = t ? t + 6 : end;
    }
    resp->body_len = b.len;
    if (rc != ERR_OK || !(resp->body = buf_steal(&b))) {
        buf_free(&b);
        api_error(resp, 500, "internal", "out of memory");
        return;
    }
    resp->status = 200;
    resp->content_type = f->content_type;
    resp->csp = CSP;
    /* The files change only with the binary; a minute of caching spares
     * reloads without keeping an old page after an upgrade. */
    snprintf(resp->cache_control, sizeof resp->cache_control, "public, max-age=60");
}

/* The id between prefix and the rest of path (suffix: what must follow,
 * "" for nothing); false when path is not of that shape or the id is bad. */
static bool id_in(const char *path, const char *prefix, const char *suffix, char *id,
                  size_t cap)
{
    size_t pl = strlen(prefix), sl = strlen(suffix), n = strlen(path);
    if (strncmp(path, prefix, pl) != 0 || n <= pl + sl || strcmp(path + n - sl, suffix) != 0 ||
        n - pl - sl >= cap)
        return false;
    memcpy(id, path + pl, n - pl - sl);
    id[n - pl - sl] = '\0';
    return job_id_valid(id) && !strchr(id, '/');
}

static void job_links(api_t *a, const api_request_t *req, const char *id,
                      api_response_t *resp)
{
    api_backends_t *be;
    ledger_job_t *jobs = NULL;
    size_t n = 0, best = 0;
    err_t e;
    if (!api_borrow(a, resp, &be))
        return;
    err_clear(&e);
    api_ui_cache_count(a->ui, 1);
    if (ledger_get_jobs(be->ledger, NULL, id, &jobs, &n, &e) != ERR_OK || n == 0) {
        if (n == 0 && e.code == ERR_OK)
            err_set(&e, ERR_NOTFOUND, "no such job: %s", id);
        api_backend_error(resp, &e);
        api_pool_release(a->pool, be, resp->status >= 500);
        ledger_jobs_free(jobs, n);
        return;
    }
    for (size_t i = 1; i < n; i++)
        if (jobs[i].created_ms > jobs[best].created_ms)
            best = i;
    const ledger_job_t *j = &jobs[best];
    json_t *o = json_pack("{s:s,s:s}", "job_id", j->job_id, "batch_id", j->batch_id);
    size_t kl = j->store_key ? strlen(j->store_key) : 0;
    if (j->state == JOB_SUCCEEDED && kl > 4 && strcmp(j->store_key + kl - 4, ".png") == 0) {
        static const char *const kinds[][2] = {
            {"poster_url", ".png"}, {"raw_url", ".raw.png"}, {"thumb_url", ".thumb.webp"}};
        for (size_t k = 0; k < 3; k++) {
            char key[600];
            int64_t bytes, mtime;
            snprintf(key, sizeof key, "%.*s%s", (int)(kl - 4), j->store_key, kinds[k][1]);
            /* The raw art exists only when it differs from the poster;
             * a store that cannot tell (S3 here) gets no raw link. */
            if (k == 1 && store_stat(be->store, key, &bytes, &mtime, &e) != ERR_OK)
                continue;
            if (k == 2 && strncmp(a->o.cfg && a->o.cfg->store ? a->o.cfg->store : "", "file:",
                                  5) != 0)
                continue;
            char *url = api_ui_url(a, be, req, key);
            if (url)
                json_object_set_new(o, kinds[k][0], json_string(url));
            free(url);
        }
    }
    ledger_jobs_free(jobs, n);
    api_pool_release(a->pool, be, false);
    api_json(resp, 200, o);
}

static void cancel_batch(api_t *a, const api_request_t *req, const char *id,
                         api_response_t *resp)
{
    api_backends_t *be;
    size_t n = 0;
    err_t e;
    const char *ct = api_header(req, "content-type");
    if (!ct || strncasecmp(ct, "application/json", 16) != 0) {
        api_error(resp, 415, "unsupported_media_type",
                  "send the request as Content-Type: application/json");
        return;
    }
    if (!api_borrow(a, resp, &be))
        return;
    err_clear(&e);
    ledger_batch_t b;
    memset(&b, 0, sizeof b);
    err_code_t rc = ledger_get_batch(be->ledger, id, &b, &e);
    ledger_batch_free(&b);
    if (rc == ERR_OK)
        rc = ledger_cancel(be->ledger, id, NULL, &n, &e);
    if (rc != ERR_OK) {
        api_backend_error(resp, &e);
        api_pool_release(a->pool, be, resp->status >= 500);
        return;
    }
    api_pool_release(a->pool, be, false);
    api_json(resp, 200, json_pack("{s:s,s:I}", "batch_id", id, "cancelled", (json_int_t)n));
}

void api_ui_handle(api_t *a, const api_request_t *req, api_response_t *resp)
{
    const char *path = req->path;
    const char *m = req->method ? req->method : "";
    bool get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
    char id[JOB_ID_MAX + 2];

    if (strcmp(path, "/ui/api/batches/") > 0 && id_in(path, "/ui/api/batches/", "/cancel", id,
                                                      sizeof id)) {
        if (strcmp(m, "POST") != 0) {
            api_error(resp, 405, "method_not_allowed", "this path allows POST");
            resp->allow = "POST";
            return;
        }
        cancel_batch(a, req, id, resp);
        return;
    }
    if (api_ui_public(path) || strncmp(path, "/ui/api/", 8) == 0) {
        if (!get) {
            api_error(resp, 405, "method_not_allowed", "this path allows GET");
            resp->allow = "GET";
            return;
        }
    }
    if (strcmp(path, "/ui/api/overview") == 0) {
        api_ui_overview_json(a, req, resp);
        return;
    }
    if (id_in(path, "/ui/api/batches/", "", id, sizeof id)) {
        api_ui_batch_json(a, req, id, resp);
        return;
    }
    if (id_in(path, "/ui/api/jobs/", "", id, sizeof id)) {
        job_links(a, req, id, resp);
        return;
    }
    if (strcmp(path, "/ui/api/stats") == 0) {
        api_json(resp, 200, json_pack("{s:I}", "ledger_queries",
                                      (json_int_t)api_ui_cache_queries(a->ui)));
        return;
    }
    const api_ui_asset_t *f = NULL;
    if (strcmp(path, "/ui") == 0 || strcmp(path, "/ui/") == 0 ||
        id_in(path, "/ui/batches/", "", id, sizeof id) ||
        id_in(path, "/ui/jobs/", "", id, sizeof id))
        f = asset("index.html");
    else if (strncmp(path, "/ui/", 4) == 0 && !strchr(path + 4, '/'))
        f = asset(path + 4);
    if (!f) {
        api_error(resp, 404, "not_found", "no such page");
        return;
    }
    serve_asset(f, req, resp);
}
