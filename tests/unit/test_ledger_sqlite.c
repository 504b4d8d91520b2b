/* Tests for the embedded SQLite ledger (ledger_sqlite.c, ledger.c):
 * idempotent submits, conditional claims and completions under leases,
 * cancellation, lookups, listing and pagination. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger.h"
#include "queue.h"
#include "sqlite_util.h"
#include "testutil.h"

typedef struct {
    char *dir;
    char url[512];
    ledger_t *l;
} fx_t;

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    err_t e;
    fx->dir = tu_mkdtemp();
    snprintf(fx->url, sizeof fx->url, "sqlite:%s/onesheet.db", fx->dir);
    fx->l = ledger_open(fx->url, &e);
    if (!fx->l)
        fail_msg("ledger_open: %s", e.msg);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    ledger_close(fx->l);
    sqlite_util_set_clock_offset_ms(0);
    tu_rmtree(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
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
    assert_int_equal(l->ops->add_batch(l, batch, "prompts.txt", jobs, n, &c, &added, &e),
                     ERR_OK);
    if (created)
        *created = c;
    return added;
}

static ledger_claim_t claim(ledger_t *l, const char *b, const char *j, const char *owner)
{
    ledger_claim_t out = (ledger_claim_t)-1;
    err_t e;
    assert_int_equal(l->ops->claim(l, b, j, owner, 30, &out, &e), ERR_OK);
    return out;
}

/* Returns the one job (batch, job); the caller frees it. */
static ledger_job_t get(ledger_t *l, const char *b, const char *j)
{
    ledger_job_t *v, one;
    size_t n;
    err_t e;
    assert_int_equal(l->ops->get_jobs(l, b, j, &v, &n, &e), ERR_OK);
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

static int attempts_of(ledger_t *l, const char *b, const char *j)
{
    ledger_job_t one = get(l, b, j);
    int a = one.attempts;
    ledger_job_free(&one);
    return a;
}

static int64_t lease_of(ledger_t *l, const char *b, const char *j)
{
    ledger_job_t one = get(l, b, j);
    int64_t t = one.lease_expires;
    ledger_job_free(&one);
    return t;
}

static const ledger_result_t result = {
    .url = "file:///tmp/p/b1/j1.png", .store_key = "b1/j1.png", .sha256 = "ab12",
    .model = "draft", .bytes = 1234, .seed = 42, .cost_usd = 0.04,
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

static void pending_enqueue_lists_jobs_until_marked(void **state)
{
    fx_t *fx = *state;
    const char *ids[] = {"c", "a", "b"};
    char **p;
    size_t n;
    err_t e;

    add(fx->l, "b1", ids, 3, NULL);
    assert_int_equal(fx->l->ops->pending_enqueue(fx->l, "b1", &p, &n, &e), ERR_OK);
    assert_int_equal(n, 3);
    /* In file order (line), not id order. */
    assert_string_equal(p[0], "c");
    assert_string_equal(p[2], "b");
    for (size_t i = 0; i < n; i++)
        free(p[i]);
    free(p);
    assert_int_equal(fx->l->ops->mark_enqueued(fx->l, "b1", ids, 2, &e), ERR_OK);
    assert_int_equal(fx->l->ops->pending_enqueue(fx->l, "b1", &p, &n, &e), ERR_OK);
    assert_int_equal(n, 1);
    assert_string_equal(p[0], "b");
    free(p[0]);
    free(p);
    ledger_job_t j = get(fx->l, "b1", "c");
    assert_true(j.enqueued_ms > 0);
    ledger_job_free(&j);
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
    assert_true(j.lease_expires >= sqlite_util_now_ms() + 29000);
    ledger_job_free(&j);
    assert_int_equal(claim(fx->l, "b1", "j1", "w2"), CLAIM_HELD);
    /* w1 vanished: once its lease lapses, w2 takes over. */
    sqlite_util_set_clock_offset_ms(31 * 1000);
    assert_int_equal(claim(fx->l, "b1", "j1", "w2"), CLAIM_OK);
    assert_int_equal(attempts_of(fx->l, "b1", "j1"), 2);
    err_clear(&e);
    assert_int_equal(fx->l->ops->succeed(fx->l, "b1", "j1", "w1", &result, &e),
                     ERR_CONFLICT);
    assert_non_null(strstr(e.msg, "w2"));
    assert_int_equal(fx->l->ops->succeed(fx->l, "b1", "j1", "w2", &result, &e), ERR_OK);
    j = get(fx->l, "b1", "j1");
    assert_int_equal(j.state, JOB_SUCCEEDED);
    assert_string_equal(j.url, result.url);
    assert_string_equal(j.sha256, "ab12");
    assert_int_equal(j.bytes, 1234);
    assert_int_equal(j.seed, 42);
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

static void writes_are_conditional_on_the_lease_owner(void **state)
{
    fx_t *fx = *state;
    ledger_t *l = fx->l;
    const char *ids[] = {"j1"};
    err_t e;

    add(l, "b1", ids, 1, NULL);
    assert_int_equal(claim(l, "b1", "j1", "w1"), CLAIM_OK);
    int64_t first = lease_of(l, "b1", "j1");
    assert_int_equal(l->ops->extend(l, "b1", "j1", "w2", 60, &e), ERR_CONFLICT);
    assert_int_equal(l->ops->release(l, "b1", "j1", "w2", "x", "y", &e), ERR_CONFLICT);
    assert_int_equal(lfail(l, "b1", "j1", "w2", JOB_FAILED, "x", "y", &e),
                     ERR_CONFLICT);
    assert_int_equal(state_of(l, "b1", "j1"), JOB_RUNNING);
    assert_int_equal(l->ops->extend(l, "b1", "j1", "w1", 600, &e), ERR_OK);
    assert_true(lease_of(l, "b1", "j1") > first + 500 * 1000);
    assert_int_equal(l->ops->extend(l, "b1", "nope", "w1", 60, &e), ERR_NOTFOUND);

    assert_int_equal(l->ops->release(l, "b1", "j1", "w1", "ThrottlingException",
                                     "slow down", &e), ERR_OK);
    ledger_job_t j = get(l, "b1", "j1");
    assert_int_equal(j.state, JOB_QUEUED);
    assert_null(j.lease_owner);
    assert_string_equal(j.error_code, "ThrottlingException");
    ledger_job_free(&j);
    /* Released: the old owner can no longer extend it. */
    assert_int_equal(l->ops->extend(l, "b1", "j1", "w1", 60, &e), ERR_CONFLICT);

    assert_int_equal(claim(l, "b1", "j1", "w1"), CLAIM_OK);
    assert_int_equal(lfail(l, "b1", "j1", "w1", JOB_FILTERED, "filtered",
                                  "blocked", &e), ERR_OK);
    j = get(l, "b1", "j1");
    assert_int_equal(j.state, JOB_FILTERED);
    assert_string_equal(j.error_message, "blocked");
    ledger_job_free(&j);
    assert_int_equal(lfail(l, "b1", "j1", "w1", JOB_RUNNING, "x", "y", &e),
                     ERR_INVALID);
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
    assert_int_equal(lfail(l, "b1", "q", NULL, JOB_FAILED, "dead_letter", "m", &e),
                     ERR_OK);
    assert_int_equal(lfail(l, "b1", "r", NULL, JOB_FAILED, "dead_letter", "m", &e),
                     ERR_OK);
    assert_int_equal(lfail(l, "b1", "s", NULL, JOB_FAILED, "dead_letter", "m", &e),
                     ERR_CONFLICT);
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

    add(fx->l, "b1", ids, 2, NULL);
    sqlite_util_set_clock_offset_ms(1000);
    add(fx->l, "b2", ids, 1, NULL);
    assert_int_equal(fx->l->ops->get_jobs(fx->l, NULL, "same", &v, &n, &e), ERR_OK);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].batch_id, "b1");
    assert_string_equal(v[1].batch_id, "b2");
    assert_string_equal(v[1].spec_json, "{\"prompt\":\"a poster\"}");
    ledger_jobs_free(v, n);
    assert_int_equal(fx->l->ops->get_jobs(fx->l, "b2", "same", &v, &n, &e), ERR_OK);
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
    assert_int_equal(l->ops->list(l, &f, &v, &n, &e), ERR_OK);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, sizeof out - len, "%s%s/%s", i ? " " : "",
                                v[i].batch_id, v[i].job_id);
    ledger_jobs_free(v, n);
    return out;
}

static void list_filters_and_pages_in_submission_order(void **state)
{
    fx_t *fx = *state;
    ledger_t *l = fx->l;
    const char *ids1[] = {"z", "y", "x"}, *ids2[] = {"a", "b"};
    ledger_filter_t all = {.state = -1};
    ledger_batch_t *bs;
    ledger_job_t *v0 = NULL;
    size_t n;
    err_t e;

    add(l, "b9", ids1, 3, NULL);
    sqlite_util_set_clock_offset_ms(60 * 1000);
    int64_t t2 = sqlite_util_now_ms();
    add(l, "b0", ids2, 2, NULL);
    claim(l, "b9", "y", "w");
    claim(l, "b0", "b", "w");

    /* Batch created first comes first, then file line. */
    assert_string_equal(list_str(l, all), "b9/z b9/y b9/x b0/a b0/b");
    ledger_filter_t f = all;
    f.state = JOB_RUNNING;
    assert_string_equal(list_str(l, f), "b9/y b0/b");
    f = all;
    f.since_ms = t2;
    assert_string_equal(list_str(l, f), "b0/a b0/b");
    f = all;
    f.batch_id = "b9";
    f.state = JOB_QUEUED;
    assert_string_equal(list_str(l, f), "b9/z b9/x");

    /* Pages of two, each continuing after the last job of the previous. */
    char got[256] = "", last_b[32] = "", last_j[32] = "";
    for (int page = 0; page < 5; page++) {
        ledger_job_t *v;
        f = all;
        f.limit = 2;
        f.after_batch_id = page ? last_b : NULL;
        f.after_job_id = page ? last_j : NULL;
        assert_int_equal(l->ops->list(l, &f, &v, &n, &e), ERR_OK);
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
        if (n < 2)
            break;
    }
    assert_string_equal(got, "b9/z b9/y b9/x b0/a b0/b");
    f = all;
    f.after_job_id = "z";   /* a cursor without its batch is ambiguous */
    assert_int_equal(l->ops->list(l, &f, &v0, &n, &e), ERR_INVALID);
    f.batch_id = "b9";      /* ... unless the filter names it */
    assert_string_equal(list_str(l, f), "b9/y b9/x");

    assert_int_equal(l->ops->list_batches(l, 0, &bs, &n, &e), ERR_OK);
    assert_int_equal(n, 2);
    assert_string_equal(bs[0].batch_id, "b0");   /* newest first */
    assert_int_equal(bs[1].total, 3);
    assert_int_equal(bs[1].by_state[JOB_RUNNING], 1);
    ledger_batches_free(bs, n);
    assert_int_equal(l->ops->list_batches(l, 1, &bs, &n, &e), ERR_OK);
    assert_int_equal(n, 1);
    ledger_batches_free(bs, n);
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void hundred_thousand_jobs_are_added_in_one_go(void **state)
{
    enum { N = 100000 };
    fx_t *fx = *state;
    ledger_t *l = fx->l;
    ledger_new_job_t *jobs = calloc(N, sizeof *jobs);
    char (*ids)[24] = calloc(N, sizeof *ids);
    const char **idp = calloc(N, sizeof *idp);
    char **pending;
    bool created;
    size_t added, n;
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
    printf("# %d jobs: add_batch %.3f s, pending_enqueue %.3f s, mark_enqueued %.3f s,"
           " re-add %.3f s\n", N, t1 - t0, t2 - t1, t3 - t2, t4 - t3);
    assert_true(t1 - t0 < 60.0);   /* informational; catches a transaction per row */
    free(jobs);
    free(ids);
    free(idp);
}

static void state_names_round_trip(void **state)
{
    (void)state;
    for (int s = 0; s < JOB__NSTATES; s++)
        assert_int_equal(job_state_parse(job_state_name((job_state_t)s)), s);
    assert_int_equal(job_state_parse("Running"), -1);
    assert_int_equal(job_state_parse(NULL), -1);
    assert_false(job_state_terminal(JOB_QUEUED));
    assert_false(job_state_terminal(JOB_RUNNING));
    assert_true(job_state_terminal(JOB_FILTERED));
    assert_true(job_state_terminal(JOB_CANCELLED));
}

static void queue_and_ledger_share_one_file(void **state)
{
    fx_t *fx = *state;
    const char *ids[] = {"j1"}, *body = "{\"v\":1}";
    queue_msg_t *m;
    size_t n;
    err_t e;

    queue_t *q = queue_open(fx->url, &e);
    assert_non_null(q);
    add(fx->l, "b1", ids, 1, NULL);
    assert_int_equal(queue_send_batch(q, &body, 1, &e), ERR_OK);
    assert_int_equal(queue_receive(q, 1, 30, 0, &m, &n, &e), ERR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(claim(fx->l, "b1", "j1", "w"), CLAIM_OK);
    assert_int_equal(queue_delete(q, m->receipt, &e), ERR_OK);
    queue_msgs_free(m, n);
    queue_close(q);
    assert_null(ledger_open("redis:x", &e));
    assert_int_equal(e.code, ERR_CONFIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(adding_a_batch_twice_adds_nothing_new),
        T(pending_enqueue_lists_jobs_until_marked),
        T(claim_outcomes_follow_state_and_lease),
        T(the_same_owner_may_claim_again),
        T(writes_are_conditional_on_the_lease_owner),
        T(fail_without_owner_marks_only_unfinished_jobs),
        T(cancel_stops_queued_and_running_jobs),
        T(get_jobs_finds_an_id_in_every_batch),
        T(get_batch_counts_jobs_by_state),
        T(list_filters_and_pages_in_submission_order),
        T(hundred_thousand_jobs_are_added_in_one_go),
        T(state_names_round_trip),
        T(queue_and_ledger_share_one_file),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
