//! Creating releases.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::*;
use crate::app::AppState;
use crate::domain::dpr::{releases, retarget};
use crate::error::{Error, Result};
use crate::http::extract::{Authorized, Fields, JsonObject};
use crate::http::PathParams;

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

/// `PUT .../digital_product_release/release/{sysId}/retarget`
pub async fn retarget(
    State(state): State<AppState>,
    params: PathParams,
    auth: Authorized<ReleaseManagers>,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    let f = Fields::new(&body);
    let out_of_band = f.opt_bool("outOfBand")?.unwrap_or(false);
    let target = match (out_of_band, opt_sys_id(&f, "releaseTarget")?) {
        (false, Some(id)) => retarget::NewTarget::Existing(id),
        (false, None) => {
            return Err(Error::missing("releaseTarget").with_detail(
                "give releaseTarget, or outOfBand with releaseCalendar and releaseDate",
            ))
        }
        (true, _) => retarget::NewTarget::OutOfBand {
            calendar: sys_id_field(&f, "releaseCalendar", true)?.unwrap_or_default(),
            date: date_field(&f, "releaseDate")?,
        },
    };
    retarget::retarget(
        &state.db,
        params.get("sys_id")?,
        target,
        &auth.caller.user_name,
    )
    .await?;
    Ok(Json(json!({"result": {"error": false, "message": ""}})).into_response())
}
