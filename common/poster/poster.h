/* poster — the finished poster: typography and layout set over generated
 * art, with where it came from embedded as PNG text chunks.
 *
 * Image models letter badly, so onesheet sets the title, tagline and credits
 * itself, with cairo + pango, over the art the engine made (the draft
 * engine's proof art and Bedrock's pictures take the same path).  Every text
 * block stays inside a safe area (6% of the short side in from each edge, and
 * clear of the DRAFT bands on proofs), is fitted to the largest size that
 * wraps into its box, and sits on a scrim whose colour and opacity are
 * chosen from the art's own luminance behind it so the WCAG contrast between
 * the text and what is behind it is at least POSTER_MIN_CONTRAST.
 *
 * Layouts: "classic" (the default: the text stacked at the foot, or in the
 * left column of a landscape poster), "bold" (a heavy title at the head, the
 * rest at the foot) and "minimal" (a small serif title, left aligned).
 *
 * Input: PNG, JPEG (libjpeg-turbo) and WebP (libwebp, still images) art
 * is decoded and composed alike; the poster is always a PNG.  Art over
 * POSTER_SIDE_MAX px a side or POSTER_PIXELS_MAX pixels is refused before
 * its pixels are allocated.  Translucent art is flattened onto black.
 *
 * Splice: a poster with no text over PNG art is the art itself with the
 * metadata chunks inserted before its IEND chunk, pixels never decoded
 * (poster_layout_t.spliced) -- the worker's case for real art with no
 * title, tagline or credits, where decoding and re-encoding a 2 MB image
 * would cost more than everything else the worker does for the job.  Art
 * that is not a tidy PNG (see poster_compose()) takes the decoding path.
 *
 * Threads: a poster_t owns its pango font map and context; use one per
 * thread.  Output is deterministic: same input, same bytes. */
#ifndef ONESHEET_POSTER_H
#define ONESHEET_POSTER_H

#include "base/buf.h"
#include "poster/art.h"
#include "base/err.h"
#include "jobs/job.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _cairo cairo_t;   /* as cairo.h declares it */

#define POSTER_MIN_CONTRAST 4.5 /* WCAG AA for normal text */
#define POSTER_SIDE_MAX 16384       /* px: art wider or taller is refused */
#define POSTER_PIXELS_MAX 64000000  /* px: art with more pixels is refused */

typedef struct { double x, y, w, h; } poster_box_t;

typedef enum {
    POSTER_TITLE, POSTER_TAGLINE, POSTER_NOTES, POSTER_CREDITS, POSTER__NBLOCKS
} poster_block_t;

/* Tests: draw everything but the glyphs (scrims included), so a render with
 * and one without show exactly where the text went and what is behind it. */
#define POSTER_NO_GLYPHS 1u

/* What to set and what to record.  Every string is borrowed and may be NULL
 * (absent); text must be UTF-8 (invalid bytes are replaced). */
typedef struct {
    const char *title, *tagline, *credits;
    const char *notes;       /* small print under the tagline (drafts: the prompt) */
    const char *notes_label; /* its heading, e.g. "ART DIRECTION" */
    const char *layout;      /* classic | minimal | bold; NULL: classic */
    bool draft;              /* keep clear of the draft engine's DRAFT bands */
    unsigned flags;          /* POSTER_NO_GLYPHS */
    /* Metadata, written as iTXt chunks (Software carries the version). */
    const char *prompt, *negative_prompt, *model, *job_id;
    int64_t seed;            /* < 0: not recorded */
} poster_input_t;

/* Where things went, for callers and tests.  Boxes are in pixels of the
 * output; an absent block has w == 0.  After a success exactly one of
 * composed and spliced is true. */
typedef struct {
    bool composed;           /* the art was decoded and the poster drawn anew */
    /* The poster is the PNG art with the metadata spliced in: poster bytes
     * [0, splice_at) are art[0, len - 12), then splice_len bytes of text
     * chunks, then art[len - 12, len), the 12-byte IEND chunk
     * (00 00 00 00 "IEND" AE 42 60 82).  Offsets count from where the
     * poster starts in out.  Everything below but width and height is
     * zero when spliced. */
    bool spliced;
    size_t splice_at, splice_len;
    int width, height;
    poster_box_t safe;       /* nothing is set outside this */
    poster_box_t block[POSTER__NBLOCKS];  /* ink and logical extents, united */
    double text_rgb[POSTER__NBLOCKS][3];  /* colour the block was set in */
    double contrast[POSTER__NBLOCKS];     /* worst WCAG ratio over its box */
    double scrim_alpha[POSTER__NBLOCKS];  /* opacity of the scrim behind it */
} poster_layout_t;

typedef struct poster poster_t;

/* Opens a composer with its own pango font map and context, rendering
 * options pinned (grey antialiasing, no hinting) so output does not depend
 * on the user's fontconfig.  Returns a new composer (poster_close()), or
 * NULL with err set (ERR_NOMEM). */
poster_t *poster_open(err_t *err);
void poster_close(poster_t *p);

/* Composes in over the art art[0..len) (borrowed: PNG, JPEG or WebP) and
 * appends the poster to out: a PNG the size of the art with text chunks
 * Software ("onesheet VERSION", tEXt), then iTXt Title, onesheet:prompt,
 * :negative_prompt, :model, :seed, :job (each only when set).  lay (may be
 * NULL) receives the layout.
 *
 * When in sets no text (title, tagline, notes and credits all NULL or
 * empty) and art is a PNG whose chunk list checks out -- signature, a valid
 * IHDR first and within the size limits, every chunk length inside the
 * bytes, only known critical chunks (PLTE before one run of IDAT), the
 * well-formed 12-byte IEND as its last bytes -- the poster is
 * spliced (see poster_layout_t.spliced): the chunks go after the image
 * data, and the art's own chunks, alpha and bytes are kept.  The check reads
 * chunk headers only, so corruption inside IDAT is carried through, not
 * reported.  Otherwise the art is decoded.
 *
 * Returns ERR_OK; ERR_INVALID for bytes that are no image, art that does
 * not decode (cut or corrupt PNG, JPEG or WebP; animated WebP) or is too
 * large; ERR_NOMEM; ERR_TOOBIG for a metadata value over PNGENC_TEXT_MAX.
 * On error out keeps its length. */
err_code_t poster_compose(poster_t *p, const poster_input_t *in, const void *art,
                          size_t len, buf_t *out, poster_layout_t *lay, err_t *err);

/* The worker's entry: composes the poster for job job_id of spec from the
 * engine's art.  What is set: the spec's title, tagline and credits.  A
 * draft proof with no title takes one from the prompt's first clause and
 * shows the prompt (and negative prompt) as art direction, so a proof is a
 * layout a person can judge; real art with no text gets none — the poster
 * is then the art with its metadata (spliced in when the art is a PNG).
 * *content_type and *ext get static strings naming what out holds: always
 * "image/png" and "png".  Errors as poster_compose(). */
err_code_t poster_for_job(poster_t *p, const job_spec_t *spec, const char *job_id,
                          const engine_result_t *art, buf_t *out,
                          const char **content_type, const char **ext,
                          poster_layout_t *lay, err_t *err);

/* poster_for_job() without the copy, for the worker: when that poster
 * would be spliced (no text for the job; PNG art that checks out), appends
 * to chunks only the bytes the splice inserts, sets lay (spliced,
 * splice_at = len - 12, splice_len, width, height) and returns ERR_OK.
 * The poster is then art[0, splice_at) + chunks + art[splice_at, len), and
 * the caller may make it in the art's own buffer.  ERR_NOTFOUND when the
 * poster needs poster_for_job(); ERR_NOMEM, ERR_TOOBIG as there. */
err_code_t poster_for_job_chunks(const job_spec_t *spec, const char *job_id,
                                 const engine_result_t *art, buf_t *chunks,
                                 poster_layout_t *lay, err_t *err);

/* Scales image img[0..len) (PNG, JPEG or WebP, borrowed) to fit within
 * max_w x max_h, keeping its aspect (never enlarging), on white, and appends
 * it as a PNG to out (no text chunks); *out_w, *out_h (may be NULL) get its
 * size.  ERR_INVALID when img does not decode (as poster_compose()) or a
 * size is not positive; ERR_NOMEM. */
err_code_t poster_thumbnail(const void *img, size_t len, int max_w, int max_h,
                            buf_t *out, int *out_w, int *out_h, err_t *err);

/* Like poster_thumbnail(), but appends a lossy WebP of the given quality
 * (0..100) with every pixel opaque: the dashboard's thumbnails
 * (poster_image.c).  ERR_INVALID as there or for a quality out of range;
 * ERR_NOMEM when encoding fails. */
err_code_t poster_thumbnail_webp(const void *img, size_t len, int max_w, int max_h,
                                 float quality, buf_t *out, int *out_w, int *out_h,
                                 err_t *err);

/* WCAG 2 relative luminance of an sRGB colour (components 0..1), and the
 * contrast ratio of two luminances (1..21). */
double poster_luminance(double r, double g, double b);
double poster_contrast_ratio(double l1, double l2);

/* The DRAFT marking the draft engine paints on its proofs: a signal-yellow
 * band of top_px at the head, one of bottom_px with footer at the foot.
 * poster_draft_bands() gives the band heights for a w x h proof. */
void poster_draft_bands(int w, int h, double *top_px, double *bottom_px);
/* Paints one such band, bh high at y across a w wide surface: hazard
 * stripes on near-black, the signal yellow between them.  Leaves cr saved
 * and clipped to the band (the caller sets its text, then restores);
 * returns the width of the striped ends. */
double poster_draft_band(cairo_t *cr, double y, double bh, int w);

#endif
