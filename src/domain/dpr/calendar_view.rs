//! A release calendar's month, in the calendar's time zone: readiness
//! targets on their dates, releases on the day their planned window ends,
//! key dates on their due day, and the days a blackout (or other exclusion)
//! window touches. Days are real local days (`schedule::day_bounds`), so a
//! month across a daylight-saving change is placed correctly.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;

use super::blackouts::exclusion_windows;
use super::schedule::{day_bounds, Window};
use crate::error::{Error, Result};
use crate::storage::{Db, Row, Tx, Value};
use crate::time::{format_date_time, parse_date_time};

/// One entry on a day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    Target { name: String },
    Release { sys_id: String, name: String },
    KeyDate { release: String, name: String },
    Blackout { schedule: String },
}

/// A day of the month and what is on it.
#[derive(Clone, Debug)]
pub struct Day {
    pub date: NaiveDate,
    pub entries: Vec<Entry>,
}

/// A calendar's month.
#[derive(Clone, Debug)]
pub struct Month {
    pub calendar: String,
    pub time_zone: Tz,
    pub first: NaiveDate,
    pub days: Vec<Day>,
}

/// The active release calendars: (sys_id, name, time zone), by name.
pub async fn calendars(db: &Db) -> Result<Vec<(String, String, String)>> {
    let rows = db
        .fetch_all(
            "SELECT sys_id, name, time_zone FROM sn_dpr_model_release_calendar \
             WHERE active = $1 ORDER BY name, sys_id",
            &[Value::Bool(true)],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.string("sys_id"),
                r.string("name"),
                r.text("time_zone").unwrap_or_else(|| "UTC".into()),
            )
        })
        .collect())
}

/// The month starting on `first` (a first of a month) of calendar `id`;
/// None when there is no such calendar.
pub async fn month(db: &Db, id: &str, first: NaiveDate) -> Result<Option<Month>> {
    if !crate::ids::is_sys_id(id) {
        return Ok(None);
    }
    let first = first
        .with_day(1)
        .ok_or_else(|| Error::invalid("month", "no such month"))?;
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    }
    .ok_or_else(|| Error::invalid("month", "out of range"))?;
    let mut read = db.begin_read().await?;
    let Some((calendar, tz)) = calendar_in_its_zone(&mut read, id).await? else {
        return Ok(None);
    };
    let (from, _) = day_bounds(tz, first);
    let (to, _) = day_bounds(tz, next);
    let (from_text, to_text) = (format_date_time(from), format_date_time(to));
    let day_of = |t: DateTime<Utc>| t.with_timezone(&tz).date_naive();
    let mut placed: Vec<(NaiveDate, Entry)> = Vec::new();
    let targets = read
        .fetch_all(
            "SELECT name, target_date FROM sn_dpr_model_release_target \
             WHERE release_calendar = $1 AND active = $2 AND target_date >= $3 AND target_date < $4 \
             ORDER BY target_date, name",
            &[
                Value::from(id),
                Value::Bool(true),
                Value::Text(first.format("%Y-%m-%d").to_string()),
                Value::Text(next.format("%Y-%m-%d").to_string()),
            ],
        )
        .await?;
    for t in &targets {
        if let Some(date) = crate::time::parse_date(&t.string("target_date")) {
            placed.push((
                date,
                Entry::Target {
                    name: t.string("name"),
                },
            ));
        }
    }
    let releases = read
        .fetch_all(
            "SELECT sys_id, name, planned_end FROM sn_dpr_model_release \
             WHERE release_calendar = $1 AND planned_end >= $2 AND planned_end < $3 \
             ORDER BY planned_end, name",
            &[
                Value::from(id),
                Value::Text(from_text.clone()),
                Value::Text(to_text.clone()),
            ],
        )
        .await?;
    for r in &releases {
        if let Some(end) = parse_date_time(&r.string("planned_end")) {
            placed.push((
                day_of(end.and_utc()),
                Entry::Release {
                    sys_id: r.string("sys_id"),
                    name: r.string("name"),
                },
            ));
        }
    }
    let key_dates = read
        .fetch_all(
            "SELECT k.name, k.due_date, r.name AS release_name FROM sn_dpr_model_release_key_date k \
             JOIN sn_dpr_model_release r ON r.sys_id = k.\"release\" \
             WHERE r.release_calendar = $1 AND k.due_date >= $2 AND k.due_date < $3 \
             ORDER BY k.due_date, k.name",
            &[Value::from(id), Value::Text(from_text), Value::Text(to_text)],
        )
        .await?;
    for k in &key_dates {
        if let Some(due) = parse_date_time(&k.string("due_date")) {
            placed.push((
                day_of(due.and_utc()),
                Entry::KeyDate {
                    release: k.string("release_name"),
                    name: k.string("name"),
                },
            ));
        }
    }
    let mut schedules: Vec<(String, Vec<Window>)> = Vec::new();
    for schedule in calendar.text("schedules").unwrap_or_default().split(',') {
        let schedule = schedule.trim();
        if schedule.is_empty() {
            continue;
        }
        if let Some(found) = exclusion_windows(&mut read, schedule, tz).await? {
            schedules.push(found);
        }
    }
    read.commit().await?;
    let mut days = Vec::new();
    let mut date = first;
    while date < next {
        let (start, end) = day_bounds(tz, date);
        let mut entries: Vec<Entry> = schedules
            .iter()
            .filter(|(_, windows)| windows.iter().any(|w| w.overlaps(start, end)))
            .map(|(name, _)| Entry::Blackout {
                schedule: name.clone(),
            })
            .collect();
        entries.extend(
            placed
                .iter()
                .filter(|(d, _)| *d == date)
                .map(|(_, e)| e.clone()),
        );
        days.push(Day { date, entries });
        date = match date.succ_opt() {
            Some(d) => d,
            None => break,
        };
    }
    Ok(Some(Month {
        calendar: calendar.string("name"),
        time_zone: tz,
        first,
        days,
    }))
}

/// When a feed event happens: a whole local day, or UTC instants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum When {
    Day(NaiveDate),
    Span(DateTime<Utc>, DateTime<Utc>),
}

/// One event of a calendar's feed.
#[derive(Clone, Debug)]
pub struct FeedEvent {
    /// Stable across reads (the record's id, and the start of an occurrence).
    pub uid: String,
    pub summary: String,
    pub when: When,
}

/// A calendar's feed: its name, zone and events between two instants.
#[derive(Clone, Debug)]
pub struct Feed {
    pub calendar: String,
    pub time_zone: Tz,
    pub events: Vec<FeedEvent>,
}

/// The events of calendar `id` in `[from, to)`: readiness targets (whole
/// days), releases' planned windows, key dates and each occurrence of an
/// exclusion window (at most 1,000 occurrences per window). None when there
/// is no such calendar.
pub async fn feed(
    db: &Db,
    id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Option<Feed>> {
    if !crate::ids::is_sys_id(id) {
        return Ok(None);
    }
    let mut read = db.begin_read().await?;
    let Some((calendar, tz)) = calendar_in_its_zone(&mut read, id).await? else {
        return Ok(None);
    };
    let (from_text, to_text) = (format_date_time(from), format_date_time(to));
    let mut events = Vec::new();
    let targets = read
        .fetch_all(
            "SELECT sys_id, name, target_date FROM sn_dpr_model_release_target \
             WHERE release_calendar = $1 AND active = $2 AND target_date >= $3 AND target_date <= $4 \
             ORDER BY target_date, sys_id",
            &[
                Value::from(id),
                Value::Bool(true),
                Value::Text(from.with_timezone(&tz).format("%Y-%m-%d").to_string()),
                Value::Text(to.with_timezone(&tz).format("%Y-%m-%d").to_string()),
            ],
        )
        .await?;
    for t in &targets {
        if let Some(date) = crate::time::parse_date(&t.string("target_date")) {
            events.push(FeedEvent {
                uid: t.string("sys_id"),
                summary: format!("Readiness target: {}", t.string("name")),
                when: When::Day(date),
            });
        }
    }
    let releases = read
        .fetch_all(
            "SELECT sys_id, name, planned_start, planned_end FROM sn_dpr_model_release \
             WHERE release_calendar = $1 AND planned_start IS NOT NULL AND planned_end IS NOT NULL \
             AND planned_end >= $2 AND planned_start < $3 ORDER BY planned_start, sys_id",
            &[
                Value::from(id),
                Value::Text(from_text.clone()),
                Value::Text(to_text.clone()),
            ],
        )
        .await?;
    for r in &releases {
        let times = (
            parse_date_time(&r.string("planned_start")),
            parse_date_time(&r.string("planned_end")),
        );
        if let (Some(start), Some(end)) = times {
            events.push(FeedEvent {
                uid: r.string("sys_id"),
                summary: format!("Release: {}", r.string("name")),
                when: When::Span(start.and_utc(), end.and_utc()),
            });
        }
    }
    let key_dates = read
        .fetch_all(
            "SELECT k.sys_id, k.name, k.due_date, r.name AS release_name FROM sn_dpr_model_release_key_date k \
             JOIN sn_dpr_model_release r ON r.sys_id = k.\"release\" \
             WHERE r.release_calendar = $1 AND k.due_date >= $2 AND k.due_date < $3 ORDER BY k.due_date, k.sys_id",
            &[Value::from(id), Value::Text(from_text), Value::Text(to_text)],
        )
        .await?;
    for k in &key_dates {
        if let Some(due) = parse_date_time(&k.string("due_date")) {
            let due = due.and_utc();
            events.push(FeedEvent {
                uid: k.string("sys_id"),
                summary: format!(
                    "Key date: {} ({})",
                    k.string("name"),
                    k.string("release_name")
                ),
                when: When::Span(due, due),
            });
        }
    }
    for schedule in calendar.text("schedules").unwrap_or_default().split(',') {
        let schedule = schedule.trim();
        if schedule.is_empty() {
            continue;
        }
        let Some((name, windows)) = exclusion_windows(&mut read, schedule, tz).await? else {
            continue;
        };
        for (n, w) in windows.iter().enumerate() {
            for (start, end) in w.occurrences(from, to, 1000) {
                events.push(FeedEvent {
                    uid: format!("{schedule}-{n}-{}", start.timestamp()),
                    summary: format!("Blackout: {name}"),
                    when: When::Span(start, end),
                });
            }
        }
    }
    read.commit().await?;
    Ok(Some(Feed {
        calendar: calendar.string("name"),
        time_zone: tz,
        events,
    }))
}

/// A release calendar (its name, time zone and schedules) and its time zone
/// (UTC when the stored zone is not one chrono-tz knows), or `None` when
/// there is no such calendar.
async fn calendar_in_its_zone(read: &mut Tx, id: &str) -> Result<Option<(Row, Tz)>> {
    let Some(calendar) = read
        .fetch_optional(
            "SELECT name, time_zone, schedules FROM sn_dpr_model_release_calendar WHERE sys_id = $1",
            &[Value::from(id)],
        )
        .await?
    else {
        return Ok(None);
    };
    let tz: Tz = calendar
        .text("time_zone")
        .and_then(|z| z.parse().ok())
        .unwrap_or(Tz::UTC);
    Ok(Some((calendar, tz)))
}
