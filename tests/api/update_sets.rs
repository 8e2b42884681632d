//! CI/CD update sets (issue 6, ../shared/spec/cicd-update-set-api.txt):
//! configuration changes captured into update sets, retrieved from another
//! instance over HTTP, previewed for problems, committed (one, or several in
//! order), and backed out; every asynchronous call followed through
//! `GET /api/sn_cicd/progress/{id}`, in JSON and XML.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tower::ServiceExt;

use tollgate::demo;
use tollgate::demo::update_sets::{
    BASELINE_SET, COMMITTED_SET, COMMIT_SET, FIRST_OF_MULTIPLE, PREVIEW_SET, SCOPE_ID,
    SECOND_OF_MULTIPLE, SOURCE_ID,
};
use tollgate::domain::update_sets::jobs as us_jobs;
use tollgate::domain::update_sets::remote::RemotePolicy;
use tollgate::identity::roles::CICD_AUTOMATION;
use tollgate::storage::Value as DbValue;

use crate::helpers::*;

/// The retrieved set the demo's committed set was installed from.
const COMMITTED_FROM: &str = "73dd24e39dcd1e10f877036c70ae59ad";
/// The property the demo's committed set inserted.
const COMMITTED_PROPERTY: &str = "73dd24e39dcd1e10f877036c70ae5901";
const UNKNOWN_ID: &str = "0123456789abcdef0123456789abcdef";

const REGO: &str = "package tollgate.policy\n\ndefault compliant := false\n\ncompliant if count(input.tasks) >= 0\n";

// ---------------------------------------------------------------------------
// Jobs and progress
// ---------------------------------------------------------------------------

/// Settings for tests whose remote instances (fake remotes, or this server
/// itself) listen on the loopback address: the server reaches a loopback
/// remote only when `remote_allow` lists it.
fn loopback_settings() -> tollgate::config::Settings {
    tollgate::config::Settings {
        remote_allow: vec!["127.0.0.1".into()],
        ..test_settings()
    }
}

async fn spawn() -> TestApp {
    TestApp::spawn_with_settings(loopback_settings()).await
}

async fn spawn_demo() -> TestApp {
    TestApp::spawn_demo_with_settings(loopback_settings()).await
}

/// The `result` of `GET /api/sn_cicd/progress/{id}`.
async fn progress(app: &TestApp, id: &str) -> Value {
    let res = app.get(&format!("/api/sn_cicd/progress/{id}")).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    res.body["result"].clone()
}

/// Checks the documented answer of an asynchronous call (every key, status
/// 0 Pending, nothing done yet); returns the progress id.
fn pending(res: &TestResponse) -> String {
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let r = &res.body["result"];
    for key in [
        "links",
        "status",
        "status_label",
        "status_message",
        "status_detail",
        "error",
        "percent_complete",
    ] {
        assert!(r.get(key).is_some(), "{key} missing from {}", res.text);
    }
    assert_eq!(r["status"], "0", "{}", res.text);
    assert_eq!(r["status_label"], "Pending", "{}", res.text);
    assert_eq!(r["error"], "", "{}", res.text);
    assert_eq!(r["percent_complete"], 0, "{}", res.text);
    assert!(r["status_message"].is_string() && r["status_detail"].is_string());
    let id = r["links"]["progress"]["id"].as_str().expect("progress id");
    let url = r["links"]["progress"]["url"]
        .as_str()
        .expect("progress url");
    assert!(
        url.ends_with(&format!("/api/sn_cicd/progress/{id}")),
        "{url}"
    );
    id.to_owned()
}

/// Runs the jobs an asynchronous call queued; returns its final progress.
async fn finish(app: &TestApp, res: &TestResponse) -> Value {
    let id = pending(res);
    app.run_jobs().await;
    // Each operation runs once: run or not, nothing waits for a retry.
    app.assert_no_jobs_left().await;
    progress(app, &id).await
}

fn assert_successful(p: &Value) {
    assert_eq!(p["status"], "2", "{p}");
    assert_eq!(p["status_label"], "Successful", "{p}");
    assert_eq!(p["percent_complete"], 100, "{p}");
    assert_eq!(p["error"], "", "{p}");
}

/// Checks the progress ended Failed; returns its error.
fn failed(p: &Value) -> String {
    assert_eq!(p["status"], "3", "{p}");
    assert_eq!(p["status_label"], "Failed", "{p}");
    let error = p["error"].as_str().unwrap_or_default().to_owned();
    assert!(!error.is_empty(), "a failure says why: {p}");
    error
}

/// The record an ended job reports in `links.results`.
fn result_id(p: &Value) -> String {
    p["links"]["results"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no links.results in {p}"))
        .to_owned()
}

/// POSTs to a CI/CD path as the admin, with no body.
async fn cicd(app: &TestApp, path: &str) -> TestResponse {
    app.request("POST", path, &Auth::admin(), None).await
}

/// Commits a retrieved set and checks its progress ends Successful; returns
/// the local copy's sys_id.
async fn commit_ok(app: &TestApp, remote_set: &str) -> String {
    let p = finish(
        app,
        &cicd(app, &format!("/api/sn_cicd/update_set/commit/{remote_set}")).await,
    )
    .await;
    assert_successful(&p);
    result_id(&p)
}

async fn back_out_ok(app: &TestApp, local_set: &str, rollback_installs: bool) {
    let p = finish(
        app,
        &cicd(
            app,
            &format!(
                "/api/sn_cicd/update_set/back_out?update_set_id={local_set}&rollback_installs={rollback_installs}"
            ),
        )
        .await,
    )
    .await;
    assert_successful(&p);
}

// ---------------------------------------------------------------------------
// Servers
// ---------------------------------------------------------------------------

/// Serves the app on a loopback TCP port, until the test ends.
async fn serve(app: &TestApp) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(tollgate::app::serve(
        app.state.clone(),
        listener,
        std::future::pending::<()>(),
    ));
    addr
}

/// Serves the app and points the demo remote instance ("the instance
/// itself") at it.
async fn serve_demo_source(app: &TestApp) -> SocketAddr {
    let addr = serve(app).await;
    point_source_at(app, SOURCE_ID, &format!("http://{addr}")).await;
    addr
}

async fn point_source_at(app: &TestApp, source: &str, url: &str) {
    let n = app
        .db
        .execute(
            "UPDATE sys_update_set_source SET url = $1 WHERE sys_id = $2",
            &[DbValue::from(url), DbValue::from(source)],
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
}

/// A remote instance record made through the Table API; returns its sys_id.
async fn remote_instance(app: &TestApp, url: &str, user: &str, password: &str) -> String {
    let r = create(
        app,
        "sys_update_set_source",
        json!({"name": format!("Remote {url}"), "url": url, "username": user, "password": password}),
    )
    .await;
    r["sys_id"].as_str().unwrap().to_owned()
}

/// An address where nothing listens.
async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

/// A server answering every request with `answer` (a whole HTTP response)
/// and closing the connection.
async fn canned_server(answer: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    addr
}

/// A server that accepts connections and never answers.
async fn silent_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    addr
}

/// A page of 2,000 well-formed updates (each inserting a property), numbered
/// from `first`.
fn full_page(first: u64) -> String {
    let updates: Vec<Value> = (first..first + 2_000)
        .map(|i| {
            let record = format!("{:032x}", 0xabc0_0000u64 + i);
            let payload = json!({"sys_id": record, "name": format!("remote.property.{i}"), "value": "1", "type": "string"});
            json!({
                "sys_id": format!("{:032x}", 0xdef0_0000u64 + i),
                "name": format!("sys_properties_{record}"),
                "table": "sys_properties",
                "record_sys_id": record,
                "target_name": format!("remote.property.{i}"),
                "type": "System Property",
                "action": "INSERT_OR_UPDATE",
                "payload": payload.to_string(),
                "base_payload": "",
                "base_update_set": "",
                "sequence": (i + 1).to_string(),
            })
        })
        .collect();
    json!({ "result": updates }).to_string()
}

/// A fake remote Tollgate serving one complete update set; its update list
/// answers `pages[n]` (a status and a body) for the n-th page, an empty list
/// after the last, each after `delay`.
async fn fake_remote(
    set_id: &'static str,
    pages: Vec<(u16, String)>,
    delay: Duration,
) -> SocketAddr {
    let app = fake_remote_router(set_id, pages, delay);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// The routes of [`fake_remote`].
fn fake_remote_router(
    set_id: &'static str,
    pages: Vec<(u16, String)>,
    delay: Duration,
) -> axum::Router {
    let pages = Arc::new(pages);
    axum::Router::new().fallback(
        move |uri: axum::http::Uri,
              axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>| {
            let pages = pages.clone();
            async move {
                let path = uri.path();
                let json_answer = |status: u16, body: String| {
                    axum::response::Response::builder()
                        .status(status)
                        .header("content-type", "application/json")
                        .body(Body::from(body))
                        .unwrap()
                };
                if path == format!("/api/now/table/sys_update_set/{set_id}") {
                    json_answer(
                        200,
                        json!({"result": {"sys_id": set_id, "name": "Paged", "state": "complete", "application": ""}})
                            .to_string(),
                    )
                } else if path == "/api/now/table/sys_update_xml" {
                    tokio::time::sleep(delay).await;
                    let offset: usize = q
                        .get("sysparm_offset")
                        .and_then(|o| o.parse().ok())
                        .unwrap_or(0);
                    match pages.get(offset / 2_000) {
                        Some((status, body)) => json_answer(*status, body.clone()),
                        None => json_answer(200, json!({"result": []}).to_string()),
                    }
                } else {
                    json_answer(404, json!({"error": {"message": "No Record found"}}).to_string())
                }
            }
        },
    )
}

/// A fake remote whose first page of updates is full and whose second
/// answers `second_page`.
async fn paged_remote(set_id: &'static str, second_page: (u16, String)) -> SocketAddr {
    fake_remote(
        set_id,
        vec![(200, full_page(0)), second_page],
        Duration::ZERO,
    )
    .await
}

// ---------------------------------------------------------------------------
// Table API and database
// ---------------------------------------------------------------------------

/// POSTs a record through the Table API; returns it.
async fn create(app: &TestApp, table: &str, body: Value) -> Value {
    let res = app.post(&format!("/api/now/table/{table}"), body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{table}: {}", res.text);
    res.body["result"].clone()
}

/// PATCHes a record through the Table API; returns it.
async fn patch(app: &TestApp, table: &str, id: &str, body: Value) -> Value {
    let res = app
        .request(
            "PATCH",
            &format!("/api/now/table/{table}/{id}"),
            &Auth::admin(),
            Some(body),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{table}: {}", res.text);
    res.body["result"].clone()
}

/// A record by sys_id through the Table API, references as plain sys_ids.
async fn record(app: &TestApp, table: &str, id: &str) -> Option<Value> {
    let res = app
        .get(&format!(
            "/api/now/table/{table}/{id}?sysparm_exclude_reference_link=true"
        ))
        .await;
    match res.status {
        StatusCode::OK => Some(res.body["result"].clone()),
        StatusCode::NOT_FOUND => None,
        other => panic!("{table}/{id}: {other} {}", res.text),
    }
}

/// Records matching an encoded query through the Table API.
async fn records(app: &TestApp, table: &str, query: &str) -> Vec<Value> {
    let res = app
        .get(&format!(
            "/api/now/table/{table}?sysparm_query={query}&sysparm_exclude_reference_link=true"
        ))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    res.body["result"].as_array().unwrap().clone()
}

async fn count_where(app: &TestApp, table: &str, condition: &str, args: &[&str]) -> i64 {
    let args: Vec<DbValue> = args.iter().map(|a| DbValue::from(*a)).collect();
    app.db
        .fetch_optional(
            &format!("SELECT COUNT(*) AS n FROM {table} WHERE {condition}"),
            &args,
        )
        .await
        .unwrap()
        .and_then(|r| r.int("n"))
        .unwrap()
}

/// Row counts of everything a CI/CD call could change.
async fn snapshot(app: &TestApp) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for table in [
        "tollgate_job",
        "sys_update_set",
        "sys_remote_update_set",
        "sys_update_xml",
        "sys_update_version",
        "sys_update_preview_problem",
        "sys_properties",
    ] {
        out.push((table, app.count(table).await));
    }
    out
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// A JSON text field (payload, base_payload) parsed.
fn parsed(v: &Value) -> Value {
    match text(v) {
        "" => Value::Null,
        t => serde_json::from_str(t).unwrap_or_else(|e| panic!("{t}: {e}")),
    }
}

// ---------------------------------------------------------------------------
// Update sets
// ---------------------------------------------------------------------------

/// Creates an update set in progress in sn_test through the CI/CD API.
async fn new_update_set(app: &TestApp, name: &str) -> String {
    let res = cicd(
        app,
        &format!("/api/sn_cicd/update_set/create?update_set_name={name}&scope=sn_test"),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    res.body["result"]["update_set_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Makes the update set the admin's current one (the user preference).
async fn make_current(app: &TestApp, set: &str) {
    create(
        app,
        "sys_user_preference",
        json!({"user": demo::ADMIN_ID, "name": "sys_update_set", "value": set}),
    )
    .await;
}

/// The customer updates of a local update set, in capture order.
async fn updates_in(app: &TestApp, set: &str) -> Vec<Value> {
    records(
        app,
        "sys_update_xml",
        &format!("update_set={set}^ORDERBYsequence"),
    )
    .await
}

/// The updates of a retrieved set, in order.
async fn remote_updates_in(app: &TestApp, remote_set: &str) -> Vec<Value> {
    records(
        app,
        "sys_update_xml",
        &format!("remote_update_set={remote_set}^ORDERBYsequence"),
    )
    .await
}

async fn versions_of(app: &TestApp, table: &str, id: &str) -> Vec<Value> {
    records(
        app,
        "sys_update_version",
        &format!("name={table}_{id}^ORDERBYsys_created_on"),
    )
    .await
}

async fn problems_of(app: &TestApp, remote_set: &str) -> Vec<Value> {
    records(
        app,
        "sys_update_preview_problem",
        &format!("remote_update_set={remote_set}"),
    )
    .await
}

/// The local copy a commit made of a retrieved set.
async fn local_copy_of(app: &TestApp, remote_set: &str) -> Option<Value> {
    records(
        app,
        "sys_update_set",
        &format!("remote_sys_id={remote_set}"),
    )
    .await
    .into_iter()
    .next()
}

async fn remote_state(app: &TestApp, remote_set: &str) -> String {
    text(
        &record(app, "sys_remote_update_set", remote_set)
            .await
            .unwrap()["state"],
    )
    .to_owned()
}

/// A record's full payload as this instance holds it.
async fn payload_here(app: &TestApp, table: &str, id: &str) -> Value {
    record(app, table, id).await.expect("record exists")
}

fn with(payload: &Value, field: &str, value: &str) -> Value {
    let mut p = payload.clone();
    p[field] = json!(value);
    p
}

fn system_fields(id: &str) -> Value {
    json!({"sys_id": id, "sys_created_on": "2026-01-05 10:00:00", "sys_created_by": "remote.admin",
           "sys_updated_on": "2026-01-05 10:00:00", "sys_updated_by": "remote.admin", "sys_mod_count": "0"})
}

/// A new property as another instance would send it.
fn property_payload(id: &str, name: &str, value: &str) -> Value {
    let mut p = system_fields(id);
    p["name"] = json!(name);
    p["value"] = json!(value);
    p["description"] = Value::Null;
    p["type"] = json!("string");
    p
}

/// A new policy as another instance would send it.
fn policy_payload(id: &str, name: &str) -> Value {
    let mut p = system_fields(id);
    p["name"] = json!(name);
    p["description"] = json!("Arrived in an update set");
    p["active"] = json!("true");
    p["rego"] = json!(REGO);
    p
}

/// An INSERT_OR_UPDATE update of a retrieved set.
fn change(table: &str, payload: &Value, base: Option<&Value>) -> Value {
    json!({"table": table, "record_sys_id": payload["sys_id"], "action": "INSERT_OR_UPDATE",
           "payload": payload, "base_payload": base})
}

/// A retrieved set made through the Table API, as retrieval would leave it
/// (state loaded); returns its sys_id.
async fn retrieved_set(app: &TestApp, name: &str, updates: &[Value]) -> String {
    // Retrieved sets are written by the server only (the Table API refuses
    // them): made here the way retrieval makes them.
    let mut tx = app.db.begin().await.unwrap();
    let id = tollgate::domain::records::insert_values(
        &mut tx,
        tollgate::registry::table("sys_remote_update_set").unwrap(),
        None,
        vec![
            ("name", DbValue::from(name)),
            ("application", DbValue::from(SCOPE_ID)),
        ],
        "admin",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    for (i, u) in updates.iter().enumerate() {
        add_update(app, &id, u, i as i64 + 1).await;
    }
    id
}

/// Adds one update to a retrieved set, as retrieval writes it.
async fn add_update(app: &TestApp, remote_set: &str, u: &Value, sequence: i64) -> String {
    let table = text(&u["table"]).to_owned();
    let record_id = text(&u["record_sys_id"]).to_owned();
    let as_text = |v: &Value| match v {
        Value::Object(_) => DbValue::from(v.to_string()),
        _ => DbValue::Null,
    };
    let target = u["payload"]["name"]
        .as_str()
        .or(u["base_payload"]["name"].as_str())
        .unwrap_or("")
        .to_owned();
    let mut values = vec![
        ("remote_update_set", DbValue::from(remote_set)),
        ("name", DbValue::from(format!("{table}_{record_id}"))),
        ("table", DbValue::from(table.as_str())),
        ("record_sys_id", DbValue::from(record_id.as_str())),
        ("target_name", DbValue::from(target)),
        ("action", DbValue::from(text(&u["action"]))),
        ("payload", as_text(&u["payload"])),
        ("base_payload", as_text(&u["base_payload"])),
        ("application", DbValue::from(SCOPE_ID)),
        ("sequence", DbValue::Int(sequence)),
    ];
    if let Some(b) = u["base_update_set"].as_str() {
        values.push(("base_update_set", DbValue::from(b)));
    }
    let mut tx = app.db.begin().await.unwrap();
    let id = tollgate::domain::records::insert_values(
        &mut tx,
        tollgate::registry::table("sys_update_xml").unwrap(),
        None,
        values,
        "admin",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn template_description(app: &TestApp) -> String {
    text(
        &record(
            app,
            "sn_dpr_model_release_template",
            demo::TEMPLATE_TIMELINE,
        )
        .await
        .unwrap()["description"],
    )
    .to_owned()
}

/// A retrieved set whose one update changes the demo timeline template's
/// description to `to`, made from the version where it was `from`.
async fn template_change_set(app: &TestApp, name: &str, from: &str, to: &str) -> String {
    let here = payload_here(
        app,
        "sn_dpr_model_release_template",
        demo::TEMPLATE_TIMELINE,
    )
    .await;
    let base = with(&here, "description", from);
    let payload = with(&here, "description", to);
    retrieved_set(
        app,
        name,
        &[change(
            "sn_dpr_model_release_template",
            &payload,
            Some(&base),
        )],
    )
    .await
}

// ---------------------------------------------------------------------------
// XML
// ---------------------------------------------------------------------------

struct XmlAnswer {
    status: StatusCode,
    content_type: String,
    text: String,
}

/// Sends a request asking for XML, optionally with a body of the given type.
async fn xml_call(
    app: &TestApp,
    method: &str,
    path: &str,
    body: Option<(&str, &str)>,
) -> XmlAnswer {
    call_accepting(app, "application/xml", method, path, body).await
}

/// Sends a request with the given `Accept` header, as the admin.
async fn call_accepting(
    app: &TestApp,
    accept: &str,
    method: &str,
    path: &str,
    body: Option<(&str, &str)>,
) -> XmlAnswer {
    let auth = base64_basic("admin", ADMIN_PASSWORD);
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "tollgate.test")
        .header("accept", accept)
        .header("authorization", auth);
    let req = match body {
        Some((content_type, b)) => req
            .header("content-type", content_type)
            .body(Body::from(b.to_owned()))
            .unwrap(),
        None => req.body(Body::empty()).unwrap(),
    };
    let res = tollgate::http::router(app.state.clone())
        .oneshot(req)
        .await
        .unwrap();
    let status = res.status();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    XmlAnswer {
        status,
        content_type,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn base64_basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// The text of the first `<tag>` element.
fn xml_text<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))?;
    Some(&xml[start..start + end])
}

// ---------------------------------------------------------------------------
// Shared steps of the tests below
// ---------------------------------------------------------------------------

/// Sends a refused request; checks its status, that its message names
/// `says`, and that nothing changed.
async fn refused(app: &TestApp, path: &str, body: Option<&str>, status: StatusCode, says: &str) {
    let before = snapshot(app).await;
    let res = app
        .raw("POST", path, &Auth::admin(), body, "application/json")
        .await;
    assert_eq!(res.status, status, "{path}: {}", res.text);
    assert_eq!(res.body["status"], "failure", "{}", res.text);
    let said = format!(
        "{} {}",
        text(&res.body["error"]["message"]),
        text(&res.body["error"]["detail"])
    );
    assert!(said.contains(says), "{path}: expected {says:?} in {said:?}");
    assert_eq!(snapshot(app).await, before, "{path} changed something");
}

/// Retrieves `set` from a remote instance at `url`; returns the job's error.
async fn failed_retrieval(app: &TestApp, url: &str, set: &str) -> String {
    let source = remote_instance(app, url, "admin", ADMIN_PASSWORD).await;
    let before = (
        app.count("sys_remote_update_set").await,
        app.count("sys_update_xml").await,
    );
    let res = cicd(
        app,
        &format!("/api/sn_cicd/update_set/retrieve?update_set_id={set}&update_source_id={source}"),
    )
    .await;
    let p = finish(app, &res).await;
    let error = failed(&p);
    assert!(p["links"].get("results").is_none(), "{p}");
    assert_eq!(
        (
            app.count("sys_remote_update_set").await,
            app.count("sys_update_xml").await
        ),
        before,
        "nothing half-retrieved"
    );
    error
}

/// Previews a retrieved set and checks the job ends Successful.
async fn preview_ok(app: &TestApp, remote_set: &str) {
    let p = finish(
        app,
        &cicd(
            app,
            &format!("/api/sn_cicd/update_set/preview/{remote_set}"),
        )
        .await,
    )
    .await;
    assert_successful(&p);
}

/// The problem types of preview problems, sorted.
fn problem_types(problems: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = problems
        .iter()
        .map(|p| text(&p["problem_type"]).to_owned())
        .collect();
    out.sort();
    out
}

/// Two updates of one record in a set, as capture on another instance
/// chains them: the second is based on the first's payload.
async fn chained_template_set(app: &TestApp) -> (String, String) {
    let current = payload_here(
        app,
        "sn_dpr_model_release_template",
        demo::TEMPLATE_TIMELINE,
    )
    .await;
    let first = with(&current, "description", "First");
    let set = retrieved_set(
        app,
        "Chained",
        &[
            change("sn_dpr_model_release_template", &first, Some(&current)),
            change(
                "sn_dpr_model_release_template",
                &with(&current, "description", "Second"),
                Some(&first),
            ),
        ],
    )
    .await;
    let second = text(&remote_updates_in(app, &set).await[1]["sys_id"]).to_owned();
    (set, second)
}

/// Two retrieved sets committed with one commitMultiple: the first changes
/// the demo timeline template's description to "Batch one", the second to
/// "Batch two" and adds a property. Returns the two local copies and the
/// property's sys_id.
async fn committed_batch(app: &TestApp) -> (String, String, String) {
    let current = payload_here(
        app,
        "sn_dpr_model_release_template",
        demo::TEMPLATE_TIMELINE,
    )
    .await;
    let original = text(&current["description"]).to_owned();
    let one = retrieved_set(
        app,
        "Batch one",
        &[change(
            "sn_dpr_model_release_template",
            &with(&current, "description", "Batch one"),
            Some(&current),
        )],
    )
    .await;
    let property = tollgate::ids::new_sys_id();
    let two = retrieved_set(
        app,
        "Batch two",
        &[
            change(
                "sn_dpr_model_release_template",
                &with(&current, "description", "Batch two"),
                Some(&with(&current, "description", "Batch one")),
            ),
            change(
                "sys_properties",
                &property_payload(&property, "sn_test.batch", "2"),
                None,
            ),
        ],
    )
    .await;
    let p = finish(
        app,
        &cicd(
            app,
            &format!("/api/sn_cicd/update_set/commitMultiple?remote_update_set_ids={one}%2C{two}"),
        )
        .await,
    )
    .await;
    assert_successful(&p);
    assert_eq!(template_description(app).await, "Batch two");
    assert_ne!(original, "Batch one");
    let first = text(&local_copy_of(app, &one).await.unwrap()["sys_id"]).to_owned();
    let second = text(&local_copy_of(app, &two).await.unwrap()["sys_id"]).to_owned();
    (first, second, property)
}

// ===========================================================================
// 1. The document's examples, sent as written against the demo data
// ===========================================================================

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_example_makes_an_update_set_in_progress_in_the_scope() {
    let app = spawn_demo().await;
    let res = app
        .raw(
            "POST",
            "/api/sn_cicd/update_set/create?update_set_name=Testupdateset&scope=sn_test",
            &Auth::admin(),
            None,
            "application/json",
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let r = &res.body["result"];
    for key in [
        "status",
        "status_label",
        "status_message",
        "status_detail",
        "error",
        "update_set_id",
    ] {
        assert!(r.get(key).is_some(), "{key} missing: {}", res.text);
    }
    assert_eq!(r["status"], "2");
    assert_eq!(r["error"], "");
    assert!(
        text(&r["status_message"]).contains("Testupdateset"),
        "{}",
        res.text
    );
    let id = text(&r["update_set_id"]);
    assert!(tollgate::ids::is_sys_id(id), "{id}");
    let set = record(&app, "sys_update_set", id).await.expect("created");
    assert_eq!(set["name"], "Testupdateset");
    assert_eq!(set["state"], "in progress");
    assert_eq!(set["application"], SCOPE_ID, "in the scope sn_test");

    // The application by sys_id instead of scope name.
    let res = cicd(
        &app,
        &format!("/api/sn_cicd/update_set/create?update_set_name=BySysId&sys_id={SCOPE_ID}&description=Made%20by%20id"),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let set = record(
        &app,
        "sys_update_set",
        text(&res.body["result"]["update_set_id"]),
    )
    .await
    .unwrap();
    assert_eq!(set["application"], SCOPE_ID);
    assert_eq!(set["description"], "Made by id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retrieve_example_copies_the_complete_set_with_its_two_updates() {
    let app = spawn_demo().await;
    serve_demo_source(&app).await;
    let res = app
        .raw(
            "POST",
            &format!("/api/sn_cicd/update_set/retrieve?update_set_id={BASELINE_SET}&update_source_id={SOURCE_ID}"),
            &Auth::admin(),
            None,
            "application/json",
        )
        .await;
    let id = pending(&res);

    // Claimed by a worker, the job reads Running before it ends.
    let job = app
        .state
        .jobs
        .claim("test", chrono::Utc::now().timestamp_millis())
        .await
        .unwrap()
        .expect("queued");
    let p = progress(&app, &id).await;
    assert_eq!(p["status"], "1", "{p}");
    assert_eq!(p["status_label"], "Running", "{p}");
    app.state.jobs.execute(job).await;

    let p = progress(&app, &id).await;
    assert_successful(&p);
    let retrieved = result_id(&p);
    assert!(text(&p["links"]["results"]["url"])
        .ends_with(&format!("/api/now/table/sys_remote_update_set/{retrieved}")));
    let set = record(&app, "sys_remote_update_set", &retrieved)
        .await
        .expect("the retrieved set exists");
    assert_eq!(set["state"], "loaded");
    assert_eq!(set["remote_sys_id"], BASELINE_SET);
    assert_eq!(set["update_source"], SOURCE_ID);
    assert_eq!(set["name"], "Governance baseline");
    assert_eq!(set["application"], SCOPE_ID);
    assert_eq!(set["update_count"], "2");
    let updates = remote_updates_in(&app, &retrieved).await;
    assert_eq!(updates.len(), 2, "{updates:?}");
    let names: Vec<&str> = updates.iter().map(|u| text(&u["target_name"])).collect();
    assert_eq!(
        names,
        [
            "sn_test.release.freeze_days",
            "sn_test.release.cab_required"
        ]
    );
    for u in &updates {
        assert_eq!(u["table"], "sys_properties");
        assert_eq!(u["action"], "INSERT_OR_UPDATE");
        assert_eq!(parsed(&u["payload"])["sys_id"], u["record_sys_id"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_example_previews_the_retrieved_set() {
    let app = spawn_demo().await;
    assert_eq!(remote_state(&app, PREVIEW_SET).await, "loaded");
    let res = app
        .raw(
            "POST",
            &format!("/api/sn_cicd/update_set/preview/{PREVIEW_SET}"),
            &Auth::admin(),
            None,
            "application/json",
        )
        .await;
    let p = finish(&app, &res).await;
    assert_successful(&p);
    assert_eq!(result_id(&p), PREVIEW_SET);
    let set = record(&app, "sys_remote_update_set", PREVIEW_SET)
        .await
        .unwrap();
    assert_eq!(set["state"], "previewed");
    assert_ne!(set["preview_date"], "");
    let updates = remote_updates_in(&app, PREVIEW_SET).await;
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0]["disposition"], "insert", "a new property");
    assert!(problems_of(&app, PREVIEW_SET).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_example_applies_the_set_and_makes_its_local_copy() {
    let app = spawn_demo().await;
    let property = "4ee89999c9e19e10f877184664aecd01";
    assert!(record(&app, "sys_properties", property).await.is_none());
    let res = app
        .raw(
            "POST",
            &format!("/api/sn_cicd/update_set/commit/{COMMIT_SET}"),
            &Auth::admin(),
            None,
            "application/json",
        )
        .await;
    let p = finish(&app, &res).await;
    assert_successful(&p);
    let local = result_id(&p);
    let copy = record(&app, "sys_update_set", &local)
        .await
        .expect("local copy");
    assert_eq!(copy["remote_sys_id"], COMMIT_SET);
    assert_eq!(copy["state"], "complete");
    assert_eq!(copy["application"], SCOPE_ID);
    assert_eq!(
        local_copy_of(&app, COMMIT_SET).await.unwrap()["sys_id"],
        local.as_str()
    );
    let prop = record(&app, "sys_properties", property)
        .await
        .expect("applied");
    assert_eq!(prop["name"], "sn_test.commit.approvers");
    assert_eq!(prop["value"], "true");
    let set = record(&app, "sys_remote_update_set", COMMIT_SET)
        .await
        .unwrap();
    assert_eq!(set["state"], "committed");
    assert_eq!(set["update_set"], local.as_str());
    // The local copy holds an update for the change, and the version grew.
    let updates = updates_in(&app, &local).await;
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0]["record_sys_id"], property);
    assert_eq!(
        updates[0]["base_payload"], "",
        "the property did not exist before"
    );
    let versions = versions_of(&app, "sys_properties", property).await;
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0]["state"], "current");
    assert_eq!(versions[0]["source"], local.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_multiple_example_commits_both_sets_in_order() {
    let app = spawn_demo().await;
    let res = app
        .raw(
            "POST",
            "/api/sn_cicd/update_set/commitMultiple?remote_update_set_ids=0a9f45ab9d415e10f877036c70ae5968%2Cc2e89999c9e19e10f877184664aecd40",
            &Auth::admin(),
            Some("{\"force_commit\":\"true\"}"),
            "application/json",
        )
        .await;
    let p = finish(&app, &res).await;
    assert_successful(&p);
    for (set, property, name) in [
        (
            FIRST_OF_MULTIPLE,
            "0a9f45ab9d415e10f877036c70ae5901",
            "sn_test.multiple.first",
        ),
        (
            SECOND_OF_MULTIPLE,
            "c2e89999c9e19e10f877184664aecd01",
            "sn_test.multiple.second",
        ),
    ] {
        assert_eq!(remote_state(&app, set).await, "committed", "{set}");
        assert_eq!(
            record(&app, "sys_properties", property).await.expect(name)["name"],
            name
        );
    }
    let first = local_copy_of(&app, FIRST_OF_MULTIPLE).await.unwrap();
    let second = local_copy_of(&app, SECOND_OF_MULTIPLE).await.unwrap();
    assert_eq!(
        result_id(&p),
        text(&second["sys_id"]),
        "the last set's local copy"
    );
    assert!(
        text(&first["install_date"]) <= text(&second["install_date"]),
        "committed in the given order"
    );
    assert!(
        text(&first["sys_id"]) < text(&second["sys_id"]),
        "the first set's copy was made first"
    );
    assert_ne!(first["install_batch"], "");
    assert_eq!(first["install_batch"], second["install_batch"], "one batch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_out_example_deletes_the_property_the_set_inserted() {
    let app = spawn_demo().await;
    assert!(record(&app, "sys_properties", COMMITTED_PROPERTY)
        .await
        .is_some());
    let res = app
        .raw(
            "POST",
            &format!("/api/sn_cicd/update_set/back_out?update_set_id={COMMITTED_SET}&rollback_installs=false"),
            &Auth::admin(),
            None,
            "application/json",
        )
        .await;
    let p = finish(&app, &res).await;
    assert_successful(&p);
    assert!(
        record(&app, "sys_properties", COMMITTED_PROPERTY)
            .await
            .is_none(),
        "the inserted property is gone"
    );
    let set = record(&app, "sys_update_set", COMMITTED_SET).await.unwrap();
    assert_eq!(set["backed_out"], "true");
    assert_ne!(set["backed_out_on"], "");
    assert_eq!(remote_state(&app, COMMITTED_FROM).await, "backed_out");
    let versions = versions_of(&app, "sys_properties", COMMITTED_PROPERTY).await;
    let current: Vec<&Value> = versions
        .iter()
        .filter(|v| v["state"] == "current")
        .collect();
    assert_eq!(current.len(), 1, "{versions:?}");
    assert_eq!(current[0]["action"], "DELETE");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_versioned_urls_answer_like_the_default_ones() {
    let app = spawn_demo().await;
    let res = cicd(
        &app,
        &format!("/api/sn_cicd/v1/update_set/preview/{PREVIEW_SET}"),
    )
    .await;
    let id = pending(&res);
    app.run_jobs().await;
    let res = app.get(&format!("/api/sn_cicd/v1/progress/{id}")).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_successful(&res.body["result"]);
    let res = app
        .get(&format!("/api/sn_cicd/progress/{UNKNOWN_ID}"))
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.text);
}

// ===========================================================================
// 2. XML
// ===========================================================================

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xml_is_answered_when_asked_for_and_progress_reads_as_xml() {
    let app = spawn_demo().await;
    let res = xml_call(
        &app,
        "POST",
        &format!("/api/sn_cicd/update_set/preview/{PREVIEW_SET}"),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert!(
        res.content_type.starts_with("application/xml"),
        "{}",
        res.content_type
    );
    assert!(
        res.text.starts_with("<?xml") && res.text.contains("<response><result>"),
        "{}",
        res.text
    );
    assert_eq!(xml_text(&res.text, "status"), Some("0"), "{}", res.text);
    assert_eq!(xml_text(&res.text, "status_label"), Some("Pending"));
    assert_eq!(xml_text(&res.text, "percent_complete"), Some("0"));
    assert!(
        res.text.contains("<error></error>") || res.text.contains("<error/>"),
        "{}",
        res.text
    );
    let progress_xml = xml_text(&res.text, "progress").expect("links.progress");
    let id = xml_text(progress_xml, "id")
        .expect("progress id")
        .to_owned();
    assert!(xml_text(progress_xml, "url").unwrap().ends_with(&id));
    app.run_jobs().await;
    let res = xml_call(&app, "GET", &format!("/api/sn_cicd/progress/{id}"), None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(xml_text(&res.text, "status"), Some("2"), "{}", res.text);
    assert_eq!(xml_text(&res.text, "status_label"), Some("Successful"));
    assert_eq!(xml_text(&res.text, "percent_complete"), Some("100"));

    // JSON stays the default, and wins when named first.
    let res = app.get(&format!("/api/sn_cicd/progress/{id}")).await;
    assert!(res.header("content-type").unwrap().contains("json"));
    assert_eq!(res.body["result"]["status"], "2");
    let path = format!("/api/sn_cicd/progress/{id}");
    let res = call_accepting(
        &app,
        "application/json, application/xml",
        "GET",
        &path,
        None,
    )
    .await;
    assert!(res.content_type.contains("json"), "{}", res.content_type);
    let res = call_accepting(
        &app,
        "application/xml, application/json",
        "GET",
        &path,
        None,
    )
    .await;
    assert!(res.content_type.contains("xml"), "{}", res.content_type);
    let res = call_accepting(&app, "*/*", "GET", &path, None).await;
    assert!(res.content_type.contains("json"), "{}", res.content_type);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_xml_request_body_is_read_like_json() {
    let app = spawn_demo().await;
    commit_ok(&app, COMMIT_SET).await;
    let path = format!(
        "/api/sn_cicd/update_set/commitMultiple?remote_update_set_ids={COMMIT_SET}%2C{FIRST_OF_MULTIPLE}"
    );
    // Without force_commit, a committed set in the list is refused ...
    let res = xml_call(&app, "POST", &path, None).await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
    // ... and force_commit in an XML body passes over it.
    let res = xml_call(
        &app,
        "POST",
        &path,
        Some((
            "application/xml",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><request><force_commit>true</force_commit></request>",
        )),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(xml_text(&res.text, "status_label"), Some("Pending"));
    let id = xml_text(xml_text(&res.text, "progress").unwrap(), "id")
        .unwrap()
        .to_owned();
    app.run_jobs().await;
    assert_successful(&progress(&app, &id).await);
    assert_eq!(remote_state(&app, FIRST_OF_MULTIPLE).await, "committed");

    // An XML body with a JSON answer: the create call reads its fields.
    let res = app
        .raw(
            "POST",
            "/api/sn_cicd/update_set/create",
            &Auth::admin(),
            Some("<request><update_set_name>From XML</update_set_name><scope>sn_test</scope></request>"),
            "application/xml",
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let set = record(
        &app,
        "sys_update_set",
        text(&res.body["result"]["update_set_id"]),
    )
    .await
    .unwrap();
    assert_eq!(set["name"], "From XML");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_come_back_as_xml_when_xml_is_asked_for() {
    let app = spawn_demo().await;
    let res = xml_call(
        &app,
        "POST",
        &format!("/api/sn_cicd/update_set/commit/{UNKNOWN_ID}"),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.text);
    assert!(
        res.content_type.starts_with("application/xml"),
        "{}",
        res.content_type
    );
    assert!(
        res.text.starts_with("<?xml") && res.text.contains("<response><error>"),
        "{}",
        res.text
    );
    assert_eq!(xml_text(&res.text, "message"), Some("No Record found"));
    assert_eq!(xml_text(&res.text, "status"), Some("failure"));

    let res = xml_call(
        &app,
        "POST",
        "/api/sn_cicd/update_set/create?scope=sn_test",
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    assert!(
        xml_text(&res.text, "message")
            .unwrap()
            .contains("update_set_name"),
        "{}",
        res.text
    );

    // A malformed XML body is a bad request, answered in XML, and does nothing.
    let jobs = app.count("tollgate_job").await;
    let res = xml_call(
        &app,
        "POST",
        &format!("/api/sn_cicd/update_set/commit/{COMMIT_SET}"),
        Some(("application/xml", "<request><force_commit>true</request>")),
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    assert!(res.text.contains("<response><error>"), "{}", res.text);
    assert_eq!(app.count("tollgate_job").await, jobs);

    // Unauthenticated, in XML too.
    let req = Request::builder()
        .method("POST")
        .uri(format!("/api/sn_cicd/update_set/preview/{PREVIEW_SET}"))
        .header("accept", "application/xml")
        .body(Body::empty())
        .unwrap();
    let res = tollgate::http::router(app.state.clone())
        .oneshot(req)
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&bytes).contains("<response><error>"));
}

// ===========================================================================
// 3. Capture
// ===========================================================================

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_to_configuration_are_captured_into_the_current_update_set() {
    let app = spawn_demo().await;
    let set = new_update_set(&app, "Captured").await;
    make_current(&app, &set).await;
    let original = payload_here(
        &app,
        "sn_dpr_model_release_template",
        demo::TEMPLATE_TIMELINE,
    )
    .await;

    // Insert a policy.
    let policy = create(
        &app,
        "sn_pace_policy",
        json!({"name": "Captured policy", "rego": REGO}),
    )
    .await;
    let policy_id = text(&policy["sys_id"]).to_owned();
    let updates = updates_in(&app, &set).await;
    assert_eq!(updates.len(), 1, "{updates:?}");
    let u = &updates[0];
    assert_eq!(u["name"], format!("sn_pace_policy_{policy_id}"));
    assert_eq!(u["table"], "sn_pace_policy");
    assert_eq!(u["record_sys_id"], policy_id.as_str());
    assert_eq!(u["action"], "INSERT_OR_UPDATE");
    assert_eq!(u["application"], SCOPE_ID);
    assert_eq!(u["sequence"], "1");
    assert_eq!(u["sys_created_by"], "admin", "who");
    assert_ne!(u["sys_created_on"], "", "when");
    assert_eq!(parsed(&u["payload"])["name"], "Captured policy");
    assert_eq!(parsed(&u["payload"])["rego"], REGO, "the full payload");
    assert_eq!(u["base_payload"], "", "nothing before an insert");
    assert_eq!(
        versions_of(&app, "sn_pace_policy", &policy_id).await.len(),
        1
    );

    // Update the template twice: one update, the first base, the last payload.
    patch(
        &app,
        "sn_dpr_model_release_template",
        demo::TEMPLATE_TIMELINE,
        json!({"description": "First edit"}),
    )
    .await;
    patch(
        &app,
        "sn_dpr_model_release_template",
        demo::TEMPLATE_TIMELINE,
        json!({"description": "Second edit"}),
    )
    .await;
    let updates = updates_in(&app, &set).await;
    assert_eq!(
        updates.len(),
        2,
        "one update per record and set: {updates:?}"
    );
    let t = &updates[1];
    assert_eq!(t["table"], "sn_dpr_model_release_template");
    assert_eq!(t["sequence"], "2");
    assert_eq!(parsed(&t["payload"])["description"], "Second edit");
    assert_eq!(
        parsed(&t["base_payload"])["description"],
        original["description"],
        "the base stays the record before the set first touched it"
    );
    let versions = versions_of(
        &app,
        "sn_dpr_model_release_template",
        demo::TEMPLATE_TIMELINE,
    )
    .await;
    assert_eq!(versions.len(), 2, "the version history grows: {versions:?}");
    assert_eq!(
        versions.iter().filter(|v| v["state"] == "current").count(),
        1
    );
    let current = versions.iter().find(|v| v["state"] == "current").unwrap();
    assert_eq!(parsed(&current["payload"])["description"], "Second edit");
    assert_eq!(current["source"], set.as_str());

    // Update then delete the policy: still its one update, now a delete.
    patch(
        &app,
        "sn_pace_policy",
        &policy_id,
        json!({"description": "v2"}),
    )
    .await;
    let updates = updates_in(&app, &set).await;
    assert_eq!(parsed(&updates[0]["payload"])["description"], "v2");
    let res = app
        .request(
            "DELETE",
            &format!("/api/now/table/sn_pace_policy/{policy_id}"),
            &Auth::admin(),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text);
    let updates = updates_in(&app, &set).await;
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[0]["action"], "DELETE");
    assert_eq!(updates[0]["base_payload"], "");
    let versions = versions_of(&app, "sn_pace_policy", &policy_id).await;
    assert_eq!(versions.len(), 3, "insert, update, delete: {versions:?}");
    let current = versions.iter().find(|v| v["state"] == "current").unwrap();
    assert_eq!(current["action"], "DELETE");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cascaded_delete_is_captured_with_the_record_it_follows() {
    let app = spawn_demo().await;
    let template = create(
        &app,
        "sn_dpr_model_release_template",
        json!({"name": "Short-lived", "description": "x"}),
    )
    .await;
    let template_id = text(&template["sys_id"]).to_owned();
    let phase = create(
        &app,
        "sn_dpr_model_template_phase",
        json!({"template": template_id, "name": "Only", "order": 1}),
    )
    .await;
    let phase_id = text(&phase["sys_id"]).to_owned();
    let set = new_update_set(&app, "Deletes").await;
    make_current(&app, &set).await;
    let res = app
        .request(
            "DELETE",
            &format!("/api/now/table/sn_dpr_model_release_template/{template_id}"),
            &Auth::admin(),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text);
    let updates = updates_in(&app, &set).await;
    let deleted: Vec<(&str, &str)> = updates
        .iter()
        .map(|u| (text(&u["record_sys_id"]), text(&u["action"])))
        .collect();
    assert!(
        deleted.contains(&(phase_id.as_str(), "DELETE")),
        "{deleted:?}"
    );
    assert!(
        deleted.contains(&(template_id.as_str(), "DELETE")),
        "{deleted:?}"
    );
    let phase_update = updates
        .iter()
        .find(|u| u["record_sys_id"] == phase_id.as_str())
        .unwrap();
    assert_eq!(parsed(&phase_update["base_payload"])["name"], "Only");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_captured_without_a_current_update_set_in_progress() {
    let app = spawn_demo().await;
    let before = (
        app.count("sys_update_xml").await,
        app.count("sys_update_version").await,
    );
    patch(
        &app,
        "sn_dpr_model_release_template",
        demo::TEMPLATE_TIMELINE,
        json!({"description": "No current set"}),
    )
    .await;
    create(
        &app,
        "sn_pace_policy",
        json!({"name": "Uncaptured", "rego": REGO}),
    )
    .await;
    assert_eq!(
        (
            app.count("sys_update_xml").await,
            app.count("sys_update_version").await
        ),
        before,
        "no current set: nothing captured"
    );

    // A current set that is complete captures nothing either.
    let set = new_update_set(&app, "Done%20already").await;
    make_current(&app, &set).await;
    patch(&app, "sys_update_set", &set, json!({"state": "complete"})).await;
    patch(
        &app,
        "sn_dpr_model_release_template",
        demo::TEMPLATE_TIMELINE,
        json!({"description": "Set complete"}),
    )
    .await;
    assert!(updates_in(&app, &set).await.is_empty());
    assert_eq!(
        (
            app.count("sys_update_xml").await,
            app.count("sys_update_version").await
        ),
        before,
        "complete set: nothing captured"
    );

    // Back in progress, the same write is captured (the control).
    patch(
        &app,
        "sys_update_set",
        &set,
        json!({"state": "in progress"}),
    )
    .await;
    patch(
        &app,
        "sn_dpr_model_release_template",
        demo::TEMPLATE_TIMELINE,
        json!({"description": "In progress again"}),
    )
    .await;
    assert_eq!(updates_in(&app, &set).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_current_set_does_not_capture_the_admins_writes() {
    let app = spawn_demo().await;
    let set = new_update_set(&app, "Rita's").await;
    create(
        &app,
        "sys_user_preference",
        json!({"user": demo::RELEASE_MANAGER_ID, "name": "sys_update_set", "value": set}),
    )
    .await;
    patch(
        &app,
        "sn_dpr_model_release_template",
        demo::TEMPLATE_TIMELINE,
        json!({"description": "Admin's write"}),
    )
    .await;
    assert!(updates_in(&app, &set).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_tables_are_never_captured() {
    let app = spawn_demo().await;
    let set = new_update_set(&app, "Data").await;
    make_current(&app, &set).await;
    let before = (
        app.count("sys_update_xml").await,
        app.count("sys_update_version").await,
    );
    patch(
        &app,
        "sys_user",
        demo::RELEASE_MANAGER_ID,
        json!({"email": "rita@example.org"}),
    )
    .await;
    patch(
        &app,
        "sn_dpr_model_release",
        demo::DRAFT_RELEASE_ID,
        json!({"description": "Release data, not configuration"}),
    )
    .await;
    assert_eq!(
        (
            app.count("sys_update_xml").await,
            app.count("sys_update_version").await
        ),
        before
    );
    // The control: a configuration write in the same session is captured.
    create(
        &app,
        "sn_pace_policy",
        json!({"name": "Config", "rego": REGO}),
    )
    .await;
    assert_eq!(updates_in(&app, &set).await.len(), 1);
}

// ===========================================================================
// 4. Input errors: refused, and nothing changes
// ===========================================================================

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_refuses_a_missing_name_a_missing_or_unknown_scope_and_a_duplicate() {
    let app = spawn_demo().await;
    let base = "/api/sn_cicd/update_set/create";
    refused(
        &app,
        &format!("{base}?scope=sn_test"),
        None,
        StatusCode::BAD_REQUEST,
        "update_set_name",
    )
    .await;
    refused(
        &app,
        &format!("{base}?update_set_name=%20&scope=sn_test"),
        None,
        StatusCode::BAD_REQUEST,
        "update_set_name",
    )
    .await;
    refused(
        &app,
        &format!("{base}?update_set_name=X"),
        None,
        StatusCode::BAD_REQUEST,
        "scope",
    )
    .await;
    refused(
        &app,
        &format!("{base}?update_set_name=X&scope=sn_nowhere"),
        None,
        StatusCode::BAD_REQUEST,
        "sn_nowhere",
    )
    .await;
    refused(
        &app,
        &format!("{base}?update_set_name=X&sys_id={UNKNOWN_ID}"),
        None,
        StatusCode::BAD_REQUEST,
        UNKNOWN_ID,
    )
    .await;

    new_update_set(&app, "Twice").await;
    refused(
        &app,
        &format!("{base}?update_set_name=Twice&scope=sn_test"),
        None,
        StatusCode::CONFLICT,
        "Twice",
    )
    .await;
    // The same name is free again once the first is no longer in progress.
    let first = records(&app, "sys_update_set", "name=Twice").await;
    patch(
        &app,
        "sys_update_set",
        text(&first[0]["sys_id"]),
        json!({"state": "complete"}),
    )
    .await;
    new_update_set(&app, "Twice").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retrieve_refuses_a_missing_set_or_source_an_unknown_source_and_a_bad_flag() {
    let app = spawn_demo().await;
    let base = "/api/sn_cicd/update_set/retrieve";
    refused(
        &app,
        &format!("{base}?update_source_id={SOURCE_ID}"),
        None,
        StatusCode::BAD_REQUEST,
        "update_set_id",
    )
    .await;
    refused(
        &app,
        &format!("{base}?update_set_id={BASELINE_SET}"),
        None,
        StatusCode::BAD_REQUEST,
        "update_source_id",
    )
    .await;
    refused(
        &app,
        &format!("{base}?update_set_id={BASELINE_SET}&update_source_id={UNKNOWN_ID}"),
        None,
        StatusCode::NOT_FOUND,
        UNKNOWN_ID,
    )
    .await;
    refused(
        &app,
        &format!("{base}?update_set_id={BASELINE_SET}&update_source_instance_id=nowhere"),
        None,
        StatusCode::NOT_FOUND,
        "nowhere",
    )
    .await;
    refused(
        &app,
        &format!(
            "{base}?update_set_id={BASELINE_SET}&update_source_id={SOURCE_ID}&auto_preview=maybe"
        ),
        None,
        StatusCode::BAD_REQUEST,
        "auto_preview",
    )
    .await;
    refused(
        &app,
        &format!(
            "{base}?update_set_id={BASELINE_SET}&update_source_id={SOURCE_ID}&cleanup_retrieved=1x"
        ),
        None,
        StatusCode::BAD_REQUEST,
        "cleanup_retrieved",
    )
    .await;
    // The source by instance id is accepted (the control).
    let res = cicd(
        &app,
        &format!("{base}?update_set_id={BASELINE_SET}&update_source_instance_id=tollgate-demo"),
    )
    .await;
    pending(&res);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_and_commit_refuse_unknown_and_committed_sets() {
    let app = spawn_demo().await;
    refused(
        &app,
        &format!("/api/sn_cicd/update_set/preview/{UNKNOWN_ID}"),
        None,
        StatusCode::NOT_FOUND,
        UNKNOWN_ID,
    )
    .await;
    refused(
        &app,
        &format!("/api/sn_cicd/update_set/commit/{UNKNOWN_ID}"),
        None,
        StatusCode::NOT_FOUND,
        UNKNOWN_ID,
    )
    .await;
    refused(
        &app,
        &format!("/api/sn_cicd/update_set/commit/{COMMITTED_FROM}"),
        None,
        StatusCode::CONFLICT,
        "already committed",
    )
    .await;
    refused(
        &app,
        &format!("/api/sn_cicd/update_set/preview/{COMMITTED_FROM}"),
        None,
        StatusCode::CONFLICT,
        "already committed",
    )
    .await;
    refused(
        &app,
        &format!("/api/sn_cicd/update_set/commit/{COMMIT_SET}"),
        Some("{\"force_commit\":\"yes\"}"),
        StatusCode::BAD_REQUEST,
        "force_commit",
    )
    .await;
    refused(
        &app,
        &format!("/api/sn_cicd/update_set/commit/{COMMIT_SET}"),
        Some("[1]"),
        StatusCode::BAD_REQUEST,
        "",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_multiple_refuses_committed_repeated_unknown_and_missing_ids() {
    let app = spawn_demo().await;
    let base = "/api/sn_cicd/update_set/commitMultiple";
    refused(
        &app,
        base,
        None,
        StatusCode::BAD_REQUEST,
        "remote_update_set_ids",
    )
    .await;
    refused(
        &app,
        &format!("{base}?remote_update_set_ids=%2C"),
        None,
        StatusCode::BAD_REQUEST,
        "remote_update_set_ids",
    )
    .await;
    refused(
        &app,
        &format!("{base}?remote_update_set_ids={FIRST_OF_MULTIPLE}%2C{COMMITTED_FROM}"),
        None,
        StatusCode::CONFLICT,
        COMMITTED_FROM,
    )
    .await;
    refused(
        &app,
        &format!("{base}?remote_update_set_ids={FIRST_OF_MULTIPLE}%2C{COMMITTED_FROM}"),
        Some("{\"force_commit\":\"false\"}"),
        StatusCode::CONFLICT,
        COMMITTED_FROM,
    )
    .await;
    refused(&app, &format!("{base}?remote_update_set_ids={FIRST_OF_MULTIPLE}%2C{SECOND_OF_MULTIPLE}%2C{FIRST_OF_MULTIPLE}"), None, StatusCode::BAD_REQUEST, "listed twice").await;
    refused(
        &app,
        &format!("{base}?remote_update_set_ids={FIRST_OF_MULTIPLE}%2C{UNKNOWN_ID}"),
        None,
        StatusCode::NOT_FOUND,
        UNKNOWN_ID,
    )
    .await;
    // With force_commit, the committed set is passed over (the control).
    let p = finish(
        &app,
        &app.raw(
            "POST",
            &format!("{base}?remote_update_set_ids={COMMITTED_FROM}%2C{FIRST_OF_MULTIPLE}"),
            &Auth::admin(),
            Some("{\"force_commit\":true}"),
            "application/json",
        )
        .await,
    )
    .await;
    assert_successful(&p);
    assert_eq!(remote_state(&app, FIRST_OF_MULTIPLE).await, "committed");
    assert_eq!(
        count_where(
            &app,
            "sys_update_set",
            "remote_sys_id = $1",
            &[COMMITTED_FROM]
        )
        .await,
        1,
        "the committed set was not committed again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_out_refuses_unknown_unfinished_and_backed_out_sets() {
    let app = spawn_demo().await;
    let base = "/api/sn_cicd/update_set/back_out";
    refused(&app, base, None, StatusCode::BAD_REQUEST, "update_set_id").await;
    refused(
        &app,
        &format!("{base}?update_set_id={UNKNOWN_ID}"),
        None,
        StatusCode::NOT_FOUND,
        UNKNOWN_ID,
    )
    .await;
    refused(
        &app,
        &format!("{base}?update_set_id={COMMITTED_SET}&rollback_installs=maybe"),
        None,
        StatusCode::BAD_REQUEST,
        "rollback_installs",
    )
    .await;
    let in_progress = new_update_set(&app, "Unfinished").await;
    refused(
        &app,
        &format!("{base}?update_set_id={in_progress}"),
        None,
        StatusCode::CONFLICT,
        "complete",
    )
    .await;
    back_out_ok(&app, COMMITTED_SET, false).await;
    refused(
        &app,
        &format!("{base}?update_set_id={COMMITTED_SET}"),
        None,
        StatusCode::CONFLICT,
        "already backed out",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cicd_role_is_required_and_credentials_are_checked() {
    let app = spawn_demo().await;
    let nobody = app.user("x", &[]).await;
    let automation = app.user("automation", &[CICD_AUTOMATION]).await;
    let calls = [
        "/api/sn_cicd/update_set/create?update_set_name=Role&scope=sn_test".to_owned(),
        format!("/api/sn_cicd/update_set/retrieve?update_set_id={BASELINE_SET}&update_source_id={SOURCE_ID}"),
        format!("/api/sn_cicd/update_set/preview/{PREVIEW_SET}"),
        format!("/api/sn_cicd/update_set/commit/{COMMIT_SET}"),
        format!("/api/sn_cicd/update_set/commitMultiple?remote_update_set_ids={FIRST_OF_MULTIPLE}"),
        format!("/api/sn_cicd/update_set/back_out?update_set_id={COMMITTED_SET}"),
    ];
    let before = snapshot(&app).await;
    for path in &calls {
        let res = app.request("POST", path, &nobody, None).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{path}: {}", res.text);
        assert!(res.text.contains(CICD_AUTOMATION), "{}", res.text);
        let res = app.request("POST", path, &Auth::None, None).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{path}: {}", res.text);
    }
    let res = app
        .request(
            "POST",
            &calls[0],
            &Auth::Basic("admin".into(), "wrong".into()),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text);
    assert_eq!(snapshot(&app).await, before, "refused calls change nothing");

    // The role alone is enough (the control), progress included.
    let res = app.request("POST", &calls[2], &automation, None).await;
    let id = pending(&res);
    let res = app
        .request(
            "GET",
            &format!("/api/sn_cicd/progress/{id}"),
            &automation,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let res = app
        .request("GET", &format!("/api/sn_cicd/progress/{id}"), &nobody, None)
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
    let res = app.request("POST", &calls[0], &automation, None).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
}

// ===========================================================================
// 5. Remote instances that fail
// ===========================================================================

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_that_is_down_fails_the_retrieval_saying_it_could_not_be_reached() {
    let app = spawn_demo().await;
    let addr = closed_port().await;
    let error = failed_retrieval(&app, &format!("http://{addr}"), BASELINE_SET).await;
    assert!(
        error.contains(&format!("http://{addr}")),
        "names the instance: {error}"
    );
    assert!(error.contains("could not be reached"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_that_answers_garbage_fails_the_retrieval_saying_it_is_not_json() {
    let app = spawn_demo().await;
    let addr = canned_server(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 8\r\nConnection: close\r\n\r\nnot json",
    )
    .await;
    let error = failed_retrieval(&app, &format!("http://{addr}"), BASELINE_SET).await;
    assert!(error.contains(&format!("http://{addr}")), "{error}");
    assert!(error.contains("not JSON"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_that_refuses_the_credentials_fails_the_retrieval_with_its_status() {
    let app = spawn_demo().await;
    let addr = serve(&app).await;
    let source =
        remote_instance(&app, &format!("http://{addr}"), "admin", "not-the-password").await;
    let res = cicd(
        &app,
        &format!("/api/sn_cicd/update_set/retrieve?update_set_id={BASELINE_SET}&update_source_id={source}"),
    )
    .await;
    let error = failed(&finish(&app, &res).await);
    assert!(error.contains("401"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_that_does_not_answer_in_time_fails_the_retrieval() {
    let jobs = tollgate::app::job_handlers(&loopback_settings()).replace_with::<us_jobs::Retrieve>(
        RemotePolicy {
            request_timeout: Duration::from_millis(300),
            ..RemotePolicy::from_settings(&loopback_settings())
        },
    );
    let app = TestApp::spawn_demo_with(loopback_settings(), jobs).await;
    let addr = silent_server().await;
    let started = std::time::Instant::now();
    let error = failed_retrieval(&app, &format!("http://{addr}"), BASELINE_SET).await;
    assert!(error.contains(&format!("http://{addr}")), "{error}");
    assert!(error.contains("did not answer"), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the time limit held"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_complete_update_set_that_exists_on_the_remote_can_be_retrieved() {
    let app = spawn_demo().await;
    let addr = serve(&app).await;
    let url = format!("http://{addr}");
    let unfinished = new_update_set(&app, "Still%20editing").await;
    let error = failed_retrieval(&app, &url, &unfinished).await;
    assert!(error.contains("not complete"), "{error}");
    assert!(error.contains(&unfinished), "{error}");
    let error = failed_retrieval(&app, &url, UNKNOWN_ID).await;
    assert!(error.contains("does not exist"), "{error}");
    // Completed, the same set is retrieved (the control).
    patch(
        &app,
        "sys_update_set",
        &unfinished,
        json!({"state": "complete"}),
    )
    .await;
    let source = remote_instance(&app, &url, "admin", ADMIN_PASSWORD).await;
    let p = finish(
        &app,
        &cicd(&app, &format!("/api/sn_cicd/update_set/retrieve?update_set_id={unfinished}&update_source_id={source}")).await,
    )
    .await;
    assert_successful(&p);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_that_fails_on_the_second_page_leaves_nothing_half_retrieved() {
    let app = spawn_demo().await;
    const SET: &str = "5ace5ace5ace5ace5ace5ace5ace5ace";
    let addr = paged_remote(
        SET,
        (
            500,
            json!({"error": {"message": "database on fire"}}).to_string(),
        ),
    )
    .await;
    let error = failed_retrieval(&app, &format!("http://{addr}"), SET).await;
    assert!(error.contains("500"), "{error}");
    assert!(
        !error.contains("database on fire"),
        "what the remote answered is not echoed: {error}"
    );

    // The same remote answering the second page reads all 2,001 updates.
    let one_more = json!({"result": [{
        "sys_id": "9999aaaa9999aaaa9999aaaa9999aaaa", "name": "sys_properties_9999bbbb9999bbbb9999bbbb9999bbbb",
        "table": "sys_properties", "record_sys_id": "9999bbbb9999bbbb9999bbbb9999bbbb",
        "action": "INSERT_OR_UPDATE", "payload": "{\"sys_id\":\"9999bbbb9999bbbb9999bbbb9999bbbb\",\"name\":\"last\"}",
        "sequence": "2001"
    }]});
    let addr = paged_remote(SET, (200, one_more.to_string())).await;
    let source = remote_instance(&app, &format!("http://{addr}"), "admin", ADMIN_PASSWORD).await;
    let p = finish(
        &app,
        &cicd(
            &app,
            &format!(
                "/api/sn_cicd/update_set/retrieve?update_set_id={SET}&update_source_id={source}"
            ),
        )
        .await,
    )
    .await;
    assert_successful(&p);
    let retrieved = result_id(&p);
    assert_eq!(
        count_where(
            &app,
            "sys_update_xml",
            "remote_update_set = $1",
            &[&retrieved]
        )
        .await,
        2_001
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_update_that_is_not_well_formed_fails_the_retrieval() {
    let app = spawn_demo().await;
    const SET: &str = "5ace5ace5ace5ace5ace5ace5ace5acf";
    let bad = json!({"result": [{
        "sys_id": "9999aaaa9999aaaa9999aaaa9999aaaa", "name": "x", "table": "sys_properties",
        "record_sys_id": "9999bbbb9999bbbb9999bbbb9999bbbb", "action": "DROP TABLE", "sequence": "2001"
    }]});
    let addr = paged_remote(SET, (200, bad.to_string())).await;
    let error = failed_retrieval(&app, &format!("http://{addr}"), SET).await;
    assert!(error.contains("action"), "{error}");
    assert!(
        !error.contains("DROP TABLE"),
        "what the remote answered is not echoed: {error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_instance_password_is_stored_encrypted_and_shown_masked() {
    let app = spawn().await;
    let source = remote_instance(&app, "http://127.0.0.1:9", "admin", "s3cret-value").await;
    let stored = app
        .db
        .fetch_optional(
            "SELECT password FROM sys_update_set_source WHERE sys_id = $1",
            &[DbValue::from(source.as_str())],
        )
        .await
        .unwrap()
        .unwrap()
        .string("password");
    assert!(!stored.contains("s3cret-value"), "{stored}");
    assert!(stored.starts_with("enc:"), "{stored}");
    let shown = record(&app, "sys_update_set_source", &source)
        .await
        .unwrap();
    assert_eq!(shown["password"], "*******");
}

// ===========================================================================
// Retrieve options
// ===========================================================================

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_preview_previews_and_cleanup_retrieved_replaces_the_earlier_copy() {
    let app = spawn_demo().await;
    serve_demo_source(&app).await;
    let retrieve = |extra: &'static str| {
        format!("/api/sn_cicd/update_set/retrieve?update_set_id={BASELINE_SET}&update_source_id={SOURCE_ID}{extra}")
    };
    let p = finish(&app, &cicd(&app, &retrieve("")).await).await;
    assert_successful(&p);
    let first = result_id(&p);
    assert_eq!(
        remote_state(&app, &first).await,
        "loaded",
        "not previewed by default"
    );

    let p = finish(&app, &cicd(&app, &retrieve("&auto_preview=true")).await).await;
    assert_successful(&p);
    let second = result_id(&p);
    assert_eq!(remote_state(&app, &second).await, "previewed");
    let dispositions: Vec<String> = remote_updates_in(&app, &second)
        .await
        .iter()
        .map(|u| text(&u["disposition"]).to_owned())
        .collect();
    assert_eq!(
        dispositions,
        ["update", "update"],
        "the properties exist here, unchanged"
    );
    assert_eq!(
        count_where(
            &app,
            "sys_remote_update_set",
            "remote_sys_id = $1",
            &[BASELINE_SET]
        )
        .await,
        2,
        "without cleanup, copies accumulate"
    );

    // The second copy is committed: cleanup leaves it (its local copy
    // refers to it) and removes only the uncommitted first.
    commit_ok(&app, &second).await;
    let p = finish(
        &app,
        &cicd(&app, &retrieve("&cleanup_retrieved=true")).await,
    )
    .await;
    assert_successful(&p);
    let third = result_id(&p);
    assert_eq!(
        count_where(
            &app,
            "sys_remote_update_set",
            "remote_sys_id = $1",
            &[BASELINE_SET]
        )
        .await,
        2,
        "cleanup removed the uncommitted earlier copy"
    );
    assert!(record(&app, "sys_remote_update_set", &first)
        .await
        .is_none());
    assert!(remote_updates_in(&app, &first).await.is_empty());
    assert_eq!(remote_state(&app, &second).await, "committed");
    assert_eq!(remote_updates_in(&app, &second).await.len(), 2);
    assert_eq!(remote_updates_in(&app, &third).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_retrieved_removes_the_earlier_copys_preview_problems_too() {
    let app = spawn_demo().await;
    serve_demo_source(&app).await;
    let retrieve = |extra: &'static str| {
        format!("/api/sn_cicd/update_set/retrieve?update_set_id={BASELINE_SET}&update_source_id={SOURCE_ID}{extra}")
    };
    // A local change to one of the properties makes the preview collide.
    patch(
        &app,
        "sys_properties",
        "2ce715950d619e10f87785462179bd01",
        json!({"value": "5"}),
    )
    .await;
    let p = finish(&app, &cicd(&app, &retrieve("&auto_preview=true")).await).await;
    assert_successful(&p);
    let first = result_id(&p);
    assert_eq!(
        problem_types(&problems_of(&app, &first).await),
        ["collision"]
    );
    let p = finish(
        &app,
        &cicd(&app, &retrieve("&cleanup_retrieved=true")).await,
    )
    .await;
    assert_successful(&p);
    assert!(problems_of(&app, &first).await.is_empty());
    assert_eq!(
        count_where(
            &app,
            "sys_update_preview_problem",
            "remote_update_set = $1",
            &[&first]
        )
        .await,
        0
    );
}

// ===========================================================================
// 6. Preview problems
// ===========================================================================

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_finds_a_collision_with_a_local_change_made_after_the_base() {
    let app = spawn_demo().await;
    let here = template_description(&app).await;
    let colliding = template_change_set(&app, "Colliding", "An older description", "Remote").await;
    let clean = template_change_set(&app, "Clean", &here, "Remote").await;
    preview_ok(&app, &colliding).await;
    preview_ok(&app, &clean).await;

    let problems = problems_of(&app, &colliding).await;
    assert_eq!(problem_types(&problems), ["collision"], "{problems:?}");
    let p = &problems[0];
    assert_eq!(p["status"], "", "unresolved");
    assert_eq!(p["type"], "error");
    let update = &remote_updates_in(&app, &colliding).await[0];
    assert_eq!(p["remote_update"], update["sys_id"]);
    assert_eq!(update["disposition"], "collision");
    assert!(
        text(&p["description"]).contains(demo::TEMPLATE_TIMELINE),
        "{p}"
    );

    assert!(
        problems_of(&app, &clean).await.is_empty(),
        "made from the local version: no collision"
    );
    assert_eq!(
        remote_updates_in(&app, &clean).await[0]["disposition"],
        "update"
    );

    // Previewing again replaces the earlier problems.
    preview_ok(&app, &colliding).await;
    assert_eq!(problems_of(&app, &colliding).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_finds_a_reference_to_a_record_missing_on_both_sides() {
    let app = spawn_demo().await;
    let phase = records(
        &app,
        "sn_dpr_model_template_phase",
        &format!("template={}", demo::TEMPLATE_TIMELINE),
    )
    .await[0]["sys_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let policy = tollgate::ids::new_sys_id();
    let mapping = |id: &str| {
        let mut p = system_fields(id);
        p["template_phase"] = json!(phase);
        p["policy"] = json!(policy);
        p
    };
    let lonely = retrieved_set(
        &app,
        "Mapping without its policy",
        &[change(
            "sn_dpr_model_template_phase_policy",
            &mapping(&tollgate::ids::new_sys_id()),
            None,
        )],
    )
    .await;
    let complete = retrieved_set(
        &app,
        "Mapping with its policy",
        &[
            change(
                "sn_pace_policy",
                &policy_payload(&policy, "Brought along"),
                None,
            ),
            change(
                "sn_dpr_model_template_phase_policy",
                &mapping(&tollgate::ids::new_sys_id()),
                None,
            ),
        ],
    )
    .await;
    preview_ok(&app, &lonely).await;
    preview_ok(&app, &complete).await;
    let problems = problems_of(&app, &lonely).await;
    assert_eq!(problem_types(&problems), ["missing_object"], "{problems:?}");
    assert_eq!(problems[0]["missing_item"], policy.as_str());
    assert_eq!(problems[0]["missing_item_table"], "sn_pace_policy");
    assert_eq!(problems[0]["status"], "");
    assert!(
        problems_of(&app, &complete).await.is_empty(),
        "the policy travels in the set: nothing missing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_finds_an_update_based_on_a_retrieved_set_not_yet_committed() {
    let app = spawn_demo().await;
    let earlier_remote_id = "eaea0000eaea0000eaea0000eaea0001";
    let earlier = retrieved_set(
        &app,
        "Earlier",
        &[change(
            "sys_properties",
            &property_payload("eaea0000eaea0000eaea0000eaea0002", "sn_test.earlier", "1"),
            None,
        )],
    )
    .await;
    // Retrieval records the remote set's own sys_id (not writable by clients).
    app.db
        .execute(
            "UPDATE sys_remote_update_set SET remote_sys_id = $1 WHERE sys_id = $2",
            &[
                DbValue::from(earlier_remote_id),
                DbValue::from(earlier.as_str()),
            ],
        )
        .await
        .unwrap();
    let mut later_update = change(
        "sys_properties",
        &property_payload("eaea0000eaea0000eaea0000eaea0003", "sn_test.later", "1"),
        None,
    );
    later_update["base_update_set"] = json!(earlier_remote_id);
    let later = retrieved_set(&app, "Later", &[later_update]).await;
    preview_ok(&app, &later).await;
    let problems = problems_of(&app, &later).await;
    assert_eq!(
        problem_types(&problems),
        ["uncommitted_update"],
        "{problems:?}"
    );
    assert!(text(&problems[0]["description"]).contains(earlier_remote_id));

    // Once the earlier set is committed, the later one previews clean.
    commit_ok(&app, &earlier).await;
    preview_ok(&app, &later).await;
    assert!(problems_of(&app, &later).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_finds_two_updates_of_one_record_in_a_set_as_a_conflict() {
    let app = spawn_demo().await;
    let here = template_description(&app).await;
    let set = template_change_set(&app, "Twice the template", &here, "First").await;
    preview_ok(&app, &set).await;
    assert!(problems_of(&app, &set).await.is_empty());

    // A second update of the same record, added through the Table API.
    let current = payload_here(
        &app,
        "sn_dpr_model_release_template",
        demo::TEMPLATE_TIMELINE,
    )
    .await;
    let second = add_update(
        &app,
        &set,
        &change(
            "sn_dpr_model_release_template",
            &with(&current, "description", "Second"),
            Some(&with(&current, "description", "First")),
        ),
        2,
    )
    .await;
    preview_ok(&app, &set).await;
    let problems = problems_of(&app, &set).await;
    let conflicts: Vec<&Value> = problems
        .iter()
        .filter(|p| p["problem_type"] == "conflict")
        .collect();
    assert_eq!(conflicts.len(), 1, "{problems:?}");
    let first = &remote_updates_in(&app, &set).await[0];
    assert_eq!(
        conflicts[0]["remote_update"], first["sys_id"],
        "the earlier one is flagged"
    );
    assert_ne!(conflicts[0]["remote_update"], second.as_str());
    assert_eq!(conflicts[0]["status"], "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_update_of_the_same_record_is_previewed_against_the_earlier_one() {
    let app = spawn_demo().await;
    let (set, second) = chained_template_set(&app).await;
    preview_ok(&app, &set).await;
    let problems = problems_of(&app, &set).await;
    assert_eq!(problem_types(&problems), ["conflict"], "{problems:?}");
    let dispositions: Vec<String> = remote_updates_in(&app, &set)
        .await
        .iter()
        .map(|u| text(&u["disposition"]).to_owned())
        .collect();
    assert_eq!(dispositions, ["update", "update"]);
    assert!(problems
        .iter()
        .all(|p| p["remote_update"] != second.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepting_both_updates_of_a_conflict_applies_them_in_order() {
    let app = spawn_demo().await;
    let original = template_description(&app).await;
    let (set, _) = chained_template_set(&app).await;
    preview_ok(&app, &set).await;
    for p in problems_of(&app, &set).await {
        patch(
            &app,
            "sys_update_preview_problem",
            text(&p["sys_id"]),
            json!({"status": "ignored"}),
        )
        .await;
    }
    let local = commit_ok(&app, &set).await;
    assert_eq!(template_description(&app).await, "Second");
    let versions = versions_of(
        &app,
        "sn_dpr_model_release_template",
        demo::TEMPLATE_TIMELINE,
    )
    .await;
    let current: Vec<&Value> = versions
        .iter()
        .filter(|v| v["state"] == "current")
        .collect();
    assert_eq!(current.len(), 1, "{versions:?}");
    assert_eq!(parsed(&current[0]["payload"])["description"], "Second");
    // Backing the set out restores the record as it was before both.
    back_out_ok(&app, &local, true).await;
    assert_eq!(template_description(&app).await, original);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_refuses_unresolved_problems_and_changes_nothing() {
    let app = spawn_demo().await;
    let here = template_description(&app).await;
    let set = template_change_set(&app, "Colliding", "An older description", "Remote").await;
    preview_ok(&app, &set).await;
    let before = snapshot(&app).await;
    let res = cicd(&app, &format!("/api/sn_cicd/update_set/commit/{set}")).await;
    let error = failed(&finish(&app, &res).await);
    assert!(error.contains("unresolved"), "{error}");
    assert!(error.contains("collision"), "{error}");
    assert!(error.contains(&set), "{error}");
    let mut after = snapshot(&app).await;
    let mut expected = before.clone();
    // Only the refused job's own row is new.
    for (table, n) in expected.iter_mut() {
        if *table == "tollgate_job" {
            *n += 1;
        }
    }
    after.sort();
    expected.sort();
    assert_eq!(after, expected);
    assert_eq!(template_description(&app).await, here);
    assert_eq!(remote_state(&app, &set).await, "previewed");
    assert!(local_copy_of(&app, &set).await.is_none());

    // A set never previewed is previewed by the commit and refused the same way.
    let unpreviewed =
        template_change_set(&app, "Colliding, not previewed", "Older", "Remote").await;
    let res = cicd(
        &app,
        &format!("/api/sn_cicd/update_set/commit/{unpreviewed}"),
    )
    .await;
    let error = failed(&finish(&app, &res).await);
    assert!(error.contains("collision"), "{error}");
    assert_eq!(template_description(&app).await, here);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skipped_problem_leaves_its_update_out_of_the_commit() {
    let app = spawn_demo().await;
    let here = template_description(&app).await;
    let property = tollgate::ids::new_sys_id();
    let mut updates = vec![change(
        "sys_properties",
        &property_payload(&property, "sn_test.alongside", "yes"),
        None,
    )];
    let current = payload_here(
        &app,
        "sn_dpr_model_release_template",
        demo::TEMPLATE_TIMELINE,
    )
    .await;
    updates.push(change(
        "sn_dpr_model_release_template",
        &with(&current, "description", "Remote"),
        Some(&with(&current, "description", "Older")),
    ));
    let set = retrieved_set(&app, "Skip one", &updates).await;
    preview_ok(&app, &set).await;
    let problems = problems_of(&app, &set).await;
    assert_eq!(problem_types(&problems), ["collision"]);
    let problem = text(&problems[0]["sys_id"]).to_owned();
    for refused in [
        json!({"status": "whatever"}),
        json!({"problem_type": "conflict"}),
    ] {
        let res = app
            .request(
                "PATCH",
                &format!("/api/now/table/sys_update_preview_problem/{problem}"),
                &Auth::admin(),
                Some(refused.clone()),
            )
            .await;
        assert_eq!(
            res.status,
            StatusCode::BAD_REQUEST,
            "{refused}: {}",
            res.text
        );
    }
    patch(
        &app,
        "sys_update_preview_problem",
        &problem,
        json!({"status": "skipped"}),
    )
    .await;
    let local = commit_ok(&app, &set).await;
    assert_eq!(
        template_description(&app).await,
        here,
        "the skipped update was not applied"
    );
    assert_eq!(
        record(&app, "sys_properties", &property)
            .await
            .expect("applied")["value"],
        "yes"
    );
    let copied: Vec<String> = updates_in(&app, &local)
        .await
        .iter()
        .map(|u| text(&u["table"]).to_owned())
        .collect();
    assert_eq!(
        copied,
        ["sys_properties"],
        "the local copy holds what was applied"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accepted_problem_lets_the_remote_update_win() {
    let app = spawn_demo().await;
    let set = template_change_set(&app, "Accept", "Older", "Remote wins").await;
    preview_ok(&app, &set).await;
    let problems = problems_of(&app, &set).await;
    assert_eq!(problem_types(&problems), ["collision"]);
    patch(
        &app,
        "sys_update_preview_problem",
        text(&problems[0]["sys_id"]),
        json!({"status": "ignored"}),
    )
    .await;
    commit_ok(&app, &set).await;
    assert_eq!(template_description(&app).await, "Remote wins");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_commit_commits_despite_unresolved_problems() {
    let app = spawn_demo().await;
    let set = template_change_set(&app, "Forced", "Older", "Forced in").await;
    preview_ok(&app, &set).await;
    assert_eq!(problems_of(&app, &set).await.len(), 1);
    let res = app
        .raw(
            "POST",
            &format!("/api/sn_cicd/update_set/commit/{set}"),
            &Auth::admin(),
            Some("{\"force_commit\":\"true\"}"),
            "application/json",
        )
        .await;
    let p = finish(&app, &res).await;
    assert_successful(&p);
    assert_eq!(template_description(&app).await, "Forced in");
    assert_eq!(remote_state(&app, &set).await, "committed");
}

// ===========================================================================
// 7. commitMultiple stops at the first failure
// ===========================================================================

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_multiple_stops_at_the_first_failure_keeping_the_ones_before() {
    let app = spawn_demo().await;
    let here = template_description(&app).await;
    let (p1, p3) = (tollgate::ids::new_sys_id(), tollgate::ids::new_sys_id());
    let good = retrieved_set(
        &app,
        "Good first",
        &[change(
            "sys_properties",
            &property_payload(&p1, "sn_test.first", "1"),
            None,
        )],
    )
    .await;
    let bad = template_change_set(&app, "Colliding second", "Older", "Remote").await;
    let later = retrieved_set(
        &app,
        "Good third",
        &[change(
            "sys_properties",
            &property_payload(&p3, "sn_test.third", "3"),
            None,
        )],
    )
    .await;
    let res = cicd(
        &app,
        &format!(
            "/api/sn_cicd/update_set/commitMultiple?remote_update_set_ids={good}%2C{bad}%2C{later}"
        ),
    )
    .await;
    let p = finish(&app, &res).await;
    let error = failed(&p);
    assert!(
        error.contains(&format!("Failed to commit {bad}")),
        "names the failing set: {error}"
    );
    assert!(
        error.contains(&good),
        "says the first was committed: {error}"
    );
    assert!(error.contains("collision"), "{error}");
    assert!(!error.contains(&later), "{error}");

    assert_eq!(remote_state(&app, &good).await, "committed");
    assert!(record(&app, "sys_properties", &p1).await.is_some());
    assert!(local_copy_of(&app, &good).await.is_some());
    assert_ne!(remote_state(&app, &bad).await, "committed");
    assert_eq!(template_description(&app).await, here);
    assert!(local_copy_of(&app, &bad).await.is_none());
    assert_eq!(
        remote_state(&app, &later).await,
        "loaded",
        "the third was not tried"
    );
    assert!(record(&app, "sys_properties", &p3).await.is_none());
    assert!(local_copy_of(&app, &later).await.is_none());
}

// ===========================================================================
// 8. Back out
// ===========================================================================

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_out_restores_updated_records_and_removes_inserted_ones() {
    let app = spawn_demo().await;
    let before = payload_here(
        &app,
        "sn_dpr_model_release_template",
        demo::TEMPLATE_TIMELINE,
    )
    .await;
    let policy = tollgate::ids::new_sys_id();
    let set = retrieved_set(
        &app,
        "Change and add",
        &[
            change(
                "sn_dpr_model_release_template",
                &with(
                    &with(&before, "description", "Committed"),
                    "orientation",
                    "stage",
                ),
                Some(&before),
            ),
            change(
                "sn_pace_policy",
                &policy_payload(&policy, "Added by the set"),
                None,
            ),
        ],
    )
    .await;
    let local = commit_ok(&app, &set).await;
    let changed = payload_here(
        &app,
        "sn_dpr_model_release_template",
        demo::TEMPLATE_TIMELINE,
    )
    .await;
    assert_eq!(changed["description"], "Committed");
    assert_eq!(changed["orientation"], "stage");
    assert!(record(&app, "sn_pace_policy", &policy).await.is_some());

    back_out_ok(&app, &local, true).await;
    let restored = payload_here(
        &app,
        "sn_dpr_model_release_template",
        demo::TEMPLATE_TIMELINE,
    )
    .await;
    for field in ["name", "description", "orientation", "active"] {
        assert_eq!(restored[field], before[field], "{field}");
    }
    assert!(
        record(&app, "sn_pace_policy", &policy).await.is_none(),
        "the inserted policy is gone"
    );
    let copy = record(&app, "sys_update_set", &local).await.unwrap();
    assert_eq!(copy["backed_out"], "true");
    assert_eq!(remote_state(&app, &set).await, "backed_out");
    let versions = versions_of(
        &app,
        "sn_dpr_model_release_template",
        demo::TEMPLATE_TIMELINE,
    )
    .await;
    let current: Vec<&Value> = versions
        .iter()
        .filter(|v| v["state"] == "current")
        .collect();
    assert_eq!(current.len(), 1, "{versions:?}");
    assert_eq!(
        parsed(&current[0]["payload"])["description"],
        before["description"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_out_happens_in_one_go_or_not_at_all() {
    let app = spawn_demo().await;
    let before = payload_here(
        &app,
        "sn_dpr_model_release_template",
        demo::TEMPLATE_TIMELINE,
    )
    .await;
    let policy = tollgate::ids::new_sys_id();
    let set = retrieved_set(
        &app,
        "Change and add",
        &[
            change(
                "sn_dpr_model_release_template",
                &with(&before, "description", "Committed"),
                Some(&before),
            ),
            change(
                "sn_pace_policy",
                &policy_payload(&policy, "Added by the set"),
                None,
            ),
        ],
    )
    .await;
    let local = commit_ok(&app, &set).await;
    // Make the template's restore impossible (a base without its mandatory
    // name): updates are restored latest first, so the policy is deleted
    // before the template's restore fails, and that deletion must be undone.
    app.db
        .execute(
            "UPDATE sys_update_xml SET base_payload = $1 WHERE update_set = $2 AND \"table\" = 'sn_dpr_model_release_template'",
            &[DbValue::from("{\"name\": null}"), DbValue::from(local.as_str())],
        )
        .await
        .unwrap();
    let res = cicd(
        &app,
        &format!("/api/sn_cicd/update_set/back_out?update_set_id={local}"),
    )
    .await;
    let p = finish(&app, &res).await;
    failed(&p);
    assert!(
        record(&app, "sn_pace_policy", &policy).await.is_some(),
        "the policy's removal was undone with the failed restore"
    );
    assert_eq!(template_description(&app).await, "Committed");
    assert_eq!(
        record(&app, "sys_update_set", &local).await.unwrap()["backed_out"],
        "false"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_installs_backs_out_the_whole_batch_latest_first() {
    let app = spawn_demo().await;
    let original = template_description(&app).await;
    let (first, second, property) = committed_batch(&app).await;
    // Backing out the first set of the batch takes the second with it.
    back_out_ok(&app, &first, true).await;
    assert_eq!(
        template_description(&app).await,
        original,
        "restored latest first"
    );
    assert!(record(&app, "sys_properties", &property).await.is_none());
    for set in [&first, &second] {
        assert_eq!(
            record(&app, "sys_update_set", set).await.unwrap()["backed_out"],
            "true"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_rollback_installs_only_the_named_set_is_backed_out() {
    let app = spawn_demo().await;
    let (first, second, property) = committed_batch(&app).await;
    back_out_ok(&app, &second, false).await;
    assert_eq!(
        template_description(&app).await,
        "Batch one",
        "the first set stays in effect"
    );
    assert!(record(&app, "sys_properties", &property).await.is_none());
    assert_eq!(
        record(&app, "sys_update_set", &first).await.unwrap()["backed_out"],
        "false"
    );
    assert_eq!(
        record(&app, "sys_update_set", &second).await.unwrap()["backed_out"],
        "true"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_installs_defaults_to_true() {
    let app = spawn_demo().await;
    let original = template_description(&app).await;
    let (first, second, _) = committed_batch(&app).await;
    let p = finish(
        &app,
        &cicd(
            &app,
            &format!("/api/sn_cicd/update_set/back_out?update_set_id={second}"),
        )
        .await,
    )
    .await;
    assert_successful(&p);
    assert_eq!(template_description(&app).await, original);
    assert_eq!(
        record(&app, "sys_update_set", &first).await.unwrap()["backed_out"],
        "true"
    );
}

// ===========================================================================
// 9. The story: two servers on loopback
// ===========================================================================

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_captured_on_one_server_is_retrieved_previewed_committed_and_backed_out_on_another(
) {
    let a = spawn_demo().await;
    let b = spawn_demo().await;
    let a_addr = serve(&a).await;

    // B's own edit of the template, made before (the deliberate collision).
    patch(
        &b,
        "sn_dpr_model_release_template",
        demo::TEMPLATE_TIMELINE,
        json!({"description": "Production's own wording"}),
    )
    .await;

    // On A: an update set, current for the admin, capturing two changes.
    let set = new_update_set(&a, "Governance%202027").await;
    make_current(&a, &set).await;
    let staged = "Timeline template, as shaped on staging";
    patch(
        &a,
        "sn_dpr_model_release_template",
        demo::TEMPLATE_TIMELINE,
        json!({"description": staged}),
    )
    .await;
    let policy = create(
        &a,
        "sn_pace_policy",
        json!({"name": "Change ticket linked", "description": "From staging", "rego": REGO}),
    )
    .await;
    let policy_id = text(&policy["sys_id"]).to_owned();
    // A second template, which B has left alone: it must not collide.
    let product_before = text(
        &record(&b, "sn_dpr_model_release_template", demo::TEMPLATE_PRODUCT)
            .await
            .unwrap()["description"],
    )
    .to_owned();
    patch(
        &a,
        "sn_dpr_model_release_template",
        demo::TEMPLATE_PRODUCT,
        json!({"description": "Product template, staged"}),
    )
    .await;
    patch(&a, "sys_update_set", &set, json!({"state": "complete"})).await;
    assert_eq!(updates_in(&a, &set).await.len(), 3);

    // On B: A as a remote instance; retrieve with preview.
    let source = remote_instance(&b, &format!("http://{a_addr}"), "admin", ADMIN_PASSWORD).await;
    let p = finish(
        &b,
        &cicd(
            &b,
            &format!("/api/sn_cicd/update_set/retrieve?update_set_id={set}&update_source_id={source}&auto_preview=true"),
        )
        .await,
    )
    .await;
    assert_successful(&p);
    let retrieved = result_id(&p);
    let copy = record(&b, "sys_remote_update_set", &retrieved)
        .await
        .unwrap();
    assert_eq!(copy["state"], "previewed");
    assert_eq!(copy["remote_sys_id"], set.as_str());
    assert_eq!(copy["name"], "Governance 2027");
    assert_eq!(copy["update_count"], "3");
    assert!(
        record(&b, "sn_pace_policy", &policy_id).await.is_none(),
        "not applied by preview"
    );

    // Exactly one problem: the collision on the template; accept A's change.
    let problems = problems_of(&b, &retrieved).await;
    assert_eq!(problem_types(&problems), ["collision"], "{problems:?}");
    let updates = remote_updates_in(&b, &retrieved).await;
    let template_update = updates
        .iter()
        .find(|u| u["record_sys_id"] == demo::TEMPLATE_TIMELINE)
        .unwrap();
    assert_eq!(problems[0]["remote_update"], template_update["sys_id"]);
    let res = cicd(&b, &format!("/api/sn_cicd/update_set/commit/{retrieved}")).await;
    assert!(failed(&finish(&b, &res).await).contains("unresolved"));
    patch(
        &b,
        "sys_update_preview_problem",
        text(&problems[0]["sys_id"]),
        json!({"status": "ignored"}),
    )
    .await;

    // Commit: in effect on B.
    let local = commit_ok(&b, &retrieved).await;
    assert_eq!(
        record(&b, "sys_update_set", &local).await.unwrap()["remote_sys_id"],
        retrieved.as_str()
    );
    assert_eq!(template_description(&b).await, staged);
    assert_eq!(template_description(&a).await, staged);
    let arrived = record(&b, "sn_pace_policy", &policy_id)
        .await
        .expect("the policy arrived");
    assert_eq!(arrived["name"], "Change ticket linked");
    assert_eq!(arrived["rego"], REGO);
    let product = record(&b, "sn_dpr_model_release_template", demo::TEMPLATE_PRODUCT)
        .await
        .unwrap();
    assert_eq!(product["description"], "Product template, staged");

    // Back out: the policy is gone, the template is B's own again.
    back_out_ok(&b, &local, true).await;
    assert!(record(&b, "sn_pace_policy", &policy_id).await.is_none());
    assert_eq!(template_description(&b).await, "Production's own wording");
    let product = record(&b, "sn_dpr_model_release_template", demo::TEMPLATE_PRODUCT)
        .await
        .unwrap();
    assert_eq!(product["description"], product_before.as_str());
    // A is untouched by all of it.
    assert!(record(&a, "sn_pace_policy", &policy_id).await.is_some());
}

// ===========================================================================
// More rules
// ===========================================================================

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_to_a_data_table_is_a_preview_problem_and_never_applied() {
    let app = spawn_demo().await;
    let user = tollgate::ids::new_sys_id();
    let mut payload = system_fields(&user);
    payload["user_name"] = json!("smuggled.in");
    payload["name"] = json!("Smuggled In");
    let set = retrieved_set(&app, "Brings a user", &[change("sys_user", &payload, None)]).await;
    preview_ok(&app, &set).await;
    let problems = problems_of(&app, &set).await;
    assert_eq!(
        problem_types(&problems),
        ["not_configuration"],
        "{problems:?}"
    );
    assert_eq!(
        remote_updates_in(&app, &set).await[0]["disposition"],
        "skip"
    );
    let res = cicd(&app, &format!("/api/sn_cicd/update_set/commit/{set}")).await;
    assert!(failed(&finish(&app, &res).await).contains("not_configuration"));
    // Even forced, or accepted, the user is not created.
    let res = app
        .raw(
            "POST",
            &format!("/api/sn_cicd/update_set/commit/{set}"),
            &Auth::admin(),
            Some("{\"force_commit\":true}"),
            "application/json",
        )
        .await;
    assert_successful(&finish(&app, &res).await);
    assert_eq!(
        count_where(
            &app,
            "sys_user",
            "sys_id = $1 OR user_name = $2",
            &[&user, "smuggled.in"]
        )
        .await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_committed_delete_is_backed_out_by_recreating_the_record() {
    let app = spawn_demo().await;
    let property = create(
        &app,
        "sys_properties",
        json!({"name": "sn_test.doomed", "value": "42", "description": "Kept by back out"}),
    )
    .await;
    let id = text(&property["sys_id"]).to_owned();
    let here = payload_here(&app, "sys_properties", &id).await;
    let set = retrieved_set(
        &app,
        "Deletes a property",
        &[
            json!({"table": "sys_properties", "record_sys_id": id, "action": "DELETE",
                 "payload": here, "base_payload": here}),
        ],
    )
    .await;
    preview_ok(&app, &set).await;
    assert!(problems_of(&app, &set).await.is_empty());
    assert_eq!(
        remote_updates_in(&app, &set).await[0]["disposition"],
        "delete"
    );
    let local = commit_ok(&app, &set).await;
    assert!(record(&app, "sys_properties", &id).await.is_none());
    back_out_ok(&app, &local, true).await;
    let back = record(&app, "sys_properties", &id)
        .await
        .expect("recreated");
    for field in ["name", "value", "description", "type", "sys_created_on"] {
        assert_eq!(back[field], here[field], "{field}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_of_a_record_changed_here_since_its_base_is_a_collision() {
    let app = spawn_demo().await;
    let property = create(
        &app,
        "sys_properties",
        json!({"name": "sn_test.changed", "value": "1"}),
    )
    .await;
    let id = text(&property["sys_id"]).to_owned();
    let base = payload_here(&app, "sys_properties", &id).await;
    patch(&app, "sys_properties", &id, json!({"value": "2"})).await;
    let set = retrieved_set(
        &app,
        "Deletes a changed property",
        &[
            json!({"table": "sys_properties", "record_sys_id": id, "action": "DELETE",
                 "payload": base, "base_payload": base}),
        ],
    )
    .await;
    preview_ok(&app, &set).await;
    assert_eq!(problem_types(&problems_of(&app, &set).await), ["collision"]);
    let res = cicd(&app, &format!("/api/sn_cicd/update_set/commit/{set}")).await;
    failed(&finish(&app, &res).await);
    assert!(record(&app, "sys_properties", &id).await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_names_the_set_its_base_version_came_from() {
    let app = spawn_demo().await;
    let first = new_update_set(&app, "First").await;
    make_current(&app, &first).await;
    patch(
        &app,
        "sn_dpr_model_release_template",
        demo::TEMPLATE_TIMELINE,
        json!({"description": "In the first set"}),
    )
    .await;
    patch(&app, "sys_update_set", &first, json!({"state": "complete"})).await;
    let second = new_update_set(&app, "Second").await;
    let preference = records(&app, "sys_user_preference", "name=sys_update_set").await;
    patch(
        &app,
        "sys_user_preference",
        text(&preference[0]["sys_id"]),
        json!({"value": second}),
    )
    .await;
    patch(
        &app,
        "sn_dpr_model_release_template",
        demo::TEMPLATE_TIMELINE,
        json!({"description": "In the second set"}),
    )
    .await;
    let first_update = &updates_in(&app, &first).await[0];
    assert_eq!(first_update["base_update_set"], "", "no version before");
    let second_update = &updates_in(&app, &second).await[0];
    assert_eq!(second_update["base_update_set"], first.as_str());
    assert_eq!(
        parsed(&second_update["base_payload"])["description"],
        "In the first set"
    );
    assert_eq!(
        parsed(&first_update["payload"])["description"],
        "In the first set"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retrieve_percentage_only_moves_forward() {
    let app = spawn_demo().await;
    const SET: &str = "5ace5ace5ace5ace5ace5ace5ace5ad0";
    let pages: Vec<(u16, String)> = (0..5).map(|n| (200, full_page(n * 2_000))).collect();
    let addr = fake_remote(SET, pages, Duration::from_millis(300)).await;
    let source = remote_instance(&app, &format!("http://{addr}"), "admin", ADMIN_PASSWORD).await;
    let id = pending(
        &cicd(
            &app,
            &format!(
                "/api/sn_cicd/update_set/retrieve?update_set_id={SET}&update_source_id={source}"
            ),
        )
        .await,
    );
    let job = app
        .state
        .jobs
        .claim("test", chrono::Utc::now().timestamp_millis())
        .await
        .unwrap()
        .unwrap();
    let jobs = app.state.jobs.clone();
    let running = tokio::spawn(async move { jobs.execute(job).await });
    let mut seen = Vec::new();
    while !running.is_finished() {
        let p = progress(&app, &id).await;
        let percent = p["percent_complete"].as_i64().unwrap();
        if seen.last() != Some(&percent) {
            seen.push(percent);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    running.await.unwrap();
    let p = progress(&app, &id).await;
    assert_successful(&p);
    seen.push(100);
    assert!(
        seen.iter().any(|p| *p > 0 && *p < 100),
        "the percentage moves during the work: {seen:?}"
    );
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "never backwards: {seen:?}"
    );
    assert_eq!(
        count_where(
            &app,
            "sys_update_xml",
            "remote_update_set = $1",
            &[&result_id(&p)]
        )
        .await,
        10_000
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_commits_of_one_set_racing_apply_it_once() {
    let app = spawn_demo().await;
    // A race shows only sometimes: run several.
    for round in 1..=6 {
        let here = template_description(&app).await;
        let to = format!("Raced in, round {round}");
        let set = template_change_set(&app, "Raced", &here, &to).await;
        preview_ok(&app, &set).await;
        assert!(problems_of(&app, &set).await.is_empty());
        // Both requests pass the request checks: neither is committed yet.
        let path = format!("/api/sn_cicd/update_set/commit/{set}");
        let first = pending(&cicd(&app, &path).await);
        let second = pending(&cicd(&app, &path).await);
        // Two workers run them at the same time.
        let now = chrono::Utc::now().timestamp_millis();
        let a = app
            .state
            .jobs
            .claim("worker-a", now)
            .await
            .unwrap()
            .unwrap();
        let b = app
            .state
            .jobs
            .claim("worker-b", now)
            .await
            .unwrap()
            .unwrap();
        let (qa, qb) = (app.state.jobs.clone(), app.state.jobs.clone());
        let (ra, rb) = tokio::join!(
            tokio::spawn(async move { qa.execute(a).await }),
            tokio::spawn(async move { qb.execute(b).await })
        );
        ra.unwrap();
        rb.unwrap();
        let labels = [
            progress(&app, &first).await["status_label"].clone(),
            progress(&app, &second).await["status_label"].clone(),
        ];
        assert_eq!(
            count_where(&app, "sys_update_set", "remote_sys_id = $1", &[&set]).await,
            1,
            "round {round}: one local copy: {labels:?}"
        );
        assert!(
            labels.contains(&json!("Successful")) && labels.contains(&json!("Failed")),
            "round {round}: {labels:?}"
        );
        assert_eq!(template_description(&app).await, to);
        let versions = versions_of(
            &app,
            "sn_dpr_model_release_template",
            demo::TEMPLATE_TIMELINE,
        )
        .await;
        assert_eq!(versions.len(), round, "round {round}: {versions:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writing_a_remote_instance_back_as_read_keeps_its_password() {
    let app = spawn_demo().await;
    let addr = serve(&app).await;
    let source = remote_instance(&app, &format!("http://{addr}"), "admin", ADMIN_PASSWORD).await;
    // A client reads the record (password masked), edits one field and
    // writes the whole record back.
    let mut shown = record(&app, "sys_update_set_source", &source)
        .await
        .unwrap();
    assert_eq!(shown["password"], "*******");
    shown["description"] = json!("Staging");
    patch(&app, "sys_update_set_source", &source, shown).await;
    let p = finish(
        &app,
        &cicd(
            &app,
            &format!("/api/sn_cicd/update_set/retrieve?update_set_id={BASELINE_SET}&update_source_id={source}"),
        )
        .await,
    )
    .await;
    assert_successful(&p);
}

// ===========================================================================
// Trust: retrieved sets are the server's; a commit moves changes, not rights
// ===========================================================================

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retrieved_update_sets_and_their_updates_are_written_by_the_server_only() {
    let app = spawn_demo().await;
    let cicd_user = app.user("pipeline", &[CICD_AUTOMATION]).await;
    let existing = retrieved_set(
        &app,
        "Made by retrieval",
        &[change(
            "sys_properties",
            &property_payload(&tollgate::ids::new_sys_id(), "sn_test.server_made", "1"),
            None,
        )],
    )
    .await;
    let update = text(&remote_updates_in(&app, &existing).await[0]["sys_id"]).to_owned();
    let before = (
        app.count("sys_remote_update_set").await,
        app.count("sys_update_xml").await,
    );
    let forged = json!({"remote_update_set": existing, "name": "sys_properties_x",
        "table": "sys_properties", "record_sys_id": tollgate::ids::new_sys_id(),
        "action": "INSERT_OR_UPDATE", "payload": "{}"});
    for auth in [&cicd_user, &Auth::admin()] {
        for (method, path, body) in [
            (
                "POST",
                "/api/now/table/sys_remote_update_set".to_owned(),
                Some(json!({"name": "Forged"})),
            ),
            (
                "POST",
                "/api/now/table/sys_update_xml".to_owned(),
                Some(forged.clone()),
            ),
            (
                "PATCH",
                format!("/api/now/table/sys_remote_update_set/{existing}"),
                Some(json!({"name": "Renamed"})),
            ),
            (
                "PATCH",
                format!("/api/now/table/sys_update_xml/{update}"),
                Some(json!({"payload": "{\"name\":\"evil\"}"})),
            ),
            (
                "DELETE",
                format!("/api/now/table/sys_update_xml/{update}"),
                None,
            ),
        ] {
            let res = app.request(method, &path, auth, body).await;
            assert_eq!(
                res.status,
                StatusCode::FORBIDDEN,
                "{method} {path}: {}",
                res.text
            );
            assert!(
                res.text.contains("the server maintains it"),
                "{method} {path}: {}",
                res.text
            );
        }
    }
    assert_eq!(
        (
            app.count("sys_remote_update_set").await,
            app.count("sys_update_xml").await
        ),
        before,
        "refused writes change nothing"
    );
    assert_eq!(
        text(
            &record(&app, "sys_remote_update_set", &existing)
                .await
                .unwrap()["name"]
        ),
        "Made by retrieval"
    );
}

/// Commits `set` as `auth`; returns the ended progress.
async fn commit_as(app: &TestApp, auth: &Auth, set: &str) -> Value {
    let res = app
        .request(
            "POST",
            &format!("/api/sn_cicd/update_set/commit/{set}"),
            auth,
            None,
        )
        .await;
    finish(app, &res).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_writes_only_tables_the_committing_user_may_write() {
    let app = spawn_demo().await;
    let cicd_user = app.user("pipeline", &[CICD_AUTOMATION]).await;
    let property = tollgate::ids::new_sys_id();
    let policy = tollgate::ids::new_sys_id();
    let set = retrieved_set(
        &app,
        "Admin-only tables",
        &[
            change(
                "sys_properties",
                &property_payload(&property, "sn_test.escalated", "1"),
                None,
            ),
            change("sn_pace_policy", &policy_payload(&policy, "Smuggled"), None),
        ],
    )
    .await;
    let versions = app.count("sys_update_version").await;
    let error = failed(&commit_as(&app, &cicd_user, &set).await);
    assert!(
        error.contains("sys_properties") && error.contains("pipeline") && error.contains("admin"),
        "{error}"
    );
    // Nothing landed: not the property, not the policy, no local copy.
    assert!(record(&app, "sys_properties", &property).await.is_none());
    assert!(record(&app, "sn_pace_policy", &policy).await.is_none());
    assert_eq!(app.count("sys_update_version").await, versions);
    assert_ne!(remote_state(&app, &set).await, "committed");

    // An admin may write both (the control).
    let p = commit_as(&app, &Auth::admin(), &set).await;
    assert_successful(&p);
    assert!(record(&app, "sys_properties", &property).await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_validates_each_update_like_a_direct_write() {
    let app = spawn_demo().await;
    let policy = tollgate::ids::new_sys_id();
    let mut broken = policy_payload(&policy, "Does not compile");
    broken["rego"] = json!("package tollgate.policy\n\ncompliant if {{{ nonsense");
    let set = retrieved_set(
        &app,
        "Broken policy",
        &[change("sn_pace_policy", &broken, None)],
    )
    .await;
    let error = failed(&commit_as(&app, &Auth::admin(), &set).await);
    assert!(
        error.contains("rego") && error.contains("does not compile"),
        "{error}"
    );
    assert!(record(&app, "sn_pace_policy", &policy).await.is_none());
    assert_ne!(remote_state(&app, &set).await, "committed");

    // A value outside a choice list is refused too.
    let property = tollgate::ids::new_sys_id();
    let mut odd = property_payload(&property, "sn_test.odd_type", "1");
    odd["type"] = json!("not-a-type");
    let set = retrieved_set(&app, "Bad choice", &[change("sys_properties", &odd, None)]).await;
    let error = failed(&commit_as(&app, &Auth::admin(), &set).await);
    assert!(error.contains("type"), "{error}");
    assert!(record(&app, "sys_properties", &property).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_committed_record_names_the_committing_user_not_the_payloads_claim() {
    let app = spawn_demo().await;
    let property = tollgate::ids::new_sys_id();
    let mut claimed = property_payload(&property, "sn_test.truthful", "1");
    claimed["sys_created_by"] = json!("someone.else");
    claimed["sys_updated_by"] = json!("someone.else");
    claimed["sys_created_on"] = json!("2001-01-01 00:00:00");
    let set = retrieved_set(
        &app,
        "Truthful",
        &[change("sys_properties", &claimed, None)],
    )
    .await;
    commit_ok(&app, &set).await;
    let row = record(&app, "sys_properties", &property).await.unwrap();
    assert_eq!(row["sys_created_by"], "admin");
    assert_eq!(row["sys_updated_by"], "admin");
    assert_ne!(row["sys_created_on"], "2001-01-01 00:00:00");
    assert_eq!(row["value"], "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_cannot_store_ciphertext_in_a_secret_column() {
    let app = spawn_demo().await;
    let pipeline = app.user("pipeline", &[CICD_AUTOMATION]).await;
    let stored = |app: &TestApp, id: String| {
        let db = app.db.clone();
        async move {
            db.fetch_optional(
                "SELECT password FROM sys_update_set_source WHERE sys_id = $1",
                &[DbValue::from(id)],
            )
            .await
            .unwrap()
            .unwrap()
            .string("password")
        }
    };
    // A ciphertext the server made for another record: the demo source's
    // password (readable as stored text to anyone who reaches the database
    // or a copy of it).
    let stolen = stored(&app, SOURCE_ID.to_owned()).await;
    assert!(stolen.starts_with("enc:v2:"), "{stolen}");
    let mine = create(
        &app,
        "sys_update_set_source",
        json!({"name": "Mine", "url": "http://127.0.0.1:9", "username": "u", "password": "clear"}),
    )
    .await;
    let mine = text(&mine["sys_id"]).to_owned();
    let mine_before = stored(&app, mine.clone()).await;
    let sources = app.count("sys_update_set_source").await;
    for planted in [
        stolen.as_str(),
        "enc:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let res = app
            .request(
                "POST",
                "/api/now/table/sys_update_set_source",
                &pipeline,
                Some(json!({"name": "Planted", "url": "http://127.0.0.1:9", "password": planted})),
            )
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
        assert!(
            res.text.contains("password") && res.text.contains("clear value"),
            "{}",
            res.text
        );
        let res = app
            .request(
                "PATCH",
                &format!("/api/now/table/sys_update_set_source/{mine}"),
                &pipeline,
                Some(json!({"password": planted})),
            )
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    }
    assert_eq!(app.count("sys_update_set_source").await, sources);
    assert_eq!(stored(&app, mine.clone()).await, mine_before, "unchanged");

    // Copied below the API, a ciphertext still opens only in its own record.
    app.db
        .execute(
            "UPDATE sys_update_set_source SET password = $1 WHERE sys_id = $2",
            &[DbValue::from(stolen.as_str()), DbValue::from(mine.as_str())],
        )
        .await
        .unwrap();
    let err =
        tollgate::domain::update_sets::retrieve::source(&app.db, &mine, &RemotePolicy::default())
            .await
            .err()
            .expect("a copied ciphertext does not decrypt");
    assert!(
        err.message.contains("cannot be decrypted") && err.message.contains("password"),
        "{}",
        err.message
    );
}

// ===========================================================================
// Trust: remote instances are reached only where the server's settings allow
// ===========================================================================

/// A listener that counts the connections made to it (and answers none).
async fn counting_server() -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            held.push(stream);
        }
    });
    (addr, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_instance_is_reached_only_when_remote_allow_lists_its_host() {
    let (addr, seen) = counting_server().await;
    let port = addr.port();
    for allow in [
        vec![],
        vec!["remote.example.com".to_owned()],
        // The right host on another port.
        vec![format!("127.0.0.1:{}", port.wrapping_add(1).max(1))],
    ] {
        let app = TestApp::spawn_demo_with_settings(tollgate::config::Settings {
            remote_allow: allow.clone(),
            ..test_settings()
        })
        .await;
        let error = failed_retrieval(&app, &format!("http://{addr}"), BASELINE_SET).await;
        assert!(
            error.contains("remote_allow") && error.contains(&format!("127.0.0.1:{port}")),
            "{allow:?}: {error}"
        );
    }
    assert_eq!(
        seen.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no connection, so no credentials, went out"
    );

    // Listed (host alone: any port), the remote is retrieved from (the
    // control).
    let app = spawn_demo().await;
    let remote = fake_remote(BASELINE_SET, vec![], Duration::ZERO).await;
    let source = remote_instance(&app, &format!("http://{remote}"), "admin", ADMIN_PASSWORD).await;
    let p = finish(
        &app,
        &cicd(
            &app,
            &format!("/api/sn_cicd/update_set/retrieve?update_set_id={BASELINE_SET}&update_source_id={source}"),
        )
        .await,
    )
    .await;
    assert_successful(&p);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_instance_url_must_be_a_plain_http_or_https_base_url() {
    let app = spawn().await;
    let before = app.count("sys_update_set_source").await;
    for url in [
        "ftp://remote.example.com",
        "file:///etc/passwd",
        "remote.example.com",
        "http://user:pw@remote.example.com",
        "http://remote.example.com/?sysparm_query=x",
    ] {
        let res = app
            .post(
                "/api/now/table/sys_update_set_source",
                json!({"name": "Odd", "url": url, "username": "u", "password": "p"}),
            )
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{url}: {}", res.text);
        assert!(res.text.contains("url"), "{url}: {}", res.text);
    }
    assert_eq!(app.count("sys_update_set_source").await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_a_remote_instance_url_clears_its_stored_password() {
    let app = spawn().await;
    let source = remote_instance(&app, "http://127.0.0.1:9", "admin", "for-the-old-host").await;
    let password = |app: &TestApp| {
        let db = app.db.clone();
        let source = source.clone();
        async move {
            db.fetch_optional(
                "SELECT password FROM sys_update_set_source WHERE sys_id = $1",
                &[DbValue::from(source)],
            )
            .await
            .unwrap()
            .unwrap()
            .text("password")
        }
    };
    // Another field: the password stays.
    patch(
        &app,
        "sys_update_set_source",
        &source,
        json!({"description": "x"}),
    )
    .await;
    assert!(password(&app).await.is_some());
    // The URL, even with the mask sent back as the password: it goes.
    patch(
        &app,
        "sys_update_set_source",
        &source,
        json!({"url": "http://127.0.0.1:10", "password": "*******"}),
    )
    .await;
    assert_eq!(password(&app).await, None);
    let shown = record(&app, "sys_update_set_source", &source)
        .await
        .unwrap();
    assert_eq!(shown["password"], "", "{shown}");
    // Retrieval then says what is missing instead of sending no password.
    let err = tollgate::domain::update_sets::retrieve::source(
        &app.db,
        &source,
        &RemotePolicy::from_settings(&loopback_settings()),
    )
    .await
    .err()
    .expect("no password to send");
    assert!(
        err.message.contains("no stored password"),
        "{}",
        err.message
    );
    // The URL with a new password: the new one is kept (encrypted).
    patch(
        &app,
        "sys_update_set_source",
        &source,
        json!({"url": "http://127.0.0.1:11", "password": "for-the-new-host"}),
    )
    .await;
    let stored = password(&app).await.unwrap();
    assert!(stored.starts_with("enc:v2:") && !stored.contains("for-the-new-host"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retrieval_update_set_id_must_be_a_sys_id() {
    let app = spawn_demo().await;
    let jobs = app.count("tollgate_job").await;
    for bad in [
        "..%2Fsys_user",
        "abc",
        "0123456789abcdef0123456789abcdef%5Eactive%3Dtrue",
    ] {
        let res = cicd(
            &app,
            &format!(
                "/api/sn_cicd/update_set/retrieve?update_set_id={bad}&update_source_id={SOURCE_ID}"
            ),
        )
        .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{bad}: {}", res.text);
        assert!(res.text.contains("update_set_id"), "{bad}: {}", res.text);
        assert!(res.text.contains("sys_id"), "{bad}: {}", res.text);
    }
    assert_eq!(app.count("tollgate_job").await, jobs, "nothing queued");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_remote_answers_is_not_echoed_into_the_progress_record() {
    let app = spawn_demo().await;
    let addr = canned_server(
        "HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\nconnection: close\r\n\
         content-length: 56\r\n\r\n{\"error\":{\"message\":\"internal banner: ssh-2.0-openssh\"}}",
    )
    .await;
    let error = failed_retrieval(&app, &format!("http://{addr}"), BASELINE_SET).await;
    assert!(error.contains("403"), "{error}");
    assert!(
        !error.contains("banner") && !error.contains("ssh"),
        "{error}"
    );
}

// ---------------------------------------------------------------------------
// HTTPS remotes
// ---------------------------------------------------------------------------

/// A test CA and a certificate it issued for 127.0.0.1: (CA as PEM, server
/// TLS configuration).
fn test_tls() -> (String, Arc<rustls::ServerConfig>) {
    use base64::Engine;
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Tollgate test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(ca_cert.der());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    );
    let key = rustls_pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![leaf.der().clone()], key)
    .unwrap();
    (pem, Arc::new(config))
}

/// Accepts TLS connections (a failed handshake is skipped).
struct TlsListener {
    tcp: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(stream).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_remote_is_trusted_through_the_system_roots_or_remote_ca_file_only() {
    const SET: &str = "5ace5ace5ace5ace5ace5ace5ace5ad0";
    let (ca_pem, server_config) = test_tls();
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let listener = TlsListener {
        tcp,
        acceptor: tokio_rustls::TlsAcceptor::from(server_config),
    };
    let one = json!({"result": [{
        "sys_id": "9999aaaa9999aaaa9999aaaa9999aaab", "name": "sys_properties_9999bbbb9999bbbb9999bbbb9999bbbc",
        "table": "sys_properties", "record_sys_id": "9999bbbb9999bbbb9999bbbb9999bbbc",
        "action": "INSERT_OR_UPDATE", "payload": "{\"sys_id\":\"9999bbbb9999bbbb9999bbbb9999bbbc\",\"name\":\"over.tls\"}",
        "sequence": "1"
    }]});
    let router = fake_remote_router(SET, vec![(200, one.to_string())], Duration::ZERO);
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let url = format!("https://{addr}");

    // Not signed by a trusted root: refused, saying why.
    let app = spawn_demo().await;
    let error = failed_retrieval(&app, &url, SET).await;
    assert!(error.contains(&url), "{error}");
    assert!(error.to_lowercase().contains("certificate"), "{error}");

    // A CA file that does not exist is named in the failure.
    let app = TestApp::spawn_demo_with_settings(tollgate::config::Settings {
        remote_ca_file: Some("/nonexistent/tollgate-ca.pem".into()),
        ..loopback_settings()
    })
    .await;
    let error = failed_retrieval(&app, &url, SET).await;
    assert!(error.contains("remote_ca_file"), "{error}");

    // With the test CA in remote_ca_file, the same remote is retrieved.
    let dir = std::env::temp_dir().join(format!("tollgate-ca-{}", tollgate::ids::new_sys_id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    let app = TestApp::spawn_demo_with_settings(tollgate::config::Settings {
        remote_ca_file: Some(ca_file.display().to_string()),
        ..loopback_settings()
    })
    .await;
    let source = remote_instance(&app, &url, "admin", ADMIN_PASSWORD).await;
    let p = finish(
        &app,
        &cicd(
            &app,
            &format!(
                "/api/sn_cicd/update_set/retrieve?update_set_id={SET}&update_source_id={source}"
            ),
        )
        .await,
    )
    .await;
    assert_successful(&p);
    assert_eq!(remote_updates_in(&app, &result_id(&p)).await.len(), 1);
    std::fs::remove_dir_all(dir).ok();
}

// ===========================================================================
// Trust: one retrieval is bounded in updates, bytes and time
// ===========================================================================

fn limited(update: impl FnOnce(&mut tollgate::config::Settings)) -> tollgate::config::Settings {
    let mut s = loopback_settings();
    update(&mut s);
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retrieval_reads_at_most_retrieve_max_updates() {
    const SET: &str = "5ace5ace5ace5ace5ace5ace5ace5ad1";
    let app = TestApp::spawn_demo_with_settings(limited(|s| s.retrieve_max_updates = 3_000)).await;
    // A remote that keeps answering full pages.
    let pages = (0..5).map(|i| (200, full_page(i * 2_000))).collect();
    let addr = fake_remote(SET, pages, Duration::ZERO).await;
    let error = failed_retrieval(&app, &format!("http://{addr}"), SET).await;
    assert!(
        error.contains("3000") && error.contains("retrieve_max_updates"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retrieval_reads_at_most_retrieve_max_bytes() {
    const SET: &str = "5ace5ace5ace5ace5ace5ace5ace5ad2";
    let app = TestApp::spawn_demo_with_settings(limited(|s| s.retrieve_max_bytes = 100_000)).await;
    let addr = fake_remote(SET, vec![(200, full_page(0))], Duration::ZERO).await;
    let error = failed_retrieval(&app, &format!("http://{addr}"), SET).await;
    assert!(
        error.contains("100000") && error.contains("retrieve_max_bytes"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retrieval_ends_after_retrieve_timeout() {
    const SET: &str = "5ace5ace5ace5ace5ace5ace5ace5ad3";
    let app = TestApp::spawn_demo_with_settings(limited(|s| s.retrieve_timeout = 1)).await;
    // Each page answers well within one request's limit, but the pages
    // together take longer than the retrieval may.
    let pages = (0..50).map(|i| (200, full_page(i * 2_000))).collect();
    let addr = fake_remote(SET, pages, Duration::from_millis(400)).await;
    let error = failed_retrieval(&app, &format!("http://{addr}"), SET).await;
    assert!(error.contains("retrieve_timeout"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_answer_larger_than_retrieve_max_answer_bytes_fails_the_retrieval() {
    const SET: &str = "5ace5ace5ace5ace5ace5ace5ace5ad4";
    let app =
        TestApp::spawn_demo_with_settings(limited(|s| s.retrieve_max_answer_bytes = 100_000)).await;
    // One page of 2,000 updates is far more than 100,000 bytes, though the
    // retrieval in all (retrieve_max_bytes) may read much more.
    let addr = fake_remote(SET, vec![(200, full_page(0))], Duration::ZERO).await;
    let error = failed_retrieval(&app, &format!("http://{addr}"), SET).await;
    assert!(
        error.contains("100000") && error.contains("retrieve_max_answer_bytes"),
        "{error}"
    );
    assert!(error.contains(&format!("http://{addr}")), "{error}");

    // The same limits let answers within it through (the control).
    let one = json!({"result": [{
        "sys_id": "9999aaaa9999aaaa9999aaaa9999aaab", "name": "sys_properties_9999bbbb9999bbbb9999bbbb9999bbbc",
        "table": "sys_properties", "record_sys_id": "9999bbbb9999bbbb9999bbbb9999bbbc",
        "action": "INSERT_OR_UPDATE", "payload": "{\"sys_id\":\"9999bbbb9999bbbb9999bbbb9999bbbc\",\"name\":\"one\"}",
        "sequence": "1"
    }]});
    let addr = fake_remote(SET, vec![(200, one.to_string())], Duration::ZERO).await;
    let source = remote_instance(&app, &format!("http://{addr}"), "admin", ADMIN_PASSWORD).await;
    let p = finish(
        &app,
        &cicd(
            &app,
            &format!(
                "/api/sn_cicd/update_set/retrieve?update_set_id={SET}&update_source_id={source}"
            ),
        )
        .await,
    )
    .await;
    assert_successful(&p);
    assert_eq!(remote_updates_in(&app, &result_id(&p)).await.len(), 1);
}

#[test]
fn retrieve_max_answer_bytes_defaults_to_16_mib_and_is_capped_by_retrieve_max_bytes() {
    let d = tollgate::config::Settings::default();
    assert_eq!(d.retrieve_max_answer_bytes, 16 * 1024 * 1024);
    let policy = RemotePolicy::from_settings(&tollgate::config::Settings {
        retrieve_max_bytes: 1_000,
        retrieve_max_answer_bytes: 5_000,
        ..d
    });
    assert_eq!(policy.max_answer_bytes, 1_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_answer_of_the_wrong_shape_fails_without_being_materialised() {
    const SET: &str = "5ace5ace5ace5ace5ace5ace5ace5ad5";
    let app = spawn_demo().await;
    // Each answer is wrong from its first element on, and is cut off after
    // a long run of further elements: a parser that read the whole answer
    // before looking at its shape would fail at the cut as "not JSON". A
    // failure naming the shape shows the answer was refused at its first
    // wrong element, with nothing after it built in memory.
    let run = |element: &str| element.repeat(50_000);
    let hostile_update = "{\"table\":\"sys_properties\",\"record_sys_id\":\"9999bbbb9999bbbb9999bbbb9999bbbb\",\"action\":\"INSERT_OR_UPDATE\",\"payload\":\"[0]\"},";
    let pages: Vec<(String, &str)> = vec![
        // The finding's answer: a bare array of numbers.
        (format!("[{}", run("0,")), "update list"),
        // A result array of numbers.
        (format!("{{\"result\":[{}", run("0,")), "update list"),
        // Updates whose field is an array rather than text.
        (
            format!("{{\"result\":[{}", run("{\"table\":[0,0,0]},")),
            "update list",
        ),
        // Objects, but not updates: the first fails its check.
        (format!("{{\"result\":[{}", run("{},")), "action is neither"),
        (
            format!("{{\"result\":[{}", run("{\"action\":\"DELETE\"},")),
            "table and record sys_id",
        ),
        // An update whose payload is not an object.
        (
            format!("{{\"result\":[{}", run(hostile_update)),
            "payload is not a JSON object",
        ),
    ];
    for (body, says) in pages {
        let addr = fake_remote(SET, vec![(200, body)], Duration::ZERO).await;
        let error = failed_retrieval(&app, &format!("http://{addr}"), SET).await;
        assert!(error.contains(says), "{says}: {error}");
        assert!(!error.contains("not JSON"), "{says}: {error}");
        assert!(!error.contains("9999bbbb"), "nothing is echoed: {error}");
    }

    // The update set itself, of the wrong shape and cut off alike.
    let wrong_set: &'static str = Box::leak(
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{{\"result\":[{}",
            run("0,")
        )
        .into_boxed_str(),
    );
    let addr = canned_server(wrong_set).await;
    let error = failed_retrieval(&app, &format!("http://{addr}"), SET).await;
    assert!(error.contains("update set that is not"), "{error}");
    assert!(!error.contains("not JSON"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retired_unbound_secrets_are_counted_for_the_operator_and_not_decrypted() {
    let app = spawn_demo().await;
    assert!(tollgate::secrets::retired_values(&app.db)
        .await
        .unwrap()
        .is_empty());
    app.db
        .execute(
            "UPDATE sys_update_set_source SET password = $1 WHERE sys_id = $2",
            &[
                DbValue::from("enc:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
                DbValue::from(SOURCE_ID),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        tollgate::secrets::retired_values(&app.db).await.unwrap(),
        [("sys_update_set_source.password".to_owned(), 1)]
    );
    let err = tollgate::domain::update_sets::retrieve::source(
        &app.db,
        SOURCE_ID,
        &RemotePolicy::from_settings(&loopback_settings()),
    )
    .await
    .err()
    .expect("not decrypted");
    assert!(
        err.message.contains("enc:v1") && err.message.contains("enter the value again"),
        "{}",
        err.message
    );
}
