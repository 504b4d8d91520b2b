/* submit — validate a bulk file (or one --prompt) and enqueue its jobs.
 *
 * Nothing is half-done: every line is validated before anything is written,
 * and one bad line enqueues nothing unless --skip-invalid.  The batch and job
 * ids are content hashes, so submitting the same input again finds the batch
 * in the ledger and enqueues nothing new.  Ledger first, queue second: jobs
 * are recorded with enqueued_ms = 0, sent, then marked; a crash in between
 * is repaired by simply submitting again (pending jobs are re-sent; a
 * duplicate message is harmless because processing is idempotent).
 *
 * cmd_submit runs three steps in order (for a FILE, dry run or not,
 * submit_streamed() of cmd_submit_stream.c does the same in passes over a
 * spool; these in-memory steps serve --prompt): submit_parse (argv → options),
 * submit_validate (read and check the input, models included, and its cost
 * against --budget) and submit_enqueue (or submit_dry_run, which reads the
 * ledger, when there is one, to tell new jobs from submitted ones), then
 * maps what they say to an exit status. */
#include "cli.h"
#include "cmd_submit.h"
#include "base/sqlite_util.h"
#include "base/termesc.h"
#include "engine/engine_backends.h"
#include "jobs/job.h"
#include "jobs/submit.h"
#include "jobs/variants.h"
#include "jobs/webhook.h"
#include "cli_models.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

/* The options; submit_parse() says what each sets.  Those taking a number
 * have a row in submit_ranges. */
static const struct option submit_options[] = {
    {"prompt", required_argument, NULL, 'P'}, {"format", required_argument, NULL, 'f'},
    {"model", required_argument, NULL, 'm'}, {"aspect", required_argument, NULL, 'a'},
    {"seed", required_argument, NULL, 's'}, {"title", required_argument, NULL, 't'},
    {"skip-invalid", no_argument, NULL, 'k'}, {"dry-run", no_argument, NULL, 'n'},
    {"budget", required_argument, NULL, 'B'},
    {"wait", no_argument, NULL, 'w'}, {"output", required_argument, NULL, 'o'},
    {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'},
    {"webhook", required_argument, NULL, 'W'},
    {"renditions", required_argument, NULL, 'R'},
    {"variants", required_argument, NULL, 'V'},
    {"force", no_argument, NULL, 'F'},
    {NULL, 0, NULL, 0},
};

/* The numeric options and the values each accepts; the error names the
 * range, so a refused value says what would have been taken. */
struct opt_range {
    const char *name;       /* "--seed" */
    const char *what;       /* "a whole number" */
    bool whole;             /* base-10 integer (strtoll), else a real (strtod) */
    double min, max;
};

enum { RANGE_SEED, RANGE_BUDGET, RANGE_VARIANTS };
static const struct opt_range submit_ranges[] = {
    [RANGE_SEED] = {"--seed", "a whole number", true, 0, JOB_SEED_MAX},
    [RANGE_BUDGET] = {"--budget", "a number of USD", false, 0, 1e9},
    [RANGE_VARIANTS] = {"--variants", "a whole number", true, 1, JOB_VARIANTS_MAX},
};

enum submit_parsed { SUBMIT_RUN, SUBMIT_HELP, SUBMIT_USAGE };

/* A file of garbage should not flood the terminal: the first 200 errors
 * say enough, and the count says the rest. */
enum { SUBMIT_ERRORS_SHOWN = 200 };

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: onesheet submit FILE|- [options]\n"
            "       onesheet submit --prompt TEXT [options]\n"
            "  --format txt|jsonl|csv   input format (default: from the file name; txt for -)\n"
            "  --model M                model for specs that name none\n"
            "  --aspect R               aspect ratio default (2:3)\n"
            "  --seed N                 seed default\n"
            "  --title T                poster title default\n"
            "  --skip-invalid           enqueue the valid lines, report the rest\n"
            "  --dry-run                validate; show which jobs are new and what they cost\n"
            "  --budget USD             refuse (enqueue nothing) when the estimate is over USD\n"
            "  --wait                   wait for the batch to finish (see onesheet wait)\n"
            "  --output FILE            with --wait: write the results manifest\n"
            "  --json                   machine-readable output\n"
            "  --webhook URL            POST signed events (Standard Webhooks) for each job\n"
            "                           and the batch to URL (https://; http:// to loopback)\n"
            "  --renditions R,R,...     posters of these aspect ratios from one generation\n"
            "                           for specs naming none (e.g. 2:3,16:9,1:1)\n"
            "  --variants N             N jobs a prompt (1-16), each with its own seed, for\n"
            "                           entries whose spec names no \"variants\"\n"
            "  --force                  submit even to a model Bedrock no longer lists\n");
}

/* Reads s as r's value into *out.  Returns true, or false after printing
 * "prog: --NAME: expected WHAT from MIN to MAX, got "s"". */
static bool opt_range_parse(const cli_t *cli, const struct opt_range *r, const char *s,
                            double *out)
{
    char *end;
    double v;

    errno = 0;
    if (r->whole) {
        long long n = strtoll(s, &end, 10);
        v = errno ? -1 : (double)n;
    } else {
        v = strtod(s, &end);
    }
    if (*end || end == s || !(v >= r->min && v <= r->max)) {
        fprintf(stderr, "%s: %s: expected %s from %.15g to %.15g, got \"%s\"\n", cli->prog,
                r->name, r->what, r->min, r->max, s);
        return false;
    }
    *out = v;
    return true;
}

/* Checks one default flag (--aspect or --title; d sets only that one) the
 * way every entry will be checked, so a bad flag is a usage error (64)
 * rather than every entry being invalid data (65).  Returns true, or false
 * after printing "prog: FLAG: reason". */
static bool default_flag_ok(const cli_t *cli, const char *flag, const job_defaults_t *d)
{
    job_spec_t s;
    err_t e;
    bool ok;

    err_clear(&e);
    job_spec_init(&s);
    if (!(s.prompt = strdup("x")))
        return true; /* out of memory: left for the input's own check */
    ok = job_spec_normalise(&s, d, &e) == ERR_OK;
    job_spec_free(&s);
    if (!ok) {
        char msg[sizeof e.msg * 2];
        term_escape(e.msg, msg, sizeof msg);
        fprintf(stderr, "%s: %s: %s\n", cli->prog, flag, msg);
    }
    return ok;
}

/* Fills *o from argv (getopt_long from optind 1); o's strings borrow argv.
 * Returns SUBMIT_RUN, SUBMIT_HELP after printing the usage on stdout, or
 * SUBMIT_USAGE after printing why on stderr: a bad option, an option value
 * out of its range, or not exactly one of FILE and --prompt. */
static enum submit_parsed submit_parse(const cli_t *cli, int argc, char **argv,
                                       struct submit_opts *o)
{
    const char *seed_s = NULL;
    double seed;
    int opt;
    err_t e;

    *o = (struct submit_opts){.fmt = BULK_AUTO, .budget = -1, .d = {.seed = JOB_SEED_UNSET}};
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", submit_options, NULL)) != -1) {
        switch (opt) {
        case 'P': o->prompt = optarg; break;
        case 'f':
            if ((o->fmt = bulk_format_parse(optarg)) < 0) {
                fprintf(stderr, "%s: --format: expected txt, jsonl or csv, got \"%s\"\n",
                        cli->prog, optarg);
                return SUBMIT_USAGE;
            }
            break;
        case 'm': o->d.model = optarg; break;
        case 'a': o->d.aspect_ratio = optarg; break;
        case 's': seed_s = optarg; break;
        case 't': o->d.title = optarg; break;
        case 'k': o->skip_invalid = true; break;
        case 'n': o->dry = true; break;
        case 'B':
            if (!opt_range_parse(cli, &submit_ranges[RANGE_BUDGET], optarg, &o->budget))
                return SUBMIT_USAGE;
            break;
        case 'w': o->wait = true; break;
        case 'o': o->output = optarg; break;
        case 'j': o->json = true; break;
        case 'W':
            o->webhook = optarg;
            if (webhook_url_check(optarg, "--webhook", &e) != ERR_OK) {
                fprintf(stderr, "%s: %s\n", cli->prog, CLI_SHOWN(e.msg));
                return SUBMIT_USAGE;
            }
            break;
        case 'R': o->d.renditions = optarg; break;
        case 'F': o->force = true; break;
        case 'V': {
            double v;
            if (!opt_range_parse(cli, &submit_ranges[RANGE_VARIANTS], optarg, &v))
                return SUBMIT_USAGE;
            o->variants = (int)v;
            break;
        }
        case 'h': usage(stdout); return SUBMIT_HELP;
        default: usage(stderr); return SUBMIT_USAGE;
        }
    }
    if ((o->prompt != NULL) == (optind < argc) || argc - optind > 1) {
        fprintf(stderr, "%s: give exactly one FILE (or -) or --prompt TEXT\n", cli->prog);
        usage(stderr);
        return SUBMIT_USAGE;
    }
    /* The seed is checked after the operands, as it always was, so a
     * missing FILE is reported before a bad --seed. */
    if (seed_s) {
        if (!opt_range_parse(cli, &submit_ranges[RANGE_SEED], seed_s, &seed))
            return SUBMIT_USAGE;
        o->d.seed = (int64_t)seed;
    }
    if (o->d.aspect_ratio &&
        !default_flag_ok(cli, "--aspect", &(job_defaults_t){.aspect_ratio = o->d.aspect_ratio,
                                                            .seed = JOB_SEED_UNSET}))
        return SUBMIT_USAGE;
    if (o->d.title &&
        !default_flag_ok(cli, "--title", &(job_defaults_t){.title = o->d.title,
                                                           .seed = JOB_SEED_UNSET}))
        return SUBMIT_USAGE;
    if (o->d.renditions &&
        !default_flag_ok(cli, "--renditions", &(job_defaults_t){.renditions = o->d.renditions,
                                                                .seed = JOB_SEED_UNSET}))
        return SUBMIT_USAGE;
    o->source = o->prompt ? "--prompt" : argv[optind];
    return SUBMIT_RUN;
}

/* Builds a one-item bulk from --prompt into b (from bulk_init(); the caller
 * frees it with bulk_free(), also on error).  Returns ERR_OK, ERR_NOMEM, or
 * the spec's error prefixed "--prompt", with err set. */
static err_code_t single_prompt(const char *text, const job_defaults_t *d, bulk_t *b,
                                err_t *err)
{
    b->items = calloc(1, sizeof *b->items);
    if (!b->items)
        return err_set(err, ERR_NOMEM, "out of memory");
    job_spec_init(&b->items[0].spec);
    b->nitems = 1;
    b->items[0].line = 0;
    if (!(b->items[0].spec.prompt = strdup(text)))
        return err_set(err, ERR_NOMEM, "out of memory");
    if (job_spec_normalise(&b->items[0].spec, d, err) != ERR_OK)
        return err_prefix(err, "--prompt");
    return ERR_OK;
}

/* Parses o's input (--prompt, FILE or "-" for stdin) with defaults d into b
 * (from bulk_init(); the caller frees it).  A file's bad lines land in
 * b->errors with *parsed = ERR_INVALID and e holding the first; that is not
 * a failure here.  Returns 0, EX_NOINPUT after printing why the file cannot
 * be read, or cli_fail()'s status for a bad --prompt or no memory. */
static int submit_read_input(const cli_t *cli, const struct submit_opts *o,
                             const job_defaults_t *d, bulk_t *b, err_t *e,
                             err_code_t *parsed)
{
    const char *name = o->source;
    bool is_stdin = !o->prompt && strcmp(name, "-") == 0;
    int fmt = o->fmt;
    char *data = NULL;
    size_t len = 0;

    if (o->prompt) {
        *parsed = single_prompt(o->prompt, d, b, e);
        return *parsed == ERR_OK ? 0 : cli_fail(cli, e);
    }
    FILE *fp = o->in ? o->in : is_stdin ? stdin : fopen(name, "rb");
    char *shown = term_escape_dup(name);
    int got;
    if (!shown) {
        if (fp && fp != stdin && fp != o->in)
            fclose(fp);
        fprintf(stderr, "%s: out of memory\n", cli->prog);
        return EX_OSERR;
    }
    if (!fp) {
        fprintf(stderr, "%s: %s: %s\n", cli->prog, shown, strerror(errno));
        free(shown);
        return EX_NOINPUT;
    }
    got = cli_read_limited(fp, cli->cfg.max_input_bytes, &data, &len);
    if (got != 0) {
        int saved = errno;
        if (got > 0)
            fprintf(stderr, "%s: %s: input is larger than max_input_bytes (%lld bytes; set "
                    "it in the config or ONESHEET_MAX_INPUT_BYTES); nothing enqueued\n",
                    cli->prog, shown, cli->cfg.max_input_bytes);
        else if (saved == ENOMEM)
            fprintf(stderr, "%s: %s: out of memory reading the input; nothing enqueued\n",
                    cli->prog, shown);
        else
            fprintf(stderr, "%s: %s: cannot read: %s; nothing enqueued\n", cli->prog, shown,
                    strerror(saved));
        if (fp != stdin && fp != o->in)
            fclose(fp);
        free(shown);
        return got > 0 ? EX_DATAERR : saved == ENOMEM ? EX_OSERR : EX_IOERR;
    }
    free(shown);
    if (fp != stdin && fp != o->in)
        fclose(fp);
    if (fmt == BULK_AUTO && is_stdin)
        fmt = BULK_TXT;
    *parsed = bulk_parse(name, data, len, (bulk_format_t)fmt, d, b, e);
    free(data);
    return *parsed == ERR_NOMEM ? cli_fail(cli, e) : 0;
}

/* Prints b's input errors (the first SUBMIT_ERRORS_SHOWN and a count of the
 * rest) and decides whether the batch may go on: not when any entry is
 * invalid without --skip-invalid, nor when no valid entry is left (parsed
 * and e say why an input without errors has none).  Returns 0 to go on, or
 * EX_DATAERR after saying that nothing was enqueued. */
static int submit_report_invalid(const cli_t *cli, const struct submit_opts *o,
                                 const bulk_t *b, err_code_t parsed, const err_t *e)
{
    for (size_t i = 0; i < b->nerrors && i < SUBMIT_ERRORS_SHOWN; i++) {
        char msg[1024];
        term_escape(b->errors[i].msg, msg, sizeof msg);
        fprintf(stderr, "%s\n", msg);
    }
    if (b->nerrors > SUBMIT_ERRORS_SHOWN)
        fprintf(stderr, "%s: ... and %zu more invalid entries\n", cli->prog,
                b->nerrors - SUBMIT_ERRORS_SHOWN);
    if (b->nerrors && (!o->skip_invalid || b->nitems == 0)) {
        fprintf(stderr, "%s: %zu invalid %s; nothing enqueued%s\n", cli->prog, b->nerrors,
                b->nerrors == 1 ? "entry" : "entries",
                b->nitems && !o->skip_invalid ? " (--skip-invalid enqueues the valid ones)" : "");
        return EX_DATAERR;
    }
    if (b->nitems == 0 && parsed != ERR_OK) {
        fprintf(stderr, "%s: %s\n", cli->prog, CLI_SHOWN(e->msg));
        return EX_DATAERR;
    }
    return 0;
}

/* Refuses --model naming no known model (EX_DATAERR, after printing
 * "--model: unknown model ... (did you mean ...?)"), before any input is
 * read; warns once when the configured default is unknown, since then
 * every entry naming no model is invalid.  Returns 0 or EX_DATAERR. */
int submit_check_default_model(const cli_t *cli, const struct submit_opts *o)
{
    err_t e;

    err_clear(&e);
    if (o->d.model) {
        if (engine_model_check(o->d.model, NULL, 0, &e) == ERR_OK)
            return cli_model_lifecycle(cli, o->d.model, "--model", o->force);
        fprintf(stderr, "%s: --model: %s; nothing enqueued\n", cli->prog,
                CLI_SHOWN(e.msg));
        return EX_DATAERR;
    }
    if (engine_model_check(cli->cfg.model, NULL, 0, &e) != ERR_OK) {
        fprintf(stderr, "%s: the configured model: %s; entries naming no model are invalid\n",
                cli->prog, CLI_SHOWN(e.msg));
        return 0;
    }
    return cli_model_lifecycle(cli, NULL, "the configured model", o->force);
}

/* Judges each other Bedrock model b's entries name (the default was judged
 * by submit_check_default_model) against the live list, as
 * cli_model_lifecycle does: a Legacy one warned about once, an unlisted
 * one refusing the whole submit (EX_DATAERR) unless --force.  Only the
 * first 32 distinct models are judged: a file naming more is not a poster
 * batch anyone writes by hand.  Returns 0 or the exit status. */
static int submit_check_lifecycles(const cli_t *cli, const struct submit_opts *o,
                                   const bulk_t *b, const char *dflt)
{
    const char *seen[32];
    size_t nseen = 0;
    char what[64];
    int rc;

    for (size_t i = 0; i < b->nitems && nseen < 32; i++) {
        const char *m = b->items[i].spec.model;
        bool known = !m || (dflt && strcmp(m, dflt) == 0);
        for (size_t k = 0; !known && k < nseen; k++)
            known = strcmp(seen[k], m) == 0;
        if (known)
            continue;
        seen[nseen++] = m;
        snprintf(what, sizeof what, "entry %zu: model", i + 1);
        if ((rc = cli_model_lifecycle(cli, m, what, o->force)) != 0)
            return rc;
    }
    return 0;
}

/* Moves b's entries naming an unknown model to its errors (see
 * engine_bulk_check_models), updating *parsed and e as bulk_parse() would
 * have.  Returns 0, or cli_fail()'s status when memory runs out. */
static int submit_check_models(const cli_t *cli, const struct submit_opts *o, bulk_t *b,
                               err_t *e, err_code_t *parsed)
{
    err_t me;

    err_clear(&me);
    switch (engine_bulk_check_models(b, o->source, &me)) {
    case ERR_OK: return 0;
    case ERR_NOMEM: return cli_fail(cli, &me);
    default: break;
    }
    if (*parsed == ERR_OK) {
        *parsed = ERR_INVALID;
        *e = me;
    }
    return 0;
}

/* Reads and checks o's input into b (from bulk_init(); the caller frees it
 * whatever this returns): every entry normalised with o's defaults and the
 * configured model for specs naming none, entries naming an unknown model
 * made invalid, invalid entries reported, batch and job ids assigned,
 * folded duplicates noted, and (without --dry-run, which does it once it
 * knows which jobs are new) the estimate checked against --budget.  Needs
 * cli_open() done.  Returns 0 when the batch may be enqueued, else the exit
 * status after printing why: EX_NOINPUT, EX_DATAERR (bad input, an unknown
 * --model, over budget), or the status of the configuration or memory
 * error. */
static int submit_validate(cli_t *cli, const struct submit_opts *o, bulk_t *b)
{
    job_defaults_t d = o->d;
    err_code_t parsed = ERR_OK;
    err_t e;
    int rc;

    if ((rc = submit_check_default_model(cli, o)) != 0)
        return rc;
    if (!d.model)
        d.model = cli->cfg.model;
    err_clear(&e);
    if ((rc = submit_read_input(cli, o, &d, b, &e, &parsed)) != 0)
        return rc;
    if ((rc = submit_check_models(cli, o, b, &e, &parsed)) != 0)
        return rc;
    if ((rc = submit_check_lifecycles(cli, o, b, d.model)) != 0)
        return rc;
    if ((rc = submit_report_invalid(cli, o, b, parsed, &e)) != 0)
        return rc;
    bulk_default_variants(b, o->variants);
    if (bulk_assign_ids(b) != ERR_OK) {
        err_set(&e, ERR_NOMEM, "out of memory");
        return cli_fail(cli, &e);
    }
    if (bulk_expand_variants(b, &e) != ERR_OK) {
        if (e.code == ERR_NOMEM)
            return cli_fail(cli, &e);
        fprintf(stderr, "%s: %s: %s; nothing enqueued\n", cli->prog, CLI_SHOWN(o->source),
                CLI_SHOWN(e.msg));
        return EX_DATAERR;
    }
    if (b->nduplicates)
        fprintf(stderr, "%s: %zu duplicate %s folded into one job each\n", cli->prog,
                b->nduplicates, b->nduplicates == 1 ? "entry" : "entries");
    return o->dry ? 0 : cli_cost_check(cli, b, o->budget, false);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sets is_new[i] (b->nitems of them) for each of b's jobs a submit would
 * send: not in the ledger's batch, or recorded but never sent (a submit
 * interrupted between ledger and queue).  Without a ledger (a dry run
 * opens none when it does not exist yet) every job is new.  *nnew counts
 * them.  Borrows b.  Returns 0, or cli_fail()'s status when the ledger
 * fails. */
static int dry_run_mark_new(const cli_t *cli, const bulk_t *b, bool *is_new, size_t *nnew)
{
    ledger_filter_t f = {.batch_id = b->batch_id, .state = -1};
    ledger_job_t *jobs = NULL;
    const char **sent = NULL;
    size_t n = 0, nsent = 0;
    err_t e;

    for (size_t i = 0; i < b->nitems; i++)
        is_new[i] = true;
    *nnew = b->nitems;
    if (!cli->ledger)
        return 0;
    err_clear(&e);
    if (ledger_list(cli->ledger, &f, &jobs, &n, &e) != ERR_OK)
        return cli_fail(cli, &e);
    if (n && !(sent = malloc(n * sizeof *sent))) {
        ledger_jobs_free(jobs, n);
        err_set(&e, ERR_NOMEM, "out of memory");
        return cli_fail(cli, &e);
    }
    for (size_t i = 0; i < n; i++)
        if (!(jobs[i].state == JOB_QUEUED && jobs[i].enqueued_ms == 0))
            sent[nsent++] = jobs[i].job_id;
    if (nsent)
        qsort(sent, nsent, sizeof *sent, cmp_str);
    for (size_t i = 0; nsent && i < b->nitems; i++) {
        const char *key = b->items[i].job_id;
        if (bsearch(&key, sent, nsent, sizeof *sent, cmp_str)) {
            is_new[i] = false;
            (*nnew)--;
        }
    }
    free(sent);
    ledger_jobs_free(jobs, n);
    return 0;
}

/* --dry-run: finds which of b's jobs are new (dry_run_mark_new), prints the
 * estimate for those and checks it against --budget, then prints each job,
 * new or already submitted, one a line (a JSON object with "new" with
 * --json), and a summary with the counts (on stderr; with --json also a
 * last JSON line on stdout).  Borrows b.  Returns 0, EX_DATAERR over
 * budget, or cli_fail()'s status. */
static int submit_dry_run(cli_t *cli, const struct submit_opts *o, const bulk_t *b)
{
    bool *is_new = calloc(b->nitems ? b->nitems : 1, sizeof *is_new);
    size_t nnew = 0;
    err_t e;
    int rc;

    if (!is_new) {
        err_set(&e, ERR_NOMEM, "out of memory");
        return cli_fail(cli, &e);
    }
    if ((rc = dry_run_mark_new(cli, b, is_new, &nnew)) != 0 ||
        (rc = cli_cost_check_some(cli, b, is_new, b->nitems - nnew, o->budget, true)) != 0) {
        free(is_new);
        return rc;
    }
    for (size_t i = 0; i < b->nitems; i++) {
        buf_t spec = BUF_INIT;
        job_spec_to_json_with_id(&b->items[i].spec, &spec);
        if (o->json) {
            printf("{\"batch\":\"%s\",\"id\":\"%s\",\"line\":%zu,\"new\":%s,\"spec\":%s}\n",
                   b->batch_id, b->items[i].job_id, b->items[i].line,
                   is_new[i] ? "true" : "false", (char *)spec.data);
        } else {
            char shortp[200];
            printf("%-24s line %-6zu %-9s %s\n", b->items[i].job_id, b->items[i].line,
                   is_new[i] ? "new" : "submitted",
                   cli_ellipsize(b->items[i].spec.prompt, 60, shortp, sizeof shortp));
        }
        buf_free(&spec);
    }
    if (o->json)
        printf("{\"batch\":\"%s\",\"dry_run\":true,\"jobs\":%zu,\"new\":%zu,"
               "\"submitted\":%zu,\"invalid\":%zu}\n",
               b->batch_id, b->nitems, nnew, b->nitems - nnew, b->nerrors);
    fprintf(stderr, "%s: dry run: would enqueue %zu %s in batch %s (%zu already submitted, "
            "%zu skipped as invalid)\n", cli->prog, nnew, nnew == 1 ? "job" : "jobs",
            b->batch_id, b->nitems - nnew, b->nerrors);
    free(is_new);
    return 0;
}

/* Records b in the ledger and sends its pending jobs (submit_batch), prints
 * the batch id (a JSON summary with --json) and what was enqueued, then with
 * --wait waits for the batch.  Borrows b; needs the queue and ledger open.
 * Returns 0, cli_fail()'s status when the ledger or queue fails (e.g. 69 or
 * 75), or with --wait cli_wait_batch()'s (1 some jobs did not succeed). */
int submit_webhook(cli_t *cli, const struct submit_opts *o, const char *batch_id)
{
    err_t e;

    err_clear(&e);
    if (o->webhook && webhook_register(cli->ledger, batch_id, o->webhook,
                                       cli->cfg.webhook_secret, "--webhook", &e) != ERR_OK) {
        if (e.code != ERR_CONFLICT)
            return cli_fail(cli, &e);
        fprintf(stderr, "%s: --webhook: %s; nothing enqueued\n", cli->prog,
                CLI_SHOWN(e.msg));
        return EX_DATAERR;
    }
    return 0;
}

int submit_report(cli_t *cli, const struct submit_opts *o, const char *batch_id,
                  size_t njobs, size_t nerrors, const submit_result_t *res)
{
    if (o->json)
        printf("{\"batch\":\"%s\",\"jobs\":%zu,\"new\":%zu,\"enqueued\":%zu,\"invalid\":%zu}\n",
               batch_id, njobs, res->added, res->sent, nerrors);
    else
        printf("%s\n", batch_id);
    if (res->sent == 0)
        fprintf(stderr, "%s: batch %s already submitted: nothing new to enqueue (%zu jobs)\n",
                cli->prog, batch_id, njobs);
    else
        fprintf(stderr, "%s: batch %s: enqueued %zu of %zu %s%s%s\n", cli->prog, batch_id,
                res->sent, njobs, njobs == 1 ? "job" : "jobs",
                nerrors ? ", skipped invalid: " : "", nerrors ? "see above" : "");
    return o->wait ? cli_wait_batch(cli, batch_id, o->output, 0, false) : 0;
}

static int submit_enqueue(cli_t *cli, const struct submit_opts *o, const bulk_t *b)
{
    submit_result_t res;
    err_t e;
    int rc;

    /* The webhook is recorded before the jobs, so none can finish unseen. */
    if ((rc = submit_webhook(cli, o, b->batch_id)) != 0)
        return rc;
    err_clear(&e);
    if (submit_batch(cli->queue, cli->ledger, b, o->source, &res, &e) != ERR_OK)
        return cli_fail(cli, &e);
    return submit_report(cli, o, b->batch_id, b->nitems, b->nerrors, &res);
}

int cmd_submit(cli_t *cli, int argc, char **argv)
{
    struct submit_opts o;
    int rc;

    switch (submit_parse(cli, argc, argv, &o)) {
    case SUBMIT_HELP: return 0;
    case SUBMIT_USAGE: return EX_USAGE;
    case SUBMIT_RUN: break;
    }
    /* A file is written in chunks, so a big SQLite page cache buys little
     * there and would be most of the memory a big batch takes. */
    if (!o.prompt)
        sqlite_util_set_cache_kib(SUBMIT_STREAM_CACHE_KIB);
    /* A dry run sends nothing and only reads the ledger: it opens the
     * queue not at all, and the ledger only when it already exists. */
    if ((rc = cli_open(cli, o.dry ? CLI_LEDGER_IF_EXISTS : CLI_QUEUE | CLI_LEDGER)) != 0)
        return rc;
    if (o.webhook && !cli->cfg.webhook_secret) {
        fprintf(stderr, "%s: --webhook: webhooks are signed: set webhook_secret in the "
                "config or ONESHEET_WEBHOOK_SECRET (\"whsec_\" + base64 of at least %d "
                "random bytes); nothing enqueued\n", cli->prog, WEBHOOK_KEY_MIN);
        return EX_CONFIG;
    }
    /* A file is read from a spool, in bounded memory; --prompt is one job,
     * and variants make several jobs of one entry (submit_in_memory). */
    if (!o.prompt && o.variants <= 1)
        return submit_streamed(cli, &o);
    return submit_in_memory(cli, &o);
}

int submit_in_memory(cli_t *cli, const struct submit_opts *o)
{
    bulk_t b;
    int rc;
    bulk_init(&b);
    if ((rc = submit_validate(cli, o, &b)) == 0)
        rc = o->dry ? submit_dry_run(cli, o, &b) : submit_enqueue(cli, o, &b);
    bulk_free(&b);
    return rc;
}
