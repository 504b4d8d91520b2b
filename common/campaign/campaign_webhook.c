/* campaign_webhook — a campaign's webhook is its firings' batch webhook.
 *
 * There is one webhook mechanism in the project (jobs/webhook.h): a batch's
 * receiver URL is recorded in the ledger before its jobs are added, every
 * terminal transition of one of its jobs writes a signed event to the
 * ledger's outbox in the same step, the job that leaves none live also
 * writes batch.completed, and workers deliver the outbox with retries.  A
 * firing registers the campaign's webhook.url that way (campaign_fire.c),
 * whatever process fires it (`campaign run`, with or without --wait, or
 * the Lambda's scheduler event).  This file holds the checks that come
 * before anything is recorded.
 *
 * Workers sign with the configured webhook_secret (ONESHEET_WEBHOOK_SECRET):
 * the process that fires cannot hand them another one.  So webhook.secret_env
 * is optional; when given, the variable it names must hold that same secret,
 * which catches a campaign file written for the old per-campaign secret.
 * Messages never echo a secret, and name the receiver by its origin only. */
#include "campaign/campaign.h"
#include "jobs/webhook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void campaign_webhook_origin(const char *url, char *out, size_t cap)
{
    webhook_origin(url, out, cap);
}

err_code_t campaign_webhook_check(const campaign_t *c, const char *secret, ledger_t *l,
                                  err_t *err)
{
    char what[400];
    webhook_key_t k;
    err_t e;
    err_code_t rc;

    if (!c->webhook_url)
        return ERR_OK;
    snprintf(what, sizeof what, "%s: webhook.url", c->path);
    if ((rc = webhook_url_check(c->webhook_url, what, err)) != ERR_OK)
        return rc;
    if (!secret || !*secret)
        return err_set(err, ERR_CONFIG, "%s: webhook: workers sign webhooks with "
                       "webhook_secret: set webhook_secret in the config or "
                       "ONESHEET_WEBHOOK_SECRET (whsec_ and base64 of at least %d random "
                       "bytes), the same for every worker; nothing enqueued", c->path,
                       WEBHOOK_KEY_MIN);
    snprintf(what, sizeof what, "%s: webhook: webhook_secret", c->path);
    err_clear(&e);
    if (webhook_key_parse(secret, what, &k, &e) != ERR_OK)
        return err_set(err, ERR_CONFIG, "%s; nothing enqueued", e.msg);
    if (c->webhook_secret_env) {
        const char *v = getenv(c->webhook_secret_env);
        if (!v || strcmp(v, secret) != 0)
            return err_set(err, ERR_CONFIG, "%s: webhook.secret_env: $%s %s; workers sign "
                           "every webhook with webhook_secret (ONESHEET_WEBHOOK_SECRET): "
                           "give $%s the same secret, or drop secret_env; nothing enqueued",
                           c->path, c->webhook_secret_env,
                           v ? "does not hold the configured webhook_secret" : "is not set",
                           c->webhook_secret_env);
    }
    if (!ledger_has_outbox(l))
        return err_set(err, ERR_CONFIG, "%s: webhook: this ledger does not keep webhooks "
                       "(use the SQLite or DynamoDB ledger); nothing enqueued", c->path);
    return ERR_OK;
}
