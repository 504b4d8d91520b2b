/* sqlite_util — what the SQLite back-ends (queue_sqlite.c, ledger_sqlite.c)
 * share: opening one database file safely from several threads and
 * processes, schema migrations, error mapping, transactions and the clock.
 *
 * Every connection is opened in WAL mode (readers never block the writer),
 * with a busy timeout so concurrent writers queue up instead of failing, and
 * with foreign keys on.  Not for use outside common/. */
#ifndef ONESHEET_SQLITE_UTIL_H
#define ONESHEET_SQLITE_UTIL_H

#include "base/err.h"

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* Opens (creating when missing) the database at path and brings its schema
 * to the latest migration.  A missing parent directory is created mode 0700
 * and a missing file mode 0600; existing ones keep their modes.  A database
 * whose schema is newer than this binary knows is refused (ERR_CONFIG).
 * *out: a new connection (close with sqlite3_close).  On error *out is NULL
 * and err says why (ERR_BUSY when another process kept it locked too long). */
err_code_t sqlite_util_open(const char *path, sqlite3 **out, err_t *err);

/* Sets err from a failed SQLite call: SQLITE_BUSY/LOCKED → ERR_BUSY,
 * SQLITE_NOMEM → ERR_NOMEM, anything else → ERR_IO with the SQLite message,
 * prefixed by what.  Returns the code. */
err_code_t sqlite_util_error(sqlite3 *db, int rc, const char *what, err_t *err);

/* Runs SQL without results (one or more statements). */
err_code_t sqlite_util_exec(sqlite3 *db, const char *sql, err_t *err);

/* Prepares one statement; *st is NULL on error. */
err_code_t sqlite_util_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st,
                               err_t *err);

/* BEGIN IMMEDIATE: takes the write lock up front, so a read-then-write
 * transaction can never be invalidated by another writer.  Retries a few
 * times past the busy timeout before giving up with ERR_BUSY. */
err_code_t sqlite_util_begin(sqlite3 *db, err_t *err);
/* COMMIT; on failure the transaction is rolled back and err set. */
err_code_t sqlite_util_commit(sqlite3 *db, err_t *err);
/* ROLLBACK when a transaction is open (errors ignored: nothing to report to,
 * and SQLite rolls back on its own when it cannot). */
void sqlite_util_rollback(sqlite3 *db);

/* Steps st once, expecting no rows (an INSERT, UPDATE or DELETE), then
 * resets it for the next bindings.  Errors are prefixed by what. */
err_code_t sqlite_util_step(sqlite3 *db, sqlite3_stmt *st, const char *what,
                            err_t *err);

/* Steps st to the end collecting its first column as strings: *out is a new
 * array of new strings (free each, then the array).  Finalizes st. */
err_code_t sqlite_util_strings(sqlite3 *db, sqlite3_stmt *st, char ***out,
                               size_t *n, err_t *err);

/* Makes room in v (an array of *cap elements of size bytes) for element
 * len, doubling as needed.  Returns the array, moved or not, or NULL when
 * out of memory (v is then still valid and unchanged). */
void *sqlite_util_grow(void *v, size_t *cap, size_t len, size_t size);

/* Returns a new copy of a text column, or NULL for SQL NULL.  *nomem is set
 * when the copy could not be allocated. */
char *sqlite_util_column_strdup(sqlite3_stmt *st, int col, int *nomem);

/* The back-ends' clock: CLOCK_REALTIME in ms, plus a test offset (the sum of
 * sqlite_util_set_clock_offset_ms() and $ONESHEET_TEST_CLOCK_OFFSET_MS) so
 * tests can expire visibility timeouts and leases without sleeping. */
int64_t sqlite_util_now_ms(void);

/* Test hooks (process-wide).  The clock offset applies at once; the busy
 * timeout applies to connections opened afterwards (default 5000 ms). */
void sqlite_util_set_clock_offset_ms(int64_t ms);
void sqlite_util_set_busy_timeout_ms(int ms);

/* The page cache each connection opened afterwards may grow to, in KiB
 * (process-wide; default 65536).  `onesheet submit` of a file lowers it so
 * that its memory stays small whatever the batch's size. */
void sqlite_util_set_cache_kib(int kib);

#endif
