/* promote — see promote.h. */
#include "review/promote.h"
#include "base/crypto.h"
#include "engine/bedrock_models.h"
#include "engine/engine_backends.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t promote_map_seed(int64_t seed, int64_t seed_max, bool *mapped)
{
    *mapped = false;
    if (seed < 0)
        return 0;
    if (seed_max < 0 || seed <= seed_max)
        return seed;
    *mapped = true;
    return (int64_t)((uint64_t)seed % ((uint64_t)seed_max + 1));
}

void promote_plan_free(promote_plan_t *p)
{
    bulk_free(&p->b);
    free(p->from);
    p->from = NULL;
}

/* Whether source job j was promoted to model already (one of its
 * promoted_to jobs names it); its batch into p->already_batch. */
static err_code_t promoted_before(ledger_t *l, const ledger_review_t *r, const char *model,
                                  promote_plan_t *p, bool *yes, err_t *err)
{
    *yes = false;
    for (size_t i = 0; r && i < r->npromoted_to && !*yes; i++) {
        char batch[JOB_ID_MAX + 1];
        const char *ref = r->promoted_to[i], *slash = strchr(ref, '/');
        ledger_job_t *jobs = NULL;
        size_t n = 0;
        if (!slash || (size_t)(slash - ref) > JOB_ID_MAX)
            continue;
        snprintf(batch, sizeof batch, "%.*s", (int)(slash - ref), ref);
        err_code_t rc = ledger_get_jobs(l, batch, slash + 1, &jobs, &n, err);
        if (rc != ERR_OK)
            return rc;
        if (n == 1 && jobs[0].spec_json) {
            json_t *spec = json_loads(jobs[0].spec_json, 0, NULL);
            const char *m = json_string_value(json_object_get(spec, "model"));
            if (m && strcmp(m, model) == 0) {
                *yes = true;
                snprintf(p->already_batch, sizeof p->already_batch, "%s", batch);
            }
            json_decref(spec);
        }
        ledger_jobs_free(jobs, n);
    }
    return ERR_OK;
}

/* The promoted spec of source job j into item: its recorded spec, whole,
 * with the model replaced, no client id (the promoted job gets its own),
 * and the proof's seed, folded into 0..seed_max when above it. */
static err_code_t promoted_spec(const ledger_job_t *j, const char *model, int64_t seed_max,
                                promote_plan_t *p, bulk_item_t *item, err_t *err)
{
    json_t *spec = j->spec_json ? json_loads(j->spec_json, JSON_REJECT_DUPLICATES, NULL) : NULL;
    json_t *seed_v = json_object_get(spec, "seed");
    int64_t seed = json_is_integer(seed_v) ? json_integer_value(seed_v) : j->seed;
    char *text = NULL;
    err_code_t rc = ERR_OK;

    if (!json_is_object(spec)) {
        json_decref(spec);
        return err_set(err, ERR_INVALID, "job %s of batch %s: the recorded spec is not a "
                       "JSON object", j->job_id, j->batch_id);
    }
    bool mapped = false;
    seed = promote_map_seed(seed, seed_max, &mapped);
    p->seeds_mapped += mapped;
    json_object_del(spec, "id");
    if (json_object_set_new(spec, "model", json_string(model)) ||
        json_object_set_new(spec, "seed", json_integer(seed)) ||
        !(text = json_dumps(spec, JSON_COMPACT | JSON_PRESERVE_ORDER)))
        rc = err_set(err, ERR_NOMEM, "out of memory");
    json_decref(spec);
    job_spec_init(&item->spec);
    item->line = (size_t)(j->line > 0 ? j->line : 0);
    if (rc == ERR_OK &&
        ((rc = job_spec_parse_json(text, strlen(text), &item->spec, err)) != ERR_OK ||
         (rc = job_spec_normalise(&item->spec, NULL, err)) != ERR_OK))
        err_prefix(err, "job %s of batch %s: recorded spec", j->job_id, j->batch_id);
    free(text);
    return rc;
}

/* "p" + 16 hex of SHA-256 over the source batch, the model and the
 * promoted source jobs, one a line. */
static err_code_t batch_id_for(promote_plan_t *p, const char *model)
{
    crypto_sha256_ctx *h = crypto_sha256_new();
    uint8_t d[SHA256_LEN];
    err_code_t rc = h ? ERR_OK : ERR_NOMEM;

    if (rc == ERR_OK)
        rc = crypto_sha256_update(h, "promote\n", 8);
    if (rc == ERR_OK)
        rc = crypto_sha256_update(h, p->from_batch, strlen(p->from_batch));
    if (rc == ERR_OK)
        rc = crypto_sha256_update(h, "\n", 1);
    if (rc == ERR_OK)
        rc = crypto_sha256_update(h, model, strlen(model));
    for (size_t i = 0; i < p->b.nitems && rc == ERR_OK; i++)
        if ((rc = crypto_sha256_update(h, "\n", 1)) == ERR_OK)
            rc = crypto_sha256_update(h, p->from[i], strlen(p->from[i]));
    if (rc != ERR_OK) {
        crypto_sha256_free(h);
        return rc;
    }
    if ((rc = crypto_sha256_final(h, d)) != ERR_OK)
        return rc;
    p->b.batch_id[0] = 'p';
    hex_encode(d, 8, p->b.batch_id + 1);
    return ERR_OK;
}

/* Checks the model and reads its seed range into p->seed_max. */
static err_code_t check_model(const char *model, promote_plan_t *p, err_t *err)
{
    const bedrock_model_t *m;

    if (!model || !*model)
        return err_set(err, ERR_INVALID, "model: is required (the model to promote to)");
    if (engine_model_check(model, NULL, 0, err) != ERR_OK)
        return err_prefix(err, "model");
    m = bedrock_model_lookup(model);
    p->seed_max = m ? m->seed_max : JOB_SEED_MAX;
    return ERR_OK;
}

/* Picks the selected jobs of the batch out of jobs into p. */
static err_code_t select_jobs(ledger_t *l, const promote_opts_t *o, ledger_job_t *jobs,
                              size_t n, const ledger_review_t *marks, size_t nmarks,
                              promote_plan_t *p, err_t *err)
{
    err_code_t rc = ERR_OK;

    if (!(p->b.items = calloc(n ? n : 1, sizeof *p->b.items)) ||
        !(p->from = calloc(n ? n : 1, sizeof *p->from)))
        return err_set(err, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n && rc == ERR_OK; i++) {
        const ledger_review_t *r = ledger_review_find(marks, nmarks, jobs[i].job_id);
        bool before;
        if (o->only_approved && !(r && r->state && strcmp(r->state, LEDGER_APPROVED) == 0))
            continue;
        p->selected++;
        if ((rc = promoted_before(l, r, o->model, p, &before, err)) != ERR_OK)
            break;
        if (before) {
            p->already++;
            continue;
        }
        rc = promoted_spec(&jobs[i], o->model, p->seed_max, p, &p->b.items[p->b.nitems], err);
        snprintf(p->from[p->b.nitems], sizeof *p->from, "%s", jobs[i].job_id);
        p->b.nitems++; /* counted even on error, so promote_plan_free frees it */
    }
    return rc;
}

err_code_t promote_plan(ledger_t *l, const promote_opts_t *o, const cost_table_t *prices,
                        promote_plan_t *p, err_t *err)
{
    ledger_filter_t f = {.batch_id = o->batch_id, .state = JOB_SUCCEEDED};
    ledger_job_t *jobs = NULL;
    ledger_review_t *marks = NULL;
    size_t n = 0, nmarks = 0;
    ledger_batch_t b;
    err_code_t rc;
    char money[32], limit[32];

    memset(p, 0, sizeof *p);
    bulk_init(&p->b);
    if ((rc = check_model(o->model, p, err)) != ERR_OK)
        return rc;
    memset(&b, 0, sizeof b);
    if (!o->batch_id || !job_id_valid(o->batch_id))
        return err_set(err, ERR_INVALID, "batch: not a batch id");
    if ((rc = ledger_get_batch(l, o->batch_id, &b, err)) != ERR_OK)
        return rc == ERR_NOTFOUND ? err_set(err, ERR_NOTFOUND, "batch: no batch %s",
                                            o->batch_id) : rc;
    ledger_batch_free(&b);
    snprintf(p->from_batch, sizeof p->from_batch, "%s", o->batch_id);
    if ((rc = ledger_reviews(l, o->batch_id, NULL, &marks, &nmarks, err)) != ERR_OK ||
        (rc = ledger_list(l, &f, &jobs, &n, err)) != ERR_OK ||
        (rc = select_jobs(l, o, jobs, n, marks, nmarks, p, err)) != ERR_OK)
        goto out;
    if (p->selected == 0) {
        rc = o->only_approved
                 ? err_set(err, ERR_INVALID, "only: batch %s has no approved job that "
                           "succeeded: approve some first (onesheet approve JOB), or "
                           "promote all", o->batch_id)
                 : err_set(err, ERR_INVALID, "batch: %s has no succeeded job to promote",
                           o->batch_id);
        goto out;
    }
    if (p->b.nitems == 0)
        goto out; /* all promoted before: nothing to do */
    if ((rc = batch_id_for(p, o->model)) != ERR_OK) {
        err_set(err, rc, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < p->b.nitems && rc == ERR_OK; i++)
        if (job_id_for(p->b.batch_id, &p->b.items[i].spec, p->b.items[i].job_id) != ERR_OK)
            rc = err_set(err, ERR_NOMEM, "out of memory");
    if (rc != ERR_OK || (rc = cost_estimate(&p->b, NULL, prices, &p->usd, NULL, err)) != ERR_OK)
        goto out;
    if (o->budget_usd >= 0 && p->usd > o->budget_usd + 1e-9)
        rc = err_set(err, ERR_TOOBIG, "budget_usd: the estimate %s for %zu %s on %s is over "
                     "the budget %s; nothing enqueued",
                     cost_format(p->usd, money, sizeof money), p->b.nitems,
                     p->b.nitems == 1 ? "poster" : "posters", o->model,
                     cost_format(o->budget_usd, limit, sizeof limit));
out:
    ledger_jobs_free(jobs, n);
    ledger_reviews_free(marks, nmarks);
    return rc;
}

err_code_t promote_commit(queue_t *q, ledger_t *l, const promote_plan_t *p,
                          submit_result_t *res, err_t *err)
{
    const bulk_t *b = &p->b;
    ledger_new_job_t *nj = calloc(b->nitems ? b->nitems : 1, sizeof *nj);
    buf_t *specs = calloc(b->nitems ? b->nitems : 1, sizeof *specs);
    char source[JOB_ID_MAX + 16];
    err_code_t rc = ERR_OK;

    memset(res, 0, sizeof *res);
    if (!nj || !specs) {
        rc = err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    snprintf(source, sizeof source, "promote:%s", p->from_batch);
    for (size_t i = 0; i < b->nitems; i++) {
        if (job_spec_to_json_with_id(&b->items[i].spec, &specs[i]) != ERR_OK) {
            rc = err_set(err, ERR_NOMEM, "out of memory");
            goto out;
        }
        nj[i].job_id = b->items[i].job_id;
        nj[i].spec_json = (const char *)specs[i].data;
        nj[i].line = (int)b->items[i].line;
    }
    /* Ledger, then lineage, then queue: a promoted job is never sent
     * without its lineage recorded. */
    if ((rc = ledger_add_batch(l, b->batch_id, source, nj, b->nitems, &res->created,
                               &res->added, err)) != ERR_OK)
        goto out;
    for (size_t i = 0; i < b->nitems && rc == ERR_OK; i++)
        rc = ledger_link(l, p->from_batch, p->from[i], b->batch_id, b->items[i].job_id, err);
    if (rc == ERR_OK)
        rc = submit_enqueue_pending(q, l, b->batch_id, b, &res->sent, err);
out:
    for (size_t i = 0; specs && i < b->nitems; i++)
        buf_free(&specs[i]);
    free(specs);
    free(nj);
    return rc;
}
