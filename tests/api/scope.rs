//! A release's scope: `POST .../product_enhancement`,
//! `POST .../release/{releaseId}/key_date` and
//! `POST .../release/{releaseId}/related_task`.

use axum::http::StatusCode;
use serde_json::{json, Value};
use tollgate::demo;

use crate::helpers::*;

const ENHANCEMENT: &str = "/api/sn_dpr/digital_product_release/product_enhancement";
const RELEASE: &str = "/api/sn_dpr/digital_product_release/release";

// The ids the documented examples name (demo data).
const MEDIA_PRODUCT: &str = "de8e9c0dfff8f2108289ffffffffff61";
const MEDIA_VERSION: &str = "da4b608dff7cf2108289ffffffffffc2";
const MEDIA_RELEASE: &str = "9a4b608dff7cf2108289ffffffffffc3";
const MEDIA_FEATURE: &str = "192d2905ff7436108289ffffffffff3f";
const PORTAL_RELEASE: &str = "eb7dd11d97b402107bc2341de053af34";
const ABEL: &str = "62826bf03710200044e0bfc8bcbe5df1";
const CHANGE: &str = "36836028532023004247ddeeff7b12f1";
const STORY: &str = "bc84b11dff5c32108289ffffffffff12";
const UNKNOWN: &str = "0123456789abcdef0123456789abcdef";

fn key_date_path(release: &str) -> String {
    format!("/api/sn_dpr/digital_product_release/release/{release}/key_date")
}

fn related_task_path(release: &str) -> String {
    format!("/api/sn_dpr/digital_product_release/release/{release}/related_task")
}

fn example_enhancement() -> Value {
    json!({
        "name": "Offline streaming",
        "productSysId": "de8e9c0dfff8f2108289ffffffffff61",
        "priority": "high",
        "description": "Enhancement description",
        "versionSysId": "da4b608dff7cf2108289ffffffffffc2",
        "releaseSysId": "9a4b608dff7cf2108289ffffffffffc3",
        "productFeatureSysId": "192d2905ff7436108289ffffffffff3f"
    })
}

fn example_key_date() -> Value {
    json!({
        "name": "Project Launch",
        "type": "milestone",
        "dueDate": "2025-11-01",
        "state": "upcoming",
        "description": "Launching the new project phase.",
        "assignedTo": "62826bf03710200044e0bfc8bcbe5df1"
    })
}

fn example_tasks() -> Value {
    json!({"taskIds": ["36836028532023004247ddeeff7b12f1", "bc84b11dff5c32108289ffffffffff12"]})
}

const TASKS_RELATED: &str =
    "Successfully created the mappings between the release and all the tasks.";

/// `base` with the fields of `change` replaced (a null removes the field).
fn with(base: &Value, change: Value) -> Value {
    let mut body = base.clone();
    for (k, v) in change.as_object().unwrap() {
        if v.is_null() {
            body.as_object_mut().unwrap().remove(k);
        } else {
            body[k] = v.clone();
        }
    }
    body
}

async fn demo_app() -> TestApp {
    let app = TestApp::spawn_demo().await;
    app
}

async fn record(app: &TestApp, table: &str, id: &str) -> Value {
    let res = app.get(&format!("/api/now/table/{table}/{id}")).await;
    assert_eq!(res.status, StatusCode::OK, "{table} {id}: {}", res.text);
    res.body["result"].clone()
}

/// Creates a record through the Table API as admin; returns its sys_id.
async fn create(app: &TestApp, table: &str, body: Value) -> String {
    let res = app.post(&format!("/api/now/table/{table}"), body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{table}: {}", res.text);
    res.body["result"]["sys_id"].as_str().unwrap().to_owned()
}

async fn user_id(app: &TestApp, user_name: &str) -> String {
    let res = app
        .get(&format!(
            "/api/now/table/sys_user?sysparm_query=user_name={user_name}"
        ))
        .await;
    res.body["result"][0]["sys_id"].as_str().unwrap().to_owned()
}

async fn count_where(app: &TestApp, table: &str, column: &str, value: &str) -> i64 {
    app.db
        .fetch_optional(
            &format!("SELECT COUNT(*) AS n FROM {table} WHERE \"{column}\" = $1"),
            &[tollgate::storage::Value::from(value)],
        )
        .await
        .unwrap()
        .and_then(|r| r.int("n"))
        .unwrap()
}

/// Sends `body` as admin and expects a 400 in the DPR envelope whose message
/// contains `expected`.
async fn refused(app: &TestApp, path: &str, body: Value, expected: &str) {
    let res = app.post(path, body.clone()).await;
    assert_eq!(
        res.status,
        StatusCode::BAD_REQUEST,
        "{expected}: {body} -> {}",
        res.text
    );
    assert_eq!(
        res.body["result"]["error"], true,
        "{expected}: {}",
        res.text
    );
    let message = res.body["result"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(expected),
        "{expected:?} not in {message:?} (body {body})"
    );
}

// ---------------------------------------------------------------------------
// Product enhancements
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_enhancement_example_creates_an_open_enhancement() {
    let app = demo_app().await;
    let res = app.post(ENHANCEMENT, example_enhancement()).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let id = res.body["result"]["sysId"].as_str().unwrap().to_owned();
    assert!(tollgate::ids::is_sys_id(&id), "{id}");
    assert_eq!(res.body, json!({"result": {"error": false, "sysId": id}}));

    let e = record(&app, "sn_dpr_model_product_enhancement", &id).await;
    assert!(e["number"].as_str().unwrap().starts_with("ENH"), "{e}");
    assert_eq!(e["name"], "Offline streaming");
    assert_eq!(e["description"], "Enhancement description");
    assert_eq!(e["priority"], "high");
    assert_eq!(e["state"], "open");
    assert_eq!(e["product"]["value"], MEDIA_PRODUCT);
    assert_eq!(e["version"]["value"], MEDIA_VERSION);
    assert_eq!(e["release"]["value"], MEDIA_RELEASE);
    assert_eq!(e["product_feature"]["value"], MEDIA_FEATURE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enhancement_needs_only_a_name_and_a_product_and_defaults_to_medium_priority() {
    let app = demo_app().await;
    let res = app
        .post(
            "/api/sn_dpr/v1/digital_product_release/product_enhancement",
            json!({"name": "Dark mode", "productSysId": MEDIA_PRODUCT, "priority": ""}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let id = res.body["result"]["sysId"].as_str().unwrap();
    let e = record(&app, "sn_dpr_model_product_enhancement", id).await;
    assert_eq!(e["priority"], "medium");
    assert_eq!(e["state"], "open");
    assert_eq!(e["version"], "");
    assert_eq!(e["release"], "");
    // A service (not only an application) is a product too.
    let res = app
        .post(
            ENHANCEMENT,
            json!({"name": "Faster tokens", "productSysId": demo::PRODUCT_IDENTITY,
                   "versionSysId": demo::VERSION_IDENTITY_3_2, "priority": "low"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_enhancements_name_the_field_and_write_nothing() {
    let app = demo_app().await;
    let other_feature = create(
        &app,
        "sn_dpr_model_product_feature",
        json!({"name": "Card payments", "product": demo::PRODUCT_PAYMENTS}),
    )
    .await;
    let example = example_enhancement();
    let cases: Vec<(&str, Value)> = vec![
        ("name is required", json!({"name": null})),
        ("name is required", json!({"name": "  "})),
        ("name must be a string", json!({"name": 5})),
        ("productSysId is required", json!({"productSysId": null})),
        ("productSysId", json!({"productSysId": "not-a-sys-id"})),
        ("productSysId", json!({"productSysId": UNKNOWN})),
        // A version is not a product.
        (
            "productSysId",
            json!({"productSysId": MEDIA_VERSION, "versionSysId": null, "releaseSysId": null, "productFeatureSysId": null}),
        ),
        ("priority", json!({"priority": "urgent"})),
        ("priority must be a string", json!({"priority": 1})),
        ("versionSysId", json!({"versionSysId": UNKNOWN})),
        (
            "The version must be for the same product or service provided in productSysId",
            json!({"versionSysId": demo::VERSION_PAYMENTS_2_5}),
        ),
        ("releaseSysId", json!({"releaseSysId": UNKNOWN})),
        (
            "The release must be associated with the version provided in versionSysId",
            json!({"releaseSysId": PORTAL_RELEASE}),
        ),
        (
            "productFeatureSysId",
            json!({"productFeatureSysId": UNKNOWN}),
        ),
        (
            "productFeatureSysId",
            json!({"productFeatureSysId": other_feature}),
        ),
    ];
    let before = app.count("sn_dpr_model_product_enhancement").await;
    for (expected, change) in cases {
        refused(&app, ENHANCEMENT, with(&example, change), expected).await;
    }
    assert_eq!(app.count("sn_dpr_model_product_enhancement").await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_given_without_a_version_must_ship_the_product() {
    let app = demo_app().await;
    let base = json!({"name": "Offline streaming", "productSysId": MEDIA_PRODUCT});
    let before = app.count("sn_dpr_model_product_enhancement").await;
    refused(
        &app,
        ENHANCEMENT,
        with(&base, json!({"releaseSysId": PORTAL_RELEASE})),
        "The release must be associated with the product or service provided in productSysId",
    )
    .await;
    assert_eq!(app.count("sn_dpr_model_product_enhancement").await, before);
    let res = app
        .post(
            ENHANCEMENT,
            with(&base, json!({"releaseSysId": MEDIA_RELEASE})),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_carries_a_version_through_its_child_releases() {
    let app = demo_app().await;
    // A Payments release that also ships Media Streaming App 4.0.
    let res = app
        .post(
            RELEASE,
            json!({"name": "Bundle Q1", "productId": demo::PRODUCT_PAYMENTS, "releaseOwner": demo::ADMIN_ID,
                   "templateId": demo::TEMPLATE_TIMELINE, "includedVersions": [MEDIA_VERSION]}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let primary = res.body["result"]["releaseId"].as_str().unwrap();
    let res = app
        .post(
            ENHANCEMENT,
            with(&example_enhancement(), json!({"releaseSysId": primary})),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_product_managers_create_enhancements() {
    let app = demo_app().await;
    let body = example_enhancement();
    let res = app
        .request("POST", ENHANCEMENT, &Auth::None, Some(body.clone()))
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    for role in [
        "sn_dpr_model.release_admin",
        "sn_dpr_model.release_coordinator",
    ] {
        let user = app.user(role.rsplit('.').next().unwrap(), &[role]).await;
        let res = app
            .request("POST", ENHANCEMENT, &user, Some(body.clone()))
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{role}: {}", res.text);
        assert_eq!(res.body["status"], "failure");
    }
    assert_eq!(app.count("sn_dpr_model_product_enhancement").await, 0);
    let pm = app.user("paula", &["sn_dpr_model.product_manager"]).await;
    let res = app.request("POST", ENHANCEMENT, &pm, Some(body)).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let id = res.body["result"]["sysId"].as_str().unwrap();
    let e = record(&app, "sn_dpr_model_product_enhancement", id).await;
    assert_eq!(e["sys_created_by"], "paula");
}

// ---------------------------------------------------------------------------
// Key dates
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_key_date_example_creates_an_upcoming_milestone() {
    let app = demo_app().await;
    let res = app
        .post(&key_date_path(PORTAL_RELEASE), example_key_date())
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let id = res.body["result"]["keyDateSysId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(tollgate::ids::is_sys_id(&id), "{id}");
    assert_eq!(
        res.body,
        json!({"result": {"error": false, "message": "Release key date created successfully", "keyDateSysId": id}})
    );
    let k = record(&app, "sn_dpr_model_release_key_date", &id).await;
    assert_eq!(k["release"]["value"], PORTAL_RELEASE);
    assert_eq!(k["name"], "Project Launch");
    assert_eq!(k["type"], "milestone");
    assert_eq!(k["state"], "upcoming");
    assert_eq!(k["due_date"], "2025-11-01 00:00:00");
    assert_eq!(k["description"], "Launching the new project phase.");
    assert_eq!(k["assigned_to"]["value"], ABEL);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_parameter_tables_duedate_spelling_is_accepted_too() {
    let app = demo_app().await;
    let body = with(
        &example_key_date(),
        json!({"dueDate": null, "duedate": "2025-12-31", "assignedTo": null}),
    );
    let res = app
        .post(
            &format!("/api/sn_dpr/v1/digital_product_release/release/{PORTAL_RELEASE}/key_date"),
            body,
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let id = res.body["result"]["keyDateSysId"].as_str().unwrap();
    let k = record(&app, "sn_dpr_model_release_key_date", id).await;
    assert_eq!(k["due_date"], "2025-12-31 00:00:00");
    assert_eq!(k["assigned_to"], "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_key_dates_name_the_field_and_write_nothing() {
    let app = demo_app().await;
    app.user("carla", &["sn_dpr_model.release_calendar_admin"])
        .await;
    let roleless = user_id(&app, "carla").await;
    let example = example_key_date();
    let cases: Vec<(&str, Value)> = vec![
        ("name is required", json!({"name": null})),
        ("name must be a string", json!({"name": 7})),
        ("type is required", json!({"type": ""})),
        ("type", json!({"type": "birthday"})),
        ("state is required", json!({"state": null})),
        ("state", json!({"state": "done"})),
        ("dueDate is required", json!({"dueDate": null})),
        ("dueDate", json!({"dueDate": "11/01/2025"})),
        ("dueDate must be a string", json!({"dueDate": 20251101})),
        ("duedate", json!({"dueDate": null, "duedate": "2025-13-01"})),
        (
            "dueDate",
            json!({"dueDate": "2025-11-01", "duedate": "2025-11-02"}),
        ),
        // Outside the planned window 2025-09-01 .. 2025-12-31.
        (
            "The due date must be between the release planned start and end dates",
            json!({"dueDate": "2026-01-01"}),
        ),
        (
            "The due date must be between the release planned start and end dates",
            json!({"dueDate": "2025-08-31"}),
        ),
        ("assignedTo", json!({"assignedTo": "abc"})),
        ("assignedTo", json!({"assignedTo": UNKNOWN})),
        ("assignedTo", json!({"assignedTo": roleless})),
    ];
    let before = app.count("sn_dpr_model_release_key_date").await;
    for (expected, change) in cases {
        refused(
            &app,
            &key_date_path(PORTAL_RELEASE),
            with(&example, change),
            expected,
        )
        .await;
    }
    assert_eq!(app.count("sn_dpr_model_release_key_date").await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_date_on_an_unknown_release_is_refused_as_an_invalid_release_id() {
    let app = demo_app().await;
    for release in [UNKNOWN, "not-a-release"] {
        let res = app.post(&key_date_path(release), example_key_date()).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
        assert_eq!(
            res.body,
            json!({"result": {"error": true, "message": "Release ID is invalid"}})
        );
    }
    assert_eq!(app.count("sn_dpr_model_release_key_date").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_dates_only_go_on_timeline_oriented_releases() {
    let app = demo_app().await;
    let template = create(
        &app,
        "sn_dpr_model_release_template",
        json!({"name": "Stage release", "orientation": "stage", "active": true}),
    )
    .await;
    create(
        &app,
        "sn_dpr_model_template_phase",
        json!({"template": template, "name": "Build", "order": 100, "duration_days": 10}),
    )
    .await;
    let res = app
        .post(
            RELEASE,
            json!({"name": "Staged", "productId": demo::PRODUCT_PAYMENTS, "releaseOwner": demo::ADMIN_ID,
                   "templateId": template}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let staged = res.body["result"]["releaseId"].as_str().unwrap().to_owned();
    assert_eq!(
        record(&app, "sn_dpr_model_release", &staged).await["process_type"],
        "stage"
    );
    // Today is inside a fresh release's window (it starts now, no end).
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let body = with(
        &example_key_date(),
        json!({"dueDate": today, "assignedTo": null}),
    );
    refused(
        &app,
        &key_date_path(&staged),
        body.clone(),
        "timeline-oriented",
    )
    .await;
    assert_eq!(app.count("sn_dpr_model_release_key_date").await, 0);

    // The same on a timeline-oriented release without a planned end.
    let res = app
        .post(
            RELEASE,
            json!({"name": "Timed", "productId": demo::PRODUCT_PAYMENTS, "releaseOwner": demo::ADMIN_ID,
                   "templateId": demo::TEMPLATE_TIMELINE}),
        )
        .await;
    let timed = res.body["result"]["releaseId"].as_str().unwrap().to_owned();
    let res = app.post(&key_date_path(&timed), body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_planned_end_only_the_start_bounds_the_due_date() {
    let app = demo_app().await;
    let res = app
        .post(
            RELEASE,
            json!({"name": "Open-ended", "productId": demo::PRODUCT_PAYMENTS, "releaseOwner": demo::ADMIN_ID,
                   "templateId": demo::TEMPLATE_TIMELINE}),
        )
        .await;
    let release = res.body["result"]["releaseId"].as_str().unwrap().to_owned();
    assert_eq!(
        record(&app, "sn_dpr_model_release", &release).await["planned_end"],
        ""
    );
    let far = with(&example_key_date(), json!({"dueDate": "2099-12-31"}));
    let res = app.post(&key_date_path(&release), far).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let past = with(&example_key_date(), json!({"dueDate": "2000-01-01"}));
    refused(
        &app,
        &key_date_path(&release),
        past,
        "The due date must be between the release planned start and end dates",
    )
    .await;
    assert_eq!(app.count("sn_dpr_model_release_key_date").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn product_managers_release_admins_and_coordinators_create_key_dates() {
    let app = demo_app().await;
    let path = key_date_path(PORTAL_RELEASE);
    let body = example_key_date();
    let res = app
        .request("POST", &path, &Auth::None, Some(body.clone()))
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    for role in [
        "sn_dpr_model.release_user",
        "sn_dpr_model.release_calendar_admin",
    ] {
        let user = app.user(role.rsplit('.').next().unwrap(), &[role]).await;
        let res = app.request("POST", &path, &user, Some(body.clone())).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{role}: {}", res.text);
    }
    assert_eq!(app.count("sn_dpr_model_release_key_date").await, 0);
    for role in [
        "sn_dpr_model.product_manager",
        "sn_dpr_model.release_admin",
        "sn_dpr_model.release_coordinator",
    ] {
        let user = app.user(role.rsplit('.').next().unwrap(), &[role]).await;
        let res = app.request("POST", &path, &user, Some(body.clone())).await;
        assert_eq!(res.status, StatusCode::CREATED, "{role}: {}", res.text);
    }
    // An admin may be assigned a key date too.
    let res = app
        .post(&path, with(&body, json!({"assignedTo": demo::ADMIN_ID})))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(app.count("sn_dpr_model_release_key_date").await, 4);
}

// ---------------------------------------------------------------------------
// Related tasks
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_related_task_example_relates_both_tasks() {
    let app = demo_app().await;
    let res = app
        .post(&related_task_path(PORTAL_RELEASE), example_tasks())
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(
        res.body,
        json!({"result": {"error": false, "message": TASKS_RELATED}})
    );
    let res = app
        .get(&format!(
            "/api/now/table/sn_dpr_model_release_related_task?sysparm_query=release={PORTAL_RELEASE}"
        ))
        .await;
    let mut tasks: Vec<&str> = res.body["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["task"]["value"].as_str().unwrap())
        .collect();
    tasks.sort();
    assert_eq!(tasks, [CHANGE, STORY]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relating_tasks_again_writes_no_second_mapping() {
    let app = demo_app().await;
    let path = related_task_path(PORTAL_RELEASE);
    let res = app.post(&path, json!({"taskIds": [CHANGE]})).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(app.count("sn_dpr_model_release_related_task").await, 1);
    // Again, with the other task and the first one twice.
    let res = app
        .post(
            &format!(
                "/api/sn_dpr/v1/digital_product_release/release/{PORTAL_RELEASE}/related_task"
            ),
            json!({"taskIds": [CHANGE, STORY, CHANGE]}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(res.body["result"]["message"], TASKS_RELATED);
    assert_eq!(app.count("sn_dpr_model_release_related_task").await, 2);
    let res = app.post(&path, example_tasks()).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(app.count("sn_dpr_model_release_related_task").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_task_record_cannot_be_related_and_nothing_is_written() {
    let app = demo_app().await;
    let plain = create(&app, "task", json!({"short_description": "Just a task"})).await;
    assert_eq!(record(&app, "task", &plain).await["sys_class_name"], "task");
    refused(
        &app,
        &related_task_path(PORTAL_RELEASE),
        json!({"taskIds": [CHANGE, plain, STORY]}),
        &plain,
    )
    .await;
    assert_eq!(app.count("sn_dpr_model_release_related_task").await, 0);
    // Even when the property names the task table itself.
    create(
        &app,
        "sys_properties",
        json!({"name": "sn_dpr_model.release_related_task_types", "value": "task,change_request,rm_story"}),
    )
    .await;
    refused(
        &app,
        &related_task_path(PORTAL_RELEASE),
        json!({"taskIds": [CHANGE, plain]}),
        &plain,
    )
    .await;
    assert_eq!(app.count("sn_dpr_model_release_related_task").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_of_tables_missing_from_the_property_are_refused() {
    let app = demo_app().await;
    let incident = create(
        &app,
        "incident",
        json!({"short_description": "Portal down"}),
    )
    .await;
    create(
        &app,
        "sys_properties",
        json!({"name": "sn_dpr_model.release_related_task_types", "value": "incident, problem"}),
    )
    .await;
    let path = related_task_path(PORTAL_RELEASE);
    // The example's change request is no longer allowed.
    refused(&app, &path, example_tasks(), CHANGE).await;
    refused(&app, &path, json!({"taskIds": [incident, STORY]}), STORY).await;
    assert_eq!(app.count("sn_dpr_model_release_related_task").await, 0);
    let res = app.post(&path, json!({"taskIds": [incident]})).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(app.count("sn_dpr_model_release_related_task").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_property_changes_incidents_problems_and_stories_may_be_related() {
    let app = demo_app().await;
    let incident = create(&app, "incident", json!({"short_description": "Slow login"})).await;
    let problem = create(&app, "problem", json!({"short_description": "Memory leak"})).await;
    let res = app
        .post(
            &related_task_path(PORTAL_RELEASE),
            json!({"taskIds": [incident, problem, CHANGE, STORY]}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(app.count("sn_dpr_model_release_related_task").await, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_unknown_task_among_good_ones_relates_none_of_them() {
    let app = demo_app().await;
    refused(
        &app,
        &related_task_path(PORTAL_RELEASE),
        json!({"taskIds": [CHANGE, UNKNOWN, STORY]}),
        UNKNOWN,
    )
    .await;
    assert_eq!(app.count("sn_dpr_model_release_related_task").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_related_task_requests_name_the_field_and_write_nothing() {
    let app = demo_app().await;
    let path = related_task_path(PORTAL_RELEASE);
    let cases: Vec<(&str, Value)> = vec![
        ("taskIds is required", json!({})),
        ("taskIds is required", json!({"taskIds": null})),
        ("taskIds", json!({"taskIds": []})),
        ("taskIds must be an array", json!({"taskIds": CHANGE})),
        ("taskIds[1]", json!({"taskIds": [CHANGE, 5]})),
        ("taskIds[0]", json!({"taskIds": ["not-a-task"]})),
    ];
    for (expected, body) in cases {
        refused(&app, &path, body, expected).await;
    }
    for release in [UNKNOWN, "nope"] {
        let res = app.post(&related_task_path(release), example_tasks()).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
        assert_eq!(
            res.body,
            json!({"result": {"error": true, "message": "Release ID is invalid"}})
        );
    }
    assert_eq!(app.count("sn_dpr_model_release_related_task").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_product_managers_and_release_admins_relate_tasks() {
    let app = demo_app().await;
    let path = related_task_path(PORTAL_RELEASE);
    let res = app
        .request("POST", &path, &Auth::None, Some(example_tasks()))
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let coordinator = app
        .user("cora", &["sn_dpr_model.release_coordinator"])
        .await;
    let res = app
        .request("POST", &path, &coordinator, Some(example_tasks()))
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
    assert_eq!(app.count("sn_dpr_model_release_related_task").await, 0);
    for (name, role) in [
        ("rita", "sn_dpr_model.release_admin"),
        ("paula", "sn_dpr_model.product_manager"),
    ] {
        let user = app.user(name, &[role]).await;
        let res = app
            .request("POST", &path, &user, Some(json!({"taskIds": [STORY]})))
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{role}: {}", res.text);
    }
    assert_eq!(app.count("sn_dpr_model_release_related_task").await, 1);
}

// ---------------------------------------------------------------------------
// Demo data
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_release_of_the_key_date_example_is_an_in_progress_timeline_release() {
    let app = demo_app().await;
    let r = record(&app, "sn_dpr_model_release", PORTAL_RELEASE).await;
    assert_eq!(r["state"], "in_progress");
    assert_eq!(r["process_type"], "timeline");
    assert_eq!(r["template"]["value"], demo::TEMPLATE_TIMELINE);
    assert_eq!(r["planned_start"], "2025-09-01 00:00:00");
    assert_eq!(r["planned_end"], "2025-12-31 23:59:59");
    let phases = count_where(
        &app,
        "sn_dpr_model_release_phase",
        "release",
        PORTAL_RELEASE,
    )
    .await;
    assert_eq!(phases, 4);
    assert!(r["current_phase"]["value"].is_string(), "{r}");
    let media = record(&app, "sn_dpr_model_release", MEDIA_RELEASE).await;
    assert_eq!(media["version"]["value"], MEDIA_VERSION);
    assert_eq!(
        record(&app, "cmdb_model", MEDIA_VERSION).await["product"]["value"],
        MEDIA_PRODUCT
    );
    assert_eq!(
        record(&app, "task", CHANGE).await["sys_class_name"],
        "change_request"
    );
    assert_eq!(
        record(&app, "task", STORY).await["sys_class_name"],
        "rm_story"
    );

    // Loading again adds no second copy.
    app.demo().await;
    assert_eq!(
        count_where(
            &app,
            "sn_dpr_model_release_phase",
            "release",
            PORTAL_RELEASE
        )
        .await,
        4
    );
    assert_eq!(
        count_where(&app, "sys_user_has_role", "user", ABEL).await,
        1
    );
}
