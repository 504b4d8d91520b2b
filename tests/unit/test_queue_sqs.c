/* Tests for the SQS queue back-end (queue_sqs.c, queue_sqs_setup.c)
 * against a small SQS stand-in on the loopback fake server: the shape of
 * every request, batch splitting, retrying only failed entries, MD5 checks,
 * stale receipts, the dead-letter queue, `init`, and bad replies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_sqs.h"
#include "fakeaws.h"
#include "queue/queue_sqs.h"
#include "base/redact.h"

#define AKID "AKIDQUEUETEST"
#define SECRET "queueTestSecretKeyEXAMPLE0123456789abcdef"
#define QURL FAKE_SQS_URL


typedef struct {
    fake_sqs_t s;
    fake_server_t *fs;
    fakeaws_t a;
    queue_t *q;
} fx_t;

static queue_t *open_q(fx_t *f, const char *spec)
{
    err_t e;
    err_clear(&e);
    queue_t *q = queue_sqs_open_env(f->a.aws, spec, &e);
    if (!q)
        fail_msg("open %s: %s", spec, e.msg);
    return q;
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    err_t e;
    fake_sqs_init(&f->s, AKID, SECRET);
    f->fs = fake_server_start(fake_sqs_handler, &f->s);
    fakeenv_set(&f->a.env, "AWS_REGION", "us-east-1");
    fakeenv_set(&f->a.env, "HOME", "/nonexistent/onesheet-test");
    fakeenv_set(&f->a.env, "AWS_ENDPOINT_URL_SQS", fake_server_url(f->fs));
    f->a.akid = AKID;
    f->a.secret = SECRET;
    assert_int_equal(fakeaws_open(&f->a, NULL, &e), ERR_OK);
    fake_sqs_add_queue(&f->s, "jobs", "262144", "jobs-dlq");
    fake_sqs_add_queue(&f->s, "jobs-dlq", "262144", NULL);
    f->q = open_q(f, "sqs:jobs");
    fake_sqs_reset_log(&f->s);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    queue_close(f->q);
    fake_server_stop(f->fs);
    assert_int_equal(f->s.rejected, 0);
    fake_sqs_free(&f->s);
    fakeaws_close(&f->a);
    free(f);
    redact_reset();
    return 0;
}

/* The i-th logged request: its op, and its body (borrowed). */
static const json_t *logged(fx_t *f, int i, const char *op)
{
    assert_true(i < f->s.n);
    assert_string_equal(f->s.op[i], op);
    return f->s.body[i];
}

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void open_by_name_reads_redrive_and_finds_the_dlq(void **state)
{
    fx_t *f = *state;
    queue_t *q = open_q(f, "sqs:jobs");
    assert_int_equal(q->max_receives, 3);
    assert_string_equal(queue_sqs_url(q), QURL "jobs");
    assert_int_equal(f->s.n, 3);
    assert_string_equal(jstr(logged(f, 0, "GetQueueUrl"), "QueueName"), "jobs");
    const json_t *b = logged(f, 1, "GetQueueAttributes");
    assert_string_equal(jstr(b, "QueueUrl"), QURL "jobs");   /* opaque, in the body */
    b = logged(f, 2, "GetQueueUrl");
    assert_string_equal(jstr(b, "QueueName"), "jobs-dlq");
    assert_string_equal(jstr(b, "QueueOwnerAWSAccountId"), "000000000000");
    queue_close(q);
}

static void open_missing_queue_is_notfound_and_names_init(void **state)
{
    fx_t *f = *state;
    err_t e;
    assert_null(queue_sqs_open_env(f->a.aws, "sqs:nope", &e));
    assert_int_equal(e.code, ERR_NOTFOUND);
    assert_non_null(strstr(e.msg, "onesheet init"));
    assert_null(queue_sqs_open_env(f->a.aws, "sqs:bad name", &e));
    assert_int_equal(e.code, ERR_CONFIG);
    assert_null(queue_sqs_open_env(f->a.aws, "sqs:jobs.fifo", &e));
    assert_int_equal(e.code, ERR_CONFIG);
    assert_null(queue_sqs_open_env(f->a.aws, "ftp://x/y", &e));
    assert_int_equal(e.code, ERR_CONFIG);
}

static void open_by_url_sends_to_the_endpoint_with_the_url_in_the_body(void **state)
{
    fx_t *f = *state;
    queue_t *q = open_q(f, QURL "jobs");
    assert_int_equal(q->max_receives, 3);
    assert_string_equal(jstr(logged(f, 0, "GetQueueAttributes"), "QueueUrl"), QURL "jobs");
    queue_close(q);
}

static void open_by_url_without_an_endpoint_goes_to_the_url_host(void **state)
{
    fx_t *f = *state;
    char url[256];
    err_t e;
    fakeenv_set(&f->a.env, "AWS_ENDPOINT_URL_SQS", NULL);
    snprintf(url, sizeof url, "%s/000000000000/jobs", fake_server_url(f->fs));
    /* The stand-in only knows QURL, so reaching it is what is checked. */
    assert_null(queue_sqs_open_env(f->a.aws, url, &e));
    assert_int_equal(e.code, ERR_PERMANENT);
    assert_string_equal(e.service_code, "QueueDoesNotExist");
    assert_string_equal(jstr(logged(f, 0, "GetQueueAttributes"), "QueueUrl"), url);
}

static void bad_redrive_policy_is_invalid(void **state)
{
    fx_t *f = *state;
    static const char *const bad[] = {
        "not json", "{\"maxReceiveCount\":3}", "{\"deadLetterTargetArn\":\"x\","
        "\"maxReceiveCount\":3}", "{\"deadLetterTargetArn\":\"arn:aws:sqs:r:1:q\","
        "\"maxReceiveCount\":\"many\"}",
    };
    err_t e;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_object_set_new(json_object_get(f->s.queues, "jobs"), "RedrivePolicy",
                            json_string(bad[i]));
        assert_null(queue_sqs_open_env(f->a.aws, "sqs:jobs", &e));
        assert_int_equal(e.code, ERR_INVALID);
        assert_non_null(strstr(e.msg, "RedrivePolicy"));
    }
}

/* Sends n bodies of len bytes each (body i starts with its number). */
static err_code_t send_n(queue_t *q, size_t n, size_t len, err_t *e)
{
    char **b = calloc(n, sizeof *b);
    for (size_t i = 0; i < n; i++) {
        b[i] = malloc(len + 1);
        memset(b[i], 'x', len);
        b[i][len] = '\0';
        char num[16];
        int k = snprintf(num, sizeof num, "%zu:", i);
        memcpy(b[i], num, (size_t)k < len ? (size_t)k : len);
    }
    err_clear(e);
    err_code_t rc = queue_send_batch(q, (const char *const *)b, n, e);
    for (size_t i = 0; i < n; i++)
        free(b[i]);
    free(b);
    return rc;
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

/* The entry counts of the logged SendMessageBatch calls, sorted. */
static int batch_sizes(fx_t *f, int *out)
{
    int k = 0;
    for (int i = 0; i < f->s.n; i++)
        if (strcmp(f->s.op[i], "SendMessageBatch") == 0)
            out[k++] = (int)json_array_size(json_object_get(f->s.body[i], "Entries"));
    qsort(out, (size_t)k, sizeof *out, cmp_int);
    return k;
}

static void send_splits_at_ten_entries_and_sends_each_once(void **state)
{
    fx_t *f = *state;
    int sizes[16];
    char seen[25] = {0};
    err_t e;
    assert_int_equal(send_n(f->q, 25, 20, &e), ERR_OK);
    assert_int_equal(batch_sizes(f, sizes), 3);
    assert_int_equal(sizes[0], 5);
    assert_int_equal(sizes[1], 10);
    assert_int_equal(sizes[2], 10);
    for (int i = 0; i < f->s.n; i++) {
        const json_t *body = logged(f, i, "SendMessageBatch"), *en;
        size_t j;
        assert_string_equal(jstr(body, "QueueUrl"), QURL "jobs");
        json_array_foreach(json_object_get(body, "Entries"), j, en) {
            int idx = atoi(jstr(en, "MessageBody"));
            char id[16];
            snprintf(id, sizeof id, "m%d", idx);
            assert_string_equal(jstr(en, "Id"), id);
            seen[idx]++;
        }
    }
    for (int i = 0; i < 25; i++)
        assert_int_equal(seen[i], 1);
}

static void send_splits_at_the_queue_size_limit(void **state)
{
    fx_t *f = *state;
    int sizes[16];
    err_t e;
    fake_sqs_add_queue(&f->s, "small", "1024", NULL);
    queue_t *q = open_q(f, "sqs:small");
    fake_sqs_reset_log(&f->s);
    assert_int_equal(send_n(q, 10, 300, &e), ERR_OK);
    assert_int_equal(batch_sizes(f, sizes), 4);   /* 3 × 300 fit in 1024, 4 do not */
    assert_int_equal(sizes[0], 1);
    assert_int_equal(sizes[3], 3);
    fake_sqs_reset_log(&f->s);
    assert_int_equal(send_n(q, 3, 1025, &e), ERR_TOOBIG);
    assert_non_null(strstr(e.msg, "1024"));
    assert_int_equal(f->s.n, 0);
    queue_close(q);
}

static void unacceptable_bodies_are_refused_before_sending(void **state)
{
    fx_t *f = *state;
    const char *ctl[] = {"fine", "bell \x07"};
    const char *bad_utf8[] = {"\xc3\x28"};
    const char *nonchar[] = {"\xef\xbf\xbe"};
    const char *empty[] = {""};
    err_t e;
    assert_int_equal(queue_send_batch(f->q, ctl, 2, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "message 1"));
    assert_int_equal(queue_send_batch(f->q, bad_utf8, 1, &e), ERR_INVALID);
    assert_int_equal(queue_send_batch(f->q, nonchar, 1, &e), ERR_INVALID);
    assert_int_equal(queue_send_batch(f->q, empty, 1, &e), ERR_INVALID);
    assert_int_equal(f->s.n, 0);
}

static void only_failed_entries_are_retried(void **state)
{
    fx_t *f = *state;
    err_t e;
    f->s.fail_ids = ",m3,m7,";
    f->s.fail_calls = 1;
    assert_int_equal(send_n(f->q, 10, 10, &e), ERR_OK);
    assert_int_equal(f->s.n, 2);
    const json_t *en = json_object_get(logged(f, 1, "SendMessageBatch"), "Entries");
    assert_int_equal(json_array_size(en), 2);
    assert_string_equal(jstr(json_array_get(en, 0), "Id"), "m3");
    assert_string_equal(jstr(json_array_get(en, 1), "Id"), "m7");
    assert_int_equal(atoi(jstr(json_array_get(en, 1), "MessageBody")), 7);
}

static void entries_failing_every_time_give_up(void **state)
{
    fx_t *f = *state;
    err_t e;
    f->s.fail_ids = ",m1,";
    f->s.fail_calls = 100;
    assert_int_equal(send_n(f->q, 3, 10, &e), ERR_UNAVAILABLE);
    assert_int_equal(f->s.n, 5);
    assert_non_null(strstr(e.msg, "InternalError"));
}

static void sender_fault_fails_the_send_at_once(void **state)
{
    fx_t *f = *state;
    err_t e;
    f->s.fail_ids = ",m2,";
    f->s.fail_calls = 100;
    f->s.sender_fault = true;
    assert_int_equal(send_n(f->q, 3, 10, &e), ERR_INVALID);
    assert_string_equal(e.service_code, "InvalidMessageContents");
    assert_int_equal(f->s.n, 1);
}

static void send_md5_mismatch_resends_the_entry(void **state)
{
    fx_t *f = *state;
    err_t e;
    f->s.bad_md5_calls = 1;
    assert_int_equal(send_n(f->q, 2, 10, &e), ERR_OK);
    assert_int_equal(f->s.n, 2);
    assert_int_equal(json_array_size(json_object_get(logged(f, 1, "SendMessageBatch"),
                                                     "Entries")), 2);
}

/* A ReceiveMessage reply with one message per body (md5 right unless the
 * body starts with '!'), receive counts 1, 2, ... */
static char *receive_reply(const char *const *bodies, size_t n)
{
    json_t *msgs = json_array();
    for (size_t i = 0; i < n; i++) {
        char md5[33], id[16], rh[16], cnt[8];
        fake_sqs_md5_hex(bodies[i], strlen(bodies[i]), md5);
        if (bodies[i][0] == '!')
            md5[5] = md5[5] == 'a' ? 'b' : 'a';
        snprintf(id, sizeof id, "id%zu", i);
        snprintf(rh, sizeof rh, "rh%zu", i);
        snprintf(cnt, sizeof cnt, "%zu", i + 1);
        json_array_append_new(msgs, json_pack("{s:s,s:s,s:s,s:s,s:{s:s}}", "MessageId", id,
                                              "ReceiptHandle", rh, "MD5OfBody", md5, "Body",
                                              bodies[i], "Attributes",
                                              "ApproximateReceiveCount", cnt));
    }
    json_t *r = json_pack("{s:o}", "Messages", msgs);
    char *t = json_dumps(r, JSON_COMPACT);
    json_decref(r);
    return t;
}

static err_code_t recv_q(queue_t *q, size_t max, int vis, int wait, queue_msg_t **m,
                         size_t *n, err_t *e)
{
    *m = NULL;
    *n = 0;
    err_clear(e);
    return queue_receive(q, max, vis, wait, m, n, e);
}

static void receive_asks_for_counts_and_caps_its_numbers(void **state)
{
    fx_t *f = *state;
    const char *bodies[] = {"{\"v\":1}", "second \xc3\xa9"};
    char *r = receive_reply(bodies, 2);
    queue_msg_t *m;
    size_t n;
    err_t e;
    f->s.receive_reply = r;
    assert_int_equal(recv_q(f->q, 25, 45, 30, &m, &n, &e), ERR_OK);
    assert_int_equal(n, 2);
    assert_string_equal(m[0].id, "id0");
    assert_string_equal(m[0].receipt, "rh0");
    assert_string_equal(m[0].body, "{\"v\":1}");
    assert_int_equal(m[1].receive_count, 2);
    assert_int_equal(m[1].body_len, strlen(bodies[1]));
    queue_msgs_free(m, n);
    const json_t *b = logged(f, 0, "ReceiveMessage");
    assert_int_equal(json_integer_value(json_object_get(b, "MaxNumberOfMessages")), 10);
    assert_int_equal(json_integer_value(json_object_get(b, "WaitTimeSeconds")), 20);
    assert_int_equal(json_integer_value(json_object_get(b, "VisibilityTimeout")), 45);
    assert_string_equal(json_string_value(json_array_get(
        json_object_get(b, "MessageSystemAttributeNames"), 0)), "ApproximateReceiveCount");
    assert_int_equal(recv_q(f->q, 1, 43201, 0, &m, &n, &e), ERR_INVALID);
    free(r);
}

static void receive_drops_a_body_that_fails_md5(void **state)
{
    fx_t *f = *state;
    const char *mixed[] = {"good", "!corrupt"}, *bad[] = {"!corrupt"};
    char *r1 = receive_reply(mixed, 2), *r2 = receive_reply(bad, 1);
    queue_msg_t *m;
    size_t n;
    err_t e;
    f->s.receive_reply = r1;
    assert_int_equal(recv_q(f->q, 10, 30, 0, &m, &n, &e), ERR_OK);
    assert_int_equal(n, 1);
    assert_string_equal(m[0].body, "good");
    queue_msgs_free(m, n);
    f->s.receive_reply = r2;
    assert_int_equal(recv_q(f->q, 10, 30, 0, &m, &n, &e), ERR_INVALID);
    assert_int_equal(n, 0);
    assert_null(m);
    assert_non_null(strstr(e.msg, "MD5"));
    free(r1);
    free(r2);
}

static void receive_survives_bad_replies(void **state)
{
    fx_t *f = *state;
    static const char *const bad[] = {
        "{\"Messages\":{}}",
        "{\"Messages\":[{\"MessageId\":\"a\",\"Body\":\"x\",\"MD5OfBody\":"
        "\"9dd4e461268c8034f5c8564e155c67a6\"}]}",
        "{\"Messages\":[{\"MessageId\":\"a\",\"ReceiptHandle\":\"r\",\"Body\":7,"
        "\"MD5OfBody\":\"x\"}]}",
        "{\"Messages\":[{\"MessageId\":\"a\",\"ReceiptHandle\":\"r\",\"Body\":\"x\","
        "\"MD5OfBody\":\"9dd4e461268c8034f5c8564e155c67a6\",\"Attributes\":"
        "{\"ApproximateReceiveCount\":\"lots\"}}]}",
        "{\"Messages\":[1,null,\"s\"]}",
        "{\"Messages\":[{\"MessageId\":\"a\"",
        "<html><body>Bad Gateway</body></html>",
        "[]",
    };
    queue_msg_t *m;
    size_t n;
    err_t e;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        f->s.receive_reply = bad[i];
        /* JSON of the wrong shape is the service's mistake (invalid); text
         * that is no JSON object is something in between (unavailable,
         * retried later).  Either way nothing is delivered. */
        err_code_t rc = recv_q(f->q, 10, 30, 0, &m, &n, &e);
        assert_int_equal(rc, i >= 5 ? ERR_UNAVAILABLE : ERR_INVALID);
        assert_int_equal(n, 0);
    }
    f->s.receive_reply = "{}";
    assert_int_equal(recv_q(f->q, 10, 30, 0, &m, &n, &e), ERR_OK);
    assert_int_equal(n, 0);
    f->s.receive_reply = "{\"Messages\":[]}";
    assert_int_equal(recv_q(f->q, 10, 30, 0, &m, &n, &e), ERR_OK);
    assert_int_equal(n, 0);
    queue_msgs_free(m, n);
}

static void stale_receipts_are_notfound(void **state)
{
    fx_t *f = *state;
    err_t e;
    assert_int_equal(queue_delete(f->q, "rh0", &e), ERR_OK);
    assert_string_equal(jstr(logged(f, 0, "DeleteMessage"), "ReceiptHandle"), "rh0");
    assert_int_equal(queue_change_visibility(f->q, "rh0", 120, &e), ERR_OK);
    const json_t *b = logged(f, 1, "ChangeMessageVisibility");
    assert_int_equal(json_integer_value(json_object_get(b, "VisibilityTimeout")), 120);
    assert_int_equal(queue_delete(f->q, "stale", &e), ERR_NOTFOUND);
    assert_int_equal(queue_change_visibility(f->q, "stale", 0, &e), ERR_NOTFOUND);
    assert_int_equal(queue_change_visibility(f->q, "expired", 10, &e), ERR_NOTFOUND);
    assert_int_equal(queue_delete(f->q, "denied", &e), ERR_AUTH);
}

static void visibility_batch_marks_stale_receipts(void **state)
{
    fx_t *f = *state;
    const char *r[12];
    int stale[12];
    err_t e;
    for (int i = 0; i < 12; i++)
        r[i] = i == 4 || i == 11 ? "stale" : "ok";
    assert_int_equal(queue_sqs_change_visibility_batch(f->q, r, 12, 60, stale, &e), ERR_OK);
    assert_int_equal(f->s.n, 2);
    assert_int_equal(json_array_size(json_object_get(
        logged(f, 1, "ChangeMessageVisibilityBatch"), "Entries")), 2);
    for (int i = 0; i < 12; i++)
        assert_int_equal(stale[i], i == 4 || i == 11);
}

static void delete_batch_sends_ten_a_call_and_marks_stale(void **state)
{
    fx_t *f = *state;
    const char *r[13];
    int stale[13];
    err_t e;
    for (int i = 0; i < 13; i++)
        r[i] = i == 3 || i == 12 ? "stale" : "ok";
    assert_int_equal(queue_delete_batch(f->q, r, 13, stale, &e), ERR_OK);
    assert_int_equal(f->s.n, 2);
    const json_t *en = json_object_get(logged(f, 0, "DeleteMessageBatch"), "Entries");
    assert_int_equal(json_array_size(en), 10);
    assert_string_equal(jstr(json_array_get(en, 3), "ReceiptHandle"), "stale");
    assert_int_equal(json_array_size(json_object_get(
        logged(f, 1, "DeleteMessageBatch"), "Entries")), 3);
    for (int i = 0; i < 13; i++)
        assert_int_equal(stale[i], i == 3 || i == 12);
    const char *none[1] = {NULL};
    assert_int_equal(queue_delete_batch(f->q, none, 1, stale, &e), ERR_INVALID);
    assert_int_equal(f->s.n, 2);   /* refused before any call */
}

static void stats_read_the_queue_and_its_dlq(void **state)
{
    fx_t *f = *state;
    queue_stats_t st;
    err_t e;
    json_object_set_new(json_object_get(f->s.queues, "jobs-dlq"),
                        "ApproximateNumberOfMessages", json_string("7"));
    assert_int_equal(queue_stats(f->q, &st, &e), ERR_OK);
    assert_int_equal(st.visible, 4);
    assert_int_equal(st.inflight, 2);
    assert_int_equal(st.delayed, 1);
    assert_int_equal(st.dead, 7);   /* taken (hidden) dead letters are not counted */
    json_object_set_new(json_object_get(f->s.queues, "jobs"),
                        "ApproximateNumberOfMessages", json_string("-1"));
    assert_int_equal(queue_stats(f->q, &st, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "ApproximateNumberOfMessages"));
}

static void take_dead_receives_from_the_dlq_and_keeps_them(void **state)
{
    fx_t *f = *state;
    const char *bodies[] = {"dead one", "dead two"};
    char *r = receive_reply(bodies, 2);
    queue_msg_t *m;
    size_t n;
    err_t e;
    f->s.receive_reply = r;
    assert_int_equal(queue_take_dead(f->q, 2, &m, &n, &e), ERR_OK);
    assert_int_equal(n, 2);
    assert_string_equal(m[1].body, "dead two");
    assert_int_equal(m[1].receive_count, 2);
    queue_msgs_free(m, n);
    assert_string_equal(jstr(logged(f, 0, "ReceiveMessage"), "QueueUrl"), QURL "jobs-dlq");
    /* Kept in the DLQ for inspection, hidden for 12 hours: no delete. */
    assert_int_equal(json_integer_value(json_object_get(logged(f, 0, "ReceiveMessage"),
                                                        "VisibilityTimeout")), 43200);
    assert_int_equal(f->s.n, 1);
    free(r);
}

static void ensure_creates_then_finds_then_updates(void **state)
{
    fx_t *f = *state;
    char report[256];
    err_t e;
    assert_int_equal(queue_sqs_ensure(f->a.aws, "posters", 4, 300, report, sizeof report, &e),
                     ERR_OK);
    assert_string_equal(report, "created queue posters-dlq\ncreated queue posters");
    json_t *dlq = json_object_get(f->s.queues, "posters-dlq");
    json_t *main_q = json_object_get(f->s.queues, "posters");
    assert_string_equal(jstr(dlq, "MessageRetentionPeriod"), "1209600");
    assert_string_equal(jstr(main_q, "VisibilityTimeout"), "300");
    json_t *p = json_loads(jstr(main_q, "RedrivePolicy"), 0, NULL);
    assert_string_equal(jstr(p, "deadLetterTargetArn"),
                        "arn:aws:sqs:us-east-1:000000000000:posters-dlq");
    assert_int_equal(json_integer_value(json_object_get(p, "maxReceiveCount")), 4);
    json_decref(p);

    assert_int_equal(queue_sqs_ensure(f->a.aws, "posters", 4, 300, report, sizeof report, &e),
                     ERR_OK);
    assert_string_equal(report, "queue posters-dlq exists\nqueue posters exists");
    assert_int_equal(queue_sqs_ensure(f->a.aws, "posters", 6, 300, report, sizeof report, &e),
                     ERR_OK);
    assert_string_equal(report, "queue posters-dlq exists\n"
                                "queue posters exists (updated RedrivePolicy)");
    assert_int_equal(queue_sqs_ensure(f->a.aws, "bad.name", 4, 300, report, sizeof report, &e),
                     ERR_CONFIG);
    assert_int_equal(queue_sqs_ensure(f->a.aws, "posters", 0, 300, report, sizeof report, &e),
                     ERR_CONFIG);
}

static void service_errors_keep_their_code(void **state)
{
    fx_t *f = *state;
    queue_stats_t st;
    err_t e;
    f->s.canned_op = "GetQueueAttributes";
    f->s.canned_status = 400;
    f->s.canned_body = "{\"__type\":\"com.amazonaws.sqs#AccessDenied\",\"message\":\"no\"}";
    assert_int_equal(queue_stats(f->q, &st, &e), ERR_AUTH);
    assert_non_null(strstr(e.msg, "AmazonSQS.GetQueueAttributes"));
    f->s.canned_status = 200;
    f->s.canned_body = "{\"Attributes\":[1,2]}";
    assert_int_equal(queue_stats(f->q, &st, &e), ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(open_by_name_reads_redrive_and_finds_the_dlq),
        T(open_missing_queue_is_notfound_and_names_init),
        T(open_by_url_sends_to_the_endpoint_with_the_url_in_the_body),
        T(open_by_url_without_an_endpoint_goes_to_the_url_host),
        T(bad_redrive_policy_is_invalid),
        T(send_splits_at_ten_entries_and_sends_each_once),
        T(send_splits_at_the_queue_size_limit),
        T(unacceptable_bodies_are_refused_before_sending),
        T(only_failed_entries_are_retried),
        T(entries_failing_every_time_give_up),
        T(sender_fault_fails_the_send_at_once),
        T(send_md5_mismatch_resends_the_entry),
        T(receive_asks_for_counts_and_caps_its_numbers),
        T(receive_drops_a_body_that_fails_md5),
        T(receive_survives_bad_replies),
        T(stale_receipts_are_notfound),
        T(visibility_batch_marks_stale_receipts),
        T(delete_batch_sends_ten_a_call_and_marks_stale),
        T(stats_read_the_queue_and_its_dlq),
        T(take_dead_receives_from_the_dlq_and_keeps_them),
        T(ensure_creates_then_finds_then_updates),
        T(service_errors_keep_their_code),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
