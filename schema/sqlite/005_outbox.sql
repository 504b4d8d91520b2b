-- 005_outbox: signed webhooks (Standard Webhooks), made durable by an
-- outbox in the ledger.
--
-- A batch submitted with --webhook (or the API's "webhook" field) has one
-- row in ledger_webhooks; the URL is immutable once set.  A trigger writes
-- the outbox rows, so an event is recorded by the very UPDATE that moves a
-- job to a terminal state, inside its transaction, whichever operation
-- made it (succeed, fail, cancel, a dead letter, a later retry's outcome):
-- a crash can lose neither the state change nor its event.
CREATE TABLE ledger_webhooks (
    batch_id   TEXT    PRIMARY KEY,
    url        TEXT    NOT NULL,
    created_ms INTEGER NOT NULL
);

-- One row per event.  id is the webhook-id, the same on every redelivery.
-- payload is the exact body sent (frozen when the event happened).  A row
-- is pending while delivered_ms and gave_up_ms are both NULL; due_ms is
-- when it may next be tried (a worker taking it moves due_ms forward by its
-- delivery lease, so two workers seldom send it at once).
CREATE TABLE ledger_outbox (
    id           TEXT    PRIMARY KEY,
    batch_id     TEXT    NOT NULL,
    job_id       TEXT,
    type         TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    url          TEXT    NOT NULL,
    created_ms   INTEGER NOT NULL,
    due_ms       INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_status  INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    delivered_ms INTEGER,
    gave_up_ms   INTEGER
);
-- what is due, oldest first (pending rows only).
CREATE INDEX ledger_outbox_due ON ledger_outbox (due_ms)
    WHERE delivered_ms IS NULL AND gave_up_ms IS NULL;
-- a batch's delivery summary (status).
CREATE INDEX ledger_outbox_batch ON ledger_outbox (batch_id);

-- A job leaving queued/running for a terminal state: its event, and, when
-- it was the batch's last live job, the batch's batch.completed.  The
-- transition happens once per UPDATE that wins its condition, and the
-- transaction is serialised (BEGIN IMMEDIATE), so batch.completed is
-- written exactly once per completion, whichever job finishes last.
CREATE TRIGGER ledger_outbox_job AFTER UPDATE OF state ON ledger_jobs
WHEN OLD.state IN ('queued', 'running')
 AND NEW.state IN ('succeeded', 'failed', 'filtered', 'cancelled')
BEGIN
    INSERT INTO ledger_outbox (id, batch_id, job_id, type, payload, url, created_ms,
                               due_ms)
    SELECT 'msg_' || lower(hex(randomblob(13))), NEW.batch_id, NEW.job_id,
           'job.' || NEW.state,
           json_object('type', 'job.' || NEW.state,
                       'timestamp', strftime('%Y-%m-%dT%H:%M:%fZ',
                                             NEW.updated_ms / 1000.0, 'unixepoch'),
                       'data', json_object(
                           'batch', NEW.batch_id, 'job', NEW.job_id,
                           'state', NEW.state,
                           'url', CASE WHEN NEW.state = 'succeeded' THEN NEW.url END,
                           'error', CASE WHEN NEW.state <> 'succeeded' AND
                                              (NEW.error_code IS NOT NULL OR
                                               NEW.error_message IS NOT NULL)
                                         THEN json_object('code', NEW.error_code,
                                                          'message', NEW.error_message)
                                    END,
                           'attempts', NEW.attempts,
                           'run', NEW.run,
                           'model', coalesce(NEW.model,
                                             json_extract(NEW.spec_json, '$.model')),
                           'line', NEW.line,
                           'tags', json_extract(NEW.spec_json, '$.tags'))),
           w.url, NEW.updated_ms, NEW.updated_ms
    FROM ledger_webhooks w WHERE w.batch_id = NEW.batch_id;

    INSERT INTO ledger_outbox (id, batch_id, job_id, type, payload, url, created_ms,
                               due_ms)
    SELECT 'msg_' || lower(hex(randomblob(13))), NEW.batch_id, NULL, 'batch.completed',
           json_object('type', 'batch.completed',
                       'timestamp', strftime('%Y-%m-%dT%H:%M:%fZ',
                                             NEW.updated_ms / 1000.0, 'unixepoch'),
                       'data', json_object(
                           'batch', NEW.batch_id,
                           'total', (SELECT count(*) FROM ledger_jobs
                                     WHERE batch_id = NEW.batch_id),
                           'counts', (SELECT json_group_object(state, n) FROM
                                      (SELECT state, count(*) AS n FROM ledger_jobs
                                       WHERE batch_id = NEW.batch_id GROUP BY state)),
                           'status', '/batches/' || NEW.batch_id,
                           'manifest', 'onesheet wait ' || NEW.batch_id ||
                                       ' --output results.jsonl')),
           w.url, NEW.updated_ms, NEW.updated_ms
    FROM ledger_webhooks w WHERE w.batch_id = NEW.batch_id
     AND NOT EXISTS (SELECT 1 FROM ledger_jobs WHERE state IN ('queued', 'running')
                     AND batch_id = NEW.batch_id);
END;
