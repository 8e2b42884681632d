//! The ServiceDesk-style v3 family (`/api/v3/...`): its request payload
//! (`input_data`) and its success envelope. Errors are rendered by
//! `http::envelope` with the family's codes.

use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value as Json_};

use crate::app::AppState;
use crate::error::Error;
use crate::http::extract::read_body;

pub mod entities;
pub mod releases;

/// The request's `input_data`: a JSON document sent as the query parameter
/// or form field `input_data`, or as a plain JSON body. Absent reads as `{}`.
pub struct InputData(pub Map<String, Json_>);

fn parse_input(text: &str) -> Result<Map<String, Json_>, Error> {
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Json_>(text) {
        Ok(Json_::Object(map)) => Ok(map),
        Ok(_) => Err(Error::malformed("input_data must be a JSON object").with_field("input_data")),
        Err(e) => Err(
            Error::malformed(format!("input_data is not valid JSON: {e}")).with_field("input_data"),
        ),
    }
}

fn form_field(bytes: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(bytes)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

impl FromRequest<AppState> for InputData {
    type Rejection = Error;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Error> {
        if let Some(text) = request
            .uri()
            .query()
            .and_then(|q| form_field(q.as_bytes(), "input_data"))
        {
            return parse_input(&text).map(InputData);
        }
        let form = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        let bytes = read_body(request, state.settings.body_limit).await?;
        if form {
            let text = form_field(&bytes, "input_data").unwrap_or_default();
            return parse_input(&text).map(InputData);
        }
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| Error::malformed("the body is not valid UTF-8"))?;
        parse_input(text).map(InputData)
    }
}

/// A success answer: `body` plus `response_status` 2000.
pub fn success(status: StatusCode, mut body: Map<String, Json_>) -> Response {
    body.insert(
        "response_status".into(),
        json!({"status_code": 2000, "status": "success"}),
    );
    (status, Json(Json_::Object(body))).into_response()
}

/// A list's success answer: `response_status` is an array, as the vendor's
/// list answers show it.
pub fn list_success(mut body: Map<String, Json_>) -> Response {
    body.insert(
        "response_status".into(),
        json!([{"status_code": 2000, "status": "success"}]),
    );
    (StatusCode::OK, Json(Json_::Object(body))).into_response()
}

/// A list answered whole (no paging): the items under `key` with the
/// `list_info` the vendor sends for such lists.
pub fn whole_list(key: &str, items: Vec<Json_>) -> Response {
    let mut body = Map::new();
    body.insert(
        "list_info".into(),
        json!({"has_more_rows": false, "start_index": 1, "row_count": items.len()}),
    );
    body.insert(key.into(), Json_::Array(items));
    list_success(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_data_must_be_a_json_object_and_errors_name_it() {
        assert!(parse_input("").unwrap().is_empty());
        assert_eq!(
            parse_input(r#"{"release": {"title": "x"}}"#).unwrap()["release"]["title"],
            "x"
        );
        let err = parse_input("[1]").unwrap_err();
        assert_eq!(err.field.as_deref(), Some("input_data"));
        let err = parse_input("{").unwrap_err();
        assert!(err.message.contains("input_data"), "{}", err.message);
    }

    #[test]
    fn form_fields_are_decoded() {
        let body = b"input_data=%7B%22a%22%3A1%7D&x=2";
        assert_eq!(form_field(body, "input_data").as_deref(), Some("{\"a\":1}"));
    }
}
