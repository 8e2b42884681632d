//! The release console's HTTP rules: its session cookie, CSRF refusals,
//! session expiry and sign-out, role-based refusals (posted directly, not
//! only hidden buttons), and escaping of hostile record values.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::TimeZone;
use serde_json::json;
use tollgate::config::Settings;

use crate::helpers::{documented_v3_add, test_settings, v3_form, Auth, TestApp, TestResponse};

/// The gated demo release whose current phase no policy gates: completing
/// it would succeed (so a refusal is the console's, not the gate's).
const PORTAL: &str = "eb7dd11d97b402107bc2341de053af34";

/// A browser: the cookies it holds.
struct Browser<'a> {
    app: &'a TestApp,
    cookies: Vec<(String, String)>,
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Browser<'a> {
        Browser {
            app,
            cookies: Vec::new(),
        }
    }

    fn keep_cookies(&mut self, res: &TestResponse) {
        for value in res.headers.get_all("set-cookie") {
            let value = value.to_str().unwrap();
            let pair = value.split(';').next().unwrap();
            let (name, v) = pair.split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != name);
            if !value.contains("Max-Age=0") {
                self.cookies.push((name.to_owned(), v.to_owned()));
            }
        }
    }

    async fn send(&mut self, method: &str, path: &str, form: Option<String>) -> TestResponse {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "tollgate.test");
        if !self.cookies.is_empty() {
            let cookie: Vec<String> = self
                .cookies
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect();
            req = req.header("cookie", cookie.join("; "));
        }
        let req = match form {
            Some(body) => req
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap(),
            None => req.body(Body::empty()).unwrap(),
        };
        let res = self.app.send(req).await;
        self.keep_cookies(&res);
        res
    }

    async fn get(&mut self, path: &str) -> TestResponse {
        self.send("GET", path, None).await
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.send("POST", path, Some(body)).await
    }

    /// Signs in through the form; answers the sign-in POST's response.
    async fn sign_in(&mut self, user: &str, password: &str) -> TestResponse {
        let form = self.get("/console/sign-in").await;
        assert_eq!(form.status, StatusCode::OK);
        let token = hidden(&form.text, "csrf_token");
        self.post(
            "/console/sign-in",
            &[
                ("csrf_token", &token),
                ("user_name", user),
                ("password", password),
                ("next", "/console"),
            ],
        )
        .await
    }

    /// The CSRF token of the signed-in page at `path`.
    async fn token_of(&mut self, path: &str) -> String {
        let page = self.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        hidden(&page.text, "csrf_token")
    }
}

/// The value of the first hidden input named `name` in a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

fn basic(auth: &Auth) -> (String, String) {
    match auth {
        Auth::Basic(u, p) => (u.clone(), p.clone()),
        _ => unreachable!(),
    }
}

async fn current_phase(app: &TestApp, release: &str) -> String {
    let res = app
        .get(&format!(
            "/api/now/table/sn_dpr_model_release/{release}?sysparm_fields=current_phase"
        ))
        .await;
    res.body["result"]["current_phase"]["value"]
        .as_str()
        .or_else(|| res.body["result"]["current_phase"].as_str())
        .unwrap_or_default()
        .to_owned()
}

async fn sessions(app: &TestApp) -> i64 {
    app.count("tollgate_console_session").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_sets_an_httponly_samesite_session_cookie_secure_only_over_https() {
    let app = TestApp::spawn_demo().await;
    let mut browser = Browser::new(&app);
    // Signed out, a page leads to the sign-in form and back.
    let res = browser.get("/console/releases").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(
        res.header("location"),
        Some("/console/sign-in?next=%2Fconsole%2Freleases")
    );
    let res = browser
        .sign_in("admin", crate::helpers::ADMIN_PASSWORD)
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let cookie = res
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("tollgate_console="))
        .expect("a session cookie");
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    assert_eq!(sessions(&app).await, 1);
    let today = browser.get("/console").await;
    assert_eq!(today.status, StatusCode::OK);
    assert!(today.text.contains("Signed in as <strong>admin</strong>"));
    assert_eq!(today.header("cache-control"), Some("no-store"));
    assert!(today
        .header("content-security-policy")
        .unwrap()
        .contains("default-src 'none'"));

    // Reached over HTTPS (here: an https public_url), the cookies are Secure.
    let app = TestApp::spawn_demo_with_settings(Settings {
        public_url: Some("https://tollgate.example.com".into()),
        ..test_settings()
    })
    .await;
    let mut browser = Browser::new(&app);
    let res = browser
        .sign_in("admin", crate::helpers::ADMIN_PASSWORD)
        .await;
    let cookies: Vec<String> = res
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("tollgate_console=") && c.contains("; Secure")),
        "{cookies:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_refused_and_the_login_throttle_applies() {
    let app = TestApp::spawn_demo().await;
    let mut browser = Browser::new(&app);
    let res = browser.sign_in("admin", "wrong").await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert!(res.text.contains("The user name or password is not right."));
    assert_eq!(sessions(&app).await, 0);
    // The throttle's free attempts for a user name from one address, then 429.
    let mut last = res;
    for _ in 0..tollgate::identity::throttle::FREE_ATTEMPTS {
        last = browser.sign_in("admin", "wrong").await;
    }
    assert_eq!(last.status, StatusCode::TOO_MANY_REQUESTS, "{}", last.text);
    assert!(last.header("retry-after").is_some());
    // A sign-in form posted without its own token is refused before the password is checked.
    let res = browser
        .post(
            "/console/sign-in",
            &[
                ("user_name", "admin"),
                ("password", crate::helpers::ADMIN_PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(sessions(&app).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_sign_in_the_browser_goes_to_a_console_path_never_another_site() {
    let app = TestApp::spawn_demo().await;
    for (next, expected) in [
        ("https://evil.example/", "/console"),
        ("//evil.example/console", "/console"),
        ("/console/../\\evil", "/console"),
        ("/console/releases\n", "/console"),
        (
            "/console/releases?state=draft",
            "/console/releases?state=draft",
        ),
    ] {
        let mut fresh = Browser::new(&app);
        let form = fresh.get("/console/sign-in").await;
        let token = hidden(&form.text, "csrf_token");
        let res = fresh
            .post(
                "/console/sign-in",
                &[
                    ("csrf_token", &token),
                    ("user_name", "admin"),
                    ("password", crate::helpers::ADMIN_PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{next}: {}", res.text);
        assert_eq!(res.header("location"), Some(expected), "{next}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_without_the_sessions_csrf_token_is_refused_and_changes_nothing() {
    let app = TestApp::spawn_demo().await;
    let mut browser = Browser::new(&app);
    browser
        .sign_in("admin", crate::helpers::ADMIN_PASSWORD)
        .await;
    let before = current_phase(&app, PORTAL).await;
    assert!(!before.is_empty());
    let path = format!("/console/releases/{PORTAL}/complete-phase");
    for fields in [vec![], vec![("csrf_token", "0123456789abcdef")]] {
        let res = browser.post(&path, &fields).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
        assert!(res.text.contains("security token"), "{}", res.text);
    }
    assert_eq!(current_phase(&app, PORTAL).await, before, "nothing changed");
    // Sign-out is a form like any other.
    let res = browser.post("/console/sign-out", &[]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(sessions(&app).await, 1);
    // With the token, the same request completes the phase.
    let token = browser
        .token_of(&format!("/console/releases/{PORTAL}"))
        .await;
    let res = browser.post(&path, &[("csrf_token", &token)]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    assert_ne!(current_phase(&app, PORTAL).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_deletes_the_session_and_idle_or_old_sessions_end() {
    let app = TestApp::spawn_demo().await;
    let mut browser = Browser::new(&app);
    browser
        .sign_in("admin", crate::helpers::ADMIN_PASSWORD)
        .await;
    let stolen = browser.cookies.clone();
    let token = browser.token_of("/console").await;
    let res = browser
        .post("/console/sign-out", &[("csrf_token", &token)])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.header("location"), Some("/console/sign-in"));
    assert_eq!(sessions(&app).await, 0);
    // The old cookie, replayed, signs no one in.
    let mut replay = Browser::new(&app);
    replay.cookies = stolen;
    assert_eq!(replay.get("/console").await.status, StatusCode::SEE_OTHER);

    // Idle past console_session_idle: ended and deleted.
    let mut browser = Browser::new(&app);
    browser
        .sign_in("admin", crate::helpers::ADMIN_PASSWORD)
        .await;
    assert_eq!(browser.get("/console").await.status, StatusCode::OK);
    let idle = app.state.settings.console_session_idle as i64;
    app.db
        .execute(
            "UPDATE tollgate_console_session SET last_seen_at = last_seen_at - $1",
            &[tollgate::storage::Value::Int(idle + 1)],
        )
        .await
        .unwrap();
    let res = browser.get("/console").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(sessions(&app).await, 0);

    // Past console_session_max, however busy: ended too.
    let mut browser = Browser::new(&app);
    browser
        .sign_in("admin", crate::helpers::ADMIN_PASSWORD)
        .await;
    app.db
        .execute(
            "UPDATE tollgate_console_session SET expires_at = $1",
            &[tollgate::storage::Value::Int(
                chrono::Utc::now().timestamp() - 1,
            )],
        )
        .await
        .unwrap();
    assert_eq!(browser.get("/console").await.status, StatusCode::SEE_OTHER);
    assert_eq!(sessions(&app).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_refuses_what_the_roles_refuse_even_posted_directly() {
    let app = TestApp::spawn_demo().await;
    let reader = app.user("reader", &["sn_dpr_model.release_user"]).await;
    let (name, password) = basic(&reader);
    let mut browser = Browser::new(&app);
    browser.sign_in(&name, &password).await;
    let page = browser.get(&format!("/console/releases/{PORTAL}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        !page.text.contains("Complete phase"),
        "no button for a reader"
    );
    assert!(!page.text.contains("Run policies"));
    assert!(
        !page.text.contains("/console/servicedesk\""),
        "no ServiceDesk in the navigation"
    );
    let token = hidden(&page.text, "csrf_token");
    let before = current_phase(&app, PORTAL).await;
    let jobs = app.count("tollgate_job").await;
    for action in ["complete-phase", "run-policies"] {
        let res = browser
            .post(
                &format!("/console/releases/{PORTAL}/{action}"),
                &[("csrf_token", &token)],
            )
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{action}: {}", res.text);
    }
    assert_eq!(current_phase(&app, PORTAL).await, before, "nothing changed");
    assert_eq!(
        app.count("tollgate_job").await,
        jobs,
        "no policy run queued"
    );
    // A page of another family is refused too.
    assert_eq!(
        browser.get("/console/servicedesk").await.status,
        StatusCode::FORBIDDEN
    );

    // Someone with no release role sees no release list.
    let nobody = app.user("nobody", &[]).await;
    let (name, password) = basic(&nobody);
    let mut browser = Browser::new(&app);
    browser.sign_in(&name, &password).await;
    assert_eq!(
        browser.get("/console/releases").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(browser.get("/console").await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_levels_approver_may_approve_it_in_the_console() {
    let app = TestApp::spawn_demo().await;
    let approver = app.user("ada", &["sdp.technician"]).await;
    let other = app.user("otto", &["sdp.technician"]).await;
    // Ada's release, with a level she approves (through the API).
    let res = app
        .raw(
            "POST",
            "/api/v3/releases",
            &approver,
            Some(&v3_form(&documented_v3_add())),
            "application/x-www-form-urlencoded",
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let id = res.body["release"]["id"].as_str().unwrap().to_owned();
    let level = json!({"approval_level": {"stage": {"name": "submission"}, "rule": {"type": "percent", "value": "100"}, "approvers": [{"name": "ada"}]}});
    let res = app
        .raw(
            "POST",
            &format!("/api/v3/releases/{id}/approval_levels"),
            &approver,
            Some(&v3_form(&level)),
            "application/x-www-form-urlencoded",
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let level_id = res.body["approval_level"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let approve = format!("/console/servicedesk/{id}/approval-levels/{level_id}/approve");

    let (name, password) = basic(&other);
    let mut otto = Browser::new(&app);
    otto.sign_in(&name, &password).await;
    let page = otto.get(&format!("/console/servicedesk/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        !page.text.contains(&approve),
        "no decision form for a non-approver"
    );
    let token = hidden(&page.text, "csrf_token");
    let res = otto
        .post(&approve, &[("csrf_token", &token), ("comment", "me too")])
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
    assert!(
        res.text.contains("Only an approver of this level"),
        "{}",
        res.text
    );
    assert!(res.text.contains("Pending"), "the level is still pending");

    let (name, password) = basic(&approver);
    let mut ada = Browser::new(&app);
    ada.sign_in(&name, &password).await;
    let today = ada.get("/console").await;
    assert!(today.text.contains("Approvals waiting for me"));
    assert!(today.text.contains(&format!("/console/servicedesk/{id}")));
    let page = ada.get(&format!("/console/servicedesk/{id}")).await;
    assert!(page.text.contains(&approve), "{}", page.text);
    let token = hidden(&page.text, "csrf_token");
    let res = ada
        .post(&approve, &[("csrf_token", &token), ("comment", "ship it")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let page = ada.get(res.header("location").unwrap()).await;
    assert!(page.text.contains("You approved the level."));
    assert!(page.text.contains("ship it"));
    assert!(!page.text.contains(&approve), "decided: no form any more");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_record_values_are_escaped_on_every_page() {
    let app = TestApp::spawn_demo().await;
    let hostile = "<script>alert(1)</script>";
    let res = app
        .request(
            "PATCH",
            &format!("/api/now/table/sn_dpr_model_release/{PORTAL}"),
            &Auth::admin(),
            Some(json!({"name": hostile, "description": "\"><img src=x onerror=alert(2)>"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let mut add = documented_v3_add();
    add["release"]["title"] = json!(hostile);
    let res = app
        .raw(
            "POST",
            "/api/v3/releases",
            &Auth::admin(),
            Some(&v3_form(&add)),
            "application/x-www-form-urlencoded",
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let sdp_id = res.body["release"]["id"].as_str().unwrap().to_owned();
    let mut browser = Browser::new(&app);
    browser
        .sign_in("admin", crate::helpers::ADMIN_PASSWORD)
        .await;
    for path in [
        "/console".to_owned(),
        "/console/releases".to_owned(),
        format!("/console/releases/{PORTAL}"),
        "/console/servicedesk?sort=id&order=desc".to_owned(),
        format!("/console/servicedesk/{sdp_id}"),
        "/console/releases?target_from=%3Cscript%3E".to_owned(),
    ] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.text);
        assert!(!page.text.contains("<script>"), "{path}: {}", page.text);
        assert!(!page.text.contains("<img"), "{path}");
        if !path.contains("target_from") && path != "/console" {
            assert!(
                page.text.contains("&lt;script&gt;"),
                "{path}: the value is shown, escaped"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_style_sheet_is_served_under_its_content_hash_for_good() {
    let app = TestApp::spawn_demo().await;
    let mut browser = Browser::new(&app);
    let form = browser.get("/console/sign-in").await;
    let start = form.text.find("href=\"/console/assets/").unwrap() + 6;
    let url = &form.text[start..start + form.text[start..].find('"').unwrap()];
    let res = browser.get(url).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.header("content-type"), Some("text/css; charset=utf-8"));
    assert_eq!(
        res.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    // Another hash is not this content: never cached as it.
    let res = browser
        .get("/console/assets/console-0000000000000000.css")
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    // `/` leads to the console; the API's paths are unchanged.
    let res = browser.get("/").await;
    assert_eq!(res.header("location"), Some("/console"));
    let res = app.get("/api/now/table/sys_user?sysparm_limit=1").await;
    assert_eq!(res.status, StatusCode::OK);
    let res = browser.get("/console/no-such-page").await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(res.text.contains("<html"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_admin_cannot_reach_an_admin_action_even_by_posting_directly() {
    let app = TestApp::spawn_demo().await;
    // A key to revoke, made through the API.
    let res = app
        .post(
            "/api/tollgate/api_keys",
            json!({"user": "admin", "name": "ci"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let key_id = res.body["result"]["id"].as_str().unwrap().to_owned();

    let manager = app
        .user("rita", &["sn_dpr_model.release_admin", "sdp.admin"])
        .await;
    let (name, password) = basic(&manager);
    let mut rita = Browser::new(&app);
    rita.sign_in(&name, &password).await;
    let today = rita.get("/console").await;
    assert!(
        !today.text.contains("/console/admin/api-keys"),
        "no admin link"
    );
    let token = hidden(&today.text, "csrf_token");
    assert_eq!(
        rita.get("/console/admin/api-keys").await.status,
        StatusCode::FORBIDDEN
    );
    let keys = app.count("tollgate_api_key").await;
    let res = rita
        .post(
            "/console/admin/api-keys",
            &[("csrf_token", &token), ("user", "rita"), ("name", "mine")],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
    let res = rita
        .post(
            &format!("/console/admin/api-keys/{key_id}/revoke"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
    assert_eq!(
        app.count("tollgate_api_key").await,
        keys,
        "nothing made or revoked"
    );

    // The admin creates a key (shown once) and revokes one.
    let mut admin = Browser::new(&app);
    admin.sign_in("admin", crate::helpers::ADMIN_PASSWORD).await;
    let token = admin.token_of("/console/admin/api-keys").await;
    let res = admin
        .post(
            "/console/admin/api-keys",
            &[
                ("csrf_token", &token),
                ("user", "rita"),
                ("name", "deploys"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert!(res.text.contains("is shown this once"));
    assert_eq!(app.count("tollgate_api_key").await, keys + 1);
    let res = admin
        .post(
            "/console/admin/api-keys",
            &[
                ("csrf_token", &token),
                ("user", "nobody-by-that-name"),
                ("name", "x"),
            ],
        )
        .await;
    assert!(res.status.is_client_error(), "{}", res.text);
    assert!(res.text.contains("Refused"), "{}", res.text);
    let res = admin
        .post(
            &format!("/console/admin/api-keys/{key_id}/revoke"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    assert_eq!(app.count("tollgate_api_key").await, keys);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn today_lists_blackouts_now_and_in_the_next_14_days_in_the_calendars_zone() {
    let app = TestApp::spawn_demo().await;
    // The demo blackout schedule (America/New_York) of the Enterprise release
    // calendar; its November 2025 window is long past.
    let schedule = "b862d589ff3c3210509cffffffffff97";
    let tz: chrono_tz::Tz = "America/New_York".parse().unwrap();
    let local = |days: i64| {
        (chrono::Utc::now() + chrono::Duration::days(days))
            .with_timezone(&tz)
            .format("%Y-%m-%d 09:00:00")
            .to_string()
    };
    for (name, from, to) in [
        ("Now freeze", local(-1), local(1)),
        ("Soon freeze", local(5), local(6)),
        ("Later freeze", local(20), local(21)),
    ] {
        let res = app
            .post(
                "/api/now/table/cmn_schedule_span",
                json!({"schedule": schedule, "name": name, "start_date_time": from, "end_date_time": to}),
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    }
    let mut browser = Browser::new(&app);
    browser
        .sign_in("admin", crate::helpers::ADMIN_PASSWORD)
        .await;
    let today = browser.get("/console").await;
    let section = &today.text[today.text.find("id=\"blackouts\"").unwrap()..];
    let section = &section[..section.find("</section>").unwrap()];
    assert_eq!(
        section.matches("<tr>").count() - 1,
        2,
        "now and soon, not later: {section}"
    );
    assert!(section.contains("Enterprise release calendar"));
    assert!(
        section.contains(&local(5)[..16]),
        "shown in the calendar's zone: {section}"
    );
    assert!(section.contains(">Now<"), "{section}");
    assert!(!section.contains(&local(20)[..10]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_servicedesk_release_page_shows_its_stages_roles_approvals_work_and_history() {
    let app = TestApp::spawn_demo().await;
    let mut browser = Browser::new(&app);
    browser
        .sign_in("admin", crate::helpers::ADMIN_PASSWORD)
        .await;
    let page = browser.get("/console/servicedesk/3").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    for shown in [
        "MSSQL Server service pack upgrade",
        "aria-current=\"step\">Planning<",
        "Back up the databases",
        "recommend",
        "Release Created",
    ] {
        assert!(page.text.contains(shown), "{shown}: {}", page.text);
    }
    assert_eq!(page.text.matches(" min — ").count(), 2, "two worklogs");
    let res = browser.get("/console/servicedesk/999999").await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    // The list: searched, sorted, paged by the v3 list's own list_info.
    let list = browser
        .get("/console/servicedesk?q=MSSQL&sort=id&order=desc")
        .await;
    assert_eq!(list.status, StatusCode::OK);
    let ten = list.text.find("/console/servicedesk/10\"").unwrap();
    let three = list.text.find("/console/servicedesk/3\"").unwrap();
    assert!(ten < three, "descending by id");
    assert!(
        !list.text.contains("Exchange Server rollout"),
        "searched by title"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_page_shows_its_phases_policies_and_scope() {
    let app = TestApp::spawn_demo().await;
    let res = app
        .post(
            &format!("/api/sn_dpr/digital_product_release/release/{PORTAL}/related_task"),
            json!({"taskIds": ["36836028532023004247ddeeff7b12f1", "bc84b11dff5c32108289ffffffffff12"]}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let mut browser = Browser::new(&app);
    browser
        .sign_in("admin", crate::helpers::ADMIN_PASSWORD)
        .await;
    let page = browser.get(&format!("/console/releases/{PORTAL}")).await;
    assert_eq!(page.status, StatusCode::OK);
    for shown in [
        "Customer Portal Q4 2025",
        "Related tasks",
        "change_request",
        "rm_story",
        "No key date.",
        "aria-current=\"step\"",
    ] {
        assert!(page.text.contains(shown), "{shown}: {}", page.text);
    }
    // The gated release: its current phase's policies, each with a result.
    let gated = browser
        .get("/console/releases/9b2e7ec9476c8e105b8e0dcfe16d43d4")
        .await;
    assert!(gated.text.contains("Policy Name 1"), "{}", gated.text);
    assert!(gated.text.contains("Not run"));
    assert!(gated.text.contains("Run policies") && gated.text.contains("Complete phase"));
    // The gate's refusal, in words, with the page around it.
    let token = hidden(&gated.text, "csrf_token");
    let res = browser
        .post(
            "/console/releases/9b2e7ec9476c8e105b8e0dcfe16d43d4/complete-phase",
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
    assert!(
        res.text
            .contains("cannot be completed: policies not compliant: Policy Name 1"),
        "{}",
        res.text
    );
    // The list filters by state and target date, and says when a date does not read.
    let list = browser.get("/console/releases?state=draft").await;
    assert!(list.text.contains("Q4 2025 Product Release"));
    assert!(!list.text.contains("Customer Portal Q4 2025"));
    let list = browser
        .get("/console/releases?target_from=2999-01-01")
        .await;
    assert!(list.text.contains("0 releases"), "{}", list.text);
    let list = browser.get("/console/releases?target_to=soon").await;
    assert!(list.text.contains("is not a date"), "{}", list.text);
    assert_eq!(
        browser.get("/console/releases/nope").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_manager_retargets_a_release_and_others_are_refused() {
    let app = TestApp::spawn_demo().await;
    let release = "9b2e7ec9476c8e105b8e0dcfe16d43d4";
    let target = "3f6668e95427fd10f877ac7ac399daa6";
    let path = format!("/console/releases/{release}/retarget");
    let coordinator = app
        .user("cora", &["sn_dpr_model.release_coordinator"])
        .await;
    let (name, password) = basic(&coordinator);
    let mut cora = Browser::new(&app);
    cora.sign_in(&name, &password).await;
    let page = cora.get(&format!("/console/releases/{release}")).await;
    assert!(
        !page.text.contains(&path),
        "no retarget form for a coordinator"
    );
    let token = hidden(&page.text, "csrf_token");
    let res = cora
        .post(&path, &[("csrf_token", &token), ("target", target)])
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);

    let mut admin = Browser::new(&app);
    admin.sign_in("admin", crate::helpers::ADMIN_PASSWORD).await;
    let page = admin.get(&format!("/console/releases/{release}")).await;
    assert!(page.text.contains(&path), "{}", page.text);
    assert!(page.text.contains(&format!("value=\"{target}\"")));
    let token = hidden(&page.text, "csrf_token");
    let res = admin
        .post(&path, &[("csrf_token", &token), ("target", "x")])
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    assert!(res.text.contains("choose a readiness target"));
    let res = admin
        .post(&path, &[("csrf_token", &token), ("target", target)])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let back = res.header("location").unwrap().to_owned();
    let res = app
        .get(&format!(
            "/api/now/table/sn_dpr_model_release/{release}?sysparm_fields=readiness_target&sysparm_exclude_reference_link=true"
        ))
        .await;
    assert_eq!(res.body["result"]["readiness_target"], target);
    let page = admin.get(&back).await;
    assert!(page.text.contains("Retargeted"), "{}", page.text);
    assert!(page.text.contains("2027-03-31"));
}

/// The entries of one day's cell in a month page.
fn day_cell<'a>(html: &'a str, date: &str) -> &'a str {
    let start = html
        .find(&format!("data-date=\"{date}\""))
        .unwrap_or_else(|| panic!("no {date}"));
    let rest = &html[start..];
    &rest[..rest.find("</td>").unwrap()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_calendar_month_places_blackouts_and_targets_on_local_days_across_dst() {
    let app = TestApp::spawn_demo().await;
    let calendar = "d3d1f3b4ff60ba10509cffffffffffa8"; // America/New_York
    let mut browser = Browser::new(&app);
    browser
        .sign_in("admin", crate::helpers::ADMIN_PASSWORD)
        .await;
    let list = browser.get("/console/calendars").await;
    assert!(list
        .text
        .contains(&format!("/console/calendars/{calendar}")));
    // November 2025: DST ends on the 2nd; the freeze runs from the 6th
    // 18:00 to the 8th 06:00 local.
    let page = browser
        .get(&format!("/console/calendars/{calendar}?month=2025-11"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("America/New_York"));
    for (date, blackout) in [
        ("2025-11-05", false),
        ("2025-11-06", true),
        ("2025-11-07", true),
        ("2025-11-08", true),
        ("2025-11-09", false),
    ] {
        assert_eq!(
            day_cell(&page.text, date).contains("Blackout: Q4 2025 change blackout"),
            blackout,
            "{date}"
        );
    }
    assert_eq!(page.text.matches("data-date=").count(), 30);
    // A target shows on its date.
    let december = browser
        .get(&format!("/console/calendars/{calendar}?month=2026-12"))
        .await;
    assert!(
        day_cell(&december.text, "2026-12-18").contains("Target: Patch Q4 readiness"),
        "{}",
        december.text
    );
    let bad = browser
        .get(&format!("/console/calendars/{calendar}?month=2025-13"))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        browser
            .get("/console/calendars/0123456789abcdef0123456789abcdef")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_calendar_feed_is_icalendar_for_an_api_key_of_a_release_reader() {
    let app = TestApp::spawn_demo().await;
    let calendar = "d3d1f3b4ff60ba10509cffffffffffa8";
    let schedule = "b862d589ff3c3210509cffffffffff97";
    let tz: chrono_tz::Tz = "America/New_York".parse().unwrap();
    let soon = (chrono::Utc::now() + chrono::Duration::days(10)).with_timezone(&tz);
    let res = app
        .post(
            "/api/now/table/cmn_schedule_span",
            json!({"schedule": schedule, "name": "Year-end freeze",
                   "start_date_time": soon.format("%Y-%m-%d 18:00:00").to_string(),
                   "end_date_time": (soon + chrono::Duration::days(1)).format("%Y-%m-%d 06:00:00").to_string()}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    app.user("reader", &["sn_dpr_model.release_user"]).await;
    app.user("nobody", &[]).await;
    let key_of = |user: &'static str| {
        let app = &app;
        async move {
            let res = app
                .post(
                    "/api/tollgate/api_keys",
                    json!({"user": user, "name": "calendar"}),
                )
                .await;
            assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
            res.body["result"]["key"].as_str().unwrap().to_owned()
        }
    };
    let reader_key = key_of("reader").await;
    let nobody_key = key_of("nobody").await;
    let path = format!("/console/calendars/{calendar}/feed.ics");
    let res = app
        .raw(
            "GET",
            &format!("{path}?key={reader_key}"),
            &Auth::None,
            None,
            "",
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(
        res.header("content-type"),
        Some("text/calendar; charset=utf-8")
    );
    assert!(res.text.starts_with("BEGIN:VCALENDAR\r\n"));
    assert!(res.text.contains("X-WR-TIMEZONE:America/New_York\r\n"));
    assert!(res
        .text
        .contains("SUMMARY:Blackout: Q4 2025 change blackout\r\n"));
    // 18:00 New York time, in UTC.
    let start = tz
        .from_local_datetime(&soon.date_naive().and_hms_opt(18, 0, 0).unwrap())
        .single()
        .unwrap()
        .with_timezone(&chrono::Utc);
    assert!(
        res.text
            .contains(&format!("DTSTART:{}\r\n", start.format("%Y%m%dT%H%M%SZ"))),
        "{}",
        res.text
    );
    assert!(res.text.ends_with("END:VCALENDAR\r\n"));
    // Basic works as for the API; no credentials, a wrong key, or a user
    // without a release role do not.
    let basic = app.user("reader", &["sn_dpr_model.release_user"]).await;
    assert_eq!(
        app.raw("GET", &path, &basic, None, "").await.status,
        StatusCode::OK
    );
    let res = app.raw("GET", &path, &Auth::None, None, "").await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert!(res.header("www-authenticate").is_some());
    let res = app
        .raw(
            "GET",
            &format!("{path}?key=not-a-key"),
            &Auth::None,
            None,
            "",
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let res = app
        .raw(
            "GET",
            &format!("{path}?key={nobody_key}"),
            &Auth::None,
            None,
            "",
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(!res.text.contains("VCALENDAR"));
}

// ---------------------------------------------------------------------------
// Update sets
// ---------------------------------------------------------------------------

use tollgate::demo::update_sets::{
    COLLISION_SET, COMMITTED_SET, FIRST_OF_MULTIPLE, SECOND_OF_MULTIPLE,
};

/// The first record of a Table API list, as the admin reads it.
async fn first_record(app: &TestApp, table: &str, query: &str) -> serde_json::Value {
    let res = app
        .get(&format!("/api/now/table/{table}?sysparm_query={query}"))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    res.body["result"][0].clone()
}

async fn remote_set_state(app: &TestApp, id: &str) -> String {
    first_record(app, "sys_remote_update_set", &format!("sys_id={id}")).await["state"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The collision the demo set's preview finds (previewed through the API).
async fn previewed_collision(app: &TestApp) -> serde_json::Value {
    let res = app
        .request(
            "POST",
            &format!("/api/sn_cicd/update_set/preview/{COLLISION_SET}"),
            &Auth::admin(),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    app.run_jobs().await;
    let problem = first_record(
        app,
        "sys_update_preview_problem",
        &format!("remote_update_set={COLLISION_SET}"),
    )
    .await;
    assert_eq!(problem["problem_type"], "collision", "{problem}");
    assert_eq!(problem["status"], "", "unresolved: {problem}");
    problem
}

/// Posts a console form and follows its 303 to the job page; answers the
/// job page's path.
async fn post_to_job(browser: &mut Browser<'_>, path: &str, fields: &[(&str, &str)]) -> String {
    let res = browser.post(path, fields).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{path}: {}", res.text);
    let to = res.header("location").expect("location").to_owned();
    assert!(to.starts_with("/console/update-sets/jobs/"), "{to}");
    to
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_set_preview_problem_is_accepted_and_the_set_commits_in_the_console() {
    let app = TestApp::spawn_demo().await;
    let mut browser = Browser::new(&app);
    browser
        .sign_in("admin", crate::helpers::ADMIN_PASSWORD)
        .await;
    let list = browser.get("/console/update-sets").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert!(list.text.contains("Release freeze length"), "{}", list.text);
    assert!(list.text.contains("This instance (demo)"), "source shown");
    assert!(list.text.contains("Governance baseline"), "local sets too");
    let set_path = format!("/console/update-sets/retrieved/{COLLISION_SET}");
    let token = browser.token_of(&set_path).await;

    // Preview: a job page that refreshes itself until the job ends.
    let job = post_to_job(
        &mut browser,
        &format!("{set_path}/preview"),
        &[("csrf_token", &token)],
    )
    .await;
    let running = browser.get(&job).await;
    assert_eq!(running.status, StatusCode::OK, "{}", running.text);
    assert!(
        running.text.contains(r#"http-equiv="refresh""#),
        "{}",
        running.text
    );
    assert!(running.text.contains("<progress"), "{}", running.text);
    assert!(running.text.contains("Pending"), "{}", running.text);
    app.run_jobs().await;
    let done = browser.get(&job).await;
    assert!(done.text.contains("Successful"), "{}", done.text);
    assert!(done.text.contains(r#"value="100""#), "{}", done.text);
    assert!(!done.text.contains("http-equiv"), "no refresh once ended");

    // The problem, with its buttons; a commit now fails, said in words.
    let page = browser.get(&set_path).await;
    assert!(page.text.contains("Collision"), "{}", page.text);
    let problem = first_record(
        &app,
        "sys_update_preview_problem",
        &format!("remote_update_set={COLLISION_SET}"),
    )
    .await;
    let problem_id = problem["sys_id"].as_str().unwrap().to_owned();
    assert!(page.text.contains(&format!(
        "/console/update-sets/problems/{problem_id}/accept"
    )));
    let job = post_to_job(
        &mut browser,
        &format!("{set_path}/commit"),
        &[("csrf_token", &token)],
    )
    .await;
    app.run_jobs().await;
    let failed = browser.get(&job).await;
    assert!(failed.text.contains("Failed"), "{}", failed.text);
    assert!(failed.text.contains("accept or skip"), "{}", failed.text);
    assert_ne!(remote_set_state(&app, COLLISION_SET).await, "committed");

    // Accept, then commit: the set is committed and the remote value applied.
    let res = browser
        .post(
            &format!("/console/update-sets/problems/{problem_id}/accept"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let problem = first_record(
        &app,
        "sys_update_preview_problem",
        &format!("sys_id={problem_id}"),
    )
    .await;
    assert_eq!(problem["status"], "ignored", "{problem}");
    let job = post_to_job(
        &mut browser,
        &format!("{set_path}/commit"),
        &[("csrf_token", &token)],
    )
    .await;
    app.run_jobs().await;
    let done = browser.get(&job).await;
    assert!(done.text.contains("Successful"), "{}", done.text);
    assert!(
        done.text.contains("/console/update-sets/local/"),
        "{}",
        done.text
    );
    assert_eq!(remote_set_state(&app, COLLISION_SET).await, "committed");
    let property = first_record(&app, "sys_properties", "name=sn_test.release.freeze_days").await;
    assert_eq!(property["value"], "5", "{property}");
    // A committed set offers no more buttons.
    let page = browser.get(&set_path).await;
    assert!(!page.text.contains("/commit\""), "{}", page.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_set_forms_are_refused_without_the_cicd_role_or_the_csrf_token() {
    let app = TestApp::spawn_demo().await;
    let problem = previewed_collision(&app).await;
    let problem_id = problem["sys_id"].as_str().unwrap().to_owned();
    let jobs = app.count("tollgate_job").await;

    // A release reader: no link, no page, and every form refused.
    let reader = app.user("reader", &["sn_dpr_model.release_user"]).await;
    let (name, password) = basic(&reader);
    let mut browser = Browser::new(&app);
    browser.sign_in(&name, &password).await;
    let today = browser.get("/console").await;
    assert!(!today.text.contains("/console/update-sets\""), "no link");
    assert_eq!(
        browser.get("/console/update-sets").await.status,
        StatusCode::FORBIDDEN
    );
    let token = hidden(&today.text, "csrf_token");
    for path in [
        format!("/console/update-sets/problems/{problem_id}/accept"),
        format!("/console/update-sets/problems/{problem_id}/skip"),
        format!("/console/update-sets/retrieved/{COLLISION_SET}/preview"),
        format!("/console/update-sets/retrieved/{COLLISION_SET}/commit"),
        format!("/console/update-sets/local/{COMMITTED_SET}/back-out"),
    ] {
        let res = browser.post(&path, &[("csrf_token", &token)]).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{path}: {}", res.text);
    }
    let res = browser
        .post(
            "/console/update-sets/commit-multiple",
            &[("csrf_token", &token), ("set.00000", COLLISION_SET)],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);

    // The CI/CD role sees the link and the page; without the token, refused.
    let cicd = app.user("pipeline", &["sn_cicd.sys_ci_automation"]).await;
    let (name, password) = basic(&cicd);
    let mut browser = Browser::new(&app);
    browser.sign_in(&name, &password).await;
    let list = browser.get("/console/update-sets").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert!(list.text.contains("/console/update-sets\""), "link shown");
    for fields in [vec![], vec![("csrf_token", "0123456789abcdef")]] {
        let res = browser
            .post(
                &format!("/console/update-sets/problems/{problem_id}/accept"),
                &fields,
            )
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
        assert!(res.text.contains("security token"), "{}", res.text);
    }

    // Nothing changed: the problem unresolved, the set uncommitted, no job.
    let after = first_record(
        &app,
        "sys_update_preview_problem",
        &format!("sys_id={problem_id}"),
    )
    .await;
    assert_eq!(after["status"], "", "{after}");
    assert_ne!(remote_set_state(&app, COLLISION_SET).await, "committed");
    assert_eq!(app.count("tollgate_job").await, jobs, "no job queued");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_commits_sets_in_order_and_backs_one_out() {
    let app = TestApp::spawn_demo().await;
    let mut browser = Browser::new(&app);
    browser
        .sign_in("admin", crate::helpers::ADMIN_PASSWORD)
        .await;
    let token = browser.token_of("/console/update-sets").await;
    // Nothing chosen: refused in words.
    let res = browser
        .post(
            "/console/update-sets/commit-multiple",
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    assert!(res.text.contains("choose at least one"), "{}", res.text);
    let job = post_to_job(
        &mut browser,
        "/console/update-sets/commit-multiple",
        &[
            ("csrf_token", &token),
            ("set.00003", SECOND_OF_MULTIPLE),
            ("set.00002", FIRST_OF_MULTIPLE),
        ],
    )
    .await;
    app.run_jobs().await;
    let done = browser.get(&job).await;
    assert!(done.text.contains("Successful"), "{}", done.text);
    for set in [FIRST_OF_MULTIPLE, SECOND_OF_MULTIPLE] {
        assert_eq!(remote_set_state(&app, set).await, "committed");
    }
    // Committing a committed set again is refused in words.
    let res = browser
        .post(
            &format!("/console/update-sets/retrieved/{FIRST_OF_MULTIPLE}/commit"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
    assert!(res.text.contains("already committed"), "{}", res.text);

    // Back out the demo's committed set.
    let local = format!("/console/update-sets/local/{COMMITTED_SET}");
    let page = browser.get(&local).await;
    assert!(page.text.contains("Back out"), "{}", page.text);
    let job = post_to_job(
        &mut browser,
        &format!("{local}/back-out"),
        &[("csrf_token", &token), ("rollback_installs", "true")],
    )
    .await;
    app.run_jobs().await;
    let done = browser.get(&job).await;
    assert!(done.text.contains("Successful"), "{}", done.text);
    let set = first_record(&app, "sys_update_set", &format!("sys_id={COMMITTED_SET}")).await;
    assert_eq!(set["backed_out"], "true", "{set}");
    let page = browser.get(&local).await;
    assert!(!page.text.contains("/back-out\""), "no second back-out");
}

/// A page's `Location`.
fn location(res: &TestResponse) -> String {
    res.headers
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

async fn role_id(app: &TestApp, name: &str) -> String {
    first_record(app, "sys_user_role", &format!("name={name}")).await["sys_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn user_id(app: &TestApp, name: &str) -> String {
    first_record(app, "sys_user", &format!("user_name={name}")).await["sys_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_creates_a_user_with_a_role_who_then_signs_in_to_the_console() {
    let app = TestApp::spawn_demo().await;
    let reader = role_id(&app, "sn_dpr_model.release_user").await;
    let mut admin = Browser::new(&app);
    admin.sign_in("admin", crate::helpers::ADMIN_PASSWORD).await;
    let token = admin.token_of("/console/admin/users").await;
    let users = app.count("sys_user").await;

    // Without the session's token: refused, nothing made.
    let fields = [
        ("user_name", "nina"),
        ("name", "Nina Example"),
        ("email", "nina@example.com"),
        ("password", "Nina-first-secret-1"),
        ("role", reader.as_str()),
    ];
    let res = admin.post("/console/admin/users", &fields).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
    assert_eq!(app.count("sys_user").await, users);

    let mut with_token = vec![("csrf_token", token.as_str())];
    with_token.extend(fields);
    let res = admin.post("/console/admin/users", &with_token).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    assert_eq!(app.count("sys_user").await, users + 1);
    let id = user_id(&app, "nina").await;
    assert!(location(&res).starts_with(&format!("/console/admin/users/{id}")));
    let page = admin.get(&location(&res)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text.contains("sn_dpr_model.release_user"),
        "{}",
        page.text
    );
    assert!(page.text.contains("nina@example.com"));
    assert!(
        !page.text.contains("Nina-first-secret-1"),
        "no password shown"
    );
    assert!(!page.text.contains("argon2"), "no password hash shown");
    let list = admin.get("/console/admin/users?q=nin").await;
    assert!(list.text.contains("Nina Example"), "{}", list.text);
    assert!(list.text.contains("sn_dpr_model.release_user"));
    assert!(
        !list.text.contains(">admin</a>"),
        "the search narrows the list"
    );

    // The new user signs in and reads releases.
    let mut nina = Browser::new(&app);
    let res = nina.sign_in("nina", "Nina-first-secret-1").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    assert_eq!(location(&res), "/console");
    assert_eq!(nina.get("/console/releases").await.status, StatusCode::OK);

    // A new password: taken, never shown; the old one no longer works.
    let res = admin
        .post(
            &format!("/console/admin/users/{id}/password"),
            &[("csrf_token", &token), ("password", "Nina-second-secret-2")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let page = admin.get(&location(&res)).await;
    assert!(!page.text.contains("Nina-second-secret-2"));
    let mut again = Browser::new(&app);
    let res = again.sign_in("nina", "Nina-first-secret-1").await;
    assert_ne!(location(&res), "/console", "the old password is refused");
    let res = again.sign_in("nina", "Nina-second-secret-2").await;
    assert_eq!(location(&res), "/console", "{}", res.text);

    // Deactivated through the profile form: the user can no longer sign in.
    let res = admin
        .post(
            &format!("/console/admin/users/{id}"),
            &[
                ("csrf_token", &token),
                ("name", "Nina E."),
                ("email", "nina@example.com"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let row = first_record(&app, "sys_user", &format!("sys_id={id}")).await;
    assert_eq!(row["name"], "Nina E.");
    assert_eq!(row["active"], "false");
    let res = Browser::new(&app)
        .sign_in("nina", "Nina-second-secret-2")
        .await;
    assert_ne!(location(&res), "/console", "an inactive user is refused");

    // The role removed.
    let grant = first_record(&app, "sys_user_has_role", &format!("user={id}")).await["sys_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = admin
        .post(
            &format!("/console/admin/users/{id}/roles/{grant}/remove"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let grants = app
        .get(&format!(
            "/api/now/table/sys_user_has_role?sysparm_query=user={id}"
        ))
        .await;
    assert_eq!(grants.body["result"].as_array().unwrap().len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_administration_is_refused_as_the_api_refuses_it_and_changes_nothing() {
    let app = TestApp::spawn_demo().await;
    let admin_id = user_id(&app, "admin").await;
    let admin_role = role_id(&app, "admin").await;

    // A release admin reads users but may not write them.
    let (name, password) = basic(&app.user("rita", &["sn_dpr_model.release_admin"]).await);
    let mut rita = Browser::new(&app);
    rita.sign_in(&name, &password).await;
    let list = rita.get("/console/admin/users").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert!(!list.text.contains("Create user"), "no form offered");
    let token = hidden(&list.text, "csrf_token");
    let users = app.count("sys_user").await;
    let res = rita
        .post(
            "/console/admin/users",
            &[("csrf_token", &token), ("user_name", "sneaky")],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
    assert_eq!(app.count("sys_user").await, users);

    // No user role at all: not even the list.
    let (name, password) = basic(&app.user("cid", &["sn_cicd.sys_ci_automation"]).await);
    let mut cid = Browser::new(&app);
    cid.sign_in(&name, &password).await;
    assert_eq!(
        cid.get("/console/admin/users").await.status,
        StatusCode::FORBIDDEN
    );

    // A user admin may not manage the admin (whose roles it lacks) nor
    // grant a role it does not hold.
    let (name, password) = basic(&app.user("ulla", &["user_admin"]).await);
    let ulla_id = user_id(&app, "ulla").await;
    let mut ulla = Browser::new(&app);
    ulla.sign_in(&name, &password).await;
    let token = ulla.token_of("/console/admin/users").await;
    let res = ulla
        .post(
            &format!("/console/admin/users/{admin_id}/password"),
            &[("csrf_token", &token), ("password", "taken-over-now")],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
    assert!(res.text.contains("roles you do not hold"), "{}", res.text);
    let res = Browser::new(&app)
        .sign_in("admin", crate::helpers::ADMIN_PASSWORD)
        .await;
    assert_eq!(location(&res), "/console", "the admin's password stands");
    let grants = app.count("sys_user_has_role").await;
    let res = ulla
        .post(
            &format!("/console/admin/users/{ulla_id}/roles"),
            &[("csrf_token", &token), ("role", &admin_role)],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
    assert!(
        res.text.contains("only a caller who holds the role admin"),
        "{}",
        res.text
    );
    assert_eq!(app.count("sys_user_has_role").await, grants);
    // Without the token, even an allowed change is refused.
    let res = ulla
        .post(
            &format!("/console/admin/users/{ulla_id}"),
            &[("name", "Ulla")],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_instances_are_kept_in_the_console_and_their_secret_is_never_shown() {
    let app = TestApp::spawn_demo().await;
    const SECRET: &str = "Very-Secret-Token-123";
    let mut admin = Browser::new(&app);
    admin.sign_in("admin", crate::helpers::ADMIN_PASSWORD).await;
    let token = admin.token_of("/console/admin/remote-instances").await;
    let before = app.count("sys_update_set_source").await;
    let res = admin
        .post(
            "/console/admin/remote-instances",
            &[
                ("csrf_token", &token),
                ("name", "Dev box"),
                ("url", "https://dev.example.com"),
                ("username", "svc"),
                ("password", SECRET),
                ("type", "dev"),
                ("active", "true"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    assert_eq!(app.count("sys_update_set_source").await, before + 1);
    let id = first_record(&app, "sys_update_set_source", "name=Dev%20box").await["sys_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let list = admin.get("/console/admin/remote-instances").await;
    assert!(list.text.contains("Dev box"));
    assert!(!list.text.contains(SECRET), "{}", list.text);
    let edit = admin
        .get(&format!("/console/admin/remote-instances/{id}"))
        .await;
    assert_eq!(edit.status, StatusCode::OK);
    assert!(!edit.text.contains(SECRET), "{}", edit.text);
    assert!(edit.text.contains("leave blank to keep"));

    let stored = || async {
        app.db
            .fetch_optional(
                "SELECT password FROM sys_update_set_source WHERE sys_id = $1",
                &[tollgate::storage::Value::from(id.as_str())],
            )
            .await
            .unwrap()
            .unwrap()
            .string("password")
    };
    let secret = stored().await;
    assert!(!secret.is_empty() && secret != SECRET, "kept encrypted");
    // Saved with the password left blank: the stored one stays.
    let edited = [
        ("csrf_token", token.as_str()),
        ("name", "Dev box 2"),
        ("url", "https://dev.example.com"),
        ("username", "svc"),
        ("password", ""),
        ("type", "test"),
        ("active", "true"),
    ];
    let res = admin
        .post(&format!("/console/admin/remote-instances/{id}"), &edited)
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    assert_eq!(stored().await, secret);
    let row = first_record(&app, "sys_update_set_source", &format!("sys_id={id}")).await;
    assert_eq!(row["name"], "Dev box 2");
    assert_eq!(row["type"], "test");
    // A URL of the wrong form is refused in words.
    let mut bad = edited;
    bad[2] = ("url", "ftp://dev.example.com");
    let res = admin
        .post(&format!("/console/admin/remote-instances/{id}"), &bad)
        .await;
    assert!(res.status.is_client_error(), "{}", res.text);
    assert!(res.text.contains("Refused"), "{}", res.text);

    // Without the table's role: refused, even posted directly.
    let (name, password) = basic(&app.user("rita", &["sn_dpr_model.release_admin"]).await);
    let mut rita = Browser::new(&app);
    rita.sign_in(&name, &password).await;
    let today = rita.get("/console").await;
    assert!(!today.text.contains("/console/admin/remote-instances"));
    let rita_token = hidden(&today.text, "csrf_token");
    assert_eq!(
        rita.get("/console/admin/remote-instances").await.status,
        StatusCode::FORBIDDEN
    );
    let res = rita
        .post(
            &format!("/console/admin/remote-instances/{id}/remove"),
            &[("csrf_token", &rita_token)],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
    assert_eq!(app.count("sys_update_set_source").await, before + 1);

    let res = admin
        .post(
            &format!("/console/admin/remote-instances/{id}/remove"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    assert_eq!(app.count("sys_update_set_source").await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_manager_creates_a_release_from_a_template_and_others_are_refused() {
    use tollgate::demo::{PRODUCT_PAYMENTS, TARGET_PATCH_Q4, TEMPLATE_PRODUCT};
    let app = TestApp::spawn_demo().await;
    let manager = app.user("mira", &["sn_dpr_model.product_manager"]).await;
    let (name, password) = basic(&manager);
    let mut browser = Browser::new(&app);
    browser.sign_in(&name, &password).await;
    let list = browser.get("/console/releases").await;
    assert!(list.text.contains("New release"), "the form is offered");
    assert!(
        list.text.contains("Product release"),
        "the templates are offered"
    );
    let token = hidden(&list.text, "csrf_token");
    let releases = app.count("sn_dpr_model_release").await;
    let fields = [
        ("name", "Payments 2.6"),
        ("product", PRODUCT_PAYMENTS),
        ("template", TEMPLATE_PRODUCT),
        ("target", TARGET_PATCH_Q4),
    ];

    // Without the session's token: refused, nothing created.
    let res = browser.post("/console/releases", &fields).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("sn_dpr_model_release").await, releases);

    // A template that does not exist: refused in words, naming the field.
    let mut with_token = vec![("csrf_token", token.as_str())];
    let bad: Vec<(&str, &str)> = fields
        .iter()
        .map(|&(k, v)| (k, if k == "template" { PORTAL } else { v }))
        .collect();
    with_token.extend(bad);
    let res = browser.post("/console/releases", &with_token).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    assert!(res.text.contains("no release template"), "{}", res.text);
    assert!(res.text.contains("Payments 2.6"), "what was typed is kept");
    assert_eq!(app.count("sn_dpr_model_release").await, releases);

    // Created, with the template's phases, on its page.
    let mut with_token = vec![("csrf_token", token.as_str())];
    with_token.extend(fields);
    let res = browser.post("/console/releases", &with_token).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    let location = res.header("location").unwrap().to_owned();
    assert!(location.starts_with("/console/releases/"), "{location}");
    assert_eq!(app.count("sn_dpr_model_release").await, releases + 1);
    let page = browser.get(&location).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("Release created from its template."));
    for phase in ["Define", "Develop", "Validate", "Launch"] {
        assert!(page.text.contains(phase), "phase {phase}: {}", page.text);
    }

    // A reader sees no form, and a form posted by hand is refused.
    let reader = app.user("reader", &["sn_dpr_model.release_user"]).await;
    let (name, password) = basic(&reader);
    let mut browser = Browser::new(&app);
    browser.sign_in(&name, &password).await;
    let list = browser.get("/console/releases").await;
    assert!(!list.text.contains("New release"));
    let token = hidden(&list.text, "csrf_token");
    let mut with_token = vec![("csrf_token", token.as_str())];
    with_token.extend(fields);
    let res = browser.post("/console/releases", &with_token).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
    assert_eq!(app.count("sn_dpr_model_release").await, releases + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_editor_saves_shows_errors_at_their_line_and_dry_runs_against_a_release() {
    const RELEASE: &str = "9b2e7ec9476c8e105b8e0dcfe16d43d4"; // Payments Q1 2027, in progress
    let app = TestApp::spawn_demo().await;
    let original = "package tollgate.policy\n\ndefault compliant := true\n";
    let res = app
        .post(
            "/api/now/table/sn_pace_policy",
            json!({"name": "Edited in the console", "rego": original}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let id = res.body["result"]["sys_id"].as_str().unwrap().to_owned();
    let mut browser = Browser::new(&app);
    browser
        .sign_in("admin", crate::helpers::ADMIN_PASSWORD)
        .await;
    let list = browser.get("/console/policies").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.text.contains("Edited in the console"));
    let path = format!("/console/policies/{id}");
    let token = browser.token_of(&path).await;
    assert!(browser.get(&path).await.text.contains("<textarea"));

    // A syntax error on line 4: shown with its line, nothing saved.
    let broken = "package tollgate.policy\n\ndefault compliant := false\ncompliant if { input.release.name == }\n";
    let res = browser
        .post(&path, &[("csrf_token", &token), ("rego", broken)])
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    assert!(res.text.contains("Not saved"), "{}", res.text);
    assert!(res.text.contains("href=\"#line-4\""), "{}", res.text);
    assert!(res.text.contains("id=\"line-4\""), "{}", res.text);
    assert_eq!(stored_rego(&app, &id).await, original);

    // The dry run: not compliant with the policy's message, then compliant.
    let strict = "package tollgate.policy\n\ndefault compliant := false\n\nreason := \"Payments releases wait for the audit\" if startswith(input.release.name, \"Payments\")\n";
    let dry = format!("{path}/dry-run");
    let res = browser
        .post(
            &dry,
            &[
                ("csrf_token", &token),
                ("rego", strict),
                ("release", RELEASE),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert!(
        res.text.contains("Dry run against Payments Q1 2027"),
        "{}",
        res.text
    );
    assert!(res.text.contains("Not compliant"), "{}", res.text);
    assert!(res.text.contains("Payments releases wait for the audit"));
    let lenient =
        "package tollgate.policy\n\ncompliant if startswith(input.release.name, \"Payments\")\n";
    let res = browser
        .post(
            &dry,
            &[
                ("csrf_token", &token),
                ("rego", lenient),
                ("release", RELEASE),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert!(res.text.contains("badge ok\">Compliant"), "{}", res.text);
    assert_eq!(
        stored_rego(&app, &id).await,
        original,
        "a dry run saves nothing"
    );

    // A valid save is stored.
    let res = browser
        .post(&path, &[("csrf_token", &token), ("rego", lenient)])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
    assert_eq!(stored_rego(&app, &id).await, lenient);

    // A reader sees the policy but no Save, and is refused a save or dry run.
    let reader = app.user("reader", &["sn_dpr_model.release_user"]).await;
    let (name, password) = basic(&reader);
    let mut browser = Browser::new(&app);
    browser.sign_in(&name, &password).await;
    let page = browser.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.text.contains(">Save<"));
    assert!(!page.text.contains("<textarea"));
    let token = hidden(&page.text, "csrf_token");
    for target in [path.clone(), dry] {
        let res = browser
            .post(
                &target,
                &[
                    ("csrf_token", &token),
                    ("rego", original),
                    ("release", RELEASE),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{target}: {}", res.text);
    }
    assert_eq!(stored_rego(&app, &id).await, lenient);
}

async fn stored_rego(app: &TestApp, id: &str) -> String {
    let res = app
        .get(&format!(
            "/api/now/table/sn_pace_policy/{id}?sysparm_fields=rego"
        ))
        .await;
    res.body["result"]["rego"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The console gaps of issue 13: ServiceDesk attachments, DPR scope forms,
/// a policy dry run against a CDM snapshot, deactivating and activating users.
mod gaps {
    use super::*;

    const BOUNDARY: &str = "TollgateTestBoundary7MA4YWxk";

    /// Posts a multipart file form as the browser would.
    async fn upload(
        browser: &mut Browser<'_>,
        path: &str,
        token: &str,
        file_name: &str,
        bytes: &[u8],
    ) -> TestResponse {
        let mut body = Vec::new();
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: text/plain\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        let cookie: Vec<String> = browser
            .cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        let req = Request::builder()
            .method("POST")
            .uri(path)
            .header("host", "tollgate.test")
            .header("cookie", cookie.join("; "))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(Body::from(body))
            .unwrap();
        let res = browser.app.send(req).await;
        browser.keep_cookies(&res);
        res
    }

    async fn v3_release(app: &TestApp, creator: &crate::helpers::Auth) -> String {
        let res = app
            .raw(
                "POST",
                "/api/v3/releases",
                creator,
                Some(&v3_form(&documented_v3_add())),
                "application/x-www-form-urlencoded",
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        res.body["release"]["id"].as_str().unwrap().to_owned()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn servicedesk_attachments_are_listed_uploaded_and_downloaded_by_the_releases_rights() {
        let app = TestApp::spawn_demo_with_settings(Settings {
            attachment_max_bytes: 64,
            ..test_settings()
        })
        .await;
        let ada = app.user("ada", &["sdp.technician"]).await;
        let id = v3_release(&app, &ada).await;
        let page_path = format!("/console/servicedesk/{id}");
        let upload_path = format!("{page_path}/attachments");

        // Ada created the release: she may edit it, so she gets the form.
        let (name, password) = basic(&ada);
        let mut ada_b = Browser::new(&app);
        ada_b.sign_in(&name, &password).await;
        let page = ada_b.get(&page_path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        assert!(page.text.contains("No attachment."), "{}", page.text);
        assert!(page.text.contains("enctype=\"multipart/form-data\""));
        let token = hidden(&page.text, "csrf_token");
        let res = upload(
            &mut ada_b,
            &upload_path,
            &token,
            "notes.txt",
            b"ship it on friday",
        )
        .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        let page = ada_b.get(&location(&res)).await;
        assert!(page.text.contains("File attached."), "{}", page.text);
        assert!(page.text.contains("notes.txt"), "{}", page.text);
        assert!(page.text.contains("17 bytes"), "{}", page.text);
        assert!(page.text.contains("<td>ada</td>"), "{}", page.text);
        let file = app
            .db
            .fetch_optional(
                "SELECT sys_id FROM sys_attachment WHERE table_name = 'sdp_release' AND table_sys_id = $1",
                &[tollgate::storage::Value::from(id.as_str())],
            )
            .await
            .unwrap()
            .unwrap()
            .string("sys_id");
        let download = format!("{page_path}/attachments/{file}");
        assert!(page.text.contains(&download), "{}", page.text);
        let res = ada_b.get(&download).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(res.text, "ship it on friday");
        assert!(res
            .header("content-disposition")
            .unwrap()
            .contains("filename*=UTF-8''notes%2Etxt"));
        assert_eq!(res.header("x-content-type-options"), Some("nosniff"));

        // The API's size limit holds: refused, nothing stored.
        let files = app.count("sys_attachment").await;
        let res = upload(&mut ada_b, &upload_path, &token, "big.txt", &[b'x'; 65]).await;
        assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", res.text);
        assert!(res.text.contains("64 bytes"), "{}", res.text);
        // Without the session's token: refused, nothing stored.
        let res = upload(&mut ada_b, &upload_path, "forged", "a.txt", b"a").await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
        assert_eq!(app.count("sys_attachment").await, files);

        // Another technician views the release: the list and the download,
        // but no form, and an upload posted directly is refused.
        let (name, password) = basic(&app.user("otto", &["sdp.technician"]).await);
        let mut otto = Browser::new(&app);
        otto.sign_in(&name, &password).await;
        let page = otto.get(&page_path).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text.contains("notes.txt"));
        assert!(!page.text.contains("Attach file"), "no form for a viewer");
        assert_eq!(otto.get(&download).await.text, "ship it on friday");
        let token = hidden(&page.text, "csrf_token");
        let res = upload(&mut otto, &upload_path, &token, "sneaky.txt", b"x").await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
        assert_eq!(app.count("sys_attachment").await, files);

        // The file is found only under its own release.
        assert_eq!(
            otto.get(&format!("/console/servicedesk/1/attachments/{file}"))
                .await
                .status,
            StatusCode::NOT_FOUND
        );

        // Someone who may not read ServiceDesk releases cannot download.
        let (name, password) = basic(&app.user("dora", &["sn_dpr_model.release_admin"]).await);
        let mut dora = Browser::new(&app);
        dora.sign_in(&name, &password).await;
        let res = dora.get(&download).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
        assert!(!res.text.contains("ship it on friday"));
    }

    const MEDIA_RELEASE: &str = "9a4b608dff7cf2108289ffffffffffc3";
    const MEDIA_PRODUCT: &str = "de8e9c0dfff8f2108289ffffffffff61";
    const MEDIA_VERSION: &str = "da4b608dff7cf2108289ffffffffffc2";
    const STORY: &str = "bc84b11dff5c32108289ffffffffff12";

    async fn enhancement_release(app: &TestApp, name: &str) -> Option<String> {
        let e = first_record(
            app,
            "sn_dpr_model_product_enhancement",
            &format!("name={name}"),
        )
        .await;
        e["sys_id"].as_str()?;
        Some(
            e["release"]["value"]
                .as_str()
                .or_else(|| e["release"].as_str())
                .unwrap_or("")
                .to_owned(),
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn release_scope_is_added_and_an_enhancement_taken_out_by_the_apis_roles() {
        let app = TestApp::spawn_demo().await;
        let mut admin = Browser::new(&app);
        admin.sign_in("admin", crate::helpers::ADMIN_PASSWORD).await;
        let media = format!("/console/releases/{MEDIA_RELEASE}");
        let page = admin.get(&media).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        for form in ["Plan an enhancement", "Add a key date", "Relate a task"] {
            assert!(page.text.contains(form), "{form}: {}", page.text);
        }
        assert!(
            page.text.contains(MEDIA_PRODUCT),
            "the release's product offered"
        );
        let token = hidden(&page.text, "csrf_token");

        // An enhancement, through the API's rules (the version must be one
        // the release carries).
        let res = admin
            .post(
                &format!("{media}/enhancements"),
                &[
                    ("csrf_token", &token),
                    ("name", "Picture-in-picture"),
                    ("product", MEDIA_PRODUCT),
                    ("version", MEDIA_VERSION),
                    ("priority", "high"),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        let page = admin.get(&location(&res)).await;
        assert!(page.text.contains("Enhancement planned into this release."));
        assert!(page.text.contains("Picture-in-picture"));
        assert_eq!(
            enhancement_release(&app, "Picture-in-picture")
                .await
                .as_deref(),
            Some(MEDIA_RELEASE)
        );
        // The API's refusal, in words: a product the release does not ship.
        let enhancements = app.count("sn_dpr_model_product_enhancement").await;
        let res = admin
            .post(
                &format!("/console/releases/{PORTAL}/enhancements"),
                &[
                    ("csrf_token", &token),
                    ("name", "Wrong product"),
                    ("product", MEDIA_PRODUCT),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
        assert!(
            res.text
                .contains("The release must be associated with the product"),
            "{}",
            res.text
        );
        assert_eq!(
            app.count("sn_dpr_model_product_enhancement").await,
            enhancements
        );

        // A key date on the timeline-oriented portal release, inside its
        // window; one outside it is refused.
        let portal = format!("/console/releases/{PORTAL}");
        let key_dates = app.count("sn_dpr_model_release_key_date").await;
        let res = admin
            .post(
                &format!("{portal}/key-dates"),
                &[
                    ("csrf_token", &token),
                    ("name", "Go-live rehearsal"),
                    ("type", "milestone"),
                    ("state", "upcoming"),
                    ("due_date", "2025-11-20"),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        assert_eq!(
            app.count("sn_dpr_model_release_key_date").await,
            key_dates + 1
        );
        let page = admin.get(&location(&res)).await;
        assert!(page.text.contains("Go-live rehearsal"), "{}", page.text);
        let res = admin
            .post(
                &format!("{portal}/key-dates"),
                &[
                    ("csrf_token", &token),
                    ("name", "Too late"),
                    ("type", "deadline"),
                    ("state", "upcoming"),
                    ("due_date", "2026-02-01"),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
        assert_eq!(
            app.count("sn_dpr_model_release_key_date").await,
            key_dates + 1
        );

        // A related task, offered until it is related.
        assert!(page.text.contains(STORY), "the story is offered");
        let mappings = app.count("sn_dpr_model_release_related_task").await;
        let res = admin
            .post(
                &format!("{portal}/related-tasks"),
                &[("csrf_token", &token), ("task", STORY)],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        assert_eq!(
            app.count("sn_dpr_model_release_related_task").await,
            mappings + 1
        );
        let page = admin.get(&location(&res)).await;
        assert!(page.text.contains("Task related to this release."));
        assert!(!page.text.contains(&format!("option value=\"{STORY}\"")));

        // A release user reads the scope but gets no form, and every form
        // posted directly is refused with nothing changed.
        let (name, password) = basic(&app.user("reader", &["sn_dpr_model.release_user"]).await);
        let mut reader = Browser::new(&app);
        reader.sign_in(&name, &password).await;
        let page = reader.get(&media).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text.contains("Picture-in-picture"));
        for form in [
            "Plan an enhancement",
            "Add a key date",
            "Relate a task",
            "Take out",
        ] {
            assert!(!page.text.contains(form), "{form} offered to a reader");
        }
        let rtoken = hidden(&page.text, "csrf_token");
        let enh = first_record(
            &app,
            "sn_dpr_model_product_enhancement",
            "name=Picture-in-picture",
        )
        .await["sys_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let remove = format!("{media}/enhancements/{enh}/remove");
        let counts = async {
            (
                app.count("sn_dpr_model_product_enhancement").await,
                app.count("sn_dpr_model_release_key_date").await,
                app.count("sn_dpr_model_release_related_task").await,
            )
        };
        let before = counts.await;
        for (path, fields) in [
            (
                format!("{media}/enhancements"),
                vec![("name", "Sneaky"), ("product", MEDIA_PRODUCT)],
            ),
            (
                format!("{portal}/key-dates"),
                vec![
                    ("name", "Sneaky"),
                    ("type", "milestone"),
                    ("state", "upcoming"),
                    ("due_date", "2025-11-02"),
                ],
            ),
            (
                format!("{portal}/related-tasks"),
                vec![("task", "36836028532023004247ddeeff7b12f1")],
            ),
            (remove.clone(), vec![]),
        ] {
            let mut fields = fields;
            fields.push(("csrf_token", &rtoken));
            let res = reader.post(&path, &fields).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{path}: {}", res.text);
        }
        let after = async {
            (
                app.count("sn_dpr_model_product_enhancement").await,
                app.count("sn_dpr_model_release_key_date").await,
                app.count("sn_dpr_model_release_related_task").await,
            )
        };
        assert_eq!(after.await, before, "nothing changed");
        assert_eq!(
            enhancement_release(&app, "Picture-in-picture")
                .await
                .as_deref(),
            Some(MEDIA_RELEASE)
        );

        // A coordinator adds key dates but may not take an enhancement out
        // (the enhancement table's write role is the product manager's).
        let (name, password) = basic(
            &app.user("cora", &["sn_dpr_model.release_coordinator"])
                .await,
        );
        let mut cora = Browser::new(&app);
        cora.sign_in(&name, &password).await;
        let page = cora.get(&media).await;
        assert!(page.text.contains("Add a key date"));
        assert!(!page.text.contains("Take out"));
        let ctoken = hidden(&page.text, "csrf_token");
        let res = cora.post(&remove, &[("csrf_token", &ctoken)]).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);

        // Without the session's token: refused.
        let res = admin.post(&remove, &[("csrf_token", "forged")]).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
        assert_eq!(
            enhancement_release(&app, "Picture-in-picture")
                .await
                .as_deref(),
            Some(MEDIA_RELEASE)
        );

        // The product manager takes it out: the record stays, unplanned.
        let page = admin.get(&media).await;
        assert!(page.text.contains(&remove), "{}", page.text);
        let res = admin.post(&remove, &[("csrf_token", &token)]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        let page = admin.get(&location(&res)).await;
        assert!(page.text.contains("Enhancement taken out of this release."));
        assert!(!page.text.contains("Picture-in-picture"));
        assert_eq!(
            enhancement_release(&app, "Picture-in-picture")
                .await
                .as_deref(),
            Some("")
        );
        // It is no longer this release's: a second time is "not found".
        let res = admin.post(&remove, &[("csrf_token", &token)]).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.text);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_policy_dry_runs_against_a_snapshot_with_its_validation_input() {
        let app = TestApp::spawn_demo().await;
        let snapshot = first_record(&app, "sn_cdm_snapshot", "ORDERBYDESCsys_created_on").await;
        let snapshot_id = snapshot["sys_id"].as_str().unwrap().to_owned();
        let snapshot_name = snapshot["name"].as_str().unwrap().to_owned();
        let original = "package tollgate.policy\n\ndefault compliant := true\n";
        let res = app
            .post(
                "/api/now/table/sn_pace_policy",
                json!({"name": "Tried on a snapshot", "rego": original}),
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        let id = res.body["result"]["sys_id"].as_str().unwrap().to_owned();
        let path = format!("/console/policies/{id}");
        let dry = format!("{path}/dry-run");
        // What the policy sees is what validation gives it: application,
        // deployable, snapshot name, configuration.
        let rego = "package tollgate.policy\n\ndefault compliant := false\n\ncompliant if input.deployable.name != \"\"\n\nreason := sprintf(\"snapshot %s of %s\", [input.snapshot, input.application]) if true\n";

        let mut admin = Browser::new(&app);
        admin.sign_in("admin", crate::helpers::ADMIN_PASSWORD).await;
        let page = admin.get(&path).await;
        assert!(
            page.text.contains("Dry run against the CDM snapshot"),
            "{}",
            page.text
        );
        assert!(page.text.contains(&snapshot_id));
        let token = hidden(&page.text, "csrf_token");
        let res = admin
            .post(
                &dry,
                &[
                    ("csrf_token", &token),
                    ("rego", rego),
                    ("against", "snapshot"),
                    ("snapshot", &snapshot_id),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert!(
            res.text.contains("Dry run against the snapshot"),
            "{}",
            res.text
        );
        assert!(res.text.contains("badge ok\">Compliant"), "{}", res.text);
        let app_name = snapshot["cdm_application_id"]["display_value"]
            .as_str()
            .unwrap_or("");
        assert!(
            res.text.contains(&format!("snapshot {snapshot_name} of ")),
            "{app_name}: {}",
            res.text
        );
        assert_eq!(stored_rego(&app, &id).await, original, "nothing saved");
        // The same input as validation's (one function builds both).
        let row = {
            let mut tx = app.db.begin_read().await.unwrap();
            let row = tollgate::domain::cdm::snapshots::by_id(&mut tx, &snapshot_id)
                .await
                .unwrap()
                .unwrap();
            tx.rollback().await.unwrap();
            row
        };
        let (_, input) = tollgate::domain::cdm::snapshots::trial_input(&app.db, &snapshot_id)
            .await
            .unwrap();
        assert_eq!(input, tollgate::domain::cdm::snapshots::policy_input(&row));
        // An unknown snapshot: not found, in words.
        let res = admin
            .post(
                &dry,
                &[
                    ("csrf_token", &token),
                    ("rego", rego),
                    ("against", "snapshot"),
                    ("snapshot", "00000000000000000000000000000000"),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.text);
        // Without the token: refused.
        let res = admin
            .post(
                &dry,
                &[
                    ("rego", rego),
                    ("against", "snapshot"),
                    ("snapshot", &snapshot_id),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);

        // A policy author who may not read CDM data is offered no snapshot
        // and refused one posted directly.
        let (name, password) = basic(&app.user("rita", &["sn_dpr_model.release_admin"]).await);
        let mut rita = Browser::new(&app);
        rita.sign_in(&name, &password).await;
        let page = rita.get(&path).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text.contains("Dry run against the release"));
        assert!(!page.text.contains("Dry run against the CDM snapshot"));
        let rtoken = hidden(&page.text, "csrf_token");
        let res = rita
            .post(
                &dry,
                &[
                    ("csrf_token", &rtoken),
                    ("rego", rego),
                    ("against", "snapshot"),
                    ("snapshot", &snapshot_id),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
        assert!(!res.text.contains(&format!("snapshot {snapshot_name}")));
        // With a CDM role as well, the snapshot is offered.
        let (name, password) = basic(
            &app.user("vera", &["sn_dpr_model.release_admin", "sn_cdm.cdm.viewer"])
                .await,
        );
        let mut vera = Browser::new(&app);
        vera.sign_in(&name, &password).await;
        assert!(vera
            .get(&path)
            .await
            .text
            .contains("Dry run against the CDM snapshot"));
        // A reader may not dry-run at all.
        let (name, password) = basic(
            &app.user("rolf", &["sn_dpr_model.release_user", "sn_cdm.cdm.viewer"])
                .await,
        );
        let mut rolf = Browser::new(&app);
        rolf.sign_in(&name, &password).await;
        let page = rolf.get(&path).await;
        let token = hidden(&page.text, "csrf_token");
        let res = rolf
            .post(
                &dry,
                &[
                    ("csrf_token", &token),
                    ("rego", rego),
                    ("against", "snapshot"),
                    ("snapshot", &snapshot_id),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
    }

    async fn active(app: &TestApp, user_name: &str) -> String {
        let u = first_record(app, "sys_user", &format!("user_name={user_name}")).await;
        u["active"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| u["active"].to_string())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_admin_deactivates_and_activates_a_user_but_never_themselves() {
        let app = TestApp::spawn_demo().await;
        let (name, password) = basic(&app.user("walter", &["sn_dpr_model.release_user"]).await);
        let walter_id = user_id(&app, "walter").await;
        let admin_id = user_id(&app, "admin").await;
        let mut admin = Browser::new(&app);
        admin.sign_in("admin", crate::helpers::ADMIN_PASSWORD).await;
        let list = admin.get("/console/admin/users?q=walter").await;
        let confirm = format!("/console/admin/users/{walter_id}/deactivate");
        assert!(list.text.contains(&confirm), "{}", list.text);
        let list = admin.get("/console/admin/users?q=admin").await;
        assert!(
            !list
                .text
                .contains(&format!("/console/admin/users/{admin_id}/deactivate")),
            "no Deactivate on one's own row"
        );

        // The confirmation page says what happens; the button does it.
        let page = admin.get(&confirm).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        assert!(page.text.contains("What deactivating does"));
        let token = hidden(&page.text, "csrf_token");
        assert_eq!(active(&app, "walter").await, "true");
        let res = admin.post(&confirm, &[("csrf_token", &token)]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        assert_eq!(active(&app, "walter").await, "false");
        let list = admin.get(&location(&res)).await;
        assert!(
            list.text.contains("The user was deactivated"),
            "{}",
            list.text
        );
        let res = Browser::new(&app).sign_in(&name, &password).await;
        assert_ne!(
            location(&res),
            "/console",
            "an inactive user cannot sign in"
        );
        let list = admin.get("/console/admin/users?q=walter").await;
        let activate = format!("/console/admin/users/{walter_id}/activate");
        assert!(list.text.contains(&activate), "{}", list.text);
        let res = admin.post(&activate, &[("csrf_token", &token)]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        assert_eq!(active(&app, "walter").await, "true");
        let res = Browser::new(&app).sign_in(&name, &password).await;
        assert_eq!(location(&res), "/console");

        // Never oneself: not offered, refused posted directly, and refused by
        // the Table API as well (the rule is the identity domain's).
        let own = format!("/console/admin/users/{admin_id}/deactivate");
        assert_eq!(admin.get(&own).await.status, StatusCode::FORBIDDEN);
        let res = admin.post(&own, &[("csrf_token", &token)]).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
        assert!(
            res.text.contains("you cannot deactivate yourself"),
            "{}",
            res.text
        );
        for value in [json!(false), json!("false"), json!("0")] {
            let res = app
                .request(
                    "PATCH",
                    &format!("/api/now/table/sys_user/{admin_id}"),
                    &crate::helpers::Auth::admin(),
                    Some(json!({"active": value})),
                )
                .await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{value}: {}", res.text);
        }
        assert_eq!(active(&app, "admin").await, "true");
        // The rest of one's own profile still saves.
        let res = app
            .request(
                "PATCH",
                &format!("/api/now/table/sys_user/{admin_id}"),
                &crate::helpers::Auth::admin(),
                Some(json!({"active": true, "email": "admin@example.com"})),
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        // Nor does anyone lock themselves out, or delete their own user.
        for value in [json!(true), json!("true")] {
            let res = app
                .request(
                    "PATCH",
                    &format!("/api/now/table/sys_user/{admin_id}"),
                    &crate::helpers::Auth::admin(),
                    Some(json!({"locked_out": value})),
                )
                .await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{value}: {}", res.text);
            assert!(res.text.contains("locked_out"), "{}", res.text);
        }
        let res = app
            .request(
                "DELETE",
                &format!("/api/now/table/sys_user/{admin_id}"),
                &crate::helpers::Auth::admin(),
                None,
            )
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
        assert!(
            res.text.contains("cannot delete your own user"),
            "{}",
            res.text
        );
        assert_eq!(active(&app, "admin").await, "true", "still there");

        // Without the token, or without the role to write users: refused,
        // nothing changed.
        let res = admin.post(&confirm, &[("csrf_token", "forged")]).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
        let (name, password) = basic(&app.user("rita", &["sn_dpr_model.release_admin"]).await);
        let mut rita = Browser::new(&app);
        rita.sign_in(&name, &password).await;
        let list = rita.get("/console/admin/users?q=walter").await;
        assert_eq!(list.status, StatusCode::OK);
        assert!(!list.text.contains(&confirm), "no Deactivate for a reader");
        assert_eq!(rita.get(&confirm).await.status, StatusCode::FORBIDDEN);
        let rtoken = hidden(&list.text, "csrf_token");
        let res = rita.post(&confirm, &[("csrf_token", &rtoken)]).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
        assert_eq!(active(&app, "walter").await, "true");
    }
}

// ---------------------------------------------------------------------------
// Configuration data (CDM)
// ---------------------------------------------------------------------------

mod configuration_data {
    use axum::http::StatusCode;
    use serde_json::Value;

    use super::{basic, first_record, hidden, location, Browser};
    use crate::helpers::TestApp;
    use tollgate::demo::cdm::STOREFRONT_OPEN;

    const OPEN: &str = "/console/config/storefront/changesets/Chset-1302";
    const MASK: &str = "*******";

    async fn signed_in<'a>(app: &'a TestApp, user: &str, roles: &[&str]) -> Browser<'a> {
        let auth = app.user(user, roles).await;
        let (name, password) = basic(&auth);
        let mut browser = Browser::new(app);
        let res = browser.sign_in(&name, &password).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        browser
    }

    async fn changeset_state(app: &TestApp, id: &str) -> String {
        first_record(app, "sn_cdm_changeset", &format!("sys_id={id}")).await["state"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    async fn snapshot(app: &TestApp, name: &str) -> Value {
        first_record(
            app,
            "sn_cdm_snapshot",
            &format!("name={name}^cdm_application_id.name=storefront"),
        )
        .await
    }

    fn no_secret(text: &str) {
        assert!(
            !text.contains("demo-Storefront-pw"),
            "a secret in clear: {text}"
        );
        assert!(!text.contains("enc:v"), "a ciphertext shown: {text}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_pages_show_applications_the_tree_and_resolved_values_with_secure_values_masked() {
        let app = TestApp::spawn_demo().await;
        // Even the secrets role sees masked values in the console.
        let mut browser = signed_in(&app, "cdm.secrets", &["sn_cdm.cdm_secrets"]).await;
        let list = browser.get("/console/config").await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.text);
        assert!(list.text.contains("href=\"/console/config\""), "nav link");
        assert!(list.text.contains("href=\"/console/config/storefront\""));
        assert!(
            list.text.contains("Staging: <code>Staging-v1.dpl</code>"),
            "{}",
            list.text
        );
        assert!(list
            .text
            .contains("Production: <span class=\"muted\">none published"));
        assert!(list
            .text
            .contains("href=\"/console/config/App%20Service1\""));

        let page = browser.get("/console/config/storefront").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        no_secret(&page.text);
        // Resolved per deployable: the collection's apiHost wins in
        // Production, the deployable's own logLevel over the application's.
        assert!(
            page.text.contains("https://api.example.com/v1"),
            "{}",
            page.text
        );
        assert!(page.text.contains("https://api.eu.example.com/v1"));
        let row = |name: &str| {
            let start = page
                .text
                .find(&format!("<th scope=\"row\"><code>{name}</code></th>"))
                .unwrap_or_else(|| panic!("no row {name}"));
            page.text[start..start + page.text[start..].find("</tr>").unwrap()].to_owned()
        };
        // Deployables by name: Production, then Staging.
        assert!(
            page.text.find("<th scope=\"col\">Production").unwrap()
                < page.text.find("<th scope=\"col\">Staging").unwrap()
        );
        let log = row("logLevel");
        assert!(
            log.contains("<td><code>warn</code></td><td><code>info</code></td>"),
            "{log}"
        );
        let host = row("apiHost");
        assert!(host.contains("api.example.com") && host.contains("api.eu.example.com"));
        // The tree: the secure CDI masked, includes named.
        assert!(page.text.contains(MASK));
        assert!(page.text.contains("includes <code>collections/eu</code>"));
        assert!(page.text.contains("Chset-1302"));

        let changeset = browser.get(OPEN).await;
        assert_eq!(changeset.status, StatusCode::OK, "{}", changeset.text);
        no_secret(&changeset.text);
        assert!(changeset.text.contains("<del><code>8080</code></del>"));
        assert!(changeset.text.contains("<ins><code>8081</code></ins>"));
        assert!(changeset.text.contains("components/database/password"));
        // Every demo application has its page, a shared library too.
        for other in [
            "testApp",
            "DemoApp",
            "App%20Service1",
            "OracleG-Library-10",
            "javalib",
        ] {
            let res = browser.get(&format!("/console/config/{other}")).await;
            assert_eq!(res.status, StatusCode::OK, "{other}: {}", res.text);
        }
        let res = browser
            .get("/console/config/testApp/changesets/Chset-146")
            .await;
        assert!(res.text.contains("cacheSettings"), "{}", res.text);
        assert_eq!(
            browser.get("/console/config/nothing").await.status,
            StatusCode::NOT_FOUND
        );
        // Another application's changeset is not found under this one.
        let other = browser
            .get("/console/config/testApp/changesets/Chset-1302")
            .await;
        assert_eq!(other.status, StatusCode::NOT_FOUND);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_editor_commits_a_changeset_through_the_form_and_sees_validation_per_deployable() {
        let app = TestApp::spawn_demo().await;
        let mut browser = signed_in(&app, "cdm.editor", &["sn_cdm.cdm_editor"]).await;
        let token = browser.token_of(OPEN).await;
        let form = browser.get(OPEN).await;
        assert!(
            form.text.contains("/changesets/Chset-1302/commit"),
            "commit form"
        );

        let res = browser
            .post(
                &format!("{OPEN}/commit"),
                &[
                    ("csrf_token", &token),
                    ("auto_validate", "true"),
                    ("publish_option", "publish_valid"),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        assert_eq!(location(&res), OPEN);
        // Queued: the page follows the job and offers no second commit.
        let queued = browser.get(OPEN).await;
        assert!(
            queued.text.contains("http-equiv=\"refresh\""),
            "{}",
            queued.text
        );
        assert!(!queued.text.contains("/changesets/Chset-1302/commit"));
        assert!(queued
            .text
            .contains("<span class=\"badge warn\">queued</span> asked"));

        app.run_jobs().await.assert_all_succeeded();
        assert_eq!(changeset_state(&app, STOREFRONT_OPEN).await, "committed");
        let done = browser.get(OPEN).await;
        assert!(!done.text.contains("http-equiv=\"refresh\""));
        assert!(done
            .text
            .contains("<span class=\"badge ok\">completed</span> asked"));
        assert!(
            done.text.contains("Validation results per deployable"),
            "{}",
            done.text
        );
        for name in ["Staging-v2.dpl", "Production-v2.dpl"] {
            assert!(done.text.contains(name), "{name}: {}", done.text);
            let s = snapshot(&app, name).await;
            assert_eq!(s["validation"], "passed", "{s}");
            assert_eq!(s["published"], "true", "{s}");
        }
        no_secret(&done.text);
        let list = browser.get("/console/config").await;
        assert!(list.text.contains("Staging: <code>Staging-v2.dpl</code>"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn viewers_and_others_are_refused_the_forms_and_a_bad_csrf_token_changes_nothing() {
        let app = TestApp::spawn_demo().await;
        let production = snapshot(&app, "Production-v1.dpl").await["sys_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let jobs = app.count("tollgate_job").await;
        let requests = app.count("sn_cdm_request_queue").await;
        let base = "/console/config/storefront/snapshots";

        // No CDM role: no link, no page.
        let mut other = signed_in(&app, "reader", &["sn_dpr_model.release_user"]).await;
        let today = other.get("/console").await;
        assert!(!today.text.contains("href=\"/console/config\""), "no link");
        for path in ["/console/config", "/console/config/storefront", OPEN, base] {
            assert_eq!(
                other.get(path).await.status,
                StatusCode::FORBIDDEN,
                "{path}"
            );
        }

        // A viewer reads, but sees no form and is refused each one posted.
        let mut viewer = signed_in(&app, "cdm.viewer", &["sn_cdm.cdm.viewer"]).await;
        let page = viewer.get(OPEN).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.text.contains("/changesets/Chset-1302/commit"));
        let snapshots = viewer.get(base).await;
        assert_eq!(snapshots.status, StatusCode::OK);
        assert!(!snapshots.text.contains("/validate\""));
        assert!(snapshots.text.contains("/export\""), "a viewer exports");
        let token = hidden(&page.text, "csrf_token");
        for path in [
            format!("{OPEN}/commit"),
            format!("{base}/{production}/validate"),
            format!("{base}/{production}/publish"),
        ] {
            let res = viewer.post(&path, &[("csrf_token", &token)]).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{path}: {}", res.text);
        }

        // An editor without the session's token: refused.
        let mut editor = signed_in(&app, "cdm.editor", &["sn_cdm.cdm_editor"]).await;
        for fields in [vec![], vec![("csrf_token", "0123456789abcdef")]] {
            let res = editor.post(&format!("{OPEN}/commit"), &fields).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
            assert!(res.text.contains("security token"), "{}", res.text);
            let res = editor
                .post(&format!("{base}/{production}/publish"), &fields)
                .await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
        }

        // Nothing changed.
        assert_eq!(changeset_state(&app, STOREFRONT_OPEN).await, "open");
        assert_eq!(app.count("tollgate_job").await, jobs, "no job queued");
        assert_eq!(app.count("sn_cdm_request_queue").await, requests);
        let s = snapshot(&app, "Production-v1.dpl").await;
        assert_eq!(s["published"], "false", "{s}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_editor_validates_and_publishes_a_snapshot_and_exports_are_masked() {
        let app = TestApp::spawn_demo().await;
        let production = snapshot(&app, "Production-v1.dpl").await["sys_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let base = "/console/config/storefront/snapshots";
        let mut editor = signed_in(&app, "cdm.editor", &["sn_cdm.cdm_editor"]).await;
        let token = editor.token_of(base).await;
        let page = editor.get(base).await;
        assert!(page.text.contains(&format!("{base}/{production}/publish")));

        let res = editor
            .post(
                &format!("{base}/{production}/validate"),
                &[("csrf_token", &token)],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        assert_eq!(location(&res), format!("{base}?notice=validated"));
        let res = editor
            .post(
                &format!("{base}/{production}/publish"),
                &[("csrf_token", &token)],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        let s = snapshot(&app, "Production-v1.dpl").await;
        assert_eq!(s["published"], "true", "{s}");
        let after = editor.get(&location(&res)).await;
        assert!(after.text.contains("The snapshot is published"));

        // The export download: each format, the secure value masked.
        for format in ["json", "yaml", "properties", "ini"] {
            let res = editor
                .get(&format!("{base}/{production}/export?format={format}"))
                .await;
            assert_eq!(res.status, StatusCode::OK, "{format}: {}", res.text);
            assert!(
                res.header("content-disposition")
                    .unwrap()
                    .contains(&format!("Production-v1.{format}")),
                "{format}"
            );
            no_secret(&res.text);
            assert!(res.text.contains(MASK), "{format}: {}", res.text);
        }
        let yaml = editor
            .get(&format!("{base}/{production}/export?format=yaml"))
            .await;
        let parsed: Value = serde_norway::from_str(&yaml.text).expect("valid YAML");
        assert_eq!(parsed["Production"]["database"]["password"], MASK);
        assert_eq!(
            parsed["Production"]["web"]["apiUrl"],
            "https://api.eu.example.com/v1"
        );
        let bad = editor
            .get(&format!("{base}/{production}/export?format=xml"))
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_conflict_blocks_the_console_commit_and_is_shown_with_its_reason() {
        let app = TestApp::spawn_demo().await;
        // Someone else changes web/port and commits first.
        let res = app
            .request(
                "POST",
                "/api/sn_cdm/changesets/create?appName=storefront",
                &crate::helpers::Auth::admin(),
                None,
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let other = res.body["result"]["number"].as_str().unwrap().to_owned();
        let res = app
            .request(
                "PUT",
                &format!("/api/sn_cdm/editor/nodes?changesetNumber={other}&fullNamePath=storefront/components/web/port&newValue=9090"),
                &crate::helpers::Auth::admin(),
                None,
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let res = app
            .request(
                "PUT",
                &format!("/api/sn_cdm/changesets/commit?changesetNumber={other}"),
                &crate::helpers::Auth::admin(),
                None,
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        app.run_jobs().await.assert_all_succeeded();

        let mut editor = signed_in(&app, "cdm.editor", &["sn_cdm.cdm_editor"]).await;
        let token = editor.token_of(OPEN).await;
        let res = editor
            .post(&format!("{OPEN}/commit"), &[("csrf_token", &token)])
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        app.run_jobs().await.assert_all_succeeded();
        assert_eq!(changeset_state(&app, STOREFRONT_OPEN).await, "blocked");
        let page = editor.get(OPEN).await;
        assert!(
            page.text.contains("The commit did not go through"),
            "{}",
            page.text
        );
        let conflicts = &page.text[page.text.find("id=\"conflicts\"").unwrap()..];
        let conflicts = &conflicts[..conflicts.find("</section>").unwrap()];
        assert!(
            conflicts.contains("<code>components/web/port</code>: <strong>"),
            "{conflicts}"
        );
        assert!(!conflicts.contains("None found"), "{conflicts}");
        assert!(
            conflicts.contains(&format!("was changed by {other} after")),
            "the other changeset named by its number: {conflicts}"
        );
        // A blocked changeset may be committed again (after a fix).
        assert!(page.text.contains("/changesets/Chset-1302/commit"));
        no_secret(&page.text);
    }

    /// The export API's YAML is valid YAML with the secure value masked
    /// (quoted) for a reader, and in clear (escaped) for the secrets role.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_export_api_writes_valid_yaml_masked_or_in_clear() {
        let app = TestApp::spawn_demo().await;
        let viewer = app.user("cdm.viewer", &["sn_cdm.cdm.viewer"]).await;
        let secrets = app.user("cdm.secrets", &["sn_cdm.cdm_secrets"]).await;
        let res = app
            .request(
                "POST",
                "/api/sn_cdm/applications/deployables/exports?appName=storefront&deployableName=Staging&exporterName=console-test&dataFormat=yaml",
                &viewer,
                None,
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let id = res.body["result"]["export_id"].as_str().unwrap().to_owned();
        app.run_jobs().await.assert_all_succeeded();
        let path = format!("/api/sn_cdm/applications/deployables/exports/{id}/content");
        for (auth, expected) in [(&viewer, MASK), (&secrets, "demo-Storefront-pw-1")] {
            let res = app.request("GET", &path, auth, None).await;
            assert_eq!(res.status, StatusCode::OK, "{}", res.text);
            let text = res.body["result"]["exporter_result"].as_str().unwrap();
            let parsed: Value = serde_norway::from_str(text)
                .unwrap_or_else(|e| panic!("invalid YAML ({e}): {text}"));
            assert_eq!(
                parsed["Staging"]["database"]["password"], expected,
                "{text}"
            );
        }
    }
}

/// Reading a changeset locks nothing: while a write (an edit, a commit)
/// holds the changeset's row, its console page and its activity still
/// answer, instead of waiting for the writer (PostgreSQL's `FOR UPDATE`
/// is taken in write transactions only).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changeset_page_does_not_wait_for_a_writer_holding_the_changeset() {
    use std::time::Duration;
    use tollgate::domain::cdm::{changesets, overview};

    let app = TestApp::spawn_demo().await;
    let mut writer = app.db.begin().await.unwrap();
    let held = changesets::by_number(&mut writer, "Chset-1302")
        .await
        .unwrap();
    assert!(held.is_some(), "the demo's open storefront changeset");
    let read = tokio::time::timeout(
        Duration::from_secs(10),
        overview::changeset(&app.db, "storefront", "Chset-1302"),
    )
    .await
    .expect("the page waited for the writer's lock");
    assert!(read.is_ok(), "the changeset read");
    let activity = tokio::time::timeout(
        Duration::from_secs(10),
        changesets::activity(&app.db, "Chset-1302"),
    )
    .await
    .expect("the activity waited for the writer's lock");
    assert!(activity.is_ok());
    writer.rollback().await.unwrap();
}
