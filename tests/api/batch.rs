//! The Batch API: several REST requests in one call, each run through the
//! same router with the batch caller's credentials.

use axum::http::StatusCode;
use base64::Engine;
use serde_json::{json, Value};

use crate::helpers::*;

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn decoded(answer: &Value) -> Value {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(answer["body"].as_str().unwrap_or(""))
        .expect("base64 body");
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

fn json_headers() -> Value {
    json!([{"name": "Content-Type", "value": "application/json"}, {"name": "Accept", "value": "application/json"}])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_runs_each_request_in_order_and_answers_each() {
    let app = TestApp::spawn_demo().await;
    let res = app
        .post(
            "/api/now/v1/batch",
            json!({
                "batch_request_id": 7,
                "rest_requests": [
                    {"id": "create", "method": "POST", "url": "/api/now/table/cmn_schedule?sysparm_fields=sys_id,name",
                     "headers": json_headers(), "body": b64(r#"{"name": "Batch freeze"}"#)},
                    {"id": "list", "method": "GET", "url": "/api/now/table/cmn_schedule?sysparm_query=name=Batch%20freeze&sysparm_fields=name",
                     "headers": json_headers()},
                    {"id": "missing", "method": "GET", "url": "/api/now/table/cmn_schedule/0123456789abcdef0123456789abcdef",
                     "exclude_response_headers": true},
                ]
            }),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    // pysnc sends a number and compares the answer's id as a string.
    assert_eq!(res.body["batch_request_id"], "7");
    assert_eq!(res.body["unserviced_requests"], json!([]));
    let answers = res.body["serviced_requests"].as_array().unwrap();
    assert_eq!(answers.len(), 3);
    assert_eq!(answers[0]["id"], "create");
    assert_eq!(answers[0]["status_code"], 201);
    assert_eq!(answers[0]["status_text"], "Created");
    let created = decoded(&answers[0]);
    let sys_id = created["result"]["sys_id"].as_str().unwrap().to_owned();
    assert_eq!(created["result"]["name"], "Batch freeze");
    // The second request sees the first's write, and its headers come back.
    assert_eq!(answers[1]["status_code"], 200);
    assert_eq!(
        decoded(&answers[1])["result"],
        json!([{"name": "Batch freeze"}])
    );
    let headers = answers[1]["headers"].as_array().unwrap();
    assert!(
        headers
            .iter()
            .any(|h| h["name"] == "x-total-count" && h["value"] == "1"),
        "{headers:?}"
    );
    assert_eq!(answers[2]["status_code"], 404);
    assert_eq!(decoded(&answers[2])["status"], "failure");
    assert_eq!(answers[2]["headers"], json!([]));
    assert!(answers[2]["execution_time"].is_u64());

    // Update and delete in one batch.
    let res = app
        .post(
            "/api/now/batch",
            json!({"batch_request_id": "2", "rest_requests": [
                {"id": "1", "method": "PATCH", "url": format!("/api/now/table/cmn_schedule/{sys_id}"),
                 "headers": json_headers(), "body": b64(r#"{"description": "patched"}"#)},
                {"id": "2", "method": "DELETE", "url": format!("/api/now/table/cmn_schedule/{sys_id}")},
            ]}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let answers = res.body["serviced_requests"].as_array().unwrap();
    assert_eq!(answers[0]["status_code"], 200);
    assert_eq!(decoded(&answers[0])["result"]["description"], "patched");
    assert_eq!(answers[1]["status_code"], 204);
    let gone = app
        .get(&format!("/api/now/table/cmn_schedule/{sys_id}"))
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_cannot_do_what_its_caller_cannot() {
    let app = TestApp::spawn_demo().await;
    let reader = app.user("reader", &["sn_dpr_model.release_user"]).await;
    let res = app
        .request(
            "POST",
            "/api/now/batch",
            &reader,
            Some(json!({"rest_requests": [
                {"id": "w", "method": "POST", "url": "/api/now/table/cmn_schedule", "headers": json_headers(),
                 "body": b64(r#"{"name": "sneaky"}"#)},
                // A credential inside the batch is ignored: the batch's own is used.
                {"id": "a", "method": "GET", "url": "/api/now/table/sys_user",
                 "headers": [{"name": "Authorization", "value": basic_admin()}]},
                {"id": "r", "method": "GET", "url": "/api/now/table/cmn_schedule?sysparm_limit=1"},
            ]})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let answers = res.body["serviced_requests"].as_array().unwrap();
    assert_eq!(answers[0]["status_code"], 403, "{}", answers[0]);
    assert_eq!(answers[1]["status_code"], 403, "{}", answers[1]);
    assert_eq!(answers[2]["status_code"], 200, "{}", answers[2]);
    let count = app
        .get("/api/now/table/cmn_schedule?sysparm_query=name=sneaky")
        .await;
    assert_eq!(count.body["result"], json!([]));

    // Without credentials the batch itself is refused.
    let res = app
        .request(
            "POST",
            "/api/now/batch",
            &Auth::None,
            Some(json!({"rest_requests": []})),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
}

fn basic_admin() -> String {
    match Auth::admin() {
        Auth::Basic(u, p) => format!("Basic {}", b64(&format!("{u}:{p}"))),
        _ => unreachable!(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_refuses_absolute_urls_nested_batches_and_other_methods() {
    let app = TestApp::spawn_demo().await;
    for (url, method) in [
        ("https://evil.example/api/now/table/sys_user", "GET"),
        ("//evil.example/api/now/table/sys_user", "GET"),
        ("/oauth_token.do", "POST"),
        ("/api/now/v1/batch", "POST"),
        ("/api/now/%62atch", "POST"),
        ("/api/now/table/sys_user", "TRACE"),
    ] {
        let res = app
            .post(
                "/api/now/batch",
                json!({"rest_requests": [
                    {"id": "ok", "method": "POST", "url": "/api/now/table/cmn_schedule", "body": b64(r#"{"name": "x"}"#)},
                    {"id": "bad", "method": method, "url": url},
                ]}),
            )
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{url}: {}", res.text);
        assert_eq!(res.body["status"], "failure");
        assert!(res.text.contains("rest_requests[1]"), "{}", res.text);
    }
    // Nothing ran: the batch is checked before any request runs.
    let list = app
        .get("/api/now/table/cmn_schedule?sysparm_query=name=x")
        .await;
    assert_eq!(list.body["result"], json!([]));
    let res = app
        .post("/api/now/batch", json!({"batch_request_id": "1"}))
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_past_the_limit_come_back_unserviced() {
    let app = TestApp::spawn_demo_with_settings(tollgate::config::Settings {
        batch_max_requests: 2,
        ..test_settings()
    })
    .await;
    let requests: Vec<Value> = (0..5)
        .map(|n| json!({"id": format!("r{n}"), "method": "GET", "url": "/api/now/table/cmn_schedule?sysparm_limit=1"}))
        .collect();
    let res = app
        .post(
            "/api/now/batch",
            json!({"batch_request_id": "b", "rest_requests": requests}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let serviced: Vec<&str> = res.body["serviced_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(serviced, ["r0", "r1"]);
    assert_eq!(res.body["unserviced_requests"], json!(["r2", "r3", "r4"]));

    // The batch body, inner bodies included, is bounded by body_limit.
    let huge = b64(&format!(r#"{{"name": "{}"}}"#, "x".repeat(64 * 1024)));
    let res = app
        .post(
            "/api/now/batch",
            json!({"rest_requests": [{"id": "1", "method": "POST", "url": "/api/now/table/cmn_schedule", "body": huge}]}),
        )
        .await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", res.text);
}
