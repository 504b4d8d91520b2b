/* The queue conformance suite (tests/support/queue_conformance.c) on the
 * embedded SQLite queue, opened through queue_open as the binaries do.
 * tests/live/live_sqs.c runs the same suite on SQS (fauxqs); SQLite's own
 * behaviour (transactions, processes, files) is tested in
 * test_queue_sqlite.c.  Time passes on SQLite's clock, not in sleeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "base/sqlite_util.h"
#include "queue_conformance.h"
#include "testutil.h"

/* A queue in a fresh temporary directory; fx->data is the directory. */
static void sqlite_open(queue_fixture_t *fx, int max_receives)
{
    err_t e;
    fx->data = tu_mkdtemp();
    snprintf(fx->where, sizeof fx->where, "sqlite:%s/onesheet.db", (char *)fx->data);
    if (!(fx->q = queue_open(fx->where, &e)))
        fail_msg("queue_open %s: %s", fx->where, e.msg);
    queue_apply_max_receives(fx->q, fx->where, max_receives);
}

static void sqlite_close(queue_fixture_t *fx)
{
    queue_close(fx->q);
    sqlite_util_set_clock_offset_ms(0);
    tu_rmtree(fx->data);
    free(fx->data);
}

/* The SQLite clock is process-wide. */
static void sqlite_pass(queue_fixture_t *fx, int ms)
{
    fx->passed_ms += ms;
    sqlite_util_set_clock_offset_ms(fx->passed_ms);
}

static const queue_backend_t sqlite_backend = {
    .open = sqlite_open,
    .close = sqlite_close,
    .pass = sqlite_pass,
    .reports_stale_deletes = true,
};

int main(void)
{
    const struct CMUnitTest tests[] = {
        QUEUE_CONFORMANCE_TESTS(&sqlite_backend)
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
