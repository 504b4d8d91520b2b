/* bedrock_models — see bedrock_models.h.  The model table is first: it is
 * the one place to edit when AWS adds a model or changes a price.  Then the
 * limits and the request bodies, per shape; replies are in bedrock_reply.c. */
#include "engine/bedrock_models.h"
#include "poster/imgsniff.h"
#include "base/utf8.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SDXL's allowed sizes (Stability v1 API). */
static const bedrock_size_t sdxl_sizes[] = {
    {1024, 1024}, {1152, 896}, {1216, 832}, {1344, 768}, {1536, 640},
    {640, 1536},  {768, 1344}, {832, 1216}, {896, 1152},
};

/* Titan Image Generator's sizes of about one megapixel (it also accepts
 * smaller ones, which a poster never wants). */
static const bedrock_size_t titan_sizes[] = {
    {1024, 1024}, {768, 1152}, {1152, 768}, {768, 1280}, {1280, 768},
    {896, 1152},  {1152, 896}, {768, 1408}, {1408, 768}, {640, 1408},
    {1408, 640},  {1152, 640}, {1173, 640},
};

#define N(a) (sizeof a / sizeof *a)
#define STAB_ALL (BEDROCK_FMT_PNG | BEDROCK_FMT_JPEG | BEDROCK_FMT_WEBP)
#define STAB_SD3 (BEDROCK_FMT_PNG | BEDROCK_FMT_JPEG)

/* Prices are on-demand list prices per image in us-east-1/us-west-2 (late
 * 2026); "estimated" marks the ones that depend on size or quality tier or
 * that AWS no longer lists.  Nova Canvas seeds stop at 858993459 (its API
 * reference); Titan's at 2147483646; Stability's at 4294967294 (SDXL one
 * more). */
static const bedrock_model_t models[] = {
    {"stability.sd3-5-large-v1:0", "Stable Diffusion 3.5 Large",
     BEDROCK_SHAPE_STABILITY, true, false, 10000, 10000, 4294967294LL, STAB_SD3,
     NULL, 0, 0, 0, 0.08, false},
    {"stability.stable-image-core-v1:1", "Stable Image Core",
     BEDROCK_SHAPE_STABILITY, false, false, 10000, 10000, 4294967294LL, STAB_ALL,
     NULL, 0, 0, 0, 0.04, false},
    {"stability.stable-image-ultra-v1:1", "Stable Image Ultra",
     BEDROCK_SHAPE_STABILITY, false, false, 10000, 10000, 4294967294LL, STAB_ALL,
     NULL, 0, 0, 0, 0.14, false},
    {"stability.sd3-large-v1:0", "Stable Diffusion 3 Large",
     BEDROCK_SHAPE_STABILITY, true, true, 10000, 10000, 4294967294LL, STAB_SD3,
     NULL, 0, 0, 0, 0.08, true},
    {"stability.stable-image-core-v1:0", "Stable Image Core (v1.0)",
     BEDROCK_SHAPE_STABILITY, false, true, 10000, 10000, 4294967294LL, STAB_ALL,
     NULL, 0, 0, 0, 0.04, true},
    {"stability.stable-image-ultra-v1:0", "Stable Image Ultra (v1.0)",
     BEDROCK_SHAPE_STABILITY, false, true, 10000, 10000, 4294967294LL, STAB_ALL,
     NULL, 0, 0, 0, 0.14, true},
    {"stability.stable-diffusion-xl-v1", "Stable Diffusion XL 1.0",
     BEDROCK_SHAPE_SDXL, false, true, 2000, 2000, 4294967295LL, BEDROCK_FMT_PNG,
     sdxl_sizes, N(sdxl_sizes), 7, 30, 0.04, true},
    {"amazon.titan-image-generator-v2:0", "Titan Image Generator v2",
     BEDROCK_SHAPE_TITAN, false, true, 512, 512, 2147483646LL, BEDROCK_FMT_PNG,
     titan_sizes, N(titan_sizes), 8, 0, 0.01, true},
    {"amazon.nova-canvas-v1:0", "Nova Canvas", BEDROCK_SHAPE_TITAN, false, true,
     1024, 1024, 858993459LL, BEDROCK_FMT_PNG, NULL, 0, 6.5, 0, 0.04, true},
};

static const char *const profile_prefixes[] = {"us.", "eu.", "apac.", "global."};

size_t bedrock_model_count(void) { return N(models); }

const bedrock_model_t *bedrock_model_at(size_t i)
{
    return i < N(models) ? &models[i] : NULL;
}

const char *bedrock_profile_prefix_at(size_t i)
{
    return i < N(profile_prefixes) ? profile_prefixes[i] : NULL;
}

const bedrock_model_t *bedrock_model_lookup(const char *id)
{
    if (!id)
        return NULL;
    for (size_t i = 0; i < N(profile_prefixes); i++) {
        size_t n = strlen(profile_prefixes[i]);
        if (strncmp(id, profile_prefixes[i], n) == 0) {
            id += n;
            break;
        }
    }
    for (size_t i = 0; i < N(models); i++)
        if (strcmp(id, models[i].id) == 0)
            return &models[i];
    return NULL;
}

err_code_t bedrock_model_list(buf_t *out)
{
    for (size_t i = 0; i < N(models); i++) {
        err_code_t rc = buf_appendf(out, "%s%s", i ? ", " : "", models[i].id);
        if (rc != ERR_OK)
            return rc;
    }
    return ERR_OK;
}

/* ---- limits ---- */

static const char *fmt_names(unsigned f, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s%s%s%s", f & BEDROCK_FMT_PNG ? "png" : "",
             (f & BEDROCK_FMT_PNG) && (f & ~BEDROCK_FMT_PNG) ? ", " : "",
             f & BEDROCK_FMT_JPEG ? "jpeg" : "",
             (f & BEDROCK_FMT_JPEG) && (f & BEDROCK_FMT_WEBP) ? ", " : "",
             f & BEDROCK_FMT_WEBP ? "webp" : "");
    return out;
}

static unsigned fmt_bit(const char *name)
{
    switch (imgsniff_from_name(name && *name ? name : "png")) {
    case IMG_PNG: return BEDROCK_FMT_PNG;
    case IMG_JPEG: return BEDROCK_FMT_JPEG;
    case IMG_WEBP: return BEDROCK_FMT_WEBP;
    default: return 0;
    }
}

static const char *aspect_of(const job_spec_t *s)
{
    return s->aspect_ratio[0] ? s->aspect_ratio : "2:3";
}

static const char *format_of(const job_spec_t *s)
{
    return s->output_format[0] ? s->output_format : "png";
}

static err_code_t check_text(const char *field, const char *text, size_t max,
                             const bedrock_model_t *m, err_t *err)
{
    size_t ncp = 0;
    if (!utf8_valid(text, strlen(text), &ncp, NULL))
        return err_set(err, ERR_INVALID, "%s: invalid UTF-8", field);
    if (ncp > max)
        return err_set(err, ERR_INVALID,
                       "%s: %zu characters is over the %zu-character limit of %s",
                       field, ncp, max, m->id);
    return ERR_OK;
}

err_code_t bedrock_check_spec(const bedrock_model_t *m, const job_spec_t *s,
                              err_t *err)
{
    err_code_t rc;
    char names[32];
    bedrock_size_t size;

    if (!s->prompt || !s->prompt[0])
        return err_set(err, ERR_INVALID, "prompt: required");
    if ((rc = check_text("prompt", s->prompt, m->prompt_max, m, err)) != ERR_OK)
        return rc;
    if (s->negative_prompt && s->negative_prompt[0]) {
        if (m->negative_max == 0)
            return err_set(err, ERR_INVALID,
                           "negative_prompt: %s does not take a negative prompt", m->id);
        if ((rc = check_text("negative_prompt", s->negative_prompt,
                             m->negative_max, m, err)) != ERR_OK)
            return rc;
    }
    unsigned f = fmt_bit(format_of(s));
    if (!(f & m->formats))
        return err_set(err, ERR_INVALID, "output_format: %s is not offered by %s (%s)",
                       format_of(s), m->id, fmt_names(m->formats, names, sizeof names));
    if (bedrock_size_for(m, aspect_of(s), &size) != ERR_OK)
        return err_set(err, ERR_INVALID, "aspect_ratio: %s is not supported by %s",
                       aspect_of(s), m->id);
    if (s->seed != JOB_SEED_UNSET && (s->seed < 0 || s->seed > m->seed_max))
        return err_set(err, ERR_INVALID, "seed: %lld is outside 0..%lld of %s",
                       (long long)s->seed, (long long)m->seed_max, m->id);
    return ERR_OK;
}

int64_t bedrock_seed_for(const bedrock_model_t *m, const job_spec_t *s,
                         const char *job_id)
{
    if (s->seed >= 0 && s->seed <= m->seed_max)
        return s->seed;
    int64_t v = job_effective_seed(s, job_id);
    return v < 0 ? 0 : (int64_t)((uint64_t)v % ((uint64_t)m->seed_max + 1));
}

err_code_t bedrock_size_for(const bedrock_model_t *m, const char *aspect,
                            bedrock_size_t *out)
{
    int aw, ah;
    if (engine_size_for_aspect(aspect, &aw, &ah) != ERR_OK)
        return ERR_INVALID;
    if (!m->sizes) {
        out->w = aw;
        out->h = ah;
        return ERR_OK;
    }
    double want = log((double)aw / ah), best_d = INFINITY, best_a = INFINITY;
    for (size_t i = 0; i < m->nsizes; i++) {
        const bedrock_size_t *z = &m->sizes[i];
        double d = fabs(log((double)z->w / z->h) - want);
        double a = fabs(log((double)z->w * z->h / 1048576.0));
        if (d < best_d - 1e-9 || (d < best_d + 1e-9 && a < best_a)) {
            best_d = d;
            best_a = a;
            *out = *z;
        }
    }
    return ERR_OK;
}

/* ---- request bodies ---- */

static err_code_t json_str(buf_t *b, const char *key, const char *val)
{
    err_code_t rc;
    if ((rc = buf_appendf(b, "\"%s\":", key)) != ERR_OK)
        return rc;
    return utf8_append_json_string(b, val, strlen(val));
}

err_code_t bedrock_request_body(const bedrock_model_t *m, const job_spec_t *s,
                                int64_t seed, buf_t *b, err_t *err)
{
    bedrock_size_t z;
    const char *neg = s->negative_prompt && s->negative_prompt[0] ? s->negative_prompt : NULL;
    err_code_t rc;

    if (!s->prompt || bedrock_size_for(m, aspect_of(s), &z) != ERR_OK)
        return err_set(err, ERR_INVALID, "spec not checked against %s", m->id);
    switch (m->shape) {
    case BEDROCK_SHAPE_STABILITY:
        rc = buf_append_str(b, "{");
        if (!rc) rc = json_str(b, "prompt", s->prompt);
        if (!rc && neg) rc = buf_append_str(b, ",");
        if (!rc && neg) rc = json_str(b, "negative_prompt", neg);
        if (!rc && m->sd3_mode) rc = buf_append_str(b, ",\"mode\":\"text-to-image\"");
        if (!rc)
            rc = buf_appendf(b, ",\"aspect_ratio\":\"%s\",\"output_format\":\"%s\","
                             "\"seed\":%lld}", aspect_of(s),
                             imgsniff_ext(imgsniff_from_name(format_of(s))),
                             (long long)seed);
        break;
    case BEDROCK_SHAPE_SDXL:
        rc = buf_append_str(b, "{\"text_prompts\":[{");
        if (!rc) rc = json_str(b, "text", s->prompt);
        if (!rc) rc = buf_append_str(b, ",\"weight\":1.0}");
        if (!rc && neg) rc = buf_append_str(b, ",{");
        if (!rc && neg) rc = json_str(b, "text", neg);
        if (!rc && neg) rc = buf_append_str(b, ",\"weight\":-1.0}");
        if (!rc)
            rc = buf_appendf(b, "],\"cfg_scale\":%g,\"steps\":%d,\"seed\":%lld,"
                             "\"width\":%d,\"height\":%d}", m->cfg_scale, m->steps,
                             (long long)seed, z.w, z.h);
        break;
    case BEDROCK_SHAPE_TITAN:
    default:
        rc = buf_append_str(b, "{\"taskType\":\"TEXT_IMAGE\",\"textToImageParams\":{");
        if (!rc) rc = json_str(b, "text", s->prompt);
        if (!rc && neg) rc = buf_append_str(b, ",");
        if (!rc && neg) rc = json_str(b, "negativeText", neg);
        if (!rc)
            rc = buf_appendf(b, "},\"imageGenerationConfig\":{\"numberOfImages\":1,"
                             "\"width\":%d,\"height\":%d,\"cfgScale\":%g,\"seed\":%lld}}",
                             z.w, z.h, m->cfg_scale, (long long)seed);
        break;
    }
    if (rc != ERR_OK)
        return err_set(err, rc, "building the %s request: out of memory", m->id);
    return ERR_OK;
}
