/* Tests for the DynamoDB ledger (ledger_dynamodb*.c, ddb.c) against the
 * loopback fake server: the requests each operation sends (targets, keys,
 * condition expressions, every request's SigV4 signature for "dynamodb"),
 * how refusals turn into claim outcomes and conflicts, the table definition
 * and ensure, and replies that are wrong in every way we could think of
 * (HTML, truncated or malformed JSON, wrong attribute types, missing
 * fields, pages that do not advance) becoming clear errors, not crashes.
 *
 * The behaviour against a real table is in tests/live/live_ledger_dynamodb.c
 * (tests/integration/dynamodb_live.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger/ledger_dynamodb_internal.h"
#include "fakeaws.h"
#include "fakeserver.h"
#include "aws/sigv4.h"
#include "testutil.h"

#define AKID "AKIDTESTEXAMPLE"
#define SECRET "testSecretKeyEXAMPLE0123456789abcdefWXYZ"
#define CCF "{\"__type\":\"com.amazonaws.dynamodb.v20120810#" \
            "ConditionalCheckFailedException\",\"message\":\"The conditional request" \
            " failed\"}"
#define MAX_STEPS 16
#define MAX_SEEN 32

typedef struct {
    int status;
    const char *body;
    const char *ctype;       /* NULL: application/x-amz-json-1.0 */
    size_t truncate_at;      /* > 0: close after this many body bytes */
} step_t;

typedef struct {
    pthread_mutex_t mu;
    step_t steps[MAX_STEPS];
    int nsteps, base, n, rejected;
    long stall_ms;           /* every answer waits this long */
    char *target[MAX_SEEN];  /* the operation, without "DynamoDB_20120810." */
    json_t *body[MAX_SEEN];
} srv_t;

typedef struct {
    srv_t srv;
    fake_server_t *fs;
    fakeaws_t a;
    ledger_t *l;
} fx_t;

/* Verifies the signature, records the request, plays the next step. */
static void handler(const fake_request_t *req, fake_response_t *resp, void *ud)
{
    srv_t *s = ud;
    sigv4_verify_info_t info;
    err_t e;

    pthread_mutex_lock(&s->mu);
    int i = s->n++;
    sigv4_credentials_t c = {AKID, SECRET, NULL};
    sigv4_verify_opts_t vo = {.now = time(NULL), .region = "us-east-1",
                              .service = "dynamodb"};
    sigv4_verify_info_init(&info);
    if (fakeaws_verify(req, &c, &vo, &info, &e) != ERR_OK)
        s->rejected++;
    sigv4_verify_info_free(&info);
    if (i < MAX_SEEN) {
        const char *t = fake_request_header(req, "X-Amz-Target");
        s->target[i] = strdup(t && strncmp(t, DDB_TARGET, strlen(DDB_TARGET)) == 0
                              ? t + strlen(DDB_TARGET) : "?");
        s->body[i] = json_loadb(req->body, req->body_len, 0, NULL);
    }
    int k = i - s->base;
    const step_t *st = &s->steps[k < s->nsteps ? k : s->nsteps - 1];
    resp->status = st->status;
    fake_response_header(resp, "Content-Type",
                         st->ctype ? st->ctype : "application/x-amz-json-1.0");
    fake_response_bodyf(resp, "%s", st->body);
    resp->stall_ms = s->stall_ms;
    if (st->truncate_at) {
        resp->action = FAKE_TRUNCATE;
        resp->truncate_at = st->truncate_at;
    }
    pthread_mutex_unlock(&s->mu);
}

/* The next requests get these replies in order; the last one repeats. */
static void script(fx_t *f, const step_t *steps, int n)
{
    pthread_mutex_lock(&f->srv.mu);
    for (int i = 0; i < n; i++)
        f->srv.steps[i] = steps[i];
    f->srv.nsteps = n;
    f->srv.base = f->srv.n;
    pthread_mutex_unlock(&f->srv.mu);
}

/* One reply: status and body (designated, so the other fields are zero). */
#define R(st, b) {.status = (st), .body = (b)}
#define SCRIPT(f, ...) do { \
        const step_t s_[] = {__VA_ARGS__}; \
        script(f, s_, (int)(sizeof s_ / sizeof *s_)); \
    } while (0)

static int nreq(fx_t *f)
{
    pthread_mutex_lock(&f->srv.mu);
    int n = f->srv.n;
    pthread_mutex_unlock(&f->srv.mu);
    return n;
}

static const char *target(fx_t *f, int i)
{
    assert_true(i < nreq(f) && i < MAX_SEEN);
    return f->srv.target[i];
}

static json_t *body(fx_t *f, int i)
{
    assert_true(i < nreq(f) && i < MAX_SEEN && f->srv.body[i]);
    return f->srv.body[i];
}

/* body[i] at a path of object keys ("Key", "pk", "S"), or NULL. */
static json_t *at(fx_t *f, int i, const char *k1, const char *k2, const char *k3)
{
    json_t *v = json_object_get(body(f, i), k1);
    if (k2)
        v = json_object_get(v, k2);
    if (k3)
        v = json_object_get(v, k3);
    return v;
}

static const char *str_at(fx_t *f, int i, const char *k1, const char *k2, const char *k3)
{
    const char *s = json_string_value(at(f, i, k1, k2, k3));
    return s ? s : "";
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    err_t e;
    pthread_mutex_init(&f->srv.mu, NULL);
    SCRIPT(f, R(200, "{}"));
    assert_non_null(f->fs = fake_server_start(handler, &f->srv));
    f->a.akid = AKID;
    f->a.secret = SECRET;
    fakeenv_set(&f->a.env, "AWS_REGION", "us-east-1");
    fakeenv_set(&f->a.env, "AWS_ENDPOINT_URL_DYNAMODB", fake_server_url(f->fs));
    if (fakeaws_open(&f->a, NULL, &e) != ERR_OK)
        fail_msg("aws_env_new: %s", e.msg);
    if (!(f->l = ledger_dynamodb_open(f->a.aws, "posters", &e)))
        fail_msg("open: %s", e.msg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    ledger_close(f->l);
    fake_server_stop(f->fs);
    assert_int_equal(f->srv.rejected, 0);
    for (int i = 0; i < MAX_SEEN; i++) {
        free(f->srv.target[i]);
        json_decref(f->srv.body[i]);
    }
    fakeaws_close(&f->a);
    pthread_mutex_destroy(&f->srv.mu);
    free(f);
    return 0;
}

/* A complete job item as GetItem returns it, with state and owner. */
static char *job_item(const char *state, const char *owner)
{
    static char buf[2048];
    snprintf(buf, sizeof buf,
             "{\"Item\":{\"pk\":{\"S\":\"b1\"},\"sk\":{\"S\":\"job#j1\"},"
             "\"batch_id\":{\"S\":\"b1\"},\"job_id\":{\"S\":\"j1\"},"
             "\"state\":{\"S\":\"%s\"},\"spec\":{\"S\":\"{}\"},\"attempts\":{\"N\":\"2\"},"
             "\"line\":{\"N\":\"7\"},\"line_key\":{\"S\":\"0000000007#j1\"}%s%s%s,"
             "\"cost_usd\":{\"N\":\"0.04\"},\"bytes\":{\"N\":\"1234\"},"
             "\"created_ms\":{\"N\":\"1700000000000\"}}}", state,
             owner ? ",\"lease_owner\":{\"S\":\"" : "", owner ? owner : "",
             owner ? "\"}" : "");
    return buf;
}

/* Claims b1/j1 for w1 and returns the outcome. */
static ledger_claim_t claim(fx_t *f)
{
    ledger_claim_t out = (ledger_claim_t)-1;
    assert_int_equal(ledger_claim(f->l, "b1", "j1", 1, "w1", 30, &out, NULL), ERR_OK);
    return out;
}

static void claim_is_one_conditional_update(void **state)
{
    fx_t *f = *state;
    assert_int_equal(claim(f), CLAIM_OK);
    assert_int_equal(nreq(f), 1);
    assert_string_equal(target(f, 0), "UpdateItem");
    assert_string_equal(str_at(f, 0, "TableName", NULL, NULL), "posters");
    assert_string_equal(str_at(f, 0, "Key", "pk", "S"), "b1");
    assert_string_equal(str_at(f, 0, "Key", "sk", "S"), "job#j1");
    const char *cond = str_at(f, 0, "ConditionExpression", NULL, NULL);
    assert_non_null(strstr(cond, "attribute_exists(#pk)"));
    assert_non_null(strstr(cond, "#state = :queued"));
    assert_non_null(strstr(cond, "#lease_expires_ms <= :now"));
    assert_non_null(strstr(cond, "#lease_owner = :owner"));
    const char *upd = str_at(f, 0, "UpdateExpression", NULL, NULL);
    assert_non_null(strstr(upd, "ADD #attempts :attempts"));
    assert_non_null(strstr(upd, "#state_key = :state_key"));
    assert_string_equal(str_at(f, 0, "ExpressionAttributeNames", "#state", NULL), "state");
    assert_string_equal(str_at(f, 0, "ExpressionAttributeValues", ":owner", "S"), "w1");
    assert_string_equal(str_at(f, 0, "ExpressionAttributeValues", ":state_key", "S"),
                        "running#j1");
    assert_string_equal(str_at(f, 0, "ExpressionAttributeValues", ":state", "S"),
                        "running");
}

/* A refused claim is explained by a consistent read of the job (state NULL:
 * there is none).  The caller's err may be NULL. */
static void a_refused_claim_reports_why(void **state)
{
    fx_t *f = *state;
    const struct { const char *state, *owner; ledger_claim_t want; } cases[] = {
        {"running", "w2", CLAIM_HELD}, {"cancelled", NULL, CLAIM_CANCELLED},
        {"succeeded", "w2", CLAIM_DONE}, {"filtered", "w2", CLAIM_DONE},
        {NULL, NULL, CLAIM_NOTFOUND},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char item[2048] = "{}";
        if (cases[i].state)
            snprintf(item, sizeof item, "%s", job_item(cases[i].state, cases[i].owner));
        int base = nreq(f);
        SCRIPT(f, R(400, CCF), R(200, item));
        assert_int_equal(claim(f), cases[i].want);
        assert_string_equal(target(f, base + 1), "GetItem");
        assert_true(json_is_true(at(f, base + 1, "ConsistentRead", NULL, NULL)));
        assert_string_equal(str_at(f, base + 1, "Key", "sk", "S"), "job#j1");
    }
}

static void a_lost_lease_is_a_conflict_naming_the_owner(void **state)
{
    fx_t *f = *state;
    ledger_result_t r = {.url = "https://x/b1/j1.png", .sha256 = "ab"};
    err_t e;
    char item[2048];
    snprintf(item, sizeof item, "%s", job_item("running", "w2"));
    /* First the batch's webhook item (none), read once per batch. */
    SCRIPT(f, R(200, "{}"), R(400, CCF), R(200, item));
    assert_int_equal(ledger_succeed(f->l, "b1", "j1", "w1", &r, &e), ERR_CONFLICT);
    assert_non_null(strstr(e.msg, "w2"));
    assert_string_equal(e.service_code, "");
    assert_string_equal(target(f, 0), "GetItem");
    const char *cond = str_at(f, 1, "ConditionExpression", NULL, NULL);
    assert_non_null(strstr(cond, "#state = :running AND #lease_owner = :owner"));
    /* Absent result fields are removed, not stored empty. */
    assert_non_null(strstr(str_at(f, 1, "UpdateExpression", NULL, NULL), "REMOVE"));
    assert_null(at(f, 1, "ExpressionAttributeValues", ":model", NULL));
    /* No webhook: no event attributes. */
    assert_null(at(f, 1, "ExpressionAttributeValues", ":ev_id", NULL));
}

static void fail_without_owner_accepts_any_live_state(void **state)
{
    fx_t *f = *state;
    err_t e;
    assert_int_equal(ledger_fail(f->l, "b1", "j1", 1, NULL, JOB_FAILED, "dead_letter",
                                       "gave up", &e), ERR_OK);
    const char *cond = str_at(f, 1, "ConditionExpression", NULL, NULL);
    assert_non_null(strstr(cond, "#state IN (:queued, :running)"));
    assert_null(strstr(cond, "lease_owner"));
    assert_null(at(f, 1, "ExpressionAttributeValues", ":owner", NULL));
    assert_string_equal(str_at(f, 1, "ExpressionAttributeValues", ":error_code", "S"),
                        "dead_letter");
}

static void bad_arguments_send_nothing(void **state)
{
    fx_t *f = *state;
    ledger_claim_t out;
    err_t e;
    assert_int_equal(ledger_claim(f->l, "b1", "j1", 1, "", 30, &out, &e), ERR_INVALID);
    assert_int_equal(ledger_claim(f->l, "b1", "j1", 1, "w1", 0, &out, &e), ERR_INVALID);
    assert_int_equal(ledger_extend(f->l, "", "j1", "w1", 30, &e), ERR_INVALID);
    assert_int_equal(ledger_fail(f->l, "b1", "j1", 1, "w1", JOB_SUCCEEDED, "x", "y", &e),
                     ERR_INVALID);
    assert_int_equal(nreq(f), 0);
    assert_null(ledger_dynamodb_open(f->a.aws, "ab", &e));
    assert_int_equal(e.code, ERR_CONFIG);
    assert_null(ledger_dynamodb_open(f->a.aws, "has space", &e));
    assert_int_equal(e.code, ERR_CONFIG);
    assert_int_equal(ledger_dynamodb_set_clock_offset_ms(NULL, 5), ERR_INVALID);
}

static void a_missing_table_says_to_run_init(void **state)
{
    fx_t *f = *state;
    ledger_batch_t b;
    err_t e;
    SCRIPT(f, R(400, "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
                    "ResourceNotFoundException\",\"message\":\"Requested resource not"
                    " found\"}"));
    assert_int_equal(ledger_get_batch(f->l, "b1", &b, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "posters"));
    assert_non_null(strstr(e.msg, "onesheet init"));
    assert_int_equal(nreq(f), 1);   /* not retried */
}

static void throttling_is_retried(void **state)
{
    fx_t *f = *state;
    SCRIPT(f, R(400, "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
                    "ProvisionedThroughputExceededException\",\"message\":\"slow\"}"),
           R(200, "{}"));
    assert_int_equal(claim(f), CLAIM_OK);
    assert_int_equal(nreq(f), 2);
}

static void add_batch_never_overwrites_a_job(void **state)
{
    fx_t *f = *state;
    ledger_new_job_t jobs[] = {{"j1", "{\"prompt\":\"a\"}", 1}, {"j2", "{}", 2},
                               {"j3", "{}", 3}};
    bool created;
    size_t added;
    err_t e;

    SCRIPT(f, R(200, "{}"), R(200, "{}"), R(400, CCF), R(200, "{}"));
    assert_int_equal(ledger_add_batch(f->l, "b1", "in.txt", jobs, 3, &created, &added,
                                          &e), ERR_OK);
    assert_true(created);
    assert_int_equal(added, 2);
    assert_int_equal(nreq(f), 4);
    for (int i = 0; i < 4; i++) {
        assert_string_equal(target(f, i), "PutItem");
        assert_string_equal(str_at(f, i, "ConditionExpression", NULL, NULL),
                            "attribute_not_exists(#pk)");
    }
    assert_string_equal(str_at(f, 0, "Item", "sk", "S"), "batch");
    assert_string_equal(str_at(f, 0, "Item", "batch_list", "S"), "all");
    assert_string_equal(str_at(f, 0, "Item", "source", "S"), "in.txt");
    const char *bk = str_at(f, 0, "Item", "batch_key", "S");
    assert_int_equal(strlen(bk), 16);
    assert_string_equal(bk + 13, "#b1");
    assert_string_equal(str_at(f, 1, "Item", "sk", "S"), "job#j1");
    assert_string_equal(str_at(f, 1, "Item", "state", "S"), "queued");
    assert_string_equal(str_at(f, 1, "Item", "state_key", "S"), "queued#j1");
    assert_string_equal(str_at(f, 1, "Item", "line_key", "S"), "0000000001#j1");
    assert_string_equal(str_at(f, 1, "Item", "batch_key", "S"), bk);
    assert_string_equal(str_at(f, 1, "Item", "spec", "S"), "{\"prompt\":\"a\"}");
    assert_string_equal(str_at(f, 1, "Item", "enqueued_ms", "N"), "0");
}

static void oversized_or_bad_jobs_are_refused_before_sending(void **state)
{
    fx_t *f = *state;
    size_t big = DDB_MAX_SPEC + 1;
    char *spec = malloc(big + 1), id[300];
    bool created;
    size_t added;
    err_t e;
    memset(spec, 'x', big);
    spec[big] = '\0';
    ledger_new_job_t j = {"j1", spec, 1};
    assert_int_equal(ledger_add_batch(f->l, "b1", "x", &j, 1, &created, &added, &e),
                     ERR_TOOBIG);
    free(spec);
    memset(id, 'a', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    j = (ledger_new_job_t){id, "{}", 1};
    assert_int_equal(ledger_add_batch(f->l, "b1", "x", &j, 1, &created, &added, &e),
                     ERR_INVALID);
    j = (ledger_new_job_t){"j1", NULL, 1};
    assert_int_equal(ledger_add_batch(f->l, "b1", "x", &j, 1, &created, &added, &e),
                     ERR_INVALID);
    assert_int_equal(nreq(f), 0);
}

/* 65 writes that each take 50 ms: one at a time they need 3.25 s; the pool
 * keeps eight in flight. */
static void add_batch_keeps_several_writes_in_flight(void **state)
{
    enum { N = 64 };
    fx_t *f = *state;
    ledger_new_job_t jobs[N];
    char ids[N][8];
    bool created;
    size_t added;
    err_t e;
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "j%d", i);
        jobs[i] = (ledger_new_job_t){ids[i], "{}", i + 1};
    }
    f->srv.stall_ms = 50;
    double t0 = tu_mono_s();
    assert_int_equal(ledger_add_batch(f->l, "b1", "x", jobs, N, &created, &added, &e),
                     ERR_OK);
    double took = tu_mono_s() - t0;
    assert_int_equal(added, N);
    assert_int_equal(nreq(f), N + 1);
    if (took > 1.6)
        fail_msg("64 writes of 50 ms took %.2f s: not in parallel", took);
}

/* An existing batch: its creation time is read back, its jobs listed once
 * from the state index, and only the missing ones written. */
static void re_adding_writes_only_missing_jobs(void **state)
{
    fx_t *f = *state;
    ledger_new_job_t jobs[] = {{"j1", "{}", 1}, {"j2", "{}", 2}};
    bool created;
    size_t added;
    err_t e;

    SCRIPT(f, R(400, CCF),
           R(200, "{\"Item\":{\"batch_id\":{\"S\":\"b1\"},"
                  "\"created_ms\":{\"N\":\"1700000000000\"}}}"),
           R(200, "{\"Count\":1,\"Items\":[{\"pk\":{\"S\":\"b1\"},\"sk\":{\"S\":\"job#j1\"},"
                 "\"state_key\":{\"S\":\"running#j1\"}}]}"),
           R(200, "{}"), R(200, "{}"));
    assert_int_equal(ledger_add_batch(f->l, "b1", "in.txt", jobs, 2, &created, &added,
                                          &e), ERR_OK);
    assert_false(created);
    assert_int_equal(added, 1);
    assert_int_equal(nreq(f), 5);
    assert_string_equal(target(f, 1), "GetItem");
    assert_string_equal(target(f, 2), "Query");
    assert_string_equal(str_at(f, 2, "IndexName", NULL, NULL), "by_state");
    assert_true(json_is_true(at(f, 2, "ConsistentRead", NULL, NULL)));
    assert_string_equal(target(f, 3), "UpdateItem");
    assert_non_null(strstr(str_at(f, 3, "UpdateExpression", NULL, NULL), "#last_add_ms"));
    assert_string_equal(target(f, 4), "PutItem");
    assert_string_equal(str_at(f, 4, "Item", "sk", "S"), "job#j2");
    assert_string_equal(str_at(f, 4, "Item", "batch_key", "S"), "1700000000000#b1");
}

static void get_batch_counts_with_one_query_per_state(void **state)
{
    fx_t *f = *state;
    ledger_batch_t b;
    err_t e;
    SCRIPT(f, R(200, "{\"Item\":{\"batch_id\":{\"S\":\"b1\"},\"source\":{\"S\":\"in.txt\"},"
                    "\"created_ms\":{\"N\":\"5\"}}}"),
           R(200, "{\"Count\":3}"), R(200, "{\"Count\":1}"), R(200, "{\"Count\":0}"),
           R(200, "{\"Count\":2,\"LastEvaluatedKey\":{\"pk\":{\"S\":\"b1\"}}}"),
           R(200, "{\"Count\":2}"), R(200, "{\"Count\":0}"), R(200, "{\"Count\":4}"));
    assert_int_equal(ledger_get_batch(f->l, "b1", &b, &e), ERR_OK);
    assert_int_equal(b.by_state[JOB_QUEUED], 3);
    assert_int_equal(b.by_state[JOB_RUNNING], 1);
    assert_int_equal(b.by_state[JOB_FAILED], 4);   /* two pages */
    assert_int_equal(b.by_state[JOB_CANCELLED], 4);
    assert_int_equal(b.total, 12);
    assert_int_equal(b.created_ms, 5);
    assert_string_equal(b.source, "in.txt");
    ledger_batch_free(&b);
    assert_int_equal(nreq(f), 8);
    assert_string_equal(str_at(f, 1, "Select", NULL, NULL), "COUNT");
    assert_string_equal(str_at(f, 1, "ExpressionAttributeValues", ":p", "S"), "queued#");
    assert_string_equal(str_at(f, 5, "ExclusiveStartKey", "pk", "S"), "b1");
}

/* get_jobs(b1, j1) against one GetItem reply; returns the code and the
 * message in e. */
static err_code_t get_with_reply(fx_t *f, step_t st, err_t *e)
{
    ledger_job_t *v = NULL;
    size_t n = 99;
    script(f, &st, 1);
    err_code_t rc = ledger_get_jobs(f->l, "b1", "j1", &v, &n, e);
    if (rc == ERR_OK)
        ledger_jobs_free(v, n);
    else
        assert_null(v);
    return rc;
}

static void a_job_item_is_read_in_full(void **state)
{
    fx_t *f = *state;
    ledger_job_t *v;
    size_t n;
    err_t e;
    char item[2048];
    snprintf(item, sizeof item, "%s", job_item("running", "w9"));
    SCRIPT(f, R(200, item));
    assert_int_equal(ledger_get_jobs(f->l, "b1", "j1", &v, &n, &e), ERR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].state, JOB_RUNNING);
    assert_string_equal(v[0].lease_owner, "w9");
    assert_int_equal(v[0].attempts, 2);
    assert_int_equal(v[0].line, 7);
    assert_int_equal(v[0].bytes, 1234);
    assert_true(v[0].cost_usd > 0.0399 && v[0].cost_usd < 0.0401);
    assert_int_equal(v[0].created_ms, 1700000000000LL);
    assert_null(v[0].url);
    assert_int_equal(v[0].finished_ms, 0);
    ledger_jobs_free(v, n);
}

/* A job item: batch_id, job_id, spec and the attributes in rest. */
#define ITEM(rest) "{\"Item\":{\"batch_id\":{\"S\":\"b1\"},\"job_id\":{\"S\":\"j1\"}," \
                   "\"spec\":{\"S\":\"{}\"}," rest "}}"
#define QUEUED "\"state\":{\"S\":\"queued\"}"

static void bad_items_are_clear_errors(void **state)
{
    fx_t *f = *state;
    const struct { const char *reply, *says; } cases[] = {
        {ITEM("\"state\":{\"N\":\"1\"}"), "state is not of type S"},
        {ITEM("\"state\":{\"S\":\"exploded\"}"), "unknown state"},
        {ITEM("\"state\":\"queued\""), "state is not of type S"},
        {ITEM("\"state\":{\"S\":\"queued\",\"N\":\"1\"}"), "state is not of type S"},
        {ITEM("\"x\":{\"S\":\"y\"}"), "state is missing"},
        {"{\"Item\":{\"batch_id\":{\"S\":\"b1\"}," QUEUED "}}", "job_id is missing"},
        {ITEM(QUEUED ",\"attempts\":{\"S\":\"two\"}"), "attempts"},
        {ITEM(QUEUED ",\"bytes\":{\"N\":\"12abc\"}"), "bytes is not an integer"},
        {ITEM(QUEUED ",\"line\":{\"N\":\"99999999999\"}"), "line is out of range"},
        {ITEM(QUEUED ",\"cost_usd\":{\"N\":\"nan\"}"), "cost_usd"},
        {ITEM(QUEUED ",\"url\":{\"SS\":[\"a\"]}"), "url"},
        {"{\"Item\":[1,2]}", "Item"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        err_t e;
        err_clear(&e);
        step_t st = R(200, cases[i].reply);
        assert_int_equal(get_with_reply(f, st, &e), ERR_INVALID);
        if (!strstr(e.msg, cases[i].says))
            fail_msg("case %zu: \"%s\" does not mention %s", i, e.msg, cases[i].says);
    }
}

static void replies_that_are_not_json_are_clear_errors(void **state)
{
    fx_t *f = *state;
    err_t e;
    assert_int_equal(get_with_reply(f, (step_t){200, "<html><body>Gateway</body></html>",
                                               "text/html", 0}, &e), ERR_UNAVAILABLE);
    assert_non_null(strstr(e.msg, "GetItem"));
    assert_int_equal(get_with_reply(f, (step_t)R(200, "{\"Item\":{\"state\":{\"S\":"), &e),
                     ERR_UNAVAILABLE);
    assert_int_equal(get_with_reply(f, (step_t)R(200, "[]"), &e), ERR_UNAVAILABLE);
    /* Cut off in transit: a transport error, whatever the exact code. */
    char item[2048];
    snprintf(item, sizeof item, "%s", job_item("queued", NULL));
    err_code_t rc = get_with_reply(f, (step_t){200, item, NULL, 40}, &e);
    assert_int_not_equal(rc, ERR_OK);
    /* An error page from a proxy in the way. */
    rc = get_with_reply(f, (step_t){502, "<html>Bad Gateway</html>", "text/html", 0}, &e);
    assert_int_equal(rc, ERR_UNAVAILABLE);
}

/* pending_enqueue over a Query reply; returns the code. */
static err_code_t pending_with(fx_t *f, const step_t *steps, int n, size_t *count,
                               err_t *e)
{
    char **ids = NULL;
    size_t got = 0;
    script(f, steps, n);
    err_code_t rc = ledger_pending_enqueue(f->l, "b1", &ids, NULL, &got, e);
    if (rc != ERR_OK)
        assert_null(ids);
    for (size_t i = 0; i < got; i++)
        free(ids[i]);
    free(ids);
    if (count)
        *count = got;
    return rc;
}

static void bad_query_pages_are_clear_errors(void **state)
{
    fx_t *f = *state;
    size_t n;
    err_t e;
    const step_t no_count[] = {R(200, "{\"Items\":[]}")};
    const step_t items_not_array[] = {R(200, "{\"Count\":1,\"Items\":{\"a\":1}}")};
    const step_t item_not_object[] = {R(200, "{\"Count\":1,\"Items\":[\"j1\"]}")};
    const step_t no_job_id[] = {R(200, "{\"Count\":1,\"Items\":[{\"x\":{\"S\":\"j\"}}]}")};
    const step_t bad_lek[] = {R(200, "{\"Count\":0,\"Items\":[],\"LastEvaluatedKey\":7}")};
    /* The same key twice would page forever. */
    const step_t stuck[] = {
        R(200, "{\"Count\":0,\"Items\":[],\"LastEvaluatedKey\":{\"pk\":{\"S\":\"b1\"}}}")};
    const step_t two_pages[] = {
        R(200, "{\"Count\":1,\"Items\":[{\"job_id\":{\"S\":\"a\"}}],"
              "\"LastEvaluatedKey\":{\"pk\":{\"S\":\"b1\"},\"sk\":{\"S\":\"job#a\"}}}"),
        R(200, "{\"Count\":1,\"Items\":[{\"job_id\":{\"S\":\"b\"}}]}")};

    assert_int_equal(pending_with(f, no_count, 1, NULL, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "Count"));
    assert_int_equal(pending_with(f, items_not_array, 1, NULL, &e), ERR_INVALID);
    assert_int_equal(pending_with(f, item_not_object, 1, NULL, &e), ERR_INVALID);
    assert_int_equal(pending_with(f, no_job_id, 1, NULL, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "job_id"));
    assert_int_equal(pending_with(f, bad_lek, 1, NULL, &e), ERR_INVALID);
    int before = nreq(f);
    assert_int_equal(pending_with(f, stuck, 1, NULL, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "did not advance"));
    assert_int_equal(nreq(f) - before, 2);
    before = nreq(f);
    assert_int_equal(pending_with(f, two_pages, 2, &n, &e), ERR_OK);
    assert_int_equal(n, 2);
    assert_string_equal(str_at(f, before, "IndexName", NULL, NULL), "by_line");
    assert_true(json_is_true(at(f, before, "ConsistentRead", NULL, NULL)));
    assert_non_null(strstr(str_at(f, before, "FilterExpression", NULL, NULL),
                           "#enqueued_ms = :zero"));
    assert_null(at(f, before, "ExclusiveStartKey", NULL, NULL));
    assert_string_equal(str_at(f, before + 1, "ExclusiveStartKey", "sk", "S"), "job#a");
}

static void a_job_id_without_batch_is_looked_up_in_the_job_index(void **state)
{
    fx_t *f = *state;
    ledger_job_t *v;
    size_t n;
    err_t e;
    char item[2048];
    snprintf(item, sizeof item, "%s", job_item("queued", NULL));
    SCRIPT(f, R(200, "{\"Count\":2,\"Items\":["
                  "{\"pk\":{\"S\":\"b1\"},\"sk\":{\"S\":\"job#j1\"}},"
                    "{\"pk\":{\"S\":\"b2\"},\"sk\":{\"S\":\"job#j1\"}}]}"),
           R(200, item), R(200, "{}"));
    assert_int_equal(ledger_get_jobs(f->l, NULL, "j1", &v, &n, &e), ERR_OK);
    assert_int_equal(n, 1);   /* the second vanished between index and read */
    ledger_jobs_free(v, n);
    assert_string_equal(str_at(f, 0, "IndexName", NULL, NULL), "by_job");
    assert_string_equal(str_at(f, 0, "ExpressionAttributeValues", ":j", "S"), "j1");
    assert_string_equal(str_at(f, 2, "Key", "pk", "S"), "b2");
}

static void list_batches_reads_newest_first(void **state)
{
    fx_t *f = *state;
    ledger_batch_t *bs;
    size_t n;
    err_t e;
    SCRIPT(f, R(200, "{\"Count\":1,\"Items\":[{\"batch_id\":{\"S\":\"b1\"},"
                    "\"created_ms\":{\"N\":\"9\"}}]}"), R(200, "{\"Count\":1}"));
    assert_int_equal(ledger_list_batches(f->l, 5, &bs, &n, &e), ERR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(bs[0].total, 6);
    ledger_batches_free(bs, n);
    assert_string_equal(str_at(f, 0, "IndexName", NULL, NULL), "by_created");
    assert_true(json_is_false(at(f, 0, "ScanIndexForward", NULL, NULL)));
    assert_int_equal(json_integer_value(at(f, 0, "Limit", NULL, NULL)), 5);
    SCRIPT(f, R(200, "{\"Count\":1,\"Items\":[{\"created_ms\":{\"N\":\"9\"}}]}"));
    assert_int_equal(ledger_list_batches(f->l, 5, &bs, &n, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "batch_id"));
}

static void table_definition_matches_the_schema_file(void **state)
{
    (void)state;
    char path[1024];
    const char *root = getenv("ROOT");
    json_error_t je;
    snprintf(path, sizeof path, "%s/schema/dynamodb/table.json", root ? root : ".");
    json_t *file = json_load_file(path, 0, &je);
    if (!file)
        fail_msg("%s: %s", path, je.text);
    json_t *def = ledger_dynamodb_table_definition(NULL);
    assert_true(def && json_equal(file, def));
    json_decref(def);
    def = ledger_dynamodb_table_definition("other");
    assert_string_equal(json_string_value(json_object_get(def, "TableName")), "other");
    json_decref(def);
    json_decref(file);
}

#define NOT_FOUND "{\"__type\":\"com.amazonaws.dynamodb.v20120810#" \
                  "ResourceNotFoundException\",\"message\":\"Cannot do operations on a" \
                  " non-existent table\"}"
#define DESCRIBED(status, gsi_status) \
    "{\"Table\":{\"TableName\":\"posters\",\"TableStatus\":\"" status "\"," \
    "\"LocalSecondaryIndexes\":[{\"IndexName\":\"by_line\"},{\"IndexName\":\"by_state\"}]," \
    "\"GlobalSecondaryIndexes\":[{\"IndexName\":\"by_job\",\"IndexStatus\":\"ACTIVE\"}," \
    "{\"IndexName\":\"by_created\",\"IndexStatus\":\"" gsi_status "\"}," \
    "{\"IndexName\":\"by_outbox\",\"IndexStatus\":\"" gsi_status "\"}]}}"
/* A table made before webhooks: no by_outbox. */
#define DESCRIBED_OLD \
    "{\"Table\":{\"TableName\":\"posters\",\"TableStatus\":\"ACTIVE\"," \
    "\"LocalSecondaryIndexes\":[{\"IndexName\":\"by_line\"},{\"IndexName\":\"by_state\"}]," \
    "\"GlobalSecondaryIndexes\":[{\"IndexName\":\"by_job\",\"IndexStatus\":\"ACTIVE\"}," \
    "{\"IndexName\":\"by_created\",\"IndexStatus\":\"ACTIVE\"}]}}"

static void ensure_creates_a_missing_table_and_waits_until_active(void **state)
{
    fx_t *f = *state;
    char report[256];
    err_t e;
    SCRIPT(f, R(400, NOT_FOUND), R(200, "{\"TableDescription\":{}}"),
           R(200, DESCRIBED("CREATING", "CREATING")),
           R(200, DESCRIBED("ACTIVE", "CREATING")),
           R(200, DESCRIBED("ACTIVE", "ACTIVE")));
    assert_int_equal(ledger_dynamodb_ensure(f->a.aws, "posters", report, sizeof report, &e),
                     ERR_OK);
    assert_non_null(strstr(report, "created table posters"));
    assert_int_equal(nreq(f), 5);
    assert_string_equal(target(f, 0), "DescribeTable");
    assert_string_equal(target(f, 1), "CreateTable");
    json_t *def = ledger_dynamodb_table_definition("posters");
    assert_true(json_equal(body(f, 1), def));
    json_decref(def);
    /* Another `init` got there first: wait for its table. */
    SCRIPT(f, R(400, NOT_FOUND),
           R(400, "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ResourceInUseException\","
                  "\"message\":\"Table already exists\"}"),
           R(200, DESCRIBED("ACTIVE", "ACTIVE")));
    assert_int_equal(ledger_dynamodb_ensure(f->a.aws, "posters", report, sizeof report, &e),
                     ERR_OK);
    assert_non_null(strstr(report, "exists"));
}

static void ensure_leaves_an_existing_table_alone(void **state)
{
    fx_t *f = *state;
    char report[256];
    err_t e;
    SCRIPT(f, R(200, DESCRIBED("ACTIVE", "ACTIVE")));
    assert_int_equal(ledger_dynamodb_ensure(f->a.aws, "posters", report, sizeof report, &e),
                     ERR_OK);
    assert_non_null(strstr(report, "table posters exists"));
    assert_int_equal(nreq(f), 1);
    /* Same name, other layout: refused, naming what is missing. */
    SCRIPT(f, R(200, "{\"Table\":{\"TableStatus\":\"ACTIVE\"}}"));
    assert_int_equal(ledger_dynamodb_ensure(f->a.aws, "posters", report, sizeof report, &e),
                     ERR_CONFIG);
    assert_non_null(strstr(e.msg, "by_line"));
    SCRIPT(f, R(200, "{\"Table\":{}}"));
    assert_int_equal(ledger_dynamodb_ensure(f->a.aws, "posters", NULL, 0, &e), ERR_INVALID);
    /* Made before webhooks: their index is added online, then waited for. */
    SCRIPT(f, R(200, DESCRIBED_OLD), R(200, "{\"TableDescription\":{}}"),
           R(200, DESCRIBED("ACTIVE", "ACTIVE")));
    int base = nreq(f);
    if (ledger_dynamodb_ensure(f->a.aws, "posters", report, sizeof report, &e) != ERR_OK)
        fail_msg("ensure: %s", e.msg);
    assert_int_equal(nreq(f) - base, 3);
    assert_string_equal(target(f, base + 1), "UpdateTable");
    json_t *create = json_object_get(
        json_array_get(at(f, base + 1, "GlobalSecondaryIndexUpdates", NULL, NULL), 0),
        "Create");
    assert_string_equal(json_string_value(json_object_get(create, "IndexName")), "by_outbox");
    assert_int_equal(ledger_dynamodb_ensure(f->a.aws, "p", NULL, 0, &e), ERR_CONFIG);
}

/* Campaign spend (ledger_dynamodb_spend.c): one conditional UpdateItem of
 * the campaign's month item that checks the slot marker and the budget. */
static err_code_t spend(fx_t *f, double usd, double limit, bool *added, double *total,
                        err_t *e)
{
    ledger_spend_t s = {.campaign = "w", .slot = "2026-11-02T09:00:00Z", .month = "2026-11",
                        .batch_id = "w-20261102T090000Z", .usd = usd, .jobs = 12,
                        .month_limit = limit};
    err_clear(e);
    return ledger_spend_add(f->l, &s, added, total, e);
}

static void spend_is_one_conditional_update_of_the_month_item(void **state)
{
    fx_t *f = *state;
    bool added = false;
    double total = 0;
    err_t e;
    SCRIPT(f, R(200, "{\"Attributes\":{\"usd_micro\":{\"N\":\"1200000\"}}}"));
    assert_int_equal(spend(f, 1.2, 3, &added, &total, &e), ERR_OK);
    assert_true(added);
    assert_true(total > 1.19 && total < 1.21);
    assert_int_equal(nreq(f), 1);
    assert_string_equal(target(f, 0), "UpdateItem");
    assert_string_equal(str_at(f, 0, "Key", "pk", "S"), "spend#w");
    assert_string_equal(str_at(f, 0, "Key", "sk", "S"), "month#2026-11");
    assert_string_equal(str_at(f, 0, "ReturnValues", NULL, NULL), "ALL_NEW");
    const char *cond = str_at(f, 0, "ConditionExpression", NULL, NULL);
    assert_non_null(strstr(cond, "NOT contains(#slots, :slot)"));
    assert_non_null(strstr(cond, "#usd_micro <= :room"));
    const char *upd = str_at(f, 0, "UpdateExpression", NULL, NULL);
    assert_non_null(strstr(upd, "ADD #usd_micro :usd_micro"));
    assert_non_null(strstr(upd, "#slots :slots"));
    assert_string_equal(str_at(f, 0, "ExpressionAttributeValues", ":usd_micro", "N"), "1200000");
    assert_string_equal(str_at(f, 0, "ExpressionAttributeValues", ":room", "N"), "1800000");
    assert_string_equal(json_string_value(json_array_get(
        at(f, 0, "ExpressionAttributeValues", ":slots", "SS"), 0)), "2026-11-02T09:00:00Z");
    /* No monthly budget: only the slot marker is checked. */
    SCRIPT(f, R(200, "{\"Attributes\":{\"usd_micro\":{\"N\":\"1200000\"}}}"));
    assert_int_equal(spend(f, 1.2, -1, &added, &total, &e), ERR_OK);
    assert_null(strstr(str_at(f, 1, "ConditionExpression", NULL, NULL), ":room"));
    assert_null(at(f, 1, "ExpressionAttributeValues", ":room", NULL));
}

static void a_refused_spend_reads_why(void **state)
{
    fx_t *f = *state;
    bool added = true;
    double total = 0;
    err_t e;
    /* The slot is in the set: recorded before, not an error. */
    SCRIPT(f, R(400, CCF), R(200, "{\"Item\":{\"usd_micro\":{\"N\":\"2400000\"},"
                                  "\"slots\":{\"SS\":[\"2026-11-02T09:00:00Z\"]}}}"));
    assert_int_equal(spend(f, 1.2, 3, &added, &total, &e), ERR_OK);
    assert_false(added);
    assert_true(total > 2.39 && total < 2.41);
    assert_string_equal(target(f, 1), "GetItem");
    assert_true(json_is_true(at(f, 1, "ConsistentRead", NULL, NULL)));
    /* Not in the set: the budget refused it. */
    SCRIPT(f, R(400, CCF), R(200, "{\"Item\":{\"usd_micro\":{\"N\":\"2400000\"},"
                                  "\"slots\":{\"SS\":[\"2026-11-09T09:00:00Z\"]}}}"));
    assert_int_equal(spend(f, 1.2, 3, &added, &total, &e), ERR_TOOBIG);
    assert_non_null(strstr(e.msg, "campaign w: monthly budget exceeded: 2026-11 has $2.40 "
                                  "recorded, this firing needs $1.20, the budget is $3.00"));
    /* Over the whole budget: no write, only the read. */
    int before = nreq(f);
    SCRIPT(f, R(200, "{}"));
    assert_int_equal(spend(f, 5, 3, &added, &total, &e), ERR_TOOBIG);
    assert_int_equal(nreq(f), before + 1);
    assert_string_equal(target(f, before), "GetItem");
    /* Replies that are wrong are clear errors, never a silent success. */
    SCRIPT(f, R(200, "{}"));
    assert_int_equal(spend(f, 1.2, 3, &added, &total, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "usd_micro"));
    SCRIPT(f, R(200, "{\"Attributes\":{\"usd_micro\":{\"S\":\"1\"}}}"));
    assert_int_equal(spend(f, 1.2, 3, &added, &total, &e), ERR_INVALID);
    SCRIPT(f, R(400, CCF), R(200, "{\"Item\":{\"usd_micro\":{\"N\":\"lots\"}}}"));
    assert_int_equal(spend(f, 1.2, 3, &added, &total, &e), ERR_INVALID);
    SCRIPT(f, R(400, CCF), R(200, "{\"Item\":[]}"));
    assert_int_equal(spend(f, 1.2, 3, &added, &total, &e), ERR_INVALID);
    SCRIPT(f, R(200, "{\"Item\":{\"usd_micro\":{\"N\":\"-\"}}}"));
    double usd;
    assert_int_equal(ledger_spend_get(f->l, "w", "2026-11", &usd, &e), ERR_INVALID);
    SCRIPT(f, R(200, "{}"));
    assert_int_equal(ledger_spend_get(f->l, "w", "2026-11", &usd, &e), ERR_OK);
    assert_true(usd == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(claim_is_one_conditional_update),
        T(a_refused_claim_reports_why),
        T(a_lost_lease_is_a_conflict_naming_the_owner),
        T(fail_without_owner_accepts_any_live_state),
        T(bad_arguments_send_nothing),
        T(a_missing_table_says_to_run_init),
        T(throttling_is_retried),
        T(add_batch_never_overwrites_a_job),
        T(oversized_or_bad_jobs_are_refused_before_sending),
        T(add_batch_keeps_several_writes_in_flight),
        T(re_adding_writes_only_missing_jobs),
        T(get_batch_counts_with_one_query_per_state),
        T(a_job_item_is_read_in_full),
        T(bad_items_are_clear_errors),
        T(replies_that_are_not_json_are_clear_errors),
        T(bad_query_pages_are_clear_errors),
        T(a_job_id_without_batch_is_looked_up_in_the_job_index),
        T(list_batches_reads_newest_first),
        T(table_definition_matches_the_schema_file),
        T(ensure_creates_a_missing_table_and_waits_until_active),
        T(ensure_leaves_an_existing_table_alone),
        T(spend_is_one_conditional_update_of_the_month_item),
        T(a_refused_spend_reads_why),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
