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
    use super::{placeholder_count, SearchRead, Window};

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
    fn a_page_walks_the_key_for_a_common_term_and_gathers_a_rare_ones_matches() {
        let first = Window {
            limit: 11,
            offset: 0,
        };
        // 1 % of a million rows: the walk tests about 1,100 rows.
        assert_eq!(
            SearchRead::choose(10_000, 1_000_000, first),
            SearchRead::WalkTheKey
        );
        // 0.01 %: the walk would test 110,000 rows to find 11 of 100 matches.
        assert_eq!(
            SearchRead::choose(100, 1_000_000, first),
            SearchRead::GatherTheMatches
        );
        // Deeper pages walk further before they are full.
        let deep = Window {
            limit: 11,
            offset: 5_000,
        };
        assert_eq!(
            SearchRead::choose(10_000, 1_000_000, deep),
            SearchRead::GatherTheMatches
        );
        assert_eq!(
            SearchRead::choose(0, 1_000_000, first),
            SearchRead::PastTheEnd
        );
        assert_eq!(
            SearchRead::choose(
                5_000,
                1_000_000,
                Window {
                    limit: 11,
                    offset: 5_000
                }
            ),
            SearchRead::PastTheEnd
        );
        // Statistics not gathered yet (no size): the matches are the table.
        assert_eq!(SearchRead::choose(3, 0, first), SearchRead::WalkTheKey);
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
/// contains `needle`, without reading the rows. SQLite: the index holds one
/// entry per row with a non-empty value and its phrase match is the whole
/// test. PostgreSQL: a needle of four to six ASCII letters is a word piece
/// whose rows are counted beside them (migration 25,
/// `{table}__pieces_{column}` plus the deltas not folded in yet); the trigram
/// index is lossy, so any other needle is counted from the rows (`None`), as
/// is a needle shorter than a trigram on SQLite.
pub fn text_count(
    backend: Backend,
    table: &str,
    column: &str,
    needle: &str,
    bind: &mut dyn FnMut(super::Value) -> String,
) -> Option<String> {
    if backend == Backend::Postgres {
        let piece = super::word_pieces::counted_piece(needle)?;
        let counts = format!("{table}__pieces_{column}");
        let p = bind(super::Value::Text(piece));
        return Some(format!(
            "SELECT CAST(COALESCE((SELECT n FROM {counts} WHERE piece = {p}), 0) \
             + COALESCE((SELECT SUM(d) FROM tollgate_piece_deltas \
             WHERE counts = '{counts}' AND piece = {p}), 0) AS BIGINT) AS n"
        ));
    }
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

/// A test that one row has `needle` in its `column`, for a few rows found
/// otherwise: on SQLite through the index, which seeks the entry of the row
/// whose index key is `key` (an SQL expression); on PostgreSQL by reading the
/// value ([`text_scan`]). `None` where [`text_count`] is `None`.
pub fn text_contains_key(
    backend: Backend,
    table: &str,
    column: &str,
    needle: &str,
    key: &str,
    bind: &mut dyn FnMut(super::Value) -> String,
) -> Option<String> {
    if backend == Backend::Postgres {
        super::word_pieces::counted_piece(needle)?;
        return Some(text_scan(column, needle, bind));
    }
    let matching = phrase_match(backend, table, column, needle, bind)?;
    Some(format!("EXISTS (SELECT 1 {matching} AND rowid = {key})"))
}

/// PostgreSQL: `column` contains `needle`, ignoring case, tested on the value
/// and in a form no trigram index serves, so a statement with it walks the
/// index of its `ORDER BY` (the planner takes one row in three to match,
/// as for any test of a function's result).
pub fn text_scan(
    column: &str,
    needle: &str,
    bind: &mut dyn FnMut(super::Value) -> String,
) -> String {
    let p = bind(super::Value::Text(needle.to_lowercase()));
    format!("strpos(LOWER({column}), {p}) > 0")
}

/// ` INDEXED BY {index}` on SQLite, whose planner would otherwise prefer a
/// text index's candidates; nothing on PostgreSQL, whose planner weighs a
/// partial index by its own statistics.
pub fn indexed_by(backend: Backend, index: &str) -> String {
    match backend {
        Backend::Sqlite => format!(" INDEXED BY {index}"),
        Backend::Postgres => String::new(),
    }
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
    (backend == Backend::Postgres).then(|| page_of_matches(page, true))
}

/// The rows of `page`, from the keys of all its matches gathered first
/// (`MATERIALIZED`: the planner may not turn it into a walk of the key's
/// index), with their number in [`TOTAL_COLUMN`] when `with_total`.
fn page_of_matches(page: &SearchPage, with_total: bool) -> String {
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
    let total = if with_total {
        format!(", (SELECT COUNT(*) FROM m) AS {TOTAL_COLUMN}")
    } else {
        String::new()
    };
    format!(
        "WITH m AS MATERIALIZED (SELECT {alias}.{key} AS k FROM {table} {alias} WHERE {condition}) \
         SELECT {select}{total} FROM {table} {alias} \
         WHERE {alias}.{key} IN (SELECT k FROM m ORDER BY k {direction} {window}) \
         ORDER BY {alias}.{key} {direction}"
    )
}

/// How much cheaper one row of a walk down the key's index is than one
/// match gathered through the trigram index. Measured on the search
/// benchmark's million releases (PostgreSQL 15): a walk tests a row in about
/// 0.65 µs (the heap read in order, a short value lower-cased); gathering
/// costs about 10 µs a match, most of it intersecting the needle's trigram
/// posting lists, which for common syllables are long and hold many rows
/// that do not match.
const WALK_ADVANTAGE: i128 = 16;

/// PostgreSQL: how to read the page of a text search whose `total` of
/// matches is known (from [`text_count`]) in a table of `table_rows` rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchRead {
    /// The page starts past the last match: nothing to read.
    PastTheEnd,
    /// Walk the key's index testing each row ([`text_scan`]) until the page
    /// is full: about `(offset + limit) × table_rows / total` rows for
    /// matches spread through the table. A common term walks a few rows.
    WalkTheKey,
    /// Gather every match through the trigram index (its `LIKE`):
    /// `total` rows. A rare term reads its few matches.
    GatherTheMatches,
}

impl SearchRead {
    /// The way that visits fewer rows.
    pub fn choose(total: i64, table_rows: i64, window: Window) -> SearchRead {
        if total <= window.offset {
            return SearchRead::PastTheEnd;
        }
        let read = i128::from(window.offset) + i128::from(window.limit);
        let table_rows = i128::from(table_rows.max(total));
        let total = i128::from(total);
        if total * total * WALK_ADVANTAGE >= read * table_rows {
            SearchRead::WalkTheKey
        } else {
            SearchRead::GatherTheMatches
        }
    }

    /// The statement reading `page` this way, for rows whose `column`
    /// contains `needle` and that meet `page.condition` besides (an SQL
    /// condition on `page.alias`). `None` for [`SearchRead::PastTheEnd`].
    pub fn statement(
        self,
        page: &SearchPage,
        column: &str,
        needle: &str,
        bind: &mut dyn FnMut(super::Value) -> String,
    ) -> Option<String> {
        let column = format!("{}.{column}", page.alias);
        match self {
            SearchRead::PastTheEnd => None,
            SearchRead::WalkTheKey => {
                let test = text_scan(&column, needle, bind);
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
                    "SELECT {select} FROM {table} {alias} WHERE {test} AND {condition} \
                     ORDER BY {alias}.{key} {direction} {window}"
                ))
            }
            SearchRead::GatherTheMatches => {
                let pattern = bind(super::Value::Text(format!("%{}%", needle.to_lowercase())));
                let condition = format!(
                    "LOWER({column}) LIKE {pattern} ESCAPE '\\' AND {}",
                    page.condition
                );
                Some(page_of_matches(
                    &SearchPage {
                        condition: &condition,
                        ..*page
                    },
                    false,
                ))
            }
        }
    }
}

/// The total a [`page_with_total`] page carries, taken out of its rows
/// (`None` for an empty page, which carries none: the caller counts).
pub fn take_total(rows: &mut [super::Row]) -> Option<i64> {
    take_int_column(rows, TOTAL_COLUMN)
}

/// The column a page adds to every row to carry an epoch read in the same
/// statement (the v3 list's reference data epoch), so checking a cache by
/// it costs no statement of its own.
pub const EPOCH_COLUMN: &str = "tollgate__epoch";

/// The epoch a page read with [`EPOCH_COLUMN`] carries, taken out of its
/// rows (`None` for an empty page).
pub fn take_epoch(rows: &mut [super::Row]) -> Option<i64> {
    take_int_column(rows, EPOCH_COLUMN)
}

/// The value of `column`, which every row of a page repeats, taken out of
/// the rows.
fn take_int_column(rows: &mut [super::Row], column: &str) -> Option<i64> {
    let mut value = None;
    for row in rows.iter_mut() {
        if let Some(i) = row.columns.iter().position(|(n, _)| n == column) {
            let (_, v) = row.columns.remove(i);
            value = value.or(match v {
                super::Value::Int(n) => Some(n),
                _ => None,
            });
        }
    }
    value
}
