-- Configuration Data Management: applications and shared libraries, the node
-- versions of their configuration trees, changesets, deployables and the
-- application services they connect to, snapshots, the request queue
-- (uploads, commits, exports), policy mappings and shared components.

CREATE TABLE sn_cdm_application (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    description TEXT,
    type TEXT NOT NULL,
    state TEXT NOT NULL,
    available BOOLEAN NOT NULL DEFAULT TRUE,
    root_main_id BIGINT
);
CREATE UNIQUE INDEX sn_cdm_application_name ON sn_cdm_application (name);

-- One row per version of a node; main_id is the node's identity.
CREATE TABLE sn_cdm_node (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    sys_class_name TEXT,
    application TEXT NOT NULL,
    main_id BIGINT NOT NULL,
    main_id_encoded TEXT NOT NULL,
    parent_main_id BIGINT,
    node_path TEXT NOT NULL,
    level BIGINT NOT NULL,
    type TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    value TEXT,
    secure_value TEXT,
    secure BOOLEAN NOT NULL DEFAULT FALSE,
    status TEXT NOT NULL,
    node_classifier TEXT,
    position BIGINT,
    restricted_to TEXT,
    changeset_id TEXT,
    previous_version TEXT,
    effective_from BIGINT,
    effective_to BIGINT,
    system_folder BOOLEAN NOT NULL DEFAULT FALSE,
    linked_to BIGINT,
    conflict BOOLEAN NOT NULL DEFAULT FALSE,
    conflict_type TEXT,
    reason_for_conflict TEXT
);
CREATE INDEX sn_cdm_node_main ON sn_cdm_node (main_id, effective_to);
CREATE INDEX sn_cdm_node_app_current ON sn_cdm_node (application, effective_to);
CREATE INDEX sn_cdm_node_changeset ON sn_cdm_node (changeset_id);
CREATE INDEX sn_cdm_node_parent ON sn_cdm_node (parent_main_id);

CREATE TABLE sn_cdm_changeset (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    number TEXT NOT NULL,
    title TEXT,
    description TEXT,
    state TEXT NOT NULL,
    cdm_application TEXT NOT NULL,
    committed_at TEXT,
    committed_by TEXT,
    publish_option TEXT NOT NULL,
    auto_validate BOOLEAN NOT NULL DEFAULT FALSE,
    snapshot_name TEXT,
    snapshot_description TEXT,
    last_conflict_detection_time TEXT,
    last_updated TEXT
);
CREATE UNIQUE INDEX sn_cdm_changeset_number ON sn_cdm_changeset (number);
CREATE INDEX sn_cdm_changeset_application ON sn_cdm_changeset (cdm_application, state);

CREATE TABLE cmdb_ci_service_auto (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    environment TEXT
);

CREATE TABLE sn_cdm_deployable (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    description TEXT,
    cdm_app TEXT NOT NULL,
    cmdb_ci TEXT,
    node TEXT,
    main_id BIGINT NOT NULL,
    identifier TEXT,
    environment_type TEXT NOT NULL,
    cdi_count BIGINT NOT NULL DEFAULT 0,
    cdi_usage TEXT,
    snapshot_version_counter BIGINT NOT NULL DEFAULT 0,
    state TEXT NOT NULL
);
CREATE INDEX sn_cdm_deployable_app ON sn_cdm_deployable (cdm_app, name);

CREATE TABLE sn_cdm_snapshot (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    number TEXT,
    description TEXT,
    cdm_application_id TEXT NOT NULL,
    cdm_deployable_id TEXT NOT NULL,
    changeset_id TEXT,
    published BOOLEAN NOT NULL DEFAULT FALSE,
    last_published TEXT,
    last_validated TEXT,
    validation TEXT NOT NULL,
    validation_result TEXT,
    cdi_count BIGINT NOT NULL DEFAULT 0,
    content TEXT
);
CREATE INDEX sn_cdm_snapshot_deployable ON sn_cdm_snapshot (cdm_deployable_id);
CREATE INDEX sn_cdm_snapshot_changeset ON sn_cdm_snapshot (changeset_id);

CREATE TABLE sn_cdm_request_queue (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    type TEXT NOT NULL,
    state TEXT NOT NULL,
    processing_state TEXT NOT NULL,
    changeset TEXT,
    deployable TEXT,
    parameters TEXT,
    payload TEXT,
    output TEXT,
    errors TEXT
);

CREATE TABLE sn_cdm_pace_policy_mapping (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    number TEXT,
    policy TEXT NOT NULL,
    document TEXT NOT NULL,
    document_ref TEXT NOT NULL,
    description TEXT,
    state TEXT NOT NULL,
    input_status TEXT,
    exception_allowed TEXT,
    last_updated_by TEXT
);
CREATE INDEX sn_cdm_pace_policy_mapping_document ON sn_cdm_pace_policy_mapping (document);

CREATE TABLE sn_cdm_shared_component (
    sys_id TEXT PRIMARY KEY,
    sys_created_on TEXT NOT NULL,
    sys_created_by TEXT NOT NULL,
    sys_updated_on TEXT NOT NULL,
    sys_updated_by TEXT NOT NULL,
    sys_mod_count BIGINT NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    description TEXT,
    cdm_shared_library TEXT NOT NULL,
    node TEXT,
    node_main TEXT,
    main_id BIGINT NOT NULL,
    state TEXT NOT NULL,
    version_counter BIGINT NOT NULL DEFAULT 0
);
