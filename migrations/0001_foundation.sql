-- Foundation: identity, system properties, schedules, release calendars and
-- readiness targets, API keys, OAuth tokens and the job queue.
-- Every registered table carries the standard system fields. Date-times are
-- stored as UTC text 'YYYY-MM-DD hh:mm:ss', which sorts and compares correctly
-- on both databases.

CREATE TABLE sys_user (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    user_name TEXT NOT NULL,
    first_name TEXT,
    last_name TEXT,
    name TEXT,
    email TEXT,
    title TEXT,
    time_zone TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    locked_out BOOLEAN NOT NULL DEFAULT FALSE,
    user_password TEXT
);
CREATE UNIQUE INDEX sys_user_user_name ON sys_user (user_name);

CREATE TABLE sys_user_role (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    description TEXT
);
CREATE UNIQUE INDEX sys_user_role_name ON sys_user_role (name);

CREATE TABLE sys_user_has_role (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    "user" TEXT NOT NULL,
    role TEXT NOT NULL
);
CREATE UNIQUE INDEX sys_user_has_role_user_role ON sys_user_has_role ("user", role);

CREATE TABLE sys_properties (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    value TEXT,
    description TEXT,
    type TEXT
);
CREATE UNIQUE INDEX sys_properties_name ON sys_properties (name);

CREATE TABLE cmn_schedule (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    description TEXT,
    time_zone TEXT,
    type TEXT
);

CREATE TABLE cmn_schedule_span (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    schedule TEXT NOT NULL,
    name TEXT,
    type TEXT,
    start_date_time TEXT NOT NULL,
    end_date_time TEXT NOT NULL,
    repeat_type TEXT
);
CREATE INDEX cmn_schedule_span_schedule ON cmn_schedule_span (schedule);

CREATE TABLE sn_dpr_model_release_calendar (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    description TEXT,
    release_admin TEXT,
    schedules TEXT,
    time_zone TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE
);

CREATE TABLE sn_dpr_model_release_target (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    description TEXT,
    release_calendar TEXT NOT NULL,
    release_admin TEXT,
    target_date TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    recurring BOOLEAN NOT NULL DEFAULT FALSE,
    repeat_type TEXT,
    repeat_every BIGINT,
    days_of_week BIGINT,
    series TEXT,
    schedule TEXT,
    overlaps_schedule BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX sn_dpr_model_release_target_calendar ON sn_dpr_model_release_target (release_calendar, target_date);

CREATE TABLE tollgate_api_key (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    created_on TEXT NOT NULL
);
CREATE UNIQUE INDEX tollgate_api_key_hash ON tollgate_api_key (key_hash);

CREATE TABLE tollgate_oauth_token (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_on TEXT NOT NULL
);
CREATE UNIQUE INDEX tollgate_oauth_token_hash ON tollgate_oauth_token (token_hash);

-- Bumped on every change to users, roles, passwords or keys, so each replica
-- can drop its credential cache when another replica changed identity data.
CREATE TABLE tollgate_state (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO tollgate_state (name, value) VALUES ('identity_epoch', 0);

CREATE TABLE tollgate_job (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL DEFAULT 3,
    run_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_expires_at BIGINT,
    percent_complete BIGINT NOT NULL DEFAULT 0,
    status_message TEXT,
    status_detail TEXT,
    error TEXT,
    result_table TEXT,
    result_id TEXT,
    created_by TEXT,
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL
);
CREATE INDEX tollgate_job_claim ON tollgate_job (state, run_at);
