/* ledger_conformance — the behaviours every ledger back-end must show, as
 * cmocka tests any back-end's test program runs: idempotent submits,
 * conditional claims and completions under leases, cancellation, lookups,
 * counts, listing and pagination, campaign spend (ledger_conformance_spend.c),
 * the worker registry (ledger_conformance_workers.c), the webhook outbox
 * (ledger_conformance_outbox.c), review marks and lineage
 * (ledger_conformance_review.c), the shared quota
 * (ledger_conformance_quota.c), what a finish records
 * (ledger_conformance_finish.c) and who wins when workers meet on a job
 * (ledger_conformance_race.c).
 * tests/unit/test_ledger_sqlite.c runs them
 * on SQLite, tests/live/live_ledger_dynamodb.c on DynamoDB (dynalite); what
 * only one back-end shows stays in its own file.
 *
 * Use: describe the back-end in a ledger_backend_t and put
 * LEDGER_CONFORMANCE_TESTS(&backend) in the test array; a back-end's own
 * tests can share the fixture with LEDGER_CONFORMANCE_TEST_F. */
#ifndef ONESHEET_LEDGER_CONFORMANCE_H
#define ONESHEET_LEDGER_CONFORMANCE_H

#include "ledger/ledger.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ledger_backend ledger_backend_t;

/* A test's state: a fresh, empty ledger. */
typedef struct {
    ledger_t *l;
    char where[512];               /* the back-end's name for it: URL, table */
    void *data;                    /* the back-end's own (a directory, ...) */
    const ledger_backend_t *be;
} ledger_fixture_t;

struct ledger_backend {
    /* Opens a fresh, empty ledger into fx->l (setting fx->where and
     * fx->data as it likes); fails the test when it cannot. */
    void (*open)(ledger_fixture_t *fx);
    /* Closes fx->l and removes whatever open made, the clock offset too. */
    void (*close)(ledger_fixture_t *fx);
    /* From now on the ledger's clock runs offset_ms ahead of the wall clock
     * (not cumulative: each call replaces the last offset). */
    void (*set_clock_offset)(ledger_t *l, int64_t offset_ms);
};

/* cmocka setup and teardown: *state starts as the ledger_backend_t and is a
 * ledger_fixture_t during the test. */
int ledger_conformance_setup(void **state);
int ledger_conformance_teardown(void **state);

/* The result the tests record for a job that succeeded. */
extern const ledger_result_t lc_result;

/* Adds jobs named by ids (lines 1..n, a fixed spec, source "prompts.txt");
 * returns how many were new, and in *created (may be NULL) whether the
 * batch was.  Fails the test on an error. */
size_t lc_add(ledger_t *l, const char *batch, const char *const *ids, size_t n,
              bool *created);
/* Claims (batch b, job j) for owner with a 30 s lease; fails the test on an
 * error. */
ledger_claim_t lc_claim(ledger_t *l, const char *b, const char *j, const char *owner);
/* The one job (batch b, job j), which must exist; the caller frees it. */
ledger_job_t lc_get(ledger_t *l, const char *b, const char *j);

/* The conformance tests: X(name, arg) for each. */
#define LC_TESTS_(X, arg) \
    X(adding_a_batch_twice_adds_nothing_new, arg) \
    X(re_adding_never_resets_a_claimed_job, arg) \
    X(pending_enqueue_lists_jobs_until_marked, arg) \
    X(claim_outcomes_follow_state_and_lease, arg) \
    X(the_same_owner_may_claim_again, arg) \
    X(writes_are_conditional_on_the_lease_owner, arg) \
    X(fail_without_owner_marks_only_unfinished_jobs, arg) \
    X(cancel_stops_queued_and_running_jobs, arg) \
    X(get_jobs_finds_an_id_in_every_batch, arg) \
    X(get_batch_counts_jobs_by_state, arg) \
    X(list_filters_and_pages_in_submission_order, arg) \
    X(since_finds_jobs_added_to_an_old_batch, arg) \
    X(spend_is_recorded_once_per_slot, arg) \
    X(the_monthly_limit_refuses_and_writes_nothing, arg) \
    X(bad_spend_is_refused, arg) \
    X(retry_reopens_only_the_selected_states, arg) \
    X(retry_keeps_every_run_in_the_history, arg) \
    X(a_second_retry_reopens_nothing, arg) \
    X(a_message_of_an_earlier_run_is_stale, arg) \
    X(retry_of_unknown_ids_is_not_found, arg) \
    X(a_beat_registers_and_refreshes_one_entry, arg) \
    X(a_worker_that_leaves_is_gone, arg) \
    X(a_silent_worker_turns_stale_then_is_pruned, arg) \
    X(bad_workers_are_refused, arg) \
    X(webhook_url_is_set_once, arg) \
    X(each_terminal_job_writes_one_event, arg) \
    X(batch_completed_once_whichever_job_is_last, arg) \
    X(outbox_takes_with_a_lease_and_records_attempts, arg) \
    X(taken_events_come_back_one_lease_apart, arg) \
    X(a_batch_that_grows_completes_again, arg) \
    X(a_retried_run_sends_its_own_events, arg) \
    X(only_a_succeeded_job_takes_a_mark, arg) \
    X(the_latest_mark_wins, arg) \
    X(lineage_reads_both_ways_once, arg) \
    X(quota_put_is_a_compare_and_swap, arg) \
    X(quota_buckets_are_listed_by_key, arg) \
    X(bad_quota_writes_are_refused, arg) \
    X(two_clients_never_hold_the_same_token, arg) \
    X(success_records_the_checksum_and_the_art, arg) \
    X(a_finished_job_names_its_worker_not_a_lease, arg) \
    X(a_finish_records_the_model_lifecycle, arg) \
    X(a_lease_passed_on_refuses_the_old_owner, arg) \
    X(a_cancel_refuses_the_worker_holding_the_job, arg) \
    X(a_release_hands_the_job_to_the_next_claim, arg)

#define LC_DECLARE_(name, arg) void ledger_conformance_##name(void **state);
LC_TESTS_(LC_DECLARE_, -)

/* A CMUnitTest initialiser: test fn named name with the conformance
 * fixture on back-end be (a ledger_backend_t *), so a back-end's own tests
 * can use the same fixture. */
#define LEDGER_CONFORMANCE_TEST_F(name, fn, be) \
    {name, fn, ledger_conformance_setup, ledger_conformance_teardown, (void *)(be)}

#define LC_ENTRY_(name, be) \
    LEDGER_CONFORMANCE_TEST_F(#name, ledger_conformance_##name, be),
/* Every conformance test on back-end be, as CMUnitTest initialisers each
 * followed by a comma. */
#define LEDGER_CONFORMANCE_TESTS(be) LC_TESTS_(LC_ENTRY_, be)

#endif
