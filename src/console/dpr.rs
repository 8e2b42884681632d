//! Digital product releases: the list (filters by product, state and
//! target date; paged) and a release's page (its phases as a timeline, each
//! phase's policies with their latest results, "run policies" and
//! "complete phase", its scope: enhancements, key dates, related tasks,
//! with forms to add each and to take an enhancement out of the release,
//! through the DPR API's and the Table API's own domain calls and roles).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use maud::{html, Markup};

use super::layout::{badge, csrf, shell, Section};
use super::{page, require, see_other, OrPage, PageResult, Posted, Signed};
use crate::app::AppState;
use crate::domain::dpr::{
    overview, phases, policy_run, policy_status, releases, retarget, scope as dpr_scope,
};
use crate::domain::records;
use crate::error::Error;
use crate::http::dpr::scope::KeyDateWriters;
use crate::http::dpr::{PhaseCompleters, ProductManagers, ReleaseManagers, ReleaseReaders};
use crate::http::extract::RoleSet;
use crate::http::table_api::can_write;

/// Releases per list page.
pub const PER_PAGE: i64 = 50;

fn state_badge(state: &str) -> Markup {
    let kind = match state {
        "in_progress" => "info",
        "completed" => "ok",
        "cancelled" => "bad",
        _ => "warn",
    };
    badge(kind, overview::state_label(state))
}

/// The list's filters from the query; a value that does not read is the
/// page's error, naming the filter.
fn filter_of(query: &HashMap<String, String>) -> (overview::Filter, Option<Error>) {
    let mut problem = None;
    let given = |name: &str| query.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let mut date = |name: &str| {
        given(name).and_then(|v| match crate::time::parse_date(v) {
            Some(d) => Some(d),
            None => {
                problem = Some(Error::invalid(
                    name,
                    format!("{v:?} is not a date (YYYY-MM-DD)"),
                ));
                None
            }
        })
    };
    let target_from = date("target_from");
    let target_to = date("target_to");
    let page = given("page")
        .and_then(|p| p.parse::<i64>().ok())
        .unwrap_or(1)
        .max(1);
    let product = given("product")
        .filter(|p| crate::ids::is_sys_id(p))
        .map(str::to_owned);
    let state = given("state")
        .filter(|s| overview::release_states().iter().any(|(v, _)| v == s))
        .map(str::to_owned);
    (
        overview::Filter {
            product,
            state,
            target_from,
            target_to,
            page,
            per_page: PER_PAGE,
        },
        problem,
    )
}

/// The list's URL for another page, keeping the filters.
fn page_url(query: &HashMap<String, String>, page: i64) -> String {
    let mut url = form_urlencoded::Serializer::new(String::new());
    for key in ["product", "state", "target_from", "target_to"] {
        if let Some(v) = query.get(key).filter(|v| !v.is_empty()) {
            url.append_pair(key, v);
        }
    }
    url.append_pair("page", &page.to_string());
    format!("/console/releases?{}", url.finish())
}

/// `GET /console/releases`
pub async fn list(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult {
    require(&signed, ReleaseReaders::ANY_OF)?;
    list_page(&state, &signed, &query, None, &HashMap::new()).await
}

/// The list, with the "New release" form for the API's release managers
/// (`refused`: the form's refusal, shown above it with what was typed).
async fn list_page(
    state: &AppState,
    signed: &Signed,
    query: &HashMap<String, String>,
    refused: Option<Error>,
    typed: &HashMap<String, String>,
) -> PageResult {
    let (filter, problem) = filter_of(query);
    let products = overview::products_with_releases(&state.db)
        .await
        .or_page(signed)?;
    let found = overview::list(&state.db, &filter).await.or_page(signed)?;
    let may_create = signed.may(ReleaseManagers::ANY_OF);
    let (choices, targets) = if may_create {
        (
            overview::new_release_choices(&state.db)
                .await
                .or_page(signed)?,
            overview::upcoming_targets(&state.db, chrono::Utc::now().date_naive(), 200)
                .await
                .or_page(signed)?,
        )
    } else {
        Default::default()
    };
    let status = match &refused {
        Some(e) => crate::http::envelope::http_status(e.kind),
        None => StatusCode::OK,
    };
    let typed_is = |key: &str, value: &str| typed.get(key).is_some_and(|v| v == value);
    let pages = ((found.total + PER_PAGE - 1) / PER_PAGE).max(1);
    let chosen = |key: &str, value: &str| query.get(key).is_some_and(|v| v == value);
    let value = |key: &str| query.get(key).cloned().unwrap_or_default();
    let body = html! {
        h1 { "Digital product releases" }
        @if let Some(problem) = &problem {
            div.alert.error role="alert" { (problem.message) }
        }
        form.filters method="get" action="/console/releases" role="search" aria-label="Filter releases" {
            div {
                label for="product" { "Product" }
                select #product name="product" {
                    option value="" { "Any product" }
                    @for (id, name) in &products {
                        option value=(id) selected[chosen("product", id)] { (name) }
                    }
                }
            }
            div {
                label for="state" { "State" }
                select #state name="state" {
                    option value="" { "Any state" }
                    @for (v, label) in overview::release_states() {
                        option value=(v) selected[chosen("state", v)] { (label) }
                    }
                }
            }
            div {
                label for="target_from" { "Target from" }
                input #target_from type="date" name="target_from" value=(value("target_from"));
            }
            div {
                label for="target_to" { "Target until" }
                input #target_to type="date" name="target_to" value=(value("target_to"));
            }
            div { button type="submit" { "Filter" } }
        }
        @if may_create {
            details.card open[refused.is_some()] {
                summary { "New release" }
                @if let Some(e) = &refused {
                    div.alert.error role="alert" {
                        strong { "Refused: " } (e.message)
                        @if let Some(d) = &e.detail { " " (d) }
                    }
                }
                form.filters method="post" action="/console/releases" aria-label="New release" {
                    (csrf(signed))
                    div {
                        label for="new_name" { "Name" }
                        input #new_name type="text" name="name" required value=(typed.get("name").cloned().unwrap_or_default());
                    }
                    div {
                        label for="new_product" { "Product" }
                        select #new_product name="product" required {
                            @for (id, name) in &choices.products {
                                option value=(id) selected[typed_is("product", id)] { (name) }
                            }
                        }
                    }
                    div {
                        label for="new_template" { "Release template" }
                        select #new_template name="template" required {
                            @for (id, name) in &choices.templates {
                                option value=(id) selected[typed_is("template", id)] { (name) }
                            }
                        }
                    }
                    div {
                        label for="new_target" { "Readiness target" }
                        select #new_target name="target" {
                            option value="" { "None yet" }
                            @for t in &targets {
                                option value=(t.sys_id) selected[typed_is("target", &t.sys_id)] { (t.target_date) " · " (t.name) " (" (t.calendar) ")" }
                            }
                        }
                    }
                    div {
                        label for="new_description" { "Description" }
                        input #new_description type="text" name="description" value=(typed.get("description").cloned().unwrap_or_default());
                    }
                    div { button type="submit" { "Create release" } }
                }
            }
        }
        p.muted { (found.total) " releases" @if pages > 1 { ", page " (filter.page) " of " (pages) } }
        table {
            thead {
                tr {
                    th scope="col" { "Number" } th scope="col" { "Release" } th scope="col" { "Product" }
                    th scope="col" { "State" } th scope="col" { "Current phase" } th scope="col" { "Target" }
                }
            }
            tbody {
                @for r in &found.rows {
                    tr {
                        td { (r.number) }
                        td { a href={"/console/releases/" (r.sys_id)} { (r.name) } }
                        td { (r.product_name) }
                        td { (state_badge(&r.state)) }
                        td { (r.current_phase_name.as_deref().unwrap_or("—")) }
                        td { (r.target_date.as_deref().unwrap_or("—")) }
                    }
                }
            }
        }
        @if pages > 1 {
            nav.pager aria-label="Pages" {
                @if filter.page > 1 { a href=(page_url(query, filter.page - 1)) rel="prev" { "Previous page" } }
                @if filter.page < pages { a href=(page_url(query, filter.page + 1)) rel="next" { "Next page" } }
            }
        }
    };
    Ok(page(
        status,
        shell(
            "Digital product releases",
            Some(signed),
            Section::Releases,
            body,
        ),
    ))
}

/// What a release page says above its content after a form.
enum Outcome {
    None,
    Notice(&'static str),
    Refused(Error),
}

fn notice(key: Option<&str>) -> Outcome {
    match key {
        Some("policies-queued") => Outcome::Notice(
            "Policy run queued: results appear here once it has run (reload the page).",
        ),
        Some("phase-completed") => Outcome::Notice("Phase completed."),
        Some("created") => Outcome::Notice("Release created from its template."),
        Some("retargeted") => Outcome::Notice("Retargeted: the remaining phases are planned anew."),
        Some("enhancement-added") => Outcome::Notice("Enhancement planned into this release."),
        Some("enhancement-removed") => Outcome::Notice("Enhancement taken out of this release."),
        Some("key-date-added") => Outcome::Notice("Key date added."),
        Some("task-related") => Outcome::Notice("Task related to this release."),
        _ => Outcome::None,
    }
}

/// `GET /console/releases/{id}`
pub async fn release(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult {
    require(&signed, ReleaseReaders::ANY_OF)?;
    release_page(
        &state,
        &signed,
        &id,
        notice(query.get("notice").map(String::as_str)),
    )
    .await
}

async fn release_page(state: &AppState, signed: &Signed, id: &str, outcome: Outcome) -> PageResult {
    let detail = overview::detail(&state.db, id)
        .await
        .or_page(signed)?
        .ok_or_else(|| {
            super::error_page(
                Some(signed),
                &Error::not_found("There is no release with this id"),
            )
        })?;
    let r = &detail.release;
    let mut phase_results = Vec::new();
    for phase in &detail.phases {
        let (products, _) = policy_status::phase_results(&state.db, &r.sys_id, &phase.head)
            .await
            .or_page(signed)?;
        phase_results.push(products);
    }
    let scope = overview::scope(&state.db, &r.sys_id)
        .await
        .or_page(signed)?;
    let may_retarget = signed.may(ReleaseManagers::ANY_OF) && r.state == "in_progress";
    let targets = if may_retarget {
        overview::upcoming_targets(&state.db, chrono::Utc::now().date_naive(), 200)
            .await
            .or_page(signed)?
    } else {
        Vec::new()
    };
    let may_run = signed.may(ProductManagers::ANY_OF);
    let may_complete = signed.may(PhaseCompleters::ANY_OF);
    let may = ScopeRights::of(signed);
    let choices = if may.any() {
        dpr_scope::choices(&state.db, &r.sys_id, 200)
            .await
            .or_page(signed)?
    } else {
        Default::default()
    };
    let status = match &outcome {
        Outcome::Refused(e) => crate::http::envelope::http_status(e.kind),
        _ => StatusCode::OK,
    };
    let body = html! {
        p { a href="/console/releases" { "← All digital product releases" } }
        h1 { (r.name) }
        @match &outcome {
            Outcome::Notice(text) => div.alert.notice role="status" { (text) },
            Outcome::Refused(e) => div.alert.error role="alert" {
                strong { "Refused: " } (e.message)
                @if let Some(d) = &e.detail { " " (d) }
            },
            Outcome::None => {},
        }
        section.card aria-labelledby="facts" {
            h2 #facts { "Release" }
            dl.facts {
                dt { "Number" } dd { (r.number) }
                dt { "State" } dd { (state_badge(&r.state)) }
                dt { "Product" } dd { (r.product_name) @if let Some(v) = &detail.version_name { " · " (v) } }
                dt { "Owner" } dd { (detail.owner_name.as_deref().unwrap_or("—")) }
                dt { "Readiness target" } dd {
                    @if let Some(t) = &detail.target_name { (t) " · " }
                    (r.target_date.as_deref().unwrap_or("—"))
                }
                dt { "Process" } dd { (r.process_type.as_deref().unwrap_or("—")) }
                @if let Some(d) = &detail.description { dt { "Description" } dd { (d) } }
            }
            @if may_retarget && !targets.is_empty() {
                form.filters method="post" action={"/console/releases/" (r.sys_id) "/retarget"} {
                    (csrf(signed))
                    div {
                        label for="target" { "Move to the readiness target" }
                        select #target name="target" {
                            @for t in &targets {
                                option value=(t.sys_id) { (t.target_date) " · " (t.name) " (" (t.calendar) ")" }
                            }
                        }
                    }
                    div { button.secondary type="submit" { "Retarget" } }
                }
            }
        }
        section aria-labelledby="phases" {
            h2 #phases { "Phases" }
            ol.timeline {
                @for (phase, products) in detail.phases.iter().zip(&phase_results) {
                    @let current = r.current_phase.as_deref() == Some(phase.head.sys_id.as_str());
                    li class=(phase.head.state) aria-current=[current.then_some("step")] {
                        h3 { (phase.head.name) " " (phase_badge(&phase.head.state)) @if current { " " (badge("info", "Current phase")) } }
                        p.muted {
                            "Planned " (span_of(phase.planned_start.as_deref(), phase.planned_end.as_deref()))
                            @if phase.actual_start.is_some() {
                                " · actual " (span_of(phase.actual_start.as_deref(), phase.actual_end.as_deref()))
                            }
                        }
                        (results_table(&phase.head.name, products))
                        @if current && (may_run || may_complete) {
                            div.actions {
                                @if may_run {
                                    form.inline method="post" action={"/console/releases/" (r.sys_id) "/run-policies"} {
                                        (csrf(signed))
                                        button.secondary type="submit" { "Run policies" }
                                    }
                                }
                                @if may_complete {
                                    form.inline method="post" action={"/console/releases/" (r.sys_id) "/complete-phase"} {
                                        (csrf(signed))
                                        button type="submit" { "Complete phase" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        (scope_section(signed, &r.sys_id, &scope, &choices, &may))
    };
    Ok(page(
        status,
        shell(&r.name, Some(signed), Section::Releases, body),
    ))
}

/// A scope list; `remove`, when given, the path below which each item has
/// a "Take out" form (`{remove}/{sys_id}/remove`).
fn scope_list(
    signed: &Signed,
    title: &str,
    none: &str,
    items: &[overview::ScopeItem],
    remove: Option<&str>,
) -> Markup {
    html! {
        h3 { (title) }
        @if items.is_empty() {
            p.muted { (none) }
        } @else {
            ul.scope {
                @for i in items {
                    li {
                        span.muted { (i.label) } " " (i.name) " " (badge("info", &i.state))
                        @if let Some(extra) = &i.extra {
                            " " span.muted { (if extra.starts_with(|c: char| c.is_ascii_digit()) { super::when(extra) } else { extra.clone() }) }
                        }
                        @if let Some(base) = remove {
                            " "
                            form.inline method="post" action={(base) "/" (i.sys_id) "/remove"} {
                                (csrf(signed))
                                button.secondary type="submit" aria-label={"Take out " (i.label) " " (i.name)} { "Take out" }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn phase_badge(state: &str) -> Markup {
    match state {
        "completed" => badge("ok", "Completed"),
        "in_progress" => badge("info", "In progress"),
        "cancelled" => badge("bad", "Cancelled"),
        _ => badge("warn", "Pending"),
    }
}

fn span_of(start: Option<&str>, end: Option<&str>) -> String {
    let show = |t: Option<&str>| {
        t.map(|t| t.get(..10).unwrap_or(t).to_owned())
            .unwrap_or_else(|| "—".into())
    };
    format!("{} to {}", show(start), show(end))
}

/// A phase's policies and their latest result for each product.
fn results_table(phase: &str, products: &[policy_status::ProductStatus]) -> Markup {
    let any = products.iter().any(|p| !p.results.is_empty());
    html! {
        @if !any {
            p.muted { "No policy gates this phase." }
        } @else {
            table {
                caption { "Policies of " (phase) }
                thead { tr { th scope="col" { "Policy" } th scope="col" { "Product" } th scope="col" { "Result" } th scope="col" { "Message" } th scope="col" { "Last run" } } }
                tbody {
                    @for p in products {
                        @for result in &p.results {
                            tr {
                                td { (result.name) }
                                td { (p.product.product_name) @if !p.product.version_name.is_empty() { " " (p.product.version_name) } }
                                td { (result_badge(&result.status)) }
                                td {
                                    @if !result.reason.is_empty() { (result.reason) }
                                    @if !result.output.is_empty() && result.output != result.reason { pre.message { (result.output) } }
                                }
                                td { (result.last_run_at.as_deref().map(super::when).unwrap_or_else(|| "never".into())) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn result_badge(status: &str) -> Markup {
    match status {
        "compliant" => badge("ok", "Compliant"),
        "non_compliant" => badge("bad", "Not compliant"),
        _ => badge("warn", "Not run"),
    }
}

/// `POST /console/releases/{id}/run-policies` (product managers, as the API).
pub async fn run_policies(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> PageResult {
    let signed = &posted.signed;
    require(signed, ProductManagers::ANY_OF)?;
    match policy_run::schedule(&state.db, &state.jobs, &id, &signed.caller.user_name).await {
        Ok(_) => Ok(see_other(&format!(
            "/console/releases/{id}?notice=policies-queued"
        ))),
        Err(e) => release_page(&state, signed, &id, Outcome::Refused(e)).await,
    }
}

/// `POST /console/releases/{id}/complete-phase` (the API's phase
/// completers); the gate's refusal is shown on the release's page.
pub async fn complete_phase(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> PageResult {
    let signed = &posted.signed;
    require(signed, PhaseCompleters::ANY_OF)?;
    match phases::complete_current_phase(&state.db, &id, &signed.caller.user_name).await {
        Ok(_) => Ok(see_other(&format!(
            "/console/releases/{id}?notice=phase-completed"
        ))),
        Err(e) => release_page(&state, signed, &id, Outcome::Refused(e)).await,
    }
}

/// `POST /console/releases/{id}/retarget` with `target` (a readiness
/// target's sys_id): `retarget::retarget`, for the API's release managers.
pub async fn retarget(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> PageResult {
    let signed = &posted.signed;
    require(signed, ReleaseManagers::ANY_OF)?;
    let target = posted.form.get("target").map(|t| t.trim()).unwrap_or("");
    let outcome = if crate::ids::is_sys_id(target) {
        retarget::retarget(
            &state.db,
            &id,
            retarget::NewTarget::Existing(target.to_owned()),
            &signed.caller.user_name,
        )
        .await
    } else {
        Err(Error::invalid("target", "choose a readiness target"))
    };
    match outcome {
        Ok(()) => Ok(see_other(&format!(
            "/console/releases/{id}?notice=retargeted"
        ))),
        Err(e) => release_page(&state, signed, &id, Outcome::Refused(e)).await,
    }
}

/// `POST /console/releases` with `name`, `product`, `template`, optional
/// `target` (a readiness target) and `description`: `releases::create`, as
/// `POST .../digital_product_release/release`, for the API's release
/// managers, owned by the signed-in user. Leads to the new release's page.
pub async fn create(State(state): State<AppState>, posted: Posted) -> PageResult {
    let signed = &posted.signed;
    require(signed, ReleaseManagers::ANY_OF)?;
    let given = |name: &str| {
        posted
            .form
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let sys_id = |name: &str, api: &str| match given(name) {
        Some(v) if crate::ids::is_sys_id(&v) => Ok(Some(v)),
        Some(v) => Err(Error::invalid(api, format!("{v:?} is not a sys_id"))),
        None => Ok(None),
    };
    let request = (|| {
        Ok::<_, Error>(releases::NewRelease {
            name: given("name"),
            description: given("description"),
            product: sys_id("product", "productId")?,
            owner: Some(signed.caller.user_id.clone()),
            template: Some(
                sys_id("template", "templateId")?.ok_or_else(|| Error::missing("templateId"))?,
            ),
            target: sys_id("target", "releaseTarget")?,
            ..Default::default()
        })
    })();
    let created = match request {
        Ok(request) => {
            releases::create(&state.db, &state.jobs, request, &signed.caller.user_name).await
        }
        Err(e) => Err(e),
    };
    match created {
        Ok(created) => Ok(see_other(&format!(
            "/console/releases/{}?notice=created",
            created.release_id
        ))),
        Err(e) => list_page(&state, signed, &HashMap::new(), Some(e), &posted.form).await,
    }
}

/// Which scope forms the caller gets: the roles of the API endpoints (and,
/// to take an enhancement out, of the Table API's write to the
/// enhancement table) the forms call.
struct ScopeRights {
    enhance: bool,
    key_date: bool,
    relate: bool,
    remove: bool,
}

impl ScopeRights {
    fn of(signed: &Signed) -> ScopeRights {
        ScopeRights {
            enhance: signed.may(ProductManagers::ANY_OF),
            key_date: signed.may(KeyDateWriters::ANY_OF),
            relate: signed.may(ReleaseManagers::ANY_OF),
            remove: enhancements().is_ok_and(|t| can_write(&signed.caller, t).is_ok()),
        }
    }

    fn any(&self) -> bool {
        self.enhance || self.key_date || self.relate || self.remove
    }
}

fn enhancements() -> Result<&'static crate::registry::Table, Error> {
    crate::registry::table("sn_dpr_model_product_enhancement")
        .ok_or_else(|| Error::internal("the enhancement table is not registered"))
}

/// The release's scope with, for those whose roles allow them, the forms
/// that add an enhancement, a key date and a related task, and take an
/// enhancement out.
fn scope_section(
    signed: &Signed,
    release: &str,
    scope: &overview::Scope,
    choices: &dpr_scope::ScopeChoices,
    may: &ScopeRights,
) -> Markup {
    let base = format!("/console/releases/{release}");
    let remove = format!("{base}/enhancements");
    html! {
        section.card aria-labelledby="scope" {
            h2 #scope { "Scope" }
            (scope_list(signed, "Enhancements", "No enhancement.", &scope.enhancements, may.remove.then_some(remove.as_str())))
            @if may.enhance {
                details {
                    summary { "Plan an enhancement into this release" }
                    form.filters method="post" action={(base) "/enhancements"} aria-label="Plan an enhancement" {
                        (csrf(signed))
                        div { label for="enh-name" { "Name" } input #enh-name type="text" name="name" required; }
                        div {
                            label for="enh-product" { "Product" }
                            select #enh-product name="product" required {
                                @for (id, name) in &choices.products { option value=(id) { (name) } }
                            }
                        }
                        div {
                            label for="enh-version" { "Version" }
                            select #enh-version name="version" {
                                option value="" { "Any version" }
                                @for (id, name) in &choices.versions { option value=(id) { (name) } }
                            }
                        }
                        div {
                            label for="enh-priority" { "Priority" }
                            select #enh-priority name="priority" {
                                @for p in choices.priorities { option value=(p) selected[*p == "medium"] { (p) } }
                            }
                        }
                        div { label for="enh-description" { "Description" } input #enh-description type="text" name="description"; }
                        div { button type="submit" { "Add enhancement" } }
                    }
                }
            }
            (scope_list(signed, "Key dates", "No key date.", &scope.key_dates, None))
            @if may.key_date {
                details {
                    summary { "Add a key date" }
                    form.filters method="post" action={(base) "/key-dates"} aria-label="Add a key date" {
                        (csrf(signed))
                        div { label for="kd-name" { "Name" } input #kd-name type="text" name="name" required; }
                        div {
                            label for="kd-type" { "Type" }
                            select #kd-type name="type" {
                                @for t in choices.key_date_types { option value=(t) { (t.replace('_', " ")) } }
                            }
                        }
                        div {
                            label for="kd-state" { "State" }
                            select #kd-state name="state" {
                                @for t in choices.key_date_states { option value=(t) selected[*t == "upcoming"] { (t) } }
                            }
                        }
                        div { label for="kd-due" { "Due date" } input #kd-due type="date" name="due_date" required; }
                        div { label for="kd-description" { "Description" } input #kd-description type="text" name="description"; }
                        div { button type="submit" { "Add key date" } }
                    }
                }
            }
            (scope_list(signed, "Related tasks", "No related task.", &scope.related_tasks, None))
            @if may.relate {
                details {
                    summary { "Relate a task" }
                    @if choices.tasks.is_empty() {
                        p.muted { "No task of the allowed tables is left to relate." }
                    } @else {
                        form.filters method="post" action={(base) "/related-tasks"} aria-label="Relate a task" {
                            (csrf(signed))
                            div {
                                label for="rt-task" { "Task" }
                                select #rt-task name="task" {
                                    @for t in &choices.tasks {
                                        option value=(t.sys_id) { (t.number) " · " (t.short_description) " (" (t.class) ")" }
                                    }
                                }
                            }
                            div { button type="submit" { "Relate task" } }
                        }
                    }
                }
            }
        }
    }
}

/// A form field, trimmed; None when absent or blank.
fn given(posted: &Posted, name: &str) -> Option<String> {
    posted
        .form
        .get(name)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// A form field that must be a sys_id when given (`api`: the API's name of
/// the field, for the message).
fn sys_id_of(posted: &Posted, name: &str, api: &str) -> Result<Option<String>, Error> {
    match given(posted, name) {
        Some(v) if crate::ids::is_sys_id(&v) => Ok(Some(v)),
        Some(v) => Err(Error::invalid(api, format!("{v:?} is not a sys_id"))),
        None => Ok(None),
    }
}

/// Back to the release's page with `notice`, or the page with the refusal.
async fn scope_answer(
    state: &AppState,
    signed: &Signed,
    id: &str,
    done: Result<(), Error>,
    notice: &str,
) -> PageResult {
    match done {
        Ok(()) => Ok(see_other(&format!(
            "/console/releases/{id}?notice={notice}#scope"
        ))),
        Err(e) => release_page(state, signed, id, Outcome::Refused(e)).await,
    }
}

/// `POST /console/releases/{id}/enhancements` with `name`, `product`,
/// optional `version`, `priority`, `description`: `scope::create_enhancement`
/// with this release, as `POST .../product_enhancement`, for product
/// managers.
pub async fn add_enhancement(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> PageResult {
    let signed = &posted.signed;
    require(signed, ProductManagers::ANY_OF)?;
    let done = async {
        let request = dpr_scope::NewEnhancement {
            name: given(&posted, "name"),
            description: given(&posted, "description"),
            priority: given(&posted, "priority"),
            product: sys_id_of(&posted, "product", "productSysId")?,
            version: sys_id_of(&posted, "version", "versionSysId")?,
            release: Some(id.clone()),
            feature: None,
        };
        dpr_scope::create_enhancement(&state.db, request, &signed.caller.user_name).await?;
        Ok(())
    }
    .await;
    scope_answer(&state, signed, &id, done, "enhancement-added").await
}

/// `POST /console/releases/{id}/key-dates` with `name`, `type`, `state`,
/// `due_date` (YYYY-MM-DD), optional `description`: `scope::create_key_date`,
/// as `POST .../release/{id}/key_date`, for its roles.
pub async fn add_key_date(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> PageResult {
    let signed = &posted.signed;
    require(signed, KeyDateWriters::ANY_OF)?;
    let done = async {
        let due_date = match given(&posted, "due_date") {
            Some(v) => Some(crate::time::parse_date(&v).ok_or_else(|| {
                Error::invalid("dueDate", format!("{v:?} is not a date (YYYY-MM-DD)"))
            })?),
            None => None,
        };
        let request = dpr_scope::NewKeyDate {
            name: given(&posted, "name"),
            kind: given(&posted, "type"),
            state: given(&posted, "state"),
            due_date,
            due_date_field: "dueDate".to_owned(),
            description: given(&posted, "description"),
            assigned_to: None,
        };
        dpr_scope::create_key_date(&state.db, &id, request, &signed.caller.user_name).await?;
        Ok(())
    }
    .await;
    scope_answer(&state, signed, &id, done, "key-date-added").await
}

/// `POST /console/releases/{id}/related-tasks` with `task` (a task's
/// sys_id): `scope::add_related_tasks`, as `POST .../related_task`, for its
/// roles.
pub async fn relate_task(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> PageResult {
    let signed = &posted.signed;
    require(signed, ReleaseManagers::ANY_OF)?;
    let tasks = given(&posted, "task").map(|t| vec![t]);
    let done = dpr_scope::add_related_tasks(&state.db, &id, tasks, &signed.caller.user_name)
        .await
        .map(|_| ());
    scope_answer(&state, signed, &id, done, "task-related").await
}

/// `POST /console/releases/{id}/enhancements/{enhancement}/remove`: the
/// enhancement's `release` emptied through the Table API's own write
/// (`records::update_as` with the caller, the table's write roles checked
/// first), for an enhancement of this release.
pub async fn remove_enhancement(
    State(state): State<AppState>,
    Path((id, enhancement)): Path<(String, String)>,
    posted: Posted,
) -> PageResult {
    let signed = &posted.signed;
    let table = enhancements().or_page(signed)?;
    can_write(&signed.caller, table).or_page(signed)?;
    let done = async {
        let row = records::get(&state.db, table, &enhancement).await?;
        if row.as_ref().and_then(|r| r.text("release")).as_deref() != Some(id.as_str()) {
            return Err(Error::not_found("This release has no such enhancement"));
        }
        let mut input = serde_json::Map::new();
        input.insert("release".into(), serde_json::Value::String(String::new()));
        records::update_as(
            &state.db,
            table,
            &enhancement,
            &input,
            &signed.caller.user_name,
            Some(&signed.caller),
        )
        .await?;
        Ok(())
    }
    .await;
    scope_answer(&state, signed, &id, done, "enhancement-removed").await
}
