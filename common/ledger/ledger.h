/* ledger — the durable record of batches and jobs: state, lease, attempts,
 * errors, results and timings.  The queue carries work; the ledger says what
 * happened to it and makes processing idempotent (conditional claim with a
 * lease, conditional completion by the lease owner).
 *
 * Back-ends: ledger_sqlite.c ("sqlite:PATH"), ledger_dynamodb.c
 * ("dynamodb:TABLE").  A ledger_t is used by one thread at a time. */
#ifndef ONESHEET_LEDGER_H
#define ONESHEET_LEDGER_H

#include "base/err.h"

#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef enum {
    JOB_QUEUED, JOB_RUNNING, JOB_SUCCEEDED, JOB_FAILED, JOB_FILTERED,
    JOB_CANCELLED, JOB__NSTATES
} job_state_t;

const char *job_state_name(job_state_t s);      /* "queued", ... */
int job_state_parse(const char *s);             /* -1 when unknown */
bool job_state_terminal(job_state_t s);         /* succeeded/failed/filtered/cancelled */

/* One finished run of a job, archived by retry: what that run ended as.
 * Strings are owned by the enclosing ledger_job_t. */
typedef struct {
    int run;                 /* 1 for the first submission */
    job_state_t state;       /* failed, filtered or cancelled */
    char *error_code, *error_message;
    char *url;
    int claims;              /* claims during that run */
    int64_t started_ms, finished_ms;
} ledger_attempt_t;

/* A job as the ledger holds it.  Strings are owned by the struct (free with
 * ledger_job_free); absent values are NULL / 0. */
typedef struct {
    char *batch_id, *job_id;
    job_state_t state;
    int attempts;            /* claims so far */
    char *spec_json;         /* canonical spec (with id when client-given) */
    int line;                /* source line in the submitted file (0: none) */
    char *lease_owner;
    int64_t lease_expires;   /* unix ms */
    char *error_code, *error_message;
    char *url;               /* result URL (file:// or presigned) */
    char *store_key;         /* where the result lives in the store */
    char *sha256;            /* hex */
    int64_t bytes;
    int64_t seed;
    char *model;
    double cost_usd;
    int64_t created_ms, enqueued_ms, started_ms, finished_ms, updated_ms;
    /* Retry (issue 17): the job's current run (1 for the first submission;
     * retry counts it up) and the runs before it, oldest first.  get_jobs
     * fills history; list may leave it empty. */
    int run;
    ledger_attempt_t *history;
    size_t nhistory;
    /* Issue 21: the poster's checksum as the store holds it (checksum_alg
     * "crc64nvme" or "sha256", checksum its base64 value), and where the
     * engine's art is (art_key: BATCH/JOB.raw.EXT, or the poster's own
     * store_key when the poster is the art plus metadata).  NULL for jobs
     * finished before these were recorded (their art is BATCH/JOB.raw.EXT
     * and sha256 their checksum). */
    char *checksum_alg, *checksum, *art_key;
    /* The worker (lease owner) whose succeed or fail finished the current
     * run; NULL while it is live, and for jobs cancelled or dead-lettered.
     * A finished job has no lease_owner. */
    char *finished_by;
    /* Issue 23: the lifecycle of the job's model as Bedrock listed it when
     * the job finished: "ACTIVE", "LEGACY:YYYY-MM-DD" (its end of life),
     * "unlisted"; NULL when not known (a local engine, no list, an older
     * worker).  Cleared by retry with the rest of the run's result. */
    char *model_lifecycle;
} ledger_job_t;

void ledger_job_free(ledger_job_t *j);
/* The job's error as the JSON object {"code","message"} (either member
 * only when recorded) that the CLI's --json and the API both print; NULL
 * when the job has no error (or out of memory).  New reference. */
json_t *ledger_job_error_json(const ledger_job_t *j);

/* Every run of the job, oldest first, the current one last, as a JSON
 * array of {"run", "state", "claims", "started_ms", "finished_ms",
 * "error": {"code", "message"}, "url"} (members only when recorded): what
 * `status JOB --json` and the API print.  New reference; NULL when out of
 * memory. */
json_t *ledger_job_runs_json(const ledger_job_t *j);

/* A job to add to a batch. */
typedef struct {
    const char *job_id;
    const char *spec_json;
    int line;
} ledger_new_job_t;

typedef struct {
    char *batch_id;
    char *source;            /* file name or "prompt" */
    int64_t created_ms;
    int64_t total;
    int64_t by_state[JOB__NSTATES];
} ledger_batch_t;

void ledger_batch_free(ledger_batch_t *b);

typedef enum {
    CLAIM_OK,        /* the caller now holds the lease; state is running */
    CLAIM_DONE,      /* already in a terminal state (duplicate delivery) */
    CLAIM_HELD,      /* another owner holds an unexpired lease */
    CLAIM_CANCELLED, /* cancelled before it ran */
    CLAIM_NOTFOUND,  /* no such job */
    CLAIM_STALE,     /* the message is of an earlier run than the job's */
} ledger_claim_t;

/* The states retry selects (a bit set).  LEDGER_RETRY_FAILED selects every
 * failed job, dead-lettered ones included ("retry all"); LEDGER_RETRY_DEAD
 * only failed jobs whose error code is LEDGER_DEAD_LETTER (the redrive). */
#define LEDGER_RETRY_FAILED    (1u << 0)
#define LEDGER_RETRY_CANCELLED (1u << 1)
#define LEDGER_RETRY_FILTERED  (1u << 2)
#define LEDGER_RETRY_DEAD      (1u << 3)
#define LEDGER_RETRY_ALL       (0xfu)
/* The error code of a job whose message was dead-lettered. */
#define LEDGER_DEAD_LETTER     "dead_letter"


/* Result of a successful job. */
typedef struct {
    const char *url, *store_key, *sha256, *model;
    int64_t bytes, seed;
    double cost_usd;
    /* As ledger_job_t's (may be NULL: not recorded); sha256 is NULL when
     * the checksum is a CRC. */
    const char *checksum_alg, *checksum, *art_key;
    /* As ledger_job_t's model_lifecycle (NULL: not known). */
    const char *model_lifecycle;
} ledger_result_t;

typedef struct {
    const char *batch_id;     /* NULL: any */
    int state;                /* -1: any */
    int64_t since_ms;         /* 0: any */
    size_t limit;             /* 0: no limit */
    const char *after_job_id; /* pagination: jobs after this (batch, job) */
    const char *after_batch_id;
} ledger_filter_t;

/* A campaign firing's spend, recorded once per (campaign, slot). */
typedef struct {
    const char *campaign;
    const char *slot;         /* ISO 8601 UTC of the scheduled firing */
    const char *month;        /* "YYYY-MM" of the slot (UTC) */
    const char *batch_id;
    double usd;               /* estimated cost reserved for the firing */
    int64_t jobs;
    double month_limit;       /* USD per calendar month; < 0: no limit */
} ledger_spend_t;

/* A worker in the registry (worker liveness).  worker_beat reads it;
 * workers_list returns new ones whose strings the struct owns (free with
 * ledger_workers_free). */
typedef struct {
    char *id;                 /* stable for the process: "HOST:PID:RANDOM" */
    char *host, *version;
    char *models;             /* comma-separated model ids it generates */
    int64_t pid;
    int64_t started_ms, last_seen_ms;   /* unix ms */
    int64_t beat_ms;          /* its heartbeat interval: it is alive while
                               * last seen within LEDGER_WORKER_STALE_BEATS
                               * of them */
    int64_t in_flight, done, failed;
    double rate_per_min;      /* jobs finished a minute, recently */
} ledger_worker_t;

/* A worker is alive while last seen within this many beat intervals. */
#define LEDGER_WORKER_STALE_BEATS 3
/* Registry entries not seen for this long are pruned by workers_list. */
#define LEDGER_WORKER_PRUNE_MS ((int64_t)24 * 3600 * 1000)

/* A job's review mark and lineage (issue 20), as reviews() returns them.
 * Strings owned (ledger_reviews_free).  Lineage references are
 * "BATCH/JOB" (no batch id holds a '/'). */
typedef struct {
    char *batch_id, *job_id;
    char *state;              /* "approved" or "rejected"; NULL: unreviewed */
    char *by;                 /* who marked it */
    int64_t at_ms;            /* when (unix ms) */
    char *promoted_from;      /* "BATCH/JOB" this job was promoted from, or NULL */
    char **promoted_to;       /* "BATCH/JOB" it was promoted to, sorted */
    size_t npromoted_to;
} ledger_review_t;

typedef struct ledger ledger_t;

/* A shared quota bucket as the ledger keeps it (issue 21): one per key (a
 * model id).  state is opaque here (jobs/quota_bucket.c writes and reads
 * it, at most LEDGER_QUOTA_STATE_MAX bytes); version counts the writes from
 * 1, and every write is conditional on it.  Strings owned (ledger_quota_free). */
typedef struct {
    char *key;
    int64_t version;
    char *state;
    int64_t updated_ms;
} ledger_quota_t;

#define LEDGER_QUOTA_STATE_MAX 8192
#define LEDGER_QUOTA_KEY_MAX 256

/* ---- webhooks (outbox) ---- */

/* One webhook event waiting in the outbox (outbox_take).  Strings owned
 * (ledger_events_free). */
typedef struct {
    char *id;                 /* webhook-id, the same on every redelivery */
    char *batch_id, *job_id;  /* job_id NULL for batch.completed */
    char *type;               /* "job.succeeded", ..., "batch.completed" */
    char *payload;            /* the exact JSON body */
    char *url;                /* the receiver */
    int64_t created_ms;       /* when the state changed */
    int attempts;             /* delivery attempts before this one */
} ledger_event_t;

void ledger_events_free(ledger_event_t *v, size_t n);

/* A batch's deliveries, for status.  url NULL when the batch has none. */
typedef struct {
    char *url;
    int64_t delivered, pending, gave_up;
    int64_t next_due_ms;      /* earliest pending try (0: none pending) */
    long last_status;         /* the newest failed attempt's HTTP status */
    char *last_error;         /* and its error (NULL: none) */
} ledger_outbox_summary_t;

void ledger_outbox_summary_free(ledger_outbox_summary_t *s);

typedef struct {
    /* Creates the batch if new (*created = true) and adds the jobs not yet
     * present (*added counts them).  One transaction.  Jobs start queued
     * with enqueued_ms = 0. */
    err_code_t (*add_batch)(ledger_t *l, const char *batch_id, const char *source,
                            const ledger_new_job_t *jobs, size_t n,
                            bool *created, size_t *added, err_t *err);
    /* Lists jobs of the batch still queued and never enqueued (enqueued_ms
     * == 0): the ones a submit must send.  *ids: new array of new strings;
     * *runs (when runs is not NULL): new array of each job's run, which
     * its message must carry. */
    err_code_t (*pending_enqueue)(ledger_t *l, const char *batch_id,
                                  char ***ids, int **runs, size_t *n, err_t *err);
    /* Records that these jobs' messages were sent. */
    err_code_t (*mark_enqueued)(ledger_t *l, const char *batch_id,
                                const char *const *job_ids, size_t n, err_t *err);
    /* Conditional claim of the job's run `run` (the message's; 1 for a
     * message without one): queued, or running with an expired lease (or
     * this owner's), becomes running under owner until now + lease_s;
     * attempts counts up.  A message of an earlier run than the job's is
     * CLAIM_STALE whatever the job's state. */
    err_code_t (*claim)(ledger_t *l, const char *batch_id, const char *job_id,
                        int run, const char *owner, int lease_s, ledger_claim_t *out,
                        err_t *err);
    /* Extends owner's lease; ERR_CONFLICT when the lease was lost. */
    err_code_t (*extend)(ledger_t *l, const char *batch_id, const char *job_id,
                         const char *owner, int lease_s, err_t *err);
    /* Returns a running job to queued after a retryable error, recording the
     * error; ERR_CONFLICT when owner no longer holds it. */
    err_code_t (*release)(ledger_t *l, const char *batch_id, const char *job_id,
                          const char *owner, const char *code, const char *msg,
                          err_t *err);
    /* Marks succeeded with the result; conditional on owner holding the
     * lease and the job running.  ERR_CONFLICT otherwise. */
    err_code_t (*succeed)(ledger_t *l, const char *batch_id, const char *job_id,
                          const char *owner, const ledger_result_t *r, err_t *err);
    /* Marks failed or filtered (state) with an error code and message.  When
     * owner is NULL the job is marked only if not already terminal and its
     * run is `run` (used for dead-lettered messages, whose run is the
     * message's: a dead message of an earlier run is ERR_CONFLICT and
     * changes nothing).  With an owner, run is not checked (the lease is). */
    err_code_t (*fail)(ledger_t *l, const char *batch_id, const char *job_id,
                       int run, const char *owner, job_state_t state, const char *code,
                       const char *msg, err_t *err);
    /* Cancels a job (job_id set) or every non-terminal job of a batch
     * (job_id NULL).  *n counts jobs cancelled.  Running jobs are cancelled
     * too; their worker's succeed() then fails with ERR_CONFLICT. */
    err_code_t (*cancel)(ledger_t *l, const char *batch_id, const char *job_id,
                         size_t *n, err_t *err);
    /* Finds jobs by job id (any batch when batch_id is NULL).  *out: new
     * array (free each with ledger_job_free, then the array). */
    err_code_t (*get_jobs)(ledger_t *l, const char *batch_id, const char *job_id,
                           ledger_job_t **out, size_t *n, err_t *err);
    /* Batch summary; ERR_NOTFOUND when unknown. */
    err_code_t (*get_batch)(ledger_t *l, const char *batch_id, ledger_batch_t *out,
                            err_t *err);
    /* Jobs matching f, ordered by (batch created, line, job id). */
    err_code_t (*list)(ledger_t *l, const ledger_filter_t *f, ledger_job_t **out,
                       size_t *n, err_t *err);
    /* Batches, newest first (limit 0: all). */
    err_code_t (*list_batches)(ledger_t *l, size_t limit, ledger_batch_t **out,
                               size_t *n, err_t *err);
    void (*close)(ledger_t *l);
    /* Optional (NULL when the back-end does not record campaign spend yet).
     * Records s once: when (campaign, slot) is already recorded, *added is
     * false and nothing changes.  Otherwise, when s->month_limit >= 0 and
     * the month's recorded spend plus s->usd would exceed it, nothing is
     * recorded and the answer is ERR_TOOBIG naming the budget.  The check
     * and the write are one transaction, so two firings cannot both slip
     * under the limit.  *month_total (optional) gets the month's spend
     * after the call. */
    err_code_t (*spend_add)(ledger_t *l, const ledger_spend_t *s, bool *added,
                            double *month_total, err_t *err);
    /* Optional.  The spend recorded for campaign in month ("YYYY-MM") into
     * *usd (0 when none). */
    err_code_t (*spend_get)(ledger_t *l, const char *campaign, const char *month,
                            double *usd, err_t *err);

    /* ---- retry (issue 17, item 1) ---- */
    /* Re-opens the job (job_id set) or every job of the batch (job_id NULL)
     * whose state is selected by `states` (LEDGER_RETRY_* bits): each
     * becomes queued with run + 1, enqueued_ms 0 and its lease, error and
     * result cleared, and the run that ended is appended to its history,
     * in one atomic step per job, conditional on the state and run read, so
     * two retries racing re-open a run once.  *n counts jobs re-opened (0
     * is no error: a second retry finds nothing).  ERR_NOTFOUND for an
     * unknown batch or job. */
    err_code_t (*retry)(ledger_t *l, const char *batch_id, const char *job_id,
                        unsigned states, size_t *n, err_t *err);
    /* ---- worker registry (worker liveness) ---- */
    /* Optional (NULL: no registry).  Records w, replacing the entry with
     * the same id (an upsert: register and heartbeat are the same write).
     * ERR_INVALID when id, host or models is empty. */
    err_code_t (*worker_beat)(ledger_t *l, const ledger_worker_t *w, err_t *err);
    /* Removes the entry (a clean stop).  An unknown id is not an error. */
    err_code_t (*worker_leave)(ledger_t *l, const char *id, err_t *err);
    /* Every registered worker, ordered by id; entries last seen more than
     * LEDGER_WORKER_PRUNE_MS before now_ms are deleted first.  *out: new
     * array (free with ledger_workers_free); NULL when *n is 0. */
    err_code_t (*workers_list)(ledger_t *l, int64_t now_ms, ledger_worker_t **out,
                               size_t *n, err_t *err);
    /* ---- webhooks (outbox); optional, all NULL when not kept here ---- */
    /* Sets the batch's webhook URL, before its jobs are added.  The URL is
     * immutable: the same URL again is ERR_OK, another is ERR_CONFLICT
     * naming neither URL's path.  Every later terminal transition of one of
     * the batch's jobs writes its event to the outbox in the same step as
     * the state change, and the one that leaves no queued/running job also
     * writes batch.completed. */
    err_code_t (*set_batch_webhook)(ledger_t *l, const char *batch_id, const char *url,
                                    err_t *err);
    /* Takes up to max events due at now_ms, oldest first, moving each one's
     * due time forward so that another deliverer leaves it alone meanwhile:
     * the k-th taken (from 0) by (k + 1) * lease_ms, the time a deliverer
     * going through them in order needs to reach it, so what a dead
     * deliverer held comes back soon.  *out: new array (ledger_events_free). */
    err_code_t (*outbox_take)(ledger_t *l, int64_t now_ms, int64_t lease_ms, size_t max,
                              ledger_event_t **out, size_t *n, err_t *err);
    /* Records one attempt of event ev (as outbox_take gave it): delivered
     * (due_ms < 0), to be tried again at due_ms (> 0), or given up (due_ms
     * == 0); status and error (may be NULL) describe the attempt.  An event
     * no longer pending is ERR_NOTFOUND. */
    err_code_t (*outbox_record)(ledger_t *l, const ledger_event_t *ev, int64_t due_ms,
                                long status, const char *error, err_t *err);
    /* The batch's webhook and its deliveries (all zero, url NULL, when it
     * has no webhook). */
    err_code_t (*outbox_summary)(ledger_t *l, const char *batch_id,
                                 ledger_outbox_summary_t *out, err_t *err);
    /* ---- review and lineage (issue 20); optional, all NULL or none ---- */
    /* Marks the job `mark` ("approved" or "rejected") by `by` at at_ms,
     * replacing an earlier mark, in one write conditional on the job being
     * succeeded: ERR_CONFLICT ("... is STATE, not succeeded") when it is
     * not, ERR_NOTFOUND for an unknown job, ERR_INVALID for another mark
     * or an empty by. */
    err_code_t (*review)(ledger_t *l, const char *batch_id, const char *job_id,
                         const char *mark, const char *by, int64_t at_ms, err_t *err);
    /* The marks and lineage of the job (job_id set) or of every job of the
     * batch (job_id NULL) that has either, ordered by job id.  *out: new
     * array (ledger_reviews_free); NULL when *n is 0.  An unknown batch or
     * job has none (no error). */
    err_code_t (*reviews)(ledger_t *l, const char *batch_id, const char *job_id,
                          ledger_review_t **out, size_t *n, err_t *err);
    /* Records that from_batch/from_job was promoted to to_batch/to_job:
     * both jobs then show it (promoted_to, promoted_from).  Recording it
     * again changes nothing.  ERR_NOTFOUND when either job is unknown. */
    err_code_t (*link)(ledger_t *l, const char *from_batch, const char *from_job,
                       const char *to_batch, const char *to_job, err_t *err);
    /* ---- shared quota (issue 21); optional, all NULL when not kept ---- */
    /* The bucket of key into *out (free with ledger_quota_free);
     * ERR_NOTFOUND when there is none yet. */
    err_code_t (*quota_get)(ledger_t *l, const char *key, ledger_quota_t *out, err_t *err);
    /* Writes state as key's bucket at version + 1, on condition that the
     * stored version is `version` (0: that there is none): the compare and
     * swap every change of a bucket goes through.  ERR_CONFLICT when
     * another write came first (read again and retry); ERR_INVALID for an
     * empty or over-long key or state. */
    err_code_t (*quota_put)(ledger_t *l, const char *key, int64_t version,
                            const char *state, int64_t now_ms, err_t *err);
    /* Every bucket, ordered by key.  *out: new array (ledger_quotas_free);
     * NULL when *n is 0. */
    err_code_t (*quota_list)(ledger_t *l, ledger_quota_t **out, size_t *n, err_t *err);
    /* ---- model lifecycle (issue 23); optional ---- */
    /* As fail, recording lifecycle (ledger_job_t.model_lifecycle; NULL: not
     * known) in the same conditional update.  NULL when the back-end does
     * not record it: ledger_fail_lifecycle then calls fail. */
    err_code_t (*fail_lifecycle)(ledger_t *l, const char *batch_id, const char *job_id,
                                 int run, const char *owner, job_state_t state,
                                 const char *code, const char *msg,
                                 const char *lifecycle, err_t *err);
} ledger_ops_t;

struct ledger {
    const ledger_ops_t *ops;
};

/* Opens the ledger named by url ("sqlite:PATH", ...) through the back-end
 * table (ledger_backends.c); creates and migrates the schema when needed
 * (file mode 0600).  NULL with err set on failure. */
ledger_t *ledger_open(const char *url, err_t *err);

/* One wrapper per operation; callers never touch ops.  Each does exactly
 * what the ledger_ops_t member of the same name says above. */
static inline err_code_t ledger_add_batch(ledger_t *l, const char *batch_id,
                                          const char *source,
                                          const ledger_new_job_t *jobs, size_t n,
                                          bool *created, size_t *added, err_t *err)
{ return l->ops->add_batch(l, batch_id, source, jobs, n, created, added, err); }
/* runs may be NULL. */
static inline err_code_t ledger_pending_enqueue(ledger_t *l, const char *batch_id,
                                                char ***ids, int **runs, size_t *n,
                                                err_t *err)
{ return l->ops->pending_enqueue(l, batch_id, ids, runs, n, err); }
static inline err_code_t ledger_mark_enqueued(ledger_t *l, const char *batch_id,
                                              const char *const *job_ids, size_t n,
                                              err_t *err)
{ return l->ops->mark_enqueued(l, batch_id, job_ids, n, err); }
static inline err_code_t ledger_claim(ledger_t *l, const char *batch_id,
                                      const char *job_id, int run, const char *owner,
                                      int lease_s, ledger_claim_t *out, err_t *err)
{ return l->ops->claim(l, batch_id, job_id, run, owner, lease_s, out, err); }
/* ERR_CONFLICT when owner lost the lease. */
static inline err_code_t ledger_extend(ledger_t *l, const char *batch_id,
                                       const char *job_id, const char *owner,
                                       int lease_s, err_t *err)
{ return l->ops->extend(l, batch_id, job_id, owner, lease_s, err); }
/* ERR_CONFLICT when owner no longer holds the job. */
static inline err_code_t ledger_release(ledger_t *l, const char *batch_id,
                                        const char *job_id, const char *owner,
                                        const char *code, const char *msg, err_t *err)
{ return l->ops->release(l, batch_id, job_id, owner, code, msg, err); }
/* ERR_CONFLICT unless owner holds the lease of a running job. */
static inline err_code_t ledger_succeed(ledger_t *l, const char *batch_id,
                                        const char *job_id, const char *owner,
                                        const ledger_result_t *r, err_t *err)
{ return l->ops->succeed(l, batch_id, job_id, owner, r, err); }
/* owner NULL: marks the job only if it is not terminal yet and is at run
 * `run`.  (cmocka defines a fail() macro, hence the parentheses.) */
static inline err_code_t ledger_fail(ledger_t *l, const char *batch_id,
                                     const char *job_id, int run, const char *owner,
                                     job_state_t state, const char *code,
                                     const char *msg, err_t *err)
{ return (l->ops->fail)(l, batch_id, job_id, run, owner, state, code, msg, err); }
/* ledger_fail that also records the model's lifecycle (NULL: not known)
 * where the back-end keeps it; the same errors as ledger_fail. */
static inline err_code_t ledger_fail_lifecycle(ledger_t *l, const char *batch_id,
                                               const char *job_id, int run,
                                               const char *owner, job_state_t state,
                                               const char *code, const char *msg,
                                               const char *lifecycle, err_t *err)
{
    if (!l->ops->fail_lifecycle)
        return (l->ops->fail)(l, batch_id, job_id, run, owner, state, code, msg, err);
    return l->ops->fail_lifecycle(l, batch_id, job_id, run, owner, state, code, msg,
                                  lifecycle, err);
}
/* job_id NULL: every non-terminal job of the batch; *n counts them. */
static inline err_code_t ledger_cancel(ledger_t *l, const char *batch_id,
                                       const char *job_id, size_t *n, err_t *err)
{ return l->ops->cancel(l, batch_id, job_id, n, err); }
/* *out: new array; free with ledger_jobs_free. */
static inline err_code_t ledger_get_jobs(ledger_t *l, const char *batch_id,
                                         const char *job_id, ledger_job_t **out,
                                         size_t *n, err_t *err)
{ return l->ops->get_jobs(l, batch_id, job_id, out, n, err); }
/* ERR_NOTFOUND for an unknown batch; free *out with ledger_batch_free. */
static inline err_code_t ledger_get_batch(ledger_t *l, const char *batch_id,
                                          ledger_batch_t *out, err_t *err)
{ return l->ops->get_batch(l, batch_id, out, err); }
/* *out: new array; free with ledger_jobs_free. */
static inline err_code_t ledger_list(ledger_t *l, const ledger_filter_t *f,
                                     ledger_job_t **out, size_t *n, err_t *err)
{ return l->ops->list(l, f, out, n, err); }
/* *out: new array, newest first; free with ledger_batches_free. */
static inline err_code_t ledger_list_batches(ledger_t *l, size_t limit,
                                             ledger_batch_t **out, size_t *n,
                                             err_t *err)
{ return l->ops->list_batches(l, limit, out, n, err); }
/* Whether this back-end records campaign spend (spend_add/spend_get). */
static inline bool ledger_has_spend(const ledger_t *l)
{ return l->ops->spend_add != NULL && l->ops->spend_get != NULL; }
/* ERR_INTERNAL when !ledger_has_spend(l): ask first. */
static inline err_code_t ledger_spend_add(ledger_t *l, const ledger_spend_t *s,
                                          bool *added, double *month_total,
                                          err_t *err)
{
    if (!l->ops->spend_add)
        return err_set(err, ERR_INTERNAL, "ledger: spend is not recorded here");
    return l->ops->spend_add(l, s, added, month_total, err);
}
static inline err_code_t ledger_spend_get(ledger_t *l, const char *campaign,
                                          const char *month, double *usd, err_t *err)
{
    if (!l->ops->spend_get)
        return err_set(err, ERR_INTERNAL, "ledger: spend is not recorded here");
    return l->ops->spend_get(l, campaign, month, usd, err);
}
/* True when j is in a state the LEDGER_RETRY_* bits `states` select: what
 * retry re-opens. */
bool ledger_retry_selects(const ledger_job_t *j, unsigned states);
/* job_id NULL: every selected job of the batch; *n counts those re-opened. */
static inline err_code_t ledger_retry(ledger_t *l, const char *batch_id,
                                      const char *job_id, unsigned states, size_t *n,
                                      err_t *err)
{
    if (!l->ops->retry)
        return err_set(err, ERR_INTERNAL, "ledger: retry is not supported here");
    return l->ops->retry(l, batch_id, job_id, states, n, err);
}
/* Whether this back-end keeps the worker registry. */
static inline bool ledger_has_workers(const ledger_t *l)
{ return l->ops->worker_beat && l->ops->worker_leave && l->ops->workers_list; }
/* ERR_INTERNAL when !ledger_has_workers(l). */
static inline err_code_t ledger_worker_beat(ledger_t *l, const ledger_worker_t *w,
                                            err_t *err)
{
    if (!ledger_has_workers(l))
        return err_set(err, ERR_INTERNAL, "ledger: no worker registry here");
    return l->ops->worker_beat(l, w, err);
}
static inline err_code_t ledger_worker_leave(ledger_t *l, const char *id, err_t *err)
{
    if (!ledger_has_workers(l))
        return err_set(err, ERR_INTERNAL, "ledger: no worker registry here");
    return l->ops->worker_leave(l, id, err);
}
/* *out: new array; free with ledger_workers_free. */
static inline err_code_t ledger_workers_list(ledger_t *l, int64_t now_ms,
                                             ledger_worker_t **out, size_t *n,
                                             err_t *err)
{
    if (!ledger_has_workers(l))
        return err_set(err, ERR_INTERNAL, "ledger: no worker registry here");
    return l->ops->workers_list(l, now_ms, out, n, err);
}
/* Whether this back-end keeps webhooks and their outbox. */
static inline bool ledger_has_outbox(const ledger_t *l)
{
    return l->ops->set_batch_webhook && l->ops->outbox_take && l->ops->outbox_record &&
           l->ops->outbox_summary;
}
/* ERR_CONFIG when !ledger_has_outbox(l): webhooks need a ledger that keeps
 * them. */
static inline err_code_t ledger_set_batch_webhook(ledger_t *l, const char *batch_id,
                                                  const char *url, err_t *err)
{
    if (!ledger_has_outbox(l))
        return err_set(err, ERR_CONFIG, "webhook: this ledger does not keep webhooks");
    return l->ops->set_batch_webhook(l, batch_id, url, err);
}
/* The outbox wrappers below are ERR_INTERNAL when !ledger_has_outbox(l). */
static inline err_code_t ledger_outbox_take(ledger_t *l, int64_t now_ms, int64_t lease_ms,
                                            size_t max, ledger_event_t **out, size_t *n,
                                            err_t *err)
{
    *out = NULL;
    *n = 0;
    if (!ledger_has_outbox(l))
        return err_set(err, ERR_INTERNAL, "ledger: no outbox here");
    return l->ops->outbox_take(l, now_ms, lease_ms, max, out, n, err);
}
static inline err_code_t ledger_outbox_record(ledger_t *l, const ledger_event_t *ev,
                                              int64_t due_ms, long status,
                                              const char *error, err_t *err)
{
    if (!ledger_has_outbox(l))
        return err_set(err, ERR_INTERNAL, "ledger: no outbox here");
    return l->ops->outbox_record(l, ev, due_ms, status, error, err);
}
static inline err_code_t ledger_outbox_summary(ledger_t *l, const char *batch_id,
                                               ledger_outbox_summary_t *out, err_t *err)
{
    memset(out, 0, sizeof *out);
    if (!ledger_has_outbox(l))
        return ERR_OK;
    return l->ops->outbox_summary(l, batch_id, out, err);
}
/* Whether this back-end keeps review marks and lineage. */
static inline bool ledger_has_review(const ledger_t *l)
{ return l->ops->review && l->ops->reviews && l->ops->link; }
/* The review wrappers are ERR_CONFIG when !ledger_has_review(l). */
static inline err_code_t ledger_review(ledger_t *l, const char *batch_id,
                                       const char *job_id, const char *mark,
                                       const char *by, int64_t at_ms, err_t *err)
{
    if (!ledger_has_review(l))
        return err_set(err, ERR_CONFIG, "review: this ledger does not keep review marks");
    return l->ops->review(l, batch_id, job_id, mark, by, at_ms, err);
}
/* job_id NULL: the whole batch.  *out: free with ledger_reviews_free. */
static inline err_code_t ledger_reviews(ledger_t *l, const char *batch_id,
                                        const char *job_id, ledger_review_t **out,
                                        size_t *n, err_t *err)
{
    *out = NULL;
    *n = 0;
    if (!ledger_has_review(l))
        return err_set(err, ERR_CONFIG, "review: this ledger does not keep review marks");
    return l->ops->reviews(l, batch_id, job_id, out, n, err);
}
static inline err_code_t ledger_link(ledger_t *l, const char *from_batch,
                                     const char *from_job, const char *to_batch,
                                     const char *to_job, err_t *err)
{
    if (!ledger_has_review(l))
        return err_set(err, ERR_CONFIG, "review: this ledger does not keep lineage");
    return l->ops->link(l, from_batch, from_job, to_batch, to_job, err);
}
/* Whether this back-end keeps shared quota buckets. */
static inline bool ledger_has_quota(const ledger_t *l)
{ return l->ops->quota_get && l->ops->quota_put && l->ops->quota_list; }
/* The quota wrappers are ERR_CONFIG when !ledger_has_quota(l): a shared
 * quota needs a ledger that keeps it. */
static inline err_code_t ledger_quota_get(ledger_t *l, const char *key, ledger_quota_t *out,
                                          err_t *err)
{
    memset(out, 0, sizeof *out);
    if (!ledger_has_quota(l))
        return err_set(err, ERR_CONFIG, "quota: this ledger does not keep a shared quota");
    return l->ops->quota_get(l, key, out, err);
}
/* ERR_CONFLICT when the stored version is not `version`. */
static inline err_code_t ledger_quota_put(ledger_t *l, const char *key, int64_t version,
                                          const char *state, int64_t now_ms, err_t *err)
{
    if (!ledger_has_quota(l))
        return err_set(err, ERR_CONFIG, "quota: this ledger does not keep a shared quota");
    return l->ops->quota_put(l, key, version, state, now_ms, err);
}
/* *out: new array; free with ledger_quotas_free. */
static inline err_code_t ledger_quota_list(ledger_t *l, ledger_quota_t **out, size_t *n,
                                           err_t *err)
{
    *out = NULL;
    *n = 0;
    if (!ledger_has_quota(l))
        return err_set(err, ERR_CONFIG, "quota: this ledger does not keep a shared quota");
    return l->ops->quota_list(l, out, n, err);
}
/* Frees one bucket's strings / an array of n (NULL is fine). */
void ledger_quota_free(ledger_quota_t *q);
void ledger_quotas_free(ledger_quota_t *q, size_t n);

/* Closes the ledger; NULL is fine. */
static inline void ledger_close(ledger_t *l) { if (l) l->ops->close(l); }

/* Frees an array of n jobs / batches returned by get_jobs, list or
 * list_batches. */
void ledger_jobs_free(ledger_job_t *jobs, size_t n);
void ledger_batches_free(ledger_batch_t *b, size_t n);
/* Frees one worker's strings / an array of n from workers_list (NULL is
 * fine). */
void ledger_worker_free(ledger_worker_t *w);
void ledger_workers_free(ledger_worker_t *w, size_t n);
/* Whether w was last seen within LEDGER_WORKER_STALE_BEATS of its beat
 * interval before now_ms (an interval of 0 counts as 10 s). */
bool ledger_worker_alive(const ledger_worker_t *w, int64_t now_ms);

/* ---- review marks and lineage (ledger_review.c) ---- */
/* Frees an array of n from reviews() (NULL is fine). */
void ledger_reviews_free(ledger_review_t *r, size_t n);
/* The entry of r (n of them, ordered by job id) for job_id, or NULL. */
const ledger_review_t *ledger_review_find(const ledger_review_t *r, size_t n,
                                          const char *job_id);
/* Adds to o (a job's JSON object) what the shared job shape says about
 * review and lineage: "review": {"state", "by", "at" (RFC 3339 UTC)} when
 * marked, "promoted_from": "JOB", "promoted_to": ["JOB", ...] (r may be
 * NULL: none), and "variant": {"of", "index", "count"} read from the
 * job's spec_json when it is a variant.  Out of memory leaves members
 * out. */
void ledger_review_json_add(json_t *o, const ledger_review_t *r, const char *spec_json);
/* The mark a review takes: "approved" / "rejected". */
#define LEDGER_APPROVED "approved"
#define LEDGER_REJECTED "rejected"

#endif
