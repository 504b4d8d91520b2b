/* poster_internal — what poster.c, poster_text.c and poster_image.c share.
 * Not part of the public interface (see poster.h). */
#ifndef ONESHEET_POSTER_INTERNAL_H
#define ONESHEET_POSTER_INTERNAL_H

#include "poster/poster.h"
#include "poster/pngenc.h"

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

/* Decodes PNG, JPEG or WebP bytes (borrowed) to a new cairo image surface
 * (RGB24, or ARGB32 when the art has alpha), refusing sizes over
 * POSTER_SIDE_MAX / POSTER_PIXELS_MAX before allocating pixels.  Returns
 * the surface (caller destroys), or NULL with err set: ERR_INVALID for
 * bytes that are no such image or do not decode (cut, corrupt, animated
 * WebP), ERR_NOMEM.  poster_decode_png() takes PNG only. */
cairo_surface_t *poster_decode(const void *data, size_t len, err_t *err);
cairo_surface_t *poster_decode_png(const void *data, size_t len, err_t *err);

/* The metadata chunks of a poster for in, in the order they are written:
 * Software (tEXt), then iTXt Title, onesheet:prompt, :negative_prompt,
 * :model, :seed, :job, each only when set.  Values are valid UTF-8 copies
 * owned by m (poster_meta_free()). */
typedef struct {
    pngenc_text_t text[7];
    size_t n;
    char seed[24];
    char *vals[6];
} poster_meta_t;
void poster_meta_init(poster_meta_t *m, const poster_input_t *in);
void poster_meta_free(poster_meta_t *m);

/* Encodes s as a PNG with in's metadata (see poster_compose()), appending to
 * out. */
err_code_t poster_encode(cairo_surface_t *s, const poster_input_t *in, buf_t *out,
                         err_t *err);

/* True when PNG art[0..len) is fit for a splice: signature, an IHDR with
 * valid fields, CRC and a size within the decode limits, chunk lengths
 * inside the bytes, known critical chunks in order (PLTE before one run of
 * IDAT), and a well-formed 12-byte IEND as the last bytes.  Reads headers
 * only (no CRCs past IHDR, no inflating).  Sets *w, *h when true. */
bool poster_png_spliceable(const void *art, size_t len, int *w, int *h);

/* Appends art (which poster_png_spliceable() accepted) to out with in's
 * metadata chunks inserted before its IEND.  *at gets the offset of the
 * insertion from where the poster starts in out (len - 12), *inserted the
 * bytes inserted.  Returns ERR_OK; ERR_NOMEM, ERR_TOOBIG (a value over
 * PNGENC_TEXT_MAX); on error out keeps its length. */
err_code_t poster_splice(const poster_input_t *in, const void *art, size_t len,
                         buf_t *out, size_t *at, size_t *inserted, err_t *err);

/* Appends only in's metadata chunks, the bytes poster_splice() inserts.
 * Errors as poster_splice(). */
err_code_t poster_splice_chunks(const poster_input_t *in, buf_t *out, err_t *err);

/* poster_compose()'s drawing path over decoded art src (borrowed, RGB24 or
 * ARGB32): the poster, the size of src, appended to out as a PNG with in's
 * metadata; photo (poster_art_is_photo) picks poster_encode_photo() over
 * poster_encode(); lay (not NULL) receives the layout.  ERR_NOMEM,
 * ERR_INTERNAL when cairo fails, ERR_TOOBIG as poster_compose(). */
err_code_t poster_compose_surface(poster_t *p, const poster_input_t *in,
                                  cairo_surface_t *src, bool photo, buf_t *out,
                                  poster_layout_t *lay, err_t *err);
/* Whether art decoded to src from len encoded bytes is photographic (deflate
 * could not shrink it to a quarter), which Huffman-only coding suits. */
bool poster_art_is_photo(cairo_surface_t *src, size_t len);

/* The composer's input for job job_id of spec and its art, as
 * poster_for_job() sets it; *title and *notes get what the input borrows
 * from (g_free both). */
poster_input_t poster_job_input(const job_spec_t *spec, const char *job_id,
                                const engine_result_t *art, char **title, char **notes);
/* poster_fast.c.  PNG art that is 8-bit RGB or RGBA, not interlaced and whole
 * (every CRC right, the image data complete) decoded as cairo's reader
 * would decode it (RGB24, or premultiplied ARGB32), but with libdeflate: a
 * new surface, or NULL for anything else (the caller then takes cairo's
 * reader, which says what is wrong). */
cairo_surface_t *poster_png_fast_decode(const void *data, size_t len);
/* Tests: false makes the process take the old path (cairo's reader, and
 * pngenc for every poster), to compare the two. */
void poster_test_fast_path(bool on);
/* As poster_encode() for photographic art: an RGB24 surface written with
 * the Up filter and Huffman-only deflate (huffz.h), the metadata chunks
 * before the image data.  Other formats go to poster_encode(). */
err_code_t poster_encode_photo(cairo_surface_t *s, const poster_input_t *in, buf_t *out,
                               err_t *err);

/* in's text as valid UTF-8 cut to at most max bytes (with "…" when cut);
 * NULL for NULL or empty.  Returns a new string (g_free). */
char *poster_clean_text(const char *s, size_t max);

/* PNG's big-endian 32-bit lengths and CRCs. */
static inline uint32_t poster_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void poster_put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

#endif
