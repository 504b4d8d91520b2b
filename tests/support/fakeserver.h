/* fakeserver — a loopback HTTP/1.1 server for tests.
 *
 * fake_server_start() binds 127.0.0.1 on an ephemeral port and serves from
 * its own thread, one more thread per connection.  Every request is parsed
 * (request line, headers, a Content-Length or chunked body) and handed to the
 * test's handler, which fills a fake_response_t: status, headers, body, and
 * optionally a misbehaviour (stall, close, reset, garbage, truncated body).
 * Connections are kept alive until the client or the response closes them.
 *
 * The handler runs on connection threads, possibly several at once, so it
 * must guard shared state itself (atomics or a mutex). */
#ifndef ONESHEET_FAKESERVER_H
#define ONESHEET_FAKESERVER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#define FAKE_MAX_HEADERS 64

typedef struct {
    const char *name;
    const char *value;
} fake_header_t;

/* A parsed request, borrowed by the handler for the duration of the call. */
typedef struct {
    const char *method;         /* "GET", "PUT", ... */
    const char *target;         /* path and query as sent: "/a/b?x=1" */
    const char *path;           /* target before '?' */
    const char *query;          /* after '?', "" when none */
    const char *version;        /* "HTTP/1.1" */
    fake_header_t headers[FAKE_MAX_HEADERS];
    size_t nheaders;
    const char *body;           /* NUL-terminated for convenience */
    size_t body_len;
    int conn_id;                /* 1-based number of the connection */
    int conn_seq;               /* 1-based number of the request on it */
    int seq;                    /* 1-based number of the request overall */
} fake_request_t;

typedef enum {
    FAKE_SEND = 0,   /* answer normally */
    FAKE_CLOSE,      /* close the connection without answering (FIN) */
    FAKE_RESET,      /* abort the connection without answering (RST) */
    FAKE_GARBAGE,    /* send raw bytes (fake_response_raw), then close */
    FAKE_TRUNCATE,   /* announce the full Content-Length, send truncate_at
                        body bytes, then close */
} fake_action_t;

typedef struct {
    int status;                 /* default 200 */
    fake_header_t headers[FAKE_MAX_HEADERS];   /* owned copies */
    size_t nheaders;
    char *body;                 /* owned; set with fake_response_body*() */
    size_t body_len;
    fake_action_t action;
    long stall_ms;              /* wait this long before answering */
    long stall_mid_ms;          /* send headers and half the body, then wait */
    size_t truncate_at;         /* FAKE_TRUNCATE: body bytes actually sent */
    char *raw;                  /* FAKE_GARBAGE bytes (owned) */
    size_t raw_len;
    bool close;                 /* add "Connection: close" and close after */
    bool no_content_length;     /* omit Content-Length (body until close) */
} fake_response_t;

typedef void (*fake_handler_fn)(const fake_request_t *req, fake_response_t *resp,
                                void *ud);

typedef struct fake_server fake_server_t;

/* Starts a server on 127.0.0.1:ephemeral calling fn for each request (fn NULL
 * answers 200 with an empty body).  Returns NULL when the socket or thread
 * cannot be created.  Stop it with fake_server_stop(). */
fake_server_t *fake_server_start(fake_handler_fn fn, void *ud);
/* Stops serving: wakes stalled responses, closes every connection, joins all
 * threads and frees the server.  NULL is allowed. */
void fake_server_stop(fake_server_t *fs);

int fake_server_port(const fake_server_t *fs);
/* "http://127.0.0.1:PORT" (borrowed, valid until stop). */
const char *fake_server_url(const fake_server_t *fs);
/* Requests handed to the handler so far. */
int fake_server_requests(const fake_server_t *fs);
/* Connections accepted so far. */
int fake_server_connections(const fake_server_t *fs);

/* Case-insensitive request header lookup; NULL when absent (borrowed). */
const char *fake_request_header(const fake_request_t *req, const char *name);

/* Adds a response header (both strings copied).  Content-Length is computed
 * by the server unless the handler adds it.  Extra headers beyond
 * FAKE_MAX_HEADERS are dropped. */
void fake_response_header(fake_response_t *resp, const char *name, const char *value);
/* Replaces the body with a copy of data[0..len). */
void fake_response_body(fake_response_t *resp, const void *data, size_t len);
/* Replaces the body with printf-style text. */
void fake_response_bodyf(fake_response_t *resp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Sets status, Content-Type: application/json and the body text. */
void fake_response_json(fake_response_t *resp, int status, const char *json);
/* Sets action FAKE_GARBAGE with a copy of data[0..len) as the raw bytes. */
void fake_response_raw(fake_response_t *resp, const void *data, size_t len);

/* Frees what resp holds and makes it a fresh, empty 200 (proxies that
 * replace an upstream reply). */
void fake_response_clear(fake_response_t *resp);

/* Writes the server's port to path atomically (a temporary file renamed
 * into place), for a parent process waiting on --port-file.  0, or -1 with
 * errno set. */
int fake_server_write_port_file(const fake_server_t *fs, const char *path);

/* Formats t (seconds since the epoch) as an RFC 1123 date into out. */
void fake_http_date(long long t, char *out, size_t cap);

#endif
