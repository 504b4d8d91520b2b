/* reframe — see reframe.h.  The crop search and the fill are here; the
 * text goes on through poster_compose_surface(), poster.c's own path. */
#include "poster/reframe.h"
#include "poster/poster_internal.h"
#include "jobs/rendition.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENERGY_SIDE 128    /* px: the long side of the copy the detail is sought on */
#define CENTRE_PULL 0.05   /* of a window's mean energy, per half-span off centre */
#define FILL_SCALE 16      /* the fill is drawn at 1/16 size, blurred, scaled back */
#define FILL_DIM 0.3       /* black over the fill at its far edge, none at the art */
#define FEATHER 0.06       /* of the rendition's short side: the art's edge into the fill */

static double lum8(uint32_t p)
{
    return 0.2126 * ((p >> 16) & 255) + 0.7152 * ((p >> 8) & 255) + 0.0722 * (p & 255);
}

/* Where along x (along_x) or y the window of length len inside box c of src
 * holds the most edge energy: the window's start, in src's pixels.  Flat
 * art, or a window as long as c, comes out centred. */
static double detail_offset(cairo_surface_t *src, poster_box_t c, bool along_x, double len)
{
    double span = along_x ? c.w : c.h, centre = (along_x ? c.x : c.y) + (span - len) / 2;
    if (len >= span - 0.5)
        return along_x ? c.x : c.y;
    double k = ENERGY_SIDE / fmax(c.w, c.h);
    int sw = (int)fmax(3, ceil(c.w * k)), sh = (int)fmax(3, ceil(c.h * k));
    int n = along_x ? sw : sh;
    double *pre = calloc((size_t)n + 1, sizeof *pre);
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, sw, sh);
    if (!pre || cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        free(pre);
        cairo_surface_destroy(s);
        return centre;
    }
    cairo_t *cr = cairo_create(s);
    cairo_scale(cr, sw / c.w, sh / c.h);
    cairo_set_source_surface(cr, src, -c.x, -c.y);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
    cairo_paint(cr);
    cairo_destroy(cr);
    cairo_surface_flush(s);

    const unsigned char *d = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    for (int y = 0; y + 1 < sh; y++) {
        const uint32_t *row = (const uint32_t *)(d + (size_t)y * stride);
        const uint32_t *next = (const uint32_t *)(d + (size_t)(y + 1) * stride);
        for (int x = 0; x + 1 < sw; x++) {
            double l = lum8(row[x]);
            pre[(along_x ? x : y) + 1] += fabs(lum8(row[x + 1]) - l) + fabs(lum8(next[x]) - l);
        }
    }
    cairo_surface_destroy(s);
    for (int i = 0; i < n; i++)
        pre[i + 1] += pre[i];

    int wl = (int)fmax(1, fmin(n, lround(len / span * n))), last = n - wl, best = last / 2;
    double mean = pre[n] / n * wl + 1, best_score = -INFINITY;
    for (int o = 0; o <= last; o++) {
        double off = last ? fabs(o - last / 2.0) / (last / 2.0) : 0;
        double score = pre[o + wl] - pre[o] - CENTRE_PULL * mean * off;
        if (score > best_score) {
            best_score = score;
            best = o;
        }
    }
    free(pre);
    double start = (along_x ? c.x : c.y) + (double)best / n * span;
    return fmin(fmax(start, along_x ? c.x : c.y), (along_x ? c.x : c.y) + span - len);
}

/* Two passes of a radius-2 box blur over an RGB24 surface, in place. */
static void box_blur(cairo_surface_t *s)
{
    int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
    int stride = cairo_image_surface_get_stride(s), r = 2;
    unsigned char *d = cairo_image_surface_get_data(s);
    uint32_t *tmp = malloc(sizeof *tmp * (size_t)(w > h ? w : h));
    if (!tmp)
        return;
    cairo_surface_flush(s);
    for (int pass = 0; pass < 4; pass++) {
        bool horiz = pass % 2 == 0;
        int lines = horiz ? h : w, len = horiz ? w : h;
        for (int l = 0; l < lines; l++) {
            for (int i = 0; i < len; i++) {
                unsigned sum[3] = {0, 0, 0}, cnt = 0;
                for (int j = i - r; j <= i + r; j++) {
                    int q = j < 0 ? 0 : j >= len ? len - 1 : j;
                    uint32_t p = horiz ? ((uint32_t *)(d + (size_t)l * stride))[q]
                                       : ((uint32_t *)(d + (size_t)q * stride))[l];
                    sum[0] += (p >> 16) & 255;
                    sum[1] += (p >> 8) & 255;
                    sum[2] += p & 255;
                    cnt++;
                }
                tmp[i] = (sum[0] / cnt) << 16 | (sum[1] / cnt) << 8 | sum[2] / cnt;
            }
            for (int i = 0; i < len; i++) {
                if (horiz)
                    ((uint32_t *)(d + (size_t)l * stride))[i] = tmp[i];
                else
                    ((uint32_t *)(d + (size_t)i * stride))[l] = tmp[i];
            }
        }
    }
    free(tmp);
    cairo_surface_mark_dirty(s);
}

/* Fills box d of cr with the kept art (sub, drawn at scale sc from (px, py),
 * pw x ph) mirrored out past its edges, blurred, and dimmed more with the
 * distance from the art, so the seam shows no step. */
static void paint_fill(cairo_t *cr, cairo_surface_t *sub, poster_box_t d, double px,
                       double py, double pw, double ph, double sc)
{
    int fw = (int)fmax(4, ceil(d.w / FILL_SCALE)), fh = (int)fmax(4, ceil(d.h / FILL_SCALE));
    cairo_surface_t *f = cairo_image_surface_create(CAIRO_FORMAT_RGB24, fw, fh);
    cairo_t *fc = cairo_create(f);
    cairo_scale(fc, fw / d.w, fh / d.h);
    cairo_translate(fc, px - d.x, py - d.y);
    cairo_scale(fc, sc, sc);
    cairo_set_source_surface(fc, sub, 0, 0);
    cairo_pattern_set_extend(cairo_get_source(fc), CAIRO_EXTEND_REFLECT);
    cairo_pattern_set_filter(cairo_get_source(fc), CAIRO_FILTER_GOOD);
    cairo_paint(fc);
    cairo_destroy(fc);
    if (cairo_surface_status(f) == CAIRO_STATUS_SUCCESS)
        box_blur(f);

    cairo_save(cr);
    cairo_rectangle(cr, d.x, d.y, d.w, d.h);
    cairo_clip(cr);
    cairo_translate(cr, d.x, d.y);
    cairo_scale(cr, d.w / fw, d.h / fh);
    cairo_set_source_surface(cr, f, 0, 0);
    cairo_pattern_set_extend(cairo_get_source(cr), CAIRO_EXTEND_PAD);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_BILINEAR);
    cairo_paint(cr);
    cairo_restore(cr);
    cairo_surface_destroy(f);

    bool along_x = pw < d.w - 0.5;
    double lo = along_x ? d.x : d.y, span = along_x ? d.w : d.h;
    double a0 = ((along_x ? px : py) - lo) / span;
    double a1 = ((along_x ? px + pw : py + ph) - lo) / span;
    cairo_pattern_t *dim = along_x ? cairo_pattern_create_linear(d.x, 0, d.x + d.w, 0)
                                   : cairo_pattern_create_linear(0, d.y, 0, d.y + d.h);
    cairo_pattern_add_color_stop_rgba(dim, 0, 0, 0, 0, a0 > 0.001 ? FILL_DIM : 0);
    cairo_pattern_add_color_stop_rgba(dim, a0, 0, 0, 0, 0);
    cairo_pattern_add_color_stop_rgba(dim, a1, 0, 0, 0, 0);
    cairo_pattern_add_color_stop_rgba(dim, 1, 0, 0, 0, a1 < 0.999 ? FILL_DIM : 0);
    cairo_save(cr);
    cairo_rectangle(cr, d.x, d.y, d.w, d.h);
    cairo_set_source(cr, dim);
    cairo_fill(cr);
    cairo_restore(cr);
    cairo_pattern_destroy(dim);
}

/* A mask for the kept art (kw x kh in its own pixels) that fades its edges
 * that meet fill (lo: the left or top edge, hi: the right or bottom) over
 * feather of its pixels. */
static cairo_pattern_t *edge_mask(bool along_x, double kw, double kh, bool lo, bool hi,
                                  double feather)
{
    double span = along_x ? kw : kh, f = fmin(0.45, feather / span);
    cairo_pattern_t *m = along_x ? cairo_pattern_create_linear(0, 0, kw, 0)
                                 : cairo_pattern_create_linear(0, 0, 0, kh);
    cairo_pattern_add_color_stop_rgba(m, 0, 0, 0, 0, lo ? 0 : 1);
    cairo_pattern_add_color_stop_rgba(m, f, 0, 0, 0, 1);
    cairo_pattern_add_color_stop_rgba(m, 1 - f, 0, 0, 0, 1);
    cairo_pattern_add_color_stop_rgba(m, 1, 0, 0, 0, hi ? 0 : 1);
    return m;
}

/* The art of src reframed to a new w x h RGB24 surface (see reframe.h);
 * with draft, the DRAFT bands of src and of the result are left out (the
 * caller paints the result's).  NULL when cairo runs out of memory. */
static cairo_surface_t *reframe_surface(cairo_surface_t *src, int w, int h, bool draft,
                                        reframe_info_t *info)
{
    int sw = cairo_image_surface_get_width(src), sh = cairo_image_surface_get_height(src);
    poster_box_t c = {0, 0, sw, sh}, d = {0, 0, w, h}, k;
    if (draft) {
        double t, b;
        poster_draft_bands(sw, sh, &t, &b);
        if (sh - t - b >= 16) {
            c.y = t;
            c.h = sh - t - b;
        }
        poster_draft_bands(w, h, &t, &b);
        d.y = t;
        d.h = h - t - b;
    }
    double a = c.w / c.h, r = d.w / d.h;
    bool wider = a > r;   /* the art is wider than the rendition: cut its width */
    double keep = fmax(1 - REFRAME_CROP_MAX, wider ? r / a : a / r);
    k = c;
    if (wider) {
        k.w = round(c.w * keep);
        k.x = round(detail_offset(src, c, true, k.w));
    } else {
        k.h = round(c.h * keep);
        k.y = round(detail_offset(src, c, false, k.h));
    }
    double sc = fmin(d.w / k.w, d.h / k.h), pw = k.w * sc, ph = k.h * sc;
    double px = d.x, py = d.y;
    bool landscape = w * 5 > h * 6, fill_x = pw < d.w - 0.5, fill_y = ph < d.h - 0.5;
    if (fill_x)
        px = round(d.x + (d.w - pw) * (landscape ? 1.0 : 0.5));
    if (fill_y)
        py = round(d.y + (d.h - ph) * (landscape ? 0.5 : 0.2));

    cairo_surface_t *out = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    cairo_surface_t *sub = cairo_surface_create_for_rectangle(src, k.x, k.y, k.w, k.h);
    cairo_t *cr = cairo_create(out);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_paint(cr);
    if (fill_x || fill_y)
        paint_fill(cr, sub, d, px, py, pw, ph, sc);
    cairo_save(cr);
    cairo_rectangle(cr, d.x, d.y, d.w, d.h);
    cairo_clip(cr);
    cairo_translate(cr, px, py);
    cairo_scale(cr, sc, sc);
    cairo_set_source_surface(cr, sub, 0, 0);
    cairo_pattern_set_extend(cairo_get_source(cr), CAIRO_EXTEND_PAD);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
    if (fill_x || fill_y) {
        double feather = FEATHER * fmin(w, h) / sc;
        cairo_pattern_t *m = edge_mask(fill_x, k.w, k.h, fill_x ? px > d.x + 0.5 : py > d.y + 0.5,
                                       fill_x ? px + pw < d.x + d.w - 0.5
                                              : py + ph < d.y + d.h - 0.5,
                                       feather);
        cairo_mask(cr, m);
        cairo_pattern_destroy(m);
    } else {
        cairo_paint(cr);
    }
    cairo_restore(cr);
    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    cairo_surface_destroy(sub);
    if (st != CAIRO_STATUS_SUCCESS || cairo_surface_status(out) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(out);
        return NULL;
    }
    if (info)
        *info = (reframe_info_t){w, h, k, {px, py, pw, ph}, fill_x || fill_y};
    return out;
}

/* The DRAFT marking at the rendition's own size: the signal-yellow bands
 * the draft engine paints (engine_draft.c), text centred, hazard stripes
 * at the ends. */
static void paint_band(poster_t *p, cairo_t *cr, double y, double bh, int w,
                       const char *family, const char *text)
{
    double ends = poster_draft_band(cr, y, bh, w);

    poster_font_t f = {family, PANGO_WEIGHT_BOLD, PANGO_STYLE_NORMAL, bh * 0.5, bh * 0.22,
                       1, 0.03, 0, 0};
    char *t = g_utf8_make_valid(text, -1);
    int bw = (int)fmax(10, w - 2 * ends - bh * 0.6), lh;
    pango_cairo_update_context(cr, p->pango);
    PangoLayout *l = poster_fit_text(p->pango, &f, t, PANGO_ALIGN_CENTER, bw, (int)(bh * 0.9));
    pango_layout_get_pixel_size(l, NULL, &lh);
    cairo_move_to(cr, ends + bh * 0.3 + poster_gutter(&f), y + (bh - lh) / 2);
    cairo_set_source_rgb(cr, 0.06, 0.06, 0.06);
    pango_cairo_show_layout(cr, l);
    g_object_unref(l);
    g_free(t);
    cairo_restore(cr);
}

static void paint_bands(poster_t *p, cairo_surface_t *s, const char *footer)
{
    int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
    double top, bot;
    poster_draft_bands(w, h, &top, &bot);
    cairo_t *cr = cairo_create(s);
    paint_band(p, cr, 0, top, w, "DejaVu Sans", "DRAFT \u2014 onesheet proof, not AI-generated");
    paint_band(p, cr, h - bot, bot, w, "DejaVu Sans Mono", footer ? footer : "DRAFT");
    cairo_destroy(cr);
}

static err_code_t check_size(int w, int h, err_t *err)
{
    if (w < 16 || h < 16 || w > POSTER_SIDE_MAX || h > POSTER_SIDE_MAX ||
        (double)w * h > POSTER_PIXELS_MAX)
        return err_set(err, ERR_INVALID, "reframe: size %dx%d out of range", w, h);
    return ERR_OK;
}

err_code_t reframe_image(const void *img, size_t len, int w, int h, buf_t *out,
                         reframe_info_t *info, err_t *err)
{
    if (check_size(w, h, err) != ERR_OK)
        return ERR_INVALID;
    cairo_surface_t *src = poster_decode(img, len, err);
    if (!src)
        return err->code;
    cairo_surface_t *s = reframe_surface(src, w, h, false, info);
    cairo_surface_destroy(src);
    if (!s)
        return err_set(err, ERR_NOMEM, "reframe: out of memory");
    cairo_surface_flush(s);
    err_code_t rc = pngenc_rgb24(cairo_image_surface_get_data(s), w, h,
                                 cairo_image_surface_get_stride(s), NULL, 0, out, err);
    cairo_surface_destroy(s);
    return rc;
}

err_code_t reframe_compose(poster_t *p, const poster_input_t *in, const void *art,
                           size_t len, const char *ratio, const char *footer, buf_t *out,
                           poster_layout_t *lay, reframe_info_t *info, err_t *err)
{
    poster_layout_t tmp;
    int w, h;
    if (!rendition_size(ratio, &w, &h))
        return err_set(err, ERR_INVALID, "renditions: unknown ratio \"%.16s\"",
                       ratio ? ratio : "");
    cairo_surface_t *src = poster_decode(art, len, err);
    if (!src)
        return err->code;
    bool photo = poster_art_is_photo(src, len);
    cairo_surface_t *s = reframe_surface(src, w, h, in->draft, info);
    cairo_surface_destroy(src);
    if (!s)
        return err_set(err, ERR_NOMEM, "reframe: out of memory");
    if (in->draft)
        paint_bands(p, s, footer);
    err_code_t rc = poster_compose_surface(p, in, s, photo, out, lay ? lay : &tmp, err);
    cairo_surface_destroy(s);
    return rc;
}

err_code_t reframe_for_job(poster_t *p, const job_spec_t *spec, const char *job_id,
                           const engine_result_t *art, const char *ratio, buf_t *out,
                           poster_layout_t *lay, err_t *err)
{
    char *title, *notes, footer[320];
    int w = 0, h = 0;
    poster_input_t in = poster_job_input(spec, job_id, art, &title, &notes);
    rendition_size(ratio, &w, &h);
    snprintf(footer, sizeof footer,
             "DRAFT \u00b7 model draft \u00b7 seed %lld \u00b7 %.8s of one %.8s proof \u00b7 "
             "%dx%d \u00b7 job %.128s",
             (long long)art->seed, ratio ? ratio : "", spec->aspect_ratio, w, h,
             job_id ? job_id : "");
    err_code_t rc = reframe_compose(p, &in, art->image.data, art->image.len, ratio,
                                    in.draft ? footer : NULL, out, lay, NULL, err);
    g_free(title);
    g_free(notes);
    return rc;
}
