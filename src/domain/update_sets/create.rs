//! Creating an update set in an application scope (the CI/CD create call).

use crate::domain::records::insert_values;
use crate::error::{Error, ErrorKind, Result};
use crate::registry;
use crate::storage::{Db, Value};

pub struct NewUpdateSet<'a> {
    pub name: &'a str,
    pub description: Option<&'a str>,
    /// The application by scope name (`sn_test`) ...
    pub scope: Option<&'a str>,
    /// ... or by sys_id.
    pub scope_sys_id: Option<&'a str>,
}

/// Creates the update set in progress; returns its sys_id.
pub async fn create(db: &Db, new: &NewUpdateSet<'_>, actor: &str) -> Result<String> {
    let name = new.name.trim();
    if name.is_empty() {
        return Err(Error::missing("update_set_name"));
    }
    let scope = match (
        new.scope.filter(|s| !s.is_empty()),
        new.scope_sys_id.filter(|s| !s.is_empty()),
    ) {
        (_, Some(id)) => db
            .fetch_optional(
                "SELECT sys_id, scope FROM sys_scope WHERE sys_id = $1",
                &[Value::from(id)],
            )
            .await?
            .ok_or_else(|| {
                Error::invalid(
                    "sys_id",
                    format!("no application (sys_scope) has sys_id {id:?}"),
                )
            })?,
        (Some(scope), None) => db
            .fetch_optional(
                "SELECT sys_id, scope FROM sys_scope WHERE scope = $1",
                &[Value::from(scope)],
            )
            .await?
            .ok_or_else(|| {
                Error::invalid(
                    "scope",
                    format!("no application (sys_scope) has scope {scope:?}"),
                )
            })?,
        (None, None) => {
            return Err(Error::new(
                ErrorKind::Missing,
                "scope or sys_id is required: the application to create the update set in",
            )
            .with_field("scope"))
        }
    };
    let mut tx = db.begin().await?;
    // The name is checked free in the scope, then taken: one create at a
    // time per scope.
    tx.lock("sys_scope", &scope.string("sys_id")).await?;
    let taken = tx
        .fetch_optional(
            "SELECT sys_id FROM sys_update_set WHERE application = $1 AND name = $2 AND state = 'in progress'",
            &[Value::from(scope.string("sys_id")), Value::from(name)],
        )
        .await?;
    if taken.is_some() {
        return Err(Error::new(
            ErrorKind::NotUnique,
            format!(
                "update_set_name: an update set named {name:?} is already in progress in {}",
                scope.string("scope")
            ),
        )
        .with_field("update_set_name"));
    }
    let id = insert_values(
        &mut tx,
        registry::table("sys_update_set").expect("registered"),
        None,
        vec![
            ("name", Value::from(name)),
            ("description", Value::from(new.description)),
            ("state", Value::from("in progress")),
            ("application", Value::from(scope.string("sys_id"))),
        ],
        actor,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}
