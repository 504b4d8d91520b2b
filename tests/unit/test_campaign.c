/* Tests for campaigns (campaign*.c): template expansion, sampling with a
 * seed, errors naming the file and field, one firing per slot, budgets,
 * and the systemd units (the webhook signature is test_webhook.c's). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign/campaign.h"
#include "campaign_fixture.h"
#include "testutil.h"

typedef campaign_fx_t fx_t;

static int setup(void **state)
{
    *state = campaign_fx_new("{\"per_image\":{\"draft\":0,\"m.ten-cents\":0.1}}");
    return 0;
}

static int teardown(void **state)
{
    campaign_fx_free(*state);
    return 0;
}

static void parse_ok(const char *json, campaign_t *c) { campaign_fx_parse(json, c); }

static int64_t slot_of(const char *iso) { return campaign_fx_slot(iso); }

#define TWELVE "{\"name\":\"t\",\"schedule\":\"daily\",\"templates\":[\"A {g} poster, " \
               "{noir|neon|pastel}\"],\"variables\":{\"g\":[\"heist\",\"horror\",\"romance\"," \
               "\"western\"]}"

static void cartesian_expansion_counts_every_combination_in_order(void **state)
{
    campaign_t c;
    char **v;
    size_t n;
    uint64_t total;
    err_t e;
    parse_ok(TWELVE ",\"prompts\":[\"first\"]}", &c);
    assert_int_equal(campaign_candidates(&c, &total, &e), ERR_OK);
    assert_int_equal(total, 13);
    assert_int_equal(campaign_expand(&c, 0, &v, &n, &e), ERR_OK);
    assert_int_equal(n, 13);
    assert_string_equal(v[0], "first");
    assert_string_equal(v[1], "A heist poster, noir");
    assert_string_equal(v[2], "A heist poster, neon");
    assert_string_equal(v[4], "A horror poster, noir");
    assert_string_equal(v[12], "A western poster, pastel");
    campaign_strings_free(v, n);
    campaign_free(&c);
    parse_ok(TWELVE ",\"count\":5}", &c);
    assert_int_equal(campaign_expand(&c, 0, &v, &n, &e), ERR_OK);
    assert_int_equal(n, 5);
    campaign_strings_free(v, n);
    campaign_free(&c);
}

static void literal_braces_are_written_doubled(void **state)
{
    campaign_t c;
    char **v;
    size_t n;
    err_t e;
    parse_ok("{\"name\":\"t\",\"schedule\":\"daily\",\"templates\":[\"{{x}} {a|b}\"]}", &c);
    assert_int_equal(campaign_expand(&c, 0, &v, &n, &e), ERR_OK);
    assert_int_equal(n, 2);
    assert_string_equal(v[0], "{x} a");
    campaign_strings_free(v, n);
    campaign_free(&c);
}

static char *joined(const campaign_t *c, int64_t slot)
{
    char **v;
    size_t n;
    err_t e;
    buf_t b = BUF_INIT;
    assert_int_equal(campaign_expand(c, slot, &v, &n, &e), ERR_OK);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++)
        buf_appendf(&b, "%s\n", v[i]);
    campaign_strings_free(v, n);
    return buf_steal(&b);
}

static void sampling_is_deterministic_for_a_seed_and_slot(void **state)
{
    campaign_t a, b, other;
    parse_ok(TWELVE ",\"count\":4,\"expansion\":{\"mode\":\"sample\",\"seed\":7}}", &a);
    parse_ok(TWELVE ",\"count\":4,\"expansion\":{\"mode\":\"sample\",\"seed\":7}}", &b);
    parse_ok(TWELVE ",\"count\":4,\"expansion\":{\"mode\":\"sample\",\"seed\":8}}", &other);
    int64_t s1 = slot_of("2026-11-30T00:00:00Z"), s2 = slot_of("2026-12-01T00:00:00Z");
    char *x = joined(&a, s1), *y = joined(&b, s1), *z = joined(&other, s1),
         *w = joined(&a, s2);
    assert_string_equal(x, y);
    assert_string_not_equal(x, z);
    assert_string_not_equal(x, w);
    /* distinct prompts */
    char *p = x;
    for (int i = 0; i < 4; i++) {
        char *nl = strchr(p, '\n');
        *nl = '\0';
        assert_null(strstr(nl + 1, p));
        *nl = '\n';
        p = nl + 1;
    }
    free(x);
    free(y);
    free(z);
    free(w);
    campaign_free(&a);
    campaign_free(&b);
    campaign_free(&other);
}

static void bad_campaign_files_name_the_file_and_field(void **state)
{
    static const struct { const char *file, *needle; } cases[] = {
        {"unknown_variable.json", "templates[0]: unknown variable {genre}"},
        {"unclosed_brace.json", "templates[0]: unclosed '{'"},
        {"empty_slot.json", "templates[0]: empty slot"},
        {"bad_schedule.json", "schedule: OnCalendar \"Mon 25:00\": hour 25"},
        {"bad_name.json", ": name: "},
        {"zero_count.json", ": count: "},
        {"negative_budget.json", "budget.per_firing_usd"},
        {"unknown_field.json", "colour: unknown field"},
        {"no_prompts.json", "no prompts"},
        {"bad_aspect.json", "defaults: aspect_ratio"},
        {"sample_without_count.json", "count: required"},
        {"truncated.json", "truncated.json:"},
        {"missing_list_file.json", "variables.v: "},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char rel[128];
        campaign_t c;
        err_t e;
        err_clear(&e);
        snprintf(rel, sizeof rel, "bad/campaigns/%s", cases[i].file);
        const char *path = tu_fixture(rel);
        if (campaign_load(path, &c, &e) != ERR_INVALID)
            fail_msg("%s: accepted (%s)", cases[i].file, e.msg);
        if (!strstr(e.msg, cases[i].file) || !strstr(e.msg, cases[i].needle))
            fail_msg("%s: \"%s\" lacks the file name or \"%s\"", cases[i].file, e.msg,
                     cases[i].needle);
        campaign_free(&c);
    }
}

static size_t queued(fx_t *fx)
{
    queue_stats_t st;
    err_t e;
    assert_int_equal(queue_stats(fx->q, &st, &e), ERR_OK);
    return (size_t)st.visible;
}

static void the_same_slot_twice_enqueues_nothing_new(void **state)
{
    fx_t *fx = *state;
    campaign_t c;
    campaign_fire_t r;
    err_t e;
    int64_t slot = slot_of("2026-11-30T00:00:00Z");
    parse_ok(TWELVE "}", &c);
    assert_int_equal(campaign_fire(&c, slot, "draft", NULL, fx->prices, fx->l, fx->q, &r, &e),
                     ERR_OK);
    assert_false(r.already);
    assert_int_equal(r.sent, 12);
    assert_string_equal(r.batch_id, "t-20261130T000000Z");
    assert_int_equal(campaign_fire(&c, slot, "draft", NULL, fx->prices, fx->l, fx->q, &r, &e),
                     ERR_OK);
    assert_true(r.already);
    assert_int_equal(r.added, 0);
    assert_int_equal(r.sent, 0);
    assert_int_equal(queued(fx), 12);
    campaign_free(&c);
    /* An edited file does not add to a slot that already fired. */
    parse_ok(TWELVE ",\"prompts\":[\"new\"]}", &c);
    assert_int_equal(campaign_fire(&c, slot, "draft", NULL, fx->prices, fx->l, fx->q, &r, &e),
                     ERR_OK);
    assert_true(r.already);
    assert_int_equal(queued(fx), 12);
    /* The next slot is a new firing. */
    assert_int_equal(campaign_fire(&c, slot + 86400, "draft", NULL, fx->prices, fx->l, fx->q, &r,
                                   &e), ERR_OK);
    assert_int_equal(r.sent, 13);
    campaign_free(&c);
}

static void over_the_firing_budget_is_refused_before_anything_is_written(void **state)
{
    fx_t *fx = *state;
    campaign_t c;
    campaign_fire_t r;
    ledger_batch_t b;
    double month;
    err_t e;
    parse_ok(TWELVE ",\"model\":\"m.ten-cents\",\"budget\":{\"per_firing_usd\":1}}", &c);
    assert_int_equal(campaign_fire(&c, 0, "draft", NULL, fx->prices, fx->l, fx->q, &r, &e),
                     ERR_TOOBIG);
    assert_non_null(strstr(e.msg, "per-firing budget of $1.00"));
    assert_int_equal(queued(fx), 0);
    memset(&b, 0, sizeof b);
    assert_int_equal(ledger_get_batch(fx->l, r.batch_id, &b, &e), ERR_NOTFOUND);
    assert_int_equal(ledger_spend_get(fx->l, "t", "1970-01", &month, &e), ERR_OK);
    assert_true(month == 0);
    campaign_free(&c);
}

static void the_monthly_budget_counts_each_slot_once(void **state)
{
    fx_t *fx = *state;
    campaign_t c;
    campaign_fire_t r;
    double month;
    err_t e;
    int64_t s = slot_of("2026-11-01T00:00:00Z");
    /* 12 jobs at $0.10 = $1.20 a firing; $3 a month allows two. */
    parse_ok(TWELVE ",\"model\":\"m.ten-cents\",\"budget\":{\"per_month_usd\":3}}", &c);
    assert_int_equal(campaign_fire(&c, s, NULL, NULL, fx->prices, fx->l, fx->q, &r, &e), ERR_OK);
    assert_int_equal(campaign_fire(&c, s, NULL, NULL, fx->prices, fx->l, fx->q, &r, &e), ERR_OK);
    assert_int_equal(campaign_fire(&c, s + 86400, NULL, NULL, fx->prices, fx->l, fx->q, &r, &e),
                     ERR_OK);
    assert_int_equal(campaign_fire(&c, s + 2 * 86400, NULL, NULL, fx->prices, fx->l, fx->q, &r, &e),
                     ERR_TOOBIG);
    assert_non_null(strstr(e.msg, "monthly budget"));
    assert_int_equal(queued(fx), 24);
    assert_int_equal(ledger_spend_get(fx->l, "t", "2026-11", &month, &e), ERR_OK);
    assert_true(month > 2.39 && month < 2.41);
    /* December is a new month. */
    assert_int_equal(campaign_fire(&c, slot_of("2026-12-01T00:00:00Z"), NULL, NULL, fx->prices,
                                   fx->l, fx->q, &r, &e), ERR_OK);
    campaign_free(&c);
}

static void an_unpriced_model_is_not_fired(void **state)
{
    fx_t *fx = *state;
    campaign_t c;
    campaign_fire_t r;
    err_t e;
    parse_ok(TWELVE ",\"model\":\"stability.sd3-5-large-v1:0\"}", &c);
    assert_int_equal(campaign_fire(&c, 0, NULL, NULL, fx->prices, fx->l, fx->q, &r, &e),
                     ERR_NOTFOUND);
    assert_int_equal(queued(fx), 0);
    campaign_free(&c);
}

static void units_carry_schedule_in_utc_persistent_and_delay(void **state)
{
    campaign_t c;
    buf_t timer = BUF_INIT, service = BUF_INIT;
    err_t e;
    parse_ok("{\"name\":\"w\",\"schedule\":\"Mon *-*-* 09:00:00\",\"prompts\":[\"a\"],"
             "\"timer\":{\"randomized_delay_sec\":120}}", &c);
    assert_int_equal(campaign_units(&c, "/etc/onesheet/w.json", "/usr/bin/onesheet", &timer,
                                    &service, &e), ERR_OK);
    assert_non_null(strstr((char *)timer.data, "OnCalendar=Mon *-*-* 09:00:00 UTC\n"));
    assert_non_null(strstr((char *)timer.data, "Persistent=true\n"));
    assert_non_null(strstr((char *)timer.data, "RandomizedDelaySec=120\n"));
    assert_non_null(strstr((char *)service.data,
                           "ExecStart=/usr/bin/onesheet campaign run /etc/onesheet/w.json\n"));
    assert_int_equal(campaign_units(&c, "/my campaigns/w.json", "/usr/bin/onesheet", &timer,
                                    &service, &e), ERR_INVALID);
    buf_free(&timer);
    buf_free(&service);
    campaign_free(&c);
}

static void a_slot_given_by_hand_must_be_a_firing(void **state)
{
    campaign_t c, once;
    err_t e;
    bool future;
    int64_t now = slot_of("2026-12-07T05:00:00Z");
    parse_ok("{\"name\":\"w\",\"schedule\":\"Mon *-*-* 09:00:00\",\"prompts\":[\"a\"]}", &c);
    assert_int_equal(campaign_check_slot(&c, "--slot", slot_of("2026-11-30T09:00:00Z"), now,
                                         &future, &e), ERR_OK);
    assert_false(future);
    assert_int_equal(campaign_check_slot(&c, "--slot", slot_of("2026-12-07T09:00:00Z"), now,
                                         &future, &e), ERR_OK);
    assert_true(future);
    err_clear(&e);
    assert_int_equal(campaign_check_slot(&c, "--slot", slot_of("2026-12-07T09:30:00Z"), now,
                                         &future, &e), ERR_INVALID);
    assert_string_equal(e.msg, "c.json: --slot 2026-12-07T09:30:00Z is not a firing of "
                        "\"Mon *-*-* 09:00:00 UTC\" (the nearest are 2026-12-07T09:00:00Z "
                        "and 2026-12-14T09:00:00Z)");
    assert_true(future);
    /* A second off is not a firing either. */
    assert_int_equal(campaign_check_slot(&c, "--slot", slot_of("2026-11-30T09:00:01Z"), now,
                                         &future, &e), ERR_INVALID);
    assert_false(future);
    campaign_free(&c);

    parse_ok("{\"name\":\"o\",\"schedule\":\"2026-11-30 09:00 UTC\",\"prompts\":[\"a\"]}",
             &once);
    assert_int_equal(campaign_check_slot(&once, "slot", slot_of("2026-12-01T00:00:00Z"), now,
                                         &future, &e), ERR_INVALID);
    assert_string_equal(e.msg, "c.json: slot 2026-12-01T00:00:00Z is not a firing of "
                        "\"2026-11-30 09:00 UTC\" (the last is 2026-11-30T09:00:00Z; it never "
                        "fires after)");
    assert_int_equal(campaign_check_slot(&once, "slot", slot_of("2026-01-01T00:00:00Z"), now,
                                         &future, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "(the first is 2026-11-30T09:00:00Z)"));
    campaign_free(&once);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cartesian_expansion_counts_every_combination_in_order),
        cmocka_unit_test(literal_braces_are_written_doubled),
        cmocka_unit_test(sampling_is_deterministic_for_a_seed_and_slot),
        cmocka_unit_test(bad_campaign_files_name_the_file_and_field),
        T(the_same_slot_twice_enqueues_nothing_new),
        T(over_the_firing_budget_is_refused_before_anything_is_written),
        T(the_monthly_budget_counts_each_slot_once),
        T(an_unpriced_model_is_not_fired),
        cmocka_unit_test(units_carry_schedule_in_utc_persistent_and_delay),
        cmocka_unit_test(a_slot_given_by_hand_must_be_a_firing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
