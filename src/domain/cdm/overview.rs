//! Read models of configuration data for the console: the applications
//! with their deployables, open changesets and published snapshots; an
//! application's tree with the value each variable resolves to per
//! deployable; a changeset's changes, conflicts, commit and the snapshots
//! it made. Queries only: resolution is [`snapshots::resolve`]'s, changes
//! are [`changesets::activity`]'s, and secure values are shown as the API
//! shows them ([`MASK`]).

use std::collections::{BTreeMap, HashMap};

use serde_json::Value as Json;

use super::changesets::{self, UNCOMMITTED};
use super::deployables::Deployable;
use super::tree::{self, Node, Tree};
use super::{node_type, refusal, snapshots, MASK};
use crate::error::{Error, Result};
use crate::storage::{Db, Executor, Record, Row, Tx, Value};

/// An application as the list shows it.
pub struct AppSummary {
    pub name: String,
    /// `application` or `shared_library`.
    pub kind: String,
    pub deployables: usize,
    pub open_changesets: usize,
    /// Each active deployable's name and its latest published snapshot.
    pub published: Vec<(String, Option<String>)>,
}

/// The active applications and shared libraries, by name: four queries
/// whatever the number of applications and deployables.
pub async fn applications(db: &Db) -> Result<Vec<AppSummary>> {
    let mut tx = db.begin_read().await?;
    let apps = tx
        .fetch_all(
            "SELECT sys_id, name, type FROM sn_cdm_application WHERE state = 'active' ORDER BY name",
            &[],
        )
        .await?;
    let mut deployables: HashMap<String, Vec<Deployable>> = HashMap::new();
    for d in tx
        .fetch_records::<Deployable>(
            &Deployable::select_where("state = 'active' ORDER BY name"),
            &[],
        )
        .await?
    {
        deployables.entry(d.cdm_app.clone()).or_default().push(d);
    }
    let open = open_changesets(&mut tx).await?;
    let published = snapshots::latest_published_names(&mut tx).await?;
    tx.rollback().await?;
    Ok(apps
        .iter()
        .map(|app| {
            let id = app.string("sys_id");
            let mine = deployables.remove(&id).unwrap_or_default();
            AppSummary {
                name: app.string("name"),
                kind: app.string("type"),
                deployables: mine.len(),
                open_changesets: open.get(&id).copied().unwrap_or(0),
                published: mine
                    .iter()
                    .map(|d| (d.name.clone(), published.get(&d.sys_id).cloned()))
                    .collect(),
            }
        })
        .collect())
}

/// The number of uncommitted changesets of each application.
async fn open_changesets(tx: &mut Tx) -> Result<HashMap<String, usize>> {
    let placeholders: Vec<String> = (1..=UNCOMMITTED.len()).map(|i| format!("${i}")).collect();
    let states: Vec<Value> = UNCOMMITTED.iter().map(|s| Value::from(*s)).collect();
    let rows = tx
        .fetch_all(
            &format!(
                "SELECT cdm_application, COUNT(*) AS n FROM sn_cdm_changeset \
                 WHERE state IN ({}) GROUP BY cdm_application",
                placeholders.join(", ")
            ),
            &states,
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.string("cdm_application"),
                r.int("n").unwrap_or(0) as usize,
            )
        })
        .collect())
}

async fn active_deployables(tx: &mut Tx, app: &str) -> Result<Vec<Deployable>> {
    Ok(tx
        .fetch_records(
            &Deployable::select_where("cdm_app = $1 AND state = 'active' ORDER BY name"),
            &[Value::from(app)],
        )
        .await?)
}

/// One node of an application's tree, in reading order.
pub struct TreeRow {
    /// Levels below the application's root (its children are 1).
    pub depth: usize,
    pub name: String,
    /// The path below the application (`components/web/port`).
    pub path: String,
    /// `Folder`, `Component`, `CDI`, `Variable`, `Include`, ...
    pub kind: String,
    /// A CDI or variable: a node with a value.
    pub leaf: bool,
    pub system_folder: bool,
    pub secure: bool,
    /// The value as the API shows it: masked when secure.
    pub value: Option<String>,
    /// An include's target, by path (a shared library's by its name).
    pub includes: Option<String>,
}

/// A deployable with its resolved configuration.
pub struct DeployableView {
    pub name: String,
    pub environment_type: String,
    /// Each variable the deployable sees and the value it resolves to.
    pub variables: BTreeMap<String, String>,
    /// The resolved configuration as `path = value` lines, masked.
    pub config: Vec<(String, String)>,
    pub cdi_count: usize,
}

/// An application's page: its tree, deployables and changesets.
pub struct AppOverview {
    pub name: String,
    pub kind: String,
    pub rows: Vec<TreeRow>,
    pub deployables: Vec<DeployableView>,
    /// Newest first.
    pub changesets: Vec<Row>,
}

/// The active application (or shared library) named `name`.
async fn application_row(tx: &mut Tx, name: &str) -> Result<Row> {
    super::applications::find_active(tx, name, None)
        .await?
        .ok_or_else(|| {
            Error::not_found(format!(
                "There is no active configuration-data application named '{name}'"
            ))
        })
}

/// The committed tree of the application `name`, with each deployable
/// resolved as its next snapshot would be.
pub async fn application(db: &Db, name: &str) -> Result<AppOverview> {
    let mut tx = db.begin_read().await?;
    let app = application_row(&mut tx, name).await?;
    let id = app.string("sys_id");
    let tree = tree::committed_with_libraries(&mut tx, &id).await?;
    let deployables = active_deployables(&mut tx, &id).await?;
    tx.rollback().await?;
    let root = app.int("root_main_id").unwrap_or_default();
    let mut rows = Vec::new();
    walk(&tree, root, &id, &mut rows);
    let deployables = deployables
        .iter()
        .filter(|d| tree.get(d.main_id).is_some())
        .map(|d| {
            let resolved = snapshots::resolve(&tree, d.main_id);
            let mut config = Vec::new();
            flatten(
                &snapshots::masked(&Json::Object(resolved.config.clone())),
                String::new(),
                &mut config,
            );
            DeployableView {
                name: d.name.clone(),
                environment_type: d.environment_type.clone(),
                variables: snapshots::resolved_variables(&resolved),
                config,
                cdi_count: resolved.cdi_count,
            }
        })
        .collect();
    let changesets = changesets::list(db, name, None, None).await?;
    Ok(AppOverview {
        name: app.string("name"),
        kind: app.string("type"),
        rows,
        deployables,
        changesets,
    })
}

/// A node type in words (`CDI`, `Include`, `Shared include`, ...).
pub fn kind_label(t: &str) -> String {
    match t {
        node_type::CDI => "CDI".into(),
        node_type::LINKED => "Include".into(),
        node_type::LINKED_SHARED => "Shared include".into(),
        other => node_type::label(other),
    }
}

/// A value as the API shows it.
fn shown(n: &Node) -> Option<String> {
    if n.secure {
        Some(MASK.to_owned())
    } else {
        n.value.clone()
    }
}

fn walk(tree: &Tree, from: i64, app: &str, out: &mut Vec<TreeRow>) {
    // Depth first, without recursion (a tree may be deep).
    let mut stack: Vec<(i64, usize)> = tree
        .children_of(from)
        .map(|c| (c.main_id, 1))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    while let Some((id, depth)) = stack.pop() {
        let Some(n) = tree.get(id) else { continue };
        if n.application != app {
            continue;
        }
        let includes = n.linked_to.and_then(|t| tree.get(t)).map(|target| {
            let path = tree.path_of(target.main_id);
            if target.application == app {
                path
            } else {
                let library = tree
                    .nodes
                    .values()
                    .find(|r| r.application == target.application && r.parent.is_none())
                    .map(|r| r.name.clone())
                    .unwrap_or_default();
                format!("{library}/{path}")
            }
        });
        out.push(TreeRow {
            depth,
            name: n.name.clone(),
            path: tree.path_of(n.main_id),
            kind: kind_label(&n.node_type),
            leaf: n.node_type == node_type::CDI || n.node_type == node_type::VARIABLE,
            system_folder: n.system_folder,
            secure: n.secure,
            value: shown(n),
            includes,
        });
        let children: Vec<i64> = tree.children_of(id).map(|c| c.main_id).collect();
        for c in children.into_iter().rev() {
            stack.push((c, depth + 1));
        }
    }
}

fn flatten(v: &Json, prefix: String, out: &mut Vec<(String, String)>) {
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_owned()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match v {
        Json::Object(m) => {
            for (k, v) in m {
                flatten(v, join(k), out);
            }
        }
        Json::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(v, format!("{prefix}[{i}]"), out);
            }
        }
        Json::String(s) => out.push((prefix, s.clone())),
        Json::Null => out.push((prefix, String::new())),
        other => out.push((prefix, other.to_string())),
    }
}

/// One change a changeset makes, old and new.
pub struct ChangeRow {
    pub path: String,
    pub kind: String,
    /// `New`, `Modified`, `Deleted`, ...
    pub state: String,
    pub old_name: Option<String>,
    pub new_name: String,
    /// Values as the API shows them (masked when secure).
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    /// The conflict detection found, if any: its type and reason.
    pub conflict: Option<(String, String)>,
}

/// A snapshot with its validation verdicts.
pub struct SnapshotRow {
    pub row: Row,
    /// Each mapped policy's verdict: name, compliant, reason.
    pub verdicts: Vec<(String, bool, String)>,
}

impl SnapshotRow {
    fn of(row: Row) -> SnapshotRow {
        let verdicts: Vec<Json> =
            serde_json::from_str(&row.string("validation_result")).unwrap_or_default();
        SnapshotRow {
            verdicts: verdicts
                .iter()
                .map(|v| {
                    (
                        v["policy"].as_str().unwrap_or_default().to_owned(),
                        v["compliant"].as_bool().unwrap_or(false),
                        v["reason"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
            row,
        }
    }
}

/// A changeset's page: the changeset, its changes, its latest commit
/// request and the snapshots its commit made.
pub struct ChangesetView {
    pub changeset: Row,
    pub changes: Vec<ChangeRow>,
    /// The latest commit request (`state` ready, completed or error;
    /// `errors` the reason of a failure).
    pub commit: Option<Row>,
    pub snapshots: Vec<SnapshotRow>,
}

impl ChangesetView {
    /// Whether the changeset may still be committed.
    pub fn committable(&self) -> bool {
        matches!(
            self.changeset.string("state").as_str(),
            "open" | "blocked" | "commit_failed"
        )
    }

    /// Whether a commit is queued or running.
    pub fn committing(&self) -> bool {
        matches!(
            self.changeset.string("state").as_str(),
            "checking_for_conflict" | "commit_in_progress"
        ) || self
            .commit
            .as_ref()
            .is_some_and(|c| c.string("state") == "ready")
    }
}

/// The changeset `number` of the application `app`.
pub async fn changeset(db: &Db, app: &str, number: &str) -> Result<ChangesetView> {
    let not_found = || Error::not_found(format!("Application '{app}' has no changeset '{number}'"));
    let mut tx = db.begin_read().await?;
    let row = match changesets::by_number(&mut tx, number).await? {
        Some(r) if r.string("app_name") == app => r,
        _ => {
            tx.rollback().await?;
            return Err(not_found());
        }
    };
    let id = row.string("sys_id");
    let reasons: BTreeMap<String, (String, String)> = tx
        .fetch_all(
            "SELECT sys_id, conflict_type, reason_for_conflict FROM sn_cdm_node \
             WHERE changeset_id = $1 AND conflict = $2",
            &[Value::from(&id), Value::Bool(true)],
        )
        .await?
        .iter()
        .map(|r| {
            (
                r.string("sys_id"),
                (r.string("conflict_type"), r.string("reason_for_conflict")),
            )
        })
        .collect();
    let commit = tx
        .fetch_all(
            "SELECT sys_id, state, output, errors, sys_created_on, sys_created_by FROM sn_cdm_request_queue \
             WHERE changeset = $1 AND type = 'commit'",
            &[Value::from(&id)],
        )
        .await?
        .into_iter()
        .max_by_key(|r| r.string("sys_created_on"));
    let made = snapshots::of_changeset(&mut tx, &id).await?;
    tx.rollback().await?;
    let (_, activity) = changesets::activity(db, &row.string("number")).await?;
    let changes = activity
        .into_iter()
        .map(|a| {
            let v = &a.version;
            let deleted = v.status == "deleted";
            let state = match (&a.previous, v.status.as_str()) {
                (_, "deleted") => "Deleted",
                (None, _) => "New",
                (Some(p), _) if p.name != v.name => "Renamed",
                _ => "Modified",
            };
            ChangeRow {
                path: a.path.clone(),
                kind: kind_label(&v.node_type),
                state: state.to_owned(),
                old_name: a.previous.as_ref().map(|p| p.name.clone()),
                new_name: v.name.clone(),
                old_value: a.previous.as_ref().and_then(shown),
                new_value: if deleted { None } else { shown(v) },
                conflict: reasons.get(&v.sys_id).cloned().or_else(|| {
                    v.conflict_type
                        .clone()
                        .filter(|_| v.conflict)
                        .map(|t| (t, String::new()))
                }),
            }
        })
        .collect();
    Ok(ChangesetView {
        changeset: row,
        changes,
        commit,
        snapshots: made.into_iter().map(SnapshotRow::of).collect(),
    })
}

/// The snapshots of an application's deployables, by deployable (newest
/// first), every active deployable listed even without a snapshot.
pub async fn snapshots(db: &Db, app: &str) -> Result<Vec<(String, Vec<SnapshotRow>)>> {
    let mut tx = db.begin_read().await?;
    let row = application_row(&mut tx, app).await?;
    let id = row.string("sys_id");
    let deployables = active_deployables(&mut tx, &id).await?;
    let all = snapshots::of_application(&mut tx, &id).await?;
    tx.rollback().await?;
    let mut by: BTreeMap<String, Vec<SnapshotRow>> = deployables
        .iter()
        .map(|d| (d.name.clone(), Vec::new()))
        .collect();
    for s in all {
        if let Some(list) = by.get_mut(&s.string("deployable_name")) {
            list.push(SnapshotRow::of(s));
        }
    }
    Ok(by.into_iter().collect())
}

/// The snapshot `id`, which must belong to the application `app`.
pub async fn snapshot_of(db: &Db, app: &str, id: &str) -> Result<Row> {
    let mut tx = db.begin_read().await?;
    let row = snapshots::by_id(&mut tx, id).await?;
    tx.rollback().await?;
    row.filter(|r| r.string("app_name") == app)
        .ok_or_else(|| Error::not_found(format!("Application '{app}' has no snapshot '{id}'")))
}

/// Checks a changeset's number as the console takes it in a path.
pub fn changeset_number(given: &str) -> Result<String> {
    super::canonical_changeset_number(given)
        .ok_or_else(|| refusal(format!("Invalid changeset number '{given}'")))
}
