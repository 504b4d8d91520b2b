/* worker — shared state of onesheet-worker's threads. */
#ifndef ONESHEET_WORKER_H
#define ONESHEET_WORKER_H

#include "config.h"
#include "engine.h"
#include "ledger.h"
#include "poster.h"
#include "queue.h"
#include "store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define WORKER_MAX_THREADS 64

/* One job in flight, published for the heartbeat thread. */
typedef struct {
    bool active;
    bool lease_lost;
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
    char owner_base[128];

    atomic_bool stop;        /* SIGTERM/SIGINT or --drain/--max-jobs done */
    atomic_long taken;       /* messages taken toward --max-jobs */
    atomic_long n_succeeded, n_failed, n_filtered, n_retried, n_skipped;
    atomic_int idle_threads;

    pthread_mutex_t lock;    /* guards inflight[] */
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

#endif
