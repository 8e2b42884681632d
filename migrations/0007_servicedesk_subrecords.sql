-- ServiceDesk-style release sub-records: tasks, worklogs and notes.
CREATE TABLE sdp_release_child (
    kind TEXT NOT NULL,
    id BIGINT NOT NULL,
    release_id BIGINT NOT NULL,
    title TEXT,
    description TEXT,
    status TEXT,
    hours BIGINT,
    minutes BIGINT,
    show_to_requester BOOLEAN NOT NULL DEFAULT FALSE,
    created_by BIGINT NOT NULL,
    created_time BIGINT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX sdp_release_child_release ON sdp_release_child (release_id, kind);
