//! Policy runs: every policy mapped to the current phase, evaluated for every
//! product of the release, asynchronously through the job queue. The
//! results are written in the job's one transaction.

use serde_json::{json, Value as Json};

use super::phases::{
    phase_policies, release_in_progress, release_products, PhasePolicy, ReleaseProduct,
};
use crate::error::{Error, Result};
use crate::ids::new_sys_id;
use crate::jobs::{Job, JobContext, JobQueue, Outcome};
use crate::policy::Verdict;
use crate::storage::{Db, Row, Value};
use crate::time::now_string;

/// Schedules a run for the release's current phase; the release and the
/// phase must be In Progress. Returns the job id.
pub async fn schedule(db: &Db, jobs: &JobQueue, release_id: &str, actor: &str) -> Result<String> {
    let (_, phase) = release_in_progress(db, release_id).await?;
    let job = RunPolicies {
        release: release_id.to_owned(),
        phase: phase.sys_id,
        actor: actor.to_owned(),
    };
    job.enqueue(jobs, actor).await
}

fn nullable(row: &Row, name: &str) -> Json {
    row.text(name).map(Json::String).unwrap_or(Json::Null)
}

/// The parts of the input document shared by every product of the run.
async fn shared_input(
    db: &Db,
    release_id: &str,
    phase_id: &str,
) -> Result<(Json, Json, Json, Json, Json)> {
    let release = db
        .fetch_optional(
            "SELECT sys_id, name, state, product, version, owner, template, process_type, planned_start, planned_end, \
             readiness_target, validates_version FROM sn_dpr_model_release WHERE sys_id = $1",
            &[Value::from(release_id)],
        )
        .await?
        .ok_or_else(|| Error::invalid("release", "the release no longer exists"))?;
    let phase = db
        .fetch_optional(
            "SELECT sys_id, name, \"order\", state, planned_start, planned_end FROM sn_dpr_model_release_phase WHERE sys_id = $1",
            &[Value::from(phase_id)],
        )
        .await?
        .ok_or_else(|| Error::invalid("phase", "the phase no longer exists"))?;
    let release_doc = json!({
        "sys_id": release.string("sys_id"),
        "name": release.string("name"),
        "state": release.string("state"),
        "product": release.string("product"),
        "version": nullable(&release, "version"),
        "owner": release.string("owner"),
        "template": nullable(&release, "template"),
        "process_type": release.text("process_type").unwrap_or_else(|| "timeline".into()),
        "planned_start": nullable(&release, "planned_start"),
        "planned_end": nullable(&release, "planned_end"),
        "readiness_target": nullable(&release, "readiness_target"),
        "validates_version": release.bool("validates_version"),
    });
    let phase_doc = json!({
        "sys_id": phase.string("sys_id"),
        "name": phase.string("name"),
        "order": phase.int("order").unwrap_or(0),
        "state": phase.string("state"),
        "planned_start": nullable(&phase, "planned_start"),
        "planned_end": nullable(&phase, "planned_end"),
    });
    let id = [Value::from(release_id)];
    let enhancements: Vec<Json> = db
        .fetch_all(
            "SELECT sys_id, number, name, state FROM sn_dpr_model_product_enhancement WHERE \"release\" = $1 ORDER BY number",
            &id,
        )
        .await?
        .iter()
        .map(|e| json!({"sys_id": e.string("sys_id"), "number": e.string("number"), "short_description": e.string("name"), "state": e.string("state")}))
        .collect();
    let tasks: Vec<Json> = db
        .fetch_all(
            "SELECT t.sys_id, t.sys_class_name, t.number, t.short_description, t.state, t.active \
             FROM sn_dpr_model_release_related_task r JOIN task t ON t.sys_id = r.task \
             WHERE r.\"release\" = $1 ORDER BY t.number",
            &id,
        )
        .await?
        .iter()
        .map(|t| {
            let closed = matches!(t.string("state").as_str(), "closed" | "cancelled");
            json!({"sys_id": t.string("sys_id"), "table": t.string("sys_class_name"), "number": t.string("number"),
                   "short_description": t.string("short_description"), "state": if closed { "closed" } else { "open" },
                   "active": t.bool("active")})
        })
        .collect();
    let key_dates: Vec<Json> = db
        .fetch_all(
            "SELECT sys_id, name, type, state, due_date FROM sn_dpr_model_release_key_date WHERE \"release\" = $1 ORDER BY due_date",
            &id,
        )
        .await?
        .iter()
        .map(|k| json!({"sys_id": k.string("sys_id"), "name": k.string("name"), "type": k.string("type"), "state": k.string("state"), "due_date": k.string("due_date")}))
        .collect();
    Ok((
        release_doc,
        phase_doc,
        Json::Array(enhancements),
        Json::Array(tasks),
        Json::Array(key_dates),
    ))
}

/// A product's part of the input document: its class and
/// `{"product": {...}, "version": ...}`.
async fn product_input(db: &Db, p: &ReleaseProduct) -> Result<(String, Json)> {
    let class = db
        .fetch_optional(
            "SELECT sys_class_name FROM cmdb_model WHERE sys_id = $1",
            &[Value::from(&p.product)],
        )
        .await?
        .map(|r| r.string("sys_class_name"))
        .unwrap_or_default();
    let version = match &p.version {
        Some(v) => json!({"sys_id": v, "name": p.version_name}),
        None => Json::Null,
    };
    let doc = json!({"product": {"sys_id": p.product, "name": p.product_name, "class": class}, "version": version});
    Ok((class, doc))
}

/// The input document a policy run of the release's current phase gives a
/// policy for the release's first product: what the console's dry run of
/// an edited policy evaluates. The release must be In Progress.
pub async fn trial_input(db: &Db, release_id: &str) -> Result<Json> {
    let (_, phase) = release_in_progress(db, release_id).await?;
    let (release, phase, enhancements, tasks, key_dates) =
        shared_input(db, release_id, &phase.sys_id).await?;
    let mut input = json!({"release": release, "phase": phase, "enhancements": enhancements, "tasks": tasks, "key_dates": key_dates});
    let products = release_products(db, release_id).await?;
    if let Some(p) = products.first() {
        let (_, doc) = product_input(db, p).await?;
        if let (Some(obj), Some(extra)) = (input.as_object_mut(), doc.as_object()) {
            for (k, v) in extra {
                obj.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(input)
}

/// Evaluates every (product, policy) pair in the policy sandbox (off this
/// process, bounded in time and memory); compile errors and crossed limits
/// count as failed evaluations.
async fn evaluate_all(
    products: &[(ReleaseProduct, String, Json)],
    policies: &[PhasePolicy],
    base: &Json,
) -> Vec<(String, String, Verdict)> {
    let sandbox = crate::policy::sandbox::global();
    let mut out = Vec::with_capacity(products.len() * policies.len());
    for (product, _, product_input) in products {
        let mut input = base.clone();
        if let (Some(obj), Some(extra)) = (input.as_object_mut(), product_input.as_object()) {
            for (k, v) in extra {
                obj.insert(k.clone(), v.clone());
            }
        }
        for policy in policies {
            let verdict = sandbox.evaluate(&policy.rego, &input).await;
            out.push((product.product.clone(), policy.policy.clone(), verdict));
        }
    }
    out
}

/// Runs the policies of one release phase.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct RunPolicies {
    pub release: String,
    pub phase: String,
    #[serde(default = "crate::jobs::system")]
    pub actor: String,
}

impl Job for RunPolicies {
    const KIND: &'static str = "dpr.run_policies";
    type Env = ();

    async fn run(self, ctx: &JobContext, _: &()) -> Result<Outcome> {
        let RunPolicies {
            release: release_id,
            phase: phase_id,
            actor,
        } = self;
        let db = ctx.db();
        let template_phase = db
            .fetch_optional(
                "SELECT template_phase FROM sn_dpr_model_release_phase WHERE sys_id = $1",
                &[Value::from(&phase_id)],
            )
            .await?
            .and_then(|r| r.text("template_phase"));
        let products = release_products(db, &release_id).await?;
        let policies = phase_policies(db, template_phase.as_deref()).await?;
        ctx.progress(
            10,
            &format!(
                "Evaluating {} policies for {} products",
                policies.len(),
                products.len()
            ),
        )
        .await?;
        let (release, phase, enhancements, tasks, key_dates) =
            shared_input(db, &release_id, &phase_id).await?;
        let base = json!({"release": release, "phase": phase, "enhancements": enhancements, "tasks": tasks, "key_dates": key_dates});
        let mut per_product = Vec::with_capacity(products.len());
        for p in products {
            let (class, doc) = product_input(db, &p).await?;
            per_product.push((p, class, doc));
        }
        let verdicts = evaluate_all(&per_product, &policies, &base).await;
        ctx.progress(80, "Recording results").await?;
        let now = now_string();
        let mut tx = ctx.begin().await?;
        for (product, policy, verdict) in &verdicts {
            let status = if verdict.compliant {
                "compliant"
            } else {
                "non_compliant"
            };
            tx.execute(
                "INSERT INTO sn_dpr_model_policy_execution (sys_id, sys_created_on, sys_created_by, sys_updated_on, \
                 sys_updated_by, sys_mod_count, \"release\", release_phase, product, version, policy, status, reason, output, last_run_at) \
                 VALUES ($1, $2, $3, $2, $3, 0, $4, $5, $6, \
                    (SELECT version FROM sn_dpr_model_release WHERE (sys_id = $4 OR primary_release = $4) AND product = $6 LIMIT 1), \
                    $7, $8, $9, $10, $2) \
                 ON CONFLICT (release_phase, product, policy) DO UPDATE SET status = $8, reason = $9, output = $10, \
                    last_run_at = $2, sys_updated_on = $2, sys_updated_by = $3, \
                    sys_mod_count = sn_dpr_model_policy_execution.sys_mod_count + 1",
                &[
                    Value::Text(new_sys_id()),
                    Value::Text(now.clone()),
                    Value::from(&actor),
                    Value::from(&release_id),
                    Value::from(&phase_id),
                    Value::from(product),
                    Value::from(policy),
                    Value::from(status),
                    Value::from(&verdict.reason),
                    Value::from(&verdict.output),
                ],
            )
            .await?;
        }
        let compliant = verdicts.iter().filter(|(_, _, v)| v.compliant).count();
        Ok(Outcome {
            tx,
            message: format!(
                "{} policy evaluations: {compliant} compliant, {} non-compliant",
                verdicts.len(),
                verdicts.len() - compliant
            ),
            result: Some(("sn_dpr_model_release".into(), release_id)),
        })
    }
}
