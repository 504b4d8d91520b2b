/* registry — the worker's entry in the ledger's worker registry (worker
 * liveness): who it is, the models it serves, and how it is doing.
 *
 * The heartbeat thread writes the entry every --beat-interval seconds (an
 * upsert); readers (`onesheet workers`, `status`, the API) call a worker
 * stale once it missed LEDGER_WORKER_STALE_BEATS beats, so one killed with
 * SIGKILL ages out on its own, and a clean stop removes the entry at once.
 * A failed beat is logged and tried again next interval: the registry is
 * advice for people and the API, never a condition for processing jobs. */
#include "worker.h"

#include "base/crypto.h"
#include "base/log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define RATE_WINDOW_MS 60000

void worker_registry_init(worker_t *w, const char *host)
{
    unsigned char r[4] = {0};
    crypto_random(r, sizeof r);
    snprintf(w->reg.host, sizeof w->reg.host, "%s", host);
    snprintf(w->reg.id, sizeof w->reg.id, "%s:%02x%02x%02x%02x", w->owner_base, r[0], r[1],
             r[2], r[3]);
    w->reg.started_ms = w->reg.window_ms = worker_now_ms();
    w->reg.next_ms = 0;
}

/* Jobs finished (any outcome) so far. */
static long finished(worker_t *w)
{
    return atomic_load(&w->n_succeeded) + atomic_load(&w->n_failed) +
           atomic_load(&w->n_filtered);
}

/* Jobs a minute over the last full window (over the uptime until the
 * first window ends). */
static double rate(worker_t *w, int64_t now)
{
    long done = finished(w);
    int64_t span = now - w->reg.window_ms;
    if (span >= RATE_WINDOW_MS) {
        w->reg.rate_per_min = (double)(done - w->reg.window_done) * 60000.0 / (double)span;
        w->reg.window_ms = now;
        w->reg.window_done = done;
    } else if (w->reg.window_ms == w->reg.started_ms) {
        w->reg.rate_per_min = span > 0 ? (double)done * 60000.0 / (double)span : 0;
    }
    return w->reg.rate_per_min;
}

void worker_registry_beat(worker_t *w, ledger_t *l, int64_t now_ms, bool force)
{
    if (!force && now_ms < w->reg.next_ms)
        return;
    w->reg.next_ms = now_ms + (int64_t)w->beat_interval_s * 1000;
    if (!ledger_has_workers(l))
        return;
    ledger_worker_t e = {
        .id = w->reg.id, .host = w->reg.host, .version = (char *)ONESHEET_VERSION,
        .models = w->models, .pid = (int64_t)getpid(), .started_ms = w->reg.started_ms,
        .last_seen_ms = now_ms, .beat_ms = (int64_t)w->beat_interval_s * 1000,
        .in_flight = worker_jobs_in_flight(w), .done = atomic_load(&w->n_succeeded),
        .failed = atomic_load(&w->n_failed) + atomic_load(&w->n_filtered),
        .rate_per_min = rate(w, now_ms),
    };
    err_t err;
    err_clear(&err);
    if (ledger_worker_beat(l, &e, &err) != ERR_OK)
        log_warn("registry_beat_failed", "worker=%s error=\"%s\"", w->reg.id, err.msg);
    else
        log_debug("registry_beat", "worker=%s in_flight=%lld done=%lld", w->reg.id,
                  (long long)e.in_flight, (long long)e.done);
}

void worker_registry_leave(worker_t *w)
{
    err_t err;
    err_clear(&err);
    ledger_t *l = ledger_open(w->cfg.ledger, &err);
    if (l && ledger_has_workers(l) && ledger_worker_leave(l, w->reg.id, &err) == ERR_OK)
        log_info("registry_left", "worker=%s", w->reg.id);
    else if (!l || ledger_has_workers(l))
        log_warn("registry_leave_failed", "worker=%s error=\"%s\"", w->reg.id, err.msg);
    ledger_close(l);
}
