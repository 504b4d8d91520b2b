/* err — the one error type used everywhere in onesheet.
 *
 * Every public function that can fail returns an err_code_t and, when given a
 * non-NULL err_t, fills it with a human message.  Messages never contain
 * secrets: err_set() scrubs registered secrets and presigned query values
 * (see redact.h) before storing the text. */
#ifndef ONESHEET_ERR_H
#define ONESHEET_ERR_H

#include <stdarg.h>
#include <stdbool.h>

typedef enum {
    ERR_OK = 0,
    ERR_NOMEM,       /* allocation failed */
    ERR_INVALID,     /* bad input data (a spec, a file line, a reply) */
    ERR_USAGE,       /* bad command-line usage */
    ERR_CONFIG,      /* bad configuration value */
    ERR_IO,          /* local I/O failure (disk, database) */
    ERR_NOTFOUND,    /* no such job / batch / file / object */
    ERR_NOINPUT,     /* input file missing or unreadable */
    ERR_EXISTS,      /* already exists (create-only writes) */
    ERR_CONFLICT,    /* a conditional write lost (someone else holds it) */
    ERR_AUTH,        /* credentials missing, expired or rejected */
    ERR_THROTTLED,   /* 429, ThrottlingException, SlowDown */
    ERR_UNAVAILABLE, /* 5xx, service temporarily unavailable */
    ERR_TIMEOUT,     /* a request or connection timed out */
    ERR_NETWORK,     /* connection refused/reset, DNS, TLS handshake */
    ERR_SKEW,        /* request time too skewed from the server clock */
    ERR_BUSY,        /* local database busy or locked */
    ERR_PERMANENT,   /* the service refused the request for good (4xx) */
    ERR_FILTERED,    /* the model's content filter blocked the request/output */
    ERR_TOOBIG,      /* a size limit was exceeded */
    ERR_CANCELLED,   /* the job or operation was cancelled */
    ERR_INTERNAL,    /* a bug or an impossible state */
    ERR__COUNT
} err_code_t;

typedef struct {
    err_code_t code;
    int http_status;        /* 0 unless the error came from an HTTP reply */
    char service_code[64];  /* e.g. "ThrottlingException"; "" if none */
    char msg[512];
} err_t;

/* Clears err (code ERR_OK, empty message).  NULL is allowed. */
void err_clear(err_t *err);

/* Sets err->code and a printf-style message (scrubbed of secrets) and returns
 * code, so callers can write `return err_set(err, ERR_IO, "...")`.
 * err may be NULL, in which case only code is returned. */
err_code_t err_set(err_t *err, err_code_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
err_code_t err_setv(err_t *err, err_code_t code, const char *fmt, va_list ap);

/* Prepends "prefix: " (printf-style) to err->msg, keeping the code.  Returns
 * err->code.  Used to add context such as "file:line: field". */
err_code_t err_prefix(err_t *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The single place that decides what is worth retrying: throttling,
 * unavailability, timeouts, network errors, clock skew, a busy database, and
 * service error codes known to be transient (ModelNotReadyException, ...). */
bool err_is_retryable(const err_t *err);

/* A short stable name for a code, e.g. "ERR_THROTTLED" → "throttled". */
const char *err_name(err_code_t code);

/* Maps a code to a sysexits.h exit status (65 data, 66 noinput, 69
 * unavailable, 75 tempfail, 78 config, 64 usage, 70 software). */
int err_exit_status(err_code_t code);

#endif
