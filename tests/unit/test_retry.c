/* Tests for retry.c: attempt counts, jittered backoff bounds, the retry-token
 * bucket, clock-skew correction and the adaptive rate limiter, against the
 * loopback fake server with an injected RNG, clock and sleep recorder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "fakeserver.h"
#include "aws/http.h"
#include "aws/retry_http.h"

/* ---- injected hooks: RNG, monotonic clock advanced by sleeps ---- */

typedef struct {
    pthread_mutex_t mu;
    double rand_value;
    long sleeps[64];
    int nsleeps;
    long slept_total;
    int64_t mono;
} hooks_t;

static hooks_t hk = {PTHREAD_MUTEX_INITIALIZER, 0, {0}, 0, 0, 0};

static double fake_rand(void *ud)
{
    (void)ud;
    return hk.rand_value;
}

static void fake_sleep(long ms, void *ud)
{
    (void)ud;
    pthread_mutex_lock(&hk.mu);
    if (hk.nsleeps < 64)
        hk.sleeps[hk.nsleeps] = ms;
    hk.nsleeps++;
    hk.slept_total += ms;
    hk.mono += ms;
    pthread_mutex_unlock(&hk.mu);
}

static int64_t fake_mono(void *ud)
{
    (void)ud;
    pthread_mutex_lock(&hk.mu);
    int64_t v = hk.mono;
    pthread_mutex_unlock(&hk.mu);
    return v;
}

static void hooks_reset(double rand_value)
{
    pthread_mutex_lock(&hk.mu);
    hk.rand_value = rand_value;
    hk.nsleeps = 0;
    hk.slept_total = 0;
    hk.mono = 1000000;
    pthread_mutex_unlock(&hk.mu);
}

static retry_options_t opts(retry_mode_t mode, int max_attempts)
{
    retry_options_t o = {.mode = mode, .max_attempts = max_attempts,
                         .rand01 = fake_rand, .sleep_ms = fake_sleep, .mono_ms = fake_mono};
    return o;
}

/* ---- the fake service: answers per a scripted mode ---- */

typedef enum { SVC_THROTTLE_THEN_OK, SVC_UNAVAILABLE, SVC_VALIDATION, SVC_STALL_ONCE,
               SVC_STALL, SVC_SKEWED_CLOCK, SVC_ALWAYS_SKEW, SVC_HEAD_SKEW,
               SVC_HEAD_DENIED } svc_mode_t;

typedef struct {
    svc_mode_t mode;
    int fail_first;          /* SVC_THROTTLE_THEN_OK: failures before success */
    atomic_int calls;
} svc_t;

static void skew_reply(fake_response_t *resp, long long server_now)
{
    char date[64];
    fake_http_date(server_now, date, sizeof date);
    resp->status = 403;
    fake_response_header(resp, "Date", date);
    fake_response_bodyf(resp, "<Error><Code>RequestTimeTooSkewed</Code><Message>The "
                              "difference between the request time and the current time "
                              "is too large.</Message></Error>");
}

static void svc_handler(const fake_request_t *req, fake_response_t *resp, void *ud)
{
    svc_t *s = ud;
    int n = atomic_fetch_add(&s->calls, 1) + 1;
    long long server_now = (long long)time(NULL) + 1200;
    switch (s->mode) {
    case SVC_THROTTLE_THEN_OK:
        if (n <= s->fail_first) {
            fake_response_header(resp, "x-amzn-ErrorType", "ThrottlingException");
            fake_response_json(resp, 429, "{\"message\":\"Rate exceeded\"}");
            return;
        }
        fake_response_json(resp, 200, "{\"ok\":true}");
        return;
    case SVC_UNAVAILABLE:
        fake_response_header(resp, "x-amzn-ErrorType", "ServiceUnavailableException");
        fake_response_json(resp, n % 2 ? 503 : 500, "{\"message\":\"try later\"}");
        return;
    case SVC_VALIDATION:
        fake_response_header(resp, "x-amzn-ErrorType", "ValidationException");
        fake_response_json(resp, 400, "{\"message\":\"prompt too long\"}");
        return;
    case SVC_STALL_ONCE:
    case SVC_STALL:
        if (n == 1 || s->mode == SVC_STALL)
            resp->stall_ms = 3000;
        return;
    case SVC_SKEWED_CLOCK: {
        /* The server's clock is 20 minutes ahead of ours. */
        const char *sent = fake_request_header(req, "X-Test-Time");
        long long t = sent ? atoll(sent) : 0;
        if (llabs(t - server_now) > 15 * 60) {
            skew_reply(resp, server_now);
            return;
        }
        fake_response_json(resp, 200, "{}");
        return;
    }
    case SVC_ALWAYS_SKEW:
        skew_reply(resp, server_now);
        return;
    case SVC_HEAD_SKEW:
    case SVC_HEAD_DENIED: {
        /* As S3 answers a HEAD: a 403 with no body, only the Date tells.
         * HEAD_SKEW's clock is 20 minutes ahead; HEAD_DENIED's is ours
         * and it refuses everything. */
        const char *sent = fake_request_header(req, "X-Test-Time");
        long long t = sent ? atoll(sent) : 0, now = s->mode == SVC_HEAD_SKEW
                                                        ? server_now : (long long)time(NULL);
        char date[64];
        fake_http_date(now, date, sizeof date);
        fake_response_header(resp, "Date", date);
        resp->status = s->mode == SVC_HEAD_DENIED || llabs(t - now) > 15 * 60 ? 403 : 200;
        return;
    }
    }
}

typedef struct {
    svc_t svc;
    fake_server_t *fs;
    http_client_t *c;
    char url[128];
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    f->fs = fake_server_start(svc_handler, &f->svc);
    assert_non_null(f->fs);
    snprintf(f->url, sizeof f->url, "%s/", fake_server_url(f->fs));
    http_options_t o = {.timeout_ms = 200};
    f->c = http_client_new(&o, NULL);
    assert_non_null(f->c);
    hooks_reset(0.0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    http_client_free(f->c);
    fake_server_stop(f->fs);
    free(f);
    return 0;
}

/* Runs one POST through retry_http against the fixture's server. */
static err_code_t call(fixture_t *f, retry_t *r, err_t *e)
{
    http_request_t req = {.method = "POST", .url = f->url, .body = "{}", .body_len = 2};
    http_response_t resp;
    http_response_init(&resp);
    err_code_t rc = retry_http(r, f->c, &req, &resp, e);
    http_response_free(&resp);
    return rc;
}

static void throttled_twice_then_ok_takes_three_attempts(void **state)
{
    fixture_t *f = *state;
    f->svc.mode = SVC_THROTTLE_THEN_OK;
    f->svc.fail_first = 2;
    hooks_reset(0.999);
    retry_options_t o = opts(RETRY_STANDARD, 0);
    retry_t *r = retry_new(&o, NULL);
    err_t e;
    assert_int_equal(call(f, r, &e), ERR_OK);
    assert_int_equal(f->svc.calls, 3);
    assert_int_equal(hk.nsleeps, 2);
    /* Full jitter below 1 s then 2 s (the RNG says "almost the ceiling"). */
    assert_true(hk.sleeps[0] >= 990 && hk.sleeps[0] <= 1000);
    assert_true(hk.sleeps[1] >= 1980 && hk.sleeps[1] <= 2000);
    /* Success after retries gives back what the last retry took. */
    assert_int_equal(retry_tokens(r), 500 - 5);
    retry_free(r);
}

static void persistent_5xx_stops_after_max_attempts(void **state)
{
    fixture_t *f = *state;
    f->svc.mode = SVC_UNAVAILABLE;
    retry_options_t o = opts(RETRY_STANDARD, 0);
    retry_t *r = retry_new(&o, NULL);
    err_t e;
    assert_int_equal(call(f, r, &e), ERR_UNAVAILABLE);
    assert_int_equal(f->svc.calls, 3);
    assert_int_equal(e.http_status, 503);
    assert_string_equal(e.service_code, "ServiceUnavailableException");
    assert_true(strncmp(e.msg, "after 3 attempts: HTTP 503", 26) == 0);
    assert_int_equal(retry_tokens(r), 490);
    retry_free(r);
}

static const char *env_table(const char *name, void *ud)
{
    const char *const *kv = ud;
    for (; kv[0]; kv += 2)
        if (strcmp(kv[0], name) == 0)
            return kv[1];
    return NULL;
}

static void max_attempts_comes_from_the_environment(void **state)
{
    fixture_t *f = *state;
    f->svc.mode = SVC_UNAVAILABLE;
    const char *env[] = {"AWS_MAX_ATTEMPTS", "5", "AWS_RETRY_MODE", "standard", NULL};
    retry_options_t o;
    err_t e;
    assert_int_equal(retry_options_from_env(&o, env_table, env, &e), ERR_OK);
    assert_int_equal(o.max_attempts, 5);
    o.rand01 = fake_rand;
    o.sleep_ms = fake_sleep;
    retry_t *r = retry_new(&o, NULL);
    assert_int_equal(call(f, r, &e), ERR_UNAVAILABLE);
    assert_int_equal(f->svc.calls, 5);
    retry_free(r);
}

static void environment_values_are_validated(void **state)
{
    (void)state;
    retry_options_t o;
    err_t e;
    const char *none[] = {NULL};
    assert_int_equal(retry_options_from_env(&o, env_table, none, &e), ERR_OK);
    assert_int_equal(o.mode, RETRY_STANDARD);
    assert_int_equal(o.max_attempts, 3);
    assert_int_equal(o.bucket_capacity, 500);
    const char *adaptive[] = {"AWS_RETRY_MODE", "adaptive", NULL};
    assert_int_equal(retry_options_from_env(&o, env_table, adaptive, &e), ERR_OK);
    assert_int_equal(o.mode, RETRY_ADAPTIVE);
    const char *bad_mode[] = {"AWS_RETRY_MODE", "aggressive", NULL};
    assert_int_equal(retry_options_from_env(&o, env_table, bad_mode, &e), ERR_CONFIG);
    assert_true(strstr(e.msg, "AWS_RETRY_MODE") != NULL);
    const char *bad_max[][3] = {{"AWS_MAX_ATTEMPTS", "1.5", NULL},
                                {"AWS_MAX_ATTEMPTS", "3x", NULL},
                                {"AWS_MAX_ATTEMPTS", "-2", NULL}};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(retry_options_from_env(&o, env_table, (void *)bad_max[i], &e),
                         ERR_CONFIG);
        assert_true(strstr(e.msg, "AWS_MAX_ATTEMPTS") != NULL);
    }
}

static void validation_error_is_not_retried(void **state)
{
    fixture_t *f = *state;
    f->svc.mode = SVC_VALIDATION;
    retry_options_t o = opts(RETRY_STANDARD, 5);
    retry_t *r = retry_new(&o, NULL);
    err_t e;
    assert_int_equal(call(f, r, &e), ERR_PERMANENT);
    assert_int_equal(f->svc.calls, 1);
    assert_int_equal(hk.nsleeps, 0);
    assert_string_equal(e.msg, "HTTP 400 ValidationException: prompt too long");
    assert_int_equal(retry_tokens(r), 500);
    retry_free(r);
}

static void stall_times_out_and_the_retry_succeeds(void **state)
{
    fixture_t *f = *state;
    f->svc.mode = SVC_STALL_ONCE;
    retry_options_t o = opts(RETRY_STANDARD, 0);
    retry_t *r = retry_new(&o, NULL);
    err_t e;
    assert_int_equal(call(f, r, &e), ERR_OK);
    assert_int_equal(f->svc.calls, 2);
    assert_int_equal(retry_tokens(r), 500);
    retry_free(r);
}

static void timeouts_cost_ten_tokens(void **state)
{
    fixture_t *f = *state;
    f->svc.mode = SVC_STALL;
    retry_options_t o = opts(RETRY_STANDARD, 2);
    retry_t *r = retry_new(&o, NULL);
    err_t e;
    assert_int_equal(call(f, r, &e), ERR_TIMEOUT);
    assert_int_equal(f->svc.calls, 2);
    assert_int_equal(retry_tokens(r), 490);
    retry_free(r);
}

/* Pure attempt function: fails with the code in *ud. */
static err_code_t fail_with(retry_t *r, int attempt, void *ud, http_response_t *resp,
                            err_t *err)
{
    (void)r;
    (void)attempt;
    (void)resp;
    err_code_t code = *(err_code_t *)ud;
    return err_set(err, code, "simulated %s", err_name(code));
}

static void backoff_delays_stay_within_the_capped_exponential(void **state)
{
    (void)state;
    hooks_reset(0.9999);
    retry_options_t o = opts(RETRY_STANDARD, 10);
    retry_t *r = retry_new(&o, NULL);
    err_code_t code = ERR_UNAVAILABLE;
    err_t e;
    assert_int_equal(retry_run(r, fail_with, &code, NULL, &e), ERR_UNAVAILABLE);
    assert_int_equal(hk.nsleeps, 9);
    for (int n = 1; n <= 9; n++) {
        long cap = 1000L << (n - 1);
        if (cap > 20000)
            cap = 20000;
        assert_int_equal(retry_backoff_cap_ms(r, n), cap);
        assert_true(hk.sleeps[n - 1] >= 0 && hk.sleeps[n - 1] <= cap);
        assert_true(hk.sleeps[n - 1] >= cap - cap / 100);
    }
    assert_true(strncmp(e.msg, "after 10 attempts", 17) == 0);
    retry_free(r);

    /* The RNG's low end: no wait at all. */
    hooks_reset(0.0);
    r = retry_new(&o, NULL);
    retry_run(r, fail_with, &code, NULL, &e);
    assert_int_equal(hk.slept_total, 0);
    retry_free(r);
}

static void empty_bucket_stops_retrying(void **state)
{
    (void)state;
    retry_options_t o = opts(RETRY_STANDARD, 3);
    o.bucket_capacity = 12;
    retry_t *r = retry_new(&o, NULL);
    err_code_t code = ERR_THROTTLED;
    err_t e;
    /* 12 tokens pay for two retries (5 each); 2 are left. */
    assert_int_equal(retry_run(r, fail_with, &code, NULL, &e), ERR_THROTTLED);
    assert_int_equal(retry_tokens(r), 2);
    hooks_reset(0.5);
    assert_int_equal(retry_run(r, fail_with, &code, NULL, &e), ERR_THROTTLED);
    assert_int_equal(hk.nsleeps, 0);
    assert_true(strstr(e.msg, "retry quota exhausted") != NULL);
    assert_true(strstr(e.msg, "after 1 attempt:") != NULL);
    retry_free(r);

    /* A timeout costs 10: 15 tokens pay for one such retry only. */
    o.bucket_capacity = 15;
    o.max_attempts = 5;
    r = retry_new(&o, NULL);
    code = ERR_TIMEOUT;
    hooks_reset(0.5);
    retry_run(r, fail_with, &code, NULL, &e);
    assert_int_equal(hk.nsleeps, 1);
    assert_int_equal(retry_tokens(r), 5);
    retry_free(r);
}

static err_code_t succeed(retry_t *r, int attempt, void *ud, http_response_t *resp,
                          err_t *err)
{
    (void)r;
    (void)attempt;
    (void)ud;
    (void)resp;
    (void)err;
    return ERR_OK;
}

static void first_try_success_refunds_one_token(void **state)
{
    (void)state;
    retry_options_t o = opts(RETRY_STANDARD, 3);
    o.bucket_capacity = 20;
    retry_t *r = retry_new(&o, NULL);
    err_code_t code = ERR_NETWORK;
    err_t e;
    retry_run(r, fail_with, &code, NULL, &e);
    assert_int_equal(retry_tokens(r), 10);
    assert_int_equal(retry_run(r, succeed, NULL, NULL, &e), ERR_OK);
    assert_int_equal(e.code, ERR_OK);
    assert_int_equal(retry_tokens(r), 11);
    for (int i = 0; i < 20; i++)
        retry_run(r, succeed, NULL, NULL, &e);
    assert_int_equal(retry_tokens(r), 20);
    retry_free(r);
}

static void *drain_thread(void *arg)
{
    retry_t *r = arg;
    err_code_t code = ERR_UNAVAILABLE;
    err_t e;
    for (int i = 0; i < 10; i++)
        retry_run(r, fail_with, &code, NULL, &e);
    return NULL;
}

static void threads_share_one_bucket(void **state)
{
    (void)state;
    retry_options_t o = opts(RETRY_STANDARD, 3);
    retry_t *r = retry_new(&o, NULL);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, drain_thread, r);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    /* 40 failed runs × 2 retries × 5 tokens. */
    assert_int_equal(retry_tokens(r), 500 - 400);
    retry_free(r);
}

/* Signs with the corrected clock: sends it as X-Test-Time. */
static err_code_t timed_attempt(retry_t *r, int attempt, void *ud, http_response_t *resp,
                                err_t *err)
{
    fixture_t *f = ud;
    char t[32];
    (void)attempt;
    snprintf(t, sizeof t, "%lld", (long long)retry_clock_now(r));
    http_header_t h[] = {{"X-Test-Time", t}};
    http_request_t req = {.method = "GET", .url = f->url, .headers = h, .nheaders = 1};
    err_code_t rc = http_do(f->c, &req, resp, err);
    return rc != ERR_OK ? rc : http_error_from_aws(resp, err);
}

static void skewed_clock_is_corrected_from_the_date_header(void **state)
{
    fixture_t *f = *state;
    f->svc.mode = SVC_SKEWED_CLOCK;
    retry_options_t o = opts(RETRY_STANDARD, 1);
    retry_t *r = retry_new(&o, NULL);
    err_t e;
    assert_int_equal(retry_clock_offset(r), 0);
    /* Even with a single attempt allowed, a skew error is retried once. */
    assert_int_equal(retry_run(r, timed_attempt, f, NULL, &e), ERR_OK);
    assert_int_equal(f->svc.calls, 2);
    int64_t off = retry_clock_offset(r);
    assert_true(off >= 1198 && off <= 1202);
    assert_true(llabs((long long)(retry_clock_now(r) - time(NULL) - 1200)) <= 2);
    assert_int_equal(hk.nsleeps, 0);
    assert_int_equal(retry_tokens(r), 500);
    /* The offset sticks: the next call is right the first time. */
    assert_int_equal(retry_run(r, timed_attempt, f, NULL, &e), ERR_OK);
    assert_int_equal(f->svc.calls, 3);
    retry_free(r);
}

static void skew_is_retried_only_once(void **state)
{
    fixture_t *f = *state;
    f->svc.mode = SVC_ALWAYS_SKEW;
    retry_options_t o = opts(RETRY_STANDARD, 5);
    retry_t *r = retry_new(&o, NULL);
    err_t e;
    assert_int_equal(retry_run(r, timed_attempt, f, NULL, &e), ERR_SKEW);
    assert_int_equal(f->svc.calls, 2);
    assert_string_equal(e.service_code, "RequestTimeTooSkewed");
    assert_int_equal(retry_clock_observe(r, "not a date"), ERR_INVALID);
    assert_int_equal(retry_clock_observe(r, "Sun, 06 Nov 1994 08:49:37 GMT"), ERR_OK);
    assert_true(retry_clock_now(r) - 784111777 <= 2 && retry_clock_now(r) >= 784111777);
    retry_free(r);
}

static void bodiless_403_from_a_skewed_server_is_corrected(void **state)
{
    fixture_t *f = *state;
    f->svc.mode = SVC_HEAD_SKEW;
    retry_options_t o = opts(RETRY_STANDARD, 1);
    retry_t *r = retry_new(&o, NULL);
    err_t e;
    assert_int_equal(retry_run(r, timed_attempt, f, NULL, &e), ERR_OK);
    assert_int_equal(f->svc.calls, 2);
    int64_t off = retry_clock_offset(r);
    assert_true(off >= 1198 && off <= 1202);
    assert_int_equal(hk.nsleeps, 0);
    retry_free(r);
}

static void bodiless_403_with_a_close_date_stays_auth(void **state)
{
    fixture_t *f = *state;
    f->svc.mode = SVC_HEAD_DENIED;
    retry_options_t o = opts(RETRY_STANDARD, 3);
    retry_t *r = retry_new(&o, NULL);
    err_t e;
    assert_int_equal(retry_run(r, timed_attempt, f, NULL, &e), ERR_AUTH);
    assert_int_equal(f->svc.calls, 1);
    assert_int_equal(retry_clock_offset(r), 0);
    retry_free(r);
}

/* Five quick successful calls after a throttled one; returns the time the
 * rate limiter made them wait. */
static long throttle_then_five_calls(fixture_t *f, retry_t *r, retry_rate_info_t *after)
{
    err_t e;
    f->svc.mode = SVC_THROTTLE_THEN_OK;
    f->svc.fail_first = 3;
    atomic_store(&f->svc.calls, 0);
    assert_int_equal(call(f, r, &e), ERR_THROTTLED);
    retry_rate_info(r, after);
    pthread_mutex_lock(&hk.mu);
    hk.slept_total = 0;
    pthread_mutex_unlock(&hk.mu);
    for (int i = 0; i < 5; i++)
        assert_int_equal(call(f, r, &e), ERR_OK);
    return hk.slept_total;
}

static void adaptive_mode_slows_down_after_429s_and_recovers(void **state)
{
    fixture_t *f = *state;
    retry_rate_info_t info;

    /* Standard mode never paces. */
    retry_options_t o = opts(RETRY_STANDARD, 3);
    retry_t *r = retry_new(&o, NULL);
    assert_int_equal(throttle_then_five_calls(f, r, &info), 0);
    assert_false(info.enabled);
    retry_free(r);

    o.mode = RETRY_ADAPTIVE;
    hooks_reset(0.0);
    r = retry_new(&o, NULL);
    retry_rate_info(r, &info);
    assert_false(info.enabled);
    long waited = throttle_then_five_calls(f, r, &info);
    /* Throttled: the limiter engages at its floor rate and paces the next
     * five calls over seconds (with zero backoff jitter, all of that wait
     * is the limiter's). */
    assert_true(info.enabled);
    assert_true(info.fill_rate > 0 && info.fill_rate <= 1.0);
    assert_true(waited >= 2000);
    double slow = info.fill_rate;

    /* Successes spread over time let the rate climb back. */
    err_t e;
    for (int i = 0; i < 40; i++) {
        pthread_mutex_lock(&hk.mu);
        hk.mono += 250;
        pthread_mutex_unlock(&hk.mu);
        assert_int_equal(call(f, r, &e), ERR_OK);
    }
    retry_rate_info(r, &info);
    assert_true(info.fill_rate > 4 * slow);

    /* A new throttle cuts the rate again (×0.7 of what was measured). */
    double before = info.fill_rate;
    f->svc.fail_first = 1000;
    assert_int_equal(call(f, r, &e), ERR_THROTTLED);
    retry_rate_info(r, &info);
    assert_true(info.fill_rate < before);
    retry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(throttled_twice_then_ok_takes_three_attempts, setup, teardown),
        cmocka_unit_test_setup_teardown(persistent_5xx_stops_after_max_attempts, setup, teardown),
        cmocka_unit_test_setup_teardown(max_attempts_comes_from_the_environment, setup, teardown),
        cmocka_unit_test(environment_values_are_validated),
        cmocka_unit_test_setup_teardown(validation_error_is_not_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(stall_times_out_and_the_retry_succeeds, setup, teardown),
        cmocka_unit_test_setup_teardown(timeouts_cost_ten_tokens, setup, teardown),
        cmocka_unit_test(backoff_delays_stay_within_the_capped_exponential),
        cmocka_unit_test(empty_bucket_stops_retrying),
        cmocka_unit_test(first_try_success_refunds_one_token),
        cmocka_unit_test(threads_share_one_bucket),
        cmocka_unit_test_setup_teardown(skewed_clock_is_corrected_from_the_date_header, setup, teardown),
        cmocka_unit_test_setup_teardown(skew_is_retried_only_once, setup, teardown),
        cmocka_unit_test_setup_teardown(bodiless_403_from_a_skewed_server_is_corrected, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(bodiless_403_with_a_close_date_stays_auth, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(adaptive_mode_slows_down_after_429s_and_recovers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
