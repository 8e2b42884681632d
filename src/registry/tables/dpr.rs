//! Digital Product Release: calendars, targets, features, policies,
//! templates, releases and their records, bundles.

use super::{DPR_READERS, DPR_WRITERS};
use crate::identity::roles::{
    DPR_PRODUCT_MANAGER, DPR_RELEASE_ADMIN, DPR_RELEASE_CALENDAR_ADMIN, DPR_RELEASE_COORDINATOR,
};
use crate::registry::{Column, ColumnType as T, Table};

const TARGET_REPEAT_TYPES: &[(&str, &str)] =
    &[("", "None"), ("weekly", "Weekly"), ("monthly", "Monthly")];

const RELEASE_STATES: &[(&str, &str)] = &[
    ("draft", "Draft"),
    ("in_progress", "In Progress"),
    ("pending", "Pending"),
    ("review", "Review"),
    ("restarting", "Restarting"),
    ("completed", "Completed"),
    ("cancelled", "Cancelled"),
];

const PHASE_STATES: &[(&str, &str)] = &[
    ("pending", "Pending"),
    ("in_progress", "In Progress"),
    ("completed", "Completed"),
    ("cancelled", "Cancelled"),
];

const EXECUTION_STATUSES: &[(&str, &str)] = &[
    ("not_run", "Not run"),
    ("compliant", "Compliant"),
    ("non_compliant", "Non-compliant"),
];

const ORIENTATIONS: &[(&str, &str)] = &[("timeline", "Timeline"), ("stage", "Stage")];

const KEY_DATE_TYPES: &[(&str, &str)] = &[
    ("deadline", "Deadline"),
    ("important_date", "Important date"),
    ("key_event", "Key event"),
    ("milestone", "Milestone"),
];

const KEY_DATE_STATES: &[(&str, &str)] = &[
    ("archived", "Archived"),
    ("missed", "Missed"),
    ("upcoming", "Upcoming"),
];

const PRIORITIES: &[(&str, &str)] = &[("high", "High"), ("medium", "Medium"), ("low", "Low")];

const ENHANCEMENT_STATES: &[(&str, &str)] = &[("open", "Open"), ("closed", "Closed")];

pub(super) const SN_DPR_MODEL_RELEASE_CALENDAR: Table = Table {
    name: "sn_dpr_model_release_calendar",
    label: "Release Calendar",
    display_column: "name",
    columns: &[
        Column::new("name", "Name", T::String).mandatory(),
        Column::new("description", "Description", T::String),
        Column::new("release_admin", "Release admin", T::Reference("sys_user")).mandatory(),
        Column::new("schedules", "Schedules", T::List("cmn_schedule")),
        Column::new("time_zone", "Time zone", T::TimeZone).default("UTC"),
        Column::new("active", "Active", T::Boolean).default("true"),
    ],
    read_roles: DPR_READERS,
    write_roles: &[DPR_RELEASE_CALENDAR_ADMIN],
    extends: None,
    number_prefix: None,
    view: false,
    configuration: true,
};

pub(super) const SN_DPR_MODEL_RELEASE_TARGET: Table = Table {
    name: "sn_dpr_model_release_target",
    label: "Release Readiness Target",
    display_column: "name",
    columns: &[
        Column::new("name", "Name", T::String).mandatory(),
        Column::new("description", "Description", T::String),
        Column::new(
            "release_calendar",
            "Release calendar",
            T::Reference("sn_dpr_model_release_calendar"),
        )
        .mandatory(),
        Column::new("release_admin", "Owner", T::Reference("sys_user")),
        Column::new("target_date", "Target date", T::Date).mandatory(),
        Column::new("active", "Active", T::Boolean).default("true"),
        Column::new("recurring", "Recurring", T::Boolean).default("false"),
        Column::new("repeat_type", "Repeats", T::Choice(TARGET_REPEAT_TYPES)),
        Column::new("repeat_every", "Every", T::Integer),
        Column::new("days_of_week", "Day of week", T::Integer),
        Column::new("series", "Series", T::String).read_only(),
        Column::new("schedule", "Schedule", T::Reference("cmn_schedule")),
        Column::new("overlaps_schedule", "Overlaps schedule", T::Boolean)
            .default("false")
            .read_only(),
    ],
    read_roles: DPR_READERS,
    write_roles: &[DPR_PRODUCT_MANAGER, DPR_RELEASE_ADMIN],
    extends: None,
    number_prefix: None,
    view: false,
    configuration: true,
};

pub(super) const SN_DPR_MODEL_PRODUCT_FEATURE: Table = Table {
    name: "sn_dpr_model_product_feature",
    label: "Product Feature",
    display_column: "name",
    columns: &[
        Column::new("name", "Name", T::String).mandatory(),
        Column::new("description", "Description", T::String),
        Column::new("product", "Product", T::Reference("cmdb_model")).mandatory(),
    ],
    read_roles: DPR_READERS,
    write_roles: DPR_WRITERS,
    extends: None,
    number_prefix: None,
    view: false,
    configuration: false,
};

pub(super) const SN_PACE_POLICY: Table = Table {
    name: "sn_pace_policy",
    label: "Policy",
    display_column: "name",
    columns: &[
        Column::new("name", "Name", T::String).mandatory(),
        Column::new("description", "Description", T::String),
        Column::new("active", "Active", T::Boolean).default("true"),
        Column::new("rego", "Policy (Rego)", T::String).mandatory(),
    ],
    read_roles: DPR_READERS,
    write_roles: &[DPR_RELEASE_ADMIN],
    extends: None,
    number_prefix: None,
    view: false,
    configuration: true,
};

pub(super) const SN_DPR_MODEL_RELEASE_TEMPLATE: Table = Table {
    name: "sn_dpr_model_release_template",
    label: "Release Template",
    display_column: "name",
    columns: &[
        Column::new("name", "Name", T::String).mandatory(),
        Column::new("description", "Description", T::String),
        Column::new("orientation", "Orientation", T::Choice(ORIENTATIONS)).default("timeline"),
        Column::new("active", "Active", T::Boolean).default("true"),
    ],
    read_roles: DPR_READERS,
    write_roles: &[DPR_RELEASE_ADMIN],
    extends: None,
    number_prefix: None,
    view: false,
    configuration: true,
};

pub(super) const SN_DPR_MODEL_TEMPLATE_PHASE: Table = Table {
    name: "sn_dpr_model_template_phase",
    label: "Template Phase",
    display_column: "name",
    columns: &[
        Column::new(
            "template",
            "Template",
            T::Reference("sn_dpr_model_release_template"),
        )
        .mandatory()
        .cascade(),
        Column::new("name", "Name", T::String).mandatory(),
        Column::new("order", "Order", T::Integer).mandatory(),
        Column::new("duration_days", "Planned duration (days)", T::Integer).default("7"),
    ],
    read_roles: DPR_READERS,
    write_roles: &[DPR_RELEASE_ADMIN],
    extends: None,
    number_prefix: None,
    view: false,
    configuration: true,
};

pub(super) const SN_DPR_MODEL_TEMPLATE_PHASE_POLICY: Table = Table {
    name: "sn_dpr_model_template_phase_policy",
    label: "Template Phase Policy",
    display_column: "policy",
    columns: &[
        Column::new(
            "template_phase",
            "Template phase",
            T::Reference("sn_dpr_model_template_phase"),
        )
        .mandatory()
        .cascade(),
        Column::new("policy", "Policy", T::Reference("sn_pace_policy")).mandatory(),
    ],
    read_roles: DPR_READERS,
    write_roles: &[DPR_RELEASE_ADMIN],
    extends: None,
    number_prefix: None,
    view: false,
    configuration: true,
};

pub(super) const SN_DPR_MODEL_RELEASE: Table = Table {
    name: "sn_dpr_model_release",
    label: "Release",
    display_column: "name",
    columns: &[
        Column::new("number", "Number", T::String)
            .read_only()
            .text_indexed(),
        Column::new("name", "Name", T::String)
            .mandatory()
            .text_indexed(),
        Column::new("description", "Description", T::String),
        Column::new("state", "State", T::Choice(RELEASE_STATES))
            .default("draft")
            .read_only(),
        Column::new("product", "Product", T::Reference("cmdb_model")).mandatory(),
        Column::new("version", "Version", T::Reference("cmdb_model")),
        Column::new("owner", "Owner", T::Reference("sys_user")).mandatory(),
        Column::new(
            "template",
            "Template",
            T::Reference("sn_dpr_model_release_template"),
        ),
        Column::new("process_type", "Process type", T::Choice(ORIENTATIONS)).read_only(),
        Column::new(
            "readiness_target",
            "Readiness target",
            T::Reference("sn_dpr_model_release_target"),
        ),
        Column::new(
            "release_calendar",
            "Release calendar",
            T::Reference("sn_dpr_model_release_calendar"),
        ),
        Column::new("planned_start", "Planned start", T::DateTime),
        Column::new("planned_end", "Planned end", T::DateTime),
        Column::new(
            "primary_release",
            "Primary release",
            T::Reference("sn_dpr_model_release"),
        ),
        Column::new("validates_version", "Validates version", T::Boolean).default("false"),
        Column::new(
            "current_phase",
            "Current phase",
            T::Reference("sn_dpr_model_release_phase"),
        )
        .read_only(),
    ],
    read_roles: DPR_READERS,
    write_roles: DPR_WRITERS,
    extends: None,
    number_prefix: Some("REL"),
    view: false,
    configuration: false,
};

pub(super) const SN_DPR_MODEL_RELEASE_PHASE: Table = Table {
    name: "sn_dpr_model_release_phase",
    label: "Release Phase",
    display_column: "name",
    columns: &[
        Column::new("release", "Release", T::Reference("sn_dpr_model_release"))
            .mandatory()
            .cascade(),
        Column::new(
            "template_phase",
            "Template phase",
            T::Reference("sn_dpr_model_template_phase"),
        ),
        Column::new("name", "Name", T::String).mandatory(),
        Column::new("order", "Order", T::Integer).mandatory(),
        Column::new("state", "State", T::Choice(PHASE_STATES))
            .default("pending")
            .read_only(),
        Column::new("planned_start", "Planned start", T::DateTime),
        Column::new("planned_end", "Planned end", T::DateTime),
        Column::new("actual_start", "Actual start", T::DateTime).read_only(),
        Column::new("actual_end", "Actual end", T::DateTime).read_only(),
    ],
    read_roles: DPR_READERS,
    write_roles: DPR_WRITERS,
    extends: None,
    number_prefix: None,
    view: false,
    configuration: false,
};

pub(super) const SN_DPR_MODEL_POLICY_EXECUTION: Table = Table {
    name: "sn_dpr_model_policy_execution",
    label: "Policy Execution",
    display_column: "policy",
    columns: &[
        Column::new("release", "Release", T::Reference("sn_dpr_model_release"))
            .mandatory()
            .cascade(),
        Column::new(
            "release_phase",
            "Release phase",
            T::Reference("sn_dpr_model_release_phase"),
        )
        .mandatory()
        .cascade(),
        Column::new("product", "Product", T::Reference("cmdb_model")).mandatory(),
        Column::new("version", "Version", T::Reference("cmdb_model")),
        Column::new("policy", "Policy", T::Reference("sn_pace_policy")).mandatory(),
        Column::new("status", "Status", T::Choice(EXECUTION_STATUSES))
            .default("not_run")
            .read_only(),
        Column::new("reason", "Reason", T::String).read_only(),
        Column::new("output", "Output", T::String).read_only(),
        Column::new("last_run_at", "Last run", T::DateTime).read_only(),
    ],
    read_roles: DPR_READERS,
    write_roles: &[],
    extends: None,
    number_prefix: None,
    view: false,
    configuration: false,
};

pub(super) const SN_DPR_MODEL_RELEASE_KEY_DATE: Table = Table {
    name: "sn_dpr_model_release_key_date",
    label: "Release Key Date",
    display_column: "name",
    columns: &[
        Column::new("release", "Release", T::Reference("sn_dpr_model_release"))
            .mandatory()
            .cascade(),
        Column::new("name", "Name", T::String).mandatory(),
        Column::new("type", "Type", T::Choice(KEY_DATE_TYPES)).mandatory(),
        Column::new("state", "State", T::Choice(KEY_DATE_STATES)).mandatory(),
        Column::new("due_date", "Due date", T::DateTime).mandatory(),
        Column::new("description", "Description", T::String),
        Column::new("assigned_to", "Assigned to", T::Reference("sys_user")),
    ],
    read_roles: DPR_READERS,
    write_roles: &[
        DPR_PRODUCT_MANAGER,
        DPR_RELEASE_ADMIN,
        DPR_RELEASE_COORDINATOR,
    ],
    extends: None,
    number_prefix: None,
    view: false,
    configuration: false,
};

pub(super) const SN_DPR_MODEL_RELEASE_RELATED_TASK: Table = Table {
    name: "sn_dpr_model_release_related_task",
    label: "Release Related Task",
    display_column: "task",
    columns: &[
        Column::new("release", "Release", T::Reference("sn_dpr_model_release"))
            .mandatory()
            .cascade(),
        Column::new("task", "Task", T::Reference("task"))
            .mandatory()
            .cascade(),
    ],
    read_roles: DPR_READERS,
    write_roles: DPR_WRITERS,
    extends: None,
    number_prefix: None,
    view: false,
    configuration: false,
};

pub(super) const SN_DPR_MODEL_PRODUCT_ENHANCEMENT: Table = Table {
    name: "sn_dpr_model_product_enhancement",
    label: "Product Enhancement",
    display_column: "name",
    columns: &[
        Column::new("number", "Number", T::String).read_only(),
        Column::new("name", "Name", T::String).mandatory(),
        Column::new("description", "Description", T::String),
        Column::new("priority", "Priority", T::Choice(PRIORITIES)).default("medium"),
        Column::new("state", "State", T::Choice(ENHANCEMENT_STATES)).default("open"),
        Column::new("product", "Product", T::Reference("cmdb_model")).mandatory(),
        Column::new("version", "Version", T::Reference("cmdb_model")),
        Column::new("release", "Release", T::Reference("sn_dpr_model_release")),
        Column::new(
            "product_feature",
            "Product feature",
            T::Reference("sn_dpr_model_product_feature"),
        ),
    ],
    read_roles: DPR_READERS,
    write_roles: &[DPR_PRODUCT_MANAGER],
    extends: None,
    number_prefix: Some("ENH"),
    view: false,
    configuration: false,
};

pub(super) const SN_DPR_MODEL_RELEASE_BUNDLE: Table = Table {
    name: "sn_dpr_model_release_bundle",
    label: "Release Bundle",
    display_column: "name",
    columns: &[
        Column::new("name", "Name", T::String).mandatory(),
        Column::new("description", "Description", T::String),
        Column::new("owner", "Owner", T::Reference("sys_user")),
    ],
    read_roles: DPR_READERS,
    write_roles: DPR_WRITERS,
    extends: None,
    number_prefix: None,
    view: false,
    configuration: false,
};

pub(super) const SN_DPR_MODEL_RELEASE_BUNDLE_MEMBER: Table = Table {
    name: "sn_dpr_model_release_bundle_member",
    label: "Release Bundle Member",
    display_column: "release",
    columns: &[
        Column::new(
            "bundle",
            "Bundle",
            T::Reference("sn_dpr_model_release_bundle"),
        )
        .mandatory()
        .cascade(),
        Column::new("release", "Release", T::Reference("sn_dpr_model_release"))
            .mandatory()
            .cascade(),
    ],
    read_roles: DPR_READERS,
    write_roles: DPR_WRITERS,
    extends: None,
    number_prefix: None,
    view: false,
    configuration: false,
};
