/* pngsurface — a PNG held in memory as cairo pixels, for tests that look at
 * what was rendered (the poster, the draft engine, the PNG encoder). */
#ifndef ONESHEET_PNGSURFACE_H
#define ONESHEET_PNGSURFACE_H

#include "base/buf.h"
#include "poster/poster.h"

#include <cairo.h>
#include <stdint.h>

/* Decodes png with cairo; the test fails unless that works.  Returns the
 * flushed image surface (caller destroys). */
cairo_surface_t *tu_png_surface(const buf_t *png);

/* The pixel at (x, y) of an image surface as 0xRRGGBB (alpha dropped). */
uint32_t tu_px(cairo_surface_t *s, int x, int y);

/* WCAG relative luminance of a 0xRRGGBB pixel. */
double tu_lum8(uint32_t p);

/* Whether box in lies within box out (to 0.01 px). */
int tu_box_inside(poster_box_t in, poster_box_t out);

#endif
