/* queue_sqlite — the embedded queue: SQS semantics on one SQLite table.
 *
 * A message is visible when visible_at <= now.  receive() runs in BEGIN
 * IMMEDIATE, so between choosing messages and hiding them no other
 * connection (thread or process) can write: two workers never get the same
 * visible message.  WAL mode keeps readers (stats, the wait probe) from
 * blocking that writer.  Each delivery draws a new random receipt, which is
 * the only handle delete and change_visibility accept.
 *
 * Stats, as on SQS: visible = visible_at <= now; inflight = hidden and
 * received at least once (being worked on, or hidden again by
 * change_visibility to back off — SQS's "not visible"); delayed = hidden and
 * never received (SQS's "delayed": sent for later); dead = dead-lettered and
 * not yet taken.  max_receives <= 0 turns dead-lettering off. */
#include "queue/queue_sqlite.h"
#include "base/buf.h"
#include "base/crypto.h"
#include "base/sqlite_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_VISIBILITY_S 43200             /* SQS's limit: 12 hours */
#define MAX_BODY 262144                    /* SQS's limit: 256 KiB */
#define POLL_MS 100                        /* wait_s probe interval */
#define DEAD_RETENTION_MS (14LL * 86400 * 1000)
#define CHUNK 64                           /* candidates read per pass */

typedef struct {
    queue_t base;
    sqlite3 *db;
} sq_queue_t;

/* A growing array of messages being returned. */
typedef struct {
    queue_msg_t *v;
    size_t n, cap;
} msgvec_t;

static err_code_t msgvec_push(msgvec_t *mv, sqlite3_int64 id, const char *receipt,
                              const char *body, size_t len, int count, err_t *err)
{
    char idbuf[24];
    if (!body)   /* a NOT NULL column read as NULL: SQLite ran out of memory */
        return err_set(err, ERR_NOMEM, "out of memory");
    if (mv->n == mv->cap) {
        size_t cap = mv->cap ? mv->cap * 2 : 8;
        queue_msg_t *v = realloc(mv->v, cap * sizeof *v);
        if (!v)
            return err_set(err, ERR_NOMEM, "out of memory");
        mv->v = v;
        mv->cap = cap;
    }
    queue_msg_t *m = &mv->v[mv->n];
    snprintf(idbuf, sizeof idbuf, "%lld", (long long)id);
    m->id = strdup(idbuf);
    m->receipt = strdup(receipt);
    m->body = malloc(len + 1);
    m->body_len = len;
    m->receive_count = count;
    mv->n++;   /* counted even when incomplete, so the caller frees it */
    if (!m->id || !m->receipt || !m->body)
        return err_set(err, ERR_NOMEM, "out of memory");
    memcpy(m->body, body, len);
    m->body[len] = '\0';
    return ERR_OK;
}

static err_code_t sq_send_batch(queue_t *q, const char *const *bodies, size_t n,
                                err_t *err)
{
    sqlite3 *db = ((sq_queue_t *)q)->db;
    sqlite3_stmt *st = NULL;
    err_code_t rc;

    for (size_t i = 0; i < n; i++) {
        if (!bodies[i])
            return err_set(err, ERR_INVALID, "queue send: message %zu has no body", i);
        if (strlen(bodies[i]) > MAX_BODY)
            return err_set(err, ERR_TOOBIG, "queue send: message %zu is over %d bytes",
                           i, MAX_BODY);
    }
    if (n == 0)
        return ERR_OK;
    if ((rc = sqlite_util_begin(db, err)) != ERR_OK)
        return rc;
    rc = sqlite_util_prepare(db, "INSERT INTO queue_messages (body, sent_ms, visible_at)"
                             " VALUES (?1, ?2, ?2)", &st, err);
    int64_t now = sqlite_util_now_ms();
    /* One statement reused for every row, in one transaction: one fsync. */
    for (size_t i = 0; rc == ERR_OK && i < n; i++) {
        sqlite3_bind_text(st, 1, bodies[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now);
        int s = sqlite3_step(st);
        if (s != SQLITE_DONE)
            rc = sqlite_util_error(db, s, "queue send", err);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (rc != ERR_OK) {
        sqlite_util_rollback(db);
        return rc;
    }
    return sqlite_util_commit(db, err);
}

/* One message, first visible delay_s seconds from now (a job handed back
 * by a worker that does not serve its model). */
static err_code_t sq_send_delayed(queue_t *q, const char *body, int delay_s, err_t *err)
{
    sqlite3 *db = ((sq_queue_t *)q)->db;
    sqlite3_stmt *st = NULL;
    if (!body)
        return err_set(err, ERR_INVALID, "queue send: the message has no body");
    if (strlen(body) > MAX_BODY)
        return err_set(err, ERR_TOOBIG, "queue send: the message is over %d bytes", MAX_BODY);
    err_code_t rc = sqlite_util_prepare(db, "INSERT INTO queue_messages (body, sent_ms,"
                                            " visible_at) VALUES (?1, ?2, ?3)", &st, err);
    if (rc != ERR_OK)
        return rc;
    int64_t now = sqlite_util_now_ms();
    sqlite3_bind_text(st, 1, body, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int64(st, 3, now + (int64_t)delay_s * 1000);
    rc = sqlite_util_step(db, st, "queue send", err);
    sqlite3_finalize(st);
    return rc;
}

/* Hides one candidate under a fresh receipt and adds it to mv. */
static err_code_t deliver(sqlite3 *db, sqlite3_stmt *upd, sqlite3_int64 id,
                          int64_t visible_at, msgvec_t *mv, err_t *err)
{
    uint8_t raw[16];
    char receipt[sizeof raw * 2 + 1];
    err_code_t rc;

    if ((rc = crypto_random(raw, sizeof raw)) != ERR_OK)
        return err_set(err, rc, "queue receive: no random receipt");
    hex_encode(raw, sizeof raw, receipt);
    sqlite3_bind_int64(upd, 1, visible_at);
    sqlite3_bind_text(upd, 2, receipt, -1, SQLITE_STATIC);
    sqlite3_bind_int64(upd, 3, id);
    int s = sqlite3_step(upd);
    if (s == SQLITE_ROW)
        rc = msgvec_push(mv, id, receipt, (const char *)sqlite3_column_text(upd, 0),
                         (size_t)sqlite3_column_bytes(upd, 0),
                         sqlite3_column_int(upd, 1), err);
    else
        rc = sqlite_util_error(db, s, "queue receive", err);
    sqlite3_reset(upd);
    return rc;
}

/* Moves a message to the dead-letter table. */
static err_code_t bury(sqlite3 *db, sqlite3_stmt *mv, sqlite3_stmt *del,
                       sqlite3_int64 id, int64_t now, err_t *err)
{
    sqlite3_bind_int64(mv, 1, now);
    sqlite3_bind_int64(mv, 2, id);
    sqlite3_bind_int64(del, 1, id);
    int s = sqlite3_step(mv);
    if (s == SQLITE_DONE)
        s = sqlite3_step(del);
    sqlite3_reset(mv);
    sqlite3_reset(del);
    return s == SQLITE_DONE ? ERR_OK : sqlite_util_error(db, s, "queue dead-letter", err);
}

/* One receive attempt, in one write transaction.  Candidates are read a
 * chunk at a time and changed only after the read statement is reset, since
 * SQLite leaves undefined what a scan sees of rows changed under it. */
static err_code_t receive_once(sq_queue_t *q, size_t max, int vis, msgvec_t *mv,
                               err_t *err)
{
    static const char *const sql[] = {
        "SELECT id, receive_count FROM queue_messages WHERE visible_at <= ?1"
        " ORDER BY visible_at, id LIMIT ?2",
        "UPDATE queue_messages SET visible_at = ?1, receive_count = receive_count + 1,"
        " receipt = ?2 WHERE id = ?3 RETURNING body, receive_count",
        "INSERT INTO queue_dead (id, body, sent_ms, receive_count, died_ms)"
        " SELECT id, body, sent_ms, receive_count, ?1 FROM queue_messages WHERE id = ?2",
        "DELETE FROM queue_messages WHERE id = ?1",
    };
    sqlite3_stmt *st[4] = {NULL, NULL, NULL, NULL};
    err_code_t rc;

    if ((rc = sqlite_util_begin(q->db, err)) != ERR_OK)
        return rc;
    for (size_t i = 0; rc == ERR_OK && i < 4; i++)
        rc = sqlite_util_prepare(q->db, sql[i], &st[i], err);
    int64_t now = sqlite_util_now_ms();
    while (rc == ERR_OK && mv->n < max) {
        sqlite3_int64 ids[CHUNK];
        int counts[CHUNK];
        size_t want = max - mv->n < CHUNK ? max - mv->n : CHUNK, got = 0;
        int s;

        sqlite3_bind_int64(st[0], 1, now);
        sqlite3_bind_int64(st[0], 2, (sqlite3_int64)want);
        while ((s = sqlite3_step(st[0])) == SQLITE_ROW) {
            ids[got] = sqlite3_column_int64(st[0], 0);
            counts[got++] = sqlite3_column_int(st[0], 1);
        }
        if (s != SQLITE_DONE)
            rc = sqlite_util_error(q->db, s, "queue receive", err);
        sqlite3_reset(st[0]);
        for (size_t i = 0; rc == ERR_OK && i < got; i++) {
            if (q->base.max_receives > 0 && counts[i] >= q->base.max_receives)
                rc = bury(q->db, st[2], st[3], ids[i], now, err);
            else
                rc = deliver(q->db, st[1], ids[i], now + (int64_t)vis * 1000, mv, err);
        }
        /* Another pass only replaces dead-lettered candidates.  With a zero
         * visibility the delivered ones stay visible and would come back. */
        if (got < want || vis == 0)
            break;
    }
    for (size_t i = 0; i < 4; i++)
        sqlite3_finalize(st[i]);
    if (rc != ERR_OK) {
        sqlite_util_rollback(q->db);
        return rc;
    }
    return sqlite_util_commit(q->db, err);
}

/* A cheap read outside any write transaction: is anything visible?  Lets an
 * idle worker poll without taking the write lock. */
static err_code_t any_visible(sqlite3 *db, bool *yes, err_t *err)
{
    sqlite3_stmt *st;
    err_code_t rc = sqlite_util_prepare(db, "SELECT 1 FROM queue_messages"
                                        " WHERE visible_at <= ?1 LIMIT 1", &st, err);
    if (rc != ERR_OK)
        return rc;
    sqlite3_bind_int64(st, 1, sqlite_util_now_ms());
    int s = sqlite3_step(st);
    *yes = s == SQLITE_ROW;
    if (s != SQLITE_ROW && s != SQLITE_DONE)
        rc = sqlite_util_error(db, s, "queue receive", err);
    sqlite3_finalize(st);
    return rc;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Polls every POLL_MS until something is delivered or wait_s is over.  A
 * signal interrupting the sleep ends the wait early (with no messages), so
 * a worker told to stop is not held up for the whole wait. */
static err_code_t sq_receive(queue_t *q, size_t max, int vis, int wait_s,
                             queue_msg_t **out, size_t *n, err_t *err)
{
    msgvec_t mv = {NULL, 0, 0};
    int64_t deadline = mono_ms() + (int64_t)wait_s * 1000;
    err_code_t rc = ERR_OK;

    *out = NULL;
    *n = 0;
    if (max == 0 || vis < 0 || vis > MAX_VISIBILITY_S || wait_s < 0)
        return err_set(err, ERR_INVALID, "queue receive: bad arguments (max %zu, "
                       "visibility %d s, wait %d s)", max, vis, wait_s);
    for (;;) {
        bool ready = false;
        if ((rc = any_visible(((sq_queue_t *)q)->db, &ready, err)) != ERR_OK)
            break;
        if (ready && (rc = receive_once((sq_queue_t *)q, max, vis, &mv, err)) != ERR_OK)
            break;
        int64_t left = deadline - mono_ms();
        if (mv.n > 0 || left <= 0)
            break;
        int64_t ms = left < POLL_MS ? left : POLL_MS;
        struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
        if (nanosleep(&ts, NULL) != 0 && errno == EINTR)
            break;
    }
    if (rc != ERR_OK) {
        queue_msgs_free(mv.v, mv.n);
        return rc;
    }
    *out = mv.v;
    *n = mv.n;
    return ERR_OK;
}

/* Runs one UPDATE/DELETE keyed by receipt; ERR_NOTFOUND when no row has it
 * (the message was deleted or delivered again since). */
static err_code_t by_receipt(queue_t *q, const char *sql, const char *receipt,
                             int64_t arg, const char *what, err_t *err)
{
    sqlite3 *db = ((sq_queue_t *)q)->db;
    sqlite3_stmt *st;
    err_code_t rc;

    if (!receipt)
        return err_set(err, ERR_INVALID, "%s: no receipt", what);
    if ((rc = sqlite_util_prepare(db, sql, &st, err)) != ERR_OK)
        return rc;
    sqlite3_bind_text(st, 1, receipt, -1, SQLITE_STATIC);
    if (sqlite3_bind_parameter_count(st) >= 2)
        sqlite3_bind_int64(st, 2, arg);
    int s = sqlite3_step(st);
    if (s != SQLITE_DONE)
        rc = sqlite_util_error(db, s, what, err);
    else if (sqlite3_changes(db) == 0)
        rc = err_set(err, ERR_NOTFOUND, "%s: receipt is stale (message deleted or "
                     "received again)", what);
    sqlite3_finalize(st);
    return rc;
}

static err_code_t sq_change_visibility(queue_t *q, const char *receipt, int secs,
                                       err_t *err)
{
    if (secs < 0 || secs > MAX_VISIBILITY_S)
        return err_set(err, ERR_INVALID, "queue change visibility: %d s is out of "
                       "range 0..%d", secs, MAX_VISIBILITY_S);
    return by_receipt(q, "UPDATE queue_messages SET visible_at = ?2 WHERE receipt = ?1",
                      receipt, sqlite_util_now_ms() + (int64_t)secs * 1000,
                      "queue change visibility", err);
}

static err_code_t sq_delete(queue_t *q, const char *receipt, err_t *err)
{
    return by_receipt(q, "DELETE FROM queue_messages WHERE receipt = ?1",
                      receipt, 0, "queue delete", err);
}

static err_code_t sq_stats(queue_t *q, queue_stats_t *out, err_t *err)
{
    sqlite3 *db = ((sq_queue_t *)q)->db;
    sqlite3_stmt *st;
    /* One statement, so all four counts come from one snapshot. */
    err_code_t rc = sqlite_util_prepare(db,
        "SELECT (SELECT count(*) FROM queue_messages WHERE visible_at <= ?1),"
        " (SELECT count(*) FROM queue_messages WHERE visible_at > ?1 AND receive_count > 0),"
        " (SELECT count(*) FROM queue_messages WHERE visible_at > ?1 AND receive_count = 0),"
        " (SELECT count(*) FROM queue_dead WHERE taken_ms IS NULL)", &st, err);
    if (rc != ERR_OK)
        return rc;
    sqlite3_bind_int64(st, 1, sqlite_util_now_ms());
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        out->visible = sqlite3_column_int64(st, 0);
        out->inflight = sqlite3_column_int64(st, 1);
        out->delayed = sqlite3_column_int64(st, 2);
        out->dead = sqlite3_column_int64(st, 3);
    } else {
        rc = sqlite_util_error(db, s, "queue stats", err);
    }
    sqlite3_finalize(st);
    return rc;
}

/* Dead messages come back with an empty receipt: they can no longer be
 * deleted or hidden, only read once. */
static err_code_t take_dead_tx(sqlite3 *db, size_t max, int64_t now, msgvec_t *mv,
                               err_t *err)
{
    sqlite3_stmt *prune = NULL, *sel = NULL, *mark = NULL;
    err_code_t rc = sqlite_util_prepare(db, "DELETE FROM queue_dead WHERE taken_ms"
                                        " IS NOT NULL AND taken_ms < ?1", &prune, err);
    if (rc == ERR_OK)
        rc = sqlite_util_prepare(db, "SELECT id, body, receive_count FROM queue_dead"
                                 " WHERE taken_ms IS NULL ORDER BY id LIMIT ?1", &sel, err);
    if (rc == ERR_OK)
        rc = sqlite_util_prepare(db, "UPDATE queue_dead SET taken_ms = ?1"
                                 " WHERE id = ?2", &mark, err);
    if (rc == ERR_OK) {
        sqlite3_bind_int64(prune, 1, now - DEAD_RETENTION_MS);
        int s = sqlite3_step(prune);
        if (s != SQLITE_DONE)
            rc = sqlite_util_error(db, s, "queue take dead", err);
    }
    if (rc == ERR_OK) {
        int s = SQLITE_DONE;
        sqlite3_bind_int64(sel, 1, (sqlite3_int64)max);
        while (rc == ERR_OK && (s = sqlite3_step(sel)) == SQLITE_ROW)
            rc = msgvec_push(mv, sqlite3_column_int64(sel, 0), "",
                             (const char *)sqlite3_column_text(sel, 1),
                             (size_t)sqlite3_column_bytes(sel, 1),
                             sqlite3_column_int(sel, 2), err);
        if (rc == ERR_OK && s != SQLITE_DONE)
            rc = sqlite_util_error(db, s, "queue take dead", err);
    }
    sqlite3_reset(sel);
    for (size_t i = 0; rc == ERR_OK && i < mv->n; i++) {
        sqlite3_bind_int64(mark, 1, now);
        sqlite3_bind_int64(mark, 2, strtoll(mv->v[i].id, NULL, 10));
        int s = sqlite3_step(mark);
        if (s != SQLITE_DONE)
            rc = sqlite_util_error(db, s, "queue take dead", err);
        sqlite3_reset(mark);
    }
    sqlite3_finalize(prune);
    sqlite3_finalize(sel);
    sqlite3_finalize(mark);
    return rc;
}

static err_code_t sq_take_dead(queue_t *q, size_t max, queue_msg_t **out, size_t *n,
                               err_t *err)
{
    sqlite3 *db = ((sq_queue_t *)q)->db;
    msgvec_t mv = {NULL, 0, 0};
    err_code_t rc;

    *out = NULL;
    *n = 0;
    if (max == 0)
        return err_set(err, ERR_INVALID, "queue take dead: max is 0");
    if ((rc = sqlite_util_begin(db, err)) != ERR_OK)
        return rc;
    rc = take_dead_tx(db, max, sqlite_util_now_ms(), &mv, err);
    if (rc == ERR_OK)
        rc = sqlite_util_commit(db, err);
    else
        sqlite_util_rollback(db);
    if (rc != ERR_OK) {
        queue_msgs_free(mv.v, mv.n);
        return rc;
    }
    *out = mv.v;
    *n = mv.n;
    return ERR_OK;
}

static void sq_close(queue_t *q)
{
    sq_queue_t *s = (sq_queue_t *)q;
    sqlite3_close(s->db);
    free(s);
}

static const queue_ops_t sq_ops = {
    .send_batch = sq_send_batch,
    .receive = sq_receive,
    .change_visibility = sq_change_visibility,
    .delete_msg = sq_delete,
    .stats = sq_stats,
    .take_dead = sq_take_dead,
    .close = sq_close,
    .send_delayed = sq_send_delayed,
};

/* Opens (creating and migrating when needed) the queue in the SQLite file at
 * path.  Returns a new queue (queue_close frees it) or NULL with err set. */
queue_t *queue_sqlite_open(const char *path, err_t *err)
{
    sq_queue_t *q = calloc(1, sizeof *q);
    if (!q) {
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (sqlite_util_open(path, &q->db, err) != ERR_OK) {
        free(q);
        return NULL;
    }
    q->base.ops = &sq_ops;
    q->base.max_receives = 5;
    return &q->base;
}
