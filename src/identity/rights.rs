//! Who may change whom: the rules above a table's write roles for the
//! records that carry rights (users, role grants) and the records that
//! belong to one user (preferences).
//!
//! - A role may be granted or revoked only by a caller who holds it.
//! - A user, or a user's role grants, may be changed or deleted only by a
//!   caller who holds every role that user holds. Resetting a password or
//!   unlocking an account hands its rights to whoever knows the new secret,
//!   so managing a user is worth exactly that user's roles; in particular
//!   only `admin` changes an admin.
//! - A preference belongs to its user: others (but `admin`) neither see nor
//!   write it. A preference steers that user's work (its current update set
//!   decides what the user's writes are captured into).
//! - No one deactivates, locks out or deletes themselves (`active` set false
//!   or `locked_out` set true on, or a delete of, the caller's own user),
//!   not even `admin`: the last
//!   administrator would lock everyone out, and it ends the caller's own
//!   session mid-change.
//!
//! `admin` passes every other rule. The table's own read and write roles are
//! checked first, by the caller of these functions.

use serde_json::{Map, Value as Json};

use super::{users, Caller};
use crate::domain::records;
use crate::error::{Error, ErrorKind, Result};
use crate::registry::{Column, Table};
use crate::storage::{Row, Tx, Value};

/// A write through the Table API, before it is made.
pub enum TableWrite<'a> {
    Insert(&'a Map<String, Json>),
    Update {
        sys_id: &'a str,
        input: &'a Map<String, Json>,
    },
    Delete {
        sys_id: &'a str,
    },
}

/// The column that names a record's owning user, for tables whose records
/// belong to one user.
fn owner_column(table: &Table) -> Option<&'static Column> {
    match table.name {
        "sys_user_preference" => table.column("user"),
        _ => None,
    }
}

/// For a list: the owner a caller's reads are limited to (column and user
/// sys_id), or None when the caller sees every record of the table.
pub fn read_scope(caller: &Caller, table: &Table) -> Option<(&'static Column, String)> {
    if caller.is_admin() {
        return None;
    }
    owner_column(table).map(|c| (c, caller.user_id.clone()))
}

/// For a single record: another user's record reads as missing, as the
/// vendor answers for a record an ACL hides.
pub fn check_read(caller: &Caller, table: &Table, row: &Row) -> Result<()> {
    match read_scope(caller, table) {
        Some((column, owner)) if row.string(column.name) != owner => {
            Err(records::record_not_found(table, &row.string("sys_id")))
        }
        _ => Ok(()),
    }
}

/// Refuses a write the caller's roles do not cover. Runs inside the write's
/// transaction, before the write, so that it judges the records the write
/// changes (on SQLite no other write can land in between). The write
/// validates the input itself: a value this check cannot read (wrong type)
/// is left for that validation to refuse.
pub async fn check_write(
    tx: &mut Tx,
    caller: &Caller,
    table: &Table,
    write: TableWrite<'_>,
) -> Result<()> {
    if table.name == "sys_user" {
        match &write {
            TableWrite::Update { sys_id, input } if sets(table, input, "active", false).await => {
                may_deactivate(caller, sys_id)?;
            }
            TableWrite::Update { sys_id, input }
                if *sys_id == caller.user_id && sets(table, input, "locked_out", true).await =>
            {
                return Err(against_oneself("locked_out", "lock yourself out"));
            }
            TableWrite::Delete { sys_id } if *sys_id == caller.user_id => {
                return Err(against_oneself("sys_id", "delete your own user"));
            }
            _ => {}
        }
    }
    if caller.is_admin() {
        return Ok(());
    }
    match table.name {
        "sys_user" => match write {
            TableWrite::Insert(_) => Ok(()),
            TableWrite::Update { sys_id, .. } | TableWrite::Delete { sys_id } => {
                may_manage_user(tx, caller, sys_id, "sys_id").await
            }
        },
        "sys_user_has_role" => {
            if let TableWrite::Update { sys_id, .. } | TableWrite::Delete { sys_id } = write {
                // The grant as it stands: revoking it (or moving it) is
                // changing that user's rights with that role.
                if let Some(row) = records::get(&mut *tx, table, sys_id).await? {
                    may_manage_user(tx, caller, &row.string("user"), "user").await?;
                    may_grant(tx, caller, &row.string("role")).await?;
                }
            }
            if let TableWrite::Insert(input) | TableWrite::Update { input, .. } = write {
                if let Some(user) = reference(input, "user") {
                    may_manage_user(tx, caller, &user, "user").await?;
                }
                if let Some(role) = reference(input, "role") {
                    may_grant(tx, caller, &role).await?;
                }
            }
            Ok(())
        }
        _ => match (owner_column(table), write) {
            (None, _) => Ok(()),
            (Some(column), TableWrite::Insert(input)) => owned_by_caller(caller, column, input),
            (Some(column), TableWrite::Update { sys_id, input }) => {
                existing_owned_by_caller(tx, caller, table, column, sys_id).await?;
                owned_by_caller(caller, column, input)
            }
            (Some(column), TableWrite::Delete { sys_id }) => {
                existing_owned_by_caller(tx, caller, table, column, sys_id).await
            }
        },
    }
}

/// Whether a write sets the boolean `field` to `value`, read as the write
/// reads it.
async fn sets(table: &Table, input: &Map<String, Json>, field: &str, value: bool) -> bool {
    let (Some(raw), Some(column)) = (input.get(field), table.column(field)) else {
        return false;
    };
    matches!(records::coerce(column, raw).await, Ok(Value::Bool(b)) if b == value)
}

/// Refuses deactivating user `user_id` when it is the caller: no one, not
/// even an administrator, deactivates themselves. The console asks this to
/// decide whether to offer "Deactivate".
pub fn may_deactivate(caller: &Caller, user_id: &str) -> Result<()> {
    if user_id == caller.user_id {
        return Err(against_oneself("active", "deactivate yourself"));
    }
    Ok(())
}

/// The refusal of a write that would end the caller's own access.
fn against_oneself(field: &str, what: &str) -> Error {
    Error::new(
        ErrorKind::Forbidden,
        format!("{field}: you cannot {what}; another administrator must do it"),
    )
    .with_field(field)
}

/// A reference field's sys_id as the Table API takes it: a string or
/// `{"value": "..."}`. None when absent or of another shape.
fn reference(input: &Map<String, Json>, name: &str) -> Option<String> {
    match input.get(name)? {
        Json::String(s) => Some(s.clone()),
        Json::Object(o) => o.get("value").and_then(Json::as_str).map(str::to_owned),
        _ => None,
    }
}

/// The caller holds every role `user_id` holds.
async fn may_manage_user(tx: &mut Tx, caller: &Caller, user_id: &str, field: &str) -> Result<()> {
    let missing: Vec<String> = users::role_names(&mut *tx, user_id)
        .await?
        .into_iter()
        .filter(|r| !caller.roles.contains(r))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Forbidden,
        format!(
            "{field}: the user holds roles you do not hold ({}); only a caller holding every \
             role of a user may change that user or its role grants",
            missing.join(", ")
        ),
    )
    .with_field(field))
}

/// The caller holds the role with sys_id `role_id` (an unknown role is left
/// for the write's reference check to refuse).
async fn may_grant(tx: &mut Tx, caller: &Caller, role_id: &str) -> Result<()> {
    let name = tx
        .fetch_optional(
            "SELECT name FROM sys_user_role WHERE sys_id = $1",
            &[Value::from(role_id)],
        )
        .await?
        .map(|r| r.string("name"));
    match name {
        Some(name) if !caller.roles.contains(&name) => Err(Error::new(
            ErrorKind::Forbidden,
            format!("role: only a caller who holds the role {name} may grant or revoke it"),
        )
        .with_field("role")),
        _ => Ok(()),
    }
}

fn owned_by_caller(caller: &Caller, column: &Column, input: &Map<String, Json>) -> Result<()> {
    if !input.contains_key(column.name) {
        return Ok(());
    }
    match reference(input, column.name) {
        Some(owner) if owner != caller.user_id => Err(Error::new(
            ErrorKind::Forbidden,
            format!(
                "{}: a record of this table belongs to its user; only that user or admin may \
                 write it",
                column.name
            ),
        )
        .with_field(column.name)),
        _ => Ok(()),
    }
}

async fn existing_owned_by_caller(
    tx: &mut Tx,
    caller: &Caller,
    table: &Table,
    column: &Column,
    sys_id: &str,
) -> Result<()> {
    match records::get(&mut *tx, table, sys_id).await? {
        Some(row) if row.string(column.name) == caller.user_id => Ok(()),
        // Another user's record is as invisible to writes as to reads.
        _ => Err(records::record_not_found(table, sys_id)),
    }
}
