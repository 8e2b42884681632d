-- The reference data's own epoch: moved by every write to sdp_reference and
-- by nothing else. The v3 release views keep the reference data (stages,
-- statuses, priorities...) cached while it holds (src/domain/sdp/releases.rs,
-- `View::load`); keyed by the data epoch, which every write moves, the cache
-- was reloaded after each unrelated write by every request in flight (at 100
-- user inserts a second, one search in two read the whole table again).
INSERT INTO tollgate_state (name, value) VALUES ('reference_epoch', 0);

--! sqlite
CREATE TRIGGER sdp_reference__epoch_insert AFTER INSERT ON sdp_reference BEGIN
    UPDATE tollgate_state SET value = value + 1 WHERE name = 'reference_epoch';
END;
CREATE TRIGGER sdp_reference__epoch_update AFTER UPDATE ON sdp_reference BEGIN
    UPDATE tollgate_state SET value = value + 1 WHERE name = 'reference_epoch';
END;
CREATE TRIGGER sdp_reference__epoch_delete AFTER DELETE ON sdp_reference BEGIN
    UPDATE tollgate_state SET value = value + 1 WHERE name = 'reference_epoch';
END;

--! postgres
CREATE FUNCTION tollgate_move_reference_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tollgate_state SET value = value + 1 WHERE name = 'reference_epoch';
    RETURN NULL;
END
$$;
CREATE TRIGGER sdp_reference__epoch AFTER INSERT OR UPDATE OR DELETE ON sdp_reference FOR EACH STATEMENT EXECUTE FUNCTION tollgate_move_reference_epoch();
