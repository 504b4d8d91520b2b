/* campaign_fire — one firing of a campaign, in the order that keeps it safe
 * to repeat: check the per-firing budget (nothing written yet), stop if the
 * slot's batch exists (only re-sending what was never sent), reserve the
 * spend against the monthly budget (one transaction), then ledger, then
 * queue — the same ledger-first order as `onesheet submit`.
 *
 * A crash after the spend is recorded and before the batch is added is
 * repaired by running the slot again: the spend row is found (not counted
 * twice) and the batch is added then.  So is a crash part-way through
 * adding the jobs (DynamoDB writes them one by one): the batch's source
 * records how many jobs the firing makes, and a batch holding fewer, all
 * of them jobs this file makes, is completed.
 *
 * A campaign's webhook is checked (URL, secret) before anything is written
 * and registered as the batch's webhook after the spend and before the
 * jobs, so every terminal transition of a job writes its event to the
 * outbox; a crash between the two is repaired like the others (registering
 * the same URL again changes nothing). */
#include "campaign/campaign.h"
#include "jobs/submit.h"

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
    err_code_t rc = ledger_pending_enqueue(l, b->batch_id, &ids, NULL, &nids, err);
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

/* The batch source a firing records: "campaign:NAME@SLOT (N jobs)".  N is
 * what tells a firing cut short while adding its jobs from a file that
 * was changed after the slot fired. */
static void firing_source(const campaign_t *c, const campaign_fire_t *r, size_t n,
                          char *out, size_t cap)
{
    snprintf(out, cap, "campaign:%s@%s (%zu jobs)", c->name, r->slot, n);
}

/* The job count recorded in a firing's batch source, or 0 when none. */
static size_t firing_jobs(const char *source)
{
    const char *p = source ? strrchr(source, '(') : NULL;
    size_t n = 0;
    char tail[8] = "";
    if (!p || sscanf(p, "(%zu jobs%7s", &n, tail) != 2 || strcmp(tail, ")") != 0)
        return 0;
    return n;
}

/* True when the ledger's jobs of the batch are all jobs b makes: together
 * with a job count short of what the firing recorded, a firing interrupted
 * part-way through add_batch (DynamoDB adds job by job), not a file
 * changed since.  Reads the batch's job ids. */
static err_code_t interrupted_add(const bulk_t *b, ledger_t *l, bool *yes, err_t *err)
{
    ledger_filter_t f = {.batch_id = b->batch_id, .state = -1};
    ledger_job_t *jobs = NULL;
    size_t n = 0;
    const char **ids = malloc((b->nitems ? b->nitems : 1) * sizeof *ids);
    err_code_t rc;

    *yes = false;
    if (!ids)
        return err_set(err, ERR_NOMEM, "out of memory");
    if ((rc = ledger_list(l, &f, &jobs, &n, err)) == ERR_OK) {
        for (size_t i = 0; i < b->nitems; i++)
            ids[i] = b->items[i].job_id;
        qsort(ids, b->nitems, sizeof *ids, cmp_str);
        *yes = true;
        for (size_t i = 0; *yes && i < n; i++)
            *yes = bsearch(&jobs[i].job_id, ids, b->nitems, sizeof *ids, cmp_str) != NULL;
    }
    ledger_jobs_free(jobs, n);
    free(ids);
    return rc;
}

/* Records c's webhook URL (when it has one) as b's batch webhook, before
 * b's jobs are added; the same URL again changes nothing. */
static err_code_t register_webhook(const campaign_t *c, const bulk_t *b, ledger_t *l,
                                   err_t *err)
{
    if (!c->webhook_url)
        return ERR_OK;
    err_code_t rc = ledger_set_batch_webhook(l, b->batch_id, c->webhook_url, err);
    if (rc == ERR_CONFLICT)
        rc = err_set(err, ERR_INVALID, "%s: webhook.url: batch %s already has another "
                     "webhook URL, and a batch's webhook cannot change once its slot fired; "
                     "nothing enqueued", c->path, b->batch_id);
    return rc;
}

err_code_t campaign_fire(const campaign_t *c, int64_t slot, const char *default_model,
                         const char *webhook_secret, const cost_table_t *prices, ledger_t *l,
                         queue_t *q, campaign_fire_t *r, err_t *err)
{
    bulk_t b;
    ledger_batch_t existing;
    char source[CAMPAIGN_NAME_MAX + 80], month[8];
    err_code_t rc;

    memset(r, 0, sizeof *r);
    oncalendar_iso(slot, r->slot, sizeof r->slot);
    snprintf(month, sizeof month, "%.7s", r->slot);
    bulk_init(&b);
    if ((rc = campaign_build(c, slot, default_model, &b, err)) != ERR_OK ||
        (rc = cost_estimate(&b, NULL, prices, &r->usd, NULL, err)) != ERR_OK)
        goto out;
    snprintf(r->batch_id, sizeof r->batch_id, "%s", b.batch_id);
    r->jobs = b.nitems;
    if (c->budget_firing_usd >= 0 && r->usd > c->budget_firing_usd + 1e-9) {
        rc = err_set(err, ERR_TOOBIG, "campaign %s: slot %s: %zu jobs would cost about "
                     "$%.2f, over the per-firing budget of $%.2f; nothing enqueued",
                     c->name, r->slot, b.nitems, r->usd, c->budget_firing_usd);
        goto out;
    }
    if ((rc = campaign_webhook_check(c, webhook_secret, l, err)) != ERR_OK)
        goto out;
    memset(&existing, 0, sizeof existing);
    rc = ledger_get_batch(l, b.batch_id, &existing, err);
    int64_t recorded = existing.total;
    size_t meant = firing_jobs(existing.source);
    ledger_batch_free(&existing);
    if (rc == ERR_OK) {
        /* Fired before: never add (the file may have changed since), only
         * finish sending what that firing recorded — unless the firing was
         * cut short while adding its jobs, which is finished now. */
        submit_result_t res = {0};
        bool finish = false;
        r->already = true;
        firing_source(c, r, b.nitems, source, sizeof source);
        if (meant == b.nitems && recorded >= 0 && (size_t)recorded < meant &&
            (rc = interrupted_add(&b, l, &finish, err)) != ERR_OK)
            goto out;
        if (!finish && (rc = keep_pending(&b, l, err)) != ERR_OK)
            goto out;
        if ((rc = register_webhook(c, &b, l, err)) != ERR_OK)
            goto out;
        if (b.nitems)
            rc = submit_batch(q, l, &b, source, &res, err);
        r->added = res.added;
        r->sent = res.sent;
        if (rc == ERR_OK && ledger_has_spend(l))
            rc = ledger_spend_get(l, c->name, month, &r->month_usd, err);
        r->spend_recorded = ledger_has_spend(l);
        goto out;
    }
    if (rc != ERR_NOTFOUND)
        goto out;
    err_clear(err);
    if (ledger_has_spend(l)) {
        ledger_spend_t s = {.campaign = c->name, .slot = r->slot, .month = month,
                            .batch_id = b.batch_id, .usd = r->usd, .jobs = (int64_t)b.nitems,
                            .month_limit = c->budget_month_usd};
        bool added;
        if ((rc = ledger_spend_add(l, &s, &added, &r->month_usd, err)) != ERR_OK)
            goto out;
        r->spend_recorded = true;
    } else if (c->budget_month_usd >= 0) {
        rc = err_set(err, ERR_CONFIG, "%s: budget.per_month_usd: this ledger does not record "
                     "campaign spend (use the SQLite or DynamoDB ledger, or drop the monthly "
                     "budget)",
                     c->path);
        goto out;
    }
    if ((rc = register_webhook(c, &b, l, err)) != ERR_OK)
        goto out;
    firing_source(c, r, b.nitems, source, sizeof source);
    submit_result_t res = {0};
    rc = submit_batch(q, l, &b, source, &res, err);
    r->added = res.added;
    r->sent = res.sent;
out:
    bulk_free(&b);
    return rc;
}
