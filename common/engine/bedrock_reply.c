/* bedrock_reply — the reply half of bedrock_models.h: a 2xx InvokeModel
 * body per shape into image bytes (or a filtered / failed / malformed
 * verdict), and error replies that are really content filters.
 *
 * Replies carry the image as a megabyte-sized base64 string, so parsing is
 * arranged around it: jansson never reads it (see find_lift), a fast decoder
 * (b64fast.h) turns it into bytes in the reply's own storage, and the bytes
 * are checked to be the image format that was asked for.  bedrock_stream.c
 * lifts the same string while the body arrives and decodes it on the fly;
 * both end in parse_text(), so they cannot disagree. */
#include "base/b64fast.h"
#include "engine/bedrock_models.h"
#include "engine/bedrock_reply.h"
#include "poster/imgsniff.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool bedrock_is_filter_message(const char *text)
{
    static const char *const marks[] = {
        "content filter", "filter reason", "blocked by our", "content_filtered",
    };
    if (!text)
        return false;
    for (size_t i = 0; i < sizeof marks / sizeof *marks; i++)
        if (strcasestr(text, marks[i]))
            return true;
    return false;
}

/* Whether a non-2xx InvokeModel reply says the model itself is gone: a 404
 * ResourceNotFoundException ("This model version has reached the end of
 * its life", "This Model is marked by provider as Legacy and you have not
 * been actively using the model ..."), or a 400 saying end of life. */
static bool model_gone(const err_t *err)
{
    if (err->http_status == 404 && strcmp(err->service_code, "ResourceNotFoundException") == 0)
        return true;
    return err->http_status == 400 &&
           (strstr(err->msg, "end of its life") || strstr(err->msg, "end of life") ||
            strstr(err->msg, "marked by provider as Legacy"));
}

err_code_t bedrock_refine_error(const bedrock_model_t *m, err_t *err)
{
    if (!err)
        return ERR_OK;
    if (err->code != ERR_OK && err->http_status == 400 &&
        strcmp(err->service_code, "ValidationException") == 0 &&
        bedrock_is_filter_message(err->msg))
        err->code = ERR_FILTERED;
    else if (err->code != ERR_OK && model_gone(err)) {
        /* Not retried: every attempt would get the same answer (issue 23).
         * The job's error code says why; the message keeps Bedrock's. */
        err->code = ERR_PERMANENT;
        snprintf(err->service_code, sizeof err->service_code, "model_retired");
        err_prefix(err, "model %s is no longer served by Bedrock (past its end of life or "
                   "Legacy without access)", m ? m->id : "?");
    }
    return err->code;
}

/* What a shape's parser found: the base64 text (borrowed from the JSON, or
 * the lifted span of the reply, see below) and the seed, or -1. */
typedef struct {
    const char *b64;
    size_t b64_len;
    bool lifted;
    int64_t seed;
} found_t;

/* The image is a megabyte-sized string, and jansson reads strings a byte at
 * a time (about 20 ms per MB).  So the first long string of the reply is
 * lifted out: jansson parses the reply with LIFT_MARK in its place, and when
 * the shape's parser finds the mark where the image belongs, the base64 is
 * decoded straight from the reply.  Only a string whose escapes are all
 * "\/" (some JSON writers escape every '/') is lifted, so its raw bytes,
 * those backslashes dropped, are its value. */
#define LIFT_MIN BEDROCK_LIFT_MIN
#define LIFT_MARK BEDROCK_LIFT_MARK

typedef struct {
    size_t at, len;     /* the string's content: body[at .. at+len) */
} lift_t;

/* True when every backslash of p[0..n) starts a "\/". */
static bool only_slash_escapes(const char *p, size_t n)
{
    const char *end = p + n;
    while (p < end && (p = memchr(p, '\\', (size_t)(end - p)))) {
        if (p + 1 >= end || p[1] != '/')
            return false;
        p += 2;
    }
    return true;
}

/* Drops the backslash of every "\/" in p[0..n) (all its escapes, as
 * lifted); returns the new length. */
static size_t unescape_slashes(char *p, size_t n)
{
    char *w = memchr(p, '\\', n);
    if (!w)
        return n;
    for (const char *r = w; r < p + n; r++)
        if (*r != '\\')
            *w++ = *r;
    return (size_t)(w - p);
}

/* Finds the first string literal of at least LIFT_MIN bytes whose only
 * escapes are "\/"; false when there is none (or the text is cut inside
 * one). */
static bool find_lift(const buf_t *body, lift_t *out)
{
    if (!body->data)
        return false;
    const char *b = (const char *)body->data, *end = b + body->len, *p = b;
    while (p < end && (p = memchr(p, '"', (size_t)(end - p)))) {
        const char *q = ++p;
        for (;;) {   /* the closing quote: one after an even run of '\\' */
            q = memchr(q, '"', (size_t)(end - q));
            if (!q)
                return false;
            size_t bs = 0;
            while (q - bs > p && q[-1 - (ptrdiff_t)bs] == '\\')
                bs++;
            if (bs % 2 == 0)
                break;
            q++;
        }
        if ((size_t)(q - p) >= LIFT_MIN && only_slash_escapes(p, (size_t)(q - p))) {
            out->at = (size_t)(p - b);
            out->len = (size_t)(q - p);
            return true;
        }
        p = q + 1;
    }
    return false;
}

/* The reply's text with the lifted string's content replaced by LIFT_MARK
 * (a few hundred bytes), into out. */
static err_code_t skeleton(const buf_t *body, const lift_t *l, buf_t *out)
{
    err_code_t rc;
    if ((rc = buf_append(out, body->data, l->at)) != ERR_OK ||
        (rc = buf_append_str(out, LIFT_MARK)) != ERR_OK)
        return rc;
    return buf_append(out, body->data + l->at + l->len, body->len - l->at - l->len);
}

static err_code_t one_array(json_t *root, const char *key, json_t **out,
                            bool required, err_t *err)
{
    json_t *a = json_object_get(root, key);
    *out = NULL;
    if (!a || json_is_null(a)) {
        if (required)
            return err_set(err, ERR_INVALID, "reply: %s: missing", key);
        return ERR_OK;
    }
    if (!json_is_array(a))
        return err_set(err, ERR_INVALID, "reply: %s: not an array", key);
    *out = a;
    return ERR_OK;
}

static err_code_t seed_value(json_t *v, const char *field, int64_t *seed, err_t *err)
{
    if (!v || json_is_null(v))
        return ERR_OK;
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > 4294967295LL)
        return err_set(err, ERR_INVALID, "reply: %s: not a seed", field);
    *seed = (int64_t)json_integer_value(v);
    return ERR_OK;
}

static err_code_t image_string(json_t *v, const char *field, found_t *f, err_t *err)
{
    if (!json_is_string(v))
        return err_set(err, ERR_INVALID, "reply: %s: not a string", field);
    f->b64 = json_string_value(v);
    f->b64_len = json_string_length(v);
    f->lifted = strcmp(f->b64, LIFT_MARK) == 0;
    if (f->b64_len == 0)
        return err_set(err, ERR_INVALID, "reply: %s: empty", field);
    return ERR_OK;
}

static err_code_t parse_stability(json_t *root, found_t *f, err_t *err)
{
    json_t *reasons, *images, *seeds;
    err_code_t rc;
    size_t i;
    json_t *r;

    if ((rc = one_array(root, "finish_reasons", &reasons, false, err)) != ERR_OK)
        return rc;
    json_array_foreach(reasons, i, r) {
        if (json_is_null(r))
            continue;
        if (!json_is_string(r))
            return err_set(err, ERR_INVALID, "reply: finish_reasons[%zu]: not a string", i);
        const char *why = json_string_value(r);
        if (bedrock_is_filter_message(why))
            return err_set(err, ERR_FILTERED, "blocked by the model's content filter (%.200s)",
                           why);
        return err_set(err, ERR_PERMANENT, "the model failed: %.200s", why);
    }
    if ((rc = one_array(root, "images", &images, true, err)) != ERR_OK ||
        (rc = one_array(root, "seeds", &seeds, false, err)) != ERR_OK)
        return rc;
    if (json_array_size(images) != 1)
        return err_set(err, ERR_INVALID, "reply: images: expected 1 image, got %zu",
                       json_array_size(images));
    if (seeds && (rc = seed_value(json_array_get(seeds, 0), "seeds[0]", &f->seed,
                                  err)) != ERR_OK)
        return rc;
    return image_string(json_array_get(images, 0), "images[0]", f, err);
}

static err_code_t parse_sdxl(json_t *root, found_t *f, err_t *err)
{
    json_t *result = json_object_get(root, "result"), *arts;
    err_code_t rc;

    if (result && !json_is_string(result))
        return err_set(err, ERR_INVALID, "reply: result: not a string");
    if (result && strcmp(json_string_value(result), "success") != 0)
        return err_set(err, ERR_PERMANENT, "the model failed: result %.100s",
                       json_string_value(result));
    if ((rc = one_array(root, "artifacts", &arts, true, err)) != ERR_OK)
        return rc;
    if (json_array_size(arts) != 1)
        return err_set(err, ERR_INVALID, "reply: artifacts: expected 1 image, got %zu",
                       json_array_size(arts));
    json_t *a = json_array_get(arts, 0);
    if (!json_is_object(a))
        return err_set(err, ERR_INVALID, "reply: artifacts[0]: not an object");
    json_t *why = json_object_get(a, "finishReason");
    if (why && !json_is_null(why)) {
        if (!json_is_string(why))
            return err_set(err, ERR_INVALID, "reply: artifacts[0].finishReason: not a string");
        const char *w = json_string_value(why);
        if (strcmp(w, "CONTENT_FILTERED") == 0)
            return err_set(err, ERR_FILTERED, "blocked by the model's content filter (%s)", w);
        if (strcmp(w, "SUCCESS") != 0)
            return err_set(err, ERR_PERMANENT, "the model failed: finishReason %.100s", w);
    }
    if ((rc = seed_value(json_object_get(a, "seed"), "artifacts[0].seed", &f->seed,
                         err)) != ERR_OK)
        return rc;
    return image_string(json_object_get(a, "base64"), "artifacts[0].base64", f, err);
}

static err_code_t parse_titan(json_t *root, found_t *f, err_t *err)
{
    json_t *e = json_object_get(root, "error"), *images;
    err_code_t rc;

    if (e && !json_is_null(e)) {
        if (!json_is_string(e))
            return err_set(err, ERR_INVALID, "reply: error: not a string");
        const char *msg = json_string_value(e);
        return err_set(err, bedrock_is_filter_message(msg) ? ERR_FILTERED : ERR_PERMANENT,
                       "the model refused: %.200s", msg);
    }
    if ((rc = one_array(root, "images", &images, true, err)) != ERR_OK)
        return rc;
    if (json_array_size(images) != 1)
        return err_set(err, ERR_INVALID, "reply: images: expected 1 image, got %zu",
                       json_array_size(images));
    return image_string(json_array_get(images, 0), "images[0]", f, err);
}

/* base64_decode()'s verdict on in[0..len), the part of a string after its
 * first `at` characters (whole groups of the alphabet, which leave the
 * decoder where it starts), without writing anything: the same checks in
 * the same order and the same messages, offsets counted from the string's
 * start.  Run before decoding in place, which overwrites what it read. */
static err_code_t b64_check(const unsigned char *in, size_t len, size_t at, err_t *err)
{
    int quad = 0, pad = 0, done = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = in[i];
        if (c == '\r' || c == '\n')
            continue;
        if (done)
            return err_set(err, ERR_INVALID, "base64: data after padding");
        if (c == '=') {
            if (quad < 2)
                return err_set(err, ERR_INVALID, "base64: misplaced padding");
            pad++;
            if (++quad == 4) {
                done = 1;
                quad = 0;
            }
            continue;
        }
        if (pad)
            return err_set(err, ERR_INVALID, "base64: data after padding");
        if (!b64fast_is_alpha(c))
            return err_set(err, ERR_INVALID, "base64: invalid character 0x%02x at offset %zu",
                           c, at + i);
        quad = (quad + 1) % 4;
    }
    if (quad != 0)
        return err_set(err, ERR_INVALID, "base64: truncated input");
    return ERR_OK;
}

/* Appends the bytes of the base64 text in[0..len) to out, exactly as
 * base64_decode() would (the same bytes, the same errors), but the plain
 * run of whole groups that is nearly all of an image goes through
 * b64fast_decode().  in may be in out's own storage past out->len (decoded
 * in place: the output never overtakes the input), so out must already have
 * room for len / 4 * 3 + 3 more bytes and is not grown. */
static err_code_t b64_decode(const char *in, size_t len, buf_t *out, err_t *err)
{
    size_t k = b64fast_decode(in, len, out->data + out->len);
    out->len += k / 4 * 3;
    if (k < len) {
        base64_stream_t st;
        err_code_t rc = b64_check((const unsigned char *)in + k, len - k, k, err);
        if (rc != ERR_OK)
            return rc;
        base64_stream_init(&st);
        if ((rc = base64_stream_feed(&st, in + k, len - k, out, err)) != ERR_OK)
            return rc;
        return base64_stream_finish(&st, err);
    }
    out->data[out->len] = '\0';
    return ERR_OK;
}

/* Gives back the slack of a buffer that held the (longer) base64 reply. */
static void shrink(buf_t *b)
{
    if (b->data && b->cap > b->len + b->len / 8 + 64) {
        uint8_t *p = realloc(b->data, b->len + 1);
        if (p) {
            b->data = p;
            b->cap = b->len + 1;
        }
    }
}

/* Where the lifted string's value is, for parse_text(). */
typedef struct {
    bool lifted;          /* the text has LIFT_MARK in place of a string */
    const char *span;     /* its raw text (whole-body parse), or NULL when */
    size_t span_len;      /* it is already decoded in *store, but for */
    const char *tail;     /* tail[0..tail_len): its last partial group and */
    size_t tail_len;      /* padding (bedrock_stream) */
} lift_src_t;

/* The one reply parser behind bedrock_parse_reply() and bedrock_stream:
 * parses the JSON text (the body, or its skeleton), finds the image and the
 * seed per shape, decodes the image into store (reset first, unless it is
 * the already decoded lifted string), checks its format and moves store
 * into out.  On error store is left empty (its storage kept); *from_lift
 * says whether the image is the lifted string. */
static err_code_t parse_text(const bedrock_model_t *m, const char *text, size_t text_len,
                             const lift_src_t *ls, buf_t *store, const char *want_format,
                             engine_result_t *out, bool *from_lift, err_t *err)
{
    json_error_t je;
    found_t f = {NULL, 0, false, -1};
    err_code_t rc;

    *from_lift = false;
    json_t *root = json_loadb(text ? text : "", text_len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        buf_reset(store);
        return err_set(err, ERR_INVALID, "reply from %s: not JSON (%s at byte %d)", m->id,
                       je.text, je.position);
    }
    if (!json_is_object(root))
        rc = err_set(err, ERR_INVALID, "reply: not a JSON object");
    else if (m->shape == BEDROCK_SHAPE_STABILITY)
        rc = parse_stability(root, &f, err);
    else if (m->shape == BEDROCK_SHAPE_SDXL)
        rc = parse_sdxl(root, &f, err);
    else
        rc = parse_titan(root, &f, err);
    if (rc != ERR_OK) {
        json_decref(root);
        buf_reset(store);
        return rc;
    }
    *from_lift = f.lifted && ls->lifted;
    if (*from_lift && !ls->span) {
        /* Decoded while it arrived; only the last group is left. */
        if (ls->tail_len && buf_reserve(store, ls->tail_len + 3) != ERR_OK)
            rc = err_set(err, ERR_NOMEM, "out of memory");
        else if (ls->tail_len)
            rc = b64_decode(ls->tail, ls->tail_len, store, err);
    } else {
        /* Into the reply's own storage, which is longer than the image.  A
         * lifted string is decoded in place (and the storage is big enough
         * that nothing is reallocated). */
        if (*from_lift) {
            f.b64 = ls->span;
            f.b64_len = ls->span_len;
        }
        buf_reset(store);
        if (buf_reserve(store, f.b64_len / 4 * 3 + 3) != ERR_OK)
            rc = err_set(err, ERR_NOMEM, "out of memory");
        else
            rc = b64_decode(f.b64, f.b64_len, store, err);
    }
    json_decref(root);
    if (rc != ERR_OK) {
        buf_reset(store);
        return err_prefix(err, "reply: image");
    }
    img_info_t info;
    img_format_t got = imgsniff(store->data, store->len, &info);
    if (got == IMG_UNKNOWN) {
        unsigned char head[4] = {0};
        memcpy(head, store->data, store->len < 4 ? store->len : 4);
        buf_reset(store);
        return err_set(err, ERR_INVALID,
                       "reply: image: not a PNG, JPEG or WebP (starts %02x %02x %02x %02x)",
                       head[0], head[1], head[2], head[3]);
    }
    img_format_t want = imgsniff_from_name(want_format && *want_format ? want_format : NULL);
    if (want != IMG_UNKNOWN && want != got) {
        buf_reset(store);
        return err_set(err, ERR_INVALID, "reply: image is %s, but %s was asked for",
                       imgsniff_ext(got), imgsniff_ext(want));
    }
    shrink(store);
    buf_free(&out->image);
    out->image = *store;
    buf_init(store);
    snprintf(out->content_type, sizeof out->content_type, "%s", imgsniff_content_type(got));
    snprintf(out->ext, sizeof out->ext, "%s", imgsniff_ext(got));
    out->width = info.width;
    out->height = info.height;
    if (f.seed >= 0)
        out->seed = f.seed;
    return ERR_OK;
}

err_code_t bedrock_reply_from_skeleton(const bedrock_model_t *m, const buf_t *skel,
                                       buf_t *image, const char *tail, size_t tail_len,
                                       const char *want_format, engine_result_t *out,
                                       bool *from_lift, err_t *err)
{
    lift_src_t ls = {true, NULL, 0, tail, tail_len};
    return parse_text(m, (const char *)skel->data, skel->len, &ls, image, want_format, out,
                      from_lift, err);
}

err_code_t bedrock_parse_reply(const bedrock_model_t *m, buf_t *body,
                               const char *want_format, engine_result_t *out,
                               err_t *err)
{
    lift_t lift = {0, 0};
    lift_src_t ls = {false, NULL, 0, NULL, 0};
    buf_t skel = BUF_INIT;
    const buf_t *text = body;
    bool from_lift;
    err_code_t rc;

    if (find_lift(body, &lift)) {
        if (skeleton(body, &lift, &skel) != ERR_OK) {
            buf_free(&skel);
            buf_free(body);
            return err_set(err, ERR_NOMEM, "out of memory");
        }
        text = &skel;
        ls.lifted = true;
        ls.span = (const char *)body->data + lift.at;
        ls.span_len = unescape_slashes((char *)body->data + lift.at, lift.len);
    }
    rc = parse_text(m, (const char *)text->data, text->len, &ls, body, want_format, out,
                    &from_lift, err);
    buf_free(&skel);
    if (rc != ERR_OK)
        buf_free(body);
    return rc;
}
