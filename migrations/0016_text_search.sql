-- Text search: an index for contains / starts with / ends with on the text
-- fields people search (the registry marks them `text_indexed`).
-- SQLite: an FTS5 table per table with the trigram tokenizer, kept
-- in step by triggers; rows keyed by sys_id get a stable integer through a key
-- table (a rowid that is not an INTEGER PRIMARY KEY may change on VACUUM).
-- The query keeps its exact LIKE; the index only narrows the candidates.
-- PostgreSQL: pg_trgm GIN indexes on LOWER(column), which the LIKE uses itself.

--! sqlite
CREATE VIRTUAL TABLE sdp_release__text USING fts5(title, description, tokenize='trigram');
INSERT INTO sdp_release__text (rowid, title, description) SELECT id, title, description FROM sdp_release;
CREATE TRIGGER sdp_release__text_insert AFTER INSERT ON sdp_release BEGIN
    INSERT INTO sdp_release__text (rowid, title, description) VALUES (new.id, new.title, new.description);
END;
CREATE TRIGGER sdp_release__text_update AFTER UPDATE OF id, title, description ON sdp_release BEGIN
    DELETE FROM sdp_release__text WHERE rowid = old.id;
    INSERT INTO sdp_release__text (rowid, title, description) VALUES (new.id, new.title, new.description);
END;
CREATE TRIGGER sdp_release__text_delete AFTER DELETE ON sdp_release BEGIN
    DELETE FROM sdp_release__text WHERE rowid = old.id;
END;

CREATE TABLE sys_user__text_key (n INTEGER PRIMARY KEY, sys_id TEXT NOT NULL UNIQUE);
CREATE VIRTUAL TABLE sys_user__text USING fts5(user_name, name, email, tokenize='trigram');
INSERT INTO sys_user__text_key (sys_id) SELECT sys_id FROM sys_user ORDER BY sys_id;
INSERT INTO sys_user__text (rowid, user_name, name, email) SELECT k.n, t.user_name, t.name, t.email FROM sys_user t JOIN sys_user__text_key k ON k.sys_id = t.sys_id;
CREATE TRIGGER sys_user__text_insert AFTER INSERT ON sys_user BEGIN
    INSERT INTO sys_user__text_key (sys_id) VALUES (new.sys_id);
    INSERT INTO sys_user__text (rowid, user_name, name, email) VALUES (last_insert_rowid(), new.user_name, new.name, new.email);
END;
CREATE TRIGGER sys_user__text_update AFTER UPDATE OF user_name, name, email ON sys_user BEGIN
    DELETE FROM sys_user__text WHERE rowid = (SELECT n FROM sys_user__text_key WHERE sys_id = old.sys_id);
    INSERT INTO sys_user__text (rowid, user_name, name, email) VALUES ((SELECT n FROM sys_user__text_key WHERE sys_id = new.sys_id), new.user_name, new.name, new.email);
END;
CREATE TRIGGER sys_user__text_delete AFTER DELETE ON sys_user BEGIN
    DELETE FROM sys_user__text WHERE rowid = (SELECT n FROM sys_user__text_key WHERE sys_id = old.sys_id);
    DELETE FROM sys_user__text_key WHERE sys_id = old.sys_id;
END;

CREATE TABLE task__text_key (n INTEGER PRIMARY KEY, sys_id TEXT NOT NULL UNIQUE);
CREATE VIRTUAL TABLE task__text USING fts5(number, short_description, tokenize='trigram');
INSERT INTO task__text_key (sys_id) SELECT sys_id FROM task ORDER BY sys_id;
INSERT INTO task__text (rowid, number, short_description) SELECT k.n, t.number, t.short_description FROM task t JOIN task__text_key k ON k.sys_id = t.sys_id;
CREATE TRIGGER task__text_insert AFTER INSERT ON task BEGIN
    INSERT INTO task__text_key (sys_id) VALUES (new.sys_id);
    INSERT INTO task__text (rowid, number, short_description) VALUES (last_insert_rowid(), new.number, new.short_description);
END;
CREATE TRIGGER task__text_update AFTER UPDATE OF number, short_description ON task BEGIN
    DELETE FROM task__text WHERE rowid = (SELECT n FROM task__text_key WHERE sys_id = old.sys_id);
    INSERT INTO task__text (rowid, number, short_description) VALUES ((SELECT n FROM task__text_key WHERE sys_id = new.sys_id), new.number, new.short_description);
END;
CREATE TRIGGER task__text_delete AFTER DELETE ON task BEGIN
    DELETE FROM task__text WHERE rowid = (SELECT n FROM task__text_key WHERE sys_id = old.sys_id);
    DELETE FROM task__text_key WHERE sys_id = old.sys_id;
END;

CREATE TABLE cmdb_model__text_key (n INTEGER PRIMARY KEY, sys_id TEXT NOT NULL UNIQUE);
CREATE VIRTUAL TABLE cmdb_model__text USING fts5(name, tokenize='trigram');
INSERT INTO cmdb_model__text_key (sys_id) SELECT sys_id FROM cmdb_model ORDER BY sys_id;
INSERT INTO cmdb_model__text (rowid, name) SELECT k.n, t.name FROM cmdb_model t JOIN cmdb_model__text_key k ON k.sys_id = t.sys_id;
CREATE TRIGGER cmdb_model__text_insert AFTER INSERT ON cmdb_model BEGIN
    INSERT INTO cmdb_model__text_key (sys_id) VALUES (new.sys_id);
    INSERT INTO cmdb_model__text (rowid, name) VALUES (last_insert_rowid(), new.name);
END;
CREATE TRIGGER cmdb_model__text_update AFTER UPDATE OF name ON cmdb_model BEGIN
    DELETE FROM cmdb_model__text WHERE rowid = (SELECT n FROM cmdb_model__text_key WHERE sys_id = old.sys_id);
    INSERT INTO cmdb_model__text (rowid, name) VALUES ((SELECT n FROM cmdb_model__text_key WHERE sys_id = new.sys_id), new.name);
END;
CREATE TRIGGER cmdb_model__text_delete AFTER DELETE ON cmdb_model BEGIN
    DELETE FROM cmdb_model__text WHERE rowid = (SELECT n FROM cmdb_model__text_key WHERE sys_id = old.sys_id);
    DELETE FROM cmdb_model__text_key WHERE sys_id = old.sys_id;
END;

CREATE TABLE sn_dpr_model_release__text_key (n INTEGER PRIMARY KEY, sys_id TEXT NOT NULL UNIQUE);
CREATE VIRTUAL TABLE sn_dpr_model_release__text USING fts5(number, name, tokenize='trigram');
INSERT INTO sn_dpr_model_release__text_key (sys_id) SELECT sys_id FROM sn_dpr_model_release ORDER BY sys_id;
INSERT INTO sn_dpr_model_release__text (rowid, number, name) SELECT k.n, t.number, t.name FROM sn_dpr_model_release t JOIN sn_dpr_model_release__text_key k ON k.sys_id = t.sys_id;
CREATE TRIGGER sn_dpr_model_release__text_insert AFTER INSERT ON sn_dpr_model_release BEGIN
    INSERT INTO sn_dpr_model_release__text_key (sys_id) VALUES (new.sys_id);
    INSERT INTO sn_dpr_model_release__text (rowid, number, name) VALUES (last_insert_rowid(), new.number, new.name);
END;
CREATE TRIGGER sn_dpr_model_release__text_update AFTER UPDATE OF number, name ON sn_dpr_model_release BEGIN
    DELETE FROM sn_dpr_model_release__text WHERE rowid = (SELECT n FROM sn_dpr_model_release__text_key WHERE sys_id = old.sys_id);
    INSERT INTO sn_dpr_model_release__text (rowid, number, name) VALUES ((SELECT n FROM sn_dpr_model_release__text_key WHERE sys_id = new.sys_id), new.number, new.name);
END;
CREATE TRIGGER sn_dpr_model_release__text_delete AFTER DELETE ON sn_dpr_model_release BEGIN
    DELETE FROM sn_dpr_model_release__text WHERE rowid = (SELECT n FROM sn_dpr_model_release__text_key WHERE sys_id = old.sys_id);
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
