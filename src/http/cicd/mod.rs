//! CI/CD endpoints: `/api/sn_cicd[/{api_version}]/...`: the progress of
//! asynchronous work, and the update-set operations. Parameters come from
//! the query string or the body (JSON, or XML turned into JSON by
//! [`super::xml`]); answers are JSON, or XML when the client asks for it.
//!
//! Handlers read the parameters into typed arguments, authorise, call one
//! operation of `domain::update_sets::operations` (which checks and queues
//! in its own transaction), and shape the answer with [`view`].

pub mod view;

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{Map, Value as Json_};

use super::endpoint::Endpoint;
use super::extract::{Authorized, JsonObject, QueryParams, RoleSet};
use super::{base_url, PathParams};
use crate::app::AppState;
use crate::domain::update_sets::operations::{self, RetrieveRequest, Source};
use crate::domain::update_sets::{create, retrieve as retrieval};
use crate::error::{Error, Result};
use crate::identity::roles;
use crate::jobs::Progress;

/// The family's endpoints, below `/api/sn_cicd[/{version}]`. Their
/// parameters may come in the query string or the body, so the document
/// lists them as optional query parameters.
pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint::get("/progress/{progress_id}", progress)
            .summary("Progress of an asynchronous operation"),
        Endpoint::post("/update_set/create", create_update_set)
            .summary("Create an update set in progress in an application scope (update_set_name, scope or sys_id, description)")
            .query(&["update_set_name", "scope", "sys_id", "description"])
            .success(201),
        Endpoint::post("/update_set/retrieve", retrieve)
            .summary("Retrieve a complete update set from a remote instance (update_set_id, update_source_id or update_source_instance_id, auto_preview, cleanup_retrieved); asynchronous")
            .query(&["update_set_id", "update_source_id", "update_source_instance_id", "auto_preview", "cleanup_retrieved"]),
        Endpoint::post("/update_set/preview/{remote_update_set_id}", preview_update_set)
            .summary("Preview a retrieved update set for collisions, missing objects, uncommitted updates and conflicts; asynchronous"),
        Endpoint::post("/update_set/commit/{remote_update_set_id}", commit_update_set)
            .summary("Commit a retrieved update set in one transaction (force_commit accepts unresolved problems); asynchronous")
            .query(&["force_commit"]),
        Endpoint::post("/update_set/commitMultiple", commit_multiple)
            .summary("Commit retrieved update sets in the given order, stopping at the first failure (remote_update_set_ids, force_commit); asynchronous")
            .query(&["remote_update_set_ids", "force_commit"]),
        Endpoint::post("/update_set/back_out", back_out_update_set)
            .summary("Back out a committed update set (update_set_id, rollback_installs); asynchronous")
            .query(&["update_set_id", "rollback_installs"]),
    ]
}

pub struct CicdAutomation;
impl RoleSet for CicdAutomation {
    const ANY_OF: &'static [&'static str] = &[roles::CICD_AUTOMATION];
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
    Ok(Json(view::progress(
        &base_url(&headers, &state.settings),
        &progress,
    )))
}

/// The request's parameters: the query string, then the body's fields.
struct Params(Map<String, Json_>);

impl Params {
    fn new(query: HashMap<String, String>, body: Map<String, Json_>) -> Params {
        let mut all: Map<String, Json_> = query
            .into_iter()
            .map(|(k, v)| (k, Json_::String(v)))
            .collect();
        all.extend(body);
        Params(all)
    }

    fn text(&self, name: &str) -> Result<Option<String>> {
        match self.0.get(name) {
            None | Some(Json_::Null) => Ok(None),
            Some(Json_::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Json_::String(s)) => Ok(Some(s.trim().to_owned())),
            Some(_) => Err(Error::wrong_type(name, "a string")),
        }
    }

    fn required(&self, name: &str) -> Result<String> {
        self.text(name)?.ok_or_else(|| Error::missing(name))
    }

    fn flag(&self, name: &str, default: bool) -> Result<bool> {
        match self.0.get(name) {
            None | Some(Json_::Null) => Ok(default),
            Some(Json_::Bool(b)) => Ok(*b),
            Some(Json_::String(s)) if s.trim().is_empty() => Ok(default),
            Some(Json_::String(s)) => crate::domain::boolean::parse(s)
                .ok_or_else(|| Error::wrong_type(name, "true or false")),
            Some(_) => Err(Error::wrong_type(name, "true or false")),
        }
    }
}

/// The answer of a queued operation: its (pending) progress.
fn queued(state: &AppState, headers: &HeaderMap, progress: &Progress) -> Response {
    Json(view::progress(
        &base_url(headers, &state.settings),
        progress,
    ))
    .into_response()
}

/// `POST /api/sn_cicd/update_set/create`
pub async fn create_update_set(
    State(state): State<AppState>,
    auth: Authorized<CicdAutomation>,
    QueryParams(query): QueryParams,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    let p = Params::new(query, body);
    let name = p.required("update_set_name")?;
    let description = p.text("description")?;
    let scope = p.text("scope")?;
    let scope_sys_id = p.text("sys_id")?;
    let id = create::create(
        &state.db,
        &create::NewUpdateSet {
            name: &name,
            description: description.as_deref(),
            scope: scope.as_deref(),
            scope_sys_id: scope_sys_id.as_deref(),
        },
        &auth.caller.user_name,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(view::created_update_set(&name, &id)),
    )
        .into_response())
}

/// `POST /api/sn_cicd/update_set/retrieve`
pub async fn retrieve(
    State(state): State<AppState>,
    auth: Authorized<CicdAutomation>,
    headers: HeaderMap,
    QueryParams(query): QueryParams,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    let p = Params::new(query, body);
    let update_set_id = p.required("update_set_id")?;
    retrieval::check_update_set_id(&update_set_id)?;
    let source = match (
        p.text("update_source_id")?,
        p.text("update_source_instance_id")?,
    ) {
        (Some(id), _) => Some(Source::Id(id)),
        (None, Some(instance)) => Some(Source::Instance(instance)),
        (None, None) => None,
    };
    let request = RetrieveRequest {
        update_set_id,
        source,
        auto_preview: p.flag("auto_preview", false)?,
        cleanup_retrieved: p.flag("cleanup_retrieved", false)?,
    };
    let progress =
        operations::retrieve(&state.db, &state.jobs, request, &auth.caller.user_name).await?;
    Ok(queued(&state, &headers, &progress))
}

/// `POST /api/sn_cicd/update_set/preview/{remote_update_set_id}`
pub async fn preview_update_set(
    State(state): State<AppState>,
    auth: Authorized<CicdAutomation>,
    headers: HeaderMap,
    params: PathParams,
) -> Result<Response> {
    let id = params.get("remote_update_set_id")?;
    let progress = operations::preview(&state.db, &state.jobs, id, &auth.caller.user_name).await?;
    Ok(queued(&state, &headers, &progress))
}

/// `POST /api/sn_cicd/update_set/commit/{remote_update_set_id}`
pub async fn commit_update_set(
    State(state): State<AppState>,
    auth: Authorized<CicdAutomation>,
    headers: HeaderMap,
    params: PathParams,
    QueryParams(query): QueryParams,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    let p = Params::new(query, body);
    let id = params.get("remote_update_set_id")?;
    let force = p.flag("force_commit", false)?;
    let progress =
        operations::commit(&state.db, &state.jobs, id, force, &auth.caller.user_name).await?;
    Ok(queued(&state, &headers, &progress))
}

/// `POST /api/sn_cicd/update_set/commitMultiple`
pub async fn commit_multiple(
    State(state): State<AppState>,
    auth: Authorized<CicdAutomation>,
    headers: HeaderMap,
    QueryParams(query): QueryParams,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    let p = Params::new(query, body);
    let ids = operations::remote_set_ids(
        &p.required("remote_update_set_ids")?,
        state.settings.max_query_terms,
    )?;
    let force = p.flag("force_commit", false)?;
    let progress =
        operations::commit_multiple(&state.db, &state.jobs, ids, force, &auth.caller.user_name)
            .await?;
    Ok(queued(&state, &headers, &progress))
}

/// `POST /api/sn_cicd/update_set/back_out`
pub async fn back_out_update_set(
    State(state): State<AppState>,
    auth: Authorized<CicdAutomation>,
    headers: HeaderMap,
    QueryParams(query): QueryParams,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    let p = Params::new(query, body);
    let id = p.required("update_set_id")?;
    let rollback_installs = p.flag("rollback_installs", true)?;
    let progress = operations::back_out(
        &state.db,
        &state.jobs,
        &id,
        rollback_installs,
        &auth.caller.user_name,
    )
    .await?;
    Ok(queued(&state, &headers, &progress))
}
