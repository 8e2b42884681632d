//! `/api/sn_cdm/editor/nodes` and `/api/sn_cdm/editor/includes`: single
//! changes to a tree inside a changeset, and reading it.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::Value as Json_;

use super::{editor_node, plain_node, result, CdmEditors, CdmReaders, Query};
use crate::app::AppState;
use crate::domain::cdm::changesets::{self, only_fields};
use crate::domain::cdm::tree::{self, Change, NewNode, Node, Tree};
use crate::domain::cdm::{applications, node_type, refusal, split_path};
use crate::error::Result;
use crate::http::base_url;
use crate::http::extract::{Authenticated, Authorized, QueryParams};
use crate::identity::roles;
use crate::storage::{Row, Tx};

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

/// The tree a read names: committed now; as an open changeset sees it
/// (`changesetNumber`); or as it was when a changeset was committed
/// (`asOfChangesetNumber`, a Tollgate addition).
async fn tree_to_read(
    tx: &mut Tx,
    full_path: &str,
    query: &Query<'_>,
) -> Result<(Row, Vec<String>, Tree)> {
    let (app, names) = application_of(tx, full_path).await?;
    let app_id = app.string("sys_id");
    if let Some(number) = query.opt("asOfChangesetNumber") {
        let changeset = changesets::require(tx, &number, "get").await?;
        let committed_at = changeset
            .text("last_conflict_detection_time")
            .and_then(|t| t.parse::<i64>().ok())
            .filter(|_| changeset.string("state") == "committed")
            .ok_or_else(|| refusal(format!("Changeset '{number}' is not committed")))?;
        let tree = tree::as_of(tx, &app_id, committed_at).await?;
        return Ok((app, names, tree));
    }
    let changeset = match query.opt("changesetNumber") {
        Some(n) => Some(changesets::require(tx, &n, "get").await?.string("sys_id")),
        None => None,
    };
    let tree = tree::as_seen_by(tx, &app_id, changeset.as_deref()).await?;
    Ok((app, names, tree))
}

/// One node as the editor answers it, limited to `returnFields`.
fn node_answer(state: &AppState, headers: &HeaderMap, node: &Node, query: &Query<'_>) -> Response {
    let base = base_url(headers, &state.settings);
    result(only_fields(
        editor_node(node, &base, None),
        query.opt("returnFields").as_deref(),
    ))
}

fn root(app: &Row) -> i64 {
    app.int("root_main_id").unwrap_or_default()
}

/// `POST /api/sn_cdm/editor/nodes`
pub async fn create_node(
    State(state): State<AppState>,
    auth: Authorized<CdmEditors>,
    QueryParams(q): QueryParams,
    headers: HeaderMap,
) -> Result<Response> {
    let query = Query(&q);
    let number = query.required("changesetNumber")?;
    let path = query.required("fullNamePath")?;
    let ty = query.required("type")?;
    let ty = node_type::parse(&ty).ok_or_else(|| {
        refusal(format!(
            "Invalid type '{ty}': one of component, collection, folder, cdi, variable, array"
        ))
    })?;
    let secure = query.flag("secure", false)?;
    let auto_parents = query.flag("autoCreateParents", false)?;
    let value = query.0.get("value").cloned();
    // The first name is the application's; refused before the transaction
    // opens, so a path too deep to exist creates nothing.
    tree::check_path_depth("fullNamePath", split_path(&path).len().saturating_sub(1))?;
    let actor = auth.caller.user_name.clone();
    let mut tx = state.db.begin().await?;
    let (changeset, app, mut names, mut tree) =
        open_tree(&mut tx, &number, &path, "create").await?;
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
            None if auto_parents => {
                tree::check_new_name(&tree, &parent, segment)?;
                let container = tree::container_type(&tree, &parent);
                tree::check_child_type(&parent, container)?;
                tree::add(
                    &mut tx,
                    &mut tree,
                    Some(&cs),
                    plain_new(&parent, segment, container, None, false),
                    &actor,
                )
                .await?
            }
            None => return Err(tree::not_found(&path)),
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
            if leaf { value.as_deref() } else { None },
            secure && leaf,
        ),
        &actor,
    )
    .await?;
    if ty == node_type::COLLECTION {
        let mut vars = plain_new(&node, "vars", node_type::FOLDER, None, false);
        vars.system_folder = true;
        vars.classifier = Some("/application/collections/vars".into());
        tree::add(&mut tx, &mut tree, Some(&cs), vars, &actor).await?;
    }
    tx.commit().await?;
    Ok(node_answer(&state, &headers, &node, &query))
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

/// `PUT /api/sn_cdm/editor/nodes`
pub async fn update_node(
    State(state): State<AppState>,
    auth: Authorized<CdmEditors>,
    QueryParams(q): QueryParams,
    headers: HeaderMap,
) -> Result<Response> {
    let query = Query(&q);
    let number = query.required("changesetNumber")?;
    let path = query.required("fullNamePath")?;
    let new_name = query.opt("newName");
    let new_value = query.0.get("newValue").cloned();
    let secure = match query.0.get("secure") {
        Some(_) => Some(query.flag("secure", false)?),
        None => None,
    };
    let mut tx = state.db.begin().await?;
    let (changeset, app, names, mut tree) = open_tree(&mut tx, &number, &path, "update").await?;
    let node = tree
        .find(root(&app), &names)
        .cloned()
        .ok_or_else(|| tree::not_found(&path))?;
    let updated = tree::update(
        &mut tx,
        &mut tree,
        &changeset.string("sys_id"),
        node.main_id,
        Change {
            name: new_name.as_deref(),
            value: new_value.as_deref().map(Some),
            secure,
        },
        &auth.caller.user_name,
    )
    .await?;
    tx.commit().await?;
    Ok(node_answer(&state, &headers, &updated, &query))
}

/// `DELETE /api/sn_cdm/editor/nodes`
pub async fn delete_node(
    State(state): State<AppState>,
    auth: Authorized<CdmEditors>,
    QueryParams(q): QueryParams,
) -> Result<Response> {
    let query = Query(&q);
    let number = query.required("changesetNumber")?;
    let path = query.required("fullNamePath")?;
    let mut tx = state.db.begin().await?;
    let (changeset, app, names, mut tree) = open_tree(&mut tx, &number, &path, "delete").await?;
    let node = tree
        .find(root(&app), &names)
        .cloned()
        .ok_or_else(|| tree::not_found(&path))?;
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
        &auth.caller.user_name,
    )
    .await?;
    tx.commit().await?;
    Ok(axum::http::StatusCode::OK.into_response())
}

/// `GET /api/sn_cdm/editor/nodes?parentFullNamePath=&name=&type=&changesetNumber=&decryptPassword=`
pub async fn list_nodes(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    _auth: Authorized<CdmReaders>,
    QueryParams(q): QueryParams,
    headers: HeaderMap,
) -> Result<Response> {
    let query = Query(&q);
    let path = query.required("parentFullNamePath")?;
    let decrypt = query.flag("decryptPassword", false)?;
    if decrypt && !caller.has_any(&[roles::CDM_SECRETS]) {
        return Err(refusal("decryptPassword needs the sn_cdm.cdm_secrets role"));
    }
    let ty = match query.opt("type") {
        Some(t) => {
            Some(node_type::parse(&t).ok_or_else(|| refusal(format!("Invalid type '{t}'")))?)
        }
        None => None,
    };
    let mut tx = state.db.begin_read().await?;
    let (app, names, tree) = tree_to_read(&mut tx, &path, &query).await?;
    let parent = tree
        .find(root(&app), &names)
        .ok_or_else(|| tree::not_found(&path))?;
    let wanted_name = query.opt("name");
    let base = base_url(&headers, &state.settings);
    let mut out = Vec::new();
    for child in tree.children_of(parent.main_id) {
        if wanted_name.as_deref().is_some_and(|n| n != child.name)
            || ty.is_some_and(|t| t != child.node_type)
        {
            continue;
        }
        let clear = match (&child.secure_value, decrypt) {
            (Some(s), true) => Some(
                crate::secrets::decrypt(&state.db, s, &crate::secrets::Binding::cdm_secure_value())
                    .await?,
            ),
            _ => None,
        };
        out.push(editor_node(child, &base, clear));
    }
    tx.rollback().await?;
    Ok(result(only_fields(
        Json_::Array(out),
        query.opt("returnFields").as_deref(),
    )))
}

/// `POST /api/sn_cdm/editor/includes?changesetNumber=&sourceFullNamePath=&targetFullNamePath=`
pub async fn create_include(
    State(state): State<AppState>,
    auth: Authorized<CdmEditors>,
    QueryParams(q): QueryParams,
    headers: HeaderMap,
) -> Result<Response> {
    let query = Query(&q);
    let number = query.required("changesetNumber")?;
    let source_path = query.required("sourceFullNamePath")?;
    let target_path = query.required("targetFullNamePath")?;
    let mut tx = state.db.begin().await?;
    let (changeset, app, target_names, mut tree) =
        open_tree(&mut tx, &number, &target_path, "create").await?;
    let (source_app, source_names) = application_of(&mut tx, &source_path).await?;
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
            .ok_or_else(|| tree::not_found(&source_path))?
    } else {
        tree.find(root(&app), &source_names)
            .cloned()
            .ok_or_else(|| tree::not_found(&source_path))?
    };
    let target = tree
        .find(root(&app), &target_names)
        .cloned()
        .ok_or_else(|| tree::not_found(&target_path))?;
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
        &auth.caller.user_name,
    )
    .await?;
    tx.commit().await?;
    Ok(node_answer(&state, &headers, &node, &query))
}

/// `GET /api/sn_cdm/editor/includes?sourceFullNamePath=`: the nodes that
/// include the source.
pub async fn list_includes(
    State(state): State<AppState>,
    _auth: Authorized<CdmReaders>,
    QueryParams(q): QueryParams,
) -> Result<Response> {
    let query = Query(&q);
    let source_path = query.required("sourceFullNamePath")?;
    let mut tx = state.db.begin_read().await?;
    let (app, names, tree) = tree_to_read(&mut tx, &source_path, &query).await?;
    tx.rollback().await?;
    let source = tree
        .find(root(&app), &names)
        .ok_or_else(|| tree::not_found(&source_path))?;
    let mut out: Vec<Json_> = tree
        .nodes
        .values()
        .filter(|n| node_type::is_include(&n.node_type) && n.linked_to == Some(source.main_id))
        .filter_map(|link| link.parent.and_then(|p| tree.get(p)))
        .map(plain_node)
        .collect();
    out.sort_by_key(|n| n["main_id"].as_str().and_then(|s| s.parse::<i64>().ok()));
    Ok(result(only_fields(
        Json_::Array(out),
        query.opt("returnFields").as_deref(),
    )))
}
