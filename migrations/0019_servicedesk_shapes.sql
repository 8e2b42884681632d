-- Fields the v3 documents show that Tollgate did not keep: the assets a
-- release affects (ids of `asset` reference records, comma-separated, like
-- `services`) and whether a release type is pre-approved (Standard is, as
-- the documents show).
ALTER TABLE sdp_release ADD COLUMN assets TEXT;
ALTER TABLE sdp_reference ADD COLUMN pre_approved BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE sdp_reference SET pre_approved = TRUE WHERE kind = 'release_type' AND id = 1;
