/* fake_sqs — a small SQS stand-in (JSON protocol) for the fake server:
 * queues with string attributes, CreateQueue / GetQueueUrl /
 * Get|SetQueueAttributes, the batch calls, and scripted answers for
 * ReceiveMessage and failure injection.  Every request's SigV4 signature is
 * verified with the given keys (failures are counted in rejected) and every
 * accepted request is logged (op name and parsed body).
 *
 * Use: fake_sqs_init(), fake_server_start(fake_sqs_handler, &s), then read
 * and script the fields under s.mu (or while no request is in flight). */
#ifndef ONESHEET_FAKE_SQS_H
#define ONESHEET_FAKE_SQS_H

#include "fakeserver.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

/* Queue URLs look like this (a host that does not resolve, as fauxqs's
 * do): clients must treat them as opaque. */
#define FAKE_SQS_URL "http://sqs.us-east-1.localhost.invalid:9/000000000000/"
#define FAKE_SQS_MAXLOG 64

typedef struct {
    pthread_mutex_t mu;
    const char *akid, *secret; /* the keys requests must be signed with */
    json_t *queues;            /* name -> attributes (all strings) */
    char *op[FAKE_SQS_MAXLOG]; /* the requests, in order */
    json_t *body[FAKE_SQS_MAXLOG];
    int n;
    int rejected;              /* bad signatures */
    const char *fail_ids;      /* ",m3,m7,": these send entries fail ... */
    int fail_calls;            /* ... in this many SendMessageBatch calls */
    bool sender_fault;         /* ... with SenderFault true */
    int bad_md5_calls;         /* answer a wrong MD5OfMessageBody */
    const char *canned_op;     /* answer this op with canned_* */
    int canned_status;
    const char *canned_body;
    const char *receive_reply; /* ReceiveMessage answer ("{}" when NULL) */
} fake_sqs_t;

/* Makes s empty; akid and secret are borrowed. */
void fake_sqs_init(fake_sqs_t *s, const char *akid, const char *secret);
/* Frees the log and queues. */
void fake_sqs_free(fake_sqs_t *s);
/* The fake_handler_fn; ud is the fake_sqs_t. */
void fake_sqs_handler(const fake_request_t *req, fake_response_t *resp, void *ud);
/* Adds queue name with MaximumMessageSize max_msg and counts 4 visible,
 * 2 not visible, 1 delayed; with a RedrivePolicy to dlq (maxReceiveCount
 * 3) when dlq is non-NULL. */
void fake_sqs_add_queue(fake_sqs_t *s, const char *name, const char *max_msg,
                        const char *dlq);
/* Forgets the logged requests. */
void fake_sqs_reset_log(fake_sqs_t *s);
/* Lower-case hex MD5 of s[0..n). */
void fake_sqs_md5_hex(const char *s, size_t n, char out[33]);

#endif
