-- A job kind that must not be queued twice at once (the timeline pass, which
-- every replica schedules) carries a key; the partial unique index lets only
-- one pending or running job hold it, so two replicas asking together queue
-- one job, whatever the timing. Finished jobs leave the index.
ALTER TABLE tollgate_job ADD COLUMN unique_key TEXT;
CREATE UNIQUE INDEX tollgate_job_one_queued ON tollgate_job (unique_key)
    WHERE state IN ('pending', 'running');
