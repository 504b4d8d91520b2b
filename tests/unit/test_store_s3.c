/* Tests for the S3 store (store_s3.c) against a fake S3 on loopback that
 * checks every request's SigV4 signature (header-signed and presigned),
 * keeps objects in memory, enforces If-None-Match: * and the checksums
 * (x-amz-content-sha256, x-amz-checksum-sha256 and -crc64nvme),
 * and can answer with canned bad replies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/crc64nvme.h"
#include "fakeaws.h"
#include "fakeserver.h"
#include "base/redact.h"
#include "aws/sigv4.h"
#include "store/store_s3.h"

#define AKID "AKIDS3TESTEXAMPLE"
#define SECRET "s3TestSecretKeyEXAMPLE0123456789abcdefWXYZ"
#define MAX_OBJ 8

typedef struct {
    char path[256];
    buf_t data;
    char checksum[48];          /* "" when the put sent none */
    bool crc;                   /* checksum is x-amz-checksum-crc64nvme's */
} obj_t;

typedef struct {
    pthread_mutex_t mu;
    obj_t obj[MAX_OBJ];
    int nobj;
    bool keep_checksums;        /* report x-amz-checksum-sha256 back */
    int puts, heads, gets, rejected;
    char last_inm[8], last_ctype[64], last_ck[64], last_sha[72], last_path[256], last_body[512];
    char last_crc[16];
    /* A canned reply to requests of canned_method (after the signature
     * check); status 0 means none. */
    const char *canned_method;
    int canned_status;
    const char *canned_ctype, *canned_body, *canned_hdr, *canned_hdr_value;
    size_t canned_truncate;
} srv_t;

typedef struct {
    srv_t srv;
    fake_server_t *fs;
    const char *endpoint;       /* AWS_ENDPOINT_URL_S3 */
    fakeaws_t a;
    bool path_style;
    store_t *s;
    endpoint_s3_addressing_t addressing;
} fx_t;

static obj_t *find(srv_t *s, const char *path)
{
    for (int i = 0; i < s->nobj; i++)
        if (strcmp(s->obj[i].path, path) == 0)
            return &s->obj[i];
    return NULL;
}

/* Stores (or replaces) an object the way S3 would after a put. */
static void keep(srv_t *s, const char *path, const void *data, size_t len, const char *ck)
{
    obj_t *o = find(s, path);
    if (!o) {
        assert_true(s->nobj < MAX_OBJ);
        o = &s->obj[s->nobj++];
        snprintf(o->path, sizeof o->path, "%s", path);
    }
    buf_reset(&o->data);
    buf_append(&o->data, data, len);
    snprintf(o->checksum, sizeof o->checksum, "%s", ck ? ck : "");
    o->crc = false;
}

static void xml_error(fake_response_t *resp, int status, const char *code)
{
    resp->status = status;
    fake_response_header(resp, "Content-Type", "application/xml");
    fake_response_bodyf(resp, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s"
                        "</Code><Message>fake %s</Message></Error>", code, code);
}

static void sha_b64(const void *data, size_t len, char out[48])
{
    uint8_t d[SHA256_LEN];
    buf_t b = BUF_INIT;
    crypto_sha256(data, len, d);
    base64_encode(d, SHA256_LEN, &b);
    snprintf(out, 48, "%s", (const char *)b.data);
    buf_free(&b);
}

static const char *hdr(const fake_request_t *req, const char *name)
{
    const char *v = fake_request_header(req, name);
    return v ? v : "";
}

/* S3 as far as the store needs it: PUT (create-only with If-None-Match,
 * checksums verified), HEAD and GET of objects, HEAD/PUT of buckets. */
static void handler(const fake_request_t *req, fake_response_t *resp, void *ud)
{
    srv_t *s = ud;
    sigv4_credentials_t c = {AKID, SECRET, NULL};
    sigv4_verify_opts_t vo = {.now = time(NULL), .region = "us-west-2", .service = "s3"};
    sigv4_verify_info_t info;
    err_t e;
    sigv4_verify_info_init(&info);
    pthread_mutex_lock(&s->mu);
    snprintf(s->last_path, sizeof s->last_path, "%s", req->path);
    if (fakeaws_verify(req, &c, &vo, &info, &e) != ERR_OK) {
        s->rejected++;
        xml_error(resp, info.reason == SIGV4_VERIFY_PAYLOAD_MISMATCH ? 400 : 403,
                  sigv4_verify_reason_code(info.reason));
        goto out;
    }
    bool put = strcmp(req->method, "PUT") == 0, head = strcmp(req->method, "HEAD") == 0;
    s->puts += put;
    s->heads += head;
    s->gets += strcmp(req->method, "GET") == 0;
    if (s->canned_status && (!s->canned_method || strcmp(s->canned_method, req->method) == 0)) {
        resp->status = s->canned_status;
        if (s->canned_ctype)
            fake_response_header(resp, "Content-Type", s->canned_ctype);
        if (s->canned_hdr)
            fake_response_header(resp, s->canned_hdr, s->canned_hdr_value);
        if (s->canned_body)
            fake_response_body(resp, s->canned_body, strlen(s->canned_body));
        resp->action = s->canned_truncate ? FAKE_TRUNCATE : FAKE_SEND;
        resp->truncate_at = s->canned_truncate;
        goto out;
    }
    obj_t *o = find(s, req->path);
    if (put) {
        char want[48];
        snprintf(s->last_inm, sizeof s->last_inm, "%s", hdr(req, "If-None-Match"));
        snprintf(s->last_ctype, sizeof s->last_ctype, "%s", hdr(req, "Content-Type"));
        snprintf(s->last_ck, sizeof s->last_ck, "%s", hdr(req, "x-amz-checksum-sha256"));
        snprintf(s->last_sha, sizeof s->last_sha, "%s", hdr(req, "x-amz-content-sha256"));
        snprintf(s->last_body, sizeof s->last_body, "%.*s", (int)req->body_len, req->body);
        snprintf(s->last_crc, sizeof s->last_crc, "%s", hdr(req, "x-amz-checksum-crc64nvme"));
        sha_b64(req->body, req->body_len, want);
        char want_crc[CRC64NVME_B64_LEN];
        crc64nvme_b64(crc64nvme(req->body, req->body_len), want_crc);
        if ((s->last_ck[0] && strcmp(s->last_ck, want) != 0) ||
            (s->last_crc[0] && strcmp(s->last_crc, want_crc) != 0))
            xml_error(resp, 400, "BadDigest");
        else if (strcmp(s->last_inm, "*") == 0 && o)
            xml_error(resp, 412, "PreconditionFailed");
        else {
            keep(s, req->path, req->body, req->body_len,
                 s->last_crc[0] ? s->last_crc : s->last_ck);
            find(s, req->path)->crc = s->last_crc[0] != 0;
            fake_response_header(resp, "ETag", "\"0123456789abcdef0123456789abcdef\"");
        }
    } else if (!o) {
        xml_error(resp, 404, "NoSuchKey"); /* a HEAD reply carries no body */
    } else {
        const char *mode = fake_request_header(req, "x-amz-checksum-mode");
        char len[32];
        snprintf(len, sizeof len, "%zu", o->data.len);
        fake_response_header(resp, "Content-Length", len);
        if (s->keep_checksums && o->checksum[0] && mode && strcmp(mode, "ENABLED") == 0)
            fake_response_header(resp, o->crc ? "x-amz-checksum-crc64nvme"
                                              : "x-amz-checksum-sha256", o->checksum);
        if (!head)
            fake_response_body(resp, o->data.data, o->data.len);
    }
out:
    pthread_mutex_unlock(&s->mu);
    sigv4_verify_info_free(&info);
}

static void release(fx_t *f)
{
    store_close(f->s);
    f->s = NULL;
    fakeaws_close(&f->a);
}

/* (Re)makes the env and the store "s3://posters/out" with the fixture's
 * settings: the environment the store sees is a region and the S3
 * endpoint. */
static void reopen(fx_t *f, const char *url)
{
    err_t e;
    release(f);
    fakeenv_set(&f->a.env, "AWS_REGION", "us-west-2");
    fakeenv_set(&f->a.env, "AWS_ENDPOINT_URL_S3", f->endpoint);
    aws_env_options_t o = {.s3_path_style = f->path_style, .s3_addressing = f->addressing};
    if (fakeaws_open(&f->a, &o, &e) != ERR_OK)
        fail_msg("aws_env_new: %s", e.msg);
    f->s = store_s3_open_env(f->a.aws, url ? url : "s3://posters/out/", &e);
    if (!f->s)
        fail_msg("store_s3_open_env: %s", e.msg);
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    pthread_mutex_init(&f->srv.mu, NULL);
    f->srv.keep_checksums = true;
    f->fs = fake_server_start(handler, &f->srv);
    if (!f->fs)
        return -1;
    f->endpoint = fake_server_url(f->fs);
    f->a.akid = AKID;
    f->a.secret = SECRET;
    reopen(f, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    release(f);
    fake_server_stop(f->fs);
    for (int i = 0; i < MAX_OBJ; i++)
        buf_free(&f->srv.obj[i].data);
    pthread_mutex_destroy(&f->srv.mu);
    free(f);
    return 0;
}

static err_code_t put(fx_t *f, const char *key, const char *text, err_t *e)
{
    uint8_t sha[SHA256_LEN];
    crypto_sha256(text, strlen(text), sha);
    return store_put(f->s, key, text, strlen(text), sha, "image/png", e);
}

static void canned(fx_t *f, const char *method, int status, const char *ctype,
                   const char *body)
{
    /* Requests are synchronous: the server thread is idle meanwhile. */
    f->srv.canned_method = method;
    f->srv.canned_status = status;
    f->srv.canned_ctype = ctype;
    f->srv.canned_body = body;
}

static void put_is_a_signed_create_only_put_with_both_checksums(void **state)
{
    fx_t *f = *state;
    err_t e;
    char b64[48], hex[SHA256_HEX_LEN];
    assert_int_equal(put(f, "b1/j1.png", "poster bytes", &e), ERR_OK);
    sha_b64("poster bytes", 12, b64);
    crypto_sha256_hex("poster bytes", 12, hex);
    assert_int_equal(f->srv.rejected, 0);
    assert_int_equal(f->srv.puts, 1);
    assert_string_equal(f->srv.last_path, "/posters/out/b1/j1.png");
    assert_string_equal(f->srv.last_inm, "*");
    assert_string_equal(f->srv.last_ctype, "image/png");
    assert_string_equal(f->srv.last_ck, b64);
    assert_string_equal(f->srv.last_sha, hex);
    assert_string_equal(f->srv.last_body, "poster bytes");
}

static void put_of_identical_bytes_after_412_succeeds_without_a_second_put(void **state)
{
    fx_t *f = *state;
    err_t e;
    assert_int_equal(put(f, "b1/j1.png", "same bytes", &e), ERR_OK);
    assert_int_equal(put(f, "b1/j1.png", "same bytes", &e), ERR_OK);
    assert_int_equal(f->srv.puts, 2);   /* the first, then the refused create-only */
    assert_int_equal(f->srv.heads, 1);
    assert_int_equal(f->srv.gets, 0);   /* the checksum answered it */
    assert_int_equal(f->srv.rejected, 0);
}

static void put_of_other_bytes_after_412_overwrites_unconditionally(void **state)
{
    fx_t *f = *state;
    err_t e;
    assert_int_equal(put(f, "b1/j1.png", "first image", &e), ERR_OK);
    assert_int_equal(put(f, "b1/j1.png", "regenerated", &e), ERR_OK);
    assert_int_equal(f->srv.puts, 3);
    assert_string_equal(f->srv.last_inm, "");
    assert_string_equal(f->srv.last_body, "regenerated");
    uint8_t *data = NULL;
    size_t len = 0;
    assert_int_equal(store_get(f->s, "b1/j1.png", &data, &len, &e), ERR_OK);
    assert_int_equal(len, 11);
    assert_memory_equal(data, "regenerated", 11);
    free(data);
}

/* A retried job meets its own earlier upload: the HEAD that compares it
 * announces the object's full size, far beyond what a HEAD reply may hold. */
static void put_after_412_compares_an_object_larger_than_a_small_reply(void **state)
{
    fx_t *f = *state;
    err_t e;
    size_t n = 200 * 1024;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'p', n);
    big[n] = '\0';
    assert_int_equal(put(f, "b1/big.png", big, &e), ERR_OK);
    assert_int_equal(put(f, "b1/big.png", big, &e), ERR_OK);
    assert_int_equal(f->srv.puts, 2);
    assert_int_equal(f->srv.heads, 1);
    free(big);
    assert_int_equal(put(f, "b1/j1.png", "poster bytes", &e), ERR_OK);
}

static void existing_object_without_checksum_is_compared_by_its_bytes(void **state)
{
    fx_t *f = *state;
    err_t e;
    f->srv.keep_checksums = false;
    assert_int_equal(put(f, "b1/j1.png", "0123456789", &e), ERR_OK);
    assert_int_equal(put(f, "b1/j1.png", "0123456789", &e), ERR_OK);
    assert_int_equal(f->srv.puts, 2);
    assert_int_equal(f->srv.gets, 1);
    /* Same length, other bytes: read back, found different, overwritten. */
    assert_int_equal(put(f, "b1/j1.png", "abcdefghij", &e), ERR_OK);
    assert_int_equal(f->srv.puts, 4);
    assert_int_equal(f->srv.gets, 2);
    assert_string_equal(f->srv.last_body, "abcdefghij");
}

static void put_with_a_wrong_sha256_is_refused_by_the_server(void **state)
{
    fx_t *f = *state;
    err_t e;
    uint8_t sha[SHA256_LEN];
    crypto_sha256("other bytes", 11, sha);
    assert_int_equal(store_put(f->s, "b1/j1.png", "the bytes", 9, sha, "image/png", &e),
                     ERR_PERMANENT);
    assert_int_equal(e.http_status, 400);
    assert_string_equal(e.service_code, "XAmzContentSHA256Mismatch");
    assert_non_null(strstr(e.msg, "s3 put b1/j1.png"));
    assert_int_equal(f->srv.nobj, 0);
}

/* ---- CRC-64/NVME (issue 21) ---- */

static err_code_t put_crc(fx_t *f, const char *key, const char *text, uint64_t crc, err_t *e)
{
    store_sum_t sum = {.alg = STORE_SUM_CRC64NVME, .crc64 = crc};
    return store_put_sum(f->s, key, text, strlen(text), &sum, "image/png", e);
}

static void crc_put_sends_the_crc_and_an_unsigned_payload_to_loopback(void **state)
{
    fx_t *f = *state;
    err_t e;
    char b64[CRC64NVME_B64_LEN];
    crc64nvme_b64(crc64nvme("poster bytes", 12), b64);
    assert_int_equal(put_crc(f, "b1/j1.png", "poster bytes", crc64nvme("poster bytes", 12), &e),
                     ERR_OK);
    assert_int_equal(f->srv.rejected, 0);   /* the signature covers UNSIGNED-PAYLOAD */
    assert_string_equal(f->srv.last_crc, b64);
    assert_string_equal(f->srv.last_ck, "");
    assert_string_equal(f->srv.last_sha, "UNSIGNED-PAYLOAD");
    assert_string_equal(f->srv.last_inm, "*");
    assert_string_equal(f->srv.last_body, "poster bytes");
}

static void crc_put_of_a_corrupted_body_is_refused_and_nothing_stored(void **state)
{
    fx_t *f = *state;
    err_t e;
    /* the CRC of what was meant, the bytes of something else */
    assert_int_equal(put_crc(f, "b1/j1.png", "poster bytEs", crc64nvme("poster bytes", 12), &e),
                     ERR_PERMANENT);
    assert_int_equal(e.http_status, 400);
    assert_string_equal(e.service_code, "BadDigest");
    assert_int_equal(f->srv.nobj, 0);
}

static void crc_put_after_412_is_settled_by_the_stored_crc(void **state)
{
    fx_t *f = *state;
    err_t e;
    assert_int_equal(put_crc(f, "b1/j1.png", "same bytes", crc64nvme("same bytes", 10), &e),
                     ERR_OK);
    assert_int_equal(put_crc(f, "b1/j1.png", "same bytes", crc64nvme("same bytes", 10), &e),
                     ERR_OK);
    assert_int_equal(f->srv.puts, 2);
    assert_int_equal(f->srv.heads, 1);
    assert_int_equal(f->srv.gets, 0);   /* the HEAD's CRC answered it */
    assert_int_equal(put_crc(f, "b1/j1.png", "new! bytes", crc64nvme("new! bytes", 10), &e),
                     ERR_OK);
    assert_int_equal(f->srv.puts, 4);   /* refused, compared, overwritten */
    assert_string_equal(f->srv.last_inm, "");
    assert_string_equal(f->srv.last_body, "new! bytes");
    f->srv.keep_checksums = false;      /* no checksum kept: compared by reading */
    assert_int_equal(put_crc(f, "b1/j1.png", "new! bytes", crc64nvme("new! bytes", 10), &e),
                     ERR_OK);
    assert_int_equal(f->srv.gets, 1);
    assert_int_equal(f->srv.puts, 5);
}

static void get_refuses_bytes_that_do_not_match_the_stored_crc(void **state)
{
    fx_t *f = *state;
    err_t e;
    uint8_t *data = NULL;
    size_t len = 0;
    char other[CRC64NVME_B64_LEN];
    crc64nvme_b64(crc64nvme("the bytez", 9), other);
    keep(&f->srv, "/posters/out/b1/j1.png", "the bytes", 9, other);
    f->srv.obj[0].crc = true;
    assert_int_equal(store_get(f->s, "b1/j1.png", &data, &len, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "CRC-64/NVME"));
    assert_null(data);
    crc64nvme_b64(crc64nvme("the bytes", 9), f->srv.obj[0].checksum);
    assert_int_equal(store_get(f->s, "b1/j1.png", &data, &len, &e), ERR_OK);
    assert_int_equal(len, 9);
    free(data);
}

static void bad_keys_are_refused_before_any_request(void **state)
{
    fx_t *f = *state;
    err_t e;
    static const char *const bad[] = {"", "/abs.png", "a/../b.png", "a//b.png", "./x", "a\nb"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(put(f, bad[i], "x", &e), ERR_INVALID);
    char *url = NULL;
    assert_int_equal(store_url(f->s, "../x.png", 60, &url, NULL, &e), ERR_INVALID);
    assert_null(url);
    assert_int_equal(fake_server_requests(f->fs), 0);
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The value of query parameter name in url (copied into out). */
static const char *param(const char *url, const char *name, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof pat, "%s=", name);
    const char *p = strstr(url, pat);
    if (!p)
        return NULL;
    p += strlen(pat);
    snprintf(out, cap, "%.*s", (int)strcspn(p, "&"), p);
    return out;
}

static void url_is_a_presigned_path_style_get_the_server_accepts(void **state)
{
    fx_t *f = *state;
    err_t e;
    char *url = NULL, v[256], prefix[128];
    int64_t expires = 0;
    assert_int_equal(put(f, "b1/j1.png", "poster", &e), ERR_OK);
    time_t t0 = time(NULL);
    assert_int_equal(store_url(f->s, "b1/j1.png", 900, &url, &expires, &e), ERR_OK);
    snprintf(prefix, sizeof prefix, "%s/posters/out/b1/j1.png?", fake_server_url(f->fs));
    assert_true(starts_with(url, prefix));
    assert_string_equal(param(url, "X-Amz-Algorithm", v, sizeof v), "AWS4-HMAC-SHA256");
    assert_string_equal(param(url, "X-Amz-Expires", v, sizeof v), "900");
    assert_string_equal(param(url, "X-Amz-SignedHeaders", v, sizeof v), "host");
    assert_non_null(strstr(param(url, "X-Amz-Credential", v, sizeof v), AKID "%2F"));
    assert_true(expires >= t0 + 900 && expires <= time(NULL) + 900);

    http_client_t *c = http_client_new(NULL, &e);
    http_response_t r;
    http_response_init(&r);
    http_request_t rq = {.method = "GET", .url = url};
    assert_int_equal(http_do(c, &rq, &r, &e), ERR_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 6);
    assert_memory_equal(r.body.data, "poster", 6);
    assert_int_equal(f->srv.rejected, 0);
    http_response_free(&r);
    http_client_free(c);
    free(url);
}

static void url_expiry_is_clamped_to_seven_days_and_the_credentials(void **state)
{
    fx_t *f = *state;
    err_t e;
    char *url = NULL, v[32];
    int64_t expires = 0;
    assert_int_equal(store_url(f->s, "b1/j1.png", 30L * 86400, &url, &expires, &e),
                     ERR_OK);
    assert_string_equal(param(url, "X-Amz-Expires", v, sizeof v), "604800");
    free(url);
    assert_int_equal(store_url(f->s, "b1/j1.png", 0, &url, &expires, &e), ERR_INVALID);

    f->a.expiry = (int64_t)time(NULL) + 1800;
    reopen(f, NULL);
    assert_int_equal(store_url(f->s, "b1/j1.png", 3600, &url, &expires, &e), ERR_OK);
    long got = strtol(param(url, "X-Amz-Expires", v, sizeof v), NULL, 10);
    assert_true(got > 0 && got < 1800);
    assert_true(expires <= f->a.expiry);
    free(url);
}

static void url_is_path_style_on_a_custom_endpoint_unless_virtual_is_asked(void **state)
{
    fx_t *f = *state;
    err_t e;
    char *url = NULL;
    f->endpoint = "https://s3.example.test";
    /* A configured endpoint is path-style by default (botocore). */
    reopen(f, "s3://posters/out");
    assert_int_equal(store_url(f->s, "b1/j 1.png", 60, &url, NULL, &e), ERR_OK);
    assert_true(starts_with(url, "https://s3.example.test/posters/out/b1/j%201.png?X-Amz-"));
    free(url);
    f->addressing = ENDPOINT_S3_VIRTUAL;
    reopen(f, "s3://posters/out");
    assert_int_equal(store_url(f->s, "b1/j 1.png", 60, &url, NULL, &e), ERR_OK);
    assert_true(starts_with(url, "https://posters.s3.example.test/out/b1/j%201.png?X-Amz-"));
    free(url);
    f->path_style = true;
    reopen(f, "s3://posters/out");
    assert_int_equal(store_url(f->s, "b1/j1.png", 60, &url, NULL, &e), ERR_OK);
    assert_true(starts_with(url, "https://s3.example.test/posters/out/b1/j1.png?X-Amz-"));
    free(url);
}

static void get_of_a_missing_key_is_notfound(void **state)
{
    fx_t *f = *state;
    err_t e;
    uint8_t *data = (uint8_t *)"x";
    size_t len = 1;
    assert_int_equal(store_get(f->s, "b1/none.png", &data, &len, &e), ERR_NOTFOUND);
    assert_string_equal(e.service_code, "NoSuchKey");
    assert_null(data);
    assert_int_equal(len, 0);
}

static void get_refuses_bytes_that_do_not_match_the_stored_checksum(void **state)
{
    fx_t *f = *state;
    err_t e;
    uint8_t *data = NULL;
    size_t len = 0;
    char other[48];
    sha_b64("something else", 14, other);
    keep(&f->srv, "/posters/out/b1/j1.png", "the bytes", 9, other);
    assert_int_equal(store_get(f->s, "b1/j1.png", &data, &len, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "checksum"));
    assert_null(data);
}

static void html_500_page_is_a_retried_unavailable_error(void **state)
{
    fx_t *f = *state;
    err_t e;
    canned(f, "PUT", 500, "text/html", "<html><body><h1>500 Internal Server Error</h1>");
    assert_int_equal(put(f, "b1/j1.png", "x", &e), ERR_UNAVAILABLE);
    assert_int_equal(f->srv.puts, 3);
    assert_int_equal(e.http_status, 500);
    assert_non_null(strstr(e.msg, "s3 put b1/j1.png"));
    assert_null(strstr(e.msg, "<h1>"));
}

/* A proxy answering 200 with a page of its own stored nothing: without
 * S3's ETag the put is not taken as done (the job would be recorded
 * succeeded with its image missing). */
static void html_200_without_etag_is_not_a_stored_object(void **state)
{
    fx_t *f = *state;
    err_t e;
    canned(f, "PUT", 200, "text/html", "<html><body>Welcome to nginx!</body></html>");
    assert_int_equal(put(f, "b1/j1.png", "x", &e), ERR_UNAVAILABLE);
    assert_non_null(strstr(e.msg, "without an ETag"));
    assert_null(strstr(e.msg, "nginx"));
}

static void truncated_or_oversized_replies_are_clear_errors(void **state)
{
    fx_t *f = *state;
    err_t e;
    uint8_t *data = NULL;
    size_t len = 0, n = 1024 * 1024;
    canned(f, "PUT", 403, "application/xml", "<Error><Code>AccessDenied</Code><Mess");
    assert_int_equal(put(f, "b1/j1.png", "x", &e), ERR_AUTH);
    assert_int_equal(e.http_status, 403);
    assert_string_equal(e.service_code, "AccessDenied");

    canned(f, "GET", 200, "image/png", "0123456789abcdef");
    f->srv.canned_truncate = 4;
    assert_int_equal(store_get(f->s, "b1/j1.png", &data, &len, &e), ERR_NETWORK);
    assert_non_null(strstr(e.msg, "s3 get b1/j1.png"));
    assert_null(data);

    char *big = malloc(n + 1);
    memset(big, 'x', n);
    big[n] = '\0';
    f->srv.canned_truncate = 0;
    canned(f, "PUT", 400, "application/xml", big);
    assert_int_equal(put(f, "b1/j1.png", "x", &e), ERR_TOOBIG);
    assert_non_null(strstr(e.msg, "larger than"));
    canned(f, NULL, 0, NULL, NULL);
    free(big);
}

static void errors_and_urls_never_show_the_secret_or_signature(void **state)
{
    fx_t *f = *state;
    err_t e;
    char *url = NULL, sig[80], msg[512];
    assert_int_equal(store_url(f->s, "b1/j1.png", 60, &url, NULL, &e), ERR_OK);
    assert_non_null(param(url, "X-Amz-Signature", sig, sizeof sig));
    assert_int_equal(strlen(sig), 64);
    /* A reply that echoes the signature and the secret back. */
    snprintf(msg, sizeof msg, "<Error><Code>SignatureDoesNotMatch</Code><Message>got %s "
             "X-Amz-Signature=%s with key " SECRET "</Message></Error>", url, sig);
    canned(f, "PUT", 403, "application/xml", msg);
    assert_int_equal(put(f, "b1/j1.png", "x", &e), ERR_AUTH);
    assert_null(strstr(e.msg, sig));
    assert_null(strstr(e.msg, SECRET));
    /* What a log line made from the URL would hold. */
    snprintf(msg, sizeof msg, "event=stored url=%s", url);
    redact_inplace(msg, sizeof msg);
    assert_null(strstr(msg, sig));
    assert_non_null(strstr(msg, "/posters/out/b1/j1.png"));
    free(url);
}

static void ensure_reports_an_existing_bucket_and_creates_a_missing_one(void **state)
{
    fx_t *f = *state;
    err_t e;
    char report[128];
    keep(&f->srv, "/posters/", "", 0, NULL);
    assert_int_equal(store_s3_ensure(f->a.aws, "posters", report, sizeof report, &e), ERR_OK);
    assert_string_equal(report, "s3 bucket posters: exists");
    assert_int_equal(f->srv.puts, 0);

    assert_int_equal(store_s3_ensure(f->a.aws, "fresh", report, sizeof report, &e), ERR_OK);
    assert_string_equal(report, "s3 bucket fresh: created in us-west-2");
    assert_string_equal(f->srv.last_path, "/fresh/");
    assert_non_null(strstr(f->srv.last_body,
                           "<LocationConstraint>us-west-2</LocationConstraint>"));
    assert_int_equal(f->srv.rejected, 0);
}

static void ensure_maps_conflicts_regions_and_denials(void **state)
{
    fx_t *f = *state;
    err_t e;
    char report[128];
    canned(f, "PUT", 409, "application/xml",
           "<Error><Code>BucketAlreadyOwnedByYou</Code><Message>yours</Message></Error>");
    assert_int_equal(store_s3_ensure(f->a.aws, "racy", report, sizeof report, &e), ERR_OK);
    assert_non_null(strstr(report, "exists"));
    canned(f, "PUT", 409, "application/xml",
           "<Error><Code>BucketAlreadyExists</Code><Message>taken</Message></Error>");
    assert_int_equal(store_s3_ensure(f->a.aws, "taken", report, sizeof report, &e), ERR_EXISTS);
    canned(f, "HEAD", 301, NULL, NULL);
    f->srv.canned_hdr = "x-amz-bucket-region";
    f->srv.canned_hdr_value = "eu-west-1";
    assert_int_equal(store_s3_ensure(f->a.aws, "faraway", report, sizeof report, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "eu-west-1"));
    f->srv.canned_hdr = NULL;
    canned(f, "HEAD", 403, NULL, NULL);
    assert_int_equal(store_s3_ensure(f->a.aws, "private", report, sizeof report, &e), ERR_AUTH);
}

static void store_urls_parse_into_bucket_and_prefix(void **state)
{
    (void)state;
    static const char *const good[][3] = {
        {"s3://posters/out/", "posters", "out"}, {"s3://posters", "posters", ""},
        {"s3://posters//a/b//", "posters", "a/b"}};
    static const char *const bad[] = {"s3://", "s3:///x", "file:x", "s3://a b/x",
                                      "s3://b/../x", "s3://b/a/./c", "s3://b/a//c"};
    char b[64], p[64];
    err_t e;
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        assert_int_equal(store_s3_parse_url(good[i][0], b, sizeof b, p, sizeof p, &e), ERR_OK);
        assert_string_equal(b, good[i][1]);
        assert_string_equal(p, good[i][2]);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(store_s3_parse_url(bad[i], b, sizeof b, p, sizeof p, &e), ERR_CONFIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(put_is_a_signed_create_only_put_with_both_checksums),
        T(put_of_identical_bytes_after_412_succeeds_without_a_second_put),
        T(put_of_other_bytes_after_412_overwrites_unconditionally),
        T(existing_object_without_checksum_is_compared_by_its_bytes),
        T(html_200_without_etag_is_not_a_stored_object),
        T(put_after_412_compares_an_object_larger_than_a_small_reply),
        T(put_with_a_wrong_sha256_is_refused_by_the_server),
        T(bad_keys_are_refused_before_any_request),
        T(crc_put_sends_the_crc_and_an_unsigned_payload_to_loopback),
        T(crc_put_of_a_corrupted_body_is_refused_and_nothing_stored),
        T(crc_put_after_412_is_settled_by_the_stored_crc),
        T(get_refuses_bytes_that_do_not_match_the_stored_crc),
        T(url_is_a_presigned_path_style_get_the_server_accepts),
        T(url_expiry_is_clamped_to_seven_days_and_the_credentials),
        T(url_is_path_style_on_a_custom_endpoint_unless_virtual_is_asked),
        T(get_of_a_missing_key_is_notfound),
        T(get_refuses_bytes_that_do_not_match_the_stored_checksum),
        T(html_500_page_is_a_retried_unavailable_error),
        T(truncated_or_oversized_replies_are_clear_errors),
        T(errors_and_urls_never_show_the_secret_or_signature),
        T(ensure_reports_an_existing_bucket_and_creates_a_missing_one),
        T(ensure_maps_conflicts_regions_and_denials),
        T(store_urls_parse_into_bucket_and_prefix),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
