//! Digital Product Release endpoints:
//! `/api/sn_dpr[/{api_version}]/digital_product_release/...`, one file per
//! resource; the role sets and field helpers they share are here.

pub mod bundles;
pub mod calendars;
pub mod phases;
pub mod releases;
pub mod scope;

use crate::error::{Error, Result};
use crate::http::endpoint::Endpoint;
use crate::http::extract::{Fields, RoleSet};
use crate::identity::roles;
use crate::ids::is_sys_id;
use crate::time::parse_date;

/// The family's endpoints, below `/api/sn_dpr[/{version}]`. The document
/// names path parameters as the vendor's pages do.
pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint::get("/digital_product_release/bundle/{sys_id}", bundles::bundle)
            .summary("A release bundle, with aggregates over its releases when sendAggregation=true (answered without a result wrapper)")
            .query(&["sendAggregation"])
            .documented_as("sys_id", "sysId"),
        Endpoint::put("/digital_product_release/release/{sys_id}/retarget", releases::retarget)
            .summary("Change a release's readiness target (existing or out-of-band) and re-plan its remaining phases")
            .documented_as("sys_id", "sysId"),
        Endpoint::post("/digital_product_release/release", releases::create_release)
            .summary("Create a release (independent, draft, or primary with child releases), or move a Draft release to In Progress")
            .success(201),
        Endpoint::post("/digital_product_release/release_id/{release_id}/complete_phase", phases::complete_phase)
            .summary("Complete the current phase of a release when every mapped policy is compliant for every product")
            .documented_as("release_id", "releaseId")
            .success(201),
        Endpoint::post("/digital_product_release/release/{release_id}/phase/{phase_id}/start", phases::start_phase)
            .summary("Tollgate addition: start the next phase of a stage-oriented release by hand")
            .documented_as("release_id", "releaseId")
            .documented_as("phase_id", "phaseSysId")
            .success(201),
        Endpoint::post("/digital_product_release/release/{release_id}/restart", phases::restart)
            .summary("Tollgate addition: restart a release from one of its phases (body: phaseSysId); that phase and later ones are reset")
            .documented_as("release_id", "releaseId")
            .success(201),
        Endpoint::post("/digital_product_release/release/{release_id}/policies/run", phases::run_policies)
            .summary("Schedule an evaluation of every policy of the current phase for every product of the release")
            .documented_as("release_id", "releaseId")
            .success(201),
        Endpoint::get("/digital_product_release/releases/{release_id}/policies/status", phases::policy_status)
            .summary("Policy compliance of the current phase, per product")
            .documented_as("release_id", "releaseId"),
        Endpoint::post("/digital_product_release/release_calendar", calendars::create_release_calendar)
            .summary("Create a release calendar")
            .schema("ReleaseCalendar")
            .success(201),
        Endpoint::post("/digital_product_release/release_target", calendars::create_release_target)
            .summary("Create a readiness target or a recurring series of them")
            .schema("ReleaseTarget")
            .success(201),
        Endpoint::post("/digital_product_release/product_enhancement", scope::create_product_enhancement)
            .summary("Create a product enhancement, optionally for a version, a release carrying that version, and a product feature")
            .schema("ProductEnhancement")
            .success(201),
        Endpoint::post("/digital_product_release/release/{release_id}/key_date", scope::create_key_date)
            .summary("Create a key date inside the planned window of a timeline-oriented release")
            .documented_as("release_id", "releaseId")
            .schema("KeyDate")
            .success(201),
        Endpoint::post("/digital_product_release/release/{release_id}/related_task", scope::add_related_tasks)
            .summary("Relate task records (of the tables in sn_dpr_model.release_related_task_types) to a release, all or nothing")
            .documented_as("release_id", "releaseId")
            .schema("RelatedTasks")
            .success(201),
    ]
}

/// Release calendar administrators.
pub struct CalendarAdmins;
impl RoleSet for CalendarAdmins {
    const ANY_OF: &'static [&'static str] = &[roles::DPR_RELEASE_CALENDAR_ADMIN];
}

/// Product managers and release admins: create releases and targets.
pub struct ReleaseManagers;
impl RoleSet for ReleaseManagers {
    const ANY_OF: &'static [&'static str] = &[roles::DPR_PRODUCT_MANAGER, roles::DPR_RELEASE_ADMIN];
}

/// Those who move a release through its phases.
pub struct PhaseCompleters;
impl RoleSet for PhaseCompleters {
    const ANY_OF: &'static [&'static str] = &[
        roles::DPR_PRODUCT_MANAGER,
        roles::DPR_RELEASE_ADMIN,
        roles::DPR_RELEASE_COORDINATOR,
    ];
}

/// Everyone who works on releases.
pub struct ReleaseReaders;
impl RoleSet for ReleaseReaders {
    const ANY_OF: &'static [&'static str] = &[
        roles::DPR_PRODUCT_MANAGER,
        roles::DPR_RELEASE_ADMIN,
        roles::DPR_RELEASE_COORDINATOR,
        roles::DPR_RELEASE_USER,
    ];
}

/// Product managers only (the policy run endpoint).
pub struct ProductManagers;
impl RoleSet for ProductManagers {
    const ANY_OF: &'static [&'static str] = &[roles::DPR_PRODUCT_MANAGER];
}

pub(crate) fn sys_id_field(fields: &Fields, name: &str, required: bool) -> Result<Option<String>> {
    let value = if required {
        Some(fields.str(name)?)
    } else {
        fields.opt_str(name)?.filter(|s| !s.is_empty())
    };
    match value {
        Some(v) if is_sys_id(v.trim()) => Ok(Some(v.trim().to_owned())),
        Some(v) => Err(Error::invalid(
            &fields.path(name),
            format!("{v:?} is not a sys_id"),
        )),
        None => Ok(None),
    }
}

pub(crate) fn date_field(fields: &Fields, name: &str) -> Result<chrono::NaiveDate> {
    let raw = fields.str(name)?;
    parse_date(raw).ok_or_else(|| {
        Error::invalid(
            &fields.path(name),
            format!("{raw:?} is not a date in the format YYYY-MM-DD"),
        )
    })
}

/// An optional sys_id field where `""` and `null` mean "not given".
pub(crate) fn opt_sys_id(fields: &Fields, name: &str) -> Result<Option<String>> {
    sys_id_field(fields, name, false)
}

pub(crate) fn sys_id_list(fields: &Fields, name: &str) -> Result<Vec<String>> {
    let Some(items) = fields.opt_array(name)? else {
        return Ok(Vec::new());
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item.as_str() {
            Some(id) if is_sys_id(id) => Ok(id.to_owned()),
            Some(other) => Err(Error::invalid(
                &format!("{name}[{i}]"),
                format!("{other:?} is not a sys_id"),
            )),
            None => Err(Error::wrong_type(
                &format!("{name}[{i}]"),
                "a sys_id string",
            )),
        })
        .collect()
}
