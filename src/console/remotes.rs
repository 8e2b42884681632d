//! Administration: the remote instances update sets are retrieved from
//! (`sys_update_set_source`), listed, added, edited and removed through the
//! Table API's own writes (`records::*_as`), with that table's roles.
//!
//! The stored password is never sent back: the form shows whether one is
//! stored, and a blank password field keeps it. The table's hooks still
//! decide the rest (a URL's form; a moved URL forgets its password).

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use maud::{html, Markup};
use serde_json::{json, Map, Value as Json};

use super::layout::{badge, csrf, shell, Section};
use super::{page, rows, see_other, OrPage, PageResult, Posted, Signed};
use crate::app::AppState;
use crate::domain::records;
use crate::error::Error;
use crate::http::table_api::{can_read, can_write};
use crate::registry::{self, ColumnType, Table};
use crate::storage::Row;

const TABLE: &str = "sys_update_set_source";
/// Remote instances listed (there are a few).
const LISTED: i64 = 500;

fn sources() -> Result<&'static Table, Error> {
    registry::table(TABLE).ok_or_else(|| Error::internal(format!("table {TABLE} not registered")))
}

/// The `type` column's choices, as the registry declares them.
fn types(table: &Table) -> &'static [(&'static str, &'static str)] {
    match table.column("type").map(|c| &c.ty) {
        Some(ColumnType::Choice(choices)) => choices,
        _ => &[],
    }
}

fn has_password(row: &Row) -> bool {
    row.get("password")
        .is_some_and(|v| !v.is_null() && v.as_str() != Some(""))
}

/// The form's fields of a remote instance (a new one when `row` is None).
fn fields(table: &Table, row: Option<&Row>) -> Markup {
    let value = |c: &str| row.map(|r| r.string(c)).unwrap_or_default();
    let kind = row.map_or_else(|| "dev".to_owned(), |r| r.string("type"));
    let active = row.is_none_or(|r| r.get("active").and_then(|v| v.as_bool()).unwrap_or(false));
    let stored = row.is_some_and(has_password);
    html! {
        div { label for="ri-name" { "Name" } input #ri-name type="text" name="name" required value=(value("name")); }
        div { label for="ri-url" { "URL" } input #ri-url type="url" name="url" required value=(value("url")) placeholder="https://dev.example.com"; }
        div { label for="ri-user" { "User name" } input #ri-user type="text" name="username" value=(value("username")) autocomplete="off"; }
        div {
            label for="ri-password" { "Password" }
            input #ri-password type="password" name="password" autocomplete="new-password"
                placeholder=(if stored { "stored (leave blank to keep)" } else { "none stored" });
        }
        div {
            label for="ri-type" { "Type" }
            select #ri-type name="type" {
                @for (v, l) in types(table) { option value=(v) selected[*v == kind] { (l) } }
            }
        }
        div { label for="ri-instance" { "Instance ID" } input #ri-instance type="text" name="instance_id" value=(value("instance_id")); }
        div { label for="ri-description" { "Description" } input #ri-description type="text" name="description" value=(value("description")); }
        div { label { input type="checkbox" name="active" value="true" checked[active]; " Active" } }
    }
}

/// The Table API input of a posted form: a blank password is left out
/// (the stored one is kept).
fn input_of(form: &HashMap<String, String>) -> Map<String, Json> {
    let mut input = Map::new();
    for name in [
        "name",
        "url",
        "username",
        "type",
        "instance_id",
        "description",
    ] {
        let v = form.get(name).map(|v| v.trim()).unwrap_or("");
        input.insert(name.to_owned(), json!(v));
    }
    if let Some(p) = form.get("password").filter(|p| !p.is_empty()) {
        input.insert("password".into(), json!(p));
    }
    input.insert(
        "active".into(),
        json!(form.get("active").is_some_and(|v| v == "true")),
    );
    input
}

async fn list_page(
    state: &AppState,
    signed: &Signed,
    status: StatusCode,
    problem: Option<String>,
) -> PageResult {
    let table = sources().or_page(signed)?;
    can_read(&signed.caller, table).or_page(signed)?;
    let (found, _) = rows(state, table, "ORDERBYname", LISTED, 0)
        .await
        .or_page(signed)?;
    let may_write = can_write(&signed.caller, table).is_ok();
    let type_label = |v: &str| {
        types(table)
            .iter()
            .find(|(k, _)| *k == v)
            .map_or(v, |(_, l)| l)
            .to_owned()
    };
    let body = html! {
        h1 { "Remote instances" }
        p.muted { "The instances update sets are retrieved from. A stored password is never shown." }
        @if let Some(problem) = &problem {
            div.alert.error role="alert" { strong { "Refused: " } (problem) }
        }
        @if found.is_empty() { p.muted { "No remote instance is recorded." } }
        @else {
            table {
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "URL" } th scope="col" { "User name" }
                    th scope="col" { "Password" } th scope="col" { "Type" } th scope="col" { "Active" }
                } }
                tbody {
                    @for r in &found {
                        tr {
                            td { a href={"/console/admin/remote-instances/" (r.string("sys_id"))} { (r.string("name")) } }
                            td { code { (r.string("url")) } }
                            td { (r.string("username")) }
                            td { @if has_password(r) { "stored" } @else { span.muted { "none" } } }
                            td { (type_label(&r.string("type"))) }
                            td { @if r.get("active").and_then(|v| v.as_bool()).unwrap_or(false) { (badge("ok", "Active")) } @else { (badge("bad", "Inactive")) } }
                        }
                    }
                }
            }
        }
        @if may_write {
            section.card aria-labelledby="new-remote" {
                h2 #new-remote { "New remote instance" }
                form.filters method="post" action="/console/admin/remote-instances" {
                    (csrf(signed))
                    (fields(table, None))
                    div { button type="submit" { "Add remote instance" } }
                }
            }
        }
    };
    Ok(page(
        status,
        shell(
            "Remote instances",
            Some(signed),
            Section::RemoteInstances,
            body,
        ),
    ))
}

/// `GET /console/admin/remote-instances`
pub async fn list(State(state): State<AppState>, signed: Signed) -> PageResult {
    list_page(&state, &signed, StatusCode::OK, None).await
}

/// `POST /console/admin/remote-instances`
pub async fn create(State(state): State<AppState>, posted: Posted) -> PageResult {
    let signed = &posted.signed;
    let table = sources().or_page(signed)?;
    can_write(&signed.caller, table).or_page(signed)?;
    let input = input_of(&posted.form);
    match records::insert_as(
        &state.db,
        table,
        &input,
        &signed.caller.user_name,
        Some(&signed.caller),
    )
    .await
    {
        Ok(_) => Ok(see_other("/console/admin/remote-instances")),
        Err(e) => {
            let status = crate::http::envelope::http_status(e.kind);
            list_page(&state, signed, status, Some(e.message)).await
        }
    }
}

async fn edit_page(
    state: &AppState,
    signed: &Signed,
    id: &str,
    status: StatusCode,
    problem: Option<String>,
) -> PageResult {
    let table = sources().or_page(signed)?;
    can_read(&signed.caller, table).or_page(signed)?;
    let row = records::get(&state.db, table, id)
        .await
        .or_page(signed)?
        .ok_or_else(|| records::record_not_found(table, id))
        .or_page(signed)?;
    let may_write = can_write(&signed.caller, table).is_ok();
    let name = row.string("name");
    let base = format!("/console/admin/remote-instances/{}", row.string("sys_id"));
    let body = html! {
        p { a href="/console/admin/remote-instances" { "All remote instances" } }
        h1 { "Remote instance " (name) }
        @if let Some(problem) = &problem {
            div.alert.error role="alert" { strong { "Refused: " } (problem) }
        }
        section.card aria-labelledby="edit-remote" {
            h2 #edit-remote { "Details" }
            p.muted { "Changing the URL forgets the stored password unless a new one is given." }
            form.filters method="post" action=(base) {
                (csrf(signed))
                (fields(table, Some(&row)))
                @if may_write { div { button type="submit" { "Save" } } }
            }
        }
        @if may_write {
            form.inline method="post" action={(base) "/remove"} {
                (csrf(signed))
                button.danger type="submit" { "Remove this remote instance" }
            }
        }
    };
    Ok(page(
        status,
        shell(
            &format!("Remote instance {name}"),
            Some(signed),
            Section::RemoteInstances,
            body,
        ),
    ))
}

/// `GET /console/admin/remote-instances/{id}`
pub async fn edit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    signed: Signed,
) -> PageResult {
    edit_page(&state, &signed, &id, StatusCode::OK, None).await
}

/// `POST /console/admin/remote-instances/{id}`
pub async fn save(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> PageResult {
    let signed = &posted.signed;
    let table = sources().or_page(signed)?;
    can_write(&signed.caller, table).or_page(signed)?;
    let input = input_of(&posted.form);
    match records::update_as(
        &state.db,
        table,
        &id,
        &input,
        &signed.caller.user_name,
        Some(&signed.caller),
    )
    .await
    {
        Ok(_) => Ok(see_other("/console/admin/remote-instances")),
        Err(e) => {
            let status = crate::http::envelope::http_status(e.kind);
            edit_page(&state, signed, &id, status, Some(e.message)).await
        }
    }
}

/// `POST /console/admin/remote-instances/{id}/remove`
pub async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> PageResult {
    let signed = &posted.signed;
    let table = sources().or_page(signed)?;
    can_write(&signed.caller, table).or_page(signed)?;
    match records::delete_as(
        &state.db,
        table,
        &id,
        &signed.caller.user_name,
        Some(&signed.caller),
    )
    .await
    {
        Ok(()) => Ok(see_other("/console/admin/remote-instances")),
        Err(e) => {
            let status = crate::http::envelope::http_status(e.kind);
            edit_page(&state, signed, &id, status, Some(e.message)).await
        }
    }
}
