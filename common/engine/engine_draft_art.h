/* engine_draft_art — the draft poster's colour and key art: a palette and
 * shapes drawn from a seeded splitmix64 stream, so the same seed always
 * gives the same picture.  Internal to the draft engine (engine_draft.c). */
#ifndef ONESHEET_ENGINE_DRAFT_ART_H
#define ONESHEET_ENGINE_DRAFT_ART_H

#include <cairo.h>

#include <stdint.h>

typedef struct { double r, g, b; } rgb_t;

typedef struct {
    rgb_t bg_top, bg_bottom, accent[3], accent_light, ink, ink_soft;
} palette_t;

/* splitmix64 state; seed it by setting s. */
typedef struct { uint64_t s; } rng_t;

static inline void draft_set_rgb(cairo_t *cr, rgb_t c, double a)
{
    cairo_set_source_rgba(cr, c.r, c.g, c.b, a);
}

/* Fills p with a harmonious palette drawn from r: one base hue and a classic
 * scheme for the accents, over a dark background so light text reads. */
void draft_palette_from_seed(rng_t *r, palette_t *p);

/* Paints the whole w x h surface with a linear gradient at a random angle. */
void draft_draw_background(cairo_t *cr, rng_t *r, const palette_t *p, int w, int h);

/* Draws a glow, bands, circles and concentric arcs inside the art area
 * (ax, ay, aw, ah); layout "minimal" draws fewer shapes, "bold" bigger ones. */
void draft_draw_key_art(cairo_t *cr, rng_t *r, const palette_t *p, double ax,
                        double ay, double aw, double ah, const char *layout);

#endif
