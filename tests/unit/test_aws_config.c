/* test_aws_config — the shared config file's SDK settings, checked against
 * what botocore and the AWS SDKs document:
 *
 *  - endpoints ("Service-specific endpoints", AWS SDKs and Tools reference
 *    guide): AWS_ENDPOINT_URL_<SERVICE> > AWS_ENDPOINT_URL > the service's
 *    endpoint_url in the profile's [services NAME] section > the profile's
 *    endpoint_url > the default; AWS_IGNORE_CONFIGURED_ENDPOINT_URLS (else
 *    ignore_configured_endpoint_urls in the profile) turns all four off;
 *  - S3 addressing (botocore S3EndpointSetter): virtual-hosted for AWS,
 *    path-style for a configured endpoint URL unless addressing_style =
 *    virtual; `s3 =` / `  addressing_style = ...` read from the profile;
 *  - retries (botocore config_vars): AWS_RETRY_MODE / AWS_MAX_ATTEMPTS over
 *    retry_mode / max_attempts in the profile; any whole number of attempts
 *    (no upper bound); legacy refused rather than run as standard;
 *  - role chains: every AssumeRole goes to the session's region. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/aws.h"
#include "aws/aws_config.h"
#include "aws/creds.h"
#include "aws/ddb.h"
#include "aws/endpoint.h"
#include "aws/retry.h"
#include "fakeenv.h"
#include "testutil.h"

typedef struct {
    char *dir;
    char config[1024];
    fakeenv_t env;
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    f->dir = tu_mkdtemp();
    snprintf(f->config, sizeof f->config, "%s/config", f->dir);
    fakeenv_set(&f->env, "HOME", f->dir);
    fakeenv_set(&f->env, "AWS_CONFIG_FILE", f->config);
    fakeenv_set(&f->env, "AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/onesheet-creds");
    fakeenv_set(&f->env, "AWS_REGION", "us-west-2");
    fakeenv_set(&f->env, "AWS_ACCESS_KEY_ID", "AKIDEXAMPLE");
    fakeenv_set(&f->env, "AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* The endpoint URL an aws_env made over f's environment picks for svc;
 * "" with *err set when the env cannot be made. */
static const char *url_of(fx_t *f, endpoint_service_t svc, char *out, size_t cap,
                          err_t *err)
{
    aws_env_options_t o = {.getenv = fakeenv_get, .getenv_ctx = &f->env};
    aws_env_t *env = aws_env_new(&o, err);
    out[0] = '\0';
    if (!env)
        return out;
    aws_client_t *c = aws_client_new(env, svc, err);
    if (c)
        snprintf(out, cap, "%s", aws_client_endpoint(c)->url);
    aws_client_free(c);
    aws_env_free(env);
    return out;
}

static const char *url(fx_t *f, endpoint_service_t svc)
{
    static char buf[600];
    err_t e;
    err_clear(&e);
    url_of(f, svc, buf, sizeof buf, &e);
    if (!buf[0])
        fail_msg("no endpoint: %s", e.msg);
    return buf;
}

static const char *const full_config =
    "[default]\n"
    "region = us-west-2\n"
    "endpoint_url = http://127.0.0.1:9000\n"
    "services = local\n"
    "\n"
    "[services local]\n"
    "dynamodb =\n"
    "  endpoint_url = http://127.0.0.1:8000\n"
    "bedrock_runtime =\n"
    "  endpoint_url = http://127.0.0.1:8100/base/\n";

static void a_profile_endpoint_url_is_used_not_real_aws(void **state)
{
    fx_t *f = *state;
    tu_write_file(f->config, "[default]\nendpoint_url = http://127.0.0.1:8000\n");
    assert_string_equal(url(f, ENDPOINT_DYNAMODB), "http://127.0.0.1:8000");
    assert_string_equal(url(f, ENDPOINT_SQS), "http://127.0.0.1:8000");
}

static void endpoint_precedence_matches_the_sdk_table(void **state)
{
    fx_t *f = *state;
    tu_write_file(f->config, full_config);
    /* 4. the service's [services] entry beats 5. the profile's own. */
    assert_string_equal(url(f, ENDPOINT_DYNAMODB), "http://127.0.0.1:8000");
    assert_string_equal(url(f, ENDPOINT_BEDROCK_RUNTIME), "http://127.0.0.1:8100/base");
    assert_string_equal(url(f, ENDPOINT_SQS), "http://127.0.0.1:9000");
    /* 3. AWS_ENDPOINT_URL beats both config entries. */
    fakeenv_set(&f->env, "AWS_ENDPOINT_URL", "http://127.0.0.1:7000");
    assert_string_equal(url(f, ENDPOINT_DYNAMODB), "http://127.0.0.1:7000");
    /* 2. AWS_ENDPOINT_URL_<SERVICE> beats the global variable. */
    fakeenv_set(&f->env, "AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:6000");
    assert_string_equal(url(f, ENDPOINT_DYNAMODB), "http://127.0.0.1:6000");
    assert_string_equal(url(f, ENDPOINT_SQS), "http://127.0.0.1:7000");
}

static void ignore_configured_endpoint_urls_from_env_or_config(void **state)
{
    fx_t *f = *state;
    tu_write_file(f->config, full_config);
    fakeenv_set(&f->env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true");
    assert_string_equal(url(f, ENDPOINT_DYNAMODB), "https://dynamodb.us-west-2.amazonaws.com");
    fakeenv_set(&f->env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", NULL);
    tu_write_file(f->config, "[default]\nendpoint_url = http://127.0.0.1:9000\n"
                             "ignore_configured_endpoint_urls = true\n");
    assert_string_equal(url(f, ENDPOINT_SQS), "https://sqs.us-west-2.amazonaws.com");
    /* The variable, when set, decides over the file. */
    fakeenv_set(&f->env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "false");
    assert_string_equal(url(f, ENDPOINT_SQS), "http://127.0.0.1:9000");
}

static void the_named_profile_and_its_services_section_are_used(void **state)
{
    fx_t *f = *state;
    tu_write_file(f->config,
                  "[default]\nendpoint_url = http://127.0.0.1:1111\n"
                  "[profile dev]\nservices = dev-svc\n"
                  "[services dev-svc]\nsqs =\n  endpoint_url = http://127.0.0.1:2222\n"
                  "[profile services dev-svc]\nendpoint_url = http://127.0.0.1:3333\n");
    fakeenv_set(&f->env, "AWS_PROFILE", "dev");
    assert_string_equal(url(f, ENDPOINT_SQS), "http://127.0.0.1:2222");
    assert_string_equal(url(f, ENDPOINT_S3), "https://s3.us-west-2.amazonaws.com");
}

static void a_missing_services_section_or_bad_url_is_a_config_error(void **state)
{
    fx_t *f = *state;
    char buf[600];
    err_t e;
    tu_write_file(f->config, "[default]\nservices = nowhere\n");
    url_of(f, ENDPOINT_SQS, buf, sizeof buf, &e);
    assert_string_equal(buf, "");
    assert_int_equal(e.code, ERR_CONFIG);
    assert_non_null(strstr(e.msg, "[services nowhere]"));
    tu_write_file(f->config, "[default]\nendpoint_url = 127.0.0.1:8000\n");
    url_of(f, ENDPOINT_SQS, buf, sizeof buf, &e);
    assert_string_equal(buf, "");
    assert_int_equal(e.code, ERR_CONFIG);
    assert_non_null(strstr(e.msg, "config endpoint_url"));
}

/* Addressing decisions, botocore's S3EndpointSetter: AWS endpoint ->
 * virtual; any configured endpoint URL -> path unless virtual is set. */
static void s3_addressing_follows_botocore(void **state)
{
    (void)state;
    static const struct {
        const char *endpoint;          /* NULL: AWS */
        endpoint_s3_addressing_t style;
        const char *want;
    } cases[] = {
        {NULL, ENDPOINT_S3_AUTO, "https://posters.s3.us-west-2.amazonaws.com/k"},
        {NULL, ENDPOINT_S3_PATH, "https://s3.us-west-2.amazonaws.com/posters/k"},
        {NULL, ENDPOINT_S3_VIRTUAL, "https://posters.s3.us-west-2.amazonaws.com/k"},
        {"http://minio.internal:9000", ENDPOINT_S3_AUTO, "http://minio.internal:9000/posters/k"},
        {"https://s3.example.com/base", ENDPOINT_S3_AUTO, "https://s3.example.com/base/posters/k"},
        {"https://s3.example.com/base", ENDPOINT_S3_VIRTUAL,
         "https://posters.s3.example.com/base/k"},
        {"http://127.0.0.1:4568", ENDPOINT_S3_VIRTUAL, "http://127.0.0.1:4568/posters/k"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fakeenv_t env = {0};
        fakeenv_set(&env, "AWS_REGION", "us-west-2");
        fakeenv_set(&env, "AWS_ENDPOINT_URL_S3", cases[i].endpoint);
        endpoint_options_t o = {.getenv = fakeenv_get, .getenv_ctx = &env,
                                .s3_addressing = cases[i].style};
        endpoint_t ep;
        char *u = NULL;
        err_t e;
        assert_int_equal(endpoint_resolve(ENDPOINT_S3, &o, &ep, &e), ERR_OK);
        assert_int_equal(endpoint_s3_object_url(&ep, "posters", "k", &u, &e), ERR_OK);
        if (strcmp(u, cases[i].want) != 0)
            fail_msg("case %zu: %s, want %s", i, u, cases[i].want);
        free(u);
    }
    endpoint_s3_addressing_t s;
    assert_true(endpoint_s3_addressing_parse("virtual", &s));
    assert_int_equal(s, ENDPOINT_S3_VIRTUAL);
    assert_false(endpoint_s3_addressing_parse("Path", &s));
    assert_false(endpoint_s3_addressing_parse("", &s));
}

static void s3_addressing_style_is_read_from_the_profile(void **state)
{
    fx_t *f = *state;
    creds_options_t co = {.getenv = fakeenv_get, .getenv_ctx = &f->env};
    aws_config_t c;
    err_t e;
    tu_write_file(f->config, "[default]\ns3 =\n  addressing_style = virtual\n"
                             "  use_accelerate_endpoint = false\nregion = us-west-2\n");
    assert_int_equal(aws_config_load(&co, &c, &e), ERR_OK);
    assert_int_equal(c.s3_addressing, ENDPOINT_S3_VIRTUAL);
    aws_config_free(&c);
    tu_write_file(f->config, "[default]\ns3 =\n    addressing_style = path\n");
    assert_int_equal(aws_config_load(&co, &c, &e), ERR_OK);
    assert_int_equal(c.s3_addressing, ENDPOINT_S3_PATH);
    aws_config_free(&c);
    tu_write_file(f->config, "[default]\ns3 =\n  addressing_style = sideways\n");
    assert_int_equal(aws_config_load(&co, &c, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "addressing_style"));
    /* The top-level key of the same name is not the s3 sub-property. */
    tu_write_file(f->config, "[default]\naddressing_style = virtual\n");
    assert_int_equal(aws_config_load(&co, &c, &e), ERR_OK);
    assert_int_equal(c.s3_addressing, ENDPOINT_S3_AUTO);
    aws_config_free(&c);

    /* And through aws_env_new, with a custom endpoint. */
    fakeenv_set(&f->env, "AWS_ENDPOINT_URL_S3", "https://s3.example.com");
    tu_write_file(f->config, "[default]\ns3 =\n  addressing_style = virtual\n");
    aws_env_options_t o = {.getenv = fakeenv_get, .getenv_ctx = &f->env};
    aws_env_t *env = aws_env_new(&o, &e);
    assert_non_null(env);
    aws_client_t *cl = aws_client_new(env, ENDPOINT_S3, &e);
    assert_non_null(cl);
    assert_false(endpoint_s3_path_style(aws_client_endpoint(cl), "posters"));
    aws_client_free(cl);
    aws_env_free(env);
}

static const char *no_env(const char *name, void *ud)
{
    (void)name;
    (void)ud;
    return NULL;
}

static const char *table_env(const char *name, void *ud)
{
    const char *const *kv = ud;
    for (; kv[0]; kv += 2)
        if (strcmp(kv[0], name) == 0)
            return kv[1];
    return NULL;
}

static void retry_settings_come_from_config_below_the_variables(void **state)
{
    (void)state;
    retry_options_t o;
    err_t e;
    assert_int_equal(retry_options_from_config(&o, no_env, NULL, "adaptive", "7", &e), ERR_OK);
    assert_int_equal(o.mode, RETRY_ADAPTIVE);
    assert_int_equal(o.max_attempts, 7);
    const char *env[] = {"AWS_RETRY_MODE", "standard", "AWS_MAX_ATTEMPTS", "2", NULL};
    assert_int_equal(retry_options_from_config(&o, table_env, env, "adaptive", "7", &e),
                     ERR_OK);
    assert_int_equal(o.mode, RETRY_STANDARD);
    assert_int_equal(o.max_attempts, 2);
    /* botocore takes any whole number: above 100 is kept, 0 is one try. */
    const char *many[] = {"AWS_MAX_ATTEMPTS", "150", NULL};
    assert_int_equal(retry_options_from_config(&o, table_env, many, NULL, NULL, &e), ERR_OK);
    assert_int_equal(o.max_attempts, 150);
    assert_int_equal(retry_options_from_config(&o, no_env, NULL, NULL, "0", &e), ERR_OK);
    assert_int_equal(o.max_attempts, 1);
    /* Not a number: an error naming where it came from. */
    assert_int_equal(retry_options_from_config(&o, no_env, NULL, NULL, "lots", &e),
                     ERR_CONFIG);
    assert_non_null(strstr(e.msg, "max_attempts in the AWS config file"));
    const char *neg[] = {"AWS_MAX_ATTEMPTS", "-1", NULL};
    assert_int_equal(retry_options_from_config(&o, table_env, neg, NULL, NULL, &e),
                     ERR_CONFIG);
    assert_non_null(strstr(e.msg, "AWS_MAX_ATTEMPTS"));
    /* legacy is refused, not silently standard. */
    const char *legacy[] = {"AWS_RETRY_MODE", "legacy", NULL};
    assert_int_equal(retry_options_from_config(&o, table_env, legacy, NULL, NULL, &e),
                     ERR_CONFIG);
    assert_non_null(strstr(e.msg, "legacy"));
    assert_int_equal(retry_options_from_config(&o, no_env, NULL, "legacy", NULL, &e),
                     ERR_CONFIG);
    assert_non_null(strstr(e.msg, "retry_mode in the AWS config file"));
}

static void aws_env_reads_retry_settings_from_the_profile(void **state)
{
    fx_t *f = *state;
    err_t e;
    aws_env_options_t o = {.getenv = fakeenv_get, .getenv_ctx = &f->env};
    tu_write_file(f->config, "[default]\nretry_mode = legacy\n");
    assert_null(aws_env_new(&o, &e));
    assert_int_equal(e.code, ERR_CONFIG);
    assert_non_null(strstr(e.msg, "retry_mode"));
    tu_write_file(f->config, "[default]\nmax_attempts = 250\nretry_mode = adaptive\n");
    aws_env_t *env = aws_env_new(&o, &e);
    assert_non_null(env);
    aws_env_free(env);
}

static void sts_region_is_the_sessions(void **state)
{
    (void)state;
    fakeenv_t env = {0};
    creds_options_t co = {.getenv = fakeenv_get, .getenv_ctx = &env};
    /* No variables: the active profile's region (what the chain passes). */
    assert_string_equal(creds_sts_region(&co, "eu-west-1"), "eu-west-1");
    assert_null(creds_sts_region(&co, NULL));
    /* The session's region (variables) beats any profile's. */
    fakeenv_set(&env, "AWS_DEFAULT_REGION", "ap-south-1");
    assert_string_equal(creds_sts_region(&co, "eu-west-1"), "ap-south-1");
    fakeenv_set(&env, "AWS_REGION", "us-east-2");
    assert_string_equal(creds_sts_region(&co, "eu-west-1"), "us-east-2");
    co.region = "ca-central-1";
    assert_string_equal(creds_sts_region(&co, "eu-west-1"), "ca-central-1");
}

/* DynamoDB numbers as botocore's TypeSerializer writes a Decimal of the
 * price: the shortest decimal that is the same double. */
static void ddb_numbers_are_the_shortest_round_trip_decimal(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        {0.08, "0.08"}, {0.04, "0.04"}, {0.14, "0.14"}, {0.01, "0.01"},
        {0.1 + 0.2, "0.30000000000000004"}, {80.0, "80"}, {0, "0"},
        {1e-7, "1e-07"}, {3 * 0.04, "0.12"},
    };
    char out[40];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ddb_d_format(cases[i].v, out, sizeof out);
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("%.17g: %s, want %s", cases[i].v, out, cases[i].want);
        assert_true(strtod(out, NULL) == cases[i].v);
    }
    ddb_d_format(1.0 / 0.0, out, sizeof out);
    assert_string_equal(out, "0");
    json_t *n = ddb_d(0.08);
    assert_string_equal(json_string_value(json_object_get(n, "N")), "0.08");
    json_decref(n);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(a_profile_endpoint_url_is_used_not_real_aws),
        T(endpoint_precedence_matches_the_sdk_table),
        T(ignore_configured_endpoint_urls_from_env_or_config),
        T(the_named_profile_and_its_services_section_are_used),
        T(a_missing_services_section_or_bad_url_is_a_config_error),
        cmocka_unit_test(s3_addressing_follows_botocore),
        T(s3_addressing_style_is_read_from_the_profile),
        cmocka_unit_test(retry_settings_come_from_config_below_the_variables),
        T(aws_env_reads_retry_settings_from_the_profile),
        cmocka_unit_test(sts_region_is_the_sessions),
        cmocka_unit_test(ddb_numbers_are_the_shortest_round_trip_decimal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
