//! Back out: restore every record an update set touched to its state before
//! the set (deleting the records it inserted), in one transaction. With
//! `rollback_installs`, a set committed as part of a batch (commitMultiple)
//! takes the whole batch with it, latest first.

use std::collections::HashMap;

use serde_json::Value as Json;

use super::commit::{retire_versions, VERSION_COLUMNS};
use super::preview::{local_rows, updates_of};
use super::{
    configuration_table, delete_record, insert_rows, new_row, write_payload, Applier, DELETE,
    INSERT_OR_UPDATE,
};
use crate::error::{Error, Result};
use crate::storage::{Db, Row, Tx, Value};
use crate::time::now_string;

pub struct BackedOut {
    pub update_sets: Vec<String>,
    pub restored: usize,
}

const UPDATE_SET: &str = "SELECT sys_id, name, state, install_batch, backed_out, remote_sys_id, \
     application FROM sys_update_set WHERE sys_id = $1";

fn no_update_set(id: &str) -> Error {
    Error::not_found("No Record found").with_detail(format!("No update set with sys_id {id}"))
}

/// The update set's row, which must exist, locked until the transaction ends.
pub async fn update_set(tx: &mut Tx, id: &str) -> Result<Row> {
    let sql = format!(
        "{UPDATE_SET}{}",
        crate::storage::dialect::for_update(tx.backend())
    );
    tx.fetch_optional(&sql, &[Value::from(id)])
        .await?
        .ok_or_else(|| no_update_set(id))
}

/// The same, outside a transaction (request checks).
pub async fn find_update_set(db: &Db, id: &str) -> Result<Row> {
    db.fetch_optional(UPDATE_SET, &[Value::from(id)])
        .await?
        .ok_or_else(|| no_update_set(id))
}

/// Why a set cannot be backed out, if it cannot.
pub fn refusal(set: &Row) -> Option<Error> {
    let name = set.string("name");
    if set.bool("backed_out") {
        return Some(Error::conflict(format!(
            "The update set {name} ({}) is already backed out",
            set.string("sys_id")
        )));
    }
    if set.string("state") != "complete" {
        return Some(Error::conflict(format!(
            "The update set {name} ({}) is {:?}; only a complete update set can be backed out",
            set.string("sys_id"),
            set.string("state")
        )));
    }
    None
}

pub async fn back_out(
    tx: &mut Tx,
    update_set_id: &str,
    rollback_installs: bool,
    actor: &str,
) -> Result<BackedOut> {
    // A set's batch never changes, so it is read before any lock. A whole
    // batch is locked in one order (latest first) before the named set is
    // checked: two back-outs of sets of one batch then take turns, where
    // each would otherwise hold its own set and wait for the other's.
    let batch = tx
        .fetch_optional(
            "SELECT install_batch FROM sys_update_set WHERE sys_id = $1",
            &[Value::from(update_set_id)],
        )
        .await?
        .ok_or_else(|| no_update_set(update_set_id))?
        .string("install_batch");
    let whole_batch = rollback_installs && !batch.is_empty();
    if whole_batch {
        tx.fetch_all(
            &format!(
                "SELECT sys_id FROM sys_update_set WHERE install_batch = $1 ORDER BY sys_id DESC{}",
                crate::storage::dialect::for_update(tx.backend())
            ),
            &[Value::from(&batch)],
        )
        .await?;
    }
    let set = update_set(tx, update_set_id).await?;
    if let Some(refused) = refusal(&set) {
        return Err(refused);
    }
    let sets: Vec<String> = if whole_batch {
        tx.fetch_all(
            "SELECT sys_id FROM sys_update_set WHERE install_batch = $1 AND backed_out = $2 ORDER BY sys_id DESC",
            &[Value::from(&batch), Value::Bool(false)],
        )
        .await?
        .iter()
        .map(|r| r.string("sys_id"))
        .collect()
    } else {
        vec![update_set_id.to_owned()]
    };
    let now = now_string();
    // Backing out writes the same tables the commit wrote: the same rights.
    let applier = Applier::load(tx, actor).await?;
    let mut restored = 0;
    for set_id in &sets {
        let set = update_set(tx, set_id).await?;
        let updates: Vec<_> = updates_of(tx, "update_set", set_id, true)
            .await?
            .into_iter()
            .filter(|u| configuration_table(&u.table).is_some())
            .collect();
        let local = local_rows(tx, &updates).await?;
        let mut exists: HashMap<(String, String), bool> =
            local.keys().map(|k| (k.clone(), true)).collect();
        let mut versions = Vec::new();
        for u in &updates {
            let table = configuration_table(&u.table).expect("filtered above");
            let key = (u.table.clone(), u.record_sys_id.clone());
            let here = exists.get(&key).copied().unwrap_or(false);
            applier.may_write(table, &u.name)?;
            let (action, payload) = match &u.base_payload {
                Some(base) => {
                    write_payload(tx, table, &u.record_sys_id, base, here).await?;
                    exists.insert(key, true);
                    (
                        INSERT_OR_UPDATE,
                        Some(Json::Object(base.clone()).to_string()),
                    )
                }
                None => {
                    if here {
                        delete_record(tx, table, &u.record_sys_id).await?;
                    }
                    exists.insert(key, false);
                    (DELETE, None)
                }
            };
            versions.push(new_row(
                &now,
                actor,
                vec![
                    Value::from(&u.name),
                    Value::from(&u.target_name),
                    Value::from(action),
                    Value::from(payload),
                    Value::from("sys_update_set_backout"),
                    Value::from(set_id),
                    Value::from("previous"),
                    Value::from(set.text("application")),
                ],
            ));
            restored += 1;
        }
        retire_versions(tx, set_id).await?;
        // The version each record is left in is its current one.
        let mut seen = std::collections::HashSet::new();
        for row in versions.iter_mut().rev() {
            if seen.insert(row[6].to_display_string()) {
                row[12] = Value::from("current");
            }
        }
        insert_rows(tx, "sys_update_version", VERSION_COLUMNS, versions).await?;
        tx.execute(
            "UPDATE sys_update_set SET backed_out = $1, backed_out_on = $2, sys_updated_on = $2, \
             sys_updated_by = $3, sys_mod_count = sys_mod_count + 1 WHERE sys_id = $4",
            &[
                Value::Bool(true),
                Value::Text(now.clone()),
                Value::from(actor),
                Value::from(set_id),
            ],
        )
        .await?;
        if let Some(remote) = set.text("remote_sys_id") {
            tx.execute(
                "UPDATE sys_remote_update_set SET state = 'backed_out', sys_updated_on = $1, \
                 sys_updated_by = $2, sys_mod_count = sys_mod_count + 1 WHERE sys_id = $3",
                &[
                    Value::Text(now.clone()),
                    Value::from(actor),
                    Value::from(&remote),
                ],
            )
            .await?;
        }
    }
    Ok(BackedOut {
        update_sets: sets,
        restored,
    })
}
