//! Release bundles with their aggregates, and retargeting releases.

use axum::http::StatusCode;
use serde_json::{json, Value};
use tollgate::demo;

use crate::helpers::*;

const BUNDLE: &str =
    "/api/sn_dpr/v1/digital_product_release/bundle/9d0d0b4c874b1110dba83d5ebf867de2";

fn retarget_path(release: &str) -> String {
    format!("/api/sn_dpr/digital_product_release/release/{release}/retarget")
}

async fn row(app: &TestApp, table: &str, id: &str) -> Value {
    app.get(&format!("/api/now/table/{table}/{id}")).await.body["result"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_bundle_example_answers_its_shape_with_computed_aggregates() {
    let app = TestApp::spawn_demo().await;
    let res = app.get(&format!("{BUNDLE}?sendAggregation=true")).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let b = &res.body;
    assert!(
        b.get("result").is_none(),
        "the bundle answer is not wrapped"
    );
    assert_eq!(b["sysId"], demo::BUNDLE_ID);
    assert_eq!(b["name"], "Release Bundle Q4");
    assert_eq!(b["owner"], "jane.doe");
    assert_eq!(b["releases"]["count"], 2);
    let list: Vec<&str> = b["releases"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(list.contains(&demo::GATED_RELEASE_ID) && list.contains(&demo::RETARGET_RELEASE_ID));
    assert_eq!(
        b["aggregates"],
        json!({
            "releaseAggregate": {"In Progress": 2},
            "taskAggregate": {"approval": 0, "nonApproval": 0},
            // The gated release's two policies ran; the other's two wait.
            "policyAggregate": {"Executed": 2, "Pending": 2},
            "enhancementAggregate": {"Open": 0, "Closed": 0}
        })
    );
    let plain = app.get(BUNDLE).await;
    assert!(plain.body.get("aggregates").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregates_follow_the_bundles_tasks_enhancements_and_states() {
    let app = TestApp::spawn_demo().await;
    for (approval, release) in [
        ("approved", demo::GATED_RELEASE_ID),
        ("requested", demo::GATED_RELEASE_ID),
        ("approved", demo::RETARGET_RELEASE_ID),
    ] {
        let task = app
            .post(
                "/api/now/table/change_request",
                json!({"short_description": "Deploy", "approval": approval}),
            )
            .await;
        let task = task.body["result"]["sys_id"].as_str().unwrap().to_owned();
        let res = app
            .post(
                "/api/now/table/sn_dpr_model_release_related_task",
                json!({"release": release, "task": task}),
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    }
    for state in ["open", "closed", "closed"] {
        let res = app
            .post(
                "/api/now/table/sn_dpr_model_product_enhancement",
                json!({"name": "E", "product": demo::PRODUCT_PAYMENTS, "release": demo::GATED_RELEASE_ID, "state": state}),
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    }
    // Completing the gated release's phase moves it on (its policies passed).
    let res = app
        .post(
            &format!(
                "/api/sn_dpr/digital_product_release/release_id/{}/complete_phase",
                demo::GATED_RELEASE_ID
            ),
            json!({}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let res = app
        .post(
            &format!(
                "/api/sn_dpr/digital_product_release/release_id/{}/complete_phase",
                demo::GATED_RELEASE_ID
            ),
            json!({}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);

    let a = app
        .get(&format!("{BUNDLE}?sendAggregation=true"))
        .await
        .body["aggregates"]
        .clone();
    assert_eq!(
        a["releaseAggregate"],
        json!({"In Progress": 1, "Review": 1})
    );
    assert_eq!(a["taskAggregate"], json!({"approval": 2, "nonApproval": 1}));
    assert_eq!(a["enhancementAggregate"], json!({"Open": 1, "Closed": 2}));
    assert_eq!(a["policyAggregate"], json!({"Executed": 2, "Pending": 2}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundles_refuse_drafts_but_a_release_may_be_in_several() {
    let app = TestApp::spawn_demo().await;
    let other = app
        .post(
            "/api/now/table/sn_dpr_model_release_bundle",
            json!({"name": "Another"}),
        )
        .await;
    let other = other.body["result"]["sys_id"].as_str().unwrap().to_owned();
    let members = app.count("sn_dpr_model_release_bundle_member").await;
    let res = app
        .post(
            "/api/now/table/sn_dpr_model_release_bundle_member",
            json!({"bundle": other, "release": demo::DRAFT_RELEASE_ID}),
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    assert!(res.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Draft"));
    assert_eq!(
        app.count("sn_dpr_model_release_bundle_member").await,
        members
    );
    let res = app
        .post(
            "/api/now/table/sn_dpr_model_release_bundle_member",
            json!({"bundle": other, "release": demo::GATED_RELEASE_ID}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(
        app.get(&format!(
            "/api/sn_dpr/digital_product_release/bundle/{other}"
        ))
        .await
        .body["releases"]["count"],
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundle_requests_are_checked() {
    let app = TestApp::spawn_demo().await;
    assert_eq!(
        app.get("/api/sn_dpr/digital_product_release/bundle/0123456789abcdef0123456789abcdef")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let res = app.get(&format!("{BUNDLE}?sendAggregation=yes")).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.body["result"]["message"]
        .as_str()
        .unwrap()
        .contains("sendAggregation"));
    let nobody = app.user("nobody", &[]).await;
    assert_eq!(
        app.request("GET", BUNDLE, &nobody, None).await.status,
        StatusCode::FORBIDDEN
    );
    let reader = app.user("reader", &["sn_dpr_model.release_user"]).await;
    assert_eq!(
        app.request("GET", BUNDLE, &reader, None).await.status,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_retarget_examples_move_the_target_and_replan_the_phases() {
    let app = TestApp::spawn_demo().await;
    let release = demo::RETARGET_RELEASE_ID;
    let res = app
        .request(
            "PUT",
            &retarget_path(release),
            &Auth::admin(),
            Some(json!({"releaseTarget": "3f6668e95427fd10f877ac7ac399daa6"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.body, json!({"result": {"error": false, "message": ""}}));
    let r = row(&app, "sn_dpr_model_release", release).await;
    assert_eq!(r["readiness_target"]["value"], demo::RETARGET_TARGET_ID);
    assert_eq!(r["planned_end"], "2027-03-31 23:59:59");
    let phases = app.get(&format!("/api/now/table/sn_dpr_model_release_phase?sysparm_query=release={release}^ORDERBYorder")).await;
    let phases = phases.body["result"].as_array().unwrap().clone();
    assert_eq!(
        phases[0]["planned_start"], "2026-09-01 09:00:00",
        "the current phase keeps its start"
    );
    assert_eq!(phases.last().unwrap()["planned_end"], "2027-03-31 23:59:59");
    assert_eq!(phases[0]["planned_end"], phases[1]["planned_start"]);

    let res = app
        .request(
            "PUT",
            &retarget_path(release),
            &Auth::admin(),
            Some(json!({"outOfBand": true, "releaseCalendar": "fcb2eaa09f4302105c534d837a0a1c2b", "releaseDate": "2026-10-23"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let r = row(&app, "sn_dpr_model_release", release).await;
    assert_eq!(r["planned_end"], "2026-10-23 23:59:59");
    let target = row(
        &app,
        "sn_dpr_model_release_target",
        r["readiness_target"]["value"].as_str().unwrap(),
    )
    .await;
    assert_eq!(target["target_date"], "2026-10-23");
    assert_eq!(
        target["release_calendar"]["value"],
        demo::OUT_OF_BAND_CALENDAR_ID
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retargeting_is_refused_when_the_rules_say_so() {
    let app = TestApp::spawn_demo().await;
    let release = demo::RETARGET_RELEASE_ID;
    let before = row(&app, "sn_dpr_model_release", release).await;
    let targets = app.count("sn_dpr_model_release_target").await;
    let out_of_band = json!({"outOfBand": true, "releaseCalendar": demo::OUT_OF_BAND_CALENDAR_ID, "releaseDate": "2026-12-01"});
    let cases: Vec<(&str, &str, Value)> = vec![
        (release, "releaseTarget", json!({})),
        (
            release,
            "releaseTarget",
            json!({"releaseTarget": "0123456789abcdef0123456789abcdef"}),
        ),
        (
            release,
            "releaseCalendar",
            json!({"outOfBand": true, "releaseDate": "2026-12-01"}),
        ),
        (
            release,
            "releaseDate",
            json!({"outOfBand": true, "releaseCalendar": demo::OUT_OF_BAND_CALENDAR_ID}),
        ),
        (
            release,
            "releaseDate",
            json!({"outOfBand": true, "releaseCalendar": demo::OUT_OF_BAND_CALENDAR_ID, "releaseDate": "2026-01-01"}),
        ),
        (
            demo::DRAFT_RELEASE_ID,
            "In Progress or Pending",
            json!({"releaseTarget": demo::RETARGET_TARGET_ID}),
        ),
        (
            "a",
            "Release ID is invalid",
            json!({"releaseTarget": demo::RETARGET_TARGET_ID}),
        ),
    ];
    for (id, expected, body) in cases {
        let res = app
            .request("PUT", &retarget_path(id), &Auth::admin(), Some(body))
            .await;
        assert_eq!(
            res.status,
            StatusCode::BAD_REQUEST,
            "{expected}: {}",
            res.text
        );
        assert!(
            res.body["result"]["message"]
                .as_str()
                .unwrap()
                .contains(expected),
            "{expected}: {}",
            res.text
        );
    }
    // Out-of-band dates need the property.
    let prop = app
        .get("/api/now/table/sys_properties?sysparm_query=name=sn_dpr.out_of_band_release_allowed")
        .await;
    let prop = prop.body["result"][0]["sys_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.request(
        "PATCH",
        &format!("/api/now/table/sys_properties/{prop}"),
        &Auth::admin(),
        Some(json!({"value": "false"})),
    )
    .await;
    let res = app
        .request(
            "PUT",
            &retarget_path(release),
            &Auth::admin(),
            Some(out_of_band),
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.body["result"]["message"]
        .as_str()
        .unwrap()
        .contains("outOfBand"));
    let coordinator = app
        .user("cora", &["sn_dpr_model.release_coordinator"])
        .await;
    let res = app
        .request(
            "PUT",
            &retarget_path(release),
            &coordinator,
            Some(json!({"releaseTarget": demo::RETARGET_TARGET_ID})),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(
        row(&app, "sn_dpr_model_release", release).await,
        before,
        "nothing changed"
    );
    assert_eq!(app.count("sn_dpr_model_release_target").await, targets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_answers_follow_every_committed_write() {
    let app = TestApp::spawn_demo().await;
    let url = format!("{BUNDLE}?sendAggregation=true");
    let first = app.get(&url).await.body["aggregates"]["enhancementAggregate"].clone();
    assert_eq!(first, json!({"Open": 0, "Closed": 0}));
    assert_eq!(
        app.get(&url).await.body["aggregates"]["enhancementAggregate"],
        first,
        "served again unchanged"
    );
    let res = app
        .post(
            "/api/now/table/sn_dpr_model_product_enhancement",
            json!({"name": "E", "product": demo::PRODUCT_PAYMENTS, "release": demo::GATED_RELEASE_ID}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED);
    assert_eq!(
        app.get(&url).await.body["aggregates"]["enhancementAggregate"],
        json!({"Open": 1, "Closed": 0})
    );

    let status = format!(
        "/api/sn_dpr/digital_product_release/releases/{}/policies/status",
        demo::GATED_RELEASE_ID
    );
    assert_eq!(
        app.get(&status).await.body["result"]["overallSummary"]["compliant"],
        true
    );
    let res = app
        .post("/api/now/table/sn_pace_policy", json!({"name": "Late policy", "rego": "package tollgate.policy\n\ndefault compliant := false\n"}))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let policy = res.body["result"]["sys_id"].as_str().unwrap().to_owned();
    let phase = app
        .get(&format!(
            "/api/now/table/sn_dpr_model_template_phase?sysparm_query=template={}^order=100",
            demo::TEMPLATE_GATED_ID
        ))
        .await;
    let phase = phase.body["result"][0]["sys_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .post(
            "/api/now/table/sn_dpr_model_template_phase_policy",
            json!({"template_phase": phase, "policy": policy}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED);
    let after = app.get(&status).await;
    assert_eq!(
        after.body["result"]["overallSummary"]["compliant"], false,
        "a newly mapped policy shows at once"
    );
    assert_eq!(after.body["result"]["overallSummary"]["totalCount"], 3);
}

/// The counts under the aggregates (kept per release by the database) follow
/// every kind of change: a task's approval, a relation removed, an
/// enhancement closed or removed, a task deleted with its relation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregates_follow_approvals_closures_and_deletes() {
    let app = TestApp::spawn_demo().await;
    let aggregates = || async {
        let a = app
            .get(&format!("{BUNDLE}?sendAggregation=true"))
            .await
            .body["aggregates"]
            .clone();
        (
            a["taskAggregate"].clone(),
            a["enhancementAggregate"].clone(),
        )
    };
    let mut tasks = Vec::new();
    let mut relations = Vec::new();
    for _ in 0..3 {
        let task = app
            .post(
                "/api/now/table/change_request",
                json!({"short_description": "Deploy", "approval": "requested"}),
            )
            .await;
        let task = task.body["result"]["sys_id"].as_str().unwrap().to_owned();
        let res = app
            .post(
                "/api/now/table/sn_dpr_model_release_related_task",
                json!({"release": demo::GATED_RELEASE_ID, "task": task}),
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        relations.push(res.body["result"]["sys_id"].as_str().unwrap().to_owned());
        tasks.push(task);
    }
    let res = app
        .post(
            "/api/now/table/sn_dpr_model_product_enhancement",
            json!({"name": "E", "product": demo::PRODUCT_PAYMENTS, "release": demo::GATED_RELEASE_ID}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let enhancement = res.body["result"]["sys_id"].as_str().unwrap().to_owned();
    assert_eq!(
        aggregates().await,
        (
            json!({"approval": 0, "nonApproval": 3}),
            json!({"Open": 1, "Closed": 0})
        )
    );

    let send = |method: &'static str, path: String, body: Option<Value>| {
        let app = &app;
        async move {
            let res = app.request(method, &path, &Auth::admin(), body).await;
            assert!(res.status.is_success(), "{method} {path}: {}", res.text);
        }
    };
    send(
        "PATCH",
        format!("/api/now/table/change_request/{}", tasks[0]),
        Some(json!({"approval": "approved"})),
    )
    .await;
    send(
        "PATCH",
        format!("/api/now/table/sn_dpr_model_product_enhancement/{enhancement}"),
        Some(json!({"state": "closed"})),
    )
    .await;
    assert_eq!(
        aggregates().await,
        (
            json!({"approval": 1, "nonApproval": 2}),
            json!({"Open": 0, "Closed": 1})
        )
    );

    send(
        "DELETE",
        format!(
            "/api/now/table/sn_dpr_model_release_related_task/{}",
            relations[1]
        ),
        None,
    )
    .await;
    send(
        "DELETE",
        format!("/api/now/table/sn_dpr_model_product_enhancement/{enhancement}"),
        None,
    )
    .await;
    assert_eq!(
        aggregates().await,
        (
            json!({"approval": 1, "nonApproval": 1}),
            json!({"Open": 0, "Closed": 0})
        )
    );

    // Deleting the approved task takes its relation with it (or is refused
    // while related); either way the counts are those of what remains.
    let res = app
        .request(
            "DELETE",
            &format!("/api/now/table/change_request/{}", tasks[0]),
            &Auth::admin(),
            None,
        )
        .await;
    let expected = if res.status.is_success() {
        json!({"approval": 0, "nonApproval": 1})
    } else {
        json!({"approval": 1, "nonApproval": 1})
    };
    assert_eq!(aggregates().await.0, expected, "{}", res.text);

    // Policies switched off are no longer waited for.
    let pending = || async {
        app.get(&format!("{BUNDLE}?sendAggregation=true"))
            .await
            .body["aggregates"]["policyAggregate"]
            .clone()
    };
    assert_eq!(pending().await, json!({"Executed": 2, "Pending": 2}));
    let active = app
        .get("/api/now/table/sn_pace_policy?sysparm_query=active=true&sysparm_fields=sys_id")
        .await;
    for policy in active.body["result"].as_array().unwrap() {
        send(
            "PATCH",
            format!(
                "/api/now/table/sn_pace_policy/{}",
                policy["sys_id"].as_str().unwrap()
            ),
            Some(json!({"active": false})),
        )
        .await;
    }
    assert_eq!(pending().await, json!({"Executed": 2, "Pending": 0}));
}

/// Callers missing the same answer together wait for one computation; a
/// write moves the epoch and the next miss computes again. Abandoned
/// callers leave nothing behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_of_one_answer_compute_it_once() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let app = TestApp::spawn_demo().await;
    let cache = app.state.answers.clone();
    let computations = Arc::new(AtomicUsize::new(0));
    let ask = || {
        let (cache, db, computations) = (cache.clone(), app.db.clone(), computations.clone());
        tokio::spawn(async move {
            cache
                .get_or_compute(&db, "k".into(), || async move {
                    computations.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    Ok(axum::body::Bytes::from_static(b"answer"))
                })
                .await
                .unwrap()
        })
    };
    let callers: Vec<_> = (0..16).map(|_| ask()).collect();
    for caller in callers {
        assert_eq!(caller.await.unwrap(), "answer");
    }
    assert_eq!(computations.load(Ordering::SeqCst), 1);
    assert_eq!(cache.in_flight(), 0);

    // A committed write moves the epoch: computed again, once.
    let res = app
        .post(
            "/api/now/table/change_request",
            json!({"short_description": "moves the epoch"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let callers: Vec<_> = (0..8).map(|_| ask()).collect();
    for caller in callers {
        caller.await.unwrap();
    }
    assert_eq!(computations.load(Ordering::SeqCst), 2);

    // Callers abandoned while computing or waiting leave no gate behind.
    let res = app
        .post(
            "/api/now/table/change_request",
            json!({"short_description": "moves the epoch again"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let callers: Vec<_> = (0..4).map(|_| ask()).collect();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    for caller in &callers {
        caller.abort();
    }
    for caller in callers {
        let _ = caller.await;
    }
    assert_eq!(cache.in_flight(), 0);
}

/// A policy run's results move the counts one by one: the release whose
/// two policies waited has them executed, and nothing is pending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_run_moves_the_executed_and_pending_counts() {
    let app = TestApp::spawn_demo().await;
    let policies = || async {
        app.get(&format!("{BUNDLE}?sendAggregation=true"))
            .await
            .body["aggregates"]["policyAggregate"]
            .clone()
    };
    assert_eq!(policies().await, json!({"Executed": 2, "Pending": 2}));
    // The second run rewrites the results: the counts stay.
    for _ in 0..2 {
        let res = app
            .post(
                &format!(
                    "/api/sn_dpr/digital_product_release/release/{}/policies/run",
                    demo::RETARGET_RELEASE_ID
                ),
                json!({}),
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        app.run_jobs().await.assert_all_succeeded();
        assert_eq!(policies().await, json!({"Executed": 4, "Pending": 0}));
    }
}
