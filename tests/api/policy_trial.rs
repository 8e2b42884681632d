//! `POST /api/tollgate/policy/eval`: the verdict `tollgate policy eval`
//! prints, through the API, for those who may author policies.

use serde_json::{json, Value};

use crate::helpers::*;

const PATH: &str = "/api/tollgate/policy/eval";
const AUTHOR_ROLE: &str = "sn_dpr_model.release_admin";

fn example_input() -> Value {
    serde_json::from_str(policies_doc_block("example1 input")).expect("example 1 input")
}

#[tokio::test]
async fn a_policy_author_gets_the_documented_verdict_compliant_or_not() {
    let app = TestApp::spawn().await;
    let author = app.user("release.admin", &[AUTHOR_ROLE]).await;
    let body = json!({"policy": policies_doc_block("example1 policy"), "input": example_input()});
    let r = app.request("POST", PATH, &author, Some(body)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let documented: Value = serde_json::from_str(policies_doc_block("policy eval api output"))
        .expect("documented answer");
    assert_eq!(r.body, documented);
    let cli: Value =
        serde_json::from_str(policies_doc_block("policy eval output")).expect("CLI output");
    assert_eq!(r.body["result"], cli, "the API and the CLI agree");

    let closed: Value = serde_json::from_str(
        &policies_doc_block("example1 input").replace("\"open\"", "\"closed\""),
    )
    .expect("input");
    let r = app
        .post(
            PATH,
            json!({"policy": policies_doc_block("example1 policy"), "input": closed}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["result"]["compliant"], true, "{}", r.text);
    assert_eq!(r.body["result"]["reason"], "All checks passed");
}

#[tokio::test]
async fn a_policy_a_save_would_refuse_is_a_400_with_the_compilers_message() {
    let app = TestApp::spawn().await;
    let v0 = "package tollgate.policy\n\ndefault compliant := false\ncompliant {\n\ttrue\n}\n";
    let r = app.post(PATH, json!({"policy": v0, "input": {}})).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let documented: Value = serde_json::from_str(policies_doc_block("policy eval api refusal"))
        .expect("documented refusal");
    assert_eq!(r.body, documented);
    assert_eq!(r.body["status"], "failure");
    let message = r.body["error"]["message"].as_str().expect("a message");
    assert!(
        message.starts_with("The policy would be refused on save"),
        "{message}"
    );
    let detail = r.body["error"]["detail"].as_str().expect("a detail");
    assert!(
        detail.contains("`if` keyword is required before rule body")
            && detail.contains("policy.rego:4:"),
        "{detail}"
    );
    // Missing or mistyped fields.
    let r = app.post(PATH, json!({"input": {}})).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = app.post(PATH, json!({"policy": 7, "input": {}})).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = app
        .post(
            PATH,
            json!({"policy": policies_doc_block("example1 policy")}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("input"), "{}", r.text);
}

#[tokio::test]
async fn only_policy_authors_and_admin_may_try_policies() {
    let app = TestApp::spawn().await;
    let body = json!({"policy": policies_doc_block("example1 policy"), "input": example_input()});
    let reader = app.user("reader", &["sn_dpr_model.release_user"]).await;
    let r = app.request("POST", PATH, &reader, Some(body.clone())).await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = app.request("POST", PATH, &Auth::None, Some(body)).await;
    assert_eq!(r.status, 401, "{}", r.text);
}

#[tokio::test]
async fn a_policy_or_input_over_its_limit_is_refused_before_any_evaluation() {
    let app = TestApp::spawn_with_settings(tollgate::config::Settings {
        body_limit: 4 * 1024 * 1024,
        ..test_settings()
    })
    .await;
    let big_policy = format!(
        "{}\n# {}\n",
        policies_doc_block("example1 policy"),
        "x".repeat(300 * 1024)
    );
    let r = app
        .post(
            PATH,
            json!({"policy": big_policy, "input": example_input()}),
        )
        .await;
    assert_eq!(r.status, 413, "{}", r.text);
    assert!(
        r.text
            .contains("policy is larger than the limit of 262144 bytes"),
        "{}",
        r.text
    );

    let big_input = json!({"filler": "y".repeat(1100 * 1024)});
    let r = app
        .post(
            PATH,
            json!({"policy": policies_doc_block("example1 policy"), "input": big_input}),
        )
        .await;
    assert_eq!(r.status, 413, "{}", r.text);
    assert!(
        r.text
            .contains("input document is larger than the limit of 1048576 bytes"),
        "{}",
        r.text
    );

    // Just under both limits: evaluated.
    let fits = format!(
        "{}\n# {}\n",
        policies_doc_block("example1 policy"),
        "x".repeat(200 * 1024)
    );
    let r = app
        .post(PATH, json!({"policy": fits, "input": example_input()}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}
