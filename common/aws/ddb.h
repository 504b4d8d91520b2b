/* ddb — a plain DynamoDB client: AttributeValue marshalling with strict type
 * checks, expression building, GetItem and paginated queries.  It knows no
 * table layout; the DynamoDB ledger (ledger/ledger_dynamodb*.c) is built on
 * it.
 *
 * Reply parsing never trusts the server: every attribute read checks its
 * type and is ERR_INVALID naming the attribute when it is wrong. */
#ifndef ONESHEET_DDB_H
#define ONESHEET_DDB_H

#include "aws/aws.h"
#include "base/buf.h"
#include "base/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DDB_TARGET "DynamoDB_20120810."

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
/* A double as a DynamoDB number: the shortest decimal that reads back as
 * the same double ("0.08", not "0.080000000000000002"); infinities and NaN
 * are 0. */
json_t *ddb_d(double v);
/* The text ddb_d() stores for v, into out (cap >= 32). */
void ddb_d_format(double v, char *out, size_t cap);
/* {"pk": {"S": pk}, "sk": {"S": sk}} */
json_t *ddb_key(const char *pk, const char *sk);

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
/* SET #name = list_append(if_not_exists(#name, []), :name): appends the
 * elements of list (an {"L": [...]} AttributeValue, stolen) to the list
 * attribute name, creating it when absent. */
void ddb_expr_append(ddb_expr_t *x, const char *name, json_t *list);
/* ADD #name :name (a number). */
void ddb_expr_add(ddb_expr_t *x, const char *name, int64_t v);
/* Writes UpdateExpression (when anything was set, added or removed),
 * ConditionExpression or KeyConditionExpression (cond_key names which; cond
 * may be NULL) and the names and values into req.  ERR_NOMEM when any step
 * ran out of memory. */
err_code_t ddb_expr_finish(ddb_expr_t *x, json_t *req, const char *cond_key,
                           const char *cond, err_t *err);
/* One conditional update: finishes x into req (cond, when not NULL, as its
 * ConditionExpression), frees x, and calls UpdateItem with req, which is
 * stolen in every case; the reply is dropped.  What ddb_call returns:
 * ddb_is_condition_failed(err) tells a refused condition. */
err_code_t ddb_update(aws_client_t *c, const char *table, json_t *req, ddb_expr_t *x,
                      const char *cond, err_t *err);

/* A consistent GetItem of key (stolen; NULL is ERR_NOMEM): *item is the
 * item (caller decrefs) or NULL when there is none.  A reply whose Item is
 * not an object is ERR_INVALID. */
err_code_t ddb_get_item(aws_client_t *c, const char *table, json_t *key,
                        json_t **item, err_t *err);

#endif
