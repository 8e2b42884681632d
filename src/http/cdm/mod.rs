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
use crate::http::extract::RoleSet;
use crate::identity::roles;
use crate::storage::Row;

/// `{"result": ...}`, the shape of every CDM answer.
pub fn result(value: Json) -> axum::response::Response {
    axum::response::IntoResponse::into_response(axum::Json(json!({ "result": value })))
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
