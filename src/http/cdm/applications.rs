//! `/api/sn_cdm/applications/...`: uploads and their status, deployables,
//! and exports with their status and content.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{json, Value as Json_};

use super::changesets::request_status;
use super::{
    deployable_record, result, CdmAdmins, CdmEditors, CdmReaders, Query, DEPLOYABLE_COLUMNS,
};
use crate::app::AppState;
use crate::domain::cdm::jobs::{self, ExportRequest, UploadRequest};
use crate::domain::cdm::upload::{self, Options, Target};
use crate::domain::cdm::{
    applications, changesets, commit, export, parse, refusal, snapshots, split_path, tree,
    MAX_UPLOAD_BYTES,
};
use crate::error::Result;
use crate::http::extract::{read_body, Authenticated, Authorized, QueryParams};
use crate::http::{base_url, PathParams};
use crate::identity::roles;
use crate::jobs::Job;
use crate::storage::Value;

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
    let mut tx = state.db.begin().await?;
    let kind_name = if library {
        Some("shared_library")
    } else {
        None
    };
    if applications::find_active(&mut tx, &app_name, kind_name)
        .await?
        .is_none()
    {
        let of = if library {
            "shared_library"
        } else {
            "application"
        };
        return Err(refusal(format!(
            "Could not find active application with name: '{app_name}' of type {of}"
        )));
    }
    if let Some(number) = &params.changeset_number {
        changesets::require_open(&mut tx, number, "upload").await?;
    }
    let request = commit::queue_request(
        &mut tx,
        if auto_commit {
            "upload_and_commit"
        } else {
            "upload"
        },
        None,
        &serde_json::to_value(&params).unwrap_or_default(),
        Some(&Json_::Object(content).to_string()),
        &actor,
    )
    .await?;
    let job = jobs::Upload {
        request_id: request.clone(),
        actor: actor.clone(),
    };
    job.enqueue_in(&mut tx, &actor).await?;
    tx.commit().await?;
    state.jobs.wake();
    Ok(result(json!({ "upload_id": request })))
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
    Ok(result(request_status(&state, id, "upload_id").await?))
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
    let mut tx = state.db.begin().await?;
    let app = applications::find_active(&mut tx, &app_name, Some("application"))
        .await?
        .ok_or_else(|| crate::domain::cdm::request_error("create", "Application not found"))?;
    let id =
        applications::create_deployable(&mut tx, &app, &name, &env, None, &auth.caller.user_name)
            .await?;
    let row = tx
        .fetch_optional(
            &format!("SELECT {DEPLOYABLE_COLUMNS} FROM sn_cdm_deployable d WHERE d.sys_id = $1"),
            &[Value::from(&id)],
        )
        .await?
        .expect("just made");
    tx.commit().await?;
    let base = base_url(&headers, &state.settings);
    let record = crate::domain::cdm::changesets::only_fields(
        deployable_record(&row, &base),
        query.opt("returnFields").as_deref(),
    );
    Ok(result(Json_::Array(vec![record])))
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
    let mut tx = state.db.begin().await?;
    let app = applications::find_active(&mut tx, &app_name, Some("application"))
        .await?
        .ok_or_else(|| crate::domain::cdm::request_error("delete", "Application not found"))?;
    applications::delete_deployable(&mut tx, &app, &name, &auth.caller.user_name).await?;
    tx.commit().await?;
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
    let mut tx = state.db.begin().await?;
    let app = applications::find_active(&mut tx, &app_name, Some("application"))
        .await?
        .ok_or_else(|| crate::domain::cdm::request_error("update", "Application not found"))?;
    let id = applications::update_deployable(
        &mut tx,
        &app,
        &name,
        &applications::DeployableChange {
            new_name: query.opt("newName").as_deref(),
            new_description: raw("newDescription"),
            new_service: raw("newServiceId"),
            new_identifier: raw("newIdentifier"),
        },
        &auth.caller.user_name,
    )
    .await?;
    let row = tx
        .fetch_optional(
            &format!("SELECT {DEPLOYABLE_COLUMNS}, d.identifier FROM sn_cdm_deployable d WHERE d.sys_id = $1"),
            &[Value::from(&id)],
        )
        .await?
        .expect("just updated");
    tx.commit().await?;
    let base = base_url(&headers, &state.settings);
    let mut record = deployable_record(&row, &base);
    record["identifier"] = row
        .text("identifier")
        .map(Json_::String)
        .unwrap_or(Json_::Null);
    Ok(result(crate::domain::cdm::changesets::only_fields(
        record,
        query.opt("returnFields").as_deref(),
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
    let mut tx = state.db.begin_read().await?;
    let app = applications::find_active(&mut tx, &app_name, Some("application"))
        .await?
        .ok_or_else(|| {
            refusal(format!(
                "Could not find active application with name: '{app_name}'"
            ))
        })?;
    let rows = crate::domain::cdm::shared::used_by(&mut tx, &app.string("sys_id")).await?;
    tx.rollback().await?;
    if updates_only {
        return Ok(result(json!([])));
    }
    let list: Vec<Json_> = rows
        .iter()
        .map(|r| {
            let version = r.int("version_counter").unwrap_or(1);
            let name = r.string("name");
            json!({
                "name": name,
                "description": r.string("description"),
                "sharedLibraryName": r.string("library_name"),
                "currentVersion": version.to_string(),
                "currentVersionName": format!("{name}-v{version}.shc"),
                "updateVersionName": Json_::Null,
            })
        })
        .collect();
    Ok(result(Json_::Array(list)))
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
    let mut tx = state.db.begin_read().await?;
    let apps =
        crate::domain::cdm::shared::applications_using(&mut tx, &library, &component).await?;
    tx.rollback().await?;
    let list: Vec<Json_> = apps
        .iter()
        .map(|a| {
            json!({
                "name": a.string("name"),
                "description": a.string("description"),
                "managed_by_group": "",
                "sys_id": a.string("sys_id"),
            })
        })
        .collect();
    let mut out = serde_json::Map::new();
    out.insert(component, Json_::Array(list));
    Ok(result(Json_::Object(out)))
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
    let mut tx = state.db.begin().await?;
    let app = tx
        .fetch_optional(
            "SELECT sys_id, name, type, state, root_main_id FROM sn_cdm_application WHERE sys_id = $1",
            &[Value::from(&app_id)],
        )
        .await?
        .filter(|a| a.string("state") == "active")
        .ok_or_else(|| refusal(format!("CDM Application with SysID {app_id} was not found.")))?;
    let mut ids = Vec::new();
    let existing: Vec<String> = tx
        .fetch_all(
            "SELECT name FROM sn_cdm_deployable WHERE cdm_app = $1",
            &[Value::from(&app_id)],
        )
        .await?
        .iter()
        .map(|r| r.string("name"))
        .collect();
    let mut n = 0;
    while ids.len() < quantity {
        n += 1;
        let name = format!("{env}_{n}");
        if existing.contains(&name) {
            continue;
        }
        ids.push(
            applications::create_deployable(
                &mut tx,
                &app,
                &name,
                &env,
                None,
                &auth.caller.user_name,
            )
            .await?,
        );
    }
    tx.commit().await?;
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
    let app = query.required("appName")?;
    let deployable = query.required("deployableName")?;
    let exporter = query.required("exporterName")?;
    let format = query.opt("dataFormat").unwrap_or_else(|| "json".into());
    if !export::FORMATS.contains(&format.as_str()) {
        return Err(refusal(format!(
            "Invalid dataFormat '{format}': one of {}",
            export::FORMATS.join(", ")
        )));
    }
    let restrict = query.flag("restrictExport", false)?;
    let mut tx = state.db.begin().await?;
    let d = tx
        .fetch_optional(
            "SELECT d.sys_id FROM sn_cdm_deployable d JOIN sn_cdm_application a ON a.sys_id = d.cdm_app \
             WHERE a.name = $1 AND d.name = $2 AND d.state = 'active'",
            &[Value::from(&app), Value::from(&deployable)],
        )
        .await?
        .ok_or_else(|| refusal(format!("Could not find deployable '{deployable}' in application '{app}'")))?;
    let snapshot = match query.opt("snapshotName") {
        Some(name) => snapshots::by_name(&mut tx, &app, &deployable, &name)
            .await?
            .ok_or_else(|| snapshots::not_found_by_name(&name))?,
        None => snapshots::latest_published(&mut tx, &d.string("sys_id"))
            .await?
            .ok_or_else(|| {
                refusal(format!(
                    "Failed to find latest published snapshot for deployable '{deployable}'"
                ))
            })?,
    };
    let params = ExportRequest {
        snapshot_id: snapshot.string("sys_id"),
        format,
        exporter,
        restrict_export: restrict,
    };
    let actor = caller.user_name.clone();
    let request = commit::queue_request(
        &mut tx,
        "export",
        None,
        &serde_json::to_value(&params).unwrap_or_default(),
        None,
        &actor,
    )
    .await?;
    tx.execute(
        "UPDATE sn_cdm_request_queue SET deployable = $1 WHERE sys_id = $2",
        &[Value::from(d.string("sys_id")), Value::from(&request)],
    )
    .await?;
    let job = jobs::Export {
        request_id: request.clone(),
        actor: actor.clone(),
    };
    job.enqueue_in(&mut tx, &actor).await?;
    tx.commit().await?;
    state.jobs.wake();
    Ok(result(json!({ "export_id": request })))
}

async fn export_request(state: &AppState, id: &str) -> Result<Option<crate::storage::Row>> {
    let mut tx = state.db.begin_read().await?;
    let row = commit::request(&mut tx, id)
        .await?
        .filter(|r| r.string("type") == "export");
    tx.rollback().await?;
    Ok(row)
}

fn unknown_export(id: &str) -> Json_ {
    json!({"request_id": id, "state": "error", "errors": format!("Invalid requestId '{id}'"), "export_id": id})
}

/// `GET /api/sn_cdm/applications/deployables/exports/{export_id}/status`
pub async fn export_status(
    State(state): State<AppState>,
    _auth: Authorized<CdmReaders>,
    params: PathParams,
) -> Result<Response> {
    let id = params.get("export_id")?;
    let Some(row) = export_request(&state, id).await? else {
        return Ok(result(unknown_export(id)));
    };
    let output: Json_ = row
        .text("output")
        .and_then(|o| serde_json::from_str(&o).ok())
        .unwrap_or(Json_::Null);
    let mut out = json!({"state": row.string("state"), "export_id": id});
    if let Some(failed) = output.get("failed") {
        out["exporter_result"] = failed.clone();
    }
    if let Some(errors) = row.text("errors") {
        out["errors"] = Json_::String(errors);
    }
    Ok(result(out))
}

/// `GET /api/sn_cdm/applications/deployables/exports/{export_id}/content`
pub async fn export_content(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    _auth: Authorized<CdmReaders>,
    params: PathParams,
) -> Result<Response> {
    let id = params.get("export_id")?;
    let Some(row) = export_request(&state, id).await? else {
        return Ok(result(unknown_export(id)));
    };
    if row.string("state") != "completed" {
        return Err(refusal(format!(
            "Export '{id}' is not completed (state: {})",
            row.string("state")
        )));
    }
    let output: Json_ = row
        .text("output")
        .and_then(|o| serde_json::from_str(&o).ok())
        .unwrap_or(Json_::Null);
    if let Some(failed) = output.get("failed") {
        return Ok(result(json!({"export_id": id, "exporter_result": failed})));
    }
    let content = output.get("content").cloned().unwrap_or(Json_::Null);
    // Secure values: in clear for the secrets role, masked for everyone else.
    let content = if caller.has_any(&[roles::CDM_SECRETS]) {
        let mut tokens = Vec::new();
        collect_tokens(&content, &mut tokens);
        let mut clear = std::collections::HashMap::new();
        for t in tokens {
            // A token that does not open as a CDM secure value (retired
            // enc:v1, or text that only looks like a ciphertext) stays
            // masked: revealed is only what the server sealed for CDM.
            match crate::secrets::decrypt(
                &state.db,
                &t,
                &crate::secrets::Binding::cdm_secure_value(),
            )
            .await
            {
                Ok(v) => {
                    clear.insert(t, v);
                }
                Err(err) => tracing::warn!(error = %err.message, "an export token stays masked"),
            }
        }
        export::reveal_secrets(&content, &|t| clear.get(t).cloned())
    } else {
        export::reveal_secrets(&content, &|_| None)
    };
    Ok(result(json!({"export_id": id, "exporter_result": content})))
}

fn collect_tokens(v: &Json_, out: &mut Vec<String>) {
    match v {
        Json_::Object(m) => m.values().for_each(|v| collect_tokens(v, out)),
        Json_::Array(items) => items.iter().for_each(|v| collect_tokens(v, out)),
        Json_::String(s) => {
            out.extend(
                crate::secrets::tokens(s)
                    .into_iter()
                    .map(|(start, end)| s[start..end].to_owned()),
            );
        }
        _ => {}
    }
}
