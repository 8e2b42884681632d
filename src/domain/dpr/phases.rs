//! A release's phases: what a phase is gated on, and completing it.

use std::collections::HashMap;

use chrono::Utc;

use super::super::records::update_values;
use super::releases::state;
use crate::error::{Error, ErrorKind, Result};
use crate::registry::table;
use crate::storage::{Db, Executor, Record, Row, Tx, Value};
use crate::time::format_date_time;

/// A product the release ships, with the version it ships of it.
#[derive(Clone, Debug)]
pub struct ReleaseProduct {
    pub product: String,
    pub product_name: String,
    pub version: Option<String>,
    pub version_name: String,
}

/// A policy mapped to a template phase.
#[derive(Clone, Debug)]
pub struct PhasePolicy {
    pub policy: String,
    pub name: String,
    pub rego: String,
    pub revision: i64,
}

/// The stored result of one (product, policy) evaluation.
#[derive(Clone, Debug)]
pub struct Execution {
    pub status: String,
    pub reason: String,
    pub output: String,
    pub last_run_at: Option<String>,
}

pub fn invalid_release() -> Error {
    Error::new(ErrorKind::Invalid, "Release ID is invalid").with_field("releaseId")
}

crate::record! {
    /// What the phase commands read of a release.
    #[derive(Clone, Debug)]
    pub struct ReleaseHead in "sn_dpr_model_release" {
        pub sys_id: String,
        pub name: String,
        pub state: String,
        pub product: String,
        pub version: Option<String>,
        pub current_phase: Option<String>,
        pub process_type: Option<String>,
    }
}

crate::record! {
    /// What the phase commands read of a release phase.
    #[derive(Clone, Debug)]
    pub struct PhaseHead in "sn_dpr_model_release_phase" {
        pub sys_id: String,
        pub name: String,
        pub state: String,
        pub template_phase: Option<String>,
        pub order: i64,
    }
}

/// The release and its current phase, both of which must be In Progress.
pub async fn release_in_progress(
    mut r: impl Executor,
    release_id: &str,
) -> Result<(ReleaseHead, PhaseHead)> {
    if !crate::ids::is_sys_id(release_id) {
        return Err(invalid_release());
    }
    let release: ReleaseHead = r
        .fetch_record(
            &ReleaseHead::select_where("sys_id = $1"),
            &[Value::from(release_id)],
        )
        .await?
        .ok_or_else(invalid_release)?;
    if release.state != state::IN_PROGRESS {
        return Err(Error::conflict("The release is not In Progress"));
    }
    let phase_id = release
        .current_phase
        .clone()
        .ok_or_else(|| Error::conflict("The release has no current phase"))?;
    let phase: PhaseHead = r
        .fetch_record(
            &PhaseHead::select_where("sys_id = $1"),
            &[Value::from(&phase_id)],
        )
        .await?
        .ok_or_else(|| Error::conflict("The release has no current phase"))?;
    if phase.state != "in_progress" {
        return Err(Error::conflict(
            "The current phase of the release is not In Progress",
        ));
    }
    Ok((release, phase))
}

/// The release's own product and those of its child releases.
pub async fn release_products(
    mut r: impl Executor,
    release_id: &str,
) -> Result<Vec<ReleaseProduct>> {
    let rows = r.fetch_all(
            "SELECT r.product, p.name AS product_name, r.version, v.version AS version_name, v.name AS version_full \
             FROM sn_dpr_model_release r \
             JOIN cmdb_model p ON p.sys_id = r.product \
             LEFT JOIN cmdb_model v ON v.sys_id = r.version \
             WHERE r.sys_id = $1 OR r.primary_release = $1 \
             ORDER BY CASE WHEN r.sys_id = $1 THEN 0 ELSE 1 END, p.name",
            &[Value::from(release_id)],
        )
        .await?;
    let mut seen = std::collections::HashSet::new();
    Ok(rows
        .into_iter()
        .filter(|row| seen.insert(row.string("product")))
        .map(|row| ReleaseProduct {
            product: row.string("product"),
            product_name: row.string("product_name"),
            version: row.text("version"),
            version_name: row
                .text("version_name")
                .unwrap_or_else(|| row.string("version_full")),
        })
        .collect())
}

/// The active policies mapped to a template phase.
pub async fn phase_policies(
    mut r: impl Executor,
    template_phase: Option<&str>,
) -> Result<Vec<PhasePolicy>> {
    let Some(template_phase) = template_phase else {
        return Ok(Vec::new());
    };
    let rows = r.fetch_all(
            "SELECT p.sys_id, p.name, p.rego, p.sys_mod_count FROM sn_dpr_model_template_phase_policy m \
             JOIN sn_pace_policy p ON p.sys_id = m.policy \
             WHERE m.template_phase = $1 AND p.active = $2 ORDER BY p.name, p.sys_id",
            &[Value::from(template_phase), Value::Bool(true)],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| PhasePolicy {
            policy: row.string("sys_id"),
            name: row.string("name"),
            rego: row.string("rego"),
            revision: row.int("sys_mod_count").unwrap_or(0),
        })
        .collect())
}

/// Stored results for a release phase, by (product, policy).
pub async fn executions(
    mut r: impl Executor,
    release_phase: &str,
) -> Result<HashMap<(String, String), Execution>> {
    let rows = r.fetch_all(
            "SELECT product, policy, status, reason, output, last_run_at FROM sn_dpr_model_policy_execution \
             WHERE release_phase = $1",
            &[Value::from(release_phase)],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            (
                (row.string("product"), row.string("policy")),
                Execution {
                    status: row.string("status"),
                    reason: row.string("reason"),
                    output: row.string("output"),
                    last_run_at: row.text("last_run_at"),
                },
            )
        })
        .collect())
}

/// Where a release goes after its last phase, from the
/// `sn_dpr_model.auto_transition_release_to_completed` (default false) and
/// `sn_dpr_model.auto_transition_release_to_review` (default true)
/// properties ([`state_after_last_phase`]).
async fn after_last_phase(tx: &mut Tx) -> Result<&'static str> {
    let flag = |rows: &[Row], name: &str, default: bool| {
        rows.iter()
            .find(|r| r.string("name") == name)
            .map(|r| r.string("value").trim().eq_ignore_ascii_case("true"))
            .unwrap_or(default)
    };
    let rows = tx
        .fetch_all(
            "SELECT name, value FROM sys_properties WHERE name IN ($1, $2)",
            &[
                Value::from("sn_dpr_model.auto_transition_release_to_completed"),
                Value::from("sn_dpr_model.auto_transition_release_to_review"),
            ],
        )
        .await?;
    Ok(state_after_last_phase(
        flag(
            &rows,
            "sn_dpr_model.auto_transition_release_to_completed",
            false,
        ),
        flag(
            &rows,
            "sn_dpr_model.auto_transition_release_to_review",
            true,
        ),
    ))
}

/// The state a release takes after its last phase: Completed when the
/// release auto-completes (which wins), else Review when it auto-reviews,
/// else it stays In Progress.
fn state_after_last_phase(to_completed: bool, to_review: bool) -> &'static str {
    if to_completed {
        state::COMPLETED
    } else if to_review {
        state::REVIEW
    } else {
        state::IN_PROGRESS
    }
}

/// What holds a phase open: each (policy, product) pair whose stored result
/// is not compliant (a pair never evaluated is `not_run`), as
/// `<policy> for <product> (<status>)`. Every policy mapped to the phase
/// must be compliant for every product of the release.
fn blocking_policies(
    products: &[ReleaseProduct],
    policies: &[PhasePolicy],
    results: &HashMap<(String, String), Execution>,
) -> Vec<String> {
    let mut blocking = Vec::new();
    for product in products {
        for policy in policies {
            let status = results
                .get(&(product.product.clone(), policy.policy.clone()))
                .map(|e| e.status.as_str())
                .unwrap_or("not_run");
            if status != "compliant" {
                blocking.push(format!(
                    "{} for {} ({status})",
                    policy.name, product.product_name
                ));
            }
        }
    }
    blocking
}

/// What follows a completed phase.
#[derive(Debug, PartialEq, Eq)]
enum AfterPhase<'a> {
    /// A stage release's next phase waits to be started by hand.
    AwaitStart,
    /// A timeline release's next phase starts at once.
    Begin(&'a str),
    /// That was the last phase ([`state_after_last_phase`]).
    Last,
}

/// The next pending phase (`next`, first by order) decides.
fn after_phase(next: Option<&str>, stage: bool) -> AfterPhase<'_> {
    match next {
        Some(_) if stage => AfterPhase::AwaitStart,
        Some(next) => AfterPhase::Begin(next),
        None => AfterPhase::Last,
    }
}

/// What completing a phase did.
#[derive(Debug)]
pub struct Completed {
    pub phase: String,
    pub next_phase: Option<String>,
    pub release_state: String,
}

/// Completes the current phase when every policy mapped to it is compliant
/// for every product of the release; starts the next phase, or moves the
/// release on after the last one.
pub async fn complete_current_phase(db: &Db, release_id: &str, actor: &str) -> Result<Completed> {
    let mut tx = db.begin().await?;
    let done = complete_phase_in(&mut tx, release_id, actor).await?;
    tx.commit().await?;
    Ok(done)
}

/// Related tasks of the release that are not done yet (a stage-oriented
/// phase completes only when its tasks are done).
async fn open_tasks(tx: &mut Tx, release_id: &str) -> Result<Vec<String>> {
    Ok(tx
        .fetch_all(
            "SELECT t.number FROM sn_dpr_model_release_related_task r JOIN task t ON t.sys_id = r.task \
             WHERE r.\"release\" = $1 AND t.state NOT IN ('closed', 'cancelled') ORDER BY t.number",
            &[Value::from(release_id)],
        )
        .await?
        .iter()
        .map(|r| r.string("number"))
        .collect())
}

/// Completes the current phase inside the caller's transaction. In a
/// timeline release the next phase starts at once; in a stage release it
/// waits to be started by hand.
pub async fn complete_phase_in(tx: &mut Tx, release_id: &str, actor: &str) -> Result<Completed> {
    // The release row guards its phases: two completions take turns, and the
    // second reads the phase the first completed.
    if crate::ids::is_sys_id(release_id) {
        tx.lock("sn_dpr_model_release", release_id).await?;
    }
    let (release, phase) = release_in_progress(&mut *tx, release_id).await?;
    let stage = release.process_type.as_deref() == Some("stage");
    if stage {
        let open = open_tasks(tx, release_id).await?;
        if !open.is_empty() {
            return Err(Error::conflict(format!(
                "The phase {} cannot be completed: related tasks not done: {}",
                phase.name,
                open.join(", ")
            )));
        }
    }
    let phase_id = phase.sys_id.clone();
    let products = release_products(&mut *tx, release_id).await?;
    let policies = phase_policies(&mut *tx, phase.template_phase.as_deref()).await?;
    let results = executions(&mut *tx, &phase_id).await?;
    let blocking = blocking_policies(&products, &policies, &results);
    if !blocking.is_empty() {
        return Err(Error::conflict(format!(
            "The phase {} cannot be completed: policies not compliant: {}",
            phase.name,
            blocking.join("; ")
        )));
    }
    let now = format_date_time(Utc::now());
    let phases =
        table("sn_dpr_model_release_phase").ok_or_else(|| Error::internal("phase table"))?;
    let releases = table("sn_dpr_model_release").ok_or_else(|| Error::internal("release table"))?;
    update_values(
        tx,
        phases,
        &phase_id,
        vec![
            ("state", Value::from("completed")),
            ("actual_end", Value::Text(now.clone())),
        ],
        actor,
    )
    .await?;
    let next = tx
        .fetch_optional(
            "SELECT sys_id FROM sn_dpr_model_release_phase WHERE \"release\" = $1 AND state = 'pending' \
             ORDER BY \"order\", sys_id LIMIT 1",
            &[Value::from(release_id)],
        )
        .await?
        .map(|r| r.string("sys_id"));
    let release_state = match after_phase(next.as_deref(), stage) {
        AfterPhase::AwaitStart => {
            // Stage phases start by hand (`start_phase`).
            update_values(
                tx,
                releases,
                release_id,
                vec![("current_phase", Value::Null)],
                actor,
            )
            .await?;
            release.state
        }
        AfterPhase::Begin(next_id) => {
            super::lifecycle::begin_phase(tx, release_id, next_id, actor).await?;
            release.state
        }
        AfterPhase::Last => {
            let new_state = after_last_phase(tx).await?;
            update_values(
                tx,
                releases,
                release_id,
                vec![
                    ("state", Value::from(new_state)),
                    ("current_phase", Value::Null),
                ],
                actor,
            )
            .await?;
            new_state.to_owned()
        }
    };
    Ok(Completed {
        phase: phase_id,
        next_phase: next,
        release_state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(id: &str) -> ReleaseProduct {
        ReleaseProduct {
            product: id.into(),
            product_name: format!("Product {id}"),
            version: None,
            version_name: String::new(),
        }
    }

    fn policy(id: &str) -> PhasePolicy {
        PhasePolicy {
            policy: id.into(),
            name: format!("Policy {id}"),
            rego: String::new(),
            revision: 0,
        }
    }

    fn result(product: &str, policy: &str, status: &str) -> ((String, String), Execution) {
        (
            (product.into(), policy.into()),
            Execution {
                status: status.into(),
                reason: String::new(),
                output: String::new(),
                last_run_at: None,
            },
        )
    }

    #[test]
    fn a_phase_is_held_by_every_pair_not_compliant() {
        let products = [product("a"), product("b")];
        let policies = [policy("p"), policy("q")];
        let results: HashMap<_, _> = [
            result("a", "p", "compliant"),
            result("a", "q", "non_compliant"),
            result("b", "p", "compliant"),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            blocking_policies(&products, &policies, &results),
            [
                "Policy q for Product a (non_compliant)",
                "Policy q for Product b (not_run)"
            ]
        );
        let all: HashMap<_, _> = ["a", "b"]
            .iter()
            .flat_map(|p| [result(p, "p", "compliant"), result(p, "q", "compliant")])
            .collect();
        assert!(blocking_policies(&products, &policies, &all).is_empty());
        // No mapped policy: nothing holds the phase.
        assert!(blocking_policies(&products, &[], &results).is_empty());
    }

    #[test]
    fn a_completed_phase_starts_the_next_or_waits_or_ends_the_plan() {
        assert_eq!(after_phase(Some("n"), false), AfterPhase::Begin("n"));
        assert_eq!(after_phase(Some("n"), true), AfterPhase::AwaitStart);
        assert_eq!(after_phase(None, true), AfterPhase::Last);
        assert_eq!(after_phase(None, false), AfterPhase::Last);
    }

    #[test]
    fn after_the_last_phase_completed_wins_over_review() {
        assert_eq!(state_after_last_phase(true, true), state::COMPLETED);
        assert_eq!(state_after_last_phase(true, false), state::COMPLETED);
        assert_eq!(state_after_last_phase(false, true), state::REVIEW);
        assert_eq!(state_after_last_phase(false, false), state::IN_PROGRESS);
    }
}
