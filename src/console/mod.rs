//! The release console: server-rendered pages for the people who run
//! releases, at `/` and `/console/...` (the API paths are unchanged).
//!
//! - Pages are compiled maud templates: every value is HTML-escaped unless
//!   a template says otherwise (none does).
//! - Handlers are as thin as the API's: read the request, check the roles
//!   (the API's own role sets), call the same domain functions as the API,
//!   render. No SQL and no rule here.
//! - Sign-in makes a database session (`identity::sessions`) held in an
//!   HttpOnly, SameSite=Lax cookie (Secure when the console is reached over
//!   HTTPS); every POST carries the session's CSRF token ([`Posted`]), and
//!   sign-in itself a double-submit token.
//! - The one style sheet is embedded and served under a content-hashed URL,
//!   cached for a year (`immutable`); pages are `no-store`.

mod admin;
mod assets;
mod calendar;
mod config;
mod dpr;
mod layout;
mod policies;
mod remotes;
mod servicedesk;
mod sign_in;
mod today;
mod update_sets;
mod users;

use std::collections::HashMap;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::Markup;

use crate::app::AppState;
use crate::error::{Error, ErrorKind};
use crate::identity::sessions::{self, Lifetimes};
use crate::identity::Caller;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "tollgate_console";
/// The sign-in form's double-submit cookie.
pub const SIGN_IN_COOKIE: &str = "tollgate_console_sign_in";
/// The form field carrying the CSRF token.
pub const CSRF_FIELD: &str = "csrf_token";

/// Pages load only from this origin: no inline script or style, forms post
/// only here, no frames.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The console's routes, merged into the application's router: `/` leads
/// to the console; below `/console` every path is the console's (a path
/// naming nothing is its "not found" page).
pub fn router() -> Router<AppState> {
    let console = Router::new()
        .route("/", get(today::today))
        .route("/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/sign-out", post(sign_in::sign_out))
        .route("/releases", get(dpr::list).post(dpr::create))
        .route("/releases/{id}", get(dpr::release))
        .route("/releases/{id}/run-policies", post(dpr::run_policies))
        .route("/releases/{id}/complete-phase", post(dpr::complete_phase))
        .route("/releases/{id}/retarget", post(dpr::retarget))
        .route("/releases/{id}/enhancements", post(dpr::add_enhancement))
        .route(
            "/releases/{id}/enhancements/{enhancement}/remove",
            post(dpr::remove_enhancement),
        )
        .route("/releases/{id}/key-dates", post(dpr::add_key_date))
        .route("/releases/{id}/related-tasks", post(dpr::relate_task))
        .route("/policies", get(policies::list))
        .route("/policies/{id}", get(policies::policy).post(policies::save))
        .route("/policies/{id}/dry-run", post(policies::dry_run))
        .route("/calendars", get(calendar::list))
        .route("/calendars/{id}", get(calendar::month))
        .route("/calendars/{id}/feed.ics", get(calendar::feed))
        .route("/servicedesk", get(servicedesk::list))
        .route("/servicedesk/{id}", get(servicedesk::release))
        .route(
            "/servicedesk/{id}/approval-levels/{level}/{decision}",
            post(servicedesk::decide),
        )
        .route("/servicedesk/{id}/attachments", post(servicedesk::upload))
        .route(
            "/servicedesk/{id}/attachments/{file}",
            get(servicedesk::download),
        )
        .route("/update-sets", get(update_sets::list))
        .route(
            "/update-sets/commit-multiple",
            post(update_sets::commit_multiple),
        )
        .route("/update-sets/retrieved/{id}", get(update_sets::retrieved))
        .route(
            "/update-sets/retrieved/{id}/preview",
            post(update_sets::preview),
        )
        .route(
            "/update-sets/retrieved/{id}/commit",
            post(update_sets::commit),
        )
        .route("/update-sets/local/{id}", get(update_sets::local))
        .route(
            "/update-sets/local/{id}/back-out",
            post(update_sets::back_out),
        )
        .route(
            "/update-sets/problems/{id}/{decision}",
            post(update_sets::decide),
        )
        .route("/update-sets/jobs/{id}", get(update_sets::job))
        .route("/admin/api-keys", get(admin::list).post(admin::create))
        .route("/admin/api-keys/{id}/revoke", post(admin::revoke))
        .route("/admin/users", get(users::list).post(users::create))
        .route("/admin/users/{id}", get(users::user).post(users::save))
        .route("/admin/users/{id}/password", post(users::password))
        .route(
            "/admin/users/{id}/deactivate",
            get(users::confirm_deactivate).post(users::deactivate),
        )
        .route("/admin/users/{id}/activate", post(users::activate))
        .route("/admin/users/{id}/roles", post(users::grant_role))
        .route(
            "/admin/users/{id}/roles/{grant}/remove",
            post(users::remove_role),
        )
        .route(
            "/admin/remote-instances",
            get(remotes::list).post(remotes::create),
        )
        .route(
            "/admin/remote-instances/{id}",
            get(remotes::edit).post(remotes::save),
        )
        .route("/admin/remote-instances/{id}/remove", post(remotes::remove))
        // Configuration data (CDM).
        .route("/config", get(config::list))
        .route("/config/{app}", get(config::application))
        .route("/config/{app}/changesets/{number}", get(config::changeset))
        .route(
            "/config/{app}/changesets/{number}/commit",
            post(config::commit),
        )
        .route("/config/{app}/snapshots", get(config::snapshots_page))
        .route(
            "/config/{app}/snapshots/{id}/validate",
            post(config::validate),
        )
        .route(
            "/config/{app}/snapshots/{id}/publish",
            post(config::publish),
        )
        .route("/config/{app}/snapshots/{id}/export", get(config::export))
        .route(assets::ASSET_ROUTE, get(assets::style))
        .fallback(not_found);
    Router::new()
        .route("/", get(|| async { Redirect::to("/console") }))
        .nest("/console", console)
}

async fn not_found() -> Response {
    error_page(
        None,
        &Error::not_found("There is no such page in the console"),
    )
}

/// The session lifetimes the settings give.
fn lifetimes(state: &AppState) -> Lifetimes {
    Lifetimes {
        idle: state.settings.console_session_idle as i64,
        max: state.settings.console_session_max as i64,
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// Whether the console is reached over HTTPS (Tollgate's own TLS, an https
/// `public_url`, or a trusted proxy saying so): its cookies are then Secure.
fn secure(headers: &HeaderMap, state: &AppState) -> bool {
    crate::http::base_url(headers, &state.settings).starts_with("https://")
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Path=/, Secure over HTTPS;
/// `max_age` None for a browser-session cookie, Some(0) to delete.
fn set_cookie(name: &str, value: &str, max_age: Option<i64>, secure: bool) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A signed-in person: the caller (with the roles it holds now) and the
/// session's CSRF token. Extracting it from a request without a live
/// session answers a redirect to the sign-in page.
pub struct Signed {
    pub caller: Caller,
    pub csrf: String,
    token: String,
}

impl Signed {
    /// Whether the caller holds one of `any_of` (or admin).
    pub fn may(&self, any_of: &[&str]) -> bool {
        self.caller.has_any(any_of)
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let found = match cookie(&parts.headers, SESSION_COOKIE) {
            Some(token) => match sessions::find(&state.db, token, lifetimes(state)).await {
                Ok(found) => found.map(|f| (token.to_owned(), f)),
                Err(e) => return Err(error_page(None, &e)),
            },
            None => None,
        };
        let Some((token, found)) = found else {
            return Err(to_sign_in(parts));
        };
        let caller = state
            .identity
            .session_caller(&found)
            .await
            .map_err(|e| error_page(None, &e))?;
        Ok(Signed {
            caller,
            csrf: found.csrf_token,
            token,
        })
    }
}

/// A redirect to the sign-in page that comes back to this page (a GET) or
/// to the console's start (after a form that could not be sent).
fn to_sign_in(parts: &Parts) -> Response {
    // Nested below `/console`, the request's own URI lost the prefix.
    let uri = parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map_or(&parts.uri, |o| &o.0);
    let back = if parts.method == axum::http::Method::GET {
        uri.path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/console")
    } else {
        "/console"
    };
    let next: String = form_urlencoded::byte_serialize(back.as_bytes()).collect();
    see_other(&format!("/console/sign-in?next={next}"))
}

/// A console path to return to after sign-in: a path of the console and
/// nothing that leaves the site.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if (n == "/console" || n.starts_with("/console/") || n.starts_with("/console?"))
                && !n.contains("//")
                && !n.contains('\\')
                && n.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            n
        }
        _ => "/console",
    }
}

/// A form posted by a signed-in person, its CSRF token checked: a request
/// without the session's token is refused (403) before any handler runs.
pub struct Posted {
    pub signed: Signed,
    pub form: HashMap<String, String>,
}

impl FromRequest<AppState> for Posted {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let signed = Signed::from_request_parts(&mut parts, state).await?;
        let request = Request::from_parts(parts, body);
        let form = read_form(request, state)
            .await
            .map_err(|e| error_page(Some(&signed), &e))?;
        let presented = form.get(CSRF_FIELD).map(String::as_str).unwrap_or("");
        check_csrf(&signed, presented).map_err(IntoResponse::into_response)?;
        Ok(Posted { signed, form })
    }
}

/// Refuses (403, as a page) a form whose token is not the session's.
fn check_csrf(signed: &Signed, presented: &str) -> Result<(), Refused> {
    let session = sessions::Found {
        user_id: signed.caller.user_id.clone(),
        user_name: signed.caller.user_name.clone(),
        csrf_token: signed.csrf.clone(),
    };
    if !session.csrf_matches(presented) {
        return Err(error_page(
            Some(signed),
            &Error::new(
                ErrorKind::Forbidden,
                "This form did not come from your console session (its security token is \
                 missing or out of date). Reload the page and try again.",
            ),
        )
        .into());
    }
    Ok(())
}

/// A file form (`multipart/form-data`) posted by a signed-in person: read
/// by the Attachment API's own multipart reader under the attachment size
/// limit (`attachment_max_bytes`), its CSRF token (a form field) checked
/// before any handler runs, as for [`Posted`].
pub struct Uploaded {
    pub signed: Signed,
    pub form: crate::http::multipart::Form,
}

impl FromRequest<AppState> for Uploaded {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let signed = Signed::from_request_parts(&mut parts, state).await?;
        let request = Request::from_parts(parts, body);
        let form = crate::http::multipart::read(request, state.settings.attachment_max_bytes)
            .await
            .map_err(|e| error_page(Some(&signed), &e))?;
        let fields = form.parts().map_err(|e| error_page(Some(&signed), &e))?;
        let presented = crate::http::multipart::field(&fields, CSRF_FIELD).unwrap_or("");
        check_csrf(&signed, presented).map_err(IntoResponse::into_response)?;
        drop(fields);
        Ok(Uploaded { signed, form })
    }
}

/// The fields of a form-encoded body, read under `form_body_limit`.
async fn read_form(request: Request, state: &AppState) -> Result<HashMap<String, String>, Error> {
    let bytes = crate::http::extract::read_body(request, state.settings.form_body_limit).await?;
    Ok(form_urlencoded::parse(&bytes).into_owned().collect())
}

/// A page: HTML with the console's security and caching headers.
pub fn page(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup.into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    crate::http::view::document_headers(headers, CONTENT_SECURITY_POLICY, "same-origin");
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// An error as a page, in words, with the status of its kind.
pub fn error_page(signed: Option<&Signed>, error: &Error) -> Response {
    let status = crate::http::envelope::http_status(error.kind);
    let title = match status {
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::NOT_FOUND => "Not found",
        s if s.is_server_error() => "Something went wrong",
        _ => "That did not work",
    };
    let body = maud::html! {
        h1 { (title) }
        div.alert.error role="alert" {
            p { (error.message) }
            @if let Some(detail) = &error.detail { p { (detail) } }
        }
        p { a href="/console" { "Back to Today" } }
    };
    let mut response = page(
        status,
        layout::shell(title, signed, layout::Section::None, body),
    );
    if let Some(secs) = error.retry_after {
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    response
}

/// An error already rendered as its page (boxed: a response is large).
pub struct Refused(Box<Response>);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        *self.0
    }
}

impl From<Response> for Refused {
    fn from(response: Response) -> Refused {
        Refused(Box::new(response))
    }
}

/// A handler's answer: a page, or an error shown as one.
pub type PageResult = Result<Response, Refused>;

/// Turns a domain error into its page.
pub trait OrPage<T> {
    fn or_page(self, signed: &Signed) -> Result<T, Refused>;
}

impl<T> OrPage<T> for Result<T, Error> {
    fn or_page(self, signed: &Signed) -> Result<T, Refused> {
        self.map_err(|e| error_page(Some(signed), &e).into())
    }
}

/// Refuses (403, as a page) unless the caller holds one of `any_of`.
pub fn require(signed: &Signed, any_of: &[&str]) -> Result<(), Refused> {
    signed.caller.require_any(any_of).or_page(signed)
}

/// `YYYY-MM-DD hh:mm:ss` shown as `YYYY-MM-DD hh:mm` UTC.
pub fn when(t: &str) -> String {
    match t.get(..16) {
        Some(short) if t.len() >= 16 => format!("{short} UTC"),
        _ => t.to_owned(),
    }
}

/// A 303 to `to`, after a form; a location that cannot be a header value
/// (it came from a request) leads to the console's start instead.
pub fn see_other(to: &str) -> Response {
    let location =
        HeaderValue::from_str(to).unwrap_or_else(|_| HeaderValue::from_static("/console"));
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

/// A page of `table`'s rows matching the encoded `query` (parsed and bounded
/// as the Table API's), and their total: the Table API's own list, which the
/// pages call after checking the caller's read access.
pub(crate) async fn rows(
    state: &AppState,
    table: &'static crate::registry::Table,
    query: &str,
    limit: i64,
    offset: i64,
) -> Result<(Vec<crate::storage::Row>, i64), Error> {
    let query = crate::domain::encoded_query::EncodedQuery::parse(
        table,
        query,
        state.settings.max_query_terms,
    )?;
    let page = crate::domain::records::list(
        &state.db,
        table,
        &crate::domain::records::ListRequest {
            query,
            window: crate::domain::records::Window { limit, offset },
            count: true,
        },
    )
    .await?;
    Ok((page.rows, page.total.unwrap_or(0)))
}
