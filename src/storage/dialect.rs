//! The few places where SQLite and PostgreSQL need different SQL text.

use super::Backend;

/// The row-locking suffix for a "claim the next free row" sub-select:
/// PostgreSQL skips rows another replica holds; SQLite has one writer at a
/// time, so the write transaction alone makes the claim exclusive.
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

pub fn skip_locked(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    }
}
