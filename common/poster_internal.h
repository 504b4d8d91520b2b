/* poster_internal — what poster.c, poster_text.c and poster_image.c share.
 * Not part of the public interface (see poster.h). */
#ifndef ONESHEET_POSTER_INTERNAL_H
#define ONESHEET_POSTER_INTERNAL_H

#include "poster.h"

#include <cairo.h>
#include <pango/pangocairo.h>

struct poster {
    PangoFontMap *fontmap;
    PangoContext *pango;
};

/* How one block is set. */
typedef struct {
    const char *family;
    PangoWeight weight;
    PangoStyle style;
    double max_px, min_px;
    int max_lines;
    double tracking;   /* letter spacing as a fraction of the size */
    double leading;    /* extra line spacing as a fraction of the size */
    size_t head_bytes; /* this many leading bytes are a spaced bold heading */
} poster_font_t;

/* Lays text out at the largest size in [min_px, max_px] whose lines (at most
 * f->max_lines) fit w x max_h with no ink outside that box; text that does
 * not fit even at min_px is cut with an ellipsis.  The lines are set
 * poster_gutter(f) px in from each side so overhanging glyphs (italics, a
 * leading "A") stay inside: draw the layout at x + gutter.  Returns a new
 * layout (caller unrefs). */
int poster_gutter(const poster_font_t *f);
PangoLayout *poster_fit_text(PangoContext *ctx, const poster_font_t *f,
                             const char *text, PangoAlignment align, int w,
                             int max_h);

/* The box a layout fitted into the w x max_h box at (x, y) covers when
 * drawn at (x + gutter, y): its logical and ink extents united, clipped to
 * the box. */
poster_box_t poster_text_box(PangoLayout *l, int gutter, double x, double y, double w,
                             double max_h);

/* The smallest WCAG contrast between colour rgb and the pixels of s (RGB24
 * or ARGB32, flushed) inside box, with a scrim of colour scrim and opacity
 * alpha over them (alpha 0: none).  Pixels are binned to 5 bits a channel
 * and each bin taken at its worst corner, so this never overstates. */
double poster_box_contrast(cairo_surface_t *s, poster_box_t box, const double rgb[3],
                           const double scrim[3], double alpha);

/* Chooses light or dark text for box from the pixels of s behind it, and the
 * least scrim opacity (black behind light text, white behind dark) that gets
 * the worst pixel to at least target contrast.  Fills rgb, scrim, *alpha. */
void poster_choose_ink(cairo_surface_t *s, poster_box_t box, double target,
                       double rgb[3], double scrim[3], double *alpha);

/* Decodes PNG bytes to a new CAIRO_FORMAT_ARGB32 surface; NULL with err set
 * (ERR_INVALID, ERR_NOMEM). */
cairo_surface_t *poster_decode_png(const void *data, size_t len, err_t *err);

/* Encodes s as a PNG with in's metadata (see poster_compose()), appending to
 * out. */
err_code_t poster_encode(cairo_surface_t *s, const poster_input_t *in, buf_t *out,
                         err_t *err);

/* in's text as valid UTF-8 cut to at most max bytes (with "…" when cut);
 * NULL for NULL or empty.  Returns a new string (g_free). */
char *poster_clean_text(const char *s, size_t max);

#endif
