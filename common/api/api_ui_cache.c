/* api_ui_cache — the dashboard's per-batch snapshots (issue 19).
 *
 * Every browser watching a batch polls it; the answers all come from one
 * snapshot of the batch's jobs, read from the ledger with one indexed
 * query (jobs by batch) at most once per API_UI_FRESH_MS, however many
 * browsers watch.  A snapshot is reference-counted, so a request keeps
 * using the one it took while a newer one replaces it.  At most
 * API_UI_MAX_SNAPS batches are kept; the least recently used goes. */
#include "api/api_ui_internal.h"

#include <stdlib.h>
#include <string.h>

#define API_UI_MAX_SNAPS 16

struct api_ui_cache {
    pthread_mutex_t mu;
    api_ui_snap_t *snaps[API_UI_MAX_SNAPS];
    int64_t used[API_UI_MAX_SNAPS];
    atomic_llong queries;
};

struct api_ui_cache *api_ui_cache_new(void)
{
    struct api_ui_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    pthread_mutex_init(&c->mu, NULL);
    atomic_init(&c->queries, 0);
    return c;
}

static void snap_free(api_ui_snap_t *s)
{
    if (!s)
        return;
    ledger_jobs_free(s->jobs, s->n);
    free(s->source);
    free(s);
}

void api_ui_snap_release(struct api_ui_cache *c, api_ui_snap_t *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&c->mu);
    bool last = --s->refs == 0;
    pthread_mutex_unlock(&c->mu);
    if (last)
        snap_free(s);
}

void api_ui_cache_free(struct api_ui_cache *c)
{
    if (!c)
        return;
    for (int i = 0; i < API_UI_MAX_SNAPS; i++)
        if (c->snaps[i] && --c->snaps[i]->refs == 0)
            snap_free(c->snaps[i]);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

long long api_ui_cache_queries(struct api_ui_cache *c)
{
    return atomic_load(&c->queries);
}

void api_ui_cache_count(struct api_ui_cache *c, long long n)
{
    atomic_fetch_add(&c->queries, n);
}

/* Reads the batch anew: its jobs (one query), and the batch row the first
 * time (source, created), which never changes afterwards. */
static err_code_t load(struct api_ui_cache *c, ledger_t *l, const char *batch_id,
                       const api_ui_snap_t *old, int64_t now, api_ui_snap_t **out, err_t *err)
{
    api_ui_snap_t *s = calloc(1, sizeof *s);
    if (!s)
        return err_set(err, ERR_NOMEM, "out of memory");
    snprintf(s->batch_id, sizeof s->batch_id, "%s", batch_id);
    s->at_ms = now;
    s->refs = 1;
    err_code_t rc = ERR_OK;
    if (old) {
        s->created_ms = old->created_ms;
        if (old->source && !(s->source = strdup(old->source)))
            rc = err_set(err, ERR_NOMEM, "out of memory");
    } else {
        ledger_batch_t b;
        memset(&b, 0, sizeof b);
        atomic_fetch_add(&c->queries, 1);
        if ((rc = ledger_get_batch(l, batch_id, &b, err)) == ERR_OK) {
            s->created_ms = b.created_ms;
            s->source = b.source;
            b.source = NULL;
        }
        ledger_batch_free(&b);
    }
    if (rc == ERR_OK) {
        ledger_filter_t f = {.batch_id = batch_id, .state = -1};
        atomic_fetch_add(&c->queries, 1);
        rc = ledger_list(l, &f, &s->jobs, &s->n, err);
    }
    if (rc != ERR_OK) {
        snap_free(s);
        return rc;
    }
    for (size_t i = 0; i < s->n; i++) {
        const ledger_job_t *j = &s->jobs[i];
        s->by_state[j->state]++;
        if (j->state == JOB_SUCCEEDED)
            s->spend_usd += j->cost_usd;
        if (job_state_terminal(j->state) && j->finished_ms > s->last_finished_ms)
            s->last_finished_ms = j->finished_ms;
        if (j->state == JOB_SUCCEEDED && j->finished_ms >= now - 5 * 60 * 1000)
            s->done_5min++;
    }
    *out = s;
    return ERR_OK;
}

err_code_t api_ui_snap_get(struct api_ui_cache *c, ledger_t *l, const char *batch_id,
                           int64_t now, api_ui_snap_t **out, err_t *err)
{
    int slot = -1, oldest = 0;
    pthread_mutex_lock(&c->mu);
    for (int i = 0; i < API_UI_MAX_SNAPS; i++) {
        if (c->snaps[i] && strcmp(c->snaps[i]->batch_id, batch_id) == 0)
            slot = i;
        if (c->used[i] < c->used[oldest])
            oldest = i;
    }
    api_ui_snap_t *s = slot >= 0 ? c->snaps[slot] : NULL;
    err_code_t rc = ERR_OK;
    /* The refresh happens under the lock: a second watcher arriving
     * meanwhile waits for this read instead of making its own. */
    if (!s || now - s->at_ms >= API_UI_FRESH_MS) {
        api_ui_snap_t *fresh = NULL;
        if ((rc = load(c, l, batch_id, s, now, &fresh, err)) == ERR_OK) {
            if (slot < 0) {
                slot = oldest;
                s = c->snaps[slot];
            }
            if (s && --s->refs == 0)
                snap_free(s);
            c->snaps[slot] = s = fresh;
        } else if (s && rc != ERR_NOTFOUND && rc != ERR_NOMEM) {
            /* A busy or unreachable ledger: watchers keep the last read
             * (its read_at says how old) and the next poll tries again. */
            err_clear(err);
            rc = ERR_OK;
        }
    }
    if (rc == ERR_OK) {
        c->used[slot] = now;
        s->refs++;
        *out = s;
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}
