/* poster_image — pixels out of poster.c: the metadata chunks, the encoded
 * poster carrying them, and thumbnails for the gallery (PNG) and the
 * dashboard (WebP) (decoding is in poster_decode.c). */
#include "poster/poster_internal.h"
#include "poster/pngenc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <webp/encode.h>

#ifndef ONESHEET_VERSION
#define ONESHEET_VERSION "dev"
#endif

void poster_meta_init(poster_meta_t *m, const poster_input_t *in)
{
    const char *src[6] = {in->title, in->prompt, in->negative_prompt, in->model,
                          NULL, in->job_id};
    static const char *const keys[6] = {"Title", "onesheet:prompt",
                                        "onesheet:negative_prompt", "onesheet:model",
                                        "onesheet:seed", "onesheet:job"};
    memset(m, 0, sizeof *m);
    m->text[m->n++] = (pngenc_text_t){"Software", "onesheet " ONESHEET_VERSION, false};
    if (in->seed >= 0) {
        snprintf(m->seed, sizeof m->seed, "%lld", (long long)in->seed);
        src[4] = m->seed;
    }
    for (int i = 0; i < 6; i++) {
        if (!src[i] || !*src[i])
            continue;
        m->vals[i] = g_utf8_make_valid(src[i], -1);
        m->text[m->n++] = (pngenc_text_t){keys[i], m->vals[i], true};
    }
}

void poster_meta_free(poster_meta_t *m)
{
    for (int i = 0; i < 6; i++)
        g_free(m->vals[i]);
    memset(m, 0, sizeof *m);
}

err_code_t poster_encode(cairo_surface_t *s, const poster_input_t *in, buf_t *out,
                         err_t *err)
{
    poster_meta_t m;
    poster_meta_init(&m, in);
    cairo_surface_flush(s);
    err_code_t rc = (cairo_image_surface_get_format(s) == CAIRO_FORMAT_RGB24
                         ? pngenc_rgb24 : pngenc_argb32)(
        cairo_image_surface_get_data(s), cairo_image_surface_get_width(s),
        cairo_image_surface_get_height(s), cairo_image_surface_get_stride(s), m.text, m.n,
        out, err);
    poster_meta_free(&m);
    return rc;
}

/* img decoded and scaled to fit max_w x max_h (never enlarged) on white:
 * a new RGB24 surface, or NULL with err set (the decoder's error, ERR_NOMEM
 * or ERR_INTERNAL when cairo fails). */
static cairo_surface_t *thumb_surface(const void *img, size_t len, int max_w, int max_h,
                                      err_t *err)
{
    cairo_surface_t *src = poster_decode(img, len, err);
    if (!src)
        return NULL;
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
    if (st != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(t);
        err_set(err, st == CAIRO_STATUS_NO_MEMORY ? ERR_NOMEM : ERR_INTERNAL,
                "thumbnail: %s", cairo_status_to_string(st));
        return NULL;
    }
    cairo_surface_flush(t);
    return t;
}

err_code_t poster_thumbnail(const void *img, size_t len, int max_w, int max_h,
                            buf_t *out, int *out_w, int *out_h, err_t *err)
{
    if (max_w < 1 || max_h < 1)
        return err_set(err, ERR_INVALID, "thumbnail: size must be positive");
    cairo_surface_t *t = thumb_surface(img, len, max_w, max_h, err);
    if (!t)
        return err->code;
    int tw = cairo_image_surface_get_width(t), th = cairo_image_surface_get_height(t);
    err_code_t rc = pngenc_rgb24(cairo_image_surface_get_data(t), tw, th,
                                 cairo_image_surface_get_stride(t), NULL, 0, out, err);
    cairo_surface_destroy(t);
    if (rc == ERR_OK) {
        if (out_w)
            *out_w = tw;
        if (out_h)
            *out_h = th;
    }
    return rc;
}

/* The dashboard's thumbnails (issue 19): scaled as above, on white, then
 * handed to libwebp as RGBA built from cairo's native-endian 0xAARRGGBB
 * pixels (a 256 px thumbnail is a few hundred kB to copy), so the bytes
 * are right on any byte order. */
err_code_t poster_thumbnail_webp(const void *img, size_t len, int max_w, int max_h,
                                 float quality, buf_t *out, int *out_w, int *out_h,
                                 err_t *err)
{
    if (max_w < 1 || max_h < 1)
        return err_set(err, ERR_INVALID, "thumbnail: size must be positive");
    if (!(quality >= 0 && quality <= 100))
        return err_set(err, ERR_INVALID, "thumbnail: quality must be 0..100");
    cairo_surface_t *t = thumb_surface(img, len, max_w, max_h, err);
    if (!t)
        return err->code;
    int tw = cairo_image_surface_get_width(t), th = cairo_image_surface_get_height(t);
    err_code_t rc = ERR_OK;
    uint8_t *rgba = NULL, *webp = NULL;
    size_t n = 0;
    if (!(rgba = malloc((size_t)tw * (size_t)th * 4))) {
        rc = err_set(err, ERR_NOMEM, "thumbnail: out of memory");
    } else {
        const uint8_t *px = cairo_image_surface_get_data(t);
        size_t stride = (size_t)cairo_image_surface_get_stride(t);
        for (int y = 0; y < th; y++)
            for (int x = 0; x < tw; x++) {
                uint32_t v;
                memcpy(&v, px + (size_t)y * stride + (size_t)x * 4, 4);
                uint8_t *d = rgba + ((size_t)y * (size_t)tw + (size_t)x) * 4;
                d[0] = (uint8_t)(v >> 16);
                d[1] = (uint8_t)(v >> 8);
                d[2] = (uint8_t)v;
                d[3] = 255;
            }
        n = WebPEncodeRGBA(rgba, tw, th, tw * 4, quality, &webp);
        if (n == 0 || !webp)
            rc = err_set(err, ERR_NOMEM, "thumbnail: WebP encoding failed");
        else if (buf_append(out, webp, n) != ERR_OK)
            rc = err_set(err, ERR_NOMEM, "thumbnail: out of memory");
    }
    free(rgba);
    WebPFree(webp);
    cairo_surface_destroy(t);
    if (rc == ERR_OK) {
        if (out_w)
            *out_w = tw;
        if (out_h)
            *out_h = th;
    }
    return rc;
}
