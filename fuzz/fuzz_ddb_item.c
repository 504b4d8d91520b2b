/* fuzz_ddb_item — ddb_job_from_item, which turns a DynamoDB item (from
 * GetItem or Query replies) into a ledger_job_t, on any JSON object. */
#include "ledger/ledger_dynamodb_internal.h"
#include "base/err.h"
#include "ledger/ledger.h"

#include <jansson.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *item = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    ledger_job_t j;
    err_t err;

    if (!item)
        return 0;
    memset(&j, 0, sizeof j);
    ddb_job_from_item(item, &j, &err);
    ledger_job_free(&j);
    json_decref(item);
    return 0;
}
