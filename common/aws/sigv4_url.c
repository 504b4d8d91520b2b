/* sigv4_url — URL splitting, RFC 3986 encoding and path normalisation for
 * SigV4 and the AWS back-ends (see sigv4.h). */
#include "aws/sigv4.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool is_unreserved(unsigned char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
           (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' ||
           ch == '~';
}

err_code_t sigv4_uri_encode(const void *s, size_t len, bool keep_slash,
                            buf_t *out)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = s;
    size_t need = 0;

    for (size_t i = 0; i < len; i++)
        need += (is_unreserved(p[i]) || (keep_slash && p[i] == '/')) ? 1 : 3;
    if (buf_reserve(out, need) != ERR_OK)
        return ERR_NOMEM;
    char *w = (char *)out->data + out->len;
    for (size_t i = 0; i < len; i++) {
        if (is_unreserved(p[i]) || (keep_slash && p[i] == '/')) {
            *w++ = (char)p[i];
        } else {
            *w++ = '%';
            *w++ = hex[p[i] >> 4];
            *w++ = hex[p[i] & 15];
        }
    }
    out->len += need;
    out->data[out->len] = '\0';
    return ERR_OK;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

err_code_t sigv4_uri_decode(const char *s, size_t len, buf_t *out, err_t *err)
{
    if (buf_reserve(out, len) != ERR_OK)
        return err_set(err, ERR_NOMEM, "out of memory");
    char *w = (char *)out->data + out->len;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '%') {
            w[n++] = s[i];
            continue;
        }
        int hi = i + 2 < len ? hexval(s[i + 1]) : -1;
        int lo = i + 2 < len ? hexval(s[i + 2]) : -1;
        if (hi < 0 || lo < 0)
            return err_set(err, ERR_INVALID,
                           "bad percent-encoding at offset %zu: '%%' must be "
                           "followed by two hex digits", i);
        w[n++] = (char)(hi << 4 | lo);
        i += 2;
    }
    out->len += n;
    out->data[out->len] = '\0';
    return ERR_OK;
}

err_code_t sigv4_normalize_path(const char *path, buf_t *out)
{
    /* Segment start offsets in out, so ".." can drop the last one. */
    size_t base = out->len, nseg = 0, cap = 16;
    size_t *seg = malloc(cap * sizeof *seg);
    size_t plen = strlen(path);
    bool trailing = plen > 0 && path[plen - 1] == '/';
    const char *p = path;

    if (!seg)
        return ERR_NOMEM;
    while (*p) {
        while (*p == '/')
            p++;
        const char *e = p;
        while (*e && *e != '/')
            e++;
        size_t n = (size_t)(e - p);
        if (n == 0)
            break;
        if (n == 1 && p[0] == '.') {
            /* skip */
        } else if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (nseg) {
                out->len = seg[--nseg];
                out->data[out->len] = '\0';
            }
        } else {
            if (nseg == cap) {
                size_t *ns = realloc(seg, 2 * cap * sizeof *seg);
                if (!ns) {
                    free(seg);
                    return ERR_NOMEM;
                }
                seg = ns;
                cap *= 2;
            }
            seg[nseg++] = out->len;
            if (buf_append(out, "/", 1) != ERR_OK ||
                buf_append(out, p, n) != ERR_OK) {
                free(seg);
                return ERR_NOMEM;
            }
        }
        p = e;
    }
    free(seg);
    if (out->len == base || trailing)
        return buf_append(out, "/", 1);
    return ERR_OK;
}

static void url_shown(const char *url, char *shown, size_t cap)
{
    /* Errors quote the URL up to its query: presigned values stay out. */
    size_t n = strcspn(url, "?#");
    if (n > 200)
        n = 200;
    snprintf(shown, cap, "%.*s", (int)n, url);
}

err_code_t sigv4_url_parse(const char *url, sigv4_url_t *u, err_t *err)
{
    char shown[256];
    memset(u, 0, sizeof *u);
    if (!url || !*url)
        return err_set(err, ERR_INVALID, "malformed URL: empty");
    url_shown(url, shown, sizeof shown);
    for (const unsigned char *c = (const unsigned char *)url; *c; c++)
        if (*c <= ' ' || *c == 0x7f)
            return err_set(err, ERR_INVALID,
                           "malformed URL '%s': contains a space or control "
                           "character", shown);
    const char *sep = strstr(url, "://");
    if (!sep || sep == url)
        return err_set(err, ERR_INVALID,
                       "malformed URL '%s': no scheme (expected http:// or "
                       "https://)", shown);
    size_t slen = (size_t)(sep - url);
    if (slen == 4 && strncasecmp(url, "http", 4) == 0) {
        memcpy(u->scheme, "http", 5);
    } else if (slen == 5 && strncasecmp(url, "https", 5) == 0) {
        memcpy(u->scheme, "https", 6);
    } else {
        return err_set(err, ERR_INVALID,
                       "malformed URL '%s': scheme must be http or https",
                       shown);
    }
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    if (memchr(auth, '@', alen))
        return err_set(err, ERR_INVALID,
                       "malformed URL '%s': user info is not supported", shown);
    const char *host = auth, *hend, *port = NULL;
    if (alen && auth[0] == '[') {
        hend = memchr(auth, ']', alen);
        if (!hend)
            return err_set(err, ERR_INVALID,
                           "malformed URL '%s': unclosed '[' in host", shown);
        hend++;
    } else {
        hend = memchr(auth, ':', alen);
        if (!hend)
            hend = auth + alen;
    }
    if (hend == host)
        return err_set(err, ERR_INVALID, "malformed URL '%s': missing host",
                       shown);
    for (const char *c = host; c < hend && host[0] != '['; c++)
        if (!isalnum((unsigned char)*c) && *c != '-' && *c != '.' && *c != '_')
            return err_set(err, ERR_INVALID,
                           "malformed URL '%s': bad character in host", shown);
    if (hend < auth + alen) {
        if (*hend != ':')
            return err_set(err, ERR_INVALID,
                           "malformed URL '%s': junk after host", shown);
        port = hend + 1;
        size_t plen = (size_t)(auth + alen - port);
        unsigned long v = 0;
        if (plen == 0 || plen > 5)
            return err_set(err, ERR_INVALID, "malformed URL '%s': bad port",
                           shown);
        for (size_t i = 0; i < plen; i++) {
            if (!isdigit((unsigned char)port[i]))
                return err_set(err, ERR_INVALID,
                               "malformed URL '%s': bad port", shown);
            v = v * 10 + (unsigned long)(port[i] - '0');
        }
        if (v == 0 || v > 65535)
            return err_set(err, ERR_INVALID,
                           "malformed URL '%s': port out of range", shown);
        u->port = (unsigned)v;
        u->port_explicit = true;
    } else {
        u->port = u->scheme[4] == 's' ? 443 : 80;
    }
    bool default_port = u->port == (u->scheme[4] == 's' ? 443u : 80u);
    const char *rest = auth + alen;
    size_t plen = strcspn(rest, "?#");
    const char *q = rest[plen] == '?' ? rest + plen + 1 : NULL;
    size_t qlen = q ? strcspn(q, "#") : 0;

    u->host = strndup(host, (size_t)(hend - host));
    u->authority = default_port ? strndup(host, (size_t)(hend - host))
                                : strndup(auth, alen);
    u->path = plen ? strndup(rest, plen) : strdup("/");
    u->query = q ? strndup(q, qlen) : strdup("");
    if (!u->host || !u->authority || !u->path || !u->query)
        return err_set(err, ERR_NOMEM, "out of memory");
    if (u->path[0] != '/')
        return err_set(err, ERR_INVALID, "malformed URL '%s': bad path", shown);
    return ERR_OK;
}

void sigv4_url_free(sigv4_url_t *u)
{
    if (!u)
        return;
    free(u->host);
    free(u->authority);
    free(u->path);
    free(u->query);
    memset(u, 0, sizeof *u);
}
