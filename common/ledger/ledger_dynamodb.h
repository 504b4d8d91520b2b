/* ledger_dynamodb — the ledger in one DynamoDB table ("dynamodb:TABLE"):
 * what the rest of the program may call.  The table layout is described in
 * schema/dynamodb/README.md; the definition (schema/dynamodb/table.json) is
 * embedded so that `onesheet init` creates exactly what the ledger queries.
 * The back-end's own internals are in ledger_dynamodb_internal.h. */
#ifndef ONESHEET_LEDGER_DYNAMODB_H
#define ONESHEET_LEDGER_DYNAMODB_H

#include "aws/aws.h"
#include "base/err.h"
#include "ledger/ledger.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

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

#endif
