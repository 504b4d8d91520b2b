/* Tests for the embedded SQLite queue (queue_sqlite.c) and the shared open
 * path (sqlite_util.c): SQS semantics, concurrency across processes, file
 * modes and migrations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "queue/queue.h"
#include "base/schema_sql.h"
#include "base/sqlite_util.h"
#include "testutil.h"

typedef struct {
    char *dir;
    char url[512];
    char path[512];
} fx_t;

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    fx->dir = tu_mkdtemp();
    snprintf(fx->path, sizeof fx->path, "%s/state/onesheet.db", fx->dir);
    snprintf(fx->url, sizeof fx->url, "sqlite:%s", fx->path);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    sqlite_util_set_clock_offset_ms(0);
    sqlite_util_set_busy_timeout_ms(5000);
    tu_rmtree(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

static queue_t *open_q(const fx_t *fx)
{
    err_t e;
    err_clear(&e);
    queue_t *q = queue_open(fx->url, &e);
    if (!q)
        fail_msg("queue_open: %s", e.msg);
    return q;
}

static void send_strs(queue_t *q, const char *const *bodies, size_t n)
{
    err_t e;
    assert_int_equal(queue_send_batch(q, bodies, n, &e), ERR_OK);
}

static size_t recv(queue_t *q, size_t max, int vis, queue_msg_t **m)
{
    err_t e;
    size_t n = 0;
    err_clear(&e);
    if (queue_receive(q, max, vis, 0, m, &n, &e) != ERR_OK)
        fail_msg("receive: %s", e.msg);
    return n;
}

static queue_stats_t stats(queue_t *q)
{
    queue_stats_t st;
    err_t e;
    assert_int_equal(queue_stats(q, &st, &e), ERR_OK);
    return st;
}

static void send_receive_delete_in_order(void **state)
{
    fx_t *fx = *state;
    queue_t *q = open_q(fx);
    const char *bodies[] = {"one", "two", "{\"v\":1,\"q\":\"three\"}"};
    queue_msg_t *m;
    err_t e;

    send_strs(q, bodies, 3);
    assert_int_equal(recv(q, 10, 30, &m), 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(m[i].body, bodies[i]);
        assert_int_equal(m[i].body_len, strlen(bodies[i]));
        assert_int_equal(m[i].receive_count, 1);
        assert_true(strlen(m[i].receipt) >= 32);
        assert_int_equal(queue_delete(q, m[i].receipt, &e), ERR_OK);
    }
    queue_msgs_free(m, 3);
    queue_stats_t st = stats(q);
    assert_int_equal(st.visible + st.inflight + st.delayed + st.dead, 0);
    assert_int_equal(recv(q, 10, 30, &m), 0);
    assert_null(m);
    queue_close(q);
}

static void expired_visibility_redelivers_under_a_new_receipt(void **state)
{
    fx_t *fx = *state;
    queue_t *q = open_q(fx);
    const char *body = "job";
    queue_msg_t *m1, *m2;
    err_t e;

    send_strs(q, &body, 1);
    assert_int_equal(recv(q, 1, 30, &m1), 1);
    assert_int_equal(recv(q, 1, 30, &m2), 0);
    sqlite_util_set_clock_offset_ms(29 * 1000);
    assert_int_equal(recv(q, 1, 30, &m2), 0);
    sqlite_util_set_clock_offset_ms(31 * 1000);
    assert_int_equal(recv(q, 1, 30, &m2), 1);
    assert_string_equal(m2->id, m1->id);
    assert_int_equal(m2->receive_count, 2);
    assert_string_not_equal(m2->receipt, m1->receipt);
    /* The first worker's receipt is stale: it must not touch the new
     * delivery. */
    assert_int_equal(queue_delete(q, m1->receipt, &e), ERR_NOTFOUND);
    assert_int_equal(queue_change_visibility(q, m1->receipt, 0, &e), ERR_NOTFOUND);
    assert_int_equal(stats(q).inflight, 1);
    assert_int_equal(queue_delete(q, m2->receipt, &e), ERR_OK);
    assert_int_equal(queue_delete(q, m2->receipt, &e), ERR_NOTFOUND);
    queue_msgs_free(m1, 1);
    queue_msgs_free(m2, 1);
    queue_close(q);
}

/* Without a batch call of its own, the queue deletes one by one: stale
 * receipts are marked, the others deleted. */
static void delete_batch_deletes_and_marks_stale(void **state)
{
    fx_t *fx = *state;
    queue_t *q = open_q(fx);
    const char *bodies[] = {"a", "b", "c"};
    queue_msg_t *m;
    err_t e;

    send_strs(q, bodies, 3);
    assert_int_equal(recv(q, 10, 30, &m), 3);
    assert_int_equal(queue_delete(q, m[1].receipt, &e), ERR_OK);
    const char *r[3] = {m[0].receipt, m[1].receipt, m[2].receipt};
    int stale[3] = {7, 7, 7};
    assert_int_equal(queue_delete_batch(q, r, 3, stale, &e), ERR_OK);
    assert_int_equal(stale[0], 0);
    assert_int_equal(stale[1], 1);
    assert_int_equal(stale[2], 0);
    queue_stats_t st = stats(q);
    assert_int_equal(st.visible + st.inflight + st.delayed + st.dead, 0);
    queue_msgs_free(m, 3);
    queue_close(q);
}

static void change_visibility_extends_and_zero_releases(void **state)
{
    fx_t *fx = *state;
    queue_t *q = open_q(fx);
    const char *body = "job";
    queue_msg_t *m, *again;
    err_t e;

    send_strs(q, &body, 1);
    assert_int_equal(recv(q, 1, 10, &m), 1);
    assert_int_equal(queue_change_visibility(q, m->receipt, 60, &e), ERR_OK);
    sqlite_util_set_clock_offset_ms(11 * 1000);
    assert_int_equal(recv(q, 1, 10, &again), 0);
    assert_int_equal(queue_change_visibility(q, m->receipt, 0, &e), ERR_OK);
    assert_int_equal(recv(q, 1, 10, &again), 1);
    assert_int_equal(again->receive_count, 2);
    assert_int_equal(queue_change_visibility(q, m->receipt, 5, &e), ERR_NOTFOUND);
    assert_int_equal(queue_change_visibility(q, again->receipt, -1, &e), ERR_INVALID);
    queue_msgs_free(m, 1);
    queue_msgs_free(again, 1);
    queue_close(q);
}

static void max_receives_moves_to_dead_letter_taken_once(void **state)
{
    fx_t *fx = *state;
    queue_t *q = open_q(fx);
    const char *bodies[] = {"poison", "fine"};
    queue_msg_t *m;
    size_t n;
    err_t e;

    q->max_receives = 2;
    send_strs(q, bodies, 1);
    for (int i = 1; i <= 2; i++) {
        sqlite_util_set_clock_offset_ms(i * 100 * 1000);
        assert_int_equal(recv(q, 1, 30, &m), 1);
        assert_int_equal(m->receive_count, i);
        queue_msgs_free(m, 1);
    }
    sqlite_util_set_clock_offset_ms(300 * 1000);
    send_strs(q, bodies + 1, 1);
    /* The third receive buries "poison" (first in line) and still delivers
     * "fine" in its place. */
    assert_int_equal(recv(q, 1, 30, &m), 1);
    assert_string_equal(m->body, "fine");
    queue_msgs_free(m, 1);
    assert_int_equal(stats(q).dead, 1);
    assert_int_equal(queue_take_dead(q, 10, &m, &n, &e), ERR_OK);
    assert_int_equal(n, 1);
    assert_string_equal(m->body, "poison");
    assert_int_equal(m->receive_count, 2);
    assert_int_equal(queue_delete(q, m->receipt, &e), ERR_NOTFOUND);
    queue_msgs_free(m, n);
    assert_int_equal(queue_take_dead(q, 10, &m, &n, &e), ERR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(stats(q).dead, 0);
    queue_close(q);
}

static void failed_batch_send_leaves_nothing(void **state)
{
    fx_t *fx = *state;
    queue_t *q = open_q(fx);
    const char *bodies[] = {"a", "b", "poison", "c"};
    sqlite3 *db;
    err_t e;

    /* Make the third insert fail inside the transaction. */
    assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TRIGGER t BEFORE INSERT ON queue_messages"
                                  " WHEN NEW.body = 'poison' BEGIN"
                                  " SELECT RAISE(ABORT, 'poisoned'); END", NULL, NULL,
                                  NULL), SQLITE_OK);
    sqlite3_close(db);
    err_clear(&e);
    assert_int_equal(queue_send_batch(q, bodies, 4, &e), ERR_IO);
    assert_non_null(strstr(e.msg, "poisoned"));
    assert_int_equal(stats(q).visible, 0);
    const char *bad[] = {"ok", NULL};
    assert_int_equal(queue_send_batch(q, bad, 2, &e), ERR_INVALID);
    assert_int_equal(stats(q).visible, 0);
    queue_close(q);
}

static void stats_tell_visible_inflight_delayed_dead(void **state)
{
    fx_t *fx = *state;
    queue_t *q = open_q(fx);
    const char *bodies[] = {"a", "b", "c", "d"};
    queue_msg_t *m;

    send_strs(q, bodies, 3);
    assert_int_equal(recv(q, 1, 60, &m), 1);
    queue_msgs_free(m, 1);
    /* Sent "in the future" and never received: delayed. */
    sqlite_util_set_clock_offset_ms(3600 * 1000);
    send_strs(q, bodies + 3, 1);
    sqlite_util_set_clock_offset_ms(0);
    queue_stats_t st = stats(q);
    assert_int_equal(st.visible, 2);
    assert_int_equal(st.inflight, 1);
    assert_int_equal(st.delayed, 1);
    assert_int_equal(st.dead, 0);
    queue_close(q);
}

/* Each child drains the shared queue, deleting what it gets and writing the
 * ids to its own file. */
static int drain_child(const char *url, const char *out_path, int go_fd)
{
    char c;
    err_t e;
    queue_t *q = queue_open(url, &e);
    FILE *fp = fopen(out_path, "w");
    if (!q || !fp)
        return 3;
    if (read(go_fd, &c, 1) < 0)
        return 2;
    for (int round = 0;; round++) {
        queue_msg_t *m = NULL;
        size_t n = 0;
        if (queue_receive(q, 1 + round % 3, 60, 0, &m, &n, &e) != ERR_OK)
            return 4;
        if (n == 0)
            break;
        for (size_t i = 0; i < n; i++) {
            fprintf(fp, "%s %s\n", m[i].id, m[i].body);
            if (queue_delete(q, m[i].receipt, &e) != ERR_OK)
                return 5;
        }
        queue_msgs_free(m, n);
        usleep(500);   /* let the others in, so the processes interleave */
    }
    fclose(fp);
    queue_close(q);
    return 0;
}

static void four_processes_receive_each_message_exactly_once(void **state)
{
    enum { NMSG = 500, NPROC = 4 };
    fx_t *fx = *state;
    queue_t *q = open_q(fx);
    static char bufs[NMSG][16];
    const char *bodies[NMSG];
    int seen[NMSG] = {0}, go[2];
    pid_t pids[NPROC];
    char path[600];

    for (int i = 0; i < NMSG; i++) {
        snprintf(bufs[i], sizeof bufs[i], "m%d", i);
        bodies[i] = bufs[i];
    }
    send_strs(q, bodies, NMSG);
    queue_close(q);   /* never carry an open SQLite handle across fork */
    assert_int_equal(pipe(go), 0);
    for (int p = 0; p < NPROC; p++) {
        snprintf(path, sizeof path, "%s/got.%d", fx->dir, p);
        if ((pids[p] = fork()) == 0) {
            close(go[1]);
            _exit(drain_child(fx->url, path, go[0]));
        }
        assert_true(pids[p] > 0);
    }
    close(go[0]);
    close(go[1]);   /* start them together */
    for (int p = 0; p < NPROC; p++) {
        int status;
        assert_int_equal(waitpid(pids[p], &status, 0), pids[p]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    int total = 0;
    for (int p = 0; p < NPROC; p++) {
        snprintf(path, sizeof path, "%s/got.%d", fx->dir, p);
        FILE *fp = fopen(path, "r");
        char id[32], body[32];
        int mine = 0;
        assert_non_null(fp);
        while (fscanf(fp, "%31s %31s", id, body) == 2) {
            int k = atoi(body + 1);
            assert_true(k >= 0 && k < NMSG);
            seen[k]++;
            mine++;
        }
        fclose(fp);
        printf("# process %d received %d\n", p, mine);
        total += mine;
    }
    assert_int_equal(total, NMSG);
    for (int i = 0; i < NMSG; i++)
        assert_int_equal(seen[i], 1);
}

static void held_write_lock_gives_err_busy(void **state)
{
    fx_t *fx = *state;
    const char *body = "x";
    queue_msg_t *m = NULL;
    size_t n = 9;
    sqlite3 *db;
    err_t e;

    sqlite_util_set_busy_timeout_ms(50);
    queue_t *q = open_q(fx);
    send_strs(q, &body, 1);
    assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    err_clear(&e);
    assert_int_equal(queue_receive(q, 1, 30, 0, &m, &n, &e), ERR_BUSY);
    assert_int_equal(n, 0);
    assert_null(m);
    assert_true(err_is_retryable(&e));
    assert_int_equal(queue_send_batch(q, &body, 1, &e), ERR_BUSY);
    assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(recv(q, 1, 30, &m), 1);
    queue_msgs_free(m, 1);
    queue_close(q);
}

static void database_file_is_0600_in_a_new_0700_directory(void **state)
{
    fx_t *fx = *state;
    char dir[600];
    struct stat sb;
    mode_t old = umask(022);

    queue_close(open_q(fx));
    umask(old);
    snprintf(dir, sizeof dir, "%s/state", fx->dir);
    assert_int_equal(stat(dir, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    assert_int_equal(stat(fx->path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
}

static int64_t user_version(const char *path)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    int64_t v = -1;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        return -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void reopening_keeps_data_and_schema_version(void **state)
{
    fx_t *fx = *state;
    const char *body = "kept";
    queue_msg_t *m;

    queue_t *q = open_q(fx);
    send_strs(q, &body, 1);
    queue_close(q);
    assert_int_equal(user_version(fx->path), (int64_t)schema_sqlite_count);
    q = open_q(fx);
    assert_int_equal(user_version(fx->path), (int64_t)schema_sqlite_count);
    assert_int_equal(recv(q, 1, 30, &m), 1);
    assert_string_equal(m->body, "kept");
    queue_msgs_free(m, 1);
    queue_close(q);
}

static void processes_opening_a_new_file_together_all_succeed(void **state)
{
    fx_t *fx = *state;
    pid_t pids[6];
    int go[2];

    assert_int_equal(pipe(go), 0);
    for (int p = 0; p < 6; p++) {
        if ((pids[p] = fork()) == 0) {
            char c;
            err_t e;
            close(go[1]);
            if (read(go[0], &c, 1) < 0)
                _exit(2);
            queue_t *q = queue_open(fx->url, &e);
            if (!q)
                fprintf(stderr, "# process %d: %s\n", p, e.msg);
            _exit(q ? 0 : 1);
        }
    }
    close(go[0]);
    close(go[1]);
    for (int p = 0; p < 6; p++) {
        int status;
        assert_int_equal(waitpid(pids[p], &status, 0), pids[p]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    assert_int_equal(user_version(fx->path), (int64_t)schema_sqlite_count);
}

static void newer_schema_is_refused(void **state)
{
    fx_t *fx = *state;
    char sql[64];
    sqlite3 *db;
    err_t e;

    queue_close(open_q(fx));
    assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
    snprintf(sql, sizeof sql, "PRAGMA user_version = %zu", schema_sqlite_count + 1);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    err_clear(&e);
    assert_null(queue_open(fx->url, &e));
    assert_int_equal(e.code, ERR_CONFIG);
    assert_non_null(strstr(e.msg, "newer"));
}

static void unknown_queue_kind_is_a_config_error(void **state)
{
    err_t e;
    (void)state;
    err_clear(&e);
    assert_null(queue_open("redis://localhost/q", &e));
    assert_int_equal(e.code, ERR_CONFIG);
    assert_non_null(strstr(e.msg, "redis://localhost/q"));
    assert_null(queue_open("sqlite:", &e));
    assert_int_equal(e.code, ERR_CONFIG);
}

static void wait_returns_when_a_message_arrives(void **state)
{
    fx_t *fx = *state;
    queue_msg_t *m = NULL;
    size_t n = 0;
    err_t e;

    queue_close(open_q(fx));   /* create the file before the race */
    pid_t pid = fork();
    if (pid == 0) {
        const char *body = "late";
        usleep(300 * 1000);
        queue_t *q = queue_open(fx->url, &e);
        _exit(q && queue_send_batch(q, &body, 1, &e) == ERR_OK ? 0 : 1);
    }
    queue_t *q = open_q(fx);
    double t0 = tu_mono_s();
    assert_int_equal(queue_receive(q, 1, 30, 5, &m, &n, &e), ERR_OK);
    double took = tu_mono_s() - t0;
    assert_int_equal(n, 1);
    assert_string_equal(m->body, "late");
    assert_true(took >= 0.2 && took < 3.0);
    queue_msgs_free(m, n);
    t0 = tu_mono_s();
    assert_int_equal(queue_receive(q, 1, 30, 1, &m, &n, &e), ERR_OK);
    assert_int_equal(n, 0);
    assert_true(tu_mono_s() - t0 >= 0.9);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    queue_close(q);
}

static void hundred_thousand_sends_are_fast(void **state)
{
    enum { N = 100000 };
    fx_t *fx = *state;
    queue_t *q = open_q(fx);
    const char **bodies = malloc(N * sizeof *bodies);
    char body[] = "{\"v\":1,\"batch\":\"b0000000000000000\",\"job\":\"j000000000000000\","
                  "\"spec\":{\"prompt\":\"a lighthouse at dusk, film poster\"}}";

    for (size_t i = 0; i < N; i++)
        bodies[i] = body;
    double t0 = tu_mono_s();
    send_strs(q, bodies, N);
    double took = tu_mono_s() - t0;
    printf("# sent %d messages in %.3f s\n", N, took);
    assert_int_equal(stats(q).visible, N);
    assert_true(took < 60.0);   /* informational; catches a transaction per row */
    free(bodies);
    queue_close(q);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(send_receive_delete_in_order),
        T(expired_visibility_redelivers_under_a_new_receipt),
        T(delete_batch_deletes_and_marks_stale),
        T(change_visibility_extends_and_zero_releases),
        T(max_receives_moves_to_dead_letter_taken_once),
        T(failed_batch_send_leaves_nothing),
        T(stats_tell_visible_inflight_delayed_dead),
        T(four_processes_receive_each_message_exactly_once),
        T(held_write_lock_gives_err_busy),
        T(database_file_is_0600_in_a_new_0700_directory),
        T(reopening_keeps_data_and_schema_version),
        T(processes_opening_a_new_file_together_all_succeed),
        T(newer_schema_is_refused),
        T(unknown_queue_kind_is_a_config_error),
        T(wait_returns_when_a_message_arrives),
        T(hundred_thousand_sends_are_fast),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
