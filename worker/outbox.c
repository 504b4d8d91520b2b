/* outbox — see outbox.h.  The thread has its own ledger handle and HTTP
 * client; it touches nothing of the job pipeline, so a slow receiver never
 * holds up a generation. */
#include "outbox.h"
#include "worker.h"

#include "base/log.h"
#include "jobs/webhook.h"

#include <stdlib.h>
#include <string.h>

/* The k-th event taken is held (k + 1) leases, one attempt's longest
 * time: what a dead deliverer held comes back within seconds. */
#define TAKE_MAX 4
#define POST_TIMEOUT_MS 5000
#define TAKE_LEASE_MS (POST_TIMEOUT_MS + 1000)
#define IDLE_MS 250

/* Sleeps up to ms, waking early when the thread is told to stop or drain. */
static void nap(worker_t *w, long ms)
{
    struct timespec ts = worker_deadline(ms);
    pthread_mutex_lock(&w->outbox.mu);
    if (!atomic_load(&w->outbox.quit) && !atomic_load(&w->outbox.woken))
        pthread_cond_timedwait(&w->outbox.cv, &w->outbox.mu, &ts);
    atomic_store(&w->outbox.woken, false);
    pthread_mutex_unlock(&w->outbox.mu);
}

/* One attempt of e, recorded.  *retry_due gets the time set for a retry
 * (0 when none). */
static void deliver(worker_t *w, ledger_t *l, http_client_t *hc, const ledger_event_t *e,
                    int64_t *retry_due)
{
    char origin[300];
    long status = 0;
    int64_t due = -1, now;
    err_t pe, re;

    *retry_due = 0;
    webhook_origin(e->url, origin, sizeof origin);
    err_clear(&pe);
    err_code_t rc = webhook_post(hc, e->url, &w->outbox.key, e->id, e->payload,
                                 strlen(e->payload), POST_TIMEOUT_MS, &status, &pe);
    now = worker_now_ms();
    if (rc == ERR_OK) {
        atomic_fetch_add(&w->outbox.delivered, 1);
        log_info("webhook_delivered", "id=%s type=%s batch=%s job=%s receiver=%s status=%ld "
                 "attempt=%d delay_ms=%lld", e->id, e->type, e->batch_id,
                 e->job_id ? e->job_id : "-", origin, status, e->attempts + 1,
                 (long long)(now - e->created_ms));
    } else if (rc == ERR_PERMANENT) {
        due = 0;             /* the receiver refused it for good (4xx) */
    } else {
        /* 5xx, 408, 429, the network, or a failure here: try again. */
        due = now + webhook_backoff_ms(e->attempts + 1, rand() / (RAND_MAX + 1.0));
        if (due - e->created_ms > (int64_t)w->cfg.webhook_retry_for * 1000)
            due = 0;
    }
    if (due >= 0) {
        atomic_fetch_add(due ? &w->outbox.retried : &w->outbox.gave_up, 1);
        log_warn(due ? "webhook_retry" : "webhook_gave_up", "id=%s type=%s batch=%s job=%s "
                 "receiver=%s status=%ld attempt=%d next_in_ms=%lld error=\"%s\"", e->id,
                 e->type, e->batch_id, e->job_id ? e->job_id : "-", origin, status,
                 e->attempts + 1, (long long)(due ? due - now : -1), pe.msg);
        *retry_due = due;
    }
    err_clear(&re);
    if (ledger_outbox_record(l, e, due, status, due >= 0 ? pe.msg : NULL, &re) != ERR_OK)
        log_warn("webhook_record_failed", "id=%s error=\"%s\"", e->id, re.msg);
}

static void *outbox_main(void *arg)
{
    worker_t *w = arg;
    err_t e;
    ledger_t *l;
    http_client_t *hc;
    int64_t pending_until = 0;   /* the latest retry set here that a drain waits for */

    err_clear(&e);
    if (!(l = ledger_open(w->cfg.ledger, &e)) || !(hc = http_client_new(NULL, &e))) {
        log_error("webhook_open_failed", "error=\"%s\"", e.msg);
        ledger_close(l);
        return NULL;
    }
    while (!atomic_load(&w->outbox.quit)) {
        ledger_event_t *ev = NULL;
        size_t n = 0;
        int64_t now = worker_now_ms();
        bool draining = atomic_load(&w->outbox.draining);
        if (draining && now >= atomic_load(&w->outbox.drain_until))
            break;
        err_clear(&e);
        if (ledger_outbox_take(l, now, TAKE_LEASE_MS, TAKE_MAX, &ev, &n, &e) != ERR_OK) {
            log_warn("webhook_take_failed", "error=\"%s\"", e.msg);
            nap(w, 1000);
            continue;
        }
        for (size_t i = 0; i < n && !atomic_load(&w->outbox.quit); i++) {
            int64_t due;
            deliver(w, l, hc, &ev[i], &due);
            if (due > pending_until)
                pending_until = due;
        }
        ledger_events_free(ev, n);
        if (n == 0) {
            /* A drain leaves once nothing is due and no retry it made falls
             * due before its deadline. */
            if (draining && (pending_until <= now ||
                             pending_until > atomic_load(&w->outbox.drain_until)))
                break;
            nap(w, IDLE_MS);
        }
    }
    http_client_free(hc);
    ledger_close(l);
    return NULL;
}

int worker_outbox_start(worker_t *w)
{
    err_t e;
    ledger_t *l;

    pthread_mutex_init(&w->outbox.mu, NULL);
    pthread_cond_init(&w->outbox.cv, NULL);
    err_clear(&e);
    if (!w->cfg.webhook_secret) {
        log_info("webhooks_off", "reason=\"no webhook_secret configured\"");
        return 0;
    }
    if (webhook_key_parse(w->cfg.webhook_secret, "webhook_secret", &w->outbox.key, &e) !=
        ERR_OK) {
        log_error("webhooks_off", "error=\"%s\"", e.msg);
        return -1;
    }
    if (!(l = ledger_open(w->cfg.ledger, &e))) {
        log_error("webhooks_off", "error=\"%s\"", e.msg);
        return -1;
    }
    bool has = ledger_has_outbox(l);
    ledger_close(l);
    if (!has) {
        log_info("webhooks_off", "reason=\"the ledger keeps no outbox\"");
        return 0;
    }
    w->outbox.on = true;
    if (pthread_create(&w->outbox.tid, NULL, outbox_main, w) != 0) {
        w->outbox.on = false;
        log_error("webhooks_off", "error=\"cannot start the delivery thread\"");
        return -1;
    }
    return 0;
}

void worker_outbox_kick(worker_t *w)
{
    if (!w->outbox.on || atomic_load(&w->outbox.woken))
        return;
    pthread_mutex_lock(&w->outbox.mu);
    atomic_store(&w->outbox.woken, true);
    pthread_cond_signal(&w->outbox.cv);
    pthread_mutex_unlock(&w->outbox.mu);
}

void worker_outbox_stop(worker_t *w, int drain_s)
{
    if (!w->outbox.on)
        return;
    pthread_mutex_lock(&w->outbox.mu);
    if (drain_s > 0) {
        atomic_store(&w->outbox.drain_until, worker_now_ms() + (int64_t)drain_s * 1000);
        atomic_store(&w->outbox.draining, true);
    } else {
        atomic_store(&w->outbox.quit, true);
    }
    atomic_store(&w->outbox.woken, true);
    pthread_cond_broadcast(&w->outbox.cv);
    pthread_mutex_unlock(&w->outbox.mu);
    pthread_join(w->outbox.tid, NULL);
    w->outbox.on = false;
    log_info("webhooks_stopped", "delivered=%ld retried=%ld gave_up=%ld",
             atomic_load(&w->outbox.delivered), atomic_load(&w->outbox.retried),
             atomic_load(&w->outbox.gave_up));
}
