/* submit — see submit.h. */
#include "jobs/submit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SQS takes 10 a call, SQLite one transaction: 10,000 bounds the memory a
 * chunk's bodies take without making a big file slow. */
#define SEND_CHUNK 10000

static int cmp_id(const void *a, const void *b)
{
    const bulk_item_t *const *x = a, *const *y = b;
    return strcmp((*x)->job_id, (*y)->job_id);
}

/* The spec of job id for its message into *use: b's item of that id when
 * b holds it, else the spec the ledger recorded (the batch's queued jobs
 * are read once, into *ljobs), parsed into spec (caller frees). */
static err_code_t spec_for(ledger_t *l, const char *batch_id, const char *id,
                           const bulk_t *b, const bulk_item_t **index,
                           ledger_job_t **ljobs, size_t *nljobs, bool *read,
                           job_spec_t *spec, const job_spec_t **use, err_t *err)
{
    *use = spec;
    if (b) {
        bulk_item_t key;
        const bulk_item_t *kp = &key, **hit;
        snprintf(key.job_id, sizeof key.job_id, "%s", id);
        hit = bsearch(&kp, index, b->nitems, sizeof *index, cmp_id);
        if (hit) {
            *use = &(*hit)->spec;
            return ERR_OK;
        }
    }
    if (!*read) {
        ledger_filter_t f = {.batch_id = batch_id, .state = JOB_QUEUED};
        err_code_t rc = ledger_list(l, &f, ljobs, nljobs, err);
        if (rc != ERR_OK)
            return rc;
        *read = true;
    }
    for (size_t i = 0; i < *nljobs; i++)
        if (strcmp((*ljobs)[i].job_id, id) == 0) {
            const char *sj = (*ljobs)[i].spec_json;
            err_code_t rc = job_spec_parse_json(sj, strlen(sj), spec, err);
            if (rc == ERR_OK)
                rc = job_spec_normalise(spec, NULL, err);
            return rc == ERR_OK ? ERR_OK : err_prefix(err, "job %s of batch %s: recorded "
                                                      "spec", id, batch_id);
        }
    return err_set(err, ERR_INTERNAL, "job %s of batch %s is pending but not queued", id,
                   batch_id);
}

err_code_t submit_enqueue_pending(queue_t *q, ledger_t *l, const char *batch_id,
                                  const bulk_t *b, size_t *sent, err_t *err)
{
    char **ids = NULL;
    int *runs = NULL;
    size_t nids = 0, nitems = b ? b->nitems : 0, nljobs = 0;
    ledger_job_t *ljobs = NULL;
    bool read = false;
    err_code_t rc = ERR_OK;
    const bulk_item_t **index = malloc((nitems ? nitems : 1) * sizeof *index);
    buf_t *bodies = NULL;
    const char **ptrs = NULL;

    *sent = 0;
    if (!index)
        return err_set(err, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < nitems; i++)
        index[i] = &b->items[i];
    if (nitems)
        qsort(index, nitems, sizeof *index, cmp_id);
    if ((rc = ledger_pending_enqueue(l, batch_id, &ids, &runs, &nids, err)) != ERR_OK) {
        free(index);
        return rc;
    }
    size_t chunk = nids < SEND_CHUNK ? (nids ? nids : 1) : SEND_CHUNK;
    bodies = calloc(chunk, sizeof *bodies);
    ptrs = calloc(chunk, sizeof *ptrs);
    if (!bodies || !ptrs) {
        rc = err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t at = 0; at < nids; at += chunk) {
        size_t n = nids - at < chunk ? nids - at : chunk;
        for (size_t i = 0; i < n; i++) {
            job_spec_t spec;
            const job_spec_t *use;
            job_spec_init(&spec);
            buf_reset(&bodies[i]);
            rc = spec_for(l, batch_id, ids[at + i], b, index, &ljobs, &nljobs, &read,
                          &spec, &use, err);
            if (rc == ERR_OK &&
                job_message_encode_run(batch_id, ids[at + i], runs[at + i], use,
                                       &bodies[i]) != ERR_OK)
                rc = err_set(err, ERR_INVALID, "job %s of batch %s: cannot encode its "
                             "message (run %d)", ids[at + i], batch_id, runs[at + i]);
            job_spec_free(&spec);
            if (rc != ERR_OK)
                goto out;
            ptrs[i] = (const char *)bodies[i].data;
        }
        if ((rc = queue_send_batch(q, ptrs, n, err)) != ERR_OK ||
            (rc = ledger_mark_enqueued(l, batch_id, (const char *const *)ids + at, n,
                                        err)) != ERR_OK)
            goto out;
        *sent += n;
    }
out:
    for (size_t i = 0; bodies && i < chunk; i++)
        buf_free(&bodies[i]);
    free(bodies);
    free(ptrs);
    for (size_t i = 0; i < nids; i++)
        free(ids[i]);
    free(ids);
    free(runs);
    ledger_jobs_free(ljobs, nljobs);
    free(index);
    return rc;
}

err_code_t submit_batch(queue_t *q, ledger_t *l, const bulk_t *b, const char *source,
                        submit_result_t *res, err_t *err)
{
    submit_result_t r = {0};
    ledger_new_job_t *nj = calloc(b->nitems ? b->nitems : 1, sizeof *nj);
    buf_t *specs = calloc(b->nitems ? b->nitems : 1, sizeof *specs);
    err_code_t rc = ERR_OK;

    if (!nj || !specs) {
        rc = err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < b->nitems; i++) {
        if (job_spec_to_json_with_id(&b->items[i].spec, &specs[i]) != ERR_OK) {
            rc = err_set(err, ERR_NOMEM, "out of memory");
            goto out;
        }
        nj[i].job_id = b->items[i].job_id;
        nj[i].spec_json = (const char *)specs[i].data;
        nj[i].line = (int)b->items[i].line;
    }
    rc = ledger_add_batch(l, b->batch_id, source, nj, b->nitems, &r.created, &r.added, err);
    /* The recorded JSON is not needed to send (b holds the specs): free it
     * first, so a big batch does not hold both at its peak. */
    for (size_t i = 0; i < b->nitems; i++)
        buf_free(&specs[i]);
    if (rc == ERR_OK)
        rc = submit_enqueue_pending(q, l, b->batch_id, b, &r.sent, err);
out:
    for (size_t i = 0; specs && i < b->nitems; i++)
        buf_free(&specs[i]);
    free(specs);
    free(nj);
    if (res)
        *res = r;
    return rc;
}
