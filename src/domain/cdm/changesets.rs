//! Changesets: created for an application or shared library, the unit in
//! which configuration changes are made and committed.

use std::collections::HashMap;

use serde_json::{json, Value as Json};

use super::tree::Node;
use super::{
    applications, canonical_changeset_number, refusal, request_error, MAX_OPEN_CHANGESETS,
};
use crate::domain::records::{insert_values, next_number};
use crate::error::Result;
use crate::registry;
use crate::storage::{Db, Executor, Record, Row, Tx, Value};
use crate::time::now_string;

/// States in which a changeset is not yet committed ("open" for the limit).
pub const UNCOMMITTED: [&str; 5] = [
    "open",
    "checking_for_conflict",
    "blocked",
    "commit_in_progress",
    "commit_failed",
];

/// The columns a changeset is read with (`c` the changeset, `a` its application).
pub const CHANGESET_COLUMNS: &str = "c.sys_id, c.number, c.title, c.description, c.state, c.cdm_application, c.committed_at, \
     c.committed_by, c.publish_option, c.auto_validate, c.snapshot_name, c.snapshot_description, \
     c.last_conflict_detection_time, c.last_updated, c.sys_created_on, c.sys_created_by, c.sys_updated_on, \
     c.sys_updated_by, a.name AS app_name, a.type AS app_type, a.root_main_id";

fn select(condition: &str) -> String {
    format!(
        "SELECT {CHANGESET_COLUMNS} FROM sn_cdm_changeset c JOIN sn_cdm_application a ON a.sys_id = c.cdm_application \
         WHERE {condition}"
    )
}

/// Inside a write transaction the changeset's row is locked until it ends,
/// so edits, uploads and the commit of one changeset take turns (two edits
/// of one node cannot both add a pending version). A read transaction
/// (`begin_read`: the activity, a console page) takes no lock.
fn select_locked(tx: &Tx, condition: &str) -> String {
    if tx.locks_rows() {
        format!(
            "{}{}",
            select(condition),
            crate::storage::dialect::for_update_of(tx.backend(), "c")
        )
    } else {
        select(condition)
    }
}

pub async fn by_number(tx: &mut Tx, given: &str) -> Result<Option<Row>> {
    let Some(number) = canonical_changeset_number(given) else {
        return Ok(None);
    };
    tx.fetch_optional(&select_locked(tx, "c.number = $1"), &[Value::from(number)])
        .await
        .map_err(Into::into)
}

pub async fn by_id(tx: &mut Tx, sys_id: &str) -> Result<Option<Row>> {
    tx.fetch_optional(&select_locked(tx, "c.sys_id = $1"), &[Value::from(sys_id)])
        .await
        .map_err(Into::into)
}

/// The changeset `given` names, which must exist.
pub async fn require(tx: &mut Tx, given: &str, operation: &str) -> Result<Row> {
    by_number(tx, given)
        .await?
        .ok_or_else(|| request_error(operation, format!("Changeset '{given}' does not exist")))
}

/// The changeset, which must be open to take changes.
pub async fn require_open(tx: &mut Tx, given: &str, operation: &str) -> Result<Row> {
    let row = require(tx, given, operation).await?;
    let state = row.string("state");
    if state != "open" && state != "blocked" {
        return Err(request_error(
            operation,
            format!(
                "Changeset '{}' is {state}; only an open changeset takes changes",
                row.string("number")
            ),
        ));
    }
    Ok(row)
}

pub struct NewChangeset<'a> {
    pub application: &'a str,
    /// A shared library instead of an application.
    pub shared_library: bool,
    pub description: Option<&'a str>,
}

/// Creates an open changeset; refuses an unknown or inactive application
/// and an application with [`MAX_OPEN_CHANGESETS`] open already.
pub async fn create(tx: &mut Tx, new: &NewChangeset<'_>, actor: &str) -> Result<Row> {
    let kind = if new.shared_library {
        Some("shared_library")
    } else {
        None
    };
    let app = applications::find_active(tx, new.application, kind)
        .await?
        .ok_or_else(|| request_error("create", "Application not found"))?;
    let app_id = app.string("sys_id");
    // The open changesets are counted, then one is added.
    tx.lock("sn_cdm_application", &app_id).await?;
    let placeholders: Vec<String> = (2..=UNCOMMITTED.len() + 1)
        .map(|i| format!("${i}"))
        .collect();
    let mut args = vec![Value::from(&app_id)];
    args.extend(UNCOMMITTED.iter().map(|s| Value::from(*s)));
    let open = tx
        .fetch_optional(
            &format!(
                "SELECT COUNT(*) AS n FROM sn_cdm_changeset WHERE cdm_application = $1 AND state IN ({})",
                placeholders.join(", ")
            ),
            &args,
        )
        .await?
        .and_then(|r| r.int("n"))
        .unwrap_or(0);
    if open >= MAX_OPEN_CHANGESETS {
        return Err(request_error(
            "create",
            format!(
                "Application '{}' already has {open} open changesets (the limit is {MAX_OPEN_CHANGESETS}); commit or delete one first",
                new.application
            ),
        ));
    }
    let n = next_number(tx, "sn_cdm_changeset").await?;
    let now = now_string();
    let id = insert_values(
        tx,
        registry::table("sn_cdm_changeset").expect("registered"),
        None,
        vec![
            ("number", Value::Text(format!("Chset-{n}"))),
            ("title", Value::Text(format!("{actor}{now}"))),
            ("description", Value::from(new.description)),
            ("state", Value::from("open")),
            ("cdm_application", Value::from(&app_id)),
            ("publish_option", Value::from("publish_none")),
            ("auto_validate", Value::Bool(false)),
            ("last_updated", Value::Text(now)),
        ],
        actor,
    )
    .await?;
    Ok(by_id(tx, &id).await?.expect("just inserted"))
}

/// Deletes a changeset that is not committed, with its pending versions.
pub async fn delete(tx: &mut Tx, given: &str) -> Result<()> {
    let row = require(tx, given, "delete").await?;
    if row.string("state") == "committed" {
        return Err(request_error(
            "delete",
            format!(
                "Changeset '{}' is committed and cannot be deleted",
                row.string("number")
            ),
        ));
    }
    let id = row.string("sys_id");
    tx.execute(
        "DELETE FROM sn_cdm_node WHERE changeset_id = $1 AND effective_from IS NULL",
        &[Value::from(&id)],
    )
    .await?;
    tx.execute(
        "DELETE FROM sn_cdm_changeset WHERE sys_id = $1",
        &[Value::from(&id)],
    )
    .await?;
    Ok(())
}

fn text_or_null(row: &Row, name: &str) -> Json {
    row.text(name).map(Json::String).unwrap_or(Json::Null)
}

/// The summary shape (create answer, commit-status and upload-status
/// outputs): the application by name, `committed_by` as a plain sys_id.
pub fn summary(row: &Row, with_detection_time: bool) -> Json {
    let mut out = json!({
        "sys_id": row.string("sys_id"),
        "number": row.string("number"),
        "title": row.string("title"),
        "description": text_or_null(row, "description"),
        "committed_at": row.string("committed_at"),
        "committed_by": text_or_null(row, "committed_by"),
        "sys_created_by": row.string("sys_created_by"),
        "state": row.string("state"),
        "publish_option": row.string("publish_option"),
        "auto_validate": row.bool("auto_validate"),
        "snapshot_name": text_or_null(row, "snapshot_name"),
        "snapshot_description": text_or_null(row, "snapshot_description"),
        "cdm_application": row.string("app_name"),
    });
    if with_detection_time {
        out["last_conflict_detection_time"] = text_or_null(row, "last_conflict_detection_time");
    }
    out
}

/// The changesets of an application, newest first, optionally one number
/// or one state.
pub async fn list(
    db: &Db,
    app_name: &str,
    number: Option<&str>,
    state: Option<&str>,
) -> Result<Vec<Row>> {
    let app = db
        .fetch_optional(
            "SELECT sys_id, state FROM sn_cdm_application WHERE name = $1",
            &[Value::from(app_name)],
        )
        .await?
        .filter(|r| r.string("state") == "active")
        .ok_or_else(|| {
            refusal(format!(
                "Could not find active application with name: '{app_name}'"
            ))
        })?;
    let mut condition = "c.cdm_application = $1".to_owned();
    let mut args = vec![Value::from(app.string("sys_id"))];
    if let Some(number) = number {
        let canonical = canonical_changeset_number(number)
            .ok_or_else(|| refusal(format!("Invalid changeset number '{number}'")))?;
        args.push(Value::Text(canonical));
        condition.push_str(&format!(" AND c.number = ${}", args.len()));
    }
    if let Some(state) = state {
        let value = state.trim().to_ascii_lowercase().replace(' ', "_");
        if !UNCOMMITTED.contains(&value.as_str()) && value != "committed" {
            return Err(refusal(format!(
                "Invalid state '{state}': one of open, checking_for_conflict, blocked, commit_in_progress, committed, commit_failed"
            )));
        }
        args.push(Value::Text(value));
        condition.push_str(&format!(" AND c.state = ${}", args.len()));
    }
    let mut rows = db.fetch_all(&select(&condition), &args).await?;
    rows.sort_by_key(|r| {
        std::cmp::Reverse(
            r.string("number")
                .trim_start_matches("Chset-")
                .parse::<i64>()
                .unwrap_or(0),
        )
    });
    Ok(rows)
}

/// Creates an open changeset (see [`create`]) in its own transaction.
pub async fn open(db: &Db, new: &NewChangeset<'_>, actor: &str) -> Result<Row> {
    let mut tx = db.begin().await?;
    let row = create(&mut tx, new, actor).await?;
    tx.commit().await?;
    Ok(row)
}

/// Deletes the uncommitted changeset `given` names (see [`delete`]) in its
/// own transaction.
pub async fn discard(db: &Db, given: &str) -> Result<()> {
    let mut tx = db.begin().await?;
    delete(&mut tx, given).await?;
    tx.commit().await?;
    Ok(())
}

/// One version a changeset made, with the version it replaced.
pub struct Activity {
    pub version: Node,
    pub previous: Option<Node>,
    /// The names below the application root, joined by `/`.
    pub path: String,
}

/// The versions the changeset `given` names made, by node; returns the
/// changeset's sys_id with them.
pub async fn activity(db: &Db, given: &str) -> Result<(String, Vec<Activity>)> {
    let mut tx = db.begin_read().await?;
    let changeset = require(&mut tx, given, "activity").await?;
    let id = changeset.string("sys_id");
    let versions: Vec<Node> = tx
        .fetch_records(
            &Node::select_where("changeset_id = $1 ORDER BY main_id"),
            &[Value::from(&id)],
        )
        .await?;
    let names: HashMap<String, String> = tx
        .fetch_all(
            "SELECT main_id, name FROM sn_cdm_node WHERE application = $1 ORDER BY sys_created_on",
            &[Value::from(changeset.string("cdm_application"))],
        )
        .await?
        .iter()
        .map(|r| {
            (
                super::encode_main_id(r.int("main_id").unwrap_or_default()),
                r.string("name"),
            )
        })
        .collect();
    let mut out = Vec::with_capacity(versions.len());
    for version in versions {
        let previous = match &version.previous_version {
            Some(p) => {
                tx.fetch_record::<Node>(&Node::select_where("sys_id = $1"), &[Value::from(p)])
                    .await?
            }
            None => None,
        };
        // The path below the application: the names of the ids in
        // node_path after the root.
        let path: Vec<String> = version
            .node_path
            .split('!')
            .filter(|s| !s.is_empty())
            .skip(1)
            .map(|enc| names.get(enc).cloned().unwrap_or_default())
            .collect();
        out.push(Activity {
            version,
            previous,
            path: path.join("/"),
        });
    }
    tx.rollback().await?;
    Ok((id, out))
}
