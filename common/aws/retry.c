/* retry — see retry.h.
 *
 * The adaptive limiter follows the SDKs' reference pseudo-code (a token
 * bucket whose fill rate follows a CUBIC curve: multiplied by 0.7 on a
 * throttle, then growing back as the cube of the time since it, never above
 * twice the measured sending rate).  Waits happen outside the mutex: a
 * caller reserves its token (the bucket may go negative) and then sleeps for
 * the deficit, so concurrent callers queue up fairly. */
#include "aws/retry.h"

#include "base/crypto.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SMOOTH 0.8
#define BETA 0.7
#define SCALE_CONSTANT 0.4
#define MIN_FILL_RATE 0.5
#define MIN_CAPACITY 1.0

typedef struct {
    bool enabled;
    double fill_rate, max_capacity, current_capacity;
    double last_timestamp;
    bool have_timestamp;
    double measured_tx_rate, last_tx_rate_bucket;
    int request_count;
    double last_max_rate, last_throttle_time, time_window;
} limiter_t;

struct retry {
    retry_options_t o;
    pthread_mutex_t mu;
    int tokens;
    int64_t offset_s;
    limiter_t rl;
};

static const char *real_getenv(const char *name, void *ud)
{
    (void)ud;
    return getenv(name);
}

static double real_rand01(void *ud)
{
    uint64_t v;
    (void)ud;
    if (crypto_random(&v, sizeof v) != ERR_OK)
        return 0.5;
    return (double)(v >> 11) / (double)(1ULL << 53);
}

static void real_sleep_ms(long ms, void *ud)
{
    (void)ud;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int64_t real_mono_ms(void *ud)
{
    struct timespec ts;
    (void)ud;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t real_wall_s(void *ud)
{
    (void)ud;
    return (int64_t)time(NULL);
}

static void defaults(retry_options_t *o)
{
    if (o->max_attempts <= 0)
        o->max_attempts = 3;
    if (o->base_delay_ms <= 0)
        o->base_delay_ms = 1000;
    if (o->max_backoff_ms <= 0)
        o->max_backoff_ms = 20000;
    if (o->bucket_capacity <= 0)
        o->bucket_capacity = 500;
    if (o->retry_cost <= 0)
        o->retry_cost = 5;
    if (o->timeout_retry_cost <= 0)
        o->timeout_retry_cost = 10;
    if (o->no_retry_increment <= 0)
        o->no_retry_increment = 1;
    if (!o->rand01)
        o->rand01 = real_rand01;
    if (!o->sleep_ms)
        o->sleep_ms = real_sleep_ms;
    if (!o->mono_ms)
        o->mono_ms = real_mono_ms;
    if (!o->wall_s)
        o->wall_s = real_wall_s;
}

err_code_t retry_options_from_env(retry_options_t *o, retry_getenv_fn getenv_fn,
                                  void *ud, err_t *err)
{
    return retry_options_from_config(o, getenv_fn, ud, NULL, NULL, err);
}

err_code_t retry_options_from_config(retry_options_t *o, retry_getenv_fn getenv_fn,
                                     void *ud, const char *config_mode,
                                     const char *config_max, err_t *err)
{
    memset(o, 0, sizeof *o);
    if (!getenv_fn)
        getenv_fn = real_getenv;
    const char *from = "AWS_RETRY_MODE", *mode = getenv_fn(from, ud);
    if (!mode || !*mode) {
        from = "retry_mode in the AWS config file";
        mode = config_mode;
    }
    if (mode && *mode) {
        if (strcmp(mode, "standard") == 0)
            o->mode = RETRY_STANDARD;
        else if (strcmp(mode, "adaptive") == 0)
            o->mode = RETRY_ADAPTIVE;
        else if (strcmp(mode, "legacy") == 0)
            return err_set(err, ERR_CONFIG,
                           "%s: the SDKs' legacy retry mode is not supported; set "
                           "standard (or adaptive) instead", from);
        else
            return err_set(err, ERR_CONFIG,
                           "%s: expected standard or adaptive, got \"%.32s\"",
                           from, mode);
    }
    const char *max;
    from = "AWS_MAX_ATTEMPTS";
    max = getenv_fn(from, ud);
    if (!max || !*max) {
        from = "max_attempts in the AWS config file";
        max = config_max;
    }
    if (max && *max) {
        char *end;
        errno = 0;
        long v = strtol(max, &end, 10);
        /* botocore takes any integer (int()): 0 still makes the one
         * attempt, and there is no upper bound (the retry token bucket
         * limits how many retries are really made). */
        if (errno || *end || end == max || v < 0 || v > INT_MAX)
            return err_set(err, ERR_CONFIG,
                           "%s: expected a whole number of attempts (1 or more), "
                           "got \"%.32s\"", from, max);
        o->max_attempts = v == 0 ? 1 : (int)v;
    }
    defaults(o);
    return ERR_OK;
}

retry_t *retry_new(const retry_options_t *opts, err_t *err)
{
    retry_t *r = calloc(1, sizeof *r);
    if (!r) {
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (opts)
        r->o = *opts;
    defaults(&r->o);
    pthread_mutex_init(&r->mu, NULL);
    r->tokens = r->o.bucket_capacity;
    double now = (double)r->o.mono_ms(r->o.hook_ud) / 1000.0;
    r->rl.last_throttle_time = now;
    r->rl.last_tx_rate_bucket = floor(now);
    return r;
}

void retry_free(retry_t *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->mu);
    free(r);
}

long retry_backoff_cap_ms(const retry_t *r, int n)
{
    long cap = r->o.base_delay_ms;
    for (int i = 1; i < n && cap < r->o.max_backoff_ms; i++)
        cap *= 2;
    return cap < r->o.max_backoff_ms ? cap : r->o.max_backoff_ms;
}

/* ---- clock skew ---- */

int64_t retry_clock_offset(retry_t *r)
{
    pthread_mutex_lock(&r->mu);
    int64_t off = r->offset_s;
    pthread_mutex_unlock(&r->mu);
    return off;
}

int64_t retry_clock_now(retry_t *r)
{
    return r->o.wall_s(r->o.hook_ud) + retry_clock_offset(r);
}

err_code_t retry_clock_observe(retry_t *r, const char *http_date)
{
    time_t t = http_date ? curl_getdate(http_date, NULL) : -1;
    if (t < 0)
        return ERR_INVALID;
    int64_t off = (int64_t)t - r->o.wall_s(r->o.hook_ud);
    pthread_mutex_lock(&r->mu);
    r->offset_s = off;
    pthread_mutex_unlock(&r->mu);
    return ERR_OK;
}

/* ---- adaptive rate limiter (called with r->mu held) ---- */

static void rl_refill(limiter_t *rl, double now)
{
    if (!rl->have_timestamp) {
        rl->last_timestamp = now;
        rl->have_timestamp = true;
        return;
    }
    double c = rl->current_capacity + (now - rl->last_timestamp) * rl->fill_rate;
    rl->current_capacity = c < rl->max_capacity ? c : rl->max_capacity;
    rl->last_timestamp = now;
}

static void rl_update_bucket_rate(limiter_t *rl, double now, double rate)
{
    rl_refill(rl, now);
    rl->fill_rate = rate > MIN_FILL_RATE ? rate : MIN_FILL_RATE;
    rl->max_capacity = rate > MIN_CAPACITY ? rate : MIN_CAPACITY;
    if (rl->current_capacity > rl->max_capacity)
        rl->current_capacity = rl->max_capacity;
}

static void rl_update_measured_rate(limiter_t *rl, double now)
{
    double bucket = floor(now * 2.0) / 2.0;
    rl->request_count++;
    if (bucket > rl->last_tx_rate_bucket) {
        double current = rl->request_count / (bucket - rl->last_tx_rate_bucket);
        rl->measured_tx_rate = current * SMOOTH + rl->measured_tx_rate * (1.0 - SMOOTH);
        rl->request_count = 0;
        rl->last_tx_rate_bucket = bucket;
    }
}

static void rl_on_response(limiter_t *rl, double now, bool throttled)
{
    double rate;
    rl_update_measured_rate(rl, now);
    if (throttled) {
        double use = rl->enabled && rl->fill_rate < rl->measured_tx_rate
                         ? rl->fill_rate : rl->measured_tx_rate;
        rl->last_max_rate = use;
        rl->time_window = cbrt(rl->last_max_rate * (1.0 - BETA) / SCALE_CONSTANT);
        rl->last_throttle_time = now;
        rate = use * BETA;
        rl->enabled = true;
    } else {
        rl->time_window = cbrt(rl->last_max_rate * (1.0 - BETA) / SCALE_CONSTANT);
        double dt = now - rl->last_throttle_time - rl->time_window;
        rate = SCALE_CONSTANT * dt * dt * dt + rl->last_max_rate;
    }
    double cap = 2.0 * rl->measured_tx_rate;
    rl_update_bucket_rate(rl, now, rate < cap ? rate : cap);
}

/* Takes one send token, sleeping (outside the lock) for any deficit. */
static void rl_acquire(retry_t *r)
{
    long wait_ms = 0;
    pthread_mutex_lock(&r->mu);
    limiter_t *rl = &r->rl;
    if (rl->enabled) {
        rl_refill(rl, (double)r->o.mono_ms(r->o.hook_ud) / 1000.0);
        rl->current_capacity -= 1.0;
        if (rl->current_capacity < 0)
            wait_ms = (long)ceil(-rl->current_capacity / rl->fill_rate * 1000.0);
    }
    pthread_mutex_unlock(&r->mu);
    if (wait_ms > 0)
        r->o.sleep_ms(wait_ms, r->o.hook_ud);
}

void retry_rate_info(retry_t *r, retry_rate_info_t *out)
{
    pthread_mutex_lock(&r->mu);
    out->enabled = r->rl.enabled;
    out->fill_rate = r->rl.enabled ? r->rl.fill_rate : 0.0;
    out->measured_rate = r->rl.measured_tx_rate;
    pthread_mutex_unlock(&r->mu);
}

/* ---- retry token bucket ---- */

int retry_tokens(retry_t *r)
{
    pthread_mutex_lock(&r->mu);
    int n = r->tokens;
    pthread_mutex_unlock(&r->mu);
    return n;
}

static bool bucket_take(retry_t *r, int cost)
{
    pthread_mutex_lock(&r->mu);
    bool ok = r->tokens >= cost;
    if (ok)
        r->tokens -= cost;
    pthread_mutex_unlock(&r->mu);
    return ok;
}

static void bucket_give(retry_t *r, int n)
{
    pthread_mutex_lock(&r->mu);
    r->tokens += n;
    if (r->tokens > r->o.bucket_capacity)
        r->tokens = r->o.bucket_capacity;
    pthread_mutex_unlock(&r->mu);
}

/* ---- the steps of one call (retry_http.c runs them) ---- */

void retry_before_attempt(retry_t *r)
{
    if (r->o.mode == RETRY_ADAPTIVE)
        rl_acquire(r);
}

void retry_observe(retry_t *r, bool answered, bool throttled)
{
    if (r->o.mode != RETRY_ADAPTIVE || !answered)
        return;
    pthread_mutex_lock(&r->mu);
    rl_on_response(&r->rl, (double)r->o.mono_ms(r->o.hook_ud) / 1000.0, throttled);
    pthread_mutex_unlock(&r->mu);
}

void retry_succeeded(retry_t *r, int last_cost)
{
    bucket_give(r, last_cost ? last_cost : r->o.no_retry_increment);
}

bool retry_again(retry_t *r, const err_t *e, int retries, int *last_cost, const char **why)
{
    if (!err_is_retryable(e))
        return false;
    if (retries + 1 >= r->o.max_attempts)
        return false;
    int cost = e->code == ERR_TIMEOUT ? r->o.timeout_retry_cost : r->o.retry_cost;
    if (!bucket_take(r, cost)) {
        *why = "retry quota exhausted, ";
        return false;
    }
    *last_cost = cost;
    long cap = retry_backoff_cap_ms(r, retries + 1);
    long delay = (long)(r->o.rand01(r->o.hook_ud) * (double)cap);
    if (delay > cap)
        delay = cap;
    if (delay > 0)
        r->o.sleep_ms(delay, r->o.hook_ud);
    return true;
}
