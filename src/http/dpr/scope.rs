//! A release's scope: product enhancements, key dates and related tasks.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::*;
use crate::app::AppState;
use crate::domain::dpr::scope;
use crate::error::{Error, Result};
use crate::http::extract::{Authorized, Fields, JsonObject};
use crate::http::PathParams;

/// Those who may add key dates to a release.
pub struct KeyDateWriters;
impl RoleSet for KeyDateWriters {
    const ANY_OF: &'static [&'static str] = &[
        roles::DPR_PRODUCT_MANAGER,
        roles::DPR_RELEASE_ADMIN,
        roles::DPR_RELEASE_COORDINATOR,
    ];
}

/// An optional string field, trimmed; blank reads as not given.
fn text(f: &Fields, name: &str) -> Result<Option<String>> {
    Ok(f.opt_str(name)?
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned))
}

/// `POST .../digital_product_release/product_enhancement`
pub async fn create_product_enhancement(
    State(state): State<AppState>,
    _params: PathParams,
    auth: Authorized<ProductManagers>,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    let f = Fields::new(&body);
    let request = scope::NewEnhancement {
        name: text(&f, "name")?,
        description: f.opt_str("description")?.map(str::to_owned),
        priority: text(&f, "priority")?,
        product: opt_sys_id(&f, "productSysId")?,
        version: opt_sys_id(&f, "versionSysId")?,
        release: opt_sys_id(&f, "releaseSysId")?,
        feature: opt_sys_id(&f, "productFeatureSysId")?,
    };
    let id = scope::create_enhancement(&state.db, request, &auth.caller.user_name).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"result": {"error": false, "sysId": id}})),
    )
        .into_response())
}

/// The due date, from `dueDate` (the example) or `duedate` (the parameter
/// table); both may be given only when they agree.
fn due_date(f: &Fields) -> Result<(Option<chrono::NaiveDate>, String)> {
    let camel = text(f, "dueDate")?;
    let lower = text(f, "duedate")?;
    let (field, raw) = match (camel, lower) {
        (Some(a), Some(b)) if a != b => {
            return Err(Error::invalid(
                "dueDate",
                "dueDate and duedate are both given and differ",
            ))
        }
        (Some(a), _) => ("dueDate", a),
        (None, Some(b)) => ("duedate", b),
        (None, None) => return Ok((None, "dueDate".to_owned())),
    };
    let date = parse_date(&raw).ok_or_else(|| {
        Error::invalid(
            field,
            format!("{raw:?} is not a date in the format yyyy-MM-dd"),
        )
    })?;
    Ok((Some(date), field.to_owned()))
}

/// `POST .../digital_product_release/release/{releaseId}/key_date`
pub async fn create_key_date(
    State(state): State<AppState>,
    params: PathParams,
    auth: Authorized<KeyDateWriters>,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    let release = params.get("release_id")?;
    let f = Fields::new(&body);
    let (due, due_field) = due_date(&f)?;
    let request = scope::NewKeyDate {
        name: text(&f, "name")?,
        kind: text(&f, "type")?,
        state: text(&f, "state")?,
        due_date: due,
        due_date_field: due_field,
        description: f.opt_str("description")?.map(str::to_owned),
        assigned_to: opt_sys_id(&f, "assignedTo")?,
    };
    let id = scope::create_key_date(&state.db, release, request, &auth.caller.user_name).await?;
    let body = json!({"result": {
        "error": false,
        "message": "Release key date created successfully",
        "keyDateSysId": id,
    }});
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `POST .../digital_product_release/release/{releaseId}/related_task`
pub async fn add_related_tasks(
    State(state): State<AppState>,
    params: PathParams,
    auth: Authorized<ReleaseManagers>,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    let release = params.get("release_id")?;
    let f = Fields::new(&body);
    let task_ids = match f.opt_array("taskIds")? {
        Some(_) => Some(sys_id_list(&f, "taskIds")?),
        None => None,
    };
    scope::add_related_tasks(&state.db, release, task_ids, &auth.caller.user_name).await?;
    let body = json!({"result": {
        "error": false,
        "message": "Successfully created the mappings between the release and all the tasks.",
    }});
    Ok((StatusCode::CREATED, Json(body)).into_response())
}
