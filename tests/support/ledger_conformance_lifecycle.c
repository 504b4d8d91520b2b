/* ledger_conformance_lifecycle — issue 23: a finished job records the
 * lifecycle of its model as Bedrock listed it (ACTIVE, LEGACY:YYYY-MM-DD,
 * unlisted) in the same conditional update that finishes it, on success
 * and on failure; a finish without one (a local engine, an older worker)
 * reads back as absent; a retry clears it with the rest of the run; and a
 * write by a worker that lost the lease records nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "ledger_conformance.h"

void ledger_conformance_a_finish_records_the_model_lifecycle(void **state)
{
    ledger_fixture_t *fx = *state;
    const char *ids[] = {"j1", "j2", "j3", "j4", "j5"};
    size_t n;
    err_t e;

    lc_add(fx->l, "b1", ids, 5, NULL);

    ledger_result_t r = lc_result;
    r.model_lifecycle = "LEGACY:2027-01-31";
    assert_int_equal(lc_claim(fx->l, "b1", "j1", "w1"), CLAIM_OK);
    assert_int_equal(ledger_succeed(fx->l, "b1", "j1", "w1", &r, &e), ERR_OK);
    ledger_job_t j = lc_get(fx->l, "b1", "j1");
    assert_int_equal(j.state, JOB_SUCCEEDED);
    assert_string_equal(j.model_lifecycle, "LEGACY:2027-01-31");
    ledger_job_free(&j);

    /* A job whose model has gone fails for good with it said (a back-end
     * without fail_lifecycle would read back NULL here). */
    assert_int_equal(lc_claim(fx->l, "b1", "j2", "w1"), CLAIM_OK);
    assert_int_equal(ledger_fail_lifecycle(fx->l, "b1", "j2", 1, "w1", JOB_FAILED,
                                           "model_retired", "model has reached end of life",
                                           "unlisted", &e), ERR_OK);
    j = lc_get(fx->l, "b1", "j2");
    assert_int_equal(j.state, JOB_FAILED);
    assert_string_equal(j.error_code, "model_retired");
    assert_string_equal(j.model_lifecycle, "unlisted");
    ledger_job_free(&j);

    /* Not known: absent, on both paths. */
    assert_int_equal(lc_claim(fx->l, "b1", "j3", "w1"), CLAIM_OK);
    assert_int_equal(ledger_succeed(fx->l, "b1", "j3", "w1", &lc_result, &e), ERR_OK);
    j = lc_get(fx->l, "b1", "j3");
    assert_null(j.model_lifecycle);
    ledger_job_free(&j);
    assert_int_equal(lc_claim(fx->l, "b1", "j4", "w1"), CLAIM_OK);
    assert_int_equal(ledger_fail(fx->l, "b1", "j4", 1, "w1", JOB_FAILED, "x", "y", &e),
                     ERR_OK);
    j = lc_get(fx->l, "b1", "j4");
    assert_null(j.model_lifecycle);
    ledger_job_free(&j);

    /* A worker that does not hold the lease changes nothing. */
    assert_int_equal(lc_claim(fx->l, "b1", "j5", "w1"), CLAIM_OK);
    assert_int_equal(ledger_fail_lifecycle(fx->l, "b1", "j5", 1, "w2", JOB_FAILED, "x", "y",
                                           "ACTIVE", &e), ERR_CONFLICT);
    j = lc_get(fx->l, "b1", "j5");
    assert_int_equal(j.state, JOB_RUNNING);
    assert_null(j.model_lifecycle);
    ledger_job_free(&j);
    /* The dead-letter path (no owner) records it too. */
    assert_int_equal(ledger_fail_lifecycle(fx->l, "b1", "j5", 1, NULL, JOB_FAILED,
                                           LEDGER_DEAD_LETTER, "dead", "ACTIVE", &e), ERR_OK);
    j = lc_get(fx->l, "b1", "j5");
    assert_string_equal(j.model_lifecycle, "ACTIVE");
    ledger_job_free(&j);

    /* A retry opens a new run: the old run's lifecycle goes with its result. */
    assert_int_equal(ledger_retry(fx->l, "b1", "j2", LEDGER_RETRY_FAILED, &n, &e), ERR_OK);
    assert_int_equal(n, 1);
    j = lc_get(fx->l, "b1", "j2");
    assert_int_equal(j.state, JOB_QUEUED);
    assert_null(j.model_lifecycle);
    ledger_job_free(&j);
}
