/* Tests for bedrock_stream.c (an InvokeModel reply decoded and hashed as it
 * arrives) and b64fast.c (its base64 decoder): for good replies of every
 * shape and format, the bad-reply corpus and hand-made edge cases (escapes,
 * line breaks, bad characters, padding, cut bodies, several long strings),
 * fed whole, a byte at a time and in random pieces, the stream gives exactly
 * what bedrock_parse_reply() gives for the whole body -- code, message,
 * image bytes, format, size and seed -- plus digests that match a SHA-256
 * of the image; the stream is reusable and capped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/b64fast.h"
#include "base/crc64nvme.h"
#include "engine/bedrock_models.h"
#include "engine/bedrock_stream.h"
#include "base/crypto.h"
#include "testutil.h"

#define SD35 "stability.sd3-5-large-v1:0"
#define CORE "stability.stable-image-core-v1:1"
#define SDXL "stability.stable-diffusion-xl-v1"
#define TITAN "amazon.titan-image-generator-v2:0"
#define NOVA "amazon.nova-canvas-v1:0"

static const char *const shapes_fmt[][2] = {
    {SD35, "{\"seeds\":[77],\"finish_reasons\":[null],\"images\":[\"%s\"]}"},
    {SDXL, "{\"result\":\"success\",\"artifacts\":[{\"seed\":78,\"base64\":\"%s\","
           "\"finishReason\":\"SUCCESS\"}]}"},
    {TITAN, "{\"images\":[\"%s\"],\"error\":null}"},
};

static const bedrock_model_t *model(const char *id)
{
    const bedrock_model_t *m = bedrock_model_lookup(id);
    if (!m)
        fail_msg("model %s not in the table", id);
    return m;
}

/* Deterministic pseudo-random numbers (xorshift), seeded per test. */
static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Image bytes of format fmt ("png", "jpeg", "webp") with extra filler. */
static void image_bytes(buf_t *b, const char *fmt, size_t extra)
{
    static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0,
                                        13, 'I', 'H', 'D', 'R', 0, 0, 4, 0, 0, 0, 3, 0,
                                        8, 2, 0, 0, 0};   /* 1024 x 768 */
    static const unsigned char jpeg[] = {
        0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0,
        0xff, 0xc2, 0, 11, 8, 0x04, 0xe0, 0x03, 0x40, 1, 1, 0x11, 0};   /* 832x1248 */
    static const unsigned char webp[] = {
        'R', 'I', 'F', 'F', 0x1a, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', 'L',
        0x0d, 0, 0, 0, 0x2f, 0, 0, 0, 0x10, 0x07, 0x10, 0x11, 0x11, 0x88, 0x88, 0xfe, 0x07, 0};
    if (strcmp(fmt, "jpeg") == 0)
        buf_append(b, jpeg, sizeof jpeg);
    else if (strcmp(fmt, "webp") == 0)
        buf_append(b, webp, sizeof webp);
    else
        buf_append(b, png, sizeof png);
    for (size_t i = 0; i < extra; i++)
        buf_append(b, (unsigned char[]){(unsigned char)(rnd() >> 24)}, 1);
}

/* A reply body: fmt with one "%s" for the base64 of img. */
static void reply(buf_t *body, const char *fmt, const buf_t *img)
{
    buf_t b64 = BUF_INIT;
    base64_encode(img->data, img->len, &b64);
    buf_appendf(body, fmt, b64.data ? (const char *)b64.data : "");
    buf_free(&b64);
}

typedef struct {
    err_code_t rc;
    err_t e;
    engine_result_t r;
} outcome_t;

static void outcome_free(outcome_t *o)
{
    engine_result_free(&o->r);
}

static void whole(const bedrock_model_t *m, const void *body, size_t len, const char *want,
                  outcome_t *o)
{
    buf_t b = BUF_INIT;
    assert_int_equal(buf_append(&b, body, len), ERR_OK);
    err_clear(&o->e);
    engine_result_init(&o->r);
    o->r.seed = 5;
    o->rc = bedrock_parse_reply(m, &b, want, &o->r, &o->e);
    buf_free(&b);
}

/* Splits: 0 whole, 1 a byte at a time, 2 random pieces, 3 16 KiB pieces,
 * 4 random pieces, mostly tiny. */
static void streamed(bedrock_stream_t *s, const bedrock_model_t *m, const void *body,
                     size_t len, const char *want, int split, size_t hint, outcome_t *o)
{
    const unsigned char *p = body;
    size_t at = 0;
    bedrock_stream_reset(s, hint);
    while (at < len) {
        size_t n = len - at;
        if (split == 1)
            n = 1;
        else if (split == 2)
            n = 1 + rnd() % 9000;
        else if (split == 3)
            n = 16384;
        else if (split == 4)
            n = rnd() % 4 ? 1 + rnd() % 7 : 1 + rnd() % 3000;
        if (n > len - at)
            n = len - at;
        assert_int_equal(bedrock_stream_feed(s, p + at, n), ERR_OK);
        at += n;
    }
    err_clear(&o->e);
    engine_result_init(&o->r);
    o->r.seed = 5;
    o->rc = bedrock_stream_finish(s, m, want, &o->r, &o->e);
}

/* The stream's outcome is the whole-body one, and its digests are right. */
static void same(const char *what, const outcome_t *w, const outcome_t *st)
{
    if (w->rc != st->rc || strcmp(w->e.msg, st->e.msg) != 0)
        fail_msg("%s: whole body gave %s \"%s\", the stream %s \"%s\"", what, err_name(w->rc),
                 w->e.msg, err_name(st->rc), st->e.msg);
    if (w->r.image.len != st->r.image.len ||
        (w->r.image.len && memcmp(w->r.image.data, st->r.image.data, w->r.image.len) != 0))
        fail_msg("%s: images differ (%zu vs %zu bytes)", what, w->r.image.len,
                 st->r.image.len);
    if (w->r.seed != st->r.seed || w->r.width != st->r.width || w->r.height != st->r.height ||
        strcmp(w->r.content_type, st->r.content_type) != 0 || strcmp(w->r.ext, st->r.ext) != 0)
        fail_msg("%s: seed, size or format differ", what);
    if (st->rc != ERR_OK)
        return;
    uint8_t want[SHA256_LEN], got[SHA256_LEN];
    const buf_t *img = &st->r.image;
    size_t head = img->len < 12 ? img->len : img->len - 12;
    assert_true(st->r.crc_known);
    if (st->r.crc64 != crc64nvme(img->data, img->len) ||
        st->r.crc_head != crc64nvme(img->data, head))
        fail_msg("%s: crc64 or crc_head is not the image's", what);
    assert_true(st->r.sha_known);
    assert_int_equal(crypto_sha256(img->data, img->len, want), ERR_OK);
    if (memcmp(want, st->r.sha256, SHA256_LEN) != 0)
        fail_msg("%s: sha256 is not the image's", what);
    if (img->len < 12) {
        assert_null(st->r.sha_head);
        return;
    }
    assert_non_null(st->r.sha_head);
    crypto_sha256_ctx *c = crypto_sha256_dup(st->r.sha_head);
    assert_non_null(c);
    assert_int_equal(crypto_sha256_final(c, got), ERR_OK);
    assert_int_equal(crypto_sha256(img->data, img->len - 12, want), ERR_OK);
    if (memcmp(want, got, SHA256_LEN) != 0)
        fail_msg("%s: sha_head is not the image but its last 12 bytes", what);
    c = crypto_sha256_dup(st->r.sha_head);
    assert_int_equal(crypto_sha256_update(c, img->data + img->len - 12, 12), ERR_OK);
    assert_int_equal(crypto_sha256_final(c, got), ERR_OK);
    assert_memory_equal(got, st->r.sha256, SHA256_LEN);
}

/* Compares the stream with the whole-body parse for the given splits (a
 * bit set of split kinds), each also with a Content-Length hint. */
static err_code_t check_splits(bedrock_stream_t *s, const char *id, const void *body,
                               size_t len, const char *want, unsigned splits,
                               const char *what)
{
    outcome_t w, st;
    char label[256];
    whole(model(id), body, len, want, &w);
    for (int split = 0; split <= 4; split++) {
        if (!(splits & (1u << split)))
            continue;
        for (int hint = 0; hint < 2; hint++) {
            snprintf(label, sizeof label, "%s [split %d, hint %d]", what, split, hint);
            streamed(s, model(id), body, len, want, split, hint ? len : 0, &st);
            same(label, &w, &st);
            outcome_free(&st);
        }
    }
    err_code_t rc = w.rc;
    outcome_free(&w);
    return rc;
}

#define ALL_SPLITS 0x1fu
#define NO_BYTES 0x1du   /* all but a byte at a time (for big bodies) */

/* ---- b64fast ---- */

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void simd_and_table_decoders_agree_on_every_byte_everywhere(void **state)
{
    (void)state;
    unsigned char in[100], o1[80], o2[80];
    rng_state = 1;
    for (int pos = 0; pos < 96; pos++) {
        for (int c = 0; c < 256; c++) {
            for (int k = 0; k < 96; k++)
                in[k] = (unsigned char)alphabet[rnd() % 64];
            in[pos] = (unsigned char)c;
            memset(o1, 0xaa, sizeof o1);
            memset(o2, 0xaa, sizeof o2);
            size_t a = b64fast_decode(in, 96, o1), b = b64fast_decode_scalar(in, 96, o2);
            size_t want = c && strchr(alphabet, c) ? 96 : (size_t)pos / 4 * 4;
            if (a != want || b != want || memcmp(o1, o2, sizeof o1) != 0)
                fail_msg("byte 0x%02x at %d: %s read %zu, table %zu, want %zu", c, pos,
                         b64fast_impl(), a, b, want);
            assert_int_equal(b64fast_is_alpha((unsigned char)c), want == 96);
        }
    }
}

static void decoders_round_trip_in_place_and_stop_at_the_length(void **state)
{
    (void)state;
    rng_state = 2;
    for (int t = 0; t < 300; t++) {
        size_t n = rnd() % 700;
        buf_t raw = BUF_INIT, enc = BUF_INIT;
        for (size_t i = 0; i < n; i++)
            buf_append(&raw, (unsigned char[]){(unsigned char)rnd()}, 1);
        base64_encode(raw.data, n, &enc);
        size_t whole_groups = n / 3 * 4;   /* what has no padding */
        uint8_t *out = malloc(enc.len + 8);
        assert_int_equal(b64fast_decode(enc.data, enc.len, out), whole_groups);
        assert_true(n / 3 * 3 == 0 || memcmp(out, raw.data, n / 3 * 3) == 0);
        assert_int_equal(b64fast_decode_scalar(enc.data, enc.len, out), whole_groups);
        size_t cut = whole_groups ? whole_groups - 1 : 0;   /* a cut group is not read */
        assert_int_equal(b64fast_decode(enc.data, cut, out), cut / 4 * 4);
        /* in place */
        assert_int_equal(b64fast_decode(enc.data, enc.len, enc.data), whole_groups);
        assert_true(n / 3 * 3 == 0 || memcmp(enc.data, raw.data, n / 3 * 3) == 0);
        free(out);
        buf_free(&raw);
        buf_free(&enc);
    }
}

/* ---- good replies ---- */

static void good_replies_of_every_shape_and_format_stream_alike(void **state)
{
    (void)state;
    static const char *const fmts[] = {"png", "jpeg", "webp"};
    bedrock_stream_t *s = bedrock_stream_new(0);
    assert_non_null(s);
    rng_state = 3;
    for (size_t sh = 0; sh < 3; sh++) {
        for (size_t f = 0; f < 3; f++) {
            for (size_t extra = 6000; extra < 6003; extra++) {   /* the three paddings */
                buf_t img = BUF_INIT, body = BUF_INIT;
                char what[128];
                image_bytes(&img, fmts[f], extra);
                reply(&body, shapes_fmt[sh][1], &img);
                snprintf(what, sizeof what, "%s %s +%zu", shapes_fmt[sh][0], fmts[f], extra);
                assert_int_equal(check_splits(s, shapes_fmt[sh][0], body.data, body.len,
                                              fmts[f], ALL_SPLITS, what), ERR_OK);
                /* asking for another format, or any */
                check_splits(s, shapes_fmt[sh][0], body.data, body.len,
                             fmts[(f + 1) % 3], 0x5u, what);
                check_splits(s, shapes_fmt[sh][0], body.data, body.len, NULL, 0x5u, what);
                buf_free(&img);
                buf_free(&body);
            }
        }
    }
    bedrock_stream_free(s);
}

static void a_two_megabyte_png_streams_intact_without_reallocating(void **state)
{
    (void)state;
    buf_t img = BUF_INIT, body = BUF_INIT;
    bedrock_stream_t *s = bedrock_stream_new(64u << 20);
    outcome_t st;
    rng_state = 4;
    image_bytes(&img, "png", 2u << 20);
    reply(&body, shapes_fmt[0][1], &img);
    assert_int_equal(check_splits(s, SD35, body.data, body.len, "png", NO_BYTES, "2 MB"),
                     ERR_OK);
    /* With the Content-Length known, the image is the buffer sized at reset
     * (with room for the poster's metadata past the image). */
    streamed(s, model(SD35), body.data, body.len, "png", 3, body.len, &st);
    assert_int_equal(st.rc, ERR_OK);
    assert_int_equal(st.r.image.len, img.len);
    assert_memory_equal(st.r.image.data, img.data, img.len);
    assert_true(st.r.image.cap == body.len / 4 * 3 + 8 + BEDROCK_STREAM_SLACK);
    assert_true(st.r.image.cap - st.r.image.len > BEDROCK_STREAM_SLACK);
    assert_int_equal(st.r.seed, 77);
    outcome_free(&st);
    bedrock_stream_free(s);
    buf_free(&img);
    buf_free(&body);
}

/* Without the SHA-256 (checksum = crc64nvme, the default) the stream
 * gives only the CRCs, and they are the image's. */
static void without_sha256_the_stream_gives_the_crc_alone(void **state)
{
    (void)state;
    buf_t img = BUF_INIT, body = BUF_INIT;
    bedrock_stream_t *s = bedrock_stream_new(64u << 20);
    outcome_t st;
    rng_state = 9;
    image_bytes(&img, "png", 300000);
    reply(&body, shapes_fmt[0][1], &img);
    bedrock_stream_want_sha256(s, false);
    for (int split = 0; split <= 4; split++) {
        streamed(s, model(SD35), body.data, body.len, "png", split, split & 1 ? 0 : body.len,
                 &st);
        assert_int_equal(st.rc, ERR_OK);
        assert_memory_equal(st.r.image.data, img.data, img.len);
        assert_false(st.r.sha_known);
        assert_null(st.r.sha_head);
        assert_true(st.r.crc_known);
        assert_true(st.r.crc64 == crc64nvme(img.data, img.len));
        assert_true(st.r.crc_head == crc64nvme(img.data, img.len - 12));
        outcome_free(&st);
    }
    bedrock_stream_free(s);
    buf_free(&img);
    buf_free(&body);
}

/* ---- bad replies ---- */

static void bad_reply_corpus_streams_like_the_whole_body(void **state)
{
    (void)state;
    static const char *const ids[] = {SD35, CORE, SDXL, TITAN, NOVA};
    static const char *const wants[] = {"png", "jpeg", NULL};
    const char *dir = tu_fixture("bad/replies/bedrock");
    bedrock_stream_t *s = bedrock_stream_new(1u << 20);
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t files = 0;

    assert_non_null(d);
    rng_state = 5;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[1024];
        size_t len = 0;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        char *text = tu_read_file(path, &len);
        assert_non_null(text);
        for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
            for (size_t w = 0; w < 3; w++) {
                err_code_t rc = check_splits(s, ids[i], text, len, wants[w], ALL_SPLITS,
                                             de->d_name);
                /* the file's own model (its name's prefix) refuses it */
                if (w == 0 && rc == ERR_OK && strncmp(de->d_name, ids[i], 4) == 0)
                    fail_msg("%s: accepted", de->d_name);
            }
        free(text);
        files++;
    }
    closedir(d);
    assert_true(files >= 20);
    bedrock_stream_free(s);
}

/* A body made from the base64 of a small PNG by edit(b64). */
static void edited(buf_t *body, const char *fmt, void (*edit)(buf_t *b64, size_t arg),
                   size_t arg, size_t extra)
{
    buf_t img = BUF_INIT, b64 = BUF_INIT;
    image_bytes(&img, "png", extra);
    base64_encode(img.data, img.len, &b64);
    if (edit)
        edit(&b64, arg);
    buf_reset(body);
    buf_appendf(body, fmt, (const char *)b64.data);
    buf_free(&img);
    buf_free(&b64);
}

static void put_at(buf_t *b, size_t at, const char *text)
{
    buf_t out = BUF_INIT;
    if (at > b->len)
        at = b->len;
    buf_append(&out, b->data, at);
    buf_append_str(&out, text);
    buf_append(&out, b->data + at, b->len - at);
    buf_free(b);
    *b = out;
}

static const char *edit_text;
static void insert(buf_t *b, size_t at) { put_at(b, at, edit_text); }
static void replace(buf_t *b, size_t at)
{
    if (at < b->len)
        b->data[at] = (uint8_t)edit_text[0];
}
static void cut(buf_t *b, size_t at)
{
    if (at < b->len)
        b->data[b->len = at] = '\0';
}
static void escape_slash(buf_t *b, size_t at)   /* the first '/' from at on */
{
    while (at < b->len && b->data[at] != '/')
        at++;
    if (at < b->len)
        put_at(b, at, "\\");
}
static void strip_pad(buf_t *b, size_t n)
{
    while (n-- && b->len && b->data[b->len - 1] == '=')
        b->data[--b->len] = '\0';
}

/* Where in the image's base64 (of about 8000 characters) an edit goes:
 * in the first LIFT_MIN characters, at its end, mid-stream, in the last
 * group and at the very end. */
static size_t where(size_t k, size_t b64_len)
{
    static const size_t at[] = {0, 1, 100, 4094, 4095, 4096, 4097, 5001, 6000};
    if (k < sizeof at / sizeof *at)
        return at[k];
    return b64_len - (k - sizeof at / sizeof *at);   /* the last four positions */
}

static void escapes_breaks_bad_characters_and_padding_stream_alike(void **state)
{
    (void)state;
    static const char *const inserts[] = {"\\/", "\\n", "\\u0041", "\\\\", "\\\"", "\n",
                                          "\r\n", "=", "==", "===", "*", "\"", "A",
                                          "\\u0000", "\xc3\xa9"};
    static const char *const replaces[] = {"*", "-", "_", " ", "=", "\"", "\\", "\x80", "\n"};
    bedrock_stream_t *s = bedrock_stream_new(0);
    buf_t body = BUF_INIT;
    char what[160];
    size_t b64_len = (6000 + 29 + 2) / 3 * 4;
    rng_state = 6;
    for (size_t k = 0; k < 13; k++) {
        size_t at = where(k, b64_len);
        for (size_t i = 0; i < sizeof inserts / sizeof *inserts; i++) {
            edit_text = inserts[i];
            edited(&body, shapes_fmt[0][1], insert, at, 6000);
            snprintf(what, sizeof what, "insert \"%s\" at %zu", inserts[i], at);
            check_splits(s, SD35, body.data, body.len, "png", ALL_SPLITS, what);
        }
        for (size_t i = 0; i < sizeof replaces / sizeof *replaces; i++) {
            edit_text = replaces[i];
            edited(&body, shapes_fmt[2][1], replace, at, 6000);
            snprintf(what, sizeof what, "replace with \"%s\" at %zu", replaces[i], at);
            check_splits(s, TITAN, body.data, body.len, "png", ALL_SPLITS, what);
        }
        edited(&body, shapes_fmt[0][1], escape_slash, at, 6000);
        snprintf(what, sizeof what, "'/' escaped from %zu on", at);
        assert_int_equal(check_splits(s, SD35, body.data, body.len, "png", ALL_SPLITS, what),
                         ERR_OK);
        edited(&body, shapes_fmt[1][1], cut, at, 6000);
        snprintf(what, sizeof what, "image cut at %zu", at);
        check_splits(s, SDXL, body.data, body.len, "png", ALL_SPLITS, what);
    }
    /* each padding, with its '=' dropped, doubled or followed by more */
    for (size_t extra = 6000; extra < 6003; extra++) {
        for (size_t drop = 0; drop < 3; drop++) {
            edited(&body, shapes_fmt[0][1], strip_pad, drop, extra);
            snprintf(what, sizeof what, "+%zu, %zu '=' dropped", extra, drop);
            check_splits(s, SD35, body.data, body.len, "png", ALL_SPLITS, what);
        }
        static const char *const after[] = {"=", "QQ", "Q", "QUFB", "\\/"};
        for (size_t a = 0; a < sizeof after / sizeof *after; a++) {
            edit_text = after[a];
            edited(&body, shapes_fmt[0][1], insert, SIZE_MAX, extra);
            snprintf(what, sizeof what, "+%zu, then \"%s\"", extra, after[a]);
            check_splits(s, SD35, body.data, body.len, "png", ALL_SPLITS, what);
        }
    }
    buf_free(&body);
    bedrock_stream_free(s);
}

static void escape_all_slashes(buf_t *b, size_t unused)
{
    buf_t out = BUF_INIT;
    (void)unused;
    for (size_t i = 0; i < b->len; i++) {
        if (b->data[i] == '/')
            buf_append_str(&out, "\\");
        buf_append(&out, b->data + i, 1);
    }
    buf_free(b);
    *b = out;
}

/* Some JSON writers escape every '/': such an image still streams (the
 * stream is decoding it half way), and when it turns out unusual its text
 * is given back with every backslash where it was. */
static void escaped_slashes_stream_and_give_back_their_text(void **state)
{
    (void)state;
    static const char *const damage[] = {"*", "\\n", "\\\\", "\\\"", "\\u002f", "\n", "="};
    bedrock_stream_t *s = bedrock_stream_new(0);
    buf_t body = BUF_INIT, plain = BUF_INIT;
    outcome_t st;
    char what[128];
    rng_state = 13;
    edited(&body, shapes_fmt[0][1], escape_all_slashes, 0, 9000);
    assert_non_null(strstr((const char *)body.data, "\\/"));
    assert_int_equal(check_splits(s, SD35, body.data, body.len, "png", ALL_SPLITS, "\\/"),
                     ERR_OK);
    bedrock_stream_reset(s, 0);
    assert_int_equal(bedrock_stream_feed(s, body.data, body.len - 100), ERR_OK);
    assert_null(bedrock_stream_text(s));   /* decoding, not keeping the text */
    rng_state = 13;
    edited(&plain, shapes_fmt[0][1], NULL, 0, 9000);
    streamed(s, model(SD35), body.data, body.len, "png", 2, 0, &st);
    assert_int_equal(st.rc, ERR_OK);
    outcome_t w;
    whole(model(SD35), plain.data, plain.len, "png", &w);
    same("escaped vs plain", &w, &st);
    outcome_free(&w);
    outcome_free(&st);
    /* damage after (and between) escapes: the text comes back exactly */
    for (size_t k = 0; k < 13; k++) {
        size_t at = where(k, body.len - 60) + 40;
        for (size_t d = 0; d < sizeof damage / sizeof *damage; d++) {
            buf_t b = BUF_INIT;
            buf_append(&b, body.data, body.len);
            put_at(&b, at, damage[d]);
            snprintf(what, sizeof what, "escaped, \"%s\" at %zu", damage[d], at);
            check_splits(s, SD35, b.data, b.len, "png", ALL_SPLITS, what);
            b.len = at;   /* cut there */
            check_splits(s, SD35, b.data, b.len, "png", 0x7u, what);
            buf_free(&b);
        }
    }
    buf_free(&body);
    buf_free(&plain);
    bedrock_stream_free(s);
}

/* A bad character is named with its offset in the image string, wherever
 * it is (the in-place decoder must not report the bytes it wrote). */
static void bad_characters_are_reported_at_their_offset(void **state)
{
    (void)state;
    static const size_t at[] = {0, 100, 4095, 4096, 5001, 8037, 8039};
    bedrock_stream_t *s = bedrock_stream_new(0);
    buf_t body = BUF_INIT;
    outcome_t st;
    char want[128];
    rng_state = 12;
    for (size_t i = 0; i < sizeof at / sizeof *at; i++) {
        edit_text = "*";
        edited(&body, shapes_fmt[0][1], replace, at[i], 6000);   /* 8040 characters */
        assert_int_equal(check_splits(s, SD35, body.data, body.len, "png", ALL_SPLITS, "*"),
                         ERR_INVALID);
        streamed(s, model(SD35), body.data, body.len, "png", 2, 0, &st);
        snprintf(want, sizeof want,
                 "reply: image: base64: invalid character 0x2a at offset %zu", at[i]);
        assert_string_equal(st.e.msg, want);
        outcome_free(&st);
    }
    buf_free(&body);
    bedrock_stream_free(s);
}

/* Bodies where the streamed string is not the image, or more than one
 * string is long, or the JSON around it is wrong. */
static void other_long_strings_and_broken_json_stream_alike(void **state)
{
    (void)state;
    static const char *const fmts[] = {
        "{\"note\":\"%1$s\",\"images\":[\"%1$s\"]}",
        "{\"%1$s\":1,\"images\":[\"%1$s\"]}",
        "{\"images\":[\"@lifted\"],\"note\":\"%1$s\"}",
        "{\"images\":[\"%1$s\",\"@lifted\"]}",
        "{\"images\":[\"%1$s\"],\"note\":\"%1$s\"}",
        "{\"finish_reasons\":[\"%1$s\"],\"images\":[\"%1$s\"]}",
        "{\"note\":\"%1$s\\n\",\"images\":[\"%1$s\"]}",
        "{\"note\":\"\n%1$s\",\"images\":[\"%1$s\"]}",
        "{\"images\":[\"%1$s\"]} trailing",
        "{\"images\":[\"%1$s\"]",
        "{\"images\":[\"%1$s\"],\"images\":[\"QUFB\"]}",
        "{\"images\" [\"%1$s\"]}",
        "[\"%1$s\"]",
        "{\"images\":[\"%1$s\"]}\"unterminated",
        "{\"images\":[\"%1$s\"]}\"%1$s",
        "\"%1$s\"",
        "{\"seeds\":[-4],\"images\":[\"%1$s\"]}",
        "{\"seeds\":[12],\"finish_reasons\":[\"CONTENT_FILTERED\"],\"images\":[\"%1$s\"]}",
        "{\"seeds\":[12],\"finish_reasons\":[\"ERROR\"],\"images\":[\"%1$s\"]}",
        "{\"images\":[\"%1$.4096s\"]}",
        "{\"images\":[\"%1$.4095s\"]}",
        "{\"images\":[\"%1$.4100s\"]}",
        "{\"images\":[\"%1$.4097s\"]}",
    };
    bedrock_stream_t *s = bedrock_stream_new(0);
    buf_t img = BUF_INIT, b64 = BUF_INIT, body = BUF_INIT;
    rng_state = 7;
    image_bytes(&img, "png", 6000);
    base64_encode(img.data, img.len, &b64);
    for (size_t i = 0; i < sizeof fmts / sizeof *fmts; i++) {
        buf_reset(&body);
        buf_appendf(&body, fmts[i], (const char *)b64.data);
        for (size_t sh = 0; sh < 3; sh++)
            check_splits(s, shapes_fmt[sh][0], body.data, body.len, "png", ALL_SPLITS,
                         fmts[i]);
    }
    buf_free(&img);
    buf_free(&b64);
    buf_free(&body);
    bedrock_stream_free(s);
}

/* Random edits of good bodies, compared in random pieces. */
static void randomly_damaged_replies_stream_alike(void **state)
{
    (void)state;
    static const char pool[] = "\"\\=\n*A/+}]{[:,0 \x80@";
    bedrock_stream_t *s = bedrock_stream_new(0);
    buf_t img = BUF_INIT, body = BUF_INIT;
    rng_state = 8;
    for (int t = 0; t < 400; t++) {
        size_t sh = rnd() % 3;
        buf_reset(&img);
        buf_reset(&body);
        image_bytes(&img, "png", 3000 + rnd() % 4000);
        reply(&body, shapes_fmt[sh][1], &img);
        for (int e = (int)(rnd() % 3); e >= 0; e--) {
            size_t at = rnd() % body.len;
            if (rnd() % 2)
                body.data[at] = (uint8_t)pool[rnd() % (sizeof pool - 1)];
            else if (rnd() % 2)
                body.len = at;
            else
                put_at(&body, at, (char[]){pool[rnd() % (sizeof pool - 1)], 0});
        }
        check_splits(s, shapes_fmt[sh][0], body.data, body.len, rnd() % 2 ? "png" : NULL,
                     0x15u, "random damage");
    }
    buf_free(&img);
    buf_free(&body);
    bedrock_stream_free(s);
}

/* ---- the stream itself ---- */

static void a_stream_is_reused_after_reset_and_after_errors(void **state)
{
    (void)state;
    bedrock_stream_t *s = bedrock_stream_new(100000);
    buf_t img = BUF_INIT, body = BUF_INIT, b64 = BUF_INIT;
    outcome_t st;
    rng_state = 9;
    image_bytes(&img, "png", 9000);
    reply(&body, shapes_fmt[0][1], &img);
    /* abandoned half way (no finish), then a whole reply */
    bedrock_stream_reset(s, body.len);
    assert_int_equal(bedrock_stream_feed(s, body.data, 30), ERR_OK);
    assert_non_null(bedrock_stream_text(s));   /* not streaming yet: the text is whole */
    assert_int_equal(bedrock_stream_text(s)->len, 30);
    assert_memory_equal(bedrock_stream_text(s)->data, body.data, 30);
    assert_int_equal(bedrock_stream_feed(s, body.data + 30, body.len / 2 - 30), ERR_OK);
    assert_null(bedrock_stream_text(s));       /* the image is being decoded */
    bedrock_stream_reset(s, 0);
    const char *throttled = "{\"message\":\"Throttled\"}";
    assert_int_equal(bedrock_stream_feed(s, throttled, strlen(throttled)), ERR_OK);
    assert_string_equal((const char *)bedrock_stream_text(s)->data, throttled);
    bedrock_stream_reset(s, body.len);
    assert_int_equal(bedrock_stream_feed(s, body.data, body.len / 2), ERR_OK);
    for (int round = 0; round < 3; round++) {
        streamed(s, model(SD35), body.data, body.len, "png", 2, round ? 0 : body.len, &st);
        assert_int_equal(st.rc, ERR_OK);
        assert_memory_equal(st.r.image.data, img.data, img.len);
        outcome_free(&st);
        /* a failing reply in between, kept whole as text */
        streamed(s, model(SD35), "{\"images\":[\"QUFB\"]}", 19, "png", 1, 0, &st);
        assert_int_equal(st.rc, ERR_INVALID);
        outcome_free(&st);
        /* and one that falls back to the whole-body parse (an escaped '/') */
        base64_encode(img.data, img.len, &b64);
        escape_slash(&b64, 5000);
        buf_reset(&body);
        buf_appendf(&body, shapes_fmt[2][1], (const char *)b64.data);
        streamed(s, model(TITAN), body.data, body.len, "png", 2, 0, &st);
        assert_int_equal(st.rc, ERR_OK);
        assert_memory_equal(st.r.image.data, img.data, img.len);
        outcome_free(&st);
        buf_reset(&b64);
        buf_reset(&body);
        reply(&body, shapes_fmt[0][1], &img);
    }
    buf_free(&img);
    buf_free(&body);
    buf_free(&b64);
    bedrock_stream_free(s);
}

static void replies_over_the_cap_are_too_big(void **state)
{
    (void)state;
    bedrock_stream_t *s = bedrock_stream_new(10000);
    outcome_t w, st;
    /* an empty body into a stream that has never held one */
    whole(model(TITAN), "", 0, "png", &w);
    streamed(s, model(TITAN), "", 0, "png", 0, 0, &st);
    same("empty body", &w, &st);
    outcome_free(&w);
    outcome_free(&st);
    buf_t img = BUF_INIT, body = BUF_INIT;
    rng_state = 10;
    image_bytes(&img, "png", 7440);   /* a body of just under 10000 bytes */
    reply(&body, shapes_fmt[2][1], &img);
    assert_true(body.len <= 10000 && body.len > 9950);
    streamed(s, model(TITAN), body.data, body.len, "png", 2, body.len, &st);
    assert_int_equal(st.rc, ERR_OK);
    outcome_free(&st);

    buf_append_str(&body, "                                                    ");
    bedrock_stream_reset(s, body.len);
    err_code_t rc = ERR_OK;
    for (size_t at = 0; at < body.len && rc == ERR_OK; at += 1000)
        rc = bedrock_stream_feed(s, body.data + at,
                                 body.len - at < 1000 ? body.len - at : 1000);
    assert_int_equal(rc, ERR_TOOBIG);
    assert_int_equal(bedrock_stream_feed(s, "x", 1), ERR_TOOBIG);   /* it sticks */
    err_clear(&st.e);
    engine_result_init(&st.r);
    assert_int_equal(bedrock_stream_finish(s, model(TITAN), "png", &st.r, &st.e), ERR_TOOBIG);
    assert_non_null(strstr(st.e.msg, "larger than 10000 bytes"));
    assert_int_equal(st.r.image.len, 0);
    assert_null(st.r.sha_head);
    outcome_free(&st);
    /* and the stream works again after a reset */
    streamed(s, model(TITAN), "", 0, "png", 0, 0, &st);
    assert_int_equal(st.rc, ERR_INVALID);
    assert_non_null(strstr(st.e.msg, "not JSON"));
    outcome_free(&st);
    body.len -= 52;
    streamed(s, model(TITAN), body.data, body.len, "png", 0, 0, &st);
    assert_int_equal(st.rc, ERR_OK);
    assert_int_equal(st.r.image.len, img.len);
    outcome_free(&st);
    buf_free(&img);
    buf_free(&body);
    bedrock_stream_free(s);
}

/* An image whose base64 is too short to stream is parsed whole, and still
 * gets its digests (in one pass at the end). */
static void small_images_are_parsed_whole_and_still_hashed(void **state)
{
    (void)state;
    bedrock_stream_t *s = bedrock_stream_new(0);
    buf_t img = BUF_INIT, body = BUF_INIT;
    rng_state = 11;
    image_bytes(&img, "png", 0);
    reply(&body, shapes_fmt[0][1], &img);
    assert_int_equal(check_splits(s, SD35, body.data, body.len, "png", ALL_SPLITS, "tiny"),
                     ERR_OK);
    buf_free(&img);
    buf_free(&body);
    bedrock_stream_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(simd_and_table_decoders_agree_on_every_byte_everywhere),
        cmocka_unit_test(decoders_round_trip_in_place_and_stop_at_the_length),
        cmocka_unit_test(good_replies_of_every_shape_and_format_stream_alike),
        cmocka_unit_test(a_two_megabyte_png_streams_intact_without_reallocating),
        cmocka_unit_test(without_sha256_the_stream_gives_the_crc_alone),
        cmocka_unit_test(bad_reply_corpus_streams_like_the_whole_body),
        cmocka_unit_test(escapes_breaks_bad_characters_and_padding_stream_alike),
        cmocka_unit_test(escaped_slashes_stream_and_give_back_their_text),
        cmocka_unit_test(bad_characters_are_reported_at_their_offset),
        cmocka_unit_test(other_long_strings_and_broken_json_stream_alike),
        cmocka_unit_test(randomly_damaged_replies_stream_alike),
        cmocka_unit_test(a_stream_is_reused_after_reset_and_after_errors),
        cmocka_unit_test(replies_over_the_cap_are_too_big),
        cmocka_unit_test(small_images_are_parsed_whole_and_still_hashed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
