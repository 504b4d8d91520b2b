/* ledger_dynamodb_quota — shared quota buckets in the DynamoDB ledger's
 * table (issue 21).
 *
 * One item per bucket: pk "quota", sk "quota#KEY", with the bucket's state
 * (text jobs/quota_bucket.c writes), its version and updated_ms.  A change
 * is one UpdateItem conditional on the version read (attribute_not_exists
 * for the first write), so two workers never both spend the same tokens;
 * the loser reads again (ERR_CONFLICT).  Reads are consistent GetItems; the
 * list is one consistent Query of the "quota" partition.
 *
 * "quota" is not a batch id a submit makes, and "#" never appears in one,
 * so the partition holds only these items; they carry none of the index
 * attributes.  A grant is a read and a write of ~1 KB (two write units);
 * grants hold half a second of the quota, so at the quota's pace a
 * generation costs well under one ledger call. */
#include "ledger/ledger_dynamodb_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUOTA_PK "quota"
#define QUOTA_SK "quota#"

static json_t *quota_key(const char *key)
{
    char sk[LEDGER_QUOTA_KEY_MAX + 16];
    if (!key || !*key || strlen(key) > LEDGER_QUOTA_KEY_MAX)
        return NULL;
    snprintf(sk, sizeof sk, QUOTA_SK "%s", key);
    return ddb_key(QUOTA_PK, sk);
}

static err_code_t read_quota(const json_t *item, ledger_quota_t *q, err_t *err)
{
    const char *sk = NULL;
    err_code_t rc;
    memset(q, 0, sizeof *q);
    if ((rc = ddb_get_s(item, "sk", true, &sk, err)) != ERR_OK ||
        (rc = ddb_dup_s(item, "state", true, &q->state, err)) != ERR_OK ||
        (rc = ddb_get_n(item, "version", true, &q->version, err)) != ERR_OK ||
        (rc = ddb_get_n(item, "updated_ms", false, &q->updated_ms, err)) != ERR_OK) {
        ledger_quota_free(q);
        return rc;
    }
    if (strncmp(sk, QUOTA_SK, strlen(QUOTA_SK)) != 0) {
        ledger_quota_free(q);
        return err_set(err, ERR_INVALID, "ledger: quota item with sk \"%s\"", sk);
    }
    if (!(q->key = strdup(sk + strlen(QUOTA_SK)))) {
        ledger_quota_free(q);
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    return ERR_OK;
}

err_code_t ddb_quota_get(ledger_t *l, const char *key, ledger_quota_t *out, err_t *err)
{
    DDB_ERR_LOCAL(err);
    ddb_ledger_t *d = DDB(l);
    json_t *k = quota_key(key), *item = NULL;

    memset(out, 0, sizeof *out);
    if (!k)
        return err_set(err, ERR_INVALID, "ledger: a quota key must be 1 to %d bytes",
                       LEDGER_QUOTA_KEY_MAX);
    err_code_t rc = ddb_get_item(d->c, d->table, k, &item, err);
    if (rc != ERR_OK)
        return err_prefix(err, "ledger: reading quota bucket");
    if (!item)
        return err_set(err, ERR_NOTFOUND, "ledger: no quota bucket \"%s\"", key);
    rc = read_quota(item, out, err);
    json_decref(item);
    return rc;
}

err_code_t ddb_quota_put(ledger_t *l, const char *key, int64_t version, const char *state,
                         int64_t now_ms, err_t *err)
{
    DDB_ERR_LOCAL(err);
    ddb_ledger_t *d = DDB(l);
    json_t *k;
    ddb_expr_t x;

    if (!state || !*state || strlen(state) > LEDGER_QUOTA_STATE_MAX || version < 0)
        return err_set(err, ERR_INVALID, "ledger: a quota state must be 1 to %d bytes",
                       LEDGER_QUOTA_STATE_MAX);
    if (!(k = quota_key(key)))
        return err_set(err, ERR_INVALID, "ledger: a quota key must be 1 to %d bytes",
                       LEDGER_QUOTA_KEY_MAX);
    json_t *req = json_pack("{s:s, s:o}", "TableName", d->table, "Key", k);
    ddb_expr_init(&x);
    ddb_expr_set(&x, "state", ddb_s(state));
    ddb_expr_set(&x, "version", ddb_n(version + 1));
    ddb_expr_set(&x, "updated_ms", ddb_n(now_ms));
    if (version > 0)
        ddb_expr_value(&x, ":expect", ddb_n(version));
    err_code_t rc = ddb_update(d->c, d->table, req, &x,
                               version > 0 ? "#version = :expect"
                                           : "attribute_not_exists(#version)", err);
    if (rc != ERR_OK && ddb_is_condition_failed(err))
        return err_set(err, ERR_CONFLICT, "ledger: quota bucket \"%s\" changed meanwhile",
                       key);
    if (rc != ERR_OK)
        err_prefix(err, "ledger: writing quota bucket");
    return rc;
}

typedef struct {
    ledger_quota_t *v;
    size_t n, cap;
} quotas_t;

static err_code_t push_quota(const json_t *item, void *ud, bool *stop, err_t *err)
{
    quotas_t *qs = ud;
    (void)stop;
    if (qs->n == qs->cap) {
        size_t cap = qs->cap ? qs->cap * 2 : 8;
        ledger_quota_t *v = realloc(qs->v, cap * sizeof *v);
        if (!v)
            return err_set(err, ERR_NOMEM, "out of memory");
        qs->v = v;
        qs->cap = cap;
    }
    err_code_t rc = read_quota(item, &qs->v[qs->n], err);
    if (rc == ERR_OK)
        qs->n++;
    return rc;
}

err_code_t ddb_quota_list(ledger_t *l, ledger_quota_t **out, size_t *n, err_t *err)
{
    DDB_ERR_LOCAL(err);
    ddb_ledger_t *d = DDB(l);
    quotas_t qs = {0};

    *out = NULL;
    *n = 0;
    err_code_t rc = ddb_query_prefix(d, QUOTA_PK, QUOTA_SK, push_quota, &qs, err);
    if (rc != ERR_OK) {
        ledger_quotas_free(qs.v, qs.n);
        return err_prefix(err, "ledger: listing quota buckets");
    }
    if (qs.n == 0) {
        free(qs.v);
        return ERR_OK;
    }
    *out = qs.v;
    *n = qs.n;
    return ERR_OK;
}
