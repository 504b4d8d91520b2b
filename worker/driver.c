/* driver — every network generation in flight at once, on one thread.
 *
 * The driver owns a libcurl multi handle and an epoll set of its sockets.
 * A claimed job arrives as a WAITING slot; when its time comes
 * (not_before_ms, then the rate limiter's pace) and fewer than
 * --concurrency calls run, the driver asks the slot's engine to start the
 * call and adds the transfer.  Transfers share the multi handle's
 * connection cache, so calls to one endpoint reuse connections.  When one
 * completes, the engine turns
 * it into a result (the reply was decoded and hashed as it arrived) and:
 *   - throttled (429) with --rpm: the limiter slows down and the call goes
 *     round again, up to WORKER_THROTTLE_ATTEMPTS times, so a quota is met
 *     by pacing rather than by failed jobs.  Its first 429 is tried again
 *     50-250 ms later without waiting for the pace: the refused call used
 *     none of the quota, and a quota counted over a window frees room
 *     within moments, where the next paced slot is up to a second away;
 *   - a transient failure (5xx, timeout, reset, clock skew, or a throttle
 *     without --rpm): tried again
 *     after a jittered backoff, up to WORKER_GEN_ATTEMPTS in all;
 *   - anything else: the slot is DONE, for a stage thread to finish.
 * After SIGTERM nothing new is retried: what fails then goes back to the
 * queue through the stage threads. */
#include "worker.h"
#include "fault.h"
#include "quota.h"

#include "base/log.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* The multi handle's sockets live in an epoll set (w->drv.epfd) and
 * libcurl is told only about the ones that are ready
 * (curl_multi_socket_action): with N transfers in flight,
 * curl_multi_perform would look at all N (a poll each) whenever any one of
 * them had data.  userp is the worker_t. */
static int on_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    worker_t *w = userp;
    (void)e; (void)socketp;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(w->drv.epfd, EPOLL_CTL_DEL, fd, NULL);   /* may be closed already */
        return 0;
    }
    struct epoll_event ev = {
        .events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0),
        .data.fd = fd,
    };
    if (epoll_ctl(w->drv.epfd, EPOLL_CTL_MOD, fd, &ev) != 0 && errno == ENOENT)
        epoll_ctl(w->drv.epfd, EPOLL_CTL_ADD, fd, &ev);
    return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
    worker_t *w = userp;
    (void)m;
    w->drv.timer_at = timeout_ms < 0 ? -1 : worker_mono_ms() + timeout_ms;
    return 0;
}

int worker_driver_init(worker_t *w, err_t *err)
{
    CURLM *m = curl_multi_init();
    if (!m) {
        err_set(err, ERR_NOMEM, "cannot create a libcurl multi handle");
        return -1;
    }
    w->drv.multi = m;
    w->drv.timer_at = -1;
    w->drv.epfd = epoll_create1(EPOLL_CLOEXEC);
    w->drv.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = w->drv.wake_fd};
    if (w->drv.epfd < 0 || w->drv.wake_fd < 0 ||
        epoll_ctl(w->drv.epfd, EPOLL_CTL_ADD, w->drv.wake_fd, &ev) != 0) {
        err_set(err, ERR_IO, "cannot set up the driver's event loop: %s", strerror(errno));
        return -1;
    }
    /* One connection per transfer to the endpoint; more would only queue. */
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)w->concurrency);
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)w->concurrency);
    curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(m, CURLMOPT_SOCKETDATA, w);
    curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(m, CURLMOPT_TIMERDATA, w);
    return 0;
}

void worker_driver_close(worker_t *w)
{
    if (w->drv.multi)
        curl_multi_cleanup(w->drv.multi);
    w->drv.multi = NULL;
    if (w->drv.epfd >= 0)
        close(w->drv.epfd);
    if (w->drv.wake_fd >= 0)
        close(w->drv.wake_fd);
    w->drv.epfd = w->drv.wake_fd = -1;
}

void worker_driver_wake(worker_t *w)
{
    uint64_t one = 1;
    if (w->drv.wake_fd >= 0 && write(w->drv.wake_fd, &one, sizeof one) < 0) {
        /* EAGAIN: the counter is full, so the driver is awake anyway. */
    }
}

static void to_done(worker_t *w, slot_t *s)
{
    pthread_mutex_lock(&w->lock);
    s->handle = NULL;
    worker_slot_set_state(w, s, SLOT_DONE);   /* wakes a stage thread */
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
    WORKER_FAULT("after_quota");
    s->rc = engine_start(s->engine, &s->spec, s->job_id, &h, &s->err);
    if (s->rc != ERR_OK) {
        to_done(w, s);
        return;
    }
    CURLMcode mc = curl_multi_add_handle(m, h);
    if (mc != CURLM_OK) {
        engine_finish(s->engine, (int)CURLE_FAILED_INIT, &s->res, &s->err);
        s->rc = err_set(&s->err, ERR_INTERNAL, "curl_multi_add_handle: %s",
                        curl_multi_strerror(mc));
        to_done(w, s);
        return;
    }
    s->gen_t0_ms = now;
    log_debug("generate_started", "job=%s attempt=%d", s->job_id, s->attempts);
    pthread_mutex_lock(&w->lock);
    s->handle = h;
    worker_slot_set_state(w, s, SLOT_RUNNING);
    pthread_mutex_unlock(&w->lock);
}

/* What a finished transfer means for its slot. */
static void conclude(worker_t *w, slot_t *s, CURLcode cc, int64_t now)
{
    s->rc = engine_finish(s->engine, (int)cc, &s->res, &s->err);
    worker_observe_generate(w, now - s->gen_t0_ms);
    log_debug("generate_done", "job=%s ms=%lld code=%s", s->job_id,
              (long long)(now - s->gen_t0_ms), err_name(s->rc));
    bool stopping = atomic_load(&w->signalled);
    bool throttled = s->rc == ERR_THROTTLED || s->err.code == ERR_THROTTLED;

    quota_shared_t *qs = worker_quota_for(w, s->spec.model);

    if (throttled)
        atomic_fetch_add(&w->n_throttled, 1);
    if (throttled && (w->rl || qs)) {
        /* With a limiter, throttling is a pace to find, not a failure. */
        s->throttles++;
        if (!stopping && s->throttles < WORKER_THROTTLE_ATTEMPTS) {
            if (w->rl)
                ratelimit_throttled(w->rl);
            if (qs)
                quota_shared_throttled(qs);
            log_warn("generate_throttled", "job=%s attempt=%d rpm=%.1f", s->job_id,
                     s->throttles, w->rl ? ratelimit_rate(w->rl) : worker_quota_rpm(qs));
            s->attempts--;   /* a throttle is not a failed attempt */
            /* Under a shared quota the retry takes a token like any call:
             * the bucket's window is the fleet's, not this call's. */
            if (s->throttles == 1 && !qs) {
                s->unpaced = true;
                s->not_before_ms = now + 50 + rand() % WORKER_THROTTLE_RETRY_JITTER_MS;
            }
            goto again;
        }
    } else if (s->rc == ERR_OK) {
        if (w->rl)
            ratelimit_succeeded(w->rl);
        if (qs)
            quota_shared_succeeded(qs);
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
    worker_slot_set_state(w, s, SLOT_WAITING);
    pthread_mutex_unlock(&w->lock);
}

/* The WAITING slot to start next, or NULL: a due retry that skips the
 * limiter (unpaced) first, else the one due first (smallest
 * not_before_ms); NULL while --concurrency generations are running
 * (claimed jobs beyond them, --prefetch, wait for one to end) unless the
 * worker is stopping.  *unpaced_at: when the first unpaced slot is due
 * (INT64_MAX: none), which a wait for the limiter must not overrun; *ready:
 * how many could start now (the size of a shared-quota grant to ask), -1
 * when no slot waits at all. */
static slot_t *first_waiting(worker_t *w, int64_t now, int64_t *unpaced_at, int *ready)
{
    slot_t *best = NULL, *unstarted = NULL;
    int64_t best_key = INT64_MAX;
    int running = 0, due = 0;
    *unpaced_at = INT64_MAX;
    pthread_mutex_lock(&w->lock);
    for (int i = 0; i < w->nslots; i++) {
        slot_t *s = &w->slots[i];
        running += s->state == SLOT_RUNNING;
        if (s->state != SLOT_WAITING)
            continue;
        due += s->not_before_ms <= now;
        int64_t key = s->not_before_ms;
        if (s->unpaced) {
            if (key < *unpaced_at)
                *unpaced_at = key;
            if (key <= now)
                key = INT64_MIN;
        }
        if (!best || key < best_key) {
            best = s;
            best_key = key;
        }
        if (s->attempts == 0 && !unstarted)
            unstarted = s;
    }
    pthread_mutex_unlock(&w->lock);
    *ready = due < w->concurrency - running ? due : w->concurrency - running;
    if (!best)
        *ready = -1;   /* nothing waits at all */
    /* Stopping, a job not yet started is given back even when all are busy. */
    if (unstarted && atomic_load(&w->signalled))
        return unstarted;
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
        int64_t now = worker_mono_ms(), unpaced_at;
        int ready = 0;
        slot_t *s = first_waiting(w, now, &unpaced_at, &ready);
        if (!s) {
            if (ready < 0)
                worker_quota_idle(w);   /* settle grants while no job waits */
            return 1000;
        }
        if (atomic_load(&w->signalled) && s->attempts == 0) {
            /* Stopping: a job not yet started is given back, not paid for. */
            s->unstarted_at_stop = true;
            to_done(w, s);
            continue;
        }
        if (s->not_before_ms > now)
            return (long)(s->not_before_ms - now < 1000 ? s->not_before_ms - now : 1000);
        /* The account's quota first, then this worker's own --rpm; a token
         * the quota gave that --rpm does not let go now is put back. */
        quota_shared_t *qs = s->unpaced ? NULL : worker_quota_for(w, s->spec.model);
        if (qs) {
            err_t qe;
            err_clear(&qe);
            /* Grants of two at least: one a take would cost a ledger write
             * a generation; the spare token serves the next job claimed. */
            int want = ready < 2 ? 2 : ready;
            int64_t wait = quota_shared_try(qs, want > w->concurrency ? w->concurrency : want,
                                            &qe);
            if (qe.code != ERR_OK)
                log_warn("quota_failed", "model=%s error=\"%s\"", quota_shared_key(qs), qe.msg);
            if (wait > 0) {
                if (unpaced_at - now < wait)
                    wait = unpaced_at - now;
                return (long)(wait < 1000 ? wait : 1000);
            }
        }
        if (w->rl && !s->unpaced) {
            int64_t wait = ratelimit_try(w->rl);
            if (wait > 0 && qs)
                quota_shared_untake(qs);
            if (wait > 0) {
                /* An unpaced slot due now would have come first: it is later. */
                if (unpaced_at - now < wait)
                    wait = unpaced_at - now;
                return (long)(wait < 1000 ? wait : 1000);
            }
        }
        s->unpaced = false;
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
    CURLM *m = w->drv.multi;
    int running = 0;

    while (!atomic_load(&w->driver_quit)) {
        long timeout = start_due(w, m);
        /* Wait for a socket, libcurl's timer, a wake-up or the next start. */
        int64_t now = worker_mono_ms();
        int64_t timer_at = w->drv.timer_at;
        if (timer_at >= 0 && timer_at - now < timeout)
            timeout = timer_at > now ? (long)(timer_at - now) : 0;
        struct epoll_event evs[64];
        int n = epoll_wait(w->drv.epfd, evs, 64, (int)(timeout > 1000 ? 1000 : timeout));
        for (int i = 0; i < n; i++) {
            if (evs[i].data.fd == w->drv.wake_fd) {
                uint64_t v;
                if (read(w->drv.wake_fd, &v, sizeof v) < 0) {
                    /* EAGAIN: already read */
                }
                continue;
            }
            int flags = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                        (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                        (evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
            curl_multi_socket_action(m, evs[i].data.fd, flags, &running);
        }
        if (w->drv.timer_at >= 0 && worker_mono_ms() >= w->drv.timer_at) {
            w->drv.timer_at = -1;
            curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &running);
        }
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
        }
    }
    return NULL;
}
