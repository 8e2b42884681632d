//! Operations endpoints: health, readiness, metrics, OpenAPI.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use super::endpoint::{Access, Endpoint};
use crate::app::AppState;
use crate::config::Settings;
use crate::storage::migrations;

/// The operations endpoints. Metrics and this document need credentials
/// unless a setting opens them.
pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint::get("/healthz", healthz)
            .summary("The process is up")
            .public(),
        Endpoint::get("/readyz", readyz)
            .summary("The database is reachable and migrated, and the server is not draining")
            .public(),
        Endpoint::get("/metrics", metrics)
            .summary("Prometheus metrics")
            .public_if(|s| s.public_metrics, "public_metrics"),
        Endpoint::get("/openapi.json", openapi)
            .summary("This document")
            .public_if(|s| s.public_openapi, "public_openapi"),
    ]
}

/// The process is up.
pub async fn healthz() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// The database answers and its schema is the one this binary expects, and
/// the process is not shutting down.
pub async fn readyz(State(state): State<AppState>) -> Response {
    if state.draining.load(std::sync::atomic::Ordering::Relaxed) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "draining"})),
        )
            .into_response();
    }
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

/// The document, built once for each way the settings open endpoints: it
/// depends only on the endpoint lists, the table registry and which of the
/// endpoints a setting opens (`public_metrics`, `public_openapi`) are open.
pub async fn openapi(State(state): State<AppState>) -> Response {
    type Documents = Mutex<HashMap<Vec<bool>, axum::body::Bytes>>;
    type Switch = fn(&Settings) -> bool;
    static SWITCHES: OnceLock<Vec<Switch>> = OnceLock::new();
    static DOCUMENTS: OnceLock<Documents> = OnceLock::new();
    let switches = SWITCHES.get_or_init(|| {
        super::families()
            .iter()
            .flat_map(|family| family.endpoints.iter())
            .filter_map(|e| match e.access {
                Access::PublicIf(open, _) => Some(open),
                _ => None,
            })
            .collect()
    });
    let key: Vec<bool> = switches.iter().map(|open| open(&state.settings)).collect();
    let documents = DOCUMENTS.get_or_init(Documents::default);
    let mut documents = documents.lock().unwrap_or_else(|e| e.into_inner());
    let body = documents
        .entry(key)
        .or_insert_with(|| super::openapi::document(&state.settings).to_string().into())
        .clone();
    drop(documents);
    super::json_bytes(body)
}
