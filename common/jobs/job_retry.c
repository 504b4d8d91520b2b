/* job_retry — see job_retry.h. */
#include "jobs/job_retry.h"
#include "jobs/submit.h"

#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    unsigned bit;
} state_names[] = {
    {"failed", LEDGER_RETRY_FAILED},
    {"cancelled", LEDGER_RETRY_CANCELLED},
    {"filtered", LEDGER_RETRY_FILTERED},
    {"dead", LEDGER_RETRY_DEAD},
};

unsigned job_retry_state_bit(const char *name)
{
    for (size_t i = 0; name && i < sizeof state_names / sizeof *state_names; i++)
        if (strcmp(name, state_names[i].name) == 0)
            return state_names[i].bit;
    return 0;
}

err_code_t job_retry_states_parse(const char *list, unsigned *states, err_t *err)
{
    const char *p = list ? list : "";
    *states = 0;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char name[32];
        unsigned bit = 0;
        if (len < sizeof name) {
            memcpy(name, p, len);
            name[len] = '\0';
            bit = job_retry_state_bit(name);
        }
        if (!bit) {
            *states = 0;
            return err_set(err, ERR_USAGE, "--state: \"%.*s\" is not a state retry takes "
                           "(one or more of %s, comma-separated)", (int)(len > 40 ? 40 : len),
                           p, JOB_RETRY_STATE_NAMES);
        }
        *states |= bit;
        if (!end)
            return ERR_OK;
        p = end + 1;
    }
}

void job_retry_targets_free(job_retry_target_t *t, size_t n)
{
    for (size_t i = 0; t && i < n; i++) {
        free(t[i].batch_id);
        free(t[i].job_id);
    }
    free(t);
}

err_code_t job_retry_resolve(ledger_t *l, const char *id, job_retry_target_t **targets,
                         size_t *n, err_t *err)
{
    ledger_batch_t b;
    ledger_job_t *jobs = NULL;
    size_t nj = 0;
    err_code_t rc;

    *targets = NULL;
    *n = 0;
    memset(&b, 0, sizeof b);
    rc = ledger_get_batch(l, id, &b, err);
    ledger_batch_free(&b);
    if (rc == ERR_OK) {
        if (!(*targets = calloc(1, sizeof **targets)) ||
            !((*targets)->batch_id = strdup(id))) {
            job_retry_targets_free(*targets, 1);
            *targets = NULL;
            return err_set(err, ERR_NOMEM, "out of memory");
        }
        *n = 1;
        return ERR_OK;
    }
    if (rc != ERR_NOTFOUND)
        return rc;
    err_clear(err);
    if ((rc = ledger_get_jobs(l, NULL, id, &jobs, &nj, err)) != ERR_OK)
        return rc;
    if (nj == 0)
        return err_set(err, ERR_NOTFOUND, "%s: no such job or batch", id);
    if (!(*targets = calloc(nj, sizeof **targets))) {
        ledger_jobs_free(jobs, nj);
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < nj; i++) {
        (*targets)[i].batch_id = strdup(jobs[i].batch_id);
        (*targets)[i].job_id = strdup(jobs[i].job_id);
        if (!(*targets)[i].batch_id || !(*targets)[i].job_id) {
            job_retry_targets_free(*targets, nj);
            ledger_jobs_free(jobs, nj);
            *targets = NULL;
            return err_set(err, ERR_NOMEM, "out of memory");
        }
    }
    *n = nj;
    ledger_jobs_free(jobs, nj);
    return ERR_OK;
}

/* The price of re-running j: its spec's model, "draft" when it names none. */
static void price_job(const ledger_job_t *j, const cost_table_t *prices,
                      job_retry_result_t *r)
{
    job_spec_t s;
    double usd = 0;
    err_t e;

    job_spec_init(&s);
    err_clear(&e);
    if (!j->spec_json || job_spec_parse_json(j->spec_json, strlen(j->spec_json), &s, &e) !=
        ERR_OK || cost_price(prices, s.model ? s.model : "draft", &usd, &e) != ERR_OK)
        r->priced = false;
    else
        r->estimated_usd += usd;
    job_spec_free(&s);
}

err_code_t job_retry_plan(ledger_t *l, const job_retry_target_t *t, unsigned states,
                      const cost_table_t *prices, job_retry_result_t *r, err_t *err)
{
    ledger_job_t *jobs = NULL;
    size_t n = 0;
    err_code_t rc;

    r->priced = prices != NULL;
    if (t->job_id) {
        rc = ledger_get_jobs(l, t->batch_id, t->job_id, &jobs, &n, err);
    } else {
        ledger_filter_t f = {.batch_id = t->batch_id, .state = -1};
        rc = ledger_list(l, &f, &jobs, &n, err);
    }
    if (rc != ERR_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (!ledger_retry_selects(&jobs[i], states))
            continue;
        r->selected++;
        if (prices)
            price_job(&jobs[i], prices, r);
    }
    ledger_jobs_free(jobs, n);
    return ERR_OK;
}

err_code_t job_retry_reopen(ledger_t *l, const job_retry_target_t *t, unsigned states,
                            job_retry_result_t *r, err_t *err)
{
    size_t n = 0;
    err_code_t rc = ledger_retry(l, t->batch_id, t->job_id, states, &n, err);
    r->retried += n;
    return rc;
}

err_code_t job_retry_enqueue(queue_t *q, ledger_t *l, const char *batch_id,
                             job_retry_result_t *r, err_t *err)
{
    size_t sent = 0;
    err_code_t rc = submit_enqueue_pending(q, l, batch_id, NULL, &sent, err);
    r->enqueued += sent;
    return rc;
}

err_code_t job_retry_run(queue_t *q, ledger_t *l, const job_retry_target_t *t,
                         unsigned states, job_retry_result_t *r, err_t *err)
{
    err_code_t rc = job_retry_reopen(l, t, states, r, err);
    return rc == ERR_OK ? job_retry_enqueue(q, l, t->batch_id, r, err) : rc;
}
