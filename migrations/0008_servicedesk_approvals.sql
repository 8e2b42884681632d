-- ServiceDesk-style approvals: levels per release stage, with approvers and
-- a rule (a percentage of approvers that must approve), and each decision.
CREATE TABLE sdp_approval_level (
    id BIGINT PRIMARY KEY,
    release_id BIGINT NOT NULL,
    stage_id BIGINT NOT NULL,
    level BIGINT NOT NULL,
    name TEXT NOT NULL,
    rule_percent BIGINT NOT NULL,
    status TEXT NOT NULL,
    created_by BIGINT NOT NULL,
    created_on BIGINT NOT NULL,
    action_taken_by BIGINT,
    action_taken_on BIGINT,
    comments TEXT
);
CREATE INDEX sdp_approval_level_release ON sdp_approval_level (release_id, stage_id);

CREATE TABLE sdp_approver (
    id BIGINT PRIMARY KEY,
    level_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    decision TEXT NOT NULL,
    decided_on BIGINT,
    comments TEXT
);
CREATE UNIQUE INDEX sdp_approver_level_user ON sdp_approver (level_id, user_id);
