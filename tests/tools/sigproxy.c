/* sigproxy — a loopback reverse proxy that verifies the SigV4 signature of
 * every request before an emulator sees it, because the emulators verify
 * none (EMULATORS.md): a signing bug then fails a test instead of passing.
 *
 *   sigproxy --listen 127.0.0.1:0 --upstream http://127.0.0.1:PORT
 *            --service s3|sqs|dynamodb|... --region R --key AKID --secret S
 *            [--key2 AKID --secret2 S] [--token T] [--port-file F]
 *            [--s3-preconditions] [--fail-every N [--fail-after]] [--log FILE]
 *            [--clock-offset S] [--key-file F]
 *
 * Header-signed and presigned requests are checked with sigv4_verify() at
 * the current time.  A bad one gets the service's error shape (S3: XML, 403
 * SignatureDoesNotMatch and friends; JSON protocols: 400 {"__type":
 * "...#InvalidSignatureException"}) and is counted as rejected.  The body is
 * then checked against x-amz-content-sha256 (400 XAmzContentSHA256Mismatch).
 * Accepted requests go upstream as they came, except that for S3 the
 * signature (Authorization header, X-Amz-* query signing) is removed: s3rver
 * serves unsigned requests but insists on its own key in signed ones, while
 * dynalite wants an Authorization header (and checks nothing in it).
 *
 * --s3-preconditions enforces what s3rver ignores: x-amz-checksum-sha256
 * and x-amz-checksum-crc64nvme must be the body's (400 BadDigest); a PutObject with If-None-Match: * is
 * refused with 412 PreconditionFailed when a HEAD upstream finds the object;
 * and the checksums of objects put through the proxy are returned on
 * HEAD/GET with x-amz-checksum-mode: ENABLED, as S3 does.
 * --fail-every N answers every Nth accepted request 503 SlowDown (S3) or
 * ServiceUnavailable without serving it; with --fail-after the request is
 * served upstream first and only the reply is lost, which is how a client
 * meets its own earlier write (the 412 path of a retried put).
 *
 * --clock-offset S runs the proxy's clock S seconds (may be negative) off
 * the host's, as a server with a wrong clock: signatures are checked at
 * that time and every reply carries it in its Date header, which is how a
 * client learns the offset.  --key-file F takes the keys from F instead of
 * --key/--key2: one "AKID SECRET [NOT_AFTER]" a line (NOT_AFTER in unix
 * seconds), re-read whenever the file changes; a signature made with a key
 * past NOT_AFTER is refused as ExpiredToken(Exception).
 *
 * GET /__sigproxy/stats returns {"requests":N,"rejected":M,...} (unsigned,
 * not counted).  --port-file gets the listening port once it is ready; the
 * counts go to --log (one key=value line per event) and stderr on SIGTERM.
 * Only 127.0.0.1 with an ephemeral port is supported (the fake server). */
#include "base/buf.h"
#include "base/crc64nvme.h"
#include "base/crypto.h"
#include "fakeaws.h"
#include "fakeserver.h"
#include "aws/http.h"
#include "aws/sigv4.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define MAX_UPSTREAM_REPLY ((size_t)256 * 1024 * 1024)
#define MAX_CHECKSUMS 8192
#define MAX_FILE_KEYS 64

typedef struct {
    const char *upstream, *service, *region, *port_file, *log_path;
    sigv4_credentials_t creds[2];
    size_t ncreds;
    bool s3, s3_pre, fail_after;
    long fail_every;
    long clock_offset;
    const char *key_file;
    FILE *log;
    pthread_mutex_t mu;     /* the log and the checksum table */
    pthread_mutex_t put_mu; /* conditional puts, one at a time */
    pthread_key_t client_key;
    atomic_long requests, rejected, payload_mismatch, bad_digest, precondition_failed,
        injected, upstream_errors, accepted;
    char *ck_path[MAX_CHECKSUMS]; /* objects put through us and their checksum */
    char ck_value[MAX_CHECKSUMS][48];
    bool ck_crc[MAX_CHECKSUMS];   /* the value is a CRC-64/NVME, not a SHA-256 */
    atomic_long unsigned_payload, crc_checked;
    size_t nck;
} proxy_t;

static proxy_t P = {.mu = PTHREAD_MUTEX_INITIALIZER, .put_mu = PTHREAD_MUTEX_INITIALIZER};

/* --key-file's keys, reloaded when the file's mtime or size changes. */
typedef struct {
    char id[128], secret[128];
    long long not_after; /* 0: no limit */
} file_key_t;

static struct {
    pthread_mutex_t mu;
    struct timespec mtime;
    off_t size;
    bool loaded;
    file_key_t k[MAX_FILE_KEYS];
    size_t n;
} KF = {.mu = PTHREAD_MUTEX_INITIALIZER};

static time_t proxy_now(void)
{
    return time(NULL) + P.clock_offset;
}

/* Copies the key file's current keys into out (at most MAX_FILE_KEYS);
 * returns how many.  An unreadable file keeps the keys last read. */
static size_t keyfile_snapshot(file_key_t *out)
{
    struct stat st;
    pthread_mutex_lock(&KF.mu);
    if (stat(P.key_file, &st) == 0 &&
        (!KF.loaded || st.st_size != KF.size || st.st_mtim.tv_sec != KF.mtime.tv_sec ||
         st.st_mtim.tv_nsec != KF.mtime.tv_nsec)) {
        FILE *f = fopen(P.key_file, "r");
        if (f) {
            char line[512];
            KF.n = 0;
            while (fgets(line, sizeof line, f) && KF.n < MAX_FILE_KEYS) {
                file_key_t *k = &KF.k[KF.n];
                k->not_after = 0;
                if (sscanf(line, "%127s %127s %lld", k->id, k->secret, &k->not_after) >= 2 &&
                    k->id[0] != '#')
                    KF.n++;
            }
            fclose(f);
            KF.loaded = true;
            KF.size = st.st_size;
            KF.mtime = st.st_mtim;
        }
    }
    size_t n = KF.n;
    memcpy(out, KF.k, n * sizeof *out);
    pthread_mutex_unlock(&KF.mu);
    return n;
}

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

static void stats_json(buf_t *b)
{
    buf_appendf(b, "{\"requests\":%ld,\"rejected\":%ld,\"accepted\":%ld,"
                "\"payload_mismatch\":%ld,\"bad_digest\":%ld,\"precondition_failed\":%ld,"
                "\"injected\":%ld,\"upstream_errors\":%ld,\"unsigned_payload\":%ld,"
                "\"crc_checked\":%ld}",
                atomic_load(&P.requests), atomic_load(&P.rejected), atomic_load(&P.accepted),
                atomic_load(&P.payload_mismatch), atomic_load(&P.bad_digest),
                atomic_load(&P.precondition_failed), atomic_load(&P.injected),
                atomic_load(&P.upstream_errors), atomic_load(&P.unsigned_payload),
                atomic_load(&P.crc_checked));
}

/* Answers status with the service's error shape. */
static void reply_error(fake_response_t *resp, int status, const char *code, const char *msg)
{
    char id[48];
    snprintf(id, sizeof id, "%s-%ld", "sigproxy", (long)atomic_load(&P.requests));
    fakeaws_error_reply(resp, P.s3, status, code, msg, id);
}

static bool is_hex64(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return false;
    return n == 64;
}

/* The error a service answers for a refused signature. */
static void reject(const fake_request_t *req, sigv4_verify_reason_t why, const char *detail,
                   fake_response_t *resp)
{
    int status = 400;
    const char *code;
    char msg[600];
    snprintf(msg, sizeof msg, "%s", detail);
    if (P.s3) {
        static const char *const s3codes[] = {
            [SIGV4_VERIFY_MISSING] = "AccessDenied",
            [SIGV4_VERIFY_MALFORMED] = "AuthorizationHeaderMalformed",
            [SIGV4_VERIFY_UNKNOWN_KEY] = "InvalidAccessKeyId",
            [SIGV4_VERIFY_BAD_TOKEN] = "InvalidToken",
            [SIGV4_VERIFY_BAD_SCOPE] = "SignatureDoesNotMatch",
            [SIGV4_VERIFY_SKEWED] = "RequestTimeTooSkewed",
            [SIGV4_VERIFY_EXPIRED] = "AccessDenied",
            [SIGV4_VERIFY_PAYLOAD_MISMATCH] = "XAmzContentSHA256Mismatch",
            [SIGV4_VERIFY_MISMATCH] = "SignatureDoesNotMatch",
        };
        code = s3codes[why] ? s3codes[why] : "SignatureDoesNotMatch";
        status = why == SIGV4_VERIFY_MALFORMED || why == SIGV4_VERIFY_BAD_TOKEN ? 400 : 403;
    } else {
        switch (why) {
        case SIGV4_VERIFY_MISSING: code = "MissingAuthenticationTokenException"; break;
        case SIGV4_VERIFY_MALFORMED: code = "IncompleteSignatureException"; break;
        case SIGV4_VERIFY_UNKNOWN_KEY:
        case SIGV4_VERIFY_BAD_TOKEN: code = "UnrecognizedClientException"; break;
        case SIGV4_VERIFY_SKEWED:
            code = "InvalidSignatureException";
            snprintf(msg, sizeof msg, "Signature expired: %s", detail);
            break;
        default: code = "InvalidSignatureException"; break;
        }
    }
    atomic_fetch_add(&P.rejected, 1);
    logf_("event=rejected method=%s path=%s code=%s detail=\"%s\"", req->method, req->path,
          code, detail);
    reply_error(resp, status, code, msg);
}

/* Verifies req's signature against the configured keys; answers and
 * returns false when it is refused. */
static bool verify(const fake_request_t *req, const http_header_t *hs, size_t nh,
                   fake_response_t *resp)
{
    const char *sha = fake_request_header(req, "x-amz-content-sha256");
    /* The signature is checked over the hash the client claims; whether the
     * body matches that hash is a separate answer (see check_body). */
    sigv4_request_t sr = {
        .method = req->method, .path = req->path, .query = req->query,
        .headers = hs, .nheaders = nh, .body = req->body, .body_len = req->body_len,
        .payload_hash = sha && is_hex64(sha) ? sha : NULL,
    };
    sigv4_verify_opts_t o = {.now = proxy_now(), .region = P.region, .service = P.service};
    sigv4_verify_info_t info;
    err_t e;
    err_code_t rc = ERR_AUTH;
    static _Thread_local file_key_t tk[MAX_FILE_KEYS]; /* big: not on the stack */
    size_t nfile = P.key_file ? keyfile_snapshot(tk) : 0, ncreds = P.key_file ? nfile : P.ncreds;
    long long not_after = 0;
    sigv4_verify_info_init(&info);
    err_clear(&e);
    for (size_t i = 0; i < ncreds; i++) {
        sigv4_credentials_t fc = {0};
        const sigv4_credentials_t *cr = &fc;
        if (P.key_file) {
            fc = (sigv4_credentials_t){tk[i].id, tk[i].secret, P.creds[0].session_token};
            not_after = tk[i].not_after;
        } else {
            cr = &P.creds[i];
        }
        err_clear(&e);
        rc = sigv4_verify(&sr, cr, &o, &info, &e);
        if (rc == ERR_OK || info.reason != SIGV4_VERIFY_UNKNOWN_KEY)
            break;
    }
    if (rc == ERR_OK && not_after > 0 && (long long)o.now > not_after) {
        atomic_fetch_add(&P.rejected, 1);
        logf_("event=rejected method=%s path=%s code=ExpiredToken", req->method, req->path);
        reply_error(resp, 400, P.s3 ? "ExpiredToken" : "ExpiredTokenException",
                    "The security token included in the request is expired");
        rc = ERR_AUTH;
    } else if (rc != ERR_OK) {
        reject(req, rc == ERR_INVALID ? SIGV4_VERIFY_MALFORMED : info.reason,
               e.msg[0] ? e.msg : "no key", resp);
    }
    sigv4_verify_info_free(&info);
    return rc == ERR_OK;
}

/* x-amz-content-sha256 and (S3 preconditions) x-amz-checksum-sha256 must
 * describe the body received.  Answers and returns false when not. */
static bool check_body(const fake_request_t *req, fake_response_t *resp)
{
    uint8_t d[SHA256_LEN];
    char hex[SHA256_HEX_LEN];
    const char *sha = fake_request_header(req, "x-amz-content-sha256");
    crypto_sha256(req->body, req->body_len, d);
    hex_encode(d, SHA256_LEN, hex);
    if (sha && is_hex64(sha) && strcmp(sha, hex) != 0) {
        atomic_fetch_add(&P.payload_mismatch, 1);
        logf_("event=payload_mismatch method=%s path=%s", req->method, req->path);
        reply_error(resp, 400, "XAmzContentSHA256Mismatch",
                    "The provided 'x-amz-content-sha256' header does not match what was "
                    "computed.");
        return false;
    }
    if (sha && strcmp(sha, "UNSIGNED-PAYLOAD") == 0)
        atomic_fetch_add(&P.unsigned_payload, 1);
    const char *crc = P.s3_pre ? fake_request_header(req, "x-amz-checksum-crc64nvme") : NULL;
    if (crc) {
        char want[CRC64NVME_B64_LEN];
        crc64nvme_b64(crc64nvme(req->body, req->body_len), want);
        atomic_fetch_add(&P.crc_checked, 1);
        if (strcmp(crc, want) != 0) {
            atomic_fetch_add(&P.bad_digest, 1);
            logf_("event=bad_digest alg=crc64nvme method=%s path=%s", req->method, req->path);
            reply_error(resp, 400, "BadDigest",
                        "The CRC64NVME you specified did not match the calculated checksum.");
            return false;
        }
    }
    const char *ck = P.s3_pre ? fake_request_header(req, "x-amz-checksum-sha256") : NULL;
    if (ck) {
        buf_t b64 = BUF_INIT;
        base64_encode(d, SHA256_LEN, &b64);
        bool ok = b64.data && strcmp(ck, (const char *)b64.data) == 0;
        buf_free(&b64);
        if (!ok) {
            atomic_fetch_add(&P.bad_digest, 1);
            logf_("event=bad_digest method=%s path=%s", req->method, req->path);
            reply_error(resp, 400, "BadDigest",
                        "The SHA256 you specified did not match the calculated checksum.");
            return false;
        }
    }
    return true;
}

static http_client_t *thread_client(void)
{
    http_client_t *c = pthread_getspecific(P.client_key);
    if (!c) {
        http_options_t o = {.timeout_ms = 60000, .max_response = MAX_UPSTREAM_REPLY};
        c = http_client_new(&o, NULL);
        pthread_setspecific(P.client_key, c);
    }
    return c;
}

/* Hop-by-hop headers, and for S3 the signature (see the top). */
static bool drop_header(const char *name)
{
    static const char *const hop[] = {
        "host", "content-length", "connection", "keep-alive", "transfer-encoding",
        "expect", "te", "upgrade", "proxy-connection",
    };
    for (size_t i = 0; i < sizeof hop / sizeof *hop; i++)
        if (strcasecmp(name, hop[i]) == 0)
            return true;
    return P.s3 && strcasecmp(name, "authorization") == 0;
}

/* The query without the presign parameters (wire form). */
static void strip_signing(const char *query, buf_t *out)
{
    static const char *const sig[] = {
        "X-Amz-Algorithm=", "X-Amz-Credential=", "X-Amz-Date=", "X-Amz-Expires=",
        "X-Amz-SignedHeaders=", "X-Amz-Signature=", "X-Amz-Security-Token=",
    };
    const char *p = query;
    while (*p) {
        size_t n = strcspn(p, "&");
        bool drop = n == 0;
        for (size_t i = 0; i < sizeof sig / sizeof *sig && !drop; i++)
            drop = strncasecmp(p, sig[i], strlen(sig[i])) == 0;
        if (!drop) {
            if (out->len)
                buf_append_str(out, "&");
            buf_append(out, p, n);
        }
        p += n;
        if (*p == '&')
            p++;
    }
}

/* "/bucket/key..." names an object (path-style), "/bucket[/]" does not. */
static bool is_object_path(const char *path)
{
    const char *s = strchr(path + 1, '/');
    return path[0] == '/' && s && s[1];
}

/* Adds the checksum remembered for path to resp, as S3 does with
 * x-amz-checksum-mode: ENABLED. */
static void checksum_header(const char *path, fake_response_t *resp)
{
    pthread_mutex_lock(&P.mu);
    for (size_t i = 0; i < P.nck; i++)
        if (strcmp(P.ck_path[i], path) == 0 && P.ck_value[i][0])
            fake_response_header(resp, P.ck_crc[i] ? "x-amz-checksum-crc64nvme"
                                                   : "x-amz-checksum-sha256", P.ck_value[i]);
    pthread_mutex_unlock(&P.mu);
}

static void checksum_remember(const char *path, const fake_request_t *req)
{
    const char *crc = fake_request_header(req, "x-amz-checksum-crc64nvme");
    const char *value = crc ? crc : fake_request_header(req, "x-amz-checksum-sha256");
    pthread_mutex_lock(&P.mu);
    size_t i = 0;
    while (i < P.nck && strcmp(P.ck_path[i], path) != 0)
        i++;
    if (i == P.nck && P.nck < MAX_CHECKSUMS && (P.ck_path[i] = strdup(path)))
        P.nck++;
    if (i < P.nck)
        snprintf(P.ck_value[i], sizeof P.ck_value[i], "%s", value ? value : "");
    if (i < P.nck)
        P.ck_crc[i] = crc != NULL;
    pthread_mutex_unlock(&P.mu);
}

/* Sends req upstream (unsigned) and copies the reply into resp.  Returns the
 * upstream status, 0 after a transport failure (answered 502). */
static long forward(const fake_request_t *req, const char *method, bool with_body,
                    fake_response_t *resp)
{
    http_client_t *c = thread_client();
    buf_t url = BUF_INIT, q = BUF_INIT;
    http_header_t hs[FAKE_MAX_HEADERS];
    size_t nh = 0;
    if (P.s3)
        strip_signing(req->query, &q);
    else
        buf_append_str(&q, req->query);
    buf_appendf(&url, "%s%s%s%s", P.upstream, req->path, q.len ? "?" : "",
                q.len ? (const char *)q.data : "");
    for (size_t i = 0; i < req->nheaders && with_body; i++)
        if (!drop_header(req->headers[i].name))
            hs[nh++] = (http_header_t){req->headers[i].name, req->headers[i].value};
    http_request_t hr = {
        .method = method, .url = (const char *)url.data, .headers = hs, .nheaders = nh,
        .body = with_body ? req->body : NULL, .body_len = with_body ? req->body_len : 0,
    };
    http_response_t r;
    err_t e;
    http_response_init(&r);
    long status = 0;
    if (!c || http_do(c, &hr, &r, &e) != ERR_OK) {
        atomic_fetch_add(&P.upstream_errors, 1);
        logf_("event=upstream_error method=%s path=%s error=\"%s\"", method, req->path,
              c ? e.msg : "no http client");
        reply_error(resp, 502, P.s3 ? "InternalError" : "ServiceUnavailable",
                    "sigproxy: upstream failed");
    } else {
        status = r.status;
        resp->status = (int)r.status;
        bool head = strcmp(method, "HEAD") == 0;
        for (size_t i = 0; i < r.nheaders; i++) {
            const char *n = r.headers[i].name;
            if (strcmp(n, "connection") == 0 || strcmp(n, "transfer-encoding") == 0 ||
                strcmp(n, "keep-alive") == 0 || (!head && strcmp(n, "content-length") == 0))
                continue;
            fake_response_header(resp, n, r.headers[i].value);
        }
        fake_response_body(resp, r.body.data, r.body.len);
    }
    http_response_free(&r);
    buf_free(&url);
    buf_free(&q);
    return status;
}

/* PutObject with If-None-Match: * — create-only, checked by a HEAD upstream
 * under the lock so two such puts cannot both win. */
static void conditional_put(const fake_request_t *req, fake_response_t *resp)
{
    pthread_mutex_lock(&P.put_mu);
    fake_response_t head = {0};
    long st = forward(req, "HEAD", false, &head);
    fake_response_clear(&head);
    if (st == 200) {
        pthread_mutex_unlock(&P.put_mu);
        atomic_fetch_add(&P.precondition_failed, 1);
        logf_("event=precondition_failed method=PUT path=%s", req->path);
        reply_error(resp, 412, "PreconditionFailed",
                    "At least one of the pre-conditions you specified did not hold");
        return;
    }
    long put = forward(req, "PUT", true, resp);
    pthread_mutex_unlock(&P.put_mu);
    if (put >= 200 && put < 300)
        checksum_remember(req->path, req);
}

/* An accepted request: body checks, S3 preconditions, upstream. */
static void serve(const fake_request_t *req, fake_response_t *resp)
{
    if (!check_body(req, resp))
        return;
    bool put = strcmp(req->method, "PUT") == 0;
    const char *inm = fake_request_header(req, "If-None-Match");
    if (P.s3_pre && put && inm && strcmp(inm, "*") == 0 && is_object_path(req->path)) {
        conditional_put(req, resp);
        return;
    }
    long st = forward(req, req->method, true, resp);
    if (!P.s3_pre || st < 200 || st >= 300 || !is_object_path(req->path))
        return;
    if (put) {
        checksum_remember(req->path, req);
    } else if (strcmp(req->method, "HEAD") == 0 || strcmp(req->method, "GET") == 0) {
        const char *mode = fake_request_header(req, "x-amz-checksum-mode");
        if (mode && strcasecmp(mode, "ENABLED") == 0)
            checksum_header(req->path, resp);
    }
}

static void inject(const fake_request_t *req, fake_response_t *resp, const char *when)
{
    atomic_fetch_add(&P.injected, 1);
    logf_("event=injected when=%s method=%s path=%s", when, req->method, req->path);
    reply_error(resp, 503, P.s3 ? "SlowDown" : "ServiceUnavailable",
                "sigproxy: injected failure");
}

static void handle_request(const fake_request_t *req, fake_response_t *resp)
{
    if (strcmp(req->path, "/__sigproxy/stats") == 0) {
        buf_t b = BUF_INIT;
        stats_json(&b);
        fake_response_json(resp, 200, (const char *)b.data);
        buf_free(&b);
        return;
    }
    long n = atomic_fetch_add(&P.requests, 1) + 1;
    http_header_t hs[FAKE_MAX_HEADERS];
    for (size_t i = 0; i < req->nheaders; i++)
        hs[i] = (http_header_t){req->headers[i].name, req->headers[i].value};
    if (!verify(req, hs, req->nheaders, resp))
        return;
    atomic_fetch_add(&P.accepted, 1);
    bool fail = P.fail_every > 0 && n % P.fail_every == 0;
    if (fail && !P.fail_after) {
        inject(req, resp, "before");
        return;
    }
    serve(req, resp);
    if (fail) {
        /* Done upstream, but the client never hears: a lost reply. */
        fake_response_clear(resp);
        inject(req, resp, "after");
    }
}

/* Every reply, served or refused, carries the proxy's clock in Date (in
 * place of the upstream's) when that clock is off. */
static void handle(const fake_request_t *req, fake_response_t *resp, void *ud)
{
    (void)ud;
    handle_request(req, resp);
    if (P.clock_offset == 0)
        return;
    char date[64];
    fake_http_date((long long)proxy_now(), date, sizeof date);
    for (size_t i = 0; i < resp->nheaders; i++)
        if (strcasecmp(resp->headers[i].name, "date") == 0) {
            char *v = strdup(date);
            if (v) {
                free((char *)resp->headers[i].value);
                resp->headers[i].value = v;
            }
            return;
        }
    fake_response_header(resp, "Date", date);
}

static void usage(void)
{
    fprintf(stderr, "usage: sigproxy --listen 127.0.0.1:0 --upstream URL --service NAME "
                    "--region R --key AKID --secret SECRET [--key2 AKID --secret2 SECRET] "
                    "[--token T] [--port-file F] [--s3-preconditions] [--fail-every N "
                    "[--fail-after]] [--log FILE] [--clock-offset S] [--key-file F]\n");
    exit(64);
}

static void parse_args(int argc, char **argv)
{
    enum { O_KEY2 = 256, O_SECRET2, O_TOKEN, O_PORTFILE, O_S3PRE, O_FAIL, O_AFTER, O_LOG,
           O_CLOCK, O_KEYFILE };
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'}, {"upstream", required_argument, NULL, 'u'},
        {"service", required_argument, NULL, 's'}, {"region", required_argument, NULL, 'r'},
        {"key", required_argument, NULL, 'k'}, {"secret", required_argument, NULL, 'x'},
        {"key2", required_argument, NULL, O_KEY2}, {"token", required_argument, NULL, O_TOKEN},
        {"secret2", required_argument, NULL, O_SECRET2}, {"log", required_argument, NULL, O_LOG},
        {"port-file", required_argument, NULL, O_PORTFILE},
        {"s3-preconditions", no_argument, NULL, O_S3PRE},
        {"fail-every", required_argument, NULL, O_FAIL},
        {"fail-after", no_argument, NULL, O_AFTER},
        {"clock-offset", required_argument, NULL, O_CLOCK},
        {"key-file", required_argument, NULL, O_KEYFILE}, {NULL, 0, NULL, 0},
    };
    const char *listen = "127.0.0.1:0", *token = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'l': listen = optarg; break;
        case 'u': P.upstream = optarg; break;
        case 's': P.service = optarg; break;
        case 'r': P.region = optarg; break;
        case 'k': P.creds[0].access_key_id = optarg; break;
        case 'x': P.creds[0].secret_access_key = optarg; break;
        case O_KEY2: P.creds[1].access_key_id = optarg; break;
        case O_SECRET2: P.creds[1].secret_access_key = optarg; break;
        case O_TOKEN: token = optarg; break;
        case O_PORTFILE: P.port_file = optarg; break;
        case O_S3PRE: P.s3_pre = true; break;
        case O_FAIL: P.fail_every = strtol(optarg, NULL, 10); break;
        case O_AFTER: P.fail_after = true; break;
        case O_LOG: P.log_path = optarg; break;
        case O_CLOCK: {
            char *end;
            P.clock_offset = strtol(optarg, &end, 10);
            if (!*optarg || *end || P.clock_offset < -86400 || P.clock_offset > 86400)
                usage();
            break;
        }
        case O_KEYFILE: P.key_file = optarg; break;
        default: usage();
        }
    }
    if (optind != argc || !P.upstream || !P.service || !P.region ||
        !P.creds[0].access_key_id || !P.creds[0].secret_access_key)
        usage();
    if (strcmp(listen, "127.0.0.1:0") != 0 || !http_url_is_loopback(P.upstream)) {
        fprintf(stderr, "sigproxy: only --listen 127.0.0.1:0 and a loopback upstream\n");
        exit(64);
    }
    P.creds[0].session_token = token;
    P.ncreds = 1;
    if (P.creds[1].access_key_id && P.creds[1].secret_access_key) {
        P.creds[1].session_token = token;
        P.ncreds = 2;
    }
    P.s3 = strcmp(P.service, "s3") == 0;
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
    /* Every thread inherits the blocked set; only sigwait sees the signals. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    fake_server_t *fs = fake_server_start(handle, NULL);
    if (!fs) {
        fprintf(stderr, "sigproxy: cannot listen on 127.0.0.1\n");
        return 71;
    }
    if (P.port_file && fake_server_write_port_file(fs, P.port_file) != 0) {
        perror(P.port_file);
        fake_server_stop(fs);
        return 73;
    }
    logf_("event=listening port=%d upstream=%s service=%s", fake_server_port(fs), P.upstream,
          P.service);
    int sig = 0;
    sigwait(&set, &sig);
    /* Counts first: stopping waits for requests in flight (an SQS long
     * poll may take 20 s). */
    buf_t b = BUF_INIT;
    stats_json(&b);
    fprintf(stderr, "sigproxy stats %s\n", (const char *)b.data);
    logf_("event=stats %s", (const char *)b.data);
    buf_free(&b);
    fake_server_stop(fs);
    if (P.log)
        fclose(P.log);
    for (size_t i = 0; i < P.nck; i++)
        free(P.ck_path[i]);
    return 0;
}
