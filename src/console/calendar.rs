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
        p.muted {
            "Subscribe from a calendar client: "
            code { "/console/calendars/" (id) "/feed.ics?key=" em { "API key" } }
            " (a key of a user with a release role)."
        }
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

/// Escapes an iCalendar TEXT value (RFC 5545, 3.3.11).
fn ics_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends a content line, folded at 75 octets (never inside a character).
fn ics_line(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
}

fn ics_utc(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// The feed as an iCalendar document: times in UTC (clients show them in
/// their own zone), targets as whole days.
pub fn render_ics(feed: &calendar_view::Feed, host: &str) -> String {
    use calendar_view::When;
    let mut out = String::new();
    let stamp = ics_utc(chrono::Utc::now());
    for line in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Tollgate//Release console//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ] {
        ics_line(&mut out, line);
    }
    ics_line(
        &mut out,
        &format!("X-WR-CALNAME:{}", ics_text(&feed.calendar)),
    );
    ics_line(
        &mut out,
        &format!("X-WR-TIMEZONE:{}", feed.time_zone.name()),
    );
    for e in &feed.events {
        ics_line(&mut out, "BEGIN:VEVENT");
        ics_line(
            &mut out,
            &format!("UID:{}@{}", ics_text(&e.uid), ics_text(host)),
        );
        ics_line(&mut out, &format!("DTSTAMP:{stamp}"));
        match &e.when {
            When::Day(d) => {
                ics_line(
                    &mut out,
                    &format!("DTSTART;VALUE=DATE:{}", d.format("%Y%m%d")),
                );
                let next = d.succ_opt().unwrap_or(*d);
                ics_line(
                    &mut out,
                    &format!("DTEND;VALUE=DATE:{}", next.format("%Y%m%d")),
                );
            }
            When::Span(start, end) => {
                ics_line(&mut out, &format!("DTSTART:{}", ics_utc(*start)));
                ics_line(&mut out, &format!("DTEND:{}", ics_utc(*end)));
            }
        }
        ics_line(&mut out, &format!("SUMMARY:{}", ics_text(&e.summary)));
        ics_line(&mut out, "END:VEVENT");
    }
    ics_line(&mut out, "END:VCALENDAR");
    out
}

/// `GET /console/calendars/{id}/feed.ics`: the calendar's events from 90
/// days ago to a year ahead, for calendar clients. They cannot sign in, so
/// the feed takes an API key (`?key=`, or the API's headers: Basic, Bearer,
/// `x-sn-apikey`), checked and throttled as the API checks it, of a caller
/// with a release role.
pub async fn feed(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    crate::http::extract::ClientAddr(client): crate::http::extract::ClientAddr,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    let caller = match query.get("key").filter(|k| !k.is_empty()) {
        Some(key) => state.identity.check_token(key, client).await,
        None => state.identity.authenticate(&headers, client).await,
    };
    let refuse = |e: &Error| {
        let status = crate::http::envelope::http_status(e.kind);
        let mut response = (status, e.message.clone()).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Basic realm=\"Tollgate\""),
            );
        }
        if let Some(secs) = e.retry_after {
            if let Ok(v) = secs.to_string().parse() {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response
    };
    let caller = match caller {
        Ok(caller) => caller,
        Err(e) => return refuse(&e),
    };
    if let Err(e) = caller.require_any(ReleaseReaders::ANY_OF) {
        return refuse(&e);
    }
    let now = chrono::Utc::now();
    let found = calendar_view::feed(
        &state.db,
        &id,
        now - chrono::Duration::days(90),
        now + chrono::Duration::days(365),
    )
    .await;
    let feed = match found {
        Ok(Some(feed)) => feed,
        Ok(None) => {
            return refuse(&Error::not_found(
                "There is no release calendar with this id",
            ))
        }
        Err(e) => return refuse(&e),
    };
    let base = crate::http::base_url(&headers, &state.settings);
    let host = base.split("://").nth(1).unwrap_or("tollgate");
    (
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CACHE_CONTROL, "private, no-cache"),
        ],
        render_ics(&feed, host),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ics_text_is_escaped_and_long_lines_are_folded() {
        assert_eq!(ics_text("a;b,c\\d\ne"), "a\\;b\\,c\\\\d\\ne");
        let mut out = String::new();
        ics_line(&mut out, &format!("SUMMARY:{}", "é".repeat(60)));
        for line in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(line.len() <= 75, "{line}");
        }
        assert_eq!(
            out.replace("\r\n ", ""),
            format!("SUMMARY:{}\r\n", "é".repeat(60))
        );
    }
}
