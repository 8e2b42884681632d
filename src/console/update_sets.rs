//! Update sets: the local and retrieved sets; a retrieved set's updates and
//! preview problems (accept / skip each), preview, commit and commit several
//! in order; a local set's updates and back-out; and a job's progress,
//! refreshed by the page itself while the job runs.
//!
//! Every action calls what the CI/CD API calls
//! (`domain::update_sets::operations`); problems are resolved through the
//! Table API's own write (`records::update_as`, the caller's rights judged).
//! The CI/CD API's role set (`CicdAutomation`) guards every page and form.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use maud::{html, Markup};
use serde_json::{json, Map};

use super::layout::{badge, csrf, shell, shell_refreshing, Section};
use super::{
    error_page, page, require, rows, see_other, when, OrPage, PageResult, Posted, Refused, Signed,
};
use crate::app::AppState;

use crate::domain::records;
use crate::domain::update_sets::{back_out, operations};
use crate::error::Error;
use crate::http::cicd::view::status_of;
use crate::http::cicd::CicdAutomation;
use crate::http::extract::RoleSet;
use crate::jobs::JobState;
use crate::registry::{self, ColumnType, Table};
use crate::storage::Row;

/// Sets listed per kind on the list page.
const LISTED: i64 = 200;
/// Updates and problems shown on a set's page.
const SHOWN: i64 = 500;

fn table(name: &str) -> Result<&'static Table, Error> {
    registry::table(name).ok_or_else(|| Error::internal(format!("table {name} not registered")))
}

/// The label of a choice value of `table.column` (the value itself when the
/// column has no such choice).
fn label(table: &Table, column: &str, value: &str) -> String {
    match table.column(column).map(|c| &c.ty) {
        Some(ColumnType::Choice(choices)) => choices
            .iter()
            .find(|(v, _)| *v == value)
            .map_or(value, |(_, l)| l)
            .to_owned(),
        _ => value.to_owned(),
    }
}

/// A record's page of the console, by its table.
fn record_path(table: &str, id: &str) -> Option<String> {
    match table {
        "sys_remote_update_set" => Some(format!("/console/update-sets/retrieved/{id}")),
        "sys_update_set" => Some(format!("/console/update-sets/local/{id}")),
        _ => None,
    }
}

fn state_badge(state: &str, text: &str) -> Markup {
    match state {
        "committed" | "complete" => badge("ok", text),
        "backed_out" | "ignore" => badge("bad", text),
        "previewed" => badge("info", text),
        _ => badge("warn", text),
    }
}

/// `GET /console/update-sets`
pub async fn list(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult {
    require(&signed, CicdAutomation::ANY_OF)?;
    let remote_table = table("sys_remote_update_set").or_page(&signed)?;
    let local_table = table("sys_update_set").or_page(&signed)?;
    let (retrieved, _) = rows(
        &state,
        remote_table,
        "ORDERBYsys_created_on^ORDERBYname",
        LISTED,
        0,
    )
    .await
    .or_page(&signed)?;
    let (local, _) = rows(&state, local_table, "ORDERBYDESCsys_updated_on", LISTED, 0)
        .await
        .or_page(&signed)?;
    let sources = records::reference_displays(&state.db, remote_table, &retrieved)
        .await
        .or_page(&signed)?;
    let xml = table("sys_update_xml").or_page(&signed)?;
    let mut local_counts = HashMap::new();
    for set in &local {
        let id = set.string("sys_id");
        let (_, n) = rows(&state, xml, &format!("update_set={id}"), 1, 0)
            .await
            .or_page(&signed)?;
        local_counts.insert(id, n);
    }
    let notice = query.get("refused").map(String::as_str);
    let body = html! {
        h1 { "Update sets" }
        @if let Some(message) = notice { div.alert.error role="alert" { strong { "Refused: " } (message) } }
        section.card aria-labelledby="retrieved" {
            h2 #retrieved { "Retrieved update sets" }
            @if retrieved.is_empty() { p.muted { "No update set has been retrieved." } }
            @else {
                form method="post" action="/console/update-sets/commit-multiple" {
                    (csrf(&signed))
                    table {
                        thead { tr {
                            th scope="col" { "Commit" }
                            th scope="col" { "Name" }
                            th scope="col" { "State" }
                            th scope="col" { "Source instance" }
                            th scope="col" { "Updates" }
                            th scope="col" { "Retrieved" }
                        } }
                        tbody {
                            @for (i, set) in retrieved.iter().enumerate() {
                                @let id = set.string("sys_id");
                                @let st = set.string("state");
                                @let name = set.string("name");
                                tr {
                                    td {
                                        @if st != "committed" {
                                            input type="checkbox" id={"pick-" (id)} name={"set." (format!("{i:05}"))} value=(id) aria-label={"Commit " (name)};
                                        }
                                    }
                                    td { a href={"/console/update-sets/retrieved/" (id)} { (name) } }
                                    td { (state_badge(&st, &label(remote_table, "state", &st))) }
                                    td { (sources.get(&("sys_update_set_source".to_owned(), set.string("update_source"))).cloned().unwrap_or_default()) }
                                    td { (set.int("update_count").unwrap_or(0)) }
                                    td { (when(&set.string("sys_created_on"))) }
                                }
                            }
                        }
                    }
                    div.actions {
                        button type="submit" { "Commit selected in order" }
                    }
                    p.muted { "Selected sets are committed one after the other in the order listed (oldest retrieved first, then by name); the first failure stops the rest." }
                }
            }
        }
        section.card aria-labelledby="local" {
            h2 #local { "Local update sets" }
            @if local.is_empty() { p.muted { "No local update set." } }
            @else {
                table {
                    thead { tr {
                        th scope="col" { "Name" }
                        th scope="col" { "State" }
                        th scope="col" { "Installed from" }
                        th scope="col" { "Updates" }
                        th scope="col" { "Updated" }
                    } }
                    tbody {
                        @for set in &local {
                            @let id = set.string("sys_id");
                            @let st = set.string("state");
                            tr {
                                td { a href={"/console/update-sets/local/" (id)} { (set.string("name")) } }
                                td {
                                    (state_badge(&st, &label(local_table, "state", &st)))
                                    @if set.bool("backed_out") { " " (badge("bad", "Backed out")) }
                                }
                                td { (set.string("installed_from")) }
                                td { (local_counts.get(&id).copied().unwrap_or(0)) }
                                td { (when(&set.string("sys_updated_on"))) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(
        StatusCode::OK,
        shell("Update sets", Some(&signed), Section::UpdateSets, body),
    ))
}

/// The updates of a set, as a table.
fn updates_table(xml: &Table, updates: &[Row], total: i64) -> Markup {
    html! {
        @if updates.is_empty() { p.muted { "No update." } }
        @else {
            @if total > updates.len() as i64 { p.muted { "The first " (updates.len()) " of " (total) " updates." } }
            table {
                thead { tr {
                    th scope="col" { "#" }
                    th scope="col" { "Table" }
                    th scope="col" { "Record" }
                    th scope="col" { "Action" }
                    th scope="col" { "Disposition" }
                } }
                tbody {
                    @for u in updates {
                        @let d = u.string("disposition");
                        tr {
                            td { (u.int("sequence").unwrap_or(0)) }
                            td { (u.string("table")) }
                            td { (u.string("target_name")) " " span.muted { "(" (u.string("record_sys_id")) ")" } }
                            td { (u.string("action")) }
                            td { (label(xml, "disposition", &d)) }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /console/update-sets/retrieved/{id}`
pub async fn retrieved(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult {
    require(&signed, CicdAutomation::ANY_OF)?;
    let notice = match query.get("notice").map(String::as_str) {
        Some("accepted") => Some("You accepted the remote update: it is committed with the set."),
        Some("skipped") => Some("You skipped the remote update: the commit leaves it out."),
        _ => None,
    };
    let remote_table = table("sys_remote_update_set").or_page(&signed)?;
    let xml = table("sys_update_xml").or_page(&signed)?;
    let problems_table = table("sys_update_preview_problem").or_page(&signed)?;
    let set = records::get(&state.db, remote_table, &id)
        .await
        .or_page(&signed)?
        .ok_or_else(|| {
            Refused::from(error_page(
                Some(&signed),
                &records::record_not_found(remote_table, &id),
            ))
        })?;
    let (updates, total) = rows(
        &state,
        xml,
        &format!("remote_update_set={id}^ORDERBYsequence"),
        SHOWN,
        0,
    )
    .await
    .or_page(&signed)?;
    let (problems, _) = rows(
        &state,
        problems_table,
        &format!("remote_update_set={id}^ORDERBYsys_created_on"),
        SHOWN,
        0,
    )
    .await
    .or_page(&signed)?;
    let sources = records::reference_displays(&state.db, remote_table, std::slice::from_ref(&set))
        .await
        .or_page(&signed)?;
    let name = set.string("name");
    let st = set.string("state");
    let committed = st == "committed";
    let may_act = signed.may(CicdAutomation::ANY_OF);
    let unresolved = problems
        .iter()
        .filter(|p| p.string("status").is_empty())
        .count();
    let local = set.string("update_set");
    let body = html! {
        p { a href="/console/update-sets" { "← All update sets" } }
        h1 { (name) }
        @if let Some(text) = notice { div.alert.notice role="status" { (text) } }
        section.card aria-labelledby="facts" {
            h2 #facts { "Retrieved update set" }
            dl.facts {
                dt { "State" } dd { (state_badge(&st, &label(remote_table, "state", &st))) }
                dt { "Source instance" } dd { (sources.get(&("sys_update_set_source".to_owned(), set.string("update_source"))).cloned().unwrap_or_default()) }
                dt { "Description" } dd { (set.string("description")) }
                dt { "Updates" } dd { (set.int("update_count").unwrap_or(0)) }
                dt { "Previewed" } dd { (when(&set.string("preview_date"))) }
                dt { "Committed" } dd { (when(&set.string("commit_date"))) }
                @if !local.is_empty() {
                    dt { "Local update set" } dd { a href={"/console/update-sets/local/" (local)} { "Open the committed copy" } }
                }
            }
            @if may_act && !committed {
                div.actions {
                    form.inline method="post" action={"/console/update-sets/retrieved/" (id) "/preview"} {
                        (csrf(&signed))
                        button.secondary type="submit" { "Preview" }
                    }
                    form.inline method="post" action={"/console/update-sets/retrieved/" (id) "/commit"} {
                        (csrf(&signed))
                        button type="submit" { "Commit" }
                    }
                }
                @if unresolved > 0 {
                    p.muted { (unresolved) " preview problem(s) wait for a decision: the commit is refused until each is accepted or skipped." }
                }
            }
        }
        section.card aria-labelledby="problems" {
            h2 #problems { "Preview problems" }
            @if problems.is_empty() { p.muted { "No problem found (or the set is not previewed yet)." } }
            @else {
                table {
                    thead { tr {
                        th scope="col" { "Severity" }
                        th scope="col" { "Problem" }
                        th scope="col" { "Description" }
                        th scope="col" { "Status" }
                        th scope="col" { "Decision" }
                    } }
                    tbody {
                        @for p in &problems {
                            @let pid = p.string("sys_id");
                            @let status = p.string("status");
                            @let severity = p.string("type");
                            tr {
                                td { @if severity == "error" { (badge("bad", &label(problems_table, "type", &severity))) } @else { (badge("warn", &label(problems_table, "type", &severity))) } }
                                td { (label(problems_table, "problem_type", &p.string("problem_type"))) }
                                td { (p.string("description")) }
                                td { (label(problems_table, "status", &status)) }
                                td {
                                    @if may_act && !committed {
                                        form.inline method="post" action={"/console/update-sets/problems/" (pid) "/accept"} {
                                            (csrf(&signed))
                                            button.secondary type="submit" aria-label={"Accept remote update: " (p.string("description"))} disabled[status == "ignored"] { "Accept" }
                                        }
                                        " "
                                        form.inline method="post" action={"/console/update-sets/problems/" (pid) "/skip"} {
                                            (csrf(&signed))
                                            button.secondary type="submit" aria-label={"Skip remote update: " (p.string("description"))} disabled[status == "skipped"] { "Skip" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card aria-labelledby="updates" {
            h2 #updates { "Updates" }
            (updates_table(xml, &updates, total))
        }
    };
    Ok(page(
        StatusCode::OK,
        shell(&name, Some(&signed), Section::UpdateSets, body),
    ))
}

/// `GET /console/update-sets/local/{id}`
pub async fn local(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> PageResult {
    require(&signed, CicdAutomation::ANY_OF)?;
    let local_table = table("sys_update_set").or_page(&signed)?;
    let xml = table("sys_update_xml").or_page(&signed)?;
    let set = records::get(&state.db, local_table, &id)
        .await
        .or_page(&signed)?
        .ok_or_else(|| {
            Refused::from(error_page(
                Some(&signed),
                &records::record_not_found(local_table, &id),
            ))
        })?;
    let (updates, total) = rows(
        &state,
        xml,
        &format!("update_set={id}^ORDERBYsequence"),
        SHOWN,
        0,
    )
    .await
    .or_page(&signed)?;
    let name = set.string("name");
    let st = set.string("state");
    let refusal = back_out::refusal(&set);
    let remote = set.string("remote_sys_id");
    let body = html! {
        p { a href="/console/update-sets" { "← All update sets" } }
        h1 { (name) }
        section.card aria-labelledby="facts" {
            h2 #facts { "Local update set" }
            dl.facts {
                dt { "State" } dd {
                    (state_badge(&st, &label(local_table, "state", &st)))
                    @if set.bool("backed_out") { " " (badge("bad", "Backed out")) " " (when(&set.string("backed_out_on"))) }
                }
                dt { "Description" } dd { (set.string("description")) }
                dt { "Installed" } dd { (when(&set.string("install_date"))) " " (set.string("installed_from")) }
                dt { "Updates" } dd { (total) }
                @if !remote.is_empty() {
                    dt { "Retrieved from" } dd { a href={"/console/update-sets/retrieved/" (remote)} { "The retrieved update set" } }
                }
            }
            @if refusal.is_none() {
                form method="post" action={"/console/update-sets/local/" (id) "/back-out"} {
                    (csrf(&signed))
                    div {
                        input #rollback type="checkbox" name="rollback_installs" value="true" checked;
                        " "
                        label for="rollback" { "Also back out the sets committed with it in the same batch (latest first)" }
                    }
                    div.actions { button.danger type="submit" { "Back out" } }
                }
            }
        }
        section.card aria-labelledby="updates" {
            h2 #updates { "Updates" }
            (updates_table(xml, &updates, total))
        }
    };
    Ok(page(
        StatusCode::OK,
        shell(&name, Some(&signed), Section::UpdateSets, body),
    ))
}

/// `POST /console/update-sets/problems/{id}/{accept|skip}`: the problem's
/// status written as the Table API writes it (`ignored` accepts the remote
/// update, `skipped` leaves it out), the caller's rights judged.
pub async fn decide(
    State(state): State<AppState>,
    Path((id, decision)): Path<(String, String)>,
    posted: Posted,
) -> PageResult {
    let signed = &posted.signed;
    require(signed, CicdAutomation::ANY_OF)?;
    let (status, notice) = match decision.as_str() {
        "accept" => ("ignored", "accepted"),
        "skip" => ("skipped", "skipped"),
        _ => {
            return Err(
                error_page(Some(signed), &Error::not_found("There is no such decision")).into(),
            )
        }
    };
    let problems_table = table("sys_update_preview_problem").or_page(signed)?;
    let mut input = Map::new();
    input.insert("status".into(), json!(status));
    let row = records::update_as(
        &state.db,
        problems_table,
        &id,
        &input,
        &signed.caller.user_name,
        Some(&signed.caller),
    )
    .await
    .or_page(signed)?;
    Ok(see_other(&format!(
        "/console/update-sets/retrieved/{}?notice={notice}",
        row.string("remote_update_set")
    )))
}

/// The job page of a queued operation, or the refusal as a page.
fn to_job(signed: &Signed, queued: Result<crate::jobs::Progress, Error>) -> PageResult {
    let progress = queued.or_page(signed)?;
    Ok(see_other(&format!(
        "/console/update-sets/jobs/{}",
        progress.id
    )))
}

/// `POST /console/update-sets/retrieved/{id}/preview`
pub async fn preview(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> PageResult {
    let signed = &posted.signed;
    require(signed, CicdAutomation::ANY_OF)?;
    to_job(
        signed,
        operations::preview(&state.db, &state.jobs, &id, &signed.caller.user_name).await,
    )
}

/// `POST /console/update-sets/retrieved/{id}/commit` (never forced: each
/// problem is accepted or skipped first).
pub async fn commit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> PageResult {
    let signed = &posted.signed;
    require(signed, CicdAutomation::ANY_OF)?;
    to_job(
        signed,
        operations::commit(&state.db, &state.jobs, &id, false, &signed.caller.user_name).await,
    )
}

/// `POST /console/update-sets/commit-multiple`: the checked sets
/// (`set.NNNNN` = sys_id) in the order listed, as commitMultiple.
pub async fn commit_multiple(State(state): State<AppState>, posted: Posted) -> PageResult {
    let signed = &posted.signed;
    require(signed, CicdAutomation::ANY_OF)?;
    let mut picked: Vec<(&String, &String)> = posted
        .form
        .iter()
        .filter(|(k, _)| k.starts_with("set."))
        .collect();
    picked.sort();
    let list: Vec<&str> = picked.iter().map(|(_, v)| v.as_str()).collect();
    let ids =
        operations::remote_set_ids(&list.join(","), state.settings.max_query_terms).map_err(|_| {
            Error::invalid(
                "remote_update_set_ids",
                "choose at least one retrieved update set to commit",
            )
        });
    let queued = match ids {
        Ok(ids) => {
            operations::commit_multiple(
                &state.db,
                &state.jobs,
                ids,
                false,
                &signed.caller.user_name,
            )
            .await
        }
        Err(e) => Err(e),
    };
    to_job(signed, queued)
}

/// `POST /console/update-sets/local/{id}/back-out`
pub async fn back_out(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> PageResult {
    let signed = &posted.signed;
    require(signed, CicdAutomation::ANY_OF)?;
    let rollback_installs = posted.form.contains_key("rollback_installs");
    to_job(
        signed,
        operations::back_out(
            &state.db,
            &state.jobs,
            &id,
            rollback_installs,
            &signed.caller.user_name,
        )
        .await,
    )
}

/// `GET /console/update-sets/jobs/{id}`: the job's state, percent and
/// messages; the page reloads itself every 2 seconds until the job ends.
pub async fn job(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> PageResult {
    require(&signed, CicdAutomation::ANY_OF)?;
    let progress = state
        .jobs
        .progress(&id)
        .await
        .or_page(&signed)?
        .ok_or_else(|| {
            Refused::from(error_page(
                Some(&signed),
                &Error::not_found(format!("There is no job {id}")),
            ))
        })?;
    if !progress.kind.starts_with("cicd.update_set.") {
        return Err(error_page(
            Some(&signed),
            &Error::not_found(format!("There is no update-set job {id}")),
        )
        .into());
    }
    let running = matches!(progress.state, JobState::Pending | JobState::Running);
    let (_, state_label) = status_of(progress.state);
    let what = match progress.kind.as_str() {
        k if k.contains("preview") => "Preview",
        k if k.contains("multiple") => "Commit in order",
        k if k.contains("commit") => "Commit",
        k if k.contains("back_out") || k.contains("backout") => "Back out",
        k if k.contains("retrieve") => "Retrieval",
        _ => "Job",
    };
    let result = progress
        .result
        .as_ref()
        .and_then(|(t, rid)| record_path(t, rid));
    let body = html! {
        p { a href="/console/update-sets" { "← All update sets" } }
        h1 { (what) }
        section.card aria-labelledby="progress-heading" {
            h2 #progress-heading { "Progress" }
            p {
                @match progress.state {
                    JobState::Succeeded => (badge("ok", state_label)),
                    JobState::Failed | JobState::Canceled => (badge("bad", state_label)),
                    _ => (badge("warn", state_label)),
                }
                " " (progress.percent_complete) "%"
            }
            progress #bar max="100" value=(progress.percent_complete) aria-label={(what) " progress"} { (progress.percent_complete) "%" }
            @if !progress.status_message.is_empty() { p role="status" { (progress.status_message) } }
            @if !progress.status_detail.is_empty() && progress.status_detail != progress.status_message {
                p.muted { (progress.status_detail) }
            }
            @if !progress.error.is_empty() {
                div.alert.error role="alert" { strong { "Failed: " } (progress.error) }
            }
            @if running { p.muted { "This page refreshes itself every 2 seconds until the job ends." } }
            @if let Some(path) = &result { p { a href=(path) { "Open the update set" } } }
        }
    };
    let title = format!("{what}: {state_label}");
    let markup = if running {
        shell_refreshing(&title, Some(&signed), Section::UpdateSets, 2, body)
    } else {
        shell(&title, Some(&signed), Section::UpdateSets, body)
    };
    Ok(page(StatusCode::OK, markup))
}
