/* server_mhd — onesheet-api over HTTP with libmicrohttpd.
 *
 * A thread per connection: POST /generate-poster may wait up to the sync
 * timeout, and a blocked handler must not hold up other clients.  Back-end
 * handles come from the router's pool, not from the threads.  Connections
 * come from the front door (server_front.c), which owns the listening
 * socket, the total and per-address limits and the screen of each request
 * head, so libmicrohttpd only ever parses heads that are sound; every
 * answer here closes its connection, so no request skips that screen.  The
 * idle timeout, the request deadline (server_guard.c) and the
 * per-connection memory limit keep slow or greedy clients from exhausting
 * the server; bodies are capped at API_MAX_BODY, refused early when
 * Content-Length already says too much. */
#include "server.h"
#include "server_front.h"
#include "server_guard.h"

#include "base/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdatomic.h>
#include <strings.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    buf_t body;
    bool too_big;
    bool counted; /* counted in inflight until the answer has gone */
} conn_ctx_t;

/* Requests being handled or answered, for the drain on stop. */
static atomic_int inflight;

typedef struct {
    api_header_t h[API_MAX_HEADERS];
    size_t n;
} header_list_t;

int server_parse_listen(const char *listen, void *ssp, unsigned *len, bool *loopback,
                        err_t *err)
{
    struct sockaddr_storage *ss = ssp;
    char host[128];
    const char *colon = strrchr(listen, ':');
    char *end;
    long port;

    memset(ss, 0, sizeof *ss);
    if (!colon || (size_t)(colon - listen) >= sizeof host) {
        err_set(err, ERR_USAGE, "expected ADDR:PORT, got \"%s\"", listen);
        return -1;
    }
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || port < 0 || port > 65535) {
        err_set(err, ERR_USAGE, "bad port in \"%s\"", listen);
        return -1;
    }
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    size_t hl = strlen(host);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        host[hl - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1) {
            err_set(err, ERR_USAGE, "bad IPv6 address in \"%s\"", listen);
            return -1;
        }
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        *len = sizeof *s6;
        *loopback = IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
        return 0;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    if (inet_pton(AF_INET, host, &s4->sin_addr) != 1) {
        err_set(err, ERR_USAGE, "bad IPv4 address in \"%s\" (use a numeric address)", listen);
        return -1;
    }
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    *len = sizeof *s4;
    *loopback = (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
    return 0;
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    header_list_t *hl = cls;
    (void)kind;
    if (hl->n < API_MAX_HEADERS)
        hl->h[hl->n++] = (api_header_t){key, value ? value : ""};
    return MHD_YES;
}

/* A connection's context from start to close. */
typedef struct {
    guard_conn_t *g;
    front_t *front;
    atomic_bool released; /* no longer counted against the front's limits */
    char client[INET6_ADDRSTRLEN];
} sock_ctx_t;

static sock_ctx_t *sock_ctx(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static guard_conn_t *conn_guard(struct MHD_Connection *c)
{
    sock_ctx_t *sc = sock_ctx(c);
    return sc ? sc->g : NULL;
}

/* The connection stops counting against the limits once it is answered
 * (its answer closes it): a client that reconnects as soon as it has read
 * the answer must not find its old connection still counted. */
static void release_once(sock_ctx_t *sc)
{
    if (sc && !atomic_exchange(&sc->released, true))
        front_release(sc->front, sc->client);
}

/* Rebuilds the query string from MHD's decoded arguments, percent-encoding
 * every byte outside the unreserved set, so the router reads one form. */
static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    buf_t *b = cls;
    (void)kind;
    if (b->len && buf_append(b, "&", 1) != ERR_OK)
        return MHD_NO;
    for (int part = 0; part < 2; part++) {
        const char *s = part ? value : key;
        if (part && (!value || buf_append(b, "=", 1) != ERR_OK))
            break;
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
            char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            bool plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                         (*p >= '0' && *p <= '9') || strchr("-._~", *p);
            if (buf_append(b, plain ? (const char *)p : esc, plain ? 1 : 3) != ERR_OK)
                return MHD_NO;
        }
    }
    return b->len > 8192 ? MHD_NO : MHD_YES;
}

static enum MHD_Result send_response_ex(struct MHD_Connection *c, const api_response_t *r,
                                        bool close_after)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        r->body_len, r->body ? r->body : (void *)"", MHD_RESPMEM_MUST_COPY);
    char ra[16];
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type",
                            r->content_type ? r->content_type : "application/json");
    MHD_add_response_header(resp, "Cache-Control",
                            r->cache_control[0] ? r->cache_control : "no-store");
    if (r->etag[0])
        MHD_add_response_header(resp, "ETag", r->etag);
    if (r->last_modified[0])
        MHD_add_response_header(resp, "Last-Modified", r->last_modified);
    if (r->content_range[0])
        MHD_add_response_header(resp, "Content-Range", r->content_range);
    if (r->accept_ranges)
        MHD_add_response_header(resp, "Accept-Ranges", "bytes");
    if (r->csp) {
        MHD_add_response_header(resp, "Content-Security-Policy", r->csp);
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    }
    if (r->retry_after > 0) {
        snprintf(ra, sizeof ra, "%d", r->retry_after);
        MHD_add_response_header(resp, "Retry-After", ra);
    }
    if (r->allow)
        MHD_add_response_header(resp, "Allow", r->allow);
    if (close_after)
        MHD_add_response_header(resp, "Connection", "close");
    release_once(sock_ctx(c));
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Every answer closes its connection: the next request then comes on a new
 * one, whose head the front door screens (server_front.c). */
static enum MHD_Result send_response(struct MHD_Connection *c, const api_response_t *r)
{
    return send_response_ex(c, r, true);
}

static double now_s(void)
{
    return guard_now();
}

static void client_name(struct MHD_Connection *c, char *client, size_t size)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(client, size, "-");
    if (ci && ci->client_addr) {
        if (ci->client_addr->sa_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)ci->client_addr)->sin_addr, client,
                      (socklen_t)size);
        else if (ci->client_addr->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ci->client_addr)->sin6_addr, client,
                      (socklen_t)size);
    }
}

typedef struct {
    unsigned n_cl, n_te;
    bool cl_differ;
    const char *cl;
} framing_t;

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    framing_t *f = cls;
    (void)kind;
    if (strcasecmp(key, "Content-Length") == 0) {
        if (f->n_cl++ && strcmp(f->cl, value ? value : "") != 0)
            f->cl_differ = true;
        if (f->n_cl == 1)
            f->cl = value ? value : "";
    } else if (strcasecmp(key, "Transfer-Encoding") == 0) {
        f->n_te++;
    }
    return MHD_YES;
}

/* Framing two parsers could read two ways (the shape of request smuggling):
 * Content-Length with Transfer-Encoding, or Content-Lengths that differ.
 * Returns the reason, or NULL when the framing is plain. */
static const char *ambiguous_framing(struct MHD_Connection *c)
{
    framing_t f = {0, 0, false, NULL};
    MHD_get_connection_values(c, MHD_HEADER_KIND, count_framing, &f);
    if (f.n_cl && f.n_te)
        return "Content-Length and Transfer-Encoding together";
    if (f.cl_differ)
        return "Content-Length headers that differ";
    if (f.n_te > 1)
        return "more than one Transfer-Encoding header";
    return NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    front_t *front = cls;
    sock_ctx_t *sc = *socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        /* The request's deadline started when the front door accepted it. */
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        char client[INET6_ADDRSTRLEN];
        client_name(c, client, sizeof client);
        double since = ci ? front_request_start(front, ci->connect_fd) : guard_now();
        if (!(sc = calloc(1, sizeof *sc))) {
            front_release(front, client); /* uncounted rather than leaked */
            *socket_context = NULL;
            return;
        }
        sc->front = front;
        atomic_init(&sc->released, false);
        snprintf(sc->client, sizeof sc->client, "%s", client);
        sc->g = ci ? guard_open_since(ci->connect_fd, client, since) : NULL;
        *socket_context = sc;
    } else if (sc) {
        guard_close(sc->g);
        release_once(sc);
        free(sc);
        *socket_context = NULL;
    }
}

static void log_request(const char *method, const char *url, const char *client,
                        const api_response_t *r, double ms)
{
    char path[300];
    if (r->status == 401 || r->status == 429)
        /* Refusals worth seeing by default: key guessing, floods.  The
         * detail says which (no key, bad key, throttled), never the key. */
        log_warn("request", "method=%s path=%s status=%d ms=%.1f client=%s reason=%s", method,
                 log_q(url, path, sizeof path), r->status, ms, client,
                 r->detail[0] ? r->detail : "rate_limited");
    else if (r->status >= 500)
        log_warn("request", "method=%s path=%s status=%d ms=%.1f client=%s detail=%s", method,
                 log_q(url, path, sizeof path), r->status, ms, client, r->detail);
    else
        log_debug("request", "method=%s path=%s status=%d ms=%.1f client=%s", method,
                  log_q(url, path, sizeof path), r->status, ms, client);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    api_t *api = cls;
    conn_ctx_t *ctx = *con_cls;
    (void)version;

    if (!ctx) {
        if (!(ctx = calloc(1, sizeof *ctx)))
            return MHD_NO;
        *con_cls = ctx;
        const char *why = ambiguous_framing(c);
        if (why) {
            /* Answer and close: nothing after these headers can be trusted
             * to be where this parser thinks it is. */
            api_response_t r;
            char client[INET6_ADDRSTRLEN], path[300];
            memset(&r, 0, sizeof r);
            client_name(c, client, sizeof client);
            char msg[200];
            snprintf(msg, sizeof msg,
                     "{\"error\":{\"code\":\"bad_framing\",\"message\":\"refused: %s\"}}",
                     why);
            r.status = 400;
            r.content_type = "application/json";
            r.body = strdup(msg);
            r.body_len = r.body ? strlen(r.body) : 0;
            log_warn("request", "method=%s path=%s status=400 client=%s reason=bad_framing",
                     method, log_q(url, path, sizeof path), client);
            ctx->too_big = true;
            enum MHD_Result ret = send_response_ex(c, &r, true);
            api_response_free(&r);
            return ret;
        }
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > API_MAX_BODY) {
            /* Answer before reading a byte of it; MHD closes the connection
             * afterwards rather than draining the body. */
            api_response_t r;
            memset(&r, 0, sizeof r);
            ctx->too_big = true;
            api_request_t req = {.method = method, .path = url, .body_too_big = true};
            header_list_t hl = {.n = 0};
            MHD_get_connection_values(c, MHD_HEADER_KIND, collect_header, &hl);
            req.headers = hl.h;
            req.nheaders = hl.n;
            api_handle(api, &req, &r);
            enum MHD_Result ret = send_response_ex(c, &r, true);
            api_response_free(&r);
            return ret;
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!ctx->too_big && ctx->body.len + *upload_data_size > API_MAX_BODY) {
            ctx->too_big = true;
            buf_free(&ctx->body);
        }
        if (!ctx->too_big && buf_append(&ctx->body, upload_data, *upload_data_size) != ERR_OK)
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }

    double t0 = now_s();
    header_list_t hl = {.n = 0};
    char client[INET6_ADDRSTRLEN];
    guard_received(conn_guard(c));
    if (!ctx->counted) {
        ctx->counted = true;
        atomic_fetch_add(&inflight, 1);
    }
    client_name(c, client, sizeof client);
    MHD_get_connection_values(c, MHD_HEADER_KIND, collect_header, &hl);
    buf_t query = BUF_INIT;
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &query);
    api_request_t req = {
        .method = method, .path = url, .headers = hl.h, .nheaders = hl.n,
        .body = (const char *)ctx->body.data, .body_len = ctx->body.len,
        .body_too_big = ctx->too_big, .client = client, .base_path = "",
        .query = query.len ? (const char *)query.data : NULL,
    };
    api_response_t r;
    api_handle(api, &req, &r);
    buf_free(&query);
    log_request(method, url, client, &r, (now_s() - t0) * 1000);
    enum MHD_Result ret = send_response(c, &r);
    api_response_free(&r);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    conn_ctx_t *ctx = *con_cls;
    (void)cls;
    (void)toe;
    guard_next_request(conn_guard(c));
    if (ctx && ctx->counted)
        atomic_fetch_sub(&inflight, 1);
    if (ctx) {
        buf_free(&ctx->body);
        free(ctx);
        *con_cls = NULL;
    }
}

int server_run(api_t *api, const server_options_t *o, volatile sig_atomic_t *stop)
{
    err_t e;
    front_t *front = front_open(o, &e);
    if (!front) {
        log_error("listen_failed", "listen=%s error=\"%s\"", o->listen, e.msg);
        return e.code == ERR_USAGE ? 64 : 71;
    }
    /* No listening socket of its own: connections come from the front
     * door, which enforces the total and per-address limits.  Answered
     * connections stop counting there while they close here, so this
     * limit leaves room for as many again: refusing one here would close
     * it without an answer. */
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | MHD_USE_ITC | MHD_USE_NO_LISTEN_SOCKET;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, api, MHD_OPTION_CONNECTION_LIMIT,
        2 * o->max_connections + 64, MHD_OPTION_CONNECTION_TIMEOUT, o->conn_timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, NULL, MHD_OPTION_NOTIFY_CONNECTION, on_connection, front, MHD_OPTION_END);
    if (!d || front_start(front, d, &e) != 0) {
        log_error("listen_failed", "listen=%s error=\"%s\"", o->listen,
                  d ? e.msg : "cannot start the HTTP server");
        if (d)
            MHD_stop_daemon(d);
        front_free(front);
        return 71;
    }
    unsigned port = front_port(front);
    log_info("listening",
             "listen=%s port=%u auth=%s max_connections=%u max_per_client=%u "
             "request_timeout_s=%u",
             o->listen, port, api_auth_enabled(api) ? "api_keys" : "off_loopback",
             o->max_connections, o->max_per_client, o->request_timeout_s);
    if (o->port_file) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", o->port_file);
        FILE *fp = fopen(tmp, "w");
        if (!fp || fprintf(fp, "%u\n", port) < 0 || fclose(fp) != 0 ||
            rename(tmp, o->port_file) != 0) {
            log_error("port_file_failed", "path=%s error=\"%s\"", o->port_file, strerror(errno));
            front_stop(front);
            MHD_stop_daemon(d);
            front_free(front);
            return 73;
        }
    }
    double request_timeout = o->request_timeout_s ? o->request_timeout_s : 10;
    while (!*stop) {
        usleep(100 * 1000);
        guard_sweep(request_timeout);
    }
    /* Stop taking connections, make waiting requests answer (202 with
     * their status URL) and give the answers time to go out before the
     * daemon shuts every socket. */
    front_stop(front);
    api_stop(api);
    double until = now_s() + (o->drain_s > 0 ? o->drain_s : 5);
    while (atomic_load(&inflight) > 0 && now_s() < until)
        usleep(20 * 1000);
    log_info("stopping", "reason=signal unanswered=%d request_timeouts=%lu",
             atomic_load(&inflight), guard_expired_total() + front_expired_total(front));
    MHD_stop_daemon(d);
    front_free(front);
    return 0;
}
