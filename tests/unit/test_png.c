/* Tests for pngenc.c: pixels and text chunks survive a decode with libpng
 * (and cairo), bad arguments are refused, and every allocation or write
 * failure comes back as ERR_NOMEM with the output buffer untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <cairo.h>
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "poster/pngenc.h"
#include "pngsurface.h"

/* ---- a small libpng decoder ---- */

#define MAX_TEXT 8

typedef struct {
    int w, h, color_type, bit_depth;
    uint8_t *rgba;         /* w * h * 4, straight alpha (255 for RGB) */
    int ntext;             /* text chunks before IDAT */
    int ntext_after;       /* text chunks after IDAT (expected none) */
    char key[MAX_TEXT][80];
    char *value[MAX_TEXT]; /* malloc'd */
    int compression[MAX_TEXT];
} decoded_t;

typedef struct {
    const uint8_t *p;
    size_t n, off;
} src_t;

static void read_fn(png_structp png, png_bytep d, size_t n)
{
    src_t *s = png_get_io_ptr(png);
    if (s->n - s->off < n)
        png_error(png, "read past the end");
    memcpy(d, s->p + s->off, n);
    s->off += n;
}

static void decoded_free(decoded_t *d)
{
    free(d->rgba);
    for (int i = 0; i < d->ntext; i++)
        free(d->value[i]);
    memset(d, 0, sizeof *d);
}

/* Decodes png[0..n) with libpng's full read API (so we see the colour type
 * and where the text chunks sit).  Fails the test on any libpng error. */
static void decode(const uint8_t *p, size_t n, decoded_t *d)
{
    memset(d, 0, sizeof *d);
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    png_infop end = png_create_info_struct(png);
    src_t src = {p, n, 0};
    assert_non_null(end);
    if (setjmp(png_jmpbuf(png)))
        fail_msg("libpng could not decode the PNG");
    png_set_read_fn(png, &src, read_fn);
    png_read_info(png, info);
    d->w = (int)png_get_image_width(png, info);
    d->h = (int)png_get_image_height(png, info);
    d->color_type = png_get_color_type(png, info);
    d->bit_depth = png_get_bit_depth(png, info);

    png_textp t;
    int nt = png_get_text(png, info, &t, NULL);
    assert_true(nt <= MAX_TEXT);
    for (int i = 0; i < nt; i++) {
        snprintf(d->key[i], sizeof d->key[i], "%s", t[i].key);
        d->value[i] = strdup(t[i].text ? t[i].text : "");
        d->compression[i] = t[i].compression;
    }
    d->ntext = nt;

    if (d->color_type == PNG_COLOR_TYPE_RGB)
        png_set_filler(png, 0xff, PNG_FILLER_AFTER);
    png_read_update_info(png, info);
    d->rgba = malloc((size_t)d->w * d->h * 4);
    png_bytep *rows = malloc(sizeof *rows * (size_t)d->h);
    for (int y = 0; y < d->h; y++)
        rows[y] = d->rgba + (size_t)y * d->w * 4;
    png_read_image(png, rows);
    png_read_end(png, end);
    d->ntext_after = png_get_text(png, end, &t, NULL);
    free(rows);
    png_destroy_read_struct(&png, &info, &end);
}

/* The value of key among the decoded text chunks, or NULL. */
static const char *text_of(const decoded_t *d, const char *key, int *compression)
{
    for (int i = 0; i < d->ntext; i++) {
        if (strcmp(d->key[i], key) == 0) {
            if (compression)
                *compression = d->compression[i];
            return d->value[i];
        }
    }
    return NULL;
}

/* ---- test images ---- */

#define W 7
#define H 5
#define STRIDE (W * 4 + 12) /* padded rows, as cairo may give */

static uint32_t argb(unsigned a, unsigned r, unsigned g, unsigned b)
{
    return (uint32_t)a << 24 | (uint32_t)r << 16 | (uint32_t)g << 8 | b;
}

/* An opaque W x H image whose every pixel differs, padding bytes set to junk. */
static void fill_opaque(uint8_t *img)
{
    memset(img, 0xa5, (size_t)STRIDE * H);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            ((uint32_t *)(img + y * STRIDE))[x] =
                argb(255, (unsigned)(x * 36 + 3), (unsigned)(y * 60 + 7),
                     (unsigned)((x * 31 + y * 17) & 0xff));
}

static void assert_opaque_pixels(const decoded_t *d, const uint8_t *img)
{
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            uint32_t v = ((const uint32_t *)(img + y * STRIDE))[x];
            const uint8_t *o = d->rgba + ((size_t)y * W + x) * 4;
            assert_int_equal(o[0], (v >> 16) & 0xff);
            assert_int_equal(o[1], (v >> 8) & 0xff);
            assert_int_equal(o[2], v & 0xff);
            assert_int_equal(o[3], 255);
        }
    }
}

static void opaque_argb32_round_trips_exactly_as_rgb(void **state)
{
    (void)state;
    uint8_t img[STRIDE * H];
    buf_t out = BUF_INIT;
    err_t e;
    decoded_t d;
    fill_opaque(img);
    assert_int_equal(pngenc_argb32(img, W, H, STRIDE, NULL, 0, &out, &e), ERR_OK);
    decode(out.data, out.len, &d);
    assert_int_equal(d.w, W);
    assert_int_equal(d.h, H);
    assert_int_equal(d.color_type, PNG_COLOR_TYPE_RGB);
    assert_int_equal(d.bit_depth, 8);
    assert_int_equal(d.ntext, 0);
    assert_opaque_pixels(&d, img);
    decoded_free(&d);
    buf_free(&out);
}

static void rgb24_ignores_the_undefined_top_byte(void **state)
{
    (void)state;
    uint8_t img[STRIDE * H];
    buf_t out = BUF_INIT;
    decoded_t d;
    fill_opaque(img);
    uint8_t junk[STRIDE * H];
    memcpy(junk, img, sizeof junk);
    for (int y = 0; y < H; y++) { /* cairo leaves the top byte undefined */
        uint32_t *row = (uint32_t *)(junk + y * STRIDE);
        for (int x = 0; x < W; x++)
            row[x] = (row[x] & 0xffffffu) | (uint32_t)(x * 40 + y) << 24;
    }
    assert_int_equal(pngenc_rgb24(junk, W, H, STRIDE, NULL, 0, &out, NULL), ERR_OK);
    decode(out.data, out.len, &d);
    assert_int_equal(d.color_type, PNG_COLOR_TYPE_RGB);
    assert_opaque_pixels(&d, img);
    decoded_free(&d);
    buf_free(&out);
}

static void translucent_pixels_are_unpremultiplied_into_rgba(void **state)
{
    (void)state;
    /* Premultiplied ARGB, as cairo stores it: c <= a. */
    static const uint32_t px[] = {
        0xff102030, 0x80402010, 0x80808080, 0x01010000, 0x00000000,
        0x7f3f1f00, 0xfe000000, 0x20101010, 0xc0c00060,
    };
    enum { N = sizeof px / sizeof *px };
    uint32_t img[N];
    memcpy(img, px, sizeof px);
    buf_t out = BUF_INIT;
    err_t e;
    decoded_t d;
    assert_int_equal(pngenc_argb32((const uint8_t *)img, N, 1, N * 4, NULL, 0, &out, &e),
                     ERR_OK);
    decode(out.data, out.len, &d);
    assert_int_equal(d.color_type, PNG_COLOR_TYPE_RGB_ALPHA);
    for (int i = 0; i < N; i++) {
        unsigned a = px[i] >> 24;
        const uint8_t *o = d.rgba + i * 4;
        assert_int_equal(o[3], a);
        for (int k = 0; k < 3; k++) {
            unsigned c = (px[i] >> (16 - 8 * k)) & 0xff;
            double want = a ? c * 255.0 / a : 0;
            assert_true(o[k] >= want - 1 && o[k] <= want + 1);
        }
    }
    assert_int_equal(d.rgba[4 * 4 + 3], 0); /* fully clear stays clear, RGB 0 */
    assert_int_equal(d.rgba[4 * 4], 0);
    decoded_free(&d);

    /* cairo premultiplies again on load: back to the input within 1. */
    cairo_surface_t *s = tu_png_surface(&out);
    assert_int_equal(cairo_image_surface_get_format(s), CAIRO_FORMAT_ARGB32);
    const uint32_t *back = (const uint32_t *)cairo_image_surface_get_data(s);
    for (int i = 0; i < N; i++) {
        for (int sh = 0; sh < 32; sh += 8) {
            int got = (int)(back[i] >> sh & 0xff), want = (int)(px[i] >> sh & 0xff);
            assert_in_range(got - want + 1, 0, 2);
        }
    }
    cairo_surface_destroy(s);
    buf_free(&out);
}

static void same_input_gives_identical_bytes_and_output_is_appended(void **state)
{
    (void)state;
    uint8_t img[STRIDE * H];
    buf_t a = BUF_INIT, b = BUF_INIT;
    const pngenc_text_t t[] = {{"Software", "onesheet test", false}};
    decoded_t d;
    fill_opaque(img);
    assert_int_equal(pngenc_argb32(img, W, H, STRIDE, t, 1, &a, NULL), ERR_OK);
    assert_int_equal(buf_append_str(&b, "prefix"), ERR_OK);
    assert_int_equal(pngenc_argb32(img, W, H, STRIDE, t, 1, &b, NULL), ERR_OK);
    assert_int_equal(b.len, a.len + 6);
    assert_memory_equal(b.data, "prefix", 6);
    assert_memory_equal(b.data + 6, a.data, a.len);
    decode(b.data + 6, b.len - 6, &d);
    assert_opaque_pixels(&d, img);
    decoded_free(&d);
    buf_free(&a);
    buf_free(&b);
}

static void text_chunks_round_trip_before_the_image_data(void **state)
{
    (void)state;
    uint8_t img[STRIDE * H];
    char *long_value = malloc(5001);
    for (int i = 0; i < 5000; i++)
        long_value[i] = "caf\xc3\xa9 noir "[i % 11]; /* "café noir " */
    long_value[4994] = '\0'; /* ends after a whole sequence */
    const char *utf8 = "\xe6\x9d\xb1\xe4\xba\xac\xe3\x81\xae\xe5\xa4\x9c \xe2\x80\x94 "
                       "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d \xf0\x9f\x8e\xac\nline two";
    const pngenc_text_t t[] = {
        {"Software", "onesheet 9.9.9", false},
        {"onesheet:prompt", utf8, true},
        {"onesheet:long", long_value, true},
        {"onesheet:empty", "", true},
        {"Comment", "two\nlines", false},
    };
    buf_t out = BUF_INIT;
    err_t e;
    decoded_t d;
    int comp = -9;
    fill_opaque(img);
    assert_int_equal(pngenc_argb32(img, W, H, STRIDE, t, 5, &out, &e), ERR_OK);
    decode(out.data, out.len, &d);
    assert_int_equal(d.ntext, 5);
    assert_int_equal(d.ntext_after, 0);
    for (int i = 0; i < 5; i++) /* in the order given */
        assert_string_equal(d.key[i], t[i].key);
    assert_string_equal(text_of(&d, "Software", &comp), "onesheet 9.9.9");
    assert_int_equal(comp, PNG_TEXT_COMPRESSION_NONE);
    assert_string_equal(text_of(&d, "onesheet:prompt", &comp), utf8);
    assert_int_equal(comp, PNG_ITXT_COMPRESSION_NONE);
    assert_string_equal(text_of(&d, "onesheet:long", &comp), long_value);
    assert_int_equal(comp, PNG_ITXT_COMPRESSION_zTXt);
    assert_true(out.len < 4000); /* so the long value really was compressed */
    assert_string_equal(text_of(&d, "onesheet:empty", NULL), "");
    assert_string_equal(text_of(&d, "Comment", &comp), "two\nlines");
    assert_int_equal(comp, PNG_TEXT_COMPRESSION_NONE);
    assert_opaque_pixels(&d, img);
    /* The chunks sit between IHDR and the first IDAT. */
    const uint8_t *idat = memmem(out.data, out.len, "IDAT", 4);
    const uint8_t *itxt = memmem(out.data, out.len, "iTXt", 4);
    assert_non_null(idat);
    assert_non_null(itxt);
    assert_true(itxt < idat);
    decoded_free(&d);
    buf_free(&out);
    free(long_value);
}

/* Calls pngenc_argb32 expecting code, and checks out was left alone. */
static void expect_refused(const uint8_t *img, int w, int h, int stride,
                           const pngenc_text_t *t, size_t nt, err_code_t code,
                           const char *msg_part)
{
    buf_t out = BUF_INIT;
    err_t e;
    err_clear(&e);
    assert_int_equal(buf_append_str(&out, "keep"), ERR_OK);
    assert_int_equal(pngenc_argb32(img, w, h, stride, t, nt, &out, &e), code);
    assert_int_equal(e.code, code);
    if (!strstr(e.msg, msg_part))
        fail_msg("message \"%s\" lacks \"%s\"", e.msg, msg_part);
    assert_int_equal(out.len, 4);
    assert_string_equal((char *)out.data, "keep");
    buf_free(&out);
}

static void bad_sizes_pointers_and_text_are_refused(void **state)
{
    (void)state;
    uint8_t img[STRIDE * H];
    buf_t out = BUF_INIT;
    fill_opaque(img);
    expect_refused(img, 0, H, STRIDE, NULL, 0, ERR_INVALID, "size 0x5");
    expect_refused(img, W, 0, STRIDE, NULL, 0, ERR_INVALID, "size 7x0");
    expect_refused(img, -3, H, STRIDE, NULL, 0, ERR_INVALID, "size");
    expect_refused(img, PNGENC_SIDE_MAX + 1, 1, STRIDE, NULL, 0, ERR_INVALID, "size");
    expect_refused(img, W, H, W * 4 - 1, NULL, 0, ERR_INVALID, "stride");
    expect_refused(img, W, H, -STRIDE, NULL, 0, ERR_INVALID, "stride");
    expect_refused(NULL, W, H, STRIDE, NULL, 0, ERR_INVALID, "NULL pixels");
    assert_int_equal(pngenc_argb32(img, W, H, STRIDE, NULL, 0, NULL, NULL), ERR_INVALID);
    expect_refused(img, W, H, STRIDE, NULL, 2, ERR_INVALID, "no array");

    static const char *const bad_keys[] = {
        "", " lead", "trail ", "dou  ble", "tab\there", "caf\xc3\xa9",
        "01234567890123456789012345678901234567890123456789012345678901234567890123456789",
    };
    assert_int_equal(strlen(bad_keys[6]), 80);
    for (size_t i = 0; i < sizeof bad_keys / sizeof *bad_keys; i++) {
        pngenc_text_t t[] = {{"Software", "ok", false}, {bad_keys[i], "v", true}};
        expect_refused(img, W, H, STRIDE, t, 2, ERR_INVALID, "text chunk 1: key");
    }
    pngenc_text_t t = {"Title", NULL, true};
    expect_refused(img, W, H, STRIDE, &t, 1, ERR_INVALID, "NULL key or value");
    t = (pngenc_text_t){"Title", "caf\xc3\xa9", false};
    expect_refused(img, W, H, STRIDE, &t, 1, ERR_INVALID, "use iTXt");
    t = (pngenc_text_t){"Title", "tab\there", false};
    expect_refused(img, W, H, STRIDE, &t, 1, ERR_INVALID, "use iTXt");
    t = (pngenc_text_t){"Title", "bad \xc3\x28 utf8", true};
    expect_refused(img, W, H, STRIDE, &t, 1, ERR_INVALID, "not valid UTF-8");
    t = (pngenc_text_t){"Title", "\xed\xa0\x80 surrogate", true};
    expect_refused(img, W, H, STRIDE, &t, 1, ERR_INVALID, "not valid UTF-8");

    char *huge = malloc(PNGENC_TEXT_MAX + 2);
    memset(huge, 'x', PNGENC_TEXT_MAX + 1);
    huge[PNGENC_TEXT_MAX + 1] = '\0';
    t = (pngenc_text_t){"Title", huge, true};
    expect_refused(img, W, H, STRIDE, &t, 1, ERR_TOOBIG, "Title");
    free(huge);

    /* 79 bytes is the longest key the format allows; 1x1 the smallest image. */
    t = (pngenc_text_t){"012345678901234567890123456789012345678901234567890123456789"
                        "0123456789012345678", "v", false};
    assert_int_equal(strlen(t.key), 79);
    assert_int_equal(pngenc_argb32(img, 1, 1, 4, &t, 1, &out, NULL), ERR_OK);
    buf_free(&out);
}

/* Encodes with the n-th allocation or write failing (and all after it);
 * returns the code and checks a failure left out as it was. */
static err_code_t encode_failing_at(long n, const uint8_t *img, int w, int h,
                                    const pngenc_text_t *t, size_t nt, buf_t *ok)
{
    buf_t out = BUF_INIT;
    err_t e;
    assert_int_equal(buf_append_str(&out, "keep"), ERR_OK);
    pngenc_test_fail_after(n);
    err_code_t rc = pngenc_argb32(img, w, h, w * 4, t, nt, &out, &e);
    pngenc_test_fail_after(0);
    if (rc == ERR_OK) {
        assert_int_equal(out.len, ok->len + 4);
        assert_memory_equal(out.data + 4, ok->data, ok->len);
    } else {
        assert_int_equal(rc, ERR_NOMEM);
        assert_non_null(strstr(e.msg, "out of memory"));
        assert_int_equal(out.len, 4);
        assert_string_equal((char *)out.data, "keep");
    }
    buf_free(&out);
    return rc;
}

static void every_allocation_or_write_failure_is_nomem(void **state)
{
    (void)state;
    /* Large enough for several IDAT chunks and a compressed iTXt, with alpha. */
    enum { FW = 300, FH = 200 };
    uint32_t *img = malloc(sizeof *img * FW * FH);
    for (int i = 0; i < FW * FH; i++)
        img[i] = (uint32_t)i * 2654435761u | (i % 7 ? 0xff000000u : 0);
    for (int i = 0; i < FW * FH; i++) /* keep it validly premultiplied */
        if (!(img[i] >> 24))
            img[i] = 0;
    char *long_value = malloc(3000);
    memset(long_value, 'p', 2999);
    long_value[2999] = '\0';
    const pngenc_text_t t[] = {{"Software", "onesheet", false},
                               {"onesheet:prompt", long_value, true}};
    buf_t ok = BUF_INIT;
    assert_int_equal(pngenc_argb32((uint8_t *)img, FW, FH, FW * 4, t, 2, &ok, NULL),
                     ERR_OK);

    long n = 1;
    while (encode_failing_at(n, (uint8_t *)img, FW, FH, t, 2, &ok) != ERR_OK) {
        n++;
        assert_true(n < 10000);
    }
    assert_true(n > 10); /* the walk went through libpng, not just our malloc */
    buf_free(&ok);
    free(long_value);
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(opaque_argb32_round_trips_exactly_as_rgb),
        cmocka_unit_test(rgb24_ignores_the_undefined_top_byte),
        cmocka_unit_test(translucent_pixels_are_unpremultiplied_into_rgba),
        cmocka_unit_test(same_input_gives_identical_bytes_and_output_is_appended),
        cmocka_unit_test(text_chunks_round_trip_before_the_image_data),
        cmocka_unit_test(bad_sizes_pointers_and_text_are_refused),
        cmocka_unit_test(every_allocation_or_write_failure_is_nomem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
