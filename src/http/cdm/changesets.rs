//! `/api/sn_cdm/changesets...`: the nine changeset endpoints.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value as Json};

use super::view::{self, only_fields, result};
use super::{CdmEditors, CdmReaders, Query};
use crate::app::AppState;
use crate::domain::cdm::requests::{self, ChangesetRef};
use crate::domain::cdm::{changesets, deployables, request_error, shared};
use crate::error::Result;
use crate::http::extract::{Authorized, QueryParams};
use crate::http::{base_url, PathParams};

/// `DELETE /api/sn_cdm/changesets?changesetNumber=`
pub async fn delete(
    State(state): State<AppState>,
    _auth: Authorized<CdmEditors>,
    QueryParams(q): QueryParams,
) -> Result<Response> {
    let number = Query(&q).required("changesetNumber")?;
    changesets::discard(&state.db, &number).await?;
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
    Ok(result(Json::Array(
        rows.iter().map(|r| view::changeset(r, &base)).collect(),
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
    let row = changesets::open(
        &state.db,
        &changesets::NewChangeset {
            application: &name,
            shared_library: library,
            description: description.as_deref(),
        },
        &auth.caller.user_name,
    )
    .await?;
    Ok(result(only_fields(
        changesets::summary(&row, false),
        q.return_fields().as_deref(),
    )))
}

/// Queues the commit of the changeset `which` names, with the query's
/// validate and publish options.
async fn queue_commit(
    state: &AppState,
    which: ChangesetRef<'_>,
    q: &Query<'_>,
    actor: &str,
) -> Result<Response> {
    let auto_validate = q.flag("autoValidate", false)?;
    let publish = q
        .opt("publishOption")
        .unwrap_or_else(|| "publish_none".into());
    let id = requests::queue_commit(
        &state.db,
        &state.jobs,
        which,
        auto_validate,
        &publish,
        actor,
    )
    .await?;
    Ok(result(json!({ "commit_id": id })))
}

/// `POST /api/sn_cdm/changesets/{changeset_id}/commit`
pub async fn commit_by_id(
    State(state): State<AppState>,
    auth: Authorized<CdmEditors>,
    params: PathParams,
    QueryParams(q): QueryParams,
) -> Result<Response> {
    let id = params.get("changeset_id")?;
    queue_commit(
        &state,
        ChangesetRef::Id(id),
        &Query(&q),
        &auth.caller.user_name,
    )
    .await
}

/// `PUT /api/sn_cdm/changesets/commit?changesetNumber=`
pub async fn commit_by_number(
    State(state): State<AppState>,
    auth: Authorized<CdmEditors>,
    QueryParams(q): QueryParams,
) -> Result<Response> {
    let query = Query(&q);
    let number = query.required("changesetNumber")?;
    queue_commit(
        &state,
        ChangesetRef::Number(&number),
        &query,
        &auth.caller.user_name,
    )
    .await
}

/// `GET /api/sn_cdm/changesets/commit-status/{commit_id}`
pub async fn commit_status(
    State(state): State<AppState>,
    _auth: Authorized<CdmReaders>,
    params: PathParams,
) -> Result<Response> {
    let id = params.get("commit_id")?;
    let row = requests::find(&state.db, id).await?;
    Ok(result(view::request_status(row.as_ref(), id, "commit_id")))
}

/// `GET /api/sn_cdm/changesets/activity?changesetNumber=&returnFields=`
pub async fn activity(
    State(state): State<AppState>,
    _auth: Authorized<CdmReaders>,
    QueryParams(q): QueryParams,
) -> Result<Response> {
    let query = Query(&q);
    let number = query.required("changesetNumber")?;
    let (changeset_id, rows) = changesets::activity(&state.db, &number).await?;
    let list = rows
        .iter()
        .map(|a| view::activity(&changeset_id, a))
        .collect();
    Ok(result(only_fields(
        Json::Array(list),
        query.return_fields().as_deref(),
    )))
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
    let rows = deployables::impacted_by_number(&state.db, &number).await?;
    let base = base_url(&headers, &state.settings);
    let list = Json::Array(rows.iter().map(|d| view::deployable(d, &base)).collect());
    Ok(result(only_fields(list, query.return_fields().as_deref())))
}

/// `GET /api/sn_cdm/changesets/{changeset_id}/impacted-deployables`
pub async fn impacted_deployable_nodes(
    State(state): State<AppState>,
    _auth: Authorized<CdmReaders>,
    params: PathParams,
    QueryParams(q): QueryParams,
) -> Result<Response> {
    let id = params.get("changeset_id")?;
    let nodes = deployables::impacted_nodes(&state.db, id).await?;
    Ok(result(only_fields(
        Json::Array(nodes.iter().map(view::plain_node).collect()),
        Query(&q).return_fields().as_deref(),
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
    let rows = shared::impacted_by_number(&state.db, &number).await?;
    Ok(result(only_fields(
        Json::Array(rows.iter().map(view::shared_component).collect()),
        query.return_fields().as_deref(),
    )))
}
