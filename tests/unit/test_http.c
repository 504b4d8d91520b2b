/* Tests for the libcurl wrapper (http.c) against the loopback fake server,
 * and for turning AWS error replies into err_t. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "fakeserver.h"
#include "aws/http.h"

/* What the handler saw last; guarded by mu. */
typedef struct {
    pthread_mutex_t mu;
    char method[16];
    char target[256];
    char user_agent[128];
    char custom[128];
    bool has_expect;
    bool has_content_type;
    bool has_empty;
    size_t body_len;
    unsigned long body_sum;
    int conn_ids[16];
    int n;
} seen_t;

static seen_t seen = {PTHREAD_MUTEX_INITIALIZER, "", "", "", "", false, false, false, 0, 0, {0}, 0};

static void copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* Routes on the path: /echo, /big, /bignolen, /stall, /midstall, /trunc,
 * /garbage, /reset, /close, /err. */
static void handler(const fake_request_t *req, fake_response_t *resp, void *ud)
{
    (void)ud;
    pthread_mutex_lock(&seen.mu);
    copy(seen.method, sizeof seen.method, req->method);
    copy(seen.target, sizeof seen.target, req->target);
    copy(seen.user_agent, sizeof seen.user_agent, fake_request_header(req, "user-agent"));
    copy(seen.custom, sizeof seen.custom, fake_request_header(req, "X-Custom"));
    seen.has_expect = fake_request_header(req, "Expect") != NULL;
    seen.has_content_type = fake_request_header(req, "Content-Type") != NULL;
    seen.has_empty = fake_request_header(req, "X-Empty") != NULL;
    seen.body_len = req->body_len;
    seen.body_sum = 0;
    for (size_t i = 0; i < req->body_len; i++)
        seen.body_sum = seen.body_sum * 31 + (unsigned char)req->body[i];
    if (seen.n < 16)
        seen.conn_ids[seen.n] = req->conn_id;
    seen.n++;
    pthread_mutex_unlock(&seen.mu);

    const char *p = req->path;
    if (strcmp(p, "/big") == 0 || strcmp(p, "/bignolen") == 0) {
        static char big[100000];
        memset(big, 'b', sizeof big);
        fake_response_body(resp, big, sizeof big);
        resp->no_content_length = strcmp(p, "/bignolen") == 0;
        return;
    }
    if (strcmp(p, "/stall") == 0)
        resp->stall_ms = 5000;
    if (strcmp(p, "/midstall") == 0)
        resp->stall_mid_ms = 5000;
    if (strcmp(p, "/trunc") == 0) {
        resp->action = FAKE_TRUNCATE;
        resp->truncate_at = 4;
    }
    if (strcmp(p, "/garbage") == 0)
        fake_response_raw(resp, "\x01\x02garbage\r\n\r\n", 13);
    if (strcmp(p, "/reset") == 0)
        resp->action = FAKE_RESET;
    if (strcmp(p, "/close") == 0)
        resp->action = FAKE_CLOSE;
    if (strcmp(p, "/err") == 0) {
        fake_response_header(resp, "X-Amzn-ErrorType", "ValidationException:http://x/");
        fake_response_json(resp, 400, "{\"message\":\"bad seed\"}");
        return;
    }
    fake_response_header(resp, "X-Reply-Header", "Mixed Case Value");
    fake_response_bodyf(resp, "%s %s %zu", req->method, req->target, req->body_len);
}

static int setup(void **state)
{
    pthread_mutex_lock(&seen.mu);
    seen.n = 0;
    pthread_mutex_unlock(&seen.mu);
    fake_server_t *fs = fake_server_start(handler, NULL);
    assert_non_null(fs);
    *state = fs;
    return 0;
}

static int teardown(void **state)
{
    fake_server_stop(*state);
    return 0;
}

static char *url(fake_server_t *fs, const char *path)
{
    static char u[4][256];
    static int i;
    i = (i + 1) % 4;
    snprintf(u[i], sizeof u[i], "%s%s", fake_server_url(fs), path);
    return u[i];
}

static long elapsed_ms(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Runs one request with a fresh client; returns http_do's code. */
static err_code_t run(const http_options_t *o, const http_request_t *req,
                      http_response_t *resp, err_t *e)
{
    http_client_t *c = http_client_new(o, e);
    assert_non_null(c);
    http_response_init(resp);
    err_code_t rc = http_do(c, req, resp, e);
    http_client_free(c);
    return rc;
}

static void get_returns_status_lowercased_headers_and_body(void **state)
{
    fake_server_t *fs = *state;
    http_request_t req = {.method = "GET", .url = url(fs, "/echo?a=1")};
    http_response_t resp;
    err_t e;
    assert_int_equal(run(NULL, &req, &resp, &e), ERR_OK);
    assert_int_equal(resp.status, 200);
    assert_string_equal((char *)resp.body.data, "GET /echo?a=1 0");
    assert_string_equal(http_response_header(&resp, "X-REPLY-HEADER"), "Mixed Case Value");
    bool found = false;
    for (size_t i = 0; i < resp.nheaders; i++)
        if (strcmp(resp.headers[i].name, "x-reply-header") == 0)
            found = true;
    assert_true(found);
    assert_null(http_response_header(&resp, "x-absent"));
    assert_string_equal(seen.user_agent, "onesheet/" ONESHEET_VERSION);
    http_response_free(&resp);
}

static void put_sends_body_and_headers_without_expect_or_form_type(void **state)
{
    fake_server_t *fs = *state;
    http_header_t h[] = {{"X-Custom", "value 1"}, {"X-Empty", ""}};
    const char body[] = "hello, poster";
    http_request_t req = {.method = "PUT", .url = url(fs, "/put"), .headers = h,
                          .nheaders = 2, .body = body, .body_len = strlen(body)};
    http_response_t resp;
    err_t e;
    assert_int_equal(run(NULL, &req, &resp, &e), ERR_OK);
    assert_string_equal(seen.method, "PUT");
    assert_string_equal(seen.custom, "value 1");
    assert_true(seen.has_empty);
    assert_false(seen.has_expect);
    assert_false(seen.has_content_type);
    assert_int_equal(seen.body_len, strlen(body));
    assert_string_equal((char *)resp.body.data, "PUT /put 13");
    http_response_free(&resp);
}

static void large_post_arrives_intact_without_100_continue(void **state)
{
    fake_server_t *fs = *state;
    size_t n = 3 * 1024 * 1024 + 7;
    unsigned char *body = malloc(n);
    unsigned long sum = 0;
    for (size_t i = 0; i < n; i++) {
        body[i] = (unsigned char)(i * 7 + (i >> 11));
        sum = sum * 31 + body[i];
    }
    http_header_t h[] = {{"Content-Type", "application/octet-stream"}};
    http_request_t req = {.method = "POST", .url = url(fs, "/post"), .headers = h,
                          .nheaders = 1, .body = body, .body_len = n};
    http_response_t resp;
    err_t e;
    assert_int_equal(run(NULL, &req, &resp, &e), ERR_OK);
    assert_false(seen.has_expect);
    assert_true(seen.has_content_type);
    assert_int_equal(seen.body_len, n);
    assert_true(seen.body_sum == sum);
    http_response_free(&resp);
    free(body);
}

static void head_and_delete_use_their_methods(void **state)
{
    fake_server_t *fs = *state;
    http_request_t req = {.method = "HEAD", .url = url(fs, "/h")};
    http_response_t resp;
    err_t e;
    assert_int_equal(run(NULL, &req, &resp, &e), ERR_OK);
    assert_string_equal(seen.method, "HEAD");
    assert_int_equal(resp.body.len, 0);
    http_response_free(&resp);
    req.method = "DELETE";
    assert_int_equal(run(NULL, &req, &resp, &e), ERR_OK);
    assert_string_equal(seen.method, "DELETE");
    assert_string_equal((char *)resp.body.data, "DELETE /h 0");
    http_response_free(&resp);
}

static void several_requests_reuse_one_connection(void **state)
{
    fake_server_t *fs = *state;
    err_t e;
    http_client_t *c = http_client_new(NULL, &e);
    http_response_t resp;
    http_response_init(&resp);
    for (int i = 0; i < 5; i++) {
        http_request_t req = {.method = i % 2 ? "POST" : "GET", .url = url(fs, "/r"),
                              .body = "x", .body_len = i % 2};
        assert_int_equal(http_do(c, &req, &resp, &e), ERR_OK);
        assert_int_equal(resp.status, 200);
    }
    http_response_free(&resp);
    http_client_free(c);
    assert_int_equal(fake_server_requests(fs), 5);
    assert_int_equal(fake_server_connections(fs), 1);
    for (int i = 0; i < 5; i++)
        assert_int_equal(seen.conn_ids[i], 1);
}

static void response_over_the_cap_is_toobig(void **state)
{
    fake_server_t *fs = *state;
    const char *paths[] = {"/big", "/bignolen"};
    for (int i = 0; i < 2; i++) {
        http_request_t req = {.method = "GET", .url = url(fs, paths[i]),
                              .max_response = 50000};
        http_response_t resp;
        err_t e;
        assert_int_equal(run(NULL, &req, &resp, &e), ERR_TOOBIG);
        assert_true(resp.body.len <= 50000);
        http_response_free(&resp);
        /* The client-wide cap applies too; a large enough one passes. */
        http_options_t o = {.max_response = 1000};
        req.max_response = 0;
        assert_int_equal(run(&o, &req, &resp, &e), ERR_TOOBIG);
        http_response_free(&resp);
        o.max_response = 100000;
        assert_int_equal(run(&o, &req, &resp, &e), ERR_OK);
        assert_int_equal(resp.body.len, 100000);
        http_response_free(&resp);
    }
}

static void refused_connection_is_network_error(void **state)
{
    (void)state;
    fake_server_t *tmp = fake_server_start(NULL, NULL);
    char u[64];
    snprintf(u, sizeof u, "%s/x", fake_server_url(tmp));
    fake_server_stop(tmp);
    http_request_t req = {.method = "GET", .url = u};
    http_response_t resp;
    err_t e;
    assert_int_equal(run(NULL, &req, &resp, &e), ERR_NETWORK);
    assert_int_equal(resp.status, 0);
    assert_true(err_is_retryable(&e));
    http_response_free(&resp);
}

static void stall_past_the_timeout_is_timeout_within_bounds(void **state)
{
    fake_server_t *fs = *state;
    const char *paths[] = {"/stall", "/midstall"};
    for (int i = 0; i < 2; i++) {
        http_request_t req = {.method = "GET", .url = url(fs, paths[i]), .timeout_ms = 300};
        http_response_t resp;
        err_t e;
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_equal(run(NULL, &req, &resp, &e), ERR_TIMEOUT);
        long ms = elapsed_ms(&t0);
        assert_true(ms >= 250 && ms < 2000);
        assert_true(strstr(e.msg, "timed out") != NULL);
        http_response_free(&resp);
    }
}

static void broken_replies_are_network_errors(void **state)
{
    fake_server_t *fs = *state;
    const char *paths[] = {"/trunc", "/garbage", "/reset", "/close"};
    for (int i = 0; i < 4; i++) {
        http_request_t req = {.method = "GET", .url = url(fs, paths[i])};
        http_response_t resp;
        err_t e;
        err_clear(&e);
        assert_int_equal(run(NULL, &req, &resp, &e), ERR_NETWORK);
        assert_int_equal(e.code, ERR_NETWORK);
        assert_true(e.msg[0] != '\0');
        http_response_free(&resp);
    }
}

static void plain_http_to_remote_host_is_refused_before_connecting(void **state)
{
    fake_server_t *fs = *state;
    /* Were a connection attempted, it would go to the fake server as proxy. */
    char *no_proxy[2] = {getenv("no_proxy"), getenv("NO_PROXY")};
    no_proxy[0] = no_proxy[0] ? strdup(no_proxy[0]) : NULL;
    no_proxy[1] = no_proxy[1] ? strdup(no_proxy[1]) : NULL;
    unsetenv("no_proxy");
    unsetenv("NO_PROXY");
    setenv("http_proxy", fake_server_url(fs), 1);
    http_request_t req = {.method = "GET", .url = "http://example.com/x?X-Amz-Signature=abc"};
    http_response_t resp;
    err_t e;
    assert_int_equal(run(NULL, &req, &resp, &e), ERR_CONFIG);
    assert_null(strstr(e.msg, "X-Amz-Signature"));
    assert_int_equal(fake_server_connections(fs), 0);

    /* Allowed explicitly, it goes through the proxy from the environment. */
    http_options_t o = {.allow_insecure_http = true};
    assert_int_equal(run(&o, &req, &resp, &e), ERR_OK);
    assert_int_equal(fake_server_connections(fs), 1);
    assert_string_equal(seen.target, "http://example.com/x?X-Amz-Signature=abc");
    http_response_free(&resp);
    unsetenv("http_proxy");
    if (no_proxy[0])
        setenv("no_proxy", no_proxy[0], 1);
    if (no_proxy[1])
        setenv("NO_PROXY", no_proxy[1], 1);
    free(no_proxy[0]);
    free(no_proxy[1]);
}

static void loopback_detection(void **state)
{
    (void)state;
    assert_true(http_url_is_loopback("http://127.0.0.1:8080/x"));
    assert_true(http_url_is_loopback("http://127.9.8.7/"));
    assert_true(http_url_is_loopback("http://localhost/"));
    assert_true(http_url_is_loopback("http://[::1]:9000/"));
    assert_true(http_url_is_loopback("http://user@127.0.0.1/"));
    assert_false(http_url_is_loopback("http://127.0.0.1@example.com/"));
    assert_false(http_url_is_loopback("http://127.0.0.1.example.com/"));
    assert_false(http_url_is_loopback("http://128.0.0.1/"));
    assert_false(http_url_is_loopback("https://sqs.us-east-1.amazonaws.com/"));
    assert_false(http_url_is_loopback("not a url"));
}

static void bad_urls_and_headers_are_rejected(void **state)
{
    fake_server_t *fs = *state;
    http_header_t h[] = {{"X-Custom", "a\r\nInjected: 1"}};
    http_request_t req = {.method = "GET", .url = url(fs, "/x"), .headers = h, .nheaders = 1};
    http_response_t resp;
    err_t e;
    assert_int_equal(run(NULL, &req, &resp, &e), ERR_INVALID);
    req.nheaders = 0;
    req.url = "ftp://127.0.0.1/x";
    assert_int_equal(run(NULL, &req, &resp, &e), ERR_CONFIG);
    assert_int_equal(fake_server_requests(fs), 0);
    http_response_free(&resp);
}

/* One client whose request times out against /stall. */
static void *client_thread(void *arg)
{
    http_request_t req = {.method = "GET", .url = arg, .timeout_ms = 400};
    http_response_t resp;
    err_t e;
    run(NULL, &req, &resp, &e);
    http_response_free(&resp);
    return NULL;
}

static void concurrent_connections_are_served_in_parallel(void **state)
{
    fake_server_t *fs = *state;
    pthread_t th[4];
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, client_thread, url(fs, "/stall"));
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    /* Four 400 ms timeouts served one after another would take 1.6 s. */
    assert_true(elapsed_ms(&t0) < 1200);
    assert_int_equal(fake_server_connections(fs), 4);
}

static void error_reply_round_trip(void **state)
{
    fake_server_t *fs = *state;
    http_request_t req = {.method = "POST", .url = url(fs, "/err"), .body = "{}", .body_len = 2};
    http_response_t resp;
    err_t e;
    assert_int_equal(run(NULL, &req, &resp, &e), ERR_OK);
    assert_int_equal(resp.status, 400);
    assert_int_equal(http_error_from_aws(&resp, &e), ERR_PERMANENT);
    assert_int_equal(e.http_status, 400);
    assert_string_equal(e.service_code, "ValidationException");
    assert_string_equal(e.msg, "HTTP 400 ValidationException: bad seed");
    assert_false(err_is_retryable(&e));
    http_response_free(&resp);
}

/* Builds a response by hand for http_error_from_aws. */
static err_code_t aws(long status, const char *type, const char *body, err_t *e)
{
    http_response_t r;
    http_header_t h[1];
    http_response_init(&r);
    r.status = status;
    if (type) {
        h[0].name = "x-amzn-errortype";
        h[0].value = type;
        r.headers = h;
        r.nheaders = 1;
    }
    if (body)
        buf_append_str(&r.body, body);
    err_code_t rc = http_error_from_aws(&r, e);
    buf_free(&r.body);
    return rc;
}

static void aws_json_errors_are_classified(void **state)
{
    (void)state;
    err_t e;
    assert_int_equal(aws(429, "ThrottlingException:http://internal.amazon.com/",
                         "{\"message\":\"Too many requests\"}", &e), ERR_THROTTLED);
    assert_string_equal(e.service_code, "ThrottlingException");
    assert_string_equal(e.msg, "HTTP 429 ThrottlingException: Too many requests");
    assert_true(err_is_retryable(&e));

    assert_int_equal(aws(400, NULL,
                         "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
                         "ConditionalCheckFailedException\",\"message\":\"The conditional "
                         "request failed\"}", &e), ERR_CONFLICT);
    assert_string_equal(e.service_code, "ConditionalCheckFailedException");

    assert_int_equal(aws(400, NULL, "{\"__type\":\"com.amazon.coral.validate#"
                                    "ValidationException\",\"Message\":\"x\"}", &e),
                     ERR_PERMANENT);
    assert_string_equal(e.service_code, "ValidationException");
    assert_int_equal(aws(400, NULL, "{\"code\":\"InvalidParameterValue\"}", &e), ERR_PERMANENT);
    assert_string_equal(e.service_code, "InvalidParameterValue");

    assert_int_equal(aws(500, "InternalServerException", "{}", &e), ERR_UNAVAILABLE);
    assert_true(err_is_retryable(&e));
    assert_int_equal(aws(503, NULL, NULL, &e), ERR_UNAVAILABLE);
    assert_string_equal(e.msg, "HTTP 503");
    assert_int_equal(aws(403, "AccessDeniedException", "{\"message\":\"no\"}", &e), ERR_AUTH);
    assert_int_equal(aws(400, "UnrecognizedClientException", NULL, &e), ERR_AUTH);
    assert_int_equal(aws(424, "ModelErrorException", NULL, &e), ERR_PERMANENT);
    assert_false(err_is_retryable(&e));
    assert_int_equal(aws(429, "ModelNotReadyException", NULL, &e), ERR_THROTTLED);
    assert_true(err_is_retryable(&e));
    assert_int_equal(aws(200, NULL, "{}", &e), ERR_OK);
    assert_int_equal(e.code, ERR_OK);
    assert_int_equal(aws(0, NULL, NULL, &e), ERR_NETWORK);
}

static void aws_xml_errors_are_classified(void **state)
{
    (void)state;
    err_t e;
    assert_int_equal(aws(503, NULL,
                         "<?xml version=\"1.0\"?><Error><Code>SlowDown</Code><Message>Please "
                         "reduce your request rate &amp; retry.</Message></Error>", &e),
                     ERR_THROTTLED);
    assert_string_equal(e.service_code, "SlowDown");
    assert_string_equal(e.msg, "HTTP 503 SlowDown: Please reduce your request rate & retry.");
    assert_int_equal(aws(403, NULL,
                         "<Error><Code>RequestTimeTooSkewed</Code><Message>The difference "
                         "between the request time and the current time is too large."
                         "</Message></Error>", &e), ERR_SKEW);
    assert_true(err_is_retryable(&e));
    assert_int_equal(aws(404, NULL, "<Error><Code>NoSuchKey</Code></Error>", &e), ERR_PERMANENT);
    assert_int_equal(e.http_status, 404);
    assert_string_equal(e.service_code, "NoSuchKey");
}

static void signature_errors_never_echo_the_request(void **state)
{
    (void)state;
    err_t e;
    assert_int_equal(aws(403, "InvalidSignatureException",
                         "{\"message\":\"The request signature we calculated does not match "
                         "the signature you provided.\\n\\nThe Canonical String for this "
                         "request should have been\\n'POST\\n/\\n\\nhost:sqs\\n"
                         "x-amz-security-token:SECRETTOKEN\\n'\\n\\nThe String-to-Sign "
                         "should have been\\n'AWS4-HMAC-SHA256\\n'\\n\"}", &e), ERR_AUTH);
    assert_null(strstr(e.msg, "SECRETTOKEN"));
    assert_null(strstr(e.msg, "Canonical"));
    assert_null(strstr(e.msg, "AWS4-HMAC"));
    assert_true(strstr(e.msg, "does not match") != NULL);

    assert_int_equal(aws(403, "InvalidSignatureException",
                         "{\"message\":\"Signature expired: 20240101T000000Z is now earlier "
                         "than 20240101T001000Z (20240101T001500Z - 5 min.)\"}", &e), ERR_SKEW);
    assert_true(err_is_retryable(&e));
    assert_int_equal(aws(400, NULL, "<Error><Code>SignatureDoesNotMatch</Code>"
                                    "<Message>bad</Message><StringToSign>AWS4-HMAC-SHA256"
                                    "</StringToSign></Error>", &e), ERR_AUTH);
    assert_null(strstr(e.msg, "AWS4"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(get_returns_status_lowercased_headers_and_body, setup, teardown),
        cmocka_unit_test_setup_teardown(put_sends_body_and_headers_without_expect_or_form_type, setup, teardown),
        cmocka_unit_test_setup_teardown(large_post_arrives_intact_without_100_continue, setup, teardown),
        cmocka_unit_test_setup_teardown(head_and_delete_use_their_methods, setup, teardown),
        cmocka_unit_test_setup_teardown(several_requests_reuse_one_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(response_over_the_cap_is_toobig, setup, teardown),
        cmocka_unit_test(refused_connection_is_network_error),
        cmocka_unit_test_setup_teardown(stall_past_the_timeout_is_timeout_within_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(broken_replies_are_network_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(plain_http_to_remote_host_is_refused_before_connecting, setup, teardown),
        cmocka_unit_test(loopback_detection),
        cmocka_unit_test_setup_teardown(bad_urls_and_headers_are_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrent_connections_are_served_in_parallel, setup, teardown),
        cmocka_unit_test_setup_teardown(error_reply_round_trip, setup, teardown),
        cmocka_unit_test(aws_json_errors_are_classified),
        cmocka_unit_test(aws_xml_errors_are_classified),
        cmocka_unit_test(signature_errors_never_echo_the_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
