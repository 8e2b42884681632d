//! Preview: compare each update of a retrieved set with this instance and
//! record what committing it would do (its disposition) and the problems
//! that need a decision first, as the vendor's preview does:
//! - collision: the local record changed after the version the remote
//!   update was made from;
//! - missing object: the update refers to a record that exists neither here
//!   nor in the set;
//! - uncommitted update: the version the update was made from came with
//!   another update set that was retrieved here but not committed;
//! - conflict: a later update in the same set changes the same record.
//!
//! Problems are resolved through the Table API (`sys_update_preview_problem`,
//! status `ignored` to accept the remote update, `skipped` to leave it out).

use std::collections::{HashMap, HashSet};

use super::{
    configuration_table, insert_rows, new_row, parse_payload, placeholders, rows_by_id,
    same_content, Payload, DELETE, INSERT_OR_UPDATE,
};
use crate::error::{Error, Result};
use crate::ids::is_sys_id;
use crate::registry::{self, ColumnType};
use crate::storage::{Db, Row, Tx, Value};
use crate::time::now_string;

/// One update of a retrieved set, as preview and commit read it.
pub struct Update {
    pub sys_id: String,
    pub name: String,
    pub table: String,
    pub record_sys_id: String,
    pub target_name: String,
    pub type_label: String,
    pub action: String,
    pub payload: Option<Payload>,
    pub base_payload: Option<Payload>,
    pub base_update_set: Option<String>,
}

pub async fn updates_of(
    tx: &mut Tx,
    column: &str,
    set_id: &str,
    descending: bool,
) -> Result<Vec<Update>> {
    let rows = tx
        .fetch_all(
            &format!(
                "SELECT sys_id, name, \"table\", record_sys_id, target_name, type, action, payload, base_payload, \
                 base_update_set FROM sys_update_xml WHERE {column} = $1 ORDER BY sequence {}",
                if descending { "DESC" } else { "ASC" }
            ),
            &[Value::from(set_id)],
        )
        .await?;
    rows.iter().map(update_of).collect()
}

fn update_of(r: &Row) -> Result<Update> {
    Ok(Update {
        sys_id: r.string("sys_id"),
        name: r.string("name"),
        table: r.string("table"),
        record_sys_id: r.string("record_sys_id"),
        target_name: r.string("target_name"),
        type_label: r.string("type"),
        action: r.string("action"),
        payload: parse_payload(r.text("payload").as_deref())?,
        base_payload: parse_payload(r.text("base_payload").as_deref())?,
        base_update_set: r.text("base_update_set").filter(|s| !s.is_empty()),
    })
}

const REMOTE_SET: &str =
    "SELECT sys_id, name, state, remote_sys_id, origin_sys_id, update_source, \
     application, description FROM sys_remote_update_set WHERE sys_id = $1";

fn no_remote_set(id: &str) -> Error {
    Error::not_found("No Record found")
        .with_detail(format!("No retrieved update set with sys_id {id}"))
}

/// The retrieved set's row, which must exist, locked until the transaction
/// ends (two commits of one set queue up; the second sees it committed).
pub async fn remote_set(tx: &mut Tx, id: &str) -> Result<Row> {
    let sql = format!(
        "{REMOTE_SET}{}",
        crate::storage::dialect::for_update(tx.backend())
    );
    tx.fetch_optional(&sql, &[Value::from(id)])
        .await?
        .ok_or_else(|| no_remote_set(id))
}

/// The same, outside a transaction (request checks).
pub async fn find_remote_set(db: &Db, id: &str) -> Result<Row> {
    db.fetch_optional(REMOTE_SET, &[Value::from(id)])
        .await?
        .ok_or_else(|| no_remote_set(id))
}

/// The local state of every record a list of updates touches, by
/// `(table, sys_id)`.
pub async fn local_rows(tx: &mut Tx, updates: &[Update]) -> Result<HashMap<(String, String), Row>> {
    let mut by_table: HashMap<&str, Vec<String>> = HashMap::new();
    for u in updates {
        by_table
            .entry(&u.table)
            .or_default()
            .push(u.record_sys_id.clone());
    }
    let mut out = HashMap::new();
    for (name, ids) in by_table {
        let Some(table) = configuration_table(name) else {
            continue;
        };
        for (id, row) in rows_by_id(tx, table, &ids).await? {
            out.insert((name.to_owned(), id), row);
        }
    }
    Ok(out)
}

struct Problem {
    update: String,
    severity: &'static str,
    kind: &'static str,
    description: String,
    missing: Option<(String, String)>,
}

pub struct PreviewSummary {
    pub updates: usize,
    pub problems: usize,
}

/// Previews a retrieved set inside the caller's transaction, replacing any
/// earlier preview's dispositions and problems.
pub async fn preview(tx: &mut Tx, set_id: &str, actor: &str) -> Result<PreviewSummary> {
    let set = remote_set(tx, set_id).await?;
    if set.string("state") == "committed" {
        return Err(Error::conflict(format!(
            "The retrieved update set {set_id} is already committed"
        )));
    }
    tx.execute(
        "DELETE FROM sys_update_preview_problem WHERE remote_update_set = $1",
        &[Value::from(set_id)],
    )
    .await?;
    let updates = updates_of(tx, "remote_update_set", set_id, false).await?;
    let local = local_rows(tx, &updates).await?;
    // Each record as the updates before the current one would leave it
    // (a later update of a record is based on the earlier one's payload).
    let mut state_after: HashMap<(String, String), Option<Payload>> = HashMap::new();
    let mut problems = Vec::new();
    let mut dispositions: HashMap<&'static str, Vec<String>> = HashMap::new();

    let last_of: HashMap<&str, usize> = updates
        .iter()
        .enumerate()
        .map(|(i, u)| (u.name.as_str(), i))
        .collect();
    let inserted: HashSet<&str> = updates
        .iter()
        .filter(|u| u.action == INSERT_OR_UPDATE)
        .map(|u| u.record_sys_id.as_str())
        .collect();
    let uncommitted = uncommitted_sets(tx, &updates, &set.string("remote_sys_id")).await?;
    let mut wanted_refs: HashMap<&'static str, Vec<(usize, String)>> = HashMap::new();

    for (i, u) in updates.iter().enumerate() {
        let Some(table) = configuration_table(&u.table) else {
            problems.push(Problem {
                update: u.sys_id.clone(),
                severity: "error",
                kind: "not_configuration",
                description: format!(
                    "{} is not a configuration table on this instance; the update cannot be applied",
                    u.table
                ),
                missing: None,
            });
            dispositions
                .entry("skip")
                .or_default()
                .push(u.sys_id.clone());
            continue;
        };
        if last_of[u.name.as_str()] != i {
            problems.push(Problem {
                update: u.sys_id.clone(),
                severity: "error",
                kind: "conflict",
                description: format!(
                    "A later update in this update set also changes {} {:?} ({}); skip this one or accept both in order",
                    table.label, u.target_name, u.record_sys_id
                ),
                missing: None,
            });
        }
        let key = (u.table.clone(), u.record_sys_id.clone());
        let here = match state_after.get(&key) {
            Some(earlier) => earlier.clone(),
            None => local.get(&key).map(|r| super::payload_of(table, r)),
        };
        let after = match u.action.as_str() {
            DELETE => None,
            _ => u.payload.clone(),
        };
        state_after.insert(key, after);
        let unchanged_since_base = |here: &Payload| {
            u.base_payload
                .as_ref()
                .is_some_and(|b| same_content(table, here, b))
                || u.payload
                    .as_ref()
                    .is_some_and(|p| same_content(table, here, p))
        };
        let disposition = match (u.action.as_str(), &here) {
            (INSERT_OR_UPDATE, None) => "insert",
            (INSERT_OR_UPDATE, Some(h)) if unchanged_since_base(h) => "update",
            (DELETE, None) => "delete",
            (DELETE, Some(h)) if unchanged_since_base(h) => "delete",
            _ => {
                problems.push(Problem {
                    update: u.sys_id.clone(),
                    severity: "error",
                    kind: "collision",
                    description: format!(
                        "Found a local change to {} {:?} ({}) made after the version this update is based on",
                        table.label, u.target_name, u.record_sys_id
                    ),
                    missing: None,
                });
                "collision"
            }
        };
        dispositions
            .entry(disposition)
            .or_default()
            .push(u.sys_id.clone());
        if let Some(base_set) = &u.base_update_set {
            if uncommitted.contains(base_set) {
                problems.push(Problem {
                    update: u.sys_id.clone(),
                    severity: "error",
                    kind: "uncommitted_update",
                    description: format!(
                        "{} {:?} was last changed by update set {base_set}, which was retrieved here but is not committed",
                        table.label, u.target_name
                    ),
                    missing: None,
                });
            }
        }
        if let (INSERT_OR_UPDATE, Some(payload)) = (u.action.as_str(), &u.payload) {
            for column in table.all_columns() {
                let targets: Vec<String> = match (column.ty, payload.get(column.name)) {
                    (ColumnType::Reference(_), Some(serde_json::Value::String(v))) => {
                        vec![v.clone()]
                    }
                    (ColumnType::List(_), Some(serde_json::Value::String(v))) => {
                        v.split(',').map(|s| s.trim().to_owned()).collect()
                    }
                    _ => continue,
                };
                let (ColumnType::Reference(target) | ColumnType::List(target)) = column.ty else {
                    continue;
                };
                for id in targets.into_iter().filter(|id| is_sys_id(id)) {
                    if !inserted.contains(id.as_str()) {
                        wanted_refs.entry(target).or_default().push((i, id));
                    }
                }
            }
        }
    }
    for (target, wanted) in wanted_refs {
        let Some(table) = registry::table(target) else {
            continue;
        };
        let ids: Vec<String> = wanted.iter().map(|(_, id)| id.clone()).collect();
        let found = rows_by_id(tx, table, &ids).await?;
        for (i, id) in wanted {
            if !found.contains_key(&id) {
                let u = &updates[i];
                problems.push(Problem {
                    update: u.sys_id.clone(),
                    severity: "error",
                    kind: "missing_object",
                    description: format!(
                        "Could not find a record in {target} for column reference {id} of {} {:?}; it exists neither here nor in this update set",
                        u.table, u.target_name
                    ),
                    missing: Some((target.to_owned(), id)),
                });
            }
        }
    }

    for (disposition, ids) in &dispositions {
        for chunk in ids.chunks(500) {
            let mut args = vec![Value::from(*disposition)];
            args.extend(chunk.iter().map(Value::from));
            tx.execute(
                &format!(
                    "UPDATE sys_update_xml SET disposition = $1 WHERE sys_id IN ({})",
                    placeholders(1, chunk.len())
                ),
                &args,
            )
            .await?;
        }
    }
    let now = now_string();
    let count = problems.len();
    let rows = problems
        .into_iter()
        .map(|p| {
            let (table, item) = p.missing.unzip();
            new_row(
                &now,
                actor,
                vec![
                    Value::from(set_id),
                    Value::Text(p.update),
                    Value::from(p.severity),
                    Value::from(p.kind),
                    Value::Text(p.description),
                    Value::from(item),
                    Value::from(table),
                    Value::Text(String::new()),
                ],
            )
        })
        .collect();
    insert_rows(
        tx,
        "sys_update_preview_problem",
        &[
            "remote_update_set",
            "remote_update",
            "type",
            "problem_type",
            "description",
            "missing_item",
            "missing_item_table",
            "status",
        ],
        rows,
    )
    .await?;
    tx.execute(
        "UPDATE sys_remote_update_set SET state = 'previewed', preview_date = $1, sys_updated_on = $1, \
         sys_updated_by = $2, sys_mod_count = sys_mod_count + 1 WHERE sys_id = $3",
        &[Value::Text(now), Value::from(actor), Value::from(set_id)],
    )
    .await?;
    Ok(PreviewSummary {
        updates: updates.len(),
        problems: count,
    })
}

/// The remote update set ids, among those the updates were based on, that
/// were retrieved here but not committed.
async fn uncommitted_sets(
    tx: &mut Tx,
    updates: &[Update],
    own_remote_id: &str,
) -> Result<HashSet<String>> {
    let bases: Vec<String> = updates
        .iter()
        .filter_map(|u| u.base_update_set.clone())
        .filter(|b| b != own_remote_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut out = HashSet::new();
    for chunk in bases.chunks(500) {
        let args: Vec<Value> = chunk.iter().map(Value::from).collect();
        let rows = tx
            .fetch_all(
                &format!(
                    "SELECT remote_sys_id FROM sys_remote_update_set WHERE remote_sys_id IN ({}) \
                     GROUP BY remote_sys_id \
                     HAVING SUM(CASE WHEN state = 'committed' THEN 1 ELSE 0 END) = 0",
                    placeholders(0, chunk.len())
                ),
                &args,
            )
            .await?;
        out.extend(rows.iter().map(|r| r.string("remote_sys_id")));
    }
    Ok(out)
}
