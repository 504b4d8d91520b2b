/* Tests for engine.c and the draft engine (engine_draft.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <cairo.h>
#include <png.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/engine.h"
#include "jobs/job.h"
#include "pngtext.h"
#include "pngsurface.h"

#ifndef ONESHEET_VERSION
#define ONESHEET_VERSION "dev"
#endif

static const char *const aspects[] = {"1:1", "2:3", "3:2", "4:5", "5:4",
                                      "16:9", "9:16", "21:9", "9:21"};
#define NASPECTS (sizeof aspects / sizeof *aspects)

static const char *const prompt =
    "A lighthouse keeper's daughter finds a map of the stars hidden in the lamp "
    "room, cinematic, teal and amber, 35mm film grain";

/* A spec pointing at string literals; never passed to job_spec_free(). */
static job_spec_t spec_of(const char *aspect, int64_t seed, const char *text)
{
    job_spec_t s;
    job_spec_init(&s);
    snprintf(s.aspect_ratio, sizeof s.aspect_ratio, "%s", aspect);
    snprintf(s.output_format, sizeof s.output_format, "png");
    s.seed = seed;
    s.prompt = (char *)text;
    return s;
}

static err_code_t render(const job_spec_t *s, const char *job, engine_result_t *r)
{
    err_t e;
    engine_t *eng = engine_open("draft", &e);
    if (!eng)
        return e.code;
    err_code_t rc = engine_generate(eng, s, job, r, &e);
    if (rc != ERR_OK)
        fprintf(stderr, "generate: %s\n", e.msg);
    engine_close(eng);
    return rc;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Checks the PNG signature and IHDR, then decodes the whole image; returns
 * the decoded surface (caller destroys). */
static cairo_surface_t *assert_png(const buf_t *png, int w, int h)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    assert_true(png->len > 33);
    assert_memory_equal(png->data, sig, 8);
    assert_int_equal(be32(png->data + 8), 13);
    assert_memory_equal(png->data + 12, "IHDR", 4);
    assert_int_equal(be32(png->data + 16), (uint32_t)w);
    assert_int_equal(be32(png->data + 20), (uint32_t)h);

    cairo_surface_t *img = tu_png_surface(png);
    assert_int_equal(cairo_image_surface_get_width(img), w);
    assert_int_equal(cairo_image_surface_get_height(img), h);
    return img;
}

static void assert_valid_png(const buf_t *png, int w, int h)
{
    cairo_surface_destroy(assert_png(png, w, h));
}

/* The RGB of pixel (x, y) of a decoded image. */
static uint32_t pixel_at(cairo_surface_t *img, int x, int y)
{
    cairo_surface_flush(img);
    const uint8_t *row = cairo_image_surface_get_data(img) +
                         (size_t)y * (size_t)cairo_image_surface_get_stride(img);
    return ((const uint32_t *)row)[x] & 0xffffff;
}

/* ---- PNG text chunks ---- */

/* Checks chunk i of t is key = value, as iTXt or (itxt false) tEXt. */
static void assert_text(const tu_png_texts_t *t, int i, const char *key, const char *value,
                        int itxt)
{
    assert_true(i < t->n);
    assert_string_equal(t->key[i], key);
    assert_string_equal(t->value[i], value);
    if (itxt)
        assert_true(t->compression[i] == PNG_ITXT_COMPRESSION_NONE ||
                    t->compression[i] == PNG_ITXT_COMPRESSION_zTXt);
    else
        assert_int_equal(t->compression[i], PNG_TEXT_COMPRESSION_NONE);
}

static void sizes_are_about_a_megapixel_in_multiples_of_32(void **state)
{
    (void)state;
    static const double ratio[] = {1, 2.0 / 3, 3.0 / 2, 4.0 / 5, 5.0 / 4,
                                   16.0 / 9, 9.0 / 16, 21.0 / 9, 9.0 / 21};
    for (size_t i = 0; i < NASPECTS; i++) {
        int w = 0, h = 0;
        assert_int_equal(engine_size_for_aspect(aspects[i], &w, &h), ERR_OK);
        assert_int_equal(w % 32, 0);
        assert_int_equal(h % 32, 0);
        assert_in_range(w * h, 900000, 1100000);
        double r = (double)w / h;
        assert_true(r > ratio[i] * 0.96 && r < ratio[i] * 1.04);
        assert_true((w > h) == (ratio[i] > 1) && (w == h) == (ratio[i] == 1));
    }
    int w, h;
    assert_int_equal(engine_size_for_aspect("2:3", &w, &h), ERR_OK);
    assert_true(w == 832 && h == 1248);
    assert_int_equal(engine_size_for_aspect("16:9", &w, &h), ERR_OK);
    assert_true(w == 1344 && h == 768);
    assert_int_equal(engine_size_for_aspect("7:3", &w, &h), ERR_INVALID);
    assert_int_equal(engine_size_for_aspect(NULL, &w, &h), ERR_INVALID);
}

static void engine_open_routes_draft_and_refuses_unknown_models(void **state)
{
    (void)state;
    err_t e;
    engine_t *eng = engine_open("draft", &e);
    assert_non_null(eng);
    engine_close(eng);
    err_clear(&e);
    assert_null(engine_open("stability.imaginary-v9", &e));
    assert_int_equal(e.code, ERR_CONFIG);
    assert_non_null(strstr(e.msg, "stability.imaginary-v9"));
}

static void renders_a_labelled_png_at_every_aspect_ratio(void **state)
{
    (void)state;
    for (size_t i = 0; i < NASPECTS; i++) {
        job_spec_t s = spec_of(aspects[i], 42, prompt);
        engine_result_t r;
        int w, h;
        engine_result_init(&r);
        if (i % 2) {
            s.title = "The Last Light";
            s.tagline = "Some maps lead home.";
            s.credits = "A FILM BY ONESHEET  MUSIC BY CAIRO  WRITTEN BY PANGO";
        }
        s.layout = i % 3 == 0 ? "classic" : i % 3 == 1 ? "minimal" : "bold";
        assert_int_equal(render(&s, "j1", &r), ERR_OK);
        assert_int_equal(engine_size_for_aspect(aspects[i], &w, &h), ERR_OK);
        assert_int_equal(r.width, w);
        assert_int_equal(r.height, h);
        cairo_surface_t *img = assert_png(&r.image, w, h);
        assert_string_equal(r.content_type, "image/png");
        assert_string_equal(r.ext, "png");
        assert_string_equal(r.model, "draft");
        assert_int_equal(r.seed, 42);
        assert_true(r.cost_usd == 0);
        /* The DRAFT bands: signal yellow along the top and bottom edges. */
        assert_int_equal(pixel_at(img, w / 2, 1), 0xffd500);
        assert_int_equal(pixel_at(img, w / 2, h - 1), 0xffd500);
        cairo_surface_destroy(img);
        engine_result_free(&r);
    }
}

static void same_spec_and_job_give_identical_bytes(void **state)
{
    (void)state;
    job_spec_t s = spec_of("2:3", 7, prompt);
    engine_result_t a, b;
    engine_result_init(&a);
    engine_result_init(&b);
    s.title = "Determinism";
    assert_int_equal(render(&s, "jsame", &a), ERR_OK);
    assert_int_equal(render(&s, "jsame", &b), ERR_OK);
    assert_int_equal(a.image.len, b.image.len);
    assert_memory_equal(a.image.data, b.image.data, a.image.len);
    engine_result_free(&a);
    engine_result_free(&b);
}

static int same_bytes(const engine_result_t *a, const engine_result_t *b)
{
    return a->image.len == b->image.len &&
           memcmp(a->image.data, b->image.data, a->image.len) == 0;
}

static void different_seed_prompt_or_job_change_the_image(void **state)
{
    (void)state;
    engine_result_t base, other;
    engine_result_init(&base);
    engine_result_init(&other);
    job_spec_t s = spec_of("1:1", 1, prompt);
    assert_int_equal(render(&s, "j1", &base), ERR_OK);

    s.seed = 2;
    assert_int_equal(render(&s, "j1", &other), ERR_OK);
    assert_false(same_bytes(&base, &other));

    s = spec_of("1:1", 1, "A different prompt entirely");
    assert_int_equal(render(&s, "j1", &other), ERR_OK);
    assert_false(same_bytes(&base, &other));

    /* Without a seed, the job id picks it (job_effective_seed). */
    s = spec_of("1:1", JOB_SEED_UNSET, prompt);
    assert_int_equal(render(&s, "jA", &base), ERR_OK);
    assert_int_equal(base.seed, job_effective_seed(&s, "jA"));
    assert_int_equal(render(&s, "jB", &other), ERR_OK);
    assert_int_equal(other.seed, job_effective_seed(&s, "jB"));
    assert_false(same_bytes(&base, &other));
    engine_result_free(&base);
    engine_result_free(&other);
}

static void long_prompt_and_cjk_rtl_text_render(void **state)
{
    (void)state;
    char *longp = malloc(JOB_PROMPT_MAX + 1);
    static const char words[] = "neon rain over a quiet harbour at dusk ";
    for (size_t i = 0; i < JOB_PROMPT_MAX; i++)
        longp[i] = words[i % (sizeof words - 1)];
    longp[JOB_PROMPT_MAX] = '\0';

    job_spec_t s = spec_of("2:3", 3, longp);
    engine_result_t r;
    engine_result_init(&r);
    s.negative_prompt = longp;
    assert_int_equal(render(&s, "jlong", &r), ERR_OK);
    assert_valid_png(&r.image, 832, 1248);

    s = spec_of("9:21", 4,
                "\xe6\x9d\xb1\xe4\xba\xac\xe3\x81\xae\xe5\xa4\x9c\xe3\x80\x81"
                "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d \xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7 "
                "\xf0\x9f\x8e\xac");
    s.title = "\xe6\x9d\xb1\xe4\xba\xac\xe7\x89\xa9\xe8\xaa\x9e";           /* 東京物語 */
    s.tagline = "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d \xd7\xa2\xd7\x95\xd7\x9c\xd7\x9d"; /* Hebrew */
    s.credits = "\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7 \xd8\xa8\xd8\xa7\xd9\x84\xd8\xb9"
                "\xd8\xa7\xd9\x84\xd9\x85 with mixed Latin";                  /* Arabic */
    assert_int_equal(render(&s, "jcjk", &r), ERR_OK);
    assert_valid_png(&r.image, 640, 1536);

    /* A title that is one unbreakable 300-byte word still fits somehow. */
    memset(longp, 'W', 300);
    longp[300] = '\0';
    s = spec_of("21:9", 5, prompt);
    s.title = longp;
    assert_int_equal(render(&s, "jword", &r), ERR_OK);
    assert_valid_png(&r.image, 1536, 640);
    engine_result_free(&r);
    free(longp);
}

static void unknown_aspect_ratio_is_invalid(void **state)
{
    (void)state;
    job_spec_t s = spec_of("7:3", 1, prompt);
    engine_result_t r;
    err_t e;
    engine_result_init(&r);
    engine_t *eng = engine_open("draft", &e);
    assert_int_equal(engine_generate(eng, &s, "j1", &r, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "aspect_ratio"));
    assert_int_equal(r.image.len, 0);
    engine_close(eng);
}

/* ---- concurrency ---- */

#define NTHREADS 4
#define PER_THREAD 3

typedef struct {
    int index;
    engine_result_t out[PER_THREAD];
    err_code_t rc;
} worker_t;

static job_spec_t thread_spec(int k)
{
    job_spec_t s = spec_of(aspects[k % NASPECTS], 100 + k, prompt);
    s.title = k % 2 ? "Parallel Lines" : NULL;
    s.tagline = "Four threads, one font map each";
    return s;
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    err_t e;
    engine_t *eng = engine_open("draft", &e);
    w->rc = eng ? ERR_OK : e.code;
    for (int i = 0; eng && i < PER_THREAD && w->rc == ERR_OK; i++) {
        job_spec_t s = thread_spec(w->index * PER_THREAD + i);
        engine_result_init(&w->out[i]);
        w->rc = engine_generate(eng, &s, "jthread", &w->out[i], &e);
    }
    engine_close(eng);
    return NULL;
}

static void four_threads_render_the_same_bytes_as_one(void **state)
{
    (void)state;
    engine_result_t want[NTHREADS * PER_THREAD];
    for (int k = 0; k < NTHREADS * PER_THREAD; k++) {
        job_spec_t s = thread_spec(k);
        engine_result_init(&want[k]);
        assert_int_equal(render(&s, "jthread", &want[k]), ERR_OK);
    }

    worker_t w[NTHREADS];
    pthread_t th[NTHREADS];
    memset(w, 0, sizeof w);
    for (int t = 0; t < NTHREADS; t++) {
        w[t].index = t;
        assert_int_equal(pthread_create(&th[t], NULL, worker_main, &w[t]), 0);
    }
    for (int t = 0; t < NTHREADS; t++)
        assert_int_equal(pthread_join(th[t], NULL), 0);
    for (int t = 0; t < NTHREADS; t++) {
        assert_int_equal(w[t].rc, ERR_OK);
        for (int i = 0; i < PER_THREAD; i++) {
            assert_true(same_bytes(&w[t].out[i], &want[t * PER_THREAD + i]));
            engine_result_free(&w[t].out[i]);
        }
    }
    for (int k = 0; k < NTHREADS * PER_THREAD; k++)
        engine_result_free(&want[k]);
}

static void generate_replaces_a_previous_result(void **state)
{
    (void)state;
    job_spec_t s = spec_of("16:9", 9, prompt);
    engine_result_t r;
    err_t e;
    engine_result_init(&r);
    engine_t *eng = engine_open("draft", &e);
    assert_int_equal(engine_generate(eng, &s, "j1", &r, &e), ERR_OK);
    s = spec_of("9:16", 9, prompt);
    assert_int_equal(engine_generate(eng, &s, "j1", &r, &e), ERR_OK);
    assert_valid_png(&r.image, 768, 1344);
    engine_close(eng);
    engine_result_free(&r);
    assert_null(r.image.data);
}

static void draft_png_carries_its_metadata(void **state)
{
    (void)state;
    static const char *const utf8_prompt =
        "Caf\xc3\xa9 at midnight \xe2\x80\x94 \xe6\x9d\xb1\xe4\xba\xac, neon";
    job_spec_t s = spec_of("2:3", 42, utf8_prompt);
    engine_result_t r;
    tu_png_texts_t t;
    engine_result_init(&r);
    assert_int_equal(render(&s, "job-7f3a", &r), ERR_OK);
    tu_png_read_texts(&r.image, 8, &t);
    assert_int_equal(t.n, 5);
    assert_text(&t, 0, "Software", "onesheet " ONESHEET_VERSION, 0);
    assert_text(&t, 1, "onesheet:prompt", utf8_prompt, 1);
    assert_text(&t, 2, "onesheet:model", "draft", 1);
    assert_text(&t, 3, "onesheet:seed", "42", 1);
    assert_text(&t, 4, "onesheet:job", "job-7f3a", 1);
    tu_png_texts_free(&t);

    /* The seed recorded is the effective one; a 10,000-character prompt is
     * kept whole; without a job id there is no job chunk. */
    char *longp = malloc(JOB_PROMPT_MAX + 1);
    for (size_t i = 0; i < JOB_PROMPT_MAX; i++)
        longp[i] = "lighthouse at dusk "[i % 19];
    longp[JOB_PROMPT_MAX] = '\0';
    s = spec_of("1:1", JOB_SEED_UNSET, longp);
    assert_int_equal(render(&s, "", &r), ERR_OK);
    char seed[24];
    snprintf(seed, sizeof seed, "%lld", (long long)job_effective_seed(&s, ""));
    tu_png_read_texts(&r.image, 8, &t);
    assert_int_equal(t.n, 4);
    assert_text(&t, 1, "onesheet:prompt", longp, 1);
    assert_int_equal(t.compression[1], PNG_ITXT_COMPRESSION_zTXt);
    assert_text(&t, 3, "onesheet:seed", seed, 1);
    tu_png_texts_free(&t);
    assert_valid_png(&r.image, 1024, 1024);
    engine_result_free(&r);
    free(longp);
}

/* Not a pass/fail check: prints the render time and size of a 2:3 poster
 * so a change to drawing or encoding can be compared (fewer renders under
 * the sanitizers, where the time means little). */
static void prints_ms_per_two_by_three_poster(void **state)
{
    (void)state;
#if defined(__SANITIZE_ADDRESS__)
    enum { N = 3 };
#else
    enum { N = 20 };
#endif
    err_t e;
    engine_t *eng = engine_open("draft", &e);
    engine_result_t r;
    size_t bytes = 0;
    struct timespec t0, t1;
    engine_result_init(&r);
    job_spec_t s = spec_of("2:3", 1, prompt);
    s.title = "The Last Light";
    s.tagline = "Some maps lead home.";
    assert_int_equal(engine_generate(eng, &s, "jwarm", &r, &e), ERR_OK);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < N; i++) {
        s.seed = i + 1;
        assert_int_equal(engine_generate(eng, &s, "jtime", &r, &e), ERR_OK);
        bytes += r.image.len;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = ((double)(t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6) / N;
    printf("draft 2:3 832x1248: %.1f ms/poster, %zu bytes/poster (mean of %d)\n", ms,
           bytes / N, N);
    engine_result_free(&r);
    engine_close(eng);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sizes_are_about_a_megapixel_in_multiples_of_32),
        cmocka_unit_test(engine_open_routes_draft_and_refuses_unknown_models),
        cmocka_unit_test(renders_a_labelled_png_at_every_aspect_ratio),
        cmocka_unit_test(same_spec_and_job_give_identical_bytes),
        cmocka_unit_test(different_seed_prompt_or_job_change_the_image),
        cmocka_unit_test(long_prompt_and_cjk_rtl_text_render),
        cmocka_unit_test(unknown_aspect_ratio_is_invalid),
        cmocka_unit_test(four_threads_render_the_same_bytes_as_one),
        cmocka_unit_test(generate_replaces_a_previous_result),
        cmocka_unit_test(draft_png_carries_its_metadata),
        cmocka_unit_test(prints_ms_per_two_by_three_poster),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
