/* api_ui_internal — what the dashboard's files share (api_ui.c, api_ui_batch.c,
 * api_ui_cache.c); not for other modules. */
#ifndef ONESHEET_API_UI_INTERNAL_H
#define ONESHEET_API_UI_INTERNAL_H

#include "api/api_internal.h"
#include "jobs/job.h"

#include <stdatomic.h>
#include <stdio.h>

#define API_UI_FRESH_MS 1000  /* a batch is read from the ledger at most this often */
#define API_UI_PAGE_MAX 500   /* jobs in one page of a batch */

/* One batch as the dashboard last read it.  Owned by the cache; borrow
 * with api_ui_snap_get, give back with api_ui_snap_release. */
typedef struct {
    char batch_id[JOB_ID_MAX + 1];
    char *source;
    int64_t created_ms, at_ms;       /* at_ms: when it was read */
    ledger_job_t *jobs;              /* ordered by line */
    size_t n;
    int64_t by_state[JOB__NSTATES];
    double spend_usd;                /* cost of the succeeded jobs */
    int64_t last_finished_ms, done_5min;
    int refs;
} api_ui_snap_t;

/* The batch's snapshot, read anew when older than API_UI_FRESH_MS (one
 * ledger query; two the first time).  *out: borrowed until
 * api_ui_snap_release.  When a new read fails for a passing reason (busy,
 * unreachable) the last one is given (its at_ms says how old); otherwise
 * the ledger's error (ERR_NOTFOUND: no batch). */
err_code_t api_ui_snap_get(struct api_ui_cache *c, ledger_t *l, const char *batch_id,
                           int64_t now, api_ui_snap_t **out, err_t *err);
void api_ui_snap_release(struct api_ui_cache *c, api_ui_snap_t *s);
/* Ledger queries the dashboard has made so far (for the bench and tests),
 * and counting ones made outside the snapshots. */
long long api_ui_cache_queries(struct api_ui_cache *c);
void api_ui_cache_count(struct api_ui_cache *c, long long n);

/* api_ui_batch.c: GET /ui/api/batches/{id} (a page of the snapshot, with
 * the batch's figures and failures grouped) and GET /ui/api/overview. */
void api_ui_batch_json(api_t *a, const api_request_t *req, const char *id,
                       api_response_t *resp);
void api_ui_overview_json(api_t *a, const api_request_t *req, api_response_t *resp);
/* RFC 3339 UTC of unix ms, or null for 0 (new reference). */
json_t *api_ui_time(int64_t ms);
/* A signed (file store) or presigned (S3) URL for key; NULL when none. */
char *api_ui_url(api_t *a, api_backends_t *be, const api_request_t *req, const char *key);

#endif
