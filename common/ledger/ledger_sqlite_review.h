/* ledger_sqlite_review — the SQLite ledger's review marks and lineage
 * (schema/sqlite/007_review.sql); the ops of ledger.h's review, reviews
 * and link on a connection.  Not for use outside common/. */
#ifndef ONESHEET_LEDGER_SQLITE_REVIEW_H
#define ONESHEET_LEDGER_SQLITE_REVIEW_H

#include "ledger/ledger.h"

#include <sqlite3.h>

/* See ledger_ops_t.review. */
err_code_t ledger_sqlite_review(sqlite3 *db, const char *batch_id, const char *job_id,
                                const char *mark, const char *by, int64_t at_ms,
                                err_t *err);
/* See ledger_ops_t.reviews. */
err_code_t ledger_sqlite_reviews(sqlite3 *db, const char *batch_id, const char *job_id,
                                 ledger_review_t **out, size_t *n, err_t *err);
/* See ledger_ops_t.link. */
err_code_t ledger_sqlite_link(sqlite3 *db, const char *from_batch, const char *from_job,
                              const char *to_batch, const char *to_job, err_t *err);

#endif
