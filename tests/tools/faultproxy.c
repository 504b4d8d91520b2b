/* faultproxy — a loopback HTTP proxy that injects scripted faults between a
 * client and a service (usually a sigproxy in front of an emulator), for the
 * fault-injection matrix (tests/integration/fault_*.sh).
 *
 *   faultproxy --listen 127.0.0.1:0 --upstream http://127.0.0.1:PORT
 *              [--service s3|sqs|dynamodb|...] [--port-file F] [--log FILE]
 *              [--seed N] [--rule SPEC]...
 *
 * Requests go upstream unchanged, Host header included (the client signed
 * it, and the sigproxy behind us verifies it), and replies come back
 * unchanged, unless a rule fires.  A rule is comma-separated key=value:
 *
 *   fault=500|503|slowdown|throttle|429|stall|truncate|html200|html500|reset|close
 *   method=PUT          only this method
 *   path=SUB            only paths containing SUB
 *   target=SUB          only X-Amz-Target values containing SUB
 *   skip=N              let the first N matching requests through
 *   count=N             fire at most N times (default: no limit)
 *   every=N             fire on every Nth matching request (after skip)
 *   prob=P              fire with probability P (0..1; --seed makes it
 *                       repeatable)
 *   stall_ms=N          stall: wait N ms before answering (default 20000)
 *   after=1             serve upstream first, then lose the reply
 *
 * The first rule that fires decides.  Error bodies have the service's
 * shape: S3 XML (<Error><Code>SlowDown</Code>...) or the JSON protocols'
 * {"__type": ...} with x-amzn-ErrorType.  "throttle" is S3's 503 SlowDown
 * or the JSON protocols' 400 ThrottlingException; "429" is a bare 429
 * TooManyRequestsException; "truncate" announces the full Content-Length
 * and sends half the body (an upstream reply; after=1 implied); "html200"
 * and "html500" answer an HTML error page (a captive portal or a load
 * balancer); "reset" aborts the connection (SO_LINGER 0), "close" closes it
 * without answering.
 *
 * Control (unsigned, not counted, never forwarded):
 *   GET  /__faultproxy/stats   {"requests":N,"injected":M,"forwarded":K,...}
 *   POST /__faultproxy/rules   the body (one rule a line) replaces the
 *                              rules and resets their counters; 400 on a
 *                              bad rule, which leaves the old rules.
 * Only 127.0.0.1 with an ephemeral port and a loopback upstream. */
#include "base/buf.h"
#include "fakeaws.h"
#include "fakeserver.h"
#include "aws/http.h"
#include "testutil.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MAX_RULES 32
#define MAX_UPSTREAM_REPLY ((size_t)256 * 1024 * 1024)

typedef enum {
    F_500, F_503, F_SLOWDOWN, F_THROTTLE, F_429, F_STALL, F_TRUNCATE, F_HTML200, F_HTML500,
    F_RESET, F_CLOSE, F_COUNT
} fault_t;

static const char *const fault_names[F_COUNT] = {
    "500", "503", "slowdown", "throttle", "429", "stall", "truncate", "html200", "html500",
    "reset", "close",
};

typedef struct {
    fault_t fault;
    char method[16], path[256], target[128];
    long skip, count, every, stall_ms;
    double prob;
    bool after;
    long matched, fired;        /* under P.mu */
} rule_t;

typedef struct {
    const char *upstream, *service, *port_file, *log_path;
    bool s3;
    FILE *log;
    pthread_mutex_t mu;         /* rules, their counters, the PRNG, the log */
    rule_t rules[MAX_RULES];
    size_t nrules;
    uint64_t rng;
    pthread_key_t client_key;
    atomic_long requests, forwarded, injected, upstream_errors;
    atomic_long by_fault[F_COUNT];
} proxy_t;

static proxy_t P = {.mu = PTHREAD_MUTEX_INITIALIZER, .rng = 0x9e3779b97f4a7c15ULL};

static void __attribute__((format(printf, 1, 2))) logf_(const char *fmt, ...)
{
    if (!P.log)
        return;
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&P.mu);
    vfprintf(P.log, fmt, ap);
    fputc('\n', P.log);
    fflush(P.log);
    pthread_mutex_unlock(&P.mu);
    va_end(ap);
}

/* xorshift64*, called with P.mu held: repeatable under --seed. */
static double rand01_locked(void)
{
    P.rng ^= P.rng >> 12;
    P.rng ^= P.rng << 25;
    P.rng ^= P.rng >> 27;
    return (double)((P.rng * 0x2545F4914F6CDD1DULL) >> 11) / (double)(1ULL << 53);
}

/* Parses one rule; false (with why) on any unknown key or bad value. */
static bool parse_rule(const char *spec, rule_t *r, char *why, size_t cap)
{
    char copy[1024], *save = NULL;
    memset(r, 0, sizeof *r);
    r->fault = F_COUNT;
    r->stall_ms = 20000;
    if (snprintf(copy, sizeof copy, "%s", spec) >= (int)sizeof copy) {
        snprintf(why, cap, "rule too long");
        return false;
    }
    for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *v = strchr(kv, '=');
        if (!v) {
            snprintf(why, cap, "expected key=value, got \"%.64s\"", kv);
            return false;
        }
        *v++ = '\0';
        bool ok = true;
        if (strcmp(kv, "fault") == 0) {
            for (int i = 0; i < F_COUNT; i++)
                if (strcmp(v, fault_names[i]) == 0)
                    r->fault = (fault_t)i;
            ok = r->fault != F_COUNT;
        } else if (strcmp(kv, "method") == 0) {
            ok = snprintf(r->method, sizeof r->method, "%s", v) < (int)sizeof r->method;
        } else if (strcmp(kv, "path") == 0) {
            ok = snprintf(r->path, sizeof r->path, "%s", v) < (int)sizeof r->path;
        } else if (strcmp(kv, "target") == 0) {
            ok = snprintf(r->target, sizeof r->target, "%s", v) < (int)sizeof r->target;
        } else if (strcmp(kv, "skip") == 0) {
            ok = tu_parse_long(v, 0, 1000000000L, &r->skip);
        } else if (strcmp(kv, "count") == 0) {
            ok = tu_parse_long(v, 0, 1000000000L, &r->count);
        } else if (strcmp(kv, "every") == 0) {
            ok = tu_parse_long(v, 1, 1000000000L, &r->every);
        } else if (strcmp(kv, "stall_ms") == 0) {
            ok = tu_parse_long(v, 0, 3600000L, &r->stall_ms);
        } else if (strcmp(kv, "after") == 0) {
            long a = 0;
            ok = tu_parse_long(v, 0, 1, &a);
            r->after = a == 1;
        } else if (strcmp(kv, "prob") == 0) {
            char *end;
            r->prob = strtod(v, &end);
            ok = *v && !*end && r->prob >= 0 && r->prob <= 1;
        } else {
            snprintf(why, cap, "unknown key \"%.32s\"", kv);
            return false;
        }
        if (!ok) {
            snprintf(why, cap, "bad value for %s: \"%.64s\"", kv, v);
            return false;
        }
    }
    if (r->fault == F_COUNT) {
        snprintf(why, cap, "a rule needs fault=");
        return false;
    }
    if (r->fault == F_TRUNCATE)
        r->after = true;
    return true;
}

/* Replaces the rules with the lines of text; false (rules kept) when one
 * does not parse. */
static bool set_rules(const char *text, char *why, size_t cap)
{
    rule_t fresh[MAX_RULES];
    size_t n = 0;
    const char *p = text;
    while (*p) {
        size_t len = strcspn(p, "\r\n");
        char line[1024];
        if (len >= sizeof line) {
            snprintf(why, cap, "rule line too long");
            return false;
        }
        memcpy(line, p, len);
        line[len] = '\0';
        p += len;
        p += strspn(p, "\r\n");
        if (!line[0] || line[0] == '#')
            continue;
        if (n == MAX_RULES) {
            snprintf(why, cap, "more than %d rules", MAX_RULES);
            return false;
        }
        if (!parse_rule(line, &fresh[n], why, cap))
            return false;
        n++;
    }
    pthread_mutex_lock(&P.mu);
    memcpy(P.rules, fresh, n * sizeof *fresh);
    P.nrules = n;
    pthread_mutex_unlock(&P.mu);
    return true;
}

/* The rule that fires for req (copied to out), or false. */
static bool pick_rule(const fake_request_t *req, rule_t *out)
{
    const char *target = fake_request_header(req, "X-Amz-Target");
    bool hit = false;
    pthread_mutex_lock(&P.mu);
    for (size_t i = 0; i < P.nrules && !hit; i++) {
        rule_t *r = &P.rules[i];
        if ((r->method[0] && strcmp(r->method, req->method) != 0) ||
            (r->path[0] && !strstr(req->path, r->path)) ||
            (r->target[0] && (!target || !strstr(target, r->target))))
            continue;
        long n = ++r->matched;
        if (n <= r->skip || (r->count > 0 && r->fired >= r->count))
            continue;
        if (r->every > 0 && (n - r->skip) % r->every != 0)
            continue;
        if (r->prob > 0 && rand01_locked() >= r->prob)
            continue;
        r->fired++;
        *out = *r;
        hit = true;
    }
    pthread_mutex_unlock(&P.mu);
    return hit;
}

/* Answers status with the service's error shape. */
static void reply_error(fake_response_t *resp, int status, const char *code, const char *msg)
{
    char id[48];
    snprintf(id, sizeof id, "%s-%ld", "faultproxy", (long)atomic_load(&P.requests));
    fakeaws_error_reply(resp, P.s3, status, code, msg, id);
}

static void reply_html(fake_response_t *resp, int status)
{
    static const char page[] =
        "<!DOCTYPE html>\n<html><head><title>Service Unavailable</title></head>\n"
        "<body><h1>The service is temporarily unavailable</h1>\n"
        "<p>Please try again later.</p></body></html>\n";
    resp->status = status;
    fake_response_header(resp, "Content-Type", "text/html; charset=utf-8");
    fake_response_body(resp, page, sizeof page - 1);
}

static http_client_t *thread_client(void)
{
    http_client_t *c = pthread_getspecific(P.client_key);
    if (!c) {
        http_options_t o = {.timeout_ms = 120000, .max_response = MAX_UPSTREAM_REPLY};
        c = http_client_new(&o, NULL);
        pthread_setspecific(P.client_key, c);
    }
    return c;
}

static bool hop_header(const char *name)
{
    static const char *const hop[] = {
        "content-length", "connection", "keep-alive", "transfer-encoding", "expect", "te",
        "upgrade", "proxy-connection",
    };
    for (size_t i = 0; i < sizeof hop / sizeof *hop; i++)
        if (strcasecmp(name, hop[i]) == 0)
            return true;
    return false;
}

/* Sends req upstream as it came (Host kept: it is signed) and copies the
 * reply into resp.  Answers 502 after a transport failure. */
static void forward(const fake_request_t *req, fake_response_t *resp)
{
    http_client_t *c = thread_client();
    buf_t url = BUF_INIT;
    http_header_t hs[FAKE_MAX_HEADERS];
    size_t nh = 0;
    buf_appendf(&url, "%s%s%s%s", P.upstream, req->path, req->query[0] ? "?" : "",
                req->query);
    for (size_t i = 0; i < req->nheaders; i++)
        if (!hop_header(req->headers[i].name))
            hs[nh++] = (http_header_t){req->headers[i].name, req->headers[i].value};
    http_request_t hr = {
        .method = req->method, .url = (const char *)url.data, .headers = hs, .nheaders = nh,
        .body = req->body, .body_len = req->body_len,
    };
    http_response_t r;
    err_t e;
    http_response_init(&r);
    if (!c || http_do(c, &hr, &r, &e) != ERR_OK) {
        atomic_fetch_add(&P.upstream_errors, 1);
        logf_("event=upstream_error method=%s path=%s error=\"%s\"", req->method, req->path,
              c ? e.msg : "no http client");
        reply_error(resp, 502, P.s3 ? "InternalError" : "ServiceUnavailable",
                    "faultproxy: upstream failed");
    } else {
        atomic_fetch_add(&P.forwarded, 1);
        resp->status = (int)r.status;
        bool head = strcmp(req->method, "HEAD") == 0;
        for (size_t i = 0; i < r.nheaders; i++) {
            const char *n = r.headers[i].name;
            if (strcasecmp(n, "connection") == 0 || strcasecmp(n, "transfer-encoding") == 0 ||
                strcasecmp(n, "keep-alive") == 0 ||
                (!head && strcasecmp(n, "content-length") == 0))
                continue;
            fake_response_header(resp, n, r.headers[i].value);
        }
        fake_response_body(resp, r.body.data, r.body.len);
    }
    http_response_free(&r);
    buf_free(&url);
}

/* Turns resp (an upstream reply or nothing) into the rule's fault. */
static void apply(const rule_t *r, fake_response_t *resp)
{
    if (r->fault == F_TRUNCATE) {
        /* Content-Length of the whole reply, half of it sent; a reply with
         * no body cannot be cut, so its connection is reset instead. */
        if (resp->body_len >= 2) {
            char cl[32];
            snprintf(cl, sizeof cl, "%zu", resp->body_len);
            fake_response_header(resp, "Content-Length", cl);
            resp->action = FAKE_TRUNCATE;
            resp->truncate_at = resp->body_len / 2;
        } else {
            resp->action = FAKE_RESET;
        }
        return;
    }
    if (r->fault == F_STALL) {
        /* The reply, if any, after the stall (by then the client gave up). */
        if (!r->after)
            reply_error(resp, 503, P.s3 ? "SlowDown" : "ServiceUnavailable",
                        "faultproxy: stalled");
        resp->stall_ms = r->stall_ms;
        return;
    }
    fake_response_clear(resp);
    switch (r->fault) {
    case F_500: reply_error(resp, 500, "InternalError", "faultproxy: injected 500"); break;
    case F_503:
        reply_error(resp, 503, "ServiceUnavailable", "faultproxy: injected 503");
        break;
    case F_SLOWDOWN:
        reply_error(resp, 503, "SlowDown", "Please reduce your request rate.");
        break;
    case F_THROTTLE:
        if (P.s3)
            reply_error(resp, 503, "SlowDown", "Please reduce your request rate.");
        else
            reply_error(resp, 400, "ThrottlingException", "Rate exceeded");
        break;
    case F_429: reply_error(resp, 429, "TooManyRequestsException", "Too Many Requests"); break;
    case F_HTML200: reply_html(resp, 200); break;
    case F_HTML500: reply_html(resp, 500); break;
    case F_RESET: resp->action = FAKE_RESET; break;
    case F_CLOSE: resp->action = FAKE_CLOSE; break;
    default: break;
    }
}

static void stats_json(buf_t *b)
{
    buf_appendf(b, "{\"requests\":%ld,\"forwarded\":%ld,\"injected\":%ld,\"upstream_errors\":%ld,"
                "\"by_fault\":{",
                atomic_load(&P.requests), atomic_load(&P.forwarded), atomic_load(&P.injected),
                atomic_load(&P.upstream_errors));
    for (int i = 0; i < F_COUNT; i++)
        buf_appendf(b, "%s\"%s\":%ld", i ? "," : "", fault_names[i],
                    atomic_load(&P.by_fault[i]));
    buf_append_str(b, "}}");
}

static void handle(const fake_request_t *req, fake_response_t *resp, void *ud)
{
    (void)ud;
    if (strcmp(req->path, "/__faultproxy/stats") == 0) {
        buf_t b = BUF_INIT;
        stats_json(&b);
        fake_response_json(resp, 200, (const char *)b.data);
        buf_free(&b);
        return;
    }
    if (strcmp(req->path, "/__faultproxy/rules") == 0 && strcmp(req->method, "POST") == 0) {
        char why[256] = "";
        if (set_rules(req->body, why, sizeof why)) {
            logf_("event=rules");
            fake_response_json(resp, 200, "{\"ok\":true}");
        } else {
            resp->status = 400;
            fake_response_bodyf(resp, "bad rule: %s\n", why);
        }
        return;
    }
    atomic_fetch_add(&P.requests, 1);
    rule_t r;
    bool fire = pick_rule(req, &r);
    if (!fire || r.after || r.fault == F_TRUNCATE)
        forward(req, resp);
    if (!fire)
        return;
    atomic_fetch_add(&P.injected, 1);
    atomic_fetch_add(&P.by_fault[r.fault], 1);
    logf_("event=injected fault=%s after=%d method=%s path=%s", fault_names[r.fault],
          r.after ? 1 : 0, req->method, req->path);
    apply(&r, resp);
}

static void usage(void)
{
    fprintf(stderr, "usage: faultproxy --listen 127.0.0.1:0 --upstream URL [--service NAME] "
                    "[--port-file F] [--log FILE] [--seed N] [--rule SPEC]...\n");
    exit(64);
}

static void parse_args(int argc, char **argv)
{
    enum { O_PORTFILE = 256, O_LOG, O_SEED, O_RULE };
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'}, {"upstream", required_argument, NULL, 'u'},
        {"service", required_argument, NULL, 's'}, {"log", required_argument, NULL, O_LOG},
        {"port-file", required_argument, NULL, O_PORTFILE},
        {"seed", required_argument, NULL, O_SEED}, {"rule", required_argument, NULL, O_RULE},
        {NULL, 0, NULL, 0},
    };
    const char *listen = "127.0.0.1:0";
    buf_t rules = BUF_INIT;
    long seed = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'l': listen = optarg; break;
        case 'u': P.upstream = optarg; break;
        case 's': P.service = optarg; break;
        case O_PORTFILE: P.port_file = optarg; break;
        case O_LOG: P.log_path = optarg; break;
        case O_SEED:
            if (!tu_parse_long(optarg, 1, 0x7fffffffL, &seed))
                usage();
            P.rng = (uint64_t)seed * 0x9e3779b97f4a7c15ULL;
            break;
        case O_RULE: buf_appendf(&rules, "%s\n", optarg); break;
        default: usage();
        }
    }
    if (optind != argc || !P.upstream)
        usage();
    if (strcmp(listen, "127.0.0.1:0") != 0 || !http_url_is_loopback(P.upstream)) {
        fprintf(stderr, "faultproxy: only --listen 127.0.0.1:0 and a loopback upstream\n");
        exit(64);
    }
    char why[256];
    if (rules.len && !set_rules((const char *)rules.data, why, sizeof why)) {
        fprintf(stderr, "faultproxy: bad --rule: %s\n", why);
        exit(64);
    }
    buf_free(&rules);
    P.s3 = P.service && strcmp(P.service, "s3") == 0;
}

static void free_client(void *c)
{
    http_client_free(c);
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    if (P.log_path && !(P.log = fopen(P.log_path, "a"))) {
        perror(P.log_path);
        return 73;
    }
    pthread_key_create(&P.client_key, free_client);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    fake_server_t *fs = fake_server_start(handle, NULL);
    if (!fs) {
        fprintf(stderr, "faultproxy: cannot listen on 127.0.0.1\n");
        return 71;
    }
    if (P.port_file && fake_server_write_port_file(fs, P.port_file) != 0) {
        perror(P.port_file);
        fake_server_stop(fs);
        return 73;
    }
    logf_("event=listening port=%d upstream=%s", fake_server_port(fs), P.upstream);
    int sig = 0;
    sigwait(&set, &sig);
    buf_t b = BUF_INIT;
    stats_json(&b);
    fprintf(stderr, "faultproxy stats %s\n", (const char *)b.data);
    logf_("event=stats %s", (const char *)b.data);
    buf_free(&b);
    fake_server_stop(fs);
    if (P.log)
        fclose(P.log);
    return 0;
}
