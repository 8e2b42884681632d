//! The policy compliance of a release's current phase, per product.

use super::phases::{
    executions, phase_policies, release_in_progress, release_products, PhaseHead, ReleaseProduct,
};
use crate::error::Result;
use crate::storage::Db;

/// One policy's result for one product.
#[derive(Clone, Debug)]
pub struct PolicyResult {
    pub policy: String,
    pub name: String,
    /// `compliant`, `non_compliant` or `not_run`.
    pub status: String,
    pub reason: String,
    pub output: String,
    pub last_run_at: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub compliant: bool,
    pub compliant_count: usize,
    pub non_compliant_count: usize,
    pub total_count: usize,
}

impl Summary {
    /// Counts results: compliant only when every policy is compliant (a
    /// policy not run yet is not).
    pub fn of<'a>(results: impl IntoIterator<Item = &'a PolicyResult>) -> Summary {
        let mut s = Summary::default();
        for r in results {
            s.total_count += 1;
            match r.status.as_str() {
                "compliant" => s.compliant_count += 1,
                "non_compliant" => s.non_compliant_count += 1,
                _ => {}
            }
        }
        s.compliant = s.compliant_count == s.total_count;
        s
    }
}

#[derive(Clone, Debug)]
pub struct ProductStatus {
    pub product: ReleaseProduct,
    pub results: Vec<PolicyResult>,
    pub summary: Summary,
}

#[derive(Clone, Debug)]
pub struct PolicyStatus {
    pub phase_name: String,
    pub summary: Summary,
    /// The latest evaluation time of any result.
    pub timestamp: Option<String>,
    pub products: Vec<ProductStatus>,
}

pub async fn policy_status(db: &Db, release_id: &str) -> Result<PolicyStatus> {
    let (_, phase) = release_in_progress(db, release_id).await?;
    let (products, timestamp) = phase_results(db, release_id, &phase).await?;
    let summary = Summary::of(products.iter().flat_map(|p| p.results.iter()));
    Ok(PolicyStatus {
        phase_name: phase.name,
        summary,
        timestamp,
        products,
    })
}

/// The latest results of each policy of `phase` for each product of the
/// release (`not_run` where none is stored), and the latest evaluation time
/// of any of them: the current phase's for the policy status, any phase's
/// for the console's timeline.
pub async fn phase_results(
    db: &Db,
    release_id: &str,
    phase: &PhaseHead,
) -> Result<(Vec<ProductStatus>, Option<String>)> {
    let products = release_products(db, release_id).await?;
    let policies = phase_policies(db, phase.template_phase.as_deref()).await?;
    let stored = executions(db, &phase.sys_id).await?;
    let mut out = Vec::with_capacity(products.len());
    let mut timestamp: Option<String> = None;
    for product in products {
        let results: Vec<PolicyResult> = policies
            .iter()
            .map(|p| {
                let e = stored.get(&(product.product.clone(), p.policy.clone()));
                let last_run_at = e.and_then(|e| e.last_run_at.clone());
                if let Some(t) = &last_run_at {
                    if timestamp.as_ref().is_none_or(|current| t > current) {
                        timestamp = Some(t.clone());
                    }
                }
                PolicyResult {
                    policy: p.policy.clone(),
                    name: p.name.clone(),
                    status: e
                        .map(|e| e.status.clone())
                        .unwrap_or_else(|| "not_run".into()),
                    reason: e.map(|e| e.reason.clone()).unwrap_or_default(),
                    output: e.map(|e| e.output.clone()).unwrap_or_default(),
                    last_run_at,
                }
            })
            .collect();
        let summary = Summary::of(&results);
        out.push(ProductStatus {
            product,
            results,
            summary,
        });
    }
    Ok((out, timestamp))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(status: &str) -> PolicyResult {
        PolicyResult {
            policy: "p".into(),
            name: "n".into(),
            status: status.into(),
            reason: String::new(),
            output: String::new(),
            last_run_at: None,
        }
    }

    #[test]
    fn a_policy_not_run_is_not_compliant_and_not_counted_as_non_compliant() {
        let s = Summary::of(&[result("compliant"), result("not_run")]);
        assert_eq!(
            s,
            Summary {
                compliant: false,
                compliant_count: 1,
                non_compliant_count: 0,
                total_count: 2
            }
        );
        let s = Summary::of(&[result("compliant"), result("compliant")]);
        assert!(s.compliant);
        assert!(Summary::of(&[]).compliant, "nothing to check is compliant");
    }
}
