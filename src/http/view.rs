//! Presentation the API families share: how a record is linked. Every
//! answer that points at a record (a reference field, a progress result, a
//! `Location` header) builds its address here, from the base URL the
//! handler took from the request.

use serde_json::{json, Value as Json};

/// The Table API address of one record.
pub fn record_url(base: &str, table: &str, sys_id: &str) -> String {
    format!("{base}/api/now/table/{table}/{sys_id}")
}

/// A reference as the vendor answers it: `{"value": sys_id, "link": url}`.
pub fn reference(base: &str, table: &str, sys_id: &str) -> Json {
    json!({"value": sys_id, "link": record_url(base, table, sys_id)})
}

/// [`reference`] of an optional sys_id; `absent` when there is none (the
/// families differ: `null` in some answers, `""` in others).
pub fn opt_reference(base: &str, table: &str, sys_id: Option<&str>, absent: Json) -> Json {
    match sys_id {
        Some(id) => reference(base, table, id),
        None => absent,
    }
}

/// A 64-bit FNV-1a hash of an embedded asset: stable across builds and
/// platforms (unlike `DefaultHasher`), for the URLs and validators that let
/// browsers keep it.
pub fn content_hash(body: &str) -> u64 {
    body.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The headers every HTML document Tollgate serves carries (the console's
/// pages, the API reference): its content security policy, no MIME
/// sniffing, and how much of its address a link passes on.
pub fn document_headers(
    headers: &mut axum::http::HeaderMap,
    content_security_policy: &'static str,
    referrer_policy: &'static str,
) {
    use axum::http::{header, HeaderValue};
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(content_security_policy),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static(referrer_policy),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_links_to_the_table_api_record() {
        assert_eq!(
            reference("https://x.test", "sys_user", "abc"),
            json!({"value": "abc", "link": "https://x.test/api/now/table/sys_user/abc"})
        );
        assert_eq!(
            opt_reference("https://x.test", "sys_user", None, Json::Null),
            Json::Null
        );
    }
}
