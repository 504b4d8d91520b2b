/* ledger_conformance_checksum — issue 21: a success records the checksum
 * the poster was stored with (algorithm and value) and where the art is;
 * a success without them (an older worker) reads them back as absent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "ledger_conformance.h"

void ledger_conformance_success_records_the_checksum_and_the_art(void **state)
{
    ledger_fixture_t *fx = *state;
    const char *ids[] = {"j1", "j2"};
    err_t e;
    lc_add(fx->l, "b1", ids, 2, NULL);
    ledger_result_t r = lc_result;
    r.sha256 = NULL;
    r.checksum_alg = "crc64nvme";
    r.checksum = "rosUhgp5mIg=";
    r.art_key = "b1/j1.png";   /* the poster is the art */
    assert_int_equal(lc_claim(fx->l, "b1", "j1", "w1"), CLAIM_OK);
    assert_int_equal(ledger_succeed(fx->l, "b1", "j1", "w1", &r, &e), ERR_OK);
    ledger_job_t j = lc_get(fx->l, "b1", "j1");
    assert_string_equal(j.checksum_alg, "crc64nvme");
    assert_string_equal(j.checksum, "rosUhgp5mIg=");
    assert_string_equal(j.art_key, "b1/j1.png");
    assert_null(j.sha256);
    ledger_job_free(&j);

    assert_int_equal(lc_claim(fx->l, "b1", "j2", "w1"), CLAIM_OK);
    assert_int_equal(ledger_succeed(fx->l, "b1", "j2", "w1", &lc_result, &e), ERR_OK);
    j = lc_get(fx->l, "b1", "j2");
    assert_null(j.checksum_alg);
    assert_null(j.checksum);
    assert_null(j.art_key);
    assert_string_equal(j.sha256, lc_result.sha256);
    ledger_job_free(&j);
}
