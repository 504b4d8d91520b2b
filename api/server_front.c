/* server_front — accepts onesheet-api's connections itself and screens
 * each request head before libmicrohttpd sees it.
 *
 * Why: libmicrohttpd answers some malformed requests (414, 431, 505, bad
 * chunking) with its own HTML page and closes on others without a word,
 * and has no hook to change either.  So one thread owns the listening
 * socket and polls every connection whose head has not yet arrived whole:
 * it peeks (MSG_PEEK: the bytes stay in the socket for libmicrohttpd) and
 * feeds them to the screener, which resumes where it stopped.  A sound
 * head's connection goes to libmicrohttpd with MHD_add_connection(); a bad
 * one is answered here in the JSON error shape, as is a head still
 * incomplete at the request deadline (408) and a connection over the total
 * or per-address limit (503).  Every response libmicrohttpd sends carries
 * Connection: close (server_mhd.c), so each request on a connection is
 * the first and is screened.
 *
 * SO_RCVLOWAT is raised past what was peeked, so poll() wakes only when
 * more has arrived, never spinning on bytes already judged.  A refused
 * connection is read and discarded for up to LINGER_S after the answer
 * (the client may still be sending; closing with unread bytes would reset
 * the connection and lose the answer). */
#include "server_front.h"
#include "server_guard.h"

#include "api/api_screen.h"
#include "base/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LINGER_S 2.0
#define LINGER_EXTRA 64   /* uncounted connections lingering after a 503 */
#define HANDOFFS 256      /* request starts awaiting libmicrohttpd's notice */

typedef struct {
    int fd;
    bool counted;      /* counted in the limits (not a 503 over them) */
    bool lingering;    /* answered; draining until EOF or linger_until */
    double start, linger_until;
    size_t peeked;     /* bytes seen by the last peek */
    api_screen_t s;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char client[INET6_ADDRSTRLEN];
} pend_t;

typedef struct {
    char client[INET6_ADDRSTRLEN];
    unsigned n;
} addr_count_t;

struct front {
    const server_options_t *o;
    int lfd;
    unsigned port;
    struct MHD_Daemon *d;
    pthread_t thread;
    bool started;
    atomic_bool stop;
    pend_t *p;          /* connections being screened or lingering */
    size_t np, cap;
    size_t uncounted;   /* of them, lingering after a 503 */
    pthread_mutex_t mu; /* guards what libmicrohttpd's threads touch: */
    unsigned total;     /* counted connections, screened or handed over */
    addr_count_t *ac;   /* counted connections per client address */
    size_t nac, acap;
    struct { int fd; double start; } ho[HANDOFFS];
    unsigned long expired;
};

front_t *front_open(const server_options_t *o, err_t *err)
{
    struct sockaddr_storage ss;
    unsigned len;
    bool loopback;
    if (server_parse_listen(o->listen, &ss, &len, &loopback, err) != 0)
        return NULL;
    front_t *f = calloc(1, sizeof *f);
    if (!f) {
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    f->o = o;
    f->cap = (size_t)o->max_connections + LINGER_EXTRA;
    f->acap = (size_t)o->max_connections + 1;
    f->p = calloc(f->cap, sizeof *f->p);
    f->ac = calloc(f->acap, sizeof *f->ac);
    for (size_t i = 0; i < HANDOFFS; i++)
        f->ho[i].fd = -1;
    pthread_mutex_init(&f->mu, NULL);
    f->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (!f->p || !f->ac || f->lfd < 0) {
        err_set(err, f->lfd < 0 ? ERR_IO : ERR_NOMEM, "socket: %s",
                f->lfd < 0 ? strerror(errno) : "out of memory");
        front_free(f);
        return NULL;
    }
    int one = 1;
    setsockopt(f->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ss.ss_family == AF_INET6)
        setsockopt(f->lfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    if (bind(f->lfd, (struct sockaddr *)&ss, len) != 0 || listen(f->lfd, 256) != 0 ||
        getsockname(f->lfd, (struct sockaddr *)&bound, &blen) != 0) {
        err_set(err, ERR_IO, "%s: %s", o->listen, strerror(errno));
        front_free(f);
        return NULL;
    }
    f->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                : ((struct sockaddr_in *)&bound)->sin_port);
    return f;
}

unsigned front_port(const front_t *f)
{
    return f->port;
}

/* Counts a new connection from client against the limits (under f->mu).
 * Returns false, counting nothing, when it is over one of them. */
static bool count_in(front_t *f, const char *client)
{
    if (f->total >= f->o->max_connections)
        return false;
    size_t i = 0;
    while (i < f->nac && strcmp(f->ac[i].client, client) != 0)
        i++;
    if (i < f->nac && f->ac[i].n >= f->o->max_per_client)
        return false;
    if (i == f->nac) {
        if (f->nac == f->acap)
            return false;
        snprintf(f->ac[f->nac].client, sizeof f->ac[0].client, "%s", client);
        f->ac[f->nac++].n = 0;
    }
    f->ac[i].n++;
    f->total++;
    return true;
}

void front_release(front_t *f, const char *client)
{
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->nac; i++) {
        if (strcmp(f->ac[i].client, client) != 0)
            continue;
        if (--f->ac[i].n == 0)
            f->ac[i] = f->ac[--f->nac];
        if (f->total)
            f->total--;
        break;
    }
    pthread_mutex_unlock(&f->mu);
}

double front_request_start(front_t *f, int fd)
{
    double t = guard_now();
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < HANDOFFS; i++)
        if (f->ho[i].fd == fd) {
            t = f->ho[i].start;
            f->ho[i].fd = -1;
            break;
        }
    pthread_mutex_unlock(&f->mu);
    return t;
}

unsigned long front_expired_total(front_t *f)
{
    pthread_mutex_lock(&f->mu);
    unsigned long n = f->expired;
    pthread_mutex_unlock(&f->mu);
    return n;
}

static void set_lowat(int fd, size_t n)
{
    int v = n > 1 ? (int)n : 1;
    setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof v);
}

/* Removes entry i (swapping the last in), closing its socket. */
static void drop(front_t *f, size_t i)
{
    pend_t *p = &f->p[i];
    close(p->fd);
    if (p->counted)
        front_release(f, p->client);
    else
        f->uncounted--;
    f->p[i] = f->p[--f->np];
}

/* Answers p in the JSON error shape and starts its lingering close. */
static void answer(pend_t *p, int status, const char *code, const char *message,
                   int retry_after)
{
    char out[1200];
    size_t n = api_screen_answer(status, code, message, retry_after, !p->s.head_method, out,
                                 sizeof out);
    /* Nothing has been sent on this socket: the answer fits its buffer. */
    if (n)
        (void)!send(p->fd, out, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    shutdown(p->fd, SHUT_WR);
    set_lowat(p->fd, 1);
    p->lingering = true;
    p->linger_until = guard_now() + LINGER_S;
}

static void accept_new(front_t *f)
{
    for (int k = 0; k < 64 && f->np < f->cap; k++) {
        pend_t *p = &f->p[f->np];
        memset(p, 0, sizeof *p);
        p->addrlen = sizeof p->addr;
        p->fd = accept4(f->lfd, (struct sockaddr *)&p->addr, &p->addrlen,
                        SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (p->fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                log_warn("accept_failed", "error=\"%s\"", strerror(errno));
            return;
        }
        snprintf(p->client, sizeof p->client, "-");
        if (p->addr.ss_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)&p->addr)->sin_addr, p->client,
                      sizeof p->client);
        else if (p->addr.ss_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&p->addr)->sin6_addr, p->client,
                      sizeof p->client);
        p->start = guard_now();
        api_screen_init(&p->s);
        pthread_mutex_lock(&f->mu);
        p->counted = count_in(f, p->client);
        pthread_mutex_unlock(&f->mu);
        f->np++;
        if (p->counted)
            continue;
        log_info("connection_refused", "client=%s reason=too_many_connections", p->client);
        answer(p, 503, "too_many_connections",
               "too many connections from this address or in all; retry shortly", 1);
        if (f->uncounted < LINGER_EXTRA) {
            f->uncounted++;
        } else {
            close(p->fd); /* no room to linger */
            f->np--;
        }
    }
}

static void hand_over(front_t *f, size_t i)
{
    pend_t p = f->p[i];
    f->p[i] = f->p[--f->np];
    set_lowat(p.fd, 1);
    pthread_mutex_lock(&f->mu);
    for (size_t k = 0; k < HANDOFFS; k++)
        if (f->ho[k].fd < 0 || k == HANDOFFS - 1) {
            f->ho[k].fd = p.fd;
            f->ho[k].start = p.start;
            break;
        }
    pthread_mutex_unlock(&f->mu);
    if (MHD_add_connection(f->d, p.fd, (struct sockaddr *)&p.addr, p.addrlen) != MHD_YES) {
        /* libmicrohttpd closed the socket; it will send no notice. */
        log_warn("handover_failed", "client=%s error=\"%s\"", p.client, strerror(errno));
        front_request_start(f, p.fd);
        front_release(f, p.client);
    }
}

/* Reads what has arrived on entry i; returns false when it was removed. */
static bool service(front_t *f, size_t i, short revents)
{
    static char peek[API_SCREEN_MAX_HEAD + 1];
    pend_t *p = &f->p[i];
    if (p->lingering) {
        char sink[16384];
        ssize_t n;
        int k = 0; /* at most 256 KiB a turn: a fast sender cannot hold the thread */
        while ((n = recv(p->fd, sink, sizeof sink, MSG_DONTWAIT)) > 0 && ++k < 16)
            ;
        if (n > 0)
            return true;
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            drop(f, i);
            return false;
        }
        return true;
    }
    ssize_t n = recv(p->fd, peek, sizeof peek, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return true;
        drop(f, i); /* reset: nobody to answer */
        return false;
    }
    if (n == 0) {
        drop(f, i); /* closed before sending anything */
        return false;
    }
    bool eof = (size_t)n == p->peeked && (revents & (POLLHUP | POLLRDHUP));
    p->peeked = (size_t)n;
    api_screen_result_t r = api_screen_feed(&p->s, peek, (size_t)n);
    if (r == API_SCREEN_MORE && eof)
        r = api_screen_eof(&p->s);
    if (r == API_SCREEN_OK) {
        hand_over(f, i);
        return false;
    }
    if (r == API_SCREEN_REFUSE) {
        log_warn("request", "status=%d client=%s reason=%s", p->s.status, p->client,
                 p->s.code);
        answer(p, p->s.status, p->s.code, p->s.message, 0);
        return true;
    }
    set_lowat(p->fd, p->peeked + 1);
    return true;
}

/* The request deadline while screening, and the end of lingering. */
static void sweep(front_t *f, double now)
{
    double limit = f->o->request_timeout_s ? f->o->request_timeout_s : 10;
    for (size_t i = 0; i < f->np;) {
        pend_t *p = &f->p[i];
        if (p->lingering && now >= p->linger_until) {
            drop(f, i);
            continue;
        }
        if (!p->lingering && now - p->start >= limit) {
            log_info("request_timeout", "client=%s after_s=%.1f", p->client, now - p->start);
            answer(p, 408, "request_timeout", "the request took too long to arrive", 0);
            pthread_mutex_lock(&f->mu);
            f->expired++;
            pthread_mutex_unlock(&f->mu);
        }
        i++;
    }
}

static void *front_main(void *arg)
{
    front_t *f = arg;
    struct pollfd *pfd = calloc(f->cap + 1, sizeof *pfd);
    if (!pfd) {
        log_error("front_failed", "error=\"out of memory\"");
        return NULL;
    }
    while (!atomic_load(&f->stop)) {
        size_t n = f->np;
        pfd[0] = (struct pollfd){.fd = f->np < f->cap ? f->lfd : -1, .events = POLLIN};
        for (size_t i = 0; i < n; i++)
            pfd[i + 1] = (struct pollfd){.fd = f->p[i].fd, .events = POLLIN | POLLRDHUP};
        int rc = poll(pfd, n + 1, 100);
        if (rc < 0 && errno != EINTR) {
            log_error("front_failed", "error=\"poll: %s\"", strerror(errno));
            break;
        }
        /* Service from the end: removing entry i moves the last one (already
         * serviced) into its place. */
        for (size_t i = n; i-- > 0;)
            if (rc > 0 && pfd[i + 1].revents && f->p[i].fd == pfd[i + 1].fd)
                service(f, i, pfd[i + 1].revents);
        sweep(f, guard_now());
        if (rc > 0 && (pfd[0].revents & POLLIN))
            accept_new(f);
    }
    free(pfd);
    return NULL;
}

int front_start(front_t *f, struct MHD_Daemon *d, err_t *err)
{
    f->d = d;
    if (pthread_create(&f->thread, NULL, front_main, f) != 0)
        return err_set(err, ERR_IO, "cannot start the accepting thread"), -1;
    f->started = true;
    return 0;
}

void front_stop(front_t *f)
{
    if (!f || !f->started)
        return;
    atomic_store(&f->stop, true);
    pthread_join(f->thread, NULL);
    f->started = false;
    /* Heads still arriving get an answer too (best effort: the socket is
     * closed right after it). */
    for (size_t i = 0; i < f->np; i++)
        if (!f->p[i].lingering)
            answer(&f->p[i], 503, "shutting_down", "the server is stopping; retry shortly", 1);
    while (f->np)
        drop(f, f->np - 1);
}

void front_free(front_t *f)
{
    if (!f)
        return;
    front_stop(f);
    if (f->lfd >= 0)
        close(f->lfd);
    pthread_mutex_destroy(&f->mu);
    free(f->p);
    free(f->ac);
    free(f);
}
