//! The storage boundary: one API over SQLite and PostgreSQL.
//!
//! Everything above this module speaks SQL text with `$1`-style placeholders
//! (both databases accept it) and [`Value`]s; the two dialects differ only in
//! the few places named in [`dialect`].

pub mod dialect;
pub mod migrations;
mod record;
mod sqlite;
mod value;
pub mod word_pieces;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{Column, PgPool, Postgres, Row as _, TypeInfo};

pub use sqlite::file_path as sqlite_file_path;
use sqlite::{SqlitePool, SqliteTx};

pub use record::{FromValue, Record, ToValue};
pub use value::{Row, Value};

/// Which database a [`Db`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("a record with the same unique key already exists")]
    UniqueViolation,
    #[error("the database is busy; try again")]
    Busy,
    /// A row the database's integrity rules refuse (NOT NULL, CHECK,
    /// FOREIGN KEY), with the column and constraint where the database
    /// names them. The client's request is at fault, so it is a 400 naming
    /// the field (see `crate::error`), never the SQL.
    #[error("{kind} constraint failed{}", describe_constraint(table.as_deref(), column.as_deref(), constraint.as_deref()))]
    Constraint {
        kind: ConstraintKind,
        table: Option<String>,
        column: Option<String>,
        constraint: Option<String>,
    },
    /// A value the database cannot store in its column (PostgreSQL's data
    /// exceptions: a NUL character in text, a number out of range, text
    /// that is no valid value of the column's type).
    #[error("the database cannot take a value{} (SQLSTATE {code})", column.as_deref().map(|c| format!(" of column {c}")).unwrap_or_default())]
    InvalidValue {
        column: Option<String>,
        /// The SQLSTATE, for the log: which of the exceptions it was.
        code: String,
    },
    #[error("database error: {0}")]
    Database(Box<dyn std::error::Error + Send + Sync>),
    /// A statement given more or fewer arguments than it has placeholders:
    /// a bug in the code that built it, refused on both databases.
    #[error("the statement has {placeholders} placeholders but was given {given} arguments")]
    ArgumentCount { placeholders: usize, given: usize },
    /// A column read as a type it does not hold, or not selected at all: a
    /// bug in the code that reads it, refused rather than read as NULL.
    #[error("column {column}: {problem}")]
    Column { column: String, problem: String },
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    #[error(
        "migration {version} ({name}) has changed since it was applied: its script no longer \
         matches the checksum recorded then; restore the script as it was, and make any change \
         in a new migration"
    )]
    MigrationChanged { version: i64, name: String },
}

/// Which integrity rule of the database a write broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConstraintKind {
    NotNull,
    Check,
    ForeignKey,
}

impl std::fmt::Display for ConstraintKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ConstraintKind::NotNull => "NOT NULL",
            ConstraintKind::Check => "CHECK",
            ConstraintKind::ForeignKey => "FOREIGN KEY",
        })
    }
}

fn describe_constraint(
    table: Option<&str>,
    column: Option<&str>,
    constraint: Option<&str>,
) -> String {
    let mut out = String::new();
    match (table, column) {
        (Some(t), Some(c)) => out.push_str(&format!(" on {t}.{c}")),
        (None, Some(c)) => out.push_str(&format!(" on {c}")),
        (Some(t), None) => out.push_str(&format!(" on {t}")),
        (None, None) => {}
    }
    if let Some(name) = constraint {
        out.push_str(&format!(" ({name})"));
    }
    out
}

/// The column of PostgreSQL's `Key (column)=(value) ...` detail, when it
/// is one plain column.
fn key_column(detail: &str) -> Option<&str> {
    let rest = detail.strip_prefix("Key (")?;
    let column = &rest[..rest.find(")=(")?];
    column
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
        .then_some(column)
}

impl From<sqlx::Error> for StorageError {
    fn from(err: sqlx::Error) -> Self {
        if let Some(db) = err.as_database_error() {
            let kind = match db.kind() {
                sqlx::error::ErrorKind::UniqueViolation => return StorageError::UniqueViolation,
                sqlx::error::ErrorKind::NotNullViolation => Some(ConstraintKind::NotNull),
                sqlx::error::ErrorKind::CheckViolation => Some(ConstraintKind::Check),
                sqlx::error::ErrorKind::ForeignKeyViolation => Some(ConstraintKind::ForeignKey),
                _ => None,
            };
            let pg = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>();
            // PostgreSQL names the column of a NOT NULL violation; for a
            // foreign key only its detail does (`Key (column)=(value) is not
            // present...`), of which the column name is kept, not the value.
            let column = pg
                .and_then(|e| e.column())
                .or_else(|| pg.and_then(|e| e.detail()).and_then(key_column))
                .map(str::to_owned);
            if let Some(kind) = kind {
                return StorageError::Constraint {
                    kind,
                    table: db.table().map(str::to_owned),
                    column,
                    constraint: db.constraint().map(str::to_owned),
                };
            }
            // Class 22, data exceptions, is about the values a statement
            // was given, which come from a request; the exceptions a bug
            // in a statement causes (division by zero and the like) stay
            // internal errors.
            const VALUE_EXCEPTIONS: &[&str] = &[
                "22001", // string_data_right_truncation
                "22003", // numeric_value_out_of_range
                "22007", // invalid_datetime_format
                "22008", // datetime_field_overflow
                "22021", // character_not_in_repertoire (a NUL in text)
                "22P02", // invalid_text_representation
                "22P05", // untranslatable_character
            ];
            if let Some(code) = db
                .code()
                .filter(|code| VALUE_EXCEPTIONS.contains(&code.as_ref()))
            {
                return StorageError::InvalidValue {
                    column,
                    code: code.into_owned(),
                };
            }
        }
        StorageError::Database(Box::new(err))
    }
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// Where SQL runs: the pool (each statement on its own) or a transaction.
///
/// Read helpers take `impl Executor` so one function serves both: pass `&db`
/// (or a `Db`) to read from the pool, `&mut tx` to read inside a transaction
/// and see its own uncommitted writes.
pub trait Executor: Send {
    fn backend(&self) -> Backend;

    fn fetch_all(
        &mut self,
        sql: &str,
        args: &[Value],
    ) -> impl std::future::Future<Output = Result<Vec<Row>>> + Send;

    fn fetch_optional(
        &mut self,
        sql: &str,
        args: &[Value],
    ) -> impl std::future::Future<Output = Result<Option<Row>>> + Send;

    fn execute(
        &mut self,
        sql: &str,
        args: &[Value],
    ) -> impl std::future::Future<Output = Result<u64>> + Send;

    /// The rows of a query decoded as typed records (see [`record!`](crate::record)).
    fn fetch_records<R: Record + Send>(
        &mut self,
        sql: &str,
        args: &[Value],
    ) -> impl std::future::Future<Output = Result<Vec<R>>> + Send
    where
        Self: Sized,
    {
        async move {
            self.fetch_all(sql, args)
                .await?
                .iter()
                .map(R::from_row)
                .collect()
        }
    }

    /// The first row of a query, if any, decoded as a typed record.
    fn fetch_record<R: Record + Send>(
        &mut self,
        sql: &str,
        args: &[Value],
    ) -> impl std::future::Future<Output = Result<Option<R>>> + Send
    where
        Self: Sized,
    {
        async move {
            self.fetch_optional(sql, args)
                .await?
                .as_ref()
                .map(R::from_row)
                .transpose()
        }
    }
}

impl Executor for &Db {
    fn backend(&self) -> Backend {
        Db::backend(self)
    }
    async fn fetch_all(&mut self, sql: &str, args: &[Value]) -> Result<Vec<Row>> {
        Db::fetch_all(self, sql, args).await
    }
    async fn fetch_optional(&mut self, sql: &str, args: &[Value]) -> Result<Option<Row>> {
        Db::fetch_optional(self, sql, args).await
    }
    async fn execute(&mut self, sql: &str, args: &[Value]) -> Result<u64> {
        Db::execute(self, sql, args).await
    }
}

impl Executor for Tx {
    fn backend(&self) -> Backend {
        Tx::backend(self)
    }
    async fn fetch_all(&mut self, sql: &str, args: &[Value]) -> Result<Vec<Row>> {
        Tx::fetch_all(self, sql, args).await
    }
    async fn fetch_optional(&mut self, sql: &str, args: &[Value]) -> Result<Option<Row>> {
        Tx::fetch_optional(self, sql, args).await
    }
    async fn execute(&mut self, sql: &str, args: &[Value]) -> Result<u64> {
        Tx::execute(self, sql, args).await
    }
}

/// A borrowed executor is one too, so a helper can pass `&mut ex` on.
impl<E: Executor + ?Sized> Executor for &mut E {
    fn backend(&self) -> Backend {
        (**self).backend()
    }
    fn fetch_all(
        &mut self,
        sql: &str,
        args: &[Value],
    ) -> impl std::future::Future<Output = Result<Vec<Row>>> + Send {
        (**self).fetch_all(sql, args)
    }
    fn fetch_optional(
        &mut self,
        sql: &str,
        args: &[Value],
    ) -> impl std::future::Future<Output = Result<Option<Row>>> + Send {
        (**self).fetch_optional(sql, args)
    }
    fn execute(
        &mut self,
        sql: &str,
        args: &[Value],
    ) -> impl std::future::Future<Output = Result<u64>> + Send {
        (**self).execute(sql, args)
    }
}

/// A pool of connections to one of the two databases. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    pools: Pools,
    /// Tells apart the databases a process opened (caches key on it).
    instance: u64,
}

static NEXT_INSTANCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn next_instance() -> u64 {
    NEXT_INSTANCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

#[derive(Clone, Debug)]
enum Pools {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Options for opening a [`Db`].
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    pub max_connections: u32,
    /// PostgreSQL only: the schema every connection uses (tests use one each).
    pub pg_schema: Option<String>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            max_connections: 8,
            pg_schema: None,
        }
    }
}

impl Db {
    /// Opens the database named by `url`: `sqlite://PATH` (created when
    /// missing, WAL, busy timeout) or `postgres://...`.
    pub async fn connect(url: &str, options: &ConnectOptions) -> Result<Db> {
        if url.starts_with("sqlite:") {
            Ok(Db {
                pools: Pools::Sqlite(SqlitePool::open(url)?),
                instance: next_instance(),
            })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let mut opts = PgConnectOptions::from_str(url)?;
            if let Some(schema) = &options.pg_schema {
                // The schema also names the connections, so whoever drops
                // the schema can find and end them first.
                opts = opts
                    .options([("search_path", schema.as_str())])
                    .application_name(schema);
            }
            let pool = PgPoolOptions::new()
                .max_connections(options.max_connections.max(1))
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await?;
            Ok(Db {
                pools: Pools::Postgres(pool),
                instance: next_instance(),
            })
        } else {
            Err(StorageError::UnsupportedUrl(url.to_owned()))
        }
    }

    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite(_) => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// A number unique to this opened database within the process.
    pub fn instance(&self) -> u64 {
        self.instance
    }

    pub async fn fetch_all(&self, sql: &str, args: &[Value]) -> Result<Vec<Row>> {
        match &self.pools {
            Pools::Sqlite(p) => p.fetch_all(sql, args).await,
            Pools::Postgres(p) => Ok(bind_pg(sql, args)?
                .fetch_all(p)
                .await?
                .iter()
                .map(decode_pg)
                .collect::<Result<_>>()?),
        }
    }

    pub async fn fetch_optional(&self, sql: &str, args: &[Value]) -> Result<Option<Row>> {
        match &self.pools {
            Pools::Sqlite(p) => Ok(p.fetch_all(sql, args).await?.into_iter().next()),
            Pools::Postgres(p) => Ok(bind_pg(sql, args)?
                .fetch_optional(p)
                .await?
                .as_ref()
                .map(decode_pg)
                .transpose()?),
        }
    }

    pub async fn execute(&self, sql: &str, args: &[Value]) -> Result<u64> {
        match &self.pools {
            Pools::Sqlite(p) => p.execute(sql, args).await,
            Pools::Postgres(p) => Ok(bind_pg(sql, args)?.execute(p).await?.rows_affected()),
        }
    }

    /// Runs a write whose arguments are computed when its turn comes: on
    /// SQLite after waiting for the process's writer lock, which a long
    /// transaction may hold for seconds. For values that must be fresh when
    /// they land, such as a lease's expiry (computed before the wait, it
    /// could already be past when written).
    pub async fn execute_fresh(&self, sql: &str, args: impl FnOnce() -> Vec<Value>) -> Result<u64> {
        match &self.pools {
            Pools::Sqlite(p) => p.execute_fresh(sql, args).await,
            Pools::Postgres(p) => Ok(bind_pg(sql, &args())?.execute(p).await?.rows_affected()),
        }
    }

    /// Runs a script of several statements (migrations).
    pub async fn execute_script(&self, sql: &str) -> Result<()> {
        match &self.pools {
            Pools::Sqlite(p) => p.execute_script(sql).await?,
            Pools::Postgres(p) => sqlx::raw_sql(sql).execute(p).await.map(|_| ())?,
        }
        Ok(())
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so two writers queue on the busy timeout instead of
    /// failing when a read lock cannot be upgraded.
    pub async fn begin(&self) -> Result<Tx> {
        match &self.pools {
            Pools::Sqlite(p) => Ok(Tx {
                inner: TxInner::Sqlite(p.begin().await?),
                db: self.clone(),
                reads_only: false,
            }),
            Pools::Postgres(p) => Ok(Tx {
                inner: TxInner::Postgres(p.begin().await?),
                db: self.clone(),
                reads_only: false,
            }),
        }
    }

    /// Starts a transaction for reads that must see one consistent state
    /// (a tree of nodes and the changeset naming them). On SQLite it takes
    /// no write lock; nothing may be written in it. End it with `rollback`.
    pub async fn begin_read(&self) -> Result<Tx> {
        match &self.pools {
            Pools::Sqlite(p) => Ok(Tx {
                inner: TxInner::Sqlite(p.begin_read().await?),
                db: self.clone(),
                reads_only: true,
            }),
            Pools::Postgres(p) => Ok(Tx {
                inner: TxInner::Postgres(p.begin().await?),
                db: self.clone(),
                reads_only: true,
            }),
        }
    }

    /// The data epoch: a counter every committed transaction moves forward.
    /// A cached answer computed at epoch N is current while the epoch is N.
    pub async fn data_epoch(&self) -> Result<i64> {
        Ok(self
            .fetch_optional(
                "SELECT value FROM tollgate_state WHERE name = 'data_epoch'",
                &[],
            )
            .await?
            .and_then(|r| r.int("value"))
            .unwrap_or(0))
    }

    pub async fn close(&self) {
        match &self.pools {
            Pools::Sqlite(p) => p.close(),
            Pools::Postgres(p) => p.close().await,
        }
    }
}

/// Moves the data epoch (see [`Db::data_epoch`]) one step.
const MOVE_DATA_EPOCH: &str =
    "UPDATE tollgate_state SET value = value + 1 WHERE name = 'data_epoch'";

/// A write transaction: everything in it lands together or not at all.
pub struct Tx {
    inner: TxInner,
    db: Db,
    /// Started by `begin_read`: it writes nothing, so it locks no row.
    reads_only: bool,
}

enum TxInner {
    Sqlite(SqliteTx),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

impl Tx {
    /// Whether rows read to be written are locked (`FOR UPDATE`): on
    /// PostgreSQL, in a write transaction. A read transaction (a page
    /// showing a changeset) must not wait for, nor hold up, a writer.
    pub fn locks_rows(&self) -> bool {
        self.backend() == Backend::Postgres && !self.reads_only
    }

    pub fn backend(&self) -> Backend {
        match self.inner {
            TxInner::Sqlite(_) => Backend::Sqlite,
            TxInner::Postgres(_) => Backend::Postgres,
        }
    }

    pub async fn fetch_all(&mut self, sql: &str, args: &[Value]) -> Result<Vec<Row>> {
        match &mut self.inner {
            TxInner::Sqlite(t) => t.fetch_all(sql, args),
            TxInner::Postgres(t) => Ok(bind_pg(sql, args)?
                .fetch_all(&mut **t)
                .await?
                .iter()
                .map(decode_pg)
                .collect::<Result<_>>()?),
        }
    }

    pub async fn fetch_optional(&mut self, sql: &str, args: &[Value]) -> Result<Option<Row>> {
        Ok(self.fetch_all(sql, args).await?.into_iter().next())
    }

    pub async fn execute(&mut self, sql: &str, args: &[Value]) -> Result<u64> {
        match &mut self.inner {
            TxInner::Sqlite(t) => t.execute(sql, args),
            TxInner::Postgres(t) => {
                Ok(bind_pg(sql, args)?.execute(&mut **t).await?.rows_affected())
            }
        }
    }

    /// Commits and moves the data epoch forward. On SQLite the epoch moves in
    /// the transaction itself: writers run one at a time there anyway, the
    /// data and the epoch become visible together, and a write request pays
    /// for one commit instead of two. On PostgreSQL in a statement of its own
    /// after the commit, so replicas contend on the counter only for that
    /// moment, not for the whole transaction. A read transaction
    /// (`Db::begin_read`) changed nothing and moves nothing.
    pub async fn commit(self) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(mut t) => {
                if !self.reads_only {
                    t.execute(MOVE_DATA_EPOCH, &[])?;
                }
                return t.commit();
            }
            TxInner::Postgres(t) => t.commit().await?,
        }
        if self.reads_only {
            return Ok(());
        }
        if let Err(err) = self.db.execute(MOVE_DATA_EPOCH, &[]).await {
            tracing::error!(error = %err, "could not move the data epoch; cached answers may be stale");
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(t) => t.rollback()?,
            TxInner::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }
}

/// Row locks for commands that read, check a rule and write.
///
/// PostgreSQL runs transactions READ COMMITTED: two callers can both read
/// "phase In Progress", both pass the check and both write. Such a command
/// first locks the row its rule protects; the second caller then waits at
/// the lock until the first commits, and its check reads the state the
/// first left. SQLite needs no lock: a write transaction (`Db::begin`,
/// `BEGIN IMMEDIATE`) already holds the database's write lock, so writers
/// run one at a time (a `Db::begin_read` transaction holds no such lock,
/// and is never written in). How to add one: docs/ARCHITECTURE.md.
impl Tx {
    /// Locks the row of `table` whose `sys_id` is given until the
    /// transaction ends; answers whether the row exists. `table` is a name
    /// from code (it is written into the SQL), never from a request.
    pub async fn lock(&mut self, table: &'static str, sys_id: &str) -> Result<bool> {
        self.lock_by(table, "sys_id", Value::from(sys_id)).await
    }

    /// [`Tx::lock`] for a table keyed by another column (the v3 tables'
    /// numeric `id`).
    pub async fn lock_by(
        &mut self,
        table: &'static str,
        key: &'static str,
        value: Value,
    ) -> Result<bool> {
        let sql = format!(
            "SELECT 1 AS found FROM {table} WHERE {key} = $1{}",
            dialect::for_update(self.backend())
        );
        Ok(self.fetch_optional(&sql, &[value]).await?.is_some())
    }
}

/// Binds values to a PostgreSQL query.
macro_rules! bind_values {
    ($sql:expr, $args:expr) => {{
        let mut q = sqlx::query($sql);
        for arg in $args {
            q = match arg {
                Value::Null => q.bind(None::<String>),
                Value::NullInt => q.bind(None::<i64>),
                Value::NullBool => q.bind(None::<bool>),
                Value::NullFloat => q.bind(None::<f64>),
                Value::Text(s) => q.bind(s.as_str()),
                Value::Int(i) => q.bind(*i),
                Value::Float(f) => q.bind(*f),
                Value::Bool(b) => q.bind(*b),
            };
        }
        q
    }};
}

fn bind_pg<'q>(
    sql: &'q str,
    args: &'q [Value],
) -> Result<sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>> {
    let placeholders = dialect::placeholder_count(sql);
    if placeholders != args.len() {
        return Err(StorageError::ArgumentCount {
            placeholders,
            given: args.len(),
        });
    }
    Ok(bind_values!(sql, args))
}

/// Decodes a PostgreSQL row into [`Value`]s. A value that cannot be read as
/// its column's type, or a type Tollgate never stores, is an error (never a
/// silent NULL).
fn decode_pg(row: &PgRow) -> Result<Row> {
    let mut columns = Vec::with_capacity(row.len());
    for (i, col) in row.columns().iter().enumerate() {
        let type_name = col.type_info().name();
        let failed = |err: sqlx::Error| StorageError::Column {
            column: col.name().to_owned(),
            problem: format!("cannot be read as {type_name}: {err}"),
        };
        let value = match type_name {
            "BOOL" => row
                .try_get::<Option<bool>, _>(i)
                .map_err(failed)?
                .map(Value::Bool),
            "INT8" => row
                .try_get::<Option<i64>, _>(i)
                .map_err(failed)?
                .map(Value::Int),
            "INT4" => row
                .try_get::<Option<i32>, _>(i)
                .map_err(failed)?
                .map(|v| Value::Int(v.into())),
            "INT2" => row
                .try_get::<Option<i16>, _>(i)
                .map_err(failed)?
                .map(|v| Value::Int(v.into())),
            "FLOAT8" => row
                .try_get::<Option<f64>, _>(i)
                .map_err(failed)?
                .map(Value::Float),
            "FLOAT4" => row
                .try_get::<Option<f32>, _>(i)
                .map_err(failed)?
                .map(|v| Value::Float(v.into())),
            "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" => row
                .try_get::<Option<String>, _>(i)
                .map_err(failed)?
                .map(Value::Text),
            other => {
                return Err(StorageError::Column {
                    column: col.name().to_owned(),
                    problem: format!(
                        "has type {other}, which Tollgate does not read; cast it in the query"
                    ),
                })
            }
        };
        columns.push((col.name().to_owned(), value.unwrap_or(Value::Null)));
    }
    Ok(Row { columns })
}

#[cfg(test)]
mod constraint_tests {
    #[test]
    fn a_postgres_key_detail_gives_its_column_but_not_its_value() {
        assert_eq!(
            super::key_column("Key (parent)=(abc) is not present in table \"t\"."),
            Some("parent")
        );
        assert_eq!(super::key_column("Key (a, b)=(1, 2) is not present"), None);
        assert_eq!(super::key_column("Failing row contains (x)."), None);
    }
}
