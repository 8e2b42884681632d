//! Schema conformance: the registry and the migrations declare every column
//! twice, and the hand-kept column lists name columns a third time. These
//! tests compare them on a freshly migrated database, so drift fails here
//! rather than as a database error in a request.

use std::collections::HashMap;

use tollgate::registry::{self, SqlKind, SYSTEM_COLUMNS, TABLES};
use tollgate::storage::{migrations, Backend, Db, Record, Value};

use crate::helpers::fresh_db;

/// One column as the database describes it.
#[derive(Debug)]
struct DbColumn {
    /// Upper-case declared type (`BIGINT`, `TEXT`...); empty when a view's
    /// column is an expression SQLite cannot type.
    ty: String,
    not_null: bool,
    has_default: bool,
}

/// The columns of a table or view of the current database (on PostgreSQL,
/// the test's own schema, which is the connection's `search_path`).
async fn columns_of(db: &Db, table: &str) -> HashMap<String, DbColumn> {
    let mut out = HashMap::new();
    match db.backend() {
        Backend::Sqlite => {
            let rows = db
                .fetch_all(&format!("PRAGMA table_info({table})"), &[])
                .await
                .expect("table_info");
            for r in rows {
                out.insert(
                    r.string("name"),
                    DbColumn {
                        ty: r.string("type").to_uppercase(),
                        // A TEXT PRIMARY KEY is NULL-able in SQLite only by
                        // an old quirk; no row ever has a NULL sys_id.
                        not_null: r.int("notnull") == Some(1) || r.int("pk").unwrap_or(0) > 0,
                        has_default: r.get("dflt_value").is_some_and(|v| !v.is_null()),
                    },
                );
            }
        }
        Backend::Postgres => {
            let rows = db
                .fetch_all(
                    "SELECT column_name, data_type, is_nullable, column_default \
                     FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name = $1",
                    &[Value::from(table)],
                )
                .await
                .expect("information_schema.columns");
            for r in rows {
                out.insert(
                    r.string("column_name"),
                    DbColumn {
                        ty: r.string("data_type").to_uppercase(),
                        not_null: r.string("is_nullable") == "NO",
                        has_default: r.get("column_default").is_some_and(|v| !v.is_null()),
                    },
                );
            }
        }
    }
    out
}

/// Mandatory columns whose table still accepts NULL. The server refuses to
/// insert or empty them; making the column NOT NULL means rebuilding the
/// table on SQLite. Nothing may be added here.
const NULLABLE_MANDATORY: &[(&str, &str)] = &[("sn_dpr_model_release_calendar", "release_admin")];

/// The SQL type the migrations use for a registry kind.
fn sql_type(kind: SqlKind) -> &'static str {
    match kind {
        SqlKind::Text => "TEXT",
        SqlKind::Int => "BIGINT",
        SqlKind::Bool => "BOOLEAN",
        SqlKind::Float => "DOUBLE PRECISION",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_registered_column_exists_in_its_table_with_the_registry_type_and_nullability() {
    let (db, _cleanup) = fresh_db().await;
    let mut problems = Vec::new();
    for table in TABLES {
        let storage = table.storage();
        let actual = columns_of(&db, storage).await;
        if actual.is_empty() {
            problems.push(format!("{}: no table or view {storage}", table.name));
            continue;
        }
        let registered = table.all_columns();
        for column in &registered {
            let Some(found) = actual.get(column.name) else {
                problems.push(format!(
                    "{}.{}: no such column in {storage}",
                    table.name, column.name
                ));
                continue;
            };
            let expected = sql_type(column.ty.sql_kind());
            // A view's computed column may carry no declared type on SQLite.
            let typed = !(table.view && found.ty.is_empty());
            if typed && found.ty != expected {
                problems.push(format!(
                    "{}.{}: registry type {} wants {expected}, {storage} has {}",
                    table.name,
                    column.name,
                    column.ty.name(),
                    found.ty
                ));
            }
            if table.view {
                continue;
            }
            // A NOT NULL column without a default of its own must always be
            // given a value: by the server (system fields, and read-only
            // columns of tables only the server writes), or because the
            // registry makes it mandatory or supplies a default; else a
            // Table API insert that leaves it out fails in the database
            // instead of as a validation error (issue 15: a 500). A
            // read-only column of a table clients write is never given by
            // the Table API, so it needs a default.
            let always_given = SYSTEM_COLUMNS.iter().any(|s| s.name == column.name)
                || (column.read_only && table.server_written())
                || column.mandatory
                || column.default.is_some()
                || (column.name == "number" && table.number_prefix.is_some())
                || (column.name == "sys_class_name" && table.in_hierarchy());
            // A mandatory column may not be emptied, so its table refuses
            // NULL too (a column of a table extending another cannot: the
            // root's table holds its siblings' rows as well).
            let known_gap = NULLABLE_MANDATORY.contains(&(table.name, column.name));
            if column.mandatory && table.extends.is_none() && !found.not_null && !known_gap {
                problems.push(format!(
                    "{}.{}: mandatory in the registry, NULL-able in {storage}",
                    table.name, column.name
                ));
            }
            // An update may empty any field a client writes: a NOT NULL
            // one must be mandatory (emptying it is refused) or have a
            // registry default (emptying it stores the default), even
            // where the database has a default of its own (issue 15: PUT
            // sys_user with `"locked_out": null` was a NOT NULL failure).
            let client_written = !table.server_written() && !column.read_only;
            let system = SYSTEM_COLUMNS.iter().any(|s| s.name == column.name)
                || (column.name == "sys_class_name" && table.in_hierarchy());
            if found.not_null
                && client_written
                && !system
                && !column.mandatory
                && column.default.is_none()
            {
                problems.push(format!(
                    "{}.{}: NOT NULL in {storage}, but an update may empty it: make it mandatory \
                     or give it a default in the registry",
                    table.name, column.name
                ));
            }
            if found.not_null && !found.has_default && !always_given {
                problems.push(format!(
                    "{}.{}: NOT NULL in {storage} without a default, but neither mandatory nor \
                     defaulted in the registry, nor read-only in a table only the server writes",
                    table.name, column.name
                ));
            }
        }
        // The columns the server fills in itself.
        if table.in_hierarchy() && !actual.contains_key("sys_class_name") {
            problems.push(format!(
                "{}: in a hierarchy, but {storage} has no sys_class_name",
                table.name
            ));
        }
        if table.number_prefix.is_some() && !actual.contains_key("number") {
            problems.push(format!(
                "{}: numbered, but {storage} has no number column",
                table.name
            ));
        }
        // A NOT NULL column the registry does not know can never be written
        // through the Table API (hierarchy classes and numbers are written by
        // the server).
        if !table.view && table.extends.is_none() {
            for (name, found) in &actual {
                let known = registered.iter().any(|c| c.name == name)
                    || TABLES
                        .iter()
                        .filter(|t| t.storage() == storage)
                        .any(|t| t.column(name).is_some())
                    || (name == "sys_class_name" && table.in_hierarchy())
                    || (name == "number" && table.number_prefix.is_some());
                if !known && found.not_null && !found.has_default {
                    problems.push(format!(
                        "{storage}.{name}: NOT NULL without a default, but not in the registry"
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the registry and the schema disagree:\n{}",
        problems.join("\n")
    );
}

/// Every hand-kept column list and the FROM clause it is read with (aliases
/// as the code uses them; a cross join is enough for `LIMIT 0`).
fn column_lists() -> Vec<(&'static str, String, &'static str)> {
    use tollgate::domain::{cdm, sdp, update_sets};
    let plain = |names: &[&str]| {
        names
            .iter()
            .map(|n| registry::quote(n))
            .collect::<Vec<_>>()
            .join(", ")
    };
    vec![
        (
            "SNAPSHOT_COLUMNS",
            cdm::snapshots::SNAPSHOT_COLUMNS.to_owned(),
            "sn_cdm_snapshot s, sn_cdm_deployable d, sn_cdm_application a",
        ),
        (
            "CHANGESET_COLUMNS",
            cdm::changesets::CHANGESET_COLUMNS.to_owned(),
            "sn_cdm_changeset c, sn_cdm_application a",
        ),
        (
            "SHARED_COMPONENT_COLUMNS",
            cdm::shared::SHARED_COMPONENT_COLUMNS.to_owned(),
            "sn_cdm_shared_component",
        ),
        (
            "REFERENCE_COLUMNS",
            sdp::reference::REFERENCE_COLUMNS.to_owned(),
            "sdp_reference",
        ),
        (
            "USER_COLUMNS",
            sdp::releases::USER_COLUMNS.to_owned(),
            "sdp_user u",
        ),
        (
            "XML_COLUMNS",
            plain(update_sets::commit::XML_COLUMNS),
            "sys_update_xml",
        ),
        (
            "VERSION_COLUMNS",
            plain(update_sets::commit::VERSION_COLUMNS),
            "sys_update_version",
        ),
    ]
}

/// The names of the column-list constants declared under `src/`.
fn declared_column_lists() -> Vec<String> {
    fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("read source");
                for line in text.lines() {
                    let Some(rest) = line.trim_start().split("const ").nth(1) else {
                        continue;
                    };
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if name.ends_with("_COLUMNS") && rest[name.len()..].starts_with(':') {
                        out.push(name);
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut out,
    );
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hand_kept_column_list_selects_from_its_table() {
    let (db, _cleanup) = fresh_db().await;
    let lists = column_lists();
    for declared in declared_column_lists() {
        assert!(
            lists.iter().any(|(name, _, _)| *name == declared),
            "{declared} is a column list this test does not select: add it to column_lists()"
        );
    }
    for (name, columns, from) in lists {
        let sql = format!("SELECT {columns} FROM {from} LIMIT 0");
        if let Err(err) = db.fetch_all(&sql, &[]).await {
            panic!("{name} does not match the schema: {err}\n{sql}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_freshly_migrated_database_is_at_the_latest_version() {
    let (db, _cleanup) = fresh_db().await;
    assert_eq!(
        migrations::current_version(&db).await.unwrap(),
        migrations::latest_version()
    );
    assert_eq!(migrations::run(&db).await.unwrap(), 0);
}

/// The recorded checksums, by version.
async fn recorded_checksums(db: &Db) -> Vec<(i64, Option<String>)> {
    db.fetch_all(
        "SELECT version, checksum FROM tollgate_schema_migrations ORDER BY version",
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| (r.int("version").unwrap(), r.text("checksum")))
    .collect()
}

fn expected_checksums() -> Vec<(i64, Option<String>)> {
    migrations::MIGRATIONS
        .iter()
        .map(|(version, _, script)| (*version, Some(migrations::checksum(script))))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_applied_migration_records_the_checksum_of_its_script() {
    let (db, _cleanup) = fresh_db().await;
    assert_eq!(recorded_checksums(&db).await, expected_checksums());
    assert_eq!(
        migrations::checksum("SELECT 1;\r\n"),
        migrations::checksum("SELECT 1;\n"),
        "line ends are not a change"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_applied_before_checksums_get_theirs_on_the_next_start() {
    let (db, _cleanup) = fresh_db().await;
    // A database migrated by a binary from before checksums were kept.
    db.execute(
        "DELETE FROM tollgate_schema_migrations WHERE version = 14",
        &[],
    )
    .await
    .unwrap();
    db.execute(
        "ALTER TABLE tollgate_schema_migrations DROP COLUMN checksum",
        &[],
    )
    .await
    .unwrap();
    assert_eq!(migrations::run(&db).await.unwrap(), 1);
    assert_eq!(recorded_checksums(&db).await, expected_checksums());
    // And a row left without one (a replica stopped between the two steps).
    db.execute(
        "UPDATE tollgate_schema_migrations SET checksum = NULL WHERE version = 3",
        &[],
    )
    .await
    .unwrap();
    assert_eq!(migrations::run(&db).await.unwrap(), 0);
    assert_eq!(recorded_checksums(&db).await, expected_checksums());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runner_refuses_to_start_when_an_applied_script_has_changed() {
    let (db, _cleanup) = fresh_db().await;
    // As if the script of version 2 had been edited after it was applied.
    db.execute(
        "UPDATE tollgate_schema_migrations SET checksum = $1 WHERE version = 2",
        &[Value::Text(migrations::checksum("an older text"))],
    )
    .await
    .unwrap();
    let err = migrations::run(&db)
        .await
        .expect_err("a changed script must stop the runner");
    let message = err.to_string();
    assert!(
        message
            .starts_with("migration 2 (digital_product_release) has changed since it was applied"),
        "{message}"
    );
    // Refused every time, and the recorded checksum is left as it was.
    assert!(migrations::run(&db).await.is_err());
    let recorded = recorded_checksums(&db).await;
    assert_eq!(recorded[1].1, Some(migrations::checksum("an older text")));
}

/// Where a typed record (`record!`) disagrees with its table: a column it
/// reads that does not exist, another SQL type, or a non-`Option` field over
/// a column that accepts NULL (which would fail to decode at run time).
async fn record_problems<R: Record>(db: &Db) -> Vec<String> {
    let actual = columns_of(db, R::TABLE).await;
    if actual.is_empty() {
        return vec![format!("{}: no such table", R::TABLE)];
    }
    let mut problems = Vec::new();
    for (i, column) in R::COLUMNS.iter().enumerate() {
        let Some(found) = actual.get(*column) else {
            problems.push(format!("{}.{column}: no such column", R::TABLE));
            continue;
        };
        if found.ty != R::SQL_TYPES[i] {
            problems.push(format!(
                "{}.{column}: the record reads {}, the table has {}",
                R::TABLE,
                R::SQL_TYPES[i],
                found.ty
            ));
        }
        if !R::NULLABLE[i] && !found.not_null {
            problems.push(format!(
                "{}.{column}: the table accepts NULL but the record's field is not an Option",
                R::TABLE
            ));
        }
    }
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_typed_record_matches_its_table() {
    let (db, _cleanup) = fresh_db().await;
    let mut problems = Vec::new();
    problems.extend(record_problems::<tollgate::domain::cdm::tree::Node>(&db).await);
    problems.extend(record_problems::<tollgate::domain::dpr::phases::ReleaseHead>(&db).await);
    problems.extend(record_problems::<tollgate::domain::dpr::phases::PhaseHead>(&db).await);
    problems.extend(record_problems::<tollgate::jobs::JobProgressRow>(&db).await);
    problems.extend(record_problems::<tollgate::identity::users::Profile>(&db).await);
    problems.extend(record_problems::<tollgate::domain::cdm::deployables::Deployable>(&db).await);
    problems.extend(record_problems::<tollgate::domain::cdm::mappings::PolicyMapping>(&db).await);
    problems.extend(record_problems::<tollgate::domain::attachments::Attachment>(&db).await);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_given_the_wrong_number_of_arguments_is_refused_on_both_databases() {
    use tollgate::storage::StorageError;
    let (db, _cleanup) = fresh_db().await;
    let count = |err: StorageError| match err {
        StorageError::ArgumentCount {
            placeholders,
            given,
        } => (placeholders, given),
        other => panic!("expected an argument count error, got {other}"),
    };
    let sql = "SELECT name FROM sys_user WHERE user_name = $1";
    let too_few = db.fetch_all(sql, &[]).await.expect_err("too few");
    assert_eq!(count(too_few), (1, 0));
    let too_many = db
        .fetch_all(sql, &[Value::from("admin"), Value::from("extra")])
        .await
        .expect_err("too many");
    assert_eq!(count(too_many), (1, 2));
    let mut tx = db.begin().await.expect("begin");
    let in_tx = tx
        .execute(
            "UPDATE sys_user SET name = $1 WHERE sys_id = $2",
            &[Value::from("x")],
        )
        .await
        .expect_err("too few in a transaction");
    assert_eq!(count(in_tx), (2, 1));
    tx.rollback().await.expect("rollback");
    assert!(db.fetch_all(sql, &[Value::from("admin")]).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_of_a_type_tollgate_does_not_read_is_an_error_not_null() {
    use tollgate::storage::StorageError;
    let (db, _cleanup) = fresh_db().await;
    if db.backend() == Backend::Sqlite {
        // SQLite has no such types: every value is NULL, integer, real,
        // text or blob, and all of them decode.
        return;
    }
    match db.fetch_all("SELECT 1.5::numeric AS amount", &[]).await {
        Err(StorageError::Column { column, problem }) => {
            assert_eq!(column, "amount");
            assert!(problem.contains("NUMERIC"), "{problem}");
        }
        other => panic!("expected a column error, got {other:?}"),
    }
}
