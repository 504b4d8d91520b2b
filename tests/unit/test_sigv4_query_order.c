/* The canonical query's order, checked against botocore rather than our own
 * verifier (common/aws/sigv4_canon.c): parameters sort by the bytes of their
 * encoded names, so "X-Amz-Date" < "_under" < "response-content-type" and
 * "A_B" < "Ab" < "a-b" < "aB" < "a_b".  A signer sorting without case would
 * pass every test that checks it with its own verifier (signer and checker
 * wrong together) and the AWS suite (whose names differ only in a digit),
 * and be refused by AWS on the first request with S3's
 * response-content-disposition beside X-Amz-*.  The expected values come
 * from botocore (tests/fixtures/vectors/query_order.json, written by
 * tests/tools/gen_query_order_vectors.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/sigv4.h"
#include "testutil.h"

static time_t iso_time(const char *s)
{
    struct tm tm = {0};
    assert_non_null(strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm));
    return timegm(&tm);
}

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static json_t *load(sigv4_credentials_t *c)
{
    json_error_t je;
    json_t *root = json_load_file(tu_fixture("vectors/query_order.json"), 0, &je);
    if (!root)
        fail_msg("query_order.json: %s", je.text);
    json_t *cr = json_object_get(root, "credentials");
    *c = (sigv4_credentials_t){str(cr, "access_key_id"), str(cr, "secret_access_key"), NULL};
    return root;
}

/* The value of key in a wire query (a new string), or NULL. */
static char *query_param(const char *q, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = q; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL)
        if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
            const char *e = strchr(p + kl + 1, '&');
            size_t n = e ? (size_t)(e - p - kl - 1) : strlen(p + kl + 1);
            char *v = malloc(n + 1);
            assert_non_null(v);
            memcpy(v, p + kl + 1, n);
            v[n] = '\0';
            return v;
        }
    return NULL;
}

static void header_signed_queries_sort_by_bytes_as_botocore(void **state)
{
    (void)state;
    sigv4_credentials_t c;
    json_t *root = load(&c), *tc;
    json_t *cases = json_object_get(root, "header_cases");
    size_t i;
    assert_int_equal(json_array_size(cases), 3);
    json_array_foreach(cases, i, tc) {
        const char *name = str(tc, "name");
        const char *service = str(tc, "service");
        sigv4_params_t p;
        sigv4_params_init(&p, service, str(tc, "region"), iso_time(str(tc, "timestamp")));
        c.session_token = str(tc, "session_token");
        http_header_t h[1] = {{"x-amz-content-sha256",
                               "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}};
        bool s3 = strcmp(service, "s3") == 0;
        sigv4_request_t req = {.method = str(tc, "method"), .url = str(tc, "url"),
                               .headers = s3 ? h : NULL, .nheaders = s3 ? 1 : 0,
                               .body = "", .body_len = 0};
        sigv4_result_t r;
        err_t e;
        sigv4_result_init(&r);
        if (sigv4_sign_headers(&req, &p, &c, &r, &e) != ERR_OK)
            fail_msg("%s: %s", name, e.msg);
        const char *want_cr = str(tc, "canonical_request");
        if (strcmp((char *)r.canonical_request.data, want_cr) != 0)
            fail_msg("%s: canonical request\n%s\nbotocore:\n%s", name,
                     (char *)r.canonical_request.data, want_cr);
        assert_string_equal((char *)r.string_to_sign.data, str(tc, "string_to_sign"));
        assert_string_equal(r.authorization, str(tc, "authorization"));
        sigv4_result_free(&r);
    }
    json_decref(root);
}

static void presign_with_lower_case_params_matches_botocore(void **state)
{
    (void)state;
    sigv4_credentials_t c;
    json_t *root = load(&c), *tc;
    json_t *cases = json_object_get(root, "presign_cases");
    size_t i;
    assert_int_equal(json_array_size(cases), 2);
    json_array_foreach(cases, i, tc) {
        const char *name = str(tc, "name");
        const char *want = str(tc, "url");
        /* The request as the caller has it: botocore's URL without the
         * X-Amz-* parameters (which it puts after the others). */
        const char *xa = strstr(want, "&X-Amz-");
        assert_non_null(xa);
        char *url = strndup(want, (size_t)(xa - want));
        assert_non_null(url);
        sigv4_params_t p;
        sigv4_params_init(&p, "s3", str(tc, "region"), iso_time(str(tc, "timestamp")));
        p.expires = (long)json_integer_value(json_object_get(tc, "expires"));
        c.session_token = str(tc, "session_token");
        sigv4_request_t req = {.method = "GET", .url = url};
        sigv4_result_t r;
        err_t e;
        sigv4_result_init(&r);
        if (sigv4_presign(&req, &p, &c, &r, &e) != ERR_OK)
            fail_msg("%s: %s", name, e.msg);
        char *sig = query_param(strchr(r.url, '?') + 1, "X-Amz-Signature");
        assert_non_null(sig);
        if (strcmp(sig, str(tc, "signature")) != 0)
            fail_msg("%s: signature %s, botocore %s\ncanonical request:\n%s", name, sig,
                     str(tc, "signature"), (char *)r.canonical_request.data);
        /* Every parameter botocore sent, with its value, is in ours. */
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(tc, "params"), k, v) {
            char key[64];
            snprintf(key, sizeof key, "%s", k);
            char *got = query_param(strchr(r.url, '?') + 1, key);
            char *exp = query_param(strchr(want, '?') + 1, key);
            if (!got || !exp || strcmp(got, exp) != 0)
                fail_msg("%s: %s=%s, botocore %s", name, key, got ? got : "(none)",
                         exp ? exp : "(none)");
            free(got);
            free(exp);
        }
        free(sig);
        sigv4_result_free(&r);
        free(url);
    }
    json_decref(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(header_signed_queries_sort_by_bytes_as_botocore),
        cmocka_unit_test(presign_with_lower_case_params_matches_botocore),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
