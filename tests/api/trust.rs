//! Trust boundaries: what an unauthenticated or low-rights caller can send,
//! and that nothing it sends takes the server down, reaches a parser before
//! authentication, or steers the server's answers.
//!
//! The hostile-input suite sends nested, oversized, malformed and otherwise
//! hostile bodies to every family's write endpoints, without credentials
//! and as a user without roles, and asserts a 4xx in the family's envelope
//! and a live server after each. The router runs in the test's process, so
//! a request that overflowed a stack or aborted would end the test run.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

/// The write endpoints of every family (method, path).
const WRITE_ENDPOINTS: &[(&str, &str)] = &[
    ("POST", "/api/now/table/sys_user"),
    (
        "PATCH",
        "/api/now/table/sys_user/0123456789abcdef0123456789abcdef",
    ),
    ("POST", "/api/sn_dpr/digital_product_release/release"),
    ("POST", "/api/sn_dpr/digital_product_release/release_calendar"),
    ("POST", "/api/v3/releases"),
    ("PUT", "/api/v3/releases/1"),
    ("POST", "/api/sn_cdm/changesets/create"),
    ("POST", "/api/sn_cdm/editor/nodes"),
    (
        "POST",
        "/api/sn_cdm/applications/uploads/components?appName=a&deployableName=d&changesetNumber=Chset-1&dataFormat=properties",
    ),
    ("POST", "/api/sn_cicd/update_set/create"),
    ("POST", "/api/sn_cicd/update_set/retrieve"),
];

fn nested_xml(levels: usize) -> Vec<u8> {
    format!("{}{}", "<a>".repeat(levels), "</a>".repeat(levels)).into_bytes()
}

const ENTITY_BOMB: &str = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<request><name>&lol4;</name></request>"#;

/// Hostile bodies: (what, content type, bytes).
fn hostile_bodies() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    vec![
        (
            "nested JSON arrays",
            "application/json",
            "[".repeat(100_000).into_bytes(),
        ),
        (
            "nested JSON objects",
            "application/json",
            "{\"a\":".repeat(100_000).into_bytes(),
        ),
        ("nested XML", "application/xml", nested_xml(100_000)),
        (
            "an entity bomb",
            "application/xml",
            ENTITY_BOMB.as_bytes().to_vec(),
        ),
        (
            "an oversized body",
            "application/json",
            format!("{{\"name\": \"{}\"}}", "x".repeat(200 * 1024)).into_bytes(),
        ),
        (
            "malformed JSON",
            "application/json",
            b"{\"name\": ".to_vec(),
        ),
        (
            "malformed XML",
            "application/xml",
            b"<request><name>".to_vec(),
        ),
        (
            "invalid UTF-8",
            "application/json",
            vec![b'{', b'"', 0xff, 0xfe, b'"', b'}'],
        ),
        (
            "huge numbers",
            "application/json",
            b"{\"name\": 1e400, \"row_count\": 99999999999999999999999999999}".to_vec(),
        ),
        ("not an object", "application/json", b"[1, 2, 3]".to_vec()),
    ]
}

fn request(
    method: &str,
    path: &str,
    auth: &Auth,
    content_type: &str,
    body: Vec<u8>,
) -> Request<Body> {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "tollgate.test")
        .header("accept", "application/json")
        .header("content-type", content_type);
    if let Auth::Basic(user, password) = auth {
        use base64::Engine;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        req = req.header("authorization", format!("Basic {token}"));
    }
    req.body(Body::from(body)).unwrap()
}

/// Whether `body` is the error envelope of the family `path` belongs to.
fn is_family_envelope(path: &str, body: &Value) -> bool {
    if path.starts_with("/api/v3/") {
        body["response_status"].is_object() || body["response_status"].is_array()
    } else if path.starts_with("/api/sn_dpr/") {
        body["result"]["error"] == json!(true) || body["error"]["message"].is_string()
    } else {
        body["error"]["message"].is_string() && body["status"] == "failure"
    }
}

async fn assert_alive(app: &TestApp) {
    let res = app.request("GET", "/healthz", &Auth::None, None).await;
    assert_eq!(res.status, StatusCode::OK, "the server stopped answering");
}

/// Sends every hostile body to every write endpoint as `auth`; each answer
/// must be in the family's envelope with a status `expected` accepts, and
/// the server must still answer afterwards.
async fn send_every_hostile_body(app: &TestApp, auth: &Auth, expected: fn(StatusCode) -> bool) {
    for (method, path) in WRITE_ENDPOINTS {
        for (what, content_type, body) in hostile_bodies() {
            let res = app
                .send(request(method, path, auth, content_type, body))
                .await;
            assert!(
                expected(res.status),
                "{what} to {method} {path}: {} {}",
                res.status,
                res.text
            );
            assert!(
                is_family_envelope(path, &res.body),
                "{what} to {method} {path}: {}",
                res.text
            );
            assert_alive(app).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_bodies_without_credentials_are_refused_before_they_are_read() {
    let app = TestApp::spawn().await;
    send_every_hostile_body(&app, &Auth::None, |s| s == StatusCode::UNAUTHORIZED).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_bodies_from_a_user_without_roles_get_a_4xx_in_the_family_envelope() {
    let app = TestApp::spawn().await;
    let nobody = app.user("nobody", &[]).await;
    let users_before = app.count("sys_user").await;
    send_every_hostile_body(&app, &nobody, |s| s.is_client_error()).await;
    assert_eq!(app.count("sys_user").await, users_before, "nothing changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_bodies_from_an_admin_get_a_4xx_and_change_nothing() {
    let app = TestApp::spawn_demo().await;
    let users_before = app.count("sys_user").await;
    let update_sets_before = app.count("sys_update_set").await;
    send_every_hostile_body(&app, &Auth::admin(), |s| s.is_client_error()).await;
    assert_eq!(app.count("sys_user").await, users_before);
    assert_eq!(app.count("sys_update_set").await, update_sets_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_xml_past_the_depth_limit_is_a_400_that_names_the_limit() {
    // Room for 100,000 levels (700 KB): the depth limit, not the size
    // limit, refuses it.
    let settings = tollgate::config::Settings {
        body_limit: 2 * 1024 * 1024,
        ..test_settings()
    };
    let app = TestApp::spawn_with_settings(settings).await;
    let res = app
        .send(request(
            "POST",
            "/api/sn_cicd/update_set/create",
            &Auth::admin(),
            "application/xml",
            nested_xml(100_000),
        ))
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    assert!(
        res.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nested deeper than 32 levels"),
        "{}",
        res.text
    );
    let res = app
        .send(request(
            "POST",
            "/api/sn_cicd/update_set/create",
            &Auth::admin(),
            "application/xml",
            ENTITY_BOMB.as_bytes().to_vec(),
        ))
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    assert!(
        res.text
            .contains("document type declarations are not accepted"),
        "{}",
        res.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_query_strings_are_refused_or_served_never_a_5xx() {
    let app = TestApp::spawn().await;
    let nobody = app.user("nobody", &[]).await;
    // Near the longest URI the HTTP layer accepts (64 KiB).
    let long = "a".repeat(30_000);
    for path in [
        format!("/api/now/table/sys_user?sysparm_query=user_name={long}"),
        format!("/api/now/table/sys_user?sysparm_query={long}"),
        format!("/api/now/table/sys_user?sysparm_limit={long}"),
        "/api/now/table/sys_user?sysparm_offset=99999999999999999999999".to_string(),
        format!("/api/sn_cdm/changesets?changesetNumber={long}"),
        format!("/api/v3/releases?input_data={long}"),
    ] {
        for auth in [Auth::None, nobody.clone(), Auth::admin()] {
            let res = app.request("GET", &path, &auth, None).await;
            assert!(
                !res.status.is_server_error(),
                "{} ({auth:?}): {} {}",
                &path[..60],
                res.status,
                res.text
            );
            assert_alive(&app).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encoded_query_with_more_terms_than_the_limit_is_a_400_naming_sysparm_query() {
    let app = TestApp::spawn().await;
    let terms: Vec<String> = (0..3000).map(|i| format!("user_name=u{i}")).collect();
    let query = terms.join("^OR");
    let res = app
        .get(&format!("/api/now/table/sys_user?sysparm_query={query}"))
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    let message = res.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("sysparm_query") && message.contains("at most 500"),
        "{message}"
    );
    // Within the limit the same kind of query is answered.
    let query = terms[..400].join("^OR");
    let res = app
        .get(&format!("/api/now/table/sys_user?sysparm_query={query}"))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v3_search_criteria_past_the_limit_and_huge_pages_are_refused_by_name() {
    let settings = tollgate::config::Settings {
        max_query_terms: 50,
        ..test_settings()
    };
    let app = TestApp::spawn_with_settings(settings).await;
    let criteria: Vec<Value> = (0..100)
        .map(|i| json!({"field": "title", "condition": "is", "value": format!("t{i}"), "logical_operator": "or"}))
        .collect();
    let input = json!({"list_info": {"search_criteria": criteria}});
    let res = app
        .get(&format!(
            "/api/v3/releases?input_data={}",
            urlencode(&input.to_string())
        ))
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    assert!(res.text.contains("search_criteria"), "{}", res.text);

    // Items under either spelling count, whichever the condition reads.
    let items: Vec<String> = (0..100).map(|i| format!("t{i}")).collect();
    let input = json!({"list_info": {"search_criteria": {"field": "title", "condition": "is", "values": "x", "value": items}}});
    let res = app
        .get(&format!(
            "/api/v3/releases?input_data={}",
            urlencode(&input.to_string())
        ))
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    assert!(res.text.contains("search_criteria"), "{}", res.text);

    let input = json!({"list_info": {"row_count": 100, "page": i64::MAX}});
    let res = app
        .get(&format!(
            "/api/v3/releases?input_data={}",
            urlencode(&input.to_string())
        ))
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    assert!(res.text.contains("page"), "{}", res.text);
    assert!(!res.text.contains("-199"), "{}", res.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sysparm_limit_is_capped_at_the_max_page_size() {
    let settings = tollgate::config::Settings {
        max_page_size: 2,
        ..test_settings()
    };
    let app = TestApp::spawn_with_settings(settings).await;
    for name in ["u1", "u2", "u3"] {
        app.user(name, &[]).await;
    }
    let res = app.get("/api/now/table/sys_user?sysparm_limit=1000").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.body["result"].as_array().unwrap().len(), 2);
    let link = res.header("link").unwrap();
    assert!(link.contains("sysparm_limit=2"), "{link}");
    let res = app
        .get(&format!(
            "/api/now/table/sys_user?sysparm_offset={}",
            i64::MAX
        ))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
}

fn with_peer(mut req: Request<Body>, peer: &str) -> Request<Body> {
    let addr: SocketAddr = peer.parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    req
}

/// The list of users (its `Link` header shows the base of links), as
/// `user` with `password`, from `peer`, with forwarding headers.
fn list_users_from(
    peer: &str,
    user: &str,
    password: &str,
    forwarded: &[(&str, &str)],
) -> Request<Body> {
    let mut req = request(
        "GET",
        "/api/now/table/sys_user?sysparm_limit=1",
        &Auth::Basic(user.into(), password.into()),
        "application/json",
        Vec::new(),
    );
    for (name, value) in forwarded {
        req.headers_mut().insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            axum::http::HeaderValue::from_str(value).unwrap(),
        );
    }
    with_peer(req, peer)
}

fn list_users(peer: &str, forwarded_host: &str, forwarded_proto: &str) -> Request<Body> {
    list_users_from(
        peer,
        "admin",
        ADMIN_PASSWORD,
        &[
            ("x-forwarded-host", forwarded_host),
            ("x-forwarded-proto", forwarded_proto),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_headers_are_believed_only_from_trusted_proxies() {
    let settings = tollgate::config::Settings {
        trusted_proxies: "10.0.0.0/8".parse().unwrap(),
        ..test_settings()
    };
    let app = TestApp::spawn_with_settings(settings).await;

    let res = app
        .send(list_users("203.0.113.9:5000", "evil.example", "https"))
        .await;
    let link = res.header("link").unwrap().to_owned();
    assert!(link.starts_with("<http://tollgate.test/"), "{link}");
    assert!(!link.contains("evil.example"), "{link}");

    let res = app
        .send(list_users("10.1.2.3:5000", "releases.example.com", "https"))
        .await;
    let link = res.header("link").unwrap().to_owned();
    assert!(link.starts_with("<https://releases.example.com/"), "{link}");

    // Not even a trusted proxy can turn a link into script.
    let res = app
        .send(list_users(
            "10.1.2.3:5000",
            "javascript:alert(1)//",
            "javascript",
        ))
        .await;
    let link = res.header("link").unwrap().to_owned();
    assert!(link.starts_with("<http://tollgate.test/"), "{link}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_headers_are_not_believed_when_no_proxy_is_configured() {
    let app = TestApp::spawn().await;
    for peer in ["127.0.0.1:5000", "10.1.2.3:5000"] {
        let res = app.send(list_users(peer, "evil.example", "https")).await;
        let link = res.header("link").unwrap().to_owned();
        assert!(link.starts_with("<http://tollgate.test/"), "{peer}: {link}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_openapi_need_credentials_unless_a_setting_opens_them() {
    let app = TestApp::spawn().await;
    for path in ["/metrics", "/openapi.json"] {
        let res = app.request("GET", path, &Auth::None, None).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{path}: {}", res.text);
        let res = app.request("GET", path, &Auth::admin(), None).await;
        assert_eq!(res.status, StatusCode::OK, "{path}");
    }
    for path in ["/healthz", "/readyz"] {
        let res = app.request("GET", path, &Auth::None, None).await;
        assert_eq!(res.status, StatusCode::OK, "{path}: {}", res.text);
    }
    let settings = tollgate::config::Settings {
        public_metrics: true,
        public_openapi: true,
        ..test_settings()
    };
    let open = TestApp::spawn_with_settings(settings).await;
    for path in ["/metrics", "/openapi.json"] {
        let res = open.request("GET", path, &Auth::None, None).await;
        assert_eq!(res.status, StatusCode::OK, "{path}: {}", res.text);
    }
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn guess_from_behind_proxy(proxy: &str, client: &str, user: &str) -> Request<Body> {
    list_users_from(proxy, user, "wrong", &[("x-forwarded-for", client)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_failed_logins_count_per_forwarded_client() {
    let settings = tollgate::config::Settings {
        trusted_proxies: "10.0.0.0/8".parse().unwrap(),
        failed_logins_per_address: 3,
        ..test_settings()
    };
    let app = TestApp::spawn_with_settings(settings).await;
    for i in 0..3 {
        let res = app
            .send(guess_from_behind_proxy(
                "10.0.0.2:40000",
                "198.51.100.7",
                &format!("u{i}"),
            ))
            .await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text);
    }
    let res = app
        .send(guess_from_behind_proxy(
            "10.0.0.2:40000",
            "198.51.100.7",
            "u9",
        ))
        .await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{}", res.text);
    // Another client behind the same proxy has a budget of its own.
    let res = app
        .send(guess_from_behind_proxy(
            "10.0.0.2:40000",
            "203.0.113.5",
            "u9",
        ))
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text);
    // An untrusted peer cannot pick a fresh address by sending the header:
    // its own address is counted.
    for i in 0..3 {
        let res = app
            .send(guess_from_behind_proxy(
                "192.0.2.1:40000",
                &format!("203.0.113.{}", 100 + i),
                "u1",
            ))
            .await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text);
    }
    let res = app
        .send(guess_from_behind_proxy(
            "192.0.2.1:40000",
            "203.0.113.200",
            "u1",
        ))
        .await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{}", res.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_endpoint_reads_at_most_form_body_limit_and_short_credentials() {
    let app = TestApp::spawn().await;
    let big = format!(
        "grant_type=password&username=admin&password=x&pad={}",
        "a".repeat(64 * 1024)
    );
    let res = app
        .raw(
            "POST",
            "/oauth_token.do",
            &Auth::None,
            Some(&big),
            "application/x-www-form-urlencoded",
        )
        .await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", res.text);
    assert_eq!(res.body["error"], "invalid_request", "{}", res.text);
    // A user name no account can have fails at once, as a failed login.
    let long_name = "u".repeat(10_000);
    let form = format!("grant_type=password&username={long_name}&password=x");
    let res = app
        .raw(
            "POST",
            "/oauth_token.do",
            &Auth::None,
            Some(&form),
            "application/x-www-form-urlencoded",
        )
        .await;
    assert!(res.status.is_client_error(), "{} {}", res.status, res.text);
    assert_ne!(res.status, StatusCode::OK);
    let ok = format!("grant_type=password&username=admin&password={ADMIN_PASSWORD}");
    let res = app
        .raw(
            "POST",
            "/oauth_token.do",
            &Auth::None,
            Some(&ok),
            "application/x-www-form-urlencoded",
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
}
