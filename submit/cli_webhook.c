/* cli_webhook — a batch's webhook deliveries as `onesheet status BATCH`
 * shows them (text, and a "webhook" member with --json).  The receiver is
 * named by its origin only: webhook URLs often hold a token. */
#include "cli.h"
#include "jobs/webhook.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* The summary, or false when the batch has no webhook (or on error, which
 * only costs the line). */
static bool summary(cli_t *cli, const char *batch_id, ledger_outbox_summary_t *s)
{
    err_t e;
    err_clear(&e);
    if (ledger_outbox_summary(cli->ledger, batch_id, s, &e) != ERR_OK || !s->url) {
        ledger_outbox_summary_free(s);
        return false;
    }
    return true;
}

void cli_webhook_print(cli_t *cli, const char *batch_id)
{
    ledger_outbox_summary_t s;
    char origin[300];
    if (!summary(cli, batch_id, &s))
        return;
    webhook_origin(s.url, origin, sizeof origin);
    printf("webhook: %s: %lld delivered, %lld pending", origin, (long long)s.delivered,
           (long long)s.pending);
    if (s.pending) {
        long long in = (long long)(s.next_due_ms / 1000 - (int64_t)time(NULL));
        if (in > 0)
            printf(" (next try in %lld s", in);
        else
            printf(" (due now");
        if (s.last_error)
            printf(", last error: %s", s.last_error);
        printf(")");
    }
    if (s.gave_up)
        printf(", %lld given up", (long long)s.gave_up);
    printf("\n");
    ledger_outbox_summary_free(&s);
}

void cli_webhook_json(cli_t *cli, const char *batch_id, json_t *o)
{
    ledger_outbox_summary_t s;
    char origin[300];
    if (!summary(cli, batch_id, &s))
        return;
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
    if (w)
        json_object_set_new(o, "webhook", w);
    ledger_outbox_summary_free(&s);
}
