//! Operations endpoints: health, readiness, metrics, OpenAPI.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::app::AppState;
use crate::storage::migrations;

/// The process is up.
pub async fn healthz() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// The database answers and its schema is the one this binary expects.
pub async fn readyz(State(state): State<AppState>) -> Response {
    match migrations::current_version(&state.db).await {
        Ok(v) if v == migrations::latest_version() => Json(json!({"status": "ready", "schema_version": v})).into_response(),
        Ok(v) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "migrations pending", "schema_version": v, "expected": migrations::latest_version()})),
        )
            .into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "database unreachable"}))).into_response(),
    }
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    let jobs = state.jobs.counts().await.unwrap_or_default();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(&jobs),
    )
        .into_response()
}

pub async fn openapi() -> Response {
    Json(super::openapi::document()).into_response()
}
