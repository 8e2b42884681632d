//! The node versions of an application's tree: reading the committed tree
//! (or the tree a changeset sees), finding nodes by path, and recording
//! pending versions in a changeset.

use std::collections::HashMap;

use super::{encode_main_id, node_type, refusal, RESERVED_NAMES};
use crate::domain::records::next_number;
use crate::error::{Error, Result};
use crate::ids::new_sys_id;
use crate::storage::{Executor, Record, Tx, Value};
use crate::time::now_string;

crate::record! {
    /// One version of a node.
    #[derive(Clone, Debug)]
    pub struct Node in "sn_cdm_node" {
        pub sys_id: String,
        pub application: String,
        pub main_id: i64,
        #[column = "parent_main_id"]
        pub parent: Option<i64>,
        pub node_path: String,
        pub level: i64,
        #[column = "type"]
        pub node_type: String,
        pub name: String,
        pub description: Option<String>,
        pub value: Option<String>,
        pub secure_value: Option<String>,
        pub secure: bool,
        pub status: String,
        #[column = "node_classifier"]
        pub classifier: Option<String>,
        pub position: Option<i64>,
        pub changeset_id: Option<String>,
        pub previous_version: Option<String>,
        pub effective_from: Option<i64>,
        pub effective_to: Option<i64>,
        pub system_folder: bool,
        pub linked_to: Option<i64>,
        pub conflict: bool,
        pub conflict_type: Option<String>,
        pub sys_created_on: String,
        pub sys_created_by: String,
        pub sys_updated_on: String,
        pub sys_updated_by: String,
    }
}

impl Node {
    pub fn is_pending(&self) -> bool {
        self.effective_from.is_none()
    }

    /// Whether this is a pending version made by `changeset`.
    fn is_pending_in(&self, changeset: &str) -> bool {
        self.is_pending() && self.changeset_id.as_deref() == Some(changeset)
    }

    /// A committed node: the root of an application when `parent` is none,
    /// else a child of `parent` (its path, level and application follow).
    pub fn committed(
        application: &str,
        parent: Option<&Node>,
        main_id: i64,
        name: &str,
        ty: &str,
        actor: &str,
    ) -> Node {
        let now = now_string();
        Node {
            sys_id: new_sys_id(),
            application: application.to_owned(),
            main_id,
            parent: parent.map(|p| p.main_id),
            node_path: match parent {
                Some(p) => format!("{}!{}", p.node_path, encode_main_id(main_id)),
                None => format!("!{}", encode_main_id(main_id)),
            },
            level: parent.map(|p| p.level + 1).unwrap_or(0),
            node_type: ty.to_owned(),
            name: name.to_owned(),
            description: None,
            value: None,
            secure_value: None,
            secure: false,
            status: "valid".into(),
            classifier: parent.and_then(|p| p.classifier.clone()),
            position: None,
            changeset_id: None,
            previous_version: None,
            effective_from: Some(crate::time::now_millis()),
            effective_to: None,
            system_folder: false,
            linked_to: None,
            conflict: false,
            conflict_type: None,
            sys_created_on: now.clone(),
            sys_created_by: actor.to_owned(),
            sys_updated_on: now,
            sys_updated_by: actor.to_owned(),
        }
    }
}

/// A tree: the live version of each node by main_id, and children by parent.
#[derive(Default)]
pub struct Tree {
    pub nodes: HashMap<i64, Node>,
    pub children: HashMap<i64, Vec<i64>>,
    /// Each parent's children by name (the first in `children` order when
    /// two share one), so finding a child by name does not scan its
    /// siblings: an upload looks every key up, and a scan per key is
    /// quadratic in a component's width. Kept by `add`, `attach`, `update`,
    /// `delete` and `add_libraries`, the only ways nodes join, leave or are
    /// renamed in a tree.
    names: HashMap<i64, HashMap<String, i64>>,
}

impl Tree {
    fn from_nodes(nodes: impl IntoIterator<Item = Node>) -> Tree {
        let nodes: HashMap<i64, Node> = nodes.into_iter().map(|n| (n.main_id, n)).collect();
        let mut children: HashMap<i64, Vec<i64>> = HashMap::new();
        for n in nodes.values() {
            if let Some(p) = n.parent {
                children.entry(p).or_default().push(n.main_id);
            }
        }
        for list in children.values_mut() {
            list.sort_by(|a, b| {
                let (na, nb) = (&nodes[a], &nodes[b]);
                (na.position, &na.name).cmp(&(nb.position, &nb.name))
            });
        }
        let mut tree = Tree {
            nodes,
            children,
            names: HashMap::new(),
        };
        let parents: Vec<i64> = tree.children.keys().copied().collect();
        for parent in parents {
            tree.reindex(parent);
        }
        tree
    }

    /// Rebuilds one parent's name index from its children (after a rename
    /// or a delete, which may uncover a sibling of the same name).
    fn reindex(&mut self, parent: i64) {
        let mut index = HashMap::new();
        for id in self.children.get(&parent).into_iter().flatten() {
            if let Some(n) = self.nodes.get(id) {
                index.entry(n.name.clone()).or_insert(*id);
            }
        }
        if index.is_empty() {
            self.names.remove(&parent);
        } else {
            self.names.insert(parent, index);
        }
    }

    /// Adds a node under its parent (last among its siblings).
    pub fn attach(&mut self, node: Node) {
        if let Some(parent) = node.parent {
            self.children.entry(parent).or_default().push(node.main_id);
            self.names
                .entry(parent)
                .or_default()
                .entry(node.name.clone())
                .or_insert(node.main_id);
        }
        self.nodes.insert(node.main_id, node);
    }

    pub fn get(&self, main_id: i64) -> Option<&Node> {
        self.nodes.get(&main_id)
    }

    pub fn children_of(&self, main_id: i64) -> impl Iterator<Item = &Node> {
        self.children
            .get(&main_id)
            .into_iter()
            .flatten()
            .filter_map(|id| self.nodes.get(id))
    }

    pub fn child(&self, parent: i64, name: &str) -> Option<&Node> {
        self.names
            .get(&parent)?
            .get(name)
            .and_then(|id| self.nodes.get(id))
    }

    /// The node at `names` below `from` (names relative to it).
    pub fn find(&self, from: i64, names: &[String]) -> Option<&Node> {
        let mut current = self.get(from)?;
        for name in names {
            current = self.child(current.main_id, name)?;
        }
        Some(current)
    }

    /// The main_ids of a node and everything below it.
    pub fn subtree(&self, main_id: i64) -> Vec<i64> {
        let mut out = vec![main_id];
        let mut i = 0;
        while i < out.len() {
            if let Some(kids) = self.children.get(&out[i]) {
                out.extend(kids.iter().copied());
            }
            i += 1;
        }
        out
    }

    /// The slash path of a node from the application root, without the
    /// application's name (`deployables/Dev_1/cdi`).
    pub fn path_of(&self, main_id: i64) -> String {
        let mut names = Vec::new();
        let mut current = self.get(main_id);
        while let Some(n) = current {
            if n.parent.is_none() {
                break;
            }
            names.push(n.name.clone());
            current = n.parent.and_then(|p| self.get(p));
        }
        names.reverse();
        names.join("/")
    }
}

/// The committed tree of an application now.
pub async fn committed(tx: &mut Tx, application: &str) -> Result<Tree> {
    let nodes: Vec<Node> = tx
        .fetch_records(
            &Node::select_where(
                "application = $1 AND effective_to IS NULL \
                 AND effective_from IS NOT NULL AND status <> 'deleted'",
            ),
            &[Value::from(application)],
        )
        .await?;
    Ok(Tree::from_nodes(nodes))
}

/// The committed tree as it was at `at` (milliseconds since the epoch):
/// the versions effective then.
pub async fn as_of(tx: &mut Tx, application: &str, at: i64) -> Result<Tree> {
    let nodes: Vec<Node> = tx
        .fetch_records(
            &Node::select_where(
                "application = $1 AND effective_from <= $2 \
                 AND (effective_to IS NULL OR effective_to > $2) AND status <> 'deleted'",
            ),
            &[Value::from(application), Value::Int(at)],
        )
        .await?;
    Ok(Tree::from_nodes(nodes))
}

/// Adds to `tree` the committed trees of the shared libraries whose
/// components it includes, so includes resolve across applications
/// (main_ids are unique across all applications).
pub async fn with_libraries(tx: &mut Tx, mut tree: Tree) -> Result<Tree> {
    let targets: Vec<i64> = tree
        .nodes
        .values()
        .filter(|n| n.node_type == node_type::LINKED_SHARED)
        .filter_map(|n| n.linked_to)
        .collect();
    add_libraries(tx, &mut tree, &targets).await?;
    Ok(tree)
}

/// Adds the committed trees of the applications holding `targets` (those
/// not in `tree` already).
pub async fn add_libraries(tx: &mut Tx, tree: &mut Tree, targets: &[i64]) -> Result<()> {
    let args: Vec<Value> = targets
        .iter()
        .filter(|t| !tree.nodes.contains_key(t))
        .map(|t| Value::Int(*t))
        .collect();
    if args.is_empty() {
        return Ok(());
    }
    let libraries = tx
        .fetch_all(
            &format!(
                "SELECT DISTINCT application FROM sn_cdm_node WHERE main_id IN ({})",
                crate::domain::update_sets::placeholders(0, args.len())
            ),
            &args,
        )
        .await?;
    for library in libraries {
        let other = committed(tx, &library.string("application")).await?;
        for (id, kids) in other.children {
            tree.children.entry(id).or_default().extend(kids);
        }
        for (parent, names) in other.names {
            let index = tree.names.entry(parent).or_default();
            for (name, id) in names {
                index.entry(name).or_insert(id);
            }
        }
        tree.nodes.extend(other.nodes);
    }
    Ok(())
}

/// The committed tree of an application with the libraries it includes.
pub async fn committed_with_libraries(tx: &mut Tx, application: &str) -> Result<Tree> {
    let tree = committed(tx, application).await?;
    with_libraries(tx, tree).await
}

/// The applications with a live include of a node of `library`.
pub async fn dependents_of(tx: &mut Tx, library: &str) -> Result<Vec<String>> {
    Ok(tx
        .fetch_all(
            "SELECT DISTINCT application FROM sn_cdm_node WHERE type = $1 AND effective_to IS NULL \
             AND effective_from IS NOT NULL AND status <> 'deleted' AND linked_to IN \
             (SELECT main_id FROM sn_cdm_node WHERE application = $2)",
            &[Value::from(node_type::LINKED_SHARED), Value::from(library)],
        )
        .await?
        .iter()
        .map(|r| r.string("application"))
        .collect())
}

/// The pending versions of a changeset.
pub async fn pending(tx: &mut Tx, changeset: &str) -> Result<Vec<Node>> {
    Ok(tx
        .fetch_records(
            &Node::select_where(
                "changeset_id = $1 AND effective_from IS NULL \
                 ORDER BY main_id",
            ),
            &[Value::from(changeset)],
        )
        .await?)
}

/// The tree as a changeset sees it: the committed tree with the
/// changeset's pending versions laid over it.
pub async fn as_seen_by(tx: &mut Tx, application: &str, changeset: Option<&str>) -> Result<Tree> {
    let tree = committed(tx, application).await?;
    let Some(changeset) = changeset else {
        return Ok(tree);
    };
    let mut nodes = tree.nodes;
    for version in pending(tx, changeset).await? {
        if version.status == "deleted" {
            nodes.remove(&version.main_id);
        } else {
            nodes.insert(version.main_id, version);
        }
    }
    Ok(Tree::from_nodes(nodes.into_values()))
}

/// What a new node is.
pub struct NewNode<'a> {
    pub parent: &'a Node,
    pub name: &'a str,
    pub node_type: &'static str,
    pub value: Option<&'a str>,
    pub secure: bool,
    pub position: Option<i64>,
    pub linked_to: Option<i64>,
    pub system_folder: bool,
    pub classifier: Option<String>,
}

impl<'a> NewNode<'a> {
    /// A user node: not secure, not positioned, no include, no system folder.
    pub fn plain(
        parent: &'a Node,
        name: &'a str,
        node_type: &'static str,
        value: Option<&'a str>,
    ) -> NewNode<'a> {
        NewNode {
            parent,
            name,
            node_type,
            value,
            secure: false,
            position: None,
            linked_to: None,
            system_folder: false,
            classifier: None,
        }
    }
}

/// Checks a user node's name: present, not reserved, unique among siblings.
pub fn check_new_name(tree: &Tree, parent: &Node, name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(refusal("A node name is required"));
    }
    if RESERVED_NAMES.contains(&name) {
        return Err(refusal(format!(
            "'{name}' is a reserved node name (vars, collections, deployables and components are system folders)"
        )));
    }
    if tree.child(parent.main_id, name).is_some() {
        return Err(refusal(format!(
            "A node named '{name}' already exists under '{}'",
            parent.name
        )));
    }
    Ok(())
}

/// The deepest a node may sit below its application's root (the root is
/// level 0): the same limit as an uploaded document's nesting
/// (`parse::MAX_DEPTH`). Resolving, merging, masking and exporting a tree
/// recurse once per level, and every node stores its parent's whole
/// `node_path`, so an unbounded depth would overflow the stack of whatever
/// reads the tree and grow storage with the square of the depth.
pub const MAX_LEVEL: i64 = super::parse::MAX_DEPTH as i64;

/// Refuses a new node below `parent` when it would sit deeper than
/// `MAX_LEVEL`.
pub fn check_depth(parent: &Node) -> Result<()> {
    if parent.level >= MAX_LEVEL {
        return Err(refusal(format!(
            "'{}' cannot hold a child: a tree nests at most {MAX_LEVEL} levels below the application",
            parent.name
        )));
    }
    Ok(())
}

/// Refuses a name path parameter (`fullNamePath`, `namePath`) whose
/// `segments` below the application could not all exist in a tree, before
/// anything is created (with `autoCreateParents` every segment is a node).
pub fn check_path_depth(field: &str, segments: usize) -> Result<()> {
    if segments as i64 > MAX_LEVEL {
        return Err(refusal(format!(
            "{field} has {segments} names below the application; a tree nests at most {MAX_LEVEL} levels"
        ))
        .with_field(field));
    }
    Ok(())
}

/// Records a new node in a changeset; returns it (as the changeset sees it).
pub async fn add(
    tx: &mut Tx,
    tree: &mut Tree,
    changeset: Option<&str>,
    new: NewNode<'_>,
    actor: &str,
) -> Result<Node> {
    // Every way of making a user node comes through here, so this is where
    // the depth is bounded whatever the caller checked before.
    check_depth(new.parent)?;
    let main_id = next_number(tx, "cdm_main_id").await?;
    let now = now_string();
    let parent = new.parent.clone();
    let (value, secure_value) = store_value(tx, new.value, new.secure).await?;
    let node = Node {
        sys_id: new_sys_id(),
        application: parent.application.clone(),
        main_id,
        parent: Some(parent.main_id),
        node_path: format!("{}!{}", parent.node_path, encode_main_id(main_id)),
        level: parent.level + 1,
        node_type: new.node_type.to_owned(),
        name: new.name.to_owned(),
        description: None,
        value,
        secure_value,
        secure: new.secure,
        status: if changeset.is_some() { "new" } else { "valid" }.to_owned(),
        classifier: new.classifier.or_else(|| parent.classifier.clone()),
        position: new.position,
        changeset_id: changeset.map(str::to_owned),
        previous_version: None,
        effective_from: None,
        effective_to: None,
        system_folder: new.system_folder,
        linked_to: new.linked_to,
        conflict: false,
        conflict_type: None,
        sys_created_on: now.clone(),
        sys_created_by: actor.to_owned(),
        sys_updated_on: now,
        sys_updated_by: actor.to_owned(),
    };
    insert(tx, &node).await?;
    tree.attach(node.clone());
    Ok(node)
}

/// A value as stored: secure values encrypted in `secure_value`.
pub async fn store_value(
    tx: &mut Tx,
    value: Option<&str>,
    secure: bool,
) -> Result<(Option<String>, Option<String>)> {
    match (value, secure) {
        (Some(v), true) => Ok((
            None,
            Some(
                crate::secrets::encrypt(tx, v, &crate::secrets::Binding::cdm_secure_value())
                    .await?,
            ),
        )),
        (v, _) => Ok((v.map(str::to_owned), None)),
    }
}

pub async fn insert(tx: &mut Tx, n: &Node) -> Result<()> {
    // Uploads insert thousands of nodes: the statement is built once.
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let sql = SQL
        .get_or_init(|| Node::insert_sql(&["main_id_encoded", "sys_mod_count", "sys_class_name"]));
    let args = n.insert_args(vec![
        Value::Text(encode_main_id(n.main_id)),
        Value::Int(0),
        Value::from("sn_cdm_node"),
    ]);
    tx.execute(sql, &args).await?;
    Ok(())
}

/// What an update changes.
#[derive(Default)]
pub struct Change<'a> {
    pub name: Option<&'a str>,
    /// `Some(None)` clears the value.
    pub value: Option<Option<&'a str>>,
    pub secure: Option<bool>,
}

/// Records a change to an existing node in a changeset: the changeset's
/// pending version when it has one, a new pending version otherwise.
pub async fn update(
    tx: &mut Tx,
    tree: &mut Tree,
    changeset: &str,
    main_id: i64,
    change: Change<'_>,
    actor: &str,
) -> Result<Node> {
    let current = user_node(tree, main_id, "changed")?;
    if let Some(name) = change.name {
        if name != current.name {
            let parent = current
                .parent
                .and_then(|p| tree.get(p))
                .cloned()
                .ok_or_else(|| refusal("parent missing"))?;
            check_new_name(tree, &parent, name)?;
        }
    }
    if current.secure && change.secure == Some(false) {
        return Err(refusal("A secure node cannot be made non-secure"));
    }
    let secure = change.secure.unwrap_or(current.secure);
    let mut next = current.clone();
    if let Some(name) = change.name {
        next.name = name.to_owned();
    }
    let clear_value = match change.value {
        Some(v) => v.map(str::to_owned),
        None if current.secure => match &current.secure_value {
            Some(s) => Some(
                crate::secrets::decrypt(&mut *tx, s, &crate::secrets::Binding::cdm_secure_value())
                    .await?,
            ),
            None => None,
        },
        None => current.value.clone(),
    };
    let (value, secure_value) = store_value(tx, clear_value.as_deref(), secure).await?;
    next.value = value;
    next.secure_value = secure_value;
    next.secure = secure;
    next.sys_updated_on = now_string();
    next.sys_updated_by = actor.to_owned();
    if current.is_pending_in(changeset) {
        if current.conflict {
            // Editing a conflicted node re-bases it on the version committed
            // since: the next commit compares against that one.
            next.previous_version = tx
                .fetch_optional(
                    "SELECT sys_id FROM sn_cdm_node WHERE main_id = $1 AND effective_to IS NULL \
                     AND effective_from IS NOT NULL",
                    &[Value::Int(main_id)],
                )
                .await?
                .map(|r| r.string("sys_id"));
            next.conflict = false;
            next.conflict_type = None;
        }
    } else {
        next.status = "updated".into();
    }
    let next = record_pending(tx, &current, next, changeset, actor).await?;
    let renamed = next.name != current.name;
    tree.nodes.insert(main_id, next.clone());
    if let (true, Some(parent)) = (renamed, current.parent) {
        tree.reindex(parent);
    }
    Ok(next)
}

/// A node a client may change or delete (not a system folder or the root).
fn user_node(tree: &Tree, main_id: i64, verb: &str) -> Result<Node> {
    let node = tree
        .get(main_id)
        .cloned()
        .ok_or_else(|| refusal(format!("Node {main_id} not found")))?;
    if node.system_folder || node.parent.is_none() {
        return Err(refusal(format!(
            "'{}' is a system node and cannot be {verb}",
            node.name
        )));
    }
    Ok(node)
}

/// Records `next`, a changed copy of `current`, in the changeset: over the
/// changeset's own pending version, or as a new pending version replacing
/// the committed `current`.
async fn record_pending(
    tx: &mut Tx,
    current: &Node,
    mut next: Node,
    changeset: &str,
    actor: &str,
) -> Result<Node> {
    if current.is_pending_in(changeset) {
        write_pending(tx, &next).await?;
    } else {
        next.sys_id = new_sys_id();
        next.changeset_id = Some(changeset.to_owned());
        next.previous_version = Some(current.sys_id.clone());
        next.effective_from = None;
        next.effective_to = None;
        next.sys_created_on = next.sys_updated_on.clone();
        next.sys_created_by = actor.to_owned();
        insert(tx, &next).await?;
    }
    Ok(next)
}

async fn write_pending(tx: &mut Tx, n: &Node) -> Result<()> {
    tx.execute(
        "UPDATE sn_cdm_node SET name = $1, value = $2, secure_value = $3, secure = $4, status = $5, \
         sys_updated_on = $6, sys_updated_by = $7, sys_mod_count = sys_mod_count + 1, previous_version = $9, \
         conflict = $10, conflict_type = $11 WHERE sys_id = $8",
        &[
            Value::from(&n.name),
            Value::from(n.value.clone()),
            Value::from(n.secure_value.clone()),
            Value::Bool(n.secure),
            Value::from(&n.status),
            Value::from(&n.sys_updated_on),
            Value::from(&n.sys_updated_by),
            Value::from(&n.sys_id),
            Value::from(n.previous_version.clone()),
            Value::Bool(n.conflict),
            Value::from(n.conflict_type.clone()),
        ],
    )
    .await?;
    Ok(())
}

/// Records the deletion of a node and everything below it in a changeset.
/// Nodes the changeset itself added simply go. System folders are refused.
pub async fn delete(
    tx: &mut Tx,
    tree: &mut Tree,
    changeset: &str,
    main_id: i64,
    actor: &str,
) -> Result<usize> {
    let parent = user_node(tree, main_id, "deleted")?.parent;
    let ids = tree.subtree(main_id);
    let now = now_string();
    for id in &ids {
        let Some(current) = tree.nodes.remove(id) else {
            continue;
        };
        if current.is_pending_in(changeset) && current.previous_version.is_none() {
            tx.execute(
                "DELETE FROM sn_cdm_node WHERE sys_id = $1",
                &[Value::from(&current.sys_id)],
            )
            .await?;
            continue;
        }
        let mut gone = current.clone();
        gone.status = "deleted".into();
        gone.sys_updated_on = now.clone();
        gone.sys_updated_by = actor.to_owned();
        record_pending(tx, &current, gone, changeset, actor).await?;
    }
    // A set: `retain` runs over every child list of the tree.
    let gone: std::collections::HashSet<i64> = ids.iter().copied().collect();
    for list in tree.children.values_mut() {
        list.retain(|c| !gone.contains(c));
    }
    for id in &ids {
        tree.names.remove(id);
    }
    if let Some(parent) = parent {
        tree.reindex(parent);
    }
    Ok(ids.len())
}

/// The type of node an object or a scalar becomes under `parent`: inside a
/// `vars` folder folders and variables, elsewhere components and CDIs.
pub fn in_vars(tree: &Tree, parent: &Node) -> bool {
    let mut current = Some(parent);
    while let Some(n) = current {
        if n.system_folder && n.name == "vars" {
            return true;
        }
        current = n.parent.and_then(|p| tree.get(p));
    }
    false
}

pub fn container_type(tree: &Tree, parent: &Node) -> &'static str {
    if in_vars(tree, parent) {
        node_type::FOLDER
    } else {
        node_type::COMPONENT
    }
}

pub fn leaf_type(tree: &Tree, parent: &Node) -> &'static str {
    if in_vars(tree, parent) {
        node_type::VARIABLE
    } else {
        node_type::CDI
    }
}

/// Refuses a child of a type its parent cannot hold.
pub fn check_child_type(parent: &Node, child_type: &str) -> Result<()> {
    use node_type::*;
    let ok = match (
        parent.node_type.as_str(),
        parent.system_folder,
        parent.name.as_str(),
    ) {
        (CDI | VARIABLE | APPLICATION, ..) => false,
        (FOLDER, true, "components") => child_type == COMPONENT,
        (FOLDER, true, "collections") => child_type == COLLECTION,
        (FOLDER, true, "deployables") => false,
        // `vars` folders and the folders inside them.
        (FOLDER, ..) => matches!(child_type, FOLDER | VARIABLE | ARRAY),
        // Components, collections, deployables, arrays and includes (whose
        // children override the included values).
        _ => matches!(child_type, COMPONENT | CDI | ARRAY),
    };
    if ok {
        Ok(())
    } else {
        Err(refusal(format!(
            "Node '{}' of type '{}' cannot create child of type '{child_type}'",
            parent.name, parent.node_type
        )))
    }
}

/// The main_id a client's error should not need: kept for messages.
pub fn not_found(path: &str) -> Error {
    refusal(format!("Node not found at path '{path}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(parent: Option<&Node>, main_id: i64, name: &str, position: i64) -> Node {
        let mut n = Node::committed("app", parent, main_id, name, node_type::CDI, "t");
        n.position = Some(position);
        n
    }

    #[test]
    fn children_are_found_by_name_through_the_index_as_in_sibling_order() {
        let root = node(None, 1, "app", 0);
        let first = node(Some(&root), 2, "a", 1);
        let other = node(Some(&root), 3, "b", 2);
        let twin = node(Some(&root), 4, "a", 3);
        let mut tree = Tree::from_nodes([root.clone(), twin, other, first]);
        // Two siblings of one name (a conflict commits can leave): the
        // first in sibling order is found, as a scan found it.
        assert_eq!(tree.child(1, "a").map(|n| n.main_id), Some(2));
        assert_eq!(tree.child(1, "b").map(|n| n.main_id), Some(3));
        assert!(tree.child(1, "c").is_none());
        assert!(tree.child(2, "a").is_none());
        tree.attach(node(Some(&root), 5, "c", 4));
        assert_eq!(tree.child(1, "c").map(|n| n.main_id), Some(5));
        // Gone from the tree (as `delete` leaves it): the twin is found.
        tree.nodes.remove(&2);
        tree.children.get_mut(&1).unwrap().retain(|&c| c != 2);
        tree.reindex(1);
        assert_eq!(tree.child(1, "a").map(|n| n.main_id), Some(4));
        // Renamed (as `update` leaves it).
        tree.nodes.get_mut(&3).unwrap().name = "d".into();
        tree.reindex(1);
        assert!(tree.child(1, "b").is_none());
        assert_eq!(tree.child(1, "d").map(|n| n.main_id), Some(3));
        assert_eq!(tree.find(1, &["d".to_string()]).map(|n| n.main_id), Some(3));
    }

    /// app (1) > deployables (2) > Dev_1 (3) > cdi (5), and vars (4) > x (6).
    fn sample() -> Tree {
        let root = node(None, 1, "app", 0);
        let deployables = node(Some(&root), 2, "deployables", 2);
        let dev = node(Some(&deployables), 3, "Dev_1", 0);
        let vars = node(Some(&root), 4, "vars", 1);
        let cdi = node(Some(&dev), 5, "cdi", 0);
        let x = node(Some(&vars), 6, "x", 0);
        Tree::from_nodes([cdi, x, dev, vars, deployables, root])
    }

    #[test]
    fn children_come_in_position_order_then_by_name() {
        let root = node(None, 1, "app", 0);
        let b = node(Some(&root), 2, "b", 1);
        let a = node(Some(&root), 3, "a", 1);
        let first = node(Some(&root), 4, "z", 0);
        let tree = Tree::from_nodes([b, a, root, first]);
        let order: Vec<i64> = tree.children_of(1).map(|n| n.main_id).collect();
        assert_eq!(order, [4, 3, 2]);
        assert_eq!(tree.children_of(4).count(), 0);
    }

    #[test]
    fn paths_are_names_from_below_the_root() {
        let tree = sample();
        assert_eq!(tree.path_of(5), "deployables/Dev_1/cdi");
        assert_eq!(tree.path_of(4), "vars");
        assert_eq!(tree.path_of(1), "");
        let names: Vec<String> = ["deployables", "Dev_1", "cdi"].map(String::from).to_vec();
        assert_eq!(tree.find(1, &names).map(|n| n.main_id), Some(5));
        assert_eq!(tree.find(2, &names[1..]).map(|n| n.main_id), Some(5));
        assert!(tree.find(1, &names[1..]).is_none());
        assert_eq!(tree.find(3, &[]).map(|n| n.main_id), Some(3));
        // Stored paths follow the main_ids from the root.
        assert_eq!(tree.get(5).unwrap().level, 3);
        assert!(tree
            .get(5)
            .unwrap()
            .node_path
            .starts_with(&tree.get(3).unwrap().node_path));
    }

    #[test]
    fn a_subtree_is_a_node_and_everything_below_it() {
        let tree = sample();
        let mut below = tree.subtree(2);
        below.sort();
        assert_eq!(below, [2, 3, 5]);
        let mut all = tree.subtree(1);
        all.sort();
        assert_eq!(all, [1, 2, 3, 4, 5, 6]);
        assert_eq!(tree.subtree(6), [6]);
    }

    #[test]
    fn attached_nodes_come_last_and_are_found_by_name() {
        let mut tree = sample();
        let root = tree.get(1).unwrap().clone();
        tree.attach(node(Some(&root), 7, "late", 0));
        let order: Vec<i64> = tree.children_of(1).map(|n| n.main_id).collect();
        assert_eq!(order, [4, 2, 7]);
        assert_eq!(tree.child(1, "late").map(|n| n.main_id), Some(7));
        // A second node of a name does not hide the first.
        tree.attach(node(Some(&root), 8, "late", 0));
        assert_eq!(tree.child(1, "late").map(|n| n.main_id), Some(7));
    }
}
