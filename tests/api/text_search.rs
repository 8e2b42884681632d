//! Text search through the trigram indexes (migration 16): contains / starts
//! with / ends with find exactly what a scan finds, the indexes follow
//! inserts, renames and deletes, and the queries can use them.

use axum::http::StatusCode;
use serde_json::json;
use tollgate::domain::encoded_query::EncodedQuery;
use tollgate::registry;
use tollgate::storage::{Backend, Value as SqlValue};

use crate::helpers::*;

fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The `name`s of the users a Table API query finds, sorted, and the total
/// the server counted.
async fn user_names(app: &TestApp, query: &str) -> (Vec<String>, i64) {
    let res = app
        .get(&format!(
            "/api/now/table/sys_user?sysparm_fields=name&sysparm_query={}",
            encode(query)
        ))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{query}: {}", res.text);
    let mut names: Vec<String> = res.body["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    names.sort();
    let total = res.header("x-total-count").unwrap().parse().unwrap();
    (names, total)
}

async fn create_user(app: &TestApp, user_name: &str, name: &str) -> String {
    let res = app
        .post(
            "/api/now/table/sys_user",
            json!({"user_name": user_name, "name": name}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    res.body["result"]["sys_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn table_api_searches_follow_inserts_renames_and_deletes() {
    let app = TestApp::spawn().await;
    let rita = create_user(&app, "rita", "Rita Release").await;
    create_user(&app, "ron", "Ronald Rollout").await;
    create_user(&app, "deal", "50% \"off\" deal_maker").await;

    let found = |names: &[&str]| {
        (
            names.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            names.len() as i64,
        )
    };
    assert_eq!(
        user_names(&app, "nameLIKErelease").await,
        found(&["Rita Release"])
    );
    assert_eq!(
        user_names(&app, "nameLIKEROLLOUT").await,
        found(&["Ronald Rollout"]),
        "searches ignore case"
    );
    assert_eq!(
        user_names(&app, "nameSTARTSWITHron").await,
        found(&["Ronald Rollout"])
    );
    assert_eq!(
        user_names(&app, "nameENDSWITHllout").await,
        found(&["Ronald Rollout"])
    );
    assert_eq!(
        user_names(&app, "nameSTARTSWITHllout").await,
        found(&[]),
        "the index narrows, the pattern decides"
    );
    assert_eq!(
        user_names(&app, "nameLIKEta").await,
        found(&["Rita Release"]),
        "two characters are shorter than a trigram: answered by a scan"
    );
    assert_eq!(
        user_names(&app, "nameLIKE% \"off\" deal_").await,
        found(&["50% \"off\" deal_maker"]),
        "quotes, % and _ are searched for as themselves"
    );
    assert_eq!(user_names(&app, "nameLIKE0%_").await, found(&[]));
    create_user(&app, "zoe", "Zoë Ångström").await;
    if app.db.backend() == Backend::Sqlite {
        // The index's phrase match folds case beyond ASCII (SQLite's LIKE
        // alone does not); PostgreSQL's LOWER follows the database's locale.
        assert_eq!(
            user_names(&app, "nameLIKEÅNGSTRÖM").await,
            found(&["Zoë Ångström"])
        );
    }
    assert_eq!(
        user_names(&app, "nameLIKEångström").await,
        found(&["Zoë Ångström"])
    );

    let res = app
        .request(
            "PATCH",
            &format!("/api/now/table/sys_user/{rita}"),
            &Auth::admin(),
            Some(json!({"name": "Rita Rollback"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(user_names(&app, "nameLIKErelease").await, found(&[]));
    assert_eq!(
        user_names(&app, "nameLIKErollback").await,
        found(&["Rita Rollback"])
    );
    assert_eq!(
        user_names(&app, "nameLIKEroll").await,
        found(&["Rita Rollback", "Ronald Rollout"])
    );

    let res = app
        .request(
            "DELETE",
            &format!("/api/now/table/sys_user/{rita}"),
            &Auth::admin(),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text);
    assert_eq!(
        user_names(&app, "nameLIKEroll").await,
        found(&["Ronald Rollout"])
    );
    // A new record after a delete gets its own index entry, not the
    // deleted one's.
    create_user(&app, "rita2", "Rita Rerun").await;
    assert_eq!(
        user_names(&app, "nameLIKErita").await,
        found(&["Rita Rerun"])
    );
}

/// The titles of the v3 releases whose title contains `needle`, sorted.
async fn v3_titles(app: &TestApp, auth: &Auth, condition: &str, needle: &str) -> Vec<String> {
    let input = json!({"list_info": {"row_count": 100, "get_total_count": true,
        "search_criteria": {"field": "title", "condition": condition, "value": needle}}});
    let path = format!("/api/v3/releases?input_data={}", encode(&input.to_string()));
    let res = app.request("GET", &path, auth, None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let mut titles: Vec<String> = res.body["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap().to_owned())
        .collect();
    titles.sort();
    assert_eq!(
        res.body["list_info"]["total_count"],
        json!(titles.len()),
        "{}",
        res.text
    );
    titles
}

/// Runs `sql` in a transaction of its own, so its commit moves the data
/// epoch as every domain write does (answers cached before are not served).
async fn write(app: &TestApp, sql: &str, args: &[SqlValue]) {
    let mut tx = app.db.begin().await.unwrap();
    tx.execute(sql, args).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn v3_title_searches_follow_edits() {
    let app = TestApp::spawn_demo().await;
    app.user("tech", &["sdp.technician"]).await;
    let key = tollgate::identity::users::create_api_key(&app.db, "tech", "sdp")
        .await
        .unwrap();
    let auth = Auth::Header("authtoken", key);
    for (id, title) in [
        (3, "MSSQL upgrade"),
        (4, "Mssql patch"),
        (10, "Exchange rollout"),
    ] {
        write(
            &app,
            "UPDATE sdp_release SET title = $1 WHERE id = $2",
            &[SqlValue::from(title), SqlValue::Int(id)],
        )
        .await;
    }
    assert_eq!(
        v3_titles(&app, &auth, "contains", "mssql").await,
        ["MSSQL upgrade", "Mssql patch"]
    );
    assert_eq!(
        v3_titles(&app, &auth, "starts with", "mss").await,
        ["MSSQL upgrade", "Mssql patch"]
    );
    assert_eq!(
        v3_titles(&app, &auth, "ends with", "SQL PATCH").await,
        ["Mssql patch"]
    );
    assert_eq!(
        v3_titles(&app, &auth, "ends with", "mssql").await,
        Vec::<String>::new()
    );
    write(
        &app,
        "UPDATE sdp_release SET title = 'Oracle patch' WHERE id = 4",
        &[],
    )
    .await;
    assert_eq!(
        v3_titles(&app, &auth, "contains", "mssql").await,
        ["MSSQL upgrade"]
    );
    assert_eq!(
        v3_titles(&app, &auth, "contains", "acle pa").await,
        ["Oracle patch"]
    );
    write(&app, "DELETE FROM sdp_release WHERE id = 3", &[]).await;
    assert_eq!(
        v3_titles(&app, &auth, "contains", "mssql").await,
        Vec::<String>::new()
    );
}

/// Every column the registry marks `text_indexed` has its index: on SQLite
/// an FTS5 trigram table of its own (and, for a table keyed by sys_id, the
/// table's key table); on PostgreSQL a pg_trgm index on `LOWER(column)`.
#[tokio::test]
async fn every_text_indexed_column_has_its_index() {
    let app = TestApp::spawn().await;
    let mut checked = 0;
    for table in registry::TABLES.iter().filter(|t| t.extends.is_none()) {
        for column in table.columns.iter().filter(|c| c.text_indexed) {
            checked += 1;
            let storage = table.storage();
            match app.db.backend() {
                Backend::Sqlite => {
                    let sql = app
                        .db
                        .fetch_optional(
                            "SELECT sql FROM sqlite_master WHERE name = $1",
                            &[SqlValue::Text(format!("{storage}__text_{}", column.name))],
                        )
                        .await
                        .unwrap()
                        .map(|r| r.string("sql"))
                        .unwrap_or_default();
                    assert!(
                        sql.contains("trigram") && sql.contains(column.name),
                        "{storage}.{} has no FTS5 trigram column: {sql:?}",
                        column.name
                    );
                    let key = app
                        .db
                        .fetch_optional(
                            "SELECT name FROM sqlite_master WHERE name = $1",
                            &[SqlValue::Text(format!("{storage}__text_key"))],
                        )
                        .await
                        .unwrap();
                    assert!(key.is_some(), "{storage} has no key table");
                }
                Backend::Postgres => {
                    let def = app
                        .db
                        .fetch_optional(
                            "SELECT indexdef FROM pg_indexes WHERE indexname = $1",
                            &[SqlValue::Text(format!("{storage}_{}_trgm", column.name))],
                        )
                        .await
                        .unwrap()
                        .map(|r| r.string("indexdef"))
                        .unwrap_or_default();
                    assert!(
                        def.contains("gin_trgm_ops")
                            && def.contains(&format!("lower({})", column.name)),
                        "{storage}.{} has no trigram index: {def:?}",
                        column.name
                    );
                }
            }
        }
    }
    assert!(checked >= 8, "only {checked} indexed columns found");
}

/// The planner can use the index for a Table API search: SQLite reads the
/// FTS5 table; PostgreSQL, told not to scan, uses the trigram index (so the
/// query's `LOWER(column) LIKE` is the indexed expression).
#[tokio::test]
async fn a_table_api_search_can_use_the_index() {
    let app = TestApp::spawn().await;
    let table = registry::table("sys_user").unwrap();
    let query = EncodedQuery::parse(table, "nameLIKErelease", 100).unwrap();
    let mut args = Vec::new();
    let where_sql = query.where_sql(app.db.backend(), 1, &mut args);
    let plan: Vec<String> = match app.db.backend() {
        Backend::Sqlite => app
            .db
            .fetch_all(
                &format!(
                    "EXPLAIN QUERY PLAN SELECT sys_id FROM {} WHERE {where_sql}",
                    query.from_sql()
                ),
                &args,
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.string("detail"))
            .collect(),
        Backend::Postgres => {
            let mut tx = app.db.begin().await.unwrap();
            tx.execute("SET LOCAL enable_seqscan = off", &[])
                .await
                .unwrap();
            let rows = tx
                .fetch_all(
                    &format!(
                        "EXPLAIN SELECT sys_id FROM {} WHERE {where_sql}",
                        query.from_sql()
                    ),
                    &args,
                )
                .await
                .unwrap();
            let plan = rows.iter().map(|r| r.string("QUERY PLAN")).collect();
            tx.rollback().await.unwrap();
            plan
        }
    };
    let plan = plan.join("\n");
    let uses_index = match app.db.backend() {
        Backend::Sqlite => plan.contains("sys_user__text_name VIRTUAL TABLE INDEX"),
        Backend::Postgres => plan.contains("sys_user_name_trgm"),
    };
    assert!(uses_index, "{where_sql}\n{plan}");
}
