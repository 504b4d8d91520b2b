/* poster_splice — a poster with no text over PNG art, without decoding it.
 *
 * Such a poster is the art plus its metadata, and the metadata may follow
 * the image data: PNG allows tEXt and iTXt anywhere between IHDR and IEND.
 * So rather than inflate and deflate megabytes of pixels, the text chunks
 * are written just before the art's IEND.  The walk that decides whether
 * the art is fit for that reads only the chunk headers (a few hundred for a
 * 2 MB image); it does not check CRCs or inflate IDAT, so damage inside the
 * image data is carried through as it was, exactly as in the raw art the
 * worker stores beside the poster.  Anything the walk does not like goes
 * the long way, through the decoder, which reports what is wrong. */
#include "poster/poster_internal.h"
#include "poster/imgsniff.h"

#include <string.h>
#include <zlib.h>

/* As pngenc: iTXt values longer than this are zlib-compressed. */
#define SPLICE_ITXT_ZIP_OVER 1024

static const unsigned char png_iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D',
                                           0xAE, 0x42, 0x60, 0x82};

static bool is(const unsigned char *type, const char *name)
{
    return memcmp(type, name, 4) == 0;
}

/* IHDR's bit depth, colour type, compression, filter and interlace bytes
 * form one of the combinations the PNG spec allows. */
static bool ihdr_fields_ok(const unsigned char *f)
{
    unsigned depth = f[0], type = f[1];
    bool ok;
    switch (type) {
    case 0: ok = depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16; break;
    case 3: ok = depth == 1 || depth == 2 || depth == 4 || depth == 8; break;
    case 2: case 4: case 6: ok = depth == 8 || depth == 16; break;
    default: ok = false;
    }
    return ok && f[2] == 0 && f[3] == 0 && f[4] <= 1;
}

bool poster_png_spliceable(const void *art, size_t len, int *w, int *h)
{
    const unsigned char *d = art;
    img_info_t info;
    /* Signature and IHDR (imgsniff checks its length and dimensions). */
    if (imgsniff(art, len, &info) != IMG_PNG || len < 8 + 25 + 12 + 12)
        return false;
    if ((uint64_t)info.width > POSTER_SIDE_MAX || (uint64_t)info.height > POSTER_SIDE_MAX ||
        (uint64_t)info.width * (uint64_t)info.height > POSTER_PIXELS_MAX)
        return false;
    if (!ihdr_fields_ok(d + 24) || crc32(0, d + 12, 17) != poster_be32(d + 29))
        return false;
    bool palette = d[25] == 3, plte = false;
    int idat = 0; /* 0: none yet, 1: in the run, 2: after it */
    size_t pos = 8 + 25;
    while (len - pos >= 12) {
        uint32_t n = poster_be32(d + pos);
        const unsigned char *type = d + pos + 4;
        if (n > 0x7fffffffu || n > len - pos - 12)
            return false;
        for (int i = 0; i < 4; i++)
            if (!((type[i] >= 'A' && type[i] <= 'Z') || (type[i] >= 'a' && type[i] <= 'z')))
                return false;
        if (idat == 1 && !is(type, "IDAT"))
            idat = 2;
        if (is(type, "IEND")) {
            /* The last 12 bytes, exactly: nothing after it. */
            if (pos + 12 != len || memcmp(d + pos, png_iend, 12) != 0)
                return false;
            if (idat == 0 || (palette && !plte))
                return false;
            *w = info.width;
            *h = info.height;
            return true;
        }
        if (is(type, "IDAT")) {
            if (idat == 2)
                return false; /* IDAT chunks must be consecutive */
            idat = 1;
        } else if (is(type, "PLTE")) {
            if (plte || idat)
                return false;
            plte = true;
        } else if (!(type[0] & 0x20)) {
            return false; /* IHDR again, or a critical chunk no decoder knows */
        }
        pos += 12 + (size_t)n;
    }
    return false;
}

/* Appends one chunk: length, type, body, CRC over type and body. */
static err_code_t put_chunk(buf_t *out, const char *type, const void *a, size_t alen,
                            const void *b, size_t blen, err_t *err)
{
    size_t n = alen + blen;
    if (n > 0x7fffffffu)
        return err_set(err, ERR_TOOBIG, "poster: text chunk of %zu bytes", n);
    unsigned char head[8], crc[4];
    poster_put_be32(head, (uint32_t)n);
    memcpy(head + 4, type, 4);
    uLong c = crc32(0, head + 4, 4);
    c = crc32_z(c, a, alen);
    if (blen)
        c = crc32_z(c, b, blen);
    poster_put_be32(crc, (uint32_t)c);
    if (buf_append(out, head, 8) != ERR_OK || buf_append(out, a, alen) != ERR_OK ||
        (blen && buf_append(out, b, blen) != ERR_OK) || buf_append(out, crc, 4) != ERR_OK)
        return err_set(err, ERR_NOMEM, "poster: out of memory");
    return ERR_OK;
}

/* One text chunk as pngenc would write it: tEXt "key\0value", or iTXt
 * "key\0" flag method "\0\0" (no language, no translated key) and the
 * value, deflated when long. */
static err_code_t put_text(buf_t *out, const pngenc_text_t *t, err_t *err)
{
    size_t klen = strlen(t->key), vlen = strlen(t->value);
    if (klen < 1 || klen > PNGENC_KEY_MAX)
        return err_set(err, ERR_INVALID, "poster: bad text key \"%s\"", t->key);
    if (vlen > PNGENC_TEXT_MAX)
        return err_set(err, ERR_TOOBIG, "poster: text \"%s\": %zu bytes (max %d)", t->key,
                       vlen, PNGENC_TEXT_MAX);
    unsigned char head[PNGENC_KEY_MAX + 5];
    memcpy(head, t->key, klen + 1);
    if (!t->itxt)
        return put_chunk(out, "tEXt", head, klen + 1, t->value, vlen, err);
    int zip = vlen > SPLICE_ITXT_ZIP_OVER;
    head[klen + 1] = (unsigned char)zip;
    head[klen + 2] = 0; /* zlib */
    head[klen + 3] = 0; /* language */
    head[klen + 4] = 0; /* translated key */
    if (!zip)
        return put_chunk(out, "iTXt", head, klen + 5, t->value, vlen, err);
    uLongf zlen = compressBound((uLong)vlen);
    unsigned char *z = g_try_malloc(zlen);
    if (!z)
        return err_set(err, ERR_NOMEM, "poster: out of memory");
    err_code_t rc = compress2(z, &zlen, (const Bytef *)t->value, (uLong)vlen,
                              Z_DEFAULT_COMPRESSION) == Z_OK
                        ? put_chunk(out, "iTXt", head, klen + 5, z, zlen, err)
                        : err_set(err, ERR_NOMEM, "poster: out of memory");
    g_free(z);
    return rc;
}

err_code_t poster_splice_chunks(const poster_input_t *in, buf_t *out, err_t *err)
{
    size_t start = out->len;
    poster_meta_t m;
    poster_meta_init(&m, in);
    err_code_t rc = ERR_OK;
    for (size_t i = 0; rc == ERR_OK && i < m.n; i++)
        rc = put_text(out, &m.text[i], err);
    poster_meta_free(&m);
    if (rc != ERR_OK)
        out->len = start;
    return rc;
}

err_code_t poster_splice(const poster_input_t *in, const void *art, size_t len,
                         buf_t *out, size_t *at, size_t *inserted, err_t *err)
{
    size_t start = out->len, head = len - sizeof png_iend;
    err_code_t rc = buf_reserve(out, len + 256) == ERR_OK &&
                            buf_append(out, art, head) == ERR_OK
                        ? poster_splice_chunks(in, out, err)
                        : err_set(err, ERR_NOMEM, "poster: out of memory");
    if (rc == ERR_OK && buf_append(out, png_iend, sizeof png_iend) != ERR_OK)
        rc = err_set(err, ERR_NOMEM, "poster: out of memory");
    if (rc != ERR_OK) {
        out->len = start;
        return rc;
    }
    *at = head;
    *inserted = out->len - start - len;
    return ERR_OK;
}
