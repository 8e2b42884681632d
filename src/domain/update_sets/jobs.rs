//! The asynchronous update-set operations, as jobs whose progress the CI/CD
//! progress API reports. Each runs once (`ATTEMPTS = 1`): a refusal
//! (unresolved problems, a remote that is down) is the answer, not something
//! to retry.

use serde::{Deserialize, Serialize};

use super::remote::RemotePolicy;
use super::{back_out, commit, preview, retrieve};
use crate::error::{Error, Result};
use crate::jobs::{system, Job, JobContext, Outcome};

fn yes() -> bool {
    true
}

/// Retrieves an update set from a remote instance. Runs with the server's
/// [`RemotePolicy`]: where and how it may reach remote instances, and how
/// much one retrieval may read.
#[derive(Debug, Serialize, Deserialize)]
pub struct Retrieve {
    pub update_set_id: String,
    pub update_source_id: String,
    #[serde(default)]
    pub auto_preview: bool,
    #[serde(default)]
    pub cleanup_retrieved: bool,
    #[serde(default = "system")]
    pub actor: String,
}

impl Job for Retrieve {
    const KIND: &'static str = "cicd.update_set.retrieve";
    const ATTEMPTS: i64 = 1;
    type Env = RemotePolicy;

    async fn run(self, ctx: &JobContext, policy: &RemotePolicy) -> Result<Outcome> {
        let set_id = self.update_set_id;
        retrieve::check_update_set_id(&set_id)?;
        let source = retrieve::source(ctx.db(), &self.update_source_id, policy).await?;
        ctx.progress(
            5,
            &format!("Reading update set {set_id} from {}", source.name),
        )
        .await?;
        // Everything read is held until the one write: bounded in count,
        // bytes (in the client) and time, so a remote that keeps
        // answering cannot grow the process without end.
        let max = policy.max_updates;
        let read = async {
            let set = retrieve::remote_set(&source, &set_id).await?;
            // No request for an application that is not a sys_id.
            let scope = retrieve::remote_scope(&source, &set.application).await?;
            let mut updates = Vec::new();
            loop {
                let page = retrieve::remote_updates_page(&source, &set_id, updates.len()).await?;
                if updates.len() + page.len() > max {
                    return Err(Error::conflict(format!(
                        "The update set {set_id} on {} holds more than the {max} updates \
                         one retrieval may read (retrieve_max_updates)",
                        source.remote.url()
                    )));
                }
                let short = page.len() < retrieve::PAGE_SIZE;
                updates.extend(page);
                // The total is unknown until the last page: approach 80 %
                // (the rest is writing) without ever going back.
                let page = retrieve::PAGE_SIZE as i64;
                let percent = 80 - 70 * page / (page + updates.len() as i64);
                ctx.progress(percent, &format!("Read {} updates", updates.len()))
                    .await?;
                if short {
                    break;
                }
            }
            Ok::<_, Error>((set, scope, updates))
        };
        let (set, scope, updates) = tokio::time::timeout(policy.total_timeout, read)
            .await
            .map_err(|_| {
                Error::conflict(format!(
                    "Retrieving the update set {set_id} from {} did not finish within \
                     {} seconds (retrieve_timeout)",
                    source.remote.url(),
                    policy.total_timeout.as_secs()
                ))
            })??;
        let count = updates.len();
        let mut tx = ctx.begin().await?;
        let id = retrieve::store(
            &mut tx,
            &source,
            retrieve::Retrieved {
                remote_set_id: set_id.clone(),
                set,
                scope,
                updates,
            },
            self.cleanup_retrieved,
            &self.actor,
        )
        .await?;
        let mut message = format!("Retrieved update set {set_id} with {count} updates");
        if self.auto_preview {
            let summary = preview::preview(&mut tx, &id, &self.actor).await?;
            message.push_str(&format!("; previewed with {} problem(s)", summary.problems));
        }
        Ok(Outcome {
            tx,
            message,
            result: Some(("sys_remote_update_set".into(), id)),
        })
    }
}

/// Previews a retrieved update set.
#[derive(Debug, Serialize, Deserialize)]
pub struct Preview {
    pub remote_update_set_id: String,
    #[serde(default = "system")]
    pub actor: String,
}

impl Job for Preview {
    const KIND: &'static str = "cicd.update_set.preview";
    const ATTEMPTS: i64 = 1;
    type Env = ();

    async fn run(self, ctx: &JobContext, _: &()) -> Result<Outcome> {
        let id = self.remote_update_set_id;
        ctx.progress(10, "Previewing").await?;
        let mut tx = ctx.begin().await?;
        let summary = preview::preview(&mut tx, &id, &self.actor).await?;
        Ok(Outcome {
            tx,
            message: format!(
                "Previewed {} updates: {} problem(s)",
                summary.updates, summary.problems
            ),
            result: Some(("sys_remote_update_set".into(), id)),
        })
    }
}

/// Commits a retrieved update set.
#[derive(Debug, Serialize, Deserialize)]
pub struct Commit {
    pub remote_update_set_id: String,
    #[serde(default)]
    pub force_commit: bool,
    #[serde(default = "system")]
    pub actor: String,
}

impl Job for Commit {
    const KIND: &'static str = "cicd.update_set.commit";
    const ATTEMPTS: i64 = 1;
    type Env = ();

    async fn run(self, ctx: &JobContext, _: &()) -> Result<Outcome> {
        let id = self.remote_update_set_id;
        ctx.progress(10, "Committing").await?;
        let mut tx = ctx.begin().await?;
        let done = commit::commit(&mut tx, &id, self.force_commit, None, &self.actor).await?;
        Ok(Outcome {
            tx,
            message: format!("Committed {} updates", done.applied),
            result: Some(("sys_update_set".into(), done.update_set)),
        })
    }
}

/// Commits several retrieved sets in the given order, each in its own
/// transaction; stops at the first failure, leaving the ones before it
/// committed.
#[derive(Debug, Serialize, Deserialize)]
pub struct CommitMultiple {
    #[serde(default)]
    pub remote_update_set_ids: Vec<String>,
    #[serde(default)]
    pub force_commit: bool,
    #[serde(default = "system")]
    pub actor: String,
}

impl Job for CommitMultiple {
    const KIND: &'static str = "cicd.update_set.commit_multiple";
    const ATTEMPTS: i64 = 1;
    type Env = ();

    async fn run(self, ctx: &JobContext, _: &()) -> Result<Outcome> {
        let CommitMultiple {
            remote_update_set_ids: ids,
            force_commit: force,
            actor,
        } = self;
        let total = ids.len().max(1) as i64;
        let mut done: Vec<String> = Vec::new();
        let mut last_local = None;
        for (i, id) in ids.iter().enumerate() {
            ctx.progress(
                i as i64 * 100 / total,
                &format!("Committing {id} ({} of {total})", i + 1),
            )
            .await?;
            let mut tx = ctx.begin().await?;
            let result = async {
                if force && commit::is_committed(&mut tx, id).await? {
                    return Ok(None);
                }
                commit::commit(&mut tx, id, force, Some(&ctx.id), &actor)
                    .await
                    .map(Some)
            }
            .await;
            match result {
                Ok(committed) => {
                    tx.commit().await?;
                    if let Some(c) = committed {
                        last_local = Some(c.update_set);
                    }
                    done.push(id.clone());
                }
                Err(err) => {
                    tx.rollback().await?;
                    let before = if done.is_empty() {
                        "nothing was committed".to_owned()
                    } else {
                        format!("committed before it: {}", done.join(", "))
                    };
                    return Err(Error::new(
                        err.kind,
                        format!("Failed to commit {id} ({before}): {}", err.message),
                    ));
                }
            }
        }
        let tx = ctx.begin().await?;
        Ok(Outcome {
            tx,
            message: format!(
                "Committed {} update set(s) in order: {}",
                done.len(),
                done.join(", ")
            ),
            result: last_local.map(|id| ("sys_update_set".into(), id)),
        })
    }
}

/// Backs out a committed update set (with `rollback_installs`, the whole
/// commitMultiple batch it came in).
#[derive(Debug, Serialize, Deserialize)]
pub struct BackOut {
    pub update_set_id: String,
    #[serde(default = "yes")]
    pub rollback_installs: bool,
    #[serde(default = "system")]
    pub actor: String,
}

impl Job for BackOut {
    const KIND: &'static str = "cicd.update_set.back_out";
    const ATTEMPTS: i64 = 1;
    type Env = ();

    async fn run(self, ctx: &JobContext, _: &()) -> Result<Outcome> {
        let id = self.update_set_id;
        ctx.progress(10, "Backing out").await?;
        let mut tx = ctx.begin().await?;
        let done = back_out::back_out(&mut tx, &id, self.rollback_installs, &self.actor).await?;
        Ok(Outcome {
            tx,
            message: format!(
                "Backed out {} update set(s), restoring {} record change(s)",
                done.update_sets.len(),
                done.restored
            ),
            result: Some(("sys_update_set".into(), id)),
        })
    }
}
