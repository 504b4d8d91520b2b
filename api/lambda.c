/* lambda — onesheet-api as an AWS Lambda custom runtime (provided.al2023).
 *
 * The Runtime API loop: GET .../invocation/next blocks until an event
 * arrives; the event (an API Gateway proxy request) goes through the same
 * router as HTTP; the proxy response is POSTed to .../invocation/ID/response.
 * EventBridge Scheduler's {"onesheet": "campaign-run", ...} events run one
 * campaign firing (api_campaign_event) and answer its result, or report why
 * it was refused to .../ID/error.  Any other event that is not a proxy
 * request is reported to .../ID/error.  The Runtime API is plain HTTP on a
 * local address (AWS_LAMBDA_RUNTIME_API). */
#include "server.h"

#include "campaign/campaign.h"
#include "aws/http.h"
#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RUNTIME_PATH "/2018-06-01/runtime"
#define EVENT_MAX (8u << 20)   /* Lambda's own payload limit is 6 MB */

static http_client_t *runtime_client(err_t *err)
{
    /* The Runtime API is always local and plain HTTP; next blocks for as
     * long as the function stays idle. */
    http_options_t ho = {.connect_timeout_ms = 2000, .timeout_ms = 24L * 3600 * 1000,
                         .max_response = EVENT_MAX, .allow_insecure_http = true};
    return http_client_new(&ho, err);
}

static err_code_t post(http_client_t *c, const char *url, const char *body, size_t len,
                       const char *error_type, err_t *err)
{
    http_header_t h[2] = {{"Content-Type", "application/json"},
                          {"Lambda-Runtime-Function-Error-Type", error_type}};
    http_request_t rq = {.method = "POST", .url = url, .headers = h,
                         .nheaders = error_type ? 2 : 1, .body = body, .body_len = len,
                         .timeout_ms = 10000};
    http_response_t rs;
    http_response_init(&rs);
    err_code_t rc = http_do(c, &rq, &rs, err);
    if (rc == ERR_OK && (rs.status < 200 || rs.status > 299))
        rc = err_set(err, ERR_UNAVAILABLE, "runtime API answered %ld to %s", rs.status, url);
    http_response_free(&rs);
    return rc;
}

static void post_error(http_client_t *c, const char *url, const char *type, const char *msg)
{
    buf_t b = BUF_INIT;
    err_t e;
    char esc[600];
    size_t o = 0;
    /* The message is ours (an event parse error): escape quotes,
     * backslashes and control bytes for the JSON string. */
    for (const char *p = msg; *p && o + 7 < sizeof esc; p++) {
        if (*p == '"' || *p == '\\')
            esc[o++] = '\\';
        esc[o++] = (unsigned char)*p < 0x20 ? ' ' : *p;
    }
    esc[o] = '\0';
    buf_appendf(&b, "{\"errorMessage\":\"%s\",\"errorType\":\"%s\"}", esc, type);
    if (post(c, url, (const char *)b.data, b.len, type, &e) != ERR_OK)
        log_warn("runtime_error_post_failed", "error=\"%s\"", e.msg);
    buf_free(&b);
}

void lambda_init_error(const char *type, const char *message)
{
    const char *rt = getenv("AWS_LAMBDA_RUNTIME_API");
    char url[512];
    err_t e;
    if (!rt || !*rt)
        return;
    http_client_t *c = runtime_client(&e);
    if (!c)
        return;
    snprintf(url, sizeof url, "http://%s" RUNTIME_PATH "/init/error", rt);
    post_error(c, url, type, message);
    http_client_free(c);
}

/* The errorType a refused firing is reported with, so the function's
 * errors say at a glance whether retrying can help. */
static const char *campaign_error_type(err_code_t rc)
{
    switch (rc) {
    case ERR_TOOBIG: return "Campaign.OverBudget";
    case ERR_INVALID:
    case ERR_NOINPUT:
    case ERR_NOTFOUND:
    case ERR_CONFIG: return "Campaign.Invalid";
    case ERR_CONFLICT: return "Campaign.Conflict";
    default: return err_is_retryable(&(err_t){.code = rc}) ? "Campaign.Unavailable"
                                                          : "Campaign.Failed";
    }
}

/* A scheduler's campaign event: one firing, its result JSON as the answer.
 * Campaign files named by relative paths live in the function's package
 * (LAMBDA_TASK_ROOT). */
static void invoke_campaign(api_t *api, http_client_t *c, const char *rt, const char *id,
                            const buf_t *event)
{
    char url[600];
    const char *root = getenv("LAMBDA_TASK_ROOT");
    buf_t out = BUF_INIT;
    err_t e;

    err_clear(&e);
    err_code_t rc = api_campaign_event(api, (const char *)event->data, event->len,
                                       root && *root ? root : ".", &out, &e);
    char q[1200];
    if (rc != ERR_OK) {
        log_warn("campaign_refused", "request_id=%s code=%s error=%s", id, err_name(rc),
                 log_q(e.msg, q, sizeof q));
        snprintf(url, sizeof url, "http://%s" RUNTIME_PATH "/invocation/%s/error", rt, id);
        post_error(c, url, campaign_error_type(rc), e.msg);
    } else {
        log_info("campaign_fired", "request_id=%s result=%s", id,
                 log_q((const char *)out.data, q, sizeof q));
        snprintf(url, sizeof url, "http://%s" RUNTIME_PATH "/invocation/%s/response", rt, id);
        if (post(c, url, (const char *)out.data, out.len, NULL, &e) != ERR_OK)
            log_warn("response_post_failed", "request_id=%s error=\"%s\"", id, e.msg);
    }
    buf_free(&out);
}

/* Handles one invocation: event in, proxy response (or error) out. */
static void invoke(api_t *api, http_client_t *c, const char *rt, const char *id,
                   int64_t deadline_ms, const buf_t *event)
{
    char url[600];
    api_event_t ev;
    api_response_t r;
    buf_t out = BUF_INIT;
    err_t e;

    err_clear(&e);
    memset(&r, 0, sizeof r);
    if (campaign_event_match((const char *)event->data, event->len)) {
        invoke_campaign(api, c, rt, id, event);
        return;
    }
    if (api_event_parse((const char *)event->data, event->len, &ev, &e) != ERR_OK) {
        log_warn("invalid_event", "request_id=%s error=\"%s\"", id, e.msg);
        snprintf(url, sizeof url, "http://%s" RUNTIME_PATH "/invocation/%s/error", rt, id);
        post_error(c, url, "InvalidEvent", e.msg);
        api_event_free(&ev);
        return;
    }
    ev.req.deadline_ms = deadline_ms;
    api_handle(api, &ev.req, &r);
    if (r.status >= 500)
        log_warn("request", "request_id=%s method=%s path=%s status=%d detail=%s", id,
                 ev.req.method, ev.req.path, r.status, r.detail);
    else
        log_debug("request", "request_id=%s method=%s path=%s status=%d", id, ev.req.method,
                  ev.req.path, r.status);
    snprintf(url, sizeof url, "http://%s" RUNTIME_PATH "/invocation/%s/response", rt, id);
    if (api_event_response(&r, &out) != ERR_OK)
        post_error(c, url, "Runtime.OutOfMemory", "out of memory");
    else if (post(c, url, (const char *)out.data, out.len, NULL, &e) != ERR_OK)
        log_warn("response_post_failed", "request_id=%s error=\"%s\"", id, e.msg);
    buf_free(&out);
    api_response_free(&r);
    api_event_free(&ev);
}

static bool valid_request_id(const char *s)
{
    if (!s || !*s || strlen(s) > 128)
        return false;
    for (; *s; s++)
        if (!(*s >= '0' && *s <= '9') && !(*s >= 'a' && *s <= 'z') &&
            !(*s >= 'A' && *s <= 'Z') && *s != '-' && *s != '_')
            return false;
    return true;
}

int lambda_run(api_t *api, volatile sig_atomic_t *stop)
{
    const char *rt = getenv("AWS_LAMBDA_RUNTIME_API");
    char url[512];
    err_t e;

    if (!rt || !*rt || strlen(rt) > 200) {
        log_error("start_failed", "error=\"AWS_LAMBDA_RUNTIME_API is not set\"");
        return 78;
    }
    http_client_t *c = runtime_client(&e);
    if (!c) {
        log_error("start_failed", "error=\"%s\"", e.msg);
        return 71;
    }
    snprintf(url, sizeof url, "http://%s" RUNTIME_PATH "/invocation/next", rt);
    log_info("lambda_started", "runtime_api=%s auth=%s", rt,
             api_auth_enabled(api) ? "api_keys" : "off");
    http_response_t rs;
    http_response_init(&rs);
    while (!*stop) {
        http_request_t rq = {.method = "GET", .url = url};
        err_clear(&e);
        if (http_do(c, &rq, &rs, &e) != ERR_OK || rs.status != 200) {
            /* The Runtime API is gone or busy: back off briefly, and
             * notice a stop request between attempts. */
            log_debug("next_failed", "status=%ld error=\"%s\"", rs.status, e.msg);
            usleep(100 * 1000);
            continue;
        }
        const char *id = http_response_header(&rs, "lambda-runtime-aws-request-id");
        const char *dl = http_response_header(&rs, "lambda-runtime-deadline-ms");
        if (!valid_request_id(id)) {
            log_warn("bad_invocation", "error=\"missing or bad request id\"");
            continue;
        }
        invoke(api, c, rt, id, dl ? strtoll(dl, NULL, 10) : 0, &rs.body);
    }
    http_response_free(&rs);
    http_client_free(c);
    log_info("stopping", "reason=signal");
    return 0;
}
