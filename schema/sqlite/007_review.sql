-- 007_review: review marks and lineage (issue 20: proof, approve, promote).
-- A mark is written only while the job is succeeded (the INSERT selects
-- the job's row on that condition), so a proof that failed can never be
-- approved.  The latest decision wins: approve after reject replaces it.
CREATE TABLE ledger_reviews (
    batch_id  TEXT    NOT NULL,
    job_id    TEXT    NOT NULL,
    state     TEXT    NOT NULL CHECK (state IN ('approved', 'rejected')),
    by_whom   TEXT    NOT NULL,
    at_ms     INTEGER NOT NULL,
    PRIMARY KEY (batch_id, job_id)
);

-- Lineage: the job from_batch/from_job was promoted to to_batch/to_job.
-- Written after the promoted batch is recorded and before its jobs are
-- sent; writing it again changes nothing.  Read both ways: a batch's
-- sources (the key) and its promotions (ledger_lineage_to).
CREATE TABLE ledger_lineage (
    from_batch TEXT NOT NULL,
    from_job   TEXT NOT NULL,
    to_batch   TEXT NOT NULL,
    to_job     TEXT NOT NULL,
    PRIMARY KEY (from_batch, from_job, to_batch, to_job)
);
CREATE INDEX ledger_lineage_to ON ledger_lineage (to_batch, to_job);
