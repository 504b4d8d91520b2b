/* heartbeat — keeps in-flight jobs' messages hidden and leases held, and
 * gives jobs back when the grace after SIGTERM runs out.
 *
 * Every slot's job is extended a third of the way into its lease, so a
 * slow generation is not mistaken for a crashed one.  A lease found lost
 * (another worker took the job after it lapsed) is flagged and no longer
 * extended, nor is the message's visibility; the slot's owner then learns
 * it from the conditional completion. */
#include "worker.h"

#include "base/log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Whether the job's lease was refused because the job is already finished:
 * the slot's own completion can land between the check that the slot is
 * still busy and the extend, and that is no lost lease.  (Had another
 * worker finished it, the slot's own conditional completion says so.) */
static bool finished_meanwhile(ledger_t *l, const slot_t *f)
{
    ledger_job_t *jobs = NULL;
    size_t n = 0;
    err_t e;
    bool done = false;
    err_clear(&e);
    if (ledger_get_jobs(l, f->batch_id, f->job_id, &jobs, &n, &e) == ERR_OK && n == 1)
        done = job_state_terminal(jobs[0].state) && jobs[0].run <= f->run;
    ledger_jobs_free(jobs, n);
    return done;
}

/* One heartbeat for the job seen in slot i as f, if it is still there.
 * beat_lock keeps a give-back from interleaving, so no heartbeat hides a
 * message again after it was given back. */
static void beat(worker_t *w, queue_t *q, ledger_t *l, int i, const slot_t *f, int64_t now)
{
    err_t e;
    pthread_mutex_lock(&w->beat_lock);
    pthread_mutex_lock(&w->lock);
    slot_t *g = &w->slots[i];
    bool still = g->active && strcmp(g->job_id, f->job_id) == 0 &&
                 strcmp(g->batch_id, f->batch_id) == 0;
    pthread_mutex_unlock(&w->lock);
    if (!still) {
        pthread_mutex_unlock(&w->beat_lock);
        return;
    }
    err_clear(&e);
    bool lost = ledger_extend(l, f->batch_id, f->job_id, f->owner, w->lease_s, &e) ==
                ERR_CONFLICT;
    if (lost && finished_meanwhile(l, f)) {
        pthread_mutex_unlock(&w->beat_lock);
        log_debug("heartbeat_after_finish", "batch=%s job=%s", f->batch_id, f->job_id);
        return;
    }
    if (!lost) {
        err_clear(&e);
        queue_change_visibility(q, f->receipt, w->visibility_s, &e);
    }
    pthread_mutex_unlock(&w->beat_lock);
    pthread_mutex_lock(&w->lock);
    if (g->active && strcmp(g->job_id, f->job_id) == 0 &&
        strcmp(g->batch_id, f->batch_id) == 0) {
        g->lease_lost = lost;
        g->next_beat_ms = now + (int64_t)w->lease_s * 1000 / 3;
    }
    pthread_mutex_unlock(&w->lock);
    if (lost)
        log_warn("lease_lost", "batch=%s job=%s", f->batch_id, f->job_id);
    else
        log_debug("heartbeat", "batch=%s job=%s", f->batch_id, f->job_id);
}

void *worker_heartbeat_main(void *arg)
{
    worker_t *w = arg;
    err_t e;
    err_clear(&e);
    queue_t *q = queue_open(w->cfg.queue, &e);
    ledger_t *l = q ? ledger_open(w->cfg.ledger, &e) : NULL;

    if (!q || !l) {
        log_error("heartbeat_open_failed", "error=\"%s\"", e.msg);
        queue_close(q);
        return NULL;
    }
    queue_apply_max_receives(q, w->cfg.queue, w->cfg.max_receives);
    while (!atomic_load(&w->driver_quit)) {
        int64_t now = worker_now_ms();
        for (int i = 0; i < w->nslots; i++) {
            slot_t f;
            pthread_mutex_lock(&w->lock);
            const slot_t *g = &w->slots[i];
            f.active = g->active;
            f.lease_lost = g->lease_lost;
            f.next_beat_ms = g->next_beat_ms;
            memcpy(f.batch_id, g->batch_id, sizeof f.batch_id);
            memcpy(f.job_id, g->job_id, sizeof f.job_id);
            memcpy(f.receipt, g->receipt, sizeof f.receipt);
            memcpy(f.owner, g->owner, sizeof f.owner);
            pthread_mutex_unlock(&w->lock);
            if (f.active && !f.lease_lost && now >= f.next_beat_ms)
                beat(w, q, l, i, &f, now);
        }
        worker_delete_flush(w, q, WORKER_DELETE_WAIT_MS);
        worker_registry_beat(w, l, now, false);
        /* 200 ms between rounds; the exit (driver_quit, with `left`
         * signalled) cuts the wait short. */
        struct timespec ts = worker_deadline(200);
        pthread_mutex_lock(&w->lock);
        if (!atomic_load(&w->driver_quit))
            pthread_cond_timedwait(&w->left, &w->lock, &ts);
        pthread_mutex_unlock(&w->lock);
    }
    worker_delete_flush(w, q, 0);   /* the stage threads are gone: the last deletes */
    queue_close(q);
    ledger_close(l);
    return NULL;
}

int worker_give_back(worker_t *w)
{
    worker_given_t *jobs = w->given;   /* [nslots], from setup */
    int n = 0;
    err_t e;

    /* Claim them under the lock: an owner that unpublishes first keeps its
     * job; one that unpublishes after finds it abandoned.  beat_lock waits
     * out a heartbeat in progress and keeps the next one off these jobs. */
    pthread_mutex_lock(&w->beat_lock);
    pthread_mutex_lock(&w->lock);
    for (int i = 0; i < w->nslots; i++) {
        slot_t *f = &w->slots[i];
        if (f->active) {
            f->active = false;
            f->abandoned = true;
            jobs[n].lease_lost = f->lease_lost;
            memcpy(jobs[n].batch_id, f->batch_id, sizeof jobs[n].batch_id);
            memcpy(jobs[n].job_id, f->job_id, sizeof jobs[n].job_id);
            memcpy(jobs[n].receipt, f->receipt, sizeof jobs[n].receipt);
            memcpy(jobs[n].owner, f->owner, sizeof jobs[n].owner);
            n++;
        }
    }
    pthread_mutex_unlock(&w->lock);
    pthread_mutex_unlock(&w->beat_lock);
    if (n == 0)
        return 0;

    err_clear(&e);
    queue_t *q = queue_open(w->cfg.queue, &e);
    ledger_t *l = q ? ledger_open(w->cfg.ledger, &e) : NULL;
    if (!q || !l) {
        /* The leases and visibility lapse on their own; only slower. */
        log_error("give_back_open_failed", "jobs=%d error=\"%s\"", n, e.msg);
        queue_close(q);
        return 0;
    }
    for (int i = 0; i < n; i++) {
        err_clear(&e);
        if (!jobs[i].lease_lost &&
            ledger_release(l, jobs[i].batch_id, jobs[i].job_id, jobs[i].owner, "shutdown",
                            "worker stopped before the job finished", &e) != ERR_OK)
            log_warn("give_back_release_failed", "batch=%s job=%s error=\"%s\"",
                     jobs[i].batch_id, jobs[i].job_id, e.msg);
        err_clear(&e);
        if (queue_change_visibility(q, jobs[i].receipt, 0, &e) != ERR_OK)
            log_warn("give_back_visibility_failed", "batch=%s job=%s error=\"%s\"",
                     jobs[i].batch_id, jobs[i].job_id, e.msg);
        atomic_fetch_add(&w->n_given_back, 1);
        log_warn("job_given_back", "batch=%s job=%s reason=shutdown", jobs[i].batch_id,
                 jobs[i].job_id);
    }
    ledger_close(l);
    queue_close(q);
    return n;
}
