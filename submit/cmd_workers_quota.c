/* workers_quota — the shared quota's buckets (issue 21) under `onesheet
 * workers`: per model, the rate every worker shares now against the
 * account's quota, the 429 cuts so far and the tokens out in grants. */
#include "cli.h"

#include "jobs/quota_bucket.h"

#include <stdio.h>
#include <stdlib.h>

void cli_print_quotas(cli_t *cli, bool json, int64_t now)
{
    ledger_quota_t *q = NULL;
    size_t n = 0;
    err_t e;

    err_clear(&e);
    if (!ledger_has_quota(cli->ledger) || ledger_quota_list(cli->ledger, &q, &n, &e) != ERR_OK)
        return;   /* the registry above is what was asked; the quota is extra */
    for (size_t i = 0; i < n; i++) {
        quota_bucket_t *b = malloc(sizeof *b);
        if (!b)
            break;
        err_clear(&e);
        if (quota_bucket_decode(q[i].state, b, &e) != ERR_OK) {
            if (!json)
                printf("quota %s: unreadable (%s)\n", q[i].key, e.msg);
            free(b);
            continue;
        }
        if (json) {
            json_t *o = json_pack("{s:s, s:f, s:f, s:I, s:i, s:I, s:I}", "quota", q[i].key,
                                  "rate_rpm", b->rate, "ceiling_rpm", b->ceiling, "cuts",
                                  (json_int_t)b->cuts, "outstanding",
                                  quota_bucket_outstanding(b, now), "granted",
                                  (json_int_t)b->granted, "updated_ms",
                                  (json_int_t)q[i].updated_ms);
            if (o)
                cli_print_json(o);
            json_decref(o);
        } else {
            if (i == 0)
                printf("\n%-44s %10s %10s %6s %11s\n", "SHARED QUOTA (MODEL)", "RATE/MIN",
                       "QUOTA/MIN", "CUTS", "IN GRANTS");
            printf("%-44s %10.1f %10.1f %6lld %11d\n", q[i].key, b->rate, b->ceiling,
                   (long long)b->cuts, quota_bucket_outstanding(b, now));
        }
        free(b);
    }
    ledger_quotas_free(q, n);
}
