/* worker — shared state of onesheet-worker's threads. */
#ifndef ONESHEET_WORKER_H
#define ONESHEET_WORKER_H

#include "config.h"
#include "engine.h"
#include "ledger.h"
#include "poster.h"
#include "queue.h"
#include "ratelimit.h"
#include "store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define WORKER_MAX_THREADS 64
#define WORKER_GEN_BUCKETS 11   /* onesheet_generate_seconds buckets (metrics.c) */

/* One job in flight, published for the heartbeat thread. */
typedef struct {
    bool active;
    bool lease_lost;
    bool abandoned;          /* given back at shutdown: its thread must not touch it */
    char batch_id[160], job_id[160], receipt[256], owner[192];
    int64_t next_beat_ms;
} inflight_t;

typedef struct {
    config_t cfg;
    int concurrency;
    bool drain;
    long max_jobs;           /* 0: unlimited */
    int visibility_s;
    int lease_s;
    int poll_wait_s;
    long test_delay_ms;      /* ONESHEET_WORKER_TEST_DELAY_MS: slow model for crash tests */
    int grace_s;             /* --grace: time in-flight jobs get after SIGTERM */
    double rpm;              /* --rpm: 0 for no limit */
    const char *metrics_addr;
    char owner_base[128];
    ratelimit_t *rl;         /* shared by all threads; NULL without --rpm */

    atomic_bool stop;        /* SIGTERM/SIGINT or --drain/--max-jobs done */
    atomic_bool signalled;   /* SIGTERM/SIGINT: the grace clock runs */
    atomic_long taken;       /* messages taken toward --max-jobs */
    atomic_long n_succeeded, n_failed, n_filtered, n_retried, n_skipped;
    atomic_long n_given_back, n_throttled;
    atomic_int idle_threads;

    /* onesheet_generate_seconds: per-bucket (not cumulative) counts, the
     * last one +Inf, and the sum in microseconds. */
    atomic_long gen_bucket[WORKER_GEN_BUCKETS + 1];
    atomic_llong gen_sum_us;

    pthread_mutex_t lock;    /* guards inflight[] */
    pthread_mutex_t beat_lock; /* held over one heartbeat, and over give-back */
    inflight_t inflight[WORKER_MAX_THREADS];
} worker_t;

/* Per-thread handles: each thread has its own connections. */
typedef struct {
    worker_t *w;
    int index;
    char owner[192];
    queue_t *queue;
    ledger_t *ledger;
    store_t *store;
    engine_t *engine;
    poster_t *poster;
} worker_thread_t;

/* Processes one received message end to end (claim → generate → compose →
 * store → mark succeeded → delete).  Logs what happened; never exits. */
void worker_process(worker_thread_t *t, const queue_msg_t *m);

/* Marks jobs whose messages were dead-lettered as failed. */
void worker_note_dead(worker_thread_t *t);

/* The heartbeat thread: extends visibility and lease of in-flight jobs. */
void *worker_heartbeat_main(void *arg);

int64_t worker_now_ms(void);

/* Records one generate call's latency for the histogram. */
void worker_observe_generate(worker_t *w, int64_t ms);

/* Starts the --metrics thread serving GET /metrics on w->metrics_addr
 * ("HOST:PORT"; port 0 picks one, which is logged).  Returns 0, or -1 with
 * the reason in err when the address cannot be bound. */
int worker_metrics_start(worker_t *w, err_t *err);
/* Stops and joins it (no-op when not started). */
void worker_metrics_stop(void);

/* After the grace: gives every job still in flight back (ledger release
 * with code "shutdown", message visible again) and marks it abandoned so
 * its thread leaves it alone.  Returns how many were given back. */
int worker_give_back(worker_t *w);

#endif
