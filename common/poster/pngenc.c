/* pngenc — see pngenc.h.
 *
 * Speed.  Measured on ten draft posters (five aspect ratios, three layouts),
 * CPU ms per poster and mean bytes, libpng 1.6.39 / zlib 1.2.13:
 *
 *     cairo_surface_write_to_png (level 6, all filters)   ~78 ms  309 KB
 *     level 2, filter NONE                                ~15 ms  391 KB
 *     level 3, filter NONE (this)                         ~16 ms  380 KB
 *     level 3, filter UP                                  ~26 ms  369 KB
 *     level 3, filter SUB                                 ~27 ms  390 KB
 *     level 4, filter NONE                                ~20 ms  330 KB
 *     level 6, filter NONE                                ~30 ms  302 KB
 *
 * NONE wins on these images: their gradients repeat, shifted, from one row
 * to the next, which deflate finds as matches in the unfiltered bytes, while
 * SUB and UP turn them into noisy residuals and cost a pass per row.
 *
 * Errors.  libpng reports a failure by calling on_error(), which longjmps
 * back to the setjmp() in write_png().  Everything that changes between the
 * setjmp and a longjmp lives outside that function's frame (in the enc_t and
 * libpng's own structs), so no local there needs to be volatile. */
#include "poster/pngenc.h"

#include <png.h>
#include <zlib.h>

#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"

#ifndef PNG_WRITE_iTXt_SUPPORTED
#error "pngenc needs a libpng built with iTXt support"
#endif

#define PNGENC_LEVEL 3
#define PNGENC_FILTER PNG_FILTER_NONE
/* Bigger IDAT chunks than libpng's 8 KiB: fewer chunk headers and CRCs. */
#define PNGENC_IDAT_BYTES 65536
/* iTXt values longer than this are compressed in the chunk. */
#define PNGENC_ITXT_ZIP_OVER 1024

/* ---- fault injection (tests) ---- */

static _Thread_local long fail_after; /* 0: off */
static _Thread_local long fail_count;

void pngenc_test_fail_after(long n)
{
    fail_after = n > 0 ? n : 0;
    fail_count = 0;
}

/* True when this allocation or write is to fail by test request. */
static bool injected_failure(void)
{
    return fail_after > 0 && ++fail_count >= fail_after;
}

/* ---- one encode ---- */

typedef struct {
    const unsigned char *data;
    int width, height, stride;
    bool alpha_out;      /* write RGBA (some pixel is not opaque) */
    const pngenc_text_t *text;
    size_t ntext;
    unsigned char *row;  /* one output row, width * 4 bytes */
    buf_t *out;
    bool nomem;          /* a failure was an allocation or write failure */
    char msg[200];       /* libpng's error message */
} enc_t;

static void on_error(png_structp png, png_const_charp msg)
{
    enc_t *enc = png_get_error_ptr(png);
    snprintf(enc->msg, sizeof enc->msg, "%s", msg ? msg : "unknown error");
    png_longjmp(png, 1);
}

/* Warnings are dropped: library code does not print. */
static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static png_voidp on_malloc(png_structp png, png_alloc_size_t n)
{
    void *p = injected_failure() ? NULL : malloc(n);
    if (!p && png_get_mem_ptr(png))
        ((enc_t *)png_get_mem_ptr(png))->nomem = true;
    return p;
}

static void on_free(png_structp png, png_voidp p)
{
    (void)png;
    free(p);
}

static void on_write(png_structp png, png_bytep data, size_t len)
{
    enc_t *enc = png_get_io_ptr(png);
    if (injected_failure() || buf_append(enc->out, data, len) != ERR_OK) {
        enc->nomem = true;
        png_error(png, "output buffer could not grow");
    }
}

static void on_flush(png_structp png)
{
    (void)png;
}

/* Row y of the image as 8-bit RGB or RGBA in enc->row. */
static void convert_row(const enc_t *enc, int y)
{
    const uint32_t *px = (const uint32_t *)(enc->data + (size_t)y * (size_t)enc->stride);
    unsigned char *o = enc->row;
    if (!enc->alpha_out) {
        for (int x = 0; x < enc->width; x++, o += 3) {
            uint32_t v = px[x];
            o[0] = (unsigned char)(v >> 16);
            o[1] = (unsigned char)(v >> 8);
            o[2] = (unsigned char)v;
        }
        return;
    }
    for (int x = 0; x < enc->width; x++, o += 4) {
        uint32_t v = px[x], a = v >> 24;
        uint32_t c[3] = {(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff};
        for (int k = 0; k < 3; k++) {
            /* Premultiplied c <= a in a valid surface; clamp in case. */
            uint32_t u = a == 0 ? 0 : a == 255 ? c[k] : (c[k] * 255 + a / 2) / a;
            o[k] = (unsigned char)(u > 255 ? 255 : u);
        }
        o[3] = (unsigned char)a;
    }
}

/* The libpng calls, from header to IEND.  Returns 0, or -1 after libpng
 * failed (enc->msg and enc->nomem say why). */
static int write_png(png_structp png, png_infop info, enc_t *enc)
{
    if (setjmp(png_jmpbuf(png)))
        return -1;

    png_set_write_fn(png, enc, on_write, on_flush);
    png_set_IHDR(png, info, (png_uint_32)enc->width, (png_uint_32)enc->height, 8,
                 enc->alpha_out ? PNG_COLOR_TYPE_RGB_ALPHA : PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_BASE, PNG_FILTER_TYPE_BASE);
    png_set_compression_level(png, PNGENC_LEVEL);
    png_set_compression_strategy(png, Z_DEFAULT_STRATEGY);
    png_set_compression_buffer_size(png, PNGENC_IDAT_BYTES);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, PNGENC_FILTER);

    for (size_t i = 0; i < enc->ntext; i++) {
        const pngenc_text_t *t = &enc->text[i];
        png_text c;
        memset(&c, 0, sizeof c);
        c.key = (png_charp)t->key;
        c.text = (png_charp)t->value;
        if (t->itxt) {
            c.compression = strlen(t->value) > PNGENC_ITXT_ZIP_OVER
                                ? PNG_ITXT_COMPRESSION_zTXt
                                : PNG_ITXT_COMPRESSION_NONE;
        } else {
            c.compression = PNG_TEXT_COMPRESSION_NONE;
        }
        png_set_text(png, info, &c, 1);
    }

    png_write_info(png, info);
    for (int y = 0; y < enc->height; y++) {
        convert_row(enc, y);
        png_write_row(png, enc->row);
    }
    png_write_end(png, info);
    return 0;
}

/* ---- argument checks ---- */

/* A PNG keyword we can write unchanged: libpng would silently rewrite one
 * with stray spaces or non-printing bytes, and Latin-1 keys would not read
 * back as the UTF-8 the caller meant, so only printable ASCII passes. */
static bool key_ok(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > PNGENC_KEY_MAX || k[0] == ' ' || k[n - 1] == ' ')
        return false;
    for (size_t i = 0; i < n; i++) {
        if (k[i] < 0x20 || k[i] > 0x7e || (k[i] == ' ' && k[i + 1] == ' '))
            return false;
    }
    return true;
}

/* tEXt is Latin-1; keeping it to printable ASCII and "\n" means a reader
 * that assumes UTF-8 gets the same text. */
static bool text_value_ok(const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if ((v[i] < 0x20 || v[i] > 0x7e) && v[i] != '\n')
            return false;
    }
    return true;
}

static err_code_t check_text(const pngenc_text_t *text, size_t ntext, err_t *err)
{
    if (ntext > 0 && !text)
        return err_set(err, ERR_INVALID, "png: %zu text chunks but no array", ntext);
    for (size_t i = 0; i < ntext; i++) {
        const pngenc_text_t *t = &text[i];
        if (!t->key || !t->value)
            return err_set(err, ERR_INVALID, "png: text chunk %zu: NULL key or value", i);
        if (!key_ok(t->key))
            return err_set(err, ERR_INVALID,
                           "png: text chunk %zu: key must be 1-%d printable ASCII "
                           "characters without leading, trailing or double spaces",
                           i, PNGENC_KEY_MAX);
        size_t n = strlen(t->value);
        if (n > PNGENC_TEXT_MAX)
            return err_set(err, ERR_TOOBIG, "png: text \"%s\": %zu bytes (max %d)",
                           t->key, n, PNGENC_TEXT_MAX);
        if (t->itxt ? !utf8_valid(t->value, n, NULL, NULL) : !text_value_ok(t->value, n))
            return err_set(err, ERR_INVALID, "png: text \"%s\": %s", t->key,
                           t->itxt ? "value is not valid UTF-8"
                                   : "tEXt value must be printable ASCII (use iTXt)");
    }
    return ERR_OK;
}

/* True when some pixel of an ARGB32 image is not fully opaque. */
static bool has_translucency(const unsigned char *data, int w, int h, int stride)
{
    for (int y = 0; y < h; y++) {
        const uint32_t *px = (const uint32_t *)(data + (size_t)y * (size_t)stride);
        uint32_t all = 0xffffffffu;
        for (int x = 0; x < w; x++)
            all &= px[x];
        if ((all >> 24) != 0xff)
            return true;
    }
    return false;
}

static err_code_t encode(const unsigned char *data, int width, int height, int stride,
                         bool alpha_in, const pngenc_text_t *text, size_t ntext,
                         buf_t *out, err_t *err)
{
    if (!data || !out)
        return err_set(err, ERR_INVALID, "png: NULL %s", data ? "output" : "pixels");
    if (width < 1 || height < 1 || width > PNGENC_SIDE_MAX || height > PNGENC_SIDE_MAX)
        return err_set(err, ERR_INVALID, "png: size %dx%d outside 1..%d", width,
                       height, PNGENC_SIDE_MAX);
    if (stride < 0 || (size_t)stride < (size_t)width * 4)
        return err_set(err, ERR_INVALID, "png: stride %d shorter than a %d px row",
                       stride, width);
    err_code_t rc = check_text(text, ntext, err);
    if (rc != ERR_OK)
        return rc;

    enc_t enc = {
        .data = data, .width = width, .height = height, .stride = stride,
        .text = text, .ntext = ntext, .out = out,
    };
    enc.alpha_out = alpha_in && has_translucency(data, width, height, stride);
    size_t start = out->len;

    enc.row = injected_failure() ? NULL : malloc((size_t)width * 4);
    png_structp png = NULL;
    png_infop info = NULL;
    if (enc.row)
        png = png_create_write_struct_2(PNG_LIBPNG_VER_STRING, &enc, on_error,
                                        on_warning, &enc, on_malloc, on_free);
    if (png)
        info = png_create_info_struct(png);
    if (!info) {
        if (png)
            png_destroy_write_struct(&png, NULL);
        free(enc.row);
        return err_set(err, ERR_NOMEM, "png: out of memory");
    }

    int failed = write_png(png, info, &enc);
    png_destroy_write_struct(&png, &info);
    free(enc.row);
    if (failed) {
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
        if (enc.nomem)
            return err_set(err, ERR_NOMEM, "png: out of memory (%s)", enc.msg);
        return err_set(err, ERR_INTERNAL, "png: libpng: %s", enc.msg);
    }
    return ERR_OK;
}

/* See pngenc.h. */
err_code_t pngenc_argb32(const unsigned char *data, int width, int height,
                         int stride, const pngenc_text_t *text, size_t ntext,
                         buf_t *out, err_t *err)
{
    return encode(data, width, height, stride, true, text, ntext, out, err);
}

/* See pngenc.h. */
err_code_t pngenc_rgb24(const unsigned char *data, int width, int height,
                        int stride, const pngenc_text_t *text, size_t ntext,
                        buf_t *out, err_t *err)
{
    return encode(data, width, height, stride, false, text, ntext, out, err);
}
