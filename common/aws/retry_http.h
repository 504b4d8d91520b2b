/* retry_http — retry_run(), the loop that runs one AWS call's HTTP
 * attempts under a retry_t's policy (retry.h), correcting clock skew from
 * the replies' Date headers. */
#ifndef ONESHEET_RETRY_HTTP_H
#define ONESHEET_RETRY_HTTP_H

#include "aws/http.h"
#include "aws/retry.h"

/* One attempt: sign (with retry_clock_now(r)) and send, leaving the reply in
 * resp (already empty on entry) and turning a failure into err, e.g. with
 * http_error_from_aws().  attempt is 1-based.  Returns ERR_OK on success. */
typedef err_code_t (*retry_attempt_fn)(retry_t *r, int attempt, void *ud,
                                       http_response_t *resp, err_t *err);

/* Calls fn until it succeeds, fails with an error err_is_retryable() rejects,
 * max_attempts are used, or the token bucket cannot pay for another retry.
 * resp (NULL, or initialised as for http_do()) receives the last attempt's
 * reply and must be freed with http_response_free() in every case.  Returns the last attempt's code
 * with its err; the message is prefixed with the number of attempts when
 * more than one was made. */
err_code_t retry_run(retry_t *r, retry_attempt_fn fn, void *ud,
                     http_response_t *resp, err_t *err);

/* retry_run() over an unsigned request: http_do() then, for a non-2xx
 * status, http_error_from_aws().  For metadata endpoints and tests. */
err_code_t retry_http(retry_t *r, http_client_t *c, const http_request_t *req,
                      http_response_t *resp, err_t *err);

#endif
