//! The Table API: `/api/now[/{api_version}]/table/{table}[/{sys_id}]`.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::endpoint::Endpoint;
use super::extract::{Authenticated, JsonObject, QueryParams};
use super::{base_url, PathParams};
use crate::app::AppState;
use crate::domain::encoded_query::EncodedQuery;
use crate::domain::records::{self, ListRequest};
use crate::error::{Error, ErrorKind, Result};
use crate::identity::rights;
use crate::identity::Caller;
use crate::registry::{self, ColumnType, Table};
use crate::storage::Row;

const DEFAULT_LIMIT: i64 = 10_000;

/// The shape of records in answers.
const RENDER_QUERY: &[&str] = &[
    "sysparm_fields",
    "sysparm_display_value",
    "sysparm_exclude_reference_link",
];

/// The Table API's endpoints, below `/api/now[/{version}]`. Roles depend on
/// the table, so the handlers check them.
pub fn endpoints() -> Vec<Endpoint> {
    const READ: &str = "the table's read roles";
    const WRITE: &str = "the table's write roles";
    let one = "/table/{table}/{sys_id}";
    vec![
        Endpoint::get("/table/{table}", list)
            .summary("List records of a table (sysparm_query, sysparm_fields, sysparm_limit, sysparm_offset, sysparm_display_value, sysparm_exclude_reference_link)")
            .query(&["sysparm_query", "sysparm_limit", "sysparm_offset"])
            .query(RENDER_QUERY)
            .checked_by_handler(READ),
        Endpoint::post("/table/{table}", create)
            .summary("Create a record")
            .query(RENDER_QUERY)
            .success(201)
            .checked_by_handler(WRITE),
        Endpoint::get(one, get_one)
            .summary("Read one record")
            .query(RENDER_QUERY)
            .checked_by_handler(READ),
        Endpoint::put(one, update)
            .summary("Update fields of a record")
            .query(RENDER_QUERY)
            .checked_by_handler(WRITE),
        Endpoint::patch(one, update)
            .summary("Update fields of a record")
            .query(RENDER_QUERY)
            .checked_by_handler(WRITE),
        Endpoint::delete(one, delete)
            .summary("Delete a record")
            .success(204)
            .checked_by_handler(WRITE),
    ]
    .into_iter()
    .map(|e| e.example("table", "sys_user"))
    .collect()
}

fn resolve_table(params: &PathParams) -> Result<&'static Table> {
    let name = params.get("table")?;
    registry::table(name).ok_or_else(|| {
        Error::new(ErrorKind::Invalid, format!("Invalid table {name}")).with_field("tableName")
    })
}

fn can_read(caller: &Caller, table: &Table) -> Result<()> {
    if caller.has_any(table.read_roles) || caller.has_any(table.write_roles) {
        Ok(())
    } else {
        Err(Error::forbidden(table.read_roles))
    }
}

fn can_write(caller: &Caller, table: &Table) -> Result<()> {
    if let Some(writer) = table.writer() {
        return Err(Error::new(
            ErrorKind::Forbidden,
            format!(
                "{} is read-only through the Table API: the server maintains it",
                table.name
            ),
        )
        .with_field("tableName")
        .with_detail(format!("Its records are written by {writer}")));
    }
    caller.require_any(table.write_roles)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum DisplayMode {
    Value,
    Display,
    All,
}

struct RenderOptions {
    fields: Option<Vec<String>>,
    display: DisplayMode,
    exclude_reference_link: bool,
}

impl RenderOptions {
    fn from_query(q: &HashMap<String, String>) -> Result<RenderOptions> {
        let display = match q.get("sysparm_display_value").map(String::as_str) {
            None | Some("") | Some("false") => DisplayMode::Value,
            Some("true") => DisplayMode::Display,
            Some("all") => DisplayMode::All,
            Some(other) => {
                return Err(Error::invalid(
                    "sysparm_display_value",
                    format!("{other:?} is not one of true, false, all"),
                ))
            }
        };
        let fields = q
            .get("sysparm_fields")
            .filter(|f| !f.trim().is_empty())
            .map(|f| {
                f.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            });
        Ok(RenderOptions {
            fields,
            display,
            exclude_reference_link: q
                .get("sysparm_exclude_reference_link")
                .is_some_and(|v| v == "true"),
        })
    }
}

/// How a set secret is shown (defined by the registry, which the domain's
/// writes read it from too).
pub use crate::registry::SECRET_MASK;

type Displays = HashMap<(String, String), String>;

/// `{"result": ...}` around anything serialisable.
#[derive(serde::Serialize)]
struct Envelope<T> {
    result: T,
}

/// One record as the Table API shows it: every value a string, references as
/// `{link, value}`, passwords never. Serialised straight from the row, with
/// no intermediate JSON tree.
struct RecordView<'a> {
    table: &'a Table,
    row: &'a Row,
    opts: &'a RenderOptions,
    displays: &'a Displays,
    base: &'a str,
}

impl serde::Serialize for RecordView<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        let mut emit = |column: &registry::Column| -> Result<(), S::Error> {
            if column.ty == ColumnType::Password {
                return Ok(());
            }
            map.serialize_entry(column.name, &self.field(column))
        };
        match &self.opts.fields {
            Some(fields) => {
                for column in fields.iter().filter_map(|f| self.table.column(f)) {
                    emit(column)?;
                }
            }
            None => {
                for column in self.table.all_columns() {
                    emit(column)?;
                }
            }
        }
        map.end()
    }
}

/// One field in the shape `sysparm_display_value` and
/// `sysparm_exclude_reference_link` ask for.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum FieldView {
    Plain(String),
    Reference {
        link: String,
        value: String,
    },
    DisplayReference {
        display_value: String,
        link: String,
    },
    Both {
        display_value: String,
        value: String,
    },
    BothReference {
        display_value: String,
        value: String,
        link: String,
    },
}

impl RecordView<'_> {
    fn field(&self, column: &registry::Column) -> FieldView {
        let mut value = self
            .row
            .get(column.name)
            .map(|v| v.to_display_string())
            .unwrap_or_default();
        if column.ty == ColumnType::Secret && !value.is_empty() {
            value = SECRET_MASK.to_owned();
        }
        let link = match column.ty {
            ColumnType::Reference(target)
                if !value.is_empty() && !self.opts.exclude_reference_link =>
            {
                Some(super::view::record_url(self.base, target, &value))
            }
            _ => None,
        };
        let display = || display_of(column, &value, self.displays);
        match (self.opts.display, link) {
            (DisplayMode::Value, Some(link)) => FieldView::Reference { link, value },
            (DisplayMode::Value, None) => FieldView::Plain(value),
            (DisplayMode::Display, Some(link)) => FieldView::DisplayReference {
                display_value: display(),
                link,
            },
            (DisplayMode::Display, None) => FieldView::Plain(display()),
            (DisplayMode::All, Some(link)) => FieldView::BothReference {
                display_value: display(),
                value,
                link,
            },
            (DisplayMode::All, None) => FieldView::Both {
                display_value: display(),
                value,
            },
        }
    }
}

fn display_of(column: &registry::Column, value: &str, displays: &Displays) -> String {
    match column.ty {
        ColumnType::Reference(target) => displays
            .get(&(target.to_owned(), value.to_owned()))
            .cloned()
            .unwrap_or_default(),
        ColumnType::List(target) => value
            .split(',')
            .filter(|s| !s.is_empty())
            .filter_map(|id| displays.get(&(target.to_owned(), id.to_owned())).cloned())
            .collect::<Vec<_>>()
            .join(", "),
        ColumnType::Choice(choices) => choices
            .iter()
            .find(|(v, _)| *v == value)
            .map(|(_, label)| (*label).to_owned())
            .unwrap_or_else(|| value.to_owned()),
        _ => value.to_owned(),
    }
}

async fn displays_for(
    state: &AppState,
    table: &Table,
    rows: &[Row],
    opts: &RenderOptions,
) -> Result<Displays> {
    if opts.display == DisplayMode::Value {
        return Ok(Displays::new());
    }
    records::reference_displays(&state.db, table, rows).await
}

fn parse_count(q: &HashMap<String, String>, name: &str, default: i64, min: i64) -> Result<i64> {
    match q.get(name).map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(s) => match s.parse::<i64>() {
            Ok(n) if n >= min => Ok(n),
            _ => Err(Error::invalid(
                name,
                format!("{s:?} is not a whole number of at least {min}"),
            )),
        },
    }
}

pub async fn list(
    State(state): State<AppState>,
    params: PathParams,
    Authenticated(caller): Authenticated,
    QueryParams(q): QueryParams,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let table = resolve_table(&params)?;
    can_read(&caller, table)?;
    let opts = RenderOptions::from_query(&q)?;
    // A larger limit is served as the largest page (documented), as the
    // vendor caps pages at an instance property.
    let limit =
        parse_count(&q, "sysparm_limit", DEFAULT_LIMIT, 1)?.min(state.settings.max_page_size);
    let offset = parse_count(&q, "sysparm_offset", 0, 0)?;
    let mut query = EncodedQuery::parse(
        table,
        q.get("sysparm_query").map(String::as_str).unwrap_or(""),
        state.settings.max_query_terms,
    )?;
    if let Some((column, owner)) = rights::read_scope(&caller, table) {
        query.require_equals(column, &owner);
    }
    let page = records::list(
        &state.db,
        table,
        &ListRequest {
            query,
            limit,
            offset,
            count: true,
        },
    )
    .await?;
    let base = base_url(&headers, &state.settings);
    let displays = displays_for(&state, table, &page.rows, &opts).await?;
    let result: Vec<RecordView> = page
        .rows
        .iter()
        .map(|row| RecordView {
            table,
            row,
            opts: &opts,
            displays: &displays,
            base: &base,
        })
        .collect();
    let total = page.total.unwrap_or(0);
    let mut response = Json(Envelope { result }).into_response();
    let h = response.headers_mut();
    h.insert("x-total-count", HeaderValue::from(total));
    if let Ok(link) = HeaderValue::from_str(&link_header(&base, &uri, &q, limit, offset, total)) {
        h.insert(header::LINK, link);
    }
    Ok(response)
}

/// Paging links (`first`, `prev`, `next`, `last`) as the vendor sends them.
fn link_header(
    base: &str,
    uri: &Uri,
    q: &HashMap<String, String>,
    limit: i64,
    offset: i64,
    total: i64,
) -> String {
    let link = |off: i64, rel: &str| {
        let mut params: Vec<(String, String)> = q
            .iter()
            .filter(|(k, _)| k.as_str() != "sysparm_offset" && k.as_str() != "sysparm_limit")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        params.sort();
        params.push(("sysparm_limit".into(), limit.to_string()));
        params.push(("sysparm_offset".into(), off.to_string()));
        let qs = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        format!("<{base}{}?{qs}>;rel=\"{rel}\"", uri.path())
    };
    let last = if total > 0 {
        ((total - 1) / limit) * limit
    } else {
        0
    };
    let mut links = vec![link(0, "first")];
    if offset > 0 {
        links.push(link((offset - limit).max(0), "prev"));
    }
    if offset.saturating_add(limit) < total {
        links.push(link(offset + limit, "next"));
    }
    links.push(link(last, "last"));
    links.join(",")
}

pub async fn get_one(
    State(state): State<AppState>,
    params: PathParams,
    Authenticated(caller): Authenticated,
    QueryParams(q): QueryParams,
    headers: HeaderMap,
) -> Result<Response> {
    let table = resolve_table(&params)?;
    can_read(&caller, table)?;
    let opts = RenderOptions::from_query(&q)?;
    let sys_id = params.get("sys_id")?;
    let row = records::get(&state.db, table, sys_id)
        .await?
        .ok_or_else(|| records::record_not_found(table, sys_id))?;
    rights::check_read(&caller, table, &row)?;
    one_record(&state, table, row, &opts, &headers).await
}

/// `{"result": record}` for one record, with its references' display values
/// when asked for.
async fn one_record(
    state: &AppState,
    table: &'static Table,
    row: Row,
    opts: &RenderOptions,
    headers: &HeaderMap,
) -> Result<Response> {
    let base = base_url(headers, &state.settings);
    let rows = [row];
    let displays = displays_for(state, table, &rows, opts).await?;
    let view = RecordView {
        table,
        row: &rows[0],
        opts,
        displays: &displays,
        base: &base,
    };
    Ok(Json(Envelope { result: view }).into_response())
}

pub async fn create(
    State(state): State<AppState>,
    params: PathParams,
    Authenticated(caller): Authenticated,
    QueryParams(q): QueryParams,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    let table = resolve_table(&params)?;
    can_write(&caller, table)?;
    let opts = RenderOptions::from_query(&q)?;
    let row = records::insert_as(&state.db, table, &body, &caller.user_name, Some(&caller)).await?;
    if records::insert_touches_identity(table) {
        state.identity.clear_cache();
    }
    let location = super::view::record_url(
        &base_url(&headers, &state.settings),
        table.name,
        &row.string("sys_id"),
    );
    let mut response = one_record(&state, table, row, &opts, &headers).await?;
    *response.status_mut() = StatusCode::CREATED;
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

pub async fn update(
    State(state): State<AppState>,
    params: PathParams,
    Authenticated(caller): Authenticated,
    QueryParams(q): QueryParams,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    let table = resolve_table(&params)?;
    can_write(&caller, table)?;
    let opts = RenderOptions::from_query(&q)?;
    let sys_id = params.get("sys_id")?;
    if !crate::ids::is_sys_id(sys_id) {
        return Err(records::record_not_found(table, sys_id));
    }
    let row = records::update_as(
        &state.db,
        table,
        sys_id,
        &body,
        &caller.user_name,
        Some(&caller),
    )
    .await?;
    after_write(&state, table);
    one_record(&state, table, row, &opts, &headers).await
}

pub async fn delete(
    State(state): State<AppState>,
    params: PathParams,
    Authenticated(caller): Authenticated,
) -> Result<Response> {
    let table = resolve_table(&params)?;
    can_write(&caller, table)?;
    let sys_id = params.get("sys_id")?;
    if !crate::ids::is_sys_id(sys_id) {
        return Err(records::record_not_found(table, sys_id));
    }
    records::delete_as(&state.db, table, sys_id, &caller.user_name, Some(&caller)).await?;
    after_write(&state, table);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A write to identity tables drops this replica's credential cache at once
/// (other replicas follow through the shared epoch).
fn after_write(state: &AppState, table: &Table) {
    if records::touches_identity(table) {
        state.identity.clear_cache();
    }
}
