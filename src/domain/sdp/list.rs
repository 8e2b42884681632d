//! Listing releases with `list_info`: paging (`row_count`, `start_index`,
//! `page`), sorting (`sort_field`/`sort_order` or `sort_fields`),
//! `search_fields`, `search_criteria` (one, a list, `logical_operator`,
//! nested `children`), `filter_by` and `get_total_count`.

use serde_json::{json, Map, Value as Json};

use super::releases::View;
use crate::error::{Error, Result};
use crate::storage::dialect::{
    indexed_by, page_with_total, take_epoch, take_total, text_candidates, text_contains_key,
    text_count, text_rows_in_order, SearchPage, SearchRead, TextKey, TextSearch, Window,
    EPOCH_COLUMN,
};
use crate::storage::word_pieces::count_with_table_size;
use crate::storage::{Backend, Db, Row, Value};

const MAX_ROWS: i64 = 100;

/// The fields a list item carries whatever `fields_required` names: the id,
/// and those the document's list example answers beyond the fields its
/// request names (template, urgency, group, item, impact, risk,
/// subcategory, next_review_on). The others of the list view are left out
/// unless named.
const LISTED_WITH_ANY_FIELDS: &[&str] = &[
    "id",
    "template",
    "urgency",
    "group",
    "item",
    "impact",
    "risk",
    "subcategory",
    "next_review_on",
];

/// A searchable or sortable field: its SQL, and the reference kind when it is
/// a reference (searched by name).
fn field_sql(field: &str) -> Result<(String, Option<&'static str>)> {
    let base = field.strip_suffix(".name").unwrap_or(field);
    let reference = |kind: &'static str, column: &str| Ok((column.to_owned(), Some(kind)));
    match base {
        "id" => Ok(("id".into(), None)),
        "title" => Ok(("title".into(), None)),
        "description" => Ok(("description".into(), None)),
        "created_time" => Ok(("created_time".into(), None)),
        "scheduled_start_time" => Ok(("scheduled_start".into(), None)),
        "scheduled_end_time" => Ok(("scheduled_end".into(), None)),
        "completed_time" => Ok(("completed_time".into(), None)),
        "stage" => reference("stage", "stage_id"),
        "status" => reference("status", "status_id"),
        "priority" => reference("priority", "priority_id"),
        "urgency" => reference("urgency", "urgency_id"),
        "impact" => reference("impact", "impact_id"),
        "risk" => reference("risk", "risk_id"),
        "category" => reference("category", "category_id"),
        "release_type" => reference("release_type", "release_type_id"),
        "group" => reference("group", "group_id"),
        "template" => reference("template", "template_id"),
        other => Err(Error::invalid(
            "list_info",
            format!("{other:?} is not a field releases can be searched or sorted by"),
        )),
    }
}

fn text_of(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Appends a value to `args`; answers its placeholder.
fn bind(v: Value, args: &mut Vec<Value>) -> String {
    args.push(v);
    format!("${}", args.len())
}

/// One condition as SQL, its values appended to `args`.
fn condition(backend: Backend, c: &Map<String, Json>, args: &mut Vec<Value>) -> Result<String> {
    if let Some(children) = c.get("children") {
        let own = if c.contains_key("field") {
            Some(condition_without_children(backend, c, args)?)
        } else {
            None
        };
        let nested = criteria(backend, children, args)?;
        return Ok(match own {
            Some(o) => format!("({o} AND {nested})"),
            None => nested,
        });
    }
    condition_without_children(backend, c, args)
}

fn condition_without_children(
    backend: Backend,
    c: &Map<String, Json>,
    args: &mut Vec<Value>,
) -> Result<String> {
    let field = c
        .get("field")
        .and_then(Json::as_str)
        .ok_or_else(|| Error::missing("search_criteria.field"))?;
    let cond = c
        .get("condition")
        .and_then(Json::as_str)
        .unwrap_or("is")
        .to_ascii_lowercase();
    let (column, reference) = field_sql(field)?;
    let value = c
        .get("value")
        .or_else(|| c.get("values"))
        .cloned()
        .unwrap_or(Json::Null);
    // A reference compares by its name, through the reference table.
    let target = match reference {
        Some(kind) => format!(
            "(SELECT LOWER(name) FROM sdp_reference WHERE kind = '{kind}' AND id = {column})"
        ),
        None if column == "title" || column == "description" => format!("LOWER({column})"),
        None => column.clone(),
    };
    let numeric = reference.is_none() && !matches!(column.as_str(), "title" | "description");
    let scalar = |v: &Json| -> Value {
        if numeric {
            text_of(v)
                .parse::<i64>()
                .map(Value::Int)
                .unwrap_or(Value::Int(i64::MIN))
        } else {
            Value::Text(text_of(v).to_lowercase())
        }
    };
    let sql = match cond.as_str() {
        "is" | "is not" => {
            let items: Vec<Json> = match &value {
                Json::Array(a) => a.clone(),
                v => vec![v.clone()],
            };
            let ps: Vec<String> = items.iter().map(|v| bind(scalar(v), args)).collect();
            let op = if cond == "is" { "IN" } else { "NOT IN" };
            format!("{target} {op} ({})", ps.join(", "))
        }
        "contains" | "not contains" | "starts with" | "ends with" => {
            let v = like_escape(&text_of(&value).to_lowercase());
            let pattern = match cond.as_str() {
                "starts with" => format!("{v}%"),
                "ends with" => format!("%{v}"),
                _ => format!("%{v}%"),
            };
            if cond == "not contains" {
                let p = bind(Value::Text(pattern), args);
                format!("({target} IS NULL OR {target} NOT LIKE {p} ESCAPE '\\')")
            } else {
                // Title and description have a trigram index: a contains
                // search is answered by it; for starts / ends with it
                // narrows the rows and the LIKE decides.
                let indexed =
                    reference.is_none() && matches!(column.as_str(), "title" | "description");
                let search = match cond.as_str() {
                    "starts with" => TextSearch::StartsWith,
                    "ends with" => TextSearch::EndsWith,
                    _ => TextSearch::Contains,
                };
                let needle = text_of(&value);
                let mut bind_index = |v: Value| bind(v, args);
                let index = if indexed {
                    text_candidates(
                        backend,
                        "sdp_release",
                        TextKey::Integer("id"),
                        &column,
                        &needle,
                        search,
                        &mut bind_index,
                    )
                } else {
                    None
                };
                match index {
                    Some(index) if index.decides => index.sql,
                    Some(index) => {
                        let p = bind(Value::Text(pattern), args);
                        format!("({} AND {target} LIKE {p} ESCAPE '\\')", index.sql)
                    }
                    None => {
                        let p = bind(Value::Text(pattern), args);
                        format!("{target} LIKE {p} ESCAPE '\\'")
                    }
                }
            }
        }
        "greater than" => format!("{target} > {}", bind(scalar(&value), args)),
        "lesser than" => format!("{target} < {}", bind(scalar(&value), args)),
        "between" => {
            let pair = value.as_array().filter(|a| a.len() == 2).ok_or_else(|| {
                Error::wrong_type(
                    "search_criteria.value",
                    "an array of two values for between",
                )
            })?;
            let lo = bind(scalar(&pair[0]), args);
            let hi = bind(scalar(&pair[1]), args);
            format!("{target} BETWEEN {lo} AND {hi}")
        }
        "is empty" => format!("{target} IS NULL"),
        other => {
            return Err(Error::invalid(
                "search_criteria.condition",
                format!("{other:?} is not a supported condition"),
            ))
        }
    };
    Ok(sql)
}

/// The list's most common search, which the title / description index
/// answers without reading the rows it does not show: the default filter
/// (every release not in the trash) and one `contains` criterion on an
/// indexed field, nothing else.
struct IndexedSearch {
    column: &'static str,
    needle: String,
}

impl IndexedSearch {
    fn of(info: &Map<String, Json>, filter: &str) -> Option<IndexedSearch> {
        if !matches!(filter, "all_releases" | "all") || info.contains_key("search_fields") {
            return None;
        }
        let c = match info.get("search_criteria")? {
            Json::Object(c) => c,
            Json::Array(items) if items.len() == 1 => items[0].as_object()?,
            _ => return None,
        };
        if !matches!(c.get("children"), None | Some(Json::Null))
            || c.get("condition").and_then(Json::as_str) != Some("contains")
        {
            return None;
        }
        let column = match c.get("field").and_then(Json::as_str)? {
            "title" => "title",
            "description" => "description",
            _ => return None,
        };
        let needle = text_of(c.get("value")?);
        Some(IndexedSearch { column, needle })
    }

    /// The page in id order, read from the index in that order, so only the
    /// rows shown (and any trashed among them) are read.
    fn page_sql(
        &self,
        backend: Backend,
        descending: bool,
        window: Window,
        args: &mut Vec<Value>,
    ) -> Option<String> {
        let rows = text_rows_in_order(
            backend,
            "sdp_release",
            TextKey::Integer("id"),
            self.column,
            &self.needle,
            descending,
            "sdp_release",
            &mut |v| bind(v, args),
        )?;
        Some(format!(
            "SELECT sdp_release.*, {} FROM {} WHERE sdp_release.deleted_time IS NULL \
             ORDER BY {} {window}",
            super::releases::NOTES_COUNT,
            rows.from,
            rows.order,
        ))
    }

    /// The total: the index's own count of matches, less the trashed
    /// releases among them (the few trashed releases, through their own
    /// index, each tested against the text index).
    fn count_sql(&self, backend: Backend, args: &mut Vec<Value>) -> Option<String> {
        let all = text_count(
            backend,
            "sdp_release",
            self.column,
            &self.needle,
            &mut |v| bind(v, args),
        )?;
        let matches = text_contains_key(
            backend,
            "sdp_release",
            self.column,
            &self.needle,
            "sdp_release.id",
            &mut |v| bind(v, args),
        )?;
        Some(format!(
            "SELECT ({all}) - (SELECT COUNT(*) FROM sdp_release{} \
             WHERE deleted_time IS NOT NULL AND {matches}) AS n",
            indexed_by(backend, "sdp_release_trashed"),
        ))
    }

    /// PostgreSQL: the total, from the piece counts ([`Self::count_sql`]),
    /// and the page, read the way that total makes cheaper
    /// ([`SearchRead`]), its rows carrying the reference data's epoch
    /// ([`EPOCH_COLUMN`]: its cache is checked without a statement of its
    /// own). `None` where the counts do not serve the needle.
    async fn counted_page(
        &self,
        db: &Db,
        descending: bool,
        window: Window,
    ) -> Result<Option<(i64, Vec<Row>)>> {
        let mut count_args = Vec::new();
        let Some(count) = self.count_sql(db.backend(), &mut count_args) else {
            return Ok(None);
        };
        let (total, size) = count_with_table_size(db, &count, &count_args, "sdp_release").await?;
        let select = format!(
            "sdp_release.*, {}, {} AS {EPOCH_COLUMN}",
            super::releases::NOTES_COUNT,
            super::releases::REFERENCE_EPOCH,
        );
        let page = SearchPage {
            select: &select,
            table: "sdp_release",
            alias: "sdp_release",
            key: "id",
            condition: "sdp_release.deleted_time IS NULL",
            descending,
            window,
        };
        let mut args = Vec::new();
        let Some(sql) = SearchRead::choose(total, size, window).statement(
            &page,
            self.column,
            &self.needle,
            &mut |v| bind(v, &mut args),
        ) else {
            return Ok(Some((total, Vec::new())));
        };
        let rows = db.fetch_all(&sql, &args).await?;
        Ok(Some((total, rows)))
    }
}

/// What a page of the list is read by, when the piece counts have not read
/// it already.
struct PageQuery<'a> {
    /// The lone indexed search, when the page is in id order (descending
    /// or not).
    indexed: Option<(&'a IndexedSearch, bool)>,
    wants_total: bool,
    where_sql: &'a str,
    order: &'a [String],
    args: &'a [Value],
    window: Window,
}

impl PageQuery<'_> {
    /// The statement and its arguments: SQLite reads a lone search in its
    /// index's order; PostgreSQL reads it with its total in one statement
    /// when the total is asked for; anything else is a plain query.
    fn statement(&self, backend: Backend) -> (String, Vec<Value>) {
        let window = self.window;
        if let Some((search, descending)) = self.indexed {
            let mut page_args = Vec::new();
            if let Some(sql) = search.page_sql(backend, descending, window, &mut page_args) {
                return (sql, page_args);
            }
            let select = format!("sdp_release.*, {}", super::releases::NOTES_COUNT);
            let page = SearchPage {
                select: &select,
                table: "sdp_release",
                alias: "sdp_release",
                key: "id",
                condition: self.where_sql,
                descending,
                window,
            };
            if let Some(sql) = page_with_total(backend, &page).filter(|_| self.wants_total) {
                return (sql, self.args.to_vec());
            }
        }
        let sql = format!(
            "SELECT *, {} FROM sdp_release WHERE {} ORDER BY {} {window}",
            super::releases::NOTES_COUNT,
            self.where_sql,
            self.order.join(", "),
        );
        (sql, self.args.to_vec())
    }
}

/// How many conditions a `search_criteria` holds, nested ones included.
fn count_criteria(value: &Json) -> usize {
    match value {
        Json::Array(items) => items.iter().map(count_criteria).sum(),
        Json::Object(c) => {
            // Both spellings count: whichever the condition reads binds its
            // items.
            let values: usize = ["value", "values"]
                .iter()
                .map(|k| match c.get(*k) {
                    Some(Json::Array(v)) => v.len(),
                    _ => 0,
                })
                .sum::<usize>()
                .max(1);
            values + c.get("children").map(count_criteria).unwrap_or(0)
        }
        _ => 1,
    }
}

/// A criterion or a list of them, joined by each one's `logical_operator`.
fn criteria(backend: Backend, value: &Json, args: &mut Vec<Value>) -> Result<String> {
    let items: Vec<&Map<String, Json>> = match value {
        Json::Object(o) => vec![o],
        Json::Array(a) => a
            .iter()
            .map(|v| {
                v.as_object().ok_or_else(|| {
                    Error::wrong_type("search_criteria", "an object or an array of objects")
                })
            })
            .collect::<Result<_>>()?,
        _ => {
            return Err(Error::wrong_type(
                "search_criteria",
                "an object or an array of objects",
            ))
        }
    };
    let mut sql = String::new();
    for (i, item) in items.iter().enumerate() {
        let part = condition(backend, item, args)?;
        if i > 0 {
            let op = item
                .get("logical_operator")
                .and_then(Json::as_str)
                .unwrap_or("AND");
            sql.push_str(if op.eq_ignore_ascii_case("or") {
                " OR "
            } else {
                " AND "
            });
        }
        sql.push_str(&part);
    }
    Ok(format!("({sql})"))
}

fn int(info: &Map<String, Json>, name: &str) -> Result<Option<i64>> {
    match info.get(name) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| Error::wrong_type(name, "a whole number")),
        Some(Json::String(s)) => s
            .parse()
            .map(Some)
            .map_err(|_| Error::wrong_type(name, "a whole number")),
        Some(_) => Err(Error::wrong_type(name, "a whole number")),
    }
}

/// Lists releases: the answer's `list_info` and its releases.
pub async fn list(
    db: &Db,
    input: &Map<String, Json>,
    caller: &crate::identity::Caller,
    max_terms: usize,
) -> Result<Listing> {
    let empty = Map::new();
    let info = match input.get("list_info") {
        None | Some(Json::Null) => &empty,
        Some(Json::Object(o)) => o,
        Some(_) => return Err(Error::wrong_type("list_info", "an object")),
    };
    let row_count = int(info, "row_count")?.unwrap_or(10);
    if !(1..=MAX_ROWS).contains(&row_count) {
        return Err(Error::invalid(
            "row_count",
            format!("must be from 1 to {MAX_ROWS}"),
        ));
    }
    let start_index = match (int(info, "page")?, int(info, "start_index")?) {
        (Some(page), _) if page >= 1 => (page - 1)
            .checked_mul(row_count)
            .and_then(|n| n.checked_add(1))
            .ok_or_else(|| Error::invalid("page", format!("{page} is too large")))?,
        (Some(_), _) => return Err(Error::invalid("page", "must be 1 or more")),
        (None, Some(s)) if s >= 1 => s,
        (None, Some(_)) => return Err(Error::invalid("start_index", "must be 1 or more")),
        (None, None) => 1,
    };
    let mut args = Vec::new();
    let mut wheres = Vec::new();
    let filter = info
        .get("filter_by")
        .and_then(|f| f.get("name").or(Some(f)))
        .and_then(Json::as_str)
        .unwrap_or("all_releases");
    wheres.push(match filter {
        "all_releases" | "all" => "deleted_time IS NULL".to_owned(),
        "open" | "open_releases" => "deleted_time IS NULL AND completed_time IS NULL".to_owned(),
        "closed" | "closed_releases" | "completed" => {
            "deleted_time IS NULL AND completed_time IS NOT NULL".to_owned()
        }
        "trashed" | "trash" => "deleted_time IS NOT NULL".to_owned(),
        "mine" | "my_releases" => {
            args.push(Value::from(&caller.user_name));
            let name = args.len();
            args.push(Value::from(&caller.user_id));
            let uid = args.len();
            format!(
                "deleted_time IS NULL AND (created_by = ${name} OR id IN (SELECT rr.release_id FROM sdp_release_role rr \
                 JOIN sdp_user u ON u.id = rr.user_id WHERE u.sys_user = ${uid}))"
            )
        }
        "overdue" | "overdue_releases" => {
            args.push(Value::Int(chrono::Utc::now().timestamp_millis()));
            format!("deleted_time IS NULL AND completed_time IS NULL AND scheduled_end < ${}", args.len())
        }
        other => {
            return Err(Error::invalid(
                "filter_by",
                format!("{other:?} is not a known filter"),
            ))
        }
    });
    if let Some(fields) = info.get("search_fields") {
        let fields = fields
            .as_object()
            .ok_or_else(|| Error::wrong_type("search_fields", "an object"))?;
        for (field, value) in fields {
            let mut c = Map::new();
            c.insert("field".into(), json!(field));
            c.insert("condition".into(), json!("contains"));
            c.insert("value".into(), value.clone());
            wheres.push(condition(db.backend(), &c, &mut args)?);
        }
    }
    if let Some(sc) = info.get("search_criteria") {
        let terms = count_criteria(sc);
        if terms > max_terms {
            return Err(Error::invalid(
                "search_criteria",
                format!("has {terms} conditions; at most {max_terms} are accepted"),
            ));
        }
        wheres.push(criteria(db.backend(), sc, &mut args)?);
    }
    let mut order = Vec::new();
    let mut sort_echo = Map::new();
    if let Some(Json::Array(fields)) = info.get("sort_fields") {
        for f in fields {
            let name = f
                .get("field")
                .and_then(Json::as_str)
                .ok_or_else(|| Error::missing("sort_fields.field"))?;
            let dir = f.get("order").and_then(Json::as_str).unwrap_or("asc");
            order.push(format!(
                "{} {}",
                field_sql(name)?.0,
                if dir.eq_ignore_ascii_case("desc") {
                    "DESC"
                } else {
                    "ASC"
                }
            ));
        }
        sort_echo.insert("sort_fields".into(), info["sort_fields"].clone());
        // The first sort field is echoed as the single sort too, as the
        // document's list example answers its `sort_fields` request.
        if let Some(first) = fields.first() {
            sort_echo.insert("sort_field".into(), first["field"].clone());
            sort_echo.insert(
                "sort_order".into(),
                json!(first
                    .get("order")
                    .and_then(Json::as_str)
                    .unwrap_or("asc")
                    .to_ascii_lowercase()),
            );
        }
    } else {
        let name = info
            .get("sort_field")
            .and_then(Json::as_str)
            .unwrap_or("id");
        let dir = info
            .get("sort_order")
            .and_then(Json::as_str)
            .unwrap_or("asc");
        order.push(format!(
            "{} {}",
            field_sql(name)?.0,
            if dir.eq_ignore_ascii_case("desc") {
                "DESC"
            } else {
                "ASC"
            }
        ));
        sort_echo.insert("sort_field".into(), json!(name));
        sort_echo.insert("sort_order".into(), json!(dir.to_ascii_lowercase()));
    }
    // A stable order for paging, unless the sort already is by id (a
    // repeated key would keep SQLite from walking the primary key in order).
    if !order.iter().any(|o| o.starts_with("id ")) {
        order.push("id ASC".into());
    }
    let where_sql = wheres.join(" AND ");
    let indexed = IndexedSearch::of(info, filter);
    let by_id = match order.as_slice() {
        [o] if o == "id ASC" => Some(false),
        [o] if o == "id DESC" => Some(true),
        _ => None,
    };
    let wants_total = match info.get("get_total_count") {
        None | Some(Json::Null) => false,
        Some(v) => crate::domain::boolean::from_json(v)
            .ok_or_else(|| Error::wrong_type("get_total_count", "a boolean"))?,
    };
    // One row more than shown tells whether there are more.
    let window = Window {
        limit: row_count + 1,
        offset: start_index - 1,
    };
    // PostgreSQL: a needle the piece counts serve is counted first, and
    // the count chooses how the page is read.
    let counted = match (&indexed, by_id, db.backend()) {
        (Some(search), Some(descending), Backend::Postgres) => {
            search.counted_page(db, descending, window).await?
        }
        _ => None,
    };
    let (mut rows, counted_total) = match counted {
        Some((total, rows)) => (rows, Some(total)),
        None => {
            let page = PageQuery {
                indexed: indexed.as_ref().zip(by_id),
                wants_total,
                where_sql: &where_sql,
                order: &order,
                args: &args,
                window,
            };
            let (sql, page_args) = page.statement(db.backend());
            (db.fetch_all(&sql, &page_args).await?, None)
        }
    };
    let carried_total = counted_total
        .or_else(|| take_total(&mut rows))
        .or_else(|| window.total_of_short_page(rows.len()));
    let has_more = rows.len() as i64 > row_count;
    let view = match take_epoch(&mut rows) {
        Some(epoch) => View::load_at(db, epoch).await?,
        None => View::load(db).await?,
    };
    rows.truncate(row_count as usize);
    // `fields_required` names the fields the items carry (beyond the list
    // view's own too), besides those every item carries.
    let extra: Vec<String> = info
        .get("fields_required")
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Json::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let mut list_info =
        json!({"has_more_rows": has_more, "start_index": start_index, "row_count": rows.len()});
    for (k, v) in sort_echo {
        list_info[k] = v;
    }
    // One plain criterion is echoed as `search_fields` too, as the
    // document's list example answers its `search_criteria` request.
    if let (None, Some(Json::Object(c))) = (info.get("search_fields"), info.get("search_criteria"))
    {
        if let (Some(Json::String(field)), Some(value), None) =
            (c.get("field"), c.get("value"), c.get("children"))
        {
            list_info["search_fields"] = json!({field.as_str(): value});
        }
    }
    for key in [
        "search_fields",
        "search_criteria",
        "filter_by",
        "fields_required",
        "page",
    ] {
        if let Some(v) = info.get(key) {
            list_info[key] = v.clone();
        }
    }
    if wants_total {
        let total = match carried_total {
            Some(total) => total,
            None => {
                let mut count_args = Vec::new();
                let count_sql = indexed
                    .as_ref()
                    .and_then(|search| search.count_sql(db.backend(), &mut count_args))
                    .unwrap_or_else(|| {
                        count_args = args.clone();
                        format!("SELECT COUNT(*) AS n FROM sdp_release WHERE {where_sql}")
                    });
                db.fetch_optional(&count_sql, &count_args)
                    .await?
                    .and_then(|r| r.int("n"))
                    .unwrap_or(0)
            }
        };
        list_info["get_total_count"] = json!("true");
        list_info["total_count"] = json!(total);
    }
    Ok(Listing {
        list_info,
        rows,
        view,
        extra,
    })
}

/// A page of releases: `list_info` and the releases, shown through the
/// reference data loaded with them.
pub struct Listing {
    pub list_info: Json,
    rows: Vec<crate::storage::Row>,
    view: View,
    /// `fields_required`: fields beyond the list view's own.
    extra: Vec<String>,
}

impl Listing {
    /// The releases as JSON objects.
    pub fn items(&self) -> Vec<Json> {
        self.rows.iter().map(|r| self.item(r)).collect()
    }

    fn item(&self, r: &crate::storage::Row) -> Json {
        let (view, extra) = (&self.view, &self.extra);
        let mut item = view.summary(r);
        for field in extra {
            if item.contains_key(field.as_str()) {
                continue;
            }
            match field.as_str() {
                "description" => {
                    item.insert("description".into(), json!(r.text("description")));
                }
                "short_description" => {
                    item.insert(
                        "short_description".into(),
                        json!(r.text("description").unwrap_or_else(|| r.string("title"))),
                    );
                }
                "services" => {
                    let services: Vec<Json> = r
                        .string("services")
                        .split(',')
                        .filter_map(|s| s.parse::<i64>().ok())
                        .map(|s| view.reference("service", Some(s)))
                        .collect();
                    item.insert("services".into(), Json::Array(services));
                }
                _ => {}
            }
        }
        if !extra.is_empty() {
            item.retain(|key, _| {
                LISTED_WITH_ANY_FIELDS.contains(&key.as_str()) || extra.iter().any(|f| f == key)
            });
        }
        Json::Object(item)
    }

    /// The releases as an answer writes them: the list view straight from
    /// the rows, or, with `fields_required`, the objects [`Listing::items`]
    /// builds.
    pub fn releases(&self) -> impl serde::Serialize + '_ {
        ReleasesOf(self)
    }
}

struct ReleasesOf<'a>(&'a Listing);

impl serde::Serialize for ReleasesOf<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let listing = self.0;
        if listing.extra.is_empty() {
            s.collect_seq(listing.rows.iter().map(|r| listing.view.summary_of(r)))
        } else {
            s.collect_seq(listing.rows.iter().map(|r| listing.item(r)))
        }
    }
}
