-- A second text index on SQLite, for counting: word pieces (see
-- src/storage/word_pieces.rs). Per text-indexed column an FTS5 table
-- `{table}__words_{column}` holds, for every row, the pieces of its words
-- (maximal runs of ASCII letters, lower-cased) that start at each letter with
-- four or more left, cut to seven letters; no positions (`detail=none`), no
-- copy of the text (`content=''`), and prefix indexes of four to six letters,
-- so the rows containing a needle of four to seven letters are one list of
-- row numbers instead of two or more trigram position lists matched up.
-- Rows are keyed as in the trigram tables (the release's id; `{table}__text_key`).
-- The pieces come from the SQL function tollgate_word_pieces, which Tollgate
-- registers on every connection: a program writing these tables without it
-- gets "no such function". A contentless table forgets a row only when told
-- the pieces it was given, which the function gives again (it depends on the
-- text alone).
-- The trigram tables' triggers are replaced by ones that keep both indexes,
-- so each statement runs in a known order (the key row first, gone last).
-- PostgreSQL has nothing to add: its trigram index answers the LIKE itself.

--! sqlite

CREATE VIRTUAL TABLE sdp_release__words_title USING fts5(pieces, tokenize='ascii', detail=none, content='', prefix='4 5 6');
CREATE VIRTUAL TABLE sdp_release__words_description USING fts5(pieces, tokenize='ascii', detail=none, content='', prefix='4 5 6');
INSERT INTO sdp_release__words_title (rowid, pieces) SELECT id, tollgate_word_pieces(title) FROM sdp_release WHERE title IS NOT NULL AND title <> '';
INSERT INTO sdp_release__words_description (rowid, pieces) SELECT id, tollgate_word_pieces(description) FROM sdp_release WHERE description IS NOT NULL AND description <> '';
DROP TRIGGER sdp_release__text_insert;
CREATE TRIGGER sdp_release__text_insert AFTER INSERT ON sdp_release BEGIN
    INSERT INTO sdp_release__text_title (rowid, title) SELECT new.id, new.title WHERE new.title IS NOT NULL AND new.title <> '';
    INSERT INTO sdp_release__words_title (rowid, pieces) SELECT new.id, tollgate_word_pieces(new.title) WHERE new.title IS NOT NULL AND new.title <> '';
    INSERT INTO sdp_release__text_description (rowid, description) SELECT new.id, new.description WHERE new.description IS NOT NULL AND new.description <> '';
    INSERT INTO sdp_release__words_description (rowid, pieces) SELECT new.id, tollgate_word_pieces(new.description) WHERE new.description IS NOT NULL AND new.description <> '';
END;
DROP TRIGGER sdp_release__text_title_update;
CREATE TRIGGER sdp_release__text_title_update AFTER UPDATE OF title ON sdp_release BEGIN
    DELETE FROM sdp_release__text_title WHERE rowid = old.id;
    INSERT INTO sdp_release__words_title (sdp_release__words_title, rowid, pieces) SELECT 'delete', old.id, tollgate_word_pieces(old.title) WHERE old.title IS NOT NULL AND old.title <> '';
    INSERT INTO sdp_release__text_title (rowid, title) SELECT new.id, new.title WHERE new.title IS NOT NULL AND new.title <> '';
    INSERT INTO sdp_release__words_title (rowid, pieces) SELECT new.id, tollgate_word_pieces(new.title) WHERE new.title IS NOT NULL AND new.title <> '';
END;
DROP TRIGGER sdp_release__text_description_update;
CREATE TRIGGER sdp_release__text_description_update AFTER UPDATE OF description ON sdp_release BEGIN
    DELETE FROM sdp_release__text_description WHERE rowid = old.id;
    INSERT INTO sdp_release__words_description (sdp_release__words_description, rowid, pieces) SELECT 'delete', old.id, tollgate_word_pieces(old.description) WHERE old.description IS NOT NULL AND old.description <> '';
    INSERT INTO sdp_release__text_description (rowid, description) SELECT new.id, new.description WHERE new.description IS NOT NULL AND new.description <> '';
    INSERT INTO sdp_release__words_description (rowid, pieces) SELECT new.id, tollgate_word_pieces(new.description) WHERE new.description IS NOT NULL AND new.description <> '';
END;
DROP TRIGGER sdp_release__text_delete;
CREATE TRIGGER sdp_release__text_delete AFTER DELETE ON sdp_release BEGIN
    DELETE FROM sdp_release__text_title WHERE rowid = old.id;
    INSERT INTO sdp_release__words_title (sdp_release__words_title, rowid, pieces) SELECT 'delete', old.id, tollgate_word_pieces(old.title) WHERE old.title IS NOT NULL AND old.title <> '';
    DELETE FROM sdp_release__text_description WHERE rowid = old.id;
    INSERT INTO sdp_release__words_description (sdp_release__words_description, rowid, pieces) SELECT 'delete', old.id, tollgate_word_pieces(old.description) WHERE old.description IS NOT NULL AND old.description <> '';
END;

CREATE VIRTUAL TABLE sys_user__words_user_name USING fts5(pieces, tokenize='ascii', detail=none, content='', prefix='4 5 6');
CREATE VIRTUAL TABLE sys_user__words_name USING fts5(pieces, tokenize='ascii', detail=none, content='', prefix='4 5 6');
CREATE VIRTUAL TABLE sys_user__words_email USING fts5(pieces, tokenize='ascii', detail=none, content='', prefix='4 5 6');
INSERT INTO sys_user__words_user_name (rowid, pieces) SELECT k.n, tollgate_word_pieces(t.user_name) FROM sys_user t JOIN sys_user__text_key k ON k.sys_id = t.sys_id WHERE t.user_name IS NOT NULL AND t.user_name <> '';
INSERT INTO sys_user__words_name (rowid, pieces) SELECT k.n, tollgate_word_pieces(t.name) FROM sys_user t JOIN sys_user__text_key k ON k.sys_id = t.sys_id WHERE t.name IS NOT NULL AND t.name <> '';
INSERT INTO sys_user__words_email (rowid, pieces) SELECT k.n, tollgate_word_pieces(t.email) FROM sys_user t JOIN sys_user__text_key k ON k.sys_id = t.sys_id WHERE t.email IS NOT NULL AND t.email <> '';
DROP TRIGGER sys_user__text_insert;
CREATE TRIGGER sys_user__text_insert AFTER INSERT ON sys_user BEGIN
    INSERT INTO sys_user__text_key (sys_id) VALUES (new.sys_id);
    INSERT INTO sys_user__text_user_name (rowid, user_name) SELECT (SELECT n FROM sys_user__text_key WHERE sys_id = new.sys_id), new.user_name WHERE new.user_name IS NOT NULL AND new.user_name <> '';
    INSERT INTO sys_user__words_user_name (rowid, pieces) SELECT (SELECT n FROM sys_user__text_key WHERE sys_id = new.sys_id), tollgate_word_pieces(new.user_name) WHERE new.user_name IS NOT NULL AND new.user_name <> '';
    INSERT INTO sys_user__text_name (rowid, name) SELECT (SELECT n FROM sys_user__text_key WHERE sys_id = new.sys_id), new.name WHERE new.name IS NOT NULL AND new.name <> '';
    INSERT INTO sys_user__words_name (rowid, pieces) SELECT (SELECT n FROM sys_user__text_key WHERE sys_id = new.sys_id), tollgate_word_pieces(new.name) WHERE new.name IS NOT NULL AND new.name <> '';
    INSERT INTO sys_user__text_email (rowid, email) SELECT (SELECT n FROM sys_user__text_key WHERE sys_id = new.sys_id), new.email WHERE new.email IS NOT NULL AND new.email <> '';
    INSERT INTO sys_user__words_email (rowid, pieces) SELECT (SELECT n FROM sys_user__text_key WHERE sys_id = new.sys_id), tollgate_word_pieces(new.email) WHERE new.email IS NOT NULL AND new.email <> '';
END;
DROP TRIGGER sys_user__text_user_name_update;
CREATE TRIGGER sys_user__text_user_name_update AFTER UPDATE OF user_name ON sys_user BEGIN
    DELETE FROM sys_user__text_user_name WHERE rowid = (SELECT n FROM sys_user__text_key WHERE sys_id = old.sys_id);
    INSERT INTO sys_user__words_user_name (sys_user__words_user_name, rowid, pieces) SELECT 'delete', (SELECT n FROM sys_user__text_key WHERE sys_id = old.sys_id), tollgate_word_pieces(old.user_name) WHERE old.user_name IS NOT NULL AND old.user_name <> '';
    INSERT INTO sys_user__text_user_name (rowid, user_name) SELECT (SELECT n FROM sys_user__text_key WHERE sys_id = new.sys_id), new.user_name WHERE new.user_name IS NOT NULL AND new.user_name <> '';
    INSERT INTO sys_user__words_user_name (rowid, pieces) SELECT (SELECT n FROM sys_user__text_key WHERE sys_id = new.sys_id), tollgate_word_pieces(new.user_name) WHERE new.user_name IS NOT NULL AND new.user_name <> '';
END;
DROP TRIGGER sys_user__text_name_update;
CREATE TRIGGER sys_user__text_name_update AFTER UPDATE OF name ON sys_user BEGIN
    DELETE FROM sys_user__text_name WHERE rowid = (SELECT n FROM sys_user__text_key WHERE sys_id = old.sys_id);
    INSERT INTO sys_user__words_name (sys_user__words_name, rowid, pieces) SELECT 'delete', (SELECT n FROM sys_user__text_key WHERE sys_id = old.sys_id), tollgate_word_pieces(old.name) WHERE old.name IS NOT NULL AND old.name <> '';
    INSERT INTO sys_user__text_name (rowid, name) SELECT (SELECT n FROM sys_user__text_key WHERE sys_id = new.sys_id), new.name WHERE new.name IS NOT NULL AND new.name <> '';
    INSERT INTO sys_user__words_name (rowid, pieces) SELECT (SELECT n FROM sys_user__text_key WHERE sys_id = new.sys_id), tollgate_word_pieces(new.name) WHERE new.name IS NOT NULL AND new.name <> '';
END;
DROP TRIGGER sys_user__text_email_update;
CREATE TRIGGER sys_user__text_email_update AFTER UPDATE OF email ON sys_user BEGIN
    DELETE FROM sys_user__text_email WHERE rowid = (SELECT n FROM sys_user__text_key WHERE sys_id = old.sys_id);
    INSERT INTO sys_user__words_email (sys_user__words_email, rowid, pieces) SELECT 'delete', (SELECT n FROM sys_user__text_key WHERE sys_id = old.sys_id), tollgate_word_pieces(old.email) WHERE old.email IS NOT NULL AND old.email <> '';
    INSERT INTO sys_user__text_email (rowid, email) SELECT (SELECT n FROM sys_user__text_key WHERE sys_id = new.sys_id), new.email WHERE new.email IS NOT NULL AND new.email <> '';
    INSERT INTO sys_user__words_email (rowid, pieces) SELECT (SELECT n FROM sys_user__text_key WHERE sys_id = new.sys_id), tollgate_word_pieces(new.email) WHERE new.email IS NOT NULL AND new.email <> '';
END;
DROP TRIGGER sys_user__text_delete;
CREATE TRIGGER sys_user__text_delete AFTER DELETE ON sys_user BEGIN
    DELETE FROM sys_user__text_user_name WHERE rowid = (SELECT n FROM sys_user__text_key WHERE sys_id = old.sys_id);
    INSERT INTO sys_user__words_user_name (sys_user__words_user_name, rowid, pieces) SELECT 'delete', (SELECT n FROM sys_user__text_key WHERE sys_id = old.sys_id), tollgate_word_pieces(old.user_name) WHERE old.user_name IS NOT NULL AND old.user_name <> '';
    DELETE FROM sys_user__text_name WHERE rowid = (SELECT n FROM sys_user__text_key WHERE sys_id = old.sys_id);
    INSERT INTO sys_user__words_name (sys_user__words_name, rowid, pieces) SELECT 'delete', (SELECT n FROM sys_user__text_key WHERE sys_id = old.sys_id), tollgate_word_pieces(old.name) WHERE old.name IS NOT NULL AND old.name <> '';
    DELETE FROM sys_user__text_email WHERE rowid = (SELECT n FROM sys_user__text_key WHERE sys_id = old.sys_id);
    INSERT INTO sys_user__words_email (sys_user__words_email, rowid, pieces) SELECT 'delete', (SELECT n FROM sys_user__text_key WHERE sys_id = old.sys_id), tollgate_word_pieces(old.email) WHERE old.email IS NOT NULL AND old.email <> '';
    DELETE FROM sys_user__text_key WHERE sys_id = old.sys_id;
END;

CREATE VIRTUAL TABLE task__words_number USING fts5(pieces, tokenize='ascii', detail=none, content='', prefix='4 5 6');
CREATE VIRTUAL TABLE task__words_short_description USING fts5(pieces, tokenize='ascii', detail=none, content='', prefix='4 5 6');
INSERT INTO task__words_number (rowid, pieces) SELECT k.n, tollgate_word_pieces(t.number) FROM task t JOIN task__text_key k ON k.sys_id = t.sys_id WHERE t.number IS NOT NULL AND t.number <> '';
INSERT INTO task__words_short_description (rowid, pieces) SELECT k.n, tollgate_word_pieces(t.short_description) FROM task t JOIN task__text_key k ON k.sys_id = t.sys_id WHERE t.short_description IS NOT NULL AND t.short_description <> '';
DROP TRIGGER task__text_insert;
CREATE TRIGGER task__text_insert AFTER INSERT ON task BEGIN
    INSERT INTO task__text_key (sys_id) VALUES (new.sys_id);
    INSERT INTO task__text_number (rowid, number) SELECT (SELECT n FROM task__text_key WHERE sys_id = new.sys_id), new.number WHERE new.number IS NOT NULL AND new.number <> '';
    INSERT INTO task__words_number (rowid, pieces) SELECT (SELECT n FROM task__text_key WHERE sys_id = new.sys_id), tollgate_word_pieces(new.number) WHERE new.number IS NOT NULL AND new.number <> '';
    INSERT INTO task__text_short_description (rowid, short_description) SELECT (SELECT n FROM task__text_key WHERE sys_id = new.sys_id), new.short_description WHERE new.short_description IS NOT NULL AND new.short_description <> '';
    INSERT INTO task__words_short_description (rowid, pieces) SELECT (SELECT n FROM task__text_key WHERE sys_id = new.sys_id), tollgate_word_pieces(new.short_description) WHERE new.short_description IS NOT NULL AND new.short_description <> '';
END;
DROP TRIGGER task__text_number_update;
CREATE TRIGGER task__text_number_update AFTER UPDATE OF number ON task BEGIN
    DELETE FROM task__text_number WHERE rowid = (SELECT n FROM task__text_key WHERE sys_id = old.sys_id);
    INSERT INTO task__words_number (task__words_number, rowid, pieces) SELECT 'delete', (SELECT n FROM task__text_key WHERE sys_id = old.sys_id), tollgate_word_pieces(old.number) WHERE old.number IS NOT NULL AND old.number <> '';
    INSERT INTO task__text_number (rowid, number) SELECT (SELECT n FROM task__text_key WHERE sys_id = new.sys_id), new.number WHERE new.number IS NOT NULL AND new.number <> '';
    INSERT INTO task__words_number (rowid, pieces) SELECT (SELECT n FROM task__text_key WHERE sys_id = new.sys_id), tollgate_word_pieces(new.number) WHERE new.number IS NOT NULL AND new.number <> '';
END;
DROP TRIGGER task__text_short_description_update;
CREATE TRIGGER task__text_short_description_update AFTER UPDATE OF short_description ON task BEGIN
    DELETE FROM task__text_short_description WHERE rowid = (SELECT n FROM task__text_key WHERE sys_id = old.sys_id);
    INSERT INTO task__words_short_description (task__words_short_description, rowid, pieces) SELECT 'delete', (SELECT n FROM task__text_key WHERE sys_id = old.sys_id), tollgate_word_pieces(old.short_description) WHERE old.short_description IS NOT NULL AND old.short_description <> '';
    INSERT INTO task__text_short_description (rowid, short_description) SELECT (SELECT n FROM task__text_key WHERE sys_id = new.sys_id), new.short_description WHERE new.short_description IS NOT NULL AND new.short_description <> '';
    INSERT INTO task__words_short_description (rowid, pieces) SELECT (SELECT n FROM task__text_key WHERE sys_id = new.sys_id), tollgate_word_pieces(new.short_description) WHERE new.short_description IS NOT NULL AND new.short_description <> '';
END;
DROP TRIGGER task__text_delete;
CREATE TRIGGER task__text_delete AFTER DELETE ON task BEGIN
    DELETE FROM task__text_number WHERE rowid = (SELECT n FROM task__text_key WHERE sys_id = old.sys_id);
    INSERT INTO task__words_number (task__words_number, rowid, pieces) SELECT 'delete', (SELECT n FROM task__text_key WHERE sys_id = old.sys_id), tollgate_word_pieces(old.number) WHERE old.number IS NOT NULL AND old.number <> '';
    DELETE FROM task__text_short_description WHERE rowid = (SELECT n FROM task__text_key WHERE sys_id = old.sys_id);
    INSERT INTO task__words_short_description (task__words_short_description, rowid, pieces) SELECT 'delete', (SELECT n FROM task__text_key WHERE sys_id = old.sys_id), tollgate_word_pieces(old.short_description) WHERE old.short_description IS NOT NULL AND old.short_description <> '';
    DELETE FROM task__text_key WHERE sys_id = old.sys_id;
END;

CREATE VIRTUAL TABLE cmdb_model__words_name USING fts5(pieces, tokenize='ascii', detail=none, content='', prefix='4 5 6');
INSERT INTO cmdb_model__words_name (rowid, pieces) SELECT k.n, tollgate_word_pieces(t.name) FROM cmdb_model t JOIN cmdb_model__text_key k ON k.sys_id = t.sys_id WHERE t.name IS NOT NULL AND t.name <> '';
DROP TRIGGER cmdb_model__text_insert;
CREATE TRIGGER cmdb_model__text_insert AFTER INSERT ON cmdb_model BEGIN
    INSERT INTO cmdb_model__text_key (sys_id) VALUES (new.sys_id);
    INSERT INTO cmdb_model__text_name (rowid, name) SELECT (SELECT n FROM cmdb_model__text_key WHERE sys_id = new.sys_id), new.name WHERE new.name IS NOT NULL AND new.name <> '';
    INSERT INTO cmdb_model__words_name (rowid, pieces) SELECT (SELECT n FROM cmdb_model__text_key WHERE sys_id = new.sys_id), tollgate_word_pieces(new.name) WHERE new.name IS NOT NULL AND new.name <> '';
END;
DROP TRIGGER cmdb_model__text_name_update;
CREATE TRIGGER cmdb_model__text_name_update AFTER UPDATE OF name ON cmdb_model BEGIN
    DELETE FROM cmdb_model__text_name WHERE rowid = (SELECT n FROM cmdb_model__text_key WHERE sys_id = old.sys_id);
    INSERT INTO cmdb_model__words_name (cmdb_model__words_name, rowid, pieces) SELECT 'delete', (SELECT n FROM cmdb_model__text_key WHERE sys_id = old.sys_id), tollgate_word_pieces(old.name) WHERE old.name IS NOT NULL AND old.name <> '';
    INSERT INTO cmdb_model__text_name (rowid, name) SELECT (SELECT n FROM cmdb_model__text_key WHERE sys_id = new.sys_id), new.name WHERE new.name IS NOT NULL AND new.name <> '';
    INSERT INTO cmdb_model__words_name (rowid, pieces) SELECT (SELECT n FROM cmdb_model__text_key WHERE sys_id = new.sys_id), tollgate_word_pieces(new.name) WHERE new.name IS NOT NULL AND new.name <> '';
END;
DROP TRIGGER cmdb_model__text_delete;
CREATE TRIGGER cmdb_model__text_delete AFTER DELETE ON cmdb_model BEGIN
    DELETE FROM cmdb_model__text_name WHERE rowid = (SELECT n FROM cmdb_model__text_key WHERE sys_id = old.sys_id);
    INSERT INTO cmdb_model__words_name (cmdb_model__words_name, rowid, pieces) SELECT 'delete', (SELECT n FROM cmdb_model__text_key WHERE sys_id = old.sys_id), tollgate_word_pieces(old.name) WHERE old.name IS NOT NULL AND old.name <> '';
    DELETE FROM cmdb_model__text_key WHERE sys_id = old.sys_id;
END;

CREATE VIRTUAL TABLE sn_dpr_model_release__words_number USING fts5(pieces, tokenize='ascii', detail=none, content='', prefix='4 5 6');
CREATE VIRTUAL TABLE sn_dpr_model_release__words_name USING fts5(pieces, tokenize='ascii', detail=none, content='', prefix='4 5 6');
INSERT INTO sn_dpr_model_release__words_number (rowid, pieces) SELECT k.n, tollgate_word_pieces(t.number) FROM sn_dpr_model_release t JOIN sn_dpr_model_release__text_key k ON k.sys_id = t.sys_id WHERE t.number IS NOT NULL AND t.number <> '';
INSERT INTO sn_dpr_model_release__words_name (rowid, pieces) SELECT k.n, tollgate_word_pieces(t.name) FROM sn_dpr_model_release t JOIN sn_dpr_model_release__text_key k ON k.sys_id = t.sys_id WHERE t.name IS NOT NULL AND t.name <> '';
DROP TRIGGER sn_dpr_model_release__text_insert;
CREATE TRIGGER sn_dpr_model_release__text_insert AFTER INSERT ON sn_dpr_model_release BEGIN
    INSERT INTO sn_dpr_model_release__text_key (sys_id) VALUES (new.sys_id);
    INSERT INTO sn_dpr_model_release__text_number (rowid, number) SELECT (SELECT n FROM sn_dpr_model_release__text_key WHERE sys_id = new.sys_id), new.number WHERE new.number IS NOT NULL AND new.number <> '';
    INSERT INTO sn_dpr_model_release__words_number (rowid, pieces) SELECT (SELECT n FROM sn_dpr_model_release__text_key WHERE sys_id = new.sys_id), tollgate_word_pieces(new.number) WHERE new.number IS NOT NULL AND new.number <> '';
    INSERT INTO sn_dpr_model_release__text_name (rowid, name) SELECT (SELECT n FROM sn_dpr_model_release__text_key WHERE sys_id = new.sys_id), new.name WHERE new.name IS NOT NULL AND new.name <> '';
    INSERT INTO sn_dpr_model_release__words_name (rowid, pieces) SELECT (SELECT n FROM sn_dpr_model_release__text_key WHERE sys_id = new.sys_id), tollgate_word_pieces(new.name) WHERE new.name IS NOT NULL AND new.name <> '';
END;
DROP TRIGGER sn_dpr_model_release__text_number_update;
CREATE TRIGGER sn_dpr_model_release__text_number_update AFTER UPDATE OF number ON sn_dpr_model_release BEGIN
    DELETE FROM sn_dpr_model_release__text_number WHERE rowid = (SELECT n FROM sn_dpr_model_release__text_key WHERE sys_id = old.sys_id);
    INSERT INTO sn_dpr_model_release__words_number (sn_dpr_model_release__words_number, rowid, pieces) SELECT 'delete', (SELECT n FROM sn_dpr_model_release__text_key WHERE sys_id = old.sys_id), tollgate_word_pieces(old.number) WHERE old.number IS NOT NULL AND old.number <> '';
    INSERT INTO sn_dpr_model_release__text_number (rowid, number) SELECT (SELECT n FROM sn_dpr_model_release__text_key WHERE sys_id = new.sys_id), new.number WHERE new.number IS NOT NULL AND new.number <> '';
    INSERT INTO sn_dpr_model_release__words_number (rowid, pieces) SELECT (SELECT n FROM sn_dpr_model_release__text_key WHERE sys_id = new.sys_id), tollgate_word_pieces(new.number) WHERE new.number IS NOT NULL AND new.number <> '';
END;
DROP TRIGGER sn_dpr_model_release__text_name_update;
CREATE TRIGGER sn_dpr_model_release__text_name_update AFTER UPDATE OF name ON sn_dpr_model_release BEGIN
    DELETE FROM sn_dpr_model_release__text_name WHERE rowid = (SELECT n FROM sn_dpr_model_release__text_key WHERE sys_id = old.sys_id);
    INSERT INTO sn_dpr_model_release__words_name (sn_dpr_model_release__words_name, rowid, pieces) SELECT 'delete', (SELECT n FROM sn_dpr_model_release__text_key WHERE sys_id = old.sys_id), tollgate_word_pieces(old.name) WHERE old.name IS NOT NULL AND old.name <> '';
    INSERT INTO sn_dpr_model_release__text_name (rowid, name) SELECT (SELECT n FROM sn_dpr_model_release__text_key WHERE sys_id = new.sys_id), new.name WHERE new.name IS NOT NULL AND new.name <> '';
    INSERT INTO sn_dpr_model_release__words_name (rowid, pieces) SELECT (SELECT n FROM sn_dpr_model_release__text_key WHERE sys_id = new.sys_id), tollgate_word_pieces(new.name) WHERE new.name IS NOT NULL AND new.name <> '';
END;
DROP TRIGGER sn_dpr_model_release__text_delete;
CREATE TRIGGER sn_dpr_model_release__text_delete AFTER DELETE ON sn_dpr_model_release BEGIN
    DELETE FROM sn_dpr_model_release__text_number WHERE rowid = (SELECT n FROM sn_dpr_model_release__text_key WHERE sys_id = old.sys_id);
    INSERT INTO sn_dpr_model_release__words_number (sn_dpr_model_release__words_number, rowid, pieces) SELECT 'delete', (SELECT n FROM sn_dpr_model_release__text_key WHERE sys_id = old.sys_id), tollgate_word_pieces(old.number) WHERE old.number IS NOT NULL AND old.number <> '';
    DELETE FROM sn_dpr_model_release__text_name WHERE rowid = (SELECT n FROM sn_dpr_model_release__text_key WHERE sys_id = old.sys_id);
    INSERT INTO sn_dpr_model_release__words_name (sn_dpr_model_release__words_name, rowid, pieces) SELECT 'delete', (SELECT n FROM sn_dpr_model_release__text_key WHERE sys_id = old.sys_id), tollgate_word_pieces(old.name) WHERE old.name IS NOT NULL AND old.name <> '';
    DELETE FROM sn_dpr_model_release__text_key WHERE sys_id = old.sys_id;
END;
