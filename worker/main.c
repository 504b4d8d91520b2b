/* onesheet-worker — polls the queue and turns messages into posters.
 * worker.h says which thread does what: --concurrency slots of jobs in
 * flight, served by a few stage threads, one driver for the network
 * generations, one heartbeat; this thread watches signals, the grace after
 * SIGTERM, stats and systemd (notify.c). */
#include "worker.h"
#include "quota.h"

#include "notify.h"
#include "outbox.h"

#include "engine/engine_serves.h"

#include "base/log.h"
#include "setup/version.h"

#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

/* The one worker; file-scope only so that on_signal can reach it. */
static worker_t W;

#define GO_ON (-1)   /* a step's "no exit status yet" */

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&W.signalled, true);
    atomic_store(&W.stop, true);
}

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: onesheet-worker [options]\n"
            "  -c, --concurrency N   jobs in flight at once (default 2; up to 512)\n"
            "      --threads N       threads that store and record finished jobs when\n"
            "                        the engine is a network one (default 4; the draft\n"
            "                        engine renders on one thread per job in flight)\n"
            "      --prefetch N      jobs claimed ahead, ready to start when a\n"
            "                        generation ends (default concurrency/4, at least 1;\n"
            "                        network engines only)\n"
            "      --drain           exit once no message is visible or in flight (but\n"
            "                        those of jobs naming models it does not serve)\n"
            "      --max-jobs N      exit after taking N messages\n"
            "      --visibility S    seconds a received message stays hidden (default: config, 60)\n"
            "      --poll-wait S     seconds one receive waits for work (default 1)\n"
            "      --grace S         after SIGTERM, seconds in-flight jobs get to finish\n"
            "                        before they are given back (default 30)\n"
            "      --webhook-drain S with --drain, seconds spent delivering the webhook\n"
            "                        events still due before exiting (default 60; the\n"
            "                        rest stay in the outbox for the next worker)\n"
            "      --drain-stall S   with --drain, exit 75 when no job has finished for S\n"
            "                        seconds, as on a full disk (default 600; 0: never)\n"
            "      --rpm N           generate calls a minute, shared by all threads;\n"
            "                        slows down on throttling, then probes back up\n"
            "      --quota-rpm N     the account's Bedrock quota, calls a minute, for\n"
            "                        each model without a quota_rpm.MODEL line: shared\n"
            "                        through the ledger by every worker given it (give\n"
            "                        each worker the whole quota; config quota_rpm)\n"
            "      --metrics H:P     serve Prometheus text on http://H:P/metrics\n"
            "      --model M         engine model (default: config, draft)\n"
            "      --models LIST     comma-separated model ids this worker generates\n"
            "                        (config `models`); jobs naming another model are\n"
            "                        left for a worker that serves it.  Default: draft\n"
            "                        for the draft engine, every Bedrock model of the\n"
            "                        model table for a Bedrock engine; Bedrock ids open\n"
            "                        a Bedrock engine when --model is not given\n"
            "      --beat-interval S seconds between registry heartbeats (default 5; the\n"
            "                        worker is called stale after 3 missed beats)\n"
            "      --handback-delay S  seconds a job this worker does not serve stays\n"
            "                        hidden before another worker may take it (default 30)\n"
            "      --config FILE     config file\n"
            "      --log-json        JSON log lines\n"
            "      --log-level L     debug, info, warn or error\n"
            "      --version         version and commit; with -v the libraries' versions\n"
            "  -h, --help\n");
}

/* An integer option: --name N (or -short N) sets *dst to N, a whole number
 * from min to max; unit, when set, is what N counts, for the message. */
typedef struct {
    const char *name;
    int short_name;          /* 'c' for -c; 0: none */
    int min, max;
    const char *unit;        /* "seconds", or NULL */
    int *dst;
} int_opt_t;

/* Defaults are set in init_worker(). */
static const int_opt_t int_opts[] = {
    {"concurrency", 'c', 1, WORKER_MAX_SLOTS, NULL, &W.concurrency},
    {"threads", 0, 1, WORKER_MAX_THREADS, NULL, &W.threads},
    {"prefetch", 0, 0, WORKER_MAX_SLOTS, NULL, &W.prefetch},
    {"max-jobs", 0, 0, 43200, NULL, &W.max_jobs},
    {"visibility", 0, 1, 43200, "seconds", &W.visibility_s},
    {"poll-wait", 0, 0, 43200, "seconds", &W.poll_wait_s},
    {"grace", 0, 0, 43200, "seconds", &W.grace_s},
    {"beat-interval", 0, 1, 3600, "seconds", &W.beat_interval_s},
    {"handback-delay", 0, 0, QUEUE_MAX_DELAY_S, "seconds", &W.handback_delay_s},
    {"webhook-drain", 0, 0, 3600, "seconds", &W.outbox.drain_s},
    {"drain-stall", 0, 0, 86400, "seconds", &W.drain_stall_s},
};
#define N_INT_OPTS (sizeof int_opts / sizeof int_opts[0])
#define OPT_INT_BASE 256   /* getopt's value for int_opts[i] without a short name */

/* The rest; parse_args' switch knows their values. */
static const struct option other_opts[] = {
    {"drain", no_argument, NULL, 'd'},
    {"rpm", required_argument, NULL, 'r'},
    {"quota-rpm", required_argument, NULL, 'Q'},
    {"metrics", required_argument, NULL, 'P'},
    {"model", required_argument, NULL, 'M'},
    {"models", required_argument, NULL, 'S'},
    {"config", required_argument, NULL, 'C'},
    {"log-json", no_argument, NULL, 'j'},
    {"log-level", required_argument, NULL, 'L'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {"dump-options", no_argument, NULL, 'D'},  /* hidden: tools/gen-docs.sh */
};
#define N_OTHER_OPTS (sizeof other_opts / sizeof other_opts[0])

#define RPM_MAX 1e6

/* What the command line sets beyond worker_t's fields. */
typedef struct {
    const char *config_path, *model, *models, *level;
    bool json;
    bool version, verbose;   /* --version, -v */
} args_t;

static int int_opt_key(size_t i)
{
    return int_opts[i].short_name ? int_opts[i].short_name : OPT_INT_BASE + (int)i;
}

/* The integer option getopt answered with key, or NULL. */
static const int_opt_t *int_opt_for(int key)
{
    for (size_t i = 0; i < N_INT_OPTS; i++)
        if (int_opt_key(i) == key)
            return &int_opts[i];
    return NULL;
}

/* Sets *o->dst from arg.  Returns GO_ON, or EX_USAGE after saying which
 * range was expected. */
static int set_int_opt(const int_opt_t *o, const char *arg)
{
    char *end;
    long v = strtol(arg, &end, 10);
    if (end == arg || *end || v < o->min || v > o->max) {
        fprintf(stderr, "onesheet-worker: --%s: expected a whole number%s%s from %d to %d, "
                "got \"%s\"\n", o->name, o->unit ? " of " : "", o->unit ? o->unit : "",
                o->min, o->max, arg);
        return EX_USAGE;
    }
    *o->dst = (int)v;
    return GO_ON;
}

static int set_rpm(const char *arg)
{
    char *end;
    W.rpm = strtod(arg, &end);
    if (*end || end == arg || !(W.rpm > 0) || W.rpm > RPM_MAX) {
        fprintf(stderr, "onesheet-worker: --rpm: expected a number of calls a minute above 0 "
                "and up to %.0f, got \"%s\"\n", RPM_MAX, arg);
        return EX_USAGE;
    }
    return GO_ON;
}

static int set_quota_rpm(const char *arg)
{
    char *end;
    W.quota.flag_rpm = strtod(arg, &end);
    if (*end || end == arg || !(W.quota.flag_rpm > 0) || W.quota.flag_rpm > RPM_MAX) {
        fprintf(stderr, "onesheet-worker: --quota-rpm: expected a number of calls a minute "
                "above 0 and up to %.0f, got \"%s\"\n", RPM_MAX, arg);
        return EX_USAGE;
    }
    return GO_ON;
}

/* --dump-options: the tables above, one option a line ("--name", "="
 * after those taking a value, a tab and the range after the whole-number
 * ones), for the manual page and the completions; the hidden option
 * itself is left out. */
static int dump_options(void)
{
    for (size_t i = 0; i < N_INT_OPTS; i++) {
        printf("--%s=\t%d..%d%s%s\n", int_opts[i].name, int_opts[i].min, int_opts[i].max,
               int_opts[i].unit ? " " : "", int_opts[i].unit ? int_opts[i].unit : "");
        if (int_opts[i].short_name)
            printf("-%c=\n", int_opts[i].short_name);
    }
    for (size_t i = 0; i < N_OTHER_OPTS; i++)
        if (other_opts[i].val != 'D')
            printf("--%s%s\n", other_opts[i].name,
                   other_opts[i].has_arg == no_argument ? "" : "=");
    printf("-h\n-v\n");
    return fflush(stdout) == 0 ? 0 : EX_IOERR;
}

/* Parses the command line into W and a.  Returns GO_ON, or the exit
 * status: 0 after --help, EX_USAGE after saying what is wrong. */
static int parse_args(int argc, char **argv, args_t *a)
{
    struct option opts[N_INT_OPTS + N_OTHER_OPTS + 1];
    size_t n = 0;
    int opt, rc = GO_ON;

    for (size_t i = 0; i < N_INT_OPTS; i++)
        opts[n++] = (struct option){int_opts[i].name, required_argument, NULL, int_opt_key(i)};
    for (size_t i = 0; i < N_OTHER_OPTS; i++)
        opts[n++] = other_opts[i];
    opts[n] = (struct option){NULL, 0, NULL, 0};

    while (rc == GO_ON && (opt = getopt_long(argc, argv, "c:hv", opts, NULL)) != -1) {
        const int_opt_t *io = int_opt_for(opt);
        if (io) {
            rc = set_int_opt(io, optarg);
            continue;
        }
        switch (opt) {
        case 'r': rc = set_rpm(optarg); break;
        case 'Q': rc = set_quota_rpm(optarg); break;
        case 'P': W.metrics_addr = optarg; break;
        case 'd': W.drain = true; break;
        case 'M': a->model = optarg; break;
        case 'S': a->models = optarg; break;
        case 'C': a->config_path = optarg; break;
        case 'j': a->json = true; break;
        case 'L': a->level = optarg; break;
        case 'h': usage(stdout); return 0;
        case 'V': a->version = true; break;
        case 'v': a->verbose = true; break;
        case 'D': return dump_options();
        default: usage(stderr); return EX_USAGE;
        }
    }
    if (rc == GO_ON && a->version) {
        char text[1024];
        printf("%s\n", version_text(text, sizeof text, "onesheet-worker", a->verbose, NULL));
        return 0;
    }
    if (rc == GO_ON && optind < argc) {
        usage(stderr);
        return EX_USAGE;
    }
    return rc;
}

/* The options' defaults, and what must not read as zero before setup (fds:
 * teardown closes what is >= 0), so that teardown is safe at any point. */
static void init_worker(void)
{
    W.concurrency = 2;
    W.prefetch = -1;         /* setup: concurrency / 4, at least 1 */
    W.poll_wait_s = 1;
    W.grace_s = 30;
    W.beat_interval_s = 5;
    W.handback_delay_s = 30;
    W.outbox.drain_s = 60;
    W.drain_stall_s = 600;
    W.drv.epfd = W.drv.wake_fd = -1;
    W.drv.timer_at = -1;
    W.metrics.listen_fd = -1;
    pthread_mutex_init(&W.lock, NULL);
    pthread_cond_init(&W.cond, NULL);
    pthread_cond_init(&W.left, NULL);
    pthread_mutex_init(&W.beat_lock, NULL);
    pthread_mutex_init(&W.unserved.mu, NULL);
    worker_deletes_init(&W);
}

/* The models this worker serves (W.models): the configured list, else the
 * engine's default.  A list of another kind than the engine (Bedrock ids
 * for the draft engine) opens the engine of its first id when --model was
 * not given, and is ERR_CONFIG when it was: a job is never generated by an
 * engine other than the one it names. */
static err_code_t settle_models(const args_t *a, err_t *e)
{
    if (W.cfg.models) {
        bool draft_list = engine_models_serve(W.cfg.models, "draft");
        if (draft_list != engine_model_is_draft(W.cfg.model)) {
            if (a->model)
                return err_set(e, ERR_CONFIG, "--models: %s cannot serve %s with engine "
                               "model %s (drop --model, or list models of its kind)",
                               draft_list ? "a Bedrock worker" : "a draft worker",
                               W.cfg.models, W.cfg.model);
            char first[160];
            size_t len = strcspn(W.cfg.models, ",");
            snprintf(first, sizeof first, "%.*s", (int)(len < sizeof first ? len : sizeof first - 1),
                     W.cfg.models);
            if (config_set(&W.cfg, "model", first, "--models", e) != ERR_OK)
                return e->code;
        }
        W.models = strdup(W.cfg.models);
    } else {
        W.models = engine_models_default(W.cfg.model);
    }
    return W.models ? ERR_OK : err_set(e, ERR_NOMEM, "out of memory");
}

/* Loads the configuration with the command line's overrides, starts
 * logging and settles what depends on both.  Returns GO_ON, or the exit
 * status after saying why (the configuration freed). */
static int configure(const args_t *a)
{
    char host[64] = "host";
    err_t e;

    err_clear(&e);
    if (config_load(&W.cfg, a->config_path, NULL, &e) != ERR_OK ||
        (a->model && config_set(&W.cfg, "model", a->model, "--model", &e) != ERR_OK) ||
        (a->models && config_set(&W.cfg, "models", a->models, "--models", &e) != ERR_OK) ||
        (a->level && config_set(&W.cfg, "log_level", a->level, "--log-level", &e) != ERR_OK) ||
        settle_models(a, &e) != ERR_OK) {
        fprintf(stderr, "onesheet-worker: %s\n", e.msg);
        config_free(&W.cfg);
        return err_exit_status(e.code);
    }
    log_init("onesheet-worker", (log_level_t)log_level_parse(W.cfg.log_level),
             a->json || W.cfg.log_json);
    if (config_prepare_state(&W.cfg, &e) != ERR_OK) {
        log_error("config", "error=\"%s\"", e.msg);
        config_free(&W.cfg);
        return err_exit_status(e.code);
    }
    if (!W.visibility_s)
        W.visibility_s = W.cfg.visibility_timeout;
    W.lease_s = W.visibility_s;
    if (getenv("ONESHEET_WORKER_TEST_DELAY_MS"))
        W.test_delay_ms = atol(getenv("ONESHEET_WORKER_TEST_DELAY_MS"));
    gethostname(host, sizeof host - 1);
    snprintf(W.owner_base, sizeof W.owner_base, "%s:%ld", host, (long)getpid());
    worker_registry_init(&W, host);
    return GO_ON;
}

/* The allocator, the rate limiter, the random seed and signals.  Returns
 * GO_ON, or the exit status (the configuration freed). */
static int prepare_process(void)
{
    /* Images are megabytes: keep such buffers in the heap, where a freed
     * one is reused by the next job, instead of a fresh mmap (and a page
     * fault per 4 KB) every time.  One arena: the main heap honours the trim
     * threshold, and few threads allocate. */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);   /* the most glibc takes */
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_ARENA_MAX, 1);
    /* Burst 1: the quota is met by pacing, not by bursts that draw 429s. */
    if (W.rpm > 0 && !(W.rl = ratelimit_new(W.rpm, 1, NULL, NULL))) {
        log_error("open_failed", "error=\"out of memory\"");
        config_free(&W.cfg);
        return EX_OSERR;
    }
    srand((unsigned)(getpid() ^ time(NULL)));

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* A full file store (RLIMIT_FSIZE, quotas) must be a failed write the
     * job retries, not a dead worker. */
    signal(SIGXFSZ, SIG_IGN);
    return GO_ON;
}

static int open_thread(worker_thread_t *t, err_t *e)
{
    worker_t *w = t->w;
    if (!(t->queue = queue_open(w->cfg.queue, e)) ||
        !(t->ledger = ledger_open(w->cfg.ledger, e)) ||
        !(t->store = store_open(w->cfg.store, e)) ||
        (!w->async && !(t->engine = engine_open(w->cfg.model, e))) ||
        !(t->poster = poster_open(e)))
        return -1;
    queue_apply_max_receives(t->queue, w->cfg.queue, w->cfg.max_receives);
    if (t->engine)   /* a running SHA-256 only when posters are stored with one */
        engine_want_sha256(t->engine, w->cfg.checksum == STORE_SUM_SHA256);
    return 0;
}

static void close_thread(worker_thread_t *t)
{
    poster_close(t->poster);
    engine_close(t->engine);
    store_close(t->store);
    ledger_close(t->ledger);
    queue_close(t->queue);
}

/* How many threads and slots the engine gets.  Beyond the --concurrency
 * generations, a network engine gets slots for --prefetch jobs claimed
 * ahead (a generation that ends is followed at once by the next, not
 * after a receive and a claim), one per stage thread and as many again
 * for jobs generated and waiting to be stored: a slot being finished does
 * not hold up a generation. */
static void size_pool(void)
{
    if (!W.async || W.threads == 0)
        W.threads = W.async ? (W.concurrency < 4 ? W.concurrency : 4) : W.concurrency;
    if (W.threads > WORKER_MAX_THREADS)
        W.threads = WORKER_MAX_THREADS;
    if (W.threads > W.concurrency)
        W.threads = W.concurrency;
    if (!W.async)
        W.prefetch = 0;
    else if (W.prefetch < 0)
        W.prefetch = W.concurrency / 4 > 1 ? W.concurrency / 4 : 1;
    W.nslots = W.async ? W.concurrency + W.prefetch + 2 * W.threads : W.concurrency;
}

/* Slots, their engines (network engines: one per slot, each with its own
 * connection), the stage threads' handles and the driver.  Returns 0, or
 * -1 with e set; teardown() frees what was made either way. */
static int setup(err_t *e)
{
    engine_t *probe = engine_open(W.cfg.model, e);
    if (!probe)
        return -1;
    W.async = engine_is_async(probe);
    engine_close(probe);
    size_pool();
    if (!(W.slots = calloc((size_t)W.nslots, sizeof *W.slots)) ||
        !(W.given = calloc((size_t)W.nslots, sizeof *W.given))) {
        err_set(e, ERR_NOMEM, "out of memory");
        return -1;
    }
    for (int i = 0; i < W.nslots; i++) {
        W.slots[i].index = i;
        job_spec_init(&W.slots[i].spec);
        engine_result_init(&W.slots[i].res);
        if (W.async && !(W.slots[i].engine = engine_open(W.cfg.model, e)))
            return -1;
        if (W.async)
            engine_want_sha256(W.slots[i].engine, W.cfg.checksum == STORE_SUM_SHA256);
    }
    for (int i = 0; i < W.threads; i++) {
        W.stage[i].w = &W;
        W.stage[i].index = i;
        W.stages_open = i + 1;
        if (open_thread(&W.stage[i], e) != 0)
            return -1;
    }
    if (W.async && worker_driver_init(&W, e) != 0)
        return -1;
    if (worker_quota_open(&W, e) != 0)
        return -1;
    return 0;
}

static void teardown(void)
{
    for (int i = 0; i < W.stages_open; i++)
        close_thread(&W.stage[i]);
    for (int i = 0; W.slots && i < W.nslots; i++) {
        worker_slot_clear(&W.slots[i]);
        engine_close(W.slots[i].engine);
    }
    free(W.slots);
    free(W.given);
    worker_driver_close(&W);
    worker_quota_close(&W);
    ratelimit_free(W.rl);
    worker_lifecycle_free(&W);
    config_free(&W.cfg);
    free(W.models);
    W.models = NULL;
    for (size_t i = 0; i < W.unserved.n; i++)
        free(W.unserved.keys[i]);
    free(W.unserved.keys);
    W.unserved.keys = NULL;
    W.unserved.n = W.unserved.cap = 0;
}

static void log_stats(const char *event, double secs)
{
    long ok = atomic_load(&W.n_succeeded);
    log_info(event, "succeeded=%ld failed=%ld filtered=%ld retried=%ld skipped=%ld "
             "elapsed_s=%.2f per_s=%.2f", ok, atomic_load(&W.n_failed),
             atomic_load(&W.n_filtered), atomic_load(&W.n_retried),
             atomic_load(&W.n_skipped), secs, secs > 0 ? ok / secs : 0.0);
}

/* Joins the stage threads that have left; true once all have. */
static bool stage_threads_gone(pthread_t *tids)
{
    int done = 0;
    for (int i = 0; i < W.threads; i++)
        if (W.stage[i].index < 0 || pthread_tryjoin_np(tids[i], NULL) == 0) {
            W.stage[i].index = -1;
            done++;
        }
    return done == W.threads;
}

/* After SIGTERM (stop_ms: when this thread first saw it, 0 before): the
 * first time, says so and wakes the stage threads; once the grace is over,
 * gives back what is still in flight and exits without joining threads
 * that may be blocked in a model call: their jobs are no longer theirs.
 * Returns stop_ms. */
static int64_t watch_grace(int64_t stop_ms, int64_t now, int64_t t0)
{
    if (!stop_ms) {
        log_info("stopping", "grace_s=%d in_flight=%d", W.grace_s, worker_jobs_in_flight(&W));
        pthread_mutex_lock(&W.lock);
        pthread_cond_broadcast(&W.cond);
        pthread_mutex_unlock(&W.lock);
        worker_notify_stopping("finishing in-flight jobs");
        return now;
    }
    if (now - stop_ms >= (int64_t)W.grace_s * 1000) {
        int n = worker_give_back(&W);
        worker_registry_leave(&W);
        log_stats("worker_stopped", (now - t0) / 1000.0);
        log_info("grace_expired", "given_back=%d", n);
        fflush(stdout);
        fflush(stderr);
        _exit(0);
    }
    return stop_ms;
}

/* --drain that makes no progress (every job retried again and again, as on
 * a disk that stays full) would never end: after --drain-stall seconds with
 * no job reaching a final state, the worker gives back what it holds and
 * exits 75 (EX_TEMPFAIL), saying so.  last_ms, last_done: progress seen. */
static void watch_stall(int64_t now, int64_t t0, int64_t *last_ms, long *last_done)
{
    long done = atomic_load(&W.n_succeeded) + atomic_load(&W.n_failed) +
                atomic_load(&W.n_filtered) + atomic_load(&W.n_skipped) +
                atomic_load(&W.n_not_served);
    if (done != *last_done || !W.drain || W.drain_stall_s <= 0) {
        *last_done = done;
        *last_ms = now;
        return;
    }
    if (now - *last_ms < (int64_t)W.drain_stall_s * 1000)
        return;
    log_error("drain_stalled", "stall_s=%d in_flight=%d retried=%ld hint=\"no job finished; "
              "see the job_retry lines for the cause (a full disk?); the jobs stay queued\"",
              W.drain_stall_s, worker_jobs_in_flight(&W), atomic_load(&W.n_retried));
    log_info("drain_gave_up", "given_back=%d exit=75", worker_give_back(&W));
    worker_registry_leave(&W);
    log_stats("worker_stopped", (now - t0) / 1000.0);
    fflush(stdout);
    fflush(stderr);
    _exit(75);
}

/* This thread only watches: signals set W.stop; stage threads also stop
 * the worker for --drain and --max-jobs, and leave once no slot is busy.
 * Returns when all of them have left. */
static void watch(pthread_t *tids, int64_t t0)
{
    int64_t stop_ms = 0, last_stats = t0, last_progress = t0;
    long last_done = -1;

    while (!stage_threads_gone(tids)) {
        /* Up to 100 ms; a stage thread that leaves wakes this at once. */
        struct timespec ts = worker_deadline(100);
        pthread_mutex_lock(&W.lock);
        pthread_cond_timedwait(&W.left, &W.lock, &ts);
        pthread_mutex_unlock(&W.lock);
        int64_t now = worker_now_ms();
        if (atomic_load(&W.signalled))
            stop_ms = watch_grace(stop_ms, now, t0);
        else
            watch_stall(now, t0, &last_progress, &last_done);
        worker_notify_tick(&W, now, t0, stop_ms != 0);
        if (now - last_stats >= 30000) {
            last_stats = now;
            log_stats("stats", (now - t0) / 1000.0);
        }
    }
}

/* Starts the heartbeat, the driver and the stage threads, watches them
 * until the stage threads have left, then stops the rest. */
static void run(void)
{
    int64_t t0 = worker_now_ms();
    pthread_t hb, drv, tids[WORKER_MAX_THREADS];

    pthread_create(&hb, NULL, worker_heartbeat_main, &W);
    if (W.async)
        pthread_create(&drv, NULL, worker_driver_main, &W);
    for (int i = 0; i < W.threads; i++)
        pthread_create(&tids[i], NULL, worker_stage_main, &W.stage[i]);
    watch(tids, t0);
    /* --drain: the jobs are done; their events get up to --webhook-drain. */
    worker_outbox_stop(&W, W.drain && !atomic_load(&W.signalled) ? W.outbox.drain_s : 0);

    worker_notify_stopping(NULL);
    atomic_store(&W.stop, true);
    pthread_mutex_lock(&W.lock);
    atomic_store(&W.driver_quit, true);
    pthread_cond_broadcast(&W.left);   /* the heartbeat's wait */
    pthread_mutex_unlock(&W.lock);
    worker_driver_wake(&W);
    if (W.async)
        pthread_join(drv, NULL);
    pthread_join(hb, NULL);
    worker_registry_leave(&W);
    worker_metrics_stop(&W);
    log_stats("worker_stopped", (worker_now_ms() - t0) / 1000.0);
}

int main(int argc, char **argv)
{
    args_t a = {0};
    err_t e;
    int rc;

    init_worker();
    if ((rc = parse_args(argc, argv, &a)) != GO_ON ||
        (rc = configure(&a)) != GO_ON || (rc = prepare_process()) != GO_ON)
        return rc;
    err_clear(&e);
    if (setup(&e) != 0) {
        log_error("open_failed", "error=\"%s\"", e.msg);
        teardown();
        return err_exit_status(e.code);
    }
    if (W.metrics_addr && worker_metrics_start(&W, &e) != 0) {
        log_error("metrics_failed", "error=\"%s\"", e.msg);
        teardown();
        return err_exit_status(e.code);
    }
    if (worker_outbox_start(&W) != 0) {
        teardown();
        return EX_SOFTWARE;
    }
    log_info("worker_started", "concurrency=%d prefetch=%d threads=%d engine=%s model=%s "
             "visibility_s=%d drain=%d grace_s=%d rpm=%g owner=%s worker=%s models=%s",
             W.concurrency, W.prefetch, W.threads, W.async ? "network" : "local", W.cfg.model,
             W.visibility_s, W.drain, W.grace_s, W.rpm, W.owner_base, W.reg.id, W.models);
    worker_lifecycle_start(&W);
    /* Registered before the first job, so `onesheet workers` shows it at once. */
    worker_registry_beat(&W, W.stage[0].ledger, worker_now_ms(), true);
    worker_notify_ready(&W);
    run();
    teardown();
    return 0;
}
