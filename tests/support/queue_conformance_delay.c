/* queue_conformance_delay — the delayed send every queue back-end that has
 * one must honour (queue_send_delayed, used by a worker handing back a job
 * naming a model it does not serve): the message stays hidden for its delay,
 * counts as delayed, then arrives with a receive count of 1; a delay out of
 * range is refused and sends nothing.  Part of the conformance suite
 * (queue_conformance.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "queue_conformance.h"

void queue_conformance_a_delayed_send_stays_hidden_for_its_delay(void **state)
{
    queue_fixture_t *fx = *state;
    const char *body = "{\"job\":\"handed-back\"}";
    queue_msg_t *m = NULL;
    err_t e;

    assert_true(queue_can_send_delayed(fx->q));
    err_clear(&e);
    assert_int_equal(queue_send_delayed(fx->q, body, -1, &e), ERR_INVALID);
    assert_int_equal(queue_send_delayed(fx->q, body, QUEUE_MAX_DELAY_S + 1, &e), ERR_INVALID);
    queue_stats_t st = qc_stats(fx->q);
    assert_int_equal(st.visible + st.inflight + st.delayed, 0);

    assert_int_equal(queue_send_delayed(fx->q, body, 2, &e), ERR_OK);
    assert_int_equal(qc_recv(fx->q, 10, 30, 0, &m), 0);
    queue_msgs_free(m, 0);
    st = qc_stats(fx->q);
    assert_int_equal(st.visible, 0);
    assert_int_equal(st.delayed, 1);
    fx->be->pass(fx, 2600);
    assert_int_equal(qc_recv(fx->q, 10, 30, 1, &m), 1);
    assert_string_equal(m->body, body);
    assert_int_equal(m->receive_count, 1);
    assert_int_equal(queue_delete(fx->q, m->receipt, &e), ERR_OK);
    queue_msgs_free(m, 1);
}
