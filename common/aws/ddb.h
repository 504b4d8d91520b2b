/* ddb — DynamoDB for the ledger: AttributeValue marshalling with strict type
 * checks, expression building, paginated queries, the table definition, and
 * the DynamoDB ledger's entry points (ledger_dynamodb*.c).
 *
 * The table layout is described in schema/dynamodb/README.md; the
 * definition (schema/dynamodb/table.json) is embedded here so that
 * `onesheet init` creates exactly what the ledger queries.
 *
 * Reply parsing never trusts the server: every attribute read checks its
 * type and is ERR_INVALID naming the attribute when it is wrong. */
#ifndef ONESHEET_DDB_H
#define ONESHEET_DDB_H

#include "aws/aws.h"
#include "base/buf.h"
#include "base/err.h"
#include "ledger/ledger.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- The DynamoDB ledger ("dynamodb:TABLE") ---- */

/* Opens the ledger kept in table through env (borrowed; must outlive the
 * ledger).  Makes no request: a missing table shows up on first use as
 * ERR_CONFIG suggesting `onesheet init`.  ERR_CONFIG for a table name
 * DynamoDB would refuse (3..255 of [A-Za-z0-9_.-]).  Returns a new ledger
 * (ledger_close frees it) or NULL with err set. */
ledger_t *ledger_dynamodb_open(aws_env_t *env, const char *table, err_t *err);

/* Makes sure table exists with the ledger's layout: DescribeTable; when
 * missing, CreateTable from the embedded definition (PAY_PER_REQUEST), then
 * waits until the table and its indexes are ACTIVE (at most
 * DDB_ENSURE_WAIT_S seconds).  An existing table lacking one of the
 * ledger's indexes is ERR_CONFIG naming it.  report (cap bytes) receives one
 * line saying what was done ("created table T ...", "table T exists ...");
 * report may be NULL.  Safe to run again, and alongside another ensure. */
err_code_t ledger_dynamodb_ensure(aws_env_t *env, const char *table, char *report,
                                  size_t cap, err_t *err);

/* The CreateTable input for table: schema/dynamodb/table.json with its
 * TableName replaced.  New reference (caller decrefs); NULL on ERR_NOMEM. */
json_t *ledger_dynamodb_table_definition(const char *table);

/* Tests: shifts the clock this ledger reads (leases, timestamps) by
 * offset_ms, as sqlite_util_set_clock_offset_ms does for SQLite.  Returns
 * ERR_INVALID when l is not a DynamoDB ledger. */
err_code_t ledger_dynamodb_set_clock_offset_ms(ledger_t *l, int64_t offset_ms);

/* Tests and tuning: how many conditional writes add_batch, mark_enqueued and
 * cancel keep in flight (threads, each with its own connection); 1..64,
 * default DDB_WRITERS. */
err_code_t ledger_dynamodb_set_writers(ledger_t *l, int writers);

#define DDB_WRITERS 16
#define DDB_ENSURE_WAIT_S 300
#define DDB_TARGET "DynamoDB_20120810."

/* Item and index names shared by the ledger files and the table definition. */
#define DDB_BATCH_SK "batch"           /* sort key of a batch's own item */
#define DDB_JOB_SK_PREFIX "job#"       /* sort key of a job: "job#" JOB */
#define DDB_BATCH_LIST "all"           /* batch_list of every batch item */
#define DDB_INDEX_LINE "by_line"
#define DDB_INDEX_STATE "by_state"
#define DDB_INDEX_JOB "by_job"
#define DDB_INDEX_CREATED "by_created"
/* Items over DynamoDB's 400 KB cap are refused before sending. */
#define DDB_MAX_SPEC ((size_t)380 * 1024)
/* Batch and job ids are keys: kept well under the 1 KB sort-key cap. */
#define DDB_MAX_ID 255

/* ---- Calls ---- */

/* Calls DynamoDB operation op ("GetItem", ...) with body, which is stolen
 * (decref'd in every case; NULL is ERR_NOMEM).  On success *reply is the
 * reply object (caller decrefs).  ResourceNotFoundException becomes
 * ERR_CONFIG naming table and suggesting `onesheet init` (service_code is
 * kept, so callers can still tell it apart). */
err_code_t ddb_call(aws_client_t *c, const char *table, const char *op, json_t *body,
                    json_t **reply, err_t *err);

/* True when err is DynamoDB's "the condition did not hold" answer. */
bool ddb_is_condition_failed(const err_t *err);

/* Called for each item of a query page; set *stop to end early. */
typedef err_code_t (*ddb_item_fn)(const json_t *item, void *ud, bool *stop,
                                  err_t *err);

/* Runs the Query in req (borrowed; an ExclusiveStartKey in it says where to
 * start, and is replaced as pages go by and removed at the end) to the end
 * or until fn stops it, calling fn (may be NULL) per item.  *count (may be
 * NULL) receives the sum of the pages' Count.  A reply whose Items is not an
 * array of objects, whose Count is missing, or whose LastEvaluatedKey does
 * not move on is ERR_INVALID. */
err_code_t ddb_query(aws_client_t *c, const char *table, json_t *req, ddb_item_fn fn,
                     void *ud, int64_t *count, err_t *err);

/* ---- AttributeValues (new references; NULL on ERR_NOMEM or a NULL s) ---- */

json_t *ddb_s(const char *s);
json_t *ddb_n(int64_t v);
json_t *ddb_d(double v);
/* {"pk": {"S": pk}, "sk": {"S": sk}} */
json_t *ddb_key(const char *pk, const char *sk);
/* The job's key: pk = batch, sk = "job#" job. */
json_t *ddb_job_key(const char *batch, const char *job);

/* Typed reads of item[name].  A missing attribute (or {"NULL": true}) is
 * ERR_INVALID when required, else leaves the default (NULL / 0).  A wrong
 * type or an unparsable number is ERR_INVALID naming the attribute. */
err_code_t ddb_get_s(const json_t *item, const char *name, bool required,
                     const char **out, err_t *err);          /* borrowed */
err_code_t ddb_dup_s(const json_t *item, const char *name, bool required,
                     char **out, err_t *err);                /* new string */
err_code_t ddb_get_n(const json_t *item, const char *name, bool required,
                     int64_t *out, err_t *err);
err_code_t ddb_get_d(const json_t *item, const char *name, bool required,
                     double *out, err_t *err);

/* ---- Expressions ---- */

/* An update/condition expression under construction.  Attribute names are
 * always referenced as "#name" (DynamoDB reserves hundreds of words, state
 * and url among them); values as ":placeholder".  DynamoDB refuses names
 * and values an expression does not use, so only what is referenced is
 * sent. */
typedef struct {
    json_t *names, *values;
    buf_t set, add, remove;
    bool oom;
} ddb_expr_t;

void ddb_expr_init(ddb_expr_t *x);
void ddb_expr_free(ddb_expr_t *x);
/* Declares "#name" for use in a condition or key expression. */
void ddb_expr_name(ddb_expr_t *x, const char *name);
/* Declares placeholder (":x") with value v (stolen). */
void ddb_expr_value(ddb_expr_t *x, const char *placeholder, json_t *v);
/* SET #name = :name with v (stolen); v NULL means REMOVE #name, which is
 * how absent values are stored. */
void ddb_expr_set(ddb_expr_t *x, const char *name, json_t *v);
/* ADD #name :name (a number). */
void ddb_expr_add(ddb_expr_t *x, const char *name, int64_t v);
/* Writes UpdateExpression (when anything was set, added or removed),
 * ConditionExpression or KeyConditionExpression (cond_key names which; cond
 * may be NULL) and the names and values into req.  ERR_NOMEM when any step
 * ran out of memory. */
err_code_t ddb_expr_finish(ddb_expr_t *x, json_t *req, const char *cond_key,
                           const char *cond, err_t *err);

/* ---- Shared by ledger_dynamodb*.c ---- */

typedef struct {
    ledger_t base;
    aws_env_t *env;
    aws_client_t *c;
    char table[256];
    int64_t clock_offset_ms;
    int writers;
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
/* A consistent GetItem of key (stolen; NULL is ERR_NOMEM): *item is the
 * item (caller decrefs) or NULL when there is none.  A reply whose Item is
 * not an object is ERR_INVALID. */
err_code_t ddb_get_item(aws_client_t *c, const char *table, json_t *key,
                        json_t **item, err_t *err);
/* Reads a job item into j (owned copies); ERR_INVALID naming the attribute
 * when the item is malformed. */
err_code_t ddb_job_from_item(const json_t *item, ledger_job_t *j, err_t *err);

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
                               size_t *n, err_t *err);
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
/* The conditional cancel of one job: ERR_CONFLICT (condition failed) when
 * it is no longer queued or running. */
err_code_t ddb_cancel_one(aws_client_t *c, ddb_ledger_t *d, const char *batch,
                          const char *job, err_t *err);

#endif
