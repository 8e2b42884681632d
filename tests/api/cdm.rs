//! Configuration Data Management: applications as versioned node trees,
//! changesets (uploads, editor nodes and includes), commits with conflict
//! detection, snapshots validated by Rego policies and published, exports.
//! Jobs (commits, uploads, exports) are driven by hand: the test settings
//! run no workers.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;

use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use crate::helpers::*;

const APP: &str = "payments";

/// The story's YAML: a nested map, a list and values using a variable.
const SERVICE_YAML: &str = r#"db:
  host: "@@dbhost@@"
  port: 5432
  pool:
    max: 10
features:
  - alpha
  - beta
url: "postgres://@@dbhost@@:5432/pay"
"#;

/// A query string, every value encoded.
fn qs(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

async fn call(app: &TestApp, method: &str, path: &str, auth: &Auth) -> TestResponse {
    app.request(method, path, auth, None).await
}

async fn admin(app: &TestApp, method: &str, path: &str) -> TestResponse {
    call(app, method, path, &Auth::admin()).await
}

fn ok(res: &TestResponse) -> &Value {
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    &res.body["result"]
}

/// A refusal in the CDM envelope: 400, `Error: ...` naming `needle`.
#[track_caller]
fn assert_refused(res: &TestResponse, needle: &str) {
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    assert_eq!(res.body["status"], "failure", "{}", res.text);
    assert_eq!(res.body["error"]["detail"], "", "{}", res.text);
    let message = res.body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("Error:"), "{message}");
    assert!(
        message.to_lowercase().contains(&needle.to_lowercase()),
        "{message:?} should name {needle:?}"
    );
}

async fn create_app(app: &TestApp, name: &str) -> String {
    let res = app
        .post("/api/now/table/sn_cdm_application", json!({ "name": name }))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    res.body["result"]["sys_id"].as_str().unwrap().to_owned()
}

async fn create_deployable(app: &TestApp, app_name: &str, name: &str, env: &str) -> Value {
    let res = admin(
        app,
        "POST",
        &format!(
            "/api/sn_cdm/applications/deployables?{}",
            qs(&[("appName", app_name), ("name", name), ("envType", env)])
        ),
    )
    .await;
    let result = ok(&res);
    assert_eq!(result.as_array().map(Vec::len), Some(1), "{}", res.text);
    assert_eq!(result[0]["name"], name);
    assert_eq!(result[0]["environment_type"], env);
    result[0].clone()
}

/// Creates an open changeset; returns its number and sys_id.
async fn changeset(app: &TestApp, app_name: &str) -> (String, String) {
    let res = admin(
        app,
        "POST",
        &format!(
            "/api/sn_cdm/changesets/create?{}",
            qs(&[("appName", app_name)])
        ),
    )
    .await;
    let result = ok(&res);
    assert_eq!(result["state"], "open");
    let number = result["number"].as_str().unwrap().to_owned();
    assert!(number.starts_with("Chset-"), "{number}");
    (number, result["sys_id"].as_str().unwrap().to_owned())
}

/// Posts content to an upload endpoint (`components`, `components/vars`,
/// `collections`, `deployables`).
async fn upload(app: &TestApp, kind: &str, params: &[(&str, &str)], body: &str) -> TestResponse {
    app.raw(
        "POST",
        &format!("/api/sn_cdm/applications/uploads/{kind}?{}", qs(params)),
        &Auth::admin(),
        Some(body),
        "text/plain",
    )
    .await
}

async fn upload_status(app: &TestApp, id: &str) -> Value {
    let res = admin(
        app,
        "GET",
        &format!("/api/sn_cdm/applications/upload-status/{id}"),
    )
    .await;
    ok(&res).clone()
}

/// Uploads, runs the request and insists it completed; returns its status.
async fn upload_ok(app: &TestApp, kind: &str, params: &[(&str, &str)], body: &str) -> Value {
    let res = upload(app, kind, params, body).await;
    let id = ok(&res)["upload_id"].as_str().unwrap().to_owned();
    app.run_jobs().await.assert_all_succeeded();
    app.assert_no_jobs_left().await;
    let status = upload_status(app, &id).await;
    assert_eq!(status["state"], "completed", "{status}");
    assert_eq!(status["processing_state"], "PROCESSED", "{status}");
    assert_eq!(status["upload_id"], id.as_str());
    status
}

async fn add_node(
    app: &TestApp,
    number: &str,
    path: &str,
    ty: &str,
    value: Option<&str>,
) -> TestResponse {
    let mut params = vec![
        ("changesetNumber", number),
        ("fullNamePath", path),
        ("type", ty),
    ];
    if let Some(v) = value {
        params.push(("value", v));
    }
    admin(
        app,
        "POST",
        &format!("/api/sn_cdm/editor/nodes?{}", qs(&params)),
    )
    .await
}

async fn set_value(app: &TestApp, number: &str, path: &str, value: &str) -> TestResponse {
    admin(
        app,
        "PUT",
        &format!(
            "/api/sn_cdm/editor/nodes?{}",
            qs(&[
                ("changesetNumber", number),
                ("fullNamePath", path),
                ("newValue", value)
            ])
        ),
    )
    .await
}

async fn delete_node(app: &TestApp, number: &str, path: &str) {
    let res = admin(
        app,
        "DELETE",
        &format!(
            "/api/sn_cdm/editor/nodes?{}",
            qs(&[("changesetNumber", number), ("fullNamePath", path)])
        ),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
}

async fn include(app: &TestApp, number: &str, source: &str, target: &str) -> Value {
    let res = admin(
        app,
        "POST",
        &format!(
            "/api/sn_cdm/editor/includes?{}",
            qs(&[
                ("changesetNumber", number),
                ("sourceFullNamePath", source),
                ("targetFullNamePath", target),
            ])
        ),
    )
    .await;
    let node = ok(&res).clone();
    assert_eq!(node["type"], "sn_cdm_node_linked", "{node}");
    node
}

async fn commit_status(app: &TestApp, id: &str) -> Value {
    let res = admin(
        app,
        "GET",
        &format!("/api/sn_cdm/changesets/commit-status/{id}"),
    )
    .await;
    ok(&res).clone()
}

/// Commits by number (`PUT /changesets/commit`) with `extra` parameters,
/// runs the request, answers its commit-status.
async fn commit(app: &TestApp, number: &str, extra: &[(&str, &str)]) -> Value {
    let mut params = vec![("changesetNumber", number)];
    params.extend_from_slice(extra);
    let res = admin(
        app,
        "PUT",
        &format!("/api/sn_cdm/changesets/commit?{}", qs(&params)),
    )
    .await;
    let id = ok(&res)["commit_id"].as_str().unwrap().to_owned();
    app.run_jobs().await.assert_all_succeeded();
    app.assert_no_jobs_left().await;
    let status = commit_status(app, &id).await;
    assert_eq!(status["commit_id"], id.as_str());
    assert_eq!(status["type"], "commit");
    assert_eq!(status["processing_state"], "PROCESSED", "{status}");
    status
}

/// Commits the changeset by its sys_id (`POST /changesets/{id}/commit`).
async fn commit_by_id(app: &TestApp, sys_id: &str, extra: &[(&str, &str)]) -> Value {
    let res = admin(
        app,
        "POST",
        &format!("/api/sn_cdm/changesets/{sys_id}/commit?{}", qs(extra)),
    )
    .await;
    let id = ok(&res)["commit_id"].as_str().unwrap().to_owned();
    app.run_jobs().await.assert_all_succeeded();
    app.assert_no_jobs_left().await;
    commit_status(app, &id).await
}

#[track_caller]
fn assert_committed(status: &Value) {
    assert_eq!(status["state"], "completed", "{status}");
    assert_eq!(status["output"]["state"], "committed", "{status}");
}

const PUBLISH: [(&str, &str); 2] = [("autoValidate", "true"), ("publishOption", "publish_valid")];

/// One changeset as the list answers it.
async fn changeset_row(app: &TestApp, app_name: &str, number: &str) -> Value {
    let res = admin(
        app,
        "GET",
        &format!(
            "/api/sn_cdm/changesets?{}",
            qs(&[("appName", app_name), ("number", number)])
        ),
    )
    .await;
    let rows = ok(&res).as_array().unwrap().clone();
    assert_eq!(rows.len(), 1, "{}", res.text);
    rows[0].clone()
}

async fn activity(app: &TestApp, number: &str) -> Vec<Value> {
    let res = admin(
        app,
        "GET",
        &format!(
            "/api/sn_cdm/changesets/activity?{}",
            qs(&[("changesetNumber", number)])
        ),
    )
    .await;
    ok(&res).as_array().unwrap().clone()
}

/// The activity row of the node named `name`.
#[track_caller]
fn row_named<'a>(rows: &'a [Value], name: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["new_name"] == name)
        .unwrap_or_else(|| panic!("no activity row for {name}: {rows:?}"))
}

/// The children of a node (committed, or as a changeset sees them).
async fn children(app: &TestApp, parent: &str, number: Option<&str>) -> Vec<Value> {
    let mut params = vec![("parentFullNamePath", parent)];
    if let Some(n) = number {
        params.push(("changesetNumber", n));
    }
    let res = admin(
        app,
        "GET",
        &format!("/api/sn_cdm/editor/nodes?{}", qs(&params)),
    )
    .await;
    ok(&res).as_array().unwrap().clone()
}

async fn child(app: &TestApp, parent: &str, name: &str, number: Option<&str>) -> Option<Value> {
    children(app, parent, number)
        .await
        .into_iter()
        .find(|n| n["name"] == name)
}

/// A subtree read through the editor: containers as objects by name,
/// leaves as their values.
fn read_tree<'a>(
    app: &'a TestApp,
    path: String,
    number: Option<&'a str>,
) -> Pin<Box<dyn Future<Output = Value> + 'a>> {
    Box::pin(async move {
        let mut out = Map::new();
        for n in children(app, &path, number).await {
            let name = n["name"].as_str().unwrap().to_owned();
            let value = match n["type"].as_str().unwrap() {
                "sn_cdm_node_cdi" | "sn_cdm_node_variable" => n["value"].clone(),
                _ => read_tree(app, format!("{path}/{name}"), number).await,
            };
            out.insert(name, value);
        }
        Value::Object(out)
    })
}

/// Exports a deployable's snapshot; answers (status, content) results.
async fn export(
    app: &TestApp,
    auth: &Auth,
    app_name: &str,
    deployable: &str,
    format: &str,
    extra: &[(&str, &str)],
) -> (Value, Value) {
    let mut params = vec![
        ("appName", app_name),
        ("deployableName", deployable),
        ("exporterName", "pipeline"),
        ("dataFormat", format),
    ];
    params.extend_from_slice(extra);
    let res = call(
        app,
        "POST",
        &format!(
            "/api/sn_cdm/applications/deployables/exports?{}",
            qs(&params)
        ),
        auth,
    )
    .await;
    let id = ok(&res)["export_id"].as_str().unwrap().to_owned();
    app.run_jobs().await.assert_all_succeeded();
    app.assert_no_jobs_left().await;
    let status = call(
        app,
        "GET",
        &format!("/api/sn_cdm/applications/deployables/exports/{id}/status"),
        auth,
    )
    .await;
    let status = ok(&status).clone();
    assert_eq!(status["export_id"], id.as_str());
    let content = call(
        app,
        "GET",
        &format!("/api/sn_cdm/applications/deployables/exports/{id}/content"),
        auth,
    )
    .await;
    let content = ok(&content).clone();
    assert_eq!(content["export_id"], id.as_str(), "{content}");
    (status, content)
}

/// The content of a completed export.
async fn exported(app: &TestApp, auth: &Auth, deployable: &str, format: &str) -> Value {
    let (status, content) = export(app, auth, APP, deployable, format, &[]).await;
    assert_eq!(status["state"], "completed", "{status}");
    content["exporter_result"].clone()
}

fn lines(text: &Value) -> BTreeSet<String> {
    text.as_str()
        .unwrap_or_else(|| panic!("text rendering expected: {text}"))
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Table API rows of a table matching an encoded query.
async fn table(app: &TestApp, name: &str, query: &str) -> Vec<Value> {
    let res = app
        .get(&format!(
            "/api/now/table/{name}?{}",
            qs(&[("sysparm_query", query)])
        ))
        .await;
    ok(&res).as_array().unwrap().clone()
}

async fn snapshot(app: &TestApp, name: &str) -> Value {
    let rows = table(app, "sn_cdm_snapshot", &format!("name={name}")).await;
    assert_eq!(rows.len(), 1, "snapshot {name}: {rows:?}");
    rows[0].clone()
}

/// The committed versions of an application's nodes (sys_ids).
async fn committed_versions(app: &TestApp, app_id: &str) -> BTreeSet<String> {
    app.db
        .fetch_all(
            "SELECT sys_id FROM sn_cdm_node WHERE application = $1 AND effective_from IS NOT NULL \
             AND effective_to IS NULL",
            &[tollgate::storage::Value::from(app_id)],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.string("sys_id"))
        .collect()
}

/// The first half of the story: application `payments` with deployables
/// Dev_1 (Development) and Prod_1 (Production); changeset A uploads the
/// YAML into component `svc`, includes it in both, sets the variable
/// `dbhost` in Dev_1's vars, and is committed with autoValidate and
/// publish_valid. Answers the application's sys_id and A's commit-status.
async fn story_base(app: &TestApp) -> (String, Value) {
    let app_id = create_app(app, APP).await;
    create_deployable(app, APP, "Dev_1", "Development").await;
    create_deployable(app, APP, "Prod_1", "Production").await;
    let (a, _) = changeset(app, APP).await;
    let status = upload_ok(
        app,
        "components",
        &[
            ("appName", APP),
            ("namePath", "svc"),
            ("dataFormat", "yaml"),
            ("changesetNumber", &a),
        ],
        SERVICE_YAML,
    )
    .await;
    assert_eq!(status["output"]["number"], a.as_str(), "{status}");
    assert_eq!(status["output"]["state"], "open", "{status}");
    for d in ["Dev_1", "Prod_1"] {
        let link = include(
            app,
            &a,
            "/payments/components/svc",
            &format!("/payments/deployables/{d}"),
        )
        .await;
        assert_eq!(link["name"], "svc");
    }
    let var = add_node(
        app,
        &a,
        "/payments/deployables/Dev_1/vars/dbhost",
        "variable",
        Some("dev-db.internal"),
    )
    .await;
    assert_eq!(ok(&var)["type"], "sn_cdm_node_variable", "{}", var.text);
    let status = commit(app, &a, &PUBLISH).await;
    (app_id, status)
}

fn dev_config() -> Value {
    json!({"svc": {
        "db": {"host": "dev-db.internal", "port": "5432", "pool": {"max": "10"}},
        "features": ["alpha", "beta"],
        "url": "postgres://dev-db.internal:5432/pay",
    }})
}

// ---------------------------------------------------------------------------
// 1. The scripted story.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn story_upload_include_commit_export_then_a_conflicting_changeset_is_blocked() {
    let app = TestApp::spawn().await;
    let (_, status) = story_base(&app).await;
    assert_committed(&status);
    assert_eq!(status["output"]["cdm_application"], APP);
    assert_eq!(status["output"]["auto_validate"], true);
    assert_eq!(status["output"]["publish_option"], "publish_valid");

    // Both snapshots were made, validated (no policy: passed) and published.
    for d in ["Dev_1", "Prod_1"] {
        let s = snapshot(&app, &format!("{d}-v1.dpl")).await;
        assert_eq!(s["validation"], "passed", "{s}");
        assert_eq!(s["published"], "true", "{s}");
    }

    // Exports: the YAML's values rooted at the deployable's name; Dev_1
    // resolves its variable, Prod_1 (no dbhost) keeps the token.
    let yaml = exported(&app, &Auth::admin(), "Dev_1", "yaml").await;
    let parsed: Value = serde_norway::from_str(yaml.as_str().unwrap()).unwrap();
    assert_eq!(parsed, json!({ "Dev_1": dev_config() }));
    let props = exported(&app, &Auth::admin(), "Dev_1", "properties").await;
    assert!(
        lines(&props).contains("Dev_1.svc.db.host=dev-db.internal"),
        "{props}"
    );
    let props = exported(&app, &Auth::admin(), "Prod_1", "properties").await;
    let expected: BTreeSet<String> = [
        "Prod_1.svc.db.host=@@dbhost@@",
        "Prod_1.svc.db.port=5432",
        "Prod_1.svc.db.pool.max=10",
        "Prod_1.svc.features[0]=alpha",
        "Prod_1.svc.features[1]=beta",
        "Prod_1.svc.url=postgres://@@dbhost@@:5432/pay",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(lines(&props), expected);
    let yaml = exported(&app, &Auth::admin(), "Prod_1", "yaml").await;
    let parsed: Value = serde_norway::from_str(yaml.as_str().unwrap()).unwrap();
    assert_eq!(parsed["Prod_1"]["svc"]["db"]["host"], "@@dbhost@@");
    assert_eq!(
        parsed["Prod_1"]["svc"]["features"],
        json!(["alpha", "beta"])
    );

    // B and C both change the same CDI; B commits first.
    let (b, b_id) = changeset(&app, APP).await;
    let (c, _) = changeset(&app, APP).await;
    let port = "/payments/components/svc/db/port";
    let res = set_value(&app, &b, port, "5433").await;
    assert_eq!(ok(&res)["status"], "updated", "{}", res.text);
    let res = set_value(&app, &c, port, "5434").await;
    assert_eq!(ok(&res)["value"], "5434", "{}", res.text);

    let status = commit_by_id(&app, &b_id, &[]).await;
    assert_committed(&status);
    assert_eq!(status["output"]["number"], b.as_str());

    let status = commit(&app, &c, &[]).await;
    assert_eq!(status["state"], "error", "{status}");
    assert_eq!(changeset_row(&app, APP, &c).await["state"], "blocked");
    assert_eq!(changeset_row(&app, APP, &b).await["state"], "committed");
    let rows = activity(&app, &c).await;
    let row = row_named(&rows, "port");
    assert_eq!(row["conflict"], "updated_node", "{row}");
    assert_eq!(row["new_value"], "5434");
    assert_eq!(row["old_value"], "5432");
    assert_eq!(row["path"], "components/svc/db/port");

    // The committed value is B's.
    let node = child(&app, "/payments/components/svc/db", "port", None)
        .await
        .expect("port");
    assert_eq!(node["value"], "5433", "{node}");
    assert_eq!(node["status"], "valid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variables_resolve_deployable_over_collection_over_component_and_overrides_apply() {
    let app = TestApp::spawn().await;
    create_app(&app, APP).await;
    create_deployable(&app, APP, "Dev_1", "Development").await;
    create_deployable(&app, APP, "Test_1", "Test").await;
    create_deployable(&app, APP, "Prod_1", "Production").await;
    let (a, _) = changeset(&app, APP).await;
    upload_ok(
        &app,
        "components",
        &[
            ("appName", APP),
            ("namePath", "svc"),
            ("dataFormat", "yaml"),
            ("changesetNumber", &a),
        ],
        SERVICE_YAML,
    )
    .await;
    upload_ok(
        &app,
        "components/vars",
        &[
            ("appName", APP),
            ("dataFormat", "json"),
            ("changesetNumber", &a),
        ],
        r#"{"dbhost": "comp-db"}"#,
    )
    .await;
    ok(&add_node(&app, &a, "/payments/collections/web", "collection", None).await);
    include(
        &app,
        &a,
        "/payments/components/svc",
        "/payments/collections/web",
    )
    .await;
    ok(&add_node(
        &app,
        &a,
        "/payments/collections/web/vars/dbhost",
        "variable",
        Some("coll-db"),
    )
    .await);
    include(
        &app,
        &a,
        "/payments/collections/web",
        "/payments/deployables/Test_1",
    )
    .await;
    for d in ["Dev_1", "Prod_1"] {
        include(
            &app,
            &a,
            "/payments/components/svc",
            &format!("/payments/deployables/{d}"),
        )
        .await;
    }
    ok(&add_node(
        &app,
        &a,
        "/payments/deployables/Dev_1/vars/dbhost",
        "variable",
        Some("dev-db.internal"),
    )
    .await);
    // Prod_1 overrides one included value below the include.
    upload_ok(
        &app,
        "deployables",
        &[
            ("appName", APP),
            ("deployableName", "Prod_1"),
            ("namePath", "svc/db"),
            ("dataFormat", "json"),
            ("changesetNumber", &a),
        ],
        r#"{"port": "6000"}"#,
    )
    .await;
    assert_committed(&commit(&app, &a, &PUBLISH).await);

    assert_eq!(
        exported(&app, &Auth::admin(), "Dev_1", "json").await,
        json!({ "Dev_1": dev_config() })
    );
    let test = exported(&app, &Auth::admin(), "Test_1", "json").await;
    assert_eq!(
        test["Test_1"]["web"]["svc"]["db"]["host"], "coll-db",
        "{test}"
    );
    assert_eq!(
        test["Test_1"]["web"]["svc"]["url"],
        "postgres://coll-db:5432/pay"
    );
    let prod = exported(&app, &Auth::admin(), "Prod_1", "json").await;
    assert_eq!(
        prod,
        json!({"Prod_1": {"svc": {
            "db": {"host": "comp-db", "port": "6000", "pool": {"max": "10"}},
            "features": ["alpha", "beta"],
            "url": "postgres://comp-db:5432/pay",
        }}})
    );

    // A component variable changes: every deployable gets a new snapshot;
    // publishing v2 unpublishes v1.
    let (b, _) = changeset(&app, APP).await;
    ok(&set_value(&app, &b, "/payments/components/vars/dbhost", "comp-db-2").await);
    assert_committed(&commit(&app, &b, &PUBLISH).await);
    for d in ["Dev_1", "Test_1", "Prod_1"] {
        assert_eq!(
            snapshot(&app, &format!("{d}-v1.dpl")).await["published"],
            "false"
        );
        assert_eq!(
            snapshot(&app, &format!("{d}-v2.dpl")).await["published"],
            "true"
        );
    }
    let prod = exported(&app, &Auth::admin(), "Prod_1", "json").await;
    assert_eq!(prod["Prod_1"]["svc"]["db"]["host"], "comp-db-2");
    let dev = exported(&app, &Auth::admin(), "Dev_1", "json").await;
    assert_eq!(dev["Dev_1"]["svc"]["db"]["host"], "dev-db.internal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_changeset_commits_after_its_conflicted_node_is_edited_again() {
    let app = TestApp::spawn().await;
    let (_, status) = story_base(&app).await;
    assert_committed(&status);
    let port = "/payments/components/svc/db/port";
    let (b, _) = changeset(&app, APP).await;
    let (c, _) = changeset(&app, APP).await;
    ok(&set_value(&app, &b, port, "5433").await);
    ok(&set_value(&app, &c, port, "5434").await);
    assert_committed(&commit(&app, &b, &[]).await);
    assert_eq!(commit(&app, &c, &[]).await["state"], "error");
    assert_eq!(changeset_row(&app, APP, &c).await["state"], "blocked");
    // C edits the node again, now that it has seen B's value.
    ok(&set_value(&app, &c, port, "5435").await);
    assert_ne!(changeset_row(&app, APP, &c).await["state"], "committed");
    let status = commit(&app, &c, &[]).await;
    assert_committed(&status);
    let node = child(&app, "/payments/components/svc/db", "port", None)
        .await
        .unwrap();
    assert_eq!(node["value"], "5435");
}

// ---------------------------------------------------------------------------
// 2. Uploads.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_unsupported_or_oversized_uploads_are_refused_and_queue_nothing() {
    let app = TestApp::spawn().await;
    create_app(&app, APP).await;
    let (number, _) = changeset(&app, APP).await;
    let params = |format: &'static str| {
        vec![
            ("appName", APP),
            ("namePath", "svc"),
            ("dataFormat", format),
            ("changesetNumber", number.as_str()),
        ]
    };
    for (format, body, line) in [
        ("yaml", "a: 1\nb: [1, 2\nc: d\n", "line"),
        ("json", "{\n\"a\": }", "line 2"),
        ("properties", "a=1\nbroken\n", "line 2"),
        ("ini", "top=1\n[db\nport=1\n", "line 2"),
    ] {
        let res = upload(&app, "components", &params(format), body).await;
        assert_refused(&res, &format!("Invalid {format} content"));
        assert_refused(&res, line);
    }
    let res = upload(&app, "components", &params("xml"), "<a/>").await;
    assert_refused(&res, "dataFormat");
    let big = format!("a: \"{}\"\n", "x".repeat(5 * 1024 * 1024));
    let res = upload(&app, "components", &params("yaml"), &big).await;
    assert_refused(&res, "max allowed upload limit");
    let res = upload(
        &app,
        "components",
        &[
            ("appName", "nope"),
            ("namePath", "svc"),
            ("dataFormat", "json"),
        ],
        "{\"a\": 1}",
    )
    .await;
    assert_refused(&res, "Could not find active application");
    assert_eq!(app.count("sn_cdm_request_queue").await, 0);
    assert!(children(&app, "/payments/components", Some(&number))
        .await
        .iter()
        .all(|n| n["name"] == "vars"));

    // A committed changeset takes no more uploads.
    upload_ok(&app, "components", &params("json"), "{\"a\": 1}").await;
    assert_committed(&commit(&app, &number, &[]).await);
    let queued = app.count("sn_cdm_request_queue").await;
    let res = upload(&app, "components", &params("json"), "{\"a\": 2}").await;
    assert_refused(&res, &number);
    assert_eq!(app.count("sn_cdm_request_queue").await, queued);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_delete_removes_what_the_content_lacks_and_auto_commit_commits() {
    let app = TestApp::spawn().await;
    create_app(&app, APP).await;
    let up = |body: &'static str, auto_delete: &'static str| {
        let app = &app;
        async move {
            upload_ok(
                app,
                "components",
                &[
                    ("appName", APP),
                    ("namePath", "del"),
                    ("dataFormat", "json"),
                    ("autoCommit", "true"),
                    ("autoDelete", auto_delete),
                ],
                body,
            )
            .await
        }
    };
    let status = up(r#"{"a": "1", "b": "2", "nested": {"x": "1"}}"#, "false").await;
    assert_eq!(status["type"], "upload_and_commit", "{status}");
    assert_eq!(status["output"]["state"], "committed", "{status}");
    let number = status["output"]["number"].as_str().unwrap().to_owned();
    assert_eq!(
        changeset_row(&app, APP, &number).await["state"],
        "committed"
    );
    let committed = json!({"a": "1", "b": "2", "nested": {"x": "1"}});
    assert_eq!(
        read_tree(&app, "/payments/components/del".into(), None).await,
        committed
    );

    // Without autoDelete what the content lacks stays.
    let status = up(r#"{"a": "1"}"#, "false").await;
    assert_eq!(status["output"]["state"], "committed", "{status}");
    assert_eq!(
        read_tree(&app, "/payments/components/del".into(), None).await,
        committed
    );

    // With it, it goes.
    let status = up(r#"{"a": "1"}"#, "true").await;
    assert_eq!(status["output"]["state"], "committed", "{status}");
    assert_eq!(
        read_tree(&app, "/payments/components/del".into(), None).await,
        json!({"a": "1"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identifier_keys_match_list_elements_by_key() {
    let app = TestApp::spawn().await;
    create_app(&app, APP).await;
    let first =
        r#"{"users": [{"name": "Allan", "role": "dev"}, {"name": "Karen", "role": "ops"}]}"#;
    let second = r#"{"users": [{"name": "Karen", "role": "lead"}, {"name": "Bob", "role": "qa"}]}"#;
    for component in ["keyed", "plain"] {
        upload_ok(
            &app,
            "components",
            &[
                ("appName", APP),
                ("namePath", component),
                ("dataFormat", "json"),
                ("autoCommit", "true"),
            ],
            first,
        )
        .await;
    }
    upload_ok(
        &app,
        "components",
        &[
            ("appName", APP),
            ("namePath", "keyed"),
            ("dataFormat", "json"),
            ("autoCommit", "true"),
            ("identifierKeys", "name"),
        ],
        second,
    )
    .await;
    upload_ok(
        &app,
        "components",
        &[
            ("appName", APP),
            ("namePath", "plain"),
            ("dataFormat", "json"),
            ("autoCommit", "true"),
        ],
        second,
    )
    .await;
    // Keyed: Karen updated in place, Allan kept, Bob appended.
    assert_eq!(
        read_tree(&app, "/payments/components/keyed/users".into(), None).await,
        json!({
            "1000": {"name": "Allan", "role": "dev"},
            "2000": {"name": "Karen", "role": "lead"},
            "3000": {"name": "Bob", "role": "qa"},
        })
    );
    // By position: the elements are replaced in order.
    assert_eq!(
        read_tree(&app, "/payments/components/plain/users".into(), None).await,
        json!({
            "1000": {"name": "Karen", "role": "lead"},
            "2000": {"name": "Bob", "role": "qa"},
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ini_and_properties_content_become_nested_components() {
    let app = TestApp::spawn().await;
    create_app(&app, APP).await;
    let (number, _) = changeset(&app, APP).await;
    upload_ok(
        &app,
        "components",
        &[
            ("appName", APP),
            ("namePath", "inisvc"),
            ("dataFormat", "ini"),
            ("changesetNumber", &number),
        ],
        "; settings\ntop=x\n[db]\nport=5432\n[db.pool]\nmax=10\n",
    )
    .await;
    upload_ok(
        &app,
        "components",
        &[
            ("appName", APP),
            ("namePath", "propsvc"),
            ("dataFormat", "properties"),
            ("changesetNumber", &number),
        ],
        "# settings\ndb.port=5432\ndb.host = a.example\nname: svc\n",
    )
    .await;
    let db = child(&app, "/payments/components/inisvc", "db", Some(&number))
        .await
        .expect("db");
    assert_eq!(db["type"], "sn_cdm_node_component");
    assert_eq!(db["status"], "new");
    assert_eq!(
        read_tree(&app, "/payments/components/inisvc".into(), Some(&number)).await,
        json!({"top": "x", "db": {"port": "5432", "pool": {"max": "10"}}})
    );
    let db = child(&app, "/payments/components/propsvc", "db", Some(&number))
        .await
        .expect("db");
    assert_eq!(db["type"], "sn_cdm_node_component");
    assert_eq!(
        read_tree(&app, "/payments/components/propsvc".into(), Some(&number)).await,
        json!({"db": {"port": "5432", "host": "a.example"}, "name": "svc"})
    );
    // Nothing is committed yet.
    assert!(children(&app, "/payments/components", None)
        .await
        .iter()
        .all(|n| n["name"] == "vars"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_reach_component_vars_collections_and_deployables() {
    let app = TestApp::spawn().await;
    create_app(&app, APP).await;
    create_deployable(&app, APP, "Dev_1", "Development").await;
    let (number, _) = changeset(&app, APP).await;
    let res = add_node(
        &app,
        &number,
        "/payments/collections/web",
        "collection",
        None,
    )
    .await;
    assert_eq!(ok(&res)["type"], "sn_cdm_node_collection", "{}", res.text);
    upload_ok(
        &app,
        "components/vars",
        &[
            ("appName", APP),
            ("dataFormat", "json"),
            ("changesetNumber", &number),
        ],
        r#"{"region": "eu", "net": {"zone": "a"}}"#,
    )
    .await;
    upload_ok(
        &app,
        "collections",
        &[
            ("appName", APP),
            ("collectionName", "web"),
            ("namePath", "cfg"),
            ("dataFormat", "json"),
            ("changesetNumber", &number),
        ],
        r#"{"timeout": "30"}"#,
    )
    .await;
    upload_ok(
        &app,
        "deployables",
        &[
            ("appName", APP),
            ("deployableName", "Dev_1"),
            ("namePath", "local"),
            ("dataFormat", "json"),
            ("changesetNumber", &number),
        ],
        r#"{"debug": "true"}"#,
    )
    .await;
    let vars = children(&app, "/payments/components/vars", Some(&number)).await;
    let region = vars.iter().find(|n| n["name"] == "region").expect("region");
    assert_eq!(region["type"], "sn_cdm_node_variable", "{region}");
    let net = vars.iter().find(|n| n["name"] == "net").expect("net");
    assert_eq!(net["type"], "sn_cdm_node_folder", "{net}");
    assert_eq!(
        read_tree(&app, "/payments/collections/web/cfg".into(), Some(&number)).await,
        json!({"timeout": "30"})
    );
    assert_eq!(
        read_tree(
            &app,
            "/payments/deployables/Dev_1/local".into(),
            Some(&number)
        )
        .await,
        json!({"debug": "true"})
    );
}

// ---------------------------------------------------------------------------
// 3. Changesets.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changesets_are_limited_listed_filtered_and_deleted_while_open() {
    let app = TestApp::spawn().await;
    create_app(&app, APP).await;
    let res = admin(&app, "POST", "/api/sn_cdm/changesets/create?appName=nope").await;
    assert_refused(&res, "Application not found");

    // returnFields limits the keys.
    let res = admin(
        &app,
        "POST",
        &format!(
            "/api/sn_cdm/changesets/create?{}",
            qs(&[
                ("appName", APP),
                ("description", "first one"),
                ("returnFields", "number,state,description")
            ])
        ),
    )
    .await;
    let first = ok(&res).clone();
    let keys: BTreeSet<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, BTreeSet::from(["number", "state", "description"]));
    assert_eq!(first["description"], "first one");
    let first = first["number"].as_str().unwrap().to_owned();

    // Commit one, so that it is not open.
    let res = add_node(&app, &first, "/payments/components/c1", "component", None).await;
    ok(&res);
    assert_committed(&commit(&app, &first, &[]).await);

    let mut open = Vec::new();
    for _ in 0..10 {
        open.push(changeset(&app, APP).await.0);
    }
    let res = admin(
        &app,
        "POST",
        "/api/sn_cdm/changesets/create?appName=payments",
    )
    .await;
    assert_refused(&res, "10 open changesets");

    // Delete an open one (with a pending change): gone, and room for one more.
    let victim = open.pop().unwrap();
    let res = add_node(&app, &victim, "/payments/components/c2", "component", None).await;
    ok(&res);
    let res = admin(
        &app,
        "DELETE",
        &format!("/api/sn_cdm/changesets?changesetNumber={victim}"),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let res = admin(
        &app,
        "GET",
        &format!("/api/sn_cdm/changesets?appName={APP}&number={victim}"),
    )
    .await;
    assert_eq!(ok(&res), &json!([]));
    assert!(table(&app, "sn_cdm_node", "name=c2").await.is_empty());
    open.push(changeset(&app, APP).await.0);

    // A committed one cannot be deleted.
    let res = admin(
        &app,
        "DELETE",
        &format!("/api/sn_cdm/changesets?changesetNumber={first}"),
    )
    .await;
    assert_refused(&res, "committed");
    assert_eq!(changeset_row(&app, APP, &first).await["state"], "committed");

    // Lists: all, by state.
    let res = admin(&app, "GET", "/api/sn_cdm/changesets?appName=payments").await;
    assert_eq!(ok(&res).as_array().unwrap().len(), 11);
    let res = admin(
        &app,
        "GET",
        "/api/sn_cdm/changesets?appName=payments&state=committed",
    )
    .await;
    let numbers: Vec<&str> = ok(&res)
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, [first.as_str()]);
    let res = admin(
        &app,
        "GET",
        "/api/sn_cdm/changesets?appName=payments&state=open",
    )
    .await;
    let listed: BTreeSet<String> = ok(&res)
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["state"], "open");
            r["number"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(listed, open.iter().cloned().collect());

    // Activity with returnFields.
    let res = admin(
        &app,
        "GET",
        &format!("/api/sn_cdm/changesets/activity?changesetNumber={first}&returnFields=new_name,new_state"),
    )
    .await;
    assert_eq!(ok(&res), &json!([{"new_name": "c1", "new_state": "Valid"}]));
}

// ---------------------------------------------------------------------------
// 4. Conflicts.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_a_node_another_commit_deleted_is_a_deleted_node_conflict() {
    let app = TestApp::spawn().await;
    let (app_id, status) = story_base(&app).await;
    assert_committed(&status);
    let (d1, _) = changeset(&app, APP).await;
    let (d2, _) = changeset(&app, APP).await;
    delete_node(&app, &d1, "/payments/components/svc/url").await;
    ok(&set_value(&app, &d2, "/payments/components/svc/url", "postgres://x").await);
    assert_committed(&commit(&app, &d1, &[]).await);
    let before = committed_versions(&app, &app_id).await;
    let status = commit(&app, &d2, &[]).await;
    assert_eq!(status["state"], "error", "{status}");
    assert_eq!(changeset_row(&app, APP, &d2).await["state"], "blocked");
    let rows = activity(&app, &d2).await;
    assert_eq!(row_named(&rows, "url")["conflict"], "deleted_node");
    assert_eq!(committed_versions(&app, &app_id).await, before);
    assert!(child(&app, "/payments/components/svc", "url", None)
        .await
        .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adding_under_a_parent_another_commit_deleted_is_an_orphaned_descendant() {
    let app = TestApp::spawn().await;
    let (app_id, status) = story_base(&app).await;
    assert_committed(&status);
    let (p1, _) = changeset(&app, APP).await;
    let (p2, _) = changeset(&app, APP).await;
    delete_node(&app, &p1, "/payments/components/svc/db/pool").await;
    ok(&add_node(
        &app,
        &p2,
        "/payments/components/svc/db/pool/min",
        "cdi",
        Some("2"),
    )
    .await);
    assert_committed(&commit(&app, &p1, &[]).await);
    let before = committed_versions(&app, &app_id).await;
    let status = commit(&app, &p2, &[]).await;
    assert_eq!(status["state"], "error", "{status}");
    assert_eq!(changeset_row(&app, APP, &p2).await["state"], "blocked");
    let rows = activity(&app, &p2).await;
    assert_eq!(row_named(&rows, "min")["conflict"], "orphaned_descendant");
    assert_eq!(committed_versions(&app, &app_id).await, before);
    assert!(child(&app, "/payments/components/svc/db", "pool", None)
        .await
        .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_named_siblings_are_a_duplicated_node_and_a_blocked_changeset_commits_nothing() {
    let app = TestApp::spawn().await;
    let (app_id, status) = story_base(&app).await;
    assert_committed(&status);
    let (s1, _) = changeset(&app, APP).await;
    let (s2, _) = changeset(&app, APP).await;
    let region = "/payments/components/svc/region";
    ok(&add_node(&app, &s1, region, "cdi", Some("eu")).await);
    ok(&add_node(&app, &s2, region, "cdi", Some("us")).await);
    // S2 also changes another node, which must not be committed either.
    ok(&set_value(&app, &s2, "/payments/components/svc/db/port", "9999").await);
    assert_committed(&commit(&app, &s1, &[]).await);
    let before = committed_versions(&app, &app_id).await;
    let snapshots_before = app.count("sn_cdm_snapshot").await;
    let status = commit(&app, &s2, &[]).await;
    assert_eq!(status["state"], "error", "{status}");
    assert_eq!(changeset_row(&app, APP, &s2).await["state"], "blocked");
    let rows = activity(&app, &s2).await;
    assert_eq!(row_named(&rows, "region")["conflict"], "duplicated_node");

    // Nothing of S2 reached the tree; no snapshot was made.
    assert_eq!(committed_versions(&app, &app_id).await, before);
    assert_eq!(app.count("sn_cdm_snapshot").await, snapshots_before);
    let svc = children(&app, "/payments/components/svc", None).await;
    let regions: Vec<&Value> = svc.iter().filter(|n| n["name"] == "region").collect();
    assert_eq!(regions.len(), 1, "{svc:?}");
    assert_eq!(regions[0]["value"], "eu");
    let port = child(&app, "/payments/components/svc/db", "port", None)
        .await
        .unwrap();
    assert_eq!(port["value"], "5432");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn including_a_node_another_commit_deleted_is_an_invalid_include() {
    let app = TestApp::spawn().await;
    let (app_id, status) = story_base(&app).await;
    assert_committed(&status);
    let (a, _) = changeset(&app, APP).await;
    upload_ok(
        &app,
        "components",
        &[
            ("appName", APP),
            ("namePath", "extra"),
            ("dataFormat", "json"),
            ("changesetNumber", &a),
        ],
        r#"{"key": "v1"}"#,
    )
    .await;
    assert_committed(&commit(&app, &a, &[]).await);
    let (gone, _) = changeset(&app, APP).await;
    let (link, _) = changeset(&app, APP).await;
    delete_node(&app, &gone, "/payments/components/extra").await;
    include(
        &app,
        &link,
        "/payments/components/extra",
        "/payments/deployables/Dev_1",
    )
    .await;
    assert_committed(&commit(&app, &gone, &[]).await);
    let before = committed_versions(&app, &app_id).await;
    let status = commit(&app, &link, &[]).await;
    assert_eq!(status["state"], "error", "{status}");
    assert_eq!(changeset_row(&app, APP, &link).await["state"], "blocked");
    let rows = activity(&app, &link).await;
    assert_eq!(row_named(&rows, "extra")["conflict"], "invalid_include");
    assert_eq!(committed_versions(&app, &app_id).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renaming_onto_a_name_another_commit_took_is_a_duplicated_node() {
    let app = TestApp::spawn().await;
    let (_, status) = story_base(&app).await;
    assert_committed(&status);
    let (s, _) = changeset(&app, APP).await;
    let (r, _) = changeset(&app, APP).await;
    ok(&add_node(&app, &s, "/payments/components/svc/uri", "cdi", Some("x")).await);
    let res = admin(
        &app,
        "PUT",
        &format!(
            "/api/sn_cdm/editor/nodes?{}",
            qs(&[
                ("changesetNumber", r.as_str()),
                ("fullNamePath", "/payments/components/svc/url"),
                ("newName", "uri"),
            ])
        ),
    )
    .await;
    assert_eq!(ok(&res)["name"], "uri", "{}", res.text);
    assert_committed(&commit(&app, &s, &[]).await);
    let status = commit(&app, &r, &[]).await;
    let svc = children(&app, "/payments/components/svc", None).await;
    let named_uri = svc.iter().filter(|n| n["name"] == "uri").count();
    assert_eq!(named_uri, 1, "two siblings named uri: {svc:?}");
    assert_eq!(status["state"], "error", "{status}");
    let rows = activity(&app, &r).await;
    assert_eq!(row_named(&rows, "uri")["conflict"], "duplicated_node");
}

// ---------------------------------------------------------------------------
// 5. Versions, reserved names, secure values.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_supersedes_the_old_version_and_makes_the_new_one_valid() {
    let app = TestApp::spawn().await;
    let (_, status) = story_base(&app).await;
    assert_committed(&status);
    let (v, _) = changeset(&app, APP).await;
    ok(&set_value(&app, &v, "/payments/components/svc/db/port", "5433").await);

    let versions = table(&app, "sn_cdm_node", "name=port").await;
    assert_eq!(versions.len(), 2, "{versions:?}");
    let pending = versions.iter().find(|n| n["value"] == "5433").unwrap();
    assert_eq!(pending["status"], "updated");
    assert_eq!(pending["effective_from"], "");

    assert_committed(&commit(&app, &v, &[]).await);
    let versions = table(&app, "sn_cdm_node", "name=port").await;
    assert_eq!(versions.len(), 2, "{versions:?}");
    let old = versions.iter().find(|n| n["value"] == "5432").unwrap();
    let new = versions.iter().find(|n| n["value"] == "5433").unwrap();
    assert_eq!(old["status"], "superseded", "{old}");
    assert_eq!(new["status"], "valid", "{new}");
    assert_eq!(old["main_id"], new["main_id"]);
    assert_ne!(old["effective_to"], "", "{old}");
    assert_ne!(new["effective_from"], "", "{new}");
    assert_eq!(new["effective_to"], "", "{new}");
    assert_eq!(old["effective_to"], new["effective_from"]);
    assert!(
        old["effective_from"]
            .as_str()
            .unwrap()
            .parse::<i64>()
            .unwrap()
            <= new["effective_from"]
                .as_str()
                .unwrap()
                .parse::<i64>()
                .unwrap()
    );
    assert_eq!(new["previous_version"]["value"], old["sys_id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_names_are_refused() {
    let app = TestApp::spawn().await;
    let (_, status) = story_base(&app).await;
    assert_committed(&status);
    let (number, _) = changeset(&app, APP).await;
    for (path, ty) in [
        ("/payments/components/svc/vars", "cdi"),
        ("/payments/components/svc/components", "component"),
        ("/payments/components/collections", "component"),
        ("/payments/deployables/Dev_1/deployables", "cdi"),
    ] {
        let res = add_node(&app, &number, path, ty, Some("x")).await;
        assert_refused(&res, "reserved");
    }
    let res = admin(
        &app,
        "PUT",
        &format!(
            "/api/sn_cdm/editor/nodes?{}",
            qs(&[
                ("changesetNumber", number.as_str()),
                ("fullNamePath", "/payments/components/svc/url"),
                ("newName", "vars"),
            ])
        ),
    )
    .await;
    assert_refused(&res, "reserved");
    assert!(activity(&app, &number).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_cannot_create_nodes_with_reserved_names() {
    let app = TestApp::spawn().await;
    create_app(&app, APP).await;
    let (number, _) = changeset(&app, APP).await;
    let res = upload(
        &app,
        "components",
        &[
            ("appName", APP),
            ("namePath", "svc"),
            ("dataFormat", "yaml"),
            ("changesetNumber", &number),
        ],
        "deployables:\n  x: 1\nvars: 2\n",
    )
    .await;
    let status = if res.status == StatusCode::OK {
        let id = res.body["result"]["upload_id"].as_str().unwrap().to_owned();
        app.run_jobs().await.assert_all_succeeded();
        app.assert_no_jobs_left().await;
        Some(upload_status(&app, &id).await)
    } else {
        assert_refused(&res, "reserved");
        None
    };
    // Whatever the answer, no user node took a reserved name.
    let svc = child(&app, "/payments/components", "svc", Some(&number)).await;
    if svc.is_some() {
        let names: Vec<Value> = children(&app, "/payments/components/svc", Some(&number))
            .await
            .iter()
            .map(|n| json!([n["name"], n["type"]]))
            .collect();
        assert!(
            names
                .iter()
                .all(|n| n[0] != "deployables" && n[0] != "vars"),
            "reserved names created under svc: {names:?}"
        );
    }
    if let Some(status) = status {
        assert_eq!(status["state"], "error", "{status}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secure_values_are_masked_except_for_the_secrets_role() {
    let app = TestApp::spawn().await;
    create_app(&app, APP).await;
    create_deployable(&app, APP, "Dev_1", "Development").await;
    let viewer = app.user("vera", &["sn_cdm.cdm.viewer"]).await;
    let keeper = app
        .user("sam", &["sn_cdm.cdm.viewer", "sn_cdm.cdm_secrets"])
        .await;
    let (number, _) = changeset(&app, APP).await;
    ok(&add_node(&app, &number, "/payments/components/svc", "component", None).await);
    let res = admin(
        &app,
        "POST",
        &format!(
            "/api/sn_cdm/editor/nodes?{}",
            qs(&[
                ("changesetNumber", number.as_str()),
                ("fullNamePath", "/payments/components/svc/password"),
                ("type", "cdi"),
                ("value", "s3cret-value"),
                ("secure", "true"),
            ])
        ),
    )
    .await;
    let node = ok(&res);
    assert_eq!(node["secure_value"], "*******", "{node}");
    assert_eq!(node["value"], Value::Null, "{node}");
    assert!(!res.text.contains("s3cret"), "{}", res.text);
    ok(&add_node(
        &app,
        &number,
        "/payments/components/svc/user",
        "cdi",
        Some("app"),
    )
    .await);
    include(
        &app,
        &number,
        "/payments/components/svc",
        "/payments/deployables/Dev_1",
    )
    .await;
    let rows = activity(&app, &number).await;
    assert_eq!(row_named(&rows, "password")["new_value"], "*******");
    assert_eq!(row_named(&rows, "password")["new_encrypted"], true);
    assert_committed(&commit(&app, &number, &PUBLISH).await);

    // Editor GET: masked, in clear only with the role and decryptPassword.
    let path =
        "/api/sn_cdm/editor/nodes?parentFullNamePath=%2Fpayments%2Fcomponents%2Fsvc&name=password";
    let res = call(&app, "GET", path, &viewer).await;
    let listed = ok(&res);
    assert_eq!(listed[0]["secure_value"], "*******", "{listed}");
    assert_eq!(listed[0]["value"], Value::Null);
    let res = call(
        &app,
        "GET",
        &format!("{path}&decryptPassword=true"),
        &viewer,
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    assert!(!res.text.contains("s3cret"));
    let res = call(
        &app,
        "GET",
        &format!("{path}&decryptPassword=true"),
        &keeper,
    )
    .await;
    assert_eq!(ok(&res)[0]["value"], "s3cret-value", "{}", res.text);

    // Table API.
    let res = call(
        &app,
        "GET",
        "/api/now/table/sn_cdm_node?sysparm_query=name%3Dpassword",
        &viewer,
    )
    .await;
    let rows = ok(&res).as_array().unwrap();
    assert_eq!(rows.len(), 1, "{}", res.text);
    assert_eq!(rows[0]["secure_value"], "*******");
    assert!(!res.text.contains("s3cret"), "{}", res.text);

    // Export content.
    let masked = exported(&app, &viewer, "Dev_1", "json").await;
    assert_eq!(
        masked,
        json!({"Dev_1": {"svc": {"password": "*******", "user": "app"}}})
    );
    let props = exported(&app, &viewer, "Dev_1", "properties").await;
    assert!(
        lines(&props).contains("Dev_1.svc.password=*******"),
        "{props}"
    );
    let clear = exported(&app, &keeper, "Dev_1", "json").await;
    assert_eq!(
        clear,
        json!({"Dev_1": {"svc": {"password": "s3cret-value", "user": "app"}}})
    );
}

// ---------------------------------------------------------------------------
// 6. Snapshots and policies.

const PORT_POLICY: &str = r#"package tollgate.policy

default compliant := false

compliant if {
	input.config.svc.db.port == "5432"
	input.application == "payments"
	input.deployable.name == "Dev_1"
	input.deployable.environment_type == "Development"
	startswith(input.snapshot, "Dev_1-v")
}
"#;

/// Policy mappings are numbered by the registry (`MAP` prefix, the table's
/// counter), whoever inserts them: the mappings API and the Table API share
/// one sequence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_mappings_are_numbered_by_the_registry_whoever_inserts_them() {
    let app = TestApp::spawn().await;
    create_app(&app, APP).await;
    let deployable = create_deployable(&app, APP, "Dev_1", "Development").await;
    let mut policies = Vec::new();
    for name in ["port-5432", "port-6543"] {
        let res = app
            .post(
                "/api/now/table/sn_pace_policy",
                json!({"name": name, "rego": PORT_POLICY}),
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        policies.push(res.body["result"]["sys_id"].as_str().unwrap().to_owned());
    }
    let res = admin(
        &app,
        "POST",
        "/api/sn_cdm/policies/mappings?appName=payments&deployableName=Dev_1&policyName=port-5432",
    )
    .await;
    assert_eq!(ok(&res)["number"], "MAP0001001", "{}", res.text);
    let id = deployable["sys_id"].as_str().unwrap();
    let res = app
        .post(
            "/api/now/table/sn_cdm_pace_policy_mapping",
            json!({"policy": policies[1], "document": id, "document_ref": id}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(res.body["result"]["number"], "MAP0001002", "{}", res.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_are_validated_by_mapped_policies_and_only_valid_ones_publish() {
    let app = TestApp::spawn().await;
    create_app(&app, APP).await;
    create_deployable(&app, APP, "Dev_1", "Development").await;
    let res = app
        .post(
            "/api/now/table/sn_pace_policy",
            json!({"name": "port-5432", "rego": PORT_POLICY}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let res = admin(
        &app,
        "POST",
        "/api/sn_cdm/policies/mappings?appName=payments&deployableName=Dev_1&policyName=port-5432",
    )
    .await;
    let mapping = ok(&res);
    assert_eq!(mapping["state"], "active", "{mapping}");
    assert_eq!(mapping["sys_class_name"], "sn_cdm_pace_policy_mapping");

    // v1: port 6543 fails the policy; publish_valid leaves it unpublished.
    let (a, _) = changeset(&app, APP).await;
    upload_ok(
        &app,
        "components",
        &[
            ("appName", APP),
            ("namePath", "svc"),
            ("dataFormat", "yaml"),
            ("changesetNumber", &a),
        ],
        "db:\n  port: 6543\n",
    )
    .await;
    include(
        &app,
        &a,
        "/payments/components/svc",
        "/payments/deployables/Dev_1",
    )
    .await;
    assert_committed(&commit(&app, &a, &PUBLISH).await);
    let v1 = snapshot(&app, "Dev_1-v1.dpl").await;
    assert_eq!(v1["validation"], "failed", "{v1}");
    assert_eq!(v1["published"], "false", "{v1}");

    let res = admin(
        &app,
        "POST",
        "/api/sn_cdm/applications/deployables/exports?appName=payments&deployableName=Dev_1&exporterName=x&dataFormat=json",
    )
    .await;
    assert_refused(&res, "Failed to find latest published snapshot");
    let by_name = |action: &str, name: &str| {
        format!("/api/sn_cdm/snapshots/{action}?appName=payments&deployableName=Dev_1&name={name}")
    };
    let res = admin(&app, "PUT", &by_name("publish", "Dev_1-v1.dpl")).await;
    assert_refused(&res, "validation");

    // restrictExport on a failed snapshot: the exporter reports a failure.
    let (status, content) = export(
        &app,
        &Auth::admin(),
        APP,
        "Dev_1",
        "json",
        &[("snapshotName", "Dev_1-v1.dpl"), ("restrictExport", "true")],
    )
    .await;
    assert_eq!(status["state"], "completed", "{status}");
    assert_eq!(status["exporter_result"]["state"], "failure", "{status}");
    assert_eq!(content["exporter_result"]["state"], "failure", "{content}");
    let errors = content["exporter_result"]["errors"].to_string();
    assert!(errors.contains("Dev_1-v1.dpl"), "{errors}");
    // Without restrictExport the named snapshot exports.
    let (_, content) = export(
        &app,
        &Auth::admin(),
        APP,
        "Dev_1",
        "json",
        &[("snapshotName", "Dev_1-v1.dpl")],
    )
    .await;
    assert_eq!(
        content["exporter_result"],
        json!({"Dev_1": {"svc": {"db": {"port": "6543"}}}})
    );

    // v2: port 5432, committed without validation: not validated, so
    // publishing is refused until it is validated.
    let (b, _) = changeset(&app, APP).await;
    ok(&set_value(&app, &b, "/payments/components/svc/db/port", "5432").await);
    assert_committed(&commit(&app, &b, &[]).await);
    let v2 = snapshot(&app, "Dev_1-v2.dpl").await;
    assert_eq!(v2["validation"], "not_validated", "{v2}");
    assert_eq!(v2["published"], "false");
    let v2_id = v2["sys_id"].as_str().unwrap();
    let res = admin(
        &app,
        "POST",
        &format!("/api/sn_cdm/snapshots/{v2_id}/publish"),
    )
    .await;
    assert_refused(&res, "validation");
    assert_eq!(snapshot(&app, "Dev_1-v2.dpl").await["published"], "false");

    let res = admin(&app, "PUT", &by_name("validate", "Dev_1-v2.dpl")).await;
    let validated = ok(&res);
    assert_eq!(validated["validation"], "passed", "{validated}");
    assert_eq!(validated["published"], false);
    let res = admin(&app, "PUT", &by_name("publish", "Dev_1-v2.dpl")).await;
    let published = ok(&res);
    assert_eq!(published["published"], true, "{published}");
    assert_eq!(published["name"], "Dev_1-v2.dpl");
    assert_eq!(
        exported(&app, &Auth::admin(), "Dev_1", "json").await,
        json!({"Dev_1": {"svc": {"db": {"port": "5432"}}}})
    );

    // Unpublished again: no published snapshot to export.
    let res = admin(&app, "PUT", &by_name("unpublish", "Dev_1-v2.dpl")).await;
    assert_eq!(ok(&res)["published"], false, "{}", res.text);
    let res = admin(
        &app,
        "POST",
        "/api/sn_cdm/applications/deployables/exports?appName=payments&deployableName=Dev_1&exporterName=x",
    )
    .await;
    assert_refused(&res, "Failed to find latest published snapshot");
}

// ---------------------------------------------------------------------------
// 7. Impacted deployables.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn impacted_deployables_are_those_whose_configuration_the_changeset_reaches() {
    let app = TestApp::spawn().await;
    let (_, status) = story_base(&app).await;
    assert_committed(&status);
    // Component `extra`, included by Dev_1 only.
    let (a, _) = changeset(&app, APP).await;
    upload_ok(
        &app,
        "components",
        &[
            ("appName", APP),
            ("namePath", "extra"),
            ("dataFormat", "json"),
            ("changesetNumber", &a),
        ],
        r#"{"key": "v1"}"#,
    )
    .await;
    include(
        &app,
        &a,
        "/payments/components/extra",
        "/payments/deployables/Dev_1",
    )
    .await;
    assert_committed(&commit(&app, &a, &[]).await);

    let names_by_query = |number: String| {
        let app = &app;
        async move {
            let res = admin(
                app,
                "GET",
                &format!("/api/sn_cdm/changesets/impacted-deployables?changesetNumber={number}"),
            )
            .await;
            ok(&res)
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let nodes_by_id = |sys_id: String| {
        let app = &app;
        async move {
            let res = admin(
                app,
                "GET",
                &format!("/api/sn_cdm/changesets/{sys_id}/impacted-deployables"),
            )
            .await;
            ok(&res).as_array().unwrap().clone()
        }
    };

    // Open changeset changing `extra`: Dev_1 only.
    let (x, x_id) = changeset(&app, APP).await;
    ok(&set_value(&app, &x, "/payments/components/extra/key", "v2").await);
    assert_eq!(names_by_query(x.clone()).await, ["Dev_1"]);
    let nodes = nodes_by_id(x_id.clone()).await;
    assert_eq!(nodes.len(), 1, "{nodes:?}");
    assert_eq!(nodes[0]["name"], "Dev_1");
    assert_eq!(nodes[0]["type"], "sn_cdm_node_deployable");
    let res = admin(
        &app,
        "GET",
        &format!("/api/sn_cdm/changesets/impacted-deployables?changesetNumber={x}&returnFields=name,environment_type"),
    )
    .await;
    assert_eq!(
        ok(&res),
        &json!([{"name": "Dev_1", "environment_type": "Development"}])
    );

    // Open changeset changing `svc`: both.
    let (y, y_id) = changeset(&app, APP).await;
    ok(&set_value(&app, &y, "/payments/components/svc/db/port", "1").await);
    assert_eq!(names_by_query(y.clone()).await, ["Dev_1", "Prod_1"]);
    assert_eq!(nodes_by_id(y_id).await.len(), 2);

    // Committed, X still answers Dev_1 only.
    assert_committed(&commit(&app, &x, &[]).await);
    assert_eq!(names_by_query(x).await, ["Dev_1"]);
    let nodes = nodes_by_id(x_id).await;
    assert_eq!(nodes.len(), 1, "{nodes:?}");
    assert_eq!(nodes[0]["name"], "Dev_1");

    let res = admin(
        &app,
        "GET",
        "/api/sn_cdm/changesets/00000000000000000000000000000000/impacted-deployables",
    )
    .await;
    assert_refused(&res, "Changeset not found");
}

// ---------------------------------------------------------------------------
// 8. Roles.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_read_editors_change_and_strangers_are_turned_away() {
    let app = TestApp::spawn().await;
    create_app(&app, APP).await;
    let viewer = app.user("vera", &["sn_cdm.cdm.viewer"]).await;
    let editor = app.user("eddie", &["sn_cdm.cdm_editor"]).await;
    let create = "/api/sn_cdm/changesets/create?appName=payments";

    let res = call(&app, "POST", create, &viewer).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
    let res = call(&app, "POST", create, &Auth::None).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text);
    let res = call(
        &app,
        "GET",
        "/api/sn_cdm/changesets?appName=payments",
        &Auth::None,
    )
    .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text);
    assert_eq!(app.count("sn_cdm_changeset").await, 0);

    let res = call(&app, "POST", create, &editor).await;
    let number = ok(&res)["number"].as_str().unwrap().to_owned();
    assert_eq!(ok(&res)["sys_created_by"], "eddie");
    let res = call(
        &app,
        "GET",
        "/api/sn_cdm/changesets?appName=payments",
        &viewer,
    )
    .await;
    assert_eq!(ok(&res).as_array().unwrap().len(), 1);

    // Viewers cannot upload; editors cannot create deployables.
    let res = app
        .raw(
            "POST",
            &format!("/api/sn_cdm/applications/uploads/components?appName=payments&namePath=svc&dataFormat=json&changesetNumber={number}"),
            &viewer,
            Some("{\"a\": 1}"),
            "text/plain",
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
    let res = call(
        &app,
        "POST",
        "/api/sn_cdm/applications/deployables?appName=payments&name=Dev_1&envType=Development",
        &editor,
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
    assert_eq!(app.count("sn_cdm_request_queue").await, 0);
    assert_eq!(app.count("sn_cdm_deployable").await, 0);
}

// ---------------------------------------------------------------------------
// Status endpoints for unknown ids answer 200 with the error form.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_endpoints_answer_unknown_ids_with_the_error_form() {
    let app = TestApp::spawn().await;
    let id = "9cd583e953124110da35ddeeff7b128";
    let res = admin(
        &app,
        "GET",
        &format!("/api/sn_cdm/changesets/commit-status/{id}"),
    )
    .await;
    assert_eq!(
        ok(&res),
        &json!({"state": "error", "errors": format!("Invalid requestId '{id}'"), "commit_id": id})
    );
    let res = admin(
        &app,
        "GET",
        &format!("/api/sn_cdm/applications/upload-status/{id}"),
    )
    .await;
    assert_eq!(ok(&res)["upload_id"], id);
    assert_eq!(ok(&res)["state"], "error");
    let res = admin(
        &app,
        "GET",
        &format!("/api/sn_cdm/applications/deployables/exports/{id}/status"),
    )
    .await;
    assert_eq!(ok(&res)["export_id"], id);
    assert_eq!(ok(&res)["state"], "error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_node_another_commit_added_children_to_is_an_incomplete_deleted_parent() {
    let app = TestApp::spawn().await;
    let (app_id, status) = story_base(&app).await;
    assert_committed(&status);
    let (adder, _) = changeset(&app, APP).await;
    let (deleter, _) = changeset(&app, APP).await;
    ok(&add_node(
        &app,
        &adder,
        "/payments/components/svc/db/pool/min",
        "cdi",
        Some("2"),
    )
    .await);
    delete_node(&app, &deleter, "/payments/components/svc/db/pool").await;
    assert_committed(&commit(&app, &adder, &[]).await);
    let before = committed_versions(&app, &app_id).await;
    let status = commit(&app, &deleter, &[]).await;
    assert_eq!(status["state"], "error", "{status}");
    let rows = activity(&app, &deleter).await;
    assert_eq!(
        row_named(&rows, "pool")["conflict"],
        "incomplete_deleted_parent"
    );
    assert_eq!(committed_versions(&app, &app_id).await, before);
    assert!(child(&app, "/payments/components/svc/db/pool", "min", None)
        .await
        .is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_component_still_included_is_an_incomplete_deleted_ref() {
    let app = TestApp::spawn().await;
    let (app_id, status) = story_base(&app).await;
    assert_committed(&status);
    let (deleter, _) = changeset(&app, APP).await;
    delete_node(&app, &deleter, "/payments/components/svc").await;
    let before = committed_versions(&app, &app_id).await;
    let status = commit(&app, &deleter, &[]).await;
    assert_eq!(status["state"], "error", "{status}");
    let rows = activity(&app, &deleter).await;
    assert_eq!(
        row_named(&rows, "svc")["conflict"],
        "incomplete_deleted_ref"
    );
    assert_eq!(committed_versions(&app, &app_id).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tree_reads_as_it_was_when_a_changeset_was_committed() {
    let app = TestApp::spawn().await;
    let (_, status) = story_base(&app).await;
    assert_committed(&status);
    let first = status["output"]["number"].as_str().unwrap().to_owned();
    let (second, _) = changeset(&app, APP).await;
    ok(&set_value(&app, &second, "/payments/components/svc/db/port", "6543").await);
    assert_committed(&commit(&app, &second, &[]).await);
    let port_as_of = |number: String| {
        let app = &app;
        async move {
            let res = admin(
                app,
                "GET",
                &format!(
                    "/api/sn_cdm/editor/nodes?{}",
                    qs(&[
                        ("parentFullNamePath", "/payments/components/svc/db"),
                        ("name", "port"),
                        ("asOfChangesetNumber", &number),
                    ])
                ),
            )
            .await;
            ok(&res)[0]["value"].clone()
        }
    };
    assert_eq!(port_as_of(first).await, "5432");
    assert_eq!(port_as_of(second.clone()).await, "6543");
    let (open, _) = changeset(&app, APP).await;
    let res = admin(
        &app,
        "GET",
        &format!(
            "/api/sn_cdm/editor/nodes?{}",
            qs(&[
                ("parentFullNamePath", "/payments/components/svc"),
                ("asOfChangesetNumber", &open)
            ])
        ),
    )
    .await;
    assert_refused(&res, "is not committed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_edits_of_one_node_in_one_changeset_keep_one_pending_version() {
    let app = TestApp::spawn().await;
    let (_, status) = story_base(&app).await;
    assert_committed(&status);
    let (number, sys_id) = changeset(&app, APP).await;
    let path = "/payments/components/svc/db/port";
    let (a, b, c, d) = tokio::join!(
        set_value(&app, &number, path, "1"),
        set_value(&app, &number, path, "2"),
        set_value(&app, &number, path, "3"),
        set_value(&app, &number, path, "4"),
    );
    for res in [&a, &b, &c, &d] {
        ok(res);
    }
    let pending = app
        .db
        .fetch_optional(
            "SELECT COUNT(*) AS n FROM sn_cdm_node WHERE changeset_id = $1 AND effective_from IS NULL",
            &[tollgate::storage::Value::from(sys_id.as_str())],
        )
        .await
        .unwrap()
        .and_then(|r| r.int("n"));
    assert_eq!(pending, Some(1), "one pending version of the node");
    // Two commits of the changeset asked at once: one is refused or finds
    // nothing left; the node ends with one committed change.
    let commit_path = format!("/api/sn_cdm/changesets/commit?changesetNumber={number}");
    let (first, second) = tokio::join!(
        admin(&app, "PUT", &commit_path),
        admin(&app, "PUT", &commit_path),
    );
    let accepted = [&first, &second]
        .iter()
        .filter(|r| r.status == axum::http::StatusCode::OK)
        .count();
    assert_eq!(accepted, 1, "{} / {}", first.text, second.text);
    app.run_jobs().await.assert_all_succeeded();
    app.assert_no_jobs_left().await;
    let versions = app
        .db
        .fetch_optional(
            "SELECT COUNT(*) AS n FROM sn_cdm_node WHERE changeset_id = $1 AND effective_from IS NOT NULL",
            &[tollgate::storage::Value::from(sys_id.as_str())],
        )
        .await
        .unwrap()
        .and_then(|r| r.int("n"));
    assert_eq!(versions, Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_below_an_include_leave_out_overrides_equal_to_the_included_values() {
    let app = TestApp::spawn().await;
    let (_, status) = story_base(&app).await;
    assert_committed(&status);
    let content = "svc:\n  db:\n    port: 5432\n    pool:\n      max: 20\n";
    for (deployable, redundant, expected) in [
        ("Dev_1", "true", vec!["pool"]),
        ("Prod_1", "false", vec!["pool", "port"]),
    ] {
        let (number, _) = changeset(&app, APP).await;
        upload_ok(
            &app,
            "deployables",
            &[
                ("appName", APP),
                ("deployableName", deployable),
                ("dataFormat", "yaml"),
                ("changesetNumber", &number),
                ("deleteRedundantOverrides", redundant),
            ],
            content,
        )
        .await;
        let parent = format!("/payments/deployables/{deployable}/svc/db");
        let mut names: Vec<String> = children(&app, &parent, Some(&number))
            .await
            .iter()
            .map(|n| n["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        assert_eq!(names, expected, "deleteRedundantOverrides={redundant}");
        // Either way the resolved configuration is the same.
        assert_committed(&commit(&app, &number, &PUBLISH).await);
    }
}

/// A changeset of a shared library.
async fn library_changeset(app: &TestApp, library: &str) -> String {
    let res = admin(
        app,
        "POST",
        &format!(
            "/api/sn_cdm/changesets/create?{}",
            qs(&[("sharedLibraryName", library)])
        ),
    )
    .await;
    ok(&res)["number"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_library_component_is_included_and_its_commits_reach_the_including_deployables() {
    let app = TestApp::spawn().await;
    let (_, status) = story_base(&app).await;
    assert_committed(&status);
    let res = app
        .post(
            "/api/now/table/sn_cdm_application",
            json!({"name": "platform-lib", "type": "shared_library"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let lib = library_changeset(&app, "platform-lib").await;
    upload_ok(
        &app,
        "components",
        &[
            ("sharedLibraryName", "platform-lib"),
            ("namePath", "logging"),
            ("dataFormat", "properties"),
            ("changesetNumber", &lib),
        ],
        "level=info\nformat=json\n",
    )
    .await;
    assert_committed(&commit(&app, &lib, &PUBLISH).await);
    let impacted = |number: String| {
        let app = &app;
        async move {
            let res = admin(
                app,
                "GET",
                &format!(
                    "/api/sn_cdm/changesets/impacted-shared-components?{}",
                    qs(&[("changesetNumber", &number)])
                ),
            )
            .await;
            ok(&res).as_array().unwrap().clone()
        }
    };
    let first = impacted(lib.clone()).await;
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0]["name"], "logging");
    assert_eq!(first[0]["version_counter"], "1");

    // Include it in Dev_1 (a shared include) and publish.
    let (number, _) = changeset(&app, APP).await;
    let res = admin(
        &app,
        "POST",
        &format!(
            "/api/sn_cdm/editor/includes?{}",
            qs(&[
                ("changesetNumber", &number),
                ("sourceFullNamePath", "/platform-lib/components/logging"),
                ("targetFullNamePath", "/payments/deployables/Dev_1"),
            ])
        ),
    )
    .await;
    assert_eq!(ok(&res)["type"], "sn_cdm_node_linked_shared_component");
    assert_committed(&commit(&app, &number, &PUBLISH).await);
    assert_eq!(impacted(number.clone()).await[0]["name"], "logging");
    let used = admin(
        &app,
        "GET",
        "/api/sn_cdm/applications/shared_components?appName=payments",
    )
    .await;
    assert_eq!(ok(&used)[0]["name"], "logging", "{}", used.text);
    assert_eq!(ok(&used)[0]["sharedLibraryName"], "platform-lib");
    assert_eq!(ok(&used)[0]["currentVersionName"], "logging-v1.shc");
    let updates = admin(
        &app,
        "GET",
        "/api/sn_cdm/applications/shared_components?appName=payments&withUpdatesOnly=true",
    )
    .await;
    assert_eq!(ok(&updates).as_array().map(Vec::len), Some(0));
    let users = admin(
        &app,
        "GET",
        "/api/sn_cdm/applications/shared_libraries/components/applications?sharedLibraryName=platform-lib&sharedComponentName=logging",
    )
    .await;
    assert_eq!(
        ok(&users)["logging"][0]["name"],
        "payments",
        "{}",
        users.text
    );
    let text = exported(&app, &Auth::admin(), "Dev_1", "properties").await;
    assert!(lines(&text).contains("Dev_1.logging.level=info"), "{text}");

    // A library commit makes (and here publishes) a new snapshot of Dev_1 only.
    let before = table(&app, "sn_cdm_snapshot", "").await.len();
    let lib = library_changeset(&app, "platform-lib").await;
    ok(&set_value(
        &app,
        &lib,
        "/platform-lib/components/logging/level",
        "debug",
    )
    .await);
    assert_committed(&commit(&app, &lib, &PUBLISH).await);
    assert_eq!(table(&app, "sn_cdm_snapshot", "").await.len(), before + 1);
    assert_eq!(impacted(lib.clone()).await[0]["version_counter"], "2");
    let text = exported(&app, &Auth::admin(), "Dev_1", "properties").await;
    assert!(lines(&text).contains("Dev_1.logging.level=debug"), "{text}");

    // The library cannot delete a component applications include.
    let lib = library_changeset(&app, "platform-lib").await;
    delete_node(&app, &lib, "/platform-lib/components/logging").await;
    let status = commit(&app, &lib, &[]).await;
    assert_eq!(status["state"], "error", "{status}");
    let rows = activity(&app, &lib).await;
    assert_eq!(
        row_named(&rows, "logging")["conflict"],
        "incomplete_deleted_ref"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_deployable_commits_an_auto_generated_changeset() {
    let app = TestApp::spawn().await;
    let (_, status) = story_base(&app).await;
    assert_committed(&status);
    let res = admin(
        &app,
        "DELETE",
        "/api/sn_cdm/applications/deployables?appName=payments&name=Prod_1",
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert!(res.text.is_empty(), "{}", res.text);
    let deployable = table(&app, "sn_cdm_deployable", "name=Prod_1").await;
    assert_eq!(deployable[0]["state"], "deleted");
    assert!(child(&app, "/payments/deployables", "Prod_1", None)
        .await
        .is_none());
    let list = admin(
        &app,
        "GET",
        "/api/sn_cdm/changesets?appName=payments&state=committed",
    )
    .await;
    let auto = ok(&list)
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["title"].as_str().is_some_and(|t| {
                t.starts_with("Auto generated for deletion of CDM Deployable Prod_1")
            })
        })
        .cloned()
        .expect("the auto-generated changeset");
    let rows = activity(&app, auto["number"].as_str().unwrap()).await;
    let row = row_named(&rows, "Prod_1");
    assert_eq!(row["new_state"], "Deleted");
    assert_eq!(row["new_type"], "Deployable");
    // Gone for exports; the editor cannot delete a deployable; a second
    // delete finds nothing.
    let (number, _) = changeset(&app, APP).await;
    let res = admin(
        &app,
        "DELETE",
        &format!(
            "/api/sn_cdm/editor/nodes?{}",
            qs(&[
                ("changesetNumber", &number),
                ("fullNamePath", "/payments/deployables/Dev_1")
            ])
        ),
    )
    .await;
    assert_refused(&res, "DELETE /api/sn_cdm/applications/deployables");
    let res = admin(
        &app,
        "DELETE",
        "/api/sn_cdm/applications/deployables?appName=payments&name=Prod_1",
    )
    .await;
    assert_refused(&res, "not found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployable_is_renamed_described_and_disconnected() {
    let app = TestApp::spawn().await;
    let (_, status) = story_base(&app).await;
    assert_committed(&status);
    let res = admin(
        &app,
        "PUT",
        &format!(
            "/api/sn_cdm/applications/deployables?{}",
            qs(&[
                ("appName", APP),
                ("name", "Dev_1"),
                ("newName", "Dev_2"),
                ("newDescription", "renamed"),
                ("newIdentifier", "dev"),
                ("newServiceId", "''"),
            ])
        ),
    )
    .await;
    let record = ok(&res);
    assert_eq!(record["name"], "Dev_2", "{record}");
    assert_eq!(record["description"], "renamed");
    assert_eq!(record["identifier"], "dev");
    assert_eq!(record["cmdb_ci"], Value::Null);
    assert!(child(&app, "/payments/deployables", "Dev_2", None)
        .await
        .is_some());
    assert!(child(&app, "/payments/deployables", "Dev_1", None)
        .await
        .is_none());
    // The next snapshot carries the new name, and cannot be published
    // without a service.
    let (number, _) = changeset(&app, APP).await;
    ok(&set_value(&app, &number, "/payments/components/svc/db/port", "6000").await);
    assert_committed(&commit(&app, &number, &PUBLISH).await);
    // (The rename made v2.)
    let snap = snapshot(&app, "Dev_2-v3.dpl").await;
    assert_eq!(snap["published"], "false", "{snap}");
    // Renaming onto a taken name is refused and changes nothing.
    let res = admin(
        &app,
        "PUT",
        &format!(
            "/api/sn_cdm/applications/deployables?{}",
            qs(&[("appName", APP), ("name", "Dev_2"), ("newName", "Prod_1")])
        ),
    )
    .await;
    assert_refused(&res, "already exists");
    assert!(child(&app, "/payments/deployables", "Dev_2", None)
        .await
        .is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploaded_document_with_secure_values_is_never_readable_without_the_secrets_role() {
    let app = TestApp::spawn().await;
    create_app(&app, APP).await;
    let viewer = app.user("vera", &["sn_cdm.cdm.viewer"]).await;
    let keeper = app
        .user("sam", &["sn_cdm.cdm.viewer", "sn_cdm.cdm_secrets"])
        .await;
    let (number, _) = changeset(&app, APP).await;
    ok(&add_node(&app, &number, "/payments/components/svc", "component", None).await);
    let res = admin(
        &app,
        "POST",
        &format!(
            "/api/sn_cdm/editor/nodes?{}",
            qs(&[
                ("changesetNumber", number.as_str()),
                ("fullNamePath", "/payments/components/svc/password"),
                ("type", "cdi"),
                ("value", "old-s3cret"),
                ("secure", "true"),
            ])
        ),
    )
    .await;
    ok(&res);
    assert_committed(&commit(&app, &number, &PUBLISH).await);

    // An upload sets the secure node's new value.
    let (second, _) = changeset(&app, APP).await;
    let res = upload(
        &app,
        "components",
        &[
            ("appName", APP),
            ("namePath", "svc"),
            ("dataFormat", "json"),
            ("changesetNumber", &second),
        ],
        r#"{"password": "n3w-s3cret-value", "user": "app"}"#,
    )
    .await;
    let upload_id = ok(&res)["upload_id"].as_str().unwrap().to_owned();

    // Queued, the document is stored encrypted...
    let stored = app
        .db
        .fetch_optional(
            "SELECT payload FROM sn_cdm_request_queue WHERE sys_id = $1",
            &[tollgate::storage::Value::from(upload_id.as_str())],
        )
        .await
        .unwrap()
        .unwrap()
        .string("payload");
    assert!(stored.starts_with("enc:v2:"), "{stored}");
    assert!(!stored.contains("n3w-s3cret"));
    // ...shown masked through the Table API, and cannot be searched.
    let res = call(
        &app,
        "GET",
        &format!("/api/now/table/sn_cdm_request_queue/{upload_id}"),
        &viewer,
    )
    .await;
    assert_eq!(ok(&res)["payload"], "*******", "{}", res.text);
    assert!(!res.text.contains("n3w-s3cret"), "{}", res.text);
    let res = call(
        &app,
        "GET",
        "/api/now/table/sn_cdm_request_queue?sysparm_query=payloadLIKEn3w-s3cret",
        &viewer,
    )
    .await;
    assert!(!res.text.contains("n3w-s3cret"), "{}", res.text);
    assert!(
        res.status != StatusCode::OK || ok(&res).as_array().is_none_or(|rows| rows.is_empty()),
        "no oracle on the payload: {}",
        res.text
    );

    // The upload job still reads it, and the new value lands (encrypted).
    app.run_jobs().await.assert_all_succeeded();
    app.assert_no_jobs_left().await;
    assert_eq!(upload_status(&app, &upload_id).await["state"], "completed");
    for auth in [&viewer, &keeper] {
        let res = call(
            &app,
            "GET",
            &format!("/api/now/table/sn_cdm_request_queue/{upload_id}"),
            auth,
        )
        .await;
        assert!(!res.text.contains("n3w-s3cret"), "{}", res.text);
        let res = call(
            &app,
            "GET",
            "/api/now/table/sn_cdm_node?sysparm_query=name%3Dpassword",
            auth,
        )
        .await;
        assert!(!res.text.contains("s3cret"), "{}", res.text);
    }
    assert_committed(&commit(&app, &second, &PUBLISH).await);
    let path =
        "/api/sn_cdm/editor/nodes?parentFullNamePath=%2Fpayments%2Fcomponents%2Fsvc&name=password";
    let res = call(
        &app,
        "GET",
        &format!("{path}&decryptPassword=true"),
        &keeper,
    )
    .await;
    assert_eq!(ok(&res)[0]["value"], "n3w-s3cret-value", "{}", res.text);
}

/// Creates a CDI at `path`, creating its missing parents.
async fn create_with_parents(app: &TestApp, number: &str, path: String) -> TestResponse {
    let params = [
        ("changesetNumber", number),
        ("fullNamePath", path.as_str()),
        ("type", "cdi"),
        ("value", "1"),
        ("autoCreateParents", "true"),
    ];
    admin(
        app,
        "POST",
        &format!("/api/sn_cdm/editor/nodes?{}", qs(&params)),
    )
    .await
}

/// A slash path of `n` names `a` (`a/a/.../a`).
fn names(n: usize) -> String {
    vec!["a"; n].join("/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tree_nests_at_most_128_levels_and_deeper_paths_create_nothing() {
    let app = TestApp::spawn().await;
    create_app(&app, APP).await;
    create_deployable(&app, APP, "Dev_1", "Development").await;
    let (number, _) = changeset(&app, APP).await;
    let nodes = app.count("sn_cdm_node").await;
    let queued = app.count("sn_cdm_request_queue").await;
    // The finding's trigger: thousands of auto-created parents. Refused
    // before anything is created, naming the parameter.
    let res = create_with_parents(
        &app,
        &number,
        format!("payments/deployables/Dev_1/{}/x", names(3000)),
    )
    .await;
    assert_refused(&res, "fullNamePath");
    assert_refused(&res, "at most 128 levels");
    // One name past the limit (deployables and Dev_1 are levels 1 and 2).
    let res = create_with_parents(
        &app,
        &number,
        format!("payments/deployables/Dev_1/{}/x", names(126)),
    )
    .await;
    assert_refused(&res, "fullNamePath");
    assert_eq!(
        app.count("sn_cdm_node").await,
        nodes,
        "a refusal creates no node"
    );

    // An upload's namePath is refused the same way, before it is queued.
    let res = upload(
        &app,
        "deployables",
        &[
            ("appName", APP),
            ("deployableName", "Dev_1"),
            ("namePath", &names(129)),
            ("dataFormat", "json"),
            ("changesetNumber", &number),
        ],
        "{\"k\": 1}",
    )
    .await;
    assert_refused(&res, "namePath");
    assert_eq!(app.count("sn_cdm_request_queue").await, queued);

    // A namePath within the limit whose content nests past it: the job
    // refuses at the first node too deep and its whole upload is undone.
    let mut deep = String::from("1");
    for _ in 0..10 {
        deep = format!("{{\"b\": {deep}}}");
    }
    let res = upload(
        &app,
        "deployables",
        &[
            ("appName", APP),
            ("deployableName", "Dev_1"),
            ("namePath", &names(120)),
            ("dataFormat", "json"),
            ("changesetNumber", &number),
        ],
        &deep,
    )
    .await;
    let id = ok(&res)["upload_id"].as_str().unwrap().to_owned();
    app.run_jobs().await.assert_all_succeeded();
    app.assert_no_jobs_left().await;
    let status = upload_status(&app, &id).await;
    assert_eq!(status["state"], "error", "{status}");
    assert!(
        status.to_string().contains("at most 128 levels"),
        "{status}"
    );
    assert_eq!(
        app.count("sn_cdm_node").await,
        nodes,
        "a failed upload creates no node"
    );

    // The deepest tree allowed is made, committed and resolved into a
    // snapshot (resolution recurses once per level).
    let res = create_with_parents(
        &app,
        &number,
        format!("payments/deployables/Dev_1/{}/x", names(125)),
    )
    .await;
    let node = ok(&res);
    assert_eq!(node["level"].as_str().unwrap_or_default(), "128", "{node}");
    assert_committed(&commit(&app, &number, &[]).await);
    let v1 = snapshot(&app, "Dev_1-v1.dpl").await;
    assert_eq!(v1["cdi_count"], "1", "{v1}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_count_empty_objects_and_lists_against_the_node_limit() {
    let app = TestApp::spawn().await;
    create_app(&app, APP).await;
    let (number, _) = changeset(&app, APP).await;
    let params = [
        ("appName", APP),
        ("namePath", "svc"),
        ("dataFormat", "json"),
        ("changesetNumber", number.as_str()),
    ];
    let queued = app.count("sn_cdm_request_queue").await;
    let nodes = app.count("sn_cdm_node").await;
    // 10,001 empty objects hold no value but would make 10,001 components.
    let empties: Map<String, Value> = (0..10_001).map(|i| (format!("k{i}"), json!({}))).collect();
    let res = upload(
        &app,
        "components",
        &params,
        &Value::Object(empties).to_string(),
    )
    .await;
    assert_refused(&res, "10001 nodes");
    assert_refused(&res, "at most 10000");
    // Empty lists likewise.
    let lists: Map<String, Value> = (0..10_001).map(|i| (format!("k{i}"), json!([]))).collect();
    let res = upload(
        &app,
        "components",
        &params,
        &Value::Object(lists).to_string(),
    )
    .await;
    assert_refused(&res, "10001 nodes");
    assert_eq!(
        app.count("sn_cdm_request_queue").await,
        queued,
        "a refusal queues nothing"
    );
    assert_eq!(app.count("sn_cdm_node").await, nodes);

    // Exactly the limit is taken: a list node and its 9,999 elements.
    let items: Vec<Value> = (0..9_999).map(|i| json!(i)).collect();
    let res = upload(
        &app,
        "components",
        &params,
        &json!({"list": items}).to_string(),
    )
    .await;
    assert!(ok(&res)["upload_id"].is_string(), "{}", res.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_policies_are_evaluated_with_no_transaction_open() {
    use tollgate::domain::cdm::snapshots;
    use tollgate::storage::Value as Db;
    let app = TestApp::spawn().await;
    create_app(&app, APP).await;
    create_deployable(&app, APP, "Dev_1", "Development").await;
    let res = app
        .post(
            "/api/now/table/sn_pace_policy",
            json!({"name": "port-5432", "rego": PORT_POLICY}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    ok(&admin(
        &app,
        "POST",
        "/api/sn_cdm/policies/mappings?appName=payments&deployableName=Dev_1&policyName=port-5432",
    )
    .await);
    let (a, _) = changeset(&app, APP).await;
    upload_ok(
        &app,
        "components",
        &[
            ("appName", APP),
            ("namePath", "svc"),
            ("dataFormat", "yaml"),
            ("changesetNumber", &a),
        ],
        "db:\n  port: 6543\n",
    )
    .await;
    include(
        &app,
        &a,
        "/payments/components/svc",
        "/payments/deployables/Dev_1",
    )
    .await;
    assert_committed(&commit(&app, &a, &[]).await);
    let v1 = snapshot(&app, "Dev_1-v1.dpl").await;
    let id = v1["sys_id"].as_str().unwrap().to_owned();

    // Another writer holds the write lock (on SQLite, the database's; on
    // PostgreSQL, the snapshot's row) for the whole validation: the inputs
    // are read in a read transaction and the policies are evaluated with
    // no transaction at all, so neither waits for it.
    let mut writer = app.db.begin().await.unwrap();
    writer
        .execute(
            "UPDATE sn_cdm_snapshot SET description = description WHERE sys_id = $1",
            &[Db::from(id.as_str())],
        )
        .await
        .unwrap();
    let mut read = app.db.begin_read().await.unwrap();
    let row = snapshots::by_id(&mut read, &id).await.unwrap().unwrap();
    let validation = snapshots::prepare_validation(&mut read, &row)
        .await
        .unwrap();
    read.rollback().await.unwrap();
    let verdicts = snapshots::evaluate(&validation).await;
    assert_eq!(verdicts.outcome, "failed");
    writer.rollback().await.unwrap();
    assert_eq!(
        snapshot(&app, "Dev_1-v1.dpl").await["validation"],
        v1["validation"],
        "evaluating records nothing"
    );

    // The request answers as it always did: the verdicts are recorded.
    let res = admin(
        &app,
        "PUT",
        "/api/sn_cdm/snapshots/validate?appName=payments&deployableName=Dev_1&name=Dev_1-v1.dpl",
    )
    .await;
    assert_eq!(ok(&res)["validation"], "failed", "{}", res.text);
    let after = snapshot(&app, "Dev_1-v1.dpl").await;
    assert_eq!(after["validation"], "failed", "{after}");
    assert!(
        after["validation_result"]
            .as_str()
            .unwrap_or_default()
            .contains("port-5432"),
        "{after}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_valid_alone_validates_and_publishes_as_the_documented_commit_does() {
    let app = TestApp::spawn().await;
    create_app(&app, APP).await;
    create_deployable(&app, APP, "Dev_1", "Development").await;
    let (a, _) = changeset(&app, APP).await;
    upload_ok(
        &app,
        "components",
        &[
            ("appName", APP),
            ("namePath", "svc"),
            ("dataFormat", "yaml"),
            ("changesetNumber", &a),
        ],
        SERVICE_YAML,
    )
    .await;
    include(
        &app,
        &a,
        "/payments/components/svc",
        "/payments/deployables/Dev_1",
    )
    .await;
    // The document's commit example sends publishOption=publish_valid alone.
    let status = commit(&app, &a, &[("publishOption", "publish_valid")]).await;
    assert_committed(&status);
    assert_eq!(status["output"]["auto_validate"], false, "{status}");
    let s = snapshot(&app, "Dev_1-v1.dpl").await;
    assert_eq!(s["validation"], "passed", "{s}");
    assert_eq!(s["published"], "true", "{s}");
}
