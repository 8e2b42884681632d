//! `POST .../digital_product_release/release`: independent, draft, primary
//! with child releases, draft to In Progress; phases from the template.

use axum::http::StatusCode;
use serde_json::{json, Value};
use tollgate::demo;

use crate::helpers::*;

const RELEASE: &str = "/api/sn_dpr/v1/digital_product_release/release";

async fn release(app: &TestApp, id: &str) -> Value {
    let res = app
        .get(&format!("/api/now/table/sn_dpr_model_release/{id}"))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    res.body["result"].clone()
}

async fn phases(app: &TestApp, release: &str) -> Vec<Value> {
    let res = app
        .get(&format!("/api/now/table/sn_dpr_model_release_phase?sysparm_query=release={release}^ORDERBYorder"))
        .await;
    res.body["result"].as_array().unwrap().clone()
}

async fn children(app: &TestApp, primary: &str) -> Vec<Value> {
    let res = app
        .get(&format!("/api/now/table/sn_dpr_model_release?sysparm_query=primary_release={primary}^ORDERBYname"))
        .await;
    res.body["result"].as_array().unwrap().clone()
}

fn example_with_included_versions() -> Value {
    json!({
        "name": "Patch Q4",
        "releaseTarget": "8071e5f8ff687a10509cffffffffffd9",
        "releaseOwner": "6816f79cc0a8016401c5a33be04be441",
        "releaseDescription": "Q4 release",
        "productVersion": "",
        "templateId": "c83134a4ff643a10509cffffffffffb5",
        "releaseDate": "",
        "releaseCalendar": "",
        "includedVersions": ["39fd3f66ff503610509cffffffffff09"],
        "productId": "c65c372bfb9d5610fdacfe7405efdcd7",
        "autoCreateVersionName": "1.2",
        "autoCreateIncludedVersions": [{"product": "de66ea3833e966103e8361a9ed5c7b4e", "version": "1.1"}]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_primary_release_example_creates_versions_and_child_releases() {
    let app = TestApp::spawn_demo().await;
    let res = app.post(RELEASE, example_with_included_versions()).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(res.body["result"]["error"], false);
    assert_eq!(res.body["result"]["message"], "");
    let id = res.body["result"]["releaseId"].as_str().unwrap().to_owned();
    let progress = res.body["result"]["progressId"]
        .as_str()
        .expect("progressId")
        .to_owned();

    let primary = release(&app, &id).await;
    assert_eq!(primary["state"], "in_progress");
    assert!(primary["number"].as_str().unwrap().starts_with("REL"));
    assert_eq!(primary["readiness_target"]["value"], demo::TARGET_PATCH_Q4);
    assert_eq!(primary["planned_end"], "2026-12-18 23:59:59");
    // autoCreateVersionName made version 1.2 of the product.
    let version = primary["version"]["value"].as_str().unwrap();
    let v = app
        .get(&format!("/api/now/table/cmdb_model/{version}"))
        .await;
    assert_eq!(v.body["result"]["version"], "1.2");
    assert_eq!(
        v.body["result"]["product"]["value"],
        demo::PRODUCT_MOBILE_BANKING
    );
    assert_eq!(
        v.body["result"]["sys_class_name"],
        "cmdb_software_product_model"
    );

    // includedVersions: a child release at once; the auto-created one comes
    // from the job.
    assert_eq!(children(&app, &id).await.len(), 1);
    let p = app
        .get(&format!("/api/now/table/sys_progress_worker/{progress}"))
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert_eq!(p.body["result"]["state"], "pending");
    app.run_jobs().await.assert_all_succeeded();
    app.assert_no_jobs_left().await;
    let p = app
        .get(&format!("/api/now/table/sys_progress_worker/{progress}"))
        .await;
    assert_eq!(p.body["result"]["state"], "complete");
    assert_eq!(p.body["result"]["percent_complete"], "100");
    let kids = children(&app, &id).await;
    assert_eq!(kids.len(), 2);
    let products: Vec<&str> = kids
        .iter()
        .map(|k| k["product"]["value"].as_str().unwrap())
        .collect();
    assert!(products.contains(&demo::PRODUCT_IDENTITY));
    assert!(products.contains(&demo::PRODUCT_NOTIFICATIONS));
    assert!(kids.iter().all(|k| k["state"] == "in_progress"));
}

/// A job row stored by an earlier server, in the JSON it wrote, runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn included_versions_queued_by_an_earlier_server_are_created() {
    let app = TestApp::spawn_demo().await;
    let mut body = example_with_included_versions();
    let auto = body
        .as_object_mut()
        .unwrap()
        .remove("autoCreateIncludedVersions")
        .unwrap();
    let res = app.post(RELEASE, body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let id = res.body["result"]["releaseId"].as_str().unwrap().to_owned();
    assert_eq!(children(&app, &id).await.len(), 1);
    app.assert_no_jobs_left().await;

    let payload = json!({"release": id, "items": auto, "actor": "admin"}).to_string();
    app.queue_raw_job("dpr.create_included_versions", &payload)
        .await;
    app.run_jobs().await.assert_all_succeeded();
    let kids = children(&app, &id).await;
    assert_eq!(kids.len(), 2);
    assert!(kids
        .iter()
        .any(|k| k["product"]["value"] == auto[0]["product"]));
    app.assert_no_jobs_left().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_gets_the_templates_phases_and_starts_the_first() {
    let app = TestApp::spawn_demo().await;
    let res = app.post(RELEASE, example_with_included_versions()).await;
    let id = res.body["result"]["releaseId"].as_str().unwrap().to_owned();
    let phases = phases(&app, &id).await;
    let names: Vec<&str> = phases.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Plan", "Build", "Test", "Deploy"]);
    let states: Vec<&str> = phases
        .iter()
        .map(|p| p["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["in_progress", "pending", "pending", "pending"]);
    assert_eq!(
        release(&app, &id).await["current_phase"]["value"],
        phases[0]["sys_id"]
    );
    assert_eq!(
        phases[3]["planned_end"], "2026-12-18 23:59:59",
        "phases fill the window up to the target"
    );
    for pair in phases.windows(2) {
        assert_eq!(
            pair[0]["planned_end"], pair[1]["planned_start"],
            "phases follow each other"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_draft_example_moves_the_draft_release_to_in_progress() {
    let app = TestApp::spawn_demo().await;
    let body = json!({
        "name": "Q4 2025 Product Release",
        "releaseTarget": "077e1ffb97bc4e107bc2341de053afe2",
        "releaseOwner": "6816f79cc0a8016401c5a33be04be441",
        "releaseDescription": "",
        "productVersion": "0ff12581ffbc3210509cffffffffff15",
        "templateId": "648c6ca8ffe03a10509cffffffffff11",
        "releaseDate": "",
        "releaseCalendar": "",
        "includedVersions": [],
        "productId": "",
        "autoCreateVersionName": "",
        "autoCreateIncludedVersions": [],
        "draftReleaseId": "83f12581ffbc3210509cffffffffff16"
    });
    assert_eq!(
        release(&app, demo::DRAFT_RELEASE_ID).await["state"],
        "draft"
    );
    let res = app.post(RELEASE, body.clone()).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(
        res.body,
        json!({"result": {"error": false, "message": "", "releaseId": demo::DRAFT_RELEASE_ID}})
    );
    let r = release(&app, demo::DRAFT_RELEASE_ID).await;
    assert_eq!(r["state"], "in_progress");
    assert_eq!(r["version"]["value"], demo::VERSION_PAYMENTS_2_5);
    assert_eq!(
        phases(&app, demo::DRAFT_RELEASE_ID).await[0]["state"],
        "in_progress"
    );
    // Only a Draft release can be moved.
    let again = app.post(RELEASE, body).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(again.body["result"]["error"], true);
    assert!(again.body["result"]["message"]
        .as_str()
        .unwrap()
        .contains("draftReleaseId"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_independent_release_example_validates_a_new_version() {
    let app = TestApp::spawn_demo().await;
    let res = app
        .post(
            RELEASE,
            json!({
                "name": "Q2 2026 patch",
                "productVersion": null,
                "releaseTarget": "008b84a1ffe4ba10509cffffffffff2c",
                "releaseDescription": "",
                "releaseOwner": "6816f79cc0a8016401c5a33be04be441",
                "productId": "012c6d20ff203210229bffffffffff25",
                "autoCreateVersionName": "2.4",
                "templateId": "648c6ca8ffe03a10509cffffffffff11",
                "releaseDate": "",
                "releaseCalendar": "",
                "isDraftRelease": false,
                "validatesVersion": true
            }),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let id = res.body["result"]["releaseId"].as_str().unwrap();
    assert!(res.body["result"].get("progressId").is_none());
    let r = release(&app, id).await;
    assert_eq!(r["validates_version"], "true");
    assert_eq!(r["state"], "in_progress");
    assert!(children(&app, id).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_release_starts_no_phase_and_a_release_date_creates_a_target() {
    let app = TestApp::spawn_demo().await;
    let res = app
        .post(
            RELEASE,
            json!({"name": "Drafty", "productId": demo::PRODUCT_PAYMENTS, "releaseOwner": demo::ADMIN_ID,
                   "templateId": demo::TEMPLATE_TIMELINE, "isDraftRelease": true,
                   "releaseDate": "2027-01-15", "releaseCalendar": demo::CALENDAR_ID}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let id = res.body["result"]["releaseId"].as_str().unwrap();
    let r = release(&app, id).await;
    assert_eq!(r["state"], "draft");
    assert_eq!(r["current_phase"], "");
    assert!(phases(&app, id)
        .await
        .iter()
        .all(|p| p["state"] == "pending"));
    let target = r["readiness_target"]["value"].as_str().unwrap();
    let t = app
        .get(&format!(
            "/api/now/table/sn_dpr_model_release_target/{target}"
        ))
        .await;
    assert_eq!(t.body["result"]["target_date"], "2027-01-15");
    assert_eq!(r["planned_end"], "2027-01-15 23:59:59");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_releases_name_the_field_and_write_nothing() {
    let app = TestApp::spawn_demo().await;
    let valid = json!({"name": "R", "productId": demo::PRODUCT_PAYMENTS, "releaseOwner": demo::ADMIN_ID, "templateId": demo::TEMPLATE_TIMELINE});
    let cases: Vec<(&str, Value)> = vec![
        ("name", json!({"name": ""})),
        ("releaseOwner", json!({"releaseOwner": null})),
        ("productId", json!({"productId": null})),
        (
            "productId",
            json!({"productId": "0123456789abcdef0123456789abcdef"}),
        ),
        (
            "productVersion",
            json!({"productVersion": demo::VERSION_IDENTITY_3_2}),
        ),
        (
            "templateId",
            json!({"templateId": "0123456789abcdef0123456789abcdef"}),
        ),
        (
            "releaseTarget",
            json!({"releaseTarget": "0123456789abcdef0123456789abcdef"}),
        ),
        ("releaseCalendar", json!({"releaseDate": "2027-01-01"})),
        (
            "releaseDate",
            json!({"releaseDate": "01/02/2027", "releaseCalendar": demo::CALENDAR_ID}),
        ),
        ("isDraftRelease", json!({"isDraftRelease": "maybe"})),
        (
            "includedVersions",
            json!({"includedVersions": [demo::PRODUCT_IDENTITY]}),
        ),
        ("includedVersions[0]", json!({"includedVersions": [5]})),
        (
            "autoCreateIncludedVersions[0].version",
            json!({"autoCreateIncludedVersions": [{"product": demo::PRODUCT_IDENTITY}]}),
        ),
        (
            "autoCreateIncludedVersions.product",
            json!({"autoCreateIncludedVersions": [{"product": "0123456789abcdef0123456789abcdef", "version": "1"}]}),
        ),
    ];
    let releases = app.count("sn_dpr_model_release").await;
    let models = app.count("cmdb_model").await;
    let jobs = app.count("tollgate_job").await;
    for (field, change) in cases {
        let mut body = valid.clone();
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let res = app.post(RELEASE, body).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{field}: {}", res.text);
        assert_eq!(res.body["result"]["error"], true, "{field}");
        let message = res.body["result"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{field}: {message}");
    }
    assert_eq!(app.count("sn_dpr_model_release").await, releases);
    assert_eq!(app.count("cmdb_model").await, models);
    assert_eq!(app.count("tollgate_job").await, jobs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_product_managers_and_release_admins_create_releases() {
    let app = TestApp::spawn_demo().await;
    let body =
        json!({"name": "R", "productId": demo::PRODUCT_PAYMENTS, "releaseOwner": demo::ADMIN_ID});
    let res = app
        .request("POST", RELEASE, &Auth::None, Some(body.clone()))
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let user = app.user("ursula", &["sn_dpr_model.release_user"]).await;
    let res = app
        .request("POST", RELEASE, &user, Some(body.clone()))
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(res.body["status"], "failure");
    let pm = app.user("paula", &["sn_dpr_model.product_manager"]).await;
    let res = app.request("POST", RELEASE, &pm, Some(body)).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_table_api_cannot_change_a_releases_state_or_phase() {
    let app = TestApp::spawn_demo().await;
    let path = format!(
        "/api/now/table/sn_dpr_model_release/{}",
        demo::DRAFT_RELEASE_ID
    );
    for field in ["state", "current_phase", "number", "process_type"] {
        let res = app
            .request(
                "PATCH",
                &path,
                &Auth::admin(),
                Some(json!({field: "in_progress"})),
            )
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{field}: {}", res.text);
        assert!(res.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(field));
    }
    assert_eq!(
        release(&app, demo::DRAFT_RELEASE_ID).await["state"],
        "draft"
    );
    let res = app
        .request(
            "POST",
            "/api/now/table/sys_progress_worker",
            &Auth::admin(),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::FORBIDDEN,
        "progress workers are read-only"
    );
}
