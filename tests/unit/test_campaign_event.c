/* Tests for what a campaign firing sends and how a scheduler asks for one:
 * the campaign's url_ttl riding in every queue message of the firing
 * (campaign_expand.c, job.c), the firing's result JSON, completing a
 * firing cut short while adding its jobs, the webhook URL
 * rule, and EventBridge Scheduler events (campaign_event.c): inline and
 * file campaigns, the slot, and bad events naming what is wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "campaign/campaign.h"
#include "campaign_fixture.h"
#include "testutil.h"

#define SIMPLE "{\"name\":\"t\",\"schedule\":\"Mon *-*-* 09:00:00\",\"prompts\":[\"a\",\"b\",\"c\"]"
#define SLOT "2026-11-30T09:00:00Z"

typedef campaign_fx_t fx_t;

static int setup(void **state)
{
    *state = campaign_fx_new(NULL);
    return 0;
}

static int teardown(void **state)
{
    campaign_fx_free(*state);
    return 0;
}

static void parse_ok(const char *json, campaign_t *c) { campaign_fx_parse(json, c); }

static int64_t slot_of(const char *iso) { return campaign_fx_slot(iso); }

/* Receives every queued message and checks each decodes with url_ttl ttl. */
static size_t messages_with_ttl(fx_t *fx, long ttl)
{
    queue_msg_t *m;
    size_t n;
    err_t e;
    assert_int_equal(queue_receive(fx->q, 10, 30, 0, &m, &n, &e), ERR_OK);
    for (size_t i = 0; i < n; i++) {
        char batch[JOB_ID_MAX + 1], job[JOB_ID_MAX + 1];
        job_spec_t s;
        if (job_message_decode(m[i].body, m[i].body_len, batch, job, &s, &e) != ERR_OK)
            fail_msg("%s: %s", m[i].body, e.msg);
        if (s.url_ttl != ttl)
            fail_msg("url_ttl %ld, want %ld: %s", s.url_ttl, ttl, m[i].body);
        job_spec_free(&s);
    }
    queue_msgs_free(m, n);
    return n;
}

static void a_firing_carries_the_campaign_url_ttl_to_every_message(void **state)
{
    fx_t *fx = *state;
    campaign_t c, plain;
    campaign_fire_t r;
    bulk_t b;
    err_t e;
    parse_ok(SIMPLE ",\"url_ttl\":86400}", &c);
    parse_ok(SIMPLE "}", &plain);
    bulk_init(&b);
    assert_int_equal(campaign_build(&c, slot_of(SLOT), "draft", &b, &e), ERR_OK);
    assert_int_equal(b.nitems, 3);
    for (size_t i = 0; i < b.nitems; i++)
        assert_int_equal(b.items[i].spec.url_ttl, 86400);
    bulk_free(&b);
    assert_int_equal(campaign_fire(&c, slot_of(SLOT), "draft", NULL, fx->prices, fx->l, fx->q, &r,
                                   &e), ERR_OK);
    assert_int_equal(r.sent, 3);
    assert_int_equal(messages_with_ttl(fx, 86400), 3);
    /* Without url_ttl the messages carry none (the worker's applies), and
     * the job ids are the same either way. */
    assert_int_equal(campaign_fire(&plain, slot_of(SLOT) + 7 * 86400, "draft", NULL, fx->prices,
                                   fx->l, fx->q, &r, &e), ERR_OK);
    assert_int_equal(messages_with_ttl(fx, 0), 3);
    campaign_free(&c);
    campaign_free(&plain);
}

static void the_result_json_is_what_run_prints(void **state)
{
    fx_t *fx = *state;
    campaign_t c;
    campaign_fire_t r;
    buf_t out = BUF_INIT;
    err_t e;
    parse_ok(SIMPLE ",\"budget\":{\"per_month_usd\":10}}", &c);
    assert_int_equal(campaign_fire(&c, slot_of(SLOT), "draft", NULL, fx->prices, fx->l, fx->q, &r,
                                   &e), ERR_OK);
    assert_int_equal(campaign_fire_json(&c, &r, &out), ERR_OK);
    assert_string_equal((char *)out.data,
                        "{\"campaign\":\"t\",\"slot\":\"2026-11-30T09:00:00Z\",\"batch\":"
                        "\"t-20261130T090000Z\",\"jobs\":3,\"new\":3,\"enqueued\":3,"
                        "\"estimate_usd\":0.0,\"month_usd\":0.0,\"already\":false}");
    campaign_free(&c);
    buf_free(&out);
}

/* A firing cut short while adding its jobs (DynamoDB writes them one by
 * one): the batch exists with fewer jobs than the firing recorded.  The
 * next run of the slot completes it; a changed file still never adds. */
static void a_firing_cut_short_while_adding_is_completed(void **state)
{
    fx_t *fx = *state;
    campaign_t c, edited;
    campaign_fire_t r;
    bulk_t b;
    ledger_new_job_t first;
    buf_t spec = BUF_INIT;
    bool created;
    size_t added;
    err_t e;
    int64_t slot = slot_of(SLOT);
    parse_ok(SIMPLE "}", &c);
    bulk_init(&b);
    assert_int_equal(campaign_build(&c, slot, "draft", &b, &e), ERR_OK);
    assert_int_equal(job_spec_to_json_with_id(&b.items[0].spec, &spec), ERR_OK);
    first = (ledger_new_job_t){b.items[0].job_id, (const char *)spec.data, 1};
    /* What the firing had written when it stopped: spend, batch, one job. */
    ledger_spend_t sp = {.campaign = "t", .slot = SLOT, .month = "2026-11",
                         .batch_id = b.batch_id, .usd = 0, .jobs = 3, .month_limit = -1};
    assert_int_equal(ledger_spend_add(fx->l, &sp, &created, NULL, &e), ERR_OK);
    assert_int_equal(ledger_add_batch(fx->l, b.batch_id,
                                           "campaign:t@2026-11-30T09:00:00Z (3 jobs)", &first,
                                           1, &created, &added, &e), ERR_OK);
    /* An edited file (one more prompt) is not taken for the interrupted one. */
    parse_ok(SIMPLE ",\"templates\":[\"d\"]}", &edited);
    assert_int_equal(campaign_fire(&edited, slot, "draft", NULL, fx->prices, fx->l, fx->q, &r, &e),
                     ERR_OK);
    assert_true(r.already);
    assert_int_equal(r.added, 0);
    assert_int_equal(r.sent, 1);
    assert_int_equal(messages_with_ttl(fx, 0), 1);
    /* The same file completes it. */
    assert_int_equal(campaign_fire(&c, slot, "draft", NULL, fx->prices, fx->l, fx->q, &r, &e),
                     ERR_OK);
    assert_true(r.already);
    assert_int_equal(r.added, 2);
    assert_int_equal(r.sent, 2);
    assert_int_equal(messages_with_ttl(fx, 0), 2);
    /* And a run after that has nothing left to do. */
    assert_int_equal(campaign_fire(&c, slot, "draft", NULL, fx->prices, fx->l, fx->q, &r, &e),
                     ERR_OK);
    assert_int_equal(r.added + r.sent, 0);
    ledger_batch_t lb;
    memset(&lb, 0, sizeof lb);
    assert_int_equal(ledger_get_batch(fx->l, b.batch_id, &lb, &e), ERR_OK);
    assert_int_equal(lb.total, 3);
    ledger_batch_free(&lb);
    buf_free(&spec);
    bulk_free(&b);
    campaign_free(&c);
    campaign_free(&edited);
}

static void webhook_urls_are_https_or_loopback_http(void **state)
{
    (void)state;
    static const char *const good[] = {"https://hooks.example/x", "http://127.0.0.1:9/h",
                                       "http://localhost/h", "http://[::1]:80/h"};
    static const char *const bad[] = {"http://hooks.example/x", "ftp://127.0.0.1/x",
                                      "hooks.example", "http://127.0.0.1.evil.example/x"};
    char json[512];
    campaign_t c;
    err_t e;
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        snprintf(json, sizeof json, SIMPLE ",\"webhook\":{\"url\":\"%s\"}}", good[i]);
        parse_ok(json, &c);
        assert_null(c.webhook_secret_env);
        campaign_free(&c);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(json, sizeof json, SIMPLE ",\"webhook\":{\"url\":\"%s\"}}", bad[i]);
        if (campaign_parse("c.json", ".", json, strlen(json), &c, &e) != ERR_INVALID ||
            !strstr(e.msg, "c.json: webhook.url: required: an https:// URL"))
            fail_msg("%s accepted or unclear: %s", bad[i], e.msg);
        campaign_free(&c);
    }
}

static void events_match_only_onesheet_objects(void **state)
{
    (void)state;
    static const struct { const char *json; bool want; } cases[] = {
        {"{\"onesheet\":\"campaign-run\"}", true},
        {"{\"onesheet\":7}", true},           /* ours, and refused by the parser */
        {"{\"httpMethod\":\"GET\",\"path\":\"/\",\"onesheet\":\"campaign-run\"}", false},
        {"{\"version\":\"2.0\",\"requestContext\":{},\"onesheet\":\"x\"}", false},
        {"{\"source\":\"aws.events\"}", false},
        {"[\"onesheet\"]", false},
        {"not json", false},
        {"", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        if (campaign_event_match(cases[i].json, strlen(cases[i].json)) != cases[i].want)
            fail_msg("%s: want %d", cases[i].json, cases[i].want);
}

static void an_event_names_the_campaign_inline_or_by_file(void **state)
{
    fx_t *fx = *state;
    char path[600], json[1024];
    campaign_t c;
    int64_t slot;
    err_t e;
    const char *inl = "{\"onesheet\":\"campaign-run\",\"slot\":\"" SLOT "\",\"campaign\":"
                      SIMPLE "}}";
    assert_int_equal(campaign_event_parse(inl, strlen(inl), NULL, slot_of(SLOT) + 60, &c, &slot,
                                          &e), ERR_OK);
    assert_string_equal(c.name, "t");
    assert_true(slot == slot_of(SLOT));
    campaign_free(&c);

    /* A relative file is under dir; no slot: the latest firing by now. */
    snprintf(path, sizeof path, "%s/w.json", fx->dir);
    tu_write_file(path, SIMPLE ",\"prompts_file\":\"p.txt\"}");
    snprintf(path, sizeof path, "%s/p.txt", fx->dir);
    tu_write_file(path, "from a file\n");
    const char *byfile = "{\"onesheet\":\"campaign-run\",\"campaign_file\":\"w.json\"}";
    assert_int_equal(campaign_event_parse(byfile, strlen(byfile), fx->dir,
                                          slot_of("2026-12-02T12:00:00Z"), &c, &slot, &e),
                     ERR_OK);
    assert_true(slot == slot_of(SLOT));
    assert_int_equal(c.nprompts, 4);
    campaign_free(&c);
    snprintf(json, sizeof json, "{\"onesheet\":\"campaign-run\",\"campaign_file\":\"%s/w.json\","
             "\"slot\":null}", fx->dir);
    assert_int_equal(campaign_event_parse(json, strlen(json), fx->dir, slot_of(SLOT) + 1,
                                          &c, &slot, &e), ERR_OK);
    assert_true(slot == slot_of(SLOT));
    campaign_free(&c);
}

/* Every file an event makes the Lambda read (campaign_file, prompts_file, a
 * variable's file) must resolve under the task root, symlinks included,
 * and no error quotes a line of any file. */
static void event_files_stay_under_the_task_root(void **state)
{
    fx_t *fx = *state;
    char *out = tu_mkdtemp();
    char secret[600], p[600], json[1400];
    snprintf(secret, sizeof secret, "%s/secret", out);
    tu_write_file(secret, "SECRET-LINE-1\nSECRET-LINE-2\n");
    snprintf(p, sizeof p, "%s/link.txt", fx->dir);
    assert_int_equal(symlink(secret, p), 0);
    snprintf(p, sizeof p, "%s/link.json", fx->dir);
    assert_int_equal(symlink(secret, p), 0);
    snprintf(p, sizeof p, "%s/viafile.json", fx->dir);
    tu_write_file(p, SIMPLE ",\"prompts_file\":\"link.txt\"}");
    snprintf(p, sizeof p, "%s/bad.json", fx->dir);
    tu_write_file(p, "SECRET-IN-ROOT {");
    const char *ev = "{\"onesheet\":\"campaign-run\",\"slot\":\"" SLOT "\",";
    struct { char json[1400]; const char *field; err_code_t rc; } cases[] = {
        {"", "campaign_file", ERR_INVALID},            /* absolute, outside */
        {"", "campaign_file", ERR_INVALID},            /* symlink inside → outside */
        {"", "prompts_file", ERR_INVALID},             /* inline, absolute */
        {"", "prompts_file", ERR_INVALID},             /* inline, ../ */
        {"", "prompts_file", ERR_INVALID},             /* inline, symlink */
        {"", "variables.x", ERR_INVALID},              /* inline, variable file */
        {"", "prompts_file", ERR_INVALID},             /* file campaign, symlink */
        {"", "invalid JSON", ERR_INVALID},             /* under root, not JSON */
    };
    snprintf(cases[0].json, sizeof json, "%s\"campaign_file\":\"%s\"}", ev, secret);
    snprintf(cases[1].json, sizeof json, "%s\"campaign_file\":\"link.json\"}", ev);
    snprintf(cases[2].json, sizeof json, "%s\"campaign\":" SIMPLE ",\"prompts_file\":\"%s\"}}",
             ev, secret);
    snprintf(cases[3].json, sizeof json, "%s\"campaign\":" SIMPLE ",\"prompts_file\":"
             "\"../%s/secret\"}}", ev, strrchr(out, '/') + 1);
    snprintf(cases[4].json, sizeof json, "%s\"campaign\":" SIMPLE ",\"prompts_file\":"
             "\"link.txt\"}}", ev);
    snprintf(cases[5].json, sizeof json, "%s\"campaign\":{\"name\":\"t\",\"schedule\":"
             "\"Mon *-*-* 09:00:00\",\"templates\":[\"{x}\"],\"variables\":{\"x\":{\"file\":"
             "\"%s\"}}}}", ev, secret);
    snprintf(cases[6].json, sizeof json, "%s\"campaign_file\":\"viafile.json\"}", ev);
    snprintf(cases[7].json, sizeof json, "%s\"campaign_file\":\"bad.json\"}", ev);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        campaign_t c;
        int64_t slot;
        err_t e;
        err_clear(&e);
        err_code_t rc = campaign_event_parse(cases[i].json, strlen(cases[i].json), fx->dir,
                                             slot_of(SLOT) + 60, &c, &slot, &e);
        if (rc != cases[i].rc || !strstr(e.msg, cases[i].field) || strstr(e.msg, "SECRET"))
            fail_msg("case %zu: %s\n  got %d \"%s\"\n  want %d naming %s, no contents", i,
                     cases[i].json, rc, e.msg, cases[i].rc, cases[i].field);
        campaign_free(&c);
    }
    /* The command line is not an event: campaign_load still reads any path. */
    campaign_t c;
    err_t e;
    snprintf(p, sizeof p, "%s/viafile.json", fx->dir);
    assert_int_equal(campaign_load(p, &c, &e), ERR_OK);
    assert_int_equal(c.nprompts, 5);
    campaign_free(&c);
    tu_rmtree(out);
    free(out);
}

static void bad_events_say_what_is_wrong(void **state)
{
    (void)state;
    static const struct { const char *json, *want; err_code_t rc; } cases[] = {
        {"", "event: invalid JSON", ERR_INVALID},
        {"[]", "event: expected a JSON object", ERR_INVALID},
        {"{\"campaign_file\":\"w.json\"}", "onesheet: expected \"campaign-run\"", ERR_INVALID},
        {"{\"onesheet\":\"campaign-stop\"}", "onesheet: expected \"campaign-run\"", ERR_INVALID},
        {"{\"onesheet\":\"campaign-run\",\"campaign_file\":\"w.json\",\"sloth\":1}",
         "event: sloth: unknown field", ERR_INVALID},
        {"{\"onesheet\":\"campaign-run\"}", "exactly one of campaign", ERR_INVALID},
        {"{\"onesheet\":\"campaign-run\",\"campaign\":{},\"campaign_file\":\"w.json\"}",
         "exactly one of campaign", ERR_INVALID},
        {"{\"onesheet\":\"campaign-run\",\"campaign\":\"t\"}", "campaign: must be the campaign",
         ERR_INVALID},
        {"{\"onesheet\":\"campaign-run\",\"campaign_file\":7}", "campaign_file: must be a path",
         ERR_INVALID},
        {"{\"onesheet\":\"campaign-run\",\"campaign_file\":\"\"}", "campaign_file: must be",
         ERR_INVALID},
        {"{\"onesheet\":\"campaign-run\",\"campaign_file\":\"no/such.json\"}", "no/such.json",
         ERR_NOINPUT},
        {"{\"onesheet\":\"campaign-run\",\"campaign\":{\"name\":\"t\"}}", "event.campaign: ",
         ERR_INVALID},
        {"{\"onesheet\":\"campaign-run\",\"campaign\":" SIMPLE ",\"colour\":1}}",
         "event.campaign: colour: unknown field", ERR_INVALID},
        {"{\"onesheet\":\"campaign-run\",\"campaign\":" SIMPLE "},"
         "\"slot\":\"<aws.scheduler.scheduled-time>\"}",
         "event: slot \"<aws.scheduler.scheduled-time>\"", ERR_INVALID},
        {"{\"onesheet\":\"campaign-run\",\"campaign\":" SIMPLE "},\"slot\":1764493200}",
         "slot: must be an ISO 8601 UTC time", ERR_INVALID},
        {"{\"onesheet\":\"campaign-run\",\"campaign\":" SIMPLE "},"
         "\"slot\":\"2026-11-30T09:00:00+01:00\"}", "event: slot", ERR_INVALID},
        {"{\"onesheet\":\"campaign-run\",\"onesheet\":\"campaign-run\"}", "invalid JSON",
         ERR_INVALID},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        campaign_t c;
        int64_t slot;
        err_t e;
        err_clear(&e);
        err_code_t rc = campaign_event_parse(cases[i].json, strlen(cases[i].json), ".", 0, &c,
                                             &slot, &e);
        if (rc != cases[i].rc || !strstr(e.msg, cases[i].want))
            fail_msg("%s\n  got %d \"%s\"\n  want %d \"%s\"", cases[i].json, rc, e.msg,
                     cases[i].rc, cases[i].want);
        campaign_free(&c);
    }
}

/* A slot the scheduler names must be a firing of the campaign's schedule;
 * there is no --force.  One ahead of now is the scheduler's clock. */
static void an_event_slot_must_be_a_firing(void **state)
{
    (void)state;
    static const struct { const char *slot; int64_t now_after; const char *want; } cases[] = {
        {"2026-11-30T09:30:00Z", 86400, "slot 2026-11-30T09:30:00Z is not a firing of "
         "\"Mon *-*-* 09:00:00 UTC\" (the nearest are 2026-11-30T09:00:00Z and "
         "2026-12-07T09:00:00Z)"},
        {"2030-01-08T09:00:00Z", 0, "slot 2030-01-08T09:00:00Z is not a firing"},
        {"2030-01-07T09:00:00Z", 0, NULL},
        {SLOT, -300, NULL},
        {SLOT, 0, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char json[512];
        campaign_t c;
        int64_t slot;
        err_t e;
        err_clear(&e);
        snprintf(json, sizeof json, "{\"onesheet\":\"campaign-run\",\"slot\":\"%s\","
                 "\"campaign\":" SIMPLE "}}", cases[i].slot);
        err_code_t rc = campaign_event_parse(json, strlen(json), NULL,
                                             slot_of(SLOT) + cases[i].now_after, &c, &slot, &e);
        if (cases[i].want ? rc != ERR_INVALID || !strstr(e.msg, cases[i].want) : rc != ERR_OK)
            fail_msg("%s\n  got %d \"%s\"\n  want \"%s\"", cases[i].slot, rc, e.msg,
                     cases[i].want ? cases[i].want : "ok");
        campaign_free(&c);
    }
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(a_firing_carries_the_campaign_url_ttl_to_every_message),
        T(the_result_json_is_what_run_prints),
        T(a_firing_cut_short_while_adding_is_completed),
        cmocka_unit_test(webhook_urls_are_https_or_loopback_http),
        cmocka_unit_test(events_match_only_onesheet_objects),
        T(an_event_names_the_campaign_inline_or_by_file),
        T(event_files_stay_under_the_task_root),
        cmocka_unit_test(bad_events_say_what_is_wrong),
        cmocka_unit_test(an_event_slot_must_be_a_firing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
