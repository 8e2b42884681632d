//! Tasks (changes, incidents, problems, stories): one hierarchy stored in `task`.

use super::{DPR_READERS, DPR_WRITERS};
use crate::registry::{Column, ColumnType as T, Table};

const TASK_STATES: &[(&str, &str)] = &[
    ("open", "Open"),
    ("in_progress", "Work in Progress"),
    ("closed", "Closed Complete"),
    ("cancelled", "Closed Incomplete"),
];

const APPROVALS: &[(&str, &str)] = &[
    ("not_requested", "Not Yet Requested"),
    ("requested", "Requested"),
    ("approved", "Approved"),
    ("rejected", "Rejected"),
];

pub(super) const TASK: Table = Table {
    name: "task",
    label: "Task",
    display_column: "number",
    columns: &[
        Column::new("sys_class_name", "Class", T::String).read_only(),
        Column::new("number", "Number", T::String)
            .read_only()
            .text_indexed(),
        Column::new("short_description", "Short description", T::String).text_indexed(),
        Column::new("description", "Description", T::String),
        Column::new("state", "State", T::Choice(TASK_STATES)).default("open"),
        Column::new("active", "Active", T::Boolean).default("true"),
        Column::new("approval", "Approval", T::Choice(APPROVALS)).default("not_requested"),
        Column::new("assigned_to", "Assigned to", T::Reference("sys_user")),
    ],
    read_roles: DPR_READERS,
    write_roles: DPR_WRITERS,
    extends: None,
    number_prefix: Some("TASK"),
    view: false,
    configuration: false,
};

pub(super) const CHANGE_REQUEST: Table = Table {
    name: "change_request",
    label: "Change Request",
    display_column: "number",
    columns: &[],
    read_roles: DPR_READERS,
    write_roles: DPR_WRITERS,
    extends: Some("task"),
    number_prefix: Some("CHG"),
    view: false,
    configuration: false,
};

pub(super) const INCIDENT: Table = Table {
    name: "incident",
    label: "Incident",
    display_column: "number",
    columns: &[],
    read_roles: DPR_READERS,
    write_roles: DPR_WRITERS,
    extends: Some("task"),
    number_prefix: Some("INC"),
    view: false,
    configuration: false,
};

pub(super) const PROBLEM: Table = Table {
    name: "problem",
    label: "Problem",
    display_column: "number",
    columns: &[],
    read_roles: DPR_READERS,
    write_roles: DPR_WRITERS,
    extends: Some("task"),
    number_prefix: Some("PRB"),
    view: false,
    configuration: false,
};

pub(super) const RM_STORY: Table = Table {
    name: "rm_story",
    label: "Story",
    display_column: "number",
    columns: &[],
    read_roles: DPR_READERS,
    write_roles: DPR_WRITERS,
    extends: Some("task"),
    number_prefix: Some("STRY"),
    view: false,
    configuration: false,
};
