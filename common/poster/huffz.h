/* huffz — a zlib stream made of Huffman-only deflate blocks, for PNG image
 * data.
 *
 * Photographic pixels, once PNG-filtered, are mostly small differences
 * with noise: LZ77 finds few repeats in them, and searching for repeats is
 * what costs a deflate encoder its time (zlib level 3 took ~100 ms for a
 * 1024x1536 poster, libdeflate level 1 ~45 ms).  Coding every byte as a
 * literal with a Huffman code fitted to each 128 KiB block keeps ~95 % of
 * the compression libpng gets at level 6 on such images at a few ms.  It
 * is the wrong tool for flat art (drafts, diagrams), which pngenc.c keeps.
 *
 * Any inflater reads the output (blocks are standard dynamic-Huffman
 * blocks with no distance codes; a block that would not shrink is stored).
 * Same input, same bytes. */
#ifndef ONESHEET_HUFFZ_H
#define ONESHEET_HUFFZ_H

#include "base/buf.h"
#include "base/err.h"

#include <stddef.h>
#include <stdint.h>

/* Appends the zlib stream (header, blocks, Adler-32) of in[0..len) to out.
 * in may be NULL when len is 0.  ERR_OK, or ERR_NOMEM with out keeping its
 * length. */
err_code_t huffz_compress(const uint8_t *in, size_t len, buf_t *out);

#endif
