/* Tests for campaign_units_user (campaign_units_user.c): the units of a
 * campaign installed for one user's systemd — the system timer, and a
 * service without User=/Group= or system-only hardening, whose state and
 * environment files are the user's (%S, %E) — and the same refusals of
 * unsafe paths as campaign_units. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "campaign/campaign.h"
#include "campaign_fixture.h"

#define CAMPAIGN "{\"name\":\"w\",\"schedule\":\"Mon *-*-* 09:00:00\",\"prompts\":[\"a\"]}"

static void user_service_runs_the_binary_on_the_copy_as_the_user(void **state)
{
    campaign_t c;
    buf_t timer = BUF_INIT, service = BUF_INIT;
    err_t e;
    (void)state;
    campaign_fx_parse(CAMPAIGN, &c);
    assert_int_equal(campaign_units_user(&c, "/home/u/.config/onesheet/campaigns/w.json",
                                         "/usr/local/bin/onesheet", &timer, &service, &e),
                     ERR_OK);
    const char *s = (const char *)service.data, *t = (const char *)timer.data;
    assert_non_null(strstr(s, "ExecStart=/usr/local/bin/onesheet campaign run "
                              "/home/u/.config/onesheet/campaigns/w.json\n"));
    assert_null(strstr(s, "\nUser="));
    assert_null(strstr(s, "\nGroup="));
    assert_null(strstr(s, "ProtectHome="));
    assert_null(strstr(s, "CapabilityBoundingSet="));
    assert_non_null(strstr(s, "Environment=ONESHEET_STATE_DIR=%S/onesheet\n"));
    assert_non_null(strstr(s, "EnvironmentFile=-%E/onesheet/onesheet.env\n"));
    assert_non_null(strstr(t, "OnCalendar=Mon *-*-* 09:00:00 UTC\n"));
    assert_non_null(strstr(t, "Unit=onesheet-campaign@w.service\n"));
    buf_free(&timer);
    buf_free(&service);
    campaign_free(&c);
}

static void unsafe_paths_are_refused_and_nothing_is_written(void **state)
{
    campaign_t c;
    buf_t timer = BUF_INIT, service = BUF_INIT;
    err_t e;
    (void)state;
    campaign_fx_parse(CAMPAIGN, &c);
    assert_int_equal(campaign_units_user(&c, "/my campaigns/w.json", "/usr/bin/onesheet",
                                         &timer, &service, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "/my campaigns/w.json"));
    assert_int_equal(campaign_units_user(&c, "/c/w.json", "relative/onesheet", &timer,
                                         &service, &e), ERR_INVALID);
    assert_int_equal(campaign_units_user(&c, "/c/%h.json", "/usr/bin/onesheet", &timer,
                                         &service, &e), ERR_INVALID);
    assert_int_equal(service.len, 0);
    assert_int_equal(timer.len, 0);
    buf_free(&timer);
    buf_free(&service);
    campaign_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(user_service_runs_the_binary_on_the_copy_as_the_user),
        cmocka_unit_test(unsafe_paths_are_refused_and_nothing_is_written),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
