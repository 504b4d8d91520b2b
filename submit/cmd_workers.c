/* workers — the worker registry (worker liveness): `onesheet workers`
 * lists the workers the ledger knows, alive or stale, and
 * cli_warn_no_worker() tells `status`, `wait` and `submit --wait` when no
 * live worker serves the models a batch's unfinished jobs name. */
#include "cli.h"

#include "engine/engine_serves.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

/* Models are compared by what a worker serves, so a batch with thousands of
 * jobs still names only a few; more than this are not all reported. */
#define MAX_MODELS 16

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "12s", "5m", "3h", "2d": how long ago ms was. */
static const char *ago(int64_t now, int64_t ms, char *out, size_t cap)
{
    int64_t s = (now - ms) / 1000;
    if (s < 0)
        s = 0;
    if (s < 120)
        snprintf(out, cap, "%llds", (long long)s);
    else if (s < 7200)
        snprintf(out, cap, "%lldm", (long long)(s / 60));
    else if (s < 172800)
        snprintf(out, cap, "%lldh", (long long)(s / 3600));
    else
        snprintf(out, cap, "%lldd", (long long)(s / 86400));
    return out;
}

static void print_table(const ledger_worker_t *w, size_t n, int64_t now)
{
    char seen[16], up[16], id[40], models[40];
    printf("%-36s %-8s %-7s %-36s %6s %6s %8s %6s %8s %s\n", "WORKER", "PID", "VERSION",
           "MODELS", "UP", "SEEN", "INFLIGHT", "DONE", "RATE/MIN", "STATE");
    for (size_t i = 0; i < n; i++)
        printf("%s %-8lld %-7s %s %6s %6s %8lld %6lld %8.1f %s\n",
               cli_ellipsize(w[i].id, 36, id, sizeof id), (long long)w[i].pid,
               w[i].version ? w[i].version : "", cli_ellipsize(w[i].models, 36, models,
                                                               sizeof models),
               ago(now, w[i].started_ms, up, sizeof up), ago(now, w[i].last_seen_ms, seen,
                                                             sizeof seen),
               (long long)w[i].in_flight, (long long)w[i].done, w[i].rate_per_min,
               ledger_worker_alive(&w[i], now) ? "alive" : "stale");
}

int cmd_workers(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    bool json = false;
    int opt, rc;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'j': json = true; break;
        case 'h':
            printf("usage: onesheet workers [--json]\n"
                   "  the workers the ledger knows: each registers when it starts, beats\n"
                   "  every few seconds (onesheet-worker --beat-interval) and leaves when it\n"
                   "  stops cleanly; one that missed 3 beats is stale (killed, or hung)\n"
                   "  --json  one JSON object a line\n");
            return 0;
        default: return EX_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "usage: onesheet workers [--json]\n");
        return EX_USAGE;
    }
    if ((rc = cli_open(cli, CLI_LEDGER)) != 0)
        return rc;
    ledger_worker_t *w = NULL;
    size_t n = 0;
    int64_t now = wall_ms();
    err_t e;
    err_clear(&e);
    if (ledger_workers_list(cli->ledger, now, &w, &n, &e) != ERR_OK)
        return cli_fail(cli, &e);
    if (json) {
        for (size_t i = 0; i < n; i++) {
            json_t *o = engine_worker_json(&w[i], now);
            if (o)
                cli_print_json(o);
            json_decref(o);
        }
    } else if (n) {
        print_table(w, n, now);
    } else {
        printf("no workers registered (start one: onesheet-worker)\n");
    }
    cli_print_quotas(cli, json, now);
    ledger_workers_free(w, n);
    return 0;
}

/* The distinct models named by the unfinished jobs of batch_id ("" for a
 * job naming none) into models (new strings), with their job counts. */
static size_t list_models(cli_t *cli, const char *batch_id, char **models, size_t *counts)
{
    ledger_filter_t f = {.batch_id = batch_id, .state = -1};
    ledger_job_t *jobs = NULL;
    size_t n = 0, k = 0;
    err_t e;
    err_clear(&e);
    if (ledger_list(cli->ledger, &f, &jobs, &n, &e) != ERR_OK)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (job_state_terminal(jobs[i].state))
            continue;
        json_t *spec = jobs[i].spec_json ? json_loads(jobs[i].spec_json, 0, NULL) : NULL;
        const char *m = spec ? json_string_value(json_object_get(spec, "model")) : NULL;
        size_t j = 0;
        while (j < k && strcmp(models[j], m ? m : "") != 0)
            j++;
        if (j == k && k < MAX_MODELS && (models[k] = strdup(m ? m : "")))
            counts[k++] = 0;
        if (j < k)
            counts[j]++;
        json_decref(spec);
    }
    ledger_jobs_free(jobs, n);
    return k;
}

/* Reading every job of a big batch (DynamoDB: all its items) each time a
 * wait looks at the registry would cost more than the wait: the models are
 * read again only after MODELS_TTL_S, since they only change as jobs
 * finish.  One cache: a command follows one batch at a time. */
#define MODELS_TTL_S 60
static struct {
    char batch[JOB_ID_MAX + 1];
    char *models[MAX_MODELS];
    size_t counts[MAX_MODELS], n;
    int64_t at_ms;
} cache;

/* The cached models of batch_id (borrowed), read again when stale. */
static size_t unfinished_models(cli_t *cli, const char *batch_id, int64_t now,
                                char ***models, size_t **counts)
{
    if (strcmp(cache.batch, batch_id) != 0 || now - cache.at_ms >= MODELS_TTL_S * 1000) {
        for (size_t i = 0; i < cache.n; i++)
            free(cache.models[i]);
        cache.n = list_models(cli, batch_id, cache.models, cache.counts);
        snprintf(cache.batch, sizeof cache.batch, "%s", batch_id);
        cache.at_ms = now;
    }
    *models = cache.models;
    *counts = cache.counts;
    return cache.n;
}

void cli_warn_no_worker(cli_t *cli, const char *batch_id, char *said, size_t said_cap)
{
    char **models, msg[1024] = "", when[64], ago_s[16];
    size_t *counts, len = 0;
    ledger_worker_t *w = NULL;
    size_t nw = 0;
    int64_t now = wall_ms();
    err_t e;

    if (!cli->ledger || !ledger_has_workers(cli->ledger))
        return;
    size_t k = unfinished_models(cli, batch_id, now, &models, &counts);
    err_clear(&e);
    if (k && ledger_workers_list(cli->ledger, now, &w, &nw, &e) == ERR_OK) {
        for (size_t i = 0; i < k; i++) {
            int alive;
            int64_t seen;
            engine_workers_for(w, nw, models[i], now, &alive, &seen);
            if (alive)
                continue;
            if (seen)
                snprintf(when, sizeof when, "last seen %s ago", ago(now, seen, ago_s,
                                                                  sizeof ago_s));
            else
                snprintf(when, sizeof when, "none seen");
            int r;
            if (*models[i])
                r = snprintf(msg + len, sizeof msg - len, "%s: warning: no worker serves "
                             "model %s (%s); %zu job%s of %s wait for it; start one: "
                             "onesheet-worker --models %s\n", cli->prog, models[i], when,
                             counts[i], counts[i] == 1 ? "" : "s", batch_id, models[i]);
            else
                r = snprintf(msg + len, sizeof msg - len, "%s: warning: no worker is "
                             "running (%s); %zu job%s of %s wait; start one: "
                             "onesheet-worker\n", cli->prog, when, counts[i],
                             counts[i] == 1 ? "" : "s", batch_id);
            if (r > 0 && (size_t)r < sizeof msg - len)
                len += (size_t)r;
        }
    }
    ledger_workers_free(w, nw);
    /* Once per command, and again only when the news changes: compared
     * without the counts and times, which move while waiting. */
    char key[256] = "";
    size_t kl = 0;
    for (const char *p = msg; *p && kl + 1 < sizeof key; p++)
        if (*p == '(') {
            while (*p && *p != ')')
                p++;
            if (!*p)
                break;
        } else if (*p < '0' || *p > '9') {
            key[kl++] = *p;
        }
    key[kl] = '\0';
    if (strcmp(key, said) == 0)
        return;
    snprintf(said, said_cap, "%s", key);
    if (cli_tty(STDERR_FILENO))
        fputs("\r\033[K", stderr);   /* over a progress bar's line */
    fputs(msg, stderr);
}
