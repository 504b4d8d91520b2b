/* fuzz_api_event — api_event_parse of an API Gateway proxy event (v1 or
 * v2), touching every header the parse produced. */
#include "api/api.h"
#include "base/err.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    api_event_t ev;
    err_t err;

    if (api_event_parse((const char *)data, size, &ev, &err) == ERR_OK) {
        volatile size_t n = 0;
        if (ev.req.method)
            n += strlen(ev.req.method);
        if (ev.req.path)
            n += strlen(ev.req.path);
        api_header(&ev.req, "content-type");
        api_header(&ev.req, "x-api-key");
        (void)n;
    }
    api_event_free(&ev);
    return 0;
}
