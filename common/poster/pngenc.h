/* pngenc — fast, deterministic PNG encoding of cairo image surfaces.
 *
 * cairo_surface_write_to_png() uses libpng's defaults (zlib level 6, every
 * filter tried on every row), which made encoding about 70% of a draft
 * render.  This encoder writes with zlib level 3 and no row filter, tuned on
 * draft posters (flat colour, gradients, text): there it is about five times
 * as fast as cairo's for about a quarter more bytes.  It is not tuned for
 * photographs.
 *
 * The file is called pngenc.h, not png.h, and every name here starts with
 * pngenc_, so neither shadows libpng's <png.h> (common/ is on the include
 * path) nor its png_ symbols.  Same input, same bytes: nothing in the output
 * depends on the time, the thread or the libpng build's defaults. */
#ifndef ONESHEET_PNGENC_H
#define ONESHEET_PNGENC_H

#include "base/buf.h"
#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>

/* Limits checked before anything is written. */
#define PNGENC_SIDE_MAX 1000000      /* px; libpng's default width/height limit */
#define PNGENC_KEY_MAX 79            /* bytes; the PNG spec's keyword limit */
#define PNGENC_TEXT_MAX (1024 * 1024) /* bytes per text value */

/* One text chunk.  key: 1–79 printable ASCII characters, no leading,
 * trailing or doubled spaces ("Software", "onesheet:prompt").  value: with
 * itxt false, a tEXt chunk and value must be printable ASCII or "\n"; with
 * itxt true, an iTXt chunk and value is any valid UTF-8 (zlib-compressed in
 * the chunk when longer than 1 KiB).  Both strings are borrowed. */
typedef struct {
    const char *key;
    const char *value;
    bool itxt;
} pngenc_text_t;

/* Appends a PNG of a cairo CAIRO_FORMAT_ARGB32 image to out: width x height
 * native-endian uint32 pixels, premultiplied alpha, rows stride bytes apart
 * (borrowed for the call).  Writes 8-bit RGB when every pixel is opaque,
 * else 8-bit RGBA with alpha un-premultiplied (rounded to nearest).  The
 * ntext chunks in text go before the image data, in order.
 *
 * Returns ERR_OK; ERR_INVALID for a NULL pointer, a side outside
 * 1..PNGENC_SIDE_MAX, a stride shorter than a row or a bad key or value;
 * ERR_TOOBIG for a value over PNGENC_TEXT_MAX; ERR_NOMEM when memory runs
 * out; ERR_INTERNAL when libpng fails otherwise.  On error out keeps its
 * previous length and err says why. */
err_code_t pngenc_argb32(const unsigned char *data, int width, int height,
                         int stride, const pngenc_text_t *text, size_t ntext,
                         buf_t *out, err_t *err);

/* As pngenc_argb32() for a CAIRO_FORMAT_RGB24 image: the top byte of each
 * pixel is undefined and ignored, and the PNG is always 8-bit RGB. */
err_code_t pngenc_rgb24(const unsigned char *data, int width, int height,
                        int stride, const pngenc_text_t *text, size_t ntext,
                        buf_t *out, err_t *err);

/* Fault injection for tests: the n-th allocation or output write (counting
 * from 1) made by the calling thread's encodes from now on fails as if
 * memory ran out, and so does every one after it; 0 turns this off.  Lets a
 * test walk every error path, including each longjmp out of libpng. */
void pngenc_test_fail_after(long n);

#endif
