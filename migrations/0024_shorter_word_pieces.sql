-- The word-piece index (migration 23, src/storage/word_pieces.rs) with pieces
-- cut to six letters instead of seven, and prefix indexes of four and five
-- letters instead of four to six. Each prefix index costs about as much to
-- write as the pieces themselves: a million titles took 10.2 s to index with
-- three, 6.8 s with two, and every insert into a searched table pays in
-- proportion. A needle of six letters is looked up as a whole piece; one of
-- seven or more goes to the trigram index, whose five trigrams or more find
-- few rows.
-- The tables are contentless, so they are dropped and filled again from the
-- rows, with the pieces tollgate_word_pieces now gives (the triggers of
-- migration 23 name the tables, not their options, and stay as they are). On
-- a large database this takes a while: about 7 s a column per million rows.

--! sqlite

DROP TABLE sdp_release__words_title;
CREATE VIRTUAL TABLE sdp_release__words_title USING fts5(pieces, tokenize='ascii', detail=none, content='', prefix='4 5');
INSERT INTO sdp_release__words_title (rowid, pieces) SELECT id, tollgate_word_pieces(title) FROM sdp_release WHERE title IS NOT NULL AND title <> '';
DROP TABLE sdp_release__words_description;
CREATE VIRTUAL TABLE sdp_release__words_description USING fts5(pieces, tokenize='ascii', detail=none, content='', prefix='4 5');
INSERT INTO sdp_release__words_description (rowid, pieces) SELECT id, tollgate_word_pieces(description) FROM sdp_release WHERE description IS NOT NULL AND description <> '';
DROP TABLE sys_user__words_user_name;
CREATE VIRTUAL TABLE sys_user__words_user_name USING fts5(pieces, tokenize='ascii', detail=none, content='', prefix='4 5');
INSERT INTO sys_user__words_user_name (rowid, pieces) SELECT k.n, tollgate_word_pieces(t.user_name) FROM sys_user t JOIN sys_user__text_key k ON k.sys_id = t.sys_id WHERE t.user_name IS NOT NULL AND t.user_name <> '';
DROP TABLE sys_user__words_name;
CREATE VIRTUAL TABLE sys_user__words_name USING fts5(pieces, tokenize='ascii', detail=none, content='', prefix='4 5');
INSERT INTO sys_user__words_name (rowid, pieces) SELECT k.n, tollgate_word_pieces(t.name) FROM sys_user t JOIN sys_user__text_key k ON k.sys_id = t.sys_id WHERE t.name IS NOT NULL AND t.name <> '';
DROP TABLE sys_user__words_email;
CREATE VIRTUAL TABLE sys_user__words_email USING fts5(pieces, tokenize='ascii', detail=none, content='', prefix='4 5');
INSERT INTO sys_user__words_email (rowid, pieces) SELECT k.n, tollgate_word_pieces(t.email) FROM sys_user t JOIN sys_user__text_key k ON k.sys_id = t.sys_id WHERE t.email IS NOT NULL AND t.email <> '';
DROP TABLE task__words_number;
CREATE VIRTUAL TABLE task__words_number USING fts5(pieces, tokenize='ascii', detail=none, content='', prefix='4 5');
INSERT INTO task__words_number (rowid, pieces) SELECT k.n, tollgate_word_pieces(t.number) FROM task t JOIN task__text_key k ON k.sys_id = t.sys_id WHERE t.number IS NOT NULL AND t.number <> '';
DROP TABLE task__words_short_description;
CREATE VIRTUAL TABLE task__words_short_description USING fts5(pieces, tokenize='ascii', detail=none, content='', prefix='4 5');
INSERT INTO task__words_short_description (rowid, pieces) SELECT k.n, tollgate_word_pieces(t.short_description) FROM task t JOIN task__text_key k ON k.sys_id = t.sys_id WHERE t.short_description IS NOT NULL AND t.short_description <> '';
DROP TABLE cmdb_model__words_name;
CREATE VIRTUAL TABLE cmdb_model__words_name USING fts5(pieces, tokenize='ascii', detail=none, content='', prefix='4 5');
INSERT INTO cmdb_model__words_name (rowid, pieces) SELECT k.n, tollgate_word_pieces(t.name) FROM cmdb_model t JOIN cmdb_model__text_key k ON k.sys_id = t.sys_id WHERE t.name IS NOT NULL AND t.name <> '';
DROP TABLE sn_dpr_model_release__words_number;
CREATE VIRTUAL TABLE sn_dpr_model_release__words_number USING fts5(pieces, tokenize='ascii', detail=none, content='', prefix='4 5');
INSERT INTO sn_dpr_model_release__words_number (rowid, pieces) SELECT k.n, tollgate_word_pieces(t.number) FROM sn_dpr_model_release t JOIN sn_dpr_model_release__text_key k ON k.sys_id = t.sys_id WHERE t.number IS NOT NULL AND t.number <> '';
DROP TABLE sn_dpr_model_release__words_name;
CREATE VIRTUAL TABLE sn_dpr_model_release__words_name USING fts5(pieces, tokenize='ascii', detail=none, content='', prefix='4 5');
INSERT INTO sn_dpr_model_release__words_name (rowid, pieces) SELECT k.n, tollgate_word_pieces(t.name) FROM sn_dpr_model_release t JOIN sn_dpr_model_release__text_key k ON k.sys_id = t.sys_id WHERE t.name IS NOT NULL AND t.name <> '';
