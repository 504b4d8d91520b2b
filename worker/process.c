/* process — one job through the pipeline, in DESIGN.md's order:
 * (1) claim in the ledger, (2) generate, (3) compose the poster, (4) store
 * the raw art and the poster at deterministic keys, (5) make the URL,
 * (6) mark succeeded conditionally, (7) only then delete the message.  A
 * crash anywhere before (7) leaves the message to reappear after its
 * visibility lapses; the claim and the conditional completion make that
 * re-delivery harmless, and both puts are idempotent (same bytes, same key).
 *
 * worker_begin() is (1), worker_complete() is (3)..(7) once (2) is done,
 * by the driver (network engines) or worker_generate_sync() (local ones).
 *
 * Every job is composed (poster.c decides what text a poster gets: a real
 * image with no title, tagline or credits gets its metadata spliced in), so
 * every success stores BATCH/JOB.png and BATCH/JOB.raw.EXT. */
#include "worker.h"

#include "base/crypto.h"
#include "jobs/job.h"
#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t worker_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t worker_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct timespec worker_deadline(long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

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

/* Takes the job back from the heartbeat.  Returns whether its lease was
 * lost; *abandoned says whether shutdown already gave it back, in which
 * case the job is no longer this worker's to finish, fail or retry. */
static bool unpublish(worker_t *w, slot_t *s, bool *abandoned)
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

/* Retryable failure: give the job back (ledger) and hide the message for a
 * while.  On the last delivery max_receives allows, the job fails for good
 * and the message is made visible at once, so the queue moves it to the
 * dead-letter store on its next receive: it stays there for inspection. */
static void retry_later(worker_thread_t *t, const slot_t *s, const queue_msg_t *m,
                        const char *batch, const char *job, const err_t *cause)
{
    worker_t *w = t->w;
    err_t e;
    const char *code = cause->service_code[0] ? cause->service_code : err_name(cause->code);

    err_clear(&e);
    if (m->receive_count >= t->queue->max_receives) {
        char msg[700];
        snprintf(msg, sizeof msg, "gave up after %d attempts: %s", m->receive_count,
                 cause->msg);
        if (ledger_fail(t->ledger, batch, job, s->owner, JOB_FAILED, code,
                                 msg, &e) == ERR_OK) {
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

/* "BATCH/JOB.raw.EXT", where the engine's art is kept beside the poster
 * (store_key() checks the ids and extension). */
static err_code_t raw_key_for(const char *batch, const char *job, const char *ext,
                              char *out, size_t cap)
{
    err_code_t rc = store_key(batch, job, ext, out, cap);
    if (rc != ERR_OK)
        return rc;
    int n = snprintf(out, cap, "%s/%s.raw.%s", batch, job, ext);
    return n < 0 || (size_t)n >= cap ? ERR_TOOBIG : ERR_OK;
}


bool worker_hold_message(slot_t *s, const queue_msg_t *m, int64_t received_ms)
{
    worker_slot_clear(s);
    s->received_ms = received_ms;
    return msg_copy(&s->msg, m);
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
    if (job_message_decode(m->body, m->body_len, batch, job, &s->spec, &e) != ERR_OK) {
        /* A poison message cannot be attributed to a job; let it reach the
         * dead-letter store quickly instead of waiting out its visibility. */
        log_error("poison_message", "message=%s receive_count=%d error=\"%s\"", m->id,
                  m->receive_count, e.msg);
        err_clear(&e);
        queue_change_visibility(t->queue, m->receipt, 0, &e);
        return false;
    }

    /* (1) claim */
    if (ledger_claim(t->ledger, batch, job, s->owner, w->lease_s, &claim, &e) !=
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
            delete_msg(t, m, job);
        }
        atomic_fetch_add(&w->n_skipped, 1);
        log_info("job_skipped", "batch=%s job=%s reason=%s", batch, job,
                 claim == CLAIM_DONE ? "done" : claim == CLAIM_HELD ? "held"
                 : claim == CLAIM_CANCELLED ? "cancelled" : "unknown");
        return false;
    }
    s->t0_ms = worker_now_ms();
    publish(w, s, batch, job);
    log_info("job_started", "batch=%s job=%s attempt=%d", batch, job, m->receive_count);
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

    for (int attempt = 1; attempt <= WORKER_THROTTLE_ATTEMPTS; attempt++) {
        if (w->rl) {
            int64_t wait = ratelimit_reserve(w->rl);
            if (wait > 0)
                usleep((useconds_t)(wait > 600000 ? 600000 : wait) * 1000);
        }
        int64_t t0 = worker_mono_ms();
        err_clear(&s->err);
        engine_result_free(&s->res);
        rc = engine_generate(t->engine, &s->spec, s->job_id, &s->res, &s->err);
        worker_observe_generate(w, worker_mono_ms() - t0);
        if (rc != ERR_THROTTLED && s->err.code != ERR_THROTTLED) {
            if (rc == ERR_OK && w->rl)
                ratelimit_succeeded(w->rl);
            break;
        }
        atomic_fetch_add(&w->n_throttled, 1);
        if (!w->rl || atomic_load(&w->signalled))
            break;
        ratelimit_throttled(w->rl);
        log_warn("generate_throttled", "job=%s attempt=%d rpm=%.1f", s->job_id, attempt,
                 ratelimit_rate(w->rl));
    }
    s->rc = rc;
}

/* The poster's SHA-256.  When the engine hashed the art (art_len bytes)
 * as it arrived and the poster is the art with metadata spliced in before
 * its IEND chunk, the art's running hash continues over the inserted bytes
 * and the IEND: the image is not read a second time. */
static void poster_sha(const slot_t *s, size_t art_len, const buf_t *poster,
                       const poster_layout_t *lay, uint8_t out[SHA256_LEN])
{
    if (lay->spliced && s->res.sha_head && lay->splice_at + 12 == art_len &&
        lay->splice_at + lay->splice_len + 12 == poster->len) {
        crypto_sha256_ctx *c = crypto_sha256_dup(s->res.sha_head);
        if (c && crypto_sha256_update(c, poster->data + lay->splice_at,
                                      lay->splice_len + 12) == ERR_OK &&
            crypto_sha256_final(c, out) == ERR_OK)
            return;
        crypto_sha256_free(c);
    }
    crypto_sha256(poster->data, poster->len, out);
}

/* Turns the art in img into its poster in place: the metadata chunks go in
 * before the IEND (lay->splice_at).  The art's buffer has room for them
 * (bedrock_stream sizes it with slack), so no second copy of the image is
 * made. */
static err_code_t splice_in_place(buf_t *img, const buf_t *chunks,
                                  const poster_layout_t *lay, err_t *e)
{
    if (lay->splice_at > img->len || buf_reserve(img, chunks->len) != ERR_OK)
        return err_set(e, ERR_NOMEM, "compose: out of memory");
    memmove(img->data + lay->splice_at + chunks->len, img->data + lay->splice_at,
            img->len - lay->splice_at);
    memcpy(img->data + lay->splice_at, chunks->data, chunks->len);
    img->len += chunks->len;
    img->data[img->len] = '\0';
    return ERR_OK;
}

void worker_complete(worker_thread_t *t, slot_t *s)
{
    worker_t *w = t->w;
    const queue_msg_t *m = &s->msg;
    const char *batch = s->batch_id, *job = s->job_id;
    char key[512], raw_key[520];
    uint8_t sha[SHA256_LEN], raw_sha[SHA256_LEN];
    char sha_hex[SHA256_HEX_LEN];
    char *url = NULL;
    buf_t poster = BUF_INIT, chunks = BUF_INIT;
    bool in_place = false;
    poster_layout_t lay;
    const char *poster_type = NULL, *poster_ext = NULL;
    int64_t expires = 0;
    bool abandoned = false;
    err_code_t rc = s->rc;
    err_t e = s->err;

    memset(&lay, 0, sizeof lay);
    if (s->unstarted_at_stop) {
        /* SIGTERM before its generation started: straight back to the queue
         * (lease released, message visible at once) for another worker. */
        if (unpublish(w, s, &abandoned), abandoned)
            goto abandon;
        err_clear(&e);
        ledger_release(t->ledger, batch, job, s->owner, "shutdown",
                                "worker stopped before the job started", &e);
        err_clear(&e);
        queue_change_visibility(t->queue, m->receipt, 0, &e);
        atomic_fetch_add(&w->n_given_back, 1);
        log_info("job_given_back", "batch=%s job=%s reason=shutdown_before_start", batch, job);
        goto out;
    }
    /* (3) compose: art a poster cannot be made from fails like a bad image.
     * Text-less PNG art needs only its metadata chunks now: the poster is
     * made in the art's own buffer once the raw art is stored, so the
     * image is in memory once. */
    if (rc == ERR_OK) {
        rc = poster_for_job_chunks(&s->spec, job, &s->res, &chunks, &lay, &e);
        if (rc == ERR_OK) {
            in_place = true;
            poster_type = "image/png";
            poster_ext = "png";
        } else if (rc == ERR_NOTFOUND) {
            err_clear(&e);
            rc = poster_for_job(t->poster, &s->spec, job, &s->res, &poster, &poster_type,
                                &poster_ext, &lay, &e);
        }
        if (rc != ERR_OK)
            err_prefix(&e, "compose");
    }
    if (w->test_delay_ms)
        usleep((useconds_t)w->test_delay_ms * 1000); /* tests: a slow model */
    if (rc == ERR_FILTERED || (rc != ERR_OK && !err_is_retryable(&e))) {
        job_state_t st = rc == ERR_FILTERED ? JOB_FILTERED : JOB_FAILED;
        const char *code = e.service_code[0] ? e.service_code : err_name(e.code);
        err_t e2;
        err_clear(&e2);
        if (unpublish(w, s, &abandoned), abandoned)
            goto abandon;
        if (ledger_fail(t->ledger, batch, job, s->owner, st, code, e.msg,
                                   &e2) == ERR_OK)
            atomic_fetch_add(st == JOB_FILTERED ? &w->n_filtered : &w->n_failed, 1);
        log_error(st == JOB_FILTERED ? "job_filtered" : "job_failed",
                  "batch=%s job=%s code=%s", batch, job, code);
        delete_msg(t, m, job);
        goto out;
    }
    if (rc != ERR_OK) {
        if (unpublish(w, s, &abandoned), abandoned)
            goto abandon;
        retry_later(t, s, m, batch, job, &e);
        goto out;
    }

    /* (4) store the raw art, then the poster, each with its checksum */
    if (s->res.sha_known)
        memcpy(raw_sha, s->res.sha256, SHA256_LEN);
    else
        crypto_sha256(s->res.image.data, s->res.image.len, raw_sha);
    size_t art_len = s->res.image.len;
    const buf_t *pb = in_place ? &s->res.image : &poster;
    err_clear(&e);
    bool stored = raw_key_for(batch, job, s->res.ext, raw_key, sizeof raw_key) == ERR_OK &&
                  store_key(batch, job, poster_ext, key, sizeof key) == ERR_OK &&
                  store_put(t->store, raw_key, s->res.image.data, s->res.image.len,
                                     raw_sha, s->res.content_type, &e) == ERR_OK &&
                  (!in_place || splice_in_place(&s->res.image, &chunks, &lay, &e) == ERR_OK);
    if (stored) {
        poster_sha(s, art_len, pb, &lay, sha);
        hex_encode(sha, SHA256_LEN, sha_hex);
        stored = store_put(t->store, key, pb->data, pb->len, sha, poster_type,
                                    &e) == ERR_OK &&
                 /* (5) the URL */
                 store_url(t->store, key, s->spec.url_ttl > 0 ? s->spec.url_ttl
                                                                       : w->cfg.url_ttl,
                                    &url, &expires, &e) == ERR_OK;
    }
    if (!stored) {
        if (e.code == ERR_OK)
            err_set(&e, ERR_INTERNAL, "store key too long");
        if (unpublish(w, s, &abandoned), abandoned)
            goto abandon;
        log_error("store_failed", "batch=%s job=%s error=\"%s\"", batch, job, e.msg);
        retry_later(t, s, m, batch, job, &e);
        goto out;
    }

    /* (6) mark succeeded, conditional on still holding the lease */
    ledger_result_t r = {
        .url = url, .store_key = key, .sha256 = sha_hex, .model = s->res.model,
        .bytes = (int64_t)pb->len, .seed = s->res.seed, .cost_usd = s->res.cost_usd,
    };
    bool lost = unpublish(w, s, &abandoned);
    if (abandoned)
        goto abandon;
    if (ledger_succeed(t->ledger, batch, job, s->owner, &r, &e) != ERR_OK) {
        /* Lost the lease (someone else took over after it lapsed) or the job
         * was cancelled: the other holder's result or the cancel stands. */
        log_warn("job_superseded", "batch=%s job=%s lease_lost=%d error=\"%s\"", batch,
                 job, lost, e.msg);
        ledger_job_t *jobs = NULL;
        size_t n = 0;
        err_clear(&e);
        if (ledger_get_jobs(t->ledger, batch, job, &jobs, &n, &e) == ERR_OK &&
            n == 1 && job_state_terminal(jobs[0].state))
            delete_msg(t, m, job);
        ledger_jobs_free(jobs, n);
        goto out;
    }
    atomic_fetch_add(&w->n_succeeded, 1);
    log_info("job_succeeded", "batch=%s job=%s bytes=%zu ms=%lld", batch, job,
             pb->len, (long long)(worker_now_ms() - s->t0_ms));

    /* (7) only now is the message done with */
    delete_msg(t, m, job);
    goto out;
abandon:
    log_info("job_abandoned", "batch=%s job=%s reason=shutdown", batch, job);
out:
    free(url);
    buf_free(&poster);
    buf_free(&chunks);
    worker_slot_clear(s);
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
        job_spec_init(&spec);
        err_clear(&e);
        if (job_message_decode(msgs[i].body, msgs[i].body_len, batch, job, &spec, &e) ==
            ERR_OK) {
            snprintf(msg, sizeof msg, "message dead-lettered after %d receives",
                     msgs[i].receive_count);
            if (ledger_fail(t->ledger, batch, job, NULL, JOB_FAILED,
                                     "dead_letter", msg, &e) == ERR_OK)
                atomic_fetch_add(&t->w->n_failed, 1);
            log_error("job_dead_lettered", "batch=%s job=%s receives=%d", batch, job,
                      msgs[i].receive_count);
        } else {
            log_error("poison_dead_lettered", "message=%s", msgs[i].id);
        }
        job_spec_free(&spec);
    }
    queue_msgs_free(msgs, n);
}
