/* quota — the worker's side of the shared Bedrock quota (--quota-rpm,
 * config quota_rpm and quota_rpm.MODEL; issue 21): one jobs/quota_shared.h
 * client per served model that has a quota, all on one ledger connection
 * of their own.  worker.h does not include this header (the clients' state
 * is a member of worker_t); the files that use the quota do. */
#ifndef ONESHEET_WORKER_QUOTA_H
#define ONESHEET_WORKER_QUOTA_H

#include "jobs/quota_shared.h"

#include <stddef.h>

typedef struct worker worker_t;

/* The clients live in worker_t.quota (worker.h). */

/* Opens a client for every model of w->models (but draft) that has a quota,
 * after the configuration is settled.  Returns 0, or -1 with err set: the
 * ledger cannot be opened or keeps no quota (ERR_CONFIG), too many models. */
int worker_quota_open(worker_t *w, err_t *err);

/* The client for a job of model (NULL: the worker's default model), or NULL
 * when it has no shared quota. */
quota_shared_t *worker_quota_for(worker_t *w, const char *model);

/* The worker has no job waiting to start: every client settles its grant
 * (quota_shared_settle), so what was spent from it is not handed back when
 * its lease ends.  Cheap when there is nothing to settle. */
void worker_quota_idle(worker_t *w);

/* The shared rate q last saw, calls a minute (0 for NULL), for logs. */
double worker_quota_rpm(quota_shared_t *q);

/* Hands back what the clients hold and closes them (safe when never
 * opened). */
void worker_quota_close(worker_t *w);

/* Appends the quota's Prometheus lines to out[*len .. cap). */
void worker_quota_metrics(worker_t *w, char *out, size_t cap, size_t *len);

#endif
