//! Asynchronous Digital Product Release work, run by the job queue.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::jobs::{Job, JobContext, Outcome};

use super::releases::{create_included_versions, IncludedVersion};

/// `autoCreateIncludedVersions`: the versions and their child releases.
#[derive(Debug, Serialize, Deserialize)]
pub struct CreateIncludedVersions {
    pub release: String,
    #[serde(default)]
    pub items: Vec<IncludedVersion>,
    #[serde(default = "crate::jobs::system")]
    pub actor: String,
}

impl Job for CreateIncludedVersions {
    const KIND: &'static str = "dpr.create_included_versions";
    type Env = ();

    async fn run(self, ctx: &JobContext, _: &()) -> Result<Outcome> {
        // Progress is written before the transaction starts: on SQLite
        // the transaction holds the writer lock.
        ctx.progress(
            10,
            &format!(
                "Creating {} version(s) and child releases",
                self.items.len()
            ),
        )
        .await?;
        let mut tx = ctx.begin().await?;
        let created =
            create_included_versions(&mut tx, &self.release, &self.items, &self.actor).await?;
        Ok(Outcome {
            tx,
            message: format!("Created {created} version(s) and child release(s)"),
            result: Some(("sn_dpr_model_release".into(), self.release)),
        })
    }
}
