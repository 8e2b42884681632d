-- The runner records the SHA-256 of each script it applies and refuses to
-- start when an applied script's text has changed. Rows of migrations applied
-- before this version get theirs from the current scripts on the next start.
ALTER TABLE tollgate_schema_migrations ADD COLUMN checksum TEXT;
