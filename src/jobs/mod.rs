//! The durable job queue for asynchronous work.
//!
//! A job is a row in `tollgate_job`. A worker claims the oldest due job with
//! a lease (on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so replicas never
//! claim the same one), reports progress that the family's status endpoint
//! reads, and applies the job's effects in one transaction together with
//! marking it done, on the condition that it still holds the lease. A worker
//! that died leaves its lease to expire; another claims the job and runs it
//! again, and a worker that comes back from the dead cannot complete it a
//! second time. While a handler works, a heartbeat renews its lease (see
//! [`heartbeat`]), so a job longer than the lease is never taken over from a
//! live worker. A failure is retried with exponential backoff.
//!
//! A kind of job is a type implementing [`Job`]: its fields are the payload
//! (stored as JSON with the row), `Job::run` is the work. A [`JobRegistry`]
//! lists the types a queue runs; it erases each type once, in
//! [`JobRegistry::register_with`], so the queue sees only kind names.

mod heartbeat;
mod worker;

use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::Notify;

use crate::error::{Error, Result};
use crate::ids::new_sys_id;
use crate::storage::{dialect, Db, Executor, Record, Tx, Value};
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

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a finished job hands back: the transaction holding its effects (the
/// queue commits it together with the job's completion) and the record it
/// produced, if any.
pub struct Outcome {
    pub tx: Tx,
    pub message: String,
    pub result: Option<(String, String)>,
}

/// One kind of asynchronous work. The type's fields are the job's payload,
/// stored as JSON with its row: renaming a field (or [`Job::KIND`]) would
/// strand the jobs already queued under the old name, so rename with
/// `#[serde(rename = "...")]` instead.
pub trait Job: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The kind name stored with each job.
    const KIND: &'static str;

    /// How many times the job is attempted, a failure retried with backoff.
    /// `1` for work whose failure is an answer for the client (a commit
    /// refused for its content, a remote instance down): it runs at most
    /// once, and a worker that dies in the middle of it fails it once its
    /// lease expires.
    const ATTEMPTS: i64 = DEFAULT_ATTEMPTS;

    /// What the job needs from the server beyond its payload (settings, a
    /// test's hooks), handed over once in [`JobRegistry::register_with`];
    /// `()` for most.
    type Env: Send + Sync + 'static;

    /// Runs the job. Effects go into a transaction from [`JobContext::begin`]
    /// and come back in the [`Outcome`]; nothing is committed by the job.
    /// (Implement it as an `async fn`.)
    fn run(self, ctx: &JobContext, env: &Self::Env)
        -> impl Future<Output = Result<Outcome>> + Send;

    /// Queues the job and wakes a worker; returns its id (the progress id
    /// clients poll).
    fn enqueue(
        &self,
        queue: &JobQueue,
        created_by: &str,
    ) -> impl Future<Output = Result<String>> + Send {
        async move {
            let id = new_sys_id();
            let args = enqueue_args::<Self>(&id, self, created_by)?;
            queue.db.execute(ENQUEUE_SQL, &args).await?;
            queue.notify.notify_one();
            Ok(id)
        }
    }

    /// Queues the job unless one of its kind queued the same way is still
    /// pending or running; returns its id, or `None` when one was already
    /// waiting. A unique index decides, so several replicas asking at the
    /// same moment queue one job between them.
    fn enqueue_once(
        &self,
        queue: &JobQueue,
        created_by: &str,
    ) -> impl Future<Output = Result<Option<String>>> + Send {
        async move {
            let id = new_sys_id();
            let mut args = enqueue_args::<Self>(&id, self, created_by)?;
            args.push(Value::from(Self::KIND));
            match queue.db.execute(ENQUEUE_ONCE_SQL, &args).await {
                Ok(_) => {
                    queue.notify.notify_one();
                    Ok(Some(id))
                }
                Err(crate::storage::StorageError::UniqueViolation) => Ok(None),
                Err(err) => Err(err.into()),
            }
        }
    }

    /// Queues the job inside the caller's transaction, so the job exists
    /// only if the work that asked for it lands. Call [`JobQueue::wake`]
    /// after the commit: a worker woken before it would not see the job yet
    /// (on PostgreSQL) and would wait for its next poll.
    fn enqueue_in(
        &self,
        tx: &mut Tx,
        created_by: &str,
    ) -> impl Future<Output = Result<String>> + Send {
        async move {
            let id = new_sys_id();
            let args = enqueue_args::<Self>(&id, self, created_by)?;
            tx.execute(ENQUEUE_SQL, &args).await?;
            Ok(id)
        }
    }

    /// Queues the job in `tx`, commits `tx` and wakes a worker: the job
    /// exists exactly when the rest of the transaction's work does.
    fn enqueue_committing(
        &self,
        mut tx: Tx,
        queue: &JobQueue,
        created_by: &str,
    ) -> impl Future<Output = Result<String>> + Send {
        async move {
            let id = self.enqueue_in(&mut tx, created_by).await?;
            tx.commit().await?;
            queue.wake();
            Ok(id)
        }
    }
}

/// How a run ended short of an [`Outcome`].
enum Failure {
    /// The job failed; it is retried while it has attempts left.
    Failed(Error),
    /// The stored payload does not fit the kind's type: no attempt can run
    /// it, so it fails at once with this message.
    Poison(String),
}

/// A registered job type, erased: reads the payload into the type and runs it.
trait Runner: Send + Sync {
    fn run<'a>(
        &'a self,
        ctx: &'a JobContext,
    ) -> BoxFuture<'a, std::result::Result<Outcome, Failure>>;
}

struct Registered<J: Job> {
    env: J::Env,
    job: PhantomData<fn() -> J>,
}

impl<J: Job> Runner for Registered<J> {
    fn run<'a>(
        &'a self,
        ctx: &'a JobContext,
    ) -> BoxFuture<'a, std::result::Result<Outcome, Failure>> {
        match serde_json::from_str::<J>(&ctx.payload) {
            Ok(job) => {
                Box::pin(async move { job.run(ctx, &self.env).await.map_err(Failure::Failed) })
            }
            Err(err) => {
                tracing::error!(job = %ctx.id, kind = J::KIND, error = %err, "unreadable job payload");
                Box::pin(std::future::ready(Err(Failure::Poison(format!(
                    "The stored parameters of this {} job cannot be read ({err}), so it cannot run; \
                     it is not retried",
                    J::KIND
                )))))
            }
        }
    }
}

/// The job types a queue runs, by kind.
#[derive(Clone, Default)]
pub struct JobRegistry {
    runners: HashMap<&'static str, Arc<dyn Runner>>,
}

impl JobRegistry {
    pub fn new() -> JobRegistry {
        JobRegistry::default()
    }

    /// Adds a job type that needs nothing beyond its payload.
    pub fn register<J: Job<Env = ()>>(self) -> JobRegistry {
        self.register_with::<J>(())
    }

    /// Adds a job type with what it needs from the server. Panics when
    /// another type already claimed its kind (two types would share the
    /// stored rows): a programming error every test that builds the
    /// registry catches.
    pub fn register_with<J: Job>(self, env: J::Env) -> JobRegistry {
        assert!(
            !self.runners.contains_key(J::KIND),
            "two job types have the kind {}",
            J::KIND
        );
        self.replace_with::<J>(env)
    }

    /// Adds a job type or replaces the one registered for its kind (a test
    /// that runs a kind with other settings).
    pub fn replace_with<J: Job>(mut self, env: J::Env) -> JobRegistry {
        let runner: Arc<dyn Runner> = Arc::new(Registered::<J> {
            env,
            job: PhantomData,
        });
        self.runners.insert(J::KIND, runner);
        self
    }

    /// The registered kinds, sorted.
    pub fn kinds(&self) -> Vec<&'static str> {
        let mut kinds: Vec<_> = self.runners.keys().copied().collect();
        kinds.sort_unstable();
        kinds
    }
}

/// A claimed job, as a handler sees it.
pub struct JobContext {
    pub id: String,
    pub kind: String,
    pub attempt: i64,
    /// The stored JSON, read into the kind's type by its [`Runner`].
    payload: String,
    owner: String,
    db: Db,
    lease: Duration,
}

impl JobContext {
    pub fn db(&self) -> &Db {
        &self.db
    }

    pub async fn begin(&self) -> Result<Tx> {
        Ok(self.db.begin().await?)
    }

    /// Reports progress and renews the lease. Fails when the lease was lost
    /// (another worker took the job over), so the handler stops early.
    pub async fn progress(&self, percent: i64, message: &str) -> Result<()> {
        let n = self
            .db
            .execute_fresh(
                "UPDATE tollgate_job SET percent_complete = $1, status_message = $2, \
                 lease_expires_at = $3, updated_on = $4 \
                 WHERE id = $5 AND lease_owner = $6 AND state = 'running'",
                || {
                    vec![
                        Value::Int(percent.clamp(0, 100)),
                        Value::from(message),
                        Value::Int(now_millis() + self.lease.as_millis() as i64),
                        Value::Text(now_string()),
                        Value::from(&self.id),
                        Value::from(&self.owner),
                    ]
                },
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

/// A job as the console lists it.
#[derive(Clone, Debug)]
pub struct JobSummary {
    pub id: String,
    pub kind: String,
    pub state: String,
    pub percent_complete: i64,
    pub message: String,
    pub error: Option<String>,
    pub created_by: String,
    pub updated_on: String,
}

/// The queue: enqueue, claim, run, and read progress.
#[derive(Clone)]
pub struct JobQueue {
    db: Db,
    lease: Duration,
    runners: Arc<HashMap<&'static str, Arc<dyn Runner>>>,
    notify: Arc<Notify>,
    /// The jobs this process is running now. Their workers are alive by
    /// definition, whatever their lease says: on SQLite a job's own write
    /// transaction holds back its heartbeat (the renewal waits for the
    /// write lock), which must not read as a stopped worker.
    running_here: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
}

/// Marks a job as running in this process until dropped.
struct RunningHere {
    jobs: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
    id: String,
}

impl RunningHere {
    fn new(queue: &JobQueue, id: &str) -> RunningHere {
        let jobs = queue.running_here.clone();
        jobs.lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_owned());
        RunningHere {
            jobs,
            id: id.to_owned(),
        }
    }
}

impl Drop for RunningHere {
    fn drop(&mut self) {
        self.jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
    }
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

crate::record! {
    /// The columns of a job that its progress shows.
    pub struct JobProgressRow in "tollgate_job" {
        pub id: String,
        pub kind: String,
        pub state: String,
        pub percent_complete: i64,
        pub status_message: Option<String>,
        pub status_detail: Option<String>,
        pub error: Option<String>,
        pub result_table: Option<String>,
        pub result_id: Option<String>,
        pub attempts: i64,
        pub max_attempts: i64,
        pub lease_expires_at: Option<i64>,
    }
}

impl From<JobProgressRow> for Progress {
    fn from(row: JobProgressRow) -> Progress {
        let result = match (row.result_table, row.result_id) {
            (Some(t), Some(i)) => Some((t, i)),
            _ => None,
        };
        Progress {
            id: row.id,
            kind: row.kind,
            state: JobState::parse(&row.state),
            percent_complete: row.percent_complete,
            status_message: row.status_message.unwrap_or_default(),
            status_detail: row.status_detail.unwrap_or_default(),
            error: row.error.unwrap_or_default(),
            result,
            attempts: row.attempts,
        }
    }
}

/// What an operator should read for a running job whose worker has missed
/// its lease renewals (killed, hung, or cut off from the database): the job
/// is not stuck, it waits for its lease to expire and is then taken over (or
/// failed, on its last attempt). `None` while the heartbeat keeps up.
fn stalled_message(row: &JobProgressRow, now_ms: i64, lease: Duration) -> Option<String> {
    if row.state != JobState::Running.as_str() {
        return None;
    }
    let expires = row.lease_expires_at?;
    let lease_ms = lease.as_millis() as i64;
    let renewed = expires - lease_ms;
    // Two missed beats: one late renewal is a busy database, not a dead worker.
    let beat_ms = heartbeat::interval(lease).as_millis() as i64;
    if now_ms - renewed <= 2 * beat_ms {
        return None;
    }
    let at = crate::time::format_millis(expires);
    let (last_attempt, outcome) = if row.attempts >= row.max_attempts {
        (
            " (this is its last attempt)",
            "a worker marks the job failed",
        )
    } else {
        ("", "another worker takes the job over")
    };
    Some(if now_ms < expires {
        format!(
            "The worker running this job has not renewed its lease since {}{last_attempt}; if it \
             does not come back, {outcome} when the lease expires at {at}",
            crate::time::format_millis(renewed)
        )
    } else {
        format!(
            "The worker running this job stopped{last_attempt} (its lease expired at {at}); \
             {outcome} at its next poll"
        )
    })
}

/// Delay before retry number `attempt` (1-based): 2, 4, 8 ... seconds, at
/// most five minutes.
pub fn backoff(attempt: i64) -> Duration {
    let exp = attempt.clamp(1, 20) as u32;
    Duration::from_secs(2u64.saturating_pow(exp)).min(Duration::from_secs(300))
}

impl JobQueue {
    pub fn new(db: Db, lease: Duration, registry: JobRegistry) -> JobQueue {
        JobQueue {
            db,
            lease,
            runners: Arc::new(registry.runners),
            notify: Arc::new(Notify::new()),
            running_here: Arc::default(),
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Wakes a worker for a job queued with [`Job::enqueue_in`] whose
    /// transaction has committed.
    pub fn wake(&self) {
        self.notify.notify_one();
    }

    pub async fn progress(&self, id: &str) -> Result<Option<Progress>> {
        let row: Option<JobProgressRow> = (&self.db)
            .fetch_record(&JobProgressRow::select_where("id = $1"), &[Value::from(id)])
            .await?;
        Ok(row.map(|row| {
            let here = self
                .running_here
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(&row.id);
            let stalled = if here {
                None
            } else {
                stalled_message(&row, now_millis(), self.lease)
            };
            let mut progress = Progress::from(row);
            if let Some(message) = stalled {
                progress.status_message = message;
            }
            progress
        }))
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

    /// Jobs waiting or running, and those that failed since `failed_since`
    /// (a stored date-time), newest first, at most `limit`: what the
    /// console's Today page shows.
    pub async fn unfinished_or_failed(
        &self,
        failed_since: &str,
        limit: i64,
    ) -> Result<Vec<JobSummary>> {
        let rows = self
            .db
            .fetch_all(
                "SELECT id, kind, state, percent_complete, status_message, error, created_by, updated_on \
                 FROM tollgate_job WHERE state IN ('pending', 'running') \
                 OR (state = 'failed' AND updated_on >= $1) \
                 ORDER BY updated_on DESC, id DESC LIMIT $2",
                &[Value::from(failed_since), Value::Int(limit)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| JobSummary {
                id: r.string("id"),
                kind: r.string("kind"),
                state: r.string("state"),
                percent_complete: r.int("percent_complete").unwrap_or(0),
                message: r.text("status_message").unwrap_or_default(),
                error: r.text("error"),
                created_by: r.text("created_by").unwrap_or_default(),
                updated_on: r.string("updated_on"),
            })
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
            payload: row.string("payload"),
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

    /// Renews the lease `owner` holds on job `id`; false when it no longer
    /// holds it (another worker took the job over, or it ended).
    pub async fn renew_lease(&self, id: &str, owner: &str) -> Result<bool> {
        let lease = self.lease;
        let n = self
            .db
            .execute_fresh(
                "UPDATE tollgate_job SET lease_expires_at = $1 \
                 WHERE id = $2 AND lease_owner = $3 AND state = 'running'",
                || {
                    vec![
                        Value::Int(now_millis() + lease.as_millis() as i64),
                        Value::from(id),
                        Value::from(owner),
                    ]
                },
            )
            .await?;
        Ok(n == 1)
    }

    /// Runs a claimed job to its end: success commits its effects with its
    /// completion; failure schedules a retry or, past the last attempt, fails
    /// it. Returns the state it reached (`Running` when the lease was lost).
    pub async fn execute(&self, ctx: JobContext) -> JobState {
        self.execute_until(ctx, std::future::pending()).await
    }

    /// [`JobQueue::execute`], abandoning the run when `abandon` resolves
    /// first (a worker pool out of shutdown grace): the handler is dropped at
    /// its next await, its transaction rolled back, and the job keeps its
    /// lease for the pool to hand back. A heartbeat renews the lease while
    /// the handler runs; when another worker has taken the job over, the run
    /// stops the same way.
    pub async fn execute_until(
        &self,
        ctx: JobContext,
        abandon: impl Future<Output = ()> + Send,
    ) -> JobState {
        let runner = self.runners.get(ctx.kind.as_str()).cloned();
        let _here = RunningHere::new(self, &ctx.id);
        let mut heartbeat = heartbeat::Heartbeat::start(self, &ctx.id, &ctx.owner);
        let run = async {
            match runner {
                Some(r) => r.run(&ctx).await,
                None => Err(Failure::Failed(Error::internal(format!(
                    "no handler for job kind {}",
                    ctx.kind
                )))),
            }
        };
        let outcome = tokio::select! {
            outcome = run => outcome,
            () = heartbeat.lost() => return JobState::Running,
            () = abandon => {
                tracing::warn!(job = %ctx.id, "job abandoned at shutdown; its effects are discarded");
                return JobState::Running;
            }
        };
        // Renewals stop before the end is recorded: a late one could only
        // find the job finished, but it would wait on the completion's lock.
        drop(heartbeat);
        let result = match outcome {
            Ok(outcome) => self.complete(&ctx, outcome).await,
            Err(Failure::Failed(err)) => self.fail(&ctx, &err).await,
            Err(Failure::Poison(message)) => self
                .fail_for_good(&ctx.id, &ctx.owner, &message)
                .await
                .map(|()| JobState::Failed),
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
        self.fail_for_good(
            id,
            owner,
            "An unexpected error occurred while running the job",
        )
        .await
    }

    /// Fails a running job at once, whatever attempts it has left.
    async fn fail_for_good(&self, id: &str, owner: &str, error: &str) -> Result<()> {
        self.db
            .execute(
                "UPDATE tollgate_job SET state = 'failed', error = $1, status_message = 'This operation failed', \
                 lease_owner = NULL, lease_expires_at = NULL, updated_on = $2 \
                 WHERE id = $3 AND lease_owner = $4 AND state = 'running'",
                &[
                    Value::from(error),
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

/// The actor of a job whose payload names none.
pub fn system() -> String {
    "system".to_owned()
}

/// Attempts of a job whose type keeps the default [`Job::ATTEMPTS`].
const DEFAULT_ATTEMPTS: i64 = 3;

const ENQUEUE_SQL: &str =
    "INSERT INTO tollgate_job (id, kind, payload, state, attempts, max_attempts, run_at, \
     percent_complete, status_message, created_by, created_on, updated_on) \
     VALUES ($1, $2, $3, 'pending', 0, $7, $4, 0, 'Pending', $5, $6, $6)";

/// [`ENQUEUE_SQL`] with the job's unique key (`$8`, see `enqueue_once`).
const ENQUEUE_ONCE_SQL: &str =
    "INSERT INTO tollgate_job (id, kind, payload, state, attempts, max_attempts, run_at, \
     percent_complete, status_message, created_by, created_on, updated_on, unique_key) \
     VALUES ($1, $2, $3, 'pending', 0, $7, $4, 0, 'Pending', $5, $6, $6, $8)";

fn enqueue_args<J: Job>(id: &str, job: &J, created_by: &str) -> Result<Vec<Value>> {
    let payload = serde_json::to_string(job)
        .map_err(|e| Error::internal(format!("job payload of {}: {e}", J::KIND)))?;
    Ok(vec![
        Value::from(id),
        Value::from(J::KIND),
        Value::Text(payload),
        Value::Int(now_millis()),
        Value::from(created_by),
        Value::Text(now_string()),
        Value::Int(J::ATTEMPTS),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize)]
    struct First {}
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Second {}

    impl Job for First {
        const KIND: &'static str = "test.same";
        type Env = ();
        async fn run(self, _: &JobContext, _: &()) -> Result<Outcome> {
            Err(Error::conflict("never run"))
        }
    }

    impl Job for Second {
        const KIND: &'static str = "test.same";
        type Env = ();
        async fn run(self, _: &JobContext, _: &()) -> Result<Outcome> {
            Err(Error::conflict("never run"))
        }
    }

    #[test]
    #[should_panic(expected = "two job types have the kind test.same")]
    fn two_job_types_cannot_share_a_kind() {
        let _ = JobRegistry::new().register::<First>().register::<Second>();
    }

    #[test]
    fn a_replaced_kind_is_registered_once() {
        let registry = JobRegistry::new()
            .register::<First>()
            .replace_with::<Second>(());
        assert_eq!(registry.kinds(), ["test.same"]);
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(super::backoff(1).as_secs(), 2);
        assert_eq!(super::backoff(2).as_secs(), 4);
        assert_eq!(super::backoff(30).as_secs(), 300);
    }
}
