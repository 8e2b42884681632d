//! Administration (admin only): API keys, listed, created (the key shown
//! once, on the page that creates it) and revoked, with the functions the
//! API's `/api/tollgate/api_keys` calls.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use maud::{html, Markup};

use super::layout::{badge, csrf, shell, Section};
use super::{page, require, see_other, OrPage, PageResult, Posted, Signed};
use crate::app::AppState;
use crate::http::api_keys::AdminOnly;
use crate::http::extract::RoleSet;
use crate::identity::api_keys;

/// A key just made: shown once.
struct Made {
    user: String,
    name: String,
    key: String,
}

async fn keys_page(
    state: &AppState,
    signed: &Signed,
    status: StatusCode,
    made: Option<Made>,
    problem: Option<String>,
) -> PageResult {
    let keys = api_keys::list(&state.db, None).await.or_page(signed)?;
    let body: Markup = html! {
        h1 { "API keys" }
        @if let Some(problem) = &problem {
            div.alert.error role="alert" { strong { "Refused: " } (problem) }
        }
        @if let Some(made) = &made {
            div.alert.notice role="status" {
                p { "The key " strong { (made.name) } " for " strong { (made.user) } " is shown this once; copy it now:" }
                p { code { (made.key) } }
            }
        }
        section.card aria-labelledby="new-key" {
            h2 #new-key { "New key" }
            form.filters method="post" action="/console/admin/api-keys" {
                (csrf(signed))
                div { label for="key-user" { "User name" } input #key-user type="text" name="user" required; }
                div { label for="key-name" { "Key name" } input #key-name type="text" name="name" required; }
                div { label for="key-expires" { "Expires on (optional)" } input #key-expires type="date" name="expires"; }
                div { button type="submit" { "Create key" } }
            }
        }
        table {
            caption { "Every API key (never the key itself)" }
            thead { tr { th scope="col" { "User" } th scope="col" { "Name" } th scope="col" { "Created" } th scope="col" { "Expires" } th scope="col" { span.muted { "Action" } } } }
            tbody {
                @for k in &keys {
                    tr {
                        td { (k.user) }
                        td { (k.name) }
                        td { (super::when(&k.created_on)) }
                        td {
                            (k.expires_on.as_deref().map(super::when).unwrap_or_else(|| "never".into()))
                            @if k.expired { " " (badge("bad", "Expired")) }
                        }
                        td {
                            form.inline method="post" action={"/console/admin/api-keys/" (k.id) "/revoke"} {
                                (csrf(signed))
                                button.danger type="submit" aria-label={"Revoke " (k.name) " of " (k.user)} { "Revoke" }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(
        status,
        shell("API keys", Some(signed), Section::Admin, body),
    ))
}

/// `GET /console/admin/api-keys`
pub async fn list(State(state): State<AppState>, signed: Signed) -> PageResult {
    require(&signed, AdminOnly::ANY_OF)?;
    keys_page(&state, &signed, StatusCode::OK, None, None).await
}

/// `POST /console/admin/api-keys`: user, name, optional expiry date.
pub async fn create(State(state): State<AppState>, posted: Posted) -> PageResult {
    let signed = &posted.signed;
    require(signed, AdminOnly::ANY_OF)?;
    let field = |n: &str| {
        posted
            .form
            .get(n)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    };
    let user = field("user").unwrap_or("");
    let name = field("name").unwrap_or("api");
    let made = async {
        let expires = api_keys::expiry(None, field("expires"), "expires_in_days", "Expires on")?;
        api_keys::create(&state.db, user, name, expires).await
    }
    .await;
    match made {
        Ok(created) => {
            state.identity.clear_cache();
            let made = Made {
                user: user.to_owned(),
                name: name.to_owned(),
                key: created.key,
            };
            keys_page(&state, signed, StatusCode::CREATED, Some(made), None).await
        }
        Err(e) => {
            let status = crate::http::envelope::http_status(e.kind);
            keys_page(&state, signed, status, None, Some(e.message)).await
        }
    }
}

/// `POST /console/admin/api-keys/{id}/revoke`
pub async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> PageResult {
    let signed = &posted.signed;
    require(signed, AdminOnly::ANY_OF)?;
    api_keys::revoke(&state.db, &id).await.or_page(signed)?;
    state.identity.clear_cache();
    Ok(see_other("/console/admin/api-keys"))
}
