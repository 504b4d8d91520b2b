/* imgsniff — see imgsniff.h.  Every read is bounds-checked against len;
 * sizes come from headers written by someone else, so they are range-checked
 * before they become ints. */
#include "poster/imgsniff.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

static uint32_t be16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t le16(const uint8_t *p) { return (uint32_t)p[1] << 8 | p[0]; }
static uint32_t le24(const uint8_t *p)
{
    return (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}
static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}
static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* PNG: the 8-byte signature, then IHDR (length 13) with width and height,
 * each 1..2^31-1 per the PNG spec. */
static img_format_t sniff_png(const uint8_t *p, size_t len, img_info_t *info)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (len < 24 || memcmp(p, sig, 8) != 0)
        return IMG_UNKNOWN;
    if (be32(p + 8) != 13 || memcmp(p + 12, "IHDR", 4) != 0)
        return IMG_UNKNOWN;
    uint32_t w = be32(p + 16), h = be32(p + 20);
    if (w == 0 || h == 0 || w > 0x7fffffffu || h > 0x7fffffffu)
        return IMG_UNKNOWN;
    info->width = (int)w;
    info->height = (int)h;
    return info->format = IMG_PNG;
}

/* JPEG: SOI, then marker segments up to the first frame header (SOF0..15
 * without DHT C4, JPG C8 and DAC CC).  Reaching SOS or EOI first means
 * there is no frame: not an image. */
static img_format_t sniff_jpeg(const uint8_t *p, size_t len, img_info_t *info)
{
    if (len < 4 || p[0] != 0xff || p[1] != 0xd8 || p[2] != 0xff)
        return IMG_UNKNOWN;
    size_t pos = 2;
    while (pos < len) {
        if (p[pos] != 0xff)
            return IMG_UNKNOWN;
        while (pos < len && p[pos] == 0xff)   /* fill bytes */
            pos++;
        if (pos >= len)
            return IMG_UNKNOWN;
        uint8_t m = p[pos++];
        if (m == 0x01 || (m >= 0xd0 && m <= 0xd7))   /* no length */
            continue;
        if (m == 0xd8 || m == 0xd9 || m == 0xda || m == 0x00)
            return IMG_UNKNOWN;
        if (pos + 2 > len)
            return IMG_UNKNOWN;
        uint32_t seglen = be16(p + pos);
        if (seglen < 2 || pos + seglen > len)
            return IMG_UNKNOWN;
        if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc) {
            if (seglen < 8)
                return IMG_UNKNOWN;
            uint32_t h = be16(p + pos + 3), w = be16(p + pos + 5);
            if (w == 0)
                return IMG_UNKNOWN;
            info->width = (int)w;
            info->height = (int)h;   /* 0: set later by a DNL segment */
            return info->format = IMG_JPEG;
        }
        pos += seglen;
    }
    return IMG_UNKNOWN;
}

/* WebP: "RIFF" size "WEBP", then the first chunk: VP8 (lossy key frame
 * header with its start code), VP8L (signature byte 0x2f and 14-bit sizes)
 * or VP8X (24-bit canvas sizes). */
static img_format_t sniff_webp(const uint8_t *p, size_t len, img_info_t *info)
{
    if (len < 30 || memcmp(p, "RIFF", 4) != 0 || memcmp(p + 8, "WEBP", 4) != 0)
        return IMG_UNKNOWN;
    if (le32(p + 4) < 4 + 8)
        return IMG_UNKNOWN;
    const uint8_t *c = p + 12, *d = p + 20;
    uint32_t w, h;
    if (memcmp(c, "VP8 ", 4) == 0) {
        if ((d[0] & 1) != 0 || d[3] != 0x9d || d[4] != 0x01 || d[5] != 0x2a)
            return IMG_UNKNOWN;   /* not a key frame */
        w = le16(d + 6) & 0x3fff;
        h = le16(d + 8) & 0x3fff;
    } else if (memcmp(c, "VP8L", 4) == 0) {
        if (d[0] != 0x2f)
            return IMG_UNKNOWN;
        uint32_t bits = le32(d + 1);
        w = (bits & 0x3fff) + 1;
        h = ((bits >> 14) & 0x3fff) + 1;
    } else if (memcmp(c, "VP8X", 4) == 0) {
        w = le24(d + 4) + 1;
        h = le24(d + 7) + 1;
    } else {
        return IMG_UNKNOWN;
    }
    if (w == 0 || h == 0)
        return IMG_UNKNOWN;
    info->width = (int)w;
    info->height = (int)h;
    return info->format = IMG_WEBP;
}

img_format_t imgsniff(const void *data, size_t len, img_info_t *info)
{
    img_info_t tmp;
    if (!info)
        info = &tmp;
    memset(info, 0, sizeof *info);
    if (!data || len == 0)
        return IMG_UNKNOWN;
    const uint8_t *p = data;
    img_format_t f;
    switch (p[0]) {
    case 0x89: f = sniff_png(p, len, info); break;
    case 0xff: f = sniff_jpeg(p, len, info); break;
    case 'R': f = sniff_webp(p, len, info); break;
    default: f = IMG_UNKNOWN; break;
    }
    if (f == IMG_UNKNOWN)
        memset(info, 0, sizeof *info);
    return f;
}

const char *imgsniff_ext(img_format_t f)
{
    switch (f) {
    case IMG_PNG: return "png";
    case IMG_JPEG: return "jpeg";
    case IMG_WEBP: return "webp";
    default: return "";
    }
}

const char *imgsniff_content_type(img_format_t f)
{
    switch (f) {
    case IMG_PNG: return "image/png";
    case IMG_JPEG: return "image/jpeg";
    case IMG_WEBP: return "image/webp";
    default: return "application/octet-stream";
    }
}

img_format_t imgsniff_from_name(const char *name)
{
    if (!name)
        return IMG_UNKNOWN;
    if (strcasecmp(name, "png") == 0)
        return IMG_PNG;
    if (strcasecmp(name, "jpeg") == 0 || strcasecmp(name, "jpg") == 0)
        return IMG_JPEG;
    if (strcasecmp(name, "webp") == 0)
        return IMG_WEBP;
    return IMG_UNKNOWN;
}
