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
    },
];
