//! A release's tasks, worklogs and notes, and the summary that counts them.

use chrono::Utc;
use serde_json::{json, Map, Value as Json};

use super::history;
use super::releases::time_json;
use crate::domain::records::next_number;
use crate::error::{Error, Result};
use crate::identity::Caller;
use crate::storage::{Db, Row, Value};

/// A kind of sub-record: path segment, singular and plural keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Task,
    Worklog,
    Note,
}

impl Kind {
    pub fn parse(path: &str) -> Option<Kind> {
        match path {
            "tasks" => Some(Kind::Task),
            "worklogs" => Some(Kind::Worklog),
            "notes" => Some(Kind::Note),
            _ => None,
        }
    }
    pub fn singular(self) -> &'static str {
        match self {
            Kind::Task => "task",
            Kind::Worklog => "worklog",
            Kind::Note => "note",
        }
    }
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Task => "tasks",
            Kind::Worklog => "worklogs",
            Kind::Note => "notes",
        }
    }
}

const TASK_STATUSES: &[&str] = &["Open", "In Progress", "Closed"];

fn text(obj: &Map<String, Json>, key: &str) -> Result<Option<String>> {
    match obj.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Error::wrong_type(key, "a string")),
    }
}

fn whole(obj: &Map<String, Json>, key: &str) -> Result<Option<i64>> {
    match obj.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Number(n)) => n
            .as_i64()
            .filter(|v| *v >= 0)
            .map(Some)
            .ok_or_else(|| Error::wrong_type(key, "a whole number")),
        Some(Json::String(s)) => s
            .parse::<i64>()
            .ok()
            .filter(|v| *v >= 0)
            .map(Some)
            .ok_or_else(|| Error::wrong_type(key, "a whole number")),
        Some(_) => Err(Error::wrong_type(key, "a whole number")),
    }
}

/// Adds a sub-record from `{"<singular>": {...}}`.
pub async fn add(
    db: &Db,
    release: &str,
    kind: Kind,
    input: &Map<String, Json>,
    caller: &Caller,
) -> Result<Json> {
    let release_id = super::releases::existing_release_id(db, release).await?;
    let obj = match input.get(kind.singular()) {
        Some(Json::Object(o)) => o,
        Some(_) => return Err(Error::wrong_type(kind.singular(), "an object")),
        None => return Err(Error::missing(kind.singular())),
    };
    let (title, description, status, hours, minutes, show) = match kind {
        Kind::Task => {
            let title = text(obj, "title")?
                .filter(|t| !t.trim().is_empty())
                .ok_or_else(|| Error::missing("title"))?;
            let status = match obj.get("status") {
                None | Some(Json::Null) => "Open".to_owned(),
                Some(v) => {
                    let name = v
                        .get("name")
                        .and_then(Json::as_str)
                        .or(v.as_str())
                        .ok_or_else(|| Error::wrong_type("status", "an object with name"))?;
                    TASK_STATUSES
                        .iter()
                        .find(|s| s.eq_ignore_ascii_case(name))
                        .map(|s| (*s).to_owned())
                        .ok_or_else(|| {
                            Error::invalid(
                                "status",
                                format!("{name:?} is not one of Open, In Progress, Closed"),
                            )
                        })?
                }
            };
            (
                Some(title),
                text(obj, "description")?,
                Some(status),
                None,
                None,
                false,
            )
        }
        Kind::Worklog => {
            let spent = obj
                .get("time_spent")
                .and_then(Json::as_object)
                .ok_or_else(|| Error::missing("time_spent"))?;
            let hours = whole(spent, "hours")?.unwrap_or(0);
            let minutes = whole(spent, "minutes")?.unwrap_or(0);
            if minutes >= 60 {
                return Err(Error::invalid("time_spent.minutes", "must be below 60"));
            }
            (
                None,
                text(obj, "description")?,
                None,
                Some(hours),
                Some(minutes),
                false,
            )
        }
        Kind::Note => {
            let description = text(obj, "description")?
                .filter(|d| !d.trim().is_empty())
                .ok_or_else(|| Error::missing("description"))?;
            let show = match obj.get("show_to_requester") {
                None | Some(Json::Null) => false,
                Some(v) => crate::domain::boolean::from_json(v)
                    .ok_or_else(|| Error::wrong_type("show_to_requester", "a boolean"))?,
            };
            (None, Some(description), None, None, None, show)
        }
    };
    let mut tx = db.begin().await?;
    let by = history::user_for(&mut tx, caller).await?;
    let id = next_number(&mut tx, &format!("sdp_release_{}", kind.singular())).await?;
    tx.execute(
        "INSERT INTO sdp_release_child (kind, id, release_id, title, description, status, hours, minutes, show_to_requester, created_by, created_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            Value::from(kind.singular()),
            Value::Int(id),
            Value::Int(release_id),
            Value::from(title),
            Value::from(description),
            Value::from(status),
            Value::from(hours),
            Value::from(minutes),
            Value::Bool(show),
            Value::Int(by),
            Value::Int(Utc::now().timestamp_millis()),
        ],
    )
    .await?;
    history::record(
        &mut tx,
        release_id,
        by,
        &format!("{}_add", kind.singular()),
        &format!("{} added", kind.singular()),
        json!([]),
    )
    .await?;
    tx.commit().await?;
    let row = db
        .fetch_optional(
            "SELECT * FROM sdp_release_child WHERE kind = $1 AND id = $2",
            &[Value::from(kind.singular()), Value::Int(id)],
        )
        .await?
        .ok_or_else(|| Error::internal("sub-record vanished"))?;
    Ok(render(kind, &row))
}

fn render(kind: Kind, r: &Row) -> Json {
    let mut out = json!({
        "id": r.int("id").unwrap_or(0).to_string(),
        "release": {"id": r.int("release_id").unwrap_or(0).to_string()},
        "created_time": time_json(r.int("created_time")),
        "description": r.text("description"),
    });
    match kind {
        Kind::Task => {
            out["title"] = json!(r.string("title"));
            out["status"] = json!({"name": r.string("status")});
        }
        Kind::Worklog => {
            out["time_spent"] = json!({"hours": r.int("hours").unwrap_or(0).to_string(), "minutes": r.int("minutes").unwrap_or(0).to_string()});
        }
        Kind::Note => out["show_to_requester"] = json!(r.bool("show_to_requester")),
    }
    out
}

pub async fn list(db: &Db, release: &str, kind: Kind) -> Result<Vec<Json>> {
    let release_id = super::releases::existing_release_id(db, release).await?;
    let rows = db
        .fetch_all(
            "SELECT * FROM sdp_release_child WHERE release_id = $1 AND kind = $2 ORDER BY id",
            &[Value::Int(release_id), Value::from(kind.singular())],
        )
        .await?;
    Ok(rows.iter().map(|r| render(kind, r)).collect())
}

/// The summary counts, from the sub-records and approval levels that exist.
/// Tollgate has no linked changes, projects or reminders yet: those count zero.
pub async fn summary(db: &Db, release: &str) -> Result<Json> {
    let release_id = super::releases::existing_release_id(db, release).await?;
    let rows = db
        .fetch_all(
            "SELECT kind, COUNT(*) AS n, SUM(CASE WHEN status = 'Closed' THEN 1 ELSE 0 END) AS closed \
             FROM sdp_release_child WHERE release_id = $1 GROUP BY kind",
            &[Value::Int(release_id)],
        )
        .await?;
    let count = |k: &str| {
        rows.iter()
            .find(|r| r.string("kind") == k)
            .and_then(|r| r.int("n"))
            .unwrap_or(0)
    };
    let closed = rows
        .iter()
        .find(|r| r.string("kind") == "task")
        .and_then(|r| r.int("closed"))
        .unwrap_or(0);
    let approvals = db
        .fetch_optional(
            "SELECT COUNT(*) AS n FROM sdp_approval_level WHERE release_id = $1",
            &[Value::Int(release_id)],
        )
        .await?
        .and_then(|r| r.int("n"))
        .unwrap_or(0);
    Ok(json!({
        "id": release_id.to_string(),
        "tasks": {"all": count("task"), "closed": closed},
        "worklogs": {"all": count("worklog")},
        "notes": {"all": count("note")},
        "approvals": {"all": approvals},
        "changes": {"all": 0},
        "projects": {"all": 0},
        "reminders": {"all": 0},
    }))
}
