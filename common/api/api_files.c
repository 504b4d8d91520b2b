/* api_files — the file store over HTTP (issue 19): signed URLs
 * http(s)://HOST/files/BATCH/NAME?expires=UNIX&sig=HEX, like S3's
 * presigned GETs, and GET|HEAD /files/... serving the object with its
 * ETag, Last-Modified, Cache-Control and single byte ranges.
 *
 * The signature is HMAC-SHA256 over "GET\nKEY\nEXPIRES" with a 32-byte
 * server secret kept in STATE/files.key (0600, made on first use).  A URL
 * names exactly two path segments that must each be an id (letters,
 * digits, "._:-", not starting with '.'), so no URL can reach outside the
 * store, signed or not. */
#include "api/api_internal.h"

#include "base/log.h"
#include "jobs/job.h"
#include "poster/poster.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SECRET_LEN 32
#define THUMB_SUFFIX ".thumb.webp"

bool api_borrow(api_t *a, api_response_t *resp, api_backends_t **be)
{
    err_t e;
    err_clear(&e);
    if (api_pool_acquire(a->pool, be, &e) == ERR_OK)
        return true;
    if (e.code == ERR_THROTTLED) {
        api_error(resp, 503, "busy", "the server is busy; retry shortly");
        snprintf(resp->detail, sizeof resp->detail, "%s", e.msg);
        resp->retry_after = 1;
        return false;
    }
    if (e.code == ERR_NOTFOUND || e.code == ERR_INVALID || e.code == ERR_CONFLICT)
        e.code = ERR_UNAVAILABLE;
    api_backend_error(resp, &e);
    return false;
}

static err_code_t read_secret(const char *path, uint8_t key[SECRET_LEN], err_t *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? ERR_NOTFOUND
                               : err_set(err, ERR_CONFIG, "%s: %s", path, strerror(errno));
    ssize_t n = read(fd, key, SECRET_LEN);
    struct stat st;
    int bad_mode = fstat(fd, &st) == 0 && (st.st_mode & 077);
    close(fd);
    if (n != SECRET_LEN)
        return err_set(err, ERR_CONFIG, "%s: not a %d-byte secret; remove it to make a new one",
                       path, SECRET_LEN);
    if (bad_mode)
        return err_set(err, ERR_CONFIG, "%s: readable by others; chmod 600 %s", path, path);
    return ERR_OK;
}

err_code_t api_files_secret(const char *state_dir, uint8_t key[SECRET_LEN], err_t *err)
{
    char path[4096], tmp[4160];
    if (!state_dir || !*state_dir)
        return err_set(err, ERR_CONFIG, "files: no state directory for the URL secret");
    if ((size_t)snprintf(path, sizeof path, "%s/files.key", state_dir) >= sizeof path)
        return err_set(err, ERR_CONFIG, "files: state directory path too long");
    err_code_t rc = read_secret(path, key, err);
    if (rc != ERR_NOTFOUND)
        return rc;
    /* A new secret goes to a private temporary file first and is linked
     * into place: link() fails if another process won the race, and then
     * its secret (complete, never half-written) is the one used. */
    uint8_t r[8];
    char rh[17];
    if (crypto_random(r, sizeof r) != ERR_OK || crypto_random(key, SECRET_LEN) != ERR_OK)
        return err_set(err, ERR_INTERNAL, "files: no random bytes for the URL secret");
    hex_encode(r, sizeof r, rh);
    snprintf(tmp, sizeof tmp, "%s.%s.tmp", path, rh);
    if (mkdir(state_dir, 0700) != 0 && errno != EEXIST)
        return err_set(err, ERR_CONFIG, "%s: %s", state_dir, strerror(errno));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return err_set(err, ERR_CONFIG, "%s: %s", tmp, strerror(errno));
    bool ok = write(fd, key, SECRET_LEN) == SECRET_LEN && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    int lerr = ok && link(tmp, path) != 0 ? errno : 0;
    unlink(tmp);
    if (!ok)
        return err_set(err, ERR_IO, "%s: cannot write the URL secret", path);
    if (lerr == EEXIST)
        return read_secret(path, key, err);
    if (lerr)
        return err_set(err, ERR_CONFIG, "%s: %s", path, strerror(lerr));
    return ERR_OK;
}

/* The server's secret, loaded (or made) once. */
static err_code_t secret(api_t *a, uint8_t out[SECRET_LEN], err_t *err)
{
    err_code_t rc = ERR_OK;
    pthread_mutex_lock(&a->files_mu);
    if (!a->files_keyed) {
        rc = api_files_secret(a->o.cfg ? a->o.cfg->state_dir : NULL, a->files_key, err);
        a->files_keyed = rc == ERR_OK;
    }
    if (rc == ERR_OK)
        memcpy(out, a->files_key, SECRET_LEN);
    pthread_mutex_unlock(&a->files_mu);
    return rc;
}

err_code_t api_files_sign(const uint8_t key[SECRET_LEN], const char *store_key,
                          int64_t expires, char sig[SHA256_HEX_LEN])
{
    char msg[600];
    uint8_t mac[SHA256_LEN];
    int n = snprintf(msg, sizeof msg, "GET\n%s\n%lld", store_key, (long long)expires);
    if (n < 0 || (size_t)n >= sizeof msg)
        return ERR_TOOBIG;
    err_code_t rc = crypto_hmac_sha256(key, SECRET_LEN, msg, (size_t)n, mac);
    if (rc == ERR_OK)
        hex_encode(mac, SHA256_LEN, sig);
    return rc;
}

/* A name is an id followed by an optional ".ext" chain: id characters
 * only, not starting with '.'. */
static bool segment_ok(const char *s, size_t n)
{
    if (n == 0 || n > JOB_ID_MAX + 32 || s[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("._:-", s[i]))
            return false;
    return true;
}

bool api_files_key_ok(const char *key)
{
    const char *slash = strchr(key, '/');
    return slash && !strchr(slash + 1, '/') && segment_ok(key, (size_t)(slash - key)) &&
           segment_ok(slash + 1, strlen(slash + 1));
}

bool api_files_base(const api_t *a, const api_request_t *req, char *out, size_t cap)
{
    const char *pub = a->o.cfg ? a->o.cfg->public_url : NULL;
    if (pub && *pub)
        return (size_t)snprintf(out, cap, "%s", pub) < cap;
    if (!a->o.loopback)
        return false;
    const char *host = api_header(req, "host");
    size_t n = host ? strlen(host) : 0;
    if (n == 0 || n > 255)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)host[i]) && !strchr(".-:[]", host[i]))
            return false;
    return (size_t)snprintf(out, cap, "http://%s%s", host,
                            req->base_path ? req->base_path : "") < cap;
}

char *api_files_url(api_t *a, const api_request_t *req, const char *store_key, long ttl_s,
                    int64_t *expires_unix)
{
    char base[512], sig[SHA256_HEX_LEN];
    uint8_t key[SECRET_LEN];
    err_t e;
    if (!api_files_key_ok(store_key) || !api_files_base(a, req, base, sizeof base) ||
        secret(a, key, &e) != ERR_OK)
        return NULL;
    int64_t exp = a->now_ms() / 1000 + (ttl_s > 0 ? ttl_s : 3600);
    if (api_files_sign(key, store_key, exp, sig) != ERR_OK)
        return NULL;
    buf_t b = BUF_INIT;
    if (buf_appendf(&b, "%s/files/%s?expires=%lld&sig=%s", base, store_key, (long long)exp,
                    sig) != ERR_OK) {
        buf_free(&b);
        return NULL;
    }
    if (expires_unix)
        *expires_unix = exp;
    return buf_steal(&b);
}

char *api_files_link(const char *state_dir, const char *base, const char *store_key,
                     int64_t expires, err_t *err)
{
    uint8_t key[SECRET_LEN];
    char sig[SHA256_HEX_LEN];
    if (!api_files_key_ok(store_key)) {
        err_set(err, ERR_INVALID, "%s: not a key /files serves", store_key);
        return NULL;
    }
    if (api_files_secret(state_dir, key, err) != ERR_OK)
        return NULL;
    buf_t b = BUF_INIT;
    if (api_files_sign(key, store_key, expires, sig) != ERR_OK ||
        buf_appendf(&b, "%s/files/%s?expires=%lld&sig=%s", base, store_key,
                    (long long)expires, sig) != ERR_OK) {
        buf_free(&b);
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    return buf_steal(&b);
}

/* The value of query parameter name (borrowed span), or false. */
static bool query_param(const char *q, const char *name, const char **v, size_t *n)
{
    size_t nl = strlen(name);
    for (const char *p = q; p && *p;) {
        const char *amp = strchr(p, '&'), *end = amp ? amp : p + strlen(p);
        if ((size_t)(end - p) > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            *v = p + nl + 1;
            *n = (size_t)(end - *v);
            return true;
        }
        p = amp ? amp + 1 : NULL;
    }
    return false;
}

bool api_query_param(const api_request_t *req, const char *name, char *out, size_t cap)
{
    const char *v;
    size_t n;
    if (!query_param(req->query, name, &v, &n) || n >= cap)
        return false;
    memcpy(out, v, n);
    out[n] = '\0';
    return true;
}

static const char *type_of(const char *key)
{
    size_t n = strlen(key);
    static const struct { const char *ext, *type; } t[] = {
        {".png", "image/png"}, {".webp", "image/webp"}, {".jpg", "image/jpeg"},
        {".json", "application/json"},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        size_t el = strlen(t[i].ext);
        if (n > el && strcmp(key + n - el, t[i].ext) == 0)
            return t[i].type;
    }
    return "application/octet-stream";
}

/* Makes BATCH/JOB.thumb.webp from BATCH/JOB.png when absent (256 px
 * wide), storing it beside the poster; concurrent makers write the same
 * bytes, and the store's put is atomic. */
static err_code_t ensure_thumb(store_t *s, const char *key, err_t *err)
{
    int64_t bytes, mtime;
    err_code_t rc = store_stat(s, key, &bytes, &mtime, err);
    if (rc != ERR_NOTFOUND)
        return rc;
    char poster[600];
    size_t kl = strlen(key), sl = strlen(THUMB_SUFFIX);
    snprintf(poster, sizeof poster, "%.*s.png", (int)(kl - sl), key);
    uint8_t *data = NULL, sha[SHA256_LEN];
    size_t len = 0;
    if ((rc = store_get(s, poster, &data, &len, err)) != ERR_OK)
        return rc;
    buf_t out = BUF_INIT;
    rc = poster_thumbnail_webp(data, len, API_THUMB_W, API_THUMB_W * 4, 80, &out, NULL, NULL,
                               err);
    free(data);
    if (rc == ERR_OK && (rc = crypto_sha256(out.data, out.len, sha)) == ERR_OK)
        rc = store_put(s, key, out.data, out.len, sha, "image/webp", err);
    buf_free(&out);
    return rc;
}

static void http_date(int64_t ms, char *out, size_t cap)
{
    struct tm tm;
    time_t t = (time_t)(ms / 1000);
    gmtime_r(&t, &tm);
    strftime(out, cap, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* Parses a single "bytes=a-b", "bytes=a-" or "bytes=-n" range over len
 * bytes.  1: satisfiable, [*from, *to] set; 0: not a range we serve (the
 * whole object goes); -1: unsatisfiable (416). */
static int parse_range(const char *h, int64_t len, int64_t *from, int64_t *to)
{
    if (strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
        return 0;
    const char *p = h + 6, *dash = strchr(p, '-');
    char *end;
    if (!dash)
        return 0;
    if (dash == p) {
        long long n = strtoll(dash + 1, &end, 10);
        if (*end || !isdigit((unsigned char)dash[1]) || n <= 0)
            return n == 0 && !*end ? -1 : 0;
        *from = n >= len ? 0 : len - n;
        *to = len - 1;
        return len > 0 ? 1 : -1;
    }
    if (!isdigit((unsigned char)*p))
        return 0;
    long long a = strtoll(p, &end, 10), b = len - 1;
    if (end != dash)
        return 0;
    if (dash[1]) {
        if (!isdigit((unsigned char)dash[1]))
            return 0;
        b = strtoll(dash + 1, &end, 10);
        if (*end || b < a)
            return 0;
    }
    if (a >= len)
        return -1;
    *from = a;
    *to = b >= len ? len - 1 : b;
    return 1;
}

void api_files_get(api_t *a, const api_request_t *req, const char *key, api_response_t *resp)
{
    char exp_s[24], sig[SHA256_HEX_LEN + 2], want[SHA256_HEX_LEN];
    uint8_t secret_key[SECRET_LEN];
    err_t e;
    char *end;
    if (!api_files_key_ok(key) || !api_query_param(req, "expires", exp_s, sizeof exp_s) ||
        !api_query_param(req, "sig", sig, sizeof sig) || strlen(sig) != SHA256_HEX_LEN - 1 ||
        !isdigit((unsigned char)exp_s[0])) {
        api_error(resp, 403, "bad_signature",
                  "this link is not a signed file URL (expires and sig are required)");
        return;
    }
    long long exp = strtoll(exp_s, &end, 10);
    for (char *p = sig; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (*end || secret(a, secret_key, &e) != ERR_OK ||
        api_files_sign(secret_key, key, exp, want) != ERR_OK ||
        !crypto_equal(want, sig, SHA256_HEX_LEN - 1)) {
        api_error(resp, 403, "bad_signature", "the link's signature is not valid");
        return;
    }
    int64_t now = a->now_ms() / 1000;
    if (exp < now) {
        api_error(resp, 403, "expired", "the link expired; ask for a fresh one");
        return;
    }
    api_backends_t *be;
    if (!api_borrow(a, resp, &be))
        return;
    int64_t bytes = 0, mtime = 0;
    uint8_t *data = NULL;
    size_t len = 0;
    size_t kl = strlen(key), sl = strlen(THUMB_SUFFIX);
    err_code_t rc = ERR_OK;
    err_clear(&e);
    if (kl > sl && strcmp(key + kl - sl, THUMB_SUFFIX) == 0)
        rc = ensure_thumb(be->store, key, &e);
    if (rc == ERR_OK)
        rc = store_stat(be->store, key, &bytes, &mtime, &e);
    if (rc == ERR_OK) {
        snprintf(resp->etag, sizeof resp->etag, "\"%llx-%llx\"", (unsigned long long)bytes,
                 (unsigned long long)mtime);
        const char *inm = api_header(req, "if-none-match");
        if (inm && (strstr(inm, resp->etag) || strcmp(inm, "*") == 0)) {
            api_pool_release(a->pool, be, false);
            resp->status = 304;
            goto headers;
        }
        rc = store_get(be->store, key, &data, &len, &e);
    }
    api_pool_release(a->pool, be, rc != ERR_OK && rc != ERR_NOTFOUND && rc != ERR_INVALID);
    if (rc != ERR_OK) {
        if (rc == ERR_NOTFOUND || rc == ERR_INTERNAL || rc == ERR_INVALID) {
            snprintf(resp->detail, sizeof resp->detail, "%s", e.msg);
            api_error(resp, 404, "not_found", "no such file");
        } else {
            api_backend_error(resp, &e);
        }
        return;
    }
    resp->status = 200;
    resp->body = (char *)data;
    resp->body_len = len;
    const char *range = api_header(req, "range"), *if_range = api_header(req, "if-range");
    if (range && (!if_range || strcmp(if_range, resp->etag) == 0)) {
        int64_t from = 0, to = 0;
        int r = parse_range(range, (int64_t)len, &from, &to);
        if (r < 0) {
            free(data);
            resp->body = NULL;
            api_error(resp, 416, "range_not_satisfiable", "the range is outside the %zu bytes",
                      len);
            snprintf(resp->content_range, sizeof resp->content_range, "bytes */%zu", len);
            return;
        }
        if (r > 0) {
            memmove(data, data + from, (size_t)(to - from + 1));
            resp->body_len = (size_t)(to - from + 1);
            resp->status = 206;
            snprintf(resp->content_range, sizeof resp->content_range, "bytes %lld-%lld/%zu",
                     (long long)from, (long long)to, len);
        }
    }
headers:
    resp->content_type = type_of(key);
    resp->binary = true;
    resp->accept_ranges = true;
    http_date(mtime, resp->last_modified, sizeof resp->last_modified);
    /* Cached no longer than the link is valid: a revoked secret or an
     * expired link stops working for caches too. */
    snprintf(resp->cache_control, sizeof resp->cache_control, "private, max-age=%lld",
             exp - now);
}
