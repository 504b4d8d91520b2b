/* Tests for promote (issue 20, item 3) on the embedded back-ends: the plan
 * refuses bad input with nothing written, copies each chosen proof's
 * recorded spec with the model replaced and its seed pinned, derives one
 * batch id from the selection, and a second promotion of the same
 * selection finds nothing new; seeds are folded into a smaller range. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "review/promote.h"
#include "testutil.h"

#define CORE "stability.stable-image-core-v1:1"

typedef struct {
    char *dir;
    ledger_t *l;
    queue_t *q;
    cost_table_t *prices;
} fx_t;

static void succeed(ledger_t *l, const char *batch, const char *job, int64_t seed)
{
    ledger_claim_t c;
    ledger_result_t r = {.url = "file:///x", .store_key = "k", .sha256 = "00",
                         .model = "draft", .seed = seed};
    err_t e;
    assert_int_equal(ledger_claim(l, batch, job, 1, "w", 30, &c, &e), ERR_OK);
    assert_int_equal(c, CLAIM_OK);
    assert_int_equal(ledger_succeed(l, batch, job, "w", &r, &e), ERR_OK);
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    char url[600];
    err_t e;
    f->dir = tu_mkdtemp();
    snprintf(url, sizeof url, "sqlite:%s/onesheet.db", f->dir);
    assert_non_null(f->l = ledger_open(url, &e));
    assert_non_null(f->q = queue_open(url, &e));
    assert_int_equal(cost_table_builtin(&f->prices, &e), ERR_OK);
    /* b1: ja and jb succeeded (ja's spec names its seed, jb's does not:
     * the seed it was drawn with is the recorded one), jc queued. */
    ledger_new_job_t jobs[] = {
        {"ja", "{\"prompt\":\"one\",\"model\":\"draft\",\"seed\":77,\"title\":\"T\","
               "\"layout\":\"bold\",\"variants\":2,\"variant\":1,\"variant_of\":\"jp\"}", 1},
        {"jb", "{\"id\":\"client-b\",\"prompt\":\"two\",\"model\":\"draft\",\"tags\":{\"sku\":\"A\"}}", 2},
        {"jc", "{\"prompt\":\"three\",\"model\":\"draft\"}", 3},
    };
    bool created;
    size_t added;
    assert_int_equal(ledger_add_batch(f->l, "b1", "t", jobs, 3, &created, &added, &e), ERR_OK);
    succeed(f->l, "b1", "ja", 77);
    succeed(f->l, "b1", "jb", 4000000000LL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    ledger_close(f->l);
    queue_close(f->q);
    cost_table_free(f->prices);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static size_t batches(fx_t *f)
{
    ledger_batch_t *b = NULL;
    size_t n = 0;
    err_t e;
    assert_int_equal(ledger_list_batches(f->l, 0, &b, &n, &e), ERR_OK);
    ledger_batches_free(b, n);
    return n;
}

static err_code_t plan(fx_t *f, const char *batch, const char *model, bool only_approved,
                       double budget, promote_plan_t *p, err_t *e)
{
    promote_opts_t o = {.batch_id = batch, .model = model, .only_approved = only_approved,
                        .budget_usd = budget};
    err_clear(e);
    return promote_plan(f->l, &o, f->prices, p, e);
}

static void bad_input_is_refused_naming_the_field(void **state)
{
    fx_t *f = *state;
    promote_plan_t p;
    err_t e;

    assert_int_equal(plan(f, "b1", "stability.nope-v9", false, -1, &p, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "model: unknown model"));
    promote_plan_free(&p);
    assert_int_equal(plan(f, "b1", "amazon.titan-image-generator-v2:0", false, -1, &p, &e),
                     ERR_INVALID);
    assert_non_null(strstr(e.msg, "retired"));
    promote_plan_free(&p);
    assert_int_equal(plan(f, "b1", "", false, -1, &p, &e), ERR_INVALID);
    promote_plan_free(&p);
    assert_int_equal(plan(f, "b1", CORE, true, -1, &p, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "only: batch b1 has no approved job"));
    promote_plan_free(&p);
    assert_int_equal(plan(f, "nope", CORE, false, -1, &p, &e), ERR_NOTFOUND);
    promote_plan_free(&p);
    assert_int_equal(plan(f, "../x", CORE, false, -1, &p, &e), ERR_INVALID);
    promote_plan_free(&p);
    assert_int_equal(plan(f, "b1", CORE, false, 0.05, &p, &e), ERR_TOOBIG);
    assert_non_null(strstr(e.msg, "budget_usd: the estimate $0.08 for 2 posters"));
    promote_plan_free(&p);
    assert_int_equal(batches(f), 1);
}

static void the_plan_copies_the_spec_and_pins_the_seed(void **state)
{
    fx_t *f = *state;
    promote_plan_t p, again;
    submit_result_t res;
    err_t e;
    buf_t j = BUF_INIT;

    assert_int_equal(plan(f, "b1", CORE, false, 1, &p, &e), ERR_OK);
    assert_int_equal(p.selected, 2);
    assert_int_equal(p.b.nitems, 2);
    assert_int_equal(p.b.batch_id[0], 'p');
    assert_true(p.usd > 0.079 && p.usd < 0.081);
    assert_string_equal(p.from[0], "ja");
    assert_string_equal(p.from[1], "jb");
    assert_int_equal(job_spec_to_json_with_id(&p.b.items[0].spec, &j), ERR_OK);
    assert_string_equal((char *)j.data,
                        "{\"prompt\":\"one\",\"model\":\"" CORE "\",\"aspect_ratio\":\"2:3\","
                        "\"seed\":77,\"output_format\":\"png\",\"title\":\"T\",\"layout\":"
                        "\"bold\",\"variants\":2,\"variant\":1,\"variant_of\":\"jp\"}");
    buf_free(&j);
    /* No seed in the spec: the one the proof was drawn with; the client id
     * is dropped so the promoted job has its own. */
    assert_int_equal(p.b.items[1].spec.seed, 4000000000LL);
    assert_null(p.b.items[1].spec.id);
    assert_string_equal(p.b.items[1].spec.tags_json, "{\"sku\":\"A\"}");
    assert_int_equal(p.seeds_mapped, 0);

    assert_int_equal(promote_commit(f->q, f->l, &p, &res, &e), ERR_OK);
    assert_int_equal(res.added, 2);
    assert_int_equal(res.sent, 2);
    assert_int_equal(batches(f), 2);

    /* Again: every selected job is on CORE already. */
    assert_int_equal(plan(f, "b1", CORE, false, -1, &again, &e), ERR_OK);
    assert_int_equal(again.selected, 2);
    assert_int_equal(again.already, 2);
    assert_int_equal(again.b.nitems, 0);
    assert_string_equal(again.already_batch, p.b.batch_id);
    promote_plan_free(&again);
    /* A commit repeated after a crash changes nothing either. */
    assert_int_equal(promote_commit(f->q, f->l, &p, &res, &e), ERR_OK);
    assert_int_equal(res.added, 0);
    assert_int_equal(res.sent, 0);

    ledger_review_t *r = NULL;
    size_t n = 0;
    assert_int_equal(ledger_reviews(f->l, p.b.batch_id, NULL, &r, &n, &e), ERR_OK);
    assert_int_equal(n, 2);
    assert_non_null(r[0].promoted_from);
    ledger_reviews_free(r, n);
    promote_plan_free(&p);
}

static void approved_only_takes_the_approved(void **state)
{
    fx_t *f = *state;
    promote_plan_t p, other;
    err_t e;

    assert_int_equal(ledger_review(f->l, "b1", "jb", LEDGER_APPROVED, "ann", 1, &e), ERR_OK);
    assert_int_equal(plan(f, "b1", CORE, true, -1, &p, &e), ERR_OK);
    assert_int_equal(p.selected, 1);
    assert_string_equal(p.from[0], "jb");
    /* Another selection or model is another batch. */
    assert_int_equal(plan(f, "b1", "stability.sd3-5-large-v1:0", true, -1, &other, &e), ERR_OK);
    assert_string_not_equal(p.b.batch_id, other.b.batch_id);
    assert_true(other.usd > p.usd);
    promote_plan_free(&other);
    assert_int_equal(plan(f, "b1", CORE, false, -1, &other, &e), ERR_OK);
    assert_string_not_equal(p.b.batch_id, other.b.batch_id);
    promote_plan_free(&other);
    promote_plan_free(&p);
}

static void seeds_fold_into_a_smaller_range(void **state)
{
    bool mapped;
    (void)state;
    assert_int_equal(promote_map_seed(42, 4294967294LL, &mapped), 42);
    assert_false(mapped);
    assert_int_equal(promote_map_seed(4294967294LL, 4294967294LL, &mapped), 4294967294LL);
    assert_false(mapped);
    assert_int_equal(promote_map_seed(4000000000LL, 2147483646LL, &mapped),
                     4000000000LL % 2147483647LL);
    assert_true(mapped);
    assert_int_equal(promote_map_seed(2147483647LL, 2147483646LL, &mapped), 0);
    assert_true(mapped);
    assert_int_equal(promote_map_seed(-5, 10, &mapped), 0);
    assert_false(mapped);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(bad_input_is_refused_naming_the_field, setup, teardown),
        cmocka_unit_test_setup_teardown(the_plan_copies_the_spec_and_pins_the_seed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(approved_only_takes_the_approved, setup, teardown),
        cmocka_unit_test(seeds_fold_into_a_smaller_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
