/* Tests for the Standard Webhooks module (jobs/webhook.c): the signature
 * against the specification's published vector (checked against the
 * standardwebhooks npm package too), secrets, receiver URLs, the backoff,
 * and one delivery attempt against the loopback fake server: headers sent,
 * and which answers are retried. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fakeserver.h"
#include "jobs/webhook.h"

/* From github.com/standard-webhooks/standard-webhooks (the libraries'
 * shared test vector). */
#define SPEC_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SPEC_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SPEC_TS 1614265330
#define SPEC_BODY "{\"test\": 2432232314}"
#define SPEC_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

static void signature_matches_the_specification_vector(void **state)
{
    webhook_key_t k;
    char sig[WEBHOOK_SIG_MAX];
    err_t e;
    (void)state;
    assert_int_equal(webhook_key_parse(SPEC_SECRET, "webhook_secret", &k, &e), ERR_OK);
    assert_int_equal(k.len, 24);
    assert_int_equal(webhook_sign(&k, SPEC_ID, SPEC_TS, SPEC_BODY, strlen(SPEC_BODY), sig,
                                  sizeof sig), ERR_OK);
    assert_string_equal(sig, SPEC_SIG);
    /* Any change to id, time or body changes it. */
    assert_int_equal(webhook_sign(&k, SPEC_ID, SPEC_TS + 1, SPEC_BODY, strlen(SPEC_BODY),
                                  sig, sizeof sig), ERR_OK);
    assert_string_not_equal(sig, SPEC_SIG);
    assert_int_equal(webhook_sign(&k, SPEC_ID, SPEC_TS, SPEC_BODY, 5, sig, sizeof sig),
                     ERR_OK);
    assert_string_not_equal(sig, SPEC_SIG);
    assert_int_equal(webhook_sign(&k, SPEC_ID, SPEC_TS, SPEC_BODY, strlen(SPEC_BODY), sig,
                                  10), ERR_TOOBIG);
}

static void bad_secrets_are_config_errors_that_do_not_echo_them(void **state)
{
    static const char *const bad[] = {
        "",                                          /* empty */
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",          /* no prefix */
        "whsec_",                                    /* nothing after it */
        "whsec_not base64!!",                        /* not base64 */
        "whsec_c2hvcnQ=",                            /* "short": 5 bytes */
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa",      /* cut: bad padding */
        "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",   /* 96 bytes: too long */
    };
    webhook_key_t k;
    err_t e;
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err_clear(&e);
        assert_int_equal(webhook_key_parse(bad[i], "webhook_secret", &k, &e), ERR_CONFIG);
        assert_non_null(strstr(e.msg, "webhook_secret"));
        if (strlen(bad[i]) > 8)
            assert_null(strstr(e.msg, bad[i] + 6));
        assert_int_equal(k.len, 0);
    }
    assert_int_equal(webhook_key_parse(NULL, "x", &k, &e), ERR_CONFIG);
}

static void receiver_urls_are_https_or_loopback_http(void **state)
{
    static const char *const good[] = {
        "https://hooks.example.com/a?token=x", "http://127.0.0.1:8080/h",
        "http://localhost/h", "http://[::1]:9/h", "https://h.example",
    };
    static const char *const bad[] = {
        "", "ftp://example.com/h", "hooks.example.com/h", "http://example.com/h",
        "http://10.0.0.1/h", "https://", "https:///path", "https://a b/h",
        "javascript:alert(1)", "http://127.0.0.1.evil.example/h",
    };
    err_t e;
    (void)state;
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        if (webhook_url_check(good[i], "--webhook", &e) != ERR_OK)
            fail_msg("%s: %s", good[i], e.msg);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err_clear(&e);
        if (webhook_url_check(bad[i], "--webhook", &e) != ERR_INVALID)
            fail_msg("accepted %s", bad[i]);
        assert_non_null(strstr(e.msg, "--webhook"));
    }
    assert_int_equal(webhook_url_check(NULL, "webhook", &e), ERR_INVALID);
}

static void origin_hides_path_query_and_credentials(void **state)
{
    char o[128];
    (void)state;
    webhook_origin("https://hooks.example.com/t/SECRET?k=v", o, sizeof o);
    assert_string_equal(o, "https://hooks.example.com");
    webhook_origin("https://user:pw@hooks.example.com:8443/x", o, sizeof o);
    assert_string_equal(o, "https://hooks.example.com:8443");
    webhook_origin("http://127.0.0.1:9?x", o, sizeof o);
    assert_string_equal(o, "http://127.0.0.1:9");
    webhook_origin("nonsense", o, sizeof o);
    assert_string_equal(o, "");
}

static void ids_are_fresh_and_prefixed(void **state)
{
    char a[40], b[40];
    (void)state;
    assert_int_equal(webhook_new_id(a, sizeof a), ERR_OK);
    assert_int_equal(webhook_new_id(b, sizeof b), ERR_OK);
    assert_int_equal(strncmp(a, "msg_", 4), 0);
    assert_int_equal(strlen(a), 30);
    assert_string_not_equal(a, b);
    assert_int_equal(webhook_new_id(a, 20), ERR_TOOBIG);
}

static void backoff_doubles_with_jitter_up_to_ten_minutes(void **state)
{
    (void)state;
    assert_int_equal(webhook_backoff_ms(1, 0), 500);
    assert_int_equal(webhook_backoff_ms(1, 0.999999), 999);
    assert_int_equal(webhook_backoff_ms(2, 0), 1000);
    assert_int_equal(webhook_backoff_ms(4, 0), 4000);
    assert_int_equal(webhook_backoff_ms(30, 0), 300000);
    assert_true(webhook_backoff_ms(1000, 0.999999) <= 600000);
}

/* The fake receiver answers the status in `ud` and keeps the headers. */
typedef struct {
    int status;
    char id[64], ts[32], sig[80], ctype[64], body[256];
} rx_t;

static void rx_handler(const fake_request_t *req, fake_response_t *resp, void *ud)
{
    rx_t *rx = ud;
    const char *v;
    snprintf(rx->id, sizeof rx->id, "%s", (v = fake_request_header(req, "webhook-id")) ? v : "");
    snprintf(rx->ts, sizeof rx->ts, "%s",
             (v = fake_request_header(req, "webhook-timestamp")) ? v : "");
    snprintf(rx->sig, sizeof rx->sig, "%s",
             (v = fake_request_header(req, "webhook-signature")) ? v : "");
    snprintf(rx->ctype, sizeof rx->ctype, "%s",
             (v = fake_request_header(req, "content-type")) ? v : "");
    snprintf(rx->body, sizeof rx->body, "%.*s", (int)req->body_len, req->body);
    resp->status = rx->status;
}

static void a_delivery_is_signed_and_classified(void **state)
{
    static const struct { int status; err_code_t want; } cases[] = {
        {200, ERR_OK}, {204, ERR_OK}, {503, ERR_UNAVAILABLE}, {500, ERR_UNAVAILABLE},
        {429, ERR_UNAVAILABLE}, {408, ERR_UNAVAILABLE}, {400, ERR_PERMANENT},
        {401, ERR_PERMANENT}, {410, ERR_PERMANENT}, {302, ERR_PERMANENT},
    };
    rx_t rx = {0};
    webhook_key_t k;
    char url[128], sig[WEBHOOK_SIG_MAX];
    const char *body = "{\"type\":\"job.succeeded\"}";
    long status;
    err_t e;
    (void)state;
    assert_int_equal(webhook_key_parse(SPEC_SECRET, "s", &k, &e), ERR_OK);
    fake_server_t *fs = fake_server_start(rx_handler, &rx);
    assert_non_null(fs);
    snprintf(url, sizeof url, "%s/hook/SECRETPATH?token=x", fake_server_url(fs));
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        rx.status = cases[i].status;
        err_clear(&e);
        assert_int_equal(webhook_post(NULL, url, &k, "msg_abc", body, strlen(body), 5000,
                                      &status, &e), cases[i].want);
        assert_int_equal(status, cases[i].status);
        assert_null(strstr(e.msg, "SECRETPATH"));
        assert_null(strstr(e.msg, "token"));
    }
    assert_string_equal(rx.id, "msg_abc");
    assert_string_equal(rx.ctype, "application/json");
    assert_string_equal(rx.body, body);
    long long ts = atoll(rx.ts);
    assert_true(ts > 1600000000LL && llabs(ts - (long long)time(NULL)) < 60);
    assert_int_equal(webhook_sign(&k, "msg_abc", ts, body, strlen(body), sig, sizeof sig),
                     ERR_OK);
    assert_string_equal(rx.sig, sig);
    fake_server_stop(fs);
    /* Nobody listening: refused, retried later; the path stays hidden. */
    err_clear(&e);
    assert_int_equal(webhook_post(NULL, url, &k, "msg_abc", body, strlen(body), 2000, &status,
                                  &e), ERR_UNAVAILABLE);
    assert_int_equal(status, 0);
    assert_null(strstr(e.msg, "SECRETPATH"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(signature_matches_the_specification_vector),
        cmocka_unit_test(bad_secrets_are_config_errors_that_do_not_echo_them),
        cmocka_unit_test(receiver_urls_are_https_or_loopback_http),
        cmocka_unit_test(origin_hides_path_query_and_credentials),
        cmocka_unit_test(ids_are_fresh_and_prefixed),
        cmocka_unit_test(backoff_doubles_with_jitter_up_to_ten_minutes),
        cmocka_unit_test(a_delivery_is_signed_and_classified),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
