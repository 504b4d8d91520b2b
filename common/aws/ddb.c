/* ddb — DynamoDB calls, AttributeValues, expressions and paginated queries;
 * see ddb.h. */
#include "aws/ddb.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static err_code_t nomem(err_t *err) { return err_set(err, ERR_NOMEM, "out of memory"); }

/* Sends op and maps a missing table to a configuration error, since that is
 * what it is: the ledger names a table nobody created yet. */
err_code_t ddb_call(aws_client_t *c, const char *table, const char *op, json_t *body,
                    json_t **reply, err_t *err)
{
    char target[64];
    err_code_t rc;

    *reply = NULL;
    if (!body)
        return nomem(err);
    snprintf(target, sizeof target, DDB_TARGET "%s", op);
    rc = aws_json_call(c, target, body, reply, err);
    json_decref(body);
    if (rc != ERR_OK && err && strcmp(err->service_code, "ResourceNotFoundException") == 0) {
        err->code = ERR_CONFIG;
        err_prefix(err, "dynamodb table %s not found (run `onesheet init`)", table);
        rc = ERR_CONFIG;
    }
    return rc;
}

bool ddb_is_condition_failed(const err_t *err)
{
    return err && err->code == ERR_CONFLICT &&
           strcmp(err->service_code, "ConditionalCheckFailedException") == 0;
}

/* The pages of one query: each reply is checked before its items are used,
 * and a LastEvaluatedKey equal to the key just sent would loop forever. */
err_code_t ddb_query(aws_client_t *c, const char *table, json_t *req, ddb_item_fn fn,
                     void *ud, int64_t *count, err_t *err)
{
    int64_t total = 0;
    bool stop = false;
    err_code_t rc = ERR_OK;

    while (rc == ERR_OK && !stop) {
        json_t *reply = NULL;
        rc = ddb_call(c, table, "Query", json_incref(req), &reply, err);
        if (rc != ERR_OK)
            break;
        json_t *items = json_object_get(reply, "Items");
        json_t *cnt = json_object_get(reply, "Count");
        json_t *last = json_object_get(reply, "LastEvaluatedKey");
        if (!json_is_integer(cnt) || json_integer_value(cnt) < 0)
            rc = err_set(err, ERR_INVALID, "dynamodb Query: reply has no Count");
        else if (items && !json_is_array(items))
            rc = err_set(err, ERR_INVALID, "dynamodb Query: Items is not an array");
        else if (last && !json_is_object(last))
            rc = err_set(err, ERR_INVALID, "dynamodb Query: LastEvaluatedKey is not an"
                         " object");
        else if (last && json_equal(last, json_object_get(req, "ExclusiveStartKey")))
            rc = err_set(err, ERR_INVALID, "dynamodb Query: pagination did not advance");
        total += rc == ERR_OK ? json_integer_value(cnt) : 0;
        for (size_t i = 0; rc == ERR_OK && !stop && i < json_array_size(items); i++) {
            json_t *it = json_array_get(items, i);
            if (!json_is_object(it))
                rc = err_set(err, ERR_INVALID, "dynamodb Query: item %zu is not an"
                             " object", i);
            else if (fn)
                rc = fn(it, ud, &stop, err);
        }
        if (rc == ERR_OK && !stop && last) {
            if (json_object_set(req, "ExclusiveStartKey", last) != 0)
                rc = nomem(err);
        } else {
            stop = true;
        }
        json_decref(reply);
    }
    json_object_del(req, "ExclusiveStartKey");
    if (rc == ERR_OK && count)
        *count = total;
    return rc;
}

err_code_t ddb_get_item(aws_client_t *c, const char *table, json_t *key,
                        json_t **item, err_t *err)
{
    json_t *reply = NULL;
    err_code_t rc;

    *item = NULL;
    if (!key)
        return nomem(err);
    rc = ddb_call(c, table, "GetItem",
                  json_pack("{s:s, s:o, s:b}", "TableName", table, "Key", key,
                            "ConsistentRead", 1), &reply, err);
    if (rc != ERR_OK)
        return rc;
    json_t *it = json_object_get(reply, "Item");
    if (it && !json_is_object(it))
        rc = err_set(err, ERR_INVALID, "dynamodb GetItem: Item is not an object");
    else if (it)
        *item = json_incref(it);
    json_decref(reply);
    return rc;
}

/* ---- AttributeValues ---- */

json_t *ddb_s(const char *s)
{
    return s ? json_pack("{s:s}", "S", s) : NULL;
}

json_t *ddb_n(int64_t v)
{
    char num[32];
    snprintf(num, sizeof num, "%" PRId64, v);
    return json_pack("{s:s}", "N", num);
}

void ddb_d_format(double v, char *out, size_t cap)
{
    if (!isfinite(v))
        v = 0.0;
    /* The shortest of %.15g..%.17g that reads back as v: 0.08 is "0.08",
     * not %.17g's "0.080000000000000002" (the same double), and %.17g
     * still round-trips every other finite one. */
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, cap, "%.*g", prec, v);
        if (prec == 17 || strtod(out, NULL) == v)
            return;
    }
}

/* DynamoDB numbers cannot be infinite or NaN, so those are stored as 0. */
json_t *ddb_d(double v)
{
    char num[40];
    ddb_d_format(v, num, sizeof num);
    return json_pack("{s:s}", "N", num);
}

json_t *ddb_key(const char *pk, const char *sk)
{
    if (!pk || !sk)
        return NULL;
    return json_pack("{s:o, s:o}", "pk", ddb_s(pk), "sk", ddb_s(sk));
}

/* Finds item[name] as an AttributeValue of type want; *v NULL when absent. */
static err_code_t typed(const json_t *item, const char *name, const char *want,
                        bool required, json_t **v, err_t *err)
{
    json_t *av = json_object_get(item, name);
    *v = NULL;
    if (!av || json_is_true(json_object_get(av, "NULL"))) {
        if (required)
            return err_set(err, ERR_INVALID, "dynamodb item: attribute %s is missing", name);
        return ERR_OK;
    }
    json_t *val = json_is_object(av) && json_object_size(av) == 1
                  ? json_object_get(av, want) : NULL;
    if (!json_is_string(val))
        return err_set(err, ERR_INVALID, "dynamodb item: attribute %s is not of type %s",
                       name, want);
    *v = val;
    return ERR_OK;
}

err_code_t ddb_get_s(const json_t *item, const char *name, bool required,
                     const char **out, err_t *err)
{
    json_t *v;
    err_code_t rc = typed(item, name, "S", required, &v, err);
    *out = v ? json_string_value(v) : NULL;
    return rc;
}

err_code_t ddb_dup_s(const json_t *item, const char *name, bool required, char **out,
                     err_t *err)
{
    const char *s;
    err_code_t rc = ddb_get_s(item, name, required, &s, err);
    *out = NULL;
    if (rc == ERR_OK && s && !(*out = strdup(s)))
        rc = nomem(err);
    return rc;
}

err_code_t ddb_get_n(const json_t *item, const char *name, bool required,
                     int64_t *out, err_t *err)
{
    json_t *v;
    err_code_t rc = typed(item, name, "N", required, &v, err);
    *out = 0;
    if (rc != ERR_OK || !v)
        return rc;
    const char *s = json_string_value(v);
    char *end;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return err_set(err, ERR_INVALID, "dynamodb item: attribute %s is not an integer",
                       name);
    *out = n;
    return ERR_OK;
}

err_code_t ddb_get_d(const json_t *item, const char *name, bool required, double *out,
                     err_t *err)
{
    json_t *v;
    err_code_t rc = typed(item, name, "N", required, &v, err);
    *out = 0;
    if (rc != ERR_OK || !v)
        return rc;
    const char *s = json_string_value(v);
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(d))
        return err_set(err, ERR_INVALID, "dynamodb item: attribute %s is not a number",
                       name);
    *out = d;
    return ERR_OK;
}

/* ---- Expressions ---- */

void ddb_expr_init(ddb_expr_t *x)
{
    memset(x, 0, sizeof *x);
    x->names = json_object();
    x->values = json_object();
    x->oom = !x->names || !x->values;
}

void ddb_expr_free(ddb_expr_t *x)
{
    json_decref(x->names);
    json_decref(x->values);
    buf_free(&x->set);
    buf_free(&x->add);
    buf_free(&x->remove);
    memset(x, 0, sizeof *x);
}

void ddb_expr_name(ddb_expr_t *x, const char *name)
{
    char ref[80];
    snprintf(ref, sizeof ref, "#%s", name);
    if (json_object_set_new(x->names, ref, json_string(name)) != 0)
        x->oom = true;
}

void ddb_expr_value(ddb_expr_t *x, const char *placeholder, json_t *v)
{
    if (!v || json_object_set_new(x->values, placeholder, v) != 0)
        x->oom = true;
}

/* Appends ", " between clauses of one kind. */
static void clause(ddb_expr_t *x, buf_t *b, const char *fmt, const char *a,
                   const char *c)
{
    if (b->len && buf_append_str(b, ", ") != ERR_OK)
        x->oom = true;
    if (buf_appendf(b, fmt, a, c) != ERR_OK)
        x->oom = true;
}

void ddb_expr_set(ddb_expr_t *x, const char *name, json_t *v)
{
    char ph[80];
    ddb_expr_name(x, name);
    if (!v) {
        clause(x, &x->remove, "#%s%s", name, "");
        return;
    }
    snprintf(ph, sizeof ph, ":%s", name);
    ddb_expr_value(x, ph, v);
    clause(x, &x->set, "#%s = %s", name, ph);
}

/* "#name = list_append(if_not_exists(#name, EMPTY), PH)" into x's SET. */
static bool b_appendf_clause(ddb_expr_t *x, const char *name, const char *ph,
                             const char *empty)
{
    if (x->set.len && buf_append_str(&x->set, ", ") != ERR_OK)
        return true;
    return buf_appendf(&x->set, "#%s = list_append(if_not_exists(#%s, %s), %s)", name,
                       name, empty, ph) != ERR_OK;
}

void ddb_expr_append(ddb_expr_t *x, const char *name, json_t *list)
{
    char ph[80], empty[96];
    ddb_expr_name(x, name);
    snprintf(ph, sizeof ph, ":%s", name);
    snprintf(empty, sizeof empty, ":%s_none", name);
    ddb_expr_value(x, ph, list);
    ddb_expr_value(x, empty, json_pack("{s:[]}", "L"));
    if (b_appendf_clause(x, name, ph, empty))
        x->oom = true;
}

void ddb_expr_add(ddb_expr_t *x, const char *name, int64_t v)
{
    char ph[80];
    ddb_expr_name(x, name);
    snprintf(ph, sizeof ph, ":%s", name);
    ddb_expr_value(x, ph, ddb_n(v));
    clause(x, &x->add, "#%s %s", name, ph);
}

err_code_t ddb_expr_finish(ddb_expr_t *x, json_t *req, const char *cond_key,
                           const char *cond, err_t *err)
{
    buf_t upd = BUF_INIT;
    const struct { const char *kw; buf_t *b; } parts[] = {
        {"SET ", &x->set}, {"ADD ", &x->add}, {"REMOVE ", &x->remove},
    };
    bool oom = x->oom || !req;

    for (size_t i = 0; !oom && i < sizeof parts / sizeof *parts; i++)
        if (parts[i].b->len)
            oom = buf_appendf(&upd, "%s%s%s", upd.len ? " " : "", parts[i].kw,
                              (const char *)parts[i].b->data) != ERR_OK;
    if (!oom && upd.len)
        oom = json_object_set_new(req, "UpdateExpression",
                                  json_string((const char *)upd.data)) != 0;
    if (!oom && cond)
        oom = json_object_set_new(req, cond_key, json_string(cond)) != 0;
    if (!oom && json_object_size(x->names))
        oom = json_object_set(req, "ExpressionAttributeNames", x->names) != 0;
    if (!oom && json_object_size(x->values))
        oom = json_object_set(req, "ExpressionAttributeValues", x->values) != 0;
    buf_free(&upd);
    return oom ? nomem(err) : ERR_OK;
}

err_code_t ddb_update(aws_client_t *c, const char *table, json_t *req, ddb_expr_t *x,
                      const char *cond, err_t *err)
{
    json_t *reply = NULL;
    err_code_t rc = ddb_expr_finish(x, req, "ConditionExpression", cond, err);
    ddb_expr_free(x);
    if (rc != ERR_OK) {
        json_decref(req);
        return rc;
    }
    rc = ddb_call(c, table, "UpdateItem", req, &reply, err);
    json_decref(reply);
    return rc;
}
