/* engine_bedrock — the engine that asks Amazon Bedrock for the image:
 * InvokeModel (POST {endpoint}/model/{modelId}/invoke, SigV4 service
 * "bedrock") through the shared AWS client (aws.h: signing, retries with
 * backoff, error mapping).  The model table, request bodies and reply
 * parsing are in bedrock_models.c.
 *
 * A spec is checked against the model's limits before any call, so an
 * impossible job fails without a paid request.  A job whose spec names
 * another known Bedrock model is sent to that model; one naming the
 * engine's own model (with any prefix) goes to the engine's id. */
#ifndef ONESHEET_ENGINE_BEDROCK_H
#define ONESHEET_ENGINE_BEDROCK_H

#include "aws/aws.h"
#include "engine/engine.h"

#include <stddef.h>

#define ENGINE_BEDROCK_TIMEOUT_MS 120000L           /* image models are slow */
#define ENGINE_BEDROCK_MAX_REPLY ((size_t)32 << 20) /* base64 of a big image */

typedef struct {
    aws_env_t *env;        /* borrowed; NULL: aws_env_default() */
    long timeout_ms;       /* per attempt; 0: ENGINE_BEDROCK_TIMEOUT_MS */
    size_t max_reply;      /* 0: ENGINE_BEDROCK_MAX_REPLY */
} engine_bedrock_options_t;

/* Opens the Bedrock engine for model (a base id or an inference-profile id
 * such as "us.stability.sd3-5-large-v1:0") with the process-wide AWS
 * environment.  ERR_CONFIG naming the model and the known ones when it is
 * not in the table, or when the environment has no region.  Returns a new
 * engine the caller closes with engine_close(), or NULL with err set. */
engine_t *engine_bedrock_open(const char *model, err_t *err);

/* As engine_bedrock_open() with options (tests: an env pointing at a
 * loopback stand-in, short timeouts).  o may be NULL. */
engine_t *engine_bedrock_open_with(const char *model,
                                   const engine_bedrock_options_t *o, err_t *err);

#endif
