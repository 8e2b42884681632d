-- The trashed ServiceDesk-style releases, which are few: a release list's
-- total over a text search is the index's count of matches less the trashed
-- ones among them (src/domain/sdp/list.rs), found through this index.
CREATE INDEX sdp_release_trashed ON sdp_release (deleted_time) WHERE deleted_time IS NOT NULL;
