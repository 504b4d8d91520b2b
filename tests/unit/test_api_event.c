/* Tests for API Gateway proxy events (common/api/api_event.c): REST (v1) and
 * HTTP API (v2) events become the same request, stage prefixes are kept for
 * status URLs, bad events are rejected, and responses have the proxy
 * shape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

static void v1_event_gives_method_path_headers_and_stage(void **state)
{
    (void)state;
    const char *ev_text =
        "{\"resource\":\"/generate-poster\",\"path\":\"/generate-poster\","
        "\"httpMethod\":\"POST\",\"headers\":{\"Content-Type\":\"application/json\","
        "\"x-api-key\":\"k\",\"X-Null\":null},"
        "\"multiValueHeaders\":{\"Prefer\":[\"x\",\"respond-async\"],\"x-api-key\":[\"other\"]},"
        "\"queryStringParameters\":null,\"requestContext\":{\"stage\":\"prod\","
        "\"path\":\"/prod/generate-poster\",\"identity\":{\"sourceIp\":\"203.0.113.9\"}},"
        "\"body\":\"{\\\"prompt\\\": \\\"A futuristic city skyline at sunset\\\"}\","
        "\"isBase64Encoded\":false}";
    api_event_t ev;
    err_t e;
    assert_int_equal(api_event_parse(ev_text, strlen(ev_text), &ev, &e), ERR_OK);
    assert_string_equal(ev.req.method, "POST");
    assert_string_equal(ev.req.path, "/generate-poster");
    assert_string_equal(ev.req.base_path, "/prod");
    assert_string_equal(ev.req.client, "203.0.113.9");
    assert_string_equal(api_header(&ev.req, "content-type"), "application/json");
    assert_string_equal(api_header(&ev.req, "X-API-KEY"), "k");   /* single wins */
    assert_string_equal(api_header(&ev.req, "prefer"), "respond-async");
    assert_int_equal(ev.req.body_len, strlen("{\"prompt\": \"A futuristic city skyline at sunset\"}"));
    assert_false(ev.req.body_too_big);
    api_event_free(&ev);
}

static void v2_event_strips_a_named_stage_and_decodes_base64(void **state)
{
    (void)state;
    /* body: base64 of {"prompt":"hi"} */
    const char *ev_text =
        "{\"version\":\"2.0\",\"routeKey\":\"$default\",\"rawPath\":\"/beta/jobs/j1\","
        "\"rawQueryString\":\"\",\"headers\":{\"x-api-key\":\"k\"},"
        "\"requestContext\":{\"stage\":\"beta\",\"http\":{\"method\":\"GET\","
        "\"path\":\"/beta/jobs/j1\",\"sourceIp\":\"198.51.100.1\"}},"
        "\"body\":\"eyJwcm9tcHQiOiJoaSJ9\",\"isBase64Encoded\":true}";
    api_event_t ev;
    err_t e;
    assert_int_equal(api_event_parse(ev_text, strlen(ev_text), &ev, &e), ERR_OK);
    assert_string_equal(ev.req.method, "GET");
    assert_string_equal(ev.req.path, "/jobs/j1");
    assert_string_equal(ev.req.base_path, "/beta");
    assert_int_equal(ev.req.body_len, 15);
    assert_memory_equal(ev.req.body, "{\"prompt\":\"hi\"}", 15);
    api_event_free(&ev);

    const char *dflt = "{\"version\":\"2.0\",\"rawPath\":\"/healthz\",\"requestContext\":"
                       "{\"stage\":\"$default\",\"http\":{\"method\":\"GET\"}}}";
    assert_int_equal(api_event_parse(dflt, strlen(dflt), &ev, &e), ERR_OK);
    assert_string_equal(ev.req.path, "/healthz");
    assert_string_equal(ev.req.base_path, "");
    assert_int_equal(ev.req.nheaders, 0);
    assert_int_equal(ev.req.body_len, 0);
    api_event_free(&ev);
}

static void bad_events_are_rejected_with_a_reason(void **state)
{
    (void)state;
    static const struct { const char *text, *want; } cases[] = {
        {"", "invalid JSON"},
        {"{\"httpMethod\":", "invalid JSON"},
        {"[1,2]", "object"},
        {"{}", "not an API Gateway"},
        {"{\"source\":\"aws.events\",\"detail\":{}}", "not an API Gateway"},
        {"{\"httpMethod\":\"GET\"}", "not an API Gateway"},
        {"{\"httpMethod\":\"GET\",\"path\":\"relative\"}", "not an API Gateway"},
        {"{\"httpMethod\":7,\"path\":\"/x\"}", "not an API Gateway"},
        {"{\"version\":\"2.0\",\"rawPath\":\"/x\"}", "requestContext.http"},
        {"{\"httpMethod\":\"GET\",\"path\":\"/x\",\"headers\":{\"a\":1}}", "header a"},
        {"{\"httpMethod\":\"POST\",\"path\":\"/x\",\"body\":{}}", "body"},
        {"{\"httpMethod\":\"POST\",\"path\":\"/x\",\"body\":\"e30\",\"isBase64Encoded\":true}",
         "body"},
        {"{\"httpMethod\":\"POST\",\"path\":\"/x\",\"body\":\"e30=\",\"isBase64Encoded\":\"yes\"}",
         "isBase64Encoded"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        api_event_t ev;
        err_t e;
        err_clear(&e);
        err_code_t rc = api_event_parse(cases[i].text, strlen(cases[i].text), &ev, &e);
        if (rc != ERR_INVALID || !strstr(e.msg, cases[i].want))
            fail_msg("case %zu: rc %d, \"%s\" lacks \"%s\"", i, rc, e.msg, cases[i].want);
        api_event_free(&ev);
    }
}

static void oversized_bodies_are_flagged_not_copied_past_the_limit(void **state)
{
    (void)state;
    size_t n = API_MAX_BODY + 10, n64 = 90000;
    char *text = malloc(n64 + 200);
    int o = snprintf(text, 200, "{\"httpMethod\":\"POST\",\"path\":\"/jobs\",\"body\":\"");
    memset(text + o, 'a', n);
    strcpy(text + o + n, "\"}");
    api_event_t ev;
    err_t e;
    assert_int_equal(api_event_parse(text, strlen(text), &ev, &e), ERR_OK);
    assert_true(ev.req.body_too_big);
    api_event_free(&ev);
    /* Base64 too long to decode within the limit is flagged without decoding. */
    o = snprintf(text, 200, "{\"isBase64Encoded\":true,\"httpMethod\":\"POST\",\"path\":\"/jobs\",\"body\":\"");
    memset(text + o, 'A', n64);
    strcpy(text + o + n64, "\"}");
    assert_int_equal(api_event_parse(text, strlen(text), &ev, &e), ERR_OK);
    assert_true(ev.req.body_too_big);
    api_event_free(&ev);
    free(text);
}

static void responses_have_the_proxy_shape(void **state)
{
    (void)state;
    api_response_t r = {.status = 429, .content_type = "application/json",
                        .body = strdup("{\"error\":{\"code\":\"rate_limited\",\"message\":\"m\"}}"),
                        .retry_after = 3, .allow = "GET"};
    r.body_len = strlen(r.body);
    buf_t out = BUF_INIT;
    assert_int_equal(api_event_response(&r, &out), ERR_OK);
    json_t *v = json_loads((const char *)out.data, 0, NULL);
    assert_non_null(v);
    assert_int_equal(json_integer_value(json_object_get(v, "statusCode")), 429);
    assert_string_equal(json_string_value(json_object_get(v, "body")), r.body);
    assert_true(json_is_false(json_object_get(v, "isBase64Encoded")));
    json_t *h = json_object_get(v, "headers");
    assert_string_equal(json_string_value(json_object_get(h, "retry-after")), "3");
    assert_string_equal(json_string_value(json_object_get(h, "allow")), "GET");
    assert_string_equal(json_string_value(json_object_get(h, "content-type")), "application/json");
    json_decref(v);
    buf_free(&out);
    api_response_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(v1_event_gives_method_path_headers_and_stage),
        cmocka_unit_test(v2_event_strips_a_named_stage_and_decodes_base64),
        cmocka_unit_test(bad_events_are_rejected_with_a_reason),
        cmocka_unit_test(oversized_bodies_are_flagged_not_copied_past_the_limit),
        cmocka_unit_test(responses_have_the_proxy_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
