/* ledger_conformance_finish — what every ledger back-end must record when
 * a worker finishes a job: the lease ends (no lease_owner) and finished_by
 * names the worker; a retried succeed or fail from that worker, finding its
 * own outcome, is accepted as a no-op, while another worker's is refused
 * and changes nothing; a dead-lettered job names no worker; a retry clears
 * finished_by with the rest of the result.  Part of the conformance suite
 * (ledger_conformance.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger_conformance.h"

static err_code_t lfail(ledger_t *l, const char *b, const char *j, const char *owner,
                        const char *code, err_t *e)
{
    return ledger_fail(l, b, j, 1, owner, JOB_FAILED, code, "it broke", e);
}

/* Checks that (b, j) is in state st, finished by `by` (NULL: nobody), with
 * no lease, and returns its finished_ms. */
static int64_t finished(ledger_t *l, const char *b, const char *j, job_state_t st,
                        const char *by)
{
    ledger_job_t job = lc_get(l, b, j);
    int64_t at = job.finished_ms;
    assert_int_equal(job.state, st);
    assert_null(job.lease_owner);
    if (by)
        assert_string_equal(job.finished_by, by);
    else
        assert_null(job.finished_by);
    ledger_job_free(&job);
    return at;
}

void ledger_conformance_a_finished_job_names_its_worker_not_a_lease(void **state)
{
    ledger_fixture_t *fx = *state;
    ledger_t *l = fx->l;
    const char *ids[] = {"ok", "bad", "dead"};
    ledger_result_t other = lc_result;
    size_t n;
    err_t e;

    lc_add(l, "b1", ids, 3, NULL);
    assert_int_equal(lc_claim(l, "b1", "ok", "w1"), CLAIM_OK);
    ledger_job_t j = lc_get(l, "b1", "ok");
    assert_string_equal(j.lease_owner, "w1");
    assert_null(j.finished_by);
    ledger_job_free(&j);

    /* Succeeded: the lease is gone, the worker named. */
    assert_int_equal(ledger_succeed(l, "b1", "ok", "w1", &lc_result, &e), ERR_OK);
    int64_t at = finished(l, "b1", "ok", JOB_SUCCEEDED, "w1");
    /* The same worker's retried request: a no-op, not a conflict. */
    assert_int_equal(ledger_succeed(l, "b1", "ok", "w1", &lc_result, &e), ERR_OK);
    assert_int_equal(finished(l, "b1", "ok", JOB_SUCCEEDED, "w1"), at);
    /* Another worker, or the same one with another outcome: refused. */
    assert_int_equal(ledger_succeed(l, "b1", "ok", "w2", &lc_result, &e), ERR_CONFLICT);
    other.url = "file:///elsewhere.png";
    assert_int_equal(ledger_succeed(l, "b1", "ok", "w1", &other, &e), ERR_CONFLICT);
    assert_int_equal(lfail(l, "b1", "ok", "w1", "boom", &e), ERR_CONFLICT);
    finished(l, "b1", "ok", JOB_SUCCEEDED, "w1");

    /* Failed by its worker: the same. */
    assert_int_equal(lc_claim(l, "b1", "bad", "w2"), CLAIM_OK);
    assert_int_equal(lfail(l, "b1", "bad", "w2", "boom", &e), ERR_OK);
    finished(l, "b1", "bad", JOB_FAILED, "w2");
    assert_int_equal(lfail(l, "b1", "bad", "w2", "boom", &e), ERR_OK);
    assert_int_equal(lfail(l, "b1", "bad", "w1", "boom", &e), ERR_CONFLICT);
    assert_int_equal(lfail(l, "b1", "bad", "w2", "other", &e), ERR_CONFLICT);
    finished(l, "b1", "bad", JOB_FAILED, "w2");

    /* Dead-lettered while running: no lease left, no worker named. */
    assert_int_equal(lc_claim(l, "b1", "dead", "w3"), CLAIM_OK);
    assert_int_equal(lfail(l, "b1", "dead", NULL, LEDGER_DEAD_LETTER, &e), ERR_OK);
    finished(l, "b1", "dead", JOB_FAILED, NULL);

    /* A retry re-opens the run: nobody has finished it yet. */
    assert_int_equal(ledger_retry(l, "b1", "bad", LEDGER_RETRY_FAILED, &n, &e), ERR_OK);
    assert_int_equal(n, 1);
    j = lc_get(l, "b1", "bad");
    assert_int_equal(j.state, JOB_QUEUED);
    assert_null(j.finished_by);
    assert_null(j.lease_owner);
    ledger_job_free(&j);
}
