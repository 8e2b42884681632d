//! Blackout (and other exclusion) windows of the release calendars: read
//! from their schedules, for the readiness-target rule (`targets`) and for
//! what the console shows ("blackouts now and in the next 14 days").

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::schedule::{is_exclusion, Repeat, Window};
use crate::error::Result;
use crate::storage::{Db, Executor, Value};
use crate::time::parse_date_time;

/// The exclusion windows of a schedule; entries are in the schedule's time
/// zone, or the calendar's when the schedule names none. None when there is
/// no such schedule.
pub async fn exclusion_windows(
    mut ex: impl Executor,
    schedule: &str,
    calendar_tz: Tz,
) -> Result<Option<(String, Vec<Window>)>> {
    let Some(head) = ex
        .fetch_optional(
            "SELECT name, type, time_zone FROM cmn_schedule WHERE sys_id = $1",
            &[Value::from(schedule)],
        )
        .await?
    else {
        return Ok(None);
    };
    let schedule_type = head.string("type");
    let tz: Tz = head
        .text("time_zone")
        .and_then(|z| z.parse().ok())
        .unwrap_or(calendar_tz);
    let spans = ex
        .fetch_all(
            "SELECT type, start_date_time, end_date_time, repeat_type FROM cmn_schedule_span WHERE schedule = $1",
            &[Value::from(schedule)],
        )
        .await?;
    let windows = spans
        .iter()
        .filter(|s| is_exclusion(&schedule_type, &s.string("type")))
        .filter_map(|s| {
            Some(Window {
                start: parse_date_time(&s.string("start_date_time"))?,
                end: parse_date_time(&s.string("end_date_time"))?,
                repeat: Repeat::parse(&s.string("repeat_type")),
                tz,
            })
        })
        .collect();
    Ok(Some((head.string("name"), windows)))
}

/// One occurrence of an exclusion window of a calendar.
#[derive(Clone, Debug)]
pub struct Blackout {
    pub calendar: String,
    pub schedule: String,
    pub time_zone: Tz,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// Every exclusion window of an active calendar's schedules that overlaps
/// `[from, to)`, by start (at most `limit`).
pub async fn between(
    db: &Db,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<Blackout>> {
    let mut read = db.begin_read().await?;
    let calendars = read
        .fetch_all(
            "SELECT name, schedules, time_zone FROM sn_dpr_model_release_calendar \
             WHERE active = $1 AND schedules IS NOT NULL AND schedules <> '' ORDER BY name, sys_id",
            &[Value::Bool(true)],
        )
        .await?;
    let mut out = Vec::new();
    for calendar in &calendars {
        let tz: Tz = calendar
            .text("time_zone")
            .and_then(|z| z.parse().ok())
            .unwrap_or(Tz::UTC);
        for schedule in calendar.string("schedules").split(',') {
            let schedule = schedule.trim();
            if schedule.is_empty() {
                continue;
            }
            let Some((name, windows)) = exclusion_windows(&mut read, schedule, tz).await? else {
                continue;
            };
            for w in &windows {
                for (start, end) in w.occurrences(from, to, limit) {
                    out.push(Blackout {
                        calendar: calendar.string("name"),
                        schedule: name.clone(),
                        time_zone: w.tz,
                        start,
                        end,
                    });
                }
            }
        }
    }
    read.commit().await?;
    out.sort_by(|a, b| (a.start, &a.calendar).cmp(&(b.start, &b.calendar)));
    out.truncate(limit);
    Ok(out)
}
