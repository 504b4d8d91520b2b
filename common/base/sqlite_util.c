/* sqlite_util — see sqlite_util.h. */
#include "base/sqlite_util.h"
#include "base/schema_sql.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* How often BEGIN IMMEDIATE is retried after the busy timeout ran out: a
 * long write by another process (a 100,000-job submit) can outlast one
 * timeout, and giving up is costly for a worker. */
#define BEGIN_ATTEMPTS 3

static _Atomic int64_t clock_offset_ms;
static _Atomic int busy_timeout_ms = 5000;

void sqlite_util_set_clock_offset_ms(int64_t ms) { clock_offset_ms = ms; }
void sqlite_util_set_busy_timeout_ms(int ms) { busy_timeout_ms = ms; }
static _Atomic int cache_kib = 65536;
void sqlite_util_set_cache_kib(int kib) { cache_kib = kib > 0 ? kib : 65536; }

int64_t sqlite_util_now_ms(void)
{
    struct timespec ts;
    int64_t off = clock_offset_ms;
    const char *env = getenv("ONESHEET_TEST_CLOCK_OFFSET_MS");

    clock_gettime(CLOCK_REALTIME, &ts);
    if (env && *env)
        off += strtoll(env, NULL, 10);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + off;
}

err_code_t sqlite_util_error(sqlite3 *db, int rc, const char *what, err_t *err)
{
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);

    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return err_set(err, ERR_BUSY, "%s: database is busy (%s)", what, msg);
    case SQLITE_NOMEM:
        return err_set(err, ERR_NOMEM, "%s: out of memory", what);
    default:
        return err_set(err, ERR_IO, "%s: %s", what, msg);
    }
}

err_code_t sqlite_util_exec(sqlite3 *db, const char *sql, err_t *err)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? ERR_OK : sqlite_util_error(db, rc, "sqlite", err);
}

err_code_t sqlite_util_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st,
                               err_t *err)
{
    int rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);
    if (rc != SQLITE_OK) {
        *st = NULL;
        return sqlite_util_error(db, rc, "sqlite prepare", err);
    }
    return ERR_OK;
}

err_code_t sqlite_util_begin(sqlite3 *db, err_t *err)
{
    int rc = SQLITE_OK;
    for (int i = 0; i < BEGIN_ATTEMPTS; i++) {
        rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            return ERR_OK;
        if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
            break;
    }
    return sqlite_util_error(db, rc, "sqlite begin", err);
}

err_code_t sqlite_util_commit(sqlite3 *db, err_t *err)
{
    int rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        return ERR_OK;
    err_code_t code = sqlite_util_error(db, rc, "sqlite commit", err);
    sqlite_util_rollback(db);
    return code;
}

void sqlite_util_rollback(sqlite3 *db)
{
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

err_code_t sqlite_util_step(sqlite3 *db, sqlite3_stmt *st, const char *what,
                            err_t *err)
{
    int s = sqlite3_step(st);
    sqlite3_reset(st);
    /* The error message survives the reset: errmsg is the connection's. */
    return s == SQLITE_DONE ? ERR_OK : sqlite_util_error(db, s, what, err);
}

void *sqlite_util_grow(void *v, size_t *cap, size_t len, size_t size)
{
    if (len < *cap)
        return v;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *nv = ncap > SIZE_MAX / size ? NULL : realloc(v, ncap * size);
    if (nv)
        *cap = ncap;
    return nv;
}

err_code_t sqlite_util_strings(sqlite3 *db, sqlite3_stmt *st, char ***out,
                               size_t *n, err_t *err)
{
    char **v = NULL;
    size_t len = 0, cap = 0;
    err_code_t rc = ERR_OK;
    int s, oom = 0;

    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        char **nv = sqlite_util_grow(v, &cap, len, sizeof *v);
        if (nv) {
            v = nv;
            v[len] = sqlite_util_column_strdup(st, 0, &oom);
        }
        if (!nv || oom) {
            rc = err_set(err, ERR_NOMEM, "out of memory");
            break;
        }
        len++;
    }
    if (rc == ERR_OK && s != SQLITE_DONE)
        rc = sqlite_util_error(db, s, "sqlite read", err);
    sqlite3_finalize(st);
    if (rc != ERR_OK) {
        for (size_t i = 0; i < len; i++)
            free(v[i]);
        free(v);
        v = NULL;
        len = 0;
    }
    *out = v;
    *n = len;
    return rc;
}

char *sqlite_util_column_strdup(sqlite3_stmt *st, int col, int *nomem)
{
    const unsigned char *s = sqlite3_column_text(st, col);
    char *copy;
    if (!s)
        return NULL;
    copy = strdup((const char *)s);
    if (!copy)
        *nomem = 1;
    return copy;
}

/* Creates every missing directory above the file, mode 0700: the database
 * holds prompts and result URLs, which are nobody else's business. */
static err_code_t make_parent_dirs(const char *path, err_t *err)
{
    char *dir = strdup(path);
    err_code_t rc = ERR_OK;

    if (!dir)
        return err_set(err, ERR_NOMEM, "out of memory");
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) {
        free(dir);
        return ERR_OK;
    }
    *slash = '\0';
    for (char *p = dir + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        struct stat sb;
        if (mkdir(dir, 0700) != 0 && errno != EEXIST &&
            !(stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode))) {
            rc = err_set(err, ERR_IO, "cannot create directory %s: %s", dir,
                         strerror(errno));
            break;
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
    free(dir);
    return rc;
}

/* Creates the file ourselves rather than letting SQLite do it, so its mode
 * is 0600 whatever the umask (SQLite would use 0644 & ~umask).  The -wal
 * and -shm files SQLite makes later copy the database file's mode. */
static err_code_t create_file(const char *path, err_t *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        struct stat st;
        int e = errno;
        /* An existing database others can write is refused (see
         * config_prepare_state for the state directory). */
        if (e == EEXIST && stat(path, &st) == 0 && (st.st_mode & (S_IWGRP | S_IWOTH)))
            return err_set(err, ERR_CONFIG, "%s: the database is writable by %s (mode %04o); "
                           "check it, then chmod 600 %s", path,
                           st.st_mode & S_IWOTH ? "everyone" : "its group",
                           (unsigned)(st.st_mode & 07777), path);
        if (e == EEXIST)
            return ERR_OK;
        return err_set(err, ERR_IO, "cannot create %s: %s", path, strerror(e));
    }
    int bad = fchmod(fd, 0600) != 0;
    close(fd);
    if (bad)
        return err_set(err, ERR_IO, "cannot chmod %s: %s", path, strerror(errno));
    return ERR_OK;
}

static err_code_t pragma_int(sqlite3 *db, const char *sql, int64_t *out,
                             char *text, size_t text_len, err_t *err)
{
    sqlite3_stmt *st;
    err_code_t rc = sqlite_util_prepare(db, sql, &st, err);
    if (rc != ERR_OK)
        return rc;
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        if (out)
            *out = sqlite3_column_int64(st, 0);
        if (text) {
            const unsigned char *t = sqlite3_column_text(st, 0);
            snprintf(text, text_len, "%s", t ? (const char *)t : "");
        }
        s = SQLITE_DONE;
    }
    if (s != SQLITE_DONE)
        rc = sqlite_util_error(db, s, sql, err);
    sqlite3_finalize(st);
    return rc;
}

static err_code_t check_version(int64_t v, const char *path, err_t *err)
{
    if (v > (int64_t)schema_sqlite_count)
        return err_set(err, ERR_CONFIG,
                       "%s: schema version %lld is newer than this onesheet "
                       "knows (%zu); upgrade onesheet", path, (long long)v,
                       schema_sqlite_count);
    return ERR_OK;
}

/* Applies the missing migrations.  The version is read again inside BEGIN
 * IMMEDIATE, so when two processes start on a new file together, the second
 * waits for the first and then finds nothing left to do. */
static err_code_t migrate(sqlite3 *db, const char *path, err_t *err)
{
    int64_t v;
    err_code_t rc = pragma_int(db, "PRAGMA user_version", &v, NULL, 0, err);
    if (rc != ERR_OK || (rc = check_version(v, path, err)) != ERR_OK)
        return rc;
    if (v == (int64_t)schema_sqlite_count)
        return ERR_OK;
    if ((rc = sqlite_util_begin(db, err)) != ERR_OK)
        return rc;
    rc = pragma_int(db, "PRAGMA user_version", &v, NULL, 0, err);
    if (rc == ERR_OK)
        rc = check_version(v, path, err);
    for (size_t i = (size_t)v; rc == ERR_OK && i < schema_sqlite_count; i++) {
        char sql[64];
        rc = sqlite_util_exec(db, schema_sqlite_migrations[i], err);
        if (rc != ERR_OK) {
            err_prefix(err, "%s: migration %zu", path, i + 1);
            break;
        }
        snprintf(sql, sizeof sql, "PRAGMA user_version = %zu", i + 1);
        rc = sqlite_util_exec(db, sql, err);
    }
    if (rc != ERR_OK) {
        sqlite_util_rollback(db);
        return rc;
    }
    return sqlite_util_commit(db, err);
}

/* Sets WAL mode.  While processes open a new file together, the switch
 * from the rollback journal can fail with SQLITE_BUSY at once, without the
 * busy handler being called (seen on 1 of about 60 runs of 6 processes on a
 * loaded machine); it is tried again every few ms within the busy
 * timeout.  WAL mode is kept in the file, so once one process has set it
 * the others find it set. */
static err_code_t wal_mode(sqlite3 *db, char *mode, size_t mode_len, err_t *err)
{
    int64_t waited_us = 0;
    for (long pause_us = 1000;; pause_us = pause_us < 32000 ? pause_us * 2 : pause_us) {
        err_t e = {0};
        err_code_t rc = pragma_int(db, "PRAGMA journal_mode = WAL", NULL, mode, mode_len, &e);
        if (rc != ERR_BUSY || waited_us >= (int64_t)busy_timeout_ms * 1000) {
            if (rc != ERR_OK && err)
                *err = e;
            return rc;
        }
        usleep((useconds_t)pause_us);
        waited_us += pause_us;
    }
}

/* synchronous=FULL: the ledger is the durable record — a batch id printed
 * by submit, or a job marked succeeded, must survive a power cut.  NORMAL
 * in WAL mode could lose the last commits.  The cost is one fsync a commit,
 * which bulk operations pay once (one transaction each) and the worker pays
 * a few times per job that itself takes seconds. */
static err_code_t configure(sqlite3 *db, const char *path, err_t *err)
{
    char mode[16] = "";
    err_code_t rc;

    sqlite3_busy_timeout(db, busy_timeout_ms);
    if ((rc = wal_mode(db, mode, sizeof mode, err)) != ERR_OK)
        return rc;
    if (strcmp(mode, "wal") != 0)
        return err_set(err, ERR_IO, "%s: cannot use WAL journal (got %s); "
                       "is it on a network file system?", path, mode);
    /* A page cache of up to 64 MB (default 2 MB): a 100,000-line submit
     * touches tens of MB of table and index pages in one transaction, and
     * with the small cache re-reads them from the OS again and again.  The
     * cache only grows as pages are used. */
    char sql[128];
    snprintf(sql, sizeof sql, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; "
             "PRAGMA cache_size = -%d", (int)cache_kib);
    rc = sqlite_util_exec(db, sql, err);
    return rc == ERR_OK ? migrate(db, path, err) : rc;
}

err_code_t sqlite_util_open(const char *path, sqlite3 **out, err_t *err)
{
    sqlite3 *db = NULL;
    err_code_t rc;

    *out = NULL;
    if (!path || !*path)
        return err_set(err, ERR_CONFIG, "empty SQLite database path");
    /* Every connection would get its own private database: useless for a
     * queue shared between processes. */
    if (strcmp(path, ":memory:") == 0)
        return err_set(err, ERR_CONFIG, "SQLite database must be a file, not :memory:");
    if ((rc = make_parent_dirs(path, err)) != ERR_OK ||
        (rc = create_file(path, err)) != ERR_OK)
        return rc;
    /* NOMUTEX: a connection belongs to one queue_t/ledger_t, which is used
     * by one thread at a time. */
    int s = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                            SQLITE_OPEN_NOMUTEX, NULL);
    if (s != SQLITE_OK) {
        rc = sqlite_util_error(db, s, path, err);
        sqlite3_close(db);
        return rc;
    }
    if ((rc = configure(db, path, err)) != ERR_OK) {
        sqlite3_close(db);
        return rc;
    }
    *out = db;
    return ERR_OK;
}
