//! Capture: while a user has a current update set (the `sys_update_set`
//! preference naming an update set in progress), every write they make to a
//! configuration table, through any API, is recorded in it as a customer
//! update, and the record's version history grows.

use serde_json::Value as Json;

use super::{payload_of, Payload, CURRENT_UPDATE_SET, DELETE, INSERT_OR_UPDATE};
use crate::domain::records::insert_values;
use crate::error::Result;
use crate::registry::{self, Table};
use crate::storage::{Row, Tx, Value};

/// The update set a user's writes go to now, with its application.
pub struct CurrentSet {
    pub sys_id: String,
    pub application: Option<String>,
}

pub async fn current_update_set(tx: &mut Tx, user_name: &str) -> Result<Option<CurrentSet>> {
    let row = tx
        .fetch_optional(
            "SELECT us.sys_id, us.application FROM sys_user_preference p \
             JOIN sys_user u ON u.sys_id = p.\"user\" \
             JOIN sys_update_set us ON us.sys_id = p.value \
             WHERE u.user_name = $1 AND p.name = $2 AND us.state = 'in progress'",
            &[Value::from(user_name), Value::from(CURRENT_UPDATE_SET)],
        )
        .await?;
    Ok(row.map(|r| CurrentSet {
        sys_id: r.string("sys_id"),
        application: r.text("application"),
    }))
}

/// The update set a write by `actor` to `table` is captured into: the
/// actor's current one, for a configuration table; none otherwise (then the
/// writer need not read the record before and after).
pub async fn capturing_set(tx: &mut Tx, table: &Table, actor: &str) -> Result<Option<CurrentSet>> {
    if !table.configuration {
        return Ok(None);
    }
    current_update_set(tx, actor).await
}

/// Records in `set` a write made by `actor` to a configuration record:
/// `before` is the record as it was (none for an insert), `after` as it is
/// now (none for a delete).
pub async fn record_write(
    tx: &mut Tx,
    set: &CurrentSet,
    table: &Table,
    sys_id: &str,
    before: Option<&Row>,
    after: Option<&Row>,
    actor: &str,
) -> Result<()> {
    let name = update_name(table.name, sys_id);
    let action = if after.is_some() {
        INSERT_OR_UPDATE
    } else {
        DELETE
    };
    let payload = after.or(before).map(|r| payload_of(table, r));
    let payload_text = payload
        .as_ref()
        .map(|p| Json::Object(p.clone()).to_string());
    let target_name = payload
        .as_ref()
        .and_then(|p| p.get(table.display_column))
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_owned();
    let xml = registry::table("sys_update_xml").expect("registered");
    let earlier = tx
        .fetch_optional(
            "SELECT sys_id FROM sys_update_xml WHERE update_set = $1 AND name = $2",
            &[Value::from(&set.sys_id), Value::from(&name)],
        )
        .await?;
    match earlier {
        // One update per record and set, as the vendor keeps it: the latest
        // payload, with the base from before the set first touched it.
        Some(row) => {
            crate::domain::records::update_values(
                tx,
                xml,
                &row.string("sys_id"),
                vec![
                    ("action", Value::from(action)),
                    ("payload", Value::from(payload_text.clone())),
                    ("target_name", Value::from(target_name.as_str())),
                ],
                actor,
            )
            .await?;
        }
        None => {
            let base_update_set = tx
                .fetch_optional(
                    "SELECT source FROM sys_update_version WHERE name = $1 AND state = 'current'",
                    &[Value::from(&name)],
                )
                .await?
                .and_then(|r| r.text("source"));
            let sequence = tx
                .fetch_optional(
                    "SELECT COALESCE(MAX(sequence), 0) + 1 AS n FROM sys_update_xml WHERE update_set = $1",
                    &[Value::from(&set.sys_id)],
                )
                .await?
                .and_then(|r| r.int("n"))
                .unwrap_or(1);
            let base = before.map(|r| Json::Object(payload_of(table, r)).to_string());
            insert_values(
                tx,
                xml,
                None,
                vec![
                    ("update_set", Value::from(&set.sys_id)),
                    ("name", Value::from(&name)),
                    ("table", Value::from(table.name)),
                    ("record_sys_id", Value::from(sys_id)),
                    ("target_name", Value::from(target_name.as_str())),
                    ("type", Value::from(table.label)),
                    ("action", Value::from(action)),
                    ("payload", Value::from(payload_text.clone())),
                    ("base_payload", Value::from(base)),
                    ("base_update_set", Value::from(base_update_set)),
                    ("application", Value::from(set.application.clone())),
                    ("sequence", Value::Int(sequence)),
                ],
                actor,
            )
            .await?;
        }
    }
    add_version(
        tx,
        &name,
        &target_name,
        action,
        payload.as_ref(),
        "sys_update_set",
        &set.sys_id,
        set.application.as_deref(),
        actor,
    )
    .await
}

/// The name an update and a version give a record: `<table>_<sys_id>`.
pub fn update_name(table: &str, sys_id: &str) -> String {
    format!("{table}_{sys_id}")
}

/// Adds the current version of a record, the previous current one becoming
/// history.
#[allow(clippy::too_many_arguments)]
pub async fn add_version(
    tx: &mut Tx,
    name: &str,
    record_name: &str,
    action: &str,
    payload: Option<&Payload>,
    source_table: &str,
    source: &str,
    application: Option<&str>,
    actor: &str,
) -> Result<()> {
    tx.execute(
        "UPDATE sys_update_version SET state = 'previous' WHERE name = $1 AND state = 'current'",
        &[Value::from(name)],
    )
    .await?;
    let version = registry::table("sys_update_version").expect("registered");
    insert_values(
        tx,
        version,
        None,
        vec![
            ("name", Value::from(name)),
            ("record_name", Value::from(record_name)),
            ("action", Value::from(action)),
            (
                "payload",
                Value::from(payload.map(|p| Json::Object(p.clone()).to_string())),
            ),
            ("source_table", Value::from(source_table)),
            ("source", Value::from(source)),
            ("state", Value::from("current")),
            ("application", Value::from(application)),
        ],
        actor,
    )
    .await?;
    Ok(())
}
