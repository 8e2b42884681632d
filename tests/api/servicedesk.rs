//! ServiceDesk-style v3 releases: add, get, edit and list with input_data,
//! authtoken keys and the response_status envelope.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

struct Sdp {
    app: TestApp,
    auth: Auth,
}

impl Sdp {
    /// The demo data without its v3 releases, so counts start at zero.
    async fn new() -> Sdp {
        let sdp = Sdp::with_demo_releases().await;
        for table in [
            "sdp_release_descriptive",
            "sdp_release_child",
            "sdp_approver",
            "sdp_approval_level",
            "sdp_status_comment",
            "sdp_release_history",
            "sdp_release_role",
            "sdp_release",
        ] {
            sdp.app
                .db
                .execute(&format!("DELETE FROM {table}"), &[])
                .await
                .unwrap();
        }
        sdp
    }

    async fn with_demo_releases() -> Sdp {
        let app = TestApp::spawn_demo().await;
        app.user("tech", &["sdp.technician"]).await;
        let key = tollgate::identity::users::create_api_key(&app.db, "tech", "sdp")
            .await
            .unwrap();
        // The v3 samples send the key as `Authorization: authtoken: <key>`.
        Sdp {
            app,
            auth: Auth::Header("authorization", format!("authtoken: {key}")),
        }
    }

    async fn send(&self, method: &str, path: &str, input: Value) -> TestResponse {
        let body = v3_form(&input);
        self.app
            .raw(
                method,
                path,
                &self.auth,
                Some(&body),
                "application/x-www-form-urlencoded",
            )
            .await
    }

    async fn list(&self, input: Value) -> TestResponse {
        let path = format!("/api/v3/releases?{}", v3_form(&input));
        self.app.request("GET", &path, &self.auth, None).await
    }
}

fn failure(res: &TestResponse, http: StatusCode, code: u64, field: &str) {
    assert_eq!(res.status, http, "{}", res.text);
    assert_eq!(
        res.body["response_status"]["status"], "failed",
        "{}",
        res.text
    );
    let m = &res.body["response_status"]["messages"][0];
    assert_eq!(m["status_code"], code, "{}", res.text);
    assert_eq!(m["field"], field, "{}", res.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_add_example_creates_the_release_as_shown() {
    let sdp = Sdp::new().await;
    let res = sdp
        .send("POST", "/api/v3/releases", documented_v3_add())
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(
        res.body["response_status"],
        json!({"status_code": 2000, "status": "success"})
    );
    let r = &res.body["release"];
    assert!(
        r["id"].as_str().unwrap().parse::<i64>().is_ok(),
        "ids are numbers as strings"
    );
    assert_eq!(r["title"], "MSSQL Server service pack upgrade");
    assert_eq!(
        r["stage"],
        json!({"internal_name": "submission", "stage_index": "1", "name": "Submission", "id": "1"})
    );
    assert_eq!(
        r["status"],
        json!({"internal_name": "requested", "stage": {"id": "1"}, "status_type": "In Progress", "name": "Requested", "id": "1"})
    );
    assert_eq!(
        r["priority"],
        json!({"color": "#ff0000", "name": "High", "id": "4"})
    );
    assert_eq!(
        r["release_type"],
        json!({"color": "#aaff66", "pre_approved": true, "name": "Standard", "id": "1"})
    );
    assert_eq!(
        r["group"],
        json!({"site": null, "name": "Hardware Problems", "id": "1"})
    );
    assert_eq!(r["subcategory"], json!({"name": "IE 7", "id": "7"}));
    assert_eq!(r["services"].as_array().unwrap().len(), 2);
    assert_eq!(r["scheduled_end_time"]["value"], "1592820360370");
    assert_eq!(
        r["scheduled_end_time"]["display_value"],
        "Jun 22, 2020 10:06 AM"
    );
    assert_eq!(r["next_review_on"], Value::Null);
    assert_eq!(r["roles"][0]["role"]["name"], "Release Requester");
    assert_eq!(r["roles"][0]["user"]["name"], "Guest");
    assert_eq!(r["release_requester"]["name"], "Guest");
    assert_eq!(r["created_time"]["value"].as_str().unwrap().len(), 13);

    let id = r["id"].as_str().unwrap();
    let got = sdp
        .app
        .request("GET", &format!("/api/v3/releases/{id}"), &sdp.auth, None)
        .await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body["release"], res.body["release"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_change_only_the_named_fields_and_keep_status_within_its_stage() {
    let sdp = Sdp::new().await;
    let res = sdp
        .send("POST", "/api/v3/releases", documented_v3_add())
        .await;
    let id = res.body["release"]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v3/releases/{id}");
    let res = sdp
        .send(
            "PUT",
            &path,
            json!({"release": {"stage": {"name": "planning"}, "status": {"name": "rejected"}}}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let r = &res.body["release"];
    assert_eq!(
        r["status"],
        json!({"internal_name": "rejected", "stage": {"id": "2"}, "status_type": "Failed", "name": "Rejected", "id": "7"})
    );
    assert_eq!(r["title"], "MSSQL Server service pack upgrade", "untouched");
    // Names repeat across stages: "Deployed" is no status of Planning.
    failure(
        &sdp.send(
            "PUT",
            &path,
            json!({"release": {"status": {"name": "Deployed"}}}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        4001,
        "status",
    );
    failure(
        &sdp.send(
            "PUT",
            &path,
            json!({"release": {"scheduled_start_time": {"value": "1592820370000"}}}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        4016,
        "scheduled_start_time",
    );
    failure(
        &sdp.send("PUT", &path, json!({"release": {"title": ""}}))
            .await,
        StatusCode::BAD_REQUEST,
        4012,
        "title",
    );
    failure(
        &sdp.send("PUT", &path, json!({"release": {"id": "99"}}))
            .await,
        StatusCode::BAD_REQUEST,
        4014,
        "id",
    );
    failure(
        &sdp.send("PUT", &path, json!({"release": {"priority": "high"}}))
            .await,
        StatusCode::BAD_REQUEST,
        4021,
        "priority",
    );
    let after = sdp.app.request("GET", &path, &sdp.auth, None).await;
    assert_eq!(
        after.body["release"]["status"]["name"], "Rejected",
        "refused edits change nothing"
    );
    let res = sdp
        .send(
            "PUT",
            "/api/v3/releases/99999",
            json!({"release": {"title": "x"}}),
        )
        .await;
    failure(&res, StatusCode::NOT_FOUND, 4007, "release_id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_adds_name_the_field_and_write_nothing() {
    let sdp = Sdp::new().await;
    let cases = [
        ("title", json!({"release": {"template": {"id": "1"}}}), 4012),
        ("template", json!({"release": {"title": "T"}}), 4012),
        (
            "priority",
            json!({"release": {"title": "T", "template": {"id": "1"}, "priority": {"name": "Sky high"}}}),
            4001,
        ),
        (
            "roles[0].user",
            json!({"release": {"title": "T", "template": {"id": "1"}, "roles": [{"role": {"name": "Release Engineer"}, "user": {"name": "nobody"}}]}}),
            4001,
        ),
        ("release", json!({"title": "T"}), 4012),
    ];
    for (field, input, code) in cases {
        failure(
            &sdp.send("POST", "/api/v3/releases", input).await,
            StatusCode::BAD_REQUEST,
            code,
            field,
        );
    }
    let res = sdp
        .app
        .raw(
            "POST",
            "/api/v3/releases",
            &sdp.auth,
            Some("input_data=%7Bnot json"),
            "application/x-www-form-urlencoded",
        )
        .await;
    failure(&res, StatusCode::BAD_REQUEST, 4021, "input_data");
    assert_eq!(sdp.app.count("sdp_release").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_page_sort_search_and_count() {
    let sdp = Sdp::new().await;
    for (title, priority) in [
        ("MSSQL upgrade", "High"),
        ("Mssql patch", "Low"),
        ("Exchange rollout", "High"),
    ] {
        let mut input = documented_v3_add();
        input["release"]["title"] = json!(title);
        input["release"]["priority"] = json!({"name": priority});
        assert_eq!(
            sdp.send("POST", "/api/v3/releases", input).await.status,
            StatusCode::CREATED
        );
    }
    let res = sdp.list(json!({"list_info": {"row_count": 2, "start_index": 1, "get_total_count": true, "sort_fields": [{"field": "id", "order": "desc"}]}})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(
        res.body["response_status"],
        json!([{"status_code": 2000, "status": "success"}])
    );
    let info = &res.body["list_info"];
    assert_eq!(
        (
            info["has_more_rows"].clone(),
            info["row_count"].clone(),
            info["total_count"].clone()
        ),
        (json!(true), json!(2), json!(3))
    );
    let titles: Vec<&str> = res.body["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Exchange rollout", "Mssql patch"]);

    let res = sdp.list(json!({"list_info": {"search_criteria": {"field": "title", "condition": "contains", "value": "mssql"}}})).await;
    assert_eq!(res.body["releases"].as_array().unwrap().len(), 2);
    let res = sdp
        .list(json!({"list_info": {"search_criteria": [
            {"field": "title", "condition": "contains", "value": "mssql"},
            {"field": "priority.name", "condition": "is", "value": "high", "logical_operator": "AND"}]}}))
        .await;
    let titles: Vec<&str> = res.body["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["MSSQL upgrade"]);
    let res = sdp
        .list(json!({"list_info": {"search_fields": {"title": "exchange"}}}))
        .await;
    assert_eq!(res.body["releases"].as_array().unwrap().len(), 1);
    let res = sdp
        .list(json!({"list_info": {"row_count": 1, "page": 3}}))
        .await;
    assert_eq!(res.body["releases"][0]["title"], "Exchange rollout");
    failure(
        &sdp.list(json!({"list_info": {"row_count": 101}})).await,
        StatusCode::BAD_REQUEST,
        4001,
        "row_count",
    );
    failure(
        &sdp.list(json!({"list_info": {"filter_by": {"name": "nonsense"}}}))
            .await,
        StatusCode::BAD_REQUEST,
        4001,
        "filter_by",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v3_callers_need_a_key_and_a_servicedesk_role() {
    let sdp = Sdp::new().await;
    let res = sdp
        .app
        .request("GET", "/api/v3/releases", &Auth::None, None)
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.body["response_status"]["messages"][0]["status_code"],
        4022
    );
    let outsider = sdp
        .app
        .user("outsider", &["sn_dpr_model.release_user"])
        .await;
    let res = sdp
        .app
        .request("GET", "/api/v3/releases", &outsider, None)
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(
        res.body["response_status"]["messages"][0]["status_code"],
        4002
    );
    let res = sdp
        .app
        .request("GET", "/api/v3/releases/12345", &sdp.auth, None)
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trash_hides_restores_and_only_then_deletes_with_one_status_per_id() {
    let sdp = Sdp::new().await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let res = sdp
            .send("POST", "/api/v3/releases", documented_v3_add())
            .await;
        ids.push(res.body["release"]["id"].as_str().unwrap().to_owned());
    }
    let (a, b) = (&ids[0], &ids[1]);
    // Deleting for good needs the trash first.
    let res = sdp
        .app
        .request("DELETE", &format!("/api/v3/releases/{a}"), &sdp.auth, None)
        .await;
    failure(&res, StatusCode::BAD_REQUEST, 4001, "release_id");

    let res = sdp
        .app
        .request(
            "DELETE",
            &format!("/api/v3/releases/move_to_trash?ids={a}"),
            &sdp.auth,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(
        res.body,
        json!({"response_status": {"status_code": 2000, "status": "success"}})
    );
    let listed = sdp
        .list(json!({"list_info": {"get_total_count": true}}))
        .await;
    assert_eq!(
        listed.body["list_info"]["total_count"], 1,
        "trashed releases leave the default list"
    );
    let trashed = sdp
        .list(json!({"list_info": {"filter_by": {"name": "trashed"}}}))
        .await;
    assert_eq!(trashed.body["releases"][0]["id"], a.as_str());
    assert!(trashed.body["releases"][0]["deleted_time"]["value"].is_string());

    // A bulk call answers per id: a is already in the trash, b moves.
    let res = sdp
        .app
        .request(
            "DELETE",
            &format!("/api/v3/releases/move_to_trash?ids={a},{b}"),
            &sdp.auth,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let statuses = res.body["response_status"].as_array().unwrap();
    assert_eq!(statuses[0]["id"], a.as_str());
    assert_eq!(statuses[0]["status"], "failed");
    assert_eq!(
        statuses[1],
        json!({"status_code": 2000, "id": b, "status": "success"})
    );

    let res = sdp
        .send(
            "PUT",
            &format!("/api/v3/releases/restore_from_trash?ids={b}"),
            json!({}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let res = sdp
        .app
        .request("DELETE", &format!("/api/v3/releases/{a}"), &sdp.auth, None)
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let gone = sdp
        .app
        .request("GET", &format!("/api/v3/releases/{a}"), &sdp.auth, None)
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(sdp.app.count("sdp_release").await, 1);

    let history = sdp
        .app
        .request(
            "GET",
            &format!("/api/v3/releases/{b}/history"),
            &sdp.auth,
            None,
        )
        .await;
    assert_eq!(history.status, StatusCode::OK, "{}", history.text);
    let ops: Vec<&str> = history.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["operation"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        ops,
        ["restore_from_trash", "move_to_trash", "add"],
        "newest first"
    );
    assert_eq!(
        history.body["history"][0]["operation"]["display_name"],
        "Release Restored"
    );
    assert_eq!(history.body["history"][0]["by"]["name"], "tech");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_are_recorded_in_the_history_with_previous_and_current_values() {
    let sdp = Sdp::new().await;
    let res = sdp
        .send("POST", "/api/v3/releases", documented_v3_add())
        .await;
    let id = res.body["release"]["id"].as_str().unwrap().to_owned();
    sdp.send(
        "PUT",
        &format!("/api/v3/releases/{id}"),
        json!({"release": {"title": "Renamed", "priority": {"name": "low"}}}),
    )
    .await;
    let history = sdp
        .app
        .request(
            "GET",
            &format!("/api/v3/releases/{id}/history"),
            &sdp.auth,
            None,
        )
        .await;
    let latest = &history.body["history"][0];
    assert_eq!(latest["operation"]["name"], "update");
    let diff = latest["diff"].as_array().unwrap();
    let title = diff
        .iter()
        .find(|d| d["field"]["name"] == "title")
        .expect("title in the diff");
    assert_eq!(title["previous_value"], "MSSQL Server service pack upgrade");
    assert_eq!(title["current_value"], "Renamed");
    assert!(diff.iter().any(|d| d["field"]["name"] == "priority"));
    assert!(
        diff.iter().all(|d| d["field"]["name"] != "template"),
        "unchanged fields are not listed"
    );
    assert!(latest["time"]["date"].is_string() && latest["time"]["value"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assign_pickup_and_close_change_the_release_and_its_history() {
    let sdp = Sdp::new().await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let res = sdp
            .send("POST", "/api/v3/releases", documented_v3_add())
            .await;
        ids.push(res.body["release"]["id"].as_str().unwrap().to_owned());
    }
    let (a, b) = (ids[0].clone(), ids[1].clone());
    let res = sdp
        .send(
            "PUT",
            &format!("/api/v3/releases/assign?ids={a},{b}"),
            json!({"release": {"release_engineer": {"name": "heather graham"}}}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert!(res.body["response_status"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["status_code"] == 2000));
    let got = sdp
        .app
        .request("GET", &format!("/api/v3/releases/{a}"), &sdp.auth, None)
        .await;
    assert_eq!(
        got.body["release"]["release_engineer"]["name"],
        "Heather Graham"
    );
    let res = sdp
        .send(
            "PUT",
            &format!("/api/v3/releases/assign?ids={a}"),
            json!({"release": {"release_engineer": {"name": "nobody"}}}),
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);

    let res = sdp
        .send(
            "PUT",
            &format!("/api/v3/releases/pickup?ids={b}"),
            json!({}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let got = sdp
        .app
        .request("GET", &format!("/api/v3/releases/{b}"), &sdp.auth, None)
        .await;
    assert_eq!(
        got.body["release"]["release_engineer"]["name"], "tech",
        "the caller picked it up"
    );

    let res = sdp
        .send(
            "PUT",
            &format!("/api/v3/releases/{a}/close"),
            json!({"status": "completed", "comment": "Release has been closed"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let r = &res.body["release"];
    assert_eq!(r["stage"]["name"], "Closure");
    assert_eq!(r["status"]["name"], "Completed");
    assert_eq!(r["status"]["status_type"], "Success");
    assert!(r["completed_time"]["value"].is_string());
    let again = sdp
        .send(
            "PUT",
            &format!("/api/v3/releases/{a}/close"),
            json!({"status": "completed"}),
        )
        .await;
    failure(&again, StatusCode::BAD_REQUEST, 4001, "release_id");
    let bad = sdp
        .send(
            "PUT",
            &format!("/api/v3/releases/{b}/close"),
            json!({"status": "deployed"}),
        )
        .await;
    failure(&bad, StatusCode::BAD_REQUEST, 4001, "status");
    let closed = sdp
        .list(json!({"list_info": {"filter_by": {"name": "closed"}}}))
        .await;
    assert_eq!(closed.body["releases"].as_array().unwrap().len(), 1);
    let history = sdp
        .app
        .request(
            "GET",
            &format!("/api/v3/releases/{a}/history"),
            &sdp.auth,
            None,
        )
        .await;
    let ops: Vec<&str> = history.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["operation"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["close", "release_to_release_role_add", "add"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_stage_or_status_change_records_a_status_comment() {
    let sdp = Sdp::new().await;
    let res = sdp
        .send("POST", "/api/v3/releases", documented_v3_add())
        .await;
    let id = res.body["release"]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v3/releases/{id}");
    sdp.send(
        "PUT",
        &path,
        json!({"release": {"title": "Only the title"}}),
    )
    .await;
    let res = sdp.send("PUT", &path, json!({"release": {"stage": {"name": "planning"}, "status": {"name": "rejected"}, "comment": "Not this quarter"}})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let res = sdp
        .app
        .request("GET", &format!("{path}/status_comments"), &sdp.auth, None)
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.body["response_status"][0]["status_code"], 2000);
    let comments = res.body["status_comments"].as_array().unwrap();
    assert_eq!(comments.len(), 2, "a title edit changes no stage or status");
    assert_eq!(
        comments[0]["comment"],
        "The above Stage/Status is set as part of 'Release' creation"
    );
    assert_eq!(comments[0]["status"]["name"], "Requested");
    assert_eq!(comments[1]["comment"], "Not this quarter");
    assert_eq!(comments[1]["stage"]["stage_index"], 2);
    assert_eq!(comments[1]["status"]["name"], "Rejected");
    assert_eq!(comments[1]["commented_by"]["name"], "tech");
    assert_eq!(comments[1]["release"]["title"], "Only the title");
    sdp.send(
        "PUT",
        &format!("{path}/close"),
        json!({"status": "completed", "comment": "Release has been closed"}),
    )
    .await;
    let res = sdp
        .app
        .request("GET", &format!("{path}/status_comments"), &sdp.auth, None)
        .await;
    assert_eq!(
        res.body["status_comments"][2]["comment"],
        "Release has been closed"
    );
    assert_eq!(res.body["list_info"]["row_count"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_entities_are_listed_managed_and_protected_while_in_use() {
    let sdp = Sdp::new().await;
    let admin = sdp.app.user("sdadmin", &["sdp.admin"]).await;
    let res = sdp
        .app
        .request("GET", "/api/v3/priorities", &sdp.auth, None)
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.body["priorities"].as_array().unwrap().len(), 4);
    let res = sdp
        .app
        .request("GET", "/api/v3/priorities/4", &sdp.auth, None)
        .await;
    assert_eq!(
        res.body["priority"],
        json!({"color": "#ff0000", "name": "High", "id": "4"})
    );
    let stages = sdp
        .app
        .request("GET", "/api/v3/release_stages", &sdp.auth, None)
        .await;
    assert_eq!(stages.body["release_stages"].as_array().unwrap().len(), 9);
    assert_eq!(
        stages.body["release_stages"][2]["internal_name"],
        "implementation"
    );

    let add = |name: &str| json!({"priority": {"name": name, "color": "#123456"}});
    let res = sdp
        .app
        .raw(
            "POST",
            "/api/v3/priorities",
            &admin,
            Some(&v3_form(&add("Critical"))),
            "application/x-www-form-urlencoded",
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let critical = res.body["priority"]["id"].as_str().unwrap().to_owned();
    assert_eq!(critical, "5", "ids continue after the shipped ones");
    let dup = sdp
        .app
        .raw(
            "POST",
            "/api/v3/priorities",
            &admin,
            Some(&v3_form(&add("critical"))),
            "application/x-www-form-urlencoded",
        )
        .await;
    failure(&dup, StatusCode::BAD_REQUEST, 4008, "name");
    let tech = sdp.send("POST", "/api/v3/priorities", add("Other")).await;
    assert_eq!(tech.status, StatusCode::FORBIDDEN);
    assert_eq!(
        tech.body["response_status"]["messages"][0]["status_code"],
        4002
    );

    // A priority a release uses cannot go; an unused one can.
    sdp.send("POST", "/api/v3/releases", documented_v3_add())
        .await;
    let res = sdp
        .app
        .request("DELETE", "/api/v3/priorities/4", &admin, None)
        .await;
    failure(&res, StatusCode::BAD_REQUEST, 4005, "id");
    let res = sdp
        .app
        .request(
            "DELETE",
            &format!("/api/v3/priorities/{critical}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let res = sdp
        .app
        .request(
            "GET",
            &format!("/api/v3/priorities/{critical}"),
            &sdp.auth,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);

    // Stages are fixed; a status needs its stage and type.
    let res = sdp
        .app
        .raw(
            "PUT",
            "/api/v3/release_stages/1",
            &admin,
            Some(&v3_form(&json!({"release_stage": {"name": "X"}}))),
            "application/x-www-form-urlencoded",
        )
        .await;
    failure(&res, StatusCode::BAD_REQUEST, 4014, "release_stage");
    let status = json!({"release_status": {"name": "Parked", "stage": {"id": "4"}, "status_type": "In Progress"}});
    let res = sdp
        .app
        .raw(
            "POST",
            "/api/v3/release_statuses",
            &admin,
            Some(&v3_form(&status)),
            "application/x-www-form-urlencoded",
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(res.body["release_status"]["stage"]["id"], "4");
    let res = sdp
        .app
        .raw(
            "POST",
            "/api/v3/release_statuses",
            &admin,
            Some(&v3_form(
                &json!({"release_status": {"name": "Nowhere", "status_type": "Success"}}),
            )),
            "application/x-www-form-urlencoded",
        )
        .await;
    failure(&res, StatusCode::BAD_REQUEST, 4012, "stage");
    let res = sdp
        .app
        .request("GET", "/api/v3/no_such_things", &sdp.auth, None)
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(
        res.body["response_status"]["messages"][0]["status_code"],
        4007
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_counts_the_releases_tasks_worklogs_and_notes() {
    let sdp = Sdp::new().await;
    let res = sdp
        .send("POST", "/api/v3/releases", documented_v3_add())
        .await;
    let id = res.body["release"]["id"].as_str().unwrap().to_owned();
    let base = format!("/api/v3/releases/{id}");
    for (title, status) in [("Build", "Open"), ("Backup", "closed")] {
        let res = sdp
            .send(
                "POST",
                &format!("{base}/tasks"),
                json!({"task": {"title": title, "status": {"name": status}}}),
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    }
    let res = sdp.send("POST", &format!("{base}/worklogs"), json!({"worklog": {"description": "Prepared", "time_spent": {"hours": "2", "minutes": "30"}}})).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(
        res.body["worklog"]["time_spent"],
        json!({"hours": "2", "minutes": "30"})
    );
    let res = sdp
        .send(
            "POST",
            &format!("{base}/notes"),
            json!({"note": {"description": "Heads up", "show_to_requester": true}}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);

    failure(
        &sdp.send(
            "POST",
            &format!("{base}/tasks"),
            json!({"task": {"status": {"name": "Open"}}}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        4012,
        "title",
    );
    failure(
        &sdp.send(
            "POST",
            &format!("{base}/tasks"),
            json!({"task": {"title": "x", "status": {"name": "Sleeping"}}}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        4001,
        "status",
    );
    failure(
        &sdp.send(
            "POST",
            &format!("{base}/worklogs"),
            json!({"worklog": {"time_spent": {"minutes": 75}}}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        4001,
        "time_spent.minutes",
    );
    failure(
        &sdp.send("POST", &format!("{base}/notes"), json!({"note": {}}))
            .await,
        StatusCode::BAD_REQUEST,
        4012,
        "description",
    );

    let res = sdp
        .app
        .request("GET", &format!("{base}/summary"), &sdp.auth, None)
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let s = &res.body["summary"];
    assert_eq!(s["id"], id.as_str());
    assert_eq!(s["tasks"], json!({"all": 2, "closed": 1}));
    assert_eq!(s["worklogs"], json!({"all": 1}));
    assert_eq!(s["notes"], json!({"all": 1}));
    assert_eq!(s["approvals"], json!({"all": 0}));
    let tasks = sdp
        .app
        .request("GET", &format!("{base}/tasks"), &sdp.auth, None)
        .await;
    assert_eq!(tasks.body["tasks"].as_array().unwrap().len(), 2);
    assert_eq!(tasks.body["tasks"][1]["status"]["name"], "Closed");
    let res = sdp
        .app
        .request("GET", "/api/v3/releases/424242/summary", &sdp.auth, None)
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let res = sdp
        .app
        .request("GET", &format!("{base}/gizmos"), &sdp.auth, None)
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_levels_are_decided_by_their_approvers_and_summarised_per_stage() {
    let sdp = Sdp::new().await;
    let res = sdp
        .send("POST", "/api/v3/releases", documented_v3_add())
        .await;
    let id = res.body["release"]["id"].as_str().unwrap().to_owned();
    let base = format!("/api/v3/releases/{id}/approval_levels");
    let level = |approvers: Value, percent: &str| json!({"approval_level": {"stage": {"name": "submission"}, "rule": {"type": "percent", "value": percent}, "approvers": approvers}});
    let res = sdp
        .send(
            "POST",
            &base,
            level(json!([{"name": "tech"}, {"name": "heather graham"}]), "100"),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let both = res.body["approval_level"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Someone who is not an approver cannot decide.
    let other = sdp.app.user("other", &["sdp.technician"]).await;
    let body = v3_form(&json!({"comments": "me too"}));
    let res = sdp
        .app
        .raw(
            "PUT",
            &format!("{base}/{both}/approve"),
            &other,
            Some(&body),
            "application/x-www-form-urlencoded",
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
    assert_eq!(
        res.body["response_status"]["messages"][0]["status_code"],
        4002
    );

    let res = sdp
        .send(
            "PUT",
            &format!("{base}/{both}/approve"),
            json!({"comments": "recommend"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let again = sdp
        .send("PUT", &format!("{base}/{both}/approve"), json!({}))
        .await;
    failure(&again, StatusCode::BAD_REQUEST, 4001, "approval_level_id");
    let summary = sdp
        .app
        .request("GET", &format!("{base}/approval_summary"), &sdp.auth, None)
        .await;
    assert_eq!(summary.status, StatusCode::OK, "{}", summary.text);
    let stages = summary.body["approval_summary"].as_array().unwrap();
    assert_eq!(stages.len(), 9);
    assert_eq!(
        stages[0]["latestDecision"], "pending",
        "1 of 2 approvers under a 100 % rule"
    );
    assert_eq!(stages[0]["approval_levels"][0]["status"]["name"], "Pending");
    assert_eq!(
        stages[0]["stage"]["description"],
        "Stage when a release item is submitted"
    );
    assert_eq!(stages[1]["latestDecision"], "upcoming");
    assert_eq!(stages[1]["visited"], false);

    // A 50 % level with one approver is approved by that approver.
    let res = sdp
        .send("POST", &base, level(json!([{"name": "tech"}]), "50"))
        .await;
    let half = res.body["approval_level"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    sdp.send("PUT", &format!("{base}/{half}/approve"), json!({}))
        .await;
    let summary = sdp
        .app
        .request("GET", &format!("{base}/approval_summary"), &sdp.auth, None)
        .await;
    let levels = summary.body["approval_summary"][0]["approval_levels"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(levels[1]["status"]["name"], "Approved");
    assert_eq!(levels[1]["level"], 2);
    assert_eq!(levels[1]["action_taken_by"]["name"], "tech");

    // A rejection under a 100 % rule decides the level.
    let res = sdp
        .send(
            "POST",
            &base,
            level(json!([{"name": "tech"}, {"name": "heather graham"}]), "100"),
        )
        .await;
    let third = res.body["approval_level"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    sdp.send(
        "PUT",
        &format!("{base}/{third}/reject"),
        json!({"comments": "not ready"}),
    )
    .await;
    let summary = sdp
        .app
        .request("GET", &format!("{base}/approval_summary"), &sdp.auth, None)
        .await;
    assert_eq!(
        summary.body["approval_summary"][0]["latestDecision"],
        "reject"
    );
    let counts = sdp
        .app
        .request(
            "GET",
            &format!("/api/v3/releases/{id}/summary"),
            &sdp.auth,
            None,
        )
        .await;
    assert_eq!(counts.body["summary"]["approvals"], json!({"all": 3}));
    failure(
        &sdp.send("POST", &base, json!({"approval_level": {"approvers": []}}))
            .await,
        StatusCode::BAD_REQUEST,
        4012,
        "approvers",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permissions_follow_the_callers_role_on_the_release_and_are_enforced() {
    let sdp = Sdp::new().await;
    let res = sdp
        .send("POST", "/api/v3/releases", documented_v3_add())
        .await;
    let id = res.body["release"]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v3/releases/{id}");
    let eve = sdp.app.user("eve", &["sdp.technician"]).await;
    // eve acts once elsewhere, so she exists as a v3 user.
    let own = v3_form(&documented_v3_add());
    assert_eq!(
        sdp.app
            .raw(
                "POST",
                "/api/v3/releases",
                &eve,
                Some(&own),
                "application/x-www-form-urlencoded"
            )
            .await
            .status,
        StatusCode::CREATED
    );

    let perms = sdp
        .app
        .request("GET", &format!("{path}/get_permissions"), &eve, None)
        .await;
    assert_eq!(perms.status, StatusCode::OK, "{}", perms.text);
    assert_eq!(
        perms.body["get_permissions"]["1"],
        json!({"view": true, "edit": false, "approve": false})
    );
    assert_eq!(perms.body["get_permissions"]["-1"]["edit"], false);
    let edit = v3_form(&json!({"release": {"title": "Hijacked"}}));
    let res = sdp
        .app
        .raw(
            "PUT",
            &path,
            &eve,
            Some(&edit),
            "application/x-www-form-urlencoded",
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
    assert_eq!(
        res.body["response_status"]["messages"][0]["status_code"],
        4002
    );
    let res = sdp
        .app
        .request(
            "DELETE",
            &format!("/api/v3/releases/move_to_trash?ids={id}"),
            &eve,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);

    // As release engineer she edits from Planning on, not in Submission.
    sdp.send(
        "PUT",
        &format!("/api/v3/releases/assign?ids={id}"),
        json!({"release": {"release_engineer": {"name": "eve"}}}),
    )
    .await;
    let res = sdp
        .app
        .raw(
            "PUT",
            &path,
            &eve,
            Some(&edit),
            "application/x-www-form-urlencoded",
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "still in Submission");
    sdp.send(
        "PUT",
        &path,
        json!({"release": {"stage": {"name": "planning"}}}),
    )
    .await;
    let res = sdp
        .app
        .raw(
            "PUT",
            &path,
            &eve,
            Some(&edit),
            "application/x-www-form-urlencoded",
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let perms = sdp
        .app
        .request("GET", &format!("{path}/get_permissions"), &eve, None)
        .await;
    assert_eq!(perms.body["get_permissions"]["2"]["edit"], true);
    assert_eq!(perms.body["get_permissions"]["9"]["edit"], false);
    // The creator may do everything.
    let mine = sdp
        .app
        .request("GET", &format!("{path}/get_permissions"), &sdp.auth, None)
        .await;
    assert_eq!(
        mine.body["get_permissions"]["-1"],
        json!({"view": true, "edit": true, "approve": true})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn releases_move_between_stages_and_close_only_when_the_closure_rules_are_met() {
    let sdp = Sdp::new().await;
    let res = sdp
        .send("POST", "/api/v3/releases", documented_v3_add())
        .await;
    let id = res.body["release"]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v3/releases/{id}");
    assert_eq!(
        sdp.send(
            "PUT",
            &path,
            json!({"release": {"stage": {"name": "testing"}}})
        )
        .await
        .status,
        StatusCode::OK
    );
    // Back, too, while no administrator forbids it (see sdp_shapes.rs).
    assert_eq!(
        sdp.send(
            "PUT",
            &path,
            json!({"release": {"stage": {"name": "planning"}}})
        )
        .await
        .status,
        StatusCode::OK
    );

    // An administrator requires a closure code and a comment.
    let admin = Auth::admin();
    let prop =
        json!({"name": "sdp.release.closure_mandatory_fields", "value": "closure_code,comment"});
    assert_eq!(
        sdp.app
            .request("POST", "/api/now/table/sys_properties", &admin, Some(prop))
            .await
            .status,
        StatusCode::CREATED
    );
    failure(
        &sdp.send(
            "PUT",
            &format!("{path}/close"),
            json!({"status": "completed", "comment": "done"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        4003,
        "closure_code",
    );
    failure(
        &sdp.send(
            "PUT",
            &format!("{path}/close"),
            json!({"status": "completed", "closure_code": "Success"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        4003,
        "comment",
    );
    let res = sdp
        .send(
            "PUT",
            &format!("{path}/close"),
            json!({"status": "completed", "closure_code": "Success", "comment": "done"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(
        res.body["release"]["closure_code"],
        json!({"name": "Success"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mine_and_overdue_filters_find_the_callers_and_the_late_releases() {
    let sdp = Sdp::new().await;
    let mut late = documented_v3_add();
    late["release"]["title"] = json!("Late one");
    sdp.send("POST", "/api/v3/releases", late).await;
    let mut future = documented_v3_add();
    future["release"]["title"] = json!("Future one");
    future["release"]["scheduled_start_time"] = json!({"value": "4102444800000"});
    future["release"]["scheduled_end_time"] = json!({"value": "4102448400000"});
    sdp.send("POST", "/api/v3/releases", future).await;
    let other = sdp.app.user("olga", &["sdp.technician"]).await;
    let own = v3_form(&json!({"release": {"title": "Olga's", "template": {"id": "1"}}}));
    sdp.app
        .raw(
            "POST",
            "/api/v3/releases",
            &other,
            Some(&own),
            "application/x-www-form-urlencoded",
        )
        .await;

    let titles = |res: &TestResponse| -> Vec<String> {
        res.body["releases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["title"].as_str().unwrap().to_owned())
            .collect()
    };
    let overdue = sdp
        .list(json!({"list_info": {"filter_by": {"name": "overdue"}}}))
        .await;
    assert_eq!(
        titles(&overdue),
        ["Late one"],
        "ended in 2020 and not closed"
    );
    let mine = sdp
        .list(json!({"list_info": {"filter_by": {"name": "mine"}}}))
        .await;
    assert_eq!(titles(&mine), ["Late one", "Future one"]);
    let path = format!(
        "/api/v3/releases?{}",
        v3_form(&json!({"list_info": {"filter_by": {"name": "mine"}}}))
    );
    let hers = sdp.app.request("GET", &path, &other, None).await;
    assert_eq!(titles(&hers), ["Olga's"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_examples_work_against_the_demo_releases() {
    let mut sdp = Sdp::with_demo_releases().await;
    // The examples are sent with an administrator's key.
    let key = tollgate::identity::users::create_api_key(&sdp.app.db, "admin", "examples")
        .await
        .unwrap();
    sdp.auth = Auth::Header("authorization", format!("authtoken: {key}"));
    let get = |path: String| {
        let app = &sdp.app;
        let auth = sdp.auth.clone();
        async move { app.request("GET", &path, &auth, None).await }
    };
    let r3 = get("/api/v3/releases/3".into()).await;
    assert_eq!(r3.status, StatusCode::OK, "{}", r3.text);
    assert_eq!(
        r3.body["release"]["title"],
        "MSSQL Server service pack upgrade"
    );
    assert_eq!(r3.body["release"]["status"]["name"], "Rejected");
    assert_eq!(r3.body["release"]["release_requester"]["name"], "Guest");
    let summary = get("/api/v3/releases/3/approval_levels/approval_summary".into()).await;
    assert_eq!(
        summary.body["approval_summary"][0]["latestDecision"],
        "approve"
    );
    assert_eq!(
        summary.body["approval_summary"][0]["approval_levels"][0]["id"],
        "301"
    );
    assert_eq!(
        summary.body["approval_summary"][1]["latestDecision"],
        "inProgress"
    );
    assert_eq!(
        get("/api/v3/releases/3/status_comments".into()).await.body["status_comments"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "Submission accepted (\"Jump\"), then the creation's comment"
    );
    assert_eq!(
        get("/api/v3/releases/3/history".into()).await.body["history"][0]["operation"]["name"],
        "add"
    );
    let counts = get("/api/v3/releases/3/summary".into()).await;
    assert_eq!(
        counts.body["summary"]["tasks"],
        json!({"all": 1, "closed": 0})
    );
    assert_eq!(counts.body["summary"]["worklogs"], json!({"all": 2}));
    assert_eq!(counts.body["summary"]["approvals"], json!({"all": 1}));
    let perms = get("/api/v3/releases/3/get_permissions".into()).await;
    assert_eq!(perms.status, StatusCode::OK);

    // The list example's search finds releases 3 and 10.
    let list = sdp
        .list(
            json!({"list_info": {"row_count": 10, "start_index": 1, "get_total_count": true,
            "fields_required": ["priority", "title", "stage", "status"],
            "sort_fields": [{"field": "id", "order": "desc"}],
            "search_criteria": {"field": "title", "value": "mssql", "condition": "contains"},
            "filter_by": {"name": "all_releases"}}}),
        )
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    let ids: Vec<&str> = list.body["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["10", "3"]);
    assert_eq!(
        list.body["list_info"]["fields_required"]
            .as_array()
            .unwrap()
            .len(),
        4
    );

    // input_data as form data, as a query parameter, and as a plain JSON body.
    let added = sdp
        .send("POST", "/api/v3/releases", documented_v3_add())
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
    assert_eq!(
        added.body["release"]["id"], "11",
        "new ids start after the demo's"
    );
    let query = format!("/api/v3/releases?{}", v3_form(&documented_v3_add()));
    let res = sdp.app.request("POST", &query, &sdp.auth, None).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let res = sdp
        .app
        .request(
            "POST",
            "/api/v3/releases",
            &sdp.auth,
            Some(documented_v3_add()),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);

    // Assign, pickup, close, trash and restore on the demo releases.
    let assign = sdp
        .send(
            "PUT",
            "/api/v3/releases/assign?ids=3",
            json!({"release": {"release_engineer": {"name": "heather graham"}}}),
        )
        .await;
    assert_eq!(assign.status, StatusCode::OK, "{}", assign.text);
    assert_eq!(
        sdp.send("PUT", "/api/v3/releases/pickup?ids=4", json!({}))
            .await
            .status,
        StatusCode::OK
    );
    let close = sdp
        .send(
            "PUT",
            "/api/v3/releases/4/close",
            json!({"status": "completed", "comment": "Release has been closed"}),
        )
        .await;
    assert_eq!(close.status, StatusCode::OK, "{}", close.text);
    assert_eq!(
        sdp.app
            .request(
                "DELETE",
                "/api/v3/releases/move_to_trash?ids=10",
                &sdp.auth,
                None
            )
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        sdp.send(
            "PUT",
            "/api/v3/releases/restore_from_trash?ids=10",
            json!({})
        )
        .await
        .status,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_list_sees_every_write_in_between() {
    let sdp = Sdp::new().await;
    let query = json!({"list_info": {"get_total_count": true, "search_criteria": {"field": "title", "condition": "contains", "value": "mssql"}}});
    assert_eq!(
        sdp.list(query.clone()).await.body["list_info"]["total_count"],
        0
    );
    sdp.send("POST", "/api/v3/releases", documented_v3_add())
        .await;
    assert_eq!(
        sdp.list(query.clone()).await.body["list_info"]["total_count"],
        1,
        "the cached answer is not served after a write"
    );
    let again = sdp.list(query).await;
    assert_eq!(again.body["list_info"]["total_count"], 1);
    assert_eq!(again.body["response_status"][0]["status_code"], 2000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn descriptive_sub_records_are_set_with_the_release_and_shown_with_the_workflow() {
    let sdp = Sdp::new().await;
    let mut input = documented_v3_add();
    input["release"]["impact_details"] = json!({"description": "<b>Minor</b> outage"});
    let res = sdp.send("POST", "/api/v3/releases", input).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let r = &res.body["release"];
    assert_eq!(r["impact_details"]["description"], "<b>Minor</b> outage");
    assert_eq!(r["impact_details"]["name"], "Impact Details");
    assert_eq!(r["impact_details"]["stage"]["name"], "Planning");
    assert_eq!(r["roll_out_plan"], Value::Null, "not set");
    assert_eq!(
        r["workflow"],
        json!({"validated": true, "name": "General Release Workflow", "id": "3", "type": "General"})
    );
    let id = r["id"].as_str().unwrap().to_owned();
    let res = sdp
        .send(
            "PUT",
            &format!("/api/v3/releases/{id}"),
            json!({"release": {"roll_out_plan": {"description": "Blue/green"}}}),
        )
        .await;
    assert_eq!(
        res.body["release"]["roll_out_plan"]["description"],
        "Blue/green"
    );
    assert_eq!(
        res.body["release"]["roll_out_plan"]["updated_by"]["name"],
        "tech"
    );
    failure(
        &sdp.send(
            "PUT",
            &format!("/api/v3/releases/{id}"),
            json!({"release": {"checklist": "all good"}}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        4021,
        "checklist",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_are_managed_and_kept_while_releases_refer_to_them() {
    let sdp = Sdp::new().await;
    let admin = sdp.app.user("usradmin", &["sdp.admin"]).await;
    let post = |body: Value| v3_form(&body);
    let res = sdp
        .app
        .raw(
            "POST",
            "/api/v3/users",
            &admin,
            Some(&post(
                json!({"user": {"name": "Ada Lovelace", "email_id": "ada@example.com"}}),
            )),
            "application/x-www-form-urlencoded",
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let ada = res.body["user"]["id"].as_str().unwrap().to_owned();
    let dup = sdp
        .app
        .raw(
            "POST",
            "/api/v3/users",
            &admin,
            Some(&post(json!({"user": {"name": "ada lovelace"}}))),
            "application/x-www-form-urlencoded",
        )
        .await;
    failure(&dup, StatusCode::BAD_REQUEST, 4008, "name");
    let listed = sdp
        .app
        .request("GET", "/api/v3/users", &sdp.auth, None)
        .await;
    assert!(listed.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["name"] == "Ada Lovelace"));
    let res = sdp
        .app
        .raw(
            "PUT",
            &format!("/api/v3/users/{ada}"),
            &admin,
            Some(&post(json!({"user": {"phone": "555"}}))),
            "application/x-www-form-urlencoded",
        )
        .await;
    assert_eq!(res.body["user"]["phone"], "555");
    // Guest requests the documented release, so Guest stays.
    sdp.send("POST", "/api/v3/releases", documented_v3_add())
        .await;
    let res = sdp
        .app
        .request("DELETE", "/api/v3/users/3", &admin, None)
        .await;
    failure(&res, StatusCode::BAD_REQUEST, 4005, "id");
    let res = sdp
        .app
        .request("DELETE", &format!("/api/v3/users/{ada}"), &admin, None)
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let res = sdp
        .app
        .request("GET", &format!("/api/v3/users/{ada}"), &sdp.auth, None)
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let tech = sdp
        .send("POST", "/api/v3/users", json!({"user": {"name": "X"}}))
        .await;
    assert_eq!(
        tech.status,
        StatusCode::FORBIDDEN,
        "technicians cannot manage users"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_answers_carry_the_releases_and_lists_honour_fields_required() {
    let sdp = Sdp::new().await;
    let res = sdp
        .send("POST", "/api/v3/releases", documented_v3_add())
        .await;
    let id = res.body["release"]["id"].as_str().unwrap().to_owned();
    let res = sdp
        .send(
            "PUT",
            &format!("/api/v3/releases/pickup?ids={id}"),
            json!({}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(
        res.body["response_status"],
        json!([{"status_code": 2000, "id": id, "status": "success"}])
    );
    assert_eq!(res.body["releases"]["id"], id.as_str());
    assert_eq!(res.body["releases"]["release_engineer"]["name"], "tech");
    let list = sdp
        .list(json!({"list_info": {"fields_required": ["title", "description", "services"]}}))
        .await;
    let item = &list.body["releases"][0];
    assert_eq!(item["description"], "MSSQL Server service pack upgrade");
    assert_eq!(item["services"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_level_is_deleted_only_while_no_approver_has_decided() {
    let sdp = Sdp::new().await;
    let res = sdp
        .send("POST", "/api/v3/releases", documented_v3_add())
        .await;
    let id = res.body["release"]["id"].as_str().unwrap().to_owned();
    let base = format!("/api/v3/releases/{id}/approval_levels");
    let level = json!({"approval_level": {"stage": {"name": "submission"}, "approvers": [{"name": "tech"}, {"name": "heather graham"}]}});
    let mut ids = Vec::new();
    for _ in 0..2 {
        let res = sdp.send("POST", &base, level.clone()).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        ids.push(
            res.body["approval_level"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // The second is decided on by one approver: it stays.
    let res = sdp
        .send("PUT", &format!("{base}/{}/approve", ids[1]), json!({}))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let res = sdp
        .app
        .request("DELETE", &format!("{base}/{}", ids[1]), &sdp.auth, None)
        .await;
    failure(&res, StatusCode::BAD_REQUEST, 4001, "approval_level_id");
    // The undecided one goes, with its approvers.
    let res = sdp
        .app
        .request("DELETE", &format!("{base}/{}", ids[0]), &sdp.auth, None)
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let summary = sdp
        .app
        .request("GET", &format!("{base}/approval_summary"), &sdp.auth, None)
        .await;
    let levels = summary.body["approval_summary"][0]["approval_levels"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(levels.len(), 1, "{levels:?}");
    assert_eq!(levels[0]["id"], ids[1].as_str());
    // Unknown levels are not found.
    let res = sdp
        .app
        .request("DELETE", &format!("{base}/{}", ids[0]), &sdp.auth, None)
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_level_is_changed_only_while_no_approver_has_decided() {
    let sdp = Sdp::new().await;
    let res = sdp
        .send("POST", "/api/v3/releases", documented_v3_add())
        .await;
    let id = res.body["release"]["id"].as_str().unwrap().to_owned();
    let base = format!("/api/v3/releases/{id}/approval_levels");
    let res = sdp
        .send(
            "POST",
            &base,
            json!({"approval_level": {"stage": {"name": "submission"}, "approvers": [{"name": "heather graham"}]}}),
        )
        .await;
    let level = res.body["approval_level"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = sdp
        .send(
            "PUT",
            &format!("{base}/{level}"),
            json!({"approval_level": {"name": "CAB", "rule": {"type": "percent", "value": "50"}, "approvers": [{"name": "tech"}, {"name": "heather graham"}]}}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let row = sdp
        .app
        .db
        .fetch_optional(
            "SELECT name, rule_percent, (SELECT COUNT(*) FROM sdp_approver WHERE level_id = l.id) AS n \
             FROM sdp_approval_level l WHERE id = $1",
            &[tollgate::storage::Value::Int(level.parse().unwrap())],
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.string("name"), "CAB");
    assert_eq!(row.int("rule_percent"), Some(50));
    assert_eq!(row.int("n"), Some(2));
    // A bad rule names the field and changes nothing.
    let res = sdp
        .send(
            "PUT",
            &format!("{base}/{level}"),
            json!({"approval_level": {"name": "Other", "rule": {"type": "percent", "value": "0"}}}),
        )
        .await;
    failure(&res, StatusCode::BAD_REQUEST, 4001, "rule.value");
    // Once an approver decided, the level stays as it is.
    let res = sdp
        .send("PUT", &format!("{base}/{level}/approve"), json!({}))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let res = sdp
        .send(
            "PUT",
            &format!("{base}/{level}"),
            json!({"approval_level": {"name": "Too late"}}),
        )
        .await;
    failure(&res, StatusCode::BAD_REQUEST, 4001, "approval_level_id");
}

/// Sends `input` as `input_data` with the given credentials.
async fn send_as(sdp: &Sdp, auth: &Auth, method: &str, path: &str, input: Value) -> TestResponse {
    sdp.app
        .raw(
            method,
            path,
            auth,
            Some(&v3_form(&input)),
            "application/x-www-form-urlencoded",
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_technician_picks_up_only_releases_nobody_else_engineers() {
    let sdp = Sdp::new().await;
    let admin = Auth::admin();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let res = send_as(
            &sdp,
            &admin,
            "POST",
            "/api/v3/releases",
            documented_v3_add(),
        )
        .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        ids.push(res.body["release"]["id"].as_str().unwrap().to_owned());
    }
    let (taken, free) = (ids[0].clone(), ids[1].clone());
    let res = send_as(
        &sdp,
        &admin,
        "PUT",
        &format!("/api/v3/releases/assign?ids={taken}"),
        json!({"release": {"release_engineer": {"name": "heather graham"}}}),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let history_before = sdp.app.count("sdp_release_history").await;

    // `tech` has no role on either release: taking over one that Heather
    // engineers is refused and changes nothing.
    let res = sdp
        .send(
            "PUT",
            &format!("/api/v3/releases/pickup?ids={taken}"),
            json!({}),
        )
        .await;
    failure(&res, StatusCode::FORBIDDEN, 4002, "ids");
    let got = sdp
        .app
        .request("GET", &format!("/api/v3/releases/{taken}"), &admin, None)
        .await;
    assert_eq!(
        got.body["release"]["release_engineer"]["name"],
        "Heather Graham"
    );
    assert_eq!(sdp.app.count("sdp_release_history").await, history_before);
    // And so she cannot edit it either.
    let res = sdp
        .send(
            "PUT",
            &format!("/api/v3/releases/{taken}"),
            json!({"release": {"title": "Hijacked"}}),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);

    // An unassigned release is hers to pick up; picking it up again is fine.
    for _ in 0..2 {
        let res = sdp
            .send(
                "PUT",
                &format!("/api/v3/releases/pickup?ids={free}"),
                json!({}),
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(res.body["releases"]["release_engineer"]["name"], "tech");
    }
    // Whole-release rights (the admin) may still take a release over.
    let res = send_as(
        &sdp,
        &admin,
        "PUT",
        &format!("/api/v3/releases/pickup?ids={taken}"),
        json!({}),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_release_for_good_needs_whole_release_rights() {
    let sdp = Sdp::new().await;
    let admin = Auth::admin();
    let res = send_as(
        &sdp,
        &admin,
        "POST",
        "/api/v3/releases",
        documented_v3_add(),
    )
    .await;
    let id = res.body["release"]["id"].as_str().unwrap().to_owned();
    let res = sdp
        .app
        .request(
            "DELETE",
            &format!("/api/v3/releases/move_to_trash?ids={id}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);

    // `tech` may not trash or restore it, so neither may it delete it.
    let res = sdp
        .app
        .request("DELETE", &format!("/api/v3/releases/{id}"), &sdp.auth, None)
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
    assert_eq!(
        res.body["response_status"]["messages"][0]["status_code"],
        4002
    );
    assert_eq!(sdp.app.count("sdp_release").await, 1, "still in the trash");

    let res = sdp
        .app
        .request("DELETE", &format!("/api/v3/releases/{id}"), &admin, None)
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(sdp.app.count("sdp_release").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_cache_keys_on_a_hash_of_list_info_and_holds_at_most_its_byte_budget() {
    let budget = 96 * 1024;
    let settings = tollgate::config::Settings {
        answer_cache_bytes: budget,
        ..test_settings()
    };
    let app = TestApp::spawn_demo_with_settings(settings).await;
    let admin = Auth::admin();
    let list = |input: Value| {
        let body = v3_form(&input);
        let app = &app;
        let admin = admin.clone();
        async move {
            app.raw(
                "GET",
                "/api/v3/releases",
                &admin,
                Some(&body),
                "application/x-www-form-urlencoded",
            )
            .await
        }
    };
    // Fields outside list_info do not change the answer, so they share one
    // entry, and a large one does not make a large key.
    let padding = "x".repeat(30 * 1024);
    for extra in ["a", "b", padding.as_str()] {
        let res = list(json!({"list_info": {"row_count": 5}, "unused": extra})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    }
    let (entries, bytes) = app.state.answers.usage();
    assert_eq!(entries, 1, "one list_info, one entry");
    assert!(bytes < 16 * 1024, "{bytes} bytes: the padding is not kept");

    // Large list_info documents (echoed in their answers) never take the
    // cache past its budget.
    for i in 0..12 {
        let value = format!("{i}{}", "y".repeat(20 * 1024));
        let res = list(json!({"list_info": {"search_fields": {"title": value}}})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let (_, bytes) = app.state.answers.usage();
        assert!(bytes <= budget, "{bytes} bytes held, budget {budget}");
    }
    // A repeated list is still answered from the cache, and correctly.
    let first = list(json!({"list_info": {"row_count": 5}})).await;
    let again = list(json!({"list_info": {"row_count": 5}})).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.body, again.body);
}

/// The releases show reference data (statuses, priorities...) from a cache
/// kept while the reference data's own epoch holds (migration 26): writes
/// elsewhere keep it, and any write to the reference data, even one another
/// replica makes in SQL, shows at once, in lists (the searched one too) and
/// in a single release.
#[tokio::test]
async fn reference_data_edits_show_at_once_in_releases() {
    let sdp = Sdp::with_demo_releases().await;
    let list = json!({"list_info": {"row_count": 5, "get_total_count": true,
        "search_criteria": {"field": "title", "condition": "contains", "value": "rele"}}});
    let first = sdp.list(list.clone()).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let release = &first.body["releases"][0];
    let id = release["id"].as_str().unwrap().to_owned();
    let status_id: i64 = release["status"]["id"].as_str().unwrap().parse().unwrap();
    // A write elsewhere moves the data epoch, not the reference data's.
    let res = sdp
        .app
        .post(
            "/api/now/table/sys_user",
            json!({"user_name": "elsewhere", "name": "Someone Else"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let epoch = |app: &TestApp| {
        let db = app.db.clone();
        async move {
            db.fetch_optional(
                "SELECT value FROM tollgate_state WHERE name = 'reference_epoch'",
                &[],
            )
            .await
            .unwrap()
            .and_then(|r| r.int("value"))
            .unwrap()
        }
    };
    let before = epoch(&sdp.app).await;
    let mut tx = sdp.app.db.begin().await.unwrap();
    tx.execute(
        "UPDATE sdp_reference SET name = 'Renamed status' WHERE kind = 'status' AND id = $1",
        &[tollgate::storage::Value::Int(status_id)],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(epoch(&sdp.app).await, before + 1);
    let again = sdp.list(list).await;
    assert_eq!(again.body["releases"][0]["id"], json!(id));
    assert_eq!(
        again.body["releases"][0]["status"]["name"], "Renamed status",
        "{}",
        again.text
    );
    let one = sdp
        .app
        .request("GET", &format!("/api/v3/releases/{id}"), &sdp.auth, None)
        .await;
    assert_eq!(one.body["release"]["status"]["name"], "Renamed status");
}
