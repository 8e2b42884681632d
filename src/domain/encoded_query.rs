//! The ServiceNow encoded query (`sysparm_query`), parsed against a table's
//! registered columns and turned into SQL that both databases accept.
//!
//! `a=1^ORb=2^c=3` means `(a=1 OR b=2) AND c=3`; `^NQ` starts a new query
//! OR-ed with the ones before; `ORDERBY`/`ORDERBYDESC` terms sort.

use super::boolean;
use crate::error::{Error, Result};
use crate::ids::is_sys_id;
use crate::registry::{self, quote, Column, ColumnType, SqlKind, Table};
use crate::storage::dialect::{
    text_candidates, text_count, text_rows_in_order, IndexOrder, Narrowing, TextKey, TextSearch,
};
use crate::storage::{Backend, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    Eq,
    NotEq,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
    NotLike,
    StartsWith,
    EndsWith,
    In,
    NotIn,
    IsEmpty,
    IsNotEmpty,
    Between,
}

/// Longest spellings first, so `<=` is not read as `<`.
const OPERATORS: &[(&str, Operator)] = &[
    ("ISNOTEMPTY", Operator::IsNotEmpty),
    ("ISEMPTY", Operator::IsEmpty),
    ("NOT LIKE", Operator::NotLike),
    ("NOT IN", Operator::NotIn),
    ("STARTSWITH", Operator::StartsWith),
    ("ENDSWITH", Operator::EndsWith),
    ("BETWEEN", Operator::Between),
    ("LIKE", Operator::Like),
    ("IN", Operator::In),
    ("!=", Operator::NotEq),
    ("<=", Operator::Le),
    (">=", Operator::Ge),
    ("=", Operator::Eq),
    ("<", Operator::Lt),
    (">", Operator::Gt),
];

/// How many references a field path may follow: `a.b.c.d` follows three,
/// as deep as the vendor's examples walk. Each hop is a join, so the bound
/// keeps a query's joins few whatever a client writes.
pub const MAX_HOPS: usize = 3;

/// The most tables one query may join (paths sharing a prefix share its
/// joins); SQLite refuses more than 64 tables in one statement.
pub const MAX_JOINS: usize = 16;

/// The alias of the listed table in the SQL; joined tables are `j1`, `j2`...
pub const BASE: &str = "t0";

/// A field a query names: a column of the listed table, or a dot-walked
/// path through reference columns to a column of another table.
#[derive(Clone, Debug)]
pub struct Field {
    /// As named (`assigned_to.email`); a plain field's column name.
    pub path: String,
    /// The SQL alias of the table holding the column.
    alias: String,
    pub column: &'static Column,
}

impl Field {
    fn plain(column: &'static Column) -> Field {
        Field {
            path: column.name.to_owned(),
            alias: BASE.to_owned(),
            column,
        }
    }

    /// Reached through at least one reference.
    pub fn is_walked(&self) -> bool {
        self.alias != BASE
    }

    /// The column, qualified by its table's alias.
    pub fn sql(&self) -> String {
        format!("{}.{}", self.alias, quote(self.column.name))
    }
}

/// A joined table: the records one walked reference path reaches.
#[derive(Clone, Debug)]
pub struct Join {
    /// The reference path it follows (`assigned_to`, `assigned_to.manager`).
    pub path: String,
    pub alias: String,
    /// The qualified reference column the join follows.
    on: String,
    pub table: &'static Table,
}

/// A field path resolved against the registry, before it is given joins.
#[derive(Clone, Debug)]
struct Walk {
    path: String,
    /// The reference columns followed, each with the table it leads to.
    hops: Vec<(&'static Column, &'static Table)>,
    column: &'static Column,
}

#[derive(Clone, Debug)]
pub struct Condition {
    pub field: Field,
    pub op: Operator,
    pub value: String,
}

#[derive(Clone, Debug, Default)]
pub struct EncodedQuery {
    /// OR of groups (`^NQ`); each group an AND of OR-lists (`^OR`).
    pub groups: Vec<Vec<Vec<Condition>>>,
    pub order: Vec<(Field, bool)>,
    /// The table the rows are stored in (a hierarchy's root), for the
    /// conditions a text index narrows.
    pub storage: &'static str,
    /// The listed table.
    table: Option<&'static Table>,
    /// The tables dot-walked fields reach, in the order they were named.
    joins: Vec<Join>,
    /// Dot-walked fields the answer shows (`sysparm_fields`).
    selected: Vec<Field>,
}

impl EncodedQuery {
    /// The query of `table` that filters nothing.
    pub fn new(table: &'static Table) -> EncodedQuery {
        EncodedQuery {
            storage: table.storage(),
            table: Some(table),
            ..EncodedQuery::default()
        }
    }

    /// Parses `text`; more than `max_terms` conditions, list items and
    /// orderings (the `max_query_terms` setting) are refused, so a query's
    /// SQL stays within what both databases accept.
    pub fn parse(table: &'static Table, text: &str, max_terms: usize) -> Result<EncodedQuery> {
        let terms = text.matches('^').count() + text.matches(',').count() + 1;
        if terms > max_terms {
            return Err(Error::invalid(
                PARAM,
                format!(
                    "has about {terms} conditions and list items; at most {max_terms} are accepted"
                ),
            ));
        }
        let mut query = EncodedQuery::new(table);
        for group_text in text.split("^NQ") {
            let mut group: Vec<Vec<Condition>> = Vec::new();
            for raw in group_text.split('^') {
                let term = raw.trim();
                if term.is_empty() || term == "EQ" {
                    continue;
                }
                if let Some(field) = term.strip_prefix("ORDERBYDESC") {
                    let field = query.field(field.trim(), PARAM)?;
                    query.order.push((field, true));
                    continue;
                }
                if let Some(field) = term.strip_prefix("ORDERBY") {
                    let field = query.field(field.trim(), PARAM)?;
                    query.order.push((field, false));
                    continue;
                }
                if let Some(rest) = term.strip_prefix("OR") {
                    if let Some(last) = group.last_mut() {
                        if let Ok(parsed) = condition(table, rest) {
                            last.push(query.condition(parsed)?);
                            continue;
                        }
                    }
                }
                let parsed = condition(table, term)?;
                group.push(vec![query.condition(parsed)?]);
            }
            if !group.is_empty() {
                query.groups.push(group);
            }
        }
        Ok(query)
    }

    /// Narrows the query to records whose `column` equals `value`, whatever
    /// the client asked for: the condition joins every `^NQ` group, since a
    /// group without it would be OR-ed past it.
    pub fn require_equals(&mut self, column: &'static Column, value: &str) {
        self.require(Condition {
            field: Field::plain(column),
            op: Operator::Eq,
            value: value.to_owned(),
        });
    }

    fn require(&mut self, condition: Condition) {
        if self.groups.is_empty() {
            self.groups.push(Vec::new());
        }
        for group in &mut self.groups {
            group.push(vec![condition.clone()]);
        }
    }

    /// A name-value pair of a list's URL (`active=true`,
    /// `assigned_to.email=a@b.c`), AND-ed with the rest as a `=` condition.
    /// As the vendor documents, a reference may be given by its display
    /// value (`assigned_to=Rita Release`) and a choice by its label
    /// (`state=closed complete`, any case). The pair's name is the field
    /// its errors name.
    pub fn require_pair(&mut self, name: &str, value: &str) -> Result<()> {
        let table = self.listed()?;
        let mut walk = walk(table, name, name)?;
        let mut value = value.to_owned();
        match walk.column.ty {
            ColumnType::Reference(target) if !value.is_empty() && !is_sys_id(&value) => {
                let target = registry::table(target)
                    .ok_or_else(|| Error::internal(format!("{target} is not registered")))?;
                let display = target.column(target.display_column).ok_or_else(|| {
                    Error::internal(format!("{} has no display column", target.name))
                })?;
                if walk.hops.len() >= MAX_HOPS {
                    return Err(too_deep(name, name));
                }
                walk.hops.push((walk.column, target));
                walk.path = format!("{name}.{}", display.name);
                walk.column = display;
            }
            ColumnType::Choice(choices) if !choices.iter().any(|(v, _)| *v == value) => {
                if let Some((v, _)) = choices
                    .iter()
                    .find(|(_, label)| label.eq_ignore_ascii_case(value.trim()))
                {
                    value = (*v).to_owned();
                }
            }
            _ => {}
        }
        check_value(name, walk.column, Operator::Eq, &value)?;
        let field = self.joined(walk)?;
        self.require(Condition {
            field,
            op: Operator::Eq,
            value,
        });
        Ok(())
    }

    /// A field the answer shows (`sysparm_fields`), which a dot-walked path
    /// brings in through joins; `param` names the parameter in errors.
    pub fn select(&mut self, path: &str, param: &str) -> Result<Field> {
        let field = self.field(path, param)?;
        if field.is_walked() && !self.selected.iter().any(|f| f.path == field.path) {
            self.selected.push(field.clone());
        }
        Ok(field)
    }

    /// The dot-walked fields the answer shows.
    pub fn selected(&self) -> &[Field] {
        &self.selected
    }

    /// Every table the query reads through dot-walked fields, with the
    /// reference path that reaches it: the caller must be allowed to read
    /// each, or a walk would be a side door into a table it cannot list.
    pub fn joined_tables(&self) -> impl Iterator<Item = (&str, &'static Table)> {
        self.joins.iter().map(|j| (j.path.as_str(), j.table))
    }

    fn listed(&self) -> Result<&'static Table> {
        self.table
            .ok_or_else(|| Error::internal("an encoded query without its table"))
    }

    /// Resolves `path` (refused by `param`'s name when it names no field)
    /// and joins the tables it walks through.
    fn field(&mut self, path: &str, param: &str) -> Result<Field> {
        let walk = walk(self.listed()?, path, param)?;
        self.joined(walk)
    }

    fn condition(&mut self, (walk, op, value): (Walk, Operator, String)) -> Result<Condition> {
        check_value(PARAM, walk.column, op, &value)?;
        Ok(Condition {
            field: self.joined(walk)?,
            op,
            value,
        })
    }

    /// The field a walk reaches, adding the joins it needs (a prefix already
    /// joined is shared).
    fn joined(&mut self, walk: Walk) -> Result<Field> {
        let mut alias = BASE.to_owned();
        let mut prefix = String::new();
        for (reference, target) in &walk.hops {
            if !prefix.is_empty() {
                prefix.push('.');
            }
            prefix.push_str(reference.name);
            alias = match self.joins.iter().find(|j| j.path == prefix) {
                Some(join) => join.alias.clone(),
                None => {
                    if self.joins.len() >= MAX_JOINS {
                        return Err(Error::invalid(
                            PARAM,
                            format!(
                                "the query walks more than {MAX_JOINS} references; \
                                 at most {MAX_JOINS} are joined"
                            ),
                        ));
                    }
                    let join = Join {
                        path: prefix.clone(),
                        alias: format!("j{}", self.joins.len() + 1),
                        on: format!("{alias}.{}", quote(reference.name)),
                        table: target,
                    };
                    let next = join.alias.clone();
                    self.joins.push(join);
                    next
                }
            };
        }
        Ok(Field {
            path: walk.path,
            alias,
            column: walk.column,
        })
    }

    /// The FROM clause (without the keyword): the stored table as [`BASE`]
    /// and a LEFT JOIN per walked reference, so a record whose reference is
    /// empty or dangling is still listed (its walked fields empty).
    pub fn from_sql(&self) -> String {
        let mut sql = format!("{} {BASE}", self.storage);
        for j in &self.joins {
            sql.push_str(&format!(
                " LEFT JOIN {} {alias} ON {alias}.sys_id = {}{}",
                j.table.storage(),
                j.on,
                j.table.class_filter_of(&j.alias),
                alias = j.alias,
            ));
        }
        sql
    }

    /// The select-list entries of the dot-walked fields shown, each named
    /// by its path (`, j1."email" AS "assigned_to.email"`).
    pub fn selected_sql(&self) -> String {
        self.selected
            .iter()
            .map(|f| format!(", {} AS {}", f.sql(), quote(&f.path)))
            .collect()
    }

    /// The WHERE clause (without the keyword; `1=1` when empty), its
    /// parameters numbered from `$first`; on `backend`, a text condition on
    /// an indexed column is narrowed through the index.
    pub fn where_sql(&self, backend: Backend, first: usize, args: &mut Vec<Value>) -> String {
        if self.groups.is_empty() {
            return "1=1".to_owned();
        }
        let mut next = first;
        let groups: Vec<String> = self
            .groups
            .iter()
            .map(|group| {
                let ands: Vec<String> = group
                    .iter()
                    .map(|ors| {
                        let parts: Vec<String> = ors
                            .iter()
                            .map(
                                |c| match self.index_narrowing(backend, c, &mut next, args) {
                                    Some(index) if index.decides => index.sql,
                                    Some(index) => {
                                        let sql = condition_sql(c, &mut next, args);
                                        format!("({} AND {sql})", index.sql)
                                    }
                                    None => condition_sql(c, &mut next, args),
                                },
                            )
                            .collect();
                        format!("({})", parts.join(" OR "))
                    })
                    .collect();
                format!("({})", ands.join(" AND "))
            })
            .collect();
        groups.join(" OR ")
    }

    /// The query's one condition when it is a contains search on a
    /// text-indexed column of the listed table and nothing else, on a table
    /// whose storage holds its rows alone (not a hierarchy's child, whose
    /// storage holds other classes' rows too).
    fn lone_text_search(&self) -> Option<&Condition> {
        let [group] = self.groups.as_slice() else {
            return None;
        };
        let [ors] = group.as_slice() else {
            return None;
        };
        let [c] = ors.as_slice() else {
            return None;
        };
        let lone = c.op == Operator::Like
            && c.field.column.text_indexed
            && !c.field.is_walked()
            && self.table?.extends.is_none()
            && !self.storage.is_empty();
        lone.then_some(c)
    }

    /// The total of a [lone text search](Self::lone_text_search), as a
    /// statement answering `n` from the text index alone (`text_count`), its
    /// parameter appended to `args`. `None` for any other query and where
    /// the index cannot answer alone.
    pub fn count_from_index(&self, backend: Backend, args: &mut Vec<Value>) -> Option<String> {
        let c = self.lone_text_search()?;
        text_count(
            backend,
            self.storage,
            c.field.column.name,
            &c.value,
            &mut |v| bind_next(v, args),
        )
    }

    /// The condition of a [lone text search](Self::lone_text_search) that
    /// names no order and walks no reference: its rows may be listed in the
    /// order of a key (the index's on SQLite, sys_id on PostgreSQL, as the
    /// default order has it).
    pub fn lone_search_in_any_order(&self) -> Option<&Condition> {
        if !self.order.is_empty() || !self.joins.is_empty() {
            return None;
        }
        self.lone_text_search()
    }

    /// For a [lone text search](Self::lone_text_search) that names no order
    /// and walks no reference: the FROM clause and ORDER BY that list its
    /// rows (as [`BASE`]) in the index's order, so a page reads only the
    /// rows up to its end instead of every match (`text_rows_in_order`).
    /// Such a list is in the order the records were indexed, which is
    /// stable from page to page. `None` otherwise.
    pub fn index_order(&self, backend: Backend, args: &mut Vec<Value>) -> Option<IndexOrder> {
        let c = self.lone_search_in_any_order()?;
        text_rows_in_order(
            backend,
            self.storage,
            TextKey::SysId,
            c.field.column.name,
            &c.value,
            false,
            BASE,
            &mut |v| bind_next(v, args),
        )
    }

    /// For a contains / starts with / ends with condition on a text-indexed
    /// column of the listed table, its answer through the index (see
    /// `text_candidates`). A dot-walked condition is not narrowed.
    fn index_narrowing(
        &self,
        backend: Backend,
        c: &Condition,
        next: &mut usize,
        args: &mut Vec<Value>,
    ) -> Option<Narrowing> {
        let search = match c.op {
            Operator::Like => TextSearch::Contains,
            Operator::StartsWith => TextSearch::StartsWith,
            Operator::EndsWith => TextSearch::EndsWith,
            _ => return None,
        };
        if !c.field.column.text_indexed || c.field.is_walked() || self.storage.is_empty() {
            return None;
        }
        let mut bind = |v: Value| {
            args.push(v);
            let p = format!("${}", *next);
            *next += 1;
            p
        };
        let narrowed = text_candidates(
            backend,
            self.storage,
            TextKey::SysId,
            c.field.column.name,
            &c.value,
            search,
            &mut bind,
        )?;
        if self.joins.is_empty() {
            return Some(narrowed);
        }
        // The candidates name `sys_id` unqualified, which the joined tables
        // have too: they are read in a sub-select of the stored table alone.
        Some(Narrowing {
            sql: format!(
                "{BASE}.sys_id IN (SELECT sys_id FROM {} WHERE {})",
                self.storage, narrowed.sql
            ),
            decides: narrowed.decides,
        })
    }

    pub fn order_sql(&self) -> String {
        let mut parts: Vec<String> = self
            .order
            .iter()
            .map(|(f, desc)| format!("{} {}", f.sql(), if *desc { "DESC" } else { "ASC" }))
            .collect();
        // A stable order for paging: sys_id is time-ordered.
        parts.push(format!("{BASE}.\"sys_id\" ASC"));
        parts.join(", ")
    }
}

/// Appends a value to `args`; answers its placeholder (`$n`, numbered from 1).
fn bind_next(v: Value, args: &mut Vec<Value>) -> String {
    args.push(v);
    format!("${}", args.len())
}

/// The parameter an encoded query comes in.
const PARAM: &str = "sysparm_query";

fn too_deep(param: &str, path: &str) -> Error {
    Error::invalid(
        param,
        format!("{path:?} follows more than {MAX_HOPS} references"),
    )
}

/// Resolves a field path against the registry: each name but the last must
/// be a reference column (followed to the table it names), the last any
/// column; secret columns are no fields. `param` names the refusal.
fn walk(table: &'static Table, path: &str, param: &str) -> Result<Walk> {
    let path = path.trim();
    let names: Vec<&str> = path.split('.').collect();
    if names.len() > MAX_HOPS + 1 {
        return Err(too_deep(param, path));
    }
    let mut current = table;
    let mut hops = Vec::new();
    let (last, walked) = names
        .split_last()
        .ok_or_else(|| Error::invalid(param, "names no field"))?;
    for name in walked {
        let column = column_of(current, name, path, param)?;
        let ColumnType::Reference(target) = column.ty else {
            return Err(Error::invalid(
                param,
                format!(
                    "{path:?}: {name} is not a reference field of table {}, so it cannot be dot-walked",
                    current.name
                ),
            ));
        };
        let next = registry::table(target)
            .ok_or_else(|| Error::internal(format!("{target} is not registered")))?;
        hops.push((column, next));
        current = next;
    }
    Ok(Walk {
        path: path.to_owned(),
        hops,
        column: column_of(current, last, path, param)?,
    })
}

fn column_of(table: &Table, name: &str, path: &str, param: &str) -> Result<&'static Column> {
    table
        .column(name)
        .filter(|c| !c.ty.is_secret())
        .ok_or_else(|| {
            let problem = if path == name {
                format!("{name:?} is not a field of table {}", table.name)
            } else {
                format!("{path:?}: {name:?} is not a field of table {}", table.name)
            };
            Error::invalid(param, problem)
        })
}

/// A boolean field compares with true or false (any case, or 1 and 0): any
/// other word is refused rather than read as false.
fn check_value(param: &str, column: &Column, op: Operator, value: &str) -> Result<()> {
    if column.ty.sql_kind() != SqlKind::Bool {
        return Ok(());
    }
    let items: Vec<&str> = match op {
        Operator::Eq | Operator::NotEq => vec![value],
        Operator::In | Operator::NotIn => value.split(',').collect(),
        _ => return Ok(()),
    };
    match items
        .iter()
        .find(|v| !v.trim().is_empty() && boolean::parse_field(v).is_none())
    {
        Some(bad) => Err(Error::invalid(
            param,
            format!(
                "{:?} is not true or false (field {})",
                bad.trim(),
                column.name
            ),
        )),
        None => Ok(()),
    }
}

fn condition(table: &'static Table, term: &str) -> Result<(Walk, Operator, String)> {
    let run = term
        .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_' || ch == '.'))
        .unwrap_or(term.len());
    // Word operators (`LIKE`, `IN`, `ISEMPTY`, ...) follow the field name
    // with nothing between, so the field is the longest prefix of the name
    // run that is a field and that an operator follows (else, for the error,
    // the shortest prefix an operator follows).
    let operator_at = |i: usize| {
        let rest = term[i..].trim_start();
        OPERATORS
            .iter()
            .find_map(|(spelling, op)| rest.strip_prefix(spelling).map(|v| (i, *op, v)))
    };
    let splits: Vec<(usize, Operator, &str)> = (0..=run).rev().filter_map(operator_at).collect();
    let (field_len, op, value) = splits
        .iter()
        .find(|(i, _, _)| *i > 0 && walk(table, &term[..*i], PARAM).is_ok())
        .or_else(|| splits.last())
        .copied()
        .ok_or_else(|| Error::invalid(PARAM, format!("{term:?} has no known operator")))?;
    let field = &term[..field_len];
    if field.is_empty() {
        return Err(Error::invalid(PARAM, format!("{term:?} names no field")));
    }
    Ok((walk(table, field, PARAM)?, op, value.to_owned()))
}

fn typed(column: &Column, raw: &str) -> Value {
    match column.ty.sql_kind() {
        SqlKind::Bool => Value::Bool(boolean::parse_field(raw).unwrap_or(false)),
        SqlKind::Int => raw
            .trim()
            .parse()
            .map(Value::Int)
            .unwrap_or(Value::Text(raw.to_owned())),
        SqlKind::Float => raw
            .trim()
            .parse()
            .map(Value::Float)
            .unwrap_or(Value::Text(raw.to_owned())),
        SqlKind::Text => Value::Text(raw.to_owned()),
    }
}

fn like_escape(raw: &str) -> String {
    raw.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn condition_sql(c: &Condition, next: &mut usize, args: &mut Vec<Value>) -> String {
    let col = c.field.sql();
    let column = c.field.column;
    let is_text = column.ty.sql_kind() == SqlKind::Text;
    let mut param = |v: Value, args: &mut Vec<Value>| {
        args.push(v);
        let p = format!("${}", *next);
        *next += 1;
        p
    };
    let like = |pattern: String,
                negate: bool,
                args: &mut Vec<Value>,
                param: &mut dyn FnMut(Value, &mut Vec<Value>) -> String| {
        let p = param(Value::Text(pattern.to_lowercase()), args);
        if negate {
            format!("({col} IS NULL OR LOWER({col}) NOT LIKE {p} ESCAPE '\\')")
        } else {
            format!("LOWER({col}) LIKE {p} ESCAPE '\\'")
        }
    };
    match c.op {
        Operator::Eq => format!("{col} = {}", param(typed(column, &c.value), args)),
        Operator::NotEq => format!(
            "({col} IS NULL OR {col} <> {})",
            param(typed(column, &c.value), args)
        ),
        Operator::Lt => format!("{col} < {}", param(typed(column, &c.value), args)),
        Operator::Le => format!("{col} <= {}", param(typed(column, &c.value), args)),
        Operator::Gt => format!("{col} > {}", param(typed(column, &c.value), args)),
        Operator::Ge => format!("{col} >= {}", param(typed(column, &c.value), args)),
        Operator::Like => like(
            format!("%{}%", like_escape(&c.value)),
            false,
            args,
            &mut param,
        ),
        Operator::NotLike => like(
            format!("%{}%", like_escape(&c.value)),
            true,
            args,
            &mut param,
        ),
        Operator::StartsWith => like(
            format!("{}%", like_escape(&c.value)),
            false,
            args,
            &mut param,
        ),
        Operator::EndsWith => like(
            format!("%{}", like_escape(&c.value)),
            false,
            args,
            &mut param,
        ),
        Operator::In | Operator::NotIn => {
            let items: Vec<String> = c
                .value
                .split(',')
                .map(|v| param(typed(column, v.trim()), args))
                .collect();
            if c.op == Operator::In {
                format!("{col} IN ({})", items.join(", "))
            } else {
                format!("({col} IS NULL OR {col} NOT IN ({}))", items.join(", "))
            }
        }
        Operator::IsEmpty if is_text => format!("({col} IS NULL OR {col} = '')"),
        Operator::IsEmpty => format!("{col} IS NULL"),
        Operator::IsNotEmpty if is_text => format!("({col} IS NOT NULL AND {col} <> '')"),
        Operator::IsNotEmpty => format!("{col} IS NOT NULL"),
        Operator::Between => {
            let (low, high) = c.value.split_once('@').unwrap_or((&c.value, &c.value));
            let low = param(typed(column, low), args);
            let high = param(typed(column, high), args);
            format!("{col} BETWEEN {low} AND {high}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::table;

    fn users() -> &'static Table {
        table("sys_user").unwrap()
    }

    #[test]
    fn or_binds_tighter_than_and_and_nq_ors_groups() {
        let q = EncodedQuery::parse(
            users(),
            "active=true^user_nameLIKEad^ORemail=x^NQname=b^ORDERBYDESCsys_created_on",
            100,
        )
        .unwrap();
        let mut args = Vec::new();
        let sql = q.where_sql(Backend::Postgres, 1, &mut args);
        assert_eq!(
            sql,
            "((t0.\"active\" = $1) AND (LOWER(t0.\"user_name\") LIKE $2 ESCAPE '\\' OR t0.\"email\" = $3)) OR ((t0.\"name\" = $4))"
        );
        assert_eq!(args[0], Value::Bool(true));
        assert_eq!(args[1], Value::Text("%ad%".into()));
        assert_eq!(
            q.order_sql(),
            "t0.\"sys_created_on\" DESC, t0.\"sys_id\" ASC"
        );
    }

    #[test]
    fn longer_operators_win_and_in_lists_split() {
        let q = EncodedQuery::parse(
            users(),
            "sys_mod_count<=3^user_nameNOT INa,b^emailISEMPTY",
            100,
        )
        .unwrap();
        let mut args = Vec::new();
        let sql = q.where_sql(Backend::Postgres, 1, &mut args);
        assert!(sql.contains("t0.\"sys_mod_count\" <= $1"), "{sql}");
        assert!(sql.contains("NOT IN ($2, $3)"), "{sql}");
        assert!(
            sql.contains("(t0.\"email\" IS NULL OR t0.\"email\" = '')"),
            "{sql}"
        );
        assert_eq!(args[0], Value::Int(3));
    }

    #[test]
    fn unknown_fields_and_operators_are_refused_by_name() {
        let err = EncodedQuery::parse(users(), "nosuch=1", 100).unwrap_err();
        assert!(err.message.contains("nosuch"), "{}", err.message);
        let err = EncodedQuery::parse(users(), "user_name~x", 100).unwrap_err();
        assert!(err.message.contains("operator"), "{}", err.message);
        assert!(
            EncodedQuery::parse(users(), "user_password=x", 100).is_err(),
            "passwords are not queryable"
        );
    }

    fn table_named(name: &str) -> &'static Table {
        table(name).unwrap()
    }

    #[test]
    fn dot_walked_fields_join_once_per_path_and_qualify_every_column() {
        let mut q = EncodedQuery::parse(
            table_named("incident"),
            "assigned_to.email=a@b.c^assigned_to.nameSTARTSWITHR^active=true^ORDERBYassigned_to.name",
            100,
        )
        .unwrap();
        q.select("assigned_to.user_name", "sysparm_fields").unwrap();
        let mut args = Vec::new();
        let sql = q.where_sql(Backend::Sqlite, 1, &mut args);
        assert!(sql.contains("j1.\"email\" = $1"), "{sql}");
        assert!(sql.contains("LOWER(j1.\"name\") LIKE $2"), "{sql}");
        assert!(
            !sql.contains("__text_"),
            "a walked condition is not narrowed: {sql}"
        );
        assert!(sql.contains("t0.\"active\" = $3"), "{sql}");
        assert_eq!(
            q.from_sql(),
            "task t0 LEFT JOIN sys_user j1 ON j1.sys_id = t0.\"assigned_to\""
        );
        assert_eq!(
            q.selected_sql(),
            ", j1.\"user_name\" AS \"assigned_to.user_name\""
        );
        assert_eq!(q.order_sql(), "j1.\"name\" ASC, t0.\"sys_id\" ASC");
        let walked: Vec<(&str, &str)> = q.joined_tables().map(|(p, t)| (p, t.name)).collect();
        assert_eq!(walked, [("assigned_to", "sys_user")]);
    }

    #[test]
    fn a_plain_text_search_beside_a_join_keeps_its_index_unambiguously() {
        let q = EncodedQuery::parse(
            table_named("incident"),
            "short_descriptionLIKEdisk^assigned_to.name=x",
            100,
        )
        .unwrap();
        let mut args = Vec::new();
        let sql = q.where_sql(Backend::Sqlite, 1, &mut args);
        assert!(
            sql.contains("t0.sys_id IN (SELECT sys_id FROM task WHERE sys_id IN (SELECT sys_id FROM task__text_key"),
            "{sql}"
        );
        let q =
            EncodedQuery::parse(table_named("incident"), "short_descriptionLIKEdisk", 100).unwrap();
        let sql = q.where_sql(Backend::Sqlite, 1, &mut Vec::new());
        assert!(
            sql.starts_with("((sys_id IN (SELECT sys_id FROM task__text_key")
                && !sql.contains("FROM task WHERE"),
            "without a join the candidates are read as before: {sql}"
        );
    }

    #[test]
    fn walks_are_refused_through_non_references_secrets_and_past_the_bound() {
        let t = table_named("incident");
        let err = EncodedQuery::parse(t, "short_description.name=x", 100).unwrap_err();
        assert!(err.message.contains("not a reference"), "{}", err.message);
        let err = EncodedQuery::parse(t, "assigned_to.user_password=x", 100).unwrap_err();
        assert!(err.message.contains("user_password"), "{}", err.message);
        let err = EncodedQuery::parse(t, "assigned_to.nosuch=x", 100).unwrap_err();
        assert!(err.message.contains("nosuch"), "{}", err.message);
        let deep = "a.b.c.d.e=x";
        let err = EncodedQuery::parse(t, deep, 100).unwrap_err();
        assert!(err.message.contains("more than 3"), "{}", err.message);
        let err = EncodedQuery::parse(users(), "active=maybe", 100).unwrap_err();
        assert!(err.message.contains("maybe"), "{}", err.message);
        assert!(EncodedQuery::parse(users(), "active=TRUE^locked_outIN1,False", 100).is_ok());
    }

    #[test]
    fn pairs_take_display_values_and_choice_labels() {
        let mut q = EncodedQuery::new(table_named("incident"));
        q.require_pair("assigned_to", "Rita Release").unwrap();
        q.require_pair("state", "closed complete").unwrap();
        q.require_pair("active", "True").unwrap();
        let mut args = Vec::new();
        let sql = q.where_sql(Backend::Postgres, 1, &mut args);
        assert!(sql.contains("j1.\"name\" = $1"), "{sql}");
        assert!(sql.contains("t0.\"state\" = $2"), "{sql}");
        assert_eq!(args[1], Value::Text("closed".into()));
        assert_eq!(args[2], Value::Bool(true));
        let err = EncodedQuery::new(users())
            .require_pair("user_nam", "admin")
            .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("user_nam"));
    }

    /// Fuzzing (bounded: a fixed number of generated queries per run): any
    /// text parses or is refused without panicking, and a parsed query's
    /// SQL numbers exactly as many placeholders as it binds values.
    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        const TOKENS: &[&str] = &[
            "assigned_to",
            ".",
            "short_description",
            "user_name",
            "email",
            "active",
            "sys_mod_count",
            "sys_created_on",
            "=",
            "!=",
            "<",
            "<=",
            ">",
            ">=",
            "LIKE",
            "NOT LIKE",
            "STARTSWITH",
            "ENDSWITH",
            "IN",
            "NOT IN",
            "ISEMPTY",
            "ISNOTEMPTY",
            "BETWEEN",
            "@",
            "^",
            "^OR",
            "^NQ",
            "^EQ",
            "ORDERBY",
            "ORDERBYDESC",
            ",",
            "a",
            "1",
            "true",
            "%",
            "_",
            "\\",
            "'",
            "\"",
            " ",
            "é",
            "$1",
        ];

        fn query_text() -> impl Strategy<Value = String> {
            prop_oneof![
                proptest::collection::vec(proptest::sample::select(TOKENS), 0..60)
                    .prop_map(|t| t.concat()),
                ".{0,200}",
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

            #[test]
            fn any_query_parses_or_is_refused_and_binds_what_it_numbers(text in query_text()) {
                for t in [users(), table("incident").unwrap()] {
                    if let Ok(q) = EncodedQuery::parse(t, &text, 500) {
                        prop_assert!(q.joined_tables().count() <= MAX_JOINS);
                        for backend in [Backend::Postgres, Backend::Sqlite] {
                            let mut args = Vec::new();
                            let sql = q.where_sql(backend, 1, &mut args);
                            for n in 1..=args.len() {
                                prop_assert!(sql.contains(&format!("${n}")), "{sql}");
                            }
                            prop_assert!(!sql.contains(&format!("${}", args.len() + 1)), "{sql}");
                        }
                        let _ = q.order_sql();
                    }
                }
            }
        }
    }
}
