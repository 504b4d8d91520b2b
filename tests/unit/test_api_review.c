/* Tests for POST /jobs/{id}/approve, /reject and POST /batches/{id}/promote
 * (common/api/api_review.c) over real SQLite back-ends in a private
 * directory: a mark on a succeeded job (200 with the job's review), 409
 * not_succeeded otherwise, promote's dry run, enqueue and repeat; and every
 * kind of bad body (invalid JSON, unknown fields, wrong types, values out
 * of range) refused with 400 naming the field and nothing changed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "jobs/job.h"
#include "api_fixture.h"
#include "testutil.h"

#define CORE "stability.stable-image-core-v1:1"

static int call(api_fx_t *f, const char *method, const char *path, const char *body,
                api_response_t *r)
{
    return api_fx_call(f, method, path, body ? "application/json" : NULL, body, NULL, NULL, r);
}

/* A batch with "ok" (succeeded) and "wait" (queued); returns its id. */
static char *two_jobs(api_fx_t *f)
{
    api_response_t r = {0};
    err_t e;
    ledger_claim_t c;
    ledger_result_t res = {.url = "file:///x", .store_key = "k", .sha256 = "00",
                           .model = "draft", .bytes = 8, .seed = 1234};
    assert_int_equal(call(f, "POST", "/jobs", "[{\"id\":\"ok\",\"prompt\":\"one\"},"
                                              "{\"id\":\"wait\",\"prompt\":\"two\"}]", &r), 202);
    json_t *v = json_loadb(r.body, r.body_len, 0, NULL);
    char *b = strdup(json_string_value(json_object_get(v, "batch_id")));
    json_decref(v);
    api_response_free(&r);
    ledger_t *l = ledger_open(f->cfg.ledger, &e);
    assert_non_null(l);
    assert_int_equal(ledger_claim(l, b, "ok", 1, "t", 60, &c, &e), ERR_OK);
    assert_int_equal(ledger_succeed(l, b, "ok", "t", &res, &e), ERR_OK);
    ledger_close(l);
    return b;
}

static api_fx_t *fx_new(void)
{
    api_options_t o = {.loopback = true, .sync_timeout_s = 0.3, .poll_interval_s = 0.05};
    return api_fx_new(o, false, NULL);
}

static void expect_400(api_fx_t *f, const char *path, const char *body, const char *want)
{
    api_response_t r = {0};
    int st = call(f, "POST", path, body, &r);
    if (st != 400 || !strstr(r.body, want))
        fail_msg("%s %s: %d %.*s (want 400 with \"%s\")", path, body ? body : "(none)", st,
                 (int)r.body_len, r.body, want);
    api_response_free(&r);
}

static void marks_need_a_succeeded_job(void **state)
{
    (void)state;
    api_fx_t *f = fx_new();
    api_response_t r = {0};
    char *b = two_jobs(f);

    assert_int_equal(call(f, "POST", "/jobs/wait/approve", NULL, &r), 409);
    assert_non_null(strstr(r.body, "\"not_succeeded\""));
    assert_int_equal(call(f, "POST", "/jobs/nope/approve", NULL, &r), 404);
    assert_int_equal(call(f, "POST", "/jobs/ok/reject", NULL, &r), 200);
    assert_non_null(strstr(r.body, "\"review\":{\"state\":\"rejected\",\"by\":\"api\""));
    assert_int_equal(call(f, "POST", "/jobs/ok/approve", "{\"by\":\"ann\"}", &r), 200);
    assert_non_null(strstr(r.body, "\"review\":{\"state\":\"approved\",\"by\":\"ann\""));
    assert_int_equal(call(f, "GET", "/jobs/ok", NULL, &r), 200);
    assert_non_null(strstr(r.body, "\"state\":\"approved\""));
    assert_int_equal(call(f, "GET", "/jobs/wait", NULL, &r), 200);
    assert_null(strstr(r.body, "\"review\""));
    assert_int_equal(call(f, "GET", "/jobs/ok/approve", NULL, &r), 405);
    api_response_free(&r);
    free(b);
    api_fx_free(f);
}

static void bad_bodies_are_refused_naming_the_field(void **state)
{
    (void)state;
    api_fx_t *f = fx_new();
    api_response_t r = {0};
    char *b = two_jobs(f), path[200];
    snprintf(path, sizeof path, "/batches/%s/promote", b);

    expect_400(f, "/jobs/ok/approve", "{", "body: invalid JSON");
    expect_400(f, "/jobs/ok/approve", "[]", "body: expected a JSON object");
    expect_400(f, "/jobs/ok/approve", "{\"who\":\"x\"}", "who: unknown field");
    expect_400(f, "/jobs/ok/approve", "{\"by\":3}", "by: expected a string");
    expect_400(f, "/jobs/ok/approve", "{\"by\":\"\"}", "by: expected a string");
    expect_400(f, "/jobs/ok/approve", "{\"by\":\"a\",\"by\":\"b\"}", "invalid JSON");
    expect_400(f, path, NULL, "body: expected a JSON object");
    expect_400(f, path, "{}", "model: required");
    expect_400(f, path, "{\"model\":7}", "model: required");
    expect_400(f, path, "{\"model\":\"" CORE "\",\"only\":\"some\"}", "only: expected");
    expect_400(f, path, "{\"model\":\"" CORE "\",\"budget_usd\":-1}", "budget_usd: expected");
    expect_400(f, path, "{\"model\":\"" CORE "\",\"budget_usd\":\"5\"}", "budget_usd: expected");
    expect_400(f, path, "{\"model\":\"" CORE "\",\"dry_run\":1}", "dry_run: expected");
    expect_400(f, path, "{\"model\":\"" CORE "\",\"extra\":1}", "extra: unknown field");
    expect_400(f, path, "{\"model\":\"stability.nope-v9\",\"only\":\"all\"}", "model: unknown");
    expect_400(f, path, "{\"model\":\"stability.stable-diffusion-xl-v1\",\"only\":\"all\"}",
               "retired");
    /* Nothing approved yet. */
    expect_400(f, path, "{\"model\":\"" CORE "\"}", "only: batch");
    assert_int_equal(call(f, "POST", "/batches/nope/promote", "{\"model\":\"" CORE "\"}", &r),
                     404);
    /* Nothing was marked or promoted by any of that. */
    assert_int_equal(call(f, "GET", "/jobs/ok", NULL, &r), 200);
    assert_null(strstr(r.body, "\"review\""));
    assert_null(strstr(r.body, "promoted_to"));
    api_response_free(&r);
    free(b);
    api_fx_free(f);
}

static void promote_dry_runs_enqueues_then_finds_nothing_new(void **state)
{
    (void)state;
    api_fx_t *f = fx_new();
    api_response_t r = {0};
    char *b = two_jobs(f), path[200];
    snprintf(path, sizeof path, "/batches/%s/promote", b);

    assert_int_equal(call(f, "POST", "/jobs/ok/approve", NULL, &r), 200);
    assert_int_equal(call(f, "POST", path, "{\"model\":\"" CORE "\",\"budget_usd\":0.01}", &r),
                     422);
    assert_non_null(strstr(r.body, "\"over_budget\""));
    assert_int_equal(call(f, "POST", path, "{\"model\":\"" CORE "\",\"dry_run\":true}", &r), 200);
    assert_non_null(strstr(r.body, "\"jobs\":1"));
    assert_non_null(strstr(r.body, "\"enqueued\":0"));
    assert_non_null(strstr(r.body, "\"dry_run\":true"));
    assert_int_equal(call(f, "POST", path, "{\"model\":\"" CORE "\"}", &r), 202);
    assert_non_null(strstr(r.body, "\"enqueued\":1"));
    assert_non_null(strstr(r.body, "\"estimated_usd\":0.04"));
    json_t *v = json_loadb(r.body, r.body_len, 0, NULL);
    char *paid = strdup(json_string_value(json_object_get(v, "batch")));
    json_decref(v);
    assert_int_equal(paid[0], 'p');
    assert_int_equal(call(f, "POST", path, "{\"model\":\"" CORE "\",\"only\":\"approved\"}", &r),
                     200);
    assert_non_null(strstr(r.body, "\"enqueued\":0"));
    assert_non_null(strstr(r.body, paid));
    assert_int_equal(call(f, "GET", "/jobs/ok", NULL, &r), 200);
    assert_non_null(strstr(r.body, "\"promoted_to\":["));
    api_response_free(&r);
    free(paid);
    free(b);
    api_fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(marks_need_a_succeeded_job),
        cmocka_unit_test(bad_bodies_are_refused_naming_the_field),
        cmocka_unit_test(promote_dry_runs_enqueues_then_finds_nothing_new),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
