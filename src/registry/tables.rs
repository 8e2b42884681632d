//! The registered tables. A family issue adds its tables here (and a
//! migration that creates them).

use super::{Column, ColumnType as T, Table};
use crate::identity::roles::*;

const SCHEDULE_TYPES: &[(&str, &str)] = &[
    ("", "None"),
    ("blackout", "Blackout"),
    ("maintenance", "Maintenance"),
    ("holiday", "Holiday"),
    ("excluded", "Excluded"),
    ("business", "Business hours"),
];

const SPAN_TYPES: &[(&str, &str)] = &[
    ("", "None"),
    ("include", "Include"),
    ("exclude", "Exclude"),
    ("blackout", "Blackout"),
    ("maintenance", "Maintenance"),
    ("holiday", "Holiday"),
];

const REPEAT_TYPES: &[(&str, &str)] = &[
    ("", "Does not repeat"),
    ("daily", "Daily"),
    ("weekly", "Weekly"),
    ("monthly", "Monthly"),
    ("yearly", "Yearly"),
];

const TARGET_REPEAT_TYPES: &[(&str, &str)] =
    &[("", "None"), ("weekly", "Weekly"), ("monthly", "Monthly")];

const PROPERTY_TYPES: &[(&str, &str)] = &[
    ("string", "string"),
    ("boolean", "true | false"),
    ("integer", "integer"),
    ("choicelist", "choice list"),
];

const DPR_READERS: &[&str] = &[
    DPR_PRODUCT_MANAGER,
    DPR_RELEASE_ADMIN,
    DPR_RELEASE_COORDINATOR,
    DPR_RELEASE_USER,
    DPR_RELEASE_CALENDAR_ADMIN,
];

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

const PROGRESS_STATES: &[(&str, &str)] = &[
    ("pending", "Pending"),
    ("running", "Running"),
    ("complete", "Complete"),
    ("error", "Error"),
    ("cancelled", "Cancelled"),
];

/// Who may shape releases (and their records) through the Table API.
const DPR_WRITERS: &[&str] = &[DPR_PRODUCT_MANAGER, DPR_RELEASE_ADMIN];

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

const CICD: &[&str] = &[CICD_AUTOMATION];

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

pub static TABLES: &[Table] = &[
    Table {
        name: "sys_user",
        label: "User",
        display_column: "name",
        columns: &[
            Column::new("user_name", "User ID", T::String).mandatory(),
            Column::new("first_name", "First name", T::String),
            Column::new("last_name", "Last name", T::String),
            Column::new("name", "Name", T::String),
            Column::new("email", "Email", T::String),
            Column::new("title", "Title", T::String),
            Column::new("time_zone", "Time zone", T::TimeZone),
            Column::new("active", "Active", T::Boolean).default("true"),
            Column::new("locked_out", "Locked out", T::Boolean).default("false"),
            Column::new("user_password", "Password", T::Password),
        ],
        read_roles: &[
            USER_ADMIN,
            DPR_RELEASE_ADMIN,
            DPR_RELEASE_CALENDAR_ADMIN,
            DPR_PRODUCT_MANAGER,
        ],
        write_roles: &[USER_ADMIN],
        extends: None,
        number_prefix: None,
        view: false,
        configuration: false,
    },
    Table {
        name: "sys_user_role",
        label: "Role",
        display_column: "name",
        columns: &[
            Column::new("name", "Name", T::String).mandatory(),
            Column::new("description", "Description", T::String),
        ],
        read_roles: &[USER_ADMIN],
        write_roles: &[],
        extends: None,
        number_prefix: None,
        view: false,
        configuration: false,
    },
    Table {
        name: "sys_user_has_role",
        label: "User Role",
        display_column: "role",
        columns: &[
            Column::new("user", "User", T::Reference("sys_user"))
                .mandatory()
                .cascade(),
            Column::new("role", "Role", T::Reference("sys_user_role"))
                .mandatory()
                .cascade(),
        ],
        read_roles: &[USER_ADMIN],
        write_roles: &[USER_ADMIN],
        extends: None,
        number_prefix: None,
        view: false,
        configuration: false,
    },
    Table {
        name: "sys_properties",
        label: "System Property",
        display_column: "name",
        columns: &[
            Column::new("name", "Name", T::String).mandatory(),
            Column::new("value", "Value", T::String),
            Column::new("description", "Description", T::String),
            Column::new("type", "Type", T::Choice(PROPERTY_TYPES)).default("string"),
        ],
        read_roles: DPR_READERS,
        write_roles: &[],
        extends: None,
        number_prefix: None,
        view: false,
        configuration: true,
    },
    Table {
        name: "cmn_schedule",
        label: "Schedule",
        display_column: "name",
        columns: &[
            Column::new("name", "Name", T::String).mandatory(),
            Column::new("description", "Description", T::String),
            Column::new("time_zone", "Time zone", T::TimeZone),
            Column::new("type", "Type", T::Choice(SCHEDULE_TYPES)),
        ],
        read_roles: DPR_READERS,
        write_roles: &[DPR_RELEASE_CALENDAR_ADMIN, DPR_RELEASE_ADMIN],
        extends: None,
        number_prefix: None,
        view: false,
        configuration: true,
    },
    Table {
        name: "cmn_schedule_span",
        label: "Schedule Entry",
        display_column: "name",
        columns: &[
            Column::new("schedule", "Schedule", T::Reference("cmn_schedule"))
                .mandatory()
                .cascade(),
            Column::new("name", "Name", T::String),
            Column::new("type", "Type", T::Choice(SPAN_TYPES)),
            Column::new("start_date_time", "When", T::LocalDateTime).mandatory(),
            Column::new("end_date_time", "To", T::LocalDateTime).mandatory(),
            Column::new("repeat_type", "Repeats", T::Choice(REPEAT_TYPES)),
        ],
        read_roles: DPR_READERS,
        write_roles: &[DPR_RELEASE_CALENDAR_ADMIN, DPR_RELEASE_ADMIN],
        extends: None,
        number_prefix: None,
        view: false,
        configuration: true,
    },
    Table {
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
    },
    Table {
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
    },
    Table {
        name: "cmdb_model",
        label: "Product Model",
        display_column: "name",
        columns: &[
            Column::new("sys_class_name", "Class", T::String).read_only(),
            Column::new("name", "Name", T::String).mandatory(),
            Column::new("short_description", "Description", T::String),
            Column::new("owned_by", "Owned by", T::Reference("sys_user")),
            Column::new("product", "Product", T::Reference("cmdb_model")),
            Column::new("version", "Version", T::String),
            Column::new("status", "Status", T::String),
        ],
        read_roles: DPR_READERS,
        write_roles: DPR_WRITERS,
        extends: None,
        number_prefix: None,
        view: false,
        configuration: false,
    },
    Table {
        name: "cmdb_application_product_model",
        label: "Application Model",
        display_column: "name",
        columns: &[],
        read_roles: DPR_READERS,
        write_roles: DPR_WRITERS,
        extends: Some("cmdb_model"),
        number_prefix: None,
        view: false,
        configuration: false,
    },
    Table {
        name: "cmdb_service_product_model",
        label: "Service Model",
        display_column: "name",
        columns: &[],
        read_roles: DPR_READERS,
        write_roles: DPR_WRITERS,
        extends: Some("cmdb_model"),
        number_prefix: None,
        view: false,
        configuration: false,
    },
    Table {
        name: "cmdb_software_product_model",
        label: "Software Model",
        display_column: "name",
        columns: &[],
        read_roles: DPR_READERS,
        write_roles: DPR_WRITERS,
        extends: Some("cmdb_model"),
        number_prefix: None,
        view: false,
        configuration: false,
    },
    Table {
        name: "cmdb_service_offering_model",
        label: "Service Offering Model",
        display_column: "name",
        columns: &[],
        read_roles: DPR_READERS,
        write_roles: DPR_WRITERS,
        extends: Some("cmdb_model"),
        number_prefix: None,
        view: false,
        configuration: false,
    },
    Table {
        name: "cmdb_sw_component_model",
        label: "System Component Model",
        display_column: "name",
        columns: &[],
        read_roles: DPR_READERS,
        write_roles: DPR_WRITERS,
        extends: Some("cmdb_model"),
        number_prefix: None,
        view: false,
        configuration: false,
    },
    Table {
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
    },
    Table {
        name: "task",
        label: "Task",
        display_column: "number",
        columns: &[
            Column::new("sys_class_name", "Class", T::String).read_only(),
            Column::new("number", "Number", T::String).read_only(),
            Column::new("short_description", "Short description", T::String),
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
        name: "sn_dpr_model_release",
        label: "Release",
        display_column: "name",
        columns: &[
            Column::new("number", "Number", T::String).read_only(),
            Column::new("name", "Name", T::String).mandatory(),
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
        name: "sys_progress_worker",
        label: "Progress Worker",
        display_column: "name",
        columns: &[
            Column::new("name", "Name", T::String).mandatory(),
            Column::new("state", "State", T::Choice(PROGRESS_STATES))
                .default("pending")
                .read_only(),
            Column::new("message", "Message", T::String).read_only(),
            Column::new("percent_complete", "Percent complete", T::Integer)
                .default("0")
                .read_only(),
            Column::new("output_summary", "Output summary", T::String).read_only(),
        ],
        read_roles: &[
            DPR_PRODUCT_MANAGER,
            DPR_RELEASE_ADMIN,
            DPR_RELEASE_COORDINATOR,
            DPR_RELEASE_USER,
            CICD_AUTOMATION,
        ],
        write_roles: &[],
        extends: None,
        number_prefix: None,
        view: true,
        configuration: false,
    },
    Table {
        name: "sys_scope",
        label: "Application",
        display_column: "name",
        columns: &[
            Column::new("name", "Name", T::String).mandatory(),
            Column::new("scope", "Scope", T::String).mandatory(),
            Column::new("version", "Version", T::String),
            Column::new("short_description", "Short description", T::String),
            Column::new("active", "Active", T::Boolean).default("true"),
        ],
        read_roles: CICD,
        write_roles: CICD,
        extends: None,
        number_prefix: None,
        view: false,
        configuration: false,
    },
    Table {
        name: "sys_user_preference",
        label: "User Preference",
        display_column: "name",
        columns: &[
            Column::new("user", "User", T::Reference("sys_user"))
                .mandatory()
                .cascade(),
            Column::new("name", "Name", T::String).mandatory(),
            Column::new("value", "Value", T::String),
            Column::new("description", "Description", T::String),
        ],
        read_roles: CICD,
        write_roles: CICD,
        extends: None,
        number_prefix: None,
        view: false,
        configuration: false,
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
    },
    Table {
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
        number_prefix: None,
        view: false,
        configuration: false,
    },
    Table {
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
    },
];
