/* quota_shared — one worker's side of the shared Bedrock quota (issue 21):
 * a small local pool of tokens filled by grants from the bucket in the
 * ledger (jobs/quota_bucket.h), and the reports that make the bucket's
 * rate follow the service (successes and 429s).
 *
 * A generation takes a token from the pool; when the pool is empty the
 * client takes a grant of up to QUOTA_GRANT_S of the quota in one
 * read-modify-conditional-write of the bucket (retried when another worker
 * wrote first), handing back what its previous grant left unused and
 * reporting what happened since.  A 429 empties the pool and makes the
 * next try report at once, so a cut reaches every worker within one grant.
 * Tokens are spent only within their lease (a margin before the bucket
 * would take them back), so a token is never spent twice.
 *
 * Thread-safe: one mutex guards the pool and the ledger handle, which the
 * client borrows and uses only under it. */
#ifndef ONESHEET_QUOTA_SHARED_H
#define ONESHEET_QUOTA_SHARED_H

#include "base/err.h"
#include "ledger/ledger.h"

#include <stdint.h>

typedef struct quota_shared quota_shared_t;

/* Wall-clock milliseconds (the bucket's time is shared between hosts);
 * NULL selects CLOCK_REALTIME. */
typedef int64_t (*quota_clock_fn)(void *ud);

/* What a client has seen, for metrics and logs. */
typedef struct {
    double rate, ceiling;       /* the shared rate and quota at the last take, a minute */
    int64_t cuts;               /* the bucket's 429 cuts so far (every worker's) */
    int64_t reads;              /* bucket reads (one a take, granted or not) */
    int64_t takes, conflicts;   /* ledger writes made / lost to another worker;
                                 * a take that grants and reports nothing
                                 * writes nothing */
    int64_t granted;            /* tokens this client was granted */
    int64_t errors;             /* ledger calls that failed */
    int pool;                   /* tokens in hand now */
} quota_shared_stats_t;

/* A client of bucket key (a model id) with the account's quota_rpm (> 0)
 * calls a minute, as owner (the worker's id, < QUOTA_OWNER_MAX bytes).
 * Borrows l (a connection of its own, used only under the client's lock)
 * until quota_shared_free.  NULL on out of memory or a bad argument. */
quota_shared_t *quota_shared_new(ledger_t *l, const char *key, double quota_rpm,
                                 const char *owner, quota_clock_fn clock, void *clock_ud);

/* Hands back the pool's tokens and the reports not yet made (one ledger
 * write, errors ignored: the grant's lease returns them anyway), then
 * frees q.  NULL is fine. */
void quota_shared_free(quota_shared_t *q);

/* Takes one token for a generation that can start now; `ready` (>= 1) is
 * how many could start now, which sizes the grant asked for.  Returns 0
 * when the call may go (the token is spent), else how many ms to wait
 * before asking again (nothing taken).  A failed ledger call is a wait of
 * a second with err set (the caller logs it): without the bucket no call
 * goes, so the quota is never exceeded. */
int64_t quota_shared_try(quota_shared_t *q, int ready, err_t *err);

/* Puts back a token quota_shared_try gave that was not spent (another
 * limiter said wait). */
void quota_shared_untake(quota_shared_t *q);

/* A generation went through / drew a 429.  Counted locally and reported
 * with the next take; a 429 also empties the pool, so that take is the
 * next try. */
void quota_shared_succeeded(quota_shared_t *q);
void quota_shared_throttled(quota_shared_t *q);

/* Hands back the tokens in hand and settles this client's grant in the
 * bucket (one ledger write; nothing when it holds no grant and has nothing
 * to report).  For a worker going idle: a grant left to its lease would be
 * given back whole when the lease ends, tokens spent from it included, so
 * the quota would be exceeded by what was spent.  err: a failed ledger
 * call (the grant then ends with its lease). */
void quota_shared_settle(quota_shared_t *q, err_t *err);

/* The key this client takes from (borrowed). */
const char *quota_shared_key(const quota_shared_t *q);

/* A copy of the client's counters. */
void quota_shared_stats(quota_shared_t *q, quota_shared_stats_t *out);

#endif
