//! `/api/tollgate/api_keys`: `admin` lists, creates and revokes API keys,
//! as `tollgate apikey list|create|revoke` does on the command line. A key is
//! shown once, in the answer that creates it; listings never carry a key or
//! its hash. Dedicated endpoints rather than a Table API table, because the
//! Table API has no way to show a server-made secret once.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value as Json_};

use super::endpoint::Endpoint;
use super::extract::{Authorized, JsonObject, QueryParams, RoleSet};
use super::PathParams;
use crate::app::AppState;
use crate::error::{Error, Result};
use crate::identity::api_keys;

/// The endpoints, below `/api/tollgate[/{version}]`.
pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint::get("/api_keys", list)
            .summary("API keys: list (never the key or its hash; ?user=NAME narrows)")
            .query(&["user"]),
        Endpoint::post("/api_keys", create)
            .summary("Create an API key for a user (user, name, optional expires_in_days or expires YYYY-MM-DD); the answer shows the key once")
            .success(201),
        Endpoint::delete("/api_keys/{id}", revoke)
            .summary("Revoke an API key: it stops working at once")
            .success(204),
    ]
}

/// Only `admin` (an empty role set is admin alone).
pub struct AdminOnly;
impl RoleSet for AdminOnly {
    const ANY_OF: &'static [&'static str] = &[];
}

/// `GET /api/tollgate/api_keys[?user=NAME]`
pub async fn list(
    State(state): State<AppState>,
    _auth: Authorized<AdminOnly>,
    QueryParams(q): QueryParams,
) -> Result<Response> {
    let user = q.get("user").map(String::as_str).filter(|u| !u.is_empty());
    let keys = api_keys::list(&state.db, user).await?;
    Ok(Json(json!({ "result": keys })).into_response())
}

fn text<'a>(body: &'a Map<String, Json_>, name: &str) -> Result<Option<&'a str>> {
    match body.get(name) {
        None | Some(Json_::Null) => Ok(None),
        Some(Json_::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(Error::wrong_type(name, "a string")),
    }
}

/// `POST /api/tollgate/api_keys` with `{"user", "name", "expires_in_days"
/// | "expires"}`; answers 201 with the key, shown this once.
pub async fn create(
    State(state): State<AppState>,
    _auth: Authorized<AdminOnly>,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    let user = text(&body, "user")?.ok_or_else(|| Error::missing("user"))?;
    let name = text(&body, "name")?.unwrap_or("api");
    let days = match body.get("expires_in_days") {
        None | Some(Json_::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .ok_or_else(|| Error::wrong_type("expires_in_days", "a whole number"))?,
        ),
    };
    let expires_at = api_keys::expiry(days, text(&body, "expires")?, "expires_in_days", "expires")?;
    let created = api_keys::create(&state.db, user, name, expires_at).await?;
    state.identity.clear_cache();
    Ok((
        StatusCode::CREATED,
        Json(json!({"result": {
            "id": created.id,
            "user": user,
            "name": name,
            "key": created.key,
            "expires_on": created.expires_on,
        }})),
    )
        .into_response())
}

/// `DELETE /api/tollgate/api_keys/{id}`: the key stops working at once
/// here, and within the identity epoch poll on other replicas.
pub async fn revoke(
    State(state): State<AppState>,
    params: PathParams,
    _auth: Authorized<AdminOnly>,
) -> Result<Response> {
    api_keys::revoke(&state.db, params.get("id")?).await?;
    state.identity.clear_cache();
    Ok(StatusCode::NO_CONTENT.into_response())
}
