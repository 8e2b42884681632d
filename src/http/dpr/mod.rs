//! Digital Product Release endpoints:
//! `/api/sn_dpr[/{api_version}]/digital_product_release/...`, one file per
//! resource; the role sets and field helpers they share are here.

pub mod bundles;
pub mod calendars;
pub mod phases;
pub mod releases;
pub mod scope;

use crate::error::{Error, Result};
use crate::http::extract::{Fields, RoleSet};
use crate::identity::roles;
use crate::ids::is_sys_id;
use crate::time::parse_date;

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
