/* server_front — onesheet-api's front door: its own listening socket, and
 * a screen (common/api/api_screen.h) of each request head before the
 * connection is handed to libmicrohttpd (see server_front.c). */
#ifndef ONESHEET_API_SERVER_FRONT_H
#define ONESHEET_API_SERVER_FRONT_H

#include "server.h"

#include <microhttpd.h>

typedef struct front front_t;

/* Binds and listens on o->listen (o is borrowed for the front's lifetime:
 * max_connections, max_per_client, request_timeout_s).  Returns the front,
 * or NULL with err set (ERR_USAGE: a bad address; ERR_IO: socket, bind or
 * listen failed; ERR_NOMEM). */
front_t *front_open(const server_options_t *o, err_t *err);

/* The bound port (the one chosen when o->listen asked for port 0). */
unsigned front_port(const front_t *f);

/* Starts the thread that accepts connections, screens their request heads
 * and hands the sound ones to d (borrowed until front_stop).  Returns 0, or
 * -1 with err set. */
int front_start(front_t *f, struct MHD_Daemon *d, err_t *err);

/* Stops accepting, closes every connection still being screened or
 * answered, and joins the thread.  Safe on a front never started. */
void front_stop(front_t *f);

/* Closes the listening socket and frees f.  NULL is allowed. */
void front_free(front_t *f);

/* For libmicrohttpd's connection-start notice: when the request on fd
 * (just handed over) began, in guard_now() seconds; now if unknown. */
double front_request_start(front_t *f, int fd);

/* For libmicrohttpd's connection-closed notice: a handed-over connection
 * from client (the address as the notice names it) has ended, so it no
 * longer counts against the limits. */
void front_release(front_t *f, const char *client);

/* Connections answered 408 while their head was being screened. */
unsigned long front_expired_total(front_t *f);

#endif
