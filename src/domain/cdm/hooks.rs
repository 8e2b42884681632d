//! The CDM tables' hooks on the shared writes: an application created
//! through the Table API is born with its tree.

use crate::error::Result;
use crate::registry::hooks::{BoxFuture, TableHooks};
use crate::storage::{Row, Tx};

pub fn hooks() -> Vec<(&'static str, &'static dyn TableHooks)> {
    vec![("sn_cdm_application", &Applications)]
}

struct Applications;

impl TableHooks for Applications {
    /// An application is born with its tree (root and system folders).
    fn after_insert<'a>(
        &'a self,
        tx: &'a mut Tx,
        row: &'a Row,
        actor: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            super::applications::build_tree(
                tx,
                &row.string("sys_id"),
                &row.string("name"),
                None,
                actor,
            )
            .await
        })
    }
}
