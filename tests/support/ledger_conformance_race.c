/* ledger_conformance_race — the conditional writes judged by outcome
 * (issue 24): who wins and who is refused when two workers meet on one
 * job, not the text of a condition.  A lease that lapsed and passed to
 * another worker leaves the old owner nothing (no extend, release, fail or
 * success, and its claim is held off by the new lease); a cancel refuses
 * the worker that held the job; a release hands the job to the next claim
 * at once, and its old owner can no longer finish it.  Every refusal
 * changes nothing.  Part of the conformance suite (ledger_conformance.h),
 * so it runs on SQLite (test_ledger_sqlite) and on DynamoDB against
 * dynalite (dynamodb_live), where no fake evaluates the expressions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger_conformance.h"

static err_code_t lfail(ledger_t *l, const char *b, const char *j, const char *owner,
                        err_t *e)
{
    return ledger_fail(l, b, j, 1, owner, JOB_FAILED, "x", "it broke", e);
}

/* Checks (b, j) is in state st with lease owner `owner` (NULL: none). */
static void is(ledger_t *l, const char *b, const char *j, job_state_t st, const char *owner)
{
    ledger_job_t job = lc_get(l, b, j);
    assert_int_equal(job.state, st);
    if (owner)
        assert_string_equal(job.lease_owner ? job.lease_owner : "(none)", owner);
    else
        assert_null(job.lease_owner);
    ledger_job_free(&job);
}

void ledger_conformance_a_lease_passed_on_refuses_the_old_owner(void **state)
{
    ledger_fixture_t *fx = *state;
    ledger_t *l = fx->l;
    const char *ids[] = {"j1"};
    err_t e;

    lc_add(l, "b1", ids, 1, NULL);
    assert_int_equal(lc_claim(l, "b1", "j1", "w1"), CLAIM_OK);
    /* Two workers on one live lease: the second is held off. */
    assert_int_equal(lc_claim(l, "b1", "j1", "w2"), CLAIM_HELD);
    is(l, "b1", "j1", JOB_RUNNING, "w1");
    /* w1 stalls past its lease; w2 takes the job over. */
    fx->be->set_clock_offset(l, 31 * 1000);
    assert_int_equal(lc_claim(l, "b1", "j1", "w2"), CLAIM_OK);
    is(l, "b1", "j1", JOB_RUNNING, "w2");
    /* w1 wakes up: every write it tries is refused and changes nothing. */
    err_clear(&e);
    assert_int_equal(ledger_extend(l, "b1", "j1", "w1", 60, &e), ERR_CONFLICT);
    err_clear(&e);
    assert_int_equal(ledger_release(l, "b1", "j1", "w1", "x", "y", &e), ERR_CONFLICT);
    err_clear(&e);
    assert_int_equal(lfail(l, "b1", "j1", "w1", &e), ERR_CONFLICT);
    err_clear(&e);
    assert_int_equal(ledger_succeed(l, "b1", "j1", "w1", &lc_result, &e), ERR_CONFLICT);
    is(l, "b1", "j1", JOB_RUNNING, "w2");
    /* Its claim meets w2's live lease now. */
    assert_int_equal(lc_claim(l, "b1", "j1", "w1"), CLAIM_HELD);
    /* w2 extends and finishes; w1 then finds the job done. */
    err_clear(&e);
    assert_int_equal(ledger_extend(l, "b1", "j1", "w2", 60, &e), ERR_OK);
    assert_int_equal(ledger_succeed(l, "b1", "j1", "w2", &lc_result, &e), ERR_OK);
    is(l, "b1", "j1", JOB_SUCCEEDED, NULL);
    err_clear(&e);
    assert_int_equal(ledger_succeed(l, "b1", "j1", "w1", &lc_result, &e), ERR_CONFLICT);
    assert_int_equal(lc_claim(l, "b1", "j1", "w1"), CLAIM_DONE);
    ledger_job_t job = lc_get(l, "b1", "j1");
    assert_int_equal(job.attempts, 2);
    ledger_job_free(&job);
}

void ledger_conformance_a_cancel_refuses_the_worker_holding_the_job(void **state)
{
    ledger_fixture_t *fx = *state;
    ledger_t *l = fx->l;
    const char *ids[] = {"j1"};
    size_t n = 0;
    err_t e;

    lc_add(l, "b1", ids, 1, NULL);
    assert_int_equal(lc_claim(l, "b1", "j1", "w1"), CLAIM_OK);
    err_clear(&e);
    assert_int_equal(ledger_cancel(l, "b1", "j1", &n, &e), ERR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ledger_extend(l, "b1", "j1", "w1", 60, &e), ERR_CONFLICT);
    err_clear(&e);
    assert_int_equal(ledger_release(l, "b1", "j1", "w1", "x", "y", &e), ERR_CONFLICT);
    err_clear(&e);
    assert_int_equal(lfail(l, "b1", "j1", "w1", &e), ERR_CONFLICT);
    err_clear(&e);
    assert_int_equal(ledger_succeed(l, "b1", "j1", "w1", &lc_result, &e), ERR_CONFLICT);
    ledger_job_t job = lc_get(l, "b1", "j1");
    assert_int_equal(job.state, JOB_CANCELLED);
    assert_null(job.url);
    ledger_job_free(&job);
    /* Not even once the lease would have lapsed. */
    fx->be->set_clock_offset(l, 31 * 1000);
    assert_int_equal(lc_claim(l, "b1", "j1", "w1"), CLAIM_CANCELLED);
    assert_int_equal(lc_claim(l, "b1", "j1", "w2"), CLAIM_CANCELLED);
}

void ledger_conformance_a_release_hands_the_job_to_the_next_claim(void **state)
{
    ledger_fixture_t *fx = *state;
    ledger_t *l = fx->l;
    const char *ids[] = {"j1"};
    err_t e;

    lc_add(l, "b1", ids, 1, NULL);
    assert_int_equal(lc_claim(l, "b1", "j1", "w1"), CLAIM_OK);
    err_clear(&e);
    assert_int_equal(ledger_release(l, "b1", "j1", "w1", "ServiceUnavailable", "503", &e),
                     ERR_OK);
    is(l, "b1", "j1", JOB_QUEUED, NULL);
    /* The released job is nobody's: its old owner cannot finish it. */
    assert_int_equal(ledger_succeed(l, "b1", "j1", "w1", &lc_result, &e), ERR_CONFLICT);
    is(l, "b1", "j1", JOB_QUEUED, NULL);
    /* The next claim wins at once, without waiting out the old lease. */
    assert_int_equal(lc_claim(l, "b1", "j1", "w2"), CLAIM_OK);
    is(l, "b1", "j1", JOB_RUNNING, "w2");
    assert_int_equal(lc_claim(l, "b1", "j1", "w1"), CLAIM_HELD);
    err_clear(&e);
    assert_int_equal(ledger_succeed(l, "b1", "j1", "w1", &lc_result, &e), ERR_CONFLICT);
    assert_int_equal(ledger_succeed(l, "b1", "j1", "w2", &lc_result, &e), ERR_OK);
    is(l, "b1", "j1", JOB_SUCCEEDED, NULL);
}
