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
use crate::http::endpoint::Endpoint;
use crate::http::extract::read_body;

pub mod entities;
pub mod releases;

/// The family's endpoints, below `/api/v3`.
pub fn endpoints() -> Vec<Endpoint> {
    use releases as r;
    const ONE: &str = "/releases/{release_id}";
    const LEVEL: &str = "/releases/{release_id}/approval_levels/{level_id}";
    vec![
        Endpoint::get("/releases", r::list)
            .summary("ServiceDesk-style: list releases (input_data={\"list_info\": {...}})")
            .query(&["input_data"]),
        Endpoint::post("/releases", r::add)
            .summary("ServiceDesk-style: add a release (input_data={\"release\": {...}}, form-encoded)")
            .success(201),
        Endpoint::delete("/releases/move_to_trash", r::move_to_trash)
            .summary("ServiceDesk-style: move releases to the trash (?ids=1,2; one response_status per id)")
            .required_query(&["ids"]),
        Endpoint::put("/releases/restore_from_trash", r::restore_from_trash)
            .summary("ServiceDesk-style: restore releases from the trash (?ids=1,2)")
            .required_query(&["ids"]),
        Endpoint::put("/releases/assign", r::assign)
            .summary("ServiceDesk-style: assign the release engineer or manager of releases (?ids=1,2)")
            .required_query(&["ids"]),
        Endpoint::put("/releases/pickup", r::pickup)
            .summary("ServiceDesk-style: the caller becomes the release engineer (?ids=1,2)")
            .required_query(&["ids"]),
        Endpoint::put("/releases/{release_id}/close", r::close)
            .summary("ServiceDesk-style: close a release (status completed or canceled)"),
        Endpoint::get(ONE, r::get).summary("ServiceDesk-style: one release"),
        Endpoint::put(ONE, r::edit)
            .summary("ServiceDesk-style: edit the fields of a release named in input_data"),
        Endpoint::delete(ONE, r::delete)
            .summary("ServiceDesk-style: delete a release in the trash for good"),
        Endpoint::get("/releases/{release_id}/history", r::history)
            .summary("ServiceDesk-style: the release's history, newest first"),
        Endpoint::get("/releases/{release_id}/status_comments", r::status_comments)
            .summary("ServiceDesk-style: the comments recorded with every stage or status change"),
        Endpoint::get("/releases/{release_id}/summary", r::summary)
            .summary("ServiceDesk-style: counts of the release's tasks (and closed), worklogs, notes, approvals, changes, projects, reminders"),
        Endpoint::get("/releases/{release_id}/get_permissions", r::permissions)
            .summary("ServiceDesk-style: what the caller may view, edit and approve in each stage (and -1: the release as a whole)"),
        Endpoint::post("/releases/{release_id}/approval_levels", r::add_approval_level)
            .summary("ServiceDesk-style: add an approval level to a stage (approvers and a percent rule)")
            .success(201),
        Endpoint::get("/releases/{release_id}/approval_levels/approval_summary", r::approval_summary)
            .summary("ServiceDesk-style: per stage, the latest decision and the approval levels"),
        Endpoint::put(LEVEL, r::edit_approval_level)
            .summary("ServiceDesk-style: change an approval level's name, rule or approvers while no approver has decided (Tollgate addition)"),
        Endpoint::delete(LEVEL, r::delete_approval_level)
            .summary("ServiceDesk-style: delete an approval level no approver has decided on (Tollgate addition)"),
        Endpoint::put("/releases/{release_id}/approval_levels/{level_id}/approve", r::approve)
            .summary("ServiceDesk-style: an approver approves a level"),
        Endpoint::put("/releases/{release_id}/approval_levels/{level_id}/reject", r::reject)
            .summary("ServiceDesk-style: an approver rejects a level"),
        Endpoint::get("/releases/{release_id}/{sub}", r::list_sub)
            .summary("ServiceDesk-style: the release's tasks, worklogs or notes")
            .example("sub", "tasks"),
        Endpoint::post("/releases/{release_id}/{sub}", r::add_sub)
            .summary("ServiceDesk-style: add a task, worklog or note to the release")
            .example("sub", "tasks")
            .success(201),
        Endpoint::get("/users", entities::list_users).summary("ServiceDesk-style users: list"),
        Endpoint::post("/users", entities::add_user)
            .summary("ServiceDesk-style users: add one")
            .success(201),
        Endpoint::get("/users/{id}", entities::get_user).summary("ServiceDesk-style users: one user"),
        Endpoint::put("/users/{id}", entities::edit_user).summary("ServiceDesk-style users: edit one"),
        Endpoint::delete("/users/{id}", entities::delete_user)
            .summary("ServiceDesk-style users: delete one unless releases refer to the user"),
        Endpoint::get("/{entity}", entities::list)
            .summary("ServiceDesk-style reference entities: list (priorities, release_stages, release_statuses, release_templates, release_types, release_roles, urgencies, impacts, risks, categories, subcategories, items, groups, sites, services, assets)")
            .example("entity", "priorities"),
        Endpoint::post("/{entity}", entities::add)
            .summary("ServiceDesk-style reference entities: add one")
            .example("entity", "priorities")
            .success(201),
        Endpoint::get("/{entity}/{id}", entities::get)
            .summary("ServiceDesk-style reference entities: one")
            .example("entity", "priorities"),
        Endpoint::put("/{entity}/{id}", entities::edit)
            .summary("ServiceDesk-style reference entities: edit one")
            .example("entity", "priorities"),
        Endpoint::delete("/{entity}/{id}", entities::delete)
            .summary("ServiceDesk-style reference entities: delete one (4005 while in use)")
            .example("entity", "priorities"),
    ]
}

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
