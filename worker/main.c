/* onesheet-worker — polls the queue and turns messages into posters.
 * Threads (--concurrency) each own their queue, ledger, store and engine
 * handles; one heartbeat thread keeps in-flight jobs' visibility and leases
 * alive; the main thread watches signals, dead letters and stats. */
#include "worker.h"

#include "log.h"

#include <errno.h>
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
            "  -c, --concurrency N   jobs processed at once (threads; default 2)\n"
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

static void *thread_main(void *arg)
{
    worker_thread_t *t = arg;
    worker_t *w = t->w;
    bool idle = false;

    while (!atomic_load(&w->stop)) {
        queue_msg_t *msgs = NULL;
        size_t n = 0;
        err_t e;
        err_clear(&e);

        if (w->max_jobs && atomic_load(&w->taken) >= w->max_jobs) {
            break;
        }
        if (queue_receive(t->queue, 1, w->visibility_s, w->poll_wait_s, &msgs, &n, &e) !=
            ERR_OK) {
            log_warn("receive_failed", "thread=%d error=\"%s\"", t->index, e.msg);
            usleep(200 * 1000);
            continue;
        }
        if (n == 0) {
            if (!idle) {
                idle = true;
                atomic_fetch_add(&w->idle_threads, 1);
            }
            if (w->drain) {
                queue_stats_t st;
                /* Only when every thread is idle and nothing is visible or
                 * held (also by crashed workers) is the queue drained. */
                if (atomic_load(&w->idle_threads) == w->concurrency &&
                    queue_stats(t->queue, &st, &e) == ERR_OK && st.visible == 0 &&
                    st.inflight == 0 && st.delayed == 0)
                    atomic_store(&w->stop, true);
            }
            worker_note_dead(t);
            continue;
        }
        if (idle) {
            idle = false;
            atomic_fetch_sub(&w->idle_threads, 1);
        }
        for (size_t i = 0; i < n; i++) {
            if (atomic_load(&w->stop)) {
                /* Stopping: a message received meanwhile goes straight back. */
                queue_change_visibility(t->queue, msgs[i].receipt, 0, &e);
                continue;
            }
            long taken = atomic_fetch_add(&w->taken, 1) + 1;
            if (w->max_jobs && taken > w->max_jobs) {
                /* Over the limit: hand it straight back. */
                queue_change_visibility(t->queue, msgs[i].receipt, 0, &e);
                continue;
            }
            worker_process(t, &msgs[i]);
        }
        queue_msgs_free(msgs, n);
    }
    return NULL;
}

/* Extends the message's visibility and the ledger lease of every in-flight
 * job a third of the way into its lease, so a slow generation is not
 * mistaken for a crashed one.  A lease found lost is flagged and no longer
 * extended; the job's own thread then learns it from the conditional
 * completion. */
void *worker_heartbeat_main(void *arg)
{
    worker_t *w = arg;
    err_t e;
    queue_t *q = queue_open(w->cfg.queue, &e);
    ledger_t *l = q ? ledger_open(w->cfg.ledger, &e) : NULL;

    if (!q || !l) {
        log_error("heartbeat_open_failed", "error=\"%s\"", e.msg);
        queue_close(q);
        return NULL;
    }
    queue_apply_max_receives(q, w->cfg.queue, w->cfg.max_receives);
    while (!atomic_load(&w->stop) || atomic_load(&w->idle_threads) < w->concurrency) {
        int64_t now = worker_now_ms();
        for (int i = 0; i < w->concurrency; i++) {
            inflight_t f;
            pthread_mutex_lock(&w->lock);
            f = w->inflight[i];
            pthread_mutex_unlock(&w->lock);
            if (!f.active || f.lease_lost || now < f.next_beat_ms)
                continue;
            /* Under beat_lock a job given back at shutdown is seen as such,
             * so no heartbeat hides its message again after give-back. */
            pthread_mutex_lock(&w->beat_lock);
            pthread_mutex_lock(&w->lock);
            bool still = w->inflight[i].active && strcmp(w->inflight[i].job_id, f.job_id) == 0;
            pthread_mutex_unlock(&w->lock);
            if (!still) {
                pthread_mutex_unlock(&w->beat_lock);
                continue;
            }
            err_clear(&e);
            bool lost = l->ops->extend(l, f.batch_id, f.job_id, f.owner, w->lease_s, &e) ==
                        ERR_CONFLICT;
            if (!lost) {
                err_clear(&e);
                queue_change_visibility(q, f.receipt, w->visibility_s, &e);
            }
            pthread_mutex_unlock(&w->beat_lock);
            pthread_mutex_lock(&w->lock);
            inflight_t *g = &w->inflight[i];
            if (g->active && strcmp(g->job_id, f.job_id) == 0 &&
                strcmp(g->batch_id, f.batch_id) == 0) {
                g->lease_lost = lost;
                g->next_beat_ms = now + (int64_t)w->lease_s * 1000 / 3;
            }
            pthread_mutex_unlock(&w->lock);
            if (lost)
                log_warn("lease_lost", "batch=%s job=%s", f.batch_id, f.job_id);
            else
                log_debug("heartbeat", "batch=%s job=%s", f.batch_id, f.job_id);
        }
        if (atomic_load(&w->stop) && atomic_load(&w->idle_threads) >= w->concurrency)
            break;
        usleep(200 * 1000);
    }
    queue_close(q);
    ledger_close(l);
    return NULL;
}

static int open_thread(worker_thread_t *t, err_t *e)
{
    worker_t *w = t->w;
    snprintf(t->owner, sizeof t->owner, "%s:%d", w->owner_base, t->index);
    if (!(t->queue = queue_open(w->cfg.queue, e)) ||
        !(t->ledger = ledger_open(w->cfg.ledger, e)) ||
        !(t->store = store_open(w->cfg.store, e)) ||
        !(t->engine = engine_open(w->cfg.model, e)) ||
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
    W.poll_wait_s = 1;
    W.grace_s = 30;
    while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        char *end;
        long v;
        switch (opt) {
        case 'c': case 'm': case 'v': case 'p': case 'g':
            v = strtol(optarg, &end, 10);
            if (*end || end == optarg || v < (opt == 'm' || opt == 'p' || opt == 'g' ? 0 : 1) ||
                v > (opt == 'c' ? WORKER_MAX_THREADS : 43200)) {
                fprintf(stderr, "onesheet-worker: --%s: bad value \"%s\"\n",
                        opt == 'c' ? "concurrency" : opt == 'm' ? "max-jobs"
                        : opt == 'v' ? "visibility" : opt == 'g' ? "grace" : "poll-wait",
                        optarg);
                return EX_USAGE;
            }
            if (opt == 'c') W.concurrency = (int)v;
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

    worker_thread_t threads[WORKER_MAX_THREADS];
    pthread_t tids[WORKER_MAX_THREADS], hb;
    memset(threads, 0, sizeof threads);
    for (int i = 0; i < W.concurrency; i++) {
        threads[i].w = &W;
        threads[i].index = i;
        if (open_thread(&threads[i], &e) != 0) {
            log_error("open_failed", "error=\"%s\"", e.msg);
            for (int j = 0; j <= i; j++)
                close_thread(&threads[j]);
            config_free(&W.cfg);
            return err_exit_status(e.code);
        }
    }
    if (W.metrics_addr && worker_metrics_start(&W, &e) != 0) {
        log_error("metrics_failed", "error=\"%s\"", e.msg);
        for (int i = 0; i < W.concurrency; i++)
            close_thread(&threads[i]);
        ratelimit_free(W.rl);
        config_free(&W.cfg);
        return err_exit_status(e.code);
    }
    log_info("worker_started", "concurrency=%d model=%s visibility_s=%d drain=%d grace_s=%d "
             "rpm=%g owner=%s", W.concurrency, W.cfg.model, W.visibility_s, W.drain,
             W.grace_s, W.rpm, W.owner_base);
#ifdef HAVE_SYSTEMD
    sd_notify(0, "READY=1\nSTATUS=processing");
    /* WatchdogSec= in the unit: ping from this loop, which stalls only if
     * the process is wedged, at a quarter of the interval. */
    uint64_t wd_usec = 0;
    if (sd_watchdog_enabled(0, &wd_usec) <= 0)
        wd_usec = 0;
    int64_t last_wd = 0;
#endif
    int64_t t0 = worker_now_ms(), last_stats = t0;
    pthread_create(&hb, NULL, worker_heartbeat_main, &W);
    for (int i = 0; i < W.concurrency; i++)
        pthread_create(&tids[i], NULL, thread_main, &threads[i]);

    /* The main thread only watches: signals set W.stop; threads also stop
     * themselves for --drain and --max-jobs. */
    int done = 0;
    int64_t stop_ms = 0;
    while (done < W.concurrency) {
        done = 0;
        for (int i = 0; i < W.concurrency; i++)
            if (threads[i].index < 0 || pthread_tryjoin_np(tids[i], NULL) == 0) {
                threads[i].index = -1;
                done++;
            }
        if (done == W.concurrency)
            break;
        usleep(100 * 1000);
        int64_t now = worker_now_ms();
        if (atomic_load(&W.signalled)) {
            if (!stop_ms) {
                stop_ms = now;
                log_info("stopping", "grace_s=%d", W.grace_s);
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
    atomic_store(&W.idle_threads, W.concurrency);
    pthread_join(hb, NULL);
    worker_metrics_stop();
    ratelimit_free(W.rl);
    for (int i = 0; i < W.concurrency; i++)
        close_thread(&threads[i]);
    log_stats("worker_stopped", (worker_now_ms() - t0) / 1000.0);
    config_free(&W.cfg);
    return 0;
}
