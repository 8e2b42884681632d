//! Users of the ServiceDesk-style family (requesters, engineers, approvers),
//! managed at `/api/v3/users`; a user a release refers to cannot be deleted.

use serde_json::{json, Map, Value as Json};

use crate::domain::records::next_number;
use crate::error::{Error, ErrorKind, Result};
use crate::storage::{Db, Row, Value};

fn not_found(id: &str) -> Error {
    Error::not_found(format!("No user with id {id}")).with_field("id")
}

fn render(r: &Row) -> Json {
    json!({
        "id": r.int("id").unwrap_or(0).to_string(),
        "name": r.string("name"),
        "email_id": r.text("email_id"),
        "phone": r.text("phone"),
        "mobile": r.text("mobile"),
        "department": r.text("department"),
        "is_vipuser": r.bool("is_vipuser"),
    })
}

pub async fn list(db: &Db) -> Result<Vec<Json>> {
    Ok(db
        .fetch_all("SELECT * FROM sdp_user ORDER BY id", &[])
        .await?
        .iter()
        .map(render)
        .collect())
}

pub async fn get(db: &Db, id: &str) -> Result<Json> {
    let n: i64 = id.parse().map_err(|_| not_found(id))?;
    let row = db
        .fetch_optional("SELECT * FROM sdp_user WHERE id = $1", &[Value::Int(n)])
        .await?
        .ok_or_else(|| not_found(id))?;
    Ok(render(&row))
}

fn opt_text(obj: &Map<String, Json>, key: &str) -> Result<Option<Value>> {
    match obj.get(key) {
        None => Ok(None),
        Some(Json::Null) => Ok(Some(Value::Null)),
        Some(Json::String(s)) => Ok(Some(Value::Text(s.clone()))),
        Some(_) => Err(Error::wrong_type(key, "a string")),
    }
}

/// Adds (`id` None) or edits a user from `{"user": {...}}`.
pub async fn save(db: &Db, id: Option<&str>, input: &Map<String, Json>) -> Result<i64> {
    let obj = match input.get("user") {
        Some(Json::Object(o)) => o,
        Some(_) => return Err(Error::wrong_type("user", "an object")),
        None => return Err(Error::missing("user")),
    };
    let mut tx = db.begin().await?;
    let existing = match id {
        Some(id) => {
            let n: i64 = id.parse().map_err(|_| not_found(id))?;
            tx.fetch_optional("SELECT id FROM sdp_user WHERE id = $1", &[Value::Int(n)])
                .await?
                .ok_or_else(|| not_found(id))?;
            Some(n)
        }
        None => None,
    };
    let mut columns: Vec<(&str, Value)> = Vec::new();
    match opt_text(obj, "name")? {
        Some(Value::Text(n)) if !n.trim().is_empty() => {
            let clash = tx
                .fetch_optional(
                    "SELECT id FROM sdp_user WHERE LOWER(name) = LOWER($1) AND id <> $2",
                    &[Value::Text(n.clone()), Value::Int(existing.unwrap_or(-1))],
                )
                .await?;
            if clash.is_some() {
                return Err(Error::new(
                    ErrorKind::NotUnique,
                    format!("a user named {n:?} exists already"),
                )
                .with_field("name"));
            }
            columns.push(("name", Value::Text(n.trim().to_owned())));
        }
        Some(_) => return Err(Error::missing("name")),
        None if existing.is_none() => return Err(Error::missing("name")),
        None => {}
    }
    for key in ["email_id", "phone", "mobile", "department"] {
        if let Some(v) = opt_text(obj, key)? {
            columns.push((key, v));
        }
    }
    if let Some(v) = obj.get("is_vipuser") {
        columns.push((
            "is_vipuser",
            Value::Bool(
                crate::domain::boolean::from_json(v)
                    .ok_or_else(|| Error::wrong_type("is_vipuser", "a boolean"))?,
            ),
        ));
    }
    let id = match existing {
        Some(n) => {
            if !columns.is_empty() {
                let mut args = Vec::new();
                let sets: Vec<String> = columns
                    .into_iter()
                    .map(|(c, v)| {
                        args.push(v);
                        format!("{c} = ${}", args.len())
                    })
                    .collect();
                args.push(Value::Int(n));
                tx.execute(
                    &format!(
                        "UPDATE sdp_user SET {} WHERE id = ${}",
                        sets.join(", "),
                        args.len()
                    ),
                    &args,
                )
                .await?;
            }
            n
        }
        None => {
            let n = next_number(&mut tx, "sdp_user").await?;
            let mut names = vec!["id", "is_vipuser"];
            let mut args = vec![Value::Int(n), Value::Bool(false)];
            for (c, v) in columns {
                if c == "is_vipuser" {
                    args[1] = v;
                    continue;
                }
                names.push(c);
                args.push(v);
            }
            let ps: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
            tx.execute(
                &format!(
                    "INSERT INTO sdp_user ({}) VALUES ({})",
                    names.join(", "),
                    ps.join(", ")
                ),
                &args,
            )
            .await?;
            n
        }
    };
    tx.commit().await?;
    Ok(id)
}

/// Deletes a user no release refers to (4005 otherwise).
pub async fn delete(db: &Db, id: &str) -> Result<()> {
    let n: i64 = id.parse().map_err(|_| not_found(id))?;
    let mut tx = db.begin().await?;
    tx.fetch_optional("SELECT id FROM sdp_user WHERE id = $1", &[Value::Int(n)])
        .await?
        .ok_or_else(|| not_found(id))?;
    for (table, column) in [
        ("sdp_release_role", "user_id"),
        ("sdp_approver", "user_id"),
        ("sdp_release_history", "by_user"),
        ("sdp_status_comment", "commented_by"),
        ("sdp_release_child", "created_by"),
        ("sdp_approval_level", "created_by"),
    ] {
        let used = tx
            .fetch_optional(
                &format!("SELECT 1 AS x FROM {table} WHERE {column} = $1 LIMIT 1"),
                &[Value::Int(n)],
            )
            .await?
            .is_some();
        if used {
            return Err(Error::new(
                ErrorKind::InUse,
                "the user is referred to by releases and cannot be deleted",
            )
            .with_field("id"));
        }
    }
    tx.execute("DELETE FROM sdp_user WHERE id = $1", &[Value::Int(n)])
        .await?;
    tx.commit().await?;
    Ok(())
}
