/* The shared quota's bucket (jobs/quota_bucket.c) and its clients
 * (jobs/quota_shared.c) with an injected clock: several workers and threads
 * never spend more than the quota over any window, a killed worker's grant
 * comes back, a 429 cuts the rate for everyone once, and the probe back up
 * is everyone's; bad bucket text is refused naming the member. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "jobs/quota_bucket.h"
#include "jobs/quota_shared.h"
#include "ledger/ledger.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T0 1700000000000LL

/* The most calls a window of w_ms may hold: the bucket's rate over it and
 * its capacity (a grant and one token). */
static double allowed(const quota_bucket_t *b, int64_t w_ms)
{
    return b->ceiling * QUOTA_HEADROOM * (double)w_ms / 60000.0 + quota_bucket_burst(b) + 1;
}

/* Every window of w_ms over the sorted spend times t[0..n) holds at most max. */
static void no_window_over(const int64_t *t, size_t n, int64_t w_ms, double max)
{
    size_t lo = 0;
    for (size_t hi = 0; hi < n; hi++) {
        while (t[hi] - t[lo] >= w_ms)
            lo++;
        if ((double)(hi - lo + 1) > max + 1e-9)
            fail_msg("%zu calls within %lld ms (at %lld), at most %.1f allowed", hi - lo + 1,
                     (long long)w_ms, (long long)(t[hi] - T0), max);
    }
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Four workers asking as they please for ten minutes of fake time, each
 * spending its grant at once: the spends never go over the quota in any
 * window, and the fleet gets nearly all of it. */
static void four_workers_never_exceed_the_quota(void **state)
{
    (void)state;
    quota_bucket_t b;
    static int64_t spent[20000];
    size_t n = 0;
    const char *owners[] = {"w1", "w2", "w3", "w4"};
    int64_t next[4] = {0, 3, 7, 11};
    srand(7);
    quota_bucket_init(&b, 600, T0);
    for (int64_t now = T0; now < T0 + 600000; now++) {
        for (int w = 0; w < 4; w++) {
            if (now < T0 + next[w])
                continue;
            quota_take_t t = {.owner = owners[w], .want = 1 + rand() % 8,
                              .succeeded = rand() % 3};
            int64_t wait = 0;
            int got = quota_bucket_take(&b, &t, 600, now, &wait);
            for (int i = 0; i < got && n < 20000; i++)
                spent[n++] = now;
            next[w] = now - T0 + (got ? 1 + rand() % 50 : wait + rand() % 5);
        }
    }
    qsort(spent, n, sizeof *spent, cmp64);
    no_window_over(spent, n, 60000, allowed(&b, 60000));
    no_window_over(spent, n, 10000, allowed(&b, 10000));
    no_window_over(spent, n, 1000, allowed(&b, 1000));
    /* 10 minutes at 97 % of 600 a minute, less what the asking wastes. */
    assert_true(n >= 0.95 * 5820 && n <= 5820 + 6);
}

/* Threads of several clients on their own ledger connections (one SQLite
 * file) race for one bucket under a shared fake clock: the compare-and-swap
 * lets no token be spent twice. */
static atomic_llong clock_ms;
static int64_t shared_clock(void *ud) { (void)ud; return atomic_load(&clock_ms); }

typedef struct {
    quota_shared_t *q;
    atomic_bool *stop;
    int64_t spent[4000];
    size_t n;
} racer_t;

static void *race(void *arg)
{
    racer_t *r = arg;
    err_t e;
    while (!atomic_load(r->stop)) {
        err_clear(&e);
        if (quota_shared_try(r->q, 3, &e) == 0 && r->n < 4000)
            r->spent[r->n++] = atomic_load(&clock_ms);
        else
            usleep(50);
    }
    return NULL;
}

static void threads_of_several_workers_never_exceed_the_quota(void **state)
{
    (void)state;
    char dir[] = "/tmp/onesheet-quota-XXXXXX", url[600];
    assert_non_null(mkdtemp(dir));
    snprintf(url, sizeof url, "sqlite:%s/q.db", dir);
    enum { WORKERS = 3, THREADS = 2 };
    ledger_t *l[WORKERS];
    quota_shared_t *q[WORKERS];
    racer_t *r = calloc(WORKERS * THREADS, sizeof *r);
    pthread_t tid[WORKERS * THREADS];
    atomic_bool stop = false;
    err_t e;

    assert_non_null(r);
    atomic_store(&clock_ms, T0);
    for (int w = 0; w < WORKERS; w++) {
        char owner[16];
        snprintf(owner, sizeof owner, "worker-%d", w);
        err_clear(&e);
        assert_non_null(l[w] = ledger_open(url, &e));
        assert_non_null(q[w] = quota_shared_new(l[w], "m", 1200, owner, shared_clock, NULL));
    }
    for (int i = 0; i < WORKERS * THREADS; i++) {
        r[i].q = q[i / THREADS];
        r[i].stop = &stop;
        assert_int_equal(pthread_create(&tid[i], NULL, race, &r[i]), 0);
    }
    /* 20 s of fake time in 5 ms steps. */
    for (int step = 0; step < 4000; step++) {
        usleep(200);
        atomic_fetch_add(&clock_ms, 5);
    }
    atomic_store(&stop, true);
    size_t n = 0;
    int64_t *all = malloc(WORKERS * THREADS * 4000 * sizeof *all);
    assert_non_null(all);
    for (int i = 0; i < WORKERS * THREADS; i++) {
        pthread_join(tid[i], NULL);
        memcpy(all + n, r[i].spent, r[i].n * sizeof *all);
        n += r[i].n;
    }
    qsort(all, n, sizeof *all, cmp64);
    quota_bucket_t b;
    quota_bucket_init(&b, 1200, T0);
    /* A token is spent a moment after its grant (from the worker's pool,
     * here after the thread is scheduled again), so a window may also hold
     * what the workers' pools held when it began: a grant each at most. */
    double pools = WORKERS * quota_bucket_burst(&b);
    no_window_over(all, n, 20000, allowed(&b, 20000) + pools);
    no_window_over(all, n, 2000, allowed(&b, 2000) + pools);
    /* And the total over the run is the bucket's, but for one grant a
     * worker: this clock runs 25 times faster than the threads' own, so a
     * thread stalled by the scheduler for 12 ms (SPEND_MARGIN_MS of fake
     * time) can spend from a grant whose lease another worker has already
     * ended and handed back whole. */
    assert_true((double)n <= allowed(&b, 20000 + 5) + pools);
    assert_true(n > 100);   /* they did race */
    for (int w = 0; w < WORKERS; w++) {
        quota_shared_free(q[w]);
        ledger_close(l[w]);
    }
    free(all);
    free(r);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* A worker killed holding a grant never settles it: its lease runs out and
 * the tokens go back, long before the slow rate would have refilled them. */
static void a_killed_workers_grant_returns(void **state)
{
    (void)state;
    quota_bucket_t b;
    int64_t wait;
    quota_bucket_init(&b, 6, T0);   /* 0.097 a second: grants of 1, 2 tokens at most */
    quota_take_t dead = {.owner = "killed", .want = 1};
    quota_take_t live = {.owner = "alive", .want = 1};
    assert_int_equal(quota_bucket_take(&b, &dead, 6, T0, &wait), 1);
    assert_int_equal(quota_bucket_outstanding(&b, T0), 1);
    assert_int_equal(quota_bucket_take(&b, &live, 6, T0 + 1000, &wait), 0);
    assert_true(wait > 5000);   /* by the rate alone: about 10 s */
    assert_int_equal(quota_bucket_take(&b, &live, 6, T0 + QUOTA_LEASE_MS + 1, &wait), 1);
    assert_int_equal(b.ngrants, 1);   /* only the live one's */
    assert_string_equal(b.grants[0].owner, "alive");
    /* A live worker hands back what it did not use with its next take,
     * and only once: a second report of the same tokens adds nothing. */
    quota_take_t back = {.owner = "alive", .unused = 1};
    double before = b.tokens;
    quota_bucket_take(&b, &back, 6, T0 + QUOTA_LEASE_MS + 2, NULL);
    assert_true(fabs(b.tokens - before - 1) < 0.01);
    quota_bucket_take(&b, &back, 6, T0 + QUOTA_LEASE_MS + 3, NULL);
    assert_true(fabs(b.tokens - before - 1) < 0.01);
}

/* A worker that goes idle after spending its grant settles it: when the
 * lease would have ended, the spent tokens are not handed back (they would
 * be spent twice), and what it did not spend is back at once. */
static void an_idle_worker_settles_its_grant(void **state)
{
    (void)state;
    char dir[] = "/tmp/onesheet-quota-XXXXXX", url[600];
    assert_non_null(mkdtemp(dir));
    snprintf(url, sizeof url, "sqlite:%s/q.db", dir);
    err_t e;
    err_clear(&e);
    ledger_t *l = ledger_open(url, &e);
    assert_non_null(l);
    atomic_store(&clock_ms, T0);
    quota_shared_t *q = quota_shared_new(l, "m", 1200, "idle", shared_clock, NULL);
    assert_non_null(q);
    assert_int_equal(quota_shared_try(q, 4, &e), 0);   /* a grant of 4 */
    for (int i = 0; i < 3; i++)
        assert_int_equal(quota_shared_try(q, 4, &e), 0);
    ledger_quota_t row;
    quota_bucket_t b;
    assert_int_equal(ledger_quota_get(l, "m", &row, &e), ERR_OK);
    assert_int_equal(quota_bucket_decode(row.state, &b, &e), ERR_OK);
    ledger_quota_free(&row);
    double after_grant = b.tokens;
    assert_int_equal(b.ngrants, 1);
    quota_shared_settle(q, &e);   /* all 4 spent: nothing back, grant gone */
    assert_int_equal(e.code, ERR_OK);
    assert_int_equal(ledger_quota_get(l, "m", &row, &e), ERR_OK);
    assert_int_equal(quota_bucket_decode(row.state, &b, &e), ERR_OK);
    ledger_quota_free(&row);
    assert_int_equal(b.ngrants, 0);
    assert_true(fabs(b.tokens - after_grant) < 0.01);
    quota_shared_settle(q, &e);   /* nothing to settle: no write */
    quota_shared_stats_t st;
    quota_shared_stats(q, &st);
    int64_t writes = st.takes;
    quota_shared_settle(q, &e);
    quota_shared_stats(q, &st);
    assert_int_equal(st.takes, writes);
    quota_shared_free(q);
    ledger_close(l);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* A 429 one worker reports cuts the rate every worker reads; more 429s in
 * the same second do not cut again; everyone's successes bring it back to
 * just under where the 429 came, and it never passes the headroom. */
static void the_aimd_cut_is_shared(void **state)
{
    (void)state;
    quota_bucket_t a, b;
    err_t e;
    quota_bucket_init(&a, 600, T0);
    double top = 600 * QUOTA_HEADROOM;
    assert_true(fabs(a.rate - top) < 1e-9);
    quota_take_t hit = {.owner = "w1", .throttled = 2};
    quota_bucket_take(&a, &hit, 600, T0 + 10, NULL);
    assert_true(fabs(a.rate - top * 0.7) < 1e-6);
    /* Through the ledger's text, as another worker reads it. */
    char *text = quota_bucket_encode(&a);
    err_clear(&e);
    assert_int_equal(quota_bucket_decode(text, &b, &e), ERR_OK);
    free(text);
    assert_true(fabs(b.rate - top * 0.7) < 1e-6);
    assert_int_equal(b.cuts, 1);
    quota_take_t also = {.owner = "w2", .throttled = 1};
    quota_bucket_take(&b, &also, 600, T0 + 500, NULL);
    assert_int_equal(b.cuts, 1);
    /* Successes within the held second do nothing; after it, each worker's
     * count back toward 95 % of the knee, then past it to the top. */
    quota_take_t ok1 = {.owner = "w1", .succeeded = 5};
    quota_bucket_take(&b, &ok1, 600, T0 + 900, NULL);
    assert_true(fabs(b.rate - top * 0.7) < 1e-6);
    quota_take_t ok2 = {.owner = "w2", .succeeded = 3};
    quota_bucket_take(&b, &ok2, 600, T0 + 1100, NULL);
    assert_true(b.rate > top * 0.7 && b.rate < top * 0.95);
    quota_take_t ok3 = {.owner = "w3", .succeeded = 500};
    quota_bucket_take(&b, &ok3, 600, T0 + 1200, NULL);
    assert_true(fabs(b.rate - top) < 1e-9);
    /* A 429 at a low rate never drives it below the floor. */
    for (int i = 0; i < 40; i++)
        quota_bucket_take(&b, &hit, 600, T0 + 2000 + i * 1000, NULL);
    assert_true(fabs(b.rate - 12) < 1e-9);
}

/* A client's 429 empties its pool and is reported with its very next try. */
static int64_t fixed_now;
static int64_t fixed(void *ud) { (void)ud; return fixed_now; }

static void a_clients_429_reaches_the_bucket_at_once(void **state)
{
    (void)state;
    char dir[] = "/tmp/onesheet-quota-XXXXXX", url[600];
    err_t e;
    assert_non_null(mkdtemp(dir));
    snprintf(url, sizeof url, "sqlite:%s/q.db", dir);
    err_clear(&e);
    ledger_t *l = ledger_open(url, &e);
    assert_non_null(l);
    fixed_now = T0;
    quota_shared_t *q = quota_shared_new(l, "m", 600, "w1", fixed, NULL);
    assert_int_equal(quota_shared_try(q, 5, &e), 0);
    quota_shared_throttled(q);
    quota_shared_stats_t st;
    quota_shared_stats(q, &st);
    assert_int_equal(st.pool, 0);
    fixed_now += 10;
    quota_shared_try(q, 1, &e);
    quota_shared_stats(q, &st);
    assert_int_equal(st.cuts, 1);
    assert_true(fabs(st.rate - 600 * QUOTA_HEADROOM * 0.7) < 1e-6);
    ledger_quota_t row;
    assert_int_equal(ledger_quota_get(l, "m", &row, &e), ERR_OK);
    assert_non_null(strstr(row.state, "\"cuts\":1"));
    ledger_quota_free(&row);
    quota_shared_free(q);
    ledger_close(l);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void bad_bucket_text_is_refused_naming_the_member(void **state)
{
    (void)state;
    static const struct { const char *text, *want; } bad[] = {
        {"", "not a JSON object"},
        {"[1]", "not a JSON object"},
        {"{\"ceiling\":\"x\"}", "ceiling: expected a number"},
        {"{\"ceiling\":60,\"rate\":-1}", "rate: expected a finite number >= 0"},
        {"{\"ceiling\":60,\"rate\":60,\"knee\":60,\"tokens\":1}", "last_ms: expected an integer"},
        {"{\"ceiling\":60,\"rate\":60,\"knee\":60,\"tokens\":1,\"last_ms\":1,\"hold_until_ms\":0,"
         "\"cuts\":0,\"granted\":0,\"grants\":[[\"w\",99,5]]}", "grants[0]: expected"},
        {"{\"ceiling\":60,\"rate\":60,\"knee\":60,\"tokens\":1,\"last_ms\":1,\"hold_until_ms\":0,"
         "\"cuts\":0,\"granted\":0,\"grants\":{}}", "grants: expected an array"},
        {"{\"ceiling\":0,\"rate\":0,\"knee\":60,\"tokens\":1,\"last_ms\":1,\"hold_until_ms\":0,"
         "\"cuts\":0,\"granted\":0,\"grants\":[]}", "ceiling and rate must be above 0"},
        {"{\"ceiling\":60,\"ceiling\":60}", "not a JSON object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        quota_bucket_t b;
        err_t e;
        err_clear(&e);
        assert_int_equal(quota_bucket_decode(bad[i].text, &b, &e), ERR_INVALID);
        if (!strstr(e.msg, bad[i].want))
            fail_msg("%s: got \"%s\", want \"%s\"", bad[i].text, e.msg, bad[i].want);
    }
    /* And a full bucket round-trips. */
    quota_bucket_t a, b;
    err_t e;
    quota_bucket_init(&a, 60000, T0);   /* 1,000 a second: a token a take */
    char owner[8];
    for (int i = 0; i < QUOTA_MAX_GRANTS; i++) {
        snprintf(owner, sizeof owner, "w%d", i);
        quota_take_t t = {.owner = owner, .want = 1};
        quota_bucket_take(&a, &t, 60000, T0 + 60000 + i, NULL);
    }
    assert_int_equal(a.ngrants, QUOTA_MAX_GRANTS);
    char *text = quota_bucket_encode(&a);
    assert_true(strlen(text) <= QUOTA_STATE_MAX);
    err_clear(&e);
    assert_int_equal(quota_bucket_decode(text, &b, &e), ERR_OK);
    free(text);
    assert_int_equal(b.ngrants, QUOTA_MAX_GRANTS);
    assert_string_equal(b.grants[5].owner, a.grants[5].owner);
    assert_true(fabs(b.tokens - a.tokens) < 1e-9);
    /* A table full of grants grants nothing more until one expires. */
    quota_take_t more = {.owner = "late", .want = 1};
    int64_t wait = 0;
    assert_int_equal(quota_bucket_take(&b, &more, 60000, T0 + 60000 + 100, &wait), 0);
    assert_true(wait > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(four_workers_never_exceed_the_quota),
        cmocka_unit_test(threads_of_several_workers_never_exceed_the_quota),
        cmocka_unit_test(a_killed_workers_grant_returns),
        cmocka_unit_test(an_idle_worker_settles_its_grant),
        cmocka_unit_test(the_aimd_cut_is_shared),
        cmocka_unit_test(a_clients_429_reaches_the_bucket_at_once),
        cmocka_unit_test(bad_bucket_text_is_refused_naming_the_member),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
