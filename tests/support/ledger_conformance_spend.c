/* ledger_conformance_spend — the campaign spend every ledger back-end must
 * record (ledger_ops_t.spend_add / spend_get): once per (campaign, slot),
 * summed per calendar month, and refused over the monthly limit with
 * nothing written.  Part of the conformance suite (ledger_conformance.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ledger_conformance.h"

/* Records (campaign, slot) at usd under limit; returns the result code and
 * fills *added and *total. */
static err_code_t add(ledger_t *l, const char *campaign, const char *slot, double usd,
                      double limit, bool *added, double *total, err_t *e)
{
    char month[8];
    snprintf(month, sizeof month, "%.7s", slot);
    ledger_spend_t s = {.campaign = campaign, .slot = slot, .month = month,
                        .batch_id = "b-spend", .usd = usd, .jobs = 12, .month_limit = limit};
    *added = false;
    *total = -1;
    return ledger_spend_add(l, &s, added, total, e);
}

static double month_of(ledger_t *l, const char *campaign, const char *month)
{
    double usd = -1;
    err_t e;
    if (ledger_spend_get(l, campaign, month, &usd, &e) != ERR_OK)
        fail_msg("spend_get: %s", e.msg);
    return usd;
}

#define NEAR(a, b) assert_true((a) > (b) - 1e-6 && (a) < (b) + 1e-6)

void ledger_conformance_spend_is_recorded_once_per_slot(void **state)
{
    ledger_fixture_t *fx = *state;
    ledger_t *l = fx->l;
    bool added;
    double total;
    err_t e;
    assert_true(ledger_has_spend(l));
    NEAR(month_of(l, "weekly", "2026-11"), 0);
    assert_int_equal(add(l, "weekly", "2026-11-02T09:00:00Z", 1.2, -1, &added, &total, &e),
                     ERR_OK);
    assert_true(added);
    NEAR(total, 1.2);
    /* The same slot again: a timer catching up, a retry. */
    assert_int_equal(add(l, "weekly", "2026-11-02T09:00:00Z", 1.2, -1, &added, &total, &e),
                     ERR_OK);
    assert_false(added);
    NEAR(total, 1.2);
    assert_int_equal(add(l, "weekly", "2026-11-09T09:00:00Z", 0.1, -1, &added, &total, &e),
                     ERR_OK);
    assert_true(added);
    NEAR(total, 1.3);
    NEAR(month_of(l, "weekly", "2026-11"), 1.3);
    /* Months and campaigns are counted apart. */
    assert_int_equal(add(l, "weekly", "2026-12-07T09:00:00Z", 2, -1, &added, &total, &e),
                     ERR_OK);
    NEAR(total, 2);
    assert_int_equal(add(l, "daily", "2026-11-02T09:00:00Z", 0.5, -1, &added, &total, &e),
                     ERR_OK);
    assert_true(added);
    NEAR(month_of(l, "weekly", "2026-11"), 1.3);
    NEAR(month_of(l, "daily", "2026-11"), 0.5);
    NEAR(month_of(l, "daily", "2026-10"), 0);
}

void ledger_conformance_the_monthly_limit_refuses_and_writes_nothing(void **state)
{
    ledger_fixture_t *fx = *state;
    ledger_t *l = fx->l;
    bool added;
    double total;
    err_t e;
    /* $1.20 firings under $3: two fit, the third does not. */
    assert_int_equal(add(l, "w", "2026-11-02T09:00:00Z", 1.2, 3, &added, &total, &e), ERR_OK);
    assert_int_equal(add(l, "w", "2026-11-09T09:00:00Z", 1.2, 3, &added, &total, &e), ERR_OK);
    NEAR(total, 2.4);
    err_clear(&e);
    assert_int_equal(add(l, "w", "2026-11-16T09:00:00Z", 1.2, 3, &added, &total, &e),
                     ERR_TOOBIG);
    assert_false(added);
    assert_non_null(strstr(e.msg, "monthly budget exceeded"));
    assert_non_null(strstr(e.msg, "$2.40 recorded"));
    NEAR(month_of(l, "w", "2026-11"), 2.4);
    /* A slot already recorded is not refused, whatever the limit now. */
    assert_int_equal(add(l, "w", "2026-11-09T09:00:00Z", 1.2, 0, &added, &total, &e), ERR_OK);
    assert_false(added);
    /* Exactly to the limit fits (3 x 0.1 is not quite 0.3 in binary). */
    assert_int_equal(add(l, "w", "2026-11-23T09:00:00Z", 0.6, 3, &added, &total, &e), ERR_OK);
    assert_true(added);
    NEAR(total, 3);
    assert_int_equal(add(l, "x", "2026-11-01T00:00:00Z", 0.1, 0.3, &added, &total, &e), ERR_OK);
    assert_int_equal(add(l, "x", "2026-11-02T00:00:00Z", 0.1, 0.3, &added, &total, &e), ERR_OK);
    assert_int_equal(add(l, "x", "2026-11-03T00:00:00Z", 0.1, 0.3, &added, &total, &e), ERR_OK);
    assert_int_equal(add(l, "x", "2026-11-04T00:00:00Z", 0.1, 0.3, &added, &total, &e),
                     ERR_TOOBIG);
    /* Over the limit on its own, in an empty month. */
    assert_int_equal(add(l, "y", "2026-11-01T00:00:00Z", 5, 3, &added, &total, &e), ERR_TOOBIG);
    NEAR(month_of(l, "y", "2026-11"), 0);
    /* A zero-cost firing always fits, even a zero budget. */
    assert_int_equal(add(l, "z", "2026-11-01T00:00:00Z", 0, 0, &added, &total, &e), ERR_OK);
    assert_true(added);
}

void ledger_conformance_bad_spend_is_refused(void **state)
{
    ledger_fixture_t *fx = *state;
    ledger_t *l = fx->l;
    bool added;
    double total;
    err_t e;
    assert_int_equal(add(l, "", "2026-11-01T00:00:00Z", 1, -1, &added, &total, &e),
                     ERR_INVALID);
    assert_int_equal(add(l, "w", "", 1, -1, &added, &total, &e), ERR_INVALID);
    assert_int_equal(add(l, "w", "2026-11-01T00:00:00Z", -1, -1, &added, &total, &e),
                     ERR_INVALID);
    NEAR(month_of(l, "w", "2026-11"), 0);
}
