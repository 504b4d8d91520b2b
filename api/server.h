/* server — onesheet-api's two front ends around the router (common/api/api.h):
 * an HTTP server on libmicrohttpd and the AWS Lambda custom-runtime loop. */
#ifndef ONESHEET_API_SERVER_H
#define ONESHEET_API_SERVER_H

#include "api/api.h"

#include <signal.h>
#include <stdatomic.h>

typedef struct {
    const char *listen;        /* ADDR:PORT (port 0: any free port) */
    const char *port_file;     /* write the bound port here (tests) */
    unsigned max_connections;  /* concurrent connections (default 256) */
    unsigned conn_timeout_s;   /* idle/slow client timeout (default 15) */
    unsigned request_timeout_s; /* whole request (headers + body) deadline (10) */
    unsigned max_per_client;   /* connections per client address (0: max/4, >= 4) */
    double drain_s;            /* on stop, wait this long for answers in flight (5) */
} server_options_t;

/* Fits the server into its file-descriptor limit: raises the soft
 * RLIMIT_NOFILE to the hard one, lowers o->max_connections so connections
 * take at most half of it, and sets *max_sets to how many back-end handle
 * sets (a few descriptors each) the rest allows.  Returns the limit. */
unsigned long server_fit_nofile(server_options_t *o, size_t *max_sets);

/* Resolves "ADDR:PORT" (numeric IPv4, or [IPv6]) and says whether it is a
 * loopback address.  Returns 0, or -1 with a message in err. */
int server_parse_listen(const char *listen, void *sockaddr_storage, unsigned *len,
                        bool *loopback, err_t *err);

/* Serves api over HTTP until *stop is set (by a signal).  Returns the exit
 * status (0 on a clean stop). */
int server_run(api_t *api, const server_options_t *o, volatile sig_atomic_t *stop);

/* Runs the Lambda Runtime API loop (AWS_LAMBDA_RUNTIME_API) until *stop.
 * Returns the exit status. */
int lambda_run(api_t *api, volatile sig_atomic_t *stop);

/* Reports an initialisation failure to the Runtime API (when running under
 * Lambda) so the failure shows in the function's logs and metrics. */
void lambda_init_error(const char *type, const char *message);

#endif
