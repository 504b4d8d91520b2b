/* http — a small libcurl wrapper: one handle per http_client_t (connection
 * reuse), connect and total timeouts, response-size caps, TLS verification
 * always on, `User-Agent: onesheet/VERSION`, proxy environment honoured.
 * Plain http:// is refused unless the host is loopback (127.0.0.0/8, ::1,
 * localhost) or the client was created with allow_insecure_http.
 *
 * An http_client_t is used by one thread at a time. */
#ifndef ONESHEET_HTTP_H
#define ONESHEET_HTTP_H

#include "base/buf.h"
#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *name;
    const char *value;
} http_header_t;

typedef err_code_t (*http_sink_fn)(void *ud, const void *data, size_t n,
                                   int64_t content_length);

typedef struct {
    const char *method;          /* "GET", "PUT", "POST", ... */
    const char *url;
    const http_header_t *headers;
    size_t nheaders;
    const void *body;            /* borrowed for the call */
    size_t body_len;
    long connect_timeout_ms;     /* 0: client default */
    long timeout_ms;             /* total; 0: client default */
    size_t max_response;        /* 0: client default */
    /* Optional: a 2xx reply's body is handed to sink chunk by chunk (with
     * the Content-Length, or -1, on every call) instead of being kept in
     * resp->body; a non-ERR_OK return aborts the transfer with that code.
     * Other statuses' bodies still go to resp->body, for error mapping.
     * The sink enforces its own size cap. */
    http_sink_fn sink;
    void *sink_ud;
} http_request_t;

typedef struct {
    long status;                 /* HTTP status, 0 when no response */
    http_header_t *headers;      /* owned; names lower-cased */
    size_t nheaders;
    buf_t body;                  /* owned */
} http_response_t;

typedef struct {
    long connect_timeout_ms;     /* default 3000 */
    long timeout_ms;             /* default 30000 */
    size_t max_response;         /* default 64 MiB */
    bool allow_insecure_http;    /* plain http to non-loopback hosts */
    const char *ca_file;         /* extra CA bundle (tests); NULL: system */
} http_options_t;

typedef struct http_client http_client_t;

/* Creates a client.  opts may be NULL for defaults.  NULL on failure. */
http_client_t *http_client_new(const http_options_t *opts, err_t *err);
void http_client_free(http_client_t *c);

/* Performs one request (no retries; see retry.h).  Any HTTP status is
 * ERR_OK with resp->status set; transport failures map to ERR_TIMEOUT,
 * ERR_NETWORK, ERR_TOOBIG (response over the cap) or ERR_CONFIG (an http://
 * URL to a non-loopback host).  resp must be initialised (http_response_init
 * or zeroed); its previous contents are freed, so one response can be reused
 * across calls.  Free it with http_response_free even on error. */
err_code_t http_do(http_client_t *c, const http_request_t *req,
                   http_response_t *resp, err_t *err);

/* The same request in two halves, for callers that drive transfers with
 * their own libcurl multi handle (the worker's generations): http_start()
 * checks and sets up the client's easy handle (http_client_handle(), whose
 * CURLINFO_PRIVATE is the client) exactly as http_do() would; the caller
 * adds it to its multi handle and, when the multi reports it done with
 * curl_code, removes it and calls http_finish(), which fills resp->status
 * and maps the outcome like http_do().  req's body and resp must outlive
 * the transfer; one transfer per client at a time. */
err_code_t http_start(http_client_t *c, const http_request_t *req,
                      http_response_t *resp, err_t *err);
void *http_client_handle(http_client_t *c);
err_code_t http_finish(http_client_t *c, int curl_code, err_t *err);

void http_response_init(http_response_t *r);
void http_response_free(http_response_t *r);
/* Case-insensitive header lookup; NULL when absent (borrowed). */
const char *http_response_header(const http_response_t *r, const char *name);

/* True when url's host is loopback. */
bool http_url_is_loopback(const char *url);

/* Turns a non-2xx AWS reply into err: err->http_status is the status,
 * err->service_code the AWS error code (header x-amzn-ErrorType cut at ':',
 * else JSON "__type" after '#' or "code", else XML <Code>), and the message
 * comes from JSON "message"/"Message" or XML <Message>, cut before any echoed
 * canonical request or string-to-sign.  The code is ERR_SKEW for clock-skew
 * rejections, ERR_THROTTLED for 429 and throttling codes, ERR_CONFLICT for
 * ConditionalCheckFailedException, ERR_UNAVAILABLE for 5xx, ERR_AUTH for
 * 401/403 and credential/signature codes, ERR_PERMANENT for other statuses
 * (ERR_NETWORK when status is 0).  Returns ERR_OK (err cleared) for 2xx. */
err_code_t http_error_from_aws(const http_response_t *r, err_t *err);

#endif
