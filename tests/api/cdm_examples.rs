//! Every cURL example of the CDM changeset document, sent as written (admin
//! credentials) against the demo data, in one session: each answers its
//! documented shape.

use axum::http::StatusCode;
use serde_json::Value;

use crate::helpers::*;

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    k.sort();
    k
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

const SUMMARY: &[&str] = &[
    "sys_id",
    "number",
    "title",
    "description",
    "committed_at",
    "committed_by",
    "sys_created_by",
    "state",
    "publish_option",
    "auto_validate",
    "snapshot_name",
    "snapshot_description",
    "cdm_application",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_changeset_example_answers_its_documented_shape() {
    let app = TestApp::spawn_demo().await;

    // GET changesets (Chset-946).
    let res = app
        .get("/api/sn_cdm/changesets?appName=testApp&changesetNumber=Chset-946&state=committed")
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let list = res.body["result"].as_array().expect("an array");
    assert_eq!(list.len(), 1, "{}", res.text);
    let c = &list[0];
    assert_eq!(
        keys(c),
        sorted(&[
            "description",
            "cdm_application",
            "sys_updated_on",
            "title",
            "number",
            "sys_id",
            "sys_updated_by",
            "committed_at",
            "sys_created_on",
            "committed_by",
            "state",
            "auto_validate",
            "publish_option",
            "last_conflict_detection_time",
            "sys_created_by",
            "last_updated",
        ])
    );
    assert_eq!(c["sys_id"], "955d6c0f53141110a1d3ddeeff7b1233");
    assert_eq!(
        c["cdm_application"]["value"],
        "62b517a953b70110a1d3ddeeff7b128c"
    );
    assert_eq!(
        c["committed_by"]["value"],
        "6816f79cc0a8016401c5a33be04be441"
    );
    assert_eq!(c["auto_validate"], true);
    assert_eq!(c["last_conflict_detection_time"], "1656508187450");

    // GET activity (Chset-783).
    let res = app
        .get("/api/sn_cdm/changesets/activity?changesetNumber=Chset-783")
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let row = &res.body["result"][0];
    assert_eq!(
        keys(row),
        sorted(&[
            "sys_id",
            "changeset_id",
            "new_value",
            "new_state",
            "new_name",
            "new_type",
            "new_encrypted",
            "updated_on",
            "updated_by",
            "resolution_method",
            "conflict",
            "path",
            "created_by",
            "created_on",
            "old_value",
            "old_state",
            "old_name",
            "old_type",
            "old_encrypted",
        ])
    );
    assert_eq!(row["sys_id"], "ed5d6c0f53141110a1d3ddeeff7b1233");
    assert_eq!(row["new_state"], "Deleted");
    assert_eq!(row["old_state"], "Superseded");
    assert_eq!(row["new_type"], "Deployable");
    assert_eq!(row["path"], "deployables/Dep-1");

    // GET commit-status.
    let res = app
        .get("/api/sn_cdm/changesets/commit-status/bf506e69537c3010a1d3ddeeff7b12c0")
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let r = &res.body["result"];
    assert_eq!(
        keys(r),
        sorted(&["type", "state", "output", "processing_state", "commit_id"])
    );
    assert_eq!(r["state"], "completed");
    assert_eq!(r["processing_state"], "PROCESSED");
    let mut with_time = SUMMARY.to_vec();
    with_time.push("last_conflict_detection_time");
    assert_eq!(keys(&r["output"]), sorted(&with_time));
    assert_eq!(r["output"]["number"], "Chset-1207");
    assert_eq!(r["output"]["cdm_application"], "DemoApp");
    // The error form, for an id that names nothing.
    let res = app
        .get("/api/sn_cdm/changesets/commit-status/9cd583e953124110da35ddeeff7b128")
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.body["result"]["state"], "error");
    assert_eq!(
        res.body["result"]["errors"],
        "Invalid requestId '9cd583e953124110da35ddeeff7b128'"
    );

    // GET impacted-deployables (Chset-783).
    let res = app
        .get("/api/sn_cdm/changesets/impacted-deployables?changesetNumber=Chset-783")
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let d = &res.body["result"][0];
    assert_eq!(
        keys(d),
        sorted(&[
            "cmdb_ci",
            "cdi_count",
            "snapshot_version_counter",
            "description",
            "sys_updated_on",
            "environment_type",
            "node",
            "sys_id",
            "sys_updated_by",
            "cdm_app",
            "sys_created_on",
            "cdi_usage",
            "name",
            "state",
            "sys_created_by",
        ])
    );
    assert_eq!(d["name"], "Development_1");
    assert_eq!(d["cdi_count"], "2");
    assert_eq!(d["snapshot_version_counter"], "3");
    assert_eq!(d["cdi_usage"], "0.02");
    assert_eq!(d["node"]["value"], "a1c517a953b70110a1d3ddeeff7b129b");

    // GET impacted-shared-components (Chset-20), written without /api.
    let res = app
        .get("/sn_cdm/changesets/impacted-shared-components?changesetNumber=Chset-20")
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let list = res.body["result"].as_array().expect("an array");
    assert_eq!(list.len(), 4, "{}", res.text);
    assert_eq!(
        keys(&list[0]),
        sorted(&[
            "version_counter",
            "description",
            "cdm_shared_library",
            "sys_updated_on",
            "node",
            "sys_id",
            "sys_updated_by",
            "node_main",
            "sys_created_on",
            "name",
            "state",
            "sys_created_by",
        ])
    );
    assert_eq!(list[0]["name"], "logonService-V2.1");
    assert_eq!(list[0]["node_main"], "74b945e097b3991052687b890353af0d");

    // GET {changeset_id}/impacted-deployables.
    let res = app
        .get("/api/sn_cdm/changesets/bf506e69537c3010a1d3ddeeff7b12c0/impacted-deployables")
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let nodes = res.body["result"].as_array().expect("an array");
    assert_eq!(nodes.len(), 2, "{}", res.text);
    assert_eq!(nodes[0]["sys_id"], "833527a953924110da35ddeeff7b12c1");
    assert_eq!(nodes[0]["main_id"], "150");
    assert_eq!(nodes[0]["main_id_encoded"], "&M");
    assert_eq!(nodes[0]["node_path"], "!&@!&D!&M");
    assert_eq!(nodes[0]["level"], 2);
    assert_eq!(nodes[1]["main_id_encoded"], "&P");
    assert_eq!(keys(&nodes[0]).len(), 22, "{}", res.text);

    // POST {changeset_id}/commit.
    let res = app
        .request(
            "POST",
            "/api/sn_cdm/changesets/29e24001533030104bacddeeff7b120c/commit?publishOption=publish_valid",
            &Auth::admin(),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let first = res.body["result"]["commit_id"]
        .as_str()
        .expect("commit_id")
        .to_owned();

    // POST create (App Service1), and the shared-library form.
    let res = app
        .request(
            "POST",
            "/api/sn_cdm/changesets/create?appName=App%20Service1&description=Sample%20Description",
            &Auth::admin(),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(keys(&res.body["result"]), sorted(SUMMARY));
    assert_eq!(res.body["result"]["state"], "open");
    assert_eq!(res.body["result"]["cdm_application"], "App Service1");
    let res = app
        .request(
            "POST",
            "/api/sn_cdm/changesets/create?sharedLibraryName=javalib&description=description%20of%20changeset",
            &Auth::admin(),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);

    // PUT commit (Chset-146).
    let res = app
        .request(
            "PUT",
            "/api/sn_cdm/changesets/commit?changesetNumber=Chset-146",
            &Auth::admin(),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let second = res.body["result"]["commit_id"]
        .as_str()
        .expect("commit_id")
        .to_owned();
    app.run_jobs().await;
    app.assert_no_jobs_left().await;
    for id in [first, second] {
        let res = app
            .get(&format!("/api/sn_cdm/changesets/commit-status/{id}"))
            .await;
        assert_eq!(res.body["result"]["state"], "completed", "{}", res.text);
        assert_eq!(res.body["result"]["output"]["state"], "committed");
    }

    // DELETE (Chset-760): 200, no body, and gone.
    let res = app
        .request(
            "DELETE",
            "/api/sn_cdm/changesets?changesetNumber=Chset-760",
            &Auth::admin(),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert!(res.text.is_empty(), "{}", res.text);
    let res = app
        .get("/api/sn_cdm/changesets?appName=testApp&number=Chset-760")
        .await;
    assert_eq!(res.body["result"].as_array().map(Vec::len), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_errors_answer_in_the_cdm_envelope() {
    let app = TestApp::spawn_demo().await;
    let res = app
        .request(
            "POST",
            "/api/sn_cdm/changesets/create?appName=NoSuchApp",
            &Auth::admin(),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    assert_eq!(
        res.body["error"]["message"],
        "Error: Unexpected error occurred in create request.Error:Application not found"
    );
    assert_eq!(res.body["error"]["detail"], "");
    assert_eq!(res.body["status"], "failure");
    // A committed changeset cannot be deleted.
    let res = app
        .request(
            "DELETE",
            "/api/sn_cdm/changesets?changesetNumber=Chset-946",
            &Auth::admin(),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    assert!(
        res.text.contains("committed and cannot be deleted"),
        "{}",
        res.text
    );
    assert_eq!(
        app.count("sn_cdm_changeset WHERE number = 'Chset-946'")
            .await,
        1
    );
}

/// The policy in docs/CONFIGURATION_DATA.md compiles and holds or fails as
/// the document says.
#[test]
fn the_documented_snapshot_policy_does_what_the_guide_says() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/CONFIGURATION_DATA.md"
    ))
    .expect("the guide");
    let start = doc.find("```rego\n").expect("a rego block") + "```rego\n".len();
    let source = &doc[start..start + doc[start..].find("```").expect("closed")];
    let policy = tollgate::policy::compile(source).expect("the documented policy compiles");
    let input = |env: &str, url: &str| {
        serde_json::json!({
            "application": "payments",
            "deployable": {"name": "Prod_1", "environment_type": env},
            "snapshot": "Prod_1-v1.dpl",
            "config": {"svc": {"db": {"url": url}}}
        })
    };
    assert!(
        !tollgate::policy::evaluate(&policy, &input("Production", "jdbc://@@dbhost@@")).compliant
    );
    assert!(tollgate::policy::evaluate(&policy, &input("Production", "jdbc://prod-db")).compliant);
    assert!(
        tollgate::policy::evaluate(&policy, &input("Development", "jdbc://@@dbhost@@")).compliant
    );
}
