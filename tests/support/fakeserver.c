/* fakeserver — see fakeserver.h.
 *
 * Every blocking wait (reading a request, a stall) polls the connection and a
 * wake pipe together; fake_server_stop() writes one byte into the pipe and
 * never reads it, so every thread sees it and leaves promptly. */
#include "fakeserver.h"

#include "base/buf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_HEAD (64 * 1024)
#define MAX_BODY ((size_t)256 * 1024 * 1024)

struct conn {
    fake_server_t *fs;
    int fd;
    int id;
    pthread_t th;
    struct conn *next;
};

struct fake_server {
    int lfd;
    int wake[2];
    int port;
    char url[64];
    fake_handler_fn fn;
    void *ud;
    pthread_t th;
    pthread_mutex_t mu;
    struct conn *conns;
    atomic_int nconns;
    atomic_int nreqs;
};

/* Waits until fd is readable (or, with fd < 0, for ms).  Returns 1 when
 * readable, 0 on timeout, -1 when the server is stopping. */
static int wait_fd(fake_server_t *fs, int fd, long ms)
{
    struct pollfd p[2] = {{fs->wake[0], POLLIN, 0}, {fd, POLLIN, 0}};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        long left = ms;
        if (ms >= 0) {
            clock_gettime(CLOCK_MONOTONIC, &t1);
            left = ms - ((t1.tv_sec - t0.tv_sec) * 1000 +
                         (t1.tv_nsec - t0.tv_nsec) / 1000000);
            if (left < 0)
                left = 0;
        }
        int n = poll(p, fd >= 0 ? 2 : 1, (int)(left > 0x7fffffff ? 0x7fffffff : left));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || (p[0].revents & POLLIN))
            return -1;
        if (n == 0)
            return 0;
        return 1;
    }
}

/* Sends everything, waiting for room without ever blocking past a stop. */
static int send_all(fake_server_t *fs, int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pf[2] = {{fs->wake[0], POLLIN, 0}, {fd, POLLOUT, 0}};
            if (poll(pf, 2, -1) < 0 && errno != EINTR)
                return -1;
            if (pf[0].revents & POLLIN)
                return -1;
            continue;
        }
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads more bytes into rx.  Returns >0 bytes read, 0 at EOF, -1 on error or
 * when stopping. */
static ssize_t read_more(struct conn *c, buf_t *rx)
{
    char tmp[16384];
    if (wait_fd(c->fs, c->fd, -1) != 1)
        return -1;
    for (;;) {
        ssize_t n = recv(c->fd, tmp, sizeof tmp, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n > 0 && buf_append(rx, tmp, (size_t)n) != ERR_OK)
            return -1;
        return n;
    }
}

static const char *find_head_end(const buf_t *rx)
{
    if (rx->len < 4)
        return NULL;
    return memmem(rx->data, rx->len, "\r\n\r\n", 4);
}

const char *fake_request_header(const fake_request_t *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* Parses the request line and headers of head (modified in place). */
static int parse_head(char *head, fake_request_t *req)
{
    char *save = NULL, *line = strtok_r(head, "\r\n", &save);
    if (!line)
        return -1;
    char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp1 || !sp2)
        return -1;
    *sp1 = *sp2 = '\0';
    req->method = line;
    req->target = sp1 + 1;
    req->version = sp2 + 1;
    while ((line = strtok_r(NULL, "\r\n", &save)) != NULL) {
        char *colon = strchr(line, ':');
        if (!colon || req->nheaders == FAKE_MAX_HEADERS)
            return -1;
        *colon = '\0';
        req->headers[req->nheaders].name = trim(line);
        req->headers[req->nheaders].value = trim(colon + 1);
        req->nheaders++;
    }
    return 0;
}

/* Decodes a chunked body starting at p[0..len).  Returns 1 and sets *used when
 * complete, 0 when more bytes are needed, -1 when malformed. */
static int dechunk(const char *p, size_t len, buf_t *out, size_t *used)
{
    size_t off = 0;
    buf_reset(out);
    for (;;) {
        const char *eol = memmem(p + off, len - off, "\r\n", 2);
        if (!eol)
            return len - off > 64 ? -1 : 0;
        char *end;
        unsigned long long n = strtoull(p + off, &end, 16);
        if (end == p + off || n > MAX_BODY)
            return -1;
        off = (size_t)(eol - p) + 2;
        if (n == 0) {
            /* Trailers end with an empty line. */
            const char *fin = memmem(p + off - 2, len - off + 2, "\r\n\r\n", 4);
            if (!fin)
                return 0;
            *used = (size_t)(fin - p) + 4;
            return 1;
        }
        if (len - off < n + 2)
            return 0;
        if (buf_append(out, p + off, (size_t)n) != ERR_OK)
            return -1;
        off += (size_t)n + 2;
    }
}

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
    }
}

static void response_free(fake_response_t *r)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        free((char *)r->headers[i].name);
        free((char *)r->headers[i].value);
    }
    free(r->body);
    free(r->raw);
    memset(r, 0, sizeof *r);
}

void fake_response_clear(fake_response_t *resp)
{
    response_free(resp);
    resp->status = 200;
}

int fake_server_write_port_file(const fake_server_t *fs, const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "%d\n", fake_server_port(fs));
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static bool has_header(const fake_response_t *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return true;
    return false;
}

/* Sends resp; returns 1 to keep the connection, 0 to close it. */
static int send_response(struct conn *c, const fake_request_t *req, fake_response_t *r,
                         bool client_close)
{
    if (r->stall_ms > 0 && wait_fd(c->fs, -1, r->stall_ms) < 0)
        return 0;
    if (r->action == FAKE_CLOSE)
        return 0;
    if (r->action == FAKE_RESET) {
        struct linger lg = {1, 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        return 0;
    }
    if (r->action == FAKE_GARBAGE) {
        if (r->raw_len)
            send_all(c->fs, c->fd, r->raw, r->raw_len);
        return 0;
    }
    bool close_after = client_close || r->close || r->no_content_length ||
                       r->action == FAKE_TRUNCATE;
    bool bodyless = strcmp(req->method, "HEAD") == 0 || r->status == 204 ||
                    r->status == 304 || r->status < 200;
    buf_t h = BUF_INIT;
    buf_appendf(&h, "HTTP/1.1 %d %s\r\n", r->status, reason(r->status));
    for (size_t i = 0; i < r->nheaders; i++)
        buf_appendf(&h, "%s: %s\r\n", r->headers[i].name, r->headers[i].value);
    if (!has_header(r, "Content-Length") && !r->no_content_length &&
        r->status != 204 && r->status != 304 && r->status >= 200)
        buf_appendf(&h, "Content-Length: %zu\r\n", r->body_len);
    if (close_after)
        buf_append_str(&h, "Connection: close\r\n");
    buf_append_str(&h, "\r\n");
    int rc = send_all(c->fs, c->fd, h.data, h.len);
    buf_free(&h);
    if (rc < 0 || bodyless)
        return rc < 0 ? 0 : !close_after;

    size_t n = r->body_len;
    if (r->action == FAKE_TRUNCATE && r->truncate_at < n)
        n = r->truncate_at;
    size_t first = r->stall_mid_ms > 0 ? n / 2 : n;
    if (send_all(c->fs, c->fd, r->body, first) < 0)
        return 0;
    if (r->stall_mid_ms > 0) {
        if (wait_fd(c->fs, -1, r->stall_mid_ms) < 0)
            return 0;
        if (send_all(c->fs, c->fd, r->body + first, n - first) < 0)
            return 0;
    }
    return !close_after;
}

/* Reads and answers one request from rx/fd.  Returns 1 to keep going. */
static int serve_one(struct conn *c, buf_t *rx, int conn_seq)
{
    fake_server_t *fs = c->fs;
    const char *end;
    while ((end = find_head_end(rx)) == NULL) {
        if (rx->len > MAX_HEAD || read_more(c, rx) <= 0)
            return 0;
    }
    size_t head_len = (size_t)(end - (const char *)rx->data) + 4;
    char *head = strndup((const char *)rx->data, head_len - 4);
    fake_request_t req;
    memset(&req, 0, sizeof req);
    buf_t body = BUF_INIT;
    int keep = 0;
    if (!head || parse_head(head, &req) != 0)
        goto out;

    const char *te = fake_request_header(&req, "Transfer-Encoding");
    const char *cl = fake_request_header(&req, "Content-Length");
    const char *expect = fake_request_header(&req, "Expect");
    bool chunked = te && strcasestr(te, "chunked");
    size_t want = 0, used = 0;
    if (cl && !chunked) {
        char *e;
        unsigned long long v = strtoull(cl, &e, 10);
        if (e == cl || *e || v > MAX_BODY)
            goto out;
        want = (size_t)v;
    }
    if (expect && strcasecmp(expect, "100-continue") == 0 &&
        rx->len == head_len && (want > 0 || chunked)) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        if (send_all(c->fs, c->fd, cont, sizeof cont - 1) < 0)
            goto out;
    }
    if (chunked) {
        int st;
        while ((st = dechunk((const char *)rx->data + head_len, rx->len - head_len,
                             &body, &used)) == 0)
            if (read_more(c, rx) <= 0)
                goto out;
        if (st < 0)
            goto out;
    } else {
        while (rx->len - head_len < want)
            if (read_more(c, rx) <= 0)
                goto out;
        if (buf_append(&body, rx->data + head_len, want) != ERR_OK)
            goto out;
        used = want;
    }
    req.body = body.data ? (const char *)body.data : "";
    req.body_len = body.len;
    /* Split the target only now: parse_head left it NUL-terminated in head. */
    char *target = strdup(req.target);
    if (!target)
        goto out;
    char *q = strchr(target, '?');
    req.path = target;
    req.query = "";
    if (q) {
        *q = '\0';
        req.query = q + 1;
    }
    req.conn_id = c->id;
    req.conn_seq = conn_seq;
    req.seq = atomic_fetch_add(&fs->nreqs, 1) + 1;

    bool client_close = strcmp(req.version, "HTTP/1.0") == 0;
    const char *conn_hdr = fake_request_header(&req, "Connection");
    if (conn_hdr && strcasecmp(conn_hdr, "close") == 0)
        client_close = true;

    fake_response_t resp;
    memset(&resp, 0, sizeof resp);
    resp.status = 200;
    if (fs->fn)
        fs->fn(&req, &resp, fs->ud);
    keep = send_response(c, &req, &resp, client_close);
    response_free(&resp);
    free(target);

    /* Keep any pipelined bytes that follow this request. */
    size_t consumed = head_len + used;
    memmove(rx->data, rx->data + consumed, rx->len - consumed);
    rx->len -= consumed;
out:
    buf_free(&body);
    free(head);
    return keep;
}

static void *conn_main(void *arg)
{
    struct conn *c = arg;
    buf_t rx = BUF_INIT;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (int seq = 1; serve_one(c, &rx, seq); seq++)
        ;
    buf_free(&rx);
    close(c->fd);
    c->fd = -1;
    return NULL;
}

static void *accept_main(void *arg)
{
    fake_server_t *fs = arg;
    for (;;) {
        if (wait_fd(fs, fs->lfd, -1) != 1)
            return NULL;
        int fd = accept4(fs->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        struct conn *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->fs = fs;
        c->fd = fd;
        c->id = atomic_fetch_add(&fs->nconns, 1) + 1;
        if (pthread_create(&c->th, NULL, conn_main, c) != 0) {
            close(fd);
            free(c);
            continue;
        }
        pthread_mutex_lock(&fs->mu);
        c->next = fs->conns;
        fs->conns = c;
        pthread_mutex_unlock(&fs->mu);
    }
}

fake_server_t *fake_server_start(fake_handler_fn fn, void *ud)
{
    fake_server_t *fs = calloc(1, sizeof *fs);
    if (!fs)
        return NULL;
    fs->fn = fn;
    fs->ud = ud;
    fs->lfd = -1;
    fs->wake[0] = fs->wake[1] = -1;
    pthread_mutex_init(&fs->mu, NULL);
    if (pipe2(fs->wake, O_CLOEXEC) != 0)
        goto fail;
    fs->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fs->lfd < 0)
        goto fail;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    socklen_t sl = sizeof sa;
    if (bind(fs->lfd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(fs->lfd, 64) != 0 ||
        getsockname(fs->lfd, (struct sockaddr *)&sa, &sl) != 0)
        goto fail;
    fs->port = ntohs(sa.sin_port);
    snprintf(fs->url, sizeof fs->url, "http://127.0.0.1:%d", fs->port);
    if (pthread_create(&fs->th, NULL, accept_main, fs) != 0)
        goto fail;
    return fs;
fail:
    if (fs->lfd >= 0)
        close(fs->lfd);
    if (fs->wake[0] >= 0) {
        close(fs->wake[0]);
        close(fs->wake[1]);
    }
    pthread_mutex_destroy(&fs->mu);
    free(fs);
    return NULL;
}

void fake_server_stop(fake_server_t *fs)
{
    if (!fs)
        return;
    ssize_t w;
    do
        w = write(fs->wake[1], "x", 1);
    while (w < 0 && errno == EINTR);
    pthread_join(fs->th, NULL);
    /* The acceptor is gone, so the list no longer changes. */
    struct conn *c = fs->conns;
    while (c) {
        struct conn *next = c->next;
        pthread_join(c->th, NULL);
        free(c);
        c = next;
    }
    close(fs->lfd);
    close(fs->wake[0]);
    close(fs->wake[1]);
    pthread_mutex_destroy(&fs->mu);
    free(fs);
}

int fake_server_port(const fake_server_t *fs)
{
    return fs->port;
}

const char *fake_server_url(const fake_server_t *fs)
{
    return fs->url;
}

int fake_server_requests(const fake_server_t *fs)
{
    return atomic_load(&((fake_server_t *)fs)->nreqs);
}

int fake_server_connections(const fake_server_t *fs)
{
    return atomic_load(&((fake_server_t *)fs)->nconns);
}

void fake_response_header(fake_response_t *resp, const char *name, const char *value)
{
    if (resp->nheaders == FAKE_MAX_HEADERS)
        return;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return;
    }
    resp->headers[resp->nheaders].name = n;
    resp->headers[resp->nheaders].value = v;
    resp->nheaders++;
}

void fake_response_body(fake_response_t *resp, const void *data, size_t len)
{
    free(resp->body);
    resp->body = malloc(len + 1);
    resp->body_len = resp->body ? len : 0;
    if (resp->body) {
        if (len)
            memcpy(resp->body, data, len);
        resp->body[len] = '\0';
    }
}

void fake_response_bodyf(fake_response_t *resp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n >= 0)
        fake_response_body(resp, s, (size_t)n);
    free(s);
}

void fake_response_json(fake_response_t *resp, int status, const char *json)
{
    resp->status = status;
    fake_response_header(resp, "Content-Type", "application/json");
    fake_response_body(resp, json, strlen(json));
}

void fake_response_raw(fake_response_t *resp, const void *data, size_t len)
{
    free(resp->raw);
    resp->raw = malloc(len ? len : 1);
    resp->raw_len = resp->raw ? len : 0;
    if (resp->raw && len)
        memcpy(resp->raw, data, len);
    resp->action = FAKE_GARBAGE;
}

void fake_http_date(long long t, char *out, size_t cap)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const mons[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    snprintf(out, cap, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
             tm.tm_mday, mons[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
             tm.tm_sec);
}
