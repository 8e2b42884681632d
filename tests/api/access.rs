//! The 401/403 matrix, generated from the endpoint lists the router is built
//! from (`tollgate::http::families()`): every form of every declared
//! endpoint (versioned, unversioned, aliases, trailing slashes) refuses a
//! caller without credentials with 401, and a caller holding every role but
//! the endpoint's with 403, each in its family's envelope. An endpoint added
//! to a list is in the matrix without a line here.
//!
//! The tests run on a multi-thread runtime: the harness drops a test's
//! PostgreSQL schema from `Drop`, blocking the test's thread.

use std::collections::HashMap;

use axum::http::StatusCode;

use tollgate::http::endpoint::{Access, ApiFamily};
use tollgate::http::envelope::Family as Envelope;
use tollgate::http::families;
use tollgate::identity::roles;

use crate::helpers::{Auth, TestApp, TestResponse};

/// Asserts `res` is a refusal with `status` in `family`'s envelope; for a
/// 403 in a ServiceNow-style envelope, that its detail names `allowed`.
fn assert_refusal(
    family: &ApiFamily,
    what: &str,
    res: &TestResponse,
    status: StatusCode,
    allowed: Option<&[&str]>,
) {
    assert_eq!(res.status, status, "{what}: {}", res.text);
    match family.envelope {
        Envelope::ServiceDesk => {
            let code = if status == StatusCode::UNAUTHORIZED {
                4022
            } else {
                4002
            };
            let rs = &res.body["response_status"];
            assert_eq!(rs["status"], "failed", "{what}: {}", res.text);
            assert_eq!(
                rs["messages"][0]["status_code"], code,
                "{what}: {}",
                res.text
            );
            assert!(res.body.get("error").is_none(), "{what}: {}", res.text);
        }
        Envelope::ServiceNow
        | Envelope::DigitalProductRelease
        | Envelope::ConfigurationData
        | Envelope::Other => {
            assert_eq!(res.body["status"], "failure", "{what}: {}", res.text);
            assert!(
                res.body["error"]["message"].is_string(),
                "{what}: {}",
                res.text
            );
            assert!(
                res.body.get("result").is_none(),
                "{what}: refusals of the caller are not inside result: {}",
                res.text
            );
            if status == StatusCode::UNAUTHORIZED {
                assert_eq!(
                    res.header("www-authenticate"),
                    Some("Basic realm=\"Tollgate\""),
                    "{what}"
                );
            }
            if let Some(allowed) = allowed {
                let detail = res.body["error"]["detail"].as_str().unwrap_or_default();
                let named: Vec<&str> = if allowed.is_empty() {
                    vec!["admin"]
                } else {
                    allowed.to_vec()
                };
                for role in named {
                    assert!(
                        detail.contains(role),
                        "{what}: the refusal names {role}: {}",
                        res.text
                    );
                }
            }
        }
    }
}

/// Every role the server knows except `allowed` and admin.
fn every_role_but(allowed: &[&str]) -> Vec<&'static str> {
    roles::ALL
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| *name != roles::ADMIN && !allowed.contains(name))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_refuses_callers_without_credentials_or_its_roles_in_its_envelope() {
    let app = TestApp::spawn().await;
    // One outsider per role set: holds every other role.
    let mut outsiders: HashMap<Vec<&str>, Auth> = HashMap::new();
    let (mut unauthenticated, mut forbidden, mut public) = (0, 0, 0);
    for family in families() {
        for e in &family.endpoints {
            let method = e.method.as_str();
            for path in family.example_paths(e) {
                let what = format!("{method} {path} ({})", family.name);
                if let Access::Public = e.access {
                    // Answered without credentials: nothing to refuse.
                    let res = app.request(method, &path, &Auth::None, None).await;
                    assert_ne!(res.status, StatusCode::UNAUTHORIZED, "{what}: {}", res.text);
                    public += 1;
                    continue;
                }
                let res = app.request(method, &path, &Auth::None, None).await;
                assert_refusal(&family, &what, &res, StatusCode::UNAUTHORIZED, None);
                unauthenticated += 1;
                match e.access {
                    Access::Roles(allowed) => {
                        let n = outsiders.len();
                        let outsider = match outsiders.get(allowed) {
                            Some(auth) => auth.clone(),
                            None => {
                                let auth = app
                                    .user(&format!("outsider{n}"), &every_role_but(allowed))
                                    .await;
                                outsiders.insert(allowed.to_vec(), auth.clone());
                                auth
                            }
                        };
                        let res = app.request(method, &path, &outsider, None).await;
                        let what = format!("{what} as a user with every other role");
                        assert_refusal(&family, &what, &res, StatusCode::FORBIDDEN, Some(allowed));
                        forbidden += 1;
                    }
                    // No 403 to generate: every authenticated caller passes
                    // the route's check. The Table API checks the table's
                    // roles in its handler (tests/api/table_api.rs); metrics
                    // and the document admit any authenticated caller.
                    Access::Caller(Some(_)) | Access::PublicIf(..) => {}
                    Access::Caller(None) => panic!(
                        "{what} admits any authenticated caller: take Authorized<R>, \
                         or say how the handler checks (Endpoint::checked_by_handler)"
                    ),
                    Access::Public => unreachable!(),
                }
            }
        }
    }
    // The matrix ran over every form: versioned ones double the count.
    let declared = families()
        .iter()
        .flat_map(|f| &f.endpoints)
        .filter(|e| !matches!(e.access, Access::Public))
        .count();
    assert!(
        unauthenticated > declared && declared > 100,
        "{unauthenticated} refusals for {declared} endpoints"
    );
    assert!(forbidden > 100, "{forbidden} refusals for lack of a role");
    assert_eq!(
        public, 3,
        "healthz, readyz and the token endpoint are public"
    );
}

/// What the generated matrix relies on: the document's roles are the ones
/// the handlers enforce, because both come from the handler's `Authorized`.
#[test]
fn documented_roles_come_from_the_handlers_role_sets() {
    let families = families();
    let find = |prefix: &str, path: &str, method: &str| {
        let family = families.iter().find(|f| f.prefix == prefix).unwrap();
        let e = family
            .endpoints
            .iter()
            .find(|e| e.path == path && e.method.as_str() == method)
            .unwrap_or_else(|| panic!("{method} {prefix}{path} is declared"));
        e.access
    };
    // CdmReaders includes the secrets role (the hand-written list once missed it).
    let Access::Roles(readers) = find("/api/sn_cdm", "/changesets", "GET") else {
        panic!("role-checked")
    };
    assert!(readers.contains(&roles::CDM_SECRETS));
    let Access::Roles(admins) = find("/api/tollgate", "/api_keys", "POST") else {
        panic!("role-checked")
    };
    assert!(admins.is_empty(), "admin alone");
    assert!(matches!(
        find("/api/now", "/table/{table}", "GET"),
        Access::Caller(Some(_))
    ));
    assert!(matches!(find("", "/healthz", "GET"), Access::Public));
}

/// The other side of the matrix: the roles the document names are enough.
/// For every role-checked endpoint, a caller holding only one of its
/// documented roles is not refused for lack of a role (the example paths
/// name no record, so the answer may be a 404 or a 400, but never the 403 of
/// the role check, whose message names the allowed roles). An endpoint whose
/// handler or domain demanded another role than its declaration says would
/// show here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_documented_role_passes_the_role_check_of_its_endpoints() {
    let app = TestApp::spawn().await;
    let mut holders: HashMap<&str, Auth> = HashMap::new();
    let mut drift = Vec::new();
    let mut checked = 0;
    for family in families() {
        for e in &family.endpoints {
            let Access::Roles(allowed) = e.access else {
                continue;
            };
            let method = e.method.as_str();
            let path = family.example_paths(e).swap_remove(0);
            for role in allowed {
                let n = holders.len();
                let auth = match holders.get(role) {
                    Some(auth) => auth.clone(),
                    None => {
                        let auth = app.user(&format!("holder{n}"), &[role]).await;
                        holders.insert(role, auth.clone());
                        auth
                    }
                };
                let res = app.request(method, &path, &auth, None).await;
                checked += 1;
                if res.status == StatusCode::FORBIDDEN || res.status == StatusCode::UNAUTHORIZED {
                    drift.push(format!("{method} {path} as {role}: {}", res.text));
                }
            }
        }
    }
    assert!(checked > 100, "{checked} calls");
    assert!(
        drift.is_empty(),
        "documented roles refused:\n  {}",
        drift.join("\n  ")
    );
}
