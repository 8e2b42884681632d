//! `/api/sn_cdm/snapshots/...` (validate, publish, unpublish by id or by
//! name) and `/api/sn_cdm/policies/mappings` (which Rego policies validate
//! a deployable's snapshots).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value as Json_};

use super::{result, CdmAdmins, CdmEditors, Query};
use crate::app::AppState;
use crate::domain::cdm::changesets::only_fields;
use crate::domain::cdm::{refusal, request_error, snapshots};
use crate::domain::records::{insert_values, next_number};
use crate::error::Result;
use crate::http::extract::{Authorized, QueryParams};
use crate::http::{base_url, PathParams};
use crate::registry;
use crate::storage::{Row, Tx, Value};

#[derive(Clone, Copy)]
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
enum Which<'a> {
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
        Which::Id(id) => snapshots::by_id(tx, id).await?.ok_or_else(|| match action {
            Action::Validate => refusal(format!("Invalid Snapshot id:{id}")),
            _ => request_error(action.name(), "Snapshot not found"),
        }),
        Which::Name {
            app,
            deployable,
            name,
        } => snapshots::by_name(tx, app, deployable, name)
            .await?
            .ok_or_else(|| snapshots::not_found_by_name(name)),
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
async fn validate(state: &AppState, actor: &str, which: &Which<'_>) -> Result<Row> {
    let mut read = state.db.begin_read().await?;
    let prepared = async {
        let snapshot = find(&mut read, which, Action::Validate).await?;
        refuse_published(&snapshot)?;
        snapshots::prepare_validation(&mut read, &snapshot).await
    }
    .await;
    read.rollback().await?;
    let validation = prepared?;
    let verdicts = snapshots::evaluate(&validation).await;
    let mut tx = state.db.begin().await?;
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
    snapshots::record_validation(&mut tx, &validation.snapshot_id, verdicts, actor).await?;
    let row = snapshots::by_id(&mut tx, &validation.snapshot_id)
        .await?
        .ok_or_else(|| request_error("validate", "Snapshot not found"))?;
    tx.commit().await?;
    Ok(row)
}

/// Publishes or unpublishes (short writes, no policy runs) in one
/// transaction; validates with `validate`. Returns the snapshot as it is
/// afterwards.
async fn act(state: &AppState, actor: &str, which: &Which<'_>, action: Action) -> Result<Row> {
    if let Action::Validate = action {
        return validate(state, actor, which).await;
    }
    let mut tx = state.db.begin().await?;
    let snapshot = find(&mut tx, which, action).await?;
    match action {
        Action::Publish => snapshots::publish(&mut tx, &snapshot, actor).await?,
        _ => snapshots::unpublish(&mut tx, &snapshot, actor).await?,
    }
    let row = snapshots::by_id(&mut tx, &snapshot.string("sys_id"))
        .await?
        .expect("exists");
    tx.commit().await?;
    Ok(row)
}

async fn by_id(state: AppState, actor: &str, id: &str, action: Action) -> Result<Response> {
    act(&state, actor, &Which::Id(id), action).await?;
    Ok(result(Json_::String(String::new())))
}

async fn by_name(
    state: AppState,
    actor: &str,
    q: &Query<'_>,
    headers: &HeaderMap,
    action: Action,
) -> Result<Response> {
    let app = q.required("appName")?;
    let deployable = q.required("deployableName")?;
    let name = q.required("name")?;
    let which = Which::Name {
        app: &app,
        deployable: &deployable,
        name: &name,
    };
    let row = act(&state, actor, &which, action).await?;
    let base = base_url(headers, &state.settings);
    Ok(result(only_fields(
        snapshots::record(&row, &base),
        q.opt("returnFields").as_deref(),
    )))
}

macro_rules! snapshot_endpoints {
    ($by_id:ident, $by_name:ident, $action:expr) => {
        pub async fn $by_id(
            State(state): State<AppState>,
            auth: Authorized<CdmEditors>,
            params: PathParams,
        ) -> Result<Response> {
            let id = params.get("snapshot_id")?.to_owned();
            by_id(state, &auth.caller.user_name, &id, $action).await
        }

        pub async fn $by_name(
            State(state): State<AppState>,
            auth: Authorized<CdmEditors>,
            QueryParams(q): QueryParams,
            headers: HeaderMap,
        ) -> Result<Response> {
            by_name(state, &auth.caller.user_name, &Query(&q), &headers, $action).await
        }
    };
}

snapshot_endpoints!(validate_by_id, validate_by_name, Action::Validate);
snapshot_endpoints!(publish_by_id, publish_by_name, Action::Publish);
snapshot_endpoints!(unpublish_by_id, unpublish_by_name, Action::Unpublish);

/// The deployable and policy a mapping request names.
async fn mapping_target(tx: &mut Tx, q: &Query<'_>) -> Result<(Row, Row)> {
    let app = q.required("appName")?;
    let deployable = q.required("deployableName")?;
    let policy = q.required("policyName")?;
    let d = tx
        .fetch_optional(
            "SELECT d.sys_id, d.name FROM sn_cdm_deployable d JOIN sn_cdm_application a ON a.sys_id = d.cdm_app \
             WHERE a.name = $1 AND d.name = $2 AND d.state = 'active'",
            &[Value::from(&app), Value::from(&deployable)],
        )
        .await?
        .ok_or_else(|| refusal(format!("deployableName '{deployable}' is invalid for application '{app}'")))?;
    let p = tx
        .fetch_optional(
            "SELECT sys_id, name FROM sn_pace_policy WHERE name = $1 AND active = $2",
            &[Value::from(&policy), Value::Bool(true)],
        )
        .await?
        .ok_or_else(|| refusal(format!("policyName '{policy}' is invalid")))?;
    Ok((d, p))
}

/// `POST /api/sn_cdm/policies/mappings?appName=&deployableName=&policyName=`
pub async fn create_mapping(
    State(state): State<AppState>,
    auth: Authorized<CdmAdmins>,
    QueryParams(q): QueryParams,
    headers: HeaderMap,
) -> Result<Response> {
    let query = Query(&q);
    let mut tx = state.db.begin().await?;
    let (d, p) = mapping_target(&mut tx, &query).await?;
    let exists = tx
        .fetch_optional(
            "SELECT sys_id FROM sn_cdm_pace_policy_mapping WHERE document = $1 AND policy = $2",
            &[
                Value::from(d.string("sys_id")),
                Value::from(p.string("sys_id")),
            ],
        )
        .await?;
    if exists.is_some() {
        return Err(refusal(format!(
            "Policy '{}' is already mapped to deployable '{}'",
            p.string("name"),
            d.string("name")
        )));
    }
    let n = next_number(&mut tx, "sn_cdm_pace_policy_mapping").await?;
    let user = tx
        .fetch_optional(
            "SELECT sys_id FROM sys_user WHERE user_name = $1",
            &[Value::from(&auth.caller.user_name)],
        )
        .await?
        .map(|r| r.string("sys_id"));
    let id = insert_values(
        &mut tx,
        registry::table("sn_cdm_pace_policy_mapping").expect("registered"),
        None,
        vec![
            ("number", Value::Text(format!("MAP{n:07}"))),
            ("policy", Value::from(p.string("sys_id"))),
            ("document", Value::from(d.string("sys_id"))),
            ("document_ref", Value::from(d.string("sys_id"))),
            ("state", Value::from("active")),
            ("input_status", Value::from("valid")),
            ("exception_allowed", Value::from("--")),
            ("last_updated_by", Value::from(user)),
        ],
        &auth.caller.user_name,
    )
    .await?;
    let row = tx
        .fetch_optional(
            "SELECT sys_id, number, policy, document, document_ref, description, state, input_status, exception_allowed, \
             last_updated_by, sys_created_on, sys_created_by, sys_updated_on, sys_updated_by FROM sn_cdm_pace_policy_mapping \
             WHERE sys_id = $1",
            &[Value::from(&id)],
        )
        .await?
        .expect("just made");
    tx.commit().await?;
    let base = base_url(&headers, &state.settings);
    let reference = |table: &str, id: String| json!({"value": id, "link": format!("{base}/api/now/table/{table}/{id}")});
    let body = json!({
        "exception": "",
        "reason": "",
        "exception_allowed": row.string("exception_allowed"),
        "document": row.string("document"),
        "input_status": row.string("input_status"),
        "description": row.text("description"),
        "sys_updated_on": row.string("sys_updated_on"),
        "sys_class_name": "sn_cdm_pace_policy_mapping",
        "sys_id": row.string("sys_id"),
        "number": row.string("number"),
        "last_updated_by": reference("sys_user", row.string("last_updated_by")),
        "sys_updated_by": row.string("sys_updated_by"),
        "sys_created_on": row.string("sys_created_on"),
        "document_ref": reference("sn_cdm_deployable", row.string("document_ref")),
        "state": row.string("state"),
        "sys_created_by": row.string("sys_created_by"),
        "policy": reference("sn_pace_policy", row.string("policy")),
    });
    Ok(result(only_fields(
        body,
        query.opt("returnFields").as_deref(),
    )))
}

/// `DELETE /api/sn_cdm/policies/mappings?appName=&deployableName=&policyName=`
pub async fn delete_mapping(
    State(state): State<AppState>,
    _auth: Authorized<CdmAdmins>,
    QueryParams(q): QueryParams,
) -> Result<Response> {
    let query = Query(&q);
    let mut tx = state.db.begin().await?;
    let (d, p) = mapping_target(&mut tx, &query).await?;
    let n = tx
        .execute(
            "DELETE FROM sn_cdm_pace_policy_mapping WHERE document = $1 AND policy = $2",
            &[
                Value::from(d.string("sys_id")),
                Value::from(p.string("sys_id")),
            ],
        )
        .await?;
    if n == 0 {
        return Err(refusal(format!(
            "policyName '{}' is not mapped to deployable '{}'",
            p.string("name"),
            d.string("name")
        )));
    }
    tx.commit().await?;
    Ok(axum::http::StatusCode::OK.into_response())
}
