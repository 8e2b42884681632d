//! `/api/sn_cdm/applications/...`: uploads and their status, deployables,
//! and exports with their status and content.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::json;

use super::view::{self, result};
use super::{CdmAdmins, CdmEditors, CdmReaders, Query};
use crate::app::AppState;
use crate::domain::cdm::applications::DeployableChange;
use crate::domain::cdm::jobs::UploadRequest;
use crate::domain::cdm::requests::{self, NewExport};
use crate::domain::cdm::upload::{self, Options, Target};
use crate::domain::cdm::{
    deployables, export, parse, refusal, shared, split_path, tree, MAX_UPLOAD_BYTES,
};
use crate::error::Result;
use crate::http::extract::{read_body, Authenticated, Authorized, QueryParams};
use crate::http::{base_url, PathParams};
use crate::identity::roles;

/// Which upload endpoint was called.
#[derive(Clone, Copy)]
pub enum UploadKind {
    Components,
    ComponentVars,
    Collections,
    Deployables,
}

async fn upload(
    state: AppState,
    actor: String,
    q: std::collections::HashMap<String, String>,
    request: axum::extract::Request,
    kind: UploadKind,
) -> Result<Response> {
    let query = Query(&q);
    let body = read_body(request, MAX_UPLOAD_BYTES + 1)
        .await
        .map_err(|_| too_large(None))?;
    if body.len() > MAX_UPLOAD_BYTES {
        return Err(too_large(Some(body.len())));
    }
    let (app_name, library) = match (query.opt("appName"), query.opt("sharedLibraryName")) {
        (Some(a), _) => (a, false),
        (None, Some(l)) => (l, true),
        (None, None) => return Err(refusal("Missing required param 'appName'")),
    };
    let format = query.required("dataFormat")?.to_ascii_lowercase();
    let text = std::str::from_utf8(&body)
        .map_err(|_| refusal("The uploaded content is not UTF-8 text"))?;
    let content = parse::parse(&format, text)?;
    upload::check_limits(&content)?;
    let target = match kind {
        UploadKind::Components => Target::Components,
        UploadKind::ComponentVars => Target::ComponentVars,
        UploadKind::Collections => Target::Collection(query.required("collectionName")?),
        UploadKind::Deployables => Target::Deployable(query.required("deployableName")?),
    };
    let name_path = split_path(&query.opt("namePath").unwrap_or_default());
    // Below the target folder (itself one or two levels down); `tree::add`
    // bounds the exact level when the job runs, this refuses a path that
    // can never fit before anything is queued.
    tree::check_path_depth("namePath", name_path.len())?;
    if matches!(kind, UploadKind::Components) && name_path.is_empty() {
        return Err(refusal(
            "Missing required param 'namePath': the component to upload into",
        ));
    }
    let identifier_keys: Vec<String> = query
        .opt("identifierKeys")
        .map(|k| split_path(&k.replace(',', "/")))
        .unwrap_or_default();
    let auto_commit = query.flag("autoCommit", false)?;
    let params = UploadRequest {
        application: app_name.clone(),
        changeset_number: query.opt("changesetNumber"),
        target,
        name_path,
        options: Options {
            auto_delete: query.flag("autoDelete", false)?,
            identifier_keys,
            skip_redundant_overrides: query.flag("deleteRedundantOverrides", true)?,
        },
        auto_commit,
        auto_validate: query.flag("autoValidate", false)?,
        publish_option: query
            .opt("publishOption")
            .unwrap_or_else(|| "publish_none".into()),
    };
    if params.publish_option != "publish_none" && params.publish_option != "publish_valid" {
        return Err(refusal(format!(
            "Invalid publishOption '{}': publish_none or publish_valid",
            params.publish_option
        )));
    }
    let id =
        requests::queue_upload(&state.db, &state.jobs, &params, library, content, &actor).await?;
    Ok(result(json!({ "upload_id": id })))
}

fn too_large(size: Option<usize>) -> crate::error::Error {
    let size = size
        .map(|s| format!("{s}.0"))
        .unwrap_or_else(|| "more than the limit".into());
    refusal(format!(
        "Size of uploaded data:{size}(bytes) is greater than max allowed upload limit of {MAX_UPLOAD_BYTES}.0(bytes)"
    ))
}

macro_rules! upload_endpoint {
    ($name:ident, $kind:expr) => {
        pub async fn $name(
            State(state): State<AppState>,
            auth: Authorized<CdmEditors>,
            QueryParams(q): QueryParams,
            request: axum::extract::Request,
        ) -> Result<Response> {
            upload(state, auth.caller.user_name.clone(), q, request, $kind).await
        }
    };
}

upload_endpoint!(upload_components, UploadKind::Components);
upload_endpoint!(upload_component_vars, UploadKind::ComponentVars);
upload_endpoint!(upload_collections, UploadKind::Collections);
upload_endpoint!(upload_deployables, UploadKind::Deployables);

/// `GET /api/sn_cdm/applications/upload-status/{upload_id}`
pub async fn upload_status(
    State(state): State<AppState>,
    _auth: Authorized<CdmReaders>,
    params: PathParams,
) -> Result<Response> {
    let id = params.get("upload_id")?;
    let row = requests::find(&state.db, id).await?;
    Ok(result(view::request_status(row.as_ref(), id, "upload_id")))
}

/// `POST /api/sn_cdm/applications/deployables?appName=&name=&envType=`
pub async fn create_deployable(
    State(state): State<AppState>,
    auth: Authorized<CdmAdmins>,
    QueryParams(q): QueryParams,
    headers: HeaderMap,
) -> Result<Response> {
    let query = Query(&q);
    let app_name = query.required("appName")?;
    let name = query.required("name")?;
    let env = query.required("envType")?;
    let made =
        deployables::create(&state.db, &app_name, &name, &env, &auth.caller.user_name).await?;
    let base = base_url(&headers, &state.settings);
    let record = view::only_fields(
        view::deployable(&made, &base),
        query.return_fields().as_deref(),
    );
    Ok(result(json!([record])))
}

/// `DELETE /api/sn_cdm/applications/deployables?appName=&name=`: 200, no body.
pub async fn delete_deployable(
    State(state): State<AppState>,
    auth: Authorized<CdmAdmins>,
    QueryParams(q): QueryParams,
) -> Result<Response> {
    let query = Query(&q);
    let app_name = query.required("appName")?;
    let name = query.required("name")?;
    deployables::delete(&state.db, &app_name, &name, &auth.caller.user_name).await?;
    Ok(axum::response::IntoResponse::into_response(
        axum::http::StatusCode::OK,
    ))
}

/// `PUT /api/sn_cdm/applications/deployables?appName=&name=&newName=&newDescription=&newServiceId=&newIdentifier=`
pub async fn update_deployable(
    State(state): State<AppState>,
    auth: Authorized<CdmAdmins>,
    QueryParams(q): QueryParams,
    headers: HeaderMap,
) -> Result<Response> {
    let query = Query(&q);
    let app_name = query.required("appName")?;
    let name = query.required("name")?;
    let raw = |key: &str| q.get(key).map(String::as_str);
    let new_name = query.opt("newName");
    let change = DeployableChange {
        new_name: new_name.as_deref(),
        new_description: raw("newDescription"),
        new_service: raw("newServiceId"),
        new_identifier: raw("newIdentifier"),
    };
    let updated =
        deployables::update(&state.db, &app_name, &name, &change, &auth.caller.user_name).await?;
    let base = base_url(&headers, &state.settings);
    Ok(result(view::only_fields(
        view::deployable_with_identifier(&updated, &base),
        query.return_fields().as_deref(),
    )))
}

/// `GET /api/sn_cdm/applications/shared_components?appName=&withUpdatesOnly=`:
/// the shared components an application includes. Includes follow their
/// library's committed state, so none ever waits for an update and
/// `withUpdatesOnly=true` answers an empty list.
pub async fn shared_components(
    State(state): State<AppState>,
    _auth: Authorized<CdmReaders>,
    QueryParams(q): QueryParams,
) -> Result<Response> {
    let query = Query(&q);
    let app_name = query.required("appName")?;
    let updates_only = match q.get("withUpdatesOnly") {
        Some(_) => query.flag("withUpdatesOnly", false)?,
        None => query.flag("updatesOnly", false)?,
    };
    let rows = shared::components_of(&state.db, &app_name).await?;
    if updates_only {
        return Ok(result(json!([])));
    }
    Ok(result(view::shared_components(&rows)))
}

/// `GET /api/sn_cdm/applications/shared_libraries/components/applications?sharedLibraryName=&sharedComponentName=`
pub async fn shared_component_applications(
    State(state): State<AppState>,
    _auth: Authorized<CdmReaders>,
    QueryParams(q): QueryParams,
) -> Result<Response> {
    let query = Query(&q);
    let library = query.required("sharedLibraryName")?;
    let component = query.required("sharedComponentName")?;
    let apps = shared::applications_of_component(&state.db, &library, &component).await?;
    Ok(result(view::component_applications(component, &apps)))
}

/// `POST /api/sn_cdm/applications/deployables/create?appSysId=&envType=&quantity=`
pub async fn create_deployables(
    State(state): State<AppState>,
    auth: Authorized<CdmAdmins>,
    QueryParams(q): QueryParams,
) -> Result<Response> {
    let query = Query(&q);
    let app_id = query.required("appSysId")?;
    let env = query.required("envType")?;
    let quantity: usize = query
        .required("quantity")?
        .parse()
        .ok()
        .filter(|n| (1..=100).contains(n))
        .ok_or_else(|| refusal("quantity must be a whole number from 1 to 100"))?;
    let ids =
        deployables::create_numbered(&state.db, &app_id, &env, quantity, &auth.caller.user_name)
            .await?;
    Ok(result(json!(ids)))
}

/// `POST /api/sn_cdm/applications/deployables/exports`
pub async fn create_export(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    _auth: Authorized<CdmReaders>,
    QueryParams(q): QueryParams,
) -> Result<Response> {
    let query = Query(&q);
    let application = query.required("appName")?;
    let deployable = query.required("deployableName")?;
    let exporter = query.required("exporterName")?;
    let format = query.opt("dataFormat").unwrap_or_else(|| "json".into());
    export::check_format(&format)?;
    let request = NewExport {
        application,
        deployable,
        snapshot: query.opt("snapshotName"),
        exporter,
        format,
        restrict_export: query.flag("restrictExport", false)?,
    };
    let id = requests::queue_export(&state.db, &state.jobs, request, &caller.user_name).await?;
    Ok(result(json!({ "export_id": id })))
}

/// `GET /api/sn_cdm/applications/deployables/exports/{export_id}/status`
pub async fn export_status(
    State(state): State<AppState>,
    _auth: Authorized<CdmReaders>,
    params: PathParams,
) -> Result<Response> {
    let id = params.get("export_id")?;
    Ok(result(match requests::find_export(&state.db, id).await? {
        Some(row) => view::export_status(&row, id),
        None => view::unknown_export(id),
    }))
}

/// `GET /api/sn_cdm/applications/deployables/exports/{export_id}/content`
pub async fn export_content(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    _auth: Authorized<CdmReaders>,
    params: PathParams,
) -> Result<Response> {
    let id = params.get("export_id")?;
    let Some(row) = requests::find_export(&state.db, id).await? else {
        return Ok(result(view::unknown_export(id)));
    };
    if row.string("state") != "completed" {
        return Err(refusal(format!(
            "Export '{id}' is not completed (state: {})",
            row.string("state")
        )));
    }
    let output = view::export_output(&row);
    if let Some(failed) = output.get("failed") {
        return Ok(result(json!({"export_id": id, "exporter_result": failed})));
    }
    let content = output.get("content").cloned().unwrap_or_default();
    // Secure values: in clear for the secrets role, masked for everyone else.
    let clear = caller.has_any(&[roles::CDM_SECRETS]);
    let content = export::content_for_reader(&state.db, &content, clear).await;
    Ok(result(json!({"export_id": id, "exporter_result": content})))
}
