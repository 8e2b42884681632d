//! Authentication and authorisation: Basic, OAuth tokens, API keys, the
//! credential cache, and the roles each family checks.

use crate::helpers::*;
use axum::http::StatusCode;
use serde_json::json;
use tollgate::storage::Value;

const CALENDAR_LIST: &str = "/api/now/table/sn_dpr_model_release_calendar";

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

#[tokio::test]
async fn requests_without_credentials_are_401_in_the_servicenow_envelope() {
    let app = TestApp::spawn().await;
    let res = app.request("GET", CALENDAR_LIST, &Auth::None, None).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.body["status"], "failure");
    assert!(res.body["error"]["message"].is_string());
}

#[tokio::test]
async fn a_wrong_password_is_401_and_the_right_one_passes() {
    let app = TestApp::spawn().await;
    let wrong = app
        .request(
            "GET",
            CALENDAR_LIST,
            &Auth::Basic("admin".into(), "nope".into()),
            None,
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let unknown = app
        .request(
            "GET",
            CALENDAR_LIST,
            &Auth::Basic("ghost".into(), "nope".into()),
            None,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get(CALENDAR_LIST).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_password_grant_issues_a_bearer_token_that_authenticates() {
    let app = TestApp::spawn().await;
    let res = password_grant(&app, "admin", ADMIN_PASSWORD).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.body["token_type"], "Bearer");
    assert_eq!(res.body["expires_in"], 1800);
    let token = res.body["access_token"].as_str().unwrap().to_owned();
    let ok = app
        .request("GET", CALENDAR_LIST, &Auth::Bearer(token.clone()), None)
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    let bad = app
        .request(
            "GET",
            CALENDAR_LIST,
            &Auth::Bearer(format!("{token}x")),
            None,
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_password_grant_with_a_wrong_password_is_refused() {
    let app = TestApp::spawn().await;
    let res = password_grant(&app, "admin", "wrong").await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.body["error"], "access_denied");
    assert_eq!(
        app.count("tollgate_oauth_token").await,
        0,
        "no token issued"
    );
}

#[tokio::test]
async fn unsupported_or_missing_grant_types_are_400() {
    let app = TestApp::spawn().await;
    let res = app
        .raw(
            "POST",
            "/oauth_token.do",
            &Auth::None,
            Some(&form(&[("grant_type", "client_credentials")])),
            "application/x-www-form-urlencoded",
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(res.body["error"], "unsupported_grant_type");
    let res = app
        .raw(
            "POST",
            "/oauth_token.do",
            &Auth::None,
            Some(""),
            "application/x-www-form-urlencoded",
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.body["error_description"]
        .as_str()
        .unwrap()
        .contains("grant_type"));
}

#[tokio::test]
async fn an_expired_access_token_is_refused() {
    let app = TestApp::spawn().await;
    let res = password_grant(&app, "admin", ADMIN_PASSWORD).await;
    let token = res.body["access_token"].as_str().unwrap().to_owned();
    // Age the token in the database instead of waiting for it.
    app.db
        .execute(
            "UPDATE tollgate_oauth_token SET expires_at = $1 WHERE kind = 'access'",
            &[Value::Int(chrono::Utc::now().timestamp() - 1)],
        )
        .await
        .unwrap();
    app.state.identity.clear_cache();
    let res = app
        .request("GET", CALENDAR_LIST, &Auth::Bearer(token), None)
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_refresh_token_is_exchanged_once_for_new_tokens() {
    let app = TestApp::spawn().await;
    let first = password_grant(&app, "admin", ADMIN_PASSWORD).await;
    let refresh = first.body["refresh_token"].as_str().unwrap().to_owned();
    let body = form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]);
    let second = app
        .raw(
            "POST",
            "/oauth_token.do",
            &Auth::None,
            Some(&body),
            "application/x-www-form-urlencoded",
        )
        .await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text);
    assert_ne!(second.body["access_token"], first.body["access_token"]);
    let token = second.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        app.request("GET", CALENDAR_LIST, &Auth::Bearer(token), None)
            .await
            .status,
        StatusCode::OK
    );
    let replay = app
        .raw(
            "POST",
            "/oauth_token.do",
            &Auth::None,
            Some(&body),
            "application/x-www-form-urlencoded",
        )
        .await;
    assert_eq!(
        replay.status,
        StatusCode::UNAUTHORIZED,
        "a refresh token is spent once used"
    );
}

#[tokio::test]
async fn tokens_and_api_keys_are_stored_only_as_hashes() {
    let app = TestApp::spawn().await;
    let res = password_grant(&app, "admin", ADMIN_PASSWORD).await;
    let access = res.body["access_token"].as_str().unwrap().to_owned();
    let key = tollgate::identity::users::create_api_key(&app.db, "admin", "ci")
        .await
        .unwrap();
    let tokens = app
        .db
        .fetch_all("SELECT token_hash FROM tollgate_oauth_token", &[])
        .await
        .unwrap();
    let keys = app
        .db
        .fetch_all("SELECT key_hash FROM tollgate_api_key", &[])
        .await
        .unwrap();
    let stored: Vec<String> = tokens
        .iter()
        .map(|r| r.string("token_hash"))
        .chain(keys.iter().map(|r| r.string("key_hash")))
        .collect();
    assert_eq!(stored.len(), 3);
    assert!(
        !stored.contains(&access) && !stored.contains(&key),
        "no clear-text secret is stored"
    );
    assert!(stored.contains(&tollgate::identity::token_hash(&key)));
    let users = app
        .db
        .fetch_all("SELECT user_password FROM sys_user", &[])
        .await
        .unwrap();
    assert!(users
        .iter()
        .all(|u| u.string("user_password").starts_with("$argon2id$")));
}

#[tokio::test]
async fn an_api_key_authenticates_as_authtoken_and_as_bearer() {
    let app = TestApp::spawn().await;
    let key = tollgate::identity::users::create_api_key(&app.db, "admin", "ci")
        .await
        .unwrap();
    let res = app
        .request(
            "GET",
            CALENDAR_LIST,
            &Auth::Header("authtoken", key.clone()),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let res = app
        .request("GET", CALENDAR_LIST, &Auth::Bearer(key.clone()), None)
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let res = app
        .request(
            "GET",
            CALENDAR_LIST,
            &Auth::Header("authorization", format!("Zoho-oauthtoken {key}")),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
}

#[tokio::test]
async fn a_changed_password_stops_the_cached_one_at_once() {
    let app = TestApp::spawn().await;
    let auth = app.user("carol", &["sn_dpr_model.release_admin"]).await;
    assert_eq!(
        app.request("GET", CALENDAR_LIST, &auth, None).await.status,
        StatusCode::OK
    );
    let carol = app
        .get("/api/now/table/sys_user?sysparm_query=user_name=carol")
        .await;
    let id = carol.body["result"][0]["sys_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .request(
            "PATCH",
            &format!("/api/now/table/sys_user/{id}"),
            &Auth::admin(),
            Some(json!({"user_password": "new-secret"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert!(
        res.body["result"].get("user_password").is_none(),
        "never shown"
    );
    assert_eq!(
        app.request("GET", CALENDAR_LIST, &auth, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let new = Auth::Basic("carol".into(), "new-secret".into());
    assert_eq!(
        app.request("GET", CALENDAR_LIST, &new, None).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_revoked_role_is_refused_at_once() {
    let app = TestApp::spawn().await;
    let auth = app.user("dave", &["sn_dpr_model.release_admin"]).await;
    assert_eq!(
        app.request("GET", CALENDAR_LIST, &auth, None).await.status,
        StatusCode::OK
    );
    let user = app
        .get("/api/now/table/sys_user?sysparm_query=user_name=dave")
        .await;
    let uid = user.body["result"][0]["sys_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let grants = app
        .get(&format!(
            "/api/now/table/sys_user_has_role?sysparm_query=user={uid}"
        ))
        .await;
    let gid = grants.body["result"][0]["sys_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .request(
            "DELETE",
            &format!("/api/now/table/sys_user_has_role/{gid}"),
            &Auth::admin(),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.request("GET", CALENDAR_LIST, &auth, None).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn another_replicas_identity_change_reaches_this_one_through_the_epoch() {
    let app = TestApp::spawn().await;
    let auth = app.user("erin", &["sn_dpr_model.release_admin"]).await;
    assert_eq!(
        app.request("GET", CALENDAR_LIST, &auth, None).await.status,
        StatusCode::OK
    );
    app.state.identity.refresh_epoch().await.unwrap();
    // Another replica changes erin's password: the database changes and the
    // epoch moves, but this replica's cache was not told directly.
    let hash = tollgate::identity::password::hash("elsewhere")
        .await
        .unwrap();
    let mut tx = app.db.begin().await.unwrap();
    tx.execute(
        "UPDATE sys_user SET user_password = $1 WHERE user_name = 'erin'",
        &[Value::Text(hash)],
    )
    .await
    .unwrap();
    tollgate::identity::users::bump_identity_epoch(&mut tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    app.state.identity.refresh_epoch().await.unwrap();
    assert_eq!(
        app.request("GET", CALENDAR_LIST, &auth, None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn progress_needs_the_ci_automation_role() {
    let app = TestApp::spawn().await;
    let auth = app.user("frank", &["sn_dpr_model.release_admin"]).await;
    let res = app
        .request(
            "GET",
            "/api/sn_cicd/progress/0123456789abcdef0123456789abcdef",
            &auth,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(res.body["status"], "failure");
    let ci = app.user("gina", &["sn_cicd.sys_ci_automation"]).await;
    let res = app
        .request(
            "GET",
            "/api/sn_cicd/progress/0123456789abcdef0123456789abcdef",
            &ci,
            None,
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::NOT_FOUND,
        "authorised, but no such progress"
    );
}

/// The sys_id of a user or a role, by name.
async fn sys_id_of(app: &TestApp, table: &str, column: &str, name: &str) -> String {
    app.db
        .fetch_optional(
            &format!("SELECT sys_id FROM {table} WHERE {column} = $1"),
            &[Value::from(name)],
        )
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no {table} {name}"))
        .string("sys_id")
}

async fn roles_of(app: &TestApp, user: &str) -> Vec<String> {
    let id = sys_id_of(app, "sys_user", "user_name", user).await;
    tollgate::identity::users::role_names(&app.db, &id)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_user_admin_cannot_grant_a_role_it_does_not_hold() {
    let app = TestApp::spawn().await;
    let ua = app.user("uma", &["user_admin"]).await;
    app.user("nina", &[]).await;
    let uma = sys_id_of(&app, "sys_user", "user_name", "uma").await;
    let nina = sys_id_of(&app, "sys_user", "user_name", "nina").await;
    let grants = app.count("sys_user_has_role").await;
    for (user, role) in [
        (&uma, "admin"),
        (&nina, "admin"),
        (&nina, "sn_cicd.sys_ci_automation"),
    ] {
        let role_id = sys_id_of(&app, "sys_user_role", "name", role).await;
        let res = app
            .request(
                "POST",
                "/api/now/table/sys_user_has_role",
                &ua,
                Some(json!({"user": user, "role": role_id})),
            )
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
        assert_eq!(res.body["status"], "failure");
        let message = res.body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("role") && message.contains(role),
            "{message}"
        );
    }
    assert_eq!(
        app.count("sys_user_has_role").await,
        grants,
        "nothing granted"
    );
    assert_eq!(roles_of(&app, "uma").await, ["user_admin"]);
    // The {"value": ...} form of a reference is the same grant.
    let admin_role = sys_id_of(&app, "sys_user_role", "name", "admin").await;
    let res = app
        .request(
            "POST",
            "/api/now/table/sys_user_has_role",
            &ua,
            Some(json!({"user": {"value": uma}, "role": {"value": admin_role}})),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
    // Nor may a grant be moved onto a role the caller lacks.
    let own = app
        .get(&format!(
            "/api/now/table/sys_user_has_role?sysparm_query=user={uma}"
        ))
        .await;
    let own_grant = own.body["result"][0]["sys_id"].as_str().unwrap().to_owned();
    let res = app
        .request(
            "PATCH",
            &format!("/api/now/table/sys_user_has_role/{own_grant}"),
            &ua,
            Some(json!({"role": admin_role})),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
    assert_eq!(roles_of(&app, "uma").await, ["user_admin"]);

    // A role the caller holds it may grant.
    let user_admin = sys_id_of(&app, "sys_user_role", "name", "user_admin").await;
    let res = app
        .request(
            "POST",
            "/api/now/table/sys_user_has_role",
            &ua,
            Some(json!({"user": nina, "role": user_admin})),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(roles_of(&app, "nina").await, ["user_admin"]);
}

#[tokio::test]
async fn only_admin_may_change_or_delete_an_admin() {
    let app = TestApp::spawn().await;
    let ua = app.user("uma", &["user_admin"]).await;
    let admin = tollgate::demo::ADMIN_ID;
    let res = app
        .request(
            "PATCH",
            &format!("/api/now/table/sys_user/{admin}"),
            &ua,
            Some(json!({"user_password": "taken-over"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
    assert!(res.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("admin"));
    for body in [json!({"locked_out": true}), json!({"active": false})] {
        let res = app
            .request(
                "PATCH",
                &format!("/api/now/table/sys_user/{admin}"),
                &ua,
                Some(body),
            )
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
    }
    let res = app
        .request(
            "DELETE",
            &format!("/api/now/table/sys_user/{admin}"),
            &ua,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
    let grants = app
        .get(&format!(
            "/api/now/table/sys_user_has_role?sysparm_query=user={admin}"
        ))
        .await;
    let any_grant = grants.body["result"][0]["sys_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = app.count("sys_user_has_role").await;
    let res = app
        .request(
            "DELETE",
            &format!("/api/now/table/sys_user_has_role/{any_grant}"),
            &ua,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
    assert_eq!(app.count("sys_user_has_role").await, before);
    // The admin is unchanged: same password, still active, every role.
    assert_eq!(
        app.request("GET", CALENDAR_LIST, &Auth::admin(), None)
            .await
            .status,
        StatusCode::OK
    );
    assert!(roles_of(&app, "admin").await.contains(&"admin".to_owned()));
}

#[tokio::test]
async fn a_user_admin_manages_only_users_whose_roles_it_holds() {
    let app = TestApp::spawn().await;
    let ua = app.user("uma", &["user_admin"]).await;
    let ci = app.user("cid", &["sn_cicd.sys_ci_automation"]).await;
    app.user("rory", &[]).await;
    let cid = sys_id_of(&app, "sys_user", "user_name", "cid").await;
    let rory = sys_id_of(&app, "sys_user", "user_name", "rory").await;
    // Resetting cid's password would hand uma the CI/CD role.
    let res = app
        .request(
            "PATCH",
            &format!("/api/now/table/sys_user/{cid}"),
            &ua,
            Some(json!({"user_password": "mine-now"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
    let message = res.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("sn_cicd.sys_ci_automation"), "{message}");
    assert_eq!(
        app.request("GET", "/api/now/table/sys_update_set", &ci, None)
            .await
            .status,
        StatusCode::OK,
        "cid's own password still works"
    );
    // A user without roles beyond uma's is hers to manage.
    let res = app
        .request(
            "PATCH",
            &format!("/api/now/table/sys_user/{rory}"),
            &ua,
            Some(json!({"user_password": "fresh-start"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let res = app
        .request(
            "DELETE",
            &format!("/api/now/table/sys_user/{rory}"),
            &ua,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text);
}

#[tokio::test]
async fn a_preference_belongs_to_its_user_and_admin() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice", &["sn_cicd.sys_ci_automation"]).await;
    let bob = app.user("bob", &["sn_cicd.sys_ci_automation"]).await;
    let alice_id = sys_id_of(&app, "sys_user", "user_name", "alice").await;
    let res = app
        .request(
            "POST",
            "/api/now/table/sys_user_preference",
            &alice,
            Some(json!({"user": alice_id, "name": "sys_update_set", "value": "mine"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let pref = res.body["result"]["sys_id"].as_str().unwrap().to_owned();
    let path = format!("/api/now/table/sys_user_preference/{pref}");

    // bob can neither set alice's preferences...
    let res = app
        .request(
            "POST",
            "/api/now/table/sys_user_preference",
            &bob,
            Some(json!({"user": alice_id, "name": "sys_update_set", "value": "bobs"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
    assert!(res.body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("user:"));
    assert_eq!(app.count("sys_user_preference").await, 1);
    for (method, body) in [
        ("PATCH", Some(json!({"value": "bobs"}))),
        ("PUT", Some(json!({"value": "bobs"}))),
        ("DELETE", None),
        ("GET", None),
    ] {
        let res = app.request(method, &path, &bob, body).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{method}: {}", res.text);
    }
    // ...nor list them, however the query is put.
    for query in [
        "",
        "?sysparm_query=name=sys_update_set",
        "?sysparm_query=name=x^NQname=sys_update_set",
    ] {
        let res = app
            .request(
                "GET",
                &format!("/api/now/table/sys_user_preference{query}"),
                &bob,
                None,
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(res.body["result"], json!([]), "{query}");
    }
    // Nor hand his own preference over to her.
    let bob_id = sys_id_of(&app, "sys_user", "user_name", "bob").await;
    let res = app
        .request(
            "POST",
            "/api/now/table/sys_user_preference",
            &bob,
            Some(json!({"user": bob_id, "name": "sys_update_set", "value": "bobs"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let bobs = res.body["result"]["sys_id"].as_str().unwrap().to_owned();
    let res = app
        .request(
            "PATCH",
            &format!("/api/now/table/sys_user_preference/{bobs}"),
            &bob,
            Some(json!({"user": alice_id})),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);

    let stored = app.get(&path).await;
    assert_eq!(stored.body["result"]["value"], "mine", "unchanged");
    // alice sees her own; admin sees both.
    let res = app
        .request("GET", "/api/now/table/sys_user_preference", &alice, None)
        .await;
    assert_eq!(res.body["result"].as_array().unwrap().len(), 1);
    let res = app.get("/api/now/table/sys_user_preference").await;
    assert_eq!(res.body["result"].as_array().unwrap().len(), 2);
}

/// Every credential a user can hold: Basic, an API key, an access token and
/// a refresh token (as a form for the refresh grant).
struct Credentials {
    basic: Auth,
    key: Auth,
    bearer: Auth,
    refresh: String,
}

async fn credentials(app: &TestApp, user: &str, roles: &[&str]) -> Credentials {
    let basic = app.user(user, roles).await;
    let Auth::Basic(_, password) = &basic else {
        unreachable!()
    };
    let key = tollgate::identity::users::create_api_key(&app.db, user, "ci")
        .await
        .unwrap();
    let grant = password_grant(app, user, password).await;
    assert_eq!(grant.status, StatusCode::OK, "{}", grant.text);
    Credentials {
        basic,
        key: Auth::Header("x-sn-apikey", key),
        bearer: Auth::Bearer(grant.body["access_token"].as_str().unwrap().to_owned()),
        refresh: form(&[
            ("grant_type", "refresh_token"),
            (
                "refresh_token",
                grant.body["refresh_token"].as_str().unwrap(),
            ),
        ]),
    }
}

impl Credentials {
    /// The status each credential gets now: Basic, key, bearer, refresh.
    async fn statuses(&self, app: &TestApp) -> [StatusCode; 4] {
        let mut out = [StatusCode::OK; 4];
        for (i, auth) in [&self.basic, &self.key, &self.bearer]
            .into_iter()
            .enumerate()
        {
            out[i] = app.request("GET", CALENDAR_LIST, auth, None).await.status;
        }
        out[3] = app
            .raw(
                "POST",
                "/oauth_token.do",
                &Auth::None,
                Some(&self.refresh),
                "application/x-www-form-urlencoded",
            )
            .await
            .status;
        out
    }
}

const REFUSED: [StatusCode; 4] = [StatusCode::UNAUTHORIZED; 4];

async fn patch_user(app: &TestApp, user: &str, body: serde_json::Value) {
    let id = sys_id_of(app, "sys_user", "user_name", user).await;
    let res = app
        .request(
            "PATCH",
            &format!("/api/now/table/sys_user/{id}"),
            &Auth::admin(),
            Some(body),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
}

async fn tokens_of(app: &TestApp, user: &str) -> i64 {
    let id = sys_id_of(app, "sys_user", "user_name", user).await;
    app.db
        .fetch_optional(
            "SELECT COUNT(*) AS n FROM tollgate_oauth_token WHERE user_id = $1",
            &[Value::from(id)],
        )
        .await
        .unwrap()
        .and_then(|r| r.int("n"))
        .unwrap()
}

#[tokio::test]
async fn a_locked_out_user_is_refused_with_every_credential_at_once() {
    let app = TestApp::spawn().await;
    let c = credentials(&app, "lou", &["sn_dpr_model.release_admin"]).await;
    // Every credential is cached by a first use...
    for auth in [&c.basic, &c.key, &c.bearer] {
        assert_eq!(
            app.request("GET", CALENDAR_LIST, auth, None).await.status,
            StatusCode::OK
        );
    }
    patch_user(&app, "lou", json!({"locked_out": true})).await;
    // ...and none of them outlives the lock.
    assert_eq!(c.statuses(&app).await, REFUSED);
    assert_eq!(
        tokens_of(&app, "lou").await,
        0,
        "the lock revoked the tokens"
    );

    // Unlocked, the password and the key work again; the tokens stay revoked.
    patch_user(&app, "lou", json!({"locked_out": false})).await;
    assert_eq!(
        c.statuses(&app).await,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED
        ]
    );
}

#[tokio::test]
async fn a_deactivated_user_is_refused_with_every_credential_at_once() {
    let app = TestApp::spawn().await;
    let c = credentials(&app, "dina", &["sn_dpr_model.release_admin"]).await;
    assert_eq!(
        app.request("GET", CALENDAR_LIST, &c.key, None).await.status,
        StatusCode::OK
    );
    patch_user(&app, "dina", json!({"active": "false"})).await;
    assert_eq!(c.statuses(&app).await, REFUSED);
}

#[tokio::test]
async fn a_password_change_revokes_the_users_tokens() {
    let app = TestApp::spawn().await;
    let c = credentials(&app, "pat", &["sn_dpr_model.release_admin"]).await;
    assert_eq!(
        app.request("GET", CALENDAR_LIST, &c.bearer, None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(tokens_of(&app, "pat").await, 2);
    patch_user(&app, "pat", json!({"user_password": "changed-it"})).await;
    assert_eq!(tokens_of(&app, "pat").await, 0);
    // The old password and tokens are refused; the API key (a separate
    // credential, revoked on its own) still works.
    assert_eq!(
        c.statuses(&app).await,
        [
            StatusCode::UNAUTHORIZED,
            StatusCode::OK,
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED
        ]
    );
    // So does a password change made with `tollgate user add`.
    let c = credentials(&app, "quinn", &["sn_dpr_model.release_admin"]).await;
    app.user("quinn", &[]).await;
    assert_eq!(tokens_of(&app, "quinn").await, 0);
    assert_eq!(
        app.request("GET", CALENDAR_LIST, &c.bearer, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_deleted_users_keys_and_tokens_go_with_it() {
    let app = TestApp::spawn().await;
    let c = credentials(&app, "gone", &[]).await;
    let id = sys_id_of(&app, "sys_user", "user_name", "gone").await;
    let res = app
        .request(
            "DELETE",
            &format!("/api/now/table/sys_user/{id}"),
            &Auth::admin(),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text);
    assert_eq!(app.count("tollgate_api_key").await, 0);
    assert_eq!(app.count("tollgate_oauth_token").await, 0);
    assert_eq!(c.statuses(&app).await, REFUSED);
}

#[tokio::test]
async fn an_api_key_is_refused_once_it_expires() {
    let app = TestApp::spawn().await;
    app.user("exp", &["sn_dpr_model.release_admin"]).await;
    let res = app
        .post(
            "/api/tollgate/api_keys",
            json!({"user": "exp", "name": "nightly", "expires_in_days": 1}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let key = Auth::Header(
        "x-sn-apikey",
        res.body["result"]["key"].as_str().unwrap().to_owned(),
    );
    assert!(res.body["result"]["expires_on"].is_string());
    assert_eq!(
        app.request("GET", CALENDAR_LIST, &key, None).await.status,
        StatusCode::OK
    );
    // A day later (the clock cannot be moved, so the expiry is).
    app.db
        .execute(
            "UPDATE tollgate_api_key SET expires_at = $1",
            &[Value::Int(chrono::Utc::now().timestamp() - 1)],
        )
        .await
        .unwrap();
    app.state.identity.clear_cache();
    let res = app.request("GET", CALENDAR_LIST, &key, None).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text);
    assert!(res.body["error"]["detail"]
        .as_str()
        .unwrap()
        .contains("API key has expired"));
    let listed = app.get("/api/tollgate/api_keys?user=exp").await;
    assert_eq!(listed.body["result"][0]["expired"], true);
    // Bad expiries are refused naming the field, and create nothing.
    for (body, field) in [
        (
            json!({"user": "exp", "expires_in_days": 0}),
            "expires_in_days",
        ),
        (
            json!({"user": "exp", "expires_in_days": "soon"}),
            "expires_in_days",
        ),
        (json!({"user": "exp", "expires": "2001-01-01"}), "expires"),
        (json!({"user": "exp", "expires": "tomorrow"}), "expires"),
    ] {
        let res = app.post("/api/tollgate/api_keys", body).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
        assert!(
            res.body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with(field),
            "{}",
            res.text
        );
    }
    assert_eq!(app.count("tollgate_api_key").await, 1);
}

#[tokio::test]
async fn admin_lists_and_revokes_api_keys_and_never_sees_a_key_or_its_hash() {
    let app = TestApp::spawn().await;
    let ua = app.user("uma", &["user_admin"]).await;
    app.user("kim", &["sn_dpr_model.release_admin"]).await;
    let res = app
        .post(
            "/api/tollgate/api_keys",
            json!({"user": "kim", "name": "deploys"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let id = res.body["result"]["id"].as_str().unwrap().to_owned();
    let key_text = res.body["result"]["key"].as_str().unwrap().to_owned();
    let key = Auth::Header("x-sn-apikey", key_text.clone());
    assert_eq!(
        app.request("GET", CALENDAR_LIST, &key, None).await.status,
        StatusCode::OK
    );
    let listed = app.get("/api/tollgate/api_keys").await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    let mine: Vec<&serde_json::Value> = listed.body["result"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["id"] == id.as_str())
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["user"], "kim");
    assert_eq!(mine[0]["name"], "deploys");
    assert_eq!(mine[0]["expires_on"], serde_json::Value::Null);
    assert!(!listed.text.contains(&key_text));
    assert!(!listed
        .text
        .contains(&tollgate::identity::token_hash(&key_text)));

    // Only admin manages keys.
    for (method, path) in [
        ("GET", "/api/tollgate/api_keys".to_owned()),
        ("POST", "/api/tollgate/api_keys".to_owned()),
        ("DELETE", format!("/api/tollgate/api_keys/{id}")),
    ] {
        let res = app
            .request(method, &path, &ua, Some(json!({"user": "uma"})))
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{method} {}", res.text);
        assert_eq!(res.body["status"], "failure");
    }
    assert_eq!(app.count("tollgate_api_key").await, 1);

    // A revoked key stops working at once, though it was cached.
    let res = app
        .request(
            "DELETE",
            &format!("/api/tollgate/api_keys/{id}"),
            &Auth::admin(),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text);
    assert_eq!(
        app.request("GET", CALENDAR_LIST, &key, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let again = app
        .request(
            "DELETE",
            &format!("/api/tollgate/api_keys/{id}"),
            &Auth::admin(),
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "{}", again.text);
}

#[tokio::test]
async fn a_key_revoked_elsewhere_stops_working_here_within_the_epoch_poll() {
    let app = TestApp::spawn().await;
    app.user("rex", &["sn_dpr_model.release_admin"]).await;
    let created = tollgate::identity::api_keys::create(&app.db, "rex", "ci", None)
        .await
        .unwrap();
    let key = Auth::Header("x-sn-apikey", created.key);
    assert_eq!(
        app.request("GET", CALENDAR_LIST, &key, None).await.status,
        StatusCode::OK
    );
    app.state.identity.refresh_epoch().await.unwrap();
    // `tollgate apikey revoke` (another process) revokes it; this replica's
    // cache still holds it until its epoch poll runs.
    tollgate::identity::api_keys::revoke(&app.db, &created.id)
        .await
        .unwrap();
    app.state.identity.refresh_epoch().await.unwrap();
    assert_eq!(
        app.request("GET", CALENDAR_LIST, &key, None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

fn with_login_budget(per_address: u32) -> tollgate::config::Settings {
    tollgate::config::Settings {
        failed_logins_per_address: per_address,
        ..test_settings()
    }
}

fn retry_after(res: &TestResponse) -> u64 {
    let secs: u64 = res
        .header("retry-after")
        .unwrap_or_else(|| panic!("Retry-After on {} {}", res.status, res.text))
        .parse()
        .unwrap();
    assert!((1..=60).contains(&secs), "{secs}");
    secs
}

#[tokio::test]
async fn failed_logins_past_the_address_budget_are_refused_429_with_retry_after_in_every_family() {
    let app = TestApp::spawn_with_settings(with_login_budget(5)).await;
    let attacker = "198.51.100.7";
    for i in 0..5 {
        let guess = Auth::Basic(format!("user{i}"), "guess".into());
        let res = app
            .request_from(attacker, "GET", CALENDAR_LIST, &guess, None)
            .await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text);
    }
    let checks = app.state.identity.password_checks();
    // Over budget: refused before any check, even the right password.
    let res = app
        .request_from(attacker, "GET", CALENDAR_LIST, &Auth::admin(), None)
        .await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{}", res.text);
    retry_after(&res);
    assert_eq!(res.body["status"], "failure");
    assert!(res.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("retry after"));
    // In the ServiceDesk envelope, for a key as for a password.
    let res = app
        .request_from(
            attacker,
            "GET",
            "/api/v3/releases",
            &Auth::Header("authtoken", "tg_not_a_key".into()),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{}", res.text);
    retry_after(&res);
    assert_eq!(
        res.body["response_status"]["status"], "failed",
        "{}",
        res.text
    );
    // Digital Product Release and CDM.
    for path in [
        "/api/sn_dpr/digital_product_release/bundle/0123456789abcdef0123456789abcdef",
        "/api/sn_cdm/changesets?appName=x",
    ] {
        let res = app
            .request_from(attacker, "GET", path, &Auth::admin(), None)
            .await;
        assert_eq!(
            res.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{path}: {}",
            res.text
        );
        retry_after(&res);
    }
    // The OAuth token endpoint, in its own error shape.
    let body = form(&[
        ("grant_type", "password"),
        ("username", "admin"),
        ("password", ADMIN_PASSWORD),
    ]);
    let peer = std::net::SocketAddr::new(attacker.parse().unwrap(), 1);
    let res = app
        .raw_from(
            Some(peer),
            "POST",
            "/oauth_token.do",
            &Auth::None,
            Some(&body),
            "application/x-www-form-urlencoded",
        )
        .await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{}", res.text);
    retry_after(&res);
    assert_eq!(res.body["error"], "temporarily_unavailable");
    assert_eq!(
        app.state.identity.password_checks(),
        checks,
        "refused attempts cost no hash"
    );
    assert_eq!(
        app.count("tollgate_oauth_token").await,
        0,
        "no token issued"
    );

    // Another address is not affected...
    let res = app
        .request_from("198.51.100.8", "GET", CALENDAR_LIST, &Auth::admin(), None)
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    // ...and a credential already checked (cached) costs nothing, so it
    // passes from the refused address too.
    let res = app
        .request_from(attacker, "GET", CALENDAR_LIST, &Auth::admin(), None)
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attackers_guesses_are_refused_not_queued_and_the_real_user_still_logs_in() {
    // An address budget of the free attempts: once spent, the attacker's
    // address stays refused for the rest of the minute, whatever the timing
    // (the per-user backoff, of a second at first, is unit-tested in
    // identity::throttle).
    let free = tollgate::identity::throttle::FREE_ATTEMPTS;
    let app = std::sync::Arc::new(TestApp::spawn_with_settings(with_login_budget(free)).await);
    let real = app.user("vic", &["sn_dpr_model.release_admin"]).await;
    let attacker = "203.0.113.5";
    let guess = Auth::Basic("vic".into(), "guess".into());
    for _ in 0..free {
        let res = app
            .request_from(attacker, "GET", CALENDAR_LIST, &guess, None)
            .await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text);
    }
    let checks = app.state.identity.password_checks();
    // A burst of further guesses at vic from that address, while vic logs
    // in from hers.
    let mut burst = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let app = app.clone();
        let guess = guess.clone();
        burst.spawn(async move {
            app.request_from(attacker, "GET", CALENDAR_LIST, &guess, None)
                .await
        });
    }
    let own = app
        .request_from("203.0.113.200", "GET", CALENDAR_LIST, &real, None)
        .await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.text);
    while let Some(res) = burst.join_next().await {
        let res = res.unwrap();
        assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{}", res.text);
        retry_after(&res);
    }
    assert_eq!(
        app.state.identity.password_checks(),
        checks + 1,
        "only vic's own login was checked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_hashes_running_at_once_never_exceed_the_bound() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let mut logins = tokio::task::JoinSet::new();
    for i in 0..24 {
        let app = app.clone();
        logins.spawn(async move {
            // New user names from new addresses: nothing is throttled, and
            // each costs a full check.
            let who = Auth::Basic(format!("nobody{i}"), "guess".into());
            app.request_from(&format!("192.0.2.{i}"), "GET", CALENDAR_LIST, &who, None)
                .await
                .status
        });
    }
    while let Some(status) = logins.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(app.state.identity.password_checks(), 24);
    let (peak, bound) = (
        tollgate::identity::password::peak_in_flight(),
        tollgate::identity::password::max_concurrent(),
    );
    assert_eq!(bound, test_settings().max_concurrent_password_hashes);
    assert!(
        peak >= 1 && peak <= bound,
        "{peak} hashes at once, bound {bound}"
    );
}

#[tokio::test]
async fn a_user_without_a_password_fails_with_the_same_work_as_one_with_a_password() {
    let app = TestApp::spawn().await;
    tollgate::identity::users::upsert_user(
        &app.db,
        &tollgate::identity::users::NewUser {
            sys_id: None,
            user_name: "nopass",
            first_name: "No",
            last_name: "Password",
            email: "",
            password: None,
            roles: &[],
        },
        "test",
    )
    .await
    .unwrap();
    app.user("haspass", &[]).await;
    app.user("locked", &[]).await;
    patch_user(&app, "locked", json!({"locked_out": true})).await;
    for user in ["nopass", "haspass", "locked", "ghost"] {
        let before = app.state.identity.password_checks();
        let res = app
            .request(
                "GET",
                CALENDAR_LIST,
                &Auth::Basic(user.into(), "guess".into()),
                None,
            )
            .await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{user}");
        assert_eq!(
            app.state.identity.password_checks(),
            before + 1,
            "{user}: one full check"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_one_right_credential_is_checked_once_and_never_throttled() {
    let app = std::sync::Arc::new(TestApp::spawn_with_settings(with_login_budget(5)).await);
    let real = app.user("burst", &["sn_dpr_model.release_admin"]).await;
    let before = app.state.identity.password_checks();
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let app = app.clone();
        let real = real.clone();
        requests.spawn(async move {
            app.request_from("192.0.2.77", "GET", CALENDAR_LIST, &real, None)
                .await
                .status
        });
    }
    while let Some(status) = requests.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::OK);
    }
    assert_eq!(app.state.identity.password_checks(), before + 1);
}

/// Creating users (provisioning does it in bulk) keeps every cached
/// credential: no caller is checked with Argon2 again for it. Changing a
/// user still drops the cache, so a changed user's rights apply at once.
#[tokio::test]
async fn creating_users_keeps_cached_credentials_and_changing_one_drops_them() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.get("/api/now/table/sys_user?sysparm_limit=1")
            .await
            .status,
        StatusCode::OK
    );
    let checks = app.state.identity.password_checks();
    let mut created = Vec::new();
    for name in ["new.one", "new.two", "new.three"] {
        let res = app
            .post("/api/now/table/sys_user", json!({"user_name": name}))
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        created.push(res.body["result"]["sys_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        app.get("/api/now/table/sys_user?sysparm_limit=1")
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.state.identity.password_checks(),
        checks,
        "the admin's credential stayed cached"
    );
    let res = app
        .request(
            "PATCH",
            &format!("/api/now/table/sys_user/{}", created[0]),
            &Auth::admin(),
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(
        app.get("/api/now/table/sys_user?sysparm_limit=1")
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.state.identity.password_checks(),
        checks + 1,
        "a changed user drops the cache"
    );
}
