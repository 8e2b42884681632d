//! Configuration data (CDM): the applications; an application's tree with
//! the value each variable resolves to per deployable, and its changesets;
//! a changeset's changes as a diff, its conflicts and its commit (queued as
//! the API queues it, with the validation results per deployable once it
//! ends); each deployable's snapshots with validate, publish and an export
//! download.
//!
//! Reads come from `domain::cdm::overview`; the commit is
//! `requests::queue_commit`, validate and publish `snapshots::act`, the
//! export `export::download`: the API's own functions. The CDM API's role
//! sets guard every page and form (`CdmReaders` to read and export,
//! `CdmEditors` to commit, validate and publish). Secure values are shown
//! masked, as the API shows them to a reader.

use std::collections::{BTreeSet, HashMap};

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use maud::{html, Markup};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::layout::{badge, csrf, shell, shell_refreshing, Section};
use super::{page, require, see_other, when, OrPage, PageResult, Posted, Signed};
use crate::app::AppState;
use crate::domain::cdm::overview::{self, SnapshotRow};
use crate::domain::cdm::requests::{self, ChangesetRef};
use crate::domain::cdm::snapshots::{self, Action, Which};
use crate::domain::cdm::{export, MASK};
use crate::error::Error;
use crate::http::cdm::{CdmEditors, CdmReaders};
use crate::http::extract::RoleSet;

/// What a path segment keeps as it is: letters, digits and `-._~`.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A name (an application's, a changeset's) as a path segment.
fn seg(name: &str) -> String {
    utf8_percent_encode(name, SEGMENT).to_string()
}

fn app_url(app: &str) -> String {
    format!("/console/config/{}", seg(app))
}

fn changeset_url(app: &str, number: &str) -> String {
    format!("{}/changesets/{}", app_url(app), seg(number))
}

fn snapshots_url(app: &str) -> String {
    format!("{}/snapshots", app_url(app))
}

fn changeset_badge(state: &str) -> Markup {
    let kind = match state {
        "committed" => "ok",
        "blocked" | "commit_failed" => "bad",
        "open" => "info",
        _ => "warn",
    };
    badge(kind, &state.replace('_', " "))
}

fn validation_badge(validation: &str) -> Markup {
    let kind = match validation {
        "passed" | "passed_with_exception" => "ok",
        "failed" | "execution_error" => "bad",
        _ => "warn",
    };
    badge(kind, &validation.replace('_', " "))
}

/// A value cell: masked values marked as such, an empty value in words.
fn value_cell(value: Option<&str>) -> Markup {
    html! {
        @match value {
            Some(v) if v == MASK => span.masked title="Secure value (masked)" { (v) },
            Some("") | None => span.muted { "(empty)" },
            Some(v) => code { (v) },
        }
    }
}

/// The tabs of an application's pages.
fn app_nav(app: &str, current: &str) -> Markup {
    let here = |name: &str| (name == current).then_some("page");
    html! {
        nav.tabs aria-label="Application" {
            a href=(app_url(app)) aria-current=[here("tree")] { "Tree and values" }
            " "
            a href=(snapshots_url(app)) aria-current=[here("snapshots")] { "Snapshots" }
        }
    }
}

/// `GET /console/config`
pub async fn list(State(state): State<AppState>, signed: Signed) -> PageResult {
    require(&signed, CdmReaders::ANY_OF)?;
    let apps = overview::applications(&state.db).await.or_page(&signed)?;
    let body = html! {
        h1 { "Configuration data" }
        p.muted { "Applications and shared libraries, their deployables, open changesets and the snapshot each deployable has published." }
        section.card aria-labelledby="apps" {
            h2 #apps { "Applications" }
            @if apps.is_empty() { p.muted { "No configuration-data application." } }
            @else {
                table {
                    thead { tr {
                        th scope="col" { "Application" }
                        th scope="col" { "Kind" }
                        th scope="col" { "Deployables" }
                        th scope="col" { "Open changesets" }
                        th scope="col" { "Latest published snapshot" }
                    } }
                    tbody {
                        @for a in &apps {
                            tr {
                                td { a href=(app_url(&a.name)) { (a.name) } }
                                td { @if a.kind == "shared_library" { "Shared library" } @else { "Application" } }
                                td { (a.deployables) }
                                td { @if a.open_changesets > 0 { (badge("info", &a.open_changesets.to_string())) } @else { "0" } }
                                td {
                                    @if a.published.is_empty() { span.muted { "—" } }
                                    @else {
                                        ul.plain {
                                            @for (d, s) in &a.published {
                                                li { (d) ": " @match s { Some(s) => code { (s) }, None => span.muted { "none published" } } }
                                            }
                                        }
                                    }
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
        shell("Configuration data", Some(&signed), Section::Config, body),
    ))
}

/// `GET /console/config/{app}`
pub async fn application(
    State(state): State<AppState>,
    signed: Signed,
    Path(app): Path<String>,
) -> PageResult {
    require(&signed, CdmReaders::ANY_OF)?;
    let o = overview::application(&state.db, &app)
        .await
        .or_page(&signed)?;
    let variables: BTreeSet<&String> = o
        .deployables
        .iter()
        .flat_map(|d| d.variables.keys())
        .collect();
    let body = html! {
        p { a href="/console/config" { "← All applications" } }
        h1 { (o.name) }
        (app_nav(&o.name, "tree"))
        section.card aria-labelledby="changesets" {
            h2 #changesets { "Changesets" }
            @if o.changesets.is_empty() { p.muted { "No changeset." } }
            @else {
                table {
                    thead { tr {
                        th scope="col" { "Changeset" }
                        th scope="col" { "State" }
                        th scope="col" { "Description" }
                        th scope="col" { "Created by" }
                        th scope="col" { "Committed" }
                    } }
                    tbody {
                        @for c in &o.changesets {
                            @let number = c.string("number");
                            tr {
                                td { a href=(changeset_url(&o.name, &number)) { (number) } }
                                td { (changeset_badge(&c.string("state"))) }
                                td { (c.string("description")) }
                                td { (c.string("sys_created_by")) }
                                td { (when(&c.string("committed_at"))) }
                            }
                        }
                    }
                }
            }
        }
        @if !o.deployables.is_empty() {
            section.card aria-labelledby="resolved" {
                h2 #resolved { "Variables by deployable" }
                p.muted { "The value each variable resolves to in each deployable (the deployable's own variables over its collections' over the application's), as the next snapshot would take it. Secure values stay masked." }
                @if variables.is_empty() { p.muted { "No variable." } }
                @else {
                    table {
                        thead { tr {
                            th scope="col" { "Variable" }
                            @for d in &o.deployables { th scope="col" { (d.name) " " span.muted { "(" (d.environment_type) ")" } } }
                        } }
                        tbody {
                            @for v in &variables {
                                tr {
                                    th scope="row" { code { (v) } }
                                    @for d in &o.deployables { td { (value_cell(d.variables.get(*v).map(String::as_str))) } }
                                }
                            }
                        }
                    }
                }
                @for d in &o.deployables {
                    details {
                        summary { "Resolved configuration of " (d.name) " (" (d.cdi_count) " values)" }
                        @if d.config.is_empty() { p.muted { "Nothing configured yet." } }
                        @else {
                            table {
                                thead { tr { th scope="col" { "Key" } th scope="col" { "Value" } } }
                                tbody {
                                    @for (k, v) in &d.config {
                                        tr { td { code { (k) } } td { (value_cell(Some(v))) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card aria-labelledby="tree" {
            h2 #tree { "Tree (committed)" }
            table.tree {
                thead { tr {
                    th scope="col" { "Node" }
                    th scope="col" { "Type" }
                    th scope="col" { "Value" }
                } }
                tbody {
                    @for r in &o.rows {
                        tr {
                            td class={"depth-" (r.depth.min(8))} title=(r.path) {
                                @if r.system_folder { span.muted { (r.name) } } @else { (r.name) }
                            }
                            td { (r.kind) @if r.secure { " " (badge("warn", "secure")) } }
                            td {
                                @if let Some(target) = &r.includes { "includes " code { (target) } }
                                @else if r.leaf { (value_cell(r.value.as_deref())) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(
        StatusCode::OK,
        shell(&o.name, Some(&signed), Section::Config, body),
    ))
}

/// The validation verdicts of a snapshot, in words.
fn verdicts(s: &SnapshotRow) -> Markup {
    html! {
        @if s.verdicts.is_empty() {
            @if s.row.string("validation") == "passed" { span.muted { "No policy mapped" } }
        } @else {
            ul.plain {
                @for (policy, compliant, reason) in &s.verdicts {
                    li {
                        @if *compliant { (badge("ok", "compliant")) } @else { (badge("bad", "not compliant")) }
                        " " (policy)
                        @if !reason.is_empty() { span.muted { " — " (reason) } }
                    }
                }
            }
        }
    }
}

/// `GET /console/config/{app}/changesets/{number}`
pub async fn changeset(
    State(state): State<AppState>,
    signed: Signed,
    Path((app, number)): Path<(String, String)>,
) -> PageResult {
    require(&signed, CdmReaders::ANY_OF)?;
    let v = overview::changeset(&state.db, &app, &number)
        .await
        .or_page(&signed)?;
    let cs = &v.changeset;
    let number = cs.string("number");
    let st = cs.string("state");
    let committing = v.committing();
    let may_commit = signed.may(CdmEditors::ANY_OF) && v.committable() && !committing;
    let conflicts: Vec<_> = v.changes.iter().filter(|c| c.conflict.is_some()).collect();
    let body = html! {
        p { a href=(app_url(&app)) { "← " (app) } }
        h1 { (number) }
        (app_nav(&app, "changeset"))
        @if committing {
            div.alert.notice role="status" { "The commit is queued or running: this page refreshes itself every 2 seconds until it ends." }
        } @else if let Some(req) = &v.commit {
            @match req.string("state").as_str() {
                "error" => div.alert.error role="alert" { strong { "The commit did not go through: " } (req.string("errors")) },
                "completed" if st == "committed" => div.alert.notice role="status" { "Committed. The snapshots it made and their validation are below." },
                _ => {},
            }
        }
        section.card aria-labelledby="facts" {
            h2 #facts { "Changeset" }
            dl.facts {
                dt { "State" } dd { (changeset_badge(&st)) }
                dt { "Application" } dd { a href=(app_url(&app)) { (app) } }
                dt { "Description" } dd { (cs.string("description")) }
                dt { "Created" } dd { (when(&cs.string("sys_created_on"))) " by " (cs.string("sys_created_by")) }
                @if st == "committed" {
                    dt { "Committed" } dd { (when(&cs.string("committed_at"))) }
                }
                @if let Some(req) = &v.commit {
                    @let req_state = req.string("state");
                    dt { "Last commit request" }
                    dd {
                        @match req_state.as_str() {
                            "completed" => (badge("ok", "completed")),
                            "error" => (badge("bad", "failed")),
                            _ => (badge("warn", "queued")),
                        }
                        " asked " (when(&req.string("sys_created_on"))) " by " (req.string("sys_created_by"))
                    }
                }
            }
        }
        section.card aria-labelledby="changes" {
            h2 #changes { "Changes" }
            @if v.changes.is_empty() { p.muted { "No change." } }
            @else {
                table.diff {
                    thead { tr {
                        th scope="col" { "Node" }
                        th scope="col" { "Type" }
                        th scope="col" { "Change" }
                        th scope="col" { "Old value" }
                        th scope="col" { "New value" }
                    } }
                    tbody {
                        @for c in &v.changes {
                            tr {
                                td {
                                    code { (c.path) }
                                    @if let Some(old) = c.old_name.as_ref().filter(|o| **o != c.new_name) { br; span.muted { "was " (old) } }
                                }
                                td { (c.kind) }
                                td { (c.state) @if c.conflict.is_some() { " " (badge("bad", "conflict")) } }
                                td { @if c.old_value.is_some() { del { (value_cell(c.old_value.as_deref())) } } }
                                td { @if c.new_value.is_some() { ins { (value_cell(c.new_value.as_deref())) } } }
                            }
                        }
                    }
                }
            }
        }
        section.card aria-labelledby="conflicts" {
            h2 #conflicts { "Conflicts" }
            @if conflicts.is_empty() {
                p.muted { @if st == "committed" { "None: the changeset is committed." } @else { "None found (conflicts are detected when the changeset is committed)." } }
            } @else {
                ul {
                    @for c in &conflicts {
                        @if let Some((kind, reason)) = &c.conflict {
                            li { code { (c.path) } ": " strong { (kind.replace('_', " ")) } @if !reason.is_empty() { " — " (reason) } }
                        }
                    }
                }
            }
        }
        @if may_commit {
            section.card aria-labelledby="commit" {
                h2 #commit { "Commit" }
                form method="post" action={(changeset_url(&app, &number)) "/commit"} {
                    (csrf(&signed))
                    div {
                        input #auto-validate type="checkbox" name="auto_validate" value="true" checked;
                        " "
                        label for="auto-validate" { "Validate the new snapshots with their deployables' policies" }
                    }
                    div {
                        label for="publish-option" { "Publish" }
                        " "
                        select #publish-option name="publish_option" {
                            option value="publish_none" selected { "Nothing (publish later)" }
                            option value="publish_valid" { "The snapshots that pass validation" }
                        }
                    }
                    div.actions { button type="submit" { "Commit" } }
                }
                p.muted { "Conflicts are detected first: a conflict blocks the commit and is listed above. Each deployable whose configuration the changes reach gets a new snapshot." }
            }
        }
        @if !v.snapshots.is_empty() {
            section.card aria-labelledby="validation" {
                h2 #validation { "Validation results per deployable" }
                table {
                    thead { tr {
                        th scope="col" { "Deployable" }
                        th scope="col" { "Snapshot" }
                        th scope="col" { "Validation" }
                        th scope="col" { "Published" }
                        th scope="col" { "Policies" }
                    } }
                    tbody {
                        @for s in &v.snapshots {
                            tr {
                                td { (s.row.string("deployable_name")) }
                                td { a href=(snapshots_url(&app)) { code { (s.row.string("name")) } } }
                                td { (validation_badge(&s.row.string("validation"))) }
                                td { @if s.row.bool("published") { (badge("ok", "published")) } @else { "no" } }
                                td { (verdicts(s)) }
                            }
                        }
                    }
                }
            }
        }
    };
    let title = format!("{number} · {app}");
    let markup = if committing {
        shell_refreshing(&title, Some(&signed), Section::Config, 2, body)
    } else {
        shell(&title, Some(&signed), Section::Config, body)
    };
    Ok(page(StatusCode::OK, markup))
}

/// `POST /console/config/{app}/changesets/{number}/commit`: queues the
/// commit as the API does, then shows the changeset (which follows it).
pub async fn commit(
    State(state): State<AppState>,
    Path((app, number)): Path<(String, String)>,
    posted: Posted,
) -> PageResult {
    let signed = &posted.signed;
    require(signed, CdmEditors::ANY_OF)?;
    // The changeset must be this application's (a not-found page else).
    let view = overview::changeset(&state.db, &app, &number)
        .await
        .or_page(signed)?;
    let number = view.changeset.string("number");
    let auto_validate = posted.form.contains_key("auto_validate");
    let publish = posted
        .form
        .get("publish_option")
        .map(String::as_str)
        .unwrap_or("publish_none");
    requests::queue_commit(
        &state.db,
        &state.jobs,
        ChangesetRef::Number(&number),
        auto_validate,
        publish,
        &signed.caller.user_name,
    )
    .await
    .or_page(signed)?;
    Ok(see_other(&changeset_url(&app, &number)))
}

/// `GET /console/config/{app}/snapshots`
pub async fn snapshots_page(
    State(state): State<AppState>,
    signed: Signed,
    Path(app): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult {
    require(&signed, CdmReaders::ANY_OF)?;
    let by_deployable = overview::snapshots(&state.db, &app)
        .await
        .or_page(&signed)?;
    let notice = match query.get("notice").map(String::as_str) {
        Some("validated") => Some("The snapshot was validated: its result is below."),
        Some("published") => {
            Some("The snapshot is published (the deployable's previous one no longer is).")
        }
        _ => None,
    };
    let may_act = signed.may(CdmEditors::ANY_OF);
    let base = snapshots_url(&app);
    let body = html! {
        p { a href="/console/config" { "← All applications" } }
        h1 { (app) ": snapshots" }
        (app_nav(&app, "snapshots"))
        @if let Some(text) = notice { div.alert.notice role="status" { (text) } }
        @if by_deployable.is_empty() { p.muted { "This application has no deployable." } }
        @for (deployable, list) in &by_deployable {
            section.card aria-label={"Snapshots of " (deployable)} {
                h2 { (deployable) }
                @if list.is_empty() { p.muted { "No snapshot yet: committing a change that reaches this deployable makes one." } }
                @else {
                    table {
                        thead { tr {
                            th scope="col" { "Snapshot" }
                            th scope="col" { "Made" }
                            th scope="col" { "Validation" }
                            th scope="col" { "Published" }
                            th scope="col" { "Actions" }
                            th scope="col" { "Export" }
                        } }
                        tbody {
                            @for s in list {
                                @let id = s.row.string("sys_id");
                                @let name = s.row.string("name");
                                @let validation = s.row.string("validation");
                                @let published = s.row.bool("published");
                                tr {
                                    td.nowrap { code { (name) } br; span.muted { (s.row.string("number")) } }
                                    td { (when(&s.row.string("sys_created_on"))) }
                                    td { (validation_badge(&validation)) div { (verdicts(s)) } }
                                    td { @if published { (badge("ok", "published")) } @else { "no" } }
                                    td {
                                        @if may_act && !published {
                                            form.inline method="post" action={(base) "/" (id) "/validate"} {
                                                (csrf(&signed))
                                                button.secondary type="submit" aria-label={"Validate " (name)} { "Validate" }
                                            }
                                            @if validation == "passed" || validation == "passed_with_exception" {
                                                " "
                                                form.inline method="post" action={(base) "/" (id) "/publish"} {
                                                    (csrf(&signed))
                                                    button type="submit" aria-label={"Publish " (name)} { "Publish" }
                                                }
                                            }
                                        }
                                    }
                                    td {
                                        form.inline method="get" action={(base) "/" (id) "/export"} {
                                            label.visually-hidden for={"format-" (id)} { "Export format of " (name) }
                                            select id={"format-" (id)} name="format" {
                                                @for f in export::FORMATS { option value=(f) { (f) } }
                                            }
                                            " "
                                            button.secondary type="submit" aria-label={"Download " (name)} { "Download" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        p.muted { "Exports show secure values masked (" code { (MASK) } ")." }
    };
    Ok(page(
        StatusCode::OK,
        shell(
            &format!("{app}: snapshots"),
            Some(&signed),
            Section::Config,
            body,
        ),
    ))
}

/// Validates or publishes a snapshot of the application, as the API does.
async fn act(
    state: &AppState,
    app: &str,
    id: &str,
    posted: &Posted,
    action: Action,
    notice: &str,
) -> PageResult {
    let signed = &posted.signed;
    require(signed, CdmEditors::ANY_OF)?;
    overview::snapshot_of(&state.db, app, id)
        .await
        .or_page(signed)?;
    snapshots::act(&state.db, &Which::Id(id), action, &signed.caller.user_name)
        .await
        .or_page(signed)?;
    Ok(see_other(&format!(
        "{}?notice={notice}",
        snapshots_url(app)
    )))
}

/// `POST /console/config/{app}/snapshots/{id}/validate`
pub async fn validate(
    State(state): State<AppState>,
    Path((app, id)): Path<(String, String)>,
    posted: Posted,
) -> PageResult {
    act(&state, &app, &id, &posted, Action::Validate, "validated").await
}

/// `POST /console/config/{app}/snapshots/{id}/publish`
pub async fn publish(
    State(state): State<AppState>,
    Path((app, id)): Path<(String, String)>,
    posted: Posted,
) -> PageResult {
    act(&state, &app, &id, &posted, Action::Publish, "published").await
}

/// `GET /console/config/{app}/snapshots/{id}/export?format=`: the snapshot
/// rendered as a file, secure values masked.
pub async fn export(
    State(state): State<AppState>,
    signed: Signed,
    Path((app, id)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult {
    require(&signed, CdmReaders::ANY_OF)?;
    overview::snapshot_of(&state.db, &app, &id)
        .await
        .or_page(&signed)?;
    let format = query.get("format").map(String::as_str).unwrap_or("json");
    let file = export::download(&state.db, &id, format)
        .await
        .or_page(&signed)?;
    let disposition = format!("attachment; filename=\"{}\"", file.file_name);
    let mut response = (StatusCode::OK, file.text).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(file.content_type),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition)
            .map_err(|e| super::error_page(Some(&signed), &Error::internal(e.to_string())))?,
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}
