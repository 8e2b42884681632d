//! Committing a changeset: conflict detection first, then every pending
//! version applied in one transaction, then a snapshot of each impacted
//! deployable (validated and published as the changeset asks). Commits,
//! uploads and exports are requests in `sn_cdm_request_queue`, run as jobs.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Value as Json};

use super::changesets;
use super::tree::{self, Node, Tree};
use super::{node_type, request_error};
use super::{shared, snapshots};
use crate::domain::records::insert_values;
use crate::error::{Error, Result};
use crate::registry;
use crate::storage::{Row, Tx, Value};
use crate::time::{now_millis, now_string};

/// Queues a request; returns its sys_id (the commit, upload or export id).
pub async fn queue_request(
    tx: &mut Tx,
    kind: &str,
    changeset: Option<&str>,
    parameters: &Json,
    payload: Option<&str>,
    actor: &str,
) -> Result<String> {
    insert_values(
        tx,
        registry::table("sn_cdm_request_queue").expect("registered"),
        None,
        vec![
            ("type", Value::from(kind)),
            ("state", Value::from("ready")),
            ("processing_state", Value::from("NOT_PROCESSED")),
            ("changeset", Value::from(changeset)),
            ("parameters", Value::Text(parameters.to_string())),
            ("payload", Value::from(payload)),
        ],
        actor,
    )
    .await
}

/// Ends a request: `completed` with its output, or `error` with the reason.
pub async fn finish_request(
    tx: &mut Tx,
    id: &str,
    outcome: std::result::Result<Json, String>,
) -> Result<()> {
    let (state, output, errors) = match outcome {
        Ok(output) => ("completed", Some(output.to_string()), None),
        Err(e) => ("error", None, Some(e)),
    };
    tx.execute(
        "UPDATE sn_cdm_request_queue SET state = $1, processing_state = 'PROCESSED', output = $2, errors = $3, \
         sys_updated_on = $4, sys_mod_count = sys_mod_count + 1 WHERE sys_id = $5",
        &[Value::from(state), Value::from(output), Value::from(errors), Value::Text(now_string()), Value::from(id)],
    )
    .await?;
    Ok(())
}

pub async fn request(tx: &mut Tx, id: &str) -> Result<Option<Row>> {
    tx.fetch_optional(
        "SELECT sys_id, type, state, processing_state, changeset, deployable, parameters, payload, output, errors, \
         sys_created_by FROM sn_cdm_request_queue WHERE sys_id = $1",
        &[Value::from(id)],
    )
    .await
    .map_err(Into::into)
}

/// Asks for a commit: the changeset must exist and not be committed.
/// Records the validate and publish options on it; returns the commit id.
pub async fn ask(
    tx: &mut Tx,
    changeset: &Row,
    auto_validate: bool,
    publish_option: &str,
    actor: &str,
) -> Result<String> {
    let number = changeset.string("number");
    match changeset.string("state").as_str() {
        "committed" => {
            return Err(request_error(
                "commit",
                format!("Changeset '{number}' is already committed"),
            ))
        }
        "checking_for_conflict" | "commit_in_progress" => {
            return Err(request_error(
                "commit",
                format!("Changeset '{number}' is being committed"),
            ))
        }
        _ => {}
    }
    if publish_option != "publish_none" && publish_option != "publish_valid" {
        return Err(request_error(
            "commit",
            format!("Invalid publishOption '{publish_option}': publish_none or publish_valid"),
        ));
    }
    let id = changeset.string("sys_id");
    tx.execute(
        "UPDATE sn_cdm_changeset SET auto_validate = $1, publish_option = $2, state = 'checking_for_conflict', \
         sys_updated_on = $3, sys_updated_by = $4, sys_mod_count = sys_mod_count + 1 WHERE sys_id = $5",
        &[Value::Bool(auto_validate), Value::from(publish_option), Value::Text(now_string()), Value::from(actor), Value::from(&id)],
    )
    .await?;
    queue_request(tx, "commit", Some(&id), &json!({}), None, actor).await
}

/// One conflict found by detection.
pub struct Conflict {
    pub version: String,
    pub kind: &'static str,
    pub reason: String,
}

/// The numbers of the changesets that committed a node a pending version
/// read an older version of (the changesets a conflict's reason names).
async fn numbers_of_changers(
    tx: &mut Tx,
    pending: &[Node],
    current: &Tree,
) -> Result<HashMap<String, String>> {
    let mut numbers = HashMap::new();
    for v in pending {
        let Some(id) = current
            .get(v.main_id)
            .filter(|now| Some(&now.sys_id) != v.previous_version.as_ref())
            .and_then(|now| now.changeset_id.clone())
        else {
            continue;
        };
        if numbers.contains_key(&id) {
            continue;
        }
        let number = tx
            .fetch_optional(
                "SELECT number FROM sn_cdm_changeset WHERE sys_id = $1",
                &[Value::from(&id)],
            )
            .await?
            .and_then(|r| r.text("number"));
        if let Some(number) = number {
            numbers.insert(id, number);
        }
    }
    Ok(numbers)
}

/// Compares a changeset's pending versions with the committed tree;
/// `numbers` names changesets by their number (a sys_id missing from it is
/// named as it is).
pub fn detect(
    pending: &[Node],
    current: &Tree,
    numbers: &HashMap<String, String>,
) -> Vec<Conflict> {
    let pending_ids: HashSet<i64> = pending.iter().map(|n| n.main_id).collect();
    let deleted: HashSet<i64> = pending
        .iter()
        .filter(|n| n.status == "deleted")
        .map(|n| n.main_id)
        .collect();
    let added: HashSet<i64> = pending
        .iter()
        .filter(|n| n.status == "new")
        .map(|n| n.main_id)
        .collect();
    let mut out = Vec::new();
    let mut conflict = |v: &Node, kind: &'static str, reason: String| {
        out.push(Conflict {
            version: v.sys_id.clone(),
            kind,
            reason,
        })
    };
    for v in pending {
        match v.status.as_str() {
            "updated" | "deleted" => match current.get(v.main_id) {
                None => conflict(
                    v,
                    "deleted_node",
                    format!("'{}' was deleted by another changeset", v.name),
                ),
                Some(now)
                    if Some(&now.sys_id) == v.previous_version.as_ref()
                        && v.status == "updated"
                        && now.name != v.name
                        && current
                            .child(v.parent.unwrap_or_default(), &v.name)
                            .is_some_and(|twin| {
                                twin.main_id != v.main_id && !pending_ids.contains(&twin.main_id)
                            }) =>
                {
                    conflict(
                        v,
                        "duplicated_node",
                        format!("another changeset committed a node named '{}' here", v.name),
                    )
                }
                Some(now) if Some(&now.sys_id) != v.previous_version.as_ref() => conflict(
                    v,
                    "updated_node",
                    format!(
                        "'{}' was changed by {} after this changeset read it",
                        v.name,
                        now.changeset_id
                            .as_deref()
                            .map(|id| numbers.get(id).map(String::as_str).unwrap_or(id))
                            .unwrap_or("another changeset")
                    ),
                ),
                Some(_) => {}
            },
            "new" => {
                let parent = v.parent.unwrap_or_default();
                if current.get(parent).is_none() && !added.contains(&parent) {
                    conflict(
                        v,
                        "orphaned_descendant",
                        format!(
                            "the parent of '{}' was deleted by another changeset",
                            v.name
                        ),
                    );
                } else if let Some(twin) = current.child(parent, &v.name) {
                    if !pending_ids.contains(&twin.main_id) {
                        conflict(
                            v,
                            "duplicated_node",
                            format!("another changeset committed a node named '{}' here", v.name),
                        );
                    }
                }
                if node_type::is_include(&v.node_type) {
                    let target = v.linked_to.unwrap_or_default();
                    if (current.get(target).is_none() && !added.contains(&target))
                        || deleted.contains(&target)
                    {
                        conflict(
                            v,
                            "invalid_include",
                            format!("the node '{}' includes no longer exists", v.name),
                        );
                    }
                }
            }
            _ => {}
        }
        if v.status == "deleted" {
            if let Some(kids) = current.children.get(&v.main_id) {
                if kids.iter().any(|k| !pending_ids.contains(k)) {
                    conflict(
                        v,
                        "incomplete_deleted_parent",
                        format!("another changeset added nodes under '{}' after this changeset deleted it", v.name),
                    );
                }
            }
            let referenced = current.nodes.values().any(|n| {
                node_type::is_include(&n.node_type)
                    && n.linked_to == Some(v.main_id)
                    && !deleted.contains(&n.main_id)
            });
            if referenced {
                conflict(
                    v,
                    "incomplete_deleted_ref",
                    format!("'{}' is included elsewhere and cannot be deleted", v.name),
                );
            }
        }
    }
    out
}

/// Deleting a shared component that applications include is a changed
/// reference for them.
async fn included_elsewhere(tx: &mut Tx, library: &str, pending: &[Node]) -> Result<Vec<Conflict>> {
    let included: HashSet<i64> = tx
        .fetch_all(
            "SELECT linked_to FROM sn_cdm_node WHERE type = $1 AND effective_to IS NULL \
             AND effective_from IS NOT NULL AND status <> 'deleted' AND linked_to IN \
             (SELECT main_id FROM sn_cdm_node WHERE application = $2)",
            &[Value::from(node_type::LINKED_SHARED), Value::from(library)],
        )
        .await?
        .iter()
        .filter_map(|r| r.int("linked_to"))
        .collect();
    Ok(pending
        .iter()
        .filter(|v| v.status == "deleted" && included.contains(&v.main_id))
        .map(|v| Conflict {
            version: v.sys_id.clone(),
            kind: "incomplete_deleted_ref",
            reason: format!(
                "'{}' is included by applications and cannot be deleted",
                v.name
            ),
        })
        .collect())
}

pub struct Committed {
    pub snapshots: Vec<String>,
}

/// Commits a changeset inside the caller's transaction. `Ok(Err(conflicts))`
/// when detection blocked it (the changeset and its versions record why).
pub async fn commit(
    tx: &mut Tx,
    changeset_id: &str,
    actor: &str,
) -> Result<std::result::Result<Committed, usize>> {
    let cs = changesets::by_id(tx, changeset_id)
        .await?
        .ok_or_else(|| request_error("commit", "Changeset not found"))?;
    let app = cs.string("cdm_application");
    // Conflict detection compares with the application's committed tree:
    // commits of two changesets of one application take turns, so the
    // second detects what the first committed (the changeset row is locked
    // already, by `by_id`; the application always comes second).
    tx.lock("sn_cdm_application", &app).await?;
    let pending = tree::pending(tx, changeset_id).await?;
    let mut current = tree::committed_with_libraries(tx, &app).await?;
    let included: Vec<i64> = pending
        .iter()
        .filter(|n| n.node_type == node_type::LINKED_SHARED)
        .filter_map(|n| n.linked_to)
        .collect();
    tree::add_libraries(tx, &mut current, &included).await?;
    let now_ms = now_millis();
    let numbers = numbers_of_changers(tx, &pending, &current).await?;
    let mut conflicts = detect(&pending, &current, &numbers);
    if cs.string("app_type") == "shared_library" {
        conflicts.extend(included_elsewhere(tx, &app, &pending).await?);
    }
    if !conflicts.is_empty() {
        for c in &conflicts {
            tx.execute(
                "UPDATE sn_cdm_node SET conflict = $1, conflict_type = $2, reason_for_conflict = $3 WHERE sys_id = $4",
                &[Value::Bool(true), Value::from(c.kind), Value::from(&c.reason), Value::from(&c.version)],
            )
            .await?;
        }
        tx.execute(
            "UPDATE sn_cdm_changeset SET state = 'blocked', last_conflict_detection_time = $1, sys_updated_on = $2, \
             sys_mod_count = sys_mod_count + 1 WHERE sys_id = $3",
            &[Value::Text(now_ms.to_string()), Value::Text(now_string()), Value::from(changeset_id)],
        )
        .await?;
        return Ok(Err(conflicts.len()));
    }
    let ids: Vec<i64> = pending.iter().map(|n| n.main_id).collect();
    // One statement, the changeset's own versions naming what they replace
    // (an IN list of ids leads PostgreSQL's generic plan to scan the table).
    tx.execute(
        "UPDATE sn_cdm_node SET effective_to = $1, status = 'superseded' WHERE effective_to IS NULL \
         AND effective_from IS NOT NULL AND application = $2 AND main_id IN \
         (SELECT main_id FROM sn_cdm_node WHERE changeset_id = $3 AND effective_from IS NULL)",
        &[Value::Int(now_ms), Value::from(&app), Value::from(changeset_id)],
    )
    .await?;
    tx.execute(
        "UPDATE sn_cdm_node SET effective_from = $1, conflict = $2, conflict_type = NULL, reason_for_conflict = NULL, \
         status = CASE WHEN status = 'deleted' THEN 'deleted' ELSE 'valid' END \
         WHERE changeset_id = $3 AND effective_from IS NULL",
        &[Value::Int(now_ms), Value::Bool(false), Value::from(changeset_id)],
    )
    .await?;
    let now = now_string();
    tx.execute(
        "UPDATE sn_cdm_changeset SET state = 'committed', committed_at = $1, committed_by = \
         (SELECT sys_id FROM sys_user WHERE user_name = $2), last_conflict_detection_time = $3, last_updated = $1, \
         sys_updated_on = $1, sys_updated_by = $2, sys_mod_count = sys_mod_count + 1 WHERE sys_id = $4",
        &[Value::Text(now), Value::from(actor), Value::Text(now_ms.to_string()), Value::from(changeset_id)],
    )
    .await?;

    // Snapshots of the impacted deployables, from the tree as committed:
    // this application's, and for a shared library those of the
    // applications that include its components.
    let mut changed: HashSet<i64> = ids.iter().copied().collect();
    changed.extend(pending.iter().filter_map(|n| n.parent));
    let mut applications = vec![app.clone()];
    if cs.string("app_type") == "shared_library" {
        let library = tree::committed(tx, &app).await?;
        let root = cs.int("root_main_id").unwrap_or_default();
        shared::record_commit(tx, &app, root, &library, &changed, actor).await?;
        applications.extend(tree::dependents_of(tx, &app).await?);
    }
    let mut made = Vec::new();
    for application in &applications {
        let after = tree::committed_with_libraries(tx, application).await?;
        made.extend(snapshot_impacted(tx, &cs, application, &after, &changed, actor).await?);
    }
    Ok(Ok(Committed { snapshots: made }))
}

/// Snapshots (validated and published as the changeset asks) every active
/// deployable of `application` whose resolved configuration `changed`
/// reaches; returns their sys_ids.
async fn snapshot_impacted(
    tx: &mut Tx,
    cs: &Row,
    application: &str,
    after: &Tree,
    changed: &HashSet<i64>,
    actor: &str,
) -> Result<Vec<String>> {
    let changeset_id = cs.string("sys_id");
    let deployables = tx
        .fetch_all(
            "SELECT sys_id, name, cdm_app, main_id, snapshot_version_counter FROM sn_cdm_deployable \
             WHERE cdm_app = $1 AND state = 'active' ORDER BY name",
            &[Value::from(application)],
        )
        .await?;
    let auto_validate = cs.bool("auto_validate");
    let publish = cs.string("publish_option") == "publish_valid";
    let mut made = Vec::new();
    for d in &deployables {
        let main = d.int("main_id").unwrap_or_default();
        if after.get(main).is_none() {
            continue;
        }
        let resolved = snapshots::resolve(after, main);
        if resolved.contributors.is_disjoint(changed) {
            continue;
        }
        let snapshot = snapshots::create(
            tx,
            d,
            &resolved,
            &changeset_id,
            cs.text("snapshot_description").as_deref(),
            actor,
        )
        .await?;
        // publish_valid publishes the snapshots that pass validation, so it
        // validates them even without autoValidate (the document's own
        // commit example sends publishOption=publish_valid alone).
        if auto_validate || publish {
            let row = snapshots::by_id(tx, &snapshot).await?.expect("just made");
            let outcome = snapshots::validate(tx, &row, actor).await?;
            // publish_valid publishes what can be: a deployable without a
            // service keeps its valid snapshot unpublished.
            let row = snapshots::by_id(tx, &snapshot).await?.expect("just made");
            if publish && outcome == "passed" && row.text("cmdb_ci").is_some() {
                snapshots::publish(tx, &row, actor).await?;
            }
        }
        made.push(snapshot);
    }
    Ok(made)
}

/// Runs a queued commit request to its end, in the caller's transaction.
pub async fn run_request(
    tx: &mut Tx,
    request_id: &str,
    changeset_id: &str,
    actor: &str,
) -> Result<String> {
    match commit(tx, changeset_id, actor).await? {
        Ok(done) => {
            let cs = changesets::by_id(tx, changeset_id).await?.expect("exists");
            finish_request(tx, request_id, Ok(changesets::summary(&cs, true))).await?;
            Ok(format!(
                "Committed {}; {} snapshot(s)",
                cs.string("number"),
                done.snapshots.len()
            ))
        }
        Err(conflicts) => {
            let cs = changesets::by_id(tx, changeset_id).await?.expect("exists");
            let reason = format!(
                "Changeset '{}' is blocked: {conflicts} conflict(s) with changes committed since it read the nodes; see its activity",
                cs.string("number")
            );
            finish_request(tx, request_id, Err(reason.clone())).await?;
            Ok(reason)
        }
    }
}

/// Records a commit that failed for its content (a limit, a broken
/// include): the changeset is `commit_failed`, the request `error`.
pub async fn record_failure(
    tx: &mut Tx,
    request_id: &str,
    changeset_id: &str,
    error: &Error,
) -> Result<()> {
    tx.execute(
        "UPDATE sn_cdm_changeset SET state = 'commit_failed', sys_updated_on = $1, sys_mod_count = sys_mod_count + 1 \
         WHERE sys_id = $2",
        &[Value::Text(now_string()), Value::from(changeset_id)],
    )
    .await?;
    finish_request(tx, request_id, Err(error.message.clone())).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A committed node `main_id` named `name` under `parent`.
    fn node(tree: &mut Tree, parent: Option<i64>, main_id: i64, name: &str, ty: &str) -> Node {
        let parent = parent.and_then(|p| tree.get(p).cloned());
        let mut n = Node::committed("app", parent.as_ref(), main_id, name, ty, "t");
        n.changeset_id = Some("Chset-1".into());
        tree.attach(n.clone());
        n
    }

    /// A pending version of `of` made by another changeset, with `status`.
    fn pending(of: &Node, status: &str) -> Node {
        let mut v = of.clone();
        v.sys_id = format!("v-{}", of.main_id);
        v.previous_version = Some(of.sys_id.clone());
        v.effective_from = None;
        v.changeset_id = Some("Chset-2".into());
        v.status = status.into();
        v
    }

    /// A new node's pending version under `parent`.
    fn added(parent: i64, main_id: i64, name: &str, ty: &str) -> Node {
        let mut v = Node::committed("app", None, main_id, name, ty, "t");
        v.parent = Some(parent);
        v.sys_id = format!("v-{main_id}");
        v.effective_from = None;
        v.status = "new".into();
        v
    }

    /// app (1) > folder (2) > cdi (3), and a second cdi (4) under app.
    fn tree() -> (Tree, Vec<Node>) {
        let mut t = Tree::default();
        let app = node(&mut t, None, 1, "app", node_type::APPLICATION);
        let folder = node(&mut t, Some(1), 2, "folder", node_type::FOLDER);
        let cdi = node(&mut t, Some(2), 3, "cdi", node_type::CDI);
        let other = node(&mut t, Some(1), 4, "other", node_type::CDI);
        (t, vec![app, folder, cdi, other])
    }

    fn kinds(pending: &[Node], current: &Tree) -> Vec<(String, &'static str)> {
        detect(pending, current, &HashMap::new())
            .into_iter()
            .map(|c| (c.version, c.kind))
            .collect()
    }

    #[test]
    fn changes_to_what_the_changeset_read_do_not_conflict() {
        let (t, n) = tree();
        let mut renamed = pending(&n[2], "updated");
        renamed.name = "renamed".into();
        let gone = pending(&n[3], "deleted");
        let new = added(2, 10, "fresh", node_type::CDI);
        assert!(kinds(&[renamed, gone, new], &t).is_empty());
    }

    #[test]
    fn a_node_changed_or_deleted_since_it_was_read_conflicts() {
        let (mut t, n) = tree();
        let update = pending(&n[2], "updated");
        // Another changeset committed a new version of the cdi since.
        let mut newer = n[2].clone();
        newer.sys_id = "newer".into();
        newer.changeset_id = Some("cs-sys-id-3".into());
        t.nodes.insert(3, newer);
        let numbers = HashMap::from([("cs-sys-id-3".to_owned(), "Chset-3".to_owned())]);
        let found = detect(std::slice::from_ref(&update), &t, &numbers);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, "updated_node");
        assert!(found[0].reason.contains("Chset-3"), "{}", found[0].reason);
        // Deleted by another changeset.
        t.nodes.remove(&3);
        assert_eq!(kinds(&[update], &t), [("v-3".to_owned(), "deleted_node")]);
    }

    #[test]
    fn a_name_taken_since_conflicts() {
        let (t, n) = tree();
        // New node named like a committed sibling.
        let twin = added(1, 10, "other", node_type::CDI);
        assert_eq!(kinds(&[twin], &t), [("v-10".to_owned(), "duplicated_node")]);
        // Renamed to a committed sibling's name.
        let mut renamed = pending(&n[1], "updated");
        renamed.name = "other".into();
        assert_eq!(
            kinds(std::slice::from_ref(&renamed), &t),
            [("v-2".to_owned(), "duplicated_node")]
        );
        // Unless the sibling is itself changed by the changeset.
        let mut moved = pending(&n[3], "updated");
        moved.name = "elsewhere".into();
        assert!(kinds(&[renamed, moved], &t).is_empty());
    }

    #[test]
    fn a_new_node_needs_its_parent_and_an_include_its_target() {
        let (t, n) = tree();
        let orphan = added(99, 10, "x", node_type::CDI);
        assert_eq!(
            kinds(&[orphan], &t),
            [("v-10".to_owned(), "orphaned_descendant")]
        );
        // A parent added by the same changeset will be there.
        let parent = added(1, 11, "new_folder", node_type::FOLDER);
        let child = added(11, 12, "x", node_type::CDI);
        assert!(kinds(&[parent, child], &t).is_empty());
        // An include of a node the same changeset deletes.
        let mut include = added(1, 13, "link", node_type::LINKED);
        include.linked_to = Some(4);
        let gone = pending(&n[3], "deleted");
        assert_eq!(
            kinds(&[include.clone(), gone], &t),
            [("v-13".to_owned(), "invalid_include")]
        );
        include.linked_to = Some(98);
        assert_eq!(
            kinds(&[include], &t),
            [("v-13".to_owned(), "invalid_include")]
        );
    }

    #[test]
    fn a_deleted_node_must_take_its_children_and_not_be_included() {
        let (mut t, n) = tree();
        // The folder deleted without its cdi, which another changeset keeps.
        let folder = pending(&n[1], "deleted");
        assert_eq!(
            kinds(std::slice::from_ref(&folder), &t),
            [("v-2".to_owned(), "incomplete_deleted_parent")]
        );
        let cdi = pending(&n[2], "deleted");
        assert!(kinds(&[folder, cdi], &t).is_empty());
        // A committed include of the node.
        let mut include = Node::committed("app", t.get(1), 20, "link", node_type::LINKED, "t");
        include.linked_to = Some(4);
        t.attach(include.clone());
        let other = pending(&n[3], "deleted");
        assert_eq!(
            kinds(std::slice::from_ref(&other), &t),
            [("v-4".to_owned(), "incomplete_deleted_ref")]
        );
        // Deleting the include too is fine.
        assert!(kinds(&[other, pending(&include, "deleted")], &t).is_empty());
    }
}
