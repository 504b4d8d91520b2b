/* Tests for err, redact, log, buf (base64, hex) and crypto. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/crypto.h"
#include "base/err.h"
#include "base/log.h"
#include "base/redact.h"

static void base64_round_trips_all_lengths(void **state)
{
    (void)state;
    uint8_t data[300];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 37 + 11);
    for (size_t n = 0; n <= sizeof data; n++) {
        buf_t enc = BUF_INIT, dec = BUF_INIT;
        err_t e;
        assert_int_equal(base64_encode(data, n, &enc), ERR_OK);
        assert_int_equal(enc.len, (n + 2) / 3 * 4);
        assert_int_equal(base64_decode((char *)enc.data, enc.len, &dec, &e), ERR_OK);
        assert_int_equal(dec.len, n);
        if (n)
            assert_memory_equal(dec.data, data, n);
        buf_free(&enc);
        buf_free(&dec);
    }
}

static void base64_known_vectors(void **state)
{
    (void)state;
    static const char *const pairs[][2] = {
        {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
        buf_t b = BUF_INIT;
        assert_int_equal(base64_encode(pairs[i][0], strlen(pairs[i][0]), &b), ERR_OK);
        assert_string_equal(b.data ? (char *)b.data : "", pairs[i][1]);
        buf_free(&b);
    }
}

static void base64_rejects_bad_input(void **state)
{
    (void)state;
    static const char *const bad[] = {"Zm9", "Zg=", "Z===", "Zm9v!", "Zg==Zg==",
                                      "=Zg=", "Zm 9v", "Zm9vYg=a"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        buf_t b = BUF_INIT;
        err_t e;
        err_clear(&e);
        assert_int_equal(base64_decode(bad[i], strlen(bad[i]), &b, &e), ERR_INVALID);
        assert_true(strstr(e.msg, "base64") != NULL);
        buf_free(&b);
    }
}

static void base64_stream_any_chunking(void **state)
{
    (void)state;
    const char *text = "SGVsbG8sIHBvc3RlciB3b3JsZCEgMTIzNDU2Nzg5MA==";
    for (size_t chunk = 1; chunk < 10; chunk++) {
        base64_stream_t s;
        buf_t out = BUF_INIT;
        err_t e;
        base64_stream_init(&s);
        for (size_t i = 0; i < strlen(text); i += chunk) {
            size_t n = strlen(text) - i < chunk ? strlen(text) - i : chunk;
            assert_int_equal(base64_stream_feed(&s, text + i, n, &out, &e), ERR_OK);
        }
        assert_int_equal(base64_stream_finish(&s, &e), ERR_OK);
        assert_string_equal((char *)out.data, "Hello, poster world! 1234567890");
        buf_free(&out);
    }
}

static void sha256_and_hmac_match_known_answers(void **state)
{
    (void)state;
    char hex[SHA256_HEX_LEN];
    assert_int_equal(crypto_sha256_hex("", 0, hex), ERR_OK);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(crypto_sha256_hex("abc", 3, hex), ERR_OK);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

    /* RFC 4231 test case 2. */
    uint8_t mac[SHA256_LEN];
    const char *data = "what do ya want for nothing?";
    assert_int_equal(crypto_hmac_sha256("Jefe", 4, data, strlen(data), mac), ERR_OK);
    hex_encode(mac, SHA256_LEN, hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

    crypto_sha256_ctx *c = crypto_sha256_new();
    assert_non_null(c);
    assert_int_equal(crypto_sha256_update(c, "a", 1), ERR_OK);
    assert_int_equal(crypto_sha256_update(c, "bc", 2), ERR_OK);
    uint8_t d[SHA256_LEN];
    assert_int_equal(crypto_sha256_final(c, d), ERR_OK);
    hex_encode(d, SHA256_LEN, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void err_set_scrubs_registered_secrets_and_presign_values(void **state)
{
    (void)state;
    err_t e;
    redact_reset();
    redact_add_secret("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    err_set(&e, ERR_AUTH, "bad key wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY in %s",
            "https://b.s3.amazonaws.com/k?X-Amz-Signature=abcdef0123&X-Amz-Expires=60");
    assert_null(strstr(e.msg, "wJalr"));
    assert_null(strstr(e.msg, "abcdef0123"));
    assert_non_null(strstr(e.msg, "X-Amz-Expires=60"));
    assert_non_null(strstr(e.msg, "[redacted]"));
    err_prefix(&e, "file %s", "x.txt");
    assert_true(strncmp(e.msg, "file x.txt: ", 12) == 0);
    assert_int_equal(e.code, ERR_AUTH);
    redact_reset();
}

static void log_lines_never_carry_secrets(void **state)
{
    (void)state;
    char path[] = "/tmp/onesheet-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *fp = fdopen(fd, "w+");
    redact_reset();
    redact_add_secret("SESSIONTOKENSECRET1234");
    log_init("test", LOG_DEBUG, false);
    log_set_stream(fp);
    log_info("put", "url=%s token=%s", "http://h/k?X-Amz-Security-Token=SESSIONTOKENSECRET1234",
             "SESSIONTOKENSECRET1234");
    log_init("test", LOG_DEBUG, true);
    log_info("put", "auth=\"AWS4-HMAC-SHA256 Credential=AKID/x, Signature=deadbeef99\"");
    fflush(fp);
    rewind(fp);
    char text[4096] = {0};
    size_t n = fread(text, 1, sizeof text - 1, fp);
    text[n] = '\0';
    assert_null(strstr(text, "SESSIONTOKENSECRET1234"));
    assert_null(strstr(text, "deadbeef99"));
    assert_non_null(strstr(text, "event=put"));
    assert_non_null(strstr(text, "\"event\":\"put\""));
    log_set_stream(NULL);
    fclose(fp);
    unlink(path);
    redact_reset();
}

static void retryable_decision_is_centralised(void **state)
{
    (void)state;
    err_t e;
    err_set(&e, ERR_THROTTLED, "x");
    e.http_status = 0;
    e.service_code[0] = 0;
    assert_true(err_is_retryable(&e));
    err_set(&e, ERR_PERMANENT, "x");
    e.http_status = 400;
    strcpy(e.service_code, "ValidationException");
    assert_false(err_is_retryable(&e));
    strcpy(e.service_code, "ModelNotReadyException");
    assert_true(err_is_retryable(&e));
    e.service_code[0] = 0;
    e.http_status = 503;
    assert_true(err_is_retryable(&e));
    err_set(&e, ERR_INVALID, "x");
    e.http_status = 0;
    assert_false(err_is_retryable(&e));
    assert_int_equal(err_exit_status(ERR_INVALID), 65);
    assert_int_equal(err_exit_status(ERR_CONFIG), 78);
    assert_int_equal(err_exit_status(ERR_NOINPUT), 66);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(base64_round_trips_all_lengths),
        cmocka_unit_test(base64_known_vectors),
        cmocka_unit_test(base64_rejects_bad_input),
        cmocka_unit_test(base64_stream_any_chunking),
        cmocka_unit_test(sha256_and_hmac_match_known_answers),
        cmocka_unit_test(err_set_scrubs_registered_secrets_and_presign_values),
        cmocka_unit_test(log_lines_never_carry_secrets),
        cmocka_unit_test(retryable_decision_is_centralised),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
