//! `GET /docs`: the API reference, rendered in the browser from
//! `/openapi.json` by a small page of Tollgate's own (HTML, a script and a
//! style sheet embedded in the binary: no CDN, nothing vendored). Open to
//! the same callers as `/openapi.json` (the `public_openapi` setting).
//!
//! The page loads only from its own origin (its content security policy
//! says so), and its script sets every text from the document as text.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::endpoint::Endpoint;
use crate::config::Settings;

const PAGE: &str = include_str!("api_docs/index.html");
const SCRIPT: &str = include_str!("api_docs/docs.js");
const STYLE: &str = include_str!("api_docs/docs.css");

/// Everything from this origin only; no inline script or style, no frames,
/// no forms, no plugins.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

fn open(settings: &Settings) -> bool {
    settings.public_openapi
}

/// The endpoints, at the root.
pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint::get("/docs", page)
            .summary("The API reference: this document rendered as a page (HTML)")
            .public_if(open, "public_openapi"),
        Endpoint::get("/docs.js", script)
            .summary("The API reference page's script")
            .public_if(open, "public_openapi"),
        Endpoint::get("/docs.css", style)
            .summary("The API reference page's style sheet")
            .public_if(open, "public_openapi"),
    ]
}

pub async fn page(headers: HeaderMap) -> Response {
    asset(&headers, PAGE, "text/html; charset=utf-8")
}

pub async fn script(headers: HeaderMap) -> Response {
    asset(&headers, SCRIPT, "text/javascript; charset=utf-8")
}

pub async fn style(headers: HeaderMap) -> Response {
    asset(&headers, STYLE, "text/css; charset=utf-8")
}

/// An asset with its validator: browsers keep it and ask again with
/// `If-None-Match`, so an upgrade shows at the next load and an unchanged
/// asset costs a 304.
fn asset(request: &HeaderMap, body: &'static str, content_type: &'static str) -> Response {
    let etag = etag(body);
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    let headers = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, etag);
    }
    // Private: behind credentials unless public_openapi is on.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    super::view::document_headers(headers, CONTENT_SECURITY_POLICY, "no-referrer");
    response
}

/// The version and a hash of the content.
fn etag(body: &str) -> String {
    format!(
        "\"{}-{:016x}\"",
        env!("CARGO_PKG_VERSION"),
        super::view::content_hash(body)
    )
}
