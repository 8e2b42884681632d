//! Envelopes and errors shared by every family, and the operations endpoints.
//!
//! The tests run on a multi-thread runtime: the harness drops a test's
//! PostgreSQL schema from `Drop`, blocking the test's thread, and a
//! connection a failed request left in a transaction is rolled back by a task
//! that needs another thread to run (on one thread the drop waits forever).

use std::collections::{BTreeSet, HashSet};

use axum::http::StatusCode;
use serde_json::{json, Value as Json};

use tollgate::demo::ADMIN_ID;
use tollgate::http::families;

use crate::helpers::{test_settings, Auth, TestApp, TestResponse};

const NO_RESOURCE: &str = "Requested URI does not represent any resource";

fn no_resource_body() -> Json {
    json!({"error": {"message": NO_RESOURCE, "detail": null}, "status": "failure"})
}

/// Asserts a ServiceNow failure envelope with `status` whose message contains `words`.
fn assert_envelope(res: &TestResponse, status: StatusCode, words: &str) {
    assert_eq!(res.status, status, "{}", res.text);
    assert_eq!(res.body["status"], "failure", "{}", res.text);
    let message = res.body["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no error.message in {}", res.text));
    assert!(
        message.contains(words),
        "message {message:?} should contain {words:?}"
    );
    assert!(
        res.body["error"].get("detail").is_some(),
        "error.detail is present: {}",
        res.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_under_api_naming_no_endpoint_is_400_with_the_exact_envelope() {
    let app = TestApp::spawn().await;
    for path in [
        "/api/nothing",
        "/api/now/nothing/sys_user",
        "/api/now/table",
        "/api/now/table/sys_user/0123456789abcdef0123456789abcdef/extra",
        "/api/sn_dpr/digital_product_release/no_such_thing",
        "/api/sn_cicd/no_such_thing",
        "/api/",
    ] {
        for auth in [Auth::admin(), Auth::None] {
            let res = app.request("GET", path, &auth, None).await;
            assert_eq!(
                res.status,
                StatusCode::BAD_REQUEST,
                "{path} ({auth:?}): {}",
                res.text
            );
            assert_eq!(res.body, no_resource_body(), "{path} ({auth:?})");
        }
        let res = app.post(path, json!({"name": "x"})).await;
        assert_eq!(
            res.status,
            StatusCode::BAD_REQUEST,
            "POST {path}: {}",
            res.text
        );
        assert_eq!(res.body, no_resource_body(), "POST {path}");
    }
}

/// Each family answers the paths below its prefixes that name nothing, in
/// its own envelope: CDM (also below the `/sn_cdm` alias, where only one
/// endpoint routes) with its `Error:` message, CI/CD in XML when asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_naming_nothing_below_a_family_prefix_keeps_the_family_envelope() {
    let app = TestApp::spawn().await;
    for path in [
        "/api/sn_cdm/nothing",
        "/api/sn_cdm/v1/changesets/nothing",
        "/sn_cdm/nothing",
        // Routed under /api/sn_cdm, not under the alias.
        "/sn_cdm/changesets/activity",
    ] {
        for auth in [Auth::admin(), Auth::None] {
            let res = app.request("GET", path, &auth, None).await;
            assert_eq!(res.status, StatusCode::BAD_REQUEST, "{path}: {}", res.text);
            assert_eq!(
                res.body,
                json!({"error": {"message": format!("Error: {NO_RESOURCE}"), "detail": ""}, "status": "failure"}),
                "{path} ({auth:?})"
            );
        }
    }
    for path in ["/api/sn_cicd/nothing", "/api/sn_cicd"] {
        let req = axum::http::Request::get(path)
            .header("accept", "application/xml")
            .body(axum::body::Body::empty())
            .unwrap();
        let res = app.send(req).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{path}: {}", res.text);
        assert_eq!(
            res.header("content-type"),
            Some("application/xml"),
            "{path}"
        );
        assert!(
            res.text
                .contains(&format!("<message>{NO_RESOURCE}</message>")),
            "{}",
            res.text
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_outside_api_naming_no_endpoint_is_404() {
    let app = TestApp::spawn().await;
    let res = app.request("GET", "/no/such/page", &Auth::None, None).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.text);
    assert_eq!(res.body["error"]["message"], NO_RESOURCE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_v3_path_is_404_with_code_4007() {
    let app = TestApp::spawn().await;
    for (method, path) in [
        ("GET", "/api/v3/anything"),
        ("POST", "/api/v3/releases/1/nothing"),
        ("GET", "/api/v3"),
    ] {
        let res = app.request(method, path, &Auth::admin(), None).await;
        assert_eq!(
            res.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {}",
            res.text
        );
        let status = &res.body["response_status"];
        assert_eq!(status["status_code"], 4000, "{}", res.text);
        assert_eq!(status["status"], "failed", "{}", res.text);
        assert_eq!(status["messages"][0]["status_code"], 4007, "{}", res.text);
        assert_eq!(status["messages"][0]["type"], "failed", "{}", res.text);
        assert!(
            res.body.get("error").is_none(),
            "not the ServiceNow envelope: {}",
            res.text
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_method_is_405_in_the_servicenow_envelope() {
    let app = TestApp::spawn().await;
    for (method, path) in [
        (
            "DELETE",
            "/api/sn_dpr/digital_product_release/release_calendar",
        ),
        (
            "GET",
            "/api/sn_dpr/digital_product_release/release_calendar",
        ),
        (
            "DELETE",
            "/api/sn_dpr/v1/digital_product_release/release_calendar",
        ),
        ("PUT", "/api/sn_dpr/digital_product_release/release_target"),
        ("DELETE", "/api/now/table/sys_user"),
        (
            "POST",
            "/api/now/table/sys_user/0123456789abcdef0123456789abcdef",
        ),
        (
            "DELETE",
            "/api/sn_cicd/progress/0123456789abcdef0123456789abcdef",
        ),
    ] {
        let res = app.request(method, path, &Auth::admin(), None).await;
        assert_eq!(
            res.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}: {}",
            res.text
        );
        assert_eq!(
            res.body["status"], "failure",
            "{method} {path}: {}",
            res.text
        );
        assert!(
            res.body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{}",
            res.text
        );
        assert!(res.body.get("result").is_none(), "{}", res.text);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_is_400_naming_the_problem_and_writes_nothing() {
    let app = TestApp::spawn().await;
    for (method, path) in [
        ("POST", "/api/now/table/cmn_schedule"),
        (
            "POST",
            "/api/sn_dpr/digital_product_release/release_calendar",
        ),
        ("PATCH", &format!("/api/now/table/sys_user/{ADMIN_ID}")),
    ] {
        let res = app
            .raw(
                method,
                path,
                &Auth::admin(),
                Some(r#"{"name": "x","#),
                "application/json",
            )
            .await;
        assert_envelope(&res, StatusCode::BAD_REQUEST, "Malformed JSON");
    }
    assert_eq!(app.count("cmn_schedule").await, 0);
    assert_eq!(app.count("sn_dpr_model_release_calendar").await, 0);
    assert_eq!(
        app.get(&format!("/api/now/table/sys_user/{ADMIN_ID}"))
            .await
            .body["result"]["sys_mod_count"],
        "0"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_body_that_is_not_an_object_is_400() {
    let app = TestApp::spawn().await;
    for body in [r#"[{"name": "x"}]"#, r#""name""#, "42", "null"] {
        let res = app
            .raw(
                "POST",
                "/api/now/table/cmn_schedule",
                &Auth::admin(),
                Some(body),
                "application/json",
            )
            .await;
        assert_envelope(&res, StatusCode::BAD_REQUEST, "JSON object");
    }
    assert_eq!(app.count("cmn_schedule").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_is_413_in_the_envelope_and_writes_nothing() {
    let limit = test_settings().body_limit;
    let app = TestApp::spawn().await;
    let big = json!({"name": "Too big", "description": "x".repeat(limit)}).to_string();
    assert!(big.len() > limit);
    for path in [
        "/api/now/table/cmn_schedule",
        "/api/sn_dpr/digital_product_release/release_calendar",
    ] {
        let res = app
            .raw("POST", path, &Auth::admin(), Some(&big), "application/json")
            .await;
        assert_envelope(&res, StatusCode::PAYLOAD_TOO_LARGE, &limit.to_string());
    }
    assert_eq!(app.count("cmn_schedule").await, 0);
    assert_eq!(app.count("sn_dpr_model_release_calendar").await, 0);

    // Just under the limit is accepted: the limit is the configured one.
    let fits = json!({"name": "Fits", "description": "x".repeat(limit - 100)}).to_string();
    assert!(fits.len() <= limit);
    let res = app
        .raw(
            "POST",
            "/api/now/table/cmn_schedule",
            &Auth::admin(),
            Some(&fits),
            "application/json",
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(app.count("cmn_schedule").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_version_segment_names_no_endpoint() {
    let app = TestApp::spawn().await;
    for path in [
        "/api/now/vX/table/sys_user",
        "/api/now/v/table/sys_user",
        "/api/now/1/table/sys_user",
        "/api/now/V1/table/sys_user",
        "/api/now/v1x/table/sys_user/0123456789abcdef0123456789abcdef",
    ] {
        for auth in [Auth::admin(), Auth::None] {
            let res = app.request("GET", path, &auth, None).await;
            assert_eq!(
                res.status,
                StatusCode::BAD_REQUEST,
                "{path} ({auth:?}): {}",
                res.text
            );
            assert_eq!(res.body, no_resource_body(), "{path} ({auth:?})");
        }
    }
    let res = app
        .post(
            "/api/sn_dpr/vX/digital_product_release/release_calendar",
            json!({"name": "x"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    assert_eq!(res.body, no_resource_body());
    let res = app
        .post("/api/now/vX/table/cmn_schedule", json!({"name": "x"}))
        .await;
    assert_eq!(res.body, no_resource_body());
    assert_eq!(app.count("cmn_schedule").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_credential_is_401_in_the_servicenow_envelope() {
    let app = TestApp::spawn().await;
    let expected = json!({
        "error": {"message": "User Not Authenticated", "detail": "Required to provide Auth information"},
        "status": "failure",
    });
    for (method, path) in [
        ("GET", "/api/now/table/sys_user"),
        (
            "POST",
            "/api/sn_dpr/digital_product_release/release_calendar",
        ),
        (
            "GET",
            "/api/sn_cicd/progress/0123456789abcdef0123456789abcdef",
        ),
    ] {
        let res = app
            .request(method, path, &Auth::None, Some(json!({})))
            .await;
        assert_eq!(
            res.status,
            StatusCode::UNAUTHORIZED,
            "{method} {path}: {}",
            res.text
        );
        assert_eq!(res.body, expected, "{method} {path}");
        assert!(
            res.header("www-authenticate").is_some(),
            "{method} {path}: {:?}",
            res.headers
        );
    }
    let res = app
        .request(
            "GET",
            "/api/now/table/sys_user",
            &Auth::Bearer("not-a-token".into()),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text);
    assert_eq!(res.body["status"], "failure");
    assert_eq!(res.body["error"]["message"], "User Not Authenticated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_200() {
    let app = TestApp::spawn().await;
    let res = app.request("GET", "/healthz", &Auth::None, None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.body, json!({"status": "ok"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_answers_200_with_the_schema_version() {
    let app = TestApp::spawn().await;
    let res = app.request("GET", "/readyz", &Auth::None, None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.body["status"], "ready");
    assert_eq!(
        res.body["schema_version"],
        tollgate::storage::migrations::latest_version()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_by_route_and_status_and_show_jobs() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.get("/api/now/table/sys_user").await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/now/table/cmn_schedule").await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.request("GET", "/api/now/table/cmn_schedule", &Auth::None, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/api/nothing/abc123").await.status,
        StatusCode::BAD_REQUEST
    );
    app.queue_raw_job("test_kind", "{}").await;
    app.queue_raw_job("test_kind", "{}").await;

    let res = app.request("GET", "/metrics", &Auth::admin(), None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert!(
        res.header("content-type")
            .is_some_and(|c| c.starts_with("text/plain")),
        "{:?}",
        res.headers
    );
    let text = &res.text;
    assert!(
        text.contains("# TYPE tollgate_http_requests_total counter"),
        "{text}"
    );
    assert!(
        text.contains(r#"tollgate_http_requests_total{method="GET",route="/api/now/table/{table}",status="200"} 2"#),
        "{text}"
    );
    assert!(
        text.contains(r#"tollgate_http_requests_total{method="GET",route="/api/now/table/{table}",status="401"} 1"#),
        "{text}"
    );
    assert!(
        !text.contains("abc123"),
        "an unrouted path is not a label of its own: {text}"
    );
    assert!(
        text.contains("tollgate_http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(
        text.contains(r#"tollgate_jobs{state="pending"} 2"#),
        "{text}"
    );
    assert!(
        text.contains(r#"tollgate_jobs{state="failed"} 0"#),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_lists_every_endpoint_and_every_listed_endpoint_is_routed() {
    let app = TestApp::spawn().await;
    let res = app
        .request("GET", "/openapi.json", &Auth::admin(), None)
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let doc = &res.body;
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{}",
        res.text
    );
    let paths = doc["paths"].as_object().expect("paths");
    let families = families();
    let listed: BTreeSet<&str> = paths.keys().map(String::as_str).collect();
    let expected: BTreeSet<String> = families
        .iter()
        .flat_map(|f| f.endpoints.iter().map(|e| f.documented_path(e)))
        .collect();
    let expected: BTreeSet<&str> = expected.iter().map(String::as_str).collect();
    assert_eq!(listed, expected, "the document lists exactly the endpoints");

    let mut checked = HashSet::new();
    for family in &families {
        for e in &family.endpoints {
            let method = e.method.as_str();
            assert!(
                paths[&family.documented_path(e)]
                    .get(method.to_ascii_lowercase())
                    .is_some(),
                "{method} {} is listed",
                family.documented_path(e)
            );
            // Every form: versioned, unversioned, aliases, trailing slashes.
            for path in family.example_paths(e) {
                let res = app.request(method, &path, &Auth::admin(), None).await;
                assert!(
                    !res.text.contains(NO_RESOURCE),
                    "{method} {path} is routed: {} {}",
                    res.status,
                    res.text
                );
                assert_ne!(
                    res.status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path}: {}",
                    res.text
                );
                assert!(
                    !res.status.is_server_error(),
                    "{method} {path}: {} {}",
                    res.status,
                    res.text
                );
                checked.insert((method, path));
            }
        }
    }
    let endpoints: usize = families.iter().map(|f| f.endpoints.len()).sum();
    assert!(checked.len() > endpoints, "versioned forms are checked too");
}
