//! Release readiness targets: one date, or a series repeating weekly or
//! monthly. A date of the series that falls in an exclusion window of the
//! chosen schedule is created only when the caller opted in to it.

use std::collections::HashMap;

use chrono::{Datelike, Duration, Months, NaiveDate};
use chrono_tz::Tz;

use super::schedule::{day_overlaps, Window};
use crate::error::{Error, ErrorKind, Result};
use crate::ids::new_sys_id;
use crate::registry::table;
use crate::storage::{Db, Tx, Value};
use crate::time::DATE_FORMAT;

use super::super::records::{exists, insert_values};

/// The most targets one request may create.
pub const MAX_TARGETS: usize = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frequency {
    Weekly,
    Monthly,
}

impl Frequency {
    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::Weekly => "weekly",
            Frequency::Monthly => "monthly",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Recurrence {
    pub frequency: Frequency,
    pub every: u32,
    /// ISO weekday (1 = Monday .. 7 = Sunday) weekly targets fall on.
    pub day_of_week: Option<u32>,
    pub end: NaiveDate,
}

#[derive(Clone, Debug)]
pub struct NewTargets {
    pub name: String,
    pub description: Option<String>,
    pub release_admin: String,
    pub release_calendar: String,
    pub start: NaiveDate,
    pub recurrence: Option<Recurrence>,
    pub schedule: Option<String>,
    /// The caller's decisions per date: `true` creates a date even when it
    /// falls in an exclusion window; `false` leaves it out.
    pub decisions: HashMap<NaiveDate, bool>,
}

/// The dates of a series: every `every` weeks (on `day_of_week` when given)
/// or months from `start` up to and including `end`. A monthly date on a day
/// the month lacks (the 31st) falls on the month's last day.
pub fn series_dates(start: NaiveDate, recurrence: &Recurrence) -> Result<Vec<NaiveDate>> {
    let mut dates = Vec::new();
    match recurrence.frequency {
        Frequency::Weekly => {
            let mut date = start;
            if let Some(dow) = recurrence.day_of_week {
                while date.weekday().number_from_monday() != dow {
                    date += Duration::days(1);
                }
            }
            while date <= recurrence.end {
                dates.push(date);
                if dates.len() > MAX_TARGETS {
                    break;
                }
                date += Duration::weeks(i64::from(recurrence.every));
            }
        }
        Frequency::Monthly => {
            // Each date counts from the start, so a series from the 31st
            // returns to the 31st after a short month.
            let mut step = 0u32;
            while let Some(date) = start.checked_add_months(Months::new(step * recurrence.every)) {
                if date > recurrence.end || dates.len() > MAX_TARGETS {
                    break;
                }
                dates.push(date);
                step += 1;
            }
        }
    }
    if dates.len() > MAX_TARGETS {
        return Err(Error::invalid(
            "endDate",
            format!("the series would create more than {MAX_TARGETS} targets"),
        ));
    }
    Ok(dates)
}

/// Creates the targets; returns how many were created.
pub async fn create(db: &Db, request: NewTargets, actor: &str) -> Result<usize> {
    let targets =
        table("sn_dpr_model_release_target").ok_or_else(|| Error::internal("target table"))?;
    let dates = match &request.recurrence {
        Some(r) => {
            if r.end < request.start {
                return Err(Error::new(
                    ErrorKind::TimeMismatch,
                    "endDate must not be before startDate",
                )
                .with_field("endDate"));
            }
            series_dates(request.start, r)?
        }
        None => vec![request.start],
    };
    let mut tx = db.begin().await?;
    if !exists(&mut tx, "sys_user", &request.release_admin).await? {
        return Err(Error::invalid(
            "releaseAdmin",
            format!("no user with sys_id {}", request.release_admin),
        ));
    }
    let calendar = tx
        .fetch_optional(
            "SELECT time_zone, active FROM sn_dpr_model_release_calendar WHERE sys_id = $1",
            &[Value::from(&request.release_calendar)],
        )
        .await?
        .ok_or_else(|| {
            Error::invalid(
                "releaseCalendar",
                format!(
                    "no release calendar with sys_id {}",
                    request.release_calendar
                ),
            )
        })?;
    if !calendar.bool("active") {
        return Err(Error::invalid(
            "releaseCalendar",
            "the release calendar is not active",
        ));
    }
    let tz: Tz = calendar
        .text("time_zone")
        .and_then(|z| z.parse().ok())
        .unwrap_or(chrono_tz::UTC);
    let windows = match &request.schedule {
        Some(schedule) => exclusion_windows(&mut tx, schedule, tz).await?,
        None => Vec::new(),
    };
    let series = request.recurrence.as_ref().map(|_| new_sys_id());
    let mut created = 0;
    for date in dates {
        let overlaps = day_overlaps(&windows, tz, date);
        let decision = request.decisions.get(&date).copied();
        let create = match decision {
            Some(active) => active,
            None => !overlaps,
        };
        if !create {
            continue;
        }
        let r = request.recurrence.as_ref();
        let values = vec![
            ("name", Value::Text(request.name.clone())),
            ("description", Value::from(request.description.clone())),
            (
                "release_calendar",
                Value::Text(request.release_calendar.clone()),
            ),
            ("release_admin", Value::Text(request.release_admin.clone())),
            (
                "target_date",
                Value::Text(date.format(DATE_FORMAT).to_string()),
            ),
            ("active", Value::Bool(true)),
            ("recurring", Value::Bool(r.is_some())),
            ("repeat_type", Value::from(r.map(|r| r.frequency.as_str()))),
            ("repeat_every", Value::from(r.map(|r| i64::from(r.every)))),
            (
                "days_of_week",
                Value::from(r.and_then(|r| r.day_of_week).map(i64::from)),
            ),
            ("series", Value::from(series.clone())),
            ("schedule", Value::from(request.schedule.clone())),
            ("overlaps_schedule", Value::Bool(overlaps)),
        ];
        insert_values(&mut tx, targets, None, values, actor).await?;
        created += 1;
    }
    tx.commit().await?;
    Ok(created)
}

/// The exclusion windows of a schedule (`blackouts::exclusion_windows`);
/// a schedule that does not exist is the request's error.
async fn exclusion_windows(tx: &mut Tx, schedule: &str, calendar_tz: Tz) -> Result<Vec<Window>> {
    super::blackouts::exclusion_windows(&mut *tx, schedule, calendar_tz)
        .await?
        .map(|(_, windows)| windows)
        .ok_or_else(|| {
            Error::invalid(
                "scheduleSysId",
                format!("no schedule with sys_id {schedule}"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn weekly_series_matches_the_documented_example() {
        let r = Recurrence {
            frequency: Frequency::Weekly,
            every: 1,
            day_of_week: Some(5),
            end: d("2025-11-19"),
        };
        let dates = series_dates(d("2025-10-24"), &r).unwrap();
        assert_eq!(
            dates,
            vec![
                d("2025-10-24"),
                d("2025-10-31"),
                d("2025-11-07"),
                d("2025-11-14")
            ]
        );
    }

    #[test]
    fn weekly_series_moves_to_the_requested_weekday_and_skips_weeks() {
        let r = Recurrence {
            frequency: Frequency::Weekly,
            every: 2,
            day_of_week: Some(5),
            end: d("2025-11-30"),
        };
        let dates = series_dates(d("2025-10-20"), &r).unwrap();
        assert_eq!(
            dates,
            vec![d("2025-10-24"), d("2025-11-07"), d("2025-11-21")]
        );
    }

    #[test]
    fn monthly_series_keeps_the_day_or_takes_the_last_day_of_short_months() {
        let r = Recurrence {
            frequency: Frequency::Monthly,
            every: 1,
            day_of_week: None,
            end: d("2025-04-30"),
        };
        let dates = series_dates(d("2025-01-31"), &r).unwrap();
        assert_eq!(
            dates,
            vec![
                d("2025-01-31"),
                d("2025-02-28"),
                d("2025-03-31"),
                d("2025-04-30")
            ]
        );
        let r = Recurrence {
            frequency: Frequency::Monthly,
            every: 3,
            day_of_week: None,
            end: d("2025-12-31"),
        };
        assert_eq!(series_dates(d("2025-01-15"), &r).unwrap().len(), 4);
    }

    #[test]
    fn a_series_too_long_is_refused() {
        let r = Recurrence {
            frequency: Frequency::Weekly,
            every: 1,
            day_of_week: None,
            end: d("2100-01-01"),
        };
        let err = series_dates(d("2025-01-01"), &r).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("endDate"));
    }
}
