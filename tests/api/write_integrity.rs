//! Writes the database's integrity rules refuse, and tables only the server
//! writes (issue 15: `POST /api/now/table/sn_cdm_node` with `{}` was a 500,
//! a NOT NULL constraint reaching the client as an internal error).
//!
//! Multi-thread runtimes, as in `table_api.rs`: a PostgreSQL test's drop
//! needs a second thread.

use axum::http::StatusCode;
use http_body_util::BodyExt;
use serde_json::{json, Value as Json};

use tollgate::error::{Error, ErrorKind};
use tollgate::http::envelope::{render, Family};
use tollgate::registry::{SERVER_WRITTEN, TABLES};
use tollgate::storage::{Backend, ConstraintKind, StorageError, Value};

use crate::helpers::{fresh_db, Auth, TestApp};

/// A well-formed sys_id that names no record.
const NO_SUCH_ID: &str = "0123456789abcdef0123456789abcdef";

/// The status and JSON body `error` renders to in `family`'s envelope.
async fn rendered(family: Family, error: &Error) -> (StatusCode, Json) {
    let response = render(family, error);
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

/// Asserts the answer carries no SQL or database wording.
fn assert_no_sql(text: &str) {
    for word in [
        "INSERT",
        "UPDATE ",
        "SELECT",
        "constraint failed",
        "violates",
    ] {
        assert!(!text.contains(word), "{word:?} reached the client: {text}");
    }
}

async fn count(app: &TestApp, table: &str) -> i64 {
    let res = app
        .get(&format!("/api/now/table/{table}?sysparm_limit=1"))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{table}: {}", res.text);
    res.header("x-total-count").unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_server_written_table_refuses_client_writes_in_the_table_api_envelope() {
    let app = TestApp::spawn_demo().await;
    // The tables of the issue stay on the list.
    for name in [
        "sn_cdm_node",
        "sn_cdm_deployable",
        "sn_cdm_snapshot",
        "sn_cdm_request_queue",
    ] {
        assert!(
            SERVER_WRITTEN.iter().any(|(t, _)| *t == name),
            "{name} must be server-written"
        );
    }
    let server_written: Vec<_> = TABLES.iter().filter(|t| t.server_written()).collect();
    let mut with_records = Vec::new();
    for table in server_written {
        let name = table.name;
        let before = count(&app, name).await;
        let writer = table.writer().unwrap();
        let assert_refused = |what: &str, res: &crate::helpers::TestResponse| {
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{what}: {}", res.text);
            assert_eq!(res.body["status"], "failure", "{what}: {}", res.text);
            let message = res.body["error"]["message"].as_str().unwrap_or_default();
            assert!(
                message.contains(name) && message.contains("read-only"),
                "{what}: {}",
                res.text
            );
            let detail = res.body["error"]["detail"].as_str().unwrap_or_default();
            assert!(detail.contains(writer), "{what}: {}", res.text);
        };
        // An admin's write is refused too: no role opens these tables.
        let res = app.post(&format!("/api/now/table/{name}"), json!({})).await;
        assert_refused(&format!("POST {name} {{}}"), &res);
        let listed = app
            .get(&format!("/api/now/table/{name}?sysparm_limit=1"))
            .await;
        let id = listed.body["result"][0]["sys_id"]
            .as_str()
            .map(str::to_owned);
        let id = match id {
            Some(id) => {
                with_records.push(name);
                id
            }
            None => NO_SUCH_ID.to_owned(),
        };
        let path = format!("/api/now/table/{name}/{id}");
        for method in ["PUT", "PATCH"] {
            let res = app
                .request(
                    method,
                    &path,
                    &Auth::admin(),
                    Some(json!({"description": "edited"})),
                )
                .await;
            assert_refused(&format!("{method} {path}"), &res);
        }
        let res = app.request("DELETE", &path, &Auth::admin(), None).await;
        assert_refused(&format!("DELETE {path}"), &res);
        assert_eq!(
            count(&app, name).await,
            before,
            "{name}: refused writes change nothing"
        );
    }
    // The demo data has records in the CDM tables, so updates and deletes
    // of existing records were refused, not just of missing ones.
    for name in ["sn_cdm_node", "sn_cdm_deployable", "sn_cdm_snapshot"] {
        assert!(with_records.contains(&name), "{name} has demo records");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_table_api_write_of_an_empty_or_unknown_record_is_a_server_error() {
    // The class of the 500s: every registered table, `{}` written
    // as admin, is answered by a rule (201, 400 naming a field, 403), never
    // by the database.
    let app = TestApp::spawn_demo().await;
    for table in TABLES {
        let name = table.name;
        let res = app.post(&format!("/api/now/table/{name}"), json!({})).await;
        assert!(
            [
                StatusCode::CREATED,
                StatusCode::BAD_REQUEST,
                StatusCode::FORBIDDEN
            ]
            .contains(&res.status),
            "POST {name} {{}}: {}",
            res.text
        );
        assert_no_sql(&res.text);
        if res.status == StatusCode::BAD_REQUEST {
            let message = res.body["error"]["message"].as_str().unwrap_or_default();
            assert!(
                table.all_columns().iter().any(|c| message.contains(c.name)),
                "POST {name} {{}}: the message names no field: {}",
                res.text
            );
        }
        for method in ["PUT", "PATCH", "DELETE"] {
            let body = (method != "DELETE").then(|| json!({}));
            let res = app
                .request(
                    method,
                    &format!("/api/now/table/{name}/{NO_SUCH_ID}"),
                    &Auth::admin(),
                    body,
                )
                .await;
            assert!(
                [StatusCode::NOT_FOUND, StatusCode::FORBIDDEN].contains(&res.status),
                "{method} {name}/{NO_SUCH_ID}: {}",
                res.text
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_not_null_violation_is_a_400_naming_the_column_on_both_databases() {
    let (db, _cleanup) = fresh_db().await;
    let now = "2025-01-01 00:00:00";
    let err = db
        .execute(
            "INSERT INTO sys_properties (sys_id, sys_created_on, sys_created_by, sys_updated_on, \
             sys_updated_by, sys_mod_count) VALUES ($1, $2, 'test', $2, 'test', 0)",
            &[Value::from(NO_SUCH_ID), Value::from(now)],
        )
        .await
        .expect_err("name is NOT NULL");
    match &err {
        StorageError::Constraint { kind, column, .. } => {
            assert_eq!(*kind, ConstraintKind::NotNull, "{err}");
            assert_eq!(column.as_deref(), Some("name"), "{err}");
        }
        other => panic!("not a typed constraint error: {other}"),
    }
    let error = Error::from(err);
    assert_eq!(error.kind, ErrorKind::Missing);
    assert_eq!(error.field.as_deref(), Some("name"));
    for family in [Family::ServiceNow, Family::ConfigurationData] {
        let (status, body) = rendered(family, &error).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.to_string().contains("name is required"), "{body}");
        assert_no_sql(&body.to_string());
    }
    let (status, body) = rendered(Family::ServiceDesk, &error).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["response_status"]["messages"][0]["field"], "name");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_key_and_check_violations_are_400s_without_sql_on_both_databases() {
    // Tollgate's own tables check references in the domain first; these
    // scratch tables reach the database's own rules, which are the net.
    let (db, _cleanup) = fresh_db().await;
    db.execute_script(
        "CREATE TABLE integrity_parent (id TEXT PRIMARY KEY);
         CREATE TABLE integrity_child (
             id TEXT PRIMARY KEY,
             parent TEXT REFERENCES integrity_parent (id),
             amount BIGINT CONSTRAINT positive_amount CHECK (amount > 0)
         );",
    )
    .await
    .unwrap();

    let err = db
        .execute(
            "INSERT INTO integrity_child (id, parent, amount) VALUES ('c1', 'missing', 1)",
            &[],
        )
        .await
        .expect_err("no such parent");
    let StorageError::Constraint { kind, column, .. } = &err else {
        panic!("not a typed constraint error: {err}");
    };
    assert_eq!(*kind, ConstraintKind::ForeignKey, "{err}");
    // PostgreSQL names the column; SQLite's message names nothing.
    if db.backend() == Backend::Postgres {
        assert_eq!(column.as_deref(), Some("parent"), "{err}");
    }
    let error = Error::from(err);
    assert_eq!(error.kind, ErrorKind::Invalid);
    if db.backend() == Backend::Postgres {
        assert_eq!(error.field.as_deref(), Some("parent"));
    }
    let (status, body) = rendered(Family::ServiceNow, &error).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.to_string().contains("does not exist"), "{body}");
    assert!(
        !body.to_string().contains("missing"),
        "the value stays out: {body}"
    );
    assert_no_sql(&body.to_string());

    let err = db
        .execute(
            "INSERT INTO integrity_child (id, parent, amount) VALUES ('c2', NULL, -5)",
            &[],
        )
        .await
        .expect_err("amount must be positive");
    let StorageError::Constraint {
        kind, constraint, ..
    } = &err
    else {
        panic!("not a typed constraint error: {err}");
    };
    assert_eq!(*kind, ConstraintKind::Check, "{err}");
    assert_eq!(constraint.as_deref(), Some("positive_amount"), "{err}");
    let error = Error::from(err);
    assert_eq!(error.kind, ErrorKind::Invalid);
    assert_eq!(error.field.as_deref(), Some("positive_amount"));
    let (status, body) = rendered(Family::ServiceNow, &error).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_no_sql(&body.to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_character_in_a_text_field_is_a_400_naming_it_on_both_databases() {
    // PostgreSQL cannot store a NUL in text: it was a 500 there.
    let app = TestApp::spawn().await;
    let res = app
        .post(
            "/api/now/table/cmn_schedule",
            json!({"name": "Freeze\u{0}window"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    let message = res.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("name") && message.contains("NUL"),
        "{}",
        res.text
    );
    assert_eq!(count(&app, "cmn_schedule").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_character_anywhere_in_a_request_is_never_a_server_error() {
    // On PostgreSQL a NUL reaching a statement (a query's value, a name
    // looked up) was a 500 in every family; SQLite takes it. Either way the
    // answer is the family's refusal or an empty result, never a 5xx.
    let app = TestApp::spawn_demo().await;
    let search = "%7B%22list_info%22%3A%7B%22search_criteria%22%3A%7B%22field%22%3A%22title%22%2C\
                  %22condition%22%3A%22is%22%2C%22value%22%3A%22a%5Cu0000b%22%7D%7D%7D";
    for path in [
        "/api/now/table/cmn_schedule?sysparm_query=name%3Da%00b".to_owned(),
        "/api/sn_cdm/editor/nodes?parentFullNamePath=%2Fa%00b&name=x".to_owned(),
        "/api/sn_cicd/progress/a%00b".to_owned(),
        format!("/api/v3/releases?input_data={search}"),
    ] {
        let res = app.get(&path).await;
        assert!(
            !res.status.is_server_error(),
            "GET {path}: {} {}",
            res.status,
            res.text
        );
        assert_no_sql(&res.text);
        // PostgreSQL's refusal is answered as the family's 400.
        if app.db.backend() == Backend::Postgres {
            assert_eq!(
                res.status,
                StatusCode::BAD_REQUEST,
                "GET {path}: {}",
                res.text
            );
            assert!(res.text.contains("NUL"), "GET {path}: {}", res.text);
        }
    }
    let res = app
        .post(
            "/api/sn_cdm/changesets/create?appName=a%00b",
            json!({"changesetTitle": "a\u{0}b"}),
        )
        .await;
    assert!(!res.status.is_server_error(), "{}", res.text);
    assert_no_sql(&res.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emptying_any_field_a_client_writes_is_never_a_server_error() {
    // Found by fuzzing: `PUT sys_user/{id}` with `"locked_out": null` hit
    // the column's NOT NULL. An emptied field is refused naming it
    // (mandatory) or takes its default; never a database failure.
    let app = TestApp::spawn_demo().await;
    let mut tried = 0;
    for table in TABLES.iter().filter(|t| !t.server_written()) {
        let name = table.name;
        // Not the admin's own user: emptying its fields would not fail, but
        // later requests of this test authenticate as it.
        let filter = if name == "sys_user" {
            "&sysparm_query=user_name!%3Dadmin"
        } else {
            ""
        };
        let listed = app
            .get(&format!("/api/now/table/{name}?sysparm_limit=1{filter}"))
            .await;
        let Some(id) = listed.body["result"][0]["sys_id"].as_str() else {
            continue;
        };
        for column in table.all_columns() {
            if column.read_only || column.ty.is_secret() {
                continue;
            }
            for empty in [Json::Null, json!("")] {
                let res = app
                    .request(
                        "PATCH",
                        &format!("/api/now/table/{name}/{id}"),
                        &Auth::admin(),
                        Some(json!({ column.name: empty })),
                    )
                    .await;
                tried += 1;
                assert!(
                    !res.status.is_server_error(),
                    "PATCH {name}.{} = {empty}: {}",
                    column.name,
                    res.text
                );
                if res.status == StatusCode::BAD_REQUEST {
                    assert!(
                        res.text.contains(column.name),
                        "PATCH {name}.{} = {empty}: the refusal names another field: {}",
                        column.name,
                        res.text
                    );
                }
                if res.status == StatusCode::OK {
                    if let Some(default) = column.default {
                        assert_eq!(
                            res.body["result"][column.name], default,
                            "PATCH {name}.{} = {empty}: an emptied field takes its default",
                            column.name
                        );
                    }
                }
            }
        }
    }
    assert!(tried > 100, "only {tried} fields tried");
    // The case the fuzzer found, as it found it.
    let user = app
        .get("/api/now/table/sys_user?sysparm_query=user_name!%3Dadmin&sysparm_limit=1")
        .await;
    let id = user.body["result"][0]["sys_id"].as_str().unwrap();
    let res = app
        .request(
            "PUT",
            &format!("/api/now/table/sys_user/{id}"),
            &Auth::admin(),
            Some(json!({"locked_out": null})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.body["result"]["locked_out"], "false");
}
