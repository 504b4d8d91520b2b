/* cli_cost — the cost estimate `submit --dry-run` prints and `submit
 * --budget` enforces, from the same price table and the same sum as
 * campaign budgets (campaign_estimate). */
#include "campaign/campaign.h"
#include "cli.h"
#include "jobs/cost.h"

#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

int cli_cost_check(cli_t *cli, const bulk_t *b, double budget, bool dry)
{
    cost_table_t *prices = NULL;
    double usd = 0;
    char money[32], limit[32];
    err_t e;
    int rc = 0;

    if (budget < 0 && !dry)
        return 0;
    err_clear(&e);
    if (cost_table_default(NULL, &prices, &e) != ERR_OK)
        return cli_fail(cli, &e);
    if (campaign_estimate(b, prices, &usd, &e) != ERR_OK) {
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
    if (dry)
        fprintf(stderr, "%s: estimated cost: %s for %zu %s (prices: %s)\n", cli->prog, money,
                b->nitems, b->nitems == 1 ? "job" : "jobs", cost_table_source(prices));
    if (budget >= 0 && usd > budget + 1e-9) {
        snprintf(limit, sizeof limit, "$%.2f", budget);
        fprintf(stderr, "%s: over budget: %zu %s would cost about %s, over --budget %s; "
                "nothing enqueued\n", cli->prog, b->nitems, b->nitems == 1 ? "job" : "jobs",
                money, limit);
        rc = EX_DATAERR;
    }
out:
    cost_table_free(prices);
    return rc;
}
