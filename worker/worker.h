/* worker — shared state of onesheet-worker's threads.
 *
 * A job in flight occupies a slot; at most --concurrency of them are
 * generating at once and --prefetch more claimed and ready to start, and a
 * few more slots hold jobs that are generated and being stored, so storing
 * never holds up a generation.  Few
 * threads serve many slots:
 *
 *   stage threads (--threads; pool.c)  receive messages into free slots,
 *       claim them, and finish generated jobs (compose, store, record,
 *       delete).  With a local engine (draft) they also generate, so there
 *       is one per slot.
 *   the driver (driver.c)  runs every network generation at once through
 *       one libcurl multi handle, paced by the rate limiter, and retries
 *       throttled and transient failures; no thread waits on a model call.
 *   the heartbeat (heartbeat.c)  extends visibility and lease of every
 *       slot's job before they lapse.
 *   the main thread (main.c)  watches signals, grace, stats and systemd
 *       (notify.c).
 *
 * A slot's state says who may touch its job: FREE and RESERVED belong to
 * the stage thread that reserved it, RECEIVED to any stage thread, which
 * takes it back as RESERVED to claim it, WAITING and RUNNING to the driver,
 * DONE to any stage thread, which takes it as FINISHING.  State changes
 * happen under worker_t.lock, all through worker_slot_set_state() (slot.c),
 * which checks them against its table of allowed transitions; cond is
 * signalled when a slot becomes RECEIVED, DONE or FREE. */
#ifndef ONESHEET_WORKER_H
#define ONESHEET_WORKER_H

#include "setup/config.h"
#include "engine/engine.h"
#include "ledger/ledger.h"
#include "poster/poster.h"
#include "queue/queue.h"
#include "base/ratelimit.h"
#include "store/store.h"
#include "jobs/webhook.h"
#include "jobs/quota_shared.h"

#include "clock.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define WORKER_MAX_SLOTS 512
#define WORKER_MAX_THREADS 64
#define WORKER_GEN_BUCKETS 11   /* onesheet_generate_seconds buckets (metrics.c) */
#define WORKER_GEN_ATTEMPTS 3   /* transient failures tried in one delivery */
#define WORKER_THROTTLE_ATTEMPTS 6   /* throttled tries of a call in one delivery */
/* A call's first 429 is tried again after 50 ms + up to this, unpaced. */
#define WORKER_THROTTLE_RETRY_JITTER_MS 200
#define WORKER_DELETE_BATCH 10     /* messages per delete call (deletes.c) */
#define WORKER_DELETE_WAIT_MS 200  /* the longest a finished job's delete waits */
#define WORKER_QUOTA_MAX 32        /* models with a shared quota in one worker */

typedef enum {
    SLOT_FREE = 0,
    SLOT_RESERVED,   /* a stage thread is receiving/claiming into it */
    SLOT_RECEIVED,   /* holds a received message for any stage thread to claim */
    SLOT_WAITING,    /* claimed; the driver starts it at not_before_ms */
    SLOT_RUNNING,    /* its generation is a transfer in the multi handle */
    SLOT_DONE,       /* generated (or failed): waiting for a stage thread */
    SLOT_FINISHING,  /* a stage thread is storing and recording it */
    SLOT_NSTATES
} slot_state_t;

/* One job in flight.  active .. next_beat_ms are what the heartbeat reads
 * (under worker_t.lock); the rest belongs to the slot's current owner. */
typedef struct {
    bool active;
    bool lease_lost;
    bool abandoned;          /* given back at shutdown: its owner must not touch it */
    char batch_id[160], job_id[160], receipt[256], owner[192];
    int64_t next_beat_ms;

    slot_state_t state;      /* written only by worker_slot_set_state() (slot.c) */
    int index;
    queue_msg_t msg;         /* owned copy */
    job_spec_t spec;
    engine_t *engine;        /* network engines: one per slot (NULL: local) */
    void *handle;            /* the transfer while RUNNING */
    engine_result_t res;
    err_code_t rc;           /* the generation's outcome */
    err_t err;
    int attempts, throttles;
    bool unpaced;            /* its next start skips the limiter (a first 429's retry) */
    bool unstarted_at_stop;  /* SIGTERM came before its generation started */
    int64_t not_before_ms, t0_ms, gen_t0_ms;
    int64_t received_ms;     /* wall clock when the message was received */
    int run;                 /* the message's run of the job (retry; 1 when absent) */
} slot_t;

typedef struct worker worker_t;

/* Per stage thread handles: each thread has its own connections. */
typedef struct {
    worker_t *w;
    int index;               /* -1 once main.c has joined the thread */
    queue_t *queue;
    ledger_t *ledger;
    store_t *store;
    engine_t *engine;        /* local engines only */
    poster_t *poster;
} worker_thread_t;

/* A finished job's message waiting to be deleted in a batch (deletes.c). */
typedef struct {
    char *receipt, *job;     /* owned */
} worker_pending_delete_t;

/* A job worker_give_back() hands back, copied out of its slot. */
typedef struct {
    bool lease_lost;
    char batch_id[160], job_id[160], receipt[256], owner[192];
} worker_given_t;

struct worker {
    config_t cfg;
    int concurrency;         /* generations in flight at most */
    int prefetch;            /* claimed jobs kept ready beyond those (network engines) */
    int nslots;              /* slots: concurrency + prefetch, plus room for jobs being finished */
    int threads;             /* stage threads */
    bool async;              /* the engine runs in the driver */
    bool drain;
    int max_jobs;            /* 0: unlimited */
    int visibility_s;        /* --visibility, else the config's (0 until set) */
    int lease_s;
    int poll_wait_s;
    long test_delay_ms;      /* ONESHEET_WORKER_TEST_DELAY_MS: slow model for crash tests */
    int grace_s;             /* --grace: time in-flight jobs get after SIGTERM */
    double rpm;              /* --rpm: 0 for no limit */
    const char *metrics_addr;
    char owner_base[128];
    ratelimit_t *rl;         /* shared by all generations; NULL without --rpm */

    atomic_bool stop;        /* SIGTERM/SIGINT or --drain/--max-jobs done */
    atomic_bool signalled;   /* SIGTERM/SIGINT: the grace clock runs */
    atomic_long taken;       /* messages taken toward --max-jobs */
    atomic_long n_succeeded, n_failed, n_filtered, n_retried, n_skipped;
    atomic_long n_given_back, n_throttled, n_gen_retries;

    /* onesheet_generate_seconds: per-bucket (not cumulative) counts, the
     * last one +Inf, and the sum in microseconds. */
    atomic_long gen_bucket[WORKER_GEN_BUCKETS + 1];
    atomic_llong gen_sum_us;

    pthread_mutex_t lock;    /* guards slots' states and heartbeat fields */
    pthread_cond_t cond;     /* a slot became RECEIVED, DONE or FREE */
    pthread_cond_t left;     /* a stage thread is leaving, or driver_quit was set */
    pthread_mutex_t beat_lock; /* held over one heartbeat, and over give-back */
    atomic_bool driver_quit;
    atomic_int pollers;      /* stage threads in a long poll now */
    atomic_int receive_fails; /* receives failed in a row */
    atomic_bool seen_empty;  /* --drain: the last receive found nothing */
    slot_t *slots;           /* [nslots] */
    worker_given_t *given;   /* [nslots]: worker_give_back's copies, allocated up
                              * front so the shutdown path does not allocate */
    worker_thread_t stage[WORKER_MAX_THREADS];   /* the stage threads' handles */
    int stages_open;         /* stage[0 .. stages_open) have handles to close */

    /* driver.c's loop; only the driver thread touches it after
     * worker_driver_init(), except wake_fd. */
    struct {
        void *multi;         /* the CURLM */
        int epfd;            /* epoll set of the multi handle's sockets (-1: none) */
        int wake_fd;         /* eventfd that wakes the driver (-1: none) */
        int64_t timer_at;    /* libcurl's timeout, monotonic ms; -1: none */
    } drv;

    /* deletes.c: receipts waiting to go ten to a call. */
    struct {
        pthread_mutex_t mu;
        worker_pending_delete_t pending[WORKER_DELETE_BATCH];
        int n;
        int64_t first_ms;    /* when the oldest waiting receipt came */
    } deletes;

    /* metrics.c's endpoint. */
    struct {
        int listen_fd;       /* -1: not serving */
        pthread_t tid;
        atomic_bool quit;
    } metrics;

    /* notify.c: when systemd last heard from this worker. */
    struct {
        uint64_t watchdog_usec;  /* WatchdogSec= of the unit; 0: none */
        int64_t last_watchdog_ms, last_status_ms;
    } notify;

    /* worker liveness: the registry entry (registry.c) and the models this
     * worker generates. */
    char *models;            /* served ids, comma-separated (owned) */
    int beat_interval_s;     /* --beat-interval: registry heartbeat */
    int handback_delay_s;    /* --handback-delay: a job it does not serve
                              * stays hidden this long for other workers */
    atomic_long n_not_served;
    /* The jobs handed back so far (distinct "BATCH/JOB"), for --drain: a
     * queue holding no more messages than these has nothing for this
     * worker.  Guarded by mu; free_unserved() (main.c) frees keys. */
    struct {
        pthread_mutex_t mu;
        char **keys;
        size_t n, cap;
    } unserved;
    struct {
        char id[192];        /* "HOST:PID:RANDOM", stable for the process */
        char host[64];
        int64_t started_ms, next_ms;
        int64_t window_ms;   /* start of the rate's window */
        long window_done;    /* jobs finished when it started */
        double rate_per_min;
    } reg;
    /* outbox.c: webhook deliveries. */
    struct {
        bool on;                 /* the delivery thread runs */
        webhook_key_t key;       /* from webhook_secret */
        int drain_s;             /* --webhook-drain: the longest --drain delivers */
        pthread_t tid;
        pthread_mutex_t mu;
        pthread_cond_t cv;
        atomic_bool quit;        /* stop now */
        atomic_bool draining;    /* deliver what is due until drain_until, then stop */
        atomic_bool woken;
        atomic_llong drain_until; /* wall-clock ms */
        atomic_long delivered, retried, gave_up;
    } outbox;
    /* --drain-stall: with --drain, seconds without a job reaching a final
     * state after which the worker gives up (exit 75); 0: never. */
    int drain_stall_s;
    /* quota.c: the shared quota's clients (issue 21): one per served model
     * that has a quota, on one ledger connection of their own. */
    struct {
        double flag_rpm;           /* --quota-rpm (0: the config's) */
        ledger_t *ledger;          /* the clients' connection (NULL: no quota) */
        int n;
        quota_shared_t *q[WORKER_QUOTA_MAX];
    } quota;
    /* Bedrock's model list as the worker started (issue 23; lifecycle.c):
     * NULL for local engines or model_lifecycle = off.  Read-only once
     * set, so any thread may read it. */
    struct bedrock_catalog_s *catalog;
};

/* lifecycle.c: loads Bedrock's model list (the cache in the state
 * directory, else one call) for a network engine and logs each served
 * model's lifecycle (event=model_lifecycle); never fails the worker. */
void worker_lifecycle_start(worker_t *w);
/* " lifecycle=ACTIVE", " lifecycle=LEGACY end_of_life=YYYY-MM-DD",
 * " lifecycle=unlisted", or "" (no list) for model, into out; returns out. */
const char *worker_lifecycle_of(const worker_t *w, const char *model, char *out, size_t cap);
/* The same as the ledger records it (ledger_job_t.model_lifecycle):
 * "ACTIVE", "LEGACY:YYYY-MM-DD" or "unlisted" into out (cap >= 20),
 * returning out; NULL when not known (no list, or not a Bedrock model). */
const char *worker_lifecycle_value(const worker_t *w, const char *model, char *out,
                                   size_t cap);
void worker_lifecycle_free(worker_t *w);

/* slot.c: the one place a slot's state changes.  Call with w->lock held.
 * Asserts that from -> to is in the table of allowed transitions (a
 * forbidden one is a bug, and asserts stay on in every build); a slot that
 * becomes FREE, DONE or RECEIVED is work for one stage thread, which is
 * woken. */
void worker_slot_set_state(worker_t *w, slot_t *s, slot_state_t to);
/* Whether the table allows from -> to. */
bool worker_slot_transition_ok(slot_state_t from, slot_state_t to);
/* "free", "reserved", ... for logs; "?" for a value out of range. */
const char *worker_slot_state_name(slot_state_t st);

/* process.c: a message into a slot (worker_hold_message copies it; false
 * when out of memory), claimed, and a generated slot to its end.
 * worker_begin() returns true when the slot now holds a claimed job to
 * generate; otherwise the message was dealt with (skipped, poisoned) and
 * the slot may be freed. */
bool worker_hold_message(slot_t *s, const queue_msg_t *m, int64_t received_ms);
bool worker_begin(worker_thread_t *t, slot_t *s);
void worker_slot_clear(slot_t *s);
/* Takes the slot's job back from the heartbeat before its end is recorded.
 * Returns whether its lease was lost; *abandoned says whether shutdown
 * already gave it back, in which case the job is no longer this worker's
 * to finish, fail or retry. */
bool worker_unpublish(worker_t *w, slot_t *s, bool *abandoned);
/* A retryable failure (cause, borrowed): the job goes back to the ledger
 * and its message is hidden for a backoff, or on the last delivery the job
 * fails for good. */
void worker_retry_later(worker_thread_t *t, const slot_t *s, const err_t *cause);
/* Marks jobs whose messages were dead-lettered as failed. */
void worker_note_dead(worker_thread_t *t);
/* The synchronous generate call of local engines (and of a network engine
 * with no driver), paced by the limiter: fills s->rc, s->err, s->res. */
void worker_generate_sync(worker_thread_t *t, slot_t *s);

/* finish.c: a generated slot to its end: compose, store, record, delete
 * the message; or the job given back, failed or retried.  Every path ends
 * with the slot cleared (worker_slot_clear); its state is left to the
 * caller. */
void worker_complete(worker_thread_t *t, slot_t *s);

/* deletes.c: the message of a finished job is deleted, in batches where
 * the queue has them (sent by the tenth, or by worker_delete_flush). */
/* Call once, before the threads start. */
void worker_deletes_init(worker_t *w);
void worker_delete(worker_thread_t *t, const char *receipt, const char *job);
/* Sends the waiting deletes through q when the oldest waited min_age_ms
 * (0: now). */
void worker_delete_flush(worker_t *w, queue_t *q, int64_t min_age_ms);

/* registry.c: the worker's entry in the ledger's worker registry.
 * worker_registry_init() names the worker (call once, before threads);
 * worker_registry_beat() writes the entry through l when a beat is due
 * (force: now), logging a failure; worker_registry_leave() removes it on
 * a clean stop, through its own ledger connection. */
void worker_registry_init(worker_t *w, const char *host);
void worker_registry_beat(worker_t *w, ledger_t *l, int64_t now_ms, bool force);
void worker_registry_leave(worker_t *w);
/* process.c: how many distinct jobs this worker handed back as not served
 * (see worker_t.unserved). */
size_t worker_unserved_count(worker_t *w);

/* pool.c: the stage threads. */
void *worker_stage_main(void *arg);
int worker_busy_slots(worker_t *w);
/* Slots holding a claimed job (not merely reserved for a receive). */
int worker_jobs_in_flight(worker_t *w);

/* driver.c: the libcurl multi loop. */
int worker_driver_init(worker_t *w, err_t *err);
void worker_driver_close(worker_t *w);
void *worker_driver_main(void *arg);
void worker_driver_wake(worker_t *w);

/* heartbeat.c */
void *worker_heartbeat_main(void *arg);
/* Gives back (lease released, visibility 0) every job still in flight;
 * used when the grace after SIGTERM is over.  Returns how many. */
int worker_give_back(worker_t *w);

/* metrics.c */
void worker_observe_generate(worker_t *w, int64_t ms);
/* Serves --metrics (w->metrics_addr) from a thread of its own.  Returns 0,
 * or -1 with err set (ERR_USAGE for a bad address). */
int worker_metrics_start(worker_t *w, err_t *err);
/* Stops serving, if it was; w->metrics.listen_fd must start as -1. */
void worker_metrics_stop(worker_t *w);

#endif
