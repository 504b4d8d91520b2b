/* Tests for poster_decode.c through poster.h: JPEG and WebP art is
 * composed exactly like PNG art (a PNG poster the art's size, text in the
 * safe area, readable, metadata in it), decoded pixels are the art's, and
 * cut, corrupt or oversized JPEG and WebP is refused with ERR_INVALID and a
 * message, never a crash or an exit().  The art is made here with libjpeg
 * and libwebp's encoders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <webp/encode.h>

#include "pngtext.h"
#include "poster/poster.h"
#include "pngsurface.h"

enum { FMT_JPEG, FMT_JPEG_GREY_PROGRESSIVE, FMT_WEBP_LOSSY, FMT_WEBP_LOSSLESS, NFMTS };
static const char *const fmt_names[] = {"jpeg", "jpeg grey progressive", "webp lossy",
                                        "webp lossless"};

/* Art: a diagonal gradient with mid-grey noise over its lower half (the
 * worst case for type), or four flat quadrants red, green, blue, white. */
static cairo_surface_t *paint_art(int w, int h, int quadrants)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    cairo_t *cr = cairo_create(s);
    if (quadrants) {
        static const double c[4][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 1}};
        for (int i = 0; i < 4; i++) {
            cairo_set_source_rgb(cr, c[i][0], c[i][1], c[i][2]);
            cairo_rectangle(cr, (i % 2) * w / 2.0, (i / 2) * h / 2.0, w / 2.0, h / 2.0);
            cairo_fill(cr);
        }
    } else {
        cairo_pattern_t *g = cairo_pattern_create_linear(0, 0, w, h);
        cairo_pattern_add_color_stop_rgb(g, 0, 0.9, 0.3, 0.1);
        cairo_pattern_add_color_stop_rgb(g, 1, 0.1, 0.3, 0.8);
        cairo_set_source(cr, g);
        cairo_paint(cr);
        cairo_pattern_destroy(g);
        cairo_surface_flush(s);
        unsigned char *d = cairo_image_surface_get_data(s);
        uint32_t seed = 7;
        for (int y = h / 2; y < h; y++)
            for (int x = 0; x < w; x++) {
                seed = seed * 1103515245u + 12345u;
                uint32_t v = 90 + (seed >> 16) % 90;
                ((uint32_t *)(d + (size_t)y * cairo_image_surface_get_stride(s)))[x] =
                    v << 16 | v << 8 | v;
            }
        cairo_surface_mark_dirty(s);
    }
    cairo_destroy(cr);
    cairo_surface_flush(s);
    return s;
}

/* The poster as pixels: it must be a PNG. */
static cairo_surface_t *poster_pixels(const buf_t *png)
{
    assert_true(png->len > 8 && memcmp(png->data, "\x89PNG", 4) == 0);
    return tu_png_surface(png);
}

static void encode_jpeg(cairo_surface_t *s, int grey_progressive, buf_t *out)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    unsigned char *mem = NULL;
    unsigned long size = 0;
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &mem, &size);
    c.image_width = (JDIMENSION)cairo_image_surface_get_width(s);
    c.image_height = (JDIMENSION)cairo_image_surface_get_height(s);
    c.input_components = 4;
    c.in_color_space = JCS_EXT_BGRX;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 92, TRUE);
    if (grey_progressive) {
        jpeg_set_colorspace(&c, JCS_GRAYSCALE);
        jpeg_simple_progression(&c);
    }
    jpeg_start_compress(&c, TRUE);
    unsigned char *d = cairo_image_surface_get_data(s);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = d + (size_t)c.next_scanline * cairo_image_surface_get_stride(s);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    buf_init(out);
    assert_int_equal(buf_append(out, mem, size), ERR_OK);
    free(mem);
}

/* bgra: w x h non-premultiplied B, G, R, A bytes, rows stride apart. */
static void encode_webp(const unsigned char *bgra, int w, int h, int stride, int lossless,
                        buf_t *out)
{
    uint8_t *mem = NULL;
    size_t n = lossless ? WebPEncodeLosslessBGRA(bgra, w, h, stride, &mem)
                        : WebPEncodeBGRA(bgra, w, h, stride, 90, &mem);
    assert_true(n > 0);
    buf_init(out);
    assert_int_equal(buf_append(out, mem, n), ERR_OK);
    WebPFree(mem);
}

/* s's pixels in format fmt. */
static void encode_art(cairo_surface_t *s, int fmt, buf_t *out)
{
    if (fmt == FMT_JPEG || fmt == FMT_JPEG_GREY_PROGRESSIVE) {
        encode_jpeg(s, fmt == FMT_JPEG_GREY_PROGRESSIVE, out);
        return;
    }
    /* RGB24 bytes are B, G, R, x on little-endian; make x opaque. */
    int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
    int stride = cairo_image_surface_get_stride(s);
    unsigned char *px = malloc((size_t)stride * h);
    memcpy(px, cairo_image_surface_get_data(s), (size_t)stride * h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            ((uint32_t *)(px + (size_t)y * stride))[x] |= 0xff000000u;
    encode_webp(px, w, h, stride, fmt == FMT_WEBP_LOSSLESS, out);
    free(px);
}

/* The worst contrast between a block's ink (the glyph pixel furthest from
 * what is behind it) and every pixel behind the block. */
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
        for (int x = x0; x < x1; x++)
            worst = fmin(worst, poster_contrast_ratio(ink, tu_lum8(tu_px(without, x, y))));
    return worst;
}

static void jpeg_and_webp_art_is_composed_like_png(void **state)
{
    (void)state;
    static const int sizes[][2] = {{832, 1248}, {1344, 768}, {1024, 1024}};
    err_t e;
    poster_t *p = poster_open(&e);
    assert_non_null(p);
    for (int f = 0; f < NFMTS; f++)
        for (int z = 0; z < 3; z++) {
            int w = sizes[z][0], h = sizes[z][1];
            cairo_surface_t *src = paint_art(w, h, 0);
            buf_t art, with = BUF_INIT, without = BUF_INIT;
            encode_art(src, f, &art);
            cairo_surface_destroy(src);
            poster_input_t in = {.title = "Grey Noise", .tagline = "Read me anyway.",
                                 .credits = "Directed by A. Decoder", .layout = "classic",
                                 .prompt = "noise over a gradient", .model = "test-model",
                                 .job_id = "job-dec", .seed = 99};
            poster_layout_t lay, lay2;
            assert_int_equal(poster_compose(p, &in, art.data, art.len, &with, &lay, &e),
                             ERR_OK);
            in.flags = POSTER_NO_GLYPHS;
            assert_int_equal(
                poster_compose(p, &in, art.data, art.len, &without, &lay2, &e), ERR_OK);
            assert_true(lay.composed);
            assert_false(lay.spliced);
            assert_int_equal(lay.width, w);
            assert_int_equal(lay.height, h);
            cairo_surface_t *a = poster_pixels(&with), *b = poster_pixels(&without);
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
                        fail_msg("%s %dx%d: glyph pixel (%d,%d) outside the safe area",
                                 fmt_names[f], w, h, x, y);
                }
            assert_true(changed > 100);
            for (int i = 0; i < POSTER__NBLOCKS; i++) {
                if (lay.block[i].w <= 0)
                    continue;
                assert_true(tu_box_inside(lay.block[i], lay.safe));
                double c = measured_contrast(a, b, lay.block[i]);
                if (c < POSTER_MIN_CONTRAST || lay.contrast[i] < POSTER_MIN_CONTRAST)
                    fail_msg("%s %dx%d block %d: contrast %.2f (layout says %.2f)",
                             fmt_names[f], w, h, i, c, lay.contrast[i]);
            }
            assert_true(lay.block[POSTER_TITLE].w > 0 && lay.block[POSTER_CREDITS].w > 0);
            tu_png_texts_t t;
            tu_png_read_texts(&with, 10, &t);
            assert_int_equal(t.n, 6);
            assert_string_equal(tu_png_text(&t, "Title"), "Grey Noise");
            assert_string_equal(tu_png_text(&t, "onesheet:prompt"), "noise over a gradient");
            assert_string_equal(tu_png_text(&t, "onesheet:model"), "test-model");
            assert_string_equal(tu_png_text(&t, "onesheet:seed"), "99");
            assert_string_equal(tu_png_text(&t, "onesheet:job"), "job-dec");
            tu_png_texts_free(&t);
            cairo_surface_destroy(a);
            cairo_surface_destroy(b);
            buf_free(&art);
            buf_free(&with);
            buf_free(&without);
        }
    poster_close(p);
}

/* With no text the poster's pixels are the decoded art: exactly, for
 * lossless WebP; within JPEG's loss for JPEG (which also proves the
 * channels are not swapped). */
static void decoded_pixels_are_the_art(void **state)
{
    (void)state;
    err_t e;
    poster_t *p = poster_open(&e);
    poster_input_t in = {.seed = -1};
    cairo_surface_t *src = paint_art(96, 64, 1);
    for (int f = 0; f < NFMTS; f++) {
        buf_t art, out = BUF_INIT;
        poster_layout_t lay;
        encode_art(src, f, &art);
        assert_int_equal(poster_compose(p, &in, art.data, art.len, &out, &lay, &e), ERR_OK);
        assert_true(lay.composed);
        cairo_surface_t *got = poster_pixels(&out);
        int tol = f == FMT_WEBP_LOSSLESS ? 0 : 12;
        for (int y = 4; y < 60; y++)
            for (int x = 4; x < 92; x++) {
                if (abs(x - 48) < 4 || abs(y - 32) < 4)
                    continue; /* lossy edges between the quadrants */
                uint32_t want = tu_px(src, x, y), have = tu_px(got, x, y);
                if (f == FMT_JPEG_GREY_PROGRESSIVE) {
                    int l = (int)lround(255 * (0.299 * (want >> 16 & 255) / 255 +
                                               0.587 * (want >> 8 & 255) / 255 +
                                               0.114 * (want & 255) / 255));
                    want = (uint32_t)l << 16 | (uint32_t)l << 8 | (uint32_t)l;
                }
                for (int sh = 0; sh <= 16; sh += 8)
                    if (abs((int)(want >> sh & 255) - (int)(have >> sh & 255)) > tol)
                        fail_msg("%s (%d,%d): %06x, want %06x", fmt_names[f], x, y, have,
                                 want);
            }
        cairo_surface_destroy(got);
        buf_free(&art);
        buf_free(&out);
    }
    cairo_surface_destroy(src);

    /* Translucent WebP is flattened onto black: premultiplied values. */
    unsigned char bgra[4 * 4 * 4];
    for (int i = 0; i < 16; i++) {
        bgra[4 * i] = 200, bgra[4 * i + 1] = 100, bgra[4 * i + 2] = 50;
        bgra[4 * i + 3] = 128;
    }
    buf_t art, out = BUF_INIT;
    encode_webp(bgra, 4, 4, 16, 1, &art);
    assert_int_equal(poster_compose(p, &in, art.data, art.len, &out, NULL, &e), ERR_OK);
    cairo_surface_t *got = poster_pixels(&out);
    uint32_t v = tu_px(got, 1, 1);
    assert_true(abs((int)(v >> 16 & 255) - 25) <= 1);
    assert_true(abs((int)(v >> 8 & 255) - 50) <= 1);
    assert_true(abs((int)(v & 255) - 100) <= 1);
    cairo_surface_destroy(got);
    buf_free(&art);
    buf_free(&out);
    poster_close(p);
}

/* CMYK JPEG, stored inverted as Photoshop writes it (libjpeg adds the
 * Adobe marker that says so): red is C 0 M 1 Y 1 K 0, inverted. */
static void cmyk_jpeg_art_decodes_to_rgb(void **state)
{
    (void)state;
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    unsigned char *mem = NULL, row[16 * 4];
    unsigned long size = 0;
    for (int x = 0; x < 16; x++)
        row[4 * x] = 255, row[4 * x + 1] = 0, row[4 * x + 2] = 0, row[4 * x + 3] = 255;
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &mem, &size);
    c.image_width = c.image_height = 16;
    c.input_components = 4;
    c.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < 16) {
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    err_t e;
    poster_t *p = poster_open(&e);
    poster_input_t in = {.seed = -1};
    buf_t out = BUF_INIT;
    assert_int_equal(poster_compose(p, &in, mem, size, &out, NULL, &e), ERR_OK);
    cairo_surface_t *got = poster_pixels(&out);
    uint32_t v = tu_px(got, 8, 8);
    if (!((v >> 16 & 255) > 240 && (v >> 8 & 255) < 15 && (v & 255) < 15))
        fail_msg("CMYK red decoded as %06x", v);
    cairo_surface_destroy(got);
    buf_free(&out);
    free(mem);
    poster_close(p);
}

/* One refusal: ERR_INVALID, out untouched, and a message naming word. */
static void assert_refused(poster_t *p, const void *art, size_t len, const char *word,
                           const char *what)
{
    err_t e;
    err_clear(&e);
    poster_input_t in = {.title = "T", .seed = -1};
    buf_t out = BUF_INIT;
    err_code_t rc = poster_compose(p, &in, art, len, &out, NULL, &e);
    if (rc != ERR_INVALID || out.len != 0 || !strstr(e.msg, word))
        fail_msg("%s (%zu bytes): rc %d, %zu bytes out, \"%s\"", what, len, rc, out.len,
                 e.msg);
    int w, h;
    buf_t th = BUF_INIT;
    assert_int_equal(poster_thumbnail(art, len, 64, 64, &th, &w, &h, &e), ERR_INVALID);
    assert_int_equal(th.len, 0);
    buf_free(&out);
}

static void cut_or_corrupt_jpeg_and_webp_is_invalid_with_a_message(void **state)
{
    (void)state;
    err_t e;
    poster_t *p = poster_open(&e);
    cairo_surface_t *src = paint_art(200, 120, 0);
    for (int f = 0; f < NFMTS; f++) {
        buf_t art;
        encode_art(src, f, &art);
        /* Every cut, coarsely, and the last few bytes one by one.  Cut
         * before the header ends, the bytes are "not a PNG, JPEG or WebP
         * image"; after, the decoder's error names the format too. */
        const char *word = f <= FMT_JPEG_GREY_PROGRESSIVE ? "JPEG" : "WebP";
        for (size_t n = 0; n < art.len; n += n + 16 < art.len ? 1 + n / 7 : 1)
            assert_refused(p, art.data, n, word, fmt_names[f]);
        /* Flipped bytes: either refused or decoded, never a crash. */
        poster_input_t in = {.seed = -1};
        uint32_t seed = 3;
        int refused = 0;
        for (int k = 0; k < 60; k++) {
            buf_t bad = BUF_INIT, out = BUF_INIT;
            buf_append(&bad, art.data, art.len);
            for (int j = 0; j < 4; j++) {
                seed = seed * 1103515245u + 12345u;
                bad.data[20 + (seed >> 8) % (bad.len - 20)] ^= (uint8_t)(1 + (seed >> 4) % 255);
            }
            err_code_t rc = poster_compose(p, &in, bad.data, bad.len, &out, NULL, &e);
            assert_true(rc == ERR_OK || rc == ERR_INVALID);
            if (rc == ERR_OK)
                cairo_surface_destroy(poster_pixels(&out));
            else
                refused++, assert_int_equal(out.len, 0);
            buf_free(&bad);
            buf_free(&out);
        }
        /* libjpeg reports corrupt entropy-coded data (as warnings, which
         * count); VP8's decoder paints through most of it. */
        if (f <= FMT_JPEG_GREY_PROGRESSIVE && refused == 0)
            fail_msg("%s: no corruption refused", fmt_names[f]);
        if (f >= FMT_WEBP_LOSSY) {
            /* The image chunk claims more bytes than there are. */
            buf_t bad = BUF_INIT;
            buf_append(&bad, art.data, art.len);
            bad.data[17] += 4;
            assert_refused(p, bad.data, bad.len, "WebP", "chunk size");
            buf_free(&bad);
        }
        buf_free(&art);
    }
    cairo_surface_destroy(src);
    /* A JPEG header with no scan (what the sniffer accepts). */
    static const unsigned char head_only[] = {
        0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x00, 0x30, 0x00, 0x40, 0x03,
        0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01, 0xFF, 0xD9};
    assert_refused(p, head_only, sizeof head_only, "JPEG", "header only");
    /* An animated WebP: VP8X with the animation flag, ANIM, no frames. */
    static const unsigned char anim[] = {
        'R', 'I', 'F', 'F', 34, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', 'X', 10, 0, 0, 0,
        0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'A', 'N', 'I', 'M', 6, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_refused(p, anim, sizeof anim, "WebP", "animated");
    poster_close(p);
}

/* Sizes are checked from the header, before the pixels are allocated:
 * these tiny files claim gigapixels. */
static void oversized_art_is_refused_before_decoding(void **state)
{
    (void)state;
    err_t e;
    poster_t *p = poster_open(&e);
    /* Baseline JPEG: SOF0 claiming 60000 x 60000, 3 components. */
    static const unsigned char jpeg[] = {
        0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x43, 0x00, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        0xFF, 0xC0, 0x00, 0x11, 0x08, 0xEA, 0x60, 0xEA, 0x60, 0x03, 0x01, 0x11, 0x00,
        0x02, 0x11, 0x00, 0x03, 0x11, 0x00, 0xFF, 0xDA, 0x00, 0x0C, 0x03, 0x01, 0x00,
        0x02, 0x11, 0x03, 0x11, 0x00, 0x3F, 0x00, 0xFF, 0xD9};
    assert_refused(p, jpeg, sizeof jpeg, "out of range", "huge JPEG");
    /* 9000 x 9000 is under the side limit but over 64 megapixels. */
    unsigned char j2[sizeof jpeg];
    memcpy(j2, jpeg, sizeof jpeg);
    j2[76] = 0x23, j2[77] = 0x28, j2[78] = 0x23, j2[79] = 0x28;
    assert_refused(p, j2, sizeof j2, "megapixels", "64+ MP JPEG");
    /* WebP VP8X with a 16384 x 16384 canvas. */
    static const unsigned char webp[] = {
        'R', 'I', 'F', 'F', 22, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', 'X',
        10, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0x3F, 0, 0xFF, 0x3F, 0, 0, 0};
    assert_refused(p, webp, sizeof webp, "out of range", "huge WebP");
    /* PNG IHDR claiming 9000 x 9000. */
    static const unsigned char png[] = {
        0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
        0, 0, 0x23, 0x28, 0, 0, 0x23, 0x28, 8, 2, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
    assert_refused(p, png, sizeof png, "megapixels", "64+ MP PNG");
    poster_close(p);
}

static void thumbnails_of_jpeg_and_webp(void **state)
{
    (void)state;
    err_t e;
    cairo_surface_t *src = paint_art(832, 1248, 1);
    for (int f = 0; f < NFMTS; f++) {
        buf_t art, th = BUF_INIT;
        int w = 0, h = 0;
        encode_art(src, f, &art);
        assert_int_equal(poster_thumbnail(art.data, art.len, 320, 320, &th, &w, &h, &e),
                         ERR_OK);
        assert_int_equal(w, 213);
        assert_int_equal(h, 320);
        cairo_surface_t *t = poster_pixels(&th);
        assert_int_equal(cairo_image_surface_get_width(t), 213);
        assert_int_equal(cairo_image_surface_get_height(t), 320);
        /* The top-left quadrant is red (grey for the grey JPEG). */
        uint32_t v = tu_px(t, 20, 20);
        if (f == FMT_JPEG_GREY_PROGRESSIVE)
            assert_true(abs((int)(v >> 16 & 255) - (int)(v & 255)) < 8);
        else
            assert_true((v >> 16 & 255) > 230 && (v >> 8 & 255) < 25 && (v & 255) < 25);
        cairo_surface_destroy(t);
        buf_free(&art);
        buf_free(&th);
    }
    cairo_surface_destroy(src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(jpeg_and_webp_art_is_composed_like_png),
        cmocka_unit_test(decoded_pixels_are_the_art),
        cmocka_unit_test(cmyk_jpeg_art_decodes_to_rgb),
        cmocka_unit_test(cut_or_corrupt_jpeg_and_webp_is_invalid_with_a_message),
        cmocka_unit_test(oversized_art_is_refused_before_decoding),
        cmocka_unit_test(thumbnails_of_jpeg_and_webp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
