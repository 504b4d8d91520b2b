/* campaign_fixture — what the campaign unit tests share: the embedded
 * queue and ledger in a private directory with a price table, and the
 * small helpers to parse a campaign and a slot or fail the test. */
#ifndef ONESHEET_TEST_CAMPAIGN_FIXTURE_H
#define ONESHEET_TEST_CAMPAIGN_FIXTURE_H

#include "campaign/campaign.h"

#include <stdint.h>

typedef struct {
    char *dir;              /* the private directory (removed on free) */
    char url[512];          /* "sqlite:DIR/onesheet.db": the queue and the ledger */
    ledger_t *l;
    queue_t *q;
    cost_table_t *prices;
} campaign_fx_t;

/* A new fixture; prices_json is a price table ({"per_image": {...}}), or
 * NULL for the built-in one.  Fails the test on error. */
campaign_fx_t *campaign_fx_new(const char *prices_json);
void campaign_fx_free(campaign_fx_t *fx);
/* Parses json as campaign file "c.json" (relative lists under ".") into c,
 * or fails the test with the message. */
void campaign_fx_parse(const char *json, campaign_t *c);
/* The unix time of an ISO 8601 UTC slot, or fails the test. */
int64_t campaign_fx_slot(const char *iso);

#endif
