/* promote — generate the proofs someone chose on a paid model (issue 20,
 * item 3): the estimate first, then one new batch carrying each source
 * job's spec and seed with the model replaced.  See review/promote.h. */
#include "cli.h"
#include "review/promote.h"
#include "cli_models.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: onesheet promote BATCH --model M [options]\n"
            "  --model M              the model to generate on (required)\n"
            "  --only approved|all    which succeeded proofs: the approved ones (default)\n"
            "                         or all of them\n"
            "  --budget USD           refuse (enqueue nothing) when the estimate is over USD\n"
            "  --dry-run              show the estimate and what would be enqueued\n"
            "  --json                 machine-readable output (as submit --json)\n");
}

struct promote_args {
    promote_opts_t o;
    bool dry, json;
};

/* argv → a; returns 0, -1 after --help, or EX_USAGE after saying why. */
static int parse(cli_t *cli, int argc, char **argv, struct promote_args *a)
{
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'}, {"only", required_argument, NULL, 'o'},
        {"budget", required_argument, NULL, 'B'}, {"dry-run", no_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int opt;

    *a = (struct promote_args){.o = {.only_approved = true, .budget_usd = -1}};
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'm': a->o.model = optarg; break;
        case 'o':
            if (strcmp(optarg, "approved") && strcmp(optarg, "all")) {
                fprintf(stderr, "%s: --only: expected approved or all, got \"%s\"\n",
                        cli->prog, CLI_SHOWN(optarg));
                return EX_USAGE;
            }
            a->o.only_approved = strcmp(optarg, "approved") == 0;
            break;
        case 'B': {
            char *end;
            errno = 0;
            double v = strtod(optarg, &end);
            if (errno || *end || end == optarg || !(v >= 0 && v <= 1e9)) {
                fprintf(stderr, "%s: --budget: expected a number of USD from 0 to 1e+09, "
                        "got \"%s\"\n", cli->prog, CLI_SHOWN(optarg));
                return EX_USAGE;
            }
            a->o.budget_usd = v;
            break;
        }
        case 'n': a->dry = true; break;
        case 'j': a->json = true; break;
        case 'h': usage(stdout); return -1;
        default: usage(stderr); return EX_USAGE;
        }
    }
    if (argc - optind != 1 || !a->o.model) {
        fprintf(stderr, "%s: give one BATCH and --model M\n", cli->prog);
        usage(stderr);
        return EX_USAGE;
    }
    a->o.batch_id = argv[optind];
    return 0;
}

/* Prints what the plan says before anything is written: the selection,
 * seeds folded, and the estimate. */
static void print_plan(const cli_t *cli, const struct promote_args *a, const promote_plan_t *p)
{
    char money[32], limit[32];
    if (p->already)
        fprintf(stderr, "%s: %zu of %zu selected %s already promoted to %s (batch %s): "
                "left out\n", cli->prog, p->already, p->selected,
                p->selected == 1 ? "job was" : "jobs were", a->o.model, p->already_batch);
    if (p->seeds_mapped)
        fprintf(stderr, "%s: %zu %s above the largest seed %lld of %s: folded into its "
                "range (seed mod %lld), the same for every run\n", cli->prog, p->seeds_mapped,
                p->seeds_mapped == 1 ? "seed is" : "seeds are", (long long)p->seed_max,
                a->o.model, (long long)p->seed_max + 1);
    if (p->b.nitems == 0)
        return;
    fprintf(stderr, "%s: estimated cost: %s for %zu %s on %s%s%s%s\n", cli->prog,
            cost_format(p->usd, money, sizeof money), p->b.nitems,
            p->b.nitems == 1 ? "poster" : "posters", a->o.model,
            a->o.budget_usd >= 0 ? " (budget " : "",
            a->o.budget_usd >= 0 ? cost_format(a->o.budget_usd, limit, sizeof limit) : "",
            a->o.budget_usd >= 0 ? ")" : "");
}

int cmd_promote(cli_t *cli, int argc, char **argv)
{
    struct promote_args a;
    promote_plan_t p;
    cost_table_t *prices = NULL;
    submit_result_t res = {0};
    int rc = parse(cli, argc, argv, &a);
    err_t e;

    if (rc)
        return rc < 0 ? 0 : rc;
    if ((rc = cli_open(cli, a.dry ? CLI_LEDGER : CLI_QUEUE | CLI_LEDGER)) != 0)
        return rc;
    /* A known model Bedrock no longer lists would only fail in the worker. */
    if (a.o.model && (rc = cli_model_lifecycle(cli, a.o.model, "--model", false)) != 0)
        return rc;
    err_clear(&e);
    if (cost_table_default(NULL, &prices, &e) != ERR_OK)
        return cli_fail(cli, &e);
    err_code_t pc = promote_plan(cli->ledger, &a.o, prices, &p, &e);
    if (pc == ERR_OK || pc == ERR_TOOBIG)
        print_plan(cli, &a, &p);
    if (pc != ERR_OK) {
        if (pc == ERR_INVALID || pc == ERR_NOTFOUND || pc == ERR_TOOBIG) {
            fprintf(stderr, "%s: %s%s\n", cli->prog, CLI_SHOWN(e.msg),
                    pc == ERR_TOOBIG ? "" : "; nothing enqueued");
            rc = EX_DATAERR;
        } else {
            rc = cli_fail(cli, &e);
        }
        goto out;
    }
    if (p.b.nitems == 0) {
        fprintf(stderr, "%s: nothing new to promote: every selected job is already on %s\n",
                cli->prog, a.o.model);
        if (a.json)
            printf("{\"batch\":\"%s\",\"jobs\":0,\"new\":0,\"enqueued\":0,\"invalid\":0}\n",
                   p.already_batch);
        else
            printf("%s\n", p.already_batch);
        goto out;
    }
    if (a.dry) {
        if (a.json)
            printf("{\"batch\":\"%s\",\"dry_run\":true,\"jobs\":%zu,\"new\":%zu,"
                   "\"enqueued\":0,\"invalid\":0}\n", p.b.batch_id, p.b.nitems, p.b.nitems);
        else
            for (size_t i = 0; i < p.b.nitems; i++)
                printf("%-24s from %-24s seed %lld\n", p.b.items[i].job_id, p.from[i],
                       (long long)p.b.items[i].spec.seed);
        fprintf(stderr, "%s: dry run: would promote %zu %s of %s to %s in batch %s\n",
                cli->prog, p.b.nitems, p.b.nitems == 1 ? "job" : "jobs", a.o.batch_id,
                a.o.model, p.b.batch_id);
        goto out;
    }
    if (promote_commit(cli->queue, cli->ledger, &p, &res, &e) != ERR_OK) {
        rc = cli_fail(cli, &e);
        goto out;
    }
    if (a.json)
        printf("{\"batch\":\"%s\",\"jobs\":%zu,\"new\":%zu,\"enqueued\":%zu,\"invalid\":0}\n",
               p.b.batch_id, p.b.nitems, res.added, res.sent);
    else
        printf("%s\n", p.b.batch_id);
    fprintf(stderr, "%s: batch %s: enqueued %zu of %zu promoted %s from %s on %s\n", cli->prog,
            p.b.batch_id, res.sent, p.b.nitems, p.b.nitems == 1 ? "job" : "jobs",
            a.o.batch_id, a.o.model);
out:
    promote_plan_free(&p);
    cost_table_free(prices);
    return rc;
}
