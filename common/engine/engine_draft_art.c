/* engine_draft_art — see engine_draft_art.h.  Every number drawn here comes
 * from the seeded stream, in a fixed order: changing the order of the draws
 * changes every poster for a given seed. */
#include "engine/engine_draft_art.h"

#include <math.h>
#include <string.h>

/* ---- seeded randomness and colour ---- */

static uint64_t rng_next(rng_t *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double rng_range(rng_t *r, double lo, double hi)
{
    return lo + (hi - lo) * ((double)(rng_next(r) >> 11) * 0x1.0p-53);
}

static int rng_int(rng_t *r, int lo, int hi) /* inclusive */
{
    return lo + (int)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

/* HSL (hue in degrees) to RGB, the usual chroma construction. */
static rgb_t hsl(double h, double s, double l)
{
    static const int order[6][3] = {{0, 1, 2}, {1, 0, 2}, {2, 0, 1},
                                    {2, 1, 0}, {1, 2, 0}, {0, 2, 1}};
    h = fmod(fmod(h, 360.0) + 360.0, 360.0) / 60.0;
    double c = (1 - fabs(2 * l - 1)) * s, m = l - c / 2;
    double v[3] = {c + m, c * (1 - fabs(fmod(h, 2.0) - 1)) + m, m};
    const int *k = order[(int)h % 6];
    return (rgb_t){v[k[0]], v[k[1]], v[k[2]]};
}

/* A harmonious palette: one base hue and a classic scheme (analogous,
 * complementary, split-complementary, triadic) for the accents, over a dark
 * background so light text always reads. */
void draft_palette_from_seed(rng_t *r, palette_t *p)
{
    static const double schemes[][3] = {
        {0, 30, -30}, {0, 180, 20}, {0, 150, 210}, {0, 120, 240}};
    const double *sc = schemes[rng_int(r, 0, 3)];
    double base = rng_range(r, 0, 360);
    double sat = rng_range(r, 0.55, 0.85);

    p->bg_top = hsl(base + sc[1] * 0.15, rng_range(r, 0.35, 0.55), rng_range(r, 0.14, 0.22));
    p->bg_bottom = hsl(base - 20, 0.45, rng_range(r, 0.04, 0.08));
    for (int i = 0; i < 3; i++)
        p->accent[i] = hsl(base + sc[i] + rng_range(r, -8, 8), sat,
                           rng_range(r, 0.48, 0.62));
    p->accent_light = hsl(base + sc[1], sat * 0.8, 0.78);
    p->ink = hsl(base, 0.25, 0.96);
    p->ink_soft = hsl(base, 0.15, 0.80);
}

/* ---- background and key art ---- */

void draft_draw_background(cairo_t *cr, rng_t *r, const palette_t *p, int w, int h)
{
    double ang = rng_range(r, 0, 2 * M_PI), cx = w / 2.0, cy = h / 2.0;
    double reach = hypot(w, h) / 2;
    cairo_pattern_t *g = cairo_pattern_create_linear(
        cx - cos(ang) * reach, cy - sin(ang) * reach,
        cx + cos(ang) * reach, cy + sin(ang) * reach);
    cairo_pattern_add_color_stop_rgb(g, 0, p->bg_top.r, p->bg_top.g, p->bg_top.b);
    cairo_pattern_add_color_stop_rgb(g, 1, p->bg_bottom.r, p->bg_bottom.g, p->bg_bottom.b);
    cairo_set_source(cr, g);
    cairo_paint(cr);
    cairo_pattern_destroy(g);
}

/* Circles, concentric arcs and bands inside the art area (ax, ay, aw, ah). */
void draft_draw_key_art(cairo_t *cr, rng_t *r, const palette_t *p, double ax,
                        double ay, double aw, double ah, const char *layout)
{
    int minimal = layout && strcmp(layout, "minimal") == 0;
    int bold = layout && strcmp(layout, "bold") == 0;
    double u = fmin(aw, ah);

    /* A soft glow gives the composition a light source. */
    double gx = ax + aw * rng_range(r, 0.25, 0.75), gy = ay + ah * rng_range(r, 0.25, 0.6);
    cairo_pattern_t *glow = cairo_pattern_create_radial(gx, gy, 0, gx, gy, u * 0.9);
    rgb_t gc = p->accent[0];
    cairo_pattern_add_color_stop_rgba(glow, 0, gc.r, gc.g, gc.b, 0.55);
    cairo_pattern_add_color_stop_rgba(glow, 1, gc.r, gc.g, gc.b, 0);
    cairo_set_source(cr, glow);
    cairo_paint(cr);
    cairo_pattern_destroy(glow);

    int nbands = minimal ? 0 : rng_int(r, 1, bold ? 3 : 2);
    for (int i = 0; i < nbands; i++) {
        cairo_save(cr);
        cairo_translate(cr, ax + aw * rng_range(r, 0.2, 0.8), ay + ah * rng_range(r, 0.2, 0.8));
        cairo_rotate(cr, rng_range(r, -0.6, 0.6));
        double t = u * rng_range(r, 0.03, bold ? 0.14 : 0.08);
        cairo_rectangle(cr, -aw * 1.5, -t / 2, aw * 3, t);
        draft_set_rgb(cr, p->accent[rng_int(r, 1, 2)], rng_range(r, 0.25, 0.45));
        cairo_fill(cr);
        cairo_restore(cr);
    }

    int ncircles = minimal ? 1 : rng_int(r, 2, bold ? 5 : 4);
    for (int i = 0; i < ncircles; i++) {
        double rad = u * rng_range(r, 0.08, bold ? 0.38 : 0.28);
        double cx = ax + aw * rng_range(r, 0.15, 0.85), cy = ay + ah * rng_range(r, 0.2, 0.8);
        rgb_t c = p->accent[i % 3];
        cairo_pattern_t *fill = cairo_pattern_create_radial(
            cx - rad * 0.35, cy - rad * 0.35, rad * 0.1, cx, cy, rad);
        cairo_pattern_add_color_stop_rgba(fill, 0, fmin(1, c.r + 0.2),
                                          fmin(1, c.g + 0.2), fmin(1, c.b + 0.2), 0.95);
        cairo_pattern_add_color_stop_rgba(fill, 1, c.r * 0.6, c.g * 0.6, c.b * 0.6, 0.85);
        cairo_arc(cr, cx, cy, rad, 0, 2 * M_PI);
        cairo_set_source(cr, fill);
        cairo_fill(cr);
        cairo_pattern_destroy(fill);
    }

    int narcs = rng_int(r, 1, 2);
    for (int i = 0; i < narcs; i++) {
        double cx = ax + aw * rng_range(r, 0.2, 0.8), cy = ay + ah * rng_range(r, 0.25, 0.75);
        double r0 = u * rng_range(r, 0.12, 0.3), a0 = rng_range(r, 0, 2 * M_PI);
        int rings = rng_int(r, 3, 6);
        cairo_set_line_width(cr, fmax(1.5, u * 0.006));
        cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
        for (int k = 0; k < rings; k++) {
            double span = rng_range(r, 0.6, 1.6) * M_PI;
            cairo_new_sub_path(cr);
            cairo_arc(cr, cx, cy, r0 + k * u * 0.025, a0 + k * 0.3, a0 + k * 0.3 + span);
        }
        draft_set_rgb(cr, i ? p->accent_light : p->ink, 0.55);
        cairo_stroke(cr);
    }
}
