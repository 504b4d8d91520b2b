/* bedrock_catalog — what Bedrock itself says about its image models (issue
 * 23): the ListFoundationModels reply (GET /foundation-models?
 * byOutputModality=IMAGE on the control plane, bedrock.REGION.amazonaws.com,
 * signing name "bedrock"), each model's lifecycle (ACTIVE or LEGACY, with
 * legacyTime, publicExtendedAccessTime and endOfLifeTime) and, optionally,
 * whether this account may call it (GetFoundationModelAvailability).
 *
 * bedrock_catalog.c parses the reply and judges a model against it;
 * bedrock_catalog_fetch.c calls the control plane and keeps the reply in a
 * cache file in the state directory.  A model past its end of life is no
 * longer listed: an unlisted model is one Bedrock will not serve here.
 *
 * The compiled table (bedrock_models.c) stays the source of request shapes,
 * sizes, seed ranges and prices; this is the source of what is live. */
#ifndef ONESHEET_BEDROCK_CATALOG_H
#define ONESHEET_BEDROCK_CATALOG_H

#include "base/buf.h"
#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest ListFoundationModels reply accepted (the real one is ~100 KB). */
#define BEDROCK_CATALOG_MAX_REPLY ((size_t)4 * 1024 * 1024)
/* Most summaries accepted in one reply (the real list has about 100). */
#define BEDROCK_CATALOG_MAX_MODELS 2000

typedef enum {
    BEDROCK_LIFE_ACTIVE,
    BEDROCK_LIFE_LEGACY,
} bedrock_life_t;

/* Whether the account may call a model (GetFoundationModelAvailability). */
typedef enum {
    BEDROCK_ACCESS_UNKNOWN,
    BEDROCK_ACCESS_YES,
    BEDROCK_ACCESS_NO,
} bedrock_access_t;

typedef struct {
    char *id;                    /* base model id, as listed */
    char *name;                  /* modelName (may be "") */
    char *provider;              /* providerName (may be "") */
    bedrock_life_t status;
    int64_t start_time;          /* unix seconds; 0: not given */
    int64_t legacy_time;
    int64_t extended_time;       /* publicExtendedAccessTime */
    int64_t eol_time;            /* endOfLifeTime */
    bedrock_access_t access;
} bedrock_listed_t;

typedef struct bedrock_catalog_s {
    bedrock_listed_t *models;
    size_t n;
    int64_t fetched_at;          /* unix seconds the list was fetched */
    /* True when the list could not be had (no network, 403, a bad reply)
     * and the compiled table stands in; why says what happened (one line,
     * no secrets).  stale: the list is a cache older than asked for. */
    bool fallback;
    bool stale;
    char why[320];
} bedrock_catalog_t;

/* Zeroes c (an empty, non-fallback catalog). */
void bedrock_catalog_init(bedrock_catalog_t *c);
/* Frees c's models and zeroes it.  NULL is fine. */
void bedrock_catalog_free(bedrock_catalog_t *c);

/* Parses a ListFoundationModels reply (len bytes of text) into out, which
 * must be initialised; its previous models are freed first.  Timestamps may
 * be numbers (epoch seconds, the REST-JSON wire form) or ISO 8601 strings
 * ("2026-03-01T00:00:00Z", as the CLI prints them).  Models whose
 * outputModalities do not include IMAGE are skipped.
 *
 * ERR_INVALID (out left empty) for anything else: not JSON (the message
 * says where it stopped, e.g. a truncated reply), no modelSummaries array,
 * a summary without a string modelId, a status other than ACTIVE or LEGACY,
 * a timestamp that does not parse, a model listed twice, more than
 * BEDROCK_CATALOG_MAX_MODELS summaries; the message names the field and the
 * model ("modelSummaries[3].modelLifecycle.status: unknown \"RETIRING\" for
 * stability.x").  ERR_TOOBIG over BEDROCK_CATALOG_MAX_REPLY. */
err_code_t bedrock_catalog_parse(const char *text, size_t len, bedrock_catalog_t *out,
                                 err_t *err);

/* Parses an ISO 8601 UTC time ("YYYY-MM-DDTHH:MM:SS[.fff](Z|+00:00)") into
 * unix seconds.  false when it does not parse. */
bool bedrock_catalog_parse_time(const char *s, int64_t *out);

/* The listed model for id, which may carry an inference-profile prefix
 * (us., eu., apac., global.: resolved to the base model).  NULL when not
 * listed.  Borrowed from c. */
const bedrock_listed_t *bedrock_catalog_find(const bedrock_catalog_t *c, const char *id);

/* The base id of id: id without an inference-profile prefix (borrowed from
 * id). */
const char *bedrock_catalog_base_id(const char *id);

/* "2027-01-31" (UTC) for t into out (cap >= 11); "?" for 0. */
const char *bedrock_catalog_date(int64_t t, char *out, size_t cap);

/* Judges model (a Bedrock id; "draft" and the empty default are always
 * fine) against c at time now:
 *   - c->fallback: ERR_OK, nothing said (the compiled table decides);
 *   - listed ACTIVE: ERR_OK;
 *   - listed LEGACY: ERR_OK with a one-line warning appended to warning
 *     (when not NULL) containing "legacy", the end-of-life date and, when
 *     publicExtendedAccessTime has passed, that prices are higher;
 *   - not listed: ERR_INVALID naming the model, why (not offered in this
 *     region: past its end of life, or never here) and the nearest active
 *     model onesheet can drive (copied to nearest when given).
 * Only binaries print: the caller shows the warning. */
err_code_t bedrock_catalog_check(const bedrock_catalog_t *c, const char *model, int64_t now,
                                 buf_t *warning, char *nearest, size_t cap, err_t *err);

#endif
