/* retry — re-run failed, cancelled, filtered or dead-lettered jobs under
 * their same ids (issue 17, item 1).
 *
 *   onesheet retry BATCH|JOB ... [--state S[,S...]] [--dry-run] [--json]
 *                  [--budget USD]
 *
 * Every id is resolved and every selected job priced before anything is
 * changed, so an unknown id (65), a bad state name (64) or an estimate over
 * --budget (65) changes nothing.  The work itself is common/jobs/job_retry.c,
 * which the API shares.
 *
 * --json prints one object:
 *   {"dry_run": false, "states": ["failed"], "selected": N, "retried": N,
 *    "enqueued": N, "estimated_usd": X,
 *    "batches": [{"batch": ID, "job": ID|null, "selected": N, "retried": N,
 *                 "enqueued": N, "estimated_usd": X}, ...]}
 * estimated_usd is null when a selected job's model has no price. */
#include "cli.h"
#include "jobs/job_retry.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

/* The option values that take a number, with the range the error names. */
static const struct {
    const char *name, *what;
    double min, max;
} budget_range = {"--budget", "a number of USD", 0, 1e9};

struct retry_opts {
    unsigned states;
    const char *states_arg;
    bool dry, json;
    double budget;          /* USD; -1 when not given */
};

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: onesheet retry BATCH|JOB ... [--state S[,S...]] [--dry-run] [--json]\n"
            "                      [--budget USD]\n"
            "Re-queues finished jobs under their same ids as a new run; `status JOB`\n"
            "shows every run.\n"
            "  --state S,...   which jobs: " JOB_RETRY_STATE_NAMES " (default failed;\n"
            "                  failed includes dead-lettered jobs, dead is only those:\n"
            "                  the redrive)\n"
            "  --dry-run       change nothing; list what would be retried and its cost\n"
            "  --json          one JSON object with the counts\n"
            "  --budget USD    refuse (change nothing) when the estimate is over USD\n");
}

/* Returns -1 to run, else the exit status (after printing). */
static int parse(cli_t *cli, int argc, char **argv, struct retry_opts *o)
{
    static const struct option opts[] = {
        {"state", required_argument, NULL, 's'}, {"dry-run", no_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'}, {"budget", required_argument, NULL, 'B'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int opt;
    err_t e;

    *o = (struct retry_opts){.states = LEDGER_RETRY_FAILED, .states_arg = "failed",
                             .budget = -1};
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 's':
            err_clear(&e);
            if (job_retry_states_parse(optarg, &o->states, &e) != ERR_OK) {
                fprintf(stderr, "%s: %s\n", cli->prog, CLI_SHOWN(e.msg));
                return EX_USAGE;
            }
            o->states_arg = optarg;
            break;
        case 'n': o->dry = true; break;
        case 'j': o->json = true; break;
        case 'B': {
            char *end;
            errno = 0;
            double v = strtod(optarg, &end);
            if (errno || *end || end == optarg || !(v >= budget_range.min &&
                                                    v <= budget_range.max)) {
                fprintf(stderr, "%s: %s: expected %s from %.15g to %.15g, got \"%s\"\n",
                        cli->prog, budget_range.name, budget_range.what, budget_range.min,
                        budget_range.max, optarg);
                return EX_USAGE;
            }
            o->budget = v;
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return EX_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "%s: name at least one BATCH or JOB\n", cli->prog);
        usage(stderr);
        return EX_USAGE;
    }
    return -1;
}

/* Every target of every id, or the exit status after printing (an unknown
 * id is 65, after all ids were tried, so every unknown one is named). */
static int resolve_all(cli_t *cli, char **ids, int nids, job_retry_target_t **out, size_t *n)
{
    int status = 0;
    err_t e;

    *out = NULL;
    *n = 0;
    for (int i = 0; i < nids; i++) {
        job_retry_target_t *t = NULL;
        size_t nt = 0;
        err_clear(&e);
        if (job_retry_resolve(cli->ledger, ids[i], &t, &nt, &e) != ERR_OK) {
            if (e.code != ERR_NOTFOUND) {
                job_retry_targets_free(*out, *n);
                return cli_fail(cli, &e);
            }
            fprintf(stderr, "%s: %s in %s; nothing retried\n", cli->prog,
                    CLI_SHOWN(e.msg), CLI_SHOWN(cli_searched(cli)));
            status = EX_DATAERR;
            continue;
        }
        job_retry_target_t *grown = realloc(*out, (*n + nt) * sizeof *grown);
        if (!grown) {
            job_retry_targets_free(t, nt);
            job_retry_targets_free(*out, *n);
            err_set(&e, ERR_NOMEM, "out of memory");
            return cli_fail(cli, &e);
        }
        *out = grown;
        memcpy(*out + *n, t, nt * sizeof *t);
        *n += nt;
        free(t);
    }
    if (status) {
        job_retry_targets_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return status;
}

static json_t *result_json(const job_retry_target_t *t, const job_retry_result_t *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "batch", json_string(t ? t->batch_id : ""));
    json_object_set_new(o, "job", t && t->job_id ? json_string(t->job_id) : json_null());
    json_object_set_new(o, "selected", json_integer((json_int_t)r->selected));
    json_object_set_new(o, "retried", json_integer((json_int_t)r->retried));
    json_object_set_new(o, "enqueued", json_integer((json_int_t)r->enqueued));
    json_object_set_new(o, "estimated_usd", r->priced ? json_real(r->estimated_usd)
                                                      : json_null());
    return o;
}

/* Lists the target's selected jobs (the dry run's detail), on stdout. */
static void list_selected(cli_t *cli, const job_retry_target_t *t, unsigned states)
{
    ledger_job_t *jobs = NULL;
    size_t n = 0;
    err_t e;
    ledger_filter_t f = {.batch_id = t->batch_id, .state = -1};

    err_clear(&e);
    if ((t->job_id ? ledger_get_jobs(cli->ledger, t->batch_id, t->job_id, &jobs, &n, &e)
                   : ledger_list(cli->ledger, &f, &jobs, &n, &e)) != ERR_OK)
        return;
    for (size_t i = 0; i < n; i++)
        if (ledger_retry_selects(&jobs[i], states))
            printf("  %-24s %-10s run %d  %s%s%s\n", jobs[i].job_id,
                   job_state_name(jobs[i].state), jobs[i].run > 0 ? jobs[i].run : 1,
                   jobs[i].error_code ? jobs[i].error_code : "",
                   jobs[i].error_message ? ": " : "",
                   jobs[i].error_message ? jobs[i].error_message : "");
    ledger_jobs_free(jobs, n);
}

/* Prices every target; prints the estimate; refuses over the budget.
 * Returns 0 or the exit status (nothing changed). */
static int plan_all(cli_t *cli, const struct retry_opts *o, const job_retry_target_t *t,
                    size_t n, job_retry_result_t *r, job_retry_result_t *sum)
{
    cost_table_t *prices = NULL;
    char money[32];
    err_t e;

    err_clear(&e);
    if (cost_table_default(NULL, &prices, &e) != ERR_OK)
        return cli_fail(cli, &e);
    sum->priced = true;
    for (size_t i = 0; i < n; i++) {
        if (job_retry_plan(cli->ledger, &t[i], o->states, prices, &r[i], &e) != ERR_OK) {
            cost_table_free(prices);
            return cli_fail(cli, &e);
        }
        sum->selected += r[i].selected;
        sum->estimated_usd += r[i].estimated_usd;
        sum->priced = sum->priced && r[i].priced;
    }
    if (sum->priced)
        fprintf(stderr, "%s: estimated cost: %s for %zu %s to re-run (prices: %s)\n",
                cli->prog, cost_format(sum->estimated_usd, money, sizeof money),
                sum->selected, sum->selected == 1 ? "job" : "jobs",
                cost_table_source(prices));
    else
        fprintf(stderr, "%s: estimated cost: unknown (a model has no price in %s)\n",
                cli->prog, cost_table_source(prices));
    cost_table_free(prices);
    if (o->budget >= 0 && (!sum->priced || sum->estimated_usd > o->budget + 1e-9)) {
        fprintf(stderr, "%s: over budget: %zu %s would cost %s, over --budget $%.2f; "
                "nothing retried\n", cli->prog, sum->selected,
                sum->selected == 1 ? "job" : "jobs", sum->priced ? money : "an unknown amount",
                o->budget);
        return EX_DATAERR;
    }
    return 0;
}

/* The chaos test's crash point (tests/chaos/chaos.sh --retry): with
 * ONESHEET_TEST_RETRY_CRASH=where, the process dies here as if killed, so
 * the next retry must finish what this one started. */
static void crash_point(const char *where)
{
    const char *want = getenv("ONESHEET_TEST_RETRY_CRASH");
    if (want && strcmp(want, where) == 0) {
        fflush(NULL);
        _exit(137);
    }
}

int cmd_retry(cli_t *cli, int argc, char **argv)
{
    struct retry_opts o;
    job_retry_target_t *t = NULL;
    job_retry_result_t *r = NULL, sum = {0};
    size_t n = 0;
    int rc = parse(cli, argc, argv, &o);
    err_t e;

    if (rc >= 0)
        return rc;
    if ((rc = cli_open(cli, o.dry ? CLI_LEDGER : CLI_LEDGER | CLI_QUEUE)) != 0)
        return rc;
    if ((rc = resolve_all(cli, argv + optind, argc - optind, &t, &n)) != 0)
        return rc;
    if (!(r = calloc(n ? n : 1, sizeof *r))) {
        job_retry_targets_free(t, n);
        err_set(&e, ERR_NOMEM, "out of memory");
        return cli_fail(cli, &e);
    }
    if ((rc = plan_all(cli, &o, t, n, r, &sum)) != 0)
        goto out;
    /* Every target re-opened first, then each batch's pending jobs sent
     * once: a crash in between leaves them pending, for the next retry (or
     * a re-submit) to send. */
    for (size_t i = 0; !o.dry && i < n; i++) {
        err_clear(&e);
        if (job_retry_reopen(cli->ledger, &t[i], o.states, &r[i], &e) != ERR_OK) {
            rc = cli_fail(cli, &e);
            goto out;
        }
        sum.retried += r[i].retried;
    }
    crash_point("reopened");
    for (size_t i = 0; !o.dry && i < n; i++) {
        bool sent_before = false;
        for (size_t k = 0; k < i; k++)
            sent_before = sent_before || strcmp(t[k].batch_id, t[i].batch_id) == 0;
        err_clear(&e);
        if (!sent_before &&
            job_retry_enqueue(cli->queue, cli->ledger, t[i].batch_id, &r[i], &e) != ERR_OK) {
            rc = cli_fail(cli, &e);
            goto out;
        }
        sum.enqueued += r[i].enqueued;
    }
    if (o.json) {
        json_t *all = result_json(NULL, &sum), *list = json_array(), *st = json_array();
        json_object_del(all, "batch");
        json_object_del(all, "job");
        for (size_t i = 0; i < n; i++)
            json_array_append_new(list, result_json(&t[i], &r[i]));
        for (const char *p = o.states_arg; p && *p;) {
            size_t len = strcspn(p, ",");
            json_array_append_new(st, json_stringn(p, len));
            p += len + (p[len] == ',');
        }
        json_object_set_new(all, "dry_run", json_boolean(o.dry));
        json_object_set_new(all, "states", st);
        json_object_set_new(all, "batches", list);
        cli_print_json(all);
        json_decref(all);
    } else {
        for (size_t i = 0; i < n; i++) {
            char who[300];
            snprintf(who, sizeof who, "%s%s%s", t[i].batch_id, t[i].job_id ? "/" : "",
                     t[i].job_id ? t[i].job_id : "");
            if (o.dry) {
                printf("%s: would retry %zu %s (%s)\n", who, r[i].selected,
                       r[i].selected == 1 ? "job" : "jobs", o.states_arg);
                list_selected(cli, &t[i], o.states);
            } else {
                printf("%s: retried %zu %s, enqueued %zu\n", who, r[i].retried,
                       r[i].retried == 1 ? "job" : "jobs", r[i].enqueued);
            }
        }
    }
out:
    job_retry_targets_free(t, n);
    free(r);
    return rc;
}
