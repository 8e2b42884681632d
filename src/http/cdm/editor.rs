//! `/api/sn_cdm/editor/nodes` and `/api/sn_cdm/editor/includes`: single
//! changes to a tree inside a changeset, and reading it. The rules are in
//! `domain::cdm::editor`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::Value as Json;

use super::view::{self, only_fields, result};
use super::{CdmEditors, CdmReaders, Query};
use crate::app::AppState;
use crate::domain::cdm::editor::{self, ChildFilter, NewNodeRequest, ReadAt};
use crate::domain::cdm::tree::{Change, Node};
use crate::domain::cdm::{node_type, refusal};
use crate::error::Result;
use crate::http::base_url;
use crate::http::extract::{Authenticated, Authorized, QueryParams};
use crate::identity::roles;

/// One node as the editor answers it, limited to `returnFields`.
fn node_answer(state: &AppState, headers: &HeaderMap, node: &Node, query: &Query<'_>) -> Response {
    let base = base_url(headers, &state.settings);
    result(only_fields(
        view::editor_node(node, &base, None),
        query.return_fields().as_deref(),
    ))
}

/// The tree state a read names (`changesetNumber`, `asOfChangesetNumber`).
fn read_at(query: &Query<'_>) -> ReadAt {
    ReadAt {
        changeset: query.opt("changesetNumber"),
        as_of_changeset: query.opt("asOfChangesetNumber"),
    }
}

/// `POST /api/sn_cdm/editor/nodes`
pub async fn create_node(
    State(state): State<AppState>,
    auth: Authorized<CdmEditors>,
    QueryParams(q): QueryParams,
    headers: HeaderMap,
) -> Result<Response> {
    let query = Query(&q);
    let changeset_number = query.required("changesetNumber")?;
    let full_path = query.required("fullNamePath")?;
    let ty = query.required("type")?;
    let node_type = node_type::parse(&ty).ok_or_else(|| {
        refusal(format!(
            "Invalid type '{ty}': one of component, collection, folder, cdi, variable, array"
        ))
    })?;
    let request = NewNodeRequest {
        changeset_number,
        full_path,
        node_type,
        secure: query.flag("secure", false)?,
        auto_create_parents: query.flag("autoCreateParents", false)?,
        value: query.0.get("value").cloned(),
    };
    let node = editor::create_node(&state.db, &request, &auth.caller.user_name).await?;
    Ok(node_answer(&state, &headers, &node, &query))
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
    let change = Change {
        name: new_name.as_deref(),
        value: new_value.as_deref().map(Some),
        secure,
    };
    let updated =
        editor::update_node(&state.db, &number, &path, change, &auth.caller.user_name).await?;
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
    editor::delete_node(&state.db, &number, &path, &auth.caller.user_name).await?;
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
    let node_type = match query.opt("type") {
        Some(t) => {
            Some(node_type::parse(&t).ok_or_else(|| refusal(format!("Invalid type '{t}'")))?)
        }
        None => None,
    };
    let filter = ChildFilter {
        name: query.opt("name"),
        node_type,
    };
    let children = editor::children(&state.db, &path, &read_at(&query), &filter, decrypt).await?;
    let base = base_url(&headers, &state.settings);
    let out = children
        .into_iter()
        .map(|(node, clear)| view::editor_node(&node, &base, clear))
        .collect();
    Ok(result(only_fields(
        Json::Array(out),
        query.return_fields().as_deref(),
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
    let node = editor::create_include(
        &state.db,
        &number,
        &source_path,
        &target_path,
        &auth.caller.user_name,
    )
    .await?;
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
    let nodes = editor::includers(&state.db, &source_path, &read_at(&query)).await?;
    Ok(result(only_fields(
        Json::Array(nodes.iter().map(view::plain_node).collect()),
        query.return_fields().as_deref(),
    )))
}
