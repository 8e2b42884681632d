//! `/api/sn_cdm/changesets...`: the nine changeset endpoints.

use std::collections::{HashMap, HashSet};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value as Json_};

use super::{
    deployable_record, plain_node, result, CdmEditors, CdmReaders, Query, DEPLOYABLE_COLUMNS,
};
use crate::app::AppState;
use crate::domain::cdm::changesets::{self, only_fields};
use crate::domain::cdm::tree::{self, Node};
use crate::domain::cdm::{commit, jobs, node_type, request_error, snapshots, MASK};
use crate::error::Result;
use crate::http::extract::{Authorized, QueryParams};
use crate::http::{base_url, PathParams};
use crate::jobs::Job;
use crate::storage::{Executor, Record, Row, Tx, Value};

/// `DELETE /api/sn_cdm/changesets?changesetNumber=`
pub async fn delete(
    State(state): State<AppState>,
    _auth: Authorized<CdmEditors>,
    QueryParams(q): QueryParams,
) -> Result<Response> {
    let number = Query(&q).required("changesetNumber")?;
    let mut tx = state.db.begin().await?;
    changesets::delete(&mut tx, &number).await?;
    tx.commit().await?;
    Ok(axum::http::StatusCode::OK.into_response())
}

/// `GET /api/sn_cdm/changesets?appName=&number=&state=`
pub async fn list(
    State(state): State<AppState>,
    _auth: Authorized<CdmReaders>,
    QueryParams(q): QueryParams,
    headers: HeaderMap,
) -> Result<Response> {
    let q = Query(&q);
    let app = q.required("appName")?;
    let number = q.opt("number").or_else(|| q.opt("changesetNumber"));
    let rows = changesets::list(
        &state.db,
        &app,
        number.as_deref(),
        q.opt("state").as_deref(),
    )
    .await?;
    let base = base_url(&headers, &state.settings);
    Ok(result(Json_::Array(
        rows.iter().map(|r| changesets::record(r, &base)).collect(),
    )))
}

/// `POST /api/sn_cdm/changesets/create?appName=&description=&returnFields=`
pub async fn create(
    State(state): State<AppState>,
    auth: Authorized<CdmEditors>,
    QueryParams(q): QueryParams,
) -> Result<Response> {
    let q = Query(&q);
    let (name, library) = match (q.opt("appName"), q.opt("sharedLibraryName")) {
        (Some(app), _) => (app, false),
        (None, Some(lib)) => (lib, true),
        (None, None) => return Err(request_error("create", "Missing required param 'appName'")),
    };
    let description = q.opt("description");
    let mut tx = state.db.begin().await?;
    let row = changesets::create(
        &mut tx,
        &changesets::NewChangeset {
            application: &name,
            shared_library: library,
            description: description.as_deref(),
        },
        &auth.caller.user_name,
    )
    .await?;
    tx.commit().await?;
    Ok(result(only_fields(
        changesets::summary(&row, false),
        q.opt("returnFields").as_deref(),
    )))
}

async fn queue_commit(
    tx: &mut Tx,
    changeset: &Row,
    q: &Query<'_>,
    actor: &str,
) -> Result<Response> {
    let auto_validate = q.flag("autoValidate", false)?;
    let publish = q
        .opt("publishOption")
        .unwrap_or_else(|| "publish_none".into());
    let request = commit::ask(tx, changeset, auto_validate, &publish, actor).await?;
    let job = jobs::Commit {
        request_id: request.clone(),
        changeset_id: changeset.string("sys_id"),
        actor: actor.to_owned(),
    };
    job.enqueue_in(tx, actor).await?;
    Ok(result(json!({ "commit_id": request })))
}

/// `POST /api/sn_cdm/changesets/{changeset_id}/commit`
pub async fn commit_by_id(
    State(state): State<AppState>,
    auth: Authorized<CdmEditors>,
    params: PathParams,
    QueryParams(q): QueryParams,
) -> Result<Response> {
    let id = params.get("changeset_id")?;
    let mut tx = state.db.begin().await?;
    let changeset = changesets::by_id(&mut tx, id)
        .await?
        .ok_or_else(|| request_error("commit", format!("Changeset '{id}' does not exist")))?;
    let response = queue_commit(&mut tx, &changeset, &Query(&q), &auth.caller.user_name).await?;
    tx.commit().await?;
    state.jobs.wake();
    Ok(response)
}

/// `PUT /api/sn_cdm/changesets/commit?changesetNumber=`
pub async fn commit_by_number(
    State(state): State<AppState>,
    auth: Authorized<CdmEditors>,
    QueryParams(q): QueryParams,
) -> Result<Response> {
    let query = Query(&q);
    let number = query.required("changesetNumber")?;
    let mut tx = state.db.begin().await?;
    let changeset = changesets::require(&mut tx, &number, "commit").await?;
    let response = queue_commit(&mut tx, &changeset, &query, &auth.caller.user_name).await?;
    tx.commit().await?;
    state.jobs.wake();
    Ok(response)
}

/// The answer of a status endpoint for a request id (`kind_key` names the
/// id field: `commit_id`, `upload_id`).
pub async fn request_status(state: &AppState, id: &str, kind_key: &str) -> Result<Json_> {
    let mut tx = state.db.begin_read().await?;
    let row = commit::request(&mut tx, id).await?;
    tx.rollback().await?;
    let Some(row) = row else {
        return Ok(
            json!({"state": "error", "errors": format!("Invalid requestId '{id}'"), kind_key: id}),
        );
    };
    let output = match (row.text("output"), row.text("errors")) {
        (Some(o), _) => serde_json::from_str(&o).unwrap_or(Json_::String(o)),
        (None, Some(e)) => Json_::String(e),
        (None, None) => Json_::Null,
    };
    let mut out = json!({
        "type": row.string("type"),
        "state": row.string("state"),
        "output": output,
        "processing_state": row.string("processing_state"),
        kind_key: id,
    });
    if let Some(errors) = row.text("errors") {
        out["errors"] = Json_::String(errors);
    }
    Ok(out)
}

/// `GET /api/sn_cdm/changesets/commit-status/{commit_id}`
pub async fn commit_status(
    State(state): State<AppState>,
    _auth: Authorized<CdmReaders>,
    params: PathParams,
) -> Result<Response> {
    let id = params.get("commit_id")?;
    Ok(result(request_status(&state, id, "commit_id").await?))
}

fn state_label(status: &str) -> String {
    let mut c = status.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// `GET /api/sn_cdm/changesets/activity?changesetNumber=&returnFields=`
pub async fn activity(
    State(state): State<AppState>,
    _auth: Authorized<CdmReaders>,
    QueryParams(q): QueryParams,
) -> Result<Response> {
    let query = Query(&q);
    let number = query.required("changesetNumber")?;
    let mut tx = state.db.begin_read().await?;
    let changeset = changesets::require(&mut tx, &number, "activity").await?;
    let id = changeset.string("sys_id");
    let versions: Vec<Node> = tx
        .fetch_records(
            &Node::select_where("changeset_id = $1 ORDER BY main_id"),
            &[Value::from(&id)],
        )
        .await?;
    let names: HashMap<String, String> = tx
        .fetch_all(
            "SELECT main_id, name FROM sn_cdm_node WHERE application = $1 ORDER BY sys_created_on",
            &[Value::from(changeset.string("cdm_application"))],
        )
        .await?
        .iter()
        .map(|r| {
            (
                crate::domain::cdm::encode_main_id(r.int("main_id").unwrap_or_default()),
                r.string("name"),
            )
        })
        .collect();
    let mut rows = Vec::new();
    for v in &versions {
        let previous = match &v.previous_version {
            Some(p) => {
                tx.fetch_record::<Node>(&Node::select_where("sys_id = $1"), &[Value::from(p)])
                    .await?
            }
            None => None,
        };
        // The path below the application: the names of the ids in node_path after the root.
        let path: Vec<String> = v
            .node_path
            .split('!')
            .filter(|s| !s.is_empty())
            .skip(1)
            .map(|enc| names.get(enc).cloned().unwrap_or_default())
            .collect();
        let shown = |n: &Node| {
            if n.secure {
                Json_::String(MASK.into())
            } else {
                n.value.clone().map(Json_::String).unwrap_or(Json_::Null)
            }
        };
        let is_new = v.status == "new" || (v.previous_version.is_none() && v.status == "valid");
        rows.push(json!({
            "sys_id": v.sys_id,
            "changeset_id": id,
            "new_value": if v.status == "deleted" { Json_::Null } else { shown(v) },
            "new_state": state_label(&v.status),
            "new_name": v.name,
            "new_type": node_type::label(&v.node_type),
            "new_encrypted": v.secure,
            "updated_on": v.sys_updated_on,
            "updated_by": v.sys_updated_by,
            "resolution_method": "",
            "conflict": v.conflict_type.clone().map(Json_::String).unwrap_or(Json_::Null),
            "path": path.join("/"),
            "created_by": if is_new { Json_::String(v.sys_created_by.clone()) } else { Json_::Null },
            "created_on": if is_new { Json_::String(v.sys_created_on.clone()) } else { Json_::Null },
            "old_value": previous.as_ref().map(|p| if v.status == "deleted" { Json_::Null } else { shown(p) }).unwrap_or(Json_::Null),
            "old_state": previous.as_ref().map(|p| Json_::String(state_label(&p.status))).unwrap_or(Json_::Null),
            "old_name": previous.as_ref().map(|p| Json_::String(p.name.clone())).unwrap_or(Json_::Null),
            "old_type": previous.as_ref().map(|p| Json_::String(node_type::label(&p.node_type))).unwrap_or(Json_::Null),
            "old_encrypted": previous.as_ref().map(|p| p.secure).unwrap_or(false),
        }));
    }
    tx.rollback().await?;
    Ok(result(only_fields(
        Json_::Array(rows),
        query.opt("returnFields").as_deref(),
    )))
}

/// The deployables a changeset impacts: for a committed one those it
/// snapshotted; for an open one those whose resolved configuration its
/// pending changes reach.
async fn impacted(tx: &mut Tx, changeset: &Row) -> Result<Vec<Row>> {
    let id = changeset.string("sys_id");
    if changeset.string("state") == "committed" {
        return tx
            .fetch_all(
                &format!(
                    "SELECT {DEPLOYABLE_COLUMNS} FROM sn_cdm_deployable d WHERE d.sys_id IN \
                     (SELECT cdm_deployable_id FROM sn_cdm_snapshot WHERE changeset_id = $1) ORDER BY d.name"
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
        .fetch_all(
            &format!("SELECT {DEPLOYABLE_COLUMNS} FROM sn_cdm_deployable d WHERE d.cdm_app = $1 AND d.state = 'active' ORDER BY d.name"),
            &[Value::from(&app)],
        )
        .await?;
    Ok(all
        .into_iter()
        .filter(|d| {
            let main = d.int("main_id").unwrap_or_default();
            [&before, &after].iter().any(|t| {
                t.get(main).is_some()
                    && !snapshots::resolve(t, main)
                        .contributors
                        .is_disjoint(&changed)
            })
        })
        .collect())
}

/// `GET /api/sn_cdm/changesets/impacted-deployables?changesetNumber=`
pub async fn impacted_deployables(
    State(state): State<AppState>,
    _auth: Authorized<CdmReaders>,
    QueryParams(q): QueryParams,
    headers: HeaderMap,
) -> Result<Response> {
    let query = Query(&q);
    let number = query.required("changesetNumber")?;
    let mut tx = state.db.begin_read().await?;
    let changeset = changesets::require(&mut tx, &number, "impacted-deployables").await?;
    let rows = impacted(&mut tx, &changeset).await?;
    tx.rollback().await?;
    let base = base_url(&headers, &state.settings);
    let list = Json_::Array(rows.iter().map(|r| deployable_record(r, &base)).collect());
    Ok(result(only_fields(
        list,
        query.opt("returnFields").as_deref(),
    )))
}

/// `GET /api/sn_cdm/changesets/{changeset_id}/impacted-deployables`
pub async fn impacted_deployable_nodes(
    State(state): State<AppState>,
    _auth: Authorized<CdmReaders>,
    params: PathParams,
    QueryParams(q): QueryParams,
) -> Result<Response> {
    let id = params.get("changeset_id")?;
    let mut tx = state.db.begin_read().await?;
    let changeset = changesets::by_id(&mut tx, id)
        .await?
        .ok_or_else(|| request_error("impacted-deployables", "Changeset not found"))?;
    let rows = impacted(&mut tx, &changeset).await?;
    let mut nodes = Vec::new();
    for d in &rows {
        let node: Option<Node> = tx
            .fetch_record(
                &Node::select_where(
                    "main_id = $1 AND effective_from IS NOT NULL ORDER BY effective_from DESC LIMIT 1",
                ),
                &[Value::Int(d.int("main_id").unwrap_or_default())],
            )
            .await?;
        if let Some(n) = node {
            nodes.push(plain_node(&n));
        }
    }
    tx.rollback().await?;
    Ok(result(only_fields(
        Json_::Array(nodes),
        Query(&q).opt("returnFields").as_deref(),
    )))
}

/// `GET /api/sn_cdm/changesets/impacted-shared-components?changesetNumber=`
pub async fn impacted_shared_components(
    State(state): State<AppState>,
    _auth: Authorized<CdmReaders>,
    QueryParams(q): QueryParams,
) -> Result<Response> {
    let query = Query(&q);
    let number = query.required("changesetNumber")?;
    let mut tx = state.db.begin_read().await?;
    let changeset = changesets::by_number(&mut tx, &number)
        .await?
        .ok_or_else(|| crate::domain::cdm::refusal("The passed changeset does not exist"))?;
    let rows = crate::domain::cdm::shared::impacted(&mut tx, &changeset).await?;
    tx.rollback().await?;
    let list: Vec<Json_> = rows
        .iter()
        .map(|r| {
            json!({
                "version_counter": r.int("version_counter").unwrap_or(0).to_string(),
                "description": r.text("description"),
                "cdm_shared_library": r.string("cdm_shared_library"),
                "sys_updated_on": r.string("sys_updated_on"),
                "node": r.string("node"),
                "sys_id": r.string("sys_id"),
                "sys_updated_by": r.string("sys_updated_by"),
                "node_main": r.string("node_main"),
                "sys_created_on": r.string("sys_created_on"),
                "name": r.string("name"),
                "state": r.string("state"),
                "sys_created_by": r.string("sys_created_by"),
            })
        })
        .collect();
    Ok(result(only_fields(
        Json_::Array(list),
        query.opt("returnFields").as_deref(),
    )))
}
