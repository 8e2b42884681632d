-- The closure code a release was closed with.
ALTER TABLE sdp_release ADD COLUMN closure_code TEXT;
