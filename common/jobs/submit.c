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

/* Sends the batch's pending jobs (new, or never sent) in chunks, marking
 * each chunk enqueued after its send.  *sent counts messages sent. */
static err_code_t enqueue_pending(queue_t *q, ledger_t *l, const bulk_t *b, size_t *sent,
                                  err_t *err)
{
    char **ids = NULL;
    size_t nids = 0;
    err_code_t rc = ERR_OK;
    const bulk_item_t **index = malloc((b->nitems ? b->nitems : 1) * sizeof *index);
    buf_t *bodies = NULL;
    const char **ptrs = NULL;

    *sent = 0;
    if (!index)
        return err_set(err, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < b->nitems; i++)
        index[i] = &b->items[i];
    qsort(index, b->nitems, sizeof *index, cmp_id);
    if ((rc = ledger_pending_enqueue(l, b->batch_id, &ids, &nids, err)) != ERR_OK) {
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
            bulk_item_t key;
            const bulk_item_t *kp = &key, **hit;
            snprintf(key.job_id, sizeof key.job_id, "%s", ids[at + i]);
            hit = bsearch(&kp, index, b->nitems, sizeof *index, cmp_id);
            buf_reset(&bodies[i]);
            if (!hit) {
                rc = err_set(err, ERR_INTERNAL, "job %s of batch %s is not in this input",
                             ids[at + i], b->batch_id);
                goto out;
            }
            if (job_message_encode(b->batch_id, (*hit)->job_id, &(*hit)->spec,
                                   &bodies[i]) != ERR_OK) {
                rc = err_set(err, ERR_NOMEM, "out of memory");
                goto out;
            }
            ptrs[i] = (const char *)bodies[i].data;
        }
        if ((rc = queue_send_batch(q, ptrs, n, err)) != ERR_OK ||
            (rc = ledger_mark_enqueued(l, b->batch_id, (const char *const *)ids + at, n,
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
    if ((rc = ledger_add_batch(l, b->batch_id, source, nj, b->nitems, &r.created,
                                &r.added, err)) != ERR_OK)
        goto out;
    rc = enqueue_pending(q, l, b, &r.sent, err);
out:
    for (size_t i = 0; specs && i < b->nitems; i++)
        buf_free(&specs[i]);
    free(specs);
    free(nj);
    if (res)
        *res = r;
    return rc;
}
