/* poster_text — fitting text into boxes and keeping it readable: the pango
 * side of poster.c (fit, measure) and the contrast arithmetic that picks the
 * ink and scrim behind each block (WCAG 2 relative luminance). */
#include "poster/poster_internal.h"
#include "poster/fontdesc.h"

#include <math.h>
#include <string.h>

/* ---- fitting ---- */

static void set_size(PangoLayout *l, const poster_font_t *f, double px)
{
    fontdesc_apply(l, f->family, f->weight, f->style, px);
    pango_layout_set_spacing(l, (int)(px * f->leading * PANGO_SCALE));
    PangoAttrList *attrs = pango_attr_list_new();
    if (f->tracking > 0)
        pango_attr_list_insert(attrs, pango_attr_letter_spacing_new(
                                          (int)(px * f->tracking * PANGO_SCALE)));
    /* Scripts DejaVu lacks (CJK) fall back through fontconfig; this keeps
     * the fallback on for every run of the text. */
    pango_attr_list_insert(attrs, pango_attr_fallback_new(TRUE));
    if (f->head_bytes > 0) {
        PangoAttribute *a = pango_attr_weight_new(PANGO_WEIGHT_BOLD);
        a->end_index = (guint)f->head_bytes;
        pango_attr_list_insert(attrs, a);
        a = pango_attr_letter_spacing_new((int)(px * 0.15 * PANGO_SCALE));
        a->end_index = (guint)f->head_bytes;
        pango_attr_list_insert(attrs, a);
        a = pango_attr_family_new("DejaVu Sans");
        a->end_index = (guint)f->head_bytes;
        pango_attr_list_insert(attrs, a);
    }
    pango_layout_set_attributes(l, attrs);
    pango_attr_list_unref(attrs);
}

/* True when l, fitted into w x max_h, keeps every line and every pixel of
 * ink inside the box. */
static int fits(PangoLayout *l, const poster_font_t *f, int gutter, int w, int max_h)
{
    PangoRectangle ink, logical;
    pango_layout_get_pixel_extents(l, &ink, &logical);
    if (pango_layout_get_line_count(l) > f->max_lines || logical.height > max_h)
        return 0;
    if (ink.width > 0 && (ink.x + gutter < 0 || ink.y < 0 ||
                          ink.x + ink.width + gutter > w || ink.y + ink.height > max_h))
        return 0;
    return logical.x >= 0 && logical.x + logical.width + 2 * gutter <= w;
}

int poster_gutter(const poster_font_t *f)
{
    return (int)ceil(f->max_px * 0.06) + 1;
}

PangoLayout *poster_fit_text(PangoContext *ctx, const poster_font_t *f,
                             const char *text, PangoAlignment align, int w, int max_h)
{
    PangoLayout *l = pango_layout_new(ctx);
    int gutter = poster_gutter(f);
    pango_layout_set_text(l, text, -1);
    pango_layout_set_width(l, (w - 2 * gutter > 1 ? w - 2 * gutter : 1) * PANGO_SCALE);
    pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
    pango_layout_set_alignment(l, align);

    set_size(l, f, f->max_px);
    if (fits(l, f, gutter, w, max_h))
        return l;
    double lo = f->min_px, hi = f->max_px;
    for (int i = 0; i < 7; i++) {
        double mid = (lo + hi) / 2;
        set_size(l, f, mid);
        if (fits(l, f, gutter, w, max_h))
            lo = mid;
        else
            hi = mid;
    }
    set_size(l, f, lo);
    if (!fits(l, f, gutter, w, max_h)) {
        /* Too much text even at the smallest size: keep the lines that fit
         * and end the last with an ellipsis. */
        int n = pango_layout_get_line_count(l), h;
        pango_layout_get_pixel_size(l, NULL, &h);
        int fit = (int)(max_h / ((double)h / (n > 0 ? n : 1)));
        if (fit > f->max_lines)
            fit = f->max_lines;
        pango_layout_set_height(l, -(fit > 1 ? fit : 1));
        pango_layout_set_ellipsize(l, PANGO_ELLIPSIZE_END);
    }
    return l;
}

poster_box_t poster_text_box(PangoLayout *l, int gutter, double x, double y, double w,
                             double max_h)
{
    PangoRectangle ink, logical;
    pango_layout_get_pixel_extents(l, &ink, &logical);
    ink.x += gutter;
    logical.x += gutter;
    double x0 = logical.x, y0 = logical.y;
    double x1 = logical.x + logical.width, y1 = logical.y + logical.height;
    if (ink.width > 0 && ink.height > 0) {
        x0 = fmin(x0, ink.x);
        y0 = fmin(y0, ink.y);
        x1 = fmax(x1, ink.x + ink.width);
        y1 = fmax(y1, ink.y + ink.height);
    }
    /* Drawing is clipped to the fitted box, so the box never says more. */
    x0 = fmax(x0, 0);
    y0 = fmax(y0, 0);
    x1 = fmin(x1, w);
    y1 = fmin(y1, max_h);
    return (poster_box_t){x + x0, y + y0, fmax(0, x1 - x0), fmax(0, y1 - y0)};
}

char *poster_clean_text(const char *s, size_t max)
{
    if (!s || !*s)
        return NULL;
    char *v = g_utf8_make_valid(s, -1);
    if (strlen(v) <= max)
        return v;
    size_t n = max;
    while (n > 0 && ((unsigned char)v[n] & 0xC0) == 0x80)
        n--;
    char *out = g_strdup_printf("%.*s\u2026", (int)n, v);
    g_free(v);
    return out;
}

/* ---- contrast ---- */

static double linear(double c)
{
    return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
}

double poster_luminance(double r, double g, double b)
{
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
}

double poster_contrast_ratio(double l1, double l2)
{
    double hi = fmax(l1, l2), lo = fmin(l1, l2);
    return (hi + 0.05) / (lo + 0.05);
}

/* The pixel box clipped to the surface: [x0, x1) x [y0, y1). */
static void box_px(cairo_surface_t *s, poster_box_t b, int *x0, int *y0, int *x1,
                   int *y1)
{
    int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
    *x0 = (int)fmax(0, floor(b.x));
    *y0 = (int)fmax(0, floor(b.y));
    *x1 = (int)fmin(w, ceil(b.x + b.w));
    *y1 = (int)fmin(h, ceil(b.y + b.h));
}

/* Which of the 32x32x32 colour cells occur in the box: the contrast search
 * runs over the cells present instead of every pixel. */
static void cells_in_box(cairo_surface_t *s, poster_box_t b, unsigned char *cells)
{
    int x0, y0, x1, y1;
    const unsigned char *d = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    box_px(s, b, &x0, &y0, &x1, &y1);
    memset(cells, 0, 32768);
    for (int y = y0; y < y1; y++) {
        const uint32_t *row = (const uint32_t *)(d + (size_t)y * stride);
        for (int x = x0; x < x1; x++) {
            uint32_t p = row[x];
            cells[((p >> 19) & 31) << 10 | ((p >> 11) & 31) << 5 | ((p >> 3) & 31)] = 1;
        }
    }
}

/* The worst contrast of rgb over the present cells under the scrim: each
 * cell is taken at its corner nearest the ink (its brightest corner for
 * light ink), so the answer errs on the safe side. */
static double cells_contrast(const unsigned char *cells, const double rgb[3],
                             const double scrim[3], double alpha)
{
    double lt = poster_luminance(rgb[0], rgb[1], rgb[2]), worst = 21;
    int light = lt > 0.5;
    for (int i = 0; i < 32768; i++) {
        if (!cells[i])
            continue;
        double c[3] = {(double)(i >> 10), (double)((i >> 5) & 31), (double)(i & 31)};
        for (int k = 0; k < 3; k++) {
            double v = (c[k] * 8 + (light ? 7 : 0)) / 255.0;
            c[k] = v * (1 - alpha) + scrim[k] * alpha;
        }
        double r = poster_contrast_ratio(lt, poster_luminance(c[0], c[1], c[2]));
        if (r < worst)
            worst = r;
    }
    return worst;
}

double poster_box_contrast(cairo_surface_t *s, poster_box_t box, const double rgb[3],
                           const double scrim[3], double alpha)
{
    unsigned char *cells = g_malloc(32768);
    cells_in_box(s, box, cells);
    double r = cells_contrast(cells, rgb, scrim, alpha);
    g_free(cells);
    return r;
}

/* The least scrim opacity (to 1/128) that brings the cells to target. */
static double alpha_needed(const unsigned char *cells, const double rgb[3],
                           const double scrim[3], double target)
{
    if (cells_contrast(cells, rgb, scrim, 0) >= target)
        return 0;
    double lo = 0, hi = 1;
    for (int i = 0; i < 7; i++) {
        double mid = (lo + hi) / 2;
        if (cells_contrast(cells, rgb, scrim, mid) >= target)
            hi = mid;
        else
            lo = mid;
    }
    return hi;
}

void poster_choose_ink(cairo_surface_t *s, poster_box_t box, double target,
                       double rgb[3], double scrim[3], double *alpha)
{
    static const double light[3] = {0.98, 0.97, 0.94}, black[3] = {0, 0, 0};
    static const double dark[3] = {0.07, 0.07, 0.08}, white[3] = {1, 1, 1};
    unsigned char *cells = g_malloc(32768);
    cells_in_box(s, box, cells);
    double a_light = alpha_needed(cells, light, black, target);
    double a_dark = alpha_needed(cells, dark, white, target);
    g_free(cells);
    /* Light type on a darkened image is the poster convention; dark type
     * only when it needs clearly less veil. */
    int use_dark = a_dark + 0.15 < a_light;
    memcpy(rgb, use_dark ? dark : light, sizeof light);
    memcpy(scrim, use_dark ? white : black, sizeof white);
    *alpha = use_dark ? a_dark : a_light;
}
