//! Configuration Data Management endpoints: `/api/sn_cdm[/{api_version}]/...`.
//! Parameters come in the query string (uploads carry their content in the
//! body); answers are `{"result": ...}`; every refusal is a 400 in the
//! ServiceNow envelope with the vendor's `Error: ...` messages.

pub mod applications;
pub mod changesets;
pub mod editor;
pub mod snapshots;

use std::collections::HashMap;

use serde_json::{json, Value as Json};

use crate::domain::cdm::tree::{Node, Tree};
use crate::domain::cdm::{refusal, MASK};
use crate::error::Result;
use crate::http::endpoint::Endpoint;
use crate::http::extract::RoleSet;
use crate::identity::roles;
use crate::storage::Row;

/// `{"result": ...}`, the shape of every CDM answer.
pub fn result(value: Json) -> axum::response::Response {
    axum::response::IntoResponse::into_response(axum::Json(json!({ "result": value })))
}

/// The family's endpoints, below `/api/sn_cdm[/{version}]`.
pub fn endpoints() -> Vec<Endpoint> {
    use applications as apps;
    const UPLOAD_QUERY: &[&str] = &[
        "appName",
        "sharedLibraryName",
        "namePath",
        "changesetNumber",
        "autoCommit",
        "autoValidate",
        "publishOption",
        "autoDelete",
        "deleteRedundantOverrides",
        "identifierKeys",
    ];
    const BY_NAME: &[&str] = &["appName", "deployableName", "name"];
    const MAPPING: &[&str] = &["appName", "deployableName", "policyName"];
    vec![
        Endpoint::delete("/changesets", changesets::delete)
            .summary("Delete a changeset that is not committed (changesetNumber)")
            .required_query(&["changesetNumber"]),
        Endpoint::get("/changesets", changesets::list)
            .summary("Changesets of an application (appName, number, state)")
            .required_query(&["appName"])
            .query(&["number", "state"]),
        Endpoint::post("/changesets/create", changesets::create)
            .summary("Create an open changeset for an application or shared library (appName or sharedLibraryName, description, returnFields)")
            .query(&["appName", "sharedLibraryName", "description", "returnFields"])
            .also_with_trailing_slash(),
        Endpoint::put("/changesets/commit", changesets::commit_by_number)
            .summary("Queue the commit of a changeset by number (changesetNumber, autoValidate, publishOption)")
            .required_query(&["changesetNumber"])
            .query(&["autoValidate", "publishOption"]),
        Endpoint::get("/changesets/activity", changesets::activity)
            .summary("Node changes of a changeset, old and new (changesetNumber, returnFields)")
            .required_query(&["changesetNumber"])
            .query(&["returnFields"]),
        Endpoint::get("/changesets/commit-status/{commit_id}", changesets::commit_status)
            .summary("State of a commit request"),
        Endpoint::get("/changesets/impacted-deployables", changesets::impacted_deployables)
            .summary("Deployables a changeset impacts (changesetNumber, returnFields)")
            .required_query(&["changesetNumber"])
            .query(&["returnFields"]),
        // The vendor's example of this one is written without `/api`.
        Endpoint::get("/changesets/impacted-shared-components", changesets::impacted_shared_components)
            .summary("Shared components a changeset impacts (changesetNumber, returnFields)")
            .required_query(&["changesetNumber"])
            .query(&["returnFields"])
            .also_under("/sn_cdm"),
        Endpoint::get("/changesets/{changeset_id}/impacted-deployables", changesets::impacted_deployable_nodes)
            .summary("Deployable nodes a changeset impacts")
            .query(&["returnFields"]),
        Endpoint::post("/changesets/{changeset_id}/commit", changesets::commit_by_id)
            .summary("Queue the commit of a changeset (autoValidate, publishOption)")
            .query(&["autoValidate", "publishOption"]),
        Endpoint::put("/changesets/{changeset_id}/commit", changesets::commit_by_id)
            .summary("Queue the commit of a changeset (autoValidate, publishOption)")
            .query(&["autoValidate", "publishOption"]),
        Endpoint::get("/editor/nodes", editor::list_nodes)
            .summary("Children of a node, committed or as a changeset sees them (parentFullNamePath, name, type, changesetNumber, decryptPassword)")
            .required_query(&["parentFullNamePath"])
            .query(&["name", "type", "changesetNumber", "decryptPassword", "returnFields"]),
        Endpoint::post("/editor/nodes", editor::create_node)
            .summary("Add a node in a changeset (changesetNumber, fullNamePath, type, value, secure, autoCreateParents)")
            .required_query(&["changesetNumber", "fullNamePath", "type"])
            .query(&["value", "secure", "autoCreateParents"]),
        Endpoint::put("/editor/nodes", editor::update_node)
            .summary("Rename a node or change its value in a changeset (changesetNumber, fullNamePath, newName, newValue, secure)")
            .required_query(&["changesetNumber", "fullNamePath"])
            .query(&["newName", "newValue", "secure"]),
        Endpoint::delete("/editor/nodes", editor::delete_node)
            .summary("Delete a node and its subtree in a changeset (changesetNumber, fullNamePath)")
            .required_query(&["changesetNumber", "fullNamePath"]),
        Endpoint::get("/editor/includes", editor::list_includes)
            .summary("The nodes that include a node (sourceFullNamePath, changesetNumber)")
            .required_query(&["sourceFullNamePath"])
            .query(&["changesetNumber", "returnFields"]),
        Endpoint::post("/editor/includes", editor::create_include)
            .summary("Include a component or collection in a deployable or collection (changesetNumber, sourceFullNamePath, targetFullNamePath)")
            .required_query(&["changesetNumber", "sourceFullNamePath", "targetFullNamePath"]),
        Endpoint::post("/applications/uploads/components", apps::upload_components)
            .summary("Upload JSON, YAML, INI or properties content into a component (appName, namePath, dataFormat, changesetNumber, autoCommit, autoValidate, publishOption, autoDelete, identifierKeys)")
            .required_query(&["dataFormat"])
            .query(UPLOAD_QUERY),
        Endpoint::post("/applications/uploads/components/vars", apps::upload_component_vars)
            .summary("Upload variables into the components' vars folder")
            .required_query(&["dataFormat"])
            .query(UPLOAD_QUERY),
        Endpoint::post("/applications/uploads/collections", apps::upload_collections)
            .summary("Upload content into a collection (collectionName)")
            .required_query(&["dataFormat", "collectionName"])
            .query(UPLOAD_QUERY),
        Endpoint::post("/applications/uploads/deployables", apps::upload_deployables)
            .summary("Upload content into a deployable (deployableName); below an include it overrides")
            .required_query(&["dataFormat", "deployableName"])
            .query(UPLOAD_QUERY),
        Endpoint::get("/applications/upload-status/{upload_id}", apps::upload_status)
            .summary("State of an upload request"),
        Endpoint::post("/applications/deployables", apps::create_deployable)
            .summary("Create a deployable (appName, name, envType)")
            .required_query(&["appName", "name", "envType"])
            .query(&["returnFields"]),
        Endpoint::get("/applications/shared_components", apps::shared_components)
            .summary("Shared components an application includes (appName, withUpdatesOnly)")
            .required_query(&["appName"])
            .query(&["withUpdatesOnly"]),
        Endpoint::get("/applications/shared_libraries/components/applications", apps::shared_component_applications)
            .summary("Applications that include a shared component (sharedLibraryName, sharedComponentName)")
            .required_query(&["sharedLibraryName", "sharedComponentName"]),
        Endpoint::put("/applications/deployables", apps::update_deployable)
            .summary("Rename a deployable (through an auto-generated committed changeset), change its description, service or identifier (appName, name, newName, newDescription, newServiceId, newIdentifier)")
            .required_query(&["appName", "name"])
            .query(&["newName", "newDescription", "newServiceId", "newIdentifier", "returnFields"]),
        Endpoint::delete("/applications/deployables", apps::delete_deployable)
            .summary("Delete a deployable through an auto-generated, committed changeset (appName, name)")
            .required_query(&["appName", "name"]),
        Endpoint::post("/applications/deployables/create", apps::create_deployables)
            .summary("Create numbered deployables (appSysId, envType, quantity)")
            .required_query(&["appSysId", "envType", "quantity"]),
        Endpoint::post("/applications/deployables/exports", apps::create_export)
            .summary("Queue the export of a deployable's snapshot (appName, deployableName, exporterName, dataFormat, snapshotName, restrictExport)")
            .required_query(&["appName", "deployableName", "exporterName"])
            .query(&["dataFormat", "snapshotName", "restrictExport"]),
        Endpoint::get("/applications/deployables/exports/{export_id}/status", apps::export_status)
            .summary("State of an export"),
        Endpoint::get("/applications/deployables/exports/{export_id}/content", apps::export_content)
            .summary("Content of a completed export"),
        Endpoint::post("/snapshots/{snapshot_id}/validate", snapshots::validate_by_id)
            .summary("Validate a snapshot with the policies mapped to its deployable"),
        Endpoint::post("/snapshots/{snapshot_id}/publish", snapshots::publish_by_id)
            .summary("Publish a validated snapshot"),
        Endpoint::post("/snapshots/{snapshot_id}/unpublish", snapshots::unpublish_by_id)
            .summary("Unpublish a snapshot"),
        Endpoint::put("/snapshots/validate", snapshots::validate_by_name)
            .summary("Validate a snapshot by name (appName, deployableName, name)")
            .required_query(BY_NAME),
        Endpoint::put("/snapshots/publish", snapshots::publish_by_name)
            .summary("Publish a snapshot by name (appName, deployableName, name)")
            .required_query(BY_NAME),
        Endpoint::put("/snapshots/unpublish", snapshots::unpublish_by_name)
            .summary("Unpublish a snapshot by name (appName, deployableName, name)")
            .required_query(BY_NAME),
        Endpoint::post("/policies/mappings", snapshots::create_mapping)
            .summary("Map a policy to a deployable (appName, deployableName, policyName)")
            .required_query(MAPPING)
            .query(&["description", "returnFields"]),
        Endpoint::delete("/policies/mappings", snapshots::delete_mapping)
            .summary("Remove a policy mapping (appName, deployableName, policyName)")
            .required_query(MAPPING),
    ]
}

/// Readers: viewers, editors, admins.
pub struct CdmReaders;
impl RoleSet for CdmReaders {
    const ANY_OF: &'static [&'static str] = &[
        roles::CDM_VIEWER,
        roles::CDM_EDITOR,
        roles::CDM_ADMIN,
        roles::CDM_SECRETS,
    ];
}

/// Those who change configuration data.
pub struct CdmEditors;
impl RoleSet for CdmEditors {
    const ANY_OF: &'static [&'static str] =
        &[roles::CDM_EDITOR, roles::CDM_ADMIN, roles::CDM_SECRETS];
}

/// Those who shape applications (deployables, policy mappings).
pub struct CdmAdmins;
impl RoleSet for CdmAdmins {
    const ANY_OF: &'static [&'static str] = &[roles::CDM_ADMIN];
}

/// The query string, read as the CDM pages name parameters.
pub struct Query<'a>(pub &'a HashMap<String, String>);

impl Query<'_> {
    pub fn opt(&self, name: &str) -> Option<String> {
        self.0
            .get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    pub fn required(&self, name: &str) -> Result<String> {
        self.opt(name)
            .ok_or_else(|| refusal(format!("Missing required param '{name}'")))
    }

    pub fn flag(&self, name: &str, default: bool) -> Result<bool> {
        crate::domain::cdm::flag(name, self.0.get(name), default)
    }
}

fn reference(base: &str, table: &str, id: Option<String>) -> Json {
    match id {
        Some(id) => json!({"value": id, "link": format!("{base}/api/now/table/{table}/{id}")}),
        None => Json::Null,
    }
}

/// A node as the editor endpoints answer it.
pub fn editor_node(n: &Node, base: &str, clear_secure: Option<String>) -> Json {
    let (value, secure_value) = match (n.secure, clear_secure) {
        (true, Some(clear)) => (Json::String(clear), Json::String(MASK.into())),
        (true, None) => (Json::Null, Json::String(MASK.into())),
        (false, _) => (opt(&n.value), Json::Null),
    };
    json!({
        "changeset_id": reference(base, "sn_cdm_changeset", n.changeset_id.clone()),
        "node_path": n.node_path,
        "description": opt(&n.description),
        "sys_updated_on": n.sys_updated_on,
        "type": n.node_type,
        "sys_class_name": "sn_cdm_node",
        "sys_id": n.sys_id,
        "sys_updated_by": n.sys_updated_by,
        "previous_version": reference(base, "sn_cdm_node", n.previous_version.clone()),
        "sys_created_on": n.sys_created_on,
        "value": value,
        "effective_from": n.effective_from.map(|v| Json::String(v.to_string())).unwrap_or(Json::Null),
        "linked_to": n.linked_to.map(|v| Json::String(v.to_string())).unwrap_or(Json::Null),
        "sys_created_by": n.sys_created_by,
        "restricted_to": Json::Null,
        "level": n.level.to_string(),
        "conflict_type": opt(&n.conflict_type),
        "main_id": n.main_id.to_string(),
        "effective_to": n.effective_to.map(|v| Json::String(v.to_string())).unwrap_or(Json::Null),
        "secure_value": secure_value,
        "node_classifier": opt(&n.classifier),
        "main_id_encoded": crate::domain::cdm::encode_main_id(n.main_id),
        "name": n.name,
        "position": n.position.map(|v| Json::String(v.to_string())).unwrap_or(Json::Null),
        "reason_for_conflict": Json::Null,
        "system_folder": n.system_folder,
        "status": n.status,
        "conflict": n.conflict,
    })
}

/// A node in the shape of the impacted-deployables and includes answers.
pub fn plain_node(n: &Node) -> Json {
    let flag = |b: bool| Json::String(if b { "1" } else { "0" }.into());
    json!({
        "sys_id": n.sys_id,
        "type": n.node_type,
        "main_id": n.main_id.to_string(),
        "main_id_encoded": crate::domain::cdm::encode_main_id(n.main_id),
        "node_path": n.node_path,
        "level": n.level,
        "status": n.status,
        "node_classifier": opt(&n.classifier),
        "position": n.position.map(|v| Json::String(v.to_string())).unwrap_or(Json::Null),
        "restricted_to": Json::Null,
        "changeset_id": opt(&n.changeset_id),
        "previous_version": opt(&n.previous_version),
        "effective_from": n.effective_from.map(|v| Json::String(v.to_string())).unwrap_or(Json::Null),
        "effective_to": n.effective_to.map(|v| Json::String(v.to_string())).unwrap_or(Json::Null),
        "name": n.name,
        "description": opt(&n.description),
        "value": if n.secure { Json::Null } else { opt(&n.value) },
        "secure_value": if n.secure { Json::String(MASK.into()) } else { Json::Null },
        "system_folder": flag(n.system_folder),
        "linked_to": n.linked_to.map(|v| Json::String(v.to_string())).unwrap_or(Json::Null),
        "conflict": flag(n.conflict),
        "conflict_type": opt(&n.conflict_type),
    })
}

/// A deployable record (`sn_cdm_deployable`).
pub fn deployable_record(r: &Row, base: &str) -> Json {
    json!({
        "cmdb_ci": reference(base, "cmdb_ci_service_auto", r.text("cmdb_ci")),
        "cdi_count": r.int("cdi_count").unwrap_or(0).to_string(),
        "snapshot_version_counter": r.int("snapshot_version_counter").unwrap_or(0).to_string(),
        "description": r.text("description"),
        "sys_updated_on": r.string("sys_updated_on"),
        "environment_type": r.string("environment_type"),
        "node": reference(base, "sn_cdm_node", r.text("node")),
        "sys_id": r.string("sys_id"),
        "sys_updated_by": r.string("sys_updated_by"),
        "cdm_app": reference(base, "sn_cdm_application", r.text("cdm_app")),
        "sys_created_on": r.string("sys_created_on"),
        "cdi_usage": r.text("cdi_usage").unwrap_or_else(|| "0".into()),
        "name": r.string("name"),
        "state": r.string("state"),
        "sys_created_by": r.string("sys_created_by"),
    })
}

pub const DEPLOYABLE_COLUMNS: &str = "d.sys_id, d.name, d.description, d.cdm_app, d.cmdb_ci, d.node, d.main_id, \
     d.environment_type, d.cdi_count, d.cdi_usage, d.snapshot_version_counter, d.state, d.sys_created_on, \
     d.sys_created_by, d.sys_updated_on, d.sys_updated_by";

fn opt(v: &Option<String>) -> Json {
    v.clone().map(Json::String).unwrap_or(Json::Null)
}

/// Names of a node's path below the application root.
pub fn path_names(tree: &Tree, main_id: i64) -> String {
    tree.path_of(main_id)
}
