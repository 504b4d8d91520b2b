/* api_pool — back-end handles for onesheet-api's request threads (see
 * api.h).  Opening a SQLite ledger or an SQS queue costs far more than a
 * request, and the handles are single-threaded, so finished requests leave
 * their set here for the next one. */
#include "api/api.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct api_pool {
    const config_t *cfg;
    pthread_mutex_t mu;
    api_backends_t **idle;
    size_t nidle, max_idle;
    size_t nout, max_out; /* lent out now; cap (0: none) */
    pthread_cond_t freed; /* signalled when one is given back */
};

api_pool_t *api_pool_new(const config_t *cfg, size_t max_idle, err_t *err)
{
    api_pool_t *p = calloc(1, sizeof *p);
    if (!p || !(p->idle = calloc(max_idle ? max_idle : 1, sizeof *p->idle))) {
        free(p);
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    p->cfg = cfg;
    p->max_idle = max_idle ? max_idle : 1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->freed, NULL);
    return p;
}

static void close_set(api_backends_t *b)
{
    if (!b)
        return;
    store_close(b->store);
    ledger_close(b->ledger);
    queue_close(b->queue);
    free(b);
}

err_code_t api_pool_acquire(api_pool_t *p, api_backends_t **out, err_t *err)
{
    api_backends_t *b = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->max_out && p->nout >= p->max_out) {
        /* Sets are lent for a poll or a submit, milliseconds: a burst
         * waits its turn briefly rather than being refused. */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += API_POOL_WAIT_S;
        while (p->nout >= p->max_out && p->max_out &&
               pthread_cond_timedwait(&p->freed, &p->mu, &until) == 0)
            ;
    }
    if (p->max_out && p->nout >= p->max_out) {
        pthread_mutex_unlock(&p->mu);
        return err_set(err, ERR_THROTTLED, "all %zu back-end handle sets are in use",
                       p->max_out);
    }
    p->nout++;
    if (p->nidle)
        b = p->idle[--p->nidle];
    pthread_mutex_unlock(&p->mu);
    if (b) {
        *out = b;
        return ERR_OK;
    }
    if (!(b = calloc(1, sizeof *b))) {
        api_pool_release(p, NULL, true);
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    if (!(b->ledger = ledger_open(p->cfg->ledger, err)) ||
        !(b->queue = queue_open(p->cfg->queue, err)) ||
        !(b->store = store_open(p->cfg->store, err))) {
        err_code_t rc = err ? err->code : ERR_IO;
        close_set(b);
        api_pool_release(p, NULL, true);
        return rc == ERR_OK ? ERR_IO : rc;
    }
    queue_apply_max_receives(b->queue, p->cfg->queue, p->cfg->max_receives);
    *out = b;
    return ERR_OK;
}

/* A NULL b only gives back the lent-out count (a failed acquire). */
void api_pool_release(api_pool_t *p, api_backends_t *b, bool discard)
{
    pthread_mutex_lock(&p->mu);
    if (p->nout)
        p->nout--;
    pthread_cond_signal(&p->freed);
    if (b && !discard && p->nidle < p->max_idle) {
        p->idle[p->nidle++] = b;
        b = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    close_set(b);
}

void api_pool_set_max_out(api_pool_t *p, size_t max_out)
{
    pthread_mutex_lock(&p->mu);
    p->max_out = max_out;
    pthread_mutex_unlock(&p->mu);
}

void api_pool_free(api_pool_t *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nidle; i++)
        close_set(p->idle[i]);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->freed);
    free(p->idle);
    free(p);
}
