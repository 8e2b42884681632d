//! Worker tasks that claim and run jobs until shutdown.
//!
//! A job runs on a blocking thread of its own, not on the async workers that
//! answer requests. On SQLite a statement runs inline on the thread that
//! issues it (see `storage::sqlite`), and a job of tens of thousands of
//! statements would hold an async worker for seconds: with the server on one
//! core, every request, `/healthz` included, would wait for it.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use super::JobQueue;
use crate::time::now_millis;

/// How long an idle worker waits before looking again (it wakes at once when
/// this process enqueues a job).
const IDLE_POLL: Duration = Duration::from_millis(500);

/// How long a pool out of grace waits for its abandoned jobs to reach an
/// await point and stop, before it stops waiting for them.
const ABANDON_WAIT: Duration = Duration::from_secs(2);

/// How long shutdown waits to hand back its leases. On SQLite the statement
/// waits for the writer lock, which an abandoned job may still hold; a lease
/// not handed back simply expires.
const RELEASE_WAIT: Duration = Duration::from_secs(5);

pub struct WorkerPool {
    tasks: JoinSet<()>,
    stop: watch::Sender<bool>,
    abandon: watch::Sender<bool>,
    owner_prefix: String,
    queue: JobQueue,
}

/// Starts `count` workers; their lease owner names start with a prefix
/// unique to this process.
pub fn spawn_workers(queue: &JobQueue, count: usize) -> WorkerPool {
    let (stop, stopped) = watch::channel(false);
    let (abandon, abandoned) = watch::channel(false);
    let owner_prefix = format!("{}-", crate::ids::new_sys_id());
    let mut tasks = JoinSet::new();
    for n in 0..count {
        let queue = queue.clone();
        let owner = format!("{owner_prefix}{n}");
        let mut stopped = stopped.clone();
        let abandoned = abandoned.clone();
        tasks.spawn(async move {
            loop {
                if *stopped.borrow() {
                    break;
                }
                match queue.claim(&owner, now_millis()).await {
                    Ok(Some(job)) => {
                        let id = job.id.clone();
                        // On a thread of its own: a handler that panics fails
                        // its job instead of taking this worker down.
                        let runner = queue.clone();
                        let runtime = tokio::runtime::Handle::current();
                        let mut abandoned = abandoned.clone();
                        let run = tokio::task::spawn_blocking(move || {
                            runtime.block_on(async move {
                                let abandon = async move {
                                    let _ = abandoned.wait_for(|a| *a).await;
                                };
                                runner.execute_until(job, abandon).await
                            })
                        });
                        match run.await {
                            Ok(state) => tracing::info!(job = %id, state = state.as_str(), "job ran"),
                            Err(err) => {
                                tracing::error!(job = %id, error = %err, "job handler panicked");
                                if let Err(err) = queue.fail_panicked(&id, &owner).await {
                                    tracing::warn!(job = %id, error = %err, "could not record the failure");
                                }
                            }
                        }
                    }
                    Ok(None) => {
                        tokio::select! {
                            _ = queue.notified().notified() => {}
                            _ = tokio::time::sleep(IDLE_POLL) => {}
                            _ = stopped.changed() => {}
                        }
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "claiming a job failed");
                        tokio::time::sleep(IDLE_POLL).await;
                    }
                }
            }
        });
    }
    WorkerPool {
        tasks,
        stop,
        abandon,
        owner_prefix,
        queue: queue.clone(),
    }
}

impl WorkerPool {
    /// Stops claiming, lets running jobs finish for up to `grace`, then
    /// abandons the rest and releases their leases.
    pub async fn shutdown(mut self, grace: Duration) {
        let _ = self.stop.send(true);
        if !self.join_within(grace).await {
            // Abandoned handlers stop at their next await. One that never
            // awaits (a long run of SQLite statements) goes on on its thread
            // until the process exits; its completion is refused, as its
            // lease is handed back below (or expires).
            let _ = self.abandon.send(true);
            if !self.join_within(ABANDON_WAIT).await {
                self.tasks.abort_all();
                while self.tasks.join_next().await.is_some() {}
            }
        }
        let released =
            tokio::time::timeout(RELEASE_WAIT, self.queue.release_leases(&self.owner_prefix)).await;
        match released {
            Ok(Ok(n)) if n > 0 => tracing::info!(released = n, "released job leases"),
            Ok(Ok(_)) => {}
            Ok(Err(err)) => tracing::warn!(error = %err, "could not release job leases"),
            Err(_) => tracing::warn!("gave up handing back job leases; they expire instead"),
        }
    }

    /// Whether every worker task ended within `limit`.
    async fn join_within(&mut self, limit: Duration) -> bool {
        tokio::time::timeout(limit, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await
        .is_ok()
    }
}
