//! ServiceDesk releases: the list (search, the `filter_by` views, sort,
//! paging: the v3 list's own `list_info`, answered by the same domain
//! function) and a release's page (stage, status, roles, approvals with
//! approve / reject for the level's approvers, tasks, worklogs, notes,
//! history).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use maud::{html, Markup};
use serde_json::{json, Value as Json};

use super::layout::{badge, csrf, shell, Section};
use super::{page, require, see_other, OrPage, PageResult, Posted, Signed};
use crate::app::AppState;
use crate::domain::sdp::subrecords::{self, Kind};
use crate::domain::sdp::{approvals, history, list as sdp_list, releases};
use crate::error::Error;
use crate::http::extract::RoleSet;
use crate::http::sdp::releases::Staff;

/// Releases per list page.
pub const PER_PAGE: i64 = 25;

/// The sortable columns: (field of `list_info`, heading).
const SORTS: &[(&str, &str)] = &[
    ("id", "Id"),
    ("title", "Title"),
    ("stage", "Stage"),
    ("status", "Status"),
    ("priority", "Priority"),
    ("scheduled_end_time", "Scheduled end"),
];

/// The `filter_by` views offered.
const VIEWS: &[(&str, &str)] = &[
    ("all_releases", "All releases"),
    ("open_releases", "Open"),
    ("my_releases", "Mine"),
    ("overdue_releases", "Overdue"),
    ("closed_releases", "Closed"),
];

fn text(v: &Json, key: &str) -> String {
    match &v[key] {
        Json::String(s) => s.clone(),
        Json::Object(o) => o
            .get("name")
            .or_else(|| o.get("display_value"))
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_owned(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

fn list_url(query: &HashMap<String, String>, changes: &[(&str, String)]) -> String {
    let mut url = form_urlencoded::Serializer::new(String::new());
    for key in ["q", "view", "sort", "order", "page"] {
        let value = changes
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
            .or_else(|| query.get(key).cloned());
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            url.append_pair(key, &v);
        }
    }
    format!("/console/servicedesk?{}", url.finish())
}

/// `GET /console/servicedesk`
pub async fn list(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult {
    require(&signed, Staff::ANY_OF)?;
    let get = |k: &str| query.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let search = get("q").unwrap_or("").to_owned();
    let view = get("view")
        .filter(|v| VIEWS.iter().any(|(k, _)| k == v))
        .unwrap_or("all_releases");
    let sort = get("sort")
        .filter(|v| SORTS.iter().any(|(k, _)| k == v))
        .unwrap_or("id");
    let order = if get("order") == Some("desc") {
        "desc"
    } else {
        "asc"
    };
    let page_no = get("page")
        .and_then(|p| p.parse::<i64>().ok())
        .unwrap_or(1)
        .max(1);
    let mut list_info = json!({
        "row_count": PER_PAGE,
        "page": page_no,
        "get_total_count": true,
        "sort_field": sort,
        "sort_order": order,
        "filter_by": {"name": view},
    });
    if !search.is_empty() {
        list_info["search_fields"] = json!({"title": search});
    }
    let mut input = serde_json::Map::new();
    input.insert("list_info".into(), list_info);
    let (info, items) = sdp_list::list(
        &state.db,
        &input,
        &signed.caller,
        state.settings.max_query_terms,
    )
    .await
    .or_page(&signed)?;
    let has_more = info["has_more_rows"].as_bool().unwrap_or(false);
    let total = info["total_count"].as_i64();
    let body = html! {
        h1 { "ServiceDesk releases" }
        form.filters method="get" action="/console/servicedesk" role="search" aria-label="Search releases" {
            div {
                label for="q" { "Title contains" }
                input #q type="search" name="q" value=(search);
            }
            div {
                label for="view" { "Show" }
                select #view name="view" {
                    @for (k, label) in VIEWS { option value=(k) selected[*k == view] { (label) } }
                }
            }
            div {
                label for="sort" { "Sort by" }
                select #sort name="sort" {
                    @for (k, label) in SORTS { option value=(k) selected[*k == sort] { (label) } }
                }
            }
            div {
                label for="order" { "Order" }
                select #order name="order" {
                    option value="asc" selected[order == "asc"] { "Ascending" }
                    option value="desc" selected[order == "desc"] { "Descending" }
                }
            }
            div { button type="submit" { "Show" } }
        }
        p.muted {
            @if let Some(total) = total { (total) " releases, " }
            "page " (page_no)
        }
        table {
            thead {
                tr {
                    @for (k, label) in SORTS {
                        @let next = if *k == sort && order == "asc" { "desc" } else { "asc" };
                        th scope="col" aria-sort=[(*k == sort).then_some(if order == "asc" { "ascending" } else { "descending" })] {
                            a href=(list_url(&query, &[("sort", (*k).to_owned()), ("order", next.to_owned()), ("page", "1".to_owned())])) { (label) }
                        }
                    }
                }
            }
            tbody {
                @for item in &items {
                    tr {
                        td { (text(item, "id")) }
                        td { a href={"/console/servicedesk/" (text(item, "id"))} { (text(item, "title")) } }
                        td { (text(item, "stage")) }
                        td { (text(item, "status")) }
                        td { (text(item, "priority")) }
                        td { (text(item, "scheduled_end_time")) }
                    }
                }
            }
        }
        nav.pager aria-label="Pages" {
            @if page_no > 1 { a href=(list_url(&query, &[("page", (page_no - 1).to_string())])) rel="prev" { "Previous page" } }
            @if has_more { a href=(list_url(&query, &[("page", (page_no + 1).to_string())])) rel="next" { "Next page" } }
        }
    };
    Ok(page(
        StatusCode::OK,
        shell(
            "ServiceDesk releases",
            Some(&signed),
            Section::ServiceDesk,
            body,
        ),
    ))
}

/// `GET /console/servicedesk/{id}`
pub async fn release(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult {
    require(&signed, Staff::ANY_OF)?;
    let outcome = match query.get("notice").map(String::as_str) {
        Some("approved") => Some(Ok("You approved the level.")),
        Some("rejected") => Some(Ok("You rejected the level.")),
        _ => None,
    };
    release_page(&state, &signed, &id, outcome).await
}

async fn release_page(
    state: &AppState,
    signed: &Signed,
    id: &str,
    outcome: Option<Result<&'static str, Error>>,
) -> PageResult {
    let release = releases::get(&state.db, id).await.or_page(signed)?;
    let numeric: i64 = id.parse().unwrap_or(0);
    let stages = approvals::summary(&state.db, id).await.or_page(signed)?;
    let mine = approvals::waiting_for(&state.db, &signed.caller, Some(numeric))
        .await
        .or_page(signed)?;
    let events = history::history(&state.db, numeric).await.or_page(signed)?;
    let tasks = subrecords::list(&state.db, id, Kind::Task)
        .await
        .or_page(signed)?;
    let worklogs = subrecords::list(&state.db, id, Kind::Worklog)
        .await
        .or_page(signed)?;
    let notes = subrecords::list(&state.db, id, Kind::Note)
        .await
        .or_page(signed)?;
    let current_stage = text(&release, "stage");
    let title = text(&release, "title");
    let status = match &outcome {
        Some(Err(e)) => crate::http::envelope::http_status(e.kind),
        _ => StatusCode::OK,
    };
    let body = html! {
        p { a href="/console/servicedesk" { "← All ServiceDesk releases" } }
        h1 { (title) }
        @match &outcome {
            Some(Ok(text)) => div.alert.notice role="status" { (text) },
            Some(Err(e)) => div.alert.error role="alert" { strong { "Refused: " } (e.message) },
            None => {},
        }
        nav aria-label="Stages" {
            ol.stepper {
                @for s in &stages {
                    @let name = text(&s["stage"], "name");
                    @let here = name == current_stage;
                    li class=[(s["visited"].as_bool() == Some(true) && !here).then_some("done")] aria-current=[here.then_some("step")] { (name) }
                }
            }
        }
        section.card aria-labelledby="facts" {
            h2 #facts { "Release" }
            dl.facts {
                dt { "Id" } dd { (text(&release, "id")) }
                dt { "Stage" } dd { (current_stage) }
                dt { "Status" } dd { (text(&release, "status")) }
                dt { "Priority" } dd { (text(&release, "priority")) }
                dt { "Scheduled" } dd { (text(&release, "scheduled_start_time")) " to " (text(&release, "scheduled_end_time")) }
                dt { "Description" } dd { (text(&release, "short_description")) }
            }
        }
        section.card aria-labelledby="roles" {
            h2 #roles { "Roles" }
            @let roles = release["roles"].as_array().cloned().unwrap_or_default();
            @if roles.is_empty() { p.muted { "No one holds a role on this release." } }
            @else {
                ul { @for r in &roles { li { (text(&r["role"], "name")) ": " (text(&r["user"], "name")) } } }
            }
        }
        section.card aria-labelledby="approvals" {
            h2 #approvals { "Approvals" }
            @let levels: Vec<(&Json, &Json)> = stages.iter().flat_map(|s| s["approval_levels"].as_array().into_iter().flatten().map(move |l| (s, l))).collect();
            @if levels.is_empty() { p.muted { "No approval level on this release." } }
            @else {
                table {
                    thead { tr { th scope="col" { "Stage" } th scope="col" { "Level" } th scope="col" { "Status" } th scope="col" { "Decided by" } th scope="col" { "Comments" } } }
                    tbody {
                        @for (s, l) in &levels {
                            tr {
                                td { (text(&s["stage"], "name")) }
                                td { (text(l, "level")) ". " (text(l, "name")) }
                                td { (level_badge(&text(l, "status"))) }
                                td { (text(&l["action_taken_by"], "name")) }
                                td { (text(l, "comments")) }
                            }
                        }
                    }
                }
            }
            @for w in &mine {
                (decision_form(signed, numeric, w))
            }
        }
        section.card aria-labelledby="work" {
            h2 #work { "Tasks, worklogs and notes" }
            h3 { "Tasks" }
            @if tasks.is_empty() { p.muted { "No task." } }
            @else {
                ul { @for t in &tasks { li { (text(t, "title")) " " (badge("info", &text(t, "status"))) @let d = text(t, "description"); @if !d.is_empty() { " — " (d) } } } }
            }
            h3 { "Worklogs" }
            @if worklogs.is_empty() { p.muted { "No worklog." } }
            @else {
                ul { @for w in &worklogs { li { (text(&w["time_spent"], "hours")) " h " (text(&w["time_spent"], "minutes")) " min — " (text(w, "description")) } } }
            }
            h3 { "Notes" }
            @if notes.is_empty() { p.muted { "No note." } }
            @else {
                ul { @for n in &notes { li { (text(n, "description")) " " span.muted { "(" (text(&n["created_time"], "display_value")) ")" } } } }
            }
        }
        section.card aria-labelledby="history" {
            h2 #history { "History" }
            @if events.is_empty() { p.muted { "Nothing recorded yet." } }
            @else {
                table {
                    thead { tr { th scope="col" { "When" } th scope="col" { "Who" } th scope="col" { "What" } th scope="col" { "Changes" } } }
                    tbody {
                        @for e in &events {
                            tr {
                                td { (text(&e["time"], "display_value")) }
                                td { (text(&e["by"], "name")) }
                                td { (text(&e["operation"], "display_name")) }
                                td { (diff_text(&e["diff"])) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(
        status,
        shell(&title, Some(signed), Section::ServiceDesk, body),
    ))
}

fn level_badge(status: &str) -> Markup {
    match status {
        "Approved" => badge("ok", "Approved"),
        "Rejected" => badge("bad", "Rejected"),
        _ => badge("warn", status),
    }
}

/// A history entry's changes, as `field: old → new` lines.
fn diff_text(diff: &Json) -> Markup {
    let items = diff.as_array().cloned().unwrap_or_default();
    html! {
        @for d in &items {
            div {
                (text(d, "field")) @if d.get("field").is_none() { (d.to_string()) }
                @if d.get("field").is_some() { ": " (text(d, "old_value")) " → " (text(d, "new_value")) }
            }
        }
    }
}

fn decision_form(signed: &Signed, release: i64, w: &approvals::Waiting) -> Markup {
    let comment_id = format!("comment-{}", w.level_id);
    html! {
        form.decision.card method="post" action={"/console/servicedesk/" (release) "/approval-levels/" (w.level_id) "/approve"} {
            h3 { "Your decision: " (w.level_name) }
            (csrf(signed))
            label for=(comment_id) { "Comment" }
            textarea #(comment_id) name="comment" {}
            div.actions {
                button type="submit" { "Approve" }
                button.danger type="submit" formaction={"/console/servicedesk/" (release) "/approval-levels/" (w.level_id) "/reject"} { "Reject" }
            }
        }
    }
}

/// `POST /console/servicedesk/{id}/approval-levels/{level}/{approve|reject}`:
/// `approvals::decide`, which refuses anyone but the level's approvers.
pub async fn decide(
    State(state): State<AppState>,
    Path((id, level, decision)): Path<(String, String, String)>,
    posted: Posted,
) -> PageResult {
    let signed = &posted.signed;
    require(signed, Staff::ANY_OF)?;
    let approve = match decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => {
            return Err(super::error_page(
                Some(signed),
                &Error::not_found("There is no such decision"),
            )
            .into())
        }
    };
    let comment = posted
        .form
        .get("comment")
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    match approvals::decide(&state.db, &id, &level, approve, comment, &signed.caller).await {
        Ok(()) => {
            let id: i64 = id.parse().unwrap_or(0);
            let notice = if approve { "approved" } else { "rejected" };
            Ok(see_other(&format!(
                "/console/servicedesk/{id}?notice={notice}"
            )))
        }
        Err(e) => release_page(&state, signed, &id, Some(Err(e))).await,
    }
}
