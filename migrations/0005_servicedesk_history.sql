-- ServiceDesk-style release history: one entry per operation, with the
-- fields it changed.
CREATE TABLE sdp_release_history (
    id BIGINT PRIMARY KEY,
    release_id BIGINT NOT NULL,
    operation TEXT NOT NULL,
    display_name TEXT NOT NULL,
    by_user BIGINT NOT NULL,
    time BIGINT NOT NULL,
    description TEXT,
    diff TEXT NOT NULL
);
CREATE INDEX sdp_release_history_release ON sdp_release_history (release_id, id);
INSERT INTO tollgate_counter (name, value) VALUES ('sdp_release_history', 0);
