/* live_ledger_dynamodb — the DynamoDB ledger against dynalite (behind
 * sigproxy when tests/integration/dynamodb_live.sh finds it), held to the
 * same behaviours as the SQLite ledger by the conformance suite
 * (tests/support/ledger_conformance.c): idempotent submits, conditional
 * claims and completions under leases, cancellation, lookups, counts,
 * listing and pagination; plus what only DynamoDB or a real table shows:
 * retried completions, ensure, DynamoDB's own result pages, racing claims.
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

#include "ledger/ledger_dynamodb_internal.h"
#include "ledger_conformance.h"
#include "testutil.h"

static aws_env_t *env;
static int table_seq;

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

/* A fresh table for each test; fx->where is its name. */
static void ddb_open(ledger_fixture_t *fx)
{
    char report[256];
    err_t e;
    snprintf(fx->where, sizeof fx->where, "ledger-%d-%d", (int)getpid(), ++table_seq);
    if (ledger_dynamodb_ensure(env, fx->where, report, sizeof report, &e) != ERR_OK)
        fail_msg("ensure %s: %s", fx->where, e.msg);
    if (!(fx->l = ledger_dynamodb_open(env, fx->where, &e)))
        fail_msg("open: %s", e.msg);
}

static void ddb_close(ledger_fixture_t *fx)
{
    ledger_close(fx->l);
}

static void ddb_clock(ledger_t *l, int64_t offset_ms)
{
    assert_int_equal(ledger_dynamodb_set_clock_offset_ms(l, offset_ms), ERR_OK);
}

static ledger_backend_t ddb_backend = {ddb_open, ddb_close, ddb_clock};

/* DynamoDB's own: a write is retried after a lost reply, so the owner's
 * second identical succeed must land as the first did (SQLite, with no
 * retries, calls it a conflict). */
static void a_repeated_succeed_by_the_owner_is_not_a_conflict(void **state)
{
    ledger_fixture_t *fx = *state;
    const char *ids[] = {"j1"};
    ledger_result_t other = lc_result;
    err_t e;
    lc_add(fx->l, "b1", ids, 1, NULL);
    assert_int_equal(lc_claim(fx->l, "b1", "j1", "w1"), CLAIM_OK);
    assert_int_equal(ledger_succeed(fx->l, "b1", "j1", "w1", &lc_result, &e), ERR_OK);
    /* As when a retried request finds its first attempt landed. */
    assert_int_equal(ledger_succeed(fx->l, "b1", "j1", "w1", &lc_result, &e), ERR_OK);
    other.url = "https://elsewhere/x.png";
    assert_int_equal(ledger_succeed(fx->l, "b1", "j1", "w1", &other, &e),
                     ERR_CONFLICT);
    assert_int_equal(ledger_succeed(fx->l, "b1", "j1", "w2", &lc_result, &e),
                     ERR_CONFLICT);
}

/* ~100 KB specs: one DynamoDB page holds about ten, so every read below
 * follows LastEvaluatedKey several times. */
static void reads_follow_dynamodb_pages(void **state)
{
    enum { N = 40, SPEC = 100 * 1024 };
    ledger_fixture_t *fx = *state;
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
    assert_int_equal(ledger_add_batch(l, "big", "big.jsonl", jobs, N, &created, &added,
                                       &e), ERR_OK);
    assert_int_equal(added, N);
    assert_int_equal(ledger_pending_enqueue(l, "big", &p, NULL, &n, &e), ERR_OK);
    assert_int_equal(n, N);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(p[i], ids[i]);
        free(p[i]);
    }
    free(p);
    ledger_filter_t f = {.state = JOB_QUEUED};
    assert_int_equal(ledger_list(l, &f, &v, &n, &e), ERR_OK);
    assert_int_equal(n, N);
    assert_string_equal(v[N - 1].job_id, ids[N - 1]);
    assert_int_equal(strlen(v[0].spec_json), SPEC - 1);
    ledger_jobs_free(v, n);
    f.limit = 25;
    assert_int_equal(ledger_list(l, &f, &v, &n, &e), ERR_OK);
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
    r->rc = l ? ledger_claim(l, "b1", "j1", 1, r->owner, 60, &r->out, &e) : e.code;
    ledger_close(l);
    return NULL;
}

static void racing_claims_have_one_winner(void **state)
{
    enum { R = 8 };
    ledger_fixture_t *fx = *state;
    const char *ids[] = {"j1"};
    racer_t r[R];
    pthread_t th[R];
    int ok = 0, held = 0;

    lc_add(fx->l, "b1", ids, 1, NULL);
    for (int i = 0; i < R; i++) {
        r[i] = (racer_t){.table = fx->where};
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
    ledger_job_t j = lc_get(fx->l, "b1", "j1");
    assert_int_equal(j.attempts, 1);
    ledger_job_free(&j);
}

static void a_thousand_jobs_go_in_parallel(void **state)
{
    enum { N = 1000 };
    ledger_fixture_t *fx = *state;
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
    double t0 = tu_mono_s();
    assert_int_equal(ledger_add_batch(l, "big", "big.jsonl", jobs, N, &created, &added,
                                       &e), ERR_OK);
    double t1 = tu_mono_s();
    assert_int_equal(added, N);
    assert_int_equal(ledger_pending_enqueue(l, "big", &pending, NULL, &n, &e), ERR_OK);
    assert_int_equal(n, N);
    assert_string_equal(pending[N - 1], ids[N - 1]);
    for (size_t i = 0; i < n; i++)
        free(pending[i]);
    free(pending);
    double t2 = tu_mono_s();
    assert_int_equal(ledger_mark_enqueued(l, "big", idp, N, &e), ERR_OK);
    double t3 = tu_mono_s();
    assert_int_equal(ledger_add_batch(l, "big", "big.jsonl", jobs, N, &created, &added,
                                       &e), ERR_OK);
    double t4 = tu_mono_s();
    assert_int_equal(added, 0);
    assert_int_equal(ledger_get_batch(l, "big", &b, &e), ERR_OK);
    double t5 = tu_mono_s();
    assert_int_equal(b.by_state[JOB_QUEUED], N);
    ledger_batch_free(&b);
    assert_int_equal(ledger_cancel(l, "big", NULL, &n, &e), ERR_OK);
    double t6 = tu_mono_s();
    assert_int_equal(n, N);
    /* Retry (issue 17): every cancelled job re-opened as run 2, once. */
    assert_int_equal(ledger_retry(l, "big", NULL, LEDGER_RETRY_CANCELLED, &n, &e), ERR_OK);
    double t7 = tu_mono_s();
    assert_int_equal(n, N);
    assert_int_equal(ledger_retry(l, "big", NULL, LEDGER_RETRY_CANCELLED, &n, &e), ERR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(ledger_get_batch(l, "big", &b, &e), ERR_OK);
    assert_int_equal(b.by_state[JOB_QUEUED], N);
    ledger_batch_free(&b);
    double t8 = tu_mono_s();
    /* The same on one connection, to show what the writers buy. */
    assert_int_equal(ledger_dynamodb_set_writers(l, 1), ERR_OK);
    assert_int_equal(ledger_add_batch(l, "one", "one.jsonl", jobs, N, &created, &added,
                                       &e), ERR_OK);
    assert_int_equal(added, N);
    printf("# %d jobs: add_batch %.3f s (one writer: %.3f s), pending_enqueue %.3f s,"
           " mark_enqueued %.3f s, re-add %.3f s, get_batch %.3f s, cancel batch %.3f s,"
           " retry batch %.3f s\n", N, t1 - t0, tu_mono_s() - t8, t2 - t1, t3 - t2, t4 - t3,
           t5 - t4, t6 - t5, t7 - t6);
    free(jobs);
    free(ids);
    free(idp);
}

static void ensure_is_idempotent_and_checks_the_layout(void **state)
{
    ledger_fixture_t *fx = *state;
    char report[256];
    aws_client_t *c;
    json_t *reply = NULL;
    err_t e;

    assert_int_equal(ledger_dynamodb_ensure(env, fx->where, report, sizeof report, &e),
                     ERR_OK);
    assert_non_null(strstr(report, "exists"));
    /* A table of that name made for something else is refused. */
    assert_non_null(c = aws_client_new(env, ENDPOINT_DYNAMODB, &e));
    char other[64];
    snprintf(other, sizeof other, "%s-other", fx->where);
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
    assert_int_equal(ledger_get_batch(l, "b1", &b, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "onesheet init"));
    ledger_close(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        LEDGER_CONFORMANCE_TESTS(&ddb_backend)
#define T(f) LEDGER_CONFORMANCE_TEST_F(#f, f, &ddb_backend)
        T(a_repeated_succeed_by_the_owner_is_not_a_conflict),
        T(reads_follow_dynamodb_pages),
        T(racing_claims_have_one_winner),
        T(a_thousand_jobs_go_in_parallel),
        T(ensure_is_idempotent_and_checks_the_layout),
        cmocka_unit_test(a_missing_table_says_to_run_init),
#undef T
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
