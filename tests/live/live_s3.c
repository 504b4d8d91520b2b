/* live_s3 — the S3 store against s3rver behind sigproxy (see
 * tests/integration/s3_live.sh), so every request's signature is verified
 * and If-None-Match / checksums are enforced although s3rver ignores them.
 * The store conformance suite the file store passes too
 * (tests/support/store_conformance.c) runs here on S3, each test under a
 * prefix of its own; then what only S3 shows.
 *
 * Environment: AWS_ENDPOINT_URL_S3 (the proxy), AWS_REGION, the S3RVER
 * keys, optionally ONESHEET_LIVE_BUCKET (default "posters-live") and
 * ONESHEET_LIVE_FAULTS (run only the lost-reply test, against a proxy
 * started with --fail-every 2 --fail-after, once the bucket exists).
 * ONESHEET_LIVE_S3_DIR (s3rver's data directory) lets the suite see
 * whether a put rewrote an object; ONESHEET_LIVE_S3_DIRECT (s3rver's own
 * URL) lets a test ask s3rver itself about an expired presigned URL.
 * The proxy's counters are read from AWS_ENDPOINT_URL_S3/__sigproxy/stats;
 * the last test checks that only the deliberately bad requests were
 * rejected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/crc64nvme.h"
#include "aws/sigv4.h"
#include "store/store_s3.h"
#include "store_conformance.h"

typedef struct {
    aws_env_t *env;
    store_t *s;
    const char *bucket;
    const char *endpoint;
    char store_url[128];
} live_t;

static live_t L;
static int deliberate_rejections;
static int expired_url_rejections;   /* the conformance suite's */

/* One counter from the proxy's stats endpoint. */
static long proxy_stat(const char *name)
{
    err_t e;
    char url[512];
    http_client_t *c = http_client_new(NULL, &e);
    http_response_t r;
    http_response_init(&r);
    snprintf(url, sizeof url, "%s/__sigproxy/stats", L.endpoint);
    http_request_t rq = {.method = "GET", .url = url};
    if (!c || http_do(c, &rq, &r, &e) != ERR_OK || r.status != 200)
        fail_msg("proxy stats: %s (status %ld)", e.msg, r.status);
    json_t *j = json_loadb((const char *)r.body.data, r.body.len, 0, NULL);
    json_t *v = j ? json_object_get(j, name) : NULL;
    if (!json_is_integer(v))
        fail_msg("proxy stats: no %s in %s", name, (const char *)r.body.data);
    long n = (long)json_integer_value(v);
    json_decref(j);
    http_response_free(&r);
    http_client_free(c);
    return n;
}

static err_code_t put_bytes(const char *key, const uint8_t *p, size_t n, err_t *e)
{
    uint8_t sha[SHA256_LEN];
    crypto_sha256(p, n, sha);
    return store_put(L.s, key, p, n, sha, "image/png", e);
}

static int group_setup(void **state)
{
    (void)state;
    err_t e;
    L.endpoint = getenv("AWS_ENDPOINT_URL_S3");
    L.bucket = getenv("ONESHEET_LIVE_BUCKET");
    if (!L.bucket || !*L.bucket)
        L.bucket = "posters-live";
    if (!L.endpoint || !http_url_is_loopback(L.endpoint)) {
        fprintf(stderr, "live_s3: AWS_ENDPOINT_URL_S3 must point at the loopback proxy\n");
        return -1;
    }
    if (!(L.env = aws_env_new(NULL, &e))) {
        fprintf(stderr, "live_s3: aws_env_new: %s\n", e.msg);
        return -1;
    }
    snprintf(L.store_url, sizeof L.store_url, "s3://%s/live", L.bucket);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    store_close(L.s);
    aws_env_free(L.env);
    return 0;
}

static void ensure_creates_the_bucket_once_then_finds_it(void **state)
{
    (void)state;
    err_t e;
    char report[160];
    if (store_s3_ensure(L.env, L.bucket, report, sizeof report, &e) != ERR_OK)
        fail_msg("ensure: %s", e.msg);
    assert_non_null(strstr(report, "created in us-east-1"));
    if (store_s3_ensure(L.env, L.bucket, report, sizeof report, &e) != ERR_OK)
        fail_msg("ensure again: %s", e.msg);
    assert_non_null(strstr(report, ": exists"));
    L.s = store_s3_open_env(L.env, L.store_url, &e);
    if (!L.s)
        fail_msg("open %s: %s", L.store_url, e.msg);
}

/* ---- the store conformance suite on S3 ---- */

/* A fresh prefix of the bucket for each test (the bucket is made once). */
static void s3_open(store_fixture_t *fx)
{
    static int seq;
    char report[160];
    err_t e;
    if (store_s3_ensure(L.env, L.bucket, report, sizeof report, &e) != ERR_OK)
        fail_msg("ensure %s: %s", L.bucket, e.msg);
    snprintf(fx->where, sizeof fx->where, "s3://%s/conf%d-%ld", L.bucket, ++seq,
             (long)getpid());
    if (!(fx->s = store_s3_open_env(L.env, fx->where, &e)))
        fail_msg("open %s: %s", fx->where, e.msg);
}

static void s3_close(store_fixture_t *fx)
{
    store_close(fx->s);
}

static store_t *s3_another(store_fixture_t *fx)
{
    err_t e;
    store_t *s = store_s3_open_env(L.env, fx->where, &e);
    if (!s)
        fail_msg("open %s: %s", fx->where, e.msg);
    return s;
}

/* A plain GET of url, as a browser given a presigned URL makes it. */
static long http_get(const char *url, uint8_t **body, size_t *len)
{
    err_t e;
    http_client_t *c = http_client_new(NULL, &e);
    http_response_t r;
    http_request_t rq = {.method = "GET", .url = url};
    long st;
    *body = NULL;
    *len = 0;
    if (!c)
        fail_msg("http client: %s", e.msg);
    http_response_init(&r);
    if (http_do(c, &rq, &r, &e) != ERR_OK)
        fail_msg("GET: %s", e.msg);
    st = r.status;
    if (st == 200) {
        *len = r.body.len;
        *body = (uint8_t *)buf_steal(&r.body);
        if (!*body)
            *body = calloc(1, 1);
    }
    http_response_free(&r);
    http_client_free(c);
    return st;
}

static long s3_fetch(store_fixture_t *fx, const char *url, uint8_t **body, size_t *len)
{
    long st = http_get(url, body, len);
    if (st == 403)   /* the proxy refused it; the last test counts those */
        expired_url_rejections++;
    return st;
}

/* s3rver's file for the object: size and modification time change when a
 * put reaches it. */
static bool s3_stamp(store_fixture_t *fx, const char *key, char *out, size_t cap)
{
    char path[2048];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s/%s._S3rver_object", getenv("ONESHEET_LIVE_S3_DIR"),
             fx->where + strlen("s3://"), key);
    if (stat(path, &st) != 0)
        return false;
    snprintf(out, cap, "size=%lld mtime=%lld.%09ld", (long long)st.st_size,
             (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    return true;
}

static store_backend_t s3_backend = {
    .open = s3_open,
    .close = s3_close,
    .open_another = s3_another,
    .fetch = s3_fetch,
    .stamp = NULL,   /* s3_stamp when ONESHEET_LIVE_S3_DIR is set */
    .urls_expire = true,
    /* s3rver truncates and rewrites the object's file: a GET racing a PUT
     * gets a short body (tried: "transfer closed with 1048576 bytes
     * remaining"), which says nothing about S3 or this store. */
    .server_rewrites_in_place = true,
};

/* What the suite checks through the proxy, asked of s3rver itself: it
 * ignores signatures (EMULATORS.md) but does refuse a presigned URL past
 * X-Amz-Date + X-Amz-Expires. */
static void s3rver_itself_refuses_an_expired_presigned_url(void **state)
{
    (void)state;
    const char *direct = getenv("ONESHEET_LIVE_S3_DIRECT");
    char *url = NULL, moved[2048];
    uint8_t *body = NULL;
    size_t len = 0, plen = strlen(L.endpoint);
    int64_t expires = 0;
    err_t e;
    if (!direct || !*direct)
        skip();
    if (put_bytes("b1/expiry.png", (const uint8_t *)"poster", 6, &e) != ERR_OK)
        fail_msg("put: %s", e.msg);
    if (store_url(L.s, "b1/expiry.png", 2, &url, &expires, &e) != ERR_OK)
        fail_msg("url: %s", e.msg);
    assert_int_equal(strncmp(url, L.endpoint, plen), 0);
    snprintf(moved, sizeof moved, "%s%s", direct, url + plen);
    assert_int_equal(http_get(moved, &body, &len), 200);
    assert_int_equal(len, 6);
    free(body);
    while (time(NULL) <= expires + 1)
        usleep(100 * 1000);
    assert_int_equal(http_get(moved, &body, &len), 403);
    free(url);
}

static void put_get_and_presigned_download_round_trip(void **state)
{
    (void)state;
    err_t e;
    size_t n = 300 * 1024 + 7, len = 0;
    uint8_t *p = sc_bytes(n, 1), *got = NULL, want[SHA256_LEN], dl[SHA256_LEN];
    if (put_bytes("b1/j1.png", p, n, &e) != ERR_OK)
        fail_msg("put: %s", e.msg);
    if (store_get(L.s, "b1/j1.png", &got, &len, &e) != ERR_OK)
        fail_msg("get: %s", e.msg);
    assert_int_equal(len, n);
    assert_memory_equal(got, p, n);
    free(got);

    char *url = NULL;
    int64_t expires = 0;
    if (store_url(L.s, "b1/j1.png", 600, &url, &expires, &e) != ERR_OK)
        fail_msg("url: %s", e.msg);
    assert_true(expires > time(NULL) + 500);
    http_client_t *c = http_client_new(NULL, &e);
    http_response_t r;
    http_response_init(&r);
    http_request_t rq = {.method = "GET", .url = url};
    assert_int_equal(http_do(c, &rq, &r, &e), ERR_OK);
    assert_int_equal(r.status, 200);
    crypto_sha256(p, n, want);
    crypto_sha256(r.body.data, r.body.len, dl);
    assert_memory_equal(dl, want, SHA256_LEN);

    /* The same URL with one signature digit changed must be refused. */
    char *sig = strstr(url, "X-Amz-Signature=");
    assert_non_null(sig);
    sig += strlen("X-Amz-Signature=");
    *sig = *sig == '0' ? '1' : '0';
    assert_int_equal(http_do(c, &rq, &r, &e), ERR_OK);
    assert_int_equal(r.status, 403);
    assert_non_null(strstr((const char *)r.body.data, "SignatureDoesNotMatch"));
    deliberate_rejections++;
    http_response_free(&r);
    http_client_free(c);
    free(url);
    free(p);
}

static void second_put_goes_through_412_and_overwrites_only_other_bytes(void **state)
{
    (void)state;
    err_t e;
    size_t n = 4096, len = 0;
    uint8_t *a = sc_bytes(n, 2), *b = sc_bytes(n, 3), *got = NULL;
    long pre0 = proxy_stat("precondition_failed");
    if (put_bytes("b1/j2.png", a, n, &e) != ERR_OK)
        fail_msg("put: %s", e.msg);
    assert_int_equal(proxy_stat("precondition_failed"), pre0);
    if (put_bytes("b1/j2.png", a, n, &e) != ERR_OK)
        fail_msg("identical put: %s", e.msg);
    assert_int_equal(proxy_stat("precondition_failed"), pre0 + 1);
    if (put_bytes("b1/j2.png", b, n, &e) != ERR_OK)
        fail_msg("regenerated put: %s", e.msg);
    assert_int_equal(proxy_stat("precondition_failed"), pre0 + 2);
    if (store_get(L.s, "b1/j2.png", &got, &len, &e) != ERR_OK)
        fail_msg("get: %s", e.msg);
    assert_int_equal(len, n);
    assert_memory_equal(got, b, n);
    free(got);
    free(a);
    free(b);
}

static void put_with_a_wrong_sha256_is_refused_and_stores_nothing(void **state)
{
    (void)state;
    err_t e;
    uint8_t sha[SHA256_LEN], *got = NULL;
    size_t len = 0;
    crypto_sha256("not these bytes", 15, sha);
    assert_int_equal(store_put(L.s, "b1/j3.png", "the bytes", 9, sha, "image/png", &e),
                     ERR_PERMANENT);
    assert_string_equal(e.service_code, "XAmzContentSHA256Mismatch");
    assert_int_equal(store_get(L.s, "b1/j3.png", &got, &len, &e), ERR_NOTFOUND);
}

static void checksum_header_that_does_not_match_is_bad_digest(void **state)
{
    (void)state;
    err_t e;
    char *url = NULL;
    aws_client_t *c = aws_client_new(L.env, ENDPOINT_S3, &e);
    assert_non_null(c);
    assert_int_equal(endpoint_s3_object_url(aws_client_endpoint(c), L.bucket, "live/b1/j4.png",
                                            &url, &e), ERR_OK);
    /* base64 of the SHA-256 of "" while the body is "abc". */
    const http_header_t h[] = {
        {"x-amz-checksum-sha256", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}};
    aws_request_t rq = {.method = "PUT", .url = url, .headers = h, .nheaders = 1,
                        .body = "abc", .body_len = 3};
    http_response_t r;
    http_response_init(&r);
    assert_int_equal(aws_request(c, &rq, &r, &e), ERR_PERMANENT);
    assert_int_equal(e.http_status, 400);
    assert_string_equal(e.service_code, "BadDigest");
    http_response_free(&r);
    free(url);
    aws_client_free(c);
}

/* Issue 21: a put with CRC-64/NVME goes with an unsigned payload (the
 * proxy is on loopback) and is checked by its CRC; a body that is not the
 * one the CRC was made of is refused with BadDigest, nothing stored. */
static void crc_puts_are_unsigned_and_a_corrupted_body_is_bad_digest(void **state)
{
    (void)state;
    err_t e;
    uint8_t *got = NULL;
    size_t len = 0;
    long unsigned0 = proxy_stat("unsigned_payload"), bad0 = proxy_stat("bad_digest");
    store_sum_t sum = {.alg = STORE_SUM_CRC64NVME, .crc64 = crc64nvme("the bytes", 9)};
    if (store_put_sum(L.s, "b1/j5.png", "the bytes", 9, &sum, "image/png", &e) != ERR_OK)
        fail_msg("crc put: %s", e.msg);
    assert_true(proxy_stat("unsigned_payload") > unsigned0);
    assert_int_equal(store_get(L.s, "b1/j5.png", &got, &len, &e), ERR_OK);
    assert_int_equal(len, 9);
    assert_memory_equal(got, "the bytes", 9);
    free(got);
    got = NULL;
    assert_int_equal(store_put_sum(L.s, "b1/j6.png", "the bytEs", 9, &sum, "image/png", &e),
                     ERR_PERMANENT);
    assert_string_equal(e.service_code, "BadDigest");
    assert_int_equal(proxy_stat("bad_digest"), bad0 + 1);
    assert_int_equal(store_get(L.s, "b1/j6.png", &got, &len, &e), ERR_NOTFOUND);
}

static void get_of_a_missing_key_is_notfound(void **state)
{
    (void)state;
    err_t e;
    uint8_t *got = NULL;
    size_t len = 0;
    assert_int_equal(store_get(L.s, "nobatch/none.png", &got, &len, &e), ERR_NOTFOUND);
    assert_null(got);
}

static void request_signed_with_a_wrong_secret_is_rejected(void **state)
{
    (void)state;
    err_t e;
    char *url = NULL;
    aws_client_t *ac = aws_client_new(L.env, ENDPOINT_S3, &e);
    assert_int_equal(endpoint_s3_object_url(aws_client_endpoint(ac), L.bucket,
                                            "live/b1/j1.png", &url, &e), ERR_OK);
    sigv4_credentials_t bad = {"S3RVER", "not-the-secret", NULL};
    sigv4_params_t p;
    sigv4_params_init(&p, "s3", "us-east-1", time(NULL));
    sigv4_request_t sq = {.method = "GET", .url = url};
    sigv4_result_t sr;
    sigv4_result_init(&sr);
    assert_int_equal(sigv4_sign_headers(&sq, &p, &bad, &sr, &e), ERR_OK);
    http_client_t *c = http_client_new(NULL, &e);
    http_response_t r;
    http_response_init(&r);
    http_request_t rq = {.method = "GET", .url = url, .headers = sr.headers,
                         .nheaders = sr.nheaders};
    assert_int_equal(http_do(c, &rq, &r, &e), ERR_OK);
    assert_int_equal(r.status, 403);
    assert_int_equal(http_error_from_aws(&r, &e), ERR_AUTH);
    assert_string_equal(e.service_code, "SignatureDoesNotMatch");
    deliberate_rejections++;
    http_response_free(&r);
    http_client_free(c);
    sigv4_result_free(&sr);
    aws_client_free(ac);
    free(url);
}

/* Last: every request the store made had a valid signature. */
static void proxy_rejected_only_the_deliberately_bad_requests(void **state)
{
    (void)state;
    assert_int_equal(deliberate_rejections, 2);
    /* The conformance suite's expired presigned URL, refused. */
    assert_int_equal(expired_url_rejections, 1);
    assert_int_equal(proxy_stat("rejected"), deliberate_rejections + expired_url_rejections);
    assert_true(proxy_stat("accepted") >= 15);
    assert_int_equal(proxy_stat("upstream_errors"), 0);
}

/* With ONESHEET_LIVE_FAULTS: the proxy serves every other request but
 * loses its reply (--fail-every 2 --fail-after), so retried puts meet their
 * own earlier writes and must come through the 412 path. */
static void puts_survive_lost_replies(void **state)
{
    (void)state;
    err_t e;
    char key[32];
    size_t n = 2048, len = 0;
    if (!(L.s = store_s3_open_env(L.env, L.store_url, &e)))
        fail_msg("open %s: %s", L.store_url, e.msg);
    for (unsigned i = 0; i < 3; i++) {
        uint8_t *p = sc_bytes(n, 10 + i), *got = NULL;
        snprintf(key, sizeof key, "faults/j%u.png", i);
        if (put_bytes(key, p, n, &e) != ERR_OK)
            fail_msg("put %s: %s", key, e.msg);
        if (store_get(L.s, key, &got, &len, &e) != ERR_OK)
            fail_msg("get %s: %s", key, e.msg);
        assert_int_equal(len, n);
        assert_memory_equal(got, p, n);
        free(got);
        free(p);
    }
    assert_true(proxy_stat("injected") >= 3);
    assert_true(proxy_stat("precondition_failed") >= 1);
    assert_int_equal(proxy_stat("rejected"), 0);
}

int main(void)
{
    if (getenv("ONESHEET_LIVE_FAULTS")) {
        const struct CMUnitTest faults[] = {cmocka_unit_test(puts_survive_lost_replies)};
        return cmocka_run_group_tests(faults, group_setup, group_teardown);
    }
    if (getenv("ONESHEET_LIVE_S3_DIR"))
        s3_backend.stamp = s3_stamp;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ensure_creates_the_bucket_once_then_finds_it),
        STORE_CONFORMANCE_TESTS(&s3_backend)
        cmocka_unit_test(s3rver_itself_refuses_an_expired_presigned_url),
        cmocka_unit_test(put_get_and_presigned_download_round_trip),
        cmocka_unit_test(second_put_goes_through_412_and_overwrites_only_other_bytes),
        cmocka_unit_test(put_with_a_wrong_sha256_is_refused_and_stores_nothing),
        cmocka_unit_test(checksum_header_that_does_not_match_is_bad_digest),
        cmocka_unit_test(crc_puts_are_unsigned_and_a_corrupted_body_is_bad_digest),
        cmocka_unit_test(get_of_a_missing_key_is_notfound),
        cmocka_unit_test(request_signed_with_a_wrong_secret_is_rejected),
        cmocka_unit_test(proxy_rejected_only_the_deliberately_bad_requests),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
