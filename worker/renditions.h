/* renditions — the worker's side of issue 20's renditions: a job whose
 * spec lists several aspect ratios gets one poster per ratio from its one
 * generation.  The first rendition is the job's poster (BATCH/JOB.png,
 * stored, hashed and recorded as any poster); the others are composed one
 * at a time, each put at BATCH/JOB.AxB.png with its checksum before the job
 * is recorded succeeded, so a job the ledger calls succeeded has all of
 * them, and a redelivered job puts the same bytes again (a no-op put). */
#ifndef ONESHEET_WORKER_RENDITIONS_H
#define ONESHEET_WORKER_RENDITIONS_H

#include "worker.h"

/* Composes the first rendition of s's job into out (appends) as its
 * poster: *type and *ext get "image/png" and "png", lay the layout.
 * ERR_NOTFOUND (nothing done) when the spec lists no renditions; otherwise
 * reframe_for_job()'s errors, with e set. */
err_code_t worker_renditions_first(worker_thread_t *t, slot_t *s, buf_t *out,
                                   const char **type, const char **ext,
                                   poster_layout_t *lay, err_t *e);

/* Composes and stores every rendition of s's job after the first, in
 * order.  ERR_OK (also when there are none), or the first error of a
 * compose or a put, with e set. */
err_code_t worker_renditions_store(worker_thread_t *t, slot_t *s, err_t *e);

#endif
