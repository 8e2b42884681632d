//! Administration: users and their roles. A searchable, paged list (with
//! "Deactivate", after a confirmation page, and "Activate" on each row); a
//! user page to change name, e-mail, active and locked-out, grant and
//! remove roles and set a new password; and a form that creates a user.
//!
//! Every write goes through the Table API's own path (`records::*_as` with
//! the caller): the table's roles (`table_api::can_read` / `can_write`) and
//! `identity::rights` (a user admin manages only users whose every role it
//! holds, and grants only roles it holds) decide, inside the write's
//! transaction. A password is taken, hashed by that write, and never shown.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use maud::{html, Markup};
use serde_json::{json, Map, Value as Json};

use super::layout::{badge, csrf, shell, Section};
use super::{page, rows, see_other, OrPage, PageResult, Posted, Refused, Signed};
use crate::app::AppState;

use crate::domain::records;
use crate::error::Error;
use crate::http::table_api::{can_read, can_write};
use crate::identity::{rights, users};
use crate::registry::{self, Table};
use crate::storage::Row;

/// Users listed a page.
const PER_PAGE: i64 = 25;
/// Roles offered (every role there is; a handful).
const ROLES_SHOWN: i64 = 500;

fn table(name: &str) -> Result<&'static Table, Error> {
    registry::table(name).ok_or_else(|| Error::internal(format!("table {name} not registered")))
}

fn yes(row: &Row, column: &str) -> bool {
    row.get(column).and_then(|v| v.as_bool()).unwrap_or(false)
}

/// A form field, trimmed; None when absent or blank.
fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    form.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// Every role: (sys_id, name), by name.
async fn all_roles(state: &AppState) -> Result<Vec<(String, String)>, Error> {
    let (roles, _) = rows(
        state,
        table("sys_user_role")?,
        "ORDERBYname",
        ROLES_SHOWN,
        0,
    )
    .await?;
    Ok(roles
        .iter()
        .map(|r| (r.string("sys_id"), r.string("name")))
        .collect())
}

/// The list's URL for a page, keeping the search.
fn page_url(search: &str, page: i64) -> String {
    let mut url = form_urlencoded::Serializer::new(String::new());
    if !search.is_empty() {
        url.append_pair("q", search);
    }
    url.append_pair("page", &page.to_string());
    format!("/console/admin/users?{}", url.finish())
}

async fn list_page(
    state: &AppState,
    signed: &Signed,
    query: &HashMap<String, String>,
    status: StatusCode,
    problem: Option<String>,
) -> PageResult {
    let users_table = table("sys_user").or_page(signed)?;
    can_read(&signed.caller, users_table).or_page(signed)?;
    // The search is a value, never a query of its own: `^` would start one.
    let search: String = query
        .get("q")
        .map(|q| q.trim().replace('^', ""))
        .unwrap_or_default();
    let page_no = query
        .get("page")
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let encoded = if search.is_empty() {
        "ORDERBYuser_name".to_owned()
    } else {
        format!("user_nameLIKE{search}^ORnameLIKE{search}^ORemailLIKE{search}^ORDERBYuser_name")
    };
    let (found, total) = rows(
        state,
        users_table,
        &encoded,
        PER_PAGE,
        (page_no - 1) * PER_PAGE,
    )
    .await
    .or_page(signed)?;
    let mut held = Vec::with_capacity(found.len());
    for u in &found {
        held.push(
            users::role_names(&state.db, &u.string("sys_id"))
                .await
                .or_page(signed)?,
        );
    }
    let may_write = can_write(&signed.caller, users_table).is_ok();
    let roles = if may_write {
        all_roles(state).await.or_page(signed)?
    } else {
        Vec::new()
    };
    let pages = ((total + PER_PAGE - 1) / PER_PAGE).max(1);
    let body = html! {
        h1 { "Users" }
        @if let Some(notice) = done_message(query.get("done").map(String::as_str)) {
            div.alert.notice role="status" { (notice) }
        }
        @if let Some(problem) = &problem {
            div.alert.error role="alert" { strong { "Refused: " } (problem) }
        }
        form.filters method="get" action="/console/admin/users" role="search" aria-label="Search users" {
            div { label for="q" { "User name, name or e-mail contains" } input #q type="search" name="q" value=(search); }
            div { button type="submit" { "Search" } }
        }
        p.muted { (total) @if total == 1 { " user" } @else { " users" } @if pages > 1 { ", page " (page_no) " of " (pages) } }
        table {
            thead { tr {
                th scope="col" { "User name" } th scope="col" { "Name" } th scope="col" { "E-mail" }
                th scope="col" { "Active" } th scope="col" { "Locked out" } th scope="col" { "Roles" }
                @if may_write { th scope="col" { span.muted { "Action" } } }
            } }
            tbody {
                @for (u, roles) in found.iter().zip(&held) {
                    tr {
                        td { a href={"/console/admin/users/" (u.string("sys_id"))} { (u.string("user_name")) } }
                        td { (u.string("name")) }
                        td { (u.string("email")) }
                        td { @if yes(u, "active") { (badge("ok", "Active")) } @else { (badge("bad", "Inactive")) } }
                        td { @if yes(u, "locked_out") { (badge("bad", "Locked out")) } @else { "No" } }
                        td { @if roles.is_empty() { span.muted { "none" } } @else { (roles.join(", ")) } }
                        @if may_write { td { (activation(signed, u)) } }
                    }
                }
            }
        }
        @if pages > 1 {
            nav.pager aria-label="Pages" {
                @if page_no > 1 { a href=(page_url(&search, page_no - 1)) rel="prev" { "Previous page" } }
                @if page_no < pages { a href=(page_url(&search, page_no + 1)) rel="next" { "Next page" } }
            }
        }
        @if may_write {
            section.card aria-labelledby="new-user" {
                h2 #new-user { "New user" }
                form.filters method="post" action="/console/admin/users" {
                    (csrf(signed))
                    div { label for="new-user-name" { "User name" } input #new-user-name type="text" name="user_name" required autocomplete="off"; }
                    div { label for="new-name" { "Name" } input #new-name type="text" name="name"; }
                    div { label for="new-email" { "E-mail" } input #new-email type="email" name="email"; }
                    div { label for="new-password" { "Password" } input #new-password type="password" name="password" autocomplete="new-password"; }
                    div {
                        label for="new-role" { "Role (optional)" }
                        select #new-role name="role" {
                            option value="" { "No role" }
                            @for (id, name) in &roles {
                                @if signed.may(&[name.as_str()]) { option value=(id) { (name) } }
                            }
                        }
                    }
                    div { button type="submit" { "Create user" } }
                }
            }
        }
    };
    Ok(page(
        status,
        shell("Users", Some(signed), Section::Users, body),
    ))
}

/// `GET /console/admin/users?q=&page=`
pub async fn list(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult {
    list_page(&state, &signed, &query, StatusCode::OK, None).await
}

/// Refused as the list page with the reason in words, or as an error page
/// when the caller may not see the list either.
async fn refused_on_list(state: &AppState, signed: &Signed, e: Error) -> PageResult {
    let status = crate::http::envelope::http_status(e.kind);
    list_page(state, signed, &HashMap::new(), status, Some(e.message)).await
}

/// `POST /console/admin/users`: user_name, name, email, password, role.
pub async fn create(State(state): State<AppState>, posted: Posted) -> PageResult {
    let signed = &posted.signed;
    let users_table = table("sys_user").or_page(signed)?;
    can_write(&signed.caller, users_table).or_page(signed)?;
    let form = &posted.form;
    let mut input = Map::new();
    for (name, column) in [
        ("user_name", "user_name"),
        ("name", "name"),
        ("email", "email"),
        ("password", "user_password"),
    ] {
        if let Some(v) = field(form, name) {
            input.insert(column.to_owned(), Json::from(v));
        }
    }
    let actor = &signed.caller.user_name;
    let made = async {
        if !input.contains_key("user_name") {
            return Err(Error::missing("user_name"));
        }
        let user =
            records::insert_as(&state.db, users_table, &input, actor, Some(&signed.caller)).await?;
        let id = user.string("sys_id");
        if let Some(role) = field(form, "role") {
            grant(&state, signed, &id, role).await?;
        }
        Ok(id)
    }
    .await;
    match made {
        Ok(id) => Ok(see_other(&format!(
            "/console/admin/users/{id}?done=created"
        ))),
        Err(e) => refused_on_list(&state, signed, e).await,
    }
}

/// Grants `role_id` to `user_id` through the Table API's write.
async fn grant(
    state: &AppState,
    signed: &Signed,
    user_id: &str,
    role_id: &str,
) -> Result<(), Error> {
    let grants = table("sys_user_has_role")?;
    can_write(&signed.caller, grants)?;
    let input = json!({"user": user_id, "role": role_id});
    let input = input.as_object().cloned().unwrap_or_default();
    records::insert_as(
        &state.db,
        grants,
        &input,
        &signed.caller.user_name,
        Some(&signed.caller),
    )
    .await?;
    state.identity.clear_cache();
    Ok(())
}

/// What a user page says above its content after a form.
fn done_message(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "created" => Some("The user was created."),
        "saved" => Some("The changes were saved."),
        "granted" => Some("The role was granted."),
        "removed" => Some("The role was removed."),
        "password" => Some("The new password was set; the user's other sessions and tokens end."),
        "deactivated" => Some("The user was deactivated: their sessions and tokens ended."),
        "activated" => Some("The user was activated."),
        _ => None,
    }
}

async fn user_page(
    state: &AppState,
    signed: &Signed,
    id: &str,
    status: StatusCode,
    notice: Option<&str>,
    problem: Option<String>,
) -> PageResult {
    let users_table = table("sys_user").or_page(signed)?;
    can_read(&signed.caller, users_table).or_page(signed)?;
    let user = records::get(&state.db, users_table, id)
        .await
        .or_page(signed)?
        .ok_or_else(|| records::record_not_found(users_table, id))
        .or_page(signed)?;
    let may_write = can_write(&signed.caller, users_table).is_ok();
    let grants_table = table("sys_user_has_role").or_page(signed)?;
    let roles = all_roles(state).await.or_page(signed)?;
    let role_name = |rid: &str| {
        roles
            .iter()
            .find(|(r, _)| r == rid)
            .map_or_else(|| rid.to_owned(), |(_, n)| n.clone())
    };
    let grants: Vec<(String, String)> = if can_read(&signed.caller, grants_table).is_ok() {
        let uid = user.string("sys_id");
        let (rows, _) = rows(state, grants_table, &format!("user={uid}"), ROLES_SHOWN, 0)
            .await
            .or_page(signed)?;
        let mut g: Vec<(String, String)> = rows
            .iter()
            .map(|r| (r.string("sys_id"), role_name(&r.string("role"))))
            .collect();
        g.sort_by(|a, b| a.1.cmp(&b.1));
        g
    } else {
        Vec::new()
    };
    let user_name = user.string("user_name");
    let base = format!("/console/admin/users/{}", user.string("sys_id"));
    let body: Markup = html! {
        p { a href="/console/admin/users" { "All users" } }
        h1 { "User " (user_name) }
        @if let Some(notice) = notice { div.alert.notice role="status" { (notice) } }
        @if let Some(problem) = &problem {
            div.alert.error role="alert" { strong { "Refused: " } (problem) }
        }
        section.card aria-labelledby="profile" {
            h2 #profile { "Profile" }
            form.filters method="post" action=(base) {
                (csrf(signed))
                div { label for="name" { "Name" } input #name type="text" name="name" value=(user.string("name")) disabled[!may_write]; }
                div { label for="email" { "E-mail" } input #email type="email" name="email" value=(user.string("email")) disabled[!may_write]; }
                div { label { input type="checkbox" name="active" value="true" checked[yes(&user, "active")] disabled[!may_write]; " Active" } }
                div { label { input type="checkbox" name="locked_out" value="true" checked[yes(&user, "locked_out")] disabled[!may_write]; " Locked out" } }
                @if may_write { div { button type="submit" { "Save" } } }
            }
        }
        section.card aria-labelledby="roles" {
            h2 #roles { "Roles" }
            @if grants.is_empty() { p.muted { "This user holds no role." } }
            @else {
                table {
                    thead { tr { th scope="col" { "Role" } th scope="col" { span.muted { "Action" } } } }
                    tbody {
                        @for (gid, name) in &grants {
                            tr {
                                td { (name) }
                                td {
                                    @if may_write {
                                        form.inline method="post" action={(base) "/roles/" (gid) "/remove"} {
                                            (csrf(signed))
                                            button.danger type="submit" aria-label={"Remove " (name) " from " (user_name)} { "Remove" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if may_write {
                form.filters method="post" action={(base) "/roles"} {
                    (csrf(signed))
                    div {
                        label for="grant-role" { "Role to grant" }
                        select #grant-role name="role" {
                            @for (rid, name) in &roles {
                                @if signed.may(&[name.as_str()]) && !grants.iter().any(|(_, g)| g == name) {
                                    option value=(rid) { (name) }
                                }
                            }
                        }
                    }
                    div { button type="submit" { "Grant role" } }
                }
            }
        }
        @if may_write {
            section.card aria-labelledby="password" {
                h2 #password { "New password" }
                p.muted { "The password is never shown. Setting one ends the user's sessions and tokens." }
                form.filters method="post" action={(base) "/password"} {
                    (csrf(signed))
                    div { label for="new-password" { "New password" } input #new-password type="password" name="password" required autocomplete="new-password"; }
                    div { button type="submit" { "Set password" } }
                }
            }
        }
    };
    Ok(page(
        status,
        shell(
            &format!("User {user_name}"),
            Some(signed),
            Section::Users,
            body,
        ),
    ))
}

/// `GET /console/admin/users/{id}`
pub async fn user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    signed: Signed,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult {
    let notice = done_message(query.get("done").map(String::as_str));
    user_page(&state, &signed, &id, StatusCode::OK, notice, None).await
}

/// After a write to user `id`: back to its page, or the page with the
/// refusal in words.
async fn answer(
    state: &AppState,
    signed: &Signed,
    id: &str,
    done: Result<(), Error>,
    what: &str,
) -> PageResult {
    match done {
        Ok(()) => Ok(see_other(&format!("/console/admin/users/{id}?done={what}"))),
        Err(e) => {
            let status = crate::http::envelope::http_status(e.kind);
            user_page(state, signed, id, status, None, Some(e.message)).await
        }
    }
}

/// The caller may write users at all (else the 403 page, nothing read).
fn may_write_users(signed: &Signed) -> Result<&'static Table, Refused> {
    let users_table = table("sys_user").or_page(signed)?;
    can_write(&signed.caller, users_table).or_page(signed)?;
    Ok(users_table)
}

/// Updates user `id` with `input` on the caller's behalf.
async fn update_user(
    state: &AppState,
    signed: &Signed,
    users_table: &'static Table,
    id: &str,
    input: &Map<String, Json>,
) -> Result<(), Error> {
    records::update_as(
        &state.db,
        users_table,
        id,
        input,
        &signed.caller.user_name,
        Some(&signed.caller),
    )
    .await?;
    state.identity.clear_cache();
    Ok(())
}

/// `POST /console/admin/users/{id}`: name, email, active, locked_out.
pub async fn save(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> PageResult {
    let signed = &posted.signed;
    let users_table = may_write_users(signed)?;
    let form = &posted.form;
    let flag = |n: &str| json!(form.get(n).is_some_and(|v| v == "true"));
    let mut input = Map::new();
    input.insert("name".into(), json!(field(form, "name").unwrap_or("")));
    input.insert("email".into(), json!(field(form, "email").unwrap_or("")));
    input.insert("active".into(), flag("active"));
    input.insert("locked_out".into(), flag("locked_out"));
    let done = update_user(&state, signed, users_table, &id, &input).await;
    answer(&state, signed, &id, done, "saved").await
}

/// `POST /console/admin/users/{id}/password`: password.
pub async fn password(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> PageResult {
    let signed = &posted.signed;
    let users_table = may_write_users(signed)?;
    let done = match posted.form.get("password").filter(|p| !p.is_empty()) {
        None => Err(Error::missing("password")),
        Some(p) if p.len() > crate::identity::MAX_PASSWORD_BYTES => Err(Error::invalid(
            "password",
            format!(
                "is longer than {} bytes",
                crate::identity::MAX_PASSWORD_BYTES
            ),
        )),
        Some(p) => {
            let mut input = Map::new();
            input.insert("user_password".into(), json!(p));
            update_user(&state, signed, users_table, &id, &input).await
        }
    };
    answer(&state, signed, &id, done, "password").await
}

/// `POST /console/admin/users/{id}/roles`: role (a role's sys_id).
pub async fn grant_role(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> PageResult {
    let signed = &posted.signed;
    may_write_users(signed)?;
    let done = match field(&posted.form, "role") {
        None => Err(Error::missing("role")),
        Some(role) => grant(&state, signed, &id, role).await,
    };
    answer(&state, signed, &id, done, "granted").await
}

/// `POST /console/admin/users/{id}/roles/{grant}/remove`
pub async fn remove_role(
    State(state): State<AppState>,
    Path((id, grant_id)): Path<(String, String)>,
    posted: Posted,
) -> PageResult {
    let signed = &posted.signed;
    may_write_users(signed)?;
    let done = async {
        let grants = table("sys_user_has_role")?;
        can_write(&signed.caller, grants)?;
        // The grant must be this user's (a form names both).
        let found = records::get(&state.db, grants, &grant_id).await?;
        if found.as_ref().map(|g| g.string("user")) != Some(id.clone()) {
            return Err(records::record_not_found(grants, &grant_id));
        }
        records::delete_as(
            &state.db,
            grants,
            &grant_id,
            &signed.caller.user_name,
            Some(&signed.caller),
        )
        .await?;
        state.identity.clear_cache();
        Ok(())
    }
    .await;
    answer(&state, signed, &id, done, "removed").await
}

/// A list row's action: "Deactivate" (a link to the confirmation page)
/// for an active user the caller may deactivate (never the caller:
/// `rights::may_deactivate`), "Activate" for an inactive one.
fn activation(signed: &Signed, user: &Row) -> Markup {
    let id = user.string("sys_id");
    let name = user.string("user_name");
    html! {
        @if yes(user, "active") {
            @if rights::may_deactivate(&signed.caller, &id).is_ok() {
                a.button.danger href={"/console/admin/users/" (id) "/deactivate"} aria-label={"Deactivate " (name)} { "Deactivate" }
            } @else {
                span.muted { "You" }
            }
        } @else {
            form.inline method="post" action={"/console/admin/users/" (id) "/activate"} {
                (csrf(signed))
                button.secondary type="submit" aria-label={"Activate " (name)} { "Activate" }
            }
        }
    }
}

/// `GET /console/admin/users/{id}/deactivate`: what deactivating does, and
/// the button that does it.
pub async fn confirm_deactivate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    signed: Signed,
) -> PageResult {
    let users_table = may_write_users(&signed)?;
    let user = records::get(&state.db, users_table, &id)
        .await
        .or_page(&signed)?
        .ok_or_else(|| records::record_not_found(users_table, &id))
        .or_page(&signed)?;
    rights::may_deactivate(&signed.caller, &id).or_page(&signed)?;
    let user_name = user.string("user_name");
    let shown = match user.string("name") {
        n if n.is_empty() => user_name.clone(),
        n => format!("{n} ({user_name})"),
    };
    let body = html! {
        p { a href="/console/admin/users" { "All users" } }
        h1 { "Deactivate " (user_name) "?" }
        section.card aria-labelledby="what" {
            h2 #what { "What deactivating does" }
            ul {
                li { (shown) " can no longer sign in to the console or call the API." }
                li { "Their console sessions and OAuth tokens end now." }
                li { "Their roles, records and history stay; activating them again restores their access." }
            }
            @if !yes(&user, "active") { p.muted { "This user is inactive already." } }
            div.actions {
                form.inline method="post" action={"/console/admin/users/" (id) "/deactivate"} {
                    (csrf(&signed))
                    button.danger type="submit" { "Deactivate " (user_name) }
                }
                a href="/console/admin/users" { "Cancel" }
            }
        }
    };
    Ok(page(
        StatusCode::OK,
        shell(
            &format!("Deactivate {user_name}"),
            Some(&signed),
            Section::Users,
            body,
        ),
    ))
}

/// Sets user `id`'s `active` through the Table API's write (which refuses
/// deactivating oneself, `identity::rights`); back to the list, or the
/// list with the refusal.
async fn set_active(state: &AppState, signed: &Signed, id: &str, active: bool) -> PageResult {
    let users_table = may_write_users(signed)?;
    let mut input = Map::new();
    input.insert("active".into(), json!(active));
    match update_user(state, signed, users_table, id, &input).await {
        Ok(()) => {
            let done = if active { "activated" } else { "deactivated" };
            Ok(see_other(&format!("/console/admin/users?done={done}")))
        }
        Err(e) => refused_on_list(state, signed, e).await,
    }
}

/// `POST /console/admin/users/{id}/deactivate`
pub async fn deactivate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> PageResult {
    set_active(&state, &posted.signed, &id, false).await
}

/// `POST /console/admin/users/{id}/activate`
pub async fn activate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> PageResult {
    set_active(&state, &posted.signed, &id, true).await
}
