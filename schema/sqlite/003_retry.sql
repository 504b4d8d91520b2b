-- 003_retry: runs and the attempt history (issue 17, item 1: retry).
-- A job's run is 1 when it is submitted; `onesheet retry` re-opens a
-- finished job as run + 1 and archives how the finished run ended in
-- ledger_attempts, in the same transaction.  Queue messages carry the run,
-- so a message of an earlier run (a stale duplicate, or a dead-lettered one)
-- can neither claim nor fail the new run.
ALTER TABLE ledger_jobs ADD COLUMN run INTEGER NOT NULL DEFAULT 1;

-- One row per finished run that a retry re-opened; the current run stays
-- in ledger_jobs.  claims: the ledger claims made during that run.
CREATE TABLE ledger_attempts (
    batch_id      TEXT    NOT NULL,
    job_id        TEXT    NOT NULL,
    run           INTEGER NOT NULL,
    state         TEXT    NOT NULL,
    error_code    TEXT,
    error_message TEXT,
    claims        INTEGER NOT NULL DEFAULT 0,
    started_ms    INTEGER NOT NULL DEFAULT 0,
    finished_ms   INTEGER NOT NULL DEFAULT 0,
    url           TEXT,
    PRIMARY KEY (batch_id, job_id, run)
);
