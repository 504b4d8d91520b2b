/* finish — a generated job to its end, steps (3)..(7) of process.c's
 * order: compose the poster, store the raw art (unless the poster is the
 * art plus metadata, which is then stored once) and the poster, make the
 * URL, mark the job succeeded conditionally, and only then delete the
 * message.  Each step returns an outcome that worker_complete() switches
 * on; a failure on the way fails, filters or retries the job instead. */
#include "worker.h"
#include "fault.h"
#include "outbox.h"
#include "renditions.h"

#include "base/crc64nvme.h"
#include "base/crypto.h"
#include "base/log.h"
#include "jobs/job.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* The poster's checksum of the configured algorithm into sum.  A CRC
 * continues the art's running CRC (kept short of the IEND) over the
 * spliced bytes, as poster_sha() does for SHA-256. */
static void poster_sum(const slot_t *s, size_t art_len, const buf_t *poster,
                       const poster_layout_t *lay, store_sum_alg_t alg, store_sum_t *sum)
{
    sum->alg = alg;
    if (alg == STORE_SUM_SHA256) {
        poster_sha(s, art_len, poster, lay, sum->sha256);
        return;
    }
    if (lay->spliced && s->res.crc_known && lay->splice_at + 12 == art_len &&
        lay->splice_at + lay->splice_len + 12 == poster->len)
        sum->crc64 = crc64nvme_update(s->res.crc_head, poster->data + lay->splice_at,
                                      lay->splice_len + 12);
    else
        sum->crc64 = crc64nvme(poster->data, poster->len);
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

/* What a step of finishing a job came to: the next step is taken on
 * OUT_NEXT, and settle() switches on any other. */
typedef enum {
    OUT_NEXT,          /* on to the next step */
    OUT_GIVE_BACK,     /* SIGTERM came before its generation started */
    OUT_FAIL,          /* fails (or is filtered) for good */
    OUT_RETRY,         /* the generation or the compose failed, retryably */
    OUT_STORE_FAILED,  /* a put or the URL failed: retried as well */
    OUT_SUCCEEDED,     /* the ledger has the result: the message can go */
    OUT_SUPERSEDED,    /* the ledger refused it: lease lost, or cancelled */
} outcome_t;

/* One job being finished: what its steps hand on.  The engine's result
 * stays the slot's (s->res); with an in-place poster its image buffer
 * becomes the poster once the raw art is stored. */
typedef struct {
    worker_thread_t *t;
    slot_t *s;
    err_t e;                 /* why the last step failed */
    job_state_t fail_state;  /* OUT_FAIL: JOB_FAILED or JOB_FILTERED */
    bool lease_lost;         /* from unpublish, for OUT_SUPERSEDED's log */
    bool in_place;           /* the poster is the art with chunks spliced in */
    buf_t poster, chunks;    /* owned (finish_free); poster unused when in_place */
    poster_layout_t lay;
    const char *poster_type, *poster_ext;   /* static strings */
    size_t art_len;          /* the art's length before any splice */
    const buf_t *out;        /* the poster stored: &poster or &s->res.image */
    char key[512];
    char sha_hex[SHA256_HEX_LEN];
    char raw_key[520];        /* "" when the poster is the art plus metadata */
    store_sum_alg_t alg;      /* the configured checksum */
    char sum_b64[48];         /* the poster's, as the store keeps it */
    char *url;               /* owned (finish_free) */
    int64_t expires;
} finish_t;

static void finish_init(finish_t *f, worker_thread_t *t, slot_t *s)
{
    memset(f, 0, sizeof *f);
    f->t = t;
    f->s = s;
    f->e = s->err;
    f->poster = (buf_t)BUF_INIT;
    f->chunks = (buf_t)BUF_INIT;
    f->alg = (store_sum_alg_t)t->w->cfg.checksum;
}

static void finish_free(finish_t *f)
{
    free(f->url);
    buf_free(&f->poster);
    buf_free(&f->chunks);
}

/* (3) The generation's outcome, and when it succeeded the poster composed:
 * art a poster cannot be made from fails like a bad image.  Text-less PNG
 * art needs only its metadata chunks now (f->in_place): the poster is made
 * in the art's own buffer once the raw art is stored, so the image is in
 * memory once.  Returns OUT_NEXT; OUT_FAIL, with f->fail_state saying
 * failed or filtered; or OUT_RETRY; f->e says why. */
static outcome_t compose_step(finish_t *f)
{
    slot_t *s = f->s;
    err_code_t rc = s->rc;
    bool renditions = rc == ERR_OK && s->spec.nrenditions > 0;

    /* Renditions (issue 20): the first is the poster. */
    if (renditions && (rc = worker_renditions_first(f->t, s, &f->poster, &f->poster_type,
                                                     &f->poster_ext, &f->lay, &f->e)) != ERR_OK)
        err_prefix(&f->e, "compose");
    if (rc == ERR_OK && !renditions) {
        rc = poster_for_job_chunks(&s->spec, s->job_id, &s->res, &f->chunks, &f->lay, &f->e);
        if (rc == ERR_OK) {
            f->in_place = true;
            f->poster_type = "image/png";
            f->poster_ext = "png";
        } else if (rc == ERR_NOTFOUND) {
            err_clear(&f->e);
            rc = poster_for_job(f->t->poster, &s->spec, s->job_id, &s->res, &f->poster,
                                &f->poster_type, &f->poster_ext, &f->lay, &f->e);
        }
        if (rc != ERR_OK)
            err_prefix(&f->e, "compose");
    }
    if (rc == ERR_OK)
        return OUT_NEXT;
    if (rc == ERR_FILTERED || !err_is_retryable(&f->e)) {
        f->fail_state = rc == ERR_FILTERED ? JOB_FILTERED : JOB_FAILED;
        return OUT_FAIL;
    }
    return OUT_RETRY;
}

/* The raw art at BATCH/JOB.raw.EXT with its checksum -- unless the poster
 * is the art plus metadata (lay.spliced), which is then all that is
 * stored -- then, for an in-place poster, the chunks spliced into the art.
 * Fills f->key, f->raw_key, f->art_len and f->out.  Returns ERR_OK or the
 * error, with f->e set unless a key did not fit. */
static err_code_t put_raw(finish_t *f)
{
    slot_t *s = f->s;
    store_sum_t raw = {.alg = f->alg};
    err_code_t rc;

    f->art_len = s->res.image.len;
    f->out = f->in_place ? &s->res.image : &f->poster;
    if ((rc = store_key(s->batch_id, s->job_id, f->poster_ext, f->key, sizeof f->key)) !=
        ERR_OK)
        return rc;
    if (!f->lay.spliced) {
        if (f->alg == STORE_SUM_SHA256 && s->res.sha_known)
            memcpy(raw.sha256, s->res.sha256, SHA256_LEN);
        else if (f->alg == STORE_SUM_SHA256)
            crypto_sha256(s->res.image.data, s->res.image.len, raw.sha256);
        else
            raw.crc64 = s->res.crc_known ? s->res.crc64
                                         : crc64nvme(s->res.image.data, s->res.image.len);
        if ((rc = raw_key_for(s->batch_id, s->job_id, s->res.ext, f->raw_key,
                              sizeof f->raw_key)) != ERR_OK ||
            (rc = store_put_sum(f->t->store, f->raw_key, s->res.image.data,
                                s->res.image.len, &raw, s->res.content_type, &f->e)) != ERR_OK)
            return rc;
        WORKER_FAULT("after_store_raw");
    }
    return f->in_place ? splice_in_place(&s->res.image, &f->chunks, &f->lay, &f->e) : ERR_OK;
}

/* The poster at f->key with its checksum, then (5) its URL into f->url
 * (owned by f).  Returns ERR_OK or the error, with f->e set. */
static err_code_t put_poster(finish_t *f)
{
    slot_t *s = f->s;
    store_sum_t sum;
    err_code_t rc;

    poster_sum(s, f->art_len, f->out, &f->lay, f->alg, &sum);
    if (f->alg == STORE_SUM_SHA256)
        hex_encode(sum.sha256, SHA256_LEN, f->sha_hex);
    if (store_sum_b64(&sum, f->sum_b64, sizeof f->sum_b64) != ERR_OK)
        return err_set(&f->e, ERR_INTERNAL, "checksum does not fit");
    if ((rc = store_put_sum(f->t->store, f->key, f->out->data, f->out->len, &sum,
                            f->poster_type, &f->e)) != ERR_OK)
        return rc;
    WORKER_FAULT("after_store");
    return store_url(f->t->store, f->key,
                     s->spec.url_ttl > 0 ? s->spec.url_ttl : f->t->w->cfg.url_ttl, &f->url,
                     &f->expires, &f->e);
}

/* (4) Stores the raw art, then the poster, each with its checksum, and
 * (5) makes the poster's URL.  Returns OUT_NEXT, or OUT_STORE_FAILED with
 * f->e saying why. */
static outcome_t store_step(finish_t *f)
{
    err_clear(&f->e);
    if (put_raw(f) == ERR_OK && put_poster(f) == ERR_OK &&
        worker_renditions_store(f->t, f->s, &f->e) == ERR_OK) {
        WORKER_FAULT("after_presign");
        return OUT_NEXT;
    }
    if (f->e.code == ERR_OK)   /* store_key() and raw_key_for() say nothing */
        err_set(&f->e, ERR_INTERNAL, "store key too long");
    return OUT_STORE_FAILED;
}

/* (6) Marks the job succeeded, conditional on still holding the lease.
 * Returns OUT_SUCCEEDED, or OUT_SUPERSEDED with f->e when the ledger
 * refused. */
static outcome_t record_step(finish_t *f)
{
    slot_t *s = f->s;
    char life[48];
    ledger_result_t r = {
        .url = f->url, .store_key = f->key, .model = s->res.model,
        .sha256 = f->alg == STORE_SUM_SHA256 ? f->sha_hex : NULL,
        .bytes = (int64_t)f->out->len, .seed = s->res.seed, .cost_usd = s->res.cost_usd,
        .checksum_alg = store_sum_alg_name(f->alg), .checksum = f->sum_b64,
        .art_key = f->raw_key[0] ? f->raw_key : f->key,
        .model_lifecycle = worker_lifecycle_value(f->t->w, s->spec.model, life, sizeof life),
    };
    if (ledger_succeed(f->t->ledger, s->batch_id, s->job_id, s->owner, &r, &f->e) != ERR_OK)
        return OUT_SUPERSEDED;
    WORKER_FAULT("after_mark");
    return OUT_SUCCEEDED;
}

/* SIGTERM before its generation started: straight back to the queue
 * (lease released, message visible at once) for another worker. */
static void give_back_unstarted(finish_t *f)
{
    slot_t *s = f->s;
    err_t e;

    err_clear(&e);
    ledger_release(f->t->ledger, s->batch_id, s->job_id, s->owner, "shutdown",
                   "worker stopped before the job started", &e);
    err_clear(&e);
    queue_change_visibility(f->t->queue, s->msg.receipt, 0, &e);
    atomic_fetch_add(&f->t->w->n_given_back, 1);
    log_info("job_given_back", "batch=%s job=%s reason=shutdown_before_start", s->batch_id,
             s->job_id);
}

/* Failed or filtered for good: recorded so, and the message deleted. */
static void fail_for_good(finish_t *f)
{
    worker_t *w = f->t->w;
    slot_t *s = f->s;
    bool filtered = f->fail_state == JOB_FILTERED;
    const char *code = f->e.service_code[0] ? f->e.service_code : err_name(f->e.code);
    err_t e;

    char lv[48];
    err_clear(&e);
    if (ledger_fail_lifecycle(f->t->ledger, s->batch_id, s->job_id, s->run, s->owner,
                              f->fail_state, code, f->e.msg,
                              worker_lifecycle_value(w, s->spec.model, lv, sizeof lv),
                              &e) == ERR_OK)
        atomic_fetch_add(filtered ? &w->n_filtered : &w->n_failed, 1);
    char life[96];
    log_error(filtered ? "job_filtered" : "job_failed", "batch=%s job=%s code=%s%s",
              s->batch_id, s->job_id, code,
              worker_lifecycle_of(w, s->spec.model, life, sizeof life));
    worker_delete(f->t, s->msg.receipt, s->job_id);
}

/* The ledger refused the success: the other holder's result (the lease
 * lapsed and someone else took over) or the cancel stands.  The message
 * goes only if the job is over, or a retry re-opened it as a later run
 * (which has a message of its own). */
static void superseded(finish_t *f)
{
    slot_t *s = f->s;
    ledger_job_t *jobs = NULL;
    size_t n = 0;

    log_warn("job_superseded", "batch=%s job=%s lease_lost=%d error=\"%s\"", s->batch_id,
             s->job_id, f->lease_lost, f->e.msg);
    err_clear(&f->e);
    if (ledger_get_jobs(f->t->ledger, s->batch_id, s->job_id, &jobs, &n, &f->e) == ERR_OK &&
        n == 1 && (job_state_terminal(jobs[0].state) || jobs[0].run > s->run))
        worker_delete(f->t, s->msg.receipt, s->job_id);
    ledger_jobs_free(jobs, n);
}

/* Acts on the outcome of the last step taken, the job being this
 * worker's (not abandoned). */
static void settle(finish_t *f, outcome_t o)
{
    worker_t *w = f->t->w;
    slot_t *s = f->s;

    switch (o) {
    case OUT_GIVE_BACK:
        give_back_unstarted(f);
        break;
    case OUT_FAIL:
        fail_for_good(f);
        worker_outbox_kick(w);      /* its webhook event, if any, is due now */
        break;
    case OUT_RETRY:
        worker_retry_later(f->t, s, &f->e);
        break;
    case OUT_STORE_FAILED:
        log_error("store_failed", "batch=%s job=%s error=\"%s\"", s->batch_id, s->job_id,
                  f->e.msg);
        worker_retry_later(f->t, s, &f->e);
        break;
    case OUT_SUCCEEDED: {
        char life[96];
        atomic_fetch_add(&w->n_succeeded, 1);
        log_info("job_succeeded", "batch=%s job=%s bytes=%zu ms=%lld%s", s->batch_id,
                 s->job_id, f->out->len, (long long)(worker_now_ms() - s->t0_ms),
                 worker_lifecycle_of(w, s->spec.model, life, sizeof life));
        /* (7) only now is the message done with */
        worker_delete(f->t, s->msg.receipt, s->job_id);
        WORKER_FAULT("after_delete");
        worker_outbox_kick(w);      /* its webhook event, if any, is due now */
        break;
    }
    case OUT_SUPERSEDED:
        superseded(f);
        break;
    case OUT_NEXT:
        assert(!"settle: the job has steps left");
        break;
    }
}

/* (3)..(7) in order: compose, store, record, delete.  The job stays
 * published to the heartbeat (its lease and message kept alive) until the
 * ledger is told its end; a job given back at shutdown meanwhile is no
 * longer this worker's to finish, fail or retry. */
void worker_complete(worker_thread_t *t, slot_t *s)
{
    worker_t *w = t->w;
    outcome_t o = OUT_GIVE_BACK;
    bool abandoned = false;
    finish_t f;

    finish_init(&f, t, s);
    if (!s->unstarted_at_stop) {
        WORKER_FAULT("after_generate");
        o = compose_step(&f);
        if (o == OUT_NEXT)
            WORKER_FAULT("after_compose");
        if (w->test_delay_ms)
            usleep((useconds_t)w->test_delay_ms * 1000); /* tests: a slow model */
        if (o == OUT_NEXT)
            o = store_step(&f);
    }
    f.lease_lost = worker_unpublish(w, s, &abandoned);
    if (abandoned)
        log_info("job_abandoned", "batch=%s job=%s reason=shutdown", s->batch_id, s->job_id);
    else
        settle(&f, o == OUT_NEXT ? record_step(&f) : o);
    finish_free(&f);
    worker_slot_clear(s);
}

