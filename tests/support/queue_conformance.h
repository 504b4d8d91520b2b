/* queue_conformance — the behaviours every queue back-end must show (the
 * promises of queue.h), as cmocka tests any back-end's test program runs:
 * visibility timeouts, stale receipts, receive counts, dead letters taken
 * once, batch sends that deliver every body exactly once, batch deletes
 * that flag stale receipts, and stats.  tests/unit/test_queue_conformance.c
 * runs them on SQLite, tests/live/live_sqs.c on SQS (fauxqs behind
 * sigproxy); what only one back-end shows stays in its own file.
 *
 * Only the queue.h wrappers are used, never the ops table.  Time passes
 * through the back-end (be->pass): SQLite moves its clock on, SQS sleeps,
 * so the visibility timeouts are 1-2 s and the SQS run stays short.
 *
 * Use: describe the back-end in a queue_backend_t and put
 * QUEUE_CONFORMANCE_TESTS(&backend) in the test array; a back-end's own
 * tests can share the fixture with QUEUE_CONFORMANCE_TEST_F. */
#ifndef ONESHEET_QUEUE_CONFORMANCE_H
#define ONESHEET_QUEUE_CONFORMANCE_H

#include "queue/queue.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every queue the suite opens dead-letters after this many receives. */
#define QC_MAX_RECEIVES 3

typedef struct queue_backend queue_backend_t;

/* A test's state: a fresh, empty queue. */
typedef struct {
    queue_t *q;
    char where[256];               /* the back-end's name for it: URL, spec */
    void *data;                    /* the back-end's own (a directory, ...) */
    int64_t passed_ms;             /* time moved on by be->pass so far */
    const queue_backend_t *be;
} queue_fixture_t;

struct queue_backend {
    /* Opens a fresh, empty queue that dead-letters after max_receives
     * receives into fx->q (setting fx->where and fx->data as it likes);
     * fails the test when it cannot. */
    void (*open)(queue_fixture_t *fx, int max_receives);
    /* Closes fx->q and removes whatever open made, a moved clock too. */
    void (*close)(queue_fixture_t *fx);
    /* Lets ms of the queue's time pass (SQLite: its clock moves on by ms,
     * adding to fx->passed_ms; SQS: a sleep). */
    void (*pass)(queue_fixture_t *fx, int ms);
    /* Whether queue_delete and queue_delete_batch tell a stale receipt
     * (ERR_NOTFOUND, stale[i] = 1), as queue.h promises.  SQS does not:
     * DeleteMessage(Batch) with an old receipt handle succeeds ("but the
     * message might not be deleted", says AWS; fauxqs deletes nothing), so
     * there the suite checks only that nothing was deleted. */
    bool reports_stale_deletes;
};

/* cmocka setup and teardown: *state starts as the queue_backend_t and is a
 * queue_fixture_t during the test. */
int queue_conformance_setup(void **state);
int queue_conformance_teardown(void **state);

/* Receives up to max messages hidden for vis seconds, waiting up to wait
 * seconds; returns how many, *m the array (free with queue_msgs_free).
 * Fails the test on an error. */
size_t qc_recv(queue_t *q, size_t max, int vis, int wait, queue_msg_t **m);
/* The queue's stats; fails the test on an error. */
queue_stats_t qc_stats(queue_t *q);

/* The conformance tests: X(name, arg) for each. */
#define QC_TESTS_(X, arg) \
    X(a_new_queue_is_empty, arg) \
    X(a_received_message_is_hidden_for_its_visibility_timeout, arg) \
    X(change_visibility_extends_and_zero_shows_at_once, arg) \
    X(a_stale_receipt_touches_nothing_after_redelivery, arg) \
    X(receive_count_counts_every_delivery, arg) \
    X(too_many_receives_dead_letter_and_take_dead_returns_it_once, arg) \
    X(send_batch_delivers_every_body_exactly_once, arg) \
    X(send_batch_carries_more_than_one_call_holds, arg) \
    X(send_batch_refuses_a_bad_body_and_sends_nothing, arg) \
    X(delete_batch_deletes_fresh_receipts_and_flags_stale_ones, arg) \
    X(stats_count_messages_by_state, arg) \
    X(a_delayed_send_stays_hidden_for_its_delay, arg)

#define QC_DECLARE_(name, arg) void queue_conformance_##name(void **state);
QC_TESTS_(QC_DECLARE_, -)

/* A CMUnitTest initialiser: test fn named name with the conformance
 * fixture on back-end be (a queue_backend_t *). */
#define QUEUE_CONFORMANCE_TEST_F(name, fn, be) \
    {name, fn, queue_conformance_setup, queue_conformance_teardown, (void *)(be)}

#define QC_ENTRY_(name, be) \
    QUEUE_CONFORMANCE_TEST_F(#name, queue_conformance_##name, be),
/* Every conformance test on back-end be, as CMUnitTest initialisers each
 * followed by a comma. */
#define QUEUE_CONFORMANCE_TESTS(be) QC_TESTS_(QC_ENTRY_, be)

#endif
