-- ServiceDesk-style descriptive sub-records of a release (roll-out plan,
-- back-out plan, checklist, impact details, close details, review details).
CREATE TABLE sdp_release_descriptive (
    release_id BIGINT NOT NULL,
    field TEXT NOT NULL,
    description TEXT,
    updated_by BIGINT NOT NULL,
    updated_on BIGINT NOT NULL,
    PRIMARY KEY (release_id, field)
);
