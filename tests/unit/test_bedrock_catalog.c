/* Tests for the lifecycle-aware model list (issue 23): the
 * ListFoundationModels parser against the documented shape and bad input,
 * the judgement of a model (active, legacy, unlisted), and the fetch with
 * its cache and fallback, against the Bedrock stand-in run in this process
 * (which verifies every signature). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "aws/aws.h"
#include "engine/bedrock_catalog.h"
#include "engine/bedrock_catalog_fetch.h"
#include "engine/bedrock_models.h"
#include "fakeaws.h"
#include "testutil.h"

#define BEDROCK_STANDIN_NO_MAIN
#include "../tools/bedrock_standin.c"

#define AKID "AKIDCATALOGTEST"
#define SECRET "catalogTestSecretKey0123456789abcdefWXYZ"

static err_code_t parse(const char *text, bedrock_catalog_t *c, err_t *e)
{
    bedrock_catalog_init(c);
    return bedrock_catalog_parse(text, strlen(text), c, e);
}

static void parses_the_documented_reply_shape(void **state)
{
    size_t len;
    char *text = tu_read_file(tu_fixture("bedrock/list_foundation_models.json"), &len);
    bedrock_catalog_t c;
    err_t e;
    assert_non_null(text);
    bedrock_catalog_init(&c);
    assert_int_equal(bedrock_catalog_parse(text, len, &c, &e), ERR_OK);
    assert_int_equal(c.n, 3);          /* the embedding model is skipped */
    const bedrock_listed_t *m = bedrock_catalog_find(&c, "us.stability.stable-image-core-v1:1");
    assert_non_null(m);
    assert_string_equal(m->id, "stability.stable-image-core-v1:1");
    assert_string_equal(m->provider, "Stability AI");
    assert_int_equal(m->status, BEDROCK_LIFE_LEGACY);
    assert_int_equal(m->legacy_time, 1780272000);        /* 2026-06-01 */
    assert_int_equal(m->extended_time, 1788220800);      /* 2026-09-01 */
    assert_int_equal(m->eol_time, 1796083200);           /* 2026-12-01 */
    m = bedrock_catalog_find(&c, "apac.stability.stable-image-ultra-v1:1");
    assert_non_null(m);
    assert_int_equal(m->status, BEDROCK_LIFE_ACTIVE);
    assert_int_equal(m->start_time, 1734480000);         /* ISO form */
    assert_null(bedrock_catalog_find(&c, "amazon.titan-embed-image-v1"));
    assert_null(bedrock_catalog_find(&c, "stability.stable-diffusion-xl-v1"));
    bedrock_catalog_free(&c);
    free(text);
}

static void bad_replies_are_named_and_leave_nothing(void **state)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"", "not JSON"},
        {"{\"modelSummaries\":[{\"modelId\":\"a.b\",", "not JSON"},
        {"<html>sign in</html>", "not JSON"},
        {"[]", "modelSummaries: missing"},
        {"{\"modelSummaries\":{}}", "modelSummaries: missing"},
        {"{\"modelSummaries\":[7]}", "modelSummaries[0]: not an object"},
        {"{\"modelSummaries\":[{\"modelLifecycle\":{\"status\":\"ACTIVE\"}}]}",
         "modelSummaries[0].modelId"},
        {"{\"modelSummaries\":[{\"modelId\":\"a.b\"}]}", "modelLifecycle.status: missing"},
        {"{\"modelSummaries\":[{\"modelId\":\"a.b\",\"modelLifecycle\":{\"status\":"
         "\"RETIRING\"}}]}", "unknown \"RETIRING\" for a.b"},
        {"{\"modelSummaries\":[{\"modelId\":\"a.b\",\"modelLifecycle\":{\"status\":"
         "\"LEGACY\",\"endOfLifeTime\":\"next Tuesday\"}}]}",
         "modelLifecycle.endOfLifeTime: not a date"},
        {"{\"modelSummaries\":[{\"modelId\":\"a.b\",\"modelLifecycle\":{\"status\":"
         "\"LEGACY\",\"legacyTime\":\"2026-02-30T00:00:00Z\"}}]}", "legacyTime: not a date"},
        {"{\"modelSummaries\":[{\"modelId\":\"a.b\",\"modelLifecycle\":{\"status\":"
         "\"LEGACY\",\"legacyTime\":-5}}]}", "legacyTime: not a date"},
        {"{\"modelSummaries\":[{\"modelId\":\"a.b\",\"modelLifecycle\":{\"status\":"
         "\"LEGACY\",\"legacyTime\":true}}]}", "legacyTime: not a date"},
        {"{\"modelSummaries\":[{\"modelId\":\"a.b\",\"outputModalities\":\"IMAGE\","
         "\"modelLifecycle\":{\"status\":\"ACTIVE\"}}]}", "outputModalities: not an array"},
        {"{\"modelSummaries\":[],\"modelSummaries\":[]}", "not JSON"},
        {"{\"modelSummaries\":[{\"modelId\":\"a.b\",\"modelLifecycle\":{\"status\":"
         "\"ACTIVE\"}},{\"modelId\":\"a.b\",\"modelLifecycle\":{\"status\":\"LEGACY\"}}]}",
         "modelSummaries[1].modelId: a.b is listed twice"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        bedrock_catalog_t c;
        err_t e;
        assert_int_equal(parse(cases[i].text, &c, &e), ERR_INVALID);
        if (!strstr(e.msg, cases[i].want))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, e.msg, cases[i].want);
        assert_int_equal(c.n, 0);
        assert_null(c.models);
    }
}

static void iso_times_parse_strictly(void **state)
{
    int64_t t;
    assert_true(bedrock_catalog_parse_time("2026-12-01T00:00:00Z", &t));
    assert_int_equal(t, 1796083200);
    assert_true(bedrock_catalog_parse_time("2026-12-01T00:00:00.250+00:00", &t));
    assert_int_equal(t, 1796083200);
    assert_true(bedrock_catalog_parse_time("2028-02-29T12:00:00Z", &t));
    assert_false(bedrock_catalog_parse_time("2027-02-29T12:00:00Z", &t));
    assert_false(bedrock_catalog_parse_time("2026-12-01", &t));
    assert_false(bedrock_catalog_parse_time("2026-12-01T00:00:00+02:00", &t));
    assert_false(bedrock_catalog_parse_time("2026-13-01T00:00:00Z", &t));
    assert_false(bedrock_catalog_parse_time("1969-12-31T23:59:59Z", &t));
    assert_false(bedrock_catalog_parse_time("2026-12-01T00:00:00Zjunk", &t));
}

static void a_model_is_judged_active_legacy_or_unlisted(void **state)
{
    size_t len;
    char *text = tu_read_file(tu_fixture("bedrock/list_foundation_models.json"), &len);
    bedrock_catalog_t c;
    buf_t w = BUF_INIT;
    char nearest[200];
    err_t e;
    bedrock_catalog_init(&c);
    assert_int_equal(bedrock_catalog_parse(text, len, &c, &e), ERR_OK);

    assert_int_equal(bedrock_catalog_check(&c, "us.stability.sd3-5-large-v1:0", 1790000000,
                                           &w, NULL, 0, &e), ERR_OK);
    assert_int_equal(w.len, 0);
    assert_int_equal(bedrock_catalog_check(&c, "draft", 0, &w, NULL, 0, &e), ERR_OK);

    /* Legacy, before public extended access (2026-09-01). */
    assert_int_equal(bedrock_catalog_check(&c, "stability.stable-image-core-v1:1", 1785000000,
                                           &w, NULL, 0, &e), ERR_OK);
    assert_non_null(strstr((char *)w.data, "legacy"));
    assert_non_null(strstr((char *)w.data, "end of life 2026-12-01"));
    assert_null(strstr((char *)w.data, "prices are higher"));
    buf_reset(&w);
    /* ... and after it: prices are higher. */
    assert_int_equal(bedrock_catalog_check(&c, "stability.stable-image-core-v1:1", 1790000000,
                                           &w, NULL, 0, &e), ERR_OK);
    assert_non_null(strstr((char *)w.data, "prices are higher"));
    assert_non_null(strstr((char *)w.data, "2026-09-01"));

    /* Unlisted: refused, naming the nearest active model (same vendor,
     * same inference-profile prefix). */
    assert_int_equal(bedrock_catalog_check(&c, "us.stability.stable-diffusion-xl-v1", 0, NULL,
                                           nearest, sizeof nearest, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "us.stability.stable-diffusion-xl-v1"));
    assert_non_null(strstr(e.msg, "does not offer it"));
    assert_non_null(strstr(e.msg, "nearest active model: \"us.stability.sd3-5-large-v1:0\""));
    assert_string_equal(nearest, "us.stability.sd3-5-large-v1:0");

    /* The fallback decides nothing. */
    bedrock_catalog_free(&c);
    c.fallback = true;
    assert_int_equal(bedrock_catalog_check(&c, "stability.stable-diffusion-xl-v1", 0, NULL,
                                           NULL, 0, &e), ERR_OK);
    buf_free(&w);
    free(text);
}

/* ---- fetch and cache, on the stand-in ---- */

typedef struct {
    fakeaws_t a;
    standin_t *s;
    char *dir;
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    char msg[256];
    err_t e;
    f->a.akid = AKID;
    f->a.secret = SECRET;
    standin_opts_t so = {.key = AKID, .secret = SECRET, .region = "us-east-1"};
    if (!(f->s = standin_start(&so, msg, sizeof msg)))
        fail_msg("stand-in: %s", msg);
    fakeenv_set(&f->a.env, "AWS_REGION", "us-east-1");
    fakeenv_set(&f->a.env, "AWS_ENDPOINT_URL_BEDROCK", standin_url(f->s));
    fakeenv_set(&f->a.env, "HOME", "/nonexistent/onesheet-test");
    if (fakeaws_open(&f->a, NULL, &e) != ERR_OK)
        fail_msg("aws: %s", e.msg);
    f->dir = tu_mkdtemp();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    standin_stop(f->s);
    fakeaws_close(&f->a);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static long list_calls(fx_t *f)
{
    char *t = standin_stats_json(f->s);
    json_t *j = json_loads(t, 0, NULL);
    long n = (long)json_integer_value(json_object_get(j, "list_calls"));
    json_decref(j);
    free(t);
    return n;
}

static void load(fx_t *f, bool refresh, bedrock_catalog_t *c)
{
    bedrock_catalog_opts_t o = {.state_dir = f->dir, .refresh = refresh, .timeout_ms = 3000};
    err_t e;
    bedrock_catalog_init(c);
    assert_int_equal(bedrock_catalog_load(f->a.aws, &o, c, &e), ERR_OK);
}

static void the_list_is_fetched_signed_cached_and_refreshed(void **state)
{
    fx_t *f = *state;
    bedrock_catalog_t c;
    char path[600];
    struct stat st;
    assert_true(standin_control_legacy(f->s->control, "stability.stable-image-ultra-v1:1="
                                       "2026-06-01,2026-09-01,2027-03-01"));
    load(f, false, &c);
    assert_false(c.fallback);
    assert_true(c.n >= 3);
    const bedrock_listed_t *m = bedrock_catalog_find(&c, "stability.stable-image-ultra-v1:1");
    assert_non_null(m);
    assert_int_equal(m->status, BEDROCK_LIFE_LEGACY);
    assert_null(bedrock_catalog_find(&c, "stability.stable-diffusion-xl-v1"));
    bedrock_catalog_free(&c);

    snprintf(path, sizeof path, "%s/%s", f->dir, BEDROCK_CATALOG_CACHE_NAME);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    assert_int_equal(list_calls(f), 1);
    /* Removing a model is not seen while the cache is fresh (no call)... */
    assert_true(standin_control_remove(f->s->control, "stability.sd3-5-large-v1:0"));
    load(f, false, &c);
    assert_int_equal(list_calls(f), 1);
    assert_non_null(bedrock_catalog_find(&c, "stability.sd3-5-large-v1:0"));
    bedrock_catalog_free(&c);
    /* ... and is after --refresh. */
    load(f, true, &c);
    assert_int_equal(list_calls(f), 2);
    assert_null(bedrock_catalog_find(&c, "stability.sd3-5-large-v1:0"));
    bedrock_catalog_free(&c);
}

static void a_bad_list_falls_back_and_is_never_cached(void **state)
{
    fx_t *f = *state;
    static const char *const modes[] = {"403", "garbage", "truncated", "badstatus",
                                        "baddate", "500"};
    static const char *const says[] = {"not authorized", "not JSON", "not JSON",
                                       "RETIRING", "endOfLifeTime", "internal"};
    bedrock_catalog_t c;
    char path[600];
    snprintf(path, sizeof path, "%s/%s", f->dir, BEDROCK_CATALOG_CACHE_NAME);
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
        assert_true(standin_control_list_mode(f->s->control, modes[i]));
        load(f, true, &c);
        assert_true(c.fallback);
        assert_int_equal(c.n, 0);
        if (!strstr(c.why, says[i]) || !strstr(c.why, "compiled model table"))
            fail_msg("%s: why \"%s\"", modes[i], c.why);
        assert_int_equal(access(path, F_OK), -1);
        bedrock_catalog_free(&c);
    }
    /* With a cache, a failed refresh keeps the older list (stale). */
    assert_true(standin_control_list_mode(f->s->control, "ok"));
    load(f, true, &c);
    assert_false(c.fallback);
    bedrock_catalog_free(&c);
    assert_true(standin_control_list_mode(f->s->control, "403"));
    load(f, true, &c);
    assert_false(c.fallback);
    assert_true(c.stale);
    assert_non_null(strstr(c.why, "cached on"));
    bedrock_catalog_free(&c);
}

static void an_old_cache_or_another_regions_is_fetched_again(void **state)
{
    fx_t *f = *state;
    bedrock_catalog_t c;
    err_t e;
    load(f, false, &c);
    bedrock_catalog_free(&c);
    assert_int_equal(list_calls(f), 1);
    /* A day and a bit later. */
    bedrock_catalog_opts_t o = {.state_dir = f->dir, .timeout_ms = 3000,
                                .now = (int64_t)time(NULL) + BEDROCK_CATALOG_MAX_AGE_S + 60};
    bedrock_catalog_init(&c);
    assert_int_equal(bedrock_catalog_load(f->a.aws, &o, &c, &e), ERR_OK);
    assert_false(c.fallback);
    bedrock_catalog_free(&c);
    assert_int_equal(list_calls(f), 2);
    /* Another region's cache is not this one's list: a call is made (which
     * the stand-in, signing for us-east-1 only, refuses). */
    fakeenv_set(&f->a.env, "AWS_REGION", "eu-west-1");
    if (fakeaws_open(&f->a, NULL, &e) != ERR_OK)
        fail_msg("aws: %s", e.msg);
    load(f, false, &c);
    bedrock_catalog_free(&c);
    assert_int_equal(list_calls(f), 3);
}

static void a_gone_model_is_model_retired_not_retried(void **state)
{
    const bedrock_model_t *m = bedrock_model_lookup("stability.sd3-5-large-v1:0");
    err_t e;
    err_set(&e, ERR_PERMANENT, "HTTP 404 ResourceNotFoundException: This model version has "
            "reached the end of its life.");
    e.http_status = 404;
    snprintf(e.service_code, sizeof e.service_code, "ResourceNotFoundException");
    assert_int_equal(bedrock_refine_error(m, &e), ERR_PERMANENT);
    assert_string_equal(e.service_code, "model_retired");
    assert_non_null(strstr(e.msg, "stability.sd3-5-large-v1:0 is no longer served"));
    assert_false(err_is_retryable(&e));
    /* A 400 saying end of life too; an ordinary 400 stays what it was. */
    err_set(&e, ERR_PERMANENT, "HTTP 400 ValidationException: The model has reached end of "
            "life");
    e.http_status = 400;
    snprintf(e.service_code, sizeof e.service_code, "ValidationException");
    bedrock_refine_error(m, &e);
    assert_string_equal(e.service_code, "model_retired");
    err_set(&e, ERR_PERMANENT, "HTTP 400 ValidationException: seed out of range");
    e.http_status = 400;
    snprintf(e.service_code, sizeof e.service_code, "ValidationException");
    bedrock_refine_error(m, &e);
    assert_string_equal(e.service_code, "ValidationException");
}

static void no_network_and_no_env_fall_back(void **state)
{
    fx_t *f = *state;
    bedrock_catalog_t c;
    bedrock_catalog_opts_t o = {.state_dir = f->dir, .timeout_ms = 2000};
    err_t e;
    bedrock_catalog_init(&c);
    assert_int_equal(bedrock_catalog_load(NULL, &o, &c, &e), ERR_OK);
    assert_true(c.fallback);
    assert_string_equal(c.why, "no AWS environment");
    /* A port nobody listens on. */
    fakeenv_set(&f->a.env, "AWS_ENDPOINT_URL_BEDROCK", "http://127.0.0.1:9");
    assert_int_equal(bedrock_catalog_load(f->a.aws, &o, &c, &e), ERR_OK);
    assert_true(c.fallback);
    bedrock_catalog_free(&c);
}

static void access_is_asked_per_model(void **state)
{
    fx_t *f = *state;
    bedrock_catalog_t c;
    bedrock_catalog_opts_t o = {.state_dir = f->dir, .access = true, .timeout_ms = 3000};
    err_t e;
    assert_true(standin_control_deny(f->s->control, "stability.stable-image-core-v1:1"));
    bedrock_catalog_init(&c);
    assert_int_equal(bedrock_catalog_load(f->a.aws, &o, &c, &e), ERR_OK);
    assert_int_equal(bedrock_catalog_find(&c, "stability.stable-image-core-v1:1")->access,
                     BEDROCK_ACCESS_NO);
    assert_int_equal(bedrock_catalog_find(&c, "stability.sd3-5-large-v1:0")->access,
                     BEDROCK_ACCESS_YES);
    bedrock_catalog_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_the_documented_reply_shape),
        cmocka_unit_test(bad_replies_are_named_and_leave_nothing),
        cmocka_unit_test(iso_times_parse_strictly),
        cmocka_unit_test(a_model_is_judged_active_legacy_or_unlisted),
        cmocka_unit_test(a_gone_model_is_model_retired_not_retried),
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(the_list_is_fetched_signed_cached_and_refreshed),
        T(a_bad_list_falls_back_and_is_never_cached),
        T(an_old_cache_or_another_regions_is_fetched_again),
        T(no_network_and_no_env_fall_back),
        T(access_is_asked_per_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
