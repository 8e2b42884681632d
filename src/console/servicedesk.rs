//! ServiceDesk releases: the list (search, the `filter_by` views, sort,
//! paging: the v3 list's own `list_info`, answered by the same domain
//! function) and a release's page (stage, status, roles, approvals with
//! approve / reject for the level's approvers, tasks, worklogs, notes,
//! attachments with their download and an upload form for those who may
//! edit the release, history).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use maud::{html, Markup};
use serde_json::{json, Value as Json};

use super::layout::{badge, csrf, shell, Section};
use super::{page, require, see_other, OrPage, PageResult, Posted, Refused, Signed, Uploaded};
use crate::app::AppState;
use crate::domain::attachments::{self, NewFile, SDP_RELEASE};
use crate::domain::sdp::subrecords::{self, Kind};
use crate::domain::sdp::{approvals, history, list as sdp_list, permissions, releases};
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
    let listing = sdp_list::list(
        &state.db,
        &input,
        &signed.caller,
        state.settings.max_query_terms,
    )
    .await
    .or_page(&signed)?;
    let (info, items) = (&listing.list_info, listing.items());
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
        Some("attached") => Some(Ok("File attached.")),
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
    let files = attachments::of_release(&state.db, numeric)
        .await
        .or_page(signed)?;
    // The upload form is offered to those `attachments::attach` lets
    // attach: who may edit the release in its current stage.
    let may_attach = permissions::of(&state.db, numeric, &signed.caller)
        .await
        .or_page(signed)?
        .require_edit()
        .is_ok();
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
        (attachments_section(signed, numeric, &files, may_attach, state.settings.attachment_max_bytes))
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

/// The release's files (name, size, who attached it and when, each a
/// download link) and, for those who may edit the release, the upload form.
fn attachments_section(
    signed: &Signed,
    release: i64,
    files: &[attachments::Attachment],
    may_attach: bool,
    max_bytes: usize,
) -> Markup {
    html! {
        section.card aria-labelledby="attachments" {
            h2 #attachments { "Attachments" }
            @if files.is_empty() { p.muted { "No attachment." } }
            @else {
                table {
                    thead { tr { th scope="col" { "File" } th scope="col" { "Size" } th scope="col" { "Attached by" } th scope="col" { "When" } } }
                    tbody {
                        @for f in files {
                            tr {
                                td { a href={"/console/servicedesk/" (release) "/attachments/" (f.sys_id)} download=(f.file_name) { (f.file_name) } }
                                td { (attachments::display_size(f.size_bytes)) }
                                td { (f.sys_created_by) }
                                td { (super::when(&f.sys_created_on)) }
                            }
                        }
                    }
                }
            }
            @if may_attach {
                form.filters method="post" enctype="multipart/form-data" action={"/console/servicedesk/" (release) "/attachments"} aria-label="Attach a file" {
                    (csrf(signed))
                    div {
                        label for="file" { "File (up to " (attachments::display_size(max_bytes as i64)) ")" }
                        input #file type="file" name="file" required;
                    }
                    div { button type="submit" { "Attach file" } }
                }
            }
        }
    }
}

/// `POST /console/servicedesk/{id}/attachments` (multipart, a `file`
/// part): `attachments::attach`, as the Attachment API's upload, which
/// refuses those who may not edit the release in its current stage and a
/// file over `attachment_max_bytes`.
pub async fn upload(
    State(state): State<AppState>,
    Path(id): Path<String>,
    uploaded: Uploaded,
) -> PageResult {
    let signed = &uploaded.signed;
    require(signed, Staff::ANY_OF)?;
    let attached = async {
        let parts = uploaded.form.parts()?;
        let file = crate::http::multipart::file(&parts)
            .filter(|f| f.file_name.as_deref().is_some_and(|n| !n.is_empty()))
            .ok_or_else(|| Error::missing("file"))?;
        attachments::attach(
            &state.db,
            &signed.caller,
            NewFile {
                table_name: SDP_RELEASE,
                table_sys_id: &id,
                file_name: file.file_name.as_deref().unwrap_or(""),
                content_type: file.content_type.as_deref(),
                bytes: file.data,
            },
            state.settings.attachment_max_bytes,
        )
        .await
    }
    .await;
    match attached {
        Ok(_) => {
            let id: i64 = id.parse().unwrap_or(0);
            Ok(see_other(&format!(
                "/console/servicedesk/{id}?notice=attached#attachments"
            )))
        }
        Err(e) => release_page(&state, signed, &id, Some(Err(e))).await,
    }
}

/// `GET /console/servicedesk/{id}/attachments/{file}`: the file's bytes,
/// through `attachments::content`, which checks the caller may read the
/// release (a file the caller may not see, or of another release, is "not
/// found").
pub async fn download(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Refused> {
    require(&signed, Staff::ANY_OF)?;
    let (attachment, bytes) = attachments::content(&state.db, &signed.caller, &file)
        .await
        .or_page(&signed)?;
    if attachment.table_name != SDP_RELEASE || attachment.table_sys_id != id {
        return Err(super::error_page(
            Some(&signed),
            &Error::not_found("This release has no such attachment"),
        )
        .into());
    }
    let base = crate::http::base_url(&headers, &state.settings);
    let mut response = crate::http::attachment::file_response(&attachment, bytes, &base);
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    Ok(response)
}
