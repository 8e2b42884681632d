//! Trying a policy against an input document without a release: what
//! `tollgate policy eval` prints and `POST /api/tollgate/policy/eval`
//! answers, computed once here. The policy is checked as a save checks it
//! and then evaluated as a policy run evaluates it, both in the policy
//! sandbox (evaluator processes under the time and memory limits), never
//! in-process.

use serde_json::Value as Json;

use crate::error::{Error, ErrorKind, Result};
use crate::policy::Verdict;

/// The largest policy source tried, in bytes.
pub const POLICY_MAX_BYTES: usize = 256 * 1024;
/// The largest input document tried, in bytes of its JSON text.
pub const INPUT_MAX_BYTES: usize = 1024 * 1024;

/// The verdict of `source` for `input`. `Err` when nothing was evaluated:
/// the policy or the input is over its limit, or the policy would be
/// refused on save (an `Invalid` error on `policy` whose detail is the
/// compiler's message). A policy that compiles
/// but errs or crosses a limit while it runs is a non-compliant verdict
/// whose `output` says why, as in a policy run.
pub async fn try_policy(source: &str, input: &Json) -> Result<Verdict> {
    if source.len() > POLICY_MAX_BYTES {
        return Err(Error::new(
            ErrorKind::PayloadTooLarge,
            format!("The policy is larger than the limit of {POLICY_MAX_BYTES} bytes"),
        )
        .with_field("policy"));
    }
    let input_size = serde_json::to_vec(input).map_or(usize::MAX, |text| text.len());
    if input_size > INPUT_MAX_BYTES {
        return Err(Error::new(
            ErrorKind::PayloadTooLarge,
            format!("The input document is larger than the limit of {INPUT_MAX_BYTES} bytes"),
        )
        .with_field("input"));
    }
    let sandbox = crate::policy::sandbox::global();
    sandbox.check(source).await.map_err(|message| {
        Error::new(
            ErrorKind::Invalid,
            format!("The policy would be refused on save: {message}"),
        )
        .with_field("policy")
        .with_detail(message)
    })?;
    Ok(sandbox.evaluate(source, input).await)
}
