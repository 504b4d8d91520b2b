/* ratelimit — adaptive token bucket (see ratelimit.h).
 *
 * tokens may go negative: each reservation past an empty bucket books the
 * next free slot, and -tokens / rate is how far in the future that is. */
#include "base/ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#define CUT 0.7
#define KNEE_MARGIN 0.95   /* return to this share of the rate that drew a 429 */
#define RETURN 0.3         /* share of the way back covered per success */
#define PROBE 1.01         /* then probe beyond it by 1 % per success */
#define HOLD_MS 1000

struct ratelimit {
    pthread_mutex_t mu;
    double ceiling, floor, rate;   /* per minute */
    double knee;                   /* the rate the last 429 came at */
    double burst, tokens;
    int64_t last_ms, hold_until_ms;
    ratelimit_clock_fn clock;
    void *clock_ud;
};

static int64_t mono_ms(void *ud)
{
    (void)ud;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

ratelimit_t *ratelimit_new(double per_minute, double burst, ratelimit_clock_fn clock,
                           void *clock_ud)
{
    if (!(per_minute > 0) || !(burst >= 1))
        return NULL;
    ratelimit_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    pthread_mutex_init(&r->mu, NULL);
    r->ceiling = r->rate = r->knee = per_minute;
    r->floor = fmax(per_minute / 50, 0.5);
    if (r->floor > per_minute)
        r->floor = per_minute;
    r->burst = r->tokens = burst;
    r->clock = clock ? clock : mono_ms;
    r->clock_ud = clock_ud;
    r->last_ms = r->clock(r->clock_ud);
    return r;
}

void ratelimit_free(ratelimit_t *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->mu);
    free(r);
}

/* Adds what the elapsed time earned at the current rate (under mu). */
static int64_t refill(ratelimit_t *r)
{
    int64_t now = r->clock(r->clock_ud);
    if (now > r->last_ms) {
        r->tokens += (double)(now - r->last_ms) * r->rate / 60000.0;
        if (r->tokens > r->burst)
            r->tokens = r->burst;
        r->last_ms = now;
    }
    return now;
}

int64_t ratelimit_reserve(ratelimit_t *r)
{
    int64_t wait = 0;
    pthread_mutex_lock(&r->mu);
    refill(r);
    r->tokens -= 1;
    if (r->tokens < 0)
        wait = (int64_t)ceil(-r->tokens * 60000.0 / r->rate);
    pthread_mutex_unlock(&r->mu);
    return wait;
}

int64_t ratelimit_try(ratelimit_t *r)
{
    int64_t wait = 0;
    pthread_mutex_lock(&r->mu);
    refill(r);
    if (r->tokens >= 1) {
        r->tokens -= 1;
    } else {
        wait = (int64_t)ceil((1 - r->tokens) * 60000.0 / r->rate);
        if (wait < 1)
            wait = 1;
    }
    pthread_mutex_unlock(&r->mu);
    return wait;
}

void ratelimit_throttled(ratelimit_t *r)
{
    pthread_mutex_lock(&r->mu);
    int64_t now = refill(r);
    /* Several calls in flight are throttled together: one cut per second,
     * or a burst of 429s would drive the rate to the floor at once. */
    if (now >= r->hold_until_ms) {
        r->knee = r->rate;
        r->rate = fmax(r->rate * CUT, r->floor);
        r->hold_until_ms = now + HOLD_MS;
    }
    pthread_mutex_unlock(&r->mu);
}

void ratelimit_succeeded(ratelimit_t *r)
{
    pthread_mutex_lock(&r->mu);
    int64_t now = refill(r);
    if (now >= r->hold_until_ms) {
        /* Quickly back to just under where the service pushed back, then
         * slowly past it: the rate spends its time near the quota instead
         * of in a sawtooth far below it. */
        double target = r->knee * KNEE_MARGIN;
        if (r->rate < target)
            r->rate = fmax(r->rate + (target - r->rate) * RETURN, r->rate * PROBE);
        else
            r->rate *= PROBE;
        r->rate = fmin(r->rate, r->ceiling);
    }
    pthread_mutex_unlock(&r->mu);
}

double ratelimit_rate(ratelimit_t *r)
{
    pthread_mutex_lock(&r->mu);
    double v = r->rate;
    pthread_mutex_unlock(&r->mu);
    return v;
}
