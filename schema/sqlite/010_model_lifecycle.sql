-- 010_model_lifecycle: the lifecycle of a finished job's model as Bedrock
-- listed it when the job finished (issue 23): 'ACTIVE', 'LEGACY:YYYY-MM-DD'
-- (the model's end of life), or 'unlisted' (the region no longer lists it).
-- NULL when not known: a local engine, no model list (model_lifecycle =
-- off, no network, no permission), or a row written before this migration.
-- Written by the same conditional update that marks the job succeeded or
-- failed; cleared by retry with the rest of the run's result.
ALTER TABLE ledger_jobs ADD COLUMN model_lifecycle TEXT;
