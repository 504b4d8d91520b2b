/* live_sqs — the SQS queue back-end against fauxqs (through sigproxy, which
 * verifies every signature; see tests/integration/sqs_live.sh): the queue
 * conformance suite the SQLite queue passes too
 * (tests/support/queue_conformance.c: visibility, stale receipts, receive
 * counts, dead letters, batches, stats), then what only SQS shows.
 *
 * Environment: ONESHEET_TEST_SQS_ENDPOINT or AWS_ENDPOINT_URL_SQS (a
 * loopback URL; anything else is refused), AWS_REGION and any keys
 * (fauxqs accepts all; the proxy wants the ones it was given).
 * ONESHEET_LIVE_SQS_COUNT sets how many messages the throughput test sends
 * (default 2000).  Every test uses queues of its own, named after the pid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "queue/queue_sqs.h"
#include "queue_conformance.h"

static aws_env_t *env;
static const char *endpoint;

static const char *live_getenv(void *ctx, const char *name)
{
    (void)ctx;
    if (strcmp(name, "AWS_ENDPOINT_URL_SQS") == 0)
        return endpoint;
    return getenv(name);
}

static int group_setup(void **state)
{
    err_t e;
    endpoint = getenv("ONESHEET_TEST_SQS_ENDPOINT");
    if (!endpoint || !*endpoint)
        endpoint = getenv("AWS_ENDPOINT_URL_SQS");
    if (!endpoint || !http_url_is_loopback(endpoint)) {
        fprintf(stderr, "live_sqs: set ONESHEET_TEST_SQS_ENDPOINT to a loopback fauxqs\n");
        return -1;
    }
    aws_env_options_t o = {.getenv = live_getenv};
    if (!(env = aws_env_new(&o, &e))) {
        fprintf(stderr, "live_sqs: %s\n", e.msg);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    aws_env_free(env);
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Makes queue NAME (+ NAME-dlq) unique to this run and opens it. */
static queue_t *make_queue(const char *what, int max_receives, int vis, char *name,
                           size_t cap)
{
    char report[256];
    err_t e;
    snprintf(name, cap, "live%ld-%s", (long)getpid(), what);
    if (queue_sqs_ensure(env, name, max_receives, vis, report, sizeof report, &e) != ERR_OK)
        fail_msg("ensure %s: %s", name, e.msg);
    char spec[128];
    snprintf(spec, sizeof spec, "sqs:%s", name);
    queue_t *q = queue_sqs_open_env(env, spec, &e);
    if (!q)
        fail_msg("open %s: %s", spec, e.msg);
    assert_int_equal(q->max_receives, max_receives);
    return q;
}

static size_t recv_some(queue_t *q, size_t max, int vis, int wait, queue_msg_t **m)
{
    size_t n = 0;
    err_t e;
    *m = NULL;
    if (queue_receive(q, max, vis, wait, m, &n, &e) != ERR_OK)
        fail_msg("receive: %s", e.msg);
    return n;
}

static queue_stats_t stats(queue_t *q)
{
    queue_stats_t st;
    err_t e;
    if (queue_stats(q, &st, &e) != ERR_OK)
        fail_msg("stats: %s", e.msg);
    return st;
}

/* A fresh queue NAME and NAME-dlq for each conformance test, made as
 * `onesheet init` makes them (the redrive policy carries max_receives);
 * fauxqs forgets them when it stops. */
static void sqs_open(queue_fixture_t *fx, int max_receives)
{
    static int seq;
    char report[256];
    err_t e;
    snprintf(fx->where, sizeof fx->where, "sqs:live%ld-conf%d", (long)getpid(), ++seq);
    if (queue_sqs_ensure(env, fx->where + 4, max_receives, 30, report, sizeof report,
                         &e) != ERR_OK)
        fail_msg("ensure %s: %s", fx->where, e.msg);
    if (!(fx->q = queue_sqs_open_env(env, fx->where, &e)))
        fail_msg("open %s: %s", fx->where, e.msg);
}

static void sqs_close(queue_fixture_t *fx)
{
    queue_close(fx->q);
}

/* SQS keeps real time. */
static void sqs_pass(queue_fixture_t *fx, int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    fx->passed_ms += ms;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static const queue_backend_t sqs_backend = {
    .open = sqs_open,
    .close = sqs_close,
    .pass = sqs_pass,
    .reports_stale_deletes = false,   /* DeleteMessage takes old handles */
};

static void send_25_receive_all_delete_all(void **state)
{
    char name[64], bodies[25][32], seen[25] = {0};
    const char *b[25];
    err_t e;
    queue_t *q = make_queue("all", 5, 30, name, sizeof name);
    for (int i = 0; i < 25; i++) {
        snprintf(bodies[i], sizeof bodies[i], "{\"n\":%d}", i);
        b[i] = bodies[i];
    }
    assert_int_equal(queue_send_batch(q, b, 25, &e), ERR_OK);
    int got = 0;
    for (int round = 0; round < 20 && got < 25; round++) {
        queue_msg_t *m;
        size_t n = recv_some(q, 10, 30, 1, &m);
        for (size_t i = 0; i < n; i++) {
            int k = atoi(m[i].body + 5);
            assert_true(k >= 0 && k < 25);
            assert_int_equal(m[i].receive_count, 1);
            seen[k]++;
            got++;
            assert_int_equal(queue_delete(q, m[i].receipt, &e), ERR_OK);
        }
        queue_msgs_free(m, n);
    }
    assert_int_equal(got, 25);
    for (int i = 0; i < 25; i++)
        assert_int_equal(seen[i], 1);
    queue_stats_t st = stats(q);
    assert_int_equal(st.visible + st.inflight + st.delayed + st.dead, 0);
    queue_close(q);
}

static void expired_visibility_redelivers_with_count_2(void **state)
{
    char name[64];
    const char *b[] = {"{\"redeliver\":true}"};
    queue_msg_t *m;
    err_t e;
    queue_t *q = make_queue("vis", 5, 30, name, sizeof name);
    assert_int_equal(queue_send_batch(q, b, 1, &e), ERR_OK);
    assert_int_equal(recv_some(q, 1, 1, 1, &m), 1);
    assert_int_equal(m[0].receive_count, 1);
    char *first = strdup(m[0].receipt);
    queue_msgs_free(m, 1);
    assert_int_equal(recv_some(q, 1, 30, 5, &m), 1);
    assert_int_equal(m[0].receive_count, 2);
    assert_string_equal(m[0].body, b[0]);
    assert_int_equal(queue_delete(q, m[0].receipt, &e), ERR_OK);
    queue_msgs_free(m, 1);
    /* The first delivery's receipt no longer holds the message. */
    assert_int_equal(queue_change_visibility(q, first, 10, &e), ERR_NOTFOUND);
    free(first);
    queue_close(q);
}

static void change_visibility_releases_and_extends(void **state)
{
    char name[64];
    const char *b[] = {"{\"release\":1}"};
    queue_msg_t *m;
    err_t e;
    queue_t *q = make_queue("chg", 5, 30, name, sizeof name);
    assert_int_equal(queue_send_batch(q, b, 1, &e), ERR_OK);
    assert_int_equal(recv_some(q, 1, 30, 1, &m), 1);
    assert_int_equal(queue_change_visibility(q, m[0].receipt, 0, &e), ERR_OK);
    queue_msgs_free(m, 1);
    assert_int_equal(recv_some(q, 1, 1, 1, &m), 1);   /* back at once */
    assert_int_equal(m[0].receive_count, 2);
    /* Extended past its 1 s timeout: not redelivered. */
    assert_int_equal(queue_change_visibility(q, m[0].receipt, 30, &e), ERR_OK);
    const char *r[] = {m[0].receipt, "not-a-receipt"};
    int stale[2];
    assert_int_equal(queue_sqs_change_visibility_batch(q, r, 2, 30, stale, &e), ERR_OK);
    assert_int_equal(stale[0], 0);
    sleep(2);
    queue_msg_t *none;
    assert_int_equal(recv_some(q, 1, 30, 0, &none), 0);
    queue_stats_t st = stats(q);
    assert_int_equal(st.inflight, 1);
    assert_int_equal(queue_delete(q, m[0].receipt, &e), ERR_OK);
    queue_msgs_free(m, 1);
    queue_close(q);
}

static void redrive_moves_to_dlq_and_take_dead_returns_it(void **state)
{
    char name[64];
    const char *b[] = {"{\"poison\":true}"};
    queue_msg_t *m;
    size_t n;
    err_t e;
    queue_t *q = make_queue("dead", 2, 1, name, sizeof name);
    assert_int_equal(queue_send_batch(q, b, 1, &e), ERR_OK);
    for (int i = 1; i <= 2; i++) {
        assert_int_equal(recv_some(q, 1, 1, 5, &m), 1);
        assert_int_equal(m[0].receive_count, i);
        queue_msgs_free(m, 1);
    }
    sleep(2);
    assert_int_equal(recv_some(q, 1, 1, 1, &m), 0);   /* a third would exceed 2 */
    queue_stats_t st = stats(q);
    assert_int_equal(st.dead, 1);
    assert_int_equal(st.visible + st.inflight, 0);
    assert_int_equal(queue_take_dead(q, 10, &m, &n, &e), ERR_OK);
    assert_int_equal(n, 1);
    assert_string_equal(m[0].body, b[0]);
    assert_true(m[0].receive_count >= 1);
    queue_msgs_free(m, n);
    assert_int_equal(stats(q).dead, 0);
    assert_int_equal(queue_take_dead(q, 10, &m, &n, &e), ERR_OK);
    assert_int_equal(n, 0);
    queue_close(q);
}

static void ensure_is_idempotent(void **state)
{
    char name[64], report[256], want[256];
    err_t e;
    snprintf(name, sizeof name, "live%ld-init", (long)getpid());
    assert_int_equal(queue_sqs_ensure(env, name, 5, 600, report, sizeof report, &e), ERR_OK);
    snprintf(want, sizeof want, "created queue %s-dlq\ncreated queue %s", name, name);
    assert_string_equal(report, want);
    assert_int_equal(queue_sqs_ensure(env, name, 5, 600, report, sizeof report, &e), ERR_OK);
    snprintf(want, sizeof want, "queue %s-dlq exists\nqueue %s exists", name, name);
    assert_string_equal(report, want);
    assert_int_equal(queue_sqs_ensure(env, name, 7, 600, report, sizeof report, &e), ERR_OK);
    snprintf(want, sizeof want, "queue %s-dlq exists\nqueue %s exists (updated "
             "RedrivePolicy)", name, name);
    assert_string_equal(report, want);
    char spec[96];
    snprintf(spec, sizeof spec, "sqs:%s", name);
    queue_t *q = queue_sqs_open_env(env, spec, &e);
    assert_non_null(q);
    assert_int_equal(q->max_receives, 7);
    queue_close(q);
}

static void stats_count_visible_and_inflight(void **state)
{
    char name[64];
    const char *b[] = {"a", "b", "c"};
    queue_msg_t *m;
    err_t e;
    queue_close(make_queue("stats", 5, 30, name, sizeof name));
    /* Through queue_open and the process-wide environment, as the binaries
     * do (the script points AWS_ENDPOINT_URL_SQS at the same place). */
    char spec[96];
    snprintf(spec, sizeof spec, "sqs:%s", name);
    queue_t *q = queue_open(spec, &e);
    if (!q)
        fail_msg("queue_open %s: %s", spec, e.msg);
    assert_int_equal(q->max_receives, 5);
    assert_int_equal(queue_send_batch(q, b, 3, &e), ERR_OK);
    assert_int_equal(recv_some(q, 1, 60, 1, &m), 1);
    queue_stats_t st = stats(q);
    assert_int_equal(st.visible, 2);
    assert_int_equal(st.inflight, 1);
    assert_int_equal(st.dead, 0);
    queue_msgs_free(m, 1);
    queue_close(q);
}

static const char *bad_getenv(void *ctx, const char *name)
{
    if (strcmp(name, "AWS_SECRET_ACCESS_KEY") == 0)
        return "not-the-right-secret-0000";
    return live_getenv(ctx, name);
}

static void wrong_secret_is_refused(void **state)
{
    /* Only meaningful behind sigproxy (fauxqs itself accepts anything); the
     * integration script expects exactly this one rejection. */
    char name[64], report[128];
    err_t e;
    if (!getenv("ONESHEET_LIVE_SIGPROXY"))
        skip();
    aws_env_options_t o = {.getenv = bad_getenv};
    aws_env_t *bad = aws_env_new(&o, &e);
    assert_non_null(bad);
    snprintf(name, sizeof name, "live%ld-badkey", (long)getpid());
    assert_int_equal(queue_sqs_ensure(bad, name, 3, 30, report, sizeof report, &e), ERR_AUTH);
    assert_null(strstr(e.msg, "not-the-right-secret"));
    aws_env_free(bad);
}

static void throughput(void **state)
{
    const char *cnt = getenv("ONESHEET_LIVE_SQS_COUNT");
    size_t n = cnt ? strtoul(cnt, NULL, 10) : 2000, got = 0;
    char name[64];
    err_t e;
    queue_t *q = make_queue("rate", 5, 60, name, sizeof name);
    char **b = calloc(n, sizeof *b);
    for (size_t i = 0; i < n; i++) {
        b[i] = malloc(256);
        snprintf(b[i], 256, "{\"v\":1,\"batch\":\"b1\",\"job\":\"%06zu\",\"spec\":{\"prompt\":"
                 "\"a lighthouse at dusk, poster art, number %zu\",\"aspect_ratio\":\"2:3\"}}",
                 i, i);
    }
    double t0 = now_s();
    assert_int_equal(queue_send_batch(q, (const char *const *)b, n, &e), ERR_OK);
    double t1 = now_s();
    while (got < n) {
        queue_msg_t *m;
        size_t k = recv_some(q, 10, 60, 1, &m);
        if (k == 0)
            break;
        for (size_t i = 0; i < k; i++)
            assert_int_equal(queue_delete(q, m[i].receipt, &e), ERR_OK);
        got += k;
        queue_msgs_free(m, k);
    }
    double t2 = now_s();
    assert_int_equal(got, n);
    printf("sqs_throughput messages=%zu send_per_s=%.0f receive_delete_per_s=%.0f\n", n,
           (double)n / (t1 - t0), (double)n / (t2 - t1));
    for (size_t i = 0; i < n; i++)
        free(b[i]);
    free(b);
    queue_close(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        QUEUE_CONFORMANCE_TESTS(&sqs_backend)
        cmocka_unit_test(send_25_receive_all_delete_all),
        cmocka_unit_test(expired_visibility_redelivers_with_count_2),
        cmocka_unit_test(change_visibility_releases_and_extends),
        cmocka_unit_test(redrive_moves_to_dlq_and_take_dead_returns_it),
        cmocka_unit_test(ensure_is_idempotent),
        cmocka_unit_test(stats_count_visible_and_inflight),
        cmocka_unit_test(throughput),
        cmocka_unit_test(wrong_secret_is_refused),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
