//! The page shell: a skip link, the header with the navigation the caller's
//! roles allow, the signed-in user and sign-out, and the main landmark.

use maud::{html, Markup, DOCTYPE};

use super::{Signed, CSRF_FIELD};
use crate::http::cdm::CdmReaders;
use crate::http::cicd::CicdAutomation;
use crate::http::dpr::ReleaseReaders;
use crate::http::extract::RoleSet;
use crate::http::sdp::releases::Staff;

/// Whether the caller reads `table` (the Table API's own check).
fn reads(signed: &Signed, table: &str) -> bool {
    crate::registry::table(table)
        .is_some_and(|t| crate::http::table_api::can_read(&signed.caller, t).is_ok())
}

/// Which part of the console a page belongs to (marked in the navigation).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Section {
    None,
    Today,
    Releases,
    Calendars,
    ServiceDesk,
    UpdateSets,
    Policies,
    Admin,
    Users,
    RemoteInstances,
    Config,
}

/// The hidden CSRF field of a form.
pub fn csrf(signed: &Signed) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(signed.csrf); }
}

/// A whole page around `body`.
pub fn shell(title: &str, signed: Option<&Signed>, section: Section, body: Markup) -> Markup {
    shell_with(title, signed, section, None, body)
}

/// A page that reloads itself every `seconds` (a running job's progress:
/// a `refresh` meta element, as the CSP allows no script).
pub fn shell_refreshing(
    title: &str,
    signed: Option<&Signed>,
    section: Section,
    seconds: u32,
    body: Markup,
) -> Markup {
    shell_with(title, signed, section, Some(seconds), body)
}

fn shell_with(
    title: &str,
    signed: Option<&Signed>,
    section: Section,
    refresh: Option<u32>,
    body: Markup,
) -> Markup {
    let current = |s: Section| (s == section).then_some("page");
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(seconds) = refresh {
                    meta http-equiv="refresh" content=(seconds);
                }
                title { (title) " · Tollgate" }
                link rel="stylesheet" href=(super::assets::style_url());
            }
            body {
                a.skip href="#main" { "Skip to main content" }
                header.top {
                    a.brand href="/console" { "Tollgate" }
                    @if let Some(signed) = signed {
                        nav.main aria-label="Main" {
                            ul {
                                li { a href="/console" aria-current=[current(Section::Today)] { "Today" } }
                                @if signed.may(ReleaseReaders::ANY_OF) {
                                    li { a href="/console/releases" aria-current=[current(Section::Releases)] { "Digital product releases" } }
                                    li { a href="/console/calendars" aria-current=[current(Section::Calendars)] { "Calendars" } }
                                    li { a href="/console/policies" aria-current=[current(Section::Policies)] { "Policies" } }
                                }
                                @if signed.may(Staff::ANY_OF) {
                                    li { a href="/console/servicedesk" aria-current=[current(Section::ServiceDesk)] { "ServiceDesk releases" } }
                                }
                                @if signed.may(CdmReaders::ANY_OF) {
                                    li { a href="/console/config" aria-current=[current(Section::Config)] { "Configuration data" } }
                                }
                                @if signed.may(CicdAutomation::ANY_OF) {
                                    li { a href="/console/update-sets" aria-current=[current(Section::UpdateSets)] { "Update sets" } }
                                }
                                @if signed.caller.is_admin() {
                                    li { a href="/console/admin/api-keys" aria-current=[current(Section::Admin)] { "API keys" } }
                                }
                                @if reads(signed, "sys_user") {
                                    li { a href="/console/admin/users" aria-current=[current(Section::Users)] { "Users" } }
                                }
                                @if reads(signed, "sys_update_set_source") {
                                    li { a href="/console/admin/remote-instances" aria-current=[current(Section::RemoteInstances)] { "Remote instances" } }
                                }
                                li { a href="/docs" { "API reference" } }
                            }
                        }
                        div.who {
                            span { "Signed in as " strong { (signed.caller.user_name) } }
                            form.inline method="post" action="/console/sign-out" {
                                (csrf(signed))
                                button.secondary type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main #main tabindex="-1" {
                    (body)
                }
            }
        }
    }
}

/// A state as a badge: `ok`, `bad`, `warn` or `info`.
pub fn badge(kind: &str, text: &str) -> Markup {
    html! { span class={"badge " (kind)} { (text) } }
}
