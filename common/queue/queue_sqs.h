/* queue_sqs — the queue interface (queue.h) on Amazon SQS, JSON protocol.
 *
 * Configured as "sqs:NAME" (the region and endpoint from the AWS
 * environment) or as a full queue URL.  The QueueUrl SQS returns is treated
 * as an opaque value passed in request bodies; requests always go to the
 * configured endpoint (AWS_ENDPOINT_URL_SQS / AWS_ENDPOINT_URL, else
 * sqs.REGION.amazonaws.com), or to a URL's own host when a queue URL is
 * configured and no endpoint is.
 *
 * Dead-lettering is the queue's RedrivePolicy: open() reads it, sets
 * q->max_receives from maxReceiveCount (0 when the queue has none) and
 * finds the dead-letter queue for stats and take_dead. */
#ifndef ONESHEET_QUEUE_SQS_H
#define ONESHEET_QUEUE_SQS_H

#include "aws/aws.h"
#include "queue/queue.h"

#include <stddef.h>

/* Opens spec ("sqs:NAME" or an http(s) queue URL) with the process-wide
 * AWS environment (aws_env_default).  NULL with err set: ERR_CONFIG for a
 * bad spec or AWS setting, ERR_NOTFOUND when the queue does not exist (run
 * `onesheet init`), or the service's error. */
queue_t *queue_sqs_open(const char *spec, err_t *err);

/* The same with a given environment, which is borrowed and must outlive
 * the queue (tests, or a binary that built its own). */
queue_t *queue_sqs_open_env(aws_env_t *env, const char *spec, err_t *err);

/* Creates, idempotently, the queue NAME and its dead-letter queue NAME-dlq
 * (MessageRetentionPeriod 14 days), NAME with RedrivePolicy
 * {deadLetterTargetArn, maxReceiveCount = max_receives} and
 * VisibilityTimeout = visibility_s.  Existing queues whose redrive policy or
 * visibility timeout differ are updated.  report (cap bytes; may be NULL)
 * gets one line per queue: "created queue X", "queue X exists", or
 * "queue X exists (updated ...)".  ERR_CONFIG for a bad name (1..76 of
 * A-Za-z0-9_-; FIFO queues are not supported) or out-of-range numbers. */
err_code_t queue_sqs_ensure(aws_env_t *env, const char *name, int max_receives,
                            int visibility_s, char *report, size_t cap,
                            err_t *err);

/* The queue URL in use (borrowed; valid until close).  q must be an SQS
 * queue. */
const char *queue_sqs_url(const queue_t *q);

/* Sets the visibility of n received messages at once (heartbeats), in calls
 * of up to 10.  stale (may be NULL; n entries) gets 1 for each receipt SQS
 * says is no longer valid, 0 otherwise; stale receipts alone do not make
 * the call fail.  Other per-entry failures are retried, then returned. */
err_code_t queue_sqs_change_visibility_batch(queue_t *q,
                                             const char *const *receipts,
                                             size_t n, int secs, int *stale,
                                             err_t *err);

#endif
