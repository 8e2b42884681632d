//! CI/CD update sets: configuration changes captured into update sets,
//! retrieved from another instance, previewed for problems, committed,
//! committed in order, and backed out.
//!
//! An update (`sys_update_xml`) carries the changed record's whole payload
//! (every column as text, as stored) and the payload it replaced (the
//! *base*), so a receiving instance can tell whether its own copy moved
//! since (a collision) and a back-out can restore exactly what was there.

pub mod back_out;
pub mod capture;
pub mod commit;
pub mod create;
pub mod hooks;
pub mod jobs;
pub mod operations;
pub mod preview;
pub mod remote;
pub mod retrieve;

use std::collections::HashMap;

use serde_json::{Map, Value as Json};

use crate::domain::records::{null_of, parse_stored, select_list};
use crate::error::{Error, ErrorKind, Result};
use crate::registry::{self, quote, Table, SYSTEM_COLUMNS};
use crate::storage::{Row, Tx, Value};

/// The user preference naming a user's current update set.
pub const CURRENT_UPDATE_SET: &str = "sys_update_set";
pub const INSERT_OR_UPDATE: &str = "INSERT_OR_UPDATE";
pub const DELETE: &str = "DELETE";

/// Bound parameters per statement when writing many rows at once (SQLite
/// allows 32,766, PostgreSQL 65,535).
const PARAMS_PER_STATEMENT: usize = 30_000;

/// A record as an update carries it: every column's stored value as text,
/// NULL as JSON null.
pub type Payload = Map<String, Json>;

pub fn payload_of(table: &Table, row: &Row) -> Payload {
    table
        .all_columns()
        .into_iter()
        .map(|c| {
            let value = match row.get(c.name) {
                Some(v) if !v.is_null() => Json::String(v.to_display_string()),
                _ => Json::Null,
            };
            (c.name.to_owned(), value)
        })
        .collect()
}

pub fn parse_payload(text: Option<&str>) -> Result<Option<Payload>> {
    match text.filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => match serde_json::from_str::<Json>(t) {
            Ok(Json::Object(map)) => Ok(Some(map)),
            _ => Err(Error::invalid(
                "payload",
                "is not a JSON object of the record's fields",
            )),
        },
    }
}

/// Whether two payloads hold the same record content (system fields, which
/// differ between instances by nature, aside).
pub fn same_content(table: &Table, a: &Payload, b: &Payload) -> bool {
    let text = |p: &Payload, name: &str| match p.get(name) {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    table
        .all_columns()
        .into_iter()
        .filter(|c| !SYSTEM_COLUMNS.iter().any(|s| s.name == c.name))
        .all(|c| text(a, c.name) == text(b, c.name))
}

/// The configuration table an update names, or why it cannot be applied here.
pub fn configuration_table(name: &str) -> Option<&'static Table> {
    registry::table(name).filter(|t| t.configuration)
}

/// The user applying updates (a commit or a back-out) with the roles they
/// hold now: an update set moves changes, never rights, so each update is
/// applied only to a table its user could write directly.
pub struct Applier {
    pub user_name: String,
    roles: Vec<String>,
}

impl Applier {
    /// Reads `user_name`'s roles inside the applying transaction.
    pub async fn load(tx: &mut Tx, user_name: &str) -> Result<Applier> {
        let rows = tx
            .fetch_all(
                "SELECT r.name FROM sys_user u \
                 JOIN sys_user_has_role h ON h.\"user\" = u.sys_id \
                 JOIN sys_user_role r ON r.sys_id = h.role \
                 WHERE u.user_name = $1 AND u.active = $2",
                &[Value::from(user_name), Value::Bool(true)],
            )
            .await?;
        Ok(Applier {
            user_name: user_name.to_owned(),
            roles: rows.iter().map(|r| r.string("name")).collect(),
        })
    }

    /// Refuses an update of `table` the user may not write directly (the
    /// Table API's rule: admin, or one of the table's write roles; never a
    /// table only the server writes).
    pub fn may_write(&self, table: &Table, update: &str) -> Result<()> {
        let admin = self
            .roles
            .iter()
            .any(|r| r == crate::identity::roles::ADMIN);
        let listed = self
            .roles
            .iter()
            .any(|r| table.write_roles.contains(&r.as_str()));
        if !table.server_written() && (admin || listed) {
            return Ok(());
        }
        let needs = if table.server_written() {
            "no user may write it".to_owned()
        } else if table.write_roles.is_empty() {
            "it needs the admin role".to_owned()
        } else {
            format!(
                "it needs one of the roles: {}",
                table.write_roles.join(", ")
            )
        };
        Err(Error::new(
            ErrorKind::Forbidden,
            format!(
                "The update {update} writes {}, which {} may not write ({needs})",
                table.name, self.user_name
            ),
        )
        .with_field("table"))
    }
}

/// A payload as it is applied here: its content, with system fields telling
/// the truth about this instance (who applied it and when; creation kept
/// from the local record, or now for a new one) rather than what the remote
/// side claimed.
pub fn applied_payload(
    payload: &Payload,
    before: Option<&Payload>,
    actor: &str,
    now: &str,
) -> Payload {
    let mut out = payload.clone();
    let text = |s: &str| Json::String(s.to_owned());
    let (created_on, created_by, mod_count) = match before {
        Some(b) => (
            b.get("sys_created_on").cloned().unwrap_or(text(now)),
            b.get("sys_created_by").cloned().unwrap_or(text(actor)),
            b.get("sys_mod_count")
                .and_then(|v| match v {
                    Json::String(s) => s.parse::<i64>().ok(),
                    other => other.as_i64(),
                })
                .map_or(0, |n| n + 1),
        ),
        None => (text(now), text(actor), 0),
    };
    out.insert("sys_created_on".into(), created_on);
    out.insert("sys_created_by".into(), created_by);
    out.insert("sys_updated_on".into(), text(now));
    out.insert("sys_updated_by".into(), text(actor));
    out.insert("sys_mod_count".into(), Json::String(mod_count.to_string()));
    out
}

/// The rows of `table` with the given sys_ids, by sys_id.
pub async fn rows_by_id(
    tx: &mut Tx,
    table: &Table,
    ids: &[String],
) -> Result<HashMap<String, Row>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT {} FROM {} WHERE sys_id IN ({}){}",
            select_list(table),
            table.storage(),
            placeholders.join(", "),
            table.class_filter()
        );
        let args: Vec<Value> = chunk.iter().map(Value::from).collect();
        for row in tx.fetch_all(&sql, &args).await? {
            out.insert(row.string("sys_id"), row);
        }
    }
    Ok(out)
}

/// Writes a payload as the record's state: updates it when it exists,
/// inserts it otherwise. System fields travel with the payload, so the
/// record is the same on both instances.
pub async fn write_payload(
    tx: &mut Tx,
    table: &Table,
    sys_id: &str,
    payload: &Payload,
    exists: bool,
) -> Result<()> {
    let mut names = Vec::new();
    let mut args = Vec::new();
    for column in table.all_columns() {
        if column.name == "sys_id" {
            continue;
        }
        let Some(raw) = payload.get(column.name) else {
            continue;
        };
        let value = match raw {
            Json::String(s) => parse_stored(column, s),
            Json::Null => null_of(column),
            other => parse_stored(column, &other.to_string()),
        };
        names.push(column.name);
        args.push(value);
    }
    if table.in_hierarchy() && !names.contains(&"sys_class_name") {
        names.push("sys_class_name");
        args.push(Value::from(table.name));
    }
    args.push(Value::from(sys_id));
    let sql = if exists {
        let sets: Vec<String> = names
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{} = ${}", quote(n), i + 1))
            .collect();
        format!(
            "UPDATE {} SET {} WHERE sys_id = ${}",
            table.storage(),
            sets.join(", "),
            args.len()
        )
    } else {
        let mut columns: Vec<String> = names.iter().map(|n| quote(n)).collect();
        columns.push("sys_id".into());
        let placeholders: Vec<String> = (1..=args.len()).map(|i| format!("${i}")).collect();
        format!(
            "INSERT INTO {} ({}) VALUES ({})",
            table.storage(),
            columns.join(", "),
            placeholders.join(", ")
        )
    };
    tx.execute(&sql, &args).await?;
    Ok(())
}

pub async fn delete_record(tx: &mut Tx, table: &Table, sys_id: &str) -> Result<()> {
    tx.execute(
        &format!(
            "DELETE FROM {} WHERE sys_id = $1{}",
            table.storage(),
            table.class_filter()
        ),
        &[Value::from(sys_id)],
    )
    .await?;
    Ok(())
}

/// Inserts many new rows (made by [`new_row`]) with as few statements as the
/// databases' parameter limits allow; `own_columns` name the values after
/// the system fields.
pub async fn insert_rows(
    tx: &mut Tx,
    table: &str,
    own_columns: &[&str],
    rows: Vec<Vec<Value>>,
) -> Result<()> {
    let columns: Vec<&str> = SYSTEM_COLUMNS
        .iter()
        .map(|c| c.name)
        .chain(own_columns.iter().copied())
        .collect();
    let per_statement = (PARAMS_PER_STATEMENT / columns.len().max(1)).max(1);
    let column_list: Vec<String> = columns.iter().map(|c| quote(c)).collect();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Value>> = rows.by_ref().take(per_statement).collect();
        let mut groups = Vec::with_capacity(chunk.len());
        let mut args = Vec::with_capacity(chunk.len() * columns.len());
        for row in chunk {
            let start = args.len();
            let placeholders: Vec<String> =
                (1..=row.len()).map(|i| format!("${}", start + i)).collect();
            groups.push(format!("({})", placeholders.join(", ")));
            args.extend(row);
        }
        let sql = format!(
            "INSERT INTO {table} ({}) VALUES {}",
            column_list.join(", "),
            groups.join(", ")
        );
        tx.execute(&sql, &args).await?;
    }
    Ok(())
}

/// A new row's values for [`insert_rows`]: its system fields (a new sys_id,
/// created and updated now by `actor`, never modified) followed by `rest`.
pub fn new_row(now: &str, actor: &str, rest: Vec<Value>) -> Vec<Value> {
    let mut row = crate::domain::records::new_system_values(&crate::ids::new_sys_id(), now, actor);
    row.extend(rest);
    row
}

/// The `$1, $2, ...` placeholders for `n` values starting after `offset`.
pub fn placeholders(offset: usize, n: usize) -> String {
    (offset + 1..=offset + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}
