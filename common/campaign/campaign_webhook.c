/* campaign_webhook — tells a receiver that a firing's batch finished.
 *
 * Signed like every webhook of the project (jobs/webhook.h, Standard
 * Webhooks): headers webhook-id, webhook-timestamp and webhook-signature
 * "v1,BASE64(HMAC-SHA256(key, ID.TIMESTAMP.BODY))", so receivers verify
 * with any Standard Webhooks library and reject old timestamps against
 * replay.  The body is {"type": "campaign.batch_finished", "timestamp",
 * "data": {...}}.  The secret ("whsec_...") comes from the environment
 * (webhook.secret_env), never from the campaign file.  The webhook-id is a
 * hash of the body, so the attempts of one delivery share it.  Messages
 * name the receiver by its origin only: webhook URLs often carry a token in
 * their path. */
#include "campaign/campaign.h"
#include "base/crypto.h"
#include "jobs/webhook.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

err_code_t campaign_webhook_body(const campaign_t *c, const char *slot,
                                 const ledger_batch_t *b, buf_t *out)
{
    json_t *states = json_object(), *root;
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    for (int s = 0; states && s < JOB__NSTATES; s++)
        json_object_set_new(states, job_state_name((job_state_t)s),
                            json_integer(b->by_state[s]));
    root = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:I, s:o}}", "type",
                     "campaign.batch_finished", "timestamp", ts, "data", "campaign", c->name,
                     "slot", slot, "batch", b->batch_id, "jobs", (json_int_t)b->total,
                     "by_state", states);
    if (!root)
        return ERR_NOMEM;
    char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!text)
        return ERR_NOMEM;
    err_code_t rc = buf_append_str(out, text);
    free(text);
    return rc;
}

void campaign_webhook_origin(const char *url, char *out, size_t cap)
{
    webhook_origin(url, out, cap);
}

err_code_t campaign_webhook_send(const campaign_t *c, const char *secret, const char *body,
                                 size_t len, err_t *err)
{
    char origin[300], id[40], hex[SHA256_HEX_LEN], what[160];
    webhook_key_t k;
    long status;

    if (!c->webhook_url)
        return err_set(err, ERR_CONFIG, "%s: no webhook configured", c->path);
    campaign_webhook_origin(c->webhook_url, origin, sizeof origin);
    snprintf(what, sizeof what, "%s: webhook: $%s", c->path,
             c->webhook_secret_env ? c->webhook_secret_env : "?");
    if (!secret || !*secret)
        return err_set(err, ERR_CONFIG, "%s is not set", what);
    if (webhook_key_parse(secret, what, &k, err) != ERR_OK)
        return ERR_CONFIG;
    if (crypto_sha256_hex(body, len, hex) != ERR_OK)
        return err_set(err, ERR_NOMEM, "out of memory");
    snprintf(id, sizeof id, "msg_%.26s", hex);
    return webhook_post(NULL, c->webhook_url, &k, id, body, len, 10000, &status, err);
}
