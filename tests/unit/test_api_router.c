/* Tests for the onesheet-api router (common/api/api_router.c, api_handlers.c):
 * every error status, authentication with constant-time comparison of every
 * key, the per-key rate limit, the body limits, and the job endpoints over
 * real SQLite back-ends in a private directory. */
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

/* sha256("test-key") and sha256("other-key"). */
static char key_hashes[200];
static const char *KEY = "test-key";

typedef api_fx_t fx_t;

static fx_t *fx_new(const char *ledger_override, const char *keys, double rate, double burst)
{
    api_options_t o = {.loopback = true, .sync_timeout_s = 0.3, .poll_interval_s = 0.05,
                       .rate_per_s = rate, .rate_burst = burst};
    return api_fx_new(o, ledger_override != NULL, keys);
}

static void fx_free(fx_t *f) { api_fx_free(f); }

/* One request; returns the status and leaves the response in *r. */
static int call(fx_t *f, const char *method, const char *path, const char *ctype,
                const char *body, const char *key, api_response_t *r)
{
    return api_fx_call(f, method, path, ctype, body, key, NULL, r);
}

/* The error code of an error body ("" when it is not one). */
static const char *err_code(const api_response_t *r)
{
    static char code[64];
    json_t *v = json_loadb(r->body, r->body_len, 0, NULL);
    const char *c = json_string_value(json_object_get(json_object_get(v, "error"), "code"));
    snprintf(code, sizeof code, "%s", c ? c : "");
    json_t *m = json_object_get(json_object_get(v, "error"), "message");
    if (c)
        assert_true(json_is_string(m));
    json_decref(v);
    return code;
}

static char *field(const api_response_t *r, const char *name)
{
    json_t *v = json_loadb(r->body, r->body_len, 0, NULL);
    const char *s = json_string_value(json_object_get(v, name));
    char *out = s ? strdup(s) : NULL;
    json_decref(v);
    return out;
}

static void unknown_path_is_404_and_wrong_method_is_405_with_allow(void **state)
{
    (void)state;
    fx_t *f = fx_new(NULL, NULL, 0, 0);
    api_response_t r = {0};
    assert_int_equal(call(f, "GET", "/nope", NULL, NULL, NULL, &r), 404);
    assert_string_equal(err_code(&r), "not_found");
    assert_int_equal(call(f, "GET", "/generate-poster", NULL, NULL, NULL, &r), 405);
    assert_string_equal(r.allow, "POST");
    assert_string_equal(err_code(&r), "method_not_allowed");
    assert_int_equal(call(f, "PUT", "/jobs/j1", NULL, NULL, NULL, &r), 405);
    assert_string_equal(r.allow, "GET, DELETE");
    assert_int_equal(call(f, "POSTX", "/jobs", NULL, NULL, NULL, &r), 405);
    assert_int_equal(call(f, "GET", "/jobs/..", NULL, NULL, NULL, &r), 404);
    assert_int_equal(call(f, "GET", "/jobs/jnosuchjob", NULL, NULL, NULL, &r), 404);
    assert_int_equal(call(f, "GET", "/batches/bnosuch", NULL, NULL, NULL, &r), 404);
    assert_int_equal(call(f, "DELETE", "/jobs/jnosuchjob", NULL, NULL, NULL, &r), 404);
    assert_int_equal(call(f, "GET", "/healthz", NULL, NULL, NULL, &r), 200);
    api_response_free(&r);
    fx_free(f);
}

static void requests_need_a_valid_key_except_health_and_openapi(void **state)
{
    (void)state;
    fx_t *f = fx_new(NULL, key_hashes, 0, 0);
    api_response_t r = {0};
    assert_int_equal(call(f, "GET", "/jobs/j1", NULL, NULL, NULL, &r), 401);
    assert_string_equal(err_code(&r), "unauthorized");
    assert_int_equal(call(f, "GET", "/jobs/j1", NULL, NULL, "wrong", &r), 401);
    assert_int_equal(call(f, "GET", "/jobs/j1", NULL, NULL, "", &r), 401);
    /* Unknown paths do not tell unauthenticated callers what exists. */
    assert_int_equal(call(f, "GET", "/admin", NULL, NULL, NULL, &r), 401);
    assert_int_equal(call(f, "GET", "/jobs/j1", NULL, NULL, KEY, &r), 404);
    assert_int_equal(call(f, "GET", "/jobs/j1", NULL, NULL, "other-key", &r), 404);
    assert_int_equal(call(f, "GET", "/healthz", NULL, NULL, NULL, &r), 200);
    assert_int_equal(call(f, "GET", "/openapi.json", NULL, NULL, NULL, &r), 200);
    assert_true(api_auth_enabled(f->api));
    api_response_free(&r);
    fx_free(f);
}

static int compares;
static int counting_equal(const void *a, const void *b, size_t n)
{
    compares++;
    return crypto_equal(a, b, n);
}

static void auth_compares_every_key_in_constant_time(void **state)
{
    (void)state;
    fx_t *f = fx_new(NULL, key_hashes, 0, 0);
    api_response_t r = {0};
    api_set_key_compare(f->api, counting_equal);
    /* The first key matches, yet both are compared: no early exit that
     * would tell which key (or that any) matched by timing. */
    compares = 0;
    assert_int_equal(call(f, "GET", "/jobs/j1", NULL, NULL, KEY, &r), 404);
    assert_int_equal(compares, 2);
    compares = 0;
    assert_int_equal(call(f, "GET", "/jobs/j1", NULL, NULL, "nope", &r), 401);
    assert_int_equal(compares, 2);
    api_response_free(&r);
    fx_free(f);
}

static void no_keys_are_refused_off_loopback(void **state)
{
    (void)state;
    fx_t *f = fx_new(NULL, NULL, 0, 0);
    err_t e;
    api_options_t o = {.cfg = &f->cfg, .loopback = false};
    assert_null(api_new(&o, f->pool, &e));
    assert_int_equal(e.code, ERR_CONFIG);
    assert_false(api_auth_enabled(f->api));
    fx_free(f);
}

static int64_t fake_ms;
static int64_t fake_clock(void) { return fake_ms; }

static void rate_limit_is_per_key_with_retry_after(void **state)
{
    (void)state;
    fx_t *f = fx_new(NULL, key_hashes, 0.5, 2);
    api_response_t r = {0};
    api_set_clock(f->api, fake_clock);
    fake_ms = 1000000;
    assert_int_equal(call(f, "GET", "/jobs/j1", NULL, NULL, KEY, &r), 404);
    assert_int_equal(call(f, "GET", "/jobs/j1", NULL, NULL, KEY, &r), 404);
    assert_int_equal(call(f, "GET", "/jobs/j1", NULL, NULL, KEY, &r), 429);
    assert_string_equal(err_code(&r), "rate_limited");
    assert_int_equal(r.retry_after, 2);   /* one token at 0.5/s */
    /* Another key has its own bucket; health checks are not limited. */
    assert_int_equal(call(f, "GET", "/jobs/j1", NULL, NULL, "other-key", &r), 404);
    assert_int_equal(call(f, "GET", "/healthz", NULL, NULL, NULL, &r), 200);
    fake_ms += 2000;
    assert_int_equal(call(f, "GET", "/jobs/j1", NULL, NULL, KEY, &r), 404);
    assert_int_equal(call(f, "GET", "/jobs/j1", NULL, NULL, KEY, &r), 429);
    api_response_free(&r);
    fx_free(f);
}

static void bodies_over_64k_are_413_and_non_json_is_415(void **state)
{
    (void)state;
    fx_t *f = fx_new(NULL, NULL, 0, 0);
    api_response_t r = {0};
    char *big = malloc(API_MAX_BODY + 2);
    memset(big, ' ', API_MAX_BODY + 1);
    big[API_MAX_BODY + 1] = '\0';
    assert_int_equal(call(f, "POST", "/jobs", "application/json", big, NULL, &r), 413);
    assert_string_equal(err_code(&r), "payload_too_large");
    big[API_MAX_BODY] = '\0';   /* exactly the limit is fine (then bad JSON) */
    assert_int_equal(call(f, "POST", "/jobs", "application/json", big, NULL, &r), 400);
    free(big);
    api_request_t req = {.method = "POST", .path = "/generate-poster", .body_too_big = true};
    api_response_free(&r);
    api_handle(f->api, &req, &r);
    assert_int_equal(r.status, 413);
    const char *body = "{\"prompt\":\"x\"}";
    assert_int_equal(call(f, "POST", "/jobs", NULL, body, NULL, &r), 415);
    assert_string_equal(err_code(&r), "unsupported_media_type");
    assert_int_equal(call(f, "POST", "/jobs", "text/plain", body, NULL, &r), 415);
    assert_int_equal(call(f, "POST", "/jobs", "application/jsonx", body, NULL, &r), 415);
    assert_int_equal(call(f, "POST", "/jobs", "application/json; charset=utf-8", body, NULL, &r),
                     202);
    api_response_free(&r);
    fx_free(f);
}

static void bad_request_bodies_are_400_naming_the_problem(void **state)
{
    (void)state;
    fx_t *f = fx_new(NULL, NULL, 0, 0);
    api_response_t r = {0};
    static const struct { const char *path, *body, *want; } cases[] = {
        {"/generate-poster", "", "JSON"},
        {"/generate-poster", "{\"prompt\":", "JSON"},
        {"/generate-poster", "[]", ""},
        {"/generate-poster", "{}", "prompt"},
        {"/generate-poster", "{\"prompt\":\"\"}", "prompt"},
        {"/generate-poster", "{\"prompt\":\"x\",\"colour\":\"red\"}", "colour"},
        {"/generate-poster", "{\"prompt\":\"x\",\"prompt\":\"y\"}", "prompt"},
        {"/generate-poster", "{\"prompt\":\"x\\u0000\"}", "prompt"},
        {"/generate-poster", "{\"prompt\":\"x\",\"seed\":-1}", "seed"},
        {"/generate-poster", "{\"prompt\":\"x\",\"aspect_ratio\":\"7:3\"}", "aspect_ratio"},
        {"/jobs", "", "JSON"},
        {"/jobs", "[]", "list"},
        {"/jobs", "42", "invalid JSON"},
        {"/jobs", "{\"a\":1}", "jobs[0]: a"},
        {"/jobs", "[42]", "jobs[0]"},
        {"/jobs", "[{\"prompt\":\"a\"},{\"prompt\":\"b\",\"seed\":\"x\"}]", "jobs[1]: seed"},
        {"/jobs", "[{\"id\":\"a\",\"prompt\":\"a\"},{\"id\":\"a\",\"prompt\":\"b\"}]", "jobs[1]"},
        {"/jobs", "{\"prompt\":\"a\",\"prompt\":\"b\"}", "duplicate"},
        {"/jobs", "{\"prompt\":\"a\\u0000\"}", "JSON"},
        {"/generate-poster", "{\"prompt\":\"x\",\"model\":\"stability.sd3-5-larg-v1:0\"}",
         "\"model: unknown model \\\"stability.sd3-5-larg-v1:0\\\" "
         "(did you mean \\\"stability.sd3-5-large-v1:0\\\"?)\""},
        {"/jobs", "[{\"prompt\":\"a\"},{\"prompt\":\"b\",\"model\":\"us.stability.sd3-5-larg-v1:0\"}]",
         "\"jobs[1]: model: unknown model \\\"us.stability.sd3-5-larg-v1:0\\\" "
         "(did you mean \\\"us.stability.sd3-5-large-v1:0\\\"?)\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int st = call(f, "POST", cases[i].path, "application/json", cases[i].body, NULL, &r);
        if (st != 400 || strcmp(err_code(&r), "bad_request") != 0 || !strstr(r.body, cases[i].want))
            fail_msg("case %zu (%s %s): %d %s", i, cases[i].path, cases[i].body, st, r.body);
    }
    /* Nothing was enqueued by any of them. */
    assert_int_equal(call(f, "GET", "/healthz", NULL, NULL, NULL, &r), 200);
    assert_non_null(strstr(r.body, "\"visible\":0"));
    api_response_free(&r);
    fx_free(f);
}

/* Marks job (batch b) succeeded as a worker would, with a stored file. */
static void finish_job(fx_t *f, const char *b, const char *j)
{
    err_t e;
    ledger_t *l = ledger_open(f->cfg.ledger, &e);
    ledger_claim_t c;
    char key[300], path[700];
    snprintf(key, sizeof key, "%s/%s.png", b, j);
    snprintf(path, sizeof path, "%s/posters/%s", f->dir, b);
    ledger_result_t res = {.url = "file:///x", .store_key = key, .sha256 = "00", .model = "draft",
                           .bytes = 8, .seed = 1};
    assert_int_equal(ledger_claim(l, b, j, 1, "t", 60, &c, &e), ERR_OK);
    assert_int_equal(c, CLAIM_OK);
    assert_int_equal(ledger_succeed(l, b, j, "t", &res, &e), ERR_OK);
    ledger_close(l);
}

static void generate_answers_202_then_200_once_the_job_succeeded(void **state)
{
    (void)state;
    fx_t *f = fx_new(NULL, NULL, 0, 0);
    api_response_t r = {0};
    const char *body = "{\"prompt\": \"A futuristic city skyline at sunset\"}";
    /* No worker: the sync wait (0.3 s here) runs out. */
    assert_int_equal(call(f, "POST", "/generate-poster", "application/json", body, NULL, &r), 202);
    char *job = field(&r, "job_id"), *batch = field(&r, "batch_id"), *su = field(&r, "status_url");
    assert_non_null(job);
    char want[200];
    snprintf(want, sizeof want, "/jobs/%s", job);
    assert_string_equal(su, want);
    assert_int_equal(call(f, "GET", su, NULL, NULL, NULL, &r), 200);
    char *st = field(&r, "state");
    assert_string_equal(st, "queued");
    free(st);
    finish_job(f, batch, job);
    /* The same request is the same job: now answered at once with its URL. */
    assert_int_equal(call(f, "POST", "/generate-poster", "application/json", body, NULL, &r), 200);
    char *url = field(&r, "url"), *job2 = field(&r, "job_id");
    assert_string_equal(job2, job);
    assert_non_null(strstr(url, "file://"));
    assert_non_null(strstr(url, ".png"));
    assert_non_null(strstr(r.body, "\"expires_at\":null"));
    free(url);
    free(job2);
    assert_int_equal(call(f, "GET", su, NULL, NULL, NULL, &r), 200);
    st = field(&r, "state");
    assert_string_equal(st, "succeeded");
    free(st);
    /* A finished job cannot be cancelled. */
    assert_int_equal(call(f, "DELETE", su, NULL, NULL, NULL, &r), 409);
    assert_string_equal(err_code(&r), "conflict");
    snprintf(want, sizeof want, "/batches/%s", batch);
    assert_int_equal(call(f, "GET", want, NULL, NULL, NULL, &r), 200);
    assert_non_null(strstr(r.body, "\"done\":true"));
    free(job);
    free(batch);
    free(su);
    api_response_free(&r);
    fx_free(f);
}

static void prefer_respond_async_answers_at_once_and_delete_cancels(void **state)
{
    (void)state;
    fx_t *f = fx_new(NULL, NULL, 0, 0);
    api_response_t r = {0};
    api_header_t h[2] = {{"content-type", "application/json"}, {"Prefer", "respond-async"}};
    const char *body = "{\"prompt\": \"A quiet harbour\", \"seed\": 7}";
    api_request_t req = {.method = "POST", .path = "/generate-poster", .headers = h,
                         .nheaders = 2, .body = body, .body_len = strlen(body),
                         .base_path = "/prod"};
    api_handle(f->api, &req, &r);
    assert_int_equal(r.status, 202);
    char *su = field(&r, "status_url");
    assert_true(strncmp(su, "/prod/jobs/j", 12) == 0);
    assert_int_equal(call(f, "DELETE", su + 5, NULL, NULL, NULL, &r), 200);
    assert_non_null(strstr(r.body, "\"state\":\"cancelled\""));
    assert_int_equal(call(f, "DELETE", su + 5, NULL, NULL, NULL, &r), 409);
    /* Posting a cancelled job's spec again reports the cancellation. */
    api_response_free(&r);
    api_handle(f->api, &req, &r);
    assert_int_equal(r.status, 409);
    free(su);
    api_response_free(&r);
    fx_free(f);
}

static void post_jobs_makes_one_batch_and_is_idempotent(void **state)
{
    (void)state;
    fx_t *f = fx_new(NULL, NULL, 0, 0);
    api_response_t r = {0};
    const char *body = "[{\"prompt\":\"one\"},{\"id\":\"sku-2\",\"prompt\":\"two\"}]";
    assert_int_equal(call(f, "POST", "/jobs", "application/json", body, NULL, &r), 202);
    assert_non_null(strstr(r.body, "\"enqueued\":2"));
    assert_non_null(strstr(r.body, "\"job_id\":\"sku-2\""));
    char *b = field(&r, "batch_id");
    assert_int_equal(call(f, "POST", "/jobs", "application/json", body, NULL, &r), 202);
    assert_non_null(strstr(r.body, "\"enqueued\":0"));
    char *b2 = field(&r, "batch_id");
    assert_string_equal(b, b2);
    assert_int_equal(call(f, "GET", "/jobs/sku-2", NULL, NULL, NULL, &r), 200);
    char path[100];
    snprintf(path, sizeof path, "/batches/%s", b);
    assert_int_equal(call(f, "GET", path, NULL, NULL, NULL, &r), 200);
    assert_non_null(strstr(r.body, "\"total\":2"));
    assert_non_null(strstr(r.body, "\"queued\":2"));
    free(b);
    free(b2);
    api_response_free(&r);
    fx_free(f);
}

static void known_models_are_accepted_draft_bedrock_and_profiles(void **state)
{
    (void)state;
    fx_t *f = fx_new(NULL, NULL, 0, 0);
    api_response_t r = {0};
    const char *body = "[{\"prompt\":\"one\",\"model\":\"draft\"},"
                       "{\"prompt\":\"two\",\"model\":\"stability.stable-image-core-v1:1\"},"
                       "{\"prompt\":\"three\",\"model\":\"eu.stability.sd3-5-large-v1:0\"}]";
    assert_int_equal(call(f, "POST", "/jobs", "application/json", body, NULL, &r), 202);
    assert_non_null(strstr(r.body, "\"enqueued\":3"));
    api_header_t h[2] = {{"content-type", "application/json"}, {"Prefer", "respond-async"}};
    const char *one = "{\"prompt\":\"four\",\"model\":\"us.stability.stable-image-core-v1:1\"}";
    api_request_t req = {.method = "POST", .path = "/generate-poster", .headers = h,
                         .nheaders = 2, .body = one, .body_len = strlen(one),
                         .client = "127.0.0.1", .base_path = ""};
    api_response_free(&r);
    api_handle(f->api, &req, &r);
    assert_int_equal(r.status, 202);
    api_response_free(&r);
    fx_free(f);
}

static void unreachable_ledger_is_503_with_retry_after(void **state)
{
    (void)state;
    fx_t *f = fx_new("broken", NULL, 0, 0);
    api_response_t r = {0};
    assert_int_equal(call(f, "GET", "/jobs/j1", NULL, NULL, NULL, &r), 503);
    assert_string_equal(err_code(&r), "unavailable");
    assert_true(r.retry_after > 0);
    assert_null(strstr(r.body, "notadir"));   /* paths stay in the log */
    assert_non_null(strstr(r.detail, "notadir"));
    assert_int_equal(call(f, "GET", "/healthz", NULL, NULL, NULL, &r), 503);
    assert_int_equal(call(f, "POST", "/generate-poster", "application/json",
                          "{\"prompt\":\"x\"}", NULL, &r), 503);
    api_response_free(&r);
    fx_free(f);
}

static void served_openapi_is_the_repository_document(void **state)
{
    (void)state;
    char path[4096];
    const char *root = getenv("ROOT");
    size_t len;
    snprintf(path, sizeof path, "%s/api/openapi.json", root ? root : ".");
    char *doc = tu_read_file(path, &len);
    if (!doc)
        fail_msg("cannot read %s", path);
    if (strcmp(doc, api_openapi_json) != 0)
        fail_msg("common/api/api_openapi.c is stale: run tools/embed-openapi.sh");
    json_t *v = json_loads(api_openapi_json, 0, NULL);
    assert_non_null(v);
    assert_string_equal(json_string_value(json_object_get(v, "openapi")), "3.1.0");
    json_decref(v);
    free(doc);
}

static void rate_limiter_refills_and_forgets_the_least_recent_key(void **state)
{
    (void)state;
    api_ratelimit_t *rl = api_ratelimit_new(10, 1, 2);
    assert_int_equal(api_ratelimit_take(rl, "a", 0), 0);
    assert_int_equal(api_ratelimit_take(rl, "a", 0), 1);
    assert_int_equal(api_ratelimit_take(rl, "a", 100), 0);   /* 10/s: one in 100 ms */
    assert_int_equal(api_ratelimit_take(rl, "b", 200), 0);
    assert_int_equal(api_ratelimit_take(rl, "c", 300), 0);   /* evicts a */
    assert_int_equal(api_ratelimit_take(rl, "a", 300), 0);   /* a starts full again */
    api_ratelimit_free(rl);
}

int main(void)
{
    char h1[SHA256_HEX_LEN], h2[SHA256_HEX_LEN];
    crypto_sha256_hex("test-key", 8, h1);
    crypto_sha256_hex("other-key", 9, h2);
    snprintf(key_hashes, sizeof key_hashes, "%s, %s", h1, h2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unknown_path_is_404_and_wrong_method_is_405_with_allow),
        cmocka_unit_test(requests_need_a_valid_key_except_health_and_openapi),
        cmocka_unit_test(auth_compares_every_key_in_constant_time),
        cmocka_unit_test(no_keys_are_refused_off_loopback),
        cmocka_unit_test(rate_limit_is_per_key_with_retry_after),
        cmocka_unit_test(bodies_over_64k_are_413_and_non_json_is_415),
        cmocka_unit_test(bad_request_bodies_are_400_naming_the_problem),
        cmocka_unit_test(known_models_are_accepted_draft_bedrock_and_profiles),
        cmocka_unit_test(generate_answers_202_then_200_once_the_job_succeeded),
        cmocka_unit_test(prefer_respond_async_answers_at_once_and_delete_cancels),
        cmocka_unit_test(post_jobs_makes_one_batch_and_is_idempotent),
        cmocka_unit_test(unreachable_ledger_is_503_with_retry_after),
        cmocka_unit_test(served_openapi_is_the_repository_document),
        cmocka_unit_test(rate_limiter_refills_and_forgets_the_least_recent_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
