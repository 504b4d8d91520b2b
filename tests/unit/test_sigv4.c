/* Tests for sigv4 against the committed vectors: the aws-c-auth SigV4 suite
 * (header and query signing, stage by stage, and sigv4_verify on each
 * signed request), botocore's S3 presigned URLs and service requests.
 * Focused tests of the parts are in test_sigv4_parts.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/err.h"
#include "aws/sigv4.h"
#include "testutil.h"

#define MAXH 32

/* A request as written in request.txt / *-signed-request.txt. */typedef struct {
    char *method, *path, *query, *body;
    size_t body_len;
    char *names[MAXH], *values[MAXH];
    http_header_t h[MAXH];
    size_t nh;
} treq_t;

static char *xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);
    assert_non_null(p);
    return p;
}

static void treq_parse(const char *text, treq_t *r)
{
    memset(r, 0, sizeof *r);
    size_t len = strcspn(text, "\n");
    const char *sp1 = memchr(text, ' ', len), *sp2 = text + len;
    while (sp2 > text && sp2[-1] != ' ')
        sp2--;
    assert_non_null(sp1);
    assert_true(sp2 - 1 > sp1);
    r->method = xstrndup(text, (size_t)(sp1 - text));
    char *target = xstrndup(sp1 + 1, (size_t)(sp2 - 1 - (sp1 + 1)));
    char *q = strchr(target, '?');
    r->path = xstrndup(target, q ? (size_t)(q - target) : strlen(target));
    r->query = strdup(q ? q + 1 : "");
    free(target);
    const char *p = text + len + (text[len] == '\n');
    while (*p) {
        size_t n = strcspn(p, "\n");
        const char *next = p + n + (p[n] == '\n');
        if (n == 0) {
            r->body = strdup(next);
            r->body_len = strlen(next);
            break;
        }
        if (p[0] == ' ' || p[0] == '\t') {
            /* obs-fold: joined to the previous value with a space */
            assert_true(r->nh > 0);
            char *old = r->values[r->nh - 1];
            size_t ol = strlen(old);
            char *nv = malloc(ol + n + 2);
            assert_non_null(nv);
            memcpy(nv, old, ol);
            nv[ol] = ' ';
            memcpy(nv + ol + 1, p, n);
            nv[ol + 1 + n] = '\0';
            free(old);
            r->values[r->nh - 1] = nv;
        } else {
            const char *colon = memchr(p, ':', n);
            assert_non_null(colon);
            assert_true(r->nh < MAXH);
            r->names[r->nh] = xstrndup(p, (size_t)(colon - p));
            r->values[r->nh] = xstrndup(colon + 1, n - (size_t)(colon - p) - 1);
            r->nh++;
        }
        p = next;
    }
    for (size_t i = 0; i < r->nh; i++)
        r->h[i] = (http_header_t){r->names[i], r->values[i]};
}

static void treq_free(treq_t *r)
{
    free(r->method);
    free(r->path);
    free(r->query);
    free(r->body);
    for (size_t i = 0; i < r->nh; i++) {
        free(r->names[i]);
        free(r->values[i]);
    }
}

static const char *hget(const treq_t *r, const char *name)
{
    for (size_t i = 0; i < r->nh; i++)
        if (strcasecmp(r->names[i], name) == 0)
            return r->values[i];
    return NULL;
}

static time_t iso_time(const char *s)
{
    struct tm tm = {0};
    assert_non_null(strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm));
    return timegm(&tm);
}

static char *read_fx(const char *dir, const char *name)
{
    char rel[512];
    snprintf(rel, sizeof rel, "vectors/sigv4/%s/%s", dir, name);
    return tu_read_file(tu_fixture(rel), NULL);
}

/* Sorted "key=decoded value" lines of a query string. */
static char *query_lines(const char *q)
{
    char *items[64];
    size_t n = 0;
    buf_t out = BUF_INIT;
    for (const char *p = q; *p;) {
        size_t len = strcspn(p, "&");
        const char *eq = memchr(p, '=', len);
        size_t kl = eq ? (size_t)(eq - p) : len;
        buf_t b = BUF_INIT;
        assert_int_equal(sigv4_uri_decode(p, kl, &b, NULL), ERR_OK);
        assert_int_equal(buf_append(&b, "=", 1), ERR_OK);
        if (eq)
            assert_int_equal(sigv4_uri_decode(eq + 1, len - kl - 1, &b, NULL),
                             ERR_OK);
        assert_true(n < 64);
        items[n++] = buf_steal(&b);
        p += len + (p[len] == '&');
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (strcmp(items[j], items[i]) < 0) {
                char *t = items[i];
                items[i] = items[j];
                items[j] = t;
            }
    for (size_t i = 0; i < n; i++) {
        buf_appendf(&out, "%s\n", items[i]);
        free(items[i]);
    }
    return buf_steal(&out);
}

static char *query_param(const char *q, const char *key)
{
    char *lines = query_lines(q), *res = NULL;
    size_t kl = strlen(key);
    for (char *p = lines; *p;) {
        size_t n = strcspn(p, "\n");
        if (n > kl && strncmp(p, key, kl) == 0 && p[kl] == '=')
            res = xstrndup(p + kl + 1, n - kl - 1);
        p += n + (p[n] == '\n');
    }
    free(lines);
    return res;
}

/* ---- the aws-c-auth suite ---- */

typedef struct {
    sigv4_credentials_t c;
    sigv4_params_t p;
    json_t *ctx;
} vctx_t;

static void load_ctx(const char *dir, vctx_t *v)
{
    char rel[512];
    json_error_t je;
    snprintf(rel, sizeof rel, "vectors/sigv4/%s/context.json", dir);
    v->ctx = json_load_file(tu_fixture(rel), 0, &je);
    assert_non_null(v->ctx);
    json_t *cr = json_object_get(v->ctx, "credentials");
    v->c.access_key_id = json_string_value(json_object_get(cr, "access_key_id"));
    v->c.secret_access_key =
        json_string_value(json_object_get(cr, "secret_access_key"));
    v->c.session_token = json_string_value(json_object_get(cr, "token"));
    const char *service = json_string_value(json_object_get(v->ctx, "service"));
    sigv4_params_init(&v->p, service,
                      json_string_value(json_object_get(v->ctx, "region")),
                      iso_time(json_string_value(
                          json_object_get(v->ctx, "timestamp"))));
    v->p.normalize_path = json_is_true(json_object_get(v->ctx, "normalize"));
    v->p.double_encode = strcmp(service, "s3") != 0;
    v->p.content_sha256_header =
        json_is_true(json_object_get(v->ctx, "sign_body"));
    v->p.omit_session_token =
        json_is_true(json_object_get(v->ctx, "omit_session_token"));
    v->p.expires = (long)json_integer_value(
        json_object_get(v->ctx, "expiration_in_seconds"));
}

static void check_verify(const vctx_t *v, const char *signed_text,
                         sigv4_mode_t mode, const char *dir)
{
    treq_t s;
    sigv4_verify_info_t info;
    sigv4_verify_opts_t o = {.now = v->p.now, .rules = &v->p};
    err_t e;
    treq_parse(signed_text, &s);
    sigv4_request_t rq = {.method = s.method, .path = s.path, .query = s.query,
                          .headers = s.h, .nheaders = s.nh, .body = s.body,
                          .body_len = s.body_len};
    sigv4_verify_info_init(&info);
    err_code_t rc = sigv4_verify(&rq, &v->c, &o, &info, &e);
    if (rc != ERR_OK)
        fail_msg("%s: verify refused its own vector: %s", dir, e.msg);
    assert_int_equal(info.mode, mode);

    /* Tampering with any signed part must be refused. */
    if (mode == SIGV4_MODE_HEADERS) {
        for (size_t i = 0; i < s.nh; i++)
            if (strcasecmp(s.names[i], "X-Amz-Date") == 0)
                s.values[i][strlen(s.values[i]) - 2] ^= 1;  /* a second */
    } else {
        char *pos = strstr(s.query, "X-Amz-Date=");
        assert_non_null(pos);
        pos[11 + 14] ^= 1;
    }
    rc = sigv4_verify(&rq, &v->c, &o, &info, &e);
    assert_int_equal(rc, ERR_AUTH);
    assert_int_equal(info.reason, SIGV4_VERIFY_MISMATCH);
    assert_string_equal(sigv4_verify_reason_code(info.reason),
                        "SignatureDoesNotMatch");
    sigv4_verify_info_free(&info);
    treq_free(&s);
}

static void run_vector_mode(const char *dir, const char *prefix,
                            sigv4_mode_t mode)
{
    char name[64];
    vctx_t v;
    treq_t rq;
    sigv4_result_t r;
    err_t e;

    snprintf(name, sizeof name, "%s-canonical-request.txt", prefix);
    char *want_cr = read_fx(dir, name);
    if (!want_cr)
        return;   /* this case has no variant for this mode */
    snprintf(name, sizeof name, "%s-string-to-sign.txt", prefix);
    char *want_sts = read_fx(dir, name);
    snprintf(name, sizeof name, "%s-signature.txt", prefix);
    char *want_sig = read_fx(dir, name);
    snprintf(name, sizeof name, "%s-signed-request.txt", prefix);
    char *want_signed = read_fx(dir, name);
    char *raw = read_fx(dir, "request.txt");
    assert_non_null(want_sts);
    assert_non_null(want_sig);
    assert_non_null(want_signed);
    assert_non_null(raw);

    load_ctx(dir, &v);
    treq_parse(raw, &rq);
    sigv4_request_t req = {.method = rq.method, .path = rq.path,
                           .query = rq.query, .headers = rq.h,
                           .nheaders = rq.nh, .body = rq.body,
                           .body_len = rq.body_len};
    sigv4_result_init(&r);
    if (sigv4_canonical_request(&req, &v.p, &v.c, mode, &r, &e) != ERR_OK)
        fail_msg("%s/%s: %s", dir, prefix, e.msg);
    if (strcmp((char *)r.canonical_request.data, want_cr) != 0)
        fail_msg("%s/%s canonical request:\n%s\n--- want ---\n%s", dir, prefix,
                 (char *)r.canonical_request.data, want_cr);
    assert_int_equal(sigv4_string_to_sign(&r, &e), ERR_OK);
    assert_string_equal((char *)r.string_to_sign.data, want_sts);
    assert_int_equal(sigv4_signature(&r, &v.p, &v.c, &e), ERR_OK);
    assert_string_equal(r.signature, want_sig);
    assert_int_equal(sigv4_finish(&r, &v.p, &v.c, &e), ERR_OK);

    treq_t want;
    treq_parse(want_signed, &want);
    assert_string_equal(want.path, rq.path);
    if (mode == SIGV4_MODE_HEADERS) {
        /* The signed request is ours plus exactly the headers we add. */
        assert_int_equal(want.nh, rq.nh + r.nheaders);
        for (size_t i = 0; i < r.nheaders; i++) {
            const char *w = hget(&want, r.headers[i].name);
            if (!w)
                fail_msg("%s: unexpected header %s", dir, r.headers[i].name);
            assert_string_equal(r.headers[i].value, w);
        }
        assert_string_equal(r.authorization, hget(&want, "Authorization"));
    } else {
        char *got_q = query_lines(r.query), *want_q = query_lines(want.query);
        assert_string_equal(got_q, want_q);
        free(got_q);
        free(want_q);
        /* Our parameter order is aws-c-auth's too. */
        assert_string_equal(r.query, want.query);
        assert_int_equal(want.nh, rq.nh);
    }
    treq_free(&want);
    check_verify(&v, want_signed, mode, dir);

    sigv4_result_free(&r);
    treq_free(&rq);
    json_decref(v.ctx);
    free(want_cr);
    free(want_sts);
    free(want_sig);
    free(want_signed);
    free(raw);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void aws_sigv4_suite_all_cases_match(void **state)
{
    (void)state;
    char *dirs[64];
    size_t n = 0;
    DIR *d = opendir(tu_fixture("vectors/sigv4"));
    struct dirent *de;
    assert_non_null(d);
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || strcmp(de->d_name, "LICENSE") == 0 ||
            strcmp(de->d_name, "NOTICE") == 0)
            continue;
        assert_true(n < 64);
        dirs[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(dirs, n, sizeof *dirs, cmp_str);
    assert_int_equal(n, 38);
    size_t variants = 0;
    for (size_t i = 0; i < n; i++) {
        char *h = read_fx(dirs[i], "header-signature.txt");
        char *q = read_fx(dirs[i], "query-signature.txt");
        variants += (h != NULL) + (q != NULL);
        free(h);
        free(q);
        run_vector_mode(dirs[i], "header", SIGV4_MODE_HEADERS);
        run_vector_mode(dirs[i], "query", SIGV4_MODE_QUERY);
        free(dirs[i]);
    }
    print_message("sigv4 suite: %zu cases, %zu signed variants\n", n, variants);
    assert_int_equal(variants, 76);
}

/* ---- botocore: S3 presigned GETs ---- */

static void s3_presign_matches_botocore(void **state)
{
    (void)state;
    json_error_t je;
    json_t *root = json_load_file(tu_fixture("vectors/s3/presign.json"), 0, &je);
    assert_non_null(root);
    json_t *cr = json_object_get(root, "credentials");
    sigv4_credentials_t c = {
        json_string_value(json_object_get(cr, "aws_access_key_id")),
        json_string_value(json_object_get(cr, "aws_secret_access_key")), NULL};
    json_t *cases = json_object_get(root, "cases");
    size_t i;
    json_t *tc;
    assert_int_equal(json_array_size(cases), 10);
    json_array_foreach(cases, i, tc) {
        const char *name = json_string_value(json_object_get(tc, "name"));
        const char *bucket = json_string_value(json_object_get(tc, "bucket"));
        const char *key = json_string_value(json_object_get(tc, "key"));
        const char *region = json_string_value(json_object_get(tc, "region"));
        const char *endpoint =
            json_string_value(json_object_get(tc, "endpoint"));
        const char *style =
            json_string_value(json_object_get(tc, "addressing_style"));
        const char *want = json_string_value(json_object_get(tc, "url"));
        buf_t url = BUF_INIT;
        if (strcmp(style, "path") == 0)
            buf_appendf(&url, "%s/%s/", endpoint, bucket);
        else
            buf_appendf(&url, "https://%s.s3.amazonaws.com/", bucket);
        assert_int_equal(sigv4_uri_encode(key, strlen(key), true, &url),
                         ERR_OK);

        sigv4_params_t p;
        sigv4_params_init(&p, "s3", region,
                          iso_time(json_string_value(
                              json_object_get(tc, "timestamp"))));
        p.expires = (long)json_integer_value(json_object_get(tc, "expires"));
        c.session_token =
            json_string_value(json_object_get(tc, "session_token"));
        sigv4_request_t req = {.method = "GET", .url = (char *)url.data};
        sigv4_result_t r;
        err_t e;
        sigv4_result_init(&r);
        if (sigv4_presign(&req, &p, &c, &r, &e) != ERR_OK)
            fail_msg("%s: %s", name, e.msg);
        assert_string_equal(r.payload_hash, SIGV4_UNSIGNED_PAYLOAD);

        const char *wq = strchr(want, '?'), *gq = strchr(r.url, '?');
        assert_non_null(wq);
        assert_non_null(gq);
        assert_int_equal(gq - r.url, wq - want);
        if (strncmp(r.url, want, (size_t)(wq - want)) != 0)
            fail_msg("%s: base URL %.*s, want %.*s", name, (int)(gq - r.url),
                     r.url, (int)(wq - want), want);
        char *gl = query_lines(gq + 1), *wl = query_lines(wq + 1);
        assert_string_equal(gl, wl);
        char *gs = query_param(gq + 1, "X-Amz-Signature");
        char *ws = query_param(wq + 1, "X-Amz-Signature");
        assert_non_null(ws);
        assert_string_equal(gs, ws);

        /* The server side accepts it. */
        sigv4_verify_opts_t o = {.now = p.now + 10, .region = region,
                                 .service = "s3"};
        assert_int_equal(sigv4_verify(&req, &c, &o, NULL, &e), ERR_AUTH);
        sigv4_request_t got = {.method = "GET", .url = r.url};
        if (sigv4_verify(&got, &c, &o, NULL, &e) != ERR_OK)
            fail_msg("%s: verify: %s", name, e.msg);
        free(gl);
        free(wl);
        free(gs);
        free(ws);
        sigv4_result_free(&r);
        buf_free(&url);
    }
    json_decref(root);
}

/* ---- botocore: header-signed service requests ---- */

static void service_requests_match_botocore(void **state)
{
    (void)state;
    json_error_t je;
    json_t *root = json_load_file(tu_fixture("vectors/services.json"), 0, &je);
    assert_non_null(root);
    json_t *cr = json_object_get(root, "credentials");
    sigv4_credentials_t c = {
        json_string_value(json_object_get(cr, "access_key_id")),
        json_string_value(json_object_get(cr, "secret_access_key")), NULL};
    json_t *cases = json_object_get(root, "cases"), *tc;
    size_t i;
    assert_true(json_array_size(cases) >= 7);
    json_array_foreach(cases, i, tc) {
        const char *name = json_string_value(json_object_get(tc, "name"));
        const char *b64 =
            json_string_value(json_object_get(tc, "body_base64"));
        json_t *rh = json_object_get(tc, "request_headers"), *val;
        const char *hname;
        http_header_t h[16], all[20];
        size_t nh = 0;
        buf_t body = BUF_INIT;
        err_t e;
        assert_int_equal(base64_decode(b64, strlen(b64), &body, &e), ERR_OK);
        json_object_foreach(rh, hname, val) {
            h[nh++] = (http_header_t){hname, json_string_value(val)};
        }
        sigv4_params_t p;
        sigv4_params_init(&p,
                          json_string_value(json_object_get(tc, "service")),
                          json_string_value(json_object_get(tc, "region")),
                          iso_time(json_string_value(
                              json_object_get(tc, "timestamp"))));
        c.session_token =
            json_string_value(json_object_get(tc, "session_token"));
        sigv4_request_t req = {
            .method = json_string_value(json_object_get(tc, "method")),
            .url = json_string_value(json_object_get(tc, "url")),
            .headers = h, .nheaders = nh, .body = body.data,
            .body_len = body.len};
        sigv4_result_t r;
        sigv4_result_init(&r);
        if (sigv4_sign_headers(&req, &p, &c, &r, &e) != ERR_OK)
            fail_msg("%s: %s", name, e.msg);
        assert_string_equal((char *)r.canonical_request.data,
                            json_string_value(
                                json_object_get(tc, "canonical_request")));
        assert_string_equal((char *)r.string_to_sign.data,
                            json_string_value(
                                json_object_get(tc, "string_to_sign")));
        char body_hash[SHA256_HEX_LEN];
        crypto_sha256_hex(body.data, body.len, body_hash);
        assert_string_equal(r.payload_hash, body_hash);

        /* Final headers: the request's own plus ours, as botocore sent. */
        json_t *want = json_object_get(tc, "signed_headers");
        size_t nall = 0;
        for (size_t k = 0; k < nh; k++)
            all[nall++] = h[k];
        for (size_t k = 0; k < r.nheaders; k++)
            all[nall++] = r.headers[k];
        assert_int_equal(nall, json_object_size(want));
        json_object_foreach(want, hname, val) {
            size_t k = 0;
            while (k < nall && strcasecmp(all[k].name, hname) != 0)
                k++;
            if (k == nall)
                fail_msg("%s: header %s missing", name, hname);
            assert_string_equal(all[k].value, json_string_value(val));
        }

        sigv4_verify_opts_t o = {.now = p.now};
        sigv4_request_t got = req;
        got.headers = all;
        got.nheaders = nall;
        if (sigv4_verify(&got, &c, &o, NULL, &e) != ERR_OK)
            fail_msg("%s: verify: %s", name, e.msg);
        sigv4_result_free(&r);
        buf_free(&body);
    }
    json_decref(root);
}

static const sigv4_credentials_t EXAMPLE = {
    "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL};
static const time_t T0 = 1440938160;   /* 2015-08-30T12:36:00Z */

static void presign_rejects_expiry_outside_1_to_604800(void **state)
{
    (void)state;
    static const long bad[] = {0, -1, 604801, 10000000};
    sigv4_params_t p;
    sigv4_request_t req = {.method = "GET",
                           .url = "https://b.s3.amazonaws.com/k"};
    sigv4_result_t r;
    err_t e;
    sigv4_result_init(&r);
    sigv4_params_init(&p, "s3", "us-east-1", T0);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        p.expires = bad[i];
        assert_int_equal(sigv4_presign(&req, &p, &EXAMPLE, &r, &e),
                         ERR_INVALID);
        assert_non_null(strstr(e.msg, "expiry"));
        assert_null(r.url);
    }
    p.expires = 604800;
    assert_int_equal(sigv4_presign(&req, &p, &EXAMPLE, &r, &e), ERR_OK);
    assert_non_null(strstr(r.url, "X-Amz-Expires=604800&"));
    p.expires = 1;
    assert_int_equal(sigv4_presign(&req, &p, &EXAMPLE, &r, &e), ERR_OK);
    sigv4_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(aws_sigv4_suite_all_cases_match),
        cmocka_unit_test(s3_presign_matches_botocore),
        cmocka_unit_test(service_requests_match_botocore),
        cmocka_unit_test(presign_rejects_expiry_outside_1_to_604800),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
