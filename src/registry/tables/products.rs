//! Products, services and their versions: one hierarchy stored in `cmdb_model`.

use super::{DPR_READERS, DPR_WRITERS};
use crate::registry::{Column, ColumnType as T, Table};

pub(super) const CMDB_MODEL: Table = Table {
    name: "cmdb_model",
    label: "Product Model",
    display_column: "name",
    columns: &[
        Column::new("sys_class_name", "Class", T::String).read_only(),
        Column::new("name", "Name", T::String)
            .mandatory()
            .text_indexed(),
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
};

pub(super) const CMDB_APPLICATION_PRODUCT_MODEL: Table = Table {
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
};

pub(super) const CMDB_SERVICE_PRODUCT_MODEL: Table = Table {
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
};

pub(super) const CMDB_SOFTWARE_PRODUCT_MODEL: Table = Table {
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
};

pub(super) const CMDB_SERVICE_OFFERING_MODEL: Table = Table {
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
};

pub(super) const CMDB_SW_COMPONENT_MODEL: Table = Table {
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
};
