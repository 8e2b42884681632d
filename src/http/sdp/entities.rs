//! `/api/v3/<entity>[/{id}]`: the reference entities (priorities,
//! statuses, categories, ...), listed and read by staff, changed by admins.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value as Json};

use super::releases::Staff;
use super::{success, InputData};
use crate::app::AppState;
use crate::domain::sdp::entities::{self, entity};
use crate::error::Result;
use crate::http::extract::{Authorized, RoleSet};
use crate::http::PathParams;
use crate::identity::roles;

/// Administrators of the ServiceDesk-style family.
pub struct Admins;
impl RoleSet for Admins {
    const ANY_OF: &'static [&'static str] = &[roles::SDP_ADMIN];
}

fn one(key: &str, status: StatusCode, value: Json) -> Response {
    let mut body = Map::new();
    body.insert(key.into(), value);
    success(status, body)
}

pub async fn list(
    State(state): State<AppState>,
    params: PathParams,
    _auth: Authorized<Staff>,
) -> Result<Response> {
    let e = entity(params.get("entity")?)?;
    let items = entities::list(&state.db, e).await?;
    Ok(super::whole_list(e.plural, items))
}

pub async fn get(
    State(state): State<AppState>,
    params: PathParams,
    _auth: Authorized<Staff>,
) -> Result<Response> {
    let e = entity(params.get("entity")?)?;
    Ok(one(
        e.singular,
        StatusCode::OK,
        entities::get(&state.db, e, params.get("id")?).await?,
    ))
}

pub async fn add(
    State(state): State<AppState>,
    params: PathParams,
    _auth: Authorized<Admins>,
    InputData(input): InputData,
) -> Result<Response> {
    let e = entity(params.get("entity")?)?;
    let id = entities::save(&state.db, e, None, &input).await?;
    Ok(one(
        e.singular,
        StatusCode::CREATED,
        entities::get(&state.db, e, &id.to_string()).await?,
    ))
}

pub async fn edit(
    State(state): State<AppState>,
    params: PathParams,
    _auth: Authorized<Admins>,
    InputData(input): InputData,
) -> Result<Response> {
    let e = entity(params.get("entity")?)?;
    let id = entities::save(&state.db, e, Some(params.get("id")?), &input).await?;
    Ok(one(
        e.singular,
        StatusCode::OK,
        entities::get(&state.db, e, &id.to_string()).await?,
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    params: PathParams,
    _auth: Authorized<Admins>,
) -> Result<Response> {
    let e = entity(params.get("entity")?)?;
    entities::delete(&state.db, e, params.get("id")?).await?;
    Ok(success(StatusCode::OK, Map::new()))
}

/// `GET /api/v3/users`
pub async fn list_users(
    State(state): State<AppState>,
    _auth: Authorized<Staff>,
) -> Result<Response> {
    let items = crate::domain::sdp::users::list(&state.db).await?;
    Ok(super::whole_list("users", items))
}

/// `GET /api/v3/users/{id}`
pub async fn get_user(
    State(state): State<AppState>,
    params: PathParams,
    _auth: Authorized<Staff>,
) -> Result<Response> {
    Ok(one(
        "user",
        StatusCode::OK,
        crate::domain::sdp::users::get(&state.db, params.get("id")?).await?,
    ))
}

/// `POST /api/v3/users`
pub async fn add_user(
    State(state): State<AppState>,
    _auth: Authorized<Admins>,
    InputData(input): InputData,
) -> Result<Response> {
    let id = crate::domain::sdp::users::save(&state.db, None, &input).await?;
    Ok(one(
        "user",
        StatusCode::CREATED,
        crate::domain::sdp::users::get(&state.db, &id.to_string()).await?,
    ))
}

/// `PUT /api/v3/users/{id}`
pub async fn edit_user(
    State(state): State<AppState>,
    params: PathParams,
    _auth: Authorized<Admins>,
    InputData(input): InputData,
) -> Result<Response> {
    let id = crate::domain::sdp::users::save(&state.db, Some(params.get("id")?), &input).await?;
    Ok(one(
        "user",
        StatusCode::OK,
        crate::domain::sdp::users::get(&state.db, &id.to_string()).await?,
    ))
}

/// `DELETE /api/v3/users/{id}`
pub async fn delete_user(
    State(state): State<AppState>,
    params: PathParams,
    _auth: Authorized<Admins>,
) -> Result<Response> {
    crate::domain::sdp::users::delete(&state.db, params.get("id")?).await?;
    Ok(success(StatusCode::OK, Map::new()))
}
