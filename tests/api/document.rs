//! The OpenAPI document against its committed snapshot,
//! `tests/snapshots/openapi.json`, so that every change to the API (a path,
//! a parameter, a role, a schema) shows in review as a change to that file.
//! After an intended change: `UPDATE_SNAPSHOTS=1 cargo test --test api
//! openapi_document` rewrites it.

use std::path::PathBuf;

use axum::http::StatusCode;
use serde_json::Value;

use crate::helpers::{Auth, TestApp};

fn snapshot_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/openapi.json")
}

/// `at.key`, or `at["key"]` for keys such as paths.
fn child(at: &str, key: &str) -> String {
    if key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        if at.is_empty() {
            key.to_owned()
        } else {
            format!("{at}.{key}")
        }
    } else {
        format!("{at}[{key:?}]")
    }
}

/// Where `expected` and `actual` differ, one line per place.
fn differences(at: &str, expected: &Value, actual: &Value, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (key, ev) in e {
                let here = child(at, key);
                match a.get(key) {
                    Some(av) => differences(&here, ev, av, out),
                    None => out.push(format!("removed {here}: {ev}")),
                }
            }
            for (key, av) in a {
                if !e.contains_key(key) {
                    out.push(format!("added {}: {av}", child(at, key)));
                }
            }
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                differences(&format!("{at}[{i}]"), ev, av, out);
            }
        }
        _ if expected != actual => out.push(format!("changed {at}: {expected} -> {actual}")),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_matches_its_snapshot() {
    let app = TestApp::spawn().await;
    let res = app
        .request("GET", "/openapi.json", &Auth::admin(), None)
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let mut actual = res.body;
    // The crate's version is not an API change.
    actual["info"]["version"] = Value::from("(version)");
    let path = snapshot_path();
    if std::env::var("UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1") {
        let text = serde_json::to_string_pretty(&actual).expect("serialise") + "\n";
        std::fs::write(&path, text).expect("write the snapshot");
        return;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{} unreadable ({e}); create it with UPDATE_SNAPSHOTS=1",
            path.display()
        )
    });
    let expected: Value = serde_json::from_str(&text).expect("the snapshot is JSON");
    let mut found = Vec::new();
    differences("", &expected, &actual, &mut found);
    let shown = found.len().min(40);
    assert!(
        found.is_empty(),
        "/openapi.json differs from tests/snapshots/openapi.json in {} place(s):\n  {}{}\n\
         If the change is intended, run `UPDATE_SNAPSHOTS=1 cargo test --test api \
         openapi_document` and commit the file.",
        found.len(),
        found[..shown].join("\n  "),
        if found.len() > shown { "\n  ..." } else { "" },
    );
}

#[test]
fn differences_name_the_place_and_both_values() {
    let expected = serde_json::json!({"paths": {"/a": {"get": {"summary": "old"}}, "/b": {}}});
    let actual = serde_json::json!({"paths": {"/a": {"get": {"summary": "new"}}, "/c": {}}});
    let mut found = Vec::new();
    differences("", &expected, &actual, &mut found);
    assert_eq!(
        found,
        [
            r#"changed paths["/a"].get.summary: "old" -> "new""#,
            r#"removed paths["/b"]: {}"#,
            r#"added paths["/c"]: {}"#,
        ]
    );
}

/// `/metrics` and `/openapi.json` need credentials unless `public_metrics` /
/// `public_openapi` open them; the document says what the server does, under
/// the server's own settings, and the server does what it says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_follows_public_metrics_and_public_openapi() {
    async fn check(public_metrics: bool, public_openapi: bool) {
        let mut settings = crate::helpers::test_settings();
        settings.public_metrics = public_metrics;
        settings.public_openapi = public_openapi;
        let app = TestApp::spawn_with_settings(settings).await;
        let doc = app
            .request("GET", "/openapi.json", &Auth::admin(), None)
            .await;
        assert_eq!(doc.status, StatusCode::OK, "{}", doc.text);
        for (path, open, setting) in [
            ("/metrics", public_metrics, "public_metrics"),
            ("/openapi.json", public_openapi, "public_openapi"),
        ] {
            let what = format!("{path} with {setting}={open}");
            let op = &doc.body["paths"][path]["get"];
            let anonymous = app.request("GET", path, &Auth::None, None).await;
            if open {
                assert!(op.get("security").is_none(), "{what}: {op}");
                assert!(op.get("description").is_none(), "{what}: {op}");
                assert_eq!(
                    anonymous.status,
                    StatusCode::OK,
                    "{what}: {}",
                    anonymous.text
                );
            } else {
                assert_eq!(
                    op["security"],
                    serde_json::json!([{"basic": []}, {"bearer": []}]),
                    "{what}: {op}"
                );
                let description = op["description"].as_str().unwrap_or_default();
                assert!(
                    description.contains("any authenticated caller")
                        && description.contains(setting),
                    "{what}: {description}"
                );
                assert_eq!(
                    anonymous.status,
                    StatusCode::UNAUTHORIZED,
                    "{what}: {}",
                    anonymous.text
                );
            }
        }
    }
    check(false, false).await;
    check(true, true).await;
    check(true, false).await;
    check(false, true).await;
}
