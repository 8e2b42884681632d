-- CI/CD update sets: application scopes, user preferences (the current update
-- set), update sets and their captured customer updates, version history,
-- remote instances, retrieved update sets and preview problems; and the
-- server's data-encryption key when none is configured.

CREATE TABLE tollgate_secret (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE sys_scope (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    version TEXT,
    short_description TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE UNIQUE INDEX sys_scope_scope ON sys_scope (scope);

CREATE TABLE sys_user_preference (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    "user" TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT,
    description TEXT
);
CREATE UNIQUE INDEX sys_user_preference_user_name ON sys_user_preference ("user", name);

CREATE TABLE sys_update_set (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    description TEXT,
    state TEXT NOT NULL,
    application TEXT,
    remote_sys_id TEXT,
    origin_sys_id TEXT,
    install_date TEXT,
    installed_from TEXT,
    install_batch TEXT,
    completed_on TEXT,
    completed_by TEXT,
    backed_out BOOLEAN NOT NULL DEFAULT FALSE,
    backed_out_on TEXT
);
CREATE INDEX sys_update_set_remote_sys_id ON sys_update_set (remote_sys_id);

CREATE TABLE sys_remote_update_set (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    description TEXT,
    state TEXT NOT NULL,
    remote_sys_id TEXT,
    origin_sys_id TEXT,
    update_source TEXT,
    application TEXT,
    update_set TEXT,
    commit_date TEXT,
    preview_date TEXT,
    update_count BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX sys_remote_update_set_remote_sys_id ON sys_remote_update_set (remote_sys_id);

CREATE TABLE sys_update_xml (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    update_set TEXT,
    remote_update_set TEXT,
    name TEXT NOT NULL,
    "table" TEXT NOT NULL,
    record_sys_id TEXT NOT NULL,
    target_name TEXT,
    type TEXT,
    action TEXT NOT NULL,
    payload TEXT,
    base_payload TEXT,
    base_update_set TEXT,
    application TEXT,
    sequence BIGINT NOT NULL DEFAULT 0,
    disposition TEXT
);
CREATE INDEX sys_update_xml_update_set ON sys_update_xml (update_set, sequence);
CREATE INDEX sys_update_xml_remote_update_set ON sys_update_xml (remote_update_set, sequence);

CREATE TABLE sys_update_version (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    record_name TEXT,
    action TEXT NOT NULL,
    payload TEXT,
    source_table TEXT,
    source TEXT,
    state TEXT NOT NULL,
    application TEXT
);
CREATE INDEX sys_update_version_name ON sys_update_version (name, state);

CREATE TABLE sys_update_set_source (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    username TEXT,
    password TEXT,
    type TEXT,
    instance_id TEXT,
    description TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE INDEX sys_update_set_source_instance_id ON sys_update_set_source (instance_id);

CREATE TABLE sys_update_preview_problem (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    remote_update_set TEXT NOT NULL,
    remote_update TEXT,
    type TEXT NOT NULL,
    problem_type TEXT NOT NULL,
    description TEXT,
    missing_item TEXT,
    missing_item_table TEXT,
    status TEXT
);
CREATE INDEX sys_update_preview_problem_set ON sys_update_preview_problem (remote_update_set);
