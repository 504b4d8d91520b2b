/* Tests for endpoint: regions, default and configured endpoints, S3
 * addressing and object URLs (checked against botocore's presign.json). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/endpoint.h"
#include "testutil.h"

/* A fake environment: NULL-terminated name, value pairs. */
static const char *fake_getenv(void *ctx, const char *name)
{
    const char *const *kv = ctx;
    for (; kv && kv[0]; kv += 2)
        if (strcmp(kv[0], name) == 0)
            return kv[1];
    return NULL;
}

static endpoint_options_t opts(const char *const *kv)
{
    endpoint_options_t o = {.getenv = fake_getenv, .getenv_ctx = (void *)kv};
    return o;
}

static void resolve_ok(endpoint_service_t svc, const endpoint_options_t *o,
                       endpoint_t *ep)
{
    err_t e;
    if (endpoint_resolve(svc, o, ep, &e) != ERR_OK)
        fail_msg("endpoint_resolve: %s", e.msg);
}

static void default_endpoints_follow_service_and_region(void **state)
{
    (void)state;
    static const char *const env[] = {"AWS_REGION", "us-west-2", NULL};
    static const struct {
        endpoint_service_t svc;
        const char *url, *signing;
    } want[] = {
        {ENDPOINT_SQS, "https://sqs.us-west-2.amazonaws.com", "sqs"},
        {ENDPOINT_S3, "https://s3.us-west-2.amazonaws.com", "s3"},
        {ENDPOINT_DYNAMODB, "https://dynamodb.us-west-2.amazonaws.com",
         "dynamodb"},
        {ENDPOINT_BEDROCK_RUNTIME,
         "https://bedrock-runtime.us-west-2.amazonaws.com", "bedrock"},
        {ENDPOINT_STS, "https://sts.us-west-2.amazonaws.com", "sts"},
    };
    endpoint_options_t o = opts(env);
    endpoint_t ep;
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        resolve_ok(want[i].svc, &o, &ep);
        assert_string_equal(ep.url, want[i].url);
        assert_string_equal(ep.signing_name, want[i].signing);
        assert_string_equal(ep.region, "us-west-2");
        assert_string_equal(ep.source, "default");
        assert_false(ep.custom);
        assert_int_equal(ep.port, 443);
    }
}

static void s3_in_us_east_1_uses_the_global_host(void **state)
{
    (void)state;
    static const char *const env[] = {"AWS_REGION", "us-east-1", NULL};
    endpoint_options_t o = opts(env);
    endpoint_t ep;
    resolve_ok(ENDPOINT_S3, &o, &ep);
    assert_string_equal(ep.host, "s3.amazonaws.com");
    resolve_ok(ENDPOINT_SQS, &o, &ep);
    assert_string_equal(ep.host, "sqs.us-east-1.amazonaws.com");
}

static void china_regions_use_amazonaws_com_cn(void **state)
{
    (void)state;
    static const char *const env[] = {"AWS_REGION", "cn-north-1", NULL};
    endpoint_options_t o = opts(env);
    endpoint_t ep;
    resolve_ok(ENDPOINT_BEDROCK_RUNTIME, &o, &ep);
    assert_string_equal(ep.url,
                        "https://bedrock-runtime.cn-north-1.amazonaws.com.cn");
    resolve_ok(ENDPOINT_S3, &o, &ep);
    assert_string_equal(ep.host, "s3.cn-north-1.amazonaws.com.cn");
}

static void region_comes_from_option_then_aws_region_then_default(void **state)
{
    (void)state;
    static const char *const both[] = {"AWS_REGION", "eu-west-1",
                                       "AWS_DEFAULT_REGION", "ap-south-1",
                                       NULL};
    static const char *const dflt[] = {"AWS_REGION", "", "AWS_DEFAULT_REGION",
                                       "ap-south-1", NULL};
    char r[64];
    endpoint_options_t o = opts(both);
    assert_int_equal(endpoint_region(&o, r, sizeof r, NULL), ERR_OK);
    assert_string_equal(r, "eu-west-1");
    o.region = "us-east-2";
    assert_int_equal(endpoint_region(&o, r, sizeof r, NULL), ERR_OK);
    assert_string_equal(r, "us-east-2");
    o = opts(dflt);
    assert_int_equal(endpoint_region(&o, r, sizeof r, NULL), ERR_OK);
    assert_string_equal(r, "ap-south-1");
}

static void missing_or_bad_region_is_a_config_error(void **state)
{
    (void)state;
    static const char *const none[] = {NULL};
    static const char *const bad[] = {"AWS_REGION", "US East 1", NULL};
    static const char *const bad2[] = {"AWS_DEFAULT_REGION", "eu_west", NULL};
    char r[64];
    err_t e;
    endpoint_options_t o = opts(none);
    endpoint_t ep;
    assert_int_equal(endpoint_region(&o, r, sizeof r, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "AWS_REGION"));
    assert_int_equal(endpoint_resolve(ENDPOINT_SQS, &o, &ep, &e), ERR_CONFIG);
    o = opts(bad);
    assert_int_equal(endpoint_region(&o, r, sizeof r, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "AWS_REGION: 'US East 1'"));
    o = opts(bad2);
    assert_int_equal(endpoint_region(&o, r, sizeof r, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "AWS_DEFAULT_REGION"));
}

static void per_service_endpoint_url_overrides_the_global_one(void **state)
{
    (void)state;
    static const char *const env[] = {
        "AWS_REGION", "us-east-1",
        "AWS_ENDPOINT_URL", "http://127.0.0.1:4566/",
        "AWS_ENDPOINT_URL_S3", "http://localhost:4568",
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "https://bedrock.test:8443/stand-in//",
        NULL};
    endpoint_options_t o = opts(env);
    endpoint_t ep;
    resolve_ok(ENDPOINT_S3, &o, &ep);
    assert_string_equal(ep.url, "http://localhost:4568");
    assert_string_equal(ep.source, "AWS_ENDPOINT_URL_S3");
    assert_true(ep.custom);
    resolve_ok(ENDPOINT_SQS, &o, &ep);
    assert_string_equal(ep.url, "http://127.0.0.1:4566");
    assert_string_equal(ep.authority, "127.0.0.1:4566");
    assert_string_equal(ep.source, "AWS_ENDPOINT_URL");
    assert_int_equal(ep.port, 4566);
    resolve_ok(ENDPOINT_BEDROCK_RUNTIME, &o, &ep);
    assert_string_equal(ep.url, "https://bedrock.test:8443/stand-in");
    assert_string_equal(ep.base_path, "/stand-in");
    assert_string_equal(ep.signing_name, "bedrock");
    /* The signing region stays the configured one. */
    assert_string_equal(ep.region, "us-east-1");
}

static void every_service_has_its_own_override_variable(void **state)
{
    (void)state;
    static const char *const names[] = {"SQS", "S3", "DYNAMODB",
                                        "BEDROCK_RUNTIME", "STS"};
    for (int s = 0; s < ENDPOINT__COUNT; s++) {
        char var[64];
        snprintf(var, sizeof var, "AWS_ENDPOINT_URL_%s", names[s]);
        const char *env[] = {"AWS_REGION", "us-west-2", var,
                             "http://127.0.0.1:9", NULL};
        endpoint_options_t o = opts(env);
        endpoint_t ep;
        assert_string_equal(endpoint_env_suffix((endpoint_service_t)s),
                            names[s]);
        resolve_ok((endpoint_service_t)s, &o, &ep);
        assert_string_equal(ep.url, "http://127.0.0.1:9");
        /* ... and only its own. */
        resolve_ok((endpoint_service_t)((s + 1) % ENDPOINT__COUNT), &o, &ep);
        assert_false(ep.custom);
    }
}

static void ignore_configured_endpoint_urls_restores_defaults(void **state)
{
    (void)state;
    static const char *const env[] = {
        "AWS_REGION", "us-west-2", "AWS_ENDPOINT_URL", "http://127.0.0.1:1",
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", NULL};
    endpoint_options_t o = opts(env);
    endpoint_t ep;
    resolve_ok(ENDPOINT_DYNAMODB, &o, &ep);
    assert_string_equal(ep.url, "https://dynamodb.us-west-2.amazonaws.com");
}

static void bad_endpoint_url_is_a_config_error_naming_the_variable(void **state)
{
    (void)state;
    static const struct {
        const char *var, *value, *needle;
    } bad[] = {
        {"AWS_ENDPOINT_URL_S3", "localhost:4566", "needs an http:// or https://"},
        {"AWS_ENDPOINT_URL", "127.0.0.1:4566", "needs an http:// or https://"},
        {"AWS_ENDPOINT_URL_SQS", "ftp://h/", "scheme must be http or https"},
        {"AWS_ENDPOINT_URL_SQS", "http:///", "missing host"},
        {"AWS_ENDPOINT_URL_SQS", "http://h:0/", "port"},
        {"AWS_ENDPOINT_URL_SQS", "http://h/?x=1", "no query"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *env[] = {"AWS_REGION", "us-west-2", bad[i].var,
                             bad[i].value, NULL};
        endpoint_options_t o = opts(env);
        endpoint_t ep;
        err_t e;
        endpoint_service_t svc = strstr(bad[i].var, "S3") ? ENDPOINT_S3
                                                          : ENDPOINT_SQS;
        assert_int_equal(endpoint_resolve(svc, &o, &ep, &e), ERR_CONFIG);
        if (!strstr(e.msg, bad[i].var) || !strstr(e.msg, bad[i].needle))
            fail_msg("%s=%s: message '%s'", bad[i].var, bad[i].value, e.msg);
    }
}

static void bucket_dns_compatibility(void **state)
{
    (void)state;
    static const char *const good[] = {"posters", "my-bucket", "a.b.c", "abc",
                                       "0-9"};
    static const char *const bad[] = {"ab", "MyBucket", "my_bucket", "-abc",
                                      "abc-", "a..b", "a.-b", "a-.b",
                                      "192.168.1.1", ".abc", "abc.",
                                      "this-bucket-name-is-much-too-long-to-"
                                      "be-a-dns-label-sixty-four-x"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        if (!endpoint_bucket_dns_compatible(good[i]))
            fail_msg("%s should be DNS-compatible", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (endpoint_bucket_dns_compatible(bad[i]))
            fail_msg("%s should not be DNS-compatible", bad[i]);
    assert_true(endpoint_host_is_ip_or_localhost("127.0.0.1"));
    assert_true(endpoint_host_is_ip_or_localhost("[::1]"));
    assert_true(endpoint_host_is_ip_or_localhost("localhost"));
    assert_true(endpoint_host_is_ip_or_localhost("s3.localhost"));
    assert_false(endpoint_host_is_ip_or_localhost("s3.amazonaws.com"));
    assert_false(endpoint_host_is_ip_or_localhost("1.2.3"));
    assert_false(endpoint_host_is_ip_or_localhost("1.2.3.256"));
}

static void s3_addressing_picks_path_style_when_it_must(void **state)
{
    (void)state;
    static const char *const aws[] = {"AWS_REGION", "us-west-2", NULL};
    static const char *const plain[] = {"AWS_REGION", "us-west-2",
                                        "AWS_ENDPOINT_URL_S3",
                                        "http://s3.example.test:9000", NULL};
    static const char *const ip[] = {"AWS_REGION", "us-west-2",
                                     "AWS_ENDPOINT_URL_S3",
                                     "http://10.0.0.5:9000", NULL};
    endpoint_options_t o = opts(aws);
    endpoint_t ep;
    char *url;
    resolve_ok(ENDPOINT_S3, &o, &ep);
    assert_false(endpoint_s3_path_style(&ep, "posters"));
    assert_true(endpoint_s3_path_style(&ep, "my.posters"));   /* https */
    assert_true(endpoint_s3_path_style(&ep, "My_Posters"));
    assert_int_equal(endpoint_s3_object_url(&ep, "my.posters", "a.png", &url,
                                            NULL), ERR_OK);
    assert_string_equal(url,
                        "https://s3.us-west-2.amazonaws.com/my.posters/a.png");
    free(url);
    o.s3_path_style = true;
    resolve_ok(ENDPOINT_S3, &o, &ep);
    assert_true(endpoint_s3_path_style(&ep, "posters"));

    /* A configured endpoint is path-style unless virtual is asked for, as
     * botocore's S3EndpointSetter does. */
    o = opts(plain);
    resolve_ok(ENDPOINT_S3, &o, &ep);
    assert_true(endpoint_s3_path_style(&ep, "posters"));
    o.s3_addressing = ENDPOINT_S3_VIRTUAL;
    resolve_ok(ENDPOINT_S3, &o, &ep);
    assert_false(endpoint_s3_path_style(&ep, "my.posters"));  /* http */
    assert_int_equal(endpoint_s3_object_url(&ep, "posters", "k", &url, NULL),
                     ERR_OK);
    assert_string_equal(url, "http://posters.s3.example.test:9000/k");
    free(url);
    o = opts(ip);
    resolve_ok(ENDPOINT_S3, &o, &ep);
    assert_true(endpoint_s3_path_style(&ep, "posters"));
}

static void object_urls_encode_keys_per_byte(void **state)
{
    (void)state;
    static const char *const env[] = {"AWS_REGION", "eu-west-1", NULL};
    endpoint_options_t o = opts(env);
    endpoint_t ep;
    char *url;
    err_t e;
    resolve_ok(ENDPOINT_S3, &o, &ep);
    assert_int_equal(endpoint_s3_object_url(&ep, "posters",
                                            "b 1/caf\xC3\xA9+x=y.png", &url,
                                            &e), ERR_OK);
    assert_string_equal(url, "https://posters.s3.eu-west-1.amazonaws.com/"
                             "b%201/caf%C3%A9%2Bx%3Dy.png");
    free(url);
    assert_int_equal(endpoint_s3_object_url(&ep, "posters", "", &url, &e),
                     ERR_OK);
    assert_string_equal(url, "https://posters.s3.eu-west-1.amazonaws.com/");
    free(url);
    assert_int_equal(endpoint_s3_object_url(&ep, "", "k", &url, &e),
                     ERR_INVALID);
    assert_null(url);
    assert_int_equal(endpoint_s3_object_url(&ep, "a/b", "k", &url, &e),
                     ERR_INVALID);
    assert_non_null(strstr(e.msg, "bucket"));
}

static void object_urls_match_botocore_presign_bases(void **state)
{
    (void)state;
    json_error_t je;
    json_t *root = json_load_file(tu_fixture("vectors/s3/presign.json"), 0,
                                  &je), *tc;
    size_t i;
    assert_non_null(root);
    json_array_foreach(json_object_get(root, "cases"), i, tc) {
        const char *endpoint =
            json_string_value(json_object_get(tc, "endpoint"));
        const char *env[] = {
            "AWS_REGION", json_string_value(json_object_get(tc, "region")),
            endpoint ? "AWS_ENDPOINT_URL_S3" : NULL, endpoint, NULL};
        endpoint_options_t o = opts(env);
        o.s3_path_style = strcmp(json_string_value(json_object_get(
                                     tc, "addressing_style")), "path") == 0;
        endpoint_t ep;
        char *url;
        resolve_ok(ENDPOINT_S3, &o, &ep);
        assert_int_equal(endpoint_s3_object_url(
                             &ep, json_string_value(json_object_get(tc, "bucket")),
                             json_string_value(json_object_get(tc, "key")),
                             &url, NULL), ERR_OK);
        const char *want = json_string_value(json_object_get(tc, "url"));
        size_t n = strcspn(want, "?");
        if (strlen(url) != n || strncmp(url, want, n) != 0)
            fail_msg("%s: %s, want %.*s",
                     json_string_value(json_object_get(tc, "name")), url,
                     (int)n, want);
        free(url);
    }
    json_decref(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_endpoints_follow_service_and_region),
        cmocka_unit_test(s3_in_us_east_1_uses_the_global_host),
        cmocka_unit_test(china_regions_use_amazonaws_com_cn),
        cmocka_unit_test(region_comes_from_option_then_aws_region_then_default),
        cmocka_unit_test(missing_or_bad_region_is_a_config_error),
        cmocka_unit_test(per_service_endpoint_url_overrides_the_global_one),
        cmocka_unit_test(every_service_has_its_own_override_variable),
        cmocka_unit_test(ignore_configured_endpoint_urls_restores_defaults),
        cmocka_unit_test(bad_endpoint_url_is_a_config_error_naming_the_variable),
        cmocka_unit_test(bucket_dns_compatibility),
        cmocka_unit_test(s3_addressing_picks_path_style_when_it_must),
        cmocka_unit_test(object_urls_encode_keys_per_byte),
        cmocka_unit_test(object_urls_match_botocore_presign_bases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
