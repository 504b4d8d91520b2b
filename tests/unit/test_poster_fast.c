/* Tests for huffz.c (Huffman-only zlib streams) and poster_fast.c (the fast
 * PNG decode and the photographic poster encode), each against a
 * well-kept outside implementation: zlib inflates every huffz stream, and
 * libpng (cairo's reader) decodes the same art and the posters.  A poster
 * with text made the fast way has the pixels of one made the old way
 * (cairo's reader, pngenc) -- exactly, as the compose is the same. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <cairo.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "poster/huffz.h"
#include "poster/poster.h"
#include "poster/poster_internal.h"

static uint32_t rng = 1;
static uint32_t rnd(void)
{
    rng = rng * 1103515245u + 12345u;
    return rng >> 8;
}

/* zlib's inflate of z must give exactly in[0..n). */
static void inflates_to(const buf_t *z, const uint8_t *in, size_t n, const char *what)
{
    uLongf got = (uLongf)n + 1;
    uint8_t *out = malloc(n + 1);
    assert_non_null(out);
    int zr = uncompress(out, &got, z->data, (uLong)z->len);
    if (zr != Z_OK || got != n || (n && memcmp(out, in, n) != 0))
        fail_msg("%s: zlib says %d, %lu of %zu bytes", what, zr, (unsigned long)got, n);
    free(out);
}

static void huffz_streams_inflate_with_zlib(void **state)
{
    (void)state;
    size_t max = 700000;
    uint8_t *b = malloc(max);
    assert_non_null(b);
    struct { const char *what; int kind; size_t n; } cases[] = {
        {"empty", 0, 0}, {"one byte", 1, 1}, {"one value", 2, 5000},
        {"noise (stored)", 3, 200000}, {"skewed", 4, 300000},
        {"skewed, block edges", 4, 128 * 1024}, {"skewed +1", 4, 128 * 1024 + 1},
        {"two values", 5, 65536 * 3 + 7}, {"photo-like", 6, max},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        size_t n = cases[c].n;
        for (size_t i = 0; i < n; i++) {
            switch (cases[c].kind) {
            case 1: case 2: b[i] = 'x'; break;
            case 3: b[i] = (uint8_t)rnd(); break;
            case 4: b[i] = (uint8_t)(rnd() % 7 == 0 ? rnd() : rnd() % 5); break;
            case 5: b[i] = (uint8_t)(rnd() & 1 ? 0 : 255); break;
            default: b[i] = (uint8_t)((int)(rnd() % 9) - 4); break;
            }
        }
        buf_t z = BUF_INIT;
        assert_int_equal(huffz_compress(b, n, &z), ERR_OK);
        inflates_to(&z, b, n, cases[c].what);
        if (cases[c].kind == 3)
            assert_true(z.len < n + n / 1000 + 64);   /* stored, not grown */
        if (cases[c].kind == 6)
            assert_true(z.len < n / 2);               /* ~4 bits a byte */
        buf_free(&z);
    }
    free(b);
}

static cairo_status_t to_buf(void *closure, const unsigned char *d, unsigned int n)
{
    return buf_append(closure, d, n) == ERR_OK ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_NO_MEMORY;
}

typedef struct {
    const uint8_t *d;
    size_t len, off;
} rd_t;

static cairo_status_t from_buf(void *closure, unsigned char *d, unsigned int n)
{
    rd_t *r = closure;
    if (n > r->len - r->off)
        return CAIRO_STATUS_READ_ERROR;
    memcpy(d, r->d + r->off, n);
    r->off += n;
    return CAIRO_STATUS_SUCCESS;
}

/* libpng's reading, through cairo. */
static cairo_surface_t *reference_decode(const buf_t *png)
{
    rd_t r = {png->data, png->len, 0};
    cairo_surface_t *s = cairo_image_surface_create_from_png_stream(from_buf, &r);
    assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    return s;
}

static void same_pixels(cairo_surface_t *a, cairo_surface_t *b, int tolerance, const char *what)
{
    int w = cairo_image_surface_get_width(a), h = cairo_image_surface_get_height(a);
    assert_int_equal(cairo_image_surface_get_width(b), w);
    assert_int_equal(cairo_image_surface_get_height(b), h);
    bool alpha = cairo_image_surface_get_format(a) == CAIRO_FORMAT_ARGB32;
    for (int y = 0; y < h; y++) {
        const uint32_t *pa = (const uint32_t *)(cairo_image_surface_get_data(a) +
                                                (size_t)y * cairo_image_surface_get_stride(a));
        const uint32_t *pb = (const uint32_t *)(cairo_image_surface_get_data(b) +
                                                (size_t)y * cairo_image_surface_get_stride(b));
        for (int x = 0; x < w; x++)
            for (int k = 0; k < (alpha ? 32 : 24); k += 8) {
                int d = (int)((pa[x] >> k) & 0xff) - (int)((pb[x] >> k) & 0xff);
                if (abs(d) > tolerance)
                    fail_msg("%s: pixel (%d,%d) %08x vs %08x", what, x, y, pa[x], pb[x]);
            }
    }
}

/* Art of w x h: gradients and noise, translucent in places when alpha. */
static cairo_surface_t *art(int w, int h, bool alpha)
{
    cairo_surface_t *s = cairo_image_surface_create(alpha ? CAIRO_FORMAT_ARGB32
                                                          : CAIRO_FORMAT_RGB24, w, h);
    uint32_t *px = (uint32_t *)cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s) / 4;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint32_t a = alpha ? (uint32_t)((x * 7 + y * 3) % 256) : 255;
            uint32_t r = (uint32_t)(x * 255 / w) ^ (rnd() & 7), g = (uint32_t)(y * 255 / h),
                     b = (uint32_t)((x + y) & 255);
            if (alpha) {   /* premultiplied, as cairo keeps it */
                r = r * a / 255;
                g = g * a / 255;
                b = b * a / 255;
            }
            px[y * stride + x] = a << 24 | r << 16 | g << 8 | b;
        }
    cairo_surface_mark_dirty(s);
    return s;
}

static void fast_decode_equals_libpng_for_rgb_and_rgba(void **state)
{
    (void)state;
    for (int alpha = 0; alpha <= 1; alpha++) {
        cairo_surface_t *src = art(301, 203, alpha);
        buf_t png = BUF_INIT;
        cairo_surface_write_to_png_stream(src, to_buf, &png);
        cairo_surface_t *ref = reference_decode(&png);
        cairo_surface_t *got = poster_png_fast_decode(png.data, png.len);
        assert_non_null(got);   /* the common case: not declined */
        assert_int_equal(cairo_image_surface_get_format(got),
                         cairo_image_surface_get_format(ref));
        same_pixels(ref, got, 0, alpha ? "rgba" : "rgb");
        cairo_surface_destroy(ref);
        cairo_surface_destroy(got);
        cairo_surface_destroy(src);
        buf_free(&png);
    }
}

/* Every filter type, and the image data split over many IDAT chunks. */
static void fast_decode_takes_every_filter_and_split_idat(void **state)
{
    (void)state;
    int w = 97, h = 61;
    uint8_t *rgb = malloc((size_t)w * h * 3);
    for (size_t i = 0; i < (size_t)w * h * 3; i++)
        rgb[i] = (uint8_t)(i * 31 / 7 + (rnd() & 3));
    for (int filters = 0; filters < 6; filters++) {
        static const int f[6] = {PNG_FILTER_NONE, PNG_FILTER_SUB, PNG_FILTER_UP,
                                 PNG_FILTER_AVG, PNG_FILTER_PAETH, PNG_ALL_FILTERS};
        buf_t out = BUF_INIT;
        png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
        png_infop info = png_create_info_struct(png);
        FILE *mem = open_memstream((char **)&out.data, &out.len);
        png_init_io(png, mem);
        png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB,
                     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_BASE, PNG_FILTER_TYPE_BASE);
        png_set_filter(png, PNG_FILTER_TYPE_BASE, f[filters]);
        png_set_compression_buffer_size(png, 1024);   /* many IDAT chunks */
        png_write_info(png, info);
        for (int y = 0; y < h; y++)
            png_write_row(png, rgb + (size_t)y * w * 3);
        png_write_end(png, info);
        png_destroy_write_struct(&png, &info);
        fclose(mem);
        buf_t png_b = {.data = out.data, .len = out.len, .cap = out.len};
        cairo_surface_t *ref = reference_decode(&png_b);
        cairo_surface_t *got = poster_png_fast_decode(out.data, out.len);
        assert_non_null(got);
        same_pixels(ref, got, 0, "filters");
        cairo_surface_destroy(ref);
        cairo_surface_destroy(got);
        free(out.data);
    }
    free(rgb);
}

/* What the fast decoder does not take goes to cairo's reader, which says
 * what is wrong: a flipped CRC, cut data, 16-bit and palette art. */
static void fast_decode_declines_the_uncommon_and_the_broken(void **state)
{
    (void)state;
    cairo_surface_t *src = art(64, 40, false);
    buf_t png = BUF_INIT;
    cairo_surface_write_to_png_stream(src, to_buf, &png);
    cairo_surface_destroy(src);
    cairo_surface_t *ok = poster_png_fast_decode(png.data, png.len);
    assert_non_null(ok);
    cairo_surface_destroy(ok);
    assert_null(poster_png_fast_decode(png.data, png.len - 13));   /* no IEND */
    assert_null(poster_png_fast_decode(png.data, 40));
    assert_null(poster_png_fast_decode(NULL, 0));
    uint8_t *bad = malloc(png.len);
    memcpy(bad, png.data, png.len);
    bad[png.len / 2] ^= 0x40;     /* inside IDAT: its CRC no longer holds */
    assert_null(poster_png_fast_decode(bad, png.len));
    err_t e;
    assert_null(poster_decode(bad, png.len, &e));
    assert_int_equal(e.code, ERR_INVALID);
    memcpy(bad, png.data, png.len);
    bad[24] = 16;                 /* 16-bit: declined (IHDR's CRC too) */
    assert_null(poster_png_fast_decode(bad, png.len));
    memcpy(bad, png.data, png.len);
    bad[25] = 3;                  /* palette */
    assert_null(poster_png_fast_decode(bad, png.len));
    free(bad);
    buf_free(&png);
}

/* The check: a poster with title, tagline and credits over
 * photographic art has the old path's pixels. */
static void poster_with_text_has_the_old_paths_pixels(void **state)
{
    (void)state;
    int w = 512, h = 768;
    cairo_surface_t *src = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    uint32_t *px = (uint32_t *)cairo_image_surface_get_data(src);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)   /* noisy enough to be "photographic" */
            px[y * (cairo_image_surface_get_stride(src) / 4) + x] =
                (uint32_t)((x / 3 + rnd() % 40) & 255) << 16 |
                (uint32_t)((y / 3 + rnd() % 40) & 255) << 8 | (rnd() & 255);
    cairo_surface_mark_dirty(src);
    buf_t a = BUF_INIT, fast = BUF_INIT, old = BUF_INIT;
    cairo_surface_write_to_png_stream(src, to_buf, &a);
    cairo_surface_destroy(src);
    assert_true(a.len * 4 > (size_t)w * h * 3);
    err_t e;
    poster_t *p = poster_open(&e);
    poster_input_t in = {.title = "The Lighthouse Keeper", .tagline = "Some storms never pass",
                         .credits = "A film by Ada Lovelace  Music by Hedy Lamarr",
                         .prompt = "a lighthouse", .model = "m", .job_id = "j1", .seed = 3};
    poster_layout_t l1, l2;
    assert_int_equal(poster_compose(p, &in, a.data, a.len, &fast, &l1, &e), ERR_OK);
    poster_test_fast_path(false);
    assert_int_equal(poster_compose(p, &in, a.data, a.len, &old, &l2, &e), ERR_OK);
    poster_test_fast_path(true);
    assert_true(l1.composed && l2.composed);
    assert_memory_equal(&l1, &l2, sizeof l1);
    assert_memory_not_equal(fast.data, old.data, fast.len < old.len ? fast.len : old.len);
    cairo_surface_t *sf = reference_decode(&fast), *so = reference_decode(&old);
    same_pixels(so, sf, 1, "poster");
    cairo_surface_destroy(sf);
    cairo_surface_destroy(so);
    /* the metadata came along */
    assert_non_null(memmem(fast.data, fast.len, "onesheet:job", 12));
    assert_non_null(memmem(fast.data, fast.len, "a lighthouse", 12));
    poster_close(p);
    buf_free(&a);
    buf_free(&fast);
    buf_free(&old);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(huffz_streams_inflate_with_zlib),
        cmocka_unit_test(fast_decode_equals_libpng_for_rgb_and_rgba),
        cmocka_unit_test(fast_decode_takes_every_filter_and_split_idat),
        cmocka_unit_test(fast_decode_declines_the_uncommon_and_the_broken),
        cmocka_unit_test(poster_with_text_has_the_old_paths_pixels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
