/* campaign_webhook — tells a receiver that a firing's batch finished.
 *
 * The body is compact JSON; the header `Onesheet-Signature:
 * t=TIMESTAMP,v1=HEX` carries HMAC-SHA256(secret, "TIMESTAMP." + body), the
 * scheme Stripe popularised: the receiver recomputes it over the raw body,
 * compares in constant time, and rejects old timestamps so a captured
 * delivery cannot be replayed later.  The secret comes from the
 * environment (webhook.secret_env), never from the campaign file.  Messages
 * name the receiver by its origin only: webhook URLs often carry a token in
 * their path. */
#include "campaign/campaign.h"
#include "base/crypto.h"
#include "aws/http.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

err_code_t campaign_webhook_body(const campaign_t *c, const char *slot,
                                 const ledger_batch_t *b, buf_t *out)
{
    json_t *states = json_object(), *root;
    for (int s = 0; states && s < JOB__NSTATES; s++)
        json_object_set_new(states, job_state_name((job_state_t)s),
                            json_integer(b->by_state[s]));
    root = json_pack("{s:s, s:s, s:s, s:s, s:I, s:o}", "event", "campaign.batch_finished",
                     "campaign", c->name, "slot", slot, "batch", b->batch_id, "jobs",
                     (json_int_t)b->total, "by_state", states);
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

err_code_t campaign_webhook_sign(const char *secret, int64_t timestamp, const char *body,
                                 size_t len, char *out, size_t cap)
{
    char ts[24], hex[2 * SHA256_LEN + 1];
    uint8_t mac[SHA256_LEN];
    buf_t msg = BUF_INIT;
    snprintf(ts, sizeof ts, "%lld", (long long)timestamp);
    err_code_t rc = buf_appendf(&msg, "%s.", ts);
    if (rc == ERR_OK)
        rc = buf_append(&msg, body, len);
    if (rc == ERR_OK)
        rc = crypto_hmac_sha256(secret, strlen(secret), msg.data, msg.len, mac);
    buf_free(&msg);
    if (rc != ERR_OK)
        return rc;
    hex_encode(mac, sizeof mac, hex);
    if ((size_t)snprintf(out, cap, "t=%s,v1=%s", ts, hex) >= cap)
        return ERR_TOOBIG;
    return ERR_OK;
}

/* Transport errors start "POST URL: " (the query already cut); the path
 * may hold a token, so say "webhook ORIGIN: " instead. */
static void name_by_origin(err_t *err, const char *url, const char *origin)
{
    char prefix[300], rest[sizeof err->msg];
    size_t n = strcspn(url, "?#");
    snprintf(prefix, sizeof prefix, "POST %.*s: ", (int)(n > 200 ? 200 : n), url);
    const char *tail = strncmp(err->msg, prefix, strlen(prefix)) == 0
                           ? err->msg + strlen(prefix) : err->msg;
    snprintf(rest, sizeof rest, "%s", tail);
    snprintf(err->msg, sizeof err->msg, "webhook %s: %s", origin, rest);
}

void campaign_webhook_origin(const char *url, char *out, size_t cap)
{
    const char *host = url ? strstr(url, "://") : NULL;
    size_t n = host ? strcspn(host + 3, "/?#") + (size_t)(host + 3 - url) : 0;
    snprintf(out, cap, "%.*s", (int)n, host ? url : "");
}

err_code_t campaign_webhook_send(const campaign_t *c, const char *secret, const char *body,
                                 size_t len, err_t *err)
{
    char sig[128];
    http_response_t resp;
    err_code_t rc;

    char origin[300];
    if (!c->webhook_url)
        return err_set(err, ERR_CONFIG, "%s: no webhook configured", c->path);
    campaign_webhook_origin(c->webhook_url, origin, sizeof origin);
    if (!secret || !*secret)
        return err_set(err, ERR_CONFIG, "%s: webhook: the secret ($%s) is not set", c->path,
                       c->webhook_secret_env ? c->webhook_secret_env : "?");
    if (campaign_webhook_sign(secret, (int64_t)time(NULL), body, len, sig, sizeof sig) !=
        ERR_OK)
        return err_set(err, ERR_NOMEM, "out of memory");
    http_header_t h[] = {
        {"Content-Type", "application/json"},
        {"Onesheet-Signature", sig},
        {"Onesheet-Event", "campaign.batch_finished"},
    };
    http_request_t req = {.method = "POST", .url = c->webhook_url, .headers = h,
                          .nheaders = sizeof h / sizeof *h, .body = body, .body_len = len,
                          .timeout_ms = 10000, .max_response = 64 * 1024};
    http_client_t *hc = http_client_new(NULL, err);
    if (!hc)
        return err->code;
    http_response_init(&resp);
    rc = http_do(hc, &req, &resp, err);
    if (rc != ERR_OK)
        name_by_origin(err, c->webhook_url, origin);
    if (rc == ERR_OK && (resp.status < 200 || resp.status > 299)) {
        bool retry = resp.status >= 500 || resp.status == 429 || resp.status == 408;
        rc = err_set(err, retry ? ERR_UNAVAILABLE : ERR_PERMANENT,
                     "webhook %s answered HTTP %ld", origin, resp.status);
        err->http_status = (int)resp.status;
    }
    http_response_free(&resp);
    http_client_free(hc);
    return rc;
}
