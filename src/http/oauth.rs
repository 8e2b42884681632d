//! `POST /oauth_token.do`: OAuth 2 password and refresh-token grants,
//! form-encoded as the vendor's endpoint takes them. Errors follow RFC 6749
//! (`{"error": "invalid_grant", "error_description": ...}`), which is what
//! OAuth client libraries parse.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::endpoint::Endpoint;
use super::extract::{ClientAddr, FormBody};
use crate::app::AppState;
use crate::error::ErrorKind;
use crate::identity::IssuedTokens;

pub fn endpoints() -> Vec<Endpoint> {
    vec![Endpoint::post("/oauth_token.do", token)
        .summary("OAuth 2 token (password and refresh_token grants, form-encoded)")
        .public()]
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

fn tokens(t: IssuedTokens) -> Response {
    Json(json!({
        "access_token": t.access_token,
        "refresh_token": t.refresh_token,
        "scope": "useraccount",
        "token_type": "Bearer",
        "expires_in": t.expires_in,
    }))
    .into_response()
}

/// Too many failed attempts from this client: 429 with `Retry-After`, in
/// the OAuth error shape this endpoint answers in.
fn too_many(error: &crate::error::Error) -> Response {
    let mut response = oauth_error(
        StatusCode::TOO_MANY_REQUESTS,
        "temporarily_unavailable",
        &error.message,
    );
    if let Some(secs) = error.retry_after {
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, secs.into());
    }
    response
}

pub async fn token(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    form: Result<FormBody, crate::error::Error>,
) -> Response {
    let FormBody(form) = match form {
        Ok(f) => f,
        Err(e) if e.kind == ErrorKind::PayloadTooLarge => {
            return oauth_error(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request", &e.message)
        }
        Err(e) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &e.message),
    };
    let field = |name: &str| form.get(name).map(String::as_str).filter(|s| !s.is_empty());
    match field("grant_type") {
        Some("password") => {
            let (Some(user), Some(password)) = (field("username"), field("password")) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "username and password are required for grant_type=password",
                );
            };
            let caller = match state.identity.check_password(user, password, client).await {
                Ok(c) => c,
                Err(e) if e.kind == ErrorKind::TooManyRequests => return too_many(&e),
                Err(e) if e.kind == ErrorKind::Unauthenticated => {
                    return oauth_error(
                        StatusCode::UNAUTHORIZED,
                        "access_denied",
                        "The user name or password is wrong",
                    )
                }
                Err(_) => {
                    return oauth_error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "server_error",
                        "try again",
                    )
                }
            };
            match state.identity.issue_tokens(&caller.user_id).await {
                Ok(t) => tokens(t),
                Err(_) => oauth_error(StatusCode::SERVICE_UNAVAILABLE, "server_error", "try again"),
            }
        }
        Some("refresh_token") => {
            let Some(refresh) = field("refresh_token") else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "refresh_token is required for grant_type=refresh_token",
                );
            };
            match state.identity.refresh_tokens(refresh, client).await {
                Ok(t) => tokens(t),
                Err(e) if e.kind == ErrorKind::TooManyRequests => too_many(&e),
                Err(e) if e.kind == ErrorKind::Unauthenticated => oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_grant",
                    "The refresh token is unknown, spent or expired",
                ),
                Err(_) => oauth_error(StatusCode::SERVICE_UNAVAILABLE, "server_error", "try again"),
            }
        }
        Some(other) => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("grant_type {other:?} is not supported; use password or refresh_token"),
        ),
        None => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "grant_type is required",
        ),
    }
}
