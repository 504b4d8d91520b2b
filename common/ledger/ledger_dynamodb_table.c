/* ledger_dynamodb_table — the DynamoDB ledger's table: its definition and
 * `onesheet init`'s ensure step (describe, create when missing, wait until
 * active).
 *
 * The definition is schema/dynamodb/table.json, copied here because the
 * build has no step to embed it; test_ledger_dynamodb compares the two, so
 * they cannot drift apart silently. */
#include "ledger/ledger_dynamodb_internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Keep identical (as JSON) to schema/dynamodb/table.json. */
static const char table_json[] =
    "{\"TableName\": \"onesheet\", \"BillingMode\": \"PAY_PER_REQUEST\","
    " \"AttributeDefinitions\": ["
    "  {\"AttributeName\": \"pk\", \"AttributeType\": \"S\"},"
    "  {\"AttributeName\": \"sk\", \"AttributeType\": \"S\"},"
    "  {\"AttributeName\": \"line_key\", \"AttributeType\": \"S\"},"
    "  {\"AttributeName\": \"state_key\", \"AttributeType\": \"S\"},"
    "  {\"AttributeName\": \"job_id\", \"AttributeType\": \"S\"},"
    "  {\"AttributeName\": \"batch_key\", \"AttributeType\": \"S\"},"
    "  {\"AttributeName\": \"batch_list\", \"AttributeType\": \"S\"},"
    "  {\"AttributeName\": \"outbox_pk\", \"AttributeType\": \"S\"},"
    "  {\"AttributeName\": \"outbox_due\", \"AttributeType\": \"N\"}],"
    " \"KeySchema\": ["
    "  {\"AttributeName\": \"pk\", \"KeyType\": \"HASH\"},"
    "  {\"AttributeName\": \"sk\", \"KeyType\": \"RANGE\"}],"
    " \"LocalSecondaryIndexes\": ["
    "  {\"IndexName\": \"by_line\", \"KeySchema\": ["
    "    {\"AttributeName\": \"pk\", \"KeyType\": \"HASH\"},"
    "    {\"AttributeName\": \"line_key\", \"KeyType\": \"RANGE\"}],"
    "   \"Projection\": {\"ProjectionType\": \"ALL\"}},"
    "  {\"IndexName\": \"by_state\", \"KeySchema\": ["
    "    {\"AttributeName\": \"pk\", \"KeyType\": \"HASH\"},"
    "    {\"AttributeName\": \"state_key\", \"KeyType\": \"RANGE\"}],"
    "   \"Projection\": {\"ProjectionType\": \"KEYS_ONLY\"}}],"
    " \"GlobalSecondaryIndexes\": ["
    "  {\"IndexName\": \"by_job\", \"KeySchema\": ["
    "    {\"AttributeName\": \"job_id\", \"KeyType\": \"HASH\"},"
    "    {\"AttributeName\": \"batch_key\", \"KeyType\": \"RANGE\"}],"
    "   \"Projection\": {\"ProjectionType\": \"KEYS_ONLY\"}},"
    "  {\"IndexName\": \"by_created\", \"KeySchema\": ["
    "    {\"AttributeName\": \"batch_list\", \"KeyType\": \"HASH\"},"
    "    {\"AttributeName\": \"batch_key\", \"KeyType\": \"RANGE\"}],"
    "   \"Projection\": {\"ProjectionType\": \"ALL\"}},"
    "  {\"IndexName\": \"by_outbox\", \"KeySchema\": ["
    "    {\"AttributeName\": \"outbox_pk\", \"KeyType\": \"HASH\"},"
    "    {\"AttributeName\": \"outbox_due\", \"KeyType\": \"RANGE\"}],"
    "   \"Projection\": {\"ProjectionType\": \"KEYS_ONLY\"}}]}";

json_t *ledger_dynamodb_table_definition(const char *table)
{
    json_t *def = json_loads(table_json, 0, NULL);
    if (def && table && json_object_set_new(def, "TableName", json_string(table)) != 0) {
        json_decref(def);
        return NULL;
    }
    return def;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* True when desc (a DescribeTable "Table") lists an index called name
 * under key (LocalSecondaryIndexes / GlobalSecondaryIndexes). */
static bool has_index(const json_t *desc, const char *key, const char *name)
{
    json_t *list = json_object_get(desc, key), *ix;
    size_t i;
    json_array_foreach(list, i, ix) {
        const char *n = json_string_value(json_object_get(ix, "IndexName"));
        if (n && strcmp(n, name) == 0)
            return true;
    }
    return false;
}

/* Checks that an existing table has the ledger's indexes: a table of the
 * same name made for something else would fail every query otherwise. */
static err_code_t check_layout(const char *table, const json_t *desc, err_t *err)
{
    static const struct { const char *key, *name; } want[] = {
        {"LocalSecondaryIndexes", DDB_INDEX_LINE},
        {"LocalSecondaryIndexes", DDB_INDEX_STATE},
        {"GlobalSecondaryIndexes", DDB_INDEX_JOB},
        {"GlobalSecondaryIndexes", DDB_INDEX_CREATED},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!has_index(desc, want[i].key, want[i].name))
            return err_set(err, ERR_CONFIG, "dynamodb table %s exists but has no index %s;"
                           " it was not made for the onesheet ledger (see"
                           " schema/dynamodb/README.md)", table, want[i].name);
    return ERR_OK;
}

/* DescribeTable: *desc is the "Table" object (caller decrefs), or NULL when
 * the table does not exist. */
static err_code_t describe(aws_client_t *c, const char *table, json_t **desc, err_t *err)
{
    json_t *reply = NULL;
    err_code_t rc = ddb_call(c, table, "DescribeTable",
                             json_pack("{s:s}", "TableName", table), &reply, err);
    *desc = NULL;
    if (rc != ERR_OK) {
        if (strcmp(err->service_code, "ResourceNotFoundException") != 0)
            return rc;
        err_clear(err);
        return ERR_OK;
    }
    json_t *t = json_object_get(reply, "Table");
    if (!json_is_object(t) || !json_is_string(json_object_get(t, "TableStatus")))
        rc = err_set(err, ERR_INVALID, "dynamodb DescribeTable %s: reply has no"
                     " Table.TableStatus", table);
    else
        *desc = json_incref(t);
    json_decref(reply);
    return rc;
}

/* Active means the table and every global index can serve requests. */
static bool is_active(const json_t *desc)
{
    json_t *ix;
    size_t i;
    const char *st = json_string_value(json_object_get(desc, "TableStatus"));
    if (!st || strcmp(st, "ACTIVE") != 0)
        return false;
    json_array_foreach(json_object_get(desc, "GlobalSecondaryIndexes"), i, ix) {
        const char *is = json_string_value(json_object_get(ix, "IndexStatus"));
        if (is && strcmp(is, "ACTIVE") != 0)
            return false;
    }
    return true;
}

/* Polls until active, with a short first wait (an emulator takes half a
 * second) growing to 2 s (AWS takes tens of seconds). */
static err_code_t wait_active(aws_client_t *c, const char *table, json_t **desc,
                              err_t *err)
{
    double deadline = mono_s() + DDB_ENSURE_WAIT_S;
    long pause = 100;
    err_code_t rc = ERR_OK;

    while (rc == ERR_OK && !(*desc && is_active(*desc))) {
        if (mono_s() > deadline)
            return err_set(err, ERR_TIMEOUT, "dynamodb table %s: not active after %d s",
                           table, DDB_ENSURE_WAIT_S);
        sleep_ms(pause);
        pause = pause * 2 > 2000 ? 2000 : pause * 2;
        json_decref(*desc);
        rc = describe(c, table, desc, err);
        if (rc == ERR_OK && !*desc)
            rc = err_set(err, ERR_NOTFOUND, "dynamodb table %s disappeared while being"
                         " created", table);
    }
    return rc;
}

/* UpdateTable adding by_outbox, as table.json defines it. */
static err_code_t add_outbox_index(aws_client_t *c, const char *table, err_t *err)
{
    json_t *def = ledger_dynamodb_table_definition(table), *ix, *reply = NULL, *create = NULL;
    size_t i;
    json_array_foreach(json_object_get(def, "GlobalSecondaryIndexes"), i, ix)
        if (strcmp(json_string_value(json_object_get(ix, "IndexName")), DDB_INDEX_OUTBOX) == 0)
            create = ix;
    json_t *req = create ? json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}], s:[{s:O}]}",
                                     "TableName", table, "AttributeDefinitions",
                                     "AttributeName", "outbox_pk", "AttributeType", "S",
                                     "AttributeName", "outbox_due", "AttributeType", "N",
                                     "GlobalSecondaryIndexUpdates", "Create", create)
                         : NULL;
    json_decref(def);
    if (!req)
        return err_set(err, ERR_NOMEM, "out of memory");
    err_code_t rc = ddb_call(c, table, "UpdateTable", req, &reply, err);
    json_decref(reply);
    return rc;
}

/* The steps read err->service_code, so they always get a real err_t (e)
 * which is copied out at the end. */
err_code_t ledger_dynamodb_ensure(aws_env_t *env, const char *table, char *report,
                                  size_t cap, err_t *err)
{
    json_t *desc = NULL, *reply = NULL;
    bool created = false;
    aws_client_t *c = NULL;
    err_t e;
    err_code_t rc = ERR_OK;

    err_clear(&e);
    if (report && cap)
        report[0] = '\0';
    if (!ddb_table_name_ok(table))
        rc = err_set(&e, ERR_CONFIG, "dynamodb table \"%s\": a table name is 3 to 255 of"
                     " A-Z a-z 0-9 _ . -", table ? table : "");
    else if (!env)
        rc = err_set(&e, ERR_INTERNAL, "dynamodb ensure: no AWS environment");
    else if (!(c = aws_client_new(env, ENDPOINT_DYNAMODB, &e)))
        rc = e.code;
    if (rc == ERR_OK)
        rc = describe(c, table, &desc, &e);
    if (rc == ERR_OK && !desc) {
        rc = ddb_call(c, table, "CreateTable", ledger_dynamodb_table_definition(table),
                      &reply, &e);
        json_decref(reply);
        created = rc == ERR_OK;
        /* Someone else (another `init`) is creating it: wait for theirs. */
        if (rc != ERR_OK && strcmp(e.service_code, "ResourceInUseException") == 0) {
            err_clear(&e);
            rc = ERR_OK;
        }
    }
    if (rc == ERR_OK)
        rc = wait_active(c, table, &desc, &e);
    if (rc == ERR_OK)
        rc = check_layout(table, desc, &e);
    /* A table made before webhooks: add their index (online). */
    if (rc == ERR_OK && !has_index(desc, "GlobalSecondaryIndexes", DDB_INDEX_OUTBOX)) {
        rc = add_outbox_index(c, table, &e);
        json_decref(desc);
        desc = NULL;            /* read it again */
        if (rc == ERR_OK)
            rc = wait_active(c, table, &desc, &e);
        if (rc == ERR_OK && !has_index(desc, "GlobalSecondaryIndexes", DDB_INDEX_OUTBOX))
            rc = err_set(&e, ERR_CONFIG, "dynamodb table %s: could not add the index %s "
                         "(webhooks need it; see schema/dynamodb/README.md)", table,
                         DDB_INDEX_OUTBOX);
    }
    if (rc == ERR_OK && report && cap)
        snprintf(report, cap, created ? "created table %s (on-demand, indexes %s %s %s %s %s)"
                 : "table %s exists (indexes %s %s %s %s %s)", table, DDB_INDEX_LINE,
                 DDB_INDEX_STATE, DDB_INDEX_JOB, DDB_INDEX_CREATED, DDB_INDEX_OUTBOX);
    json_decref(desc);
    aws_client_free(c);
    if (err)
        *err = e;
    return rc;
}
