//! Approvals of ServiceDesk-style releases: levels per stage, each with
//! approvers and a rule (the percentage of approvers that must approve).
//! A level is Approved once enough approvers approved, Rejected once so many
//! rejected that the rule can no longer be met.

use chrono::Utc;
use serde_json::{json, Map, Value as Json};

use super::history;
use super::reference::{self, resolve};
use super::releases::{lock_release, release_not_found, resolve_user, time_json, View};
use crate::domain::records::next_number;
use crate::error::{Error, ErrorKind, Result};
use crate::identity::Caller;
use crate::storage::{Db, Row, Tx, Value};

async fn release_row(db: &Db, id: &str) -> Result<Row> {
    let n: i64 = id.parse().map_err(|_| release_not_found(id))?;
    db.fetch_optional(
        "SELECT id, stage_id, status_id FROM sdp_release WHERE id = $1",
        &[Value::Int(n)],
    )
    .await?
    .ok_or_else(|| release_not_found(id))
}

/// The percentage of a level's `rule` (`{"type": "percent", "value": 1..100}`), when given.
fn rule_percent(obj: &Map<String, Json>) -> Result<Option<i64>> {
    match obj.get("rule") {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Object(rule)) => {
            if rule
                .get("type")
                .and_then(Json::as_str)
                .is_some_and(|t| t != "percent")
            {
                return Err(Error::invalid(
                    "rule.type",
                    "only percent rules are supported",
                ));
            }
            let v = rule
                .get("value")
                .map(|v| super::reference::parse_id("rule.value", v))
                .transpose()?
                .unwrap_or(100);
            if !(1..=100).contains(&v) {
                return Err(Error::invalid(
                    "rule.value",
                    "must be a percentage from 1 to 100",
                ));
            }
            Ok(Some(v))
        }
        Some(_) => Err(Error::wrong_type("rule", "an object")),
    }
}

/// The release whose levels the caller changes (the whole release's edit
/// permission is needed).
async fn release_for_levels(db: &Db, release: &str, caller: &Caller) -> Result<Row> {
    let row = release_row(db, release).await?;
    super::permissions::of(db, row.int("id").unwrap_or(0), caller)
        .await?
        .require_whole()?;
    Ok(row)
}

fn level_input(input: &Map<String, Json>) -> Result<&Map<String, Json>> {
    match input.get("approval_level") {
        Some(Json::Object(o)) => Ok(o),
        Some(_) => Err(Error::wrong_type("approval_level", "an object")),
        None => Err(Error::missing("approval_level")),
    }
}

/// The distinct v3 users a level's `approvers` name, when given (an empty
/// list is refused).
async fn approvers(tx: &mut Tx, obj: &Map<String, Json>) -> Result<Option<Vec<i64>>> {
    let Some(list) = obj.get("approvers") else {
        return Ok(None);
    };
    let list = list
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| Error::missing("approvers"))?;
    let mut users = Vec::new();
    for (i, a) in list.iter().enumerate() {
        let u = resolve_user(tx, &format!("approvers[{i}]"), a).await?;
        if !users.contains(&u) {
            users.push(u);
        }
    }
    Ok(Some(users))
}

async fn insert_approvers(tx: &mut Tx, level_id: i64, users: &[i64]) -> Result<()> {
    for u in users {
        let aid = next_number(tx, "sdp_approver").await?;
        tx.execute(
            "INSERT INTO sdp_approver (id, level_id, user_id, decision) VALUES ($1, $2, $3, 'pending')",
            &[Value::Int(aid), Value::Int(level_id), Value::Int(*u)],
        )
        .await?;
    }
    Ok(())
}

/// Adds an approval level from `{"approval_level": {"stage", "name", "rule": {"type": "percent", "value"}, "approvers": [...]}}`.
pub async fn add_level(
    db: &Db,
    release: &str,
    input: &Map<String, Json>,
    caller: &Caller,
) -> Result<i64> {
    let row = release_for_levels(db, release, caller).await?;
    let release_id = row.int("id").unwrap_or(0);
    let obj = level_input(input)?;
    let mut tx = db.begin().await?;
    // The next level number is read, then taken.
    lock_release(&mut tx, release_id).await?;
    let stage = match obj.get("stage") {
        Some(v) => resolve(&mut tx, "stage", "stage", v, None)
            .await?
            .map(|s| s.id),
        None => None,
    }
    .or(row.int("stage_id"))
    .unwrap_or(1);
    let percent = rule_percent(obj)?.unwrap_or(100);
    let users = approvers(&mut tx, obj)
        .await?
        .ok_or_else(|| Error::missing("approvers"))?;
    let level = tx
        .fetch_optional(
            "SELECT COALESCE(MAX(level), 0) AS m FROM sdp_approval_level WHERE release_id = $1 AND stage_id = $2",
            &[Value::Int(release_id), Value::Int(stage)],
        )
        .await?
        .and_then(|r| r.int("m"))
        .unwrap_or(0)
        + 1;
    let by = history::user_for(&mut tx, caller).await?;
    let id = next_number(&mut tx, "sdp_approval_level").await?;
    let name = obj
        .get("name")
        .and_then(Json::as_str)
        .unwrap_or("Default")
        .to_owned();
    tx.execute(
        "INSERT INTO sdp_approval_level (id, release_id, stage_id, level, name, rule_percent, status, created_by, created_on) \
         VALUES ($1, $2, $3, $4, $5, $6, 'Pending', $7, $8)",
        &[Value::Int(id), Value::Int(release_id), Value::Int(stage), Value::Int(level), Value::Text(name), Value::Int(percent), Value::Int(by), Value::Int(Utc::now().timestamp_millis())],
    )
    .await?;
    insert_approvers(&mut tx, id, &users).await?;
    history::record(
        &mut tx,
        release_id,
        by,
        "approval_level_add",
        "Approval level added",
        json!([]),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The level of a release named by `level`, which no approver has decided
/// on yet (a decided level is part of the release's record).
async fn undecided_level(tx: &mut Tx, release_id: i64, level: &str, what: &str) -> Result<i64> {
    let not_found =
        || Error::not_found(format!("No approval level {level}")).with_field("approval_level_id");
    let level_id: i64 = level.parse().map_err(|_| not_found())?;
    tx.fetch_optional(
        "SELECT id FROM sdp_approval_level WHERE id = $1 AND release_id = $2",
        &[Value::Int(level_id), Value::Int(release_id)],
    )
    .await?
    .ok_or_else(not_found)?;
    let decided = tx
        .fetch_optional(
            "SELECT COUNT(*) AS n FROM sdp_approver WHERE level_id = $1 AND decision <> 'pending'",
            &[Value::Int(level_id)],
        )
        .await?
        .and_then(|r| r.int("n"))
        .unwrap_or(0);
    if decided > 0 {
        return Err(Error::invalid(
            "approval_level_id",
            format!("approvers have decided on this level; it can no longer be {what}"),
        ));
    }
    Ok(level_id)
}

/// Changes a level's name, rule or approvers (`{"approval_level": {...}}`,
/// each optional) while no approver has decided on it.
pub async fn edit_level(
    db: &Db,
    release: &str,
    level: &str,
    input: &Map<String, Json>,
    caller: &Caller,
) -> Result<()> {
    let row = release_for_levels(db, release, caller).await?;
    let release_id = row.int("id").unwrap_or(0);
    let obj = level_input(input)?;
    let mut tx = db.begin().await?;
    lock_release(&mut tx, release_id).await?;
    let level_id = undecided_level(&mut tx, release_id, level, "changed").await?;
    match obj.get("name") {
        None => {}
        Some(Json::String(name)) if !name.trim().is_empty() => {
            tx.execute(
                "UPDATE sdp_approval_level SET name = $1 WHERE id = $2",
                &[Value::from(name.trim()), Value::Int(level_id)],
            )
            .await?;
        }
        Some(_) => return Err(Error::wrong_type("name", "a non-empty string")),
    }
    if let Some(percent) = rule_percent(obj)? {
        tx.execute(
            "UPDATE sdp_approval_level SET rule_percent = $1 WHERE id = $2",
            &[Value::Int(percent), Value::Int(level_id)],
        )
        .await?;
    }
    if let Some(users) = approvers(&mut tx, obj).await? {
        tx.execute(
            "DELETE FROM sdp_approver WHERE level_id = $1",
            &[Value::Int(level_id)],
        )
        .await?;
        insert_approvers(&mut tx, level_id, &users).await?;
    }
    let by = history::user_for(&mut tx, caller).await?;
    history::record(
        &mut tx,
        release_id,
        by,
        "approval_level_edit",
        "Approval level changed",
        json!([]),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes an approval level while no approver has decided on it (once one
/// has, the level is part of the release's record and stays).
pub async fn delete_level(db: &Db, release: &str, level: &str, caller: &Caller) -> Result<()> {
    let row = release_for_levels(db, release, caller).await?;
    let release_id = row.int("id").unwrap_or(0);
    let mut tx = db.begin().await?;
    lock_release(&mut tx, release_id).await?;
    let level_id = undecided_level(&mut tx, release_id, level, "deleted").await?;
    tx.execute(
        "DELETE FROM sdp_approver WHERE level_id = $1",
        &[Value::Int(level_id)],
    )
    .await?;
    tx.execute(
        "DELETE FROM sdp_approval_level WHERE id = $1",
        &[Value::Int(level_id)],
    )
    .await?;
    let by = history::user_for(&mut tx, caller).await?;
    history::record(
        &mut tx,
        release_id,
        by,
        "approval_level_delete",
        "Approval level deleted",
        json!([]),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Records the caller's decision (`approve` true or false) on a level; only
/// its approvers may decide, once, while it is pending.
pub async fn decide(
    db: &Db,
    release: &str,
    level: &str,
    approve: bool,
    comments: Option<String>,
    caller: &Caller,
) -> Result<()> {
    let row = release_row(db, release).await?;
    let release_id = row.int("id").unwrap_or(0);
    let level_id: i64 = level.parse().map_err(|_| {
        Error::not_found(format!("No approval level {level}")).with_field("approval_level_id")
    })?;
    let mut tx = db.begin().await?;
    // Two decisions on one level take turns: the second sees the first's
    // decision and the level status it led to.
    lock_release(&mut tx, release_id).await?;
    let lvl = tx
        .fetch_optional(
            "SELECT id, status, rule_percent FROM sdp_approval_level WHERE id = $1 AND release_id = $2",
            &[Value::Int(level_id), Value::Int(release_id)],
        )
        .await?
        .ok_or_else(|| Error::not_found(format!("No approval level {level}")).with_field("approval_level_id"))?;
    if lvl.string("status") != "Pending" {
        return Err(Error::invalid(
            "approval_level_id",
            "the level is decided already",
        ));
    }
    let me = history::user_for(&mut tx, caller).await?;
    let mine = tx
        .fetch_optional(
            "SELECT id, decision FROM sdp_approver WHERE level_id = $1 AND user_id = $2",
            &[Value::Int(level_id), Value::Int(me)],
        )
        .await?
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Forbidden,
                "Only an approver of this level can approve or reject it",
            )
            .with_field("approval_level_id")
        })?;
    if mine.string("decision") != "pending" {
        return Err(Error::invalid(
            "approval_level_id",
            "you have decided on this level already",
        ));
    }
    let now = Utc::now().timestamp_millis();
    tx.execute(
        "UPDATE sdp_approver SET decision = $1, decided_on = $2, comments = $3 WHERE id = $4",
        &[
            Value::from(if approve { "approved" } else { "rejected" }),
            Value::Int(now),
            Value::from(comments.clone()),
            Value::Int(mine.int("id").unwrap_or(0)),
        ],
    )
    .await?;
    let tally = tx
        .fetch_all("SELECT decision, COUNT(*) AS n FROM sdp_approver WHERE level_id = $1 GROUP BY decision", &[Value::Int(level_id)])
        .await?;
    let count = |d: &str| {
        tally
            .iter()
            .find(|r| r.string("decision") == d)
            .and_then(|r| r.int("n"))
            .unwrap_or(0)
    };
    let total = count("approved") + count("rejected") + count("pending");
    let needed = (lvl.int("rule_percent").unwrap_or(100) * total + 99) / 100;
    let status = level_status(count("approved"), count("rejected"), total, needed);
    if status != "Pending" {
        tx.execute(
            "UPDATE sdp_approval_level SET status = $1, action_taken_by = $2, action_taken_on = $3, comments = $4 WHERE id = $5",
            &[Value::from(status), Value::Int(me), Value::Int(now), Value::from(comments), Value::Int(level_id)],
        )
        .await?;
    }
    let (op, display) = if approve {
        ("approve", "Approval level approved")
    } else {
        ("reject", "Approval level rejected")
    };
    history::record(&mut tx, release_id, me, op, display, json!([])).await?;
    tx.commit().await?;
    Ok(())
}

/// A pending decision of the caller's: a level still Pending on which the
/// caller is an approver who has not decided.
#[derive(Clone, Debug)]
pub struct Waiting {
    pub release_id: i64,
    pub release_title: String,
    pub level_id: i64,
    pub level_name: String,
    pub stage_id: i64,
}

/// The levels waiting for `caller`'s decision, on `release` only when
/// given (the console shows them on Today and offers approve / reject on
/// the release's page; `decide` is still the rule).
pub async fn waiting_for(db: &Db, caller: &Caller, release: Option<i64>) -> Result<Vec<Waiting>> {
    let mut args = vec![Value::from(&caller.user_id)];
    let only = match release {
        Some(id) => {
            args.push(Value::Int(id));
            " AND l.release_id = $2"
        }
        None => "",
    };
    let rows = db
        .fetch_all(
            &format!(
                "SELECT l.id, l.name, l.stage_id, l.release_id, r.title \
                 FROM sdp_approver a JOIN sdp_user u ON u.id = a.user_id \
                 JOIN sdp_approval_level l ON l.id = a.level_id \
                 JOIN sdp_release r ON r.id = l.release_id \
                 WHERE u.sys_user = $1 AND a.decision = 'pending' AND l.status = 'Pending' \
                 AND r.deleted_time IS NULL{only} ORDER BY l.release_id, l.stage_id, l.level LIMIT 200"
            ),
            &args,
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Waiting {
            release_id: r.int("release_id").unwrap_or(0),
            release_title: r.string("title"),
            level_id: r.int("id").unwrap_or(0),
            level_name: r.string("name"),
            stage_id: r.int("stage_id").unwrap_or(0),
        })
        .collect())
}

/// A level's status from its decisions: Approved once `needed` approved,
/// Rejected once the rule can no longer be met.
pub fn level_status(approved: i64, rejected: i64, total: i64, needed: i64) -> &'static str {
    if approved >= needed {
        "Approved"
    } else if total - rejected < needed {
        "Rejected"
    } else {
        "Pending"
    }
}

fn user_json(r: &Row, prefix: &str) -> Json {
    match r.int(&format!("{prefix}_id")) {
        Some(id) => {
            let text = |column: &str| r.text(&format!("{prefix}_{column}"));
            json!({"email_id": text("email"), "phone": text("phone"), "name": r.string(&format!("{prefix}_name")),
                   "mobile": text("mobile"), "profile_pic": {"content-url": super::releases::DEFAULT_PROFILE_PIC},
                   "is_vipuser": r.bool(&format!("{prefix}_vip")), "id": id.to_string(), "department": text("department")})
        }
        None => Json::Null,
    }
}

/// The approval summary: every stage in order, what was decided in it, and
/// its levels.
pub async fn summary(db: &Db, release: &str) -> Result<Vec<Json>> {
    let row = release_row(db, release).await?;
    let release_id = row.int("id").unwrap_or(0);
    let view = View::load(db).await?;
    let stages = reference::list(db, "stage").await?;
    let current_index = stages
        .iter()
        .find(|s| Some(s.id) == row.int("stage_id"))
        .and_then(|s| s.sort_index)
        .unwrap_or(1);
    let levels = db
        .fetch_all(
            "SELECT l.*, c.id AS creator_id, c.name AS creator_name, c.email_id AS creator_email, \
                    c.phone AS creator_phone, c.mobile AS creator_mobile, c.is_vipuser AS creator_vip, \
                    c.department AS creator_department, \
                    a.id AS actor_id, a.name AS actor_name, a.email_id AS actor_email, \
                    a.phone AS actor_phone, a.mobile AS actor_mobile, a.is_vipuser AS actor_vip, \
                    a.department AS actor_department \
             FROM sdp_approval_level l JOIN sdp_user c ON c.id = l.created_by LEFT JOIN sdp_user a ON a.id = l.action_taken_by \
             WHERE l.release_id = $1 ORDER BY l.stage_id, l.level",
            &[Value::Int(release_id)],
        )
        .await?;
    let all_stages = db
        .fetch_all(
            "SELECT id, description FROM sdp_reference WHERE kind = 'stage'",
            &[],
        )
        .await?;
    // The latest status comment of each stage: what the stage ended (or
    // stands) with, shown as the vendor's summary shows it.
    let comments = db
        .fetch_all(
            "SELECT stage_id, status_id, comment, commented_on FROM sdp_status_comment \
             WHERE release_id = $1 ORDER BY id",
            &[Value::Int(release_id)],
        )
        .await?;
    let mut out = Vec::new();
    for stage in &stages {
        let index = stage.sort_index.unwrap_or(stage.id);
        let mut stage_json = view.reference("stage", Some(stage.id));
        stage_json["stage_index"] = json!(index);
        stage_json["description"] = json!(all_stages
            .iter()
            .find(|r| r.int("id") == Some(stage.id))
            .and_then(|r| r.text("description")));
        let mine: Vec<&Row> = levels
            .iter()
            .filter(|l| l.int("stage_id") == Some(stage.id))
            .collect();
        let decision = if index > current_index {
            "upcoming"
        } else if mine.iter().any(|l| l.string("status") == "Rejected") {
            "reject"
        } else if mine.iter().any(|l| l.string("status") == "Pending") {
            "pending"
        } else if !mine.is_empty() {
            "approve"
        } else if index == current_index {
            "inProgress"
        } else {
            "completed"
        };
        let mut entry = json!({"latestDecision": decision, "stage": stage_json, "visited": index <= current_index});
        if !mine.is_empty() {
            let lv: Vec<Json> = mine
                .iter()
                .map(|l| {
                    let status_id = match l.string("status").as_str() {
                        "Approved" => "2",
                        "Rejected" => "3",
                        _ => "1",
                    };
                    json!({
                        "comments": l.text("comments"),
                        "level": l.int("level").unwrap_or(1),
                        "associated_entity": "release",
                        "action_taken_by": user_json(l, "actor"),
                        "rule": {"type": "percent", "value": l.int("rule_percent").unwrap_or(100).to_string()},
                        "created_by": user_json(l, "creator"),
                        "deleted": false,
                        "stage": stage.id.to_string(),
                        "created_on": time_json(l.int("created_on")),
                        "name": l.string("name"),
                        "id": l.int("id").unwrap_or(0).to_string(),
                        "is_current": l.string("status") == "Pending",
                        "status": {"name": l.string("status"), "id": status_id},
                        "action_taken_on": time_json(l.int("action_taken_on")),
                    })
                })
                .collect();
            entry["approval_levels"] = Json::Array(lv);
            if index == current_index {
                entry["status"] = view.reference("status", row.int("status_id"));
            }
        }
        if let Some(c) = comments
            .iter()
            .rev()
            .find(|c| c.int("stage_id") == Some(stage.id))
        {
            entry["comments"] = json!(c.text("comment"));
            // A number here, as the vendor's summary has it (elsewhere
            // times are display_value/value objects).
            entry["commented_on"] = json!(c.int("commented_on"));
            entry["status"] = if index == current_index {
                view.reference("status", row.int("status_id"))
            } else {
                view.reference("status", c.int("status_id"))
            };
        }
        out.push(entry);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::level_status;

    #[test]
    fn a_level_is_decided_by_its_percentage_rule() {
        // 100 % of 2: both must approve; one rejection decides.
        assert_eq!(level_status(1, 0, 2, 2), "Pending");
        assert_eq!(level_status(2, 0, 2, 2), "Approved");
        assert_eq!(level_status(1, 1, 2, 2), "Rejected");
        // 50 % of 4 (2 needed): two rejections still leave two possible approvals.
        assert_eq!(level_status(0, 2, 4, 2), "Pending");
        assert_eq!(level_status(0, 3, 4, 2), "Rejected");
        assert_eq!(level_status(2, 2, 4, 2), "Approved");
    }
}
