//! Release bundles.

use axum::extract::State;
use axum::response::Response;
use serde_json::json;

use super::ReleaseReaders;
use crate::app::AppState;
use crate::domain::dpr::bundles;
use crate::error::{Error, Result};
use crate::http::extract::{Authorized, QueryParams};
use crate::http::PathParams;

/// `GET .../digital_product_release/bundle/{sysId}[?sendAggregation=true]`.
/// The answer is not wrapped in `result`, as the vendor's page shows it.
pub async fn bundle(
    State(state): State<AppState>,
    params: PathParams,
    _auth: Authorized<ReleaseReaders>,
    QueryParams(q): QueryParams,
) -> Result<Response> {
    let with_aggregates = crate::domain::boolean::flag(
        "sendAggregation",
        q.get("sendAggregation").map(String::as_str),
        false,
    )?;
    let id = params.get("sys_id")?;
    let key = format!("bundle:{id}:{with_aggregates}");
    let body = state
        .answers
        .get_or_compute(&state.db, key, || bundle_body(&state, id, with_aggregates))
        .await?;
    Ok(crate::http::json_bytes(body))
}

async fn bundle_body(
    state: &AppState,
    id: &str,
    with_aggregates: bool,
) -> Result<axum::body::Bytes> {
    let b = bundles::bundle(&state.db, id, with_aggregates).await?;
    let mut body = json!({
        "sysId": b.sys_id,
        "name": b.name,
        "owner": b.owner,
        "releases": {"count": b.releases.len(), "list": b.releases},
    });
    if let Some(a) = b.aggregates {
        body["aggregates"] = json!({
            "releaseAggregate": a.releases,
            "taskAggregate": {"approval": a.tasks_approved, "nonApproval": a.tasks_not_approved},
            "policyAggregate": {"Executed": a.policies_executed, "Pending": a.policies_pending},
            "enhancementAggregate": {"Open": a.enhancements_open, "Closed": a.enhancements_closed},
        });
    }
    serde_json::to_vec(&body)
        .map(Into::into)
        .map_err(Error::internal)
}
