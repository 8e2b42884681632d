//! CI/CD endpoints: `/api/sn_cicd[/{api_version}]/...`: the progress of
//! asynchronous work, and the update-set operations. Parameters come from
//! the query string or the body (JSON, or XML turned into JSON by
//! [`super::xml`]); answers are JSON, or XML when the client asks for it.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value as Json_};

use super::endpoint::Endpoint;
use super::extract::{Authorized, JsonObject, QueryParams, RoleSet};
use super::{base_url, PathParams};
use crate::app::AppState;
use crate::domain::update_sets::{back_out, create, jobs, preview};
use crate::error::{Error, ErrorKind, Result};
use crate::identity::roles;
use crate::jobs::{Job, JobState, Progress};

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
            Some(Json_::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "" => Ok(default),
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(Error::wrong_type(name, "true or false")),
            },
            Some(_) => Err(Error::wrong_type(name, "true or false")),
        }
    }
}

/// Queues an update-set job and answers with its (pending) progress.
async fn queued(
    state: &AppState,
    headers: &HeaderMap,
    job: impl Job,
    actor: &str,
) -> Result<Response> {
    let id = job.enqueue(&state.jobs, actor).await?;
    let progress = state
        .jobs
        .progress(&id)
        .await?
        .ok_or_else(|| Error::internal("queued job vanished"))?;
    let body = json!({"result": progress_body(&base_url(headers, &state.settings), &progress)});
    Ok(Json(body).into_response())
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
    let body = json!({"result": {
        "status": "2",
        "status_label": "",
        "status_message": format!("Successfully created update set: {name}"),
        "status_detail": "",
        "error": "",
        "update_set_id": id,
    }});
    Ok((StatusCode::CREATED, Json(body)).into_response())
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
    crate::domain::update_sets::retrieve::check_update_set_id(&update_set_id)?;
    let source = match (p.text("update_source_id")?, p.text("update_source_instance_id")?) {
        (Some(id), _) => state
            .db
            .fetch_optional(
                "SELECT sys_id FROM sys_update_set_source WHERE sys_id = $1",
                &[crate::storage::Value::from(&id)],
            )
            .await?
            .ok_or_else(|| {
                Error::not_found("No Record found")
                    .with_detail(format!("update_source_id: no remote instance {id}"))
            })?,
        (None, Some(instance)) => state
            .db
            .fetch_optional(
                "SELECT sys_id FROM sys_update_set_source WHERE instance_id = $1",
                &[crate::storage::Value::from(&instance)],
            )
            .await?
            .ok_or_else(|| {
                Error::not_found("No Record found").with_detail(format!(
                    "update_source_instance_id: no remote instance has instance id {instance}"
                ))
            })?,
        (None, None) => {
            return Err(Error::new(
                ErrorKind::Missing,
                "update_source_id or update_source_instance_id is required: the remote instance to retrieve from",
            )
            .with_field("update_source_id"))
        }
    };
    let job = jobs::Retrieve {
        update_set_id,
        update_source_id: source.string("sys_id"),
        auto_preview: p.flag("auto_preview", false)?,
        cleanup_retrieved: p.flag("cleanup_retrieved", false)?,
        actor: auth.caller.user_name.clone(),
    };
    queued(&state, &headers, job, &auth.caller.user_name).await
}

/// The retrieved set a path names, which must exist and not be committed.
async fn uncommitted_remote_set(state: &AppState, id: &str) -> Result<()> {
    let set = preview::find_remote_set(&state.db, id).await?;
    if set.string("state") == "committed" {
        return Err(Error::conflict(format!(
            "The retrieved update set {id} ({}) is already committed",
            set.string("name")
        )));
    }
    Ok(())
}

/// `POST /api/sn_cicd/update_set/preview/{remote_update_set_id}`
pub async fn preview_update_set(
    State(state): State<AppState>,
    auth: Authorized<CicdAutomation>,
    headers: HeaderMap,
    params: PathParams,
) -> Result<Response> {
    let id = params.get("remote_update_set_id")?;
    uncommitted_remote_set(&state, id).await?;
    let job = jobs::Preview {
        remote_update_set_id: id.to_owned(),
        actor: auth.caller.user_name.clone(),
    };
    queued(&state, &headers, job, &auth.caller.user_name).await
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
    uncommitted_remote_set(&state, id).await?;
    let job = jobs::Commit {
        remote_update_set_id: id.to_owned(),
        force_commit: force,
        actor: auth.caller.user_name.clone(),
    };
    queued(&state, &headers, job, &auth.caller.user_name).await
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
    let list = p.required("remote_update_set_ids")?;
    let ids: Vec<String> = list
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    if ids.is_empty() {
        return Err(Error::missing("remote_update_set_ids"));
    }
    for (i, id) in ids.iter().enumerate() {
        if ids[..i].contains(id) {
            return Err(Error::invalid(
                "remote_update_set_ids",
                format!("{id} is listed twice"),
            ));
        }
    }
    let force = p.flag("force_commit", false)?;
    for id in &ids {
        let set = preview::find_remote_set(&state.db, id).await?;
        if set.string("state") == "committed" && !force {
            return Err(Error::conflict(format!(
                "The retrieved update set {id} ({}) is already committed; pass force_commit=true to pass over committed sets",
                set.string("name")
            )));
        }
    }
    let job = jobs::CommitMultiple {
        remote_update_set_ids: ids,
        force_commit: force,
        actor: auth.caller.user_name.clone(),
    };
    queued(&state, &headers, job, &auth.caller.user_name).await
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
    let set = back_out::find_update_set(&state.db, &id).await?;
    if let Some(refused) = back_out::refusal(&set) {
        return Err(refused);
    }
    let job = jobs::BackOut {
        update_set_id: id,
        rollback_installs,
        actor: auth.caller.user_name.clone(),
    };
    queued(&state, &headers, job, &auth.caller.user_name).await
}
