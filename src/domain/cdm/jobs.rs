//! CDM requests as jobs: commits, uploads (optionally committed) and
//! exports. A request's own outcome (completed, or error with the reason)
//! is recorded on the request, which the status endpoints read; the job
//! itself only fails when the server could not record it.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value as Json};

use super::commit::{self, finish_request};
use super::upload::{self, Options, Target};
use super::{changesets, export, snapshots};
use crate::error::{Error, ErrorKind, Result};
use crate::jobs::{Job, JobContext, Outcome};
use crate::storage::{Row, Tx, Value};

/// A CDM request run as a job: its work, and how its failure is recorded on
/// the request.
trait Request: Sync {
    fn request_id(&self) -> &str;
    /// The work, in the job's transaction; returns the job's message.
    async fn work(&self, tx: &mut Tx) -> Result<String>;
    /// Records on the request that `work` failed for its content.
    async fn record_failure(&self, tx: &mut Tx, error: Error) -> Result<()>;
}

/// Runs the request's work in a transaction; when it fails for its content,
/// the transaction is dropped and the failure recorded in a fresh one.
async fn run_request(ctx: &JobContext, request: &impl Request) -> Result<Outcome> {
    let mut tx = ctx.begin().await?;
    match request.work(&mut tx).await {
        Ok(message) => Ok(Outcome {
            tx,
            message,
            result: Some((
                "sn_cdm_request_queue".into(),
                request.request_id().to_owned(),
            )),
        }),
        Err(error) if error.kind == ErrorKind::Internal => Err(error),
        Err(error) => {
            tx.rollback().await?;
            let mut tx = ctx.begin().await?;
            let message = error.message.clone();
            request.record_failure(&mut tx, error).await?;
            Ok(Outcome {
                tx,
                message,
                result: None,
            })
        }
    }
}

/// Commits a changeset for its commit request.
#[derive(Debug, Serialize, Deserialize)]
pub struct Commit {
    pub request_id: String,
    pub changeset_id: String,
    pub actor: String,
}

impl Request for Commit {
    fn request_id(&self) -> &str {
        &self.request_id
    }

    async fn work(&self, tx: &mut Tx) -> Result<String> {
        commit::run_request(tx, &self.request_id, &self.changeset_id, &self.actor).await
    }

    async fn record_failure(&self, tx: &mut Tx, error: Error) -> Result<()> {
        commit::record_failure(tx, &self.request_id, &self.changeset_id, &error).await
    }
}

impl Job for Commit {
    const KIND: &'static str = "cdm.commit";
    type Env = ();

    async fn run(self, ctx: &JobContext, _: &()) -> Result<Outcome> {
        run_request(ctx, &self).await
    }
}

/// The parameters of an upload request.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct UploadRequest {
    pub application: String,
    pub changeset_number: Option<String>,
    pub target: Target,
    pub name_path: Vec<String>,
    pub options: Options,
    pub auto_commit: bool,
    pub auto_validate: bool,
    pub publish_option: String,
}

/// Runs an upload request (its parameters and document are stored on the
/// request).
#[derive(Debug, Serialize, Deserialize)]
pub struct Upload {
    pub request_id: String,
    pub actor: String,
}

impl Request for Upload {
    fn request_id(&self) -> &str {
        &self.request_id
    }

    async fn work(&self, tx: &mut Tx) -> Result<String> {
        upload_request(tx, &self.request_id, &self.actor).await
    }

    async fn record_failure(&self, tx: &mut Tx, error: Error) -> Result<()> {
        finish_request(
            tx,
            &self.request_id,
            Ok(Json::String(format!(
                "Error encountered during execution of request.\n{}",
                error.message
            ))),
        )
        .await?;
        tx.execute(
            "UPDATE sn_cdm_request_queue SET state = 'error', errors = $1 WHERE sys_id = $2",
            &[Value::Text(error.message), Value::from(&self.request_id)],
        )
        .await?;
        Ok(())
    }
}

impl Job for Upload {
    const KIND: &'static str = "cdm.upload";
    type Env = ();

    async fn run(self, ctx: &JobContext, _: &()) -> Result<Outcome> {
        run_request(ctx, &self).await
    }
}

async fn upload_request(tx: &mut Tx, request_id: &str, actor: &str) -> Result<String> {
    let request = commit::request(tx, request_id).await?.ok_or_else(|| {
        crate::error::Error::conflict(format!("the request {request_id} no longer exists"))
    })?;
    let params: UploadRequest = serde_json::from_str(&request.string("parameters"))
        .map_err(|e| crate::error::Error::internal(format!("upload parameters: {e}")))?;
    // Stored encrypted (sn_cdm_request_queue.payload is a secret column):
    // the document may hold values of secure nodes.
    let binding = crate::secrets::Binding::new("sn_cdm_request_queue", "payload", request_id);
    let document = crate::secrets::decrypt(&mut *tx, &request.string("payload"), &binding).await?;
    let content: Map<String, Json> = serde_json::from_str(&document).unwrap_or_default();
    let app = super::applications::find_active(tx, &params.application, None)
        .await?
        .ok_or_else(|| {
            super::refusal(format!(
                "Could not find active application with name: '{}'",
                params.application
            ))
        })?;
    let changeset = match &params.changeset_number {
        Some(number) => changesets::require_open(tx, number, "upload").await?,
        None => {
            changesets::create(
                tx,
                &changesets::NewChangeset {
                    application: &params.application,
                    shared_library: app.string("type") == "shared_library",
                    description: Some("Created for an upload"),
                },
                actor,
            )
            .await?
        }
    };
    let changeset_id = changeset.string("sys_id");
    tx.execute(
        "UPDATE sn_cdm_request_queue SET changeset = $1 WHERE sys_id = $2",
        &[
            crate::storage::Value::from(&changeset_id),
            crate::storage::Value::from(request_id),
        ],
    )
    .await?;
    let changes = upload::apply(
        tx,
        &upload::Destination {
            app: &app.string("sys_id"),
            root_main_id: app.int("root_main_id").unwrap_or_default(),
            changeset: &changeset_id,
            target: &params.target,
            name_path: &params.name_path,
        },
        &content,
        &params.options,
        actor,
    )
    .await?;
    let mut message = format!(
        "Uploaded {changes} node change(s) into {}",
        changeset.string("number")
    );
    if params.auto_commit {
        tx.execute(
            "UPDATE sn_cdm_changeset SET auto_validate = $1, publish_option = $2 WHERE sys_id = $3",
            &[
                crate::storage::Value::Bool(params.auto_validate),
                crate::storage::Value::from(&params.publish_option),
                crate::storage::Value::from(&changeset_id),
            ],
        )
        .await?;
        match commit::commit(tx, &changeset_id, actor).await? {
            Ok(done) => message.push_str(&format!(
                "; committed with {} snapshot(s)",
                done.snapshots.len()
            )),
            Err(conflicts) => {
                let cs = changesets::by_id(tx, &changeset_id).await?.expect("exists");
                finish_request(
                    tx,
                    request_id,
                    Err(format!(
                        "Changeset '{}' is blocked: {conflicts} conflict(s)",
                        cs.string("number")
                    )),
                )
                .await?;
                return Ok(message);
            }
        }
    }
    let cs = changesets::by_id(tx, &changeset_id).await?.expect("exists");
    finish_request(tx, request_id, Ok(changesets::summary(&cs, true))).await?;
    Ok(message)
}

/// The parameters of an export request.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct ExportRequest {
    pub snapshot_id: String,
    pub format: String,
    pub exporter: String,
    pub restrict_export: bool,
}

/// Runs an export request (its parameters are stored on the request).
#[derive(Debug, Serialize, Deserialize)]
pub struct Export {
    pub request_id: String,
    /// Who asked; kept in the payload as queued rows have it.
    pub actor: String,
}

impl Request for Export {
    fn request_id(&self) -> &str {
        &self.request_id
    }

    async fn work(&self, tx: &mut Tx) -> Result<String> {
        export_request(tx, &self.request_id).await
    }

    async fn record_failure(&self, tx: &mut Tx, error: Error) -> Result<()> {
        finish_request(tx, &self.request_id, Err(error.message)).await
    }
}

impl Job for Export {
    const KIND: &'static str = "cdm.export";
    type Env = ();

    async fn run(self, ctx: &JobContext, _: &()) -> Result<Outcome> {
        run_request(ctx, &self).await
    }
}

async fn export_request(tx: &mut Tx, request_id: &str) -> Result<String> {
    let request = commit::request(tx, request_id).await?.ok_or_else(|| {
        crate::error::Error::conflict(format!("the request {request_id} no longer exists"))
    })?;
    let params: ExportRequest = serde_json::from_str(&request.string("parameters"))
        .map_err(|e| crate::error::Error::internal(format!("export parameters: {e}")))?;
    let snapshot: Row = snapshots::require(tx, &params.snapshot_id, "export").await?;
    let validation = snapshot.string("validation");
    if params.restrict_export && validation != "passed" && validation != "passed_with_exception" {
        let result = json!({
            "execution_id": request_id,
            "state": "failure",
            "errors": [format!(
                "Snapshot '{}' has not passed validation. All snapshots of deployable '/{}/deployables/{}' are required to pass validation",
                snapshot.string("name"), snapshot.string("app_name"), snapshot.string("deployable_name")
            )],
        });
        finish_request(tx, request_id, Ok(json!({"failed": result}))).await?;
        return Ok("export refused: snapshot not validated".into());
    }
    let config: Map<String, Json> =
        serde_json::from_str(&snapshot.string("content")).unwrap_or_default();
    let rendered = export::render(&params.format, &snapshot.string("deployable_name"), &config)?;
    finish_request(
        tx,
        request_id,
        Ok(json!({"content": rendered, "snapshot": snapshot.string("name"), "format": params.format})),
    )
    .await?;
    Ok(format!("Exported {}", snapshot.string("name")))
}
