/* wait — follow a batch to the end: a progress bar on a terminal, one plain
 * line per change otherwise, then the results manifest (cli_manifest.c). */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

/* How often a wait asks the worker registry whether anyone serves the
 * batch's models. */
#define WORKER_CHECK_S 5.0

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int64_t done_count(const ledger_batch_t *b)
{
    return b->by_state[JOB_SUCCEEDED] + b->by_state[JOB_FAILED] +
           b->by_state[JOB_FILTERED] + b->by_state[JOB_CANCELLED];
}

static void progress(const ledger_batch_t *b, bool tty, double elapsed)
{
    int64_t done = done_count(b);
    if (tty) {
        int width = 30, fill = b->total ? (int)(done * width / b->total) : width;
        char bar[64];
        for (int i = 0; i < width; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        fprintf(stderr, "\r[%s] %lld/%lld done  ok %lld  failed %lld  filtered %lld  "
                "running %lld  %.0fs ", bar, (long long)done, (long long)b->total,
                (long long)b->by_state[JOB_SUCCEEDED], (long long)b->by_state[JOB_FAILED],
                (long long)b->by_state[JOB_FILTERED], (long long)b->by_state[JOB_RUNNING],
                elapsed);
    } else {
        fprintf(stderr, "%s: %lld/%lld done (succeeded %lld, failed %lld, filtered %lld, "
                "cancelled %lld, running %lld, queued %lld)\n", b->batch_id,
                (long long)done, (long long)b->total, (long long)b->by_state[JOB_SUCCEEDED],
                (long long)b->by_state[JOB_FAILED], (long long)b->by_state[JOB_FILTERED],
                (long long)b->by_state[JOB_CANCELLED], (long long)b->by_state[JOB_RUNNING],
                (long long)b->by_state[JOB_QUEUED]);
    }
}

int cli_wait_batch(cli_t *cli, const char *batch_id, const char *output, double timeout_s,
                   bool json)
{
    bool tty = cli_tty(STDERR_FILENO);
    double t0 = now_s();
    int64_t last_done = -1, last_running = -1;
    double last_check = -1e9;
    char said[256] = "";     /* cli_warn_no_worker: again only on news */
    ledger_batch_t b;
    err_t e;

    for (;;) {
        memset(&b, 0, sizeof b);
        err_clear(&e);
        if (ledger_get_batch(cli->ledger, batch_id, &b, &e) != ERR_OK) {
            if (e.code == ERR_NOTFOUND)
                err_set(&e, ERR_NOTFOUND, "%s: no such batch in %s", batch_id,
                        cli_searched(cli));
            return cli_fail(cli, &e);
        }
        int64_t done = done_count(&b);
        if (tty || done != last_done || b.by_state[JOB_RUNNING] != last_running)
            progress(&b, tty, now_s() - t0);
        last_done = done;
        last_running = b.by_state[JOB_RUNNING];
        if (done == b.total)
            break;
        /* Workers come and go while waiting: look every few seconds. */
        if (now_s() - last_check >= WORKER_CHECK_S) {
            last_check = now_s();
            cli_warn_no_worker(cli, batch_id, said, sizeof said);
        }
        if (timeout_s > 0 && now_s() - t0 >= timeout_s) {
            if (tty)
                fputc('\n', stderr);
            fprintf(stderr, "%s: timed out after %.0fs with %lld of %lld jobs done\n",
                    cli->prog, timeout_s, (long long)done, (long long)b.total);
            ledger_batch_free(&b);
            if (output)
                cli_write_manifest(cli, batch_id, output);
            return EX_TEMPFAIL;
        }
        ledger_batch_free(&b);
        usleep(tty ? 250000 : 500000);
    }
    if (tty)
        fputc('\n', stderr);
    int rc = b.by_state[JOB_SUCCEEDED] == b.total ? 0 : 1;
    if (json) {
        printf("{\"batch\":\"%s\",\"jobs\":%lld,\"succeeded\":%lld,\"failed\":%lld,"
               "\"filtered\":%lld,\"cancelled\":%lld}\n", batch_id, (long long)b.total,
               (long long)b.by_state[JOB_SUCCEEDED], (long long)b.by_state[JOB_FAILED],
               (long long)b.by_state[JOB_FILTERED], (long long)b.by_state[JOB_CANCELLED]);
    }
    ledger_batch_free(&b);
    if (output) {
        int wrc = cli_write_manifest(cli, batch_id, output);
        if (wrc)
            return wrc;
    }
    return rc;
}

int cmd_wait(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'}, {"timeout", required_argument, NULL, 't'},
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *output = NULL;
    double timeout = 0;
    bool json = false;
    int opt, rc;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'o': output = optarg; break;
        case 't': {
            char *end;
            timeout = strtod(optarg, &end);
            if (end == optarg || *end || !(timeout > 0) || timeout > 31536000) {
                fprintf(stderr, "%s: --timeout: expected seconds above 0 and up to 31536000, "
                        "got \"%s\"\n", cli->prog, CLI_SHOWN(optarg));
                return EX_USAGE;
            }
            break;
        }
        case 'j': json = true; break;
        case 'h':
            printf("usage: onesheet wait BATCH [-o|--output FILE|-] [--timeout S] [--json]\n"
                   "  --output writes the results manifest: CSV when FILE ends in .csv\n"
                   "  (line, id, the spec's fields, tags.KEY columns, state, url, error,\n"
                   "  attempts), else JSONL (line, id, batch, tags, state, url, error,\n"
                   "  attempts); - is JSONL on stdout\n"
                   "exit status: 0 all succeeded, 1 some failed/filtered/cancelled, "
                   "75 timed out\n");
            return 0;
        default: return EX_USAGE;
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "usage: onesheet wait BATCH [--output FILE] [--timeout S]\n");
        return EX_USAGE;
    }
    if ((rc = cli_open(cli, CLI_LEDGER)) != 0)
        return rc;
    return cli_wait_batch(cli, argv[optind], output, timeout, json);
}
