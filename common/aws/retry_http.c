/* retry_http — the retry loop over HTTP attempts; see retry_http.h.  The
 * policy it follows (backoff, token bucket, adaptive limiter, clock) is
 * retry.c's. */
#include "aws/retry_http.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <time.h>

/* A 403 without a body (S3 answers HEAD so, RequestTimeTooSkewed
 * included) names no error code; it is taken for clock skew when the
 * server's Date is further than this from the time the request was signed
 * at (the SDKs use 4 minutes; SigV4 allows 15). */
#define BODILESS_SKEW_S 240

/* Whether a failed attempt signed at signed_at is a bodiless 403 from a
 * server whose clock is off (see BODILESS_SKEW_S). */
static bool bodiless_skew(const http_response_t *resp, const err_t *e, int64_t signed_at)
{
    if (e->code != ERR_AUTH || resp->status != 403 || resp->body.len != 0 ||
        e->service_code[0])
        return false;
    const char *date = http_response_header(resp, "date");
    time_t t = date ? curl_getdate(date, NULL) : -1;
    return t > 0 && llabs((long long)((int64_t)t - signed_at)) > BODILESS_SKEW_S;
}

err_code_t retry_run(retry_t *r, retry_attempt_fn fn, void *ud,
                     http_response_t *resp, err_t *err)
{
    http_response_t local;
    err_t e;
    int last_cost = 0, retries = 0, attempt = 0;
    bool skew_retried = false;
    const char *why = "";
    err_code_t rc;

    if (!resp) {
        resp = &local;
        http_response_init(resp);
    }
    for (;;) {
        attempt++;
        http_response_free(resp);
        err_clear(&e);
        retry_before_attempt(r);
        int64_t signed_at = retry_clock_now(r);
        rc = fn(r, attempt, ud, resp, &e);
        if (rc != ERR_OK && e.code == ERR_OK)
            e.code = rc;
        if (rc != ERR_OK && bodiless_skew(resp, &e, signed_at)) {
            e.code = rc = ERR_SKEW;
            err_prefix(&e, "clock skew (403 without a body, Date %s)",
                       http_response_header(resp, "date"));
        }
        /* A transfer that got no status measured no server answer. */
        retry_observe(r, rc == ERR_OK || resp->status != 0,
                      rc != ERR_OK && e.code == ERR_THROTTLED);
        if (rc == ERR_OK) {
            retry_succeeded(r, last_cost);
            err_clear(err);
            break;
        }
        if (e.code == ERR_SKEW && err_is_retryable(&e)) {
            if (skew_retried)
                break;
            /* A corrected clock, not an outage: retry at once, outside the
             * attempt budget and without spending tokens. */
            retry_clock_observe(r, http_response_header(resp, "date"));
            skew_retried = true;
            continue;
        }
        if (!retry_again(r, &e, retries, &last_cost, &why))
            break;
        retries++;
    }
    if (rc != ERR_OK && err) {
        *err = e;
        if (attempt > 1 || *why)
            err_prefix(err, "%safter %d attempt%s", why, attempt, attempt > 1 ? "s" : "");
    }
    if (resp == &local)
        http_response_free(&local);
    return rc == ERR_OK ? ERR_OK : e.code;
}

typedef struct {
    http_client_t *c;
    const http_request_t *req;
} http_ud_t;

static err_code_t http_attempt(retry_t *r, int attempt, void *ud,
                               http_response_t *resp, err_t *err)
{
    http_ud_t *h = ud;
    (void)r;
    (void)attempt;
    err_code_t rc = http_do(h->c, h->req, resp, err);
    if (rc != ERR_OK)
        return rc;
    return http_error_from_aws(resp, err);
}

err_code_t retry_http(retry_t *r, http_client_t *c, const http_request_t *req,
                      http_response_t *resp, err_t *err)
{
    http_ud_t h = {c, req};
    return retry_run(r, http_attempt, &h, resp, err);
}
