/* quota_shared — a worker's pool of shared-quota tokens (see quota_shared.h). */
#include "jobs/quota_shared.h"
#include "jobs/quota_bucket.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CAS_TRIES 16          /* a take lost to other workers this often gives up */
#define SPEND_MARGIN_MS 300   /* tokens are spent this long before their lease ends */
#define ERROR_WAIT_MS 1000

struct quota_shared {
    pthread_mutex_t mu;
    ledger_t *l;
    char *key, *owner;
    double quota_rpm;
    quota_clock_fn clock;
    void *clock_ud;
    int pool;                 /* tokens in hand */
    int64_t pool_until_ms;    /* spend them before this */
    bool holding;             /* the bucket lists a grant of ours not yet settled */
    int unused;               /* tokens of the last grant dropped unspent */
    int succeeded, throttled; /* not yet reported */
    int64_t next_ask_ms;      /* the bucket said: not enough before this */
    quota_bucket_t b;         /* scratch for the read-modify-write */
    quota_shared_stats_t st;
};

static int64_t wall_ms(void *ud)
{
    (void)ud;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

quota_shared_t *quota_shared_new(ledger_t *l, const char *key, double quota_rpm,
                                 const char *owner, quota_clock_fn clock, void *clock_ud)
{
    if (!l || !key || !*key || strlen(key) > LEDGER_QUOTA_KEY_MAX || !owner || !*owner ||
        strlen(owner) >= QUOTA_OWNER_MAX || !(quota_rpm > 0))
        return NULL;
    quota_shared_t *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    if (!(q->key = strdup(key)) || !(q->owner = strdup(owner))) {
        free(q->key);
        free(q);
        return NULL;
    }
    pthread_mutex_init(&q->mu, NULL);
    q->l = l;
    q->quota_rpm = quota_rpm;
    q->clock = clock ? clock : wall_ms;
    q->clock_ud = clock_ud;
    q->st.rate = q->st.ceiling = quota_rpm;
    return q;
}

/* Drops pool tokens whose lease is about to end (under mu). */
static void expire_pool(quota_shared_t *q, int64_t now)
{
    if (q->pool > 0 && now >= q->pool_until_ms) {
        q->unused += q->pool;
        q->pool = 0;
    }
}

/* One take from the bucket: reports, hands back q->unused, asks for want.
 * Returns the tokens granted; *wait_ms when none.  Under mu. */
static err_code_t take(quota_shared_t *q, int want, int *granted, int64_t *wait_ms,
                       err_t *err)
{
    *granted = 0;
    *wait_ms = 0;
    for (int i = 0; i < CAS_TRIES; i++) {
        ledger_quota_t row;
        int64_t now = q->clock(q->clock_ud), version = 0;
        err_code_t rc = ledger_quota_get(q->l, q->key, &row, err);
        if (rc == ERR_NOTFOUND) {
            err_clear(err);   /* the first take of a bucket makes it */
            quota_bucket_init(&q->b, q->quota_rpm, now);
        } else if (rc != ERR_OK) {
            q->st.errors++;
            return rc;
        } else {
            version = row.version;
            /* A bucket nobody can read is started afresh (full): the
             * alternative is no worker ever generating again. */
            err_t ignored;
            err_clear(&ignored);
            if (quota_bucket_decode(row.state, &q->b, &ignored) != ERR_OK)
                quota_bucket_init(&q->b, q->quota_rpm, now);
            ledger_quota_free(&row);
        }
        quota_take_t t = {.owner = q->owner, .want = want, .unused = q->unused,
                          .succeeded = q->succeeded, .throttled = q->throttled};
        int64_t wait = 0;
        int n = quota_bucket_take(&q->b, &t, q->quota_rpm, now, &wait);
        q->st.reads++;
        if (n == 0 && !q->unused && !q->throttled && version > 0 && want > 0) {
            /* Nothing granted, no 429 and no tokens to hand back: the
             * refill and the expiries this take computed are recomputed by
             * the next one from the stored state, and successes wait for
             * the next grant's write, so there is nothing to write. */
            *wait_ms = wait;
            q->st.rate = q->b.rate;
            q->st.cuts = q->b.cuts;
            return ERR_OK;
        }
        char *text = quota_bucket_encode(&q->b);
        if (!text)
            return err_set(err, ERR_NOMEM, "out of memory");
        rc = ledger_quota_put(q->l, q->key, version, text, now, err);
        free(text);
        q->st.takes++;
        if (rc == ERR_CONFLICT) {
            err_clear(err);
            q->st.conflicts++;
            continue;
        }
        if (rc != ERR_OK) {
            q->st.errors++;
            return rc;
        }
        q->unused = q->succeeded = q->throttled = 0;
        /* The write settled our previous grant (quota_bucket_take drops an
         * owner's grant on its next take); a new one may stand in for it. */
        q->holding = n > 0;
        q->st.rate = q->b.rate;
        q->st.ceiling = q->b.ceiling;
        q->st.cuts = q->b.cuts;
        q->st.granted += n;
        if (n > 0) {
            q->pool += n;
            q->pool_until_ms = now + QUOTA_LEASE_MS - SPEND_MARGIN_MS;
        }
        *granted = n;
        *wait_ms = wait;
        return ERR_OK;
    }
    /* Every try lost a race: the bucket is busy, which is a wait, not an
     * error. */
    *wait_ms = 5 + rand() % 20;
    return ERR_OK;
}

int64_t quota_shared_try(quota_shared_t *q, int ready, err_t *err)
{
    int64_t wait = 0;
    pthread_mutex_lock(&q->mu);
    int64_t now = q->clock(q->clock_ud);
    expire_pool(q, now);
    if (q->pool == 0) {
        if (now < q->next_ask_ms) {
            wait = q->next_ask_ms - now;
        } else {
            int granted = 0;
            if (take(q, ready < 1 ? 1 : ready, &granted, &wait, err) != ERR_OK) {
                wait = ERROR_WAIT_MS;
                q->next_ask_ms = now + wait;
            } else if (granted == 0) {
                q->next_ask_ms = now + wait;
            }
        }
    }
    if (q->pool > 0) {
        q->pool--;
        wait = 0;
    } else if (wait < 1) {
        wait = 1;
    }
    q->st.pool = q->pool;
    pthread_mutex_unlock(&q->mu);
    return wait;
}

void quota_shared_untake(quota_shared_t *q)
{
    pthread_mutex_lock(&q->mu);
    if (q->clock(q->clock_ud) < q->pool_until_ms)
        q->pool++;
    else
        q->unused++;
    q->st.pool = q->pool;
    pthread_mutex_unlock(&q->mu);
}

void quota_shared_succeeded(quota_shared_t *q)
{
    pthread_mutex_lock(&q->mu);
    q->succeeded++;
    pthread_mutex_unlock(&q->mu);
}

void quota_shared_throttled(quota_shared_t *q)
{
    pthread_mutex_lock(&q->mu);
    q->throttled++;
    /* The rate that drew it is gone: what is in hand goes back, and the
     * next try reports the 429 (cutting the shared rate) before it asks. */
    q->unused += q->pool;
    q->pool = 0;
    q->next_ask_ms = 0;
    q->st.pool = 0;
    pthread_mutex_unlock(&q->mu);
}

const char *quota_shared_key(const quota_shared_t *q) { return q->key; }

void quota_shared_stats(quota_shared_t *q, quota_shared_stats_t *out)
{
    pthread_mutex_lock(&q->mu);
    *out = q->st;
    pthread_mutex_unlock(&q->mu);
}

/* Hands back the pool and settles our grant in the bucket (under mu).
 * Successes alone are worth a write only when closing: otherwise they wait
 * for the next take. */
static void settle_locked(quota_shared_t *q, bool closing, err_t *err)
{
    q->unused += q->pool;
    q->pool = 0;
    if (q->holding || q->unused || q->throttled || (closing && q->succeeded)) {
        int granted;
        int64_t wait;
        take(q, 0, &granted, &wait, err);
    }
}

void quota_shared_settle(quota_shared_t *q, err_t *err)
{
    pthread_mutex_lock(&q->mu);
    settle_locked(q, false, err);
    q->st.pool = q->pool;
    pthread_mutex_unlock(&q->mu);
}

void quota_shared_free(quota_shared_t *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    err_t ignored;
    err_clear(&ignored);
    settle_locked(q, true, &ignored);
    pthread_mutex_unlock(&q->mu);
    pthread_mutex_destroy(&q->mu);
    free(q->key);
    free(q->owner);
    free(q);
}
