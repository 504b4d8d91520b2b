/* creds_cache — the process-wide credentials cache.  See creds.h.
 *
 * Refreshing is single-flight: the thread that finds the credentials due
 * becomes the refresher and runs the provider without the lock held; other
 * threads either keep using the current credentials (while they are still
 * valid) or wait on the condition variable for the outcome.  Waiters that
 * saw a refresh fail get its error instead of starting one each. */
#include "aws/creds.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RETRY_AFTER_FAILURE 10

struct creds_cache {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    creds_provider_fn fn;
    void *ctx;
    creds_clock_fn now;
    void *now_ctx;
    /* The chain's options when made by creds_cache_new(); strings owned. */
    creds_options_t opts;
    char *home, *profile, *region, *container_endpoint;
    creds_t cur;
    bool have;
    bool refreshing;
    unsigned long gen;          /* finished refreshes */
    err_code_t last_rc;         /* outcome of the latest refresh */
    err_t last_err;
    int64_t retry_after;        /* no new refresh before this (unix s) */
    unsigned long fetches;
};

static int64_t now_of(const creds_cache_t *c)
{
    return c->now ? c->now(c->now_ctx) : (int64_t)time(NULL);
}

static err_code_t chain_provider(void *ctx, creds_t *out, err_t *err)
{
    return creds_resolve((const creds_options_t *)ctx, out, err);
}

creds_cache_t *creds_cache_new_provider(creds_provider_fn fn, void *ctx,
                                        creds_clock_fn now, void *now_ctx, err_t *err)
{
    creds_cache_t *c = calloc(1, sizeof *c);

    if (!c) {
        err_set(err, ERR_NOMEM, "creds cache: out of memory");
        return NULL;
    }
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c);
        err_set(err, ERR_NOMEM, "creds cache: cannot create a mutex");
        return NULL;
    }
    if (pthread_cond_init(&c->cv, NULL) != 0) {
        pthread_mutex_destroy(&c->mu);
        free(c);
        err_set(err, ERR_NOMEM, "creds cache: cannot create a condition variable");
        return NULL;
    }
    c->fn = fn;
    c->ctx = ctx;
    c->now = now;
    c->now_ctx = now_ctx;
    c->cur = (creds_t)CREDS_INIT;
    err_clear(&c->last_err);
    return c;
}

static bool dup_opt(const char *s, char **keep)
{
    *keep = NULL;
    if (!s)
        return true;
    *keep = strdup(s);
    return *keep != NULL;
}

creds_cache_t *creds_cache_new(const creds_options_t *opts, err_t *err)
{
    creds_cache_t *c = creds_cache_new_provider(chain_provider, NULL,
                                                opts ? opts->now : NULL,
                                                opts ? opts->now_ctx : NULL, err);
    if (!c)
        return NULL;
    if (opts)
        c->opts = *opts;
    c->ctx = &c->opts;
    if (opts && (!dup_opt(opts->home, &c->home) || !dup_opt(opts->profile, &c->profile) ||
                 !dup_opt(opts->region, &c->region) ||
                 !dup_opt(opts->container_endpoint, &c->container_endpoint))) {
        creds_cache_free(c);
        err_set(err, ERR_NOMEM, "creds cache: out of memory");
        return NULL;
    }
    c->opts.home = c->home;
    c->opts.profile = c->profile;
    c->opts.region = c->region;
    c->opts.container_endpoint = c->container_endpoint;
    return c;
}

void creds_cache_free(creds_cache_t *c)
{
    if (!c)
        return;
    creds_free(&c->cur);
    free(c->home);
    free(c->profile);
    free(c->region);
    free(c->container_endpoint);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static bool valid_at(const creds_cache_t *c, int64_t t)
{
    return c->have && (c->cur.expiration == 0 || t < c->cur.expiration);
}

static bool fresh_at(const creds_cache_t *c, int64_t t)
{
    return c->have &&
           (c->cur.expiration == 0 || t < c->cur.expiration - CREDS_REFRESH_AHEAD);
}

/* Copies the current credentials out; called with the lock held. */
static err_code_t hand_out(creds_cache_t *c, creds_t *out, err_t *err)
{
    err_code_t rc = creds_copy(out, &c->cur);
    pthread_mutex_unlock(&c->mu);
    if (rc != ERR_OK)
        return err_set(err, rc, "creds cache: out of memory");
    return ERR_OK;
}

err_code_t creds_cache_get(creds_cache_t *c, creds_t *out, err_t *err)
{
    creds_t fresh = CREDS_INIT;
    err_t e;
    err_code_t rc;
    int64_t t;

    *out = (creds_t)CREDS_INIT;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        t = now_of(c);
        if (fresh_at(c, t))
            return hand_out(c, out, err);
        if (c->refreshing) {
            unsigned long seen = c->gen;
            if (valid_at(c, t))
                return hand_out(c, out, err);
            while (c->refreshing)
                pthread_cond_wait(&c->cv, &c->mu);
            if (c->gen != seen && c->last_rc != ERR_OK && !valid_at(c, now_of(c))) {
                rc = c->last_rc;
                if (err)
                    *err = c->last_err;
                pthread_mutex_unlock(&c->mu);
                return rc;
            }
            continue;
        }
        if (valid_at(c, t) && t < c->retry_after)
            return hand_out(c, out, err);
        break;
    }

    /* This thread refreshes; the others see `refreshing`. */
    c->refreshing = true;
    c->fetches++;
    pthread_mutex_unlock(&c->mu);
    err_clear(&e);
    rc = c->fn(c->ctx, &fresh, &e);
    if (rc == ERR_OK && fresh.expiration != 0 && fresh.expiration <= now_of(c)) {
        rc = err_set(&e, ERR_AUTH, "the credentials from %s have already expired",
                     fresh.source);
        creds_free(&fresh);
    }
    pthread_mutex_lock(&c->mu);
    c->refreshing = false;
    c->gen++;
    c->last_rc = rc;
    c->last_err = e;
    pthread_cond_broadcast(&c->cv);
    t = now_of(c);
    if (rc == ERR_OK) {
        creds_free(&c->cur);
        c->cur = fresh;
        c->have = true;
        /* Credentials that arrive already inside the refresh window would
         * otherwise be fetched again on every call. */
        c->retry_after = fresh_at(c, t) ? 0 : t + RETRY_AFTER_FAILURE;
        return hand_out(c, out, err);
    }
    if (valid_at(c, t)) {
        c->retry_after = t + RETRY_AFTER_FAILURE;
        return hand_out(c, out, err);
    }
    pthread_mutex_unlock(&c->mu);
    if (err)
        *err = e;
    return rc;
}

int64_t creds_cache_expiry(creds_cache_t *c)
{
    int64_t e;
    pthread_mutex_lock(&c->mu);
    e = c->have ? c->cur.expiration : 0;
    pthread_mutex_unlock(&c->mu);
    return e;
}

const char *creds_cache_source(creds_cache_t *c, char *buf, size_t cap)
{
    if (!cap)
        return buf;
    pthread_mutex_lock(&c->mu);
    snprintf(buf, cap, "%s", c->have ? c->cur.source : "");
    pthread_mutex_unlock(&c->mu);
    return buf;
}

unsigned long creds_cache_fetches(creds_cache_t *c)
{
    unsigned long n;
    pthread_mutex_lock(&c->mu);
    n = c->fetches;
    pthread_mutex_unlock(&c->mu);
    return n;
}
