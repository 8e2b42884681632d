//! The Attachment API: files on records, kept in the database, seen and
//! changed under the roles of the record they are attached to.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::helpers::*;

/// A draft DPR release of the demo data (read by DPR readers, written by
/// product managers and release admins).
const RELEASE: &str = "83f12581ffbc3210509cffffffffff16";

fn basic(auth: &Auth) -> String {
    match auth {
        Auth::Basic(u, p) => format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
        ),
        other => panic!("not basic credentials: {other:?}"),
    }
}

/// `POST /api/now/attachment/file` with raw bytes.
async fn upload(
    app: &TestApp,
    auth: &Auth,
    table: &str,
    sys_id: &str,
    name: &str,
    content_type: &str,
    bytes: &[u8],
) -> TestResponse {
    let path = format!(
        "/api/now/attachment/file?table_name={table}&table_sys_id={sys_id}&file_name={name}"
    );
    let req = Request::builder()
        .method("POST")
        .uri(path)
        .header("host", "tollgate.test")
        .header("authorization", basic(auth))
        .header("content-type", content_type)
        .body(Body::from(bytes.to_vec()))
        .unwrap();
    app.send(req).await
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_goes_round_trip_metadata_list_download_and_delete() {
    let app = TestApp::spawn_demo().await;
    let pm = app.user("pm", &["sn_dpr_model.product_manager"]).await;
    let bytes: Vec<u8> = (0u8..=255).cycle().take(300_000).collect();
    let res = upload(
        &app,
        &pm,
        "sn_dpr_model_release",
        RELEASE,
        "build.bin",
        "application/x-tar",
        &bytes,
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let meta = &res.body["result"];
    let id = meta["sys_id"].as_str().unwrap().to_owned();
    assert_eq!(
        res.header("location"),
        Some(format!("http://tollgate.test/api/now/attachment/{id}").as_str())
    );
    assert_eq!(meta["file_name"], "build.bin");
    assert_eq!(meta["content_type"], "application/x-tar");
    assert_eq!(meta["size_bytes"], "300000");
    assert_eq!(meta["table_name"], "sn_dpr_model_release");
    assert_eq!(meta["table_sys_id"], RELEASE);
    assert_eq!(meta["hash"], sha256_hex(&bytes));
    assert_eq!(meta["sys_created_by"], "pm");
    assert_eq!(
        meta["download_link"],
        format!("http://tollgate.test/api/now/attachment/{id}/file")
    );
    // Stored in chunks: more than one for 300,000 bytes.
    assert!(app.count("sys_attachment_doc").await > 1);

    let got = app
        .request("GET", &format!("/api/now/v1/attachment/{id}"), &pm, None)
        .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    assert_eq!(&got.body["result"], meta);

    let query = format!("/api/now/attachment?sysparm_query=table_name=sn_dpr_model_release%5Etable_sys_id={RELEASE}");
    let listed = app.request("GET", &query, &pm, None).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert_eq!(listed.body["result"].as_array().unwrap().len(), 1);
    assert_eq!(listed.body["result"][0]["sys_id"], id.as_str());
    assert_eq!(listed.header("x-total-count"), Some("1"));

    let req = Request::builder()
        .uri(format!("/api/now/attachment/{id}/file"))
        .header("authorization", basic(&pm))
        .body(Body::empty())
        .unwrap();
    let file = app.send(req).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.header("content-type"), Some("application/x-tar"));
    assert_eq!(file.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(file.text, String::from_utf8_lossy(&bytes));
    let header_meta: Value =
        serde_json::from_str(file.header("x-attachment-metadata").unwrap()).unwrap();
    assert_eq!(header_meta["hash"], sha256_hex(&bytes));

    let deleted = app
        .request("DELETE", &format!("/api/now/attachment/{id}"), &pm, None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    assert_eq!(app.count("sys_attachment").await, 0);
    assert_eq!(app.count("sys_attachment_doc").await, 0);
    let gone = app
        .request("GET", &format!("/api/now/attachment/{id}"), &pm, None)
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.body["status"], "failure");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multipart_upload_takes_the_fields_and_the_file_part() {
    let app = TestApp::spawn_demo().await;
    let body = format!(
        "--b0undary\r\nContent-Disposition: form-data; name=\"table_name\"\r\n\r\nsn_dpr_model_release\r\n\
         --b0undary\r\nContent-Disposition: form-data; name=\"table_sys_id\"\r\n\r\n{RELEASE}\r\n\
         --b0undary\r\nContent-Disposition: form-data; name=\"uploadFile\"; filename=\"notes é.txt\"\r\n\
         Content-Type: text/plain\r\n\r\nrelease notes\r\n--b0undary--\r\n"
    );
    let res = app
        .raw(
            "POST",
            "/api/now/attachment/upload",
            &Auth::admin(),
            Some(&body),
            "multipart/form-data; boundary=b0undary",
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let meta = &res.body["result"];
    assert_eq!(meta["file_name"], "notes é.txt");
    assert_eq!(meta["content_type"], "text/plain");
    assert_eq!(meta["size_bytes"], "13");
    assert_eq!(meta["hash"], sha256_hex(b"release notes"));
    let file = app
        .get(&format!(
            "/api/now/attachment/{}/file",
            meta["sys_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(file.text, "release notes");

    let missing = app
        .raw(
            "POST",
            "/api/now/attachment/upload",
            &Auth::admin(),
            Some(
                "--b\r\nContent-Disposition: form-data; name=\"table_name\"\r\n\r\nx\r\n--b--\r\n",
            ),
            "multipart/form-data; boundary=b",
        )
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST, "{}", missing.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_past_the_size_limit_is_refused_and_nothing_is_stored() {
    let app = TestApp::spawn_demo_with_settings(tollgate::config::Settings {
        attachment_max_bytes: 1000,
        ..test_settings()
    })
    .await;
    let res = upload(
        &app,
        &Auth::admin(),
        "sn_dpr_model_release",
        RELEASE,
        "big.bin",
        "application/octet-stream",
        &[7u8; 1001],
    )
    .await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", res.text);
    assert_eq!(res.body["status"], "failure");
    let ok = upload(
        &app,
        &Auth::admin(),
        "sn_dpr_model_release",
        RELEASE,
        "ok.bin",
        "application/octet-stream",
        &[7u8; 1000],
    )
    .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text);
    assert_eq!(app.count("sys_attachment").await, 1);
    // A multipart body whose file is past the limit, though the body fits
    // the limit plus framing.
    let body = format!(
        "--b\r\nContent-Disposition: form-data; name=\"table_name\"\r\n\r\nsn_dpr_model_release\r\n\
         --b\r\nContent-Disposition: form-data; name=\"table_sys_id\"\r\n\r\n{RELEASE}\r\n\
         --b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"big.txt\"\r\n\r\n{}\r\n--b--\r\n",
        "x".repeat(1001)
    );
    let res = app
        .raw(
            "POST",
            "/api/now/attachment/upload",
            &Auth::admin(),
            Some(&body),
            "multipart/form-data; boundary=b",
        )
        .await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", res.text);
    assert_eq!(app.count("sys_attachment").await, 1);
    assert_eq!(app.count("sys_attachment_doc").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_roles_of_the_attached_to_record_decide_who_sees_and_changes_files() {
    let app = TestApp::spawn_demo().await;
    let reader = app.user("reader", &["sn_dpr_model.release_user"]).await;
    let outsider = app.user("outsider", &["sn_cicd.sys_ci_automation"]).await;
    let res = upload(
        &app,
        &Auth::admin(),
        "sn_dpr_model_release",
        RELEASE,
        "plan.txt",
        "text/plain",
        b"plan",
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let id = res.body["result"]["sys_id"].as_str().unwrap().to_owned();

    // A reader of releases sees the file but may neither add nor delete one.
    let seen = app
        .request("GET", &format!("/api/now/attachment/{id}"), &reader, None)
        .await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.text);
    let added = upload(
        &app,
        &reader,
        "sn_dpr_model_release",
        RELEASE,
        "x.txt",
        "text/plain",
        b"x",
    )
    .await;
    assert_eq!(added.status, StatusCode::FORBIDDEN, "{}", added.text);
    let removed = app
        .request(
            "DELETE",
            &format!("/api/now/attachment/{id}"),
            &reader,
            None,
        )
        .await;
    assert_eq!(removed.status, StatusCode::FORBIDDEN, "{}", removed.text);

    // Someone who cannot read releases sees nothing at all.
    for path in [
        format!("/api/now/attachment/{id}"),
        format!("/api/now/attachment/{id}/file"),
    ] {
        let res = app.request("GET", &path, &outsider, None).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}: {}", res.text);
        assert!(!res.text.contains("plan"), "{}", res.text);
    }
    let listed = app
        .request("GET", "/api/now/attachment", &outsider, None)
        .await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.body["result"], json!([]));
    assert_eq!(listed.header("x-total-count"), Some("0"));
    let removed = app
        .request(
            "DELETE",
            &format!("/api/now/attachment/{id}"),
            &outsider,
            None,
        )
        .await;
    assert_eq!(removed.status, StatusCode::NOT_FOUND);
    let added = upload(
        &app,
        &outsider,
        "sn_dpr_model_release",
        RELEASE,
        "x.txt",
        "text/plain",
        b"x",
    )
    .await;
    assert_eq!(added.status, StatusCode::NOT_FOUND, "{}", added.text);
    assert_eq!(app.count("sys_attachment").await, 1);

    // A record that does not exist takes no file; nor does a view or an
    // unknown table.
    let missing = upload(
        &app,
        &Auth::admin(),
        "sn_dpr_model_release",
        "0123456789abcdef0123456789abcdef",
        "x.txt",
        "text/plain",
        b"x",
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.text);
    let unknown = upload(
        &app,
        &Auth::admin(),
        "no_such_table",
        RELEASE,
        "x.txt",
        "text/plain",
        b"x",
    )
    .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.text);
    // The Table API does not write attachments.
    let direct = app
        .post(
            "/api/now/table/sys_attachment",
            json!({"file_name": "x", "table_name": "x"}),
        )
        .await;
    assert_eq!(direct.status, StatusCode::FORBIDDEN, "{}", direct.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_record_deletes_its_files() {
    let app = TestApp::spawn_demo().await;
    let schedule = app
        .post("/api/now/table/cmn_schedule", json!({"name": "Freeze"}))
        .await;
    assert_eq!(schedule.status, StatusCode::CREATED, "{}", schedule.text);
    let sys_id = schedule.body["result"]["sys_id"]
        .as_str()
        .unwrap()
        .to_owned();
    for name in ["a.txt", "b.txt"] {
        let res = upload(
            &app,
            &Auth::admin(),
            "cmn_schedule",
            &sys_id,
            name,
            "text/plain",
            b"freeze",
        )
        .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    }
    let other = upload(
        &app,
        &Auth::admin(),
        "sn_dpr_model_release",
        RELEASE,
        "keep.txt",
        "text/plain",
        b"keep",
    )
    .await;
    assert_eq!(other.status, StatusCode::CREATED);
    assert_eq!(app.count("sys_attachment").await, 3);
    let res = app
        .request(
            "DELETE",
            &format!("/api/now/table/cmn_schedule/{sys_id}"),
            &Auth::admin(),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text);
    assert_eq!(app.count("sys_attachment").await, 1);
    assert_eq!(app.count("sys_attachment_doc").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_servicedesk_release_shows_its_files_and_cdm_applications_take_them() {
    let app = TestApp::spawn_demo().await;
    let id = app
        .db
        .fetch_optional("SELECT id FROM sdp_release ORDER BY id LIMIT 1", &[])
        .await
        .unwrap()
        .and_then(|r| r.int("id"))
        .expect("a demo v3 release");
    let res = upload(
        &app,
        &Auth::admin(),
        "sdp_release",
        &id.to_string(),
        "runbook.md",
        "text/markdown",
        b"# Runbook",
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let file_id = res.body["result"]["sys_id"].as_str().unwrap().to_owned();
    let release = app.get(&format!("/api/v3/releases/{id}")).await;
    assert_eq!(release.status, StatusCode::OK, "{}", release.text);
    let files = &release.body["release"]["attachments"];
    assert_eq!(files.as_array().unwrap().len(), 1, "{files}");
    assert_eq!(files[0]["id"], file_id.as_str());
    assert_eq!(files[0]["name"], "runbook.md");
    assert_eq!(files[0]["size"]["value"], 9);
    // The release's id written another way ("001") is still that
    // release, and its file is listed with the others.
    let res = upload(
        &app,
        &Auth::admin(),
        "sdp_release",
        &format!("00{id}"),
        "notes.md",
        "text/markdown",
        b"# Notes",
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(res.body["result"]["table_sys_id"], id.to_string().as_str());
    let release = app.get(&format!("/api/v3/releases/{id}")).await;
    let files = &release.body["release"]["attachments"];
    assert_eq!(files.as_array().unwrap().len(), 2, "{files}");

    // A technician sees the file; someone without a ServiceDesk role does not.
    let tech = app.user("tech", &["sdp.technician"]).await;
    let seen = app
        .request(
            "GET",
            &format!("/api/now/attachment/{file_id}"),
            &tech,
            None,
        )
        .await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.text);
    let pm = app.user("pm", &["sn_dpr_model.product_manager"]).await;
    let hidden = app
        .request("GET", &format!("/api/now/attachment/{file_id}"), &pm, None)
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{}", hidden.text);

    let application = app
        .get("/api/now/table/sn_cdm_application?sysparm_limit=1&sysparm_fields=sys_id")
        .await;
    let app_id = application.body["result"][0]["sys_id"]
        .as_str()
        .expect("a demo CDM application")
        .to_owned();
    let res = upload(
        &app,
        &Auth::admin(),
        "sn_cdm_application",
        &app_id,
        "values.yaml",
        "application/yaml",
        b"a: 1",
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
}

/// servicenow-rest-api's `getAllAttachmentsMetaData` asks
/// `GET /api/now/attachment?table_sys_id=...`: a name-value pair, which
/// filters the list (it used to be ignored, answering every file). Pairs are
/// AND-ed with each other and with `sysparm_query`; one naming no field of
/// `sys_attachment` is refused by its name, as on the Table API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_takes_name_value_pairs_as_servicenow_rest_api_sends_them() {
    let app = TestApp::spawn_demo().await;
    let admin = Auth::admin();
    let incident = |short: &'static str| {
        let app = &app;
        async move {
            let res = app
                .post(
                    "/api/now/table/incident",
                    json!({"short_description": short}),
                )
                .await;
            assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
            res.body["result"]["sys_id"].as_str().unwrap().to_owned()
        }
    };
    let first = incident("first").await;
    let second = incident("second").await;
    for (record, name) in [(&first, "a.txt"), (&first, "b.txt"), (&second, "c.txt")] {
        let res = upload(&app, &admin, "incident", record, name, "text/plain", b"x").await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    }
    let names = |res: &TestResponse| -> Vec<String> {
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let mut names: Vec<String> = res.body["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["file_name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };

    // The client's exact request.
    let res = app
        .get(&format!("/api/now/attachment?table_sys_id={second}"))
        .await;
    assert_eq!(names(&res), ["c.txt"]);
    assert_eq!(res.header("x-total-count"), Some("1"));
    let res = app
        .get(&format!(
            "/api/now/attachment?table_name=incident&table_sys_id={first}"
        ))
        .await;
    assert_eq!(names(&res), ["a.txt", "b.txt"]);
    let res = app
        .get(&format!(
            "/api/now/attachment?table_sys_id={first}&sysparm_query=file_name=b.txt"
        ))
        .await;
    assert_eq!(names(&res), ["b.txt"]);
    let res = app
        .get("/api/now/attachment?table_name=incident&file_name=c.txt")
        .await;
    assert_eq!(names(&res), ["c.txt"]);

    let res = app
        .get(&format!("/api/now/attachment?table_sysid={first}"))
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    let message = res.body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("table_sysid"), "{message}");
}
