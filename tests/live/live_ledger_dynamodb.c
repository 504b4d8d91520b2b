/* live_ledger_dynamodb — the DynamoDB ledger against dynalite (behind
 * sigproxy when tests/integration/dynamodb_live.sh finds it), held to the
 * same behaviours as the SQLite ledger (tests/unit/test_ledger_sqlite.c):
 * idempotent submits, conditional claims and completions under leases,
 * cancellation, lookups, counts, listing and pagination; plus what only a
 * real table shows: ensure, DynamoDB's own result pages, racing claims.
 *
 * Environment: AWS_ENDPOINT_URL_DYNAMODB, AWS_REGION and keys.  Each test
 * gets a fresh table, created through ledger_dynamodb_ensure(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ddb.h"

typedef struct {
    char table[64];
    ledger_t *l;
} fx_t;

static aws_env_t *env;
static int table_seq;

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int group_setup(void **state)
{
    err_t e;
    (void)state;
    if (!getenv("AWS_ENDPOINT_URL_DYNAMODB"))
        fail_msg("AWS_ENDPOINT_URL_DYNAMODB is not set (see dynamodb_live.sh)");
    if (!(env = aws_env_new(NULL, &e)))
        fail_msg("aws_env_new: %s", e.msg);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    aws_env_free(env);
    return 0;
}

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    char report[256];
    err_t e;
    snprintf(fx->table, sizeof fx->table, "ledger-%d-%d", (int)getpid(), ++table_seq);
    if (ledger_dynamodb_ensure(env, fx->table, report, sizeof report, &e) != ERR_OK)
        fail_msg("ensure %s: %s", fx->table, e.msg);
    if (!(fx->l = ledger_dynamodb_open(env, fx->table, &e)))
        fail_msg("open: %s", e.msg);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    ledger_close(fx->l);
    free(fx);
    return 0;
}

static void shift_clock(ledger_t *l, int64_t ms)
{
    assert_int_equal(ledger_dynamodb_set_clock_offset_ms(l, ms), ERR_OK);
}

/* Adds jobs named by ids (lines 1..n) and returns how many were new. */
static size_t add(ledger_t *l, const char *batch, const char *const *ids, size_t n,
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
    if (l->ops->add_batch(l, batch, "prompts.txt", jobs, n, &c, &added, &e) != ERR_OK)
        fail_msg("add_batch: %s", e.msg);
    if (created)
        *created = c;
    return added;
}

static ledger_claim_t claim(ledger_t *l, const char *b, const char *j, const char *owner)
{
    ledger_claim_t out = (ledger_claim_t)-1;
    err_t e;
    if (l->ops->claim(l, b, j, owner, 30, &out, &e) != ERR_OK)
        fail_msg("claim: %s", e.msg);
    return out;
}

/* Returns the one job (batch, job); the caller frees it. */
static ledger_job_t get(ledger_t *l, const char *b, const char *j)
{
    ledger_job_t *v, one;
    size_t n;
    err_t e;
    if (l->ops->get_jobs(l, b, j, &v, &n, &e) != ERR_OK)
        fail_msg("get_jobs: %s", e.msg);
    assert_int_equal(n, 1);
    one = v[0];
    free(v);
    return one;
}

static job_state_t state_of(ledger_t *l, const char *b, const char *j)
{
    ledger_job_t one = get(l, b, j);
    job_state_t s = one.state;
    ledger_job_free(&one);
    return s;
}

/* ops->fail under another name: cmocka defines a fail() macro. */
static err_code_t lfail(ledger_t *l, const char *b, const char *j, const char *owner,
                        job_state_t st, const char *code, const char *msg, err_t *e)
{
    return (l->ops->fail)(l, b, j, owner, st, code, msg, e);
}


static const ledger_result_t result = {
    .url = "https://posters.example/b1/j1.png", .store_key = "b1/j1.png",
    .sha256 = "ab12", .model = "draft", .bytes = 1234, .seed = 42, .cost_usd = 0.04,
};

static void adding_a_batch_twice_adds_nothing_new(void **state)
{
    fx_t *fx = *state;
    const char *ids[] = {"j1", "j2", "j3", "j4"};
    bool created;
    ledger_batch_t b;
    err_t e;

    assert_int_equal(add(fx->l, "b1", ids, 3, &created), 3);
    assert_true(created);
    assert_int_equal(add(fx->l, "b1", ids, 3, &created), 0);
    assert_false(created);
    assert_int_equal(add(fx->l, "b1", ids, 4, &created), 1);
    assert_int_equal(fx->l->ops->get_batch(fx->l, "b1", &b, &e), ERR_OK);
    assert_int_equal(b.total, 4);
    assert_int_equal(b.by_state[JOB_QUEUED], 4);
    assert_string_equal(b.source, "prompts.txt");
    ledger_batch_free(&b);
}

static void re_adding_never_resets_a_claimed_job(void **state)
{
    fx_t *fx = *state;
    const char *ids[] = {"j1", "j2"};
    add(fx->l, "b1", ids, 2, NULL);
    assert_int_equal(claim(fx->l, "b1", "j1", "w1"), CLAIM_OK);
    assert_int_equal(add(fx->l, "b1", ids, 2, NULL), 0);
    assert_int_equal(state_of(fx->l, "b1", "j1"), JOB_RUNNING);
}

static void pending_enqueue_lists_jobs_until_marked(void **state)
{
    fx_t *fx = *state;
    const char *ids[] = {"c", "a", "b"}, *marks[] = {"c", "a", "unknown"};
    char **p;
    size_t n;
    err_t e;

    add(fx->l, "b1", ids, 3, NULL);
    assert_int_equal(fx->l->ops->pending_enqueue(fx->l, "b1", &p, &n, &e), ERR_OK);
    assert_int_equal(n, 3);
    /* In file order (line), not id order. */
    assert_string_equal(p[0], "c");
    assert_string_equal(p[1], "a");
    assert_string_equal(p[2], "b");
    for (size_t i = 0; i < n; i++)
        free(p[i]);
    free(p);
    /* Unknown ids are skipped, not created. */
    assert_int_equal(fx->l->ops->mark_enqueued(fx->l, "b1", marks, 3, &e), ERR_OK);
    assert_int_equal(fx->l->ops->pending_enqueue(fx->l, "b1", &p, &n, &e), ERR_OK);
    assert_int_equal(n, 1);
    assert_string_equal(p[0], "b");
    free(p[0]);
    free(p);
    ledger_job_t j = get(fx->l, "b1", "c");
    assert_true(j.enqueued_ms > 0);
    ledger_job_free(&j);
    ledger_job_t *v;
    assert_int_equal(fx->l->ops->get_jobs(fx->l, "b1", "unknown", &v, &n, &e), ERR_OK);
    assert_int_equal(n, 0);
    free(v);
}

static void claim_outcomes_follow_state_and_lease(void **state)
{
    fx_t *fx = *state;
    const char *ids[] = {"j1", "j2"};
    size_t n;
    err_t e;

    add(fx->l, "b1", ids, 2, NULL);
    assert_int_equal(claim(fx->l, "b1", "j1", "w1"), CLAIM_OK);
    ledger_job_t j = get(fx->l, "b1", "j1");
    assert_int_equal(j.state, JOB_RUNNING);
    assert_int_equal(j.attempts, 1);
    assert_string_equal(j.lease_owner, "w1");
    assert_true(j.lease_expires >= wall_ms() + 29000);
    ledger_job_free(&j);
    assert_int_equal(claim(fx->l, "b1", "j1", "w2"), CLAIM_HELD);
    /* w1 vanished: once its lease lapses, w2 takes over. */
    shift_clock(fx->l, 31 * 1000);
    assert_int_equal(claim(fx->l, "b1", "j1", "w2"), CLAIM_OK);
    j = get(fx->l, "b1", "j1");
    assert_int_equal(j.attempts, 2);
    ledger_job_free(&j);
    err_clear(&e);
    assert_int_equal(fx->l->ops->succeed(fx->l, "b1", "j1", "w1", &result, &e),
                     ERR_CONFLICT);
    assert_non_null(strstr(e.msg, "w2"));
    assert_int_equal(fx->l->ops->succeed(fx->l, "b1", "j1", "w2", &result, &e), ERR_OK);
    j = get(fx->l, "b1", "j1");
    assert_int_equal(j.state, JOB_SUCCEEDED);
    assert_string_equal(j.url, result.url);
    assert_string_equal(j.sha256, "ab12");
    assert_string_equal(j.model, "draft");
    assert_int_equal(j.bytes, 1234);
    assert_int_equal(j.seed, 42);
    assert_true(j.cost_usd > 0.0399 && j.cost_usd < 0.0401);
    assert_true(j.finished_ms >= j.started_ms && j.started_ms > 0);
    ledger_job_free(&j);
    assert_int_equal(claim(fx->l, "b1", "j1", "w3"), CLAIM_DONE);
    assert_int_equal(claim(fx->l, "b1", "nope", "w3"), CLAIM_NOTFOUND);
    assert_int_equal(fx->l->ops->cancel(fx->l, "b1", "j2", &n, &e), ERR_OK);
    assert_int_equal(claim(fx->l, "b1", "j2", "w3"), CLAIM_CANCELLED);
}

static void the_same_owner_may_claim_again(void **state)
{
    fx_t *fx = *state;
    const char *ids[] = {"j1"};
    add(fx->l, "b1", ids, 1, NULL);
    assert_int_equal(claim(fx->l, "b1", "j1", "w1"), CLAIM_OK);
    assert_int_equal(claim(fx->l, "b1", "j1", "w1"), CLAIM_OK);
    ledger_job_t j = get(fx->l, "b1", "j1");
    assert_int_equal(j.attempts, 2);
    ledger_job_free(&j);
}

static void a_repeated_succeed_by_the_owner_is_not_a_conflict(void **state)
{
    fx_t *fx = *state;
    const char *ids[] = {"j1"};
    ledger_result_t other = result;
    err_t e;
    add(fx->l, "b1", ids, 1, NULL);
    assert_int_equal(claim(fx->l, "b1", "j1", "w1"), CLAIM_OK);
    assert_int_equal(fx->l->ops->succeed(fx->l, "b1", "j1", "w1", &result, &e), ERR_OK);
    /* As when a retried request finds its first attempt landed. */
    assert_int_equal(fx->l->ops->succeed(fx->l, "b1", "j1", "w1", &result, &e), ERR_OK);
    other.url = "https://elsewhere/x.png";
    assert_int_equal(fx->l->ops->succeed(fx->l, "b1", "j1", "w1", &other, &e),
                     ERR_CONFLICT);
    assert_int_equal(fx->l->ops->succeed(fx->l, "b1", "j1", "w2", &result, &e),
                     ERR_CONFLICT);
}

static void writes_are_conditional_on_the_lease_owner(void **state)
{
    fx_t *fx = *state;
    ledger_t *l = fx->l;
    const char *ids[] = {"j1"};
    err_t e;

    add(l, "b1", ids, 1, NULL);
    assert_int_equal(claim(l, "b1", "j1", "w1"), CLAIM_OK);
    ledger_job_t j = get(l, "b1", "j1");
    int64_t first = j.lease_expires;
    ledger_job_free(&j);
    assert_int_equal(l->ops->extend(l, "b1", "j1", "w2", 60, &e), ERR_CONFLICT);
    assert_int_equal(l->ops->release(l, "b1", "j1", "w2", "x", "y", &e), ERR_CONFLICT);
    assert_int_equal(lfail(l, "b1", "j1", "w2", JOB_FAILED, "x", "y", &e), ERR_CONFLICT);
    assert_int_equal(state_of(l, "b1", "j1"), JOB_RUNNING);
    assert_int_equal(l->ops->extend(l, "b1", "j1", "w1", 600, &e), ERR_OK);
    j = get(l, "b1", "j1");
    assert_true(j.lease_expires > first + 500 * 1000);
    ledger_job_free(&j);
    assert_int_equal(l->ops->extend(l, "b1", "nope", "w1", 60, &e), ERR_NOTFOUND);

    assert_int_equal(l->ops->release(l, "b1", "j1", "w1", "ThrottlingException",
                                     "slow down", &e), ERR_OK);
    j = get(l, "b1", "j1");
    assert_int_equal(j.state, JOB_QUEUED);
    assert_null(j.lease_owner);
    assert_string_equal(j.error_code, "ThrottlingException");
    ledger_job_free(&j);
    /* Released: the old owner can no longer extend it. */
    assert_int_equal(l->ops->extend(l, "b1", "j1", "w1", 60, &e), ERR_CONFLICT);

    assert_int_equal(claim(l, "b1", "j1", "w1"), CLAIM_OK);
    assert_int_equal(lfail(l, "b1", "j1", "w1", JOB_FILTERED, "filtered", "blocked", &e),
                     ERR_OK);
    j = get(l, "b1", "j1");
    assert_int_equal(j.state, JOB_FILTERED);
    assert_string_equal(j.error_message, "blocked");
    ledger_job_free(&j);
    assert_int_equal(lfail(l, "b1", "j1", "w1", JOB_RUNNING, "x", "y", &e), ERR_INVALID);
}

static void fail_without_owner_marks_only_unfinished_jobs(void **state)
{
    fx_t *fx = *state;
    ledger_t *l = fx->l;
    const char *ids[] = {"q", "r", "s"};
    err_t e;

    add(l, "b1", ids, 3, NULL);
    assert_int_equal(claim(l, "b1", "r", "w1"), CLAIM_OK);
    assert_int_equal(claim(l, "b1", "s", "w1"), CLAIM_OK);
    assert_int_equal(l->ops->succeed(l, "b1", "s", "w1", &result, &e), ERR_OK);
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

static void cancel_stops_queued_and_running_jobs(void **state)
{
    fx_t *fx = *state;
    ledger_t *l = fx->l;
    const char *ids[] = {"j1", "j2", "j3", "j4"};
    ledger_batch_t b;
    size_t n = 99;
    err_t e;

    add(l, "b1", ids, 4, NULL);
    assert_int_equal(claim(l, "b1", "j1", "w1"), CLAIM_OK);
    assert_int_equal(claim(l, "b1", "j4", "w1"), CLAIM_OK);
    assert_int_equal(l->ops->succeed(l, "b1", "j4", "w1", &result, &e), ERR_OK);
    assert_int_equal(l->ops->cancel(l, "b1", "j2", &n, &e), ERR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(l->ops->cancel(l, "b1", "j2", &n, &e), ERR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(l->ops->cancel(l, "b1", NULL, &n, &e), ERR_OK);
    assert_int_equal(n, 2);   /* j1 running, j3 queued; j4 stays succeeded */
    assert_int_equal(l->ops->succeed(l, "b1", "j1", "w1", &result, &e), ERR_CONFLICT);
    assert_int_equal(l->ops->get_batch(l, "b1", &b, &e), ERR_OK);
    assert_int_equal(b.by_state[JOB_CANCELLED], 3);
    assert_int_equal(b.by_state[JOB_SUCCEEDED], 1);
    ledger_batch_free(&b);
    assert_int_equal(l->ops->cancel(l, "nobatch", NULL, &n, &e), ERR_NOTFOUND);
    assert_int_equal(l->ops->cancel(l, "b1", "nojob", &n, &e), ERR_NOTFOUND);
}

static void get_jobs_finds_an_id_in_every_batch(void **state)
{
    fx_t *fx = *state;
    const char *ids[] = {"same", "other"};
    ledger_job_t *v;
    size_t n;
    err_t e;

    add(fx->l, "b2", ids, 2, NULL);
    shift_clock(fx->l, 1000);
    add(fx->l, "b1", ids, 1, NULL);
    assert_int_equal(fx->l->ops->get_jobs(fx->l, NULL, "same", &v, &n, &e), ERR_OK);
    assert_int_equal(n, 2);
    /* Oldest batch first, whatever the ids. */
    assert_string_equal(v[0].batch_id, "b2");
    assert_string_equal(v[1].batch_id, "b1");
    assert_string_equal(v[1].spec_json, "{\"prompt\":\"a poster\"}");
    ledger_jobs_free(v, n);
    assert_int_equal(fx->l->ops->get_jobs(fx->l, "b1", "same", &v, &n, &e), ERR_OK);
    assert_int_equal(n, 1);
    ledger_jobs_free(v, n);
    assert_int_equal(fx->l->ops->get_jobs(fx->l, NULL, "missing", &v, &n, &e), ERR_OK);
    assert_int_equal(n, 0);
    ledger_jobs_free(v, n);
}

static void get_batch_counts_jobs_by_state(void **state)
{
    fx_t *fx = *state;
    ledger_t *l = fx->l;
    const char *ids[] = {"a", "b", "c", "d", "e"};
    ledger_batch_t b;
    size_t n;
    err_t e;

    add(l, "b1", ids, 5, NULL);
    claim(l, "b1", "a", "w");
    claim(l, "b1", "b", "w");
    l->ops->succeed(l, "b1", "b", "w", &result, &e);
    claim(l, "b1", "c", "w");
    lfail(l, "b1", "c", "w", JOB_FAILED, "x", "y", &e);
    l->ops->cancel(l, "b1", "d", &n, &e);
    assert_int_equal(l->ops->get_batch(l, "b1", &b, &e), ERR_OK);
    assert_string_equal(b.batch_id, "b1");
    assert_int_equal(b.total, 5);
    assert_int_equal(b.by_state[JOB_QUEUED], 1);
    assert_int_equal(b.by_state[JOB_RUNNING], 1);
    assert_int_equal(b.by_state[JOB_SUCCEEDED], 1);
    assert_int_equal(b.by_state[JOB_FAILED], 1);
    assert_int_equal(b.by_state[JOB_CANCELLED], 1);
    assert_true(b.created_ms > 0);
    ledger_batch_free(&b);
    assert_int_equal(l->ops->get_batch(l, "zz", &b, &e), ERR_NOTFOUND);
}

/* Lists with f and returns "batch/job" joined by spaces (static buffer). */
static const char *list_str(ledger_t *l, ledger_filter_t f)
{
    static char out[1024];
    ledger_job_t *v;
    size_t n, len = 0;
    err_t e;
    if (l->ops->list(l, &f, &v, &n, &e) != ERR_OK)
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
        if (l->ops->list(l, &f, &v, &n, &e) != ERR_OK)
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

static void list_filters_and_pages_in_submission_order(void **state)
{
    fx_t *fx = *state;
    ledger_t *l = fx->l;
    const char *ids1[] = {"z", "y", "x"}, *ids2[] = {"a", "b"}, *ids3[] = {"m"};
    ledger_filter_t all = {.state = -1}, f;
    ledger_batch_t *bs;
    ledger_job_t *v0 = NULL;
    size_t n;
    err_t e;

    add(l, "b9", ids1, 3, NULL);
    shift_clock(l, 60 * 1000);
    int64_t t2 = wall_ms() + 60 * 1000;
    add(l, "b0", ids2, 2, NULL);
    shift_clock(l, 120 * 1000);
    add(l, "b5", ids3, 1, NULL);
    claim(l, "b9", "y", "w");
    claim(l, "b0", "b", "w");

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
    assert_int_equal(l->ops->list(l, &f, &v0, &n, &e), ERR_INVALID);
    f.batch_id = "b9";      /* ... unless the filter names it */
    assert_string_equal(list_str(l, f), "b9/y b9/x");
    f = all;
    f.after_batch_id = "b9";
    f.after_job_id = "gone";   /* nothing comes after a job that is not there */
    assert_string_equal(list_str(l, f), "");
    f.state = 17;
    assert_int_equal(l->ops->list(l, &f, &v0, &n, &e), ERR_INVALID);

    assert_int_equal(l->ops->list_batches(l, 0, &bs, &n, &e), ERR_OK);
    assert_int_equal(n, 3);
    assert_string_equal(bs[0].batch_id, "b5");   /* newest first */
    assert_string_equal(bs[1].batch_id, "b0");
    assert_int_equal(bs[2].total, 3);
    assert_int_equal(bs[2].by_state[JOB_RUNNING], 1);
    ledger_batches_free(bs, n);
    assert_int_equal(l->ops->list_batches(l, 2, &bs, &n, &e), ERR_OK);
    assert_int_equal(n, 2);
    assert_string_equal(bs[1].batch_id, "b0");
    ledger_batches_free(bs, n);
}

/* A job added later to an old batch is still found by a since filter. */
static void since_finds_jobs_added_to_an_old_batch(void **state)
{
    fx_t *fx = *state;
    const char *ids[] = {"old", "new"};
    ledger_filter_t f = {.state = -1};
    add(fx->l, "b1", ids, 1, NULL);
    shift_clock(fx->l, 3600 * 1000);
    f.since_ms = wall_ms() + 1800 * 1000;
    assert_string_equal(list_str(fx->l, f), "");
    assert_int_equal(add(fx->l, "b1", ids, 2, NULL), 1);
    assert_string_equal(list_str(fx->l, f), "b1/new");
}

/* ~100 KB specs: one DynamoDB page holds about ten, so every read below
 * follows LastEvaluatedKey several times. */
static void reads_follow_dynamodb_pages(void **state)
{
    enum { N = 40, SPEC = 100 * 1024 };
    fx_t *fx = *state;
    ledger_t *l = fx->l;
    ledger_new_job_t jobs[N];
    char ids[N][16];
    char *spec = malloc(SPEC + 32);
    char **p;
    bool created;
    size_t added, n;
    ledger_job_t *v;
    err_t e;

    int len = snprintf(spec, SPEC, "{\"prompt\":\"");
    memset(spec + len, 'x', SPEC - (size_t)len - 3);
    snprintf(spec + SPEC - 3, 3, "\"}");
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "j%02d", N - i);
        jobs[i] = (ledger_new_job_t){ids[i], spec, i + 1};
    }
    assert_int_equal(l->ops->add_batch(l, "big", "big.jsonl", jobs, N, &created, &added,
                                       &e), ERR_OK);
    assert_int_equal(added, N);
    assert_int_equal(l->ops->pending_enqueue(l, "big", &p, &n, &e), ERR_OK);
    assert_int_equal(n, N);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(p[i], ids[i]);
        free(p[i]);
    }
    free(p);
    ledger_filter_t f = {.state = JOB_QUEUED};
    assert_int_equal(l->ops->list(l, &f, &v, &n, &e), ERR_OK);
    assert_int_equal(n, N);
    assert_string_equal(v[N - 1].job_id, ids[N - 1]);
    assert_int_equal(strlen(v[0].spec_json), SPEC - 1);
    ledger_jobs_free(v, n);
    f.limit = 25;
    assert_int_equal(l->ops->list(l, &f, &v, &n, &e), ERR_OK);
    assert_int_equal(n, 25);
    ledger_jobs_free(v, n);
    free(spec);
}

typedef struct {
    const char *table;
    char owner[16];
    ledger_claim_t out;
    err_code_t rc;
} racer_t;

static void *race(void *arg)
{
    racer_t *r = arg;
    err_t e;
    ledger_t *l = ledger_dynamodb_open(env, r->table, &e);
    r->rc = l ? l->ops->claim(l, "b1", "j1", r->owner, 60, &r->out, &e) : e.code;
    ledger_close(l);
    return NULL;
}

static void racing_claims_have_one_winner(void **state)
{
    enum { R = 8 };
    fx_t *fx = *state;
    const char *ids[] = {"j1"};
    racer_t r[R];
    pthread_t th[R];
    int ok = 0, held = 0;

    add(fx->l, "b1", ids, 1, NULL);
    for (int i = 0; i < R; i++) {
        r[i] = (racer_t){.table = fx->table};
        snprintf(r[i].owner, sizeof r[i].owner, "w%d", i);
        assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
    }
    for (int i = 0; i < R; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(r[i].rc, ERR_OK);
        ok += r[i].out == CLAIM_OK;
        held += r[i].out == CLAIM_HELD;
    }
    assert_int_equal(ok, 1);
    assert_int_equal(held, R - 1);
    ledger_job_t j = get(fx->l, "b1", "j1");
    assert_int_equal(j.attempts, 1);
    ledger_job_free(&j);
}

static void a_thousand_jobs_go_in_parallel(void **state)
{
    enum { N = 1000 };
    fx_t *fx = *state;
    ledger_t *l = fx->l;
    ledger_new_job_t *jobs = calloc(N, sizeof *jobs);
    char (*ids)[24] = calloc(N, sizeof *ids);
    const char **idp = calloc(N, sizeof *idp);
    char **pending;
    bool created;
    size_t added, n;
    ledger_batch_t b;
    err_t e;

    for (size_t i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "%016zx", i * 2654435761u);
        jobs[i].job_id = idp[i] = ids[i];
        jobs[i].spec_json = "{\"prompt\":\"a lighthouse at dusk, film poster\","
                            "\"aspect_ratio\":\"2:3\",\"seed\":42}";
        jobs[i].line = (int)i + 1;
    }
    double t0 = mono_s();
    assert_int_equal(l->ops->add_batch(l, "big", "big.jsonl", jobs, N, &created, &added,
                                       &e), ERR_OK);
    double t1 = mono_s();
    assert_int_equal(added, N);
    assert_int_equal(l->ops->pending_enqueue(l, "big", &pending, &n, &e), ERR_OK);
    assert_int_equal(n, N);
    assert_string_equal(pending[N - 1], ids[N - 1]);
    for (size_t i = 0; i < n; i++)
        free(pending[i]);
    free(pending);
    double t2 = mono_s();
    assert_int_equal(l->ops->mark_enqueued(l, "big", idp, N, &e), ERR_OK);
    double t3 = mono_s();
    assert_int_equal(l->ops->add_batch(l, "big", "big.jsonl", jobs, N, &created, &added,
                                       &e), ERR_OK);
    double t4 = mono_s();
    assert_int_equal(added, 0);
    assert_int_equal(l->ops->get_batch(l, "big", &b, &e), ERR_OK);
    double t5 = mono_s();
    assert_int_equal(b.by_state[JOB_QUEUED], N);
    ledger_batch_free(&b);
    assert_int_equal(l->ops->cancel(l, "big", NULL, &n, &e), ERR_OK);
    double t6 = mono_s();
    assert_int_equal(n, N);
    /* The same on one connection, to show what the writers buy. */
    assert_int_equal(ledger_dynamodb_set_writers(l, 1), ERR_OK);
    assert_int_equal(l->ops->add_batch(l, "one", "one.jsonl", jobs, N, &created, &added,
                                       &e), ERR_OK);
    assert_int_equal(added, N);
    printf("# %d jobs: add_batch %.3f s (one writer: %.3f s), pending_enqueue %.3f s,"
           " mark_enqueued %.3f s, re-add %.3f s, get_batch %.3f s, cancel batch %.3f s\n",
           N, t1 - t0, mono_s() - t6, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5);
    free(jobs);
    free(ids);
    free(idp);
}

static void ensure_is_idempotent_and_checks_the_layout(void **state)
{
    fx_t *fx = *state;
    char report[256];
    aws_client_t *c;
    json_t *reply = NULL;
    err_t e;

    assert_int_equal(ledger_dynamodb_ensure(env, fx->table, report, sizeof report, &e),
                     ERR_OK);
    assert_non_null(strstr(report, "exists"));
    /* A table of that name made for something else is refused. */
    assert_non_null(c = aws_client_new(env, ENDPOINT_DYNAMODB, &e));
    char other[64];
    snprintf(other, sizeof other, "%s-other", fx->table);
    json_t *def = json_loads("{\"BillingMode\":\"PAY_PER_REQUEST\",\"AttributeDefinitions\":"
        "[{\"AttributeName\":\"pk\",\"AttributeType\":\"S\"}],\"KeySchema\":"
        "[{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"}]}", 0, NULL);
    json_object_set_new(def, "TableName", json_string(other));
    assert_int_equal(ddb_call(c, other, "CreateTable", def, &reply, &e), ERR_OK);
    json_decref(reply);
    aws_client_free(c);
    assert_int_equal(ledger_dynamodb_ensure(env, other, report, sizeof report, &e),
                     ERR_CONFIG);
    assert_non_null(strstr(e.msg, "by_line"));
    assert_int_equal(ledger_dynamodb_ensure(env, "x", report, sizeof report, &e),
                     ERR_CONFIG);
}

static void a_missing_table_says_to_run_init(void **state)
{
    (void)state;
    ledger_batch_t b;
    err_t e;
    /* Through the configuration value, as the binaries open it. */
    assert_null(ledger_open("dynamodb:", &e));
    assert_int_equal(e.code, ERR_CONFIG);
    ledger_t *l = ledger_open("dynamodb:never-created", &e);
    assert_non_null(l);
    assert_int_equal(l->ops->get_batch(l, "b1", &b, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "onesheet init"));
    ledger_close(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(adding_a_batch_twice_adds_nothing_new),
        T(re_adding_never_resets_a_claimed_job),
        T(pending_enqueue_lists_jobs_until_marked),
        T(claim_outcomes_follow_state_and_lease),
        T(the_same_owner_may_claim_again),
        T(a_repeated_succeed_by_the_owner_is_not_a_conflict),
        T(writes_are_conditional_on_the_lease_owner),
        T(fail_without_owner_marks_only_unfinished_jobs),
        T(cancel_stops_queued_and_running_jobs),
        T(get_jobs_finds_an_id_in_every_batch),
        T(get_batch_counts_jobs_by_state),
        T(list_filters_and_pages_in_submission_order),
        T(since_finds_jobs_added_to_an_old_batch),
        T(reads_follow_dynamodb_pages),
        T(racing_claims_have_one_winner),
        T(a_thousand_jobs_go_in_parallel),
        T(ensure_is_idempotent_and_checks_the_layout),
        cmocka_unit_test(a_missing_table_says_to_run_init),
#undef T
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
