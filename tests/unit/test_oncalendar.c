/* Tests for OnCalendar parsing and firing times (oncalendar.c).  The
 * integration test systemd_units.sh also compares against systemd-analyze. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/oncalendar.h"

static int64_t iso(const char *s)
{
    int64_t t;
    err_t e;
    if (oncalendar_parse_iso(s, &t, &e) != ERR_OK)
        fail_msg("%s", e.msg);
    return t;
}

/* Checks the next n firings of expr after base, as ISO strings. */
static void expect_next(const char *expr, const char *base, const char *const *want, int n)
{
    oncalendar_t c;
    err_t e;
    char got[32];
    int64_t t = iso(base);
    if (oncalendar_parse(expr, &c, &e) != ERR_OK)
        fail_msg("%s", e.msg);
    for (int i = 0; i < n; i++) {
        assert_int_equal(oncalendar_next(&c, t, &t, &e), ERR_OK);
        oncalendar_iso(t, got, sizeof got);
        if (strcmp(got, want[i]) != 0)
            fail_msg("%s after %s, #%d: got %s, want %s", expr, base, i + 1, got, want[i]);
    }
}

static void shorthands_fire_at_their_boundaries(void **state)
{
    static const char *const daily[] = {"2026-11-26T00:00:00Z", "2026-11-27T00:00:00Z"};
    static const char *const weekly[] = {"2026-11-30T00:00:00Z", "2026-12-07T00:00:00Z"};
    static const char *const monthly[] = {"2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"};
    static const char *const hourly[] = {"2026-11-25T13:00:00Z", "2026-11-25T14:00:00Z"};
    static const char *const quarterly[] = {"2027-01-01T00:00:00Z", "2027-04-01T00:00:00Z"};
    expect_next("daily", "2026-11-25T12:00:00Z", daily, 2);
    expect_next("weekly", "2026-11-25T12:00:00Z", weekly, 2);
    expect_next("monthly", "2026-11-25T12:00:00Z", monthly, 2);
    expect_next("hourly", "2026-11-25T12:00:00Z", hourly, 2);
    expect_next("quarterly", "2026-11-25T12:00:00Z", quarterly, 2);
}

static void weekday_lists_and_ranges_pick_the_right_days(void **state)
{
    static const char *const mon9[] = {"2026-11-30T09:00:00Z", "2026-12-07T09:00:00Z"};
    static const char *const weekdays[] = {"2026-11-27T08:30:00Z", "2026-11-30T08:30:00Z",
                                           "2026-12-01T08:30:00Z"};
    static const char *const weekend[] = {"2026-11-28T10:00:00Z", "2026-11-29T10:00:00Z",
                                          "2026-12-05T10:00:00Z"};
    expect_next("Mon *-*-* 09:00:00", "2026-11-23T09:00:00Z", mon9, 2);
    expect_next("Mon..Fri 08:30", "2026-11-26T08:30:00Z", weekdays, 3);
    expect_next("Sat,Sun 10:00 UTC", "2026-11-25T12:00:00Z", weekend, 3);
}

static void repetition_and_dates_step_through_the_day_and_year(void **state)
{
    static const char *const quarter[] = {"2026-12-31T23:45:00Z", "2027-01-01T00:00:00Z"};
    static const char *const first[] = {"2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z"};
    static const char *const leap[] = {"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"};
    expect_next("*:0/15", "2026-12-31T23:30:00Z", quarter, 2);
    expect_next("*-*-01 00:00:00", "2026-12-01T00:00:00Z", first, 2);
    expect_next("*-02-29", "2026-03-01T00:00:00Z", leap, 2);
}

static void impossible_dates_never_fire(void **state)
{
    oncalendar_t c;
    int64_t t;
    err_t e;
    assert_int_equal(oncalendar_parse("*-02-30 12:00", &c, &e), ERR_OK);
    assert_int_equal(oncalendar_next(&c, iso("2026-01-01T00:00:00Z"), &t, &e), ERR_NOTFOUND);
}

static void prev_is_the_latest_firing_not_after(void **state)
{
    oncalendar_t c;
    int64_t t;
    err_t e;
    char got[32];
    assert_int_equal(oncalendar_parse("Mon *-*-* 09:00:00", &c, &e), ERR_OK);
    assert_int_equal(oncalendar_prev(&c, iso("2026-11-30T09:00:00Z"), &t, &e), ERR_OK);
    assert_string_equal(oncalendar_iso(t, got, sizeof got), "2026-11-30T09:00:00Z");
    assert_int_equal(oncalendar_prev(&c, iso("2026-11-30T08:59:59Z"), &t, &e), ERR_OK);
    assert_string_equal(oncalendar_iso(t, got, sizeof got), "2026-11-23T09:00:00Z");
}

static void bad_expressions_are_refused_with_the_reason(void **state)
{
    static const struct { const char *expr, *needle; } cases[] = {
        {"", "empty"},
        {"Mon 25:00", "hour 25 is out of range 0..23"},
        {"*-13-01", "month 13 is out of range 1..12"},
        {"Mon Europe/Berlin", "only UTC"},
        {"Fri..Mon", "runs backwards"},
        {"Funday", "not a weekday"},
        {"*-*-~1", "not supported"},
        {"12:00:00.5", "fractional"},
        {"*:0/0", "positive step"},
        {"*:x", "not a number"},
        {"12", "YEAR-MONTH-DAY"},
        {"10:00 11:00", "unexpected"},
        {"Mon,", "trailing"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        oncalendar_t c;
        err_t e;
        err_clear(&e);
        if (oncalendar_parse(cases[i].expr, &c, &e) != ERR_INVALID)
            fail_msg("\"%s\" was accepted", cases[i].expr);
        if (!strstr(e.msg, cases[i].needle))
            fail_msg("\"%s\": message \"%s\" lacks \"%s\"", cases[i].expr, e.msg,
                     cases[i].needle);
    }
}

/* Found by fuzz_oncalendar: an empty list item ("*:," has no second at all)
 * was accepted, and the schedule that could never fire then made
 * oncalendar_next walk every second of every day to 2200 (minutes). */
static void empty_list_items_are_refused_not_walked_forever(void **state)
{
    (void)state;
    static const char *const exprs[] = {"*:,*:,", "*:,", "09:00:,", "*-*-,01", "*-*-01,,02",
                                        "1,,5:00", ",*:00"};
    for (size_t i = 0; i < sizeof exprs / sizeof *exprs; i++) {
        oncalendar_t c;
        err_t e;
        err_clear(&e);
        if (oncalendar_parse(exprs[i], &c, &e) != ERR_INVALID)
            fail_msg("\"%s\" was accepted", exprs[i]);
        if (!strstr(e.msg, "empty"))
            fail_msg("\"%s\": message \"%s\" lacks \"empty\"", exprs[i], e.msg);
    }
}

static void iso_times_are_strict_utc(void **state)
{
    int64_t t;
    err_t e;
    assert_int_equal(oncalendar_parse_iso("1970-01-01T00:00:00Z", &t, &e), ERR_OK);
    assert_int_equal(t, 0);
    assert_int_equal(oncalendar_parse_iso("2026-11-30T09:00+00:00", &t, &e), ERR_OK);
    assert_int_equal(oncalendar_parse_iso("2026-11-30T09:00:00+01:00", &t, &e), ERR_INVALID);
    assert_int_equal(oncalendar_parse_iso("2026-02-30T09:00:00Z", &t, &e), ERR_INVALID);
    assert_int_equal(oncalendar_parse_iso("2026-11-30 09:00:00Z", &t, &e), ERR_INVALID);
    assert_int_equal(oncalendar_parse_iso("2026-11-30T09:00:00", &t, &e), ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shorthands_fire_at_their_boundaries),
        cmocka_unit_test(weekday_lists_and_ranges_pick_the_right_days),
        cmocka_unit_test(repetition_and_dates_step_through_the_day_and_year),
        cmocka_unit_test(impossible_dates_never_fire),
        cmocka_unit_test(prev_is_the_latest_firing_not_after),
        cmocka_unit_test(bad_expressions_are_refused_with_the_reason),
        cmocka_unit_test(empty_list_items_are_refused_not_walked_forever),
        cmocka_unit_test(iso_times_are_strict_utc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
