/* provision — see provision.h. */
#include "setup/provision.h"

#include "aws/aws.h"
#include "aws/ddb.h"
#include "queue/queue_sqs.h"
#include "store/store_s3.h"

#include <stdio.h>
#include <string.h>

static bool prefixed(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* The queue name of "sqs:NAME" or of a queue URL (its last path segment). */
static const char *queue_name(const char *url)
{
    if (prefixed(url, "sqs:"))
        return url + 4;
    const char *slash = strrchr(url, '/');
    return slash && slash[1] ? slash + 1 : NULL;
}

static err_code_t need_env(aws_env_t **env, err_t *err)
{
    if (!*env && !(*env = aws_env_default(err)))
        return err->code ? err->code : ERR_CONFIG;
    return ERR_OK;
}

err_code_t provision_all(const config_t *cfg, provision_report_fn report, void *ud,
                         err_t *err)
{
    aws_env_t *env = NULL;
    char line[1024];

    err_clear(err);
    if (prefixed(cfg->queue, "sqlite:")) {
        snprintf(line, sizeof line, "queue %s: embedded, created on first use", cfg->queue);
        report(line, ud);
    } else {
        const char *name = queue_name(cfg->queue);
        if (!name)
            return err_set(err, ERR_CONFIG, "queue: cannot tell the queue name from \"%s\"",
                           cfg->queue);
        if (need_env(&env, err) != ERR_OK ||
            queue_sqs_ensure(env, name, cfg->max_receives, cfg->visibility_timeout, line,
                             sizeof line, err) != ERR_OK)
            return err_prefix(err, "queue %s", name);
        report(line, ud);
    }

    if (prefixed(cfg->ledger, "sqlite:")) {
        snprintf(line, sizeof line, "ledger %s: embedded, created on first use", cfg->ledger);
        report(line, ud);
    } else if (prefixed(cfg->ledger, "dynamodb:")) {
        const char *table = cfg->ledger + 9;
        if (need_env(&env, err) != ERR_OK ||
            ledger_dynamodb_ensure(env, table, line, sizeof line, err) != ERR_OK)
            return err_prefix(err, "ledger %s", table);
        report(line, ud);
    }

    if (prefixed(cfg->store, "file:")) {
        snprintf(line, sizeof line, "store %s: embedded, created on first use", cfg->store);
        report(line, ud);
    } else if (prefixed(cfg->store, "s3://")) {
        char bucket[256], prefix[1024];
        if (store_s3_parse_url(cfg->store, bucket, sizeof bucket, prefix, sizeof prefix,
                               err) != ERR_OK)
            return err->code;
        if (need_env(&env, err) != ERR_OK ||
            store_s3_ensure(env, bucket, line, sizeof line, err) != ERR_OK)
            return err_prefix(err, "store %s", bucket);
        report(line, ud);
    }
    return ERR_OK;
}
