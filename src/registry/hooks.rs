//! Per-table hooks: what a family adds to the writes every table shares
//! ([`crate::domain::records`]). The generic code validates types, choices,
//! references and read-only fields, and writes the row; a table's family
//! declares its own rules (a policy must compile, an application is born
//! with its tree, ...) as a [`TableHooks`] beside its domain code, and lists
//! it in its `hooks()` function, collected in [`FAMILIES`]. So records.rs
//! names no table.
//!
//! The trait's methods return boxed futures so a table's hooks can be kept
//! as `&'static dyn TableHooks`; each has a default that does nothing.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;

use super::{Column, Table};
use crate::error::Result;
use crate::storage::{Row, Tx, Value};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The values of a write, after the generic checks.
pub type Values = Vec<(&'static Column, Value)>;

/// A table's own rules around the shared writes. `check`, `check_in_tx`,
/// `before_update` and the `after_*` methods run for writes through the
/// record API (the Table API, and [`crate::domain::records::validate_payload`]
/// for the checks); [`TableHooks::watch`] runs for every write of the table,
/// including a family's own commands and cascaded deletes.
pub trait TableHooks: Sync {
    /// Checks the values of an insert or update before the write's records
    /// are read (rules that need only the values: a URL's form, a policy
    /// that must compile). Errors name the field.
    fn check<'a>(&'a self, _values: &'a Values) -> BoxFuture<'a, Result<()>> {
        done()
    }

    /// Checks the values inside the write's transaction, after the
    /// references were found to exist (rules that read other records).
    fn check_in_tx<'a>(
        &'a self,
        _tx: &'a mut Tx,
        _values: &'a Values,
    ) -> BoxFuture<'a, Result<()>> {
        done()
    }

    /// Before an update is written: `current` is the record as it is; the
    /// hook may act on the change or adjust the values written.
    fn before_update<'a>(
        &'a self,
        _tx: &'a mut Tx,
        _current: &'a Row,
        _values: &'a mut Values,
    ) -> BoxFuture<'a, Result<()>> {
        done()
    }

    /// After an insert, in its transaction: `row` as stored.
    fn after_insert<'a>(
        &'a self,
        _tx: &'a mut Tx,
        _row: &'a Row,
        _actor: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        done()
    }

    /// After an update, in its transaction: `row` as stored now.
    fn after_update<'a>(&'a self, _tx: &'a mut Tx, _row: &'a Row) -> BoxFuture<'a, Result<()>> {
        done()
    }

    /// After a delete, in its transaction: `before` is the deleted record.
    fn after_delete<'a>(&'a self, _tx: &'a mut Tx, _before: &'a Row) -> BoxFuture<'a, Result<()>> {
        done()
    }

    /// Before any write of a row of `table` by `actor`: a watcher that is
    /// shown the row before and after the write, or none (then the writer
    /// need not read the row around the write).
    fn watch<'a>(
        &'a self,
        _tx: &'a mut Tx,
        _table: &'a Table,
        _actor: &'a str,
    ) -> BoxFuture<'a, Result<Option<Box<dyn RowWatch>>>> {
        Box::pin(std::future::ready(Ok(None)))
    }
}

/// Sees the writes of rows (see [`TableHooks::watch`]).
pub trait RowWatch: Send + Sync {
    fn written<'a>(&'a self, tx: &'a mut Tx, write: RowWrite<'a>) -> BoxFuture<'a, Result<()>>;
}

/// One row written: `before` is none for an insert, `after` none for a
/// delete.
pub struct RowWrite<'a> {
    pub table: &'a Table,
    pub sys_id: &'a str,
    pub before: Option<&'a Row>,
    pub after: Option<&'a Row>,
    pub actor: &'a str,
}

/// A hook's "nothing to do".
pub fn done<'a>() -> BoxFuture<'a, Result<()>> {
    Box::pin(std::future::ready(Ok(())))
}

/// One family's hooks: (table name, hooks) pairs.
pub type FamilyHooks = fn() -> Vec<(&'static str, &'static dyn TableHooks)>;

/// Every family that hooks tables. A family adds its `hooks()` here.
const FAMILIES: &[FamilyHooks] = &[
    crate::identity::hooks::hooks,
    crate::domain::dpr::hooks::hooks,
    crate::domain::cdm::hooks::hooks,
    crate::domain::update_sets::hooks::hooks,
];

fn by_table() -> &'static HashMap<&'static str, Vec<&'static dyn TableHooks>> {
    static BY_TABLE: OnceLock<HashMap<&'static str, Vec<&'static dyn TableHooks>>> =
        OnceLock::new();
    BY_TABLE.get_or_init(|| {
        let mut map: HashMap<&'static str, Vec<&'static dyn TableHooks>> = HashMap::new();
        for family in FAMILIES {
            for (table, hooks) in family() {
                map.entry(table).or_default().push(hooks);
            }
        }
        map
    })
}

/// The hooks of a table, in the order of [`FAMILIES`] (none for most).
pub fn hooks(table: &Table) -> &'static [&'static dyn TableHooks] {
    by_table().get(table.name).map(Vec::as_slice).unwrap_or(&[])
}

/// The watchers of a write of `table` by `actor` (see [`TableHooks::watch`]).
pub async fn watchers(tx: &mut Tx, table: &Table, actor: &str) -> Result<Vec<Box<dyn RowWatch>>> {
    let mut out = Vec::new();
    for hook in hooks(table) {
        if let Some(watch) = hook.watch(tx, table, actor).await? {
            out.push(watch);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hooked_table_is_registered() {
        for family in FAMILIES {
            for (name, _) in family() {
                assert!(super::super::table(name).is_some(), "{name}");
            }
        }
    }

    #[test]
    fn configuration_tables_are_watched_and_data_tables_are_not() {
        let policy = super::super::table("sn_pace_policy").unwrap();
        assert!(policy.configuration);
        // The policy compile check and capture.
        assert_eq!(hooks(policy).len(), 2);
        let release = super::super::table("sn_dpr_model_release").unwrap();
        assert!(!release.configuration);
        assert!(hooks(release).is_empty());
    }
}
