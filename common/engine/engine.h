/* engine — turns a job spec into image bytes.
 *
 * Back-ends: engine_draft.c ("draft": a local, deterministic proof renderer
 * with cairo + pango, clearly labelled DRAFT) and engine_bedrock.c (Amazon
 * Bedrock Stability models).  An engine_t is used by one thread at a time. */
#ifndef ONESHEET_ENGINE_H
#define ONESHEET_ENGINE_H

#include "base/err.h"
#include "jobs/job.h"
#include "poster/art.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct engine engine_t;

typedef struct {
    /* Generates the image for spec (normalised) of job job_id.  Returns
     * ERR_OK with out filled; ERR_FILTERED when the model's content filter
     * blocked it (a terminal state, not a failure to retry); any other code
     * with err set (err_is_retryable() decides whether to try again). */
    err_code_t (*generate)(engine_t *e, const job_spec_t *spec,
                           const char *job_id, engine_result_t *out, err_t *err);
    void (*close)(engine_t *e);
    /* Optional (NULL for engines that work locally, like draft): one
     * generation as a libcurl transfer driven by the caller's multi handle,
     * so many can wait on the network without a thread each.  start() sets
     * it up and gives the CURL easy handle to add in *handle; spec and
     * job_id may go once start() returns.  When the multi handle reports the
     * transfer done with curl_code, the caller removes the handle and calls
     * finish(), which returns what generate() would for this one attempt,
     * without retrying (err_is_retryable() tells the caller whether to).
     * One call in flight per engine. */
    err_code_t (*start)(engine_t *e, const job_spec_t *spec, const char *job_id,
                        void **handle, err_t *err);
    err_code_t (*finish)(engine_t *e, int curl_code, engine_result_t *out, err_t *err);
    /* Optional (NULL: the engine hashes nothing as it goes): whether the
     * results to come carry a SHA-256 (sha_known, sha256, sha_head) worked
     * out while the image arrived.  Engines that stream always give the
     * CRC-64/NVME; the SHA-256 is for stores told `checksum = sha256`. */
    void (*want_sha256)(engine_t *e, bool on);
} engine_ops_t;

struct engine {
    const engine_ops_t *ops;
};

/* Opens the engine for model ("draft" or a Bedrock model id) through the
 * back-end table (engine_backends.c).  NULL with err set (ERR_CONFIG for
 * an unknown model, listing the known ones). */
engine_t *engine_open(const char *model, err_t *err);

/* One wrapper per operation; callers never touch ops.  Each does what the
 * engine_ops_t member of the same name says above. */
static inline err_code_t engine_generate(engine_t *e, const job_spec_t *spec,
                                         const char *job_id, engine_result_t *out,
                                         err_t *err)
{ return e->ops->generate(e, spec, job_id, out, err); }
/* Whether the engine runs as a transfer on the caller's multi handle
 * (engine_start/engine_finish); false for local engines such as draft. */
static inline bool engine_is_async(const engine_t *e) { return e->ops->start != NULL; }
/* Only when engine_is_async(e): *handle gets the CURL easy handle to add. */
static inline err_code_t engine_start(engine_t *e, const job_spec_t *spec,
                                      const char *job_id, void **handle, err_t *err)
{ return e->ops->start(e, spec, job_id, handle, err); }
/* After the transfer engine_start() gave ended with curl_code. */
static inline err_code_t engine_finish(engine_t *e, int curl_code,
                                       engine_result_t *out, err_t *err)
{ return e->ops->finish(e, curl_code, out, err); }
/* See engine_ops_t.want_sha256; a no-op for engines without it. */
static inline void engine_want_sha256(engine_t *e, bool on)
{ if (e->ops->want_sha256) e->ops->want_sha256(e, on); }
/* Closes the engine; NULL is fine. */
static inline void engine_close(engine_t *e) { if (e) e->ops->close(e); }

/* Pixel size for an aspect ratio ("2:3" → 832x1248 at about one megapixel,
 * both multiples of 32).  ERR_INVALID for an unknown ratio. */
err_code_t engine_size_for_aspect(const char *aspect, int *w, int *h);

#endif
