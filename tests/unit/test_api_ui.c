/* Tests for the dashboard's routes (common/api/api_ui*.c, issue 19): the
 * embedded pages are public with a Content-Security-Policy while the
 * JSON needs the key; a batch page is a window of the batch with its
 * filters; the live channel reads the ledger at most once a second
 * however often it is asked; cancel from the page; prompts with markup
 * come back as JSON strings -- over real SQLite back-ends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_ui_internal.h"
#include "ledger/ledger.h"
#include "api_fixture.h"
#include "testutil.h"

static int64_t fixed_now = 1800000000000LL;
static int64_t clock_fixed(void) { return fixed_now; }

static api_fx_t *fx(const char *keys)
{
    api_options_t o = {.loopback = true, .sync_timeout_s = 0, .poll_interval_s = 0.05};
    api_fx_t *f = api_fx_new(o, false, keys);
    fixed_now = 1800000000000LL;
    api_set_clock(f->api, clock_fixed);
    return f;
}

/* A batch "b1" of n queued jobs j0..j(n-1); j0's prompt carries markup. */
static void add_batch(api_fx_t *f, size_t n)
{
    err_t e;
    ledger_t *l = ledger_open(f->cfg.ledger, &e);
    assert_non_null(l);
    ledger_new_job_t *jobs = calloc(n, sizeof *jobs);
    char (*ids)[16] = calloc(n, 16);
    char (*specs)[160] = calloc(n, 160);
    for (size_t i = 0; i < n; i++) {
        snprintf(ids[i], 16, "j%zu", i);
        snprintf(specs[i], 160, "{\"prompt\":\"%s %zu\",\"model\":\"draft\"}",
                 i == 0 ? "<img src=x onerror=alert(1)>" : "a lighthouse", i);
        jobs[i] = (ledger_new_job_t){ids[i], specs[i], (int)i + 1};
    }
    bool created;
    size_t added;
    assert_int_equal(ledger_add_batch(l, "b1", "t.txt", jobs, n, &created, &added, &e), ERR_OK);
    assert_int_equal(added, n);
    ledger_close(l);
    free(jobs);
    free(ids);
    free(specs);
}

static int call(api_fx_t *f, const char *method, const char *path, const char *query,
                const char *ctype, const char *key, api_response_t *r)
{
    api_header_t h[3] = {{"Host", "127.0.0.1:8080"}};
    size_t n = 1;
    if (ctype)
        h[n++] = (api_header_t){"Content-Type", ctype};
    if (key)
        h[n++] = (api_header_t){"X-Api-Key", key};
    api_request_t req = {.method = method, .path = path, .query = query, .headers = h,
                         .nheaders = n, .client = "127.0.0.1", .base_path = ""};
    api_response_free(r);
    api_handle(f->api, &req, r);
    return r->status;
}

static json_t *body(const api_response_t *r)
{
    json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
    assert_non_null(j);
    return j;
}

static long long queries(api_fx_t *f)
{
    api_response_t r = {0};
    assert_int_equal(call(f, "GET", "/ui/api/stats", NULL, NULL, NULL, &r), 200);
    json_t *j = body(&r);
    long long n = json_integer_value(json_object_get(j, "ledger_queries"));
    json_decref(j);
    api_response_free(&r);
    return n;
}

static void pages_are_public_with_a_csp_and_json_needs_the_key(void **state)
{
    (void)state;
    /* sha256("k") */
    api_fx_t *f = fx("8254c329a92850f6d539dd376f4816ee2764517da5e0235514af433164480d7a");
    api_response_t r = {0};
    const char *pages[] = {"/ui", "/ui/", "/ui/batches/b1", "/ui/jobs/j1"};
    for (size_t i = 0; i < sizeof pages / sizeof *pages; i++) {
        assert_int_equal(call(f, "GET", pages[i], NULL, NULL, NULL, &r), 200);
        assert_string_equal(r.content_type, "text/html; charset=utf-8");
        assert_non_null(strstr(r.csp, "script-src 'self'"));
        assert_non_null(strstr(r.body, "src=\"/ui/app.js\""));
    }
    assert_int_equal(call(f, "GET", "/ui/app.js", NULL, NULL, NULL, &r), 200);
    assert_string_equal(r.content_type, "text/javascript; charset=utf-8");
    /* Nothing in the script writes markup from data. */
    assert_null(strstr(r.body, "innerHTML"));
    assert_null(strstr(r.body, "insertAdjacentHTML"));
    assert_int_equal(call(f, "GET", "/ui/app.css", NULL, NULL, NULL, &r), 200);
    assert_int_equal(call(f, "GET", "/ui/nope.js", NULL, NULL, NULL, &r), 404);
    assert_int_equal(call(f, "GET", "/ui/batches/..%2f", NULL, NULL, NULL, &r), 404);
    assert_int_equal(call(f, "POST", "/ui/", NULL, NULL, NULL, &r), 405);
    assert_int_equal(call(f, "GET", "/ui/api/overview", NULL, NULL, NULL, &r), 401);
    assert_int_equal(call(f, "GET", "/ui/api/overview", NULL, NULL, "k", &r), 200);
    json_t *j = body(&r);
    assert_int_equal(json_array_size(json_object_get(j, "batches")), 0);
    assert_int_equal(json_array_size(json_object_get(j, "throughput_per_min")), 60);
    json_decref(j);
    api_response_free(&r);
    api_fx_free(f);
}

static void batch_page_is_a_window_with_filters(void **state)
{
    (void)state;
    api_fx_t *f = fx(NULL);
    api_response_t r = {0};
    add_batch(f, 7);
    assert_int_equal(call(f, "GET", "/ui/api/batches/b1", "limit=3&offset=2", NULL, NULL, &r),
                     200);
    json_t *j = body(&r);
    json_t *jobs = json_object_get(j, "jobs");
    assert_int_equal(json_array_size(jobs), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(jobs, 0), "job_id")),
                        "j2");
    assert_int_equal(json_integer_value(json_object_get(j, "matched")), 7);
    json_t *b = json_object_get(j, "batch");
    assert_int_equal(json_integer_value(json_object_get(b, "total")), 7);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(b, "by_state"), "queued")),
                     7);
    assert_string_equal(json_string_value(json_object_get(b, "source")), "t.txt");
    assert_true(json_is_null(json_object_get(b, "eta_s")));
    json_decref(j);
    /* The markup is data: a JSON string, escaped by the encoder. */
    assert_int_equal(call(f, "GET", "/ui/api/batches/b1", "limit=1", NULL, NULL, &r), 200);
    j = body(&r);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(j, "jobs"), 0), "prompt")),
        "<img src=x onerror=alert(1)> 0");
    json_decref(j);
    assert_int_equal(call(f, "GET", "/ui/api/batches/b1", "state=succeeded", NULL, NULL, &r), 200);
    j = body(&r);
    assert_int_equal(json_integer_value(json_object_get(j, "matched")), 0);
    json_decref(j);
    assert_int_equal(call(f, "GET", "/ui/api/batches/b1", "state=bogus", NULL, NULL, &r), 400);
    assert_int_equal(call(f, "GET", "/ui/api/batches/nope", NULL, NULL, NULL, &r), 404);
    /* A page is capped at API_UI_PAGE_MAX however much is asked. */
    assert_int_equal(call(f, "GET", "/ui/api/batches/b1", "limit=100000", NULL, NULL, &r), 200);
    j = body(&r);
    assert_int_equal(json_integer_value(json_object_get(j, "limit")), API_UI_PAGE_MAX);
    json_decref(j);
    api_response_free(&r);
    api_fx_free(f);
}

static void live_channel_reads_the_ledger_once_a_second(void **state)
{
    (void)state;
    api_fx_t *f = fx(NULL);
    api_response_t r = {0};
    add_batch(f, 5);
    long long q0 = queries(f);
    for (int i = 0; i < 50; i++) /* fifty watchers in the same second */
        assert_int_equal(call(f, "GET", "/ui/api/batches/b1", NULL, NULL, NULL, &r), 200);
    long long q1 = queries(f);
    assert_int_equal(q1 - q0, 2); /* the batch row once, then its jobs */
    fixed_now += 999;
    for (int i = 0; i < 50; i++)
        assert_int_equal(call(f, "GET", "/ui/api/batches/b1", NULL, NULL, NULL, &r), 200);
    assert_int_equal(queries(f), q1);
    fixed_now += 1;
    for (int i = 0; i < 50; i++)
        assert_int_equal(call(f, "GET", "/ui/api/batches/b1", NULL, NULL, NULL, &r), 200);
    assert_int_equal(queries(f), q1 + 1);
    api_response_free(&r);
    api_fx_free(f);
}

static void a_failing_ledger_leaves_watchers_the_last_read(void **state)
{
    (void)state;
    api_fx_t *f = fx(NULL);
    api_response_t r = {0};
    add_batch(f, 3);
    assert_int_equal(call(f, "GET", "/ui/api/batches/b1", NULL, NULL, NULL, &r), 200);
    /* The jobs table goes away under the API: the next read fails. */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->cfg.ledger + strlen("sqlite:"), &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "ALTER TABLE ledger_jobs RENAME TO gone", NULL, NULL,
                                  NULL), SQLITE_OK);
    fixed_now += 1000;
    assert_int_equal(call(f, "GET", "/ui/api/batches/b1", NULL, NULL, NULL, &r), 200);
    json_t *j = body(&r);
    assert_int_equal(json_array_size(json_object_get(j, "jobs")), 3);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "batch"), "read_at")),
                        "2027-01-15T08:00:00Z");
    json_decref(j);
    /* A batch never read has nothing to fall back on. */
    assert_int_equal(call(f, "GET", "/ui/api/batches/b2", NULL, NULL, NULL, &r) >= 404, 1);
    assert_int_equal(sqlite3_exec(db, "ALTER TABLE gone RENAME TO ledger_jobs", NULL, NULL,
                                  NULL), SQLITE_OK);
    sqlite3_close(db);
    api_response_free(&r);
    api_fx_free(f);
}

static void cancel_from_the_page_needs_json_and_cancels(void **state)
{
    (void)state;
    api_fx_t *f = fx(NULL);
    api_response_t r = {0};
    add_batch(f, 4);
    /* A cross-site form cannot send application/json. */
    assert_int_equal(call(f, "POST", "/ui/api/batches/b1/cancel", NULL,
                          "application/x-www-form-urlencoded", NULL, &r), 415);
    assert_int_equal(call(f, "GET", "/ui/api/batches/b1/cancel", NULL, NULL, NULL, &r), 405);
    assert_int_equal(call(f, "POST", "/ui/api/batches/nope/cancel", NULL, "application/json",
                          NULL, &r), 404);
    assert_int_equal(call(f, "POST", "/ui/api/batches/b1/cancel", NULL, "application/json",
                          NULL, &r), 200);
    json_t *j = body(&r);
    assert_int_equal(json_integer_value(json_object_get(j, "cancelled")), 4);
    json_decref(j);
    fixed_now += 1000;
    assert_int_equal(call(f, "GET", "/ui/api/batches/b1", NULL, NULL, NULL, &r), 200);
    j = body(&r);
    json_t *b = json_object_get(j, "batch");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(b, "by_state"), "cancelled")), 4);
    assert_int_equal(json_integer_value(json_object_get(b, "eta_s")), 0);
    json_decref(j);
    api_response_free(&r);
    api_fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pages_are_public_with_a_csp_and_json_needs_the_key),
        cmocka_unit_test(batch_page_is_a_window_with_filters),
        cmocka_unit_test(live_channel_reads_the_ledger_once_a_second),
        cmocka_unit_test(a_failing_ledger_leaves_watchers_the_last_read),
        cmocka_unit_test(cancel_from_the_page_needs_json_and_cancels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
