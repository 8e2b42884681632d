//! The ServiceNow encoded query (`sysparm_query`), parsed against a table's
//! registered columns and turned into SQL that both databases accept.
//!
//! `a=1^ORb=2^c=3` means `(a=1 OR b=2) AND c=3`; `^NQ` starts a new query
//! OR-ed with the ones before; `ORDERBY`/`ORDERBYDESC` terms sort.

use crate::error::{Error, Result};
use crate::registry::{quote, Column, SqlKind, Table};
use crate::storage::dialect::{text_candidates, Narrowing, TextKey, TextSearch};
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

#[derive(Clone, Debug)]
pub struct Condition {
    pub column: &'static Column,
    pub op: Operator,
    pub value: String,
}

#[derive(Clone, Debug, Default)]
pub struct EncodedQuery {
    /// OR of groups (`^NQ`); each group an AND of OR-lists (`^OR`).
    pub groups: Vec<Vec<Vec<Condition>>>,
    pub order: Vec<(&'static Column, bool)>,
    /// The table the rows are stored in (a hierarchy's root), for the
    /// conditions a text index narrows.
    pub storage: &'static str,
}

impl EncodedQuery {
    /// Parses `text`; more than `max_terms` conditions, list items and
    /// orderings (the `max_query_terms` setting) are refused, so a query's
    /// SQL stays within what both databases accept.
    pub fn parse(table: &'static Table, text: &str, max_terms: usize) -> Result<EncodedQuery> {
        let terms = text.matches('^').count() + text.matches(',').count() + 1;
        if terms > max_terms {
            return Err(Error::invalid(
                "sysparm_query",
                format!(
                    "has about {terms} conditions and list items; at most {max_terms} are accepted"
                ),
            ));
        }
        let mut query = EncodedQuery {
            storage: table.storage(),
            ..EncodedQuery::default()
        };
        for group_text in text.split("^NQ") {
            let mut group: Vec<Vec<Condition>> = Vec::new();
            for raw in group_text.split('^') {
                let term = raw.trim();
                if term.is_empty() || term == "EQ" {
                    continue;
                }
                if let Some(field) = term.strip_prefix("ORDERBYDESC") {
                    query.order.push((column(table, field)?, true));
                    continue;
                }
                if let Some(field) = term.strip_prefix("ORDERBY") {
                    query.order.push((column(table, field)?, false));
                    continue;
                }
                if let Some(rest) = term.strip_prefix("OR") {
                    if let Some(last) = group.last_mut() {
                        if let Ok(cond) = condition(table, rest) {
                            last.push(cond);
                            continue;
                        }
                    }
                }
                group.push(vec![condition(table, term)?]);
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
        let condition = Condition {
            column,
            op: Operator::Eq,
            value: value.to_owned(),
        };
        if self.groups.is_empty() {
            self.groups.push(Vec::new());
        }
        for group in &mut self.groups {
            group.push(vec![condition.clone()]);
        }
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

    /// For a contains / starts with / ends with condition on a text-indexed
    /// column, its answer through the index (see `text_candidates`).
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
        if !c.column.text_indexed || self.storage.is_empty() {
            return None;
        }
        let mut bind = |v: Value| {
            args.push(v);
            let p = format!("${}", *next);
            *next += 1;
            p
        };
        text_candidates(
            backend,
            self.storage,
            TextKey::SysId,
            c.column.name,
            &c.value,
            search,
            &mut bind,
        )
    }

    pub fn order_sql(&self) -> String {
        let mut parts: Vec<String> = self
            .order
            .iter()
            .map(|(c, desc)| format!("{} {}", quote(c.name), if *desc { "DESC" } else { "ASC" }))
            .collect();
        // A stable order for paging: sys_id is time-ordered.
        parts.push("\"sys_id\" ASC".to_owned());
        parts.join(", ")
    }
}

fn column(table: &'static Table, name: &str) -> Result<&'static Column> {
    let name = name.trim();
    table
        .column(name)
        .filter(|c| !c.ty.is_secret())
        .ok_or_else(|| {
            Error::invalid(
                "sysparm_query",
                format!("{name:?} is not a field of table {}", table.name),
            )
        })
}

fn condition(table: &'static Table, term: &str) -> Result<Condition> {
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
        .find(|(i, _, _)| *i > 0 && column(table, &term[..*i]).is_ok())
        .or_else(|| splits.last())
        .copied()
        .ok_or_else(|| {
            Error::invalid("sysparm_query", format!("{term:?} has no known operator"))
        })?;
    let field = &term[..field_len];
    if field.is_empty() {
        return Err(Error::invalid(
            "sysparm_query",
            format!("{term:?} names no field"),
        ));
    }
    Ok(Condition {
        column: column(table, field)?,
        op,
        value: value.to_owned(),
    })
}

fn typed(column: &Column, raw: &str) -> Value {
    match column.ty.sql_kind() {
        SqlKind::Bool => Value::Bool(raw == "true" || raw == "1"),
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
    let col = quote(c.column.name);
    let is_text = c.column.ty.sql_kind() == SqlKind::Text;
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
        Operator::Eq => format!("{col} = {}", param(typed(c.column, &c.value), args)),
        Operator::NotEq => format!(
            "({col} IS NULL OR {col} <> {})",
            param(typed(c.column, &c.value), args)
        ),
        Operator::Lt => format!("{col} < {}", param(typed(c.column, &c.value), args)),
        Operator::Le => format!("{col} <= {}", param(typed(c.column, &c.value), args)),
        Operator::Gt => format!("{col} > {}", param(typed(c.column, &c.value), args)),
        Operator::Ge => format!("{col} >= {}", param(typed(c.column, &c.value), args)),
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
                .map(|v| param(typed(c.column, v.trim()), args))
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
            let low = param(typed(c.column, low), args);
            let high = param(typed(c.column, high), args);
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
            "((\"active\" = $1) AND (LOWER(\"user_name\") LIKE $2 ESCAPE '\\' OR \"email\" = $3)) OR ((\"name\" = $4))"
        );
        assert_eq!(args[0], Value::Bool(true));
        assert_eq!(args[1], Value::Text("%ad%".into()));
        assert_eq!(q.order_sql(), "\"sys_created_on\" DESC, \"sys_id\" ASC");
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
        assert!(sql.contains("\"sys_mod_count\" <= $1"), "{sql}");
        assert!(sql.contains("NOT IN ($2, $3)"), "{sql}");
        assert!(
            sql.contains("(\"email\" IS NULL OR \"email\" = '')"),
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

    /// Fuzzing (bounded: a fixed number of generated queries per run): any
    /// text parses or is refused without panicking, and a parsed query's
    /// SQL numbers exactly as many placeholders as it binds values.
    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        const TOKENS: &[&str] = &[
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
                if let Ok(q) = EncodedQuery::parse(users(), &text, 500) {
                    let mut args = Vec::new();
                    let sql = q.where_sql(Backend::Postgres, 1, &mut args);
                    for n in 1..=args.len() {
                        prop_assert!(sql.contains(&format!("${n}")), "{sql}");
                    }
                    prop_assert!(!sql.contains(&format!("${}", args.len() + 1)), "{sql}");
                    let _ = q.order_sql();
                }
            }
        }
    }
}
