//! The SQLite side of the storage boundary, on rusqlite.
//!
//! Statements run inline on the calling task: an indexed read takes a few
//! microseconds, far less than handing it to a connection thread and back.
//! Writes queue on one async writer lock per process, so in-process writers
//! never wait inside SQLite; another process (such as `tollgate demo`) is
//! waited for by SQLite's busy timeout.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

use super::{ConstraintKind, Result, Row, StorageError, Value};

const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_IDLE: usize = 16;

struct Inner {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    writer: Arc<AsyncMutex<()>>,
}

/// A pool of connections to one SQLite file. Cheap to clone.
#[derive(Clone)]
pub struct SqlitePool {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SqlitePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlitePool")
            .field("path", &self.inner.path)
            .finish()
    }
}

impl From<rusqlite::Error> for StorageError {
    fn from(err: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(e, message) = &err {
            let kind = match e.extended_code {
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                    return StorageError::UniqueViolation
                }
                rusqlite::ffi::SQLITE_CONSTRAINT_NOTNULL => Some(ConstraintKind::NotNull),
                rusqlite::ffi::SQLITE_CONSTRAINT_CHECK => Some(ConstraintKind::Check),
                rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY => Some(ConstraintKind::ForeignKey),
                _ => None,
            };
            if let Some(kind) = kind {
                return constraint_violation(kind, message.as_deref().unwrap_or(""));
            }
            if matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) {
                return StorageError::Busy;
            }
        }
        StorageError::Database(Box::new(err))
    }
}

/// The typed error of a constraint SQLite refused, from its message:
/// `NOT NULL constraint failed: table.column`, `CHECK constraint failed:
/// name` (the constraint's name, or its expression when unnamed) and
/// `FOREIGN KEY constraint failed` (which names nothing).
fn constraint_violation(kind: ConstraintKind, message: &str) -> StorageError {
    let subject = message
        .split_once("constraint failed:")
        .map(|(_, rest)| rest.trim())
        .filter(|rest| !rest.is_empty());
    let (mut table, mut column, mut constraint) = (None, None, None);
    match (kind, subject) {
        (ConstraintKind::NotNull, Some(subject)) => match subject.split_once('.') {
            Some((t, c)) => {
                table = Some(t.to_owned());
                column = Some(c.to_owned());
            }
            None => column = Some(subject.to_owned()),
        },
        // A plain name is the constraint's; an expression is not shown.
        (ConstraintKind::Check, Some(subject))
            if subject
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_') =>
        {
            constraint = Some(subject.to_owned())
        }
        _ => {}
    }
    StorageError::Constraint {
        kind,
        table,
        column,
        constraint,
    }
}

/// Whether a statement only reads (so it needs no writer lock).
fn is_read(sql: &str) -> bool {
    let head = sql.trim_start();
    head.len() >= 6
        && (head[..6].eq_ignore_ascii_case("select") || head[..4].eq_ignore_ascii_case("with"))
}

/// The file a `sqlite://PATH` (or `sqlite:PATH`) URL names, as written
/// (relative paths are relative to the working directory).
pub fn file_path(url: &str) -> Option<&str> {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .map(|p| p.split('?').next().unwrap_or(p))
        .filter(|p| !p.is_empty() && *p != ":memory:")
}

/// How much of the database file reads map into memory (address space, not
/// memory: pages are the operating system's file cache, shared and
/// reclaimable). Past it, reads use read calls.
const MMAP_BYTES: i64 = 1 << 30;

/// The word-piece index's SQL function (`storage::word_pieces`), which its
/// triggers call on every write of an indexed column. Innocuous (it reads
/// nothing but its argument), so the schema's triggers may use it.
fn register_word_pieces(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    use rusqlite::types::ValueRef;
    conn.create_scalar_function(
        super::word_pieces::FUNCTION,
        1,
        FunctionFlags::SQLITE_UTF8
            | FunctionFlags::SQLITE_DETERMINISTIC
            | FunctionFlags::SQLITE_INNOCUOUS,
        |ctx| {
            Ok(match ctx.get_raw(0) {
                ValueRef::Null => None,
                ValueRef::Text(bytes) | ValueRef::Blob(bytes) => {
                    Some(super::word_pieces::pieces(&String::from_utf8_lossy(bytes)))
                }
                // Numbers have no letters.
                ValueRef::Integer(_) | ValueRef::Real(_) => Some(String::new()),
            })
        },
    )
}

impl SqlitePool {
    /// Opens `sqlite://PATH` (or `sqlite:PATH`), creating the file when missing.
    pub fn open(url: &str) -> Result<SqlitePool> {
        let path = file_path(url).ok_or_else(|| StorageError::UnsupportedUrl(url.to_owned()))?;
        let pool = SqlitePool {
            inner: Arc::new(Inner {
                path: PathBuf::from(path),
                idle: Mutex::new(Vec::new()),
                writer: Arc::new(AsyncMutex::new(())),
            }),
        };
        let conn = pool.connect()?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        pool.release(conn);
        Ok(pool)
    }

    fn connect(&self) -> Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.inner.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Reads through a memory map share the operating system's page cache
        // instead of copying each page into every connection's own 2 MB cache:
        // index lookups that touch many pages (the text indexes' doclists,
        // searches over a million rows) cost a fraction of a read call each.
        conn.pragma_update(None, "mmap_size", MMAP_BYTES)?;
        conn.set_prepared_statement_cache_capacity(128);
        register_word_pieces(&conn)?;
        Ok(conn)
    }

    fn acquire(&self) -> Result<Connection> {
        let idle = self
            .inner
            .idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop();
        match idle {
            Some(conn) => Ok(conn),
            None => self.connect(),
        }
    }

    fn release(&self, conn: Connection) {
        let mut idle = self.inner.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }

    async fn write_lock(&self) -> OwnedMutexGuard<()> {
        self.inner.writer.clone().lock_owned().await
    }

    pub async fn fetch_all(&self, sql: &str, args: &[Value]) -> Result<Vec<Row>> {
        let _guard = if is_read(sql) {
            None
        } else {
            Some(self.write_lock().await)
        };
        let conn = self.acquire()?;
        let result = query(&conn, sql, args);
        self.release(conn);
        result
    }

    pub async fn execute(&self, sql: &str, args: &[Value]) -> Result<u64> {
        let _guard = if is_read(sql) {
            None
        } else {
            Some(self.write_lock().await)
        };
        self.execute_now(sql, args)
    }

    /// A write whose arguments are computed once the writer lock is held.
    pub async fn execute_fresh(&self, sql: &str, args: impl FnOnce() -> Vec<Value>) -> Result<u64> {
        let _guard = self.write_lock().await;
        self.execute_now(sql, &args())
    }

    /// Runs a statement on a pooled connection; the caller holds whatever
    /// lock it needs.
    fn execute_now(&self, sql: &str, args: &[Value]) -> Result<u64> {
        let conn = self.acquire()?;
        let result = execute(&conn, sql, args);
        self.release(conn);
        result
    }

    pub async fn execute_script(&self, sql: &str) -> Result<()> {
        let _guard = self.write_lock().await;
        let conn = self.acquire()?;
        let result = conn.execute_batch(sql).map_err(StorageError::from);
        self.release(conn);
        result
    }

    /// Starts a write transaction holding the process's writer lock and the
    /// database's write lock (`BEGIN IMMEDIATE`).
    pub async fn begin(&self) -> Result<SqliteTx> {
        let guard = self.write_lock().await;
        let conn = self.acquire()?;
        if let Err(err) = conn.execute_batch("BEGIN IMMEDIATE") {
            self.release(conn);
            return Err(err.into());
        }
        Ok(SqliteTx {
            pool: self.clone(),
            conn: Some(conn),
            _guard: Some(guard),
        })
    }

    /// Starts a read transaction: a consistent snapshot (WAL) without the
    /// write lock, so it neither waits for nor holds up writers.
    pub async fn begin_read(&self) -> Result<SqliteTx> {
        let conn = self.acquire()?;
        if let Err(err) = conn.execute_batch("BEGIN DEFERRED") {
            self.release(conn);
            return Err(err.into());
        }
        Ok(SqliteTx {
            pool: self.clone(),
            conn: Some(conn),
            _guard: None,
        })
    }

    pub fn close(&self) {
        self.inner
            .idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

/// A write transaction; rolled back when dropped unfinished.
pub struct SqliteTx {
    pool: SqlitePool,
    conn: Option<Connection>,
    /// The process's writer lock, held by write transactions only.
    _guard: Option<OwnedMutexGuard<()>>,
}

impl SqliteTx {
    fn conn(&self) -> Result<&Connection> {
        self.conn
            .as_ref()
            .ok_or_else(|| StorageError::Database("transaction already finished".into()))
    }

    pub fn fetch_all(&mut self, sql: &str, args: &[Value]) -> Result<Vec<Row>> {
        query(self.conn()?, sql, args)
    }

    pub fn execute(&mut self, sql: &str, args: &[Value]) -> Result<u64> {
        execute(self.conn()?, sql, args)
    }

    fn finish(&mut self, statement: &str) -> Result<()> {
        let conn = self
            .conn
            .take()
            .ok_or_else(|| StorageError::Database("transaction already finished".into()))?;
        let result = conn.execute_batch(statement).map_err(StorageError::from);
        if result.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        self.pool.release(conn);
        result
    }

    pub fn commit(mut self) -> Result<()> {
        self.finish("COMMIT")
    }

    pub fn rollback(mut self) -> Result<()> {
        self.finish("ROLLBACK")
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        if self.conn.is_some() {
            let _ = self.finish("ROLLBACK");
        }
    }
}

fn bind(stmt: &mut rusqlite::CachedStatement<'_>, args: &[Value]) -> Result<()> {
    // The SQL was prepared with `?n` for each `$n` (see `positional`), so
    // `$n` is parameter n: no lookup by name, which SQLite does with a
    // linear scan (quadratic for a many-row INSERT).
    let count = stmt.parameter_count();
    if count != args.len() {
        return Err(StorageError::ArgumentCount {
            placeholders: count,
            given: args.len(),
        });
    }
    for (i, arg) in args.iter().enumerate() {
        let index = i + 1;
        match arg {
            Value::Null | Value::NullInt | Value::NullBool | Value::NullFloat => {
                stmt.raw_bind_parameter(index, rusqlite::types::Null)?
            }
            Value::Text(s) => stmt.raw_bind_parameter(index, s.as_str())?,
            Value::Int(v) => stmt.raw_bind_parameter(index, v)?,
            Value::Float(v) => stmt.raw_bind_parameter(index, v)?,
            Value::Bool(v) => stmt.raw_bind_parameter(index, v)?,
        }
    }
    Ok(())
}

/// The statement with SQLite's numbered parameters: `$3` becomes `?3`
/// (outside quoted literals), which binds by position.
fn positional(sql: &str) -> std::borrow::Cow<'_, str> {
    if !sql.contains('$') {
        return std::borrow::Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '$' if !quoted && chars.peek().is_some_and(char::is_ascii_digit) => out.push('?'),
            _ => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

fn query(conn: &Connection, sql: &str, args: &[Value]) -> Result<Vec<Row>> {
    let mut stmt = conn.prepare_cached(&positional(sql))?;
    bind(&mut stmt, args)?;
    let columns: Vec<(String, bool)> = stmt
        .columns()
        .iter()
        .map(|c| {
            (
                c.name().to_owned(),
                c.decl_type()
                    .is_some_and(|t| t.eq_ignore_ascii_case("BOOLEAN")),
            )
        })
        .collect();
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(columns.len());
        for (i, (name, boolean)) in columns.iter().enumerate() {
            let value = match row.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(v) if *boolean => Value::Bool(v != 0),
                ValueRef::Integer(v) => Value::Int(v),
                ValueRef::Real(v) => Value::Float(v),
                ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Value::Text(String::from_utf8_lossy(b).into_owned()),
            };
            values.push((name.clone(), value));
        }
        out.push(Row { columns: values });
    }
    Ok(out)
}

fn execute(conn: &Connection, sql: &str, args: &[Value]) -> Result<u64> {
    let mut stmt = conn.prepare_cached(&positional(sql))?;
    bind(&mut stmt, args)?;
    if stmt.readonly() || stmt.column_count() > 0 {
        // A statement that returns rows (RETURNING, SELECT): step through them.
        let mut rows = stmt.raw_query();
        while rows.next()?.is_some() {}
        return Ok(conn.changes());
    }
    Ok(stmt.raw_execute()? as u64)
}

#[cfg(test)]
mod positional_tests {
    #[test]
    fn dollar_parameters_become_numbered_ones_outside_literals() {
        assert_eq!(
            super::positional("SELECT a FROM t WHERE b = $1 AND c = '$2' AND d IN ($10, $3)"),
            "SELECT a FROM t WHERE b = ?1 AND c = '$2' AND d IN (?10, ?3)"
        );
        assert!(matches!(
            super::positional("SELECT 1"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}

#[cfg(test)]
mod constraint_tests {
    use super::{constraint_violation, ConstraintKind, StorageError};

    fn parts(err: StorageError) -> (Option<String>, Option<String>, Option<String>) {
        match err {
            StorageError::Constraint {
                table,
                column,
                constraint,
                ..
            } => (table, column, constraint),
            other => panic!("not a constraint error: {other}"),
        }
    }

    #[test]
    fn sqlite_messages_give_the_table_column_or_constraint_they_name() {
        assert_eq!(
            parts(constraint_violation(
                ConstraintKind::NotNull,
                "NOT NULL constraint failed: sn_cdm_node.application"
            )),
            (Some("sn_cdm_node".into()), Some("application".into()), None)
        );
        assert_eq!(
            parts(constraint_violation(
                ConstraintKind::Check,
                "CHECK constraint failed: positive_amount"
            )),
            (None, None, Some("positive_amount".into()))
        );
        // An unnamed CHECK is reported as its expression: SQL, never shown.
        assert_eq!(
            parts(constraint_violation(
                ConstraintKind::Check,
                "CHECK constraint failed: amount > 0"
            )),
            (None, None, None)
        );
        assert_eq!(
            parts(constraint_violation(
                ConstraintKind::ForeignKey,
                "FOREIGN KEY constraint failed"
            )),
            (None, None, None)
        );
    }
}
