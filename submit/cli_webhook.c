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
    json_t *w = webhook_summary_json(cli->ledger, batch_id);
    if (w)
        json_object_set_new(o, "webhook", w);
}
