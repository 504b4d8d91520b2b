/* store_renditions — where a finished job's renditions (issue 20) are, as
 * the JSON that `status JOB --json`, the manifest, the gallery and the
 * API's GET /jobs/{id} show:
 *
 *   "renditions": [{"ratio": "2:3", "key": "BATCH/JOB.png", "url": "...",
 *                   "width": 832, "height": 1248},
 *                  {"ratio": "16:9", "key": "BATCH/JOB.16x9.png", ...}]
 *
 * Everything is derived from the job's spec (rendition.h gives the keys
 * and sizes), so the ledger records nothing new for them. */
#ifndef ONESHEET_STORE_RENDITIONS_H
#define ONESHEET_STORE_RENDITIONS_H

#include "store/store.h"

#include <jansson.h>

/* The renditions of job job_id of batch batch_id whose canonical spec is
 * spec_json, as a new JSON array (caller decrefs); NULL when the spec
 * lists none or does not parse, or out of memory.  Each url is fresh from
 * st (store_url(), ttl_s seconds) when st is not NULL and that works; the
 * first rendition's falls back to first_url (may be NULL), the others'
 * are left out. */
json_t *store_renditions_json(store_t *st, const char *batch_id, const char *job_id,
                              const char *spec_json, const char *first_url, long ttl_s);

#endif
