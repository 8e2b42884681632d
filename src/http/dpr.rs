//! Digital Product Release endpoints:
//! `/api/sn_dpr[/{api_version}]/digital_product_release/...`.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::extract::{Authorized, Fields, JsonObject, RoleSet};
use super::PathParams;
use crate::app::AppState;
use crate::domain::dpr::{calendars, phases, policy_run, policy_status, releases, targets};
use crate::error::{Error, Result};
use crate::identity::roles;
use crate::ids::is_sys_id;
use crate::time::parse_date;

pub struct CalendarAdmins;
impl RoleSet for CalendarAdmins {
    const ANY_OF: &'static [&'static str] = &[roles::DPR_RELEASE_CALENDAR_ADMIN];
}

/// Product managers and release admins: create releases and targets.
pub struct ReleaseManagers;
impl RoleSet for ReleaseManagers {
    const ANY_OF: &'static [&'static str] = &[roles::DPR_PRODUCT_MANAGER, roles::DPR_RELEASE_ADMIN];
}

fn sys_id_field(fields: &Fields, name: &str, required: bool) -> Result<Option<String>> {
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

fn date_field(fields: &Fields, name: &str) -> Result<chrono::NaiveDate> {
    let raw = fields.str(name)?;
    parse_date(raw).ok_or_else(|| {
        Error::invalid(
            &fields.path(name),
            format!("{raw:?} is not a date in the format YYYY-MM-DD"),
        )
    })
}

/// `POST .../digital_product_release/release_calendar`
pub async fn create_release_calendar(
    State(state): State<AppState>,
    _params: PathParams,
    auth: Authorized<CalendarAdmins>,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    let f = Fields::new(&body);
    let name = f.str("name")?.to_owned();
    let release_admin = sys_id_field(&f, "releaseAdmin", true)?.unwrap_or_default();
    let schedules = match f.opt_str("schedules")? {
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                if is_sys_id(s) {
                    Ok(s.to_owned())
                } else {
                    Err(Error::invalid(
                        "schedules",
                        format!("{s:?} is not a sys_id"),
                    ))
                }
            })
            .collect::<Result<Vec<_>>>()?,
        None => Vec::new(),
    };
    let calendar = calendars::NewCalendar {
        name,
        description: f.opt_str("description")?.map(str::to_owned),
        release_admin,
        schedules,
        time_zone: f
            .opt_str("timeZone")?
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
    };
    let id = calendars::create(&state.db, calendar, &auth.caller.user_name).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"result": {"error": false, "message": "", "releaseCalendarId": id}})),
    )
        .into_response())
}

/// `POST .../digital_product_release/release_target`
pub async fn create_release_target(
    State(state): State<AppState>,
    _params: PathParams,
    auth: Authorized<ReleaseManagers>,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    let f = Fields::new(&body);
    let name = f.str("name")?.to_owned();
    let release_admin = sys_id_field(&f, "releaseAdmin", true)?.unwrap_or_default();
    let release_calendar = sys_id_field(&f, "releaseCalendar", true)?.unwrap_or_default();
    let is_recurring = f
        .opt_bool("isRecurring")?
        .ok_or_else(|| Error::missing("isRecurring"))?;
    let start = date_field(&f, "startDate")?;
    let recurrence = if is_recurring {
        let end = date_field(&f, "endDate")?;
        let repeats = f
            .opt_object("repeats")?
            .ok_or_else(|| Error::missing("repeats"))?;
        let r = f.nested("repeats", repeats);
        let frequency = match r.str("type")? {
            "weekly" => targets::Frequency::Weekly,
            "monthly" => targets::Frequency::Monthly,
            other => {
                return Err(Error::invalid(
                    "repeats.type",
                    format!("{other:?} is not one of weekly, monthly"),
                ))
            }
        };
        let every = r
            .opt_int("every")?
            .ok_or_else(|| Error::missing("repeats.every"))?;
        if !(1..=520).contains(&every) {
            return Err(Error::invalid(
                "repeats.every",
                "must be a whole number from 1 to 520",
            ));
        }
        let day_of_week = match r.opt_int("daysOfWeek")? {
            Some(d) if (1..=7).contains(&d) => Some(d as u32),
            Some(_) => {
                return Err(Error::invalid(
                    "repeats.daysOfWeek",
                    "must be a weekday number from 1 (Monday) to 7 (Sunday)",
                ))
            }
            None => None,
        };
        Some(targets::Recurrence {
            frequency,
            every: every as u32,
            day_of_week,
            end,
        })
    } else {
        None
    };
    let mut decisions = HashMap::new();
    if let Some(items) = f.opt_array("targetsWithOverlappingScheduleDetails")? {
        for (i, item) in items.iter().enumerate() {
            let path = format!("targetsWithOverlappingScheduleDetails[{i}]");
            let obj = item
                .as_object()
                .ok_or_else(|| Error::wrong_type(&path, "an object"))?;
            let entry = f.nested(&path, obj);
            let date = date_field(&entry, "date")?;
            let active = entry.opt_bool("active")?.unwrap_or(true);
            decisions.insert(date, active);
        }
    }
    let request = targets::NewTargets {
        name,
        description: f
            .opt_str("description")?
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        release_admin,
        release_calendar,
        start,
        recurrence,
        schedule: sys_id_field(&f, "scheduleSysId", false)?,
        decisions,
    };
    let count = targets::create(&state.db, request, &auth.caller.user_name).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"result": {"error": false, "message": "", "count": count}})),
    )
        .into_response())
}

/// An optional sys_id field where `""` and `null` mean "not given".
fn opt_sys_id(fields: &Fields, name: &str) -> Result<Option<String>> {
    sys_id_field(fields, name, false)
}

fn sys_id_list(fields: &Fields, name: &str) -> Result<Vec<String>> {
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

/// `POST .../digital_product_release/release`
pub async fn create_release(
    State(state): State<AppState>,
    _params: PathParams,
    auth: Authorized<ReleaseManagers>,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    let f = Fields::new(&body);
    let non_empty = |name: &str| -> Result<Option<String>> {
        Ok(f.opt_str(name)?
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned))
    };
    let mut auto_create_included = Vec::new();
    if let Some(items) = f.opt_array("autoCreateIncludedVersions")? {
        for (i, item) in items.iter().enumerate() {
            let path = format!("autoCreateIncludedVersions[{i}]");
            let obj = item
                .as_object()
                .ok_or_else(|| Error::wrong_type(&path, "an object"))?;
            let entry = f.nested(&path, obj);
            auto_create_included.push(releases::IncludedVersion {
                product: sys_id_field(&entry, "product", true)?.unwrap_or_default(),
                version: entry.str("version")?.to_owned(),
            });
        }
    }
    let release_date = match non_empty("releaseDate")? {
        Some(raw) => Some(parse_date(&raw).ok_or_else(|| {
            Error::invalid(
                "releaseDate",
                format!("{raw:?} is not a date in the format yyyy-MM-dd"),
            )
        })?),
        None => None,
    };
    let request = releases::NewRelease {
        name: non_empty("name")?,
        description: non_empty("releaseDescription")?,
        product: opt_sys_id(&f, "productId")?,
        product_version: opt_sys_id(&f, "productVersion")?,
        auto_create_version: non_empty("autoCreateVersionName")?,
        owner: opt_sys_id(&f, "releaseOwner")?,
        template: opt_sys_id(&f, "templateId")?,
        target: opt_sys_id(&f, "releaseTarget")?,
        release_date,
        calendar: opt_sys_id(&f, "releaseCalendar")?,
        included_versions: sys_id_list(&f, "includedVersions")?,
        auto_create_included,
        draft: f.opt_bool("isDraftRelease")?.unwrap_or(false),
        validates_version: f.opt_bool("validatesVersion")?.unwrap_or(false),
        draft_release: opt_sys_id(&f, "draftReleaseId")?,
    };
    let created = releases::create(&state.db, &state.jobs, request, &auth.caller.user_name).await?;
    let mut result = json!({"error": false, "message": "", "releaseId": created.release_id});
    if let Some(progress) = created.progress_id {
        result["progressId"] = json!(progress);
    }
    Ok((StatusCode::CREATED, Json(json!({ "result": result }))).into_response())
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

/// `POST .../digital_product_release/release_id/{releaseId}/complete_phase`
pub async fn complete_phase(
    State(state): State<AppState>,
    params: PathParams,
    auth: Authorized<PhaseCompleters>,
) -> Result<Response> {
    let release = params.get("release_id")?;
    let done = phases::complete_current_phase(&state.db, release, &auth.caller.user_name).await?;
    let body = json!({"result": {
        "status": "success",
        "message": "Release phase is marked as complete",
        "phaseSysId": done.phase,
    }});
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `YYYY-MM-DD hh:mm:ss` (UTC) as ISO 8601, as the policy status page shows it.
fn iso(t: &str) -> String {
    match t.split_once(' ') {
        Some((d, h)) => format!("{d}T{h}Z"),
        None => t.to_owned(),
    }
}

fn summary_json(s: &policy_status::Summary) -> serde_json::Value {
    json!({
        "compliant": s.compliant,
        "compliantCount": s.compliant_count,
        "nonCompliantCount": s.non_compliant_count,
        "totalCount": s.total_count,
    })
}

/// `GET .../digital_product_release/releases/{releaseId}/policies/status`
pub async fn policy_status(
    State(state): State<AppState>,
    params: PathParams,
    _auth: Authorized<ReleaseReaders>,
) -> Result<Response> {
    let release = params.get("release_id")?;
    let status = policy_status::policy_status(&state.db, release).await?;
    let mut overall = summary_json(&status.summary);
    overall["currentPhase"] = json!(status.phase_name);
    overall["timestamp"] = json!(status.timestamp.as_deref().map(iso).unwrap_or_default());
    let products: Vec<serde_json::Value> = status
        .products
        .iter()
        .map(|p| {
            let details: Vec<serde_json::Value> = p
                .results
                .iter()
                .map(|r| {
                    json!({
                        "name": r.name,
                        "policyId": r.policy,
                        "status": r.status,
                        "lastRunAt": r.last_run_at.as_deref().map(iso).unwrap_or_default(),
                        "executionOutput": r.output,
                        "reason": r.reason,
                    })
                })
                .collect();
            json!({
                "productId": p.product.product,
                "productName": p.product.product_name,
                "productVersion": p.product.version_name,
                "summary": summary_json(&p.summary),
                "policyExecutionDetails": details,
            })
        })
        .collect();
    Ok(Json(json!({"result": {"overallSummary": overall, "products": products}})).into_response())
}

/// Product managers only (the policy run endpoint).
pub struct ProductManagers;
impl RoleSet for ProductManagers {
    const ANY_OF: &'static [&'static str] = &[roles::DPR_PRODUCT_MANAGER];
}

/// `POST .../digital_product_release/release/{releaseId}/policies/run`
pub async fn run_policies(
    State(state): State<AppState>,
    params: PathParams,
    auth: Authorized<ProductManagers>,
) -> Result<Response> {
    let release = params.get("release_id")?;
    policy_run::schedule(&state.db, &state.jobs, release, &auth.caller.user_name).await?;
    let body = json!({"result": {
        "error": false,
        "errorCode": "",
        "message": "Policy execution scheduled.",
        "policyExecutionScheduled": true,
    }});
    Ok((StatusCode::CREATED, Json(body)).into_response())
}
