/* poster_image — pixels in and out of poster.c: PNG decoding into cairo
 * surfaces, the encoded poster with its metadata chunks, and thumbnails for
 * the gallery. */
#include "poster_internal.h"
#include "pngenc.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#ifndef ONESHEET_VERSION
#define ONESHEET_VERSION "dev"
#endif

/* Art larger than this many pixels a side is refused before decoding. */
#define POSTER_SIDE_MAX 16384

typedef struct {
    const unsigned char *data;
    size_t len, off;
} reader_t;

static cairo_status_t read_mem(void *closure, unsigned char *data, unsigned int len)
{
    reader_t *r = closure;
    if (r->len - r->off < len)
        return CAIRO_STATUS_READ_ERROR;
    memcpy(data, r->data + r->off, len);
    r->off += len;
    return CAIRO_STATUS_SUCCESS;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

cairo_surface_t *poster_decode_png(const void *data, size_t len, err_t *err)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    const unsigned char *d = data;
    if (!d || len < 33 || memcmp(d, sig, 8) != 0 || memcmp(d + 12, "IHDR", 4) != 0) {
        err_set(err, ERR_INVALID, "poster: art is not a PNG");
        return NULL;
    }
    /* Checked before cairo allocates the pixels a header asks for. */
    uint32_t w = be32(d + 16), h = be32(d + 20);
    if (w == 0 || h == 0 || w > POSTER_SIDE_MAX || h > POSTER_SIDE_MAX) {
        err_set(err, ERR_INVALID, "poster: art of %ux%u px is out of range", w, h);
        return NULL;
    }
    reader_t r = {d, len, 0};
    cairo_surface_t *s = cairo_image_surface_create_from_png_stream(read_mem, &r);
    cairo_status_t st = cairo_surface_status(s);
    if (st != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(s);
        err_set(err, st == CAIRO_STATUS_NO_MEMORY ? ERR_NOMEM : ERR_INVALID,
                "poster: art does not decode: %s", cairo_status_to_string(st));
        return NULL;
    }
    return s;
}

err_code_t poster_encode(cairo_surface_t *s, const poster_input_t *in, buf_t *out,
                         err_t *err)
{
    pngenc_text_t text[8];
    char seed_s[24];
    char *vals[6] = {0};
    size_t n = 0;
    const char *src[6] = {in->title, in->prompt, in->negative_prompt, in->model,
                          NULL, in->job_id};
    const char *keys[6] = {"Title", "onesheet:prompt", "onesheet:negative_prompt",
                           "onesheet:model", "onesheet:seed", "onesheet:job"};

    text[n++] = (pngenc_text_t){"Software", "onesheet " ONESHEET_VERSION, false};
    if (in->seed >= 0) {
        snprintf(seed_s, sizeof seed_s, "%lld", (long long)in->seed);
        src[4] = seed_s;
    }
    for (int i = 0; i < 6; i++) {
        if (!src[i] || !*src[i])
            continue;
        vals[i] = g_utf8_make_valid(src[i], -1);
        text[n++] = (pngenc_text_t){keys[i], vals[i], true};
    }
    cairo_surface_flush(s);
    err_code_t rc = (cairo_image_surface_get_format(s) == CAIRO_FORMAT_RGB24
                         ? pngenc_rgb24 : pngenc_argb32)(
        cairo_image_surface_get_data(s), cairo_image_surface_get_width(s),
        cairo_image_surface_get_height(s), cairo_image_surface_get_stride(s), text, n,
        out, err);
    for (int i = 0; i < 6; i++)
        g_free(vals[i]);
    return rc;
}

err_code_t poster_thumbnail(const void *img, size_t len, int max_w, int max_h,
                            buf_t *out, int *out_w, int *out_h, err_t *err)
{
    if (max_w < 1 || max_h < 1)
        return err_set(err, ERR_INVALID, "thumbnail: size must be positive");
    cairo_surface_t *src = poster_decode_png(img, len, err);
    if (!src)
        return err->code;
    int w = cairo_image_surface_get_width(src), h = cairo_image_surface_get_height(src);
    double k = fmin(1.0, fmin((double)max_w / w, (double)max_h / h));
    int tw = (int)fmax(1, round(w * k)), th = (int)fmax(1, round(h * k));

    cairo_surface_t *t = cairo_image_surface_create(CAIRO_FORMAT_RGB24, tw, th);
    cairo_t *cr = cairo_create(t);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_scale(cr, (double)tw / w, (double)th / h);
    cairo_set_source_surface(cr, src, 0, 0);
    /* GOOD box-filters when shrinking, so fine detail does not alias. */
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
    cairo_paint(cr);
    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    cairo_surface_destroy(src);
    err_code_t rc;
    if (st != CAIRO_STATUS_SUCCESS) {
        rc = err_set(err, st == CAIRO_STATUS_NO_MEMORY ? ERR_NOMEM : ERR_INTERNAL,
                     "thumbnail: %s", cairo_status_to_string(st));
    } else {
        cairo_surface_flush(t);
        rc = pngenc_rgb24(cairo_image_surface_get_data(t), tw, th,
                          cairo_image_surface_get_stride(t), NULL, 0, out, err);
    }
    cairo_surface_destroy(t);
    if (rc == ERR_OK) {
        if (out_w)
            *out_w = tw;
        if (out_h)
            *out_h = th;
    }
    return rc;
}
