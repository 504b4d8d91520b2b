/* reframe — one piece of art recomposed to another shape (issue 20's
 * renditions): a 2:3 poster, a 16:9 banner, a 1:1 tile and a 9:16 story
 * from one generation.
 *
 * The art is cropped where its detail lies: the window of the rendition's
 * shape with the most edge energy (the summed luminance gradient, on a copy
 * about 128 px a side) along the dimension being cut, with a faint pull
 * towards the centre so flat art is cut evenly -- not a blind centre crop.
 * A crop may take at most REFRAME_CROP_MAX of the art's width or height
 * away; where the ratio is further off than that, the kept art is fitted
 * in whole and the rest of the rendition is filled from the art itself:
 * its edges mirrored outwards, blurred and dimmed, with the art's own edge
 * feathered into the fill.  In a landscape rendition the art sits at the
 * right, leaving the fill to the text column at the left; in a portrait
 * one it sits high, leaving the fill to the text at the foot.
 *
 * The text is then set over the reframed art by poster.c's own layout
 * (the rendition's safe area, scrims, contrast), so every rendition is a
 * poster in its own right.  Draft proofs lose their DRAFT bands to the
 * reframe and get new ones at the rendition's size, the footer naming the
 * rendition.  Renditions are composed at rendition_size() of their ratio.
 *
 * Threads: as poster.h (one poster_t per thread).  Same input, same bytes. */
#ifndef ONESHEET_REFRAME_H
#define ONESHEET_REFRAME_H

#include "base/buf.h"
#include "base/err.h"
#include "jobs/job.h"
#include "poster/art.h"
#include "poster/poster.h"

#include <stdbool.h>

/* A crop takes at most this share of the art's width or height away. */
#define REFRAME_CROP_MAX 0.25

/* Where the art went. */
typedef struct {
    int width, height;   /* the rendition */
    poster_box_t crop;   /* the part of the art kept, in the art's pixels */
    poster_box_t place;  /* where that part lies in the rendition */
    bool extended;       /* part of the rendition is fill drawn from the art */
} reframe_info_t;

/* Reframes image img[0..len) (PNG, JPEG or WebP; borrowed) to w x h, with
 * no text, and appends it to out as a PNG without text chunks; info (may
 * be NULL) says where the art went.  Returns ERR_OK; ERR_INVALID for an
 * image that does not decode (as poster_compose()) or a size outside
 * 16..POSTER_SIDE_MAX; ERR_NOMEM. */
err_code_t reframe_image(const void *img, size_t len, int w, int h, buf_t *out,
                         reframe_info_t *info, err_t *err);

/* Composes in over art art[0..len) (borrowed) reframed to the size of
 * rendition ratio (rendition_size()): a PNG appended to out with in's
 * metadata, lay (may be NULL) and info (may be NULL) filled as
 * poster_compose() and reframe_image() say.  in->draft marks a draft
 * proof (its bands are repainted; footer, may be NULL, is set in the foot
 * band).  Errors as poster_compose(), and ERR_INVALID for an unknown
 * ratio. */
err_code_t reframe_compose(poster_t *p, const poster_input_t *in, const void *art,
                           size_t len, const char *ratio, const char *footer, buf_t *out,
                           poster_layout_t *lay, reframe_info_t *info, err_t *err);

/* The worker's entry: rendition ratio of job job_id's poster from the
 * engine's art, with the text and metadata poster_for_job() would set.
 * Errors as reframe_compose(). */
err_code_t reframe_for_job(poster_t *p, const job_spec_t *spec, const char *job_id,
                           const engine_result_t *art, const char *ratio, buf_t *out,
                           poster_layout_t *lay, err_t *err);

#endif
