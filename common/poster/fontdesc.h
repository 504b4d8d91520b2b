/* fontdesc — the one way onesheet asks pango for a face at a pixel size
 * (the draft engine's proofs and poster.c's typography share it). */
#ifndef ONESHEET_FONTDESC_H
#define ONESHEET_FONTDESC_H

#include <pango/pangocairo.h>

/* Sets l's font to family at weight and style, px pixels tall (absolute
 * size, so the output does not depend on a DPI setting). */
static inline void fontdesc_apply(PangoLayout *l, const char *family, PangoWeight weight,
                                  PangoStyle style, double px)
{
    PangoFontDescription *d = pango_font_description_new();
    pango_font_description_set_family(d, family);
    pango_font_description_set_weight(d, weight);
    pango_font_description_set_style(d, style);
    pango_font_description_set_absolute_size(d, px * PANGO_SCALE);
    pango_layout_set_font_description(l, d);
    pango_font_description_free(d);
}

#endif
