//! `POST /api/tollgate/policy/eval`: tries a policy against an input
//! document, as `tollgate policy eval POLICY INPUT` does on the command line
//! (the same domain function, so the same check, sandbox and limits), for
//! those who may author policies.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value as Json_};

use super::endpoint::Endpoint;
use super::extract::{Authorized, JsonObject, RoleSet};
use crate::app::AppState;
use crate::domain::policy_trial;
use crate::error::{Error, Result};
use crate::identity::roles;

/// The endpoints, below `/api/tollgate[/{version}]`.
pub fn endpoints() -> Vec<Endpoint> {
    vec![Endpoint::post("/policy/eval", eval)
        .summary("Try a policy: {\"policy\": REGO, \"input\": {...}} answers the verdict (compliant, reason, output) as `tollgate policy eval` prints it; a policy that would be refused on save is a 400")
        .schema("PolicyEval")]
}

/// Who may try policies: those who may write the Policy table
/// (`sn_pace_policy`'s write roles), and admin.
pub struct PolicyAuthors;
impl RoleSet for PolicyAuthors {
    const ANY_OF: &'static [&'static str] = &[roles::DPR_RELEASE_ADMIN];
}

/// `POST /api/tollgate/policy/eval` with `{"policy": "<rego>", "input":
/// {...}}`; answers `{"result": {"compliant", "reason", "output"}}`.
pub async fn eval(
    State(_state): State<AppState>,
    _auth: Authorized<PolicyAuthors>,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    let source = match body.get("policy") {
        None | Some(Json_::Null) => return Err(Error::missing("policy")),
        Some(Json_::String(source)) => source,
        Some(_) => return Err(Error::wrong_type("policy", "a string")),
    };
    let input = body.get("input").ok_or_else(|| Error::missing("input"))?;
    let verdict = policy_trial::try_policy(source, input).await?;
    Ok(Json(json!({ "result": verdict })).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_authors_are_those_who_may_write_the_policy_table() {
        let table = crate::registry::table("sn_pace_policy").expect("the Policy table");
        assert_eq!(PolicyAuthors::ANY_OF, table.write_roles);
    }
}
