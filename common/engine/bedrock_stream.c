/* bedrock_stream — see bedrock_stream.h.
 *
 * The stream is in one of four modes:
 *   SCAN      bytes go to the skeleton while a scanner follows string
 *             literals the way bedrock_reply.c's find_lift() does (any '"'
 *             outside a string opens one; a '"' that no backslash escapes
 *             closes it), watching for the first one to reach LIFT_MIN
 *             bytes, all of the alphabet or "\/";
 *   STREAM    that string's characters are decoded into the image (whole
 *             groups; up to 3 leftover characters and 2 '=' wait in left[])
 *             and hashed 12 bytes behind; the skeleton gets LIFT_MARK.
 *             Where a "\/" was is logged, so that the text can be given
 *             back exactly;
 *   LIFTED    its closing quote came: the rest goes to the skeleton;
 *   RAW       no streaming for this reply (a long string that was not all
 *             alphabet came first, or the streamed one turned out unusual):
 *             the skeleton is the whole body, for bedrock_parse_reply().
 * A string that qualifies in SCAN without being streamable is the one
 * find_lift() lifts, so no later string may be streamed: hence RAW. */
#include "engine/bedrock_stream.h"
#include "engine/bedrock_reply.h"

#include "base/b64fast.h"
#include "base/crc64nvme.h"
#include "base/crypto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LIFT_MIN BEDROCK_LIFT_MIN
#define LIFT_MARK BEDROCK_LIFT_MARK
#define SHA_TAIL 12   /* sha_head leaves out the last 12 bytes (a PNG's IEND) */

enum { M_SCAN, M_STREAM, M_LIFTED, M_RAW };

struct bedrock_stream {
    size_t max_reply;
    size_t fed, expect;       /* bytes fed; the expected body size */
    err_code_t sticky;        /* a feed error, reported by finish */
    int mode;
    buf_t skel;               /* the body, but the streamed string's text */
    buf_t img;                /* the streamed string, decoded */
    crypto_sha256_ctx *sha;   /* over img[0 .. hashed), when want_sha */
    uint64_t crc;             /* CRC-64/NVME over img[0 .. hashed) */
    size_t hashed;
    bool want_sha;
    /* SCAN: the string literal being read (its raw length; whether its
     * escapes are all "\/" so far; and its other characters alphabet) */
    bool in_str, str_ok, str_pure;
    size_t str_len;
    bool esc;                 /* SCAN, STREAM: the last byte began an escape */
    /* STREAM: the characters of an unfinished group, then padding */
    char left[8];
    int nleft, npad;
    size_t *escs, nescs, cescs;   /* offsets in the value of escaped '/'s */
};

bedrock_stream_t *bedrock_stream_new(size_t max_reply)
{
    bedrock_stream_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->max_reply = max_reply;
    s->want_sha = true;
    bedrock_stream_reset(s, 0);
    return s;
}

void bedrock_stream_free(bedrock_stream_t *s)
{
    if (!s)
        return;
    buf_free(&s->skel);
    buf_free(&s->img);
    crypto_sha256_free(s->sha);
    free(s->escs);
    free(s);
}

void bedrock_stream_want_sha256(bedrock_stream_t *s, bool on)
{
    s->want_sha = on;
}

void bedrock_stream_reset(bedrock_stream_t *s, size_t content_length)
{
    buf_reset(&s->skel);
    buf_reset(&s->img);
    crypto_sha256_free(s->sha);
    s->sha = NULL;
    s->crc = CRC64NVME_INIT;
    s->hashed = 0;
    s->sticky = ERR_OK;
    s->mode = M_SCAN;
    s->in_str = s->esc = false;
    s->nleft = s->npad = 0;
    s->nescs = 0;
    /* Without a Content-Length, the last reply's size is the best guess
     * (growing a megabyte buffer by doubling costs more than decoding). */
    s->expect = content_length ? content_length : s->fed;
    s->fed = 0;
    if (s->max_reply && s->expect > s->max_reply)
        s->expect = s->max_reply;
}

static err_code_t fail(bedrock_stream_t *s, err_code_t rc)
{
    s->sticky = rc;
    return rc;
}

/* Hashes the decoded bytes but the last SHA_TAIL, which finish decides on. */
static err_code_t hash_behind(bedrock_stream_t *s)
{
    if (s->img.len > s->hashed + SHA_TAIL) {
        size_t n = s->img.len - SHA_TAIL - s->hashed;
        if (s->sha && crypto_sha256_update(s->sha, s->img.data + s->hashed, n) != ERR_OK)
            return ERR_INTERNAL;
        s->crc = crc64nvme_update(s->crc, s->img.data + s->hashed, n);
        s->hashed += n;
    }
    return ERR_OK;
}

/* Logs an escaped '/' at offset at of the value. */
static err_code_t log_escape(bedrock_stream_t *s, size_t at)
{
    if (s->nescs == s->cescs) {
        size_t c = s->cescs ? s->cescs * 2 : 64;
        size_t *p = realloc(s->escs, c * sizeof *p);
        if (!p)
            return ERR_NOMEM;
        s->escs = p;
        s->cescs = c;
    }
    s->escs[s->nescs++] = at;
    return ERR_OK;
}

/* The last raw bytes of the skeleton are the first characters of a string,
 * all alphabet or "\/": they become the first image bytes. */
static err_code_t start_stream(bedrock_stream_t *s, size_t raw)
{
    /* The image buffer is sized once, exactly (buf_reserve() would round
     * up to a power of two), and only now: a reply without an image (an
     * error, a filter) allocates nothing.  Failing is a missed
     * optimisation, not an error.  The slack is room for the poster's
     * metadata chunks, which the worker splices into this buffer. */
    size_t want = s->expect / 4 * 3 + 8 + BEDROCK_STREAM_SLACK;
    if (s->img.cap < want) {
        uint8_t *p = realloc(s->img.data, want);
        if (p) {
            s->img.data = p;
            s->img.cap = want;
        }
    }
    if (buf_reserve(&s->img, raw / 4 * 3) != ERR_OK ||
        (s->want_sha && !(s->sha = crypto_sha256_new())))
        return ERR_NOMEM;
    s->crc = CRC64NVME_INIT;
    s->skel.len -= raw;
    uint8_t *t = s->skel.data + s->skel.len;
    size_t v = 0;   /* the value, unescaped in place */
    s->nescs = 0;
    for (size_t j = 0; j < raw; j++) {
        if (t[j] == '\\') {
            if (log_escape(s, v) != ERR_OK)
                return ERR_NOMEM;
            continue;
        }
        t[v++] = t[j];
    }
    size_t k = b64fast_decode(t, v, s->img.data);
    if (k != v / 4 * 4)
        return ERR_INTERNAL;
    s->img.len = k / 4 * 3;
    s->nleft = (int)(v - k);
    memcpy(s->left, t + k, (size_t)s->nleft);
    s->npad = 0;
    s->esc = false;
    s->mode = M_STREAM;
    return ERR_OK;
}

/* Gives the streamed string back to the skeleton as the text it came as:
 * the decoded groups encoded again (exactly the characters they came from,
 * as they were all alphabet), the leftover characters and padding, the
 * logged backslashes put back (moving the text up from its end), and a
 * backslash whose escape is not known yet. */
static err_code_t unstream(bedrock_stream_t *s)
{
    size_t start = s->skel.len;
    if (base64_encode(s->img.data, s->img.len, &s->skel) != ERR_OK ||
        buf_append(&s->skel, s->left, (size_t)(s->nleft + s->npad)) != ERR_OK ||
        buf_reserve(&s->skel, s->nescs + 1) != ERR_OK)
        return ERR_NOMEM;
    uint8_t *v = s->skel.data + start;
    size_t vlen = s->skel.len - start, d = vlen + s->nescs, e = s->nescs;
    for (size_t k = vlen; k-- > 0 && e > 0;) {
        v[--d] = v[k];
        if (s->escs[e - 1] == k) {
            v[--d] = '\\';
            e--;
        }
    }
    s->skel.len += s->nescs;
    if (s->esc)
        s->skel.data[s->skel.len++] = '\\';
    s->skel.data[s->skel.len] = '\0';
    buf_reset(&s->img);
    crypto_sha256_free(s->sha);
    s->sha = NULL;
    s->crc = CRC64NVME_INIT;
    s->hashed = 0;
    s->mode = M_RAW;
    return ERR_OK;
}

const buf_t *bedrock_stream_text(const bedrock_stream_t *s)
{
    return s->mode == M_SCAN || s->mode == M_RAW ? &s->skel : NULL;
}

/* SCAN over p[0..n), appending what it reads to the skeleton: returns in
 * *used how much it took (all of it unless it switched mode). */
static err_code_t scan(bedrock_stream_t *s, const unsigned char *p, size_t n, size_t *used)
{
    size_t i = 0;

    while (i < n) {
        if (!s->in_str) {
            const unsigned char *q = memchr(p + i, '"', n - i);
            if (!q) {
                i = n;
                break;
            }
            i = (size_t)(q - p) + 1;
            s->in_str = s->str_ok = s->str_pure = true;
            s->esc = false;
            s->str_len = 0;
            continue;
        }
        unsigned char c = p[i++];
        if (s->esc) {
            s->esc = false;
            if (c != '/')
                s->str_ok = s->str_pure = false;
        } else if (c == '"') {
            s->in_str = false;
            if (s->str_len >= LIFT_MIN && s->str_ok) {
                s->mode = M_RAW;   /* the lifted string, not all alphabet */
                break;
            }
            continue;
        } else if (c == '\\') {
            s->esc = true;
        } else if (!b64fast_is_alpha(c)) {
            s->str_pure = false;
        }
        s->str_len++;
        if (s->str_len >= LIFT_MIN && s->str_pure && !s->esc) {
            *used = i;
            if (buf_append(&s->skel, p, i) != ERR_OK)
                return ERR_NOMEM;
            return start_stream(s, s->str_len);
        }
    }
    *used = i;
    return buf_append(&s->skel, p, i) == ERR_OK ? ERR_OK : ERR_NOMEM;
}

/* STREAM over p[0..n): decodes the string's characters until its closing
 * quote (then LIFTED) or anything that is not plain base64 (then RAW, the
 * character left unread). */
static err_code_t stream(bedrock_stream_t *s, const unsigned char *p, size_t n, size_t *used)
{
    size_t i = 0;
    err_code_t rc = ERR_OK;

    if (buf_reserve(&s->img, n / 4 * 3 + 8) != ERR_OK)
        return ERR_NOMEM;
    while (i < n) {
        if (s->nleft == 0 && s->npad == 0 && !s->esc) {
            size_t k = b64fast_decode(p + i, n - i, s->img.data + s->img.len);
            i += k;
            s->img.len += k / 4 * 3;
            if (i == n)
                break;
        }
        unsigned char c = p[i];
        if (s->esc) {
            if (c != '/' || s->npad) {
                *used = i;
                return unstream(s);
            }
            if (log_escape(s, s->img.len / 3 * 4 + (size_t)s->nleft) != ERR_OK)
                return ERR_NOMEM;
            s->esc = false;
        }
        if (c == '\\' && s->npad == 0) {
            s->esc = true;
            i++;
        } else if (s->npad == 0 && b64fast_is_alpha(c)) {
            s->left[s->nleft++] = (char)c;
            i++;
            if (s->nleft == 4) {
                b64fast_decode_scalar(s->left, 4, s->img.data + s->img.len);
                s->img.len += 3;
                s->nleft = 0;
            }
        } else if (c == '=' && s->npad < 2) {
            s->left[s->nleft + s->npad++] = '=';
            i++;
        } else if (c == '"') {
            i++;
            if (buf_append_str(&s->skel, LIFT_MARK "\"") != ERR_OK)
                return ERR_NOMEM;
            s->mode = M_LIFTED;
            break;
        } else {
            *used = i;
            return unstream(s);
        }
    }
    *used = i;
    if (s->mode == M_STREAM || s->mode == M_LIFTED)
        rc = hash_behind(s);
    return rc;
}

err_code_t bedrock_stream_feed(bedrock_stream_t *s, const void *data, size_t n)
{
    const unsigned char *p = data;
    err_code_t rc = ERR_OK;

    if (s->sticky != ERR_OK)
        return s->sticky;
    if (s->max_reply && n > s->max_reply - s->fed)
        return fail(s, ERR_TOOBIG);
    s->fed += n;
    while (n > 0) {
        size_t used = n;
        if (s->mode == M_SCAN)
            rc = scan(s, p, n, &used);
        else if (s->mode == M_STREAM)
            rc = stream(s, p, n, &used);
        else if (buf_append(&s->skel, p, n) != ERR_OK)
            rc = ERR_NOMEM;
        if (rc != ERR_OK)
            return fail(s, rc);
        p += used;
        n -= used;
    }
    return ERR_OK;
}

/* Sets out's CRCs: from the running CRC when the image is the streamed
 * string (streamed), else in one pass over it. */
static void digest_crc(bedrock_stream_t *s, bool streamed, engine_result_t *out)
{
    size_t done = streamed ? s->hashed : 0, len = out->image.len;
    uint64_t c = streamed ? s->crc : CRC64NVME_INIT;
    const uint8_t *d = out->image.data;

    if (len >= SHA_TAIL) {
        c = crc64nvme_update(c, d + done, len - SHA_TAIL - done);
        done = len - SHA_TAIL;
    }
    out->crc_head = c;
    out->crc64 = crc64nvme_update(c, d + done, len - done);
    out->crc_known = true;
}

/* Sets out's digests: from the running hash when the image is the streamed
 * string (streamed), else in one pass over it. */
static err_code_t digest(bedrock_stream_t *s, bool streamed, engine_result_t *out)
{
    digest_crc(s, streamed, out);
    if (!s->want_sha)
        return ERR_OK;
    streamed = streamed && s->sha;   /* switched on while this reply came */
    crypto_sha256_ctx *c = streamed ? s->sha : crypto_sha256_new(), *head = NULL;
    size_t done = streamed ? s->hashed : 0, len = out->image.len;
    const uint8_t *d = out->image.data;
    err_code_t rc = ERR_OK;

    if (streamed)
        s->sha = NULL;
    if (!c)
        return ERR_NOMEM;
    if (len >= SHA_TAIL) {
        if ((rc = crypto_sha256_update(c, d + done, len - SHA_TAIL - done)) != ERR_OK ||
            !(head = crypto_sha256_dup(c))) {
            crypto_sha256_free(c);
            return rc != ERR_OK ? rc : ERR_NOMEM;
        }
        done = len - SHA_TAIL;
    }
    if ((rc = crypto_sha256_update(c, d + done, len - done)) != ERR_OK) {
        crypto_sha256_free(c);
        crypto_sha256_free(head);
        return rc;
    }
    if ((rc = crypto_sha256_final(c, out->sha256)) != ERR_OK) {
        crypto_sha256_free(head);
        return rc;
    }
    crypto_sha256_free(out->sha_head);
    out->sha_head = head;
    out->sha_known = true;
    return ERR_OK;
}

err_code_t bedrock_stream_finish(bedrock_stream_t *s, const bedrock_model_t *m,
                                 const char *want_format, engine_result_t *out,
                                 err_t *err)
{
    bool from_lift = false, streamed;
    err_code_t rc = s->sticky;

    if (rc == ERR_OK && s->mode == M_STREAM && (rc = unstream(s)) != ERR_OK)
        s->sticky = rc;   /* the body ended inside the string */
    if (rc == ERR_TOOBIG)
        return err_set(err, rc, "reply from %s: larger than %zu bytes", m->id, s->max_reply);
    if (rc != ERR_OK)
        return err_set(err, rc, "reply from %s: %s", m->id,
                       rc == ERR_NOMEM ? "out of memory" : "internal error while streaming");
    streamed = s->mode == M_LIFTED;
    if (streamed)
        rc = bedrock_reply_from_skeleton(m, &s->skel, &s->img, s->left,
                                         (size_t)(s->nleft + s->npad), want_format, out,
                                         &from_lift, err);
    else
        rc = bedrock_parse_reply(m, &s->skel, want_format, out, err);
    if (rc != ERR_OK)
        return rc;
    if ((rc = digest(s, streamed && from_lift, out)) != ERR_OK) {
        buf_free(&out->image);
        return err_set(err, rc, "reply from %s: hashing the image failed", m->id);
    }
    return ERR_OK;
}
