/* api_screen — the request-head screener in front of libmicrohttpd (see
 * api_screen.h).
 *
 * Complete lines are judged once each (s->pos moves past them); the line
 * still arriving is checked only for what can already be known: NUL bytes
 * and bare CRs in the new bytes, the method so far, the target's length
 * and the head's size.  Refusing early matters: a 10 MB header line is
 * answered 431 after its first 16 KiB, not after the deadline. */
#include "api/api_screen.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static api_screen_result_t refuse(api_screen_t *s, int status, const char *code,
                                  const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->message, sizeof s->message, fmt, ap);
    va_end(ap);
    s->status = status;
    s->code = code;
    return s->result = API_SCREEN_REFUSE;
}

void api_screen_init(api_screen_t *s)
{
    memset(s, 0, sizeof *s);
    s->result = API_SCREEN_MORE;
}

/* The method so far: a token of at most API_SCREEN_MAX_METHOD bytes. */
static api_screen_result_t method_prefix(api_screen_t *s, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && p[i] != ' ') {
        if (!is_tchar((unsigned char)p[i]) || i >= API_SCREEN_MAX_METHOD)
            return refuse(s, 400, "bad_request",
                          "line 1: not an HTTP request line (the method must be a token of "
                          "at most %d characters followed by one space)",
                          API_SCREEN_MAX_METHOD);
        i++;
    }
    if (i == 0 && n > 0)
        return refuse(s, 400, "bad_request", "line 1: the request line starts with a space");
    return API_SCREEN_MORE;
}

/* 0 for HTTP/1.0 and HTTP/1.1, 505 for another HTTP/digit version, 400
 * for anything else. */
static int version_check(const char *v, size_t n)
{
    if (n < 6 || n > 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9')
        return 400;
    if (n == 8 && v[5] == '1' && v[6] == '.' && (v[7] == '0' || v[7] == '1'))
        return 0;
    return 505;
}

/* method SP origin-form SP HTTP/1.x, in p[0..n) (without CRLF) or, when
 * partial, as much of it as has arrived. */
static api_screen_result_t request_line(api_screen_t *s, const char *p, size_t n, bool partial)
{
    if (method_prefix(s, p, n) != API_SCREEN_MORE)
        return s->result;
    const char *sp1 = memchr(p, ' ', n);
    if (!sp1)
        return partial ? API_SCREEN_MORE
                       : refuse(s, 400, "bad_request",
                                "line 1: not an HTTP request line (want METHOD /path HTTP/1.1)");
    const char *t = sp1 + 1, *end = p + n;
    const char *sp2 = memchr(t, ' ', (size_t)(end - t));
    size_t tlen = (size_t)((sp2 ? sp2 : end) - t);
    if (tlen > API_SCREEN_MAX_TARGET)
        return refuse(s, 414, "uri_too_long",
                      "line 1: the request target is longer than %d bytes",
                      API_SCREEN_MAX_TARGET);
    if (partial && (!sp2 || (size_t)(end - sp2 - 1) <= 8))
        return API_SCREEN_MORE;
    if (!sp2)
        return refuse(s, 400, "bad_request",
                      "line 1: no HTTP version (want METHOD /path HTTP/1.1)");
    int bad = version_check(sp2 + 1, (size_t)(end - sp2 - 1));
    if (bad == 505)
        return refuse(s, 505, "http_version_not_supported",
                      "line 1: only HTTP/1.1 and HTTP/1.0 are supported");
    if (bad)
        return refuse(s, 400, "bad_request", "line 1: the HTTP version must be HTTP/1.1 or "
                                             "HTTP/1.0 (upper case, then CRLF)");
    s->head_method = (size_t)(sp1 - p) == 4 && memcmp(p, "HEAD", 4) == 0;
    if (tlen == 0 || t[0] != '/')
        return refuse(s, 400, "bad_request", "line 1: the request target must be a path "
                                             "starting with /");
    for (size_t i = 0; i < tlen; i++)
        if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
            return refuse(s, 400, "bad_request",
                          "line 1: byte %zu of the request target is not a visible ASCII "
                          "character (percent-encode it)", i + 1);
    return API_SCREEN_MORE;
}

static bool name_is(const char *p, size_t n, const char *want)
{
    return n == strlen(want) && strncasecmp(p, want, n) == 0;
}

/* name ":" OWS value OWS, in p[0..n) (without CRLF). */
static api_screen_result_t header_line(api_screen_t *s, const char *p, size_t n)
{
    unsigned line = s->line + 1;
    if (p[0] == ' ' || p[0] == '\t')
        return refuse(s, 400, "bad_request",
                      "line %u: a header line starts with white space (folded headers are not "
                      "accepted)", line);
    const char *colon = memchr(p, ':', n);
    size_t nlen = colon ? (size_t)(colon - p) : n;
    for (size_t i = 0; i < nlen; i++)
        if (!is_tchar((unsigned char)p[i]))
            return refuse(s, 400, "bad_request",
                          colon ? "line %u: byte %zu of the header name is not a token "
                                  "character (no space before the colon)"
                                : "line %u: a header line without a colon",
                          line, i + 1);
    if (!colon)
        return refuse(s, 400, "bad_request", "line %u: a header line without a colon", line);
    if (nlen == 0)
        return refuse(s, 400, "bad_request", "line %u: a header line with an empty name", line);
    const char *v = colon + 1, *end = p + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    for (const char *q = v; q < end; q++)
        if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f)
            return refuse(s, 400, "bad_request",
                          "line %u: header %.*s: a control character in the value", line,
                          (int)(nlen > 40 ? 40 : nlen), p);
    if (s->line >= API_SCREEN_MAX_FIELDS)
        return refuse(s, 431, "headers_too_large", "more than %d header lines",
                      API_SCREEN_MAX_FIELDS);
    size_t vlen = (size_t)(end - v);
    if (name_is(p, nlen, "Content-Length")) {
        unsigned long long cl = 0;
        if (vlen == 0 || vlen > 18)
            return refuse(s, 400, "bad_framing",
                          "line %u: Content-Length must be a decimal number of 1 to 18 digits",
                          line);
        for (size_t i = 0; i < vlen; i++) {
            if (v[i] < '0' || v[i] > '9')
                return refuse(s, 400, "bad_framing",
                              "line %u: Content-Length must be a decimal number", line);
            cl = cl * 10 + (unsigned)(v[i] - '0');
        }
        if (s->n_cl++ && cl != s->cl)
            return refuse(s, 400, "bad_framing",
                          "line %u: refused: Content-Length headers that differ", line);
        s->cl = cl;
    } else if (name_is(p, nlen, "Transfer-Encoding")) {
        s->n_te++;
    }
    return API_SCREEN_MORE;
}

/* The blank line: the head is complete; judge its framing as a whole. */
static api_screen_result_t head_end(api_screen_t *s, size_t head_len)
{
    if (s->n_te && s->n_cl)
        return refuse(s, 400, "bad_framing",
                      "refused: Content-Length and Transfer-Encoding together");
    if (s->n_te > 1)
        return refuse(s, 400, "bad_framing", "refused: more than one Transfer-Encoding header");
    if (s->n_te)
        return refuse(s, 411, "length_required",
                      "send the body with a Content-Length header; chunked and other "
                      "transfer codings are not accepted");
    s->head_len = head_len;
    return s->result = API_SCREEN_OK;
}

/* NUL bytes and CRs not followed by LF in buf[from..to); a CR as the last
 * byte received may still be followed by its LF. */
static api_screen_result_t check_bytes(api_screen_t *s, const char *buf, size_t from, size_t to,
                                       size_t len)
{
    for (size_t i = from; i < to; i++) {
        if (buf[i] == '\0')
            return refuse(s, 400, "bad_request", "line %u: a NUL byte", s->line + 1);
        if (buf[i] == '\r' && i + 1 < len && buf[i + 1] != '\n')
            return refuse(s, 400, "bad_request", "line %u: a CR not followed by LF",
                          s->line + 1);
    }
    return API_SCREEN_MORE;
}

api_screen_result_t api_screen_feed(api_screen_t *s, const char *buf, size_t len)
{
    while (s->result == API_SCREEN_MORE) {
        const char *lf = s->pos < len ? memchr(buf + s->pos, '\n', len - s->pos) : NULL;
        size_t end = lf ? (size_t)(lf - buf) : len;
        size_t from = s->scanned > s->pos ? s->scanned : s->pos;
        if (check_bytes(s, buf, from, end, len) != API_SCREEN_MORE)
            return s->result;
        if (!lf) {
            s->scanned = len && buf[len - 1] == '\r' ? len - 1 : len;
            size_t got = s->scanned; /* less a CR that may start the CRLF */
            if (s->line == 0 && request_line(s, buf, got, true) != API_SCREEN_MORE)
                return s->result;
            if (len > API_SCREEN_MAX_HEAD)
                return refuse(s, 431, "headers_too_large",
                              "the request head is larger than %d bytes", API_SCREEN_MAX_HEAD);
            return API_SCREEN_MORE;
        }
        if (end == s->pos || buf[end - 1] != '\r')
            return refuse(s, 400, "bad_request",
                          "line %u ends in a bare LF; lines must end in CRLF", s->line + 1);
        if (end + 1 > API_SCREEN_MAX_HEAD)
            return refuse(s, 431, "headers_too_large",
                          "the request head is larger than %d bytes", API_SCREEN_MAX_HEAD);
        const char *p = buf + s->pos;
        size_t n = end - 1 - s->pos;
        if (n == 0) {
            if (s->line == 0)
                return refuse(s, 400, "bad_request", "line 1: an empty request line");
            return head_end(s, end + 1);
        }
        if ((s->line == 0 ? request_line(s, p, n, false) : header_line(s, p, n)) !=
            API_SCREEN_MORE)
            return s->result;
        s->line++;
        s->pos = s->scanned = end + 1;
    }
    return s->result;
}

api_screen_result_t api_screen_eof(api_screen_t *s)
{
    if (s->result != API_SCREEN_MORE)
        return s->result;
    return refuse(s, 400, "bad_request",
                  s->pos == 0 && s->scanned == 0
                      ? "the connection ended before a request line"
                      : "the connection ended inside the request head (after line %u)",
                  s->line);
}

static size_t json_escape(const char *in, char *out, size_t size)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        char tmp[8];
        int n;
        if (*p == '"' || *p == '\\')
            n = snprintf(tmp, sizeof tmp, "\\%c", *p);
        else if (*p < 0x20 || *p >= 0x7f)
            n = snprintf(tmp, sizeof tmp, "\\u%04x", *p);
        else
            n = snprintf(tmp, sizeof tmp, "%c", *p);
        if (o + (size_t)n >= size)
            return 0;
        memcpy(out + o, tmp, (size_t)n);
        o += (size_t)n;
    }
    out[o] = '\0';
    return o;
}

static const char *reason(int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return status >= 500 ? "Server Error" : "Client Error";
    }
}

size_t api_screen_answer(int status, const char *code, const char *message, int retry_after,
                         bool with_body, char *out, size_t size)
{
    char msg[512], body[700], ra[40] = "";
    if (!json_escape(message ? message : "", msg, sizeof msg) && message && *message)
        return 0;
    int blen = snprintf(body, sizeof body, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}",
                        code, msg);
    if (blen < 0 || (size_t)blen >= sizeof body)
        return 0;
    if (retry_after > 0)
        snprintf(ra, sizeof ra, "Retry-After: %d\r\n", retry_after);
    int n = snprintf(out, size,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                     "Cache-Control: no-store\r\n%sConnection: close\r\n"
                     "Content-Length: %d\r\n\r\n%s",
                     status, reason(status), ra, blen, with_body ? body : "");
    return n < 0 || (size_t)n >= size ? 0 : (size_t)n;
}
