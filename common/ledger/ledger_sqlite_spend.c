/* ledger_sqlite_spend — campaign spend in the embedded ledger.  The budget
 * check reads the month's sum and inserts the firing inside one BEGIN
 * IMMEDIATE transaction: the write lock is taken before the read, so two
 * firings racing for the last dollars of a month cannot both get them. */
#include "ledger/ledger_sqlite_spend.h"
#include "base/sqlite_util.h"

#include <stdio.h>

/* Cents of slack: sums of binary fractions (3 x 0.1) must not refuse a
 * firing that fits the budget exactly. */
#define EPS 1e-9

static err_code_t month_sum(sqlite3 *db, const char *campaign, const char *month,
                            double *usd, err_t *err)
{
    sqlite3_stmt *st;
    err_code_t rc = sqlite_util_prepare(db, "SELECT COALESCE(SUM(usd), 0) FROM campaign_spend"
                                            " WHERE campaign = ?1 AND month = ?2", &st, err);
    if (rc != ERR_OK)
        return rc;
    sqlite3_bind_text(st, 1, campaign, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, month, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW)
        *usd = sqlite3_column_double(st, 0);
    else
        rc = sqlite_util_error(db, s, "ledger: campaign spend", err);
    sqlite3_finalize(st);
    return rc;
}

static err_code_t exists(sqlite3 *db, const ledger_spend_t *s, bool *found, err_t *err)
{
    sqlite3_stmt *st;
    err_code_t rc = sqlite_util_prepare(db, "SELECT 1 FROM campaign_spend"
                                            " WHERE campaign = ?1 AND slot = ?2", &st, err);
    if (rc != ERR_OK)
        return rc;
    sqlite3_bind_text(st, 1, s->campaign, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, s->slot, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    *found = r == SQLITE_ROW;
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        rc = sqlite_util_error(db, r, "ledger: campaign spend", err);
    sqlite3_finalize(st);
    return rc;
}

/* Records s (see ledger_ops_t.spend_add). */
err_code_t ledger_sqlite_spend_add(sqlite3 *db, const ledger_spend_t *s, bool *added,
                                   double *month_total, err_t *err)
{
    sqlite3_stmt *st = NULL;
    double sum = 0;
    bool found = false;
    err_code_t rc;

    *added = false;
    if (!s->campaign || !*s->campaign || !s->slot || !*s->slot || !s->month || !s->batch_id)
        return err_set(err, ERR_INVALID, "ledger: campaign spend needs a campaign and slot");
    if (!(s->usd >= 0))
        return err_set(err, ERR_INVALID, "ledger: campaign spend must not be negative");
    if ((rc = sqlite_util_begin(db, err)) != ERR_OK)
        return rc;
    if ((rc = exists(db, s, &found, err)) != ERR_OK ||
        (rc = month_sum(db, s->campaign, s->month, &sum, err)) != ERR_OK)
        goto fail;
    if (!found) {
        if (s->month_limit >= 0 && sum + s->usd > s->month_limit + EPS) {
            rc = err_set(err, ERR_TOOBIG,
                         "campaign %s: monthly budget exceeded: %s has $%.2f recorded, this "
                         "firing needs $%.2f, the budget is $%.2f", s->campaign, s->month, sum,
                         s->usd, s->month_limit);
            goto fail;
        }
        rc = sqlite_util_prepare(db, "INSERT INTO campaign_spend (campaign, slot, month,"
                                     " batch_id, usd, jobs, created_ms)"
                                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", &st, err);
        if (rc != ERR_OK)
            goto fail;
        sqlite3_bind_text(st, 1, s->campaign, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, s->slot, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, s->month, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, s->batch_id, -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 5, s->usd);
        sqlite3_bind_int64(st, 6, s->jobs);
        sqlite3_bind_int64(st, 7, sqlite_util_now_ms());
        rc = sqlite_util_step(db, st, "ledger: record campaign spend", err);
        sqlite3_finalize(st);
        if (rc != ERR_OK)
            goto fail;
        sum += s->usd;
    }
    if ((rc = sqlite_util_commit(db, err)) != ERR_OK)
        return rc;
    *added = !found;
    if (month_total)
        *month_total = sum;
    return ERR_OK;
fail:
    sqlite_util_rollback(db);
    return rc;
}

/* The month's recorded spend (see ledger_ops_t.spend_get). */
err_code_t ledger_sqlite_spend_get(sqlite3 *db, const char *campaign, const char *month,
                                   double *usd, err_t *err)
{
    *usd = 0;
    return month_sum(db, campaign, month, usd, err);
}
