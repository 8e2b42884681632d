-- Text search: an index for contains / starts with / ends with on the text
-- fields people search (the registry marks them `text_indexed`).
-- SQLite: an FTS5 table per column (`{table}__text_{column}`) with the trigram
-- tokenizer, kept in step by triggers (one table per column: a column filter in
-- a shared table reads every column's positions and is many times slower).
-- Rows keyed by sys_id get a stable integer through `{table}__text_key` (a rowid
-- that is not an INTEGER PRIMARY KEY may change on VACUUM). Empty values are not
-- indexed. The query keeps its exact LIKE; the index narrows the candidates.
-- PostgreSQL: pg_trgm GIN indexes on LOWER(column), which the LIKE uses itself.

--! sqlite
CREATE VIRTUAL TABLE sdp_release__text_title USING fts5(title, tokenize='trigram');
CREATE VIRTUAL TABLE sdp_release__text_description USING fts5(description, tokenize='trigram');
INSERT INTO sdp_release__text_title (rowid, title) SELECT id, title FROM sdp_release WHERE title IS NOT NULL AND title <> '';
INSERT INTO sdp_release__text_description (rowid, description) SELECT id, description FROM sdp_release WHERE description IS NOT NULL AND description <> '';
CREATE TRIGGER sdp_release__text_insert AFTER INSERT ON sdp_release BEGIN
    INSERT INTO sdp_release__text_title (rowid, title) SELECT new.id, new.title WHERE new.title IS NOT NULL AND new.title <> '';
    INSERT INTO sdp_release__text_description (rowid, description) SELECT new.id, new.description WHERE new.description IS NOT NULL AND new.description <> '';
END;
CREATE TRIGGER sdp_release__text_title_update AFTER UPDATE OF title ON sdp_release BEGIN
    DELETE FROM sdp_release__text_title WHERE rowid = old.id;
    INSERT INTO sdp_release__text_title (rowid, title) SELECT new.id, new.title WHERE new.title IS NOT NULL AND new.title <> '';
END;
CREATE TRIGGER sdp_release__text_description_update AFTER UPDATE OF description ON sdp_release BEGIN
    DELETE FROM sdp_release__text_description WHERE rowid = old.id;
    INSERT INTO sdp_release__text_description (rowid, description) SELECT new.id, new.description WHERE new.description IS NOT NULL AND new.description <> '';
END;
CREATE TRIGGER sdp_release__text_delete AFTER DELETE ON sdp_release BEGIN
    DELETE FROM sdp_release__text_title WHERE rowid = old.id;
    DELETE FROM sdp_release__text_description WHERE rowid = old.id;
END;

CREATE TABLE sys_user__text_key (n INTEGER PRIMARY KEY, sys_id TEXT NOT NULL UNIQUE);
INSERT INTO sys_user__text_key (sys_id) SELECT sys_id FROM sys_user ORDER BY sys_id;
CREATE VIRTUAL TABLE sys_user__text_user_name USING fts5(user_name, tokenize='trigram');
CREATE VIRTUAL TABLE sys_user__text_name USING fts5(name, tokenize='trigram');
CREATE VIRTUAL TABLE sys_user__text_email USING fts5(email, tokenize='trigram');
INSERT INTO sys_user__text_user_name (rowid, user_name) SELECT k.n, t.user_name FROM sys_user t JOIN sys_user__text_key k ON k.sys_id = t.sys_id WHERE t.user_name IS NOT NULL AND t.user_name <> '';
INSERT INTO sys_user__text_name (rowid, name) SELECT k.n, t.name FROM sys_user t JOIN sys_user__text_key k ON k.sys_id = t.sys_id WHERE t.name IS NOT NULL AND t.name <> '';
INSERT INTO sys_user__text_email (rowid, email) SELECT k.n, t.email FROM sys_user t JOIN sys_user__text_key k ON k.sys_id = t.sys_id WHERE t.email IS NOT NULL AND t.email <> '';
CREATE TRIGGER sys_user__text_insert AFTER INSERT ON sys_user BEGIN
    INSERT INTO sys_user__text_key (sys_id) VALUES (new.sys_id);
    INSERT INTO sys_user__text_user_name (rowid, user_name) SELECT (SELECT n FROM sys_user__text_key WHERE sys_id = new.sys_id), new.user_name WHERE new.user_name IS NOT NULL AND new.user_name <> '';
    INSERT INTO sys_user__text_name (rowid, name) SELECT (SELECT n FROM sys_user__text_key WHERE sys_id = new.sys_id), new.name WHERE new.name IS NOT NULL AND new.name <> '';
    INSERT INTO sys_user__text_email (rowid, email) SELECT (SELECT n FROM sys_user__text_key WHERE sys_id = new.sys_id), new.email WHERE new.email IS NOT NULL AND new.email <> '';
END;
CREATE TRIGGER sys_user__text_user_name_update AFTER UPDATE OF user_name ON sys_user BEGIN
    DELETE FROM sys_user__text_user_name WHERE rowid = (SELECT n FROM sys_user__text_key WHERE sys_id = old.sys_id);
    INSERT INTO sys_user__text_user_name (rowid, user_name) SELECT (SELECT n FROM sys_user__text_key WHERE sys_id = new.sys_id), new.user_name WHERE new.user_name IS NOT NULL AND new.user_name <> '';
END;
CREATE TRIGGER sys_user__text_name_update AFTER UPDATE OF name ON sys_user BEGIN
    DELETE FROM sys_user__text_name WHERE rowid = (SELECT n FROM sys_user__text_key WHERE sys_id = old.sys_id);
    INSERT INTO sys_user__text_name (rowid, name) SELECT (SELECT n FROM sys_user__text_key WHERE sys_id = new.sys_id), new.name WHERE new.name IS NOT NULL AND new.name <> '';
END;
CREATE TRIGGER sys_user__text_email_update AFTER UPDATE OF email ON sys_user BEGIN
    DELETE FROM sys_user__text_email WHERE rowid = (SELECT n FROM sys_user__text_key WHERE sys_id = old.sys_id);
    INSERT INTO sys_user__text_email (rowid, email) SELECT (SELECT n FROM sys_user__text_key WHERE sys_id = new.sys_id), new.email WHERE new.email IS NOT NULL AND new.email <> '';
END;
CREATE TRIGGER sys_user__text_delete AFTER DELETE ON sys_user BEGIN
    DELETE FROM sys_user__text_user_name WHERE rowid = (SELECT n FROM sys_user__text_key WHERE sys_id = old.sys_id);
    DELETE FROM sys_user__text_name WHERE rowid = (SELECT n FROM sys_user__text_key WHERE sys_id = old.sys_id);
    DELETE FROM sys_user__text_email WHERE rowid = (SELECT n FROM sys_user__text_key WHERE sys_id = old.sys_id);
    DELETE FROM sys_user__text_key WHERE sys_id = old.sys_id;
END;

CREATE TABLE task__text_key (n INTEGER PRIMARY KEY, sys_id TEXT NOT NULL UNIQUE);
INSERT INTO task__text_key (sys_id) SELECT sys_id FROM task ORDER BY sys_id;
CREATE VIRTUAL TABLE task__text_number USING fts5(number, tokenize='trigram');
CREATE VIRTUAL TABLE task__text_short_description USING fts5(short_description, tokenize='trigram');
INSERT INTO task__text_number (rowid, number) SELECT k.n, t.number FROM task t JOIN task__text_key k ON k.sys_id = t.sys_id WHERE t.number IS NOT NULL AND t.number <> '';
INSERT INTO task__text_short_description (rowid, short_description) SELECT k.n, t.short_description FROM task t JOIN task__text_key k ON k.sys_id = t.sys_id WHERE t.short_description IS NOT NULL AND t.short_description <> '';
CREATE TRIGGER task__text_insert AFTER INSERT ON task BEGIN
    INSERT INTO task__text_key (sys_id) VALUES (new.sys_id);
    INSERT INTO task__text_number (rowid, number) SELECT (SELECT n FROM task__text_key WHERE sys_id = new.sys_id), new.number WHERE new.number IS NOT NULL AND new.number <> '';
    INSERT INTO task__text_short_description (rowid, short_description) SELECT (SELECT n FROM task__text_key WHERE sys_id = new.sys_id), new.short_description WHERE new.short_description IS NOT NULL AND new.short_description <> '';
END;
CREATE TRIGGER task__text_number_update AFTER UPDATE OF number ON task BEGIN
    DELETE FROM task__text_number WHERE rowid = (SELECT n FROM task__text_key WHERE sys_id = old.sys_id);
    INSERT INTO task__text_number (rowid, number) SELECT (SELECT n FROM task__text_key WHERE sys_id = new.sys_id), new.number WHERE new.number IS NOT NULL AND new.number <> '';
END;
CREATE TRIGGER task__text_short_description_update AFTER UPDATE OF short_description ON task BEGIN
    DELETE FROM task__text_short_description WHERE rowid = (SELECT n FROM task__text_key WHERE sys_id = old.sys_id);
    INSERT INTO task__text_short_description (rowid, short_description) SELECT (SELECT n FROM task__text_key WHERE sys_id = new.sys_id), new.short_description WHERE new.short_description IS NOT NULL AND new.short_description <> '';
END;
CREATE TRIGGER task__text_delete AFTER DELETE ON task BEGIN
    DELETE FROM task__text_number WHERE rowid = (SELECT n FROM task__text_key WHERE sys_id = old.sys_id);
    DELETE FROM task__text_short_description WHERE rowid = (SELECT n FROM task__text_key WHERE sys_id = old.sys_id);
    DELETE FROM task__text_key WHERE sys_id = old.sys_id;
END;

CREATE TABLE cmdb_model__text_key (n INTEGER PRIMARY KEY, sys_id TEXT NOT NULL UNIQUE);
INSERT INTO cmdb_model__text_key (sys_id) SELECT sys_id FROM cmdb_model ORDER BY sys_id;
CREATE VIRTUAL TABLE cmdb_model__text_name USING fts5(name, tokenize='trigram');
INSERT INTO cmdb_model__text_name (rowid, name) SELECT k.n, t.name FROM cmdb_model t JOIN cmdb_model__text_key k ON k.sys_id = t.sys_id WHERE t.name IS NOT NULL AND t.name <> '';
CREATE TRIGGER cmdb_model__text_insert AFTER INSERT ON cmdb_model BEGIN
    INSERT INTO cmdb_model__text_key (sys_id) VALUES (new.sys_id);
    INSERT INTO cmdb_model__text_name (rowid, name) SELECT (SELECT n FROM cmdb_model__text_key WHERE sys_id = new.sys_id), new.name WHERE new.name IS NOT NULL AND new.name <> '';
END;
CREATE TRIGGER cmdb_model__text_name_update AFTER UPDATE OF name ON cmdb_model BEGIN
    DELETE FROM cmdb_model__text_name WHERE rowid = (SELECT n FROM cmdb_model__text_key WHERE sys_id = old.sys_id);
    INSERT INTO cmdb_model__text_name (rowid, name) SELECT (SELECT n FROM cmdb_model__text_key WHERE sys_id = new.sys_id), new.name WHERE new.name IS NOT NULL AND new.name <> '';
END;
CREATE TRIGGER cmdb_model__text_delete AFTER DELETE ON cmdb_model BEGIN
    DELETE FROM cmdb_model__text_name WHERE rowid = (SELECT n FROM cmdb_model__text_key WHERE sys_id = old.sys_id);
    DELETE FROM cmdb_model__text_key WHERE sys_id = old.sys_id;
END;

CREATE TABLE sn_dpr_model_release__text_key (n INTEGER PRIMARY KEY, sys_id TEXT NOT NULL UNIQUE);
INSERT INTO sn_dpr_model_release__text_key (sys_id) SELECT sys_id FROM sn_dpr_model_release ORDER BY sys_id;
CREATE VIRTUAL TABLE sn_dpr_model_release__text_number USING fts5(number, tokenize='trigram');
CREATE VIRTUAL TABLE sn_dpr_model_release__text_name USING fts5(name, tokenize='trigram');
INSERT INTO sn_dpr_model_release__text_number (rowid, number) SELECT k.n, t.number FROM sn_dpr_model_release t JOIN sn_dpr_model_release__text_key k ON k.sys_id = t.sys_id WHERE t.number IS NOT NULL AND t.number <> '';
INSERT INTO sn_dpr_model_release__text_name (rowid, name) SELECT k.n, t.name FROM sn_dpr_model_release t JOIN sn_dpr_model_release__text_key k ON k.sys_id = t.sys_id WHERE t.name IS NOT NULL AND t.name <> '';
CREATE TRIGGER sn_dpr_model_release__text_insert AFTER INSERT ON sn_dpr_model_release BEGIN
    INSERT INTO sn_dpr_model_release__text_key (sys_id) VALUES (new.sys_id);
    INSERT INTO sn_dpr_model_release__text_number (rowid, number) SELECT (SELECT n FROM sn_dpr_model_release__text_key WHERE sys_id = new.sys_id), new.number WHERE new.number IS NOT NULL AND new.number <> '';
    INSERT INTO sn_dpr_model_release__text_name (rowid, name) SELECT (SELECT n FROM sn_dpr_model_release__text_key WHERE sys_id = new.sys_id), new.name WHERE new.name IS NOT NULL AND new.name <> '';
END;
CREATE TRIGGER sn_dpr_model_release__text_number_update AFTER UPDATE OF number ON sn_dpr_model_release BEGIN
    DELETE FROM sn_dpr_model_release__text_number WHERE rowid = (SELECT n FROM sn_dpr_model_release__text_key WHERE sys_id = old.sys_id);
    INSERT INTO sn_dpr_model_release__text_number (rowid, number) SELECT (SELECT n FROM sn_dpr_model_release__text_key WHERE sys_id = new.sys_id), new.number WHERE new.number IS NOT NULL AND new.number <> '';
END;
CREATE TRIGGER sn_dpr_model_release__text_name_update AFTER UPDATE OF name ON sn_dpr_model_release BEGIN
    DELETE FROM sn_dpr_model_release__text_name WHERE rowid = (SELECT n FROM sn_dpr_model_release__text_key WHERE sys_id = old.sys_id);
    INSERT INTO sn_dpr_model_release__text_name (rowid, name) SELECT (SELECT n FROM sn_dpr_model_release__text_key WHERE sys_id = new.sys_id), new.name WHERE new.name IS NOT NULL AND new.name <> '';
END;
CREATE TRIGGER sn_dpr_model_release__text_delete AFTER DELETE ON sn_dpr_model_release BEGIN
    DELETE FROM sn_dpr_model_release__text_number WHERE rowid = (SELECT n FROM sn_dpr_model_release__text_key WHERE sys_id = old.sys_id);
    DELETE FROM sn_dpr_model_release__text_name WHERE rowid = (SELECT n FROM sn_dpr_model_release__text_key WHERE sys_id = old.sys_id);
    DELETE FROM sn_dpr_model_release__text_key WHERE sys_id = old.sys_id;
END;

--! postgres
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX sdp_release_title_trgm ON sdp_release USING gin (LOWER(title) gin_trgm_ops);
CREATE INDEX sdp_release_description_trgm ON sdp_release USING gin (LOWER(description) gin_trgm_ops);
CREATE INDEX sys_user_user_name_trgm ON sys_user USING gin (LOWER(user_name) gin_trgm_ops);
CREATE INDEX sys_user_name_trgm ON sys_user USING gin (LOWER(name) gin_trgm_ops);
CREATE INDEX sys_user_email_trgm ON sys_user USING gin (LOWER(email) gin_trgm_ops);
CREATE INDEX task_number_trgm ON task USING gin (LOWER(number) gin_trgm_ops);
CREATE INDEX task_short_description_trgm ON task USING gin (LOWER(short_description) gin_trgm_ops);
CREATE INDEX cmdb_model_name_trgm ON cmdb_model USING gin (LOWER(name) gin_trgm_ops);
CREATE INDEX sn_dpr_model_release_number_trgm ON sn_dpr_model_release USING gin (LOWER(number) gin_trgm_ops);
CREATE INDEX sn_dpr_model_release_name_trgm ON sn_dpr_model_release USING gin (LOWER(name) gin_trgm_ops);
