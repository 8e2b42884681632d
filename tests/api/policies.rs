//! Policies: refused on save when they do not compile; runs evaluate every
//! policy of the current phase for every product, through the job queue.

use axum::http::StatusCode;
use serde_json::{json, Value};
use tollgate::config::Settings;
use tollgate::demo;

use crate::helpers::*;

const RELEASE: &str = "/api/sn_dpr/digital_product_release/release";

/// Example 1 of docs/POLICIES.md: every enhancement of the release is closed.
const ENHANCEMENTS_CLOSED: &str = r#"package tollgate.policy

default compliant := false

compliant if count(violations) == 0

violations contains msg if {
	some e in input.enhancements
	e.state != "closed"
	msg := sprintf("%s is %s", [e.number, e.state])
}

closed := [e | some e in input.enhancements; e.state == "closed"]

output := sprintf("%d of %d enhancements closed", [count(closed), count(input.enhancements)])
"#;

const DIVIDES_BY_ZERO: &str = "package tollgate.policy\n\ndefault compliant := false\n\ncompliant if {\n\tx := count(input.tasks)\n\t1 / x > 0\n}\n";

fn run_path(release: &str) -> String {
    format!("/api/sn_dpr/digital_product_release/release/{release}/policies/run")
}

fn status_path(release: &str) -> String {
    format!("/api/sn_dpr/digital_product_release/releases/{release}/policies/status")
}

async fn policy_on_plan(app: &TestApp, name: &str, rego: &str) -> String {
    let res = app
        .post(
            "/api/now/table/sn_pace_policy",
            json!({"name": name, "rego": rego}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let policy = res.body["result"]["sys_id"].as_str().unwrap().to_owned();
    let phase = app
        .get(&format!(
            "/api/now/table/sn_dpr_model_template_phase?sysparm_query=template={}^name=Plan",
            demo::TEMPLATE_TIMELINE
        ))
        .await;
    let phase = phase.body["result"][0]["sys_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .post(
            "/api/now/table/sn_dpr_model_template_phase_policy",
            json!({"template_phase": phase, "policy": policy}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    policy
}

async fn release_with_two_products(app: &TestApp) -> String {
    let res = app
        .post(
            RELEASE,
            json!({"name": "Payments Q1", "productId": demo::PRODUCT_PAYMENTS, "releaseOwner": demo::ADMIN_ID,
                   "templateId": demo::TEMPLATE_TIMELINE, "includedVersions": [demo::VERSION_IDENTITY_3_2]}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    res.body["result"]["releaseId"].as_str().unwrap().to_owned()
}

fn details(status: &Value) -> Vec<Value> {
    status["result"]["products"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["policyExecutionDetails"].as_array().unwrap().clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_that_does_not_compile_is_refused_with_the_compilers_message() {
    let app = TestApp::spawn().await;
    let before = app.count("sn_pace_policy").await;
    let v0 = "package tollgate.policy\n\ndefault compliant := false\ncompliant {\n\ttrue\n}\n";
    let res = app
        .post(
            "/api/now/table/sn_pace_policy",
            json!({"name": "Old style", "rego": v0}),
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    let message = res.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("rego") && message.contains("policy.rego:4"),
        "{message}"
    );
    let res = app
        .post(
            "/api/now/table/sn_pace_policy",
            json!({"name": "No verdict", "rego": "package tollgate.policy\n\nx := 1\n"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.count("sn_pace_policy").await, before);

    let ok = app
        .post(
            "/api/now/table/sn_pace_policy",
            json!({"name": "Good", "rego": ENHANCEMENTS_CLOSED}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text);
    let id = ok.body["result"]["sys_id"].as_str().unwrap();
    let res = app
        .request(
            "PATCH",
            &format!("/api/now/table/sn_pace_policy/{id}"),
            &Auth::admin(),
            Some(json!({"rego": v0})),
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::BAD_REQUEST,
        "an edit must compile too"
    );
    let stored = app
        .get(&format!("/api/now/table/sn_pace_policy/{id}"))
        .await;
    assert_eq!(stored.body["result"]["rego"], ENHANCEMENTS_CLOSED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_evaluates_every_policy_for_every_product_and_gates_the_phase() {
    let app = TestApp::spawn_demo().await;
    let policy = policy_on_plan(&app, "Enhancements closed", ENHANCEMENTS_CLOSED).await;
    let release = release_with_two_products(&app).await;
    let enhancement = app
        .post(
            "/api/now/table/sn_dpr_model_product_enhancement",
            json!({"name": "Bulk refunds", "product": demo::PRODUCT_PAYMENTS, "release": release}),
        )
        .await;
    assert_eq!(
        enhancement.status,
        StatusCode::CREATED,
        "{}",
        enhancement.text
    );
    let number = enhancement.body["result"]["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let enhancement_id = enhancement.body["result"]["sys_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let pm = app.user("pam", &["sn_dpr_model.product_manager"]).await;
    let res = app.request("POST", &run_path(&release), &pm, None).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(
        res.body,
        json!({"result": {"error": false, "errorCode": "", "message": "Policy execution scheduled.", "policyExecutionScheduled": true}})
    );
    let status = app.get(&status_path(&release)).await;
    assert!(
        details(&status.body)
            .iter()
            .all(|d| d["status"] == "not_run"),
        "scheduled, not run yet"
    );
    app.run_jobs().await.assert_all_succeeded();
    app.assert_no_jobs_left().await;

    let status = app.get(&status_path(&release)).await;
    let all = details(&status.body);
    assert_eq!(all.len(), 2, "one policy for each of two products");
    for d in &all {
        assert_eq!(d["policyId"], policy.as_str());
        assert_eq!(d["status"], "non_compliant");
        assert_eq!(d["reason"], format!("{number} is open"));
        assert_eq!(d["executionOutput"], "0 of 1 enhancements closed");
        assert_ne!(d["lastRunAt"], "");
    }
    let res = app
        .post(
            &format!("/api/sn_dpr/digital_product_release/release_id/{release}/complete_phase"),
            json!({}),
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::BAD_REQUEST,
        "non-compliant policies hold the phase"
    );

    let res = app
        .request(
            "PATCH",
            &format!("/api/now/table/sn_dpr_model_product_enhancement/{enhancement_id}"),
            &Auth::admin(),
            Some(json!({"state": "closed"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(
        app.request("POST", &run_path(&release), &pm, None)
            .await
            .status,
        StatusCode::CREATED
    );
    app.run_jobs().await.assert_all_succeeded();
    app.assert_no_jobs_left().await;
    let status = app.get(&status_path(&release)).await;
    assert_eq!(
        status.body["result"]["overallSummary"]["compliant"], true,
        "{}",
        status.text
    );
    assert!(details(&status.body)
        .iter()
        .all(|d| d["reason"] == "All checks passed"));
    let results = app
        .db
        .fetch_optional(
            "SELECT COUNT(*) AS n FROM sn_dpr_model_policy_execution WHERE \"release\" = $1",
            &[tollgate::storage::Value::from(release.as_str())],
        )
        .await
        .unwrap()
        .and_then(|r| r.int("n"));
    assert_eq!(results, Some(2), "a rerun updates the results in place");
    let res = app
        .post(
            &format!("/api/sn_dpr/digital_product_release/release_id/{release}/complete_phase"),
            json!({}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_that_fails_at_run_time_is_recorded_non_compliant_with_the_error() {
    let app = TestApp::spawn_demo().await;
    policy_on_plan(&app, "Divides", DIVIDES_BY_ZERO).await;
    let release = release_with_two_products(&app).await;
    assert_eq!(
        app.post(&run_path(&release), json!({})).await.status,
        StatusCode::CREATED
    );
    app.run_jobs().await.assert_all_succeeded();
    app.assert_no_jobs_left().await;
    let status = app.get(&status_path(&release)).await;
    for d in details(&status.body) {
        assert_eq!(d["status"], "non_compliant");
        assert_eq!(d["reason"], "Policy evaluation failed");
        assert!(
            d["executionOutput"]
                .as_str()
                .unwrap()
                .contains("divide by zero"),
            "{d}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_needs_an_in_progress_release_and_the_product_manager_role() {
    let app = TestApp::spawn_demo().await;
    // A refused run answers the fields of the documented answer too.
    let res = app.post(&run_path("a"), json!({})).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        res.body,
        json!({"result": {"error": true, "errorCode": "400", "message": "Release ID is invalid",
                          "policyExecutionScheduled": false}})
    );
    let res = app.post(&run_path(demo::DRAFT_RELEASE_ID), json!({})).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(res.body["result"]["errorCode"], "400", "{}", res.text);
    assert_eq!(
        res.body["result"]["policyExecutionScheduled"], false,
        "{}",
        res.text
    );
    assert!(res.body["result"]["message"]
        .as_str()
        .unwrap()
        .contains("not In Progress"));
    let release = release_with_two_products(&app).await;
    let admin_only = app.user("ray", &["sn_dpr_model.release_admin"]).await;
    assert_eq!(
        app.request("POST", &run_path(&release), &admin_only, None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.count("tollgate_job").await,
        0,
        "nothing scheduled by refused requests"
    );
}

/// A built-in that asks for 48 GB in one call: it passes the save check,
/// and evaluating it must end as a failed result, not as a dead server.
const ASKS_FOR_48_GB: &str = "package tollgate.policy\n\ndefault compliant := false\n\ncompliant if count(numbers.range(1, 2000000000)) > 0\n";

/// Nine million iterations: far past the one-second evaluation limit.
const RUNS_FOR_MINUTES: &str = "package tollgate.policy\n\ndefault compliant := false\n\ncompliant if count([x | some i in numbers.range(1, 3000); some j in numbers.range(1, 3000); x := i * j]) > 0\n";

/// Runs `rego` as the only policy of a new release's phase; the details of
/// every (product, policy) result. `app` starts with the demo data.
async fn run_one_policy(app: &TestApp, name: &str, rego: &str) -> Vec<Value> {
    policy_on_plan(app, name, rego).await;
    let release = release_with_two_products(app).await;
    assert_eq!(
        app.post(&run_path(&release), json!({})).await.status,
        StatusCode::CREATED
    );
    app.run_jobs().await.assert_all_succeeded();
    app.assert_no_jobs_left().await;
    let status = app.get(&status_path(&release)).await;
    let details = details(&status.body);
    assert!(!details.is_empty(), "{}", status.text);
    details
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_over_the_memory_limit_fails_its_evaluation_and_the_server_goes_on() {
    // A loaded CI machine may take longer than the default second to reach
    // the memory limit; the time limit must not be met first.
    let app = TestApp::spawn_demo_with_settings(Settings {
        policy_time_limit_ms: 60_000,
        ..test_settings()
    })
    .await;
    for d in run_one_policy(&app, "Greedy", ASKS_FOR_48_GB).await {
        assert_eq!(d["status"], "non_compliant", "{d}");
        assert_eq!(d["reason"], "Policy evaluation failed", "{d}");
        assert!(
            d["executionOutput"]
                .as_str()
                .unwrap()
                .contains("more memory than the limit"),
            "{d}"
        );
    }
    // The evaluator was replaced: an ordinary policy still evaluates.
    let res = app
        .post(
            "/api/now/table/sn_pace_policy",
            json!({"name": "Fine", "rego": "package tollgate.policy\n\ncompliant := true\n"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_over_the_time_limit_fails_its_evaluation() {
    let app = TestApp::spawn_demo().await;
    for d in run_one_policy(&app, "Slow", RUNS_FOR_MINUTES).await {
        assert_eq!(d["status"], "non_compliant", "{d}");
        let output = d["executionOutput"].as_str().unwrap().to_lowercase();
        assert!(output.contains("time limit"), "{d}");
    }
}
