//! Worker tasks that claim and run jobs until shutdown.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use super::JobQueue;
use crate::time::now_millis;

/// How long an idle worker waits before looking again (it wakes at once when
/// this process enqueues a job).
const IDLE_POLL: Duration = Duration::from_millis(500);

pub struct WorkerPool {
    tasks: JoinSet<()>,
    stop: watch::Sender<bool>,
    owner_prefix: String,
    queue: JobQueue,
}

/// Starts `count` workers; their lease owner names start with a prefix
/// unique to this process.
pub fn spawn_workers(queue: &JobQueue, count: usize) -> WorkerPool {
    let (stop, stopped) = watch::channel(false);
    let owner_prefix = format!("{}-", crate::ids::new_sys_id());
    let mut tasks = JoinSet::new();
    for n in 0..count {
        let queue = queue.clone();
        let owner = format!("{owner_prefix}{n}");
        let mut stopped = stopped.clone();
        tasks.spawn(async move {
            loop {
                if *stopped.borrow() {
                    break;
                }
                match queue.claim(&owner, now_millis()).await {
                    Ok(Some(job)) => {
                        let id = job.id.clone();
                        // In a task of its own: a handler that panics fails
                        // its job instead of taking this worker down.
                        let runner = queue.clone();
                        match tokio::spawn(async move { runner.execute(job).await }).await {
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
        owner_prefix,
        queue: queue.clone(),
    }
}

impl WorkerPool {
    /// Stops claiming, lets running jobs finish for up to `grace`, then
    /// abandons the rest and releases their leases.
    pub async fn shutdown(mut self, grace: Duration) {
        let _ = self.stop.send(true);
        let drained = tokio::time::timeout(grace, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            self.tasks.abort_all();
            while self.tasks.join_next().await.is_some() {}
        }
        match self.queue.release_leases(&self.owner_prefix).await {
            Ok(n) if n > 0 => tracing::info!(released = n, "released job leases"),
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "could not release job leases"),
        }
    }
}
