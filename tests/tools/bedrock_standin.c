/* bedrock_standin — a loopback stand-in for Amazon Bedrock's InvokeModel,
 * for tests and benchmarks.
 *
 *   bedrock_standin --listen 127.0.0.1:0 --port-file F --key AKID --secret S
 *       [--token T] --region us-east-1 [--latency-ms N] [--jitter-ms N]
 *       [--rpm N [--rpm-window-ms W]] [--fail-rate P] [--stall-ms N] [--image-bytes N]
 *       [--log FILE]
 *
 * POST /model/{id}/invoke for every model in bedrock_models.c (ids with an
 * us./eu./apac./global. prefix too).  Each request's SigV4 signature is
 * checked with sigv4_verify() (403 InvalidSignatureException,
 * UnrecognizedClientException, MissingAuthenticationTokenException; a
 * skewed clock is "Signature expired"); its body is checked against the
 * model's shape and limits (400 ValidationException).  Beyond --rpm calls
 * in a rolling minute: 429 ThrottlingException; with --fail-rate P a
 * fraction P of calls get 500 InternalServerException or 503
 * ServiceUnavailableException.  A reply is a real image, deterministic in
 * seed and prompt: a PNG of about --image-bytes (default 100 KB; noise rows
 * among flat ones), a flat grey baseline JPEG padded with comments, or a
 * 1x1 lossless WebP.  Answers start --latency-ms plus up to --jitter-ms
 * after the request arrived (making the image counts toward that);
 * --stall-ms sends half the body and then stalls.
 *
 * Prompt trigger words: FILTERME (content filter: finish_reasons "Filter
 * reason: prompt", SDXL CONTENT_FILTERED, Titan/Nova 400), GARBAGEME (JSON
 * cut in half), BADB64ME (invalid base64), NOTIMAGEME (base64 of text),
 * ERRORME ("Inference error", SDXL ERROR, Titan 424 ModelErrorException),
 * THROTTLEME (always 429), THROTTLEONCEME (429 on the prompt's first two
 * calls), FLAKYME (503 on the prompt's first call), FILTERONCEME and
 * ERRORONCEME (like FILTERME and ERRORME on the prompt's first call only,
 * so a retried job succeeds),
 * STALLME (no answer for 60 s).
 *
 * GET /__standin/stats: {"calls","ok","rejected":{...},"models":{id:n},
 * "quota":{"admitted","first_ms","last_ms","per_window","window_ms"} (with --rpm),
 * "prompts":{sha256-hex of prompt: calls},"prompts_ok":{...}} so tests can
 * assert that a job made no second call.  POST /__standin/reset zeroes it.
 *
 * The control plane (issue 23; standin_control.h): GET /foundation-models,
 * GET /foundation-model-availability/{id}, POST /__standin/lifecycle, and
 * the switches --legacy SPEC, --remove ID, --deny ID (repeatable) and
 * --list-mode MODE.  A removed model's InvokeModel is 404
 * ResourceNotFoundException "This model version has reached the end of its
 * life."  Stats count them as "list_calls" and "availability_calls".
 *
 * Unit tests include this file with BEDROCK_STANDIN_NO_MAIN defined to run
 * the stand-in inside their own process (standin_start/standin_stop). */
#include "engine/bedrock_models.h"
#include "base/buf.h"
#include "base/crypto.h"
#include "fakeserver.h"
#include "standin_control.h"
#include "aws/sigv4.h"
#include "testutil.h"
#include "base/utf8.h"

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#define STANDIN_API static __attribute__((unused))

typedef struct {
    const char *key, *secret, *token, *region;
    long latency_ms, jitter_ms, stall_ms;
    int rpm;
    long rpm_window_ms;      /* --rpm-window-ms: the quota's window (60000) */
    double fail_rate;
    size_t image_bytes;
    const char *log_path;
    standin_control_t *control;  /* switches set before start (NULL: none);
                                    the stand-in takes it over */
} standin_opts_t;

typedef struct {
    standin_opts_t o;
    fake_server_t *fs;
    FILE *log;
    pthread_mutex_t mu;              /* guards everything below */
    uint64_t rng;
    int64_t *admits;                 /* ring of --rpm admission times (ms) */
    int nadmits, head, quota;        /* quota: calls admitted per window */
    json_t *stats;                   /* what GET /__standin/stats shows */
    standin_control_t *control;      /* the control plane (own locking) */
} standin_t;

/* ---- small helpers ---- */

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double rand01(standin_t *s)   /* caller holds mu */
{
    return (double)(splitmix(&s->rng) >> 11) / 9007199254740992.0;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void put32(buf_t *b, uint32_t v)
{
    uint8_t p[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    buf_append(b, p, 4);
}

/* ---- images ---- */

static void png_chunk(buf_t *b, const char *type, const void *data, size_t len)
{
    put32(b, (uint32_t)len);
    size_t at = b->len;
    buf_append(b, type, 4);
    buf_append(b, data, len);
    put32(b, (uint32_t)crc32(0, b->data + at, (uInt)(len + 4)));
}

/* An RGB PNG of w x h: flat rows in a seed-dependent colour, with enough
 * rows of noise spread through it to come to about target bytes. */
static void gen_png(buf_t *out, int w, int h, size_t target, uint64_t seed,
                    const char *tag)
{
    /* Deflate spends about 2 bytes per 258 of a flat row. */
    size_t row = 1 + (size_t)w * 3, flat = (size_t)h * (row / 129 + 2);
    size_t noisy = target > flat ? (target - flat) / row : 0;
    uint8_t *line = malloc(row);
    buf_t z = BUF_INIT;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    deflateInit(&zs, 1);
    buf_reserve(&z, (noisy + 8) * row + 4096);
    uint64_t rng = seed;
    uint8_t base[3] = {(uint8_t)(seed >> 16), (uint8_t)(seed >> 8), (uint8_t)seed};
    bool prev_flat = false;
    for (int y = 0; y < h; y++) {
        bool noise = noisy > 0 && (size_t)y * noisy / (size_t)h !=
                                      ((size_t)y + 1) * noisy / (size_t)h;
        line[0] = 0;
        if (noise) {
            for (size_t i = 1; i + 8 <= row; i += 8) {
                uint64_t v = splitmix(&rng);
                memcpy(line + i, &v, 8);
            }
        } else if (prev_flat) {
            /* Filter "Up": the difference from the flat row above. */
            line[0] = 2;
            for (int x = 0; x < w; x++) {
                line[1 + 3 * x] = 0;
                line[2 + 3 * x] = (uint8_t)(y / 4 - (y - 1) / 4);
                line[3 + 3 * x] = 0;
            }
        } else {
            for (int x = 0; x < w; x++) {
                line[1 + 3 * x] = base[0];
                line[2 + 3 * x] = (uint8_t)(base[1] + y / 4);
                line[3 + 3 * x] = base[2];
            }
        }
        if (y == 0 || noise == prev_flat) {
            /* Store noise (deflating it only burns CPU); deflate the rest. */
            buf_reserve(&z, 1024);
            zs.next_out = z.data + z.len;
            zs.avail_out = (uInt)(z.cap - z.len - 1);
            deflateParams(&zs, noise ? 0 : 1, Z_DEFAULT_STRATEGY);
            z.len = z.cap - 1 - zs.avail_out;
        }
        prev_flat = !noise;
        zs.next_in = line;
        zs.avail_in = (uInt)row;
        while (zs.avail_in > 0 || y == h - 1) {
            buf_reserve(&z, row + 1024);
            zs.next_out = z.data + z.len;
            zs.avail_out = (uInt)(z.cap - z.len - 1);
            int zr = deflate(&zs, y == h - 1 ? Z_FINISH : Z_NO_FLUSH);
            z.len = z.cap - 1 - zs.avail_out;
            if (zr == Z_STREAM_END || (zr != Z_OK && zr != Z_BUF_ERROR))
                break;
        }
    }
    deflateEnd(&zs);
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    uint8_t ihdr[13] = {(uint8_t)(w >> 24), (uint8_t)(w >> 16), (uint8_t)(w >> 8),
                        (uint8_t)w, (uint8_t)(h >> 24), (uint8_t)(h >> 16),
                        (uint8_t)(h >> 8), (uint8_t)h, 8, 2, 0, 0, 0};
    buf_reserve(out, z.len + 256 + strlen(tag));
    buf_append(out, sig, 8);
    png_chunk(out, "IHDR", ihdr, 13);
    buf_t t = BUF_INIT;
    buf_append(&t, "Comment", 8);   /* keyword and its NUL */
    buf_append_str(&t, tag);
    png_chunk(out, "tEXt", t.data, t.len);
    buf_free(&t);
    png_chunk(out, "IDAT", z.data, z.len);
    png_chunk(out, "IEND", "", 0);
    buf_free(&z);
    free(line);
}

/* A baseline greyscale JPEG of w x h whose every block is DC 0 (mid grey):
 * one-code Huffman tables make each block two zero bits.  Comment segments
 * carry the tag and pad the file to about target bytes. */
static void gen_jpeg(buf_t *out, int w, int h, size_t target, const char *tag)
{
    static const uint8_t head[] = {0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0,
                                   1, 1, 0, 0, 1, 0, 1, 0, 0};
    uint8_t dqt[69] = {0xff, 0xdb, 0, 67, 0};
    memset(dqt + 5, 1, 64);
    uint8_t sof[] = {0xff, 0xc0, 0, 11, 8, (uint8_t)(h >> 8), (uint8_t)h,
                     (uint8_t)(w >> 8), (uint8_t)w, 1, 1, 0x11, 0};
    uint8_t dht[2][22] = {{0xff, 0xc4, 0, 20, 0x00, 1}, {0xff, 0xc4, 0, 20, 0x10, 1}};
    static const uint8_t sos[] = {0xff, 0xda, 0, 8, 1, 1, 0, 0, 0x3f, 0};
    size_t blocks = (size_t)((w + 7) / 8) * (size_t)((h + 7) / 8);
    size_t scan = (blocks * 2 + 7) / 8, taglen = strlen(tag) > 60000 ? 60000 : strlen(tag);

    buf_append(out, head, sizeof head);
    uint8_t com[4] = {0xff, 0xfe, (uint8_t)((taglen + 2) >> 8), (uint8_t)(taglen + 2)};
    buf_append(out, com, 4);
    buf_append(out, tag, taglen);
    buf_append(out, dqt, sizeof dqt);
    buf_append(out, sof, sizeof sof);
    buf_append(out, dht[0], 22);
    buf_append(out, dht[1], 22);
    while (out->len + scan + 16 < target) {
        size_t n = target - out->len - scan - 12;
        n = n > 65000 ? 65000 : n;
        uint8_t c[4] = {0xff, 0xfe, (uint8_t)((n + 2) >> 8), (uint8_t)(n + 2)};
        buf_append(out, c, 4);
        buf_reserve(out, n);
        memset(out->data + out->len, 'x', n);
        out->len += n;
    }
    buf_append(out, sos, sizeof sos);
    buf_reserve(out, scan + 2);
    memset(out->data + out->len, 0, scan);
    if (blocks % 4)
        out->data[out->len + scan - 1] = (uint8_t)(0xff >> ((blocks % 4) * 2));
    out->len += scan;
    buf_append(out, "\xff\xd9", 2);
}

/* A 1x1 lossless WebP. */
static void gen_webp(buf_t *out)
{
    static const uint8_t webp[] = {
        'R', 'I', 'F', 'F', 0x1a, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', 'L',
        0x0d, 0, 0, 0, 0x2f, 0, 0, 0, 0x10, 0x07, 0x10, 0x11, 0x11, 0x88, 0x88,
        0xfe, 0x07, 0};
    buf_append(out, webp, sizeof webp);
}

/* ---- counters ---- */

/* Adds one to counter key of the object path names in the stats ("" for
 * the top) and returns the new count.  Caller holds mu. */
static long bump(standin_t *s, const char *path, const char *key)
{
    json_t *o = *path ? json_object_get(s->stats, path) : s->stats;
    json_t *v = json_object_get(o, key);
    long n = (long)json_integer_value(v) + 1;
    if (v)
        json_integer_set(v, n);
    else
        json_object_set_new(o, key, json_integer(n));
    return n;
}

static void reset_counts(standin_t *s)
{
    pthread_mutex_lock(&s->mu);
    json_decref(s->stats);
    s->stats = json_pack("{sisis{sisisisisisisi}s{}s{}s{}}", "calls", 0, "ok", 0,
                         "rejected", "auth", 0, "invalid", 0, "throttled", 0, "failed", 0,
                         "filtered", 0, "garbage", 0, "model_error", 0, "models",
                         "prompts", "prompts_ok");
    s->nadmits = s->head = 0;
    pthread_mutex_unlock(&s->mu);
}

/* The counters as JSON (see the top); a new string the caller frees. */
STANDIN_API char *standin_stats_json(standin_t *s)
{
    pthread_mutex_lock(&s->mu);
    char *text = json_dumps(s->stats, JSON_COMPACT | JSON_SORT_KEYS);
    pthread_mutex_unlock(&s->mu);
    return text;
}

/* Calls that reached the model with this prompt (0 when none). */
STANDIN_API long standin_prompt_calls(standin_t *s, const char *prompt)
{
    char hex[SHA256_HEX_LEN];
    crypto_sha256_hex(prompt, strlen(prompt), hex);
    pthread_mutex_lock(&s->mu);
    long n = (long)json_integer_value(json_object_get(json_object_get(s->stats, "prompts"),
                                                      hex));
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* ---- requests ---- */

typedef struct {
    const bedrock_model_t *m;
    char id[128];               /* as in the path, decoded */
    const char *prompt;         /* borrowed from the parsed body */
    int64_t seed;
    int w, h, nimages;
    char format[8];
    char msg[160];              /* a 400 message naming a key */
    long nth;                   /* the prompt's calls so far, this one included */
} call_t;

static bool text_ok(json_t *v, size_t max, bool required)
{
    size_t ncp = 0;
    if (!v)
        return !required;
    return json_is_string(v) && json_string_length(v) > 0 &&
           utf8_valid(json_string_value(v), json_string_length(v), &ncp, NULL) &&
           ncp <= max;
}

static bool int_in(json_t *v, int64_t lo, int64_t hi, int64_t *out)
{
    if (!v)
        return true;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return false;
    *out = (int64_t)json_integer_value(v);
    return true;
}

static bool num_in(json_t *v, double lo, double hi)
{
    return !v || (json_is_number(v) && json_number_value(v) >= lo &&
                  json_number_value(v) <= hi);
}

/* NULL when every key of o is one of keys (NULL-terminated), else
 * Bedrock's message naming the first other one (in c->msg). */
static const char *extra_key(call_t *c, json_t *o, const char *const *keys)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        size_t i;
        for (i = 0; keys[i] && strcmp(keys[i], k) != 0; i++)
            ;
        if (!keys[i]) {
            snprintf(c->msg, sizeof c->msg, "extraneous key [%.64s] is not permitted", k);
            return c->msg;
        }
    }
    return NULL;
}

/* Each returns NULL when the body is acceptable, else the 400 message. */
static const char *check_stability(json_t *b, call_t *c)
{
    static const char *const keys[] = {"mode", "prompt", "negative_prompt", "aspect_ratio",
                                       "output_format", "seed", NULL};
    const char *x = extra_key(c, b, c->m->sd3_mode ? keys : keys + 1), *ar = "1:1", *fmt = "png";
    json_t *v;
    if (x)
        return x;
    if (!text_ok(json_object_get(b, "prompt"), c->m->prompt_max, true))
        return "prompt: expected a string of 1 to 10000 characters";
    if (!text_ok(json_object_get(b, "negative_prompt"), c->m->negative_max, false))
        return "negative_prompt: too long";
    if ((v = json_object_get(b, "mode")) &&
        (!json_is_string(v) || strcmp(json_string_value(v), "text-to-image") != 0))
        return "mode: must be text-to-image";
    if ((v = json_object_get(b, "aspect_ratio")) && !(ar = json_string_value(v)))
        return "aspect_ratio: expected a string";
    if (engine_size_for_aspect(ar, &c->w, &c->h) != ERR_OK)
        return "aspect_ratio: must be one of 16:9 1:1 21:9 2:3 3:2 4:5 5:4 9:16 9:21";
    if ((v = json_object_get(b, "output_format")) && !(fmt = json_string_value(v)))
        return "output_format: expected a string";
    unsigned bit = strcmp(fmt, "png") == 0 ? BEDROCK_FMT_PNG
                   : strcmp(fmt, "jpeg") == 0 ? BEDROCK_FMT_JPEG
                   : strcmp(fmt, "webp") == 0 ? BEDROCK_FMT_WEBP : 0;
    if (!(bit & c->m->formats))
        return "output_format: not supported by this model";
    snprintf(c->format, sizeof c->format, "%s", fmt);
    if (!int_in(json_object_get(b, "seed"), 0, c->m->seed_max, &c->seed))
        return "seed: must be an integer from 0 to 4294967294";
    c->prompt = json_string_value(json_object_get(b, "prompt"));
    return NULL;
}

static bool size_listed(const bedrock_model_t *m, int w, int h)
{
    for (size_t i = 0; i < m->nsizes; i++)
        if (m->sizes[i].w == w && m->sizes[i].h == h)
            return true;
    return false;
}

static const char *check_sdxl(json_t *b, call_t *c)
{
    static const char *const keys[] = {"text_prompts", "cfg_scale", "steps", "seed",
                                       "width", "height", "style_preset", "sampler",
                                       "samples", "clip_guidance_preset", NULL};
    json_t *tp = json_object_get(b, "text_prompts"), *t;
    int64_t w = 1024, h = 1024, steps = 30, samples = 1;
    size_t i;
    const char *x = extra_key(c, b, keys);
    if (x)
        return x;
    if (!json_is_array(tp) || json_array_size(tp) == 0 || json_array_size(tp) > 10)
        return "text_prompts: expected 1 to 10 prompts";
    json_array_foreach(tp, i, t) {
        json_t *wt = json_object_get(t, "weight");
        if (!json_is_object(t) || !text_ok(json_object_get(t, "text"), c->m->prompt_max, true) ||
            !num_in(wt, -10, 10))
            return "text_prompts: each needs a text of at most 2000 characters";
        if (!c->prompt && (!wt || json_number_value(wt) >= 0))
            c->prompt = json_string_value(json_object_get(t, "text"));
    }
    if (!c->prompt)
        return "text_prompts: no positive prompt";
    if (!num_in(json_object_get(b, "cfg_scale"), 0, 35) ||
        !int_in(json_object_get(b, "steps"), 10, 50, &steps) ||
        !int_in(json_object_get(b, "samples"), 1, 1, &samples) ||
        !int_in(json_object_get(b, "seed"), 0, c->m->seed_max, &c->seed))
        return "cfg_scale, steps, samples or seed out of range";
    if (!int_in(json_object_get(b, "width"), 0, 4096, &w) ||
        !int_in(json_object_get(b, "height"), 0, 4096, &h) ||
        !size_listed(c->m, (int)w, (int)h))
        return "width/height: not an allowed SDXL size";
    c->w = (int)w;
    c->h = (int)h;
    return NULL;
}

static const char *check_titan(json_t *b, call_t *c)
{
    static const char *const keys[] = {"taskType", "textToImageParams",
                                       "imageGenerationConfig", NULL};
    static const char *const tkeys[] = {"text", "negativeText", "style", NULL};
    static const char *const gkeys[] = {"numberOfImages", "width", "height", "cfgScale",
                                        "seed", "quality", NULL};
    json_t *t = json_object_get(b, "textToImageParams");
    json_t *g = json_object_get(b, "imageGenerationConfig"), *tt = json_object_get(b, "taskType");
    int64_t w = 1024, h = 1024, n = 1;
    const char *x;
    if ((x = extra_key(c, b, keys)) || (json_is_object(t) && (x = extra_key(c, t, tkeys))) ||
        (json_is_object(g) && (x = extra_key(c, g, gkeys))))
        return x;
    if (!json_is_string(tt) || strcmp(json_string_value(tt), "TEXT_IMAGE"))
        return "taskType: expected TEXT_IMAGE";
    if (!json_is_object(t) ||
        !text_ok(json_object_get(t, "text"), c->m->prompt_max, true) ||
        !text_ok(json_object_get(t, "negativeText"), c->m->negative_max, false))
        return "textToImageParams: text and negativeText must be 1 to max characters";
    if (g && !json_is_object(g))
        return "imageGenerationConfig: expected an object";
    if (!int_in(json_object_get(g, "numberOfImages"), 1, 5, &n) ||
        !num_in(json_object_get(g, "cfgScale"), 1.1, 10) ||
        !int_in(json_object_get(g, "seed"), 0, c->m->seed_max, &c->seed) ||
        !int_in(json_object_get(g, "width"), 0, 4096, &w) ||
        !int_in(json_object_get(g, "height"), 0, 4096, &h))
        return "imageGenerationConfig: a value is out of range";
    if (c->m->sizes ? !size_listed(c->m, (int)w, (int)h)
                    : (w < 320 || h < 320 || w % 16 || h % 16 || w * h > 4194304 ||
                       w > 4 * h || h > 4 * w))
        return "imageGenerationConfig: width/height not supported";
    c->prompt = json_string_value(json_object_get(t, "text"));
    c->w = (int)w;
    c->h = (int)h;
    c->nimages = (int)n;
    return NULL;
}

/* Sets an AWS JSON-protocol error reply. */
static void aws_error(fake_response_t *resp, int status, const char *type, const char *msg)
{
    char hv[160];
    json_t *j = json_pack("{ss}", "message", msg);
    char *text = json_dumps(j, JSON_COMPACT);
    snprintf(hv, sizeof hv, "%s:http://internal.amazon.com/coral/com.amazon.bedrock/", type);
    fake_response_header(resp, "x-amzn-ErrorType", hv);
    fake_response_json(resp, status, text ? text : "{}");
    free(text);
    json_decref(j);
}

/* The 200 reply: n copies of img (base64) in the model's shape, or the
 * trigger's misbehaviour.  Takes b64 text from img. */
static void image_reply(fake_response_t *resp, const call_t *c, const buf_t *img,
                        const char *why)
{
    buf_t b = BUF_INIT;
    buf_reserve(&b, img->len * 4 / 3 * (size_t)(c->nimages > 1 ? c->nimages : 1) + 256);
    const char *fr = why ? why : "null";
    switch (c->m->shape) {
    case BEDROCK_SHAPE_STABILITY:
        buf_appendf(&b, "{\"seeds\":[%lld],\"finish_reasons\":[%s%s%s],\"images\":[\"",
                    (long long)c->seed, why ? "\"" : "", fr, why ? "\"" : "");
        break;
    case BEDROCK_SHAPE_SDXL:
        buf_appendf(&b, "{\"result\":\"success\",\"artifacts\":[{\"seed\":%lld,"
                    "\"finishReason\":\"%s\",\"base64\":\"", (long long)c->seed,
                    why ? why : "SUCCESS");
        break;
    default:
        buf_append_str(&b, "{\"error\":null,\"images\":[\"");
        break;
    }
    for (int i = 0; i < (c->nimages > 1 ? c->nimages : 1); i++) {
        if (i)
            buf_append_str(&b, "\",\"");
        base64_encode(img->data, img->len, &b);
    }
    buf_append_str(&b, c->m->shape == BEDROCK_SHAPE_SDXL ? "\"}]}" : "\"]}");
    fake_response_header(resp, "Content-Type", "application/json");
    resp->body_len = b.len;
    resp->body = buf_steal(&b);
}

/* 403 for a request whose signature does not check out, in Bedrock's
 * words; NULL when it does. */
static bool refuse_signature(standin_t *s, const fake_request_t *req, fake_response_t *resp)
{
    http_header_t hs[FAKE_MAX_HEADERS];
    for (size_t i = 0; i < req->nheaders; i++)
        hs[i] = (http_header_t){req->headers[i].name, req->headers[i].value};
    sigv4_request_t sr = {.method = req->method, .path = req->path, .query = req->query,
                          .headers = hs, .nheaders = req->nheaders, .body = req->body,
                          .body_len = req->body_len};
    sigv4_credentials_t cr = {s->o.key, s->o.secret, s->o.token};
    sigv4_verify_opts_t vo = {.now = time(NULL), .region = s->o.region, .service = "bedrock"};
    sigv4_verify_info_t info;
    err_t e;
    char msg[700];
    sigv4_verify_info_init(&info);
    err_code_t rc = sigv4_verify(&sr, &cr, &vo, &info, &e);
    sigv4_verify_reason_t why = info.reason;
    sigv4_verify_info_free(&info);
    if (rc == ERR_OK)
        return false;
    const char *type = "InvalidSignatureException";
    if (why == SIGV4_VERIFY_MISSING)
        type = "MissingAuthenticationTokenException";
    else if (why == SIGV4_VERIFY_UNKNOWN_KEY || why == SIGV4_VERIFY_BAD_TOKEN)
        type = "UnrecognizedClientException";
    else if (why == SIGV4_VERIFY_MALFORMED)
        type = "IncompleteSignatureException";
    snprintf(msg, sizeof msg, "%s%s", why == SIGV4_VERIFY_SKEWED ? "Signature expired: " : "",
             e.msg);
    aws_error(resp, 403, type, msg);
    return true;
}

static void log_line(standin_t *s, const call_t *c, int status, const char *hex, long ms,
                     size_t bytes)
{
    if (!s->log)
        return;
    pthread_mutex_lock(&s->mu);
    /* seed: the request body's, so a test can check which seed a job sent. */
    fprintf(s->log, "t=%lld model=%s status=%d prompt_sha256=%.16s latency_ms=%ld bytes=%zu "
            "seed=%lld\n", (long long)time(NULL), c->id[0] ? c->id : "-", status,
            hex ? hex : "-", ms, bytes, (long long)c->seed);
    fflush(s->log);
    pthread_mutex_unlock(&s->mu);
}

static bool has(const call_t *c, const char *word)
{
    return strstr(c->prompt, word) != NULL;
}

/* Whether the call is to be filtered, or to fail with a model error. */
static bool filters(const call_t *c)
{
    return has(c, "FILTERME") || (has(c, "FILTERONCEME") && c->nth == 1);
}
static bool errors(const call_t *c)
{
    return !filters(c) && (has(c, "ERRORME") || (has(c, "ERRORONCEME") && c->nth == 1));
}

/* With --rpm: the calls the quota admitted and when the first and last
 * were (ms since the stand-in started), so a benchmark can weigh the rate
 * it reached against the quota: stats' "quota" object. */
static void note_admit(standin_t *s, int64_t now)
{
    json_t *q = json_object_get(s->stats, "quota");
    if (!q) {
        q = json_pack("{s:I, s:I, s:i, s:I}", "first_ms", (json_int_t)now, "last_ms",
                      (json_int_t)now, "per_window", s->quota, "window_ms",
                      (json_int_t)s->o.rpm_window_ms);
        if (!q || json_object_set_new(s->stats, "quota", q) != 0)
            return;
    }
    json_int_t n = json_integer_value(json_object_get(q, "admitted"));
    json_object_set_new(q, "admitted", json_integer(n + 1));
    json_object_set_new(q, "last_ms", json_integer(now));
}

/* Decides, under the lock, whether this call is throttled (--rpm, THROTTLEME)
 * or fails (--fail-rate, FLAKYME), counts it, and picks its latency. */
static void admit(standin_t *s, call_t *c, const char *hex, bool *throttle, int *fail,
                  long *delay)
{
    int64_t now = mono_ms();
    pthread_mutex_lock(&s->mu);
    bump(s, "", "calls");
    bump(s, "models", c->id);
    long nth = bump(s, "prompts", hex);
    c->nth = nth;
    *throttle = has(c, "THROTTLEME") || (has(c, "THROTTLEONCEME") && nth <= 2);
    if (!*throttle && s->o.rpm > 0) {
        if (s->nadmits == s->quota && now - s->admits[s->head] < s->o.rpm_window_ms) {
            *throttle = true;
        } else {
            s->admits[s->head] = now;
            s->head = (s->head + 1) % s->quota;
            if (s->nadmits < s->quota)
                s->nadmits++;
            note_admit(s, now);
        }
    }
    *fail = 0;
    if (!*throttle && ((has(c, "FLAKYME") && nth == 1) ||
                       (s->o.fail_rate > 0 && rand01(s) < s->o.fail_rate)))
        *fail = rand01(s) < 0.5 ? 500 : 503;
    *delay = s->o.latency_ms + (s->o.jitter_ms > 0 ? (long)(rand01(s) * s->o.jitter_ms) : 0);
    if (*throttle)
        bump(s, "rejected", "throttled");
    if (*fail)
        bump(s, "rejected", "failed");
    pthread_mutex_unlock(&s->mu);
}

/* The model's answer to an admitted call: an image, or what the prompt's
 * trigger word asks for. */
static void answer(standin_t *s, const call_t *c, const char *hex, fake_response_t *resp)
{
    bool filter = filters(c), error = errors(c);
    buf_t img = BUF_INIT;
    char text[160];

    if ((filter || error) && c->m->shape == BEDROCK_SHAPE_TITAN) {
        if (filter)
            aws_error(resp, 400, "ValidationException", "This request has been blocked by our "
                      "content filters. Please adjust your text prompt to submit a new request.");
        else
            aws_error(resp, 424, "ModelErrorException", "The model failed to generate an image.");
        return;
    }
    if (has(c, "GARBAGEME")) {
        fake_response_json(resp, 200,
                           "{\"seeds\":[1],\"finish_reasons\":[null],\"images\":[\"iVBO");
        return;
    }
    snprintf(text, sizeof text, "bedrock_standin seed=%lld prompt_sha256=%s",
             (long long)c->seed, hex);
    if (has(c, "NOTIMAGEME"))
        buf_append_str(&img, "this is not an image, just some text");
    else if (strcmp(c->format, "jpeg") == 0)
        gen_jpeg(&img, c->w, c->h, s->o.image_bytes, text);
    else if (strcmp(c->format, "webp") == 0)
        gen_webp(&img);
    else
        gen_png(&img, c->w, c->h, s->o.image_bytes,
                (uint64_t)c->seed * 0x9e3779b97f4a7c15ULL ^ strtoull(hex + 48, NULL, 16),
                text);
    const char *why = NULL;
    if (filter || error)
        why = c->m->shape == BEDROCK_SHAPE_SDXL ? (filter ? "CONTENT_FILTERED" : "ERROR")
              : filter ? "Filter reason: prompt" : "Inference error";
    image_reply(resp, c, &img, why);
    buf_free(&img);
    if (has(c, "BADB64ME")) {
        const char *mark = c->m->shape == BEDROCK_SHAPE_SDXL ? "\"base64\":\"" : "\"images\":[\"";
        char *q = strstr(resp->body, mark);
        if (q && resp->body_len - (size_t)(q - resp->body) > strlen(mark) + 2)
            memcpy(q + strlen(mark), "!!", 2);
    }
}

static void handle_invoke(standin_t *s, const fake_request_t *req, fake_response_t *resp,
                          call_t *c, char *hex)
{
    buf_t id = BUF_INIT;
    const char *p = req->path + strlen("/model/"), *end = strstr(p, "/invoke"), *bad;
    json_t *body = NULL;
    json_error_t je;
    err_t e;

    if (refuse_signature(s, req, resp)) {
        pthread_mutex_lock(&s->mu);
        bump(s, "rejected", "auth");
        pthread_mutex_unlock(&s->mu);
        return;
    }
    if (!end || strcmp(end, "/invoke") != 0 ||
        sigv4_uri_decode(p, (size_t)(end - p), &id, &e) != ERR_OK || !id.data ||
        id.len >= sizeof c->id || !(c->m = bedrock_model_lookup((const char *)id.data))) {
        bad = "The provided model identifier is invalid.";
    } else if (standin_control_removed(s->control, (const char *)id.data)) {
        buf_free(&id);
        aws_error(resp, 404, "ResourceNotFoundException",
                  "This model version has reached the end of its life. Please refer to "
                  "the AWS documentation for more details.");
        pthread_mutex_lock(&s->mu);
        bump(s, "rejected", "retired");
        pthread_mutex_unlock(&s->mu);
        return;
    } else {
        snprintf(c->id, sizeof c->id, "%s", (const char *)id.data);
        body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &je);
        bad = !json_is_object(body) ? "Malformed input request: not a JSON object"
              : c->m->shape == BEDROCK_SHAPE_STABILITY ? check_stability(body, c)
              : c->m->shape == BEDROCK_SHAPE_SDXL      ? check_sdxl(body, c)
                                                        : check_titan(body, c);
    }
    buf_free(&id);
    if (bad) {
        aws_error(resp, 400, "ValidationException", bad);
        pthread_mutex_lock(&s->mu);
        bump(s, "rejected", "invalid");
        pthread_mutex_unlock(&s->mu);
        json_decref(body);
        return;
    }
    crypto_sha256_hex(c->prompt, strlen(c->prompt), hex);
    bool throttle;
    int fail;
    long delay;
    admit(s, c, hex, &throttle, &fail, &delay);
    if (throttle) {
        aws_error(resp, 429, "ThrottlingException",
                  "Too many requests, please wait before trying again.");
    } else if (fail == 503) {
        aws_error(resp, 503, "ServiceUnavailableException",
                  "Service unavailable. Please try again.");
    } else if (fail) {
        aws_error(resp, 500, "InternalServerException", "An internal server error occurred.");
    } else {
        resp->stall_ms = has(c, "STALLME") ? 60000 : delay;
        resp->stall_mid_ms = s->o.stall_ms;
        answer(s, c, hex, resp);
        bool filter = filters(c), error = errors(c);
        bool garbage = has(c, "GARBAGEME") || has(c, "BADB64ME") || has(c, "NOTIMAGEME");
        bool ok = resp->status == 200 && !filter && !error && !garbage;
        pthread_mutex_lock(&s->mu);
        if (ok) {
            bump(s, "prompts_ok", hex);
            bump(s, "", "ok");
        }
        if (filter || error || garbage)
            bump(s, "rejected", filter ? "filtered" : error ? "model_error" : "garbage");
        pthread_mutex_unlock(&s->mu);
    }
    json_decref(body);
}

static void handler(const fake_request_t *req, fake_response_t *resp, void *ud)
{
    standin_t *s = ud;
    call_t c;
    char hex[SHA256_HEX_LEN] = "", date[64], rid[40];
    int64_t t0 = mono_ms();

    memset(&c, 0, sizeof c);
    c.nimages = 1;
    snprintf(c.format, sizeof c.format, "png");
    fake_http_date((long long)time(NULL), date, sizeof date);
    fake_response_header(resp, "Date", date);
    snprintf(rid, sizeof rid, "standin-%d-%d", req->conn_id, req->seq);
    fake_response_header(resp, "x-amzn-RequestId", rid);
    if (strcmp(req->method, "GET") == 0 && strcmp(req->path, "/__standin/stats") == 0) {
        char *j = standin_stats_json(s);
        fake_response_json(resp, 200, j ? j : "{}");
        free(j);
        return;
    }
    if (strcmp(req->method, "POST") == 0 && strcmp(req->path, "/__standin/reset") == 0) {
        reset_counts(s);
        fake_response_json(resp, 200, "{}");
        return;
    }
    if (strcmp(req->method, "POST") == 0 && strcmp(req->path, "/__standin/lifecycle") == 0) {
        standin_control_post(s->control, req, resp);
        return;
    }
    if (strcmp(req->method, "GET") == 0 && strncmp(req->path, "/foundation-model", 17) == 0) {
        pthread_mutex_lock(&s->mu);
        bump(s, "", strcmp(req->path, "/foundation-models") == 0 ? "list_calls"
                                                                 : "availability_calls");
        pthread_mutex_unlock(&s->mu);
        if (!refuse_signature(s, req, resp) && !standin_control_handle(s->control, req, resp))
            aws_error(resp, 404, "UnknownOperationException", "Unknown operation");
        return;
    }
    if (strcmp(req->method, "POST") != 0 || strncmp(req->path, "/model/", 7) != 0) {
        aws_error(resp, 404, "UnknownOperationException", "Unknown operation");
        return;
    }
    handle_invoke(s, req, resp, &c, hex);
    /* The latency runs from the request's arrival: the time spent making
     * the image (more on a busy machine) is part of it, not added to it. */
    if (resp->stall_ms > 0) {
        int64_t spent = mono_ms() - t0;
        resp->stall_ms = resp->stall_ms > spent ? resp->stall_ms - (long)spent : 0;
    }
    log_line(s, &c, resp->status, hex[0] ? hex : NULL,
             (long)(mono_ms() - t0) + resp->stall_ms + resp->stall_mid_ms, resp->body_len);
}

/* ---- lifecycle ---- */

/* Starts a stand-in on 127.0.0.1:ephemeral.  o's strings are borrowed and
 * must outlive it.  NULL with a message in errbuf on failure. */
STANDIN_API standin_t *standin_start(const standin_opts_t *o, char *errbuf, size_t cap)
{
    standin_t *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(errbuf, cap, "out of memory");
        return NULL;
    }
    s->o = *o;
    s->control = o->control ? o->control : standin_control_new();
    if (!s->control) {
        snprintf(errbuf, cap, "out of memory");
        free(s);
        return NULL;
    }
    if (!s->o.image_bytes)
        s->o.image_bytes = 100 * 1024;
    s->rng = 0x5eed;
    pthread_mutex_init(&s->mu, NULL);
    reset_counts(s);
    /* --rpm N over a window of W ms admits N × W / 60 s calls per window:
     * a short window makes the quota a pace rather than a minute's burst. */
    if (s->o.rpm_window_ms <= 0)
        s->o.rpm_window_ms = 60000;
    s->quota = (int)((int64_t)s->o.rpm * s->o.rpm_window_ms / 60000);
    if (s->quota < 1)
        s->quota = 1;
    if (s->o.rpm > 0 && !(s->admits = calloc((size_t)s->quota, sizeof *s->admits))) {
        snprintf(errbuf, cap, "out of memory");
        goto fail;
    }
    if (o->log_path && !(s->log = fopen(o->log_path, "a"))) {
        snprintf(errbuf, cap, "cannot open log %s", o->log_path);
        goto fail;
    }
    if (!(s->fs = fake_server_start(handler, s))) {
        snprintf(errbuf, cap, "cannot listen on 127.0.0.1");
        goto fail;
    }
    return s;
fail:
    if (s->log)
        fclose(s->log);
    free(s->admits);
    json_decref(s->stats);
    standin_control_free(s->control);
    pthread_mutex_destroy(&s->mu);
    free(s);
    return NULL;
}

/* Stops serving (in-flight stalls end at once) and frees s.  NULL is fine. */
STANDIN_API void standin_stop(standin_t *s)
{
    if (!s)
        return;
    fake_server_stop(s->fs);
    if (s->log)
        fclose(s->log);
    free(s->admits);
    json_decref(s->stats);
    standin_control_free(s->control);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* "http://127.0.0.1:PORT" (borrowed, valid until stop). */
STANDIN_API const char *standin_url(const standin_t *s)
{
    return fake_server_url(s->fs);
}

#ifndef BEDROCK_STANDIN_NO_MAIN

static int usage(const char *why)
{
    fprintf(stderr,
            "bedrock_standin: %s\n"
            "usage: bedrock_standin --listen 127.0.0.1:0 --port-file F --key AKID "
            "--secret S [--token T]\n"
            "       --region R [--latency-ms N] [--jitter-ms N] [--rpm N] "
            "[--rpm-window-ms W] [--fail-rate P]\n"
            "       [--stall-ms N] [--image-bytes N] [--log FILE]\n"
            "       [--legacy ID[=LEGACY,EXTENDED,EOL]] [--remove ID] [--deny ID] "
            "[--list-mode MODE]\n", why);
    return 64;
}

int main(int argc, char **argv)
{
    standin_opts_t o = {.region = "us-east-1"};
    const char *port_file = NULL, *listen = "127.0.0.1:0";
    long n;
    char err[256];

    if (!(o.control = standin_control_new()))
        return 70;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return usage("missing value");
        i++;
        if (strcmp(a, "--listen") == 0) listen = v;
        else if (strcmp(a, "--port-file") == 0) port_file = v;
        else if (strcmp(a, "--key") == 0) o.key = v;
        else if (strcmp(a, "--secret") == 0) o.secret = v;
        else if (strcmp(a, "--token") == 0) o.token = v;
        else if (strcmp(a, "--region") == 0) o.region = v;
        else if (strcmp(a, "--log") == 0) o.log_path = v;
        else if (strcmp(a, "--legacy") == 0) {
            if (!standin_control_legacy(o.control, v))
                return usage("--legacy takes ID or ID=LEGACY,EXTENDED,EOL (YYYY-MM-DD or +Nd/-Nd)");
        } else if (strcmp(a, "--remove") == 0) {
            if (!standin_control_remove(o.control, v))
                return usage("--remove takes a model id");
        } else if (strcmp(a, "--deny") == 0) {
            if (!standin_control_deny(o.control, v))
                return usage("--deny takes a model id");
        } else if (strcmp(a, "--list-mode") == 0) {
            if (!standin_control_list_mode(o.control, v))
                return usage("--list-mode: ok, 403, 500, garbage, truncated, badstatus or baddate");
        }
        else if (strcmp(a, "--latency-ms") == 0 && tu_parse_long(v, 0, 3600000, &n)) o.latency_ms = n;
        else if (strcmp(a, "--jitter-ms") == 0 && tu_parse_long(v, 0, 3600000, &n)) o.jitter_ms = n;
        else if (strcmp(a, "--stall-ms") == 0 && tu_parse_long(v, 0, 3600000, &n)) o.stall_ms = n;
        else if (strcmp(a, "--rpm") == 0 && tu_parse_long(v, 0, 1000000, &n)) o.rpm = (int)n;
        else if (strcmp(a, "--rpm-window-ms") == 0 && tu_parse_long(v, 100, 3600000, &n))
            o.rpm_window_ms = n;
        else if (strcmp(a, "--image-bytes") == 0 && tu_parse_long(v, 1, 64L << 20, &n))
            o.image_bytes = (size_t)n;
        else if (strcmp(a, "--fail-rate") == 0) {
            char *end;
            o.fail_rate = strtod(v, &end);
            if (!*v || *end || o.fail_rate < 0 || o.fail_rate > 1)
                return usage("--fail-rate takes a fraction from 0 to 1");
        } else
            return usage(a);
    }
    if (!o.key || !o.secret)
        return usage("--key and --secret are required");
    if (strcmp(listen, "127.0.0.1:0") != 0)
        return usage("only --listen 127.0.0.1:0 is supported (read the port from --port-file)");

    /* Signals go to sigwait() below, not to the server's threads. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    standin_t *s = standin_start(&o, err, sizeof err);
    if (!s) {
        fprintf(stderr, "bedrock_standin: %s\n", err);
        return 69;
    }
    if (port_file) {
        if (fake_server_write_port_file(s->fs, port_file) != 0) {
            fprintf(stderr, "bedrock_standin: cannot write %s\n", port_file);
            standin_stop(s);
            return 73;
        }
    }
    printf("bedrock_standin listening on %s\n", standin_url(s));
    fflush(stdout);
    int sig;
    sigwait(&set, &sig);
    standin_stop(s);
    return 0;
}

#endif
