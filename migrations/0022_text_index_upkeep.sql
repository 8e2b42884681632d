-- Text search indexes that stay fast under writes.
-- PostgreSQL: a GIN index with `fastupdate` collects new entries in a pending
-- list that every search reads from start to end until VACUUM (or the 4 MB
-- `gin_pending_list_limit`) folds it in; with steady writes that list was most
-- of a search's time (300 pages scanned per query after a bulk load). Off, a
-- write updates the index itself (a little slower to write), and the list
-- already pending is folded in now.
-- SQLite has no such list: FTS5 writes new entries as segments and merges
-- them as it goes (its default `automerge`), so nothing changes there.

--! postgres
ALTER INDEX sdp_release_title_trgm SET (fastupdate = off);
ALTER INDEX sdp_release_description_trgm SET (fastupdate = off);
ALTER INDEX sys_user_user_name_trgm SET (fastupdate = off);
ALTER INDEX sys_user_name_trgm SET (fastupdate = off);
ALTER INDEX sys_user_email_trgm SET (fastupdate = off);
ALTER INDEX task_number_trgm SET (fastupdate = off);
ALTER INDEX task_short_description_trgm SET (fastupdate = off);
ALTER INDEX cmdb_model_name_trgm SET (fastupdate = off);
ALTER INDEX sn_dpr_model_release_number_trgm SET (fastupdate = off);
ALTER INDEX sn_dpr_model_release_name_trgm SET (fastupdate = off);
SELECT gin_clean_pending_list(c.oid) FROM pg_class c WHERE c.relname LIKE '%\_trgm' AND c.relkind = 'i';
