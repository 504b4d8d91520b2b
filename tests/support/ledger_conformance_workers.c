/* ledger_conformance_workers — the worker registry every ledger back-end
 * must keep (ledger_ops_t.worker_beat / worker_leave / workers_list): a
 * beat registers or refreshes one entry per id, a clean stop removes it, a
 * worker that stops beating turns stale and is pruned after a day.  Part of
 * the conformance suite (ledger_conformance.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ledger_conformance.h"

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static ledger_worker_t worker(char *id, char *models, int64_t seen)
{
    static char host[] = "host-a", version[] = "0.1.0";
    return (ledger_worker_t){.id = id, .host = host, .version = version, .models = models,
                             .pid = 4242, .started_ms = seen - 1000, .last_seen_ms = seen,
                             .beat_ms = 5000, .in_flight = 2, .done = 7, .failed = 1,
                             .rate_per_min = 12.5};
}

static void beat(ledger_t *l, const ledger_worker_t *w)
{
    err_t e;
    err_clear(&e);
    if (ledger_worker_beat(l, w, &e) != ERR_OK)
        fail_msg("worker_beat: %s", e.msg);
}

static ledger_worker_t *list(ledger_t *l, int64_t now, size_t *n)
{
    ledger_worker_t *v = NULL;
    err_t e;
    err_clear(&e);
    if (ledger_workers_list(l, now, &v, n, &e) != ERR_OK)
        fail_msg("workers_list: %s", e.msg);
    return v;
}

void ledger_conformance_a_beat_registers_and_refreshes_one_entry(void **state)
{
    ledger_fixture_t *fx = *state;
    ledger_t *l = fx->l;
    char a[] = "host-a:4242:x1", b[] = "host-b:7:y2", draft[] = "draft",
         bed[] = "amazon.nova-canvas-v1:0,stability.sd3-5-large-v1:0";
    int64_t now = wall_ms();
    size_t n = 9;

    assert_true(ledger_has_workers(l));
    ledger_worker_t *v = list(l, now, &n);
    assert_int_equal(n, 0);
    assert_null(v);

    ledger_worker_t wa = worker(a, draft, now - 2000), wb = worker(b, bed, now);
    beat(l, &wa);
    beat(l, &wb);
    wa.last_seen_ms = now;   /* the next beat */
    wa.done = 8;
    beat(l, &wa);
    v = list(l, now, &n);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].id, a);
    assert_string_equal(v[0].host, "host-a");
    assert_string_equal(v[0].version, "0.1.0");
    assert_string_equal(v[0].models, "draft");
    assert_int_equal(v[0].pid, 4242);
    assert_int_equal(v[0].started_ms, now - 3000);
    assert_int_equal(v[0].last_seen_ms, now);
    assert_int_equal(v[0].beat_ms, 5000);
    assert_int_equal(v[0].in_flight, 2);
    assert_int_equal(v[0].done, 8);
    assert_int_equal(v[0].failed, 1);
    assert_true(v[0].rate_per_min > 12.49 && v[0].rate_per_min < 12.51);
    assert_string_equal(v[1].id, b);
    assert_string_equal(v[1].models, bed);
    assert_true(ledger_worker_alive(&v[0], now));
    ledger_workers_free(v, n);
}

void ledger_conformance_a_worker_that_leaves_is_gone(void **state)
{
    ledger_fixture_t *fx = *state;
    ledger_t *l = fx->l;
    char a[] = "host-a:1:a", b[] = "host-a:2:b", draft[] = "draft";
    int64_t now = wall_ms();
    size_t n;
    err_t e;

    ledger_worker_t wa = worker(a, draft, now), wb = worker(b, draft, now);
    beat(l, &wa);
    beat(l, &wb);
    err_clear(&e);
    assert_int_equal(ledger_worker_leave(l, a, &e), ERR_OK);
    /* Leaving twice (a retried stop) is fine. */
    assert_int_equal(ledger_worker_leave(l, a, &e), ERR_OK);
    ledger_worker_t *v = list(l, now, &n);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].id, b);
    ledger_workers_free(v, n);
}

void ledger_conformance_a_silent_worker_turns_stale_then_is_pruned(void **state)
{
    ledger_fixture_t *fx = *state;
    ledger_t *l = fx->l;
    char a[] = "host-a:1:a", b[] = "host-a:2:b", draft[] = "draft";
    int64_t now = wall_ms();
    size_t n;

    /* a beat 16 s ago with a 5 s interval: three beats missed. */
    ledger_worker_t wa = worker(a, draft, now - 16000), wb = worker(b, draft, now);
    beat(l, &wa);
    beat(l, &wb);
    ledger_worker_t *v = list(l, now, &n);
    assert_int_equal(n, 2);
    assert_false(ledger_worker_alive(&v[0], now));
    assert_true(ledger_worker_alive(&v[0], now - 2000));
    assert_true(ledger_worker_alive(&v[1], now));
    ledger_workers_free(v, n);

    /* A day and a bit later, the reader prunes both. */
    v = list(l, now + LEDGER_WORKER_PRUNE_MS + 1000, &n);
    assert_int_equal(n, 0);
    assert_null(v);
    v = list(l, now, &n);
    assert_int_equal(n, 0);
}

void ledger_conformance_bad_workers_are_refused(void **state)
{
    ledger_fixture_t *fx = *state;
    ledger_t *l = fx->l;
    char id[] = "h:1:a", empty[] = "", draft[] = "draft";
    int64_t now = wall_ms();
    size_t n;
    err_t e;

    ledger_worker_t w = worker(empty, draft, now);
    err_clear(&e);
    assert_int_equal(ledger_worker_beat(l, &w, &e), ERR_INVALID);
    w = worker(id, empty, now);
    assert_int_equal(ledger_worker_beat(l, &w, &e), ERR_INVALID);
    w.models = NULL;
    assert_int_equal(ledger_worker_beat(l, &w, &e), ERR_INVALID);
    assert_int_equal(ledger_worker_leave(l, "", &e), ERR_INVALID);
    ledger_worker_t *v = list(l, now, &n);
    assert_int_equal(n, 0);
    assert_null(v);
}
