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
 * Input: PNG art is decoded and composed.  JPEG and WebP art cannot be
 * decoded here (the build links no JPEG or WebP decoder), so it is passed
 * through unchanged, uncomposed (poster_layout_t.composed is false).
 *
 * Threads: a poster_t owns its pango font map and context; use one per
 * thread.  Output is deterministic: same input, same bytes. */
#ifndef ONESHEET_POSTER_H
#define ONESHEET_POSTER_H

#include "buf.h"
#include "engine.h"
#include "err.h"
#include "job.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POSTER_MIN_CONTRAST 4.5 /* WCAG AA for normal text */

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
 * output; an absent block has w == 0. */
typedef struct {
    bool composed;           /* false: the art was passed through as it was */
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

/* Composes in over the art art[0..len) (borrowed) and appends the poster to
 * out: a PNG the size of the art with text chunks Software ("onesheet
 * VERSION"), onesheet:prompt, :negative_prompt, :model, :seed, :job (each
 * only when set) and Title when there is one.  JPEG/WebP art is appended
 * unchanged.  lay (may be NULL) receives the layout.  Returns ERR_OK;
 * ERR_INVALID for bytes that are no image or a PNG that does not decode;
 * ERR_NOMEM.  On error out keeps its length. */
err_code_t poster_compose(poster_t *p, const poster_input_t *in, const void *art,
                          size_t len, buf_t *out, poster_layout_t *lay, err_t *err);

/* The worker's entry: composes the poster for job job_id of spec from the
 * engine's art.  What is set: the spec's title, tagline and credits.  A
 * draft proof with no title takes one from the prompt's first clause and
 * shows the prompt (and negative prompt) as art direction, so a proof is a
 * layout a person can judge; real art with no text gets none — the poster
 * is then the art with its metadata.  *content_type and *ext get static
 * strings naming what out holds ("image/png", "png" unless passed through).
 * Errors as poster_compose(). */
err_code_t poster_for_job(poster_t *p, const job_spec_t *spec, const char *job_id,
                          const engine_result_t *art, buf_t *out,
                          const char **content_type, const char **ext,
                          poster_layout_t *lay, err_t *err);

/* Scales image img[0..len) (PNG) to fit within max_w x max_h, keeping its
 * aspect, and appends it as a PNG to out (no text chunks).  ERR_INVALID
 * when img is not a decodable PNG (JPEG/WebP included). */
err_code_t poster_thumbnail(const void *img, size_t len, int max_w, int max_h,
                            buf_t *out, int *out_w, int *out_h, err_t *err);

/* WCAG 2 relative luminance of an sRGB colour (components 0..1), and the
 * contrast ratio of two luminances (1..21). */
double poster_luminance(double r, double g, double b);
double poster_contrast_ratio(double l1, double l2);

/* The DRAFT marking the draft engine paints on its proofs: a signal-yellow
 * band of top_px at the head, one of bottom_px with footer at the foot.
 * poster_draft_bands() gives the band heights for a w x h proof. */
void poster_draft_bands(int w, int h, double *top_px, double *bottom_px);

#endif
