//! Records of registered tables: reading, listing, and writing them with the
//! rules every table shares (system fields, types, mandatory fields,
//! choices, references that must exist, read-only fields, delete integrity).
//! The Table API is a thin layer over this; family rules build on
//! [`insert_values`] inside their own transactions.

use std::collections::HashMap;

use serde_json::{Map, Value as Json};

use super::encoded_query::{EncodedQuery, BASE};
use crate::error::{Error, ErrorKind, Result};
use crate::identity::rights::{self, TableWrite};
use crate::identity::{self, Caller};
use crate::ids::{is_sys_id, new_sys_id};
use crate::registry::hooks::{hooks, watchers, RowWatch, RowWrite, Values};
use crate::registry::{quote, table, Column, ColumnType, SqlKind, Table, SYSTEM_COLUMNS, TABLES};
pub use crate::storage::dialect::Window;
use crate::storage::dialect::{page_with_total, take_total, SearchPage, SearchRead};
use crate::storage::word_pieces::count_with_table_size;
use crate::storage::{Backend, Db, Executor, Row, Tx, Value};
use crate::time::{now_string, parse_date, parse_date_time, DATE_FORMAT, DATE_TIME_FORMAT};

pub use crate::identity::hooks::{insert_touches_identity, touches_identity};

pub(crate) fn select_list(table: &Table) -> String {
    table
        .all_columns()
        .into_iter()
        .map(|c| quote(c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One record of `table` by sys_id, from the pool (`&db`) or inside a
/// transaction (`&mut tx`).
pub async fn get(mut ex: impl Executor, table: &Table, sys_id: &str) -> Result<Option<Row>> {
    if !is_sys_id(sys_id) {
        return Ok(None);
    }
    let sql = format!(
        "SELECT {} FROM {} WHERE sys_id = $1{}",
        select_list(table),
        table.storage(),
        table.class_filter()
    );
    Ok(ex.fetch_optional(&sql, &[Value::from(sys_id)]).await?)
}

pub struct ListRequest {
    pub query: EncodedQuery,
    pub window: Window,
    pub count: bool,
}

pub struct ListPage {
    pub rows: Vec<Row>,
    pub total: Option<i64>,
}

/// A page of records matching the request's query, with the dot-walked
/// fields it selects under their paths (`assigned_to.email`).
pub async fn list(db: &Db, table: &Table, req: &ListRequest) -> Result<ListPage> {
    let mut args = Vec::new();
    let where_sql = req.query.where_sql(db.backend(), 1, &mut args);
    let from = req.query.from_sql();
    let class_filter = table.class_filter_of(BASE);
    let columns = table
        .all_columns()
        .into_iter()
        .map(|c| format!("{BASE}.{0} AS {0}", quote(c.name)))
        .collect::<Vec<_>>()
        .join(", ");
    if let Some(page) = counted_search_page(db, table, req, &columns).await? {
        return Ok(page);
    }
    if let (true, Some(sql)) = (
        req.count,
        search_page_with_total(db.backend(), table, req, &columns, &where_sql),
    ) {
        let mut rows = db.fetch_all(&sql, &args).await?;
        // An empty page carries no total: it is counted, unless it is the
        // first page.
        let total = match take_total(&mut rows) {
            Some(total) => total,
            None => count(db, req, &rows, &from, &where_sql, &class_filter, &args).await?,
        };
        return Ok(ListPage {
            rows,
            total: Some(total),
        });
    }
    // A lone text search without an order is read in its index's order.
    let window = req.window;
    let mut index_args = Vec::new();
    let (sql, page_args) = match req.query.index_order(db.backend(), &mut index_args) {
        Some(rows) => (
            format!(
                "SELECT {columns} FROM {} ORDER BY {} {window}",
                rows.from, rows.order
            ),
            &index_args,
        ),
        None => (
            format!(
                "SELECT {columns}{} FROM {from} WHERE ({where_sql}){class_filter} ORDER BY {} {window}",
                req.query.selected_sql(),
                req.query.order_sql(),
            ),
            &args,
        ),
    };
    let rows = db.fetch_all(&sql, page_args).await?;
    let total = match req.count {
        true => Some(count(db, req, &rows, &from, &where_sql, &class_filter, &args).await?),
        false => None,
    };
    Ok(ListPage { rows, total })
}

/// The number of records a list request's query matches (`args` are the
/// query's own), told by `page`, the request's page, when it can.
async fn count(
    db: &Db,
    req: &ListRequest,
    page: &[Row],
    from: &str,
    where_sql: &str,
    class_filter: &str,
    args: &[Value],
) -> Result<i64> {
    if let Some(total) = req.window.total_of_short_page(page.len()) {
        return Ok(total);
    }
    // A lone text search is counted by its index, without the rows.
    let mut count_args = Vec::new();
    let sql = req
        .query
        .count_from_index(db.backend(), &mut count_args)
        .unwrap_or_else(|| {
            count_args = args.to_vec();
            format!("SELECT COUNT(*) AS n FROM {from} WHERE ({where_sql}){class_filter}")
        });
    Ok(db
        .fetch_optional(&sql, &count_args)
        .await?
        .and_then(|r| r.int("n"))
        .unwrap_or(0))
}

/// PostgreSQL: a lone text search listed in its default order (sys_id) whose
/// needle the piece counts serve: counted first (`count_from_index`), then
/// the page read the way that total makes cheaper ([`SearchRead`]). `None`
/// for any other list.
async fn counted_search_page(
    db: &Db,
    table: &Table,
    req: &ListRequest,
    columns: &str,
) -> Result<Option<ListPage>> {
    if db.backend() != Backend::Postgres {
        return Ok(None);
    }
    let Some(search) = req.query.lone_search_in_any_order() else {
        return Ok(None);
    };
    let mut count_args = Vec::new();
    let Some(count) = req.query.count_from_index(db.backend(), &mut count_args) else {
        return Ok(None);
    };
    let (total, size) = count_with_table_size(db, &count, &count_args, table.storage()).await?;
    let condition = format!("TRUE{}", table.class_filter_of(BASE));
    let page = search_page(table, columns, &condition, req.window);
    let mut args = Vec::new();
    let rows = match SearchRead::choose(total, size, req.window).statement(
        &page,
        &quote(search.field.column.name),
        &search.value,
        &mut |v| {
            args.push(v);
            format!("${}", args.len())
        },
    ) {
        Some(sql) => db.fetch_all(&sql, &args).await?,
        None => Vec::new(),
    };
    Ok(Some(ListPage {
        rows,
        total: req.count.then_some(total),
    }))
}

/// PostgreSQL: a lone text search listed in its default order (sys_id) as
/// one statement giving the page and the total ([`page_with_total`]).
fn search_page_with_total(
    backend: Backend,
    table: &Table,
    req: &ListRequest,
    columns: &str,
    where_sql: &str,
) -> Option<String> {
    req.query.lone_search_in_any_order()?;
    let condition = format!("({where_sql}){}", table.class_filter_of(BASE));
    page_with_total(
        backend,
        &search_page(table, columns, &condition, req.window),
    )
}

/// A page of a search of `table` in its default order (sys_id), its rows
/// as [`BASE`] selected by `columns`.
fn search_page<'a>(
    table: &'a Table,
    columns: &'a str,
    condition: &'a str,
    window: Window,
) -> SearchPage<'a> {
    SearchPage {
        select: columns,
        table: table.storage(),
        alias: BASE,
        key: "sys_id",
        condition,
        descending: false,
        window,
    }
}

/// Inserts a record from client JSON; returns it as stored.
pub async fn insert(
    db: &Db,
    table: &'static Table,
    input: &Map<String, Json>,
    actor: &str,
) -> Result<Row> {
    insert_as(db, table, input, actor, None).await
}

/// [`insert`] on behalf of `caller`, when given: the write is refused unless
/// the identity rules ([`identity::rights`]) allow it, judged inside the
/// write's transaction.
pub async fn insert_as(
    db: &Db,
    table: &'static Table,
    input: &Map<String, Json>,
    actor: &str,
    caller: Option<&Caller>,
) -> Result<Row> {
    let mut values = Vec::new();
    let mut sys_id = None;
    for (name, raw) in input {
        if name == "sys_id" {
            match raw.as_str() {
                Some(id) if is_sys_id(id) => sys_id = Some(id.to_owned()),
                Some("") | None if raw.is_null() || raw.as_str() == Some("") => {}
                _ => {
                    return Err(Error::invalid(
                        "sys_id",
                        "must be 32 lower-case hexadecimal characters",
                    ))
                }
            }
            continue;
        }
        let Some(column) = writable_column(table, name) else {
            continue;
        };
        let value = coerce(column, raw).await?;
        if column.read_only {
            let is_default = value.is_null()
                || column
                    .default
                    .is_some_and(|d| value.to_display_string() == d);
            if !is_default {
                return Err(Error::read_only(column.name));
            }
            continue;
        }
        values.push((column, value));
    }
    check_table_rules(table, &values).await?;
    let mut tx = db.begin().await?;
    if let Some(caller) = caller {
        rights::check_write(&mut tx, caller, table, TableWrite::Insert(input)).await?;
    }
    check_references(&mut tx, &values).await?;
    check_table_rules_in_tx(&mut tx, table, &values).await?;
    let id = insert_values(
        &mut tx,
        table,
        sys_id,
        values.into_iter().map(|(c, v)| (c.name, v)).collect(),
        actor,
    )
    .await?;
    let row = get(&mut tx, table, &id)
        .await?
        .ok_or_else(|| Error::internal("inserted row vanished"))?;
    for hook in hooks(table) {
        hook.after_insert(&mut tx, &row, actor).await?;
    }
    tx.commit().await?;
    Ok(row)
}

/// Inserts validated values, filling system fields and defaults and checking
/// mandatory fields. The caller's transaction makes it atomic with the rest
/// of its work.
pub async fn insert_values(
    tx: &mut Tx,
    table: &Table,
    sys_id: Option<String>,
    mut values: Vec<(&'static str, Value)>,
    actor: &str,
) -> Result<String> {
    for column in table.all_columns().into_iter().skip(SYSTEM_COLUMNS.len()) {
        let given = values
            .iter()
            .find(|(n, _)| *n == column.name)
            .map(|(_, v)| v);
        let empty = given.is_none_or(|v| v.is_null() || v.as_str() == Some(""));
        if empty {
            if let Some(default) = column.default {
                values.retain(|(n, _)| *n != column.name);
                values.push((column.name, parse_stored(column, default)));
            } else if column.mandatory {
                return Err(Error::missing(column.name));
            }
        }
    }
    let id = sys_id.unwrap_or_else(new_sys_id);
    encrypt_secrets(tx, table, &id, &mut values).await?;
    let now = now_string();
    let mut names: Vec<&str> = SYSTEM_COLUMNS.iter().map(|c| c.name).collect();
    let mut args = new_system_values(&id, &now, actor);
    if let Some(prefix) = table.number_prefix {
        if !values.iter().any(|(n, v)| *n == "number" && !v.is_null()) {
            let n = next_number(tx, table.name).await?;
            names.push("number");
            args.push(Value::Text(format!("{prefix}{n:07}")));
        }
    }
    if table.in_hierarchy() && !values.iter().any(|(n, _)| *n == "sys_class_name") {
        names.push("sys_class_name");
        args.push(Value::from(table.name));
    }
    for (name, value) in values {
        names.push(name);
        args.push(value);
    }
    let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "INSERT INTO {} ({}) VALUES ({})",
        table.storage(),
        names
            .iter()
            .map(|n| quote(n))
            .collect::<Vec<_>>()
            .join(", "),
        placeholders.join(", ")
    );
    tx.execute(&sql, &args)
        .await
        .map_err(|e| match Error::from(e) {
            err if err.kind == ErrorKind::NotUnique => Error::new(
                ErrorKind::NotUnique,
                format!(
                    "A {} record with the same unique value already exists",
                    table.label
                ),
            ),
            err => err,
        })?;
    let watching = watchers(tx, table, actor).await?;
    if !watching.is_empty() {
        let after = get(&mut *tx, table, &id).await?;
        let write = || RowWrite {
            table,
            sys_id: &id,
            before: None,
            after: after.as_ref(),
            actor,
        };
        for watch in &watching {
            watch.written(tx, write()).await?;
        }
    }
    Ok(id)
}

/// The system fields of a new row (a sys_id, created and updated `now` by
/// `actor`, never modified), in the order of [`SYSTEM_COLUMNS`].
pub fn new_system_values(sys_id: &str, now: &str, actor: &str) -> Vec<Value> {
    vec![
        Value::from(sys_id),
        Value::from(now),
        Value::from(actor),
        Value::from(now),
        Value::from(actor),
        Value::Int(0),
    ]
}

/// The next value of a per-table counter, inside the caller's transaction.
/// It needs no `Tx::lock`: the bump is one `UPDATE ... SET value = value + 1
/// RETURNING value`, which on PostgreSQL waits for another transaction's
/// bump of the row and then adds to its result, and the first row is made
/// by `INSERT ... ON CONFLICT DO NOTHING`, which waits the same way
/// (tests/api/locks.rs, `concurrent_creates_get_distinct_numbers`).
pub async fn next_number(tx: &mut Tx, counter: &str) -> Result<i64> {
    tx.execute(
        "INSERT INTO tollgate_counter (name, value) VALUES ($1, 1000) ON CONFLICT (name) DO NOTHING",
        &[Value::from(counter)],
    )
    .await?;
    tx.fetch_optional(
        "UPDATE tollgate_counter SET value = value + 1 WHERE name = $1 RETURNING value",
        &[Value::from(counter)],
    )
    .await?
    .and_then(|r| r.int("value"))
    .ok_or_else(|| Error::internal(format!("counter {counter} missing")))
}

/// Updates some fields of a record (PUT and PATCH alike, as the vendor does).
pub async fn update(
    db: &Db,
    table: &'static Table,
    sys_id: &str,
    input: &Map<String, Json>,
    actor: &str,
) -> Result<Row> {
    update_as(db, table, sys_id, input, actor, None).await
}

/// [`update`] on behalf of `caller`, when given (see [`insert_as`]).
pub async fn update_as(
    db: &Db,
    table: &'static Table,
    sys_id: &str,
    input: &Map<String, Json>,
    actor: &str,
    caller: Option<&Caller>,
) -> Result<Row> {
    let mut tx = db.begin().await?;
    if let Some(caller) = caller {
        rights::check_write(&mut tx, caller, table, TableWrite::Update { sys_id, input }).await?;
    }
    let current = get(&mut tx, table, sys_id)
        .await?
        .ok_or_else(|| record_not_found(table, sys_id))?;
    let mut values = Vec::new();
    for (name, raw) in input {
        let Some(column) = writable_column(table, name) else {
            continue;
        };
        let mut value = coerce(column, raw).await?;
        if column.read_only {
            let unchanged = current.get(column.name).map(Value::to_display_string)
                == Some(value.to_display_string());
            if !unchanged {
                return Err(Error::read_only(column.name));
            }
            continue;
        }
        if value.is_null() || value.as_str() == Some("") {
            if column.mandatory {
                return Err(Error::missing(column.name));
            }
            // An emptied field with a default takes it, as on insert (a
            // boolean emptied is false): such columns are NOT NULL.
            if let Some(default) = column.default {
                value = parse_stored(column, default);
            }
        }
        values.push((column, value));
    }
    check_table_rules(table, &values).await?;
    check_references(&mut tx, &values).await?;
    check_table_rules_in_tx(&mut tx, table, &values).await?;
    for hook in hooks(table) {
        hook.before_update(&mut tx, &current, &mut values).await?;
    }
    update_values(
        &mut tx,
        table,
        sys_id,
        values.into_iter().map(|(c, v)| (c.name, v)).collect(),
        actor,
    )
    .await?;
    let row = get(&mut tx, table, sys_id)
        .await?
        .ok_or_else(|| record_not_found(table, sys_id))?;
    for hook in hooks(table) {
        hook.after_update(&mut tx, &row).await?;
    }
    tx.commit().await?;
    Ok(row)
}

/// Writes validated values to a record, maintaining the system fields.
pub async fn update_values(
    tx: &mut Tx,
    table: &Table,
    sys_id: &str,
    mut values: Vec<(&'static str, Value)>,
    actor: &str,
) -> Result<()> {
    encrypt_secrets(tx, table, sys_id, &mut values).await?;
    let watching = watchers(tx, table, actor).await?;
    let before = if watching.is_empty() {
        None
    } else {
        get(&mut *tx, table, sys_id).await?
    };
    let mut sets = vec![
        "sys_updated_on = $1".to_owned(),
        "sys_updated_by = $2".to_owned(),
        "sys_mod_count = sys_mod_count + 1".to_owned(),
    ];
    let mut args = vec![Value::Text(now_string()), Value::from(actor)];
    for (name, value) in values {
        args.push(value);
        sets.push(format!("{} = ${}", quote(name), args.len()));
    }
    args.push(Value::from(sys_id));
    let sql = format!(
        "UPDATE {} SET {} WHERE sys_id = ${}{}",
        table.storage(),
        sets.join(", "),
        args.len(),
        table.class_filter()
    );
    let n = tx.execute(&sql, &args).await?;
    if n == 0 {
        return Err(record_not_found(table, sys_id));
    }
    if !watching.is_empty() {
        let after = get(&mut *tx, table, sys_id).await?;
        let write = || RowWrite {
            table,
            sys_id,
            before: before.as_ref(),
            after: after.as_ref(),
            actor,
        };
        for watch in &watching {
            watch.written(tx, write()).await?;
        }
    }
    Ok(())
}

/// Deletes a record. Records that reference it through a cascading column go
/// with it; any other reference refuses the delete.
pub async fn delete(db: &Db, table: &'static Table, sys_id: &str, actor: &str) -> Result<()> {
    delete_as(db, table, sys_id, actor, None).await
}

/// [`delete`] on behalf of `caller`, when given (see [`insert_as`]).
pub async fn delete_as(
    db: &Db,
    table: &'static Table,
    sys_id: &str,
    actor: &str,
    caller: Option<&Caller>,
) -> Result<()> {
    let mut tx = db.begin().await?;
    if let Some(caller) = caller {
        rights::check_write(&mut tx, caller, table, TableWrite::Delete { sys_id }).await?;
    }
    let Some(before) = get(&mut tx, table, sys_id).await? else {
        return Err(record_not_found(table, sys_id));
    };
    for other in TABLES {
        for column in other.columns {
            match column.ty {
                ColumnType::Reference(target) if table.is_a(target) => {
                    let col = quote(column.name);
                    if column.cascade {
                        // Cascaded deletes are changes too: captured, so
                        // they travel and can be backed out.
                        let watching = watchers(&mut tx, other, actor).await?;
                        if !watching.is_empty() {
                            let sql = format!(
                                "SELECT {} FROM {} WHERE {col} = $1",
                                select_list(other),
                                other.storage()
                            );
                            for child in tx.fetch_all(&sql, &[Value::from(sys_id)]).await? {
                                let id = child.string("sys_id");
                                deleted(&mut tx, &watching, other, &id, &child, actor).await?;
                            }
                        }
                        super::attachments::delete_of_rows_where(
                            &mut tx,
                            other,
                            column.name,
                            sys_id,
                        )
                        .await?;
                        tx.execute(
                            &format!("DELETE FROM {} WHERE {col} = $1", other.storage()),
                            &[Value::from(sys_id)],
                        )
                        .await?;
                    } else if tx
                        .fetch_optional(
                            &format!(
                                "SELECT sys_id FROM {} WHERE {col} = $1 LIMIT 1",
                                other.storage()
                            ),
                            &[Value::from(sys_id)],
                        )
                        .await?
                        .is_some()
                    {
                        return Err(Error::conflict(format!(
                            "Cannot delete: the record is referenced by {}.{}",
                            other.name, column.name
                        )));
                    }
                }
                _ => {}
            }
        }
    }
    tx.execute(
        &format!("DELETE FROM {} WHERE sys_id = $1", table.storage()),
        &[Value::from(sys_id)],
    )
    .await?;
    // A record's files go with it (after the row's delete, which waits for
    // an upload holding the row's lock, so that upload's file goes too).
    super::attachments::delete_of_record(&mut tx, table, sys_id).await?;
    let watching = watchers(&mut tx, table, actor).await?;
    deleted(&mut tx, &watching, table, sys_id, &before, actor).await?;
    for hook in hooks(table) {
        hook.after_delete(&mut tx, &before).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Shows the watchers of a table the deletion of one of its rows.
async fn deleted(
    tx: &mut Tx,
    watching: &[Box<dyn RowWatch>],
    table: &Table,
    sys_id: &str,
    before: &Row,
    actor: &str,
) -> Result<()> {
    for watch in watching {
        let write = RowWrite {
            table,
            sys_id,
            before: Some(before),
            after: None,
            actor,
        };
        watch.written(tx, write).await?;
    }
    Ok(())
}

/// Secret columns are stored encrypted with the server's key, bound to
/// their table, column and record. A secret written back as the mask the
/// APIs show keeps its stored value. Everything else is encrypted as given:
/// ciphertext never comes from a client ([`coerce`] refuses it), so nothing
/// here passes through unencrypted.
async fn encrypt_secrets(
    tx: &mut Tx,
    table: &Table,
    sys_id: &str,
    values: &mut Vec<(&'static str, Value)>,
) -> Result<()> {
    let is_secret = |name: &str| {
        table
            .column(name)
            .is_some_and(|c| c.ty == ColumnType::Secret)
    };
    values.retain(|(name, value)| {
        !(is_secret(name) && value.as_str() == Some(crate::registry::SECRET_MASK))
    });
    for (name, value) in values.iter_mut() {
        if let (true, Value::Text(clear)) = (is_secret(name), &*value) {
            let binding = crate::secrets::Binding::new(table.name, name, sys_id);
            *value = Value::Text(crate::secrets::encrypt(tx, clear, &binding).await?);
        }
    }
    Ok(())
}

pub fn record_not_found(table: &Table, sys_id: &str) -> Error {
    Error::not_found("No Record found").with_detail(format!(
        "Record doesn't exist or ACL restricts the record retrieval ({} {sys_id})",
        table.name
    ))
}

/// The column a client may name in a write; system fields and unknown names
/// are ignored, as the vendor ignores them.
fn writable_column(table: &Table, name: &str) -> Option<&'static Column> {
    if crate::registry::SYSTEM_COLUMNS
        .iter()
        .any(|c| c.name == name)
    {
        return None;
    }
    table.column(name)
}

pub(crate) fn parse_stored(column: &Column, text: &str) -> Value {
    match column.ty.sql_kind() {
        SqlKind::Bool => Value::Bool(text == "true"),
        SqlKind::Int => text.parse().map(Value::Int).unwrap_or(Value::NullInt),
        SqlKind::Float => text.parse().map(Value::Float).unwrap_or(Value::NullFloat),
        SqlKind::Text => Value::from(text),
    }
}

pub(crate) fn null_of(column: &Column) -> Value {
    match column.ty.sql_kind() {
        SqlKind::Bool => Value::NullBool,
        SqlKind::Int => Value::NullInt,
        SqlKind::Float => Value::NullFloat,
        SqlKind::Text => Value::Null,
    }
}

/// Turns a client's JSON value into a stored value for `column`, or says
/// which field is wrong and why.
pub async fn coerce(column: &Column, raw: &Json) -> Result<Value> {
    let name = column.name;
    if raw.is_null() {
        return Ok(null_of(column));
    }
    match column.ty {
        ColumnType::Boolean => match raw {
            Json::Bool(b) => Ok(Value::Bool(*b)),
            Json::String(s) if s.is_empty() => Ok(null_of(column)),
            Json::String(s) => super::boolean::parse_field(s)
                .map(Value::Bool)
                .ok_or_else(|| Error::wrong_type(name, "a boolean (true or false)")),
            Json::Number(n) if n.as_i64() == Some(1) || n.as_i64() == Some(0) => {
                Ok(Value::Bool(n.as_i64() == Some(1)))
            }
            _ => Err(Error::wrong_type(name, "a boolean (true or false)")),
        },
        ColumnType::Integer => match raw {
            Json::Number(n) if n.is_i64() => Ok(Value::Int(n.as_i64().unwrap_or_default())),
            Json::String(s) if s.is_empty() => Ok(null_of(column)),
            Json::String(s) => s
                .trim()
                .parse()
                .map(Value::Int)
                .map_err(|_| Error::wrong_type(name, "an integer")),
            _ => Err(Error::wrong_type(name, "an integer")),
        },
        ColumnType::Decimal => match raw {
            Json::Number(n) => Ok(n.as_f64().map(Value::Float).unwrap_or(Value::NullFloat)),
            Json::String(s) if s.is_empty() => Ok(null_of(column)),
            Json::String(s) => s
                .trim()
                .parse()
                .map(Value::Float)
                .map_err(|_| Error::wrong_type(name, "a number")),
            _ => Err(Error::wrong_type(name, "a number")),
        },
        _ => {
            let text = match raw {
                Json::String(s) => s.clone(),
                Json::Number(n) => n.to_string(),
                Json::Bool(b) => b.to_string(),
                // A reference echoed back as {"link": ..., "value": ...}.
                Json::Object(o) if matches!(column.ty, ColumnType::Reference(_)) => {
                    match o.get("value") {
                        Some(Json::String(s)) => s.clone(),
                        _ => return Err(Error::wrong_type(name, "a sys_id string")),
                    }
                }
                _ => return Err(Error::wrong_type(name, "a string")),
            };
            validate_text(column, text).await
        }
    }
}

async fn validate_text(column: &Column, text: String) -> Result<Value> {
    let name = column.name;
    if text.is_empty() {
        return Ok(Value::Null);
    }
    // PostgreSQL cannot store a NUL in text (SQLite can): refused on both,
    // so a record means the same on either database.
    if text.contains('\0') {
        return Err(Error::invalid(name, "contains a NUL character"));
    }
    match column.ty {
        ColumnType::DateTime | ColumnType::LocalDateTime => parse_date_time(&text)
            .map(|t| Value::Text(t.format(DATE_TIME_FORMAT).to_string()))
            .ok_or_else(|| {
                Error::invalid(
                    name,
                    format!("{text:?} is not a date-time in the format YYYY-MM-DD hh:mm:ss"),
                )
            }),
        ColumnType::Date => parse_date(&text)
            .map(|d| Value::Text(d.format(DATE_FORMAT).to_string()))
            .ok_or_else(|| {
                Error::invalid(
                    name,
                    format!("{text:?} is not a date in the format YYYY-MM-DD"),
                )
            }),
        ColumnType::Choice(choices) => {
            if choices.iter().any(|(v, _)| *v == text) {
                Ok(Value::Text(text))
            } else {
                let allowed: Vec<&str> = choices
                    .iter()
                    .map(|(v, _)| *v)
                    .filter(|v| !v.is_empty())
                    .collect();
                Err(Error::invalid(
                    name,
                    format!("{text:?} is not one of {}", allowed.join(", ")),
                ))
            }
        }
        ColumnType::TimeZone => text
            .parse::<chrono_tz::Tz>()
            .map(|_| Value::Text(text.clone()))
            .map_err(|_| Error::invalid(name, format!("{text:?} is not a known time zone"))),
        ColumnType::Reference(_) => {
            if is_sys_id(&text) {
                Ok(Value::Text(text))
            } else {
                Err(Error::invalid(name, format!("{text:?} is not a sys_id")))
            }
        }
        ColumnType::List(_) => {
            let ids: Vec<&str> = text
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            if let Some(bad) = ids.iter().find(|id| !is_sys_id(id)) {
                return Err(Error::invalid(name, format!("{bad:?} is not a sys_id")));
            }
            Ok(Value::Text(ids.join(",")))
        }
        ColumnType::Password => Ok(Value::Text(identity::password::hash(&text).await?)),
        // A stored ciphertext given back would be kept as the secret and
        // decrypted for whoever uses it: a client gives clear values only.
        ColumnType::Secret if crate::secrets::is_encrypted(&text) => Err(Error::invalid(
            name,
            "is an encrypted value (enc:...); give the clear value, which the server encrypts",
        )),
        _ => Ok(Value::Text(text)),
    }
}

/// Checks a whole record as stored text (an update set's payload) the way a
/// direct write of the same values is checked: each value's type and format,
/// choices, mandatory fields, references that must exist, and the table's own
/// rules (a policy must compile). A commit applies a payload only after this,
/// so an update set can carry nothing a user could not have written here.
pub async fn validate_payload(
    tx: &mut Tx,
    table: &Table,
    payload: &Map<String, Json>,
) -> Result<()> {
    let mut values = Vec::new();
    for column in table.all_columns().into_iter().skip(SYSTEM_COLUMNS.len()) {
        let raw = payload.get(column.name).cloned().unwrap_or(Json::Null);
        if column.ty.is_secret() {
            // A password hash or a ciphertext made with another instance's
            // key means nothing here; such columns never travel.
            if !raw.is_null() && raw.as_str() != Some("") {
                return Err(Error::invalid(
                    column.name,
                    "a secret column cannot be set by an update set",
                ));
            }
            continue;
        }
        let value = coerce(column, &raw).await?;
        if column.mandatory && (value.is_null() || value.as_str() == Some("")) {
            return Err(Error::missing(column.name));
        }
        values.push((column, value));
    }
    check_table_rules(table, &values).await?;
    check_references(tx, &values).await?;
    check_table_rules_in_tx(tx, table, &values).await?;
    Ok(())
}

/// Rules particular to a table (its hooks' [`check`]), checked on every
/// insert and update before its records are read.
///
/// [`check`]: crate::registry::hooks::TableHooks::check
async fn check_table_rules(table: &Table, values: &Values) -> Result<()> {
    for hook in hooks(table) {
        hook.check(values).await?;
    }
    Ok(())
}

/// Rules particular to a table that read other records (its hooks'
/// [`check_in_tx`]).
///
/// [`check_in_tx`]: crate::registry::hooks::TableHooks::check_in_tx
async fn check_table_rules_in_tx(tx: &mut Tx, table: &Table, values: &Values) -> Result<()> {
    for hook in hooks(table) {
        hook.check_in_tx(tx, values).await?;
    }
    Ok(())
}

/// Every reference and list value must name an existing record.
pub async fn check_references(tx: &mut Tx, values: &[(&'static Column, Value)]) -> Result<()> {
    for (column, value) in values {
        let (target, ids): (&str, Vec<&str>) = match (column.ty, value.as_str()) {
            (ColumnType::Reference(t), Some(id)) => (t, vec![id]),
            (ColumnType::List(t), Some(list)) => (t, list.split(',').collect()),
            _ => continue,
        };
        for id in ids {
            if !exists(tx, target, id).await? {
                let label = table(target).map(|t| t.label).unwrap_or(target);
                return Err(Error::invalid(
                    column.name,
                    format!("no {label} record with sys_id {id}"),
                ));
            }
        }
    }
    Ok(())
}

/// Whether a record exists in a registered table (or one extending it).
pub async fn exists(tx: &mut Tx, table_name: &str, sys_id: &str) -> Result<bool> {
    let sql = match table(table_name) {
        Some(t) => format!(
            "SELECT sys_id FROM {} WHERE sys_id = $1{}",
            t.storage(),
            t.class_filter()
        ),
        None => format!("SELECT sys_id FROM {table_name} WHERE sys_id = $1"),
    };
    Ok(tx
        .fetch_optional(&sql, &[Value::from(sys_id)])
        .await?
        .is_some())
}

/// Display values of the records that reference and list columns of `rows`
/// point at, by (table, sys_id).
pub async fn reference_displays(
    db: &Db,
    table: &Table,
    rows: &[Row],
) -> Result<HashMap<(String, String), String>> {
    let columns: Vec<(String, &'static Column)> = table
        .all_columns()
        .into_iter()
        .map(|c| (c.name.to_owned(), c))
        .collect();
    displays_of(db, &columns, rows).await
}

/// [`reference_displays`] for the reference and list `columns` of rows
/// holding them under the given keys (a dot-walked field under its path).
pub async fn displays_of(
    db: &Db,
    columns: &[(String, &'static Column)],
    rows: &[Row],
) -> Result<HashMap<(String, String), String>> {
    let mut wanted: HashMap<&'static str, Vec<String>> = HashMap::new();
    for (key, column) in columns {
        let target = match column.ty {
            ColumnType::Reference(t) | ColumnType::List(t) => t,
            _ => continue,
        };
        for row in rows {
            if let Some(v) = row.text(key) {
                for id in v.split(',').filter(|s| !s.is_empty()) {
                    wanted.entry(target).or_default().push(id.to_owned());
                }
            }
        }
    }
    let mut out = HashMap::new();
    for (target, mut ids) in wanted {
        ids.sort();
        ids.dedup();
        let Some(t) = crate::registry::table(target) else {
            continue;
        };
        for chunk in ids.chunks(200) {
            let params: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT sys_id, {} AS display FROM {} WHERE sys_id IN ({})",
                quote(t.display_column),
                t.storage(),
                params.join(", ")
            );
            let args: Vec<Value> = chunk.iter().map(Value::from).collect();
            for row in db.fetch_all(&sql, &args).await? {
                out.insert(
                    (target.to_owned(), row.string("sys_id")),
                    row.string("display"),
                );
            }
        }
    }
    Ok(out)
}

/// For writes with `sysparm_input_display_value=true`: `input` with each
/// reference given by its display value replaced by the sys_id of the one
/// record showing it (a sys_id stays as given), and
/// each choice given by its label (in any case) replaced by its value. A
/// display value no record or several records show is refused, naming the
/// field. `may_read` is asked first for each field and the table its display
/// value is looked up in: a lookup reads that table.
///
/// The rest of the write (rights, validation) then sees stored values only.
pub async fn resolve_display_values(
    db: &Db,
    table: &Table,
    input: &Map<String, Json>,
    may_read: impl Fn(&str, &'static Table) -> Result<()>,
) -> Result<Map<String, Json>> {
    let mut out = input.clone();
    for (name, raw) in input {
        let (Some(column), Json::String(text)) = (writable_column(table, name), raw) else {
            continue;
        };
        if text.trim().is_empty() {
            continue;
        }
        match column.ty {
            ColumnType::Choice(choices) if !choices.iter().any(|(v, _)| *v == text.as_str()) => {
                let label = choices
                    .iter()
                    .find(|(_, l)| *l == text.as_str())
                    .or_else(|| {
                        choices
                            .iter()
                            .find(|(_, l)| l.eq_ignore_ascii_case(text.trim()))
                    });
                if let Some((value, _)) = label {
                    out.insert(name.clone(), Json::String((*value).to_owned()));
                }
            }
            ColumnType::Reference(target) => {
                let Some(target) = crate::registry::table(target) else {
                    continue;
                };
                // A sys_id is taken as one (the write checks it names a
                // record); no display value looks like one.
                if is_sys_id(text) {
                    continue;
                }
                may_read(column.name, target)?;
                let id = sys_id_by_display(db, column, target, text).await?;
                out.insert(name.clone(), Json::String(id));
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The sys_id of the one `target` record whose display value is `text`.
async fn sys_id_by_display(db: &Db, column: &Column, target: &Table, text: &str) -> Result<String> {
    let display = target
        .column(target.display_column)
        .ok_or_else(|| Error::internal(format!("{} has no display column", target.name)))?;
    let sql = format!(
        "SELECT sys_id FROM {} WHERE {} = $1{} ORDER BY sys_id LIMIT 2",
        target.storage(),
        quote(display.name),
        target.class_filter()
    );
    let rows = db.fetch_all(&sql, &[parse_stored(display, text)]).await?;
    match rows.as_slice() {
        [one] => Ok(one.string("sys_id")),
        [] => Err(Error::invalid(
            column.name,
            format!(
                "no {} record has the display value {text:?} (sysparm_input_display_value)",
                target.label
            ),
        )),
        _ => Err(Error::invalid(
            column.name,
            format!(
                "several {} records have the display value {text:?}; give the sys_id",
                target.label
            ),
        )),
    }
}
