//! Keeps a running job's lease alive while its handler works.
//!
//! A lease that is only renewed when a handler reports progress expires in
//! the middle of any job longer than the lease; another worker then takes the
//! job over, the first run's completion is refused, and the cycle repeats
//! forever. So a job's lease is renewed by a task of its own, every third of
//! the lease, for as long as the handler runs: only a job whose worker
//! stopped (the process died or hung) misses its renewals and is taken over.

use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::JobQueue;

/// How often a lease of `lease` is renewed: three times per lease, so one
/// renewal delayed by a busy database does not lose it.
pub(super) fn interval(lease: Duration) -> Duration {
    (lease / 3).max(Duration::from_millis(10))
}

/// The renewal task of one job; stops when dropped.
pub(super) struct Heartbeat {
    task: JoinHandle<()>,
    lost: Option<oneshot::Receiver<()>>,
}

impl Heartbeat {
    /// Starts renewing the lease `owner` holds on job `id`.
    pub(super) fn start(queue: &JobQueue, id: &str, owner: &str) -> Heartbeat {
        let (lost_tx, lost) = oneshot::channel();
        let queue = queue.clone();
        let (id, owner) = (id.to_owned(), owner.to_owned());
        let every = interval(queue.lease);
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                match queue.renew_lease(&id, &owner).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(job = %id, "the job's lease was taken over; stopping this run");
                        let _ = lost_tx.send(());
                        return;
                    }
                    // A database hiccup: try again at the next beat. If the
                    // lease expires meanwhile, the completion check refuses
                    // this run's effects.
                    Err(err) => {
                        tracing::warn!(job = %id, error = %err, "could not renew the job's lease")
                    }
                }
            }
        });
        Heartbeat {
            task,
            lost: Some(lost),
        }
    }

    /// Resolves when another worker took the job over (never otherwise).
    pub(super) async fn lost(&mut self) {
        if let Some(lost) = self.lost.take() {
            if lost.await.is_ok() {
                return;
            }
        }
        std::future::pending().await
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
    }
}
