/* err — see err.h. */
#include "base/err.h"
#include "base/redact.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>

void err_clear(err_t *err)
{
    if (!err)
        return;
    err->code = ERR_OK;
    err->http_status = 0;
    err->service_code[0] = '\0';
    err->msg[0] = '\0';
}

err_code_t err_setv(err_t *err, err_code_t code, const char *fmt, va_list ap)
{
    if (!err)
        return code;
    err->code = code;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    redact_inplace(err->msg, sizeof err->msg);
    return code;
}

err_code_t err_set(err_t *err, err_code_t code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_setv(err, code, fmt, ap);
    va_end(ap);
    return code;
}

err_code_t err_prefix(err_t *err, const char *fmt, ...)
{
    char prefix[256], old[sizeof err->msg];
    va_list ap;

    if (!err)
        return ERR_OK;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
    redact_inplace(err->msg, sizeof err->msg);
    return err->code;
}

bool err_is_retryable(const err_t *err)
{
    /* Service codes first: a 400 can still be transient (RequestTimeTooSkewed)
     * and a 5xx family code can be permanent for one model. */
    static const char *const transient[] = {
        "ThrottlingException", "Throttling", "ThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException",
        "RequestLimitExceeded", "SlowDown", "ServiceUnavailableException",
        "ServiceUnavailable", "ModelNotReadyException",
        "InternalServerException", "InternalServerError", "InternalError",
        "RequestTimeout", "RequestTimeoutException", "RequestTimeTooSkewed",
        "TransactionInProgressException", "PriorRequestNotComplete",
        "EC2ThrottledException", "BandwidthLimitExceeded",
        "LimitExceededException", "RequestThrottled", "RequestThrottledException",
        "IDPCommunicationError",
    };
    static const char *const permanent[] = {
        "ValidationException", "AccessDeniedException",
        "ResourceNotFoundException", "ModelTimeoutException",
        "ModelErrorException", "ServiceQuotaExceededException",
        "UnrecognizedClientException", "ConditionalCheckFailedException",
    };

    if (!err || err->code == ERR_OK)
        return false;
    if (err->service_code[0]) {
        for (size_t i = 0; i < sizeof transient / sizeof *transient; i++)
            if (strcmp(err->service_code, transient[i]) == 0)
                return true;
        for (size_t i = 0; i < sizeof permanent / sizeof *permanent; i++)
            if (strcmp(err->service_code, permanent[i]) == 0)
                return false;
    }
    if (err->http_status == 429 || err->http_status == 500 ||
        err->http_status == 502 || err->http_status == 503 ||
        err->http_status == 504)
        return true;
    switch (err->code) {
    case ERR_THROTTLED:
    case ERR_UNAVAILABLE:
    case ERR_TIMEOUT:
    case ERR_NETWORK:
    case ERR_SKEW:
    case ERR_BUSY:
        return true;
    default:
        return false;
    }
}

const char *err_name(err_code_t code)
{
    static const char *const names[ERR__COUNT] = {
        [ERR_OK] = "ok", [ERR_NOMEM] = "nomem", [ERR_INVALID] = "invalid",
        [ERR_USAGE] = "usage", [ERR_CONFIG] = "config", [ERR_IO] = "io",
        [ERR_NOTFOUND] = "notfound", [ERR_NOINPUT] = "noinput",
        [ERR_EXISTS] = "exists", [ERR_CONFLICT] = "conflict",
        [ERR_AUTH] = "auth", [ERR_THROTTLED] = "throttled",
        [ERR_UNAVAILABLE] = "unavailable", [ERR_TIMEOUT] = "timeout",
        [ERR_NETWORK] = "network", [ERR_SKEW] = "skew", [ERR_BUSY] = "busy",
        [ERR_PERMANENT] = "permanent", [ERR_FILTERED] = "filtered",
        [ERR_TOOBIG] = "toobig", [ERR_CANCELLED] = "cancelled",
        [ERR_INTERNAL] = "internal",
    };
    if ((unsigned)code >= ERR__COUNT || !names[code])
        return "unknown";
    return names[code];
}

int err_exit_status(err_code_t code)
{
    switch (code) {
    case ERR_OK: return 0;
    case ERR_USAGE: return EX_USAGE;
    case ERR_INVALID:
    case ERR_TOOBIG: return EX_DATAERR;
    case ERR_NOINPUT: return EX_NOINPUT;
    case ERR_NOTFOUND: return EX_DATAERR;
    case ERR_CONFIG: return EX_CONFIG;
    case ERR_AUTH: return EX_NOPERM;
    case ERR_IO: return EX_IOERR;
    case ERR_THROTTLED:
    case ERR_TIMEOUT:
    case ERR_BUSY:
    case ERR_SKEW: return EX_TEMPFAIL;
    case ERR_UNAVAILABLE:
    case ERR_NETWORK: return EX_UNAVAILABLE;
    default: return EX_SOFTWARE;
    }
}
