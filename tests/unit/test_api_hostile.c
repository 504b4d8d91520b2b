/* Tests for onesheet-api's defences in the router and the pool
 * (common/api/api_router.c, api_pool.c, api_ratelimit.c): wrong keys
 * throttled per client address (the right key too, once throttled), HEAD
 * wherever GET is, the cap on handle sets lent out (503 busy with
 * Retry-After beyond it), and the rate limiter's peek taking no token. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api_fixture.h"
#include "testutil.h"

static char key_hash[SHA256_HEX_LEN];
static const char *KEY = "test-key";

static api_fx_t *fx_new(const char *keys)
{
    api_options_t o = {.loopback = true, .sync_timeout_s = 0.3, .poll_interval_s = 0.05};
    return api_fx_new(o, false, keys);
}

static int call(api_fx_t *f, const char *method, const char *path, const char *body,
                const char *key, const char *client, api_response_t *r)
{
    return api_fx_call(f, method, path, body ? "application/json" : NULL, body, key, client, r);
}

static const char *err_code(const api_response_t *r)
{
    static char code[64];
    json_t *v = json_loadb(r->body, r->body_len, 0, NULL);
    const char *c = json_string_value(json_object_get(json_object_get(v, "error"), "code"));
    snprintf(code, sizeof code, "%s", c ? c : "");
    json_decref(v);
    return code;
}

static void wrong_keys_are_throttled_per_address_even_the_right_one(void **state)
{
    (void)state;
    api_fx_t *f = fx_new(key_hash);
    api_response_t r = {0};
    for (int i = 0; i < (int)API_AUTH_FAIL_BURST; i++) {
        assert_int_equal(call(f, "GET", "/jobs/j1", NULL, "guess", "10.0.0.1", &r), 401);
        assert_string_equal(r.detail, "bad_key");
    }
    assert_int_equal(call(f, "GET", "/jobs/j1", NULL, "guess", "10.0.0.1", &r), 429);
    assert_string_equal(err_code(&r), "auth_throttled");
    assert_true(r.retry_after >= 1);
    /* Throttled means unread: the right key does not get through either. */
    assert_int_equal(call(f, "GET", "/jobs/j1", NULL, KEY, "10.0.0.1", &r), 429);
    /* Another address is not affected, nor are the public routes. */
    assert_int_equal(call(f, "GET", "/jobs/j1", NULL, KEY, "10.0.0.2", &r), 404);
    assert_int_equal(call(f, "GET", "/jobs/j1", NULL, NULL, "10.0.0.2", &r), 401);
    assert_string_equal(r.detail, "no_key");
    assert_int_equal(call(f, "GET", "/healthz", NULL, NULL, "10.0.0.1", &r), 200);
    api_response_free(&r);
    api_fx_free(f);
}

static void head_is_allowed_wherever_get_is(void **state)
{
    (void)state;
    api_fx_t *f = fx_new(NULL);
    api_response_t r = {0};
    assert_int_equal(call(f, "HEAD", "/healthz", NULL, NULL, "127.0.0.1", &r), 200);
    assert_int_equal(call(f, "HEAD", "/openapi.json", NULL, NULL, "127.0.0.1", &r), 200);
    assert_int_equal(call(f, "HEAD", "/jobs/j1", NULL, NULL, "127.0.0.1", &r), 404);
    assert_int_equal(call(f, "HEAD", "/generate-poster", NULL, NULL, "127.0.0.1", &r), 405);
    assert_string_equal(err_code(&r), "method_not_allowed");
    api_response_free(&r);
    api_fx_free(f);
}

static void pool_lends_at_most_max_out_then_busy_with_retry_after(void **state)
{
    (void)state;
    api_fx_t *f = fx_new(NULL);
    api_response_t r = {0};
    api_backends_t *a = NULL, *b = NULL;
    err_t e;
    api_pool_set_max_out(f->pool, 1);
    assert_int_equal(api_pool_acquire(f->pool, &a, &e), ERR_OK);
    assert_int_equal(api_pool_acquire(f->pool, &b, &e), ERR_THROTTLED);
    assert_null(b);
    assert_int_equal(call(f, "POST", "/generate-poster", "{\"prompt\":\"a cat\"}", NULL,
                          "127.0.0.1", &r), 503);
    assert_string_equal(err_code(&r), "busy");
    assert_int_equal(r.retry_after, 1);
    api_pool_release(f->pool, a, false);
    /* Given back: lent again, and a request goes through. */
    assert_int_equal(api_pool_acquire(f->pool, &b, &e), ERR_OK);
    api_pool_release(f->pool, b, true);
    assert_int_equal(call(f, "POST", "/generate-poster", "{\"prompt\":\"a cat\"}", NULL,
                          "127.0.0.1", &r), 202);
    api_pool_set_max_out(f->pool, 0);
    api_response_free(&r);
    api_fx_free(f);
}

static void ratelimit_peek_takes_no_token(void **state)
{
    (void)state;
    api_ratelimit_t *rl = api_ratelimit_new(1, 2, 4);
    assert_int_equal(api_ratelimit_peek(rl, "a", 0), 0);   /* no bucket yet */
    assert_int_equal(api_ratelimit_take(rl, "a", 0), 0);
    assert_int_equal(api_ratelimit_peek(rl, "a", 0), 0);
    assert_int_equal(api_ratelimit_peek(rl, "a", 0), 0);
    assert_int_equal(api_ratelimit_take(rl, "a", 0), 0);
    assert_int_equal(api_ratelimit_peek(rl, "a", 0), 1);
    assert_int_equal(api_ratelimit_peek(rl, "a", 1000), 0); /* refilled */
    assert_int_equal(api_ratelimit_take(rl, "a", 1000), 0);
    assert_int_equal(api_ratelimit_take(rl, "a", 1000), 1);
    api_ratelimit_free(rl);
}

int main(void)
{
    crypto_sha256_hex(KEY, strlen(KEY), key_hash);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wrong_keys_are_throttled_per_address_even_the_right_one),
        cmocka_unit_test(head_is_allowed_wherever_get_is),
        cmocka_unit_test(pool_lends_at_most_max_out_then_busy_with_retry_after),
        cmocka_unit_test(ratelimit_peek_takes_no_token),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
