/* standin_control — the Bedrock control plane in the stand-in
 * (tests/tools/bedrock_standin.c), issue 23: ListFoundationModels and
 * GetFoundationModelAvailability in the shapes of the AWS API reference,
 * with switches that make a model Legacy, remove it (end of life: unlisted,
 * and InvokeModel answers 404 ResourceNotFoundException "This model version
 * has reached the end of its life"), deny access to it, or spoil the list.
 *
 *   GET  /foundation-models?byOutputModality=IMAGE
 *        {"modelSummaries":[{"modelArn","modelId","modelName","providerName",
 *         "inputModalities","outputModalities","responseStreamingSupported",
 *         "customizationsSupported","inferenceTypesSupported",
 *         "modelLifecycle":{"status","startOfLifeTime","legacyTime",
 *         "publicExtendedAccessTime","endOfLifeTime"}}]}
 *        timestamps as epoch seconds (the REST-JSON wire form).  Listed: the
 *        compiled table's current models, plus any model made Legacy.
 *   GET  /foundation-model-availability/{modelId}
 *        {"modelId","agreementAvailability":{"status"},"authorizationStatus",
 *         "entitlementAvailability","regionAvailability"}
 *   POST /__standin/lifecycle  {"legacy":[SPEC],"remove":[ID],"deny":[ID],
 *        "list":MODE,"reset":true}: the switches at run time.
 *
 * SPEC is ID or ID=LEGACY,EXTENDED,EOL where each is YYYY-MM-DD or +Nd/-Nd
 * from now (default -30d,-1d,+90d: extended access has begun).  MODE: ok,
 * 403 (AccessDeniedException), 500, garbage (not JSON), truncated (the
 * reply cut in half), badstatus (status "RETIRING"), baddate (a date that
 * does not parse). */
#ifndef ONESHEET_STANDIN_CONTROL_H
#define ONESHEET_STANDIN_CONTROL_H

#include "fakeserver.h"

#include <stdbool.h>

typedef struct standin_control standin_control_t;

/* A control plane with nothing switched; NULL when out of memory. */
standin_control_t *standin_control_new(void);
void standin_control_free(standin_control_t *c);

/* The switches; false (nothing changed) for a bad SPEC, MODE or a full
 * table (16 models each). */
bool standin_control_legacy(standin_control_t *c, const char *spec);
bool standin_control_remove(standin_control_t *c, const char *id);
bool standin_control_deny(standin_control_t *c, const char *id);
bool standin_control_list_mode(standin_control_t *c, const char *mode);

/* Whether id (an inference-profile prefix allowed) was removed. */
bool standin_control_removed(standin_control_t *c, const char *id);

/* Answers req when it is for the control plane (a GET of the two routes
 * above, the caller having checked the signature) and returns true; false
 * leaves resp alone. */
bool standin_control_handle(standin_control_t *c, const fake_request_t *req,
                            fake_response_t *resp);

/* Applies a POST /__standin/lifecycle body; false with resp a 400 when it
 * is not understood. */
bool standin_control_post(standin_control_t *c, const fake_request_t *req,
                          fake_response_t *resp);

#endif
