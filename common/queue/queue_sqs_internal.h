/* queue_sqs_internal — what queue_sqs.c (the queue operations) and
 * queue_sqs_setup.c (opening, attributes, `onesheet init`) share.  Not for
 * use outside those two files. */
#ifndef ONESHEET_QUEUE_SQS_INTERNAL_H
#define ONESHEET_QUEUE_SQS_INTERNAL_H

#include "queue/queue_sqs.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SQS_BATCH_MAX 10           /* entries per batch call */
#define SQS_SEND_PARALLEL 4        /* SendMessageBatch calls in flight */
#define SQS_DEFAULT_MAX_MSG 262144 /* when the queue does not say */
#define SQS_MAX_VISIBILITY 43200
#define SQS_MAX_WAIT 20

typedef struct {
    queue_t base;
    aws_env_t *env;            /* borrowed */
    char *base_url;            /* clients go here instead of the endpoint */
    char *region;              /* ... signing for this region (or NULL) */
    aws_client_t *c;
    aws_client_t *extra[SQS_SEND_PARALLEL - 1];   /* made on first use */
    char *url;                 /* QueueUrl, opaque */
    char *dlq_url;             /* NULL without a RedrivePolicy */
    size_t max_msg;            /* MaximumMessageSize */
} sqs_t;

/* The operations table (queue_sqs.c). */
extern const queue_ops_t sqs_queue_ops;

/* A new client for q's endpoint (or its base_url).  NULL with err set. */
aws_client_t *sqs_client_new(sqs_t *q, err_t *err);

/* Calls AmazonSQS.<op> on c.  body is a new reference, always consumed
 * (NULL, from a failed json_pack, is ERR_INVALID).  timeout_ms 0: the
 * default.  *reply (when reply is non-NULL) gets the reply object, which
 * the caller decrefs. */
err_code_t sqs_call(aws_client_t *c, const char *op, json_t *body, long timeout_ms,
                    json_t **reply, err_t *err);

/* The string value of key in o, or NULL (borrowed). */
const char *sqs_str(const json_t *o, const char *key);

/* A count given as a decimal string (as SQS sends attributes) or a JSON
 * integer; false when it is neither. */
bool sqs_parse_count(const json_t *v, int64_t *out);

/* Reads n count attributes of the queue at url into out[]; ERR_INVALID
 * naming the attribute when one is missing or not a count. */
err_code_t sqs_counts(aws_client_t *c, const char *url, const char *const *names,
                      size_t n, int64_t *out, err_t *err);

#endif
