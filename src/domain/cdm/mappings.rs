//! Policy mappings (`sn_cdm_pace_policy_mapping`): which Rego policies
//! validate a deployable's snapshots. Numbered by the registry (`MAP`
//! prefix, the table's counter), as a Table API insert is.

use super::refusal;
use crate::domain::records::insert_values;
use crate::error::{Error, Result};
use crate::registry;
use crate::storage::{Db, Executor, Record, Row, Tx, Value};

crate::record! {
    /// A policy mapping.
    #[derive(Clone, Debug)]
    pub struct PolicyMapping in "sn_cdm_pace_policy_mapping" {
        pub sys_id: String,
        pub number: Option<String>,
        pub policy: String,
        pub document: String,
        pub document_ref: String,
        pub description: Option<String>,
        pub state: String,
        pub input_status: Option<String>,
        pub exception_allowed: Option<String>,
        pub last_updated_by: Option<String>,
        pub sys_created_on: String,
        pub sys_created_by: String,
        pub sys_updated_on: String,
        pub sys_updated_by: String,
    }
}

/// What a mapping request names.
pub struct Target<'a> {
    pub app: &'a str,
    pub deployable: &'a str,
    pub policy: &'a str,
}

/// The active deployable and active policy a request names.
async fn resolve(tx: &mut Tx, target: &Target<'_>) -> Result<(Row, Row)> {
    let (app, deployable, policy) = (target.app, target.deployable, target.policy);
    let d = tx
        .fetch_optional(
            "SELECT d.sys_id, d.name FROM sn_cdm_deployable d JOIN sn_cdm_application a ON a.sys_id = d.cdm_app \
             WHERE a.name = $1 AND d.name = $2 AND d.state = 'active'",
            &[Value::from(app), Value::from(deployable)],
        )
        .await?
        .ok_or_else(|| refusal(format!("deployableName '{deployable}' is invalid for application '{app}'")))?;
    let p = tx
        .fetch_optional(
            "SELECT sys_id, name FROM sn_pace_policy WHERE name = $1 AND active = $2",
            &[Value::from(policy), Value::Bool(true)],
        )
        .await?
        .ok_or_else(|| refusal(format!("policyName '{policy}' is invalid")))?;
    Ok((d, p))
}

/// Maps a policy to a deployable (once); returns the mapping.
pub async fn create(db: &Db, target: &Target<'_>, actor: &str) -> Result<PolicyMapping> {
    let mut tx = db.begin().await?;
    let (d, p) = resolve(&mut tx, target).await?;
    let exists = tx
        .fetch_optional(
            "SELECT sys_id FROM sn_cdm_pace_policy_mapping WHERE document = $1 AND policy = $2",
            &[
                Value::from(d.string("sys_id")),
                Value::from(p.string("sys_id")),
            ],
        )
        .await?;
    if exists.is_some() {
        return Err(refusal(format!(
            "Policy '{}' is already mapped to deployable '{}'",
            p.string("name"),
            d.string("name")
        )));
    }
    let user = tx
        .fetch_optional(
            "SELECT sys_id FROM sys_user WHERE user_name = $1",
            &[Value::from(actor)],
        )
        .await?
        .map(|r| r.string("sys_id"));
    let table = registry::table(PolicyMapping::TABLE)
        .ok_or_else(|| Error::internal("sn_cdm_pace_policy_mapping is not registered"))?;
    let id = insert_values(
        &mut tx,
        table,
        None,
        vec![
            ("policy", Value::from(p.string("sys_id"))),
            ("document", Value::from(d.string("sys_id"))),
            ("document_ref", Value::from(d.string("sys_id"))),
            ("state", Value::from("active")),
            ("input_status", Value::from("valid")),
            ("exception_allowed", Value::from("--")),
            ("last_updated_by", Value::from(user)),
        ],
        actor,
    )
    .await?;
    let made = tx
        .fetch_record::<PolicyMapping>(
            &PolicyMapping::select_where("sys_id = $1"),
            &[Value::from(&id)],
        )
        .await?
        .ok_or_else(|| Error::internal(format!("policy mapping {id} vanished")))?;
    tx.commit().await?;
    Ok(made)
}

/// Removes the mapping of a policy to a deployable, which must exist.
pub async fn delete(db: &Db, target: &Target<'_>) -> Result<()> {
    let mut tx = db.begin().await?;
    let (d, p) = resolve(&mut tx, target).await?;
    let n = tx
        .execute(
            "DELETE FROM sn_cdm_pace_policy_mapping WHERE document = $1 AND policy = $2",
            &[
                Value::from(d.string("sys_id")),
                Value::from(p.string("sys_id")),
            ],
        )
        .await?;
    if n == 0 {
        return Err(refusal(format!(
            "policyName '{}' is not mapped to deployable '{}'",
            p.string("name"),
            d.string("name")
        )));
    }
    tx.commit().await?;
    Ok(())
}
