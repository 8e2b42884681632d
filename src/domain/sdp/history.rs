//! The history of ServiceDesk-style releases: every operation, who did it,
//! when, and what it changed.

use chrono::Utc;
use serde_json::{json, Value as Json};

use crate::domain::records::next_number;
use crate::error::Result;
use crate::identity::Caller;
use crate::storage::{Db, Row, Tx, Value};

/// The v3 user that stands for a Tollgate caller (made on first use).
pub async fn user_for(tx: &mut Tx, caller: &Caller) -> Result<i64> {
    let find = "SELECT id FROM sdp_user WHERE sys_user = $1";
    let args = [Value::from(&caller.user_id)];
    if let Some(row) = tx.fetch_optional(find, &args).await? {
        return Ok(row.int("id").unwrap_or(0));
    }
    // Made on first use: two first requests of one caller take turns on
    // the caller's sys_user row, and the second finds what the first made.
    tx.lock("sys_user", &caller.user_id).await?;
    if let Some(row) = tx.fetch_optional(find, &args).await? {
        return Ok(row.int("id").unwrap_or(0));
    }
    let id = next_number(tx, "sdp_user").await?;
    tx.execute(
        "INSERT INTO sdp_user (id, name, is_vipuser, sys_user) VALUES ($1, $2, $3, $4)",
        &[
            Value::Int(id),
            Value::from(&caller.user_name),
            Value::Bool(false),
            Value::from(&caller.user_id),
        ],
    )
    .await?;
    Ok(id)
}

/// Records one operation on a release.
pub async fn record(
    tx: &mut Tx,
    release: i64,
    by: i64,
    operation: &str,
    display_name: &str,
    diff: Json,
) -> Result<()> {
    let id = next_number(tx, "sdp_release_history").await?;
    tx.execute(
        "INSERT INTO sdp_release_history (id, release_id, operation, display_name, by_user, time, description, diff) \
         VALUES ($1, $2, $3, $4, $5, $6, '', $7)",
        &[
            Value::Int(id),
            Value::Int(release),
            Value::from(operation),
            Value::from(display_name),
            Value::Int(by),
            Value::Int(Utc::now().timestamp_millis()),
            Value::Text(diff.to_string()),
        ],
    )
    .await?;
    Ok(())
}

/// The operation's name as the vendor's history shows it: a creation is
/// `add` (earlier versions of Tollgate stored it as `create`).
fn operation_name(stored: &str) -> &str {
    match stored {
        "create" => "add",
        other => other,
    }
}

fn entry(row: &Row) -> Json {
    let time = super::releases::time_json(row.int("time"));
    let mut time = time;
    if let Some(display) = time["display_value"].as_str().map(str::to_owned) {
        // "Jun 22, 2020 10:06 AM": the date, then the time.
        if let Some((date, clock)) = display.rsplit_once(", ").and_then(|(md, rest)| {
            rest.split_once(' ')
                .map(|(y, t)| (format!("{md}, {y}"), t.to_owned()))
        }) {
            time["date"] = json!(date);
            time["time"] = json!(clock);
        }
    }
    json!({
        "release": {"id": row.int("release_id").unwrap_or(0).to_string(), "title": row.string("title")},
        "by": super::releases::user_from(row, "by_user"),
        "description": row.string("description"),
        "diff": serde_json::from_str::<Json>(&row.string("diff")).unwrap_or(json!([])),
        "id": row.int("id").unwrap_or(0).to_string(),
        "time": time,
        "operation": {"name": operation_name(&row.string("operation")), "display_name": row.string("display_name")},
    })
}

/// The release's history, newest first.
pub async fn history(db: &Db, release: i64) -> Result<Vec<Json>> {
    let rows = db
        .fetch_all(
            "SELECT h.*, r.title, u.name, u.email_id, u.phone, u.mobile, u.is_vipuser, u.department FROM sdp_release_history h \
             JOIN sdp_release r ON r.id = h.release_id JOIN sdp_user u ON u.id = h.by_user \
             WHERE h.release_id = $1 ORDER BY h.id DESC",
            &[Value::Int(release)],
        )
        .await?;
    Ok(rows.iter().map(entry).collect())
}
