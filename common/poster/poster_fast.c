/* poster_fast — the fast path for photographic posters with text: PNG art
 * decoded with libdeflate (about three times zlib's inflate speed) straight
 * into the cairo surface, and the composed poster encoded with the Up
 * filter and Huffman-only deflate (huffz.c).
 *
 * Why these: decoding through cairo's libpng reader and encoding with zlib
 * level 3 (pngenc.c) cost ~40 ms and ~100 ms of CPU for a 1024x1536 photo
 * (issue 21).  libdeflate inflates the whole IDAT in one call into a buffer
 * of the exact size the header implies.  On filtered photographs LZ77
 * finds little, so Huffman-only blocks come within a few per cent of zlib
 * level 6 at a small fraction of the time; of the filters, Up costs one
 * subtraction a byte (vectorised by the compiler) and coded as well as
 * Paeth or a per-row choice in those measurements (README, Performance).
 *
 * The decoder takes only the common case -- 8-bit RGB or RGBA, not
 * interlaced, every chunk's CRC right, the image data complete -- and
 * declines anything else, which then goes through cairo's reader as
 * before (with its error messages).  Pixels are what cairo's reader makes:
 * RGB art as CAIRO_FORMAT_RGB24, RGBA as premultiplied ARGB32 rounded as
 * cairo rounds. */
#include "poster/poster_internal.h"
#include "poster/huffz.h"

#include <libdeflate.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define IDAT_CHUNK ((size_t)256 * 1024)

static _Atomic bool fast_off;   /* tests: the old path */

void poster_test_fast_path(bool on)
{
    fast_off = !on;
}

/* The Paeth predictor, written so the compiler makes it branch-free. */
static inline int paeth(int a, int b, int c)
{
    int pa = abs(b - c), pb = abs(a - c), pc = abs(a + b - 2 * c);
    int ab = pb < pa ? b : a;
    int m = pb < pa ? pb : pa;
    return pc < m ? c : ab;
}

/* Undoes row filter ft on cur (n bytes, bpp bytes a pixel) against prev
 * (the previous row, unfiltered; zeros for the first).  false for a
 * filter type PNG does not have. */
static bool unfilter(int ft, uint8_t *restrict cur, const uint8_t *restrict prev, size_t n,
                     size_t bpp)
{
    size_t i;
    switch (ft) {
    case 0:
        return true;
    case 1:
        for (i = bpp; i < n; i++)
            cur[i] = (uint8_t)(cur[i] + cur[i - bpp]);
        return true;
    case 2:
        for (i = 0; i < n; i++)
            cur[i] = (uint8_t)(cur[i] + prev[i]);
        return true;
    case 3:
        for (i = 0; i < bpp; i++)
            cur[i] = (uint8_t)(cur[i] + (prev[i] >> 1));
        for (; i < n; i++)
            cur[i] = (uint8_t)(cur[i] + ((cur[i - bpp] + prev[i]) >> 1));
        return true;
    case 4:
        for (i = 0; i < bpp; i++)
            cur[i] = (uint8_t)(cur[i] + prev[i]);
        for (; i < n; i++)
            cur[i] = (uint8_t)(cur[i] + paeth(cur[i - bpp], prev[i], prev[i - bpp]));
        return true;
    default:
        return false;
    }
}

/* cairo's premultiplication (cairo-png.c multiply_alpha). */
static inline uint32_t premul(uint32_t a, uint32_t c)
{
    uint32_t t = a * c + 0x80;
    return (t + (t >> 8)) >> 8;
}

cairo_surface_t *poster_png_fast_decode(const void *data, size_t len)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    const unsigned char *d = data;
    if (fast_off || !d || len < 45 || memcmp(d, sig, 8) != 0 || poster_be32(d + 8) != 13 ||
        memcmp(d + 12, "IHDR", 4) != 0)
        return NULL;
    uint32_t w = poster_be32(d + 16), h = poster_be32(d + 20);
    unsigned depth = d[24], type = d[25];
    if (w < 1 || h < 1 || w > POSTER_SIDE_MAX || h > POSTER_SIDE_MAX ||
        (uint64_t)w * h > POSTER_PIXELS_MAX || depth != 8 || (type != 2 && type != 6) ||
        d[26] || d[27] || d[28])
        return NULL;
    size_t bpp = type == 6 ? 4 : 3, row = (size_t)w * bpp;
    /* Walk the chunks: CRCs checked, the one run of IDAT found, IEND
     * last; only IHDR and IDAT among the critical chunks. */
    const unsigned char *first = NULL;
    size_t idat_len = 0, nidat = 0, pos = 8;
    bool after_idat = false, ended = false;
    uint8_t *gathered = NULL;
    while (pos + 12 <= len && !ended) {
        uint32_t n = poster_be32(d + pos);
        const unsigned char *t4 = d + pos + 4;
        if (n > len - pos - 12 || libdeflate_crc32(0, t4, 4 + (size_t)n) != poster_be32(d + pos + 8 + n))
            return NULL;
        if (memcmp(t4, "IDAT", 4) == 0) {
            if (after_idat)
                return NULL;
            if (!first)
                first = d + pos + 8;
            idat_len += n;
            nidat++;
        } else {
            after_idat = nidat > 0;
            if (memcmp(t4, "IEND", 4) == 0)
                ended = true;
            else if (!(t4[0] & 0x20) && (pos != 8 || memcmp(t4, "IHDR", 4) != 0))
                return NULL;   /* PLTE and the like: cairo's reader */
        }
        pos += 12 + (size_t)n;
    }
    if (!ended || !nidat)
        return NULL;
    if (nidat > 1) {   /* gathered into one buffer for the one-call inflate */
        if (!(gathered = malloc(idat_len)))
            return NULL;
        size_t at = 0;
        for (pos = 8; at < idat_len; pos += 12 + (size_t)poster_be32(d + pos))
            if (memcmp(d + pos + 4, "IDAT", 4) == 0) {
                memcpy(gathered + at, d + pos + 8, poster_be32(d + pos));
                at += poster_be32(d + pos);
            }
    }
    const uint8_t *z = gathered ? gathered : first;
    size_t raw_len = (row + 1) * h, got = 0;
    uint8_t *raw = malloc(raw_len + row);   /* + a zero row: the first's "previous" */
    struct libdeflate_decompressor *dc = raw ? libdeflate_alloc_decompressor() : NULL;
    enum libdeflate_result r = dc ? libdeflate_zlib_decompress(dc, z, idat_len, raw + row,
                                                               raw_len, &got)
                                  : LIBDEFLATE_SHORT_OUTPUT;
    libdeflate_free_decompressor(dc);
    free(gathered);
    gathered = NULL;
    if (r != LIBDEFLATE_SUCCESS || got != raw_len) {
        free(raw);
        return NULL;
    }
    cairo_surface_t *s = cairo_image_surface_create(type == 6 ? CAIRO_FORMAT_ARGB32
                                                              : CAIRO_FORMAT_RGB24,
                                                    (int)w, (int)h);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(s);
        free(raw);
        return NULL;
    }
    uint8_t *px = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    /* Row y's filter byte and bytes sit at raw + row + y * (row + 1);
     * each row is unfiltered in place against the one before (a row of
     * zeros, raw[0..row), for the first). */
    memset(raw, 0, row);
    uint8_t *prev = raw;
    for (uint32_t y = 0; y < h; y++) {
        uint8_t *cur = raw + row + (size_t)y * (row + 1);
        int ft = cur[0];
        cur++;
        if (!unfilter(ft, cur, prev, row, bpp)) {
            cairo_surface_destroy(s);
            free(raw);
            return NULL;
        }
        uint32_t *o = (uint32_t *)(px + (size_t)y * (size_t)stride);
        if (bpp == 3) {
            for (uint32_t x = 0; x < w; x++)
                o[x] = 0xff000000u | (uint32_t)cur[3 * x] << 16 |
                       (uint32_t)cur[3 * x + 1] << 8 | cur[3 * x + 2];
        } else {
            for (uint32_t x = 0; x < w; x++) {
                uint32_t a = cur[4 * x + 3], rr = cur[4 * x], g = cur[4 * x + 1],
                         b = cur[4 * x + 2];
                if (a == 0)
                    rr = g = b = 0;
                else if (a != 255)
                    rr = premul(a, rr), g = premul(a, g), b = premul(a, b);
                o[x] = a << 24 | rr << 16 | g << 8 | b;
            }
        }
        prev = cur;
    }
    free(raw);
    cairo_surface_mark_dirty(s);
    return s;
}

/* Appends one chunk: length, type, body, CRC. */
static err_code_t chunk(buf_t *out, const char *type, const uint8_t *body, size_t n)
{
    unsigned char head[8], crc[4];
    poster_put_be32(head, (uint32_t)n);
    memcpy(head + 4, type, 4);
    poster_put_be32(crc, libdeflate_crc32(libdeflate_crc32(0, head + 4, 4), body, n));
    if (buf_append(out, head, 8) != ERR_OK || buf_append(out, body, n) != ERR_OK ||
        buf_append(out, crc, 4) != ERR_OK)
        return ERR_NOMEM;
    return ERR_OK;
}

err_code_t poster_encode_photo(cairo_surface_t *s, const poster_input_t *in, buf_t *out,
                               err_t *err)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    cairo_surface_flush(s);
    if (fast_off || cairo_image_surface_get_format(s) != CAIRO_FORMAT_RGB24)
        return poster_encode(s, in, out, err);
    int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
    int stride = cairo_image_surface_get_stride(s);
    const uint8_t *px = cairo_image_surface_get_data(s);
    size_t row = (size_t)w * 3, start = out->len;
    uint8_t *f = malloc((row + 1) * (size_t)h);
    buf_t z = BUF_INIT;
    err_code_t rc = f ? ERR_OK : ERR_NOMEM;
    /* RGB rows, Up-filtered, in one pass over the surface: each byte is
     * this row's channel minus the row above's (zero above the first). */
    if (rc == ERR_OK) {
        static const uint32_t zero_row[1];
        for (int y = 0; y < h; y++) {
            const uint32_t *p = (const uint32_t *)(px + (size_t)y * (size_t)stride);
            const uint32_t *q = y ? (const uint32_t *)(px + (size_t)(y - 1) * (size_t)stride)
                                  : zero_row;
            size_t qstep = y ? 1 : 0;
            uint8_t *o = f + (size_t)y * (row + 1);
            o[0] = 2;
            o++;
            for (int x = 0; x < w; x++, o += 3) {
                uint32_t v = p[x], u = q[(size_t)x * qstep];
                o[0] = (uint8_t)((v >> 16) - (u >> 16));
                o[1] = (uint8_t)((v >> 8) - (u >> 8));
                o[2] = (uint8_t)(v - u);
            }
        }
        rc = huffz_compress(f, (row + 1) * (size_t)h, &z);
    }
    free(f);
    unsigned char ihdr[13];
    poster_put_be32(ihdr, (uint32_t)w);
    poster_put_be32(ihdr + 4, (uint32_t)h);
    memcpy(ihdr + 8, "\x08\x02\x00\x00\x00", 5);
    if (rc == ERR_OK && (buf_reserve(out, z.len + z.len / IDAT_CHUNK * 12 + 4096) != ERR_OK ||
                         buf_append(out, sig, 8) != ERR_OK ||
                         chunk(out, "IHDR", ihdr, sizeof ihdr) != ERR_OK))
        rc = ERR_NOMEM;
    if (rc == ERR_OK && (rc = poster_splice_chunks(in, out, err)) != ERR_OK) {
        out->len = start;
        buf_free(&z);
        return rc;
    }
    for (size_t at = 0; rc == ERR_OK && at < z.len; at += IDAT_CHUNK)
        rc = chunk(out, "IDAT", z.data + at, z.len - at > IDAT_CHUNK ? IDAT_CHUNK : z.len - at);
    if (rc == ERR_OK)
        rc = chunk(out, "IEND", (const uint8_t *)"", 0);
    buf_free(&z);
    if (rc != ERR_OK) {
        out->len = start;
        return err_set(err, ERR_NOMEM, "poster: out of memory encoding the poster");
    }
    out->data[out->len] = '\0';
    return ERR_OK;
}
