//! Release bundles: the releases they group and, on request, aggregates
//! computed from those releases.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::storage::{Db, Value};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Aggregates {
    /// Release state label -> count, only for states present at least once.
    pub releases: BTreeMap<String, i64>,
    /// Related tasks approved, and not approved.
    pub tasks_approved: i64,
    pub tasks_not_approved: i64,
    /// Policy results recorded, and (product, policy) pairs of each release's
    /// current phase still waiting for a first evaluation.
    pub policies_executed: i64,
    pub policies_pending: i64,
    pub enhancements_open: i64,
    pub enhancements_closed: i64,
}

#[derive(Clone, Debug)]
pub struct Bundle {
    pub sys_id: String,
    pub name: String,
    /// The owner's user name.
    pub owner: String,
    pub releases: Vec<String>,
    pub aggregates: Option<Aggregates>,
}

fn state_label(state: &str) -> &'static str {
    match state {
        "draft" => "Draft",
        "in_progress" => "In Progress",
        "pending" => "Pending",
        "review" => "Review",
        "restarting" => "Restarting",
        "completed" => "Completed",
        "cancelled" => "Cancelled",
        _ => "Unknown",
    }
}

pub fn not_found(id: &str) -> Error {
    Error::not_found("No Record found").with_detail(format!("no release bundle with sys_id {id}"))
}

pub async fn bundle(db: &Db, id: &str, with_aggregates: bool) -> Result<Bundle> {
    if !crate::ids::is_sys_id(id) {
        return Err(not_found(id));
    }
    let arg = [Value::from(id)];
    let head = db
        .fetch_optional(
            "SELECT b.sys_id, b.name, u.user_name FROM sn_dpr_model_release_bundle b \
             LEFT JOIN sys_user u ON u.sys_id = b.owner WHERE b.sys_id = $1",
            &arg,
        )
        .await?
        .ok_or_else(|| not_found(id))?;
    let releases = db
        .fetch_all(
            "SELECT \"release\" FROM sn_dpr_model_release_bundle_member WHERE bundle = $1 ORDER BY sys_id",
            &arg,
        )
        .await?
        .iter()
        .map(|r| r.string("release"))
        .collect();
    let aggregates = if with_aggregates {
        Some(aggregates(db, id).await?)
    } else {
        None
    };
    Ok(Bundle {
        sys_id: head.string("sys_id"),
        name: head.string("name"),
        owner: head.string("user_name"),
        releases,
        aggregates,
    })
}

/// The bundle's releases grouped by state, with the per-release counts the
/// database keeps in step with every write (`tollgate_release_tally`,
/// migration 17): one statement, whatever the number of tasks, enhancements,
/// policies and results.
async fn aggregates(db: &Db, id: &str) -> Result<Aggregates> {
    let arg = [Value::from(id)];
    let mut out = Aggregates::default();
    for row in db
        .fetch_all(
            "SELECT r.state, COUNT(*) AS n, \
                 CAST(COALESCE(SUM(t.tasks_approved), 0) AS BIGINT) AS tasks_approved, \
                 CAST(COALESCE(SUM(t.tasks_not_approved), 0) AS BIGINT) AS tasks_not_approved, \
                 CAST(COALESCE(SUM(t.enhancements_open), 0) AS BIGINT) AS enhancements_open, \
                 CAST(COALESCE(SUM(t.enhancements_closed), 0) AS BIGINT) AS enhancements_closed, \
                 CAST(COALESCE(SUM(t.policies_executed), 0) AS BIGINT) AS policies_executed, \
                 CAST(COALESCE(SUM(t.policies_pending), 0) AS BIGINT) AS policies_pending \
             FROM sn_dpr_model_release_bundle_member m \
             JOIN sn_dpr_model_release r ON r.sys_id = m.\"release\" \
             LEFT JOIN tollgate_release_tally t ON t.\"release\" = m.\"release\" \
             WHERE m.bundle = $1 GROUP BY r.state",
            &arg,
        )
        .await?
    {
        let count = |column: &str| row.int(column).unwrap_or(0);
        *out.releases
            .entry(state_label(&row.string("state")).to_owned())
            .or_default() += count("n");
        out.tasks_approved += count("tasks_approved");
        out.tasks_not_approved += count("tasks_not_approved");
        out.enhancements_open += count("enhancements_open");
        out.enhancements_closed += count("enhancements_closed");
        out.policies_executed += count("policies_executed");
        out.policies_pending += count("policies_pending");
    }
    Ok(out)
}
