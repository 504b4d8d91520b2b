/* ledger_dynamodb_spend — campaign spend in the DynamoDB ledger's table.
 *
 * One item per campaign and calendar month: pk "spend#CAMPAIGN", sk
 * "month#YYYY-MM", holding the month's spend in micro-dollars
 * (`usd_micro`, an integer, so sums and the comparison with the budget are
 * exact), the jobs and firings counted, and the set of slots recorded
 * (`slots`, a string set).  A firing is one conditional UpdateItem on that
 * item — ADD the spend and the slot, on condition that the slot is not in
 * the set yet and the month's spend leaves room — so the budget check and
 * the write are atomic, and the slot marker makes it happen once, without
 * transactions (which dynalite, the tests' emulator, lacks).  The marker
 * lives in the month's item because a slot's month is fixed by the slot.
 *
 * "#" never appears in a batch id, so these items share no partition with
 * the batches, and they carry none of the index attributes, so no index
 * lists them.  The item grows by ~25 bytes a firing: DynamoDB's 400 KB item
 * limit allows some 15,000 firings a month (one every three minutes). */
#include "ledger/ledger_dynamodb_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPEND_PK "spend#"
#define SPEND_SK "month#"
#define MICRO 1e6

static json_t *spend_key(const char *campaign, const char *month)
{
    char pk[300], sk[64];
    if ((size_t)snprintf(pk, sizeof pk, SPEND_PK "%s", campaign) >= sizeof pk ||
        (size_t)snprintf(sk, sizeof sk, SPEND_SK "%s", month) >= sizeof sk)
        return NULL;
    return ddb_key(pk, sk);
}

/* Dollars to whole micro-dollars: what is stored and compared. */
static int64_t micros(double usd)
{
    return (int64_t)llround(usd * MICRO);
}

/* True when item's slot set holds slot. */
static bool has_slot(const json_t *item, const char *slot)
{
    json_t *ss = json_object_get(json_object_get(item, "slots"), "SS"), *v;
    size_t i;
    json_array_foreach(ss, i, v) {
        const char *s = json_string_value(v);
        if (s && strcmp(s, slot) == 0)
            return true;
    }
    return false;
}

/* ADD #name :name with v (stolen): numbers and sets alike. */
static void add_value(ddb_expr_t *x, const char *name, json_t *v)
{
    char ph[80];
    snprintf(ph, sizeof ph, ":%s", name);
    ddb_expr_name(x, name);
    ddb_expr_value(x, ph, v);
    if ((x->add.len && buf_append_str(&x->add, ", ") != ERR_OK) ||
        buf_appendf(&x->add, "#%s %s", name, ph) != ERR_OK)
        x->oom = true;
}

/* The month item (consistent read) into *item (NULL when none). */
static err_code_t read_month(ddb_ledger_t *d, const char *campaign, const char *month,
                             json_t **item, err_t *err)
{
    json_t *key = spend_key(campaign, month);
    if (!key)
        return err_set(err, ERR_INVALID, "ledger: campaign name too long");
    return ddb_get_item(d->c, d->table, key, item, err);
}

/* After a refused write: recorded before (ERR_OK, *added stays false), or
 * the budget (ERR_TOOBIG naming it). */
static err_code_t explain(ddb_ledger_t *d, const ledger_spend_t *s, double *month_total,
                          err_t *err)
{
    json_t *item = NULL;
    int64_t sum = 0;
    err_code_t rc = read_month(d, s->campaign, s->month, &item, err);
    if (rc == ERR_OK && item)
        rc = ddb_get_n(item, "usd_micro", false, &sum, err);
    if (rc == ERR_OK && item && has_slot(item, s->slot)) {
        if (month_total)
            *month_total = (double)sum / MICRO;
    } else if (rc == ERR_OK && s->month_limit >= 0 &&
               sum + micros(s->usd) > micros(s->month_limit)) {
        rc = err_set(err, ERR_TOOBIG,
                     "campaign %s: monthly budget exceeded: %s has $%.2f recorded, this "
                     "firing needs $%.2f, the budget is $%.2f", s->campaign, s->month,
                     (double)sum / MICRO, s->usd, s->month_limit);
    } else if (rc == ERR_OK) {
        /* Sums only grow and slots are never removed: the item changed
         * under us in a way this ledger never writes. */
        rc = err_set(err, ERR_CONFLICT, "campaign %s: spend for %s changed while recording; "
                     "run the slot again", s->campaign, s->month);
    }
    json_decref(item);
    return rc;
}

err_code_t ddb_spend_add(ledger_t *l, const ledger_spend_t *s, bool *added,
                         double *month_total, err_t *err)
{
    DDB_ERR_LOCAL(err);
    ddb_ledger_t *d = DDB(l);
    json_t *req, *reply = NULL, *key;
    int64_t sum = 0, usd, limit;
    ddb_expr_t x;
    err_code_t rc;

    *added = false;
    if (!s->campaign || !*s->campaign || !s->slot || !*s->slot || !s->month || !s->batch_id)
        return err_set(err, ERR_INVALID, "ledger: campaign spend needs a campaign and slot");
    if (!(s->usd >= 0) || s->usd > 1e12)
        return err_set(err, ERR_INVALID, "ledger: campaign spend must not be negative");
    usd = micros(s->usd);
    limit = s->month_limit >= 0 ? micros(s->month_limit) : -1;
    if (!(key = spend_key(s->campaign, s->month)))
        return err_set(err, ERR_INVALID, "ledger: campaign name too long");
    if (limit >= 0 && usd > limit) {
        /* Over budget even in an empty month: no write can succeed, but a
         * slot recorded before is still not an error. */
        json_decref(key);
        return explain(d, s, month_total, err);
    }
    req = json_pack("{s:s, s:o, s:s}", "TableName", d->table, "Key", key, "ReturnValues",
                    "ALL_NEW");
    ddb_expr_init(&x);
    ddb_expr_set(&x, "campaign", ddb_s(s->campaign));
    ddb_expr_set(&x, "month", ddb_s(s->month));
    ddb_expr_set(&x, "updated_ms", ddb_n(ddb_now_ms(d)));
    ddb_expr_add(&x, "usd_micro", usd);
    ddb_expr_add(&x, "jobs", s->jobs);
    ddb_expr_add(&x, "firings", 1);
    add_value(&x, "slots", json_pack("{s:[s]}", "SS", s->slot));
    ddb_expr_value(&x, ":slot", ddb_s(s->slot));
    if (limit >= 0)
        ddb_expr_value(&x, ":room", ddb_n(limit - usd));
    rc = ddb_expr_finish(&x, req, "ConditionExpression",
                         limit >= 0 ? "(attribute_not_exists(#slots) OR NOT contains(#slots, "
                                      ":slot)) AND (attribute_not_exists(#usd_micro) OR "
                                      "#usd_micro <= :room)"
                                    : "attribute_not_exists(#slots) OR NOT contains(#slots, "
                                      ":slot)", err);
    ddb_expr_free(&x);
    if (rc != ERR_OK) {
        json_decref(req);
        return rc;
    }
    rc = ddb_call(d->c, d->table, "UpdateItem", req, &reply, err);
    if (rc == ERR_OK) {
        rc = ddb_get_n(json_object_get(reply, "Attributes"), "usd_micro", true, &sum, err);
        if (rc == ERR_OK) {
            *added = true;
            if (month_total)
                *month_total = (double)sum / MICRO;
        } else {
            err_prefix(err, "ledger: campaign spend reply");
        }
    } else if (ddb_is_condition_failed(err)) {
        err_clear(err);
        rc = explain(d, s, month_total, err);
    } else {
        err_prefix(err, "ledger: recording campaign %s spend", s->campaign);
    }
    json_decref(reply);
    return rc;
}

err_code_t ddb_spend_get(ledger_t *l, const char *campaign, const char *month, double *usd,
                         err_t *err)
{
    DDB_ERR_LOCAL(err);
    json_t *item = NULL;
    int64_t sum = 0;
    *usd = 0;
    if (!campaign || !*campaign || !month || !*month)
        return err_set(err, ERR_INVALID, "ledger: campaign spend needs a campaign and month");
    err_code_t rc = read_month(DDB(l), campaign, month, &item, err);
    if (rc == ERR_OK && item && (rc = ddb_get_n(item, "usd_micro", false, &sum, err)) == ERR_OK)
        *usd = (double)sum / MICRO;
    json_decref(item);
    return rc;
}
