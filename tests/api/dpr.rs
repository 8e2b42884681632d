//! Digital Product Release: `POST .../release_calendar` and
//! `POST .../release_target`, as the DPR API document describes them.

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use tollgate::demo::{ADMIN_ID, CALENDAR_ID, RELEASE_MANAGER_ID, SCHEDULE_ID};

const TARGETS: &str = "/api/sn_dpr/digital_product_release/release_target";
const CALENDARS: &str = "/api/sn_dpr/digital_product_release/release_calendar";
const TARGETS_V1: &str = "/api/sn_dpr/v1/digital_product_release/release_target";
const CALENDARS_V1: &str = "/api/sn_dpr/v1/digital_product_release/release_calendar";

const TARGET_TABLE: &str = "sn_dpr_model_release_target";
const CALENDAR_TABLE: &str = "sn_dpr_model_release_calendar";

/// Well-formed, but no record has it.
const UNKNOWN_ID: &str = "0123456789abcdef0123456789abcdef";

const PRODUCT_MANAGER: &str = "sn_dpr_model.product_manager";
const RELEASE_ADMIN: &str = "sn_dpr_model.release_admin";
const RELEASE_USER: &str = "sn_dpr_model.release_user";
const CALENDAR_ADMIN: &str = "sn_dpr_model.release_calendar_admin";

// ---------------------------------------------------------------------------
// Request bodies
// ---------------------------------------------------------------------------

/// The document's recurring example: every Friday from 2025-10-24 to
/// 2025-11-19 against the demo blackout schedule, every date opted in.
fn weekly_example() -> Value {
    json!({
        "name": "Weekly Friday patch",
        "releaseAdmin": "6816f79cc0a8016401c5a33be04be441",
        "isRecurring": true,
        "description": "",
        "startDate": "2025-10-24",
        "releaseCalendar": "d3d1f3b4ff60ba10509cffffffffffa8",
        "endDate": "2025-11-19",
        "repeats": {
            "type": "weekly",
            "every": 1,
            "daysOfWeek": 5
        },
        "scheduleSysId": "b862d589ff3c3210509cffffffffff97",
        "targetsWithOverlappingScheduleDetails": [
            { "active": true, "date": "2025-10-24" },
            { "active": true, "date": "2025-10-31" },
            { "active": true, "date": "2025-11-07" },
            { "active": true, "date": "2025-11-14" }
        ]
    })
}

/// The document's single-date example.
fn single_example() -> Value {
    json!({
        "name": "Fourth Thursday patch",
        "releaseAdmin": "6816f79cc0a8016401c5a33be04be441",
        "isRecurring": false,
        "description": "Last Thursday of October",
        "startDate": "2025-10-30",
        "releaseCalendar": "d3d1f3b4ff60ba10509cffffffffffa8"
    })
}

/// The document's release calendar example.
fn calendar_example() -> Value {
    json!({
        "name": "Q1 2025 Release Calendar123",
        "releaseAdmin": "dc6770ae3b97a210532fb50f23e45a33",
        "description": "Calendar for Q1 releases"
    })
}

/// A recurring series on the demo calendar with no schedule.
fn series(name: &str, kind: &str, every: i64, start: &str, end: &str) -> Value {
    json!({
        "name": name,
        "releaseAdmin": ADMIN_ID,
        "isRecurring": true,
        "startDate": start,
        "endDate": end,
        "releaseCalendar": CALENDAR_ID,
        "repeats": {"type": kind, "every": every}
    })
}

fn without(mut body: Value, field: &str) -> Value {
    body.as_object_mut().unwrap().remove(field);
    body
}

fn with(mut body: Value, field: &str, value: Value) -> Value {
    body[field] = value;
    body
}

// ---------------------------------------------------------------------------
// Assertions and reads
// ---------------------------------------------------------------------------

/// Whether `message` mentions `field` as a word of its own.
fn names_field(message: &str, field: &str) -> bool {
    message
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
        .map(|word| word.trim_matches('.'))
        .any(|word| word == field)
}

/// A DPR domain failure: 400 with `{"result": {"error": true, "message"}}`
/// whose message names `field`.
fn assert_domain_failure(res: &TestResponse, field: &str) {
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    assert_eq!(res.body["result"]["error"], json!(true), "{}", res.text);
    let message = res.body["result"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no message: {}", res.text));
    assert!(
        names_field(message, field),
        "the message {message:?} should name {field}"
    );
}

/// Sends `body` as admin to `path`, expects a domain failure naming `field`,
/// and checks that no row of `table` was written.
async fn assert_refused(app: &TestApp, path: &str, table: &str, body: Value, field: &str) {
    let before = app.count(table).await;
    let res = app.post(path, body).await;
    assert_domain_failure(&res, field);
    assert_eq!(
        app.count(table).await,
        before,
        "a refused request must write nothing to {table}"
    );
}

async fn assert_target_refused(app: &TestApp, body: Value, field: &str) {
    assert_refused(app, TARGETS, TARGET_TABLE, body, field).await;
}

async fn assert_calendar_refused(app: &TestApp, body: Value, field: &str) {
    assert_refused(app, CALENDARS, CALENDAR_TABLE, body, field).await;
}

/// The generic (non-DPR) failure envelope: `{"error": {...}, "status": "failure"}`.
fn assert_generic_failure(res: &TestResponse, status: StatusCode) {
    assert_eq!(res.status, status, "{}", res.text);
    assert_eq!(res.body["status"], json!("failure"), "{}", res.text);
    assert!(res.body["error"]["message"].is_string(), "{}", res.text);
}

/// Expects 201 with `{"result": {"error": false, "message": "", "count": n}}`.
fn assert_created(res: &TestResponse, count: u64) {
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(
        res.body,
        json!({"result": {"error": false, "message": "", "count": count}}),
        "{}",
        res.text
    );
}

fn encode(s: &str) -> String {
    s.replace('%', "%25")
        .replace(' ', "%20")
        .replace('^', "%5E")
        .replace('&', "%26")
        .replace('=', "%3D")
}

/// The targets named `name`, as the Table API shows them.
async fn targets_named(app: &TestApp, name: &str) -> Vec<Value> {
    let path = format!(
        "/api/now/table/{TARGET_TABLE}?sysparm_query={}",
        encode(&format!("name={name}^ORDERBYtarget_date"))
    );
    let res = app.get(&path).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    res.body["result"].as_array().unwrap().clone()
}

/// The target dates of the targets named `name`, in order.
async fn dates_of(app: &TestApp, name: &str) -> Vec<String> {
    let mut dates: Vec<String> = targets_named(app, name)
        .await
        .iter()
        .map(|t| t["target_date"].as_str().unwrap().to_owned())
        .collect();
    dates.sort();
    dates
}

/// Creates a calendar as admin; returns its sys_id.
async fn create_calendar(app: &TestApp, body: Value) -> String {
    let res = app.post(CALENDARS, body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    res.body["result"]["releaseCalendarId"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Creates, through the Table API, a blackout schedule in `zone` with one
/// entry from `start` to `end` (local times); returns the schedule's sys_id.
async fn blackout_schedule(app: &TestApp, zone: &str, start: &str, end: &str) -> String {
    schedule_of_type(app, "blackout", zone, start, end).await
}

/// Like [`blackout_schedule`], for a schedule of type `kind`.
async fn schedule_of_type(app: &TestApp, kind: &str, zone: &str, start: &str, end: &str) -> String {
    let res = app
        .post(
            "/api/now/table/cmn_schedule",
            json!({"name": format!("{kind} schedule"), "time_zone": zone, "type": kind}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let schedule = res.body["result"]["sys_id"].as_str().unwrap().to_owned();
    let res = app
        .post(
            "/api/now/table/cmn_schedule_span",
            json!({"schedule": schedule, "name": "Late window", "start_date_time": start, "end_date_time": end}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    schedule
}

/// A path from a Table API link (`http://host/api/...` -> `/api/...`).
fn path_of(link: &str) -> &str {
    &link[link
        .find("/api/")
        .unwrap_or_else(|| panic!("{link} has no /api/ path"))..]
}

async fn demo_app() -> TestApp {
    let app = TestApp::spawn_demo().await;
    app
}

// ---------------------------------------------------------------------------
// The documented examples
// ---------------------------------------------------------------------------

#[tokio::test]
async fn the_documented_recurring_target_example_creates_four_targets() {
    let app = demo_app().await;
    let res = app.post(TARGETS, weekly_example()).await;
    assert_created(&res, 4);
    assert_eq!(
        dates_of(&app, "Weekly Friday patch").await,
        ["2025-10-24", "2025-10-31", "2025-11-07", "2025-11-14"]
    );
}

#[tokio::test]
async fn the_documented_single_target_example_creates_one_target() {
    let app = demo_app().await;
    let before = app.count(TARGET_TABLE).await;
    let res = app.post(TARGETS, single_example()).await;
    assert_created(&res, 1);
    assert_eq!(app.count(TARGET_TABLE).await, before + 1);
    let targets = targets_named(&app, "Fourth Thursday patch").await;
    assert_eq!(targets.len(), 1);
    assert_eq!(targets[0]["target_date"], json!("2025-10-30"));
    assert_eq!(targets[0]["description"], json!("Last Thursday of October"));
    assert_eq!(targets[0]["release_calendar"]["value"], json!(CALENDAR_ID));
    assert_eq!(targets[0]["release_admin"]["value"], json!(ADMIN_ID));
}

#[tokio::test]
async fn the_documented_release_calendar_example_creates_a_calendar() {
    let app = demo_app().await;
    let before = app.count(CALENDAR_TABLE).await;
    let res = app.post(CALENDARS_V1, calendar_example()).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let result = res.body["result"].as_object().unwrap();
    let mut keys: Vec<&str> = result.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["error", "message", "releaseCalendarId"]);
    assert_eq!(result["error"], json!(false));
    assert_eq!(result["message"], json!(""));
    let id = result["releaseCalendarId"].as_str().unwrap();
    assert!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id} is not a sys_id"
    );
    assert_eq!(app.count(CALENDAR_TABLE).await, before + 1);
}

#[tokio::test]
async fn the_created_calendar_is_readable_through_the_table_api_with_a_resolving_release_admin_link(
) {
    let app = demo_app().await;
    let id = create_calendar(&app, calendar_example()).await;
    let res = app
        .get(&format!("/api/now/table/{CALENDAR_TABLE}/{id}"))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let record = &res.body["result"];
    assert_eq!(record["sys_id"], json!(id));
    assert_eq!(record["name"], json!("Q1 2025 Release Calendar123"));
    assert_eq!(record["description"], json!("Calendar for Q1 releases"));
    assert_eq!(record["release_admin"]["value"], json!(RELEASE_MANAGER_ID));
    let link = record["release_admin"]["link"]
        .as_str()
        .expect("release_admin is {link, value}");
    assert!(
        link.ends_with(&format!("/api/now/table/sys_user/{RELEASE_MANAGER_ID}")),
        "{link}"
    );
    let owner = app.get(path_of(link)).await;
    assert_eq!(owner.status, StatusCode::OK, "{}", owner.text);
    assert_eq!(owner.body["result"]["sys_id"], json!(RELEASE_MANAGER_ID));
    assert_eq!(owner.body["result"]["user_name"], json!("release.manager"));
}

#[tokio::test]
async fn a_calendar_takes_the_time_zone_it_is_given_or_its_first_schedules() {
    let app = demo_app().await;
    let given = create_calendar(
        &app,
        with(calendar_example(), "timeZone", json!("Europe/Berlin")),
    )
    .await;
    let inherited = create_calendar(
        &app,
        with(calendar_example(), "schedules", json!(SCHEDULE_ID)),
    )
    .await;
    let plain = create_calendar(&app, calendar_example()).await;
    for (id, zone) in [
        (given, "Europe/Berlin"),
        (inherited, "America/New_York"),
        (plain, "UTC"),
    ] {
        let res = app
            .get(&format!("/api/now/table/{CALENDAR_TABLE}/{id}"))
            .await;
        assert_eq!(res.body["result"]["time_zone"], json!(zone), "{}", res.text);
    }
}

#[tokio::test]
async fn the_versioned_paths_work_like_the_default_ones() {
    let app = demo_app().await;
    let res = app.post(TARGETS_V1, single_example()).await;
    assert_created(&res, 1);
    let res = app.post(CALENDARS_V1, calendar_example()).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(res.body["result"]["error"], json!(false));
    // Versioned errors keep the DPR envelope.
    let res = app
        .post(TARGETS_V1, without(single_example(), "name"))
        .await;
    assert_domain_failure(&res, "name");
}

// ---------------------------------------------------------------------------
// Roles
// ---------------------------------------------------------------------------

#[tokio::test]
async fn creating_a_target_without_credentials_is_401_in_the_generic_envelope() {
    let app = demo_app().await;
    let before = app.count(TARGET_TABLE).await;
    let res = app
        .request("POST", TARGETS, &Auth::None, Some(single_example()))
        .await;
    assert_generic_failure(&res, StatusCode::UNAUTHORIZED);
    let wrong = Auth::Basic("admin".into(), "not-the-password".into());
    let res = app
        .request("POST", TARGETS, &wrong, Some(single_example()))
        .await;
    assert_generic_failure(&res, StatusCode::UNAUTHORIZED);
    assert_eq!(app.count(TARGET_TABLE).await, before);
}

#[tokio::test]
async fn creating_a_target_with_neither_product_manager_nor_release_admin_is_403() {
    let app = demo_app().await;
    let before = app.count(TARGET_TABLE).await;
    for (name, role) in [
        ("viewer", RELEASE_USER),
        ("calendar.keeper", CALENDAR_ADMIN),
    ] {
        let auth = app.user(name, &[role]).await;
        let res = app
            .request("POST", TARGETS, &auth, Some(single_example()))
            .await;
        assert_generic_failure(&res, StatusCode::FORBIDDEN);
    }
    let nobody = app.user("nobody", &[]).await;
    let res = app
        .request("POST", TARGETS, &nobody, Some(single_example()))
        .await;
    assert_generic_failure(&res, StatusCode::FORBIDDEN);
    assert_eq!(app.count(TARGET_TABLE).await, before);
}

#[tokio::test]
async fn a_product_manager_or_a_release_admin_may_create_targets() {
    let app = demo_app().await;
    let before = app.count(TARGET_TABLE).await;
    for (name, role) in [("pm", PRODUCT_MANAGER), ("ra", RELEASE_ADMIN)] {
        let auth = app.user(name, &[role]).await;
        let res = app
            .request("POST", TARGETS, &auth, Some(single_example()))
            .await;
        assert_created(&res, 1);
    }
    assert_eq!(app.count(TARGET_TABLE).await, before + 2);
}

#[tokio::test]
async fn creating_a_calendar_without_credentials_is_401_in_the_generic_envelope() {
    let app = demo_app().await;
    let before = app.count(CALENDAR_TABLE).await;
    let res = app
        .request("POST", CALENDARS, &Auth::None, Some(calendar_example()))
        .await;
    assert_generic_failure(&res, StatusCode::UNAUTHORIZED);
    assert_eq!(app.count(CALENDAR_TABLE).await, before);
}

#[tokio::test]
async fn creating_a_calendar_without_the_release_calendar_admin_role_is_403() {
    let app = demo_app().await;
    let before = app.count(CALENDAR_TABLE).await;
    for (name, role) in [
        ("ra", RELEASE_ADMIN),
        ("pm", PRODUCT_MANAGER),
        ("viewer", RELEASE_USER),
    ] {
        let auth = app.user(name, &[role]).await;
        let res = app
            .request("POST", CALENDARS, &auth, Some(calendar_example()))
            .await;
        assert_generic_failure(&res, StatusCode::FORBIDDEN);
    }
    assert_eq!(app.count(CALENDAR_TABLE).await, before);
}

#[tokio::test]
async fn a_release_calendar_admin_may_create_calendars() {
    let app = demo_app().await;
    let before = app.count(CALENDAR_TABLE).await;
    let auth = app.user("keeper", &[CALENDAR_ADMIN]).await;
    let res = app
        .request("POST", CALENDARS, &auth, Some(calendar_example()))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(res.body["result"]["error"], json!(false));
    assert_eq!(app.count(CALENDAR_TABLE).await, before + 1);
}

// ---------------------------------------------------------------------------
// Required fields, types and references: release targets
// ---------------------------------------------------------------------------

#[tokio::test]
async fn each_required_target_field_is_enforced_by_name() {
    let app = demo_app().await;
    for field in [
        "name",
        "releaseAdmin",
        "releaseCalendar",
        "isRecurring",
        "startDate",
    ] {
        assert_target_refused(&app, without(single_example(), field), field).await;
        assert_target_refused(&app, without(weekly_example(), field), field).await;
    }
}

#[tokio::test]
async fn a_blank_or_null_required_target_field_counts_as_missing() {
    let app = demo_app().await;
    for field in ["name", "releaseAdmin", "releaseCalendar", "startDate"] {
        assert_target_refused(&app, with(single_example(), field, json!("")), field).await;
        assert_target_refused(&app, with(single_example(), field, Value::Null), field).await;
    }
    assert_target_refused(
        &app,
        with(single_example(), "isRecurring", Value::Null),
        "isRecurring",
    )
    .await;
}

#[tokio::test]
async fn a_recurring_target_requires_an_end_date_and_repeats() {
    let app = demo_app().await;
    assert_target_refused(&app, without(weekly_example(), "endDate"), "endDate").await;
    assert_target_refused(&app, without(weekly_example(), "repeats"), "repeats").await;
}

#[tokio::test]
async fn a_single_target_needs_neither_an_end_date_nor_repeats() {
    let app = demo_app().await;
    let body = single_example();
    assert!(body.get("endDate").is_none() && body.get("repeats").is_none());
    assert_created(&app.post(TARGETS, body).await, 1);
}

#[tokio::test]
async fn a_recurring_target_requires_the_type_of_its_repeats() {
    let app = demo_app().await;
    let mut body = weekly_example();
    body["repeats"].as_object_mut().unwrap().remove("type");
    assert_target_refused(&app, body, "repeats.type").await;
    let mut body = weekly_example();
    body["repeats"]["type"] = json!("daily");
    assert_target_refused(&app, body, "repeats.type").await;
}

#[tokio::test]
async fn target_fields_of_the_wrong_type_are_refused_by_name() {
    let app = demo_app().await;
    assert_target_refused(
        &app,
        with(weekly_example(), "isRecurring", json!("yes")),
        "isRecurring",
    )
    .await;
    assert_target_refused(
        &app,
        with(weekly_example(), "isRecurring", json!(1)),
        "isRecurring",
    )
    .await;
    assert_target_refused(&app, with(weekly_example(), "name", json!(5)), "name").await;
    assert_target_refused(
        &app,
        with(weekly_example(), "releaseAdmin", json!(5)),
        "releaseAdmin",
    )
    .await;
    assert_target_refused(
        &app,
        with(weekly_example(), "releaseCalendar", json!(["x"])),
        "releaseCalendar",
    )
    .await;
    assert_target_refused(
        &app,
        with(weekly_example(), "startDate", json!(20251024)),
        "startDate",
    )
    .await;
    assert_target_refused(
        &app,
        with(weekly_example(), "repeats", json!("weekly")),
        "repeats",
    )
    .await;
    assert_target_refused(
        &app,
        with(weekly_example(), "description", json!(7)),
        "description",
    )
    .await;
    assert_target_refused(
        &app,
        with(
            weekly_example(),
            "targetsWithOverlappingScheduleDetails",
            json!("2025-11-07"),
        ),
        "targetsWithOverlappingScheduleDetails",
    )
    .await;
    let mut body = weekly_example();
    body["repeats"]["every"] = json!("x");
    assert_target_refused(&app, body, "repeats.every").await;
    let mut body = weekly_example();
    body["repeats"]["every"] = json!(1.5);
    assert_target_refused(&app, body, "repeats.every").await;
}

#[tokio::test]
async fn target_dates_not_in_the_documented_format_are_refused_by_name() {
    let app = demo_app().await;
    assert_target_refused(
        &app,
        with(single_example(), "startDate", json!("10/30/2025")),
        "startDate",
    )
    .await;
    assert_target_refused(
        &app,
        with(single_example(), "startDate", json!("2025-02-30")),
        "startDate",
    )
    .await;
    assert_target_refused(
        &app,
        with(weekly_example(), "endDate", json!("next month")),
        "endDate",
    )
    .await;
}

#[tokio::test]
async fn a_repeat_interval_below_one_is_refused() {
    let app = demo_app().await;
    for every in [0, -1] {
        let mut body = weekly_example();
        body["repeats"]["every"] = json!(every);
        assert_target_refused(&app, body, "repeats.every").await;
    }
}

#[tokio::test]
async fn unknown_target_references_are_refused_by_name() {
    let app = demo_app().await;
    for field in ["releaseAdmin", "releaseCalendar", "scheduleSysId"] {
        assert_target_refused(
            &app,
            with(weekly_example(), field, json!(UNKNOWN_ID)),
            field,
        )
        .await;
        assert_target_refused(
            &app,
            with(weekly_example(), field, json!("not-a-sys-id")),
            field,
        )
        .await;
    }
    // A single target names a schedule too, and it is checked the same way.
    assert_target_refused(
        &app,
        with(single_example(), "scheduleSysId", json!(UNKNOWN_ID)),
        "scheduleSysId",
    )
    .await;
}

#[tokio::test]
async fn a_target_on_a_calendar_id_of_another_table_is_refused() {
    let app = demo_app().await;
    // The demo schedule's sys_id exists, but not as a release calendar.
    assert_target_refused(
        &app,
        with(single_example(), "releaseCalendar", json!(SCHEDULE_ID)),
        "releaseCalendar",
    )
    .await;
    assert_target_refused(
        &app,
        with(single_example(), "releaseAdmin", json!(CALENDAR_ID)),
        "releaseAdmin",
    )
    .await;
}

#[tokio::test]
async fn an_end_date_before_the_start_date_is_refused() {
    let app = demo_app().await;
    let body = with(weekly_example(), "endDate", json!("2025-10-23"));
    let before = app.count(TARGET_TABLE).await;
    let res = app.post(TARGETS, body).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    assert_eq!(res.body["result"]["error"], json!(true));
    let message = res.body["result"]["message"].as_str().unwrap();
    assert!(
        names_field(message, "endDate") || names_field(message, "startDate"),
        "{message}"
    );
    assert_eq!(app.count(TARGET_TABLE).await, before);
}

#[tokio::test]
async fn a_series_whose_end_is_its_start_creates_that_one_date() {
    let app = demo_app().await;
    let res = app
        .post(
            TARGETS,
            series("One day series", "weekly", 1, "2025-10-24", "2025-10-24"),
        )
        .await;
    assert_created(&res, 1);
    assert_eq!(dates_of(&app, "One day series").await, ["2025-10-24"]);
}

#[tokio::test]
async fn a_malformed_body_is_refused_without_writing() {
    let app = demo_app().await;
    let before = app.count(TARGET_TABLE).await;
    let res = app
        .raw(
            "POST",
            TARGETS,
            &Auth::admin(),
            Some("{\"name\": "),
            "application/json",
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    let res = app
        .raw(
            "POST",
            TARGETS,
            &Auth::admin(),
            Some("[1, 2]"),
            "application/json",
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    assert_eq!(app.count(TARGET_TABLE).await, before);
}

// ---------------------------------------------------------------------------
// Required fields, types and references: release calendars
// ---------------------------------------------------------------------------

#[tokio::test]
async fn each_required_calendar_field_is_enforced_by_name() {
    let app = demo_app().await;
    for field in ["name", "releaseAdmin"] {
        assert_calendar_refused(&app, without(calendar_example(), field), field).await;
        assert_calendar_refused(&app, with(calendar_example(), field, json!("")), field).await;
    }
    assert_calendar_refused(&app, json!({}), "name").await;
}

#[tokio::test]
async fn calendar_fields_of_the_wrong_type_are_refused_by_name() {
    let app = demo_app().await;
    assert_calendar_refused(&app, with(calendar_example(), "name", json!(5)), "name").await;
    assert_calendar_refused(
        &app,
        with(calendar_example(), "releaseAdmin", json!(true)),
        "releaseAdmin",
    )
    .await;
    assert_calendar_refused(
        &app,
        with(calendar_example(), "description", json!({"text": "x"})),
        "description",
    )
    .await;
    assert_calendar_refused(
        &app,
        with(calendar_example(), "schedules", json!([SCHEDULE_ID])),
        "schedules",
    )
    .await;
}

#[tokio::test]
async fn unknown_calendar_references_are_refused_by_name() {
    let app = demo_app().await;
    assert_calendar_refused(
        &app,
        with(calendar_example(), "releaseAdmin", json!(UNKNOWN_ID)),
        "releaseAdmin",
    )
    .await;
    assert_calendar_refused(
        &app,
        with(calendar_example(), "releaseAdmin", json!("someone")),
        "releaseAdmin",
    )
    .await;
    assert_calendar_refused(
        &app,
        with(calendar_example(), "schedules", json!(UNKNOWN_ID)),
        "schedules",
    )
    .await;
    // One unknown schedule among known ones refuses the whole calendar.
    let list = format!("{SCHEDULE_ID},{UNKNOWN_ID}");
    assert_calendar_refused(
        &app,
        with(calendar_example(), "schedules", json!(list)),
        "schedules",
    )
    .await;
    assert_calendar_refused(
        &app,
        with(calendar_example(), "schedules", json!("abc")),
        "schedules",
    )
    .await;
}

#[tokio::test]
async fn a_calendar_with_an_unknown_time_zone_is_refused() {
    let app = demo_app().await;
    assert_calendar_refused(
        &app,
        with(calendar_example(), "timeZone", json!("Mars/Olympus_Mons")),
        "timeZone",
    )
    .await;
}

#[tokio::test]
async fn a_calendar_lists_the_schedules_it_was_given() {
    let app = demo_app().await;
    let id = create_calendar(
        &app,
        with(
            calendar_example(),
            "schedules",
            json!(format!(" {SCHEDULE_ID} ")),
        ),
    )
    .await;
    let res = app
        .get(&format!("/api/now/table/{CALENDAR_TABLE}/{id}"))
        .await;
    assert_eq!(
        res.body["result"]["schedules"],
        json!(SCHEDULE_ID),
        "{}",
        res.text
    );
}

// ---------------------------------------------------------------------------
// Exclusion windows (demo blackout: 2025-11-06 18:00 .. 2025-11-08 06:00
// America/New_York)
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_date_in_a_blackout_is_left_out_unless_the_caller_opts_in() {
    let app = demo_app().await;
    let body = without(weekly_example(), "targetsWithOverlappingScheduleDetails");
    let res = app.post(TARGETS, body).await;
    assert_created(&res, 3);
    assert_eq!(
        dates_of(&app, "Weekly Friday patch").await,
        ["2025-10-24", "2025-10-31", "2025-11-14"]
    );
}

#[tokio::test]
async fn a_date_in_a_blackout_opted_out_with_active_false_is_left_out() {
    let app = demo_app().await;
    let mut body = weekly_example();
    body["targetsWithOverlappingScheduleDetails"][2] =
        json!({"active": false, "date": "2025-11-07"});
    let res = app.post(TARGETS, body).await;
    assert_created(&res, 3);
    assert_eq!(
        dates_of(&app, "Weekly Friday patch").await,
        ["2025-10-24", "2025-10-31", "2025-11-14"]
    );
}

#[tokio::test]
async fn opting_in_only_the_blacked_out_date_creates_the_whole_series() {
    let app = demo_app().await;
    let body = with(
        weekly_example(),
        "targetsWithOverlappingScheduleDetails",
        json!([{"active": true, "date": "2025-11-07"}]),
    );
    assert_created(&app.post(TARGETS, body).await, 4);
    assert_eq!(
        dates_of(&app, "Weekly Friday patch").await,
        ["2025-10-24", "2025-10-31", "2025-11-07", "2025-11-14"]
    );
}

#[tokio::test]
async fn an_opted_in_target_in_a_blackout_is_marked_as_overlapping_the_schedule() {
    let app = demo_app().await;
    assert_created(&app.post(TARGETS, weekly_example()).await, 4);
    let path = format!(
        "/api/now/table/{TARGET_TABLE}?sysparm_query={}",
        encode("name=Weekly Friday patch^target_date=2025-11-07")
    );
    let res = app.get(&path).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let rows = res.body["result"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{}", res.text);
    assert_eq!(rows[0]["overlaps_schedule"], json!("true"));
    assert_eq!(rows[0]["schedule"]["value"], json!(SCHEDULE_ID));
    for target in targets_named(&app, "Weekly Friday patch").await {
        let expected = if target["target_date"] == json!("2025-11-07") {
            "true"
        } else {
            "false"
        };
        assert_eq!(target["overlaps_schedule"], json!(expected), "{target}");
    }
}

#[tokio::test]
async fn without_a_schedule_no_date_is_excluded() {
    let app = demo_app().await;
    let body = without(
        without(weekly_example(), "scheduleSysId"),
        "targetsWithOverlappingScheduleDetails",
    );
    assert_created(&app.post(TARGETS, body).await, 4);
    for target in targets_named(&app, "Weekly Friday patch").await {
        assert_eq!(target["overlaps_schedule"], json!("false"), "{target}");
    }
}

#[tokio::test]
async fn a_blackout_reaching_past_midnight_excludes_the_next_morning_too() {
    let app = demo_app().await;
    // Thursdays and Saturdays around the freeze, which starts Thursday 18:00
    // and ends Saturday 06:00.
    for (name, start, end, kept) in [
        (
            "Thursdays",
            "2025-10-30",
            "2025-11-13",
            ["2025-10-30", "2025-11-13"],
        ),
        (
            "Saturdays",
            "2025-11-01",
            "2025-11-15",
            ["2025-11-01", "2025-11-15"],
        ),
    ] {
        let body = with(
            series(name, "weekly", 1, start, end),
            "scheduleSysId",
            json!(SCHEDULE_ID),
        );
        assert_created(&app.post(TARGETS, body).await, 2);
        assert_eq!(dates_of(&app, name).await, kept);
    }
    // The Sunday after the freeze is free.
    let body = with(
        series("Sundays", "weekly", 1, "2025-11-02", "2025-11-16"),
        "scheduleSysId",
        json!(SCHEDULE_ID),
    );
    assert_created(&app.post(TARGETS, body).await, 3);
}

#[tokio::test]
async fn maintenance_and_holiday_schedules_exclude_dates_like_blackouts_and_business_hours_do_not()
{
    let app = demo_app().await;
    for (kind, created) in [
        ("blackout", 3),
        ("maintenance", 3),
        ("holiday", 3),
        ("business", 4),
    ] {
        let schedule = schedule_of_type(
            &app,
            kind,
            "America/New_York",
            "2025-11-07 09:00:00",
            "2025-11-07 17:00:00",
        )
        .await;
        let name = format!("Fridays around a {kind} window");
        let body = with(
            series(&name, "weekly", 1, "2025-10-24", "2025-11-14"),
            "scheduleSysId",
            json!(schedule),
        );
        assert_created(&app.post(TARGETS, body).await, created);
        let dates = dates_of(&app, &name).await;
        assert_eq!(
            dates.contains(&"2025-11-07".to_owned()),
            created == 4,
            "{kind}: {dates:?}"
        );
    }
}

#[tokio::test]
async fn a_monthly_date_in_a_blackout_is_left_out_unless_opted_in() {
    let app = demo_app().await;
    let body = with(
        series("Monthly seventh", "monthly", 1, "2025-09-07", "2025-12-07"),
        "scheduleSysId",
        json!(SCHEDULE_ID),
    );
    assert_created(&app.post(TARGETS, body.clone()).await, 3);
    assert_eq!(
        dates_of(&app, "Monthly seventh").await,
        ["2025-09-07", "2025-10-07", "2025-12-07"]
    );
    let opted = with(
        with(body, "name", json!("Monthly seventh opted")),
        "targetsWithOverlappingScheduleDetails",
        json!([{"active": true, "date": "2025-11-07"}]),
    );
    assert_created(&app.post(TARGETS, opted).await, 4);
}

// ---------------------------------------------------------------------------
// Recurrence
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_monthly_series_from_the_31st_falls_on_the_last_day_of_shorter_months() {
    let app = demo_app().await;
    let res = app
        .post(
            TARGETS,
            series("Month end", "monthly", 1, "2025-01-31", "2025-04-30"),
        )
        .await;
    assert_created(&res, 4);
    assert_eq!(
        dates_of(&app, "Month end").await,
        ["2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30"]
    );
}

#[tokio::test]
async fn a_monthly_series_every_two_months_skips_a_month_each_time() {
    let app = demo_app().await;
    let res = app
        .post(
            TARGETS,
            series("Bimonthly", "monthly", 2, "2025-01-15", "2025-07-15"),
        )
        .await;
    assert_created(&res, 4);
    assert_eq!(
        dates_of(&app, "Bimonthly").await,
        ["2025-01-15", "2025-03-15", "2025-05-15", "2025-07-15"]
    );
    let res = app
        .post(
            TARGETS,
            series("Bimonthly end", "monthly", 2, "2025-01-31", "2025-12-31"),
        )
        .await;
    assert_created(&res, 6);
    assert_eq!(
        dates_of(&app, "Bimonthly end").await,
        [
            "2025-01-31",
            "2025-03-31",
            "2025-05-31",
            "2025-07-31",
            "2025-09-30",
            "2025-11-30"
        ]
    );
}

#[tokio::test]
async fn a_weekly_series_every_two_weeks_skips_a_week_each_time() {
    let app = demo_app().await;
    let res = app
        .post(
            TARGETS,
            series("Fortnightly", "weekly", 2, "2025-10-24", "2025-11-30"),
        )
        .await;
    assert_created(&res, 3);
    assert_eq!(
        dates_of(&app, "Fortnightly").await,
        ["2025-10-24", "2025-11-07", "2025-11-21"]
    );
}

#[tokio::test]
async fn the_targets_of_a_series_are_recorded_as_recurring() {
    let app = demo_app().await;
    assert_created(&app.post(TARGETS, weekly_example()).await, 4);
    let targets = targets_named(&app, "Weekly Friday patch").await;
    assert_eq!(targets.len(), 4);
    for target in &targets {
        assert_eq!(target["recurring"], json!("true"), "{target}");
        assert_eq!(target["repeat_type"], json!("weekly"), "{target}");
        assert_eq!(target["series"], targets[0]["series"], "one series");
    }
    assert_created(&app.post(TARGETS, single_example()).await, 1);
    let single = targets_named(&app, "Fourth Thursday patch").await;
    assert_eq!(single[0]["recurring"], json!("false"));
}

// ---------------------------------------------------------------------------
// Time zones and daylight saving (America/New_York leaves DST on 2025-11-02)
// ---------------------------------------------------------------------------

/// A calendar in New York and a New York blackout from `start` to `end`;
/// then the Fridays 2025-10-31, 11-07 and 11-14 as a weekly series.
async fn fridays_across_the_dst_change(
    app: &TestApp,
    start: &str,
    end: &str,
) -> (TestResponse, Vec<String>) {
    let calendar = create_calendar(
        app,
        with(calendar_example(), "timeZone", json!("America/New_York")),
    )
    .await;
    let res = app
        .get(&format!("/api/now/table/{CALENDAR_TABLE}/{calendar}"))
        .await;
    assert_eq!(
        res.body["result"]["time_zone"],
        json!("America/New_York"),
        "{}",
        res.text
    );
    let schedule = blackout_schedule(app, "America/New_York", start, end).await;
    let body = json!({
        "name": "DST Fridays",
        "releaseAdmin": ADMIN_ID,
        "isRecurring": true,
        "startDate": "2025-10-31",
        "endDate": "2025-11-14",
        "releaseCalendar": calendar,
        "repeats": {"type": "weekly", "every": 1, "daysOfWeek": 5},
        "scheduleSysId": schedule
    });
    let res = app.post(TARGETS, body).await;
    let dates = dates_of(app, "DST Fridays").await;
    (res, dates)
}

#[tokio::test]
async fn a_thursday_late_evening_window_after_the_dst_change_does_not_exclude_friday() {
    let app = demo_app().await;
    // 23:30-23:59 EST on Thursday is 04:30-04:59 UTC on Friday.
    let (res, dates) =
        fridays_across_the_dst_change(&app, "2025-11-06 23:30:00", "2025-11-06 23:59:00").await;
    assert_created(&res, 3);
    assert_eq!(dates, ["2025-10-31", "2025-11-07", "2025-11-14"]);
}

#[tokio::test]
async fn a_friday_just_after_midnight_window_after_the_dst_change_excludes_friday() {
    let app = demo_app().await;
    let (res, dates) =
        fridays_across_the_dst_change(&app, "2025-11-07 00:00:00", "2025-11-07 00:30:00").await;
    assert_created(&res, 2);
    assert_eq!(dates, ["2025-10-31", "2025-11-14"]);
}

#[tokio::test]
async fn a_calendar_inherits_its_schedules_time_zone_for_the_dst_week() {
    let app = demo_app().await;
    let schedule = blackout_schedule(
        &app,
        "America/New_York",
        "2025-11-06 23:30:00",
        "2025-11-06 23:59:00",
    )
    .await;
    let calendar =
        create_calendar(&app, with(calendar_example(), "schedules", json!(schedule))).await;
    let body = json!({
        "name": "Inherited zone",
        "releaseAdmin": ADMIN_ID,
        "isRecurring": true,
        "startDate": "2025-10-31",
        "endDate": "2025-11-14",
        "releaseCalendar": calendar,
        "repeats": {"type": "weekly", "every": 1},
        "scheduleSysId": schedule
    });
    assert_created(&app.post(TARGETS, body).await, 3);
}

// ---------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_target_requests_all_succeed_and_every_target_is_written() {
    let app = Arc::new(demo_app().await);
    let pm = app.user("pm", &[PRODUCT_MANAGER]).await;
    let before = app.count(TARGET_TABLE).await;
    let mut tasks = Vec::new();
    for i in 0..10 {
        let app = Arc::clone(&app);
        let auth = if i % 2 == 0 {
            Auth::admin()
        } else {
            pm.clone()
        };
        tasks.push(tokio::spawn(async move {
            let body = with(weekly_example(), "name", json!(format!("Concurrent {i}")));
            app.request("POST", TARGETS, &auth, Some(body)).await
        }));
    }
    for task in tasks {
        let res = task.await.expect("request task");
        assert_created(&res, 4);
    }
    assert_eq!(app.count(TARGET_TABLE).await, before + 40);
    for i in 0..10 {
        assert_eq!(dates_of(&app, &format!("Concurrent {i}")).await.len(), 4);
    }
}
