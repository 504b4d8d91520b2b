/* fuzz_sqs_message — job_message_decode, the parser of every queue message
 * body the worker receives (SQS or SQLite), and sqs_parse_count on the
 * same bytes as a JSON value (the GetQueueAttributes counts).  The SQS
 * ReceiveMessage reply parser itself (parse_messages in queue_sqs.c) is
 * static and needs a live client, so it is reached only through the
 * emulator tests. */
#include "base/err.h"
#include "jobs/job.h"
#include "queue/queue_sqs_internal.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char batch[JOB_ID_MAX + 1], job[JOB_ID_MAX + 1];
    job_spec_t s;
    err_t err;

    if (job_message_decode((const char *)data, size, batch, job, &s, &err) == ERR_OK) {
        if (!job_id_valid(batch) || !job_id_valid(job))
            abort();    /* decoded ids become object keys */
    }
    job_spec_free(&s);

    json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (v) {
        int64_t n;
        sqs_parse_count(v, &n);
        json_decref(v);
    }
    return 0;
}
