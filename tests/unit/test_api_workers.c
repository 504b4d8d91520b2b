/* Tests for worker liveness in onesheet-api (common/api/api_workers.c and
 * its use in api_handlers.c): GET /workers lists the registry, /healthz
 * counts live workers per model without failing when there are none, and
 * POST /generate-poster answers 202 at once, with a warning, when no live
 * worker serves the job's model -- over real SQLite back-ends in a private
 * directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "ledger/ledger.h"
#include "api_fixture.h"
#include "testutil.h"

typedef api_fx_t fx_t;

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* sync_timeout_s: how long /generate-poster waits when someone could
 * make the poster. */
static fx_t *fx_new(double sync_timeout_s)
{
    api_options_t o = {.loopback = true, .sync_timeout_s = sync_timeout_s,
                       .poll_interval_s = 0.05};
    return api_fx_new(o, false, NULL);
}

static void fx_free(fx_t *f) { api_fx_free(f); }

static int call(fx_t *f, const char *method, const char *path, const char *body,
                api_response_t *r)
{
    return api_fx_call(f, method, path, "application/json", body, NULL, NULL, r);
}

/* Registers a worker serving models, last seen seen_ago_ms ago with a 1 s
 * beat (stale after 3 s). */
static void beat(fx_t *f, const char *id, const char *models, int64_t seen_ago_ms)
{
    err_t e;
    err_clear(&e);
    ledger_t *l = ledger_open(f->cfg.ledger, &e);
    assert_non_null(l);
    int64_t now = wall_ms();
    ledger_worker_t w = {.id = (char *)id, .host = (char *)"h", .version = (char *)"0.1.0",
                         .models = (char *)models, .pid = 7, .started_ms = now - 60000,
                         .last_seen_ms = now - seen_ago_ms, .beat_ms = 1000};
    assert_int_equal(ledger_worker_beat(l, &w, &e), ERR_OK);
    ledger_close(l);
}

static json_t *body(const api_response_t *r)
{
    json_t *v = json_loadb(r->body, r->body_len, 0, NULL);
    assert_non_null(v);
    return v;
}

static void workers_lists_the_registry_alive_or_stale(void **state)
{
    (void)state;
    fx_t *f = fx_new(0.3);
    api_response_t r = {0};
    assert_int_equal(call(f, "GET", "/workers", NULL, &r), 200);
    json_t *v = body(&r);
    assert_int_equal(json_array_size(json_object_get(v, "workers")), 0);
    assert_int_equal(json_integer_value(json_object_get(v, "alive")), 0);
    json_decref(v);

    beat(f, "h:1:a", "draft", 0);
    beat(f, "h:2:b", "stability.stable-image-core-v1:1", 10000);
    assert_int_equal(call(f, "GET", "/workers", NULL, &r), 200);
    v = body(&r);
    json_t *ws = json_object_get(v, "workers");
    assert_int_equal(json_array_size(ws), 2);
    assert_int_equal(json_integer_value(json_object_get(v, "alive")), 1);
    json_t *a = json_array_get(ws, 0), *b = json_array_get(ws, 1);
    assert_string_equal(json_string_value(json_object_get(a, "id")), "h:1:a");
    assert_string_equal(json_string_value(json_object_get(a, "state")), "alive");
    assert_true(json_is_true(json_object_get(a, "alive")));
    assert_string_equal(json_string_value(json_array_get(json_object_get(a, "models"), 0)),
                        "draft");
    assert_string_equal(json_string_value(json_object_get(b, "state")), "stale");
    json_decref(v);
    assert_int_equal(call(f, "POST", "/workers", "{}", &r), 405);
    api_response_free(&r);
    fx_free(f);
}

static void healthz_counts_live_workers_per_model_and_stays_healthy_without(void **state)
{
    (void)state;
    fx_t *f = fx_new(0.3);
    api_response_t r = {0};
    assert_int_equal(call(f, "GET", "/healthz", NULL, &r), 200);
    json_t *v = body(&r);
    json_t *w = json_object_get(v, "workers");
    assert_int_equal(json_integer_value(json_object_get(w, "alive")), 0);
    assert_int_equal(json_object_size(json_object_get(w, "models")), 0);
    json_decref(v);

    beat(f, "h:1:a", "draft", 0);
    beat(f, "h:2:b", "draft", 0);
    beat(f, "h:3:c", "stability.stable-image-core-v1:1", 60000);
    assert_int_equal(call(f, "GET", "/healthz", NULL, &r), 200);
    v = body(&r);
    w = json_object_get(v, "workers");
    assert_int_equal(json_integer_value(json_object_get(w, "alive")), 2);
    assert_int_equal(json_integer_value(json_object_get(w, "stale")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(w, "models"),
                                                        "draft")), 2);
    assert_null(json_object_get(json_object_get(w, "models"), "stability.stable-image-core-v1:1"));
    json_decref(v);
    api_response_free(&r);
    fx_free(f);
}

static void generate_answers_at_once_when_no_worker_serves_the_model(void **state)
{
    (void)state;
    /* A 20 s wait, were anyone able to make the poster. */
    fx_t *f = fx_new(20);
    api_response_t r = {0};
    /* A live worker, but of the wrong model; and a stale one of the right. */
    beat(f, "h:1:a", "draft", 0);
    beat(f, "h:2:b", "stability.stable-image-core-v1:1", 10000);
    int64_t t0 = wall_ms();
    assert_int_equal(call(f, "POST", "/generate-poster",
                          "{\"prompt\":\"a fox\",\"model\":\"stability.stable-image-core-v1:1\"}", &r),
                     202);
    assert_true(wall_ms() - t0 < 2000);
    json_t *v = body(&r);
    const char *warn = json_string_value(json_object_get(v, "warning"));
    assert_non_null(warn);
    assert_non_null(strstr(warn, "no worker"));
    assert_non_null(strstr(warn, "stability.stable-image-core-v1:1"));
    assert_true(json_is_string(json_object_get(v, "worker_last_seen")));
    assert_string_equal(json_string_value(json_object_get(v, "state")), "queued");
    json_decref(v);
    api_response_free(&r);
    fx_free(f);
}

static void generate_still_waits_when_a_worker_serves_the_model(void **state)
{
    (void)state;
    fx_t *f = fx_new(0.5);
    api_response_t r = {0};
    beat(f, "h:1:a", "draft", 0);
    int64_t t0 = wall_ms();
    /* Nobody really runs: the wait ends with the timeout, without a warning. */
    assert_int_equal(call(f, "POST", "/generate-poster", "{\"prompt\":\"a fox\"}", &r), 202);
    assert_true(wall_ms() - t0 >= 400);
    json_t *v = body(&r);
    assert_null(json_object_get(v, "warning"));
    json_decref(v);
    api_response_free(&r);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(workers_lists_the_registry_alive_or_stale),
        cmocka_unit_test(healthz_counts_live_workers_per_model_and_stays_healthy_without),
        cmocka_unit_test(generate_answers_at_once_when_no_worker_serves_the_model),
        cmocka_unit_test(generate_still_waits_when_a_worker_serves_the_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
