//! The update-set operations as the CI/CD API asks for them: each checks
//! what it names, queues its job and answers with the job's progress. The
//! work itself runs in [`super::jobs`], which checks again under the set's
//! row lock; the checks here take no lock, so a request never waits for a
//! running commit of the same set.

use super::{back_out, jobs, preview};
use crate::error::{Error, ErrorKind, Result};
use crate::jobs::{Job, JobQueue, Progress};
use crate::storage::{Db, Value};

/// Queues `job` (which wakes a worker) and reads its progress.
async fn queue(job_queue: &JobQueue, job: impl Job, actor: &str) -> Result<Progress> {
    let id = job.enqueue(job_queue, actor).await?;
    job_queue
        .progress(&id)
        .await?
        .ok_or_else(|| Error::internal("queued job vanished"))
}

/// The remote instance a retrieval names.
pub enum Source {
    /// `update_source_id`: a `sys_update_set_source` sys_id.
    Id(String),
    /// `update_source_instance_id`: the remote instance's id.
    Instance(String),
}

/// What to retrieve (`POST /update_set/retrieve`).
pub struct RetrieveRequest {
    /// The remote update set's sys_id (checked by
    /// [`super::retrieve::check_update_set_id`]).
    pub update_set_id: String,
    /// None when the request named no remote instance.
    pub source: Option<Source>,
    pub auto_preview: bool,
    pub cleanup_retrieved: bool,
}

/// Queues the retrieval of a remote update set from a known remote
/// instance.
pub async fn retrieve(
    db: &Db,
    job_queue: &JobQueue,
    req: RetrieveRequest,
    actor: &str,
) -> Result<Progress> {
    let source = match &req.source {
        Some(Source::Id(id)) => db
            .fetch_optional(
                "SELECT sys_id FROM sys_update_set_source WHERE sys_id = $1",
                &[Value::from(id)],
            )
            .await?
            .ok_or_else(|| {
                Error::not_found("No Record found")
                    .with_detail(format!("update_source_id: no remote instance {id}"))
            })?,
        Some(Source::Instance(instance)) => db
            .fetch_optional(
                "SELECT sys_id FROM sys_update_set_source WHERE instance_id = $1",
                &[Value::from(instance)],
            )
            .await?
            .ok_or_else(|| {
                Error::not_found("No Record found").with_detail(format!(
                    "update_source_instance_id: no remote instance has instance id {instance}"
                ))
            })?,
        None => {
            return Err(Error::new(
                ErrorKind::Missing,
                "update_source_id or update_source_instance_id is required: the remote instance to retrieve from",
            )
            .with_field("update_source_id"))
        }
    };
    let job = jobs::Retrieve {
        update_set_id: req.update_set_id,
        update_source_id: source.string("sys_id"),
        auto_preview: req.auto_preview,
        cleanup_retrieved: req.cleanup_retrieved,
        actor: actor.to_owned(),
    };
    queue(job_queue, job, actor).await
}

/// The retrieved set `id` names, which must exist and not be committed
/// yet; `force_hint` adds how commitMultiple passes over committed sets.
async fn check_uncommitted(db: &Db, id: &str, force_hint: bool) -> Result<()> {
    let set = preview::find_remote_set(db, id).await?;
    if set.string("state") == "committed" {
        let hint = if force_hint {
            "; pass force_commit=true to pass over committed sets"
        } else {
            ""
        };
        return Err(Error::conflict(format!(
            "The retrieved update set {id} ({}) is already committed{hint}",
            set.string("name")
        )));
    }
    Ok(())
}

/// Queues the preview of a retrieved, uncommitted update set.
pub async fn preview(db: &Db, job_queue: &JobQueue, id: &str, actor: &str) -> Result<Progress> {
    check_uncommitted(db, id, false).await?;
    let job = jobs::Preview {
        remote_update_set_id: id.to_owned(),
        actor: actor.to_owned(),
    };
    queue(job_queue, job, actor).await
}

/// Queues the commit of a retrieved, uncommitted update set.
pub async fn commit(
    db: &Db,
    job_queue: &JobQueue,
    id: &str,
    force_commit: bool,
    actor: &str,
) -> Result<Progress> {
    check_uncommitted(db, id, false).await?;
    let job = jobs::Commit {
        remote_update_set_id: id.to_owned(),
        force_commit,
        actor: actor.to_owned(),
    };
    queue(job_queue, job, actor).await
}

/// The ids of `remote_update_set_ids` (comma-separated): at least one, at
/// most `max` (the `max_query_terms` setting), none listed twice.
pub fn remote_set_ids(list: &str, max: usize) -> Result<Vec<String>> {
    // Counted before collecting, so an oversized list allocates nothing.
    if list.split(',').filter(|s| !s.trim().is_empty()).count() > max {
        return Err(Error::invalid(
            "remote_update_set_ids",
            format!("lists more than {max} update sets"),
        ));
    }
    let ids: Vec<String> = list
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    if ids.is_empty() {
        return Err(Error::missing("remote_update_set_ids"));
    }
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    for id in &ids {
        if !seen.insert(id.as_str()) {
            return Err(Error::invalid(
                "remote_update_set_ids",
                format!("{id} is listed twice"),
            ));
        }
    }
    Ok(ids)
}

/// Queues the commit of several retrieved sets in order (`ids` from
/// [`remote_set_ids`]): each must exist, and a committed one is refused
/// unless `force_commit` (then the job passes over it).
pub async fn commit_multiple(
    db: &Db,
    job_queue: &JobQueue,
    ids: Vec<String>,
    force_commit: bool,
    actor: &str,
) -> Result<Progress> {
    for id in &ids {
        if force_commit {
            preview::find_remote_set(db, id).await?;
        } else {
            check_uncommitted(db, id, true).await?;
        }
    }
    let job = jobs::CommitMultiple {
        remote_update_set_ids: ids,
        force_commit,
        actor: actor.to_owned(),
    };
    queue(job_queue, job, actor).await
}

/// Queues the back-out of a complete update set not yet backed out.
pub async fn back_out(
    db: &Db,
    job_queue: &JobQueue,
    id: &str,
    rollback_installs: bool,
    actor: &str,
) -> Result<Progress> {
    let set = back_out::find_update_set(db, id).await?;
    if let Some(refused) = back_out::refusal(&set) {
        return Err(refused);
    }
    let job = jobs::BackOut {
        update_set_id: id.to_owned(),
        rollback_installs,
        actor: actor.to_owned(),
    };
    queue(job_queue, job, actor).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_set_ids_are_listed_once_each() {
        assert_eq!(
            remote_set_ids(" a, b ,,c", 10).unwrap(),
            vec!["a", "b", "c"]
        );
        assert!(remote_set_ids(" , ", 10).is_err());
        let twice = remote_set_ids("a,b,a", 10).unwrap_err();
        assert!(
            twice.message.contains("a is listed twice"),
            "{}",
            twice.message
        );
    }

    #[test]
    fn more_remote_set_ids_than_the_limit_are_refused() {
        assert!(remote_set_ids("a,b,c", 3).is_ok());
        let over = remote_set_ids("a,b,c,d", 3).unwrap_err();
        assert_eq!(over.field.as_deref(), Some("remote_update_set_ids"));
        assert!(over.message.contains("more than 3"), "{}", over.message);
    }
}
