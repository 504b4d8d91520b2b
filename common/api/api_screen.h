/* api_screen — screens an HTTP/1.x request head before the HTTP library
 * sees it, so that every malformed request is answered in the API's JSON
 * error shape ({"error":{"code","message"}}) and never by the library's
 * own HTML page or a silent close.
 *
 * The screener is fed the bytes received so far (peeked, so the library
 * still reads them all) and resumes where the last call stopped: a head
 * that arrives a byte at a time costs no more than one that arrives
 * whole.  It accepts only what onesheet-api serves: origin-form targets,
 * HTTP/1.0 and HTTP/1.1, CRLF line endings, Content-Length framing. */
#ifndef ONESHEET_API_SCREEN_H
#define ONESHEET_API_SCREEN_H

#include <stdbool.h>
#include <stddef.h>

#define API_SCREEN_MAX_METHOD 32     /* bytes of a method token */
#define API_SCREEN_MAX_TARGET 4096   /* bytes of a request target: 414 beyond */
#define API_SCREEN_MAX_HEAD 16384    /* request line + header lines: 431 beyond */
#define API_SCREEN_MAX_FIELDS 100    /* header lines: 431 beyond */

typedef enum {
    API_SCREEN_MORE,   /* the head is not complete yet and nothing is wrong */
    API_SCREEN_OK,     /* the head is complete and well-formed */
    API_SCREEN_REFUSE, /* answer status/code/message and close */
} api_screen_result_t;

typedef struct {
    /* where the last call stopped */
    size_t pos;        /* bytes of complete lines screened */
    size_t scanned;    /* bytes checked for NUL and bare CR */
    unsigned line;     /* complete lines screened (the request line is 1) */
    unsigned n_cl, n_te;
    unsigned long long cl;
    api_screen_result_t result;
    /* the verdict */
    size_t head_len;   /* API_SCREEN_OK: bytes through the blank line */
    bool head_method;  /* the request line's method is HEAD */
    int status;        /* API_SCREEN_REFUSE: 400, 411, 414, 431 or 505 */
    const char *code;  /* static: "bad_request", "bad_framing", ... */
    char message[160]; /* names the line and, where there is one, the field */
} api_screen_t;

/* Starts screening a new request head. */
void api_screen_init(api_screen_t *s);

/* Screens buf[0..len), every byte received so far on the connection (len
 * never shrinks between calls; bytes past the head, a body, are not
 * looked at).  Returns API_SCREEN_MORE while the head is incomplete and
 * sound so far, API_SCREEN_OK with s->head_len once it is complete, or
 * API_SCREEN_REFUSE with s->status, s->code and s->message as soon as a
 * byte proves it bad.  Once OK or REFUSE, later calls return the same. */
api_screen_result_t api_screen_feed(api_screen_t *s, const char *buf, size_t len);

/* The client stopped sending (end of stream) with the head incomplete:
 * sets s to REFUSE (400) and returns API_SCREEN_REFUSE.  A verdict already
 * reached is kept and returned. */
api_screen_result_t api_screen_eof(api_screen_t *s);

/* Writes a whole HTTP/1.1 error response, with Connection: close and a
 * {"error":{"code","message"}} body (message JSON-escaped), into out.
 * retry_after > 0 adds Retry-After; with_body false (a HEAD request)
 * leaves the body out but keeps its Content-Length.  Returns the length,
 * or 0 when it does not fit in size. */
size_t api_screen_answer(int status, const char *code, const char *message, int retry_after,
                         bool with_body, char *out, size_t size);

#endif
