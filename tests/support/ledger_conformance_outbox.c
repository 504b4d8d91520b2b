/* ledger_conformance_outbox — the webhook outbox every ledger back-end that
 * keeps one must show (ledger_ops_t.set_batch_webhook, outbox_*): a batch's
 * URL is immutable; each terminal transition of a job of a batch with a
 * webhook leaves exactly one event, with the Standard Webhooks payload;
 * the transition that leaves no live job leaves exactly one
 * batch.completed, whichever job is last; taking leases events; attempts
 * are recorded.  A back-end without an outbox passes by saying so
 * (ledger_has_outbox false).  Part of the conformance suite
 * (ledger_conformance.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger_conformance.h"

#define URL "http://127.0.0.1:9/hook?token=t"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Every due event (a lease of 1 ms, so the next take sees them again). */
static size_t take_all(ledger_t *l, ledger_event_t **v)
{
    size_t n;
    err_t e;
    if (ledger_outbox_take(l, now_ms() + 1000, 1, 1000, v, &n, &e) != ERR_OK)
        fail_msg("outbox_take: %s", e.msg);
    return n;
}

/* Delivers everything: takes what is due and records it delivered until
 * nothing is left (a back-end may write batch.completed only once the
 * last job event is recorded).  *v: every event delivered. */
static size_t deliver_all(ledger_t *l, ledger_event_t **v)
{
    ledger_event_t *all = NULL, *got;
    size_t len = 0, n;
    err_t e;
    for (int round = 0; round < 10; round++) {
        if (ledger_outbox_take(l, now_ms() + 1000, 60000, 1000, &got, &n, &e) != ERR_OK)
            fail_msg("outbox_take: %s", e.msg);
        if (n == 0) {
            ledger_events_free(got, 0);
            break;
        }
        all = realloc(all, (len + n) * sizeof *all);
        assert_non_null(all);
        for (size_t i = 0; i < n; i++) {
            if (ledger_outbox_record(l, &got[i], -1, 204, NULL, &e) != ERR_OK)
                fail_msg("outbox_record: %s", e.msg);
            all[len++] = got[i];
        }
        free(got);
    }
    *v = all;
    return len;
}

static size_t count_type(const ledger_event_t *v, size_t n, const char *batch,
                         const char *type)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += strcmp(v[i].batch_id, batch) == 0 && strcmp(v[i].type, type) == 0;
    return c;
}

static void with_webhook(ledger_t *l, const char *batch, const char *const *ids, size_t n)
{
    err_t e;
    if (ledger_set_batch_webhook(l, batch, URL, &e) != ERR_OK)
        fail_msg("set_batch_webhook: %s", e.msg);
    lc_add(l, batch, ids, n, NULL);
}

static void finish(ledger_t *l, const char *b, const char *j, job_state_t st)
{
    err_t e;
    assert_int_equal(lc_claim(l, b, j, "w1"), CLAIM_OK);
    if (st == JOB_SUCCEEDED)
        assert_int_equal(ledger_succeed(l, b, j, "w1", &lc_result, &e), ERR_OK);
    else
        assert_int_equal(ledger_fail(l, b, j, 1, "w1", st, "Boom", "it broke", &e), ERR_OK);
}

void ledger_conformance_webhook_url_is_set_once(void **state)
{
    ledger_fixture_t *fx = *state;
    ledger_outbox_summary_t s;
    err_t e;
    if (!ledger_has_outbox(fx->l))
        skip();
    assert_int_equal(ledger_set_batch_webhook(fx->l, "b1", URL, &e), ERR_OK);
    assert_int_equal(ledger_set_batch_webhook(fx->l, "b1", URL, &e), ERR_OK);
    assert_int_equal(ledger_set_batch_webhook(fx->l, "b1", "https://other.example/h", &e),
                     ERR_CONFLICT);
    assert_null(strstr(e.msg, "token"));
    assert_int_equal(ledger_outbox_summary(fx->l, "b1", &s, &e), ERR_OK);
    assert_string_equal(s.url, URL);
    ledger_outbox_summary_free(&s);
    assert_int_equal(ledger_outbox_summary(fx->l, "b-none", &s, &e), ERR_OK);
    assert_null(s.url);
    assert_int_equal(s.pending + s.delivered + s.gave_up, 0);
}

void ledger_conformance_each_terminal_job_writes_one_event(void **state)
{
    ledger_fixture_t *fx = *state;
    const char *ids[] = {"j1", "j2", "j3"}, *plain[] = {"p1"};
    ledger_event_t *v;
    size_t n, cancelled;
    err_t e;
    if (!ledger_has_outbox(fx->l))
        skip();
    with_webhook(fx->l, "b1", ids, 3);
    lc_add(fx->l, "b-plain", plain, 1, NULL);    /* no webhook: no events */
    finish(fx->l, "b-plain", "p1", JOB_SUCCEEDED);
    finish(fx->l, "b1", "j1", JOB_SUCCEEDED);
    n = take_all(fx->l, &v);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].type, "job.succeeded");
    assert_string_equal(v[0].job_id, "j1");
    assert_string_equal(v[0].url, URL);
    assert_int_equal(strncmp(v[0].id, "msg_", 4), 0);
    /* The payload: {"type", "timestamp", "data"} with the job's outcome. */
    json_t *p = json_loads(v[0].payload, 0, NULL);
    assert_non_null(p);
    assert_string_equal(json_string_value(json_object_get(p, "type")), "job.succeeded");
    const char *ts = json_string_value(json_object_get(p, "timestamp"));
    assert_non_null(ts);
    assert_int_equal(strlen(ts), 24);                /* 2026-12-07T06:00:00.000Z */
    assert_int_equal(ts[23], 'Z');
    json_t *d = json_object_get(p, "data");
    assert_string_equal(json_string_value(json_object_get(d, "batch")), "b1");
    assert_string_equal(json_string_value(json_object_get(d, "job")), "j1");
    assert_string_equal(json_string_value(json_object_get(d, "state")), "succeeded");
    assert_string_equal(json_string_value(json_object_get(d, "url")), lc_result.url);
    assert_string_equal(json_string_value(json_object_get(d, "model")), "draft");
    assert_int_equal(json_integer_value(json_object_get(d, "attempts")), 1);
    assert_int_equal(json_integer_value(json_object_get(d, "run")), 1);
    assert_int_equal(json_integer_value(json_object_get(d, "line")), 1);
    json_decref(p);
    ledger_events_free(v, n);

    finish(fx->l, "b1", "j2", JOB_FAILED);
    /* A refused transition writes nothing. */
    assert_int_equal(ledger_fail(fx->l, "b1", "j2", 1, NULL, JOB_FAILED, "Dead", "x", &e),
                     ERR_CONFLICT);
    assert_int_equal(ledger_cancel(fx->l, "b1", "j3", &cancelled, &e), ERR_OK);
    assert_int_equal(cancelled, 1);
    n = deliver_all(fx->l, &v);
    assert_int_equal(n, 4);
    assert_int_equal(count_type(v, n, "b1", "job.succeeded"), 1);
    assert_int_equal(count_type(v, n, "b1", "job.failed"), 1);
    assert_int_equal(count_type(v, n, "b1", "job.cancelled"), 1);
    assert_int_equal(count_type(v, n, "b1", "batch.completed"), 1);
    assert_int_equal(count_type(v, n, "b-plain", "job.succeeded"), 0);
    for (size_t i = 0; i < n; i++) {
        p = json_loads(v[i].payload, 0, NULL);
        assert_non_null(p);
        d = json_object_get(p, "data");
        if (strcmp(v[i].type, "job.failed") == 0) {
            json_t *er = json_object_get(d, "error");
            assert_string_equal(json_string_value(json_object_get(er, "code")), "Boom");
            assert_string_equal(json_string_value(json_object_get(er, "message")),
                                "it broke");
        }
        if (strcmp(v[i].type, "batch.completed") == 0) {
            assert_null(v[i].job_id);
            assert_int_equal(json_integer_value(json_object_get(d, "total")), 3);
            json_t *c = json_object_get(d, "counts");
            assert_int_equal(json_integer_value(json_object_get(c, "succeeded")), 1);
            assert_int_equal(json_integer_value(json_object_get(c, "failed")), 1);
            assert_int_equal(json_integer_value(json_object_get(c, "cancelled")), 1);
        }
        json_decref(p);
    }
    ledger_events_free(v, n);
}

void ledger_conformance_batch_completed_once_whichever_job_is_last(void **state)
{
    ledger_fixture_t *fx = *state;
    const char *ids[] = {"j1", "j2"};
    ledger_event_t *v;
    size_t n, cancelled;
    err_t e;
    if (!ledger_has_outbox(fx->l))
        skip();
    with_webhook(fx->l, "b1", ids, 2);
    with_webhook(fx->l, "b2", ids, 2);
    with_webhook(fx->l, "b3", ids, 2);
    /* Both running at once, finishing in either order. */
    assert_int_equal(lc_claim(fx->l, "b1", "j1", "w1"), CLAIM_OK);
    assert_int_equal(lc_claim(fx->l, "b1", "j2", "w2"), CLAIM_OK);
    assert_int_equal(ledger_succeed(fx->l, "b1", "j1", "w1", &lc_result, &e), ERR_OK);
    n = deliver_all(fx->l, &v);                  /* j2 still runs: not complete */
    assert_int_equal(n, 1);
    assert_int_equal(count_type(v, n, "b1", "batch.completed"), 0);
    ledger_events_free(v, n);
    assert_int_equal(ledger_succeed(fx->l, "b1", "j2", "w2", &lc_result, &e), ERR_OK);
    assert_int_equal(lc_claim(fx->l, "b2", "j2", "w2"), CLAIM_OK);
    assert_int_equal(lc_claim(fx->l, "b2", "j1", "w1"), CLAIM_OK);
    assert_int_equal(ledger_succeed(fx->l, "b2", "j2", "w2", &lc_result, &e), ERR_OK);
    assert_int_equal(ledger_fail(fx->l, "b2", "j1", 1, "w1", JOB_FILTERED, "Filtered", "no",
                                 &e), ERR_OK);
    /* A whole batch cancelled at once: one event a job, one completion. */
    assert_int_equal(ledger_cancel(fx->l, "b3", NULL, &cancelled, &e), ERR_OK);
    assert_int_equal(cancelled, 2);
    n = deliver_all(fx->l, &v);
    assert_int_equal(n, 2 + 3 + 3);
    assert_int_equal(count_type(v, n, "b1", "job.succeeded"), 1);
    assert_int_equal(count_type(v, n, "b1", "batch.completed"), 1);
    assert_int_equal(count_type(v, n, "b2", "batch.completed"), 1);
    assert_int_equal(count_type(v, n, "b2", "job.filtered"), 1);
    assert_int_equal(count_type(v, n, "b3", "job.cancelled"), 2);
    assert_int_equal(count_type(v, n, "b3", "batch.completed"), 1);
    ledger_events_free(v, n);
}

void ledger_conformance_outbox_takes_with_a_lease_and_records_attempts(void **state)
{
    ledger_fixture_t *fx = *state;
    const char *ids[] = {"j1"};
    ledger_event_t *v, *first;
    ledger_outbox_summary_t s;
    size_t n, nfirst;
    err_t e;
    if (!ledger_has_outbox(fx->l))
        skip();
    with_webhook(fx->l, "b1", ids, 1);
    finish(fx->l, "b1", "j1", JOB_SUCCEEDED);
    /* The job event; batch.completed may come now or once it is recorded. */
    int64_t t = now_ms() + 1000;
    assert_int_equal(ledger_outbox_take(fx->l, t, 60000, 1, &first, &nfirst, &e), ERR_OK);
    assert_int_equal(nfirst, 1);                 /* max 1 */
    assert_int_equal(first[0].attempts, 0);
    /* Leased: not taken again. */
    assert_int_equal(ledger_outbox_take(fx->l, t, 60000, 10, &v, &n, &e), ERR_OK);
    for (size_t i = 0; i < n; i++)
        assert_string_not_equal(v[i].id, first[0].id);
    ledger_events_free(v, n);
    /* A failed attempt, due again at t + 5 s. */
    assert_int_equal(ledger_outbox_record(fx->l, &first[0], t + 5000, 503, "HTTP 503", &e),
                     ERR_OK);
    assert_int_equal(ledger_outbox_summary(fx->l, "b1", &s, &e), ERR_OK);
    assert_true(s.pending >= 1);
    assert_int_equal(s.gave_up, 0);
    assert_int_equal(s.last_status, 503);
    assert_string_equal(s.last_error, "HTTP 503");
    ledger_outbox_summary_free(&s);
    assert_int_equal(ledger_outbox_take(fx->l, t + 5000, 60000, 10, &v, &n, &e), ERR_OK);
    size_t again = n;
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].id, first[0].id) == 0) {
            assert_int_equal(v[i].attempts, 1);  /* the same webhook-id, counted */
            assert_string_equal(v[i].payload, first[0].payload);
            again = i;
        }
    assert_true(again < n);
    /* Given up: never taken again, and no second record. */
    assert_int_equal(ledger_outbox_record(fx->l, &v[again], 0, 410, "HTTP 410", &e), ERR_OK);
    assert_int_equal(ledger_outbox_record(fx->l, &v[again], -1, 200, NULL, &e), ERR_NOTFOUND);
    for (size_t i = 0; i < n; i++)
        if (i != again)
            assert_int_equal(ledger_outbox_record(fx->l, &v[i], -1, 204, NULL, &e), ERR_OK);
    ledger_events_free(v, n);
    /* The completion, if it came only now. */
    assert_int_equal(ledger_outbox_take(fx->l, t + 99999999, 60000, 10, &v, &n, &e), ERR_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ledger_outbox_record(fx->l, &v[i], -1, 204, NULL, &e), ERR_OK);
    ledger_events_free(v, n);
    assert_int_equal(ledger_outbox_summary(fx->l, "b1", &s, &e), ERR_OK);
    assert_int_equal(s.delivered, 1);            /* batch.completed */
    assert_int_equal(s.pending, 0);
    assert_int_equal(s.gave_up, 1);
    ledger_outbox_summary_free(&s);
    assert_int_equal(ledger_outbox_take(fx->l, t + 99999999, 1, 10, &v, &n, &e), ERR_OK);
    assert_int_equal(n, 0);
    ledger_events_free(first, nfirst);
}

void ledger_conformance_taken_events_come_back_one_lease_apart(void **state)
{
    ledger_fixture_t *fx = *state;
    const char *ids[] = {"j1", "j2", "j3"};
    ledger_event_t *v, *w;
    size_t n, m;
    err_t e;
    if (!ledger_has_outbox(fx->l))
        skip();
    with_webhook(fx->l, "b1", ids, 3);
    finish(fx->l, "b1", "j1", JOB_SUCCEEDED);
    finish(fx->l, "b1", "j2", JOB_FAILED);       /* j3 still queued: no completion */
    int64_t t = now_ms() + 1000;
    assert_int_equal(ledger_outbox_take(fx->l, t, 1000, 2, &v, &n, &e), ERR_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ledger_outbox_take(fx->l, t + 999, 1000, 10, &w, &m, &e), ERR_OK);
    assert_int_equal(m, 0);
    ledger_events_free(w, m);
    /* The first taken is held one lease, the second two. */
    assert_int_equal(ledger_outbox_take(fx->l, t + 1000, 1000, 10, &w, &m, &e), ERR_OK);
    assert_int_equal(m, 1);
    assert_string_equal(w[0].id, v[0].id);
    ledger_events_free(w, m);
    assert_int_equal(ledger_outbox_take(fx->l, t + 2000, 1000, 10, &w, &m, &e), ERR_OK);
    assert_int_equal(m, 2);
    ledger_events_free(w, m);
    ledger_events_free(v, n);
}

void ledger_conformance_a_batch_that_grows_completes_again(void **state)
{
    ledger_fixture_t *fx = *state;
    const char *first[] = {"j1"}, *more[] = {"j1", "j2"};
    ledger_event_t *v;
    size_t n;
    if (!ledger_has_outbox(fx->l))
        skip();
    with_webhook(fx->l, "b1", first, 1);
    finish(fx->l, "b1", "j1", JOB_SUCCEEDED);
    n = deliver_all(fx->l, &v);
    assert_int_equal(count_type(v, n, "b1", "batch.completed"), 1);
    ledger_events_free(v, n);
    /* Delivering again brings nothing new. */
    n = deliver_all(fx->l, &v);
    assert_int_equal(n, 0);
    ledger_events_free(v, n);
    /* The same batch with one more job: live again, then complete again. */
    assert_int_equal(lc_add(fx->l, "b1", more, 2, NULL), 1);
    finish(fx->l, "b1", "j2", JOB_FILTERED);
    n = deliver_all(fx->l, &v);
    assert_int_equal(n, 2);
    assert_int_equal(count_type(v, n, "b1", "job.filtered"), 1);
    assert_int_equal(count_type(v, n, "b1", "batch.completed"), 1);
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].type, "batch.completed") == 0) {
            json_t *p = json_loads(v[i].payload, 0, NULL);
            json_t *c = json_object_get(json_object_get(p, "data"), "counts");
            assert_int_equal(json_integer_value(json_object_get(c, "succeeded")), 1);
            assert_int_equal(json_integer_value(json_object_get(c, "filtered")), 1);
            json_decref(p);
        }
    ledger_events_free(v, n);
}

/* Retry and webhooks together: re-opening a finished job writes no event;
 * its new run's outcome writes one, carrying the run, and the batch
 * completes again under a new webhook-id. */
void ledger_conformance_a_retried_run_sends_its_own_events(void **state)
{
    ledger_fixture_t *fx = *state;
    const char *ids[] = {"j1", "j2"};
    ledger_event_t *v;
    ledger_claim_t c;
    size_t n, reopened;
    char first_completion[128];
    err_t e;
    if (!ledger_has_outbox(fx->l))
        skip();
    with_webhook(fx->l, "b1", ids, 2);
    finish(fx->l, "b1", "j1", JOB_SUCCEEDED);
    finish(fx->l, "b1", "j2", JOB_FAILED);
    n = deliver_all(fx->l, &v);
    assert_int_equal(n, 3);
    assert_int_equal(count_type(v, n, "b1", "batch.completed"), 1);
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].type, "batch.completed") == 0)
            snprintf(first_completion, sizeof first_completion, "%s", v[i].id);
    ledger_events_free(v, n);

    assert_int_equal(ledger_retry(fx->l, "b1", "j2", LEDGER_RETRY_FAILED, &reopened, &e),
                     ERR_OK);
    assert_int_equal(reopened, 1);
    n = deliver_all(fx->l, &v);
    assert_int_equal(n, 0);                     /* re-opening is no event */
    ledger_events_free(v, n);

    assert_int_equal(ledger_claim(fx->l, "b1", "j2", 2, "w2", 30, &c, &e), ERR_OK);
    assert_int_equal(c, CLAIM_OK);
    assert_int_equal(ledger_succeed(fx->l, "b1", "j2", "w2", &lc_result, &e), ERR_OK);
    n = deliver_all(fx->l, &v);
    assert_int_equal(n, 2);
    assert_int_equal(count_type(v, n, "b1", "job.succeeded"), 1);
    assert_int_equal(count_type(v, n, "b1", "batch.completed"), 1);
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_loads(v[i].payload, 0, NULL);
        json_t *d = json_object_get(p, "data");
        assert_non_null(d);
        if (strcmp(v[i].type, "job.succeeded") == 0) {
            assert_string_equal(v[i].job_id, "j2");
            assert_int_equal(json_integer_value(json_object_get(d, "run")), 2);
        } else {
            assert_string_not_equal(v[i].id, first_completion);
        }
        json_decref(p);
    }
    ledger_events_free(v, n);
}
