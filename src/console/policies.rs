//! Policies: the list (with the template phases each gates) and a policy's
//! page, a Rego editor whose Save shows the save-time check's errors at the
//! lines they concern, and a dry run of the edited text against a release
//! in progress or against a CDM snapshot (`policy_trial::try_policy`, as
//! `POST /api/tollgate/policy/eval`, with the input a policy run of the
//! release's current phase, or the snapshot's validation, gives it) before
//! saving.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use maud::{html, Markup};
use serde_json::{Map, Value as Json};

use super::layout::{badge, csrf, shell, Section};
use super::{page, require, see_other, OrPage, PageResult, Posted, Signed};
use crate::app::AppState;
use crate::domain::cdm::snapshots;
use crate::domain::dpr::{overview, policy_run};
use crate::domain::{policy_trial, records};
use crate::error::Error;
use crate::http::dpr::ReleaseReaders;
use crate::http::extract::RoleSet;
use crate::http::policy_trial::PolicyAuthors;
use crate::http::table_api::can_read;
use crate::policy::Verdict;

/// `GET /console/policies`
pub async fn list(State(state): State<AppState>, signed: Signed) -> PageResult {
    require(&signed, ReleaseReaders::ANY_OF)?;
    let policies = overview::policies(&state.db).await.or_page(&signed)?;
    let body = html! {
        h1 { "Policies" }
        p.muted { "Policies gate the phases of releases: a phase completes when every policy mapped to it is compliant for every product." }
        table {
            thead { tr { th scope="col" { "Policy" } th scope="col" { "State" } th scope="col" { "Gates" } } }
            tbody {
                @for p in &policies {
                    tr {
                        td { a href={"/console/policies/" (p.sys_id)} { (p.name) } }
                        td { @if p.active { (badge("ok", "Active")) } @else { (badge("warn", "Inactive")) } }
                        td { @if p.gates.is_empty() { span.muted { "No phase" } } @else { (p.gates.join(", ")) } }
                    }
                }
            }
        }
    };
    Ok(page(
        StatusCode::OK,
        shell("Policies", Some(&signed), Section::Policies, body),
    ))
}

/// What a policy's page says above the editor.
enum Outcome {
    None,
    Saved,
    /// The save was refused: the message, and the lines it concerns.
    Refused(Error, Vec<usize>),
    /// The dry run's verdict, for the release named.
    Tried(String, Verdict),
    /// The dry run evaluated nothing.
    NotTried(Error, Vec<usize>),
}

/// The lines (1-based) a compiler message points at (`policy.rego:L:C`).
pub fn lines_of(message: &str) -> Vec<usize> {
    let mut lines = Vec::new();
    let mut rest = message;
    while let Some(at) = rest.find(".rego:") {
        rest = &rest[at + ".rego:".len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(line) = digits.parse::<usize>() {
            if !lines.contains(&line) {
                lines.push(line);
            }
        }
    }
    lines
}

/// `GET /console/policies/{id}`
pub async fn policy(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> PageResult {
    require(&signed, ReleaseReaders::ANY_OF)?;
    let outcome = if query.get("notice").is_some_and(|n| n == "saved") {
        Outcome::Saved
    } else {
        Outcome::None
    };
    policy_page(&state, &signed, &id, None, Chosen::default(), outcome).await
}

/// What the dry run was last tried against (selected again in the form).
#[derive(Clone, Copy, Default)]
struct Chosen<'a> {
    release: Option<&'a str>,
    snapshot: Option<&'a str>,
}

/// Those who may read CDM snapshots (the snapshot table's read roles, as
/// the Table API checks them): only they are offered snapshots to try a
/// policy against, and only they may.
fn may_read_snapshots(signed: &Signed) -> Result<(), Error> {
    let table = crate::registry::table("sn_cdm_snapshot")
        .ok_or_else(|| Error::internal("the snapshot table is not registered"))?;
    can_read(&signed.caller, table)
}

async fn policy_page(
    state: &AppState,
    signed: &Signed,
    id: &str,
    text: Option<&str>,
    chosen: Chosen<'_>,
    outcome: Outcome,
) -> PageResult {
    let policy = overview::policy(&state.db, id)
        .await
        .or_page(signed)?
        .ok_or_else(|| {
            super::error_page(
                Some(signed),
                &Error::not_found("There is no policy with this id"),
            )
        })?;
    let author = signed.may(PolicyAuthors::ANY_OF);
    let releases = if author {
        overview::in_progress(&state.db, 200)
            .await
            .or_page(signed)?
    } else {
        Vec::new()
    };
    let snapshot_choices = if author && may_read_snapshots(signed).is_ok() {
        snapshots::recent(&state.db, 200).await.or_page(signed)?
    } else {
        Vec::new()
    };
    let source = text.unwrap_or(&policy.rego);
    let marked: &[usize] = match &outcome {
        Outcome::Refused(_, lines) | Outcome::NotTried(_, lines) => lines,
        _ => &[],
    };
    let status = match &outcome {
        Outcome::Refused(e, _) | Outcome::NotTried(e, _) => {
            crate::http::envelope::http_status(e.kind)
        }
        _ => StatusCode::OK,
    };
    let body = html! {
        p { a href="/console/policies" { "← All policies" } }
        h1 { (policy.name) }
        @if !policy.description.is_empty() { p { (policy.description) } }
        p.muted {
            "Gates: " @if policy.gates.is_empty() { "no phase" } @else { (policy.gates.join(", ")) }
        }
        @match &outcome {
            Outcome::Saved => div.alert.notice role="status" { "Saved." },
            Outcome::Refused(e, lines) => div.alert.error role="alert" {
                strong { "Not saved." }
                pre.message { (e.message) }
                (problem_list(e, lines))
            },
            Outcome::NotTried(e, lines) => div.alert.error role="alert" {
                strong { "Not evaluated." }
                pre.message { (e.message) }
                (problem_list(e, lines))
            },
            Outcome::Tried(release, verdict) => div.alert.(if verdict.compliant { "notice" } else { "error" }) role="status" {
                strong { "Dry run against " (release) ": " }
                @if verdict.compliant { (badge("ok", "Compliant")) } @else { (badge("bad", "Not compliant")) }
                @if !verdict.reason.is_empty() { " " (verdict.reason) }
                @if !verdict.output.is_empty() && verdict.output != verdict.reason { pre.message { (verdict.output) } }
            },
            Outcome::None => {},
        }
        @if author {
            form method="post" action={"/console/policies/" (policy.sys_id)} {
                (csrf(signed))
                div.editor {
                    label for="rego" { "Policy (Rego)" }
                    textarea #rego.code name="rego" rows=(source.lines().count().clamp(12, 40)) spellcheck="false" { (source) }
                }
                div.filters {
                    div {
                        label for="release" { "Dry run against the release" }
                        select #release name="release" {
                            @for r in &releases {
                                option value=(r.sys_id) selected[chosen.release == Some(r.sys_id.as_str())] { (r.name) " (" (r.number) ")" }
                            }
                        }
                    }
                    div { button.secondary type="submit" name="against" value="release" formaction={"/console/policies/" (policy.sys_id) "/dry-run"} { "Dry run" } }
                    @if !snapshot_choices.is_empty() {
                        div {
                            label for="snapshot" { "Dry run against the CDM snapshot" }
                            select #snapshot name="snapshot" {
                                @for (sid, label) in &snapshot_choices {
                                    option value=(sid) selected[chosen.snapshot == Some(sid.as_str())] { (label) }
                                }
                            }
                        }
                        div { button.secondary type="submit" name="against" value="snapshot" formaction={"/console/policies/" (policy.sys_id) "/dry-run"} { "Dry run against snapshot" } }
                    }
                    div { button type="submit" { "Save" } }
                }
            }
        }
        section aria-labelledby="source" {
            h2 #source { @if author { "Lines" } @else { "Policy (Rego)" } }
            ol.code aria-label="The policy's lines" {
                @for (i, line) in source.lines().enumerate() {
                    @let number = i + 1;
                    @if marked.contains(&number) {
                        li.problem id={"line-" (number)} { code { (line) } " " (badge("bad", "Error here")) }
                    } @else {
                        li { code { (line) } }
                    }
                }
            }
        }
    };
    Ok(page(
        status,
        shell(&policy.name, Some(signed), Section::Policies, body),
    ))
}

fn problem_list(e: &Error, lines: &[usize]) -> Markup {
    html! {
        @if let Some(d) = &e.detail { pre.message { (d) } }
        @if !lines.is_empty() {
            ul {
                @for l in lines { li { a href={"#line-" (l)} { "Line " (l) } } }
            }
        }
    }
}

fn rego_of(posted: &Posted) -> String {
    posted
        .form
        .get("rego")
        .map(|t| t.replace("\r\n", "\n"))
        .unwrap_or_default()
}

/// `POST /console/policies/{id}` with `rego`: saved through the shared
/// record write (the Policy table's hook compiles it first, as a Table API
/// write), for the policy authors.
pub async fn save(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> PageResult {
    let signed = &posted.signed;
    require(signed, PolicyAuthors::ANY_OF)?;
    let rego = rego_of(&posted);
    let table = crate::registry::table("sn_pace_policy")
        .ok_or_else(|| Error::internal("the Policy table is not registered"))
        .or_page(signed)?;
    let mut input = Map::new();
    input.insert("rego".into(), Json::String(rego.clone()));
    match records::update(&state.db, table, &id, &input, &signed.caller.user_name).await {
        Ok(_) => Ok(see_other(&format!("/console/policies/{id}?notice=saved"))),
        Err(e) => {
            let lines = lines_of(&format!(
                "{} {}",
                e.message,
                e.detail.as_deref().unwrap_or("")
            ));
            policy_page(
                &state,
                signed,
                &id,
                Some(&rego),
                Chosen::default(),
                Outcome::Refused(e, lines),
            )
            .await
        }
    }
}

/// `POST /console/policies/{id}/dry-run` with `rego` and `release`, or
/// `against=snapshot` and `snapshot`: the edited text tried against the
/// input a policy run of the release's current phase gives it, or the input
/// the snapshot's validation gives its policies (`snapshots::trial_input`,
/// for those who may read snapshots); nothing is saved.
pub async fn dry_run(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> PageResult {
    let signed = &posted.signed;
    require(signed, PolicyAuthors::ANY_OF)?;
    let rego = rego_of(&posted);
    let field = |name: &str| posted.form.get(name).map(|r| r.trim()).unwrap_or("");
    let (release, snapshot) = (field("release"), field("snapshot"));
    let on_snapshot = field("against") == "snapshot";
    let tried = async {
        let (name, input) = if on_snapshot {
            may_read_snapshots(signed)?;
            let (label, input) = snapshots::trial_input(&state.db, snapshot).await?;
            (format!("the snapshot {label}"), input)
        } else {
            let input = policy_run::trial_input(&state.db, release).await?;
            let name = input["release"]["name"]
                .as_str()
                .unwrap_or(release)
                .to_owned();
            (name, input)
        };
        Ok::<_, Error>((name, policy_trial::try_policy(&rego, &input).await?))
    }
    .await;
    let outcome = match tried {
        Ok((name, verdict)) => Outcome::Tried(name, verdict),
        Err(e) => {
            let lines = lines_of(&format!(
                "{} {}",
                e.message,
                e.detail.as_deref().unwrap_or("")
            ));
            Outcome::NotTried(e, lines)
        }
    };
    let chosen = Chosen {
        release: Some(release),
        snapshot: Some(snapshot),
    };
    policy_page(&state, signed, &id, Some(&rego), chosen, outcome).await
}
