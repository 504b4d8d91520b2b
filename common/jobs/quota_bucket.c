/* quota_bucket — the shared quota's token bucket (see quota_bucket.h).
 *
 * The bucket holds a grant's worth and one token more: a grant is what a
 * worker asks for, and the extra token absorbs part of the moments between
 * the bucket filling and the next worker's take (a ledger round trip),
 * which would otherwise be quota thrown away.  The rate's steps are ratelimit.c's, so one worker
 * with --quota-rpm behaves like one with --rpm. */
#include "jobs/quota_bucket.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CUT 0.7
#define KNEE_MARGIN 0.95
#define RETURN 0.3
#define PROBE 1.01
#define HOLD_MS 1000
#define STEPS_MAX 1000      /* successes applied from one report at most */

static double floor_of(double ceiling)
{
    double f = fmax(ceiling / 50, 0.5);
    return f > ceiling ? ceiling : f;
}

static double capacity(const quota_bucket_t *b) { return quota_bucket_burst(b) + 1.0; }

/* The rate never goes above this: a quota counted over a rolling window
 * refuses the calls a bucket's burst puts above the window's share, and a
 * 429 costs a second at 0.7 of the rate; running 3 % under the quota costs
 * less than the cuts running at it would. */
static double top(const quota_bucket_t *b) { return b->ceiling * QUOTA_HEADROOM; }

void quota_bucket_init(quota_bucket_t *b, double quota_rpm, int64_t now_ms)
{
    memset(b, 0, sizeof *b);
    b->ceiling = b->knee = quota_rpm;
    b->rate = top(b);
    b->last_ms = now_ms;
    b->tokens = quota_bucket_burst(b);
}

int quota_bucket_burst(const quota_bucket_t *b)
{
    double n = floor(b->ceiling / 60.0 * QUOTA_GRANT_S);
    if (!(n >= 1))
        return 1;
    return n > QUOTA_GRANT_MAX ? QUOTA_GRANT_MAX : (int)n;
}


static void give_back(quota_bucket_t *b, int n)
{
    b->tokens += n;
    if (b->tokens > capacity(b))
        b->tokens = capacity(b);
}

static void drop_grant(quota_bucket_t *b, int i)
{
    b->grants[i] = b->grants[--b->ngrants];
}

/* Settles the owner's grant and returns the expired ones. */
static void settle(quota_bucket_t *b, const quota_take_t *t, int64_t now_ms)
{
    for (int i = 0; i < b->ngrants;) {
        quota_grant_t *g = &b->grants[i];
        if (t->owner && strcmp(g->owner, t->owner) == 0) {
            int back = t->unused < 0 ? 0 : t->unused > g->n ? g->n : t->unused;
            give_back(b, back);
            drop_grant(b, i);
        } else if (g->expires_ms <= now_ms) {
            give_back(b, g->n);
            drop_grant(b, i);
        } else {
            i++;
        }
    }
}

static void refill(quota_bucket_t *b, int64_t now_ms)
{
    /* A clock behind the last writer's earns nothing until it catches up:
     * time never runs backwards for the bucket. */
    if (now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) * b->rate / 60000.0;
        if (b->tokens > capacity(b))
            b->tokens = capacity(b);
        b->last_ms = now_ms;
    }
}

static void adapt(quota_bucket_t *b, const quota_take_t *t, int64_t now_ms)
{
    if (t->throttled > 0 && now_ms >= b->hold_until_ms) {
        /* Several workers see the same overload at once: one cut a second. */
        b->knee = b->rate;
        b->rate = fmax(b->rate * CUT, floor_of(b->ceiling));
        b->hold_until_ms = now_ms + HOLD_MS;
        b->cuts++;
        return;
    }
    if (now_ms < b->hold_until_ms)
        return;
    int steps = t->succeeded < STEPS_MAX ? t->succeeded : STEPS_MAX;
    for (int i = 0; i < steps && b->rate < top(b); i++) {
        double target = b->knee * KNEE_MARGIN;
        if (b->rate < target)
            b->rate = fmax(b->rate + (target - b->rate) * RETURN, b->rate * PROBE);
        else
            b->rate *= PROBE;
    }
    b->rate = fmin(b->rate, top(b));
}

int quota_bucket_take(quota_bucket_t *b, const quota_take_t *t, double quota_rpm,
                      int64_t now_ms, int64_t *wait_ms)
{
    if (wait_ms)
        *wait_ms = 0;
    if (quota_rpm > 0 && quota_rpm != b->ceiling) {
        b->ceiling = quota_rpm;
        if (b->rate > top(b))
            b->rate = top(b);
        if (b->knee > quota_rpm || b->knee <= 0)
            b->knee = quota_rpm;
        if (b->rate < floor_of(quota_rpm))
            b->rate = floor_of(quota_rpm);
    }
    refill(b, now_ms);
    settle(b, t, now_ms);
    adapt(b, t, now_ms);

    int need = t->want < quota_bucket_burst(b) ? t->want : quota_bucket_burst(b);
    if (need <= 0)
        return 0;
    if (b->tokens + 1e-9 >= need && b->ngrants < QUOTA_MAX_GRANTS && t->owner &&
        strlen(t->owner) < QUOTA_OWNER_MAX) {
        quota_grant_t *g = &b->grants[b->ngrants++];
        memset(g, 0, sizeof *g);
        memcpy(g->owner, t->owner, strlen(t->owner));
        g->n = need;
        g->expires_ms = now_ms + QUOTA_LEASE_MS;
        b->tokens -= need;
        if (b->tokens < 0)
            b->tokens = 0;
        b->granted += need;
        return need;
    }
    if (wait_ms) {
        double missing = need - b->tokens;
        int64_t w = (int64_t)ceil(missing * 60000.0 / b->rate);
        if (b->ngrants >= QUOTA_MAX_GRANTS) {
            /* Full of grants: the soonest expiry frees one. */
            int64_t soon = INT64_MAX;
            for (int i = 0; i < b->ngrants; i++)
                if (b->grants[i].expires_ms < soon)
                    soon = b->grants[i].expires_ms;
            if (soon - now_ms > w)
                w = soon - now_ms;
        }
        *wait_ms = w < 1 ? 1 : w;
    }
    return 0;
}

int quota_bucket_outstanding(const quota_bucket_t *b, int64_t now_ms)
{
    int n = 0;
    for (int i = 0; i < b->ngrants; i++)
        if (b->grants[i].expires_ms > now_ms)
            n += b->grants[i].n;
    return n;
}

char *quota_bucket_encode(const quota_bucket_t *b)
{
    json_t *g = json_array(), *o;
    if (!g)
        return NULL;
    for (int i = 0; i < b->ngrants; i++)
        if (json_array_append_new(g, json_pack("[s, i, I]", b->grants[i].owner,
                                               b->grants[i].n,
                                               (json_int_t)b->grants[i].expires_ms))) {
            json_decref(g);
            return NULL;
        }
    o = json_pack("{s:f, s:f, s:f, s:f, s:I, s:I, s:I, s:I, s:o}", "ceiling", b->ceiling,
                  "rate", b->rate, "knee", b->knee, "tokens", b->tokens,
                  "last_ms", (json_int_t)b->last_ms, "hold_until_ms",
                  (json_int_t)b->hold_until_ms, "cuts", (json_int_t)b->cuts, "granted",
                  (json_int_t)b->granted, "grants", g);
    if (!o)
        return NULL;
    char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(o);
    return s;
}

static err_code_t get_num(json_t *o, const char *name, double *out, err_t *err)
{
    json_t *v = json_object_get(o, name);
    if (!json_is_number(v))
        return err_set(err, ERR_INVALID, "quota bucket: %s: expected a number", name);
    *out = json_number_value(v);
    if (!isfinite(*out) || *out < 0)
        return err_set(err, ERR_INVALID, "quota bucket: %s: expected a finite number >= 0",
                       name);
    return ERR_OK;
}

static err_code_t get_int(json_t *o, const char *name, int64_t *out, err_t *err)
{
    json_t *v = json_object_get(o, name);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return err_set(err, ERR_INVALID, "quota bucket: %s: expected an integer >= 0", name);
    *out = json_integer_value(v);
    return ERR_OK;
}

static err_code_t read_grants(json_t *a, quota_bucket_t *b, err_t *err)
{
    size_t i;
    json_t *g;
    if (!json_is_array(a) || json_array_size(a) > QUOTA_MAX_GRANTS)
        return err_set(err, ERR_INVALID, "quota bucket: grants: expected an array of at "
                       "most %d", QUOTA_MAX_GRANTS);
    json_array_foreach(a, i, g) {
        json_t *owner = json_array_get(g, 0), *n = json_array_get(g, 1),
               *exp = json_array_get(g, 2);
        quota_grant_t *q = &b->grants[i];
        if (json_array_size(g) != 3 || !json_is_string(owner) ||
            json_string_length(owner) >= QUOTA_OWNER_MAX || !json_is_integer(n) ||
            json_integer_value(n) < 0 || json_integer_value(n) > QUOTA_GRANT_MAX ||
            !json_is_integer(exp))
            return err_set(err, ERR_INVALID, "quota bucket: grants[%zu]: expected "
                           "[owner, tokens 0..%d, expiry ms]", i, QUOTA_GRANT_MAX);
        memset(q, 0, sizeof *q);
        memcpy(q->owner, json_string_value(owner), json_string_length(owner));
        q->n = (int)json_integer_value(n);
        q->expires_ms = json_integer_value(exp);
    }
    b->ngrants = (int)json_array_size(a);
    return ERR_OK;
}

err_code_t quota_bucket_decode(const char *text, quota_bucket_t *b, err_t *err)
{
    json_error_t je;
    json_t *o;
    err_code_t rc;

    memset(b, 0, sizeof *b);
    if (!text || strlen(text) > QUOTA_STATE_MAX)
        return err_set(err, ERR_INVALID, "quota bucket: missing or longer than %d bytes",
                       QUOTA_STATE_MAX);
    if (!(o = json_loads(text, JSON_REJECT_DUPLICATES, &je)) || !json_is_object(o)) {
        json_decref(o);
        return err_set(err, ERR_INVALID, "quota bucket: not a JSON object");
    }
    if ((rc = get_num(o, "ceiling", &b->ceiling, err)) == ERR_OK &&
        (rc = get_num(o, "rate", &b->rate, err)) == ERR_OK &&
        (rc = get_num(o, "knee", &b->knee, err)) == ERR_OK &&
        (rc = get_num(o, "tokens", &b->tokens, err)) == ERR_OK &&
        (rc = get_int(o, "last_ms", &b->last_ms, err)) == ERR_OK &&
        (rc = get_int(o, "hold_until_ms", &b->hold_until_ms, err)) == ERR_OK &&
        (rc = get_int(o, "cuts", &b->cuts, err)) == ERR_OK &&
        (rc = get_int(o, "granted", &b->granted, err)) == ERR_OK)
        rc = read_grants(json_object_get(o, "grants"), b, err);
    if (rc == ERR_OK && (!(b->ceiling > 0) || !(b->rate > 0)))
        rc = err_set(err, ERR_INVALID, "quota bucket: ceiling and rate must be above 0");
    json_decref(o);
    return rc;
}
