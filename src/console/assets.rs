//! The console's embedded assets. The style sheet's URL carries a hash of
//! its content (checked by a test), so it is cached for a year as
//! `immutable`: a new build with another style sheet links another URL.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

pub const STYLE: &str = include_str!("console.css");

/// The assets' route; the style sheet is `console-<hash>.css` there, the
/// hash being the content's 64-bit FNV-1a hash in hex.
pub const ASSET_ROUTE: &str = "/assets/{file}";

/// The content hash of the style sheet (FNV-1a, stable across builds).
pub fn style_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| format!("{:016x}", crate::http::view::content_hash(STYLE)))
}

/// The URL pages link the style sheet at.
pub fn style_url() -> String {
    format!("/console/assets/console-{}.css", style_hash())
}

/// `GET /console/assets/console-<hash>.css`: the style sheet when the hash
/// is the current one (cached for good); 404 otherwise, so a stale URL is
/// never cached with new content.
pub async fn style(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    let current = file
        .strip_prefix("console-")
        .and_then(|f| f.strip_suffix(".css"))
        .is_some_and(|hash| hash == style_hash());
    if !current {
        return super::error_page(None, &crate::error::Error::not_found("No such asset"));
    }
    let mut response = ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
