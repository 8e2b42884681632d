//! Completing phases (gated on policy results) and the policy status page.

use axum::http::StatusCode;
use serde_json::{json, Value};
use tollgate::demo;
use tollgate::storage::Value as Sql;

use crate::helpers::*;

const RELEASE: &str = "/api/sn_dpr/digital_product_release/release";
const ALWAYS: &str = "package tollgate.policy\n\ndefault compliant := false\n\ncompliant if {\n\tcount(input.enhancements) >= 0\n}\n";

fn complete_path(release: &str) -> String {
    format!("/api/sn_dpr/digital_product_release/release_id/{release}/complete_phase")
}

fn status_path(release: &str) -> String {
    format!("/api/sn_dpr/v1/digital_product_release/releases/{release}/policies/status")
}

/// A release of Payments Service that also ships Identity Service 3.2, on the
/// four-phase timeline template.
async fn two_product_release(app: &TestApp) -> String {
    let res = app
        .post(
            RELEASE,
            json!({"name": "Payments Q1", "productId": demo::PRODUCT_PAYMENTS, "productVersion": demo::VERSION_PAYMENTS_2_5,
                   "releaseOwner": demo::ADMIN_ID, "templateId": demo::TEMPLATE_TIMELINE,
                   "includedVersions": [demo::VERSION_IDENTITY_3_2]}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    res.body["result"]["releaseId"].as_str().unwrap().to_owned()
}

async fn template_phase(app: &TestApp, name: &str) -> String {
    let res = app
        .get(&format!(
            "/api/now/table/sn_dpr_model_template_phase?sysparm_query=template={}^name={name}",
            demo::TEMPLATE_TIMELINE
        ))
        .await;
    res.body["result"][0]["sys_id"].as_str().unwrap().to_owned()
}

/// Creates a policy and maps it to a phase of the timeline template.
async fn map_policy(app: &TestApp, name: &str, phase: &str) -> String {
    let res = app
        .post(
            "/api/now/table/sn_pace_policy",
            json!({"name": name, "rego": ALWAYS}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let policy = res.body["result"]["sys_id"].as_str().unwrap().to_owned();
    let phase = template_phase(app, phase).await;
    let res = app
        .post(
            "/api/now/table/sn_dpr_model_template_phase_policy",
            json!({"template_phase": phase, "policy": policy}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    policy
}

async fn current_phase(app: &TestApp, release: &str) -> Value {
    let r = app
        .get(&format!("/api/now/table/sn_dpr_model_release/{release}"))
        .await;
    let phase = r.body["result"]["current_phase"]["value"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    if phase.is_empty() {
        return Value::Null;
    }
    app.get(&format!(
        "/api/now/table/sn_dpr_model_release_phase/{phase}"
    ))
    .await
    .body["result"]
        .clone()
}

/// Records a result as a policy run would.
async fn record(
    app: &TestApp,
    release: &str,
    product: &str,
    policy: &str,
    status: &str,
    when: &str,
) {
    let phase = current_phase(app, release).await["sys_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let table = tollgate::registry::table("sn_dpr_model_policy_execution").unwrap();
    let mut tx = app.db.begin().await.unwrap();
    tollgate::domain::records::insert_values(
        &mut tx,
        table,
        None,
        vec![
            ("release", Sql::from(release)),
            ("release_phase", Sql::Text(phase)),
            ("product", Sql::from(product)),
            ("policy", Sql::from(policy)),
            ("status", Sql::from(status)),
            ("reason", Sql::Text(format!("{status} reason"))),
            ("output", Sql::Text(format!("{status} output"))),
            ("last_run_at", Sql::from(when)),
        ],
        "test",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn release_state(app: &TestApp, release: &str) -> String {
    let r = app
        .get(&format!("/api/now/table/sn_dpr_model_release/{release}"))
        .await;
    r.body["result"]["state"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phase_without_policies_completes_and_the_next_one_starts() {
    let app = TestApp::spawn_demo().await;
    let release = two_product_release(&app).await;
    let plan = current_phase(&app, &release).await;
    assert_eq!(plan["name"], "Plan");
    let res = app.post(&complete_path(&release), json!({})).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(
        res.body,
        json!({"result": {"status": "success", "message": "Release phase is marked as complete", "phaseSysId": plan["sys_id"]}})
    );
    let done = app
        .get(&format!(
            "/api/now/table/sn_dpr_model_release_phase/{}",
            plan["sys_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(done.body["result"]["state"], "completed");
    assert_ne!(done.body["result"]["actual_end"], "");
    let build = current_phase(&app, &release).await;
    assert_eq!(build["name"], "Build");
    assert_eq!(build["state"], "in_progress");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phase_completes_only_when_every_policy_is_compliant_for_every_product() {
    let app = TestApp::spawn_demo().await;
    let policy = map_policy(&app, "Security scan passed", "Plan").await;
    let release = two_product_release(&app).await;

    let res = app.post(&complete_path(&release), json!({})).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    assert_eq!(res.body["result"]["error"], true);
    let message = res.body["result"]["message"].as_str().unwrap();
    assert!(
        message.contains("Security scan passed") && message.contains("not_run"),
        "{message}"
    );
    assert_eq!(
        current_phase(&app, &release).await["name"],
        "Plan",
        "nothing changed"
    );

    record(
        &app,
        &release,
        demo::PRODUCT_PAYMENTS,
        &policy,
        "compliant",
        "2026-11-20 10:00:00",
    )
    .await;
    record(
        &app,
        &release,
        demo::PRODUCT_IDENTITY,
        &policy,
        "non_compliant",
        "2026-11-20 10:01:00",
    )
    .await;
    let res = app.post(&complete_path(&release), json!({})).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    let message = res.body["result"]["message"].as_str().unwrap();
    assert!(
        message.contains("Identity Service") && !message.contains("Payments Service"),
        "{message}"
    );

    app.db
        .execute(
            "UPDATE sn_dpr_model_policy_execution SET status = 'compliant'",
            &[],
        )
        .await
        .unwrap();
    let res = app.post(&complete_path(&release), json!({})).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(current_phase(&app, &release).await["name"], "Build");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_last_phase_the_release_goes_to_review_by_default() {
    let app = TestApp::spawn_demo().await;
    let release = two_product_release(&app).await;
    for _ in 0..4 {
        let res = app.post(&complete_path(&release), json!({})).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    }
    assert_eq!(release_state(&app, &release).await, "review");
    assert_eq!(current_phase(&app, &release).await, Value::Null);
    let res = app.post(&complete_path(&release), json!({})).await;
    assert_eq!(
        res.status,
        StatusCode::BAD_REQUEST,
        "a release in Review has no phase to complete"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_auto_transition_properties_decide_where_the_release_goes() {
    for (to_completed, to_review, expected) in [
        ("true", "true", "completed"),
        ("false", "false", "in_progress"),
    ] {
        let app = TestApp::spawn_demo().await;
        for (name, value) in [
            (
                "sn_dpr_model.auto_transition_release_to_completed",
                to_completed,
            ),
            ("sn_dpr_model.auto_transition_release_to_review", to_review),
        ] {
            let res = app
                .post(
                    "/api/now/table/sys_properties",
                    json!({"name": name, "value": value, "type": "boolean"}),
                )
                .await;
            assert_eq!(res.status, StatusCode::CREATED);
        }
        let release = two_product_release(&app).await;
        for _ in 0..4 {
            assert_eq!(
                app.post(&complete_path(&release), json!({})).await.status,
                StatusCode::CREATED
            );
        }
        assert_eq!(release_state(&app, &release).await, expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_release_id_gets_the_documented_answer() {
    let app = TestApp::spawn_demo().await;
    for id in ["a", "0123456789abcdef0123456789abcdef"] {
        let res = app.post(&complete_path(id), json!({})).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            res.body,
            json!({"result": {"error": true, "message": "Release ID is invalid"}})
        );
    }
    // A draft release is not In Progress.
    let res = app
        .post(&complete_path(demo::DRAFT_RELEASE_ID), json!({}))
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.body["result"]["message"]
        .as_str()
        .unwrap()
        .contains("not In Progress"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completing_a_phase_takes_a_release_role() {
    let app = TestApp::spawn_demo().await;
    let release = two_product_release(&app).await;
    let user = app.user("rudy", &["sn_dpr_model.release_user"]).await;
    let res = app
        .request("POST", &complete_path(&release), &user, None)
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let coordinator = app
        .user("cora", &["sn_dpr_model.release_coordinator"])
        .await;
    let res = app
        .request("POST", &complete_path(&release), &coordinator, None)
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_status_summarises_results_per_product() {
    let app = TestApp::spawn_demo().await;
    let scan = map_policy(&app, "Policy Name 1", "Plan").await;
    let config = map_policy(&app, "Policy Name 2", "Plan").await;
    let release = two_product_release(&app).await;
    record(
        &app,
        &release,
        demo::PRODUCT_PAYMENTS,
        &scan,
        "compliant",
        "2025-09-26 08:30:00",
    )
    .await;
    record(
        &app,
        &release,
        demo::PRODUCT_PAYMENTS,
        &config,
        "non_compliant",
        "2025-09-26 08:32:00",
    )
    .await;
    record(
        &app,
        &release,
        demo::PRODUCT_IDENTITY,
        &scan,
        "compliant",
        "2025-09-26 09:15:00",
    )
    .await;

    let reader = app.user("rae", &["sn_dpr_model.release_user"]).await;
    let res = app
        .request("GET", &status_path(&release), &reader, None)
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let overall = &res.body["result"]["overallSummary"];
    assert_eq!(
        overall,
        &json!({"compliant": false, "compliantCount": 2, "nonCompliantCount": 1, "totalCount": 4,
                "currentPhase": "Plan", "timestamp": "2025-09-26T09:15:00Z"})
    );
    let products = res.body["result"]["products"].as_array().unwrap();
    assert_eq!(products.len(), 2);
    let payments = &products[0];
    assert_eq!(payments["productId"], demo::PRODUCT_PAYMENTS);
    assert_eq!(payments["productName"], "Payments Service");
    assert_eq!(payments["productVersion"], "2.5.0");
    assert_eq!(
        payments["summary"],
        json!({"compliant": false, "compliantCount": 1, "nonCompliantCount": 1, "totalCount": 2})
    );
    let details = payments["policyExecutionDetails"].as_array().unwrap();
    assert_eq!(
        details[1],
        json!({"name": "Policy Name 2", "policyId": config, "status": "non_compliant", "lastRunAt": "2025-09-26T08:32:00Z",
               "executionOutput": "non_compliant output", "reason": "non_compliant reason"})
    );
    let identity = &products[1];
    assert_eq!(identity["productVersion"], "3.2");
    assert_eq!(identity["policyExecutionDetails"][1]["status"], "not_run");
    assert_eq!(identity["policyExecutionDetails"][1]["lastRunAt"], "");

    let nobody = app.user("nobody", &[]).await;
    assert_eq!(
        app.request("GET", &status_path(&release), &nobody, None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let res = app.get(&status_path(demo::DRAFT_RELEASE_ID)).await;
    assert_eq!(
        res.status,
        StatusCode::BAD_REQUEST,
        "the release must be In Progress"
    );
}
