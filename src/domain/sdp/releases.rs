//! ServiceDesk-style release records: add, get, edit and list, with their
//! references resolved by id or case-insensitive name, and the record shown
//! the way the v3 API shows it.

use std::collections::HashMap;

use chrono::{TimeZone, Utc};
use serde_json::{json, Map, Value as Json};

use super::change::{
    check_schedule, parse_user, stage_after, status_move, Purpose, ReleaseChange, Stage,
    StageOrder, StatusMove, FORBID_STAGE_BACK_PROPERTY,
};
use super::history;
use super::reference::{self, lookup, By, Named, Reference};
use crate::domain::records::next_number as next_id;
use crate::error::{Error, ErrorKind, Result};
use crate::identity::Caller;
use crate::storage::{Db, Row, Tx, Value};

/// Reference fields of a release: (request key, reference kind, column).
pub(super) const REFERENCES: &[(&str, &str, &str)] = &[
    ("template", "template", "template_id"),
    ("impact", "impact", "impact_id"),
    ("priority", "priority", "priority_id"),
    ("urgency", "urgency", "urgency_id"),
    ("risk", "risk", "risk_id"),
    ("category", "category", "category_id"),
    ("subcategory", "subcategory", "subcategory_id"),
    ("item", "item", "item_id"),
    ("release_type", "release_type", "release_type_id"),
    ("group", "group", "group_id"),
    ("site", "site", "site_id"),
];

/// Date-time fields: (request key, column).
pub(super) const TIMES: &[(&str, &str)] = &[
    ("scheduled_start_time", "scheduled_start"),
    ("scheduled_end_time", "scheduled_end"),
    ("next_review_on", "next_review_on"),
];

/// The position of a stage (its `stage_index`; stages are fixed, and their
/// ids follow their order).
fn stage_index(sort_index: Option<i64>, id: i64) -> i64 {
    sort_index.unwrap_or(id)
}

/// The descriptive sub-records: (key, display name, stage id).
pub(super) const DESCRIPTIVE: &[(&str, &str, i64)] = &[
    ("roll_out_plan", "Rollout Plan", 2),
    ("back_out_plan", "Backout Plan", 2),
    ("checklist", "CheckList", 2),
    ("impact_details", "Impact Details", 2),
    ("review_details", "Review Details", 8),
    ("close_details", "Close Details", 9),
];

/// Stores the descriptive sub-records a request sets (`{"description": ...}`).
async fn write_descriptive(
    tx: &mut Tx,
    release_id: i64,
    by: i64,
    change: &ReleaseChange,
) -> Result<()> {
    for (key, description) in &change.descriptive {
        tx.execute(
            "DELETE FROM sdp_release_descriptive WHERE release_id = $1 AND field = $2",
            &[Value::Int(release_id), Value::from(*key)],
        )
        .await?;
        tx.execute(
            "INSERT INTO sdp_release_descriptive (release_id, field, description, updated_by, updated_on) VALUES ($1, $2, $3, $4, $5)",
            &[Value::Int(release_id), Value::from(*key), Value::from(description.clone()), Value::Int(by), Value::Int(Utc::now().timestamp_millis())],
        )
        .await?;
    }
    Ok(())
}

/// `{"display_value": "Jun 22, 2020 03:36 PM", "value": "1592820360370"}` (UTC).
pub fn time_json(ms: Option<i64>) -> Json {
    serde_json::to_value(TimeShown(ms)).unwrap_or(Json::Null)
}

/// A time as a release shows it: `{"display_value", "value"}` (epoch
/// milliseconds as a string), or null; written directly by lists.
struct TimeShown(Option<i64>);

impl serde::Serialize for TimeShown {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self.0.and_then(|ms| Utc.timestamp_millis_opt(ms).single()) {
            Some(t) => {
                let mut map = s.serialize_map(Some(2))?;
                map.serialize_entry("display_value", &display_time(&t))?;
                map.serialize_entry("value", &t.timestamp_millis().to_string())?;
                map.end()
            }
            None => s.serialize_none(),
        }
    }
}

/// How the v3 documents show a time: `Jun 22, 2020 10:05 AM`.
const DISPLAY_FORMAT: &str = "%b %d, %Y %I:%M %p";

/// A time in [`DISPLAY_FORMAT`], written directly: chrono parses the format
/// string on every call, and a list shows a dozen times per release.
fn display_time(t: &chrono::DateTime<Utc>) -> String {
    use chrono::{Datelike, Timelike};
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    if !(0..=9999).contains(&t.year()) {
        return t.format(DISPLAY_FORMAT).to_string();
    }
    let (pm, hour) = t.hour12();
    format!(
        "{} {:02}, {:04} {:02}:{:02} {}",
        MONTHS[t.month0() as usize],
        t.day(),
        t.year(),
        hour,
        t.minute(),
        if pm { "PM" } else { "AM" }
    )
}

pub(crate) fn release_not_found(id: &str) -> Error {
    Error::not_found(format!("No release with id {id}")).with_field("release_id")
}

/// The numeric id of an existing release (in the trash or not), or 4007.
pub(crate) async fn existing_release_id(db: &Db, id: &str) -> Result<i64> {
    let release_id: i64 = id.trim().parse().map_err(|_| release_not_found(id))?;
    db.fetch_optional(
        "SELECT id FROM sdp_release WHERE id = $1",
        &[Value::Int(release_id)],
    )
    .await?
    .ok_or_else(|| release_not_found(id))?;
    Ok(release_id)
}

/// The columns a request sets, with stage/status/roles resolved.
struct Changes {
    columns: Vec<(&'static str, Value)>,
    roles: Option<Vec<(i64, i64)>>,
}

pub(crate) async fn resolve_user(tx: &mut Tx, field: &str, value: &Json) -> Result<i64> {
    lookup_user(tx, field, &parse_user(field, value)?).await
}

/// The id of the user a request names.
async fn lookup_user(tx: &mut Tx, field: &str, user: &Named) -> Result<i64> {
    let row = match &user.by {
        By::Id(id) => {
            tx.fetch_optional("SELECT id FROM sdp_user WHERE id = $1", &[Value::Int(*id)])
                .await?
        }
        By::Name(name) => {
            tx.fetch_optional(
                "SELECT id FROM sdp_user WHERE LOWER(name) = LOWER($1) ORDER BY id",
                &[Value::from(name)],
            )
            .await?
        }
    };
    row.and_then(|r| r.int("id"))
        .ok_or_else(|| Error::invalid(field, format!("no user {}", user.given)))
}

/// Looks up what a parsed request names, against the stored release
/// (`current`, for edits), and turns it into column changes.
async fn changes(tx: &mut Tx, change: &ReleaseChange, current: Option<&Row>) -> Result<Changes> {
    let mut columns: Vec<(&'static str, Value)> = Vec::new();
    if let Some(title) = &change.title {
        columns.push(("title", Value::Text(title.clone())));
    }
    if let Some(description) = &change.description {
        columns.push(("description", Value::from(description.clone())));
    }
    if let Some(emergency) = change.emergency {
        columns.push(("emergency", Value::Bool(emergency)));
    }
    for r in &change.references {
        let id = match &r.named {
            Some(named) => {
                // Subcategory and item names repeat under different parents:
                // a name is looked for under the release's parent first.
                let parent_column = match r.key {
                    "subcategory" => Some("category_id"),
                    "item" => Some("subcategory_id"),
                    _ => None,
                };
                let parent =
                    parent_column.and_then(|p| match columns.iter().find(|(c, _)| *c == p) {
                        Some((_, Value::Int(id))) => Some(*id),
                        Some(_) => None,
                        None => current.and_then(|row| row.int(p)),
                    });
                let under_parent = match (&named.by, parent) {
                    (By::Name(_), Some(p)) => lookup(tx, r.kind, r.key, named, Some(p)).await.ok(),
                    _ => None,
                };
                match under_parent {
                    Some(found) => Some(found.id),
                    None => Some(lookup(tx, r.kind, r.key, named, None).await?.id),
                }
            }
            None => None,
        };
        columns.push((r.column, Value::from(id)));
    }
    check_classification(tx, change, &columns, current).await?;
    // The stage, then the status within it (names repeat across stages).
    let requested = match &change.stage {
        Some(named) => Some(lookup(tx, "stage", "stage", named, None).await?),
        None => None,
    };
    let order = match (current, &requested) {
        (Some(_), Some(_)) => StageOrder::from_property(
            tx.fetch_optional(
                "SELECT value FROM sys_properties WHERE name = $1",
                &[Value::from(FORBID_STAGE_BACK_PROPERTY)],
            )
            .await?
            .and_then(|r| r.text("value"))
            .as_deref(),
        ),
        _ => StageOrder::Free,
    };
    let stage_id = stage_after(
        current.and_then(|r| r.int("stage_id")).map(Stage::of_id),
        requested.as_ref().map(|s| Stage {
            id: s.id,
            index: stage_index(s.sort_index, s.id),
        }),
        order,
    )?;
    let purpose = match current {
        Some(_) => Purpose::Edit,
        None => Purpose::Add,
    };
    let status_id = match status_move(change.status.is_some(), requested.is_some(), purpose) {
        StatusMove::Named => match &change.status {
            Some(named) => Some(lookup(tx, "status", "status", named, Some(stage_id)).await?.id),
            None => None,
        },
        StatusMove::StageStart => Some(
            tx.fetch_optional(
                "SELECT id FROM sdp_reference WHERE kind = 'status' AND parent_id = $1 ORDER BY id LIMIT 1",
                &[Value::Int(stage_id)],
            )
            .await?
            .and_then(|r| r.int("id"))
            .ok_or_else(|| Error::internal("a stage without statuses"))?,
        ),
        StatusMove::Unchanged => None,
    };
    if let Some(status_id) = status_id {
        columns.push(("stage_id", Value::Int(stage_id)));
        columns.push(("status_id", Value::Int(status_id)));
    }
    for (_, column, value) in &change.times {
        columns.push((column, Value::from(*value)));
    }
    let stored = |column: &str| current.and_then(|r| r.int(column));
    check_schedule(
        change
            .time("scheduled_start")
            .unwrap_or_else(|| stored("scheduled_start")),
        change
            .time("scheduled_end")
            .unwrap_or_else(|| stored("scheduled_end")),
    )?;
    for (column, kind, given) in [
        ("services", "service", &change.services),
        ("assets", "asset", &change.assets),
    ] {
        if let Some(items) = given {
            let mut ids = Vec::new();
            for (field, named) in items {
                ids.push(lookup(tx, kind, field, named, None).await?.id.to_string());
            }
            columns.push((column, Value::Text(ids.join(","))));
        }
    }
    let roles = match &change.roles {
        Some(holders) => {
            let mut out = Vec::new();
            for holder in holders {
                let role_field = format!("{}.role", holder.field);
                let role = lookup(tx, "role", &role_field, &holder.role, None).await?;
                let user_field = format!("{}.user", holder.field);
                let user = lookup_user(tx, &user_field, &holder.user).await?;
                out.push((role.id, user));
            }
            Some(out)
        }
        None => None,
    };
    Ok(Changes { columns, roles })
}

/// A subcategory belongs to the release's category, an item to its
/// subcategory (4001 naming the child otherwise), checked whenever a request
/// sets one of the three, against what the release keeps of the others.
async fn check_classification(
    tx: &mut Tx,
    change: &ReleaseChange,
    columns: &[(&'static str, Value)],
    current: Option<&Row>,
) -> Result<()> {
    let touched = change
        .references
        .iter()
        .any(|r| matches!(r.key, "category" | "subcategory" | "item"));
    if !touched {
        return Ok(());
    }
    let effective = |column: &str| match columns.iter().find(|(c, _)| *c == column) {
        Some((_, Value::Int(id))) => Some(*id),
        Some(_) => None,
        None => current.and_then(|r| r.int(column)),
    };
    for (child, child_kind, column, parent_column, parent_kind) in [
        (
            "subcategory",
            "subcategory",
            "subcategory_id",
            "category_id",
            "category",
        ),
        ("item", "item", "item_id", "subcategory_id", "subcategory"),
    ] {
        let Some(child_id) = effective(column) else {
            continue;
        };
        let parent = tx
            .fetch_optional(
                "SELECT parent_id, name FROM sdp_reference WHERE kind = $1 AND id = $2",
                &[Value::from(child_kind), Value::Int(child_id)],
            )
            .await?;
        let (belongs_to, name) = match &parent {
            Some(row) => (row.int("parent_id"), row.string("name")),
            None => continue,
        };
        if belongs_to.is_some() && belongs_to != effective(parent_column) {
            return Err(Error::invalid(
                child,
                format!("the {child_kind} {name:?} does not belong to the release's {parent_kind}"),
            ));
        }
    }
    Ok(())
}

async fn write_roles(tx: &mut Tx, release: i64, roles: &[(i64, i64)]) -> Result<()> {
    tx.execute(
        "DELETE FROM sdp_release_role WHERE release_id = $1",
        &[Value::Int(release)],
    )
    .await?;
    for (role, user) in roles {
        let id = next_id(tx, "sdp_release_role").await?;
        tx.execute(
            "INSERT INTO sdp_release_role (id, release_id, role_id, user_id) VALUES ($1, $2, $3, $4)",
            &[Value::Int(id), Value::Int(release), Value::Int(*role), Value::Int(*user)],
        )
        .await?;
    }
    Ok(())
}

/// Records a status comment when the stage or status changed (every such
/// change has one; the request's `comment`, or a default text).
async fn note_status_change(
    tx: &mut Tx,
    release_id: i64,
    by: i64,
    before: Option<(i64, i64)>,
    comment: Option<&str>,
) -> Result<()> {
    let now = tx
        .fetch_optional(
            "SELECT stage_id, status_id FROM sdp_release WHERE id = $1",
            &[Value::Int(release_id)],
        )
        .await?
        .ok_or_else(|| Error::internal("release vanished"))?;
    let after = (
        now.int("stage_id").unwrap_or(0),
        now.int("status_id").unwrap_or(0),
    );
    if before == Some(after) {
        return Ok(());
    }
    let comment = match comment {
        Some(c) => c.to_owned(),
        None if before.is_none() => {
            "The above Stage/Status is set as part of 'Release' creation".to_owned()
        }
        None => "Stage/Status changed".to_owned(),
    };
    let id = next_id(tx, "sdp_status_comment").await?;
    tx.execute(
        "INSERT INTO sdp_status_comment (id, release_id, stage_id, status_id, comment, commented_by, commented_on) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            Value::Int(id),
            Value::Int(release_id),
            Value::Int(after.0),
            Value::Int(after.1),
            Value::Text(comment),
            Value::Int(by),
            Value::Int(Utc::now().timestamp_millis()),
        ],
    )
    .await?;
    Ok(())
}

/// The release's status comments, oldest first.
pub async fn status_comments(db: &Db, id: &str) -> Result<Vec<Json>> {
    let release_id: i64 = id.parse().map_err(|_| release_not_found(id))?;
    let release = db
        .fetch_optional(
            "SELECT id, title, description FROM sdp_release WHERE id = $1",
            &[Value::Int(release_id)],
        )
        .await?
        .ok_or_else(|| release_not_found(id))?;
    let view = View::load(db).await?;
    let rows = db
        .fetch_all(
            "SELECT c.*, u.name, u.email_id, u.phone, u.mobile, u.is_vipuser, u.department FROM sdp_status_comment c \
             JOIN sdp_user u ON u.id = c.commented_by WHERE c.release_id = $1 ORDER BY c.id",
            &[Value::Int(release_id)],
        )
        .await?;
    let short = release
        .text("description")
        .map(|d| strip_html(&d))
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| release.string("title"));
    Ok(rows
        .iter()
        .map(|c| {
            let mut stage = view.reference("stage", c.int("stage_id"));
            if let Some(r) = view.get("stage", c.int("stage_id").unwrap_or(0)) {
                stage["stage_index"] = json!(r.sort_index.unwrap_or(0));
            }
            json!({
                "commented_by": user_from(c, "commented_by"),
                "stage": stage,
                "release": {"short_description": short, "id": release_id.to_string(), "title": release.string("title")},
                "commented_on": time_json(c.int("commented_on")),
                "comment": c.string("comment"),
                "id": c.int("id").unwrap_or(0).to_string(),
                "status": view.reference("status", c.int("status_id")),
            })
        })
        .collect())
}

/// Adds a release; returns its id.
pub async fn add(
    db: &Db,
    input: &Map<String, Json>,
    caller: &Caller,
    max_items: usize,
) -> Result<i64> {
    let actor = caller.user_name.as_str();
    let change = ReleaseChange::parse(input, Purpose::Add, max_items)?;
    let mut tx = db.begin().await?;
    let Changes { columns, roles } = changes(&mut tx, &change, None).await?;
    let id = next_id(&mut tx, "sdp_release").await?;
    let mut names = vec!["id", "created_time", "created_by"];
    let mut args = vec![
        Value::Int(id),
        Value::Int(Utc::now().timestamp_millis()),
        Value::from(actor),
    ];
    for (c, v) in columns {
        names.push(c);
        args.push(v);
    }
    let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
    tx.execute(
        &format!(
            "INSERT INTO sdp_release ({}) VALUES ({})",
            names.join(", "),
            placeholders.join(", ")
        ),
        &args,
    )
    .await?;
    if let Some(roles) = roles {
        write_roles(&mut tx, id, &roles).await?;
    }
    let by = history::user_for(&mut tx, caller).await?;
    history::record(&mut tx, id, by, "add", "Release Created", json!([])).await?;
    write_descriptive(&mut tx, id, by, &change).await?;
    note_status_change(&mut tx, id, by, None, change.comment.as_deref()).await?;
    tx.commit().await?;
    Ok(id)
}

/// Parses a release id and reads the release in the transaction (4007 when
/// there is none), locked until it ends: edits check the stage they move
/// from, trash and restore the trash state (see `Tx::lock`).
async fn load_release(tx: &mut Tx, id: &str) -> Result<(i64, Row)> {
    let release_id: i64 = id.trim().parse().map_err(|_| release_not_found(id))?;
    lock_release(tx, release_id).await?;
    let row = tx
        .fetch_optional(
            "SELECT * FROM sdp_release WHERE id = $1",
            &[Value::Int(release_id)],
        )
        .await?
        .ok_or_else(|| release_not_found(id))?;
    Ok((release_id, row))
}

/// Edits the fields a request names; the history records what changed.
pub async fn edit(
    db: &Db,
    id: &str,
    input: &Map<String, Json>,
    caller: &Caller,
    max_items: usize,
) -> Result<i64> {
    let release_id: i64 = id.parse().map_err(|_| release_not_found(id))?;
    super::permissions::of(db, release_id, caller)
        .await?
        .require_edit()?;
    let change = ReleaseChange::parse(input, Purpose::Edit, max_items)?;
    let mut tx = db.begin().await?;
    let (_, current) = load_release(&mut tx, id).await?;
    let Changes { columns, roles } = changes(&mut tx, &change, Some(&current)).await?;
    let diff: Vec<Json> = columns
        .iter()
        .filter(|(c, v)| current.get(c).map(Value::to_display_string) != Some(v.to_display_string()))
        .map(|(c, v)| {
            let field = c.strip_suffix("_id").unwrap_or(c);
            json!({"field": {"name": field}, "previous_value": current.text(c), "current_value": if v.is_null() { Json::Null } else { json!(v.to_display_string()) }})
        })
        .collect();
    if !columns.is_empty() {
        let mut args = Vec::new();
        let sets: Vec<String> = columns
            .into_iter()
            .map(|(c, v)| {
                args.push(v);
                format!("{c} = ${}", args.len())
            })
            .collect();
        args.push(Value::Int(release_id));
        tx.execute(
            &format!(
                "UPDATE sdp_release SET {} WHERE id = ${}",
                sets.join(", "),
                args.len()
            ),
            &args,
        )
        .await?;
    }
    if let Some(roles) = roles {
        write_roles(&mut tx, release_id, &roles).await?;
    }
    let by = history::user_for(&mut tx, caller).await?;
    history::record(
        &mut tx,
        release_id,
        by,
        "update",
        "Release Updated",
        Json::Array(diff),
    )
    .await?;
    write_descriptive(&mut tx, release_id, by, &change).await?;
    let before = (
        current.int("stage_id").unwrap_or(0),
        current.int("status_id").unwrap_or(0),
    );
    note_status_change(
        &mut tx,
        release_id,
        by,
        Some(before),
        change.comment.as_deref(),
    )
    .await?;
    tx.commit().await?;
    Ok(release_id)
}

/// The outcome for each id of a bulk call (`ids=1,2,3`).
pub type Bulk = Vec<(String, Result<()>)>;

async fn trash_one(db: &Db, id: &str, caller: &Caller, to_trash: bool) -> Result<()> {
    let release_id: i64 = id.trim().parse().map_err(|_| release_not_found(id))?;
    super::permissions::of(db, release_id, caller)
        .await?
        .require_whole()?;
    let mut tx = db.begin().await?;
    let (_, row) = load_release(&mut tx, id).await?;
    let in_trash = row.int("deleted_time").is_some();
    if in_trash == to_trash {
        let problem = if to_trash {
            "the release is already in the trash"
        } else {
            "the release is not in the trash"
        };
        return Err(Error::invalid("ids", format!("{id}: {problem}")));
    }
    let (deleted, op, display) = if to_trash {
        (
            Value::Int(Utc::now().timestamp_millis()),
            "move_to_trash",
            "Release Deleted",
        )
    } else {
        (Value::NullInt, "restore_from_trash", "Release Restored")
    };
    tx.execute(
        "UPDATE sdp_release SET deleted_time = $1 WHERE id = $2",
        &[deleted, Value::Int(release_id)],
    )
    .await?;
    let by = history::user_for(&mut tx, caller).await?;
    history::record(&mut tx, release_id, by, op, display, json!([])).await?;
    tx.commit().await?;
    Ok(())
}

/// Moves releases to the trash (each id on its own).
pub async fn move_to_trash(db: &Db, ids: &[String], caller: &Caller) -> Bulk {
    let mut out = Vec::new();
    for id in ids {
        out.push((id.clone(), trash_one(db, id, caller, true).await));
    }
    out
}

/// Brings releases back from the trash (each id on its own).
pub async fn restore_from_trash(db: &Db, ids: &[String], caller: &Caller) -> Bulk {
    let mut out = Vec::new();
    for id in ids {
        out.push((id.clone(), trash_one(db, id, caller, false).await));
    }
    out
}

/// Deletes a release for good; only a release in the trash, and only by a
/// caller with whole-release rights (the same check as trash and restore:
/// deleting for good is the stronger of the three).
pub async fn delete_from_trash(db: &Db, id: &str, caller: &Caller) -> Result<()> {
    let release_id: i64 = id.trim().parse().map_err(|_| release_not_found(id))?;
    super::permissions::of(db, release_id, caller)
        .await?
        .require_whole()?;
    let mut tx = db.begin().await?;
    let (release_id, row) = load_release(&mut tx, id).await?;
    if row.int("deleted_time").is_none() {
        return Err(Error::invalid(
            "release_id",
            "only a release in the trash can be deleted for good; move it to the trash first",
        ));
    }
    for table in [
        "sdp_release_role",
        "sdp_release_history",
        "sdp_release_descriptive",
        "sdp_status_comment",
        "sdp_release_child",
    ] {
        tx.execute(
            &format!("DELETE FROM {table} WHERE release_id = $1"),
            &[Value::Int(release_id)],
        )
        .await?;
    }
    tx.execute(
        "DELETE FROM sdp_release WHERE id = $1",
        &[Value::Int(release_id)],
    )
    .await?;
    crate::domain::attachments::delete_of_release(&mut tx, release_id).await?;
    tx.commit().await?;
    Ok(())
}

/// The column a release row is read with for `notes_present`: how many
/// notes the release has (`SELECT *, {NOTES_COUNT} FROM sdp_release`).
pub(crate) const NOTES_COUNT: &str = "(SELECT COUNT(*) FROM sdp_release_child n \
     WHERE n.kind = 'note' AND n.release_id = sdp_release.id) AS notes_count";

/// Everything needed to show releases: reference data and users.
pub struct View {
    refs: References,
}

/// A piece of reference data and the JSON it is shown as, made once per load
/// rather than for every field of every release listed.
struct Known {
    reference: Reference,
    json: Json,
}

/// Reference data by kind, then id: looked up by `&str` without allocating.
type References = std::sync::Arc<HashMap<String, HashMap<i64, Known>>>;

/// The reference data's epoch (migration 26) as an SQL expression: moved by
/// every write to `sdp_reference` and by nothing else, so the cached
/// reference data outlives the writes that do not touch it.
pub const REFERENCE_EPOCH: &str =
    "(SELECT value FROM tollgate_state WHERE name = 'reference_epoch')";

/// Reference data changes rarely and is read on every answer: kept per
/// process while its epoch ([`REFERENCE_EPOCH`]) is unchanged.
/// By database instance: (reference epoch, references).
static REFERENCES_CACHE: std::sync::Mutex<Vec<(u64, i64, References)>> =
    std::sync::Mutex::new(Vec::new());

impl View {
    pub async fn load(db: &Db) -> Result<View> {
        let epoch = db
            .fetch_optional(&format!("SELECT {REFERENCE_EPOCH} AS value"), &[])
            .await?
            .and_then(|r| r.int("value"))
            .unwrap_or(0);
        View::load_at(db, epoch).await
    }

    /// [`View::load`] knowing the reference data's epoch
    /// ([`REFERENCE_EPOCH`]), read with the rows shown.
    pub async fn load_at(db: &Db, epoch: i64) -> Result<View> {
        let instance = db.instance();
        if let Some((_, _, refs)) = REFERENCES_CACHE
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(i, e, _)| *i == instance && *e == epoch)
        {
            return Ok(View { refs: refs.clone() });
        }
        let mut by_kind: HashMap<String, HashMap<i64, Known>> = HashMap::new();
        for ((kind, id), reference) in reference::all(db).await? {
            let json = reference.to_json();
            by_kind
                .entry(kind)
                .or_default()
                .insert(id, Known { reference, json });
        }
        let refs: References = std::sync::Arc::new(by_kind);
        let mut cache = REFERENCES_CACHE.lock().unwrap_or_else(|e| e.into_inner());
        cache.retain(|(i, _, _)| *i != instance);
        if cache.len() >= 64 {
            cache.remove(0);
        }
        cache.push((instance, epoch, refs.clone()));
        Ok(View { refs })
    }

    fn known(&self, kind: &str, id: i64) -> Option<&Known> {
        self.refs.get(kind)?.get(&id)
    }

    /// The reference data of `kind` with `id`, if there is such.
    fn get(&self, kind: &str, id: i64) -> Option<&Reference> {
        self.known(kind, id).map(|k| &k.reference)
    }

    pub fn reference(&self, kind: &str, id: Option<i64>) -> Json {
        id.and_then(|id| self.known(kind, id))
            .map(|k| k.json.clone())
            .unwrap_or(Json::Null)
    }

    /// The list view of a release (the fields the v3 list shows), as an
    /// object: what [`View::summary_of`] writes.
    pub fn summary(&self, r: &Row) -> Map<String, Json> {
        match serde_json::to_value(self.summary_of(r)) {
            Ok(Json::Object(fields)) => fields,
            // A map of string keys is always an object.
            _ => Map::new(),
        }
    }

    /// The list view of `row`, written straight from the row (a list
    /// answer needs no object of it first).
    pub fn summary_of<'a>(&'a self, row: &'a Row) -> SummaryOf<'a> {
        SummaryOf { view: self, row }
    }
}

/// Whether a release has notes: read with the release as `notes_count`
/// (see [`NOTES_COUNT`]).
fn notes_present(r: &Row) -> bool {
    r.int("notes_count").unwrap_or(0) > 0
}

/// What one field of a release's list view shows.
#[derive(Clone, Copy)]
enum Shown {
    Id,
    Title,
    Reference {
        kind: &'static str,
        column: &'static str,
    },
    Time(&'static str),
    Emergency,
    NotesPresent,
}

/// The list view's fields, in key order (the order serde_json's objects keep
/// their keys in, so an answer is the same written directly or built).
fn summary_fields() -> &'static [(&'static str, Shown)] {
    static FIELDS: std::sync::OnceLock<Vec<(&'static str, Shown)>> = std::sync::OnceLock::new();
    FIELDS.get_or_init(|| {
        let mut fields = vec![
            ("id", Shown::Id),
            ("title", Shown::Title),
            (
                "stage",
                Shown::Reference {
                    kind: "stage",
                    column: "stage_id",
                },
            ),
            (
                "status",
                Shown::Reference {
                    kind: "status",
                    column: "status_id",
                },
            ),
            ("created_time", Shown::Time("created_time")),
            ("completed_time", Shown::Time("completed_time")),
            ("deleted_time", Shown::Time("deleted_time")),
            ("emergency", Shown::Emergency),
            ("notes_present", Shown::NotesPresent),
        ];
        fields.extend(
            REFERENCES
                .iter()
                .map(|(key, kind, column)| (*key, Shown::Reference { kind, column })),
        );
        fields.extend(
            TIMES
                .iter()
                .map(|(key, column)| (*key, Shown::Time(column))),
        );
        fields.sort_by_key(|(key, _)| *key);
        fields
    })
}

/// A release's list view as written to an answer ([`View::summary_of`]).
pub struct SummaryOf<'a> {
    view: &'a View,
    row: &'a Row,
}

impl serde::Serialize for SummaryOf<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let (view, r) = (self.view, self.row);
        let fields = summary_fields();
        let mut map = s.serialize_map(Some(fields.len()))?;
        for (key, shown) in fields {
            match *shown {
                Shown::Id => map.serialize_entry(key, &r.int("id").unwrap_or(0).to_string())?,
                Shown::Title => map.serialize_entry(key, &r.string("title"))?,
                Shown::Reference { kind, column } => map.serialize_entry(
                    key,
                    &r.int(column)
                        .and_then(|id| view.known(kind, id))
                        .map(|k| &k.json),
                )?,
                Shown::Time(column) => map.serialize_entry(key, &TimeShown(r.int(column)))?,
                Shown::Emergency => map.serialize_entry(key, &r.bool("emergency"))?,
                Shown::NotesPresent => map.serialize_entry(key, &notes_present(r))?,
            }
        }
        map.end()
    }
}

/// The picture the vendor shows for a user without one (Tollgate keeps no
/// pictures).
pub(crate) const DEFAULT_PROFILE_PIC: &str = "/images/default-profile-pic2.svg";

/// The columns of `sdp_user` a user is shown with ([`user_from`]), for a
/// join on `sdp_user u`.
pub const USER_COLUMNS: &str = "u.name, u.email_id, u.phone, u.mobile, u.is_vipuser, u.department";

/// A v3 user as releases show it, from a row joined with `sdp_user` whose
/// user id is in `id_column` (the other columns: [`USER_COLUMNS`]).
pub(crate) fn user_from(row: &Row, id_column: &str) -> Json {
    json!({
        "email_id": row.text("email_id"),
        "phone": row.text("phone"),
        "name": row.string("name"),
        "mobile": row.text("mobile"),
        "profile_pic": {"content-url": DEFAULT_PROFILE_PIC},
        "is_vipuser": row.bool("is_vipuser"),
        "id": row.int(id_column).unwrap_or(0).to_string(),
        "department": row.text("department"),
    })
}

fn user_json(row: &Row) -> Json {
    user_from(row, "user_id")
}

/// One release, in full.
pub async fn get(db: &Db, id: &str) -> Result<Json> {
    let release_id: i64 = id.parse().map_err(|_| release_not_found(id))?;
    let row = db
        .fetch_optional(
            &format!("SELECT *, {NOTES_COUNT} FROM sdp_release WHERE id = $1"),
            &[Value::Int(release_id)],
        )
        .await?
        .ok_or_else(|| release_not_found(id))?;
    let view = View::load(db).await?;
    let mut out = view.summary(&row);
    let description = row.text("description");
    out.insert("description".into(), json!(description));
    out.insert(
        "short_description".into(),
        json!(description
            .as_deref()
            .map(strip_html)
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| row.string("title"))),
    );
    let services: Vec<Json> = row
        .string("services")
        .split(',')
        .filter_map(|s| s.parse::<i64>().ok())
        .map(|s| view.reference("service", Some(s)))
        .collect();
    out.insert("services".into(), Json::Array(services));
    let roles = db
        .fetch_all(
            "SELECT rr.id, rr.role_id, u.id AS user_id, u.name, u.email_id, u.phone, u.mobile, u.is_vipuser, u.department \
             FROM sdp_release_role rr JOIN sdp_user u ON u.id = rr.user_id WHERE rr.release_id = $1 ORDER BY rr.id",
            &[Value::Int(release_id)],
        )
        .await?;
    let mut role_json = Vec::new();
    for internal in ["release_requester", "release_engineer", "release_manager"] {
        let holder = roles.iter().find(|r| {
            view.get("role", r.int("role_id").unwrap_or(0))
                .and_then(|x| x.internal_name.as_deref())
                == Some(internal)
        });
        out.insert(internal.into(), holder.map(user_json).unwrap_or(Json::Null));
    }
    for r in &roles {
        role_json.push(json!({
            "role": view.reference("role", r.int("role_id")),
            "release": {"id": release_id.to_string(), "title": row.string("title")},
            "id": r.int("id").unwrap_or(0).to_string(),
            "user": user_json(r),
        }));
    }
    out.insert("roles".into(), Json::Array(role_json));
    let descriptive = db
        .fetch_all(
            "SELECT d.field, d.description, d.updated_on, u.id AS user_id, u.name, u.email_id, u.phone, u.mobile, u.is_vipuser, u.department \
             FROM sdp_release_descriptive d JOIN sdp_user u ON u.id = d.updated_by WHERE d.release_id = $1",
            &[Value::Int(release_id)],
        )
        .await?;
    for (n, (key, name, stage)) in DESCRIPTIVE.iter().enumerate() {
        let value = match descriptive.iter().find(|d| d.string("field") == *key) {
            Some(d) => {
                let mut stage_json = view.reference("stage", Some(*stage));
                stage_json["stage_index"] = json!(stage.to_string());
                json!({
                    "updated_on": time_json(d.int("updated_on")),
                    "internal_name": key,
                    "attachments": [],
                    "stage": stage_json,
                    "release": {"id": release_id.to_string()},
                    "name": name,
                    "updated_by": user_json(d),
                    "description": d.text("description"),
                    "id": (release_id * 10 + n as i64).to_string(),
                })
            }
            None => Json::Null,
        };
        out.insert((*key).into(), value);
    }
    out.insert(
        "workflow".into(),
        json!({"validated": true, "name": "General Release Workflow", "id": "3", "type": "General"}),
    );
    out.insert(
        "closure_code".into(),
        row.text("closure_code")
            .map(|c| json!({"name": c}))
            .unwrap_or(Json::Null),
    );
    let assets: Vec<Json> = row
        .string("assets")
        .split(',')
        .filter_map(|s| s.parse::<i64>().ok())
        .filter_map(|a| view.get("asset", a))
        .map(asset_json)
        .collect();
    out.insert("assets".into(), Json::Array(assets));
    // Configuration items come from the assets' CIs, which Tollgate does not
    // keep.
    out.insert("configuration_items".into(), json!([]));
    out.insert(
        "attachments".into(),
        crate::domain::attachments::release_json(db, release_id).await?,
    );
    // The vendor's token for the release's inline images; Tollgate keeps none.
    out.insert("image_token".into(), Json::Null);
    Ok(Json::Object(out))
}

/// An asset as a release shows it; Tollgate keeps the asset's name only
/// (no CMDB), so the product, type, state and barcode are null.
fn asset_json(asset: &Reference) -> Json {
    json!({
        "ci_id": null,
        "product": null,
        "product_type": null,
        "name": asset.name,
        "id": asset.id.to_string(),
        "state": null,
        "barcode": null,
    })
}

fn strip_html(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for ch in s.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.chars().take(250).collect::<String>().trim().to_owned()
}

/// The property naming the release fields that must be filled before a
/// release closes (comma-separated; none by default, as the product ships).
pub const CLOSURE_RULES_PROPERTY: &str = "sdp.release.closure_mandatory_fields";

/// Refuses (4003) a close while a field the closure rules name is empty.
async fn check_closure_rules(
    tx: &mut Tx,
    release_id: i64,
    closure_code: Option<&str>,
    input: &Map<String, Json>,
) -> Result<()> {
    let rules = tx
        .fetch_optional(
            "SELECT value FROM sys_properties WHERE name = $1",
            &[Value::from(CLOSURE_RULES_PROPERTY)],
        )
        .await?
        .map(|r| r.string("value"))
        .unwrap_or_default();
    let release = tx
        .fetch_optional(
            "SELECT * FROM sdp_release WHERE id = $1",
            &[Value::Int(release_id)],
        )
        .await?
        .ok_or_else(|| Error::internal("release vanished"))?;
    for field in rules.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        let filled = match field {
            "closure_code" => closure_code.is_some_and(|c| !c.trim().is_empty()),
            "comment" => input
                .get("comment")
                .and_then(Json::as_str)
                .is_some_and(|c| !c.trim().is_empty()),
            other => {
                let column = TIMES
                    .iter()
                    .find(|(k, _)| *k == other)
                    .map(|(_, c)| *c)
                    .or_else(|| {
                        REFERENCES
                            .iter()
                            .find(|(k, _, _)| *k == other)
                            .map(|(_, _, c)| *c)
                    })
                    .unwrap_or(other);
                release
                    .get(column)
                    .is_some_and(|v| !v.is_null() && v.as_str() != Some(""))
            }
        };
        if !filled {
            return Err(Error::new(
                ErrorKind::ClosureRule,
                format!("{field} must be filled before the release can close"),
            )
            .with_field(field));
        }
    }
    Ok(())
}

/// The v3 user holding the release's role with `internal` name, if any.
async fn role_holder(tx: &mut Tx, release_id: i64, internal: &str) -> Result<Option<i64>> {
    Ok(tx
        .fetch_optional(
            "SELECT rr.user_id FROM sdp_release_role rr JOIN sdp_reference x \
             ON x.kind = 'role' AND x.id = rr.role_id \
             WHERE rr.release_id = $1 AND x.internal_name = $2",
            &[Value::Int(release_id), Value::from(internal)],
        )
        .await?
        .and_then(|r| r.int("user_id")))
}

/// Makes `user` the release's holder of the role with `internal` name;
/// returns the role's id and the new assignment's.
async fn set_role_holder(
    tx: &mut Tx,
    release_id: i64,
    internal: &str,
    user: i64,
) -> Result<(i64, i64)> {
    let role = tx
        .fetch_optional(
            "SELECT id FROM sdp_reference WHERE kind = 'role' AND internal_name = $1",
            &[Value::from(internal)],
        )
        .await?
        .and_then(|r| r.int("id"))
        .ok_or_else(|| Error::internal(format!("role {internal} missing")))?;
    tx.execute(
        "DELETE FROM sdp_release_role WHERE release_id = $1 AND role_id = $2",
        &[Value::Int(release_id), Value::Int(role)],
    )
    .await?;
    let id = next_id(tx, "sdp_release_role").await?;
    tx.execute(
        "INSERT INTO sdp_release_role (id, release_id, role_id, user_id) VALUES ($1, $2, $3, $4)",
        &[
            Value::Int(id),
            Value::Int(release_id),
            Value::Int(role),
            Value::Int(user),
        ],
    )
    .await?;
    Ok((role, id))
}

/// Locks a release's row until the transaction ends. Every command that
/// checks a release's state (stage, trash, closed, approval levels) and then
/// changes it takes this one lock first, so they take turns per release.
pub(crate) async fn lock_release(tx: &mut Tx, release_id: i64) -> Result<bool> {
    Ok(tx
        .lock_by("sdp_release", "id", Value::Int(release_id))
        .await?)
}

/// The release, which must be open (not in the trash, not closed); locked.
async fn open_release(tx: &mut Tx, id: &str) -> Result<i64> {
    let release_id: i64 = id.trim().parse().map_err(|_| release_not_found(id))?;
    lock_release(tx, release_id).await?;
    let row = tx
        .fetch_optional(
            "SELECT deleted_time, completed_time FROM sdp_release WHERE id = $1",
            &[Value::Int(release_id)],
        )
        .await?
        .ok_or_else(|| release_not_found(id))?;
    if row.int("deleted_time").is_some() {
        return Err(Error::invalid(
            "ids",
            format!("{id}: the release is in the trash"),
        ));
    }
    if row.int("completed_time").is_some() {
        return Err(Error::invalid(
            "ids",
            format!("{id}: the release is closed"),
        ));
    }
    Ok(release_id)
}

/// `assign`: sets the release engineer (and/or manager) of each release.
pub async fn assign(
    db: &Db,
    ids: &[String],
    input: &Map<String, Json>,
    caller: &Caller,
) -> Result<Bulk> {
    let mut wanted: Vec<(&str, &Json)> = Vec::new();
    for key in ["release_engineer", "release_manager"] {
        if let Some(v) = input.get(key) {
            wanted.push((key, v));
        }
    }
    if wanted.is_empty() {
        return Err(Error::missing("release_engineer"));
    }
    let view = View::load(db).await?;
    let mut out = Vec::new();
    for id in ids {
        let result: Result<()> = async {
            if let Ok(n) = id.trim().parse::<i64>() {
                if let Ok(p) = super::permissions::of(db, n, caller).await {
                    p.require_whole()?;
                }
            }
            let mut tx = db.begin().await?;
            let release_id = open_release(&mut tx, id).await?;
            let by = history::user_for(&mut tx, caller).await?;
            for (key, value) in &wanted {
                let user = resolve_user(&mut tx, key, value).await?;
                let (role, assignment) = set_role_holder(&mut tx, release_id, key, user).await?;
                // The new assignment as the vendor's history shows it: its
                // user, its id and its role.
                let user_row = tx
                    .fetch_optional(
                        &format!("SELECT u.id AS user_id, {USER_COLUMNS} FROM sdp_user u WHERE u.id = $1"),
                        &[Value::Int(user)],
                    )
                    .await?
                    .ok_or_else(|| Error::internal("user vanished"))?;
                let diff = json!([
                    {"field": {"name": "user", "display_name": "User"}, "previous_value": null, "current_value": user_json(&user_row)},
                    {"field": {"name": "id"}, "previous_value": null, "current_value": assignment.to_string()},
                    {"field": {"name": "role", "display_name": "Role"}, "previous_value": null, "current_value": view.reference("role", Some(role))},
                ]);
                history::record(&mut tx, release_id, by, "release_to_release_role_add", "User assigned for role", diff).await?;
            }
            tx.commit().await?;
            Ok(())
        }
        .await;
        out.push((id.clone(), result));
    }
    Ok(out)
}

/// `pickup`: the caller becomes the release engineer of each release.
///
/// Picking up is for releases nobody is engineering yet (or that the caller
/// already engineers): taking a release over from its engineer is
/// reassigning it, which needs whole-release rights, as `assign` does.
/// Otherwise any technician could make itself engineer and edit the release.
pub async fn pickup(db: &Db, ids: &[String], caller: &Caller) -> Bulk {
    let mut out = Vec::new();
    for id in ids {
        let result: Result<()> = async {
            let whole = match id.trim().parse::<i64>() {
                Ok(n) => super::permissions::of(db, n, caller).await?.whole.edit,
                Err(_) => false,
            };
            let mut tx = db.begin().await?;
            let release_id = open_release(&mut tx, id).await?;
            let by = history::user_for(&mut tx, caller).await?;
            if !whole {
                let engineer = role_holder(&mut tx, release_id, "release_engineer").await?;
                if engineer.is_some_and(|e| e != by) {
                    return Err(Error::new(
                        ErrorKind::Forbidden,
                        format!(
                            "ids: release {release_id} already has a release engineer; only \
                             administrators, its creator and its release manager may reassign it"
                        ),
                    )
                    .with_field("ids"));
                }
            }
            set_role_holder(&mut tx, release_id, "release_engineer", by).await?;
            history::record(
                &mut tx,
                release_id,
                by,
                "pickup",
                "Release Picked Up",
                json!([]),
            )
            .await?;
            tx.commit().await?;
            Ok(())
        }
        .await;
        out.push((id.clone(), result));
    }
    out
}

/// `close`: moves the release to the Closure stage with a closing status
/// (`completed` or `canceled`, by internal name) and sets its completed time.
pub async fn close(db: &Db, id: &str, input: &Map<String, Json>, caller: &Caller) -> Result<i64> {
    if let Ok(n) = id.trim().parse::<i64>() {
        if let Ok(p) = super::permissions::of(db, n, caller).await {
            p.require_whole()?;
        }
    }
    let mut tx = db.begin().await?;
    let release_id = open_release(&mut tx, id).await.map_err(|e| Error {
        field: Some("release_id".into()),
        ..e
    })?;
    let wanted = match input.get("status") {
        None | Some(Json::Null) => "completed".to_owned(),
        Some(Json::String(s)) => s.to_ascii_lowercase(),
        Some(Json::Object(o)) => o
            .get("name")
            .or_else(|| o.get("internal_name"))
            .and_then(Json::as_str)
            .unwrap_or("completed")
            .to_ascii_lowercase(),
        Some(_) => return Err(Error::wrong_type("status", "a status name")),
    };
    let status = tx
        .fetch_optional(
            "SELECT id, parent_id FROM sdp_reference WHERE kind = 'status' AND parent_id = 9 \
             AND (LOWER(internal_name) = $1 OR LOWER(name) = $1)",
            &[Value::Text(wanted.clone())],
        )
        .await?
        .ok_or_else(|| {
            Error::invalid(
                "status",
                format!("{wanted:?} is not a closing status (completed, canceled)"),
            )
        })?;
    let closure_code = match input.get("closure_code") {
        None | Some(Json::Null) => None,
        Some(Json::String(c)) => Some(c.clone()),
        Some(Json::Object(o)) => o.get("name").and_then(Json::as_str).map(str::to_owned),
        Some(_) => {
            return Err(Error::wrong_type(
                "closure_code",
                "a string or an object with name",
            ))
        }
    };
    check_closure_rules(&mut tx, release_id, closure_code.as_deref(), input).await?;
    let now = Utc::now().timestamp_millis();
    tx.execute(
        "UPDATE sdp_release SET closure_code = $4, stage_id = 9, status_id = $1, completed_time = $2 WHERE id = $3",
        &[
            Value::Int(status.int("id").unwrap_or(22)),
            Value::Int(now),
            Value::Int(release_id),
            Value::from(closure_code),
        ],
    )
    .await?;
    let by = history::user_for(&mut tx, caller).await?;
    let comment = input.get("comment").and_then(Json::as_str).unwrap_or("");
    let diff = json!([{"field": {"name": "status", "display_name": "Status"}, "previous_value": null, "current_value": wanted, "comment": comment}]);
    history::record(&mut tx, release_id, by, "close", "Release Closed", diff).await?;
    let comment = super::change::status_comment(input);
    note_status_change(&mut tx, release_id, by, Some((0, 0)), comment.as_deref()).await?;
    tx.commit().await?;
    Ok(release_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_show_as_display_value_and_epoch_millis() {
        assert_eq!(
            time_json(Some(1_592_820_360_370)),
            json!({"display_value": "Jun 22, 2020 10:06 AM", "value": "1592820360370"})
        );
        assert_eq!(time_json(None), Json::Null);
    }

    #[test]
    fn display_times_are_what_the_format_string_gives() {
        // Midnight and noon (12 AM / 12 PM), every month, years of fewer than
        // four digits and beyond 9999 (through chrono itself).
        let mut ms: i64 = -62_135_596_800_000 + 3_600_000 * 7;
        while ms < 253_402_300_800_000 + 86_400_000 * 400 {
            let t = Utc.timestamp_millis_opt(ms).single().unwrap();
            assert_eq!(
                display_time(&t),
                t.format(DISPLAY_FORMAT).to_string(),
                "{ms}"
            );
            ms += 3_600_000 * 24 * 37 + 61_000 * 29 + 3_600_000 * 5;
        }
    }

    #[test]
    fn short_descriptions_drop_html() {
        assert_eq!(
            strip_html("<b>The content</b> to show"),
            "The content to show"
        );
    }
}
