/* Tests for reframe.c (issue 20's renditions): each rendition has its
 * ratio; the crop follows the art's detail (a subject off centre is kept,
 * where a centre crop would cut it); ratios far off are extended with fill
 * drawn from the art; the text of every rendition stays in its safe area
 * with contrast >= 4.5:1 measured on the pixels; draft proofs get their
 * DRAFT bands at the rendition's size; bad input is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_draft.h"
#include "jobs/rendition.h"
#include "poster/pngenc.h"
#include "poster/reframe.h"
#include "pngsurface.h"

static const char *const ratios[] = {"16:9", "1:1", "21:9", "2:3", "3:2",
                                     "4:5",  "5:4", "9:16", "9:21"};
#define NRATIOS (sizeof ratios / sizeof *ratios)

/* Art w x h: a flat dusky blue with, when sw > 0, a subject -- a black and
 * white checkerboard of 16 px squares -- filling the box (sx, sy, sw, sh). */
static void make_art(int w, int h, int sx, int sy, int sw, int sh, buf_t *out)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 0.2, 0.3, 0.5);
    cairo_paint(cr);
    for (int y = sy; sw > 0 && y < sy + sh; y += 16)
        for (int x = sx; x < sx + sw; x += 16) {
            int on = ((x - sx) / 16 + (y - sy) / 16) % 2;
            cairo_set_source_rgb(cr, on, on, on);
            cairo_rectangle(cr, x, y, 16, 16);
            cairo_fill(cr);
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

/* Pixels of the reframed image that are pure black or white: the subject's. */
static long subject_pixels(const buf_t *png)
{
    cairo_surface_t *s = tu_png_surface(png);
    int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
    long n = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint32_t p = tu_px(s, x, y);
            n += p == 0x000000 || p == 0xffffff;
        }
    cairo_surface_destroy(s);
    return n;
}

static int box_contains(poster_box_t outer, double x0, double y0, double x1, double y1)
{
    return outer.x <= x0 && outer.y <= y0 && outer.x + outer.w >= x1 &&
           outer.y + outer.h >= y1;
}

static void crop_keeps_a_subject_off_centre(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        int aw, ah;            /* the art */
        int sx, sy, sw, sh;    /* its subject */
        const char *ratio;
        int extended;
    } cases[] = {
        /* 1:1 to 4:5 cuts 20% of the width: a centre crop would start at
         * x = 102 and cut the subject at 40..200 in half. */
        {"square art, subject at the left, to 4:5", 1024, 1024, 40, 432, 160, 160, "4:5", 0},
        {"square art, subject at the right, to 4:5", 1024, 1024, 830, 100, 160, 160, "4:5", 0},
        /* 2:3 to 4:5 cuts 17% of the height; the subject is at the foot. */
        {"portrait art, subject at the foot, to 4:5", 832, 1248, 336, 1060, 160, 160, "4:5", 0},
        /* 16:9 to 9:16 is far off: at most a quarter is cut, the rest fill;
         * the subject at the right edge is kept. */
        {"wide art, subject at the right, to 9:16", 1344, 768, 1150, 300, 160, 160, "9:16", 1},
        {"tall art, subject at the top, to 16:9", 832, 1248, 336, 40, 160, 160, "16:9", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        buf_t art, out = BUF_INIT;
        reframe_info_t info;
        err_t e;
        int w, h;
        make_art(cases[i].aw, cases[i].ah, cases[i].sx, cases[i].sy, cases[i].sw,
                 cases[i].sh, &art);
        assert_true(rendition_size(cases[i].ratio, &w, &h));
        assert_int_equal(reframe_image(art.data, art.len, w, h, &out, &info, &e), ERR_OK);
        if (!box_contains(info.crop, cases[i].sx, cases[i].sy, cases[i].sx + cases[i].sw,
                          cases[i].sy + cases[i].sh))
            fail_msg("%s: crop %.0f,%.0f %.0fx%.0f cuts the subject", cases[i].what,
                     info.crop.x, info.crop.y, info.crop.w, info.crop.h);
        assert_int_equal(info.extended, cases[i].extended);
        assert_int_equal(info.width, w);
        assert_int_equal(info.height, h);
        /* No more than REFRAME_CROP_MAX of a side is cut. */
        assert_true(info.crop.w >= cases[i].aw * (1 - REFRAME_CROP_MAX) - 1);
        assert_true(info.crop.h >= cases[i].ah * (1 - REFRAME_CROP_MAX) - 1);
        /* On the pixels: the whole subject, scaled, is there. */
        double sc = info.place.w / info.crop.w;
        long want = (long)(cases[i].sw * cases[i].sh * sc * sc);
        long got = subject_pixels(&out);
        if (got < want * 0.7)
            fail_msg("%s: %ld subject pixels, want about %ld", cases[i].what, got, want);
        buf_free(&art);
        buf_free(&out);
    }
}

static void flat_art_is_cut_evenly(void **state)
{
    (void)state;
    buf_t art, out = BUF_INIT;
    reframe_info_t info;
    err_t e;
    make_art(1024, 1024, 0, 0, 0, 0, &art);
    assert_int_equal(reframe_image(art.data, art.len, 896, 1120, &out, &info, &e), ERR_OK);
    assert_true(fabs(info.crop.x - (1024 - info.crop.w) / 2) <= 8);
    buf_free(&art);
    buf_free(&out);
}

static void far_off_ratios_are_filled_from_the_art(void **state)
{
    (void)state;
    buf_t art, out = BUF_INIT;
    reframe_info_t info;
    err_t e;
    make_art(832, 1248, 0, 0, 0, 0, &art);
    assert_int_equal(reframe_image(art.data, art.len, 1280, 720, &out, &info, &e), ERR_OK);
    assert_true(info.extended);
    /* Landscape: the art at the right, the fill (the text column) at the left. */
    assert_true(info.place.x + info.place.w >= 1279.5);
    assert_true(info.place.x > 200);
    cairo_surface_t *s = tu_png_surface(&out);
    /* The fill is the art's blue, dimmed: not black, still blue. */
    uint32_t p = tu_px(s, 20, 360);
    int r = (p >> 16) & 255, b = p & 255;
    if (!(b > 60 && b > r + 30))
        fail_msg("fill pixel %06x is not drawn from the art", p);
    cairo_surface_destroy(s);
    buf_free(&art);
    buf_free(&out);
}

/* Composes in over art for ratio, with and without glyphs. */
static void compose_pair(poster_t *p, poster_input_t in, const buf_t *art, const char *ratio,
                         buf_t *with, buf_t *without, poster_layout_t *lay)
{
    err_t e;
    poster_layout_t lay2;
    buf_init(with);
    buf_init(without);
    in.flags = 0;
    assert_int_equal(reframe_compose(p, &in, art->data, art->len, ratio, "footer", with, lay,
                                     NULL, &e), ERR_OK);
    in.flags = POSTER_NO_GLYPHS;
    assert_int_equal(reframe_compose(p, &in, art->data, art->len, ratio, "footer", without,
                                     &lay2, NULL, &e), ERR_OK);
    assert_memory_equal(lay, &lay2, sizeof lay2);
}

/* The worst contrast between a block's ink (the glyph pixel furthest from
 * what was behind it) and every pixel behind the block. */
static double measured_contrast(cairo_surface_t *with, cairo_surface_t *without,
                                poster_box_t b)
{
    int x0 = (int)floor(b.x), y0 = (int)floor(b.y);
    int x1 = (int)ceil(b.x + b.w), y1 = (int)ceil(b.y + b.h);
    double best = -1, ink = 0, worst = 21;
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

static void every_rendition_sets_readable_text_in_its_safe_area(void **state)
{
    (void)state;
    err_t e;
    poster_t *p = poster_open(&e);
    buf_t art;
    /* Off-centre subject on flat colour, from a 2:3 generation. */
    make_art(832, 1248, 520, 200, 240, 240, &art);
    for (size_t r = 0; r < NRATIOS; r++)
        for (int draft = 0; draft < 2; draft++) {
            buf_t with, without;
            poster_layout_t lay;
            poster_input_t in = {.title = "Renditions", .tagline = "One picture, every shape.",
                                 .credits = "Directed by A. Crop", .draft = draft,
                                 .layout = r % 3 == 0 ? "bold" : r % 3 == 1 ? "minimal" : NULL,
                                 .seed = -1};
            compose_pair(p, in, &art, ratios[r], &with, &without, &lay);
            int w, h;
            assert_true(rendition_size(ratios[r], &w, &h));
            cairo_surface_t *a = tu_png_surface(&with), *b = tu_png_surface(&without);
            assert_int_equal(cairo_image_surface_get_width(a), w);
            assert_int_equal(cairo_image_surface_get_height(a), h);
            int changed = 0;
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    if (tu_px(a, x, y) == tu_px(b, x, y))
                        continue;
                    changed++;
                    if (x < lay.safe.x || x >= lay.safe.x + lay.safe.w || y < lay.safe.y ||
                        y >= lay.safe.y + lay.safe.h)
                        fail_msg("%s draft=%d: glyph pixel (%d,%d) outside the safe area",
                                 ratios[r], draft, x, y);
                }
            assert_true(changed > 100);
            for (int i = 0; i < POSTER__NBLOCKS; i++) {
                if (lay.block[i].w <= 0)
                    continue;
                double c = measured_contrast(a, b, lay.block[i]);
                if (c < POSTER_MIN_CONTRAST)
                    fail_msg("%s draft=%d block %d: contrast %.2f < 4.5", ratios[r], draft, i,
                             c);
            }
            if (draft) {
                /* The DRAFT bands, repainted at this size: yellow at the
                 * centre of the head and foot. */
                uint32_t top = tu_px(a, w / 2 + w / 4, 2), foot = tu_px(a, w / 2 + w / 4, h - 3);
                assert_true(((top >> 16) & 255) > 200 && ((top >> 8) & 255) > 170);
                assert_true(((foot >> 16) & 255) > 200 && ((foot >> 8) & 255) > 170);
            }
            cairo_surface_destroy(a);
            cairo_surface_destroy(b);
            buf_free(&with);
            buf_free(&without);
        }
    buf_free(&art);
    poster_close(p);
}

static void draft_proofs_show_each_rendition_with_the_job_text(void **state)
{
    (void)state;
    err_t e;
    engine_t *eng = engine_draft_open(&e);
    poster_t *p = poster_open(&e);
    job_spec_t spec;
    engine_result_t res;
    job_spec_init(&spec);
    spec.prompt = strdup("A lighthouse at dusk, storm clouds");
    spec.title = strdup("The Keeper");
    assert_int_equal(job_spec_normalise(&spec, NULL, &e), ERR_OK);
    engine_result_init(&res);
    assert_int_equal(engine_generate(eng, &spec, "j1", &res, &e), ERR_OK);
    for (size_t r = 0; r < NRATIOS; r++) {
        buf_t out = BUF_INIT, again = BUF_INIT;
        poster_layout_t lay;
        assert_int_equal(reframe_for_job(p, &spec, "j1", &res, ratios[r], &out, &lay, &e),
                         ERR_OK);
        int w, h;
        rendition_size(ratios[r], &w, &h);
        assert_int_equal(lay.width, w);
        assert_int_equal(lay.height, h);
        assert_true(lay.block[POSTER_TITLE].w > 0);
        assert_true(lay.block[POSTER_NOTES].w > 0 || w > h); /* art direction */
        /* Same input, same bytes. */
        assert_int_equal(reframe_for_job(p, &spec, "j1", &res, ratios[r], &again, NULL, &e),
                         ERR_OK);
        assert_int_equal(out.len, again.len);
        assert_memory_equal(out.data, again.data, out.len);
        buf_free(&out);
        buf_free(&again);
    }
    engine_result_free(&res);
    job_spec_free(&spec);
    poster_close(p);
    engine_close(eng);
}

static void bad_input_is_refused(void **state)
{
    (void)state;
    err_t e;
    poster_t *p = poster_open(&e);
    buf_t art, out = BUF_INIT;
    make_art(64, 96, 0, 0, 0, 0, &art);
    poster_input_t in = {.title = "x", .seed = -1};
    assert_int_equal(reframe_compose(p, &in, art.data, art.len, "4:3", NULL, &out, NULL, NULL,
                                     &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "renditions: unknown ratio"));
    assert_int_equal(reframe_compose(p, &in, "not an image", 12, "1:1", NULL, &out, NULL,
                                     NULL, &e), ERR_INVALID);
    assert_int_equal(reframe_compose(p, &in, art.data, art.len / 2, "1:1", NULL, &out, NULL,
                                     NULL, &e), ERR_INVALID);
    assert_int_equal(reframe_image(art.data, art.len, 8, 8, &out, NULL, &e), ERR_INVALID);
    assert_int_equal(reframe_image(art.data, art.len, 20000, 100, &out, NULL, &e),
                     ERR_INVALID);
    assert_int_equal(out.len, 0);
    /* Tiny art still reframes. */
    assert_int_equal(reframe_image(art.data, art.len, 160, 90, &out, NULL, &e), ERR_OK);
    buf_free(&out);
    buf_free(&art);
    poster_close(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crop_keeps_a_subject_off_centre),
        cmocka_unit_test(flat_art_is_cut_evenly),
        cmocka_unit_test(far_off_ratios_are_filled_from_the_art),
        cmocka_unit_test(every_rendition_sets_readable_text_in_its_safe_area),
        cmocka_unit_test(draft_proofs_show_each_rendition_with_the_job_text),
        cmocka_unit_test(bad_input_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
