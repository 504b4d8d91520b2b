/* fuzz_campaign — campaign_parse of a campaign file, then what `campaign
 * plan/run` do with a valid one: count candidates, pick the default slot and
 * build the firing's jobs (expansion of templates included).  Files named
 * by the campaign resolve in an empty directory. */
#include "campaign/campaign.h"
#include "base/err.h"
#include "jobs/job.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    campaign_t c;
    err_t err;

    if (campaign_parse("fuzz.json", "/nonexistent-fuzz-dir", (const char *)data, size,
                       &c, &err) == ERR_OK) {
        uint64_t n = 0;
        int64_t slot = 0;
        if (campaign_candidates(&c, &n, &err) == ERR_OK &&
            campaign_default_slot(&c, 1795000000, &slot, &err) == ERR_OK) {
            bulk_t b;
            bulk_init(&b);
            campaign_build(&c, slot, "draft", &b, &err);
            bulk_free(&b);
        }
    }
    campaign_free(&c);
    return 0;
}
