//! The DPR tables' hooks on the shared writes: a policy must compile to be
//! saved, and a Draft release cannot join a bundle.

use crate::error::{Error, Result};
use crate::registry::hooks::{BoxFuture, TableHooks, Values};
use crate::storage::{Tx, Value};

pub fn hooks() -> Vec<(&'static str, &'static dyn TableHooks)> {
    vec![
        ("sn_pace_policy", &Policies),
        ("sn_dpr_model_release_bundle_member", &BundleMembers),
    ]
}

/// The text value written to `column`, if any.
fn text<'a>(values: &'a Values, column: &str) -> Option<&'a str> {
    values.iter().find_map(|(c, v)| match v {
        Value::Text(t) if c.name == column => Some(t.as_str()),
        _ => None,
    })
}

struct Policies;

impl TableHooks for Policies {
    /// A policy that does not compile is refused when it is saved (the
    /// check runs in the policy sandbox, like every evaluation).
    fn check<'a>(&'a self, values: &'a Values) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            if let Some(source) = text(values, "rego") {
                crate::policy::sandbox::global()
                    .check(source)
                    .await
                    .map_err(|message| {
                        Error::invalid("rego", format!("the policy does not compile: {message}"))
                    })?;
            }
            Ok(())
        })
    }
}

struct BundleMembers;

impl TableHooks for BundleMembers {
    /// Draft releases cannot join a bundle.
    fn check_in_tx<'a>(&'a self, tx: &'a mut Tx, values: &'a Values) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            if let Some(release) = text(values, "release") {
                let state = tx
                    .fetch_optional(
                        "SELECT state FROM sn_dpr_model_release WHERE sys_id = $1",
                        &[Value::from(release)],
                    )
                    .await?
                    .map(|r| r.string("state"));
                if state.as_deref() == Some("draft") {
                    return Err(Error::invalid(
                        "release",
                        "a Draft release cannot join a bundle",
                    ));
                }
            }
            Ok(())
        })
    }
}
