//! The update sets' hooks on the shared writes: every write to a
//! configuration table is captured into its writer's current update set
//! ([`super::capture`]), and a remote instance's URL is checked for its form
//! and forgets the password given for the old address when it moves.

use super::capture::{capturing_set, record_write, CurrentSet};
use crate::error::Result;
use crate::registry::hooks::{done, BoxFuture, RowWatch, RowWrite, TableHooks, Values};
use crate::registry::{Table, TABLES};
use crate::storage::{Row, Tx, Value};

pub fn hooks() -> Vec<(&'static str, &'static dyn TableHooks)> {
    let mut hooks: Vec<(&'static str, &'static dyn TableHooks)> =
        vec![("sys_update_set_source", &Sources)];
    hooks.extend(
        TABLES
            .iter()
            .filter(|t| t.configuration)
            .map(|t| (t.name, &Capture as &'static dyn TableHooks)),
    );
    hooks
}

/// Capture, for every configuration table: the writer's current update set
/// watches the write.
struct Capture;

impl TableHooks for Capture {
    fn watch<'a>(
        &'a self,
        tx: &'a mut Tx,
        table: &'a Table,
        actor: &'a str,
    ) -> BoxFuture<'a, Result<Option<Box<dyn RowWatch>>>> {
        Box::pin(async move {
            Ok(capturing_set(tx, table, actor)
                .await?
                .map(|set| Box::new(set) as Box<dyn RowWatch>))
        })
    }
}

impl RowWatch for CurrentSet {
    fn written<'a>(&'a self, tx: &'a mut Tx, w: RowWrite<'a>) -> BoxFuture<'a, Result<()>> {
        Box::pin(record_write(
            tx, self, w.table, w.sys_id, w.before, w.after, w.actor,
        ))
    }
}

/// Remote instances (`sys_update_set_source`).
struct Sources;

impl TableHooks for Sources {
    /// The form of a remote instance URL; whether the server may reach it
    /// is its configuration's say, checked when it is used.
    fn check<'a>(&'a self, values: &'a Values) -> BoxFuture<'a, Result<()>> {
        if let Some((_, Value::Text(url))) = values.iter().find(|(c, _)| c.name == "url") {
            if let Err(e) = super::remote::parse_url(url) {
                return Box::pin(std::future::ready(Err(e)));
            }
        }
        done()
    }

    fn before_update<'a>(
        &'a self,
        _tx: &'a mut Tx,
        current: &'a Row,
        values: &'a mut Values,
    ) -> BoxFuture<'a, Result<()>> {
        forget_password_of_a_moved_url(current, values);
        done()
    }
}

/// A remote instance whose URL changes forgets its stored password (unless
/// the same write gives a new one): the password was given for the old
/// address, and sending it wherever the URL now points would hand it to
/// whoever changed the URL.
fn forget_password_of_a_moved_url(current: &Row, values: &mut Values) {
    let moved = values
        .iter()
        .any(|(c, v)| c.name == "url" && v.to_display_string() != current.string("url"));
    if !moved {
        return;
    }
    let new_password = values.iter().any(|(c, v)| {
        c.name == "password"
            && !v.is_null()
            && v.as_str() != Some(crate::registry::SECRET_MASK)
            && v.as_str() != Some("")
    });
    if !new_password {
        values.retain(|(c, _)| c.name != "password");
        let password =
            crate::registry::table("sys_update_set_source").and_then(|t| t.column("password"));
        if let Some(column) = password {
            values.push((column, Value::Null));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::SECRET_MASK;

    fn write(pairs: &[(&str, Value)]) -> Values {
        let sources = crate::registry::table("sys_update_set_source").unwrap();
        pairs
            .iter()
            .map(|(n, v)| (sources.column(n).unwrap(), v.clone()))
            .collect()
    }

    fn password(values: &Values) -> Option<&Value> {
        values
            .iter()
            .find(|(c, _)| c.name == "password")
            .map(|(_, v)| v)
    }

    #[test]
    fn a_moved_url_forgets_the_password_unless_a_new_one_is_given() {
        let current = Row {
            columns: vec![("url".into(), Value::from("https://a.example.com"))],
        };
        // Moved, the password kept (shown masked): cleared.
        let mut values = write(&[
            ("url", Value::from("https://b.example.com")),
            ("password", Value::from(SECRET_MASK)),
        ]);
        forget_password_of_a_moved_url(&current, &mut values);
        assert_eq!(password(&values), Some(&Value::Null));
        // Moved with a new password: kept.
        let mut values = write(&[
            ("url", Value::from("https://b.example.com")),
            ("password", Value::from("new")),
        ]);
        forget_password_of_a_moved_url(&current, &mut values);
        assert_eq!(password(&values), Some(&Value::from("new")));
        // Not moved: nothing added.
        let mut values = write(&[("url", Value::from("https://a.example.com"))]);
        forget_password_of_a_moved_url(&current, &mut values);
        assert_eq!(password(&values), None);
    }
}
