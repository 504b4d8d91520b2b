/* Tests for the file store over HTTP (common/api/api_files.c, issue 19):
 * the URL secret file, signed /files links (good, expired, tampered, wrong
 * path, malformed), ranges, HEAD, ETag revalidation, lazy WebP thumbnails,
 * public_url, and the query string and binary bodies through API Gateway
 * events -- over real SQLite back-ends and a file store in a private
 * directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <webp/decode.h>

#include "api/api_internal.h"
#include "poster/pngenc.h"
#include "poster/poster.h"
#include "store/store.h"
#include "api_fixture.h"
#include "testutil.h"

static int64_t fixed_now = 1800000000000LL;
static int64_t clock_fixed(void) { return fixed_now; }

static api_fx_t *fx(void)
{
    api_options_t o = {.loopback = true, .sync_timeout_s = 0, .poll_interval_s = 0.05};
    api_fx_t *f = api_fx_new(o, false, NULL);
    fixed_now = 1800000000000LL;
    api_set_clock(f->api, clock_fixed);
    return f;
}

/* Puts data at key in the fixture's store. */
static void put(api_fx_t *f, const char *key, const void *data, size_t len)
{
    err_t e;
    uint8_t sha[SHA256_LEN];
    store_t *s = store_open(f->cfg.store, &e);
    assert_non_null(s);
    assert_int_equal(crypto_sha256(data, len, sha), ERR_OK);
    assert_int_equal(store_put(s, key, data, len, sha, "image/png", &e), ERR_OK);
    store_close(s);
}

/* GET (or method) of url's path and query, with up to two extra headers. */
static int get(api_fx_t *f, const char *method, const char *url, const char *h1,
               const char *v1, const char *h2, const char *v2, api_response_t *r)
{
    char path[1024];
    const char *p = strstr(url, "/files/");
    if (!p)
        p = url;
    snprintf(path, sizeof path, "%s", p);
    char *q = strchr(path, '?');
    if (q)
        *q++ = '\0';
    api_header_t h[3] = {{"Host", "127.0.0.1:8080"}, {h1, v1}, {h2, v2}};
    api_request_t req = {.method = method, .path = path, .query = q, .headers = h,
                         .nheaders = h2 ? 3 : h1 ? 2 : 1, .client = "127.0.0.1",
                         .base_path = ""};
    api_response_free(r);
    api_handle(f->api, &req, r);
    return r->status;
}

static char *url_for(api_fx_t *f, const char *key)
{
    api_header_t h[1] = {{"Host", "127.0.0.1:8080"}};
    api_request_t req = {.method = "GET", .path = "/", .headers = h, .nheaders = 1,
                         .base_path = ""};
    int64_t exp = 0;
    char *u = api_files_url(f->api, &req, key, 60, &exp);
    assert_non_null(u);
    assert_int_equal(exp, fixed_now / 1000 + 60);
    return u;
}

static void assert_error_code(const api_response_t *r, const char *code)
{
    json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
                        code);
    assert_non_null(json_object_get(json_object_get(j, "error"), "message"));
    json_decref(j);
}

static void secret_is_made_once_private_and_checked(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), path[600];
    uint8_t a[32], b[32];
    err_t e;
    assert_int_equal(api_files_secret(dir, a, &e), ERR_OK);
    assert_int_equal(api_files_secret(dir, b, &e), ERR_OK);
    assert_memory_equal(a, b, 32);
    snprintf(path, sizeof path, "%s/files.key", dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal((int)st.st_size, 32);
    chmod(path, 0644);
    assert_int_equal(api_files_secret(dir, b, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "files.key"));
    chmod(path, 0600);
    assert_int_equal(truncate(path, 5), 0);
    assert_int_equal(api_files_secret(dir, b, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "32-byte"));
    tu_rmtree(dir);
    free(dir);
}

static void signed_url_serves_the_object_with_its_headers(void **state)
{
    (void)state;
    api_fx_t *f = fx();
    api_response_t r = {0};
    put(f, "b1/j1.png", "0123456789", 10);
    char *u = url_for(f, "b1/j1.png");
    assert_true(strncmp(u, "http://127.0.0.1:8080/files/b1/j1.png?expires=", 46) == 0);
    assert_int_equal(get(f, "GET", u, NULL, NULL, NULL, NULL, &r), 200);
    assert_int_equal(r.body_len, 10);
    assert_memory_equal(r.body, "0123456789", 10);
    assert_string_equal(r.content_type, "image/png");
    assert_true(r.binary && r.accept_ranges);
    assert_true(r.etag[0] == '"');
    assert_non_null(strstr(r.last_modified, " GMT"));
    assert_string_equal(r.cache_control, "private, max-age=60");
    /* HEAD: the same headers (the server sends no body). */
    assert_int_equal(get(f, "HEAD", u, NULL, NULL, NULL, NULL, &r), 200);
    assert_int_equal(r.body_len, 10);
    /* Revalidation: the ETag again is 304 with no body. */
    char etag[80];
    snprintf(etag, sizeof etag, "%s", r.etag);
    assert_int_equal(get(f, "GET", u, "If-None-Match", etag, NULL, NULL, &r), 304);
    assert_int_equal(r.body_len, 0);
    assert_int_equal(get(f, "GET", u, "If-None-Match", "\"other\"", NULL, NULL, &r), 200);
    /* POST is not a file method. */
    assert_int_equal(get(f, "POST", u, NULL, NULL, NULL, NULL, &r), 405);
    free(u);
    api_response_free(&r);
    api_fx_free(f);
}

static void bad_links_are_403_with_the_error_shape(void **state)
{
    (void)state;
    api_fx_t *f = fx();
    api_response_t r = {0};
    char bad[1200];
    put(f, "b1/j1.png", "0123456789", 10);
    put(f, "b1/j2.png", "abcdefghij", 10);
    char *u = url_for(f, "b1/j1.png");
    char *sig = strstr(u, "sig=") + 4;

    /* tampered signature */
    snprintf(bad, sizeof bad, "%s", u);
    char *s = strstr(bad, "sig=") + 4;
    s[0] = s[0] == 'a' ? 'b' : 'a';
    assert_int_equal(get(f, "GET", bad, NULL, NULL, NULL, NULL, &r), 403);
    assert_error_code(&r, "bad_signature");
    /* tampered expiry (later): the signature no longer matches */
    snprintf(bad, sizeof bad, "/files/b1/j1.png?expires=%lld&sig=%s",
             (long long)(fixed_now / 1000 + 999999), sig);
    assert_int_equal(get(f, "GET", bad, NULL, NULL, NULL, NULL, &r), 403);
    assert_error_code(&r, "bad_signature");
    /* wrong path: j1's signature on j2 */
    snprintf(bad, sizeof bad, "%s", u);
    memcpy(strstr(bad, "j1.png"), "j2", 2);
    assert_int_equal(get(f, "GET", bad, NULL, NULL, NULL, NULL, &r), 403);
    assert_error_code(&r, "bad_signature");
    /* malformed */
    const char *malformed[] = {
        "/files/b1/j1.png", "/files/b1/j1.png?expires=1", "/files/b1/j1.png?sig=00",
        "/files/b1/j1.png?expires=abc&sig=0000000000000000000000000000000000000000000000000000000000000000",
        "/files/b1/j1.png?expires=1&sig=zz",
        "/files/../onesheet.db?expires=1&sig=0000000000000000000000000000000000000000000000000000000000000000",
        "/files/b1/../../x?expires=1&sig=0000000000000000000000000000000000000000000000000000000000000000",
        "/files/.b/j1.png?expires=1&sig=0000000000000000000000000000000000000000000000000000000000000000",
        "/files/b1/j1.png/x?expires=1&sig=0000000000000000000000000000000000000000000000000000000000000000",
        "/files/onesheet.db?expires=1&sig=0000000000000000000000000000000000000000000000000000000000000000",
    };
    for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++) {
        assert_int_equal(get(f, "GET", malformed[i], NULL, NULL, NULL, NULL, &r), 403);
        assert_error_code(&r, "bad_signature");
    }
    /* A path outside the store cannot even be signed. */
    api_header_t h[1] = {{"Host", "127.0.0.1:8080"}};
    api_request_t req = {.method = "GET", .path = "/", .headers = h, .nheaders = 1};
    assert_null(api_files_url(f->api, &req, "../onesheet.db", 60, NULL));
    assert_null(api_files_url(f->api, &req, "b1/../../etc/passwd", 60, NULL));
    /* expired: one second past */
    fixed_now += 61 * 1000;
    assert_int_equal(get(f, "GET", u, NULL, NULL, NULL, NULL, &r), 403);
    assert_error_code(&r, "expired");
    free(u);
    api_response_free(&r);
    api_fx_free(f);
}

static void ranges_are_served_and_refused(void **state)
{
    (void)state;
    api_fx_t *f = fx();
    api_response_t r = {0};
    put(f, "b1/j1.png", "0123456789", 10);
    char *u = url_for(f, "b1/j1.png");
    static const struct { const char *range; int status; const char *body, *cr; } t[] = {
        {"bytes=0-3", 206, "0123", "bytes 0-3/10"},
        {"bytes=5-", 206, "56789", "bytes 5-9/10"},
        {"bytes=-2", 206, "89", "bytes 8-9/10"},
        {"bytes=8-100", 206, "89", "bytes 8-9/10"},
        {"bytes=-100", 206, "0123456789", "bytes 0-9/10"},
        {"bytes=10-", 416, NULL, "bytes */10"},
        {"bytes=-0", 416, NULL, "bytes */10"},
        {"bytes=3-1", 200, "0123456789", ""},
        {"bytes=0-1,4-5", 200, "0123456789", ""},
        {"items=0-1", 200, "0123456789", ""},
        {"bytes=x-1", 200, "0123456789", ""},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        assert_int_equal(get(f, "GET", u, "Range", t[i].range, NULL, NULL, &r), t[i].status);
        assert_string_equal(r.content_range, t[i].cr);
        if (t[i].body) {
            assert_int_equal(r.body_len, strlen(t[i].body));
            assert_memory_equal(r.body, t[i].body, r.body_len);
        } else {
            assert_error_code(&r, "range_not_satisfiable");
        }
    }
    /* If-Range with another ETag: the whole object. */
    assert_int_equal(get(f, "GET", u, "Range", "bytes=0-3", "If-Range", "\"old\"", &r), 200);
    assert_int_equal(r.body_len, 10);
    free(u);
    api_response_free(&r);
    api_fx_free(f);
}

static void thumbnail_is_made_once_as_256px_webp(void **state)
{
    (void)state;
    api_fx_t *f = fx();
    api_response_t r = {0};
    err_t e;
    int w = 512, h = 768, stride = w * 4;
    unsigned char *px = calloc((size_t)stride * (size_t)h, 1);
    for (int i = 0; i < w * h; i++)
        px[i * 4 + 1] = (unsigned char)(i % 251);
    buf_t png = BUF_INIT;
    assert_int_equal(pngenc_rgb24(px, w, h, stride, NULL, 0, &png, &e), ERR_OK);
    free(px);
    put(f, "b1/j1.png", png.data, png.len);
    buf_free(&png);
    char *u = url_for(f, "b1/j1.thumb.webp");
    assert_int_equal(get(f, "GET", u, NULL, NULL, NULL, NULL, &r), 200);
    assert_string_equal(r.content_type, "image/webp");
    int tw = 0, th = 0;
    assert_true(WebPGetInfo((const uint8_t *)r.body, r.body_len, &tw, &th));
    assert_int_equal(tw, 256);
    assert_int_equal(th, 384);
    /* Stored beside the poster, so the second request decodes nothing. */
    store_t *s = store_open(f->cfg.store, &e);
    uint8_t *data;
    size_t len;
    assert_int_equal(store_get(s, "b1/j1.thumb.webp", &data, &len, &e), ERR_OK);
    assert_int_equal(len, r.body_len);
    free(data);
    store_close(s);
    /* No poster, no thumbnail: 404. */
    free(u);
    u = url_for(f, "b1/nope.thumb.webp");
    assert_int_equal(get(f, "GET", u, NULL, NULL, NULL, NULL, &r), 404);
    free(u);
    api_response_free(&r);
    api_fx_free(f);
}

static void thumbnail_of_bad_bytes_is_refused(void **state)
{
    (void)state;
    buf_t out = BUF_INIT;
    err_t e;
    static const char junk[] = "\x89PNG\r\n\x1a\n not really";
    assert_int_equal(poster_thumbnail_webp(junk, sizeof junk - 1, 256, 1024, 80, &out, NULL,
                                           NULL, &e), ERR_INVALID);
    assert_int_equal(poster_thumbnail_webp("", 0, 256, 1024, 80, &out, NULL, NULL, &e),
                     ERR_INVALID);
    assert_int_equal(poster_thumbnail_webp(junk, 4, 0, 1024, 80, &out, NULL, NULL, &e),
                     ERR_INVALID);
    assert_int_equal(poster_thumbnail_webp(junk, 4, 256, 1024, 101, &out, NULL, NULL, &e),
                     ERR_INVALID);
    assert_int_equal(out.len, 0);
    /* Through /files: a corrupt poster has no thumbnail, and none is stored. */
    api_fx_t *f = fx();
    api_response_t r = {0};
    put(f, "b1/j1.png", junk, sizeof junk - 1);
    char *u = url_for(f, "b1/j1.thumb.webp");
    assert_int_equal(get(f, "GET", u, NULL, NULL, NULL, NULL, &r), 404);
    store_t *s = store_open(f->cfg.store, &e);
    int64_t bytes, mtime;
    assert_int_equal(store_stat(s, "b1/j1.thumb.webp", &bytes, &mtime, &e), ERR_NOTFOUND);
    store_close(s);
    free(u);
    api_response_free(&r);
    api_fx_free(f);
}

static void public_url_or_loopback_host_makes_the_base(void **state)
{
    (void)state;
    api_fx_t *f = fx();
    char base[600];
    api_header_t h[1] = {{"Host", "evil.example\"><script>"}};
    api_request_t req = {.method = "GET", .path = "/", .headers = h, .nheaders = 1,
                         .base_path = ""};
    /* A Host with characters a host cannot have is not used. */
    assert_false(api_files_base(f->api, &req, base, sizeof base));
    h[0].value = "localhost:9000";
    assert_true(api_files_base(f->api, &req, base, sizeof base));
    assert_string_equal(base, "http://localhost:9000");
    f->cfg.public_url = strdup("https://posters.example.com/api");
    assert_true(api_files_base(f->api, &req, base, sizeof base));
    assert_string_equal(base, "https://posters.example.com/api");
    /* The job JSON carries the signed link. */
    api_fx_free(f);
}

static void config_public_url_is_checked(void **state)
{
    (void)state;
    config_t c;
    err_t e;
    memset(&c, 0, sizeof c);
    assert_int_equal(config_set(&c, "public_url", "https://a.example:8443/x", "t", &e), ERR_OK);
    assert_string_equal(c.public_url, "https://a.example:8443/x");
    const char *bad[] = {"ftp://a", "http://", "http://a/", "https://a/x?y=1", "http://a b",
                         "http://a/#f", "a.example"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(config_set(&c, "public_url", bad[i], "conf:3", &e), ERR_CONFIG);
        assert_non_null(strstr(e.msg, "conf:3: public_url"));
    }
    config_free(&c);
}

static void lambda_events_carry_the_query_and_binary_bodies(void **state)
{
    (void)state;
    api_event_t ev;
    err_t e;
    const char *v2 = "{\"version\":\"2.0\",\"rawPath\":\"/files/b/j.png\","
                     "\"rawQueryString\":\"expires=5&sig=ab\",\"requestContext\":"
                     "{\"http\":{\"method\":\"GET\",\"sourceIp\":\"1.2.3.4\"}}}";
    assert_int_equal(api_event_parse(v2, strlen(v2), &ev, &e), ERR_OK);
    assert_string_equal(ev.req.query, "expires=5&sig=ab");
    api_event_free(&ev);
    const char *v1 = "{\"httpMethod\":\"GET\",\"path\":\"/ui/api/batches/b\","
                     "\"queryStringParameters\":{\"state\":\"failed\",\"q\":\"a b&c\"},"
                     "\"requestContext\":{}}";
    assert_int_equal(api_event_parse(v1, strlen(v1), &ev, &e), ERR_OK);
    assert_string_equal(ev.req.query, "state=failed&q=a%20b%26c");
    api_event_free(&ev);

    api_response_t r = {0};
    r.status = 200;
    r.content_type = "image/png";
    r.binary = true;
    r.body = malloc(3);
    memcpy(r.body, "\x89PN", 3);
    r.body_len = 3;
    snprintf(r.etag, sizeof r.etag, "\"e\"");
    buf_t out = BUF_INIT;
    assert_int_equal(api_event_response(&r, &out), ERR_OK);
    json_t *j = json_loads((const char *)out.data, 0, NULL);
    assert_true(json_is_true(json_object_get(j, "isBase64Encoded")));
    assert_string_equal(json_string_value(json_object_get(j, "body")), "iVBO");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "headers"), "etag")),
                        "\"e\"");
    json_decref(j);
    buf_free(&out);
    api_response_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(secret_is_made_once_private_and_checked),
        cmocka_unit_test(signed_url_serves_the_object_with_its_headers),
        cmocka_unit_test(bad_links_are_403_with_the_error_shape),
        cmocka_unit_test(ranges_are_served_and_refused),
        cmocka_unit_test(thumbnail_is_made_once_as_256px_webp),
        cmocka_unit_test(thumbnail_of_bad_bytes_is_refused),
        cmocka_unit_test(public_url_or_loopback_host_makes_the_base),
        cmocka_unit_test(config_public_url_is_checked),
        cmocka_unit_test(lambda_events_carry_the_query_and_binary_bodies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
