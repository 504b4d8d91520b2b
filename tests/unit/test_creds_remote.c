/* Tests for the credential sources that talk HTTP — EC2 IMDSv2, the
 * container endpoint, STS AssumeRole and AssumeRoleWithWebIdentity — and for
 * the whole chain's order, all against one loopback fake AWS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aws/creds.h"
#include "fakeenv.h"
#include "fakeserver.h"
#include "base/redact.h"
#include "aws/sigv4.h"
#include "testutil.h"

#define NOW 1714564800LL   /* 2024-05-01T12:00:00Z */
#define BASE_SECRET "baseSecretXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
#define IMDS_TOKEN "IMDSTOKEN-0123456789abcdef"

/* ---- The fake AWS: IMDS under /latest/, the container endpoint at
 * /container/creds, STS at POST /.  Guarded by mu. */
typedef struct {
    pthread_mutex_t mu;
    bool imds_v1_only;       /* token PUT refused; tokenless GETs would work */
    int imds_put_status;     /* when v1 only: 403, 404 or 405 */
    fake_action_t imds_action;
    long imds_stall_ms;
    bool imds_bad_json;
    int imds_puts, imds_gets, imds_gets_without_token;
    const char *container_auth;
    char container_seen_auth[256];
    int container_calls;
    const char *sts_error;   /* answer this error code with 403 */
    int sts_calls;
    char sts_body[4096];
    char sts_auth[1024];
    bool sts_signed_ok;
    char sts_verify_msg[512];
    int sts_signed_calls;    /* calls whose signature verified */
} aws_fake_t;

static aws_fake_t fake;

static void copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

static const char *cred_json(void)
{
    return "{\"Code\":\"Success\",\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"AKIDREMOTE\","
           "\"SecretAccessKey\":\"remoteSecretXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\","
           "\"Token\":\"remoteTokenXXXXXXXXXXXX\",\"Expiration\":\"2024-05-01T18:00:00Z\"}";
}

static void imds(const fake_request_t *req, fake_response_t *resp)
{
    const char *tok = fake_request_header(req, "X-aws-ec2-metadata-token");
    bool has = tok && strcmp(tok, IMDS_TOKEN) == 0;

    if (strcmp(req->method, "PUT") == 0 && strcmp(req->path, "/latest/api/token") == 0) {
        fake.imds_puts++;
        resp->action = fake.imds_action;
        resp->stall_ms = fake.imds_stall_ms;
        if (fake.imds_action == FAKE_GARBAGE)
            fake_response_raw(resp, "\x16\x03\x01 not http at all\r\n\r\n", 24);
        if (fake.imds_v1_only)
            resp->status = fake.imds_put_status;
        else if (!fake_request_header(req, "X-aws-ec2-metadata-token-ttl-seconds"))
            resp->status = 400;
        else
            fake_response_body(resp, IMDS_TOKEN, strlen(IMDS_TOKEN));
        return;
    }
    fake.imds_gets++;
    if (!has) {
        fake.imds_gets_without_token++;
        if (!fake.imds_v1_only) {
            resp->status = 401;
            return;
        }
    }
    if (strcmp(req->path, "/latest/meta-data/iam/security-credentials/") == 0)
        fake_response_bodyf(resp, "poster-role\n");
    else if (strcmp(req->path, "/latest/meta-data/iam/security-credentials/poster-role") == 0)
        fake_response_json(resp, 200, fake.imds_bad_json
            ? "{\"Code\":\"Success\",\"AccessKeyId\":\"AKIDREMOTE\",\"SecretAccessKey\":"
              "\"remoteSecretXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\",\"Expiration\":\"later\"}"
            : cred_json());
    else
        resp->status = 404;
}

static void sts(const fake_request_t *req, fake_response_t *resp)
{
    http_header_t h[FAKE_MAX_HEADERS];
    sigv4_credentials_t base = {"AKIDBASE", BASE_SECRET, NULL};
    sigv4_verify_opts_t vo = {.now = (time_t)NOW, .region = "us-west-2", .service = "sts"};
    sigv4_request_t sr = {.method = req->method, .path = req->path, .query = req->query,
                          .headers = h, .nheaders = req->nheaders, .body = req->body,
                          .body_len = req->body_len};
    bool web = strstr(req->body, "Action=AssumeRoleWithWebIdentity") != NULL;
    err_t e;

    fake.sts_calls++;
    copy(fake.sts_body, sizeof fake.sts_body, req->body);
    copy(fake.sts_auth, sizeof fake.sts_auth, fake_request_header(req, "Authorization"));
    for (size_t i = 0; i < req->nheaders; i++)
        h[i] = (http_header_t){req->headers[i].name, req->headers[i].value};
    err_clear(&e);
    fake.sts_signed_ok = !web && sigv4_verify(&sr, &base, &vo, NULL, &e) == ERR_OK;
    if (!web && !fake.sts_signed_ok &&
        strstr(fake_request_header(req, "Authorization") ? fake_request_header(req, "Authorization")
                                                         : "", "Credential=AKIDASSUMED/")) {
        /* The next hop of a role chain signs with what the last one gave. */
        sigv4_credentials_t hop = {"AKIDASSUMED", "stsSecret/XXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
                                   "stsToken+XXXX/XXXX="};
        err_clear(&e);
        fake.sts_signed_ok = sigv4_verify(&sr, &hop, &vo, NULL, &e) == ERR_OK;
    }
    fake.sts_signed_calls += fake.sts_signed_ok;
    copy(fake.sts_verify_msg, sizeof fake.sts_verify_msg, e.msg);
    if (fake.sts_error || (!web && !fake.sts_signed_ok)) {
        resp->status = 403;
        fake_response_bodyf(resp, "<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code>"
                            "<Message>not allowed &amp; never will be (secret was %s)</Message>"
                            "</Error></ErrorResponse>",
                            fake.sts_error ? fake.sts_error : "SignatureDoesNotMatch",
                            BASE_SECRET);
        return;
    }
    fake_response_header(resp, "Content-Type", "text/xml");
    fake_response_bodyf(resp,
        "<%sResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><%sResult>"
        "<Credentials><AccessKeyId>AKID%s</AccessKeyId>"
        "<SecretAccessKey>stsSecret/XXXXXXXXXXXXXXXXXXXXXXXXXXXXXX</SecretAccessKey>"
        "<SessionToken>stsToken+XXXX/XXXX=</SessionToken>"
        "<Expiration>2024-05-01T13:00:00Z</Expiration></Credentials>"
        "</%sResult></%sResponse>",
        web ? "AssumeRoleWithWebIdentity" : "AssumeRole",
        web ? "AssumeRoleWithWebIdentity" : "AssumeRole", web ? "WEB" : "ASSUMED",
        web ? "AssumeRoleWithWebIdentity" : "AssumeRole",
        web ? "AssumeRoleWithWebIdentity" : "AssumeRole");
}

static void handler(const fake_request_t *req, fake_response_t *resp, void *ud)
{
    (void)ud;
    pthread_mutex_lock(&fake.mu);
    if (strncmp(req->path, "/latest/", 8) == 0) {
        imds(req, resp);
    } else if (strcmp(req->path, "/container/creds") == 0) {
        const char *a = fake_request_header(req, "Authorization");
        fake.container_calls++;
        copy(fake.container_seen_auth, sizeof fake.container_seen_auth, a);
        if (fake.container_auth && (!a || strcmp(a, fake.container_auth) != 0))
            resp->status = 401;
        else
            fake_response_json(resp, 200, cred_json());
    } else if (strcmp(req->method, "POST") == 0 && strcmp(req->path, "/") == 0) {
        sts(req, resp);
    } else {
        resp->status = 404;
    }
    pthread_mutex_unlock(&fake.mu);
}

/* ---- Fixture: an injected environment and home directory. */
static int64_t fixed_now(void *ctx)
{
    (void)ctx;
    return NOW;
}

typedef struct {
    char *home;
    fakeenv_t env;
    creds_options_t opts;
    fake_server_t *fs;
    char url[256], paths[4][1024];
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);

    memset(&fake, 0, sizeof fake);
    pthread_mutex_init(&fake.mu, NULL);
    f->home = tu_mkdtemp();
    snprintf(f->paths[0], sizeof f->paths[0], "%s/.aws", f->home);
    mkdir(f->paths[0], 0700);
    f->fs = fake_server_start(handler, NULL);
    assert_non_null(f->fs);
    copy(f->url, sizeof f->url, fake_server_url(f->fs));
    fakeenv_set(&f->env, "AWS_EC2_METADATA_SERVICE_ENDPOINT", f->url);
    fakeenv_set(&f->env, "AWS_ENDPOINT_URL_STS", f->url);
    fakeenv_set(&f->env, "AWS_REGION", "us-west-2");
    f->opts.getenv = fakeenv_get;
    f->opts.getenv_ctx = &f->env;
    f->opts.home = f->home;
    f->opts.now = fixed_now;
    redact_reset();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    fake_server_stop(f->fs);
    tu_rmtree(f->home);
    free(f->home);
    free(f);
    redact_reset();
    return 0;
}

/* Writes text to HOME/rel; returns the path (slot i of 4). */
static const char *put(fx_t *f, int i, const char *rel, const char *text)
{
    snprintf(f->paths[i], sizeof f->paths[i], "%s/%s", f->home, rel);
    tu_write_file(f->paths[i], text);
    return f->paths[i];
}

static double since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void imds_v2_sends_the_token_on_every_read(void **state)
{
    fx_t *f = *state;
    creds_t c;
    err_t e;

    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_OK);
    assert_string_equal(c.source, CREDS_SRC_IMDS);
    assert_string_equal(c.access_key_id, "AKIDREMOTE");
    assert_string_equal(c.session_token, "remoteTokenXXXXXXXXXXXX");
    assert_int_equal(c.expiration, NOW + 6 * 3600);
    assert_int_equal(fake.imds_puts, 1);
    assert_int_equal(fake.imds_gets, 2);
    assert_int_equal(fake.imds_gets_without_token, 0);
    creds_free(&c);
}

static void imds_never_falls_back_to_v1(void **state)
{
    fx_t *f = *state;
    static const int refusals[] = {403, 404, 405};
    for (size_t i = 0; i < 3; i++) {
        creds_t c;
        err_t e;
        fake.imds_v1_only = true;
        fake.imds_put_status = refusals[i];
        assert_int_not_equal(creds_from_imds(&f->opts, &c, &e), ERR_OK);
        assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_AUTH);
        assert_non_null(strstr(e.msg, "imds"));
        assert_null(c.access_key_id);
    }
    /* A tokenless GET would have worked; none was ever made. */
    assert_int_equal(fake.imds_puts, 6);
    assert_int_equal(fake.imds_gets, 0);
    assert_int_equal(fake.imds_gets_without_token, 0);
}

static void imds_disabled_is_never_contacted(void **state)
{
    fx_t *f = *state;
    creds_t c;
    err_t e;

    fakeenv_set(&f->env, "AWS_EC2_METADATA_DISABLED", "TRUE");
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_AUTH);
    assert_non_null(strstr(e.msg, "AWS_EC2_METADATA_DISABLED"));
    assert_int_equal(fake_server_requests(f->fs), 0);
}

static void slow_imds_falls_through_quickly(void **state)
{
    fx_t *f = *state;
    struct timespec t0;
    creds_t c;
    err_t e;

    fake.imds_stall_ms = 10000;
    f->opts.imds_timeout_ms = 300;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_AUTH);
    assert_true(since(&t0) < 2.0);
    assert_non_null(strstr(e.msg, "imds"));
    /* The default is short too: one second, not the HTTP default. */
    f->opts.imds_timeout_ms = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(creds_from_imds(&f->opts, &c, &e), ERR_TIMEOUT);
    assert_true(since(&t0) < 3.0);
}

static void garbage_speaking_imds_falls_through(void **state)
{
    fx_t *f = *state;
    creds_t c;
    err_t e;

    fake.imds_action = FAKE_GARBAGE;
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_AUTH);
    assert_non_null(strstr(e.msg, "imds"));
    fake.imds_action = FAKE_RESET;
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_AUTH);
    fake.imds_action = FAKE_SEND;
    fake.imds_bad_json = true;
    assert_int_equal(creds_from_imds(&f->opts, &c, &e), ERR_INVALID);
    assert_null(strstr(e.msg, "remoteSecret"));
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_AUTH);
    assert_null(c.access_key_id);
}

static void container_full_uri_sends_the_auth_token(void **state)
{
    fx_t *f = *state;
    char uri[300];
    creds_t c;
    err_t e;

    snprintf(uri, sizeof uri, "%s/container/creds", f->url);
    fakeenv_set(&f->env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", uri);
    fakeenv_set(&f->env, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "Basic Y29udGFpbmVyLXRva2Vu");
    fake.container_auth = "Basic Y29udGFpbmVyLXRva2Vu";
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_OK);
    assert_string_equal(c.source, CREDS_SRC_CONTAINER);
    assert_string_equal(c.access_key_id, "AKIDREMOTE");
    creds_free(&c);
    /* The endpoint refusing the token stops the chain: IMDS is not asked. */
    fakeenv_set(&f->env, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "Basic d3Jvbmc=");
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_AUTH);
    assert_non_null(strstr(e.msg, "HTTP 401"));
    assert_int_equal(fake.imds_puts, 0);
}

static void container_token_file_wins_and_is_reread(void **state)
{
    fx_t *f = *state;
    char uri[300];
    creds_t c;
    err_t e;

    snprintf(uri, sizeof uri, "%s/container/creds", f->url);
    fakeenv_set(&f->env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", uri);
    fakeenv_set(&f->env, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "from-the-variable");
    fakeenv_set(&f->env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
             put(f, 0, "eks-token", "eks-pod-identity-token-1\n"));
    fake.container_auth = "eks-pod-identity-token-1";
    assert_int_equal(creds_from_container(&f->opts, &c, &e), ERR_OK);
    creds_free(&c);
    put(f, 0, "eks-token", "eks-pod-identity-token-2");
    fake.container_auth = "eks-pod-identity-token-2";
    assert_int_equal(creds_from_container(&f->opts, &c, &e), ERR_OK);
    assert_string_equal(fake.container_seen_auth, "eks-pod-identity-token-2");
    creds_free(&c);
    put(f, 0, "eks-token", "line-one\r\nX-Injected: yes");
    assert_int_equal(creds_from_container(&f->opts, &c, &e), ERR_CONFIG);
}

static void container_relative_uri_goes_to_the_ecs_endpoint(void **state)
{
    fx_t *f = *state;
    creds_t c;
    err_t e;

    f->opts.container_endpoint = f->url;
    fakeenv_set(&f->env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/container/creds");
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_OK);
    assert_string_equal(c.source, CREDS_SRC_CONTAINER);
    assert_int_equal(fake.container_calls, 1);
    assert_string_equal(fake.container_seen_auth, "");
    creds_free(&c);
}

static void container_full_uri_must_be_https_loopback_or_link_local(void **state)
{
    fx_t *f = *state;
    static const char *const bad[] = {
        "http://example.com/creds", "http://169.254.170.3/creds",
        "http://10.0.0.1/creds", "ftp://127.0.0.1/creds", "not a url",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        creds_t c;
        err_t e;
        fakeenv_set(&f->env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", bad[i]);
        if (creds_from_container(&f->opts, &c, &e) != ERR_CONFIG)
            fail_msg("%s was accepted", bad[i]);
        assert_non_null(strstr(e.msg, "AWS_CONTAINER_CREDENTIALS_FULL_URI"));
    }
    assert_int_equal(fake_server_requests(f->fs), 0);
}

static void assume_role_is_sigv4_signed_with_the_source_profile(void **state)
{
    fx_t *f = *state;
    creds_t c;
    err_t e;

    put(f, 0, ".aws/config",
        "[profile poster]\nrole_arn = arn:aws:iam::123456789012:role/poster\n"
        "source_profile = base\nrole_session_name = sess1\nexternal_id = ext-1\n"
        "duration_seconds = 1800\n");
    put(f, 1, ".aws/credentials",
        "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = " BASE_SECRET "\n");
    fakeenv_set(&f->env, "AWS_PROFILE", "poster");
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_OK);
    assert_string_equal(c.source, CREDS_SRC_ASSUME_ROLE);
    assert_string_equal(c.access_key_id, "AKIDASSUMED");
    assert_string_equal(c.session_token, "stsToken+XXXX/XXXX=");
    assert_int_equal(c.expiration, NOW + 3600);
    creds_free(&c);
    if (!fake.sts_signed_ok)
        fail_msg("signature rejected: %s", fake.sts_verify_msg);
    assert_non_null(strstr(fake.sts_auth, "AWS4-HMAC-SHA256 Credential="
                                          "AKIDBASE/20240501/us-west-2/sts/aws4_request"));
    assert_non_null(strstr(fake.sts_body, "Action=AssumeRole&"));
    assert_non_null(strstr(fake.sts_body, "Version=2011-06-15"));
    assert_non_null(strstr(fake.sts_body,
                           "RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fposter"));
    assert_non_null(strstr(fake.sts_body, "RoleSessionName=sess1"));
    assert_non_null(strstr(fake.sts_body, "ExternalId=ext-1"));
    assert_non_null(strstr(fake.sts_body, "DurationSeconds=1800"));
}

/* botocore makes one STS client for the whole chain, in the session's
 * region (the variables, else the active profile's region): the middle
 * hop is not signed for the middle profile's region. */
static void a_role_chain_signs_every_hop_for_the_session_region(void **state)
{
    fx_t *f = *state;
    creds_t c;
    err_t e;

    put(f, 0, ".aws/config",
        "[profile top]\nregion = us-west-2\nrole_arn = arn:aws:iam::123456789012:role/top\n"
        "source_profile = middle\nrole_session_name = s-top\n"
        "[profile middle]\nregion = eu-west-1\n"
        "role_arn = arn:aws:iam::123456789012:role/middle\nsource_profile = base\n"
        "role_session_name = s-middle\n");
    put(f, 1, ".aws/credentials",
        "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = " BASE_SECRET "\n");
    fakeenv_set(&f->env, "AWS_REGION", NULL);
    fakeenv_set(&f->env, "AWS_PROFILE", "top");
    if (creds_resolve(&f->opts, &c, &e) != ERR_OK)
        fail_msg("chain: %s (last STS verify: %s)", e.msg, fake.sts_verify_msg);
    assert_string_equal(c.access_key_id, "AKIDASSUMED");
    creds_free(&c);
    assert_int_equal(fake.sts_calls, 2);
    assert_int_equal(fake.sts_signed_calls, 2);
    assert_non_null(strstr(fake.sts_auth, "Credential=AKIDASSUMED/20240501/us-west-2/sts/"));
    assert_non_null(strstr(fake.sts_body, "RoleSessionName=s-top"));
}

static void assume_role_failures_are_clear_and_secret_free(void **state)
{
    fx_t *f = *state;
    creds_t c;
    err_t e;

    put(f, 0, ".aws/config",
        "[profile poster]\nrole_arn = arn:aws:iam::123456789012:role/poster\n"
        "source_profile = base\n"
        "[profile loop1]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = loop2\n"
        "[profile loop2]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = loop1\n"
        "[profile orphan]\nrole_arn = arn:aws:iam::1:role/c\nsource_profile = ghost\n");
    put(f, 1, ".aws/credentials",
        "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = " BASE_SECRET "\n");
    fakeenv_set(&f->env, "AWS_PROFILE", "poster");
    fake.sts_error = "AccessDenied";
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_AUTH);
    assert_string_equal(e.service_code, "AccessDenied");
    assert_int_equal(e.http_status, 403);
    assert_non_null(strstr(e.msg, "not allowed & never will be"));
    assert_null(strstr(e.msg, BASE_SECRET));
    fakeenv_set(&f->env, "AWS_PROFILE", "loop1");
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "loops"));
    fakeenv_set(&f->env, "AWS_PROFILE", "orphan");
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "'ghost' not found"));
}

static void web_identity_from_env_is_unsigned(void **state)
{
    fx_t *f = *state;
    creds_t c;
    err_t e;

    fakeenv_set(&f->env, "AWS_WEB_IDENTITY_TOKEN_FILE",
             put(f, 0, "token.jwt", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJwb2QifQ.c2ln\n"));
    fakeenv_set(&f->env, "AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/irsa");
    fakeenv_set(&f->env, "AWS_ROLE_SESSION_NAME", "pod-7");
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_OK);
    assert_string_equal(c.source, CREDS_SRC_WEB_IDENTITY);
    assert_string_equal(c.access_key_id, "AKIDWEB");
    creds_free(&c);
    assert_string_equal(fake.sts_auth, "");
    assert_non_null(strstr(fake.sts_body, "Action=AssumeRoleWithWebIdentity&"));
    assert_non_null(strstr(fake.sts_body, "RoleSessionName=pod-7"));
    assert_non_null(strstr(fake.sts_body,
                           "WebIdentityToken=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJwb2QifQ.c2ln"));
    /* A missing token file is an error, not a fall-through. */
    fakeenv_set(&f->env, "AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token");
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_NOINPUT);
}

static void web_identity_from_a_profile(void **state)
{
    fx_t *f = *state;
    char conf[1400];
    creds_t c;
    err_t e;

    put(f, 1, "wi.jwt", "header.payload.signature");
    snprintf(conf, sizeof conf, "[default]\nrole_arn = arn:aws:iam::1:role/wi\n"
             "web_identity_token_file = %s\n", f->paths[1]);
    put(f, 0, ".aws/config", conf);
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_OK);
    assert_string_equal(c.source, CREDS_SRC_WEB_IDENTITY);
    assert_non_null(strstr(fake.sts_body, "RoleSessionName=onesheet-1714564800"));
    creds_free(&c);
}

/* env > files > web identity > container > IMDS, each removed in turn. */
static void chain_order_is_env_files_web_identity_container_imds(void **state)
{
    fx_t *f = *state;
    char uri[300];
    static const char *const want[] = {
        CREDS_SRC_ENV, CREDS_SRC_PROFILE, CREDS_SRC_WEB_IDENTITY, CREDS_SRC_CONTAINER,
        CREDS_SRC_IMDS,
    };
    creds_t c;
    err_t e;

    fakeenv_set(&f->env, "AWS_ACCESS_KEY_ID", "AKIDENV");
    fakeenv_set(&f->env, "AWS_SECRET_ACCESS_KEY", "envSecretXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX");
    put(f, 0, ".aws/credentials",
        "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = fileSecretXXXXXXXX\n");
    fakeenv_set(&f->env, "AWS_WEB_IDENTITY_TOKEN_FILE", put(f, 1, "t.jwt", "a.b.c"));
    fakeenv_set(&f->env, "AWS_ROLE_ARN", "arn:aws:iam::1:role/x");
    snprintf(uri, sizeof uri, "%s/container/creds", f->url);
    fakeenv_set(&f->env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", uri);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_OK);
        if (strcmp(c.source, want[i]) != 0)
            fail_msg("step %zu: got %s, want %s", i, c.source, want[i]);
        creds_free(&c);
        if (i == 0) {
            fakeenv_set(&f->env, "AWS_ACCESS_KEY_ID", NULL);
            fakeenv_set(&f->env, "AWS_SECRET_ACCESS_KEY", NULL);
        } else if (i == 1) {
            unlink(f->paths[0]);
        } else if (i == 2) {
            fakeenv_set(&f->env, "AWS_ROLE_ARN", NULL);
        } else if (i == 3) {
            fakeenv_set(&f->env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", NULL);
        }
    }
    assert_int_equal(fake.container_calls, 1);
    assert_int_equal(fake.imds_puts, 1);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(imds_v2_sends_the_token_on_every_read),
        T(imds_never_falls_back_to_v1),
        T(imds_disabled_is_never_contacted),
        T(slow_imds_falls_through_quickly),
        T(garbage_speaking_imds_falls_through),
        T(container_full_uri_sends_the_auth_token),
        T(container_token_file_wins_and_is_reread),
        T(container_relative_uri_goes_to_the_ecs_endpoint),
        T(container_full_uri_must_be_https_loopback_or_link_local),
        T(assume_role_is_sigv4_signed_with_the_source_profile),
        T(a_role_chain_signs_every_hop_for_the_session_region),
        T(assume_role_failures_are_clear_and_secret_free),
        T(web_identity_from_env_is_unsigned),
        T(web_identity_from_a_profile),
        T(chain_order_is_env_files_web_identity_container_imds),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
