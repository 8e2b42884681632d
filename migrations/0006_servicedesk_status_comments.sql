-- ServiceDesk-style status comments: one per stage or status change.
CREATE TABLE sdp_status_comment (
    id BIGINT PRIMARY KEY,
    release_id BIGINT NOT NULL,
    stage_id BIGINT NOT NULL,
    status_id BIGINT NOT NULL,
    comment TEXT NOT NULL,
    commented_by BIGINT NOT NULL,
    commented_on BIGINT NOT NULL
);
CREATE INDEX sdp_status_comment_release ON sdp_status_comment (release_id, id);
INSERT INTO tollgate_counter (name, value) VALUES ('sdp_status_comment', 0);
