//! Role names, as the API documents name them.

pub const ADMIN: &str = "admin";
pub const USER_ADMIN: &str = "user_admin";
pub const DPR_PRODUCT_MANAGER: &str = "sn_dpr_model.product_manager";
pub const DPR_RELEASE_ADMIN: &str = "sn_dpr_model.release_admin";
pub const DPR_RELEASE_COORDINATOR: &str = "sn_dpr_model.release_coordinator";
pub const DPR_RELEASE_USER: &str = "sn_dpr_model.release_user";
pub const DPR_RELEASE_CALENDAR_ADMIN: &str = "sn_dpr_model.release_calendar_admin";
pub const CDM_VIEWER: &str = "sn_cdm.cdm.viewer";
pub const CDM_EDITOR: &str = "sn_cdm.cdm_editor";
pub const CDM_ADMIN: &str = "sn_cdm.cdm_admin";
pub const CDM_SECRETS: &str = "sn_cdm.cdm_secrets";
pub const CICD_AUTOMATION: &str = "sn_cicd.sys_ci_automation";
pub const SDP_ADMIN: &str = "sdp.admin";
pub const SDP_TECHNICIAN: &str = "sdp.technician";

/// Every role the server knows, with a description; seeded on start-up.
pub const ALL: &[(&str, &str)] = &[
    (ADMIN, "Full access to every API and table"),
    (USER_ADMIN, "Manages users and role assignments"),
    (
        DPR_PRODUCT_MANAGER,
        "Digital Product Release: product manager",
    ),
    (
        DPR_RELEASE_ADMIN,
        "Digital Product Release: release administrator",
    ),
    (
        DPR_RELEASE_COORDINATOR,
        "Digital Product Release: release coordinator",
    ),
    (DPR_RELEASE_USER, "Digital Product Release: release user"),
    (
        DPR_RELEASE_CALENDAR_ADMIN,
        "Digital Product Release: release calendar administrator",
    ),
    (CDM_VIEWER, "Configuration Data Management: viewer"),
    (CDM_EDITOR, "Configuration Data Management: editor"),
    (CDM_ADMIN, "Configuration Data Management: administrator"),
    (
        CDM_SECRETS,
        "Configuration Data Management: sees and exports secure values in clear",
    ),
    (CICD_AUTOMATION, "CI/CD automation (update sets, progress)"),
    (SDP_ADMIN, "ServiceDesk-style releases: administrator"),
    (SDP_TECHNICIAN, "ServiceDesk-style releases: technician"),
];
