/* buf — see buf.h. */
#include "base/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(buf_t *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
}

void buf_free(buf_t *b)
{
    free(b->data);
    buf_init(b);
}

void buf_reset(buf_t *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

err_code_t buf_reserve(buf_t *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len - 1)
        return ERR_NOMEM;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return ERR_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return ERR_NOMEM;
    b->data = p;
    b->cap = cap;
    return ERR_OK;
}

err_code_t buf_append(buf_t *b, const void *data, size_t len)
{
    if (buf_reserve(b, len) != ERR_OK)
        return ERR_NOMEM;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return ERR_OK;
}

err_code_t buf_append_str(buf_t *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

err_code_t buf_appendf(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return ERR_INVALID;
    if (buf_reserve(b, (size_t)n) != ERR_OK)
        return ERR_NOMEM;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return ERR_OK;
}

char *buf_steal(buf_t *b)
{
    char *s;
    if (!b->data && buf_reserve(b, 0) != ERR_OK)
        return NULL;
    s = (char *)b->data;
    s[b->len] = '\0';
    buf_init(b);
    return s;
}

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

err_code_t base64_encode(const void *in, size_t len, buf_t *out)
{
    const uint8_t *p = in;
    size_t olen = (len + 2) / 3 * 4;
    char *o;

    if (buf_reserve(out, olen) != ERR_OK)
        return ERR_NOMEM;
    o = (char *)out->data + out->len;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        *o++ = b64chars[(v >> 18) & 63];
        *o++ = b64chars[(v >> 12) & 63];
        *o++ = i + 1 < len ? b64chars[(v >> 6) & 63] : '=';
        *o++ = i + 2 < len ? b64chars[v & 63] : '=';
    }
    out->len += olen;
    out->data[out->len] = '\0';
    return ERR_OK;
}

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

void base64_stream_init(base64_stream_t *s)
{
    memset(s, 0, sizeof *s);
}

err_code_t base64_stream_feed(base64_stream_t *s, const char *in, size_t len,
                              buf_t *out, err_t *err)
{
    if (buf_reserve(out, len / 4 * 3 + 3) != ERR_OK)
        return err_set(err, ERR_NOMEM, "out of memory decoding base64");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '\r' || c == '\n')
            continue;
        if (s->done)
            return err_set(err, ERR_INVALID, "base64: data after padding");
        if (c == '=') {
            if (s->quad < 2)
                return err_set(err, ERR_INVALID, "base64: misplaced padding");
            s->pad++;
            s->quad++;
            if (s->quad == 4) {
                s->done = 1;
                s->quad = 0;
            }
            continue;
        }
        if (s->pad)
            return err_set(err, ERR_INVALID, "base64: data after padding");
        int v = b64val(c);
        if (v < 0)
            return err_set(err, ERR_INVALID,
                           "base64: invalid character 0x%02x at offset %zu", c, i);
        s->acc = (s->acc << 6) | (uint32_t)v;
        s->nbits += 6;
        s->quad = (s->quad + 1) % 4;
        if (s->nbits >= 8) {
            s->nbits -= 8;
            out->data[out->len++] = (uint8_t)(s->acc >> s->nbits);
        }
    }
    out->data[out->len] = '\0';
    return ERR_OK;
}

err_code_t base64_stream_finish(base64_stream_t *s, err_t *err)
{
    if (s->quad != 0)
        return err_set(err, ERR_INVALID, "base64: truncated input");
    return ERR_OK;
}

err_code_t base64_decode(const char *in, size_t len, buf_t *out, err_t *err)
{
    base64_stream_t s;
    err_code_t rc;

    base64_stream_init(&s);
    rc = base64_stream_feed(&s, in, len, out, err);
    if (rc != ERR_OK)
        return rc;
    return base64_stream_finish(&s, err);
}

void hex_encode(const void *in, size_t len, char *out)
{
    static const char hx[] = "0123456789abcdef";
    const uint8_t *p = in;
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hx[p[i] >> 4];
        out[2 * i + 1] = hx[p[i] & 15];
    }
    out[2 * len] = '\0';
}
