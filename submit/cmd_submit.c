/* submit — validate a bulk file (or one --prompt) and enqueue its jobs.
 *
 * Nothing is half-done: every line is validated before anything is written,
 * and one bad line enqueues nothing unless --skip-invalid.  The batch and job
 * ids are content hashes, so submitting the same input again finds the batch
 * in the ledger and enqueues nothing new.  Ledger first, queue second: jobs
 * are recorded with enqueued_ms = 0, sent, then marked; a crash in between
 * is repaired by simply submitting again (pending jobs are re-sent; a
 * duplicate message is harmless because processing is idempotent). */
#include "cli.h"
#include "jobs/job.h"
#include "jobs/submit.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

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
            "  --dry-run                validate and show what would be enqueued, and its cost\n"
            "  --budget USD             refuse (enqueue nothing) when the estimate is over USD\n"
            "  --wait                   wait for the batch to finish (see onesheet wait)\n"
            "  --output FILE            with --wait: write the results manifest\n"
            "  --json                   machine-readable output\n");
}

static int read_all(FILE *fp, char **data, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *d = malloc(cap);
    if (!d)
        return -1;
    for (;;) {
        if (n == cap) {
            char *nd = realloc(d, cap * 2);
            if (!nd) {
                free(d);
                return -1;
            }
            d = nd;
            cap *= 2;
        }
        size_t got = fread(d + n, 1, cap - n, fp);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(fp)) {
        free(d);
        return -1;
    }
    *data = d;
    *len = n;
    return 0;
}

/* Builds a one-item bulk from --prompt. */
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

int cmd_submit(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"prompt", required_argument, NULL, 'P'}, {"format", required_argument, NULL, 'f'},
        {"model", required_argument, NULL, 'm'}, {"aspect", required_argument, NULL, 'a'},
        {"seed", required_argument, NULL, 's'}, {"title", required_argument, NULL, 't'},
        {"skip-invalid", no_argument, NULL, 'k'}, {"dry-run", no_argument, NULL, 'n'},
        {"budget", required_argument, NULL, 'B'},
        {"wait", no_argument, NULL, 'w'}, {"output", required_argument, NULL, 'o'},
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *prompt = NULL, *output = NULL, *seed_s = NULL;
    bool skip_invalid = false, dry = false, wait = false, json = false;
    double budget = -1;
    int fmt = BULK_AUTO, opt, rc;
    job_defaults_t d = {.seed = JOB_SEED_UNSET};
    bulk_t b;
    err_t e;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'P': prompt = optarg; break;
        case 'f':
            if ((fmt = bulk_format_parse(optarg)) < 0) {
                fprintf(stderr, "%s: --format: expected txt, jsonl or csv, got \"%s\"\n",
                        cli->prog, optarg);
                return EX_USAGE;
            }
            break;
        case 'm': d.model = optarg; break;
        case 'a': d.aspect_ratio = optarg; break;
        case 's': seed_s = optarg; break;
        case 't': d.title = optarg; break;
        case 'k': skip_invalid = true; break;
        case 'n': dry = true; break;
        case 'B': {
            char *end;
            budget = strtod(optarg, &end);
            if (*end || end == optarg || !(budget >= 0 && budget <= 1e9)) {
                fprintf(stderr, "%s: --budget: must be a number of USD, got \"%s\"\n",
                        cli->prog, optarg);
                return EX_USAGE;
            }
            break;
        }
        case 'w': wait = true; break;
        case 'o': output = optarg; break;
        case 'j': json = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return EX_USAGE;
        }
    }
    if ((prompt != NULL) == (optind < argc) || argc - optind > 1) {
        fprintf(stderr, "%s: give exactly one FILE (or -) or --prompt TEXT\n", cli->prog);
        usage(stderr);
        return EX_USAGE;
    }
    if (seed_s) {
        char *end;
        errno = 0;
        long long v = strtoll(seed_s, &end, 10);
        if (errno || *end || end == seed_s || v < 0 || v > JOB_SEED_MAX) {
            fprintf(stderr, "%s: --seed: must be an integer between 0 and %lld\n",
                    cli->prog, JOB_SEED_MAX);
            return EX_USAGE;
        }
        d.seed = v;
    }
    if ((rc = cli_open(cli, dry ? 0 : CLI_QUEUE | CLI_LEDGER)) != 0)
        return rc;
    if (!d.model)
        d.model = cli->cfg.model;

    bulk_init(&b);
    err_clear(&e);
    const char *name = prompt ? "--prompt" : argv[optind];
    err_code_t prc;
    if (prompt) {
        prc = single_prompt(prompt, &d, &b, &e);
        if (prc != ERR_OK) {
            bulk_free(&b);
            return cli_fail(cli, &e);
        }
    } else {
        FILE *fp = strcmp(name, "-") == 0 ? stdin : fopen(name, "rb");
        char *data = NULL;
        size_t len = 0;
        if (!fp) {
            fprintf(stderr, "%s: %s: %s\n", cli->prog, name, strerror(errno));
            return EX_NOINPUT;
        }
        if (read_all(fp, &data, &len) != 0) {
            fprintf(stderr, "%s: %s: cannot read: %s\n", cli->prog, name, strerror(errno));
            if (fp != stdin)
                fclose(fp);
            return EX_NOINPUT;
        }
        if (fp != stdin)
            fclose(fp);
        if (fmt == BULK_AUTO && strcmp(name, "-") == 0)
            fmt = BULK_TXT;
        prc = bulk_parse(name, data, len, (bulk_format_t)fmt, &d, &b, &e);
        free(data);
        if (prc == ERR_NOMEM) {
            bulk_free(&b);
            return cli_fail(cli, &e);
        }
    }
    /* A file of garbage should not flood the terminal: the first 200 errors
     * say enough, and the count says the rest. */
    for (size_t i = 0; i < b.nerrors && i < 200; i++)
        fprintf(stderr, "%s\n", b.errors[i].msg);
    if (b.nerrors > 200)
        fprintf(stderr, "%s: ... and %zu more invalid entries\n", cli->prog, b.nerrors - 200);
    if (b.nerrors && (!skip_invalid || b.nitems == 0)) {
        fprintf(stderr, "%s: %zu invalid %s; nothing enqueued%s\n", cli->prog, b.nerrors,
                b.nerrors == 1 ? "entry" : "entries",
                b.nitems && !skip_invalid ? " (--skip-invalid enqueues the valid ones)" : "");
        bulk_free(&b);
        return EX_DATAERR;
    }
    if (b.nitems == 0 && prc != ERR_OK) {
        fprintf(stderr, "%s: %s\n", cli->prog, e.msg);
        bulk_free(&b);
        return EX_DATAERR;
    }
    if (bulk_assign_ids(&b) != ERR_OK) {
        err_set(&e, ERR_NOMEM, "out of memory");
        bulk_free(&b);
        return cli_fail(cli, &e);
    }
    if (b.nduplicates)
        fprintf(stderr, "%s: %zu duplicate %s folded into one job each\n", cli->prog,
                b.nduplicates, b.nduplicates == 1 ? "entry" : "entries");

    if ((rc = cli_cost_check(cli, &b, budget, dry)) != 0) {
        bulk_free(&b);
        return rc;
    }
    if (dry) {
        for (size_t i = 0; i < b.nitems; i++) {
            buf_t spec = BUF_INIT;
            job_spec_to_json_with_id(&b.items[i].spec, &spec);
            if (json)
                printf("{\"batch\":\"%s\",\"id\":\"%s\",\"line\":%zu,\"spec\":%s}\n",
                       b.batch_id, b.items[i].job_id, b.items[i].line, (char *)spec.data);
            else {
                char shortp[200];
                printf("%-24s line %-6zu %s\n", b.items[i].job_id, b.items[i].line,
                       cli_ellipsize(b.items[i].spec.prompt, 60, shortp, sizeof shortp));
            }
            buf_free(&spec);
        }
        fprintf(stderr, "%s: dry run: would enqueue %zu %s in batch %s (%zu skipped as invalid)\n",
                cli->prog, b.nitems, b.nitems == 1 ? "job" : "jobs", b.batch_id, b.nerrors);
        bulk_free(&b);
        return 0;
    }

    submit_result_t res;
    size_t added, sent;
    rc = 0;
    if (submit_batch(cli->queue, cli->ledger, &b, name, &res, &e) != ERR_OK) {
        rc = cli_fail(cli, &e);
        goto out;
    }
    added = res.added;
    sent = res.sent;
    if (json)
        printf("{\"batch\":\"%s\",\"jobs\":%zu,\"new\":%zu,\"enqueued\":%zu,\"invalid\":%zu}\n",
               b.batch_id, b.nitems, added, sent, b.nerrors);
    else
        printf("%s\n", b.batch_id);
    if (sent == 0)
        fprintf(stderr, "%s: batch %s already submitted: nothing new to enqueue (%zu jobs)\n",
                cli->prog, b.batch_id, b.nitems);
    else
        fprintf(stderr, "%s: batch %s: enqueued %zu of %zu %s%s%s\n", cli->prog, b.batch_id,
                sent, b.nitems, b.nitems == 1 ? "job" : "jobs",
                b.nerrors ? ", skipped invalid: " : "", b.nerrors ? "see above" : "");
    if (wait)
        rc = cli_wait_batch(cli, b.batch_id, output, 0, false);
out:
    bulk_free(&b);
    return rc;
}
