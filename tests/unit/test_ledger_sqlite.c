/* Tests for the embedded SQLite ledger (ledger_sqlite.c, ledger.c): the
 * conformance suite every back-end passes (tests/support/ledger_conformance.c:
 * idempotent submits, conditional claims and completions under leases,
 * cancellation, lookups, listing and pagination), and what is SQLite's own:
 * a hundred thousand jobs in one go, one file shared with the queue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger/ledger.h"
#include "ledger_conformance.h"
#include "queue/queue.h"
#include "base/sqlite_util.h"
#include "testutil.h"

/* A ledger in a fresh temporary directory; fx->where is its URL and
 * fx->data the directory. */
static void sqlite_open(ledger_fixture_t *fx)
{
    err_t e;
    fx->data = tu_mkdtemp();
    snprintf(fx->where, sizeof fx->where, "sqlite:%s/onesheet.db", (char *)fx->data);
    fx->l = ledger_open(fx->where, &e);
    if (!fx->l)
        fail_msg("ledger_open: %s", e.msg);
}

static void sqlite_close(ledger_fixture_t *fx)
{
    ledger_close(fx->l);
    sqlite_util_set_clock_offset_ms(0);
    tu_rmtree(fx->data);
    free(fx->data);
}

/* The SQLite clock is process-wide. */
static void sqlite_clock(ledger_t *l, int64_t offset_ms)
{
    (void)l;
    sqlite_util_set_clock_offset_ms(offset_ms);
}

static ledger_backend_t sqlite_backend = {sqlite_open, sqlite_close, sqlite_clock};

static void hundred_thousand_jobs_are_added_in_one_go(void **state)
{
    enum { N = 100000 };
    ledger_fixture_t *fx = *state;
    ledger_t *l = fx->l;
    ledger_new_job_t *jobs = calloc(N, sizeof *jobs);
    char (*ids)[24] = calloc(N, sizeof *ids);
    const char **idp = calloc(N, sizeof *idp);
    char **pending;
    bool created;
    size_t added, n;
    err_t e;

    for (size_t i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "%016zx", i * 2654435761u);
        jobs[i].job_id = idp[i] = ids[i];
        jobs[i].spec_json = "{\"prompt\":\"a lighthouse at dusk, film poster\","
                            "\"aspect_ratio\":\"2:3\",\"seed\":42}";
        jobs[i].line = (int)i + 1;
    }
    double t0 = tu_mono_s();
    assert_int_equal(ledger_add_batch(l, "big", "big.jsonl", jobs, N, &created, &added,
                                       &e), ERR_OK);
    double t1 = tu_mono_s();
    assert_int_equal(added, N);
    assert_int_equal(ledger_pending_enqueue(l, "big", &pending, NULL, &n, &e), ERR_OK);
    assert_int_equal(n, N);
    for (size_t i = 0; i < n; i++)
        free(pending[i]);
    free(pending);
    double t2 = tu_mono_s();
    assert_int_equal(ledger_mark_enqueued(l, "big", idp, N, &e), ERR_OK);
    double t3 = tu_mono_s();
    assert_int_equal(ledger_add_batch(l, "big", "big.jsonl", jobs, N, &created, &added,
                                       &e), ERR_OK);
    double t4 = tu_mono_s();
    assert_int_equal(added, 0);
    printf("# %d jobs: add_batch %.3f s, pending_enqueue %.3f s, mark_enqueued %.3f s,"
           " re-add %.3f s\n", N, t1 - t0, t2 - t1, t3 - t2, t4 - t3);
    assert_true(t1 - t0 < 60.0);   /* informational; catches a transaction per row */
    free(jobs);
    free(ids);
    free(idp);
}

static void state_names_round_trip(void **state)
{
    (void)state;
    for (int s = 0; s < JOB__NSTATES; s++)
        assert_int_equal(job_state_parse(job_state_name((job_state_t)s)), s);
    assert_int_equal(job_state_parse("Running"), -1);
    assert_int_equal(job_state_parse(NULL), -1);
    assert_false(job_state_terminal(JOB_QUEUED));
    assert_false(job_state_terminal(JOB_RUNNING));
    assert_true(job_state_terminal(JOB_FILTERED));
    assert_true(job_state_terminal(JOB_CANCELLED));
}

static void queue_and_ledger_share_one_file(void **state)
{
    ledger_fixture_t *fx = *state;
    const char *ids[] = {"j1"}, *body = "{\"v\":1}";
    queue_msg_t *m;
    size_t n;
    err_t e;

    queue_t *q = queue_open(fx->where, &e);
    assert_non_null(q);
    lc_add(fx->l, "b1", ids, 1, NULL);
    assert_int_equal(queue_send_batch(q, &body, 1, &e), ERR_OK);
    assert_int_equal(queue_receive(q, 1, 30, 0, &m, &n, &e), ERR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(lc_claim(fx->l, "b1", "j1", "w"), CLAIM_OK);
    assert_int_equal(queue_delete(q, m->receipt, &e), ERR_OK);
    queue_msgs_free(m, n);
    queue_close(q);
    assert_null(ledger_open("redis:x", &e));
    assert_int_equal(e.code, ERR_CONFIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        LEDGER_CONFORMANCE_TESTS(&sqlite_backend)
#define T(f) LEDGER_CONFORMANCE_TEST_F(#f, f, &sqlite_backend)
        T(hundred_thousand_jobs_are_added_in_one_go),
        cmocka_unit_test(state_names_round_trip),
        T(queue_and_ledger_share_one_file),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
