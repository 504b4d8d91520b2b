/* ledger_conformance_retry — what every ledger back-end must do for retry
 * (ledger_ops_t.retry, and the run claim, fail and pending_enqueue take):
 * only the selected states are re-opened, each as run + 1 with its finished
 * run kept in the history; a second retry finds nothing; a message of an
 * earlier run can neither claim nor dead-letter the new run.  Part of the
 * conformance suite (ledger_conformance.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger_conformance.h"

static err_code_t lfail(ledger_t *l, const char *b, const char *j, int run,
                        const char *owner, const char *code, err_t *e)
{
    return ledger_fail(l, b, j, run, owner, JOB_FAILED, code, "it broke", e);
}

static size_t retry(ledger_t *l, const char *b, const char *j, unsigned states)
{
    size_t n = 99;
    err_t e;
    if (ledger_retry(l, b, j, states, &n, &e) != ERR_OK)
        fail_msg("retry: %s", e.msg);
    return n;
}

static ledger_claim_t claim_run(ledger_t *l, const char *b, const char *j, int run,
                                const char *owner)
{
    ledger_claim_t out = (ledger_claim_t)-1;
    err_t e;
    if (ledger_claim(l, b, j, run, owner, 30, &out, &e) != ERR_OK)
        fail_msg("claim: %s", e.msg);
    return out;
}

/* b1: j1 succeeded, j2 failed, j3 filtered, j4 cancelled, j5 dead-lettered,
 * j6 still queued. */
static void six_outcomes(ledger_t *l)
{
    const char *ids[] = {"j1", "j2", "j3", "j4", "j5", "j6"};
    size_t n;
    err_t e;
    lc_add(l, "b1", ids, 6, NULL);
    assert_int_equal(lc_claim(l, "b1", "j1", "w1"), CLAIM_OK);
    assert_int_equal(ledger_succeed(l, "b1", "j1", "w1", &lc_result, &e), ERR_OK);
    assert_int_equal(lc_claim(l, "b1", "j2", "w1"), CLAIM_OK);
    assert_int_equal(lfail(l, "b1", "j2", 1, "w1", "ERR_IO", &e), ERR_OK);
    assert_int_equal(lc_claim(l, "b1", "j3", "w1"), CLAIM_OK);
    assert_int_equal(ledger_fail(l, "b1", "j3", 1, "w1", JOB_FILTERED, "ValidationException",
                                 "filtered", &e), ERR_OK);
    assert_int_equal(ledger_cancel(l, "b1", "j4", &n, &e), ERR_OK);
    assert_int_equal(lfail(l, "b1", "j5", 1, NULL, LEDGER_DEAD_LETTER, &e), ERR_OK);
}

static job_state_t state_of(ledger_t *l, const char *b, const char *j, int *run)
{
    ledger_job_t one = lc_get(l, b, j);
    job_state_t s = one.state;
    if (run)
        *run = one.run;
    ledger_job_free(&one);
    return s;
}

void ledger_conformance_retry_reopens_only_the_selected_states(void **state)
{
    ledger_fixture_t *fx = *state;
    int run = 0;
    six_outcomes(fx->l);

    /* The redrive: only the dead-lettered job. */
    assert_int_equal(retry(fx->l, "b1", NULL, LEDGER_RETRY_DEAD), 1);
    assert_int_equal(state_of(fx->l, "b1", "j5", &run), JOB_QUEUED);
    assert_int_equal(run, 2);
    assert_int_equal(state_of(fx->l, "b1", "j2", &run), JOB_FAILED);
    assert_int_equal(run, 1);
    /* failed (dead ones too, none left) and cancelled. */
    assert_int_equal(retry(fx->l, "b1", NULL, LEDGER_RETRY_FAILED | LEDGER_RETRY_CANCELLED),
                     2);
    assert_int_equal(state_of(fx->l, "b1", "j2", NULL), JOB_QUEUED);
    assert_int_equal(state_of(fx->l, "b1", "j4", NULL), JOB_QUEUED);
    assert_int_equal(state_of(fx->l, "b1", "j3", NULL), JOB_FILTERED);
    assert_int_equal(state_of(fx->l, "b1", "j1", &run), JOB_SUCCEEDED);
    assert_int_equal(run, 1);
    assert_int_equal(state_of(fx->l, "b1", "j6", &run), JOB_QUEUED);
    assert_int_equal(run, 1);
    /* One job by id. */
    assert_int_equal(retry(fx->l, "b1", "j3", LEDGER_RETRY_ALL), 1);
    assert_int_equal(state_of(fx->l, "b1", "j3", NULL), JOB_QUEUED);
    /* Never a succeeded, queued or running job. */
    assert_int_equal(retry(fx->l, "b1", "j1", LEDGER_RETRY_ALL), 0);
    assert_int_equal(retry(fx->l, "b1", "j6", LEDGER_RETRY_ALL), 0);
}

void ledger_conformance_retry_keeps_every_run_in_the_history(void **state)
{
    ledger_fixture_t *fx = *state;
    const char *ids[] = {"j1"};
    err_t e;
    lc_add(fx->l, "b1", ids, 1, NULL);
    assert_int_equal(lc_claim(fx->l, "b1", "j1", "w1"), CLAIM_OK);
    assert_int_equal(lfail(fx->l, "b1", "j1", 1, "w1", "ERR_IO", &e), ERR_OK);
    assert_int_equal(retry(fx->l, "b1", NULL, LEDGER_RETRY_FAILED), 1);

    ledger_job_t j = lc_get(fx->l, "b1", "j1");
    assert_int_equal(j.state, JOB_QUEUED);
    assert_int_equal(j.run, 2);
    assert_int_equal(j.enqueued_ms, 0);
    assert_null(j.error_code);
    assert_null(j.lease_owner);
    assert_int_equal(j.nhistory, 1);
    assert_int_equal(j.history[0].run, 1);
    assert_int_equal(j.history[0].state, JOB_FAILED);
    assert_string_equal(j.history[0].error_code, "ERR_IO");
    assert_string_equal(j.history[0].error_message, "it broke");
    assert_int_equal(j.history[0].claims, 1);
    assert_true(j.history[0].finished_ms > 0);
    ledger_job_free(&j);

    /* The new run claims, fails, and is retried again: two runs kept. */
    assert_int_equal(claim_run(fx->l, "b1", "j1", 2, "w2"), CLAIM_OK);
    assert_int_equal(claim_run(fx->l, "b1", "j1", 2, "w2"), CLAIM_OK);
    assert_int_equal(lfail(fx->l, "b1", "j1", 2, "w2", "ERR_THROTTLED", &e), ERR_OK);
    assert_int_equal(retry(fx->l, "b1", "j1", LEDGER_RETRY_FAILED), 1);
    j = lc_get(fx->l, "b1", "j1");
    assert_int_equal(j.run, 3);
    assert_int_equal(j.nhistory, 2);
    assert_int_equal(j.history[1].run, 2);
    assert_string_equal(j.history[1].error_code, "ERR_THROTTLED");
    assert_int_equal(j.history[1].claims, 2);
    assert_int_equal(j.attempts, 3);
    ledger_job_free(&j);
}

void ledger_conformance_a_second_retry_reopens_nothing(void **state)
{
    ledger_fixture_t *fx = *state;
    char **ids = NULL;
    int *runs = NULL;
    size_t n = 0;
    err_t e;
    six_outcomes(fx->l);
    assert_int_equal(retry(fx->l, "b1", NULL, LEDGER_RETRY_FAILED), 2);
    assert_int_equal(retry(fx->l, "b1", NULL, LEDGER_RETRY_FAILED), 0);
    assert_int_equal(retry(fx->l, "b1", "j2", LEDGER_RETRY_FAILED), 0);
    ledger_job_t j = lc_get(fx->l, "b1", "j2");
    assert_int_equal(j.run, 2);
    assert_int_equal(j.nhistory, 1);
    ledger_job_free(&j);

    /* pending_enqueue lists the re-opened jobs (and j6, never sent) with
     * their runs, in file order. */
    assert_int_equal(ledger_pending_enqueue(fx->l, "b1", &ids, &runs, &n, &e), ERR_OK);
    assert_int_equal(n, 3);
    assert_string_equal(ids[0], "j2");
    assert_int_equal(runs[0], 2);
    assert_string_equal(ids[1], "j5");
    assert_int_equal(runs[1], 2);
    assert_string_equal(ids[2], "j6");
    assert_int_equal(runs[2], 1);
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    free(runs);
}

void ledger_conformance_a_message_of_an_earlier_run_is_stale(void **state)
{
    ledger_fixture_t *fx = *state;
    int run = 0;
    err_t e;
    six_outcomes(fx->l);
    assert_int_equal(retry(fx->l, "b1", NULL, LEDGER_RETRY_ALL), 4);
    /* Run 1's message (a duplicate, or one redelivered) is stale. */
    assert_int_equal(claim_run(fx->l, "b1", "j2", 1, "w9"), CLAIM_STALE);
    assert_int_equal(state_of(fx->l, "b1", "j2", NULL), JOB_QUEUED);
    /* A dead-lettered message of run 1 cannot fail run 2... */
    assert_int_equal(lfail(fx->l, "b1", "j5", 1, NULL, LEDGER_DEAD_LETTER, &e),
                     ERR_CONFLICT);
    assert_int_equal(state_of(fx->l, "b1", "j5", &run), JOB_QUEUED);
    assert_int_equal(run, 2);
    /* ...while run 2's own can. */
    assert_int_equal(lfail(fx->l, "b1", "j5", 2, NULL, LEDGER_DEAD_LETTER, &e), ERR_OK);
    assert_int_equal(state_of(fx->l, "b1", "j5", NULL), JOB_FAILED);
    /* The current run claims; once it is done, its duplicate is "done". */
    assert_int_equal(claim_run(fx->l, "b1", "j2", 2, "w1"), CLAIM_OK);
    assert_int_equal(ledger_succeed(fx->l, "b1", "j2", "w1", &lc_result, &e), ERR_OK);
    assert_int_equal(claim_run(fx->l, "b1", "j2", 2, "w2"), CLAIM_DONE);
    assert_int_equal(claim_run(fx->l, "b1", "j2", 1, "w2"), CLAIM_STALE);
    /* A message of a run the ledger has not reached is left for later. */
    assert_int_equal(claim_run(fx->l, "b1", "j6", 2, "w1"), CLAIM_HELD);
    assert_int_equal(state_of(fx->l, "b1", "j6", NULL), JOB_QUEUED);
}

void ledger_conformance_retry_of_unknown_ids_is_not_found(void **state)
{
    ledger_fixture_t *fx = *state;
    size_t n = 7;
    err_t e;
    six_outcomes(fx->l);
    assert_int_equal(ledger_retry(fx->l, "nope", NULL, LEDGER_RETRY_FAILED, &n, &e),
                     ERR_NOTFOUND);
    assert_int_equal(n, 0);
    assert_int_equal(ledger_retry(fx->l, "b1", "nope", LEDGER_RETRY_FAILED, &n, &e),
                     ERR_NOTFOUND);
    assert_int_equal(ledger_retry(fx->l, "b1", NULL, 0, &n, &e), ERR_INVALID);
    assert_int_equal(state_of(fx->l, "b1", "j2", NULL), JOB_FAILED);
}
