//! Update sets: sources, retrieved and local sets, their updates, versions
//! and preview problems.

use super::CICD;
use crate::registry::{Column, ColumnType as T, Table};

const UPDATE_SET_STATES: &[(&str, &str)] = &[
    ("in progress", "In progress"),
    ("complete", "Complete"),
    ("ignore", "Ignore"),
];

const REMOTE_UPDATE_SET_STATES: &[(&str, &str)] = &[
    ("loaded", "Loaded"),
    ("previewed", "Previewed"),
    ("committed", "Committed"),
    ("backed_out", "Backed out"),
];

const UPDATE_ACTIONS: &[(&str, &str)] = &[
    ("INSERT_OR_UPDATE", "INSERT_OR_UPDATE"),
    ("DELETE", "DELETE"),
];

const DISPOSITIONS: &[(&str, &str)] = &[
    ("", "Not previewed"),
    ("insert", "Insert"),
    ("update", "Update"),
    ("delete", "Delete"),
    ("collision", "Collision"),
    ("skip", "Skip"),
];

const VERSION_STATES: &[(&str, &str)] = &[("current", "Current"), ("previous", "Previous")];

const SOURCE_TYPES: &[(&str, &str)] = &[
    ("dev", "Development"),
    ("test", "Test"),
    ("prod", "Production"),
];

const PROBLEM_SEVERITIES: &[(&str, &str)] = &[("error", "Error"), ("warning", "Warning")];

const PROBLEM_TYPES: &[(&str, &str)] = &[
    ("collision", "Collision"),
    ("missing_object", "Missing object"),
    ("uncommitted_update", "Uncommitted update"),
    ("conflict", "Conflict within the update set"),
    ("not_configuration", "Not a configuration table"),
];

/// `ignored`: the remote update is accepted and committed; `skipped`: it is
/// left out of the commit (the vendor's "Accept remote update" and "Skip
/// remote update").
const PROBLEM_STATUSES: &[(&str, &str)] = &[
    ("", "Unresolved"),
    ("ignored", "Accepted (remote update applied)"),
    ("skipped", "Skipped"),
];

pub(super) const SYS_UPDATE_SET_SOURCE: Table = Table {
    name: "sys_update_set_source",
    label: "Remote Instance",
    display_column: "name",
    columns: &[
        Column::new("name", "Name", T::String).mandatory(),
        Column::new("url", "URL", T::String).mandatory(),
        Column::new("username", "User name", T::String),
        Column::new("password", "Password", T::Secret),
        Column::new("type", "Type", T::Choice(SOURCE_TYPES)).default("dev"),
        Column::new("instance_id", "Instance ID", T::String),
        Column::new("description", "Description", T::String),
        Column::new("active", "Active", T::Boolean).default("true"),
    ],
    read_roles: CICD,
    write_roles: CICD,
    extends: None,
    number_prefix: None,
    view: false,
    configuration: false,
};

pub(super) const SYS_REMOTE_UPDATE_SET: Table = Table {
    name: "sys_remote_update_set",
    label: "Retrieved Update Set",
    display_column: "name",
    columns: &[
        Column::new("name", "Name", T::String).mandatory(),
        Column::new("description", "Description", T::String),
        Column::new("state", "State", T::Choice(REMOTE_UPDATE_SET_STATES))
            .default("loaded")
            .read_only(),
        Column::new("remote_sys_id", "Remote sys_id", T::String).read_only(),
        Column::new("origin_sys_id", "Origin sys_id", T::String).read_only(),
        Column::new(
            "update_source",
            "Update source",
            T::Reference("sys_update_set_source"),
        )
        .read_only(),
        Column::new("application", "Application", T::Reference("sys_scope")),
        Column::new(
            "update_set",
            "Local update set",
            T::Reference("sys_update_set"),
        )
        .read_only(),
        Column::new("commit_date", "Committed", T::DateTime).read_only(),
        Column::new("preview_date", "Previewed", T::DateTime).read_only(),
        Column::new("update_count", "Updates", T::Integer)
            .default("0")
            .read_only(),
    ],
    read_roles: CICD,
    write_roles: CICD,
    extends: None,
    number_prefix: None,
    view: false,
    configuration: false,
};

pub(super) const SYS_UPDATE_SET: Table = Table {
    name: "sys_update_set",
    label: "Update Set",
    display_column: "name",
    columns: &[
        Column::new("name", "Name", T::String).mandatory(),
        Column::new("description", "Description", T::String),
        Column::new("state", "State", T::Choice(UPDATE_SET_STATES)).default("in progress"),
        Column::new("application", "Application", T::Reference("sys_scope")),
        Column::new(
            "remote_sys_id",
            "Retrieved update set",
            T::Reference("sys_remote_update_set"),
        )
        .read_only(),
        Column::new("origin_sys_id", "Origin sys_id", T::String).read_only(),
        Column::new("install_date", "Installed", T::DateTime).read_only(),
        Column::new("installed_from", "Installed from", T::String).read_only(),
        Column::new("install_batch", "Install batch", T::String).read_only(),
        Column::new("completed_on", "Completed", T::DateTime).read_only(),
        Column::new("completed_by", "Completed by", T::String).read_only(),
        Column::new("backed_out", "Backed out", T::Boolean)
            .default("false")
            .read_only(),
        Column::new("backed_out_on", "Backed out on", T::DateTime).read_only(),
    ],
    read_roles: CICD,
    write_roles: CICD,
    extends: None,
    number_prefix: None,
    view: false,
    configuration: false,
};

pub(super) const SYS_UPDATE_XML: Table = Table {
    name: "sys_update_xml",
    label: "Customer Update",
    display_column: "name",
    columns: &[
        Column::new("update_set", "Update set", T::Reference("sys_update_set")).cascade(),
        Column::new(
            "remote_update_set",
            "Retrieved update set",
            T::Reference("sys_remote_update_set"),
        )
        .cascade(),
        Column::new("name", "Name", T::String).mandatory(),
        Column::new("table", "Table", T::String).mandatory(),
        Column::new("record_sys_id", "Record sys_id", T::String).mandatory(),
        Column::new("target_name", "Target name", T::String),
        Column::new("type", "Type", T::String),
        Column::new("action", "Action", T::Choice(UPDATE_ACTIONS)).mandatory(),
        Column::new("payload", "Payload", T::String),
        Column::new("base_payload", "Base payload", T::String),
        Column::new("base_update_set", "Base update set", T::String),
        Column::new("application", "Application", T::Reference("sys_scope")),
        Column::new("sequence", "Sequence", T::Integer).default("0"),
        Column::new("disposition", "Disposition", T::Choice(DISPOSITIONS)).read_only(),
    ],
    read_roles: CICD,
    write_roles: CICD,
    extends: None,
    number_prefix: None,
    view: false,
    configuration: false,
};

pub(super) const SYS_UPDATE_VERSION: Table = Table {
    name: "sys_update_version",
    label: "Version",
    display_column: "name",
    columns: &[
        Column::new("name", "Name", T::String).mandatory(),
        Column::new("record_name", "Record name", T::String),
        Column::new("action", "Action", T::Choice(UPDATE_ACTIONS)).mandatory(),
        Column::new("payload", "Payload", T::String),
        Column::new("source_table", "Source table", T::String),
        Column::new("source", "Source", T::String),
        Column::new("state", "State", T::Choice(VERSION_STATES)).mandatory(),
        Column::new("application", "Application", T::Reference("sys_scope")),
    ],
    read_roles: CICD,
    write_roles: &[],
    extends: None,
    number_prefix: None,
    view: false,
    configuration: false,
};

pub(super) const SYS_UPDATE_PREVIEW_PROBLEM: Table = Table {
    name: "sys_update_preview_problem",
    label: "Update Set Preview Problem",
    display_column: "description",
    columns: &[
        Column::new(
            "remote_update_set",
            "Retrieved update set",
            T::Reference("sys_remote_update_set"),
        )
        .mandatory()
        .cascade(),
        Column::new(
            "remote_update",
            "Remote update",
            T::Reference("sys_update_xml"),
        )
        .cascade(),
        Column::new("type", "Type", T::Choice(PROBLEM_SEVERITIES))
            .mandatory()
            .read_only(),
        Column::new("problem_type", "Problem", T::Choice(PROBLEM_TYPES))
            .mandatory()
            .read_only(),
        Column::new("description", "Description", T::String).read_only(),
        Column::new("missing_item", "Missing item", T::String).read_only(),
        Column::new("missing_item_table", "Missing item table", T::String).read_only(),
        Column::new("status", "Status", T::Choice(PROBLEM_STATUSES)),
    ],
    read_roles: CICD,
    write_roles: CICD,
    extends: None,
    number_prefix: None,
    view: false,
    configuration: false,
};
