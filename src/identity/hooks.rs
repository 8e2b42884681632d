//! The identity tables' hooks on the shared writes: a change to users or
//! roles moves the identity epoch (every replica drops its credential
//! cache), and a user whose sessions must end (or who is deleted) loses
//! their credentials in the same transaction.

use crate::error::Result;
use crate::registry::hooks::{done, BoxFuture, TableHooks, Values};
use crate::registry::Table;
use crate::storage::{Row, Tx, Value};

use super::users::{bump_identity_epoch, ends_sessions, forget_credentials, revoke_tokens};

/// Tables whose changes alter who may do what.
const IDENTITY_TABLES: &[&str] = &["sys_user", "sys_user_role", "sys_user_has_role"];

/// Whether writing `table` changes who may do what (then every replica's
/// credential cache is dropped).
pub fn touches_identity(table: &Table) -> bool {
    IDENTITY_TABLES.contains(&table.name)
}

/// Whether inserting into `table` changes who may do what. A new user does
/// not: it holds no role yet (grants are rows of their own) and no one has
/// its credential cached (the cache keeps successful logins by user name,
/// and names are unique). So creating users, which provisioning scripts do
/// in bulk, costs no replica its cached credentials (each would be checked
/// with Argon2 again).
pub fn insert_touches_identity(table: &Table) -> bool {
    touches_identity(table) && table.name != "sys_user"
}

pub fn hooks() -> Vec<(&'static str, &'static dyn TableHooks)> {
    vec![
        ("sys_user", &Users),
        ("sys_user_role", &IdentityEpoch),
        ("sys_user_has_role", &IdentityEpoch),
    ]
}

/// Roles and grants: every write moves the identity epoch.
struct IdentityEpoch;

impl TableHooks for IdentityEpoch {
    fn after_insert<'a>(
        &'a self,
        tx: &'a mut Tx,
        _: &'a Row,
        _: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(bump_identity_epoch(tx))
    }
    fn after_update<'a>(&'a self, tx: &'a mut Tx, _: &'a Row) -> BoxFuture<'a, Result<()>> {
        Box::pin(bump_identity_epoch(tx))
    }
    fn after_delete<'a>(&'a self, tx: &'a mut Tx, _: &'a Row) -> BoxFuture<'a, Result<()>> {
        Box::pin(bump_identity_epoch(tx))
    }
}

/// Users: as [`IdentityEpoch`], and a new password, a lock or a
/// deactivation ends the user's sessions; a deleted user's credentials go.
struct Users;

impl TableHooks for Users {
    fn before_update<'a>(
        &'a self,
        tx: &'a mut Tx,
        current: &'a Row,
        values: &'a mut Values,
    ) -> BoxFuture<'a, Result<()>> {
        let changed: Vec<(&str, Value)> = values.iter().map(|(c, v)| (c.name, v.clone())).collect();
        if !ends_sessions(&changed) {
            return done();
        }
        Box::pin(async move { revoke_tokens(tx, &current.string("sys_id")).await })
    }
    // A new user changes no one's rights (see `insert_touches_identity`):
    // the identity epoch stays.
    fn after_update<'a>(&'a self, tx: &'a mut Tx, _: &'a Row) -> BoxFuture<'a, Result<()>> {
        Box::pin(bump_identity_epoch(tx))
    }
    fn after_delete<'a>(&'a self, tx: &'a mut Tx, before: &'a Row) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            forget_credentials(tx, &before.string("sys_id")).await?;
            bump_identity_epoch(tx).await
        })
    }
}
