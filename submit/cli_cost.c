/* cli_cost — the cost estimate `submit --dry-run` prints and `submit
 * --budget` enforces, from the same price table and the same sum as
 * campaign budgets (cost_estimate).  A dry run that found some jobs in
 * the ledger counts only the others: those are the ones a submit sends. */
#include "cli.h"
#include "jobs/cost.h"

#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

int cli_cost_check(cli_t *cli, const bulk_t *b, double budget, bool dry)
{
    return cli_cost_check_some(cli, b, NULL, 0, budget, dry);
}

int cli_cost_check_some(cli_t *cli, const bulk_t *b, const bool *counted, size_t skipped,
                        double budget, bool dry)
{
    cost_table_t *prices = NULL;
    double usd = 0;
    size_t n = 0;
    char money[32], limit[32], note[64] = "";
    err_t e;
    int rc = 0;

    if (budget < 0 && !dry)
        return 0;
    err_clear(&e);
    if (cost_table_default(NULL, &prices, &e) != ERR_OK)
        return cli_fail(cli, &e);
    if (cost_estimate(b, counted, prices, &usd, &n, &e) != ERR_OK) {
        if (budget >= 0) {
            fprintf(stderr, "%s: --budget: cannot estimate the cost: %s; nothing enqueued\n",
                    cli->prog, e.msg);
            rc = EX_DATAERR;
        } else {
            fprintf(stderr, "%s: estimated cost: unknown (%s)\n", cli->prog, e.msg);
        }
        goto out;
    }
    cost_format(usd, money, sizeof money);
    if (skipped)
        snprintf(note, sizeof note, "%zu already submitted, not counted; ", skipped);
    if (dry)
        fprintf(stderr, "%s: estimated cost: %s for %zu %s%s (%sprices: %s)\n", cli->prog,
                money, n, skipped ? "new " : "", n == 1 ? "job" : "jobs", note,
                cost_table_source(prices));
    if (dry) {
        /* Renditions (issue 20) are composed from the one generation. */
        size_t posters = 0;
        for (size_t i = 0; i < b->nitems; i++)
            if (!counted || counted[i])
                posters += b->items[i].spec.nrenditions ? b->items[i].spec.nrenditions : 1;
        if (posters > n)
            fprintf(stderr, "%s: renditions: %zu posters from %zu %s, costed as one each\n",
                    cli->prog, posters, n, n == 1 ? "generation" : "generations");
    }
    if (budget >= 0 && usd > budget + 1e-9) {
        snprintf(limit, sizeof limit, "$%.2f", budget);
        fprintf(stderr, "%s: over budget: %zu %s%s would cost about %s, over --budget %s; "
                "nothing enqueued\n", cli->prog, n, skipped ? "new " : "",
                n == 1 ? "job" : "jobs", money, limit);
        rc = EX_DATAERR;
    }
out:
    cost_table_free(prices);
    return rc;
}
