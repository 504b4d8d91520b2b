/* webhook — Standard Webhooks signing, receiver URL rules and one delivery
 * attempt (webhook.h).  Nothing here keeps state: the outbox in the ledger
 * is what makes deliveries durable, and the worker decides when to try. */
#include "jobs/webhook.h"
#include "base/buf.h"
#include "base/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define URL_MAX 2048
#define BACKOFF_MAX_MS (10 * 60 * 1000)

int64_t webhook_backoff_ms(int attempt, double r)
{
    int64_t d = 1000;
    for (int i = 1; i < attempt && d < BACKOFF_MAX_MS; i++)
        d *= 2;
    if (d > BACKOFF_MAX_MS)
        d = BACKOFF_MAX_MS;
    return d / 2 + (int64_t)(r * (double)(d / 2));
}

err_code_t webhook_key_parse(const char *secret, const char *what, webhook_key_t *out,
                             err_t *err)
{
    buf_t b = BUF_INIT;
    err_t ignored;

    memset(out, 0, sizeof *out);
    if (!secret || strncmp(secret, "whsec_", 6) != 0)
        return err_set(err, ERR_CONFIG, "%s: expected a Standard Webhooks secret "
                       "\"whsec_\" followed by base64", what);
    const char *text = secret + 6;
    if (base64_decode(text, strlen(text), &b, &ignored) != ERR_OK || b.len == 0) {
        buf_free(&b);
        return err_set(err, ERR_CONFIG, "%s: the part after \"whsec_\" is not valid "
                       "base64", what);
    }
    if (b.len < WEBHOOK_KEY_MIN || b.len > WEBHOOK_KEY_MAX) {
        size_t n = b.len;
        buf_free(&b);
        return err_set(err, ERR_CONFIG, "%s: the key decodes to %zu bytes; expected %d "
                       "to %d", what, n, WEBHOOK_KEY_MIN, WEBHOOK_KEY_MAX);
    }
    memcpy(out->key, b.data, b.len);
    out->len = b.len;
    buf_free(&b);
    return ERR_OK;
}

err_code_t webhook_sign(const webhook_key_t *k, const char *id, int64_t timestamp,
                        const char *body, size_t len, char *out, size_t cap)
{
    uint8_t mac[SHA256_LEN];
    buf_t msg = BUF_INIT, b64 = BUF_INIT;
    err_code_t rc = buf_appendf(&msg, "%s.%lld.", id, (long long)timestamp);

    if (rc == ERR_OK)
        rc = buf_append(&msg, body, len);
    if (rc == ERR_OK)
        rc = crypto_hmac_sha256(k->key, k->len, msg.data, msg.len, mac);
    if (rc == ERR_OK)
        rc = base64_encode(mac, sizeof mac, &b64);
    if (rc == ERR_OK && (size_t)snprintf(out, cap, "v1,%.*s", (int)b64.len,
                                         (const char *)b64.data) >= cap)
        rc = ERR_TOOBIG;
    buf_free(&msg);
    buf_free(&b64);
    return rc;
}

err_code_t webhook_url_check(const char *url, const char *what, err_t *err)
{
    if (!url || !*url)
        return err_set(err, ERR_INVALID, "%s: empty URL", what);
    if (strlen(url) > URL_MAX)
        return err_set(err, ERR_INVALID, "%s: URL longer than %d characters", what, URL_MAX);
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return err_set(err, ERR_INVALID, "%s: URL holds a space or control character",
                           what);
    bool https = strncmp(url, "https://", 8) == 0, http = strncmp(url, "http://", 7) == 0;
    const char *host = url + (https ? 8 : 7);
    if ((!https && !http) || !*host || *host == '/' || *host == '?' || *host == '#')
        return err_set(err, ERR_INVALID, "%s: expected an https:// URL (http:// only to a "
                       "loopback host)", what);
    if (http && !http_url_is_loopback(url))
        return err_set(err, ERR_INVALID, "%s: plain http:// is allowed only to a loopback "
                       "host (127.0.0.1, ::1, localhost); use https://", what);
    return ERR_OK;
}

void webhook_origin(const char *url, char *out, size_t cap)
{
    const char *host = url ? strstr(url, "://") : NULL;
    size_t n = host ? strcspn(host + 3, "/?#") + (size_t)(host + 3 - url) : 0;
    /* user:password@ is a secret too */
    const char *at = host ? memchr(host + 3, '@', n - (size_t)(host + 3 - url)) : NULL;
    if (at)
        snprintf(out, cap, "%.*s%.*s", (int)(host + 3 - url), url,
                 (int)(n - (size_t)(at + 1 - url)), at + 1);
    else
        snprintf(out, cap, "%.*s", (int)n, host ? url : "");
}

err_code_t webhook_new_id(char *out, size_t cap)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    uint8_t r[26];
    if (cap < 31)
        return ERR_TOOBIG;
    if (crypto_random(r, sizeof r) != ERR_OK)
        return ERR_IO;
    memcpy(out, "msg_", 4);
    for (size_t i = 0; i < sizeof r; i++)
        out[4 + i] = alphabet[r[i] & 31];
    out[4 + sizeof r] = '\0';
    return ERR_OK;
}

err_code_t webhook_post(http_client_t *hc, const char *url, const webhook_key_t *k,
                        const char *id, const char *body, size_t len, long timeout_ms,
                        long *status, err_t *err)
{
    char sig[WEBHOOK_SIG_MAX], ts[24], origin[300];
    http_response_t resp;
    http_client_t *own = NULL;
    int64_t now = (int64_t)time(NULL);
    err_t e;

    *status = 0;
    webhook_origin(url, origin, sizeof origin);
    if (webhook_sign(k, id, now, body, len, sig, sizeof sig) != ERR_OK)
        return err_set(err, ERR_NOMEM, "out of memory");
    snprintf(ts, sizeof ts, "%lld", (long long)now);
    http_header_t h[] = {
        {"Content-Type", "application/json"},
        {"webhook-id", id},
        {"webhook-timestamp", ts},
        {"webhook-signature", sig},
    };
    http_request_t req = {.method = "POST", .url = url, .headers = h,
                          .nheaders = sizeof h / sizeof *h, .body = body, .body_len = len,
                          .timeout_ms = timeout_ms, .max_response = 16 * 1024};
    err_clear(&e);
    if (!hc && !(hc = own = http_client_new(NULL, &e)))
        return err_set(err, e.code, "webhook %s: %s", origin, e.msg);
    http_response_init(&resp);
    err_code_t rc = http_do(hc, &req, &resp, &e);
    if (rc != ERR_OK) {
        /* e names "POST URL" (query cut, path kept): say the origin only. */
        const char *tail = strstr(e.msg, ": ");
        rc = err_set(err, rc == ERR_CONFIG || rc == ERR_TOOBIG ? ERR_PERMANENT
                     : ERR_UNAVAILABLE, "webhook %s: %s", origin, tail ? tail + 2 : e.msg);
    } else if (resp.status < 200 || resp.status > 299) {
        bool retry = resp.status >= 500 || resp.status == 429 || resp.status == 408;
        rc = err_set(err, retry ? ERR_UNAVAILABLE : ERR_PERMANENT,
                     "webhook %s answered HTTP %ld", origin, resp.status);
        err->http_status = (int)resp.status;
    }
    *status = resp.status;
    http_response_free(&resp);
    http_client_free(own);
    return rc;
}

err_code_t webhook_register(ledger_t *l, const char *batch_id, const char *url,
                            const char *secret, const char *what, err_t *err)
{
    webhook_key_t k;
    err_code_t rc = webhook_url_check(url, what, err);

    if (rc != ERR_OK)
        return rc;
    if (!secret || !*secret)
        return err_set(err, ERR_CONFIG, "%s: webhooks are signed: set webhook_secret in "
                       "the config or ONESHEET_WEBHOOK_SECRET (whsec_ and base64 of at "
                       "least %d random bytes)", what, WEBHOOK_KEY_MIN);
    if ((rc = webhook_key_parse(secret, "webhook_secret", &k, err)) != ERR_OK)
        return rc;
    if (!ledger_has_outbox(l))
        return err_set(err, ERR_CONFIG, "%s: this ledger does not keep webhooks yet",
                       what);
    return ledger_set_batch_webhook(l, batch_id, url, err);
}

json_t *webhook_summary_json(ledger_t *l, const char *batch_id)
{
    ledger_outbox_summary_t s;
    char origin[300];
    err_t e;
    err_clear(&e);
    if (ledger_outbox_summary(l, batch_id, &s, &e) != ERR_OK || !s.url) {
        ledger_outbox_summary_free(&s);
        return NULL;
    }
    webhook_origin(s.url, origin, sizeof origin);
    json_t *w = json_pack("{s:s, s:I, s:I, s:I}", "receiver", origin, "delivered",
                          (json_int_t)s.delivered, "pending", (json_int_t)s.pending,
                          "gave_up", (json_int_t)s.gave_up);
    if (w && s.pending)
        json_object_set_new(w, "next_try_ms", json_integer(s.next_due_ms));
    if (w && s.last_error) {
        json_object_set_new(w, "last_error", json_string(s.last_error));
        json_object_set_new(w, "last_status", json_integer(s.last_status));
    }
    ledger_outbox_summary_free(&s);
    return w;
}
