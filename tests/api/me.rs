//! `GET /api/tollgate/me`: every kind of credential sees its own user
//! record and roles; without credentials, 401 in the ServiceNow envelope.

use axum::http::StatusCode;
use serde_json::{json, Value};

use tollgate::identity::{roles, users};

use crate::helpers::*;

const ME: &str = "/api/tollgate/me";

async fn token_for(app: &TestApp, user: &str, password: &str) -> String {
    let res = password_grant(app, user, password).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    res.body["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned()
}

/// Asserts the answer is `user_name`'s own record with exactly `roles`.
async fn assert_is(app: &TestApp, auth: &Auth, user_name: &str, roles: &[&str], what: &str) {
    for path in [ME, "/api/tollgate/v1/me"] {
        let res = app.request("GET", path, auth, None).await;
        assert_eq!(res.status, StatusCode::OK, "{what} {path}: {}", res.text);
        let me = &res.body["result"];
        let id = users::user_id_by_name(&app.db, user_name)
            .await
            .expect("look the user up")
            .expect("the user exists");
        assert_eq!(me["sys_id"], json!(id), "{what}: {}", res.text);
        assert_eq!(me["user_name"], json!(user_name), "{what}: {}", res.text);
        let mut want: Vec<&str> = roles.to_vec();
        want.sort_unstable();
        assert_eq!(me["roles"], json!(want), "{what}: {}", res.text);
        assert!(me["email"].is_string() && me["name"].is_string(), "{what}");
        assert!(
            me.get("user_password").is_none() && !res.text.contains("$argon2"),
            "{what}: no password hash: {}",
            res.text
        );
    }
}

#[tokio::test]
async fn basic_credentials_see_their_own_user_and_roles() {
    let app = TestApp::spawn().await;
    let rita = app
        .user(
            "rita",
            &[roles::DPR_RELEASE_ADMIN, roles::DPR_RELEASE_CALENDAR_ADMIN],
        )
        .await;
    assert_is(
        &app,
        &rita,
        "rita",
        &[roles::DPR_RELEASE_ADMIN, roles::DPR_RELEASE_CALENDAR_ADMIN],
        "Basic rita",
    )
    .await;
    let res = app.get(ME).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let admin = &res.body["result"];
    assert_eq!(admin["user_name"], "admin");
    assert_eq!(admin["sys_id"], tollgate::demo::ADMIN_ID);
    assert_eq!(admin["email"], "admin@example.com");
    assert_eq!(admin["name"], "System Administrator");
    let held: Vec<&str> = admin["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(held.contains(&roles::ADMIN), "{held:?}");
}

#[tokio::test]
async fn an_oauth_token_sees_the_user_it_was_issued_to() {
    let app = TestApp::spawn().await;
    app.user("carl", &[roles::CDM_EDITOR]).await;
    let token = token_for(&app, "carl", "carl-password").await;
    assert_is(
        &app,
        &Auth::Bearer(token),
        "carl",
        &[roles::CDM_EDITOR],
        "OAuth bearer",
    )
    .await;
}

#[tokio::test]
async fn an_api_key_sees_its_user_as_authtoken_and_as_bearer() {
    let app = TestApp::spawn().await;
    app.user("ci-bot", &[roles::CICD_AUTOMATION]).await;
    let key = users::create_api_key(&app.db, "ci-bot", "ci")
        .await
        .expect("an API key");
    assert_is(
        &app,
        &Auth::Header("authtoken", key.clone()),
        "ci-bot",
        &[roles::CICD_AUTOMATION],
        "API key as authtoken",
    )
    .await;
    assert_is(
        &app,
        &Auth::Bearer(key),
        "ci-bot",
        &[roles::CICD_AUTOMATION],
        "API key as Bearer",
    )
    .await;
}

#[tokio::test]
async fn without_or_with_wrong_credentials_it_is_401_in_the_servicenow_envelope() {
    let app = TestApp::spawn().await;
    for auth in [
        Auth::None,
        Auth::Basic("admin".into(), "wrong".into()),
        Auth::Bearer("not-a-token".into()),
    ] {
        let res = app.request("GET", ME, &auth, None).await;
        assert_eq!(
            res.status,
            StatusCode::UNAUTHORIZED,
            "{auth:?}: {}",
            res.text
        );
        assert_eq!(res.body["status"], "failure", "{}", res.text);
        assert!(res.body["error"]["message"].is_string(), "{}", res.text);
        assert!(res.body.get("result").is_none(), "{}", res.text);
        assert_eq!(
            res.header("www-authenticate"),
            Some("Basic realm=\"Tollgate\"")
        );
    }
}
