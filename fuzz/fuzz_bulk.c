/* fuzz_bulk — bulk_parse of txt, jsonl or csv input (chosen by the first
 * byte, which is then dropped), then bulk_assign_ids on a clean parse; and
 * bulk_parse_sink (what the streamed submit reads with) over the same
 * input, which must see every job bulk_parse kept and no error it did not
 * report. */
#include "base/err.h"
#include "jobs/bulk_sink.h"
#include "jobs/job.h"

#include <stdint.h>

typedef struct {
    size_t specs, errors;
} seen_t;

static bool on_spec(void *ud, size_t line, job_spec_t *spec)
{
    (void)line;
    ((seen_t *)ud)->specs++;
    job_spec_free(spec);
    return true;
}

static bool on_error(void *ud, const bulk_error_t *e)
{
    (void)e;
    ((seen_t *)ud)->errors++;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const bulk_format_t formats[] = {BULK_TXT, BULK_JSONL, BULK_CSV};
    seen_t seen = {0, 0};
    bulk_sink_t sink = {.ud = &seen, .spec = on_spec, .error = on_error};
    bulk_t b;
    err_t err;
    err_code_t rc;

    if (size < 1)
        return 0;
    bulk_format_t fmt = formats[data[0] % 3];
    bulk_init(&b);
    rc = bulk_parse("fuzz", (const char *)data + 1, size - 1, fmt, NULL, &b, &err);
    if (rc == ERR_OK)
        bulk_assign_ids(&b);
    if (rc != ERR_NOMEM &&
        bulk_parse_sink("fuzz", (const char *)data + 1, size - 1, fmt, NULL, &sink, &err) ==
            ERR_OK &&
        (seen.specs < b.nitems || seen.errors > b.nerrors))
        __builtin_trap();
    bulk_free(&b);
    return 0;
}
