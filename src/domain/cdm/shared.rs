//! Shared components: the top-level components of a shared library, which
//! applications include (`sn_cdm_node_linked_shared_component`). Each has a
//! record (`sn_cdm_shared_component`) kept up to date by the library's
//! commits.

use std::collections::HashSet;

use super::node_type;
use super::tree::Tree;
use crate::domain::records::insert_values;
use crate::error::Result;
use crate::registry;
use crate::storage::{Db, Row, Tx, Value};
use crate::time::now_string;

/// The columns a shared component record is read with.
pub const SHARED_COMPONENT_COLUMNS: &str =
    "sys_id, name, description, cdm_shared_library, node, node_main, main_id, state, \
     version_counter, sys_created_on, sys_created_by, sys_updated_on, sys_updated_by";

/// After a library commit: a record for each top-level component the
/// commit touched (made when new, its version counted up, `deleted` when
/// the component went).
pub async fn record_commit(
    tx: &mut Tx,
    library: &str,
    root: i64,
    after: &Tree,
    changed: &HashSet<i64>,
    actor: &str,
) -> Result<()> {
    let Some(components) = after.child(root, "components") else {
        return Ok(());
    };
    let existing = tx
        .fetch_all(
            &format!("SELECT {SHARED_COMPONENT_COLUMNS} FROM sn_cdm_shared_component WHERE cdm_shared_library = $1"),
            &[Value::from(library)],
        )
        .await?;
    let now = now_string();
    for component in after
        .children_of(components.main_id)
        .filter(|c| c.node_type == node_type::COMPONENT)
    {
        if !after
            .subtree(component.main_id)
            .iter()
            .any(|id| changed.contains(id))
        {
            continue;
        }
        match existing
            .iter()
            .find(|r| r.int("main_id") == Some(component.main_id))
        {
            Some(record) => {
                tx.execute(
                    "UPDATE sn_cdm_shared_component SET name = $1, node = $2, version_counter = version_counter + 1, \
                     state = 'active', sys_updated_on = $3, sys_updated_by = $4, sys_mod_count = sys_mod_count + 1 \
                     WHERE sys_id = $5",
                    &[
                        Value::from(&component.name),
                        Value::from(&component.sys_id),
                        Value::Text(now.clone()),
                        Value::from(actor),
                        Value::from(record.string("sys_id")),
                    ],
                )
                .await?;
            }
            None => {
                insert_values(
                    tx,
                    registry::table("sn_cdm_shared_component").expect("registered"),
                    None,
                    vec![
                        ("name", Value::from(&component.name)),
                        ("cdm_shared_library", Value::from(library)),
                        ("node", Value::from(&component.sys_id)),
                        ("node_main", Value::Text(component.main_id.to_string())),
                        ("main_id", Value::Int(component.main_id)),
                        ("state", Value::from("active")),
                        ("version_counter", Value::Int(1)),
                    ],
                    actor,
                )
                .await?;
            }
        }
    }
    // Components deleted by the commit.
    for record in &existing {
        let id = record.int("main_id").unwrap_or_default();
        if changed.contains(&id) && after.get(id).is_none() {
            tx.execute(
                "UPDATE sn_cdm_shared_component SET state = 'deleted', sys_updated_on = $1, sys_updated_by = $2 \
                 WHERE sys_id = $3",
                &[Value::Text(now.clone()), Value::from(actor), Value::from(record.string("sys_id"))],
            )
            .await?;
        }
    }
    Ok(())
}

/// The shared components a changeset impacts: for a library changeset
/// those whose subtree it changes; for an application changeset those its
/// includes name.
pub async fn impacted(tx: &mut Tx, changeset: &Row) -> Result<Vec<Row>> {
    let versions = tx
        .fetch_all(
            "SELECT main_id, type, linked_to FROM sn_cdm_node WHERE changeset_id = $1",
            &[Value::from(changeset.string("sys_id"))],
        )
        .await?;
    let mut changed: HashSet<i64> = versions.iter().filter_map(|r| r.int("main_id")).collect();
    changed.extend(
        versions
            .iter()
            .filter(|r| r.string("type") == node_type::LINKED_SHARED)
            .filter_map(|r| r.int("linked_to")),
    );
    let records = tx
        .fetch_all(
            &format!(
                "SELECT {SHARED_COMPONENT_COLUMNS} FROM sn_cdm_shared_component ORDER BY name"
            ),
            &[],
        )
        .await?;
    let mut trees: std::collections::HashMap<String, Tree> = std::collections::HashMap::new();
    let mut out = Vec::new();
    for record in records {
        let main = record.int("main_id").unwrap_or_default();
        let library = record.string("cdm_shared_library");
        if !trees.contains_key(&library) {
            let tree = super::tree::committed(tx, &library).await?;
            trees.insert(library.clone(), tree);
        }
        let tree = &trees[&library];
        if changed.contains(&main) || tree.subtree(main).iter().any(|id| changed.contains(id)) {
            out.push(record);
        }
    }
    Ok(out)
}

/// The shared component records an application includes (live includes in
/// its committed tree), with their library's name.
pub async fn used_by(tx: &mut Tx, application: &str) -> Result<Vec<Row>> {
    tx.fetch_all(
        "SELECT s.name, s.description, s.version_counter, s.main_id, l.name AS library_name \
         FROM sn_cdm_shared_component s JOIN sn_cdm_application l ON l.sys_id = s.cdm_shared_library \
         WHERE s.main_id IN (SELECT linked_to FROM sn_cdm_node WHERE application = $1 AND type = $2 \
         AND effective_to IS NULL AND effective_from IS NOT NULL AND status <> 'deleted') ORDER BY s.name",
        &[Value::from(application), Value::from(node_type::LINKED_SHARED)],
    )
    .await
    .map_err(Into::into)
}

/// The applications that include a library's shared component, both named.
pub async fn applications_using(tx: &mut Tx, library: &str, component: &str) -> Result<Vec<Row>> {
    let record = tx
        .fetch_optional(
            "SELECT s.main_id FROM sn_cdm_shared_component s \
             JOIN sn_cdm_application l ON l.sys_id = s.cdm_shared_library \
             WHERE l.name = $1 AND s.name = $2 AND s.state = 'active'",
            &[Value::from(library), Value::from(component)],
        )
        .await?
        .ok_or_else(|| {
            super::refusal(format!(
                "Shared component '{component}' not found in shared library '{library}'"
            ))
        })?;
    Ok(tx
        .fetch_all(
            "SELECT sys_id, name, description FROM sn_cdm_application WHERE sys_id IN \
             (SELECT application FROM sn_cdm_node WHERE type = $1 AND linked_to = $2 AND effective_to IS NULL \
             AND effective_from IS NOT NULL AND status <> 'deleted') ORDER BY name",
            &[
                Value::from(node_type::LINKED_SHARED),
                Value::Int(record.int("main_id").unwrap_or_default()),
            ],
        )
        .await?)
}

/// The shared component records the active application `app_name`
/// includes (see [`used_by`]).
pub async fn components_of(db: &Db, app_name: &str) -> Result<Vec<Row>> {
    let mut tx = db.begin_read().await?;
    let app = super::applications::find_active(&mut tx, app_name, Some("application"))
        .await?
        .ok_or_else(|| {
            super::refusal(format!(
                "Could not find active application with name: '{app_name}'"
            ))
        })?;
    let rows = used_by(&mut tx, &app.string("sys_id")).await?;
    tx.rollback().await?;
    Ok(rows)
}

/// The applications that include a library's shared component (see
/// [`applications_using`]).
pub async fn applications_of_component(
    db: &Db,
    library: &str,
    component: &str,
) -> Result<Vec<Row>> {
    let mut tx = db.begin_read().await?;
    let apps = applications_using(&mut tx, library, component).await?;
    tx.rollback().await?;
    Ok(apps)
}

/// The shared components the changeset `number` names impacts (see
/// [`impacted`]).
pub async fn impacted_by_number(db: &Db, number: &str) -> Result<Vec<Row>> {
    let mut tx = db.begin_read().await?;
    let changeset = super::changesets::by_number(&mut tx, number)
        .await?
        .ok_or_else(|| super::refusal("The passed changeset does not exist"))?;
    let rows = impacted(&mut tx, &changeset).await?;
    tx.rollback().await?;
    Ok(rows)
}
