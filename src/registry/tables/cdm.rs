//! Configuration data management: applications, nodes, changesets,
//! deployables, snapshots, requests, policy mappings, shared components.

use crate::identity::roles::{CDM_ADMIN, CDM_EDITOR, CDM_VIEWER};
use crate::registry::{Column, ColumnType as T, Table};

const CDM_READERS: &[&str] = &[CDM_VIEWER, CDM_EDITOR, CDM_ADMIN];

const CDM_APPLICATION_TYPES: &[(&str, &str)] = &[
    ("application", "Application"),
    ("shared_library", "Shared library"),
];

const ACTIVE_STATES: &[(&str, &str)] = &[("active", "Active"), ("inactive", "Inactive")];

const CHANGESET_STATES: &[(&str, &str)] = &[
    ("open", "Open"),
    ("checking_for_conflict", "Checking for conflict"),
    ("blocked", "Blocked"),
    ("commit_in_progress", "Commit in progress"),
    ("committed", "Committed"),
    ("commit_failed", "Commit failed"),
];

const PUBLISH_OPTIONS: &[(&str, &str)] = &[
    ("publish_none", "Do not publish"),
    ("publish_valid", "Publish valid snapshots"),
];

const ENVIRONMENT_TYPES: &[(&str, &str)] = &[
    ("Development", "Development"),
    ("Test", "Test"),
    ("Production", "Production"),
];

const DEPLOYABLE_STATES: &[(&str, &str)] = &[("active", "Active"), ("deleted", "Deleted")];

const VALIDATION_STATES: &[(&str, &str)] = &[
    ("not_validated", "Not validated"),
    ("requested", "Requested"),
    ("in_progress", "In progress"),
    ("passed", "Passed"),
    ("passed_with_exception", "Passed with exception"),
    ("failed", "Failed"),
    ("execution_error", "Execution error"),
];

const REQUEST_TYPES: &[(&str, &str)] = &[
    ("commit", "Commit"),
    ("upload", "Upload"),
    ("upload_and_commit", "Upload and commit"),
    ("export", "Export"),
];

const REQUEST_STATES: &[(&str, &str)] = &[
    ("new", "New"),
    ("ready", "Ready"),
    ("in_progress", "In progress"),
    ("completed", "Completed"),
    ("error", "Error"),
];

pub(super) const SN_CDM_APPLICATION: Table = Table {
    name: "sn_cdm_application",
    label: "CDM Application",
    display_column: "name",
    columns: &[
        Column::new("name", "Name", T::String).mandatory(),
        Column::new("description", "Description", T::String),
        Column::new("type", "Type", T::Choice(CDM_APPLICATION_TYPES)).default("application"),
        Column::new("state", "State", T::Choice(ACTIVE_STATES)).default("active"),
        Column::new("available", "Available", T::Boolean).default("true"),
        Column::new("root_main_id", "Root node", T::Integer).read_only(),
    ],
    read_roles: CDM_READERS,
    write_roles: &[CDM_ADMIN],
    extends: None,
    number_prefix: None,
    view: false,
    configuration: false,
};

pub(super) const SN_CDM_NODE: Table = Table {
    name: "sn_cdm_node",
    label: "CDM Node",
    display_column: "name",
    columns: &[
        Column::new(
            "application",
            "Application",
            T::Reference("sn_cdm_application"),
        )
        .read_only(),
        Column::new("main_id", "Main ID", T::Integer).read_only(),
        Column::new("main_id_encoded", "Main ID (encoded)", T::String).read_only(),
        Column::new("parent_main_id", "Parent main ID", T::Integer).read_only(),
        Column::new("node_path", "Node path", T::String).read_only(),
        Column::new("level", "Level", T::Integer).read_only(),
        Column::new("type", "Type", T::String).read_only(),
        Column::new("name", "Name", T::String).read_only(),
        Column::new("description", "Description", T::String),
        Column::new("value", "Value", T::String).read_only(),
        Column::new("secure_value", "Secure value", T::Secret).read_only(),
        Column::new("secure", "Secure", T::Boolean).read_only(),
        Column::new("status", "Status", T::String).read_only(),
        Column::new("node_classifier", "Classifier", T::String).read_only(),
        Column::new("position", "Position", T::Integer).read_only(),
        Column::new(
            "changeset_id",
            "Changeset",
            T::Reference("sn_cdm_changeset"),
        )
        .read_only(),
        Column::new(
            "previous_version",
            "Previous version",
            T::Reference("sn_cdm_node"),
        )
        .read_only(),
        Column::new("effective_from", "Effective from", T::Integer).read_only(),
        Column::new("effective_to", "Effective to", T::Integer).read_only(),
        Column::new("system_folder", "System folder", T::Boolean).read_only(),
        Column::new("linked_to", "Linked to", T::Integer).read_only(),
        Column::new("conflict", "Conflict", T::Boolean).read_only(),
        Column::new("conflict_type", "Conflict type", T::String).read_only(),
        Column::new("reason_for_conflict", "Reason for conflict", T::String).read_only(),
    ],
    read_roles: CDM_READERS,
    write_roles: &[],
    extends: None,
    number_prefix: None,
    view: false,
    configuration: false,
};

pub(super) const SN_CDM_CHANGESET: Table = Table {
    name: "sn_cdm_changeset",
    label: "CDM Changeset",
    display_column: "number",
    columns: &[
        Column::new("number", "Number", T::String).read_only(),
        Column::new("title", "Title", T::String),
        Column::new("description", "Description", T::String),
        Column::new("state", "State", T::Choice(CHANGESET_STATES))
            .default("open")
            .read_only(),
        Column::new(
            "cdm_application",
            "Application",
            T::Reference("sn_cdm_application"),
        )
        .mandatory(),
        Column::new("committed_at", "Committed", T::DateTime).read_only(),
        Column::new("committed_by", "Committed by", T::Reference("sys_user")).read_only(),
        Column::new(
            "publish_option",
            "Publish option",
            T::Choice(PUBLISH_OPTIONS),
        )
        .default("publish_none"),
        Column::new("auto_validate", "Validate on commit", T::Boolean).default("false"),
        Column::new("snapshot_name", "Snapshot name", T::String),
        Column::new("snapshot_description", "Snapshot description", T::String),
        Column::new(
            "last_conflict_detection_time",
            "Last conflict detection",
            T::String,
        )
        .read_only(),
        Column::new("last_updated", "Last updated", T::DateTime).read_only(),
    ],
    read_roles: CDM_READERS,
    write_roles: &[],
    extends: None,
    number_prefix: None,
    view: false,
    configuration: false,
};

pub(super) const CMDB_CI_SERVICE_AUTO: Table = Table {
    name: "cmdb_ci_service_auto",
    label: "Application Service",
    display_column: "name",
    columns: &[
        Column::new("name", "Name", T::String).mandatory(),
        Column::new("environment", "Environment", T::String),
    ],
    read_roles: CDM_READERS,
    write_roles: &[CDM_ADMIN],
    extends: None,
    number_prefix: None,
    view: false,
    configuration: false,
};

pub(super) const SN_CDM_DEPLOYABLE: Table = Table {
    name: "sn_cdm_deployable",
    label: "CDM Deployable",
    display_column: "name",
    columns: &[
        Column::new("name", "Name", T::String).read_only(),
        Column::new("description", "Description", T::String),
        Column::new("cdm_app", "Application", T::Reference("sn_cdm_application")).read_only(),
        Column::new(
            "cmdb_ci",
            "Application service",
            T::Reference("cmdb_ci_service_auto"),
        ),
        Column::new("node", "Node", T::Reference("sn_cdm_node")).read_only(),
        Column::new("main_id", "Main ID", T::Integer).read_only(),
        Column::new("identifier", "Identifier", T::String),
        Column::new(
            "environment_type",
            "Environment type",
            T::Choice(ENVIRONMENT_TYPES),
        )
        .read_only(),
        Column::new("cdi_count", "CDI count", T::Integer)
            .default("0")
            .read_only(),
        Column::new("cdi_usage", "CDI usage (%)", T::String).read_only(),
        Column::new("snapshot_version_counter", "Snapshot versions", T::Integer)
            .default("0")
            .read_only(),
        Column::new("state", "State", T::Choice(DEPLOYABLE_STATES))
            .default("active")
            .read_only(),
    ],
    read_roles: CDM_READERS,
    write_roles: &[],
    extends: None,
    number_prefix: None,
    view: false,
    configuration: false,
};

pub(super) const SN_CDM_SNAPSHOT: Table = Table {
    name: "sn_cdm_snapshot",
    label: "CDM Snapshot",
    display_column: "name",
    columns: &[
        Column::new("name", "Name", T::String).read_only(),
        Column::new("number", "Number", T::String).read_only(),
        Column::new("description", "Description", T::String),
        Column::new(
            "cdm_application_id",
            "Application",
            T::Reference("sn_cdm_application"),
        )
        .read_only(),
        Column::new(
            "cdm_deployable_id",
            "Deployable",
            T::Reference("sn_cdm_deployable"),
        )
        .read_only(),
        Column::new(
            "changeset_id",
            "Changeset",
            T::Reference("sn_cdm_changeset"),
        )
        .read_only(),
        Column::new("published", "Published", T::Boolean)
            .default("false")
            .read_only(),
        Column::new("last_published", "Last published", T::DateTime).read_only(),
        Column::new("last_validated", "Last validated", T::DateTime).read_only(),
        Column::new("validation", "Validation", T::Choice(VALIDATION_STATES))
            .default("not_validated")
            .read_only(),
        Column::new("validation_result", "Validation result", T::String).read_only(),
        Column::new("cdi_count", "CDI count", T::Integer)
            .default("0")
            .read_only(),
        Column::new("content", "Resolved configuration", T::String).read_only(),
    ],
    read_roles: CDM_READERS,
    write_roles: &[],
    extends: None,
    number_prefix: None,
    view: false,
    configuration: false,
};

pub(super) const SN_CDM_REQUEST_QUEUE: Table = Table {
    name: "sn_cdm_request_queue",
    label: "CDM Request",
    display_column: "type",
    columns: &[
        Column::new("type", "Type", T::Choice(REQUEST_TYPES)).read_only(),
        Column::new("state", "State", T::Choice(REQUEST_STATES)).read_only(),
        Column::new("processing_state", "Processing state", T::String).read_only(),
        Column::new("changeset", "Changeset", T::Reference("sn_cdm_changeset")).read_only(),
        Column::new(
            "deployable",
            "Deployable",
            T::Reference("sn_cdm_deployable"),
        )
        .read_only(),
        Column::new("parameters", "Parameters", T::String).read_only(),
        // An uploaded document, which may carry new values of secure
        // nodes: stored encrypted, shown masked, never filtered on.
        Column::new("payload", "Payload", T::Secret).read_only(),
        Column::new("output", "Output", T::String).read_only(),
        Column::new("errors", "Errors", T::String).read_only(),
    ],
    read_roles: CDM_READERS,
    write_roles: &[],
    extends: None,
    number_prefix: None,
    view: false,
    configuration: false,
};

pub(super) const SN_CDM_PACE_POLICY_MAPPING: Table = Table {
    name: "sn_cdm_pace_policy_mapping",
    label: "CDM Policy Mapping",
    display_column: "number",
    columns: &[
        Column::new("number", "Number", T::String).read_only(),
        Column::new("policy", "Policy", T::Reference("sn_pace_policy")).mandatory(),
        Column::new("document", "Document", T::String).mandatory(),
        Column::new(
            "document_ref",
            "Deployable",
            T::Reference("sn_cdm_deployable"),
        )
        .mandatory(),
        Column::new("description", "Description", T::String),
        Column::new("state", "State", T::Choice(ACTIVE_STATES)).default("active"),
        Column::new("input_status", "Input status", T::String),
        Column::new("exception_allowed", "Exception allowed", T::String),
        Column::new(
            "last_updated_by",
            "Last updated by",
            T::Reference("sys_user"),
        )
        .read_only(),
    ],
    read_roles: CDM_READERS,
    write_roles: &[CDM_ADMIN],
    extends: None,
    number_prefix: Some("MAP"),
    view: false,
    configuration: false,
};

pub(super) const SN_CDM_SHARED_COMPONENT: Table = Table {
    name: "sn_cdm_shared_component",
    label: "CDM Shared Component",
    display_column: "name",
    columns: &[
        Column::new("name", "Name", T::String).mandatory(),
        Column::new("description", "Description", T::String),
        Column::new(
            "cdm_shared_library",
            "Shared library",
            T::Reference("sn_cdm_application"),
        )
        .mandatory(),
        Column::new("node", "Node", T::String).read_only(),
        Column::new("node_main", "Node main", T::String).read_only(),
        Column::new("main_id", "Main ID", T::Integer).read_only(),
        Column::new("state", "State", T::Choice(DEPLOYABLE_STATES)).default("active"),
        Column::new("version_counter", "Version counter", T::Integer).default("0"),
    ],
    read_roles: CDM_READERS,
    write_roles: &[CDM_ADMIN],
    extends: None,
    number_prefix: None,
    view: false,
    configuration: false,
};
