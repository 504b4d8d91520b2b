/* Tests for common/jobs/job_retry.c over a real SQLite ledger and queue in
 * a private directory: state names (and bad ones), resolving batch and job
 * ids (and unknown ones), planning with prices, and a run that is
 * interrupted between re-opening and sending, then finished by the next. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/job_retry.h"
#include "testutil.h"

static void state_names_parse_and_bad_ones_are_usage_errors(void **state)
{
    (void)state;
    unsigned s = 99;
    err_t e;
    assert_int_equal(job_retry_states_parse("failed", &s, &e), ERR_OK);
    assert_int_equal(s, LEDGER_RETRY_FAILED);
    assert_int_equal(job_retry_states_parse("dead,cancelled,filtered,failed", &s, &e), ERR_OK);
    assert_int_equal(s, LEDGER_RETRY_ALL);
    assert_int_equal(job_retry_states_parse("dead,dead", &s, &e), ERR_OK);
    assert_int_equal(s, LEDGER_RETRY_DEAD);
    static const char *const bad[] = {"", ",", "failed,", ",failed", "Failed", "queued",
                                      "succeeded", "running", "failed,bogus", "fail",
                                      "failed ,cancelled", "a-very-long-name-that-is-no-state-"
                                      "at-all-and-goes-on-and-on"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err_clear(&e);
        s = 99;
        if (job_retry_states_parse(bad[i], &s, &e) != ERR_USAGE)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal(s, 0);
        assert_non_null(strstr(e.msg, "--state"));
        assert_non_null(strstr(e.msg, JOB_RETRY_STATE_NAMES));
    }
    assert_int_equal(job_retry_state_bit("dead"), LEDGER_RETRY_DEAD);
    assert_int_equal(job_retry_state_bit("nope"), 0);
    assert_int_equal(job_retry_state_bit(NULL), 0);
}

typedef struct {
    char *dir;
    ledger_t *l;
    queue_t *q;
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    char url[600];
    err_t e;
    f->dir = tu_mkdtemp();
    snprintf(url, sizeof url, "sqlite:%s/onesheet.db", f->dir);
    assert_non_null(f->l = ledger_open(url, &e));
    assert_non_null(f->q = queue_open(url, &e));
    /* b1: j1 failed (a Bedrock model), j2 cancelled, j3 succeeded; b2: j1
     * queued (so "j1" names a job in two batches). */
    ledger_new_job_t jobs[] = {
        {"j1", "{\"id\":\"j1\",\"prompt\":\"one\",\"model\":\"stability.sd3-5-large-v1:0\"}", 1},
        {"j2", "{\"id\":\"j2\",\"prompt\":\"two\"}", 2},
        {"j3", "{\"id\":\"j3\",\"prompt\":\"three\"}", 3},
    };
    bool created;
    size_t added, n;
    ledger_claim_t c;
    ledger_result_t r = {.url = "file:///x", .store_key = "k", .sha256 = "00",
                         .model = "draft"};
    assert_int_equal(ledger_add_batch(f->l, "b1", "t", jobs, 3, &created, &added, &e), ERR_OK);
    assert_int_equal(ledger_add_batch(f->l, "b2", "t", jobs, 1, &created, &added, &e), ERR_OK);
    assert_int_equal(ledger_claim(f->l, "b1", "j1", 1, "w", 30, &c, &e), ERR_OK);
    assert_int_equal(ledger_fail(f->l, "b1", "j1", 1, "w", JOB_FAILED, "x", "y", &e), ERR_OK);
    assert_int_equal(ledger_cancel(f->l, "b1", "j2", &n, &e), ERR_OK);
    assert_int_equal(ledger_claim(f->l, "b1", "j3", 1, "w", 30, &c, &e), ERR_OK);
    assert_int_equal(ledger_succeed(f->l, "b1", "j3", "w", &r, &e), ERR_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    ledger_close(f->l);
    queue_close(f->q);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void ids_resolve_to_batches_and_jobs(void **state)
{
    fx_t *f = *state;
    job_retry_target_t *t = NULL;
    size_t n = 0;
    err_t e;
    assert_int_equal(job_retry_resolve(f->l, "b1", &t, &n, &e), ERR_OK);
    assert_int_equal(n, 1);
    assert_string_equal(t[0].batch_id, "b1");
    assert_null(t[0].job_id);
    job_retry_targets_free(t, n);
    /* A job id names the job in every batch that holds it. */
    assert_int_equal(job_retry_resolve(f->l, "j1", &t, &n, &e), ERR_OK);
    assert_int_equal(n, 2);
    assert_string_equal(t[0].job_id, "j1");
    assert_string_equal(t[1].job_id, "j1");
    job_retry_targets_free(t, n);
    assert_int_equal(job_retry_resolve(f->l, "nope", &t, &n, &e), ERR_NOTFOUND);
    assert_null(t);
    assert_int_equal(n, 0);
    assert_non_null(strstr(e.msg, "nope: no such job or batch"));
}

static void a_plan_prices_the_selected_jobs_and_changes_nothing(void **state)
{
    fx_t *f = *state;
    job_retry_target_t t = {.batch_id = "b1"};
    job_retry_result_t r = {0};
    cost_table_t *prices = NULL;
    err_t e;
    assert_int_equal(cost_table_builtin(&prices, &e), ERR_OK);
    assert_int_equal(job_retry_plan(f->l, &t, LEDGER_RETRY_FAILED | LEDGER_RETRY_CANCELLED,
                                    prices, &r, &e), ERR_OK);
    assert_int_equal(r.selected, 2);
    assert_true(r.priced);
    assert_true(r.estimated_usd > 0.079 && r.estimated_usd < 0.081);   /* sd3.5 + draft */
    assert_int_equal(r.retried, 0);
    cost_table_free(prices);
    ledger_job_t *jobs = NULL;
    size_t n = 0;
    assert_int_equal(ledger_get_jobs(f->l, "b1", "j1", &jobs, &n, &e), ERR_OK);
    assert_int_equal(jobs[0].state, JOB_FAILED);
    ledger_jobs_free(jobs, n);
}

static void an_interrupted_retry_is_finished_by_the_next(void **state)
{
    fx_t *f = *state;
    job_retry_target_t t = {.batch_id = "b1"};
    job_retry_result_t r1 = {0}, r2 = {0}, r3 = {0};
    unsigned all = LEDGER_RETRY_ALL;
    queue_stats_t st;
    err_t e;
    /* Re-opened, then "killed" before sending. */
    assert_int_equal(job_retry_reopen(f->l, &t, all, &r1, &e), ERR_OK);
    assert_int_equal(r1.retried, 2);
    assert_int_equal(queue_stats(f->q, &st, &e), ERR_OK);
    assert_int_equal(st.visible, 0);
    /* The next retry re-opens nothing and sends the two left pending, with
     * their run. */
    assert_int_equal(job_retry_run(f->q, f->l, &t, all, &r2, &e), ERR_OK);
    assert_int_equal(r2.retried, 0);
    assert_int_equal(r2.enqueued, 2);
    queue_msg_t *m = NULL;
    size_t nm = 0;
    assert_int_equal(queue_receive(f->q, 10, 60, 0, &m, &nm, &e), ERR_OK);
    assert_int_equal(nm, 2);
    for (size_t i = 0; i < nm; i++) {
        char batch[JOB_ID_MAX + 1], job[JOB_ID_MAX + 1];
        job_spec_t s;
        int run = 0;
        assert_int_equal(job_message_decode_run(m[i].body, m[i].body_len, batch, job, &s,
                                                &run, &e), ERR_OK);
        assert_int_equal(run, 2);
        assert_string_equal(batch, "b1");
        if (strcmp(job, "j1") == 0)   /* the spec the ledger recorded */
            assert_string_equal(s.model, "stability.sd3-5-large-v1:0");
        job_spec_free(&s);
    }
    queue_msgs_free(m, nm);
    /* And a third sends nothing more. */
    assert_int_equal(job_retry_run(f->q, f->l, &t, all, &r3, &e), ERR_OK);
    assert_int_equal(r3.retried + r3.enqueued, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(state_names_parse_and_bad_ones_are_usage_errors),
        cmocka_unit_test_setup_teardown(ids_resolve_to_batches_and_jobs, setup, teardown),
        cmocka_unit_test_setup_teardown(a_plan_prices_the_selected_jobs_and_changes_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(an_interrupted_retry_is_finished_by_the_next, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
