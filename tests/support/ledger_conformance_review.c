/* ledger_conformance_review — the review marks and lineage every ledger
 * back-end must keep (ledger_ops_t.review / reviews / link, issue 20): a
 * mark only on a succeeded job, the latest one winning, with who and when;
 * lineage readable from both ends and idempotent.  Part of the
 * conformance suite (ledger_conformance.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "ledger_conformance.h"

/* Adds a, b, c to batch b1 and makes a succeeded. */
static void three_jobs(ledger_t *l)
{
    static const char *const ids[] = {"a", "b", "c"};
    err_t e;
    lc_add(l, "b1", ids, 3, NULL);
    assert_int_equal(lc_claim(l, "b1", "a", "w1"), CLAIM_OK);
    assert_int_equal(ledger_succeed(l, "b1", "a", "w1", &lc_result, &e), ERR_OK);
}

void ledger_conformance_only_a_succeeded_job_takes_a_mark(void **state)
{
    ledger_fixture_t *fx = *state;
    ledger_t *l = fx->l;
    ledger_review_t *r = NULL;
    size_t n = 0;
    err_t e;

    assert_true(ledger_has_review(l));
    three_jobs(l);
    assert_int_equal(ledger_reviews(l, "b1", NULL, &r, &n, &e), ERR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(ledger_review(l, "b1", "b", LEDGER_APPROVED, "ann", 1000, &e),
                     ERR_CONFLICT);
    assert_non_null(strstr(e.msg, "queued"));
    assert_int_equal(lc_claim(l, "b1", "c", "w1"), CLAIM_OK);
    assert_int_equal(ledger_review(l, "b1", "c", LEDGER_REJECTED, "ann", 1000, &e),
                     ERR_CONFLICT);
    assert_non_null(strstr(e.msg, "running"));
    assert_int_equal(ledger_review(l, "b1", "nope", LEDGER_APPROVED, "ann", 1000, &e),
                     ERR_NOTFOUND);
    assert_int_equal(ledger_review(l, "b9", "a", LEDGER_APPROVED, "ann", 1000, &e),
                     ERR_NOTFOUND);
    assert_int_equal(ledger_review(l, "b1", "a", "maybe", "ann", 1000, &e), ERR_INVALID);
    assert_int_equal(ledger_review(l, "b1", "a", LEDGER_APPROVED, "", 1000, &e), ERR_INVALID);
    /* Nothing refused left a mark. */
    assert_int_equal(ledger_reviews(l, "b1", NULL, &r, &n, &e), ERR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(ledger_review(l, "b1", "a", LEDGER_APPROVED, "ann@host", 1796000000123,
                                   &e), ERR_OK);
    assert_int_equal(ledger_reviews(l, "b1", NULL, &r, &n, &e), ERR_OK);
    assert_int_equal(n, 1);
    assert_string_equal(r[0].batch_id, "b1");
    assert_string_equal(r[0].job_id, "a");
    assert_string_equal(r[0].state, LEDGER_APPROVED);
    assert_string_equal(r[0].by, "ann@host");
    assert_int_equal(r[0].at_ms, 1796000000123);
    assert_null(r[0].promoted_from);
    assert_int_equal(r[0].npromoted_to, 0);
    assert_ptr_equal(ledger_review_find(r, n, "a"), &r[0]);
    assert_null(ledger_review_find(r, n, "b"));
    ledger_reviews_free(r, n);
}

void ledger_conformance_the_latest_mark_wins(void **state)
{
    ledger_fixture_t *fx = *state;
    ledger_t *l = fx->l;
    ledger_review_t *r = NULL;
    size_t n = 0;
    err_t e;

    three_jobs(l);
    assert_int_equal(ledger_review(l, "b1", "a", LEDGER_APPROVED, "ann", 1000, &e), ERR_OK);
    assert_int_equal(ledger_review(l, "b1", "a", LEDGER_REJECTED, "bob", 2000, &e), ERR_OK);
    assert_int_equal(ledger_reviews(l, "b1", "a", &r, &n, &e), ERR_OK);
    assert_int_equal(n, 1);
    assert_string_equal(r[0].state, LEDGER_REJECTED);
    assert_string_equal(r[0].by, "bob");
    assert_int_equal(r[0].at_ms, 2000);
    ledger_reviews_free(r, n);
    /* One job asked for: another job's mark is not returned. */
    assert_int_equal(ledger_reviews(l, "b1", "b", &r, &n, &e), ERR_OK);
    assert_int_equal(n, 0);
}

void ledger_conformance_lineage_reads_both_ways_once(void **state)
{
    ledger_fixture_t *fx = *state;
    ledger_t *l = fx->l;
    static const char *const to[] = {"x", "y"};
    ledger_review_t *r = NULL;
    size_t n = 0;
    err_t e;

    three_jobs(l);
    lc_add(l, "p1", to, 2, NULL);
    lc_add(l, "p2", to, 1, NULL);
    for (int i = 0; i < 2; i++) /* twice: the second changes nothing */
        assert_int_equal(ledger_link(l, "b1", "a", "p1", "x", &e), ERR_OK);
    assert_int_equal(ledger_link(l, "b1", "a", "p2", "x", &e), ERR_OK);
    assert_int_equal(ledger_link(l, "b1", "b", "p1", "y", &e), ERR_OK);
    assert_int_equal(ledger_link(l, "b1", "nope", "p1", "y", &e), ERR_NOTFOUND);
    assert_int_equal(ledger_link(l, "b1", "a", "p1", "nope", &e), ERR_NOTFOUND);

    assert_int_equal(ledger_reviews(l, "b1", NULL, &r, &n, &e), ERR_OK);
    assert_int_equal(n, 2);
    assert_string_equal(r[0].job_id, "a");
    assert_null(r[0].state);
    assert_int_equal(r[0].npromoted_to, 2);
    assert_string_equal(r[0].promoted_to[0], "p1/x");
    assert_string_equal(r[0].promoted_to[1], "p2/x");
    assert_string_equal(r[1].job_id, "b");
    assert_int_equal(r[1].npromoted_to, 1);
    assert_string_equal(r[1].promoted_to[0], "p1/y");
    ledger_reviews_free(r, n);

    assert_int_equal(ledger_reviews(l, "p1", NULL, &r, &n, &e), ERR_OK);
    assert_int_equal(n, 2);
    assert_string_equal(r[0].job_id, "x");
    assert_string_equal(r[0].promoted_from, "b1/a");
    assert_string_equal(r[1].job_id, "y");
    assert_string_equal(r[1].promoted_from, "b1/b");
    assert_int_equal(r[1].npromoted_to, 0);
    ledger_reviews_free(r, n);

    /* A mark and lineage on one job come back together. */
    assert_int_equal(ledger_review(l, "b1", "a", LEDGER_APPROVED, "ann", 5, &e), ERR_OK);
    assert_int_equal(ledger_reviews(l, "b1", "a", &r, &n, &e), ERR_OK);
    assert_int_equal(n, 1);
    assert_string_equal(r[0].state, LEDGER_APPROVED);
    assert_int_equal(r[0].npromoted_to, 2);
    ledger_reviews_free(r, n);
}
