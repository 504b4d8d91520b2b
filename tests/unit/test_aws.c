/* Tests for the shared AWS client (aws.c) against the loopback fake server:
 * every request is checked with sigv4_verify() using the test credentials,
 * error replies map to the right codes and are retried (or not), the clock
 * is corrected from Date headers, presigned URLs never outlive the
 * credentials, and bad replies become clear errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/aws.h"
#include "fakeaws.h"
#include "fakeserver.h"
#include "base/redact.h"
#include "aws/sigv4.h"

#define AKID "AKIDTESTEXAMPLE"
#define SECRET "testSecretKeyEXAMPLE0123456789abcdefWXYZ"
#define TOKEN "testSessionTokenEXAMPLE0123456789"

typedef struct {
    int status;
    const char *body;          /* JSON unless ctype says otherwise */
    const char *ctype;
    bool huge;                 /* a JSON object over AWS_JSON_MAX_REPLY */
    size_t truncate_at;        /* > 0: close after this many body bytes */
} step_t;

typedef struct {
    pthread_mutex_t mu;
    step_t steps[8];
    int nsteps;
    int n;                     /* requests seen */
    long long offset;          /* the server's clock is this far ahead */
    long max_skew;             /* 0: the SigV4 default */
    int rejected;              /* requests whose signature failed */
    char target[128], ctype[128], path[256], body[512], token[128];
} srv_t;

typedef struct {
    srv_t srv;
    fake_server_t *fs;
    fakeaws_t a;               /* keys AKID/SECRET unless a test says else */
    aws_client_t *c;
} fx_t;

static void copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* Verifies the signature at the server's clock, then plays the script. */
static void handler(const fake_request_t *req, fake_response_t *resp, void *ud)
{
    srv_t *s = ud;
    char date[64];
    pthread_mutex_lock(&s->mu);
    int i = s->n++;
    long long now = (long long)time(NULL) + s->offset;
    copy(s->target, sizeof s->target, fake_request_header(req, "X-Amz-Target"));
    copy(s->ctype, sizeof s->ctype, fake_request_header(req, "Content-Type"));
    copy(s->token, sizeof s->token, fake_request_header(req, "X-Amz-Security-Token"));
    copy(s->path, sizeof s->path, req->target);
    snprintf(s->body, sizeof s->body, "%.*s", (int)req->body_len, req->body);
    sigv4_credentials_t c = {AKID, SECRET, strlen(s->token) ? TOKEN : NULL};
    sigv4_verify_opts_t vo = {.now = (time_t)now, .max_skew = s->max_skew,
                              .region = "us-east-1"};
    sigv4_verify_info_t info;
    err_t e;
    sigv4_verify_info_init(&info);
    fake_http_date(now, date, sizeof date);
    fake_response_header(resp, "Date", date);
    if (fakeaws_verify(req, &c, &vo, &info, &e) != ERR_OK) {
        s->rejected++;
        char body[256];
        snprintf(body, sizeof body, "{\"__type\":\"com.amazon.coral.service#%s\","
                 "\"message\":\"%s\"}", sigv4_verify_reason_code(info.reason),
                 info.reason == SIGV4_VERIFY_SKEWED ? "Signature expired" : "bad signature");
        fake_response_json(resp, info.reason == SIGV4_VERIFY_SKEWED ? 400 : 403, body);
        goto out;
    }
    const step_t *st = &s->steps[i < s->nsteps ? i : s->nsteps - 1];
    if (st->huge) {
        size_t n = AWS_JSON_MAX_REPLY + 4096;
        char *big = malloc(n);
        memset(big, 'x', n);
        memcpy(big, "{\"a\":\"", 6);
        memcpy(big + n - 2, "\"}", 2);
        fake_response_body(resp, big, n);
        free(big);
        resp->status = 200;
    } else if (st->ctype) {
        resp->status = st->status;
        fake_response_header(resp, "Content-Type", st->ctype);
        fake_response_bodyf(resp, "%s", st->body);
    } else {
        fake_response_json(resp, st->status, st->body);
    }
    if (st->truncate_at) {
        resp->action = FAKE_TRUNCATE;
        resp->truncate_at = st->truncate_at;
    }
out:
    sigv4_verify_info_free(&info);
    pthread_mutex_unlock(&s->mu);
}

static void script(fx_t *f, const step_t *steps, int n)
{
    pthread_mutex_lock(&f->srv.mu);
    for (int i = 0; i < n; i++)
        f->srv.steps[i] = steps[i];
    f->srv.nsteps = n;
    pthread_mutex_unlock(&f->srv.mu);
}

static int requests(fx_t *f)
{
    pthread_mutex_lock(&f->srv.mu);
    int n = f->srv.n;
    pthread_mutex_unlock(&f->srv.mu);
    return n;
}

/* (Re)makes the env and an SQS client with the fixture's settings. */
static void make_client(fx_t *f)
{
    err_t e;
    aws_client_free(f->c);
    f->c = NULL;
    if (fakeaws_open(&f->a, NULL, &e) != ERR_OK)
        fail_msg("aws_env_new: %s", e.msg);
    f->c = aws_client_new(f->a.aws, ENDPOINT_SQS, &e);
    if (!f->c)
        fail_msg("aws_client_new: %s", e.msg);
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    pthread_mutex_init(&f->srv.mu, NULL);
    f->srv.steps[0] = (step_t){.status = 200, .body = "{}"};
    f->srv.nsteps = 1;
    f->fs = fake_server_start(handler, &f->srv);
    assert_non_null(f->fs);
    f->a.akid = AKID;
    f->a.secret = SECRET;
    fakeenv_set(&f->a.env, "AWS_REGION", "us-east-1");
    fakeenv_set(&f->a.env, "AWS_ENDPOINT_URL", fake_server_url(f->fs));
    fakeenv_set(&f->a.env, "HOME", "/nonexistent/onesheet-test");
    make_client(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    fake_server_stop(f->fs);
    aws_client_free(f->c);
    fakeaws_close(&f->a);
    pthread_mutex_destroy(&f->srv.mu);
    free(f);
    redact_reset();
    return 0;
}

static err_code_t call(fx_t *f, const char *target, json_t **reply, err_t *e)
{
    json_t *body = json_pack("{s:s}", "QueueName", "jobs");
    err_clear(e);
    err_code_t rc = aws_json_call(f->c, target, body, reply, e);
    json_decref(body);
    return rc;
}

static void json_call_is_signed_and_returns_the_reply_object(void **state)
{
    fx_t *f = *state;
    const step_t ok = {.status = 200, .body = "{\"QueueUrl\":\"http://sqs.us-east-1.localhost/1/jobs\"}"};
    json_t *reply = NULL;
    err_t e;
    script(f, &ok, 1);
    assert_int_equal(call(f, "AmazonSQS.GetQueueUrl", &reply, &e), ERR_OK);
    assert_string_equal(json_string_value(json_object_get(reply, "QueueUrl")),
                        "http://sqs.us-east-1.localhost/1/jobs");
    json_decref(reply);
    assert_int_equal(f->srv.rejected, 0);
    assert_string_equal(f->srv.target, "AmazonSQS.GetQueueUrl");
    assert_string_equal(f->srv.ctype, "application/x-amz-json-1.0");
    assert_string_equal(f->srv.path, "/");
    assert_string_equal(f->srv.body, "{\"QueueName\":\"jobs\"}");
    assert_string_equal(f->srv.token, "");
}

static void session_token_is_sent_and_signed(void **state)
{
    fx_t *f = *state;
    json_t *reply = NULL;
    err_t e;
    f->a.token = TOKEN;
    f->a.expiry = (int64_t)time(NULL) + 3600;
    make_client(f);
    assert_int_equal(call(f, "AmazonSQS.ListQueues", &reply, &e), ERR_OK);
    json_decref(reply);
    assert_string_equal(f->srv.token, TOKEN);
    assert_int_equal(f->srv.rejected, 0);
}

static void wrong_secret_is_rejected_by_the_verifier(void **state)
{
    /* Proves the fake really checks: another secret must fail, once. */
    fx_t *f = *state;
    json_t *reply = NULL;
    err_t e;
    f->a.secret = "another" SECRET;
    make_client(f);
    assert_int_equal(call(f, "AmazonSQS.ListQueues", &reply, &e), ERR_AUTH);
    assert_int_equal(f->srv.rejected, 1);
    assert_int_equal(requests(f), 1);
}

static void error_400_keeps_type_and_message_and_is_not_retried(void **state)
{
    fx_t *f = *state;
    const step_t bad = {.status = 400, .body = "{\"__type\":\"com.amazonaws.sqs#QueueDoesNotExist\","
                             "\"message\":\"The specified queue does not exist.\"}"};
    json_t *reply = (json_t *)1;
    err_t e;
    script(f, &bad, 1);
    assert_int_equal(call(f, "AmazonSQS.GetQueueUrl", &reply, &e), ERR_PERMANENT);
    assert_null(reply);
    assert_int_equal(e.http_status, 400);
    assert_string_equal(e.service_code, "QueueDoesNotExist");
    assert_non_null(strstr(e.msg, "AmazonSQS.GetQueueUrl"));
    assert_non_null(strstr(e.msg, "The specified queue does not exist."));
    assert_int_equal(requests(f), 1);
}

static void error_500_is_retried_then_succeeds(void **state)
{
    fx_t *f = *state;
    const step_t steps[] = {
        {.status = 500, .body = "{\"__type\":\"InternalError\",\"message\":\"oops\"}"},
        {.status = 200, .body = "{\"ok\":true}"},
    };
    json_t *reply = NULL;
    err_t e;
    script(f, steps, 2);
    assert_int_equal(call(f, "AmazonSQS.ListQueues", &reply, &e), ERR_OK);
    assert_true(json_is_true(json_object_get(reply, "ok")));
    json_decref(reply);
    assert_int_equal(requests(f), 2);
    assert_int_equal(f->srv.rejected, 0);
}

static void throttling_429_is_retried_up_to_max_attempts(void **state)
{
    fx_t *f = *state;
    const step_t thr = {.status = 429, .body = "{\"__type\":\"ThrottlingException\",\"message\":\"slow down\"}"};
    json_t *reply = NULL;
    err_t e;
    script(f, &thr, 1);
    assert_int_equal(call(f, "AmazonSQS.SendMessage", &reply, &e), ERR_THROTTLED);
    assert_int_equal(requests(f), 3);
    assert_non_null(strstr(e.msg, "3 attempts"));

    const step_t steps[] = {thr, thr, {.status = 200, .body = "{}"}};
    script(f, steps, 3);
    pthread_mutex_lock(&f->srv.mu);
    f->srv.n = 0;
    pthread_mutex_unlock(&f->srv.mu);
    assert_int_equal(call(f, "AmazonSQS.SendMessage", &reply, &e), ERR_OK);
    json_decref(reply);
    assert_int_equal(requests(f), 3);
}

static void skewed_clock_is_corrected_from_the_date_header(void **state)
{
    fx_t *f = *state;
    json_t *reply = NULL;
    err_t e;
    f->srv.offset = 20 * 60;
    f->srv.max_skew = 5 * 60;
    assert_int_equal(call(f, "AmazonSQS.ListQueues", &reply, &e), ERR_OK);
    json_decref(reply);
    assert_int_equal(requests(f), 2);
    assert_int_equal(f->srv.rejected, 1);
    int64_t ahead = aws_client_now(f->c) - (int64_t)time(NULL);
    assert_true(ahead >= 20 * 60 - 2 && ahead <= 20 * 60 + 2);
    /* The next call signs with the corrected clock at once. */
    assert_int_equal(call(f, "AmazonSQS.ListQueues", &reply, &e), ERR_OK);
    json_decref(reply);
    assert_int_equal(requests(f), 3);
    assert_int_equal(f->srv.rejected, 1);
}

static void html_error_page_is_a_clear_error(void **state)
{
    fx_t *f = *state;
    const step_t page = {.status = 502, .body = "<html><body><h1>502 Bad Gateway</h1></body></html>",
                         .ctype = "text/html"};
    json_t *reply = NULL;
    err_t e;
    script(f, &page, 1);
    assert_int_equal(call(f, "AmazonSQS.ListQueues", &reply, &e), ERR_UNAVAILABLE);
    assert_int_equal(e.http_status, 502);
    assert_int_equal(requests(f), 3);
}

static void html_page_with_200_is_unavailable_and_quotes_an_excerpt(void **state)
{
    fx_t *f = *state;
    const step_t page = {.status = 200, .body = "<html><head><title>Captive portal</title></head><body>"
                              "please log in to the hotel wifi before continuing to "
                              "browse the internet</body></html>", .ctype = "text/html"};
    json_t *reply = NULL;
    err_t e;
    script(f, &page, 1);
    assert_int_equal(call(f, "AmazonSQS.ListQueues", &reply, &e), ERR_UNAVAILABLE);
    assert_null(reply);
    assert_non_null(strstr(e.msg, "AmazonSQS.ListQueues"));
    assert_non_null(strstr(e.msg, "<html><head><title>Captive"));
    assert_null(strstr(e.msg, "</html>"));   /* cut */
    assert_int_equal(requests(f), 1);
}

static void truncated_and_non_object_json_are_unavailable(void **state)
{
    fx_t *f = *state;
    static const char *const bodies[] = {
        "{\"Messages\":[{\"Body\":\"a\"", "[1,2,3]", "\"text\"", "42", "null",
        "{\"a\":1} trailing",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        const step_t st = {.status = 200, .body = bodies[i]};
        json_t *reply = NULL;
        err_t e;
        script(f, &st, 1);
        assert_int_equal(call(f, "AmazonSQS.ReceiveMessage", &reply, &e), ERR_UNAVAILABLE);
        assert_null(reply);
        assert_non_null(strstr(e.msg, "AmazonSQS.ReceiveMessage"));
    }
}

static void empty_200_body_is_an_empty_object(void **state)
{
    fx_t *f = *state;
    const step_t st = {.status = 200, .body = ""};
    json_t *reply = NULL;
    err_t e;
    script(f, &st, 1);
    assert_int_equal(call(f, "AmazonSQS.DeleteMessage", &reply, &e), ERR_OK);
    assert_true(json_is_object(reply));
    assert_int_equal(json_object_size(reply), 0);
    json_decref(reply);
}

static void body_cut_mid_transfer_is_a_network_error_after_retries(void **state)
{
    fx_t *f = *state;
    const step_t st = {.status = 200, .body = "{\"Messages\":[\"aaaaaaaaaaaaaaaaaaaaaaaaa\"]}",
                       .truncate_at = 10};
    json_t *reply = NULL;
    err_t e;
    script(f, &st, 1);
    assert_int_equal(call(f, "AmazonSQS.ReceiveMessage", &reply, &e), ERR_NETWORK);
    assert_null(reply);
    assert_int_equal(requests(f), 3);
}

static void huge_reply_over_the_cap_is_too_big(void **state)
{
    fx_t *f = *state;
    step_t st = {.status = 200, .body = NULL};
    json_t *reply = NULL;
    err_t e;
    st.huge = true;
    script(f, &st, 1);
    assert_int_equal(call(f, "AmazonSQS.ReceiveMessage", &reply, &e), ERR_TOOBIG);
    assert_null(reply);
    assert_non_null(strstr(e.msg, "AmazonSQS.ReceiveMessage"));
}

static void request_cap_applies_to_raw_requests(void **state)
{
    fx_t *f = *state;
    const step_t st = {.status = 200, .body = "{\"padding\":\"0123456789012345678901234567890123456789\"}"};
    http_response_t resp;
    err_t e;
    script(f, &st, 1);
    http_response_init(&resp);
    aws_request_t req = {.method = "GET", .path = "/object", .query = "a=1",
                         .max_response = 16, .no_retry = true};
    assert_int_equal(aws_request(f->c, &req, &resp, &e), ERR_TOOBIG);
    assert_int_equal(requests(f), 1);
    assert_string_equal(f->srv.path, "/object?a=1");
    http_response_free(&resp);
}

static void secrets_echoed_by_a_server_never_reach_errors(void **state)
{
    fx_t *f = *state;
    const step_t st = {.status = 403, .body = "{\"__type\":\"SignatureDoesNotMatch\",\"message\":"
                            "\"expected key " SECRET "\"}"};
    json_t *reply = NULL;
    err_t e;
    script(f, &st, 1);
    assert_int_equal(call(f, "AmazonSQS.ListQueues", &reply, &e), ERR_AUTH);
    assert_null(strstr(e.msg, SECRET));
}

static void presign_clamps_to_credentials_expiry(void **state)
{
    fx_t *f = *state;
    char *url = NULL, obj[256];
    int64_t exp = 0, now = (int64_t)time(NULL);
    err_t e;
    f->a.token = TOKEN;
    f->a.expiry = now + 900;
    make_client(f);
    snprintf(obj, sizeof obj, "%s/bucket/key.png", fake_server_url(f->fs));
    assert_int_equal(aws_presign(f->c, "GET", obj, 3600, &url, &exp, &e), ERR_OK);
    assert_true(exp <= f->a.expiry - 60 && exp >= f->a.expiry - 62);
    const char *x = strstr(url, "X-Amz-Expires=");
    assert_non_null(x);
    long ttl = strtol(x + 14, NULL, 10);
    assert_true(ttl >= 838 && ttl <= 840);
    assert_non_null(strstr(url, "X-Amz-Security-Token="));
    sigv4_credentials_t c = {AKID, SECRET, TOKEN};
    sigv4_verify_opts_t vo = {.now = (time_t)now + 10, .region = "us-east-1"};
    sigv4_request_t sq = {.method = "GET", .url = url};
    assert_int_equal(sigv4_verify(&sq, &c, &vo, NULL, &e), ERR_OK);
    free(url);

    f->a.expiry = now + 30;
    make_client(f);
    assert_int_equal(aws_presign(f->c, "GET", obj, 3600, &url, &exp, &e), ERR_AUTH);
    assert_null(url);
}

static void presign_clamps_to_seven_days(void **state)
{
    fx_t *f = *state;
    char *url = NULL, obj[256];
    int64_t exp = 0;
    err_t e;
    snprintf(obj, sizeof obj, "%s/bucket/k", fake_server_url(f->fs));
    assert_int_equal(aws_presign(f->c, "GET", obj, 30L * 86400, &url, &exp, &e), ERR_OK);
    assert_non_null(strstr(url, "X-Amz-Expires=604800"));
    assert_true(exp - (int64_t)time(NULL) <= 604800 && exp - (int64_t)time(NULL) >= 604798);
    free(url);
    assert_int_equal(aws_presign(f->c, "GET", obj, 0, &url, &exp, &e), ERR_INVALID);
}

static void missing_region_is_a_config_error(void **state)
{
    fakeenv_t env = {0};
    err_t e;
    fakeenv_set(&env, "HOME", "/nonexistent/onesheet-test");
    aws_env_options_t o = {.getenv = fakeenv_get, .getenv_ctx = &env};
    assert_null(aws_env_new(&o, &e));
    assert_int_equal(e.code, ERR_CONFIG);
    assert_string_equal(e.msg, "AWS region not set: set AWS_REGION");
    fakeenv_set(&env, "AWS_REGION", "us-west-2");
    fakeenv_set(&env, "AWS_MAX_ATTEMPTS", "many");
    assert_null(aws_env_new(&o, &e));
    assert_int_equal(e.code, ERR_CONFIG);
    assert_non_null(strstr(e.msg, "AWS_MAX_ATTEMPTS"));
    fakeenv_set(&env, "AWS_MAX_ATTEMPTS", "2");
    aws_env_t *a = aws_env_new(&o, &e);
    assert_non_null(a);
    assert_string_equal(aws_env_region(a), "us-west-2");
    aws_env_free(a);
}

static void plain_http_to_a_remote_host_is_refused(void **state)
{
    fx_t *f = *state;
    json_t *reply = NULL;
    err_t e;
    fakeenv_set(&f->a.env, "AWS_ENDPOINT_URL", "http://sqs.example.com");
    make_client(f);
    assert_int_equal(call(f, "AmazonSQS.ListQueues", &reply, &e), ERR_CONFIG);
    assert_int_equal(requests(f), 0);
}

static void client_for_a_url_sends_there_and_signs_its_region(void **state)
{
    fx_t *f = *state;
    char base[256];
    err_t e;
    http_response_t resp;
    snprintf(base, sizeof base, "%s/prefix/", fake_server_url(f->fs));
    aws_client_t *c = aws_client_new_url(f->a.aws, ENDPOINT_SQS, base, "eu-west-1", &e);
    assert_non_null(c);
    assert_string_equal(aws_client_endpoint(c)->region, "eu-west-1");
    http_response_init(&resp);
    aws_request_t req = {.method = "POST", .path = "/x", .body = "{}", .body_len = 2};
    /* The verifier wants us-east-1, so the signed region shows up as a
     * rejection naming the scope. */
    assert_int_equal(aws_request(c, &req, &resp, &e), ERR_AUTH);
    assert_string_equal(f->srv.path, "/prefix/x");
    http_response_free(&resp);
    aws_client_free(c);
    assert_null(aws_client_new_url(f->a.aws, ENDPOINT_SQS, "ftp://x/", NULL, &e));
    assert_null(aws_client_new_url(f->a.aws, ENDPOINT_SQS, base, "EU WEST", &e));
    assert_int_equal(e.code, ERR_CONFIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(json_call_is_signed_and_returns_the_reply_object),
        T(session_token_is_sent_and_signed),
        T(wrong_secret_is_rejected_by_the_verifier),
        T(error_400_keeps_type_and_message_and_is_not_retried),
        T(error_500_is_retried_then_succeeds),
        T(throttling_429_is_retried_up_to_max_attempts),
        T(skewed_clock_is_corrected_from_the_date_header),
        T(html_error_page_is_a_clear_error),
        T(html_page_with_200_is_unavailable_and_quotes_an_excerpt),
        T(truncated_and_non_object_json_are_unavailable),
        T(empty_200_body_is_an_empty_object),
        T(body_cut_mid_transfer_is_a_network_error_after_retries),
        T(huge_reply_over_the_cap_is_too_big),
        T(request_cap_applies_to_raw_requests),
        T(secrets_echoed_by_a_server_never_reach_errors),
        T(presign_clamps_to_credentials_expiry),
        T(presign_clamps_to_seven_days),
        T(missing_region_is_a_config_error),
        T(plain_http_to_a_remote_host_is_refused),
        T(client_for_a_url_sends_there_and_signs_its_region),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
