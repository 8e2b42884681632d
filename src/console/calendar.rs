//! Release calendars: the list, and a calendar's month in its own time
//! zone (targets, releases by planned end, key dates, blackout days).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{Datelike, Months, NaiveDate};
use maud::html;

use super::layout::{badge, shell, Section};
use super::{page, require, OrPage, PageResult, Signed};
use crate::app::AppState;
use crate::domain::dpr::calendar_view::{self, Entry};
use crate::error::Error;
use crate::http::dpr::ReleaseReaders;
use crate::http::extract::RoleSet;

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// `GET /console/calendars`
pub async fn list(State(state): State<AppState>, signed: Signed) -> PageResult {
    require(&signed, ReleaseReaders::ANY_OF)?;
    let calendars = calendar_view::calendars(&state.db).await.or_page(&signed)?;
    let body = html! {
        h1 { "Release calendars" }
        @if calendars.is_empty() { p.muted { "No active release calendar." } }
        @else {
            ul {
                @for (id, name, tz) in &calendars {
                    li { a href={"/console/calendars/" (id)} { (name) } " " span.muted { "(" (tz) ")" } }
                }
            }
        }
    };
    Ok(page(
        StatusCode::OK,
        shell("Release calendars", Some(&signed), Section::Calendars, body),
    ))
}

/// `GET /console/calendars/{id}?month=YYYY-MM` (this month by default).
pub async fn month(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult {
    require(&signed, ReleaseReaders::ANY_OF)?;
    let first = match query.get("month").filter(|m| !m.is_empty()) {
        Some(m) => NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d")
            .map_err(|_| Error::invalid("month", format!("{m:?} is not a month (YYYY-MM)")))
            .or_page(&signed)?,
        None => chrono::Utc::now()
            .date_naive()
            .with_day(1)
            .unwrap_or_default(),
    };
    let month = calendar_view::month(&state.db, &id, first)
        .await
        .or_page(&signed)?
        .ok_or_else(|| {
            super::Refused::from(super::error_page(
                Some(&signed),
                &Error::not_found("There is no release calendar with this id"),
            ))
        })?;
    let prev = first.checked_sub_months(Months::new(1)).unwrap_or(first);
    let next = first.checked_add_months(Months::new(1)).unwrap_or(first);
    let lead = first.weekday().num_days_from_monday() as usize;
    let mut cells: Vec<Option<&calendar_view::Day>> = vec![None; lead];
    cells.extend(month.days.iter().map(Some));
    while !cells.len().is_multiple_of(7) {
        cells.push(None);
    }
    let title = format!("{} · {}", month.calendar, first.format("%B %Y"));
    let body = html! {
        p { a href="/console/calendars" { "← All release calendars" } }
        h1 { (month.calendar) ": " (first.format("%B %Y")) }
        p.muted { "Days and times in " (month.time_zone.name()) "." }
        nav.pager aria-label="Months" {
            a href={"/console/calendars/" (id) "?month=" (prev.format("%Y-%m"))} rel="prev" { "Previous month" }
            a href={"/console/calendars/" (id) "?month=" (next.format("%Y-%m"))} rel="next" { "Next month" }
        }
        table.month {
            caption { (title) }
            thead { tr { @for d in WEEKDAYS { th scope="col" { (d) } } } }
            tbody {
                @for week in cells.chunks(7) {
                    tr {
                        @for cell in week {
                            @match cell {
                                Some(day) => td data-date=(day.date.format("%Y-%m-%d")) {
                                    div { strong { (day.date.day()) } }
                                    @for e in &day.entries {
                                        div {
                                            @match e {
                                                Entry::Blackout { schedule } => (badge("bad", &format!("Blackout: {schedule}"))),
                                                Entry::Target { name } => (badge("ok", &format!("Target: {name}"))),
                                                Entry::Release { sys_id, name } => a href={"/console/releases/" (sys_id)} { "Release ends: " (name) },
                                                Entry::KeyDate { release, name } => span { "Key date: " (name) " (" (release) ")" },
                                            }
                                        }
                                    }
                                },
                                None => td {},
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(
        StatusCode::OK,
        shell(&title, Some(&signed), Section::Calendars, body),
    ))
}
