/* queue_conformance — see queue_conformance.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue_conformance.h"

int queue_conformance_setup(void **state)
{
    queue_fixture_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->be = *state;
    fx->be->open(fx, QC_MAX_RECEIVES);
    assert_non_null(fx->q);
    *state = fx;
    return 0;
}

int queue_conformance_teardown(void **state)
{
    queue_fixture_t *fx = *state;
    fx->be->close(fx);
    free(fx);
    return 0;
}

size_t qc_recv(queue_t *q, size_t max, int vis, int wait, queue_msg_t **m)
{
    size_t n = 0;
    err_t e;
    err_clear(&e);
    *m = NULL;
    if (queue_receive(q, max, vis, wait, m, &n, &e) != ERR_OK)
        fail_msg("receive: %s", e.msg);
    assert_true(n <= max);
    return n;
}

queue_stats_t qc_stats(queue_t *q)
{
    queue_stats_t st;
    err_t e;
    if (queue_stats(q, &st, &e) != ERR_OK)
        fail_msg("stats: %s", e.msg);
    return st;
}

static void send_all(queue_t *q, const char *const *bodies, size_t n)
{
    err_t e;
    if (queue_send_batch(q, bodies, n, &e) != ERR_OK)
        fail_msg("send_batch of %zu: %s", n, e.msg);
}

/* Receives exactly one message (hidden for vis seconds), without waiting. */
static queue_msg_t *recv_one(queue_t *q, int vis)
{
    queue_msg_t *m;
    size_t n = qc_recv(q, 1, vis, 0, &m);
    if (n != 1)
        fail_msg("expected a message to be visible, got %zu", n);
    return m;
}

static void assert_nothing_visible(queue_t *q)
{
    queue_msg_t *m;
    size_t n = qc_recv(q, 10, 30, 0, &m);
    if (n != 0)
        fail_msg("expected nothing visible, got %zu (first: %s)", n, m[0].body);
}

static void assert_counts(queue_t *q, int64_t visible, int64_t inflight, int64_t dead)
{
    queue_stats_t st = qc_stats(q);
    if (st.visible != visible || st.inflight != inflight || st.dead != dead)
        fail_msg("stats: visible %lld inflight %lld dead %lld, want %lld %lld %lld",
                 (long long)st.visible, (long long)st.inflight, (long long)st.dead,
                 (long long)visible, (long long)inflight, (long long)dead);
    assert_int_equal(st.delayed, 0);
}

/* A delete with a stale receipt: ERR_NOTFOUND where the back-end tells
 * (SQS accepts old receipt handles silently).  Either way it must not
 * fail otherwise; the callers check that nothing was deleted. */
static void delete_stale(queue_fixture_t *fx, const char *receipt)
{
    err_t e;
    err_clear(&e);
    err_code_t rc = queue_delete(fx->q, receipt, &e);
    if (fx->be->reports_stale_deletes)
        assert_int_equal(rc, ERR_NOTFOUND);
    else if (rc != ERR_OK && rc != ERR_NOTFOUND)
        fail_msg("delete with a stale receipt: %s", e.msg);
}

static void pass(queue_fixture_t *fx, int ms)
{
    fx->be->pass(fx, ms);
}

/* The number after prefix at the start of body, or -1 when body does not
 * start with prefix or the number is not below limit. */
static int body_number(const char *body, const char *prefix, int limit)
{
    size_t pl = strlen(prefix);
    if (strncmp(body, prefix, pl) != 0)
        return -1;
    int k = atoi(body + pl);
    return k >= 0 && k < limit ? k : -1;
}

void queue_conformance_a_new_queue_is_empty(void **state)
{
    queue_fixture_t *fx = *state;
    queue_msg_t *m;
    size_t n = 9;
    err_t e;
    assert_counts(fx->q, 0, 0, 0);
    assert_nothing_visible(fx->q);
    assert_int_equal(queue_take_dead(fx->q, 10, &m, &n, &e), ERR_OK);
    assert_int_equal(n, 0);
    queue_msgs_free(m, n);
    /* Sending nothing is fine and sends nothing. */
    assert_int_equal(queue_send_batch(fx->q, NULL, 0, &e), ERR_OK);
    assert_counts(fx->q, 0, 0, 0);
}

void queue_conformance_a_received_message_is_hidden_for_its_visibility_timeout(
    void **state)
{
    queue_fixture_t *fx = *state;
    const char *body = "{\"job\":\"visibility\"}";
    err_t e;

    send_all(fx->q, &body, 1);
    queue_msg_t *m = recv_one(fx->q, 2);
    assert_string_equal(m->body, body);
    assert_int_equal(m->body_len, strlen(body));
    assert_int_equal(m->receive_count, 1);
    assert_nothing_visible(fx->q);
    pass(fx, 800);
    assert_nothing_visible(fx->q);   /* well inside its 2 s */
    assert_counts(fx->q, 0, 1, 0);
    pass(fx, 1600);
    /* Past its 2 s: back without waiting, under a new receipt. */
    queue_msg_t *again = recv_one(fx->q, 30);
    assert_string_equal(again->id, m->id);
    assert_string_equal(again->body, body);
    assert_int_equal(again->receive_count, 2);
    assert_string_not_equal(again->receipt, m->receipt);
    assert_int_equal(queue_delete(fx->q, again->receipt, &e), ERR_OK);
    assert_counts(fx->q, 0, 0, 0);
    queue_msgs_free(m, 1);
    queue_msgs_free(again, 1);
}

void queue_conformance_change_visibility_extends_and_zero_shows_at_once(void **state)
{
    queue_fixture_t *fx = *state;
    const char *body = "{\"job\":\"heartbeat\"}";
    err_t e;

    send_all(fx->q, &body, 1);
    queue_msg_t *m = recv_one(fx->q, 1);
    /* A heartbeat: hidden far past the 1 s it was received with. */
    assert_int_equal(queue_change_visibility(fx->q, m->receipt, 30, &e), ERR_OK);
    pass(fx, 1500);
    assert_nothing_visible(fx->q);
    assert_counts(fx->q, 0, 1, 0);
    /* Given back: visible at once. */
    assert_int_equal(queue_change_visibility(fx->q, m->receipt, 0, &e), ERR_OK);
    queue_msg_t *again = recv_one(fx->q, 30);
    assert_string_equal(again->id, m->id);
    assert_int_equal(again->receive_count, 2);
    assert_int_equal(queue_change_visibility(fx->q, again->receipt, -1, &e), ERR_INVALID);
    assert_int_equal(queue_change_visibility(fx->q, again->receipt, 43201, &e),
                     ERR_INVALID);
    assert_int_equal(queue_delete(fx->q, again->receipt, &e), ERR_OK);
    assert_counts(fx->q, 0, 0, 0);
    queue_msgs_free(m, 1);
    queue_msgs_free(again, 1);
}

void queue_conformance_a_stale_receipt_touches_nothing_after_redelivery(void **state)
{
    queue_fixture_t *fx = *state;
    const char *body = "{\"job\":\"stale\"}";
    err_t e;

    send_all(fx->q, &body, 1);
    queue_msg_t *first = recv_one(fx->q, 1);
    pass(fx, 1400);
    /* A worker that outlived its visibility: another got the message. */
    queue_msg_t *second = recv_one(fx->q, 30);
    assert_int_equal(second->receive_count, 2);
    assert_int_equal(queue_change_visibility(fx->q, first->receipt, 10, &e), ERR_NOTFOUND);
    delete_stale(fx, first->receipt);
    /* The second delivery is untouched: still held, its receipt still
     * good. */
    assert_counts(fx->q, 0, 1, 0);
    assert_int_equal(queue_change_visibility(fx->q, second->receipt, 0, &e), ERR_OK);
    queue_msg_t *third = recv_one(fx->q, 30);
    assert_string_equal(third->id, first->id);
    assert_int_equal(third->receive_count, 3);
    assert_int_equal(queue_change_visibility(fx->q, second->receipt, 5, &e), ERR_NOTFOUND);
    delete_stale(fx, second->receipt);
    assert_counts(fx->q, 0, 1, 0);
    assert_int_equal(queue_delete(fx->q, third->receipt, &e), ERR_OK);
    /* Deleted: its receipt is stale too. */
    assert_int_equal(queue_change_visibility(fx->q, third->receipt, 5, &e), ERR_NOTFOUND);
    delete_stale(fx, third->receipt);
    assert_counts(fx->q, 0, 0, 0);
    queue_msgs_free(first, 1);
    queue_msgs_free(second, 1);
    queue_msgs_free(third, 1);
}

void queue_conformance_receive_count_counts_every_delivery(void **state)
{
    queue_fixture_t *fx = *state;
    const char *bodies[] = {"{\"job\":\"counted\"}", "{\"job\":\"later\"}"};
    err_t e;

    send_all(fx->q, bodies, 1);
    for (int i = 1; i <= QC_MAX_RECEIVES; i++) {
        queue_msg_t *m = recv_one(fx->q, 30);
        assert_string_equal(m->body, bodies[0]);
        assert_int_equal(m->receive_count, i);
        if (i < QC_MAX_RECEIVES)
            assert_int_equal(queue_change_visibility(fx->q, m->receipt, 0, &e), ERR_OK);
        else
            assert_int_equal(queue_delete(fx->q, m->receipt, &e), ERR_OK);
        queue_msgs_free(m, 1);
    }
    /* Counts are per message. */
    send_all(fx->q, bodies + 1, 1);
    queue_msg_t *m = recv_one(fx->q, 30);
    assert_string_equal(m->body, bodies[1]);
    assert_int_equal(m->receive_count, 1);
    assert_int_equal(queue_delete(fx->q, m->receipt, &e), ERR_OK);
    queue_msgs_free(m, 1);
}

void queue_conformance_too_many_receives_dead_letter_and_take_dead_returns_it_once(
    void **state)
{
    queue_fixture_t *fx = *state;
    const char *bodies[] = {"{\"job\":\"poison\"}", "{\"job\":\"fine\"}"};
    queue_msg_t *m;
    size_t n;
    err_t e;

    assert_int_equal(fx->q->max_receives, QC_MAX_RECEIVES);
    send_all(fx->q, bodies, 1);
    for (int i = 1; i <= QC_MAX_RECEIVES; i++) {
        m = recv_one(fx->q, 30);
        assert_int_equal(m->receive_count, i);
        assert_int_equal(queue_change_visibility(fx->q, m->receipt, 0, &e), ERR_OK);
        queue_msgs_free(m, 1);
    }
    send_all(fx->q, bodies + 1, 1);
    /* One more receive would exceed max_receives: the poison goes to the
     * dead-letter store instead, and the other message still comes. */
    n = qc_recv(fx->q, 10, 30, 0, &m);
    assert_int_equal(n, 1);
    assert_string_equal(m[0].body, bodies[1]);
    assert_int_equal(m[0].receive_count, 1);
    assert_nothing_visible(fx->q);
    assert_counts(fx->q, 0, 1, 1);
    assert_int_equal(queue_delete(fx->q, m[0].receipt, &e), ERR_OK);
    queue_msgs_free(m, n);

    assert_int_equal(queue_take_dead(fx->q, 10, &m, &n, &e), ERR_OK);
    assert_int_equal(n, 1);
    assert_string_equal(m[0].body, bodies[0]);
    assert_int_equal(m[0].body_len, strlen(bodies[0]));
    assert_true(m[0].receive_count >= QC_MAX_RECEIVES);
    queue_msgs_free(m, n);
    /* Taken once: not again, and no longer counted. */
    assert_int_equal(queue_take_dead(fx->q, 10, &m, &n, &e), ERR_OK);
    assert_int_equal(n, 0);
    queue_msgs_free(m, n);
    assert_counts(fx->q, 0, 0, 0);
    assert_nothing_visible(fx->q);
}

/* Receives until want distinct messages whose bodies start with prefix and
 * are numbered below want came, each checked by check (may be NULL) and
 * deleted; fails on a duplicate or a stranger.  Then nothing is left. */
static void drain_exactly_once(queue_fixture_t *fx, const char *prefix, int want,
                               void (*check)(const queue_msg_t *m, int k))
{
    int *seen = calloc((size_t)want, sizeof *seen), got = 0;
    err_t e;
    assert_non_null(seen);
    for (int round = 0; round < 4 * want && got < want; round++) {
        queue_msg_t *m;
        size_t n = qc_recv(fx->q, 10, 30, 1, &m);
        for (size_t i = 0; i < n; i++) {
            int k = body_number(m[i].body, prefix, want);
            if (k < 0)
                fail_msg("unexpected body %.60s", m[i].body);
            if (seen[k]++)
                fail_msg("body %d delivered twice", k);
            assert_int_equal(m[i].receive_count, 1);
            if (check)
                check(&m[i], k);
            assert_int_equal(queue_delete(fx->q, m[i].receipt, &e), ERR_OK);
            got++;
        }
        queue_msgs_free(m, n);
    }
    assert_int_equal(got, want);
    assert_nothing_visible(fx->q);
    assert_counts(fx->q, 0, 0, 0);
    free(seen);
}

void queue_conformance_send_batch_delivers_every_body_exactly_once(void **state)
{
    enum { N = 25 };
    queue_fixture_t *fx = *state;
    char bufs[N][48];
    const char *bodies[N];
    for (int i = 0; i < N; i++) {
        snprintf(bufs[i], sizeof bufs[i], "{\"n\":%d,\"spec\":\"a poster\"}", i);
        bodies[i] = bufs[i];
    }
    /* More than one SQS call carries (10 entries). */
    send_all(fx->q, bodies, N);
    drain_exactly_once(fx, "{\"n\":", N, NULL);
}

enum { BIG_N = 6, BIG_LEN = 256 * 1024 };
static char *big_bodies[BIG_N];

static void check_big(const queue_msg_t *m, int k)
{
    assert_int_equal(m->body_len, BIG_LEN);
    assert_int_equal(strlen(m->body), BIG_LEN);
    assert_memory_equal(m->body, big_bodies[k], BIG_LEN);
}

void queue_conformance_send_batch_carries_more_than_one_call_holds(void **state)
{
    queue_fixture_t *fx = *state;
    /* Six bodies of 256 KiB, the largest every back-end takes: 1.5 MiB in
     * all, more than one SQS call may carry (256 KiB, or 1 MiB since
     * 2025), so the back-end must split by bytes, not only by count. */
    for (int i = 0; i < BIG_N; i++) {
        big_bodies[i] = malloc(BIG_LEN + 1);
        assert_non_null(big_bodies[i]);
        for (size_t j = 0; j < BIG_LEN; j++)
            big_bodies[i][j] = (char)('a' + (j * 7 + (size_t)i) % 26);
        int len = snprintf(big_bodies[i], 16, "big%d;", i);
        big_bodies[i][len] = '-';
        big_bodies[i][BIG_LEN] = '\0';
    }
    send_all(fx->q, (const char *const *)big_bodies, BIG_N);
    drain_exactly_once(fx, "big", BIG_N, check_big);
    for (int i = 0; i < BIG_N; i++) {
        free(big_bodies[i]);
        big_bodies[i] = NULL;
    }
}

void queue_conformance_send_batch_refuses_a_bad_body_and_sends_nothing(void **state)
{
    queue_fixture_t *fx = *state;
    size_t over = 1024 * 1024 + 1;   /* over every back-end's limit */
    char *big = malloc(over + 1);
    err_t e;

    assert_non_null(big);
    memset(big, 'x', over);
    big[over] = '\0';
    const char *with_big[] = {"{\"n\":1}", big, "{\"n\":3}"};
    err_clear(&e);
    assert_int_equal(queue_send_batch(fx->q, with_big, 3, &e), ERR_TOOBIG);
    assert_true(e.msg[0] != '\0');
    const char *with_null[] = {"{\"n\":1}", NULL};
    assert_int_equal(queue_send_batch(fx->q, with_null, 2, &e), ERR_INVALID);
    /* Refused before anything was sent. */
    assert_counts(fx->q, 0, 0, 0);
    assert_nothing_visible(fx->q);
    free(big);
}

void queue_conformance_delete_batch_deletes_fresh_receipts_and_flags_stale_ones(
    void **state)
{
    enum { N = 12, REDELIVERED = 3, DELETED = 3 };
    queue_fixture_t *fx = *state;
    char bufs[N][16];
    const char *bodies[N];
    char *first[N] = {0}, *again[REDELIVERED] = {0};
    int stale[N], got = 0;
    err_t e;

    for (int i = 0; i < N; i++) {
        snprintf(bufs[i], sizeof bufs[i], "del%d", i);
        bodies[i] = bufs[i];
    }
    send_all(fx->q, bodies, N);
    for (int round = 0; round < 4 * N && got < N; round++) {
        queue_msg_t *m;
        size_t n = qc_recv(fx->q, 10, 30, 1, &m);
        for (size_t i = 0; i < n; i++) {
            int k = body_number(m[i].body, "del", N);
            assert_true(k >= 0 && !first[k]);
            first[k] = strdup(m[i].receipt);
            got++;
        }
        queue_msgs_free(m, n);
    }
    assert_int_equal(got, N);
    /* Messages 0..2 are delivered again (their first receipts go stale),
     * message 3 is deleted (its receipt goes stale), 4..11 stay held. */
    for (int k = 0; k < REDELIVERED; k++)
        assert_int_equal(queue_change_visibility(fx->q, first[k], 0, &e), ERR_OK);
    got = 0;
    for (int round = 0; round < 4 * REDELIVERED && got < REDELIVERED; round++) {
        queue_msg_t *m;
        size_t n = qc_recv(fx->q, 10, 30, 1, &m);
        for (size_t i = 0; i < n; i++) {
            int k = body_number(m[i].body, "del", REDELIVERED);
            assert_true(k >= 0 && !again[k]);
            assert_int_equal(m[i].receive_count, 2);
            again[k] = strdup(m[i].receipt);
            got++;
        }
        queue_msgs_free(m, n);
    }
    assert_int_equal(got, REDELIVERED);
    assert_int_equal(queue_delete(fx->q, first[DELETED], &e), ERR_OK);

    /* Twelve receipts: more than one SQS call (10). */
    for (int i = 0; i < N; i++)
        stale[i] = 7;
    err_clear(&e);
    if (queue_delete_batch(fx->q, (const char *const *)first, N, stale, &e) != ERR_OK)
        fail_msg("delete_batch: %s", e.msg);
    for (int k = 0; k < N; k++) {
        if (k <= DELETED && fx->be->reports_stale_deletes)
            assert_int_equal(stale[k], 1);
        else if (k <= DELETED)
            assert_true(stale[k] == 0 || stale[k] == 1);
        else
            assert_int_equal(stale[k], 0);
    }
    /* The stale receipts deleted nothing: the redelivered three are still
     * held, and their new receipts delete them. */
    assert_counts(fx->q, 0, REDELIVERED, 0);
    if (queue_delete_batch(fx->q, (const char *const *)again, REDELIVERED, stale, &e) !=
        ERR_OK)
        fail_msg("delete_batch: %s", e.msg);
    for (int k = 0; k < REDELIVERED; k++)
        assert_int_equal(stale[k], 0);
    assert_counts(fx->q, 0, 0, 0);
    assert_nothing_visible(fx->q);
    for (int k = 0; k < N; k++)
        free(first[k]);
    for (int k = 0; k < REDELIVERED; k++)
        free(again[k]);
}

void queue_conformance_stats_count_messages_by_state(void **state)
{
    queue_fixture_t *fx = *state;
    const char *bodies[] = {"{\"s\":1}", "{\"s\":2}", "{\"s\":3}"};
    queue_msg_t *m;
    err_t e;

    send_all(fx->q, bodies, 3);
    assert_counts(fx->q, 3, 0, 0);
    assert_int_equal(qc_recv(fx->q, 1, 60, 1, &m), 1);
    assert_counts(fx->q, 2, 1, 0);
    assert_int_equal(queue_delete(fx->q, m->receipt, &e), ERR_OK);
    assert_counts(fx->q, 2, 0, 0);
    queue_msgs_free(m, 1);
}
