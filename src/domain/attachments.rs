//! Attachments: files attached to records, kept in the database so that every
//! replica (and both databases) serve them alike. A file is one
//! `sys_attachment` row (name, content type, size, SHA-256) and its bytes in
//! `sys_attachment_doc`, base64 text in chunks of [`CHUNK_BYTES`].
//!
//! Access follows the record a file is attached to (its parent):
//!
//! - seeing a file (its metadata, its bytes) needs the parent table's read
//!   roles (or write roles) and a parent record the caller may see; anything
//!   else reads as a missing attachment (404), as the vendor answers;
//! - attaching and deleting need the parent table's write roles (and the
//!   identity rules on that record, `identity::rights`), after the read rule.
//!
//! A parent is a registered table's record, or a ServiceDesk-style release
//! (`table_name` [`SDP_RELEASE`], `table_sys_id` its id): seen by its
//! technicians and administrators, attached to by those who may edit it in
//! its current stage. Deleting a record through the Table API deletes its
//! files ([`delete_of_record`]).

use base64::Engine;
use serde_json::Map;
use sha2::{Digest, Sha256};

use super::encoded_query::{EncodedQuery, BASE};
use super::records;
use crate::error::{Error, ErrorKind, Result};
use crate::identity::rights::{self, TableWrite};
use crate::identity::{roles, Caller};
use crate::registry::{self, Table, TABLES};
use crate::storage::{Db, Executor, Record, Tx, Value};

/// The table files are registered in.
pub const TABLE: &str = "sys_attachment";

/// The `table_name` of a file attached to a ServiceDesk-style release.
pub const SDP_RELEASE: &str = "sdp_release";

/// Raw bytes per stored chunk (a multiple of 3: base64 without padding
/// inside a file).
pub const CHUNK_BYTES: usize = 3 * 64 * 1024;

/// Longest file name and content type accepted, in bytes.
const MAX_NAME_BYTES: usize = 255;

/// Who sees a v3 release.
const SDP_STAFF: &[&str] = &[roles::SDP_ADMIN, roles::SDP_TECHNICIAN];

crate::record! {
    /// One attached file's metadata (a `sys_attachment` row).
    #[derive(Clone, Debug)]
    pub struct Attachment in "sys_attachment" {
        pub sys_id: String,
        pub sys_created_on: String,
        pub sys_created_by: String,
        pub sys_updated_on: String,
        pub sys_updated_by: String,
        pub sys_mod_count: i64,
        pub table_name: String,
        pub table_sys_id: String,
        pub file_name: String,
        pub content_type: String,
        pub size_bytes: i64,
        /// SHA-256 of the bytes, lower-case hex.
        pub hash: String,
        pub chunk_count: i64,
    }
}

/// The record a file is attached to.
enum Parent {
    Record(&'static Table, String),
    Release(i64),
}

/// What a caller wants to do with a parent's files.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    Read,
    Write,
}

/// A new file, as the upload endpoints read it.
pub struct NewFile<'a> {
    pub table_name: &'a str,
    pub table_sys_id: &'a str,
    pub file_name: &'a str,
    pub content_type: Option<&'a str>,
    pub bytes: &'a [u8],
}

fn attachment_not_found(sys_id: &str) -> Error {
    Error::not_found("Attachment not found").with_detail(format!(
        "The attachment {sys_id} does not exist, or the current user cannot access it"
    ))
}

fn parent_not_found(table_name: &str, table_sys_id: &str) -> Error {
    Error::not_found("Record not found").with_detail(format!(
        "The record {table_name} {table_sys_id} does not exist, or the current user cannot \
         access it"
    ))
}

/// The parent a `table_name` names: a registered table (not a view, not
/// the attachments themselves) or a v3 release.
fn parent_of(table_name: &str, table_sys_id: &str) -> Result<Parent> {
    if table_name == SDP_RELEASE {
        return table_sys_id
            .parse::<i64>()
            .map(Parent::Release)
            .map_err(|_| parent_not_found(table_name, table_sys_id));
    }
    match registry::table(table_name) {
        Some(table) if table.name != TABLE => Ok(Parent::Record(table, table_sys_id.to_owned())),
        _ => Err(Error::invalid(
            "table_name",
            format!("{table_name:?} is not a table files can be attached to"),
        )),
    }
}

fn may_read_table(caller: &Caller, table: &Table) -> bool {
    caller.has_any(table.read_roles) || caller.has_any(table.write_roles)
}

/// Checks the caller's access to a parent, inside `tx` (for a write, after
/// locking the parent row, so that a delete of the parent waits for the
/// write and then removes the new file with it). A parent the caller may not
/// see reads as missing.
async fn check_parent(
    db: &Db,
    tx: &mut Tx,
    caller: &Caller,
    parent: &Parent,
    want: Want,
) -> Result<()> {
    match parent {
        Parent::Record(table, sys_id) => {
            let missing = || parent_not_found(table.name, sys_id);
            if !may_read_table(caller, table) {
                return Err(missing());
            }
            if want == Want::Write && !table.view {
                tx.lock(table.storage(), sys_id).await?;
            }
            let row = records::get(&mut *tx, table, sys_id)
                .await?
                .ok_or_else(missing)?;
            rights::check_read(caller, table, &row).map_err(|_| missing())?;
            if want == Want::Write {
                if table.view {
                    return Err(Error::new(
                        ErrorKind::Forbidden,
                        format!(
                            "{} is a read-only view: files cannot be attached to it",
                            table.name
                        ),
                    )
                    .with_field("table_name"));
                }
                // Attaching changes no field of the record, so a table the
                // server writes still takes files from its writers' roles.
                caller.require_any(table.write_roles)?;
                let none = Map::new();
                rights::check_write(
                    tx,
                    caller,
                    table,
                    TableWrite::Update {
                        sys_id,
                        input: &none,
                    },
                )
                .await?;
            }
            Ok(())
        }
        Parent::Release(id) => {
            let missing = || parent_not_found(SDP_RELEASE, &id.to_string());
            if !caller.has_any(SDP_STAFF) {
                return Err(missing());
            }
            if want == Want::Write {
                tx.lock_by(SDP_RELEASE, "id", Value::Int(*id)).await?;
            }
            let exists = tx
                .fetch_optional(
                    "SELECT id FROM sdp_release WHERE id = $1",
                    &[Value::Int(*id)],
                )
                .await?
                .is_some();
            if !exists {
                return Err(missing());
            }
            if want == Want::Write {
                // Read through the pool: the release row is locked above,
                // so what decides the permissions cannot change meanwhile.
                super::sdp::permissions::of(db, *id, caller)
                    .await?
                    .require_edit()?;
            }
            Ok(())
        }
    }
}

fn check_name(field: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::missing(field));
    }
    if value.len() > MAX_NAME_BYTES {
        return Err(Error::invalid(
            field,
            format!("longer than {MAX_NAME_BYTES} bytes"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::invalid(field, "control characters are not allowed"));
    }
    Ok(())
}

/// A content type as stored and served back: `type/subtype` and parameters,
/// visible ASCII (it becomes a header value). None or empty reads as
/// `application/octet-stream`.
fn content_type(given: Option<&str>) -> Result<String> {
    let value = given.map(str::trim).unwrap_or("");
    if value.is_empty() {
        return Ok("application/octet-stream".to_owned());
    }
    let visible = value.bytes().all(|b| (0x20..0x7f).contains(&b));
    if !visible || value.len() > MAX_NAME_BYTES || !value.contains('/') {
        return Err(Error::invalid(
            "Content-Type",
            "not a media type such as image/png",
        ));
    }
    Ok(value.to_owned())
}

/// Stores a file on a record the caller may write; `max_bytes` is the size
/// limit (`attachment_max_bytes`).
pub async fn attach(
    db: &Db,
    caller: &Caller,
    file: NewFile<'_>,
    max_bytes: usize,
) -> Result<Attachment> {
    check_name("table_name", file.table_name)?;
    check_name("table_sys_id", file.table_sys_id)?;
    check_name("file_name", file.file_name)?;
    let content_type = content_type(file.content_type)?;
    if file.bytes.len() > max_bytes {
        return Err(Error::new(
            ErrorKind::PayloadTooLarge,
            format!("The file is larger than the limit of {max_bytes} bytes"),
        ));
    }
    let parent = parent_of(file.table_name, file.table_sys_id)?;
    // A release is kept under its id as the lists read it ("1", not "+1"
    // or "01", which would attach a file no list shows).
    let table_sys_id = match &parent {
        Parent::Release(id) => id.to_string(),
        Parent::Record(..) => file.table_sys_id.to_owned(),
    };
    let chunks: Vec<&[u8]> = file.bytes.chunks(CHUNK_BYTES).collect();
    let now = crate::time::now_string();
    let attachment = Attachment {
        sys_id: crate::ids::new_sys_id(),
        sys_created_on: now.clone(),
        sys_created_by: caller.user_name.clone(),
        sys_updated_on: now,
        sys_updated_by: caller.user_name.clone(),
        sys_mod_count: 0,
        table_name: file.table_name.to_owned(),
        table_sys_id,
        file_name: file.file_name.to_owned(),
        content_type,
        size_bytes: file.bytes.len() as i64,
        hash: hex::encode(Sha256::digest(file.bytes)),
        chunk_count: chunks.len() as i64,
    };
    let mut tx = db.begin().await?;
    check_parent(db, &mut tx, caller, &parent, Want::Write).await?;
    let (sql, args) = attachment.insert(Vec::new());
    tx.execute(&sql, &args).await?;
    let b64 = base64::engine::general_purpose::STANDARD;
    for (n, chunk) in chunks.iter().enumerate() {
        tx.execute(
            "INSERT INTO sys_attachment_doc (attachment, chunk, data) VALUES ($1, $2, $3)",
            &[
                Value::from(attachment.sys_id.as_str()),
                Value::Int(n as i64),
                Value::Text(b64.encode(chunk)),
            ],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(attachment)
}

/// A file's metadata, if the caller may see it.
pub async fn get(db: &Db, caller: &Caller, sys_id: &str) -> Result<Attachment> {
    let mut tx = db.begin_read().await?;
    let found = readable(db, &mut tx, caller, sys_id).await;
    tx.rollback().await?;
    found
}

async fn readable(db: &Db, tx: &mut Tx, caller: &Caller, sys_id: &str) -> Result<Attachment> {
    if !crate::ids::is_sys_id(sys_id) {
        return Err(attachment_not_found(sys_id));
    }
    let ex = &mut *tx;
    let attachment = ex
        .fetch_record::<Attachment>(
            &Attachment::select_where("sys_id = $1"),
            &[Value::from(sys_id)],
        )
        .await?
        .ok_or_else(|| attachment_not_found(sys_id))?;
    let parent = parent_of(&attachment.table_name, &attachment.table_sys_id)
        .map_err(|_| attachment_not_found(sys_id))?;
    check_parent(db, tx, caller, &parent, Want::Read)
        .await
        .map_err(|_| attachment_not_found(sys_id))?;
    Ok(attachment)
}

/// A file's metadata and bytes, if the caller may see it; the bytes are
/// checked against the stored size and hash (a damaged file is an error,
/// never served).
pub async fn content(db: &Db, caller: &Caller, sys_id: &str) -> Result<(Attachment, Vec<u8>)> {
    let mut tx = db.begin_read().await?;
    let attachment = match readable(db, &mut tx, caller, sys_id).await {
        Ok(a) => a,
        Err(e) => {
            tx.rollback().await?;
            return Err(e);
        }
    };
    let rows = tx
        .fetch_all(
            "SELECT data FROM sys_attachment_doc WHERE attachment = $1 ORDER BY chunk",
            &[Value::from(sys_id)],
        )
        .await?;
    tx.rollback().await?;
    let size = usize::try_from(attachment.size_bytes).unwrap_or(0);
    let mut bytes = Vec::with_capacity(size);
    let b64 = base64::engine::general_purpose::STANDARD;
    for row in &rows {
        b64.decode_vec(row.string("data"), &mut bytes)
            .map_err(|e| Error::internal(format!("attachment {sys_id}: bad chunk: {e}")))?;
    }
    if bytes.len() != size || hex::encode(Sha256::digest(&bytes)) != attachment.hash {
        return Err(Error::internal(format!(
            "attachment {sys_id}: stored bytes do not match its size and hash"
        )));
    }
    Ok((attachment, bytes))
}

/// Deletes a file the caller may see, if it may write its parent.
pub async fn delete(db: &Db, caller: &Caller, sys_id: &str) -> Result<()> {
    let mut tx = db.begin().await?;
    let attachment = readable(db, &mut tx, caller, sys_id).await?;
    let parent = parent_of(&attachment.table_name, &attachment.table_sys_id)?;
    check_parent(db, &mut tx, caller, &parent, Want::Write).await?;
    delete_rows(&mut tx, "sys_id = $1", &[Value::from(sys_id)]).await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes the files whose `sys_attachment` rows match `condition`.
async fn delete_rows(tx: &mut Tx, condition: &str, args: &[Value]) -> Result<()> {
    tx.execute(
        &format!(
            "DELETE FROM sys_attachment_doc WHERE attachment IN \
             (SELECT sys_id FROM sys_attachment WHERE {condition})"
        ),
        args,
    )
    .await?;
    tx.execute(
        &format!("DELETE FROM sys_attachment WHERE {condition}"),
        args,
    )
    .await?;
    Ok(())
}

/// Deletes the files of a record being deleted (inside its delete's
/// transaction), whichever class of the table's hierarchy they were
/// attached under.
pub async fn delete_of_record(tx: &mut Tx, table: &Table, sys_id: &str) -> Result<()> {
    let root = registry::table(table.storage()).unwrap_or(table);
    let classes = root.classes();
    let mut args = vec![Value::from(sys_id)];
    let mut names = Vec::new();
    for class in classes {
        args.push(Value::from(class));
        names.push(format!("${}", args.len()));
    }
    let condition = format!("table_sys_id = $1 AND table_name IN ({})", names.join(", "));
    delete_rows(tx, &condition, &args).await
}

/// Deletes the files of a v3 release being deleted for good.
pub async fn delete_of_release(tx: &mut Tx, release_id: i64) -> Result<()> {
    delete_rows(
        tx,
        "table_name = $1 AND table_sys_id = $2",
        &[
            Value::from(SDP_RELEASE),
            Value::from(release_id.to_string()),
        ],
    )
    .await
}

/// Deletes the files of every row of `table` whose `column` is `value` (the
/// rows a cascading delete is about to remove).
pub async fn delete_of_rows_where(
    tx: &mut Tx,
    table: &Table,
    column: &str,
    value: &str,
) -> Result<()> {
    let condition = format!(
        "table_sys_id IN (SELECT sys_id FROM {} WHERE {} = $1)",
        table.storage(),
        registry::quote(column)
    );
    delete_rows(tx, &condition, &[Value::from(value)]).await
}

/// Which files a list asks for: an encoded query on `sys_attachment` and
/// name-value pairs (`table_sys_id=...`, as servicenow-rest-api sends), AND-ed;
/// a pair naming no field of `sys_attachment` is refused, as on the Table API.
pub struct ListFilter<'a> {
    pub query: &'a str,
    /// Sorted by name, so the SQL is the same each time.
    pub pairs: Vec<(&'a str, &'a str)>,
}

/// One page of the files the caller may see, matching an encoded query on
/// `sys_attachment`, and how many match in all.
pub async fn list(
    db: &Db,
    caller: &Caller,
    filter: &ListFilter<'_>,
    limit: i64,
    offset: i64,
    max_terms: usize,
) -> Result<(Vec<Attachment>, i64)> {
    let table = registry::table(TABLE)
        .ok_or_else(|| Error::internal("sys_attachment is not registered"))?;
    let mut parsed = EncodedQuery::parse(table, filter.query, max_terms)?;
    if filter.pairs.len() > max_terms {
        return Err(Error::invalid(
            "sysparm_query",
            format!(
                "the URL has {} name-value pairs; at most {max_terms} are accepted",
                filter.pairs.len()
            ),
        ));
    }
    for (name, value) in &filter.pairs {
        parsed.require_pair(name, value)?;
    }
    let mut args = Vec::new();
    let mut condition = format!("({})", parsed.where_sql(db.backend(), 1, &mut args));
    if !caller.is_admin() {
        // The tables whose records the caller sees whole; a table that
        // shows each caller only its own rows (preferences) is left out.
        let mut readable: Vec<&str> = TABLES
            .iter()
            .filter(|t| t.name != TABLE && may_read_table(caller, t))
            .filter(|t| rights::read_scope(caller, t).is_none())
            .map(|t| t.name)
            .collect();
        if caller.has_any(SDP_STAFF) {
            readable.push(SDP_RELEASE);
        }
        if readable.is_empty() {
            return Ok((Vec::new(), 0));
        }
        let mut names = Vec::new();
        for name in readable {
            args.push(Value::from(name));
            names.push(format!("${}", args.len()));
        }
        condition.push_str(&format!(" AND {BASE}.table_name IN ({})", names.join(", ")));
    }
    // The query's columns are qualified by the listed table's alias (and
    // may walk references through joins).
    let from = parsed.from_sql();
    let total = db
        .fetch_optional(
            &format!("SELECT COUNT(*) AS n FROM {from} WHERE {condition}"),
            &args,
        )
        .await?
        .and_then(|r| r.int("n"))
        .unwrap_or(0);
    let n = args.len();
    let sql = format!(
        "SELECT {} FROM {from} WHERE {condition} ORDER BY {} LIMIT ${} OFFSET ${}",
        Attachment::select_list(Some(BASE)),
        parsed.order_sql(),
        n + 1,
        n + 2
    );
    args.push(Value::Int(limit));
    args.push(Value::Int(offset));
    let mut ex = db;
    let rows = ex.fetch_records::<Attachment>(&sql, &args).await?;
    Ok((rows, total))
}

/// The files of a v3 release, oldest first (for its answer's
/// `attachments`); the caller has already been allowed to see the release.
pub async fn of_release(mut ex: impl Executor, release_id: i64) -> Result<Vec<Attachment>> {
    Ok(ex
        .fetch_records::<Attachment>(
            &Attachment::select_where("table_name = $1 AND table_sys_id = $2 ORDER BY sys_id"),
            &[
                Value::from(SDP_RELEASE),
                Value::from(release_id.to_string()),
            ],
        )
        .await?)
}

/// A v3 release's `attachments`: each file's id, name, content type, size
/// and where its bytes are (the Attachment API), oldest first.
pub async fn release_json(ex: impl Executor, release_id: i64) -> Result<serde_json::Value> {
    let files = of_release(ex, release_id).await?;
    Ok(serde_json::Value::Array(
        files
            .iter()
            .map(|a| {
                serde_json::json!({
                    "id": a.sys_id,
                    "name": a.file_name,
                    "content_type": a.content_type,
                    "size": {
                        "value": a.size_bytes,
                        "display_value": display_size(a.size_bytes),
                    },
                    "content_url": format!("/api/now/attachment/{}/file", a.sys_id),
                    "hash": a.hash,
                })
            })
            .collect(),
    ))
}

/// `812 bytes`, `1.50 KB`, `2.00 MB`.
pub fn display_size(bytes: i64) -> String {
    const KB: f64 = 1024.0;
    let b = bytes as f64;
    if b < KB {
        format!("{bytes} bytes")
    } else if b < KB * KB {
        format!("{:.2} KB", b / KB)
    } else {
        format!("{:.2} MB", b / (KB * KB))
    }
}
