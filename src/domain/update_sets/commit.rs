//! Commit: apply a retrieved set's updates here in one transaction, record
//! the versions, and create the local copy of the update set (a
//! `sys_update_set` whose `remote_sys_id` names the retrieved set) holding
//! an update for every change with the payload it replaced, which is what
//! a back-out restores.

use std::collections::HashSet;

use serde_json::Value as Json;

use super::capture::update_name;
use super::preview::{local_rows, preview, remote_set, updates_of};
use super::{
    applied_payload, configuration_table, delete_record, insert_rows, new_row, payload_of,
    write_payload, Applier, Payload, DELETE, INSERT_OR_UPDATE,
};
use crate::domain::records::{insert_values, validate_payload};
use crate::error::{Error, Result};
use crate::registry;
use crate::storage::{Tx, Value};
use crate::time::now_string;

pub struct Committed {
    /// The local copy of the update set.
    pub update_set: String,
    pub applied: usize,
}

/// Whether a retrieved set was committed already (commitMultiple with
/// `force_commit` passes over such sets).
pub async fn is_committed(tx: &mut Tx, set_id: &str) -> Result<bool> {
    Ok(remote_set(tx, set_id).await?.string("state") == "committed")
}

/// Commits a retrieved set inside the caller's transaction. Refuses while
/// preview problems are unresolved, unless `force`, which accepts them all.
pub async fn commit(
    tx: &mut Tx,
    set_id: &str,
    force: bool,
    install_batch: Option<&str>,
    actor: &str,
) -> Result<Committed> {
    let set = remote_set(tx, set_id).await?;
    match set.string("state").as_str() {
        "committed" => {
            return Err(Error::conflict(format!(
                "The retrieved update set {set_id} ({}) is already committed",
                set.string("name")
            )))
        }
        "previewed" => {}
        // Never previewed, or backed out since: preview against today's state.
        _ => {
            preview(tx, set_id, actor).await?;
        }
    }
    let problems = tx
        .fetch_all(
            "SELECT remote_update, status, problem_type FROM sys_update_preview_problem WHERE remote_update_set = $1",
            &[Value::from(set_id)],
        )
        .await?;
    let unresolved: Vec<String> = problems
        .iter()
        .filter(|p| p.string("status").is_empty())
        .map(|p| p.string("problem_type"))
        .collect();
    if !unresolved.is_empty() && !force {
        let mut kinds: Vec<&str> = unresolved.iter().map(String::as_str).collect();
        kinds.sort_unstable();
        kinds.dedup();
        return Err(Error::conflict(format!(
            "The retrieved update set {set_id} ({}) has {} unresolved preview problem(s) ({}); \
             accept or skip each in sys_update_preview_problem, or commit with force_commit=true",
            set.string("name"),
            unresolved.len(),
            kinds.join(", ")
        )));
    }
    let skipped: HashSet<String> = problems
        .iter()
        .filter(|p| p.string("status") == "skipped")
        .map(|p| p.string("remote_update"))
        .collect();
    let updates: Vec<_> = updates_of(tx, "remote_update_set", set_id, false)
        .await?
        .into_iter()
        .filter(|u| !skipped.contains(&u.sys_id) && configuration_table(&u.table).is_some())
        .collect();
    let mut local = local_rows(tx, &updates).await?;
    let applier = Applier::load(tx, actor).await?;

    let now = now_string();
    let source = match set.text("update_source") {
        Some(id) => tx
            .fetch_optional(
                "SELECT name, url FROM sys_update_set_source WHERE sys_id = $1",
                &[Value::from(&id)],
            )
            .await?
            .map(|r| format!("{} ({})", r.string("name"), r.string("url"))),
        None => None,
    };
    let application = set.text("application");
    let local_set = insert_values(
        tx,
        registry::table("sys_update_set").expect("registered"),
        None,
        vec![
            ("name", Value::from(set.string("name"))),
            ("description", Value::from(set.text("description"))),
            ("state", Value::from("complete")),
            ("application", Value::from(application.clone())),
            ("remote_sys_id", Value::from(set_id)),
            ("origin_sys_id", Value::from(set.text("origin_sys_id"))),
            ("install_date", Value::Text(now.clone())),
            ("installed_from", Value::from(source)),
            ("install_batch", Value::from(install_batch)),
            ("completed_on", Value::Text(now.clone())),
            ("completed_by", Value::from(actor)),
        ],
        actor,
    )
    .await?;

    let mut xml_rows = Vec::with_capacity(updates.len());
    let mut version_rows = Vec::with_capacity(updates.len());
    for (i, u) in updates.iter().enumerate() {
        let table = configuration_table(&u.table).expect("filtered above");
        let key = (u.table.clone(), u.record_sys_id.clone());
        let before: Option<Payload> = local.get(&key).map(|r| payload_of(table, r));
        applier.may_write(table, &u.name)?;
        let applied = match u.action.as_str() {
            INSERT_OR_UPDATE => {
                let payload = u.payload.as_ref().ok_or_else(|| {
                    Error::conflict(format!("The update {} carries no payload", u.name))
                })?;
                validate_payload(tx, table, payload)
                    .await
                    .map_err(|e| refused(&u.name, e))?;
                let payload = applied_payload(payload, before.as_ref(), actor, &now);
                write_payload(tx, table, &u.record_sys_id, &payload, before.is_some()).await?;
                local.insert(key, payload_row(&payload));
                Some(payload)
            }
            DELETE => {
                if before.is_some() {
                    delete_record(tx, table, &u.record_sys_id).await?;
                }
                local.remove(&key);
                None
            }
            other => return Err(Error::conflict(format!("Unknown update action {other}"))),
        };
        let payload_text = applied.map(|p| Json::Object(p).to_string());
        let name = update_name(&u.table, &u.record_sys_id);
        xml_rows.push(new_row(
            &now,
            actor,
            vec![
                Value::from(&local_set),
                Value::from(&name),
                Value::from(&u.table),
                Value::from(&u.record_sys_id),
                Value::from(&u.target_name),
                Value::from(&u.type_label),
                Value::from(&u.action),
                Value::from(payload_text.clone()),
                Value::from(before.map(|b| Json::Object(b).to_string())),
                Value::from(application.clone()),
                Value::Int(i as i64 + 1),
            ],
        ));
        version_rows.push(new_row(
            &now,
            actor,
            vec![
                Value::from(&name),
                Value::from(&u.target_name),
                Value::from(&u.action),
                Value::from(payload_text),
                Value::from("sys_update_set"),
                Value::from(&local_set),
                Value::from("current"),
                Value::from(application.clone()),
            ],
        ));
    }
    insert_rows(tx, "sys_update_xml", XML_COLUMNS, xml_rows).await?;
    retire_versions(tx, &local_set).await?;
    // A record changed twice in the set keeps one current version: the last.
    let mut seen = HashSet::new();
    let mut current: Vec<Vec<Value>> = version_rows.into_iter().rev().collect();
    for row in current.iter_mut() {
        if !seen.insert(row[6].to_display_string()) {
            row[12] = Value::from("previous");
        }
    }
    insert_rows(tx, "sys_update_version", VERSION_COLUMNS, current).await?;
    tx.execute(
        "UPDATE sys_remote_update_set SET state = 'committed', commit_date = $1, update_set = $2, \
         sys_updated_on = $1, sys_updated_by = $3, sys_mod_count = sys_mod_count + 1 WHERE sys_id = $4",
        &[
            Value::Text(now),
            Value::from(&local_set),
            Value::from(actor),
            Value::from(set_id),
        ],
    )
    .await?;
    Ok(Committed {
        update_set: local_set,
        applied: updates.len(),
    })
}

/// An update refused by the checks a direct write gets, named in the message.
fn refused(update: &str, err: Error) -> Error {
    let field = err.field.clone();
    let mut out = Error::new(
        err.kind,
        format!("The update {update} is refused: {}", err.message),
    );
    out.field = field;
    out
}

/// A payload as a row, for later updates of the same record in the set.
fn payload_row(payload: &Payload) -> crate::storage::Row {
    crate::storage::Row {
        columns: payload
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    Json::String(s) => Value::Text(s.clone()),
                    Json::Null => Value::Null,
                    other => Value::Text(other.to_string()),
                };
                (k.clone(), value)
            })
            .collect(),
    }
}

/// Marks the current versions of the records an update set changes as
/// history (one statement: an IN list of names leads PostgreSQL's generic
/// plan to scan the table).
pub async fn retire_versions(tx: &mut Tx, update_set: &str) -> Result<()> {
    tx.execute(
        "UPDATE sys_update_version SET state = 'previous' WHERE state = 'current' AND name IN \
         (SELECT name FROM sys_update_xml WHERE update_set = $1)",
        &[Value::from(update_set)],
    )
    .await?;
    Ok(())
}

pub const XML_COLUMNS: &[&str] = &[
    "update_set",
    "name",
    "table",
    "record_sys_id",
    "target_name",
    "type",
    "action",
    "payload",
    "base_payload",
    "application",
    "sequence",
];

pub const VERSION_COLUMNS: &[&str] = &[
    "name",
    "record_name",
    "action",
    "payload",
    "source_table",
    "source",
    "state",
    "application",
];
