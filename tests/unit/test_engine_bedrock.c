/* Tests for the Bedrock engine (engine_bedrock.c) end to end over loopback:
 * against the Bedrock stand-in run in this process (it verifies every
 * signature with sigv4_verify and returns real images), and against a
 * scripted fake server for exact error sequences: retries on 429 and 5xx,
 * no retry on 400/403, timeouts, filtered prompts, the wire form of model
 * ids, cost and seed in the result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/aws.h"
#include "engine/bedrock_models.h"
#include "engine/engine_bedrock.h"
#include "fakeaws.h"
#include "fakeserver.h"
#include "poster/imgsniff.h"

/* The stand-in program, without its main(): standin_start() & co. */
#define BEDROCK_STANDIN_NO_MAIN
#include "../tools/bedrock_standin.c"

#define AKID "AKIDBEDROCKTEST"
#define SECRET "bedrockTestSecretKey0123456789abcdefWXYZ"
#define SD35 "stability.sd3-5-large-v1:0"

/* ---- scripted server ---- */

typedef struct {
    int status;
    const char *type;       /* x-amzn-ErrorType; NULL: none */
    const char *body;       /* NULL: a stability reply with a small PNG */
    long stall_ms;
} step_t;

typedef struct {
    pthread_mutex_t mu;
    step_t steps[8];
    int nsteps, n, bad_sigs;
    char target[256], ctype[64], accept[64], body[512];
} script_t;

static char *png_reply(long long seed)
{
    buf_t img = BUF_INIT, b = BUF_INIT;
    gen_png(&img, 64, 96, 2000, 1, "test");
    buf_appendf(&b, "{\"seeds\":[%lld],\"finish_reasons\":[null],\"images\":[\"", seed);
    base64_encode(img.data, img.len, &b);
    buf_append_str(&b, "\"]}");
    buf_free(&img);
    return buf_steal(&b);
}

static void scripted(const fake_request_t *req, fake_response_t *resp, void *ud)
{
    script_t *s = ud;
    sigv4_credentials_t cr = {AKID, SECRET, NULL};
    sigv4_verify_opts_t vo = {.now = time(NULL), .region = "us-west-2", .service = "bedrock"};
    err_t e;
    bool sig_ok = fakeaws_verify(req, &cr, &vo, NULL, &e) == ERR_OK;

    pthread_mutex_lock(&s->mu);
    step_t st = s->steps[s->n < s->nsteps ? s->n : s->nsteps - 1];
    s->n++;
    s->bad_sigs += !sig_ok;
    snprintf(s->target, sizeof s->target, "%s", req->target);
    snprintf(s->ctype, sizeof s->ctype, "%s", fake_request_header(req, "Content-Type"));
    snprintf(s->accept, sizeof s->accept, "%s", fake_request_header(req, "Accept"));
    snprintf(s->body, sizeof s->body, "%.*s", (int)req->body_len, req->body);
    pthread_mutex_unlock(&s->mu);

    resp->stall_ms = st.stall_ms;
    if (st.type)
        fake_response_header(resp, "x-amzn-ErrorType", st.type);
    if (st.body) {
        fake_response_json(resp, st.status, st.body);
    } else {
        char *b = png_reply(777);
        fake_response_json(resp, st.status, b);
        free(b);
    }
}

/* ---- fixture: env, credentials, both servers ---- */

typedef struct {
    fakeaws_t a;               /* keys AKID and a.secret */
    script_t script;
    fake_server_t *fs;
    standin_t *standin;
} fx_t;

/* (Re)makes the AWS env pointing at url for region. */
static void make_env(fx_t *f, const char *url, const char *region)
{
    err_t e;
    fakeenv_set(&f->a.env, "AWS_REGION", region);
    fakeenv_set(&f->a.env, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME", url);
    fakeenv_set(&f->a.env, "HOME", "/nonexistent/onesheet-test");
    if (fakeaws_open(&f->a, NULL, &e) != ERR_OK)
        fail_msg("aws_env_new: %s", e.msg);
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    char msg[256];
    f->a.akid = AKID;
    f->a.secret = SECRET;
    pthread_mutex_init(&f->script.mu, NULL);
    f->script.steps[0] = (step_t){.status = 200};
    f->script.nsteps = 1;
    f->fs = fake_server_start(scripted, &f->script);
    standin_opts_t so = {.key = AKID, .secret = SECRET, .region = "us-east-1",
                         .image_bytes = 60000};
    f->standin = standin_start(&so, msg, sizeof msg);
    if (!f->fs || !f->standin)
        fail_msg("servers: %s", msg);
    make_env(f, standin_url(f->standin), "us-east-1");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    fake_server_stop(f->fs);
    standin_stop(f->standin);
    fakeaws_close(&f->a);
    pthread_mutex_destroy(&f->script.mu);
    free(f);
    return 0;
}

static void use_script(fx_t *f, const step_t *steps, int n)
{
    pthread_mutex_lock(&f->script.mu);
    memcpy(f->script.steps, steps, sizeof *steps * (size_t)n);
    f->script.nsteps = n;
    f->script.n = f->script.bad_sigs = 0;
    pthread_mutex_unlock(&f->script.mu);
    make_env(f, fake_server_url(f->fs), "us-west-2");
}

static engine_t *open_engine(fx_t *f, const char *model, long timeout_ms)
{
    err_t e;
    engine_bedrock_options_t o = {.env = f->a.aws, .timeout_ms = timeout_ms};
    engine_t *eng = engine_bedrock_open_with(model, &o, &e);
    if (!eng)
        fail_msg("open %s: %s", model, e.msg);
    return eng;
}

static job_spec_t spec(const char *prompt, const char *fmt, int64_t seed)
{
    job_spec_t s;
    job_spec_init(&s);
    s.prompt = (char *)prompt;
    snprintf(s.aspect_ratio, sizeof s.aspect_ratio, "2:3");
    snprintf(s.output_format, sizeof s.output_format, "%s", fmt);
    s.seed = seed;
    return s;
}

/* One generation with a fresh engine; r is initialised here. */
static err_code_t gen(fx_t *f, const char *model, const job_spec_t *s, engine_result_t *r,
                      err_t *e, long timeout_ms)
{
    engine_t *eng = open_engine(f, model, timeout_ms);
    engine_result_init(r);
    err_clear(e);
    err_code_t rc = engine_generate(eng, s, "jtest", r, e);
    engine_close(eng);
    return rc;
}

static long stat_of(fx_t *f, const char *key, const char *sub)
{
    char *t = standin_stats_json(f->standin);
    json_t *j = json_loads(t, 0, NULL);
    json_t *v = json_object_get(j, key);
    if (sub)
        v = json_object_get(v, sub);
    long n = (long)json_integer_value(v);
    json_decref(j);
    free(t);
    return n;
}

static int script_requests(fx_t *f)
{
    pthread_mutex_lock(&f->script.mu);
    int n = f->script.n;
    pthread_mutex_unlock(&f->script.mu);
    return n;
}

/* ---- against the stand-in ---- */

static void generates_a_verified_png_with_cost_seed_and_model(void **state)
{
    fx_t *f = *state;
    job_spec_t s = spec("A lighthouse at the edge of the stars", "png", 42);
    engine_result_t r;
    err_t e;
    if (gen(f, "us." SD35, &s, &r, &e, 0) != ERR_OK)
        fail_msg("generate: %s", e.msg);
    img_info_t in;
    assert_int_equal(imgsniff(r.image.data, r.image.len, &in), IMG_PNG);
    assert_memory_equal(r.image.data + r.image.len - 8, "IEND\xae\x42\x60\x82", 8);
    assert_string_equal(r.content_type, "image/png");
    assert_string_equal(r.ext, "png");
    assert_int_equal(r.width, 832);
    assert_int_equal(r.height, 1248);
    assert_int_equal(r.seed, 42);
    assert_string_equal(r.model, "us." SD35);
    assert_true(r.cost_usd == 0.08);
    if (r.image.len < 50000 || r.image.len > 70000)
        fail_msg("image of %zu bytes, asked for about 60000", r.image.len);
    assert_int_equal(stat_of(f, "calls", NULL), 1);
    assert_int_equal(stat_of(f, "ok", NULL), 1);
    assert_int_equal(stat_of(f, "rejected", "auth"), 0);
    assert_int_equal(stat_of(f, "models", "us." SD35), 1);
    assert_int_equal(standin_prompt_calls(f->standin, s.prompt), 1);

    /* Same spec, same bytes. */
    engine_result_t r2;
    assert_int_equal(gen(f, SD35, &s, &r2, &e, 0), ERR_OK);
    assert_int_equal(r2.image.len, r.image.len);
    assert_memory_equal(r2.image.data, r.image.data, r.image.len);
    engine_result_free(&r);
    engine_result_free(&r2);
}

static void every_model_in_the_table_round_trips(void **state)
{
    fx_t *f = *state;
    for (size_t i = 0; i < bedrock_model_count(); i++) {
        const bedrock_model_t *m = bedrock_model_at(i);
        static const char *const fmts[] = {"png", "jpeg", "webp"};
        for (unsigned k = 0; k < 3; k++) {
            if (!(m->formats & (1u << k)))
                continue;
            job_spec_t s = spec("A red fox in the snow", fmts[k], JOB_SEED_UNSET);
            s.negative_prompt = "blurry";
            engine_result_t r;
            err_t e;
            if (gen(f, m->id, &s, &r, &e, 0) != ERR_OK)
                fail_msg("%s %s: %s", m->id, fmts[k], e.msg);
            assert_string_equal(r.ext, fmts[k]);
            assert_true(r.cost_usd == m->price_usd);
            assert_int_equal(r.seed, bedrock_seed_for(m, &s, "jtest"));
            engine_result_free(&r);
        }
    }
    assert_int_equal(stat_of(f, "rejected", "invalid"), 0);
    assert_int_equal(stat_of(f, "calls", NULL), stat_of(f, "ok", NULL));
}

static void a_wrong_secret_is_refused_once_as_auth(void **state)
{
    fx_t *f = *state;
    f->a.secret = "notTheRightSecretKey0123456789abcdefWXYZ";
    make_env(f, standin_url(f->standin), "us-east-1");
    job_spec_t s = spec("x", "png", 1);
    engine_result_t r;
    err_t e;
    assert_int_equal(gen(f, SD35, &s, &r, &e, 0), ERR_AUTH);
    assert_string_equal(e.service_code, "InvalidSignatureException");
    assert_int_equal(e.http_status, 403);
    assert_false(err_is_retryable(&e));
    assert_null(strstr(e.msg, f->a.secret));
    assert_int_equal(stat_of(f, "rejected", "auth"), 1);
    assert_int_equal(stat_of(f, "calls", NULL), 0);
    assert_int_equal(r.image.len, 0);
}

static void filtered_prompts_are_filtered_with_no_bytes_and_one_call(void **state)
{
    fx_t *f = *state;
    static const char *const ids[] = {SD35, "stability.stable-diffusion-xl-v1",
                                      "amazon.titan-image-generator-v2:0",
                                      "eu.amazon.nova-canvas-v1:0"};
    for (size_t i = 0; i < 4; i++) {
        char prompt[64];
        snprintf(prompt, sizeof prompt, "FILTERME please %zu", i);
        job_spec_t s = spec(prompt, "png", 1);
        engine_result_t r;
        err_t e;
        if (gen(f, ids[i], &s, &r, &e, 0) != ERR_FILTERED)
            fail_msg("%s: %s %s", ids[i], err_name(e.code), e.msg);
        assert_int_equal(r.image.len, 0);
        assert_false(err_is_retryable(&e));
        assert_non_null(strstr(e.msg, ids[i]));
        assert_int_equal(standin_prompt_calls(f->standin, prompt), 1);
    }
}

static void broken_replies_fail_for_good_after_one_call(void **state)
{
    fx_t *f = *state;
    static const char *const prompts[] = {"GARBAGEME 1", "BADB64ME 2", "NOTIMAGEME 3"};
    for (size_t i = 0; i < 3; i++) {
        job_spec_t s = spec(prompts[i], "png", 1);
        engine_result_t r;
        err_t e;
        assert_int_equal(gen(f, SD35, &s, &r, &e, 0), ERR_INVALID);
        assert_false(err_is_retryable(&e));
        assert_int_equal(r.image.len, 0);
        assert_int_equal(standin_prompt_calls(f->standin, prompts[i]), 1);
    }
    job_spec_t s = spec("ERRORME now", "png", 1);
    engine_result_t r;
    err_t e;
    assert_int_equal(gen(f, SD35, &s, &r, &e, 0), ERR_PERMANENT);
    assert_non_null(strstr(e.msg, "Inference error"));
}

static void a_flaky_first_call_is_retried_and_succeeds(void **state)
{
    fx_t *f = *state;
    job_spec_t s = spec("FLAKYME poster", "png", 1);
    engine_result_t r;
    err_t e;
    assert_int_equal(gen(f, SD35, &s, &r, &e, 0), ERR_OK);
    assert_int_equal(standin_prompt_calls(f->standin, s.prompt), 2);
    assert_int_equal(stat_of(f, "rejected", "failed"), 1);
    engine_result_free(&r);
}

static void invalid_specs_fail_before_any_call(void **state)
{
    fx_t *f = *state;
    char p[600];
    memset(p, 'w', sizeof p - 1);
    p[sizeof p - 1] = '\0';
    job_spec_t s = spec(p, "png", 1);
    engine_result_t r;
    err_t e;
    assert_int_equal(gen(f, "amazon.titan-image-generator-v2:0", &s, &r, &e, 0), ERR_INVALID);
    assert_non_null(strstr(e.msg, "prompt:"));
    s = spec("ok", "webp", 1);
    assert_int_equal(gen(f, SD35, &s, &r, &e, 0), ERR_INVALID);
    assert_non_null(strstr(e.msg, "output_format"));
    assert_int_equal(stat_of(f, "calls", NULL), 0);
    assert_int_equal(stat_of(f, "rejected", "invalid"), 0);
}

static void a_jobs_own_model_wins_and_unknown_ones_are_named(void **state)
{
    fx_t *f = *state;
    job_spec_t s = spec("An owl", "png", 5);
    engine_result_t r;
    err_t e;
    s.model = "us.amazon.nova-canvas-v1:0";
    assert_int_equal(gen(f, SD35, &s, &r, &e, 0), ERR_OK);
    assert_string_equal(r.model, "us.amazon.nova-canvas-v1:0");
    assert_true(r.cost_usd == bedrock_model_lookup("amazon.nova-canvas-v1:0")->price_usd);
    assert_int_equal(stat_of(f, "models", "us.amazon.nova-canvas-v1:0"), 1);
    engine_result_free(&r);
    s.model = SD35;   /* the engine's model: its own routing wins */
    assert_int_equal(gen(f, "eu." SD35, &s, &r, &e, 0), ERR_OK);
    assert_string_equal(r.model, "eu." SD35);
    engine_result_free(&r);
    s.model = "stability.imaginary-v9";
    assert_int_equal(gen(f, SD35, &s, &r, &e, 0), ERR_INVALID);
    assert_non_null(strstr(e.msg, "stability.imaginary-v9"));
    assert_non_null(strstr(e.msg, SD35));
    s.model = "draft";
    assert_int_equal(gen(f, SD35, &s, &r, &e, 0), ERR_INVALID);
    assert_int_equal(stat_of(f, "calls", NULL), 2);
    assert_int_equal(stat_of(f, "models", "eu." SD35), 1);
}

typedef struct {
    fx_t *f;
    int id, ok;
} worker_arg_t;

static void *worker(void *ud)
{
    worker_arg_t *a = ud;
    engine_t *eng = open_engine(a->f, SD35, 0);
    for (int j = 0; j < 3; j++) {
        char prompt[64];
        snprintf(prompt, sizeof prompt, "poster %d-%d", a->id, j);
        job_spec_t s = spec(prompt, "png", JOB_SEED_UNSET);
        engine_result_t r;
        err_t e;
        engine_result_init(&r);
        if (engine_generate(eng, &s, prompt, &r, &e) == ERR_OK && r.image.len > 0)
            a->ok++;
        engine_result_free(&r);
    }
    engine_close(eng);
    return NULL;
}

static void dozens_of_concurrent_engines_are_served(void **state)
{
    fx_t *f = *state;
    enum { N = 24 };
    pthread_t th[N];
    worker_arg_t args[N];
    for (int i = 0; i < N; i++) {
        args[i] = (worker_arg_t){f, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
    }
    int ok = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        ok += args[i].ok;
    }
    assert_int_equal(ok, N * 3);
    assert_int_equal(stat_of(f, "calls", NULL), N * 3);
}

static void a_reply_over_the_cap_is_too_big(void **state)
{
    fx_t *f = *state;
    err_t e;
    engine_bedrock_options_t o = {.env = f->a.aws, .max_reply = 4096};
    engine_t *eng = engine_bedrock_open_with(SD35, &o, &e);
    assert_non_null(eng);
    job_spec_t s = spec("big", "png", 1);
    engine_result_t r;
    engine_result_init(&r);
    assert_int_equal(engine_generate(eng, &s, "j", &r, &e), ERR_TOOBIG);
    assert_false(err_is_retryable(&e));
    engine_close(eng);
}

static void the_rpm_quota_throttles_and_latency_is_felt(void **state)
{
    fx_t *f = *state;
    char msg[256];
    standin_opts_t so = {.key = AKID, .secret = SECRET, .region = "us-east-1", .rpm = 2,
                         .latency_ms = 150, .image_bytes = 1000};
    standin_t *q = standin_start(&so, msg, sizeof msg);
    assert_non_null(q);
    make_env(f, standin_url(q), "us-east-1");
    job_spec_t s = spec("quota", "png", 1);
    engine_result_t r;
    err_t e;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(gen(f, SD35, &s, &r, &e, 0), ERR_OK);
        engine_result_free(&r);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 >= 300);
    assert_int_equal(gen(f, SD35, &s, &r, &e, 0), ERR_THROTTLED);
    assert_true(err_is_retryable(&e));
    assert_string_equal(e.service_code, "ThrottlingException");
    char *t = standin_stats_json(q);
    assert_non_null(strstr(t, "\"throttled\":3"));   /* every attempt of the third */
    free(t);
    standin_stop(q);
}

/* What the engine cannot send: the stand-in must still refuse it. */
static void the_stand_in_refuses_bad_bodies_models_and_signatures(void **state)
{
    fx_t *f = *state;
    static const struct { const char *path, *body, *says; } cases[] = {
        {"/model/stability.sd3-5-large-v1%3A0/invoke", "{\"prompt\":\"x\",\"style\":1}",
         "extraneous key [style]"},
        {"/model/stability.stable-image-core-v1%3A1/invoke",
         "{\"prompt\":\"x\",\"mode\":\"text-to-image\"}", "extraneous key [mode]"},
        {"/model/stability.sd3-5-large-v1%3A0/invoke", "{\"prompt\":\"x\",\"seed\":-1}", "seed"},
        {"/model/stability.sd3-5-large-v1%3A0/invoke", "[1]", "not a JSON object"},
        {"/model/stability.nope-v1%3A0/invoke", "{}", "model identifier is invalid"},
        {"/model/stability.stable-diffusion-xl-v1/invoke",
         "{\"text_prompts\":[{\"text\":\"x\"}],\"width\":1000,\"height\":1000}",
         "not an allowed SDXL size"},
        {"/model/amazon.titan-image-generator-v2%3A0/invoke",
         "{\"taskType\":\"TEXT_IMAGE\",\"textToImageParams\":{\"text\":\"\"}}", "text"},
    };
    err_t e;
    aws_client_t *c = aws_client_new(f->a.aws, ENDPOINT_BEDROCK_RUNTIME, &e);
    assert_non_null(c);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        http_response_t resp;
        http_response_init(&resp);
        aws_request_t rq = {.method = "POST", .path = cases[i].path, .body = cases[i].body,
                            .body_len = strlen(cases[i].body)};
        if (aws_request(c, &rq, &resp, &e) != ERR_PERMANENT || e.http_status != 400 ||
            strcmp(e.service_code, "ValidationException") != 0 || !strstr(e.msg, cases[i].says))
            fail_msg("case %zu: %s %d %s", i, err_name(e.code), e.http_status, e.msg);
        http_response_free(&resp);
    }
    aws_client_free(c);

    http_client_t *h = http_client_new(NULL, &e);
    char url[256];
    snprintf(url, sizeof url, "%s/model/stability.sd3-5-large-v1%%3A0/invoke",
             standin_url(f->standin));
    http_request_t hr = {.method = "POST", .url = url, .body = "{}", .body_len = 2};
    http_response_t resp;
    http_response_init(&resp);
    assert_int_equal(http_do(h, &hr, &resp, &e), ERR_OK);
    assert_int_equal(http_error_from_aws(&resp, &e), ERR_AUTH);
    assert_string_equal(e.service_code, "MissingAuthenticationTokenException");
    http_response_free(&resp);
    http_client_free(h);
    assert_int_equal(stat_of(f, "rejected", "invalid"), 7);
    assert_int_equal(stat_of(f, "rejected", "auth"), 1);
    assert_int_equal(stat_of(f, "calls", NULL), 0);
}

/* ---- against the scripted server ---- */

static void model_ids_are_encoded_once_on_the_wire_and_signed(void **state)
{
    fx_t *f = *state;
    use_script(f, (step_t[]){{.status = 200}}, 1);
    job_spec_t s = spec("A \"quoted\" prompt", "png", 9);
    engine_result_t r;
    err_t e;
    if (gen(f, "apac." SD35, &s, &r, &e, 0) != ERR_OK)
        fail_msg("generate: %s", e.msg);
    assert_string_equal(f->script.target, "/model/apac.stability.sd3-5-large-v1%3A0/invoke");
    assert_string_equal(f->script.ctype, "application/json");
    assert_string_equal(f->script.accept, "application/json");
    assert_string_equal(f->script.body, "{\"prompt\":\"A \\\"quoted\\\" prompt\",\"mode\":"
                                        "\"text-to-image\",\"aspect_ratio\":\"2:3\","
                                        "\"output_format\":\"png\",\"seed\":9}");
    assert_int_equal(f->script.bad_sigs, 0);
    assert_int_equal(r.seed, 777);   /* from the reply */
    engine_result_free(&r);
}

static void throttling_then_success_is_retried(void **state)
{
    fx_t *f = *state;
    use_script(f, (step_t[]){
        {429, "ThrottlingException:http://internal.amazon.com/coral/",
         "{\"message\":\"Too many requests\"}", 0},
        {503, "ServiceUnavailableException", "{\"message\":\"busy\"}", 0},
        {200, NULL, NULL, 0}}, 3);
    job_spec_t s = spec("retry me", "png", 1);
    engine_result_t r;
    err_t e;
    assert_int_equal(gen(f, SD35, &s, &r, &e, 0), ERR_OK);
    assert_int_equal(script_requests(f), 3);
    assert_int_equal(f->script.bad_sigs, 0);
    engine_result_free(&r);
}

static void errors_map_to_permanent_or_retryable(void **state)
{
    fx_t *f = *state;
    static const struct {
        int status;
        const char *type;
        err_code_t code;
        bool retryable;
        int requests;
    } cases[] = {
        {400, "ValidationException", ERR_PERMANENT, false, 1},
        {403, "AccessDeniedException", ERR_AUTH, false, 1},
        {404, "ResourceNotFoundException", ERR_PERMANENT, false, 1},
        {408, "ModelTimeoutException", ERR_PERMANENT, false, 1},
        {424, "ModelErrorException", ERR_PERMANENT, false, 1},
        {400, "ServiceQuotaExceededException", ERR_PERMANENT, false, 1},
        {500, "InternalServerException", ERR_UNAVAILABLE, true, 3},
        {503, "ServiceUnavailableException", ERR_UNAVAILABLE, true, 3},
        {429, "ModelNotReadyException", ERR_THROTTLED, true, 3},
        {502, NULL, ERR_UNAVAILABLE, true, 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        step_t st = {cases[i].status, cases[i].type, "{\"message\":\"no good\"}", 0};
        use_script(f, &st, 1);
        job_spec_t s = spec("x", "png", 1);
        engine_result_t r;
        err_t e;
        err_code_t rc = gen(f, SD35, &s, &r, &e, 0);
        if (rc != cases[i].code || err_is_retryable(&e) != cases[i].retryable ||
            script_requests(f) != cases[i].requests)
            fail_msg("%d %s: got %s retryable=%d after %d requests (%s)", cases[i].status,
                     cases[i].type ? cases[i].type : "-", err_name(rc), err_is_retryable(&e),
                     script_requests(f), e.msg);
        assert_int_equal(e.http_status, cases[i].status);
        assert_non_null(strstr(e.msg, SD35));
        assert_non_null(strstr(e.msg, "no good"));
        assert_int_equal(r.image.len, 0);
    }
}

static void a_content_filter_validation_error_is_filtered(void **state)
{
    fx_t *f = *state;
    use_script(f, (step_t[]){{400, "ValidationException", "{\"message\":\"This request has "
                              "been blocked by our content filters.\"}", 0}}, 1);
    job_spec_t s = spec("x", "png", 1);
    engine_result_t r;
    err_t e;
    assert_int_equal(gen(f, "amazon.titan-image-generator-v2:0", &s, &r, &e, 0), ERR_FILTERED);
    assert_false(err_is_retryable(&e));
    assert_int_equal(script_requests(f), 1);
}

static void a_stall_past_the_timeout_is_a_retryable_timeout(void **state)
{
    fx_t *f = *state;
    use_script(f, (step_t[]){{200, NULL, NULL, 5000}}, 1);
    job_spec_t s = spec("slow", "png", 1);
    engine_result_t r;
    err_t e;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(gen(f, SD35, &s, &r, &e, 300), ERR_TIMEOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(err_is_retryable(&e));
    assert_true(t1.tv_sec - t0.tv_sec < 4);
    assert_int_equal(r.image.len, 0);
}

static void engine_open_routes_bedrock_ids_and_names_unknown_ones(void **state)
{
    (void)state;
    err_t e;
    assert_null(engine_open("stability.imaginary-v9", &e));
    assert_int_equal(e.code, ERR_CONFIG);
    assert_non_null(strstr(e.msg, "stability.imaginary-v9"));
    assert_non_null(strstr(e.msg, SD35));
    assert_non_null(strstr(e.msg, "draft"));
    assert_null(engine_open("xx." SD35, &e));
    assert_int_equal(e.code, ERR_CONFIG);
    setenv("AWS_REGION", "us-west-2", 1);
    engine_t *eng = engine_open("us." SD35, &e);
    if (!eng)
        fail_msg("engine_open: %s", e.msg);
    engine_close(eng);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(generates_a_verified_png_with_cost_seed_and_model),
        T(every_model_in_the_table_round_trips),
        T(a_wrong_secret_is_refused_once_as_auth),
        T(filtered_prompts_are_filtered_with_no_bytes_and_one_call),
        T(broken_replies_fail_for_good_after_one_call),
        T(a_flaky_first_call_is_retried_and_succeeds),
        T(invalid_specs_fail_before_any_call),
        T(a_jobs_own_model_wins_and_unknown_ones_are_named),
        T(dozens_of_concurrent_engines_are_served),
        T(a_reply_over_the_cap_is_too_big),
        T(the_rpm_quota_throttles_and_latency_is_felt),
        T(the_stand_in_refuses_bad_bodies_models_and_signatures),
        T(model_ids_are_encoded_once_on_the_wire_and_signed),
        T(throttling_then_success_is_retried),
        T(errors_map_to_permanent_or_retryable),
        T(a_content_filter_validation_error_is_filtered),
        T(a_stall_past_the_timeout_is_a_retryable_timeout),
        T(engine_open_routes_bedrock_ids_and_names_unknown_ones),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
