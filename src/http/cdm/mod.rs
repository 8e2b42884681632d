//! Configuration Data Management endpoints: `/api/sn_cdm[/{api_version}]/...`.
//! Parameters come in the query string (uploads carry their content in the
//! body); answers are `{"result": ...}`; every refusal is a 400 in the
//! ServiceNow envelope with the vendor's `Error: ...` messages.
//!
//! Handlers read the query into typed arguments, authorise, call one
//! command or query of `domain::cdm`, and shape the answer with [`view`].

pub mod applications;
pub mod changesets;
pub mod editor;
pub mod snapshots;
pub mod view;

use std::collections::HashMap;

use crate::domain::cdm::refusal;
use crate::error::Result;
use crate::http::endpoint::Endpoint;
use crate::http::extract::RoleSet;
use crate::identity::roles;

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

impl Query<'_> {
    /// `returnFields`, which limits the keys of the answer's records.
    pub fn return_fields(&self) -> Option<String> {
        self.opt("returnFields")
    }
}
