/* bedrock_reply — the reply half of bedrock_models.h: a 2xx InvokeModel
 * body per shape into image bytes (or a filtered / failed / malformed
 * verdict), and error replies that are really content filters.
 *
 * Replies carry the image as a megabyte-sized base64 string, so parsing is
 * arranged around it: jansson never reads it (see find_lift), a fast decoder
 * turns it into bytes in the reply's own storage, and the bytes are checked
 * to be the image format that was asked for. */
#include "bedrock_models.h"
#include "imgsniff.h"

#include <jansson.h>
#include <pthread.h>
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

err_code_t bedrock_refine_error(const bedrock_model_t *m, err_t *err)
{
    (void)m;
    if (!err)
        return ERR_OK;
    if (err->code != ERR_OK && err->http_status == 400 &&
        strcmp(err->service_code, "ValidationException") == 0 &&
        bedrock_is_filter_message(err->msg))
        err->code = ERR_FILTERED;
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
 * decoded straight from the reply.  Only a string without escapes is
 * lifted, so its raw bytes are its value. */
#define LIFT_MIN 4096
#define LIFT_MARK "@lifted"

typedef struct {
    size_t at, len;     /* the string's content: body[at .. at+len) */
} lift_t;

/* Finds the first string literal of at least LIFT_MIN bytes without a
 * backslash; false when there is none (or the text is cut inside one). */
static bool find_lift(const buf_t *body, lift_t *out)
{
    const char *b = (const char *)body->data, *end = b + body->len, *p = b;
    if (!b)
        return false;
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
        if ((size_t)(q - p) >= LIFT_MIN && !memchr(p, '\\', (size_t)(q - p))) {
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

/* Decodes well-formed base64 (groups of four, padding only at the end) from
 * in[0..len) to out, four characters at a time through a table, about six
 * times as fast as the general decoder; out may be in itself (it never
 * overtakes the input).  Returns false for anything else, so the caller can
 * let base64_decode() say what is wrong. */
static int8_t b64_table[256];
static pthread_once_t b64_once = PTHREAD_ONCE_INIT;

static void b64_init(void)
{
    static const char al[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    memset(b64_table, -1, sizeof b64_table);
    for (int i = 0; i < 64; i++)
        b64_table[(unsigned char)al[i]] = (int8_t)i;
}

static bool b64_fast(const char *in, size_t len, uint8_t *out, size_t *n)
{
    const int8_t *t = b64_table;
    pthread_once(&b64_once, b64_init);
    if (len == 0 || len % 4)
        return false;
    size_t pad = in[len - 1] == '=' ? (in[len - 2] == '=' ? 2 : 1) : 0, o = 0;
    const unsigned char *p = (const unsigned char *)in;
    for (size_t i = 0; i + 4 <= len; i += 4) {
        int a = t[p[i]], b = t[p[i + 1]], c = t[p[i + 2]], d = t[p[i + 3]];
        if (i + 4 == len && pad) {
            c = pad == 2 ? 0 : c;
            d = 0;
        }
        if ((a | b | c | d) < 0)
            return false;
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
        out[o++] = (uint8_t)(v >> 16);
        out[o++] = (uint8_t)(v >> 8);
        out[o++] = (uint8_t)v;
    }
    *n = o - pad;
    return true;
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

err_code_t bedrock_parse_reply(const bedrock_model_t *m, buf_t *body,
                               const char *want_format, engine_result_t *out,
                               err_t *err)
{
    json_error_t je;
    found_t f = {NULL, 0, false, -1};
    lift_t lift = {0, 0};
    buf_t skel = BUF_INIT;
    const buf_t *text = body;
    err_code_t rc;
    bool lifted = find_lift(body, &lift);

    if (lifted) {
        if (skeleton(body, &lift, &skel) != ERR_OK) {
            buf_free(&skel);
            buf_free(body);
            return err_set(err, ERR_NOMEM, "out of memory");
        }
        text = &skel;
    }
    json_t *root = json_loadb(text->data ? (const char *)text->data : "", text->len,
                              JSON_REJECT_DUPLICATES, &je);
    buf_free(&skel);
    if (!root) {
        buf_free(body);
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
        buf_free(body);
        return rc;
    }
    /* Decode into the reply's own storage, which is longer than the image.
     * A lifted string is decoded in place: the decoder writes 3 bytes for
     * every 4 it has read, so its output never overtakes its input (and the
     * storage is big enough that nothing is reallocated). */
    if (f.lifted && lifted) {
        f.b64 = (const char *)body->data + lift.at;
        f.b64_len = lift.len;
    }
    buf_reset(body);
    size_t n;
    if (buf_reserve(body, f.b64_len / 4 * 3 + 3) != ERR_OK)
        rc = err_set(err, ERR_NOMEM, "out of memory");
    else if (b64_fast(f.b64, f.b64_len, body->data, &n))
        body->data[body->len = n] = '\0';
    else
        rc = base64_decode(f.b64, f.b64_len, body, err);
    json_decref(root);
    if (rc != ERR_OK) {
        buf_free(body);
        return err_prefix(err, "reply: image");
    }
    img_info_t info;
    img_format_t got = imgsniff(body->data, body->len, &info);
    if (got == IMG_UNKNOWN) {
        unsigned char head[4] = {0};
        memcpy(head, body->data, body->len < 4 ? body->len : 4);
        buf_free(body);
        return err_set(err, ERR_INVALID,
                       "reply: image: not a PNG, JPEG or WebP (starts %02x %02x %02x %02x)",
                       head[0], head[1], head[2], head[3]);
    }
    img_format_t want = imgsniff_from_name(want_format && *want_format ? want_format : NULL);
    if (want != IMG_UNKNOWN && want != got) {
        buf_free(body);
        return err_set(err, ERR_INVALID, "reply: image is %s, but %s was asked for",
                       imgsniff_ext(got), imgsniff_ext(want));
    }
    shrink(body);
    buf_free(&out->image);
    out->image = *body;
    buf_init(body);
    snprintf(out->content_type, sizeof out->content_type, "%s", imgsniff_content_type(got));
    snprintf(out->ext, sizeof out->ext, "%s", imgsniff_ext(got));
    out->width = info.width;
    out->height = info.height;
    if (f.seed >= 0)
        out->seed = f.seed;
    return ERR_OK;
}
