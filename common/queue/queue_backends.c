/* queue_backends — the queue back-end table; see queue_backends.h. */
#include "queue/queue_backends.h"
#include "queue/queue_sqlite.h"
#include "queue/queue_sqs.h"

#include <string.h>

static queue_t *open_sqlite(const char *value, err_t *err)
{
    return queue_sqlite_open(value + strlen("sqlite:"), err);
}

/* The queue name of "sqs:NAME" or of a queue URL (its last path segment). */
static const char *sqs_name(const char *value)
{
    if (strncmp(value, "sqs:", 4) == 0)
        return value + 4;
    const char *slash = strrchr(value, '/');
    return slash && slash[1] ? slash + 1 : NULL;
}

/* Creates the SQS queue and its dead-letter queue when missing. */
static err_code_t provision_sqs(const char *value, const backend_setup_t *setup, char *line,
                                size_t cap, err_t *err)
{
    const char *name = sqs_name(value);
    if (!name)
        return err_set(err, ERR_CONFIG, "queue: cannot tell the queue name from \"%s\"", value);
    aws_env_t *env = aws_env_default(err);
    if (!env || queue_sqs_ensure(env, name, setup->max_receives, setup->visibility_timeout,
                                 line, cap, err) != ERR_OK)
        return err_prefix(err, "queue %s", name);
    return ERR_OK;
}

static const queue_backend_t backends[] = {
    {{"sqlite:", false, "sqlite:PATH", NULL, NULL}, open_sqlite, true},
    {{"sqs:", false, "sqs:NAME", NULL, provision_sqs}, queue_sqs_open, false},
    {{"https://", false, "an SQS queue URL", NULL, provision_sqs}, queue_sqs_open, false},
    {{"http://", false, "an SQS queue URL", NULL, provision_sqs}, queue_sqs_open, false},
};
#define NBACKENDS (sizeof backends / sizeof *backends)

const queue_backend_t *queue_backend_check(const char *value, err_t *err)
{
    return (const queue_backend_t *)backend_check(backends, NBACKENDS, sizeof *backends,
                                                  "queue", value, err);
}

/* Opens the back-end whose row claims url; the message names the whole
 * value, since it usually comes straight from a config file. */
queue_t *queue_open(const char *url, err_t *err)
{
    const queue_backend_t *b = queue_backend_check(url, err);
    return b ? b->open(url, err) : NULL;
}

void queue_apply_max_receives(queue_t *q, const char *url, int max_receives)
{
    const queue_backend_t *b = (const queue_backend_t *)backend_find(
        backends, NBACKENDS, sizeof *backends, url);
    if (q && b && b->worker_dead_letters)
        q->max_receives = max_receives;
}
