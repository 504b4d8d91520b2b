/* Tests for the credentials cache: when it refreshes (a fake clock), that
 * concurrent callers share one refresh, and what happens when a refresh
 * fails. */
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
#include <unistd.h>

#include "aws/creds.h"
#include "base/redact.h"

#define T0 1714564800LL
#define LIFE 3600

typedef struct {
    atomic_llong now;
    atomic_int calls;
    long lifetime;           /* 0: static credentials */
    long delay_ms;           /* the provider takes this long */
    err_code_t fail;         /* ERR_OK: succeed */
    long already_expired;    /* hand out credentials this many s in the past */
} prov_t;

static int64_t clock_of(void *ctx)
{
    return atomic_load(&((prov_t *)ctx)->now);
}

static err_code_t provider(void *ctx, creds_t *out, err_t *err)
{
    prov_t *p = ctx;
    int n = atomic_fetch_add(&p->calls, 1) + 1;
    char akid[32];
    int64_t now = atomic_load(&p->now);

    if (p->delay_ms)
        usleep((useconds_t)p->delay_ms * 1000);
    if (p->fail != ERR_OK)
        return err_set(err, p->fail, "provider down (call %d)", n);
    snprintf(akid, sizeof akid, "AKID%d", n);
    return creds_set(out, akid, "cacheSecretXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "cacheToken12345",
                     p->already_expired ? now - p->already_expired
                     : p->lifetime ? now + p->lifetime : 0, "test-source", err);
}

typedef struct {
    prov_t p;
    creds_cache_t *cache;
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    atomic_store(&f->p.now, T0);
    f->p.lifetime = LIFE;
    f->cache = creds_cache_new_provider(provider, &f->p, clock_of, &f->p, NULL);
    assert_non_null(f->cache);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    creds_cache_free(f->cache);
    free(f);
    redact_reset();
    return 0;
}

/* Gets credentials and returns the access key id's number. */
static int get_n(fx_t *f)
{
    creds_t c;
    err_t e;
    int n;
    assert_int_equal(creds_cache_get(f->cache, &c, &e), ERR_OK);
    n = atoi(c.access_key_id + 4);
    creds_free(&c);
    return n;
}

static void first_get_fetches_and_later_gets_reuse(void **state)
{
    fx_t *f = *state;
    char src[32];

    assert_int_equal(creds_cache_expiry(f->cache), 0);
    assert_string_equal(creds_cache_source(f->cache, src, sizeof src), "");
    assert_int_equal(get_n(f), 1);
    assert_int_equal(get_n(f), 1);
    assert_int_equal(get_n(f), 1);
    assert_int_equal(atomic_load(&f->p.calls), 1);
    assert_int_equal(creds_cache_fetches(f->cache), 1);
    assert_int_equal(creds_cache_expiry(f->cache), T0 + LIFE);
    assert_string_equal(creds_cache_source(f->cache, src, sizeof src), "test-source");
}

static void refresh_happens_five_minutes_before_expiry_not_sooner(void **state)
{
    fx_t *f = *state;

    assert_int_equal(get_n(f), 1);
    atomic_store(&f->p.now, T0 + LIFE - CREDS_REFRESH_AHEAD - 1);
    assert_int_equal(get_n(f), 1);
    assert_int_equal(atomic_load(&f->p.calls), 1);
    atomic_store(&f->p.now, T0 + LIFE - CREDS_REFRESH_AHEAD);
    assert_int_equal(get_n(f), 2);
    assert_int_equal(creds_cache_expiry(f->cache), T0 + 2 * LIFE - CREDS_REFRESH_AHEAD);
    assert_int_equal(get_n(f), 2);
    assert_int_equal(atomic_load(&f->p.calls), 2);
}

static void static_credentials_are_never_refreshed(void **state)
{
    fx_t *f = *state;

    f->p.lifetime = 0;
    assert_int_equal(get_n(f), 1);
    atomic_store(&f->p.now, T0 + 10LL * 365 * 86400);
    assert_int_equal(get_n(f), 1);
    assert_int_equal(atomic_load(&f->p.calls), 1);
    assert_int_equal(creds_cache_expiry(f->cache), 0);
}

typedef struct {
    fx_t *f;
    err_code_t rc;
    int n;
    double secs;
} worker_t;

static void *worker(void *arg)
{
    worker_t *w = arg;
    struct timespec t0, t1;
    creds_t c;
    err_t e;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    w->rc = creds_cache_get(w->f->cache, &c, &e);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    w->secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    w->n = w->rc == ERR_OK ? atoi(c.access_key_id + 4) : -1;
    creds_free(&c);
    return NULL;
}

#define NTHREADS 8

static void run_workers(fx_t *f, worker_t *w)
{
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (worker_t){.f = f};
        assert_int_equal(pthread_create(&th[i], NULL, worker, &w[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
}

static void concurrent_first_callers_share_one_fetch(void **state)
{
    fx_t *f = *state;
    worker_t w[NTHREADS];

    f->p.delay_ms = 200;
    run_workers(f, w);
    assert_int_equal(atomic_load(&f->p.calls), 1);
    for (int i = 0; i < NTHREADS; i++) {
        assert_int_equal(w[i].rc, ERR_OK);
        assert_int_equal(w[i].n, 1);
    }
}

static void during_a_refresh_others_keep_the_valid_credentials(void **state)
{
    fx_t *f = *state;
    worker_t w[NTHREADS];
    int quick = 0, fresh = 0;

    assert_int_equal(get_n(f), 1);
    atomic_store(&f->p.now, T0 + LIFE - 100);   /* due, still valid */
    f->p.delay_ms = 400;
    run_workers(f, w);
    assert_int_equal(atomic_load(&f->p.calls), 2);
    for (int i = 0; i < NTHREADS; i++) {
        assert_int_equal(w[i].rc, ERR_OK);
        if (w[i].n == 2)
            fresh++;
        else if (w[i].n == 1 && w[i].secs < 0.3)
            quick++;
    }
    /* The refresher got the new ones; nobody else waited for it. */
    assert_true(fresh >= 1);
    assert_int_equal(fresh + quick, NTHREADS);
    assert_int_equal(get_n(f), 2);
}

static void failed_refresh_keeps_valid_credentials_and_backs_off(void **state)
{
    fx_t *f = *state;

    assert_int_equal(get_n(f), 1);
    atomic_store(&f->p.now, T0 + LIFE - 100);
    f->p.fail = ERR_UNAVAILABLE;
    assert_int_equal(get_n(f), 1);
    assert_int_equal(atomic_load(&f->p.calls), 2);
    assert_int_equal(get_n(f), 1);      /* no retry straight away */
    assert_int_equal(atomic_load(&f->p.calls), 2);
    atomic_store(&f->p.now, T0 + LIFE - 90);
    assert_int_equal(get_n(f), 1);
    assert_int_equal(atomic_load(&f->p.calls), 3);
    f->p.fail = ERR_OK;
    atomic_store(&f->p.now, T0 + LIFE - 80);
    assert_int_equal(get_n(f), 4);
}

static void expired_and_failing_gives_every_waiter_the_one_error(void **state)
{
    fx_t *f = *state;
    worker_t w[NTHREADS];
    creds_t c;
    err_t e;

    assert_int_equal(get_n(f), 1);
    atomic_store(&f->p.now, T0 + LIFE);          /* expired */
    f->p.fail = ERR_AUTH;
    f->p.delay_ms = 200;
    run_workers(f, w);
    assert_int_equal(atomic_load(&f->p.calls), 2);
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(w[i].rc, ERR_AUTH);
    f->p.delay_ms = 0;
    assert_int_equal(creds_cache_get(f->cache, &c, &e), ERR_AUTH);
    assert_non_null(strstr(e.msg, "provider down"));
    assert_null(c.access_key_id);
}

static void already_expired_credentials_are_refused(void **state)
{
    fx_t *f = *state;
    creds_t c;
    err_t e;

    f->p.already_expired = 1;
    assert_int_equal(creds_cache_get(f->cache, &c, &e), ERR_AUTH);
    assert_non_null(strstr(e.msg, "test-source"));
    assert_null(strstr(e.msg, "cacheSecret"));
}

static const char *env_only(void *ctx, const char *name)
{
    (void)ctx;
    if (strcmp(name, "AWS_ACCESS_KEY_ID") == 0)
        return "AKIDCHAIN";
    if (strcmp(name, "AWS_SECRET_ACCESS_KEY") == 0)
        return "chainSecretXXXXXXXXXXXXXXXXXXXXXXXXXXXXX";
    return NULL;
}

static void cache_over_the_chain_copies_its_options(void **state)
{
    (void)state;
    char home[] = "/nonexistent-home", profile[] = "default";
    creds_options_t o = {.getenv = env_only, .home = home, .profile = profile};
    creds_cache_t *cc = creds_cache_new(&o, NULL);
    char src[32];
    creds_t c;
    err_t e;

    assert_non_null(cc);
    memset(home, 'x', sizeof home - 1);        /* the cache must not care */
    memset(profile, 'y', sizeof profile - 1);
    assert_int_equal(creds_cache_get(cc, &c, &e), ERR_OK);
    assert_string_equal(c.access_key_id, "AKIDCHAIN");
    creds_free(&c);
    assert_string_equal(creds_cache_source(cc, src, sizeof src), CREDS_SRC_ENV);
    assert_int_equal(creds_cache_expiry(cc), 0);
    creds_cache_free(cc);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(first_get_fetches_and_later_gets_reuse),
        T(refresh_happens_five_minutes_before_expiry_not_sooner),
        T(static_credentials_are_never_refreshed),
        T(concurrent_first_callers_share_one_fetch),
        T(during_a_refresh_others_keep_the_valid_credentials),
        T(failed_refresh_keeps_valid_credentials_and_backs_off),
        T(expired_and_failing_gives_every_waiter_the_one_error),
        T(already_expired_credentials_are_refused),
        T(cache_over_the_chain_copies_its_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
