/* Tests for the price table (cost.c): defaults, editing, profiles, and the
 * errors a bad table gives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/cost.h"
#include "testutil.h"

static const char *no_env(const char *name) { (void)name; return NULL; }

static void builtin_prices_match_the_list_and_draft_is_free(void **state)
{
    cost_table_t *t;
    double p;
    err_t e;
    assert_int_equal(cost_table_builtin(&t, &e), ERR_OK);
    assert_int_equal(cost_price(t, "draft", &p, &e), ERR_OK);
    assert_true(p == 0.0);
    assert_int_equal(cost_price(t, "stability.sd3-5-large-v1:0", &p, &e), ERR_OK);
    assert_true(p == 0.08);
    assert_int_equal(cost_price(t, "stability.stable-image-ultra-v1:1", &p, &e), ERR_OK);
    assert_true(p == 0.14);
    cost_table_free(t);
}

static void inference_profiles_use_their_model_price(void **state)
{
    cost_table_t *t;
    double p;
    err_t e;
    assert_int_equal(cost_table_builtin(&t, &e), ERR_OK);
    assert_int_equal(cost_price(t, "us.stability.stable-image-core-v1:1", &p, &e), ERR_OK);
    assert_true(p == 0.04);
    assert_int_equal(cost_price(t, "amazon.nova-canvas-v1:0", &p, &e), ERR_NOTFOUND);
    assert_non_null(strstr(e.msg, "amazon.nova-canvas-v1:0"));
    assert_non_null(strstr(e.msg, "built-in"));
    cost_table_free(t);
}

static void the_shipped_table_parses_and_agrees_with_the_builtin(void **state)
{
    char path[4096];
    cost_table_t *t, *b;
    double p, q;
    err_t e;
    snprintf(path, sizeof path, "%s/../../schema/prices.json", tu_fixture(""));
    assert_int_equal(cost_table_load(path, &t, &e), ERR_OK);
    assert_int_equal(cost_table_builtin(&b, &e), ERR_OK);
    const char *models[] = {"draft", "stability.sd3-5-large-v1:0",
                            "stability.stable-image-core-v1:1",
                            "stability.stable-image-ultra-v1:1"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(cost_price(t, models[i], &p, &e), ERR_OK);
        assert_int_equal(cost_price(b, models[i], &q, &e), ERR_OK);
        assert_true(p == q);
    }
    cost_table_free(t);
    cost_table_free(b);
}

static const char *env_prices;
static const char *fake_env(const char *name)
{
    return strcmp(name, "ONESHEET_PRICES") == 0 ? env_prices : NULL;
}

static void onesheet_prices_overrides_and_must_exist(void **state)
{
    char *dir = tu_mkdtemp(), path[4096];
    cost_table_t *t;
    double p;
    err_t e;
    snprintf(path, sizeof path, "%s/p.json", dir);
    tu_write_file(path, "{\"currency\":\"USD\",\"per_image\":{\"draft\":0.5}}");
    env_prices = path;
    assert_int_equal(cost_table_default(fake_env, &t, &e), ERR_OK);
    assert_string_equal(cost_table_source(t), path);
    assert_int_equal(cost_price(t, "draft", &p, &e), ERR_OK);
    assert_true(p == 0.5);
    cost_table_free(t);
    env_prices = "/nonexistent/prices.json";
    assert_int_equal(cost_table_default(fake_env, &t, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "ONESHEET_PRICES"));
    assert_int_equal(cost_table_default(no_env, &t, &e), ERR_OK);
    cost_table_free(t);
    tu_rmtree(dir);
    free(dir);
}

static void bad_tables_name_the_field(void **state)
{
    static const struct { const char *json, *needle; } cases[] = {
        {"[]", "JSON object"},
        {"{\"per_image\":{\"draft\":-1}}", "per_image.draft"},
        {"{\"per_image\":{\"x\":\"0.1\"}}", "per_image.x"},
        {"{\"per_image\":{\"x\":1000}}", "between 0 and 100"},
        {"{\"currency\":\"EUR\",\"per_image\":{}}", "currency"},
        {"{\"per_image\":{},\"extra\":1}", "extra: unknown field"},
        {"{\"currency\":\"USD\"}", "per_image"},
        {"{\"per_image\":{\"a\":1,\"a\":2}}", "prices.json:1"},
        {"{", "prices.json:1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cost_table_t *t = NULL;
        err_t e;
        err_clear(&e);
        if (cost_table_parse("prices.json", cases[i].json, strlen(cases[i].json), &t, &e) !=
            ERR_INVALID)
            fail_msg("accepted %s", cases[i].json);
        assert_null(t);
        if (!strstr(e.msg, cases[i].needle))
            fail_msg("%s: \"%s\" lacks \"%s\"", cases[i].json, e.msg, cases[i].needle);
    }
}

static void formatting_rounds_up_to_the_cent(void **state)
{
    char b[32];
    assert_string_equal(cost_format(0, b, sizeof b), "$0.00");
    assert_string_equal(cost_format(0.04 * 3, b, sizeof b), "$0.12");
    assert_string_equal(cost_format(0.012, b, sizeof b), "$0.02");
    assert_string_equal(cost_format(5, b, sizeof b), "$5.00");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(builtin_prices_match_the_list_and_draft_is_free),
        cmocka_unit_test(inference_profiles_use_their_model_price),
        cmocka_unit_test(the_shipped_table_parses_and_agrees_with_the_builtin),
        cmocka_unit_test(onesheet_prices_overrides_and_must_exist),
        cmocka_unit_test(bad_tables_name_the_field),
        cmocka_unit_test(formatting_rounds_up_to_the_cent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
