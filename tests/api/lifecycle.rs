//! The two process types (stage phases by hand, timeline phases by date) and
//! restarting a release from an earlier phase.

use axum::http::StatusCode;
use serde_json::{json, Value};
use tollgate::demo;
use tollgate::domain::dpr::lifecycle;
use tollgate::storage::Value as Sql;

use crate::helpers::*;

const DPR: &str = "/api/sn_dpr/digital_product_release";

async fn stage_release(app: &TestApp) -> String {
    let t = app
        .post(
            "/api/now/table/sn_dpr_model_release_template",
            json!({"name": "Stages", "orientation": "stage"}),
        )
        .await;
    let template = t.body["result"]["sys_id"].as_str().unwrap().to_owned();
    for (order, name) in [(100, "Discover"), (200, "Deliver")] {
        let res = app
            .post(
                "/api/now/table/sn_dpr_model_template_phase",
                json!({"template": template, "name": name, "order": order, "duration_days": 5}),
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    }
    let res = app
        .post(&format!("{DPR}/release"), json!({"name": "Staged", "productId": demo::PRODUCT_PAYMENTS, "releaseOwner": demo::ADMIN_ID, "templateId": template}))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    res.body["result"]["releaseId"].as_str().unwrap().to_owned()
}

async fn timeline_release(app: &TestApp) -> String {
    let res = app
        .post(
            &format!("{DPR}/release"),
            json!({"name": "Timed", "productId": demo::PRODUCT_PAYMENTS, "releaseOwner": demo::ADMIN_ID, "templateId": demo::TEMPLATE_TIMELINE}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    res.body["result"]["releaseId"].as_str().unwrap().to_owned()
}

async fn release(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/api/now/table/sn_dpr_model_release/{id}"))
        .await
        .body["result"]
        .clone()
}

async fn phases(app: &TestApp, id: &str) -> Vec<Value> {
    let res = app
        .get(&format!(
            "/api/now/table/sn_dpr_model_release_phase?sysparm_query=release={id}^ORDERBYorder"
        ))
        .await;
    res.body["result"].as_array().unwrap().clone()
}

fn states(phases: &[Value]) -> Vec<String> {
    phases
        .iter()
        .map(|p| p["state"].as_str().unwrap().to_owned())
        .collect()
}

async fn advance(app: &TestApp, now: &str) -> lifecycle::Advanced {
    let mut tx = app.db.begin().await.unwrap();
    let done = lifecycle::advance_timeline(&mut tx, now, "test")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    done
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stage_phase_completes_when_its_tasks_are_done_and_the_next_starts_by_hand() {
    let app = TestApp::spawn_demo().await;
    let id = stage_release(&app).await;
    let task = app
        .post(
            "/api/now/table/rm_story",
            json!({"short_description": "Spike"}),
        )
        .await;
    let task_id = task.body["result"]["sys_id"].as_str().unwrap().to_owned();
    let number = task.body["result"]["number"].as_str().unwrap().to_owned();
    let res = app
        .post(
            &format!("{DPR}/release/{id}/related_task"),
            json!({"taskIds": [task_id]}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);

    let res = app
        .post(&format!("{DPR}/release_id/{id}/complete_phase"), json!({}))
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(
        res.body["result"]["message"]
            .as_str()
            .unwrap()
            .contains(&number),
        "{}",
        res.text
    );
    app.request(
        "PATCH",
        &format!("/api/now/table/rm_story/{task_id}"),
        &Auth::admin(),
        Some(json!({"state": "closed"})),
    )
    .await;
    let res = app
        .post(&format!("{DPR}/release_id/{id}/complete_phase"), json!({}))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);

    let p = phases(&app, &id).await;
    assert_eq!(states(&p), ["completed", "pending"], "the next stage waits");
    assert_eq!(release(&app, &id).await["current_phase"], "");
    let deliver = p[1]["sys_id"].as_str().unwrap();
    let res = app
        .post(
            &format!("{DPR}/release/{id}/phase/{deliver}/start"),
            json!({}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(
        states(&phases(&app, &id).await),
        ["completed", "in_progress"]
    );
    assert_eq!(release(&app, &id).await["current_phase"]["value"], deliver);
    let res = app
        .post(
            &format!("{DPR}/release/{id}/phase/{deliver}/start"),
            json!({}),
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "one phase at a time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_next_phase_of_a_stage_release_starts_by_hand() {
    let app = TestApp::spawn_demo().await;
    let timed = timeline_release(&app).await;
    let p = phases(&app, &timed).await;
    let res = app
        .post(
            &format!(
                "{DPR}/release/{timed}/phase/{}/start",
                p[1]["sys_id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.body["result"]["message"]
        .as_str()
        .unwrap()
        .contains("timeline"));
    let staged = stage_release(&app).await;
    app.post(
        &format!("{DPR}/release_id/{staged}/complete_phase"),
        json!({}),
    )
    .await;
    let first = phases(&app, &staged).await[0]["sys_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .post(
            &format!("{DPR}/release/{staged}/phase/{first}/start"),
            json!({}),
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::BAD_REQUEST,
        "a completed phase does not start again without a restart"
    );
    let user = app.user("uma", &["sn_dpr_model.release_user"]).await;
    let second = phases(&app, &staged).await[1]["sys_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .request(
            "POST",
            &format!("{DPR}/release/{staged}/phase/{second}/start"),
            &user,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_timeline_pass_completes_overdue_phases_unless_policies_hold_them() {
    let app = TestApp::spawn_demo().await;
    let id = timeline_release(&app).await;
    let first = phases(&app, &id).await[0]["sys_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Nothing is due yet.
    assert_eq!(
        advance(&app, "2000-01-01 00:00:00").await,
        lifecycle::Advanced::default()
    );
    app.db
        .execute("UPDATE sn_dpr_model_release_phase SET planned_end = '2001-01-01 00:00:00' WHERE sys_id = $1", &[Sql::from(first.as_str())])
        .await
        .unwrap();
    let done = advance(&app, "2001-01-01 00:00:01").await;
    assert_eq!(done.completed, 1);
    assert_eq!(
        states(&phases(&app, &id).await),
        ["completed", "in_progress", "pending", "pending"]
    );

    // A policy that is not compliant holds the overdue phase open.
    let policy = app
        .post("/api/now/table/sn_pace_policy", json!({"name": "Never", "rego": "package tollgate.policy\n\ndefault compliant := false\n"}))
        .await;
    let policy = policy.body["result"]["sys_id"].as_str().unwrap().to_owned();
    let build = app
        .get(&format!(
            "/api/now/table/sn_dpr_model_template_phase?sysparm_query=template={}^name=Build",
            demo::TEMPLATE_TIMELINE
        ))
        .await;
    let build = build.body["result"][0]["sys_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        "/api/now/table/sn_dpr_model_template_phase_policy",
        json!({"template_phase": build, "policy": policy}),
    )
    .await;
    app.db.execute("UPDATE sn_dpr_model_release_phase SET planned_end = '2001-01-01 00:00:00' WHERE state = 'in_progress' AND \"release\" = $1", &[Sql::from(id.as_str())]).await.unwrap();
    let done = advance(&app, "2001-01-02 00:00:00").await;
    assert_eq!((done.completed, done.held), (0, 1));
    assert_eq!(
        states(&phases(&app, &id).await),
        ["completed", "in_progress", "pending", "pending"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_timeline_release_starts_on_its_planned_start() {
    let app = TestApp::spawn_demo().await;
    let id = timeline_release(&app).await;
    // Put the release back before its start (nothing in the API does this yet).
    app.db
        .execute(
            "UPDATE sn_dpr_model_release SET state = 'pending', current_phase = NULL, planned_start = '2030-01-01 00:00:00' WHERE sys_id = $1",
            &[Sql::from(id.as_str())],
        )
        .await
        .unwrap();
    app.db
        .execute(
            "UPDATE sn_dpr_model_release_phase SET state = 'pending', actual_start = NULL, planned_end = '2031-01-01 00:00:00' WHERE \"release\" = $1",
            &[Sql::from(id.as_str())],
        )
        .await
        .unwrap();
    assert_eq!(advance(&app, "2029-12-31 23:59:59").await.started, 0);
    assert_eq!(advance(&app, "2030-01-01 00:00:00").await.started, 1);
    assert_eq!(release(&app, &id).await["state"], "in_progress");
    assert_eq!(states(&phases(&app, &id).await)[0], "in_progress");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_resets_that_phase_and_every_later_one() {
    let app = TestApp::spawn_demo().await;
    let id = timeline_release(&app).await;
    for _ in 0..2 {
        assert_eq!(
            app.post(&format!("{DPR}/release_id/{id}/complete_phase"), json!({}))
                .await
                .status,
            StatusCode::CREATED
        );
    }
    let p = phases(&app, &id).await;
    assert_eq!(
        states(&p),
        ["completed", "completed", "in_progress", "pending"]
    );
    let build = p[1]["sys_id"].as_str().unwrap().to_owned();
    let res = app
        .post(
            &format!("{DPR}/release/{id}/restart"),
            json!({"phaseSysId": build}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(release(&app, &id).await["state"], "restarting");
    let p = phases(&app, &id).await;
    assert_eq!(states(&p), ["completed", "pending", "pending", "pending"]);
    assert_eq!(p[1]["actual_start"], "");
    // The timeline pass starts the restarted phase.
    assert_eq!(advance(&app, "2000-01-01 00:00:00").await.started, 1);
    assert_eq!(release(&app, &id).await["state"], "in_progress");
    assert_eq!(
        states(&phases(&app, &id).await),
        ["completed", "in_progress", "pending", "pending"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_stage_release_waits_for_its_phase_to_be_started() {
    let app = TestApp::spawn_demo().await;
    let id = stage_release(&app).await;
    let first = phases(&app, &id).await[0]["sys_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .post(
            &format!("{DPR}/release/{id}/restart"),
            json!({"phaseSysId": first}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(
        advance(&app, "2000-01-01 00:00:00").await.started,
        0,
        "stage releases are not moved by dates"
    );
    assert_eq!(release(&app, &id).await["state"], "restarting");
    let res = app
        .post(
            &format!("{DPR}/release/{id}/phase/{first}/start"),
            json!({}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(release(&app, &id).await["state"], "in_progress");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_are_refused_when_there_is_nothing_to_restart() {
    let app = TestApp::spawn_demo().await;
    let id = timeline_release(&app).await;
    let p = phases(&app, &id).await;
    let pending = p[3]["sys_id"].as_str().unwrap();
    let res = app
        .post(
            &format!("{DPR}/release/{id}/restart"),
            json!({"phaseSysId": pending}),
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.body["result"]["message"]
        .as_str()
        .unwrap()
        .contains("phaseSysId"));
    let res = app
        .post(&format!("{DPR}/release/{id}/restart"), json!({}))
        .await;
    assert!(res.body["result"]["message"]
        .as_str()
        .unwrap()
        .contains("phaseSysId"));
    let res = app
        .post(
            &format!("{DPR}/release/{}/restart", demo::DRAFT_RELEASE_ID),
            json!({"phaseSysId": pending}),
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    let res = app
        .post(
            &format!("{DPR}/release/a/restart"),
            json!({"phaseSysId": pending}),
        )
        .await;
    assert_eq!(res.body["result"]["message"], "Release ID is invalid");
    assert_eq!(release(&app, &id).await["state"], "in_progress");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeline_passes_are_queued_once_at_a_time() {
    let app = TestApp::spawn().await;
    let first = lifecycle::schedule_timeline_pass(&app.state.jobs)
        .await
        .unwrap();
    assert!(first.is_some());
    assert!(lifecycle::schedule_timeline_pass(&app.state.jobs)
        .await
        .unwrap()
        .is_none());
    let job = app
        .state
        .jobs
        .claim("w", chrono::Utc::now().timestamp_millis())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        app.state.jobs.execute(job).await,
        tollgate::jobs::JobState::Succeeded
    );
    assert!(lifecycle::schedule_timeline_pass(&app.state.jobs)
        .await
        .unwrap()
        .is_some());
}
