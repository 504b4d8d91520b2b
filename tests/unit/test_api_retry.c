/* Tests for POST /jobs/{id}/retry and POST /batches/{id}/retry
 * (common/api/api_retry.c) over real SQLite back-ends in a private
 * directory: the default state, chosen states, a second retry answering
 * 200 with nothing enqueued, the job's runs in GET /jobs/{id}, and bad
 * input (unknown ids 404, bad states and bodies 400, wrong method 405)
 * changing nothing. */
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

typedef api_fx_t fx_t;

static fx_t *fx_new(void)
{
    api_options_t o = {.loopback = true, .sync_timeout_s = 0.3, .poll_interval_s = 0.05};
    return api_fx_new(o, false, NULL);
}

static void fx_free(fx_t *f) { api_fx_free(f); }

static int call(fx_t *f, const char *method, const char *path, const char *body,
                api_response_t *r)
{
    return api_fx_call(f, method, path, body ? "application/json" : NULL, body, NULL, NULL, r);
}

static json_t *body_of(const api_response_t *r)
{
    json_t *v = json_loadb(r->body, r->body_len, 0, NULL);
    assert_non_null(v);
    return v;
}

static long long num(const api_response_t *r, const char *name)
{
    json_t *v = body_of(r);
    long long n = json_integer_value(json_object_get(v, name));
    json_decref(v);
    return n;
}

static int queued_messages(fx_t *f)
{
    api_response_t r = {0};
    assert_int_equal(call(f, "GET", "/healthz", NULL, &r), 200);
    json_t *v = body_of(&r);
    json_t *q = json_object_get(v, "queue");
    int n = (int)json_integer_value(json_object_get(q ? q : v, "visible"));
    json_decref(v);
    api_response_free(&r);
    return n;
}

/* b: jobs "ok" (succeeded), "bad" (failed), "gone" (cancelled), as a
 * worker and a user would leave them; their run-1 messages deleted. */
static char *three_outcomes(fx_t *f)
{
    api_response_t r = {0};
    const char *body = "[{\"id\":\"ok\",\"prompt\":\"one\"},{\"id\":\"bad\",\"prompt\":\"two\"},"
                       "{\"id\":\"gone\",\"prompt\":\"three\"}]";
    assert_int_equal(call(f, "POST", "/jobs", body, &r), 202);
    json_t *v = body_of(&r);
    char *b = strdup(json_string_value(json_object_get(v, "batch_id")));
    json_decref(v);
    api_response_free(&r);

    err_t e;
    ledger_t *l = ledger_open(f->cfg.ledger, &e);
    queue_t *q = queue_open(f->cfg.queue, &e);
    ledger_claim_t c;
    size_t n;
    ledger_result_t res = {.url = "file:///x", .store_key = "k", .sha256 = "00",
                           .model = "draft", .bytes = 8, .seed = 1};
    assert_non_null(l);
    assert_non_null(q);
    assert_int_equal(ledger_claim(l, b, "ok", 1, "t", 60, &c, &e), ERR_OK);
    assert_int_equal(ledger_succeed(l, b, "ok", "t", &res, &e), ERR_OK);
    assert_int_equal(ledger_claim(l, b, "bad", 1, "t", 60, &c, &e), ERR_OK);
    assert_int_equal(ledger_fail(l, b, "bad", 1, "t", JOB_FAILED, "ERR_IO", "broke", &e),
                     ERR_OK);
    assert_int_equal(ledger_cancel(l, b, "gone", &n, &e), ERR_OK);
    /* The worker deleted the three messages. */
    queue_msg_t *m = NULL;
    size_t nm = 0;
    assert_int_equal(queue_receive(q, 10, 60, 0, &m, &nm, &e), ERR_OK);
    assert_int_equal(nm, 3);
    for (size_t i = 0; i < nm; i++)
        assert_int_equal(queue_delete(q, m[i].receipt, &e), ERR_OK);
    queue_msgs_free(m, nm);
    queue_close(q);
    ledger_close(l);
    return b;
}

static void batch_retry_reruns_failed_jobs_once(void **state)
{
    (void)state;
    fx_t *f = fx_new();
    api_response_t r = {0};
    char *b = three_outcomes(f), path[200];
    snprintf(path, sizeof path, "/batches/%s/retry", b);

    /* No body: failed only. */
    assert_int_equal(call(f, "POST", path, NULL, &r), 202);
    assert_int_equal(num(&r, "selected"), 1);
    assert_int_equal(num(&r, "retried"), 1);
    assert_int_equal(num(&r, "enqueued"), 1);
    assert_non_null(strstr(r.body, "\"states\":[\"failed\"]"));
    assert_int_equal(queued_messages(f), 1);
    /* A second retry while the first is pending: nothing to do. */
    assert_int_equal(call(f, "POST", path, "{}", &r), 200);
    assert_int_equal(num(&r, "retried"), 0);
    assert_int_equal(num(&r, "enqueued"), 0);
    assert_int_equal(queued_messages(f), 1);
    /* The cancelled one, by state. */
    assert_int_equal(call(f, "POST", path, "{\"states\":[\"cancelled\",\"filtered\"]}", &r),
                     202);
    assert_int_equal(num(&r, "retried"), 1);
    assert_int_equal(queued_messages(f), 2);
    /* GET shows run 2 and both runs. */
    assert_int_equal(call(f, "GET", "/jobs/bad", NULL, &r), 200);
    json_t *v = body_of(&r);
    assert_int_equal(json_integer_value(json_object_get(v, "run")), 2);
    json_t *runs = json_object_get(v, "runs");
    assert_int_equal(json_array_size(runs), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(runs, 0), "state")),
                        "failed");
    assert_string_equal(json_string_value(json_object_get(json_array_get(runs, 1), "state")),
                        "queued");
    json_decref(v);
    api_response_free(&r);
    free(b);
    fx_free(f);
}

static void job_retry_takes_one_job(void **state)
{
    (void)state;
    fx_t *f = fx_new();
    api_response_t r = {0};
    char *b = three_outcomes(f);
    assert_int_equal(call(f, "POST", "/jobs/ok/retry", NULL, &r), 200);   /* succeeded */
    assert_int_equal(num(&r, "selected"), 0);
    assert_int_equal(call(f, "POST", "/jobs/gone/retry", "{\"states\":[\"cancelled\"]}", &r),
                     202);
    assert_int_equal(num(&r, "retried"), 1);
    json_t *v = body_of(&r);
    assert_string_equal(json_string_value(json_object_get(v, "job_id")), "gone");
    assert_string_equal(json_string_value(json_object_get(v, "batch_id")), b);
    assert_string_equal(json_string_value(json_object_get(v, "status_url")), "/jobs/gone");
    json_decref(v);
    assert_int_equal(queued_messages(f), 1);
    api_response_free(&r);
    free(b);
    fx_free(f);
}

static void bad_input_is_refused_and_changes_nothing(void **state)
{
    (void)state;
    fx_t *f = fx_new();
    api_response_t r = {0};
    char *b = three_outcomes(f), path[200];
    snprintf(path, sizeof path, "/batches/%s/retry", b);
    static const struct {
        const char *method, *path, *body, *needle;
        int status;
    } cases[] = {
        {"POST", "/jobs/nosuch/retry", NULL, "no such job", 404},
        {"POST", "/batches/nosuch/retry", NULL, "no such batch", 404},
        {"POST", "/batches/bad/retry", NULL, "no such batch", 404},   /* a job id */
        {"POST", "/jobs/../retry", NULL, "no such job", 404},
        {"POST", "/jobs/bad/retry", "{\"states\":[\"bogus\"]}", "\\\"bogus\\\" is not a state", 400},
        {"POST", "/jobs/bad/retry", "{\"states\":[]}", "states", 400},
        {"POST", "/jobs/bad/retry", "{\"states\":\"failed\"}", "states", 400},
        {"POST", "/jobs/bad/retry", "{\"state\":[\"failed\"]}", "unknown field", 400},
        {"POST", "/jobs/bad/retry", "[1]", "expected an object", 400},
        {"POST", "/jobs/bad/retry", "{", "invalid JSON", 400},
        {"GET", "/jobs/bad/retry", NULL, "allows POST", 405},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int got = call(f, cases[i].method, cases[i].path, cases[i].body, &r);
        if (got != cases[i].status || !strstr(r.body, cases[i].needle))
            fail_msg("case %zu (%s %s %s): %d %s", i, cases[i].method, cases[i].path,
                     cases[i].body ? cases[i].body : "", got, r.body);
    }
    /* Nothing was re-opened or sent. */
    assert_int_equal(queued_messages(f), 0);
    assert_int_equal(call(f, "GET", "/jobs/bad", NULL, &r), 200);
    assert_non_null(strstr(r.body, "\"state\":\"failed\""));
    assert_non_null(strstr(r.body, "\"run\":1"));
    api_response_free(&r);
    free(b);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(batch_retry_reruns_failed_jobs_once),
        cmocka_unit_test(job_retry_takes_one_job),
        cmocka_unit_test(bad_input_is_refused_and_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
