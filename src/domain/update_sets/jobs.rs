//! The asynchronous update-set operations, as jobs whose progress the CI/CD
//! progress API reports. Each runs once: a refusal (unresolved problems, a
//! remote that is down) is the answer, not something to retry.

use serde_json::{json, Value as Json};

use super::remote::RemotePolicy;
use super::{back_out, commit, preview, retrieve};
use crate::error::{Error, Result};
use crate::jobs::{BoxFuture, JobContext, JobHandler, Outcome};

pub const RETRIEVE: &str = "cicd.update_set.retrieve";
pub const PREVIEW: &str = "cicd.update_set.preview";
pub const COMMIT: &str = "cicd.update_set.commit";
pub const COMMIT_MULTIPLE: &str = "cicd.update_set.commit_multiple";
pub const BACK_OUT: &str = "cicd.update_set.back_out";

fn flag(ctx: &JobContext, name: &str) -> bool {
    ctx.payload
        .get(name)
        .and_then(Json::as_bool)
        .unwrap_or(false)
}

fn actor(ctx: &JobContext) -> String {
    match ctx.payload_str("actor") {
        "" => "system".to_owned(),
        a => a.to_owned(),
    }
}

/// Retrieves an update set from a remote instance.
#[derive(Default)]
pub struct Retrieve {
    /// Where and how the server may reach remote instances, and how much
    /// one retrieval may read.
    pub policy: RemotePolicy,
}

impl JobHandler for Retrieve {
    fn kind(&self) -> &'static str {
        RETRIEVE
    }

    fn run<'a>(&'a self, ctx: &'a JobContext) -> BoxFuture<'a, Result<Outcome>> {
        Box::pin(async move {
            let set_id = ctx.payload_str("update_set_id").to_owned();
            retrieve::check_update_set_id(&set_id)?;
            let source =
                retrieve::source(ctx.db(), ctx.payload_str("update_source_id"), &self.policy)
                    .await?;
            ctx.progress(
                5,
                &format!("Reading update set {set_id} from {}", source.name),
            )
            .await?;
            // Everything read is held until the one write: bounded in count,
            // bytes (in the client) and time, so a remote that keeps
            // answering cannot grow the process without end.
            let max = self.policy.max_updates;
            let read = async {
                let set = retrieve::remote_set(&source, &set_id).await?;
                // No request for an application that is not a sys_id.
                let scope = retrieve::remote_scope(&source, &set.application).await?;
                let mut updates = Vec::new();
                loop {
                    let page =
                        retrieve::remote_updates_page(&source, &set_id, updates.len()).await?;
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
            let (set, scope, updates) = tokio::time::timeout(self.policy.total_timeout, read)
                .await
                .map_err(|_| {
                    Error::conflict(format!(
                        "Retrieving the update set {set_id} from {} did not finish within \
                         {} seconds (retrieve_timeout)",
                        source.remote.url(),
                        self.policy.total_timeout.as_secs()
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
                flag(ctx, "cleanup_retrieved"),
                &actor(ctx),
            )
            .await?;
            let mut message = format!("Retrieved update set {set_id} with {count} updates");
            if flag(ctx, "auto_preview") {
                let summary = preview::preview(&mut tx, &id, &actor(ctx)).await?;
                message.push_str(&format!("; previewed with {} problem(s)", summary.problems));
            }
            Ok(Outcome {
                tx,
                message,
                result: Some(("sys_remote_update_set".into(), id)),
            })
        })
    }
}

pub struct Preview;

impl JobHandler for Preview {
    fn kind(&self) -> &'static str {
        PREVIEW
    }

    fn run<'a>(&'a self, ctx: &'a JobContext) -> BoxFuture<'a, Result<Outcome>> {
        Box::pin(async move {
            let id = ctx.payload_str("remote_update_set_id").to_owned();
            ctx.progress(10, "Previewing").await?;
            let mut tx = ctx.begin().await?;
            let summary = preview::preview(&mut tx, &id, &actor(ctx)).await?;
            Ok(Outcome {
                tx,
                message: format!(
                    "Previewed {} updates: {} problem(s)",
                    summary.updates, summary.problems
                ),
                result: Some(("sys_remote_update_set".into(), id)),
            })
        })
    }
}

pub struct Commit;

impl JobHandler for Commit {
    fn kind(&self) -> &'static str {
        COMMIT
    }

    fn run<'a>(&'a self, ctx: &'a JobContext) -> BoxFuture<'a, Result<Outcome>> {
        Box::pin(async move {
            let id = ctx.payload_str("remote_update_set_id").to_owned();
            ctx.progress(10, "Committing").await?;
            let mut tx = ctx.begin().await?;
            let done =
                commit::commit(&mut tx, &id, flag(ctx, "force_commit"), None, &actor(ctx)).await?;
            Ok(Outcome {
                tx,
                message: format!("Committed {} updates", done.applied),
                result: Some(("sys_update_set".into(), done.update_set)),
            })
        })
    }
}

/// Commits several retrieved sets in the given order, each in its own
/// transaction; stops at the first failure, leaving the ones before it
/// committed.
pub struct CommitMultiple;

impl JobHandler for CommitMultiple {
    fn kind(&self) -> &'static str {
        COMMIT_MULTIPLE
    }

    fn run<'a>(&'a self, ctx: &'a JobContext) -> BoxFuture<'a, Result<Outcome>> {
        Box::pin(async move {
            let ids: Vec<String> = ctx
                .payload
                .get("remote_update_set_ids")
                .and_then(Json::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Json::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            let force = flag(ctx, "force_commit");
            let actor = actor(ctx);
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
        })
    }
}

pub struct BackOut;

impl JobHandler for BackOut {
    fn kind(&self) -> &'static str {
        BACK_OUT
    }

    fn run<'a>(&'a self, ctx: &'a JobContext) -> BoxFuture<'a, Result<Outcome>> {
        Box::pin(async move {
            let id = ctx.payload_str("update_set_id").to_owned();
            ctx.progress(10, "Backing out").await?;
            let mut tx = ctx.begin().await?;
            let rollback = ctx
                .payload
                .get("rollback_installs")
                .and_then(Json::as_bool)
                .unwrap_or(true);
            let done = back_out::back_out(&mut tx, &id, rollback, &actor(ctx)).await?;
            Ok(Outcome {
                tx,
                message: format!(
                    "Backed out {} update set(s), restoring {} record change(s)",
                    done.update_sets.len(),
                    done.restored
                ),
                result: Some(("sys_update_set".into(), id)),
            })
        })
    }
}

/// The payload a job of these kinds is queued with.
pub fn payload(actor: &str, fields: Json) -> Json {
    let mut p = fields;
    p["actor"] = json!(actor);
    p
}
