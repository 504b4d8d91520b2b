-- 004_workers: the worker registry (worker liveness).  Each running
-- onesheet-worker upserts its row every beat (beat_ms apart) and deletes it
-- on a clean stop; a worker that dies stops beating, and readers call it
-- stale once last_seen_ms is more than three beats old.  Rows not seen for
-- a day are deleted by the next reader.  models is the comma-separated list
-- of model ids the worker generates.
CREATE TABLE ledger_workers (
    id           TEXT    PRIMARY KEY,
    host         TEXT    NOT NULL,
    pid          INTEGER NOT NULL,
    version      TEXT    NOT NULL,
    models       TEXT    NOT NULL,
    started_ms   INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    beat_ms      INTEGER NOT NULL,
    in_flight    INTEGER NOT NULL DEFAULT 0,
    done         INTEGER NOT NULL DEFAULT 0,
    failed       INTEGER NOT NULL DEFAULT 0,
    rate_per_min REAL    NOT NULL DEFAULT 0
);
