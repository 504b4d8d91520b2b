-- 006_finished_by: which worker finished a job, apart from its lease.
-- A finished job used to keep lease_owner, which read as if a worker still
-- held it; succeed and fail now clear lease_owner and record the worker in
-- finished_by, which also recognises a retried succeed/fail from the same
-- worker.  Jobs finished before this migration move their owner across.
-- A retry re-opening a job clears finished_by with the rest of its result.
ALTER TABLE ledger_jobs ADD COLUMN finished_by TEXT;
UPDATE ledger_jobs SET finished_by = lease_owner, lease_owner = NULL
 WHERE state IN ('succeeded', 'failed', 'filtered') AND lease_owner IS NOT NULL;
