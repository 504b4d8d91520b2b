/* ledger_dynamodb_internal — shared by ledger_dynamodb*.c only: the item
 * and index names, the ledger's struct, key builders, item parsing, the
 * parallel writer and the ops spread over the files. */
#ifndef ONESHEET_LEDGER_DYNAMODB_INTERNAL_H
#define ONESHEET_LEDGER_DYNAMODB_INTERNAL_H

#include "aws/ddb.h"
#include "ledger/ledger_dynamodb.h"

/* Item and index names shared by the ledger files and the table definition. */
#define DDB_BATCH_SK "batch"           /* sort key of a batch's own item */
#define DDB_JOB_SK_PREFIX "job#"       /* sort key of a job: "job#" JOB */
#define DDB_BATCH_LIST "all"           /* batch_list of every batch item */
#define DDB_INDEX_LINE "by_line"
#define DDB_INDEX_STATE "by_state"
#define DDB_INDEX_JOB "by_job"
#define DDB_INDEX_CREATED "by_created"
#define DDB_INDEX_OUTBOX "by_outbox"          /* webhook events due (sparse) */
/* Items over DynamoDB's 400 KB cap are refused before sending. */
#define DDB_MAX_SPEC ((size_t)380 * 1024)
/* Batch and job ids are keys: kept well under the 1 KB sort-key cap. */
#define DDB_MAX_ID 255

/* The job's key: pk = batch, sk = "job#" job. */
json_t *ddb_job_key(const char *batch, const char *job);

typedef struct {
    ledger_t base;
    aws_env_t *env;
    aws_client_t *c;
    char table[256];
    int64_t clock_offset_ms;
    int writers;
    struct ddb_hooks *hooks;   /* batches' webhook URLs (ledger_dynamodb_outbox.c) */
} ddb_ledger_t;

#define DDB(l) ((ddb_ledger_t *)(l))
/* The ops read err->service_code to tell a refused condition from a
 * failure, so a caller's NULL err is replaced by a local one. */
#define DDB_ERR_LOCAL(err) err_t err_local_; if (!(err)) (err) = &err_local_

/* True when t is a name DynamoDB accepts for a table. */
bool ddb_table_name_ok(const char *t);
/* The ledger's clock in unix ms (shifted by the test offset). */
int64_t ddb_now_ms(const ddb_ledger_t *d);
/* The job's sort key "job#JOB", and the sort keys of the indexes: line_key
 * "%010d#JOB", state_key "STATE#JOB", batch_key "%013lld#BATCH" (created
 * ms), written into out (cap bytes).  ERR_INVALID when it does not fit. */
err_code_t ddb_job_sk(const char *job, char *out, size_t cap, err_t *err);
err_code_t ddb_line_key(int line, const char *job, char *out, size_t cap, err_t *err);
err_code_t ddb_state_key(job_state_t s, const char *job, char *out, size_t cap,
                         err_t *err);
err_code_t ddb_batch_key(int64_t created_ms, const char *batch, char *out, size_t cap,
                         err_t *err);
/* Reads a job item into j (owned copies); ERR_INVALID naming the attribute
 * when the item is malformed. */
err_code_t ddb_job_from_item(const json_t *item, ledger_job_t *j, err_t *err);
/* Every item of partition pk whose sort key begins with sk_prefix, read
 * consistently, page after page, each handed to fn (ddb_query's).
 * ERR_NOMEM, or ddb_query's error. */
err_code_t ddb_query_prefix(ddb_ledger_t *d, const char *pk, const char *sk_prefix,
                            ddb_item_fn fn, void *ud, err_t *err);

/* Runs task(c, i, ud, err) for i in [0, n) on up to writers threads, each
 * with its own client (the ledger's own client when one thread does).  The
 * first error stops the others and is returned. */
typedef err_code_t (*ddb_task_fn)(aws_client_t *c, size_t i, void *ud, err_t *err);
err_code_t ddb_parallel(ddb_ledger_t *d, size_t n, ddb_task_fn task, void *ud,
                        err_t *err);

/* The ops, spread over ledger_dynamodb.c (conditional job writes),
 * ledger_dynamodb_batch.c (batch writes) and ledger_dynamodb_read.c. */
err_code_t ddb_add_batch(ledger_t *l, const char *batch_id, const char *source,
                         const ledger_new_job_t *jobs, size_t n, bool *created,
                         size_t *added, err_t *err);
err_code_t ddb_pending_enqueue(ledger_t *l, const char *batch_id, char ***ids,
                               int **runs, size_t *n, err_t *err);
err_code_t ddb_mark_enqueued(ledger_t *l, const char *batch_id,
                             const char *const *job_ids, size_t n, err_t *err);
err_code_t ddb_cancel(ledger_t *l, const char *batch_id, const char *job_id, size_t *n,
                      err_t *err);
err_code_t ddb_get_jobs(ledger_t *l, const char *batch_id, const char *job_id,
                        ledger_job_t **out, size_t *n, err_t *err);
err_code_t ddb_get_batch(ledger_t *l, const char *batch_id, ledger_batch_t *out,
                         err_t *err);
err_code_t ddb_list(ledger_t *l, const ledger_filter_t *f, ledger_job_t **out,
                    size_t *n, err_t *err);
err_code_t ddb_list_batches(ledger_t *l, size_t limit, ledger_batch_t **out,
                            size_t *n, err_t *err);
/* Campaign spend (ledger_dynamodb_spend.c): see ledger_ops_t.spend_add and
 * spend_get. */
err_code_t ddb_spend_add(ledger_t *l, const ledger_spend_t *s, bool *added,
                         double *month_total, err_t *err);
err_code_t ddb_spend_get(ledger_t *l, const char *campaign, const char *month, double *usd,
                         err_t *err);
/* Retry (ledger_dynamodb_retry.c): see ledger_ops_t.retry. */
err_code_t ddb_retry(ledger_t *l, const char *batch_id, const char *job_id,
                     unsigned states, size_t *n, err_t *err);
/* The run recorded in item (1 when absent, as items written before runs
 * existed have none). */
int ddb_item_run(const json_t *item);
/* Reads item's "history" list into j->history; ERR_INVALID naming the
 * attribute when it is malformed. */
err_code_t ddb_history_from_item(const json_t *item, ledger_job_t *j, err_t *err);
/* Adds to x, for a message of run `run`, the names and values of the
 * condition that the job is at that run, and returns that condition
 * (absent counts as 1). */
const char *ddb_run_cond(ddb_expr_t *x, int run);

/* The worker registry (ledger_dynamodb_workers.c): see ledger_ops_t's
 * worker_beat, worker_leave and workers_list. */
err_code_t ddb_worker_beat(ledger_t *l, const ledger_worker_t *w, err_t *err);
err_code_t ddb_worker_leave(ledger_t *l, const char *id, err_t *err);
err_code_t ddb_workers_list(ledger_t *l, int64_t now_ms, ledger_worker_t **out, size_t *n,
                            err_t *err);
/* Shared quota buckets (ledger_dynamodb_quota.c): see ledger_ops_t's
 * quota_get, quota_put and quota_list. */
err_code_t ddb_quota_get(ledger_t *l, const char *key, ledger_quota_t *out, err_t *err);
err_code_t ddb_quota_put(ledger_t *l, const char *key, int64_t version, const char *state,
                         int64_t now_ms, err_t *err);
err_code_t ddb_quota_list(ledger_t *l, ledger_quota_t **out, size_t *n, err_t *err);
/* The conditional cancel of one job: ERR_CONFLICT (condition failed) when
 * it is no longer queued or running.  hook: the batch's webhook URL, whose
 * job.cancelled event the same write records (NULL: none). */
err_code_t ddb_cancel_one(aws_client_t *c, ddb_ledger_t *d, const char *batch,
                          const char *job, const char *hook, err_t *err);

/* Webhooks (ledger_dynamodb_outbox.c): see ledger_ops_t's webhook block. */
err_code_t ddb_set_batch_webhook(ledger_t *l, const char *batch_id, const char *url,
                                 err_t *err);
err_code_t ddb_outbox_take(ledger_t *l, int64_t now_ms, int64_t lease_ms, size_t max,
                           ledger_event_t **out, size_t *n, err_t *err);
err_code_t ddb_outbox_record(ledger_t *l, const ledger_event_t *ev, int64_t due_ms,
                             long status, const char *error, err_t *err);
err_code_t ddb_outbox_summary(ledger_t *l, const char *batch_id,
                              ledger_outbox_summary_t *out, err_t *err);
/* batch's webhook URL into *url (borrowed from d's cache until the next
 * call; NULL when the batch has none), read with c on a miss. */
err_code_t ddb_batch_webhook(ddb_ledger_t *d, aws_client_t *c, const char *batch,
                             const char **url, err_t *err);
/* Adds to x (an update moving a job to terminal state st at now) the
 * job's event for url: its attributes and the by_outbox keys. */
err_code_t ddb_event_set(ddb_expr_t *x, const char *url, job_state_t st, int64_t now,
                         err_t *err);
/* Frees d's cache of webhook URLs. */
void ddb_outbox_free(ddb_ledger_t *d);

/* Review marks and lineage (ledger_dynamodb_review.c): see ledger_ops_t's
 * review, reviews and link. */
err_code_t ddb_review(ledger_t *l, const char *batch_id, const char *job_id, const char *mark,
                      const char *by, int64_t at_ms, err_t *err);
err_code_t ddb_reviews(ledger_t *l, const char *batch_id, const char *job_id,
                       ledger_review_t **out, size_t *n, err_t *err);
err_code_t ddb_link(ledger_t *l, const char *from_batch, const char *from_job,
                    const char *to_batch, const char *to_job, err_t *err);

#endif
