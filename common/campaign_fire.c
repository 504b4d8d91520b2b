/* campaign_fire — one firing of a campaign, in the order that keeps it safe
 * to repeat: check the per-firing budget (nothing written yet), stop if the
 * slot's batch exists (only re-sending what was never sent), reserve the
 * spend against the monthly budget (one transaction), then ledger, then
 * queue — the same ledger-first order as `onesheet submit`.
 *
 * A crash after the spend is recorded and before the batch is added is
 * repaired by running the slot again: the spend row is found (not counted
 * twice) and the batch is added then. */
#include "campaign.h"
#include "submit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Keeps only b's items the ledger lists as pending (held, never sent), so
 * that submit_batch() re-sends them without adding anything.  ERR_CONFLICT
 * when the ledger has a pending job this file does not make. */
static err_code_t keep_pending(bulk_t *b, ledger_t *l, err_t *err)
{
    char **ids = NULL;
    size_t nids = 0, w = 0, found = 0;
    err_code_t rc = l->ops->pending_enqueue(l, b->batch_id, &ids, &nids, err);
    if (rc != ERR_OK)
        return rc;
    if (nids)
        qsort(ids, nids, sizeof *ids, cmp_str);
    for (size_t i = 0; i < b->nitems; i++) {
        const char *id = b->items[i].job_id;
        if (nids && bsearch(&id, ids, nids, sizeof *ids, cmp_str)) {
            b->items[w++] = b->items[i];
            found++;
        } else {
            job_spec_free(&b->items[i].spec);
        }
    }
    b->nitems = w;
    if (found != nids)
        rc = err_set(err, ERR_CONFLICT, "batch %s has %zu unsent jobs this campaign file does "
                     "not make: was the file changed after the slot fired?", b->batch_id,
                     nids - found);
    for (size_t i = 0; i < nids; i++)
        free(ids[i]);
    free(ids);
    return rc;
}

err_code_t campaign_fire(const campaign_t *c, int64_t slot, const char *default_model,
                         const cost_table_t *prices, ledger_t *l, queue_t *q,
                         campaign_fire_t *r, err_t *err)
{
    bulk_t b;
    ledger_batch_t existing;
    char source[CAMPAIGN_NAME_MAX + 48], month[8];
    err_code_t rc;

    memset(r, 0, sizeof *r);
    oncalendar_iso(slot, r->slot, sizeof r->slot);
    snprintf(month, sizeof month, "%.7s", r->slot);
    bulk_init(&b);
    if ((rc = campaign_build(c, slot, default_model, &b, err)) != ERR_OK ||
        (rc = campaign_estimate(&b, prices, &r->usd, err)) != ERR_OK)
        goto out;
    snprintf(r->batch_id, sizeof r->batch_id, "%s", b.batch_id);
    r->jobs = b.nitems;
    if (c->budget_firing_usd >= 0 && r->usd > c->budget_firing_usd + 1e-9) {
        rc = err_set(err, ERR_TOOBIG, "campaign %s: slot %s: %zu jobs would cost about "
                     "$%.2f, over the per-firing budget of $%.2f; nothing enqueued",
                     c->name, r->slot, b.nitems, r->usd, c->budget_firing_usd);
        goto out;
    }
    memset(&existing, 0, sizeof existing);
    rc = l->ops->get_batch(l, b.batch_id, &existing, err);
    ledger_batch_free(&existing);
    if (rc == ERR_OK) {
        /* Fired before: never add (the file may have changed since), only
         * finish sending what that firing recorded. */
        submit_result_t res = {0};
        r->already = true;
        if ((rc = keep_pending(&b, l, err)) == ERR_OK && b.nitems)
            rc = submit_batch(q, l, &b, "campaign", &res, err);
        r->sent = res.sent;
        if (rc == ERR_OK && l->ops->spend_get)
            rc = l->ops->spend_get(l, c->name, month, &r->month_usd, err);
        r->spend_recorded = l->ops->spend_get != NULL;
        goto out;
    }
    if (rc != ERR_NOTFOUND)
        goto out;
    err_clear(err);
    if (l->ops->spend_add) {
        ledger_spend_t s = {.campaign = c->name, .slot = r->slot, .month = month,
                            .batch_id = b.batch_id, .usd = r->usd, .jobs = (int64_t)b.nitems,
                            .month_limit = c->budget_month_usd};
        bool added;
        if ((rc = l->ops->spend_add(l, &s, &added, &r->month_usd, err)) != ERR_OK)
            goto out;
        r->spend_recorded = true;
    } else if (c->budget_month_usd >= 0) {
        rc = err_set(err, ERR_CONFIG, "%s: budget.per_month_usd: this ledger does not record "
                     "campaign spend yet (use the SQLite ledger, or drop the monthly budget)",
                     c->path);
        goto out;
    }
    snprintf(source, sizeof source, "campaign:%s@%s", c->name, r->slot);
    submit_result_t res = {0};
    rc = submit_batch(q, l, &b, source, &res, err);
    r->added = res.added;
    r->sent = res.sent;
out:
    bulk_free(&b);
    return rc;
}
