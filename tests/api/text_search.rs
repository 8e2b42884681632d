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
    write_to(&app.db, sql, args).await;
}

async fn write_to(db: &tollgate::storage::Db, sql: &str, args: &[SqlValue]) {
    let mut tx = db.begin().await.unwrap();
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

/// The statement that created the SQLite object `name` ("" when there is none).
async fn sqlite_schema(app: &TestApp, name: &str) -> String {
    app.db
        .fetch_optional(
            "SELECT sql FROM sqlite_master WHERE name = $1",
            &[SqlValue::Text(name.to_owned())],
        )
        .await
        .unwrap()
        .map(|r| r.string("sql"))
        .unwrap_or_default()
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
                    let sql =
                        sqlite_schema(&app, &format!("{storage}__text_{}", column.name)).await;
                    assert!(
                        sql.contains("trigram") && sql.contains(column.name),
                        "{storage}.{} has no FTS5 trigram column: {sql:?}",
                        column.name
                    );
                    let words =
                        sqlite_schema(&app, &format!("{storage}__words_{}", column.name)).await;
                    assert!(
                        words.contains("detail=none") && words.contains("prefix='4 5'"),
                        "{storage}.{} has no word-piece index: {words:?}",
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
                    // Migration 22: no pending list for searches to read.
                    assert!(
                        def.contains("fastupdate") && def.contains("off"),
                        "{storage}.{} keeps a pending list: {def:?}",
                        column.name
                    );
                    // Migration 25: the pieces counted, kept by the triggers.
                    let counts = format!("{storage}__pieces_{}", column.name);
                    let exists = app
                        .db
                        .fetch_optional(
                            "SELECT to_regclass($1)::text AS t",
                            &[SqlValue::Text(counts.clone())],
                        )
                        .await
                        .unwrap()
                        .map(|r| r.string("t"))
                        .unwrap_or_default();
                    assert_eq!(exists, counts, "{storage}.{} is not counted", column.name);
                    let function = app
                        .db
                        .fetch_optional(
                            "SELECT pg_get_functiondef(to_regproc($1)) AS def",
                            &[SqlValue::Text(format!("{storage}__piece_deltas"))],
                        )
                        .await
                        .unwrap()
                        .map(|r| r.string("def"))
                        .unwrap_or_default();
                    assert!(
                        function.contains(&format!("'{counts}'")),
                        "{storage}.{}: its trigger function does not count it: {function:?}",
                        column.name
                    );
                    for event in ["insert", "update", "delete"] {
                        let trigger = app
                            .db
                            .fetch_optional(
                                "SELECT pg_get_triggerdef(t.oid) AS def FROM pg_trigger t \
                                 WHERE t.tgname = $1 AND t.tgrelid = to_regclass($2)",
                                &[
                                    SqlValue::Text(format!("{storage}__pieces_{event}")),
                                    SqlValue::Text(storage.to_owned()),
                                ],
                            )
                            .await
                            .unwrap()
                            .map(|r| r.string("def"))
                            .unwrap_or_default();
                        assert!(
                            trigger.contains(&format!("{storage}__piece_deltas()")),
                            "{storage}: no {event} trigger counts pieces: {trigger:?}",
                        );
                    }
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
    // Four to six letters: the word-piece index; anything else: trigrams.
    for (encoded, sqlite_index) in [
        ("nameLIKErelea", "sys_user__words_name"),
        ("nameLIKEreleas", "sys_user__words_name"),
        ("nameLIKErelease", "sys_user__text_name"),
        ("nameLIKErelease 2", "sys_user__text_name"),
    ] {
        search_uses_index(&app, table, encoded, sqlite_index).await;
    }
}

async fn search_uses_index(
    app: &TestApp,
    table: &'static registry::Table,
    encoded: &str,
    sqlite_index: &str,
) {
    let query = EncodedQuery::parse(table, encoded, 100).unwrap();
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
        Backend::Sqlite => plan.contains(&format!("{sqlite_index} VIRTUAL TABLE INDEX")),
        Backend::Postgres => plan.contains("sys_user_name_trgm"),
    };
    assert!(uses_index, "{where_sql}\n{plan}");
}

/// Both SQLite indexes (word pieces for four to six ASCII letters,
/// trigrams for the rest) count what a scan of the rows finds, through
/// inserts, renames and deletes: a contentless word-piece table forgets a
/// row only when its triggers give back the pieces it was given.
#[tokio::test]
async fn index_totals_are_what_a_scan_counts_through_edits() {
    let app = TestApp::spawn().await;
    let words = [
        "Kalomi",
        "Venor",
        "Quilin",
        "Dexpho",
        "Torsa",
        "Belcor",
        "Kalo-Mira",
        "VENORA",
    ];
    let mut ids = Vec::new();
    for i in 0..24 {
        let name = format!("{} {} {i}", words[i % 8], words[(i * 5 + 3) % 8]);
        ids.push(create_user(&app, &format!("piece{i}"), &name).await);
    }
    if app.db.backend() == Backend::Postgres {
        // The statistics tell the table's size, which chooses how a page
        // is read.
        app.db.execute("ANALYZE sys_user", &[]).await.unwrap();
    }
    for (i, id) in ids.iter().enumerate() {
        let path = format!("/api/now/table/sys_user/{id}");
        let res = match i % 6 {
            0 | 3 => {
                let name = format!("{} renamed", words[(i + 1) % 8]);
                app.request(
                    "PATCH",
                    &path,
                    &Auth::admin(),
                    Some(json!({ "name": name })),
                )
                .await
            }
            1 => app.request("DELETE", &path, &Auth::admin(), None).await,
            4 => {
                app.request("PATCH", &path, &Auth::admin(), Some(json!({ "name": "" })))
                    .await
            }
            _ => continue,
        };
        assert!(res.status.is_success(), "{}", res.text);
    }
    let needles = [
        "kalo", "alomi", "venor", "enora", "quilin", "orsa", "lcor", "mira", "kalomi", "ALOM",
        "renamed", "named", "nope", "o-mi", "i 1", "kal", "venorab", "dexpho 1", "belcor", "lomi",
        "alomiv",
    ];
    for needle in needles {
        assert_total_is_a_scans(&app, needle).await;
    }
    // PostgreSQL counts pieces through deltas that a fold moves into the
    // counts (migration 25): right before and after, through statements
    // that change many rows at once, and through a write rolled back.
    let folded = tollgate::storage::word_pieces::fold_counts(&app.db)
        .await
        .unwrap();
    assert_eq!(
        folded > 0,
        app.db.backend() == Backend::Postgres,
        "{folded}"
    );
    for needle in needles {
        assert_total_is_a_scans(&app, needle).await;
    }
    write(
        &app,
        "UPDATE sys_user SET name = name || ' Quilina' WHERE user_name LIKE 'piece1%'",
        &[],
    )
    .await;
    write(
        &app,
        "DELETE FROM sys_user WHERE user_name IN ('piece2', 'piece5', 'piece20')",
        &[],
    )
    .await;
    let mut tx = app.db.begin().await.unwrap();
    tx.execute("UPDATE sys_user SET name = 'Kalomi Kalomi'", &[])
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    for needle in needles.iter().chain(&["quilina", "uilina"]) {
        assert_total_is_a_scans(&app, needle).await;
    }
    tollgate::storage::word_pieces::fold_counts(&app.db)
        .await
        .unwrap();
    assert_total_is_a_scans(&app, "quilina").await;
    assert_total_is_a_scans(&app, "kalo").await;
}

/// A Table API `nameLIKE` search of `needle` finds the users a scan of the
/// names finds, and counts them: all of them on one page, and on a page of
/// two (on PostgreSQL the first read gathers the matches, the second walks
/// the key's index once the statistics show the table is larger).
async fn assert_total_is_a_scans(app: &TestApp, needle: &str) {
    let (names, total) = user_names(app, &format!("nameLIKE{needle}")).await;
    let mut scanned: Vec<String> = app
        .db
        .fetch_all(
            "SELECT name FROM sys_user WHERE LOWER(name) LIKE $1",
            &[SqlValue::Text(format!("%{}%", needle.to_lowercase()))],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.string("name"))
        .collect();
    scanned.sort();
    assert_eq!(total, scanned.len() as i64, "{needle:?}");
    assert_eq!(names, scanned, "{needle:?}");
    let res = app
        .get(&format!(
            "/api/now/table/sys_user?sysparm_fields=name&sysparm_limit=2&sysparm_query={}",
            encode(&format!("nameLIKE{needle}"))
        ))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{needle:?}: {}", res.text);
    let page = res.body["result"].as_array().unwrap();
    assert_eq!(page.len(), scanned.len().min(2), "{needle:?}");
    for r in page {
        let name = r["name"].as_str().unwrap().to_owned();
        assert!(scanned.contains(&name), "{needle:?}: {name:?}");
    }
    assert_eq!(
        res.header("x-total-count"),
        Some(total.to_string().as_str())
    );
}

/// Migration 23's pieces: cut to seven letters, with prefix indexes of four
/// to six (a copy of what `word_pieces::pieces` gave then).
fn pieces_of_migration_23(text: &str) -> String {
    let mut pieces = Vec::new();
    for word in text
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| w.len() >= 4)
    {
        for start in 0..=word.len() - 4 {
            pieces.push(word[start..(start + 7).min(word.len())].to_ascii_lowercase());
        }
    }
    pieces.join(" ")
}

/// A database whose word-piece index was written by migration 23 (pieces of
/// seven letters) is indexed again by migration 24: its totals are a scan's,
/// and stay so through renames and deletes, which a contentless table gets
/// right only if it holds the pieces the function gives now.
#[tokio::test]
async fn migration_24_indexes_the_rows_again_with_shorter_pieces() {
    let app = TestApp::spawn().await;
    if app.db.backend() != Backend::Sqlite {
        return;
    }
    let mut ids = Vec::new();
    for (i, name) in [
        "Kalomivenor Sa",
        "Venorquilin Kalo",
        "Dexphotor 3",
        "Belcorsa",
    ]
    .iter()
    .enumerate()
    {
        ids.push(create_user(&app, &format!("upgrade{i}"), name).await);
    }
    // The name index as migration 23 left it.
    write(&app, "DROP TABLE sys_user__words_name", &[]).await;
    write(
        &app,
        "CREATE VIRTUAL TABLE sys_user__words_name USING fts5(pieces, tokenize='ascii', \
         detail=none, content='', prefix='4 5 6')",
        &[],
    )
    .await;
    let rows = app
        .db
        .fetch_all(
            "SELECT k.n, t.name FROM sys_user t JOIN sys_user__text_key k ON k.sys_id = t.sys_id \
             WHERE t.name <> ''",
            &[],
        )
        .await
        .unwrap();
    for row in rows {
        let pieces = pieces_of_migration_23(&row.text("name").unwrap());
        write(
            &app,
            "INSERT INTO sys_user__words_name (rowid, pieces) VALUES ($1, $2)",
            &[SqlValue::Int(row.int("n").unwrap()), SqlValue::Text(pieces)],
        )
        .await;
    }
    write(
        &app,
        "DELETE FROM tollgate_schema_migrations WHERE version = 24",
        &[],
    )
    .await;
    assert_eq!(
        tollgate::storage::migrations::run(&app.db).await.unwrap(),
        1
    );
    assert!(sqlite_schema(&app, "sys_user__words_name")
        .await
        .contains("prefix='4 5'"));
    // Edits after the upgrade: a rename and a delete take out what the
    // migration put in.
    let res = app
        .request(
            "PATCH",
            &format!("/api/now/table/sys_user/{}", ids[0]),
            &Auth::admin(),
            Some(json!({"name": "Torsa renamed"})),
        )
        .await;
    assert!(res.status.is_success(), "{}", res.text);
    let res = app
        .request(
            "DELETE",
            &format!("/api/now/table/sys_user/{}", ids[1]),
            &Auth::admin(),
            None,
        )
        .await;
    assert!(res.status.is_success(), "{}", res.text);
    for needle in [
        "kalo", "kalomi", "alomiv", "venor", "venorq", "quilin", "dexpho", "torsa", "belcor",
        "rcorsa", "renamed",
    ] {
        assert_total_is_a_scans(&app, needle).await;
    }
}

/// The ids of a v3 title search's page, in the order listed, and the total.
async fn v3_page(
    app: &TestApp,
    auth: &Auth,
    needle: &str,
    order: &str,
    start_index: usize,
) -> (Vec<String>, i64) {
    let input = json!({"list_info": {"row_count": 2, "start_index": start_index,
        "get_total_count": true, "sort_field": "id", "sort_order": order,
        "search_criteria": {"field": "title", "condition": "contains", "value": needle}}});
    let path = format!("/api/v3/releases?input_data={}", encode(&input.to_string()));
    let res = app.request("GET", &path, auth, None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let ids = res.body["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    let total = res.body["list_info"]["total_count"].as_i64().unwrap();
    (ids, total)
}

/// A lone contains search is counted and paged from the index alone (see
/// `IndexedSearch` and `EncodedQuery::index_order`): what it lists, in what
/// order, and the totals are what a scan of the rows finds, with trashed
/// releases and a hierarchy's other classes left out.
#[tokio::test]
async fn lone_searches_answered_by_the_index_are_what_a_scan_finds() {
    let app = TestApp::spawn_demo().await;
    let auth = app.user("tech", &["sdp.technician"]).await;
    for _ in 0..3 {
        let res = app
            .raw(
                "POST",
                "/api/v3/releases",
                &Auth::admin(),
                Some(&v3_form(&documented_v3_add())),
                "application/x-www-form-urlencoded",
            )
            .await;
        assert!(res.status.is_success(), "{}", res.text);
    }
    let ids: Vec<i64> = app
        .db
        .fetch_all("SELECT id FROM sdp_release ORDER BY id LIMIT 6", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.int("id").unwrap())
        .collect();
    assert_eq!(ids.len(), 6, "the demo's releases and three more");
    for (i, id) in ids.iter().enumerate() {
        write(
            &app,
            "UPDATE sdp_release SET title = $1 WHERE id = $2",
            &[
                SqlValue::from(format!("Zebra crossing {i}")),
                SqlValue::Int(*id),
            ],
        )
        .await;
    }
    // The third goes to the trash: no longer listed, nor counted.
    write(
        &app,
        "UPDATE sdp_release SET deleted_time = 1 WHERE id = $1",
        &[SqlValue::Int(ids[2])],
    )
    .await;
    let live: Vec<String> = ids
        .iter()
        .filter(|id| **id != ids[2])
        .map(|id| id.to_string())
        .collect();
    for (order, expected) in [
        ("asc", live.clone()),
        ("desc", live.iter().rev().cloned().collect::<Vec<_>>()),
    ] {
        let mut listed = Vec::new();
        for start in [1, 3, 5] {
            let (page, total) = v3_page(&app, &auth, "ZEBRA cross", order, start).await;
            assert_eq!(total, 5, "{order}: the trashed match is not counted");
            listed.extend(page);
        }
        assert_eq!(listed, expected, "{order}: pages in id order, none twice");
        let (past_the_end, total) = v3_page(&app, &auth, "zebra", order, 50).await;
        assert_eq!((past_the_end.len(), total), (0, 5), "a page past the end");
    }
    let input = json!({"list_info": {"row_count": 10, "get_total_count": true,
        "filter_by": "trashed",
        "search_criteria": {"field": "title", "condition": "contains", "value": "zebra"}}});
    let path = format!("/api/v3/releases?input_data={}", encode(&input.to_string()));
    let res = app.request("GET", &path, &auth, None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(
        res.body["list_info"]["total_count"],
        json!(1),
        "{}",
        res.text
    );
    assert_eq!(res.body["releases"][0]["id"], json!(ids[2].to_string()));

    // Table API: a lone search without an order pages in the index's order,
    // every match once.
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(create_user(&app, &format!("zebra{i}"), &format!("Zebra Person {i}")).await);
    }
    create_user(&app, "other", "Someone Else").await;
    let mut seen = Vec::new();
    for offset in [0, 3, 6] {
        let res = app
            .get(&format!(
                "/api/now/table/sys_user?sysparm_fields=sys_id&sysparm_limit=3&sysparm_offset={offset}\
                 &sysparm_query={}",
                encode("nameLIKEzebra p")
            ))
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(res.header("x-total-count"), Some("7"));
        for r in res.body["result"].as_array().unwrap() {
            seen.push(r["sys_id"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(seen.len(), 7, "{seen:?}");
    // Every field, as a client lists them: the total travels in no row.
    let res = app
        .get(&format!(
            "/api/now/table/sys_user?sysparm_limit=3&sysparm_query={}",
            encode("nameLIKEzebra p")
        ))
        .await;
    assert_eq!(res.header("x-total-count"), Some("7"));
    let first = res.body["result"][0].as_object().unwrap();
    assert!(first.contains_key("user_name"), "{}", res.text);
    assert!(
        first.keys().all(|k| !k.starts_with("tollgate")),
        "{}",
        res.text
    );
    let res = app
        .get(&format!(
            "/api/now/table/sys_user?sysparm_limit=3&sysparm_offset=100&sysparm_query={}",
            encode("nameLIKEzebra p")
        ))
        .await;
    assert_eq!(res.body["result"], json!([]), "{}", res.text);
    assert_eq!(
        res.header("x-total-count"),
        Some("7"),
        "a page past the end still counts"
    );
    let mut sorted_seen = seen.clone();
    sorted_seen.sort();
    sorted_seen.dedup();
    let mut sorted_created = created.clone();
    sorted_created.sort();
    assert_eq!(sorted_seen, sorted_created, "every match once");
    if app.db.backend() == Backend::Sqlite {
        assert_eq!(seen, created, "in the order the records were indexed");
    }
    // With an order named, that order.
    let res = app
        .get(&format!(
            "/api/now/table/sys_user?sysparm_fields=name&sysparm_limit=3&sysparm_query={}",
            encode("nameLIKEzebra p^ORDERBYDESCname")
        ))
        .await;
    let names: Vec<&str> = res.body["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Zebra Person 6", "Zebra Person 5", "Zebra Person 4"]
    );

    // A hierarchy's child counts its own class only, though the index is
    // the root's.
    for (table, text) in [
        ("incident", "Zebra outage"),
        ("problem", "Zebra root cause"),
    ] {
        let res = app
            .post(
                &format!("/api/now/table/{table}"),
                json!({"short_description": text}),
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    }
    for (table, total) in [("incident", "1"), ("problem", "1"), ("task", "2")] {
        let res = app
            .get(&format!(
                "/api/now/table/{table}?sysparm_fields=short_description&sysparm_query={}",
                encode("short_descriptionLIKEzebra")
            ))
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(res.header("x-total-count"), Some(total), "{table}");
        assert_eq!(
            res.body["result"].as_array().unwrap().len().to_string(),
            total,
            "{table}"
        );
    }
}

/// Writers that share pieces, and folds running among them, leave every
/// count right: on PostgreSQL the writers only append deltas (none waits
/// for another on a common piece) and one fold at a time moves them.
#[tokio::test]
async fn concurrent_writers_and_folds_keep_the_counts() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let mut tasks = Vec::new();
    for i in 0..12 {
        let app = std::sync::Arc::clone(&app);
        tasks.push(tokio::spawn(async move {
            if i % 4 == 3 {
                tollgate::storage::word_pieces::fold_counts(&app.db)
                    .await
                    .unwrap();
                return;
            }
            let id = create_user(&app, &format!("crowd{i}"), &format!("Kalomi Crowd {i}")).await;
            if i % 3 == 0 {
                let res = app
                    .request(
                        "PATCH",
                        &format!("/api/now/table/sys_user/{id}"),
                        &Auth::admin(),
                        Some(json!({"name": "Venora Crowd"})),
                    )
                    .await;
                assert!(res.status.is_success(), "{}", res.text);
            }
        }));
    }
    for task in tasks {
        task.await.expect("writer");
    }
    for needle in ["kalomi", "crowd", "venora", "rowd"] {
        assert_total_is_a_scans(&app, needle).await;
    }
    tollgate::storage::word_pieces::fold_counts(&app.db)
        .await
        .unwrap();
    for needle in ["kalomi", "crowd", "venora", "rowd"] {
        assert_total_is_a_scans(&app, needle).await;
    }
}

/// A running server folds the search counts' deltas by itself every
/// `piece_fold` seconds (PostgreSQL; SQLite has nothing to fold).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_server_folds_the_search_counts() {
    let (db, cleanup) = fresh_db().await;
    if db.backend() != Backend::Postgres {
        return;
    }
    write_to(
        &db,
        "INSERT INTO cmdb_model (sys_id, sys_created_on, sys_created_by, sys_updated_on, \
         sys_updated_by, sys_class_name, name) VALUES ($1, 'now', 'test', 'now', 'test', \
         'cmdb_model', 'Kalomira Router')",
        &[SqlValue::from("f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0")],
    )
    .await;
    let pending = |db: tollgate::storage::Db| async move {
        db.fetch_optional("SELECT COUNT(*) AS n FROM tollgate_piece_deltas", &[])
            .await
            .unwrap()
            .and_then(|r| r.int("n"))
            .unwrap()
    };
    assert!(pending(db.clone()).await > 0, "the insert left its deltas");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut server = RunningServer::start_on(
        db.clone(),
        cleanup,
        listener,
        tollgate::config::Settings {
            piece_fold: 1,
            ..test_settings()
        },
    );
    let mut left = 1;
    for _ in 0..100 {
        left = pending(db.clone()).await;
        if left == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(left, 0, "the server folded the deltas");
    let kept = db
        .fetch_optional(
            "SELECT n FROM cmdb_model__pieces_name WHERE piece = 'kalomi'",
            &[],
        )
        .await
        .unwrap()
        .and_then(|r| r.int("n"));
    assert_eq!(kept, Some(1));
    server.signal_shutdown();
    server
        .stopped_within(std::time::Duration::from_secs(30))
        .await
        .unwrap();
}
