//! Release calendars: who owns them, which schedules shape them, and the time
//! zone their readiness dates are counted in.

use crate::error::{Error, Result};
use crate::registry::table;
use crate::storage::{Db, Value};

use super::super::records::{exists, insert_values};

pub struct NewCalendar {
    pub name: String,
    pub description: Option<String>,
    pub release_admin: String,
    /// sys_ids of `cmn_schedule` records.
    pub schedules: Vec<String>,
    /// IANA zone; the first schedule's zone, else UTC, when not given.
    pub time_zone: Option<String>,
}

/// Creates a calendar after checking that its owner and schedules exist.
pub async fn create(db: &Db, calendar: NewCalendar, actor: &str) -> Result<String> {
    let calendars =
        table("sn_dpr_model_release_calendar").ok_or_else(|| Error::internal("calendar table"))?;
    if let Some(tz) = &calendar.time_zone {
        tz.parse::<chrono_tz::Tz>()
            .map_err(|_| Error::invalid("timeZone", format!("{tz:?} is not a known time zone")))?;
    }
    let mut tx = db.begin().await?;
    if !exists(&mut tx, "sys_user", &calendar.release_admin).await? {
        return Err(Error::invalid(
            "releaseAdmin",
            format!("no user with sys_id {}", calendar.release_admin),
        ));
    }
    let mut zone = calendar.time_zone.clone();
    for id in &calendar.schedules {
        let row = tx
            .fetch_optional(
                "SELECT time_zone FROM cmn_schedule WHERE sys_id = $1",
                &[Value::from(id)],
            )
            .await?
            .ok_or_else(|| Error::invalid("schedules", format!("no schedule with sys_id {id}")))?;
        if zone.is_none() {
            zone = row.text("time_zone").filter(|z| !z.is_empty());
        }
    }
    let values = vec![
        ("name", Value::Text(calendar.name)),
        ("description", Value::from(calendar.description)),
        ("release_admin", Value::Text(calendar.release_admin)),
        ("schedules", Value::Text(calendar.schedules.join(","))),
        (
            "time_zone",
            Value::Text(zone.unwrap_or_else(|| "UTC".to_owned())),
        ),
        ("active", Value::Bool(true)),
    ];
    let id = insert_values(&mut tx, calendars, None, values, actor).await?;
    tx.commit().await?;
    Ok(id)
}
