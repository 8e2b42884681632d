//! HTTP: one module per API family, the envelopes, extractors and the
//! router. Handlers are thin: parse, authorise, call the domain, shape the
//! answer.

pub mod api_keys;
pub mod cdm;
pub mod cicd;
pub mod dpr;
pub mod envelope;
pub mod extract;
pub mod oauth;
pub mod openapi;
pub mod ops;
pub mod proxy;
pub mod sdp;
pub mod table_api;
pub mod view;
pub mod xml;

use std::collections::HashMap;
use std::time::Instant;

use axum::extract::{FromRequestParts, MatchedPath, Path, Request};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

use crate::app::AppState;
use crate::config::Settings;
use crate::error::{Error, ErrorKind};

/// Path parameters by name; an optional `{version}` segment must look like
/// `v1`, `v2`, ... or the path names no endpoint.
pub struct PathParams(HashMap<String, String>);

impl PathParams {
    pub fn get(&self, name: &str) -> Result<&str, Error> {
        self.0
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| Error::internal(format!("route has no {name} parameter")))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PathParams {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| Error::no_such_endpoint())?;
        if params.get("version").is_some_and(|v| !is_version(v)) {
            return Err(Error::no_such_endpoint());
        }
        Ok(PathParams(params))
    }
}

/// Whether a `{version}` path segment reads `v1`, `v2`, ...
fn is_version(segment: &str) -> bool {
    segment.len() > 1
        && segment.starts_with('v')
        && segment[1..].bytes().all(|b| b.is_ascii_digit())
}

/// Whether a routed request names an endpoint: its `{version}` segment, if
/// the route has one, is a version. (A path like `/api/now/vX/table/...`
/// matches the versioned route but names nothing.)
fn names_an_endpoint(request: &Request) -> bool {
    let Some(matched) = request.extensions().get::<MatchedPath>() else {
        return true;
    };
    matched
        .as_str()
        .split('/')
        .zip(request.uri().path().split('/'))
        .all(|(pattern, actual)| pattern != "{version}" || is_version(actual))
}

/// A JSON answer from already serialised bytes (cached answers).
pub fn json_bytes(body: axum::body::Bytes) -> Response {
    axum::response::IntoResponse::into_response((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    ))
}

/// The base of links in answers: the configured public URL, else the Host
/// the client called (with the host and scheme a trusted proxy reports; the
/// forwarding headers of anyone else are stripped by [`proxy`]). A host that
/// is not a plain `name[:port]` or a scheme other than http/https is ignored,
/// so a link can never become `javascript:...`.
pub fn base_url(headers: &HeaderMap, settings: &Settings) -> String {
    if let Some(url) = &settings.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let header = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            // A proxy chain lists the client's value first.
            .and_then(|v| v.split(',').next())
            .map(str::trim)
    };
    let host = [header("x-forwarded-host"), header("host")]
        .into_iter()
        .flatten()
        .find(|h| is_plain_host(h))
        .unwrap_or("localhost");
    let scheme = match header("x-forwarded-proto") {
        Some(p) if p.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    };
    format!("{scheme}://{host}")
}

/// `name`, `name:port`, `1.2.3.4:port` or `[::1]:port`, and nothing else.
fn is_plain_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

/// Paths answered without credentials: health, readiness, the token
/// endpoint, and what the settings open. Everything else is authenticated
/// by [`authenticate_first`] before any body is read.
pub fn is_public(path: &str, settings: &Settings) -> bool {
    match path {
        "/healthz" | "/readyz" | "/oauth_token.do" => true,
        "/metrics" => settings.public_metrics,
        "/openapi.json" => settings.public_openapi,
        _ => false,
    }
}

/// Authenticates every request to a non-public path before routing, so no
/// unauthenticated body reaches a parser; the caller is left in the
/// request's extensions for the extractors.
async fn authenticate_first(state: AppState, mut request: Request, next: Next) -> Response {
    if is_public(request.uri().path(), &state.settings) {
        return next.run(request).await;
    }
    // A path that names no endpoint answers so, credentials or not.
    if !names_an_endpoint(&request) {
        return axum::response::IntoResponse::into_response(Error::no_such_endpoint());
    }
    let extract::ClientAddr(client) = extract::ClientAddr::from_extensions(request.extensions());
    match state.identity.authenticate(request.headers(), client).await {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(error) => axum::response::IntoResponse::into_response(error),
    }
}

/// Routes a ServiceNow-style path with and without its `/{version}` segment.
fn versioned(
    router: Router<AppState>,
    prefix: &str,
    rest: &str,
    method_router: axum::routing::MethodRouter<AppState>,
) -> Router<AppState> {
    router
        .route(&format!("{prefix}{rest}"), method_router.clone())
        .route(&format!("{prefix}/{{version}}{rest}"), method_router)
}

pub fn router(state: AppState) -> Router {
    let mut r = Router::new();
    r = versioned(
        r,
        "/api/now",
        "/table/{table}",
        get(table_api::list).post(table_api::create),
    );
    r = versioned(
        r,
        "/api/now",
        "/table/{table}/{sys_id}",
        get(table_api::get_one)
            .put(table_api::update)
            .patch(table_api::update)
            .delete(table_api::delete),
    );
    r = versioned(
        r,
        "/api/sn_dpr",
        "/digital_product_release/release",
        post(dpr::releases::create_release),
    );
    r = versioned(
        r,
        "/api/sn_dpr",
        "/digital_product_release/release_id/{release_id}/complete_phase",
        post(dpr::phases::complete_phase),
    );
    r = versioned(
        r,
        "/api/sn_dpr",
        "/digital_product_release/release/{release_id}/phase/{phase_id}/start",
        post(dpr::phases::start_phase),
    );
    r = versioned(
        r,
        "/api/sn_dpr",
        "/digital_product_release/release/{release_id}/restart",
        post(dpr::phases::restart),
    );
    r = versioned(
        r,
        "/api/sn_dpr",
        "/digital_product_release/release/{release_id}/policies/run",
        post(dpr::phases::run_policies),
    );
    r = versioned(
        r,
        "/api/sn_dpr",
        "/digital_product_release/releases/{release_id}/policies/status",
        get(dpr::phases::policy_status),
    );
    r = versioned(
        r,
        "/api/sn_dpr",
        "/digital_product_release/bundle/{sys_id}",
        get(dpr::bundles::bundle),
    );
    r = versioned(
        r,
        "/api/sn_dpr",
        "/digital_product_release/release/{sys_id}/retarget",
        put(dpr::releases::retarget),
    );
    r = versioned(
        r,
        "/api/sn_dpr",
        "/digital_product_release/release_calendar",
        post(dpr::calendars::create_release_calendar),
    );
    r = versioned(
        r,
        "/api/sn_dpr",
        "/digital_product_release/release_target",
        post(dpr::calendars::create_release_target),
    );
    r = versioned(
        r,
        "/api/sn_dpr",
        "/digital_product_release/product_enhancement",
        post(dpr::scope::create_product_enhancement),
    );
    r = versioned(
        r,
        "/api/sn_dpr",
        "/digital_product_release/release/{release_id}/key_date",
        post(dpr::scope::create_key_date),
    );
    r = versioned(
        r,
        "/api/sn_dpr",
        "/digital_product_release/release/{release_id}/related_task",
        post(dpr::scope::add_related_tasks),
    );
    r = versioned(
        r,
        "/api/sn_cicd",
        "/progress/{progress_id}",
        get(cicd::progress),
    );
    for (rest, method_router) in [
        (
            "/changesets",
            get(cdm::changesets::list).delete(cdm::changesets::delete),
        ),
        ("/changesets/create", post(cdm::changesets::create)),
        ("/changesets/create/", post(cdm::changesets::create)),
        ("/changesets/commit", put(cdm::changesets::commit_by_number)),
        ("/changesets/activity", get(cdm::changesets::activity)),
        (
            "/changesets/commit-status/{commit_id}",
            get(cdm::changesets::commit_status),
        ),
        (
            "/changesets/impacted-deployables",
            get(cdm::changesets::impacted_deployables),
        ),
        (
            "/changesets/impacted-shared-components",
            get(cdm::changesets::impacted_shared_components),
        ),
        (
            "/changesets/{changeset_id}/impacted-deployables",
            get(cdm::changesets::impacted_deployable_nodes),
        ),
        (
            "/changesets/{changeset_id}/commit",
            post(cdm::changesets::commit_by_id).put(cdm::changesets::commit_by_id),
        ),
        (
            "/editor/nodes",
            get(cdm::editor::list_nodes)
                .post(cdm::editor::create_node)
                .put(cdm::editor::update_node)
                .delete(cdm::editor::delete_node),
        ),
        (
            "/editor/includes",
            get(cdm::editor::list_includes).post(cdm::editor::create_include),
        ),
        (
            "/applications/uploads/components",
            post(cdm::applications::upload_components),
        ),
        (
            "/applications/uploads/components/vars",
            post(cdm::applications::upload_component_vars),
        ),
        (
            "/applications/uploads/collections",
            post(cdm::applications::upload_collections),
        ),
        (
            "/applications/uploads/deployables",
            post(cdm::applications::upload_deployables),
        ),
        (
            "/applications/upload-status/{upload_id}",
            get(cdm::applications::upload_status),
        ),
        (
            "/applications/deployables",
            post(cdm::applications::create_deployable)
                .put(cdm::applications::update_deployable)
                .delete(cdm::applications::delete_deployable),
        ),
        (
            "/applications/shared_components",
            get(cdm::applications::shared_components),
        ),
        (
            "/applications/shared_libraries/components/applications",
            get(cdm::applications::shared_component_applications),
        ),
        (
            "/applications/deployables/create",
            post(cdm::applications::create_deployables),
        ),
        (
            "/applications/deployables/exports",
            post(cdm::applications::create_export),
        ),
        (
            "/applications/deployables/exports/{export_id}/status",
            get(cdm::applications::export_status),
        ),
        (
            "/applications/deployables/exports/{export_id}/content",
            get(cdm::applications::export_content),
        ),
        (
            "/snapshots/{snapshot_id}/validate",
            post(cdm::snapshots::validate_by_id),
        ),
        (
            "/snapshots/{snapshot_id}/publish",
            post(cdm::snapshots::publish_by_id),
        ),
        (
            "/snapshots/{snapshot_id}/unpublish",
            post(cdm::snapshots::unpublish_by_id),
        ),
        ("/snapshots/validate", put(cdm::snapshots::validate_by_name)),
        ("/snapshots/publish", put(cdm::snapshots::publish_by_name)),
        (
            "/snapshots/unpublish",
            put(cdm::snapshots::unpublish_by_name),
        ),
        (
            "/policies/mappings",
            post(cdm::snapshots::create_mapping).delete(cdm::snapshots::delete_mapping),
        ),
    ] {
        r = versioned(r, "/api/sn_cdm", rest, method_router);
    }
    // The impacted-shared-components example is written without `/api`.
    r = versioned(
        r,
        "/sn_cdm",
        "/changesets/impacted-shared-components",
        get(cdm::changesets::impacted_shared_components),
    );
    r = versioned(
        r,
        "/api/sn_cicd",
        "/update_set/create",
        post(cicd::create_update_set),
    );
    r = versioned(
        r,
        "/api/sn_cicd",
        "/update_set/retrieve",
        post(cicd::retrieve),
    );
    r = versioned(
        r,
        "/api/sn_cicd",
        "/update_set/preview/{remote_update_set_id}",
        post(cicd::preview_update_set),
    );
    r = versioned(
        r,
        "/api/sn_cicd",
        "/update_set/commit/{remote_update_set_id}",
        post(cicd::commit_update_set),
    );
    r = versioned(
        r,
        "/api/sn_cicd",
        "/update_set/commitMultiple",
        post(cicd::commit_multiple),
    );
    r = versioned(
        r,
        "/api/sn_cicd",
        "/update_set/back_out",
        post(cicd::back_out_update_set),
    );
    r = r
        .route(
            "/api/v3/releases",
            get(sdp::releases::list).post(sdp::releases::add),
        )
        .route(
            "/api/v3/releases/move_to_trash",
            axum::routing::delete(sdp::releases::move_to_trash),
        )
        .route(
            "/api/v3/releases/restore_from_trash",
            put(sdp::releases::restore_from_trash),
        )
        .route("/api/v3/releases/assign", put(sdp::releases::assign))
        .route("/api/v3/releases/pickup", put(sdp::releases::pickup))
        .route(
            "/api/v3/releases/{release_id}/close",
            put(sdp::releases::close),
        )
        .route(
            "/api/v3/releases/{release_id}",
            get(sdp::releases::get)
                .put(sdp::releases::edit)
                .delete(sdp::releases::delete),
        )
        .route(
            "/api/v3/releases/{release_id}/history",
            get(sdp::releases::history),
        )
        .route(
            "/api/v3/releases/{release_id}/status_comments",
            get(sdp::releases::status_comments),
        )
        .route(
            "/api/v3/releases/{release_id}/summary",
            get(sdp::releases::summary),
        )
        .route(
            "/api/v3/releases/{release_id}/get_permissions",
            get(sdp::releases::permissions),
        )
        .route(
            "/api/v3/releases/{release_id}/approval_levels",
            post(sdp::releases::add_approval_level),
        )
        .route(
            "/api/v3/releases/{release_id}/approval_levels/approval_summary",
            get(sdp::releases::approval_summary),
        )
        .route(
            "/api/v3/releases/{release_id}/approval_levels/{level_id}",
            put(sdp::releases::edit_approval_level).delete(sdp::releases::delete_approval_level),
        )
        .route(
            "/api/v3/releases/{release_id}/approval_levels/{level_id}/approve",
            put(sdp::releases::approve),
        )
        .route(
            "/api/v3/releases/{release_id}/approval_levels/{level_id}/reject",
            put(sdp::releases::reject),
        )
        .route(
            "/api/v3/releases/{release_id}/{sub}",
            get(sdp::releases::list_sub).post(sdp::releases::add_sub),
        )
        .route(
            "/api/v3/users",
            get(sdp::entities::list_users).post(sdp::entities::add_user),
        )
        .route(
            "/api/v3/users/{id}",
            get(sdp::entities::get_user)
                .put(sdp::entities::edit_user)
                .delete(sdp::entities::delete_user),
        )
        .route(
            "/api/v3/{entity}",
            get(sdp::entities::list).post(sdp::entities::add),
        )
        .route(
            "/api/v3/{entity}/{id}",
            get(sdp::entities::get)
                .put(sdp::entities::edit)
                .delete(sdp::entities::delete),
        );
    r = versioned(
        r,
        "/api/tollgate",
        "/api_keys",
        get(api_keys::list).post(api_keys::create),
    );
    r = versioned(
        r,
        "/api/tollgate",
        "/api_keys/{id}",
        axum::routing::delete(api_keys::revoke),
    );
    let metrics = state.metrics.clone();
    let trusted_proxies = state.settings.trusted_proxies.clone();
    let auth_state = state.clone();
    let timeout = std::time::Duration::from_secs(state.settings.request_timeout.max(1));
    r.route("/oauth_token.do", post(oauth::token))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(ops::openapi))
        // Routed requests only: a path naming no endpoint keeps its family's
        // "no such resource" answer, credentials or not.
        .route_layer(middleware::from_fn(move |req: Request, next: Next| {
            authenticate_first(auth_state.clone(), req, next)
        }))
        .fallback(|| async { Error::no_such_endpoint() })
        .method_not_allowed_fallback(|| async {
            Error::new(ErrorKind::MethodNotAllowed, "Method not supported for this resource")
        })
        .with_state(state)
        .layer(CatchPanicLayer::custom(|_: Box<dyn std::any::Any + Send>| {
            axum::response::IntoResponse::into_response(Error::internal("a handler panicked"))
        }))
        .layer(middleware::from_fn(move |req: Request, next: Next| async move {
            match tokio::time::timeout(timeout, next.run(req)).await {
                Ok(response) => response,
                Err(_) => axum::response::IntoResponse::into_response(Error::new(
                    ErrorKind::Unavailable,
                    format!("The request took longer than {} seconds", timeout.as_secs()),
                )),
            }
        }))
        .layer(middleware::from_fn(envelope::render_errors))
        .layer(middleware::from_fn(xml::negotiate))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            let metrics = metrics.clone();
            async move { observe(metrics, req, next).await }
        }))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request| {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
            }),
        )
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            proxy::strip_untrusted_forwarding(trusted_proxies.clone(), req, next)
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(SequentialRequestId::new()))
}

/// Request ids: a random prefix per process and a counter, unique across
/// replicas without a system call per request (a client's own
/// `x-request-id` is kept).
#[derive(Clone)]
struct SequentialRequestId {
    prefix: std::sync::Arc<str>,
    next: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl SequentialRequestId {
    fn new() -> SequentialRequestId {
        SequentialRequestId {
            prefix: crate::ids::random_secret(6).into(),
            next: Default::default(),
        }
    }
}

impl MakeRequestId for SequentialRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        axum::http::HeaderValue::from_str(&format!("{}-{n:010}", self.prefix))
            .ok()
            .map(RequestId::new)
    }
}

async fn observe(
    metrics: std::sync::Arc<crate::metrics::Metrics>,
    req: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(req).await;
    metrics.observe(&method, &route, response.status().as_u16(), start.elapsed());
    response
}
