//! `/api/v3/releases`: add, get, edit and list.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value as Json};

use super::{success, InputData};
use crate::app::AppState;
use crate::domain::sdp::{list, releases};
use crate::error::{Error, Result};
use crate::http::extract::{Authorized, RoleSet};
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
    let id = releases::add(&state.db, release_object(&input)?, &auth.caller.user_name).await?;
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
    _auth: Authorized<Staff>,
    InputData(input): InputData,
) -> Result<Response> {
    let id = releases::edit(
        &state.db,
        params.get("release_id")?,
        release_object(&input)?,
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
    _auth: Authorized<Staff>,
    InputData(input): InputData,
) -> Result<Response> {
    let (list_info, items) = list::list(&state.db, &input).await?;
    let mut body = Map::new();
    body.insert("list_info".into(), list_info);
    body.insert("releases".into(), Json::Array(items));
    Ok(super::list_success(body))
}
