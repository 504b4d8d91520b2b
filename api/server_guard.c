/* server_guard — what keeps hostile clients from holding onesheet-api's
 * connections: a deadline for receiving a whole request (headers and body),
 * which libmicrohttpd does not have (its connection timeout only measures
 * idleness, so a client sending a header line a second is never dropped),
 * and the fit of the server into its file-descriptor limit.
 *
 * Each connection is registered from libmicrohttpd's connection-notify
 * callback until it closes; the server's main loop calls
 * guard_sweep() a few times a second, which answers 408 to a connection
 * still receiving its request past the deadline and shuts its socket down
 * so libmicrohttpd's own thread closes it.  The socket is only shut down,
 * never closed, and only while registered (under the lock), so a reused
 * descriptor is never touched. */
#include "server_guard.h"

#include "base/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

struct guard_conn {
    int fd;
    bool receiving;   /* between a request's start and its last byte */
    bool expired;     /* answered 408 and shut down */
    double start;     /* when the current request began (monotonic s) */
    char client[48];
    guard_conn_t *prev, *next;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static guard_conn_t *head;
static unsigned long expired_total;

double guard_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

guard_conn_t *guard_open(int fd, const char *client)
{
    return guard_open_since(fd, client, guard_now());
}

guard_conn_t *guard_open_since(int fd, const char *client, double since)
{
    guard_conn_t *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->fd = fd;
    g->receiving = true;
    g->start = since;
    snprintf(g->client, sizeof g->client, "%s", client ? client : "-");
    pthread_mutex_lock(&mu);
    g->next = head;
    if (head)
        head->prev = g;
    head = g;
    pthread_mutex_unlock(&mu);
    return g;
}

void guard_close(guard_conn_t *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&mu);
    if (g->prev)
        g->prev->next = g->next;
    else
        head = g->next;
    if (g->next)
        g->next->prev = g->prev;
    pthread_mutex_unlock(&mu);
    free(g);
}

void guard_received(guard_conn_t *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&mu);
    g->receiving = false;
    pthread_mutex_unlock(&mu);
}

void guard_next_request(guard_conn_t *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&mu);
    g->receiving = true;
    g->start = guard_now();
    pthread_mutex_unlock(&mu);
}

unsigned long guard_sweep(double request_timeout_s)
{
    static const char body[] = "{\"error\":{\"code\":\"request_timeout\",\"message\":"
                               "\"the request took too long to arrive\"}}";
    char answer[512];
    int alen = snprintf(answer, sizeof answer,
                        "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\n"
                        "Cache-Control: no-store\r\nConnection: close\r\n"
                        "Content-Length: %zu\r\n\r\n%s", sizeof body - 1, body);
    double now = guard_now();
    unsigned long n = 0;
    pthread_mutex_lock(&mu);
    for (guard_conn_t *g = head; g; g = g->next) {
        if (!g->receiving || g->expired || now - g->start < request_timeout_s)
            continue;
        /* libmicrohttpd's thread is reading, not writing: the answer cannot
         * interleave with one of its own.  A full send buffer drops it. */
        (void)!send(g->fd, answer, (size_t)alen, MSG_DONTWAIT | MSG_NOSIGNAL);
        shutdown(g->fd, SHUT_RDWR);
        g->expired = true;
        n++;
        log_info("request_timeout", "client=%s after_s=%.1f", g->client, now - g->start);
    }
    expired_total += n;
    pthread_mutex_unlock(&mu);
    return n;
}

unsigned long guard_expired_total(void)
{
    pthread_mutex_lock(&mu);
    unsigned long n = expired_total;
    pthread_mutex_unlock(&mu);
    return n;
}

unsigned long server_fit_nofile(server_options_t *o, size_t *max_sets)
{
    struct rlimit rl;
    unsigned long nofile = 1024;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        if (rl.rlim_cur < rl.rlim_max) {
            rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > 1048576
                              ? 1048576 : rl.rlim_max;
            if (want > rl.rlim_cur) {
                struct rlimit up = {want, rl.rlim_max};
                if (setrlimit(RLIMIT_NOFILE, &up) == 0)
                    rl.rlim_cur = want;
            }
        }
        nofile = rl.rlim_cur == RLIM_INFINITY ? 1048576 : (unsigned long)rl.rlim_cur;
    }
    /* Connections: a socket each, at most half the limit. */
    unsigned long reserve = 64, conn_cap = nofile > 2 * reserve ? (nofile - reserve) / 2 : 8;
    if (o->max_connections > conn_cap) {
        log_warn("max_connections_lowered", "requested=%u max_connections=%lu nofile=%lu",
                 o->max_connections, conn_cap, nofile);
        o->max_connections = (unsigned)conn_cap;
    }
    /* A handle set is two SQLite connections in WAL mode (database, -wal
     * and -shm each) or a few HTTPS sockets: GUARD_FDS_PER_SET at most. */
    unsigned long rest = nofile > reserve + o->max_connections
                             ? nofile - reserve - o->max_connections : 0;
    *max_sets = rest / GUARD_FDS_PER_SET < 4 ? 4 : rest / GUARD_FDS_PER_SET;
    if (!o->max_per_client)
        o->max_per_client = o->max_connections / 4 < 4 ? 4 : o->max_connections / 4;
    return nofile;
}
