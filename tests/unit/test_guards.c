/* Guards the mutation run (make mutants, issue 24) found unguarded: each
 * test here fails under one mutant of tests/mutants/mutants.txt, which the
 * rest of the suite let through.
 *   - the file store's put_sum refuses a SHA-256 that does not match its
 *     bytes, and stores nothing (put() was tested, put_sum() only for CRC);
 *   - err_is_retryable() reads a service code before the status and the
 *     error class: a ThrottlingException answered with a 400 is retried, a
 *     ModelTimeoutException (408) is not; a 503 of any code is retried;
 *   - redact_inplace() masks a presigned URL's X-Amz-Security-Token even
 *     when the token was never registered as a secret;
 *   - an idle rate limiter saves up no more than its burst. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/crypto.h"
#include "base/err.h"
#include "base/ratelimit.h"
#include "base/redact.h"
#include "store/store_file.h"
#include "testutil.h"

static void file_put_sum_refuses_a_wrong_sha256(void **state)
{
    (void)state;
    char *root = tu_mkdtemp(), path[1024];
    err_t e;
    store_t *s = store_file_open(root, &e);
    assert_non_null(s);
    store_sum_t sum = {.alg = STORE_SUM_SHA256};
    crypto_sha256("other", 5, sum.sha256);
    err_clear(&e);
    assert_int_equal(store_put_sum(s, "b1/j.png", "bytes", 5, &sum, "image/png", &e),
                     ERR_INVALID);
    assert_non_null(strstr(e.msg, "sha256"));
    snprintf(path, sizeof path, "%s/b1/j.png", root);
    struct stat st;
    assert_int_not_equal(stat(path, &st), 0);   /* nothing stored */
    crypto_sha256("bytes", 5, sum.sha256);
    assert_int_equal(store_put_sum(s, "b1/j.png", "bytes", 5, &sum, "image/png", &e), ERR_OK);
    assert_int_equal(stat(path, &st), 0);
    store_close(s);
    tu_rmtree(root);
    free(root);
}

static bool retryable(const char *code, int status, err_code_t cls)
{
    err_t e;
    err_clear(&e);
    err_set(&e, cls, "x");
    snprintf(e.service_code, sizeof e.service_code, "%s", code);
    e.http_status = status;
    return err_is_retryable(&e);
}

static void service_codes_decide_before_the_status(void **state)
{
    (void)state;
    assert_true(retryable("ThrottlingException", 400, ERR_PERMANENT));
    assert_true(retryable("ServiceUnavailableException", 400, ERR_PERMANENT));
    assert_true(retryable("RequestTimeTooSkewed", 403, ERR_AUTH));
    assert_false(retryable("ModelTimeoutException", 408, ERR_TIMEOUT));
    assert_false(retryable("ValidationException", 500, ERR_UNAVAILABLE));
    /* A 503 whatever its code says, and whatever class it was given. */
    assert_true(retryable("", 503, ERR_PERMANENT));
    assert_true(retryable("SomethingNew", 503, ERR_PERMANENT));
    assert_false(retryable("SomethingNew", 400, ERR_PERMANENT));
}

static void a_presigned_token_is_masked_unregistered(void **state)
{
    (void)state;
    char line[300] = "GET https://b.s3.amazonaws.com/k?X-Amz-Date=20261207T000000Z"
                     "&X-Amz-Security-Token=FQoGZXIvYXdzEunregistered&x-id=GetObject";
    redact_inplace(line, sizeof line);
    assert_null(strstr(line, "FQoGZXIvYXdzEunregistered"));
    assert_non_null(strstr(line, "X-Amz-Security-Token=[redacted]"));
    assert_non_null(strstr(line, "x-id=GetObject"));
}

static int64_t clock_ms;
static int64_t fake_clock(void *ud)
{
    (void)ud;
    return clock_ms;
}

static void an_idle_limiter_saves_up_only_its_burst(void **state)
{
    (void)state;
    clock_ms = 1000000;
    ratelimit_t *r = ratelimit_new(60, 2, fake_clock, NULL);   /* one a second */
    assert_non_null(r);
    /* Full, then 1.5 s idle: what it earned meanwhile is not kept. */
    clock_ms += 1500;
    assert_int_equal(ratelimit_try(r), 0);
    assert_int_equal(ratelimit_try(r), 0);
    assert_true(ratelimit_try(r) > 0);  /* the third waits */
    clock_ms += 10 * 60 * 1000;        /* ten idle minutes */
    assert_int_equal(ratelimit_try(r), 0);
    assert_int_equal(ratelimit_try(r), 0);
    assert_true(ratelimit_try(r) > 0);
    ratelimit_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(file_put_sum_refuses_a_wrong_sha256),
        cmocka_unit_test(service_codes_decide_before_the_status),
        cmocka_unit_test(a_presigned_token_is_masked_unregistered),
        cmocka_unit_test(an_idle_limiter_saves_up_only_its_burst),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
