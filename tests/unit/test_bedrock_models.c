/* Tests for the Bedrock model table and shapes (bedrock_models.c) and the
 * image sniffer (imgsniff.c): exact request bodies per shape, limits that
 * fail before a paid call with the field named, and reply parsing: success,
 * content filters, model errors and every kind of malformed reply. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/bedrock_models.h"
#include "poster/imgsniff.h"
#include "testutil.h"

#define SD35 "stability.sd3-5-large-v1:0"
#define CORE "stability.stable-image-core-v1:1"
#define SDXL "stability.stable-diffusion-xl-v1"
#define TITAN "amazon.titan-image-generator-v2:0"
#define NOVA "amazon.nova-canvas-v1:0"

static const bedrock_model_t *model(const char *id)
{
    const bedrock_model_t *m = bedrock_model_lookup(id);
    if (!m)
        fail_msg("model %s not in the table", id);
    return m;
}

/* A spec pointing at literals; never passed to job_spec_free(). */
static job_spec_t spec(const char *prompt, const char *aspect, const char *fmt, int64_t seed)
{
    job_spec_t s;
    job_spec_init(&s);
    s.prompt = (char *)prompt;
    snprintf(s.aspect_ratio, sizeof s.aspect_ratio, "%s", aspect);
    snprintf(s.output_format, sizeof s.output_format, "%s", fmt);
    s.seed = seed;
    return s;
}

static char *body_for(const char *id, const job_spec_t *s, int64_t seed)
{
    buf_t b = BUF_INIT;
    err_t e;
    if (bedrock_request_body(model(id), s, seed, &b, &e) != ERR_OK)
        fail_msg("request body: %s", e.msg);
    return buf_steal(&b);
}

/* The header of a w x h PNG (enough for imgsniff) plus filler. */
static void png_bytes(buf_t *b, int w, int h, size_t extra)
{
    static const unsigned char sig[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
                                        0, 0, 0, 13, 'I', 'H', 'D', 'R'};
    unsigned char dims[8] = {(unsigned char)(w >> 24), (unsigned char)(w >> 16),
                             (unsigned char)(w >> 8), (unsigned char)w,
                             (unsigned char)(h >> 24), (unsigned char)(h >> 16),
                             (unsigned char)(h >> 8), (unsigned char)h};
    buf_append(b, sig, sizeof sig);
    buf_append(b, dims, 8);
    buf_append(b, "\x08\x02\x00\x00\x00", 5);
    for (size_t i = 0; i < extra; i++)
        buf_append(b, (unsigned char[]){(unsigned char)(i * 7)}, 1);
}

static const unsigned char jpeg_hdr[] = {
    0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0,
    0xff, 0xc2, 0, 11, 8, 0x04, 0xe0, 0x03, 0x40, 1, 1, 0x11, 0};   /* 832x1248 */
static const unsigned char webp_1x1[] = {
    'R', 'I', 'F', 'F', 0x1a, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', 'L',
    0x0d, 0, 0, 0, 0x2f, 0, 0, 0, 0x10, 0x07, 0x10, 0x11, 0x11, 0x88, 0x88, 0xfe, 0x07, 0};

/* A reply body: fmt with one "%s" for the base64 of img. */
static void reply(buf_t *body, const char *fmt, const buf_t *img)
{
    buf_t b64 = BUF_INIT;
    base64_encode(img->data, img->len, &b64);
    buf_appendf(body, fmt, b64.data ? (const char *)b64.data : "");
    buf_free(&b64);
}

static err_code_t parse(const char *id, const char *text, const char *want,
                        engine_result_t *r, err_t *e)
{
    buf_t body = BUF_INIT;
    buf_append_str(&body, text);
    engine_result_init(r);
    r->seed = 5;
    err_code_t rc = bedrock_parse_reply(model(id), &body, want, r, e);
    assert_int_equal(body.len, 0);   /* always taken over */
    buf_free(&body);
    return rc;
}

/* ---- table ---- */

static void lookup_accepts_base_ids_and_inference_profile_prefixes(void **state)
{
    (void)state;
    const bedrock_model_t *m = model(SD35);
    assert_ptr_equal(bedrock_model_lookup("us." SD35), m);
    assert_ptr_equal(bedrock_model_lookup("eu." SD35), m);
    assert_ptr_equal(bedrock_model_lookup("apac." SD35), m);
    assert_ptr_equal(bedrock_model_lookup("global." SD35), m);
    assert_null(bedrock_model_lookup("us.us." SD35));
    assert_null(bedrock_model_lookup("xx." SD35));
    assert_null(bedrock_model_lookup("stability.sd3-5-large-v1"));
    assert_null(bedrock_model_lookup("us."));
    assert_null(bedrock_model_lookup("draft"));
    assert_null(bedrock_model_lookup(NULL));
    assert_true(bedrock_model_count() >= 9);
    assert_null(bedrock_model_at(bedrock_model_count()));
}

static void table_has_the_documented_limits_and_prices(void **state)
{
    (void)state;
    assert_int_equal(model(SD35)->seed_max, 4294967294LL);
    assert_int_equal(model(SDXL)->seed_max, 4294967295LL);
    assert_int_equal(model(TITAN)->seed_max, 2147483646LL);
    assert_true(model("stability.stable-image-ultra-v1:1")->price_usd == 0.14);
    assert_true(model(SD35)->price_usd == 0.08);
    assert_true(model(CORE)->price_usd == 0.04);
    assert_false(model(SD35)->retired);
    assert_true(model(SDXL)->retired);
    buf_t b = BUF_INIT;
    assert_int_equal(bedrock_model_list(&b), ERR_OK);
    for (size_t i = 0; i < bedrock_model_count(); i++) {
        const bedrock_model_t *m = bedrock_model_at(i);
        assert_non_null(strstr((char *)b.data, m->id));
        assert_true(m->price_usd > 0 && m->prompt_max > 0 && m->seed_max > 0);
    }
    buf_free(&b);
}

/* ---- requests ---- */

static void stability_bodies_are_exact(void **state)
{
    (void)state;
    job_spec_t s = spec("A city at dusk", "2:3", "png", 42);
    char *b = body_for(SD35, &s, 42);
    assert_string_equal(b, "{\"prompt\":\"A city at dusk\",\"mode\":\"text-to-image\","
                           "\"aspect_ratio\":\"2:3\",\"output_format\":\"png\",\"seed\":42}");
    free(b);
    s.negative_prompt = "blurry";
    snprintf(s.output_format, sizeof s.output_format, "webp");
    b = body_for("us." CORE, &s, 4294967294LL);
    assert_string_equal(b, "{\"prompt\":\"A city at dusk\",\"negative_prompt\":\"blurry\","
                           "\"aspect_ratio\":\"2:3\",\"output_format\":\"webp\","
                           "\"seed\":4294967294}");
    free(b);
}

static void sdxl_body_maps_aspect_to_the_nearest_allowed_size(void **state)
{
    (void)state;
    static const struct { const char *aspect; int w, h; } want[] = {
        {"1:1", 1024, 1024}, {"2:3", 832, 1216}, {"3:2", 1216, 832}, {"16:9", 1344, 768},
        {"9:16", 768, 1344}, {"21:9", 1536, 640}, {"9:21", 640, 1536}, {"4:5", 896, 1152},
        {"5:4", 1152, 896},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        bedrock_size_t z;
        assert_int_equal(bedrock_size_for(model(SDXL), want[i].aspect, &z), ERR_OK);
        if (z.w != want[i].w || z.h != want[i].h)
            fail_msg("%s: %dx%d, want %dx%d", want[i].aspect, z.w, z.h, want[i].w, want[i].h);
    }
    job_spec_t s = spec("Fox", "16:9", "png", 7);
    s.negative_prompt = "text";
    char *b = body_for(SDXL, &s, 7);
    assert_string_equal(b, "{\"text_prompts\":[{\"text\":\"Fox\",\"weight\":1.0},"
                           "{\"text\":\"text\",\"weight\":-1.0}],\"cfg_scale\":7,\"steps\":30,"
                           "\"seed\":7,\"width\":1344,\"height\":768}");
    free(b);
}

static void titan_and_nova_bodies_use_task_shape_and_sizes(void **state)
{
    (void)state;
    job_spec_t s = spec("Owl", "2:3", "png", 3);
    char *b = body_for(TITAN, &s, 3);
    assert_string_equal(b, "{\"taskType\":\"TEXT_IMAGE\",\"textToImageParams\":{\"text\":"
                           "\"Owl\"},\"imageGenerationConfig\":{\"numberOfImages\":1,"
                           "\"width\":768,\"height\":1152,\"cfgScale\":8,\"seed\":3}}");
    free(b);
    s.negative_prompt = "rain";
    b = body_for(NOVA, &s, 3);
    assert_string_equal(b, "{\"taskType\":\"TEXT_IMAGE\",\"textToImageParams\":{\"text\":"
                           "\"Owl\",\"negativeText\":\"rain\"},\"imageGenerationConfig\":"
                           "{\"numberOfImages\":1,\"width\":832,\"height\":1248,"
                           "\"cfgScale\":6.5,\"seed\":3}}");
    free(b);
}

static void bodies_escape_text_into_valid_json(void **state)
{
    (void)state;
    const char *p = "Say \"hi\"\\ to\nthe caf\xc3\xa9 \xf0\x9f\x8e\xac\tnow";
    for (size_t i = 0; i < bedrock_model_count(); i++) {
        const bedrock_model_t *m = bedrock_model_at(i);
        job_spec_t s = spec(p, "1:1", "png", 1);
        char *b = body_for(m->id, &s, 1);
        json_error_t je;
        json_t *j = json_loads(b, 0, &je);
        if (!j)
            fail_msg("%s: body is not JSON: %s", m->id, je.text);
        json_t *t = json_object_get(j, "prompt");
        if (!t)
            t = json_object_get(json_array_get(json_object_get(j, "text_prompts"), 0), "text");
        if (!t)
            t = json_object_get(json_object_get(j, "textToImageParams"), "text");
        assert_string_equal(json_string_value(t), p);
        json_decref(j);
        free(b);
    }
}

/* ---- limits ---- */

static void check_fails(const char *id, const job_spec_t *s, const char *field,
                        const char *also)
{
    err_t e;
    err_clear(&e);
    assert_int_equal(bedrock_check_spec(model(id), s, &e), ERR_INVALID);
    if (strncmp(e.msg, field, strlen(field)) != 0 || (also && !strstr(e.msg, also)))
        fail_msg("%s: \"%s\" should start with %s and mention %s", id, e.msg, field,
                 also ? also : "-");
}

static void limits_fail_before_any_call_naming_the_field(void **state)
{
    (void)state;
    char long_prompt[2100];
    memset(long_prompt, 'a', sizeof long_prompt - 1);
    long_prompt[sizeof long_prompt - 1] = '\0';
    err_t e;

    job_spec_t s = spec(long_prompt, "2:3", "png", JOB_SEED_UNSET);
    assert_int_equal(bedrock_check_spec(model(SD35), &s, &e), ERR_OK);
    check_fails(SDXL, &s, "prompt:", "2000");
    check_fails(TITAN, &s, "prompt:", TITAN);
    long_prompt[1024] = '\0';   /* Nova's limit is 1024 code points */
    assert_int_equal(bedrock_check_spec(model(NOVA), &s, &e), ERR_OK);
    check_fails(TITAN, &(job_spec_t){.prompt = "ok", .negative_prompt = long_prompt,
                                     .aspect_ratio = "1:1", .output_format = "png",
                                     .seed = JOB_SEED_UNSET},
                "negative_prompt:", "512");

    s = spec("ok", "2:3", "webp", JOB_SEED_UNSET);
    check_fails(SD35, &s, "output_format:", "png, jpeg");
    check_fails(SDXL, &s, "output_format:", "png");
    assert_int_equal(bedrock_check_spec(model(CORE), &s, &e), ERR_OK);

    s = spec("ok", "7:3", "png", JOB_SEED_UNSET);
    check_fails(SD35, &s, "aspect_ratio:", "7:3");
    s = spec("ok", "2:3", "png", 3000000000LL);
    check_fails(TITAN, &s, "seed:", "2147483646");
    check_fails(NOVA, &s, "seed:", NOVA);
    assert_int_equal(bedrock_check_spec(model(SD35), &s, &e), ERR_OK);
    s.seed = 4294967295LL;
    check_fails(SD35, &s, "seed:", NULL);
    assert_int_equal(bedrock_check_spec(model(SDXL), &s, &e), ERR_OK);
    s = spec("", "2:3", "png", 1);
    check_fails(SD35, &s, "prompt:", NULL);
}

static void derived_seeds_fold_into_the_model_range(void **state)
{
    (void)state;
    job_spec_t s = spec("x", "1:1", "png", JOB_SEED_UNSET);
    for (int i = 0; i < 200; i++) {
        char job[16];
        snprintf(job, sizeof job, "j%d", i);
        int64_t nova = bedrock_seed_for(model(NOVA), &s, job);
        assert_true(nova >= 0 && nova <= 858993459LL);
        assert_int_equal(nova, bedrock_seed_for(model(NOVA), &s, job));
        assert_int_equal(bedrock_seed_for(model(SD35), &s, job), job_effective_seed(&s, job));
    }
    s.seed = 99;
    assert_int_equal(bedrock_seed_for(model(NOVA), &s, "j1"), 99);
}

/* ---- replies ---- */

static void stability_reply_gives_image_format_size_and_seed(void **state)
{
    (void)state;
    buf_t img = BUF_INIT, body = BUF_INIT;
    engine_result_t r;
    err_t e;
    png_bytes(&img, 832, 1248, 5000);
    reply(&body, "{\"seeds\":[2130420379],\"finish_reasons\":[null],\"images\":[\"%s\"]}", &img);
    assert_int_equal(parse(SD35, (char *)body.data, "png", &r, &e), ERR_OK);
    assert_int_equal(r.image.len, img.len);
    assert_memory_equal(r.image.data, img.data, img.len);
    assert_string_equal(r.content_type, "image/png");
    assert_string_equal(r.ext, "png");
    assert_int_equal(r.width, 832);
    assert_int_equal(r.height, 1248);
    assert_int_equal(r.seed, 2130420379LL);
    engine_result_free(&r);

    /* No seeds: the sent seed stays; JPEG and WebP are recognised. */
    buf_reset(&img);
    buf_reset(&body);
    buf_append(&img, jpeg_hdr, sizeof jpeg_hdr);
    reply(&body, "{\"finish_reasons\":[null],\"images\":[\"%s\"]}", &img);
    assert_int_equal(parse(CORE, (char *)body.data, "jpeg", &r, &e), ERR_OK);
    assert_string_equal(r.ext, "jpeg");
    assert_string_equal(r.content_type, "image/jpeg");
    assert_int_equal(r.width, 832);
    assert_int_equal(r.seed, 5);
    engine_result_free(&r);
    buf_reset(&img);
    buf_reset(&body);
    buf_append(&img, webp_1x1, sizeof webp_1x1);
    reply(&body, "{\"seeds\":[1],\"finish_reasons\":[null],\"images\":[\"%s\"]}", &img);
    assert_int_equal(parse(CORE, (char *)body.data, "webp", &r, &e), ERR_OK);
    assert_string_equal(r.content_type, "image/webp");
    engine_result_free(&r);
    buf_free(&img);
    buf_free(&body);
}

static void sdxl_and_titan_replies_parse(void **state)
{
    (void)state;
    buf_t img = BUF_INIT, body = BUF_INIT;
    engine_result_t r;
    err_t e;
    png_bytes(&img, 1344, 768, 100);
    reply(&body, "{\"result\":\"success\",\"artifacts\":[{\"seed\":4294967295,\"base64\":"
                 "\"%s\",\"finishReason\":\"SUCCESS\"}]}", &img);
    assert_int_equal(parse(SDXL, (char *)body.data, "png", &r, &e), ERR_OK);
    assert_int_equal(r.seed, 4294967295LL);
    assert_int_equal(r.width, 1344);
    engine_result_free(&r);
    buf_reset(&body);
    reply(&body, "{\"images\":[\"%s\"],\"error\":null}", &img);
    assert_int_equal(parse(TITAN, (char *)body.data, "png", &r, &e), ERR_OK);
    assert_int_equal(r.image.len, img.len);
    assert_int_equal(r.seed, 5);
    engine_result_free(&r);
    buf_free(&img);
    buf_free(&body);
}

static void content_filters_are_filtered_per_shape(void **state)
{
    (void)state;
    static const struct { const char *id, *body; } cases[] = {
        {SD35, "{\"seeds\":[1],\"finish_reasons\":[\"Filter reason: prompt\"]}"},
        {SD35, "{\"seeds\":[1],\"finish_reasons\":[\"Filter reason: output image\"],"
               "\"images\":[\"iVBORw0KGgo=\"]}"},
        {CORE, "{\"finish_reasons\":[\"Filter reason: input image\"],\"images\":[]}"},
        {SDXL, "{\"result\":\"success\",\"artifacts\":[{\"seed\":1,\"base64\":\"iVBORw0KGgo=\","
               "\"finishReason\":\"CONTENT_FILTERED\"}]}"},
        {TITAN, "{\"images\":[],\"error\":\"This request has been blocked by our content "
                "filters.\"}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        engine_result_t r;
        err_t e;
        if (parse(cases[i].id, cases[i].body, "png", &r, &e) != ERR_FILTERED)
            fail_msg("case %zu: %s", i, e.msg);
        assert_int_equal(r.image.len, 0);
        assert_false(err_is_retryable(&e));
        engine_result_free(&r);
    }
}

static void model_failures_are_permanent(void **state)
{
    (void)state;
    static const struct { const char *id, *body, *says; } cases[] = {
        {SD35, "{\"seeds\":[1],\"finish_reasons\":[\"Inference error\"],\"images\":[\"\"]}",
         "Inference error"},
        {SDXL, "{\"result\":\"success\",\"artifacts\":[{\"seed\":1,\"base64\":\"AAAA\","
               "\"finishReason\":\"ERROR\"}]}", "ERROR"},
        {SDXL, "{\"result\":\"failure\",\"artifacts\":[]}", "failure"},
        {TITAN, "{\"images\":[],\"error\":\"Internal model error\"}", "Internal model error"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        engine_result_t r;
        err_t e;
        if (parse(cases[i].id, cases[i].body, "png", &r, &e) != ERR_PERMANENT)
            fail_msg("case %zu: %s", i, e.msg);
        assert_non_null(strstr(e.msg, cases[i].says));
        assert_int_equal(r.image.len, 0);
        assert_false(err_is_retryable(&e));
        engine_result_free(&r);
    }
}

static void malformed_replies_are_invalid_and_say_where(void **state)
{
    (void)state;
    static const struct { const char *id, *body, *says; } cases[] = {
        {SD35, "", "not JSON"},
        {SD35, "{\"seeds\":[1],\"finish_reasons\":[null],\"images\":[\"iVBO", "not JSON"},
        {SD35, "[1,2]", "not a JSON object"},
        {SD35, "{\"seeds\":[1],\"finish_reasons\":[null]}", "images: missing"},
        {SD35, "{\"images\":\"iVBORw0KGgo=\"}", "images: not an array"},
        {SD35, "{\"images\":[42]}", "images[0]: not a string"},
        {SD35, "{\"images\":[\"\"]}", "images[0]: empty"},
        {SD35, "{\"images\":[]}", "expected 1 image, got 0"},
        {SD35, "{\"images\":[\"QUFB\",\"QUFB\"]}", "got 2"},
        {SD35, "{\"seeds\":[\"1\"],\"images\":[\"QUFB\"]}", "seeds[0]"},
        {SD35, "{\"seeds\":[-1],\"images\":[\"QUFB\"]}", "seeds[0]"},
        {SD35, "{\"seeds\":[1.5],\"images\":[\"QUFB\"]}", "seeds[0]"},
        {SD35, "{\"seeds\":[99999999999999999999999],\"images\":[\"QUFB\"]}", "not JSON"},
        {SD35, "{\"finish_reasons\":{},\"images\":[\"QUFB\"]}", "finish_reasons: not an array"},
        {SD35, "{\"finish_reasons\":[7],\"images\":[\"QUFB\"]}", "finish_reasons[0]"},
        {SD35, "{\"images\":[\"QUFB\"],\"images\":[\"QUFB\"]}", "not JSON"},
        {SD35, "{\"images\":[\"!!!notbase64!!!\"]}", "invalid character"},
        {SD35, "{\"images\":[\"iVBORw0\"]}", "truncated"},
        {SDXL, "{\"result\":\"success\"}", "artifacts: missing"},
        {SDXL, "{\"result\":7,\"artifacts\":[]}", "result: not a string"},
        {SDXL, "{\"artifacts\":[\"x\"]}", "artifacts[0]: not an object"},
        {SDXL, "{\"artifacts\":[{\"seed\":1}]}", "artifacts[0].base64: not a string"},
        {SDXL, "{\"artifacts\":[{\"base64\":\"QUFB\",\"finishReason\":3}]}", "finishReason"},
        {TITAN, "{\"error\":null}", "images: missing"},
        {TITAN, "{\"images\":[\"QUFB\"],\"error\":{\"x\":1}}", "error: not a string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        engine_result_t r;
        err_t e;
        err_clear(&e);
        if (parse(cases[i].id, cases[i].body, "png", &r, &e) != ERR_INVALID ||
            !strstr(e.msg, cases[i].says))
            fail_msg("case %zu (%s): got %s \"%s\", want invalid mentioning \"%s\"", i,
                     cases[i].body, err_name(e.code), e.msg, cases[i].says);
        assert_int_equal(r.image.len, 0);
        engine_result_free(&r);
    }
}

static void many_images_in_a_reply_are_refused(void **state)
{
    (void)state;
    buf_t body = BUF_INIT;
    buf_append_str(&body, "{\"images\":[");
    for (int i = 0; i < 10000; i++)
        buf_append_str(&body, i ? ",\"QUFB\"" : "\"QUFB\"");
    buf_append_str(&body, "]}");
    engine_result_t r;
    err_t e;
    assert_int_equal(parse(TITAN, (char *)body.data, "png", &r, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "got 10000"));
    buf_free(&body);
}

static void non_images_and_wrong_formats_are_refused(void **state)
{
    (void)state;
    buf_t img = BUF_INIT, body = BUF_INIT;
    engine_result_t r;
    err_t e;
    buf_append_str(&img, "<html>nope</html>");
    reply(&body, "{\"images\":[\"%s\"]}", &img);
    assert_int_equal(parse(SD35, (char *)body.data, "png", &r, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "not a PNG, JPEG or WebP"));
    buf_reset(&img);
    buf_reset(&body);
    png_bytes(&img, 64, 64, 0);
    reply(&body, "{\"images\":[\"%s\"]}", &img);
    assert_int_equal(parse(SD35, (char *)body.data, "jpeg", &r, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "png, but jpeg"));
    assert_int_equal(r.image.len, 0);
    buf_free(&img);
    buf_free(&body);
}

static void a_two_megabyte_image_decodes_intact(void **state)
{
    (void)state;
    buf_t img = BUF_INIT, body = BUF_INIT;
    engine_result_t r;
    err_t e;
    png_bytes(&img, 1024, 1024, 2u << 20);
    reply(&body, "{\"seeds\":[9],\"finish_reasons\":[null],\"images\":[\"%s\"]}", &img);
    assert_int_equal(parse(SD35, (char *)body.data, NULL, &r, &e), ERR_OK);
    assert_int_equal(r.image.len, img.len);
    assert_memory_equal(r.image.data, img.data, img.len);
    assert_true(r.image.cap <= img.len + img.len / 8 + 65);   /* slack given back */
    engine_result_free(&r);
    buf_free(&img);
    buf_free(&body);
}

/* The image string is decoded straight from the reply when it can be; the
 * ordinary JSON path must give the same result for escaped base64, other
 * long strings and a reply that names the lift marker itself. */
static void long_strings_escapes_and_markers_parse_like_json(void **state)
{
    (void)state;
    buf_t img = BUF_INIT, b64 = BUF_INIT, body = BUF_INIT, esc = BUF_INIT;
    engine_result_t r;
    err_t e;
    png_bytes(&img, 100, 200, 30000);
    base64_encode(img.data, img.len, &b64);
    for (size_t i = 0; i < b64.len; i++)
        buf_append_str(&esc, b64.data[i] == '/' ? "\\/" : (char[]){(char)b64.data[i], 0});
    assert_true(esc.len > b64.len);
    buf_appendf(&body, "{\"seeds\":[3],\"finish_reasons\":[null],\"images\":[\"%s\"]}",
                (char *)esc.data);
    assert_int_equal(parse(SD35, (char *)body.data, "png", &r, &e), ERR_OK);
    assert_int_equal(r.image.len, img.len);
    assert_memory_equal(r.image.data, img.data, img.len);
    engine_result_free(&r);

    buf_reset(&body);
    buf_appendf(&body, "{\"note\":\"%s\",\"images\":[\"%s\"]}", (char *)b64.data,
                (char *)b64.data);
    assert_int_equal(parse(TITAN, (char *)body.data, "png", &r, &e), ERR_OK);
    assert_memory_equal(r.image.data, img.data, img.len);
    engine_result_free(&r);

    assert_int_equal(parse(SD35, "{\"images\":[\"@lifted\"]}", "png", &r, &e), ERR_INVALID);
    buf_reset(&body);
    buf_appendf(&body, "{\"images\":[\"%s\",\"@lifted\"]}", (char *)b64.data);
    assert_int_equal(parse(SD35, (char *)body.data, "png", &r, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "got 2"));
    buf_reset(&body);   /* cut inside the image: never lifted, not JSON */
    buf_appendf(&body, "{\"images\":[\"%.*s", 9000, (char *)b64.data);
    assert_int_equal(parse(SD35, (char *)body.data, "png", &r, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "not JSON"));
    buf_reset(&body);   /* a bad character deep inside a lifted image */
    b64.data[20000] = '*';
    buf_appendf(&body, "{\"images\":[\"%s\"]}", (char *)b64.data);
    assert_int_equal(parse(SD35, (char *)body.data, "png", &r, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "invalid character"));
    buf_free(&img);
    buf_free(&b64);
    buf_free(&body);
    buf_free(&esc);
}

static void filter_validation_errors_become_filtered(void **state)
{
    (void)state;
    err_t e;
    err_set(&e, ERR_PERMANENT, "HTTP 400 ValidationException: This request has been "
                               "blocked by our content filters.");
    e.http_status = 400;
    snprintf(e.service_code, sizeof e.service_code, "ValidationException");
    assert_int_equal(bedrock_refine_error(model(TITAN), &e), ERR_FILTERED);
    assert_string_equal(e.service_code, "ValidationException");
    err_set(&e, ERR_PERMANENT, "HTTP 400 ValidationException: seed out of range");
    assert_int_equal(bedrock_refine_error(model(TITAN), &e), ERR_PERMANENT);
    err_set(&e, ERR_AUTH, "HTTP 403 AccessDeniedException: content filter role");
    e.http_status = 403;
    snprintf(e.service_code, sizeof e.service_code, "AccessDeniedException");
    assert_int_equal(bedrock_refine_error(model(TITAN), &e), ERR_AUTH);
}

/* ---- imgsniff ---- */

static void imgsniff_reads_headers_and_refuses_broken_ones(void **state)
{
    (void)state;
    img_info_t in;
    buf_t png = BUF_INIT;
    png_bytes(&png, 640, 1536, 0);
    assert_int_equal(imgsniff(png.data, png.len, &in), IMG_PNG);
    assert_true(in.width == 640 && in.height == 1536);
    assert_int_equal(imgsniff(png.data, 23, &in), IMG_UNKNOWN);
    assert_int_equal(in.width, 0);
    png.data[19] = 0;   /* width 0 */
    png.data[18] = png.data[17] = png.data[16] = 0;
    assert_int_equal(imgsniff(png.data, png.len, &in), IMG_UNKNOWN);
    buf_free(&png);

    assert_int_equal(imgsniff(jpeg_hdr, sizeof jpeg_hdr, &in), IMG_JPEG);
    assert_true(in.width == 832 && in.height == 1248);
    assert_int_equal(imgsniff(jpeg_hdr, sizeof jpeg_hdr - 3, &in), IMG_UNKNOWN);
    unsigned char j2[sizeof jpeg_hdr];
    memcpy(j2, jpeg_hdr, sizeof j2);
    j2[5] = 0xff;   /* APP0 length past the end */
    assert_int_equal(imgsniff(j2, sizeof j2, &in), IMG_UNKNOWN);
    memcpy(j2, jpeg_hdr, sizeof j2);
    j2[21] = 0xda;  /* scan before any frame */
    assert_int_equal(imgsniff(j2, sizeof j2, &in), IMG_UNKNOWN);

    assert_int_equal(imgsniff(webp_1x1, sizeof webp_1x1, &in), IMG_WEBP);
    assert_true(in.width == 1 && in.height == 1);
    unsigned char vp8x[30] = {'R', 'I', 'F', 'F', 22, 0, 0, 0, 'W', 'E', 'B', 'P',
                              'V', 'P', '8', 'X', 10, 0, 0, 0, 0, 0, 0, 0,
                              0x3f, 0x03, 0, 0xdf, 0x04, 0};   /* 832 x 1248 */
    assert_int_equal(imgsniff(vp8x, sizeof vp8x, &in), IMG_WEBP);
    assert_true(in.width == 832 && in.height == 1248);
    unsigned char vp8[30] = {'R', 'I', 'F', 'F', 22, 0, 0, 0, 'W', 'E', 'B', 'P',
                             'V', 'P', '8', ' ', 10, 0, 0, 0, 0x10, 0, 0, 0x9d, 0x01, 0x2a,
                             0x40, 0x03, 0xe0, 0x04};   /* 832 x 1248 */
    assert_int_equal(imgsniff(vp8, sizeof vp8, &in), IMG_WEBP);
    assert_true(in.width == 832 && in.height == 1248);
    vp8[23] = 0;    /* no start code */
    assert_int_equal(imgsniff(vp8, sizeof vp8, &in), IMG_UNKNOWN);
    memcpy(vp8x + 8, "AVI ", 4);
    assert_int_equal(imgsniff(vp8x, sizeof vp8x, &in), IMG_UNKNOWN);
    assert_int_equal(imgsniff("GIF89a", 6, &in), IMG_UNKNOWN);
    assert_int_equal(imgsniff(NULL, 0, &in), IMG_UNKNOWN);
    assert_int_equal(imgsniff_from_name("JPG"), IMG_JPEG);
    assert_int_equal(imgsniff_from_name("gif"), IMG_UNKNOWN);
    assert_string_equal(imgsniff_content_type(IMG_WEBP), "image/webp");
}

/* Every file in tests/fixtures/bad/replies/bedrock is a 2xx reply that must
 * not become a poster.  The name says the model's shape (sd35__, core__,
 * sdxl__, titan__, nova__) and, by "filtered" or "model_error", whether
 * the refusal is ERR_FILTERED or ERR_PERMANENT; everything else is
 * ERR_INVALID.  PNG is the wanted format throughout. */
static void bad_reply_corpus_is_refused_without_an_image(void **state)
{
    (void)state;
    static const struct { const char *prefix, *id; } shapes[] = {
        {"sd35__", SD35}, {"core__", CORE}, {"sdxl__", SDXL}, {"titan__", TITAN}, {"nova__", NOVA},
    };
    const char *dir = tu_fixture("bad/replies/bedrock");
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t files = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name, *id = NULL;
        if (name[0] == '.')
            continue;
        for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
            if (strncmp(name, shapes[i].prefix, strlen(shapes[i].prefix)) == 0)
                id = shapes[i].id;
        if (!id)
            fail_msg("%s: name does not start with a model shape", name);
        err_code_t want = strstr(name, "filtered") ? ERR_FILTERED
                        : strstr(name, "model_error") ? ERR_PERMANENT : ERR_INVALID;
        char path[1024];
        size_t len = 0;
        snprintf(path, sizeof path, "%s/%s", dir, name);
        char *text = tu_read_file(path, &len);
        assert_non_null(text);
        buf_t body = BUF_INIT;
        engine_result_t r;
        err_t e;
        err_clear(&e);
        assert_int_equal(buf_append(&body, text, len), ERR_OK);
        engine_result_init(&r);
        err_code_t rc = bedrock_parse_reply(bedrock_model_lookup(id), &body, "png", &r, &e);
        if (rc != want)
            fail_msg("%s: got %s (%s), want %s", name, err_name(rc), e.msg,
                     err_name(want));
        if (r.image.len != 0 || e.msg[0] == '\0')
            fail_msg("%s: refused with an image or without a message", name);
        engine_result_free(&r);
        buf_free(&body);
        free(text);
        files++;
    }
    closedir(d);
    assert_true(files >= 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lookup_accepts_base_ids_and_inference_profile_prefixes),
        cmocka_unit_test(table_has_the_documented_limits_and_prices),
        cmocka_unit_test(stability_bodies_are_exact),
        cmocka_unit_test(sdxl_body_maps_aspect_to_the_nearest_allowed_size),
        cmocka_unit_test(titan_and_nova_bodies_use_task_shape_and_sizes),
        cmocka_unit_test(bodies_escape_text_into_valid_json),
        cmocka_unit_test(limits_fail_before_any_call_naming_the_field),
        cmocka_unit_test(derived_seeds_fold_into_the_model_range),
        cmocka_unit_test(stability_reply_gives_image_format_size_and_seed),
        cmocka_unit_test(sdxl_and_titan_replies_parse),
        cmocka_unit_test(content_filters_are_filtered_per_shape),
        cmocka_unit_test(model_failures_are_permanent),
        cmocka_unit_test(malformed_replies_are_invalid_and_say_where),
        cmocka_unit_test(many_images_in_a_reply_are_refused),
        cmocka_unit_test(non_images_and_wrong_formats_are_refused),
        cmocka_unit_test(a_two_megabyte_image_decodes_intact),
        cmocka_unit_test(long_strings_escapes_and_markers_parse_like_json),
        cmocka_unit_test(filter_validation_errors_become_filtered),
        cmocka_unit_test(imgsniff_reads_headers_and_refuses_broken_ones),
        cmocka_unit_test(bad_reply_corpus_is_refused_without_an_image),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
