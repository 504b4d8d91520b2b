/* fake_sqs — see fake_sqs.h. */
#include "fake_sqs.h"
#include "base/buf.h"
#include "fakeaws.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void fake_sqs_md5_hex(const char *s, size_t n, char out[33])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dl;
    EVP_Digest(s, n, d, &dl, EVP_md5(), NULL);
    hex_encode(d, 16, out);
}

static void reply(fake_response_t *resp, int status, json_t *j)
{
    char *t = json_dumps(j, JSON_COMPACT);
    fake_response_json(resp, status, t);
    free(t);
    json_decref(j);
}

static void sqs_error(fake_response_t *resp, const char *code)
{
    reply(resp, 400, json_pack("{s:s,s:s}", "__type", code, "message", "fake error"));
}

/* The queue a QueueUrl names, or NULL. */
static json_t *by_url(fake_sqs_t *s, const json_t *body)
{
    const char *u = json_string_value(json_object_get(body, "QueueUrl"));
    if (!u || strncmp(u, FAKE_SQS_URL, strlen(FAKE_SQS_URL)) != 0)
        return NULL;
    return json_object_get(s->queues, u + strlen(FAKE_SQS_URL));
}

static void batch_reply(fake_sqs_t *s, const char *op, json_t *entries, fake_response_t *resp)
{
    json_t *ok = json_array(), *failed = json_array(), *e;
    size_t i;
    json_array_foreach(entries, i, e) {
        const char *id = json_string_value(json_object_get(e, "Id"));
        const char *rh = json_string_value(json_object_get(e, "ReceiptHandle"));
        const char *mb = json_string_value(json_object_get(e, "MessageBody"));
        char key[40], md5[33];
        snprintf(key, sizeof key, ",%s,", id);
        if (rh && strcmp(rh, "stale") == 0) {
            json_array_append_new(failed, json_pack("{s:s,s:b,s:s,s:s}", "Id", id, "SenderFault",
                                                    1, "Code", "ReceiptHandleIsInvalid",
                                                    "Message", "gone"));
        } else if (s->fail_calls > 0 && s->fail_ids && strstr(s->fail_ids, key)) {
            json_array_append_new(failed, json_pack("{s:s,s:b,s:s,s:s}", "Id", id, "SenderFault",
                                                    s->sender_fault, "Code",
                                                    s->sender_fault ? "InvalidMessageContents"
                                                                    : "InternalError",
                                                    "Message", "try again"));
        } else if (mb) {
            fake_sqs_md5_hex(mb, strlen(mb), md5);
            if (s->bad_md5_calls > 0)
                md5[0] = md5[0] == '0' ? '1' : '0';
            json_array_append_new(ok, json_pack("{s:s,s:s,s:s}", "Id", id, "MessageId", id,
                                                "MD5OfMessageBody", md5));
        } else {
            json_array_append_new(ok, json_pack("{s:s}", "Id", id));
        }
    }
    if (strcmp(op, "SendMessageBatch") == 0) {
        s->fail_calls--;
        s->bad_md5_calls--;
    }
    reply(resp, 200, json_pack("{s:o,s:o}", "Successful", ok, "Failed", failed));
}

void fake_sqs_handler(const fake_request_t *req, fake_response_t *resp, void *ud)
{
    fake_sqs_t *s = ud;
    sigv4_credentials_t c = {s->akid, s->secret, NULL};
    sigv4_verify_opts_t vo = {.now = time(NULL), .region = "us-east-1", .service = "sqs"};
    const char *t = fake_request_header(req, "X-Amz-Target");
    const char *op = t && strncmp(t, "AmazonSQS.", 10) == 0 ? t + 10 : "?";
    json_t *body = json_loadb(req->body, req->body_len, 0, NULL), *q;

    pthread_mutex_lock(&s->mu);
    if (fakeaws_verify(req, &c, &vo, NULL, NULL) != ERR_OK) {
        s->rejected++;
        sqs_error(resp, "SignatureDoesNotMatch");
        goto out;
    }
    if (s->n < FAKE_SQS_MAXLOG) {
        s->op[s->n] = strdup(op);
        s->body[s->n] = json_incref(body);
    }
    s->n++;
    if (s->canned_op && strcmp(op, s->canned_op) == 0) {
        fake_response_json(resp, s->canned_status, s->canned_body);
    } else if (strcmp(op, "GetQueueUrl") == 0) {
        const char *name = json_string_value(json_object_get(body, "QueueName"));
        char url[256];
        snprintf(url, sizeof url, FAKE_SQS_URL "%s", name ? name : "");
        if (name && json_object_get(s->queues, name))
            reply(resp, 200, json_pack("{s:s}", "QueueUrl", url));
        else
            sqs_error(resp, "com.amazonaws.sqs#QueueDoesNotExist");
    } else if (strcmp(op, "CreateQueue") == 0) {
        const char *name = json_string_value(json_object_get(body, "QueueName"));
        json_t *attrs = json_deep_copy(json_object_get(body, "Attributes"));
        char arn[160];
        snprintf(arn, sizeof arn, "arn:aws:sqs:us-east-1:000000000000:%s", name);
        json_object_set_new(attrs, "QueueArn", json_string(arn));
        json_object_set_new(s->queues, name, attrs);
        reply(resp, 200, json_pack("{s:s}", "QueueUrl", "opaque"));
    } else if ((q = by_url(s, body)) == NULL) {
        sqs_error(resp, "com.amazonaws.sqs#QueueDoesNotExist");
    } else if (strcmp(op, "GetQueueAttributes") == 0) {
        json_t *out = json_object(), *nm;
        size_t i;
        json_array_foreach(json_object_get(body, "AttributeNames"), i, nm) {
            json_t *v = json_object_get(q, json_string_value(nm));
            if (v)
                json_object_set(out, json_string_value(nm), v);
        }
        reply(resp, 200, json_pack("{s:o}", "Attributes", out));
    } else if (strcmp(op, "SetQueueAttributes") == 0) {
        json_object_update(q, json_object_get(body, "Attributes"));
        fake_response_json(resp, 200, "{}");
    } else if (strstr(op, "Batch")) {
        batch_reply(s, op, json_object_get(body, "Entries"), resp);
    } else if (strcmp(op, "ReceiveMessage") == 0) {
        fake_response_json(resp, 200, s->receive_reply ? s->receive_reply : "{}");
    } else {
        const char *rh = json_string_value(json_object_get(body, "ReceiptHandle"));
        if (rh && strcmp(rh, "stale") == 0)
            sqs_error(resp, "com.amazonaws.sqs#ReceiptHandleIsInvalid");
        else if (rh && strcmp(rh, "expired") == 0)
            sqs_error(resp, "com.amazonaws.sqs#MessageNotInflight");
        else if (rh && strcmp(rh, "denied") == 0)
            sqs_error(resp, "com.amazonaws.sqs#AccessDenied");
        else
            fake_response_json(resp, 200, "{}");
    }
out:
    pthread_mutex_unlock(&s->mu);
    json_decref(body);
}

void fake_sqs_init(fake_sqs_t *s, const char *akid, const char *secret)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    s->akid = akid;
    s->secret = secret;
    s->queues = json_object();
}

void fake_sqs_free(fake_sqs_t *s)
{
    fake_sqs_reset_log(s);
    json_decref(s->queues);
    s->queues = NULL;
    pthread_mutex_destroy(&s->mu);
}

void fake_sqs_add_queue(fake_sqs_t *s, const char *name, const char *max_msg,
                        const char *dlq)
{
    json_t *a = json_pack("{s:s,s:s,s:s,s:s}", "MaximumMessageSize", max_msg,
                          "ApproximateNumberOfMessages", "4",
                          "ApproximateNumberOfMessagesNotVisible", "2",
                          "ApproximateNumberOfMessagesDelayed", "1");
    char policy[256];
    snprintf(policy, sizeof policy, "{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:"
             "000000000000:%s\",\"maxReceiveCount\":\"3\"}", dlq ? dlq : "");
    if (dlq)
        json_object_set_new(a, "RedrivePolicy", json_string(policy));
    pthread_mutex_lock(&s->mu);
    json_object_set_new(s->queues, name, a);
    pthread_mutex_unlock(&s->mu);
}

void fake_sqs_reset_log(fake_sqs_t *s)
{
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->n && i < FAKE_SQS_MAXLOG; i++) {
        free(s->op[i]);
        json_decref(s->body[i]);
        s->op[i] = NULL;
        s->body[i] = NULL;
    }
    s->n = 0;
    pthread_mutex_unlock(&s->mu);
}
