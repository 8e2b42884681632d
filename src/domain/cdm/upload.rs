//! Uploads: configuration content (already parsed into JSON) merged into a
//! component, a collection, a deployable or the components' `vars` folder,
//! as pending versions of a changeset. Objects become components (folders
//! under `vars`), scalars CDIs (variables under `vars`), lists arrays whose
//! elements sit at positions 1000, 2000, ...

use std::future::Future;
use std::pin::Pin;

use serde_json::{Map, Value as Json};

use super::tree::{self, Change, NewNode, Node, Tree};
use super::{node_type, refusal, MAX_CDIS};
use crate::error::Result;
use crate::storage::Tx;

/// Where content goes.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum Target {
    Components,
    ComponentVars,
    Collection(String),
    Deployable(String),
}

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Options {
    /// Delete existing nodes under the target that the content lacks.
    pub auto_delete: bool,
    /// Match list elements (objects) by these keys instead of by position.
    pub identifier_keys: Vec<String>,
    /// Below an include, leave out new overrides whose value equals the
    /// included one (the vendor's `deleteRedundantOverrides`, default true).
    #[serde(default)]
    pub skip_redundant_overrides: bool,
}

/// Counts the nodes parsed content would make: every value, object and
/// list (an empty `{}` or `[]` is still a component or an array), so that
/// content of empty containers cannot slip past the limit that bounds the
/// work (and the write lock) of an upload job.
pub fn node_count(value: &Json) -> usize {
    match value {
        Json::Object(m) => 1 + m.values().map(node_count).sum::<usize>(),
        Json::Array(items) => 1 + items.iter().map(node_count).sum::<usize>(),
        _ => 1,
    }
}

/// Refuses content that would make more nodes than a component may hold
/// CDIs (`MAX_CDIS`): containers count, so the limit bounds the nodes an
/// upload creates, not only its values.
pub fn check_limits(content: &Map<String, Json>) -> Result<()> {
    let n: usize = content.values().map(node_count).sum();
    if n > MAX_CDIS {
        return Err(refusal(format!(
            "The content holds {n} nodes (values, objects and lists); an upload may make at most {MAX_CDIS}, as a component may hold at most {MAX_CDIS} CDIs"
        )));
    }
    Ok(())
}

/// Where in which tree, through which changeset, an upload goes.
pub struct Destination<'a> {
    pub app: &'a str,
    pub root_main_id: i64,
    pub changeset: &'a str,
    pub target: &'a Target,
    /// Below the target (created as needed).
    pub name_path: &'a [String],
}

/// Merges `content` at the destination; returns how many node changes it
/// recorded in the changeset.
pub async fn apply(
    tx: &mut Tx,
    destination: &Destination<'_>,
    content: &Map<String, Json>,
    options: &Options,
    actor: &str,
) -> Result<usize> {
    let Destination {
        app,
        root_main_id,
        changeset,
        target,
        name_path,
    } = *destination;
    let mut tree = tree::as_seen_by(tx, app, Some(changeset)).await?;
    let base_path: Vec<String> = match target {
        Target::Components => vec!["components".into()],
        Target::ComponentVars => vec!["components".into(), "vars".into()],
        Target::Collection(name) => vec!["collections".into(), name.clone()],
        Target::Deployable(name) => vec!["deployables".into(), name.clone()],
    };
    let mut container = tree
        .find(root_main_id, &base_path)
        .cloned()
        .ok_or_else(|| {
            refusal(format!(
                "Could not find '{}' in the application",
                base_path.join("/")
            ))
        })?;
    let mut changes = 0;
    for name in name_path {
        container = match tree.child(container.main_id, name).cloned() {
            Some(existing) if is_container(&existing) => existing,
            Some(existing) => {
                return Err(refusal(format!(
                    "Node '{}' of type '{}' cannot hold content",
                    existing.name, existing.node_type
                )))
            }
            None => {
                tree::check_new_name(&tree, &container, name)?;
                let ty = tree::container_type(&tree, &container);
                tree::check_child_type(&container, ty)?;
                changes += 1;
                tree::add(
                    tx,
                    &mut tree,
                    Some(changeset),
                    new_node(&container, name, ty, None, None),
                    actor,
                )
                .await?
            }
        };
    }
    changes += merge_object(tx, &mut tree, changeset, container, content, options, actor).await?;
    Ok(changes)
}

fn is_container(n: &Node) -> bool {
    !matches!(n.node_type.as_str(), node_type::CDI | node_type::VARIABLE)
}

fn new_node<'a>(
    parent: &'a Node,
    name: &'a str,
    ty: &'static str,
    value: Option<&'a str>,
    position: Option<i64>,
) -> NewNode<'a> {
    NewNode {
        position,
        ..NewNode::plain(parent, name, ty, value)
    }
}

fn scalar(value: &Json) -> Option<String> {
    match value {
        Json::Null => None,
        Json::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

type Step<'a> = Pin<Box<dyn Future<Output = Result<usize>> + Send + 'a>>;

fn merge_object<'a>(
    tx: &'a mut Tx,
    tree: &'a mut Tree,
    changeset: &'a str,
    container: Node,
    content: &'a Map<String, Json>,
    options: &'a Options,
    actor: &'a str,
) -> Step<'a> {
    Box::pin(async move {
        let mut changes = 0;
        for (key, value) in content {
            let existing = tree.child(container.main_id, key).cloned();
            changes += merge_value(
                tx, tree, changeset, &container, key, existing, None, value, options, actor,
            )
            .await?;
        }
        if options.auto_delete {
            let stale: Vec<i64> = tree
                .children_of(container.main_id)
                .filter(|c| {
                    !c.system_folder
                        && !node_type::is_include(&c.node_type)
                        && !content.contains_key(&c.name)
                })
                .map(|c| c.main_id)
                .collect();
            for id in stale {
                changes += tree::delete(tx, tree, changeset, id, actor).await?;
            }
        }
        Ok(changes)
    })
}

#[allow(clippy::too_many_arguments)]
fn merge_value<'a>(
    tx: &'a mut Tx,
    tree: &'a mut Tree,
    changeset: &'a str,
    parent: &'a Node,
    name: &'a str,
    existing: Option<Node>,
    position: Option<i64>,
    value: &'a Json,
    options: &'a Options,
    actor: &'a str,
) -> Step<'a> {
    Box::pin(async move {
        let mut changes = 0;
        let wanted_container = match value {
            Json::Object(_) => Some(tree::container_type(tree, parent)),
            Json::Array(_) => Some(node_type::ARRAY),
            _ => None,
        };
        // A node of the wrong kind is replaced.
        let existing = match existing {
            Some(e)
                if wanted_container.is_some() != is_container(&e)
                    || (wanted_container == Some(node_type::ARRAY))
                        != (e.node_type == node_type::ARRAY) =>
            {
                if node_type::is_include(&e.node_type) {
                    return Err(refusal(format!(
                        "'{name}' is an include; upload below it to override its values"
                    )));
                }
                changes += tree::delete(tx, tree, changeset, e.main_id, actor).await?;
                None
            }
            other => other,
        };
        match value {
            Json::Object(map) => {
                let node = match existing {
                    Some(n) => n,
                    None => {
                        let ty = wanted_container.expect("object");
                        tree::check_new_name(tree, parent, name)?;
                        tree::check_child_type(parent, ty)?;
                        changes += 1;
                        tree::add(
                            tx,
                            tree,
                            Some(changeset),
                            new_node(parent, name, ty, None, position),
                            actor,
                        )
                        .await?
                    }
                };
                if node_type::is_include(&node.node_type) && options.skip_redundant_overrides {
                    let included = super::snapshots::included_config(tree, &node);
                    let wanted = without_redundant(tree, Some(node.main_id), map, &included);
                    changes +=
                        merge_object(tx, tree, changeset, node, &wanted, options, actor).await?;
                } else {
                    changes += merge_object(tx, tree, changeset, node, map, options, actor).await?;
                }
            }
            Json::Array(items) => {
                let node = match existing {
                    Some(n) => n,
                    None => {
                        tree::check_new_name(tree, parent, name)?;
                        tree::check_child_type(parent, node_type::ARRAY)?;
                        changes += 1;
                        tree::add(
                            tx,
                            tree,
                            Some(changeset),
                            new_node(parent, name, node_type::ARRAY, None, position),
                            actor,
                        )
                        .await?
                    }
                };
                changes += merge_array(tx, tree, changeset, node, items, options, actor).await?;
            }
            scalar_value => {
                let text = scalar(scalar_value);
                match existing {
                    Some(n) => {
                        let current = if n.secure { None } else { n.value.clone() };
                        if n.secure || current != text {
                            changes += 1;
                            tree::update(
                                tx,
                                tree,
                                changeset,
                                n.main_id,
                                Change {
                                    value: Some(text.as_deref()),
                                    ..Change::default()
                                },
                                actor,
                            )
                            .await?;
                        }
                    }
                    None => {
                        let ty = tree::leaf_type(tree, parent);
                        tree::check_new_name(tree, parent, name)?;
                        tree::check_child_type(parent, ty)?;
                        changes += 1;
                        tree::add(
                            tx,
                            tree,
                            Some(changeset),
                            new_node(parent, name, ty, text.as_deref(), position),
                            actor,
                        )
                        .await?;
                    }
                }
            }
        }
        Ok(changes)
    })
}

fn merge_array<'a>(
    tx: &'a mut Tx,
    tree: &'a mut Tree,
    changeset: &'a str,
    array: Node,
    items: &'a [Json],
    options: &'a Options,
    actor: &'a str,
) -> Step<'a> {
    Box::pin(async move {
        let mut changes = 0;
        let existing: Vec<Node> = tree.children_of(array.main_id).cloned().collect();
        let mut used = vec![false; existing.len()];
        let mut next_position = existing
            .iter()
            .filter_map(|n| n.position)
            .max()
            .unwrap_or(0);
        for (i, item) in items.iter().enumerate() {
            let matched = if options.identifier_keys.is_empty() {
                (i < existing.len()).then_some(i)
            } else {
                match item {
                    Json::Object(map) => existing.iter().enumerate().position(|(j, e)| {
                        !used[j]
                            && options.identifier_keys.iter().all(|k| {
                                let want = map.get(k).and_then(scalar);
                                want.is_some()
                                    && tree.child(e.main_id, k).and_then(|c| c.value.clone())
                                        == want
                            })
                    }),
                    _ => None,
                }
            };
            match matched {
                Some(j) => {
                    used[j] = true;
                    let e = existing[j].clone();
                    let name = e.name.clone();
                    changes += merge_value(
                        tx,
                        tree,
                        changeset,
                        &array,
                        &name,
                        Some(e.clone()),
                        e.position,
                        item,
                        options,
                        actor,
                    )
                    .await?;
                }
                None => {
                    next_position += 1000;
                    let name = next_position.to_string();
                    changes += merge_value(
                        tx,
                        tree,
                        changeset,
                        &array,
                        &name,
                        None,
                        Some(next_position),
                        item,
                        options,
                        actor,
                    )
                    .await?;
                }
            }
        }
        let prune = options.auto_delete || options.identifier_keys.is_empty();
        if prune {
            for (j, e) in existing.iter().enumerate() {
                if !used[j] && tree.get(e.main_id).is_some() {
                    changes += tree::delete(tx, tree, changeset, e.main_id, actor).await?;
                }
            }
        }
        Ok(changes)
    })
}

/// `content` without what an include already supplies with the same value,
/// unless an override node is there already (then the upload updates it).
fn without_redundant(
    tree: &Tree,
    container: Option<i64>,
    content: &Map<String, Json>,
    included: &Map<String, Json>,
) -> Map<String, Json> {
    content
        .iter()
        .filter_map(|(key, value)| {
            let existing = container
                .and_then(|c| tree.child(c, key))
                .map(|n| n.main_id);
            match (value, included.get(key)) {
                (Json::Object(own), Some(Json::Object(theirs))) => {
                    let rest = without_redundant(tree, existing, own, theirs);
                    (!rest.is_empty() || existing.is_some())
                        .then(|| (key.clone(), Json::Object(rest)))
                }
                (Json::Object(_) | Json::Array(_), _) => Some((key.clone(), value.clone())),
                (scalar_value, Some(theirs))
                    if existing.is_none()
                        && scalar(scalar_value).map(Json::String).unwrap_or(Json::Null)
                            == *theirs =>
                {
                    None
                }
                _ => Some((key.clone(), value.clone())),
            }
        })
        .collect()
}
