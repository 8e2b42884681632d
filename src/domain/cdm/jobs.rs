//! CDM requests as jobs: commits, uploads (optionally committed) and
//! exports. A request's own outcome (completed, or error with the reason)
//! is recorded on the request, which the status endpoints read; the job
//! itself only fails when the server could not record it.

use serde_json::{json, Map, Value as Json};

use super::commit::{self, finish_request};
use super::upload::{self, Options, Target};
use super::{changesets, export, snapshots};
use crate::error::Result;
use crate::jobs::{BoxFuture, JobContext, JobHandler, Outcome};
use crate::storage::{Row, Tx};

pub const COMMIT: &str = "cdm.commit";
pub const UPLOAD: &str = "cdm.upload";
pub const EXPORT: &str = "cdm.export";

/// Runs `work` in a transaction; when it fails for its content, the
/// transaction is dropped and `on_failure` records the error in a fresh one.
async fn run_request<'a, W, F>(ctx: &'a JobContext, work: W, on_failure: F) -> Result<Outcome>
where
    W: for<'t> FnOnce(&'t mut Tx) -> BoxFuture<'t, Result<String>>,
    F: for<'t> FnOnce(&'t mut Tx, crate::error::Error) -> BoxFuture<'t, Result<()>>,
{
    let mut tx = ctx.begin().await?;
    match work(&mut tx).await {
        Ok(message) => Ok(Outcome {
            tx,
            message,
            result: Some((
                "sn_cdm_request_queue".into(),
                ctx.payload_str("request_id").to_owned(),
            )),
        }),
        Err(error) if error.kind == crate::error::ErrorKind::Internal => Err(error),
        Err(error) => {
            tx.rollback().await?;
            let mut tx = ctx.begin().await?;
            let message = error.message.clone();
            on_failure(&mut tx, error).await?;
            Ok(Outcome {
                tx,
                message,
                result: None,
            })
        }
    }
}

pub struct Commit;

impl JobHandler for Commit {
    fn kind(&self) -> &'static str {
        COMMIT
    }

    fn run<'a>(&'a self, ctx: &'a JobContext) -> BoxFuture<'a, Result<Outcome>> {
        Box::pin(async move {
            let request = ctx.payload_str("request_id").to_owned();
            let changeset = ctx.payload_str("changeset_id").to_owned();
            let actor = ctx.payload_str("actor").to_owned();
            let (r1, c1, a1) = (request.clone(), changeset.clone(), actor.clone());
            run_request(
                ctx,
                move |tx| Box::pin(async move { commit::run_request(tx, &r1, &c1, &a1).await }),
                move |tx, error| {
                    Box::pin(async move {
                        commit::record_failure(tx, &request, &changeset, &error).await
                    })
                },
            )
            .await
        })
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

pub struct Upload;

impl JobHandler for Upload {
    fn kind(&self) -> &'static str {
        UPLOAD
    }

    fn run<'a>(&'a self, ctx: &'a JobContext) -> BoxFuture<'a, Result<Outcome>> {
        Box::pin(async move {
            let request_id = ctx.payload_str("request_id").to_owned();
            let actor = ctx.payload_str("actor").to_owned();
            let (r1, a1) = (request_id.clone(), actor.clone());
            run_request(
                ctx,
                move |tx| Box::pin(async move { upload_request(tx, &r1, &a1).await }),
                move |tx, error| {
                    Box::pin(async move {
                        finish_request(tx, &request_id, Ok(Json::String(format!(
                            "Error encountered during execution of request.\n{}",
                            error.message
                        ))))
                        .await?;
                        tx.execute(
                            "UPDATE sn_cdm_request_queue SET state = 'error', errors = $1 WHERE sys_id = $2",
                            &[crate::storage::Value::Text(error.message.clone()), crate::storage::Value::from(&request_id)],
                        )
                        .await?;
                        Ok(())
                    })
                },
            )
            .await
        })
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

pub struct Export;

impl JobHandler for Export {
    fn kind(&self) -> &'static str {
        EXPORT
    }

    fn run<'a>(&'a self, ctx: &'a JobContext) -> BoxFuture<'a, Result<Outcome>> {
        Box::pin(async move {
            let request_id = ctx.payload_str("request_id").to_owned();
            let r1 = request_id.clone();
            run_request(
                ctx,
                move |tx| Box::pin(async move { export_request(tx, &r1).await }),
                move |tx, error| {
                    Box::pin(
                        async move { finish_request(tx, &request_id, Err(error.message)).await },
                    )
                },
            )
            .await
        })
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
