/* onesheet-worker — polls the queue and turns messages into posters.
 * worker.h says which thread does what: --concurrency slots of jobs in
 * flight, served by a few stage threads, one driver for the network
 * generations, one heartbeat; this thread watches signals, the grace after
 * SIGTERM, stats and systemd. */
#include "worker.h"

#include "base/log.h"

#include <curl/curl.h>
#include <errno.h>
#include <malloc.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

static worker_t W;

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
            "      --drain           exit once no message is visible or in flight\n"
            "      --max-jobs N      exit after taking N messages\n"
            "      --visibility S    seconds a received message stays hidden (default: config, 60)\n"
            "      --poll-wait S     seconds one receive waits for work (default 1)\n"
            "      --grace S         after SIGTERM, seconds in-flight jobs get to finish\n"
            "                        before they are given back (default 30)\n"
            "      --rpm N           generate calls a minute, shared by all threads;\n"
            "                        slows down on throttling, then probes back up\n"
            "      --metrics H:P     serve Prometheus text on http://H:P/metrics\n"
            "      --model M         engine model (default: config, draft)\n"
            "      --config FILE     config file\n"
            "      --log-json        JSON log lines\n"
            "      --log-level L     debug, info, warn or error\n"
            "  -h, --help\n");
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

static worker_thread_t threads[WORKER_MAX_THREADS];
static int threads_open;

/* Slots, their engines (network engines: one per slot, each with its own
 * connection), the stage threads' handles and the driver. */
static int setup(err_t *e)
{
    engine_t *probe = engine_open(W.cfg.model, e);
    if (!probe)
        return -1;
    W.async = engine_is_async(probe);
    engine_close(probe);
    if (!W.async || W.threads == 0)
        W.threads = W.async ? (W.concurrency < 4 ? W.concurrency : 4) : W.concurrency;
    if (W.threads > WORKER_MAX_THREADS)
        W.threads = WORKER_MAX_THREADS;
    if (W.threads > W.concurrency)
        W.threads = W.concurrency;
    /* Beyond the --concurrency generations, a network engine gets slots
     * for --prefetch jobs claimed ahead (a generation that ends is followed
     * at once by the next, not after a receive and a claim), one per stage
     * thread and as many again for jobs generated and waiting to be
     * stored: a slot being finished does not hold up a generation. */
    if (!W.async)
        W.prefetch = 0;
    else if (W.prefetch < 0)
        W.prefetch = W.concurrency / 4 > 1 ? W.concurrency / 4 : 1;
    W.nslots = W.async ? W.concurrency + W.prefetch + 2 * W.threads : W.concurrency;
    if (!(W.slots = calloc((size_t)W.nslots, sizeof *W.slots))) {
        err_set(e, ERR_NOMEM, "out of memory");
        return -1;
    }
    for (int i = 0; i < W.nslots; i++) {
        W.slots[i].index = i;
        job_spec_init(&W.slots[i].spec);
        engine_result_init(&W.slots[i].res);
        if (W.async && !(W.slots[i].engine = engine_open(W.cfg.model, e)))
            return -1;
    }
    for (int i = 0; i < W.threads; i++) {
        threads[i].w = &W;
        threads[i].index = i;
        threads_open = i + 1;
        if (open_thread(&threads[i], e) != 0)
            return -1;
    }
    if (W.async && worker_driver_init(&W, e) != 0)
        return -1;
    return 0;
}

static void teardown(void)
{
    for (int i = 0; i < threads_open; i++)
        close_thread(&threads[i]);
    for (int i = 0; W.slots && i < W.nslots; i++) {
        worker_slot_clear(&W.slots[i]);
        engine_close(W.slots[i].engine);
    }
    free(W.slots);
    worker_driver_close(&W);
    ratelimit_free(W.rl);
    config_free(&W.cfg);
}

static void log_stats(const char *event, double secs)
{
    long ok = atomic_load(&W.n_succeeded);
    log_info(event, "succeeded=%ld failed=%ld filtered=%ld retried=%ld skipped=%ld "
             "elapsed_s=%.2f per_s=%.2f", ok, atomic_load(&W.n_failed),
             atomic_load(&W.n_filtered), atomic_load(&W.n_retried),
             atomic_load(&W.n_skipped), secs, secs > 0 ? ok / secs : 0.0);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"concurrency", required_argument, NULL, 'c'},
        {"threads", required_argument, NULL, 't'},
        {"prefetch", required_argument, NULL, 'f'},
        {"drain", no_argument, NULL, 'd'},
        {"max-jobs", required_argument, NULL, 'm'},
        {"visibility", required_argument, NULL, 'v'},
        {"poll-wait", required_argument, NULL, 'p'},
        {"grace", required_argument, NULL, 'g'},
        {"rpm", required_argument, NULL, 'r'},
        {"metrics", required_argument, NULL, 'P'},
        {"model", required_argument, NULL, 'M'},
        {"config", required_argument, NULL, 'C'},
        {"log-json", no_argument, NULL, 'j'},
        {"log-level", required_argument, NULL, 'L'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL, *model = NULL, *level = NULL;
    bool json = false;
    int opt, vis = 0;
    err_t e;
    char host[64] = "host";

    W.concurrency = 2;
    W.wake_fd = -1;
    W.prefetch = -1;
    W.poll_wait_s = 1;
    W.grace_s = 30;
    while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        char *end;
        long v;
        switch (opt) {
        case 'c': case 't': case 'm': case 'v': case 'p': case 'g': case 'f':
            v = strtol(optarg, &end, 10);
            if (*end || end == optarg ||
                v < (opt == 'm' || opt == 'p' || opt == 'g' || opt == 'f' ? 0 : 1) ||
                v > (opt == 'c' || opt == 'f' ? WORKER_MAX_SLOTS : opt == 't' ? WORKER_MAX_THREADS : 43200)) {
                fprintf(stderr, "onesheet-worker: --%s: bad value \"%s\"\n",
                        opt == 'c' ? "concurrency" : opt == 't' ? "threads"
                        : opt == 'f' ? "prefetch"
                        : opt == 'm' ? "max-jobs" : opt == 'v' ? "visibility"
                        : opt == 'g' ? "grace" : "poll-wait", optarg);
                return EX_USAGE;
            }
            if (opt == 'c') W.concurrency = (int)v;
            else if (opt == 't') W.threads = (int)v;
            else if (opt == 'f') W.prefetch = (int)v;
            else if (opt == 'm') W.max_jobs = v;
            else if (opt == 'v') vis = (int)v;
            else if (opt == 'g') W.grace_s = (int)v;
            else W.poll_wait_s = (int)v;
            break;
        case 'r':
            W.rpm = strtod(optarg, &end);
            if (*end || end == optarg || !(W.rpm > 0) || W.rpm > 1e6) {
                fprintf(stderr, "onesheet-worker: --rpm: bad value \"%s\"\n", optarg);
                return EX_USAGE;
            }
            break;
        case 'P': W.metrics_addr = optarg; break;
        case 'd': W.drain = true; break;
        case 'M': model = optarg; break;
        case 'C': config_path = optarg; break;
        case 'j': json = true; break;
        case 'L': level = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return EX_USAGE;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return EX_USAGE;
    }
    err_clear(&e);
    if (config_load(&W.cfg, config_path, NULL, &e) != ERR_OK ||
        (model && config_set(&W.cfg, "model", model, "--model", &e) != ERR_OK) ||
        (level && config_set(&W.cfg, "log_level", level, "--log-level", &e) != ERR_OK)) {
        fprintf(stderr, "onesheet-worker: %s\n", e.msg);
        config_free(&W.cfg);
        return err_exit_status(e.code);
    }
    log_init("onesheet-worker", (log_level_t)log_level_parse(W.cfg.log_level),
             json || W.cfg.log_json);
    if (config_prepare_state(&W.cfg, &e) != ERR_OK) {
        log_error("config", "error=\"%s\"", e.msg);
        config_free(&W.cfg);
        return err_exit_status(e.code);
    }
    W.visibility_s = vis ? vis : W.cfg.visibility_timeout;
    W.lease_s = W.visibility_s;
    if (getenv("ONESHEET_WORKER_TEST_DELAY_MS"))
        W.test_delay_ms = atol(getenv("ONESHEET_WORKER_TEST_DELAY_MS"));
    gethostname(host, sizeof host - 1);
    snprintf(W.owner_base, sizeof W.owner_base, "%s:%ld", host, (long)getpid());
    pthread_mutex_init(&W.lock, NULL);
    pthread_cond_init(&W.cond, NULL);
    pthread_cond_init(&W.left, NULL);
    /* Images are megabytes: keep such buffers in the heap, where a freed
     * one is reused by the next job, instead of a fresh mmap (and a page
     * fault per 4 KB) every time.  One arena: the main heap honours the trim
     * threshold, and few threads allocate. */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);   /* the most glibc takes */
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_ARENA_MAX, 1);
    pthread_mutex_init(&W.beat_lock, NULL);
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
    log_info("worker_started", "concurrency=%d prefetch=%d threads=%d engine=%s model=%s "
             "visibility_s=%d drain=%d grace_s=%d rpm=%g owner=%s", W.concurrency,
             W.prefetch, W.threads, W.async ? "network" : "local", W.cfg.model, W.visibility_s,
             W.drain, W.grace_s, W.rpm, W.owner_base);
#ifdef HAVE_SYSTEMD
    sd_notify(0, "READY=1\nSTATUS=processing");
    /* WatchdogSec= in the unit: ping from this loop, which stalls only if
     * the process is wedged, at a quarter of the interval. */
    uint64_t wd_usec = 0;
    if (sd_watchdog_enabled(0, &wd_usec) <= 0)
        wd_usec = 0;
    int64_t last_wd = 0, last_status = 0;
#endif
    int64_t t0 = worker_now_ms(), last_stats = t0;
    pthread_t hb, drv, tids[WORKER_MAX_THREADS];
    pthread_create(&hb, NULL, worker_heartbeat_main, &W);
    if (W.async)
        pthread_create(&drv, NULL, worker_driver_main, &W);
    for (int i = 0; i < W.threads; i++)
        pthread_create(&tids[i], NULL, worker_stage_main, &threads[i]);

    /* This thread only watches: signals set W.stop; stage threads also stop
     * the worker for --drain and --max-jobs, and leave once no slot is busy. */
    int done = 0;
    int64_t stop_ms = 0;
    while (done < W.threads) {
        done = 0;
        for (int i = 0; i < W.threads; i++)
            if (threads[i].index < 0 || pthread_tryjoin_np(tids[i], NULL) == 0) {
                threads[i].index = -1;
                done++;
            }
        if (done == W.threads)
            break;
        /* Up to 100 ms; a stage thread that leaves wakes this at once. */
        struct timespec ts = worker_deadline(100);
        pthread_mutex_lock(&W.lock);
        pthread_cond_timedwait(&W.left, &W.lock, &ts);
        pthread_mutex_unlock(&W.lock);
        int64_t now = worker_now_ms();
        if (atomic_load(&W.signalled)) {
            if (!stop_ms) {
                stop_ms = now;
                log_info("stopping", "grace_s=%d in_flight=%d", W.grace_s,
                         worker_jobs_in_flight(&W));
                pthread_mutex_lock(&W.lock);
                pthread_cond_broadcast(&W.cond);
                pthread_mutex_unlock(&W.lock);
#ifdef HAVE_SYSTEMD
                sd_notify(0, "STOPPING=1\nSTATUS=finishing in-flight jobs");
#endif
            } else if (now - stop_ms >= (int64_t)W.grace_s * 1000) {
                /* The grace is over: give back what is still in flight and
                 * leave without joining threads that may be blocked in a
                 * model call; their jobs are no longer theirs. */
                int n = worker_give_back(&W);
                log_stats("worker_stopped", (now - t0) / 1000.0);
                log_info("grace_expired", "given_back=%d", n);
                fflush(stdout);
                fflush(stderr);
                _exit(0);
            }
        }
#ifdef HAVE_SYSTEMD
        if (wd_usec && (now - last_wd) * 4000 >= (int64_t)wd_usec) {
            last_wd = now;
            sd_notify(0, "WATCHDOG=1");
        }
        if (now - last_status >= 5000) {
            last_status = now;
            double secs = (now - t0) / 1000.0;
            sd_notifyf(0, "STATUS=%s: %d in flight, %ld succeeded, %ld failed, %.1f jobs/s",
                       stop_ms ? "stopping" : "processing", worker_jobs_in_flight(&W),
                       atomic_load(&W.n_succeeded), atomic_load(&W.n_failed),
                       secs > 0 ? atomic_load(&W.n_succeeded) / secs : 0.0);
        }
#endif
        if (now - last_stats >= 30000) {
            last_stats = now;
            log_stats("stats", (now - t0) / 1000.0);
        }
    }
#ifdef HAVE_SYSTEMD
    sd_notify(0, "STOPPING=1");
#endif
    atomic_store(&W.stop, true);
    pthread_mutex_lock(&W.lock);
    atomic_store(&W.driver_quit, true);
    pthread_cond_broadcast(&W.left);   /* the heartbeat's wait */
    pthread_mutex_unlock(&W.lock);
    worker_driver_wake(&W);
    if (W.async)
        pthread_join(drv, NULL);
    pthread_join(hb, NULL);
    worker_metrics_stop();
    log_stats("worker_stopped", (worker_now_ms() - t0) / 1000.0);
    teardown();
    config_free(&W.cfg);
    return 0;
}
