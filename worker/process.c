/* process — one job through the pipeline, in DESIGN.md's order:
 * (1) claim in the ledger, (2) generate, (3) compose the poster, (4) store
 * the raw art and the poster at deterministic keys, (5) make the URL,
 * (6) mark succeeded conditionally, (7) only then delete the message.  A
 * crash anywhere before (7) leaves the message to reappear after its
 * visibility lapses; the claim and the conditional completion make that
 * re-delivery harmless, and both puts are idempotent (same bytes, same key).
 *
 * worker_begin() is (1); (2) is the driver's (network engines) or
 * worker_generate_sync()'s (local ones); worker_complete() (finish.c) is
 * (3)..(7).
 *
 * Every job is composed (poster.c decides what text a poster gets: a real
 * image with no title, tagline or credits gets its metadata spliced in), so
 * every success stores BATCH/JOB.png and BATCH/JOB.raw.EXT. */
#include "worker.h"
#include "fault.h"
#include "quota.h"

#include "base/crypto.h"
#include "engine/engine_serves.h"
#include "jobs/job.h"
#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void msg_free(queue_msg_t *m)
{
    free(m->id);
    free(m->receipt);
    free(m->body);
    memset(m, 0, sizeof *m);
}

static bool msg_copy(queue_msg_t *dst, const queue_msg_t *src)
{
    memset(dst, 0, sizeof *dst);
    dst->id = strdup(src->id ? src->id : "");
    dst->receipt = strdup(src->receipt ? src->receipt : "");
    dst->body = malloc(src->body_len + 1);
    if (!dst->id || !dst->receipt || !dst->body) {
        msg_free(dst);
        return false;
    }
    memcpy(dst->body, src->body, src->body_len);
    dst->body[src->body_len] = '\0';
    dst->body_len = src->body_len;
    dst->receive_count = src->receive_count;
    return true;
}

/* Frees what the slot's job held (not its engine), leaving it FREE-able. */
void worker_slot_clear(slot_t *s)
{
    msg_free(&s->msg);
    job_spec_free(&s->spec);
    job_spec_init(&s->spec);
    engine_result_free(&s->res);
    s->rc = ERR_OK;
    err_clear(&s->err);
    s->attempts = s->throttles = 0;
    s->unpaced = false;
    s->unstarted_at_stop = false;
    s->handle = NULL;
    s->run = 1;
}

/* Publishes the slot's job to the heartbeat. */
static void publish(worker_t *w, slot_t *s, const char *batch, const char *job)
{
    pthread_mutex_lock(&w->lock);
    s->active = true;
    s->lease_lost = false;
    s->abandoned = false;
    snprintf(s->batch_id, sizeof s->batch_id, "%s", batch);
    snprintf(s->job_id, sizeof s->job_id, "%s", job);
    snprintf(s->receipt, sizeof s->receipt, "%s", s->msg.receipt);
    /* A third into the lease, or into the message's visibility, which
     * started at the receive (claims of a batch of messages take a while). */
    int64_t now = worker_now_ms();
    s->next_beat_ms = now + (int64_t)w->lease_s * 1000 / 3;
    if (s->received_ms && s->received_ms + (int64_t)w->visibility_s * 1000 / 3 < s->next_beat_ms)
        s->next_beat_ms = s->received_ms + (int64_t)w->visibility_s * 1000 / 3;
    pthread_mutex_unlock(&w->lock);
}

bool worker_unpublish(worker_t *w, slot_t *s, bool *abandoned)
{
    bool lost;
    pthread_mutex_lock(&w->lock);
    lost = s->lease_lost;
    *abandoned = s->abandoned;
    s->active = false;
    s->abandoned = false;
    pthread_mutex_unlock(&w->lock);
    return lost;
}

/* Backoff for a retryable failure: full jitter on an exponential base,
 * carried by the message's visibility so no thread sleeps on it. */
static int backoff_s(int receive_count)
{
    int cap = 300, base = 2;
    int ceiling = base << (receive_count < 8 ? receive_count : 8);
    if (ceiling > cap)
        ceiling = cap;
    return 1 + rand() % ceiling;
}

/* The message is done with: deleted now, or with others (deletes.c). */
static void delete_msg(worker_thread_t *t, const queue_msg_t *m, const char *job)
{
    worker_delete(t, m->receipt, job);
}

/* On the last delivery max_receives allows, the job fails for good and the
 * message is made visible at once, so the queue moves it to the dead-letter
 * store on its next receive: it stays there for inspection. */
void worker_retry_later(worker_thread_t *t, const slot_t *s, const err_t *cause)
{
    worker_t *w = t->w;
    const queue_msg_t *m = &s->msg;
    const char *batch = s->batch_id, *job = s->job_id;
    err_t e;
    const char *code = cause->service_code[0] ? cause->service_code : err_name(cause->code);

    err_clear(&e);
    if (m->receive_count >= t->queue->max_receives) {
        char msg[700], lv[48];
        snprintf(msg, sizeof msg, "gave up after %d attempts: %s", m->receive_count,
                 cause->msg);
        if (ledger_fail_lifecycle(t->ledger, batch, job, s->run, s->owner, JOB_FAILED, code,
                                  msg, worker_lifecycle_value(w, s->spec.model, lv, sizeof lv),
                                  &e) == ERR_OK) {
            atomic_fetch_add(&w->n_failed, 1);
            log_error("job_failed", "batch=%s job=%s code=%s attempts=%d", batch, job,
                      code, m->receive_count);
        }
        err_clear(&e);
        queue_change_visibility(t->queue, m->receipt, 0, &e);
        return;
    }
    ledger_release(t->ledger, batch, job, s->owner, code, cause->msg, &e);
    int delay = backoff_s(m->receive_count);
    err_clear(&e);
    queue_change_visibility(t->queue, m->receipt, delay, &e);
    atomic_fetch_add(&w->n_retried, 1);
    log_warn("job_retry", "batch=%s job=%s code=%s attempt=%d retry_in_s=%d", batch,
             job, code, m->receive_count, delay);
}


bool worker_hold_message(slot_t *s, const queue_msg_t *m, int64_t received_ms)
{
    worker_slot_clear(s);
    s->received_ms = received_ms;
    return msg_copy(&s->msg, m);
}

/* Remembers batch/job among the jobs handed back (see worker_t.unserved);
 * out of memory or over the cap, it is simply not counted, which only makes
 * --drain wait for it. */
static void note_unserved(worker_t *w, const char *batch, const char *job)
{
    char key[2 * JOB_ID_MAX + 2];
    snprintf(key, sizeof key, "%s/%s", batch, job);
    pthread_mutex_lock(&w->unserved.mu);
    size_t i = 0;
    while (i < w->unserved.n && strcmp(w->unserved.keys[i], key) != 0)
        i++;
    if (i == w->unserved.n && w->unserved.n < 65536) {
        if (w->unserved.n == w->unserved.cap) {
            size_t cap = w->unserved.cap ? w->unserved.cap * 2 : 64;
            char **k = realloc(w->unserved.keys, cap * sizeof *k);
            if (k) {
                w->unserved.keys = k;
                w->unserved.cap = cap;
            }
        }
        if (w->unserved.n < w->unserved.cap &&
            (w->unserved.keys[w->unserved.n] = strdup(key)))
            w->unserved.n++;
    }
    pthread_mutex_unlock(&w->unserved.mu);
}

size_t worker_unserved_count(worker_t *w)
{
    pthread_mutex_lock(&w->unserved.mu);
    size_t n = w->unserved.n;
    pthread_mutex_unlock(&w->unserved.mu);
    return n;
}

/* A job naming a model this worker does not serve goes back for another
 * worker, unclaimed: a copy of the message (the same body) is sent hidden
 * for --handback-delay seconds, then the original is deleted.  Send then
 * delete is at-least-once (a crash between the two leaves two messages,
 * and the claim makes the second harmless), and the copy starts with a
 * receive count of 0, so being passed over never walks a job toward the
 * dead-letter store.  Where the queue cannot delay a send, the message is
 * hidden for the delay instead. */
static void hand_back(worker_thread_t *t, const slot_t *s, const char *batch, const char *job)
{
    worker_t *w = t->w;
    const queue_msg_t *m = &s->msg;
    const char *how = "resent";
    err_t e;

    /* A job already finished or cancelled needs nobody: its message goes,
     * as a claim would have decided (CLAIM_DONE, CLAIM_CANCELLED), instead
     * of circling among workers that do not serve it. */
    ledger_job_t *jobs = NULL;
    size_t n = 0;
    err_clear(&e);
    if (ledger_get_jobs(t->ledger, batch, job, &jobs, &n, &e) == ERR_OK &&
        (n == 0 || job_state_terminal(jobs[0].state))) {
        const char *why = n == 0 ? "unknown" : jobs[0].state == JOB_CANCELLED ? "cancelled"
                                                                              : "done";
        ledger_jobs_free(jobs, n);
        delete_msg(t, m, job);
        atomic_fetch_add(&w->n_skipped, 1);
        log_info("job_skipped", "batch=%s job=%s reason=%s", batch, job, why);
        return;
    }
    ledger_jobs_free(jobs, n);
    err_clear(&e);
    if (queue_can_send_delayed(t->queue) &&
        queue_send_delayed(t->queue, m->body, w->handback_delay_s, &e) == ERR_OK) {
        err_clear(&e);
        if (queue_delete(t->queue, m->receipt, &e) != ERR_OK)
            log_warn("hand_back_delete_failed", "batch=%s job=%s error=\"%s\"", batch, job,
                     e.msg);
    } else {
        if (e.code != ERR_OK)
            log_warn("hand_back_send_failed", "batch=%s job=%s error=\"%s\"", batch, job,
                     e.msg);
        how = "hidden";
        err_clear(&e);
        queue_change_visibility(t->queue, m->receipt, w->handback_delay_s, &e);
    }
    atomic_fetch_add(&w->n_not_served, 1);
    note_unserved(w, batch, job);
    log_info("job_not_served", "batch=%s job=%s model=%s served=%s handed_back=%s delay_s=%d",
             batch, job, s->spec.model ? s->spec.model : "draft", w->models, how,
             w->handback_delay_s);
}

bool worker_begin(worker_thread_t *t, slot_t *s)
{
    worker_t *w = t->w;
    const queue_msg_t *m = &s->msg;
    char batch[JOB_ID_MAX + 1], job[JOB_ID_MAX + 1];
    ledger_claim_t claim;
    err_t e;

    err_clear(&e);
    snprintf(s->owner, sizeof s->owner, "%s:%d", w->owner_base, s->index);
    if (job_message_decode_run(m->body, m->body_len, batch, job, &s->spec, &s->run, &e) !=
        ERR_OK) {
        /* A poison message cannot be attributed to a job; let it reach the
         * dead-letter store quickly instead of waiting out its visibility. */
        log_error("poison_message", "message=%s receive_count=%d error=\"%s\"", m->id,
                  m->receive_count, e.msg);
        err_clear(&e);
        queue_change_visibility(t->queue, m->receipt, 0, &e);
        return false;
    }

    /* A job's model is authoritative: never generated by another engine. */
    if (!engine_models_serve(w->models, s->spec.model)) {
        hand_back(t, s, batch, job);
        return false;
    }

    /* (1) claim */
    if (ledger_claim(t->ledger, batch, job, s->run, s->owner, w->lease_s, &claim, &e) !=
        ERR_OK) {
        log_warn("claim_error", "batch=%s job=%s error=\"%s\"", batch, job, e.msg);
        err_clear(&e);
        queue_change_visibility(t->queue, m->receipt, backoff_s(1), &e);
        return false;
    }
    if (claim != CLAIM_OK) {
        if (claim == CLAIM_HELD) {
            /* Another worker holds a live lease (a duplicate delivery):
             * look again once that lease could have lapsed. */
            queue_change_visibility(t->queue, m->receipt, w->lease_s, &e);
        } else {
            /* Done, cancelled, unknown, or stale: a message of an earlier run
             * than the job's (a retry sent the current run its own). */
            delete_msg(t, m, job);
        }
        atomic_fetch_add(&w->n_skipped, 1);
        log_info("job_skipped", "batch=%s job=%s run=%d reason=%s", batch, job, s->run,
                 claim == CLAIM_DONE ? "done" : claim == CLAIM_HELD ? "held"
                 : claim == CLAIM_CANCELLED ? "cancelled"
                 : claim == CLAIM_STALE ? "stale" : "unknown");
        return false;
    }
    WORKER_FAULT("after_claim");
    s->t0_ms = worker_now_ms();
    publish(w, s, batch, job);
    log_info("job_started", "batch=%s job=%s run=%d attempt=%d", batch, job, s->run,
             m->receive_count);
    return true;
}

/* The synchronous generate call, paced by the shared limiter when --rpm is
 * set.  A throttled call slows the limiter and is tried again here, at the
 * new pace, a few times before it becomes a retry through the queue:
 * waiting keeps the message's receive count for real failures. */
void worker_generate_sync(worker_thread_t *t, slot_t *s)
{
    worker_t *w = t->w;
    err_code_t rc = ERR_OK;

    quota_shared_t *qs = worker_quota_for(w, s->spec.model);

    for (int attempt = 1; attempt <= WORKER_THROTTLE_ATTEMPTS; attempt++) {
        for (int64_t wait; qs && !atomic_load(&w->signalled);) {
            err_t qe;
            err_clear(&qe);
            if ((wait = quota_shared_try(qs, 1, &qe)) == 0)
                break;
            if (qe.code != ERR_OK)
                log_warn("quota_failed", "model=%s error=\"%s\"", quota_shared_key(qs), qe.msg);
            usleep((useconds_t)(wait > 1000 ? 1000 : wait) * 1000);
        }
        if (w->rl) {
            int64_t wait = ratelimit_reserve(w->rl);
            if (wait > 0)
                usleep((useconds_t)(wait > 600000 ? 600000 : wait) * 1000);
        }
        WORKER_FAULT("after_quota");
        int64_t t0 = worker_mono_ms();
        err_clear(&s->err);
        engine_result_free(&s->res);
        rc = engine_generate(t->engine, &s->spec, s->job_id, &s->res, &s->err);
        worker_observe_generate(w, worker_mono_ms() - t0);
        if (rc != ERR_THROTTLED && s->err.code != ERR_THROTTLED) {
            if (rc == ERR_OK && w->rl)
                ratelimit_succeeded(w->rl);
            if (rc == ERR_OK && qs)
                quota_shared_succeeded(qs);
            break;
        }
        atomic_fetch_add(&w->n_throttled, 1);
        if ((!w->rl && !qs) || atomic_load(&w->signalled))
            break;
        if (w->rl)
            ratelimit_throttled(w->rl);
        if (qs)
            quota_shared_throttled(qs);
        log_warn("generate_throttled", "job=%s attempt=%d rpm=%.1f", s->job_id, attempt,
                 w->rl ? ratelimit_rate(w->rl) : worker_quota_rpm(qs));
    }
    s->rc = rc;
}

void worker_note_dead(worker_thread_t *t)
{
    queue_msg_t *msgs = NULL;
    size_t n = 0;
    err_t e;

    err_clear(&e);
    if (queue_take_dead(t->queue, 32, &msgs, &n, &e) != ERR_OK) {
        log_warn("dead_letter_check_failed", "error=\"%s\"", e.msg);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char batch[JOB_ID_MAX + 1], job[JOB_ID_MAX + 1], msg[200];
        job_spec_t spec;
        int run = 1;
        job_spec_init(&spec);
        err_clear(&e);
        if (job_message_decode_run(msgs[i].body, msgs[i].body_len, batch, job, &spec, &run,
                                   &e) == ERR_OK) {
            snprintf(msg, sizeof msg, "message dead-lettered after %d receives",
                     msgs[i].receive_count);
            /* Conditional on the run: a dead message of a run that was
             * retried since cannot fail the new one. */
            if (ledger_fail(t->ledger, batch, job, run, NULL, JOB_FAILED,
                            LEDGER_DEAD_LETTER, msg, &e) == ERR_OK)
                atomic_fetch_add(&t->w->n_failed, 1);
            log_error("job_dead_lettered", "batch=%s job=%s run=%d receives=%d", batch, job,
                      run, msgs[i].receive_count);
        } else {
            log_error("poison_dead_lettered", "message=%s", msgs[i].id);
        }
        job_spec_free(&spec);
    }
    queue_msgs_free(msgs, n);
}
