/* Tests for ratelimit.c: pacing, booking of future slots, the cut on
 * throttling, the hold against a burst of 429s and the slow probe back up,
 * all on an injected clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdint.h>

#include "base/ratelimit.h"

static int64_t clock_ms;

static int64_t fake_clock(void *ud)
{
    (void)ud;
    return clock_ms;
}

static ratelimit_t *make(double per_minute, double burst)
{
    clock_ms = 1000000;
    ratelimit_t *r = ratelimit_new(per_minute, burst, fake_clock, NULL);
    assert_non_null(r);
    return r;
}

static void rejects_bad_arguments(void **state)
{
    (void)state;
    assert_null(ratelimit_new(0, 1, fake_clock, NULL));
    assert_null(ratelimit_new(-5, 1, fake_clock, NULL));
    assert_null(ratelimit_new(60, 0.5, fake_clock, NULL));
}

static void burst_goes_at_once_then_calls_are_paced(void **state)
{
    (void)state;
    ratelimit_t *r = make(120, 2);   /* one every 500 ms */
    assert_int_equal(ratelimit_reserve(r), 0);
    assert_int_equal(ratelimit_reserve(r), 0);
    assert_int_equal(ratelimit_reserve(r), 500);
    clock_ms += 500;
    /* The slot above was booked: the next one is another 500 ms out. */
    assert_int_equal(ratelimit_reserve(r), 500);
    ratelimit_free(r);
}

static void concurrent_callers_book_successive_slots(void **state)
{
    (void)state;
    ratelimit_t *r = make(60, 1);    /* one a second */
    assert_int_equal(ratelimit_reserve(r), 0);
    for (int i = 1; i <= 5; i++)
        assert_int_equal(ratelimit_reserve(r), 1000 * i);
    ratelimit_free(r);
}

static void refill_never_exceeds_the_burst(void **state)
{
    (void)state;
    ratelimit_t *r = make(60, 3);
    clock_ms += 3600 * 1000;
    for (int i = 0; i < 3; i++)
        assert_int_equal(ratelimit_reserve(r), 0);
    assert_int_equal(ratelimit_reserve(r), 1000);
    ratelimit_free(r);
}

static void throttling_cuts_the_rate_by_30_percent(void **state)
{
    (void)state;
    ratelimit_t *r = make(100, 1);
    ratelimit_throttled(r);
    assert_float_equal(ratelimit_rate(r), 70, 1e-9);
    /* The cut slows the pace: 1 token at 70/min is 858 ms away. */
    assert_int_equal(ratelimit_reserve(r), 0);
    assert_int_equal(ratelimit_reserve(r), 858);
    ratelimit_free(r);
}

static void a_burst_of_429s_cuts_once_per_second(void **state)
{
    (void)state;
    ratelimit_t *r = make(100, 1);
    for (int i = 0; i < 8; i++)
        ratelimit_throttled(r);
    assert_float_equal(ratelimit_rate(r), 70, 1e-9);
    clock_ms += 1000;
    ratelimit_throttled(r);
    assert_float_equal(ratelimit_rate(r), 49, 1e-9);
    ratelimit_free(r);
}

static void the_rate_never_falls_below_the_floor(void **state)
{
    (void)state;
    ratelimit_t *r = make(100, 1);
    for (int i = 0; i < 100; i++) {
        ratelimit_throttled(r);
        clock_ms += 1000;
    }
    assert_float_equal(ratelimit_rate(r), 2, 1e-9);   /* 100 / 50 */
    ratelimit_free(r);
    r = make(1, 1);
    for (int i = 0; i < 10; i++) {
        ratelimit_throttled(r);
        clock_ms += 1000;
    }
    assert_float_equal(ratelimit_rate(r), 0.5, 1e-9);
    ratelimit_free(r);
}

static void successes_return_fast_then_probe_slowly(void **state)
{
    (void)state;
    ratelimit_t *r = make(100, 1);
    ratelimit_throttled(r);
    /* Within the hold, success does not undo the cut. */
    ratelimit_succeeded(r);
    assert_float_equal(ratelimit_rate(r), 70, 1e-9);
    clock_ms += 1000;
    ratelimit_succeeded(r);
    assert_float_equal(ratelimit_rate(r), 77.5, 1e-9);   /* 70 + 0.3 × (95 - 70) */
    /* Back near 95 (95 % of where the 429 came) within a handful... */
    int n = 1;
    while (ratelimit_rate(r) < 94) {
        ratelimit_succeeded(r);
        n++;
    }
    assert_in_range(n, 5, 12);
    /* ...then past it by 1 % a success, up to the ceiling and no further. */
    double before = ratelimit_rate(r);
    ratelimit_succeeded(r);
    assert_true(ratelimit_rate(r) <= before * 1.0100001);
    while (ratelimit_rate(r) < 100)
        ratelimit_succeeded(r);
    ratelimit_succeeded(r);
    assert_float_equal(ratelimit_rate(r), 100, 1e-9);
    /* A second 429 at 100 sets the knee there again. */
    clock_ms += 1000;
    ratelimit_throttled(r);
    assert_float_equal(ratelimit_rate(r), 70, 1e-9);
    ratelimit_free(r);
}

static void a_knee_below_the_ceiling_holds_the_rate_near_it(void **state)
{
    (void)state;
    /* 429s at 100 and at 70: the rate comes back to work just under 70
     * (95 % of it) and creeps past it, rather than sawing far below. */
    ratelimit_t *r = make(100, 1);
    ratelimit_throttled(r);            /* at 100 */
    clock_ms += 1000;
    ratelimit_throttled(r);            /* at 70 */
    clock_ms += 1000;
    assert_float_equal(ratelimit_rate(r), 49, 1e-9);
    for (int i = 0; i < 15; i++)
        ratelimit_succeeded(r);
    /* 15 successes: back at 95 % of 70, then a few per cent past it. */
    assert_in_range((long)ratelimit_rate(r), 66, 74);
    ratelimit_free(r);
}

static void try_takes_a_token_or_books_nothing(void **state)
{
    (void)state;
    ratelimit_t *r = make(60, 1);           /* one a second */
    assert_int_equal(ratelimit_try(r), 0);   /* the burst token */
    assert_int_equal(ratelimit_try(r), 1000);
    assert_int_equal(ratelimit_try(r), 1000); /* asking again booked nothing */
    clock_ms += 400;
    assert_int_equal(ratelimit_try(r), 600);
    /* A cut applies at once to what is still waiting: 0.6 of a token is
     * missing, at 42/min that is 858 ms. */
    ratelimit_throttled(r);
    assert_int_equal(ratelimit_try(r), 858);
    clock_ms += 858;
    assert_int_equal(ratelimit_try(r), 0);
    ratelimit_free(r);
}

/* Threads share one bucket: N reservations book N distinct slots. */
typedef struct {
    ratelimit_t *r;
    int64_t waits[100];
} shared_t;

static void *reserve_many(void *arg)
{
    shared_t *s = arg;
    for (int i = 0; i < 100; i++)
        s->waits[i] = ratelimit_reserve(s->r);
    return NULL;
}

static void threads_share_one_bucket(void **state)
{
    (void)state;
    ratelimit_t *r = make(6000, 1);  /* 10 ms apart */
    shared_t s[4] = {{r, {0}}, {r, {0}}, {r, {0}}, {r, {0}}};
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, reserve_many, &s[i]);
    int64_t max = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        for (int j = 0; j < 100; j++)
            if (s[i].waits[j] > max)
                max = s[i].waits[j];
    }
    assert_int_equal(max, 399 * 10);
    ratelimit_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rejects_bad_arguments),
        cmocka_unit_test(burst_goes_at_once_then_calls_are_paced),
        cmocka_unit_test(concurrent_callers_book_successive_slots),
        cmocka_unit_test(refill_never_exceeds_the_burst),
        cmocka_unit_test(throttling_cuts_the_rate_by_30_percent),
        cmocka_unit_test(a_burst_of_429s_cuts_once_per_second),
        cmocka_unit_test(the_rate_never_falls_below_the_floor),
        cmocka_unit_test(successes_return_fast_then_probe_slowly),
        cmocka_unit_test(a_knee_below_the_ceiling_holds_the_rate_near_it),
        cmocka_unit_test(try_takes_a_token_or_books_nothing),
        cmocka_unit_test(threads_share_one_bucket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
