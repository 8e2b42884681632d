//! The v3 release document's examples as the contract of the answers'
//! shapes: for each documented request, Tollgate's answer carries every key
//! the document's answer shows, at every depth, with the same JSON types
//! (values differ where ids and times do). The documented answers are
//! copied verbatim into `fixtures/sdp_v3/` from
//! ../shared/spec/sdp-releases-api-v3.txt (the restore example is the
//! complete second answer of its spliced block).
//!
//! Then the rules those examples need: stages move back unless an
//! administrator forbids it, `notes_present`, `fields_required`, assets,
//! and subcategories and items within their parents.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

fn fixture(name: &str) -> Value {
    let text = match name {
        "add" => include_str!("fixtures/sdp_v3/add.json"),
        "approval_summary" => include_str!("fixtures/sdp_v3/approval_summary.json"),
        "assign" => include_str!("fixtures/sdp_v3/assign.json"),
        "close" => include_str!("fixtures/sdp_v3/close.json"),
        "delete_from_trash" => include_str!("fixtures/sdp_v3/delete_from_trash.json"),
        "edit" => include_str!("fixtures/sdp_v3/edit.json"),
        "get" => include_str!("fixtures/sdp_v3/get.json"),
        "get_permissions" => include_str!("fixtures/sdp_v3/get_permissions.json"),
        "history" => include_str!("fixtures/sdp_v3/history.json"),
        "list" => include_str!("fixtures/sdp_v3/list.json"),
        "move_to_trash" => include_str!("fixtures/sdp_v3/move_to_trash.json"),
        "pickup" => include_str!("fixtures/sdp_v3/pickup.json"),
        "restore_from_trash" => include_str!("fixtures/sdp_v3/restore_from_trash.json"),
        "status_comments" => include_str!("fixtures/sdp_v3/status_comments.json"),
        "summary" => include_str!("fixtures/sdp_v3/summary.json"),
        other => panic!("no fixture {other}"),
    };
    serde_json::from_str(text).expect("the fixture is JSON")
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Where `actual` departs from the shape of `documented`: a documented key
/// missing, another JSON type, or an empty array where the document shows
/// items (unless its path is in `may_be_empty`). Null on either side is no
/// departure (a value Tollgate does not have, or the document does not
/// show). Arrays are compared item by item, as far as both go.
fn departures(
    documented: &Value,
    actual: &Value,
    path: &str,
    may_be_empty: &[&str],
    out: &mut Vec<String>,
) {
    match (documented, actual) {
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::Object(d), Value::Object(a)) => {
            for (key, dv) in d {
                let here = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match a.get(key) {
                    Some(av) => departures(dv, av, &here, may_be_empty, out),
                    None => out.push(format!("{here}: missing")),
                }
            }
        }
        (Value::Array(d), Value::Array(a)) => {
            if !d.is_empty() && a.is_empty() && !may_be_empty.contains(&path) {
                out.push(format!("{path}: empty, documented with items"));
            }
            for (i, (dv, av)) in d.iter().zip(a).enumerate() {
                departures(dv, av, &format!("{path}[{i}]"), may_be_empty, out);
            }
        }
        (d, a) if kind(d) != kind(a) => out.push(format!(
            "{path}: documented as {}, answered as {}",
            kind(d),
            kind(a)
        )),
        _ => {}
    }
}

#[track_caller]
fn assert_documented_shape(example: &str, res: &TestResponse, may_be_empty: &[&str]) {
    let mut out = Vec::new();
    departures(&fixture(example), &res.body, "", may_be_empty, &mut out);
    assert!(
        out.is_empty(),
        "the {example} answer departs from the document's:\n  {}\nanswer: {}",
        out.join("\n  "),
        res.text
    );
}

#[test]
fn the_shape_comparison_finds_missing_keys_other_types_and_empty_lists() {
    let documented = json!({"response_status": [{"status_code": 2000}],
                            "release": {"roles": [{"role": {"prominent": true}}], "site": null, "n": "1"}});
    let mut out = Vec::new();
    let same = json!({"response_status": [{"status_code": 2000, "extra": 1}],
                      "release": {"roles": [{"role": {"prominent": false}}], "site": {"id": "1"}, "n": "2"}});
    departures(&documented, &same, "", &[], &mut out);
    assert!(out.is_empty(), "{out:?}");
    let other = json!({"response_status": {"status_code": 2000},
                       "release": {"roles": [{"role": {}}], "n": 1}});
    departures(&documented, &other, "", &[], &mut out);
    out.sort();
    assert_eq!(
        out,
        [
            "release.n: documented as string, answered as number",
            "release.roles[0].role.prominent: missing",
            "release.site: missing",
            "response_status: documented as array, answered as object",
        ]
    );
    out.clear();
    let empty = json!({"response_status": [], "release": {"roles": [], "n": "1"}});
    departures(&documented, &empty, "", &["release.roles"], &mut out);
    out.sort();
    assert_eq!(
        out,
        [
            "release.site: missing",
            "response_status: empty, documented with items"
        ]
    );
}

/// The demo data (releases 3, 4 and 10) and an administrator's key, as the
/// document's samples send it.
struct Examples {
    app: TestApp,
    auth: Auth,
}

impl Examples {
    async fn new() -> Examples {
        let app = TestApp::spawn_demo().await;
        let key = tollgate::identity::users::create_api_key(&app.db, "admin", "examples")
            .await
            .unwrap();
        Examples {
            app,
            auth: Auth::Header("authorization", format!("authtoken: {key}")),
        }
    }

    async fn get(&self, path: &str) -> TestResponse {
        let res = self.app.request("GET", path, &self.auth, None).await;
        assert_eq!(res.status, StatusCode::OK, "{path}: {}", res.text);
        res
    }

    async fn send(&self, method: &str, path: &str, input: Value) -> TestResponse {
        self.app
            .raw(
                method,
                path,
                &self.auth,
                Some(&v3_form(&input)),
                "application/x-www-form-urlencoded",
            )
            .await
    }

    async fn ok(&self, method: &str, path: &str, input: Value) -> TestResponse {
        let res = self.send(method, path, input).await;
        assert!(res.status.is_success(), "{method} {path}: {}", res.text);
        res
    }

    async fn list(&self, input: Value) -> TestResponse {
        self.get(&format!("/api/v3/releases?{}", v3_form(&input)))
            .await
    }
}

/// The add and edit examples answer assets and configuration items the
/// request does not name; a release added or edited without them has none.
const NO_ASSETS: &[&str] = &["release.assets", "release.configuration_items"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_add_example_answers_the_documented_shape() {
    let ex = Examples::new().await;
    let res = ex.ok("POST", "/api/v3/releases", documented_v3_add()).await;
    assert_documented_shape("add", &res, NO_ASSETS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_edit_example_moves_release_3_back_to_submission_as_documented() {
    let ex = Examples::new().await;
    // Release 3 is in Planning; the example sets Submission / Requested.
    let res = ex
        .ok("PUT", "/api/v3/releases/3", documented_v3_add())
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_documented_shape("edit", &res, NO_ASSETS);
    assert_eq!(res.body["release"]["stage"]["name"], "Submission");
    assert_eq!(res.body["release"]["status"]["name"], "Requested");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_get_example_answers_the_documented_shape() {
    let ex = Examples::new().await;
    let res = ex.get("/api/v3/releases/3").await;
    // Tollgate keeps no configuration items behind the assets.
    assert_documented_shape("get", &res, &["release.configuration_items"]);
    let r = &res.body["release"];
    assert_eq!(r["roles"][0]["role"]["prominent"], true);
    assert_eq!(r["roles"][0]["role"]["user_type"], "ALL");
    assert_eq!(r["roles"][1]["role"]["user_type"], "SGT");
    assert_eq!(
        r["roles"][0]["release"],
        json!({"id": "3", "title": "MSSQL Server service pack upgrade"})
    );
    assert_eq!(r["roles"][0]["user"]["phone"], "8888");
    assert_eq!(
        r["roles"][0]["user"]["profile_pic"],
        json!({"content-url": "/images/default-profile-pic2.svg"})
    );
    assert_eq!(r["release_type"]["pre_approved"], true);
    assert_eq!(r["stage"]["stage_index"], "2");
    assert_eq!(r["assets"][0]["name"], "mssql-01.example.com");
    assert_eq!(r["notes_present"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_example_answers_the_documented_shape() {
    let ex = Examples::new().await;
    let res = ex
        .list(json!({"list_info": {
            "row_count": 10, "start_index": 1,
            "fields_required": ["priority", "release_type", "scheduled_end_time", "category",
                "scheduled_start_time", "created_time", "completed_time", "title", "stage", "status",
                "notes_present", "emergency", "deleted_time"],
            "get_total_count": true,
            "sort_fields": [{"field": "id", "order": "desc"}],
            "search_criteria": {"field": "title", "value": "mssql", "condition": "contains"},
            "filter_by": {"name": "all_releases"}}}))
        .await;
    assert_documented_shape("list", &res, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_approval_summary_example_answers_the_documented_shape() {
    let ex = Examples::new().await;
    let res = ex
        .get("/api/v3/releases/3/approval_levels/approval_summary")
        .await;
    assert_documented_shape("approval_summary", &res, &[]);
    let submission = &res.body["approval_summary"][0];
    assert_eq!(submission["comments"], "Jump");
    assert!(submission["commented_on"].is_i64(), "{submission}");
    assert_eq!(submission["status"]["name"], "Accepted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_permissions_status_comments_and_summary_examples_answer_the_documented_shapes() {
    let ex = Examples::new().await;
    for (example, path) in [
        ("get_permissions", "/api/v3/releases/3/get_permissions"),
        ("status_comments", "/api/v3/releases/3/status_comments"),
        ("summary", "/api/v3/releases/3/summary"),
    ] {
        let res = ex.get(path).await;
        assert_documented_shape(example, &res, &[]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_example_answers_the_documented_shape() {
    let ex = Examples::new().await;
    // The example's history: added, an engineer assigned, trashed, restored.
    ex.ok(
        "PUT",
        "/api/v3/releases/assign?ids=3",
        json!({"release": {"release_engineer": {"name": "administrator"}}}),
    )
    .await;
    let res = ex
        .app
        .request(
            "DELETE",
            "/api/v3/releases/move_to_trash?ids=3",
            &ex.auth,
            None,
        )
        .await;
    assert_documented_shape("move_to_trash", &res, &[]);
    ex.ok(
        "PUT",
        "/api/v3/releases/restore_from_trash?ids=3",
        json!({}),
    )
    .await;
    let res = ex.get("/api/v3/releases/3/history").await;
    assert_documented_shape("history", &res, &[]);
    let operations: Vec<&str> = res.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["operation"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        operations,
        [
            "restore_from_trash",
            "move_to_trash",
            "release_to_release_role_add",
            "add"
        ]
    );
    let diff = &res.body["history"][2]["diff"];
    assert_eq!(diff[0]["current_value"]["name"], "administrator");
    assert_eq!(
        diff[2]["current_value"]["internal_name"],
        "release_engineer"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trash_examples_answer_the_documented_shapes() {
    let ex = Examples::new().await;
    let res = ex
        .app
        .request(
            "DELETE",
            "/api/v3/releases/move_to_trash?ids=4",
            &ex.auth,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let res = ex
        .ok(
            "PUT",
            "/api/v3/releases/restore_from_trash?ids=4",
            json!({}),
        )
        .await;
    assert_documented_shape("restore_from_trash", &res, &[]);
    ex.app
        .request(
            "DELETE",
            "/api/v3/releases/move_to_trash?ids=4",
            &ex.auth,
            None,
        )
        .await;
    let res = ex
        .app
        .request("DELETE", "/api/v3/releases/4", &ex.auth, None)
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_documented_shape("delete_from_trash", &res, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_assign_pickup_and_close_examples_answer_the_documented_shapes() {
    let ex = Examples::new().await;
    let res = ex
        .ok(
            "PUT",
            "/api/v3/releases/assign?ids=3",
            json!({"release": {"release_engineer": {"name": "heather graham"}}}),
        )
        .await;
    assert_documented_shape("assign", &res, &[]);
    let res = ex
        .ok("PUT", "/api/v3/releases/pickup?ids=10", json!({}))
        .await;
    assert_documented_shape("pickup", &res, &[]);
    let res = ex
        .ok(
            "PUT",
            "/api/v3/releases/10/close",
            json!({"status": "completed", "comment": "Release has been closed"}),
        )
        .await;
    assert_documented_shape("close", &res, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_may_forbid_moving_a_release_back() {
    let ex = Examples::new().await;
    let back = json!({"release": {"stage": {"name": "submission"}}});
    let prop = json!({"name": "sdp.release.forbid_stage_back", "value": "true"});
    let res = ex
        .app
        .request(
            "POST",
            "/api/now/table/sys_properties",
            &Auth::admin(),
            Some(prop),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let res = ex.send("PUT", "/api/v3/releases/3", back.clone()).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    let m = &res.body["response_status"]["messages"][0];
    assert_eq!(m["status_code"], 4001, "{}", res.text);
    assert_eq!(m["field"], "stage", "{}", res.text);
    // Forward still moves; and with the property false, back does too.
    ex.ok(
        "PUT",
        "/api/v3/releases/3",
        json!({"release": {"stage": {"name": "testing"}}}),
    )
    .await;
    let sys_id = res_sys_id(&ex).await;
    let res = ex
        .app
        .request(
            "PUT",
            &format!("/api/now/table/sys_properties/{sys_id}"),
            &Auth::admin(),
            Some(json!({"value": "false"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let res = ex.ok("PUT", "/api/v3/releases/3", back).await;
    assert_eq!(res.body["release"]["stage"]["name"], "Submission");
}

async fn res_sys_id(ex: &Examples) -> String {
    let res = ex
        .app
        .request(
            "GET",
            "/api/now/table/sys_properties?sysparm_query=name%3Dsdp.release.forbid_stage_back",
            &Auth::admin(),
            None,
        )
        .await;
    res.body["result"][0]["sys_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", res.text))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_present_tells_whether_the_release_has_notes() {
    let ex = Examples::new().await;
    let listed = |res: &TestResponse, id: &str| -> Value {
        res.body["releases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .map(|r| r["notes_present"].clone())
            .unwrap_or_else(|| panic!("{id} not listed: {}", res.text))
    };
    let query = json!({"list_info": {"row_count": 10}});
    assert_eq!(listed(&ex.list(query.clone()).await, "3"), false);
    ex.ok(
        "POST",
        "/api/v3/releases/3/notes",
        json!({"note": {"description": "Call the DBA first"}}),
    )
    .await;
    let got = ex.get("/api/v3/releases/3").await;
    assert_eq!(got.body["release"]["notes_present"], true);
    let list = ex.list(query).await;
    assert_eq!(listed(&list, "3"), true);
    assert_eq!(listed(&list, "4"), false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_required_narrows_the_list_items() {
    let ex = Examples::new().await;
    let res = ex
        .list(json!({"list_info": {"fields_required": ["title", "description"]}}))
        .await;
    let item = res.body["releases"][0].as_object().unwrap();
    let mut keys: Vec<&str> = item.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "description",
            "group",
            "id",
            "impact",
            "item",
            "next_review_on",
            "risk",
            "subcategory",
            "template",
            "title",
            "urgency"
        ]
    );
    // Without fields_required, the list view's own fields.
    let res = ex.list(json!({"list_info": {}})).await;
    assert!(res.body["releases"][0].get("status").is_some());
    assert!(res.body["releases"][0].get("description").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_are_set_on_add_and_edit_and_unknown_ones_are_refused() {
    let ex = Examples::new().await;
    let res = ex
        .ok(
            "POST",
            "/api/v3/assets",
            json!({"asset": {"name": "exchange-02.example.com"}}),
        )
        .await;
    let asset = res.body["asset"]["id"].as_str().unwrap().to_owned();
    let mut add = documented_v3_add();
    add["release"]["assets"] = json!([{"name": "mssql-01.example.com"}]);
    let res = ex.ok("POST", "/api/v3/releases", add).await;
    assert_documented_shape("add", &res, &["release.configuration_items"]);
    let id = res.body["release"]["id"].as_str().unwrap().to_owned();
    assert_eq!(res.body["release"]["assets"][0]["id"], "1");
    let res = ex
        .ok(
            "PUT",
            &format!("/api/v3/releases/{id}"),
            json!({"release": {"assets": [{"id": asset}]}}),
        )
        .await;
    let names: Vec<&str> = res.body["release"]["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["exchange-02.example.com"]);
    let res = ex
        .send(
            "PUT",
            &format!("/api/v3/releases/{id}"),
            json!({"release": {"assets": [{"name": "nowhere"}]}}),
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    assert_eq!(
        res.body["response_status"]["messages"][0]["field"],
        "assets[0]"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subcategories_and_items_must_belong_to_their_parents() {
    let ex = Examples::new().await;
    let refused = |res: &TestResponse, field: &str| {
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
        let m = &res.body["response_status"]["messages"][0];
        assert_eq!(m["status_code"], 4001, "{}", res.text);
        assert_eq!(m["field"], field, "{}", res.text);
    };
    // Release 3: Software / IE 7 / Install.
    let res = ex
        .send(
            "PUT",
            "/api/v3/releases/3",
            json!({"release": {"category": {"name": "Hardware"}}}),
        )
        .await;
    refused(&res, "subcategory");
    // An item under another subcategory.
    let res = ex
        .ok(
            "POST",
            "/api/v3/items",
            json!({"item": {"name": "Activate", "subcategory": {"id": "8"}}}),
        )
        .await;
    let other_item = res.body["item"]["id"].as_str().unwrap().to_owned();
    let res = ex
        .send(
            "PUT",
            "/api/v3/releases/3",
            json!({"release": {"item": {"id": other_item}}}),
        )
        .await;
    refused(&res, "item");
    // Moving the three together is fine.
    let res = ex
        .ok(
            "PUT",
            "/api/v3/releases/3",
            json!({"release": {"subcategory": {"name": "MS Office"}, "item": {"name": "Activate"}}}),
        )
        .await;
    assert_eq!(res.body["release"]["item"]["name"], "Activate");
    // A name that repeats under several parents picks the one under the
    // release's parent.
    ex.ok(
        "POST",
        "/api/v3/items",
        json!({"item": {"name": "Install", "subcategory": {"id": "8"}}}),
    )
    .await;
    let res = ex
        .ok(
            "PUT",
            "/api/v3/releases/3",
            json!({"release": {"item": {"name": "install"}}}),
        )
        .await;
    assert_ne!(res.body["release"]["item"]["id"], "6", "{}", res.text);
    assert_eq!(res.body["release"]["item"]["name"], "Install");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_types_are_pre_approved_or_not() {
    let ex = Examples::new().await;
    let res = ex
        .ok(
            "POST",
            "/api/v3/release_types",
            json!({"release_type": {"name": "Routine", "pre_approved": true}}),
        )
        .await;
    assert_eq!(
        res.body["release_type"]["pre_approved"], true,
        "{}",
        res.text
    );
    let id = res.body["release_type"]["id"].as_str().unwrap().to_owned();
    let res = ex
        .ok(
            "PUT",
            &format!("/api/v3/release_types/{id}"),
            json!({"release_type": {"pre_approved": false}}),
        )
        .await;
    assert_eq!(
        res.body["release_type"]["pre_approved"], false,
        "{}",
        res.text
    );
    let minor = ex.get("/api/v3/release_types/2").await;
    assert_eq!(minor.body["release_type"]["pre_approved"], false);
    let res = ex
        .send(
            "POST",
            "/api/v3/priorities",
            json!({"priority": {"name": "Odd", "pre_approved": true}}),
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    assert_eq!(
        res.body["response_status"]["messages"][0]["field"],
        "pre_approved"
    );
}
