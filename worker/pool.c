/* pool — the stage threads: receive into free slots, claim, and finish.
 *
 * A stage thread's loop, in order of preference:
 *   1. room for more generations and no stop: reserve free slots, receive
 *      up to that many messages (with a network engine only one thread at
 *      a time receives, long polling) — generations are the long pole, so
 *      feeding them comes first;
 *   2. a received message (RECEIVED): claim it; a claimed
 *      job goes to the driver (network engines) or is generated here (local
 *      ones) and then finished at once;
 *   3. a slot whose generation is over (DONE): finish it (compose, store,
 *      record, delete);
 *   4. otherwise wait for a slot to change.
 * It leaves when the worker stops and no slot is busy. */
#include "worker.h"

#include "base/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Call with w->lock held. */
static int busy_locked(worker_t *w)
{
    int n = 0;
    for (int i = 0; i < w->nslots; i++)
        n += w->slots[i].state != SLOT_FREE;
    return n;
}

int worker_busy_slots(worker_t *w)
{
    pthread_mutex_lock(&w->lock);
    int n = busy_locked(w);
    pthread_mutex_unlock(&w->lock);
    return n;
}

int worker_jobs_in_flight(worker_t *w)
{
    int n = 0;
    pthread_mutex_lock(&w->lock);
    for (int i = 0; i < w->nslots; i++)
        n += w->slots[i].active;
    pthread_mutex_unlock(&w->lock);
    return n;
}

/* Moves the slot to st under the lock (slot.c checks the move). */
static void set_state(worker_t *w, slot_t *s, slot_state_t st)
{
    pthread_mutex_lock(&w->lock);
    worker_slot_set_state(w, s, st);
    pthread_mutex_unlock(&w->lock);
}

/* Work for any stage thread: a RECEIVED slot, taken back as RESERVED to be
 * claimed (a claim starts a generation, the long pole), else a DONE one,
 * taken as FINISHING; or NULL. */
static slot_t *take_work(worker_t *w)
{
    slot_t *got = NULL;
    pthread_mutex_lock(&w->lock);
    for (int i = 0; i < w->nslots && !got; i++)
        if (w->slots[i].state == SLOT_RECEIVED) {
            got = &w->slots[i];
            worker_slot_set_state(w, got, SLOT_RESERVED);
        }
    for (int i = 0; i < w->nslots && !got; i++)
        if (w->slots[i].state == SLOT_DONE) {
            got = &w->slots[i];
            worker_slot_set_state(w, got, SLOT_FINISHING);
        }
    pthread_mutex_unlock(&w->lock);
    return got;
}

/* Reserves up to max free slots into out; returns how many.  Only as many
 * as keep the jobs claimed or generating within --concurrency plus
 * --prefetch (the driver starts at most --concurrency of them). */
static int reserve(worker_t *w, slot_t **out, int max)
{
    int n = 0, generating = 0;
    pthread_mutex_lock(&w->lock);
    for (int i = 0; i < w->nslots; i++) {
        slot_state_t st = w->slots[i].state;
        generating += st == SLOT_RESERVED || st == SLOT_RECEIVED || st == SLOT_WAITING ||
                      st == SLOT_RUNNING;
    }
    if (max > w->concurrency + w->prefetch - generating)
        max = w->concurrency + w->prefetch - generating;
    for (int i = 0; i < w->nslots && n < max; i++)
        if (w->slots[i].state == SLOT_FREE) {
            worker_slot_set_state(w, &w->slots[i], SLOT_RESERVED);
            out[n++] = &w->slots[i];
        }
    pthread_mutex_unlock(&w->lock);
    return n;
}

/* Waits up to ms for work (a slot RECEIVED or DONE), or for the worker to
 * stop; unless done_only, any slot change (a FREE slot too) ends the wait. */
static void wait_slots(worker_t *w, long ms, bool done_only)
{
    struct timespec ts = worker_deadline(ms);
    pthread_mutex_lock(&w->lock);
    for (;;) {
        bool any_done = false;
        for (int i = 0; i < w->nslots; i++)
            any_done |= w->slots[i].state == SLOT_DONE || w->slots[i].state == SLOT_RECEIVED;
        if (any_done || atomic_load(&w->stop))
            break;
        if (pthread_cond_timedwait(&w->cond, &w->lock, &ts) != 0 || !done_only)
            break;
    }
    pthread_mutex_unlock(&w->lock);
}

static bool limit_reached(worker_t *w)
{
    return w->max_jobs && atomic_load(&w->taken) >= w->max_jobs;
}

/* Claims the slot's message and hands the job on: to the driver, or
 * generated and finished here. */
static void claim_and_run(worker_thread_t *t, slot_t *s)
{
    worker_t *w = t->w;
    if (atomic_load(&w->signalled)) {
        /* Received, not yet claimed, and the worker is stopping. */
        err_t e;
        err_clear(&e);
        queue_change_visibility(t->queue, s->msg.receipt, 0, &e);
        worker_slot_clear(s);
        set_state(w, s, SLOT_FREE);
        return;
    }
    if (!worker_begin(t, s)) {
        worker_slot_clear(s);
        set_state(w, s, SLOT_FREE);
        return;
    }
    if (w->async) {
        s->not_before_ms = worker_mono_ms();
        set_state(w, s, SLOT_WAITING);
        worker_driver_wake(w);
        return;
    }
    worker_generate_sync(t, s);
    worker_complete(t, s);
    set_state(w, s, SLOT_FREE);
}

/* One receive into free slots.  Returns how many messages came (0 when
 * none, -1 when there was nothing to do but wait). */
static int receive_some(worker_thread_t *t)
{
    worker_t *w = t->w;
    slot_t *slots[10];
    queue_msg_t *msgs = NULL;
    size_t n = 0;
    err_t e;

    /* A local engine generates in this thread: one job at a time each. */
    int k = reserve(w, slots, w->async ? (int)(sizeof slots / sizeof slots[0]) : 1);
    if (k == 0)
        return -1;
    if (w->max_jobs) {
        long left = w->max_jobs - atomic_load(&w->taken);
        if (left < k) {
            for (int i = (int)(left > 0 ? left : 0); i < k; i++)
                set_state(w, slots[i], SLOT_FREE);
            k = (int)(left > 0 ? left : 0);
            if (k == 0)
                return -1;
        }
    }
    /* Long-poll, unless this is the only stage thread and jobs are in
     * flight: a finished job would wait behind the poll. */
    int busy = worker_busy_slots(w) - k;
    int wait = busy > 0 && w->threads == 1 ? 0 : w->poll_wait_s;
    /* --drain with the queue found empty: no long poll while the last jobs
     * finish (the exit would wait for it); the stage loop waits on the
     * slots instead and looks again when one changes. */
    if (w->drain && atomic_load(&w->seen_empty))
        wait = 0;
    err_clear(&e);
    if (queue_receive(t->queue, (size_t)k, w->visibility_s, wait, &msgs, &n, &e) != ERR_OK) {
        /* Back off while the queue keeps failing (a full disk, an outage):
         * 0.2 s doubling to 5 s, so a broken queue is not hammered. */
        int fails = atomic_fetch_add(&w->receive_fails, 1) + 1;
        long ms = 200L << (fails < 5 ? fails - 1 : 5);
        if (ms > 5000)
            ms = 5000;
        log_warn("receive_failed", "thread=%d failures=%d retry_in_ms=%ld error=\"%s\"",
                 t->index, fails, ms, e.msg);
        for (int i = 0; i < k; i++)
            set_state(w, slots[i], SLOT_FREE);
        usleep((useconds_t)ms * 1000);
        return 0;
    }
    atomic_store(&w->receive_fails, 0);
    atomic_store(&w->seen_empty, n == 0);
    log_debug("received", "thread=%d asked=%d got=%zu wait_s=%d", t->index, k, n, wait);
    int64_t received = worker_now_ms();
    for (size_t i = n; i < (size_t)k; i++)
        set_state(w, slots[i], SLOT_FREE);
    for (size_t i = 0; i < n; i++) {
        slot_t *s = slots[i];
        long taken = atomic_fetch_add(&w->taken, 1) + 1;
        if (atomic_load(&w->stop) || (w->max_jobs && taken > w->max_jobs)) {
            /* Stopping or over the limit: straight back to the queue. */
            err_clear(&e);
            queue_change_visibility(t->queue, msgs[i].receipt, 0, &e);
            set_state(w, s, SLOT_FREE);
            continue;
        }
        if (!worker_hold_message(s, &msgs[i], received)) {
            log_error("out_of_memory", "message=%s", msgs[i].id);
            err_clear(&e);
            queue_change_visibility(t->queue, msgs[i].receipt, 0, &e);
            worker_slot_clear(s);
            set_state(w, s, SLOT_FREE);
        } else if (w->async) {
            /* Any stage thread claims it: the receiver polls on at once. */
            set_state(w, s, SLOT_RECEIVED);
        } else {
            claim_and_run(t, s);
        }
    }
    queue_msgs_free(msgs, n);
    return (int)n;
}

/* --drain: the queue is drained when no job is in flight here and nothing
 * is visible, in flight (also held by crashed workers) or delayed -- but
 * for jobs this worker handed back as naming a model it does not serve:
 * those wait for another worker, not for this one.  Slots
 * merely reserved by another thread's receive do not count: a message it
 * takes is in flight in the queue's stats (counting them would let two
 * threads polling in turn keep each other from ever seeing the end). */
static bool drained(worker_thread_t *t)
{
    worker_t *w = t->w;
    queue_stats_t st;
    err_t e;
    int jobs = 0;
    pthread_mutex_lock(&w->lock);
    for (int i = 0; i < w->nslots; i++)
        jobs += w->slots[i].active || w->slots[i].state > SLOT_RESERVED;
    pthread_mutex_unlock(&w->lock);
    if (jobs == 0)
        worker_delete_flush(w, t->queue, 0);   /* a message waiting there is in flight */
    err_clear(&e);
    return jobs == 0 && queue_stats(t->queue, &st, &e) == ERR_OK &&
           st.visible + st.inflight + st.delayed <= (int64_t)worker_unserved_count(w);
}

/* With a network engine one stage thread at a time is the receiver; the
 * others only finish jobs, so an empty queue costs one long poll at a time
 * rather than a receive per thread per finished job. */
static bool become_receiver(worker_t *w)
{
    int none = 0;
    return !w->async || atomic_compare_exchange_strong(&w->pollers, &none, 1);
}

static void stop_receiving(worker_t *w)
{
    if (w->async)
        atomic_store(&w->pollers, 0);
}

void *worker_stage_main(void *arg)
{
    worker_thread_t *t = arg;
    worker_t *w = t->w;
    int64_t last_dead = 0;

    for (;;) {
        bool stopping = atomic_load(&w->stop) || limit_reached(w);
        int got = -1;
        /* Keeping the generations fed comes first: receiving is quick and
         * a generation takes seconds, so with room for more a thread
         * receives before it stores finished jobs. */
        if (!stopping && become_receiver(w)) {
            got = receive_some(t);
            if (got == 0) {
                int64_t now = worker_mono_ms();
                if (now - last_dead >= 1000) {
                    last_dead = now;
                    worker_note_dead(t);
                }
                if (w->drain && drained(t)) {
                    /* Wake the threads waiting on slots: they leave now. */
                    pthread_mutex_lock(&w->lock);
                    atomic_store(&w->stop, true);
                    pthread_cond_broadcast(&w->cond);
                    pthread_mutex_unlock(&w->lock);
                }
            }
            stop_receiving(w);
            if (got > 0)
                continue;
        }
        slot_t *s = take_work(w);
        if (s && s->state == SLOT_FINISHING) {
            worker_complete(t, s);
            set_state(w, s, SLOT_FREE);
            continue;
        }
        if (s) {
            claim_and_run(t, s);
            continue;
        }
        if (stopping) {
            if (worker_busy_slots(w) == 0) {
                atomic_store(&w->stop, true);
                break;
            }
            wait_slots(w, 200, false);
            continue;
        }
        /* Nothing to do: wait for a slot to change.  A lone stage thread
         * whose receive did not wait (jobs in flight) looks again soon. */
        wait_slots(w, got == 0 && w->threads == 1 ? 250 : 1000, false);
    }
    pthread_mutex_lock(&w->lock);
    pthread_cond_broadcast(&w->cond);
    pthread_cond_broadcast(&w->left);
    pthread_mutex_unlock(&w->lock);
    return NULL;
}
