//! Phases and their policies: complete a phase, run policies, policy status.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::*;
use crate::app::AppState;
use crate::domain::dpr::{lifecycle, phases, policy_run, policy_status};
use crate::error::Result;
use crate::http::extract::{Authorized, Fields, JsonObject};
use crate::http::PathParams;

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
    let key = format!("policy_status:{release}");
    let body = state
        .answers
        .get_or_compute(&state.db, key, || policy_status_body(&state, release))
        .await?;
    Ok(crate::http::json_bytes(body))
}

async fn policy_status_body(state: &AppState, release: &str) -> Result<axum::body::Bytes> {
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
    let body = json!({"result": {"overallSummary": overall, "products": products}});
    serde_json::to_vec(&body)
        .map(Into::into)
        .map_err(crate::error::Error::internal)
}

/// `POST .../digital_product_release/release/{releaseId}/policies/run`
pub async fn run_policies(
    State(state): State<AppState>,
    params: PathParams,
    auth: Authorized<ProductManagers>,
) -> Result<Response> {
    let release = params.get("release_id")?;
    if let Err(e) =
        policy_run::schedule(&state.db, &state.jobs, release, &auth.caller.user_name).await
    {
        return Ok(crate::http::envelope::policy_run_failure(e));
    }
    let body = json!({"result": {
        "error": false,
        "errorCode": "",
        "message": "Policy execution scheduled.",
        "policyExecutionScheduled": true,
    }});
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `POST .../digital_product_release/release/{releaseId}/phase/{phaseSysId}/start`
/// (a Tollgate addition): starts the next phase of a stage-oriented release.
pub async fn start_phase(
    State(state): State<AppState>,
    params: PathParams,
    auth: Authorized<PhaseCompleters>,
) -> Result<Response> {
    let release = params.get("release_id")?;
    let phase = params.get("phase_id")?;
    lifecycle::start_phase(&state.db, release, phase, &auth.caller.user_name).await?;
    let body = json!({"result": {"error": false, "message": "Release phase started", "phaseSysId": phase}});
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `POST .../digital_product_release/release/{releaseId}/restart` with
/// `{"phaseSysId": ...}` (a Tollgate addition): resets that phase and every
/// later one; the release is Restarting until the phase starts again.
pub async fn restart(
    State(state): State<AppState>,
    params: PathParams,
    auth: Authorized<ReleaseManagers>,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    let release = params.get("release_id")?;
    let f = Fields::new(&body);
    let phase = sys_id_field(&f, "phaseSysId", true)?.unwrap_or_default();
    lifecycle::restart(&state.db, release, &phase, &auth.caller.user_name).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"result": {"error": false, "message": ""}})),
    )
        .into_response())
}
