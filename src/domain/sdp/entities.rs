//! The reference entities of the ServiceDesk-style family, managed through
//! `/api/v3/<entity>`: list, get, add, edit and delete, with names unique
//! within their kind and deletes refused while a release uses the record.

use serde_json::{json, Map, Value as Json};

use super::reference::{list as list_kind, parse_id, Reference};
use crate::domain::records::next_number;
use crate::error::{Error, ErrorKind, Result};
use crate::storage::{Db, Value};

/// One manageable entity: path segment, kind, singular and plural keys, the
/// release column that uses it, and the kind of its parent (if any).
pub struct Entity {
    pub path: &'static str,
    pub kind: &'static str,
    pub singular: &'static str,
    pub plural: &'static str,
    pub used_by: Option<&'static str>,
    pub parent: Option<&'static str>,
    pub editable: bool,
}

pub const ENTITIES: &[Entity] = &[
    Entity {
        path: "release_stages",
        kind: "stage",
        singular: "release_stage",
        plural: "release_stages",
        used_by: Some("stage_id"),
        parent: None,
        editable: false,
    },
    Entity {
        path: "release_statuses",
        kind: "status",
        singular: "release_status",
        plural: "release_statuses",
        used_by: Some("status_id"),
        parent: Some("stage"),
        editable: true,
    },
    Entity {
        path: "release_templates",
        kind: "template",
        singular: "release_template",
        plural: "release_templates",
        used_by: Some("template_id"),
        parent: None,
        editable: true,
    },
    Entity {
        path: "release_types",
        kind: "release_type",
        singular: "release_type",
        plural: "release_types",
        used_by: Some("release_type_id"),
        parent: None,
        editable: true,
    },
    Entity {
        path: "release_roles",
        kind: "role",
        singular: "release_role",
        plural: "release_roles",
        used_by: None,
        parent: None,
        editable: false,
    },
    Entity {
        path: "priorities",
        kind: "priority",
        singular: "priority",
        plural: "priorities",
        used_by: Some("priority_id"),
        parent: None,
        editable: true,
    },
    Entity {
        path: "urgencies",
        kind: "urgency",
        singular: "urgency",
        plural: "urgencies",
        used_by: Some("urgency_id"),
        parent: None,
        editable: true,
    },
    Entity {
        path: "impacts",
        kind: "impact",
        singular: "impact",
        plural: "impacts",
        used_by: Some("impact_id"),
        parent: None,
        editable: true,
    },
    Entity {
        path: "risks",
        kind: "risk",
        singular: "risk",
        plural: "risks",
        used_by: Some("risk_id"),
        parent: None,
        editable: true,
    },
    Entity {
        path: "categories",
        kind: "category",
        singular: "category",
        plural: "categories",
        used_by: Some("category_id"),
        parent: None,
        editable: true,
    },
    Entity {
        path: "subcategories",
        kind: "subcategory",
        singular: "subcategory",
        plural: "subcategories",
        used_by: Some("subcategory_id"),
        parent: Some("category"),
        editable: true,
    },
    Entity {
        path: "items",
        kind: "item",
        singular: "item",
        plural: "items",
        used_by: Some("item_id"),
        parent: Some("subcategory"),
        editable: true,
    },
    Entity {
        path: "groups",
        kind: "group",
        singular: "group",
        plural: "groups",
        used_by: Some("group_id"),
        parent: None,
        editable: true,
    },
    Entity {
        path: "sites",
        kind: "site",
        singular: "site",
        plural: "sites",
        used_by: Some("site_id"),
        parent: None,
        editable: true,
    },
    Entity {
        path: "services",
        kind: "service",
        singular: "service",
        plural: "services",
        used_by: None,
        parent: None,
        editable: true,
    },
    Entity {
        path: "assets",
        kind: "asset",
        singular: "asset",
        plural: "assets",
        used_by: None,
        parent: None,
        editable: true,
    },
];

pub fn entity(path: &str) -> Result<&'static Entity> {
    ENTITIES.iter().find(|e| e.path == path).ok_or_else(|| {
        Error::new(
            ErrorKind::NoSuchEndpoint,
            format!("No such resource: /api/v3/{path}"),
        )
    })
}

fn not_found(e: &Entity, id: &str) -> Error {
    Error::not_found(format!("No {} with id {id}", e.singular)).with_field("id")
}

pub fn to_json(r: &Reference) -> Json {
    let mut out = r.to_json();
    if let Some(i) = r.sort_index {
        out["stage_index"] = json!(i);
    }
    out
}

pub async fn list(db: &Db, e: &Entity) -> Result<Vec<Json>> {
    Ok(list_kind(db, e.kind).await?.iter().map(to_json).collect())
}

pub async fn get(db: &Db, e: &Entity, id: &str) -> Result<Json> {
    let id_num: i64 = id.parse().map_err(|_| not_found(e, id))?;
    list_kind(db, e.kind)
        .await?
        .iter()
        .find(|r| r.id == id_num)
        .map(to_json)
        .ok_or_else(|| not_found(e, id))
}

fn non_editable(e: &Entity) -> Error {
    Error::new(
        ErrorKind::ReadOnly,
        format!("{} records are fixed and cannot be changed", e.singular),
    )
    .with_field(e.singular)
}

/// Adds (`id` = None) or edits a record from `{"<singular>": {...}}`.
pub async fn save(db: &Db, e: &Entity, id: Option<&str>, input: &Map<String, Json>) -> Result<i64> {
    if !e.editable {
        return Err(non_editable(e));
    }
    let obj = match input.get(e.singular) {
        Some(Json::Object(o)) => o,
        Some(_) => return Err(Error::wrong_type(e.singular, "an object")),
        None => return Err(Error::missing(e.singular)),
    };
    let mut tx = db.begin().await?;
    let existing = match id {
        Some(id) => {
            let n: i64 = id.parse().map_err(|_| not_found(e, id))?;
            let row = tx
                .fetch_optional(
                    "SELECT id, name, parent_id FROM sdp_reference WHERE kind = $1 AND id = $2",
                    &[Value::from(e.kind), Value::Int(n)],
                )
                .await?
                .ok_or_else(|| not_found(e, id))?;
            Some(row)
        }
        None => None,
    };
    let name = match obj.get("name") {
        Some(Json::String(n)) if !n.trim().is_empty() => n.trim().to_owned(),
        Some(Json::String(_)) | None if existing.is_none() => return Err(Error::missing("name")),
        Some(Json::String(_)) => return Err(Error::missing("name")),
        None => existing
            .as_ref()
            .map(|r| r.string("name"))
            .unwrap_or_default(),
        Some(_) => return Err(Error::wrong_type("name", "a string")),
    };
    let parent = match (e.parent, obj.get(e.parent.unwrap_or(""))) {
        (Some(kind), Some(v)) => {
            let pid = v
                .get("id")
                .map(|i| parse_id(&format!("{kind}.id"), i))
                .transpose()?
                .ok_or_else(|| Error::missing(&format!("{kind}.id")))?;
            let ok = tx
                .fetch_optional(
                    "SELECT id FROM sdp_reference WHERE kind = $1 AND id = $2",
                    &[Value::from(kind), Value::Int(pid)],
                )
                .await?
                .is_some();
            if !ok {
                return Err(Error::invalid(kind, format!("no {kind} with id {pid}")));
            }
            Some(pid)
        }
        (Some(kind), None) => match &existing {
            Some(r) => r.int("parent_id"),
            None => return Err(Error::missing(kind)),
        },
        (None, _) => None,
    };
    let self_id = existing.as_ref().and_then(|r| r.int("id")).unwrap_or(-1);
    let clash = tx
        .fetch_optional(
            "SELECT id FROM sdp_reference WHERE kind = $1 AND LOWER(name) = LOWER($2) AND COALESCE(parent_id, -1) = $3 AND id <> $4",
            &[Value::from(e.kind), Value::Text(name.clone()), Value::Int(parent.unwrap_or(-1)), Value::Int(self_id)],
        )
        .await?;
    if clash.is_some() {
        return Err(Error::new(
            ErrorKind::NotUnique,
            format!("a {} named {name:?} exists already", e.singular),
        )
        .with_field("name"));
    }
    let color = obj.get("color").and_then(Json::as_str).map(str::to_owned);
    let pre_approved = match obj.get("pre_approved") {
        Some(_) if e.kind != "release_type" => {
            return Err(Error::invalid(
                "pre_approved",
                "only release types are pre-approved or not",
            ))
        }
        Some(Json::Bool(b)) => Some(*b),
        Some(_) => return Err(Error::wrong_type("pre_approved", "a boolean")),
        None => None,
    };
    let id = match existing {
        Some(row) => {
            let n = row.int("id").unwrap_or(0);
            tx.execute(
                "UPDATE sdp_reference SET name = $1, parent_id = $2, color = COALESCE($3, color), \
                 pre_approved = COALESCE($6, pre_approved) WHERE kind = $4 AND id = $5",
                &[
                    Value::Text(name),
                    Value::from(parent),
                    Value::from(color),
                    Value::from(e.kind),
                    Value::Int(n),
                    pre_approved.map(Value::Bool).unwrap_or(Value::NullBool),
                ],
            )
            .await?;
            n
        }
        None => {
            // Ids continue after the highest of the kind (the shipped ids stay
            // put); the counter keeps concurrent adds apart.
            let counter = format!("sdp_reference:{}", e.kind);
            tx.execute(
                "INSERT INTO tollgate_counter (name, value) \
                 SELECT $1, COALESCE(MAX(id), 0) FROM sdp_reference WHERE kind = $2 ON CONFLICT (name) DO NOTHING",
                &[Value::Text(counter.clone()), Value::from(e.kind)],
            )
            .await?;
            let n = next_number(&mut tx, &counter).await?;
            let status_type = obj
                .get("status_type")
                .and_then(Json::as_str)
                .map(str::to_owned);
            if e.kind == "status"
                && !matches!(
                    status_type.as_deref(),
                    Some("In Progress" | "Success" | "Failed")
                )
            {
                return Err(Error::invalid(
                    "status_type",
                    "must be In Progress, Success or Failed",
                ));
            }
            tx.execute(
                "INSERT INTO sdp_reference (kind, id, name, parent_id, color, status_type, pre_approved) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[Value::from(e.kind), Value::Int(n), Value::Text(name), Value::from(parent), Value::from(color), Value::from(status_type),
                  Value::Bool(pre_approved.unwrap_or(false))],
            )
            .await?;
            n
        }
    };
    tx.commit().await?;
    Ok(id)
}

/// Deletes a record no release uses (4005 otherwise).
pub async fn delete(db: &Db, e: &Entity, id: &str) -> Result<()> {
    if !e.editable {
        return Err(non_editable(e));
    }
    let n: i64 = id.parse().map_err(|_| not_found(e, id))?;
    let mut tx = db.begin().await?;
    if tx
        .fetch_optional(
            "SELECT id FROM sdp_reference WHERE kind = $1 AND id = $2",
            &[Value::from(e.kind), Value::Int(n)],
        )
        .await?
        .is_none()
    {
        return Err(not_found(e, id));
    }
    let used = match e.used_by {
        Some(column) => tx
            .fetch_optional(
                &format!("SELECT id FROM sdp_release WHERE {column} = $1 LIMIT 1"),
                &[Value::Int(n)],
            )
            .await?
            .is_some(),
        None => false,
    };
    let children = tx
        .fetch_optional(
            "SELECT id FROM sdp_reference WHERE parent_id = $1 AND kind <> $2 LIMIT 1",
            &[Value::Int(n), Value::from(e.kind)],
        )
        .await?
        .is_some()
        && matches!(e.kind, "category" | "subcategory");
    if used || children {
        return Err(Error::new(
            ErrorKind::InUse,
            format!("the {} is in use and cannot be deleted", e.singular),
        )
        .with_field("id"));
    }
    tx.execute(
        "DELETE FROM sdp_reference WHERE kind = $1 AND id = $2",
        &[Value::from(e.kind), Value::Int(n)],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
