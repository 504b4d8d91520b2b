/* status and list — what the ledger knows, as a table or JSON lines. */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

/* The BATCH column is as wide as its longest id (a campaign's ids are
 * longer than submit's), at least 18, so the counts stay aligned. */
static int batch_width(const ledger_batch_t *bs, size_t n)
{
    size_t w = 18;
    for (size_t i = 0; i < n; i++)
        if (bs[i].batch_id && strlen(bs[i].batch_id) > w)
            w = strlen(bs[i].batch_id);
    return w > 200 ? 200 : (int)w;
}

static void print_batch_row(const ledger_batch_t *b, int w)
{
    char src[64];
    printf("%-*s %s %6lld", w, b->batch_id, cli_ellipsize(b->source, 30, src, sizeof src),
           (long long)b->total);
    for (int s = 0; s < JOB__NSTATES; s++)
        printf(" %9lld", (long long)b->by_state[s]);
    printf("\n");
}

static void print_batch_header(int w)
{
    printf("%-*s %-30s %6s", w, "BATCH", "SOURCE", "JOBS");
    for (int s = 0; s < JOB__NSTATES; s++)
        printf(" %9s", job_state_name((job_state_t)s));
    printf("\n");
}

static json_t *batch_json(const ledger_batch_t *b)
{
    json_t *o = json_object(), *c = json_object();
    json_object_set_new(o, "batch", json_string(b->batch_id));
    json_object_set_new(o, "source", json_string(b->source ? b->source : ""));
    json_object_set_new(o, "created_ms", json_integer(b->created_ms));
    json_object_set_new(o, "jobs", json_integer(b->total));
    for (int s = 0; s < JOB__NSTATES; s++)
        json_object_set_new(c, job_state_name((job_state_t)s), json_integer(b->by_state[s]));
    json_object_set_new(o, "states", c);
    return o;
}

static void print_job_header(int w)
{
    printf("%-*s %-10s %3s  %-44s  %s\n", w, "JOB", "STATE", "TRY", "PROMPT", "RESULT");
}

/* One job a line, its id in a column w wide; its review mark (r, may be
 * NULL) and its place among its prompt's variants follow the result. */
static void print_job_row(const ledger_job_t *j, const ledger_review_t *r, int w)
{
    char p[200], v[JOB_ID_MAX + 32];
    const char *result = j->url ? j->url : j->error_message ? j->error_message : "";
    printf("%-*s %-10s %3d  %s  %s%s%s", w, j->job_id, job_state_name(j->state),
           j->attempts, cli_ellipsize(cli_job_prompt(j), 44, p, sizeof p),
           j->error_code && !j->url ? j->error_code : "", j->error_code && !j->url ? ": " : "",
           result);
    if (r && r->state)
        printf("  [%s by %s]", r->state, CLI_SHOWN(r->by ? r->by : ""));
    if (*cli_variant_label(j, v, sizeof v))
        printf("  (%s)", v);
    if (r && r->promoted_from)
        printf("  promoted from %s", r->promoted_from);
    for (size_t i = 0; r && i < r->npromoted_to; i++)
        printf("%s%s", i ? ", " : "  promoted to ", r->promoted_to[i]);
    printf("\n");
}

/* Prints jobs, with their review marks; with only_approved, only the
 * approved ones (list --approved).  Returns how many it printed. */
static size_t print_jobs(cli_t *cli, ledger_job_t *jobs, size_t n, bool json,
                         bool only_approved)
{
    cli_reviews_t marks = {0};
    bool header = false;
    size_t w = 24, shown = 0;   /* the JOB column: as wide as its longest id */
    for (size_t i = 0; i < n; i++)
        if (jobs[i].job_id && strlen(jobs[i].job_id) > w)
            w = strlen(jobs[i].job_id);
    if (w > 200)
        w = 200;

    for (size_t i = 0; i < n; i++) {
        const ledger_review_t *r = cli_review_for(cli, &marks, &jobs[i]);
        if (only_approved && !(r && r->state && strcmp(r->state, LEDGER_APPROVED) == 0))
            continue;
        if (json) {
            json_t *o = cli_job_json(&jobs[i]), *rd = cli_job_renditions(cli, &jobs[i]);
            if (rd)
                json_object_set_new(o, "renditions", rd);
            ledger_review_json_add(o, r, jobs[i].spec_json);
            cli_print_json(o);
            json_decref(o);
        } else {
            if (!header)
                print_job_header((int)w);
            header = true;
            print_job_row(&jobs[i], r, (int)w);
        }
        shown++;
    }
    cli_reviews_free(&marks);
    return shown;
}

/* Formats unix ms as ISO 8601 UTC into out ("-" for 0). */
static const char *iso_time(int64_t ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!ms || !gmtime_r(&t, &tm) || !strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, cap, "-");
    return out;
}

static void print_run(int run, job_state_t state, int64_t started, int64_t finished,
                      const char *code, const char *msg, bool current)
{
    char when[32];
    printf("  run %-3d %-10s %-20s %s%s%s%s\n", run, job_state_name(state),
           iso_time(finished ? finished : started, when, sizeof when), code ? code : "",
           code && msg ? ": " : "", msg ? msg : "", current ? "  (current)" : "");
}

/* A job's runs, oldest first, after a retry (a job never retried has one:
 * the row above says it all). */
static void print_runs(const ledger_job_t *j)
{
    if (!j->nhistory)
        return;
    printf("runs of %s/%s:\n", j->batch_id, j->job_id);
    for (size_t i = 0; i < j->nhistory; i++) {
        const ledger_attempt_t *h = &j->history[i];
        print_run(h->run, h->state, h->started_ms, h->finished_ms, h->error_code,
                  h->error_message, false);
    }
    print_run(j->run, j->state, j->started_ms, j->finished_ms, j->error_code,
              j->error_message, true);
}

int cmd_status(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    bool json = false;
    int opt, rc, status = 0;
    char said[256] = "";     /* cli_warn_no_worker: once per command */
    err_t e;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (opt == 'j')
            json = true;
        else if (opt == 'h') {
            printf("usage: onesheet status [JOB|BATCH ...] [--json]\n");
            return 0;
        } else
            return EX_USAGE;
    }
    if ((rc = cli_open(cli, CLI_LEDGER)) != 0)
        return rc;
    err_clear(&e);
    if (optind == argc) {
        ledger_batch_t *bs = NULL;
        size_t n = 0;
        if (ledger_list_batches(cli->ledger, 0, &bs, &n, &e) != ERR_OK)
            return cli_fail(cli, &e);
        if (!json && n)
            print_batch_header(batch_width(bs, n));
        for (size_t i = 0; i < n; i++) {
            if (json) {
                json_t *o = batch_json(&bs[i]);
                cli_print_json(o);
                json_decref(o);
            } else {
                print_batch_row(&bs[i], batch_width(bs, n));
            }
        }
        if (n == 0)
            printf(json ? "[]\n" : "no batches yet in %s (onesheet submit FILE)\n",
                   cli_searched(cli));
        ledger_batches_free(bs, n);
        return 0;
    }
    for (int i = optind; i < argc; i++) {
        ledger_batch_t b;
        memset(&b, 0, sizeof b);
        err_clear(&e);
        if (ledger_get_batch(cli->ledger, argv[i], &b, &e) == ERR_OK) {
            ledger_filter_t f = {.batch_id = argv[i], .state = -1};
            ledger_job_t *jobs = NULL;
            size_t n = 0;
            if (json) {
                json_t *o = batch_json(&b);
                cli_webhook_json(cli, b.batch_id, o);
                cli_print_json(o);
                json_decref(o);
            } else {
                print_batch_header(batch_width(&b, 1));
                print_batch_row(&b, batch_width(&b, 1));
                cli_webhook_print(cli, b.batch_id);
                printf("\n");
            }
            if (ledger_list(cli->ledger, &f, &jobs, &n, &e) != ERR_OK) {
                ledger_batch_free(&b);
                return cli_fail(cli, &e);
            }
            cli_variant_sort(jobs, n);
            print_jobs(cli, jobs, n, json, false);
            ledger_jobs_free(jobs, n);
            ledger_batch_free(&b);
            cli_warn_no_worker(cli, argv[i], said, sizeof said);
            continue;
        }
        if (e.code != ERR_NOTFOUND)
            return cli_fail(cli, &e);
        ledger_job_t *jobs = NULL;
        size_t n = 0;
        err_clear(&e);
        if (ledger_get_jobs(cli->ledger, NULL, argv[i], &jobs, &n, &e) != ERR_OK)
            return cli_fail(cli, &e);
        if (n == 0) {
            fprintf(stderr, "%s: %s: no such job or batch in %s\n", cli->prog,
                    CLI_SHOWN(argv[i]), CLI_SHOWN(cli_searched(cli)));
            status = EX_DATAERR;
            continue;
        }
        print_jobs(cli, jobs, n, json, false);
        for (size_t k = 0; !json && k < n; k++)
            print_runs(&jobs[k]);
        for (size_t j = 0; j < n; j++)
            if (!job_state_terminal(jobs[j].state))
                cli_warn_no_worker(cli, jobs[j].batch_id, said, sizeof said);
        ledger_jobs_free(jobs, n);
    }
    return status;
}

/* Parses --since: seconds since the epoch, an ISO 8601 UTC time
 * (2026-11-25T09:00:00Z or a date), or a relative age like 30m, 2h, 1d. */
static int parse_since(const char *s, int64_t *ms)
{
    struct tm tm;
    char *end;
    long long v = strtoll(s, &end, 10);

    memset(&tm, 0, sizeof tm);
    if (end != s && *end && !end[1] && strchr("smhd", *end) && v >= 0) {
        long long mult = *end == 's' ? 1 : *end == 'm' ? 60 : *end == 'h' ? 3600 : 86400;
        *ms = ((int64_t)time(NULL) - v * mult) * 1000;
        return 0;
    }
    if (end != s && !*end && v >= 0) {
        *ms = (int64_t)v * 1000;
        return 0;
    }
    end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!end || *end) {
        memset(&tm, 0, sizeof tm);
        end = strptime(s, "%Y-%m-%d", &tm);
        if (!end || *end)
            return -1;
    }
    *ms = (int64_t)timegm(&tm) * 1000;
    return 0;
}

int cmd_list(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"state", required_argument, NULL, 's'}, {"since", required_argument, NULL, 'S'},
        {"batch", required_argument, NULL, 'b'}, {"limit", required_argument, NULL, 'l'},
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'},
        {"approved", no_argument, NULL, 'A'}, {NULL, 0, NULL, 0}};
    ledger_filter_t f = {.state = -1};
    bool json = false, approved = false;
    int opt, rc;
    err_t e;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 's':
            if ((f.state = job_state_parse(optarg)) < 0) {
                fprintf(stderr, "%s: --state: expected queued, running, succeeded, failed, "
                        "filtered or cancelled, got \"%s\"\n", cli->prog, optarg);
                return EX_USAGE;
            }
            break;
        case 'S':
            if (parse_since(optarg, &f.since_ms) != 0) {
                fprintf(stderr, "%s: --since: expected a time like 2026-11-25T09:00:00Z, "
                        "2026-11-25, or an age like 2h, got \"%s\"\n", cli->prog, optarg);
                return EX_USAGE;
            }
            break;
        case 'b': f.batch_id = optarg; break;
        case 'l': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 1 || v > 10000000) {
                fprintf(stderr, "%s: --limit: expected a whole number from 1 to 10000000, "
                        "got \"%s\"\n", cli->prog, CLI_SHOWN(optarg));
                return EX_USAGE;
            }
            f.limit = (size_t)v;
            break;
        }
        case 'j': json = true; break;
        case 'A': approved = true; break;
        case 'h':
            printf("usage: onesheet list [--state S] [--since T] [--batch B] [--limit N] "
                   "[--approved] [--json]\n");
            return 0;
        default: return EX_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "%s: unexpected argument \"%s\"\n", cli->prog,
                CLI_SHOWN(argv[optind]));
        return EX_USAGE;
    }
    if ((rc = cli_open(cli, CLI_LEDGER)) != 0)
        return rc;
    ledger_job_t *jobs = NULL;
    size_t n = 0;
    err_clear(&e);
    if (ledger_list(cli->ledger, &f, &jobs, &n, &e) != ERR_OK)
        return cli_fail(cli, &e);
    if (print_jobs(cli, jobs, n, json, approved) == 0)
        printf(json ? "[]\n" : "no jobs match in %s\n", CLI_SHOWN(cli_searched(cli)));
    ledger_jobs_free(jobs, n);
    return 0;
}
