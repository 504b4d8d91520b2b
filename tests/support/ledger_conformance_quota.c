/* ledger_conformance_quota — the shared quota buckets every ledger back-end
 * must keep (ledger_ops_t.quota_get / quota_put / quota_list, issue 21): a
 * write is a compare-and-swap on the version, the state reads back byte
 * for byte, and two clients of one bucket never hold the same token.  Part
 * of the conformance suite (ledger_conformance.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ledger_conformance.h"
#include "jobs/quota_bucket.h"
#include "jobs/quota_shared.h"

static const char *const MODEL = "stability.sd3-5-large-v1:0";

void ledger_conformance_quota_put_is_a_compare_and_swap(void **state)
{
    ledger_fixture_t *fx = *state;
    ledger_quota_t q;
    err_t e;

    err_clear(&e);
    assert_true(ledger_has_quota(fx->l));
    assert_int_equal(ledger_quota_get(fx->l, MODEL, &q, &e), ERR_NOTFOUND);
    assert_int_equal(ledger_quota_put(fx->l, MODEL, 0, "{\"a\":1}", 1000, &e), ERR_OK);
    /* A second first write lost the race: the bucket is there. */
    assert_int_equal(ledger_quota_put(fx->l, MODEL, 0, "{\"b\":2}", 1001, &e), ERR_CONFLICT);
    assert_int_equal(ledger_quota_get(fx->l, MODEL, &q, &e), ERR_OK);
    assert_string_equal(q.key, MODEL);
    assert_int_equal(q.version, 1);
    assert_string_equal(q.state, "{\"a\":1}");
    assert_int_equal(q.updated_ms, 1000);
    ledger_quota_free(&q);
    assert_int_equal(ledger_quota_put(fx->l, MODEL, 1, "{\"c\":3}", 1002, &e), ERR_OK);
    /* A writer that read version 1 is too late now, and changes nothing. */
    assert_int_equal(ledger_quota_put(fx->l, MODEL, 1, "{\"d\":4}", 1003, &e), ERR_CONFLICT);
    assert_int_equal(ledger_quota_put(fx->l, MODEL, 7, "{\"d\":4}", 1003, &e), ERR_CONFLICT);
    assert_int_equal(ledger_quota_get(fx->l, MODEL, &q, &e), ERR_OK);
    assert_int_equal(q.version, 2);
    assert_string_equal(q.state, "{\"c\":3}");
    ledger_quota_free(&q);
}

void ledger_conformance_quota_buckets_are_listed_by_key(void **state)
{
    ledger_fixture_t *fx = *state;
    ledger_quota_t *v = NULL;
    size_t n = 9;
    err_t e;

    err_clear(&e);
    assert_int_equal(ledger_quota_list(fx->l, &v, &n, &e), ERR_OK);
    assert_int_equal(n, 0);
    assert_null(v);
    assert_int_equal(ledger_quota_put(fx->l, "m-b", 0, "{}", 5, &e), ERR_OK);
    assert_int_equal(ledger_quota_put(fx->l, "m-a", 0, "{\"x\":1}", 6, &e), ERR_OK);
    assert_int_equal(ledger_quota_list(fx->l, &v, &n, &e), ERR_OK);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].key, "m-a");
    assert_string_equal(v[0].state, "{\"x\":1}");
    assert_string_equal(v[1].key, "m-b");
    assert_int_equal(v[1].version, 1);
    ledger_quotas_free(v, n);
}

void ledger_conformance_bad_quota_writes_are_refused(void **state)
{
    ledger_fixture_t *fx = *state;
    ledger_quota_t q;
    err_t e;
    char *big = malloc(LEDGER_QUOTA_STATE_MAX + 2);
    assert_non_null(big);
    memset(big, 'x', LEDGER_QUOTA_STATE_MAX + 1);
    big[LEDGER_QUOTA_STATE_MAX + 1] = '\0';

    err_clear(&e);
    assert_int_equal(ledger_quota_put(fx->l, "", 0, "{}", 1, &e), ERR_INVALID);
    assert_int_equal(ledger_quota_put(fx->l, MODEL, 0, "", 1, &e), ERR_INVALID);
    assert_int_equal(ledger_quota_put(fx->l, MODEL, 0, big, 1, &e), ERR_INVALID);
    assert_int_equal(ledger_quota_get(fx->l, "", &q, &e), ERR_INVALID);
    assert_int_equal(ledger_quota_get(fx->l, MODEL, &q, &e), ERR_NOTFOUND);
    free(big);
}

static int64_t fake_now;
static int64_t fake_clock(void *ud) { (void)ud; return fake_now; }

void ledger_conformance_two_clients_never_hold_the_same_token(void **state)
{
    ledger_fixture_t *fx = *state;
    err_t e;
    /* 600 a minute: grants of 5, a bucket of 6 at most, 5 to start. */
    fake_now = 1700000000000;
    quota_shared_t *a = quota_shared_new(fx->l, MODEL, 600, "worker-a", fake_clock, NULL);
    quota_shared_t *b = quota_shared_new(fx->l, MODEL, 600, "worker-b", fake_clock, NULL);
    assert_non_null(a);
    assert_non_null(b);
    err_clear(&e);
    int got_a = 0;
    while (quota_shared_try(a, 8, &e) == 0)
        got_a++;
    assert_int_equal(e.code, ERR_OK);
    assert_int_equal(got_a, 5);
    /* b finds the bucket empty, and says how long until a grant is there. */
    int64_t wait = quota_shared_try(b, 8, &e);
    /* 5 tokens at 9.7 a second: 516 ms, and up to half as long again of
     * jitter, so that waiting workers do not all come back at once. */
    assert_true(wait >= 516 && wait <= 516 + 259);
    /* Half a second later (4.85 earned), not yet 5. */
    fake_now += 500;
    assert_true(quota_shared_try(b, 8, &e) > 0);
    fake_now += wait - 500;
    assert_int_equal(quota_shared_try(b, 8, &e), 0);
    quota_shared_stats_t st;
    quota_shared_stats(b, &st);
    assert_int_equal(st.granted, 5);
    assert_int_equal(st.pool, 4);
    assert_true(st.rate > 580 && st.rate <= 600 * QUOTA_HEADROOM + 1e-9);
    quota_shared_free(a);
    quota_shared_free(b);
}
