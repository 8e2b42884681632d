//! The request queue as the endpoints use it: queueing uploads, commits
//! and exports (each a `sn_cdm_request_queue` row and a job, in one
//! transaction) and reading a request back for its status.

use serde_json::{Map, Value as Json};

use super::jobs::{self, ExportRequest, UploadRequest};
use super::{applications, changesets, commit, refusal, request_error, snapshots};
use crate::error::Result;
use crate::jobs::{Job, JobQueue};
use crate::storage::{Db, Row, Value};

/// Queues an upload of `content` (already parsed and within the limits)
/// into the application, or shared library, `request` names; returns the
/// upload id.
pub async fn queue_upload(
    db: &Db,
    job_queue: &JobQueue,
    request: &UploadRequest,
    shared_library: bool,
    content: Map<String, Json>,
    actor: &str,
) -> Result<String> {
    let mut tx = db.begin().await?;
    let kind = if shared_library {
        "shared_library"
    } else {
        "application"
    };
    let app_kind = shared_library.then_some("shared_library");
    if applications::find_active(&mut tx, &request.application, app_kind)
        .await?
        .is_none()
    {
        return Err(refusal(format!(
            "Could not find active application with name: '{}' of type {kind}",
            request.application
        )));
    }
    if let Some(number) = &request.changeset_number {
        changesets::require_open(&mut tx, number, "upload").await?;
    }
    let id = commit::queue_request(
        &mut tx,
        if request.auto_commit {
            "upload_and_commit"
        } else {
            "upload"
        },
        None,
        &serde_json::to_value(request).unwrap_or_default(),
        Some(&Json::Object(content).to_string()),
        actor,
    )
    .await?;
    jobs::Upload {
        request_id: id.clone(),
        actor: actor.to_owned(),
    }
    .enqueue_committing(tx, job_queue, actor)
    .await?;
    Ok(id)
}

/// How a commit request names its changeset.
pub enum ChangesetRef<'a> {
    Id(&'a str),
    Number(&'a str),
}

/// Asks for the commit of a changeset (see [`commit::ask`]) and queues the
/// job that runs it; returns the commit id.
pub async fn queue_commit(
    db: &Db,
    job_queue: &JobQueue,
    changeset: ChangesetRef<'_>,
    auto_validate: bool,
    publish_option: &str,
    actor: &str,
) -> Result<String> {
    let mut tx = db.begin().await?;
    let changeset = match changeset {
        ChangesetRef::Id(id) => changesets::by_id(&mut tx, id)
            .await?
            .ok_or_else(|| request_error("commit", format!("Changeset '{id}' does not exist")))?,
        ChangesetRef::Number(number) => changesets::require(&mut tx, number, "commit").await?,
    };
    let id = commit::ask(&mut tx, &changeset, auto_validate, publish_option, actor).await?;
    jobs::Commit {
        request_id: id.clone(),
        changeset_id: changeset.string("sys_id"),
        actor: actor.to_owned(),
    }
    .enqueue_committing(tx, job_queue, actor)
    .await?;
    Ok(id)
}

/// What an export request names.
pub struct NewExport {
    pub application: String,
    pub deployable: String,
    /// A snapshot by name; else the deployable's latest published one.
    pub snapshot: Option<String>,
    pub exporter: String,
    pub format: String,
    pub restrict_export: bool,
}

/// Queues an export of a snapshot of an active deployable; returns the
/// export id.
pub async fn queue_export(
    db: &Db,
    job_queue: &JobQueue,
    export: NewExport,
    actor: &str,
) -> Result<String> {
    let (app, deployable) = (&export.application, &export.deployable);
    let mut tx = db.begin().await?;
    let d = tx
        .fetch_optional(
            "SELECT d.sys_id FROM sn_cdm_deployable d JOIN sn_cdm_application a ON a.sys_id = d.cdm_app \
             WHERE a.name = $1 AND d.name = $2 AND d.state = 'active'",
            &[Value::from(app), Value::from(deployable)],
        )
        .await?
        .ok_or_else(|| refusal(format!("Could not find deployable '{deployable}' in application '{app}'")))?;
    let deployable_id = d.string("sys_id");
    let snapshot = match &export.snapshot {
        Some(name) => snapshots::by_name(&mut tx, app, deployable, name)
            .await?
            .ok_or_else(|| snapshots::not_found_by_name(name))?,
        None => snapshots::latest_published(&mut tx, &deployable_id)
            .await?
            .ok_or_else(|| {
                refusal(format!(
                    "Failed to find latest published snapshot for deployable '{deployable}'"
                ))
            })?,
    };
    let params = ExportRequest {
        snapshot_id: snapshot.string("sys_id"),
        format: export.format,
        exporter: export.exporter,
        restrict_export: export.restrict_export,
    };
    let id = commit::queue_request(
        &mut tx,
        "export",
        None,
        &serde_json::to_value(&params).unwrap_or_default(),
        None,
        actor,
    )
    .await?;
    tx.execute(
        "UPDATE sn_cdm_request_queue SET deployable = $1 WHERE sys_id = $2",
        &[Value::from(&deployable_id), Value::from(&id)],
    )
    .await?;
    jobs::Export {
        request_id: id.clone(),
        actor: actor.to_owned(),
    }
    .enqueue_committing(tx, job_queue, actor)
    .await?;
    Ok(id)
}

/// A request by id (any type), if there is one.
pub async fn find(db: &Db, id: &str) -> Result<Option<Row>> {
    let mut tx = db.begin_read().await?;
    let row = commit::request(&mut tx, id).await?;
    tx.rollback().await?;
    Ok(row)
}

/// An export request by id, if there is one.
pub async fn find_export(db: &Db, id: &str) -> Result<Option<Row>> {
    Ok(find(db, id).await?.filter(|r| r.string("type") == "export"))
}
