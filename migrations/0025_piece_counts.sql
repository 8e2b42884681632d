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
-- which Tollgate calls now and then (`TOLLGATE_PIECE_FOLD_SECS`), moves the
-- deltas into the counts. A count is the counts' row plus the deltas' sum for
-- that piece, so it is right whether or not the fold has run.
-- SQLite needs none of this: its word-piece index counts from one list.

--! postgres
CREATE FUNCTION tollgate_word_pieces(value text) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT COALESCE(array_agg(DISTINCT substr(w, i, k)), '{}')
    FROM regexp_split_to_table(lower(value), '[^a-z]+') AS w,
         generate_series(1, length(w) - 3) AS i,
         generate_series(4, 6) AS k
    WHERE i + k - 1 <= length(w)
$$;

CREATE TABLE tollgate_piece_deltas (counts TEXT NOT NULL, piece TEXT NOT NULL, d BIGINT NOT NULL);
CREATE INDEX tollgate_piece_deltas_piece ON tollgate_piece_deltas (counts, piece) INCLUDE (d);

-- The trigger: TG_ARGV[0] is the table's key column, the rest its
-- text-indexed columns. An UPDATE counts only the rows whose column changed.
CREATE FUNCTION tollgate_piece_deltas() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    key text := TG_ARGV[0];
    col text;
    came text;
    gone text;
BEGIN
    -- Statement triggers fire for statements that change no row too.
    IF TG_OP = 'DELETE' THEN
        PERFORM 1 FROM old_rows LIMIT 1;
    ELSE
        PERFORM 1 FROM new_rows LIMIT 1;
    END IF;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    FOREACH col IN ARRAY TG_ARGV[1:] LOOP
        IF TG_OP = 'INSERT' THEN
            came := format('SELECT unnest(tollgate_word_pieces(%I)) AS piece, 1 AS d FROM new_rows', col);
            gone := 'SELECT NULL::text, 0 WHERE false';
        ELSIF TG_OP = 'DELETE' THEN
            came := 'SELECT NULL::text, 0 WHERE false';
            gone := format('SELECT unnest(tollgate_word_pieces(%I)), -1 FROM old_rows', col);
        ELSE
            came := format('SELECT unnest(tollgate_word_pieces(n.%1$I)) AS piece, 1 AS d FROM new_rows n JOIN old_rows o USING (%2$I) WHERE n.%1$I IS DISTINCT FROM o.%1$I', col, key);
            gone := format('SELECT unnest(tollgate_word_pieces(o.%1$I)), -1 FROM new_rows n JOIN old_rows o USING (%2$I) WHERE n.%1$I IS DISTINCT FROM o.%1$I', col, key);
        END IF;
        EXECUTE format('INSERT INTO tollgate_piece_deltas (counts, piece, d) SELECT %L, piece, SUM(d) FROM (%s UNION ALL %s) x (piece, d) GROUP BY piece HAVING SUM(d) <> 0',
            TG_TABLE_NAME || '__pieces_' || col, came, gone);
    END LOOP;
    RETURN NULL;
END
$$;

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

CREATE TRIGGER sdp_release__pieces_insert AFTER INSERT ON sdp_release REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tollgate_piece_deltas('id', 'title', 'description');
CREATE TRIGGER sdp_release__pieces_update AFTER UPDATE ON sdp_release REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tollgate_piece_deltas('id', 'title', 'description');
CREATE TRIGGER sdp_release__pieces_delete AFTER DELETE ON sdp_release REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION tollgate_piece_deltas('id', 'title', 'description');
CREATE TRIGGER sys_user__pieces_insert AFTER INSERT ON sys_user REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tollgate_piece_deltas('sys_id', 'user_name', 'name', 'email');
CREATE TRIGGER sys_user__pieces_update AFTER UPDATE ON sys_user REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tollgate_piece_deltas('sys_id', 'user_name', 'name', 'email');
CREATE TRIGGER sys_user__pieces_delete AFTER DELETE ON sys_user REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION tollgate_piece_deltas('sys_id', 'user_name', 'name', 'email');
CREATE TRIGGER task__pieces_insert AFTER INSERT ON task REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tollgate_piece_deltas('sys_id', 'number', 'short_description');
CREATE TRIGGER task__pieces_update AFTER UPDATE ON task REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tollgate_piece_deltas('sys_id', 'number', 'short_description');
CREATE TRIGGER task__pieces_delete AFTER DELETE ON task REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION tollgate_piece_deltas('sys_id', 'number', 'short_description');
CREATE TRIGGER cmdb_model__pieces_insert AFTER INSERT ON cmdb_model REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tollgate_piece_deltas('sys_id', 'name');
CREATE TRIGGER cmdb_model__pieces_update AFTER UPDATE ON cmdb_model REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tollgate_piece_deltas('sys_id', 'name');
CREATE TRIGGER cmdb_model__pieces_delete AFTER DELETE ON cmdb_model REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION tollgate_piece_deltas('sys_id', 'name');
CREATE TRIGGER sn_dpr_model_release__pieces_insert AFTER INSERT ON sn_dpr_model_release REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tollgate_piece_deltas('sys_id', 'number', 'name');
CREATE TRIGGER sn_dpr_model_release__pieces_update AFTER UPDATE ON sn_dpr_model_release REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tollgate_piece_deltas('sys_id', 'number', 'name');
CREATE TRIGGER sn_dpr_model_release__pieces_delete AFTER DELETE ON sn_dpr_model_release REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION tollgate_piece_deltas('sys_id', 'number', 'name');
