/* slot — a slot's state machine: the table of the transitions a slot may
 * make, and the one function that makes them.  A transition not in the
 * table is a bug (a thread touching a job it does not own), so it asserts;
 * asserts are on in every build. */
#include "worker.h"

#include "base/log.h"

#include <assert.h>

#define TO(st) (1u << (st))

static const unsigned allowed[SLOT_NSTATES] = {
    /* a stage thread reserves it for a receive */
    [SLOT_FREE] = TO(SLOT_RESERVED),
    /* a message came for any thread to claim (network engines); claimed,
     * for the driver; or nothing came, the claim skipped the job, or a
     * local engine's job was generated and finished in place */
    [SLOT_RESERVED] = TO(SLOT_RECEIVED) | TO(SLOT_WAITING) | TO(SLOT_FREE),
    /* a stage thread takes it back to claim it */
    [SLOT_RECEIVED] = TO(SLOT_RESERVED),
    /* the driver started its call; or the start failed, or SIGTERM came
     * before it started */
    [SLOT_WAITING] = TO(SLOT_RUNNING) | TO(SLOT_DONE),
    /* throttled or a transient failure: waits to go again; or over */
    [SLOT_RUNNING] = TO(SLOT_WAITING) | TO(SLOT_DONE),
    /* a stage thread takes it to finish */
    [SLOT_DONE] = TO(SLOT_FINISHING),
    [SLOT_FINISHING] = TO(SLOT_FREE),
};

static const char *const names[SLOT_NSTATES] = {
    [SLOT_FREE] = "free", [SLOT_RESERVED] = "reserved", [SLOT_RECEIVED] = "received",
    [SLOT_WAITING] = "waiting", [SLOT_RUNNING] = "running", [SLOT_DONE] = "done",
    [SLOT_FINISHING] = "finishing",
};

const char *worker_slot_state_name(slot_state_t st)
{
    return (unsigned)st < SLOT_NSTATES ? names[st] : "?";
}

bool worker_slot_transition_ok(slot_state_t from, slot_state_t to)
{
    return (unsigned)from < SLOT_NSTATES && (unsigned)to < SLOT_NSTATES &&
           (allowed[from] & TO(to)) != 0;
}

/* Waking one stage thread, not all, for a slot that became work keeps idle
 * threads from waking per job only to find the work taken. */
void worker_slot_set_state(worker_t *w, slot_t *s, slot_state_t to)
{
    bool ok = worker_slot_transition_ok(s->state, to);
    if (!ok)
        log_error("slot_transition_forbidden", "slot=%d from=%s to=%s", s->index,
                  worker_slot_state_name(s->state), worker_slot_state_name(to));
    assert(ok && "forbidden slot state transition");
    s->state = to;
    if (to == SLOT_FREE || to == SLOT_DONE || to == SLOT_RECEIVED)
        pthread_cond_signal(&w->cond);
}
