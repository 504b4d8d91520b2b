/* metrics — the --metrics endpoint: Prometheus text on GET /metrics.
 *
 * One thread, plain sockets and poll: a scrape every few seconds needs
 * nothing more, and it keeps the worker free of an HTTP server dependency.
 * Up to METRICS_CLIENTS connections are read side by side, each with a
 * deadline for its whole request, so clients that connect and send half a
 * request (or nothing) delay nobody.  Everything served is read from worker_t's atomics,
 * so a scrape never takes a lock a job thread holds for long. */
#include "worker.h"
#include "quota.h"

#include "base/log.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const double gen_le[WORKER_GEN_BUCKETS] = {
    0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120,
};

void worker_observe_generate(worker_t *w, int64_t ms)
{
    int i = 0;
    while (i < WORKER_GEN_BUCKETS && (double)ms / 1000.0 > gen_le[i])
        i++;
    atomic_fetch_add(&w->gen_bucket[i], 1);
    atomic_fetch_add(&w->gen_sum_us, (long long)ms * 1000);
}

/* Appends to out[*len..cap); a truncated append marks the whole as too
 * big (the caller answers 500 rather than half a scrape). */
static void put(char *out, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void put(char *out, size_t cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    if (*len >= cap)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(out + *len, cap - *len, fmt, ap);
    va_end(ap);
    *len = n < 0 || (size_t)n >= cap - *len ? cap : *len + (size_t)n;
}

static size_t render(worker_t *w, char *out, size_t cap)
{
    size_t len = 0;
    int inflight = 0;

    pthread_mutex_lock(&w->lock);
    for (int i = 0; i < w->nslots; i++)
        inflight += w->slots[i].active;
    pthread_mutex_unlock(&w->lock);

    put(out, cap, &len, "# HELP onesheet_jobs_total Jobs this worker finished with, by outcome.\n"
        "# TYPE onesheet_jobs_total counter\n");
    const struct { const char *name; atomic_long *v; } states[] = {
        {"succeeded", &w->n_succeeded}, {"failed", &w->n_failed},
        {"filtered", &w->n_filtered}, {"skipped", &w->n_skipped},
        {"given_back", &w->n_given_back}, {"not_served", &w->n_not_served},
    };
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
        put(out, cap, &len, "onesheet_jobs_total{state=\"%s\"} %ld\n", states[i].name,
            atomic_load(states[i].v));
    put(out, cap, &len, "# HELP onesheet_inflight Jobs being processed now.\n"
        "# TYPE onesheet_inflight gauge\nonesheet_inflight %d\n", inflight);

    put(out, cap, &len, "# HELP onesheet_generate_seconds Latency of the engine's generate call.\n"
        "# TYPE onesheet_generate_seconds histogram\n");
    long cum = 0;
    for (int i = 0; i < WORKER_GEN_BUCKETS; i++) {
        cum += atomic_load(&w->gen_bucket[i]);
        put(out, cap, &len, "onesheet_generate_seconds_bucket{le=\"%g\"} %ld\n", gen_le[i],
            cum);
    }
    cum += atomic_load(&w->gen_bucket[WORKER_GEN_BUCKETS]);
    put(out, cap, &len, "onesheet_generate_seconds_bucket{le=\"+Inf\"} %ld\n"
        "onesheet_generate_seconds_sum %.6f\nonesheet_generate_seconds_count %ld\n", cum,
        (double)atomic_load(&w->gen_sum_us) / 1e6, cum);

    put(out, cap, &len, "# HELP onesheet_retries_total Jobs handed back to be retried later.\n"
        "# TYPE onesheet_retries_total counter\nonesheet_retries_total %ld\n",
        atomic_load(&w->n_retried));
    put(out, cap, &len, "# HELP onesheet_throttles_total Generate calls the engine reported throttled.\n"
        "# TYPE onesheet_throttles_total counter\nonesheet_throttles_total %ld\n",
        atomic_load(&w->n_throttled));
    if (w->rl)
        put(out, cap, &len, "# HELP onesheet_rate_limit_rpm The adaptive limiter's current rate.\n"
            "# TYPE onesheet_rate_limit_rpm gauge\nonesheet_rate_limit_rpm %.2f\n",
            ratelimit_rate(w->rl));
    worker_quota_metrics(w, out, cap, &len);
    return len;
}

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return;
        p += k;
        n -= (size_t)k;
    }
}

/* Answers the request head in req (NUL-terminated) on fd.  The answer is a
 * few KB, which the socket's send buffer takes at once; a client that does
 * not read is cut off rather than waited for (MSG_DONTWAIT). */
static void answer(worker_t *w, int fd, const char *req, const char *status_override)
{
    char body[16384], head[256];
    const char *status = "404 Not Found", *ctype = "text/plain";
    size_t blen;
    if (status_override) {
        status = status_override;
        blen = (size_t)snprintf(body, sizeof body, "%s\n", status_override);
    } else if (strncmp(req, "GET /metrics ", 13) == 0 ||
               strncmp(req, "GET /metrics?", 13) == 0) {
        blen = render(w, body, sizeof body);
        if (blen >= sizeof body) {
            status = "500 Internal Server Error";
            blen = (size_t)snprintf(body, sizeof body, "metrics too large\n");
        } else {
            status = "200 OK";
            ctype = "text/plain; version=0.0.4";
        }
    } else {
        blen = (size_t)snprintf(body, sizeof body, "not found; try GET /metrics\n");
    }
    int hn = snprintf(head, sizeof head, "HTTP/1.1 %s\r\nContent-Type: %s\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n", status, ctype, blen);
    if (hn > 0 && (size_t)hn < sizeof head) {
        send_all(fd, head, (size_t)hn);
        send_all(fd, body, blen);
    }
}

/* One connection being read.  Every client gets METRICS_DEADLINE_MS from
 * accept to a complete request head, however it trickles in: slow or
 * half-sent requests are answered 408 and closed, and they never stop the
 * loop serving the others. */
#define METRICS_CLIENTS 64
#define METRICS_DEADLINE_MS 2000
#define METRICS_HEAD_MAX 2048

typedef struct {
    int fd;          /* -1: free */
    int64_t since;   /* accept time, ms */
    size_t got;
    char req[METRICS_HEAD_MAX];
} mclient_t;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void drop(mclient_t *c)
{
    close(c->fd);
    c->fd = -1;
}

/* Takes a new connection into a free slot; when all are taken, the one
 * that has waited longest gives way (so a flood of idle connections cannot
 * lock a scraper out: the newest client always gets its deadline). */
static void take(mclient_t *cl, int fd, int64_t now)
{
    int k = 0;
    for (int i = 0; i < METRICS_CLIENTS; i++) {
        if (cl[i].fd < 0) {
            k = i;
            break;
        }
        if (cl[i].since < cl[k].since)
            k = i;
    }
    if (cl[k].fd >= 0)
        drop(&cl[k]);
    cl[k].fd = fd;
    cl[k].since = now;
    cl[k].got = 0;
    cl[k].req[0] = '\0';
}

/* Reads what is there; answers once the head is complete (or full). */
static void readable(worker_t *w, mclient_t *c)
{
    ssize_t k = recv(c->fd, c->req + c->got, sizeof c->req - 1 - c->got, MSG_DONTWAIT);
    if (k < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (k <= 0) {
        drop(c);
        return;
    }
    c->got += (size_t)k;
    c->req[c->got] = '\0';
    if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n")) {
        answer(w, c->fd, c->req, NULL);
        drop(c);
    } else if (c->got >= sizeof c->req - 1) {
        answer(w, c->fd, c->req, "431 Request Header Fields Too Large");
        drop(c);
    }
}

static void *metrics_main(void *arg)
{
    worker_t *w = arg;
    mclient_t *cl = calloc(METRICS_CLIENTS, sizeof *cl);
    struct pollfd p[METRICS_CLIENTS + 1];
    int map[METRICS_CLIENTS + 1];

    if (!cl) {
        log_error("metrics_stopped", "error=\"out of memory\"");
        return NULL;
    }
    for (int i = 0; i < METRICS_CLIENTS; i++)
        cl[i].fd = -1;
    while (!atomic_load(&w->metrics.quit)) {
        int n = 0, timeout = 200;
        int64_t now = now_ms();
        p[n++] = (struct pollfd){.fd = w->metrics.listen_fd, .events = POLLIN};
        for (int i = 0; i < METRICS_CLIENTS; i++) {
            if (cl[i].fd < 0)
                continue;
            int64_t left = cl[i].since + METRICS_DEADLINE_MS - now;
            if (left <= 0) {
                answer(w, cl[i].fd, cl[i].req, "408 Request Timeout");
                drop(&cl[i]);
                continue;
            }
            if (left < timeout)
                timeout = (int)left;
            map[n] = i;
            p[n++] = (struct pollfd){.fd = cl[i].fd, .events = POLLIN};
        }
        if (poll(p, (nfds_t)n, timeout) <= 0)
            continue;
        for (int j = 1; j < n; j++)
            if (p[j].revents)
                readable(w, &cl[map[j]]);
        if (p[0].revents & POLLIN) {
            int fd = accept4(w->metrics.listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (fd >= 0)
                take(cl, fd, now_ms());
        }
    }
    for (int i = 0; i < METRICS_CLIENTS; i++)
        if (cl[i].fd >= 0)
            drop(&cl[i]);
    free(cl);
    return NULL;
}

int worker_metrics_start(worker_t *w, err_t *err)
{
    char host[256], port[16];
    const char *colon = strrchr(w->metrics_addr, ':');
    size_t hl = colon ? (size_t)(colon - w->metrics_addr) : 0;

    if (!colon || hl >= sizeof host || strlen(colon + 1) == 0 ||
        strlen(colon + 1) >= sizeof port) {
        err_set(err, ERR_USAGE, "--metrics: want HOST:PORT, got \"%s\"", w->metrics_addr);
        return -1;
    }
    memcpy(host, w->metrics_addr, hl);
    host[hl] = '\0';
    snprintf(port, sizeof port, "%s", colon + 1);
    /* "[::1]:9100" */
    char *h = host;
    if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
        h[hl - 1] = '\0';
        h++;
    }

    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(*h ? h : NULL, port, &hints, &ai);
    if (rc != 0) {
        err_set(err, ERR_USAGE, "--metrics %s: %s", w->metrics_addr, gai_strerror(rc));
        return -1;
    }
    int fd = -1, one = 1;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 64) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    if (fd < 0) {
        err_set(err, ERR_IO, "--metrics %s: cannot listen: %s", w->metrics_addr,
                strerror(errno));
        return -1;
    }

    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char nhost[NI_MAXHOST] = "?", nport[NI_MAXSERV] = "?";
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        getnameinfo((struct sockaddr *)&ss, sl, nhost, sizeof nhost, nport, sizeof nport,
                    NI_NUMERICHOST | NI_NUMERICSERV);
    w->metrics.listen_fd = fd;
    atomic_store(&w->metrics.quit, false);
    if (pthread_create(&w->metrics.tid, NULL, metrics_main, w) != 0) {
        close(fd);
        w->metrics.listen_fd = -1;
        err_set(err, ERR_INTERNAL, "--metrics: cannot start its thread");
        return -1;
    }
    log_info("metrics_listening", "addr=%s%s%s:%s path=/metrics",
             strchr(nhost, ':') ? "[" : "", nhost, strchr(nhost, ':') ? "]" : "", nport);
    return 0;
}

void worker_metrics_stop(worker_t *w)
{
    if (w->metrics.listen_fd < 0)
        return;
    atomic_store(&w->metrics.quit, true);
    pthread_join(w->metrics.tid, NULL);
    close(w->metrics.listen_fd);
    w->metrics.listen_fd = -1;
}
