/* ledger_conformance — see ledger_conformance.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger_conformance.h"

const ledger_result_t lc_result = {
    .url = "https://posters.example/b1/j1.png", .store_key = "b1/j1.png",
    .sha256 = "ab12", .model = "draft", .bytes = 1234, .seed = 42, .cost_usd = 0.04,
};

int ledger_conformance_setup(void **state)
{
    ledger_fixture_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->be = *state;
    fx->be->open(fx);
    assert_non_null(fx->l);
    *state = fx;
    return 0;
}

int ledger_conformance_teardown(void **state)
{
    ledger_fixture_t *fx = *state;
    fx->be->close(fx);
    free(fx);
    return 0;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

size_t lc_add(ledger_t *l, const char *batch, const char *const *ids, size_t n,
              bool *created)
{
    ledger_new_job_t jobs[16];
    bool c;
    size_t added;
    err_t e;
    assert_true(n <= 16);
    for (size_t i = 0; i < n; i++) {
        jobs[i].job_id = ids[i];
        jobs[i].spec_json = "{\"prompt\":\"a poster\"}";
        jobs[i].line = (int)i + 1;
    }
    if (ledger_add_batch(l, batch, "prompts.txt", jobs, n, &c, &added, &e) != ERR_OK)
        fail_msg("add_batch: %s", e.msg);
    if (created)
        *created = c;
    return added;
}

ledger_claim_t lc_claim(ledger_t *l, const char *b, const char *j, const char *owner)
{
    ledger_claim_t out = (ledger_claim_t)-1;
    err_t e;
    if (ledger_claim(l, b, j, 1, owner, 30, &out, &e) != ERR_OK)
        fail_msg("claim: %s", e.msg);
    return out;
}

ledger_job_t lc_get(ledger_t *l, const char *b, const char *j)
{
    ledger_job_t *v, one;
    size_t n;
    err_t e;
    if (ledger_get_jobs(l, b, j, &v, &n, &e) != ERR_OK)
        fail_msg("get_jobs: %s", e.msg);
    assert_int_equal(n, 1);
    one = v[0];
    free(v);
    return one;
}

static job_state_t state_of(ledger_t *l, const char *b, const char *j)
{
    ledger_job_t one = lc_get(l, b, j);
    job_state_t s = one.state;
    ledger_job_free(&one);
    return s;
}

/* ops->fail under another name: cmocka defines a fail() macro. */
static err_code_t lfail(ledger_t *l, const char *b, const char *j, const char *owner,
                        job_state_t st, const char *code, const char *msg, err_t *e)
{
    return ledger_fail(l, b, j, 1, owner, st, code, msg, e);
}

static void shift_clock(ledger_fixture_t *fx, int64_t ms)
{
    fx->be->set_clock_offset(fx->l, ms);
}

void ledger_conformance_adding_a_batch_twice_adds_nothing_new(void **state)
{
    ledger_fixture_t *fx = *state;
    const char *ids[] = {"j1", "j2", "j3", "j4"};
    bool created;
    ledger_batch_t b;
    err_t e;

    assert_int_equal(lc_add(fx->l, "b1", ids, 3, &created), 3);
    assert_true(created);
    assert_int_equal(lc_add(fx->l, "b1", ids, 3, &created), 0);
    assert_false(created);
    assert_int_equal(lc_add(fx->l, "b1", ids, 4, &created), 1);
    assert_int_equal(ledger_get_batch(fx->l, "b1", &b, &e), ERR_OK);
    assert_int_equal(b.total, 4);
    assert_int_equal(b.by_state[JOB_QUEUED], 4);
    assert_string_equal(b.source, "prompts.txt");
    ledger_batch_free(&b);
}

void ledger_conformance_re_adding_never_resets_a_claimed_job(void **state)
{
    ledger_fixture_t *fx = *state;
    const char *ids[] = {"j1", "j2"};
    lc_add(fx->l, "b1", ids, 2, NULL);
    assert_int_equal(lc_claim(fx->l, "b1", "j1", "w1"), CLAIM_OK);
    assert_int_equal(lc_add(fx->l, "b1", ids, 2, NULL), 0);
    assert_int_equal(state_of(fx->l, "b1", "j1"), JOB_RUNNING);
}

void ledger_conformance_pending_enqueue_lists_jobs_until_marked(void **state)
{
    ledger_fixture_t *fx = *state;
    const char *ids[] = {"c", "a", "b"}, *marks[] = {"c", "a", "unknown"};
    char **p;
    size_t n;
    err_t e;

    lc_add(fx->l, "b1", ids, 3, NULL);
    assert_int_equal(ledger_pending_enqueue(fx->l, "b1", &p, NULL, &n, &e), ERR_OK);
    assert_int_equal(n, 3);
    /* In file order (line), not id order. */
    assert_string_equal(p[0], "c");
    assert_string_equal(p[1], "a");
    assert_string_equal(p[2], "b");
    for (size_t i = 0; i < n; i++)
        free(p[i]);
    free(p);
    /* Unknown ids are skipped, not created. */
    assert_int_equal(ledger_mark_enqueued(fx->l, "b1", marks, 3, &e), ERR_OK);
    assert_int_equal(ledger_pending_enqueue(fx->l, "b1", &p, NULL, &n, &e), ERR_OK);
    assert_int_equal(n, 1);
    assert_string_equal(p[0], "b");
    free(p[0]);
    free(p);
    ledger_job_t j = lc_get(fx->l, "b1", "c");
    assert_true(j.enqueued_ms > 0);
    ledger_job_free(&j);
    ledger_job_t *v;
    assert_int_equal(ledger_get_jobs(fx->l, "b1", "unknown", &v, &n, &e), ERR_OK);
    assert_int_equal(n, 0);
    free(v);
}

void ledger_conformance_claim_outcomes_follow_state_and_lease(void **state)
{
    ledger_fixture_t *fx = *state;
    const char *ids[] = {"j1", "j2"};
    size_t n;
    err_t e;

    lc_add(fx->l, "b1", ids, 2, NULL);
    assert_int_equal(lc_claim(fx->l, "b1", "j1", "w1"), CLAIM_OK);
    ledger_job_t j = lc_get(fx->l, "b1", "j1");
    assert_int_equal(j.state, JOB_RUNNING);
    assert_int_equal(j.attempts, 1);
    assert_string_equal(j.lease_owner, "w1");
    assert_true(j.lease_expires >= wall_ms() + 29000);
    ledger_job_free(&j);
    assert_int_equal(lc_claim(fx->l, "b1", "j1", "w2"), CLAIM_HELD);
    /* w1 vanished: once its lease lapses, w2 takes over. */
    shift_clock(fx, 31 * 1000);
    assert_int_equal(lc_claim(fx->l, "b1", "j1", "w2"), CLAIM_OK);
    j = lc_get(fx->l, "b1", "j1");
    assert_int_equal(j.attempts, 2);
    ledger_job_free(&j);
    err_clear(&e);
    assert_int_equal(ledger_succeed(fx->l, "b1", "j1", "w1", &lc_result, &e),
                     ERR_CONFLICT);
    assert_non_null(strstr(e.msg, "w2"));
    assert_int_equal(ledger_succeed(fx->l, "b1", "j1", "w2", &lc_result, &e), ERR_OK);
    j = lc_get(fx->l, "b1", "j1");
    assert_int_equal(j.state, JOB_SUCCEEDED);
    assert_string_equal(j.url, lc_result.url);
    assert_string_equal(j.sha256, "ab12");
    assert_string_equal(j.model, "draft");
    assert_int_equal(j.bytes, 1234);
    assert_int_equal(j.seed, 42);
    assert_true(j.cost_usd > 0.0399 && j.cost_usd < 0.0401);
    assert_true(j.finished_ms >= j.started_ms && j.started_ms > 0);
    ledger_job_free(&j);
    assert_int_equal(lc_claim(fx->l, "b1", "j1", "w3"), CLAIM_DONE);
    assert_int_equal(lc_claim(fx->l, "b1", "nope", "w3"), CLAIM_NOTFOUND);
    assert_int_equal(ledger_cancel(fx->l, "b1", "j2", &n, &e), ERR_OK);
    assert_int_equal(lc_claim(fx->l, "b1", "j2", "w3"), CLAIM_CANCELLED);
}

void ledger_conformance_the_same_owner_may_claim_again(void **state)
{
    ledger_fixture_t *fx = *state;
    const char *ids[] = {"j1"};
    lc_add(fx->l, "b1", ids, 1, NULL);
    assert_int_equal(lc_claim(fx->l, "b1", "j1", "w1"), CLAIM_OK);
    assert_int_equal(lc_claim(fx->l, "b1", "j1", "w1"), CLAIM_OK);
    ledger_job_t j = lc_get(fx->l, "b1", "j1");
    assert_int_equal(j.attempts, 2);
    ledger_job_free(&j);
}

void ledger_conformance_writes_are_conditional_on_the_lease_owner(void **state)
{
    ledger_fixture_t *fx = *state;
    ledger_t *l = fx->l;
    const char *ids[] = {"j1"};
    err_t e;

    lc_add(l, "b1", ids, 1, NULL);
    assert_int_equal(lc_claim(l, "b1", "j1", "w1"), CLAIM_OK);
    ledger_job_t j = lc_get(l, "b1", "j1");
    int64_t first = j.lease_expires;
    ledger_job_free(&j);
    assert_int_equal(ledger_extend(l, "b1", "j1", "w2", 60, &e), ERR_CONFLICT);
    assert_int_equal(ledger_release(l, "b1", "j1", "w2", "x", "y", &e), ERR_CONFLICT);
    assert_int_equal(lfail(l, "b1", "j1", "w2", JOB_FAILED, "x", "y", &e), ERR_CONFLICT);
    assert_int_equal(state_of(l, "b1", "j1"), JOB_RUNNING);
    assert_int_equal(ledger_extend(l, "b1", "j1", "w1", 600, &e), ERR_OK);
    j = lc_get(l, "b1", "j1");
    assert_true(j.lease_expires > first + 500 * 1000);
    ledger_job_free(&j);
    assert_int_equal(ledger_extend(l, "b1", "nope", "w1", 60, &e), ERR_NOTFOUND);

    assert_int_equal(ledger_release(l, "b1", "j1", "w1", "ThrottlingException",
                                     "slow down", &e), ERR_OK);
    j = lc_get(l, "b1", "j1");
    assert_int_equal(j.state, JOB_QUEUED);
    assert_null(j.lease_owner);
    assert_string_equal(j.error_code, "ThrottlingException");
    ledger_job_free(&j);
    /* Released: the old owner can no longer extend it. */
    assert_int_equal(ledger_extend(l, "b1", "j1", "w1", 60, &e), ERR_CONFLICT);

    assert_int_equal(lc_claim(l, "b1", "j1", "w1"), CLAIM_OK);
    assert_int_equal(lfail(l, "b1", "j1", "w1", JOB_FILTERED, "filtered", "blocked", &e),
                     ERR_OK);
    j = lc_get(l, "b1", "j1");
    assert_int_equal(j.state, JOB_FILTERED);
    assert_string_equal(j.error_message, "blocked");
    ledger_job_free(&j);
    assert_int_equal(lfail(l, "b1", "j1", "w1", JOB_RUNNING, "x", "y", &e), ERR_INVALID);
}

void ledger_conformance_fail_without_owner_marks_only_unfinished_jobs(void **state)
{
    ledger_fixture_t *fx = *state;
    ledger_t *l = fx->l;
    const char *ids[] = {"q", "r", "s"};
    err_t e;

    lc_add(l, "b1", ids, 3, NULL);
    assert_int_equal(lc_claim(l, "b1", "r", "w1"), CLAIM_OK);
    assert_int_equal(lc_claim(l, "b1", "s", "w1"), CLAIM_OK);
    assert_int_equal(ledger_succeed(l, "b1", "s", "w1", &lc_result, &e), ERR_OK);
    assert_int_equal(lfail(l, "b1", "q", NULL, JOB_FAILED, "dead_letter", "m", &e), ERR_OK);
    assert_int_equal(lfail(l, "b1", "r", NULL, JOB_FAILED, "dead_letter", "m", &e), ERR_OK);
    assert_int_equal(lfail(l, "b1", "s", NULL, JOB_FAILED, "dead_letter", "m", &e),
                     ERR_CONFLICT);
    assert_int_equal(lfail(l, "b1", "zz", NULL, JOB_FAILED, "dead_letter", "m", &e),
                     ERR_NOTFOUND);
    assert_int_equal(state_of(l, "b1", "q"), JOB_FAILED);
    assert_int_equal(state_of(l, "b1", "r"), JOB_FAILED);
    assert_int_equal(state_of(l, "b1", "s"), JOB_SUCCEEDED);
}

void ledger_conformance_cancel_stops_queued_and_running_jobs(void **state)
{
    ledger_fixture_t *fx = *state;
    ledger_t *l = fx->l;
    const char *ids[] = {"j1", "j2", "j3", "j4"};
    ledger_batch_t b;
    size_t n = 99;
    err_t e;

    lc_add(l, "b1", ids, 4, NULL);
    assert_int_equal(lc_claim(l, "b1", "j1", "w1"), CLAIM_OK);
    assert_int_equal(lc_claim(l, "b1", "j4", "w1"), CLAIM_OK);
    assert_int_equal(ledger_succeed(l, "b1", "j4", "w1", &lc_result, &e), ERR_OK);
    assert_int_equal(ledger_cancel(l, "b1", "j2", &n, &e), ERR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ledger_cancel(l, "b1", "j2", &n, &e), ERR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(ledger_cancel(l, "b1", NULL, &n, &e), ERR_OK);
    assert_int_equal(n, 2);   /* j1 running, j3 queued; j4 stays succeeded */
    assert_int_equal(ledger_succeed(l, "b1", "j1", "w1", &lc_result, &e), ERR_CONFLICT);
    assert_int_equal(ledger_get_batch(l, "b1", &b, &e), ERR_OK);
    assert_int_equal(b.by_state[JOB_CANCELLED], 3);
    assert_int_equal(b.by_state[JOB_SUCCEEDED], 1);
    ledger_batch_free(&b);
    assert_int_equal(ledger_cancel(l, "nobatch", NULL, &n, &e), ERR_NOTFOUND);
    assert_int_equal(ledger_cancel(l, "b1", "nojob", &n, &e), ERR_NOTFOUND);
}

void ledger_conformance_get_jobs_finds_an_id_in_every_batch(void **state)
{
    ledger_fixture_t *fx = *state;
    const char *ids[] = {"same", "other"};
    ledger_job_t *v;
    size_t n;
    err_t e;

    lc_add(fx->l, "b2", ids, 2, NULL);
    shift_clock(fx, 1000);
    lc_add(fx->l, "b1", ids, 1, NULL);
    assert_int_equal(ledger_get_jobs(fx->l, NULL, "same", &v, &n, &e), ERR_OK);
    assert_int_equal(n, 2);
    /* Oldest batch first, whatever the ids. */
    assert_string_equal(v[0].batch_id, "b2");
    assert_string_equal(v[1].batch_id, "b1");
    assert_string_equal(v[1].spec_json, "{\"prompt\":\"a poster\"}");
    ledger_jobs_free(v, n);
    assert_int_equal(ledger_get_jobs(fx->l, "b1", "same", &v, &n, &e), ERR_OK);
    assert_int_equal(n, 1);
    ledger_jobs_free(v, n);
    assert_int_equal(ledger_get_jobs(fx->l, NULL, "missing", &v, &n, &e), ERR_OK);
    assert_int_equal(n, 0);
    ledger_jobs_free(v, n);
}

void ledger_conformance_get_batch_counts_jobs_by_state(void **state)
{
    ledger_fixture_t *fx = *state;
    ledger_t *l = fx->l;
    const char *ids[] = {"a", "b", "c", "d", "e"};
    ledger_batch_t b;
    size_t n;
    err_t e;

    lc_add(l, "b1", ids, 5, NULL);
    lc_claim(l, "b1", "a", "w");
    lc_claim(l, "b1", "b", "w");
    ledger_succeed(l, "b1", "b", "w", &lc_result, &e);
    lc_claim(l, "b1", "c", "w");
    lfail(l, "b1", "c", "w", JOB_FAILED, "x", "y", &e);
    ledger_cancel(l, "b1", "d", &n, &e);
    assert_int_equal(ledger_get_batch(l, "b1", &b, &e), ERR_OK);
    assert_string_equal(b.batch_id, "b1");
    assert_int_equal(b.total, 5);
    assert_int_equal(b.by_state[JOB_QUEUED], 1);
    assert_int_equal(b.by_state[JOB_RUNNING], 1);
    assert_int_equal(b.by_state[JOB_SUCCEEDED], 1);
    assert_int_equal(b.by_state[JOB_FAILED], 1);
    assert_int_equal(b.by_state[JOB_CANCELLED], 1);
    assert_true(b.created_ms > 0);
    ledger_batch_free(&b);
    assert_int_equal(ledger_get_batch(l, "zz", &b, &e), ERR_NOTFOUND);
}

/* Lists with f and returns "batch/job" joined by spaces (static buffer). */
static const char *list_str(ledger_t *l, ledger_filter_t f)
{
    static char out[1024];
    ledger_job_t *v;
    size_t n, len = 0;
    err_t e;
    if (ledger_list(l, &f, &v, &n, &e) != ERR_OK)
        fail_msg("list: %s", e.msg);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, sizeof out - len, "%s%s/%s", i ? " " : "",
                                v[i].batch_id, v[i].job_id);
    ledger_jobs_free(v, n);
    return out;
}

/* Pages through f with pages of size, returning every job as list_str. */
static const char *list_paged(ledger_t *l, ledger_filter_t f, size_t size)
{
    static char got[1024];
    char last_b[64] = "", last_j[64] = "";
    got[0] = '\0';
    for (int page = 0; page < 50; page++) {
        ledger_job_t *v;
        size_t n;
        err_t e;
        f.limit = size;
        f.after_batch_id = page ? last_b : NULL;
        f.after_job_id = page ? last_j : NULL;
        if (ledger_list(l, &f, &v, &n, &e) != ERR_OK)
            fail_msg("list page %d: %s", page, e.msg);
        assert_true(n <= size);
        for (size_t i = 0; i < n; i++) {
            size_t len = strlen(got);
            snprintf(got + len, sizeof got - len, "%s%s/%s", len ? " " : "",
                     v[i].batch_id, v[i].job_id);
        }
        if (n) {
            snprintf(last_b, sizeof last_b, "%s", v[n - 1].batch_id);
            snprintf(last_j, sizeof last_j, "%s", v[n - 1].job_id);
        }
        ledger_jobs_free(v, n);
        if (n < size)
            break;
    }
    return got;
}

void ledger_conformance_list_filters_and_pages_in_submission_order(void **state)
{
    ledger_fixture_t *fx = *state;
    ledger_t *l = fx->l;
    const char *ids1[] = {"z", "y", "x"}, *ids2[] = {"a", "b"}, *ids3[] = {"m"};
    ledger_filter_t all = {.state = -1}, f;
    ledger_batch_t *bs;
    ledger_job_t *v0 = NULL;
    size_t n;
    err_t e;

    lc_add(l, "b9", ids1, 3, NULL);
    shift_clock(fx, 60 * 1000);
    int64_t t2 = wall_ms() + 60 * 1000;
    lc_add(l, "b0", ids2, 2, NULL);
    shift_clock(fx, 120 * 1000);
    lc_add(l, "b5", ids3, 1, NULL);
    lc_claim(l, "b9", "y", "w");
    lc_claim(l, "b0", "b", "w");

    /* Batch created first comes first, then file line. */
    assert_string_equal(list_str(l, all), "b9/z b9/y b9/x b0/a b0/b b5/m");
    f = all;
    f.state = JOB_RUNNING;
    assert_string_equal(list_str(l, f), "b9/y b0/b");
    f = all;
    f.since_ms = t2;
    assert_string_equal(list_str(l, f), "b0/a b0/b b5/m");
    f = all;
    f.batch_id = "b9";
    f.state = JOB_QUEUED;
    assert_string_equal(list_str(l, f), "b9/z b9/x");
    f = all;
    f.limit = 4;
    assert_string_equal(list_str(l, f), "b9/z b9/y b9/x b0/a");

    /* Pages of every size, each continuing after the last job of the
     * previous page, across batch boundaries. */
    for (size_t size = 1; size <= 7; size++)
        assert_string_equal(list_paged(l, all, size), "b9/z b9/y b9/x b0/a b0/b b5/m");
    f = all;
    f.state = JOB_QUEUED;
    assert_string_equal(list_paged(l, f, 2), "b9/z b9/x b0/a b5/m");
    f = all;
    f.batch_id = "b0";
    assert_string_equal(list_paged(l, f, 1), "b0/a b0/b");

    f = all;
    f.after_job_id = "z";   /* a cursor without its batch is ambiguous */
    assert_int_equal(ledger_list(l, &f, &v0, &n, &e), ERR_INVALID);
    f.batch_id = "b9";      /* ... unless the filter names it */
    assert_string_equal(list_str(l, f), "b9/y b9/x");
    f = all;
    f.after_batch_id = "b9";
    f.after_job_id = "gone";   /* nothing comes after a job that is not there */
    assert_string_equal(list_str(l, f), "");
    f.state = 17;
    assert_int_equal(ledger_list(l, &f, &v0, &n, &e), ERR_INVALID);

    assert_int_equal(ledger_list_batches(l, 0, &bs, &n, &e), ERR_OK);
    assert_int_equal(n, 3);
    assert_string_equal(bs[0].batch_id, "b5");   /* newest first */
    assert_string_equal(bs[1].batch_id, "b0");
    assert_int_equal(bs[2].total, 3);
    assert_int_equal(bs[2].by_state[JOB_RUNNING], 1);
    ledger_batches_free(bs, n);
    assert_int_equal(ledger_list_batches(l, 1, &bs, &n, &e), ERR_OK);
    assert_int_equal(n, 1);
    ledger_batches_free(bs, n);
    assert_int_equal(ledger_list_batches(l, 2, &bs, &n, &e), ERR_OK);
    assert_int_equal(n, 2);
    assert_string_equal(bs[1].batch_id, "b0");
    ledger_batches_free(bs, n);
}

/* A job added later to an old batch is still found by a since filter. */
void ledger_conformance_since_finds_jobs_added_to_an_old_batch(void **state)
{
    ledger_fixture_t *fx = *state;
    const char *ids[] = {"old", "new"};
    ledger_filter_t f = {.state = -1};
    lc_add(fx->l, "b1", ids, 1, NULL);
    shift_clock(fx, 3600 * 1000);
    f.since_ms = wall_ms() + 1800 * 1000;
    assert_string_equal(list_str(fx->l, f), "");
    assert_int_equal(lc_add(fx->l, "b1", ids, 2, NULL), 1);
    assert_string_equal(list_str(fx->l, f), "b1/new");
}
