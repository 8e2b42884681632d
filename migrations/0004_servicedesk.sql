-- ServiceDesk-style (v3) releases: reference data as the product ships it,
-- users of that family, release records and their role assignments. Ids are
-- numbers (shown as strings); times are epoch milliseconds.

CREATE TABLE sdp_reference (
    kind TEXT NOT NULL,
    id BIGINT NOT NULL,
    name TEXT NOT NULL,
    internal_name TEXT,
    parent_id BIGINT,
    status_type TEXT,
    color TEXT,
    sort_index BIGINT,
    description TEXT,
    PRIMARY KEY (kind, id)
);

CREATE TABLE sdp_user (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    email_id TEXT,
    phone TEXT,
    mobile TEXT,
    department TEXT,
    is_vipuser BOOLEAN NOT NULL DEFAULT FALSE,
    sys_user TEXT
);

CREATE TABLE sdp_release (
    id BIGINT PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT,
    template_id BIGINT NOT NULL,
    stage_id BIGINT NOT NULL,
    status_id BIGINT NOT NULL,
    impact_id BIGINT,
    priority_id BIGINT,
    urgency_id BIGINT,
    risk_id BIGINT,
    category_id BIGINT,
    subcategory_id BIGINT,
    item_id BIGINT,
    release_type_id BIGINT,
    group_id BIGINT,
    site_id BIGINT,
    services TEXT,
    emergency BOOLEAN NOT NULL DEFAULT FALSE,
    scheduled_start BIGINT,
    scheduled_end BIGINT,
    next_review_on BIGINT,
    created_time BIGINT NOT NULL,
    completed_time BIGINT,
    deleted_time BIGINT,
    created_by TEXT NOT NULL
);

CREATE TABLE sdp_release_role (
    id BIGINT PRIMARY KEY,
    release_id BIGINT NOT NULL,
    role_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL
);
CREATE INDEX sdp_release_role_release ON sdp_release_role (release_id);

INSERT INTO tollgate_counter (name, value) VALUES ('sdp_release', 0);
INSERT INTO tollgate_counter (name, value) VALUES ('sdp_release_role', 0);
INSERT INTO tollgate_counter (name, value) VALUES ('sdp_user', 100);

INSERT INTO sdp_reference (kind, id, name, internal_name, sort_index, description) VALUES ('stage', 1, 'Submission', 'submission', 1, 'Stage when a release item is submitted');
INSERT INTO sdp_reference (kind, id, name, internal_name, sort_index, description) VALUES ('stage', 2, 'Planning', 'planning', 2, 'Release planning');
INSERT INTO sdp_reference (kind, id, name, internal_name, sort_index, description) VALUES ('stage', 3, 'Development', 'implementation', 3, 'Prepare the release build and test');
INSERT INTO sdp_reference (kind, id, name, internal_name, sort_index, description) VALUES ('stage', 4, 'Testing', 'testing', 4, 'Test the developed release build');
INSERT INTO sdp_reference (kind, id, name, internal_name, sort_index, description) VALUES ('stage', 5, 'UAT', 'UAT', 5, 'Build given to portion of Users to get tested and reviewd');
INSERT INTO sdp_reference (kind, id, name, internal_name, sort_index, description) VALUES ('stage', 6, 'Deployment', 'deployment', 6, 'Release items are deployed');
INSERT INTO sdp_reference (kind, id, name, internal_name, sort_index, description) VALUES ('stage', 7, 'Training', 'training', 7, 'Providing Training and Support for the deployed Release Items');
INSERT INTO sdp_reference (kind, id, name, internal_name, sort_index, description) VALUES ('stage', 8, 'Review', 'review', 8, 'Review of release build');
INSERT INTO sdp_reference (kind, id, name, internal_name, sort_index, description) VALUES ('stage', 9, 'Closure', 'close', 9, 'Release closure');

INSERT INTO sdp_reference (kind, id, name, internal_name, parent_id, status_type) VALUES ('status', 1, 'Requested', 'requested', 1, 'In Progress');
INSERT INTO sdp_reference (kind, id, name, internal_name, parent_id, status_type) VALUES ('status', 2, 'Accepted', 'accepted', 1, 'Success');
INSERT INTO sdp_reference (kind, id, name, internal_name, parent_id, status_type) VALUES ('status', 3, 'Rejected', 'rejected', 1, 'Failed');
INSERT INTO sdp_reference (kind, id, name, internal_name, parent_id, status_type) VALUES ('status', 4, 'Requested for information', 'requested_for_information', 1, 'In Progress');
INSERT INTO sdp_reference (kind, id, name, internal_name, parent_id, status_type) VALUES ('status', 5, 'Submitted for authorization', 'submitted_for_authorization', 1, 'In Progress');
INSERT INTO sdp_reference (kind, id, name, internal_name, parent_id, status_type) VALUES ('status', 6, 'In progress', 'in_progress', 2, 'In Progress');
INSERT INTO sdp_reference (kind, id, name, internal_name, parent_id, status_type) VALUES ('status', 7, 'Rejected', 'rejected', 2, 'Failed');
INSERT INTO sdp_reference (kind, id, name, internal_name, parent_id, status_type) VALUES ('status', 8, 'Approved', 'approved', 2, 'Success');
INSERT INTO sdp_reference (kind, id, name, internal_name, parent_id, status_type) VALUES ('status', 9, 'Requested for information', 'requested_for_information', 2, 'In Progress');
INSERT INTO sdp_reference (kind, id, name, internal_name, parent_id, status_type) VALUES ('status', 10, 'Submitted for authorization', 'submitted_for_authorization', 2, 'In Progress');
INSERT INTO sdp_reference (kind, id, name, internal_name, parent_id, status_type) VALUES ('status', 11, 'In progress', 'in_progress', 3, 'In Progress');
INSERT INTO sdp_reference (kind, id, name, internal_name, parent_id, status_type) VALUES ('status', 12, 'On hold', 'on_hold', 3, 'In Progress');
INSERT INTO sdp_reference (kind, id, name, internal_name, parent_id, status_type) VALUES ('status', 13, 'Completed', 'completed', 3, 'Success');
INSERT INTO sdp_reference (kind, id, name, internal_name, parent_id, status_type) VALUES ('status', 14, 'Backout', 'backout', 3, 'Failed');
INSERT INTO sdp_reference (kind, id, name, internal_name, parent_id, status_type) VALUES ('status', 15, 'In progress', 'in_progress', 4, 'In Progress');
INSERT INTO sdp_reference (kind, id, name, internal_name, parent_id, status_type) VALUES ('status', 16, 'Completed', 'completed', 4, 'Success');
INSERT INTO sdp_reference (kind, id, name, internal_name, parent_id, status_type) VALUES ('status', 17, 'Failed', 'failed', 4, 'Failed');
INSERT INTO sdp_reference (kind, id, name, internal_name, parent_id, status_type) VALUES ('status', 18, 'In progress', 'in_progress', 5, 'In Progress');
INSERT INTO sdp_reference (kind, id, name, internal_name, parent_id, status_type) VALUES ('status', 19, 'Accepted', 'accepted', 5, 'Success');
INSERT INTO sdp_reference (kind, id, name, internal_name, parent_id, status_type) VALUES ('status', 20, 'In progress', 'in_progress', 6, 'In Progress');
INSERT INTO sdp_reference (kind, id, name, internal_name, parent_id, status_type) VALUES ('status', 21, 'Deployed', 'deployed', 6, 'Success');
INSERT INTO sdp_reference (kind, id, name, internal_name, parent_id, status_type) VALUES ('status', 22, 'Completed', 'completed', 9, 'Success');
INSERT INTO sdp_reference (kind, id, name, internal_name, parent_id, status_type) VALUES ('status', 23, 'In progress', 'in_progress', 7, 'In Progress');
INSERT INTO sdp_reference (kind, id, name, internal_name, parent_id, status_type) VALUES ('status', 24, 'Completed', 'completed', 7, 'Success');
INSERT INTO sdp_reference (kind, id, name, internal_name, parent_id, status_type) VALUES ('status', 25, 'In progress', 'in_progress', 8, 'In Progress');
INSERT INTO sdp_reference (kind, id, name, internal_name, parent_id, status_type) VALUES ('status', 26, 'Completed', 'completed', 8, 'Success');
INSERT INTO sdp_reference (kind, id, name, internal_name, parent_id, status_type) VALUES ('status', 27, 'Canceled', 'canceled', 9, 'Failed');

INSERT INTO sdp_reference (kind, id, name, color) VALUES ('priority', 1, 'Low', '#666666');
INSERT INTO sdp_reference (kind, id, name, color) VALUES ('priority', 2, 'Medium', '#ffbb00');
INSERT INTO sdp_reference (kind, id, name, color) VALUES ('priority', 3, 'Normal', '#00aa00');
INSERT INTO sdp_reference (kind, id, name, color) VALUES ('priority', 4, 'High', '#ff0000');
INSERT INTO sdp_reference (kind, id, name) VALUES ('urgency', 1, 'Urgent');
INSERT INTO sdp_reference (kind, id, name) VALUES ('urgency', 2, 'High');
INSERT INTO sdp_reference (kind, id, name) VALUES ('urgency', 3, 'Normal');
INSERT INTO sdp_reference (kind, id, name) VALUES ('urgency', 4, 'Low');
INSERT INTO sdp_reference (kind, id, name) VALUES ('impact', 1, 'High');
INSERT INTO sdp_reference (kind, id, name) VALUES ('impact', 2, 'Medium');
INSERT INTO sdp_reference (kind, id, name) VALUES ('impact', 3, 'Low');
INSERT INTO sdp_reference (kind, id, name) VALUES ('risk', 1, 'Low');
INSERT INTO sdp_reference (kind, id, name) VALUES ('risk', 2, 'Medium');
INSERT INTO sdp_reference (kind, id, name) VALUES ('risk', 3, 'High');
INSERT INTO sdp_reference (kind, id, name) VALUES ('risk', 4, 'Very High');
INSERT INTO sdp_reference (kind, id, name, color) VALUES ('release_type', 1, 'Standard', '#aaff66');
INSERT INTO sdp_reference (kind, id, name, color) VALUES ('release_type', 2, 'Minor', '#66aaff');
INSERT INTO sdp_reference (kind, id, name, color) VALUES ('release_type', 3, 'Major', '#ff9966');
INSERT INTO sdp_reference (kind, id, name, color) VALUES ('release_type', 4, 'Significant', '#ff6666');
INSERT INTO sdp_reference (kind, id, name) VALUES ('template', 1, 'General Template');
INSERT INTO sdp_reference (kind, id, name, internal_name) VALUES ('role', 1, 'Release Manager', 'release_manager');
INSERT INTO sdp_reference (kind, id, name, internal_name) VALUES ('role', 2, 'Release Engineer', 'release_engineer');
INSERT INTO sdp_reference (kind, id, name, internal_name) VALUES ('role', 3, 'Release Requester', 'release_requester');
INSERT INTO sdp_reference (kind, id, name) VALUES ('category', 1, 'General');
INSERT INTO sdp_reference (kind, id, name) VALUES ('category', 2, 'Hardware');
INSERT INTO sdp_reference (kind, id, name) VALUES ('category', 3, 'Software');
INSERT INTO sdp_reference (kind, id, name, parent_id) VALUES ('subcategory', 7, 'IE 7', 3);
INSERT INTO sdp_reference (kind, id, name, parent_id) VALUES ('subcategory', 8, 'MS Office', 3);
INSERT INTO sdp_reference (kind, id, name, parent_id) VALUES ('item', 6, 'Install', 7);
INSERT INTO sdp_reference (kind, id, name, parent_id) VALUES ('item', 9, 'Upgrade', 7);
INSERT INTO sdp_reference (kind, id, name) VALUES ('group', 1, 'Hardware Problems');
INSERT INTO sdp_reference (kind, id, name) VALUES ('group', 2, 'Network');
INSERT INTO sdp_reference (kind, id, name) VALUES ('service', 1, 'Application Login');
INSERT INTO sdp_reference (kind, id, name) VALUES ('service', 2, 'Communication');
INSERT INTO sdp_reference (kind, id, name) VALUES ('site', 1, 'Head Office');
