/* termesc — see termesc.h. */
#include "base/termesc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decodes one strict UTF-8 sequence at p (n bytes left, n >= 1) into *cp;
 * returns its length, or 0 when p does not start a valid sequence
 * (overlong forms, surrogates and values above U+10FFFF included). */
static size_t utf8_one(const unsigned char *p, size_t n, uint32_t *cp)
{
    size_t len;
    uint32_t c, min;

    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    if ((p[0] & 0xE0) == 0xC0) {
        len = 2, c = p[0] & 0x1F, min = 0x80;
    } else if ((p[0] & 0xF0) == 0xE0) {
        len = 3, c = p[0] & 0x0F, min = 0x800;
    } else if ((p[0] & 0xF8) == 0xF0) {
        len = 4, c = p[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (p[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

static bool is_bidi_control(uint32_t c)
{
    return c == 0x061C || c == 0x200E || c == 0x200F || (c >= 0x202A && c <= 0x202E) ||
           (c >= 0x2066 && c <= 0x2069);
}

/* Writes the escape for the character at p (its length in *used) into
 * esc (at least 8 bytes) and returns the escape's length, or 0 when the
 * character is printed as it is. */
static size_t escape_one(const unsigned char *p, size_t n, char *esc, size_t *used)
{
    uint32_t c;
    size_t len = utf8_one(p, n, &c);

    if (len == 0) {
        *used = 1;
        return (size_t)snprintf(esc, 8, "\\x%02x", p[0]);
    }
    *used = len;
    switch (c) {
    case '\n': memcpy(esc, "\\n", 3); return 2;
    case '\r': memcpy(esc, "\\r", 3); return 2;
    case '\t': memcpy(esc, "\\t", 3); return 2;
    case 0x1B: memcpy(esc, "\\e", 3); return 2;
    default: break;
    }
    if (c < 0x20 || c == 0x7F)
        return (size_t)snprintf(esc, 8, "\\x%02x", (unsigned)c);
    if ((c >= 0x80 && c <= 0x9F) || is_bidi_control(c))
        return (size_t)snprintf(esc, 8, "\\u%04x", (unsigned)c);
    return 0;
}

size_t term_escape(const char *s, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t n = strlen((const char *)p), need = 0, o = 0;
    bool cut = false;

    while (n) {
        char esc[8];
        size_t used, elen = escape_one(p, n, esc, &used);
        const char *src = elen ? esc : (const char *)p;
        size_t slen = elen ? elen : used;
        if (!cut && o + slen < cap) {
            memcpy(out + o, src, slen);
            o += slen;
        } else {
            cut = true;
        }
        need += slen;
        p += used;
        n -= used;
    }
    if (cap)
        out[o] = '\0';
    return need;
}

char *term_escape_dup(const char *s)
{
    char one[1];
    size_t need = term_escape(s, one, sizeof one);
    char *out = malloc(need + 1);

    if (out)
        term_escape(s, out, need + 1);
    return out;
}

bool term_safe(const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t n = strlen((const char *)p);

    while (n) {
        char esc[8];
        size_t used;
        if (escape_one(p, n, esc, &used))
            return false;
        p += used;
        n -= used;
    }
    return true;
}
