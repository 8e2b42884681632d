//! HTTP: one module per API family, the envelopes, extractors and the
//! router. Handlers are thin: parse, authorise, call the domain, shape the
//! answer.

pub mod api_docs;
pub mod api_keys;
pub mod attachment;
pub mod batch;
pub mod cdm;
pub mod cicd;
pub mod dpr;
pub mod endpoint;
pub mod envelope;
pub mod extract;
pub mod me;
pub mod multipart;
pub mod oauth;
pub mod openapi;
pub mod ops;
pub mod policy_trial;
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
use axum::Router;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

use crate::app::AppState;
use crate::config::Settings;
use crate::error::Error;
use endpoint::ApiFamily;
use envelope::Family as Envelope;

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
        // Served over Tollgate's own TLS: every request came over HTTPS.
        _ if settings.serves_tls() => "https",
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

/// Authenticates a request to an endpoint that needs credentials (a route
/// layer on it, see [`endpoint::ApiFamily::router`]) before any extractor
/// runs, so no unauthenticated body reaches a parser; the caller is left in
/// the request's extensions for the extractors.
pub(crate) async fn authenticate_first(
    state: AppState,
    mut request: Request,
    next: Next,
) -> Response {
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

/// Every API family, with its prefix and envelope; the endpoints are listed
/// in each family's module.
pub fn families() -> Vec<ApiFamily> {
    vec![
        ApiFamily::new(
            "Table API",
            "/api/now",
            Envelope::ServiceNow,
            [
                table_api::endpoints(),
                attachment::endpoints(),
                batch::endpoints(),
            ]
            .into_iter()
            .flatten()
            .collect(),
        )
        .versioned(),
        ApiFamily::new(
            "Digital Product Release",
            "/api/sn_dpr",
            Envelope::DigitalProductRelease,
            dpr::endpoints(),
        )
        .versioned(),
        ApiFamily::new(
            "Configuration Data Management",
            "/api/sn_cdm",
            Envelope::ConfigurationData,
            cdm::endpoints(),
        )
        .versioned(),
        ApiFamily::new(
            "CI/CD",
            "/api/sn_cicd",
            Envelope::ServiceNow,
            cicd::endpoints(),
        )
        .versioned()
        .xml()
        .claiming_bare_prefix(),
        ApiFamily::new(
            "ServiceDesk",
            "/api/v3",
            Envelope::ServiceDesk,
            sdp::endpoints(),
        )
        .claiming_bare_prefix(),
        ApiFamily::new(
            "Tollgate's own (API keys, who am I, policy trial)",
            "/api/tollgate",
            Envelope::ServiceNow,
            [
                api_keys::endpoints(),
                me::endpoints(),
                policy_trial::endpoints(),
            ]
            .into_iter()
            .flatten()
            .collect(),
        )
        .versioned(),
        // Any other path under `/api/` names nothing, in the ServiceNow envelope.
        ApiFamily::new("Other /api paths", "/api", Envelope::ServiceNow, Vec::new()),
        ApiFamily::new(
            "Operations",
            "",
            Envelope::Other,
            [oauth::endpoints(), ops::endpoints(), api_docs::endpoints()]
                .into_iter()
                .flatten()
                .collect(),
        ),
    ]
}

/// The envelope of the family that answers `path`: the family with the
/// longest prefix claiming it (the root family claims every path).
pub fn envelope_for_path(path: &str) -> Envelope {
    static CLAIMS: std::sync::OnceLock<Vec<(String, bool, Envelope)>> = std::sync::OnceLock::new();
    let claims = CLAIMS.get_or_init(|| {
        let mut claims = Vec::new();
        for family in families() {
            let aliases = family.endpoints.iter().filter_map(|e| e.also_under);
            let mut mounts = vec![family.prefix];
            for alias in aliases {
                if !mounts.contains(&alias) {
                    mounts.push(alias);
                }
            }
            for mount in mounts {
                let bare = mount == family.prefix && family.claims_bare_prefix;
                claims.push((mount.to_owned(), bare, family.envelope));
            }
        }
        claims
    });
    claims
        .iter()
        .filter(|(prefix, bare, _)| {
            prefix.is_empty()
                || (*bare && path == prefix.as_str())
                || path
                    .strip_prefix(prefix.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
        })
        .max_by_key(|(prefix, _, _)| prefix.len())
        .map_or(Envelope::Other, |(_, _, envelope)| *envelope)
}

/// The answer to a request whose target hyper refuses (a raw space, `>`,
/// `"`...; see `server::refused_target`), in the envelope of the family its
/// path belongs to.
pub fn refused_target_answer(target: &str) -> Response {
    let path = target.split(['?', '#', ' ']).next().unwrap_or("");
    let error = Error::malformed(
        "The request URL has characters that must be URL-encoded: URL-encode the query \
         (for example sysparm_query=a%3Eb for a>b, %20 for a space)",
    )
    .with_detail(
        "Spaces, control characters, < and > are not taken raw in a URL, nor \" in its query or ` in its path",
    );
    envelope::render(envelope_for_path(path), &error)
}

pub fn router(state: AppState) -> Router {
    let metrics = state.metrics.clone();
    let trusted_proxies = state.settings.trusted_proxies.clone();
    families()
        .iter()
        .fold(Router::new(), |app, family| app.merge(family.router(&state)))
        // The release console: `/` and `/console/...`, HTML pages.
        .merge(crate::console::router())
        .with_state(state)
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
            })
            .on_failure(log_failure),
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

/// Logs a failed request: a 503 is an answer the server chose (draining at
/// shutdown, the database busy or unreachable), worth a warning; any other
/// 5xx, or an error, is a fault.
fn log_failure(
    failure: tower_http::classify::ServerErrorsFailureClass,
    latency: std::time::Duration,
    _: &tracing::Span,
) {
    use tower_http::classify::ServerErrorsFailureClass;
    let latency_ms = latency.as_millis() as u64;
    match failure {
        ServerErrorsFailureClass::StatusCode(code)
            if code == axum::http::StatusCode::SERVICE_UNAVAILABLE =>
        {
            tracing::warn!(status = code.as_u16(), latency_ms, "request answered 503")
        }
        other => tracing::error!(classification = %other, latency_ms, "request failed"),
    }
}
