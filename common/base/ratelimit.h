/* ratelimit — one adaptive token bucket shared by the threads of a process
 * (onesheet-worker's --rpm).
 *
 * Callers reserve a slot before each request: ratelimit_reserve() takes a
 * token now, or books the next one and says how long to wait for it, so
 * threads queue up in arrival order instead of racing for a refill.  The
 * fill rate adapts to the service: ratelimit_throttled() cuts it (× 0.7,
 * never below a floor) and remembers where the 429 came; successes bring
 * it quickly back to just below that point, then probe past it slowly,
 * never above the configured ceiling.  All of it is guarded
 * by a mutex.
 *
 * Why not api_ratelimit.c: that one answers "refuse or admit" per client key
 * in whole seconds for HTTP 429 replies and never adapts; this one paces one
 * stream of calls at millisecond granularity and follows the quota. */
#ifndef ONESHEET_RATELIMIT_H
#define ONESHEET_RATELIMIT_H

#include <stdint.h>

typedef struct ratelimit ratelimit_t;

/* A monotonic clock in milliseconds; NULL selects CLOCK_MONOTONIC. */
typedef int64_t (*ratelimit_clock_fn)(void *ud);

/* Creates a bucket allowing per_minute calls a minute (> 0) with up to burst
 * (>= 1) at once, full at creation.  clock may be NULL.  Returns NULL on out
 * of memory or a bad argument.  Free with ratelimit_free(). */
ratelimit_t *ratelimit_new(double per_minute, double burst, ratelimit_clock_fn clock,
                           void *clock_ud);
void ratelimit_free(ratelimit_t *r);

/* Takes one token.  Returns 0 when the call may go now, or how many ms the
 * caller must wait first (the token is booked either way). */
int64_t ratelimit_reserve(ratelimit_t *r);

/* Takes a token if one is there now (returns 0), else books nothing and
 * returns how many ms until one will be, at the current rate.  For a caller
 * that starts calls from one loop: asking again when that time comes uses
 * the rate as it is then, so a cut slows calls already waiting (bookings
 * made with ratelimit_reserve() keep the pace they were made at). */
int64_t ratelimit_try(ratelimit_t *r);

/* The service throttled a call: multiply the rate by 0.7 (floor: ceiling/50,
 * at least 0.5 a minute), and do not raise it again for a second. */
void ratelimit_throttled(ratelimit_t *r);

/* A call went through (outside the second after a cut): move the rate 30 %
 * of the way back to 95 % of the rate the last 429 came at, and from there
 * up by 1 % a success, never above the ceiling. */
void ratelimit_succeeded(ratelimit_t *r);

/* The current rate in calls per minute. */
double ratelimit_rate(ratelimit_t *r);

#endif
