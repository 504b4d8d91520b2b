/* poster_webp — small WebP thumbnails of finished posters, for the
 * dashboard's grids (onesheet-api makes one lazily the first time a
 * thumbnail is asked for, so the worker's CPU per job is unchanged).
 * Decoding is poster_decode.c's; scaling is the gallery's (cairo GOOD
 * filter); encoding is libwebp's lossy encoder. */
#include "poster/poster_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <webp/encode.h>

err_code_t poster_thumbnail_webp(const void *img, size_t len, int max_w, int max_h,
                                 float quality, buf_t *out, int *out_w, int *out_h,
                                 err_t *err)
{
    if (max_w < 1 || max_h < 1)
        return err_set(err, ERR_INVALID, "thumbnail: size must be positive");
    if (!(quality >= 0 && quality <= 100))
        return err_set(err, ERR_INVALID, "thumbnail: quality must be 0..100");
    cairo_surface_t *src = poster_decode(img, len, err);
    if (!src)
        return err->code;
    int w = cairo_image_surface_get_width(src), h = cairo_image_surface_get_height(src);
    double k = fmin(1.0, fmin((double)max_w / w, (double)max_h / h));
    int tw = (int)fmax(1, round(w * k)), th = (int)fmax(1, round(h * k));

    /* ARGB32 painted white first: every pixel ends opaque, so the bytes
     * are BGRA with alpha 255 on a little-endian machine and ARGB on a
     * big-endian one, which WebPEncodeBGRA reads correctly only on the
     * former; cairo's native order is what we hand over below. */
    cairo_surface_t *t = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, tw, th);
    cairo_t *cr = cairo_create(t);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_scale(cr, (double)tw / w, (double)th / h);
    cairo_set_source_surface(cr, src, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
    cairo_paint(cr);
    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    cairo_surface_destroy(src);
    err_code_t rc = ERR_OK;
    if (st != CAIRO_STATUS_SUCCESS) {
        rc = err_set(err, st == CAIRO_STATUS_NO_MEMORY ? ERR_NOMEM : ERR_INTERNAL,
                     "thumbnail: %s", cairo_status_to_string(st));
    } else {
        cairo_surface_flush(t);
        const uint8_t *px = cairo_image_surface_get_data(t);
        int stride = cairo_image_surface_get_stride(t);
        uint8_t *webp = NULL;
        size_t n;
        /* cairo keeps a pixel as one native-endian uint32 0xAARRGGBB. */
        uint32_t probe = 1;
        bool little = *(uint8_t *)&probe == 1;
        uint8_t *rgba = NULL;
        if (little) {
            n = WebPEncodeBGRA(px, tw, th, stride, quality, &webp);
        } else if ((rgba = malloc((size_t)tw * (size_t)th * 4))) {
            for (int y = 0; y < th; y++)
                for (int x = 0; x < tw; x++) {
                    uint32_t v = *(const uint32_t *)(px + (size_t)y * (size_t)stride +
                                                     (size_t)x * 4);
                    uint8_t *d = rgba + ((size_t)y * (size_t)tw + (size_t)x) * 4;
                    d[0] = (uint8_t)(v >> 16);
                    d[1] = (uint8_t)(v >> 8);
                    d[2] = (uint8_t)v;
                    d[3] = (uint8_t)(v >> 24);
                }
            n = WebPEncodeRGBA(rgba, tw, th, tw * 4, quality, &webp);
        } else {
            n = 0;
        }
        free(rgba);
        if (n == 0 || !webp)
            rc = err_set(err, ERR_NOMEM, "thumbnail: WebP encoding failed");
        else if (buf_append(out, webp, n) != ERR_OK)
            rc = err_set(err, ERR_NOMEM, "thumbnail: out of memory");
        WebPFree(webp);
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
