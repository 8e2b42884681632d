-- Digital Product Release: products and versions, templates and phases, policies,
-- releases with their phases, policy executions, key dates, related tasks,
-- enhancements, bundles and progress workers; and per-table counters for
-- human numbers (REL0001001) that are safe across replicas.

-- Products, services and their versions, in one table per hierarchy (sys_class_name names the concrete table).
CREATE TABLE cmdb_model (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    sys_class_name TEXT NOT NULL,
    name TEXT NOT NULL,
    short_description TEXT,
    owned_by TEXT,
    product TEXT,
    version TEXT,
    status TEXT
);
CREATE INDEX cmdb_model_sys_class_name ON cmdb_model (sys_class_name);
CREATE INDEX cmdb_model_product ON cmdb_model (product);

CREATE TABLE sn_dpr_model_product_feature (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    description TEXT,
    product TEXT NOT NULL
);
CREATE INDEX sn_dpr_model_product_feature_product ON sn_dpr_model_product_feature (product);

-- Tasks, one table per hierarchy: related tasks live in tables that extend task.
CREATE TABLE task (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    sys_class_name TEXT NOT NULL,
    number TEXT,
    short_description TEXT,
    description TEXT,
    state TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    approval TEXT,
    assigned_to TEXT
);
CREATE INDEX task_sys_class_name ON task (sys_class_name);

CREATE TABLE sn_pace_policy (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    description TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    rego TEXT NOT NULL
);

CREATE TABLE sn_dpr_model_release_template (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    description TEXT,
    orientation TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE
);

CREATE TABLE sn_dpr_model_template_phase (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    template TEXT NOT NULL,
    name TEXT NOT NULL,
    "order" BIGINT NOT NULL,
    duration_days BIGINT NOT NULL DEFAULT 7
);
CREATE INDEX sn_dpr_model_template_phase_template ON sn_dpr_model_template_phase (template);

CREATE TABLE sn_dpr_model_template_phase_policy (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    template_phase TEXT NOT NULL,
    policy TEXT NOT NULL
);
CREATE INDEX sn_dpr_model_template_phase_policy_template_phase ON sn_dpr_model_template_phase_policy (template_phase);

CREATE TABLE sn_dpr_model_release (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    number TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    state TEXT NOT NULL,
    product TEXT NOT NULL,
    version TEXT,
    owner TEXT NOT NULL,
    template TEXT,
    process_type TEXT,
    readiness_target TEXT,
    release_calendar TEXT,
    planned_start TEXT,
    planned_end TEXT,
    primary_release TEXT,
    validates_version BOOLEAN NOT NULL DEFAULT FALSE,
    current_phase TEXT
);
CREATE INDEX sn_dpr_model_release_primary_release ON sn_dpr_model_release (primary_release);
CREATE INDEX sn_dpr_model_release_state ON sn_dpr_model_release (state);

CREATE TABLE sn_dpr_model_release_phase (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    "release" TEXT NOT NULL,
    template_phase TEXT,
    name TEXT NOT NULL,
    "order" BIGINT NOT NULL,
    state TEXT NOT NULL,
    planned_start TEXT,
    planned_end TEXT,
    actual_start TEXT,
    actual_end TEXT
);
CREATE INDEX sn_dpr_model_release_phase_release ON sn_dpr_model_release_phase ("release");

CREATE TABLE sn_dpr_model_policy_execution (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    "release" TEXT NOT NULL,
    release_phase TEXT NOT NULL,
    product TEXT NOT NULL,
    version TEXT,
    policy TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    output TEXT,
    last_run_at TEXT
);
CREATE INDEX sn_dpr_model_policy_execution_release_phase ON sn_dpr_model_policy_execution (release_phase);
CREATE INDEX sn_dpr_model_policy_execution_release ON sn_dpr_model_policy_execution ("release");

CREATE TABLE sn_dpr_model_release_key_date (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    "release" TEXT NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    state TEXT NOT NULL,
    due_date TEXT NOT NULL,
    description TEXT,
    assigned_to TEXT
);
CREATE INDEX sn_dpr_model_release_key_date_release ON sn_dpr_model_release_key_date ("release");

CREATE TABLE sn_dpr_model_release_related_task (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    "release" TEXT NOT NULL,
    task TEXT NOT NULL
);
CREATE INDEX sn_dpr_model_release_related_task_release ON sn_dpr_model_release_related_task ("release");

CREATE TABLE sn_dpr_model_product_enhancement (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    number TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    priority TEXT NOT NULL,
    state TEXT NOT NULL,
    product TEXT NOT NULL,
    version TEXT,
    "release" TEXT,
    product_feature TEXT
);
CREATE INDEX sn_dpr_model_product_enhancement_release ON sn_dpr_model_product_enhancement ("release");
CREATE INDEX sn_dpr_model_product_enhancement_product ON sn_dpr_model_product_enhancement (product);

CREATE TABLE sn_dpr_model_release_bundle (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    description TEXT,
    owner TEXT
);

CREATE TABLE sn_dpr_model_release_bundle_member (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    bundle TEXT NOT NULL,
    "release" TEXT NOT NULL
);
CREATE INDEX sn_dpr_model_release_bundle_member_bundle ON sn_dpr_model_release_bundle_member (bundle);
CREATE INDEX sn_dpr_model_release_bundle_member_release ON sn_dpr_model_release_bundle_member ("release");

-- The progress of asynchronous operations, as the vendor's Progress Worker
-- table shows it: a read-only view of the job queue (its sys_id is the job id).
CREATE VIEW sys_progress_worker AS
SELECT id AS sys_id,
    created_on AS sys_created_on,
    COALESCE(created_by, 'system') AS sys_created_by,
    updated_on AS sys_updated_on,
    'system' AS sys_updated_by,
    attempts AS sys_mod_count,
    kind AS name,
    CASE state WHEN 'succeeded' THEN 'complete' WHEN 'failed' THEN 'error'
        WHEN 'canceled' THEN 'cancelled' ELSE state END AS state,
    status_message AS message,
    percent_complete,
    COALESCE(error, status_detail) AS output_summary
FROM tollgate_job;

CREATE UNIQUE INDEX sn_dpr_model_release_related_task_pair ON sn_dpr_model_release_related_task ("release", task);
CREATE UNIQUE INDEX sn_dpr_model_release_bundle_member_pair ON sn_dpr_model_release_bundle_member (bundle, "release");
CREATE UNIQUE INDEX sn_dpr_model_template_phase_policy_pair ON sn_dpr_model_template_phase_policy (template_phase, policy);
CREATE UNIQUE INDEX sn_dpr_model_policy_execution_key ON sn_dpr_model_policy_execution (release_phase, product, policy);

CREATE TABLE tollgate_counter (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO tollgate_counter (name, value) VALUES ('sn_dpr_model_release', 1000);
INSERT INTO tollgate_counter (name, value) VALUES ('sn_dpr_model_product_enhancement', 1000);
INSERT INTO tollgate_counter (name, value) VALUES ('task', 1000);
