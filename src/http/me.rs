//! `GET /api/tollgate/me`: "who am I" — the caller's own user record and
//! roles, for any authenticated caller (Basic, OAuth bearer token, or API
//! key). Tollgate's own endpoint: the vendor documents none for this in
//! the APIs Tollgate speaks, so it sits beside `/api/tollgate/api_keys`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::endpoint::Endpoint;
use super::extract::Authenticated;
use crate::app::AppState;
use crate::error::{Error, Result};
use crate::identity::users;

/// The endpoints, below `/api/tollgate[/{version}]`.
pub fn endpoints() -> Vec<Endpoint> {
    vec![Endpoint::get("/me", me)
        .summary(
            "Who am I: the caller's own user record (sys_id, user_name, name, email) and roles",
        )
        .checked_by_handler(
            "any authenticated caller; it answers with the caller's own record only",
        )]
}

/// `GET /api/tollgate/me`
pub async fn me(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> Result<Response> {
    // A user deleted since the credential was checked (the identity cache
    // may lag by a poll) has no record to show: as if unauthenticated.
    let profile = users::profile(&state.db, &caller.user_id)
        .await?
        .ok_or_else(Error::unauthenticated)?;
    let mut roles: Vec<&str> = caller.roles.iter().map(String::as_str).collect();
    roles.sort_unstable();
    Ok(Json(json!({"result": {
        "name": profile.display_name(),
        "sys_id": profile.sys_id,
        "user_name": profile.user_name,
        "first_name": profile.first_name.unwrap_or_default(),
        "last_name": profile.last_name.unwrap_or_default(),
        "email": profile.email.unwrap_or_default(),
        "roles": roles,
    }}))
    .into_response())
}
