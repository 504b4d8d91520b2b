/* fuzz_bulk — bulk_parse of txt, jsonl or csv input (chosen by the first
 * byte, which is then dropped), then bulk_assign_ids on a clean parse. */
#include "base/err.h"
#include "jobs/job.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const bulk_format_t formats[] = {BULK_TXT, BULK_JSONL, BULK_CSV};
    bulk_t b;
    err_t err;

    if (size < 1)
        return 0;
    bulk_format_t fmt = formats[data[0] % 3];
    bulk_init(&b);
    if (bulk_parse("fuzz", (const char *)data + 1, size - 1, fmt, NULL, &b, &err) == ERR_OK)
        bulk_assign_ids(&b);
    bulk_free(&b);
    return 0;
}
