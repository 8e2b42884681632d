-- Counts of word pieces on PostgreSQL, so a search's total is read, not
-- counted (see src/storage/word_pieces.rs for the pieces, and
-- ARCHITECTURE.md, "Text search"). The trigram index finds candidates that
-- PostgreSQL must check row by row; counting a term that matches ten
-- thousand rows visited ten thousand rows on every request.
--
-- For every text-indexed column, `{table}__pieces_{column}` holds each piece
-- (every run of four to six letters inside a word of the lower-cased value,
-- a word being a maximal run of ASCII letters) with the number of rows whose
-- value has it: the number of rows containing a needle of four to six ASCII
-- letters, ignoring case, is one row of this table.
--
-- Writes do not update the counts: a statement trigger adds what the
-- statement changed to `tollgate_piece_deltas` (insert only, so writers never
-- wait for each other on a common piece), and `tollgate_fold_piece_counts()`,
-- which Tollgate calls now and then (`TOLLGATE_PIECE_FOLD`), moves the
-- deltas into the counts. A count is the counts' row plus the deltas' sum for
-- that piece, so it is right whether or not the fold has run.
-- SQLite needs none of this: its word-piece index counts from one list.

--! postgres
-- PL/pgSQL rather than SQL: an SQL function called from a trigger is
-- planned again for every statement; PL/pgSQL keeps its plan per session.
CREATE FUNCTION tollgate_word_pieces(value text) RETURNS text[] LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    RETURN (SELECT COALESCE(array_agg(DISTINCT substr(w, i, k)), '{}')
        FROM regexp_split_to_table(lower(value), '[^a-z]+') AS w,
             generate_series(1, length(w) - 3) AS i,
             generate_series(4, 6) AS k
        WHERE i + k - 1 <= length(w));
END
$$;

CREATE TABLE tollgate_piece_deltas (counts TEXT NOT NULL, piece TEXT NOT NULL, d BIGINT NOT NULL);
CREATE INDEX tollgate_piece_deltas_piece ON tollgate_piece_deltas (counts, piece) INCLUDE (d);

-- Moves the deltas into the counts; answers how many delta rows it folded.
-- One caller at a time (the others return 0 at once): only the folder
-- updates the counts, in piece order, so no two transactions wait on each
-- other there. A delta not yet committed is not seen and stays for the next
-- fold.
CREATE FUNCTION tollgate_fold_piece_counts() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    target text;
    folded bigint := 0;
    n bigint;
BEGIN
    IF NOT pg_try_advisory_xact_lock(7353002) THEN
        RETURN 0;
    END IF;
    FOR target IN SELECT DISTINCT counts FROM tollgate_piece_deltas LOOP
        EXECUTE format('WITH gone AS (DELETE FROM tollgate_piece_deltas WHERE counts = %L RETURNING piece, d), '
            'summed AS (SELECT piece, SUM(d) AS d, COUNT(*) AS rows FROM gone GROUP BY piece), '
            'written AS (INSERT INTO %I AS c (piece, n) SELECT piece, d FROM summed WHERE d <> 0 ORDER BY piece '
            'ON CONFLICT (piece) DO UPDATE SET n = c.n + excluded.n) '
            'SELECT COALESCE(SUM(rows), 0) FROM summed', target, target) INTO n;
        folded := folded + n;
    END LOOP;
    RETURN folded;
END
$$;

CREATE TABLE sdp_release__pieces_title (piece TEXT PRIMARY KEY, n BIGINT NOT NULL);
CREATE TABLE sdp_release__pieces_description (piece TEXT PRIMARY KEY, n BIGINT NOT NULL);
CREATE TABLE sys_user__pieces_user_name (piece TEXT PRIMARY KEY, n BIGINT NOT NULL);
CREATE TABLE sys_user__pieces_name (piece TEXT PRIMARY KEY, n BIGINT NOT NULL);
CREATE TABLE sys_user__pieces_email (piece TEXT PRIMARY KEY, n BIGINT NOT NULL);
CREATE TABLE task__pieces_number (piece TEXT PRIMARY KEY, n BIGINT NOT NULL);
CREATE TABLE task__pieces_short_description (piece TEXT PRIMARY KEY, n BIGINT NOT NULL);
CREATE TABLE cmdb_model__pieces_name (piece TEXT PRIMARY KEY, n BIGINT NOT NULL);
CREATE TABLE sn_dpr_model_release__pieces_number (piece TEXT PRIMARY KEY, n BIGINT NOT NULL);
CREATE TABLE sn_dpr_model_release__pieces_name (piece TEXT PRIMARY KEY, n BIGINT NOT NULL);

INSERT INTO sdp_release__pieces_title SELECT p, COUNT(*) FROM sdp_release, unnest(tollgate_word_pieces(title)) p GROUP BY p;
INSERT INTO sdp_release__pieces_description SELECT p, COUNT(*) FROM sdp_release, unnest(tollgate_word_pieces(description)) p GROUP BY p;
INSERT INTO sys_user__pieces_user_name SELECT p, COUNT(*) FROM sys_user, unnest(tollgate_word_pieces(user_name)) p GROUP BY p;
INSERT INTO sys_user__pieces_name SELECT p, COUNT(*) FROM sys_user, unnest(tollgate_word_pieces(name)) p GROUP BY p;
INSERT INTO sys_user__pieces_email SELECT p, COUNT(*) FROM sys_user, unnest(tollgate_word_pieces(email)) p GROUP BY p;
INSERT INTO task__pieces_number SELECT p, COUNT(*) FROM task, unnest(tollgate_word_pieces(number)) p GROUP BY p;
INSERT INTO task__pieces_short_description SELECT p, COUNT(*) FROM task, unnest(tollgate_word_pieces(short_description)) p GROUP BY p;
INSERT INTO cmdb_model__pieces_name SELECT p, COUNT(*) FROM cmdb_model, unnest(tollgate_word_pieces(name)) p GROUP BY p;
INSERT INTO sn_dpr_model_release__pieces_number SELECT p, COUNT(*) FROM sn_dpr_model_release, unnest(tollgate_word_pieces(number)) p GROUP BY p;
INSERT INTO sn_dpr_model_release__pieces_name SELECT p, COUNT(*) FROM sn_dpr_model_release, unnest(tollgate_word_pieces(name)) p GROUP BY p;

-- The triggers, one function a table (static statements, whose plans each
-- session keeps): what a statement inserted, deleted, or changed in a
-- searched column (an UPDATE counts only the rows whose column changed).
CREATE FUNCTION sdp_release__piece_deltas() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO tollgate_piece_deltas (counts, piece, d)
        SELECT counts, piece, COUNT(*) FROM (
            SELECT 'sdp_release__pieces_title' AS counts, unnest(tollgate_word_pieces(title)) AS piece FROM new_rows
            UNION ALL SELECT 'sdp_release__pieces_description', unnest(tollgate_word_pieces(description)) FROM new_rows
        ) x GROUP BY counts, piece;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO tollgate_piece_deltas (counts, piece, d)
        SELECT counts, piece, -COUNT(*) FROM (
            SELECT 'sdp_release__pieces_title' AS counts, unnest(tollgate_word_pieces(title)) AS piece FROM old_rows
            UNION ALL SELECT 'sdp_release__pieces_description', unnest(tollgate_word_pieces(description)) FROM old_rows
        ) x GROUP BY counts, piece;
    ELSE
        INSERT INTO tollgate_piece_deltas (counts, piece, d)
        SELECT counts, piece, SUM(d) FROM (
            SELECT 'sdp_release__pieces_title' AS counts, unnest(tollgate_word_pieces(n.title)) AS piece, 1 AS d FROM new_rows n JOIN old_rows o USING (id) WHERE n.title IS DISTINCT FROM o.title
            UNION ALL SELECT 'sdp_release__pieces_title', unnest(tollgate_word_pieces(o.title)), -1 FROM new_rows n JOIN old_rows o USING (id) WHERE n.title IS DISTINCT FROM o.title
            UNION ALL SELECT 'sdp_release__pieces_description', unnest(tollgate_word_pieces(n.description)), 1 FROM new_rows n JOIN old_rows o USING (id) WHERE n.description IS DISTINCT FROM o.description
            UNION ALL SELECT 'sdp_release__pieces_description', unnest(tollgate_word_pieces(o.description)), -1 FROM new_rows n JOIN old_rows o USING (id) WHERE n.description IS DISTINCT FROM o.description
        ) x GROUP BY counts, piece HAVING SUM(d) <> 0;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER sdp_release__pieces_insert AFTER INSERT ON sdp_release REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sdp_release__piece_deltas();
CREATE TRIGGER sdp_release__pieces_update AFTER UPDATE ON sdp_release REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sdp_release__piece_deltas();
CREATE TRIGGER sdp_release__pieces_delete AFTER DELETE ON sdp_release REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sdp_release__piece_deltas();

CREATE FUNCTION sys_user__piece_deltas() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO tollgate_piece_deltas (counts, piece, d)
        SELECT counts, piece, COUNT(*) FROM (
            SELECT 'sys_user__pieces_user_name' AS counts, unnest(tollgate_word_pieces(user_name)) AS piece FROM new_rows
            UNION ALL SELECT 'sys_user__pieces_name', unnest(tollgate_word_pieces(name)) FROM new_rows
            UNION ALL SELECT 'sys_user__pieces_email', unnest(tollgate_word_pieces(email)) FROM new_rows
        ) x GROUP BY counts, piece;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO tollgate_piece_deltas (counts, piece, d)
        SELECT counts, piece, -COUNT(*) FROM (
            SELECT 'sys_user__pieces_user_name' AS counts, unnest(tollgate_word_pieces(user_name)) AS piece FROM old_rows
            UNION ALL SELECT 'sys_user__pieces_name', unnest(tollgate_word_pieces(name)) FROM old_rows
            UNION ALL SELECT 'sys_user__pieces_email', unnest(tollgate_word_pieces(email)) FROM old_rows
        ) x GROUP BY counts, piece;
    ELSE
        INSERT INTO tollgate_piece_deltas (counts, piece, d)
        SELECT counts, piece, SUM(d) FROM (
            SELECT 'sys_user__pieces_user_name' AS counts, unnest(tollgate_word_pieces(n.user_name)) AS piece, 1 AS d FROM new_rows n JOIN old_rows o USING (sys_id) WHERE n.user_name IS DISTINCT FROM o.user_name
            UNION ALL SELECT 'sys_user__pieces_user_name', unnest(tollgate_word_pieces(o.user_name)), -1 FROM new_rows n JOIN old_rows o USING (sys_id) WHERE n.user_name IS DISTINCT FROM o.user_name
            UNION ALL SELECT 'sys_user__pieces_name', unnest(tollgate_word_pieces(n.name)), 1 FROM new_rows n JOIN old_rows o USING (sys_id) WHERE n.name IS DISTINCT FROM o.name
            UNION ALL SELECT 'sys_user__pieces_name', unnest(tollgate_word_pieces(o.name)), -1 FROM new_rows n JOIN old_rows o USING (sys_id) WHERE n.name IS DISTINCT FROM o.name
            UNION ALL SELECT 'sys_user__pieces_email', unnest(tollgate_word_pieces(n.email)), 1 FROM new_rows n JOIN old_rows o USING (sys_id) WHERE n.email IS DISTINCT FROM o.email
            UNION ALL SELECT 'sys_user__pieces_email', unnest(tollgate_word_pieces(o.email)), -1 FROM new_rows n JOIN old_rows o USING (sys_id) WHERE n.email IS DISTINCT FROM o.email
        ) x GROUP BY counts, piece HAVING SUM(d) <> 0;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER sys_user__pieces_insert AFTER INSERT ON sys_user REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sys_user__piece_deltas();
CREATE TRIGGER sys_user__pieces_update AFTER UPDATE ON sys_user REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sys_user__piece_deltas();
CREATE TRIGGER sys_user__pieces_delete AFTER DELETE ON sys_user REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sys_user__piece_deltas();

CREATE FUNCTION task__piece_deltas() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO tollgate_piece_deltas (counts, piece, d)
        SELECT counts, piece, COUNT(*) FROM (
            SELECT 'task__pieces_number' AS counts, unnest(tollgate_word_pieces(number)) AS piece FROM new_rows
            UNION ALL SELECT 'task__pieces_short_description', unnest(tollgate_word_pieces(short_description)) FROM new_rows
        ) x GROUP BY counts, piece;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO tollgate_piece_deltas (counts, piece, d)
        SELECT counts, piece, -COUNT(*) FROM (
            SELECT 'task__pieces_number' AS counts, unnest(tollgate_word_pieces(number)) AS piece FROM old_rows
            UNION ALL SELECT 'task__pieces_short_description', unnest(tollgate_word_pieces(short_description)) FROM old_rows
        ) x GROUP BY counts, piece;
    ELSE
        INSERT INTO tollgate_piece_deltas (counts, piece, d)
        SELECT counts, piece, SUM(d) FROM (
            SELECT 'task__pieces_number' AS counts, unnest(tollgate_word_pieces(n.number)) AS piece, 1 AS d FROM new_rows n JOIN old_rows o USING (sys_id) WHERE n.number IS DISTINCT FROM o.number
            UNION ALL SELECT 'task__pieces_number', unnest(tollgate_word_pieces(o.number)), -1 FROM new_rows n JOIN old_rows o USING (sys_id) WHERE n.number IS DISTINCT FROM o.number
            UNION ALL SELECT 'task__pieces_short_description', unnest(tollgate_word_pieces(n.short_description)), 1 FROM new_rows n JOIN old_rows o USING (sys_id) WHERE n.short_description IS DISTINCT FROM o.short_description
            UNION ALL SELECT 'task__pieces_short_description', unnest(tollgate_word_pieces(o.short_description)), -1 FROM new_rows n JOIN old_rows o USING (sys_id) WHERE n.short_description IS DISTINCT FROM o.short_description
        ) x GROUP BY counts, piece HAVING SUM(d) <> 0;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER task__pieces_insert AFTER INSERT ON task REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION task__piece_deltas();
CREATE TRIGGER task__pieces_update AFTER UPDATE ON task REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION task__piece_deltas();
CREATE TRIGGER task__pieces_delete AFTER DELETE ON task REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION task__piece_deltas();

CREATE FUNCTION cmdb_model__piece_deltas() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO tollgate_piece_deltas (counts, piece, d)
        SELECT counts, piece, COUNT(*) FROM (
            SELECT 'cmdb_model__pieces_name' AS counts, unnest(tollgate_word_pieces(name)) AS piece FROM new_rows
        ) x GROUP BY counts, piece;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO tollgate_piece_deltas (counts, piece, d)
        SELECT counts, piece, -COUNT(*) FROM (
            SELECT 'cmdb_model__pieces_name' AS counts, unnest(tollgate_word_pieces(name)) AS piece FROM old_rows
        ) x GROUP BY counts, piece;
    ELSE
        INSERT INTO tollgate_piece_deltas (counts, piece, d)
        SELECT counts, piece, SUM(d) FROM (
            SELECT 'cmdb_model__pieces_name' AS counts, unnest(tollgate_word_pieces(n.name)) AS piece, 1 AS d FROM new_rows n JOIN old_rows o USING (sys_id) WHERE n.name IS DISTINCT FROM o.name
            UNION ALL SELECT 'cmdb_model__pieces_name', unnest(tollgate_word_pieces(o.name)), -1 FROM new_rows n JOIN old_rows o USING (sys_id) WHERE n.name IS DISTINCT FROM o.name
        ) x GROUP BY counts, piece HAVING SUM(d) <> 0;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER cmdb_model__pieces_insert AFTER INSERT ON cmdb_model REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION cmdb_model__piece_deltas();
CREATE TRIGGER cmdb_model__pieces_update AFTER UPDATE ON cmdb_model REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION cmdb_model__piece_deltas();
CREATE TRIGGER cmdb_model__pieces_delete AFTER DELETE ON cmdb_model REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION cmdb_model__piece_deltas();

CREATE FUNCTION sn_dpr_model_release__piece_deltas() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO tollgate_piece_deltas (counts, piece, d)
        SELECT counts, piece, COUNT(*) FROM (
            SELECT 'sn_dpr_model_release__pieces_number' AS counts, unnest(tollgate_word_pieces(number)) AS piece FROM new_rows
            UNION ALL SELECT 'sn_dpr_model_release__pieces_name', unnest(tollgate_word_pieces(name)) FROM new_rows
        ) x GROUP BY counts, piece;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO tollgate_piece_deltas (counts, piece, d)
        SELECT counts, piece, -COUNT(*) FROM (
            SELECT 'sn_dpr_model_release__pieces_number' AS counts, unnest(tollgate_word_pieces(number)) AS piece FROM old_rows
            UNION ALL SELECT 'sn_dpr_model_release__pieces_name', unnest(tollgate_word_pieces(name)) FROM old_rows
        ) x GROUP BY counts, piece;
    ELSE
        INSERT INTO tollgate_piece_deltas (counts, piece, d)
        SELECT counts, piece, SUM(d) FROM (
            SELECT 'sn_dpr_model_release__pieces_number' AS counts, unnest(tollgate_word_pieces(n.number)) AS piece, 1 AS d FROM new_rows n JOIN old_rows o USING (sys_id) WHERE n.number IS DISTINCT FROM o.number
            UNION ALL SELECT 'sn_dpr_model_release__pieces_number', unnest(tollgate_word_pieces(o.number)), -1 FROM new_rows n JOIN old_rows o USING (sys_id) WHERE n.number IS DISTINCT FROM o.number
            UNION ALL SELECT 'sn_dpr_model_release__pieces_name', unnest(tollgate_word_pieces(n.name)), 1 FROM new_rows n JOIN old_rows o USING (sys_id) WHERE n.name IS DISTINCT FROM o.name
            UNION ALL SELECT 'sn_dpr_model_release__pieces_name', unnest(tollgate_word_pieces(o.name)), -1 FROM new_rows n JOIN old_rows o USING (sys_id) WHERE n.name IS DISTINCT FROM o.name
        ) x GROUP BY counts, piece HAVING SUM(d) <> 0;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER sn_dpr_model_release__pieces_insert AFTER INSERT ON sn_dpr_model_release REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sn_dpr_model_release__piece_deltas();
CREATE TRIGGER sn_dpr_model_release__pieces_update AFTER UPDATE ON sn_dpr_model_release REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sn_dpr_model_release__piece_deltas();
CREATE TRIGGER sn_dpr_model_release__pieces_delete AFTER DELETE ON sn_dpr_model_release REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sn_dpr_model_release__piece_deltas();
