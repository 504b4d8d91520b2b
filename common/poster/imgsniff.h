/* imgsniff — what kind of image a byte string is, from its magic bytes, and
 * its pixel size from the header: PNG (signature + IHDR), JPEG (SOI, then
 * the first SOFn segment) and WebP (RIFF/WEBP with a VP8, VP8L or VP8X
 * chunk).  Reads only headers, never decodes pixels, and never reads past
 * len, so it is safe on anything a server sends. */
#ifndef ONESHEET_IMGSNIFF_H
#define ONESHEET_IMGSNIFF_H

#include <stddef.h>

typedef enum {
    IMG_UNKNOWN = 0,
    IMG_PNG,
    IMG_JPEG,
    IMG_WEBP,
} img_format_t;

typedef struct {
    img_format_t format;
    int width, height;   /* 0 when the header does not say (or is cut) */
} img_info_t;

/* Fills *info for data[0..len).  Returns info->format: IMG_UNKNOWN when the
 * bytes start with none of the three signatures or the header is
 * malformed. */
img_format_t imgsniff(const void *data, size_t len, img_info_t *info);

/* "png", "jpeg", "webp" ("" for IMG_UNKNOWN); static strings. */
const char *imgsniff_ext(img_format_t f);
/* "image/png", "image/jpeg", "image/webp" ("application/octet-stream" for
 * IMG_UNKNOWN); static strings. */
const char *imgsniff_content_type(img_format_t f);
/* The format an output_format name means: "png", "jpeg"/"jpg", "webp";
 * IMG_UNKNOWN for anything else (NULL too). */
img_format_t imgsniff_from_name(const char *name);

#endif
