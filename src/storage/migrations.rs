//! Versioned schema migrations, run on start-up and by `tollgate migrate`.
//!
//! Each migration is one SQL script that both databases accept; where the
//! databases differ (SQLite's FTS5 tables, PostgreSQL's extensions), a line
//! `--! sqlite`, `--! postgres` or `--! both` says which database runs the
//! statements after it. A migration
//! runs inside one transaction together with its bookkeeping row, so a crash
//! leaves it either applied or not; on PostgreSQL an advisory lock keeps two
//! replicas that start together from applying the same one twice.
//!
//! The bookkeeping row records the SHA-256 of the script it ran; the runner
//! refuses to start when an applied script's text has changed since (the
//! database would no longer be what the scripts describe). Rows from before
//! checksums were kept get theirs from the current scripts on the next start.

use super::{Backend, Db, Result, StorageError, Value};

/// Every migration in order. Append only: never edit one that has shipped.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "foundation",
        include_str!("../../migrations/0001_foundation.sql"),
    ),
    (
        2,
        "digital_product_release",
        include_str!("../../migrations/0002_digital_product_release.sql"),
    ),
    (
        3,
        "data_epoch",
        include_str!("../../migrations/0003_data_epoch.sql"),
    ),
    (
        4,
        "servicedesk",
        include_str!("../../migrations/0004_servicedesk.sql"),
    ),
    (
        5,
        "servicedesk_history",
        include_str!("../../migrations/0005_servicedesk_history.sql"),
    ),
    (
        6,
        "servicedesk_status_comments",
        include_str!("../../migrations/0006_servicedesk_status_comments.sql"),
    ),
    (
        7,
        "servicedesk_subrecords",
        include_str!("../../migrations/0007_servicedesk_subrecords.sql"),
    ),
    (
        8,
        "servicedesk_approvals",
        include_str!("../../migrations/0008_servicedesk_approvals.sql"),
    ),
    (
        9,
        "servicedesk_closure",
        include_str!("../../migrations/0009_servicedesk_closure.sql"),
    ),
    (
        10,
        "servicedesk_descriptive",
        include_str!("../../migrations/0010_servicedesk_descriptive.sql"),
    ),
    (
        11,
        "update_sets",
        include_str!("../../migrations/0011_update_sets.sql"),
    ),
    (
        12,
        "configuration_data_management",
        include_str!("../../migrations/0012_cdm.sql"),
    ),
    (
        13,
        "api_key_expiry",
        include_str!("../../migrations/0013_api_key_expiry.sql"),
    ),
    (
        14,
        "migration_checksums",
        include_str!("../../migrations/0014_migration_checksums.sql"),
    ),
    (
        15,
        "job_heartbeat",
        include_str!("../../migrations/0015_job_heartbeat.sql"),
    ),
    (
        16,
        "text_search",
        include_str!("../../migrations/0016_text_search.sql"),
    ),
    (
        17,
        "release_tally",
        include_str!("../../migrations/0017_release_tally.sql"),
    ),
    (
        18,
        "attachments",
        include_str!("../../migrations/0018_attachments.sql"),
    ),
    (
        19,
        "servicedesk_shapes",
        include_str!("../../migrations/0019_servicedesk_shapes.sql"),
    ),
    (
        20,
        "trashed_releases",
        include_str!("../../migrations/0020_trashed_releases.sql"),
    ),
    (
        21,
        "console_sessions",
        include_str!("../../migrations/0021_console_sessions.sql"),
    ),
    (
        22,
        "text_index_upkeep",
        include_str!("../../migrations/0022_text_index_upkeep.sql"),
    ),
    (
        23,
        "word_pieces",
        include_str!("../../migrations/0023_word_pieces.sql"),
    ),
    (
        24,
        "shorter_word_pieces",
        include_str!("../../migrations/0024_shorter_word_pieces.sql"),
    ),
    (
        25,
        "piece_counts",
        include_str!("../../migrations/0025_piece_counts.sql"),
    ),
    (
        26,
        "reference_epoch",
        include_str!("../../migrations/0026_reference_epoch.sql"),
    ),
];

/// The migration that adds `checksum` to the bookkeeping table: from it on,
/// each applied migration's row records its script's checksum.
const CHECKSUM_VERSION: i64 = 14;

/// The checksum recorded for a script: SHA-256 (lower-case hex) of its text
/// with line ends normalised, so a checkout with CRLF line ends is not a change.
pub fn checksum(script: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(script.replace("\r\n", "\n").as_bytes()))
}

/// The newest schema version this binary knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map(|m| m.0).unwrap_or(0)
}

/// Applies every migration that has not run yet; returns how many ran.
pub async fn run(db: &Db) -> Result<usize> {
    db.execute(
        "CREATE TABLE IF NOT EXISTS tollgate_schema_migrations \
         (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_on TEXT NOT NULL)",
        &[],
    )
    .await?;
    verify_checksums(db).await?;
    let mut applied = 0;
    for (version, name, script) in MIGRATIONS {
        let mut tx = db.begin().await?;
        if tx.backend() == Backend::Postgres {
            tx.execute("SELECT pg_advisory_xact_lock(7353001)", &[])
                .await?;
        }
        let done = tx
            .fetch_optional(
                "SELECT version FROM tollgate_schema_migrations WHERE version = $1",
                &[Value::Int(*version)],
            )
            .await?;
        if done.is_some() {
            tx.rollback().await?;
            continue;
        }
        for statement in split_statements(script, tx.backend()) {
            tx.execute(&statement, &[]).await?;
        }
        let mut args = vec![
            Value::Int(*version),
            Value::from(*name),
            Value::Text(crate::time::now_string()),
        ];
        let sql = if *version >= CHECKSUM_VERSION {
            args.push(Value::Text(checksum(script)));
            "INSERT INTO tollgate_schema_migrations (version, name, applied_on, checksum) \
             VALUES ($1, $2, $3, $4)"
        } else {
            "INSERT INTO tollgate_schema_migrations (version, name, applied_on) VALUES ($1, $2, $3)"
        };
        tx.execute(sql, &args).await?;
        tx.commit().await?;
        tracing::info!(version, name, "applied migration");
        applied += 1;
    }
    record_missing_checksums(db).await?;
    Ok(applied)
}

/// Whether the bookkeeping table has its `checksum` column yet.
async fn has_checksums(db: &Db) -> Result<bool> {
    Ok(db
        .fetch_optional(
            "SELECT version FROM tollgate_schema_migrations WHERE version = $1",
            &[Value::Int(CHECKSUM_VERSION)],
        )
        .await?
        .is_some())
}

/// Refuses to go on when an applied migration's script is not the one that
/// was applied: the database would not be what the scripts describe.
async fn verify_checksums(db: &Db) -> Result<()> {
    if !has_checksums(db).await? {
        return Ok(());
    }
    let rows = db
        .fetch_all(
            "SELECT version, checksum FROM tollgate_schema_migrations WHERE checksum IS NOT NULL",
            &[],
        )
        .await?;
    for row in rows {
        let Some(version) = row.int("version") else {
            continue;
        };
        // A version this binary does not know (a newer binary migrated the
        // database) has no script here to compare with.
        let Some((_, name, script)) = MIGRATIONS.iter().find(|m| m.0 == version) else {
            continue;
        };
        if row.string("checksum") != checksum(script) {
            return Err(StorageError::MigrationChanged {
                version,
                name: (*name).to_owned(),
            });
        }
    }
    Ok(())
}

/// Records the checksum of migrations applied before checksums were kept,
/// from their current scripts.
async fn record_missing_checksums(db: &Db) -> Result<()> {
    if !has_checksums(db).await? {
        return Ok(());
    }
    let rows = db
        .fetch_all(
            "SELECT version FROM tollgate_schema_migrations WHERE checksum IS NULL",
            &[],
        )
        .await?;
    for row in rows {
        let Some(version) = row.int("version") else {
            continue;
        };
        if let Some((_, _, script)) = MIGRATIONS.iter().find(|m| m.0 == version) {
            db.execute(
                "UPDATE tollgate_schema_migrations SET checksum = $1 \
                 WHERE version = $2 AND checksum IS NULL",
                &[Value::Text(checksum(script)), Value::Int(version)],
            )
            .await?;
        }
    }
    Ok(())
}

/// The schema version a database holds, read without changing anything:
/// `None` when it holds no Tollgate schema (no bookkeeping table). Refuses,
/// as [`run`] does, a database whose applied scripts have changed since.
pub async fn installed_version(db: &Db) -> Result<Option<i64>> {
    let sql = match db.backend() {
        Backend::Sqlite => {
            "SELECT COUNT(*) AS n FROM sqlite_master \
             WHERE type = 'table' AND name = 'tollgate_schema_migrations'"
        }
        // The schema the connection works in (tests and operators may set
        // `search_path`), not any schema of the database.
        Backend::Postgres => {
            "SELECT COUNT(*) AS n FROM information_schema.tables \
             WHERE table_name = 'tollgate_schema_migrations' AND table_schema = current_schema()"
        }
    };
    let present = db
        .fetch_optional(sql, &[])
        .await?
        .and_then(|r| r.int("n"))
        .unwrap_or(0)
        > 0;
    if !present {
        return Ok(None);
    }
    verify_checksums(db).await?;
    Ok(Some(current_version(db).await?))
}

/// The schema version in the database (0 when never migrated).
pub async fn current_version(db: &Db) -> Result<i64> {
    let row = db
        .fetch_optional(
            "SELECT MAX(version) AS v FROM tollgate_schema_migrations",
            &[],
        )
        .await?;
    Ok(row.and_then(|r| r.int("v")).unwrap_or(0))
}

/// Splits a script into the statements `backend` runs: at semicolons that
/// end a line (a trigger's body runs to its `END;` line, a `$$`-quoted
/// function body to its closing `$$`), dropping comment
/// lines and the statements of a `--! sqlite` / `--! postgres` section meant
/// for the other database. Migrations keep semicolons out of string literals.
fn split_statements(script: &str, backend: Backend) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut runs_here = true;
    for line in script.lines() {
        let trimmed = line.trim();
        if let Some(section) = trimmed.strip_prefix("--!") {
            runs_here = match section.trim() {
                "sqlite" => backend == Backend::Sqlite,
                "postgres" => backend == Backend::Postgres,
                _ => true,
            };
            continue;
        }
        if trimmed.starts_with("--") || trimmed.is_empty() || !runs_here {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        // A SQLite trigger's head ends its line with BEGIN (a PostgreSQL
        // trigger is one line naming its function).
        let head = current.trim_start().lines().next().unwrap_or_default();
        let in_trigger = head
            .get(..14)
            .is_some_and(|start| start.eq_ignore_ascii_case("CREATE TRIGGER"))
            && head.trim_end().to_ascii_uppercase().ends_with(" BEGIN");
        // A PostgreSQL function body (`$$ ... $$`) holds statements too.
        let in_body = current.matches("$$").count() % 2 == 1;
        let ends = if in_body {
            false
        } else if in_trigger {
            trimmed.eq_ignore_ascii_case("END;")
        } else {
            trimmed.ends_with(';')
        };
        if ends {
            let statement = current.trim().trim_end_matches(';').to_owned();
            statements.push(statement);
            current.clear();
        }
    }
    if !current.trim().is_empty() {
        statements.push(current.trim().to_owned());
    }
    statements
}

#[cfg(test)]
mod tests {
    use super::{split_statements, Backend, MIGRATIONS};

    /// Every script in `migrations/`, in file-name order, is the runner's
    /// list in order, numbered by its file name's prefix, and the list holds
    /// nothing else: a script added to the folder but not to the list (or
    /// the reverse) fails here instead of never running.
    #[test]
    fn the_migrations_folder_and_the_runners_list_agree() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&folder)
            .expect("read migrations/")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "sql"))
            .collect();
        files.sort();
        let names: Vec<String> = files
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            files.len(),
            MIGRATIONS.len(),
            "migrations/ holds {names:?}; the runner lists {} migrations",
            MIGRATIONS.len()
        );
        for (i, (path, (version, name, script))) in files.iter().zip(MIGRATIONS).enumerate() {
            let file = &names[i];
            assert_eq!(
                *version,
                i as i64 + 1,
                "migration {name}: versions run 1, 2, 3..."
            );
            let prefix: i64 = file
                .split('_')
                .next()
                .and_then(|p| p.parse().ok())
                .unwrap_or_else(|| panic!("{file}: the name starts with its version"));
            assert_eq!(
                prefix, *version,
                "{file} is listed as version {version} ({name})"
            );
            let text = std::fs::read_to_string(path).expect("read script");
            assert!(
                text == *script,
                "{file} is not the script the runner lists as version {version} ({name})"
            );
        }
    }

    #[test]
    fn splits_at_line_end_semicolons_and_skips_comments() {
        let parts = split_statements(
            "-- c\nCREATE TABLE a (x TEXT);\nINSERT INTO a VALUES ('1');\n",
            Backend::Sqlite,
        );
        assert_eq!(
            parts,
            vec!["CREATE TABLE a (x TEXT)", "INSERT INTO a VALUES ('1')"]
        );
    }

    #[test]
    fn a_trigger_runs_to_its_end_and_sections_pick_the_database() {
        let script = "CREATE TABLE a (x TEXT);\n--! sqlite\nCREATE TRIGGER t AFTER INSERT ON a BEGIN\n    DELETE FROM b;\n    DELETE FROM c;\nEND;\n--! postgres\nCREATE EXTENSION e;\nCREATE TRIGGER p AFTER INSERT ON a FOR EACH ROW EXECUTE FUNCTION f();\nCREATE FUNCTION f() RETURNS trigger AS $$\nBEGIN\n    DELETE FROM b;\nEND\n$$;\n--! both\nDROP TABLE z;\n";
        assert_eq!(
            split_statements(script, Backend::Sqlite),
            vec![
                "CREATE TABLE a (x TEXT)",
                "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n    DELETE FROM b;\n    DELETE FROM c;\nEND",
                "DROP TABLE z"
            ]
        );
        assert_eq!(
            split_statements(script, Backend::Postgres),
            vec![
                "CREATE TABLE a (x TEXT)",
                "CREATE EXTENSION e",
                "CREATE TRIGGER p AFTER INSERT ON a FOR EACH ROW EXECUTE FUNCTION f()",
                "CREATE FUNCTION f() RETURNS trigger AS $$\nBEGIN\n    DELETE FROM b;\nEND\n$$",
                "DROP TABLE z"
            ]
        );
    }
}
