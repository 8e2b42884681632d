//! CI/CD endpoints: `/api/sn_cicd[/{api_version}]/...`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value as Json_};

use super::extract::{Authorized, RoleSet};
use super::{base_url, PathParams};
use crate::app::AppState;
use crate::error::{Error, Result};
use crate::identity::roles;
use crate::jobs::{JobState, Progress};

pub struct CicdAutomation;
impl RoleSet for CicdAutomation {
    const ANY_OF: &'static [&'static str] = &[roles::CICD_AUTOMATION];
}

/// The `status` code and label of a job state, as the progress API names them.
pub fn status_of(state: JobState) -> (&'static str, &'static str) {
    match state {
        JobState::Pending => ("0", "Pending"),
        JobState::Running => ("1", "Running"),
        JobState::Succeeded => ("2", "Successful"),
        JobState::Failed => ("3", "Failed"),
        JobState::Canceled => ("4", "Canceled"),
    }
}

/// The progress body shared by every asynchronous sn_cicd answer.
pub fn progress_body(base: &str, p: &Progress) -> Json_ {
    let (status, label) = status_of(p.state);
    let mut links = json!({
        "progress": {"id": p.id, "url": format!("{base}/api/sn_cicd/progress/{}", p.id)}
    });
    if let Some((table, id)) = &p.result {
        links["results"] = json!({"id": id, "url": format!("{base}/api/now/table/{table}/{id}")});
    }
    json!({
        "links": links,
        "status": status,
        "status_label": label,
        "status_message": p.status_message,
        "status_detail": p.status_detail,
        "error": p.error,
        "percent_complete": p.percent_complete,
    })
}

/// `GET /api/sn_cicd/progress/{progress_id}`
pub async fn progress(
    State(state): State<AppState>,
    params: PathParams,
    _auth: Authorized<CicdAutomation>,
    headers: HeaderMap,
) -> Result<Json<Json_>> {
    let id = params.get("progress_id")?;
    let progress = state.jobs.progress(id).await?.ok_or_else(|| {
        Error::not_found("No Record found").with_detail(format!("No progress record with id {id}"))
    })?;
    Ok(Json(
        json!({"result": progress_body(&base_url(&headers, &state.settings), &progress)}),
    ))
}
