//! Today: releases in progress with their phase and gate, the approvals
//! waiting for me, blackout windows now and in the next 14 days, and
//! background jobs running or failed. Each part shows only to the roles
//! that may read what it lists.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{Duration, Utc};
use maud::{html, Markup};

use super::layout::{badge, shell, Section};
use super::{page, OrPage, PageResult, Signed};
use crate::app::AppState;
use crate::domain::dpr::{blackouts, overview, policy_status};
use crate::domain::sdp::approvals;
use crate::http::dpr::ReleaseReaders;
use crate::http::extract::RoleSet;
use crate::http::sdp::releases::Staff;

/// How many in-progress releases Today lists (the list page has them all).
const IN_PROGRESS_SHOWN: i64 = 50;
const BLACKOUT_DAYS: i64 = 14;

/// The gate of a release's current phase, in words.
pub fn gate(status: &Result<policy_status::PolicyStatus, crate::error::Error>) -> Markup {
    match status {
        Ok(s) if s.summary.total_count == 0 => badge("info", "Open: no policy gates this phase"),
        Ok(s) if s.summary.compliant => badge("ok", "Open: every policy compliant"),
        Ok(s) => {
            let waiting = s.summary.total_count - s.summary.compliant_count;
            badge(
                "bad",
                &format!(
                    "Closed: {waiting} of {} policy results not compliant",
                    s.summary.total_count
                ),
            )
        }
        Err(e) => badge("warn", &e.message),
    }
}

/// `GET /console`
pub async fn today(State(state): State<AppState>, signed: Signed) -> PageResult {
    let now = Utc::now();
    let dpr_reader = signed.may(ReleaseReaders::ANY_OF);
    let mut releases = Vec::new();
    let mut windows = Vec::new();
    if dpr_reader {
        for r in overview::in_progress(&state.db, IN_PROGRESS_SHOWN)
            .await
            .or_page(&signed)?
        {
            let status = policy_status::policy_status(&state.db, &r.sys_id).await;
            releases.push((r, status));
        }
        windows = blackouts::between(&state.db, now, now + Duration::days(BLACKOUT_DAYS), 50)
            .await
            .or_page(&signed)?;
    }
    let waiting = if signed.may(Staff::ANY_OF) {
        Some(
            approvals::waiting_for(&state.db, &signed.caller, None)
                .await
                .or_page(&signed)?,
        )
    } else {
        None
    };
    let jobs = if signed.caller.is_admin() {
        let since = crate::time::format_date_time(now - Duration::days(7));
        Some(
            state
                .jobs
                .unfinished_or_failed(&since, 50)
                .await
                .or_page(&signed)?,
        )
    } else {
        None
    };
    let body = html! {
        h1 { "Today" }
        @if dpr_reader {
            section.card aria-labelledby="in-progress" {
                h2 #in-progress { "Digital product releases in progress" }
                @if releases.is_empty() {
                    p.muted { "No release is in progress." }
                } @else {
                    table {
                        thead { tr { th scope="col" { "Release" } th scope="col" { "Product" } th scope="col" { "Current phase" } th scope="col" { "Gate" } th scope="col" { "Target" } } }
                        tbody {
                            @for (r, status) in &releases {
                                tr {
                                    td { a href={"/console/releases/" (r.sys_id)} { (r.name) } }
                                    td { (r.product_name) }
                                    td { (r.current_phase_name.as_deref().unwrap_or("—")) }
                                    td { (gate(status)) }
                                    td { (r.target_date.as_deref().unwrap_or("—")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(waiting) = &waiting {
            section.card aria-labelledby="approvals" {
                h2 #approvals { "Approvals waiting for me" }
                @if waiting.is_empty() {
                    p.muted { "Nothing waits for your decision." }
                } @else {
                    ul {
                        @for w in waiting {
                            li {
                                a href={"/console/servicedesk/" (w.release_id)} { (w.release_title) }
                                " — approval level " (w.level_name)
                            }
                        }
                    }
                }
            }
        }
        @if dpr_reader {
            section.card aria-labelledby="blackouts" {
                h2 #blackouts { "Blackout windows now and in the next " (BLACKOUT_DAYS) " days" }
                @if windows.is_empty() {
                    p.muted { "No blackout window in the next " (BLACKOUT_DAYS) " days." }
                } @else {
                    table {
                        thead { tr { th scope="col" { "Calendar" } th scope="col" { "Schedule" } th scope="col" { "From" } th scope="col" { "Until" } th scope="col" { "" } } }
                        tbody {
                            @for w in &windows {
                                tr {
                                    td { (w.calendar) }
                                    td { (w.schedule) }
                                    td { (w.start.with_timezone(&w.time_zone).format("%Y-%m-%d %H:%M %Z")) }
                                    td { (w.end.with_timezone(&w.time_zone).format("%Y-%m-%d %H:%M %Z")) }
                                    td { @if w.start <= now { (badge("bad", "Now")) } }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(jobs) = &jobs {
            section.card aria-labelledby="jobs" {
                h2 #jobs { "Background jobs running or failed" }
                @if jobs.is_empty() {
                    p.muted { "No job is waiting or running, and none failed in the last 7 days." }
                } @else {
                    table {
                        thead { tr { th scope="col" { "Job" } th scope="col" { "State" } th scope="col" { "Progress" } th scope="col" { "Message" } th scope="col" { "By" } th scope="col" { "Updated" } } }
                        tbody {
                            @for j in jobs {
                                tr {
                                    td { (j.kind) }
                                    td { (badge(if j.state == "failed" { "bad" } else { "info" }, &j.state)) }
                                    td { (j.percent_complete) "%" }
                                    td { (j.error.as_deref().unwrap_or(&j.message)) }
                                    td { (j.created_by) }
                                    td { (super::when(&j.updated_on)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(
        StatusCode::OK,
        shell("Today", Some(&signed), Section::Today, body),
    ))
}
