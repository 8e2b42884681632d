//! The registered tables, one file per family. A family issue adds its
//! tables to its file (and a migration that creates them) and lists them
//! in [`TABLES`]; the schema conformance tests (`tests/api/schema.rs`)
//! compare the two.

mod cdm;
mod dpr;
mod identity;
mod platform;
mod products;
mod tasks;
mod update_sets;

use super::Table;
use crate::identity::roles::{
    CICD_AUTOMATION, DPR_PRODUCT_MANAGER, DPR_RELEASE_ADMIN, DPR_RELEASE_CALENDAR_ADMIN,
    DPR_RELEASE_COORDINATOR, DPR_RELEASE_USER,
};

const DPR_READERS: &[&str] = &[
    DPR_PRODUCT_MANAGER,
    DPR_RELEASE_ADMIN,
    DPR_RELEASE_COORDINATOR,
    DPR_RELEASE_USER,
    DPR_RELEASE_CALENDAR_ADMIN,
];

/// Who may shape releases (and their records) through the Table API.
const DPR_WRITERS: &[&str] = &[DPR_PRODUCT_MANAGER, DPR_RELEASE_ADMIN];

const CICD: &[&str] = &[CICD_AUTOMATION];

/// Every registered table, in the order the APIs list them.
pub static TABLES: &[Table] = &[
    identity::SYS_USER,
    identity::SYS_USER_ROLE,
    identity::SYS_USER_HAS_ROLE,
    platform::SYS_PROPERTIES,
    platform::CMN_SCHEDULE,
    platform::CMN_SCHEDULE_SPAN,
    dpr::SN_DPR_MODEL_RELEASE_CALENDAR,
    dpr::SN_DPR_MODEL_RELEASE_TARGET,
    products::CMDB_MODEL,
    products::CMDB_APPLICATION_PRODUCT_MODEL,
    products::CMDB_SERVICE_PRODUCT_MODEL,
    products::CMDB_SOFTWARE_PRODUCT_MODEL,
    products::CMDB_SERVICE_OFFERING_MODEL,
    products::CMDB_SW_COMPONENT_MODEL,
    dpr::SN_DPR_MODEL_PRODUCT_FEATURE,
    tasks::TASK,
    tasks::CHANGE_REQUEST,
    tasks::INCIDENT,
    tasks::PROBLEM,
    tasks::RM_STORY,
    dpr::SN_PACE_POLICY,
    dpr::SN_DPR_MODEL_RELEASE_TEMPLATE,
    dpr::SN_DPR_MODEL_TEMPLATE_PHASE,
    dpr::SN_DPR_MODEL_TEMPLATE_PHASE_POLICY,
    dpr::SN_DPR_MODEL_RELEASE,
    dpr::SN_DPR_MODEL_RELEASE_PHASE,
    dpr::SN_DPR_MODEL_POLICY_EXECUTION,
    dpr::SN_DPR_MODEL_RELEASE_KEY_DATE,
    dpr::SN_DPR_MODEL_RELEASE_RELATED_TASK,
    dpr::SN_DPR_MODEL_PRODUCT_ENHANCEMENT,
    dpr::SN_DPR_MODEL_RELEASE_BUNDLE,
    dpr::SN_DPR_MODEL_RELEASE_BUNDLE_MEMBER,
    platform::SYS_PROGRESS_WORKER,
    platform::SYS_SCOPE,
    identity::SYS_USER_PREFERENCE,
    update_sets::SYS_UPDATE_SET_SOURCE,
    update_sets::SYS_REMOTE_UPDATE_SET,
    update_sets::SYS_UPDATE_SET,
    update_sets::SYS_UPDATE_XML,
    update_sets::SYS_UPDATE_VERSION,
    update_sets::SYS_UPDATE_PREVIEW_PROBLEM,
    cdm::SN_CDM_APPLICATION,
    cdm::SN_CDM_NODE,
    cdm::SN_CDM_CHANGESET,
    cdm::CMDB_CI_SERVICE_AUTO,
    cdm::SN_CDM_DEPLOYABLE,
    cdm::SN_CDM_SNAPSHOT,
    cdm::SN_CDM_REQUEST_QUEUE,
    cdm::SN_CDM_PACE_POLICY_MAPPING,
    cdm::SN_CDM_SHARED_COMPONENT,
    platform::SYS_ATTACHMENT,
];
