//! The Batch API: `POST /api/now[/{api_version}]/batch` runs several REST
//! requests in one call. Each inner request (`rest_requests[]`: `id`,
//! `method`, a relative `url`, `headers`, a base64 `body`) is dispatched, in
//! order, through the server's own router with the batch caller's
//! credentials, so every rule, role and envelope applies exactly as to a
//! direct call; its answer comes back in `serviced_requests[]` (base64
//! `body`, `status_code`, `status_text`, `headers`, `execution_time`).
//!
//! Bounds: the batch body is read under `body_limit` (inner bodies
//! included); at most `batch_max_requests` inner requests run, and the rest
//! are answered as `unserviced_requests` (the vendor's answer for a batch
//! past a limit; clients send those again), as are the requests left when
//! the answers reach [`MAX_TOTAL_OUTPUT`] bytes or half the request time
//! has passed. One inner answer may hold [`MAX_ITEM_OUTPUT`] bytes (less if
//! `X-BATCHREQUEST-MAX-OUTPUT-SIZE` asks). An inner URL must be a path
//! under `/api/` (no scheme or host) and may not be the Batch API itself.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{json, Map, Value as Json};
use tower::ServiceExt;

use super::endpoint::{Arg, Endpoint};
use super::extract::{Authenticated, Fields, JsonObject};
use crate::app::AppState;
use crate::error::{Error, Result};

/// Most bytes of one inner answer's body (the vendor's default
/// `glide.rest.batch.max.outputSize`).
pub const MAX_ITEM_OUTPUT: usize = 10 * 1024 * 1024;

/// Most bytes of inner answer bodies one batch collects; the requests left
/// once it is reached are answered as unserviced.
pub const MAX_TOTAL_OUTPUT: usize = 32 * 1024 * 1024;

/// The headers that come from the batch request itself, never from an
/// inner request's list: credentials (the batch caller's), the host and
/// forwarding headers (so links and client addresses are the batch's), and
/// the framing of the connection.
const FROM_BATCH: &[&str] = &[
    "authorization",
    "authtoken",
    "x-sn-apikey",
    "cookie",
    "host",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
];

/// Inner headers that are never passed on.
const DROPPED: &[&str] = &[
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
    "expect",
    "proxy-authorization",
    "x-request-id",
];

pub fn endpoints() -> Vec<Endpoint> {
    vec![Endpoint::post("/batch", batch)
        .summary("Run several REST requests in one call (rest_requests with base64 bodies; answers in serviced_requests and unserviced_requests)")
        .checked_by_handler("each inner request's own roles")]
}

/// The connection the batch came in on, given to every inner request so
/// that the proxy rules and the client's address are the batch's.
pub struct Connection(Option<ConnectInfo<SocketAddr>>);

impl<S: Send + Sync> FromRequestParts<S> for Connection {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Connection(
            parts.extensions.get::<ConnectInfo<SocketAddr>>().cloned(),
        ))
    }
}

impl Arg for Connection {}

/// Marks a request dispatched by a batch: it may not be a batch itself.
#[derive(Clone, Copy)]
struct InsideBatch;

/// One inner request, checked before any runs.
struct Inner {
    id: String,
    method: Method,
    uri: axum::http::Uri,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Vec<u8>,
    exclude_response_headers: bool,
}

fn item_error(n: usize, field: &str, problem: impl std::fmt::Display) -> Error {
    Error::invalid(&format!("rest_requests[{n}].{field}"), problem)
}

/// Whether a path names the Batch API (after percent-decoding, any version).
fn is_batch_path(path: &str) -> bool {
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    let segments: Vec<&str> = decoded.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        [api, now, rest @ ..]
            if api.eq_ignore_ascii_case("api") && now.eq_ignore_ascii_case("now") =>
        {
            let rest = match rest {
                [v, rest @ ..]
                    if v.starts_with('v') && v[1..].bytes().all(|b| b.is_ascii_digit()) =>
                {
                    rest
                }
                other => other,
            };
            rest.first()
                .is_some_and(|s| s.eq_ignore_ascii_case("batch"))
        }
        _ => false,
    }
}

fn parse_inner(n: usize, item: &Json) -> Result<Inner> {
    let Json::Object(map) = item else {
        return Err(Error::wrong_type(
            &format!("rest_requests[{n}]"),
            "an object",
        ));
    };
    let fields = Fields::new(map);
    let id = match map.get("id") {
        Some(Json::String(s)) if !s.is_empty() => s.clone(),
        Some(Json::Number(x)) => x.to_string(),
        _ => return Err(Error::missing(&format!("rest_requests[{n}].id"))),
    };
    let method_text = fields
        .opt_str("method")?
        .filter(|m| !m.trim().is_empty())
        .ok_or_else(|| Error::missing(&format!("rest_requests[{n}].method")))?;
    let method = match method_text.trim().to_ascii_uppercase().as_str() {
        "GET" => Method::GET,
        "POST" => Method::POST,
        "PUT" => Method::PUT,
        "PATCH" => Method::PATCH,
        "DELETE" => Method::DELETE,
        other => {
            return Err(item_error(
                n,
                "method",
                format!("{other:?} is not GET, POST, PUT, PATCH or DELETE"),
            ))
        }
    };
    let url = fields
        .opt_str("url")?
        .filter(|u| !u.is_empty())
        .ok_or_else(|| Error::missing(&format!("rest_requests[{n}].url")))?;
    // A relative path on this server, nothing else: no scheme, no host
    // (`//host/...`), no backslashes a client might read as slashes.
    let relative = url.starts_with("/api/")
        && !url.starts_with("//")
        && !url.contains('\\')
        && url.bytes().all(|b| b.is_ascii_graphic());
    if !relative {
        return Err(item_error(
            n,
            "url",
            "must be a relative path under /api/ such as /api/now/table/incident?sysparm_limit=1",
        ));
    }
    let uri: axum::http::Uri = url
        .parse()
        .map_err(|_| item_error(n, "url", "is not a valid request path"))?;
    if uri.scheme().is_some() || uri.authority().is_some() {
        return Err(item_error(n, "url", "must be a relative path under /api/"));
    }
    if is_batch_path(uri.path()) {
        return Err(item_error(n, "url", "a batch cannot contain another batch"));
    }
    let mut headers = Vec::new();
    if let Some(list) = fields.opt_array("headers")? {
        for (k, h) in list.iter().enumerate() {
            let Json::Object(h) = h else {
                return Err(item_error(n, &format!("headers[{k}]"), "must be an object"));
            };
            let hf = Fields::new(h);
            let name = hf.opt_str("name")?.unwrap_or("");
            let value = hf.opt_str("value")?.unwrap_or("");
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                item_error(n, &format!("headers[{k}].name"), "is not a header name")
            })?;
            let value = HeaderValue::from_str(value).map_err(|_| {
                item_error(n, &format!("headers[{k}].value"), "is not a header value")
            })?;
            if FROM_BATCH.contains(&name.as_str()) || DROPPED.contains(&name.as_str()) {
                continue;
            }
            headers.push((name, value));
        }
    }
    let body = match fields.opt_str("body")? {
        None => Vec::new(),
        Some(text) => {
            // Line breaks inside the base64 text (as the vendor's examples
            // wrap it) are ignored.
            let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact)
                .map_err(|_| item_error(n, "body", "is not base64"))?
        }
    };
    Ok(Inner {
        id,
        method,
        uri,
        headers,
        body,
        exclude_response_headers: fields
            .opt_bool("exclude_response_headers")?
            .unwrap_or(false),
    })
}

pub async fn batch(
    State(state): State<AppState>,
    Authenticated(_caller): Authenticated,
    Connection(connection): Connection,
    headers: HeaderMap,
    request_extensions: InnerMarker,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    if request_extensions.0 {
        return Err(Error::invalid(
            "url",
            "a batch cannot contain another batch",
        ));
    }
    let fields = Fields::new(&body);
    let batch_id = match body.get("batch_request_id") {
        None | Some(Json::Null) => Json::Null,
        Some(Json::String(s)) => Json::String(s.clone()),
        // pysnc sends a number and compares the answer as a string.
        Some(Json::Number(x)) => Json::String(x.to_string()),
        Some(_) => return Err(Error::wrong_type("batch_request_id", "a string")),
    };
    let items = fields
        .opt_array("rest_requests")?
        .ok_or_else(|| Error::missing("rest_requests"))?;
    let inner: Vec<Inner> = items
        .iter()
        .enumerate()
        .map(|(n, item)| parse_inner(n, item))
        .collect::<Result<_>>()?;
    let item_limit = headers
        .get("x-batchrequest-max-output-size")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok())
        .map_or(MAX_ITEM_OUTPUT, |n| n.min(MAX_ITEM_OUTPUT));
    let time_budget = Duration::from_secs(state.settings.request_timeout.max(1)) / 2;
    let started = Instant::now();
    let router = super::router(state.clone());
    let mut serviced = Vec::new();
    let mut unserviced = Vec::new();
    let mut output = 0usize;
    for (n, item) in inner.into_iter().enumerate() {
        if n >= state.settings.batch_max_requests
            || output >= MAX_TOTAL_OUTPUT
            || started.elapsed() >= time_budget
        {
            unserviced.push(Json::String(item.id));
            continue;
        }
        let answer = run_one(&router, &headers, connection, &item, item_limit).await;
        output += answer.1;
        serviced.push(answer.0);
    }
    Ok(axum::Json(json!({
        "batch_request_id": batch_id,
        "serviced_requests": serviced,
        "unserviced_requests": unserviced,
    }))
    .into_response())
}

/// Whether the request was dispatched by a batch.
pub struct InnerMarker(bool);

impl<S: Send + Sync> FromRequestParts<S> for InnerMarker {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(InnerMarker(parts.extensions.get::<InsideBatch>().is_some()))
    }
}

impl Arg for InnerMarker {}

/// Runs one inner request; its answer and how many body bytes it holds.
async fn run_one(
    router: &axum::Router,
    batch_headers: &HeaderMap,
    connection: Option<ConnectInfo<SocketAddr>>,
    item: &Inner,
    item_limit: usize,
) -> (Json, usize) {
    let started = Instant::now();
    let mut request = Request::new(Body::from(item.body.clone()));
    *request.method_mut() = item.method.clone();
    *request.uri_mut() = item.uri.clone();
    {
        let h = request.headers_mut();
        for (name, value) in &item.headers {
            h.append(name.clone(), value.clone());
        }
        for name in FROM_BATCH {
            for value in batch_headers.get_all(*name) {
                h.append(*name, value.clone());
            }
        }
        if !item.body.is_empty() {
            h.insert(
                axum::http::header::CONTENT_LENGTH,
                HeaderValue::from(item.body.len()),
            );
        }
    }
    request.extensions_mut().insert(InsideBatch);
    if let Some(connection) = connection {
        request.extensions_mut().insert(connection);
    }
    let response = match router.clone().oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let status = response.status();
    let (parts, body) = response.into_parts();
    let mut answer = Map::new();
    answer.insert("id".into(), Json::String(item.id.clone()));
    let bytes = axum::body::to_bytes(body, item_limit).await;
    let size;
    match bytes {
        Ok(bytes) => {
            size = bytes.len();
            answer.insert("status_code".into(), json!(status.as_u16()));
            answer.insert(
                "status_text".into(),
                json!(status.canonical_reason().unwrap_or("")),
            );
            answer.insert(
                "body".into(),
                json!(base64::engine::general_purpose::STANDARD.encode(&bytes)),
            );
            let headers: Vec<Json> = if item.exclude_response_headers {
                Vec::new()
            } else {
                parts
                    .headers
                    .iter()
                    .filter_map(|(name, value)| {
                        value
                            .to_str()
                            .ok()
                            .map(|v| json!({"name": name.as_str(), "value": v}))
                    })
                    .collect()
            };
            answer.insert("headers".into(), Json::Array(headers));
        }
        Err(_) => {
            size = 0;
            answer.insert("status_code".into(), json!(500));
            answer.insert("status_text".into(), json!("Internal Server Error"));
            answer.insert("body".into(), json!(""));
            answer.insert("headers".into(), json!([]));
            answer.insert(
                "error_message".into(),
                json!(format!(
                    "The answer is larger than the limit of {item_limit} bytes for one request of a batch"
                )),
            );
        }
    }
    answer.insert(
        "execution_time".into(),
        json!(started.elapsed().as_millis() as u64),
    );
    (Json::Object(answer), size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_batch_path_is_recognised_in_every_spelling() {
        assert!(is_batch_path("/api/now/batch"));
        assert!(is_batch_path("/api/now/v1/batch"));
        assert!(is_batch_path("/api/now/%62atch"));
        assert!(is_batch_path("/api//now/BATCH/"));
        assert!(!is_batch_path("/api/now/table/batch"));
    }

    #[test]
    fn only_relative_api_paths_are_accepted() {
        let item = |url: &str| json!({"id": "1", "method": "GET", "url": url});
        assert!(parse_inner(0, &item("/api/now/table/incident?sysparm_limit=1")).is_ok());
        for bad in [
            "https://example.com/api/now/table/incident",
            "//example.com/api/now/table/incident",
            "/oauth_token.do",
            "api/now/table/incident",
            "/api/now/v1/batch",
            "/api\\now",
        ] {
            assert!(parse_inner(0, &item(bad)).is_err(), "{bad}");
        }
    }
}
