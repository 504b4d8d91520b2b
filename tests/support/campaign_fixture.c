/* campaign_fixture — see campaign_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "campaign_fixture.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

campaign_fx_t *campaign_fx_new(const char *prices_json)
{
    campaign_fx_t *fx = calloc(1, sizeof *fx);
    err_t e;
    assert_non_null(fx);
    err_clear(&e);
    fx->dir = tu_mkdtemp();
    snprintf(fx->url, sizeof fx->url, "sqlite:%s/onesheet.db", fx->dir);
    if (!(fx->l = ledger_open(fx->url, &e)) || !(fx->q = queue_open(fx->url, &e)))
        fail_msg("open: %s", e.msg);
    if ((prices_json ? cost_table_parse("prices", prices_json, strlen(prices_json),
                                        &fx->prices, &e)
                     : cost_table_builtin(&fx->prices, &e)) != ERR_OK)
        fail_msg("prices: %s", e.msg);
    return fx;
}

void campaign_fx_free(campaign_fx_t *fx)
{
    ledger_close(fx->l);
    queue_close(fx->q);
    cost_table_free(fx->prices);
    tu_rmtree(fx->dir);
    free(fx->dir);
    free(fx);
}

void campaign_fx_parse(const char *json, campaign_t *c)
{
    err_t e;
    if (campaign_parse("c.json", ".", json, strlen(json), c, &e) != ERR_OK)
        fail_msg("%s", e.msg);
}

int64_t campaign_fx_slot(const char *iso)
{
    int64_t t;
    err_t e;
    if (oncalendar_parse_iso(iso, &t, &e) != ERR_OK)
        fail_msg("%s: %s", iso, e.msg);
    return t;
}
