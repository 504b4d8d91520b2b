-- 001_init: the embedded queue and ledger, in one SQLite file.
-- Applied by common/base/sqlite_util.c inside one BEGIN IMMEDIATE transaction,
-- which also sets PRAGMA user_version to 1.  Times are unix milliseconds.

-- The queue (SQS semantics).  A message is visible when visible_at <= now.
-- receipt is the handle of the latest delivery (NULL before the first);
-- every receive draws a new one, so a stale handle matches no row.
-- AUTOINCREMENT: a message id is never reused, not even after the newest
-- message is deleted, so the dead-letter table can keep the same ids.
CREATE TABLE queue_messages (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    body          TEXT    NOT NULL,
    sent_ms       INTEGER NOT NULL,
    visible_at    INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt       TEXT
);
-- receive scans visible messages oldest first.
CREATE INDEX queue_messages_visible ON queue_messages (visible_at, id);
CREATE UNIQUE INDEX queue_messages_receipt ON queue_messages (receipt);

-- The dead-letter store: messages received max_receives times without being
-- deleted.  taken_ms is set when take_dead hands the message to a worker
-- (once); taken rows are pruned after 14 days, SQS's longest retention.
CREATE TABLE queue_dead (
    id            INTEGER PRIMARY KEY,
    body          TEXT    NOT NULL,
    sent_ms       INTEGER NOT NULL,
    receive_count INTEGER NOT NULL,
    died_ms       INTEGER NOT NULL,
    taken_ms      INTEGER
);
CREATE INDEX queue_dead_untaken ON queue_dead (taken_ms, id);

-- The ledger.  One row per submit.
CREATE TABLE ledger_batches (
    batch_id   TEXT    PRIMARY KEY,
    source     TEXT    NOT NULL DEFAULT '',
    created_ms INTEGER NOT NULL
);
-- list_batches: newest first.
CREATE INDEX ledger_batches_created ON ledger_batches (created_ms, batch_id);

-- One row per job; job ids are unique within their batch.  The key leads
-- with job_id so that it also serves `status JOB` without a batch (one
-- index fewer to maintain on a 100,000-job submit).  state is text so the
-- file reads well in the sqlite3 shell.
CREATE TABLE ledger_jobs (
    batch_id         TEXT    NOT NULL REFERENCES ledger_batches (batch_id),
    job_id           TEXT    NOT NULL,
    state            TEXT    NOT NULL DEFAULT 'queued' CHECK (state IN
                     ('queued', 'running', 'succeeded', 'failed', 'filtered',
                      'cancelled')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    spec_json        TEXT    NOT NULL,
    line             INTEGER NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_expires_ms INTEGER NOT NULL DEFAULT 0,
    error_code       TEXT,
    error_message    TEXT,
    url              TEXT,
    store_key        TEXT,
    sha256           TEXT,
    bytes            INTEGER NOT NULL DEFAULT 0,
    seed             INTEGER NOT NULL DEFAULT 0,
    model            TEXT,
    cost_usd         REAL    NOT NULL DEFAULT 0,
    created_ms       INTEGER NOT NULL,
    enqueued_ms      INTEGER NOT NULL DEFAULT 0,
    started_ms       INTEGER NOT NULL DEFAULT 0,
    finished_ms      INTEGER NOT NULL DEFAULT 0,
    updated_ms       INTEGER NOT NULL,
    PRIMARY KEY (job_id, batch_id)
);
-- a batch's jobs in file order (list, pending_enqueue).
CREATE INDEX ledger_jobs_batch_line ON ledger_jobs (batch_id, line, job_id);
-- list --state S, and a batch's counts by state (get_batch, polled by
-- `wait`) read from this index alone: ~10 ms rather than ~150 ms for a
-- 100,000-job batch.
CREATE INDEX ledger_jobs_state ON ledger_jobs (state, batch_id);
