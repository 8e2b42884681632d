//! The few places where SQLite and PostgreSQL need different SQL text.

use super::Backend;

/// Locks the rows a SELECT reads until the transaction ends (PostgreSQL; a
/// SQLite write transaction holds the whole database already).
pub fn for_update(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    }
}

/// The same for the rows of one table (`alias`) of a join.
pub fn for_update_of(backend: Backend, alias: &str) -> String {
    match backend {
        Backend::Postgres => format!(" FOR UPDATE OF {alias}"),
        Backend::Sqlite => String::new(),
    }
}

/// The row-locking suffix for a "claim the next free row" sub-select:
/// PostgreSQL skips rows another replica holds; SQLite has one writer at a
/// time, so the write transaction alone makes the claim exclusive.
pub fn skip_locked(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    }
}

/// How many arguments a statement takes: its highest `$n` outside quoted
/// literals and identifiers (SQLite counts the same way).
pub fn placeholder_count(sql: &str) -> usize {
    let bytes = sql.as_bytes();
    let mut highest = 0;
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'\'' || b == b'"' => quote = Some(b),
            None if b == b'$' => {
                let digits = bytes[i + 1..]
                    .iter()
                    .take_while(|d| d.is_ascii_digit())
                    .count();
                if digits > 0 {
                    let n = sql[i + 1..i + 1 + digits].parse().unwrap_or(usize::MAX);
                    highest = highest.max(n);
                    i += digits;
                }
            }
            None => {}
        }
        i += 1;
    }
    highest
}

#[cfg(test)]
mod tests {
    use super::{placeholder_count, Window};

    #[test]
    fn only_a_first_page_that_came_back_short_tells_its_total() {
        let first = Window {
            limit: 11,
            offset: 0,
        };
        assert_eq!(first.total_of_short_page(0), Some(0));
        assert_eq!(first.total_of_short_page(10), Some(10));
        // A full page may have more after it; a later page, more before it.
        assert_eq!(first.total_of_short_page(11), None);
        let later = Window {
            limit: 11,
            offset: 20,
        };
        assert_eq!(later.total_of_short_page(3), None);
    }

    #[test]
    fn placeholders_are_counted_outside_literals_by_their_highest_number() {
        assert_eq!(placeholder_count("SELECT 1"), 0);
        assert_eq!(
            placeholder_count("SELECT a FROM t WHERE b = $1 AND c = $1"),
            1
        );
        assert_eq!(placeholder_count("UPDATE t SET a = $2 WHERE id = $10"), 10);
        assert_eq!(
            placeholder_count("SELECT '$3', \"$4\" FROM t WHERE a = $1"),
            1
        );
        assert_eq!(placeholder_count("SELECT 'it''s $5' WHERE a = $2"), 2);
    }
}

/// How the rows of a table with a text index (migration 16) are found from
/// its SQLite FTS5 tables (one per column, `{table}__text_{column}`): by the
/// integer key the FTS rowid repeats, or, for
/// tables keyed by sys_id, through the `{table}__text_key` table that gives
/// each sys_id a stable integer.
#[derive(Clone, Copy, Debug)]
pub enum TextKey {
    SysId,
    Integer(&'static str),
}

/// The fewest characters the trigram index can look up; a shorter needle is
/// answered by scanning.
pub const TRIGRAM: usize = 3;

/// What a text search asks of a column's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextSearch {
    Contains,
    StartsWith,
    EndsWith,
}

/// A condition answered through a text index.
#[derive(Debug)]
pub struct Narrowing {
    pub sql: String,
    /// The condition is the whole test (a contains search, found as one
    /// trigram phrase); otherwise it only narrows the rows and the query's own
    /// `LOWER(column) LIKE` decides (where the text starts or ends).
    pub decides: bool,
}

/// A condition on `table`'s rows for a search of `needle` in `column`
/// through its trigram index, or `None` when the index has nothing to add.
/// On SQLite that is the column's FTS5 table (`{table}__text_{column}`): for
/// a contains search its phrase match is the test itself (case folded over
/// Unicode, as FTS5 folds it); for starts / ends with, the caller's LIKE
/// decides among the candidates. On PostgreSQL the pg_trgm index on
/// `LOWER(column)` serves the caller's LIKE itself, so nothing is added.
/// `bind` takes the match expression and answers its placeholder.
pub fn text_candidates(
    backend: Backend,
    table: &str,
    key: TextKey,
    column: &str,
    needle: &str,
    search: TextSearch,
    bind: &mut dyn FnMut(super::Value) -> String,
) -> Option<Narrowing> {
    let matching = format!(
        "SELECT rowid {}",
        phrase_match(backend, table, column, needle, bind)?
    );
    let sql = match key {
        TextKey::Integer(id) => format!("{id} IN ({matching})"),
        TextKey::SysId => {
            format!("sys_id IN (SELECT sys_id FROM {table}__text_key WHERE n IN ({matching}))")
        }
    };
    Some(Narrowing {
        sql,
        decides: search == TextSearch::Contains,
    })
}

/// `FROM {index} WHERE ... MATCH $n`: the index entries (their rowid is the
/// row's key) of the rows whose column contains `needle` (SQLite, a needle
/// of a trigram or more; `None` otherwise). A needle of four to seven ASCII
/// letters is looked up in the column's word-piece index
/// (`{table}__words_{column}`, see `storage::word_pieces`): one list of
/// rows, where the trigram index (`{table}__text_{column}`), which serves
/// every other needle, matches up the positions of two or more.
fn phrase_match(
    backend: Backend,
    table: &str,
    column: &str,
    needle: &str,
    bind: &mut dyn FnMut(super::Value) -> String,
) -> Option<String> {
    if backend == Backend::Postgres || needle.chars().count() < TRIGRAM {
        return None;
    }
    let (index, query) = match super::word_pieces::prefix_query(needle) {
        Some(query) => (format!("{table}__words_{column}"), query),
        // One FTS5 phrase in the column's own table: inside double quotes
        // every character is literal except the quote itself, which is
        // doubled.
        None => (
            format!("{table}__text_{column}"),
            format!("\"{}\"", needle.replace('"', "\"\"")),
        ),
    };
    let p = bind(super::Value::Text(query));
    Some(format!("FROM {index} WHERE {index} MATCH {p}"))
}

/// A statement answering `n`, the number of rows of `table` whose `column`
/// contains `needle`, from the index alone: the index holds one entry per
/// row with a non-empty value and its phrase match is the whole test, so no
/// row is read. `None` where the index cannot answer alone: on PostgreSQL
/// (the trigram index is lossy; the rows decide) and for a needle shorter
/// than a trigram.
pub fn text_count(
    backend: Backend,
    table: &str,
    column: &str,
    needle: &str,
    bind: &mut dyn FnMut(super::Value) -> String,
) -> Option<String> {
    let matching = phrase_match(backend, table, column, needle, bind)?;
    Some(format!("SELECT COUNT(*) AS n {matching}"))
}

/// The rows whose `column` contains `needle`, read in the index's key order.
pub struct IndexOrder {
    /// A FROM clause (without the keyword): the matches, then the rows as
    /// the alias asked for, joined so the index stays the outer loop (SQLite
    /// does not reorder a CROSS JOIN).
    pub from: String,
    /// The ORDER BY expression the index yields without sorting: a page
    /// reads only the rows up to its end.
    pub order: &'static str,
}

/// [`IndexOrder`] for `table` as `alias`, ascending or descending. `None`
/// where [`text_count`] is `None`.
#[allow(clippy::too_many_arguments)]
pub fn text_rows_in_order(
    backend: Backend,
    table: &str,
    key: TextKey,
    column: &str,
    needle: &str,
    descending: bool,
    alias: &str,
    bind: &mut dyn FnMut(super::Value) -> String,
) -> Option<IndexOrder> {
    let matching = phrase_match(backend, table, column, needle, bind)?;
    let direction = if descending { "DESC" } else { "ASC" };
    let keys = format!("(SELECT rowid AS k {matching} ORDER BY rowid {direction}) f");
    let from = match key {
        TextKey::Integer(id) => {
            format!("{keys} CROSS JOIN {table} {alias} ON {alias}.{id} = f.k")
        }
        TextKey::SysId => format!(
            "{keys} CROSS JOIN {table}__text_key k ON k.n = f.k \
             CROSS JOIN {table} {alias} ON {alias}.sys_id = k.sys_id"
        ),
    };
    Some(IndexOrder {
        from,
        order: if descending { "f.k DESC" } else { "f.k ASC" },
    })
}

/// A test that the row whose index key is `key` (an SQL expression) has
/// `needle` in its `column`: the index seeks that one entry, so this is the
/// cheap test for a few rows found otherwise. `None` where [`text_count`] is
/// `None`.
pub fn text_contains_key(
    backend: Backend,
    table: &str,
    column: &str,
    needle: &str,
    key: &str,
    bind: &mut dyn FnMut(super::Value) -> String,
) -> Option<String> {
    let matching = phrase_match(backend, table, column, needle, bind)?;
    Some(format!("EXISTS (SELECT 1 {matching} AND rowid = {key})"))
}

/// The rows of a page: how many, after how many. Written into the SQL as
/// literals, never bound: SQLite (3.38 and later) shows a bound LIMIT and
/// OFFSET to a virtual table's planner, and a statement whose plan saw a
/// bound value is prepared again every time it is bound, so a page read
/// through a text index paid a fresh parse and plan on every request. Both
/// numbers are integers the caller has checked, so nothing a caller sends
/// reaches the SQL text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub limit: i64,
    pub offset: i64,
}

impl Window {
    /// The total a page tells by itself: read from the first row, a page
    /// that came back with fewer rows than asked holds every match, so
    /// nothing needs counting (a search that matches little, the commonest
    /// such page, would otherwise pay a second read of its matches). `None`
    /// when the matches must be counted.
    pub fn total_of_short_page(&self, rows: usize) -> Option<i64> {
        let rows = i64::try_from(rows).ok()?;
        (self.offset == 0 && rows < self.limit).then_some(rows)
    }
}

impl std::fmt::Display for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LIMIT {} OFFSET {}", self.limit, self.offset)
    }
}

/// The column a [`page_with_total`] statement adds to every row.
pub const TOTAL_COLUMN: &str = "tollgate__total";

/// The parts of a page of a text search read with its total.
pub struct SearchPage<'a> {
    /// The select list, naming the rows as `alias`.
    pub select: &'a str,
    /// The table's storage, read as `alias`.
    pub table: &'a str,
    pub alias: &'a str,
    /// The unique column the page is ordered by (`id`, `sys_id`).
    pub key: &'a str,
    /// The search's condition on `alias`.
    pub condition: &'a str,
    pub descending: bool,
    pub window: Window,
}

/// PostgreSQL: a page of the rows matching a text search, ordered by a
/// unique key, with the number of all matches in [`TOTAL_COLUMN`] of every
/// row: the matches' keys are gathered once (one trigram bitmap scan and one
/// recheck of each candidate), then counted and paged from. Asked as two
/// statements, the count rechecks every candidate and the page either
/// rechecks them again or walks the key's index testing every row until the
/// page is full (the whole table for a term that matches little). `None` on
/// SQLite, whose index answers the count alone ([`text_count`]).
pub fn page_with_total(backend: Backend, page: &SearchPage) -> Option<String> {
    if backend != Backend::Postgres {
        return None;
    }
    let SearchPage {
        select,
        table,
        alias,
        key,
        condition,
        descending,
        window,
    } = page;
    let direction = if *descending { "DESC" } else { "ASC" };
    Some(format!(
        "WITH m AS MATERIALIZED (SELECT {alias}.{key} AS k FROM {table} {alias} WHERE {condition}) \
         SELECT {select}, (SELECT COUNT(*) FROM m) AS {TOTAL_COLUMN} FROM {table} {alias} \
         WHERE {alias}.{key} IN (SELECT k FROM m ORDER BY k {direction} {window}) \
         ORDER BY {alias}.{key} {direction}"
    ))
}

/// The total a [`page_with_total`] page carries, taken out of its rows
/// (`None` for an empty page, which carries none: the caller counts).
pub fn take_total(rows: &mut [super::Row]) -> Option<i64> {
    let mut total = None;
    for row in rows.iter_mut() {
        if let Some(i) = row.columns.iter().position(|(n, _)| n == TOTAL_COLUMN) {
            let (_, v) = row.columns.remove(i);
            total = total.or(match v {
                super::Value::Int(n) => Some(n),
                _ => None,
            });
        }
    }
    total
}
