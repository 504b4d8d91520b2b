/* Tests for poster_splice.c through poster.h: a poster with no text over
 * PNG art is the art with the metadata chunks inserted before its IEND --
 * byte for byte as the layout says, decoding (libpng, cairo) to exactly the
 * art's pixels, the metadata reading back as the decode path writes it --
 * and PNG art that is cut, mis-sized, unterminated or otherwise untidy is
 * never spliced and never crashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <cairo.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "engine/engine.h"
#include "poster/pngenc.h"
#include "pngtext.h"
#include "poster/poster.h"

#ifndef ONESHEET_VERSION
#define ONESHEET_VERSION "dev"
#endif

static const unsigned char IEND[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};

static void on_write(png_structp png, png_bytep d, size_t n)
{
    assert_int_equal(buf_append(png_get_io_ptr(png), d, n), ERR_OK);
}

static void on_flush(png_structp png) { (void)png; }

enum { ART_RGB, ART_RGBA, ART_PALETTE_INTERLACED, ART_GREY16_WITH_TEXT, NARTS };

/* Art written with libpng itself, in shapes pngenc never makes: RGB,
 * translucent RGBA, an interlaced palette image, and 16-bit grey carrying
 * a text chunk of its own ahead of the image data. */
static void make_png(int kind, int w, int h, buf_t *out)
{
    static const int types[] = {PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA,
                                PNG_COLOR_TYPE_PALETTE, PNG_COLOR_TYPE_GRAY};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    int depth = kind == ART_GREY16_WITH_TEXT ? 16 : 8;
    int channels = kind == ART_RGB ? 3 : kind == ART_RGBA ? 4 : 1;
    size_t rowbytes = (size_t)w * channels * (depth / 8);
    unsigned char *row = malloc(rowbytes);
    buf_init(out);
    if (setjmp(png_jmpbuf(png)))
        fail_msg("libpng could not write the test art");
    png_set_write_fn(png, out, on_write, on_flush);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, types[kind],
                 kind == ART_PALETTE_INTERLACED ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_BASE, PNG_FILTER_TYPE_BASE);
    if (kind == ART_PALETTE_INTERLACED) {
        png_color pal[16];
        for (int i = 0; i < 16; i++)
            pal[i] = (png_color){(png_byte)(i * 16), (png_byte)(255 - i * 16), (png_byte)(i * 7)};
        png_set_PLTE(png, info, pal, 16);
    }
    if (kind == ART_GREY16_WITH_TEXT) {
        png_text t = {.compression = PNG_TEXT_COMPRESSION_NONE, .key = "Comment",
                      .text = "made by the model"};
        png_set_text(png, info, &t, 1);
    }
    png_write_info(png, info);
    int passes = png_set_interlace_handling(png);
    for (int pass = 0; pass < passes; pass++)
        for (int y = 0; y < h; y++) {
            for (size_t i = 0; i < rowbytes; i++)
                row[i] = kind == ART_PALETTE_INTERLACED ? (unsigned char)((i + y) % 16)
                                                        : (unsigned char)(i * 7 + y * 13);
            png_write_row(png, row);
        }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(row);
}

typedef struct {
    const unsigned char *d;
    size_t len, off;
} reader_t;

static cairo_status_t read_mem(void *closure, unsigned char *data, unsigned int len)
{
    reader_t *r = closure;
    if (r->len - r->off < len)
        return CAIRO_STATUS_READ_ERROR;
    memcpy(data, r->d + r->off, len);
    r->off += len;
    return CAIRO_STATUS_SUCCESS;
}

/* PNG bytes as pixels, NULL when cairo (libpng) does not decode them. */
static cairo_surface_t *decode(const void *d, size_t len)
{
    reader_t r = {d, len, 0};
    cairo_surface_t *s = cairo_image_surface_create_from_png_stream(read_mem, &r);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(s);
        return NULL;
    }
    cairo_surface_flush(s);
    return s;
}

static void assert_same_pixels(cairo_surface_t *a, cairo_surface_t *b)
{
    assert_int_equal(cairo_image_surface_get_format(a), cairo_image_surface_get_format(b));
    int w = cairo_image_surface_get_width(a), h = cairo_image_surface_get_height(a);
    assert_int_equal(w, cairo_image_surface_get_width(b));
    assert_int_equal(h, cairo_image_surface_get_height(b));
    for (int y = 0; y < h; y++)
        assert_memory_equal(cairo_image_surface_get_data(a) +
                                (size_t)y * cairo_image_surface_get_stride(a),
                            cairo_image_surface_get_data(b) +
                                (size_t)y * cairo_image_surface_get_stride(b),
                            (size_t)w * 4);
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The layout's contract, checked on the bytes: out[base..] is art up to its
 * IEND, splice_len bytes of well-formed tEXt/iTXt chunks, then the IEND. */
static void assert_splice_contract(const buf_t *out, size_t base, const void *art,
                                   size_t len, const poster_layout_t *lay)
{
    const unsigned char *o = out->data + base;
    assert_true(lay->spliced);
    assert_false(lay->composed);
    assert_int_equal(lay->splice_at, len - 12);
    assert_int_equal(out->len - base, len + lay->splice_len);
    assert_memory_equal(o, art, len - 12);
    assert_memory_equal((const unsigned char *)art + len - 12, IEND, 12);
    assert_memory_equal(o + lay->splice_at + lay->splice_len, IEND, 12);
    size_t pos = lay->splice_at, end = lay->splice_at + lay->splice_len;
    int chunks = 0;
    while (pos < end) {
        assert_true(end - pos >= 12);
        uint32_t n = be32(o + pos);
        assert_true(n <= end - pos - 12);
        assert_true(memcmp(o + pos + 4, "tEXt", 4) == 0 || memcmp(o + pos + 4, "iTXt", 4) == 0);
        assert_int_equal(crc32(0, o + pos + 4, 4 + n), be32(o + pos + 8 + n));
        pos += 12 + n;
        chunks++;
    }
    assert_int_equal(pos, end);
    assert_true(chunks >= 1);
}

static const char prompt[] = "Caf\xc3\xa9 at midnight \xe2\x80\x94 \xe6\x9d\xb1\xe4\xba\xac, neon";

static void no_text_over_png_art_is_spliced_byte_for_byte(void **state)
{
    (void)state;
    err_t e;
    poster_t *p = poster_open(&e);
    for (int k = 0; k < NARTS; k++) {
        buf_t art, out = BUF_INIT;
        make_png(k, 97, 61, &art);
        poster_input_t in = {.prompt = prompt, .negative_prompt = "blurry",
                             .model = "amazon.nova-canvas-v1:0", .job_id = "job-9",
                             .seed = 12345, .layout = "bold", .title = ""};
        poster_layout_t lay;
        /* Appended after what out already holds: offsets count from there. */
        buf_append_str(&out, "XYZ");
        assert_int_equal(poster_compose(p, &in, art.data, art.len, &out, &lay, &e), ERR_OK);
        assert_splice_contract(&out, 3, art.data, art.len, &lay);
        assert_int_equal(lay.width, 97);
        assert_int_equal(lay.height, 61);

        buf_t poster = BUF_INIT;
        buf_append(&poster, out.data + 3, out.len - 3);
        cairo_surface_t *a = decode(art.data, art.len), *b = decode(poster.data, poster.len);
        assert_non_null(a);
        assert_non_null(b);
        assert_same_pixels(a, b);
        cairo_surface_destroy(a);
        cairo_surface_destroy(b);

        tu_png_texts_t t;
        tu_png_read_all_texts(&poster, 10, &t);
        int own = k == ART_GREY16_WITH_TEXT;
        assert_int_equal(t.n, 6 + own);
        if (own)
            assert_string_equal(tu_png_text(&t, "Comment"), "made by the model");
        assert_string_equal(t.key[own], "Software");
        assert_string_equal(t.value[own], "onesheet " ONESHEET_VERSION);
        assert_null(tu_png_text(&t, "Title"));
        assert_string_equal(tu_png_text(&t, "onesheet:prompt"), prompt);
        assert_string_equal(tu_png_text(&t, "onesheet:negative_prompt"), "blurry");
        assert_string_equal(tu_png_text(&t, "onesheet:model"), "amazon.nova-canvas-v1:0");
        assert_string_equal(tu_png_text(&t, "onesheet:seed"), "12345");
        assert_string_equal(tu_png_text(&t, "onesheet:job"), "job-9");
        tu_png_texts_free(&t);
        buf_free(&poster);
        buf_free(&art);
        buf_free(&out);
    }
    poster_close(p);
}

/* The worker's entry: real art, no text asked for. */
static void poster_for_job_splices_real_art_without_text(void **state)
{
    (void)state;
    err_t e;
    poster_t *p = poster_open(&e);
    job_spec_t s;
    job_spec_init(&s);
    s.prompt = "A harbour at dawn";
    engine_result_t r;
    engine_result_init(&r);
    make_png(ART_RGB, 320, 200, &r.image);
    snprintf(r.model, sizeof r.model, "stability.sd3-5-large-v1:0");
    snprintf(r.content_type, sizeof r.content_type, "image/png");
    snprintf(r.ext, sizeof r.ext, "png");
    r.seed = 7;
    buf_t out = BUF_INIT;
    const char *ct = NULL, *ext = NULL;
    poster_layout_t lay;
    assert_int_equal(poster_for_job(p, &s, "j-77", &r, &out, &ct, &ext, &lay, &e), ERR_OK);
    assert_splice_contract(&out, 0, r.image.data, r.image.len, &lay);
    assert_string_equal(ct, "image/png");
    assert_string_equal(ext, "png");
    tu_png_texts_t t;
    tu_png_read_all_texts(&out, 10, &t);
    assert_string_equal(tu_png_text(&t, "onesheet:job"), "j-77");
    assert_string_equal(tu_png_text(&t, "onesheet:seed"), "7");
    tu_png_texts_free(&t);

    /* The worker's copy-free way: only the inserted chunks, which put
     * between the art's head and its IEND give the same bytes. */
    buf_t chunks = BUF_INIT, joined = BUF_INIT;
    poster_layout_t lay2;
    assert_int_equal(poster_for_job_chunks(&s, "j-77", &r, &chunks, &lay2, &e), ERR_OK);
    assert_true(lay2.spliced && !lay2.composed);
    assert_int_equal(lay2.splice_at, r.image.len - 12);
    assert_int_equal(lay2.splice_len, chunks.len);
    assert_int_equal(lay2.splice_len, lay.splice_len);
    buf_append(&joined, r.image.data, lay2.splice_at);
    buf_append(&joined, chunks.data, chunks.len);
    buf_append(&joined, r.image.data + lay2.splice_at, 12);
    assert_int_equal(joined.len, out.len);
    assert_memory_equal(joined.data, out.data, out.len);

    /* Any text, or a draft proof (which shows its prompt), is composed;
     * poster_for_job_chunks() leaves those to poster_for_job(). */
    s.tagline = "At dawn.";
    buf_reset(&out);
    assert_int_equal(poster_for_job(p, &s, "j-77", &r, &out, &ct, &ext, &lay, &e), ERR_OK);
    assert_true(lay.composed && !lay.spliced);
    buf_reset(&chunks);
    assert_int_equal(poster_for_job_chunks(&s, "j-77", &r, &chunks, &lay2, &e), ERR_NOTFOUND);
    assert_int_equal(chunks.len, 0);
    assert_false(lay2.spliced);
    s.tagline = NULL;
    snprintf(r.model, sizeof r.model, "draft");
    buf_reset(&out);
    assert_int_equal(poster_for_job(p, &s, "j-77", &r, &out, &ct, &ext, &lay, &e), ERR_OK);
    assert_true(lay.composed && !lay.spliced);
    assert_int_equal(poster_for_job_chunks(&s, "j-77", &r, &chunks, &lay2, &e), ERR_NOTFOUND);
    /* Art that is no tidy PNG (here: cut short) is not spliced either. */
    snprintf(r.model, sizeof r.model, "stability.sd3-5-large-v1:0");
    r.image.len -= 5;
    assert_int_equal(poster_for_job_chunks(&s, "j-77", &r, &chunks, &lay2, &e), ERR_NOTFOUND);
    assert_int_equal(chunks.len, 0);
    buf_free(&chunks);
    buf_free(&joined);
    buf_free(&out);
    engine_result_free(&r);
    poster_close(p);
}

/* The spliced chunks are the decode path's chunks: same keys, values and
 * compression, a long prompt's iTXt deflated in both. */
static void spliced_metadata_matches_the_decode_paths(void **state)
{
    (void)state;
    err_t e;
    poster_t *p = poster_open(&e);
    char long_prompt[3000];
    for (size_t i = 0; i + 1 < sizeof long_prompt; i++)
        long_prompt[i] = "a quiet harbour, oils, \xc3\xa9t\xc3\xa9 "[i % 28];
    long_prompt[sizeof long_prompt - 1] = 0;
    buf_t art, spliced = BUF_INIT, decoded = BUF_INIT;
    make_png(ART_RGB, 64, 48, &art);
    poster_input_t in = {.prompt = long_prompt, .model = "m", .job_id = "j", .seed = 0};
    poster_layout_t lay;
    assert_int_equal(poster_compose(p, &in, art.data, art.len, &spliced, &lay, &e), ERR_OK);
    assert_true(lay.spliced);
    /* Bytes after IEND make the art untidy: it takes the decode path. */
    buf_append_str(&art, "trailing");
    assert_int_equal(poster_compose(p, &in, art.data, art.len, &decoded, &lay, &e), ERR_OK);
    assert_true(lay.composed && !lay.spliced);
    tu_png_texts_t a, b;
    tu_png_read_all_texts(&spliced, 10, &a);
    tu_png_read_all_texts(&decoded, 10, &b);
    assert_int_equal(a.n, 5);
    assert_int_equal(a.n, b.n);
    for (int i = 0; i < a.n; i++) {
        assert_string_equal(a.key[i], b.key[i]);
        assert_string_equal(a.value[i], b.value[i]);
        assert_int_equal(a.compression[i], b.compression[i]);
    }
    assert_int_equal(a.compression[0], PNG_TEXT_COMPRESSION_NONE);
    assert_string_equal(a.key[1], "onesheet:prompt");
    assert_int_equal(a.compression[1], PNG_ITXT_COMPRESSION_zTXt);
    assert_string_equal(a.value[1], long_prompt);
    assert_int_equal(a.compression[2], PNG_ITXT_COMPRESSION_NONE);
    tu_png_texts_free(&a);
    tu_png_texts_free(&b);
    buf_free(&art);
    buf_free(&spliced);
    buf_free(&decoded);
    poster_close(p);
}

/* Offset of the n-th chunk (0: IHDR) of a well-formed PNG. */
static size_t chunk_at(const buf_t *png, int n)
{
    size_t pos = 8;
    while (n-- > 0)
        pos += 12 + be32(png->data + pos);
    return pos;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

/* bad = art with the n bytes at off replaced by what[0..m) */
static void splice_bytes(const buf_t *art, size_t off, size_t n, const void *what,
                         size_t m, buf_t *bad)
{
    buf_init(bad);
    buf_append(bad, art->data, off);
    buf_append(bad, what, m);
    buf_append(bad, art->data + off + n, art->len - off - n);
}

/* Composes bad with no text: never spliced; refused with a message and
 * out untouched, or decoded to a PNG.  want: ERR_OK / ERR_INVALID, or -1
 * for either. */
static void assert_not_spliced(poster_t *p, const buf_t *bad, int want, const char *what)
{
    err_t e;
    err_clear(&e);
    poster_input_t in = {.prompt = "x", .seed = 1};
    poster_layout_t lay;
    buf_t out = BUF_INIT;
    err_code_t rc = poster_compose(p, &in, bad->data, bad->len, &out, &lay, &e);
    if (lay.spliced || (rc != ERR_OK && rc != ERR_INVALID) || (want >= 0 && (int)rc != want))
        fail_msg("%s: rc %d (%s), spliced %d", what, rc, e.msg, lay.spliced);
    if (rc == ERR_OK) {
        assert_true(lay.composed);
        cairo_surface_t *s = decode(out.data, out.len);
        assert_non_null(s);
        cairo_surface_destroy(s);
    } else {
        assert_int_equal(out.len, 0);
        assert_true(strlen(e.msg) > 0);
    }
    buf_free(&out);
}

static void untidy_png_art_is_never_spliced(void **state)
{
    (void)state;
    err_t e;
    poster_t *p = poster_open(&e);
    buf_t art, bad, pal;
    make_png(ART_RGB, 120, 90, &art);
    make_png(ART_PALETTE_INTERLACED, 40, 30, &pal);
    size_t idat = chunk_at(&art, 1), iend = art.len - 12;
    assert_memory_equal(art.data + idat + 4, "IDAT", 4);
    unsigned char b4[4];

    static const size_t cuts[] = {1, 4, 11, 12, 13, 100};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        buf_init(&bad);
        buf_append(&bad, art.data, art.len - cuts[i]);
        assert_not_spliced(p, &bad, cuts[i] >= 13 ? ERR_INVALID : -1, "cut");
        buf_free(&bad);
    }
    buf_init(&bad);
    buf_append(&bad, art.data, idat + 20);
    assert_not_spliced(p, &bad, ERR_INVALID, "cut in IDAT");
    buf_free(&bad);

    /* IDAT's length: past the end, one too many, over 2^31. */
    static const uint32_t lens[] = {0x00ffffffu, 0, 0x80000010u};
    for (size_t i = 0; i < 3; i++) {
        put32(b4, lens[i] ? lens[i] : be32(art.data + idat) + 1);
        splice_bytes(&art, idat, 4, b4, 4, &bad);
        assert_not_spliced(p, &bad, ERR_INVALID, "IDAT length");
        buf_free(&bad);
    }
    /* Garbage after IEND: cairo reads up to IEND, so it decodes. */
    splice_bytes(&art, art.len, 0, "GARBAGE!", 8, &bad);
    assert_not_spliced(p, &bad, ERR_OK, "trailing garbage");
    buf_free(&bad);
    /* A second IEND after the first. */
    splice_bytes(&art, art.len, 0, IEND, 12, &bad);
    assert_not_spliced(p, &bad, -1, "two IENDs");
    buf_free(&bad);
    /* IEND: bad CRC, a body, missing (ends after IDAT). */
    splice_bytes(&art, art.len - 1, 1, "\x83", 1, &bad);
    assert_not_spliced(p, &bad, -1, "IEND CRC");
    buf_free(&bad);
    splice_bytes(&art, iend, 12, "\0\0\0\4IENDabcd\0\0\0\0", 16, &bad);
    assert_not_spliced(p, &bad, -1, "IEND with a body");
    buf_free(&bad);
    /* No IDAT at all. */
    splice_bytes(&art, idat, iend - idat, "", 0, &bad);
    assert_not_spliced(p, &bad, ERR_INVALID, "no IDAT");
    buf_free(&bad);
    /* An unknown critical chunk, a second IHDR, a type that is no name. */
    static const char *const types[] = {"ABCD", "IHDR", "tEX1"};
    for (size_t i = 0; i < 3; i++) {
        unsigned char c[12 + 13] = {0, 0, 0, 13};
        memcpy(c + 4, types[i], 4);
        memcpy(c + 8, art.data + 16, 13);
        uLong crc = crc32(0, c + 4, 17);
        unsigned char cc[25 + 4];
        memcpy(cc, c, 21);
        put32(cc + 21, (uint32_t)crc);
        splice_bytes(&art, iend, 0, cc, 25, &bad);
        assert_not_spliced(p, &bad, -1, types[i]);
        buf_free(&bad);
    }
    /* IHDR: bad CRC, an impossible bit depth. */
    splice_bytes(&art, 0, 0, "", 0, &bad);
    bad.data[29] ^= 0x01;
    assert_not_spliced(p, &bad, ERR_INVALID, "IHDR CRC");
    buf_free(&bad);
    {
        unsigned char ihdr[17];
        memcpy(ihdr, art.data + 12, 17);
        ihdr[12] = 3; /* depth 3 */
        unsigned char body[21];
        memcpy(body, ihdr, 17);
        put32(body + 17, (uint32_t)crc32(0, ihdr, 17));
        splice_bytes(&art, 12, 21, body, 21, &bad);
        assert_not_spliced(p, &bad, ERR_INVALID, "IHDR depth 3");
        buf_free(&bad);
    }
    /* Two runs of IDAT with a tEXt between them. */
    {
        size_t n = be32(art.data + idat), half = n / 2;
        unsigned char text[12 + 6] = {0, 0, 0, 6, 't', 'E', 'X', 't', 'k', 0, 'v', 'a', 'l', 'u'};
        put32(text + 14, (uint32_t)crc32(0, text + 4, 10));
        buf_init(&bad);
        unsigned char h[8];
        put32(h, (uint32_t)half);
        memcpy(h + 4, "IDAT", 4);
        buf_append(&bad, art.data, idat);
        buf_append(&bad, h, 8);
        buf_append(&bad, art.data + idat + 8, half);
        put32(b4, (uint32_t)crc32(0, bad.data + idat + 4, 4 + half));
        buf_append(&bad, b4, 4);
        buf_append(&bad, text, 18);
        put32(h, (uint32_t)(n - half));
        buf_append(&bad, h, 8);
        buf_append(&bad, art.data + idat + 8 + half, n - half);
        put32(b4, (uint32_t)crc32(crc32(0, (const Bytef *)"IDAT", 4),
                                  art.data + idat + 8 + half, n - half));
        buf_append(&bad, b4, 4);
        buf_append(&bad, art.data + idat + 12 + n, art.len - idat - 12 - n);
        assert_not_spliced(p, &bad, -1, "split IDAT");
        buf_free(&bad);
    }
    /* A palette image without its PLTE, and with PLTE after the data. */
    {
        size_t plte = chunk_at(&pal, 1), pidat = chunk_at(&pal, 2);
        assert_memory_equal(pal.data + plte + 4, "PLTE", 4);
        size_t plen = pidat - plte;
        splice_bytes(&pal, plte, plen, "", 0, &bad);
        assert_not_spliced(p, &bad, ERR_INVALID, "no PLTE");
        buf_free(&bad);
        buf_t moved;
        splice_bytes(&pal, pal.len - 12, 0, pal.data + plte, plen, &moved);
        splice_bytes(&moved, plte, plen, "", 0, &bad);
        assert_not_spliced(p, &bad, ERR_INVALID, "PLTE after IDAT");
        buf_free(&bad);
        buf_free(&moved);
    }
    /* Random damage anywhere: refused, decoded, or -- where only the image
     * data was hit, which the splice does not inspect -- spliced, with the
     * contract kept. */
    uint32_t seed = 11;
    for (int k = 0; k < 300; k++) {
        buf_init(&bad);
        buf_append(&bad, art.data, art.len);
        for (int j = 0; j < 1 + k % 3; j++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = k < 150 ? (seed >> 8) % (idat + 12) : (seed >> 8) % bad.len;
            bad.data[at] ^= (unsigned char)(1 + (seed >> 3) % 255);
        }
        poster_input_t in = {.seed = 1};
        poster_layout_t lay;
        buf_t out = BUF_INIT;
        err_code_t rc = poster_compose(p, &in, bad.data, bad.len, &out, &lay, &e);
        assert_true(rc == ERR_OK || rc == ERR_INVALID);
        if (rc == ERR_OK && lay.spliced)
            assert_splice_contract(&out, 0, bad.data, bad.len, &lay);
        buf_free(&out);
        buf_free(&bad);
    }
    buf_free(&pal);
    buf_free(&art);
    poster_close(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_text_over_png_art_is_spliced_byte_for_byte),
        cmocka_unit_test(poster_for_job_splices_real_art_without_text),
        cmocka_unit_test(spliced_metadata_matches_the_decode_paths),
        cmocka_unit_test(untidy_png_art_is_never_spliced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
