//! `/api/v3/releases`: add, get, edit and list.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value as Json};

use super::{success, InputData};
use crate::app::AppState;
use crate::domain::sdp::{list, releases};
use crate::error::{Error, Result};
use crate::http::extract::{Authorized, QueryParams, RoleSet};
use crate::http::PathParams;
use crate::identity::roles;

/// Technicians and administrators of the ServiceDesk-style family.
pub struct Staff;
impl RoleSet for Staff {
    const ANY_OF: &'static [&'static str] = &[roles::SDP_ADMIN, roles::SDP_TECHNICIAN];
}

fn release_object(input: &Map<String, Json>) -> Result<&Map<String, Json>> {
    match input.get("release") {
        Some(Json::Object(o)) => Ok(o),
        Some(_) => Err(Error::wrong_type("release", "an object")),
        None => Err(Error::missing("release")),
    }
}

fn one(status: StatusCode, release: Json) -> Response {
    let mut body = Map::new();
    body.insert("release".into(), release);
    success(status, body)
}

/// `POST /api/v3/releases` — answers 201 with the new release.
pub async fn add(
    State(state): State<AppState>,
    auth: Authorized<Staff>,
    InputData(input): InputData,
) -> Result<Response> {
    let id = releases::add(
        &state.db,
        release_object(&input)?,
        &auth.caller,
        state.settings.max_query_terms,
    )
    .await?;
    Ok(one(
        StatusCode::CREATED,
        releases::get(&state.db, &id.to_string()).await?,
    ))
}

/// `GET /api/v3/releases/{release_id}`
pub async fn get(
    State(state): State<AppState>,
    params: PathParams,
    _auth: Authorized<Staff>,
) -> Result<Response> {
    Ok(one(
        StatusCode::OK,
        releases::get(&state.db, params.get("release_id")?).await?,
    ))
}

/// `PUT /api/v3/releases/{release_id}`
pub async fn edit(
    State(state): State<AppState>,
    params: PathParams,
    auth: Authorized<Staff>,
    InputData(input): InputData,
) -> Result<Response> {
    let id = releases::edit(
        &state.db,
        params.get("release_id")?,
        release_object(&input)?,
        &auth.caller,
        state.settings.max_query_terms,
    )
    .await?;
    Ok(one(
        StatusCode::OK,
        releases::get(&state.db, &id.to_string()).await?,
    ))
}

/// `GET /api/v3/releases` with `input_data={"list_info": {...}}`
pub async fn list(
    State(state): State<AppState>,
    auth: Authorized<Staff>,
    InputData(input): InputData,
) -> Result<Response> {
    // Lists are cached per caller and request under the data epoch, except
    // `overdue`, whose answer changes with the clock.
    let overdue = input
        .get("list_info")
        .and_then(|i| i.get("filter_by"))
        .is_some_and(|f| f.to_string().contains("overdue"));
    if overdue {
        return Ok(crate::http::json_bytes(
            list_body(&state, &input, &auth.caller).await?,
        ));
    }
    // The answer depends on the caller and `list_info` alone: the key is a
    // hash of the canonical `list_info` (a request of megabytes must not
    // make a key of megabytes, nor other `input_data` fields a new entry).
    let list_info = input.get("list_info").cloned().unwrap_or(Json::Null);
    let key =
        crate::answer_cache::key_for(&format!("sdp_list:{}", auth.caller.user_id), &list_info);
    let body = state
        .answers
        .get_or_compute(&state.db, key, || list_body(&state, &input, &auth.caller))
        .await?;
    Ok(crate::http::json_bytes(body))
}

async fn list_body(
    state: &AppState,
    input: &Map<String, Json>,
    caller: &crate::identity::Caller,
) -> Result<axum::body::Bytes> {
    let listing = list::list(&state.db, input, caller, state.settings.max_query_terms).await?;
    // Written in key order, as a JSON object of the three would be.
    #[derive(serde::Serialize)]
    struct Answer<'a, R> {
        list_info: &'a Json,
        releases: R,
        response_status: Json,
    }
    let body = Answer {
        list_info: &listing.list_info,
        releases: listing.releases(),
        response_status: serde_json::json!([{"status_code": 2000, "status": "success"}]),
    };
    serde_json::to_vec(&body)
        .map(Into::into)
        .map_err(Error::internal)
}

/// The `ids` query parameter of bulk calls.
fn ids(q: &std::collections::HashMap<String, String>) -> Result<Vec<String>> {
    let ids: Vec<String> = q
        .get("ids")
        .map(|s| {
            s.split(',')
                .map(|i| i.trim().to_owned())
                .filter(|i| !i.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if ids.is_empty() {
        return Err(Error::missing("ids"));
    }
    Ok(ids)
}

/// One `response_status` entry per id; a single id keeps the plain envelope.
fn bulk_answer(outcomes: releases::Bulk) -> Result<Response> {
    if outcomes.len() == 1 {
        let (_, result) = outcomes
            .into_iter()
            .next()
            .ok_or_else(|| Error::internal("no outcome"))?;
        result?;
        return Ok(success(StatusCode::OK, Map::new()));
    }
    per_id_answer(&outcomes, None)
}

/// Bulk operations that answer the releases they changed (assign, pickup,
/// restore): `response_status` is always an array with each id, and
/// `releases` the changed release (one id) or releases (several).
async fn bulk_answer_with_releases(
    db: &crate::storage::Db,
    outcomes: releases::Bulk,
) -> Result<Response> {
    if outcomes.len() == 1 {
        if let Some((_, Err(e))) = outcomes.first() {
            return Err(e.clone());
        }
    }
    let mut changed = Vec::new();
    for (id, r) in &outcomes {
        if r.is_ok() {
            changed.push(releases::get(db, id).await?);
        }
    }
    let releases = if outcomes.len() == 1 {
        changed.into_iter().next().unwrap_or(Json::Null)
    } else {
        Json::Array(changed)
    };
    per_id_answer(&outcomes, Some(releases))
}

fn per_id_answer(outcomes: &releases::Bulk, releases: Option<Json>) -> Result<Response> {
    let any_ok = outcomes.iter().any(|(_, r)| r.is_ok());
    let statuses: Vec<Json> = outcomes
        .iter()
        .map(|(id, r)| match r {
            Ok(()) => serde_json::json!({"status_code": 2000, "id": id, "status": "success"}),
            Err(e) => {
                let (code, _) = crate::http::envelope::service_desk_code(e.kind);
                serde_json::json!({"status_code": 4000, "id": id, "status": "failed",
                                   "messages": [{"status_code": code, "type": "failed", "message": e.message}]})
            }
        })
        .collect();
    let status = if any_ok {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let mut body = serde_json::json!({"response_status": statuses});
    if let Some(r) = releases {
        body["releases"] = r;
    }
    Ok((status, axum::Json(body)).into_response())
}

/// `DELETE /api/v3/releases/move_to_trash?ids=1,2`
pub async fn move_to_trash(
    State(state): State<AppState>,
    auth: Authorized<Staff>,
    QueryParams(q): QueryParams,
) -> Result<Response> {
    bulk_answer(releases::move_to_trash(&state.db, &ids(&q)?, &auth.caller).await)
}

/// `PUT /api/v3/releases/restore_from_trash?ids=1,2`
pub async fn restore_from_trash(
    State(state): State<AppState>,
    auth: Authorized<Staff>,
    QueryParams(q): QueryParams,
) -> Result<Response> {
    bulk_answer_with_releases(
        &state.db,
        releases::restore_from_trash(&state.db, &ids(&q)?, &auth.caller).await,
    )
    .await
}

/// `DELETE /api/v3/releases/{release_id}` (from the trash, for good)
pub async fn delete(
    State(state): State<AppState>,
    params: PathParams,
    auth: Authorized<Staff>,
) -> Result<Response> {
    releases::delete_from_trash(&state.db, params.get("release_id")?, &auth.caller).await?;
    Ok(success(StatusCode::OK, Map::new()))
}

/// `GET /api/v3/releases/{release_id}/history`
pub async fn history(
    State(state): State<AppState>,
    params: PathParams,
    _auth: Authorized<Staff>,
) -> Result<Response> {
    let release_id = releases::existing_release_id(&state.db, params.get("release_id")?).await?;
    let entries = crate::domain::sdp::history::history(&state.db, release_id).await?;
    Ok(super::whole_list("history", entries))
}

/// `PUT /api/v3/releases/assign?ids=1,2` with `{"release": {"release_engineer": {...}}}`
pub async fn assign(
    State(state): State<AppState>,
    auth: Authorized<Staff>,
    QueryParams(q): QueryParams,
    InputData(input): InputData,
) -> Result<Response> {
    let ids = ids(&q)?;
    let outcomes = releases::assign(&state.db, &ids, release_object(&input)?, &auth.caller).await?;
    bulk_answer_with_releases(&state.db, outcomes).await
}

/// `PUT /api/v3/releases/pickup?ids=1,2`
pub async fn pickup(
    State(state): State<AppState>,
    auth: Authorized<Staff>,
    QueryParams(q): QueryParams,
) -> Result<Response> {
    bulk_answer_with_releases(
        &state.db,
        releases::pickup(&state.db, &ids(&q)?, &auth.caller).await,
    )
    .await
}

/// `PUT /api/v3/releases/{release_id}/close` with `{"status": "completed", "comment": ...}`
pub async fn close(
    State(state): State<AppState>,
    params: PathParams,
    auth: Authorized<Staff>,
    InputData(input): InputData,
) -> Result<Response> {
    let id = releases::close(&state.db, params.get("release_id")?, &input, &auth.caller).await?;
    Ok(one(
        StatusCode::OK,
        releases::get(&state.db, &id.to_string()).await?,
    ))
}

/// `GET /api/v3/releases/{release_id}/status_comments`
pub async fn status_comments(
    State(state): State<AppState>,
    params: PathParams,
    _auth: Authorized<Staff>,
) -> Result<Response> {
    let comments = releases::status_comments(&state.db, params.get("release_id")?).await?;
    Ok(super::whole_list("status_comments", comments))
}

fn sub_kind(params: &PathParams) -> Result<crate::domain::sdp::subrecords::Kind> {
    let path = params.get("sub")?;
    crate::domain::sdp::subrecords::Kind::parse(path).ok_or_else(Error::no_such_endpoint)
}

/// `GET /api/v3/releases/{release_id}/{tasks|worklogs|notes}`
pub async fn list_sub(
    State(state): State<AppState>,
    params: PathParams,
    _auth: Authorized<Staff>,
) -> Result<Response> {
    let kind = sub_kind(&params)?;
    let items =
        crate::domain::sdp::subrecords::list(&state.db, params.get("release_id")?, kind).await?;
    Ok(super::whole_list(kind.plural(), items))
}

/// `POST /api/v3/releases/{release_id}/{tasks|worklogs|notes}`
pub async fn add_sub(
    State(state): State<AppState>,
    params: PathParams,
    auth: Authorized<Staff>,
    InputData(input): InputData,
) -> Result<Response> {
    let kind = sub_kind(&params)?;
    let item = crate::domain::sdp::subrecords::add(
        &state.db,
        params.get("release_id")?,
        kind,
        &input,
        &auth.caller,
    )
    .await?;
    let mut body = Map::new();
    body.insert(kind.singular().into(), item);
    Ok(success(StatusCode::CREATED, body))
}

/// `GET /api/v3/releases/{release_id}/summary`
pub async fn summary(
    State(state): State<AppState>,
    params: PathParams,
    _auth: Authorized<Staff>,
) -> Result<Response> {
    let summary =
        crate::domain::sdp::subrecords::summary(&state.db, params.get("release_id")?).await?;
    let mut body = Map::new();
    body.insert("summary".into(), summary);
    Ok(success(StatusCode::OK, body))
}

/// `POST /api/v3/releases/{release_id}/approval_levels`
pub async fn add_approval_level(
    State(state): State<AppState>,
    params: PathParams,
    auth: Authorized<Staff>,
    InputData(input): InputData,
) -> Result<Response> {
    let release = params.get("release_id")?;
    let id =
        crate::domain::sdp::approvals::add_level(&state.db, release, &input, &auth.caller).await?;
    let mut body = Map::new();
    body.insert(
        "approval_level".into(),
        serde_json::json!({"id": id.to_string()}),
    );
    Ok(success(StatusCode::CREATED, body))
}

/// `PUT /api/v3/releases/{release_id}/approval_levels/{level_id}` (a Tollgate
/// addition): change the name, rule or approvers while no approver has decided.
pub async fn edit_approval_level(
    State(state): State<AppState>,
    params: PathParams,
    auth: Authorized<Staff>,
    InputData(input): InputData,
) -> Result<Response> {
    crate::domain::sdp::approvals::edit_level(
        &state.db,
        params.get("release_id")?,
        params.get("level_id")?,
        &input,
        &auth.caller,
    )
    .await?;
    Ok(success(StatusCode::OK, Map::new()))
}

/// `DELETE /api/v3/releases/{release_id}/approval_levels/{level_id}` (a
/// Tollgate addition): while no approver has decided.
pub async fn delete_approval_level(
    State(state): State<AppState>,
    params: PathParams,
    auth: Authorized<Staff>,
) -> Result<Response> {
    crate::domain::sdp::approvals::delete_level(
        &state.db,
        params.get("release_id")?,
        params.get("level_id")?,
        &auth.caller,
    )
    .await?;
    Ok(success(StatusCode::OK, Map::new()))
}

/// `GET /api/v3/releases/{release_id}/approval_levels/approval_summary`
pub async fn approval_summary(
    State(state): State<AppState>,
    params: PathParams,
    _auth: Authorized<Staff>,
) -> Result<Response> {
    let summary =
        crate::domain::sdp::approvals::summary(&state.db, params.get("release_id")?).await?;
    let mut body = Map::new();
    body.insert("approval_summary".into(), Json::Array(summary));
    // An array, as the document's example has it (the summary is a list of
    // stages).
    Ok(super::list_success(body))
}

async fn decide(
    state: AppState,
    params: PathParams,
    caller: &crate::identity::Caller,
    input: Map<String, Json>,
    approve: bool,
) -> Result<Response> {
    let comments = input
        .get("comments")
        .and_then(Json::as_str)
        .map(str::to_owned);
    crate::domain::sdp::approvals::decide(
        &state.db,
        params.get("release_id")?,
        params.get("level_id")?,
        approve,
        comments,
        caller,
    )
    .await?;
    Ok(success(StatusCode::OK, Map::new()))
}

/// `PUT /api/v3/releases/{release_id}/approval_levels/{level_id}/approve`
pub async fn approve(
    State(state): State<AppState>,
    params: PathParams,
    auth: Authorized<Staff>,
    InputData(input): InputData,
) -> Result<Response> {
    decide(state, params, &auth.caller, input, true).await
}

/// `PUT /api/v3/releases/{release_id}/approval_levels/{level_id}/reject`
pub async fn reject(
    State(state): State<AppState>,
    params: PathParams,
    auth: Authorized<Staff>,
    InputData(input): InputData,
) -> Result<Response> {
    decide(state, params, &auth.caller, input, false).await
}

/// `GET /api/v3/releases/{release_id}/get_permissions`
pub async fn permissions(
    State(state): State<AppState>,
    params: PathParams,
    auth: Authorized<Staff>,
) -> Result<Response> {
    let id = params.get("release_id")?;
    let release_id: i64 = id.parse().map_err(|_| {
        Error::not_found(format!("No release with id {id}")).with_field("release_id")
    })?;
    let p = crate::domain::sdp::permissions::of(&state.db, release_id, &auth.caller).await?;
    let mut body = Map::new();
    body.insert("get_permissions".into(), p.to_json());
    Ok(success(StatusCode::OK, body))
}
