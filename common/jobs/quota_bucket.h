/* quota_bucket — the arithmetic of the shared Bedrock quota (issue 21): one
 * token bucket per model that every worker takes grants from, kept in the
 * ledger as text (quota_bucket_encode) and changed only by a
 * read-modify-conditional-write (jobs/quota_shared.c).  Pure: no I/O, and
 * the time is always the caller's, so tests drive it with a fake clock.
 *
 * The bucket fills at `rate` calls a minute up to `burst` tokens.  A worker
 * takes a grant of a few tokens at once (so a generation costs a fraction
 * of a ledger call) and spends them right away.  Every grant is recorded
 * with its owner and a short lease: the owner's next take hands back what
 * it did not use, and a grant whose lease ran out (its worker died, or
 * stalled) goes back to the bucket, so a dead worker strands nothing.
 * The rate adapts as ratelimit.c's does, but for everyone at once: a 429
 * any worker reports cuts it (× 0.7, one cut a second) and the successes
 * all workers report bring it back to just under where the 429 came, then
 * probe past it, never above QUOTA_HEADROOM of the ceiling (the account's
 * quota). */
#ifndef ONESHEET_QUOTA_BUCKET_H
#define ONESHEET_QUOTA_BUCKET_H

#include "base/err.h"

#include <stdbool.h>
#include <stdint.h>

#define QUOTA_MAX_GRANTS 64     /* grants outstanding at once (one per worker) */
#define QUOTA_OWNER_MAX 96      /* bytes of an owner id, NUL included */
#define QUOTA_GRANT_S 0.5       /* a grant holds at most this long at the rate */
#define QUOTA_GRANT_MAX 32      /* and never more tokens than this */
#define QUOTA_LEASE_MS 2000     /* a grant not settled by then goes back */
#define QUOTA_STATE_MAX 8192    /* the encoded state is never longer */
#define QUOTA_HEADROOM 0.97     /* the rate stays this share of the quota at most */

typedef struct {
    char owner[QUOTA_OWNER_MAX];
    int n;                      /* tokens granted, not yet settled */
    int64_t expires_ms;
} quota_grant_t;

typedef struct {
    double ceiling;             /* the quota, calls a minute */
    double rate;                /* the shared rate now (AIMD), <= ceiling × headroom */
    double knee;                /* the rate the last 429 came at */
    double tokens;              /* may be fractional; <= burst */
    int64_t last_ms;            /* wall-clock ms of the last refill */
    int64_t hold_until_ms;      /* no change of rate before this (after a cut) */
    int64_t cuts;               /* 429 cuts so far */
    int64_t granted;            /* tokens granted so far (for the curious) */
    int ngrants;
    quota_grant_t grants[QUOTA_MAX_GRANTS];
} quota_bucket_t;

/* One worker's take: what it reports since its last one, and what it asks. */
typedef struct {
    const char *owner;          /* the worker's id (< QUOTA_OWNER_MAX bytes) */
    int want;                   /* tokens it can spend now (0: only report) */
    int unused;                 /* of its previous grant, tokens not spent */
    int succeeded, throttled;   /* calls that went through / drew a 429 */
} quota_take_t;

/* A full bucket for quota_rpm calls a minute (> 0) at now_ms. */
void quota_bucket_init(quota_bucket_t *b, double quota_rpm, int64_t now_ms);

/* The most tokens one grant holds at the bucket's ceiling: QUOTA_GRANT_S of
 * it, from 1 to QUOTA_GRANT_MAX.  The bucket holds one token more. */
int quota_bucket_burst(const quota_bucket_t *b);

/* Applies t at now_ms: settles the owner's previous grant (its unused
 * tokens come back), returns expired grants of anyone, applies the
 * reported 429s and successes to the rate, refills, and grants
 * min(t->want, burst) tokens when that many are there (fewer are never
 * granted, so grants stay whole).  Returns the tokens granted; when 0 and
 * t->want > 0, *wait_ms (may be NULL) says how long until enough will be
 * there at the current rate.  The ceiling becomes quota_rpm when it is >
 * 0 (the last worker's setting wins).  A table full of grants grants
 * nothing until one settles or expires. */
int quota_bucket_take(quota_bucket_t *b, const quota_take_t *t, double quota_rpm,
                      int64_t now_ms, int64_t *wait_ms);

/* Tokens held by unexpired grants at now_ms. */
int quota_bucket_outstanding(const quota_bucket_t *b, int64_t now_ms);

/* The bucket as compact JSON text for the ledger: a new string (caller
 * frees), NULL when out of memory. */
char *quota_bucket_encode(const quota_bucket_t *b);

/* Reads what quota_bucket_encode wrote.  Bad text (not JSON, a member
 * missing or of the wrong type, a negative or non-finite number, too many
 * grants) is ERR_INVALID naming the member; *b is then unspecified. */
err_code_t quota_bucket_decode(const char *text, quota_bucket_t *b, err_t *err);

#endif
