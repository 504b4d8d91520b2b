/* clock — the worker's clocks, a leaf every other worker file may call:
 * it calls nothing of the worker's, so no call circle runs through it. */
#ifndef ONESHEET_WORKER_CLOCK_H
#define ONESHEET_WORKER_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Wall-clock ms since the epoch: for what is compared with other
 * processes' times (leases, a message's receive). */
int64_t worker_now_ms(void);
/* Monotonic ms: for intervals within this process (timers, backoff). */
int64_t worker_mono_ms(void);
/* ms from now on the realtime clock, for pthread_cond_timedwait(). */
struct timespec worker_deadline(long ms);

#endif
