//! The policy engine: Rego policies compiled once by `regorus` and evaluated
//! in-process against a JSON input document.
//!
//! A policy is one Rego v1 module. Its package is free (`package
//! tollgate.policy` is the convention in the examples); only the reserved
//! root `tollgate_engine` is refused. In that package:
//!
//! - `compliant` (required): a boolean. Undefined, or anything but a
//!   boolean, makes the evaluation fail (non-compliant, see [`evaluate`]).
//! - `reason` (optional): a string shown next to the result. When undefined it
//!   is the `violations` joined with `"; "` if the policy is non-compliant and
//!   has any, otherwise [`REASON_PASSED`] or [`REASON_FAILED`].
//! - `output` (optional): a string recorded as the execution output; empty
//!   when undefined.
//! - `violations` (optional): a set (or array) of strings.
//!
//! A `reason` or `output` that is not a string is recorded as its JSON text;
//! so is a violation that is not a string.
//!
//! How it works: [`compile`] adds the policy and a small wrapper module (in
//! package `tollgate_engine`) that gathers the four rules into one object,
//! each rule as an array of zero or one value so that an undefined rule stays
//! visible; the wrapper is compiled with `compile_with_entrypoint`, and each
//! [`evaluate`] is one `CompiledPolicy::eval_with_input`: in a release build
//! a few tens of µs for a one-line policy and about 100 µs for the second
//! worked example of `docs/POLICIES.md` (about 15 µs of either is converting
//! the input document). The engine does not look inside the input document; what a
//! release phase passes is described in `docs/POLICIES.md`.
//!
//! Every evaluation runs under a time limit, installed as regorus's
//! process-wide fallback time limit (the only limit
//! `CompiledPolicy::eval_with_input` honours): [`EVALUATION_TIME_LIMIT`], or
//! the `policy_time_limit_ms` setting in an evaluator process.
//!
//! The server itself never compiles or evaluates a policy: it asks
//! [`sandbox`], which runs these functions in evaluator processes bounded in
//! memory and time, so that no policy can take the server down.

mod cache;
mod check;
pub mod sandbox;

pub use cache::PolicyCache;

use std::fmt;
use std::num::NonZeroU32;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;
use std::time::Duration;

use regorus::utils::limits::{set_fallback_execution_timer_config, ExecutionTimerConfig};
use regorus::Value;
use serde::{Deserialize, Serialize};

/// The file name a policy's source is given in compiler and run-time messages
/// (`--> policy.rego:LINE:COLUMN`).
pub const SOURCE_NAME: &str = "policy.rego";

/// The reason recorded when a compliant policy defines no `reason`.
pub const REASON_PASSED: &str = "All checks passed";
/// The reason recorded when a non-compliant policy defines neither `reason`
/// nor any `violations`.
pub const REASON_FAILED: &str = "Policy is not compliant";
/// The reason recorded when the evaluation itself fails (a run-time error, an
/// undefined or non-boolean `compliant`, the time limit); the detail is in the
/// verdict's `output`.
pub const REASON_EVALUATION_FAILED: &str = "Policy evaluation failed";

/// The wall-clock budget of one evaluation. A policy that runs longer is
/// stopped and recorded as a failed (non-compliant) evaluation. Ordinary
/// policies take microseconds; this only guards a policy run against a runaway
/// policy.
pub const EVALUATION_TIME_LIMIT: Duration = Duration::from_secs(1);

/// The package root reserved for the wrapper module.
const ENGINE_PACKAGE: &str = "tollgate_engine";
/// The wrapper's source name, for messages about the wrapper itself.
const ENGINE_SOURCE_NAME: &str = "tollgate_engine.rego";
/// The entry point the wrapper is compiled with.
const ENGINE_ENTRYPOINT: &str = "data.tollgate_engine.verdict";

/// A policy's Rego source, compiled once and reusable from many threads
/// (cloning is cheap: the compiled form is shared).
#[derive(Clone)]
pub struct CompiledPolicy {
    compiled: regorus::CompiledPolicy,
    package: String,
}

impl CompiledPolicy {
    /// The policy's package, e.g. `tollgate.policy`.
    pub fn package(&self) -> &str {
        &self.package
    }
}

impl fmt::Debug for CompiledPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledPolicy")
            .field("package", &self.package)
            .finish_non_exhaustive()
    }
}

/// The outcome of one evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Whether the policy holds for the input.
    pub compliant: bool,
    /// A short explanation, shown next to the status.
    pub reason: String,
    /// The execution output: the policy's `output`, or the error text when the
    /// evaluation failed.
    pub output: String,
}

impl Verdict {
    /// A failed evaluation: non-compliant, with the detail as output.
    fn failed(detail: impl Into<String>) -> Self {
        Verdict {
            compliant: false,
            reason: REASON_EVALUATION_FAILED.to_string(),
            output: detail.into(),
        }
    }
}

/// Compiles and checks a policy.
///
/// `Err` carries regorus's message (with `policy.rego:LINE:COLUMN` and the
/// offending line) when the source does not parse or compile, or a message
/// naming the broken convention when it defines no `compliant` rule or uses
/// the reserved package, or one naming a called function that does not exist
/// (regorus itself would only notice at run time). Used to refuse a policy
/// when it is saved.
pub fn compile(source: &str) -> Result<CompiledPolicy, String> {
    install_time_limit();
    let mut engine = regorus::Engine::new();
    engine
        .add_policy(SOURCE_NAME.to_string(), source.to_string())
        .map_err(error_text)?;

    let components = engine
        .get_policy_package_components()
        .map_err(error_text)?
        .into_iter()
        .next()
        .map(|p| p.components)
        .unwrap_or_default();
    if components.first().map(String::as_str) == Some(ENGINE_PACKAGE) {
        return Err(format!(
            "the package `{ENGINE_PACKAGE}` is reserved by Tollgate; \
             use another package, e.g. `package tollgate.policy`"
        ));
    }
    let declares_compliant = engine
        .has_declared_rule_rooted_at(SOURCE_NAME, "compliant")
        .map_err(error_text)?;
    if !declares_compliant {
        return Err(
            "the policy does not define a `compliant` rule; every policy must define \
             `compliant` as a boolean, e.g. `default compliant := false`"
                .to_string(),
        );
    }

    if let Some(module) = engine.get_modules().first() {
        check::unknown_functions(module)?;
    }

    engine
        .add_policy(ENGINE_SOURCE_NAME.to_string(), wrapper_module(&components))
        .map_err(error_text)?;
    let compiled = engine
        .compile_with_entrypoint(&ENGINE_ENTRYPOINT.into())
        .map_err(error_text)?;
    Ok(CompiledPolicy {
        compiled,
        package: components.join("."),
    })
}

/// Evaluates a compiled policy against an input document.
///
/// Never panics. A run-time error, an exceeded [`EVALUATION_TIME_LIMIT`], or a
/// `compliant` that is undefined or not a boolean yields `compliant: false`,
/// reason [`REASON_EVALUATION_FAILED`] and the error text as `output`.
pub fn evaluate(policy: &CompiledPolicy, input: &serde_json::Value) -> Verdict {
    let input = match Value::deserialize(input) {
        Ok(v) => v,
        Err(e) => return Verdict::failed(format!("the input document is not usable: {e}")),
    };
    let result = catch_unwind(AssertUnwindSafe(|| policy.compiled.eval_with_input(input)));
    match result {
        Ok(Ok(value)) => verdict_from(&value),
        Ok(Err(e)) => Verdict::failed(error_text(e)),
        Err(panic) => {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Verdict::failed(format!("the policy engine failed: {detail}"))
        }
    }
}

/// The wrapper module: one object holding each convention rule as an array
/// of zero (undefined) or one value.
fn wrapper_module(package: &[String]) -> String {
    let mut path = String::from("data");
    for component in package {
        path.push('[');
        // A JSON string literal is a valid Rego string literal.
        path.push_str(&serde_json::Value::from(component.as_str()).to_string());
        path.push(']');
    }
    format!(
        "package {ENGINE_PACKAGE}\n\
         verdict := {{\n\
         \x20 \"compliant\": [x | x := {path}.compliant],\n\
         \x20 \"reason\": [x | x := {path}.reason],\n\
         \x20 \"output\": [x | x := {path}.output],\n\
         \x20 \"violations\": [x | x := {path}.violations],\n\
         }}\n"
    )
}

/// Reads the wrapper's object into a verdict.
fn verdict_from(value: &Value) -> Verdict {
    let compliant = match only(&value["compliant"]) {
        None => {
            return Verdict::failed(
                "`compliant` is undefined for this input; define it for every input, \
                 e.g. with `default compliant := false`",
            )
        }
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Verdict::failed(format!(
                "`compliant` must be a boolean, but it is {}",
                json_text(other)
            ))
        }
    };
    let reason = match only(&value["reason"]) {
        Some(reason) => text(reason),
        None if compliant => REASON_PASSED.to_string(),
        None => {
            let violations = only(&value["violations"])
                .map(violation_texts)
                .unwrap_or_default();
            if violations.is_empty() {
                REASON_FAILED.to_string()
            } else {
                violations.join("; ")
            }
        }
    };
    let output = only(&value["output"]).map(text).unwrap_or_default();
    Verdict {
        compliant,
        reason,
        output,
    }
}

/// The single member of a wrapper array, `None` when the rule was undefined.
fn only(value: &Value) -> Option<&Value> {
    match value {
        Value::Array(a) => a.first(),
        _ => None,
    }
}

/// The members of `violations`, as text, in the set's (sorted) order.
fn violation_texts(value: &Value) -> Vec<String> {
    match value {
        Value::Set(s) => s.iter().map(text).collect(),
        Value::Array(a) => a.iter().map(text).collect(),
        other => vec![text(other)],
    }
}

/// A string as itself, anything else as its JSON text.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.to_string(),
        other => json_text(other),
    }
}

fn json_text(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| format!("{value:?}"))
}

/// regorus's message without the leading newline its located messages carry.
fn error_text(e: anyhow::Error) -> String {
    format!("{e:#}").trim().to_string()
}

/// Installs [`EVALUATION_TIME_LIMIT`] as regorus's process-wide execution time
/// limit unless [`set_time_limit`] installed another first.
fn install_time_limit() {
    set_time_limit(EVALUATION_TIME_LIMIT);
}

/// Installs `limit` as regorus's process-wide execution time limit, the
/// only limit that reaches `CompiledPolicy::eval_with_input`. The first call
/// in a process wins.
pub fn set_time_limit(limit: Duration) {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        set_fallback_execution_timer_config(Some(ExecutionTimerConfig {
            limit,
            check_interval: NonZeroU32::new(64).unwrap_or(NonZeroU32::MIN),
        }));
    });
}

#[cfg(test)]
mod tests;
