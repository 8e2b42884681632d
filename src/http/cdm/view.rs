//! The answer shapes of the CDM endpoints: `{"result": ...}`, records with
//! their references (through [`crate::http::view`]), nodes, request status,
//! and `returnFields`.

use serde_json::{json, Value as Json};

use crate::domain::cdm::changesets::Activity;
use crate::domain::cdm::deployables::Deployable;
use crate::domain::cdm::mappings::PolicyMapping;
use crate::domain::cdm::tree::Node;
use crate::domain::cdm::{encode_main_id, node_type, MASK};
use crate::http::view::{opt_reference, reference};
use crate::storage::Row;

/// `{"result": ...}`, the shape of every CDM answer.
pub fn result(value: Json) -> axum::response::Response {
    axum::response::IntoResponse::into_response(axum::Json(json!({ "result": value })))
}

/// Keeps only the named keys of each object (`returnFields`).
pub fn only_fields(value: Json, fields: Option<&str>) -> Json {
    let Some(fields) = fields.map(str::trim).filter(|f| !f.is_empty()) else {
        return value;
    };
    let names: Vec<String> = fields
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|f| f.trim().trim_matches(|c| c == '"' || c == '\'').to_owned())
        .filter(|f| !f.is_empty())
        .collect();
    let keep = |v: Json| match v {
        Json::Object(map) => {
            Json::Object(map.into_iter().filter(|(k, _)| names.contains(k)).collect())
        }
        other => other,
    };
    match value {
        Json::Array(items) => Json::Array(items.into_iter().map(keep).collect()),
        other => keep(other),
    }
}

fn opt(v: &Option<String>) -> Json {
    v.clone().map(Json::String).unwrap_or(Json::Null)
}

fn opt_int(v: Option<i64>) -> Json {
    v.map(|v| Json::String(v.to_string())).unwrap_or(Json::Null)
}

fn opt_ref(base: &str, table: &str, id: &Option<String>) -> Json {
    opt_reference(base, table, id.as_deref(), Json::Null)
}

/// A node as the editor endpoints answer it; `clear_secure` is a secure
/// value in clear, for a caller who asked and may see it.
pub fn editor_node(n: &Node, base: &str, clear_secure: Option<String>) -> Json {
    let (value, secure_value) = match (n.secure, clear_secure) {
        (true, Some(clear)) => (Json::String(clear), Json::String(MASK.into())),
        (true, None) => (Json::Null, Json::String(MASK.into())),
        (false, _) => (opt(&n.value), Json::Null),
    };
    json!({
        "changeset_id": opt_ref(base, "sn_cdm_changeset", &n.changeset_id),
        "node_path": n.node_path,
        "description": opt(&n.description),
        "sys_updated_on": n.sys_updated_on,
        "type": n.node_type,
        "sys_class_name": "sn_cdm_node",
        "sys_id": n.sys_id,
        "sys_updated_by": n.sys_updated_by,
        "previous_version": opt_ref(base, "sn_cdm_node", &n.previous_version),
        "sys_created_on": n.sys_created_on,
        "value": value,
        "effective_from": opt_int(n.effective_from),
        "linked_to": opt_int(n.linked_to),
        "sys_created_by": n.sys_created_by,
        "restricted_to": Json::Null,
        "level": n.level.to_string(),
        "conflict_type": opt(&n.conflict_type),
        "main_id": n.main_id.to_string(),
        "effective_to": opt_int(n.effective_to),
        "secure_value": secure_value,
        "node_classifier": opt(&n.classifier),
        "main_id_encoded": encode_main_id(n.main_id),
        "name": n.name,
        "position": opt_int(n.position),
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
        "main_id_encoded": encode_main_id(n.main_id),
        "node_path": n.node_path,
        "level": n.level,
        "status": n.status,
        "node_classifier": opt(&n.classifier),
        "position": opt_int(n.position),
        "restricted_to": Json::Null,
        "changeset_id": opt(&n.changeset_id),
        "previous_version": opt(&n.previous_version),
        "effective_from": opt_int(n.effective_from),
        "effective_to": opt_int(n.effective_to),
        "name": n.name,
        "description": opt(&n.description),
        "value": if n.secure { Json::Null } else { opt(&n.value) },
        "secure_value": if n.secure { Json::String(MASK.into()) } else { Json::Null },
        "system_folder": flag(n.system_folder),
        "linked_to": opt_int(n.linked_to),
        "conflict": flag(n.conflict),
        "conflict_type": opt(&n.conflict_type),
    })
}

/// A deployable record (`sn_cdm_deployable`), without its identifier.
pub fn deployable(d: &Deployable, base: &str) -> Json {
    json!({
        "cmdb_ci": opt_ref(base, "cmdb_ci_service_auto", &d.cmdb_ci),
        "cdi_count": d.cdi_count.to_string(),
        "snapshot_version_counter": d.snapshot_version_counter.to_string(),
        "description": d.description,
        "sys_updated_on": d.sys_updated_on,
        "environment_type": d.environment_type,
        "node": opt_ref(base, "sn_cdm_node", &d.node),
        "sys_id": d.sys_id,
        "sys_updated_by": d.sys_updated_by,
        "cdm_app": reference(base, "sn_cdm_application", &d.cdm_app),
        "sys_created_on": d.sys_created_on,
        "cdi_usage": d.cdi_usage.clone().unwrap_or_else(|| "0".into()),
        "name": d.name,
        "state": d.state,
        "sys_created_by": d.sys_created_by,
    })
}

/// A deployable record with its identifier (the update answer).
pub fn deployable_with_identifier(d: &Deployable, base: &str) -> Json {
    let mut record = deployable(d, base);
    record["identifier"] = opt(&d.identifier);
    record
}

/// A changeset as the list answers it: references as `{value, link}`, or
/// `""` when there is none.
pub fn changeset(row: &Row, base: &str) -> Json {
    let reference = |table: &str, id: Option<String>| {
        opt_reference(base, table, id.as_deref(), Json::String(String::new()))
    };
    json!({
        "description": row.text("description"),
        "cdm_application": reference("sn_cdm_application", row.text("cdm_application")),
        "sys_updated_on": row.string("sys_updated_on"),
        "title": row.string("title"),
        "number": row.string("number"),
        "sys_id": row.string("sys_id"),
        "sys_updated_by": row.string("sys_updated_by"),
        "committed_at": row.string("committed_at"),
        "sys_created_on": row.string("sys_created_on"),
        "committed_by": reference("sys_user", row.text("committed_by")),
        "state": row.string("state"),
        "auto_validate": row.bool("auto_validate"),
        "publish_option": row.string("publish_option"),
        "last_conflict_detection_time": row.string("last_conflict_detection_time"),
        "sys_created_by": row.string("sys_created_by"),
        "last_updated": row.string("last_updated"),
    })
}

fn state_label(status: &str) -> String {
    let mut c = status.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// One row of a changeset's activity.
pub fn activity(changeset_id: &str, a: &Activity) -> Json {
    let (v, previous) = (&a.version, &a.previous);
    let shown = |n: &Node| {
        if n.secure {
            Json::String(MASK.into())
        } else {
            opt(&n.value)
        }
    };
    let deleted = v.status == "deleted";
    let is_new = v.status == "new" || (v.previous_version.is_none() && v.status == "valid");
    json!({
        "sys_id": v.sys_id,
        "changeset_id": changeset_id,
        "new_value": if deleted { Json::Null } else { shown(v) },
        "new_state": state_label(&v.status),
        "new_name": v.name,
        "new_type": node_type::label(&v.node_type),
        "new_encrypted": v.secure,
        "updated_on": v.sys_updated_on,
        "updated_by": v.sys_updated_by,
        "resolution_method": "",
        "conflict": opt(&v.conflict_type),
        "path": a.path,
        "created_by": if is_new { Json::String(v.sys_created_by.clone()) } else { Json::Null },
        "created_on": if is_new { Json::String(v.sys_created_on.clone()) } else { Json::Null },
        "old_value": previous.as_ref().map(|p| if deleted { Json::Null } else { shown(p) }).unwrap_or(Json::Null),
        "old_state": previous.as_ref().map(|p| Json::String(state_label(&p.status))).unwrap_or(Json::Null),
        "old_name": previous.as_ref().map(|p| Json::String(p.name.clone())).unwrap_or(Json::Null),
        "old_type": previous.as_ref().map(|p| Json::String(node_type::label(&p.node_type))).unwrap_or(Json::Null),
        "old_encrypted": previous.as_ref().map(|p| p.secure).unwrap_or(false),
    })
}

/// The snapshot record as the snapshot endpoints answer it.
pub fn snapshot(row: &Row, base: &str) -> Json {
    json!({
        "changeset_id": reference(base, "sn_cdm_changeset", &row.string("changeset_id")),
        "cdm_deployable_id": reference(base, "sn_cdm_deployable", &row.string("cdm_deployable_id")),
        "cdm_application_id": reference(base, "sn_cdm_application", &row.string("cdm_application_id")),
        "description": row.text("description"),
        "published": row.bool("published"),
        "sys_updated_on": row.string("sys_updated_on"),
        "last_published": row.string("last_published"),
        "last_validated": row.string("last_validated"),
        "number": row.string("number"),
        "sys_id": row.string("sys_id"),
        "sys_updated_by": row.string("sys_updated_by"),
        "sys_created_on": row.string("sys_created_on"),
        "name": row.string("name"),
        "validation": row.string("validation"),
        "sys_created_by": row.string("sys_created_by"),
    })
}

/// A policy mapping as the create answer shows it.
pub fn mapping(m: &PolicyMapping, base: &str) -> Json {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    json!({
        "exception": "",
        "reason": "",
        "exception_allowed": text(&m.exception_allowed),
        "document": m.document,
        "input_status": text(&m.input_status),
        "description": m.description,
        "sys_updated_on": m.sys_updated_on,
        "sys_class_name": "sn_cdm_pace_policy_mapping",
        "sys_id": m.sys_id,
        "number": text(&m.number),
        "last_updated_by": reference(base, "sys_user", &text(&m.last_updated_by)),
        "sys_updated_by": m.sys_updated_by,
        "sys_created_on": m.sys_created_on,
        "document_ref": reference(base, "sn_cdm_deployable", &m.document_ref),
        "state": m.state,
        "sys_created_by": m.sys_created_by,
        "policy": reference(base, "sn_pace_policy", &m.policy),
    })
}

/// The answer of a status endpoint for a request id (`kind_key` names the
/// id field: `commit_id`, `upload_id`).
pub fn request_status(row: Option<&Row>, id: &str, kind_key: &str) -> Json {
    let Some(row) = row else {
        return json!({"state": "error", "errors": format!("Invalid requestId '{id}'"), kind_key: id});
    };
    let output = match (row.text("output"), row.text("errors")) {
        (Some(o), _) => serde_json::from_str(&o).unwrap_or(Json::String(o)),
        (None, Some(e)) => Json::String(e),
        (None, None) => Json::Null,
    };
    let mut out = json!({
        "type": row.string("type"),
        "state": row.string("state"),
        "output": output,
        "processing_state": row.string("processing_state"),
        kind_key: id,
    });
    if let Some(errors) = row.text("errors") {
        out["errors"] = Json::String(errors);
    }
    out
}

/// The answer for an export id that names no export.
pub fn unknown_export(id: &str) -> Json {
    json!({"request_id": id, "state": "error", "errors": format!("Invalid requestId '{id}'"), "export_id": id})
}

/// An export request's recorded output (`content` or `failed`).
pub fn export_output(row: &Row) -> Json {
    row.text("output")
        .and_then(|o| serde_json::from_str(&o).ok())
        .unwrap_or(Json::Null)
}

/// The export status answer.
pub fn export_status(row: &Row, id: &str) -> Json {
    let output = export_output(row);
    let mut out = json!({"state": row.string("state"), "export_id": id});
    if let Some(failed) = output.get("failed") {
        out["exporter_result"] = failed.clone();
    }
    if let Some(errors) = row.text("errors") {
        out["errors"] = Json::String(errors);
    }
    out
}

/// The shared components an application includes.
pub fn shared_components(rows: &[Row]) -> Json {
    Json::Array(
        rows.iter()
            .map(|r| {
                let version = r.int("version_counter").unwrap_or(1);
                let name = r.string("name");
                json!({
                    "name": name,
                    "description": r.string("description"),
                    "sharedLibraryName": r.string("library_name"),
                    "currentVersion": version.to_string(),
                    "currentVersionName": format!("{name}-v{version}.shc"),
                    "updateVersionName": Json::Null,
                })
            })
            .collect(),
    )
}

/// The applications that include a shared component, under its name.
pub fn component_applications(component: String, apps: &[Row]) -> Json {
    let list: Vec<Json> = apps
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
    out.insert(component, Json::Array(list));
    Json::Object(out)
}

/// A shared component record (the impacted-shared-components answer).
pub fn shared_component(r: &Row) -> Json {
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
}
