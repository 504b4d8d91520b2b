/* retry — the AWS SDK "standard" and "adaptive" retry strategies.
 *
 * A retry_t belongs to one service client and is shared by every thread that
 * uses that client: it holds the retry-token bucket (500 tokens; a retry costs
 * 5, a retry after a timeout 10; a first-attempt success refunds 1, a success
 * after retries returns what its last retry took), the adaptive-mode rate
 * limiter, and the clock offset learnt from server `Date` headers.  All of
 * it is guarded by a mutex, so retry_run() (retry_http.h, the loop over
 * HTTP attempts) may run on many threads at once.
 *
 * What is retried is decided only by err_is_retryable(); retry decides how
 * often and when.  Backoff is full jitter: before retry n (n = 1, 2, ...) it
 * sleeps random(0, min(max_backoff, base × 2^(n-1))).  A clock-skew error
 * (ERR_SKEW) is retried once, immediately, after correcting the offset from
 * the reply's Date header; signers read the corrected time from
 * retry_clock_now(). */
#ifndef ONESHEET_RETRY_H
#define ONESHEET_RETRY_H

#include "base/err.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    RETRY_STANDARD = 0,
    RETRY_ADAPTIVE,
} retry_mode_t;

/* Returns the value of an environment variable or NULL (borrowed). */
typedef const char *(*retry_getenv_fn)(const char *name, void *ud);

typedef struct {
    retry_mode_t mode;
    int max_attempts;            /* total attempts incl. the first; 0: 3 */
    long base_delay_ms;          /* 0: 1000 */
    long max_backoff_ms;         /* 0: 20000 */
    int bucket_capacity;         /* 0: 500 */
    int retry_cost;              /* 0: 5 */
    int timeout_retry_cost;      /* 0: 10 */
    int no_retry_increment;      /* 0: 1 */
    /* Test hooks; NULL selects the real thing.  rand01 returns [0, 1);
     * sleep_ms sleeps; mono_ms is a monotonic clock in ms (rate limiter);
     * wall_s is the wall clock in seconds since the epoch. */
    double (*rand01)(void *ud);
    void (*sleep_ms)(long ms, void *ud);
    int64_t (*mono_ms)(void *ud);
    int64_t (*wall_s)(void *ud);
    void *hook_ud;
} retry_options_t;

typedef struct retry retry_t;

/* Fills o with defaults, then AWS_RETRY_MODE ("standard", "adaptive";
 * the SDKs' "legacy" is refused, not run as standard) and AWS_MAX_ATTEMPTS
 * (any whole number as botocore takes it; 0 still makes one attempt) read
 * through getenv_fn (NULL: the process environment).  Returns ERR_CONFIG
 * with a message naming the variable when a value is invalid. */
err_code_t retry_options_from_env(retry_options_t *o, retry_getenv_fn getenv_fn,
                                  void *ud, err_t *err);

/* retry_options_from_env() with the shared config file's retry_mode and
 * max_attempts (NULL: unset) below the variables, as the SDKs order them.
 * Errors name where the bad value came from. */
err_code_t retry_options_from_config(retry_options_t *o, retry_getenv_fn getenv_fn,
                                     void *ud, const char *config_mode,
                                     const char *config_max, err_t *err);

/* Creates the shared state for one client; opts may be NULL for the
 * standard defaults.  The hooks in opts are copied.  NULL on out of memory. */
retry_t *retry_new(const retry_options_t *opts, err_t *err);
void retry_free(retry_t *r);

/* Wall-clock seconds corrected by the learnt server offset. */
int64_t retry_clock_now(retry_t *r);
/* The current offset (server minus local), in seconds. */
int64_t retry_clock_offset(retry_t *r);
/* Sets the offset from an HTTP Date value (RFC 1123, RFC 850 or asctime).
 * Returns ERR_INVALID when the date cannot be parsed. */
err_code_t retry_clock_observe(retry_t *r, const char *http_date);

/* Tokens left in the retry bucket. */
int retry_tokens(retry_t *r);

/* Adaptive mode's state: whether the limiter is engaged and its fill rate in
 * requests per second (0 when not engaged). */
typedef struct {
    bool enabled;
    double fill_rate;
    double measured_rate;
} retry_rate_info_t;
void retry_rate_info(retry_t *r, retry_rate_info_t *out);

/* The backoff ceiling before retry n (1-based), in ms. */
long retry_backoff_cap_ms(const retry_t *r, int n);

/* The steps of one call, for a driver such as retry_run() (retry_http.h).
 * retry_before_attempt waits for the adaptive limiter (adaptive mode only).
 * retry_observe feeds the limiter one attempt's outcome: answered when the
 * server replied at all, throttled when it said so.  retry_succeeded
 * returns tokens to the bucket: last_cost, the cost of the retry that
 * succeeded (0: the first attempt did, which refunds no_retry_increment).
 * retry_again decides what follows failure e after retries retries: false
 * to give up (*why set to a reason when the token bucket said no); true
 * after taking the retry's tokens (*last_cost) and sleeping its jittered
 * backoff. */
void retry_before_attempt(retry_t *r);
void retry_observe(retry_t *r, bool answered, bool throttled);
void retry_succeeded(retry_t *r, int last_cost);
bool retry_again(retry_t *r, const err_t *e, int retries, int *last_cost, const char **why);

#endif
