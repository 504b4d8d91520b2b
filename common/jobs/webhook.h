/* webhook — signed webhooks in the Standard Webhooks form
 * (https://www.standardwebhooks.com), the one signing scheme of the
 * project: batch and job events from the ledger's outbox (a campaign's
 * webhook is its firings' batch webhook).
 *
 * A delivery is a POST of the JSON body with three headers:
 *   webhook-id:        msg_... (the same on every redelivery of one event)
 *   webhook-timestamp: unix seconds of this attempt
 *   webhook-signature: v1,BASE64(HMAC-SHA256(key, "ID.TIMESTAMP.BODY"))
 * where key is the base64 text after "whsec_" in the configured secret
 * (config `webhook_secret`, env ONESHEET_WEBHOOK_SECRET).  Receivers verify
 * with any Standard Webhooks library.  Messages name a receiver by its
 * origin only: webhook URLs often carry a token in their path or query. */
#ifndef ONESHEET_WEBHOOK_H
#define ONESHEET_WEBHOOK_H

#include "base/err.h"
#include "aws/http.h"
#include "ledger/ledger.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WEBHOOK_KEY_MIN 24       /* bytes a secret's key must decode to */
#define WEBHOOK_KEY_MAX 64
#define WEBHOOK_SIG_MAX 64       /* "v1," + 44 characters of base64 + NUL */

typedef struct {
    uint8_t key[WEBHOOK_KEY_MAX];
    size_t len;
} webhook_key_t;

/* Parses a secret "whsec_BASE64" into its key.  what names the setting in
 * the message ("webhook_secret", "ONESHEET_WEBHOOK_SECRET"); the secret
 * itself is never echoed.  ERR_CONFIG when it is not of that form or its
 * key is shorter than WEBHOOK_KEY_MIN or longer than WEBHOOK_KEY_MAX. */
err_code_t webhook_key_parse(const char *secret, const char *what, webhook_key_t *out,
                             err_t *err);

/* The webhook-signature value "v1,BASE64" for (id, timestamp, body) into
 * out (cap >= WEBHOOK_SIG_MAX).  ERR_NOMEM, ERR_TOOBIG when out is short. */
err_code_t webhook_sign(const webhook_key_t *k, const char *id, int64_t timestamp,
                        const char *body, size_t len, char *out, size_t cap);

/* Checks a receiver URL: https://, or http:// to a loopback host only
 * (127.0.0.0/8, ::1, localhost), at most 2,048 characters, no spaces.
 * ERR_INVALID naming `what` ("--webhook", "webhook") otherwise. */
err_code_t webhook_url_check(const char *url, const char *what, err_t *err);

/* The URL's scheme and authority ("https://hooks.example.com") into out:
 * what logs and messages may show. */
void webhook_origin(const char *url, char *out, size_t cap);

/* A new random webhook id "msg_" + 26 base32 characters into out
 * (cap >= 31). */
err_code_t webhook_new_id(char *out, size_t cap);

/* One delivery attempt: POSTs body to url, signed with k under id and the
 * current time, with a timeout of timeout_ms.  hc: a client to reuse (NULL:
 * one for the call).  Returns ERR_OK on 2xx; ERR_UNAVAILABLE (retry later)
 * on 5xx, 408, 429 and transport errors (refused, timed out); ERR_PERMANENT
 * (give up) on any other status.  *status gets the HTTP status (0 when
 * none).  err names the receiver by origin only. */
err_code_t webhook_post(http_client_t *hc, const char *url, const webhook_key_t *k,
                        const char *id, const char *body, size_t len, long timeout_ms,
                        long *status, err_t *err);

/* The delay before retry number `attempt` (1: the first) of a failed
 * delivery, in ms, with jitter from r in [0, 1): between half and all of
 * min(1 s * 2^(attempt-1), 10 min). */
int64_t webhook_backoff_ms(int attempt, double r);

/* Registers url as batch_id's webhook before its jobs are added: checks
 * the URL (ERR_INVALID naming what), that secret is set and well formed
 * (ERR_CONFIG naming webhook_secret / ONESHEET_WEBHOOK_SECRET), and that
 * the ledger keeps webhooks (ERR_CONFIG); then records it
 * (ledger_set_batch_webhook: ERR_CONFLICT when the batch already has
 * another URL).  Borrows everything; nothing is recorded on error. */
err_code_t webhook_register(ledger_t *l, const char *batch_id, const char *url,
                            const char *secret, const char *what, err_t *err);

/* The batch's webhook deliveries as the CLI's --json and the API show
 * them: {"receiver": ORIGIN, "delivered", "pending", "gave_up",
 * "next_try_ms" (while pending), "last_error" and "last_status" (after a
 * failed attempt)}.  The receiver is named by its origin only: its path
 * may hold a token.  A new reference; NULL when the batch has no webhook,
 * the ledger keeps none, or on error (which only costs the member). */
json_t *webhook_summary_json(ledger_t *l, const char *batch_id);

#endif
