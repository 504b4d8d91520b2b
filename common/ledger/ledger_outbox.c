/* ledger_outbox — the frees of the webhook outbox's types (ledger.h),
 * shared by every back-end that keeps an outbox. */
#include "ledger/ledger.h"

#include <stdlib.h>

void ledger_events_free(ledger_event_t *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].id);
        free(v[i].batch_id);
        free(v[i].job_id);
        free(v[i].type);
        free(v[i].payload);
        free(v[i].url);
    }
    free(v);
}

void ledger_outbox_summary_free(ledger_outbox_summary_t *s)
{
    if (!s)
        return;
    free(s->url);
    free(s->last_error);
    s->url = s->last_error = NULL;
}
