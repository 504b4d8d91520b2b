/* approve and reject — mark proofs (issue 20, item 2).  A mark is what
 * promote --only approved selects; it is recorded in the ledger with who
 * and when, and only on a succeeded job: every job named is checked before
 * any is marked, so one that is not succeeded (or not there) marks
 * nothing. */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#define BY_MAX 128

static void usage(FILE *fp, const char *verb)
{
    fprintf(fp,
            "usage: onesheet %s JOB|BATCH/JOB ... [--by WHO] [--json]\n"
            "       onesheet %s --all BATCH [--by WHO] [--json]\n"
            "  --all BATCH   every succeeded job of BATCH\n"
            "  --by WHO      who decided (default: $USER@host), 1 to %d printable characters\n"
            "  --json        print each marked job as JSON (the status --json shape)\n",
            verb, verb, BY_MAX);
}

/* The default reviewer: $USER@host. */
static void default_by(char *out, size_t cap)
{
    char host[256] = "localhost";
    const char *user = getenv("USER");
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    snprintf(out, cap, "%s@%s", user && *user ? user : "unknown", host);
}

static bool by_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > BY_MAX)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

/* Resolves one argument (JOB or BATCH/JOB) into jobs appended to *all.
 * Returns 0, EX_DATAERR after saying why (no such job, or a job id held by
 * several batches), or cli_fail()'s status. */
static int resolve(cli_t *cli, const char *arg, ledger_job_t **all, size_t *n, size_t *cap)
{
    char batch[JOB_ID_MAX + 1] = "";
    const char *job = arg, *slash = strchr(arg, '/');
    ledger_job_t *jobs = NULL;
    size_t nj = 0;
    err_t e;

    if (slash && (size_t)(slash - arg) <= JOB_ID_MAX) {
        memcpy(batch, arg, (size_t)(slash - arg));
        batch[slash - arg] = '\0';
        job = slash + 1;
    }
    err_clear(&e);
    if (!job_id_valid(job) || (slash && !job_id_valid(batch))) {
        fprintf(stderr, "%s: %s: not a job id; nothing marked\n", cli->prog, CLI_SHOWN(arg));
        return EX_DATAERR;
    }
    if (ledger_get_jobs(cli->ledger, slash ? batch : NULL, job, &jobs, &nj, &e) != ERR_OK)
        return cli_fail(cli, &e);
    if (nj != 1) {
        if (nj == 0)
            fprintf(stderr, "%s: %s: no such job; nothing marked\n", cli->prog, CLI_SHOWN(arg));
        else
            fprintf(stderr, "%s: %s: the job id is in %zu batches: name it as BATCH/JOB; "
                    "nothing marked\n", cli->prog, CLI_SHOWN(arg), nj);
        ledger_jobs_free(jobs, nj);
        return EX_DATAERR;
    }
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        ledger_job_t *g = realloc(*all, nc * sizeof *g);
        if (!g) {
            ledger_jobs_free(jobs, nj);
            err_set(&e, ERR_NOMEM, "out of memory");
            return cli_fail(cli, &e);
        }
        *all = g;
        *cap = nc;
    }
    (*all)[(*n)++] = jobs[0];
    free(jobs); /* the strings moved into *all */
    return 0;
}

/* Marks every job in jobs (all checked succeeded) and prints each. */
static int mark_all(cli_t *cli, const char *mark, const char *by, ledger_job_t *jobs,
                    size_t n, bool json)
{
    int64_t now = (int64_t)time(NULL) * 1000;
    cli_reviews_t marks = {0};
    err_t e;

    for (size_t i = 0; i < n; i++) {
        err_clear(&e);
        if (ledger_review(cli->ledger, jobs[i].batch_id, jobs[i].job_id, mark, by, now, &e)
            != ERR_OK) {
            cli_reviews_free(&marks);
            return e.code == ERR_CONFLICT || e.code == ERR_NOTFOUND
                       ? (fprintf(stderr, "%s: %s\n", cli->prog, CLI_SHOWN(e.msg)), EX_DATAERR)
                       : cli_fail(cli, &e);
        }
        if (json) {
            json_t *o = cli_job_json(&jobs[i]);
            cli_reviews_free(&marks); /* read this batch's marks afresh */
            ledger_review_json_add(o, cli_review_for(cli, &marks, &jobs[i]), jobs[i].spec_json);
            cli_print_json(o);
            json_decref(o);
        } else {
            printf("%s/%s %s\n", jobs[i].batch_id, jobs[i].job_id, mark);
        }
    }
    cli_reviews_free(&marks);
    fprintf(stderr, "%s: %zu %s %s by %s\n", cli->prog, n, n == 1 ? "job" : "jobs", mark,
            CLI_SHOWN(by));
    return 0;
}

static int review_cmd(cli_t *cli, int argc, char **argv, const char *mark, const char *verb)
{
    static const struct option opts[] = {
        {"all", required_argument, NULL, 'a'}, {"by", required_argument, NULL, 'b'},
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *all_batch = NULL;
    char by[BY_MAX + 300];
    ledger_job_t *jobs = NULL;
    size_t n = 0, cap = 0;
    bool json = false;
    int opt, rc = 0;
    err_t e;

    default_by(by, sizeof by);
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'a': all_batch = optarg; break;
        case 'b':
            if (!by_ok(optarg)) {
                fprintf(stderr, "%s: --by: expected 1 to %d printable characters\n",
                        cli->prog, BY_MAX);
                return EX_USAGE;
            }
            snprintf(by, sizeof by, "%s", optarg);
            break;
        case 'j': json = true; break;
        case 'h': usage(stdout, verb); return 0;
        default: usage(stderr, verb); return EX_USAGE;
        }
    }
    if ((all_batch != NULL) == (optind < argc)) {
        fprintf(stderr, "%s: give JOB ... or --all BATCH\n", cli->prog);
        usage(stderr, verb);
        return EX_USAGE;
    }
    if (!by_ok(by))
        snprintf(by, sizeof by, "unknown");
    if ((rc = cli_open(cli, CLI_LEDGER)) != 0)
        return rc;
    if (!ledger_has_review(cli->ledger)) {
        err_set(&e, ERR_CONFIG, "review: this ledger does not keep review marks");
        return cli_fail(cli, &e);
    }
    err_clear(&e);
    if (all_batch) {
        ledger_filter_t f = {.batch_id = all_batch, .state = JOB_SUCCEEDED};
        ledger_batch_t b;
        memset(&b, 0, sizeof b);
        if (ledger_get_batch(cli->ledger, all_batch, &b, &e) != ERR_OK) {
            if (e.code != ERR_NOTFOUND)
                return cli_fail(cli, &e);
            fprintf(stderr, "%s: --all: %s: no such batch; nothing marked\n", cli->prog,
                    CLI_SHOWN(all_batch));
            return EX_DATAERR;
        }
        ledger_batch_free(&b);
        if (ledger_list(cli->ledger, &f, &jobs, &n, &e) != ERR_OK)
            return cli_fail(cli, &e);
        if (n == 0) {
            fprintf(stderr, "%s: --all: batch %s has no succeeded job to mark; nothing "
                    "marked\n", cli->prog, all_batch);
            return EX_DATAERR;
        }
    } else {
        for (int i = optind; i < argc && rc == 0; i++)
            rc = resolve(cli, argv[i], &jobs, &n, &cap);
        for (size_t i = 0; rc == 0 && i < n; i++)
            if (jobs[i].state != JOB_SUCCEEDED) {
                fprintf(stderr, "%s: job %s is %s, not succeeded: only a finished poster can "
                        "be %s; nothing marked\n", cli->prog, jobs[i].job_id,
                        job_state_name(jobs[i].state), mark);
                rc = EX_DATAERR;
            }
    }
    if (rc == 0)
        rc = mark_all(cli, mark, by, jobs, n, json);
    ledger_jobs_free(jobs, n);
    return rc;
}

int cmd_approve(cli_t *cli, int argc, char **argv)
{
    return review_cmd(cli, argc, argv, LEDGER_APPROVED, "approve");
}

int cmd_reject(cli_t *cli, int argc, char **argv)
{
    return review_cmd(cli, argc, argv, LEDGER_REJECTED, "reject");
}
