/* sigv4_canon — stage 1 of SigV4: the canonical request (see sigv4.h).
 *
 *   METHOD \n PATH \n QUERY \n (name:value \n)* \n SIGNED;HEADERS \n HASH
 */
#include "aws/sigv4_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    char *name;                     /* lower-cased, owned */
    const char *value;              /* raw, borrowed */
    size_t order;                   /* keeps duplicates in request order */
} hdr_t;

typedef struct {
    char *key;                      /* encoded, owned */
    char *value;                    /* encoded, owned */
} qparam_t;

/* Transport headers that proxies and clients rewrite: never signed. */
static const char *const unsigned_headers[] = {
    "authorization", "user-agent", "expect", "x-amzn-trace-id",
    "connection", "transfer-encoding",
};

const char *sigv4_find_header(const http_header_t *h, size_t n,
                              const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (h[i].name && strcasecmp(h[i].name, name) == 0)
            return h[i].value ? h[i].value : "";
    return NULL;
}

bool sigv4_is_hex64(const char *s)
{
    size_t i = 0;
    for (; s[i]; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return i == 64;
}

err_code_t sigv4_check_name(const char *what, const char *v, err_t *err)
{
    size_t n = v ? strlen(v) : 0;
    if (n == 0)
        return err_set(err, ERR_INVALID, "signing %s is empty", what);
    if (n >= 64)
        return err_set(err, ERR_INVALID, "signing %s is too long", what);
    for (size_t i = 0; i < n; i++)
        if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') ||
              v[i] == '-'))
            return err_set(err, ERR_INVALID,
                           "signing %s '%s' has characters other than "
                           "a-z, 0-9 and '-'", what, v);
    return ERR_OK;
}

static bool is_token_char(unsigned char c)
{
    return c > ' ' && c < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", c);
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Appends v trimmed, with inner runs of whitespace collapsed to one space. */
static err_code_t append_value(buf_t *out, const char *v)
{
    while (is_ws(*v))
        v++;
    while (*v) {
        const char *e = v;
        while (*e && !is_ws(*e))
            e++;
        if (buf_append(out, v, (size_t)(e - v)) != ERR_OK)
            return ERR_NOMEM;
        while (is_ws(*e))
            e++;
        if (*e && buf_append(out, " ", 1) != ERR_OK)
            return ERR_NOMEM;
        v = e;
    }
    return ERR_OK;
}

static bool in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ';');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncasecmp(p, name, n) == 0)
            return true;
        if (!e)
            break;
        p = e + 1;
    }
    return false;
}

static bool wanted(const sigv4_canon_spec_t *s, const char *lname)
{
    if (s->only)
        return in_list(s->only, lname);
    for (size_t i = 0; i < sizeof unsigned_headers / sizeof *unsigned_headers;
         i++)
        if (strcmp(lname, unsigned_headers[i]) == 0)
            return false;
    return sigv4_find_header(s->extra, s->nextra, lname) == NULL;
}

static int hdr_cmp(const void *a, const void *b)
{
    const hdr_t *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static err_code_t add_hdr(hdr_t *v, size_t *n, const char *name,
                          const char *value, err_t *err)
{
    size_t len = strlen(name);
    if (len == 0)
        return err_set(err, ERR_INVALID, "header with an empty name");
    for (size_t i = 0; i < len; i++)
        if (!is_token_char((unsigned char)name[i]))
            return err_set(err, ERR_INVALID,
                           "header name '%.64s' has a bad character", name);
    for (const char *c = value; *c; c++)
        if (*c == '\r' || *c == '\n' || (unsigned char)*c == 0x7f ||
            ((unsigned char)*c < ' ' && *c != '\t'))
            return err_set(err, ERR_INVALID,
                           "header %.64s: value contains a line break or "
                           "control character", name);
    char *lower = malloc(len + 1);
    if (!lower)
        return err_set(err, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i <= len; i++)
        lower[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32
                                                             : name[i]);
    v[*n].name = lower;
    v[*n].value = value;
    v[*n].order = *n;
    (*n)++;
    return ERR_OK;
}

static err_code_t canon_headers(const sigv4_canon_spec_t *s, buf_t *out,
                                buf_t *signed_list, err_t *err)
{
    size_t cap = s->nheaders + s->nextra + 1, n = 0;
    hdr_t *v = calloc(cap, sizeof *v);
    err_code_t rc = ERR_OK;
    bool have_host = false;

    if (!v)
        return err_set(err, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < s->nheaders && rc == ERR_OK; i++) {
        const char *name = s->headers[i].name ? s->headers[i].name : "";
        const char *value = s->headers[i].value ? s->headers[i].value : "";
        rc = add_hdr(v, &n, name, value, err);
        if (rc == ERR_OK && !wanted(s, v[n - 1].name)) {
            free(v[--n].name);
            v[n].name = NULL;
        }
    }
    for (size_t i = 0; i < s->nextra && rc == ERR_OK; i++)
        rc = add_hdr(v, &n, s->extra[i].name, s->extra[i].value, err);
    for (size_t i = 0; i < n; i++)
        have_host |= strcmp(v[i].name, "host") == 0;
    if (rc == ERR_OK && !have_host) {
        if (s->authority && *s->authority &&
            (!s->only || in_list(s->only, "host")))
            rc = add_hdr(v, &n, "host", s->authority, err);
        else
            rc = err_set(err, ERR_INVALID,
                         "missing host: the request has no Host header%s",
                         s->only ? " among its signed headers" : " or URL");
    }
    if (rc == ERR_OK) {
        qsort(v, n, sizeof *v, hdr_cmp);
        for (size_t i = 0; i < n && rc == ERR_OK; i++) {
            bool first = i == 0 || strcmp(v[i].name, v[i - 1].name) != 0;
            bool last = i + 1 == n || strcmp(v[i].name, v[i + 1].name) != 0;
            if (first) {
                if ((signed_list->len && buf_append(signed_list, ";", 1)) ||
                    buf_append_str(signed_list, v[i].name) ||
                    buf_append_str(out, v[i].name) || buf_append(out, ":", 1))
                    rc = ERR_NOMEM;
            } else if (buf_append(out, ",", 1)) {
                rc = ERR_NOMEM;
            }
            if (rc == ERR_OK && append_value(out, v[i].value))
                rc = ERR_NOMEM;
            if (rc == ERR_OK && last && buf_append(out, "\n", 1))
                rc = ERR_NOMEM;
        }
        if (rc == ERR_NOMEM)
            err_set(err, rc, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        free(v[i].name);
    free(v);
    return rc;
}

static int q_cmp(const void *a, const void *b)
{
    const qparam_t *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->value, y->value);
}

/* Re-encodes raw[0..len) (decoding it first unless it is already raw). */
static err_code_t encode_part(const char *s, size_t len, bool decode,
                              char **out, err_t *err)
{
    buf_t dec = BUF_INIT, enc = BUF_INIT;
    err_code_t rc = ERR_OK;
    if (decode)
        rc = sigv4_uri_decode(s, len, &dec, err);
    if (rc == ERR_OK &&
        sigv4_uri_encode(decode ? (const char *)dec.data : s,
                         decode ? dec.len : len, false, &enc) != ERR_OK)
        rc = err_set(err, ERR_NOMEM, "out of memory");
    if (rc == ERR_OK && !(*out = buf_steal(&enc)))
        rc = err_set(err, ERR_NOMEM, "out of memory");
    buf_free(&dec);
    buf_free(&enc);
    return rc;
}

static err_code_t canon_query(const sigv4_canon_spec_t *s, const char *signed_h,
                              buf_t *out, err_t *err)
{
    size_t cap = s->nxq / 2 + 2, n = 0;
    err_code_t rc = ERR_OK;
    for (const char *c = s->query; *c; c++)
        cap += *c == '&';
    qparam_t *v = calloc(cap, sizeof *v);
    if (!v)
        return err_set(err, ERR_NOMEM, "out of memory");

    for (const char *p = s->query; *p && rc == ERR_OK;) {
        size_t len = strcspn(p, "&");
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len;
        if (len) {
            rc = encode_part(p, klen, true, &v[n].key, err);
            if (rc == ERR_OK)
                rc = eq ? encode_part(eq + 1, len - klen - 1, true,
                                      &v[n].value, err)
                        : encode_part("", 0, false, &v[n].value, err);
            if (rc == ERR_OK) {
                bool skip = false;
                for (size_t k = 0; k < 2; k++)
                    skip |= s->skip_query[k] &&
                            strcmp(v[n].key, s->skip_query[k]) == 0;
                n++;
                if (skip) {
                    n--;
                    free(v[n].key);
                    free(v[n].value);
                    v[n].key = v[n].value = NULL;
                }
            } else {
                free(v[n].key);
                v[n].key = NULL;
                err_prefix(err, "query");
            }
        }
        p += len;
        if (*p == '&')
            p++;
    }
    for (size_t i = 0; i + 1 < s->nxq + 2 && rc == ERR_OK; i += 2) {
        const char *k, *val;
        if (i < s->nxq) {
            k = s->xq[i];
            val = s->xq[i + 1];
        } else if (s->add_signed_headers_param) {
            k = "X-Amz-SignedHeaders";
            val = signed_h;
        } else {
            break;
        }
        rc = encode_part(k, strlen(k), false, &v[n].key, err);
        if (rc == ERR_OK)
            rc = encode_part(val, strlen(val), false, &v[n].value, err);
        n++;
    }
    if (rc == ERR_OK) {
        qsort(v, n, sizeof *v, q_cmp);
        for (size_t i = 0; i < n && rc == ERR_OK; i++)
            if ((i && buf_append(out, "&", 1)) ||
                buf_append_str(out, v[i].key) || buf_append(out, "=", 1) ||
                buf_append_str(out, v[i].value))
                rc = err_set(err, ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < cap; i++) {
        free(v[i].key);
        free(v[i].value);
    }
    free(v);
    return rc;
}

static err_code_t canon_path(const sigv4_canon_spec_t *s, buf_t *out)
{
    buf_t norm = BUF_INIT;
    const char *path = s->path && *s->path ? s->path : "/";
    err_code_t rc = ERR_OK;
    if (s->normalize) {
        rc = sigv4_normalize_path(path, &norm);
        path = (const char *)norm.data;
    }
    if (rc == ERR_OK)
        rc = s->double_encode ? sigv4_uri_encode(path, strlen(path), true, out)
                              : buf_append_str(out, path);
    buf_free(&norm);
    return rc;
}

err_code_t sigv4_canon_build(const sigv4_canon_spec_t *s, buf_t *out,
                             char **signed_headers, err_t *err)
{
    buf_t hdrs = BUF_INIT, list = BUF_INIT;
    err_code_t rc = ERR_OK;
    const char *m = s->method ? s->method : "";

    *signed_headers = NULL;
    if (!*m)
        return err_set(err, ERR_INVALID, "request method is empty");
    for (const char *c = m; *c; c++)
        if (!is_token_char((unsigned char)*c))
            return err_set(err, ERR_INVALID, "request method has a bad "
                                             "character");
    rc = canon_headers(s, &hdrs, &list, err);
    if (rc == ERR_OK &&
        (buf_append_str(out, m) || buf_append(out, "\n", 1) ||
         canon_path(s, out) || buf_append(out, "\n", 1)))
        rc = err_set(err, ERR_NOMEM, "out of memory");
    if (rc == ERR_OK)
        rc = canon_query(s, list.data ? (const char *)list.data : "", out, err);
    if (rc == ERR_OK &&
        (buf_append(out, "\n", 1) || buf_append(out, hdrs.data, hdrs.len) ||
         buf_append(out, "\n", 1) || buf_append(out, list.data, list.len) ||
         buf_append(out, "\n", 1) || buf_append_str(out, s->payload_hash)))
        rc = err_set(err, ERR_NOMEM, "out of memory");
    if (rc == ERR_OK && !(*signed_headers = buf_steal(&list)))
        rc = err_set(err, ERR_NOMEM, "out of memory");
    buf_free(&hdrs);
    buf_free(&list);
    return rc;
}
