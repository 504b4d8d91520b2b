/* fuzz_job — job_spec_parse_json, then job_spec_normalise and the canonical
 * JSON of whatever survives, which must parse again to the same bytes (a
 * spec that round-trips differently would change its job id on retry). */
#include "base/buf.h"
#include "base/err.h"
#include "jobs/job.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    job_spec_t s;
    err_t err;

    job_spec_init(&s);
    if (job_spec_parse_json((const char *)data, size, &s, &err) == ERR_OK &&
        job_spec_normalise(&s, NULL, &err) == ERR_OK) {
        buf_t a = BUF_INIT, b = BUF_INIT;
        job_spec_t again;
        job_spec_init(&again);
        if (job_spec_to_json(&s, &a) == ERR_OK) {
            if (job_spec_parse_json((const char *)a.data, a.len, &again, &err) != ERR_OK ||
                job_spec_normalise(&again, NULL, &err) != ERR_OK)
                abort();   /* canonical JSON we wrote must be accepted */
            if (job_spec_to_json(&again, &b) != ERR_OK || a.len != b.len ||
                memcmp(a.data, b.data, a.len) != 0)
                abort();   /* and must be a fixed point */
        }
        job_spec_free(&again);
        buf_free(&a);
        buf_free(&b);
    }
    job_spec_free(&s);
    return 0;
}
