//! Single changes to a tree inside a changeset (create, update, delete a
//! node; include a node or a shared component), and reading a tree by path:
//! the rules of the editor endpoints. Each command runs in its own
//! transaction.

use super::tree::{self, Change, NewNode, Node, Tree};
use super::{applications, changesets, node_type, refusal, split_path};
use crate::error::Result;
use crate::storage::{Db, Row, Tx};

/// The application a full path starts with, and the rest of the path.
async fn application_of(tx: &mut Tx, full_path: &str) -> Result<(Row, Vec<String>)> {
    let mut names = split_path(full_path);
    if names.is_empty() {
        return Err(refusal(format!("Invalid path '{full_path}'")));
    }
    let app_name = names.remove(0);
    let app = applications::find_active(tx, &app_name, None)
        .await?
        .ok_or_else(|| {
            refusal(format!(
                "Could not find active application with name: '{app_name}'"
            ))
        })?;
    Ok((app, names))
}

/// The open changeset and the tree it sees, for a full path.
async fn open_tree(
    tx: &mut Tx,
    number: &str,
    full_path: &str,
    operation: &str,
) -> Result<(Row, Row, Vec<String>, Tree)> {
    let changeset = changesets::require_open(tx, number, operation).await?;
    let (app, names) = application_of(tx, full_path).await?;
    if changeset.string("cdm_application") != app.string("sys_id") {
        return Err(refusal(format!(
            "Changeset '{}' belongs to application '{}', not '{}'",
            changeset.string("number"),
            changeset.string("app_name"),
            app.string("name")
        )));
    }
    let tree =
        tree::as_seen_by(tx, &app.string("sys_id"), Some(&changeset.string("sys_id"))).await?;
    Ok((changeset, app, names, tree))
}

/// Which state of a tree a read names.
#[derive(Default)]
pub struct ReadAt {
    /// As an open changeset sees it (`changesetNumber`).
    pub changeset: Option<String>,
    /// As it was when a changeset was committed (`asOfChangesetNumber`, a
    /// Tollgate addition); wins over `changeset`.
    pub as_of_changeset: Option<String>,
}

/// The tree a read names: committed now unless `at` says otherwise.
async fn tree_to_read(
    tx: &mut Tx,
    full_path: &str,
    at: &ReadAt,
) -> Result<(Row, Vec<String>, Tree)> {
    let (app, names) = application_of(tx, full_path).await?;
    let app_id = app.string("sys_id");
    if let Some(number) = &at.as_of_changeset {
        let changeset = changesets::require(tx, number, "get").await?;
        let committed_at = changeset
            .text("last_conflict_detection_time")
            .and_then(|t| t.parse::<i64>().ok())
            .filter(|_| changeset.string("state") == "committed")
            .ok_or_else(|| refusal(format!("Changeset '{number}' is not committed")))?;
        let tree = tree::as_of(tx, &app_id, committed_at).await?;
        return Ok((app, names, tree));
    }
    let changeset = match &at.changeset {
        Some(n) => Some(changesets::require(tx, n, "get").await?.string("sys_id")),
        None => None,
    };
    let tree = tree::as_seen_by(tx, &app_id, changeset.as_deref()).await?;
    Ok((app, names, tree))
}

fn root(app: &Row) -> i64 {
    app.int("root_main_id").unwrap_or_default()
}

fn plain_new<'a>(
    parent: &'a Node,
    name: &'a str,
    ty: &'static str,
    value: Option<&'a str>,
    secure: bool,
) -> NewNode<'a> {
    NewNode {
        secure,
        ..NewNode::plain(parent, name, ty, value)
    }
}

/// A node to create (`POST /editor/nodes`).
pub struct NewNodeRequest {
    pub changeset_number: String,
    /// The application's name, the parents' names and the new node's name.
    pub full_path: String,
    pub node_type: &'static str,
    pub secure: bool,
    pub auto_create_parents: bool,
    pub value: Option<String>,
}

/// Creates a node in an open changeset (and its missing parents, when
/// asked); a collection gets its `vars` folder. Returns the node.
pub async fn create_node(db: &Db, req: &NewNodeRequest, actor: &str) -> Result<Node> {
    let (path, ty) = (&req.full_path, req.node_type);
    // The first name is the application's; refused before the transaction
    // opens, so a path too deep to exist creates nothing.
    tree::check_path_depth("fullNamePath", split_path(path).len().saturating_sub(1))?;
    let mut tx = db.begin().await?;
    let (changeset, app, mut names, mut tree) =
        open_tree(&mut tx, &req.changeset_number, path, "create").await?;
    let cs = changeset.string("sys_id");
    let name = names
        .pop()
        .ok_or_else(|| refusal("fullNamePath must name the new node below the application"))?;
    let mut parent = tree
        .get(root(&app))
        .cloned()
        .ok_or_else(|| refusal("application root missing"))?;
    for segment in &names {
        parent = match tree.child(parent.main_id, segment).cloned() {
            Some(p) => p,
            None if req.auto_create_parents => {
                tree::check_new_name(&tree, &parent, segment)?;
                let container = tree::container_type(&tree, &parent);
                tree::check_child_type(&parent, container)?;
                tree::add(
                    &mut tx,
                    &mut tree,
                    Some(&cs),
                    plain_new(&parent, segment, container, None, false),
                    actor,
                )
                .await?
            }
            None => return Err(tree::not_found(path)),
        };
    }
    tree::check_new_name(&tree, &parent, &name)?;
    tree::check_child_type(&parent, ty)?;
    if ty == node_type::COLLECTION
        && parent.classifier.as_deref() != Some("/application/collections")
    {
        return Err(refusal("Collections are created in the collections folder"));
    }
    let leaf = matches!(ty, node_type::CDI | node_type::VARIABLE);
    let node = tree::add(
        &mut tx,
        &mut tree,
        Some(&cs),
        plain_new(
            &parent,
            &name,
            ty,
            if leaf { req.value.as_deref() } else { None },
            req.secure && leaf,
        ),
        actor,
    )
    .await?;
    if ty == node_type::COLLECTION {
        let mut vars = plain_new(&node, "vars", node_type::FOLDER, None, false);
        vars.system_folder = true;
        vars.classifier = Some("/application/collections/vars".into());
        tree::add(&mut tx, &mut tree, Some(&cs), vars, actor).await?;
    }
    tx.commit().await?;
    Ok(node)
}

/// Changes a node's name, value or secure flag in an open changeset;
/// returns the node as the changeset sees it.
pub async fn update_node(
    db: &Db,
    changeset_number: &str,
    full_path: &str,
    change: Change<'_>,
    actor: &str,
) -> Result<Node> {
    let mut tx = db.begin().await?;
    let (changeset, app, names, mut tree) =
        open_tree(&mut tx, changeset_number, full_path, "update").await?;
    let node = tree
        .find(root(&app), &names)
        .cloned()
        .ok_or_else(|| tree::not_found(full_path))?;
    let updated = tree::update(
        &mut tx,
        &mut tree,
        &changeset.string("sys_id"),
        node.main_id,
        change,
        actor,
    )
    .await?;
    tx.commit().await?;
    Ok(updated)
}

/// Deletes a node (and everything below it) in an open changeset; a
/// deployable is deleted through its own endpoint instead.
pub async fn delete_node(
    db: &Db,
    changeset_number: &str,
    full_path: &str,
    actor: &str,
) -> Result<()> {
    let mut tx = db.begin().await?;
    let (changeset, app, names, mut tree) =
        open_tree(&mut tx, changeset_number, full_path, "delete").await?;
    let node = tree
        .find(root(&app), &names)
        .cloned()
        .ok_or_else(|| tree::not_found(full_path))?;
    if node.node_type == node_type::DEPLOYABLE {
        return Err(refusal(
            "A deployable is deleted with DELETE /api/sn_cdm/applications/deployables",
        ));
    }
    tree::delete(
        &mut tx,
        &mut tree,
        &changeset.string("sys_id"),
        node.main_id,
        actor,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Which children of a node a list wants.
pub struct ChildFilter {
    pub name: Option<String>,
    pub node_type: Option<&'static str>,
}

/// The children of the node `parent_path` names, in the tree `at` names,
/// each with its secure value in clear when `decrypt` (the caller's right
/// to see it is the endpoint's to check).
pub async fn children(
    db: &Db,
    parent_path: &str,
    at: &ReadAt,
    filter: &ChildFilter,
    decrypt: bool,
) -> Result<Vec<(Node, Option<String>)>> {
    let mut tx = db.begin_read().await?;
    let (app, names, tree) = tree_to_read(&mut tx, parent_path, at).await?;
    tx.rollback().await?;
    let parent = tree
        .find(root(&app), &names)
        .ok_or_else(|| tree::not_found(parent_path))?;
    let mut out = Vec::new();
    for child in tree.children_of(parent.main_id) {
        if filter.name.as_deref().is_some_and(|n| n != child.name)
            || filter.node_type.is_some_and(|t| t != child.node_type)
        {
            continue;
        }
        let clear = match (&child.secure_value, decrypt) {
            (Some(s), true) => Some(
                crate::secrets::decrypt(db, s, &crate::secrets::Binding::cdm_secure_value())
                    .await?,
            ),
            _ => None,
        };
        out.push((child.clone(), clear));
    }
    Ok(out)
}

/// Includes the source node (of the same application, or a shared
/// library's committed component) in the target deployable or collection,
/// in an open changeset; returns the include.
pub async fn create_include(
    db: &Db,
    changeset_number: &str,
    source_path: &str,
    target_path: &str,
    actor: &str,
) -> Result<Node> {
    let mut tx = db.begin().await?;
    let (changeset, app, target_names, mut tree) =
        open_tree(&mut tx, changeset_number, target_path, "create").await?;
    let (source_app, source_names) = application_of(&mut tx, source_path).await?;
    // A node of the same application, or a component of a shared library
    // (its committed version).
    let shared = source_app.string("sys_id") != app.string("sys_id");
    let source = if shared {
        if source_app.string("type") != "shared_library" {
            return Err(refusal(
                "An include names a node of the same application or a component of a shared library",
            ));
        }
        tree::committed(&mut tx, &source_app.string("sys_id"))
            .await?
            .find(root(&source_app), &source_names)
            .cloned()
            .filter(|n| n.node_type == node_type::COMPONENT)
            .ok_or_else(|| tree::not_found(source_path))?
    } else {
        tree.find(root(&app), &source_names)
            .cloned()
            .ok_or_else(|| tree::not_found(source_path))?
    };
    let target = tree
        .find(root(&app), &target_names)
        .cloned()
        .ok_or_else(|| tree::not_found(target_path))?;
    let allowed = match target.node_type.as_str() {
        node_type::DEPLOYABLE => matches!(
            source.node_type.as_str(),
            node_type::COMPONENT | node_type::COLLECTION
        ),
        node_type::COLLECTION => source.node_type == node_type::COMPONENT,
        _ => false,
    };
    if !allowed {
        return Err(refusal(format!(
            "A {} cannot include a {} (deployables include components and collections, collections include components)",
            node_type::label(&target.node_type),
            node_type::label(&source.node_type)
        )));
    }
    if tree.child(target.main_id, &source.name).is_some() {
        return Err(refusal(format!(
            "'{}' already holds a node named '{}'",
            target.name, source.name
        )));
    }
    let kind = if shared {
        node_type::LINKED_SHARED
    } else {
        node_type::LINKED
    };
    let mut link = plain_new(&target, &source.name, kind, None, false);
    link.linked_to = Some(source.main_id);
    let node = tree::add(
        &mut tx,
        &mut tree,
        Some(&changeset.string("sys_id")),
        link,
        actor,
    )
    .await?;
    tx.commit().await?;
    Ok(node)
}

/// The nodes that include the node `source_path` names, in the tree `at`
/// names, by main id.
pub async fn includers(db: &Db, source_path: &str, at: &ReadAt) -> Result<Vec<Node>> {
    let mut tx = db.begin_read().await?;
    let (app, names, tree) = tree_to_read(&mut tx, source_path, at).await?;
    tx.rollback().await?;
    let source = tree
        .find(root(&app), &names)
        .ok_or_else(|| tree::not_found(source_path))?;
    let mut out: Vec<Node> = tree
        .nodes
        .values()
        .filter(|n| node_type::is_include(&n.node_type) && n.linked_to == Some(source.main_id))
        .filter_map(|link| link.parent.and_then(|p| tree.get(p)))
        .cloned()
        .collect();
    out.sort_by_key(|n| n.main_id);
    Ok(out)
}
