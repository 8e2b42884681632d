//! Users, roles and their preferences.

use super::CICD;
use crate::identity::roles::{
    DPR_PRODUCT_MANAGER, DPR_RELEASE_ADMIN, DPR_RELEASE_CALENDAR_ADMIN, USER_ADMIN,
};
use crate::registry::{Column, ColumnType as T, Table};

pub(super) const SYS_USER: Table = Table {
    name: "sys_user",
    label: "User",
    display_column: "name",
    columns: &[
        Column::new("user_name", "User ID", T::String)
            .mandatory()
            .text_indexed(),
        Column::new("first_name", "First name", T::String),
        Column::new("last_name", "Last name", T::String),
        Column::new("name", "Name", T::String).text_indexed(),
        Column::new("email", "Email", T::String).text_indexed(),
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
};

pub(super) const SYS_USER_ROLE: Table = Table {
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
};

pub(super) const SYS_USER_HAS_ROLE: Table = Table {
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
};

pub(super) const SYS_USER_PREFERENCE: Table = Table {
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
};
