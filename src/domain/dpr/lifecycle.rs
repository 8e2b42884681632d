//! The two process types and restarts.
//!
//! - **Stage-oriented** releases: a phase starts by hand ([`start_phase`]),
//!   and completes when its release's related tasks are done and its policies
//!   compliant; the next phase then waits to be started.
//! - **Timeline-oriented** releases: phases follow their planned dates. A
//!   scheduled job ([`AdvanceTimeline`]) starts Pending releases on their
//!   planned start, restarts Restarting ones, and completes a phase whose
//!   planned end has passed once its policies are compliant (the next phase
//!   starts with it). A phase held by a non-compliant policy stays open.
//! - **Restart** from an earlier phase resets that phase and every later one
//!   (their policy results too) and puts the release in the Restarting state
//!   until the phase starts again.
//!
//! Only one phase of a release is In Progress at a time.

use chrono::Utc;

use super::super::records::update_values;
use super::phases::{complete_phase_in, invalid_release};
use super::releases::state;
use crate::error::{Error, Result};
use crate::jobs::{Job, JobContext, JobQueue, Outcome};
use crate::registry::table;
use crate::storage::{Db, Row, Tx, Value};
use crate::time::format_date_time;

fn tables() -> Result<(
    &'static crate::registry::Table,
    &'static crate::registry::Table,
)> {
    Ok((
        table("sn_dpr_model_release").ok_or_else(|| Error::internal("release table"))?,
        table("sn_dpr_model_release_phase").ok_or_else(|| Error::internal("phase table"))?,
    ))
}

/// The release, locked until the transaction ends: starting and restarting
/// check its state and phases, then change them (see `Tx::lock`).
async fn release_row(tx: &mut Tx, release_id: &str) -> Result<Row> {
    if !crate::ids::is_sys_id(release_id) {
        return Err(invalid_release());
    }
    tx.lock("sn_dpr_model_release", release_id).await?;
    tx.fetch_optional(
        "SELECT sys_id, state, process_type, current_phase FROM sn_dpr_model_release WHERE sys_id = $1",
        &[Value::from(release_id)],
    )
    .await?
    .ok_or_else(invalid_release)
}

/// Starts `phase` now and makes it the release's current phase.
pub(crate) async fn begin_phase(
    tx: &mut Tx,
    release_id: &str,
    phase_id: &str,
    actor: &str,
) -> Result<()> {
    let (releases, phases) = tables()?;
    let now = format_date_time(Utc::now());
    update_values(
        tx,
        phases,
        phase_id,
        vec![
            ("state", Value::from("in_progress")),
            ("actual_start", Value::Text(now)),
        ],
        actor,
    )
    .await?;
    update_values(
        tx,
        releases,
        release_id,
        vec![
            ("state", Value::from(state::IN_PROGRESS)),
            ("current_phase", Value::from(phase_id)),
        ],
        actor,
    )
    .await
}

async fn first_pending_phase(tx: &mut Tx, release_id: &str) -> Result<Option<String>> {
    Ok(tx
        .fetch_optional(
            "SELECT sys_id FROM sn_dpr_model_release_phase WHERE \"release\" = $1 AND state = 'pending' \
             ORDER BY \"order\", sys_id LIMIT 1",
            &[Value::from(release_id)],
        )
        .await?
        .map(|r| r.string("sys_id")))
}

/// Starts the next phase of a stage-oriented release by hand. The phase must
/// be the first one not yet run, and no phase may be In Progress.
pub async fn start_phase(db: &Db, release_id: &str, phase_id: &str, actor: &str) -> Result<()> {
    let mut tx = db.begin().await?;
    let release = release_row(&mut tx, release_id).await?;
    if release.string("process_type") != "stage" {
        return Err(Error::conflict(
            "Phases of a timeline-oriented release start on their planned dates",
        ));
    }
    let current = release.string("state");
    if current != state::IN_PROGRESS && current != state::RESTARTING {
        return Err(Error::conflict(
            "The release must be In Progress or Restarting to start a phase",
        ));
    }
    if release.text("current_phase").is_some() {
        return Err(Error::conflict(
            "Another phase of the release is In Progress",
        ));
    }
    let next = first_pending_phase(&mut tx, release_id).await?;
    if next.as_deref() != Some(phase_id) {
        return Err(Error::invalid(
            "phaseSysId",
            "only the release's next phase not yet run can start",
        ));
    }
    begin_phase(&mut tx, release_id, phase_id, actor).await?;
    tx.commit().await.map_err(Error::from)
}

/// Restarts a release from one of its phases that has started: that phase
/// and every later one are reset, and the release is Restarting.
pub async fn restart(db: &Db, release_id: &str, phase_id: &str, actor: &str) -> Result<()> {
    let mut tx = db.begin().await?;
    let release = release_row(&mut tx, release_id).await?;
    let current = release.string("state");
    if ![state::IN_PROGRESS, state::REVIEW, state::PENDING].contains(&current.as_str()) {
        return Err(Error::conflict(
            "Only an In Progress, Pending or Review release can be restarted",
        ));
    }
    let phase = tx
        .fetch_optional(
            "SELECT \"order\", state FROM sn_dpr_model_release_phase WHERE sys_id = $1 AND \"release\" = $2",
            &[Value::from(phase_id), Value::from(release_id)],
        )
        .await?
        .ok_or_else(|| Error::invalid("phaseSysId", format!("no phase {phase_id} in this release")))?;
    if phase.string("state") == "pending" {
        return Err(Error::invalid(
            "phaseSysId",
            "the phase has not started: there is nothing to restart",
        ));
    }
    let order = phase.int("order").unwrap_or(0);
    let reset = tx
        .fetch_all(
            "SELECT sys_id FROM sn_dpr_model_release_phase WHERE \"release\" = $1 AND (\"order\" > $2 OR sys_id = $3)",
            &[Value::from(release_id), Value::Int(order), Value::from(phase_id)],
        )
        .await?;
    let (releases, phases) = tables()?;
    for p in &reset {
        let id = p.string("sys_id");
        tx.execute(
            "DELETE FROM sn_dpr_model_policy_execution WHERE release_phase = $1",
            &[Value::from(&id)],
        )
        .await?;
        update_values(
            &mut tx,
            phases,
            &id,
            vec![
                ("state", Value::from("pending")),
                ("actual_start", Value::Null),
                ("actual_end", Value::Null),
            ],
            actor,
        )
        .await?;
    }
    update_values(
        &mut tx,
        releases,
        release_id,
        vec![
            ("state", Value::from(state::RESTARTING)),
            ("current_phase", Value::Null),
        ],
        actor,
    )
    .await?;
    tx.commit().await.map_err(Error::from)
}

/// What one pass of the timeline scheduler did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Advanced {
    pub started: usize,
    pub completed: usize,
    pub held: usize,
}

/// One pass over timeline-oriented releases as of `now` (UTC
/// `YYYY-MM-DD hh:mm:ss`), in the caller's transaction.
pub async fn advance_timeline(tx: &mut Tx, now: &str, actor: &str) -> Result<Advanced> {
    let mut out = Advanced::default();
    // Pending releases whose planned start has come, and Restarting ones,
    // locked (in sys_id order): two passes at once (replicas) take turns,
    // and the second no longer finds the releases the first started.
    let due = tx
        .fetch_all(
            &format!(
                "SELECT sys_id FROM sn_dpr_model_release WHERE process_type = 'timeline' AND \
                 ((state = 'pending' AND planned_start <= $1) OR state = 'restarting') ORDER BY sys_id{}",
                crate::storage::dialect::for_update(tx.backend())
            ),
            &[Value::from(now)],
        )
        .await?;
    for r in &due {
        let id = r.string("sys_id");
        if let Some(phase) = first_pending_phase(tx, &id).await? {
            begin_phase(tx, &id, &phase, actor).await?;
            out.started += 1;
        }
    }
    // In Progress releases whose current phase has run past its planned end.
    let overdue = tx
        .fetch_all(
            "SELECT r.sys_id FROM sn_dpr_model_release r JOIN sn_dpr_model_release_phase ph ON ph.sys_id = r.current_phase \
             WHERE r.process_type = 'timeline' AND r.state = 'in_progress' AND ph.state = 'in_progress' \
             AND ph.planned_end <= $1 ORDER BY r.sys_id",
            &[Value::from(now)],
        )
        .await?;
    for r in &overdue {
        match complete_phase_in(tx, &r.string("sys_id"), actor).await {
            Ok(_) => out.completed += 1,
            // Held by its policies: the phase stays open past its date.
            Err(e) if e.kind == crate::error::ErrorKind::Conflict => out.held += 1,
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// The scheduled pass, run through the job queue. It has no parameters
/// (stored as `{}`).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct AdvanceTimeline {}

impl Job for AdvanceTimeline {
    const KIND: &'static str = "dpr.advance_timeline";
    type Env = ();

    async fn run(self, ctx: &JobContext, _: &()) -> Result<Outcome> {
        let mut tx = ctx.begin().await?;
        let now = format_date_time(Utc::now());
        let done = advance_timeline(&mut tx, &now, "system").await?;
        Ok(Outcome {
            tx,
            message: format!(
                "Timeline: {} started, {} phases completed, {} held by policies",
                done.started, done.completed, done.held
            ),
            result: None,
        })
    }
}

/// Queues a timeline pass unless one is already waiting or running. Every
/// replica asks now and then; the job's unique key (see `Job::enqueue_once`)
/// makes sure that replicas asking at the same moment queue one pass.
pub async fn schedule_timeline_pass(jobs: &JobQueue) -> Result<Option<String>> {
    AdvanceTimeline {}.enqueue_once(jobs, "system").await
}
