/* Tests for the parts of sigv4 one by one: the derived-key cache,
 * sigv4_verify's refusals, URL and URI-encoding helpers, canonical query
 * ordering, and input checking (clear ERR_INVALID messages, no secret in any
 * message).  The vector suites are in test_sigv4.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/redact.h"
#include "aws/sigv4.h"

static const sigv4_credentials_t EXAMPLE = {
    "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL};
static const time_t T0 = 1440938160;   /* 2015-08-30T12:36:00Z */

static void derived_key_matches_aws_example(void **state)
{
    (void)state;
    /* From the AWS "derive a signing key" documentation. */
    uint8_t key[SHA256_LEN];
    char hex[65];
    sigv4_key_cache_clear();
    assert_int_equal(sigv4_derive_key(EXAMPLE.secret_access_key, "20150830",
                                      "us-east-1", "iam", key, NULL), ERR_OK);
    hex_encode(key, SHA256_LEN, hex);
    assert_string_equal(hex, "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e"
                             "86da6ed3c154a4b9");
}

static void key_cache_reuses_key_and_drops_it_on_a_new_date(void **state)
{
    (void)state;
    uint8_t k1[SHA256_LEN], k2[SHA256_LEN], k3[SHA256_LEN], k4[SHA256_LEN];
    unsigned long hits, misses;
    const char *s = EXAMPLE.secret_access_key;

    sigv4_key_cache_clear();
    assert_int_equal(sigv4_derive_key(s, "20260101", "us-west-2", "s3", k1,
                                      NULL), ERR_OK);
    assert_int_equal(sigv4_derive_key(s, "20260101", "us-west-2", "s3", k2,
                                      NULL), ERR_OK);
    sigv4_key_cache_stats(&hits, &misses);
    assert_int_equal(hits, 1);
    assert_int_equal(misses, 1);
    assert_memory_equal(k1, k2, SHA256_LEN);

    /* The next day replaces the entry: a new key, and the old day is gone. */
    assert_int_equal(sigv4_derive_key(s, "20260102", "us-west-2", "s3", k3,
                                      NULL), ERR_OK);
    assert_memory_not_equal(k1, k3, SHA256_LEN);
    assert_int_equal(sigv4_derive_key(s, "20260101", "us-west-2", "s3", k4,
                                      NULL), ERR_OK);
    sigv4_key_cache_stats(&hits, &misses);
    assert_int_equal(hits, 1);
    assert_int_equal(misses, 3);
    assert_memory_equal(k1, k4, SHA256_LEN);

    /* Another secret never shares an entry. */
    assert_int_equal(sigv4_derive_key("another-secret-key", "20260101",
                                      "us-west-2", "s3", k2, NULL), ERR_OK);
    assert_memory_not_equal(k1, k2, SHA256_LEN);
    sigv4_key_cache_stats(&hits, &misses);
    assert_int_equal(misses, 4);
}

typedef struct {
    int id;
    int bad;
} thr_t;

static void *cache_worker(void *arg)
{
    thr_t *t = arg;
    static const char *const regions[] = {"us-east-1", "us-west-2",
                                          "eu-west-1", "ap-south-1"};
    for (int i = 0; i < 2000; i++) {
        char secret[32], date[9];
        uint8_t a[SHA256_LEN], b[SHA256_LEN];
        int r = (i + t->id) % 4;
        snprintf(secret, sizeof secret, "secret-number-%d", i % 24);
        snprintf(date, sizeof date, "202601%02d", 1 + i % 3);
        if (sigv4_derive_key(secret, date, regions[r], "s3", a, NULL) ||
            sigv4_derive_key(secret, date, regions[r], "s3", b, NULL) ||
            memcmp(a, b, SHA256_LEN) != 0)
            t->bad++;
    }
    return NULL;
}

static void key_cache_is_consistent_across_threads(void **state)
{
    (void)state;
    pthread_t th[4];
    thr_t t[4];
    uint8_t want[SHA256_LEN], got[SHA256_LEN];
    sigv4_key_cache_clear();
    for (int i = 0; i < 4; i++) {
        t[i] = (thr_t){i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, cache_worker, &t[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(t[i].bad, 0);
    }
    /* Whatever survived in the cache is still right. */
    assert_int_equal(sigv4_derive_key("secret-number-5", "20260103",
                                      "us-west-2", "s3", got, NULL), ERR_OK);
    sigv4_key_cache_clear();
    assert_int_equal(sigv4_derive_key("secret-number-5", "20260103",
                                      "us-west-2", "s3", want, NULL), ERR_OK);
    assert_memory_equal(want, got, SHA256_LEN);
}

/* A signed PUT to a loopback S3 as the stand-in would receive it. */
static void sign_s3_put(const char *body, sigv4_result_t *r, http_header_t *all,
                        size_t *nall)
{
    static http_header_t h[] = {{"Content-Type", "image/png"}};
    sigv4_params_t p;
    err_t e;
    sigv4_params_init(&p, "s3", "us-east-1", T0);
    sigv4_request_t req = {.method = "PUT",
                           .url = "http://127.0.0.1:4568/posters/a%20b.png",
                           .headers = h, .nheaders = 1, .body = body,
                           .body_len = strlen(body)};
    sigv4_result_init(r);
    assert_int_equal(sigv4_sign_headers(&req, &p, &EXAMPLE, r, &e), ERR_OK);
    all[0] = h[0];
    all[1] = (http_header_t){"Host", "127.0.0.1:4568"};
    for (size_t i = 0; i < r->nheaders; i++)
        all[2 + i] = r->headers[i];
    *nall = 2 + r->nheaders;
}

static void verify_accepts_signed_put_and_rejects_tampering(void **state)
{
    (void)state;
    sigv4_result_t r;
    http_header_t all[8];
    size_t nall;
    sigv4_verify_info_t info;
    sigv4_verify_opts_t o = {.now = T0 + 60, .region = "us-east-1",
                             .service = "s3"};
    err_t e;
    sign_s3_put("poster bytes", &r, all, &nall);
    sigv4_verify_info_init(&info);
    sigv4_request_t got = {.method = "PUT", .path = "/posters/a%20b.png",
                           .headers = all, .nheaders = nall,
                           .body = "poster bytes", .body_len = 12};
    assert_int_equal(sigv4_verify(&got, &EXAMPLE, &o, &info, &e), ERR_OK);
    assert_int_equal(info.reason, SIGV4_VERIFY_OK);
    assert_string_equal(info.access_key_id, "AKIDEXAMPLE");

    /* A different body than the one signed. */
    got.body = "poster bytez";
    assert_int_equal(sigv4_verify(&got, &EXAMPLE, &o, &info, &e), ERR_AUTH);
    assert_int_equal(info.reason, SIGV4_VERIFY_PAYLOAD_MISMATCH);
    assert_string_equal(e.service_code, "XAmzContentSHA256Mismatch");
    got.body = "poster bytes";

    /* A signed header changed in transit. */
    all[0].value = "image/jpeg";
    assert_int_equal(sigv4_verify(&got, &EXAMPLE, &o, &info, &e), ERR_AUTH);
    assert_int_equal(info.reason, SIGV4_VERIFY_MISMATCH);
    assert_non_null(strstr(e.msg, "does not match"));
    assert_non_null(strstr((char *)info.expected.canonical_request.data,
                           "content-type:image/jpeg"));
    all[0].value = "image/png";

    /* Another path. */
    got.path = "/posters/a%20c.png";
    assert_int_equal(sigv4_verify(&got, &EXAMPLE, &o, &info, &e), ERR_AUTH);
    assert_int_equal(info.reason, SIGV4_VERIFY_MISMATCH);
    got.path = "/posters/a%20b.png";

    /* The wrong secret, an unknown key, a wrong region. */
    sigv4_credentials_t other = EXAMPLE;
    other.secret_access_key = "not-the-secret-at-all";
    assert_int_equal(sigv4_verify(&got, &other, &o, &info, &e), ERR_AUTH);
    assert_int_equal(info.reason, SIGV4_VERIFY_MISMATCH);
    other = EXAMPLE;
    other.access_key_id = "AKIDOTHER";
    assert_int_equal(sigv4_verify(&got, &other, &o, &info, &e), ERR_AUTH);
    assert_int_equal(info.reason, SIGV4_VERIFY_UNKNOWN_KEY);
    sigv4_verify_opts_t o2 = o;
    o2.region = "eu-west-1";
    assert_int_equal(sigv4_verify(&got, &EXAMPLE, &o2, &info, &e), ERR_AUTH);
    assert_int_equal(info.reason, SIGV4_VERIFY_BAD_SCOPE);

    /* Credentials that carry a token want it in the request. */
    other = EXAMPLE;
    other.session_token = "a-session-token-value";
    assert_int_equal(sigv4_verify(&got, &other, &o, &info, &e), ERR_AUTH);
    assert_int_equal(info.reason, SIGV4_VERIFY_BAD_TOKEN);

    /* The clock: 15 minutes either way. */
    o2 = o;
    o2.now = T0 + 901;
    assert_int_equal(sigv4_verify(&got, &EXAMPLE, &o2, &info, &e), ERR_SKEW);
    assert_int_equal(info.reason, SIGV4_VERIFY_SKEWED);
    assert_string_equal(e.service_code, "RequestTimeTooSkewed");
    o2.now = T0 - 901;
    assert_int_equal(sigv4_verify(&got, &EXAMPLE, &o2, &info, &e), ERR_SKEW);

    /* No signature at all. */
    got.nheaders = 2;
    assert_int_equal(sigv4_verify(&got, &EXAMPLE, &o, &info, &e), ERR_AUTH);
    assert_int_equal(info.reason, SIGV4_VERIFY_MISSING);
    sigv4_verify_info_free(&info);
    sigv4_result_free(&r);
}

static void verify_rejects_expired_presigned_url(void **state)
{
    (void)state;
    sigv4_params_t p;
    sigv4_result_t r;
    sigv4_verify_info_t info;
    err_t e;
    sigv4_params_init(&p, "s3", "us-east-1", T0);
    p.expires = 900;
    sigv4_request_t req = {.method = "GET",
                           .url = "https://b.s3.amazonaws.com/k.png"};
    sigv4_result_init(&r);
    sigv4_verify_info_init(&info);
    assert_int_equal(sigv4_presign(&req, &p, &EXAMPLE, &r, &e), ERR_OK);
    sigv4_request_t got = {.method = "GET", .url = r.url};
    sigv4_verify_opts_t o = {.now = T0 + 900};
    assert_int_equal(sigv4_verify(&got, &EXAMPLE, &o, &info, &e), ERR_OK);
    assert_int_equal(info.mode, SIGV4_MODE_QUERY);
    o.now = T0 + 901;
    assert_int_equal(sigv4_verify(&got, &EXAMPLE, &o, &info, &e), ERR_AUTH);
    assert_int_equal(info.reason, SIGV4_VERIFY_EXPIRED);
    assert_non_null(strstr(e.msg, "expired"));
    /* Signed for a time well after the server's clock. */
    o.now = T0 - 901;
    assert_int_equal(sigv4_verify(&got, &EXAMPLE, &o, &info, &e), ERR_SKEW);
    assert_int_equal(info.reason, SIGV4_VERIFY_SKEWED);
    /* A signature cut short is malformed, not a crash. */
    r.url[strlen(r.url) - 3] = '\0';
    got.url = r.url;
    o.now = T0;
    assert_int_equal(sigv4_verify(&got, &EXAMPLE, &o, &info, &e), ERR_AUTH);
    assert_int_equal(info.reason, SIGV4_VERIFY_MALFORMED);
    sigv4_verify_info_free(&info);
    sigv4_result_free(&r);
}

static void bad_inputs_are_invalid_with_clear_messages(void **state)
{
    (void)state;
    static const struct {
        const char *url, *needle;
    } bad[] = {
        {"example.com/path", "no scheme"},
        {"ftp://example.com/x", "scheme must be http or https"},
        {"https:///x", "missing host"},
        {"https://:443/x", "missing host"},
        {"https://h:99999/", "port"},
        {"https://h:12x/", "bad port"},
        {"https://user:pw@h/", "user info"},
        {"https://h/a b", "space"},
        {"https://[::1/x", "unclosed"},
        {"", "empty"},
    };
    sigv4_params_t p;
    sigv4_result_t r;
    err_t e;
    sigv4_params_init(&p, "sqs", "us-east-1", T0);
    sigv4_result_init(&r);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sigv4_request_t req = {.method = "GET", .url = bad[i].url};
        assert_int_equal(sigv4_sign_headers(&req, &p, &EXAMPLE, &r, &e),
                         ERR_INVALID);
        if (!strstr(e.msg, bad[i].needle))
            fail_msg("%s: message '%s' lacks '%s'", bad[i].url, e.msg,
                     bad[i].needle);
    }
    /* Path form without a Host header. */
    sigv4_request_t nohost = {.method = "GET", .path = "/"};
    assert_int_equal(sigv4_sign_headers(&nohost, &p, &EXAMPLE, &r, &e),
                     ERR_INVALID);
    assert_non_null(strstr(e.msg, "missing host"));
    /* Header injection, bad encodings, empty names. */
    http_header_t inj[] = {{"X-A", "v\r\nX-Evil: 1"}};
    sigv4_request_t rq = {.method = "GET", .url = "https://h/", .headers = inj,
                          .nheaders = 1};
    assert_int_equal(sigv4_sign_headers(&rq, &p, &EXAMPLE, &r, &e),
                     ERR_INVALID);
    assert_non_null(strstr(e.msg, "line break"));
    rq.nheaders = 0;
    rq.url = "https://h/?a=%zz";
    assert_int_equal(sigv4_sign_headers(&rq, &p, &EXAMPLE, &r, &e),
                     ERR_INVALID);
    assert_non_null(strstr(e.msg, "percent-encoding"));
    rq.url = "https://h/";
    p.region = "";
    assert_int_equal(sigv4_sign_headers(&rq, &p, &EXAMPLE, &r, &e),
                     ERR_INVALID);
    assert_non_null(strstr(e.msg, "region"));
    p.region = "us-east-1";
    sigv4_credentials_t nokey = {"", "secret", NULL};
    assert_int_equal(sigv4_sign_headers(&rq, &p, &nokey, &r, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "access key id"));
    rq.payload_hash = "not-a-hash";
    assert_int_equal(sigv4_sign_headers(&rq, &p, &EXAMPLE, &r, &e),
                     ERR_INVALID);
    sigv4_result_free(&r);
}

static void no_secret_appears_in_any_error_message(void **state)
{
    (void)state;
    /* Without redaction, so a leak would show. */
    const char *secret = "SuperSecretKeyThatMustNeverLeak0123456789";
    sigv4_credentials_t c = {"AKIDLEAKTEST", secret, "token-that-is-secret"};
    sigv4_params_t p;
    sigv4_result_t r;
    sigv4_verify_info_t info;
    err_t e;
    redact_reset();
    sigv4_params_init(&p, "s3", "us-east-1", T0);
    sigv4_result_init(&r);
    sigv4_verify_info_init(&info);
    const char *urls[] = {"nope", "https:///", "https://h/?%", "https://h/x"};
    for (size_t i = 0; i < 4; i++) {
        sigv4_request_t req = {.method = i == 3 ? "" : "GET", .url = urls[i]};
        err_clear(&e);
        assert_int_not_equal(sigv4_sign_headers(&req, &p, &c, &r, &e), ERR_OK);
        assert_null(strstr(e.msg, secret));
        assert_null(strstr(e.msg, c.session_token));
        p.expires = 0;
        err_clear(&e);
        assert_int_not_equal(sigv4_presign(&req, &p, &c, &r, &e), ERR_OK);
        assert_null(strstr(e.msg, secret));
        p.expires = 3600;
    }
    /* Every verify refusal. */
    sigv4_request_t ok = {.method = "GET", .url = "https://h.example.com/k"};
    assert_int_equal(sigv4_presign(&ok, &p, &c, &r, &e), ERR_OK);
    sigv4_request_t got = {.method = "GET", .url = r.url};
    sigv4_credentials_t wrong[] = {
        {"AKIDLEAKTEST", "AnotherSecretKeyThatMustNotLeak", c.session_token},
        {"AKIDOTHER", secret, c.session_token},
        {"AKIDLEAKTEST", secret, "some-other-token-value"},
    };
    for (size_t i = 0; i < 3; i++) {
        err_clear(&e);
        assert_int_equal(sigv4_verify(&got, &wrong[i], &(sigv4_verify_opts_t){
                                          .now = T0}, &info, &e), ERR_AUTH);
        assert_null(strstr(e.msg, secret));
        assert_null(strstr(e.msg, wrong[i].secret_access_key));
        assert_null(strstr(e.msg, c.session_token));
    }
    sigv4_verify_info_free(&info);
    sigv4_result_free(&r);
}

static void uri_encode_keeps_unreserved_and_optionally_slash(void **state)
{
    (void)state;
    buf_t b = BUF_INIT;
    const char *in = "AZaz09-._~/ %+=&\xE1\x88\xB4";
    assert_int_equal(sigv4_uri_encode(in, strlen(in), true, &b), ERR_OK);
    assert_string_equal((char *)b.data,
                        "AZaz09-._~/%20%25%2B%3D%26%E1%88%B4");
    buf_reset(&b);
    assert_int_equal(sigv4_uri_encode("a/b", 3, false, &b), ERR_OK);
    assert_string_equal((char *)b.data, "a%2Fb");
    buf_reset(&b);
    assert_int_equal(sigv4_uri_decode("a%2fb%E1%88%B4+c", 16, &b, NULL),
                     ERR_OK);
    assert_string_equal((char *)b.data, "a/b\xE1\x88\xB4+c");
    buf_reset(&b);
    assert_int_equal(sigv4_uri_decode("%4", 2, &b, NULL), ERR_INVALID);
    buf_free(&b);
}

static void normalize_path_removes_dot_segments_and_empty_ones(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"/", "/"}, {"", "/"}, {"//", "/"}, {"/./", "/"},
        {"/example/..", "/"}, {"/a/b/../..", "/"}, {"/../..", "/"},
        {"//example//", "/example/"}, {"/./example", "/example"},
        {"/a/./b/../c", "/a/c"}, {"/a/b/.", "/a/b"}, {"a/b", "/a/b"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        buf_t b = BUF_INIT;
        assert_int_equal(sigv4_normalize_path(cases[i][0], &b), ERR_OK);
        if (strcmp((char *)b.data, cases[i][1]) != 0)
            fail_msg("%s → %s, want %s", cases[i][0], (char *)b.data,
                     cases[i][1]);
        buf_free(&b);
    }
}

static void url_parse_splits_parts_and_drops_default_port(void **state)
{
    (void)state;
    sigv4_url_t u;
    assert_int_equal(sigv4_url_parse("HTTPS://Bucket.s3.amazonaws.com:443/a/b"
                                     "?x=1&y#frag", &u, NULL), ERR_OK);
    assert_string_equal(u.scheme, "https");
    assert_string_equal(u.host, "Bucket.s3.amazonaws.com");
    assert_int_equal(u.port, 443);
    assert_true(u.port_explicit);
    assert_string_equal(u.authority, "Bucket.s3.amazonaws.com");
    assert_string_equal(u.path, "/a/b");
    assert_string_equal(u.query, "x=1&y");
    sigv4_url_free(&u);
    assert_int_equal(sigv4_url_parse("http://127.0.0.1:4568", &u, NULL),
                     ERR_OK);
    assert_string_equal(u.authority, "127.0.0.1:4568");
    assert_string_equal(u.path, "/");
    assert_string_equal(u.query, "");
    sigv4_url_free(&u);
    assert_int_equal(sigv4_url_parse("http://[::1]:8080/x?", &u, NULL),
                     ERR_OK);
    assert_string_equal(u.host, "[::1]");
    assert_int_equal(u.port, 8080);
    assert_string_equal(u.authority, "[::1]:8080");
    sigv4_url_free(&u);
    assert_int_equal(sigv4_url_parse("http://h", &u, NULL), ERR_OK);
    assert_int_equal(u.port, 80);
    assert_false(u.port_explicit);
    sigv4_url_free(&u);
}

static void canonical_query_sorts_by_encoded_key_then_value(void **state)
{
    (void)state;
    sigv4_params_t p;
    sigv4_result_t r;
    err_t e;
    sigv4_params_init(&p, "sqs", "us-east-1", T0);
    sigv4_request_t req = {.method = "GET",
                           .url = "https://h/?b=2&a=2&a-b=1&a%20b=x&a=1&flag&"
                                  "c=%7e%2f%2B"};
    sigv4_result_init(&r);
    assert_int_equal(sigv4_canonical_request(&req, &p, &EXAMPLE,
                                             SIGV4_MODE_HEADERS, &r, &e),
                     ERR_OK);
    /* '%' (0x25) sorts before '-' (0x2d); values break ties; a key without
     * '=' gets an empty value; encodings are normalised. */
    assert_non_null(strstr((char *)r.canonical_request.data,
                           "\n/\na=1&a=2&a%20b=x&a-b=1&b=2&c=~%2F%2B&flag=\n"));
    sigv4_result_free(&r);
}

static void s3_header_signing_supports_unsigned_payload(void **state)
{
    (void)state;
    sigv4_params_t p;
    sigv4_result_t r;
    err_t e;
    sigv4_params_init(&p, "s3", "us-west-2", T0);
    sigv4_request_t req = {.method = "PUT",
                           .url = "https://b.s3.us-west-2.amazonaws.com/k",
                           .payload_hash = SIGV4_UNSIGNED_PAYLOAD};
    sigv4_result_init(&r);
    assert_int_equal(sigv4_sign_headers(&req, &p, &EXAMPLE, &r, &e), ERR_OK);
    assert_int_equal(r.nheaders, 3);
    assert_string_equal(r.headers[1].name, "X-Amz-Content-SHA256");
    assert_string_equal(r.headers[1].value, SIGV4_UNSIGNED_PAYLOAD);
    size_t len = r.canonical_request.len;
    assert_string_equal((char *)r.canonical_request.data + len - 16,
                        SIGV4_UNSIGNED_PAYLOAD);
    assert_non_null(strstr((char *)r.canonical_request.data,
                           "\n/k\n\nhost:b.s3.us-west-2.amazonaws.com\n"
                           "x-amz-content-sha256:UNSIGNED-PAYLOAD\n"));
    /* Transport headers are never signed. */
    http_header_t h[] = {{"User-Agent", "onesheet/0.1"}, {"Expect", ""}};
    req.headers = h;
    req.nheaders = 2;
    assert_int_equal(sigv4_sign_headers(&req, &p, &EXAMPLE, &r, &e), ERR_OK);
    assert_string_equal(r.signed_headers, "host;x-amz-content-sha256;"
                                          "x-amz-date");
    sigv4_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(derived_key_matches_aws_example),
        cmocka_unit_test(key_cache_reuses_key_and_drops_it_on_a_new_date),
        cmocka_unit_test(key_cache_is_consistent_across_threads),
        cmocka_unit_test(verify_accepts_signed_put_and_rejects_tampering),
        cmocka_unit_test(verify_rejects_expired_presigned_url),
        cmocka_unit_test(bad_inputs_are_invalid_with_clear_messages),
        cmocka_unit_test(no_secret_appears_in_any_error_message),
        cmocka_unit_test(uri_encode_keeps_unreserved_and_optionally_slash),
        cmocka_unit_test(normalize_path_removes_dot_segments_and_empty_ones),
        cmocka_unit_test(url_parse_splits_parts_and_drops_default_port),
        cmocka_unit_test(s3_header_signing_supports_unsigned_payload),
        cmocka_unit_test(canonical_query_sorts_by_encoded_key_then_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
