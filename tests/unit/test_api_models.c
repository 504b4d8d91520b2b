/* Tests for the model lifecycle check of onesheet-api's submit routes
 * (common/api/api_models.c, issue 23), against the Bedrock stand-in's
 * control plane run in this process: a model the region no longer lists is
 * refused (400 model_unavailable naming it, why and the nearest active
 * model; nothing enqueued), a Legacy one accepted with a "warnings" array
 * saying legacy, its end of life and that prices are higher; the list is
 * loaded once per server and again only when its TTL has passed; the draft
 * engine and model_lifecycle = off never load it; a list that cannot be
 * had (403) lets the compiled table decide and is said once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "api/api_internal.h"
#include "api_fixture.h"
#include "testutil.h"

#define BEDROCK_STANDIN_NO_MAIN
#include "../tools/bedrock_standin.c"

#define AKID "AKIDAPIMODELSTEST"
#define SECRET "apiModelsTestSecretKey0123456789abcdefWXYZ"
#define GONE "stability.stable-image-ultra-v1:1"
#define OLD "stability.stable-image-core-v1:1"
#define LIVE_MODEL "stability.sd3-5-large-v1:0"

static standin_t *S;

static api_fx_t *fx_new(void)
{
    api_options_t o = {.loopback = true, .sync_timeout_s = 0.2, .poll_interval_s = 0.05};
    return api_fx_new(o, false, NULL);
}

static int call(api_fx_t *f, const char *method, const char *path, const char *body,
                api_response_t *r)
{
    return api_fx_call(f, method, path, body ? "application/json" : NULL, body, NULL, NULL, r);
}

static json_t *body_of(const api_response_t *r)
{
    json_t *v = json_loadb(r->body, r->body_len, 0, NULL);
    assert_non_null(v);
    return v;
}

static long list_calls(void)
{
    char *t = standin_stats_json(S);
    json_t *j = json_loads(t, 0, NULL);
    long n = (long)json_integer_value(json_object_get(j, "list_calls"));
    json_decref(j);
    free(t);
    return n;
}

static int queued(api_fx_t *f)
{
    api_response_t r = {0};
    assert_int_equal(call(f, "GET", "/healthz", NULL, &r), 200);
    json_t *v = body_of(&r);
    json_t *q = json_object_get(v, "queue");
    int n = (int)json_integer_value(json_object_get(q ? q : v, "visible"));
    json_decref(v);
    api_response_free(&r);
    return n;
}

static void post_job(api_fx_t *f, const char *model, int want, api_response_t *r)
{
    char body[300];
    snprintf(body, sizeof body, "{\"jobs\": [{\"prompt\": \"a\", \"model\": \"%s\"},"
             " {\"prompt\": \"b\", \"model\": \"%s\"}]}", model, model);
    int got = call(f, "POST", "/jobs", body, r);
    if (got != want)
        fail_msg("POST /jobs %s: %d %.*s", model, got, (int)r->body_len, r->body);
}

static void an_unlisted_model_is_refused_naming_it_and_the_nearest(void **state)
{
    api_fx_t *f = fx_new();
    api_response_t r = {0};

    post_job(f, GONE, 400, &r);
    json_t *v = body_of(&r), *e = json_object_get(v, "error");
    assert_string_equal(json_string_value(json_object_get(e, "code")), "model_unavailable");
    assert_string_equal(json_string_value(json_object_get(e, "model")), GONE);
    const char *msg = json_string_value(json_object_get(e, "message"));
    assert_non_null(strstr(msg, "jobs[0].model"));
    assert_non_null(strstr(msg, GONE));
    assert_non_null(strstr(msg, "nothing was enqueued"));
    const char *near = json_string_value(json_object_get(e, "nearest"));
    assert_non_null(near);
    assert_non_null(strstr(msg, near));
    assert_string_not_equal(near, GONE);
    json_decref(v);

    char body[200];
    snprintf(body, sizeof body, "{\"prompt\": \"c\", \"model\": \"%s\"}", GONE);
    assert_int_equal(call(f, "POST", "/generate-poster", body, &r), 400);
    assert_non_null(strstr(r.body, "model_unavailable"));
    assert_int_equal(queued(f), 0);
    api_response_free(&r);
    api_fx_free(f);
}

static void a_legacy_model_is_taken_with_one_warning(void **state)
{
    api_fx_t *f = fx_new();
    api_response_t r = {0};

    post_job(f, OLD, 202, &r);
    json_t *v = body_of(&r), *w = json_object_get(v, "warnings");
    assert_int_equal(json_array_size(w), 1);   /* two jobs, one model: said once */
    const char *t = json_string_value(json_array_get(w, 0));
    assert_non_null(strstr(t, "legacy"));
    assert_non_null(strstr(t, OLD));
    assert_non_null(strstr(t, "higher"));      /* extended access has begun */
    char eol[16];
    time_t in90 = time(NULL) + 90 * 86400;
    strftime(eol, sizeof eol, "%Y-%m-%d", gmtime(&in90));
    assert_non_null(strstr(t, eol));
    json_decref(v);
    assert_int_equal(queued(f), 2);

    /* An active model has nothing to say. */
    post_job(f, LIVE_MODEL, 202, &r);
    v = body_of(&r);
    assert_null(json_object_get(v, "warnings"));
    json_decref(v);

    char body[200];
    snprintf(body, sizeof body, "{\"prompt\": \"c\", \"model\": \"%s\"}", OLD);
    assert_int_equal(call(f, "POST", "/generate-poster", body, &r), 202);
    v = body_of(&r);
    assert_non_null(strstr(json_string_value(json_array_get(json_object_get(v, "warnings"),
                                                            0)), "legacy"));
    json_decref(v);
    api_response_free(&r);
    api_fx_free(f);
}

static int64_t later_ms;
static int64_t later_clock(void) { return later_ms; }

static void the_list_is_loaded_once_per_ttl(void **state)
{
    api_fx_t *f = fx_new();
    api_response_t r = {0};
    long before = list_calls();

    for (int i = 0; i < 5; i++)
        post_job(f, i % 2 ? OLD : LIVE_MODEL, 202, &r);
    assert_int_equal(api_models_loads(f->api), 1);
    assert_int_equal(list_calls() - before, 1);

    /* A day and a bit later: loaded again (the cache is as old). */
    later_ms = ((int64_t)time(NULL) + 86400 + 60) * 1000;
    api_set_clock(f->api, later_clock);
    post_job(f, LIVE_MODEL, 202, &r);
    post_job(f, LIVE_MODEL, 202, &r);
    assert_int_equal(api_models_loads(f->api), 2);
    assert_int_equal(list_calls() - before, 2);
    api_response_free(&r);
    api_fx_free(f);
}

static void draft_and_lifecycle_off_never_load_the_list(void **state)
{
    api_fx_t *f = fx_new();
    api_response_t r = {0};
    long before = list_calls();

    assert_int_equal(call(f, "POST", "/jobs", "{\"prompt\": \"a\"}", &r), 202);
    assert_int_equal(call(f, "POST", "/jobs", "{\"prompt\": \"a\", \"model\": \"draft\"}",
                          &r), 202);
    assert_int_equal(api_models_loads(f->api), 0);

    f->cfg.model_lifecycle_off = true;
    post_job(f, GONE, 202, &r);                /* the compiled table decides */
    json_t *v = body_of(&r);
    assert_null(json_object_get(v, "warnings"));
    json_decref(v);
    assert_int_equal(api_models_loads(f->api), 0);
    assert_int_equal(list_calls(), before);
    api_response_free(&r);
    api_fx_free(f);
}

static void a_list_that_cannot_be_had_is_said_once(void **state)
{
    api_fx_t *f = fx_new();
    api_response_t r = {0};

    assert_true(standin_control_list_mode(S->control, "403"));
    post_job(f, GONE, 202, &r);                /* the compiled table decides */
    json_t *v = body_of(&r), *w = json_object_get(v, "warnings");
    assert_int_equal(json_array_size(w), 1);
    assert_non_null(strstr(json_string_value(json_array_get(w, 0)),
                           "cannot list Bedrock's models"));
    json_decref(v);
    post_job(f, GONE, 202, &r);
    v = body_of(&r);
    assert_null(json_object_get(v, "warnings"));
    json_decref(v);
    assert_true(standin_control_list_mode(S->control, "ok"));
    api_response_free(&r);
    api_fx_free(f);
}

int main(void)
{
    char msg[256];
    standin_opts_t so = {.key = AKID, .secret = SECRET, .region = "us-east-1"};
    if (!(S = standin_start(&so, msg, sizeof msg))) {
        fprintf(stderr, "stand-in: %s\n", msg);
        return 1;
    }
    if (!standin_control_remove(S->control, GONE) || !standin_control_legacy(S->control, OLD)) {
        fprintf(stderr, "stand-in: switches refused\n");
        return 1;
    }
    /* Before anything makes the process's AWS environment. */
    unsetenv("AWS_PROFILE");
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("AWS_ENDPOINT_URL");
    setenv("AWS_REGION", "us-east-1", 1);
    setenv("AWS_ACCESS_KEY_ID", AKID, 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
    setenv("AWS_ENDPOINT_URL_BEDROCK", standin_url(S), 1);
    setenv("HOME", "/nonexistent/onesheet-test", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_unlisted_model_is_refused_naming_it_and_the_nearest),
        cmocka_unit_test(a_legacy_model_is_taken_with_one_warning),
        cmocka_unit_test(the_list_is_loaded_once_per_ttl),
        cmocka_unit_test(draft_and_lifecycle_off_never_load_the_list),
        cmocka_unit_test(a_list_that_cannot_be_had_is_said_once),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    standin_stop(S);
    return rc;
}
