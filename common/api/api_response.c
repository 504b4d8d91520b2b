/* api_response — building responses and reading requests: the JSON body,
 * the JSON error shape every answer uses, the mapping of back-end errors to
 * statuses, and header lookup.  The router and every handler use it, so it
 * sits below both (see api_internal.h, api.h). */
#include "api/api_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void api_response_free(api_response_t *r)
{
    free(r->body);
    r->body = NULL;
    r->body_len = 0;
}

const char *api_header(const api_request_t *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (r->headers[i].name && strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

void api_json(api_response_t *resp, int status, void *json_value)
{
    json_t *v = json_value;
    char *s = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(v);
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
    resp->content_type = "application/json";
    if (!s) {
        static const char oom[] =
            "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
        resp->status = 500;
        if ((resp->body = strdup(oom)))
            resp->body_len = sizeof oom - 1;
        return;
    }
    resp->status = status;
    resp->body = s;
    resp->body_len = strlen(s);
}

void api_error(api_response_t *resp, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    api_json(resp, status,
             json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
}

void api_backend_error(api_response_t *resp, const err_t *e)
{
    snprintf(resp->detail, sizeof resp->detail, "%s: %s", err_name(e->code), e->msg);
    switch (e->code) {
    case ERR_NOTFOUND:
        api_error(resp, 404, "not_found", "%s", e->msg);
        break;
    case ERR_CONFLICT:
    case ERR_EXISTS:
        api_error(resp, 409, "conflict", "%s", e->msg);
        break;
    case ERR_INVALID:
        api_error(resp, 400, "bad_request", "%s", e->msg);
        break;
    case ERR_NOMEM:
    case ERR_INTERNAL:
        api_error(resp, 500, "internal", "internal error");
        break;
    default:
        /* The back-end's own message can name hosts and paths: it goes to
         * the log (detail), the client gets the kind of failure. */
        api_error(resp, 503, "unavailable", "the job store is unavailable (%s); try again",
                  err_name(e->code));
        resp->retry_after = 1;
        break;
    }
}
