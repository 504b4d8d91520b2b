/* utf8 — see utf8.h. */
#include "base/utf8.h"

#include <stdint.h>
#include <string.h>

/* Decodes one sequence at s[i..len).  Returns its length in bytes (1..4) and
 * the code point in *cp, or 0 for an invalid sequence.  The second-byte
 * ranges are the ones in RFC 3629 section 4, which exclude overlong forms,
 * surrogates and code points above U+10FFFF in one place. */
static size_t decode(const uint8_t *s, size_t len, size_t i, uint32_t *cp)
{
    uint8_t b = s[i];
    uint8_t lo = 0x80, hi = 0xBF;
    size_t n;
    uint32_t c;

    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    if (b >= 0xC2 && b <= 0xDF) {
        n = 2;
        c = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
        n = 3;
        c = b & 0x0F;
        if (b == 0xE0)
            lo = 0xA0;
        else if (b == 0xED)
            hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        n = 4;
        c = b & 0x07;
        if (b == 0xF0)
            lo = 0x90;
        else if (b == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (len - i < n)
        return 0;
    if (s[i + 1] < lo || s[i + 1] > hi)
        return 0;
    c = (c << 6) | (s[i + 1] & 0x3F);
    for (size_t k = 2; k < n; k++) {
        if ((s[i + k] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i + k] & 0x3F);
    }
    *cp = c;
    return n;
}

bool utf8_valid(const char *s, size_t len, size_t *ncp, size_t *bad)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0, count = 0;

    while (i < len) {
        uint32_t cp;
        size_t n;
        if (p[i] < 0x80) {
            i++;
            count++;
            continue;
        }
        n = decode(p, len, i, &cp);
        if (n == 0) {
            if (bad)
                *bad = i;
            return false;
        }
        i += n;
        count++;
    }
    if (ncp)
        *ncp = count;
    return true;
}

static bool is_control(uint32_t cp)
{
    if (cp == '\n' || cp == '\t')
        return false;
    return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F);
}

err_code_t utf8_check_text(const char *field, const char *s, size_t len,
                           size_t max_cp, err_t *err)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0, count = 0;

    if (memchr(s, '\0', len))
        return err_set(err, ERR_INVALID, "%s: contains a NUL byte", field);
    while (i < len) {
        uint32_t cp;
        size_t n = decode(p, len, i, &cp);
        if (n == 0)
            return err_set(err, ERR_INVALID, "%s: invalid UTF-8 at byte %zu",
                           field, i + 1);
        if (is_control(cp))
            return err_set(err, ERR_INVALID,
                           "%s: contains a control character (U+%04X)", field,
                           (unsigned)cp);
        i += n;
        count++;
    }
    if (count > max_cp)
        return err_set(err, ERR_INVALID,
                       "%s: must be at most %zu characters (got %zu)", field,
                       max_cp, count);
    return ERR_OK;
}

bool utf8_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
}

size_t utf8_trim(char *s, size_t len)
{
    size_t start = 0;
    while (len > 0 && utf8_is_space(s[len - 1]))
        len--;
    while (start < len && utf8_is_space(s[start]))
        start++;
    if (start > 0)
        memmove(s, s + start, len - start);
    len -= start;
    s[len] = '\0';
    return len;
}

err_code_t utf8_append_json_string(buf_t *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;

    /* Worst case every byte becomes \u00XX; reserving the common case (no
     * escapes) up front keeps the copy loop to one realloc at most. */
    if (buf_reserve(out, len + 2) != ERR_OK)
        return ERR_NOMEM;
    if (buf_append(out, "\"", 1) != ERR_OK)
        return ERR_NOMEM;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[6];
        size_t elen = 0;

        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            elen = 2;
        } else if (c == '\n') {
            memcpy(esc, "\\n", 2);
            elen = 2;
        } else if (c == '\t') {
            memcpy(esc, "\\t", 2);
            elen = 2;
        } else if (c < 0x20) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            elen = 6;
        }
        if (elen == 0) {
            run++;
            continue;
        }
        if (buf_append(out, s + i - run, run) != ERR_OK ||
            buf_append(out, esc, elen) != ERR_OK)
            return ERR_NOMEM;
        run = 0;
    }
    if (buf_append(out, s + len - run, run) != ERR_OK ||
        buf_append(out, "\"", 1) != ERR_OK)
        return ERR_NOMEM;
    return ERR_OK;
}
