//! Reference data of the ServiceDesk-style family (stages, statuses,
//! priorities, ...): referred to by `{"id": ...}` or by `{"name": ...}`,
//! names matching case-insensitively.

use std::collections::HashMap;

use serde_json::{json, Value as Json};

use crate::error::{Error, Result};
use crate::storage::{Db, Row, Tx, Value};

/// One reference record.
#[derive(Clone, Debug)]
pub struct Reference {
    pub kind: String,
    pub id: i64,
    pub name: String,
    pub internal_name: Option<String>,
    pub parent_id: Option<i64>,
    pub status_type: Option<String>,
    pub color: Option<String>,
    pub sort_index: Option<i64>,
    /// Release types: whether releases of the type need no approval.
    pub pre_approved: bool,
}

impl Reference {
    fn from_row(row: &Row) -> Reference {
        Reference {
            kind: row.string("kind"),
            id: row.int("id").unwrap_or(0),
            name: row.string("name"),
            internal_name: row.text("internal_name"),
            parent_id: row.int("parent_id"),
            status_type: row.text("status_type"),
            color: row.text("color"),
            sort_index: row.int("sort_index"),
            pre_approved: row.bool("pre_approved"),
        }
    }

    /// The reference as a release shows it: `{name, id}` plus what its kind
    /// carries (color, internal name, the status's stage and type).
    pub fn to_json(&self) -> Json {
        let mut out = json!({"name": self.name, "id": self.id.to_string()});
        if let Some(c) = &self.color {
            out["color"] = json!(c);
        }
        if let Some(i) = &self.internal_name {
            out["internal_name"] = json!(i);
        }
        if self.kind == "status" {
            out["status_type"] = json!(self.status_type);
            out["stage"] = json!({"id": self.parent_id.unwrap_or(0).to_string()});
        }
        match self.kind.as_str() {
            "group" => out["site"] = Json::Null,
            // A string in the release's stage, as the documents show it.
            "stage" => out["stage_index"] = json!(self.sort_index.unwrap_or(self.id).to_string()),
            "role" => {
                out["prominent"] = json!(true);
                out["user_type"] = json!(role_user_type(self.internal_name.as_deref()));
            }
            "release_type" => out["pre_approved"] = json!(self.pre_approved),
            // The configuration item of the service: Tollgate keeps no CMDB
            // behind the v3 services.
            "service" => out["ciid"] = Json::Null,
            _ => {}
        }
        out
    }
}

/// Which users may hold a release role, as the vendor names it: release
/// managers are SDRM users, engineers technicians (SGT), requesters anyone.
fn role_user_type(internal_name: Option<&str>) -> &'static str {
    match internal_name {
        Some("release_manager") => "SDRM",
        Some("release_engineer") => "SGT",
        _ => "ALL",
    }
}

/// The columns a reference record is read with.
pub const REFERENCE_COLUMNS: &str =
    "kind, id, name, internal_name, parent_id, status_type, color, sort_index, pre_approved";

/// Every reference record, by (kind, id) (a few dozen rows).
pub async fn all(db: &Db) -> Result<HashMap<(String, i64), Reference>> {
    let rows = db
        .fetch_all(
            &format!("SELECT {REFERENCE_COLUMNS} FROM sdp_reference"),
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(Reference::from_row)
        .map(|r| ((r.kind.clone(), r.id), r))
        .collect())
}

pub async fn list(db: &Db, kind: &str) -> Result<Vec<Reference>> {
    let rows = db
        .fetch_all(
            &format!("SELECT {REFERENCE_COLUMNS} FROM sdp_reference WHERE kind = $1 ORDER BY COALESCE(sort_index, id), id"),
            &[Value::from(kind)],
        )
        .await?;
    Ok(rows.iter().map(Reference::from_row).collect())
}

/// An id given as a string of digits or a number.
pub fn parse_id(field: &str, value: &Json) -> Result<i64> {
    match value {
        Json::String(s) => s
            .trim()
            .parse()
            .map_err(|_| Error::wrong_type(field, "a numeric id")),
        Json::Number(n) => n
            .as_i64()
            .ok_or_else(|| Error::wrong_type(field, "a numeric id")),
        _ => Err(Error::wrong_type(field, "a numeric id")),
    }
}

/// How a request names a record: by id, or by name (matched
/// case-insensitively).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum By {
    Id(i64),
    Name(String),
}

/// A record a request names, with the request's own words for it (the
/// JSON given, which "not found" messages quote).
#[derive(Clone, Debug)]
pub struct Named {
    pub by: By,
    pub given: String,
}

/// Parses `{"id": ...}` or `{"name": ...}` (the id wins when both are
/// given); `null` is `None`.
pub fn parse_named(field: &str, value: &Json) -> Result<Option<Named>> {
    let obj = match value {
        Json::Null => return Ok(None),
        Json::Object(o) => o,
        _ => return Err(Error::wrong_type(field, "an object with id or name")),
    };
    let by = match (
        obj.get("id").filter(|v| !v.is_null()),
        obj.get("name").filter(|v| !v.is_null()),
    ) {
        (Some(id), _) => By::Id(parse_id(&format!("{field}.id"), id)?),
        (None, Some(Json::String(name))) => By::Name(name.clone()),
        (None, Some(_)) => return Err(Error::wrong_type(&format!("{field}.name"), "a string")),
        (None, None) => return Err(Error::invalid(field, "give the id or the name")),
    };
    Ok(Some(Named {
        by,
        given: value.to_string(),
    }))
}

/// Finds the reference of `kind` a request names; `parent` restricts the
/// match (a status within its stage).
pub async fn lookup(
    tx: &mut Tx,
    kind: &str,
    field: &str,
    named: &Named,
    parent: Option<i64>,
) -> Result<Reference> {
    let parent_sql = if parent.is_some() {
        " AND parent_id = $3"
    } else {
        ""
    };
    let (sql, key) = match &named.by {
        By::Id(id) => (
            format!("SELECT {REFERENCE_COLUMNS} FROM sdp_reference WHERE kind = $1 AND id = $2{parent_sql}"),
            Value::Int(*id),
        ),
        By::Name(name) => (
            format!("SELECT {REFERENCE_COLUMNS} FROM sdp_reference WHERE kind = $1 AND LOWER(name) = LOWER($2){parent_sql} ORDER BY id"),
            Value::Text(name.clone()),
        ),
    };
    let mut args = vec![Value::from(kind), key];
    if let Some(p) = parent {
        args.push(Value::Int(p));
    }
    let found = tx.fetch_optional(&sql, &args).await?;
    let given = &named.given;
    match found {
        Some(row) => Ok(Reference::from_row(&row)),
        None => Err(Error::invalid(
            field,
            match parent {
                Some(_) => format!("no {kind} {given} in the given stage"),
                None => format!("no {kind} {given}"),
            },
        )),
    }
}

/// Resolves `{"id": ...}` or `{"name": ...}` to a reference of `kind`
/// ([`parse_named`], then [`lookup`]). `null` is `None`.
pub async fn resolve(
    tx: &mut Tx,
    kind: &str,
    field: &str,
    value: &Json,
    parent: Option<i64>,
) -> Result<Option<Reference>> {
    match parse_named(field, value)? {
        Some(named) => Ok(Some(lookup(tx, kind, field, &named, parent).await?)),
        None => Ok(None),
    }
}
