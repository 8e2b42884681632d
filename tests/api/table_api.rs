//! The Table API: `/api/now[/{api_version}]/table/{table}[/{sys_id}]`.
//!
//! The tests run on a multi-thread runtime: the harness drops a test's
//! PostgreSQL schema from `Drop`, blocking the test's thread, and a
//! connection a failed write left in a transaction is rolled back by a task
//! that needs another thread to run (on one thread the drop waits forever).

use std::collections::HashSet;
use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::{json, Value as Json};
use tokio::task::JoinSet;

use tollgate::demo::{ADMIN_ID, CALENDAR_ID, RELEASE_MANAGER_ID, SCHEDULE_ID};
use tollgate::storage::Value;

use crate::helpers::{Auth, TestApp, TestResponse};

/// The base URL the harness's `Host` header gives links.
const BASE: &str = "http://tollgate.test";
/// A well-formed sys_id that names no record.
const NO_SUCH_ID: &str = "0123456789abcdef0123456789abcdef";

fn is_sys_id(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `YYYY-MM-DD hh:mm:ss`.
fn is_date_time(s: &str) -> bool {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").is_ok()
}

/// The path and query of an absolute link the server gave.
fn path_of(link: &str) -> &str {
    link.strip_prefix(BASE)
        .unwrap_or_else(|| panic!("{link:?} does not start with {BASE}"))
}

fn error_message(res: &TestResponse) -> &str {
    res.body["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no error.message in {}", res.text))
}

/// Asserts a ServiceNow failure envelope with `status` whose message names `word`.
fn assert_failure_naming(res: &TestResponse, status: StatusCode, word: &str) {
    assert_eq!(res.status, status, "{}", res.text);
    assert_eq!(res.body["status"], "failure", "{}", res.text);
    let message = error_message(res);
    assert!(
        message.contains(word),
        "message {message:?} should name {word:?}"
    );
}

/// The `name` of every record of a list answer, in order.
fn names(res: &TestResponse) -> Vec<String> {
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    res.body["result"]
        .as_array()
        .unwrap_or_else(|| panic!("no result array in {}", res.text))
        .iter()
        .map(|r| r["name"].as_str().expect("name is a string").to_owned())
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

async fn create(app: &TestApp, table: &str, body: Json) -> Json {
    let res = app.post(&format!("/api/now/table/{table}"), body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    res.body["result"].clone()
}

async fn create_schedule(
    app: &TestApp,
    name: &str,
    ty: &str,
    description: &str,
    time_zone: &str,
) -> String {
    let record = create(
        app,
        "cmn_schedule",
        json!({"name": name, "type": ty, "description": description, "time_zone": time_zone}),
    )
    .await;
    record["sys_id"].as_str().unwrap().to_owned()
}

/// Four schedules the query tests filter and sort.
async fn schedules(app: &TestApp) {
    create_schedule(app, "Alpha freeze", "blackout", "Quarter end", "UTC").await;
    create_schedule(app, "Beta window", "maintenance", "", "Europe/Paris").await;
    create_schedule(app, "Gamma holiday", "holiday", "", "UTC").await;
    create_schedule(
        app,
        "Delta patch",
        "maintenance",
        "Monthly patching",
        "America/New_York",
    )
    .await;
}

async fn query(app: &TestApp, encoded: &str) -> Vec<String> {
    let q = percent_encoding::utf8_percent_encode(encoded, percent_encoding::NON_ALPHANUMERIC);
    let res = app
        .get(&format!(
            "/api/now/table/cmn_schedule?sysparm_query={q}&sysparm_fields=name"
        ))
        .await;
    names(&res)
}

fn target_body() -> Json {
    json!({"name": "Sprint 12 readiness", "release_calendar": CALENDAR_ID, "target_date": "2025-12-01"})
}

async fn user_id(app: &TestApp, user_name: &str) -> String {
    app.db
        .fetch_optional(
            "SELECT sys_id FROM sys_user WHERE user_name = $1",
            &[Value::from(user_name)],
        )
        .await
        .unwrap()
        .expect("user exists")
        .string("sys_id")
}

async fn roles_of(app: &TestApp, user_id: &str) -> i64 {
    app.db
        .fetch_optional(
            "SELECT COUNT(*) AS n FROM sys_user_has_role WHERE \"user\" = $1",
            &[Value::from(user_id)],
        )
        .await
        .unwrap()
        .and_then(|r| r.int("n"))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_answers_201_with_location_and_server_set_system_fields() {
    let app = TestApp::spawn().await;
    let res = app
        .post(
            "/api/now/table/cmn_schedule",
            json!({
                "name": "Release freeze",
                "type": "blackout",
                "time_zone": "Europe/Paris",
                "sys_created_on": "1999-01-01 00:00:00",
                "sys_created_by": "mallory",
                "sys_updated_by": "mallory",
                "sys_mod_count": "42",
            }),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let record = &res.body["result"];
    let sys_id = record["sys_id"].as_str().expect("sys_id is a string");
    assert!(is_sys_id(sys_id), "{sys_id}");
    assert_eq!(record["name"], "Release freeze");
    assert_eq!(record["type"], "blackout");
    assert_eq!(record["description"], "", "unset fields are empty strings");
    assert_eq!(record["sys_created_by"], "admin");
    assert_eq!(record["sys_updated_by"], "admin");
    assert_eq!(record["sys_mod_count"], "0");
    let created_on = record["sys_created_on"].as_str().unwrap();
    assert!(is_date_time(created_on), "{created_on}");
    assert_ne!(created_on, "1999-01-01 00:00:00");
    assert_eq!(record["sys_updated_on"], record["sys_created_on"]);
    for (field, value) in record.as_object().unwrap() {
        assert!(
            value.is_string(),
            "{field} is {value}: every value is a string"
        );
    }
    assert_eq!(
        res.header("location"),
        Some(format!("{BASE}/api/now/table/cmn_schedule/{sys_id}").as_str())
    );
    let stored = app
        .db
        .fetch_optional(
            "SELECT sys_created_by, sys_mod_count FROM cmn_schedule WHERE sys_id = $1",
            &[Value::from(sys_id)],
        )
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(stored.string("sys_created_by"), "admin");
    assert_eq!(stored.int("sys_mod_count"), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_location_of_a_created_record_reads_it_back() {
    let app = TestApp::spawn().await;
    let res = app
        .post(
            "/api/now/table/cmn_schedule",
            json!({"name": "Weekend window"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let location = res.header("location").expect("Location header").to_owned();
    let read = app.get(path_of(&location)).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    assert_eq!(read.body["result"], res.body["result"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_one_record_returns_it_in_a_result_envelope() {
    let app = TestApp::spawn_demo().await;
    let res = app
        .get(&format!("/api/now/table/cmn_schedule/{SCHEDULE_ID}"))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let record = &res.body["result"];
    assert_eq!(record["sys_id"], SCHEDULE_ID);
    assert_eq!(record["name"], "Q4 2025 change blackout");
    assert_eq!(record["time_zone"], "America/New_York");
    assert_eq!(record["type"], "blackout");
    assert_eq!(record["sys_created_by"], "demo");

    let calendar = app
        .get(&format!(
            "/api/now/table/sn_dpr_model_release_calendar/{CALENDAR_ID}"
        ))
        .await;
    assert_eq!(calendar.status, StatusCode::OK, "{}", calendar.text);
    assert_eq!(
        calendar.body["result"]["active"], "true",
        "booleans are strings"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_versioned_path_is_the_same_endpoint() {
    let app = TestApp::spawn().await;
    let res = app
        .post(
            "/api/now/v1/table/cmn_schedule",
            json!({"name": "Versioned"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let sys_id = res.body["result"]["sys_id"].as_str().unwrap().to_owned();

    let one = app
        .get(&format!("/api/now/v1/table/cmn_schedule/{sys_id}"))
        .await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert_eq!(one.body["result"]["name"], "Versioned");
    let plain = app
        .get(&format!("/api/now/table/cmn_schedule/{sys_id}"))
        .await;
    assert_eq!(plain.body["result"], one.body["result"]);

    let list = app.get("/api/now/v2/table/cmn_schedule").await;
    assert_eq!(names(&list), vec!["Versioned".to_owned()]);

    let patched = app
        .request(
            "PATCH",
            &format!("/api/now/v1/table/cmn_schedule/{sys_id}"),
            &Auth::admin(),
            Some(json!({"description": "v1"})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!(patched.body["result"]["description"], "v1");

    let deleted = app
        .request(
            "DELETE",
            &format!("/api/now/v1/table/cmn_schedule/{sys_id}"),
            &Auth::admin(),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    assert_eq!(app.count("cmn_schedule").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_updates_the_given_fields_and_counts_the_modification() {
    let app = TestApp::spawn().await;
    let editor = app
        .user("cal.editor", &["sn_dpr_model.release_calendar_admin"])
        .await;
    let sys_id = create_schedule(&app, "Freeze", "blackout", "Before", "UTC").await;
    let before = app
        .get(&format!("/api/now/table/cmn_schedule/{sys_id}"))
        .await
        .body["result"]
        .clone();

    let res = app
        .request(
            "PUT",
            &format!("/api/now/table/cmn_schedule/{sys_id}"),
            &editor,
            Some(json!({"description": "After", "sys_mod_count": "9"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let record = &res.body["result"];
    assert_eq!(record["description"], "After");
    assert_eq!(
        record["name"], "Freeze",
        "fields not in the body keep their values"
    );
    assert_eq!(record["type"], "blackout");
    assert_eq!(record["sys_mod_count"], "1");
    assert_eq!(record["sys_updated_by"], "cal.editor");
    assert_eq!(record["sys_created_by"], "admin");
    assert_eq!(record["sys_created_on"], before["sys_created_on"]);
    assert!(is_date_time(record["sys_updated_on"].as_str().unwrap()));
    assert!(record["sys_updated_on"].as_str() >= before["sys_updated_on"].as_str());

    let read = app
        .get(&format!("/api/now/table/cmn_schedule/{sys_id}"))
        .await;
    assert_eq!(
        read.body["result"], *record,
        "the answer is the stored record"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_updates_the_given_fields_and_counts_each_modification() {
    let app = TestApp::spawn().await;
    let editor = app
        .user("cal.editor", &["sn_dpr_model.release_calendar_admin"])
        .await;
    let sys_id = create_schedule(&app, "Window", "maintenance", "", "UTC").await;
    let path = format!("/api/now/table/cmn_schedule/{sys_id}");

    let first = app
        .request("PATCH", &path, &editor, Some(json!({"type": "holiday"})))
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.body["result"]["type"], "holiday");
    assert_eq!(first.body["result"]["name"], "Window");
    assert_eq!(first.body["result"]["sys_mod_count"], "1");
    assert_eq!(first.body["result"]["sys_updated_by"], "cal.editor");

    let second = app
        .request(
            "PATCH",
            &path,
            &Auth::admin(),
            Some(json!({"name": "Renamed"})),
        )
        .await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text);
    assert_eq!(second.body["result"]["name"], "Renamed");
    assert_eq!(second.body["result"]["type"], "holiday");
    assert_eq!(second.body["result"]["sys_mod_count"], "2");
    assert_eq!(second.body["result"]["sys_updated_by"], "admin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updating_a_missing_record_is_404() {
    let app = TestApp::spawn().await;
    for method in ["PUT", "PATCH"] {
        let res = app
            .request(
                method,
                &format!("/api/now/table/cmn_schedule/{NO_SUCH_ID}"),
                &Auth::admin(),
                Some(json!({"name": "x"})),
            )
            .await;
        assert_failure_naming(&res, StatusCode::NOT_FOUND, "No Record found");
    }
    assert_eq!(
        app.count("cmn_schedule").await,
        0,
        "an update never creates"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_read_back_can_be_written_back_unchanged() {
    let app = TestApp::spawn_demo().await;
    let created = create(&app, "sn_dpr_model_release_target", target_body()).await;
    let sys_id = created["sys_id"].as_str().unwrap();
    assert_eq!(created["release_calendar"]["value"], CALENDAR_ID);
    let res = app
        .request(
            "PUT",
            &format!("/api/now/table/sn_dpr_model_release_target/{sys_id}"),
            &Auth::admin(),
            Some(created.clone()),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(
        res.body["result"]["release_calendar"],
        created["release_calendar"]
    );
    assert_eq!(res.body["result"]["name"], created["name"]);
    assert_eq!(res.body["result"]["sys_mod_count"], "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_answers_204_and_the_record_is_then_not_found() {
    let app = TestApp::spawn().await;
    let sys_id = create_schedule(&app, "Short lived", "holiday", "", "UTC").await;
    let path = format!("/api/now/table/cmn_schedule/{sys_id}");

    let res = app.request("DELETE", &path, &Auth::admin(), None).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text);
    assert!(res.text.is_empty(), "no body: {:?}", res.text);
    assert_eq!(app.count("cmn_schedule").await, 0);

    let read = app.get(&path).await;
    assert_eq!(read.status, StatusCode::NOT_FOUND, "{}", read.text);
    assert_eq!(read.body["error"]["message"], "No Record found");
    assert!(read.body["error"]["detail"].is_string(), "{}", read.text);
    assert_eq!(read.body["status"], "failure");
    assert_eq!(
        read.body.as_object().unwrap().len(),
        2,
        "only error and status: {}",
        read.text
    );
    assert_eq!(
        read.body["error"].as_object().unwrap().len(),
        2,
        "only message and detail: {}",
        read.text
    );

    let again = app.request("DELETE", &path, &Auth::admin(), None).await;
    assert_failure_naming(&again, StatusCode::NOT_FOUND, "No Record found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_malformed_sys_id_is_404_no_record_found() {
    let app = TestApp::spawn().await;
    for id in [
        NO_SUCH_ID,
        "not-a-sys-id",
        "ABCDEF0123456789ABCDEF0123456789",
    ] {
        let res = app.get(&format!("/api/now/table/sys_user/{id}")).await;
        assert_failure_naming(&res, StatusCode::NOT_FOUND, "No Record found");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_filters_with_equals_and_not_equals() {
    let app = TestApp::spawn().await;
    schedules(&app).await;
    assert_eq!(
        sorted(query(&app, "type=maintenance").await),
        ["Beta window", "Delta patch"]
    );
    assert_eq!(
        sorted(query(&app, "type!=maintenance").await),
        ["Alpha freeze", "Gamma holiday"]
    );
    assert_eq!(
        query(&app, "time_zone=UTC^type=holiday").await,
        ["Gamma holiday"],
        "^ is AND"
    );
    assert!(query(&app, "type=excluded").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_filters_with_like_and_startswith() {
    let app = TestApp::spawn().await;
    schedules(&app).await;
    assert_eq!(query(&app, "nameLIKEwin").await, ["Beta window"]);
    assert_eq!(
        sorted(query(&app, "descriptionLIKEend^ORnameLIKEpat").await),
        ["Alpha freeze", "Delta patch"]
    );
    assert_eq!(
        query(&app, "nameLIKEFREEZE").await,
        ["Alpha freeze"],
        "LIKE ignores case"
    );
    assert_eq!(query(&app, "nameSTARTSWITHGam").await, ["Gamma holiday"]);
    assert!(
        query(&app, "nameSTARTSWITHwindow").await.is_empty(),
        "STARTSWITH anchors at the start"
    );
    assert_eq!(query(&app, "nameENDSWITHpatch").await, ["Delta patch"]);
    assert_eq!(
        sorted(query(&app, "nameNOT LIKEfreeze").await),
        ["Beta window", "Delta patch", "Gamma holiday"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_filters_with_in_and_isempty() {
    let app = TestApp::spawn().await;
    schedules(&app).await;
    assert_eq!(
        sorted(query(&app, "typeINblackout,holiday").await),
        ["Alpha freeze", "Gamma holiday"]
    );
    assert_eq!(
        sorted(query(&app, "typeNOT INblackout,holiday").await),
        ["Beta window", "Delta patch"]
    );
    assert_eq!(
        sorted(query(&app, "descriptionISEMPTY").await),
        ["Beta window", "Gamma holiday"]
    );
    assert_eq!(
        sorted(query(&app, "descriptionISNOTEMPTY").await),
        ["Alpha freeze", "Delta patch"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_combines_or_and_new_query_groups() {
    let app = TestApp::spawn().await;
    schedules(&app).await;
    assert_eq!(
        sorted(query(&app, "type=blackout^ORtype=holiday").await),
        ["Alpha freeze", "Gamma holiday"]
    );
    // (type=maintenance OR type=holiday) AND time_zone=UTC
    assert_eq!(
        query(&app, "type=maintenance^ORtype=holiday^time_zone=UTC").await,
        ["Gamma holiday"]
    );
    assert_eq!(
        sorted(query(&app, "type=blackout^NQtime_zone=Europe/Paris").await),
        ["Alpha freeze", "Beta window"]
    );
    assert_eq!(
        sorted(query(&app, "type=holiday^time_zone=UTC^NQnameSTARTSWITHDelta").await),
        ["Delta patch", "Gamma holiday"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_sorts_with_orderby_and_orderbydesc() {
    let app = TestApp::spawn().await;
    schedules(&app).await;
    assert_eq!(
        query(&app, "ORDERBYname").await,
        [
            "Alpha freeze",
            "Beta window",
            "Delta patch",
            "Gamma holiday"
        ]
    );
    assert_eq!(
        query(&app, "ORDERBYDESCname").await,
        [
            "Gamma holiday",
            "Delta patch",
            "Beta window",
            "Alpha freeze"
        ]
    );
    assert_eq!(
        query(&app, "ORDERBYtype^ORDERBYDESCname").await,
        [
            "Alpha freeze",
            "Gamma holiday",
            "Delta patch",
            "Beta window"
        ],
        "blackout, holiday, then maintenance newest name first"
    );
    assert_eq!(
        query(&app, "type=maintenance^ORDERBYDESCname").await,
        ["Delta patch", "Beta window"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sysparm_fields_limits_the_fields_shown() {
    let app = TestApp::spawn().await;
    let sys_id = create_schedule(&app, "Freeze", "blackout", "d", "UTC").await;
    let list = app
        .get("/api/now/table/cmn_schedule?sysparm_fields=name,type,no_such_field")
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert_eq!(
        list.body["result"],
        json!([{"name": "Freeze", "type": "blackout"}]),
        "unknown fields are ignored"
    );

    let one = app
        .get(&format!(
            "/api/now/table/cmn_schedule/{sys_id}?sysparm_fields=sys_id,description"
        ))
        .await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert_eq!(
        one.body["result"],
        json!({"sys_id": sys_id, "description": "d"})
    );
}

fn links(res: &TestResponse) -> Vec<(String, String)> {
    let header = res
        .header("link")
        .unwrap_or_else(|| panic!("no Link header: {:?}", res.headers));
    header
        .split(',')
        .map(|part| {
            let (url, rel) = part.split_once(';').expect("<url>;rel=...");
            let url = url
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned();
            let rel = rel
                .trim()
                .trim_start_matches("rel=")
                .trim_matches('"')
                .to_owned();
            (rel, url)
        })
        .collect()
}

fn link<'a>(links: &'a [(String, String)], rel: &str) -> Option<&'a str> {
    links
        .iter()
        .find(|(r, _)| r == rel)
        .map(|(_, u)| u.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limit_and_offset_page_with_total_count_and_link_headers() {
    let app = TestApp::spawn().await;
    for i in 1..=5 {
        create_schedule(&app, &format!("Window {i}"), "maintenance", "", "UTC").await;
    }
    let base = "/api/now/table/cmn_schedule?sysparm_query=ORDERBYname&sysparm_fields=name";

    let first = app.get(&format!("{base}&sysparm_limit=2")).await;
    assert_eq!(names(&first), ["Window 1", "Window 2"]);
    assert_eq!(first.header("x-total-count"), Some("5"));
    let l = links(&first);
    assert!(link(&l, "first").is_some(), "{l:?}");
    assert!(
        link(&l, "prev").is_none(),
        "no prev on the first page: {l:?}"
    );
    assert!(
        link(&l, "next").unwrap().contains("sysparm_offset=2"),
        "{l:?}"
    );
    assert!(
        link(&l, "last").unwrap().contains("sysparm_offset=4"),
        "{l:?}"
    );

    let middle = app
        .get(&format!("{base}&sysparm_limit=2&sysparm_offset=2"))
        .await;
    assert_eq!(names(&middle), ["Window 3", "Window 4"]);
    assert_eq!(
        middle.header("x-total-count"),
        Some("5"),
        "the total ignores paging"
    );
    let l = links(&middle);
    let prev = link(&l, "prev").expect("prev");
    assert!(prev.contains("sysparm_offset=0"), "{prev}");
    assert_eq!(
        names(&app.get(path_of(prev)).await),
        ["Window 1", "Window 2"]
    );
    let next = link(&l, "next").expect("next");
    assert_eq!(
        names(&app.get(path_of(next)).await),
        ["Window 5"],
        "the next link keeps the query, fields and limit"
    );
    let last = link(&l, "last").expect("last");
    assert_eq!(names(&app.get(path_of(last)).await), ["Window 5"]);

    let end = app
        .get(&format!("{base}&sysparm_limit=2&sysparm_offset=4"))
        .await;
    assert_eq!(names(&end), ["Window 5"]);
    let l = links(&end);
    assert!(
        link(&l, "next").is_none(),
        "no next on the last page: {l:?}"
    );
    assert!(link(&l, "prev").is_some(), "{l:?}");

    let filtered = app
        .get(
            "/api/now/table/cmn_schedule?sysparm_query=nameINWindow%201,Window%202&sysparm_limit=1",
        )
        .await;
    assert_eq!(filtered.status, StatusCode::OK, "{}", filtered.text);
    assert_eq!(
        filtered.header("x-total-count"),
        Some("2"),
        "the total counts what the query matches"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_limit_or_offset_is_400_naming_it() {
    let app = TestApp::spawn().await;
    let res = app
        .get("/api/now/table/cmn_schedule?sysparm_limit=abc")
        .await;
    assert_failure_naming(&res, StatusCode::BAD_REQUEST, "sysparm_limit");
    let res = app
        .get("/api/now/table/cmn_schedule?sysparm_offset=-1")
        .await;
    assert_failure_naming(&res, StatusCode::BAD_REQUEST, "sysparm_offset");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_fields_render_as_link_and_value_and_the_link_resolves() {
    let app = TestApp::spawn_demo().await;
    let res = app
        .get(&format!(
            "/api/now/table/sn_dpr_model_release_calendar/{CALENDAR_ID}"
        ))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let admin = &res.body["result"]["release_admin"];
    assert_eq!(
        *admin,
        json!({"link": format!("{BASE}/api/now/table/sys_user/{RELEASE_MANAGER_ID}"), "value": RELEASE_MANAGER_ID})
    );
    let user = app.get(path_of(admin["link"].as_str().unwrap())).await;
    assert_eq!(user.status, StatusCode::OK, "{}", user.text);
    assert_eq!(user.body["result"]["sys_id"], RELEASE_MANAGER_ID);
    assert_eq!(user.body["result"]["user_name"], "release.manager");

    let list = app
        .get("/api/now/table/sn_dpr_model_release_calendar")
        .await;
    assert_eq!(
        list.body["result"][0]["release_admin"], *admin,
        "lists render references the same way"
    );

    let public = TestApp::spawn_demo_with(
        tollgate::config::Settings {
            public_url: Some("https://tollgate.example.com/".into()),
            ..crate::helpers::test_settings()
        },
        tollgate::jobs::JobRegistry::new(),
    )
    .await;
    let res = public
        .get(&format!(
            "/api/now/table/sn_dpr_model_release_calendar/{CALENDAR_ID}"
        ))
        .await;
    assert_eq!(
        res.body["result"]["release_admin"]["link"],
        format!("https://tollgate.example.com/api/now/table/sys_user/{RELEASE_MANAGER_ID}"),
        "links use the configured public URL"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn display_value_true_shows_reference_and_choice_display_values() {
    let app = TestApp::spawn_demo().await;
    let res = app
        .get(&format!(
            "/api/now/table/sn_dpr_model_release_calendar/{CALENDAR_ID}?sysparm_display_value=true"
        ))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let record = &res.body["result"];
    assert_eq!(
        record["release_admin"],
        json!({"display_value": "Rita Release", "link": format!("{BASE}/api/now/table/sys_user/{RELEASE_MANAGER_ID}")})
    );
    assert_eq!(
        record["schedules"], "Q4 2025 change blackout",
        "a list shows its records' display values"
    );
    assert_eq!(record["name"], "Enterprise release calendar");

    let schedule = app
        .get(&format!(
            "/api/now/table/cmn_schedule/{SCHEDULE_ID}?sysparm_display_value=true"
        ))
        .await;
    assert_eq!(
        schedule.body["result"]["type"], "Blackout",
        "a choice shows its label"
    );

    let list = app
        .get("/api/now/table/cmn_schedule?sysparm_display_value=true")
        .await;
    assert_eq!(list.body["result"][0]["type"], "Blackout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn display_value_all_shows_both_values() {
    let app = TestApp::spawn_demo().await;
    let res = app
        .get(&format!(
            "/api/now/table/sn_dpr_model_release_calendar/{CALENDAR_ID}?sysparm_display_value=all"
        ))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let record = &res.body["result"];
    assert_eq!(
        record["release_admin"],
        json!({
            "display_value": "Rita Release",
            "value": RELEASE_MANAGER_ID,
            "link": format!("{BASE}/api/now/table/sys_user/{RELEASE_MANAGER_ID}"),
        })
    );
    assert_eq!(
        record["name"],
        json!({"display_value": "Enterprise release calendar", "value": "Enterprise release calendar"})
    );

    let schedule = app
        .get(&format!(
            "/api/now/table/cmn_schedule/{SCHEDULE_ID}?sysparm_display_value=all"
        ))
        .await;
    assert_eq!(
        schedule.body["result"]["type"],
        json!({"display_value": "Blackout", "value": "blackout"})
    );

    let bad = app
        .get("/api/now/table/cmn_schedule?sysparm_display_value=maybe")
        .await;
    assert_failure_naming(&bad, StatusCode::BAD_REQUEST, "sysparm_display_value");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exclude_reference_link_drops_the_links() {
    let app = TestApp::spawn_demo().await;
    let path = format!("/api/now/table/sn_dpr_model_release_calendar/{CALENDAR_ID}");
    let res = app
        .get(&format!("{path}?sysparm_exclude_reference_link=true"))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.body["result"]["release_admin"], RELEASE_MANAGER_ID);

    let display = app
        .get(&format!(
            "{path}?sysparm_exclude_reference_link=true&sysparm_display_value=true"
        ))
        .await;
    assert_eq!(display.body["result"]["release_admin"], "Rita Release");

    let all = app
        .get(&format!(
            "{path}?sysparm_exclude_reference_link=true&sysparm_display_value=all"
        ))
        .await;
    assert_eq!(
        all.body["result"]["release_admin"],
        json!({"display_value": "Rita Release", "value": RELEASE_MANAGER_ID})
    );

    let kept = app
        .get(&format!("{path}?sysparm_exclude_reference_link=false"))
        .await;
    assert!(
        kept.body["result"]["release_admin"]["link"].is_string(),
        "{}",
        kept.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_table_is_400_naming_it() {
    let app = TestApp::spawn().await;
    let res = app.get("/api/now/table/no_such_table").await;
    assert_failure_naming(&res, StatusCode::BAD_REQUEST, "no_such_table");
    let res = app
        .get(&format!("/api/now/table/no_such_table/{NO_SUCH_ID}"))
        .await;
    assert_failure_naming(&res, StatusCode::BAD_REQUEST, "no_such_table");
    let res = app
        .post("/api/now/table/no_such_table", json!({"name": "x"}))
        .await;
    assert_failure_naming(&res, StatusCode::BAD_REQUEST, "no_such_table");
    let res = app.get("/api/now/table/tollgate_api_key").await;
    assert_failure_naming(&res, StatusCode::BAD_REQUEST, "tollgate_api_key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reference_to_a_missing_record_is_refused_naming_the_field_and_nothing_is_written() {
    let app = TestApp::spawn_demo().await;
    let targets = app.count("sn_dpr_model_release_target").await;
    let mut body = target_body();
    body["release_calendar"] = json!(NO_SUCH_ID);
    let res = app
        .post("/api/now/table/sn_dpr_model_release_target", body)
        .await;
    assert_failure_naming(&res, StatusCode::BAD_REQUEST, "release_calendar");
    assert_eq!(app.count("sn_dpr_model_release_target").await, targets);

    let calendars = app.count("sn_dpr_model_release_calendar").await;
    let res = app
        .post(
            "/api/now/table/sn_dpr_model_release_calendar",
            json!({"name": "Cal", "release_admin": RELEASE_MANAGER_ID, "schedules": format!("{SCHEDULE_ID},{NO_SUCH_ID}")}),
        )
        .await;
    assert_failure_naming(&res, StatusCode::BAD_REQUEST, "schedules");
    assert_eq!(app.count("sn_dpr_model_release_calendar").await, calendars);

    let res = app
        .post(
            "/api/now/table/sn_dpr_model_release_calendar",
            json!({"name": "Cal", "release_admin": "bob"}),
        )
        .await;
    assert_failure_naming(&res, StatusCode::BAD_REQUEST, "release_admin");

    let res = app
        .request(
            "PATCH",
            &format!("/api/now/table/sn_dpr_model_release_calendar/{CALENDAR_ID}"),
            &Auth::admin(),
            Some(json!({"release_admin": NO_SUCH_ID})),
        )
        .await;
    assert_failure_naming(&res, StatusCode::BAD_REQUEST, "release_admin");
    let read = app
        .get(&format!(
            "/api/now/table/sn_dpr_model_release_calendar/{CALENDAR_ID}"
        ))
        .await;
    assert_eq!(
        read.body["result"]["release_admin"]["value"], RELEASE_MANAGER_ID,
        "the update was not applied"
    );
    assert_eq!(read.body["result"]["sys_mod_count"], "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_of_the_wrong_type_is_400_naming_the_field() {
    let app = TestApp::spawn_demo().await;
    let users = app.count("sys_user").await;
    let res = app
        .post(
            "/api/now/table/sys_user",
            json!({"user_name": "typo", "active": {"x": 1}}),
        )
        .await;
    assert_failure_naming(&res, StatusCode::BAD_REQUEST, "active");
    assert_eq!(app.count("sys_user").await, users);

    let targets = app.count("sn_dpr_model_release_target").await;
    let mut body = target_body();
    body["repeat_every"] = json!("abc");
    let res = app
        .post("/api/now/table/sn_dpr_model_release_target", body)
        .await;
    assert_failure_naming(&res, StatusCode::BAD_REQUEST, "repeat_every");
    let mut body = target_body();
    body["target_date"] = json!("01/12/2025");
    let res = app
        .post("/api/now/table/sn_dpr_model_release_target", body)
        .await;
    assert_failure_naming(&res, StatusCode::BAD_REQUEST, "target_date");
    let mut body = target_body();
    body["repeat_type"] = json!("fortnightly");
    let res = app
        .post("/api/now/table/sn_dpr_model_release_target", body)
        .await;
    assert_failure_naming(&res, StatusCode::BAD_REQUEST, "repeat_type");
    assert_eq!(app.count("sn_dpr_model_release_target").await, targets);

    let mut body = target_body();
    body["repeat_every"] = json!("2");
    let ok = create(&app, "sn_dpr_model_release_target", body).await;
    assert_eq!(
        ok["repeat_every"], "2",
        "an integer may come as a string and is shown as one"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_mandatory_field_is_400_naming_it() {
    let app = TestApp::spawn_demo().await;
    let users = app.count("sys_user").await;
    let targets = app.count("sn_dpr_model_release_target").await;
    let res = app
        .post("/api/now/table/sys_user", json!({"first_name": "Nameless"}))
        .await;
    assert_failure_naming(&res, StatusCode::BAD_REQUEST, "user_name");
    assert_eq!(app.count("sys_user").await, users);

    let mut body = target_body();
    body.as_object_mut().unwrap().remove("target_date");
    let res = app
        .post("/api/now/table/sn_dpr_model_release_target", body)
        .await;
    assert_failure_naming(&res, StatusCode::BAD_REQUEST, "target_date");
    let mut body = target_body();
    body["name"] = json!("");
    let res = app
        .post("/api/now/table/sn_dpr_model_release_target", body)
        .await;
    assert_failure_naming(&res, StatusCode::BAD_REQUEST, "name");
    assert_eq!(app.count("sn_dpr_model_release_target").await, targets);

    let res = app
        .request(
            "PATCH",
            &format!("/api/now/table/cmn_schedule/{SCHEDULE_ID}"),
            &Auth::admin(),
            Some(json!({"name": ""})),
        )
        .await;
    assert_failure_naming(&res, StatusCode::BAD_REQUEST, "name");
    let read = app
        .get(&format!("/api/now/table/cmn_schedule/{SCHEDULE_ID}"))
        .await;
    assert_eq!(
        read.body["result"]["name"], "Q4 2025 change blackout",
        "a mandatory field cannot be emptied"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_field_is_refused() {
    let app = TestApp::spawn_demo().await;
    let targets = app.count("sn_dpr_model_release_target").await;
    let mut body = target_body();
    body["series"] = json!("my-series");
    let res = app
        .post("/api/now/table/sn_dpr_model_release_target", body)
        .await;
    assert_failure_naming(&res, StatusCode::BAD_REQUEST, "series");
    let mut body = target_body();
    body["overlaps_schedule"] = json!(true);
    let res = app
        .post("/api/now/table/sn_dpr_model_release_target", body)
        .await;
    assert_failure_naming(&res, StatusCode::BAD_REQUEST, "overlaps_schedule");
    assert_eq!(app.count("sn_dpr_model_release_target").await, targets);

    let created = create(&app, "sn_dpr_model_release_target", target_body()).await;
    let path = format!(
        "/api/now/table/sn_dpr_model_release_target/{}",
        created["sys_id"].as_str().unwrap()
    );
    for change in [
        json!({"series": "other"}),
        json!({"overlaps_schedule": "true", "name": "Renamed"}),
    ] {
        let res = app
            .request("PATCH", &path, &Auth::admin(), Some(change.clone()))
            .await;
        assert_eq!(
            res.status,
            StatusCode::BAD_REQUEST,
            "{change}: {}",
            res.text
        );
        assert_eq!(res.body["status"], "failure");
        let field = change
            .as_object()
            .unwrap()
            .keys()
            .find(|k| *k != "name")
            .unwrap();
        assert!(error_message(&res).contains(field.as_str()), "{}", res.text);
    }
    let read = app.get(&path).await;
    assert_eq!(read.body["result"]["series"], "");
    assert_eq!(read.body["result"]["overlaps_schedule"], "false");
    assert_eq!(
        read.body["result"]["name"], "Sprint 12 readiness",
        "a refused update changes nothing"
    );
    assert_eq!(read.body["result"]["sys_mod_count"], "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_password_is_never_shown_and_is_stored_hashed() {
    let app = TestApp::spawn().await;
    let res = app
        .post(
            "/api/now/table/sys_user",
            json!({"user_name": "pat", "first_name": "Pat", "user_password": "Pat-secret-123"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert!(
        res.body["result"].get("user_password").is_none(),
        "{}",
        res.text
    );
    assert!(!res.text.contains("Pat-secret-123"));
    let sys_id = res.body["result"]["sys_id"].as_str().unwrap().to_owned();

    for path in [
        format!("/api/now/table/sys_user/{sys_id}"),
        format!("/api/now/table/sys_user/{sys_id}?sysparm_fields=user_name,user_password"),
        format!("/api/now/table/sys_user/{sys_id}?sysparm_display_value=all"),
        "/api/now/table/sys_user?sysparm_query=user_name=pat".to_owned(),
    ] {
        let read = app.get(&path).await;
        assert_eq!(read.status, StatusCode::OK, "{path}: {}", read.text);
        assert!(
            !read.text.contains("user_password"),
            "{path}: {}",
            read.text
        );
        assert!(!read.text.contains("argon2"), "{path}: {}", read.text);
    }
    let only = app
        .get(&format!(
            "/api/now/table/sys_user/{sys_id}?sysparm_fields=user_name,user_password"
        ))
        .await;
    assert_eq!(only.body["result"], json!({"user_name": "pat"}));

    let stored = app
        .db
        .fetch_optional(
            "SELECT user_password FROM sys_user WHERE sys_id = $1",
            &[Value::from(sys_id.as_str())],
        )
        .await
        .unwrap()
        .expect("stored")
        .string("user_password");
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    assert!(!stored.contains("Pat-secret-123"));

    let query = app
        .get("/api/now/table/sys_user?sysparm_query=user_passwordSTARTSWITH$argon2")
        .await;
    assert_failure_naming(&query, StatusCode::BAD_REQUEST, "user_password");

    // The stored hash is of the password given: the new user can sign in
    // (and, holding no role, is forbidden rather than unauthenticated).
    let signed_in = app
        .request(
            "GET",
            "/api/now/table/sys_user",
            &Auth::Basic("pat".into(), "Pat-secret-123".into()),
            None,
        )
        .await;
    assert_eq!(
        signed_in.status,
        StatusCode::FORBIDDEN,
        "{}",
        signed_in.text
    );

    let changed = app
        .request(
            "PATCH",
            &format!("/api/now/table/sys_user/{sys_id}"),
            &Auth::admin(),
            Some(json!({"user_password": "Pat-new-456"})),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert!(
        !changed.text.contains("Pat-new-456") && !changed.text.contains("user_password"),
        "{}",
        changed.text
    );
    let old = app
        .request(
            "GET",
            "/api/now/table/sys_user",
            &Auth::Basic("pat".into(), "Pat-secret-123".into()),
            None,
        )
        .await;
    assert_eq!(
        old.status,
        StatusCode::UNAUTHORIZED,
        "the old password no longer works: {}",
        old.text
    );
    let new = app
        .request(
            "GET",
            "/api/now/table/sys_user",
            &Auth::Basic("pat".into(), "Pat-new-456".into()),
            None,
        )
        .await;
    assert_eq!(new.status, StatusCode::FORBIDDEN, "{}", new.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_referenced_user_is_refused_with_409_and_changes_nothing() {
    let app = TestApp::spawn_demo().await;
    let res = app
        .request(
            "DELETE",
            &format!("/api/now/table/sys_user/{RELEASE_MANAGER_ID}"),
            &Auth::admin(),
            None,
        )
        .await;
    assert_failure_naming(&res, StatusCode::CONFLICT, "sn_dpr_model_release_calendar");
    assert_eq!(
        app.get(&format!("/api/now/table/sys_user/{RELEASE_MANAGER_ID}"))
            .await
            .status,
        StatusCode::OK
    );

    // A user holding roles and referenced by a calendar: the refusal also
    // keeps the role assignments that a successful delete would cascade.
    app.user(
        "dave",
        &["sn_dpr_model.release_admin", "sn_dpr_model.release_user"],
    )
    .await;
    let dave = user_id(&app, "dave").await;
    create(
        &app,
        "sn_dpr_model_release_calendar",
        json!({"name": "Dave's calendar", "release_admin": dave}),
    )
    .await;
    let users = app.count("sys_user").await;
    let res = app
        .request(
            "DELETE",
            &format!("/api/now/table/sys_user/{dave}"),
            &Auth::admin(),
            None,
        )
        .await;
    assert_failure_naming(&res, StatusCode::CONFLICT, "release_admin");
    assert_eq!(app.count("sys_user").await, users);
    assert_eq!(
        roles_of(&app, &dave).await,
        2,
        "the refused delete cascaded nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_user_cascades_to_its_role_assignments() {
    let app = TestApp::spawn().await;
    app.user(
        "carol",
        &["sn_dpr_model.release_user", "sn_dpr_model.product_manager"],
    )
    .await;
    app.user("erin", &["sn_dpr_model.release_user"]).await;
    let carol = user_id(&app, "carol").await;
    let erin = user_id(&app, "erin").await;
    assert_eq!(roles_of(&app, &carol).await, 2);
    let roles = app.count("sys_user_role").await;
    let assignments = app.count("sys_user_has_role").await;

    let res = app
        .request(
            "DELETE",
            &format!("/api/now/table/sys_user/{carol}"),
            &Auth::admin(),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text);
    assert_eq!(roles_of(&app, &carol).await, 0);
    assert_eq!(app.count("sys_user_has_role").await, assignments - 2);
    assert_eq!(roles_of(&app, &erin).await, 1, "other users keep theirs");
    assert_eq!(
        app.count("sys_user_role").await,
        roles,
        "the roles themselves stay"
    );
    assert_eq!(
        app.get(&format!("/api/now/table/sys_user/{carol}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_without_credentials_is_401() {
    let app = TestApp::spawn().await;
    let res = app
        .request("GET", "/api/now/table/cmn_schedule", &Auth::None, None)
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text);
    assert_eq!(res.body["status"], "failure");
    assert!(
        res.header("www-authenticate")
            .is_some_and(|h| h.starts_with("Basic")),
        "{:?}",
        res.headers
    );

    let res = app
        .request(
            "POST",
            "/api/now/table/cmn_schedule",
            &Auth::None,
            Some(json!({"name": "anonymous"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text);
    let res = app
        .request(
            "POST",
            "/api/now/table/cmn_schedule",
            &Auth::Basic("admin".into(), "wrong".into()),
            Some(json!({"name": "guess"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text);
    let res = app
        .request(
            "DELETE",
            &format!("/api/now/table/sys_user/{ADMIN_ID}"),
            &Auth::None,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text);
    assert_eq!(app.count("cmn_schedule").await, 0);
    assert_eq!(
        app.get(&format!("/api/now/table/sys_user/{ADMIN_ID}"))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_without_the_tables_roles_is_403() {
    let app = TestApp::spawn_demo().await;
    let reader = app.user("reader", &["sn_dpr_model.release_user"]).await;
    let nobody = app.user("nobody", &[]).await;

    let res = app
        .request("GET", "/api/now/table/sys_user", &reader, None)
        .await;
    assert_failure_naming(&res, StatusCode::FORBIDDEN, "Insufficient rights");
    let res = app
        .request(
            "GET",
            &format!("/api/now/table/sys_user/{ADMIN_ID}"),
            &reader,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);

    let res = app
        .request(
            "GET",
            "/api/now/table/sn_dpr_model_release_calendar",
            &reader,
            None,
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::OK,
        "a DPR reader reads calendars: {}",
        res.text
    );
    let calendars = app.count("sn_dpr_model_release_calendar").await;
    let res = app
        .request(
            "POST",
            "/api/now/table/sn_dpr_model_release_calendar",
            &reader,
            Some(json!({"name": "Not mine", "release_admin": RELEASE_MANAGER_ID})),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
    let res = app
        .request(
            "PATCH",
            &format!("/api/now/table/sn_dpr_model_release_calendar/{CALENDAR_ID}"),
            &reader,
            Some(json!({"name": "Mine"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
    let res = app
        .request(
            "DELETE",
            &format!("/api/now/table/sn_dpr_model_release_calendar/{CALENDAR_ID}"),
            &reader,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
    assert_eq!(app.count("sn_dpr_model_release_calendar").await, calendars);
    let read = app
        .get(&format!(
            "/api/now/table/sn_dpr_model_release_calendar/{CALENDAR_ID}"
        ))
        .await;
    assert_eq!(read.body["result"]["name"], "Enterprise release calendar");

    let res = app
        .request("GET", "/api/now/table/cmn_schedule", &nobody, None)
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_sysparm_query_is_400_naming_the_field() {
    let app = TestApp::spawn().await;
    for (encoded, word) in [
        ("no_such_field=1", "no_such_field"),
        ("nosuchLIKEx", "nosuch"),
        ("name=a^ORDERBYbogus_field", "bogus_field"),
        ("name=a^ORmissing_one=b", "missing_one"),
    ] {
        let q = percent_encoding::utf8_percent_encode(encoded, percent_encoding::NON_ALPHANUMERIC);
        let res = app
            .get(&format!("/api/now/table/cmn_schedule?sysparm_query={q}"))
            .await;
        assert_failure_naming(&res, StatusCode::BAD_REQUEST, word);
    }
    let res = app
        .get("/api/now/table/cmn_schedule?sysparm_query=name~x")
        .await;
    assert_failure_naming(&res, StatusCode::BAD_REQUEST, "sysparm_query");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_all_succeed_with_distinct_sys_ids() {
    const N: usize = 20;
    let app = Arc::new(TestApp::spawn().await);
    let mut tasks = JoinSet::new();
    for i in 0..N {
        let app = app.clone();
        tasks.spawn(async move {
            let res = app
                .post(
                    "/api/now/table/cmn_schedule",
                    json!({"name": format!("Parallel {i}")}),
                )
                .await;
            assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
            res.body["result"]["sys_id"]
                .as_str()
                .expect("sys_id")
                .to_owned()
        });
    }
    let mut ids = HashSet::new();
    while let Some(joined) = tasks.join_next().await {
        let id = joined.expect("the request task finished");
        assert!(is_sys_id(&id), "{id}");
        ids.insert(id);
    }
    assert_eq!(ids.len(), N, "distinct sys_ids");
    assert_eq!(app.count("cmn_schedule").await, N as i64);
    let list = app.get("/api/now/table/cmn_schedule").await;
    assert_eq!(list.header("x-total-count"), Some(N.to_string().as_str()));
    let names: HashSet<String> = names(&list).into_iter().collect();
    assert_eq!(names.len(), N, "every record landed once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_may_choose_its_sys_id_and_a_malformed_one_is_400() {
    let app = TestApp::spawn().await;
    let chosen = "aaaabbbbccccddddeeeeffff00001111";
    let res = app
        .post(
            "/api/now/table/cmn_schedule",
            json!({"sys_id": chosen, "name": "Chosen"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(res.body["result"]["sys_id"], chosen);
    assert_eq!(
        app.get(&format!("/api/now/table/cmn_schedule/{chosen}"))
            .await
            .status,
        StatusCode::OK
    );

    let again = app
        .post(
            "/api/now/table/cmn_schedule",
            json!({"sys_id": chosen, "name": "Twice"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    assert_eq!(again.body["status"], "failure");

    for bad in [
        json!("ABCD"),
        json!("AAAABBBBCCCCDDDDEEEEFFFF00001111"),
        json!(42),
    ] {
        let res = app
            .post(
                "/api/now/table/cmn_schedule",
                json!({"sys_id": bad, "name": "Bad"}),
            )
            .await;
        assert_failure_naming(&res, StatusCode::BAD_REQUEST, "sys_id");
    }
    assert_eq!(app.count("cmn_schedule").await, 1);

    let path = format!("/api/now/table/cmn_schedule/{chosen}");
    let res = app
        .request(
            "PATCH",
            &path,
            &Auth::admin(),
            Some(json!({"sys_id": NO_SUCH_ID, "name": "Kept id"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(
        res.body["result"]["sys_id"], chosen,
        "an update cannot change the sys_id"
    );
    assert_eq!(res.body["result"]["name"], "Kept id");
}
