/* fuzz_aws_error — http_error_from_aws, the one parser every AWS reply that
 * is not 2xx goes through (SQS, DynamoDB and Bedrock JSON, S3 XML).  The
 * first byte picks the status, the second whether an x-amzn-ErrorType
 * header carries the input's first line; the rest is the body.  The message
 * must stay a terminated string inside err_t. */
#include "base/err.h"
#include "aws/http.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const long statuses[] = {0, 200, 400, 401, 403, 404, 409, 412, 429, 500, 503, 504};
    http_response_t r;
    http_header_t h;
    char value[256];
    err_t err;

    if (size < 2)
        return 0;
    http_response_init(&r);
    r.status = statuses[data[0] % (sizeof statuses / sizeof *statuses)];
    const char *body = (const char *)data + 2;
    size_t len = size - 2;
    if (data[1] & 1) {
        size_t n = 0;
        while (n < len && n + 1 < sizeof value && body[n] != '\n' && body[n] != '\0')
            n++;
        memcpy(value, body, n);
        value[n] = '\0';
        h.name = "x-amzn-errortype";
        h.value = value;
        r.headers = &h;
        r.nheaders = 1;
    }
    if (buf_append(&r.body, body, len) == ERR_OK) {
        err_clear(&err);
        http_error_from_aws(&r, &err);
        if (memchr(err.msg, '\0', sizeof err.msg) == NULL)
            abort();
    }
    r.headers = NULL;
    r.nheaders = 0;
    http_response_free(&r);
    return 0;
}
