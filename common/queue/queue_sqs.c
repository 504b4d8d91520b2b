/* queue_sqs — the queue interface on Amazon SQS (JSON protocol); see
 * queue_sqs.h and queue.h.
 *
 * Batches (send, delete, change visibility) can answer 200 with some
 * entries in Failed: those entries alone are retried, with backoff, while
 * the service says it was not their fault; a sender fault fails the call.
 * send_batch splits bodies into calls of at most 10 entries and at most
 * MaximumMessageSize bytes and runs up to SEND_PARALLEL calls at once, each
 * thread with its own client.  It is not atomic: on an error some bodies may
 * already be queued.  Delivery is at-least-once anyway, and job ids are
 * content hashes, so sending again is harmless.
 *
 * Every received body is checked against MD5OfBody.  A message that fails
 * the check (or lacks a field) is dropped from the result and left hidden,
 * so SQS delivers it again later and, if it keeps failing, dead-letters
 * it; a receive whose every message was dropped fails with ERR_INVALID. */
#include "queue/queue_sqs_internal.h"
#include "base/buf.h"
#include "base/crypto.h"
#include "base/utf8.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define BATCH_MAX SQS_BATCH_MAX
#define SEND_PARALLEL SQS_SEND_PARALLEL
#define MAX_VISIBILITY SQS_MAX_VISIBILITY
#define MAX_WAIT SQS_MAX_WAIT
#define ENTRY_ATTEMPTS 5           /* tries for entries failed in a batch */
#define DEAD_VISIBILITY 43200      /* taken dead letters stay, hidden 12 h */

/* ---- small helpers ---- */

/* True when the error says a receipt handle is no longer valid. */
static bool receipt_stale(const err_t *e)
{
    const char *c = e->service_code;
    return strcmp(c, "ReceiptHandleIsInvalid") == 0 ||
           strcmp(c, "MessageNotInflight") == 0 || strcmp(c, "InvalidReceiptHandle") == 0 ||
           (strcmp(c, "InvalidParameterValue") == 0 && strstr(e->msg, "ReceiptHandle"));
}

/* Checks data against a hex MD5 (case-insensitive).  Where MD5 is not
 * available (a FIPS-only OpenSSL) there is nothing to check with: true. */
static bool md5_ok(const char *data, size_t len, const char *hex)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;
    char h[33];
    if (!hex || strlen(hex) != 32)
        return false;
    if (EVP_Digest(data, len, d, &dl, EVP_md5(), NULL) != 1 || dl != 16)
        return true;
    hex_encode(d, 16, h);
    return strcasecmp(h, hex) == 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- batches with per-entry retry ---- */

typedef struct {
    const char *op;
    const char *prefix;                   /* entry Id = prefix + index */
    json_t *(*entry)(void *ctx, size_t i);  /* new reference or NULL */
    /* Checks a successful entry; false retries it (e.g. an MD5 mismatch). */
    bool (*check)(void *ctx, size_t i, const json_t *ok);
    void *ctx;
    int *stale;             /* non-NULL: stale-receipt failures are marked,
                               not errors */
} batch_t;

/* Finds the entry an Id names among pending[0..n); -1 when none. */
static long id_index(const batch_t *b, const json_t *it, const size_t *pending, size_t n)
{
    const char *id = sqs_str(it, "Id");
    size_t pl = strlen(b->prefix);
    if (!id || strncmp(id, b->prefix, pl) != 0 || !id[pl] ||
        strspn(id + pl, "0123456789") != strlen(id + pl))
        return -1;
    size_t v = strtoul(id + pl, NULL, 10);
    for (size_t k = 0; k < n; k++)
        if (pending[k] == v)
            return (long)k;
    return -1;
}

/* Runs one batch call over idx[0..n) (n <= 10), retrying only the entries
 * that came back failed by no fault of ours. */
static err_code_t batch_run(aws_client_t *c, const char *url, const batch_t *b,
                            const size_t *idx, size_t n, err_t *err)
{
    size_t pending[BATCH_MAX];
    char why[200] = "";
    memcpy(pending, idx, n * sizeof *idx);
    for (int attempt = 1;; attempt++) {
        json_t *entries = json_array(), *reply = NULL;
        for (size_t k = 0; k < n; k++) {
            json_t *e = b->entry(b->ctx, pending[k]);
            char id[32];
            snprintf(id, sizeof id, "%s%zu", b->prefix, pending[k]);
            if (!e || json_object_set_new(e, "Id", json_string(id)) != 0 ||
                json_array_append_new(entries, e) != 0) {
                json_decref(entries);
                return err_set(err, ERR_INVALID, "%s: cannot encode entry %zu", b->op,
                               pending[k]);
            }
        }
        err_code_t rc = sqs_call(c, b->op, json_pack("{s:s,s:o}", "QueueUrl", url,
                                                     "Entries", entries), 0, &reply, err);
        if (rc != ERR_OK)
            return rc;
        json_t *ok = json_object_get(reply, "Successful");
        json_t *failed = json_object_get(reply, "Failed");
        if ((ok && !json_is_array(ok)) || (failed && !json_is_array(failed))) {
            json_decref(reply);
            return err_set(err, ERR_INVALID, "AmazonSQS.%s: Successful/Failed are not lists",
                           b->op);
        }
        bool done[BATCH_MAX] = {false};
        size_t i;
        json_t *it;
        json_array_foreach(ok, i, it) {
            long k = id_index(b, it, pending, n);
            if (k < 0)
                continue;
            if (b->check && !b->check(b->ctx, pending[k], it))
                snprintf(why, sizeof why, "entry %zu: MD5 of the body does not match",
                         pending[k]);
            else
                done[k] = true;
        }
        json_array_foreach(failed, i, it) {
            long k = id_index(b, it, pending, n);
            if (k < 0)
                continue;
            const char *code = sqs_str(it, "Code"), *msg = sqs_str(it, "Message");
            err_t fe = {.code = ERR_INVALID};
            snprintf(fe.service_code, sizeof fe.service_code, "%s", code ? code : "");
            snprintf(fe.msg, sizeof fe.msg, "%s", msg ? msg : "");
            if (b->stale && receipt_stale(&fe)) {
                b->stale[pending[k]] = 1;
                done[k] = true;
            } else if (json_is_true(json_object_get(it, "SenderFault"))) {
                err_set(err, ERR_INVALID, "AmazonSQS.%s: entry %zu refused: %s: %.200s",
                        b->op, pending[k], fe.service_code, fe.msg);
                if (err)
                    memcpy(err->service_code, fe.service_code, sizeof fe.service_code);
                json_decref(reply);
                return ERR_INVALID;
            } else {
                snprintf(why, sizeof why, "entry %zu: %s: %.120s", pending[k],
                         fe.service_code, fe.msg);
            }
        }
        json_decref(reply);
        size_t left = 0;
        for (size_t k = 0; k < n; k++)
            if (!done[k])
                pending[left++] = pending[k];
        n = left;
        if (n == 0)
            return ERR_OK;
        if (attempt >= ENTRY_ATTEMPTS)
            return err_set(err, ERR_UNAVAILABLE, "AmazonSQS.%s: %zu entries not accepted "
                           "after %d attempts (%s)", b->op, n, attempt,
                           why[0] ? why : "missing from the reply");
        unsigned char r;
        crypto_random(&r, 1);
        sleep_ms((50L << (attempt - 1)) * (128 + r) / 256);
    }
}

/* ---- send ---- */

typedef struct {
    sqs_t *q;
    const char *const *bodies;
    size_t *starts;            /* batch b is [starts[b], starts[b + 1]) */
    size_t nbatches;
    atomic_size_t next;
    pthread_mutex_t mu;
    err_code_t rc;
    err_t err;
} send_t;

typedef struct {
    send_t *s;
    aws_client_t *c;
} sender_t;

static json_t *send_entry(void *ctx, size_t i)
{
    const char *b = ((send_t *)ctx)->bodies[i];
    return json_pack("{s:s%}", "MessageBody", b, strlen(b));
}

static bool send_check(void *ctx, size_t i, const json_t *ok)
{
    const char *b = ((send_t *)ctx)->bodies[i];
    return md5_ok(b, strlen(b), sqs_str(ok, "MD5OfMessageBody"));
}

static void *sender(void *arg)
{
    sender_t *w = arg;
    send_t *s = w->s;
    batch_t b = {"SendMessageBatch", "m", send_entry, send_check, s, NULL};
    size_t idx[BATCH_MAX];
    for (;;) {
        size_t k = atomic_fetch_add(&s->next, 1);
        if (k >= s->nbatches)
            break;
        pthread_mutex_lock(&s->mu);
        bool failed = s->rc != ERR_OK;
        pthread_mutex_unlock(&s->mu);
        if (failed)
            break;
        size_t n = s->starts[k + 1] - s->starts[k];
        for (size_t j = 0; j < n; j++)
            idx[j] = s->starts[k] + j;
        err_t e;
        err_clear(&e);
        if (batch_run(w->c, s->q->url, &b, idx, n, &e) != ERR_OK) {
            pthread_mutex_lock(&s->mu);
            if (s->rc == ERR_OK) {
                s->rc = e.code;
                s->err = e;
            }
            pthread_mutex_unlock(&s->mu);
            break;
        }
    }
    return NULL;
}

/* SQS accepts #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF. */
static bool sqs_text_ok(const char *s, size_t len, size_t *bad)
{
    const unsigned char *p = (const unsigned char *)s;
    if (!utf8_valid(s, len, NULL, bad))
        return false;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < 0x20 && p[i] != 9 && p[i] != 10 && p[i] != 13) {
            *bad = i;
            return false;
        }
        /* U+FFFE and U+FFFF: EF BF BE / EF BF BF. */
        if (p[i] == 0xEF && i + 2 < len && p[i + 1] == 0xBF && p[i + 2] >= 0xBE) {
            *bad = i;
            return false;
        }
    }
    return true;
}

/* One SendMessage with DelaySeconds (worker liveness: a job handed back
 * by a worker that does not serve its model). */
static err_code_t sqs_send_delayed(queue_t *base, const char *body, int delay_s,
                                   err_t *err)
{
    sqs_t *q = (sqs_t *)base;
    size_t len = body ? strlen(body) : 0, bad;
    if (len == 0)
        return err_set(err, ERR_INVALID, "message: empty body");
    if (len > q->max_msg)
        return err_set(err, ERR_TOOBIG, "message: %zu bytes, over the queue's "
                       "MaximumMessageSize of %zu", len, q->max_msg);
    if (!sqs_text_ok(body, len, &bad))
        return err_set(err, ERR_INVALID, "message: byte %zu is invalid UTF-8 or a "
                       "character SQS does not accept", bad);
    return sqs_call(q->c, "SendMessage",
                    json_pack("{s:s, s:s%, s:i}", "QueueUrl", q->url, "MessageBody", body,
                              len, "DelaySeconds", delay_s), 0, NULL, err);
}

static err_code_t sqs_send_batch(queue_t *base, const char *const *bodies, size_t n,
                                 err_t *err)
{
    sqs_t *q = (sqs_t *)base;
    size_t nb = 0, bytes = 0, cnt = 0, bad;
    if (n == 0)
        return ERR_OK;
    for (size_t i = 0; i < n; i++) {
        size_t len = bodies[i] ? strlen(bodies[i]) : 0;
        if (len == 0)
            return err_set(err, ERR_INVALID, "message %zu: empty body", i);
        if (len > q->max_msg)
            return err_set(err, ERR_TOOBIG, "message %zu: %zu bytes, over the queue's "
                           "MaximumMessageSize of %zu", i, len, q->max_msg);
        if (!sqs_text_ok(bodies[i], len, &bad))
            return err_set(err, ERR_INVALID, "message %zu: byte %zu is invalid UTF-8 or a "
                           "character SQS does not accept", i, bad);
    }
    size_t *starts = malloc((n + 1) * sizeof *starts);
    if (!starts)
        return err_set(err, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(bodies[i]);
        if (cnt == 0 || cnt == BATCH_MAX || bytes + len > q->max_msg) {
            starts[nb++] = i;
            cnt = bytes = 0;
        }
        cnt++;
        bytes += len;
    }
    starts[nb] = n;

    send_t s = {.q = q, .bodies = bodies, .starts = starts, .nbatches = nb, .rc = ERR_OK};
    atomic_init(&s.next, 0);
    pthread_mutex_init(&s.mu, NULL);
    err_clear(&s.err);
    sender_t ws[SEND_PARALLEL];
    pthread_t th[SEND_PARALLEL];
    size_t nt = 1;
    ws[0] = (sender_t){&s, q->c};
    /* Extra clients are made once and kept: their connections stay open. */
    while (nt < SEND_PARALLEL && nt < nb) {
        aws_client_t **c = &q->extra[nt - 1];
        if (!*c && !(*c = sqs_client_new(q, NULL)))
            break;
        ws[nt] = (sender_t){&s, *c};
        if (pthread_create(&th[nt], NULL, sender, &ws[nt]) != 0)
            break;
        nt++;
    }
    sender(&ws[0]);
    for (size_t t = 1; t < nt; t++)
        pthread_join(th[t], NULL);
    pthread_mutex_destroy(&s.mu);
    free(starts);
    if (s.rc != ERR_OK && err)
        *err = s.err;
    return s.rc;
}

/* ---- receive ---- */

/* Turns a ReceiveMessage reply into messages (see the top for what is
 * dropped). */
static err_code_t parse_messages(const json_t *reply, queue_msg_t **out, size_t *n,
                                 err_t *err)
{
    const json_t *msgs = json_object_get(reply, "Messages");
    err_t bad;
    size_t k = 0, nbad = 0, i;
    json_t *m;
    if (!msgs || json_is_null(msgs))
        return ERR_OK;
    if (!json_is_array(msgs))
        return err_set(err, ERR_INVALID, "AmazonSQS.ReceiveMessage: Messages is not a list");
    queue_msg_t *v = calloc(json_array_size(msgs) + 1, sizeof *v);
    if (!v)
        return err_set(err, ERR_NOMEM, "out of memory");
    err_clear(&bad);
    json_array_foreach(msgs, i, m) {
        const char *id = sqs_str(m, "MessageId"), *rh = sqs_str(m, "ReceiptHandle");
        const char *md5 = sqs_str(m, "MD5OfBody");
        const json_t *jb = json_object_get(m, "Body");
        const json_t *arc = json_object_get(json_object_get(m, "Attributes"),
                                            "ApproximateReceiveCount");
        int64_t count = 1;
        if (!id || !rh || !json_is_string(jb) || !md5) {
            if (nbad++ == 0)
                err_set(&bad, ERR_INVALID, "AmazonSQS.ReceiveMessage: message %zu lacks "
                        "MessageId, ReceiptHandle, Body or MD5OfBody", i);
            continue;
        }
        const char *body = json_string_value(jb);
        size_t blen = json_string_length(jb);
        if (!md5_ok(body, blen, md5)) {
            if (nbad++ == 0)
                err_set(&bad, ERR_INVALID, "AmazonSQS.ReceiveMessage: message %.80s: body "
                        "does not match MD5OfBody (dropped)", id);
            continue;
        }
        if (arc && !sqs_parse_count(arc, &count)) {
            if (nbad++ == 0)
                err_set(&bad, ERR_INVALID, "AmazonSQS.ReceiveMessage: message %.80s: "
                        "ApproximateReceiveCount is not a count", id);
            continue;
        }
        queue_msg_t *q = &v[k++];
        q->id = strdup(id);
        q->receipt = strdup(rh);
        q->body = malloc(blen + 1);
        q->body_len = blen;
        q->receive_count = count < 1 ? 1 : count > 1000000 ? 1000000 : (int)count;
        if (!q->id || !q->receipt || !q->body) {
            queue_msgs_free(v, k);
            return err_set(err, ERR_NOMEM, "out of memory");
        }
        memcpy(q->body, body, blen);
        q->body[blen] = '\0';
    }
    if (k == 0) {
        free(v);
        if (nbad) {
            if (err)
                *err = bad;
            return ERR_INVALID;
        }
        return ERR_OK;
    }
    *out = v;
    *n = k;
    return ERR_OK;
}

static err_code_t receive_from(sqs_t *q, const char *url, size_t max, int vis, int wait,
                               queue_msg_t **out, size_t *n, err_t *err)
{
    json_t *reply = NULL;
    *out = NULL;
    *n = 0;
    if (max == 0)
        return ERR_OK;
    if (vis < 0 || vis > MAX_VISIBILITY)
        return err_set(err, ERR_INVALID, "visibility timeout %d s is outside 0..%d", vis,
                       MAX_VISIBILITY);
    wait = wait < 0 ? 0 : wait > MAX_WAIT ? MAX_WAIT : wait;
    json_t *body = json_pack("{s:s,s:i,s:i,s:i,s:[s],s:[s]}", "QueueUrl", url,
                             "MaxNumberOfMessages", (int)(max > BATCH_MAX ? BATCH_MAX : max),
                             "VisibilityTimeout", vis, "WaitTimeSeconds", wait,
                             "MessageSystemAttributeNames", "ApproximateReceiveCount",
                             "AttributeNames", "ApproximateReceiveCount");
    /* A long poll holds the reply for up to wait seconds. */
    err_code_t rc = sqs_call(q->c, "ReceiveMessage", body, wait ? (wait + 15) * 1000L : 0,
                             &reply, err);
    if (rc == ERR_OK)
        rc = parse_messages(reply, out, n, err);
    json_decref(reply);
    return rc;
}

static err_code_t sqs_receive(queue_t *base, size_t max, int vis, int wait,
                              queue_msg_t **out, size_t *n, err_t *err)
{
    sqs_t *q = (sqs_t *)base;
    return receive_from(q, q->url, max, vis, wait, out, n, err);
}

/* ---- receipts ---- */

/* A call about one receipt: a stale receipt becomes ERR_NOTFOUND. */
static err_code_t receipt_call(sqs_t *q, const char *op, json_t *body, err_t *err)
{
    err_t e;
    err_clear(&e);
    err_code_t rc = sqs_call(q->c, op, body, 0, NULL, &e);
    if (rc != ERR_OK && receipt_stale(&e))
        rc = e.code = ERR_NOTFOUND;
    if (rc != ERR_OK && err)
        *err = e;
    return rc;
}

static err_code_t sqs_change_visibility(queue_t *base, const char *receipt, int secs,
                                        err_t *err)
{
    sqs_t *q = (sqs_t *)base;
    if (!receipt || secs < 0 || secs > MAX_VISIBILITY)
        return err_set(err, ERR_INVALID, "change visibility: no receipt, or %d s is "
                       "outside 0..%d", secs, MAX_VISIBILITY);
    return receipt_call(q, "ChangeMessageVisibility",
                        json_pack("{s:s,s:s,s:i}", "QueueUrl", q->url, "ReceiptHandle",
                                  receipt, "VisibilityTimeout", secs), err);
}

static err_code_t sqs_delete(queue_t *base, const char *receipt, err_t *err)
{
    sqs_t *q = (sqs_t *)base;
    if (!receipt)
        return err_set(err, ERR_INVALID, "delete: no receipt");
    return receipt_call(q, "DeleteMessage",
                        json_pack("{s:s,s:s}", "QueueUrl", q->url, "ReceiptHandle", receipt),
                        err);
}

typedef struct {
    const char *const *receipts;
    int secs;
} receipts_ctx_t;

static json_t *vis_entry(void *ctx, size_t i)
{
    receipts_ctx_t *v = ctx;
    return json_pack("{s:s,s:i}", "ReceiptHandle", v->receipts[i], "VisibilityTimeout",
                     v->secs);
}

static json_t *delete_entry(void *ctx, size_t i)
{
    receipts_ctx_t *v = ctx;
    return json_pack("{s:s}", "ReceiptHandle", v->receipts[i]);
}

/* One batch operation over n receipts, in calls of up to 10; stale (may be
 * NULL) as in queue_sqs_change_visibility_batch. */
static err_code_t receipts_batch(sqs_t *q, const char *op, const char *prefix,
                                 json_t *(*entry)(void *, size_t),
                                 const char *const *receipts, size_t n, int secs,
                                 int *stale, err_t *err)
{
    int *marks = stale ? stale : calloc(n + 1, sizeof *marks);
    receipts_ctx_t ctx = {receipts, secs};
    batch_t b = {op, prefix, entry, NULL, &ctx, marks};
    size_t idx[BATCH_MAX];
    err_code_t rc = ERR_OK;
    if (!marks)
        return err_set(err, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        marks[i] = 0;
        if (!receipts[i])
            rc = err_set(err, ERR_INVALID, "receipt %zu is missing", i);
    }
    for (size_t at = 0; rc == ERR_OK && at < n; at += BATCH_MAX) {
        size_t k = n - at < BATCH_MAX ? n - at : BATCH_MAX;
        for (size_t j = 0; j < k; j++)
            idx[j] = at + j;
        rc = batch_run(q->c, q->url, &b, idx, k, err);
    }
    if (!stale)
        free(marks);
    return rc;
}

err_code_t queue_sqs_change_visibility_batch(queue_t *base, const char *const *receipts,
                                             size_t n, int secs, int *stale, err_t *err)
{
    if (secs < 0 || secs > MAX_VISIBILITY)
        return err_set(err, ERR_INVALID, "visibility %d s is outside 0..%d", secs,
                       MAX_VISIBILITY);
    return receipts_batch((sqs_t *)base, "ChangeMessageVisibilityBatch", "v", vis_entry,
                          receipts, n, secs, stale, err);
}

static err_code_t sqs_delete_batch(queue_t *base, const char *const *receipts, size_t n,
                                   int *stale, err_t *err)
{
    return receipts_batch((sqs_t *)base, "DeleteMessageBatch", "d", delete_entry, receipts,
                          n, 0, stale, err);
}

/* ---- stats and the dead-letter queue ---- */

static err_code_t sqs_stats(queue_t *base, queue_stats_t *st, err_t *err)
{
    static const char *const names[] = {
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    };
    sqs_t *q = (sqs_t *)base;
    int64_t v[3] = {0}, d[2] = {0};
    err_code_t rc = sqs_counts(q->c, q->url, names, 3, v, err);
    if (rc == ERR_OK && q->dlq_url)
        rc = sqs_counts(q->c, q->dlq_url, names, 1, d, err);   /* not yet taken */
    if (rc != ERR_OK)
        return rc;
    *st = (queue_stats_t){v[0], v[1], v[2], d[0]};
    return ERR_OK;
}

/* Dead letters are received with a 12-hour visibility and left in the DLQ,
 * as the SQLite queue keeps its dead-letter rows: the worker marks their
 * jobs failed from what this returns, people can still inspect them, and a
 * worker that dies in between sees them again later instead of losing the
 * failure. */
static err_code_t sqs_take_dead(queue_t *base, size_t max, queue_msg_t **out, size_t *n,
                                err_t *err)
{
    sqs_t *q = (sqs_t *)base;
    queue_msg_t *all = NULL;
    size_t got = 0;
    err_code_t rc = ERR_OK;
    *out = NULL;
    *n = 0;
    while (q->dlq_url && got < max) {
        queue_msg_t *m = NULL;
        size_t k = 0;
        rc = receive_from(q, q->dlq_url, max - got, DEAD_VISIBILITY, 0, &m, &k, err);
        if (rc != ERR_OK || k == 0)
            break;
        queue_msg_t *grown = realloc(all, (got + k) * sizeof *all);
        if (!grown) {
            queue_msgs_free(m, k);
            rc = err_set(err, ERR_NOMEM, "out of memory");
            break;
        }
        all = grown;
        memcpy(all + got, m, k * sizeof *m);
        free(m);
        got += k;
    }
    if (got == 0) {
        free(all);
        return rc;
    }
    /* What was taken stays in the DLQ for people to inspect (14 days), hidden
     * for DEAD_VISIBILITY; if it shows up again the worker's second
     * "mark failed" is a harmless no-op.  Return it even after an error. */
    *out = all;
    *n = got;
    return ERR_OK;
}

static void sqs_close(queue_t *base)
{
    sqs_t *q = (sqs_t *)base;
    aws_client_free(q->c);
    for (int i = 0; i < SEND_PARALLEL - 1; i++)
        aws_client_free(q->extra[i]);
    free(q->base_url);
    free(q->region);
    free(q->url);
    free(q->dlq_url);
    free(q);
}

const queue_ops_t sqs_queue_ops = {
    .send_batch = sqs_send_batch,
    .receive = sqs_receive,
    .change_visibility = sqs_change_visibility,
    .delete_msg = sqs_delete,
    .stats = sqs_stats,
    .take_dead = sqs_take_dead,
    .close = sqs_close,
    .delete_batch = sqs_delete_batch,
    .send_delayed = sqs_send_delayed,
};
