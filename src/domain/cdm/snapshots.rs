//! Snapshots: the fully resolved configuration of a deployable at a commit
//! (includes expanded, overrides applied, `@@name@@` variables resolved),
//! validated by the Rego policies mapped to the deployable, published when
//! valid.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Map, Value as Json};

use super::tree::{Node, Tree};
use super::{node_type, refusal, request_error, MASK, MAX_CDIS};
use crate::domain::records::{insert_values, next_number};
use crate::error::Result;
use crate::registry;
use crate::storage::{Db, Row, Tx, Value};
use crate::time::now_string;

/// A deployable's resolved configuration.
pub struct Resolved {
    pub config: Map<String, Json>,
    pub cdi_count: usize,
    /// Every node whose change can change this configuration.
    pub contributors: HashSet<i64>,
    /// The variables the deployable sees (by name, as written, the
    /// deployable's own over its collections' over the application's).
    pub variables: HashMap<String, String>,
}

/// How deep variables may refer to variables.
const VARIABLE_DEPTH: usize = 10;

/// The `cdm_expansion_max_bytes` default: 16 MiB.
pub const DEFAULT_EXPANSION_MAX_BYTES: usize = 16 * 1024 * 1024;

static EXPANSION_MAX_BYTES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();

/// Sets the process-wide `cdm_expansion_max_bytes` (the first setting wins,
/// as for other process-wide bounds).
pub fn configure_expansion(max_bytes: usize) {
    let _ = EXPANSION_MAX_BYTES.set(max_bytes);
}

/// What `@@variable@@` substitution may still add to one deployable's
/// configuration. Without a bound a variable whose value names itself many
/// times doubles on every pass: ten passes of a 10 KB value would ask for
/// terabytes, and any reader of the application's page (or the commit job)
/// would set it off. Past the budget, tokens stay as written, as an unknown
/// name's do.
pub struct Expansion {
    left: usize,
}

impl Expansion {
    pub fn new() -> Self {
        Expansion {
            left: *EXPANSION_MAX_BYTES.get_or_init(|| DEFAULT_EXPANSION_MAX_BYTES),
        }
    }

    /// Takes `bytes` from the budget when they fit.
    fn take(&mut self, bytes: usize) -> bool {
        match self.left.checked_sub(bytes) {
            Some(left) => {
                self.left = left;
                true
            }
            None => false,
        }
    }
}

impl Default for Expansion {
    fn default() -> Self {
        Self::new()
    }
}

/// Resolves the deployable node `deployable` of `tree`.
pub fn resolve(tree: &Tree, deployable: i64) -> Resolved {
    let mut contributors = HashSet::new();
    let mut variables: HashMap<String, String> = HashMap::new();
    // Precedence: the application's component vars, then each included
    // collection's vars, then the deployable's own.
    let mut app_root = tree.get(deployable);
    while let Some(n) = app_root {
        match n.parent.and_then(|p| tree.get(p)) {
            Some(p) => app_root = Some(p),
            None => break,
        }
    }
    if let Some(root) = app_root {
        if let Some(components) = tree.child(root.main_id, "components") {
            if let Some(vars) = tree.child(components.main_id, "vars") {
                collect_variables(tree, vars.main_id, &mut variables, &mut contributors);
            }
        }
    }
    for child in tree.children_of(deployable) {
        if node_type::is_include(&child.node_type) {
            if let Some(target) = child.linked_to.and_then(|t| tree.get(t)) {
                if target.node_type == node_type::COLLECTION {
                    if let Some(vars) = tree.child(target.main_id, "vars") {
                        collect_variables(tree, vars.main_id, &mut variables, &mut contributors);
                    }
                }
            }
        }
    }
    if let Some(vars) = tree.child(deployable, "vars") {
        collect_variables(tree, vars.main_id, &mut variables, &mut contributors);
    }
    contributors.insert(deployable);
    let mut config = object_of(tree, deployable, &mut contributors, 0);
    let mut cdi_count = 0;
    let mut budget = Expansion::new();
    substitute(&mut config, &variables, &mut cdi_count, &mut budget);
    Resolved {
        config,
        cdi_count,
        contributors,
        variables,
    }
}

/// What an include node supplies: its target's configuration (before
/// overrides), for telling a redundant override.
pub fn included_config(tree: &Tree, link: &Node) -> Map<String, Json> {
    match link.linked_to.and_then(|t| tree.get(t)) {
        Some(target) => object_of(tree, target.main_id, &mut HashSet::new(), 1),
        None => Map::new(),
    }
}

fn collect_variables(
    tree: &Tree,
    folder: i64,
    out: &mut HashMap<String, String>,
    contributors: &mut HashSet<i64>,
) {
    contributors.insert(folder);
    for child in tree.children_of(folder) {
        contributors.insert(child.main_id);
        match child.node_type.as_str() {
            node_type::VARIABLE | node_type::CDI => {
                let value = leaf_value(child);
                if let Json::String(s) = value {
                    out.insert(child.name.clone(), s);
                }
            }
            _ => collect_variables(tree, child.main_id, out, contributors),
        }
    }
}

fn leaf_value(n: &Node) -> Json {
    if n.secure {
        return n
            .secure_value
            .clone()
            .map(Json::String)
            .unwrap_or(Json::Null);
    }
    n.value.clone().map(Json::String).unwrap_or(Json::Null)
}

/// Includes are followed to this depth (a cycle cannot hang a commit).
const INCLUDE_DEPTH: usize = 16;

fn object_of(
    tree: &Tree,
    container: i64,
    contributors: &mut HashSet<i64>,
    depth: usize,
) -> Map<String, Json> {
    let mut out = Map::new();
    if depth > INCLUDE_DEPTH {
        return out;
    }
    for child in tree.children_of(container) {
        contributors.insert(child.main_id);
        if child.system_folder && child.name == "vars" {
            continue;
        }
        let value = value_of(tree, child, contributors, depth);
        out.insert(child.name.clone(), value);
    }
    out
}

fn value_of(tree: &Tree, node: &Node, contributors: &mut HashSet<i64>, depth: usize) -> Json {
    match node.node_type.as_str() {
        node_type::CDI | node_type::VARIABLE => leaf_value(node),
        node_type::ARRAY => Json::Array(
            tree.children_of(node.main_id)
                .map(|c| {
                    contributors.insert(c.main_id);
                    value_of(tree, c, contributors, depth)
                })
                .collect(),
        ),
        node_type::LINKED | node_type::LINKED_SHARED => {
            let mut base = match node.linked_to.and_then(|t| tree.get(t)) {
                Some(target) => {
                    contributors.insert(target.main_id);
                    object_of(tree, target.main_id, contributors, depth + 1)
                }
                None => Map::new(),
            };
            let overrides = object_of(tree, node.main_id, contributors, depth + 1);
            merge(&mut base, overrides);
            Json::Object(base)
        }
        _ => Json::Object(object_of(tree, node.main_id, contributors, depth)),
    }
}

/// Deep-merges `over` into `base` (override values win).
fn merge(base: &mut Map<String, Json>, over: Map<String, Json>) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(Json::Object(b)), Json::Object(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

fn substitute(
    map: &mut Map<String, Json>,
    vars: &HashMap<String, String>,
    count: &mut usize,
    budget: &mut Expansion,
) {
    for v in map.values_mut() {
        substitute_value(v, vars, count, budget);
    }
}

fn substitute_value(
    v: &mut Json,
    vars: &HashMap<String, String>,
    count: &mut usize,
    budget: &mut Expansion,
) {
    match v {
        Json::Object(m) => substitute(m, vars, count, budget),
        Json::Array(items) => {
            for item in items {
                substitute_value(item, vars, count, budget);
            }
        }
        Json::String(s) => {
            *count += 1;
            if s.contains("@@") && !crate::secrets::is_encrypted(s) {
                *s = expand(s, vars, budget);
            }
        }
        _ => *count += 1,
    }
}

/// Replaces `@@name@@` tokens; unknown names stay as written, and so do
/// those past the `budget`.
pub fn expand(text: &str, vars: &HashMap<String, String>, budget: &mut Expansion) -> String {
    let mut current = text.to_owned();
    for _ in 0..VARIABLE_DEPTH {
        let mut out = String::with_capacity(current.len());
        let mut rest = current.as_str();
        let mut changed = false;
        while let Some(start) = rest.find("@@") {
            let after = &rest[start + 2..];
            match after.find("@@") {
                Some(end) => {
                    let name = &after[..end];
                    out.push_str(&rest[..start]);
                    match vars.get(name).filter(|v| !crate::secrets::is_encrypted(v)) {
                        Some(value) if !name.is_empty() && budget.take(value.len()) => {
                            out.push_str(value);
                            changed = true;
                        }
                        _ => out.push_str(&rest[start..start + 4 + end]),
                    }
                    rest = &after[end + 2..];
                }
                None => break,
            }
        }
        out.push_str(rest);
        current = out;
        if !changed {
            break;
        }
    }
    current
}

/// The value each variable resolves to for the deployable (`@@name@@`
/// references expanded as in the configuration), by name; secure values
/// masked.
pub fn resolved_variables(resolved: &Resolved) -> std::collections::BTreeMap<String, String> {
    let mut budget = Expansion::new();
    resolved
        .variables
        .iter()
        .map(|(name, value)| {
            let shown = if crate::secrets::is_encrypted(value) {
                MASK.to_owned()
            } else {
                expand(value, &resolved.variables, &mut budget)
            };
            (name.clone(), shown)
        })
        .collect()
}

/// The configuration with secure values masked (policies and readers
/// without the secrets role see it so) or decrypted.
pub fn masked(config: &Json) -> Json {
    match config {
        Json::Object(m) => Json::Object(m.iter().map(|(k, v)| (k.clone(), masked(v))).collect()),
        Json::Array(items) => Json::Array(items.iter().map(masked).collect()),
        Json::String(s) if crate::secrets::is_encrypted(s) => Json::String(MASK.into()),
        other => other.clone(),
    }
}

/// Makes a snapshot of a resolved deployable at a commit; returns its sys_id.
pub async fn create(
    tx: &mut Tx,
    deployable: &Row,
    resolved: &Resolved,
    changeset: &str,
    description: Option<&str>,
    actor: &str,
) -> Result<String> {
    let name = deployable.string("name");
    if resolved.cdi_count > MAX_CDIS {
        return Err(request_error(
            "commit",
            format!(
                "Deployable '{name}' would hold {} CDIs; the limit is {MAX_CDIS} per deployable",
                resolved.cdi_count
            ),
        ));
    }
    let version = deployable.int("snapshot_version_counter").unwrap_or(0) + 1;
    let number = next_number(tx, "sn_cdm_snapshot").await?;
    let id = insert_values(
        tx,
        registry::table("sn_cdm_snapshot").expect("registered"),
        None,
        vec![
            ("name", Value::Text(format!("{name}-v{version}.dpl"))),
            ("number", Value::Text(format!("SNAP{number:07}"))),
            ("description", Value::from(description)),
            (
                "cdm_application_id",
                Value::from(deployable.string("cdm_app")),
            ),
            (
                "cdm_deployable_id",
                Value::from(deployable.string("sys_id")),
            ),
            ("changeset_id", Value::from(changeset)),
            ("validation", Value::from("not_validated")),
            ("cdi_count", Value::Int(resolved.cdi_count as i64)),
            (
                "content",
                Value::Text(Json::Object(resolved.config.clone()).to_string()),
            ),
        ],
        actor,
    )
    .await?;
    let usage = resolved.cdi_count as f64 / MAX_CDIS as f64 * 100.0;
    tx.execute(
        "UPDATE sn_cdm_deployable SET snapshot_version_counter = $1, cdi_count = $2, cdi_usage = $3, \
         sys_updated_on = $4, sys_updated_by = $5, sys_mod_count = sys_mod_count + 1 WHERE sys_id = $6",
        &[
            Value::Int(version),
            Value::Int(resolved.cdi_count as i64),
            Value::Text(format_usage(usage)),
            Value::Text(now_string()),
            Value::from(actor),
            Value::from(deployable.string("sys_id")),
        ],
    )
    .await?;
    Ok(id)
}

fn format_usage(percent: f64) -> String {
    let rounded = (percent * 100.0).round() / 100.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded}")
    }
}

pub const SNAPSHOT_COLUMNS: &str = "s.sys_id, s.name, s.number, s.description, s.cdm_application_id, \
     s.cdm_deployable_id, s.changeset_id, s.published, s.last_published, s.last_validated, s.validation, \
     s.validation_result, s.cdi_count, s.content, s.sys_created_on, s.sys_created_by, s.sys_updated_on, \
     s.sys_updated_by, d.name AS deployable_name, d.environment_type, d.cmdb_ci, a.name AS app_name";

fn snapshot_select(condition: &str) -> String {
    format!(
        "SELECT {SNAPSHOT_COLUMNS} FROM sn_cdm_snapshot s JOIN sn_cdm_deployable d ON d.sys_id = s.cdm_deployable_id \
         JOIN sn_cdm_application a ON a.sys_id = s.cdm_application_id WHERE {condition}"
    )
}

pub async fn by_id(tx: &mut Tx, id: &str) -> Result<Option<Row>> {
    tx.fetch_optional(&snapshot_select("s.sys_id = $1"), &[Value::from(id)])
        .await
        .map_err(Into::into)
}

pub async fn by_name(tx: &mut Tx, app: &str, deployable: &str, name: &str) -> Result<Option<Row>> {
    tx.fetch_optional(
        &snapshot_select("a.name = $1 AND d.name = $2 AND s.name = $3"),
        &[Value::from(app), Value::from(deployable), Value::from(name)],
    )
    .await
    .map_err(Into::into)
}

/// The snapshots of an application's deployables, by deployable name and
/// newest first.
pub async fn of_application(tx: &mut Tx, application: &str) -> Result<Vec<Row>> {
    let mut rows = tx
        .fetch_all(
            &snapshot_select("s.cdm_application_id = $1"),
            &[Value::from(application)],
        )
        .await?;
    rows.sort_by_key(|r| {
        (
            r.string("deployable_name"),
            std::cmp::Reverse(snapshot_version(r)),
        )
    });
    Ok(rows)
}

/// The snapshots a changeset's commit made, by deployable name.
pub async fn of_changeset(tx: &mut Tx, changeset: &str) -> Result<Vec<Row>> {
    let mut rows = tx
        .fetch_all(
            &snapshot_select("s.changeset_id = $1"),
            &[Value::from(changeset)],
        )
        .await?;
    rows.sort_by_key(|r| (r.string("deployable_name"), snapshot_version(r)));
    Ok(rows)
}

/// The latest published snapshot of a deployable, else none.
pub async fn latest_published(tx: &mut Tx, deployable: &str) -> Result<Option<Row>> {
    let rows = tx
        .fetch_all(
            &snapshot_select("s.cdm_deployable_id = $1 AND s.published = $2"),
            &[Value::from(deployable), Value::Bool(true)],
        )
        .await?;
    Ok(rows.into_iter().max_by_key(snapshot_version))
}

/// The name of each deployable's latest published snapshot, by the
/// deployable's sys_id (as [`latest_published`] picks it, for all at once).
pub async fn latest_published_names(tx: &mut Tx) -> Result<HashMap<String, String>> {
    let rows = tx
        .fetch_all(
            "SELECT cdm_deployable_id, name FROM sn_cdm_snapshot WHERE published = $1",
            &[Value::Bool(true)],
        )
        .await?;
    let mut latest: HashMap<String, &Row> = HashMap::new();
    for r in &rows {
        let entry = latest.entry(r.string("cdm_deployable_id")).or_insert(r);
        if snapshot_version(r) > snapshot_version(entry) {
            *entry = r;
        }
    }
    Ok(latest
        .into_iter()
        .map(|(deployable, r)| (deployable, r.string("name")))
        .collect())
}

fn snapshot_version(r: &Row) -> i64 {
    let name = r.string("name");
    name.trim_end_matches(".dpl")
        .rsplit("-v")
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// What validating a snapshot needs, read before any policy runs: the
/// mapped policies and the input they are evaluated against.
pub struct Validation {
    pub snapshot_id: String,
    /// The snapshot's content when read: a validation is recorded only on
    /// the content it judged.
    pub content: String,
    policies: Vec<(String, String)>,
    input: Json,
}

/// The verdicts of a validation, computed with no transaction open.
pub struct Verdicts {
    pub outcome: &'static str,
    verdicts: Vec<Json>,
}

/// The input document a snapshot's policies are evaluated against: its
/// application, deployable, name and configuration (secure values
/// masked). Validation and the console's dry run of a policy both use it.
pub fn policy_input(snapshot: &Row) -> Json {
    let config: Json =
        serde_json::from_str(&snapshot.string("content")).unwrap_or(Json::Object(Map::new()));
    json!({
        "application": snapshot.string("app_name"),
        "deployable": {
            "name": snapshot.string("deployable_name"),
            "environment_type": snapshot.string("environment_type"),
        },
        "snapshot": snapshot.string("name"),
        "config": masked(&config),
    })
}

/// The snapshot `id`'s label (`application / deployable / name`) and the
/// input its validation would give a policy ([`policy_input`]), for trying
/// a policy against it; an unknown id is "not found".
pub async fn trial_input(db: &Db, id: &str) -> Result<(String, Json)> {
    let mut read = db.begin_read().await?;
    let snapshot = by_id(&mut read, id).await;
    read.rollback().await?;
    let snapshot = snapshot?
        .ok_or_else(|| crate::error::Error::not_found("There is no snapshot with this id"))?;
    Ok((label(&snapshot), policy_input(&snapshot)))
}

fn label(snapshot: &Row) -> String {
    format!(
        "{} / {} / {}",
        snapshot.string("app_name"),
        snapshot.string("deployable_name"),
        snapshot.string("name")
    )
}

/// The newest snapshots (at most `limit`): (sys_id, label), for choosing
/// one to try a policy against.
pub async fn recent(db: &Db, limit: i64) -> Result<Vec<(String, String)>> {
    let mut read = db.begin_read().await?;
    let rows = read
        .fetch_all(
            "SELECT s.sys_id, s.name, d.name AS deployable_name, a.name AS app_name \
             FROM sn_cdm_snapshot s JOIN sn_cdm_deployable d ON d.sys_id = s.cdm_deployable_id \
             JOIN sn_cdm_application a ON a.sys_id = s.cdm_application_id \
             ORDER BY s.sys_created_on DESC, s.sys_id LIMIT $1",
            &[Value::Int(limit)],
        )
        .await;
    read.rollback().await?;
    Ok(rows?
        .iter()
        .map(|r| (r.string("sys_id"), label(r)))
        .collect())
}

/// Reads what validating `snapshot` needs (the active policies mapped to
/// its deployable). A read transaction does: nothing is written.
pub async fn prepare_validation(tx: &mut Tx, snapshot: &Row) -> Result<Validation> {
    let policies = tx
        .fetch_all(
            "SELECT p.name, p.rego FROM sn_cdm_pace_policy_mapping m JOIN sn_pace_policy p ON p.sys_id = m.policy \
             WHERE m.document = $1 AND m.state = 'active' AND p.active = $2 ORDER BY p.name",
            &[Value::from(snapshot.string("cdm_deployable_id")), Value::Bool(true)],
        )
        .await?;
    let content = snapshot.string("content");
    let input = policy_input(snapshot);
    Ok(Validation {
        snapshot_id: snapshot.string("sys_id"),
        content,
        policies: policies
            .iter()
            .map(|p| (p.string("name"), p.string("rego")))
            .collect(),
        input,
    })
}

/// Evaluates the mapped policies: `passed` when every one is compliant (or
/// none is mapped), `failed` when one is not, `execution_error` when one
/// could not be evaluated. It takes no transaction on purpose: each
/// evaluation may run for the whole policy time limit, and a transaction
/// held over them would hold SQLite's write lock (every write on the
/// server) for as long.
pub async fn evaluate(validation: &Validation) -> Verdicts {
    let mut outcome = "passed";
    let mut verdicts = Vec::new();
    for (name, rego) in &validation.policies {
        let verdict = crate::policy::sandbox::global()
            .evaluate(rego, &validation.input)
            .await;
        if verdict.reason == crate::policy::REASON_EVALUATION_FAILED {
            outcome = "execution_error";
        } else if !verdict.compliant && outcome == "passed" {
            outcome = "failed";
        }
        verdicts.push(json!({
            "policy": name,
            "compliant": verdict.compliant,
            "reason": verdict.reason,
            "output": verdict.output,
        }));
    }
    Verdicts { outcome, verdicts }
}

/// Records the verdicts on the snapshot.
pub async fn record_validation(
    tx: &mut Tx,
    snapshot_id: &str,
    verdicts: Verdicts,
    actor: &str,
) -> Result<()> {
    let now = now_string();
    tx.execute(
        "UPDATE sn_cdm_snapshot SET validation = $1, validation_result = $2, last_validated = $3, \
         sys_updated_on = $3, sys_updated_by = $4, sys_mod_count = sys_mod_count + 1 WHERE sys_id = $5",
        &[
            Value::from(verdicts.outcome),
            Value::Text(Json::Array(verdicts.verdicts).to_string()),
            Value::Text(now),
            Value::from(actor),
            Value::from(snapshot_id),
        ],
    )
    .await?;
    Ok(())
}

/// Validates a snapshot inside the caller's transaction and records the
/// verdicts; returns the outcome. Only for a caller that must validate
/// within a larger transaction (a commit's auto-validation): it holds that
/// transaction over the evaluations. Requests validate with
/// `prepare_validation`, `evaluate` and `record_validation`, with no
/// transaction open while policies run.
pub async fn validate(tx: &mut Tx, snapshot: &Row, actor: &str) -> Result<String> {
    let validation = prepare_validation(tx, snapshot).await?;
    let verdicts = evaluate(&validation).await;
    let outcome = verdicts.outcome.to_owned();
    record_validation(tx, &validation.snapshot_id, verdicts, actor).await?;
    Ok(outcome)
}

/// Publishes a snapshot: it must have passed validation, its deployable
/// must be connected to a service, and it must not be published already.
/// The deployable's previously published snapshot is unpublished.
pub async fn publish(tx: &mut Tx, snapshot: &Row, actor: &str) -> Result<()> {
    let name = snapshot.string("name");
    if snapshot.bool("published") {
        return Err(request_error(
            "publish",
            format!("Snapshot '{name}' is already published"),
        ));
    }
    let validation = snapshot.string("validation");
    if validation != "passed" && validation != "passed_with_exception" {
        return Err(request_error(
            "publish",
            format!("Snapshot '{name}' has not passed validation (validation: {validation})"),
        ));
    }
    if snapshot.text("cmdb_ci").is_none() {
        return Err(request_error(
            "publish",
            format!(
                "Deployable '{}' is not connected to a service",
                snapshot.string("deployable_name")
            ),
        ));
    }
    let now = now_string();
    tx.execute(
        "UPDATE sn_cdm_snapshot SET published = $1 WHERE cdm_deployable_id = $2 AND published = $3",
        &[
            Value::Bool(false),
            Value::from(snapshot.string("cdm_deployable_id")),
            Value::Bool(true),
        ],
    )
    .await?;
    tx.execute(
        "UPDATE sn_cdm_snapshot SET published = $1, last_published = $2, sys_updated_on = $2, sys_updated_by = $3, \
         sys_mod_count = sys_mod_count + 1 WHERE sys_id = $4",
        &[Value::Bool(true), Value::Text(now), Value::from(actor), Value::from(snapshot.string("sys_id"))],
    )
    .await?;
    Ok(())
}

pub async fn unpublish(tx: &mut Tx, snapshot: &Row, actor: &str) -> Result<()> {
    if !snapshot.bool("published") {
        return Err(request_error(
            "unpublish",
            format!("Snapshot '{}' is not published", snapshot.string("name")),
        ));
    }
    tx.execute(
        "UPDATE sn_cdm_snapshot SET published = $1, sys_updated_on = $2, sys_updated_by = $3, \
         sys_mod_count = sys_mod_count + 1 WHERE sys_id = $4",
        &[
            Value::Bool(false),
            Value::Text(now_string()),
            Value::from(actor),
            Value::from(snapshot.string("sys_id")),
        ],
    )
    .await?;
    Ok(())
}

/// The snapshot a path id names, which must exist.
pub async fn require(tx: &mut Tx, id: &str, operation: &str) -> Result<Row> {
    by_id(tx, id)
        .await?
        .ok_or_else(|| request_error(operation, "Snapshot not found"))
}

pub fn not_found_by_name(name: &str) -> crate::error::Error {
    refusal(format!("Snapshot '{name}' not found"))
}

/// What the snapshot endpoints do to a snapshot.
#[derive(Clone, Copy, Debug)]
pub enum Action {
    Validate,
    Publish,
    Unpublish,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Validate => "validate",
            Action::Publish => "publish",
            Action::Unpublish => "unpublish",
        }
    }
}

/// How a request names its snapshot.
pub enum Which<'a> {
    Id(&'a str),
    Name {
        app: &'a str,
        deployable: &'a str,
        name: &'a str,
    },
}

/// The snapshot a request names, or the error the request answers.
async fn find(tx: &mut Tx, which: &Which<'_>, action: Action) -> Result<Row> {
    match *which {
        Which::Id(id) => by_id(tx, id).await?.ok_or_else(|| match action {
            Action::Validate => refusal(format!("Invalid Snapshot id:{id}")),
            _ => request_error(action.name(), "Snapshot not found"),
        }),
        Which::Name {
            app,
            deployable,
            name,
        } => by_name(tx, app, deployable, name)
            .await?
            .ok_or_else(|| not_found_by_name(name)),
    }
}

fn refuse_published(snapshot: &Row) -> Result<()> {
    if snapshot.bool("published") {
        return Err(request_error(
            "validate",
            format!(
                "Snapshot '{}' is already published",
                snapshot.string("name")
            ),
        ));
    }
    Ok(())
}

/// Validates the snapshot `which` names and returns it as recorded. The
/// policies run with no transaction open (each may take the whole policy
/// time limit; on SQLite a write transaction held over them would stop
/// every write on the server): the inputs are read in a read transaction,
/// the verdicts written in a short write transaction that checks again that
/// the snapshot is there, unpublished, with the content that was judged.
async fn validate_named(db: &Db, which: &Which<'_>, actor: &str) -> Result<Row> {
    let mut read = db.begin_read().await?;
    let prepared = async {
        let snapshot = find(&mut read, which, Action::Validate).await?;
        refuse_published(&snapshot)?;
        prepare_validation(&mut read, &snapshot).await
    }
    .await;
    read.rollback().await?;
    let validation = prepared?;
    let verdicts = evaluate(&validation).await;
    let mut tx = db.begin().await?;
    let snapshot = find(&mut tx, which, Action::Validate).await?;
    refuse_published(&snapshot)?;
    if snapshot.string("sys_id") != validation.snapshot_id
        || snapshot.string("content") != validation.content
    {
        return Err(request_error(
            "validate",
            format!(
                "Snapshot '{}' changed while it was validated; validate it again",
                snapshot.string("name")
            ),
        ));
    }
    record_validation(&mut tx, &validation.snapshot_id, verdicts, actor).await?;
    let row = by_id(&mut tx, &validation.snapshot_id)
        .await?
        .ok_or_else(|| request_error("validate", "Snapshot not found"))?;
    tx.commit().await?;
    Ok(row)
}

/// Validates, publishes or unpublishes the snapshot `which` names; returns
/// it as it is afterwards. Publishing and unpublishing are short writes in
/// one transaction; validation runs its policies outside any (see
/// `validate_named`).
pub async fn act(db: &Db, which: &Which<'_>, action: Action, actor: &str) -> Result<Row> {
    if let Action::Validate = action {
        return validate_named(db, which, actor).await;
    }
    let mut tx = db.begin().await?;
    let snapshot = find(&mut tx, which, action).await?;
    match action {
        Action::Publish => publish(&mut tx, &snapshot, actor).await?,
        _ => unpublish(&mut tx, &snapshot, actor).await?,
    }
    let row = by_id(&mut tx, &snapshot.string("sys_id"))
        .await?
        .ok_or_else(|| request_error(action.name(), "Snapshot not found"))?;
    tx.commit().await?;
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn variables_expand_through_variables_and_unknown_names_stay() {
        let v = vars(&[("host", "db.@@zone@@"), ("zone", "eu")]);
        let mut budget = Expansion::new();
        assert_eq!(
            expand("jdbc://@@host@@/@@nope@@", &v, &mut budget),
            "jdbc://db.eu/@@nope@@"
        );
    }

    #[test]
    fn a_variable_that_names_itself_many_times_stops_at_the_budget() {
        // Unbounded, each of the ten passes would double it 2,000 times over.
        let v = vars(&[("a", &"@@a@@".repeat(2_000))]);
        let mut budget = Expansion { left: 1024 * 1024 };
        let out = expand("x @@a@@", &v, &mut budget);
        assert!(out.len() <= 1024 * 1024 + 7, "{} bytes", out.len());
        assert!(out.contains("@@a@@"), "the tokens past the budget stay");
        // The budget is spent: nothing more expands in this configuration.
        assert_eq!(expand("@@a@@", &v, &mut budget), "@@a@@");
    }
}
