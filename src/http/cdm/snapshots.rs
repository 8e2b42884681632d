//! `/api/sn_cdm/snapshots/...` (validate, publish, unpublish by id or by
//! name) and `/api/sn_cdm/policies/mappings` (which Rego policies validate
//! a deployable's snapshots).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::Value as Json;

use super::view::{self, only_fields, result};
use super::{CdmAdmins, CdmEditors, Query};
use crate::app::AppState;
use crate::domain::cdm::mappings::{self, Target};
use crate::domain::cdm::snapshots::{self, Action, Which};
use crate::error::Result;
use crate::http::extract::{Authorized, QueryParams};
use crate::http::{base_url, PathParams};

async fn by_id(state: AppState, actor: &str, id: &str, action: Action) -> Result<Response> {
    snapshots::act(&state.db, &Which::Id(id), action, actor).await?;
    Ok(result(Json::String(String::new())))
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
    let row = snapshots::act(&state.db, &which, action, actor).await?;
    let base = base_url(headers, &state.settings);
    Ok(result(only_fields(
        view::snapshot(&row, &base),
        q.return_fields().as_deref(),
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
struct MappingParams {
    app: String,
    deployable: String,
    policy: String,
}

impl MappingParams {
    fn read(q: &Query<'_>) -> Result<MappingParams> {
        Ok(MappingParams {
            app: q.required("appName")?,
            deployable: q.required("deployableName")?,
            policy: q.required("policyName")?,
        })
    }

    fn target(&self) -> Target<'_> {
        Target {
            app: &self.app,
            deployable: &self.deployable,
            policy: &self.policy,
        }
    }
}

/// `POST /api/sn_cdm/policies/mappings?appName=&deployableName=&policyName=`
pub async fn create_mapping(
    State(state): State<AppState>,
    auth: Authorized<CdmAdmins>,
    QueryParams(q): QueryParams,
    headers: HeaderMap,
) -> Result<Response> {
    let query = Query(&q);
    let params = MappingParams::read(&query)?;
    let mapping = mappings::create(&state.db, &params.target(), &auth.caller.user_name).await?;
    let base = base_url(&headers, &state.settings);
    Ok(result(only_fields(
        view::mapping(&mapping, &base),
        query.return_fields().as_deref(),
    )))
}

/// `DELETE /api/sn_cdm/policies/mappings?appName=&deployableName=&policyName=`
pub async fn delete_mapping(
    State(state): State<AppState>,
    _auth: Authorized<CdmAdmins>,
    QueryParams(q): QueryParams,
) -> Result<Response> {
    let params = MappingParams::read(&Query(&q))?;
    mappings::delete(&state.db, &params.target()).await?;
    Ok(axum::http::StatusCode::OK.into_response())
}
