//! `tollgate demo`: the demo data set, so the examples in the API documents
//! work as written. Idempotent, and safe while a server runs on the same
//! database (it only inserts what is missing, in one transaction).

use crate::error::Result;
use crate::registry::{self, Table};
use crate::storage::{Db, Tx, Value};

use crate::domain::records::insert_values;

pub const ADMIN_ID: &str = "6816f79cc0a8016401c5a33be04be441";
pub const RELEASE_MANAGER_ID: &str = "dc6770ae3b97a210532fb50f23e45a33";
pub const CALENDAR_ID: &str = "d3d1f3b4ff60ba10509cffffffffffa8";
pub const SCHEDULE_ID: &str = "b862d589ff3c3210509cffffffffff97";
pub const BLACKOUT_SPAN_ID: &str = "b862d589ff3c3210509cffffffffff98";

async fn insert_if_absent(
    tx: &mut Tx,
    table: &'static str,
    sys_id: &str,
    values: Vec<(&'static str, Value)>,
) -> Result<bool> {
    let t: &Table = registry::table(table).ok_or_else(|| crate::error::Error::internal(table))?;
    if crate::domain::records::exists(tx, table, sys_id).await? {
        return Ok(false);
    }
    insert_values(tx, t, Some(sys_id.to_owned()), values, "demo").await?;
    Ok(true)
}

/// Loads the demo data; returns how many records it added.
pub async fn load(db: &Db) -> Result<usize> {
    let mut tx = db.begin().await?;
    let mut added = 0;
    // The documents' admin sys_id is the bootstrap admin's; when the admin
    // was made otherwise, a stand-in user carries the id.
    let stand_in = vec![
        ("user_name", Value::from("demo.admin")),
        ("first_name", Value::from("Demo")),
        ("last_name", Value::from("Administrator")),
        ("name", Value::from("Demo Administrator")),
        ("email", Value::from("demo.admin@example.com")),
    ];
    added += usize::from(insert_if_absent(&mut tx, "sys_user", ADMIN_ID, stand_in).await?);
    let manager = vec![
        ("user_name", Value::from("release.manager")),
        ("first_name", Value::from("Rita")),
        ("last_name", Value::from("Release")),
        ("name", Value::from("Rita Release")),
        ("email", Value::from("rita.release@example.com")),
    ];
    added += usize::from(insert_if_absent(&mut tx, "sys_user", RELEASE_MANAGER_ID, manager).await?);
    let schedule = vec![
        ("name", Value::from("Q4 2025 change blackout")),
        (
            "description",
            Value::from("No production releases during the November freeze"),
        ),
        ("time_zone", Value::from("America/New_York")),
        ("type", Value::from("blackout")),
    ];
    added += usize::from(insert_if_absent(&mut tx, "cmn_schedule", SCHEDULE_ID, schedule).await?);
    let span = vec![
        ("schedule", Value::from(SCHEDULE_ID)),
        ("name", Value::from("November freeze")),
        ("type", Value::from("blackout")),
        ("start_date_time", Value::from("2025-11-06 18:00:00")),
        ("end_date_time", Value::from("2025-11-08 06:00:00")),
        ("repeat_type", Value::from("")),
    ];
    added +=
        usize::from(insert_if_absent(&mut tx, "cmn_schedule_span", BLACKOUT_SPAN_ID, span).await?);
    let calendar = vec![
        ("name", Value::from("Enterprise release calendar")),
        (
            "description",
            Value::from("Readiness targets for the enterprise portfolio"),
        ),
        ("release_admin", Value::from(RELEASE_MANAGER_ID)),
        ("schedules", Value::from(SCHEDULE_ID)),
        ("time_zone", Value::from("America/New_York")),
        ("active", Value::Bool(true)),
    ];
    added += usize::from(
        insert_if_absent(
            &mut tx,
            "sn_dpr_model_release_calendar",
            CALENDAR_ID,
            calendar,
        )
        .await?,
    );
    tx.commit().await?;
    Ok(added)
}
