/* Tests for worker/slot.c: the table of a slot's allowed state transitions
 * is exactly the one worker.h describes, every allowed move is made and
 * wakes a stage thread when the slot becomes work, and a forbidden one
 * stops the process (asserts are on in every build).  The unit tests link
 * libcommon only, so the file under test is compiled in here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../worker/slot.c"

/* The moves the worker makes, and no others. */
static const struct {
    slot_state_t from, to;
} moves[] = {
    {SLOT_FREE, SLOT_RESERVED},         /* reserved for a receive */
    {SLOT_RESERVED, SLOT_RECEIVED},     /* a message came (network engines) */
    {SLOT_RESERVED, SLOT_WAITING},      /* claimed: the driver's */
    {SLOT_RESERVED, SLOT_FREE},         /* nothing came, skipped, or finished in place */
    {SLOT_RECEIVED, SLOT_RESERVED},     /* taken back to be claimed */
    {SLOT_WAITING, SLOT_RUNNING},       /* the call started */
    {SLOT_WAITING, SLOT_DONE},          /* the start failed, or SIGTERM came first */
    {SLOT_RUNNING, SLOT_WAITING},       /* throttled or transient: again later */
    {SLOT_RUNNING, SLOT_DONE},          /* the call is over */
    {SLOT_DONE, SLOT_FINISHING},        /* taken to be finished */
    {SLOT_FINISHING, SLOT_FREE},        /* finished */
};
#define NMOVES (sizeof moves / sizeof moves[0])

static bool listed(slot_state_t from, slot_state_t to)
{
    for (size_t i = 0; i < NMOVES; i++)
        if (moves[i].from == from && moves[i].to == to)
            return true;
    return false;
}

static void the_table_allows_exactly_the_listed_moves(void **state)
{
    (void)state;
    for (int from = 0; from < SLOT_NSTATES; from++)
        for (int to = 0; to < SLOT_NSTATES; to++) {
            if (worker_slot_transition_ok((slot_state_t)from, (slot_state_t)to) !=
                listed((slot_state_t)from, (slot_state_t)to))
                fail_msg("%s -> %s", worker_slot_state_name((slot_state_t)from),
                         worker_slot_state_name((slot_state_t)to));
        }
    /* No state stays put, and nothing outside the enum is allowed. */
    for (int st = 0; st < SLOT_NSTATES; st++)
        assert_false(worker_slot_transition_ok((slot_state_t)st, (slot_state_t)st));
    assert_false(worker_slot_transition_ok(SLOT_NSTATES, SLOT_FREE));
    assert_false(worker_slot_transition_ok(SLOT_FREE, SLOT_NSTATES));
    assert_string_equal(worker_slot_state_name(SLOT_FINISHING), "finishing");
    assert_string_equal(worker_slot_state_name(SLOT_NSTATES), "?");
}

static bool waiting;   /* under w.lock: wait_for_work is in its wait */

/* Waits up to 5 s on w->cond for slot 0 to be DONE; returns (void *)1 if
 * no signal came. */
static void *wait_for_work(void *arg)
{
    worker_t *w = arg;
    struct timespec ts;
    int rc = 0;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 5;
    pthread_mutex_lock(&w->lock);
    waiting = true;
    while (w->slots[0].state != SLOT_DONE && rc == 0)
        rc = pthread_cond_timedwait(&w->cond, &w->lock, &ts);
    pthread_mutex_unlock(&w->lock);
    return rc == 0 ? NULL : (void *)1;
}

static void a_network_job_goes_round_and_wakes_a_thread_when_done(void **state)
{
    (void)state;
    static worker_t w;
    slot_t slot;
    pthread_t th;
    void *timed_out;

    memset(&slot, 0, sizeof slot);
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.cond, NULL);
    w.slots = &slot;
    w.nslots = 1;
    const slot_state_t path[] = {SLOT_RESERVED, SLOT_RECEIVED, SLOT_RESERVED, SLOT_WAITING,
                                 SLOT_RUNNING, SLOT_WAITING, SLOT_RUNNING};
    pthread_mutex_lock(&w.lock);
    for (size_t i = 0; i < sizeof path / sizeof path[0]; i++) {
        worker_slot_set_state(&w, &slot, path[i]);
        assert_int_equal(slot.state, path[i]);
    }
    pthread_mutex_unlock(&w.lock);
    /* DONE is work for a stage thread: one waiting on cond wakes.  Holding
     * the lock and seeing `waiting` means the thread is in its wait. */
    assert_int_equal(pthread_create(&th, NULL, wait_for_work, &w), 0);
    for (;;) {
        pthread_mutex_lock(&w.lock);
        if (waiting)
            break;
        pthread_mutex_unlock(&w.lock);
        usleep(1000);
    }
    worker_slot_set_state(&w, &slot, SLOT_DONE);
    pthread_mutex_unlock(&w.lock);
    assert_int_equal(pthread_join(th, &timed_out), 0);
    assert_null(timed_out);
    pthread_mutex_lock(&w.lock);
    worker_slot_set_state(&w, &slot, SLOT_FINISHING);
    worker_slot_set_state(&w, &slot, SLOT_FREE);
    pthread_mutex_unlock(&w.lock);
    assert_int_equal(slot.state, SLOT_FREE);
}

/* Runs from -> to in a child; returns its wait status. */
static int move_in_child(slot_state_t from, slot_state_t to)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        static worker_t w;
        slot_t slot;
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, 2);   /* the assert's and the log's lines */
        memset(&slot, 0, sizeof slot);
        pthread_mutex_init(&w.lock, NULL);
        pthread_cond_init(&w.cond, NULL);
        slot.state = from;
        worker_slot_set_state(&w, &slot, to);
        _exit(slot.state == to ? 0 : 1);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return st;
}

static void a_forbidden_move_aborts(void **state)
{
    (void)state;
    int st = move_in_child(SLOT_FREE, SLOT_RUNNING);   /* a job never claimed */
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGABRT);
    st = move_in_child(SLOT_RUNNING, SLOT_FREE);       /* a transfer left behind */
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGABRT);
    st = move_in_child(SLOT_DONE, SLOT_FINISHING);     /* and an allowed one does not */
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_table_allows_exactly_the_listed_moves),
        cmocka_unit_test(a_network_job_goes_round_and_wakes_a_thread_when_done),
        cmocka_unit_test(a_forbidden_move_aborts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
