/* Tests for poster.c: layout stays in the safe area for any text and shape,
 * text is readable on any art (contrast measured on the rendered pixels),
 * metadata round-trips.  JPEG/WebP art: test_poster_decode.c; the splice:
 * test_poster_splice.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <cairo.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "poster/pngenc.h"
#include "pngtext.h"
#include "poster/poster.h"
#include "pngsurface.h"

#ifndef ONESHEET_VERSION
#define ONESHEET_VERSION "dev"
#endif

static const char *const aspects[] = {"1:1", "2:3", "3:2", "4:5", "5:4",
                                      "16:9", "9:16", "21:9", "9:21"};
#define NASPECTS (sizeof aspects / sizeof *aspects)
static const char *const layouts[] = {"classic", "bold", "minimal"};

enum { ART_GRADIENT, ART_MIDGREY_NOISE, ART_WHITE, ART_PALE_STRIPES };

/* Synthetic art as PNG bytes: a colourful gradient, mid-grey noise (the
 * worst case for either light or dark type), flat white, or pale stripes. */
static void make_art(int w, int h, int kind, buf_t *out)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    cairo_t *cr = cairo_create(s);
    uint32_t seed = 12345;
    if (kind == ART_GRADIENT) {
        cairo_pattern_t *g = cairo_pattern_create_linear(0, 0, w, h);
        cairo_pattern_add_color_stop_rgb(g, 0, 0.9, 0.3, 0.1);
        cairo_pattern_add_color_stop_rgb(g, 1, 0.1, 0.3, 0.8);
        cairo_set_source(cr, g);
        cairo_paint(cr);
        cairo_pattern_destroy(g);
    } else if (kind == ART_WHITE) {
        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_paint(cr);
    } else if (kind == ART_PALE_STRIPES) {
        for (int x = 0; x < w; x += 16) {
            double v = (x / 16) % 2 ? 0.95 : 0.75;
            cairo_set_source_rgb(cr, v, v * 0.97, v * 0.8);
            cairo_rectangle(cr, x, 0, 16, h);
            cairo_fill(cr);
        }
    } else {
        cairo_surface_flush(s);
        unsigned char *d = cairo_image_surface_get_data(s);
        int stride = cairo_image_surface_get_stride(s);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                seed = seed * 1103515245u + 12345u;
                uint32_t v = 90 + (seed >> 16) % 90; /* 90..179: mid grey */
                ((uint32_t *)(d + (size_t)y * stride))[x] = v << 16 | v << 8 | v;
            }
        cairo_surface_mark_dirty(s);
    }
    cairo_destroy(cr);
    cairo_surface_flush(s);
    err_t e;
    buf_init(out);
    assert_int_equal(pngenc_rgb24(cairo_image_surface_get_data(s), w, h,
                                  cairo_image_surface_get_stride(s), NULL, 0, out, &e),
                     ERR_OK);
    cairo_surface_destroy(s);
}

static int overlap(poster_box_t a, poster_box_t b)
{
    return a.w > 0 && b.w > 0 && a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h &&
           b.y < a.y + a.h;
}

/* Composes in over art twice, with and without glyphs. */
static void compose_pair(poster_t *p, poster_input_t in, const buf_t *art, buf_t *with,
                         buf_t *without, poster_layout_t *lay)
{
    err_t e;
    poster_layout_t lay2;
    buf_init(with);
    buf_init(without);
    in.flags = 0;
    assert_int_equal(poster_compose(p, &in, art->data, art->len, with, lay, &e), ERR_OK);
    in.flags = POSTER_NO_GLYPHS;
    assert_int_equal(poster_compose(p, &in, art->data, art->len, without, &lay2, &e),
                     ERR_OK);
    assert_memory_equal(lay, &lay2, sizeof lay2); /* glyphs change nothing else */
}

/* Every pixel the glyphs changed lies inside the safe area. */
static void assert_glyphs_in_safe_area(const buf_t *with, const buf_t *without,
                                       const poster_layout_t *lay)
{
    cairo_surface_t *a = tu_png_surface(with), *b = tu_png_surface(without);
    int w = lay->width, h = lay->height, changed = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            if (tu_px(a, x, y) == tu_px(b, x, y))
                continue;
            changed++;
            if (x < lay->safe.x || x >= lay->safe.x + lay->safe.w || y < lay->safe.y ||
                y >= lay->safe.y + lay->safe.h)
                fail_msg("glyph pixel (%d,%d) outside the safe area %.0f,%.0f %.0fx%.0f", x,
                         y, lay->safe.x, lay->safe.y, lay->safe.w, lay->safe.h);
        }
    assert_true(changed > 100); /* the text was drawn at all */
    cairo_surface_destroy(a);
    cairo_surface_destroy(b);
}

static const struct {
    const char *what, *title, *tagline, *credits;
} texts[] = {
    {"long title",
     "The Extraordinarily Long and Winding Chronicle of the Lighthouse Keeper's "
     "Daughter Who Mapped Every Star Above the Northern Sea Before Dawn Broke",
     "Some maps lead home.", "Directed by A. Keeper"},
    {"many-line tagline", "Tides",
     "Line one of the tagline\nline two\nline three goes on and on\nline four\nline "
     "five\nline six: a tagline nobody should write, set anyway within its box",
     "Music by The Sea\nWritten by The Wind\nProduced by The Lamp\nand many more"},
    {"rtl", "\xd9\x85\xd8\xaf\xd9\x8a\xd9\x86\xd8\xa9 \xd8\xa7\xd9\x84\xd9\x84\xd9\x8a\xd9"
            "\x84 \xd7\xa2\xd7\x99\xd7\xa8 \xd7\x94\xd7\x9c\xd7\x99\xd7\x9c\xd7\x94",
     "\xd9\x83\xd9\x84 \xd8\xb6\xd9\x88\xd8\xa1 \xd9\x88\xd8\xb9\xd8\xaf \xd8\xa8\xd8\xa7"
     "\xd9\x84\xd8\xb9\xd9\x88\xd8\xaf\xd8\xa9 \xd8\xa5\xd9\x84\xd9\x89 \xd8\xa7\xd9\x84"
     "\xd8\xa8\xd9\x8a\xd8\xaa",
     "\xd8\xa5\xd8\xae\xd8\xb1\xd8\xa7\xd8\xac \xd8\xb3\xd8\xa7\xd8\xb1\xd8\xa9"},
    {"cjk", "\xe6\x9d\xb1\xe4\xba\xac\xe3\x81\xae\xe5\xa4\x9c\xe3\x81\xab\xe9\x99\x8d"
            "\xe3\x82\x8b\xe9\x9b\xa8\xe3\x81\xae\xe7\x89\xa9\xe8\xaa\x9e\xe3\x81\xa8"
            "\xe5\x85\x89\xe3\x81\xae\xe7\xb4\x84\xe6\x9d\x9f",
     "\xe5\x85\x89\xe3\x81\xaf\xe7\xb4\x84\xe6\x9d\x9f\xe3\x81\xa0\xe3\x80\x82\xe9\x9b"
     "\xa8\xe3\x81\xaf\xe8\xa8\x98\xe6\x86\xb6\xe3\x81\xa0\xe3\x80\x82",
     "\xe7\x9b\xa3\xe7\x9d\xa3 \xe5\xb1\xb1\xe7\x94\xb0\xe5\xa4\xaa\xe9\x83\x8e"},
    {"unbreakable", "Supercalifragilisticexpialidocious_and_then_some_more_letters_"
                    "without_any_space_at_all",
     NULL, "x"},
};
#define NTEXTS (sizeof texts / sizeof *texts)

static void text_stays_inside_the_safe_area_for_every_text_aspect_and_layout(void **state)
{
    (void)state;
    err_t e;
    poster_t *p = poster_open(&e);
    assert_non_null(p);
    for (size_t a = 0; a < NASPECTS; a++) {
        int w, h;
        assert_int_equal(engine_size_for_aspect(aspects[a], &w, &h), ERR_OK);
        buf_t art;
        make_art(w, h, ART_GRADIENT, &art);
        for (size_t l = 0; l < 3; l++)
            for (size_t t = 0; t < NTEXTS; t++)
                for (int draft = 0; draft < 2; draft++) {
                    poster_input_t in = {.title = texts[t].title, .tagline = texts[t].tagline,
                                         .credits = texts[t].credits, .layout = layouts[l],
                                         .draft = draft, .seed = -1,
                                         .notes = draft ? "A lighthouse at dusk, oils" : NULL,
                                         .notes_label = "ART DIRECTION"};
                    buf_t out = BUF_INIT;
                    poster_layout_t lay;
                    assert_int_equal(poster_compose(p, &in, art.data, art.len, &out, &lay, &e),
                                     ERR_OK);
                    assert_true(lay.composed);
                    assert_true(tu_box_inside(lay.safe, (poster_box_t){0, 0, w, h}));
                    for (int b = 0; b < POSTER__NBLOCKS; b++) {
                        if (lay.block[b].w <= 0)
                            continue;
                        if (!tu_box_inside(lay.block[b], lay.safe))
                            fail_msg("%s %s %s draft=%d: block %d at %.0f,%.0f %.0fx%.0f "
                                     "leaves the safe area",
                                     aspects[a], layouts[l], texts[t].what, draft, b,
                                     lay.block[b].x, lay.block[b].y, lay.block[b].w,
                                     lay.block[b].h);
                        for (int c = b + 1; c < POSTER__NBLOCKS; c++)
                            if (overlap(lay.block[b], lay.block[c]))
                                fail_msg("%s %s %s: blocks %d and %d overlap", aspects[a],
                                         layouts[l], texts[t].what, b, c);
                    }
                    assert_true(lay.block[POSTER_TITLE].w > 0);
                    buf_free(&out);
                }
        buf_free(&art);
    }
    poster_close(p);
}

/* The boxes are only as good as the drawing: check the glyphs' pixels. */
static void glyph_pixels_never_leave_the_safe_area(void **state)
{
    (void)state;
    err_t e;
    poster_t *p = poster_open(&e);
    for (size_t a = 0; a < NASPECTS; a++) {
        int w, h;
        engine_size_for_aspect(aspects[a], &w, &h);
        buf_t art, with, without;
        make_art(w, h, ART_GRADIENT, &art);
        size_t t = a % NTEXTS;
        poster_input_t in = {.title = texts[t].title, .tagline = texts[t].tagline,
                             .credits = texts[t].credits, .layout = layouts[a % 3],
                             .draft = a % 2, .seed = -1};
        poster_layout_t lay;
        compose_pair(p, in, &art, &with, &without, &lay);
        assert_glyphs_in_safe_area(&with, &without, &lay);
        buf_free(&art);
        buf_free(&with);
        buf_free(&without);
    }
    poster_close(p);
}

/* The worst WCAG contrast between a block's ink, read off the rendered
 * glyphs, and every pixel behind the block. */
static double measured_contrast(cairo_surface_t *with, cairo_surface_t *without,
                                poster_box_t b)
{
    int x0 = (int)floor(b.x), y0 = (int)floor(b.y);
    int x1 = (int)ceil(b.x + b.w), y1 = (int)ceil(b.y + b.h);
    double best = -1, ink = 0, worst = 21;
    /* The ink: the glyph pixel that moved furthest from what was behind it
     * (the inside of a stroke is the pure text colour). */
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            double d = fabs(tu_lum8(tu_px(with, x, y)) - tu_lum8(tu_px(without, x, y)));
            if (d > best) {
                best = d;
                ink = tu_lum8(tu_px(with, x, y));
            }
        }
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            double r = poster_contrast_ratio(ink, tu_lum8(tu_px(without, x, y)));
            if (r < worst)
                worst = r;
        }
    return worst;
}

static void low_contrast_art_still_gets_readable_text(void **state)
{
    (void)state;
    err_t e;
    poster_t *p = poster_open(&e);
    static const int kinds[] = {ART_MIDGREY_NOISE, ART_WHITE, ART_PALE_STRIPES,
                                ART_GRADIENT};
    for (size_t k = 0; k < 4; k++)
        for (size_t l = 0; l < 3; l++) {
            const char *aspect = aspects[(k * 3 + l) % NASPECTS];
            int w, h;
            engine_size_for_aspect(aspect, &w, &h);
            buf_t art, with, without;
            make_art(w, h, kinds[k], &art);
            poster_input_t in = {.title = "Low Contrast", .tagline = "Still readable.",
                                 .credits = "Directed by Nobody In Particular",
                                 .layout = layouts[l], .seed = -1};
            poster_layout_t lay;
            compose_pair(p, in, &art, &with, &without, &lay);
            cairo_surface_t *a = tu_png_surface(&with), *b = tu_png_surface(&without);
            for (int i = 0; i < POSTER__NBLOCKS; i++) {
                if (lay.block[i].w <= 0)
                    continue;
                double c = measured_contrast(a, b, lay.block[i]);
                if (c < POSTER_MIN_CONTRAST)
                    fail_msg("art %zu %s %s block %d: contrast %.2f < 4.5 (scrim %.2f)", k,
                             aspect, layouts[l], i, c, lay.scrim_alpha[i]);
                assert_true(lay.contrast[i] >= POSTER_MIN_CONTRAST);
            }
            cairo_surface_destroy(a);
            cairo_surface_destroy(b);
            buf_free(&art);
            buf_free(&with);
            buf_free(&without);
        }
    poster_close(p);
}

/* ---- metadata ---- */

static void metadata_round_trips(void **state)
{
    (void)state;
    static const char *const prompt =
        "Caf\xc3\xa9 at midnight \xe2\x80\x94 \xe6\x9d\xb1\xe4\xba\xac, neon";
    err_t e;
    poster_t *p = poster_open(&e);
    buf_t art, out = BUF_INIT;
    make_art(832, 1248, ART_GRADIENT, &art);
    poster_input_t in = {.title = "Caf\xc3\xa9 Noir", .prompt = prompt,
                         .negative_prompt = "blurry, text", .model = "stability.sd3-5-large-v1:0",
                         .job_id = "job-7f3a", .seed = 4294967294LL};
    assert_int_equal(poster_compose(p, &in, art.data, art.len, &out, NULL, &e), ERR_OK);
    tu_png_texts_t t;
    tu_png_read_texts(&out, 10, &t);
    assert_int_equal(t.n, 7);
    assert_string_equal(t.key[0], "Software");
    assert_string_equal(t.value[0], "onesheet " ONESHEET_VERSION);
    assert_string_equal(tu_png_text(&t, "Title"), "Caf\xc3\xa9 Noir");
    assert_string_equal(tu_png_text(&t, "onesheet:prompt"), prompt);
    assert_string_equal(tu_png_text(&t, "onesheet:negative_prompt"), "blurry, text");
    assert_string_equal(tu_png_text(&t, "onesheet:model"), "stability.sd3-5-large-v1:0");
    assert_string_equal(tu_png_text(&t, "onesheet:seed"), "4294967294");
    assert_string_equal(tu_png_text(&t, "onesheet:job"), "job-7f3a");
    tu_png_texts_free(&t);

    /* Absent values write no chunk (and with no text the chunk is spliced
     * in after the image data). */
    poster_input_t bare = {.seed = -1};
    poster_layout_t lay;
    buf_reset(&out);
    assert_int_equal(poster_compose(p, &bare, art.data, art.len, &out, &lay, &e), ERR_OK);
    assert_true(lay.spliced);
    tu_png_read_all_texts(&out, 10, &t);
    assert_int_equal(t.n, 1);
    assert_string_equal(t.key[0], "Software");
    tu_png_texts_free(&t);
    buf_free(&out);
    buf_free(&art);
    poster_close(p);
}

/* The worker's path: the draft engine's art, composed from the spec. */
static void draft_jobs_get_a_title_and_art_direction_real_art_gets_only_its_text(void **state)
{
    (void)state;
    err_t e;
    poster_t *p = poster_open(&e);
    engine_t *eng = engine_open("draft", &e);
    job_spec_t s;
    job_spec_init(&s);
    snprintf(s.aspect_ratio, sizeof s.aspect_ratio, "2:3");
    snprintf(s.output_format, sizeof s.output_format, "png");
    s.prompt = "A lighthouse at dusk, oils";
    s.negative_prompt = "people";
    s.seed = 42;
    engine_result_t r;
    engine_result_init(&r);
    assert_int_equal(engine_generate(eng, &s, "j1", &r, &e), ERR_OK);
    buf_t out = BUF_INIT, again = BUF_INIT;
    const char *ct, *ext;
    poster_layout_t lay;
    assert_int_equal(poster_for_job(p, &s, "j1", &r, &out, &ct, &ext, &lay, &e), ERR_OK);
    assert_string_equal(ct, "image/png");
    assert_string_equal(ext, "png");
    assert_true(lay.composed && !lay.spliced);
    assert_true(lay.block[POSTER_TITLE].w > 0);
    assert_true(lay.block[POSTER_NOTES].w > 0);
    assert_true(lay.block[POSTER_TAGLINE].w == 0);
    tu_png_texts_t t;
    tu_png_read_texts(&out, 10, &t);
    assert_string_equal(tu_png_text(&t, "onesheet:model"), "draft");
    assert_string_equal(tu_png_text(&t, "onesheet:seed"), "42");
    assert_string_equal(tu_png_text(&t, "onesheet:job"), "j1");
    assert_string_equal(tu_png_text(&t, "onesheet:negative_prompt"), "people");
    tu_png_texts_free(&t);
    /* Same job, same bytes. */
    assert_int_equal(poster_for_job(p, &s, "j1", &r, &again, &ct, &ext, NULL, &e), ERR_OK);
    assert_int_equal(out.len, again.len);
    assert_memory_equal(out.data, again.data, out.len);

    /* Art from a model, no text asked for: no text set, the metadata
     * spliced into the art. */
    snprintf(r.model, sizeof r.model, "stability.sd3-5-large-v1:0");
    buf_reset(&out);
    assert_int_equal(poster_for_job(p, &s, "j1", &r, &out, &ct, &ext, &lay, &e), ERR_OK);
    assert_true(lay.spliced && !lay.composed);
    for (int i = 0; i < POSTER__NBLOCKS; i++)
        assert_true(lay.block[i].w == 0);
    s.title = "The Keeper";
    buf_reset(&out);
    assert_int_equal(poster_for_job(p, &s, "j1", &r, &out, &ct, &ext, &lay, &e), ERR_OK);
    assert_true(lay.composed && !lay.spliced);
    assert_true(lay.block[POSTER_TITLE].w > 0);
    assert_true(lay.block[POSTER_NOTES].w == 0);
    buf_free(&out);
    buf_free(&again);
    engine_result_free(&r);
    engine_close(eng);
    poster_close(p);
}

/* JPEG and WebP art is decoded: test_poster_decode.c. */
static void garbage_and_cut_png_art_is_invalid(void **state)
{
    (void)state;
    err_t e;
    poster_t *p = poster_open(&e);
    poster_input_t in = {.title = "T", .seed = -1};
    poster_layout_t lay;
    buf_t out = BUF_INIT;
    assert_int_equal(poster_compose(p, &in, "not an image", 12, &out, &lay, &e),
                     ERR_INVALID);
    assert_int_equal(out.len, 0);
    /* A PNG signature and header over a cut body does not decode. */
    buf_t art;
    make_art(64, 64, ART_WHITE, &art);
    assert_int_equal(poster_compose(p, &in, art.data, art.len / 2, &out, &lay, &e),
                     ERR_INVALID);
    assert_int_equal(out.len, 0);
    buf_free(&art);
    buf_free(&out);
    poster_close(p);
}

static void thumbnail_fits_its_box_and_keeps_the_aspect(void **state)
{
    (void)state;
    err_t e;
    buf_t art, th = BUF_INIT;
    int w = 0, h = 0;
    make_art(832, 1248, ART_GRADIENT, &art);
    assert_int_equal(poster_thumbnail(art.data, art.len, 320, 320, &th, &w, &h, &e), ERR_OK);
    assert_int_equal(h, 320);
    assert_int_equal(w, 213);
    cairo_surface_t *s = tu_png_surface(&th);
    assert_int_equal(cairo_image_surface_get_width(s), 213);
    cairo_surface_destroy(s);
    buf_reset(&th);
    assert_int_equal(poster_thumbnail("\xff\xd8\xff", 3, 320, 320, &th, &w, &h, &e),
                     ERR_INVALID);
    buf_free(&th);
    buf_free(&art);
}

static void contrast_ratio_matches_wcag(void **state)
{
    (void)state;
    assert_true(fabs(poster_contrast_ratio(poster_luminance(1, 1, 1),
                                           poster_luminance(0, 0, 0)) - 21) < 1e-9);
    /* #777777 on white is the textbook 4.48:1. */
    double g = poster_luminance(0x77 / 255.0, 0x77 / 255.0, 0x77 / 255.0);
    assert_true(fabs(poster_contrast_ratio(g, 1) - 4.48) < 0.01);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(contrast_ratio_matches_wcag),
        cmocka_unit_test(text_stays_inside_the_safe_area_for_every_text_aspect_and_layout),
        cmocka_unit_test(glyph_pixels_never_leave_the_safe_area),
        cmocka_unit_test(low_contrast_art_still_gets_readable_text),
        cmocka_unit_test(metadata_round_trips),
        cmocka_unit_test(draft_jobs_get_a_title_and_art_direction_real_art_gets_only_its_text),
        cmocka_unit_test(garbage_and_cut_png_art_is_invalid),
        cmocka_unit_test(thumbnail_fits_its_box_and_keeps_the_aspect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
