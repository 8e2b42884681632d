//! The table registry against the real schema: every registered table is
//! readable, hierarchies answer on their parents, numbers are assigned.

use axum::http::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_registered_table_is_readable_through_the_table_api() {
    let app = TestApp::spawn().await;
    for table in tollgate::registry::TABLES {
        let res = app
            .get(&format!("/api/now/table/{}?sysparm_limit=1", table.name))
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}: {}", table.name, res.text);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_of_an_extending_table_answers_on_its_parent_but_not_on_a_sibling() {
    let app = TestApp::spawn().await;
    let res = app
        .post(
            "/api/now/table/cmdb_application_product_model",
            json!({"name": "Payments Service"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let id = res.body["result"]["sys_id"].as_str().unwrap().to_owned();
    assert_eq!(
        res.body["result"]["sys_class_name"],
        "cmdb_application_product_model"
    );

    let parent = app.get(&format!("/api/now/table/cmdb_model/{id}")).await;
    assert_eq!(parent.status, StatusCode::OK);
    assert_eq!(parent.body["result"]["name"], "Payments Service");
    let sibling = app
        .get(&format!("/api/now/table/cmdb_service_product_model/{id}"))
        .await;
    assert_eq!(sibling.status, StatusCode::NOT_FOUND);
    let listed = app.get("/api/now/table/cmdb_service_product_model").await;
    assert_eq!(listed.header("x-total-count"), Some("0"));

    // A version in another extending table references the product through
    // the parent table.
    let version = app
        .post(
            "/api/now/table/cmdb_software_product_model",
            json!({"name": "Payments Service 2.4.1", "product": id, "version": "2.4.1"}),
        )
        .await;
    assert_eq!(version.status, StatusCode::CREATED, "{}", version.text);
    let all = app
        .get("/api/now/table/cmdb_model?sysparm_query=ORDERBYname")
        .await;
    assert_eq!(all.header("x-total-count"), Some("2"));
    // The product is referenced, so it cannot be deleted.
    let res = app
        .request(
            "DELETE",
            &format!("/api/now/table/cmdb_application_product_model/{id}"),
            &Auth::admin(),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbered_tables_get_sequential_human_numbers_per_table() {
    let app = TestApp::spawn().await;
    let first = app
        .post(
            "/api/now/table/change_request",
            json!({"short_description": "Upgrade"}),
        )
        .await;
    let second = app
        .post(
            "/api/now/table/change_request",
            json!({"short_description": "Patch"}),
        )
        .await;
    let incident = app
        .post(
            "/api/now/table/incident",
            json!({"short_description": "Outage"}),
        )
        .await;
    assert_eq!(
        first.body["result"]["number"], "CHG0001001",
        "{}",
        first.text
    );
    assert_eq!(second.body["result"]["number"], "CHG0001002");
    assert_eq!(incident.body["result"]["number"], "INC0001001");
    let tasks = app.get("/api/now/table/task").await;
    assert_eq!(
        tasks.header("x-total-count"),
        Some("3"),
        "tasks answer on task"
    );
    let res = app
        .request(
            "PATCH",
            &format!(
                "/api/now/table/change_request/{}",
                first.body["result"]["sys_id"].as_str().unwrap()
            ),
            &Auth::admin(),
            Some(json!({"number": "CHG9"})),
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::BAD_REQUEST,
        "numbers are the server's"
    );
}
