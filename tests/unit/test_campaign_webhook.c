/* Tests for a campaign's webhook (campaign_webhook.c, campaign_fire.c): a
 * firing registers the campaign's webhook.url as its batch's webhook in the
 * ledger (the outbox workers deliver), after checking the URL, the
 * configured secret and webhook.secret_env before anything is recorded;
 * firing the slot again with the same URL changes nothing, and a changed
 * URL is refused with nothing enqueued.  Messages never echo a secret. */
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

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define OTHER "whsec_QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
#define HOOK "http://127.0.0.1:9/hooks/x?token=sekrit"
#define CAMPAIGN(url, extra)                                                              \
    "{\"name\":\"t\",\"schedule\":\"Mon *-*-* 09:00:00\",\"prompts\":[\"a\",\"b\"],"      \
    "\"webhook\":{\"url\":\"" url "\"" extra "}}"
#define SLOT "2026-11-30T09:00:00Z"
#define BATCH "t-20261130T090000Z"

typedef campaign_fx_t fx_t;

static int setup(void **state)
{
    unsetenv("T_CAMPAIGN_SECRET");
    *state = campaign_fx_new(NULL);
    return 0;
}

static int teardown(void **state)
{
    campaign_fx_free(*state);
    unsetenv("T_CAMPAIGN_SECRET");
    return 0;
}

static void parse_ok(const char *json, campaign_t *c) { campaign_fx_parse(json, c); }

static int64_t slot_of(const char *iso) { return campaign_fx_slot(iso); }

/* How many messages the queue holds (receives and forgets them). */
static size_t queued(fx_t *fx)
{
    queue_msg_t *m;
    size_t n;
    err_t e;
    assert_int_equal(queue_receive(fx->q, 10, 30, 0, &m, &n, &e), ERR_OK);
    queue_msgs_free(m, n);
    return n;
}

/* The webhook URL the ledger holds for BATCH, or "" when none (static). */
static const char *registered(fx_t *fx)
{
    static char url[512];
    ledger_outbox_summary_t s;
    err_t e;
    memset(&s, 0, sizeof s);
    assert_int_equal(ledger_outbox_summary(fx->l, BATCH, &s, &e), ERR_OK);
    snprintf(url, sizeof url, "%s", s.url ? s.url : "");
    ledger_outbox_summary_free(&s);
    return url;
}

/* Nothing of the firing is in the ledger or the queue. */
static void nothing_recorded(fx_t *fx)
{
    ledger_batch_t b;
    err_t e;
    memset(&b, 0, sizeof b);
    assert_int_equal(ledger_get_batch(fx->l, BATCH, &b, &e), ERR_NOTFOUND);
    ledger_batch_free(&b);
    assert_string_equal(registered(fx), "");
    assert_int_equal(queued(fx), 0);
}

static void a_firing_registers_the_batch_webhook_before_its_jobs(void **state)
{
    fx_t *fx = *state;
    campaign_t c;
    campaign_fire_t r;
    err_t e;
    parse_ok(CAMPAIGN(HOOK, ""), &c);
    assert_null(c.webhook_secret_env);
    if (campaign_fire(&c, slot_of(SLOT), "draft", SECRET, fx->prices, fx->l, fx->q, &r, &e) !=
        ERR_OK)
        fail_msg("%s", e.msg);
    assert_false(r.already);
    assert_int_equal(r.sent, 2);
    assert_string_equal(registered(fx), HOOK);
    /* The same slot again: nothing new registered or enqueued. */
    assert_int_equal(campaign_fire(&c, slot_of(SLOT), "draft", SECRET, fx->prices, fx->l,
                                   fx->q, &r, &e), ERR_OK);
    assert_true(r.already);
    assert_int_equal(r.added, 0);
    assert_int_equal(r.sent, 0);
    assert_string_equal(registered(fx), HOOK);
    campaign_free(&c);
}

static void a_changed_url_is_refused_for_a_fired_slot(void **state)
{
    fx_t *fx = *state;
    campaign_t c, moved;
    campaign_fire_t r;
    err_t e;
    parse_ok(CAMPAIGN(HOOK, ""), &c);
    parse_ok(CAMPAIGN("https://other.example/h?token=sekrit2", ""), &moved);
    assert_int_equal(campaign_fire(&c, slot_of(SLOT), "draft", SECRET, fx->prices, fx->l,
                                   fx->q, &r, &e), ERR_OK);
    assert_int_equal(queued(fx), 2);
    assert_int_equal(campaign_fire(&moved, slot_of(SLOT), "draft", SECRET, fx->prices, fx->l,
                                   fx->q, &r, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "c.json: webhook.url: batch " BATCH " already has another "
                                  "webhook URL"));
    assert_null(strstr(e.msg, "sekrit"));
    assert_string_equal(registered(fx), HOOK);
    assert_int_equal(queued(fx), 0);
    campaign_free(&c);
    campaign_free(&moved);
}

static void no_or_bad_secret_refuses_before_anything_is_recorded(void **state)
{
    fx_t *fx = *state;
    static const struct {
        const char *secret, *want;
    } cases[] = {
        {NULL, "c.json: webhook: workers sign webhooks with webhook_secret"},
        {"", "c.json: webhook: workers sign webhooks with webhook_secret"},
        {"whsec-not-base64", "c.json: webhook: webhook_secret: expected a Standard Webhooks "
                             "secret"},
        {"whsec_c2hvcnQ=", "c.json: webhook: webhook_secret: the key decodes to 5 bytes"},
    };
    campaign_t c;
    campaign_fire_t r;
    err_t e;
    parse_ok(CAMPAIGN(HOOK, ""), &c);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        err_clear(&e);
        err_code_t rc = campaign_fire(&c, slot_of(SLOT), "draft", cases[i].secret, fx->prices,
                                      fx->l, fx->q, &r, &e);
        if (rc != ERR_CONFIG || !strstr(e.msg, cases[i].want) ||
            !strstr(e.msg, "nothing enqueued"))
            fail_msg("case %zu: got %d \"%s\"", i, rc, e.msg);
        if (strstr(e.msg, "not-base64") || strstr(e.msg, "c2hvcnQ"))
            fail_msg("the secret in a message: %s", e.msg);
        nothing_recorded(fx);
    }
    campaign_free(&c);
}

static void secret_env_must_hold_the_configured_secret(void **state)
{
    fx_t *fx = *state;
    campaign_t c;
    campaign_fire_t r;
    err_t e;
    parse_ok(CAMPAIGN(HOOK, ",\"secret_env\":\"T_CAMPAIGN_SECRET\""), &c);
    assert_string_equal(c.webhook_secret_env, "T_CAMPAIGN_SECRET");
    assert_int_equal(campaign_fire(&c, slot_of(SLOT), "draft", SECRET, fx->prices, fx->l,
                                   fx->q, &r, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "c.json: webhook.secret_env: $T_CAMPAIGN_SECRET is not set; "
                                  "workers sign every webhook with webhook_secret"));
    nothing_recorded(fx);
    setenv("T_CAMPAIGN_SECRET", OTHER, 1);
    assert_int_equal(campaign_fire(&c, slot_of(SLOT), "draft", SECRET, fx->prices, fx->l,
                                   fx->q, &r, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "$T_CAMPAIGN_SECRET does not hold the configured "
                                  "webhook_secret"));
    assert_null(strstr(e.msg, "whsec_"));
    nothing_recorded(fx);
    setenv("T_CAMPAIGN_SECRET", SECRET, 1);
    if (campaign_fire(&c, slot_of(SLOT), "draft", SECRET, fx->prices, fx->l, fx->q, &r, &e) !=
        ERR_OK)
        fail_msg("%s", e.msg);
    assert_string_equal(registered(fx), HOOK);
    campaign_free(&c);
}

static void a_campaign_without_webhook_needs_no_secret(void **state)
{
    fx_t *fx = *state;
    campaign_t c;
    campaign_fire_t r;
    err_t e;
    static const char json[] = "{\"name\":\"t\",\"schedule\":\"Mon *-*-* 09:00:00\","
                               "\"prompts\":[\"a\"]}";
    parse_ok(json, &c);
    assert_int_equal(campaign_webhook_check(&c, NULL, fx->l, &e), ERR_OK);
    assert_int_equal(campaign_fire(&c, slot_of(SLOT), "draft", NULL, fx->prices, fx->l, fx->q,
                                   &r, &e), ERR_OK);
    assert_string_equal(registered(fx), "");
    campaign_free(&c);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(a_firing_registers_the_batch_webhook_before_its_jobs),
        T(a_changed_url_is_refused_for_a_fired_slot),
        T(no_or_bad_secret_refuses_before_anything_is_recorded),
        T(secret_env_must_hold_the_configured_secret),
        T(a_campaign_without_webhook_needs_no_secret),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
