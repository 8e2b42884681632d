//! Deployable commands and queries as the CDM endpoints use them: create,
//! update and delete by application name, number a batch of new ones, and
//! find the deployables a changeset impacts. The tree work itself is in
//! [`super::applications`].

use std::collections::HashSet;

use super::applications::{self, DeployableChange};
use super::tree::{self, Node};
use super::{changesets, refusal, request_error, snapshots};
use crate::error::Result;
use crate::storage::{Db, Executor, Record, Row, Tx, Value};

crate::record! {
    /// A deployable record (`sn_cdm_deployable`).
    #[derive(Clone, Debug)]
    pub struct Deployable in "sn_cdm_deployable" {
        pub sys_id: String,
        pub name: String,
        pub description: Option<String>,
        pub cdm_app: String,
        pub cmdb_ci: Option<String>,
        pub node: Option<String>,
        pub main_id: i64,
        pub identifier: Option<String>,
        pub environment_type: String,
        pub cdi_count: i64,
        pub cdi_usage: Option<String>,
        pub snapshot_version_counter: i64,
        pub state: String,
        pub sys_created_on: String,
        pub sys_created_by: String,
        pub sys_updated_on: String,
        pub sys_updated_by: String,
    }
}

async fn read(tx: &mut Tx, id: &str) -> Result<Deployable> {
    tx.fetch_record::<Deployable>(&Deployable::select_where("sys_id = $1"), &[Value::from(id)])
        .await?
        .ok_or_else(|| crate::error::Error::internal(format!("deployable {id} vanished")))
}

/// The active application (not a shared library) named `app_name`, or the
/// `operation`'s "Application not found".
async fn application(tx: &mut Tx, app_name: &str, operation: &str) -> Result<Row> {
    applications::find_active(tx, app_name, Some("application"))
        .await?
        .ok_or_else(|| request_error(operation, "Application not found"))
}

/// Creates a deployable in the application named `app_name`; returns it.
pub async fn create(
    db: &Db,
    app_name: &str,
    name: &str,
    environment: &str,
    actor: &str,
) -> Result<Deployable> {
    let mut tx = db.begin().await?;
    let app = application(&mut tx, app_name, "create").await?;
    let id = applications::create_deployable(&mut tx, &app, name, environment, None, actor).await?;
    let made = read(&mut tx, &id).await?;
    tx.commit().await?;
    Ok(made)
}

/// Deletes (marks deleted, through an auto-committed changeset) the
/// deployable `name` of the application `app_name`.
pub async fn delete(db: &Db, app_name: &str, name: &str, actor: &str) -> Result<()> {
    let mut tx = db.begin().await?;
    let app = application(&mut tx, app_name, "delete").await?;
    applications::delete_deployable(&mut tx, &app, name, actor).await?;
    tx.commit().await?;
    Ok(())
}

/// Updates the deployable `name` of the application `app_name`; returns it
/// as it is afterwards.
pub async fn update(
    db: &Db,
    app_name: &str,
    name: &str,
    change: &DeployableChange<'_>,
    actor: &str,
) -> Result<Deployable> {
    let mut tx = db.begin().await?;
    let app = application(&mut tx, app_name, "update").await?;
    let id = applications::update_deployable(&mut tx, &app, name, change, actor).await?;
    let updated = read(&mut tx, &id).await?;
    tx.commit().await?;
    Ok(updated)
}

/// Creates `quantity` deployables of `environment` in the application
/// `app_id`, named `<environment>_<n>` with the smallest numbers no
/// deployable of the application uses; returns their sys_ids.
pub async fn create_numbered(
    db: &Db,
    app_id: &str,
    environment: &str,
    quantity: usize,
    actor: &str,
) -> Result<Vec<String>> {
    let mut tx = db.begin().await?;
    let app = tx
        .fetch_optional(
            "SELECT sys_id, name, type, state, root_main_id FROM sn_cdm_application WHERE sys_id = $1",
            &[Value::from(app_id)],
        )
        .await?
        .filter(|a| a.string("state") == "active")
        .ok_or_else(|| refusal(format!("CDM Application with SysID {app_id} was not found.")))?;
    let existing: HashSet<String> = tx
        .fetch_all(
            "SELECT name FROM sn_cdm_deployable WHERE cdm_app = $1",
            &[Value::from(app_id)],
        )
        .await?
        .iter()
        .map(|r| r.string("name"))
        .collect();
    let names = numbered_names(environment, quantity, &existing);
    let mut ids = Vec::with_capacity(names.len());
    for name in &names {
        ids.push(
            applications::create_deployable(&mut tx, &app, name, environment, None, actor).await?,
        );
    }
    tx.commit().await?;
    Ok(ids)
}

/// `quantity` names `<environment>_<n>`, n counting from 1 and passing over
/// the names in `taken`.
pub fn numbered_names(environment: &str, quantity: usize, taken: &HashSet<String>) -> Vec<String> {
    (1..)
        .map(|n| format!("{environment}_{n}"))
        .filter(|name| !taken.contains(name))
        .take(quantity)
        .collect()
}

/// The deployables a changeset impacts: for a committed one those it
/// snapshotted; for an open one those whose resolved configuration its
/// pending changes reach.
async fn impacted(tx: &mut Tx, changeset: &Row) -> Result<Vec<Deployable>> {
    let id = changeset.string("sys_id");
    if changeset.string("state") == "committed" {
        return tx
            .fetch_records::<Deployable>(
                &Deployable::select_where(
                    "sys_id IN (SELECT cdm_deployable_id FROM sn_cdm_snapshot WHERE changeset_id = $1) \
                     ORDER BY name",
                ),
                &[Value::from(&id)],
            )
            .await
            .map_err(Into::into);
    }
    let app = changeset.string("cdm_application");
    let pending = tree::pending(tx, &id).await?;
    let mut changed: HashSet<i64> = pending.iter().map(|n| n.main_id).collect();
    changed.extend(pending.iter().filter_map(|n| n.parent));
    let before = tree::committed_with_libraries(tx, &app).await?;
    let after = tree::as_seen_by(tx, &app, Some(&id)).await?;
    let after = tree::with_libraries(tx, after).await?;
    let all = tx
        .fetch_records::<Deployable>(
            &Deployable::select_where("cdm_app = $1 AND state = 'active' ORDER BY name"),
            &[Value::from(&app)],
        )
        .await?;
    Ok(all
        .into_iter()
        .filter(|d| {
            [&before, &after].iter().any(|t| {
                t.get(d.main_id).is_some()
                    && !snapshots::resolve(t, d.main_id)
                        .contributors
                        .is_disjoint(&changed)
            })
        })
        .collect())
}

/// The deployables the changeset numbered `number` impacts.
pub async fn impacted_by_number(db: &Db, number: &str) -> Result<Vec<Deployable>> {
    let mut tx = db.begin_read().await?;
    let found = async {
        let changeset = changesets::require(&mut tx, number, "impacted-deployables").await?;
        impacted(&mut tx, &changeset).await
    }
    .await;
    tx.rollback().await?;
    found
}

/// The latest committed node of each deployable the changeset `id` impacts.
pub async fn impacted_nodes(db: &Db, id: &str) -> Result<Vec<Node>> {
    let mut tx = db.begin_read().await?;
    let found = async {
        let changeset = changesets::by_id(&mut tx, id)
            .await?
            .ok_or_else(|| request_error("impacted-deployables", "Changeset not found"))?;
        let mut nodes = Vec::new();
        for d in impacted(&mut tx, &changeset).await? {
            let node: Option<Node> = tx
                .fetch_record(
                    &Node::select_where(
                        "main_id = $1 AND effective_from IS NOT NULL ORDER BY effective_from DESC LIMIT 1",
                    ),
                    &[Value::Int(d.main_id)],
                )
                .await?;
            nodes.extend(node);
        }
        Ok(nodes)
    }
    .await;
    tx.rollback().await?;
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_names_pass_over_taken_names() {
        let taken: HashSet<String> = ["Test_1".to_owned(), "Test_3".to_owned()].into();
        assert_eq!(
            numbered_names("Test", 3, &taken),
            vec!["Test_2", "Test_4", "Test_5"]
        );
    }
}
