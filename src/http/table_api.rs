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
use crate::domain::boolean;
use crate::domain::encoded_query::{EncodedQuery, Field};
use crate::domain::records::{self, ListRequest, Window};
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

/// How a write reads references and choices.
const WRITE_QUERY: &[&str] = &["sysparm_input_display_value"];

/// The query parameters of the Table API; any other name in a list's query
/// string is a name-value pair filtering the list.
const PARAMS_PREFIX: &str = "sysparm_";

/// The Attachment API's upload parameters. pysnow (0.7) sets them on the
/// table resource it attaches a file through (its attachment helper shares
/// the resource's parameters), so every later request of that resource
/// carries them: on a table without such a field they are not name-value
/// pairs (the vendor ignores them), while any other unknown name still is
/// refused.
const ATTACHMENT_UPLOAD_PARAMS: &[&str] = &[
    "table_name",
    "table_sys_id",
    "file_name",
    "encryption_context",
];

/// Whether a list's query parameter is a name-value pair of `table`.
fn is_pair(table: &Table, name: &str) -> bool {
    let carried_over = ATTACHMENT_UPLOAD_PARAMS.contains(&name) && table.column(name).is_none();
    !name.is_empty() && !name.starts_with(PARAMS_PREFIX) && !carried_over
}

/// The Table API's endpoints, below `/api/now[/{version}]`. Roles depend on
/// the table, so the handlers check them.
pub fn endpoints() -> Vec<Endpoint> {
    const READ: &str = "the table's read roles (or admin)";
    const WRITE: &str = "the table's write roles (or admin)";
    let one = "/table/{table}/{sys_id}";
    vec![
        Endpoint::get("/table/{table}", list)
            .summary("List records of a table (sysparm_query, name-value pairs such as user_name=admin, sysparm_fields, sysparm_limit, sysparm_offset, sysparm_display_value, sysparm_exclude_reference_link, sysparm_suppress_pagination_header, sysparm_no_count); fields may be dot-walked (assigned_to.email)")
            .query(&["sysparm_query", "sysparm_limit", "sysparm_offset"])
            .query(RENDER_QUERY)
            .query(&["sysparm_suppress_pagination_header", "sysparm_no_count"])
            .checked_by_handler(READ),
        Endpoint::post("/table/{table}", create)
            .summary("Create a record")
            .query(RENDER_QUERY)
            .query(WRITE_QUERY)
            .success(201)
            .checked_by_handler(WRITE),
        Endpoint::get(one, get_one)
            .summary("Read one record")
            .query(RENDER_QUERY)
            .checked_by_handler(READ),
        Endpoint::put(one, update)
            .summary("Update fields of a record")
            .query(RENDER_QUERY)
            .query(WRITE_QUERY)
            .checked_by_handler(WRITE),
        Endpoint::patch(one, update)
            .summary("Update fields of a record")
            .query(RENDER_QUERY)
            .query(WRITE_QUERY)
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

pub(crate) fn can_read(caller: &Caller, table: &Table) -> Result<()> {
    if caller.has_any(table.read_roles) || caller.has_any(table.write_roles) {
        Ok(())
    } else {
        Err(Error::forbidden(table.read_roles))
    }
}

pub(crate) fn can_write(caller: &Caller, table: &Table) -> Result<()> {
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
    /// The dot-walked names of `fields`, resolved (the rows hold them under
    /// their paths).
    walked: Vec<Field>,
    display: DisplayMode,
    exclude_reference_link: bool,
}

/// A query flag of the Table API (`true`/`false` in any case).
fn flag(q: &HashMap<String, String>, name: &str) -> Result<bool> {
    boolean::flag(name, q.get(name).map(String::as_str), false)
}

impl RenderOptions {
    fn from_query(q: &HashMap<String, String>) -> Result<RenderOptions> {
        let given = q.get("sysparm_display_value").map(|s| s.trim());
        let display = match given {
            None | Some("") => DisplayMode::Value,
            Some(all) if all.eq_ignore_ascii_case("all") => DisplayMode::All,
            Some(text) => match boolean::parse(text) {
                Some(true) => DisplayMode::Display,
                Some(false) => DisplayMode::Value,
                None => {
                    return Err(Error::invalid(
                        "sysparm_display_value",
                        format!("{text:?} is not one of true, false, all"),
                    ))
                }
            },
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
            walked: Vec::new(),
            display,
            exclude_reference_link: flag(q, "sysparm_exclude_reference_link")?,
        })
    }

    /// The dot-walked names of `sysparm_fields`, selected through `query`'s
    /// joins. A plain name that is no field is ignored, as the vendor
    /// ignores it; a dotted one must walk (400 naming it otherwise).
    fn select_walked(&mut self, query: &mut EncodedQuery) -> Result<()> {
        for name in self.fields.iter().flatten() {
            if name.contains('.') {
                let field = query.select(name, "sysparm_fields")?;
                self.walked.push(field);
            }
        }
        Ok(())
    }

    fn has_walked_fields(&self) -> bool {
        self.fields.iter().flatten().any(|f| f.contains('.'))
    }

    /// Refuses (400 or 403) dot-walked fields the answer could not show,
    /// before a write is made for that answer.
    fn check_walks(&self, caller: &Caller, table: &'static Table) -> Result<()> {
        let mut query = EncodedQuery::new(table);
        for name in self.fields.iter().flatten().filter(|f| f.contains('.')) {
            query.select(name, "sysparm_fields")?;
        }
        can_walk(caller, &query)
    }
}

/// Refuses a query whose dot-walked fields pass through a table the caller
/// may not read (or reads only partly, such as other users' preferences):
/// a walk would otherwise show records the caller cannot list. 403, naming
/// the field and the table.
fn can_walk(caller: &Caller, query: &EncodedQuery) -> Result<()> {
    for (path, table) in query.joined_tables() {
        let readable =
            can_read(caller, table).is_ok() && rights::read_scope(caller, table).is_none();
        if !readable {
            return Err(Error::new(
                ErrorKind::Forbidden,
                format!(
                    "Insufficient rights to dot-walk {path}: it reads table {}",
                    table.name
                ),
            )
            .with_field(path.to_owned())
            .with_detail(format!(
                "Dot-walking needs read access to every table the field passes through; {} is read with one of the roles: {}",
                table.name,
                table.read_roles.join(", ")
            )));
        }
    }
    Ok(())
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
        // Each field under its key in the row: a column's name, or a
        // dot-walked field's path. Passwords are never shown.
        let shown: Vec<(&str, &registry::Column)> = match &self.opts.fields {
            Some(fields) => fields
                .iter()
                .filter_map(|name| match self.table.column(name) {
                    Some(column) => Some((column.name, column)),
                    None => self
                        .opts
                        .walked
                        .iter()
                        .find(|f| &f.path == name)
                        .map(|f| (f.path.as_str(), f.column)),
                })
                .collect(),
            None => self
                .table
                .all_columns()
                .into_iter()
                .map(|c| (c.name, c))
                .collect(),
        };
        for (key, column) in shown {
            if column.ty != ColumnType::Password {
                map.serialize_entry(key, &self.field_at(key, column))?;
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
    /// The field of `column` the row holds under `key` (a dot-walked field
    /// under its path).
    fn field_at(&self, key: &str, column: &registry::Column) -> FieldView {
        let mut value = self
            .row
            .get(key)
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
    let mut columns: Vec<(String, &'static registry::Column)> = table
        .all_columns()
        .into_iter()
        .map(|c| (c.name.to_owned(), c))
        .collect();
    columns.extend(opts.walked.iter().map(|f| (f.path.clone(), f.column)));
    records::displays_of(&state.db, &columns, rows).await
}

/// A paging number (`sysparm_limit`, `sysparm_offset`): `default` when
/// absent, else a whole number of at least `min` (400 naming it).
pub(super) fn parse_count(
    q: &HashMap<String, String>,
    name: &str,
    default: i64,
    min: i64,
) -> Result<i64> {
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
    let mut opts = RenderOptions::from_query(&q)?;
    let suppress_links = flag(&q, "sysparm_suppress_pagination_header")?;
    let no_count = flag(&q, "sysparm_no_count")?;
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
    // Name-value pairs filter, AND-ed with sysparm_query (the vendor calls
    // them exclusive; narrowing by both is the reading that never shows
    // more than either asks for). Sorted, so the SQL is the same each time.
    let mut pairs: Vec<(&String, &String)> =
        q.iter().filter(|(name, _)| is_pair(table, name)).collect();
    pairs.sort();
    if pairs.len() > state.settings.max_query_terms {
        return Err(Error::invalid(
            "sysparm_query",
            format!(
                "the URL has {} name-value pairs; at most {} are accepted",
                pairs.len(),
                state.settings.max_query_terms
            ),
        ));
    }
    for (name, value) in pairs {
        query.require_pair(name, value)?;
    }
    opts.select_walked(&mut query)?;
    can_walk(&caller, &query)?;
    if let Some((column, owner)) = rights::read_scope(&caller, table) {
        query.require_equals(column, &owner);
    }
    let page = records::list(
        &state.db,
        table,
        &ListRequest {
            query,
            window: Window { limit, offset },
            count: !no_count,
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
    let full_page = i64::try_from(result.len()).is_ok_and(|n| n == limit);
    let mut response = Json(Envelope { result }).into_response();
    let h = response.headers_mut();
    if let Some(total) = page.total {
        h.insert("x-total-count", HeaderValue::from(total));
    }
    let extent = match page.total {
        Some(total) => Extent::Counted(total),
        None => Extent::Uncounted { full_page },
    };
    if !suppress_links {
        if let Ok(link) =
            HeaderValue::from_str(&link_header(&base, &uri, &q, limit, offset, extent))
        {
            h.insert(header::LINK, link);
        }
    }
    Ok(response)
}

/// What a list knows of the records past its page.
#[derive(Clone, Copy)]
enum Extent {
    /// The number of matching records.
    Counted(i64),
    /// Not counted (`sysparm_no_count=true`): whether the page is full,
    /// which is when a next page may hold more.
    Uncounted { full_page: bool },
}

/// Paging links (`first`, `prev`, `next`, `last`) as the vendor sends them;
/// without a count, `next` follows a full page and there is no `last`.
fn link_header(
    base: &str,
    uri: &Uri,
    q: &HashMap<String, String>,
    limit: i64,
    offset: i64,
    extent: Extent,
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
    let mut links = vec![link(0, "first")];
    if offset > 0 {
        links.push(link((offset - limit).max(0), "prev"));
    }
    let has_next = match extent {
        Extent::Counted(total) => offset.saturating_add(limit) < total,
        Extent::Uncounted { full_page } => full_page,
    };
    if has_next {
        links.push(link(offset.saturating_add(limit), "next"));
    }
    if let Extent::Counted(total) = extent {
        let last = if total > 0 {
            ((total - 1) / limit) * limit
        } else {
            0
        };
        links.push(link(last, "last"));
    }
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
    one_record(&state, &caller, table, row, opts, &headers).await
}

/// `{"result": record}` for one record, with its references' display values
/// when asked for, and its dot-walked fields (read again through joins).
async fn one_record(
    state: &AppState,
    caller: &Caller,
    table: &'static Table,
    row: Row,
    mut opts: RenderOptions,
    headers: &HeaderMap,
) -> Result<Response> {
    let base = base_url(headers, &state.settings);
    let row = if opts.has_walked_fields() {
        with_walked_fields(state, caller, table, row, &mut opts).await?
    } else {
        row
    };
    let rows = [row];
    let displays = displays_for(state, table, &rows, &opts).await?;
    let view = RecordView {
        table,
        row: &rows[0],
        opts: &opts,
        displays: &displays,
        base: &base,
    };
    Ok(Json(Envelope { result: view }).into_response())
}

/// `row` read again with the dot-walked fields `opts` names.
async fn with_walked_fields(
    state: &AppState,
    caller: &Caller,
    table: &'static Table,
    row: Row,
    opts: &mut RenderOptions,
) -> Result<Row> {
    let mut query = EncodedQuery::new(table);
    opts.select_walked(&mut query)?;
    can_walk(caller, &query)?;
    let sys_id = table
        .column("sys_id")
        .ok_or_else(|| Error::internal("a table without sys_id"))?;
    query.require_equals(sys_id, &row.string("sys_id"));
    let page = records::list(
        &state.db,
        table,
        &ListRequest {
            query,
            window: Window {
                limit: 1,
                offset: 0,
            },
            count: false,
        },
    )
    .await?;
    Ok(page.rows.into_iter().next().unwrap_or(row))
}

/// The body of a write, with display values read as
/// `sysparm_input_display_value=true` asks.
async fn write_input(
    state: &AppState,
    caller: &Caller,
    table: &'static Table,
    q: &HashMap<String, String>,
    body: serde_json::Map<String, serde_json::Value>,
) -> Result<serde_json::Map<String, serde_json::Value>> {
    if !flag(q, "sysparm_input_display_value")? {
        return Ok(body);
    }
    records::resolve_display_values(&state.db, table, &body, |field, target| {
        if can_read(caller, target).is_ok() && rights::read_scope(caller, target).is_none() {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::Forbidden,
            format!(
                "Insufficient rights to look up {field} by display value: it reads table {}",
                target.name
            ),
        )
        .with_field(field.to_owned())
        .with_detail(format!(
            "Give the sys_id, or read {} with one of the roles: {}",
            target.name,
            target.read_roles.join(", ")
        )))
    })
    .await
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
    opts.check_walks(&caller, table)?;
    let body = write_input(&state, &caller, table, &q, body).await?;
    let row = records::insert_as(&state.db, table, &body, &caller.user_name, Some(&caller)).await?;
    if records::insert_touches_identity(table) {
        state.identity.clear_cache();
    }
    let location = super::view::record_url(
        &base_url(&headers, &state.settings),
        table.name,
        &row.string("sys_id"),
    );
    let mut response = one_record(&state, &caller, table, row, opts, &headers).await?;
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
    opts.check_walks(&caller, table)?;
    let body = write_input(&state, &caller, table, &q, body).await?;
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
    one_record(&state, &caller, table, row, opts, &headers).await
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
