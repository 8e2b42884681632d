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
