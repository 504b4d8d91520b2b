/* Tests for the run a queue message carries (common/jobs/job.c,
 * job_message_encode_run / job_message_decode_run; issue 17, item 1):
 * run 1 is left out (bytes identical to a message without runs), a later
 * run round-trips, a body without one decodes as run 1, and a bad run is a
 * poison message naming the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "jobs/job.h"

static void spec_of(job_spec_t *s)
{
    err_t e;
    const char *j = "{\"prompt\":\"a lighthouse\"}";
    job_spec_init(s);
    assert_int_equal(job_spec_parse_json(j, strlen(j), s, &e), ERR_OK);
    assert_int_equal(job_spec_normalise(s, NULL, &e), ERR_OK);
}

static void run_one_is_left_out_of_the_body(void **state)
{
    (void)state;
    job_spec_t s;
    buf_t a = BUF_INIT, b = BUF_INIT;
    spec_of(&s);
    assert_int_equal(job_message_encode("b1", "j1", &s, &a), ERR_OK);
    assert_int_equal(job_message_encode_run("b1", "j1", 1, &s, &b), ERR_OK);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    assert_null(strstr((const char *)a.data, "\"run\""));
    buf_free(&a);
    buf_free(&b);
    job_spec_free(&s);
}

static void a_later_run_round_trips(void **state)
{
    (void)state;
    job_spec_t s, back;
    buf_t m = BUF_INIT;
    char batch[JOB_ID_MAX + 1], job[JOB_ID_MAX + 1];
    int run = 0;
    err_t e;
    spec_of(&s);
    assert_int_equal(job_message_encode_run("b1", "j1", 7, &s, &m), ERR_OK);
    assert_non_null(strstr((const char *)m.data, "\"job\":\"j1\",\"run\":7,\"spec\""));
    assert_int_equal(job_message_decode_run((const char *)m.data, m.len, batch, job, &back,
                                            &run, &e), ERR_OK);
    assert_int_equal(run, 7);
    assert_string_equal(batch, "b1");
    assert_string_equal(job, "j1");
    assert_string_equal(back.prompt, "a lighthouse");
    job_spec_free(&back);
    /* The old decoder takes it too (and ignores the run). */
    assert_int_equal(job_message_decode((const char *)m.data, m.len, batch, job, &back, &e),
                     ERR_OK);
    job_spec_free(&back);
    /* Out of range is refused at encode. */
    buf_reset(&m);
    assert_int_equal(job_message_encode_run("b1", "j1", 0, &s, &m), ERR_INVALID);
    assert_int_equal(job_message_encode_run("b1", "j1", JOB_RUN_MAX + 1, &s, &m),
                     ERR_INVALID);
    buf_free(&m);
    job_spec_free(&s);
}

static void a_body_without_run_is_run_one(void **state)
{
    (void)state;
    const char *body = "{\"v\":1,\"batch\":\"b1\",\"job\":\"j1\",\"spec\":{\"prompt\":\"x\"}}";
    char batch[JOB_ID_MAX + 1], job[JOB_ID_MAX + 1];
    job_spec_t s;
    int run = 0;
    err_t e;
    assert_int_equal(job_message_decode_run(body, strlen(body), batch, job, &s, &run, &e),
                     ERR_OK);
    assert_int_equal(run, 1);
    job_spec_free(&s);
}

static void a_bad_run_is_a_poison_message_naming_the_field(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"v\":1,\"batch\":\"b1\",\"job\":\"j1\",\"run\":0,\"spec\":{\"prompt\":\"x\"}}",
        "{\"v\":1,\"batch\":\"b1\",\"job\":\"j1\",\"run\":-3,\"spec\":{\"prompt\":\"x\"}}",
        "{\"v\":1,\"batch\":\"b1\",\"job\":\"j1\",\"run\":\"2\",\"spec\":{\"prompt\":\"x\"}}",
        "{\"v\":1,\"batch\":\"b1\",\"job\":\"j1\",\"run\":2.5,\"spec\":{\"prompt\":\"x\"}}",
        "{\"v\":1,\"batch\":\"b1\",\"job\":\"j1\",\"run\":1000001,\"spec\":{\"prompt\":\"x\"}}",
        "{\"v\":1,\"batch\":\"b1\",\"job\":\"j1\",\"run\":null,\"spec\":{\"prompt\":\"x\"}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char batch[JOB_ID_MAX + 1], job[JOB_ID_MAX + 1];
        job_spec_t s;
        int run = 99;
        err_t e;
        err_clear(&e);
        if (job_message_decode_run(bad[i], strlen(bad[i]), batch, job, &s, &run, &e) !=
            ERR_INVALID)
            fail_msg("accepted: %s", bad[i]);
        assert_non_null(strstr(e.msg, "run"));
        assert_string_equal(job, "");
        job_spec_free(&s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(run_one_is_left_out_of_the_body),
        cmocka_unit_test(a_later_run_round_trips),
        cmocka_unit_test(a_body_without_run_is_run_one),
        cmocka_unit_test(a_bad_run_is_a_poison_message_naming_the_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
