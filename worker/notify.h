/* notify — what systemd hears from the worker (sd_notify): ready, a status
 * line, watchdog pings and stopping.  Built without libsystemd
 * (HAVE_SYSTEMD undefined) every call is a no-op, so callers need no
 * #ifdef.  Outside a unit (no NOTIFY_SOCKET) sd_notify does nothing
 * either. */
#ifndef ONESHEET_WORKER_NOTIFY_H
#define ONESHEET_WORKER_NOTIFY_H

#include "worker.h"

/* READY=1 with STATUS=processing, and reads the unit's WatchdogSec= into
 * w->notify for worker_notify_tick. */
void worker_notify_ready(worker_t *w);
/* Called from the main thread's loop, which stalls only if the process is
 * wedged: a watchdog ping every quarter of the interval, and every 5 s a
 * STATUS line with jobs in flight, counts and jobs/s since t0_ms (wall
 * clock); stopping says which word the line starts with. */
void worker_notify_tick(worker_t *w, int64_t now_ms, int64_t t0_ms, bool stopping);
/* STOPPING=1, with STATUS=status unless status is NULL. */
void worker_notify_stopping(const char *status);

#endif
