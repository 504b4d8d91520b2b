/* driver — every network generation in flight at once, on one thread.
 *
 * The driver owns a libcurl multi handle.  A claimed job arrives as a
 * WAITING slot; when its time comes (not_before_ms, then the rate limiter's
 * pace) the driver asks the slot's engine to start the call and adds the
 * transfer.  Transfers share the multi handle's connection cache, so calls
 * to one endpoint reuse connections.  When one completes, the engine turns
 * it into a result (the reply was decoded and hashed as it arrived) and:
 *   - throttled (429) with --rpm: the limiter slows down and the call goes
 *     round again at the new pace, up to WORKER_THROTTLE_ATTEMPTS times,
 *     so a quota is met by pacing rather than by failed jobs;
 *   - a transient failure (5xx, timeout, reset, clock skew, or a throttle
 *     without --rpm): tried again
 *     after a jittered backoff, up to WORKER_GEN_ATTEMPTS in all;
 *   - anything else: the slot is DONE, for a stage thread to finish.
 * After SIGTERM nothing new is retried: what fails then goes back to the
 * queue through the stage threads. */
#include "worker.h"

#include "log.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

int worker_driver_init(worker_t *w, err_t *err)
{
    CURLM *m = curl_multi_init();
    if (!m) {
        err_set(err, ERR_NOMEM, "cannot create a libcurl multi handle");
        return -1;
    }
    /* One connection per transfer to the endpoint; more would only queue. */
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)w->concurrency);
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)w->concurrency);
    w->multi = m;
    return 0;
}

void worker_driver_wake(worker_t *w)
{
    if (w->multi)
        curl_multi_wakeup(w->multi);
}

static void to_done(worker_t *w, slot_t *s)
{
    pthread_mutex_lock(&w->lock);
    s->state = SLOT_DONE;
    s->handle = NULL;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

/* Backoff before generation attempt n+1: full jitter on 1 s × 2^(n-1),
 * capped at 20 s. */
static int64_t backoff_ms(int n)
{
    int64_t cap = 1000LL << (n < 5 ? n - 1 : 4);
    if (cap > 20000)
        cap = 20000;
    return 100 + rand() % cap;
}

/* Starts the slot's call, or makes it DONE with the error. */
static void start(worker_t *w, CURLM *m, slot_t *s, int64_t now)
{
    void *h = NULL;
    err_clear(&s->err);
    engine_result_free(&s->res);
    s->attempts++;
    s->rc = s->engine->ops->start(s->engine, &s->spec, s->job_id, &h, &s->err);
    if (s->rc != ERR_OK) {
        to_done(w, s);
        return;
    }
    CURLMcode mc = curl_multi_add_handle(m, h);
    if (mc != CURLM_OK) {
        s->engine->ops->finish(s->engine, (int)CURLE_FAILED_INIT, &s->res, &s->err);
        s->rc = err_set(&s->err, ERR_INTERNAL, "curl_multi_add_handle: %s",
                        curl_multi_strerror(mc));
        to_done(w, s);
        return;
    }
    s->gen_t0_ms = now;
    log_debug("generate_started", "job=%s attempt=%d", s->job_id, s->attempts);
    pthread_mutex_lock(&w->lock);
    s->handle = h;
    s->state = SLOT_RUNNING;
    pthread_mutex_unlock(&w->lock);
}

/* What a finished transfer means for its slot. */
static void conclude(worker_t *w, slot_t *s, CURLcode cc, int64_t now)
{
    s->rc = s->engine->ops->finish(s->engine, (int)cc, &s->res, &s->err);
    worker_observe_generate(w, now - s->gen_t0_ms);
    log_debug("generate_done", "job=%s ms=%lld code=%s", s->job_id,
              (long long)(now - s->gen_t0_ms), err_name(s->rc));
    bool stopping = atomic_load(&w->signalled);
    bool throttled = s->rc == ERR_THROTTLED || s->err.code == ERR_THROTTLED;

    if (throttled)
        atomic_fetch_add(&w->n_throttled, 1);
    if (throttled && w->rl) {
        /* With a limiter, throttling is a pace to find, not a failure. */
        s->throttles++;
        if (!stopping && s->throttles < WORKER_THROTTLE_ATTEMPTS) {
            ratelimit_throttled(w->rl);
            log_warn("generate_throttled", "job=%s attempt=%d rpm=%.1f", s->job_id,
                     s->throttles, ratelimit_rate(w->rl));
            s->attempts--;   /* a throttle is not a failed attempt */
            goto again;
        }
    } else if (s->rc == ERR_OK) {
        if (w->rl)
            ratelimit_succeeded(w->rl);
    } else if (err_is_retryable(&s->err) && !stopping && s->attempts < WORKER_GEN_ATTEMPTS) {
        int64_t delay = s->err.code == ERR_SKEW ? 0 : backoff_ms(s->attempts);
        atomic_fetch_add(&w->n_gen_retries, 1);
        log_warn("generate_retry", "job=%s attempt=%d retry_in_ms=%lld error=\"%s\"",
                 s->job_id, s->attempts, (long long)delay, s->err.msg);
        s->not_before_ms = now + delay;
        goto again;
    }
    to_done(w, s);
    return;
again:
    engine_result_free(&s->res);
    pthread_mutex_lock(&w->lock);
    s->handle = NULL;
    s->state = SLOT_WAITING;
    pthread_mutex_unlock(&w->lock);
}

/* The WAITING slot due first (smallest not_before_ms), or NULL; also NULL
 * while --concurrency generations are running (claimed jobs beyond them,
 * --prefetch, wait for one to end) unless the worker is stopping. */
static slot_t *first_waiting(worker_t *w)
{
    slot_t *best = NULL;
    int running = 0;
    pthread_mutex_lock(&w->lock);
    for (int i = 0; i < w->nslots; i++) {
        slot_t *s = &w->slots[i];
        running += s->state == SLOT_RUNNING;
        if (s->state == SLOT_WAITING && (!best || s->not_before_ms < best->not_before_ms))
            best = s;
    }
    pthread_mutex_unlock(&w->lock);
    /* Stopping, a job not yet started is given back even when all are busy. */
    if (best && best->attempts == 0 && atomic_load(&w->signalled))
        return best;
    return running < w->concurrency ? best : NULL;
}

/* Starts WAITING slots whose time has come, earliest first, as fast as
 * the rate limiter allows; returns the ms until the next start is due (at
 * most 1000).  The limiter is asked only when a call could go now, so a
 * cut after a 429 slows every call still waiting at once (nothing is
 * booked ahead at the old pace). */
static long start_due(worker_t *w, CURLM *m)
{
    for (;;) {
        int64_t now = worker_mono_ms();
        slot_t *s = first_waiting(w);
        if (!s)
            return 1000;
        if (s->not_before_ms > now)
            return (long)(s->not_before_ms - now < 1000 ? s->not_before_ms - now : 1000);
        if (atomic_load(&w->signalled) && s->attempts == 0) {
            /* Stopping: a job not yet started is given back, not paid for. */
            s->unstarted_at_stop = true;
            to_done(w, s);
            continue;
        }
        if (w->rl) {
            int64_t wait = ratelimit_try(w->rl);
            if (wait > 0)
                return (long)(wait < 1000 ? wait : 1000);
        }
        start(w, m, s, now);
    }
}

static slot_t *slot_of(worker_t *w, void *h)
{
    for (int i = 0; i < w->nslots; i++)
        if (w->slots[i].handle == h)
            return &w->slots[i];
    return NULL;
}

void *worker_driver_main(void *arg)
{
    worker_t *w = arg;
    CURLM *m = w->multi;
    int running = 0;

    while (!atomic_load(&w->driver_quit)) {
        long timeout = start_due(w, m);
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *h = msg->easy_handle;
            CURLcode cc = msg->data.result;
            curl_multi_remove_handle(m, h);
            pthread_mutex_lock(&w->lock);
            slot_t *s = slot_of(w, h);
            pthread_mutex_unlock(&w->lock);
            if (s)
                conclude(w, s, cc, worker_mono_ms());
            timeout = 0;   /* a retry may be due at once */
        }
        if (timeout > 0)
            curl_multi_poll(m, NULL, 0, (int)(timeout > 1000 ? 1000 : timeout), NULL);
    }
    return NULL;
}
