/* metrics — the --metrics endpoint: Prometheus text on GET /metrics.
 *
 * One thread, plain sockets, one connection at a time: a scrape every few
 * seconds needs nothing more, and it keeps the worker free of an HTTP
 * server dependency.  Everything served is read from worker_t's atomics,
 * so a scrape never takes a lock a job thread holds for long. */
#include "worker.h"

#include "base/log.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
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

/* Reads the request head (capped at 4 KB, 2 s) and answers it. */
static void serve(worker_t *w, int fd)
{
    char req[4096], body[16384], head[256];
    size_t got = 0;
    struct timeval tv = {2, 0};

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    while (got < sizeof req - 1) {
        ssize_t k = recv(fd, req + got, sizeof req - 1 - got, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
        req[got] = '\0';
        if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
            break;
    }
    req[got] = '\0';

    const char *status = "404 Not Found", *ctype = "text/plain";
    size_t blen;
    if (strncmp(req, "GET /metrics ", 13) == 0 || strncmp(req, "GET /metrics?", 13) == 0) {
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

static void *metrics_main(void *arg)
{
    worker_t *w = arg;
    while (!atomic_load(&w->metrics.quit)) {
        struct pollfd p = {.fd = w->metrics.listen_fd, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0)
            continue;
        int fd = accept(w->metrics.listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        serve(w, fd);
        close(fd);
    }
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
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 16) == 0)
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
