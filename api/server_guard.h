/* server_guard — the request deadline and file-descriptor fit for
 * onesheet-api's HTTP server (see server_guard.c). */
#ifndef ONESHEET_API_SERVER_GUARD_H
#define ONESHEET_API_SERVER_GUARD_H

#include "server.h"

#include <stdbool.h>
#include <stddef.h>

#define GUARD_FDS_PER_SET 8

typedef struct guard_conn guard_conn_t;

/* Monotonic seconds. */
double guard_now(void);

/* Registers a new connection on socket fd (borrowed; never closed here)
 * receiving its first request.  Returns the entry (free with guard_close),
 * or NULL out of memory (the connection is then not guarded). */
guard_conn_t *guard_open(int fd, const char *client);

/* Like guard_open(), for a request that began at `since` (guard_now()
 * time): the head screened before libmicrohttpd took the connection. */
guard_conn_t *guard_open_since(int fd, const char *client, double since);

/* Unregisters and frees g, before its socket is closed.  NULL is allowed. */
void guard_close(guard_conn_t *g);

/* The request on g has arrived whole: the deadline no longer applies. */
void guard_received(guard_conn_t *g);

/* The answer on g has gone: the next request's deadline starts now. */
void guard_next_request(guard_conn_t *g);

/* Answers 408 (JSON) to, and shuts down, every connection still receiving
 * a request after request_timeout_s.  Returns how many it ended. */
unsigned long guard_sweep(double request_timeout_s);

/* Connections ended by guard_sweep() since the start. */
unsigned long guard_expired_total(void);

#endif
