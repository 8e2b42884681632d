//! The durable job queue for asynchronous work.
//!
//! A job is a row in `tollgate_job`. A worker claims the oldest due job with
//! a lease (on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so replicas never
//! claim the same one), reports progress that the family's status endpoint
//! reads, and applies the job's effects in one transaction together with
//! marking it done, on the condition that it still holds the lease. A worker
//! that died leaves its lease to expire; another claims the job and runs it
//! again, and a worker that comes back from the dead cannot complete it a
//! second time. A failure is retried with exponential backoff.

mod worker;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value as Json;
use tokio::sync::Notify;

use crate::error::{Error, Result};
use crate::ids::new_sys_id;
use crate::storage::{dialect, Db, Row, Tx, Value};
use crate::time::{now_millis, now_string};

pub use worker::{spawn_workers, WorkerPool};

/// The states a job moves through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobState {
    Pending,
    Running,
    Succeeded,
    Failed,
    Canceled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Canceled => "canceled",
        }
    }

    pub fn parse(s: &str) -> JobState {
        match s {
            "running" => JobState::Running,
            "succeeded" => JobState::Succeeded,
            "failed" => JobState::Failed,
            "canceled" => JobState::Canceled,
            _ => JobState::Pending,
        }
    }

    pub const ALL: [JobState; 5] = [
        JobState::Pending,
        JobState::Running,
        JobState::Succeeded,
        JobState::Failed,
        JobState::Canceled,
    ];
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a finished job hands back: the transaction holding its effects (the
/// queue commits it together with the job's completion) and the record it
/// produced, if any.
pub struct Outcome {
    pub tx: Tx,
    pub message: String,
    pub result: Option<(String, String)>,
}

/// One kind of asynchronous work.
pub trait JobHandler: Send + Sync {
    /// The kind name stored with each job.
    fn kind(&self) -> &'static str;
    /// Runs the job. Effects go into a transaction from [`JobContext::begin`]
    /// and come back in the [`Outcome`]; nothing is committed by the handler.
    fn run<'a>(&'a self, ctx: &'a JobContext) -> BoxFuture<'a, Result<Outcome>>;
}

/// A claimed job, as a handler sees it.
pub struct JobContext {
    pub id: String,
    pub kind: String,
    pub payload: Json,
    pub attempt: i64,
    owner: String,
    db: Db,
    lease: Duration,
}

impl JobContext {
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// A string field of the payload (empty when absent).
    pub fn payload_str(&self, name: &str) -> &str {
        self.payload
            .get(name)
            .and_then(Json::as_str)
            .unwrap_or_default()
    }

    pub async fn begin(&self) -> Result<Tx> {
        Ok(self.db.begin().await?)
    }

    /// Reports progress and renews the lease. Fails when the lease was lost
    /// (another worker took the job over), so the handler stops early.
    pub async fn progress(&self, percent: i64, message: &str) -> Result<()> {
        let n = self
            .db
            .execute(
                "UPDATE tollgate_job SET percent_complete = $1, status_message = $2, \
                 lease_expires_at = $3, updated_on = $4 \
                 WHERE id = $5 AND lease_owner = $6 AND state = 'running'",
                &[
                    Value::Int(percent.clamp(0, 100)),
                    Value::from(message),
                    Value::Int(now_millis() + self.lease.as_millis() as i64),
                    Value::Text(now_string()),
                    Value::from(&self.id),
                    Value::from(&self.owner),
                ],
            )
            .await?;
        if n == 0 {
            return Err(lease_lost());
        }
        Ok(())
    }
}

fn lease_lost() -> Error {
    Error::conflict("the job's lease was lost to another worker")
}

/// The queue: enqueue, claim, run, and read progress.
#[derive(Clone)]
pub struct JobQueue {
    db: Db,
    lease: Duration,
    handlers: Arc<HashMap<&'static str, Arc<dyn JobHandler>>>,
    notify: Arc<Notify>,
}

/// A job's progress, as status endpoints show it.
#[derive(Clone, Debug)]
pub struct Progress {
    pub id: String,
    pub kind: String,
    pub state: JobState,
    pub percent_complete: i64,
    pub status_message: String,
    pub status_detail: String,
    pub error: String,
    pub result: Option<(String, String)>,
    pub attempts: i64,
}

impl Progress {
    fn from_row(row: &Row) -> Progress {
        let result = match (row.text("result_table"), row.text("result_id")) {
            (Some(t), Some(i)) => Some((t, i)),
            _ => None,
        };
        Progress {
            id: row.string("id"),
            kind: row.string("kind"),
            state: JobState::parse(&row.string("state")),
            percent_complete: row.int("percent_complete").unwrap_or(0),
            status_message: row.string("status_message"),
            status_detail: row.string("status_detail"),
            error: row.string("error"),
            result,
            attempts: row.int("attempts").unwrap_or(0),
        }
    }
}

/// Delay before retry number `attempt` (1-based): 2, 4, 8 ... seconds, at
/// most five minutes.
pub fn backoff(attempt: i64) -> Duration {
    let exp = attempt.clamp(1, 20) as u32;
    Duration::from_secs(2u64.saturating_pow(exp)).min(Duration::from_secs(300))
}

impl JobQueue {
    pub fn new(db: Db, lease: Duration, handlers: Vec<Arc<dyn JobHandler>>) -> JobQueue {
        let handlers = handlers.into_iter().map(|h| (h.kind(), h)).collect();
        JobQueue {
            db,
            lease,
            handlers: Arc::new(handlers),
            notify: Arc::new(Notify::new()),
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Queues a job; returns its id (the progress id clients poll). A
    /// failure is retried with backoff.
    pub async fn enqueue(&self, kind: &str, payload: &Json, created_by: &str) -> Result<String> {
        self.enqueue_with_attempts(kind, payload, created_by, DEFAULT_ATTEMPTS)
            .await
    }

    /// Queues a job that runs at most once (a worker that dies in the middle
    /// of it fails it once its lease expires): for work whose failure is an answer for the client,
    /// such as a commit refused for its content or a remote instance down.
    pub async fn enqueue_once(
        &self,
        kind: &str,
        payload: &Json,
        created_by: &str,
    ) -> Result<String> {
        self.enqueue_with_attempts(kind, payload, created_by, 1)
            .await
    }

    async fn enqueue_with_attempts(
        &self,
        kind: &str,
        payload: &Json,
        created_by: &str,
        attempts: i64,
    ) -> Result<String> {
        let id = new_sys_id();
        self.db
            .execute(
                &enqueue_sql(),
                &enqueue_args(&id, kind, payload, created_by, attempts),
            )
            .await?;
        self.notify.notify_one();
        Ok(id)
    }

    /// Queues a job inside the caller's transaction, so the job exists only
    /// if the work that asked for it lands. Call [`JobQueue::wake`] after
    /// the commit: a worker woken before it would not see the job yet (on
    /// PostgreSQL) and would wait for its next poll.
    pub async fn enqueue_in(
        &self,
        tx: &mut Tx,
        kind: &str,
        payload: &Json,
        created_by: &str,
    ) -> Result<String> {
        let id = new_sys_id();
        tx.execute(
            &enqueue_sql(),
            &enqueue_args(&id, kind, payload, created_by, DEFAULT_ATTEMPTS),
        )
        .await?;
        Ok(id)
    }

    /// Wakes a worker for a job queued with [`JobQueue::enqueue_in`] whose
    /// transaction has committed.
    pub fn wake(&self) {
        self.notify.notify_one();
    }

    pub async fn progress(&self, id: &str) -> Result<Option<Progress>> {
        let row = self
            .db
            .fetch_optional(
                "SELECT id, kind, state, percent_complete, status_message, status_detail, error, \
                 result_table, result_id, attempts FROM tollgate_job WHERE id = $1",
                &[Value::from(id)],
            )
            .await?;
        Ok(row.as_ref().map(Progress::from_row))
    }

    /// Job counts by state (for metrics).
    pub async fn counts(&self) -> Result<Vec<(String, i64)>> {
        let rows = self
            .db
            .fetch_all(
                "SELECT state, COUNT(*) AS n FROM tollgate_job GROUP BY state",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.string("state"), r.int("n").unwrap_or(0)))
            .collect())
    }

    /// Claims the next due job for `owner`, as of `now_ms`: a pending job
    /// whose time has come, or a running one whose lease has expired and
    /// that has attempts left.
    pub async fn claim(&self, owner: &str, now_ms: i64) -> Result<Option<JobContext>> {
        // `attempts < max_attempts`: a job whose worker died on its last
        // attempt is never taken back (it would take the next worker down
        // too); [`JobQueue::fail_abandoned`] marks it failed.
        let sql = format!(
            "UPDATE tollgate_job SET state = 'running', lease_owner = $1, lease_expires_at = $2, \
             attempts = attempts + 1, updated_on = $3 \
             WHERE id = (SELECT id FROM tollgate_job \
                 WHERE (state = 'pending' AND run_at <= $4) \
                    OR (state = 'running' AND lease_expires_at < $4 AND attempts < max_attempts) \
                 ORDER BY run_at, id LIMIT 1{}) \
             RETURNING id, kind, payload, attempts, max_attempts",
            dialect::skip_locked(self.db.backend())
        );
        let row = self
            .db
            .fetch_optional(
                &sql,
                &[
                    Value::from(owner),
                    Value::Int(now_ms + self.lease.as_millis() as i64),
                    Value::Text(now_string()),
                    Value::Int(now_ms),
                ],
            )
            .await?;
        let Some(row) = row else {
            // Nothing to run: a moment to settle abandoned jobs, kept off
            // the path of a busy queue (one more write per idle poll).
            self.fail_abandoned(now_ms).await?;
            return Ok(None);
        };
        Ok(Some(JobContext {
            id: row.string("id"),
            kind: row.string("kind"),
            payload: serde_json::from_str(&row.string("payload")).unwrap_or(Json::Null),
            attempt: row.int("attempts").unwrap_or(1),
            owner: owner.to_owned(),
            db: self.db.clone(),
            lease: self.lease,
        }))
    }

    /// Fails every job whose lease expired on its last attempt. A lease
    /// expires when its worker died (or hung) in the middle of the job; when
    /// that keeps happening the job itself is the likely cause (a poison job
    /// that takes the process down), and running it again after each restart
    /// would crash-loop the server. Returns how many jobs were failed.
    pub async fn fail_abandoned(&self, now_ms: i64) -> Result<u64> {
        let n = self
            .db
            .execute(
                "UPDATE tollgate_job SET state = 'failed', error = $1, \
                 status_message = 'This operation failed', \
                 lease_owner = NULL, lease_expires_at = NULL, updated_on = $2 \
                 WHERE state = 'running' AND lease_expires_at < $3 AND attempts >= max_attempts",
                &[
                    Value::from(ABANDONED_MESSAGE),
                    Value::Text(now_string()),
                    Value::Int(now_ms),
                ],
            )
            .await?;
        if n > 0 {
            tracing::error!(
                jobs = n,
                "failed jobs whose worker died on their last attempt"
            );
        }
        Ok(n)
    }

    /// Runs a claimed job to its end: success commits its effects with its
    /// completion; failure schedules a retry or, past the last attempt, fails
    /// it. Returns the state it reached (`Running` when the lease was lost).
    pub async fn execute(&self, ctx: JobContext) -> JobState {
        let handler = self.handlers.get(ctx.kind.as_str()).cloned();
        let outcome = match handler {
            Some(h) => h.run(&ctx).await,
            None => Err(Error::internal(format!(
                "no handler for job kind {}",
                ctx.kind
            ))),
        };
        let result = match outcome {
            Ok(outcome) => self.complete(&ctx, outcome).await,
            Err(err) => self.fail(&ctx, &err).await,
        };
        match result {
            Ok(state) => state,
            Err(err) => {
                tracing::error!(job = %ctx.id, error = %err, "could not record the job's end");
                JobState::Running
            }
        }
    }

    async fn complete(&self, ctx: &JobContext, outcome: Outcome) -> Result<JobState> {
        let Outcome {
            mut tx,
            message,
            result,
        } = outcome;
        let (table, record) = match result {
            Some((t, r)) => (Value::Text(t), Value::Text(r)),
            None => (Value::Null, Value::Null),
        };
        let n = tx
            .execute(
                "UPDATE tollgate_job SET state = 'succeeded', percent_complete = 100, \
                 status_message = $1, status_detail = $1, error = NULL, result_table = $2, result_id = $3, \
                 lease_owner = NULL, lease_expires_at = NULL, updated_on = $4 \
                 WHERE id = $5 AND lease_owner = $6 AND state = 'running'",
                &[Value::Text(message), table, record, Value::Text(now_string()), Value::from(&ctx.id), Value::from(&ctx.owner)],
            )
            .await?;
        if n != 1 {
            // Another worker holds the job now: our effects must not land.
            tx.rollback().await?;
            tracing::warn!(job = %ctx.id, "lease lost before completion; effects discarded");
            return Ok(JobState::Running);
        }
        tx.commit().await?;
        Ok(JobState::Succeeded)
    }

    async fn fail(&self, ctx: &JobContext, err: &Error) -> Result<JobState> {
        let max = self
            .db
            .fetch_optional(
                "SELECT max_attempts FROM tollgate_job WHERE id = $1",
                &[Value::from(&ctx.id)],
            )
            .await?
            .and_then(|r| r.int("max_attempts"))
            .unwrap_or(3);
        let (state, run_at) = if ctx.attempt < max {
            (
                JobState::Pending,
                now_millis() + backoff(ctx.attempt).as_millis() as i64,
            )
        } else {
            (JobState::Failed, now_millis())
        };
        let n = self
            .db
            .execute(
                "UPDATE tollgate_job SET state = $1, run_at = $2, error = $3, status_message = $4, \
                 lease_owner = NULL, lease_expires_at = NULL, updated_on = $5 \
                 WHERE id = $6 AND lease_owner = $7 AND state = 'running'",
                &[
                    Value::from(state.as_str()),
                    Value::Int(run_at),
                    Value::Text(err.message.clone()),
                    Value::Text(if state == JobState::Failed { "This operation failed".into() } else { format!("Retrying after attempt {}", ctx.attempt) }),
                    Value::Text(now_string()),
                    Value::from(&ctx.id),
                    Value::from(&ctx.owner),
                ],
            )
            .await?;
        Ok(if n == 1 { state } else { JobState::Running })
    }

    /// Fails a job whose handler panicked (no retry: it would panic again).
    pub async fn fail_panicked(&self, id: &str, owner: &str) -> Result<()> {
        self.db
            .execute(
                "UPDATE tollgate_job SET state = 'failed', error = $1, status_message = 'This operation failed', \
                 lease_owner = NULL, lease_expires_at = NULL, updated_on = $2 \
                 WHERE id = $3 AND lease_owner = $4 AND state = 'running'",
                &[
                    Value::from("An unexpected error occurred while running the job"),
                    Value::Text(now_string()),
                    Value::from(id),
                    Value::from(owner),
                ],
            )
            .await?;
        Ok(())
    }

    /// Deletes finished jobs (succeeded, failed, canceled) last touched
    /// before `cutoff` (`YYYY-MM-DD hh:mm:ss` UTC); their progress is no longer
    /// readable afterwards. Returns how many went.
    pub async fn sweep_finished(&self, cutoff: &str) -> Result<u64> {
        Ok(self
            .db
            .execute(
                "DELETE FROM tollgate_job WHERE state IN ('succeeded', 'failed', 'canceled') AND updated_on < $1",
                &[Value::from(cutoff)],
            )
            .await?)
    }

    /// Hands back every lease `owner_prefix` holds (graceful shutdown), so
    /// another process can take those jobs at once.
    pub async fn release_leases(&self, owner_prefix: &str) -> Result<u64> {
        Ok(self
            .db
            .execute(
                "UPDATE tollgate_job SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL, \
                 attempts = attempts - 1, updated_on = $1 WHERE state = 'running' AND lease_owner LIKE $2",
                &[Value::Text(now_string()), Value::Text(format!("{owner_prefix}%"))],
            )
            .await?)
    }

    pub(crate) fn notified(&self) -> &Notify {
        &self.notify
    }
}

/// The error of a job failed by [`JobQueue::fail_abandoned`].
pub const ABANDONED_MESSAGE: &str = "The worker running this job stopped before finishing it \
     (the process died or hung) and the job has used all of its attempts; it is not run again";

/// Attempts of a job queued with [`JobQueue::enqueue`].
const DEFAULT_ATTEMPTS: i64 = 3;

fn enqueue_sql() -> String {
    "INSERT INTO tollgate_job (id, kind, payload, state, attempts, max_attempts, run_at, \
     percent_complete, status_message, created_by, created_on, updated_on) \
     VALUES ($1, $2, $3, 'pending', 0, $7, $4, 0, 'Pending', $5, $6, $6)"
        .to_owned()
}

fn enqueue_args(
    id: &str,
    kind: &str,
    payload: &Json,
    created_by: &str,
    max_attempts: i64,
) -> Vec<Value> {
    vec![
        Value::from(id),
        Value::from(kind),
        Value::Text(payload.to_string()),
        Value::Int(now_millis()),
        Value::from(created_by),
        Value::Text(now_string()),
        Value::Int(max_attempts),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(super::backoff(1).as_secs(), 2);
        assert_eq!(super::backoff(2).as_secs(), 4);
        assert_eq!(super::backoff(30).as_secs(), 300);
    }
}
