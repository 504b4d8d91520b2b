/* bedrock_models — the table of Amazon Bedrock image models onesheet knows,
 * and everything that depends on a model's request/response shape: checking
 * a job spec against the model's limits before any paid call, building the
 * InvokeModel body, and turning the reply (or an error reply) into image
 * bytes or an error code (bedrock_models.c: table, limits, requests;
 * bedrock_reply.c: replies).  The HTTP call itself is in engine_bedrock.c.
 *
 * Three shapes (see docs BEDROCK.md):
 *   stability  SD3/SD3.5 Large, Stable Image Core and Ultra:
 *              {"prompt","negative_prompt","aspect_ratio","output_format",
 *               "seed"} → {"seeds","finish_reasons","images"}
 *   sdxl       stability.stable-diffusion-xl-v1: {"text_prompts",...,
 *              "width","height"} → {"result","artifacts":[{"base64",
 *              "seed","finishReason"}]}
 *   titan      Titan Image v2 and Nova Canvas: {"taskType":"TEXT_IMAGE",
 *              "textToImageParams","imageGenerationConfig"} →
 *              {"images":[b64],"error":null}
 * Ids may carry a cross-region inference-profile prefix (us., eu., apac.,
 * global.); limits and prices come from the base model. */
#ifndef ONESHEET_BEDROCK_MODELS_H
#define ONESHEET_BEDROCK_MODELS_H

#include "base/buf.h"
#include "engine/engine.h"
#include "base/err.h"
#include "jobs/job.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    BEDROCK_SHAPE_STABILITY,
    BEDROCK_SHAPE_SDXL,
    BEDROCK_SHAPE_TITAN,
} bedrock_shape_t;

/* Output formats, as a bit set in bedrock_model_t.formats. */
#define BEDROCK_FMT_PNG 1u
#define BEDROCK_FMT_JPEG 2u
#define BEDROCK_FMT_WEBP 4u

typedef struct {
    int w, h;
} bedrock_size_t;

typedef struct {
    const char *id;              /* base id, e.g. "stability.sd3-5-large-v1:0" */
    const char *name;            /* "Stable Diffusion 3.5 Large" */
    bedrock_shape_t shape;
    bool sd3_mode;               /* send "mode": "text-to-image" */
    bool retired;                /* no longer served by Bedrock: refused at
                                    submit (engine_model_check) */
    size_t prompt_max;           /* code points */
    size_t negative_max;         /* code points; 0: no negative prompt */
    int64_t seed_max;            /* seeds are 0..seed_max */
    unsigned formats;            /* BEDROCK_FMT_* the model can return */
    /* Sized shapes (sdxl, titan) send width/height: the size whose aspect
     * is nearest the spec's.  NULL: any engine_size_for_aspect() size is
     * accepted (Nova Canvas); stability sends aspect_ratio instead. */
    const bedrock_size_t *sizes;
    size_t nsizes;
    double cfg_scale;            /* sdxl and titan only */
    int steps;                   /* sdxl only */
    double price_usd;            /* per image, list price */
    bool price_estimated;        /* true when the price is our estimate */
} bedrock_model_t;

/* Number of models in the table, and the i-th (0-based; NULL past the end). */
size_t bedrock_model_count(void);
const bedrock_model_t *bedrock_model_at(size_t i);

/* The model for id, which may carry an inference-profile prefix ("us.",
 * "eu.", "apac.", "global.").  NULL when unknown (borrowed; static). */
const bedrock_model_t *bedrock_model_lookup(const char *id);

/* The i-th inference-profile prefix lookup accepts ("us.", ...; 0-based;
 * NULL past the end; static). */
const char *bedrock_profile_prefix_at(size_t i);

/* Appends the known base ids to out, separated by ", " (for messages that
 * list what would have been accepted). */
err_code_t bedrock_model_list(buf_t *out);

/* Checks spec against m's limits: prompt and negative prompt length, output
 * format, aspect ratio, and an explicit seed within range.  ERR_INVALID with
 * a message starting with the field and naming the model
 * ("seed: 3000000000 is above the maximum 2147483646 of amazon.titan-..."). */
err_code_t bedrock_check_spec(const bedrock_model_t *m, const job_spec_t *spec,
                              err_t *err);

/* The seed to send: the spec's own (already checked), or the job-derived
 * seed of job_effective_seed() folded into 0..m->seed_max. */
int64_t bedrock_seed_for(const bedrock_model_t *m, const job_spec_t *spec,
                         const char *job_id);

/* The pixel size m generates for aspect: for sized models the allowed size
 * nearest in proportion (ties: closest to one megapixel), else
 * engine_size_for_aspect().  ERR_INVALID for an unknown aspect. */
err_code_t bedrock_size_for(const bedrock_model_t *m, const char *aspect,
                            bedrock_size_t *out);

/* Appends the InvokeModel JSON body for spec (checked) and seed to out:
 * compact, keys in a fixed order, so equal specs give equal bytes. */
err_code_t bedrock_request_body(const bedrock_model_t *m, const job_spec_t *spec,
                                int64_t seed, buf_t *out, err_t *err);

/* Turns a 2xx reply body into out->image, content_type, ext, width, height
 * and (when the reply names one) seed; want_format is the spec's
 * output_format ("png", "jpeg", "webp"; NULL or "": any).
 *
 * Takes over body: on return it is empty and its storage may have become
 * out->image, so the reply, its JSON and the image are never all in memory
 * at once.  out->seed is left alone when the reply has no seed.
 *
 * Returns ERR_FILTERED when the model's filter blocked the prompt or the
 * image (never with image bytes), ERR_PERMANENT for a model-side failure
 * ("Inference error", finishReason ERROR, a non-null Titan "error"), and
 * ERR_INVALID for a malformed reply: not JSON, missing or wrong-typed
 * fields, not exactly one image, bad base64, bytes that are not a PNG, JPEG
 * or WebP, or a format other than want_format.  Messages name the field. */
err_code_t bedrock_parse_reply(const bedrock_model_t *m, buf_t *body,
                               const char *want_format, engine_result_t *out,
                               err_t *err);

/* Refines an error from a non-2xx InvokeModel reply (err as filled by
 * http_error_from_aws): a 400 ValidationException whose message says a
 * content filter blocked the request becomes ERR_FILTERED (status and
 * service code kept).  A reply saying the model is gone (404
 * ResourceNotFoundException: end of life, or Legacy without access) becomes
 * ERR_PERMANENT with service code "model_retired" (never retried).
 * Returns err->code. */
err_code_t bedrock_refine_error(const bedrock_model_t *m, err_t *err);

/* True when text (a service message or finish reason) says a content filter
 * blocked the request or output. */
bool bedrock_is_filter_message(const char *text);

#endif
