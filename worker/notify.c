/* notify — see notify.h.  The only file of the worker that knows whether
 * libsystemd is there. */
#include "notify.h"

#ifdef HAVE_SYSTEMD

#include <systemd/sd-daemon.h>

void worker_notify_ready(worker_t *w)
{
    uint64_t usec = 0;
    sd_notify(0, "READY=1\nSTATUS=processing");
    if (sd_watchdog_enabled(0, &usec) <= 0)
        usec = 0;
    w->notify.watchdog_usec = usec;
    w->notify.last_watchdog_ms = w->notify.last_status_ms = 0;
}

void worker_notify_tick(worker_t *w, int64_t now_ms, int64_t t0_ms, bool stopping)
{
    uint64_t wd = w->notify.watchdog_usec;
    if (wd && (now_ms - w->notify.last_watchdog_ms) * 4000 >= (int64_t)wd) {
        w->notify.last_watchdog_ms = now_ms;
        sd_notify(0, "WATCHDOG=1");
    }
    if (now_ms - w->notify.last_status_ms >= 5000) {
        w->notify.last_status_ms = now_ms;
        double secs = (now_ms - t0_ms) / 1000.0;
        long ok = atomic_load(&w->n_succeeded);
        sd_notifyf(0, "STATUS=%s: %d in flight, %ld succeeded, %ld failed, %.1f jobs/s",
                   stopping ? "stopping" : "processing", worker_jobs_in_flight(w), ok,
                   atomic_load(&w->n_failed), secs > 0 ? ok / secs : 0.0);
    }
}

void worker_notify_stopping(const char *status)
{
    if (status)
        sd_notifyf(0, "STOPPING=1\nSTATUS=%s", status);
    else
        sd_notify(0, "STOPPING=1");
}

#else   /* no libsystemd: nothing to tell */

void worker_notify_ready(worker_t *w)
{
    w->notify.watchdog_usec = 0;
}

void worker_notify_tick(worker_t *w, int64_t now_ms, int64_t t0_ms, bool stopping)
{
    (void)w; (void)now_ms; (void)t0_ms; (void)stopping;
}

void worker_notify_stopping(const char *status)
{
    (void)status;
}

#endif
