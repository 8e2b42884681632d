//! `GET /docs`: the API reference page, its script and style sheet, served
//! from the binary, loading nothing from another origin, open to the same
//! callers as `/openapi.json`.

use tollgate::config::Settings;

use crate::helpers::*;

#[tokio::test]
async fn the_reference_page_and_its_assets_are_served_with_their_types_and_a_same_origin_policy() {
    let app = TestApp::spawn().await;
    for (path, content_type) in [
        ("/docs", "text/html; charset=utf-8"),
        ("/docs.js", "text/javascript; charset=utf-8"),
        ("/docs.css", "text/css; charset=utf-8"),
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        assert_eq!(r.header("content-type"), Some(content_type), "{path}");
        let csp = r
            .header("content-security-policy")
            .expect("a content security policy");
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(csp.contains("connect-src 'self'"), "{csp}");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("http"),
            "{csp}"
        );
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert!(r
            .header("cache-control")
            .is_some_and(|c| c.contains("no-cache")));
        // Unchanged: 304 on revalidation.
        let etag = r.header("etag").expect("an etag").to_owned();
        let again = app
            .send(
                axum::http::Request::get(path)
                    .header("authorization", basic_admin())
                    .header("if-none-match", &etag)
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(again.status, 304, "{path}");
    }
}

fn basic_admin() -> String {
    use base64::Engine;
    let Auth::Basic(user, password) = Auth::admin() else {
        unreachable!()
    };
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

#[tokio::test]
async fn the_page_and_its_script_reference_only_their_own_origin() {
    let app = TestApp::spawn().await;
    let page = app.get("/docs").await.text;
    let script = app.get("/docs.js").await.text;
    let style = app.get("/docs.css").await.text;
    for (name, text) in [("page", &page), ("script", &script), ("style", &style)] {
        for foreign in ["http:", "https:", "\"//", "'//", "(//", "@import", "url("] {
            assert!(!text.contains(foreign), "the {name} names {foreign}");
        }
    }
    // No inline script or style for the policy to allow, and the assets and
    // the document by relative address (the page's own origin).
    assert!(
        page.contains("<script src=\"docs.js\" defer></script>"),
        "{page}"
    );
    assert!(
        page.contains("<link rel=\"stylesheet\" href=\"docs.css\">"),
        "{page}"
    );
    assert_eq!(page.matches("<script").count(), 1, "one script, external");
    assert!(
        !page.contains("<style") && !page.contains(" style="),
        "no inline style"
    );
    assert!(script.contains("fetch(\"openapi.json\", { credentials: \"same-origin\""));
    for dynamic in [
        "eval(",
        "new Function",
        "innerHTML",
        "import(",
        "importScripts",
    ] {
        assert!(!script.contains(dynamic), "the script uses {dynamic}");
    }
    // What the script reads is there: operations carry their family as a tag.
    let doc = app.get("/openapi.json").await.body;
    let tags = doc["tags"].as_array().expect("the families as tags");
    assert!(tags.iter().any(|t| t["name"] == "Table API"), "{tags:?}");
    assert_eq!(
        doc["paths"]["/api/now/table/{table}"]["get"]["tags"][0],
        "Table API"
    );
}

#[tokio::test]
async fn the_page_is_open_exactly_when_the_openapi_document_is() {
    let closed = TestApp::spawn().await;
    for path in ["/docs", "/docs.js", "/docs.css", "/openapi.json"] {
        let r = closed.request("GET", path, &Auth::None, None).await;
        assert_eq!(r.status, 401, "{path}: {}", r.text);
    }
    let open = TestApp::spawn_with_settings(Settings {
        public_openapi: true,
        ..test_settings()
    })
    .await;
    for path in ["/docs", "/docs.js", "/docs.css", "/openapi.json"] {
        let r = open.request("GET", path, &Auth::None, None).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
    }
}
