//! Asynchronous Digital Product Release work, run by the job queue.

use crate::error::{Error, Result};
use crate::jobs::{BoxFuture, JobContext, JobHandler, Outcome};

use super::releases::{create_included_versions, IncludedVersion, CREATE_INCLUDED_VERSIONS};

/// `autoCreateIncludedVersions`: the versions and their child releases.
pub struct CreateIncludedVersions;

impl JobHandler for CreateIncludedVersions {
    fn kind(&self) -> &'static str {
        CREATE_INCLUDED_VERSIONS
    }

    fn run<'a>(&'a self, ctx: &'a JobContext) -> BoxFuture<'a, Result<Outcome>> {
        Box::pin(async move {
            let release = ctx.payload["release"]
                .as_str()
                .ok_or_else(|| Error::internal("job payload without release"))?
                .to_owned();
            let actor = ctx.payload["actor"].as_str().unwrap_or("system").to_owned();
            let items: Vec<IncludedVersion> = ctx.payload["items"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|i| IncludedVersion {
                            product: i["product"].as_str().unwrap_or_default().to_owned(),
                            version: i["version"].as_str().unwrap_or_default().to_owned(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            // Progress is written before the transaction starts: on SQLite
            // the transaction holds the writer lock.
            ctx.progress(
                10,
                &format!("Creating {} version(s) and child releases", items.len()),
            )
            .await?;
            let mut tx = ctx.begin().await?;
            let created = create_included_versions(&mut tx, &release, &items, &actor).await?;
            Ok(Outcome {
                tx,
                message: format!("Created {created} version(s) and child release(s)"),
                result: Some(("sn_dpr_model_release".into(), release)),
            })
        })
    }
}
