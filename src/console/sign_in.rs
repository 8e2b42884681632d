//! Signing in and out. The password is checked by `Identity::check_password`,
//! the API's own check, so the login throttle (`identity::throttle`) counts
//! console attempts with every other.

use std::collections::HashMap;

use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::layout::{shell, Section};
use super::{
    cookie, error_page, lifetimes, page, read_form, safe_next, secure, see_other, set_cookie,
    Posted, CSRF_FIELD, SESSION_COOKIE, SIGN_IN_COOKIE,
};
use crate::app::AppState;
use crate::error::{Error, ErrorKind};
use crate::http::extract::ClientAddr;
use crate::identity::sessions;

fn sign_in_page(
    status: StatusCode,
    token: &str,
    next: &str,
    user: &str,
    problem: Option<&str>,
) -> Response {
    let body = html! {
        div.sign-in.card {
            h1 { "Sign in to Tollgate" }
            @if let Some(problem) = problem {
                div.alert.error role="alert" { (problem) }
            }
            form method="post" action="/console/sign-in" {
                input type="hidden" name=(CSRF_FIELD) value=(token);
                input type="hidden" name="next" value=(next);
                div {
                    label for="user_name" { "User name" }
                    input #user_name type="text" name="user_name" value=(user) autocomplete="username" required autofocus;
                }
                div {
                    label for="password" { "Password" }
                    input #password type="password" name="password" autocomplete="current-password" required;
                }
                button type="submit" { "Sign in" }
            }
        }
    };
    page(status, shell("Sign in", None, Section::None, body))
}

/// `GET /console/sign-in`: the form, with a fresh double-submit token.
pub async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let token = crate::ids::random_secret(16);
    let next = safe_next(query.get("next").map(String::as_str));
    let mut response = sign_in_page(StatusCode::OK, &token, next, "", None);
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SIGN_IN_COOKIE, &token, None, secure(&headers, &state)),
    );
    response
}

/// `POST /console/sign-in`: checks the form's token against its cookie,
/// then the password (throttled); on success a new session and its cookie.
pub async fn submit(State(state): State<AppState>, request: Request) -> Response {
    let headers = request.headers().clone();
    let ClientAddr(client) = ClientAddr::from_extensions(request.extensions());
    let form = match read_form(request, &state).await {
        Ok(form) => form,
        Err(e) => return error_page(None, &e),
    };
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
    let next = safe_next(Some(field("next")));
    let user = field("user_name");
    let expected = cookie(&headers, SIGN_IN_COOKIE).unwrap_or("");
    let presented = field(CSRF_FIELD);
    if expected.is_empty() || expected.len() != presented.len() || expected != presented {
        return error_page(
            None,
            &Error::new(
                ErrorKind::Forbidden,
                "This sign-in form did not come from this console (or your browser refused its \
                 cookie). Open the sign-in page again and retry.",
            ),
        );
    }
    let caller = match state
        .identity
        .check_password(user, field("password"), client)
        .await
    {
        Ok(caller) => caller,
        Err(e) => {
            let (status, message) = match e.kind {
                ErrorKind::Unauthenticated => (
                    StatusCode::UNAUTHORIZED,
                    "The user name or password is not right.".to_owned(),
                ),
                ErrorKind::TooManyRequests => (StatusCode::TOO_MANY_REQUESTS, e.message.clone()),
                _ => return error_page(None, &e),
            };
            let mut response = sign_in_page(status, presented, next, user, Some(&message));
            if let Some(secs) = e.retry_after {
                if let Ok(v) = secs.to_string().parse() {
                    response.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            return response;
        }
    };
    let (token, _csrf) = match sessions::create(&state.db, &caller.user_id, lifetimes(&state)).await
    {
        Ok(created) => created,
        Err(e) => return error_page(None, &e),
    };
    let secure = secure(&headers, &state);
    let mut response = see_other(next);
    let h = response.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, &token, None, secure),
    );
    h.append(
        header::SET_COOKIE,
        set_cookie(SIGN_IN_COOKIE, "", Some(0), secure),
    );
    response
}

/// `POST /console/sign-out`: deletes the session and its cookie.
pub async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    posted: Posted,
) -> Response {
    if let Err(e) = sessions::delete(&state.db, &posted.signed.token).await {
        return error_page(Some(&posted.signed), &e);
    }
    let mut response = see_other("/console/sign-in");
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", Some(0), secure(&headers, &state)),
    );
    response.into_response()
}
