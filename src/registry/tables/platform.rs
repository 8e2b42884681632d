//! System properties, schedules, scopes and the progress view of the job
//! queue.

use super::{CICD, DPR_READERS};
use crate::identity::roles::{
    CICD_AUTOMATION, DPR_PRODUCT_MANAGER, DPR_RELEASE_ADMIN, DPR_RELEASE_CALENDAR_ADMIN,
    DPR_RELEASE_COORDINATOR, DPR_RELEASE_USER,
};
use crate::registry::{Column, ColumnType as T, Table};

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

const PROPERTY_TYPES: &[(&str, &str)] = &[
    ("string", "string"),
    ("boolean", "true | false"),
    ("integer", "integer"),
    ("choicelist", "choice list"),
];

const PROGRESS_STATES: &[(&str, &str)] = &[
    ("pending", "Pending"),
    ("running", "Running"),
    ("complete", "Complete"),
    ("error", "Error"),
    ("cancelled", "Cancelled"),
];

pub(super) const SYS_PROPERTIES: Table = Table {
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
};

pub(super) const CMN_SCHEDULE: Table = Table {
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
};

pub(super) const CMN_SCHEDULE_SPAN: Table = Table {
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
};

pub(super) const SYS_PROGRESS_WORKER: Table = Table {
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
};

pub(super) const SYS_SCOPE: Table = Table {
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
};

/// Files attached to records (the Attachment API). The Table API shows them
/// to administrators only: whether someone else may see a file depends on
/// the record it is attached to, which the Attachment API checks. The bytes
/// are in `sys_attachment_doc` (not a registered table: never served as
/// records).
pub(super) const SYS_ATTACHMENT: Table = Table {
    name: "sys_attachment",
    label: "Attachment",
    display_column: "file_name",
    columns: &[
        Column::new("table_name", "Table name", T::String)
            .mandatory()
            .read_only(),
        Column::new("table_sys_id", "Table sys ID", T::String)
            .mandatory()
            .read_only(),
        Column::new("file_name", "File name", T::String)
            .mandatory()
            .read_only(),
        Column::new("content_type", "Content type", T::String)
            .mandatory()
            .read_only(),
        Column::new("size_bytes", "Size bytes", T::Integer)
            .mandatory()
            .read_only(),
        Column::new("hash", "Hash (SHA-256)", T::String)
            .mandatory()
            .read_only(),
        Column::new("chunk_count", "Chunks", T::Integer)
            .mandatory()
            .read_only(),
    ],
    read_roles: &[],
    write_roles: &[],
    extends: None,
    number_prefix: None,
    view: false,
    configuration: false,
};
