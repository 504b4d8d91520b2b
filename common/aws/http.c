/* http — see http.h.
 *
 * One CURL easy handle per client: curl_easy_reset() before each request
 * clears the options but keeps the connection cache, so consecutive requests
 * to the same host reuse one connection.  Proxies come from the environment
 * (libcurl reads http_proxy/https_proxy/no_proxy itself as long as
 * CURLOPT_PROXY is never set); only loopback targets bypass them. */
#include "aws/http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef ONESHEET_VERSION
#define ONESHEET_VERSION "dev"
#endif

#define DEFAULT_CONNECT_MS 3000L
#define DEFAULT_TIMEOUT_MS 30000L
#define DEFAULT_MAX_RESPONSE ((size_t)64 * 1024 * 1024)
#define MAX_HEADERS 256
#define MAX_HEADER_BYTES ((size_t)256 * 1024)

typedef struct {
    http_response_t *resp;
    size_t cap;
    size_t header_bytes;
    bool toobig;
    bool nomem;
    bool sized;       /* the body buffer was sized from Content-Length */
    bool sinking;     /* a 2xx body: chunks go to the request's sink */
    bool decided;     /* sinking was decided (at the first body chunk) */
    err_code_t sink_rc;
    http_sink_fn sink;
    void *sink_ud;
    CURL *h;
    /* an upload read from the caller's buffer (set_method) */
    const uint8_t *up;
    size_t up_len, up_off;
} transfer_t;

/* The client is also the state of its one transfer in progress, which
 * http_start() sets up and http_finish() ends (http_do() is the two around
 * curl_easy_perform). */
struct http_client {
    CURL *h;
    http_options_t opts;
    char *ca_file;
    char errbuf[CURL_ERROR_SIZE];
    transfer_t t;
    struct curl_slist *hdrs;
    char what[256];
    long cto, to;
    bool started;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

http_client_t *http_client_new(const http_options_t *opts, err_t *err)
{
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK) {
        err_set(err, ERR_INTERNAL, "curl_global_init: %s", curl_easy_strerror(global_rc));
        return NULL;
    }
    http_client_t *c = calloc(1, sizeof *c);
    if (!c)
        goto nomem;
    if (opts)
        c->opts = *opts;
    if (c->opts.connect_timeout_ms <= 0)
        c->opts.connect_timeout_ms = DEFAULT_CONNECT_MS;
    if (c->opts.timeout_ms <= 0)
        c->opts.timeout_ms = DEFAULT_TIMEOUT_MS;
    if (c->opts.max_response == 0)
        c->opts.max_response = DEFAULT_MAX_RESPONSE;
    if (c->opts.ca_file && !(c->ca_file = strdup(c->opts.ca_file)))
        goto nomem;
    c->opts.ca_file = c->ca_file;
    if ((c->h = curl_easy_init()) != NULL)
        return c;
nomem:
    http_client_free(c);
    err_set(err, ERR_NOMEM, "out of memory creating an HTTP client");
    return NULL;
}

void http_client_free(http_client_t *c)
{
    if (!c)
        return;
    if (c->h)
        curl_easy_cleanup(c->h);
    curl_slist_free_all(c->hdrs);
    free(c->ca_file);
    free(c);
}

void http_response_init(http_response_t *r)
{
    r->status = 0;
    r->headers = NULL;
    r->nheaders = 0;
    buf_init(&r->body);
}

static void free_headers(http_response_t *r)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        free((char *)r->headers[i].name);
        free((char *)r->headers[i].value);
    }
    free(r->headers);
    r->headers = NULL;
    r->nheaders = 0;
}

void http_response_free(http_response_t *r)
{
    if (!r)
        return;
    free_headers(r);
    buf_free(&r->body);
    r->status = 0;
}

const char *http_response_header(const http_response_t *r, const char *name)
{
    for (size_t i = 0; r && i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

/* Copies url's host (brackets removed) into out; false when unparsable. */
static bool url_host(const char *url, char *scheme, size_t scap, char *out, size_t cap)
{
    CURLU *u = curl_url();
    char *h = NULL, *s = NULL;
    bool ok = false;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &s, 0) == CURLUE_OK) {
        const char *p = h;
        size_t n = strlen(p);
        if (n >= 2 && p[0] == '[' && p[n - 1] == ']') {
            p++;
            n -= 2;
        }
        if (n < cap && strlen(s) < scap) {
            memcpy(out, p, n);
            out[n] = '\0';
            snprintf(scheme, scap, "%s", s);
            for (char *q = scheme; *q; q++)
                *q = (char)tolower((unsigned char)*q);
            ok = true;
        }
    }
    curl_free(h);
    curl_free(s);
    curl_url_cleanup(u);
    return ok;
}

static bool host_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (strcasecmp(host, "localhost") == 0 || strcasecmp(host, "localhost.") == 0)
        return true;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

/* Instance metadata and container-credential endpoints live on link-local
 * addresses (169.254.169.254, 169.254.170.2, fd00:ec2::254): a proxy from the
 * environment must never see those requests or their tokens. */
static bool host_is_link_local(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    char bare[64];
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof bare) {
        memcpy(bare, host + 1, n - 2);
        bare[n - 2] = '\0';
        host = bare;
    }
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 16) == 0xA9FE;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LINKLOCAL(&a6) ||
               (a6.s6_addr[0] == 0xfd && a6.s6_addr[1] == 0x00 && a6.s6_addr[2] == 0x0e &&
                a6.s6_addr[3] == 0xc2);
    return false;
}

bool http_url_is_loopback(const char *url)
{
    char scheme[16], host[256];
    return url && url_host(url, scheme, sizeof scheme, host, sizeof host) &&
           host_is_loopback(host);
}

/* "METHOD scheme://host/path" without the query (which may be presigned). */
static void describe(const http_request_t *req, char *out, size_t cap)
{
    const char *url = req->url ? req->url : "";
    size_t n = strcspn(url, "?#");
    snprintf(out, cap, "%s %.*s", req->method ? req->method : "GET",
             (int)(n > 200 ? 200 : n), url);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    transfer_t *t = ud;
    size_t n = size * nmemb;
    if (!t->decided) {
        long status = 0;
        t->decided = true;
        curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &status);
        t->sinking = t->sink && status >= 200 && status < 300;
    }
    if (t->sinking) {
        /* The sink keeps its own cap; it is told the length once. */
        curl_off_t cl = -1;
        if (!t->sized) {
            t->sized = true;
            curl_easy_getinfo(t->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
        }
        if ((t->sink_rc = t->sink(t->sink_ud, data, n, (int64_t)cl)) != ERR_OK)
            return 0;
        return n;
    }
    if (n > t->cap || t->resp->body.len > t->cap - n) {
        t->toobig = true;
        return 0;
    }
    if (!t->sized) {
        /* Size the buffer once from Content-Length (within the cap): a
         * multi-megabyte image reply otherwise grows it by doubling, copying
         * and faulting in pages several times. */
        curl_off_t cl = -1;
        t->sized = true;
        if (curl_easy_getinfo(t->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK &&
            cl > 0 && (uint64_t)cl <= t->cap &&
            buf_reserve(&t->resp->body, (size_t)cl) != ERR_OK) {
            t->nomem = true;
            return 0;
        }
    }
    if (buf_append(&t->resp->body, data, n) != ERR_OK) {
        t->nomem = true;
        return 0;
    }
    return n;
}

static char *dup_trimmed(const char *s, size_t n)
{
    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' ||
                     s[n - 1] == '\n'))
        n--;
    return strndup(s, n);
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    transfer_t *t = ud;
    http_response_t *r = t->resp;
    size_t n = size * nmemb;
    t->header_bytes += n;
    if (t->header_bytes > MAX_HEADER_BYTES) {
        t->toobig = true;
        return 0;
    }
    /* A new status line (after 1xx or a redirect) starts a fresh set. */
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        free_headers(r);
        return n;
    }
    const char *colon = memchr(data, ':', n);
    if (!colon || colon == data)
        return n;
    if (r->nheaders == MAX_HEADERS) {
        t->toobig = true;
        return 0;
    }
    if (r->nheaders % 16 == 0) {
        http_header_t *nh = realloc(r->headers, (r->nheaders + 16) * sizeof *nh);
        if (!nh) {
            t->nomem = true;
            return 0;
        }
        r->headers = nh;
    }
    char *name = dup_trimmed(data, (size_t)(colon - data));
    char *value = dup_trimmed(colon + 1, n - (size_t)(colon - data) - 1);
    if (!name || !value) {
        free(name);
        free(value);
        t->nomem = true;
        return 0;
    }
    for (char *p = name; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    r->headers[r->nheaders].name = name;
    r->headers[r->nheaders].value = value;
    r->nheaders++;
    return n;
}

static bool req_has_header(const http_request_t *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return true;
    return false;
}

/* Appends line to *list, keeping the list intact on failure. */
static bool add_line(struct curl_slist **list, const char *line)
{
    struct curl_slist *l = curl_slist_append(*list, line);
    if (l)
        *list = l;
    return l != NULL;
}

/* Builds the curl header list into *out (caller frees with
 * curl_slist_free_all); ERR_INVALID for a header that could smuggle
 * another, ERR_NOMEM. */
static err_code_t build_headers(const http_request_t *req, bool has_body,
                                struct curl_slist **out, err_t *err)
{
    struct curl_slist *list = NULL;
    buf_t line = BUF_INIT;
    err_code_t rc = ERR_OK;
    for (size_t i = 0; i < req->nheaders && rc == ERR_OK; i++) {
        const char *name = req->headers[i].name, *value = req->headers[i].value;
        if (!value)
            value = "";
        if (!name || !*name || strpbrk(name, ":\r\n \t") || strpbrk(value, "\r\n")) {
            rc = err_set(err, ERR_INVALID, "bad request header %zu", i);
            break;
        }
        buf_reset(&line);
        /* curl sends "Name;" as an empty header; "Name:" would remove it. */
        if ((*value ? buf_appendf(&line, "%s: %s", name, value)
                    : buf_appendf(&line, "%s;", name)) != ERR_OK ||
            !add_line(&list, (char *)line.data))
            rc = err_set(err, ERR_NOMEM, "out of memory");
    }
    /* No 100-continue round trip; no form Content-Type the caller did not
     * ask (and sign) for. */
    if (rc == ERR_OK && ((!req_has_header(req, "Expect") && !add_line(&list, "Expect:")) ||
                         (has_body && !req_has_header(req, "Content-Type") &&
                          !add_line(&list, "Content-Type:"))))
        rc = err_set(err, ERR_NOMEM, "out of memory");
    buf_free(&line);
    if (rc != ERR_OK) {
        curl_slist_free_all(list);
        list = NULL;
    }
    *out = list;
    return rc;
}

static err_code_t map_curl(CURLcode rc, const transfer_t *t)
{
    if (t->nomem || rc == CURLE_OUT_OF_MEMORY)
        return ERR_NOMEM;
    if (t->toobig || rc == CURLE_FILESIZE_EXCEEDED)
        return ERR_TOOBIG;
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return ERR_TIMEOUT;
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_PROXY:
    case CURLE_HTTP3:
    case CURLE_QUIC_CONNECT_ERROR:
    case CURLE_AGAIN:
    /* The scheme was checked before the transfer, so this is a server
     * answering in HTTP/0.9 or another protocol. */
    case CURLE_UNSUPPORTED_PROTOCOL:
        return ERR_NETWORK;
    case CURLE_URL_MALFORMAT:
        return ERR_CONFIG;
    default:
        return ERR_INTERNAL;
    }
}

/* libcurl asks for the next piece of an upload: given straight from the
 * caller's buffer, which http.h says outlives the transfer. */
static size_t on_upload(char *buf, size_t size, size_t nitems, void *ud)
{
    transfer_t *t = ud;
    size_t n = size * nitems, left = t->up_len - t->up_off;
    if (n > left)
        n = left;
    memcpy(buf, t->up + t->up_off, n);
    t->up_off += n;
    return n;
}

/* libcurl rewinds an upload to send it again (a reused connection that
 * turned out closed). */
static int on_upload_seek(void *ud, curl_off_t off, int origin)
{
    transfer_t *t = ud;
    if (origin != SEEK_SET || off < 0 || (uint64_t)off > t->up_len)
        return CURL_SEEKFUNC_CANTSEEK;
    t->up_off = (size_t)off;
    return CURL_SEEKFUNC_OK;
}

/* The method and body.  A PUT's body (an S3 object: megabytes) is read
 * from the caller's buffer by on_upload() as libcurl sends it; with
 * CURLOPT_POSTFIELDS libcurl would first stage it in a buffer of its own.
 * Other bodies (small JSON) go as POSTFIELDS. */
static void set_method(CURL *h, const http_request_t *req, bool has_body, transfer_t *t)
{
    const char *m = req->method ? req->method : "GET";
    if (has_body && strcmp(m, "PUT") == 0) {
        t->up = req->body ? (const uint8_t *)req->body : (const uint8_t *)"";
        t->up_len = req->body ? req->body_len : 0;
        t->up_off = 0;
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)t->up_len);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_upload);
        curl_easy_setopt(h, CURLOPT_READDATA, t);
        curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_upload_seek);
        curl_easy_setopt(h, CURLOPT_SEEKDATA, t);
    } else if (has_body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        if (strcmp(m, "POST") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
    } else if (strcmp(m, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(m, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
    }
}

err_code_t http_start(http_client_t *c, const http_request_t *req,
                      http_response_t *resp, err_t *err)
{
    char scheme[16], host[256];
    if (!c || !req || !req->url || !resp)
        return err_set(err, ERR_INVALID, "http_start: missing client, url or response");
    if (c->started)
        return err_set(err, ERR_INTERNAL, "http_start: a transfer is already in progress");
    http_response_free(resp);
    describe(req, c->what, sizeof c->what);
    if (!url_host(req->url, scheme, sizeof scheme, host, sizeof host))
        return err_set(err, ERR_CONFIG, "%s: cannot parse URL", c->what);
    if (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0)
        return err_set(err, ERR_CONFIG, "%s: unsupported scheme", c->what);
    bool loopback = host_is_loopback(host);
    if (strcmp(scheme, "http") == 0 && !loopback && !c->opts.allow_insecure_http)
        return err_set(err, ERR_CONFIG,
                       "%s: plain http is only allowed to loopback hosts", c->what);

    const char *m = req->method ? req->method : "GET";
    bool has_body = req->body_len > 0 || strcmp(m, "POST") == 0 ||
                    strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0;
    err_code_t rc = build_headers(req, has_body, &c->hdrs, err);
    if (rc != ERR_OK) {
        err_prefix(err, "%s", c->what);
        return rc;
    }

    size_t cap = req->max_response ? req->max_response : c->opts.max_response;
    c->cto = req->connect_timeout_ms > 0 ? req->connect_timeout_ms
                                         : c->opts.connect_timeout_ms;
    c->to = req->timeout_ms > 0 ? req->timeout_ms : c->opts.timeout_ms;
    CURL *h = c->h;
    memset(&c->t, 0, sizeof c->t);
    c->t.resp = resp;
    c->t.cap = cap;
    c->t.h = h;
    c->t.sink = req->sink;
    c->t.sink_ud = req->sink_ud;
    curl_easy_reset(h);
    c->errbuf[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "onesheet/" ONESHEET_VERSION);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    /* The handle is reused: set (or clear) the bypass on every request. */
    curl_easy_setopt(h, CURLOPT_NOPROXY,
                     loopback || host_is_link_local(host) ? "*" : (const char *)NULL);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->cto);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->to);
    /* Not for HEAD: libcurl checks the limit against the Content-Length of
     * a reply that has no body (a HEAD of a 2 MB object would fail). */
    if (!req->sink && strcmp(m, "HEAD") != 0)
        curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)cap);
    if (req->sink)   /* a streamed reply is megabytes: fewer, larger reads */
        curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L * 1024);
    if (req->body_len >= 256 * 1024)   /* likewise an upload */
        curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &c->t);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &c->t);
    curl_easy_setopt(h, CURLOPT_PRIVATE, (void *)c);
    set_method(h, req, has_body, &c->t);
    c->started = true;
    return ERR_OK;
}

void *http_client_handle(http_client_t *c)
{
    return c ? c->h : NULL;
}

err_code_t http_finish(http_client_t *c, int curl_code, err_t *err)
{
    CURLcode cr = (CURLcode)curl_code;
    transfer_t *t = &c->t;
    long status = 0;
    err_code_t rc;

    if (!c->started)
        return err_set(err, ERR_INTERNAL, "http_finish: no transfer in progress");
    c->started = false;
    curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
    t->resp->status = status;
    /* The list is referenced by the handle until the next reset. */
    curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(c->hdrs);
    c->hdrs = NULL;
    if (cr == CURLE_OK && !t->toobig && !t->nomem)
        return ERR_OK;
    if (t->sinking && t->sink_rc != ERR_OK && cr == CURLE_WRITE_ERROR) {
        /* The sink refused the body (too big, out of memory). */
        rc = t->sink_rc;
        if (rc == ERR_TOOBIG)
            return err_set(err, rc, "%s: response too large", c->what);
        return err_set(err, rc, "%s: %s", c->what,
                       rc == ERR_NOMEM ? "out of memory" : "reply body refused");
    }
    rc = map_curl(cr, t);
    if (rc == ERR_TOOBIG)
        return err_set(err, rc, "%s: response larger than %zu bytes", c->what, t->cap);
    if (rc == ERR_TIMEOUT)
        return err_set(err, rc, "%s: timed out (connect %ld ms, total %ld ms)", c->what,
                       c->cto, c->to);
    return err_set(err, rc, "%s: %s", c->what,
                   c->errbuf[0] ? c->errbuf : curl_easy_strerror(cr));
}

err_code_t http_do(http_client_t *c, const http_request_t *req,
                   http_response_t *resp, err_t *err)
{
    err_code_t rc = http_start(c, req, resp, err);
    if (rc != ERR_OK)
        return rc;
    return http_finish(c, curl_easy_perform(c->h), err);
}

/* ---- AWS error replies ---- */

/* Copies s[0..n) into out up to the first line break (AWS messages may go
 * on to echo the request), turning other control bytes into spaces. */
static void copy_clean(char *out, size_t cap, const char *s, size_t n)
{
    size_t j = 0;
    for (size_t i = 0; i < n && j + 1 < cap && s[i] != '\n' && s[i] != '\r'; i++)
        out[j++] = (unsigned char)s[i] < 0x20 ? ' ' : s[i];
    out[j] = '\0';
}

/* Text of the first <tag>…</tag> in an XML body, entities decoded. */
static bool xml_text(const char *body, size_t len, const char *tag, char *out, size_t cap)
{
    static const char *const ents[] = {"&amp;&", "&lt;<", "&gt;>", "&quot;\"", "&apos;'"};
    char open[64], close[64], text[512];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *a = memmem(body, len, open, strlen(open));
    const char *b = a ? memmem(a, len - (size_t)(a - body), close, strlen(close)) : NULL;
    if (!b)
        return false;
    size_t j = 0;
    for (const char *p = a + strlen(open); p < b && j + 1 < sizeof text;) {
        char c = *p++;
        for (size_t k = 0; c == '&' && k < sizeof ents / sizeof *ents; k++) {
            size_t el = (size_t)(strchr(ents[k], ';') - ents[k]) + 1;
            if ((size_t)(b - p) + 1 >= el && memcmp(p - 1, ents[k], el) == 0) {
                c = ents[k][el];
                p += el - 1;
                break;
            }
        }
        text[j++] = c;
    }
    copy_clean(out, cap, text, j);
    return true;
}

static void json_fields(const char *body, size_t len, char *code, size_t ccap,
                        char *msg, size_t mcap)
{
    json_t *root = json_loadb(body, len, 0, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        return;
    }
    const char *type = json_string_value(json_object_get(root, "__type"));
    if (!type)
        type = json_string_value(json_object_get(root, "code"));
    if (!type)
        type = json_string_value(json_object_get(root, "Code"));
    if (type && !code[0]) {
        const char *hash = strrchr(type, '#');
        if (hash)
            type = hash + 1;
        copy_clean(code, ccap, type, strcspn(type, ":"));
    }
    const char *m = json_string_value(json_object_get(root, "message"));
    if (!m)
        m = json_string_value(json_object_get(root, "Message"));
    if (m)
        copy_clean(msg, mcap, m, strlen(m));
    json_decref(root);
}

/* Cuts an AWS message before any echo of the canonical request, the
 * string to sign or a signature. */
static void cut_message(char *msg)
{
    static const char *const marks[] = {
        "The Canonical String", "The String-to-Sign", "StringToSign",
        "Canonical request", "CanonicalRequest", "Signature=",
    };
    for (size_t i = 0; i < sizeof marks / sizeof *marks; i++) {
        char *p = strstr(msg, marks[i]);
        if (p)
            *p = '\0';
    }
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == ' ' || msg[n - 1] == '\t'))
        msg[--n] = '\0';
}

static bool code_in(const char *code, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(code, list[i]) == 0)
            return true;
    return false;
}

static err_code_t classify(long status, const char *code, const char *msg)
{
    static const char *const skew[] = {
        "RequestTimeTooSkewed", "RequestExpired", "RequestInTheFuture",
    };
    static const char *const sig[] = {
        "InvalidSignatureException", "SignatureDoesNotMatch", "AuthFailure",
        "InvalidSignature",
    };
    static const char *const throttle[] = {
        "SlowDown", "TooManyRequestsException", "ProvisionedThroughputExceededException",
        "RequestLimitExceeded", "RequestThrottled", "RequestThrottledException",
        "BandwidthLimitExceeded", "EC2ThrottledException", "ThrottledException",
    };
    static const char *const auth[] = {
        "UnrecognizedClientException", "ExpiredToken", "ExpiredTokenException",
        "InvalidClientTokenId", "AccessDenied", "AccessDeniedException",
        "IncompleteSignature", "MissingAuthenticationToken", "InvalidAccessKeyId",
        "TokenRefreshRequired", "InvalidToken", "NotAuthorized",
        "MissingAuthenticationTokenException",
    };
#define IN(l) code_in(code, l, sizeof l / sizeof *l)
    if (IN(skew))
        return ERR_SKEW;
    if (IN(sig) && (strstr(msg, "Signature expired") || strstr(msg, "not yet current") ||
                    strstr(msg, "skew")))
        return ERR_SKEW;
    if (status == 429 || strncmp(code, "Throttl", 7) == 0 || IN(throttle))
        return ERR_THROTTLED;
    if (strcmp(code, "ConditionalCheckFailedException") == 0)
        return ERR_CONFLICT;
    if (status >= 500)
        return ERR_UNAVAILABLE;
    if (status == 401 || status == 403 || IN(sig) || IN(auth))
        return ERR_AUTH;
#undef IN
    return ERR_PERMANENT;
}

err_code_t http_error_from_aws(const http_response_t *r, err_t *err)
{
    char code[64] = "", msg[320] = "";
    err_clear(err);
    if (!r || r->status == 0)
        return err_set(err, ERR_NETWORK, "no HTTP response");
    if (r->status >= 200 && r->status < 300)
        return ERR_OK;
    const char *type = http_response_header(r, "x-amzn-errortype");
    if (type)
        copy_clean(code, sizeof code, type, strcspn(type, ":"));
    const char *body = r->body.data ? (const char *)r->body.data : "";
    size_t len = r->body.len, skip = 0;
    while (skip < len && isspace((unsigned char)body[skip]))
        skip++;
    if (skip < len && body[skip] == '{') {
        json_fields(body, len, code, sizeof code, msg, sizeof msg);
    } else if (skip < len && body[skip] == '<') {
        if (!code[0])
            xml_text(body, len, "Code", code, sizeof code);
        xml_text(body, len, "Message", msg, sizeof msg);
    }
    cut_message(msg);
    err_code_t ec = classify(r->status, code, msg);
    err_set(err, ec, "HTTP %ld%s%s%s%s", r->status, code[0] ? " " : "", code,
            msg[0] ? ": " : "", msg);
    if (err) {
        err->http_status = (int)r->status;
        snprintf(err->service_code, sizeof err->service_code, "%s", code);
    }
    return ec;
}
