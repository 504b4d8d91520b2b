/* submit_stream — see submit_stream.h. */
#include "jobs/submit_stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One chunk of jobs on their way to the ledger. */
typedef struct {
    ledger_t *l;
    const char *batch_id, *source;
    ledger_new_job_t nj[SUBMIT_STREAM_CHUNK];
    char ids[SUBMIT_STREAM_CHUNK][JOB_ID_MAX + 1];
    buf_t specs[SUBMIT_STREAM_CHUNK];
    size_t n;
    bool created;
    size_t added;
} chunk_t;

static err_code_t flush(chunk_t *c, err_t *err)
{
    bool created = false;
    size_t added = 0;
    err_code_t rc;

    if (c->n == 0)
        return ERR_OK;
    rc = ledger_add_batch(c->l, c->batch_id, c->source, c->nj, c->n, &created, &added, err);
    c->created = c->created || created;
    c->added += added;
    c->n = 0;
    return rc;
}

static err_code_t add_item(void *ud, const bulk_item_t *it, err_t *err)
{
    chunk_t *c = ud;
    buf_t *spec = &c->specs[c->n];

    buf_reset(spec);
    if (job_spec_to_json_with_id(&it->spec, spec) != ERR_OK)
        return err_set(err, ERR_NOMEM, "out of memory");
    snprintf(c->ids[c->n], sizeof c->ids[c->n], "%s", it->job_id);
    c->nj[c->n].job_id = c->ids[c->n];
    c->nj[c->n].spec_json = (const char *)spec->data;
    c->nj[c->n].line = (int)it->line;
    c->n++;
    return c->n == SUBMIT_STREAM_CHUNK ? flush(c, err) : ERR_OK;
}

err_code_t submit_stream(queue_t *q, ledger_t *l, bulk_stream_t *s,
                         const bulk_summary_t *sum, const char *source,
                         submit_result_t *res, err_t *err)
{
    submit_result_t r = {0};
    chunk_t *c = calloc(1, sizeof *c);
    err_code_t rc;

    if (!c)
        return err_set(err, ERR_NOMEM, "out of memory");
    c->l = l;
    c->batch_id = sum->batch_id;
    c->source = source;
    rc = bulk_stream_each(s, add_item, c, err);
    if (rc == ERR_OK)
        rc = flush(c, err);
    r.created = c->created;
    r.added = c->added;
    for (size_t i = 0; i < SUBMIT_STREAM_CHUNK; i++)
        buf_free(&c->specs[i]);
    free(c);
    if (rc == ERR_OK)
        rc = submit_enqueue_paged(q, l, sum->batch_id, &r.sent, err);
    if (res)
        *res = r;
    return rc;
}

/* Makes the message of job j (pending) into body. */
static err_code_t message_for(const char *batch_id, const ledger_job_t *j, buf_t *body,
                              err_t *err)
{
    job_spec_t spec;
    const char *sj = j->spec_json ? j->spec_json : "";
    err_code_t rc;

    job_spec_init(&spec);
    rc = job_spec_parse_json(sj, strlen(sj), &spec, err);
    if (rc == ERR_OK)
        rc = job_spec_normalise(&spec, NULL, err);
    if (rc != ERR_OK)
        rc = err_prefix(err, "job %s of batch %s: recorded spec", j->job_id, batch_id);
    else if (job_message_encode_run(batch_id, j->job_id, j->run < 1 ? 1 : j->run, &spec,
                                    body) != ERR_OK)
        rc = err_set(err, ERR_INVALID, "job %s of batch %s: cannot encode its message "
                     "(run %d)", j->job_id, batch_id, j->run);
    job_spec_free(&spec);
    return rc;
}

err_code_t submit_enqueue_paged(queue_t *q, ledger_t *l, const char *batch_id,
                                size_t *sent, err_t *err)
{
    buf_t *bodies = calloc(SUBMIT_STREAM_CHUNK, sizeof *bodies);
    const char **ptrs = calloc(SUBMIT_STREAM_CHUNK, sizeof *ptrs);
    const char **ids = calloc(SUBMIT_STREAM_CHUNK, sizeof *ids);
    char cursor[JOB_ID_MAX + 1] = "";
    err_code_t rc = ERR_OK;

    *sent = 0;
    if (!bodies || !ptrs || !ids)
        rc = err_set(err, ERR_NOMEM, "out of memory");
    while (rc == ERR_OK) {
        ledger_filter_t f = {.batch_id = batch_id, .state = JOB_QUEUED,
                             .limit = SUBMIT_STREAM_CHUNK,
                             .after_job_id = *cursor ? cursor : NULL};
        ledger_job_t *jobs = NULL;
        size_t n = 0, k = 0;

        if ((rc = ledger_list(l, &f, &jobs, &n, err)) != ERR_OK)
            break;
        for (size_t i = 0; i < n && rc == ERR_OK; i++) {
            if (jobs[i].enqueued_ms != 0)
                continue;
            buf_reset(&bodies[k]);
            if ((rc = message_for(batch_id, &jobs[i], &bodies[k], err)) == ERR_OK) {
                ptrs[k] = (const char *)bodies[k].data;
                ids[k++] = jobs[i].job_id;
            }
        }
        if (rc == ERR_OK && k &&
            (rc = queue_send_batch(q, ptrs, k, err)) == ERR_OK &&
            (rc = ledger_mark_enqueued(l, batch_id, ids, k, err)) == ERR_OK)
            *sent += k;
        if (n)
            snprintf(cursor, sizeof cursor, "%s", jobs[n - 1].job_id);
        ledger_jobs_free(jobs, n);
        if (n < SUBMIT_STREAM_CHUNK)
            break;
    }
    for (size_t i = 0; bodies && i < SUBMIT_STREAM_CHUNK; i++)
        buf_free(&bodies[i]);
    free(bodies);
    free(ptrs);
    free(ids);
    return rc;
}
